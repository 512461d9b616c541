/*
 * test_remote_write_encode.c — unit tests for api/remote_write_encode.c:
 * the wire fields of 1.0 and 2.0 bodies (checked by unpacking with the
 * generated protobuf-c code), the 2.0 symbols table, integer histogram
 * delta encoding, snappy framing, caps, and encode → decode round trips.
 */
/* cmocka needs these before it, in this order. */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "api/remote_write_decode.h"
#include "api/remote_write_encode.h"
#include "engine/core/alloc.h"
#include "engine/core/arena.h"
#include "engine/core/buf.h"
#include "remote_write_v1.pb-c.h"
#include "remote_write_v2.pb-c.h"
#include "rw_testdata.h"

#include <snappy-c.h>
#include <string.h>

typedef struct fx {
    br_arena build;
    br_arena out_arena;
    br_buf body;
    br_buf raw;
} fx;

static int fx_setup(void **state)
{
    fx *f = br_calloc(1, sizeof(*f));
    br_arena_init(&f->build, 0, 0);
    br_arena_init(&f->out_arena, 0, 0);
    br_buf_init(&f->body, 0);
    br_buf_init(&f->raw, 0);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;
    br_arena_free(&f->build);
    br_arena_free(&f->out_arena);
    br_buf_free(&f->body);
    br_buf_free(&f->raw);
    br_free(f);
    return 0;
}

/* The spec's example histogram: buckets -2→3, -1→5, 2→1, 4→3, 5→2. */
static br_histogram_sample spec_histogram(int64_t t)
{
    static const br_span spans[] = {{-2, 2}, {2, 1}, {1, 2}};
    static const double buckets[] = {3, 5, 1, 3, 2};
    br_histogram_sample hs;
    memset(&hs, 0, sizeof(hs));
    hs.t = t;
    hs.h.schema = 1;
    hs.h.count = 14;
    hs.h.sum = 12.5;
    hs.h.zero_threshold = 0.001;
    hs.h.n_pos_spans = 3;
    hs.h.pos_spans = spans;
    hs.h.n_pos = 5;
    hs.h.pos_buckets = buckets;
    hs.h.reset_hint = BR_HIST_RESET_NO;
    return hs;
}

static void test_rw_encode_v1_wire_fields(void **state)
{
    fx *f = *state;
    br_rw_series s = rwt_series(&f->build, (const char *[]){"__name__", "up", "job", "api"}, 2, 2,
                                1700000000000, 1.5);
    assert_int_equal(br_rw_encode_proto(1, &s, 1, &f->raw, NULL), 0);
    Prometheus__WriteRequest *req =
        prometheus__write_request__unpack(NULL, f->raw.len, (const uint8_t *)f->raw.data);
    assert_non_null(req);
    assert_int_equal(req->n_timeseries, 1);
    assert_int_equal(req->n_metadata, 0);
    const Prometheus__TimeSeries *ts = req->timeseries[0];
    assert_int_equal(ts->n_labels, 2);
    assert_int_equal(ts->labels[1]->name.len, 3);
    assert_memory_equal(ts->labels[1]->name.data, "job", 3);
    assert_memory_equal(ts->labels[1]->value.data, "api", 3);
    assert_int_equal(ts->n_samples, 2);
    assert_int_equal(ts->samples[1]->timestamp, 1700000015000);
    assert_true(ts->samples[1]->value == 2.5);
    prometheus__write_request__free_unpacked(req, NULL);
}

static void test_rw_encode_v2_symbols_table_dedups_strings(void **state)
{
    fx *f = *state;
    br_rw_series s[2];
    s[0] = rwt_series(&f->build, (const char *[]){"__name__", "up", "job", "api"}, 2, 1, 1000, 1);
    s[1] = rwt_series(&f->build, (const char *[]){"__name__", "up", "job", "web"}, 2, 1, 1000, 1);
    assert_int_equal(br_rw_encode_proto(2, s, 2, &f->raw, NULL), 0);
    Io__Prometheus__Write__V2__Request *req =
        io__prometheus__write__v2__request__unpack(NULL, f->raw.len, (const uint8_t *)f->raw.data);
    assert_non_null(req);
    /* "", "__name__", "up", "job", "api", "web": each once, "" first. */
    assert_int_equal(req->n_symbols, 6);
    assert_int_equal(req->symbols[0].len, 0);
    assert_memory_equal(req->symbols[1].data, "__name__", 8);
    assert_memory_equal(req->symbols[5].data, "web", 3);
    assert_int_equal(req->n_timeseries, 2);
    const Io__Prometheus__Write__V2__TimeSeries *ts = req->timeseries[1];
    assert_int_equal(ts->n_labels_refs, 4);
    assert_int_equal(ts->labels_refs[0], 1);
    assert_int_equal(ts->labels_refs[1], 2);
    assert_int_equal(ts->labels_refs[2], 3);
    assert_int_equal(ts->labels_refs[3], 5);
    io__prometheus__write__v2__request__free_unpacked(req, NULL);
}

static void test_rw_encode_v2_many_symbols_grow_table(void **state)
{
    fx *f = *state;
    enum { N = 3000 };
    br_rw_series *s = br_arena_alloc(&f->build, N * sizeof(br_rw_series));
    for (int i = 0; i < N; i++) {
        const char **kv = br_arena_alloc(&f->build, 4 * sizeof(char *));
        kv[0] = "__name__";
        kv[1] = "m";
        kv[2] = "id";
        kv[3] = br_arena_printf(&f->build, "%d", i);
        s[i] = rwt_series(&f->build, kv, 2, 1, 1000, i);
    }
    assert_int_equal(br_rw_encode_proto(2, s, N, &f->raw, NULL), 0);
    Io__Prometheus__Write__V2__Request *req =
        io__prometheus__write__v2__request__unpack(NULL, f->raw.len, (const uint8_t *)f->raw.data);
    assert_non_null(req);
    assert_int_equal(req->n_symbols, 4 + N);
    uint32_t ref = req->timeseries[N - 1]->labels_refs[3];
    assert_memory_equal(req->symbols[ref].data, "2999", 4);
    io__prometheus__write__v2__request__free_unpacked(req, NULL);
}

static void test_rw_encode_integer_histogram_writes_spec_deltas(void **state)
{
    fx *f = *state;
    br_rw_series s = rwt_series(&f->build, (const char *[]){"__name__", "h"}, 1, 0, 0, 0);
    br_histogram_sample hs = spec_histogram(5000);
    s.histograms = &hs;
    s.n_histograms = 1;
    assert_int_equal(br_rw_encode_proto(1, &s, 1, &f->raw, NULL), 0);
    Prometheus__WriteRequest *req =
        prometheus__write_request__unpack(NULL, f->raw.len, (const uint8_t *)f->raw.data);
    assert_non_null(req);
    const Prometheus__Histogram *h = req->timeseries[0]->histograms[0];
    assert_int_equal(h->count_case, PROMETHEUS__HISTOGRAM__COUNT_COUNT_INT);
    assert_int_equal(h->count_int, 14);
    assert_int_equal(h->n_positive_deltas, 5);
    const int64_t want[] = {3, 2, -4, 2, -1};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(h->positive_deltas[i], want[i]);
    }
    assert_int_equal(h->n_positive_spans, 3);
    assert_int_equal(h->positive_spans[0]->offset, -2);
    assert_int_equal(h->positive_spans[1]->offset, 2);
    assert_int_equal(h->positive_spans[2]->length, 2);
    assert_int_equal(h->n_positive_counts, 0);
    assert_int_equal(h->timestamp, 5000);
    prometheus__write_request__free_unpacked(req, NULL);
}

static void test_rw_encode_histograms_round_trip_both_versions(void **state)
{
    fx *f = *state;
    static const br_span fspans[] = {{0, 2}};
    static const double fcounts[] = {0.25, 4.5};
    br_histogram_sample hs[2];
    hs[0] = spec_histogram(1000);
    hs[1] = spec_histogram(2000);
    hs[1].h.is_float = true;
    hs[1].h.count = 4.75;
    hs[1].h.n_pos_spans = 1;
    hs[1].h.pos_spans = fspans;
    hs[1].h.n_pos = 2;
    hs[1].h.pos_buckets = fcounts;
    hs[1].h.reset_hint = BR_HIST_RESET_GAUGE;
    br_rw_series s = rwt_series(&f->build, (const char *[]){"__name__", "h"}, 1, 0, 0, 0);
    s.histograms = hs;
    s.n_histograms = 2;
    for (int version = 1; version <= 2; version++) {
        assert_int_equal(br_rw_encode(version, &s, 1, &f->body, NULL), 0);
        br_rw_request out;
        br_err err;
        br_err_clear(&err);
        int rc = br_rw_decode(f->body.data, f->body.len, br_rw_content_type(version), "snappy",
                              NULL, &f->out_arena, &out, &err);
        assert_int_equal(rc, 0);
        assert_int_equal(out.n_rejected_series, 0);
        assert_int_equal(out.n_series, 1);
        assert_int_equal(out.series[0].n_histograms, 2);
        const br_histogram *a = &out.series[0].histograms[0].h;
        assert_false(a->is_float);
        assert_int_equal(a->n_pos, 5);
        assert_true(a->pos_buckets[2] == 1.0 && a->pos_buckets[4] == 2.0);
        assert_true(a->zero_threshold == 0.001);
        const br_histogram *b = &out.series[0].histograms[1].h;
        assert_true(b->is_float);
        assert_true(b->count == 4.75);
        assert_true(b->pos_buckets[0] == 0.25 && b->pos_buckets[1] == 4.5);
        assert_int_equal(b->reset_hint, BR_HIST_RESET_GAUGE);
        assert_int_equal(out.series[0].histograms[1].t, 2000);
    }
}

static void test_rw_encode_body_is_snappy_block_of_proto(void **state)
{
    fx *f = *state;
    br_rw_series s = rwt_series(&f->build, (const char *[]){"__name__", "up"}, 1, 100, 1000, 0);
    assert_int_equal(br_rw_encode_proto(2, &s, 1, &f->raw, NULL), 0);
    assert_int_equal(br_rw_encode(2, &s, 1, &f->body, NULL), 0);
    assert_true(f->body.len < f->raw.len);
    size_t n = 0;
    assert_int_equal(snappy_uncompressed_length(f->body.data, f->body.len, &n), SNAPPY_OK);
    assert_int_equal(n, f->raw.len);
    char *plain = br_malloc(n);
    assert_int_equal(snappy_uncompress(f->body.data, f->body.len, plain, &n), SNAPPY_OK);
    assert_memory_equal(plain, f->raw.data, n);
    br_free(plain);
}

static void test_rw_encode_respects_buffer_cap(void **state)
{
    fx *f = *state;
    br_rw_series s = rwt_series(&f->build, (const char *[]){"__name__", "up"}, 1, 1000, 1000, 0);
    br_buf small;
    br_buf_init(&small, 256);
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_rw_encode(1, &s, 1, &small, &err), BR_ELIMIT);
    assert_non_null(strstr(err.msg, "cap"));
    assert_int_equal(br_rw_encode_proto(1, &s, 1, &small, &err), BR_ELIMIT);
    br_buf_free(&small);
}

static void test_rw_encode_rejects_unknown_version(void **state)
{
    fx *f = *state;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_rw_encode(3, NULL, 0, &f->body, &err), BR_EINVAL);
    assert_non_null(strstr(err.msg, "3"));
}

static void test_rw_encode_empty_request_decodes_to_nothing(void **state)
{
    fx *f = *state;
    for (int version = 1; version <= 2; version++) {
        assert_int_equal(br_rw_encode(version, NULL, 0, &f->body, NULL), 0);
        assert_true(f->body.len > 0); /* at least snappy's length header */
        br_rw_request out;
        assert_int_equal(br_rw_decode(f->body.data, f->body.len, br_rw_content_type(version), NULL,
                                      NULL, &f->out_arena, &out, NULL),
                         0);
        assert_int_equal(out.version, version);
        assert_int_equal(out.n_series_in_request, 0);
    }
}

static void test_rw_encode_content_types(void **state)
{
    (void)state;
    assert_int_equal(br_rw_parse_content_type(br_rw_content_type(1), NULL), 1);
    assert_int_equal(br_rw_parse_content_type(br_rw_content_type(2), NULL), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        T(test_rw_encode_v1_wire_fields),
        T(test_rw_encode_v2_symbols_table_dedups_strings),
        T(test_rw_encode_v2_many_symbols_grow_table),
        T(test_rw_encode_integer_histogram_writes_spec_deltas),
        T(test_rw_encode_histograms_round_trip_both_versions),
        T(test_rw_encode_body_is_snappy_block_of_proto),
        T(test_rw_encode_respects_buffer_cap),
        T(test_rw_encode_rejects_unknown_version),
        T(test_rw_encode_empty_request_decodes_to_nothing),
        T(test_rw_encode_content_types),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
