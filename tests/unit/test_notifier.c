/*
 * test_notifier.c — the notifier: payloads against the documented JSON
 * shapes (Alertmanager's postableAlert array and webhook payload version
 * 4, parsed back with cJSON), fingerprints and group keys, the HMAC and
 * bearer headers, routing by `match`, webhook grouping timers (group_wait,
 * group_interval, repeat_interval, resolved alerts, flapping) with an
 * injected clock, retries and giving up, the bounded queue, Alertmanager
 * batches replacing older ones, the persistent queue and group state
 * across reopen, blobs handed back in order, a hanging receiver that does
 * not block submit, and the metrics text.
 *
 * Delivery goes through a fake transport that records requests and
 * answers with scripted statuses; no network, no timing assertions.
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
#include "engine/core/sha256.h"
#include "rules/notifier.h"
#include "tests/helpers/testutil.h"

#include <cjson/cJSON.h>
#include <pthread.h>

#define SEC 1000LL
#define MIN (60 * SEC)
#define T0  1700000000000LL

#define MAX_SEEN 64

typedef struct seen_request {
    char receiver[64];
    char url[256];
    char *body;
    char headers[2048];
    uint64_t id;
} seen_request;

typedef struct fixture {
    char *dir;
    int64_t now;
    long statuses[32]; /* scripted answers, then 200 */
    size_t n_statuses;
    size_t next_status;
    seen_request seen[MAX_SEEN];
    size_t n_seen;
    /* Hanging transport. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool hang;
    bool entered;
    bool released;
    /* Blobs handed back at open. */
    char blobs[8][32];
    size_t n_blobs;
    br_receiver_config receivers[4];
    size_t n_receivers;
    br_notifier *n;
} fixture;

static int64_t fake_clock(void *ctx)
{
    return ((fixture *)ctx)->now;
}

static int fake_transport(void *ctx, const br_notify_request *req, long *status)
{
    fixture *f = ctx;
    pthread_mutex_lock(&f->mu);
    if (f->hang) {
        f->entered = true;
        pthread_cond_broadcast(&f->cv);
        while (!f->released) {
            pthread_cond_wait(&f->cv, &f->mu);
        }
    }
    if (f->n_seen < MAX_SEEN) {
        seen_request *s = &f->seen[f->n_seen++];
        snprintf(s->receiver, sizeof(s->receiver), "%s", req->receiver);
        snprintf(s->url, sizeof(s->url), "%s", req->url);
        s->body = strndup(req->body, req->body_len);
        s->id = req->id;
        s->headers[0] = '\0';
        for (size_t i = 0; i < req->n_headers; i++) {
            size_t len = strlen(s->headers);
            snprintf(s->headers + len, sizeof(s->headers) - len, "%s\n", req->headers[i]);
        }
    }
    long answer = f->next_status < f->n_statuses ? f->statuses[f->next_status++] : 200;
    pthread_mutex_unlock(&f->mu);
    if (answer < 0) {
        return BR_ETIMEOUT;
    }
    *status = answer;
    return 0;
}

static int record_blob(void *ctx, const void *blob, size_t len)
{
    fixture *f = ctx;
    if (f->n_blobs < 8) {
        snprintf(f->blobs[f->n_blobs++], 32, "%.*s", (int)len, (const char *)blob);
    }
    return 0;
}

static br_notifier_options options(fixture *f, bool manual)
{
    br_notifier_options o = {
        .dir = f->dir,
        .receivers = f->receivers,
        .n_receivers = f->n_receivers,
        .external_url = "http://burnrate.example:9099",
        .firing_valid_ms = 4 * MIN,
        .min_backoff_ms = 1 * SEC,
        .max_backoff_ms = 60 * SEC,
        .manual = manual,
        .clock = fake_clock,
        .clock_ctx = f,
        .transport = fake_transport,
        .transport_ctx = f,
        .replay_blob = record_blob,
        .blob_ctx = f,
        .seed = 7,
    };
    return o;
}

static void open_notifier(fixture *f)
{
    br_err err;
    br_err_clear(&err);
    br_notifier_options o = options(f, true);
    f->n = br_notifier_open(&o, &err);
    if (f->n == NULL) {
        fail_msg("open: %s", err.msg);
    }
}

static const char *group_by_default[] = {"alertname", "sloth_id"};

static void add_webhook(fixture *f, const char *name)
{
    br_receiver_config *r = &f->receivers[f->n_receivers++];
    memset(r, 0, sizeof(*r));
    r->name = (char *)name;
    r->kind = BR_RECEIVER_WEBHOOK;
    r->url = "http://hooks.example/pages";
    r->timeout_ms = 5000;
    r->group_by = (char **)group_by_default;
    r->n_group_by = 2;
    r->group_wait_ms = 30 * SEC;
    r->group_interval_ms = 5 * MIN;
    r->repeat_interval_ms = 4 * 60 * MIN;
}

static void add_alertmanager(fixture *f, const char *name)
{
    br_receiver_config *r = &f->receivers[f->n_receivers++];
    memset(r, 0, sizeof(*r));
    r->name = (char *)name;
    r->kind = BR_RECEIVER_ALERTMANAGER;
    r->url = "http://am.example:9093/";
    r->timeout_ms = 5000;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    f->dir = tu_mkdtemp("notifier");
    f->now = T0;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    br_log_set_level(BR_LOG_ERROR);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    br_notifier_close(f->n, NULL);
    for (size_t i = 0; i < f->n_seen; i++) {
        free(f->seen[i].body);
    }
    tu_rmtree(f->dir);
    free(f->dir);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    free(f);
    return 0;
}

/* An alert with labels alertname, severity, sloth_id (sorted). */
typedef struct test_alert {
    br_kv labels[3];
    br_kv annotations[2];
    br_notify_alert a;
} test_alert;

static void make_alert(test_alert *t, const char *name, const char *severity, const char *slo,
                       int64_t starts, int64_t resolved)
{
    t->labels[0] = (br_kv){"alertname", name};
    t->labels[1] = (br_kv){"severity", severity};
    t->labels[2] = (br_kv){"sloth_id", slo};
    t->annotations[0] = (br_kv){"runbook_url", "https://runbooks.example/checkout"};
    t->annotations[1] = (br_kv){"summary", "budget burning"};
    t->a = (br_notify_alert){
        .labels = t->labels,
        .n_labels = 3,
        .annotations = t->annotations,
        .n_annotations = 2,
        .starts_at_ms = starts,
        .resolved_at_ms = resolved,
        .generator_url = "http://burnrate.example:9099/slos/checkout",
    };
    t->a.fingerprint = br_notify_fingerprint(t->labels, 3);
}

static void submit(fixture *f, const test_alert *t, size_t n)
{
    br_notify_alert alerts[8];
    for (size_t i = 0; i < n; i++) {
        alerts[i] = t[i].a;
    }
    br_err err;
    br_err_clear(&err);
    if (br_notifier_submit(f->n, f->now, alerts, n, NULL, 0, &err) != 0) {
        fail_msg("submit: %s", err.msg);
    }
}

static int run(fixture *f)
{
    int made = br_notifier_run(f->n, NULL);
    assert_true(made >= 0);
    return made;
}

static cJSON *parse_seen(fixture *f, size_t i)
{
    assert_true(i < f->n_seen);
    cJSON *j = cJSON_Parse(f->seen[i].body);
    assert_non_null(j);
    return j;
}

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

/* ---------------------------------------------------------------------- */
/* Rendering                                                              */

static void test_notifier_fingerprint_matches_alertmanager(void **state)
{
    (void)state;
    const br_kv labels[] = {{"alertname", "HighErrorRate"}, {"severity", "page"}};
    /* FNV-1a 64 over name 0xff value 0xff, computed independently. */
    assert_int_equal(br_notify_fingerprint(labels, 2), 0x3eacacedc5464f06ULL);
}

static void test_notifier_alertmanager_body_is_postable_alerts(void **state)
{
    (void)state;
    test_alert firing;
    test_alert resolved;
    make_alert(&firing, "SLOBurn", "page", "checkout-availability", T0, 0);
    make_alert(&resolved, "SLOBurn", "ticket", "checkout-availability", T0, T0 + 5 * MIN);
    br_notify_alert alerts[2] = {firing.a, resolved.a};
    br_buf out;
    br_buf_init(&out, 0);
    assert_int_equal(br_notify_render_alertmanager(&out, alerts, 2, T0 + 10 * MIN, 4 * MIN), 0);
    cJSON *j = cJSON_Parse(br_buf_str(&out));
    assert_true(cJSON_IsArray(j));
    assert_int_equal(cJSON_GetArraySize(j), 2);
    cJSON *a0 = cJSON_GetArrayItem(j, 0);
    cJSON *labels = cJSON_GetObjectItemCaseSensitive(a0, "labels");
    assert_string_equal(jstr(labels, "alertname"), "SLOBurn");
    assert_string_equal(jstr(labels, "severity"), "page");
    assert_int_equal(cJSON_GetArraySize(labels), 3);
    cJSON *ann = cJSON_GetObjectItemCaseSensitive(a0, "annotations");
    assert_string_equal(jstr(ann, "summary"), "budget burning");
    assert_string_equal(jstr(a0, "startsAt"), "2023-11-14T22:13:20.000Z");
    assert_string_equal(jstr(a0, "endsAt"), "2023-11-14T22:27:20.000Z"); /* now + 4m */
    assert_string_equal(jstr(a0, "generatorURL"), "http://burnrate.example:9099/slos/checkout");
    cJSON *a1 = cJSON_GetArrayItem(j, 1);
    assert_string_equal(jstr(a1, "endsAt"), "2023-11-14T22:18:20.000Z"); /* resolve time */
    assert_null(cJSON_GetObjectItemCaseSensitive(a1, "status")); /* not a postableAlert field */
    cJSON_Delete(j);
    br_buf_free(&out);
}

static void test_notifier_webhook_body_is_alertmanager_payload_v4(void **state)
{
    (void)state;
    test_alert t[2];
    make_alert(&t[0], "SLOBurn", "page", "checkout-availability", T0, 0);
    make_alert(&t[1], "SLOBurn", "ticket", "checkout-availability", T0, T0 + MIN);
    t[1].annotations[1].value = "a \"quoted\"\nsummary";
    br_notify_alert alerts[2] = {t[0].a, t[1].a};
    br_kv group_labels[] = {{"alertname", "SLOBurn"}, {"sloth_id", "checkout-availability"}};
    br_webhook_payload p = {
        .receiver = "team.pages",
        .group_key = "{}:{alertname=\"SLOBurn\", sloth_id=\"checkout-availability\"}",
        .group_labels = group_labels,
        .n_group_labels = 2,
        .alerts = alerts,
        .n_alerts = 2,
        .truncated = 3,
        .external_url = "http://burnrate.example:9099",
    };
    br_buf out;
    br_buf_init(&out, 0);
    assert_int_equal(br_notify_render_webhook(&out, &p), 0);
    assert_int_equal(out.data[out.len - 1], '\n'); /* like Go's json.Encoder */
    cJSON *j = cJSON_Parse(br_buf_str(&out));
    assert_non_null(j);
    assert_string_equal(jstr(j, "version"), "4");
    assert_string_equal(jstr(j, "status"), "firing");
    assert_string_equal(jstr(j, "receiver"), "team\\.pages");
    assert_string_equal(jstr(j, "groupKey"), p.group_key);
    assert_string_equal(jstr(j, "externalURL"), "http://burnrate.example:9099");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(j, "truncatedAlerts")->valueint, 3);
    cJSON *gl = cJSON_GetObjectItemCaseSensitive(j, "groupLabels");
    assert_int_equal(cJSON_GetArraySize(gl), 2);
    assert_string_equal(jstr(gl, "sloth_id"), "checkout-availability");
    cJSON *cl = cJSON_GetObjectItemCaseSensitive(j, "commonLabels");
    assert_int_equal(cJSON_GetArraySize(cl), 2); /* severity differs */
    assert_string_equal(jstr(cl, "alertname"), "SLOBurn");
    assert_null(cJSON_GetObjectItemCaseSensitive(cl, "severity"));
    cJSON *ca = cJSON_GetObjectItemCaseSensitive(j, "commonAnnotations");
    assert_int_equal(cJSON_GetArraySize(ca), 1);
    assert_string_equal(jstr(ca, "runbook_url"), "https://runbooks.example/checkout");
    cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "alerts");
    assert_int_equal(cJSON_GetArraySize(list), 2);
    cJSON *a0 = cJSON_GetArrayItem(list, 0);
    assert_string_equal(jstr(a0, "status"), "firing");
    assert_string_equal(jstr(a0, "startsAt"), "2023-11-14T22:13:20.000Z");
    assert_string_equal(jstr(a0, "endsAt"), "0001-01-01T00:00:00Z");
    assert_string_equal(jstr(a0, "generatorURL"), "http://burnrate.example:9099/slos/checkout");
    char fp[17];
    snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)t[0].a.fingerprint);
    assert_string_equal(jstr(a0, "fingerprint"), fp);
    assert_string_equal(jstr(cJSON_GetObjectItemCaseSensitive(a0, "labels"), "severity"), "page");
    cJSON *a1 = cJSON_GetArrayItem(list, 1);
    assert_string_equal(jstr(a1, "status"), "resolved");
    assert_string_equal(jstr(a1, "endsAt"), "2023-11-14T22:14:20.000Z");
    assert_string_equal(jstr(cJSON_GetObjectItemCaseSensitive(a1, "annotations"), "summary"),
                        "a \"quoted\"\nsummary");
    cJSON_Delete(j);
    br_buf_free(&out);
}

static void test_notifier_webhook_status_is_resolved_when_no_alert_fires(void **state)
{
    (void)state;
    test_alert t;
    make_alert(&t, "SLOBurn", "page", "x", T0, T0 + MIN);
    br_webhook_payload p = {.receiver = "r", .group_key = "{}:{}", .alerts = &t.a, .n_alerts = 1};
    br_buf out;
    br_buf_init(&out, 0);
    assert_int_equal(br_notify_render_webhook(&out, &p), 0);
    cJSON *j = cJSON_Parse(br_buf_str(&out));
    assert_string_equal(jstr(j, "status"), "resolved");
    assert_string_equal(jstr(j, "externalURL"), "");
    cJSON_Delete(j);
    br_buf_free(&out);
}

static void test_notifier_group_key_quotes_like_alertmanager(void **state)
{
    (void)state;
    br_receiver_config root = {.name = "r"};
    br_kv gl[] = {{"alertname", "SLOBurn"}, {"sloth_id", "a\"b\\c"}};
    char *key = br_notify_group_key(&root, gl, 2);
    assert_string_equal(key, "{}:{alertname=\"SLOBurn\", sloth_id=\"a\\\"b\\\\c\"}");
    br_free(key);
    br_receiver_match m[] = {{"team", "checkout"}, {"severity", "page"}};
    br_receiver_config child = {.name = "r", .match = m, .n_match = 2};
    key = br_notify_group_key(&child, gl, 1);
    assert_string_equal(key, "{}/{severity=\"page\", team=\"checkout\"}:{alertname=\"SLOBurn\"}");
    br_free(key);
    key = br_notify_group_key(&root, NULL, 0);
    assert_string_equal(key, "{}:{}");
    br_free(key);
}

static void test_notifier_codec_round_trips_and_rejects_truncation(void **state)
{
    (void)state;
    br_buf b;
    br_buf_init(&b, 0);
    assert_int_equal(br_notify_put_uint(&b, 300), 0);
    assert_int_equal(br_notify_put_int(&b, -5), 0);
    assert_int_equal(br_notify_put_double(&b, 2.5), 0);
    assert_int_equal(br_notify_put_str(&b, "hello"), 0);
    br_notify_reader r = {.p = (const unsigned char *)b.data,
                          .end = (const unsigned char *)b.data + b.len};
    assert_int_equal(br_notify_get_uint(&r), 300);
    assert_int_equal(br_notify_get_int(&r), -5);
    assert_true(br_notify_get_double(&r) == 2.5);
    char *s = br_notify_get_str(&r, 100);
    assert_string_equal(s, "hello");
    br_free(s);
    assert_false(r.bad);
    br_notify_reader cut = {.p = (const unsigned char *)b.data,
                            .end = (const unsigned char *)b.data + b.len - 2};
    br_notify_get_uint(&cut);
    br_notify_get_int(&cut);
    br_notify_get_double(&cut);
    assert_null(br_notify_get_str(&cut, 100));
    assert_true(cut.bad);
    br_notify_reader small = {.p = (const unsigned char *)b.data + 11,
                              .end = (const unsigned char *)b.data + b.len};
    assert_null(br_notify_get_str(&small, 4)); /* longer than allowed */
    assert_true(small.bad);
    br_buf_free(&b);
}

/* ---------------------------------------------------------------------- */
/* Headers and routing                                                    */

static void test_notifier_signs_webhook_body_with_hmac_and_sends_bearer(void **state)
{
    fixture *f = *state;
    char *secret = tu_write_file(f->dir, "hmac", "topsecret\n");
    char *token = tu_write_file(f->dir, "token", "  tok-123  \n");
    add_webhook(f, "pages");
    f->receivers[0].hmac_secret_file = secret;
    f->receivers[0].bearer_token_file = token;
    f->receivers[0].group_wait_ms = 0;
    open_notifier(f);
    test_alert t;
    make_alert(&t, "SLOBurn", "page", "checkout", T0, 0);
    submit(f, &t, 1);
    assert_int_equal(run(f), 1);
    uint8_t mac[BR_SHA256_SIZE];
    char hex[BR_SHA256_HEX_SIZE];
    br_hmac_sha256("topsecret", 9, f->seen[0].body, strlen(f->seen[0].body), mac);
    char expected[128];
    snprintf(expected, sizeof(expected), "X-Burnrate-Signature: sha256=%s\n",
             br_sha256_hex(mac, hex));
    assert_non_null(strstr(f->seen[0].headers, expected));
    assert_non_null(strstr(f->seen[0].headers, "Authorization: Bearer tok-123\n"));
    assert_non_null(strstr(f->seen[0].headers, "Content-Type: application/json\n"));
    char id[64];
    snprintf(id, sizeof(id), "X-Burnrate-Notification-Id: %016llx\n",
             (unsigned long long)f->seen[0].id);
    assert_non_null(strstr(f->seen[0].headers, id));
    /* The known-answer check of the HMAC itself (python's hmac module). */
    br_hmac_sha256("topsecret", 9, "{\"a\":1}", 7, mac);
    assert_string_equal(br_sha256_hex(mac, hex),
                        "bf1e6501b7fa928ec2391fea9dd90af3c9ad1b7b1ef6ff319c25940cec746bf8");
    free(secret);
    free(token);
}

static void test_notifier_missing_secret_file_fails_open(void **state)
{
    fixture *f = *state;
    add_webhook(f, "pages");
    f->receivers[0].hmac_secret_file = "/nonexistent/hmac";
    br_err err;
    br_err_clear(&err);
    br_notifier_options o = options(f, true);
    assert_null(br_notifier_open(&o, &err));
    assert_int_equal(err.code, BR_EIO);
    assert_non_null(strstr(err.msg, "receiver \"pages\""));
    assert_non_null(strstr(err.msg, "hmac_secret_file"));
}

static void test_notifier_routes_by_match_labels(void **state)
{
    fixture *f = *state;
    br_receiver_match page[] = {{"severity", "page"}};
    br_receiver_match ticket[] = {{"severity", "ticket"}};
    add_alertmanager(f, "pages");
    f->receivers[0].match = page;
    f->receivers[0].n_match = 1;
    add_alertmanager(f, "tickets");
    f->receivers[1].match = ticket;
    f->receivers[1].n_match = 1;
    add_alertmanager(f, "everything");
    open_notifier(f);
    test_alert t;
    make_alert(&t, "SLOBurn", "page", "checkout", T0, 0);
    submit(f, &t, 1);
    assert_int_equal(run(f), 2);
    assert_int_equal(f->n_seen, 2);
    bool got_pages = false;
    bool got_everything = false;
    for (size_t i = 0; i < f->n_seen; i++) {
        got_pages = got_pages || strcmp(f->seen[i].receiver, "pages") == 0;
        got_everything = got_everything || strcmp(f->seen[i].receiver, "everything") == 0;
        assert_string_not_equal(f->seen[i].receiver, "tickets");
        assert_string_equal(f->seen[i].url, "http://am.example:9093/api/v2/alerts");
    }
    assert_true(got_pages && got_everything);
}

/* ---------------------------------------------------------------------- */
/* Grouping                                                               */

static size_t alerts_in(fixture *f, size_t i, const char *status)
{
    cJSON *j = parse_seen(f, i);
    size_t count = 0;
    cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(j, "alerts"))
    {
        count += strcmp(jstr(a, "status"), status) == 0 ? 1 : 0;
    }
    cJSON_Delete(j);
    return count;
}

static void test_notifier_group_waits_then_batches_changes_per_interval(void **state)
{
    fixture *f = *state;
    add_webhook(f, "pages");
    open_notifier(f);
    test_alert t[2];
    make_alert(&t[0], "SLOBurn", "page", "checkout", T0, 0);
    submit(f, &t[0], 1);
    assert_int_equal(run(f), 0);
    f->now = T0 + 29 * SEC;
    assert_int_equal(run(f), 0);
    f->now = T0 + 30 * SEC; /* group_wait */
    assert_int_equal(run(f), 1);
    assert_int_equal(alerts_in(f, 0, "firing"), 1);
    /* A second alert of the same group waits for group_interval. */
    f->now = T0 + MIN;
    make_alert(&t[1], "SLOBurn", "ticket", "checkout", T0 + MIN, 0);
    submit(f, t, 2);
    f->now = T0 + 5 * MIN + 29 * SEC;
    assert_int_equal(run(f), 0);
    f->now = T0 + 5 * MIN + 30 * SEC;
    assert_int_equal(run(f), 1);
    assert_int_equal(alerts_in(f, 1, "firing"), 2);
    /* Nothing new: no notification at the next interval. */
    f->now = T0 + 10 * MIN + 30 * SEC;
    submit(f, t, 2);
    assert_int_equal(run(f), 0);
    cJSON *j = parse_seen(f, 1);
    assert_string_equal(jstr(j, "groupKey"), "{}:{alertname=\"SLOBurn\", sloth_id=\"checkout\"}");
    cJSON_Delete(j);
}

static void test_notifier_group_repeats_after_repeat_interval(void **state)
{
    fixture *f = *state;
    add_webhook(f, "pages");
    f->receivers[0].repeat_interval_ms = 60 * MIN;
    open_notifier(f);
    test_alert t;
    make_alert(&t, "SLOBurn", "page", "checkout", T0, 0);
    submit(f, &t, 1);
    f->now = T0 + 30 * SEC;
    assert_int_equal(run(f), 1);
    int sent = 0;
    for (int64_t at = T0 + 30 * SEC + 5 * MIN; at <= T0 + 30 * SEC + 60 * MIN; at += 5 * MIN) {
        f->now = at;
        sent += run(f);
    }
    assert_int_equal(sent, 1); /* exactly at repeat_interval */
    assert_int_equal(f->n_seen, 2);
}

static void test_notifier_group_sends_resolved_then_forgets_group(void **state)
{
    fixture *f = *state;
    add_webhook(f, "pages");
    open_notifier(f);
    test_alert t[2];
    make_alert(&t[0], "SLOBurn", "page", "checkout", T0, 0);
    make_alert(&t[1], "SLOBurn", "ticket", "checkout", T0, 0);
    submit(f, t, 2);
    f->now = T0 + 30 * SEC;
    assert_int_equal(run(f), 1);
    /* One resolves: the next flush lists it as resolved, status firing. */
    f->now = T0 + MIN;
    make_alert(&t[0], "SLOBurn", "page", "checkout", T0, T0 + MIN);
    submit(f, t, 2);
    f->now = T0 + 5 * MIN + 30 * SEC;
    assert_int_equal(run(f), 1);
    assert_int_equal(alerts_in(f, 1, "resolved"), 1);
    assert_int_equal(alerts_in(f, 1, "firing"), 1);
    cJSON *j = parse_seen(f, 1);
    assert_string_equal(jstr(j, "status"), "firing");
    cJSON_Delete(j);
    /* Resent resolved alerts of a flushed group change nothing. */
    f->now = T0 + 6 * MIN;
    submit(f, &t[0], 1);
    f->now = T0 + 10 * MIN + 30 * SEC;
    assert_int_equal(run(f), 0);
    /* The other resolves: a final resolved notification, then the group goes. */
    make_alert(&t[1], "SLOBurn", "ticket", "checkout", T0, T0 + 11 * MIN);
    f->now = T0 + 11 * MIN;
    submit(f, &t[1], 1);
    f->now = T0 + 15 * MIN + 30 * SEC;
    assert_int_equal(run(f), 1);
    j = parse_seen(f, 2);
    assert_string_equal(jstr(j, "status"), "resolved");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "alerts")), 1);
    cJSON_Delete(j);
    br_notifier_stats st;
    assert_int_equal(br_notifier_get_stats(f->n, 0, &st), 0);
    assert_int_equal(st.groups, 0);
}

static void test_notifier_resolved_alert_of_unknown_group_is_not_sent(void **state)
{
    fixture *f = *state;
    add_webhook(f, "pages");
    open_notifier(f);
    test_alert t;
    make_alert(&t, "SLOBurn", "page", "checkout", T0, T0 + MIN);
    submit(f, &t, 1);
    f->now = T0 + 10 * MIN;
    assert_int_equal(run(f), 0);
    br_notifier_stats st;
    br_notifier_get_stats(f->n, 0, &st);
    assert_int_equal(st.groups, 0);
}

static void test_notifier_flap_within_group_interval_is_not_resent(void **state)
{
    fixture *f = *state;
    add_webhook(f, "pages");
    open_notifier(f);
    test_alert t;
    make_alert(&t, "SLOBurn", "page", "checkout", T0, 0);
    submit(f, &t, 1);
    f->now = T0 + 30 * SEC;
    assert_int_equal(run(f), 1);
    f->now = T0 + MIN;
    make_alert(&t, "SLOBurn", "page", "checkout", T0, T0 + MIN);
    submit(f, &t, 1);
    f->now = T0 + 2 * MIN;
    make_alert(&t, "SLOBurn", "page", "checkout", T0 + 2 * MIN, 0);
    submit(f, &t, 1);
    f->now = T0 + 5 * MIN + 30 * SEC;
    assert_int_equal(run(f), 0); /* still firing, as last notified */
}

static void test_notifier_group_by_splits_groups(void **state)
{
    fixture *f = *state;
    add_webhook(f, "pages");
    f->receivers[0].group_wait_ms = 0;
    open_notifier(f);
    test_alert t[3];
    make_alert(&t[0], "SLOBurn", "page", "checkout", T0, 0);
    make_alert(&t[1], "SLOBurn", "ticket", "checkout", T0, 0);
    make_alert(&t[2], "SLOBurn", "page", "search", T0, 0);
    submit(f, t, 3);
    assert_int_equal(run(f), 1); /* one receiver: one request at a time */
    assert_int_equal(run(f), 1);
    assert_int_equal(f->n_seen, 2);
    size_t total = alerts_in(f, 0, "firing") + alerts_in(f, 1, "firing");
    assert_int_equal(total, 3);
    br_notifier_stats st;
    br_notifier_get_stats(f->n, 0, &st);
    assert_int_equal(st.groups, 2);
}

/* ---------------------------------------------------------------------- */
/* Delivery                                                               */

static void test_notifier_retries_5xx_with_backoff_then_delivers_once(void **state)
{
    fixture *f = *state;
    add_webhook(f, "pages");
    f->receivers[0].group_wait_ms = 0;
    open_notifier(f);
    f->statuses[0] = 500;
    f->statuses[1] = -1; /* a timeout */
    f->n_statuses = 2;
    test_alert t;
    make_alert(&t, "SLOBurn", "page", "checkout", T0, 0);
    submit(f, &t, 1);
    assert_int_equal(run(f), 1);
    /* Full jitter: the first retry is due within min_backoff (1s), the
     * second within 2s. */
    f->now += 1 * SEC;
    assert_int_equal(run(f), 1);
    f->now += 2 * SEC;
    assert_int_equal(run(f), 1);
    f->now += 60 * SEC;
    assert_int_equal(run(f), 0);
    assert_int_equal(f->n_seen, 3);
    assert_int_equal(f->seen[0].id, f->seen[2].id);
    assert_string_equal(f->seen[0].body, f->seen[2].body);
    br_notifier_stats st;
    br_notifier_get_stats(f->n, 0, &st);
    assert_int_equal(st.sent, 1);
    assert_int_equal(st.failed, 2);
    assert_int_equal(st.retried, 2);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.queued, 0);
}

static void test_notifier_gives_up_on_4xx(void **state)
{
    fixture *f = *state;
    add_alertmanager(f, "am");
    open_notifier(f);
    f->statuses[0] = 400;
    f->n_statuses = 1;
    test_alert t;
    make_alert(&t, "SLOBurn", "page", "checkout", T0, 0);
    submit(f, &t, 1);
    assert_int_equal(run(f), 1);
    f->now += 10 * MIN;
    assert_int_equal(run(f), 0);
    br_notifier_stats st;
    br_notifier_get_stats(f->n, 0, &st);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.dropped, 1);
    assert_int_equal(st.retried, 0);
    assert_int_equal(st.queued, 0);
}

static void test_notifier_gives_up_after_max_retry(void **state)
{
    fixture *f = *state;
    add_alertmanager(f, "am");
    br_err err;
    br_notifier_options o = options(f, true);
    o.max_retry_ms = 30 * SEC;
    f->n = br_notifier_open(&o, &err);
    assert_non_null(f->n);
    for (size_t i = 0; i < 16; i++) {
        f->statuses[i] = 503;
    }
    f->n_statuses = 16;
    test_alert t;
    make_alert(&t, "SLOBurn", "page", "checkout", T0, 0);
    submit(f, &t, 1);
    for (int i = 0; i < 40; i++) {
        run(f);
        f->now += 2 * SEC;
    }
    br_notifier_stats st;
    br_notifier_get_stats(f->n, 0, &st);
    assert_int_equal(st.dropped, 1);
    assert_int_equal(st.sent, 0);
    assert_int_equal(st.queued, 0);
}

static void test_notifier_full_queue_drops_oldest(void **state)
{
    fixture *f = *state;
    add_alertmanager(f, "am");
    br_err err;
    br_notifier_options o = options(f, true);
    o.queue_capacity = 2;
    f->n = br_notifier_open(&o, &err);
    assert_non_null(f->n);
    test_alert t[3];
    make_alert(&t[0], "A", "page", "x", T0, 0);
    make_alert(&t[1], "B", "page", "x", T0, 0);
    make_alert(&t[2], "C", "page", "x", T0, 0);
    for (int i = 0; i < 3; i++) {
        submit(f, &t[i], 1);
    }
    assert_int_equal(br_notifier_queue_length(f->n), 2);
    br_notifier_stats st;
    br_notifier_get_stats(f->n, 0, &st);
    assert_int_equal(st.dropped, 1);
    run(f);
    run(f);
    assert_int_equal(f->n_seen, 2);
    assert_non_null(strstr(f->seen[0].body, "\"alertname\":\"B\""));
    assert_non_null(strstr(f->seen[1].body, "\"alertname\":\"C\""));
}

static void test_notifier_newer_alertmanager_batch_replaces_older(void **state)
{
    fixture *f = *state;
    add_alertmanager(f, "am");
    open_notifier(f);
    test_alert t[2];
    make_alert(&t[0], "A", "page", "x", T0, 0);
    make_alert(&t[1], "B", "page", "x", T0, 0);
    submit(f, &t[0], 1);
    submit(f, t, 2); /* holds A too: the first batch is obsolete */
    assert_int_equal(br_notifier_queue_length(f->n), 1);
    f->now += MIN;
    make_alert(&t[0], "A", "page", "x", T0, T0 + MIN);
    submit(f, &t[0], 1); /* does not hold B: both stay */
    assert_int_equal(br_notifier_queue_length(f->n), 2);
    run(f);
    run(f);
    assert_int_equal(f->n_seen, 2);
    cJSON *j = parse_seen(f, 0);
    assert_int_equal(cJSON_GetArraySize(j), 2);
    cJSON_Delete(j);
    /* Rendered at send time: endsAt = send time + 4m for the firing one. */
    assert_non_null(strstr(f->seen[0].body, "\"endsAt\":\"2023-11-14T22:18:20.000Z\""));
}

static void test_notifier_queue_survives_reopen_and_is_not_resent(void **state)
{
    fixture *f = *state;
    add_webhook(f, "pages");
    f->receivers[0].group_wait_ms = 0;
    open_notifier(f);
    f->statuses[0] = 503;
    f->n_statuses = 1;
    test_alert t;
    make_alert(&t, "SLOBurn", "page", "checkout", T0, 0);
    submit(f, &t, 1);
    assert_int_equal(run(f), 1); /* failed: still queued */
    assert_int_equal(br_notifier_close(f->n, NULL), 0);
    open_notifier(f);
    assert_int_equal(br_notifier_queue_length(f->n), 1);
    assert_int_equal(run(f), 1); /* due at once after a restart */
    assert_int_equal(f->n_seen, 2);
    assert_int_equal(f->seen[0].id, f->seen[1].id);
    assert_string_equal(f->seen[0].body, f->seen[1].body);
    /* Delivered, and the group remembers it: a reopen sends nothing. */
    assert_int_equal(br_notifier_close(f->n, NULL), 0);
    open_notifier(f);
    assert_int_equal(br_notifier_queue_length(f->n), 0);
    f->now += MIN;
    submit(f, &t, 1);
    f->now += 10 * MIN;
    assert_int_equal(run(f), 0);
    assert_int_equal(f->n_seen, 2);
    /* New ids never reuse old ones. */
    test_alert other;
    make_alert(&other, "Other", "page", "checkout", T0, 0);
    submit(f, &other, 1);
    f->now += 10 * MIN;
    assert_int_equal(run(f), 1);
    assert_true(f->seen[2].id > f->seen[1].id);
}

static void test_notifier_blobs_come_back_in_order_and_checkpoint_replaces_them(void **state)
{
    fixture *f = *state;
    open_notifier(f);
    assert_int_equal(br_notifier_submit(f->n, T0, NULL, 0, "one", 3, NULL), 0);
    assert_int_equal(br_notifier_submit(f->n, T0, NULL, 0, "two", 3, NULL), 0);
    br_notifier_close(f->n, NULL);
    open_notifier(f);
    assert_int_equal(f->n_blobs, 2);
    assert_string_equal(f->blobs[0], "one");
    assert_string_equal(f->blobs[1], "two");
    assert_int_equal(br_notifier_checkpoint(f->n, "full", 4, NULL), 0);
    assert_int_equal(br_notifier_submit(f->n, T0, NULL, 0, "three", 5, NULL), 0);
    br_notifier_close(f->n, NULL);
    f->n_blobs = 0;
    open_notifier(f);
    assert_int_equal(f->n_blobs, 2);
    assert_string_equal(f->blobs[0], "full");
    assert_string_equal(f->blobs[1], "three");
}

typedef struct submit_ctx {
    fixture *f;
    int rc;
} submit_ctx;

static void test_notifier_hanging_receiver_does_not_block_submit(void **state)
{
    fixture *f = *state;
    add_alertmanager(f, "am");
    f->hang = true;
    br_err err;
    br_notifier_options o = options(f, false); /* the delivery thread */
    f->n = br_notifier_open(&o, &err);
    assert_non_null(f->n);
    test_alert t;
    make_alert(&t, "SLOBurn", "page", "checkout", T0, 0);
    submit(f, &t, 1);
    pthread_mutex_lock(&f->mu);
    while (!f->entered) {
        pthread_cond_wait(&f->cv, &f->mu);
    }
    pthread_mutex_unlock(&f->mu);
    /* The delivery thread is stuck inside the receiver; submit, stats and
     * metrics still answer (a deadlock here would hang the test). */
    test_alert more[20];
    for (int i = 0; i < 20; i++) {
        char name[16];
        snprintf(name, sizeof(name), "A%d", i);
        make_alert(&more[i], strdup(name), "page", "x", T0, 0);
        submit(f, &more[i], 1);
        free((void *)more[i].labels[0].value);
    }
    assert_int_equal(br_notifier_queue_length(f->n), 21);
    br_buf out;
    br_buf_init(&out, 0);
    br_notifier_collect_metrics(f->n, &out);
    assert_non_null(
        strstr(br_buf_str(&out), "burnrate_notification_queue_length{receiver=\"am\"} 21"));
    br_buf_free(&out);
    pthread_mutex_lock(&f->mu);
    f->released = true;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static void test_notifier_metrics_text_has_every_family(void **state)
{
    fixture *f = *state;
    add_alertmanager(f, "am \"x\"");
    open_notifier(f);
    test_alert t;
    make_alert(&t, "SLOBurn", "page", "checkout", T0, 0);
    submit(f, &t, 1);
    run(f);
    br_buf out;
    br_buf_init(&out, 0);
    br_notifier_collect_metrics(f->n, &out);
    const char *text = br_buf_str(&out);
    assert_non_null(strstr(text, "# TYPE burnrate_notifications_sent_total counter\n"));
    assert_non_null(
        strstr(text, "burnrate_notifications_sent_total{receiver=\"am \\\"x\\\"\"} 1\n"));
    assert_non_null(
        strstr(text, "burnrate_notifications_failed_total{receiver=\"am \\\"x\\\"\"} 0\n"));
    assert_non_null(strstr(text, "# TYPE burnrate_notifications_retried_total counter\n"));
    assert_non_null(strstr(text, "# TYPE burnrate_notifications_dropped_total counter\n"));
    assert_non_null(
        strstr(text, "burnrate_notification_queue_length{receiver=\"am \\\"x\\\"\"} 0\n"));
    assert_non_null(strstr(text, "# TYPE burnrate_notification_latency_seconds histogram\n"));
    assert_non_null(strstr(
        text,
        "burnrate_notification_latency_seconds_bucket{receiver=\"am \\\"x\\\"\",le=\"+Inf\"} 1\n"));
    assert_non_null(
        strstr(text, "burnrate_notification_latency_seconds_count{receiver=\"am \\\"x\\\"\"} 1\n"));
    br_buf_free(&out);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_notifier_fingerprint_matches_alertmanager),
        T(test_notifier_alertmanager_body_is_postable_alerts),
        T(test_notifier_webhook_body_is_alertmanager_payload_v4),
        T(test_notifier_webhook_status_is_resolved_when_no_alert_fires),
        T(test_notifier_group_key_quotes_like_alertmanager),
        T(test_notifier_codec_round_trips_and_rejects_truncation),
        T(test_notifier_signs_webhook_body_with_hmac_and_sends_bearer),
        T(test_notifier_missing_secret_file_fails_open),
        T(test_notifier_routes_by_match_labels),
        T(test_notifier_group_waits_then_batches_changes_per_interval),
        T(test_notifier_group_repeats_after_repeat_interval),
        T(test_notifier_group_sends_resolved_then_forgets_group),
        T(test_notifier_resolved_alert_of_unknown_group_is_not_sent),
        T(test_notifier_flap_within_group_interval_is_not_resent),
        T(test_notifier_group_by_splits_groups),
        T(test_notifier_retries_5xx_with_backoff_then_delivers_once),
        T(test_notifier_gives_up_on_4xx),
        T(test_notifier_gives_up_after_max_retry),
        T(test_notifier_full_queue_drops_oldest),
        T(test_notifier_newer_alertmanager_batch_replaces_older),
        T(test_notifier_queue_survives_reopen_and_is_not_resent),
        T(test_notifier_blobs_come_back_in_order_and_checkpoint_replaces_them),
        T(test_notifier_hanging_receiver_does_not_block_submit),
        T(test_notifier_metrics_text_has_every_family),
    };
    return cmocka_run_group_tests_name("notifier", tests, NULL, NULL);
}
