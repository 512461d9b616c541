/*
 * test_remote_write_decode.c — unit tests for api/remote_write_decode.c:
 * header negotiation, snappy and protobuf failure modes, request limits,
 * per-series label validation (1.0 and 2.0 rules), 2.0 symbol references,
 * native histogram delta resolution, stale markers and the tenant label.
 *
 * Bodies are built three ways: with br_rw_encode (which writes whatever it
 * is given, valid or not), with the protobuf-c generated structs (to set
 * raw deltas and bad symbol refs), and byte by byte (unpacked repeated
 * fields, deprecated field numbers, garbage).
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

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define V2_CT "application/x-protobuf;proto=io.prometheus.write.v2.Request"

typedef struct fx {
    br_arena arena; /* decode output */
    br_arena build; /* test inputs */
    br_buf body;    /* compressed request */
    br_buf raw;     /* uncompressed protobuf */
    br_rw_options opts;
    br_rw_request req;
    br_err err;
} fx;

static int fx_setup(void **state)
{
    fx *f = br_calloc(1, sizeof(*f));
    br_arena_init(&f->arena, 0, 256u * 1024 * 1024);
    br_arena_init(&f->build, 0, 0);
    br_buf_init(&f->body, 0);
    br_buf_init(&f->raw, 0);
    br_rw_options_init(&f->opts);
    br_err_clear(&f->err);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;
    br_arena_free(&f->arena);
    br_arena_free(&f->build);
    br_buf_free(&f->body);
    br_buf_free(&f->raw);
    br_free(f);
    return 0;
}

static int decode(fx *f, const char *ct)
{
    br_arena_free(&f->arena);
    br_arena_init(&f->arena, 0, f->arena.max_bytes);
    br_err_clear(&f->err);
    return br_rw_decode(f->body.data, f->body.len, ct, "snappy", &f->opts, &f->arena, &f->req,
                        &f->err);
}

/* Encodes series with the encoder, then decodes them. */
static int roundtrip(fx *f, int version, const br_rw_series *s, size_t n)
{
    assert_int_equal(br_rw_encode(version, s, n, &f->body, NULL), 0);
    return decode(f, version == 2 ? V2_CT : NULL);
}

/* Packs a generated message and snappy-compresses it into f->body. */
static void pack_msg(fx *f, const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    br_buf_reset(&f->raw);
    br_buf_reserve(&f->raw, n);
    f->raw.len = protobuf_c_message_pack(m, (uint8_t *)f->raw.data);
    rwt_snappy(&f->raw, &f->body);
}

static uint64_t bits_of(double v)
{
    uint64_t b;
    memcpy(&b, &v, 8);
    return b;
}

/* ------------------------------------------------------------------------ */
/* Headers                                                                  */
/* ------------------------------------------------------------------------ */

static void test_rw_content_type_variants_select_version(void **state)
{
    (void)state;
    static const struct {
        const char *ct;
        int want;
    } cases[] = {
        {NULL, 1},
        {"", 1},
        {"application/x-protobuf", 1},
        {"Application/X-Protobuf", 1},
        {"application/x-protobuf;proto=prometheus.WriteRequest", 1},
        {"application/x-protobuf; proto=prometheus.WriteRequest", 1},
        {"application/x-protobuf ; PROTO = \"prometheus.WriteRequest\"", 1},
        {"application/x-protobuf;proto=io.prometheus.write.v2.Request", 2},
        {"application/x-protobuf; proto=\"io.prometheus.write.v2.Request\"", 2},
        {"application/x-protobuf;charset=utf-8;proto=io.prometheus.write.v2.Request", 2},
        {"application/x-protobuf;proto=io.prometheus.write.v2.Request;", 2},
        {"application/json", BR_EUNSUPPORTED},
        {"application/x-protobuf;proto=io.prometheus.write.v3.Request", BR_EUNSUPPORTED},
        {"application/x-protobuf;proto=Prometheus.writerequest", BR_EUNSUPPORTED},
        {"application/x-protobuf;proto=\"prometheus.WriteRequest", BR_EUNSUPPORTED},
        {"application/x-protobufx", BR_EUNSUPPORTED},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        br_err err;
        br_err_clear(&err);
        int got = br_rw_parse_content_type(cases[i].ct, &err);
        if (got != cases[i].want) {
            print_error("Content-Type \"%s\": got %d want %d\n",
                        cases[i].ct ? cases[i].ct : "(null)", got, cases[i].want);
        }
        assert_int_equal(got, cases[i].want);
        if (got < 0) {
            assert_true(strlen(err.msg) > 0);
        }
    }
}

static void test_rw_decode_rejects_unknown_content_encoding(void **state)
{
    fx *f = *state;
    br_rw_series s = rwt_series(&f->build, (const char *[]){"__name__", "up"}, 1, 1, 1000, 1);
    assert_int_equal(br_rw_encode(1, &s, 1, &f->body, NULL), 0);
    int rc = br_rw_decode(f->body.data, f->body.len, NULL, "gzip", &f->opts, &f->arena, &f->req,
                          &f->err);
    assert_int_equal(rc, BR_EUNSUPPORTED);
    assert_non_null(strstr(f->err.msg, "gzip"));
    rc = br_rw_decode(f->body.data, f->body.len, NULL, " Snappy ", &f->opts, &f->arena, &f->req,
                      &f->err);
    assert_int_equal(rc, 0);
    rc = br_rw_decode(f->body.data, f->body.len, NULL, NULL, &f->opts, &f->arena, &f->req, &f->err);
    assert_int_equal(rc, 0);
    assert_int_equal(f->req.n_series, 1);
}

static void test_rw_decode_unsupported_content_type_is_eunsupported(void **state)
{
    fx *f = *state;
    br_rw_series s = rwt_series(&f->build, (const char *[]){"__name__", "up"}, 1, 1, 1000, 1);
    assert_int_equal(br_rw_encode(1, &s, 1, &f->body, NULL), 0);
    assert_int_equal(decode(f, "text/plain"), BR_EUNSUPPORTED);
    assert_non_null(strstr(f->err.msg, "text/plain"));
}

/* ------------------------------------------------------------------------ */
/* Snappy and protobuf failures                                             */
/* ------------------------------------------------------------------------ */

static void test_rw_decode_truncated_snappy_is_parse_error(void **state)
{
    fx *f = *state;
    br_rw_series s =
        rwt_series(&f->build, (const char *[]){"__name__", "up", "job", "x"}, 2, 50, 1000, 1);
    assert_int_equal(br_rw_encode(1, &s, 1, &f->body, NULL), 0);
    f->body.len /= 2;
    assert_int_equal(decode(f, NULL), BR_EPARSE);
    assert_non_null(strstr(f->err.msg, "snappy"));
}

static void test_rw_decode_garbage_protobuf_is_parse_error(void **state)
{
    fx *f = *state;
    /* Field 1, wire type 2, declared length 100, only 3 bytes follow. */
    static const unsigned char garbage[] = {0x0a, 0x64, 0x01, 0x02, 0x03};
    br_buf_reset(&f->raw);
    br_buf_append(&f->raw, garbage, sizeof(garbage));
    rwt_snappy(&f->raw, &f->body);
    assert_int_equal(decode(f, NULL), BR_EPARSE);
    assert_non_null(strstr(f->err.msg, "prometheus.WriteRequest"));
    assert_int_equal(decode(f, V2_CT), BR_EPARSE);
    assert_non_null(strstr(f->err.msg, "io.prometheus.write.v2.Request"));
}

static void test_rw_decode_one_byte_body_is_parse_error(void **state)
{
    fx *f = *state;
    br_buf_reset(&f->body);
    br_buf_putc(&f->body, (char)0xff);
    assert_int_equal(decode(f, NULL), BR_EPARSE);
    br_buf_reset(&f->body);
    assert_int_equal(decode(f, NULL), BR_EPARSE); /* empty body */
}

static void test_rw_decode_size_bomb_refused_before_allocating(void **state)
{
    fx *f = *state;
    /* A snappy header declaring 100 MB, then nothing. */
    br_buf_reset(&f->body);
    pbw_varint(&f->body, 100u * 1000 * 1000);
    br_buf_putc(&f->body, 0);
    assert_int_equal(decode(f, NULL), BR_ETOOLARGE);
    assert_non_null(strstr(f->err.msg, "100000000"));
    assert_int_equal(f->arena.used_bytes, 0);
}

static void test_rw_decode_arena_cap_gives_toolarge(void **state)
{
    fx *f = *state;
    br_rw_series s[50];
    for (int i = 0; i < 50; i++) {
        s[i] =
            rwt_series(&f->build, (const char *[]){"__name__", "up", "job", "x"}, 2, 100, 1000, i);
    }
    assert_int_equal(br_rw_encode(1, s, 50, &f->body, NULL), 0);
    br_arena_free(&f->arena);
    br_arena_init(&f->arena, 4096, 64 * 1024);
    br_err_clear(&f->err);
    int rc =
        br_rw_decode(f->body.data, f->body.len, NULL, NULL, &f->opts, &f->arena, &f->req, &f->err);
    assert_int_equal(rc, BR_ETOOLARGE);
    assert_non_null(strstr(f->err.msg, "memory"));
}

static void test_rw_decode_every_arena_cap_fails_cleanly(void **state)
{
    fx *f = *state;
    /* Sweep the arena cap across the whole decode, so the cap is hit in
     * snappy, inside protobuf-c's unpack and in the series building: each
     * run must either succeed or report BR_ETOOLARGE. */
    br_rw_series s[20];
    for (int i = 0; i < 20; i++) {
        s[i] =
            rwt_series(&f->build, (const char *[]){"__name__", "up", "job", "x"}, 2, 20, 1000, i);
    }
    for (int version = 1; version <= 2; version++) {
        assert_int_equal(br_rw_encode(version, s, 20, &f->body, NULL), 0);
        int ok = 0;
        int too_large = 0;
        for (size_t cap = 1024; cap < 160 * 1024; cap += 512) {
            br_arena_free(&f->arena);
            br_arena_init(&f->arena, 1024, cap);
            int rc = br_rw_decode(f->body.data, f->body.len, br_rw_content_type(version), NULL,
                                  &f->opts, &f->arena, &f->req, &f->err);
            if (rc == 0) {
                assert_int_equal(f->req.n_valid_samples, 400);
                ok++;
            } else {
                assert_int_equal(rc, BR_ETOOLARGE);
                too_large++;
            }
        }
        assert_true(ok > 0);
        assert_true(too_large > 0);
    }
}

/* ------------------------------------------------------------------------ */
/* Request limits                                                           */
/* ------------------------------------------------------------------------ */

static void test_rw_decode_too_many_series_refuses_request(void **state)
{
    fx *f = *state;
    br_rw_series s[3];
    for (int i = 0; i < 3; i++) {
        s[i] = rwt_series(&f->build, (const char *[]){"__name__", "up"}, 1, 1, 1000, i);
    }
    f->opts.max_series = 2;
    assert_int_equal(roundtrip(f, 1, s, 3), BR_ELIMIT);
    assert_non_null(strstr(f->err.msg, "3 series"));
}

static void test_rw_decode_too_many_samples_refuses_request(void **state)
{
    fx *f = *state;
    br_rw_series s = rwt_series(&f->build, (const char *[]){"__name__", "up"}, 1, 11, 1000, 0);
    f->opts.max_samples = 10;
    assert_int_equal(roundtrip(f, 2, &s, 1), BR_ELIMIT);
    assert_non_null(strstr(f->err.msg, "11 samples"));
    f->opts.max_samples = 11;
    assert_int_equal(roundtrip(f, 2, &s, 1), 0);
    assert_int_equal(f->req.n_valid_samples, 11);
}

/* ------------------------------------------------------------------------ */
/* Valid requests                                                           */
/* ------------------------------------------------------------------------ */

static void test_rw_decode_v1_valid_series_and_counts(void **state)
{
    fx *f = *state;
    br_rw_series s[2];
    s[0] = rwt_series(
        &f->build, (const char *[]){"__name__", "http_requests_total", "code", "200", "job", "api"},
        3, 4, 1700000000000, 10);
    s[1] = rwt_series(&f->build, (const char *[]){"__name__", "up", "job", "api"}, 2, 1,
                      1700000000000, 1);
    assert_int_equal(roundtrip(f, 1, s, 2), 0);
    assert_int_equal(f->req.version, 1);
    assert_int_equal(f->req.n_series, 2);
    assert_int_equal(f->req.n_series_in_request, 2);
    assert_int_equal(f->req.n_samples, 5);
    assert_int_equal(f->req.n_valid_samples, 5);
    assert_int_equal(f->req.n_rejected_series, 0);
    const br_rw_series *d = &f->req.series[0];
    assert_int_equal(d->n_labels, 3);
    assert_string_equal(d->labels[0].name, "__name__");
    assert_string_equal(d->labels[0].value, "http_requests_total");
    assert_string_equal(d->labels[1].name, "code");
    assert_string_equal(d->labels[2].value, "api");
    assert_int_equal(d->n_samples, 4);
    assert_int_equal(d->samples[3].t, 1700000000000 + 3 * 15000);
    assert_true(d->samples[3].v == 13.0);
}

static void test_rw_decode_metadata_only_request_has_no_series(void **state)
{
    fx *f = *state;
    Prometheus__MetricMetadata md = PROMETHEUS__METRIC_METADATA__INIT;
    md.type = PROMETHEUS__METRIC_METADATA__METRIC_TYPE__COUNTER;
    md.metric_family_name.data = (uint8_t *)"http_requests_total";
    md.metric_family_name.len = strlen("http_requests_total");
    md.help.data = (uint8_t *)"Requests.";
    md.help.len = 9;
    Prometheus__MetricMetadata *mds[2] = {&md, &md};
    Prometheus__WriteRequest req = PROMETHEUS__WRITE_REQUEST__INIT;
    req.n_metadata = 2;
    req.metadata = mds;
    pack_msg(f, &req.base);
    assert_int_equal(decode(f, NULL), 0);
    assert_int_equal(f->req.n_series, 0);
    assert_int_equal(f->req.n_metadata, 2);
    assert_int_equal(f->req.n_rejected_series, 0);
}

static void test_rw_decode_stale_nan_bits_preserved(void **state)
{
    fx *f = *state;
    br_rw_series s = rwt_series(&f->build, (const char *[]){"__name__", "up"}, 1, 3, 1000, 1);
    s.samples[1].v = br_stale_nan();
    uint64_t other_nan_bits = 0x7ff8000000000001ULL;
    memcpy(&s.samples[2].v, &other_nan_bits, 8);
    for (int version = 1; version <= 2; version++) {
        assert_int_equal(roundtrip(f, version, &s, 1), 0);
        assert_int_equal(f->req.n_series, 1);
        assert_true(br_is_stale_nan(f->req.series[0].samples[1].v));
        assert_int_equal(bits_of(f->req.series[0].samples[1].v), BR_STALE_NAN_BITS);
        assert_int_equal(bits_of(f->req.series[0].samples[2].v), other_nan_bits);
        assert_false(br_is_stale_nan(f->req.series[0].samples[2].v));
    }
}

static void test_rw_decode_series_without_samples_is_left_out(void **state)
{
    fx *f = *state;
    br_rw_series s[2];
    s[0] = rwt_series(&f->build, (const char *[]){"__name__", "a"}, 1, 0, 0, 0);
    s[1] = rwt_series(&f->build, (const char *[]){"__name__", "b"}, 1, 2, 1000, 0);
    assert_int_equal(roundtrip(f, 1, s, 2), 0);
    assert_int_equal(f->req.n_series_in_request, 2);
    assert_int_equal(f->req.n_series, 1);
    assert_string_equal(f->req.series[0].labels[0].value, "b");
    assert_int_equal(f->req.n_rejected_series, 0);
}

static void test_rw_decode_empty_label_value_is_dropped(void **state)
{
    fx *f = *state;
    br_rw_series s = rwt_series(
        &f->build, (const char *[]){"__name__", "up", "env", "", "job", "api"}, 3, 1, 1000, 1);
    assert_int_equal(roundtrip(f, 1, &s, 1), 0);
    assert_int_equal(f->req.n_series, 1);
    assert_int_equal(f->req.series[0].n_labels, 2);
    assert_null(rwt_label(&f->req.series[0], "env"));
    assert_string_equal(rwt_label(&f->req.series[0], "job"), "api");
    assert_int_equal(f->req.n_empty_labels_dropped, 1);
}

/* ------------------------------------------------------------------------ */
/* Per-series rejections                                                    */
/* ------------------------------------------------------------------------ */

/* Decodes [bad, good] and checks bad was rejected for `reason` while good
 * was kept. Returns the first message. */
static const char *expect_rejected(fx *f, int version, br_rw_series bad, br_rw_reason reason)
{
    br_rw_series s[2];
    s[0] = bad;
    s[1] = rwt_series(&f->build, (const char *[]){"__name__", "good", "job", "ok"}, 2, 2, 1000, 0);
    assert_int_equal(roundtrip(f, version, s, 2), 0);
    if (f->req.rejected[reason] != 1) {
        print_error("want one %s rejection; first message: %s\n", br_rw_reason_name(reason),
                    f->req.n_messages ? f->req.messages[0] : "(none)");
    }
    assert_int_equal(f->req.rejected[reason], 1);
    assert_int_equal(f->req.n_rejected_series, 1);
    assert_int_equal(f->req.n_rejected_samples, bad.n_samples);
    assert_int_equal(f->req.n_series, 1);
    assert_string_equal(rwt_label(&f->req.series[0], "__name__"), "good");
    assert_int_equal(f->req.n_messages, 1);
    assert_non_null(strstr(f->req.messages[0], br_rw_reason_name(reason)));
    return f->req.messages[0];
}

static void test_rw_decode_unsorted_labels_rejected(void **state)
{
    fx *f = *state;
    br_rw_series bad = rwt_series(
        &f->build, (const char *[]){"__name__", "up", "job", "a", "instance", "b"}, 3, 1, 1000, 1);
    const char *msg = expect_rejected(f, 1, bad, BR_RW_UNSORTED_LABELS);
    assert_non_null(strstr(msg, "{__name__=\"up\", job=\"a\", instance=\"b\"}"));
    assert_non_null(strstr(msg, "instance"));
}

static void test_rw_decode_duplicate_label_rejected(void **state)
{
    fx *f = *state;
    br_rw_series bad = rwt_series(
        &f->build, (const char *[]){"__name__", "up", "job", "a", "job", "b"}, 3, 1, 1000, 1);
    const char *msg = expect_rejected(f, 2, bad, BR_RW_DUPLICATE_LABEL);
    assert_non_null(strstr(msg, "\"job\" appears more than once"));
}

static void test_rw_decode_missing_metric_name_rejected(void **state)
{
    fx *f = *state;
    br_rw_series bad = rwt_series(&f->build, (const char *[]){"job", "a"}, 1, 3, 1000, 1);
    const char *msg = expect_rejected(f, 1, bad, BR_RW_MISSING_METRIC_NAME);
    assert_non_null(strstr(msg, "{job=\"a\"}"));
}

static void test_rw_decode_v1_invalid_label_name_rejected(void **state)
{
    fx *f = *state;
    br_rw_series bad =
        rwt_series(&f->build, (const char *[]){"__name__", "up", "job-name", "a"}, 2, 1, 1000, 1);
    const char *msg = expect_rejected(f, 1, bad, BR_RW_INVALID_LABEL_NAME);
    assert_non_null(strstr(msg, "job-name"));
}

static void test_rw_decode_v1_invalid_metric_name_rejected(void **state)
{
    fx *f = *state;
    br_rw_series bad =
        rwt_series(&f->build, (const char *[]){"__name__", "http.requests"}, 1, 1, 1000, 1);
    expect_rejected(f, 1, bad, BR_RW_INVALID_METRIC_NAME);
    br_rw_series ok =
        rwt_series(&f->build, (const char *[]){"__name__", "job:rate5m:sum"}, 1, 1, 1000, 1);
    assert_int_equal(roundtrip(f, 1, &ok, 1), 0);
    assert_int_equal(f->req.n_series, 1);
}

static void test_rw_decode_v2_accepts_utf8_names(void **state)
{
    fx *f = *state;
    br_rw_series s = rwt_series(
        &f->build, (const char *[]){"__name__", "http.requests.total", "dienst.name", "zähler"}, 2,
        1, 1000, 1);
    assert_int_equal(roundtrip(f, 2, &s, 1), 0);
    assert_int_equal(f->req.n_series, 1);
    assert_string_equal(rwt_label(&f->req.series[0], "dienst.name"), "zähler");
    /* The same series under the 1.0 rules is rejected. */
    assert_int_equal(roundtrip(f, 1, &s, 1), 0);
    assert_int_equal(f->req.rejected[BR_RW_INVALID_METRIC_NAME], 1);
}

static void test_rw_decode_invalid_utf8_value_rejected(void **state)
{
    fx *f = *state;
    br_rw_series bad = rwt_series(&f->build, (const char *[]){"__name__", "up", "job", "a\xff\xfe"},
                                  2, 1, 1000, 1);
    const char *msg = expect_rejected(f, 1, bad, BR_RW_INVALID_UTF8);
    assert_non_null(strstr(msg, "a\\xff\\xfe")); /* escaped in the message */
    /* Overlong encoding and a lone surrogate are invalid too. */
    br_rw_series bad2 =
        rwt_series(&f->build, (const char *[]){"__name__", "up", "job", "\xc0\xaf"}, 2, 1, 1000, 1);
    expect_rejected(f, 2, bad2, BR_RW_INVALID_UTF8);
    br_rw_series bad3 = rwt_series(
        &f->build, (const char *[]){"__name__", "up", "job", "\xed\xa0\x80"}, 2, 1, 1000, 1);
    expect_rejected(f, 2, bad3, BR_RW_INVALID_UTF8);
}

static void test_rw_decode_nul_byte_in_value_rejected(void **state)
{
    fx *f = *state;
    Prometheus__Label l0 = PROMETHEUS__LABEL__INIT;
    l0.name = (ProtobufCBinaryData){8, (uint8_t *)"__name__"};
    l0.value = (ProtobufCBinaryData){2, (uint8_t *)"up"};
    Prometheus__Label l1 = PROMETHEUS__LABEL__INIT;
    l1.name = (ProtobufCBinaryData){3, (uint8_t *)"job"};
    l1.value = (ProtobufCBinaryData){3, (uint8_t *)"a\0b"};
    Prometheus__Label *labels[] = {&l0, &l1};
    Prometheus__Sample smp = PROMETHEUS__SAMPLE__INIT;
    Prometheus__Sample *smps[] = {&smp};
    Prometheus__TimeSeries ts = PROMETHEUS__TIME_SERIES__INIT;
    ts.n_labels = 2;
    ts.labels = labels;
    ts.n_samples = 1;
    ts.samples = smps;
    Prometheus__TimeSeries *tss[] = {&ts};
    Prometheus__WriteRequest req = PROMETHEUS__WRITE_REQUEST__INIT;
    req.n_timeseries = 1;
    req.timeseries = tss;
    pack_msg(f, &req.base);
    assert_int_equal(decode(f, NULL), 0);
    assert_int_equal(f->req.rejected[BR_RW_INVALID_LABEL_VALUE], 1);
    assert_non_null(strstr(f->req.messages[0], "NUL"));
}

static void test_rw_decode_ten_thousand_labels_rejected(void **state)
{
    fx *f = *state;
    enum { N = 10000 };
    const char **kv = br_arena_alloc(&f->build, 2 * N * sizeof(char *));
    kv[0] = "__name__";
    kv[1] = "up";
    for (int i = 1; i < N; i++) {
        kv[2 * i] = br_arena_printf(&f->build, "l%05d", i);
        kv[2 * i + 1] = "v";
    }
    br_rw_series bad = rwt_series(&f->build, kv, N, 1, 1000, 1);
    const char *msg = expect_rejected(f, 1, bad, BR_RW_TOO_MANY_LABELS);
    assert_non_null(strstr(msg, "10000 labels"));
    assert_true(strlen(msg) < 400);
    /* With no limit the same series is valid. */
    f->opts.max_labels_per_series = 0;
    assert_int_equal(roundtrip(f, 2, &bad, 1), 0);
    assert_int_equal(f->req.n_series, 1);
    assert_int_equal(f->req.series[0].n_labels, N);
}

static void test_rw_decode_long_name_and_value_rejected(void **state)
{
    fx *f = *state;
    f->opts.max_label_name_len = 8;
    f->opts.max_label_value_len = 5;
    br_rw_series bad = rwt_series(
        &f->build, (const char *[]){"__name__", "up", "a_very_long_name", "x"}, 2, 1, 1000, 1);
    expect_rejected(f, 1, bad, BR_RW_LABEL_NAME_TOO_LONG);
    br_rw_series bad2 =
        rwt_series(&f->build, (const char *[]){"__name__", "up", "job", "123456"}, 2, 1, 1000, 1);
    expect_rejected(f, 1, bad2, BR_RW_LABEL_VALUE_TOO_LONG);
}

static void test_rw_decode_messages_capped_but_counts_complete(void **state)
{
    fx *f = *state;
    enum { N = 25 };
    br_rw_series s[N];
    for (int i = 0; i < N; i++) {
        s[i] = rwt_series(&f->build, (const char *[]){"job", "x"}, 1, 2, 1000, 0);
    }
    assert_int_equal(roundtrip(f, 1, s, N), 0);
    assert_int_equal(f->req.n_rejected_series, N);
    assert_int_equal(f->req.rejected[BR_RW_MISSING_METRIC_NAME], N);
    assert_int_equal(f->req.n_rejected_samples, 2 * N);
    assert_int_equal(f->req.n_messages, BR_RW_MAX_MESSAGES);
    br_buf text;
    br_buf_init(&text, 0);
    assert_int_equal(br_rw_describe_rejections(&f->req, &text), 0);
    assert_non_null(strstr(text.data, "rejected 25 of 25 series (50 samples, 0 histograms)"));
    assert_non_null(strstr(text.data, "25 missing_metric_name"));
    assert_non_null(strstr(text.data, "and 15 more"));
    br_buf_free(&text);
}

/* ------------------------------------------------------------------------ */
/* Tenant label                                                             */
/* ------------------------------------------------------------------------ */

static void test_rw_decode_tenant_label_inserted_sorted(void **state)
{
    fx *f = *state;
    f->opts.extra_label_name = "tenant";
    f->opts.extra_label_value = "team-a";
    br_rw_series s[3];
    s[0] = rwt_series(&f->build, (const char *[]){"__name__", "up", "job", "x", "zone", "z"}, 3, 1,
                      1000, 1);
    s[1] =
        rwt_series(&f->build, (const char *[]){"__name__", "up", "tenant", "evil"}, 2, 1, 1000, 1);
    s[2] = rwt_series(&f->build, (const char *[]){"__name__", "up"}, 1, 1, 1000, 1);
    assert_int_equal(roundtrip(f, 1, s, 3), 0);
    assert_int_equal(f->req.n_series, 3);
    const br_rw_series *d = &f->req.series[0];
    assert_int_equal(d->n_labels, 4);
    assert_string_equal(d->labels[2].name, "tenant");
    assert_string_equal(d->labels[2].value, "team-a");
    assert_string_equal(d->labels[3].name, "zone");
    d = &f->req.series[1];
    assert_int_equal(d->n_labels, 2);
    assert_string_equal(d->labels[1].name, "tenant");
    assert_string_equal(d->labels[1].value, "team-a");
    d = &f->req.series[2];
    assert_int_equal(d->n_labels, 2);
    assert_string_equal(d->labels[1].value, "team-a");
}

static void test_rw_decode_invalid_tenant_label_is_einval(void **state)
{
    fx *f = *state;
    br_rw_series s = rwt_series(&f->build, (const char *[]){"__name__", "up"}, 1, 1, 1000, 1);
    f->opts.extra_label_name = "tenant";
    f->opts.extra_label_value = "";
    assert_int_equal(roundtrip(f, 1, &s, 1), BR_EINVAL);
    f->opts.extra_label_name = "bad-name";
    f->opts.extra_label_value = "a";
    assert_int_equal(roundtrip(f, 1, &s, 1), BR_EINVAL);
}

/* ------------------------------------------------------------------------ */
/* Remote write 2.0 symbols                                                 */
/* ------------------------------------------------------------------------ */

/* Builds a 2.0 request with one series using `refs` over the symbols
 * "", "__name__", "up", "job", "a", plus one sample. */
static void v2_with_refs(fx *f, uint32_t *refs, size_t n_refs, bool with_hist)
{
    static ProtobufCBinaryData syms[5];
    const char *text[5] = {"", "__name__", "up", "job", "a"};
    for (int i = 0; i < 5; i++) {
        syms[i].data = (uint8_t *)text[i];
        syms[i].len = strlen(text[i]);
    }
    static Io__Prometheus__Write__V2__Sample smp;
    smp = (Io__Prometheus__Write__V2__Sample)IO__PROMETHEUS__WRITE__V2__SAMPLE__INIT;
    smp.timestamp = 1000;
    smp.value = 2;
    static Io__Prometheus__Write__V2__Sample *smps[1];
    smps[0] = &smp;
    static Io__Prometheus__Write__V2__Histogram h;
    h = (Io__Prometheus__Write__V2__Histogram)IO__PROMETHEUS__WRITE__V2__HISTOGRAM__INIT;
    h.timestamp = 1000;
    static Io__Prometheus__Write__V2__Histogram *hs[1];
    hs[0] = &h;
    static Io__Prometheus__Write__V2__TimeSeries ts;
    ts = (Io__Prometheus__Write__V2__TimeSeries)IO__PROMETHEUS__WRITE__V2__TIME_SERIES__INIT;
    ts.labels_refs = refs;
    ts.n_labels_refs = n_refs;
    ts.samples = smps;
    ts.n_samples = 1;
    if (with_hist) {
        ts.histograms = hs;
        ts.n_histograms = 1;
    }
    Io__Prometheus__Write__V2__TimeSeries *tss[1] = {&ts};
    Io__Prometheus__Write__V2__Request req = IO__PROMETHEUS__WRITE__V2__REQUEST__INIT;
    req.symbols = syms;
    req.n_symbols = 5;
    req.timeseries = tss;
    req.n_timeseries = 1;
    pack_msg(f, &req.base);
}

static void test_rw_decode_v2_valid_refs(void **state)
{
    fx *f = *state;
    uint32_t refs[] = {1, 2, 3, 4};
    v2_with_refs(f, refs, 4, false);
    assert_int_equal(decode(f, V2_CT), 0);
    assert_int_equal(f->req.version, 2);
    assert_int_equal(f->req.n_series, 1);
    assert_string_equal(rwt_label(&f->req.series[0], "__name__"), "up");
    assert_string_equal(rwt_label(&f->req.series[0], "job"), "a");
}

static void test_rw_decode_v2_out_of_range_ref_rejected(void **state)
{
    fx *f = *state;
    uint32_t refs[] = {1, 2, 3, 99};
    v2_with_refs(f, refs, 4, false);
    assert_int_equal(decode(f, V2_CT), 0);
    assert_int_equal(f->req.n_series, 0);
    assert_int_equal(f->req.rejected[BR_RW_BAD_SYMBOL_REF], 1);
    assert_non_null(strstr(f->req.messages[0], "labels_refs[3] = 99"));
    assert_non_null(strstr(f->req.messages[0], "{__name__=\"up\"}"));
}

static void test_rw_decode_v2_odd_refs_rejected(void **state)
{
    fx *f = *state;
    uint32_t refs[] = {1, 2, 3};
    v2_with_refs(f, refs, 3, false);
    assert_int_equal(decode(f, V2_CT), 0);
    assert_int_equal(f->req.rejected[BR_RW_BAD_SYMBOL_REF], 1);
    assert_non_null(strstr(f->req.messages[0], "odd length 3"));
}

static void test_rw_decode_v2_mixed_samples_and_histograms_rejected(void **state)
{
    fx *f = *state;
    uint32_t refs[] = {1, 2};
    v2_with_refs(f, refs, 2, true);
    assert_int_equal(decode(f, V2_CT), 0);
    assert_int_equal(f->req.rejected[BR_RW_MIXED_SAMPLES_HISTOGRAMS], 1);
    assert_int_equal(f->req.n_rejected_samples, 1);
    assert_int_equal(f->req.n_rejected_histograms, 1);
}

static void test_rw_decode_v2_first_symbol_must_be_empty(void **state)
{
    fx *f = *state;
    br_buf_reset(&f->raw);
    pbw_str(&f->raw, 4, "__name__");
    pbw_str(&f->raw, 4, "up");
    rwt_snappy(&f->raw, &f->body);
    assert_int_equal(decode(f, V2_CT), BR_EPARSE);
    assert_non_null(strstr(f->err.msg, "symbols[0]"));
}

static void test_rw_decode_v2_unpacked_refs_and_created_timestamp_accepted(void **state)
{
    fx *f = *state;
    br_buf ts;
    br_buf smp;
    br_buf_init(&ts, 0);
    br_buf_init(&smp, 0);
    pbw_double(&smp, 1, 7.5);
    pbw_uint(&smp, 2, 1234);
    /* labels_refs written unpacked: one varint field per element. */
    pbw_uint(&ts, 1, 1);
    pbw_uint(&ts, 1, 2);
    pbw_bytes(&ts, 2, smp.data, smp.len);
    pbw_uint(&ts, 6, 1000); /* deprecated created_timestamp */
    pbw_uint(&ts, 99, 5);   /* an unknown field */
    br_buf_reset(&f->raw);
    pbw_str(&f->raw, 4, "");
    pbw_str(&f->raw, 4, "__name__");
    pbw_str(&f->raw, 4, "up");
    pbw_bytes(&f->raw, 5, ts.data, ts.len);
    rwt_snappy(&f->raw, &f->body);
    assert_int_equal(decode(f, V2_CT), 0);
    assert_int_equal(f->req.n_series, 1);
    assert_string_equal(f->req.series[0].labels[0].value, "up");
    assert_int_equal(f->req.series[0].samples[0].t, 1234);
    assert_true(f->req.series[0].samples[0].v == 7.5);
    br_buf_free(&ts);
    br_buf_free(&smp);
}

static void test_rw_decode_v1_body_sent_as_v2_has_no_series(void **state)
{
    fx *f = *state;
    br_rw_series s = rwt_series(&f->build, (const char *[]){"__name__", "up"}, 1, 1, 1000, 1);
    assert_int_equal(br_rw_encode(1, &s, 1, &f->body, NULL), 0);
    assert_int_equal(decode(f, V2_CT), 0);
    assert_int_equal(f->req.n_series_in_request, 0);
    assert_int_equal(f->req.n_series, 0);
}

/* ------------------------------------------------------------------------ */
/* Native histograms                                                        */
/* ------------------------------------------------------------------------ */

/* Decodes one v1 series holding histogram h (labels __name__="h"). */
static int decode_v1_hist(fx *f, Prometheus__Histogram *h)
{
    static Prometheus__Label l0;
    l0 = (Prometheus__Label)PROMETHEUS__LABEL__INIT;
    l0.name = (ProtobufCBinaryData){8, (uint8_t *)"__name__"};
    l0.value = (ProtobufCBinaryData){1, (uint8_t *)"h"};
    Prometheus__Label *labels[] = {&l0};
    Prometheus__Histogram *hs[] = {h};
    Prometheus__TimeSeries ts = PROMETHEUS__TIME_SERIES__INIT;
    ts.n_labels = 1;
    ts.labels = labels;
    ts.n_histograms = 1;
    ts.histograms = hs;
    Prometheus__TimeSeries *tss[] = {&ts};
    Prometheus__WriteRequest req = PROMETHEUS__WRITE_REQUEST__INIT;
    req.n_timeseries = 1;
    req.timeseries = tss;
    pack_msg(f, &req.base);
    return decode(f, NULL);
}

static void test_rw_decode_integer_histogram_resolves_spec_example(void **state)
{
    fx *f = *state;
    /* Spec: buckets -2→3, -1→5, 2→1, 4→3, 5→2 ⇔ deltas [3,2,-4,2,-1],
     * spans [[-2,2],[2,1],[1,2]]. */
    Prometheus__BucketSpan sp[3] = {PROMETHEUS__BUCKET_SPAN__INIT, PROMETHEUS__BUCKET_SPAN__INIT,
                                    PROMETHEUS__BUCKET_SPAN__INIT};
    sp[0].offset = -2;
    sp[0].length = 2;
    sp[1].offset = 2;
    sp[1].length = 1;
    sp[2].offset = 1;
    sp[2].length = 2;
    Prometheus__BucketSpan *spans[] = {&sp[0], &sp[1], &sp[2]};
    int64_t deltas[] = {3, 2, -4, 2, -1};
    Prometheus__Histogram h = PROMETHEUS__HISTOGRAM__INIT;
    h.count_case = PROMETHEUS__HISTOGRAM__COUNT_COUNT_INT;
    h.count_int = 3 + 5 + 1 + 3 + 2 + 4;
    h.zero_count_case = PROMETHEUS__HISTOGRAM__ZERO_COUNT_ZERO_COUNT_INT;
    h.zero_count_int = 4;
    h.zero_threshold = 1e-128;
    h.sum = 42.5;
    h.schema = 3;
    h.n_positive_spans = 3;
    h.positive_spans = spans;
    h.n_positive_deltas = 5;
    h.positive_deltas = deltas;
    h.reset_hint = PROMETHEUS__HISTOGRAM__RESET_HINT__NO;
    h.timestamp = 5000;
    assert_int_equal(decode_v1_hist(f, &h), 0);
    assert_int_equal(f->req.n_rejected_series, 0);
    assert_int_equal(f->req.n_series, 1);
    assert_int_equal(f->req.n_valid_histograms, 1);
    const br_histogram_sample *hs = &f->req.series[0].histograms[0];
    assert_int_equal(hs->t, 5000);
    assert_false(hs->h.is_float);
    assert_int_equal(hs->h.schema, 3);
    assert_int_equal(hs->h.reset_hint, BR_HIST_RESET_NO);
    assert_true(hs->h.count == 18.0);
    assert_true(hs->h.zero_count == 4.0);
    assert_true(hs->h.sum == 42.5);
    assert_int_equal(hs->h.n_pos, 5);
    const double want[] = {3, 5, 1, 3, 2};
    for (int i = 0; i < 5; i++) {
        assert_true(hs->h.pos_buckets[i] == want[i]);
    }
    assert_int_equal(hs->h.n_pos_spans, 3);
    assert_int_equal(hs->h.pos_spans[0].offset, -2);
    assert_int_equal(hs->h.pos_spans[2].length, 2);
    assert_int_equal(hs->h.n_neg, 0);
}

static void test_rw_decode_negative_running_count_invalidates_histogram(void **state)
{
    fx *f = *state;
    Prometheus__BucketSpan sp = PROMETHEUS__BUCKET_SPAN__INIT;
    sp.offset = 0;
    sp.length = 3;
    Prometheus__BucketSpan *spans[] = {&sp};
    int64_t deltas[] = {2, -1, -2};
    Prometheus__Histogram h = PROMETHEUS__HISTOGRAM__INIT;
    h.count_case = PROMETHEUS__HISTOGRAM__COUNT_COUNT_INT;
    h.count_int = 3;
    h.n_positive_spans = 1;
    h.positive_spans = spans;
    h.n_positive_deltas = 3;
    h.positive_deltas = deltas;
    assert_int_equal(decode_v1_hist(f, &h), 0);
    assert_int_equal(f->req.n_series, 0);
    assert_int_equal(f->req.rejected[BR_RW_INVALID_HISTOGRAM], 1);
    assert_int_equal(f->req.n_rejected_histograms, 1);
    assert_non_null(strstr(f->req.messages[0], "negative"));
}

static void test_rw_decode_histogram_span_mismatch_and_count_mismatch_rejected(void **state)
{
    fx *f = *state;
    Prometheus__BucketSpan sp = PROMETHEUS__BUCKET_SPAN__INIT;
    sp.length = 4; /* but only 3 deltas */
    Prometheus__BucketSpan *spans[] = {&sp};
    int64_t deltas[] = {1, 0, 0}; /* absolute counts 1, 1, 1 */
    Prometheus__Histogram h = PROMETHEUS__HISTOGRAM__INIT;
    h.count_case = PROMETHEUS__HISTOGRAM__COUNT_COUNT_INT;
    h.count_int = 3;
    h.n_positive_spans = 1;
    h.positive_spans = spans;
    h.n_positive_deltas = 3;
    h.positive_deltas = deltas;
    assert_int_equal(decode_v1_hist(f, &h), 0);
    assert_int_equal(f->req.rejected[BR_RW_INVALID_HISTOGRAM], 1);
    assert_non_null(strstr(f->req.messages[0], "span lengths"));
    sp.length = 3;
    h.count_int = 7; /* buckets hold 3 */
    assert_int_equal(decode_v1_hist(f, &h), 0);
    assert_int_equal(f->req.rejected[BR_RW_INVALID_HISTOGRAM], 1);
    assert_non_null(strstr(f->req.messages[0], "count does not match"));
    h.count_int = 3;
    assert_int_equal(decode_v1_hist(f, &h), 0);
    assert_int_equal(f->req.n_series, 1);
}

static void test_rw_decode_float_histogram_keeps_counts(void **state)
{
    fx *f = *state;
    Prometheus__BucketSpan sp[2] = {PROMETHEUS__BUCKET_SPAN__INIT, PROMETHEUS__BUCKET_SPAN__INIT};
    sp[0].offset = 1;
    sp[0].length = 2;
    sp[1].offset = 0;
    sp[1].length = 1;
    Prometheus__BucketSpan *spans[] = {&sp[0], &sp[1]};
    double counts[] = {0.5, 2.25, 1.0};
    double neg_counts[] = {3.5};
    Prometheus__BucketSpan nsp = PROMETHEUS__BUCKET_SPAN__INIT;
    nsp.offset = -1;
    nsp.length = 1;
    Prometheus__BucketSpan *nspans[] = {&nsp};
    Prometheus__Histogram h = PROMETHEUS__HISTOGRAM__INIT;
    h.count_case = PROMETHEUS__HISTOGRAM__COUNT_COUNT_FLOAT;
    h.count_float = 8.25;
    h.zero_count_case = PROMETHEUS__HISTOGRAM__ZERO_COUNT_ZERO_COUNT_FLOAT;
    h.zero_count_float = 1.0;
    h.sum = -3.0;
    h.schema = 0;
    h.n_positive_spans = 2;
    h.positive_spans = spans;
    h.n_positive_counts = 3;
    h.positive_counts = counts;
    h.n_negative_spans = 1;
    h.negative_spans = nspans;
    h.n_negative_counts = 1;
    h.negative_counts = neg_counts;
    h.reset_hint = PROMETHEUS__HISTOGRAM__RESET_HINT__GAUGE;
    assert_int_equal(decode_v1_hist(f, &h), 0);
    assert_int_equal(f->req.n_series, 1);
    const br_histogram *d = &f->req.series[0].histograms[0].h;
    assert_true(d->is_float);
    assert_true(d->count == 8.25);
    assert_true(d->zero_count == 1.0);
    assert_int_equal(d->reset_hint, BR_HIST_RESET_GAUGE);
    assert_int_equal(d->n_pos, 3);
    assert_true(d->pos_buckets[1] == 2.25);
    assert_int_equal(d->n_neg, 1);
    assert_true(d->neg_buckets[0] == 3.5);
    assert_int_equal(d->neg_spans[0].offset, -1);
    /* A negative float count is invalid. */
    counts[1] = -1;
    assert_int_equal(decode_v1_hist(f, &h), 0);
    assert_int_equal(f->req.rejected[BR_RW_INVALID_HISTOGRAM], 1);
}

static void test_rw_decode_custom_bucket_histogram(void **state)
{
    fx *f = *state;
    Prometheus__BucketSpan sp = PROMETHEUS__BUCKET_SPAN__INIT;
    sp.offset = 0;
    sp.length = 4; /* three bounds + the +Inf overflow bucket */
    Prometheus__BucketSpan *spans[] = {&sp};
    double bounds[] = {0.1, 0.5, 1.0};
    int64_t deltas[] = {1, 1, 0, -2};
    Prometheus__Histogram h = PROMETHEUS__HISTOGRAM__INIT;
    h.count_case = PROMETHEUS__HISTOGRAM__COUNT_COUNT_INT;
    h.count_int = 1 + 2 + 2 + 0;
    h.schema = -53;
    h.sum = 2.0;
    h.n_positive_spans = 1;
    h.positive_spans = spans;
    h.n_positive_deltas = 4;
    h.positive_deltas = deltas;
    h.n_custom_values = 3;
    h.custom_values = bounds;
    assert_int_equal(decode_v1_hist(f, &h), 0);
    assert_int_equal(f->req.n_series, 1);
    const br_histogram *d = &f->req.series[0].histograms[0].h;
    assert_int_equal(d->n_custom, 3);
    assert_true(d->custom_values[2] == 1.0);
    assert_true(d->pos_buckets[2] == 2.0);
    /* Bounds out of order are invalid. */
    bounds[1] = 0.05;
    assert_int_equal(decode_v1_hist(f, &h), 0);
    assert_int_equal(f->req.rejected[BR_RW_INVALID_HISTOGRAM], 1);
    assert_non_null(strstr(f->req.messages[0], "strictly increasing"));
}

static void test_rw_decode_stale_histogram_passes_through(void **state)
{
    fx *f = *state;
    Prometheus__Histogram h = PROMETHEUS__HISTOGRAM__INIT;
    h.sum = br_stale_nan();
    h.schema = 99; /* ignored on a stale marker */
    h.count_case = PROMETHEUS__HISTOGRAM__COUNT_COUNT_INT;
    h.count_int = 12;
    assert_int_equal(decode_v1_hist(f, &h), 0);
    assert_int_equal(f->req.n_series, 1);
    assert_int_equal(bits_of(f->req.series[0].histograms[0].h.sum), BR_STALE_NAN_BITS);
}

static void test_rw_decode_bad_schema_rejected(void **state)
{
    fx *f = *state;
    Prometheus__Histogram h = PROMETHEUS__HISTOGRAM__INIT;
    h.schema = 9;
    assert_int_equal(decode_v1_hist(f, &h), 0);
    assert_int_equal(f->req.rejected[BR_RW_INVALID_HISTOGRAM], 1);
    assert_non_null(strstr(f->req.messages[0], "schema"));
}

/* ------------------------------------------------------------------------ */
/* Throughput (printed, never asserted)                                     */
/* ------------------------------------------------------------------------ */

static void test_rw_decode_2000_sample_request_figures(void **state)
{
    fx *f = *state;
    /* 200 series x 10 samples, labels like the load generator's. */
    enum { NS = 200, PER = 10 };
    br_rw_series s[NS];
    for (int i = 0; i < NS; i++) {
        const char **kv = br_arena_alloc(&f->build, 10 * sizeof(char *));
        kv[0] = "__name__";
        kv[1] = "http_requests_total";
        kv[2] = "code";
        kv[3] = (i % 7 == 0) ? "500" : "200";
        kv[4] = "handler";
        kv[5] = br_arena_printf(&f->build, "/api/v1/endpoint%d", i % 20);
        kv[6] = "method";
        kv[7] = "GET";
        kv[8] = "service";
        kv[9] = br_arena_printf(&f->build, "svc-%d", i / 20);
        s[i] = rwt_series(&f->build, kv, 5, PER, 1700000000000, i * 100.0);
    }
    for (int version = 1; version <= 2; version++) {
        assert_int_equal(br_rw_encode(version, s, NS, &f->body, NULL), 0);
        const int iters = 50;
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (int it = 0; it < iters; it++) {
            assert_int_equal(decode(f, version == 2 ? V2_CT : NULL), 0);
            assert_int_equal(f->req.n_valid_samples, NS * PER);
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        double sec = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
        printf("# remote-write v%d decode: %zu-byte body, %.0f samples/s (this build's flags)\n",
               version, f->body.len, (double)(NS * PER * iters) / sec);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        cmocka_unit_test(test_rw_content_type_variants_select_version),
        T(test_rw_decode_rejects_unknown_content_encoding),
        T(test_rw_decode_unsupported_content_type_is_eunsupported),
        T(test_rw_decode_truncated_snappy_is_parse_error),
        T(test_rw_decode_garbage_protobuf_is_parse_error),
        T(test_rw_decode_one_byte_body_is_parse_error),
        T(test_rw_decode_size_bomb_refused_before_allocating),
        T(test_rw_decode_arena_cap_gives_toolarge),
        T(test_rw_decode_every_arena_cap_fails_cleanly),
        T(test_rw_decode_too_many_series_refuses_request),
        T(test_rw_decode_too_many_samples_refuses_request),
        T(test_rw_decode_v1_valid_series_and_counts),
        T(test_rw_decode_metadata_only_request_has_no_series),
        T(test_rw_decode_stale_nan_bits_preserved),
        T(test_rw_decode_series_without_samples_is_left_out),
        T(test_rw_decode_empty_label_value_is_dropped),
        T(test_rw_decode_unsorted_labels_rejected),
        T(test_rw_decode_duplicate_label_rejected),
        T(test_rw_decode_missing_metric_name_rejected),
        T(test_rw_decode_v1_invalid_label_name_rejected),
        T(test_rw_decode_v1_invalid_metric_name_rejected),
        T(test_rw_decode_v2_accepts_utf8_names),
        T(test_rw_decode_invalid_utf8_value_rejected),
        T(test_rw_decode_nul_byte_in_value_rejected),
        T(test_rw_decode_ten_thousand_labels_rejected),
        T(test_rw_decode_long_name_and_value_rejected),
        T(test_rw_decode_messages_capped_but_counts_complete),
        T(test_rw_decode_tenant_label_inserted_sorted),
        T(test_rw_decode_invalid_tenant_label_is_einval),
        T(test_rw_decode_v2_valid_refs),
        T(test_rw_decode_v2_out_of_range_ref_rejected),
        T(test_rw_decode_v2_odd_refs_rejected),
        T(test_rw_decode_v2_mixed_samples_and_histograms_rejected),
        T(test_rw_decode_v2_first_symbol_must_be_empty),
        T(test_rw_decode_v2_unpacked_refs_and_created_timestamp_accepted),
        T(test_rw_decode_v1_body_sent_as_v2_has_no_series),
        T(test_rw_decode_integer_histogram_resolves_spec_example),
        T(test_rw_decode_negative_running_count_invalidates_histogram),
        T(test_rw_decode_histogram_span_mismatch_and_count_mismatch_rejected),
        T(test_rw_decode_float_histogram_keeps_counts),
        T(test_rw_decode_custom_bucket_histogram),
        T(test_rw_decode_stale_histogram_passes_through),
        T(test_rw_decode_bad_schema_rejected),
        T(test_rw_decode_2000_sample_request_figures),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
