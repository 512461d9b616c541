/*
 * test_rw_out.c — remote write out (engine/rw_out.h) against a fake
 * remote-write endpoint served by libmicrohttpd on 127.0.0.1:0 in this
 * process, plus the SLO shard function (rules/evaluator.h).
 *
 * The fake endpoint decodes every request with the project's own decoder,
 * logs each sample (series name, series label, value, timestamp) and
 * answers from a script of statuses (then 204). A "crash" is simulated by
 * copying the queue directory while the sender is running and the endpoint
 * is failing: that copy is exactly what kill -9 would leave on disk, since
 * br_rw_out_append returns only after write(2).
 */
#include "api/remote_write_decode.h"
#include "engine/core/alloc.h"
#include "engine/core/arena.h"
#include "engine/rw_out.h"
#include "rules/evaluator.h"
#include "tests/helpers/testutil.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define MAX_LOG    4096
#define MAX_SCRIPT 16

typedef struct logged {
    char name[64];   /* __name__ */
    char series[32]; /* the "s" label */
    char replica[16];
    double v;
    int64_t t;
} logged;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct MHD_Daemon *daemon_;
static int port;
static logged log_[MAX_LOG];
static size_t n_log;
static int script[MAX_SCRIPT];
static size_t n_script;
static size_t requests;
static int default_status = 204;
static char *tmp_dir;

typedef struct upload {
    char *data;
    size_t len;
} upload;

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static const char *label(const br_rw_series *s, const char *name)
{
    for (size_t i = 0; i < s->n_labels; i++) {
        if (strcmp(s->labels[i].name, name) == 0) {
            return s->labels[i].value;
        }
    }
    return "";
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **con_cls)
{
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    upload *u = *con_cls;
    if (u == NULL) {
        u = calloc(1, sizeof(*u));
        *con_cls = u;
        return MHD_YES;
    }
    if (*size > 0) {
        u->data = realloc(u->data, u->len + *size);
        memcpy(u->data + u->len, data, *size);
        u->len += *size;
        *size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&mu);
    int status = requests < n_script ? script[requests] : default_status;
    requests++;
    if (status >= 200 && status < 300) {
        br_arena arena;
        br_arena_init(&arena, 64 * 1024, 0);
        br_rw_options opts;
        br_rw_options_init(&opts);
        br_rw_request req;
        br_err err;
        br_err_clear(&err);
        const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
        const char *ce = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Encoding");
        if (br_rw_decode(u->data, u->len, ct, ce, &opts, &arena, &req, &err) != 0) {
            status = 400;
        } else {
            for (size_t i = 0; i < req.n_series; i++) {
                const br_rw_series *s = &req.series[i];
                for (size_t k = 0; k < s->n_samples && n_log < MAX_LOG; k++) {
                    logged *l = &log_[n_log++];
                    snprintf(l->name, sizeof(l->name), "%s", label(s, "__name__"));
                    snprintf(l->series, sizeof(l->series), "%s", label(s, "s"));
                    snprintf(l->replica, sizeof(l->replica), "%s", label(s, "replica"));
                    l->v = s->samples[k].v;
                    l->t = s->samples[k].t;
                }
            }
        }
        br_arena_free(&arena);
    }
    pthread_mutex_unlock(&mu);
    free(u->data);
    free(u);
    *con_cls = NULL;
    return reply(c, (unsigned)status);
}

static void server_reset(const int *statuses, size_t n, int dflt)
{
    pthread_mutex_lock(&mu);
    n_log = 0;
    requests = 0;
    n_script = n;
    for (size_t i = 0; i < n; i++) {
        script[i] = statuses[i];
    }
    default_status = dflt;
    pthread_mutex_unlock(&mu);
}

static int setup(void **state)
{
    (void)state;
    static struct sockaddr_in loopback;
    loopback.sin_family = AF_INET;
    loopback.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    loopback.sin_port = 0;
    daemon_ = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
                               NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &loopback,
                               MHD_OPTION_END);
    if (daemon_ == NULL) {
        return -1;
    }
    port = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT)->port;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    MHD_stop_daemon(daemon_);
    return 0;
}

static int per_test_setup(void **state)
{
    (void)state;
    tmp_dir = tu_mkdtemp("rwout");
    server_reset(NULL, 0, 204);
    return tmp_dir ? 0 : -1;
}

static int per_test_teardown(void **state)
{
    (void)state;
    tu_rmtree(tmp_dir);
    free(tmp_dir);
    return 0;
}

/* A sender to the fake endpoint with fast back-off and no batch delay. */
static br_rw_out *open_sender(const char *data_dir, int64_t shards, int64_t max_per_send,
                              const char *replica)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/write", port);
    br_rw_out_config cfg;
    br_rw_out_config_defaults(&cfg);
    cfg.name = "test";
    cfg.url = url;
    cfg.min_backoff_ms = 5;
    cfg.max_backoff_ms = 40;
    cfg.batch_send_deadline_ms = 0;
    cfg.shards = shards;
    cfg.max_samples_per_send = max_per_send;
    cfg.timeout_ms = 5000;
    br_label ext = {"replica", replica};
    br_rw_out_options o = {
        .cfg = &cfg,
        .data_dir = data_dir,
        .external_labels = &ext,
        .n_external_labels = replica ? 1 : 0,
        .segment_bytes = 4096,
    };
    br_err err;
    br_err_clear(&err);
    br_rw_out *q = br_rw_out_open(&o, &err);
    if (q == NULL) {
        fail_msg("br_rw_out_open: %s", err.msg);
    }
    return q;
}

/* Appends one sample for each of n series s0..s<n-1> at time t, value v. */
static void append_tick(br_rw_out *q, size_t n, int64_t t, double v)
{
    char names[16][24];
    br_label labels[16][2];
    br_sample samples[16];
    br_series_input in[16];
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof(names[i]), "s%zu", i);
        labels[i][0] = (br_label){"__name__", "slo:sli_error:ratio_rate5m"};
        labels[i][1] = (br_label){"s", names[i]};
        samples[i] = (br_sample){t, v + (double)i};
        in[i] = (br_series_input){.labels = labels[i], .n_labels = 2, .samples = &samples[i],
                                  .n_samples = 1};
    }
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_rw_out_append(q, in, n, &err), 0);
}

static size_t logged_count(void)
{
    pthread_mutex_lock(&mu);
    size_t n = n_log;
    pthread_mutex_unlock(&mu);
    return n;
}

static void test_rw_out_sends_series_with_external_label(void **state)
{
    (void)state;
    br_rw_out *q = open_sender(tmp_dir, 1, 100, "b");
    append_tick(q, 3, 1000, 0.5);
    assert_int_equal(br_rw_out_flush(q, 10000), 0);
    br_rw_out_stats st;
    br_rw_out_get_stats(q, &st);
    assert_int_equal(st.samples_sent, 3);
    assert_int_equal(st.samples_pending, 0);
    assert_int_equal(st.highest_sent_ms, 1000);
    assert_int_equal(st.acked_seq, 1);
    assert_int_equal(logged_count(), 3);
    assert_string_equal(log_[0].name, "slo:sli_error:ratio_rate5m");
    assert_string_equal(log_[0].replica, "b");
    assert_string_equal(log_[2].series, "s2");
    assert_true(log_[2].v == 2.5);
    br_rw_out_close(q);
}

static void test_rw_out_retries_503_then_sends_on_204(void **state)
{
    (void)state;
    static const int statuses[] = {503, 503};
    server_reset(statuses, 2, 204);
    br_rw_out *q = open_sender(tmp_dir, 1, 100, NULL);
    append_tick(q, 2, 2000, 1);
    assert_int_equal(br_rw_out_flush(q, 10000), 0);
    br_rw_out_stats st;
    br_rw_out_get_stats(q, &st);
    assert_int_equal(st.samples_retried, 4); /* two samples, two failed attempts */
    assert_int_equal(st.samples_sent, 2);
    assert_int_equal(st.samples_failed, 0);
    assert_int_equal(st.last_status, 204);
    assert_int_equal(requests, 3);
    assert_int_equal(logged_count(), 2);
    br_rw_out_close(q);
}

static void test_rw_out_drops_400_without_retry_and_counts_it(void **state)
{
    (void)state;
    static const int statuses[] = {400};
    server_reset(statuses, 1, 204);
    br_rw_out *q = open_sender(tmp_dir, 1, 100, NULL);
    append_tick(q, 2, 3000, 1);
    assert_int_equal(br_rw_out_flush(q, 10000), 0);
    br_rw_out_stats st;
    br_rw_out_get_stats(q, &st);
    assert_int_equal(st.samples_failed, 2);
    assert_int_equal(st.requests_failed, 1);
    assert_int_equal(st.samples_retried, 0);
    assert_int_equal(st.samples_sent, 0);
    assert_int_equal(requests, 1);
    /* The queue moves on: the next batch is sent. */
    append_tick(q, 1, 4000, 7);
    assert_int_equal(br_rw_out_flush(q, 10000), 0);
    br_rw_out_get_stats(q, &st);
    assert_int_equal(st.samples_sent, 1);
    assert_int_equal(st.acked_seq, 2);
    assert_int_equal(logged_count(), 1);
    assert_int_equal(log_[0].t, 4000);
    br_rw_out_close(q);
}

static void test_rw_out_keeps_per_series_order_with_four_shards(void **state)
{
    (void)state;
    /* Failures in the middle make shards fall behind one another. */
    static const int statuses[] = {204, 503, 204, 500, 429, 204, 503};
    server_reset(statuses, 7, 204);
    br_rw_out *q = open_sender(tmp_dir, 4, 3, NULL);
    for (int64_t t = 1; t <= 40; t++) {
        append_tick(q, 8, t * 1000, (double)t);
    }
    assert_int_equal(br_rw_out_flush(q, 30000), 0);
    br_rw_out_stats st;
    br_rw_out_get_stats(q, &st);
    assert_int_equal(st.samples_sent, 320);
    assert_int_equal(st.acked_seq, 40);
    assert_int_equal(logged_count(), 320);
    int64_t last[8] = {0};
    size_t count[8] = {0};
    for (size_t i = 0; i < n_log; i++) {
        int s = log_[i].series[1] - '0';
        assert_true(s >= 0 && s < 8);
        assert_true(log_[i].t > last[s]); /* each series strictly in order */
        last[s] = log_[i].t;
        count[s]++;
    }
    for (int s = 0; s < 8; s++) {
        assert_int_equal(count[s], 40);
        assert_int_equal(last[s], 40000);
    }
    br_rw_out_close(q);
}

static void copy_tree(const char *from, const char *to)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s'", from, to);
    assert_int_equal(system(cmd), 0);
}

static void test_rw_out_queue_survives_simulated_crash(void **state)
{
    (void)state;
    server_reset(NULL, 0, 503); /* the endpoint is down */
    char live[1100];
    char crashed[1100];
    snprintf(live, sizeof(live), "%s/live", tmp_dir);
    snprintf(crashed, sizeof(crashed), "%s/crashed", tmp_dir);
    br_rw_out *q = open_sender(live, 2, 100, NULL);
    for (int64_t t = 1; t <= 5; t++) {
        append_tick(q, 4, t * 1000, (double)t);
    }
    /* What kill -9 leaves now: the segments as written, no ack. */
    copy_tree(live, crashed);
    br_rw_out_close(q);

    server_reset(NULL, 0, 204); /* the endpoint is back */
    q = open_sender(crashed, 2, 100, NULL);
    br_rw_out_stats st;
    br_rw_out_get_stats(q, &st);
    assert_int_equal(st.replayed_records, 5);
    assert_int_equal(br_rw_out_flush(q, 10000), 0);
    br_rw_out_get_stats(q, &st);
    assert_int_equal(st.samples_sent, 20);
    assert_int_equal(st.acked_seq, 5);
    assert_int_equal(logged_count(), 20);
    /* New records continue the sequence. */
    append_tick(q, 1, 6000, 6);
    assert_int_equal(br_rw_out_flush(q, 10000), 0);
    br_rw_out_get_stats(q, &st);
    assert_int_equal(st.acked_seq, 6);
    br_rw_out_close(q);
}

static void test_rw_out_acknowledged_records_are_not_resent_after_restart(void **state)
{
    (void)state;
    br_rw_out *q = open_sender(tmp_dir, 1, 100, NULL);
    for (int64_t t = 1; t <= 3; t++) {
        append_tick(q, 2, t * 1000, 1);
    }
    assert_int_equal(br_rw_out_flush(q, 10000), 0);
    br_rw_out_close(q);
    server_reset(NULL, 0, 204);
    q = open_sender(tmp_dir, 1, 100, NULL);
    br_rw_out_stats st;
    br_rw_out_get_stats(q, &st);
    assert_int_equal(st.replayed_records, 0);
    assert_int_equal(st.samples_pending, 0);
    assert_int_equal(st.acked_seq, 3);
    append_tick(q, 1, 9000, 1);
    assert_int_equal(br_rw_out_flush(q, 10000), 0);
    assert_int_equal(logged_count(), 1);
    assert_int_equal(log_[0].t, 9000);
    br_rw_out_get_stats(q, &st);
    assert_int_equal(st.acked_seq, 4);
    br_rw_out_close(q);
}

static void test_rw_out_restart_resends_unacknowledged_records(void **state)
{
    (void)state;
    server_reset(NULL, 0, 500);
    br_rw_out *q = open_sender(tmp_dir, 1, 100, NULL);
    append_tick(q, 3, 1000, 1);
    br_rw_out_close(q); /* stopped while retrying */
    server_reset(NULL, 0, 204);
    q = open_sender(tmp_dir, 1, 100, NULL);
    assert_int_equal(br_rw_out_flush(q, 10000), 0);
    br_rw_out_stats st;
    br_rw_out_get_stats(q, &st);
    assert_int_equal(st.replayed_records, 1);
    assert_int_equal(st.samples_sent, 3);
    assert_int_equal(logged_count(), 3);
    br_rw_out_close(q);
}

static void test_rw_out_refuses_appends_over_capacity(void **state)
{
    (void)state;
    server_reset(NULL, 0, 503);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/write", port);
    br_rw_out_config cfg;
    br_rw_out_config_defaults(&cfg);
    cfg.name = "small";
    cfg.url = url;
    cfg.capacity = 5;
    cfg.min_backoff_ms = 5;
    cfg.max_backoff_ms = 10;
    br_rw_out_options o = {.cfg = &cfg, .data_dir = tmp_dir};
    br_err err;
    br_err_clear(&err);
    br_rw_out *q = br_rw_out_open(&o, &err);
    assert_non_null(q);
    append_tick(q, 4, 1000, 1);
    br_label l[1] = {{"__name__", "x"}};
    br_sample s[2] = {{1, 1}, {2, 2}};
    br_series_input in = {.labels = l, .n_labels = 1, .samples = s, .n_samples = 2};
    assert_int_equal(br_rw_out_append(q, &in, 1, &err), BR_ELIMIT);
    assert_non_null(strstr(err.msg, "capacity of 5"));
    br_rw_out_stats st;
    br_rw_out_get_stats(q, &st);
    assert_int_equal(st.samples_dropped, 2);
    assert_int_equal(st.samples_pending, 4);
    br_buf out;
    br_buf_init(&out, 0);
    br_rw_out *qs[1] = {q};
    br_rw_out_render_metrics(qs, 1, &out);
    assert_non_null(strstr(br_buf_str(&out),
                           "burnrate_remote_write_out_samples_dropped_total{remote_name=\"small\""));
    assert_non_null(strstr(br_buf_str(&out), "burnrate_remote_write_out_samples_pending{"));
    br_buf_free(&out);
    br_rw_out_close(q);
}

static void test_rw_out_rejects_corrupt_ack_file(void **state)
{
    (void)state;
    char dir[1100];
    snprintf(dir, sizeof(dir), "%s/remote_write/test", tmp_dir);
    char cmd[1300];
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(tu_write_file(dir, "acked", "not a position file!"));
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
    br_rw_out_config cfg;
    br_rw_out_config_defaults(&cfg);
    cfg.name = "test";
    cfg.url = url;
    br_rw_out_options o = {.cfg = &cfg, .data_dir = tmp_dir};
    br_err err;
    br_err_clear(&err);
    assert_null(br_rw_out_open(&o, &err));
    assert_int_equal(err.code, BR_ECORRUPT);
    assert_non_null(strstr(err.msg, "acked"));
}

/* The shard function is a deployment contract: these values must never
 * change between versions. */
static void test_slo_shard_pins_ids_to_shards(void **state)
{
    (void)state;
    assert_int_equal(br_slo_shard("checkout-availability", 1), 0);
    assert_int_equal(br_slo_shard("anything", 0), 0);
    static const struct {
        const char *id;
        uint32_t count;
        uint32_t want;
    } pins[] = {
        {"checkout-availability", 2, 1},
        {"checkout-availability", 3, 2},
        {"checkout-availability", 5, 4},
        {"checkout-availability", 16, 14},
        {"checkout-latency", 2, 0},
        {"checkout-latency", 3, 0},
        {"checkout-latency", 5, 3},
        {"checkout-latency", 16, 12},
        {"search-availability", 2, 1},
        {"search-availability", 3, 1},
        {"search-availability", 5, 1},
        {"search-availability", 16, 1},
        {"api-requests-availability", 2, 1},
        {"api-requests-availability", 3, 1},
        {"api-requests-availability", 5, 1},
        {"api-requests-availability", 16, 9},
        {"payments-latency-p99", 2, 1},
        {"payments-latency-p99", 3, 2},
        {"payments-latency-p99", 5, 4},
        {"payments-latency-p99", 16, 7},
        {"login-errors", 2, 1},
        {"login-errors", 3, 2},
        {"login-errors", 5, 2},
        {"login-errors", 16, 14},
    };
    for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++) {
        if (br_slo_shard(pins[i].id, pins[i].count) != pins[i].want) {
            fail_msg("br_slo_shard(\"%s\", %u) = %u, pinned %u", pins[i].id, pins[i].count,
                     br_slo_shard(pins[i].id, pins[i].count), pins[i].want);
        }
    }
}

static void test_slo_shard_moves_only_to_the_new_shard_when_count_grows(void **state)
{
    (void)state;
    size_t moved = 0;
    for (int i = 0; i < 1000; i++) {
        char id[32];
        snprintf(id, sizeof(id), "slo-%d", i);
        uint32_t a = br_slo_shard(id, 4);
        uint32_t b = br_slo_shard(id, 5);
        assert_true(a < 4 && b < 5);
        if (a != b) {
            assert_int_equal(b, 4);
            moved++;
        }
    }
    /* About a fifth move. */
    assert_true(moved > 120 && moved < 280);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rw_out_sends_series_with_external_label,
                                        per_test_setup, per_test_teardown),
        cmocka_unit_test_setup_teardown(test_rw_out_retries_503_then_sends_on_204, per_test_setup,
                                        per_test_teardown),
        cmocka_unit_test_setup_teardown(test_rw_out_drops_400_without_retry_and_counts_it,
                                        per_test_setup, per_test_teardown),
        cmocka_unit_test_setup_teardown(test_rw_out_keeps_per_series_order_with_four_shards,
                                        per_test_setup, per_test_teardown),
        cmocka_unit_test_setup_teardown(test_rw_out_queue_survives_simulated_crash, per_test_setup,
                                        per_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_rw_out_acknowledged_records_are_not_resent_after_restart, per_test_setup,
            per_test_teardown),
        cmocka_unit_test_setup_teardown(test_rw_out_restart_resends_unacknowledged_records,
                                        per_test_setup, per_test_teardown),
        cmocka_unit_test_setup_teardown(test_rw_out_refuses_appends_over_capacity, per_test_setup,
                                        per_test_teardown),
        cmocka_unit_test_setup_teardown(test_rw_out_rejects_corrupt_ack_file, per_test_setup,
                                        per_test_teardown),
        cmocka_unit_test(test_slo_shard_pins_ids_to_shards),
        cmocka_unit_test(test_slo_shard_moves_only_to_the_new_shard_when_count_grows),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
