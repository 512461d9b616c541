/*
 * test_rw_pb.c — the hand-written remote-write 1.0 and 2.0 wire decoders in
 * api/remote_write_decode.c against the protobuf-c reference path
 * (br_rw_options.reference_decoder), plus the wire rules they must keep.
 *
 * The equivalence tests generate bodies from a fixed-seed PRNG with the
 * protobuf byte writer of rw_testdata.h, on purpose in every encoding the
 * wire format allows: fields out of order, unknown fields at every level,
 * repeated singular fields, both members of a oneof, packed and unpacked
 * repeated scalars split into several runs, long varints. Mutated copies
 * (flipped, inserted, deleted bytes, truncation) add garbage. Each body is
 * decoded both ways under random limits and tenant options, and the two
 * results must be identical: return code, every counter, every rejection
 * message, labels, sample bits and histograms. On an error the codes must
 * match and the new message must start with the reference's text (it may
 * add where in the body the problem is). RWPB_DEBUG=1 in the environment
 * prints both messages of every failed or differing decode.
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
#include "engine/core/alloc.h"
#include "engine/core/arena.h"
#include "engine/core/buf.h"
#include "rw_testdata.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* PRNG and body generator                                                  */
/* ------------------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s)
{
    /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned rn(uint64_t *s, unsigned n)
{
    return (unsigned)(rng_next(s) % n);
}

static bool chance(uint64_t *s, unsigned pct)
{
    return rn(s, 100) < pct;
}

/* A varint written with extra 0x80 padding bytes (still at most 10). */
static void put_long_varint(br_buf *b, uint64_t v, unsigned extra)
{
    unsigned char tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (unsigned char)((v & 0x7f) | 0x80);
        v >>= 7;
    } while (v && n < 10);
    while (extra-- > 0 && n < 10) {
        tmp[n++] = 0x80;
    }
    tmp[n - 1] &= 0x7f;
    br_buf_append(b, tmp, n);
}

static void put_sub(br_buf *b, unsigned field, const br_buf *sub)
{
    pbw_bytes(b, field, sub->data ? sub->data : "", sub->len);
}

/* An unknown field of a random wire type. */
static void put_unknown(uint64_t *s, br_buf *b)
{
    unsigned field = 20 + rn(s, 2000);
    switch (rn(s, 4)) {
    case 0:
        pbw_uint(b, field, rng_next(s));
        break;
    case 1:
        pbw_double(b, field, 1.5);
        break;
    case 2:
        pbw_str(b, field, "junk");
        break;
    default:
        pbw_tag(b, field, 5);
        br_buf_append(b, "\x01\x02\x03\x04", 4);
        break;
    }
}

static const char *const names[] = {"__name__", "a",   "b",        "code", "job", "le",
                                    "zz",       "b-c", "\xff\xfe", "",     "x\0y"};
static const size_t name_lens[] = {8, 1, 1, 4, 3, 2, 2, 3, 2, 0, 3};
static const char *const values[] = {
    "up",  "200", "api", "", "z\xc3\xa4hler", "\xc3\x28", "n\0l", "http_requests_total",
    "1:x", "0.5"};
static const size_t value_lens[] = {2, 3, 3, 0, 7, 2, 3, 19, 3, 3};

static void gen_label(uint64_t *s, br_buf *ts, br_buf *tmp, size_t ni, size_t vi)
{
    br_buf_reset(tmp);
    bool value_first = chance(s, 15);
    if (chance(s, 5)) {
        pbw_bytes(tmp, 1, "dup", 3); /* overwritten by the later name */
    }
    if (value_first) {
        pbw_bytes(tmp, 2, values[vi], value_lens[vi]);
    }
    if (chance(s, 10)) {
        put_unknown(s, tmp);
    }
    pbw_bytes(tmp, 1, names[ni], name_lens[ni]);
    if (!value_first) {
        pbw_bytes(tmp, 2, values[vi], value_lens[vi]);
    }
    put_sub(ts, 1, tmp);
}

static void gen_labels(uint64_t *s, br_buf *ts, br_buf *tmp)
{
    size_t n = rn(s, 6);
    if (chance(s, 75)) {
        /* Mostly valid: __name__ then sorted plain names. */
        static const size_t sorted[] = {0, 1, 2, 3, 4, 6};
        gen_label(s, ts, tmp, 0, chance(s, 90) ? 7 : rn(s, 10));
        size_t at = 1;
        for (size_t i = 0; i < n && at < 6; i++) {
            at += rn(s, 2);
            if (at >= 6) {
                break;
            }
            gen_label(s, ts, tmp, sorted[at], chance(s, 80) ? rn(s, 3) : rn(s, 10));
            at++;
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        gen_label(s, ts, tmp, rn(s, 11), rn(s, 10));
    }
}

static double gen_value(uint64_t *s)
{
    switch (rn(s, 8)) {
    case 0: {
        uint64_t stale = 0x7ff0000000000002ull;
        double v;
        memcpy(&v, &stale, 8);
        return v;
    }
    case 1:
        return NAN;
    case 2:
        return -INFINITY;
    case 3: {
        uint64_t bits = rng_next(s);
        double v;
        memcpy(&v, &bits, 8);
        return v;
    }
    default:
        return (double)rn(s, 1000) / 4.0;
    }
}

static void gen_sample(uint64_t *s, br_buf *ts, br_buf *tmp, bool v2)
{
    br_buf_reset(tmp);
    int64_t t = (int64_t)rn(s, 1u << 30) * (chance(s, 10) ? -1 : 1);
    double v = gen_value(s);
    bool swap = chance(s, 15);
    if (!swap) {
        pbw_double(tmp, 1, v);
    }
    if (chance(s, 10)) {
        put_unknown(s, tmp);
    }
    if (chance(s, 10)) {
        pbw_tag(tmp, 2, 0);
        put_long_varint(tmp, (uint64_t)t, rn(s, 4));
    } else if (t != 0 || chance(s, 50)) {
        pbw_uint(tmp, 2, (uint64_t)t);
    }
    if (swap) {
        pbw_double(tmp, 1, v);
    }
    if (v2 && chance(s, 20)) {
        pbw_uint(tmp, 3, rn(s, 1000)); /* start_timestamp */
    }
    put_sub(ts, 2, tmp);
}

static void gen_exemplar(uint64_t *s, br_buf *ts, br_buf *tmp, br_buf *tmp2)
{
    br_buf_reset(tmp);
    for (unsigned i = rn(s, 3); i > 0; i--) {
        br_buf_reset(tmp2);
        pbw_str(tmp2, 1, "trace_id");
        pbw_str(tmp2, 2, "abc");
        put_sub(tmp, 1, tmp2);
    }
    pbw_double(tmp, 2, 1.25);
    pbw_uint(tmp, 3, rn(s, 100000));
    put_sub(ts, 3, tmp);
}

static uint64_t zz64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* Repeated sint64 field: split into runs, each packed or unpacked. */
static void put_deltas(uint64_t *s, br_buf *h, unsigned field, const int64_t *d, size_t n,
                       br_buf *tmp)
{
    size_t i = 0;
    while (i < n) {
        size_t run = 1 + rn(s, (unsigned)(n - i));
        if (chance(s, 60)) {
            br_buf_reset(tmp);
            for (size_t k = 0; k < run; k++) {
                pbw_varint(tmp, zz64(d[i + k]));
            }
            put_sub(h, field, tmp);
        } else {
            for (size_t k = 0; k < run; k++) {
                pbw_uint(h, field, zz64(d[i + k]));
            }
        }
        i += run;
    }
}

static void put_doubles(uint64_t *s, br_buf *h, unsigned field, const double *d, size_t n,
                        br_buf *tmp)
{
    size_t i = 0;
    while (i < n) {
        size_t run = 1 + rn(s, (unsigned)(n - i));
        if (chance(s, 60)) {
            br_buf_reset(tmp);
            br_buf_append(tmp, d + i, run * 8);
            put_sub(h, field, tmp);
        } else {
            for (size_t k = 0; k < run; k++) {
                pbw_double(h, field, d[i + k]);
            }
        }
        i += run;
    }
}

static void put_span(br_buf *h, unsigned field, int32_t offset, uint32_t length, br_buf *tmp)
{
    br_buf_reset(tmp);
    pbw_uint(tmp, 1, ((uint32_t)offset << 1) ^ (uint32_t)(offset >> 31));
    pbw_uint(tmp, 2, length);
    put_sub(h, field, tmp);
}

static void gen_hist(uint64_t *s, br_buf *ts, br_buf *h, br_buf *tmp, bool v2)
{
    br_buf_reset(h);
    bool is_float = chance(s, 40);
    static const int32_t schemas[] = {0, 3, -4, 8, -53, 9, -5};
    int32_t schema = schemas[rn(s, 7)];
    pbw_uint(h, 4, ((uint32_t)schema << 1) ^ (uint32_t)(schema >> 31));
    pbw_double(h, 5, chance(s, 90) ? 0.001 : -1.0);
    size_t nb = rn(s, 5);
    int64_t deltas[8];
    double counts[8];
    uint64_t total = 0;
    int64_t running = 0;
    for (size_t i = 0; i < nb; i++) {
        deltas[i] = (int64_t)rn(s, 7) - (chance(s, 10) ? 9 : 2);
        running += deltas[i];
        total += running > 0 ? (uint64_t)running : 0;
        counts[i] = (double)rn(s, 50) - (chance(s, 5) ? 60 : 0);
    }
    uint64_t zero = rn(s, 3);
    if (schema == -53 && chance(s, 80)) {
        zero = 0;
    }
    if (nb > 0) {
        uint32_t first = (uint32_t)(chance(s, 80) ? nb : 1);
        put_span(h, 11, schema == -53 ? 0 : (int32_t)rn(s, 5) - 2, first, tmp);
        if (first < nb) {
            put_span(h, 11, chance(s, 85) ? 1 : -1, (uint32_t)(nb - first), tmp);
        }
        if (is_float) {
            put_doubles(s, h, 13, counts, nb, tmp);
        } else {
            put_deltas(s, h, 12, deltas, nb, tmp);
        }
    }
    if (chance(s, 20) && schema != -53) {
        int64_t nd[2] = {1, 1};
        double nc[2] = {2, 0};
        put_span(h, 8, -3, 2, tmp);
        if (is_float) {
            put_doubles(s, h, 10, nc, 2, tmp);
        } else {
            put_deltas(s, h, 9, nd, 2, tmp);
            total += 3;
        }
    }
    if (schema == -53 || chance(s, 5)) {
        double cv[6] = {0.1, 0.5, 1, 2.5, 5, 10};
        if (chance(s, 10)) {
            cv[2] = 0.05;
        }
        put_doubles(s, h, 16, cv, 1 + rn(s, 6), tmp);
    }
    if (is_float) {
        if (chance(s, 10)) {
            pbw_uint(h, 1, 7); /* the later count_float wins */
        }
        pbw_double(h, 2, (double)rn(s, 100));
        pbw_double(h, 7, (double)zero);
    } else {
        if (chance(s, 10)) {
            pbw_double(h, 2, 3.0); /* the later count_int wins */
        }
        pbw_uint(h, 1, total + zero + (chance(s, 10) ? 1 : 0));
        pbw_uint(h, 6, zero);
    }
    pbw_double(h, 3, chance(s, 10) ? gen_value(s) : 12.5);
    if (chance(s, 50)) {
        pbw_uint(h, 14, rn(s, 5));
    }
    if (chance(s, 10)) {
        put_unknown(s, h);
    }
    pbw_uint(h, 15, rn(s, 1u << 30));
    if (v2 && chance(s, 20)) {
        pbw_uint(h, 17, rn(s, 1000)); /* start_timestamp */
    }
    put_sub(ts, v2 ? 3 : 4, h);
}

static void gen_metadata(uint64_t *s, br_buf *b, br_buf *tmp)
{
    br_buf_reset(tmp);
    pbw_uint(tmp, 1, rn(s, 8));
    pbw_str(tmp, 2, "http_requests_total");
    pbw_str(tmp, 4, "Requests.");
    if (chance(s, 30)) {
        pbw_str(tmp, 5, "seconds");
    }
    put_sub(b, 3, tmp);
}

typedef struct gen {
    br_buf raw;
    br_buf body;
    br_buf ts;
    br_buf t1;
    br_buf t2;
    br_buf t3;
} gen;

static void gen_init(gen *g)
{
    br_buf_init(&g->raw, 0);
    br_buf_init(&g->body, 0);
    br_buf_init(&g->ts, 0);
    br_buf_init(&g->t1, 0);
    br_buf_init(&g->t2, 0);
    br_buf_init(&g->t3, 0);
}

static void gen_free(gen *g)
{
    br_buf_free(&g->raw);
    br_buf_free(&g->body);
    br_buf_free(&g->ts);
    br_buf_free(&g->t1);
    br_buf_free(&g->t2);
    br_buf_free(&g->t3);
}

/* A random well-formed WriteRequest in g->raw. */
static void gen_request(uint64_t *s, gen *g)
{
    br_buf_reset(&g->raw);
    size_t n_series = rn(s, 7);
    for (size_t i = 0; i < n_series; i++) {
        br_buf_reset(&g->ts);
        /* Labels usually first; sometimes after the samples (then the last
         * label value can be the last bytes of the body). */
        bool labels_last = chance(s, 15);
        if (!labels_last) {
            gen_labels(s, &g->ts, &g->t1);
        }
        size_t ns = rn(s, 5);
        size_t nh = chance(s, 25) ? 1 + rn(s, 2) : 0;
        for (size_t k = 0; k < ns; k++) {
            gen_sample(s, &g->ts, &g->t1, false);
        }
        for (size_t k = 0; k < nh; k++) {
            gen_hist(s, &g->ts, &g->t2, &g->t1, false);
        }
        if (chance(s, 15)) {
            gen_exemplar(s, &g->ts, &g->t1, &g->t2);
        }
        if (chance(s, 10)) {
            put_unknown(s, &g->ts);
        }
        if (labels_last) {
            gen_labels(s, &g->ts, &g->t1);
        }
        put_sub(&g->raw, 1, &g->ts);
        if (chance(s, 5)) {
            gen_metadata(s, &g->raw, &g->t1);
        }
        if (chance(s, 5)) {
            pbw_str(&g->raw, 2, "cortex-source"); /* reserved field 2 */
        }
    }
}

/* 2.0: a symbol table of names and values from the pools above. */
#define V2_NAMES 11
#define V2_SYMS  (1 + V2_NAMES + 10)

static void put_sym(br_buf *b, size_t i, bool bad_first)
{
    if (i == 0) {
        pbw_bytes(b, 4, bad_first ? "x" : "", bad_first ? 1 : 0);
    } else if (i <= V2_NAMES) {
        pbw_bytes(b, 4, names[i - 1], name_lens[i - 1]);
    } else {
        pbw_bytes(b, 4, values[i - 1 - V2_NAMES], value_lens[i - 1 - V2_NAMES]);
    }
}

/* Repeated uint32 refs, split into packed and unpacked runs. */
static void put_refs(uint64_t *s, br_buf *b, unsigned field, const uint32_t *r, size_t n,
                     br_buf *tmp)
{
    size_t i = 0;
    while (i < n) {
        size_t run = 1 + rn(s, (unsigned)(n - i));
        if (chance(s, 70)) {
            br_buf_reset(tmp);
            for (size_t k = 0; k < run; k++) {
                pbw_varint(tmp, r[i + k]);
            }
            put_sub(b, field, tmp);
        } else {
            for (size_t k = 0; k < run; k++) {
                pbw_uint(b, field, r[i + k]);
            }
        }
        i += run;
    }
}

static uint32_t sym_name(size_t pool_index)
{
    return (uint32_t)(1 + pool_index);
}

static uint32_t sym_value(size_t pool_index)
{
    return (uint32_t)(1 + V2_NAMES + pool_index);
}

static void gen_v2_series(uint64_t *s, gen *g)
{
    br_buf_reset(&g->ts);
    uint32_t refs[16];
    size_t n = 0;
    if (chance(s, 75)) {
        static const size_t sorted[] = {0, 1, 2, 3, 4, 6};
        refs[n++] = sym_name(0);
        refs[n++] = sym_value(chance(s, 90) ? 7 : rn(s, 10));
        for (size_t at = 1 + rn(s, 2); at < 6 && n < 12; at += 1 + rn(s, 2)) {
            refs[n++] = sym_name(sorted[at]);
            refs[n++] = sym_value(chance(s, 80) ? rn(s, 3) : rn(s, 10));
        }
    } else {
        for (size_t k = rn(s, 6); k > 0; k--) {
            refs[n++] = rn(s, V2_SYMS);
            refs[n++] = rn(s, V2_SYMS);
        }
    }
    if (chance(s, 5)) {
        refs[n++] = chance(s, 50) ? 3 : 1000; /* odd length or out of range */
    }
    put_refs(s, &g->ts, 1, refs, n, &g->t1);
    bool hist = chance(s, 25);
    size_t ns = hist && chance(s, 80) ? 0 : rn(s, 5);
    for (size_t k = 0; k < ns; k++) {
        gen_sample(s, &g->ts, &g->t1, true);
    }
    for (size_t k = hist ? 1 + rn(s, 2) : 0; k > 0; k--) {
        gen_hist(s, &g->ts, &g->t2, &g->t1, true);
    }
    if (chance(s, 15)) {
        br_buf_reset(&g->t2);
        uint32_t er[3] = {sym_name(1), sym_value(2), chance(s, 90) ? 0 : 999};
        put_refs(s, &g->t2, 1, er, chance(s, 80) ? 2 : 3, &g->t1);
        pbw_double(&g->t2, 2, 0.5);
        pbw_uint(&g->t2, 3, 123);
        put_sub(&g->ts, 4, &g->t2);
    }
    for (size_t k = chance(s, 20) ? 1 + rn(s, 2) : 0; k > 0; k--) {
        br_buf_reset(&g->t2);
        pbw_uint(&g->t2, 1, rn(s, 8));
        if (chance(s, 70)) {
            pbw_uint(&g->t2, 3, chance(s, 85) ? sym_value(7) : 500);
        }
        if (chance(s, 50)) {
            pbw_uint(&g->t2, 4, chance(s, 85) ? sym_value(1) : 0);
        }
        put_sub(&g->ts, 5, &g->t2);
    }
    if (chance(s, 15)) {
        pbw_uint(&g->ts, 6, rn(s, 100000)); /* created_timestamp */
    }
    if (chance(s, 10)) {
        put_unknown(s, &g->ts);
    }
    put_sub(&g->raw, 5, &g->ts);
}

/* A random well-formed io.prometheus.write.v2.Request in g->raw; symbols
 * before, after or between the series. */
static void gen_request_v2(uint64_t *s, gen *g)
{
    br_buf_reset(&g->raw);
    size_t n_series = rn(s, 6);
    bool bad_first = chance(s, 3);
    bool no_syms = chance(s, 3);
    size_t sym_at = no_syms ? V2_SYMS : 0;
    size_t split = rn(s, (unsigned)n_series + 1);
    for (size_t i = 0; i < n_series; i++) {
        if (i == split) {
            for (size_t k = rn(s, 2) ? V2_SYMS : V2_SYMS / 2; sym_at < k; sym_at++) {
                put_sym(&g->raw, sym_at, bad_first);
            }
        }
        gen_v2_series(s, g);
        if (chance(s, 5)) {
            pbw_str(&g->raw, 2, "reserved");
        }
    }
    for (; sym_at < V2_SYMS; sym_at++) {
        put_sym(&g->raw, sym_at, bad_first);
    }
}

/* Flips, inserts or deletes a few bytes, or truncates. */
static void mutate(uint64_t *s, br_buf *b)
{
    unsigned n = 1 + rn(s, 3);
    for (unsigned i = 0; i < n && b->len > 0; i++) {
        size_t at = rn(s, (unsigned)b->len);
        unsigned char *p = (unsigned char *)b->data;
        switch (rn(s, 5)) {
        case 0:
            p[at] ^= (unsigned char)(1u << rn(s, 8));
            break;
        case 1:
            p[at] = (unsigned char)rn(s, 256);
            break;
        case 2:
            memmove(p + at, p + at + 1, b->len - at - 1);
            b->len--;
            break;
        case 3: {
            unsigned char c = (unsigned char)rn(s, 256);
            br_buf_append(b, "", 1);
            p = (unsigned char *)b->data;
            memmove(p + at + 1, p + at, b->len - at - 1);
            p[at] = c;
            break;
        }
        default:
            b->len = at;
            break;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Comparing the two decoders                                               */
/* ------------------------------------------------------------------------ */

static void random_options(uint64_t *s, br_rw_options *o)
{
    br_rw_options_init(o);
    if (chance(s, 30)) {
        o->max_series = 1 + rn(s, 5);
        o->max_samples = 1 + rn(s, 12);
        o->max_labels_per_series = 1 + rn(s, 5);
        o->max_label_name_len = 1 + rn(s, 6);
        o->max_label_value_len = 6 + rn(s, 10); /* the tenant value fits */
    }
    if (chance(s, 20)) {
        o->extra_label_name = chance(s, 50) ? "job" : "tenant";
        o->extra_label_value = "team-a";
    }
}

static void assert_hist_equal(const br_histogram_sample *a, const br_histogram_sample *b)
{
    assert_int_equal(a->t, b->t);
    const br_histogram *x = &a->h;
    const br_histogram *y = &b->h;
    assert_int_equal(x->schema, y->schema);
    assert_int_equal(x->is_float, y->is_float);
    assert_int_equal(x->reset_hint, y->reset_hint);
    assert_memory_equal(&x->zero_threshold, &y->zero_threshold, 8);
    assert_memory_equal(&x->count, &y->count, 8);
    assert_memory_equal(&x->sum, &y->sum, 8);
    assert_memory_equal(&x->zero_count, &y->zero_count, 8);
    assert_int_equal(x->n_pos_spans, y->n_pos_spans);
    assert_int_equal(x->n_neg_spans, y->n_neg_spans);
    assert_int_equal(x->n_pos, y->n_pos);
    assert_int_equal(x->n_neg, y->n_neg);
    assert_int_equal(x->n_custom, y->n_custom);
    if (x->n_pos_spans) {
        assert_memory_equal(x->pos_spans, y->pos_spans, x->n_pos_spans * sizeof(br_span));
    }
    if (x->n_neg_spans) {
        assert_memory_equal(x->neg_spans, y->neg_spans, x->n_neg_spans * sizeof(br_span));
    }
    if (x->n_pos) {
        assert_memory_equal(x->pos_buckets, y->pos_buckets, x->n_pos * 8);
    }
    if (x->n_neg) {
        assert_memory_equal(x->neg_buckets, y->neg_buckets, x->n_neg * 8);
    }
    if (x->n_custom) {
        assert_memory_equal(x->custom_values, y->custom_values, x->n_custom * 8);
    }
}

static void assert_requests_equal(const br_rw_request *a, const br_rw_request *b)
{
    assert_int_equal(a->version, b->version);
    assert_int_equal(a->n_series, b->n_series);
    assert_int_equal(a->n_series_in_request, b->n_series_in_request);
    assert_int_equal(a->n_samples, b->n_samples);
    assert_int_equal(a->n_histograms, b->n_histograms);
    assert_int_equal(a->n_exemplars, b->n_exemplars);
    assert_int_equal(a->n_metadata, b->n_metadata);
    assert_int_equal(a->n_valid_samples, b->n_valid_samples);
    assert_int_equal(a->n_valid_histograms, b->n_valid_histograms);
    assert_int_equal(a->n_empty_labels_dropped, b->n_empty_labels_dropped);
    assert_int_equal(a->n_rejected_series, b->n_rejected_series);
    assert_memory_equal(a->rejected, b->rejected, sizeof(a->rejected));
    assert_int_equal(a->n_rejected_samples, b->n_rejected_samples);
    assert_int_equal(a->n_rejected_histograms, b->n_rejected_histograms);
    assert_int_equal(a->n_messages, b->n_messages);
    for (size_t i = 0; i < a->n_messages; i++) {
        assert_string_equal(a->messages[i], b->messages[i]);
    }
    for (size_t i = 0; i < a->n_series; i++) {
        const br_rw_series *x = &a->series[i];
        const br_rw_series *y = &b->series[i];
        assert_int_equal(x->n_labels, y->n_labels);
        for (size_t k = 0; k < x->n_labels; k++) {
            assert_string_equal(x->labels[k].name, y->labels[k].name);
            assert_string_equal(x->labels[k].value, y->labels[k].value);
        }
        assert_int_equal(x->n_samples, y->n_samples);
        if (x->n_samples) {
            assert_memory_equal(x->samples, y->samples, x->n_samples * sizeof(br_sample));
        }
        assert_int_equal(x->n_histograms, y->n_histograms);
        for (size_t k = 0; k < x->n_histograms; k++) {
            assert_hist_equal(&x->histograms[k], &y->histograms[k]);
        }
    }
}

typedef struct tally {
    size_t ok;
    size_t rejected; /* decoded with at least one rejected series */
    size_t parse;
    size_t limit;
    size_t other;
    size_t hist; /* decoded with at least one valid histogram */
} tally;

/* Decodes g->body both ways with opts and requires the same outcome. */
static void decode_both(const gen *g, const char *ct, const br_rw_options *opts, tally *t)
{
    br_rw_options ref_opts = *opts;
    br_rw_options new_opts = *opts;
    ref_opts.reference_decoder = true;
    new_opts.reference_decoder = false;
    br_arena ra;
    br_arena na;
    br_arena_init(&ra, 0, 64u * 1024 * 1024);
    br_arena_init(&na, 0, 64u * 1024 * 1024);
    br_rw_request rr;
    br_rw_request nr;
    br_err re;
    br_err ne;
    br_err_clear(&re);
    br_err_clear(&ne);
    int rrc = br_rw_decode(g->body.data, g->body.len, ct, "snappy", &ref_opts, &ra, &rr, &re);
    int nrc = br_rw_decode(g->body.data, g->body.len, ct, "snappy", &new_opts, &na, &nr, &ne);
    if (rrc != nrc) {
        fprintf(stderr, "reference rc %d (%s), new rc %d (%s)\n", rrc, re.msg, nrc, ne.msg);
    }
    assert_int_equal(rrc, nrc);
    if (rrc == 0 && getenv("RWPB_DEBUG") && rr.n_rejected_series != nr.n_rejected_series) {
        for (size_t i = 0; i < rr.n_messages; i++) {
            fprintf(stderr, "ref msg: %s\n", rr.messages[i]);
        }
        for (size_t i = 0; i < nr.n_messages; i++) {
            fprintf(stderr, "new msg: %s\n", nr.messages[i]);
        }
    }
    if (rrc == 0) {
        assert_requests_equal(&rr, &nr);
        t->ok++;
        t->rejected += rr.n_rejected_series > 0;
        t->hist += rr.n_valid_histograms > 0;
    } else {
        if (getenv("RWPB_DEBUG")) {
            fprintf(stderr, "ref: %s\nnew: %s\n", re.msg, ne.msg);
        }
        size_t n = strlen(re.msg);
        assert_true(strncmp(re.msg, ne.msg, n) == 0);
        t->parse += rrc == BR_EPARSE;
        t->limit += rrc == BR_ELIMIT;
        t->other += rrc != BR_EPARSE && rrc != BR_ELIMIT;
    }
    br_arena_free(&ra);
    br_arena_free(&na);
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                    */
/* ------------------------------------------------------------------------ */

static void test_rw_pb_random_valid_bodies_decode_identically(void **state)
{
    (void)state;
    uint64_t seed = 42;
    gen g;
    gen_init(&g);
    tally t = {0};
    for (int i = 0; i < 4000; i++) {
        gen_request(&seed, &g);
        rwt_snappy(&g.raw, &g.body);
        br_rw_options o;
        random_options(&seed, &o);
        decode_both(&g, NULL, &o, &t);
    }
    gen_free(&g);
    /* Well-formed bodies never fail to parse; the mix covers kept series,
     * rejected series, histograms and request limits. */
    assert_int_equal(t.parse, 0);
    assert_int_equal(t.other, 0);
    assert_true(t.ok > 2000);
    assert_true(t.rejected > 500);
    assert_true(t.hist > 100);
    assert_true(t.limit > 100);
}

static void test_rw_pb_mutated_bodies_decode_identically(void **state)
{
    (void)state;
    uint64_t seed = 7;
    gen g;
    gen_init(&g);
    tally t = {0};
    for (int i = 0; i < 12000; i++) {
        gen_request(&seed, &g);
        mutate(&seed, &g.raw);
        rwt_snappy(&g.raw, &g.body);
        br_rw_options o;
        random_options(&seed, &o);
        decode_both(&g, NULL, &o, &t);
    }
    gen_free(&g);
    assert_true(t.parse > 1000);
    assert_true(t.ok > 1000);
}

#define V2_CT "application/x-protobuf;proto=io.prometheus.write.v2.Request"

static void test_rw_pb_v2_random_valid_bodies_decode_identically(void **state)
{
    (void)state;
    uint64_t seed = 99;
    gen g;
    gen_init(&g);
    tally t = {0};
    for (int i = 0; i < 4000; i++) {
        gen_request_v2(&seed, &g);
        rwt_snappy(&g.raw, &g.body);
        br_rw_options o;
        random_options(&seed, &o);
        decode_both(&g, V2_CT, &o, &t);
    }
    gen_free(&g);
    /* Only a bad symbols[0] is a request error in well-formed 2.0 bodies. */
    assert_true(t.parse > 0 && t.parse < 400);
    assert_int_equal(t.other, 0);
    assert_true(t.ok > 2000);
    assert_true(t.rejected > 500);
    assert_true(t.hist > 100);
    assert_true(t.limit > 100);
}

static void test_rw_pb_v2_mutated_bodies_decode_identically(void **state)
{
    (void)state;
    uint64_t seed = 1234;
    gen g;
    gen_init(&g);
    tally t = {0};
    for (int i = 0; i < 12000; i++) {
        gen_request_v2(&seed, &g);
        mutate(&seed, &g.raw);
        rwt_snappy(&g.raw, &g.body);
        br_rw_options o;
        random_options(&seed, &o);
        decode_both(&g, V2_CT, &o, &t);
    }
    gen_free(&g);
    assert_true(t.parse > 1000);
    assert_true(t.ok > 1000);
}

/* Builds a one-series body: name label, one sample, then extra bytes. */
static void one_series(br_buf *raw, const br_buf *extra_ts)
{
    br_buf ts;
    br_buf lab;
    br_buf smp;
    br_buf_init(&ts, 0);
    br_buf_init(&lab, 0);
    br_buf_init(&smp, 0);
    pbw_str(&lab, 1, "__name__");
    pbw_str(&lab, 2, "up");
    put_sub(&ts, 1, &lab);
    pbw_double(&smp, 1, 1.0);
    pbw_uint(&smp, 2, 1000);
    put_sub(&ts, 2, &smp);
    if (extra_ts != NULL) {
        br_buf_append(&ts, extra_ts->data, extra_ts->len);
    }
    br_buf_reset(raw);
    put_sub(raw, 1, &ts);
    br_buf_free(&ts);
    br_buf_free(&lab);
    br_buf_free(&smp);
}

static int decode_raw(const br_buf *raw, br_arena *a, br_rw_request *req, br_err *err)
{
    br_buf body;
    br_buf_init(&body, 0);
    rwt_snappy(raw, &body);
    br_err_clear(err);
    int rc = br_rw_decode(body.data, body.len, NULL, NULL, NULL, a, req, err);
    br_buf_free(&body);
    return rc;
}

static void test_rw_pb_group_wire_type_is_parse_error_with_offset(void **state)
{
    (void)state;
    br_buf extra;
    br_buf raw;
    br_buf_init(&extra, 0);
    br_buf_init(&raw, 0);
    pbw_tag(&extra, 30, 3); /* start group: refused, as protobuf-c does */
    one_series(&raw, &extra);
    br_arena a;
    br_arena_init(&a, 0, 0);
    br_rw_request req;
    br_err err;
    assert_int_equal(decode_raw(&raw, &a, &req, &err), BR_EPARSE);
    assert_non_null(strstr(err.msg, "prometheus.WriteRequest"));
    assert_non_null(strstr(err.msg, "group"));
    assert_non_null(strstr(err.msg, "at byte"));
    br_arena_free(&a);
    br_buf_free(&extra);
    br_buf_free(&raw);
}

static void test_rw_pb_known_field_with_wrong_wire_type_is_parse_error(void **state)
{
    (void)state;
    br_buf extra;
    br_buf raw;
    br_buf_init(&extra, 0);
    br_buf_init(&raw, 0);
    pbw_uint(&extra, 2, 5); /* samples (a message) sent as a varint */
    one_series(&raw, &extra);
    br_arena a;
    br_arena_init(&a, 0, 0);
    br_rw_request req;
    br_err err;
    assert_int_equal(decode_raw(&raw, &a, &req, &err), BR_EPARSE);
    assert_non_null(strstr(err.msg, "wrong wire type"));
    br_arena_free(&a);
    br_buf_free(&extra);
    br_buf_free(&raw);
}

static void test_rw_pb_unknown_fields_of_every_wire_type_are_skipped(void **state)
{
    (void)state;
    br_buf extra;
    br_buf raw;
    br_buf_init(&extra, 0);
    br_buf_init(&raw, 0);
    pbw_uint(&extra, 99, 1);
    pbw_double(&extra, 100, 2.0);
    pbw_str(&extra, 101, "x");
    pbw_tag(&extra, 102, 5);
    br_buf_append(&extra, "abcd", 4);
    one_series(&raw, &extra);
    br_arena a;
    br_arena_init(&a, 0, 0);
    br_rw_request req;
    br_err err;
    assert_int_equal(decode_raw(&raw, &a, &req, &err), 0);
    assert_int_equal(req.n_series, 1);
    assert_string_equal(req.series[0].labels[0].value, "up");
    assert_int_equal(req.series[0].samples[0].t, 1000);
    br_arena_free(&a);
    br_buf_free(&extra);
    br_buf_free(&raw);
}

/* The last label value is the last byte run of the body: its terminator
 * goes into the spare byte after the decompressed data. */
static void test_rw_pb_string_at_end_of_body_is_terminated(void **state)
{
    (void)state;
    br_buf ts;
    br_buf sub;
    br_buf raw;
    br_buf_init(&ts, 0);
    br_buf_init(&sub, 0);
    br_buf_init(&raw, 0);
    pbw_double(&sub, 1, 3.5);
    pbw_uint(&sub, 2, 42);
    put_sub(&ts, 2, &sub);
    br_buf_reset(&sub);
    pbw_str(&sub, 1, "__name__");
    pbw_str(&sub, 2, "m");
    put_sub(&ts, 1, &sub);
    br_buf_reset(&sub);
    pbw_str(&sub, 1, "job");
    pbw_str(&sub, 2, "last");
    put_sub(&ts, 1, &sub);
    put_sub(&raw, 1, &ts);
    br_arena a;
    br_arena_init(&a, 0, 0);
    br_rw_request req;
    br_err err;
    assert_int_equal(decode_raw(&raw, &a, &req, &err), 0);
    assert_int_equal(req.n_series, 1);
    assert_int_equal(req.series[0].n_labels, 2);
    assert_string_equal(req.series[0].labels[0].value, "m");
    assert_string_equal(req.series[0].labels[1].name, "job");
    assert_string_equal(req.series[0].labels[1].value, "last");
    assert_true(req.series[0].samples[0].v == 3.5);
    br_arena_free(&a);
    br_buf_free(&ts);
    br_buf_free(&sub);
    br_buf_free(&raw);
}

/* Packed deltas in two runs plus an unpacked one resolve like one packed run. */
static void test_rw_pb_split_packed_and_unpacked_deltas_resolve_in_order(void **state)
{
    (void)state;
    br_buf h;
    br_buf tmp;
    br_buf extra;
    br_buf raw;
    br_buf_init(&h, 0);
    br_buf_init(&tmp, 0);
    br_buf_init(&extra, 0);
    br_buf_init(&raw, 0);
    put_span(&h, 11, 0, 4, &tmp);
    br_buf_reset(&tmp);
    pbw_varint(&tmp, zz64(2));
    pbw_varint(&tmp, zz64(1));
    put_sub(&h, 12, &tmp);
    pbw_uint(&h, 12, zz64(-1));
    br_buf_reset(&tmp);
    pbw_varint(&tmp, zz64(3));
    put_sub(&h, 12, &tmp);
    pbw_uint(&h, 1, 2 + 3 + 2 + 5);
    pbw_double(&h, 3, 9.0);
    pbw_uint(&h, 15, 5000);
    put_sub(&extra, 4, &h);
    br_buf empty;
    br_buf_init(&empty, 0);
    /* A series with only a histogram: build it by hand. */
    br_buf ts;
    br_buf lab;
    br_buf_init(&ts, 0);
    br_buf_init(&lab, 0);
    pbw_str(&lab, 1, "__name__");
    pbw_str(&lab, 2, "h");
    put_sub(&ts, 1, &lab);
    br_buf_append(&ts, extra.data, extra.len);
    put_sub(&raw, 1, &ts);
    br_arena a;
    br_arena_init(&a, 0, 0);
    br_rw_request req;
    br_err err;
    assert_int_equal(decode_raw(&raw, &a, &req, &err), 0);
    assert_int_equal(req.n_series, 1);
    assert_int_equal(req.series[0].n_histograms, 1);
    const br_histogram *hh = &req.series[0].histograms[0].h;
    assert_int_equal(hh->n_pos, 4);
    assert_true(hh->pos_buckets[0] == 2 && hh->pos_buckets[1] == 3);
    assert_true(hh->pos_buckets[2] == 2 && hh->pos_buckets[3] == 5);
    assert_true(hh->count == 12);
    assert_int_equal(req.series[0].histograms[0].t, 5000);
    br_arena_free(&a);
    br_buf_free(&h);
    br_buf_free(&tmp);
    br_buf_free(&extra);
    br_buf_free(&raw);
    br_buf_free(&empty);
    br_buf_free(&ts);
    br_buf_free(&lab);
}

/* The new path keeps strings in the body: it needs less arena memory than
 * protobuf-c, which copies every string and allocates a struct per message. */
static void test_rw_pb_uses_less_arena_memory_than_reference(void **state)
{
    (void)state;
    uint64_t seed = 3;
    gen g;
    gen_init(&g);
    br_buf_reset(&g.raw);
    for (int i = 0; i < 200; i++) {
        br_buf_reset(&g.ts);
        gen_label(&seed, &g.ts, &g.t1, 0, 7);
        gen_label(&seed, &g.ts, &g.t1, 4, 2);
        for (int k = 0; k < 4; k++) {
            gen_sample(&seed, &g.ts, &g.t1, false);
        }
        put_sub(&g.raw, 1, &g.ts);
    }
    rwt_snappy(&g.raw, &g.body);
    size_t used[2];
    for (int ref = 0; ref < 2; ref++) {
        br_rw_options o;
        br_rw_options_init(&o);
        o.reference_decoder = ref == 1;
        br_arena a;
        br_arena_init(&a, 4096, 0);
        br_rw_request req;
        br_err err;
        assert_int_equal(br_rw_decode(g.body.data, g.body.len, NULL, NULL, &o, &a, &req, &err), 0);
        assert_int_equal(req.n_series, 200);
        used[ref] = a.used_bytes;
        br_arena_free(&a);
    }
    gen_free(&g);
    assert_true(used[0] < used[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rw_pb_random_valid_bodies_decode_identically),
        cmocka_unit_test(test_rw_pb_mutated_bodies_decode_identically),
        cmocka_unit_test(test_rw_pb_v2_random_valid_bodies_decode_identically),
        cmocka_unit_test(test_rw_pb_v2_mutated_bodies_decode_identically),
        cmocka_unit_test(test_rw_pb_group_wire_type_is_parse_error_with_offset),
        cmocka_unit_test(test_rw_pb_known_field_with_wrong_wire_type_is_parse_error),
        cmocka_unit_test(test_rw_pb_unknown_fields_of_every_wire_type_are_skipped),
        cmocka_unit_test(test_rw_pb_string_at_end_of_body_is_terminated),
        cmocka_unit_test(test_rw_pb_split_packed_and_unpacked_deltas_resolve_in_order),
        cmocka_unit_test(test_rw_pb_uses_less_arena_memory_than_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
