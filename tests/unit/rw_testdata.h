/*
 * rw_testdata.h — helpers shared by the remote-write decode and encode unit
 * tests: a tiny protobuf byte writer for hand-crafted (and hostile) bodies,
 * snappy wrapping, and a builder for br_rw_series from label strings.
 *
 * Header-only (static functions) so each test executable stays one file;
 * everything it allocates comes from a br_arena or a br_buf the test frees.
 */
#ifndef BR_TESTS_RW_TESTDATA_H
#define BR_TESTS_RW_TESTDATA_H

#include "api/remote_write_decode.h"
#include "engine/core/arena.h"
#include "engine/core/buf.h"

#include <snappy-c.h>
#include <stdint.h>
#include <string.h>

/* Protobuf wire writer: appends to a br_buf. */
static inline void pbw_varint(br_buf *b, uint64_t v)
{
    unsigned char tmp[10];
    size_t n = 0;
    do {
        unsigned char c = v & 0x7f;
        v >>= 7;
        tmp[n++] = (unsigned char)(c | (v ? 0x80 : 0));
    } while (v);
    br_buf_append(b, tmp, n);
}

static inline void pbw_tag(br_buf *b, unsigned field, unsigned wire_type)
{
    pbw_varint(b, ((uint64_t)field << 3) | wire_type);
}

static inline void pbw_bytes(br_buf *b, unsigned field, const void *data, size_t len)
{
    pbw_tag(b, field, 2);
    pbw_varint(b, len);
    br_buf_append(b, data, len);
}

static inline void pbw_str(br_buf *b, unsigned field, const char *s)
{
    pbw_bytes(b, field, s, strlen(s));
}

static inline void pbw_double(br_buf *b, unsigned field, double v)
{
    unsigned char tmp[8];
    uint64_t bits;
    memcpy(&bits, &v, 8);
    for (int i = 0; i < 8; i++) {
        tmp[i] = (unsigned char)(bits >> (8 * i));
    }
    pbw_tag(b, field, 1);
    br_buf_append(b, tmp, 8);
}

static inline void pbw_uint(br_buf *b, unsigned field, uint64_t v)
{
    pbw_tag(b, field, 0);
    pbw_varint(b, v);
}

/* Snappy-compresses src into dst (dst is reset first). */
static inline void rwt_snappy(const br_buf *src, br_buf *dst)
{
    size_t max = snappy_max_compressed_length(src->len);
    br_buf_reset(dst);
    br_buf_reserve(dst, max);
    size_t got = max;
    snappy_compress(src->data ? src->data : "", src->len, dst->data, &got);
    dst->len = got;
}

/*
 * Builds a series in arena `a` from "name", "value", ... (n_pairs pairs)
 * with n_samples samples at t0, t0+15000, ... valued v0, v0+1, ...
 */
static inline br_rw_series rwt_series(br_arena *a, const char *const *kv, size_t n_pairs,
                                      size_t n_samples, int64_t t0, double v0)
{
    br_rw_series s;
    memset(&s, 0, sizeof(s));
    s.labels = br_arena_alloc(a, (n_pairs + 1) * sizeof(br_label));
    for (size_t i = 0; i < n_pairs; i++) {
        s.labels[i].name = kv[2 * i];
        s.labels[i].value = kv[2 * i + 1];
    }
    s.n_labels = n_pairs;
    s.samples = br_arena_alloc(a, (n_samples + 1) * sizeof(br_sample));
    for (size_t i = 0; i < n_samples; i++) {
        s.samples[i].t = t0 + (int64_t)i * 15000;
        s.samples[i].v = v0 + (double)i;
    }
    s.n_samples = n_samples;
    return s;
}

/* Finds a label's value in a decoded series, or NULL. */
static inline const char *rwt_label(const br_rw_series *s, const char *name)
{
    for (size_t i = 0; i < s->n_labels; i++) {
        if (strcmp(s->labels[i].name, name) == 0) {
            return s->labels[i].value;
        }
    }
    return NULL;
}

#endif
