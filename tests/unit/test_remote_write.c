/*
 * test_remote_write.c — POST /api/v1/write end to end over real HTTP into
 * a running burnrate: every status code the spec asks for, with crafted
 * payloads (valid v1 and v2, unknown media types, truncated snappy,
 * garbage protobuf, a 1-byte body, a 100 MB body, a decompression bomb,
 * 10k labels, invalid UTF-8, out-of-order and duplicate samples), the
 * tenant header, and that stored data survives a restart. Each case also
 * checks that nothing already stored was corrupted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "api/remote_write.h"
#include "api/remote_write_encode.h"
#include "engine/app.h"
#include "engine/core/clock.h"
#include "storage/head.h"
#include "tests/helpers/testutil.h"
#include "tests/unit/rw_testdata.h"

static char *dir;
static br_app *app;
static char write_url[128];
static int64_t t0;

static br_app *start_app(void)
{
    static char data_dir[512];
    snprintf(data_dir, sizeof(data_dir), "%s/data", dir);
    br_app_options opts;
    memset(&opts, 0, sizeof(opts));
    opts.config_file = NULL;
    opts.flags.listen = "127.0.0.1:0";
    opts.flags.data_dir = data_dir;
    opts.flags.log_level = "error";
    static char cfg_path[512];
    snprintf(cfg_path, sizeof(cfg_path), "%s/burnrate.yml", dir);
    free(tu_write_file(dir, "burnrate.yml",
                       "remote_write:\n  tenant_header: X-Scope-OrgID\n  tenant_label: tenant\n"
                       "limits:\n  max_labels_per_series: 100\n"));
    opts.config_file = cfg_path;
    br_err err;
    br_err_clear(&err);
    br_app *a = br_app_start(&opts, &err);
    if (a == NULL) {
        print_error("start: %s\n", err.msg);
        return NULL;
    }
    snprintf(write_url, sizeof(write_url), "http://127.0.0.1:%d/api/v1/write", br_app_port(a));
    return a;
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    dir = tu_mkdtemp("rw");
    t0 = (br_now_ms() / 1000 - 3600) * 1000;
    app = start_app();
    return app ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    br_app_stop(app);
    tu_rmtree(dir);
    free(dir);
    curl_global_cleanup();
    return 0;
}

static const char *const v1_headers[] = {"Content-Type: application/x-protobuf",
                                         "Content-Encoding: snappy",
                                         "X-Prometheus-Remote-Write-Version: 0.1.0", NULL};
static const char *const v2_headers[] = {
    "Content-Type: application/x-protobuf;proto=io.prometheus.write.v2.Request",
    "Content-Encoding: snappy", "X-Prometheus-Remote-Write-Version: 2.0.0", NULL};

/* Posts raw bytes with headers; returns the status. */
static long post(const void *body, size_t len, const char *const *headers, tu_http_result *r)
{
    assert_int_equal(tu_http("POST", write_url, body, len, headers, r), 0);
    return r->status;
}

static long post_series(int version, const br_rw_series *s, size_t n, const char *const *headers,
                        tu_http_result *r)
{
    br_buf body;
    br_buf_init(&body, 0);
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_rw_encode(version, s, n, &body, &err), 0);
    long status = post(body.data, body.len, headers, r);
    br_buf_free(&body);
    return status;
}

/* Number of samples stored for the series selected by name=value matchers. */
static size_t stored(const char *metric, const char *lname, const char *lvalue)
{
    br_head *h = br_app_head(app);
    br_matcher ms[2];
    br_err err;
    size_t nm = 1;
    assert_int_equal(br_matcher_init(&ms[0], BR_MATCH_EQ, "__name__", metric, &err), 0);
    if (lname != NULL) {
        assert_int_equal(br_matcher_init(&ms[1], BR_MATCH_EQ, lname, lvalue, &err), 0);
        nm = 2;
    }
    br_refs refs;
    br_refs_init(&refs);
    br_head_read_begin(h);
    assert_int_equal(br_head_select(h, ms, nm, &refs, &err), 0);
    size_t n = 0;
    for (size_t i = 0; i < refs.n; i++) {
        br_series_iter it;
        br_head_series_iter(h, refs.v[i], INT64_MIN, INT64_MAX, &it);
        while (br_series_iter_next(&it)) {
            n++;
        }
        br_series_iter_free(&it);
    }
    br_head_read_end(h);
    br_refs_free(&refs);
    for (size_t i = 0; i < nm; i++) {
        br_matcher_free(&ms[i]);
    }
    return n;
}

static void test_rw_v1_valid_request_is_204_and_stored(void **state)
{
    (void)state;
    br_arena a;
    br_arena_init(&a, 0, 0);
    const char *kv[] = {"__name__", "rw_ok_total", "job", "api"};
    br_rw_series s = rwt_series(&a, kv, 2, 20, t0, 1);
    tu_http_result r;
    assert_int_equal(post_series(1, &s, 1, v1_headers, &r), 204);
    assert_int_equal(r.len, 0);
    tu_http_free(&r);
    assert_int_equal(stored("rw_ok_total", NULL, NULL), 20);
    /* Resending the same samples (a sender retry) is accepted, not doubled. */
    assert_int_equal(post_series(1, &s, 1, v1_headers, &r), 204);
    tu_http_free(&r);
    assert_int_equal(stored("rw_ok_total", NULL, NULL), 20);
    br_arena_free(&a);
}

static void test_rw_v2_answers_with_written_headers(void **state)
{
    (void)state;
    br_arena a;
    br_arena_init(&a, 0, 0);
    const char *kv[] = {"__name__", "rw_v2_total", "job", "api"};
    br_rw_series s = rwt_series(&a, kv, 2, 7, t0, 1);
    tu_http_result r;
    assert_int_equal(post_series(2, &s, 1, v2_headers, &r), 204);
    assert_non_null(strstr(r.headers, "X-Prometheus-Remote-Write-Samples-Written: 7"));
    assert_non_null(strstr(r.headers, "X-Prometheus-Remote-Write-Histograms-Written: 0"));
    assert_non_null(strstr(r.headers, "X-Prometheus-Remote-Write-Exemplars-Written: 0"));
    tu_http_free(&r);
    assert_int_equal(stored("rw_v2_total", NULL, NULL), 7);
    br_arena_free(&a);
}

/* Back-pressure: while other bodies hold the in-flight budget a write is
 * answered 503 with Retry-After (Prometheus retries it; it would drop a
 * 429) and stores nothing; once capacity is free the same body is stored.
 * A request alone is admitted even when larger than the budget. */
static void test_rw_overload_is_503_with_retry_after_then_stored(void **state)
{
    (void)state;
    br_remote_write_api *rw = br_app_remote_write(app);
    const size_t budget = 256u * 1024 * 1024; /* limits.max_inflight_write_bytes default */
    assert_true(br_remote_write_admit(rw, budget - 10, budget)); /* others in flight */
    br_arena a;
    br_arena_init(&a, 0, 0);
    const char *kv[] = {"__name__", "rw_busy_total", "job", "api"};
    br_rw_series s = rwt_series(&a, kv, 2, 5, t0, 1);
    tu_http_result r;
    assert_int_equal(post_series(1, &s, 1, v1_headers, &r), 503);
    assert_non_null(strstr(r.headers, "Retry-After: 1"));
    assert_non_null(strstr(r.body, "max_inflight_write_bytes"));
    tu_http_free(&r);
    assert_int_equal(stored("rw_busy_total", NULL, NULL), 0);
    br_remote_write_release(rw, budget - 10);
    assert_int_equal(post_series(1, &s, 1, v1_headers, &r), 204);
    tu_http_free(&r);
    assert_int_equal(stored("rw_busy_total", NULL, NULL), 5);
    /* alone, a request bigger than the budget still gets in */
    assert_true(br_remote_write_admit(rw, budget * 2, budget));
    assert_false(br_remote_write_admit(rw, 1, budget));
    br_remote_write_release(rw, budget * 2);
    assert_true(br_remote_write_admit(rw, 1, budget));
    br_remote_write_release(rw, 1);
    br_arena_free(&a);
}

static void test_rw_unknown_media_type_is_415(void **state)
{
    (void)state;
    const char *const json[] = {"Content-Type: application/json", NULL};
    const char *const gzip[] = {"Content-Type: application/x-protobuf", "Content-Encoding: gzip",
                                NULL};
    const char *const proto[] = {"Content-Type: application/x-protobuf;proto=foo.Bar", NULL};
    tu_http_result r;
    assert_int_equal(post("x", 1, json, &r), 415);
    tu_http_free(&r);
    assert_int_equal(post("x", 1, gzip, &r), 415);
    tu_http_free(&r);
    assert_int_equal(post("x", 1, proto, &r), 415);
    assert_non_null(strstr(r.headers, "X-Prometheus-Remote-Write-Samples-Written") ? r.headers
                                                                                    : "no header");
    tu_http_free(&r);
}

static void test_rw_undecodable_bodies_are_400(void **state)
{
    (void)state;
    tu_http_result r;
    /* One byte. */
    assert_int_equal(post("\x01", 1, v1_headers, &r), 400);
    tu_http_free(&r);
    /* Truncated snappy: a valid body cut in half. */
    br_arena a;
    br_arena_init(&a, 0, 0);
    const char *kv[] = {"__name__", "rw_trunc_total"};
    br_rw_series s = rwt_series(&a, kv, 1, 50, t0, 1);
    br_buf body;
    br_buf_init(&body, 0);
    br_err err;
    assert_int_equal(br_rw_encode(1, &s, 1, &body, &err), 0);
    assert_int_equal(post(body.data, body.len / 2, v1_headers, &r), 400);
    assert_non_null(strstr(r.body, "snappy"));
    tu_http_free(&r);
    /* Garbage protobuf inside valid snappy. */
    br_buf garbage;
    br_buf_init(&garbage, 0);
    for (int i = 0; i < 64; i++) {
        br_buf_putc(&garbage, (char)(0xff - i));
    }
    br_buf packed;
    br_buf_init(&packed, 0);
    rwt_snappy(&garbage, &packed);
    assert_int_equal(post(packed.data, packed.len, v1_headers, &r), 400);
    tu_http_free(&r);
    assert_int_equal(stored("rw_trunc_total", NULL, NULL), 0);
    br_buf_free(&garbage);
    br_buf_free(&packed);
    br_buf_free(&body);
    br_arena_free(&a);
}

static void test_rw_oversized_bodies_are_413(void **state)
{
    (void)state;
    tu_http_result r;
    /* 100 MB of body: refused by the 32 MiB body cap before decoding. */
    size_t big = 100u * 1024 * 1024;
    char *huge = calloc(1, big);
    assert_non_null(huge);
    assert_int_equal(post(huge, big, v1_headers, &r), 413);
    tu_http_free(&r);
    free(huge);
    /* A few bytes that declare a 100 MB decompressed size. */
    unsigned char bomb[16];
    size_t n = 0;
    uint64_t declared = 100u * 1024 * 1024;
    while (declared >= 0x80) {
        bomb[n++] = (unsigned char)(declared | 0x80);
        declared >>= 7;
    }
    bomb[n++] = (unsigned char)declared;
    bomb[n++] = 0;
    assert_int_equal(post(bomb, n, v1_headers, &r), 413);
    tu_http_free(&r);
}

static void test_rw_bad_series_are_400_and_good_ones_stored(void **state)
{
    (void)state;
    br_arena a;
    br_arena_init(&a, 0, 0);
    const char *good_kv[] = {"__name__", "rw_mixed_total", "job", "good"};
    const char *utf8_kv[] = {"__name__", "rw_mixed_total", "job", "bad\xff\xfe"};
    br_rw_series s[3];
    s[0] = rwt_series(&a, good_kv, 2, 5, t0, 1);
    s[1] = rwt_series(&a, utf8_kv, 2, 5, t0, 1);
    /* 10k labels on one series. */
    enum { NL = 10000 };
    const char **many = br_arena_alloc(&a, sizeof(char *) * 2 * NL);
    many[0] = "__name__";
    many[1] = "rw_many_labels";
    for (int i = 1; i < NL; i++) {
        many[2 * i] = br_arena_printf(&a, "l%05d", i);
        many[2 * i + 1] = "v";
    }
    s[2] = rwt_series(&a, many, NL, 1, t0, 1);
    tu_http_result r;
    assert_int_equal(post_series(1, s, 3, v1_headers, &r), 400);
    assert_non_null(strstr(r.body, "invalid_utf8"));
    assert_non_null(strstr(r.body, "too_many_labels"));
    tu_http_free(&r);
    assert_int_equal(stored("rw_mixed_total", "job", "good"), 5);
    assert_int_equal(stored("rw_many_labels", NULL, NULL), 0);
    br_arena_free(&a);
}

static void test_rw_out_of_order_is_400_naming_the_series(void **state)
{
    (void)state;
    br_arena a;
    br_arena_init(&a, 0, 0);
    const char *kv[] = {"__name__", "rw_order_total", "job", "api"};
    br_rw_series s = rwt_series(&a, kv, 2, 10, t0 + 600000, 1);
    tu_http_result r;
    assert_int_equal(post_series(1, &s, 1, v1_headers, &r), 204);
    tu_http_free(&r);
    br_rw_series late = rwt_series(&a, kv, 2, 3, t0, 100);
    assert_int_equal(post_series(1, &late, 1, v1_headers, &r), 400);
    assert_non_null(strstr(r.body, "out_of_order=3"));
    assert_non_null(strstr(r.body, "rw_order_total"));
    tu_http_free(&r);
    /* Same timestamp, other value. */
    br_rw_series conflict = rwt_series(&a, kv, 2, 1, t0 + 600000, 42);
    assert_int_equal(post_series(1, &conflict, 1, v1_headers, &r), 400);
    assert_non_null(strstr(r.body, "duplicate_timestamp=1"));
    tu_http_free(&r);
    assert_int_equal(stored("rw_order_total", NULL, NULL), 10);
    br_arena_free(&a);
}

static void test_rw_tenant_header_adds_label(void **state)
{
    (void)state;
    br_arena a;
    br_arena_init(&a, 0, 0);
    const char *kv[] = {"__name__", "rw_tenant_total", "job", "api"};
    br_rw_series s = rwt_series(&a, kv, 2, 3, t0, 1);
    const char *const h1[] = {"Content-Type: application/x-protobuf", "X-Scope-OrgID: cluster-a",
                              NULL};
    const char *const h2[] = {"Content-Type: application/x-protobuf", "X-Scope-OrgID: cluster-b",
                              NULL};
    tu_http_result r;
    assert_int_equal(post_series(1, &s, 1, h1, &r), 204);
    tu_http_free(&r);
    assert_int_equal(post_series(1, &s, 1, h2, &r), 204);
    tu_http_free(&r);
    assert_int_equal(stored("rw_tenant_total", "tenant", "cluster-a"), 3);
    assert_int_equal(stored("rw_tenant_total", "tenant", "cluster-b"), 3);
    br_arena_free(&a);
}

static void test_rw_stale_marker_is_stored_bit_exact(void **state)
{
    (void)state;
    br_arena a;
    br_arena_init(&a, 0, 0);
    const char *kv[] = {"__name__", "rw_stale"};
    br_rw_series s = rwt_series(&a, kv, 1, 3, t0, 1);
    s.samples[2].v = br_stale_nan();
    tu_http_result r;
    assert_int_equal(post_series(1, &s, 1, v1_headers, &r), 204);
    tu_http_free(&r);
    br_head *h = br_app_head(app);
    br_matcher m;
    br_err err;
    assert_int_equal(br_matcher_init(&m, BR_MATCH_EQ, "__name__", "rw_stale", &err), 0);
    br_refs refs;
    br_refs_init(&refs);
    br_head_read_begin(h);
    assert_int_equal(br_head_select(h, &m, 1, &refs, &err), 0);
    assert_int_equal(refs.n, 1);
    br_series_iter it;
    br_head_series_iter(h, refs.v[0], INT64_MIN, INT64_MAX, &it);
    int n = 0;
    while (br_series_iter_next(&it)) {
        n++;
        if (n == 3) {
            assert_true(br_is_stale_nan(it.v));
        }
    }
    assert_int_equal(n, 3);
    br_series_iter_free(&it);
    br_head_read_end(h);
    br_refs_free(&refs);
    br_matcher_free(&m);
    br_arena_free(&a);
}

static void test_rw_data_survives_restart(void **state)
{
    (void)state;
    size_t before = stored("rw_ok_total", NULL, NULL);
    size_t before_tenant = stored("rw_tenant_total", "tenant", "cluster-b");
    assert_true(before > 0);
    br_app_stop(app);
    app = start_app();
    assert_non_null(app);
    assert_int_equal(stored("rw_ok_total", NULL, NULL), before);
    assert_int_equal(stored("rw_tenant_total", "tenant", "cluster-b"), before_tenant);
    /* The metrics say what happened. */
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", br_app_port(app));
    tu_http_result r;
    assert_int_equal(tu_http("GET", url, NULL, 0, NULL, &r), 0);
    assert_non_null(strstr(r.body, "burnrate_head_series "));
    assert_non_null(strstr(r.body, "burnrate_wal_replay_duration_seconds "));
    /* Stopped cleanly (a snapshot at shutdown): little WAL to replay. */
    const char *since = strstr(r.body, "\nburnrate_wal_since_snapshot_bytes ");
    assert_non_null(since);
    assert_true(atof(since + strlen("\nburnrate_wal_since_snapshot_bytes ")) < 4096);
    tu_http_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rw_v1_valid_request_is_204_and_stored),
        cmocka_unit_test(test_rw_v2_answers_with_written_headers),
        cmocka_unit_test(test_rw_unknown_media_type_is_415),
        cmocka_unit_test(test_rw_undecodable_bodies_are_400),
        cmocka_unit_test(test_rw_oversized_bodies_are_413),
        cmocka_unit_test(test_rw_bad_series_are_400_and_good_ones_stored),
        cmocka_unit_test(test_rw_out_of_order_is_400_naming_the_series),
        cmocka_unit_test(test_rw_tenant_header_adds_label),
        cmocka_unit_test(test_rw_stale_marker_is_stored_bit_exact),
        cmocka_unit_test(test_rw_overload_is_503_with_retry_after_then_stored),
        cmocka_unit_test(test_rw_data_survives_restart),
    };
    return cmocka_run_group_tests_name("remote_write", tests, setup, teardown);
}
