/*
 * test_backend_remote.c — the remote Prometheus-API backend against a fake
 * API served by libmicrohttpd inside the test on 127.0.0.1 (a free port).
 *
 * The fake holds series (labels + samples) and answers POST /api/v1/query
 * for `selector[<R>ms]` at `time` with the samples in [time - R, time], as
 * Prometheus 2.x does; it ignores the matchers (every test uses one
 * selector), counts requests, remembers the last range asked for and the
 * headers sent, and can answer 503 a number of times, 400 with a JSON error,
 * or garbage. Tests compare the backend's answers with a local br_head
 * holding the same samples.
 */
/* cmocka needs these first, in this order. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "engine/core/alloc.h"
#include "engine/promql/backend_remote.h"
#include "storage/head.h"

#include <arpa/inet.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FAKE_SAMPLES 4096
#define OVERLAP_MS       (5 * 60 * 1000)

/* ------------------------------------------------------------ fake API */

typedef struct fake_series {
    const char *metric_json; /* the "metric" object */
    int64_t t[MAX_FAKE_SAMPLES];
    double v[MAX_FAKE_SAMPLES];
    size_t n;
} fake_series;

typedef struct fake {
    struct MHD_Daemon *d;
    int port;
    pthread_mutex_t mu;
    fake_series series[2];
    size_t n_series;
    int requests;
    int fail_503;     /* answer 503 to this many requests */
    bool bad_request; /* answer 400 with a JSON error */
    bool garbage;     /* answer 200 with non-JSON */
    int64_t last_lo;  /* last range asked for: [lo, hi] */
    int64_t last_hi;
    char auth[256];
    char tenant[64];
} fake;

static fake F;

typedef struct conn {
    char body[8192];
    size_t len;
} conn;

static void url_decode(char *s)
{
    char *w = s;
    for (char *p = s; *p; p++) {
        if (*p == '%' && p[1] && p[2]) {
            char hex[3] = {p[1], p[2], 0};
            *w++ = (char)strtol(hex, NULL, 16);
            p += 2;
        } else if (*p == '+') {
            *w++ = ' ';
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
}

static const char *form_get(char *body, const char *key, char *out, size_t size)
{
    size_t kl = strlen(key);
    for (char *p = body; p != NULL && *p;) {
        char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
            snprintf(out, size, "%.*s", (int)(len - kl - 1), p + kl + 1);
            url_decode(out);
            return out;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static void fmt_value(char *out, size_t size, double v)
{
    if (isnan(v)) {
        snprintf(out, size, "NaN");
    } else if (isinf(v)) {
        snprintf(out, size, v > 0 ? "+Inf" : "-Inf");
    } else {
        snprintf(out, size, "%.17g", v);
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **con_cls)
{
    (void)cls;
    (void)version;
    if (*con_cls == NULL) {
        *con_cls = calloc(1, sizeof(conn));
        return MHD_YES;
    }
    conn *k = *con_cls;
    if (*data_size > 0) {
        size_t n =
            *data_size < sizeof(k->body) - 1 - k->len ? *data_size : sizeof(k->body) - 1 - k->len;
        memcpy(k->body + k->len, data, n);
        k->len += n;
        *data_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&F.mu);
    F.requests++;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *tenant = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Scope-OrgID");
    snprintf(F.auth, sizeof(F.auth), "%s", auth ? auth : "");
    snprintf(F.tenant, sizeof(F.tenant), "%s", tenant ? tenant : "");
    enum MHD_Result ret;
    char query[1024];
    char tbuf[64];
    if (F.fail_503 > 0) {
        F.fail_503--;
        ret = reply(c, 503,
                    "{\"status\":\"error\",\"errorType\":\"unavailable\","
                    "\"error\":\"ingesters are restarting\"}");
    } else if (F.bad_request) {
        ret = reply(c, 400,
                    "{\"status\":\"error\",\"errorType\":\"bad_data\","
                    "\"error\":\"invalid parameter \\\"query\\\": parse error\"}");
    } else if (F.garbage) {
        ret = reply(c, 200, "<html>proxy says hello</html>");
    } else if (strcmp(method, "POST") != 0 || strcmp(url, "/api/v1/query") != 0 ||
               form_get(k->body, "query", query, sizeof(query)) == NULL ||
               form_get(k->body, "time", tbuf, sizeof(tbuf)) == NULL) {
        ret = reply(c, 404, "{\"status\":\"error\",\"error\":\"not found\"}");
    } else {
        char *br = strchr(query, '[');
        int64_t range = br ? strtoll(br + 1, NULL, 10) : 0;
        int64_t hi = llround(strtod(tbuf, NULL) * 1000.0);
        int64_t lo = hi - range;
        F.last_lo = lo;
        F.last_hi = hi;
        size_t cap = 1 << 20;
        char *out = malloc(cap);
        size_t len = (size_t)snprintf(out, cap,
                                      "{\"status\":\"success\",\"data\":{\"resultType\":"
                                      "\"matrix\",\"result\":[");
        for (size_t s = 0; s < F.n_series; s++) {
            fake_series *fs = &F.series[s];
            len += (size_t)snprintf(out + len, cap - len, "%s{\"metric\":%s,\"values\":[",
                                    s ? "," : "", fs->metric_json);
            bool first = true;
            for (size_t i = 0; i < fs->n; i++) {
                if (fs->t[i] < lo || fs->t[i] > hi) {
                    continue;
                }
                char v[64];
                fmt_value(v, sizeof(v), fs->v[i]);
                len += (size_t)snprintf(out + len, cap - len, "%s[%lld.%03lld,\"%s\"]",
                                        first ? "" : ",", (long long)(fs->t[i] / 1000),
                                        (long long)(fs->t[i] % 1000), v);
                first = false;
            }
            len += (size_t)snprintf(out + len, cap - len, "]}");
        }
        snprintf(out + len, cap - len, "]}}");
        ret = reply(c, 200, out);
        free(out);
    }
    pthread_mutex_unlock(&F.mu);
    return ret;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

static int fake_setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof(F));
    pthread_mutex_init(&F.mu, NULL);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    F.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
                           NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &a,
                           MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_END);
    if (F.d == NULL) {
        return -1;
    }
    F.port = MHD_get_daemon_info(F.d, MHD_DAEMON_INFO_BIND_PORT)->port;
    return 0;
}

static int fake_teardown(void **state)
{
    (void)state;
    MHD_stop_daemon(F.d);
    pthread_mutex_destroy(&F.mu);
    return 0;
}

/* Counter samples every 15 s from t0: +3 per step, +1 error every 4th
 * step... with a counter reset at step 100. */
static void fill_counter(fake_series *fs, const char *metric, int64_t t0, size_t n)
{
    fs->metric_json = metric;
    double v = 0;
    for (size_t i = 0; i < n; i++) {
        v = i == 100 ? 2 : v + (double)(i % 5);
        fs->t[i] = t0 + (int64_t)i * 15000;
        fs->v[i] = v;
    }
    fs->n = n;
}

static char url_buf[64];

static br_remote *new_remote(br_remote_options *o)
{
    snprintf(url_buf, sizeof(url_buf), "http://127.0.0.1:%d/", F.port);
    o->url = url_buf;
    if (o->retry_backoff_ms == 0) {
        o->retry_backoff_ms = 1;
    }
    br_err err;
    br_err_clear(&err);
    br_remote *r = br_remote_new(o, &err);
    assert_non_null(r);
    return r;
}

static br_matcher *name_matcher(const char *name)
{
    br_matcher *m = br_calloc(1, sizeof(*m));
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_matcher_init(m, BR_MATCH_EQ, "__name__", name, &err), 0);
    return m;
}

static void free_matcher(br_matcher *m)
{
    br_matcher_free(m);
    br_free(m);
}

/* ------------------------------------------------------------ parsing */

typedef struct parsed {
    char labels[256];
    br_sample s[8];
    size_t n;
    size_t nh;
} parsed;

static int keep_series(void *ctx, const br_label *labels, size_t n_labels, const br_sample *samples,
                       size_t n_samples, size_t n_histograms)
{
    parsed *p = ctx;
    p->labels[0] = '\0';
    for (size_t i = 0; i < n_labels; i++) {
        size_t l = strlen(p->labels);
        snprintf(p->labels + l, sizeof(p->labels) - l, "%s=%s;", labels[i].name, labels[i].value);
    }
    for (size_t i = 0; i < n_samples && i < 8; i++) {
        p->s[i] = samples[i];
    }
    p->n = n_samples;
    p->nh = n_histograms;
    return 0;
}

static void test_remote_parse_rounds_timestamps_and_reads_special_values(void **state)
{
    (void)state;
    const char *body =
        "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
        "{\"metric\":{\"job\":\"api\",\"__name__\":\"x\",\"empty\":\"\"},\"values\":["
        "[1.001,\"1\"],[1.005,\"NaN\"],[1700000000.123,\"+Inf\"],[1700000001,\"-Inf\"],"
        "[1700000002.5,\"1e3\"]],\"histograms\":[[1700000003,{\"count\":\"1\"}]]}]}}";
    parsed p;
    memset(&p, 0, sizeof(p));
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_remote_parse_matrix(body, strlen(body), keep_series, &p, &err), 0);
    assert_string_equal(p.labels, "__name__=x;job=api;");
    assert_int_equal(p.n, 5);
    assert_int_equal(p.s[0].t, 1001); /* 1.001 * 1000 truncates to 1000 */
    assert_int_equal(p.s[1].t, 1005); /* and 1.005 to 1004 */
    assert_int_equal(p.s[2].t, 1700000000123LL);
    assert_int_equal(p.s[3].t, 1700000001000LL);
    assert_int_equal(p.s[4].t, 1700000002500LL);
    assert_true(p.s[0].v == 1.0);
    assert_true(isnan(p.s[1].v));
    assert_true(isinf(p.s[2].v) && p.s[2].v > 0);
    assert_true(isinf(p.s[3].v) && p.s[3].v < 0);
    assert_true(p.s[4].v == 1000.0);
    assert_int_equal(p.nh, 1);
}

static void test_remote_parse_error_answer_is_eio_with_message(void **state)
{
    (void)state;
    const char *body = "{\"status\":\"error\",\"errorType\":\"timeout\",\"error\":\"query timed "
                       "out in expression evaluation\"}";
    parsed p;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_remote_parse_matrix(body, strlen(body), keep_series, &p, &err), BR_EIO);
    assert_non_null(strstr(err.msg, "timeout: query timed out in expression evaluation"));
}

static void test_remote_parse_rejects_vector_and_bad_values(void **state)
{
    (void)state;
    const char *vec = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}";
    const char *bad = "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
                      "{\"metric\":{\"a\":\"b\"},\"values\":[[1,\"12abc\"]]}]}}";
    parsed p;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_remote_parse_matrix(vec, strlen(vec), keep_series, &p, &err), BR_EPARSE);
    assert_non_null(strstr(err.msg, "vector"));
    br_err_clear(&err);
    assert_int_equal(br_remote_parse_matrix(bad, strlen(bad), keep_series, &p, &err), BR_EPARSE);
    assert_non_null(strstr(err.msg, "sample #1"));
}

/* ------------------------------------------------------------ against the fake */

static const int64_t T0 = 1700000000000LL;

static int64_t fake_clock_ms;
static int64_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_clock_ms;
}

static void reset_fake(void)
{
    pthread_mutex_lock(&F.mu);
    F.requests = 0;
    F.fail_503 = 0;
    F.bad_request = false;
    F.garbage = false;
    F.n_series = 0;
    pthread_mutex_unlock(&F.mu);
}

static void test_remote_window_aggs_equal_local_head(void **state)
{
    (void)state;
    reset_fake();
    fill_counter(&F.series[0], "{\"__name__\":\"req_total\",\"code\":\"200\"}", T0, 400);
    fill_counter(&F.series[1], "{\"__name__\":\"req_total\",\"code\":\"500\"}", T0 + 7000, 300);
    F.n_series = 2;
    /* The same samples in a local head. */
    br_head_options ho;
    memset(&ho, 0, sizeof(ho));
    br_head *h = NULL;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_head_open(&ho, &h, &err), 0);
    const char *codes[2] = {"200", "500"};
    for (size_t s = 0; s < 2; s++) {
        br_label ls[2] = {{"__name__", "req_total"}, {"code", codes[s]}};
        br_sample *xs = br_malloc(sizeof(*xs) * F.series[s].n);
        for (size_t i = 0; i < F.series[s].n; i++) {
            xs[i].t = F.series[s].t[i];
            xs[i].v = F.series[s].v[i];
        }
        br_series_input in = {
            .labels = ls, .n_labels = 2, .samples = xs, .n_samples = F.series[s].n};
        br_commit_result res;
        assert_int_equal(br_head_commit(h, &in, 1, &res, &err), 0);
        br_free(xs);
    }
    br_remote_options o;
    memset(&o, 0, sizeof(o));
    br_remote *r = new_remote(&o);
    br_queryable rq;
    br_queryable lq;
    br_queryable_remote(r, &rq);
    br_queryable_local(h, &lq);
    br_matcher *m = name_matcher("req_total");
    /* Intervals crossing the counter reset, starting after the first sample. */
    br_interval iv[3] = {{T0 + 10 * 60000, T0 + 20 * 60000},
                         {T0 + 20 * 60000, T0 + 26 * 60000 + 1},
                         {T0 + 26 * 60000 + 1, T0 + 95 * 60000}};
    br_arena a;
    br_arena_init(&a, 4096, 0);
    br_series_aggs_set rs;
    br_series_aggs_set ls;
    assert_int_equal(rq.window_aggs(rq.ctx, m, 1, iv, 3, true, &a, &rs, &err), 0);
    assert_int_equal(lq.window_aggs(lq.ctx, m, 1, iv, 3, true, &a, &ls, &err), 0);
    assert_int_equal(rs.n, 2);
    assert_int_equal(ls.n, 2);
    for (size_t s = 0; s < 2; s++) {
        assert_string_equal(rs.series[s].labels[1].value, ls.series[s].labels[1].value);
        assert_int_equal(rs.series[s].last_t, ls.series[s].last_t);
        for (size_t k = 0; k < 3; k++) {
            assert_true(rs.series[s].aggs[k].increase == ls.series[s].aggs[k].increase);
            assert_int_equal(rs.series[s].aggs[k].count, ls.series[s].aggs[k].count);
            assert_true(rs.series[s].aggs[k].sum == ls.series[s].aggs[k].sum);
        }
    }
    assert_true(rs.series[0].aggs[1].increase > 0);
    /* select returns the same raw samples too. */
    br_series_set rsel;
    assert_int_equal(rq.select(rq.ctx, m, 1, T0 + 60000, T0 + 30 * 60000, 0, &a, &rsel, &err), 0);
    assert_int_equal(rsel.n, 2);
    assert_int_equal(rsel.series[0].n_samples, 117); /* 60 s .. 1800 s every 15 s */
    assert_int_equal(rsel.series[0].samples[0].t, T0 + 60000);
    br_arena_free(&a);
    free_matcher(m);
    br_remote_free(r);
    br_head_close(h);
}

static void test_remote_incremental_fetch_asks_only_new_range(void **state)
{
    (void)state;
    reset_fake();
    fill_counter(&F.series[0], "{\"__name__\":\"req_total\"}", T0, 400);
    F.n_series = 1;
    fake_clock_ms = 1000;
    br_remote_options o;
    memset(&o, 0, sizeof(o));
    o.now_ms = fake_clock;
    o.overlap_ms = OVERLAP_MS;
    br_remote *r = new_remote(&o);
    br_queryable q;
    br_queryable_remote(r, &q);
    br_matcher *m = name_matcher("req_total");
    br_arena a;
    br_arena_init(&a, 4096, 0);
    br_err err;
    br_err_clear(&err);
    br_series_aggs_set out;
    int64_t t1 = T0 + 60 * 60000;
    br_interval iv = {T0 + 30 * 60000, t1};
    assert_int_equal(q.window_aggs(q.ctx, m, 1, &iv, 1, false, &a, &out, &err), 0);
    assert_int_equal(F.requests, 1);
    assert_int_equal(F.last_lo, iv.start - OVERLAP_MS);
    assert_int_equal(F.last_hi, t1);
    assert_int_equal(q.take_oldest_append(q.ctx), iv.start - OVERLAP_MS);
    /* The next tick, 30 s later: only (t1 - overlap, t2] is asked for. */
    int64_t t2 = t1 + 30000;
    iv.start += 30000;
    iv.end = t2;
    assert_int_equal(q.window_aggs(q.ctx, m, 1, &iv, 1, false, &a, &out, &err), 0);
    assert_int_equal(F.requests, 2);
    assert_int_equal(F.last_lo, t1 - OVERLAP_MS);
    assert_int_equal(F.last_hi, t2);
    /* Nothing new inside the overlap: the oldest new sample is after t1. */
    assert_int_equal(q.take_oldest_append(q.ctx), t1 + 15000);
    assert_int_equal(out.series[0].aggs[0].count, 120);
    /* Asking again for the same end fetches nothing. */
    assert_int_equal(q.window_aggs(q.ctx, m, 1, &iv, 1, false, &a, &out, &err), 0);
    assert_int_equal(F.requests, 2);
    assert_int_equal(q.take_oldest_append(q.ctx), INT64_MAX);
    br_remote_stats st;
    br_remote_stats_get(r, &st);
    assert_int_equal(st.full_fetches, 1);
    assert_int_equal(st.incremental_fetches, 1);
    br_arena_free(&a);
    free_matcher(m);
    br_remote_free(r);
}

static void test_remote_late_sample_in_overlap_is_reported(void **state)
{
    (void)state;
    reset_fake();
    /* Series b's newest samples are missing at the first fetch. */
    fill_counter(&F.series[0], "{\"__name__\":\"req_total\",\"s\":\"a\"}", T0, 400);
    fill_counter(&F.series[1], "{\"__name__\":\"req_total\",\"s\":\"b\"}", T0, 200);
    F.n_series = 2;
    br_remote_options o;
    memset(&o, 0, sizeof(o));
    o.now_ms = fake_clock;
    o.overlap_ms = OVERLAP_MS;
    fake_clock_ms = 1000;
    br_remote *r = new_remote(&o);
    br_queryable q;
    br_queryable_remote(r, &q);
    br_matcher *m = name_matcher("req_total");
    br_arena a;
    br_arena_init(&a, 4096, 0);
    br_err err;
    br_err_clear(&err);
    br_series_aggs_set out;
    int64_t t1 = T0 + 200 * 15000 + 60000; /* b has 4 samples missing before t1 */
    br_interval iv = {T0 + 30 * 60000, t1};
    F.series[1].n = 196;
    assert_int_equal(q.window_aggs(q.ctx, m, 1, &iv, 1, false, &a, &out, &err), 0);
    (void)q.take_oldest_append(q.ctx);
    F.series[1].n = 200; /* the late scrapes land */
    iv.end = t1 + 30000;
    assert_int_equal(q.window_aggs(q.ctx, m, 1, &iv, 1, false, &a, &out, &err), 0);
    assert_true(q.take_oldest_append(q.ctx) <= T0 + 196 * 15000);
    assert_int_equal(out.series[1].aggs[0].count, 199 - 120); /* (start, end] */
    br_arena_free(&a);
    free_matcher(m);
    br_remote_free(r);
}

static void test_remote_changed_history_triggers_full_refetch(void **state)
{
    (void)state;
    reset_fake();
    fill_counter(&F.series[0], "{\"__name__\":\"req_total\"}", T0, 400);
    F.n_series = 1;
    br_remote_options o;
    memset(&o, 0, sizeof(o));
    o.now_ms = fake_clock;
    fake_clock_ms = 1000;
    br_remote *r = new_remote(&o);
    br_queryable q;
    br_queryable_remote(r, &q);
    br_matcher *m = name_matcher("req_total");
    br_arena a;
    br_arena_init(&a, 4096, 0);
    br_err err;
    br_err_clear(&err);
    br_series_aggs_set out;
    int64_t t1 = T0 + 60 * 60000;
    br_interval iv = {T0 + 30 * 60000, t1};
    assert_int_equal(q.window_aggs(q.ctx, m, 1, &iv, 1, false, &a, &out, &err), 0);
    double before = out.series[0].aggs[0].increase;
    F.series[0].v[235] += 1000; /* a value inside the overlap changes */
    iv.end = t1 + 30000;
    assert_int_equal(q.window_aggs(q.ctx, m, 1, &iv, 1, false, &a, &out, &err), 0);
    br_remote_stats st;
    br_remote_stats_get(r, &st);
    assert_int_equal(st.full_fetches, 2);
    assert_true(out.series[0].aggs[0].increase > before + 999);
    br_arena_free(&a);
    free_matcher(m);
    br_remote_free(r);
}

static void test_remote_refresh_refetches_everything(void **state)
{
    (void)state;
    reset_fake();
    fill_counter(&F.series[0], "{\"__name__\":\"req_total\"}", T0, 400);
    F.n_series = 1;
    br_remote_options o;
    memset(&o, 0, sizeof(o));
    o.now_ms = fake_clock;
    o.refresh_ms = 3600 * 1000;
    fake_clock_ms = 1000;
    br_remote *r = new_remote(&o);
    br_queryable q;
    br_queryable_remote(r, &q);
    br_matcher *m = name_matcher("req_total");
    br_arena a;
    br_arena_init(&a, 4096, 0);
    br_err err;
    br_err_clear(&err);
    br_series_aggs_set out;
    br_interval iv = {T0 + 30 * 60000, T0 + 60 * 60000};
    assert_int_equal(q.window_aggs(q.ctx, m, 1, &iv, 1, false, &a, &out, &err), 0);
    fake_clock_ms += 3600 * 1000;
    assert_int_equal(q.window_aggs(q.ctx, m, 1, &iv, 1, false, &a, &out, &err), 0);
    assert_int_equal(F.last_lo, iv.start - 5 * 60000);
    br_remote_stats st;
    br_remote_stats_get(r, &st);
    assert_int_equal(st.full_fetches, 2);
    /* An older start than cached also rebuilds. */
    iv.start -= 10 * 60000;
    assert_int_equal(q.window_aggs(q.ctx, m, 1, &iv, 1, false, &a, &out, &err), 0);
    br_remote_stats_get(r, &st);
    assert_int_equal(st.full_fetches, 3);
    assert_int_equal(F.last_lo, iv.start - 5 * 60000);
    br_arena_free(&a);
    free_matcher(m);
    br_remote_free(r);
}

static int call_once(br_remote *r, br_err *err)
{
    br_queryable q;
    br_queryable_remote(r, &q);
    br_matcher *m = name_matcher("req_total");
    br_arena a;
    br_arena_init(&a, 4096, 0);
    br_series_aggs_set out;
    br_interval iv = {T0, T0 + 60000};
    int rc = q.window_aggs(q.ctx, m, 1, &iv, 1, false, &a, &out, err);
    br_arena_free(&a);
    free_matcher(m);
    return rc;
}

static void test_remote_retries_503_then_succeeds(void **state)
{
    (void)state;
    reset_fake();
    fill_counter(&F.series[0], "{\"__name__\":\"req_total\"}", T0, 10);
    F.n_series = 1;
    F.fail_503 = 2;
    br_remote_options o;
    memset(&o, 0, sizeof(o));
    o.retries = 3;
    br_remote *r = new_remote(&o);
    br_err err;
    br_err_clear(&err);
    assert_int_equal(call_once(r, &err), 0);
    assert_int_equal(F.requests, 3);
    br_remote_free(r);
}

static void test_remote_503_after_retries_is_eio_with_status_and_message(void **state)
{
    (void)state;
    reset_fake();
    F.fail_503 = 100;
    br_remote_options o;
    memset(&o, 0, sizeof(o));
    o.retries = 2;
    br_remote *r = new_remote(&o);
    br_err err;
    br_err_clear(&err);
    assert_int_equal(call_once(r, &err), BR_EIO);
    assert_int_equal(F.requests, 3);
    assert_non_null(strstr(err.msg, "backend unavailable"));
    assert_non_null(strstr(err.msg, "/api/v1/query"));
    assert_non_null(strstr(err.msg, "HTTP 503"));
    assert_non_null(strstr(err.msg, "ingesters are restarting"));
    br_remote_stats st;
    br_remote_stats_get(r, &st);
    assert_int_equal(st.failures, 1);
    assert_int_equal(st.selectors, 0);
    br_remote_free(r);
}

static void test_remote_400_is_not_retried(void **state)
{
    (void)state;
    reset_fake();
    F.bad_request = true;
    br_remote_options o;
    memset(&o, 0, sizeof(o));
    br_remote *r = new_remote(&o);
    br_err err;
    br_err_clear(&err);
    assert_int_equal(call_once(r, &err), BR_EIO);
    assert_int_equal(F.requests, 1);
    assert_non_null(strstr(err.msg, "HTTP 400"));
    assert_non_null(strstr(err.msg, "parse error"));
    br_remote_free(r);
}

static void test_remote_garbage_answer_is_eio(void **state)
{
    (void)state;
    reset_fake();
    F.garbage = true;
    br_remote_options o;
    memset(&o, 0, sizeof(o));
    br_remote *r = new_remote(&o);
    br_err err;
    br_err_clear(&err);
    assert_int_equal(call_once(r, &err), BR_EIO);
    assert_non_null(strstr(err.msg, "not JSON"));
    br_remote_free(r);
}

static void test_remote_connection_refused_is_eio_after_retries(void **state)
{
    (void)state;
    br_remote_options o;
    memset(&o, 0, sizeof(o));
    o.url = "http://127.0.0.1:1";
    o.retries = 1;
    o.retry_backoff_ms = 1;
    br_err err;
    br_err_clear(&err);
    br_remote *r = br_remote_new(&o, &err);
    assert_non_null(r);
    assert_int_equal(call_once(r, &err), BR_EIO);
    assert_non_null(strstr(err.msg, "backend unavailable: POST http://127.0.0.1:1/api/v1/query"));
    br_remote_stats st;
    br_remote_stats_get(r, &st);
    assert_int_equal(st.requests, 2);
    br_remote_free(r);
}

static void test_remote_sends_tenant_and_bearer_headers(void **state)
{
    (void)state;
    reset_fake();
    br_remote_header hs[1] = {{"X-Scope-OrgID", "team-a"}};
    br_remote_options o;
    memset(&o, 0, sizeof(o));
    o.headers = hs;
    o.n_headers = 1;
    o.bearer_token = "s3cret";
    br_remote *r = new_remote(&o);
    br_err err;
    br_err_clear(&err);
    assert_int_equal(call_once(r, &err), 0);
    assert_string_equal(F.tenant, "team-a");
    assert_string_equal(F.auth, "Bearer s3cret");
    br_remote_free(r);
}

static void test_remote_rejects_bad_options(void **state)
{
    (void)state;
    br_remote_options o;
    memset(&o, 0, sizeof(o));
    o.url = "127.0.0.1:9090";
    br_err err;
    br_err_clear(&err);
    assert_null(br_remote_new(&o, &err));
    assert_int_equal(err.code, BR_EINVAL);
    assert_non_null(strstr(err.msg, "backend.url"));
    br_remote_header hs[1] = {{"X-Bad", "a\r\nInjected: 1"}};
    o.url = "http://127.0.0.1:9090";
    o.headers = hs;
    o.n_headers = 1;
    br_err_clear(&err);
    assert_null(br_remote_new(&o, &err));
    assert_non_null(strstr(err.msg, "backend.headers"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_remote_parse_rounds_timestamps_and_reads_special_values),
        cmocka_unit_test(test_remote_parse_error_answer_is_eio_with_message),
        cmocka_unit_test(test_remote_parse_rejects_vector_and_bad_values),
        cmocka_unit_test(test_remote_window_aggs_equal_local_head),
        cmocka_unit_test(test_remote_incremental_fetch_asks_only_new_range),
        cmocka_unit_test(test_remote_late_sample_in_overlap_is_reported),
        cmocka_unit_test(test_remote_changed_history_triggers_full_refetch),
        cmocka_unit_test(test_remote_refresh_refetches_everything),
        cmocka_unit_test(test_remote_retries_503_then_succeeds),
        cmocka_unit_test(test_remote_503_after_retries_is_eio_with_status_and_message),
        cmocka_unit_test(test_remote_400_is_not_retried),
        cmocka_unit_test(test_remote_garbage_answer_is_eio),
        cmocka_unit_test(test_remote_connection_refused_is_eio_after_retries),
        cmocka_unit_test(test_remote_sends_tenant_and_bearer_headers),
        cmocka_unit_test(test_remote_rejects_bad_options),
    };
    return cmocka_run_group_tests(tests, fake_setup, fake_teardown);
}
