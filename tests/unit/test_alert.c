/*
 * test_alert.c — the alert state machine: `for` (pending, then firing;
 * for 0 at once), keep_firing_for, flapping, resend and resolve rules,
 * resolved retention, absent inputs, label sets and fingerprints; and the
 * durable state: a close/reopen round trip, a process that exits without
 * closing, a corrupt log tail and a garbage segment.
 *
 * The notifier runs in manual mode with a fake clock and a transport that
 * records request bodies, so nothing here depends on timing.
 */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "engine/core/alloc.h"
#include "engine/core/log.h"
#include "rules/alert.h"
#include "tests/helpers/testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/wait.h>

#define MIN (60 * 1000LL)
#define T0  1700000000000LL

typedef struct fixture {
    char *dir;
    int64_t now;
    int sends;       /* requests made through the fake transport */
    char *last_body; /* malloc'd */
    br_receiver_config am;
    br_alerting *a;
} fixture;

static int64_t fake_clock(void *ctx)
{
    return ((fixture *)ctx)->now;
}

static int fake_transport(void *ctx, const br_notify_request *req, long *status)
{
    fixture *f = ctx;
    f->sends++;
    free(f->last_body);
    f->last_body = strndup(req->body, req->body_len);
    *status = 200;
    return 0;
}

static br_alerting_options options(fixture *f)
{
    br_alerting_options o = {
        .data_dir = f->dir,
        .eval_interval_ms = 30 * 1000,
        .resend_delay_ms = MIN,
    };
    o.notifier.receivers = &f->am;
    o.notifier.n_receivers = 1;
    o.notifier.manual = true;
    o.notifier.clock = fake_clock;
    o.notifier.clock_ctx = f;
    o.notifier.transport = fake_transport;
    o.notifier.transport_ctx = f;
    o.notifier.seed = 42;
    return o;
}

static void reopen(fixture *f)
{
    br_err err;
    br_err_clear(&err);
    br_alerting_options o = options(f);
    f->a = br_alerting_open(&o, &err);
    if (f->a == NULL) {
        fail_msg("open: %s", err.msg);
    }
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    f->dir = tu_mkdtemp("alert");
    f->now = T0;
    f->am.name = "am";
    f->am.kind = BR_RECEIVER_ALERTMANAGER;
    f->am.url = "http://127.0.0.1:1";
    f->am.timeout_ms = 1000;
    br_log_set_level(BR_LOG_ERROR);
    reopen(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    br_alerting_close(f->a, NULL);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f->last_body);
    free(f);
    return 0;
}

static const br_kv slo_labels[] = {
    {"severity", "page"},
    {"sloth_id", "checkout-availability"},
};
static const br_kv slo_annotations[] = {
    {"summary", "checkout is burning its error budget"},
};

static br_alert_input input(const char *name, bool condition, int64_t for_ms, int64_t keep_ms)
{
    br_alert_input in = {
        .alertname = name,
        .labels = slo_labels,
        .n_labels = 2,
        .annotations = slo_annotations,
        .n_annotations = 1,
        .condition = condition,
        .value = condition ? 14.4 : 0,
        .for_ms = for_ms,
        .keep_firing_for_ms = keep_ms,
        .generator_url = "http://burnrate/slos/checkout-availability",
    };
    return in;
}

/* One tick with one input at f->now; returns its result. */
static br_alert_result tick(fixture *f, br_alert_input in)
{
    br_alert_result r;
    br_err err;
    br_err_clear(&err);
    int rc = br_alerting_update(f->a, f->now, &in, 1, &r, &err);
    if (rc != 0) {
        fail_msg("update: %s", err.msg);
    }
    return r;
}

/* One tick with no inputs at all. */
static void empty_tick(fixture *f)
{
    assert_int_equal(br_alerting_update(f->a, f->now, NULL, 0, NULL, NULL), 0);
}

typedef struct collected {
    size_t n;
    br_alert_view first;
    char first_labels[512];
} collected;

static int collect(const br_alert_view *v, void *ctx)
{
    collected *c = ctx;
    if (c->n == 0) {
        c->first = *v;
        c->first_labels[0] = '\0';
        for (size_t i = 0; i < v->n_labels; i++) {
            size_t len = strlen(c->first_labels);
            snprintf(c->first_labels + len, sizeof(c->first_labels) - len, "%s%s=%s", i ? "," : "",
                     v->labels[i].key, v->labels[i].value);
        }
        c->first.labels = NULL;
        c->first.annotations = NULL;
        c->first.generator_url = NULL;
    }
    c->n++;
    return 0;
}

static collected all_alerts(fixture *f)
{
    collected c;
    memset(&c, 0, sizeof(c));
    br_alerting_foreach(f->a, collect, &c);
    return c;
}

/* ---------------------------------------------------------------------- */

static void test_alert_for_zero_fires_at_once(void **state)
{
    fixture *f = *state;
    br_alert_result r = tick(f, input("BurnFast", true, 0, 0));
    assert_int_equal(r.state, BR_ALERT_FIRING);
    assert_int_equal(r.active_since_ms, T0);
    assert_int_equal(r.fired_at_ms, T0);
    assert_true(r.notified);
}

static void test_alert_pending_until_for_elapses(void **state)
{
    fixture *f = *state;
    br_alert_result r = tick(f, input("BurnSlow", true, 2 * MIN, 0));
    assert_int_equal(r.state, BR_ALERT_PENDING);
    assert_int_equal(r.active_since_ms, T0);
    assert_false(r.notified);
    f->now = T0 + MIN;
    r = tick(f, input("BurnSlow", true, 2 * MIN, 0));
    assert_int_equal(r.state, BR_ALERT_PENDING);
    assert_int_equal(r.fired_at_ms, 0);
    f->now = T0 + 2 * MIN;
    r = tick(f, input("BurnSlow", true, 2 * MIN, 0));
    assert_int_equal(r.state, BR_ALERT_FIRING);
    assert_int_equal(r.active_since_ms, T0);
    assert_int_equal(r.fired_at_ms, T0 + 2 * MIN);
    assert_true(r.notified);
}

static void test_alert_pending_is_dropped_silently_when_condition_clears(void **state)
{
    fixture *f = *state;
    tick(f, input("BurnSlow", true, 5 * MIN, 0));
    f->now += MIN;
    br_alert_result r = tick(f, input("BurnSlow", false, 5 * MIN, 0));
    assert_int_equal(r.state, BR_ALERT_INACTIVE);
    assert_int_equal(r.resolved_at_ms, 0);
    assert_false(r.notified);
    assert_int_equal(all_alerts(f).n, 0);
    assert_int_equal(br_notifier_run(br_alerting_notifier(f->a), NULL), 0);
    assert_int_equal(f->sends, 0);
}

static void test_alert_firing_resolves_when_condition_clears(void **state)
{
    fixture *f = *state;
    tick(f, input("BurnFast", true, 0, 0));
    f->now += 30 * 1000;
    br_alert_result r = tick(f, input("BurnFast", false, 0, 0));
    assert_int_equal(r.state, BR_ALERT_INACTIVE);
    assert_int_equal(r.resolved_at_ms, T0 + 30 * 1000);
    assert_int_equal(r.fired_at_ms, T0);
    assert_true(r.notified); /* resolved alerts are sent at once */
    collected c = all_alerts(f);
    assert_int_equal(c.n, 1); /* kept for the resolved retention */
    assert_int_equal(c.first.state, BR_ALERT_INACTIVE);
}

static void test_alert_absent_input_counts_as_condition_false(void **state)
{
    fixture *f = *state;
    tick(f, input("BurnFast", true, 0, 0));
    f->now += 30 * 1000;
    empty_tick(f);
    collected c = all_alerts(f);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.first.state, BR_ALERT_INACTIVE);
    assert_int_equal(c.first.resolved_at_ms, T0 + 30 * 1000);
}

/* A failed evaluation (hold) neither resolves a firing alert nor starts a
 * new one: the firing alert stays firing and keeps being re-sent, so
 * Alertmanager does not see a false resolve during a backend outage; the
 * first evaluated tick after it decides again. */
static br_alert_input held(const char *name)
{
    br_alert_input in = input(name, false, 0, 0);
    in.hold = true;
    return in;
}

static void test_alert_hold_keeps_firing_alert_through_failed_evaluations(void **state)
{
    fixture *f = *state;
    tick(f, input("BurnFast", true, 0, 0));
    bool resent = false;
    for (int i = 1; i <= 6; i++) {
        f->now = T0 + i * 30 * 1000;
        br_alert_result r = tick(f, held("BurnFast"));
        assert_int_equal(r.state, BR_ALERT_FIRING);
        assert_int_equal(r.fired_at_ms, T0);
        resent = resent || r.notified;
    }
    assert_true(resent); /* still re-sent every resend delay */
    f->now += 30 * 1000;
    br_alert_result r = tick(f, input("BurnFast", false, 0, 0));
    assert_int_equal(r.state, BR_ALERT_INACTIVE);
    assert_int_equal(r.resolved_at_ms, f->now);
}

static void test_alert_hold_starts_nothing_and_keeps_pending_start(void **state)
{
    fixture *f = *state;
    br_alert_result r = tick(f, held("BurnSlow"));
    assert_int_equal(r.state, BR_ALERT_INACTIVE);
    assert_int_equal(all_alerts(f).n, 0);
    tick(f, input("BurnSlow", true, 5 * MIN, 0)); /* pending from now */
    int64_t start = f->now;
    f->now += 10 * MIN; /* past `for`, but unknown: no promotion */
    r = tick(f, held("BurnSlow"));
    assert_int_equal(r.state, BR_ALERT_PENDING);
    assert_int_equal(r.active_since_ms, start);
    f->now += 30 * 1000;
    r = tick(f, input("BurnSlow", true, 5 * MIN, 0));
    assert_int_equal(r.state, BR_ALERT_FIRING);
    assert_int_equal(r.active_since_ms, start);
}

static void test_alert_keep_firing_for_holds_then_resolves(void **state)
{
    fixture *f = *state;
    tick(f, input("BurnFast", true, 0, 2 * MIN));
    f->now = T0 + MIN;
    br_alert_result r = tick(f, input("BurnFast", false, 0, 2 * MIN));
    assert_int_equal(r.state, BR_ALERT_FIRING);
    assert_int_equal(all_alerts(f).first.keep_firing_since_ms, T0 + MIN);
    f->now = T0 + 2 * MIN + 59 * 1000;
    r = tick(f, input("BurnFast", false, 0, 2 * MIN));
    assert_int_equal(r.state, BR_ALERT_FIRING);
    f->now = T0 + 3 * MIN;
    r = tick(f, input("BurnFast", false, 0, 2 * MIN));
    assert_int_equal(r.state, BR_ALERT_INACTIVE);
    assert_int_equal(r.resolved_at_ms, T0 + 3 * MIN);
}

static void test_alert_keep_firing_restarts_when_condition_returns(void **state)
{
    fixture *f = *state;
    tick(f, input("BurnFast", true, 0, 2 * MIN));
    f->now = T0 + MIN;
    tick(f, input("BurnFast", false, 0, 2 * MIN));
    f->now = T0 + 2 * MIN;
    br_alert_result r = tick(f, input("BurnFast", true, 0, 2 * MIN));
    assert_int_equal(r.state, BR_ALERT_FIRING);
    assert_int_equal(all_alerts(f).first.keep_firing_since_ms, 0);
    /* The hold counts again from the next clear. */
    f->now = T0 + 3 * MIN;
    tick(f, input("BurnFast", false, 0, 2 * MIN));
    f->now = T0 + 4 * MIN + 30 * 1000;
    r = tick(f, input("BurnFast", false, 0, 2 * MIN));
    assert_int_equal(r.state, BR_ALERT_FIRING);
    assert_int_equal(r.active_since_ms, T0); /* the same alert throughout */
}

static void test_alert_flapping_starts_a_new_alert_each_time(void **state)
{
    fixture *f = *state;
    br_alert_result r = tick(f, input("BurnFast", true, 0, 0));
    assert_int_equal(r.fired_at_ms, T0);
    f->now = T0 + 30 * 1000;
    r = tick(f, input("BurnFast", false, 0, 0));
    assert_int_equal(r.state, BR_ALERT_INACTIVE);
    assert_true(r.notified);
    f->now = T0 + 60 * 1000;
    r = tick(f, input("BurnFast", true, 0, 0));
    assert_int_equal(r.state, BR_ALERT_FIRING);
    assert_int_equal(r.active_since_ms, T0 + 60 * 1000);
    assert_int_equal(r.fired_at_ms, T0 + 60 * 1000);
    assert_int_equal(r.resolved_at_ms, 0);
    assert_true(r.notified);
    /* With `for`, a flap back to true goes through pending again. */
    f->now = T0 + 90 * 1000;
    tick(f, input("BurnFast", false, MIN, 0));
    f->now = T0 + 120 * 1000;
    r = tick(f, input("BurnFast", true, MIN, 0));
    assert_int_equal(r.state, BR_ALERT_PENDING);
    assert_false(r.notified);
}

static void test_alert_firing_is_resent_after_resend_delay(void **state)
{
    fixture *f = *state;
    /* Every 30s tick; resend when last_sent + 1m < now (strictly). */
    bool expected[] = {true, false, false, true, false, false, true};
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        f->now = T0 + (int64_t)i * 30 * 1000;
        br_alert_result r = tick(f, input("BurnFast", true, 0, 0));
        if (r.notified != expected[i]) {
            fail_msg("tick %zu: notified=%d", i, r.notified);
        }
    }
}

static void test_alert_resolved_is_resent_then_forgotten_after_retention(void **state)
{
    fixture *f = *state;
    tick(f, input("BurnFast", true, 0, 0));
    f->now = T0 + MIN;
    br_alert_result r = tick(f, input("BurnFast", false, 0, 0));
    assert_true(r.notified);
    int resends = 0;
    for (int64_t t = T0 + MIN + 30 * 1000; t <= T0 + 16 * MIN; t += 30 * 1000) {
        f->now = t;
        r = tick(f, input("BurnFast", false, 0, 0));
        resends += r.notified ? 1 : 0;
        if (t - (T0 + MIN) <= 15 * MIN) {
            assert_int_equal(all_alerts(f).n, 1);
        }
    }
    f->now = T0 + 16 * MIN + 30 * 1000;
    tick(f, input("BurnFast", false, 0, 0));
    assert_int_equal(all_alerts(f).n, 0);
    /* 15 minutes of retention with a resend every 90s (1m strictly exceeded
     * on a 30s grid): ten resends. */
    assert_int_equal(resends, 10);
}

static void test_alert_label_set_is_sorted_with_alertname_and_fingerprinted(void **state)
{
    fixture *f = *state;
    const br_kv labels[] = {
        {"zone", "eu"}, {"alertname", "Ignored"}, {"empty", ""}, {"service", "a"}, {"zone", "us"},
    };
    br_alert_input in = input("Burn", true, 0, 0);
    in.labels = labels;
    in.n_labels = 5;
    br_alert_result r = tick(f, in);
    collected c = all_alerts(f);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.first_labels, "alertname=Burn,service=a,zone=us");
    const br_kv sorted[] = {{"alertname", "Burn"}, {"service", "a"}, {"zone", "us"}};
    assert_int_equal(r.fingerprint, br_notify_fingerprint(sorted, 3));
    assert_int_equal(c.first.fingerprint, r.fingerprint);
}

static void test_alert_same_label_set_twice_in_a_tick_counts_once(void **state)
{
    fixture *f = *state;
    br_alert_input in[2] = {input("BurnFast", true, 0, 0), input("BurnFast", true, 0, 0)};
    br_alert_result r[2];
    assert_int_equal(br_alerting_update(f->a, f->now, in, 2, r, NULL), 0);
    assert_int_equal(r[0].state, BR_ALERT_FIRING);
    assert_int_equal(r[1].state, BR_ALERT_FIRING);
    assert_int_equal(r[0].fingerprint, r[1].fingerprint);
    assert_int_equal(all_alerts(f).n, 1);
}

static void test_alert_notification_reaches_the_receiver(void **state)
{
    fixture *f = *state;
    tick(f, input("BurnFast", true, 0, 0));
    assert_int_equal(br_notifier_run(br_alerting_notifier(f->a), NULL), 1);
    assert_int_equal(f->sends, 1);
    assert_non_null(strstr(f->last_body, "\"alertname\":\"BurnFast\""));
    assert_non_null(strstr(f->last_body, "\"startsAt\":\"2023-11-14T22:13:20.000Z\""));
    /* endsAt = now + 4 x max(resend 1m, eval 30s). */
    assert_non_null(strstr(f->last_body, "\"endsAt\":\"2023-11-14T22:17:20.000Z\""));
}

static void test_alert_state_round_trips_through_close_and_open(void **state)
{
    fixture *f = *state;
    br_alert_input in[2] = {input("BurnSlow", true, 10 * MIN, 0), input("BurnFast", true, 0, 0)};
    assert_int_equal(br_alerting_update(f->a, f->now, in, 2, NULL, NULL), 0);
    f->now = T0 + MIN;
    assert_int_equal(br_alerting_update(f->a, f->now, in, 2, NULL, NULL), 0);
    collected before = all_alerts(f);
    assert_int_equal(before.n, 2);
    assert_int_equal(br_alerting_close(f->a, NULL), 0);
    reopen(f);
    collected after = all_alerts(f);
    assert_int_equal(after.n, 2);
    assert_int_equal(after.first.fingerprint, before.first.fingerprint);
    assert_int_equal(after.first.state, before.first.state);
    assert_int_equal(after.first.active_since_ms, before.first.active_since_ms);
    assert_int_equal(after.first.fired_at_ms, before.first.fired_at_ms);
    assert_string_equal(after.first_labels, before.first_labels);
    /* The pending alert keeps counting from its original activeAt. */
    f->now = T0 + 10 * MIN;
    br_alert_result r[2];
    assert_int_equal(br_alerting_update(f->a, f->now, in, 2, r, NULL), 0);
    assert_int_equal(r[0].state, BR_ALERT_FIRING);
    assert_int_equal(r[0].active_since_ms, T0);
    assert_int_equal(r[1].state, BR_ALERT_FIRING);
    assert_int_equal(r[1].fired_at_ms, T0);
}

static void test_alert_state_survives_exit_without_close(void **state)
{
    fixture *f = *state;
    br_alerting_close(f->a, NULL);
    f->a = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        reopen(f);
        br_alert_input in = input("BurnSlow", true, 10 * MIN, 0);
        int rc = br_alerting_update(f->a, T0, &in, 1, NULL, NULL);
        _exit(rc == 0 ? 0 : 1); /* no close: like a crash after the tick */
    }
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    reopen(f);
    collected c = all_alerts(f);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.first.state, BR_ALERT_PENDING);
    assert_int_equal(c.first.active_since_ms, T0);
}

/* The newest segment file of dir/alerting that holds more than a header. */
static void newest_segment(const fixture *f, char *out, size_t size)
{
    char sub[1024];
    snprintf(sub, sizeof(sub), "%s/alerting", f->dir);
    DIR *d = opendir(sub);
    assert_non_null(d);
    struct dirent *e;
    char best[256] = "";
    while ((e = readdir(d)) != NULL) {
        char path[1300];
        snprintf(path, sizeof(path), "%s/%s", sub, e->d_name);
        struct stat st;
        if (strlen(e->d_name) == 8 && stat(path, &st) == 0 && st.st_size > 16 &&
            strcmp(e->d_name, best) > 0) {
            snprintf(best, sizeof(best), "%s", e->d_name);
        }
    }
    closedir(d);
    assert_true(best[0] != '\0');
    snprintf(out, size, "%s/%s", sub, best);
}

static void test_alert_corrupt_log_tail_is_tolerated(void **state)
{
    fixture *f = *state;
    tick(f, input("BurnFast", true, 0, 0));
    br_alert_input other = input("BurnOther", true, 0, 0);
    f->now += 30 * 1000;
    br_alert_input both[2] = {input("BurnFast", true, 0, 0), other};
    assert_int_equal(br_alerting_update(f->a, f->now, both, 2, NULL, NULL), 0);
    assert_int_equal(all_alerts(f).n, 2);
    br_alerting_close(f->a, NULL);
    char path[1600];
    newest_segment(f, path, sizeof(path));
    /* Flip the last byte: the last record (the second tick) fails its CRC. */
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    off_t size = lseek(fd, 0, SEEK_END);
    unsigned char byte;
    assert_int_equal(pread(fd, &byte, 1, size - 1), 1);
    byte ^= 0xff;
    assert_int_equal(pwrite(fd, &byte, 1, size - 1), 1);
    close(fd);
    reopen(f);
    collected c = all_alerts(f);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.first_labels,
                        "alertname=BurnFast,severity=page,sloth_id=checkout-availability");
    assert_int_equal(c.first.state, BR_ALERT_FIRING);
    /* And the state machine goes on. */
    f->now += 30 * 1000;
    assert_int_equal(tick(f, other).state, BR_ALERT_FIRING);
}

static void test_alert_garbage_segment_is_tolerated(void **state)
{
    fixture *f = *state;
    tick(f, input("BurnFast", true, 0, 0));
    br_alerting_close(f->a, NULL);
    char path[1600];
    newest_segment(f, path, sizeof(path));
    /* Overwrite the whole file (header included) with garbage. */
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    rewind(fp);
    for (long i = 0; i < size; i++) {
        fputc((int)((i * 131) & 0xff), fp);
    }
    fclose(fp);
    reopen(f);
    assert_int_equal(all_alerts(f).n, 0);
    assert_int_equal(tick(f, input("BurnFast", true, 0, 0)).state, BR_ALERT_FIRING);
}

static void test_alert_metrics_count_states(void **state)
{
    fixture *f = *state;
    br_alert_input in[2] = {input("BurnSlow", true, 10 * MIN, 0), input("BurnFast", true, 0, 0)};
    assert_int_equal(br_alerting_update(f->a, f->now, in, 2, NULL, NULL), 0);
    br_buf out;
    br_buf_init(&out, 0);
    br_alerting_collect_metrics(f->a, &out);
    assert_non_null(strstr(br_buf_str(&out), "burnrate_alerts{state=\"pending\"} 1\n"));
    assert_non_null(strstr(br_buf_str(&out), "burnrate_alerts{state=\"firing\"} 1\n"));
    assert_non_null(
        strstr(br_buf_str(&out), "burnrate_notification_queue_length{receiver=\"am\"} 1\n"));
    br_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_alert_for_zero_fires_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_pending_until_for_elapses, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_alert_pending_is_dropped_silently_when_condition_clears, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_firing_resolves_when_condition_clears, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_alert_absent_input_counts_as_condition_false, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_alert_hold_keeps_firing_alert_through_failed_evaluations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_hold_starts_nothing_and_keeps_pending_start,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_keep_firing_for_holds_then_resolves, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_alert_keep_firing_restarts_when_condition_returns,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_flapping_starts_a_new_alert_each_time, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_alert_firing_is_resent_after_resend_delay, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_alert_resolved_is_resent_then_forgotten_after_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_alert_label_set_is_sorted_with_alertname_and_fingerprinted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_same_label_set_twice_in_a_tick_counts_once,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_notification_reaches_the_receiver, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_alert_state_round_trips_through_close_and_open, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_alert_state_survives_exit_without_close, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_alert_corrupt_log_tail_is_tolerated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_garbage_segment_is_tolerated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_metrics_count_states, setup, teardown),
    };
    return cmocka_run_group_tests_name("alert", tests, NULL, NULL);
}
