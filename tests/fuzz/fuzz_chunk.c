/*
 * fuzz_chunk.c — libFuzzer target for the chunk record deserializers
 * (storage/chunk.h: br_chunk_deserialize, br_hchunk_deserialize), which
 * rebuild chunks from snapshot files on disk.
 *
 * Input: one chunk record (layout at the top of storage/chunk.c); its first
 * byte, the record kind, picks the deserializer ('H' histogram, anything
 * else float).
 *
 * Checked, for a record that deserializes:
 *   - serializing the chunk again gives exactly the bytes consumed (a
 *     record of an older format version comes back with the current one);
 *   - iterating yields exactly summary.count samples, timestamps strictly
 *     increasing from min_t to max_t, without a decoding error (the
 *     deserializer promises complete validation);
 *   - seeking to each sample's timestamp lands on that sample;
 *   - an open chunk keeps appending: a sample one millisecond after the
 *     last is accepted, iteration then shows it, and the result survives
 *     another serialize/deserialize round trip with the same samples.
 */
#include "engine/core/alloc.h"
#include "engine/core/buf.h"
#include "storage/chunk.h"
#include "tests/fuzz/fuzz_util.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_quiet_logs();
    return 0;
}

/* ---- float chunks ----------------------------------------------------- */

/* Decodes every sample of c into a new array (br_free it); checks order
 * and the summary. */
/* A re-serialized record equals the input, except that a record of an
 * older format version (byte 1) comes back with the current one: a chunk
 * loaded from an old snapshot is written in today's format. */
static bool same_record(const uint8_t *got, size_t got_len, const uint8_t *in, size_t in_len)
{
    if (got_len != in_len || in_len < 2 || got[0] != in[0] || got[1] < in[1]) {
        return false;
    }
    return memcmp(got + 2, in + 2, in_len - 2) == 0;
}

static br_sample *float_samples(const br_chunk *c, size_t *n_out)
{
    const br_chunk_summary *s = br_chunk_get_summary(c);
    br_sample *v = br_calloc(s->count + 1u, sizeof(*v));
    size_t n = 0;
    br_chunk_iter it;
    br_chunk_iter_init(&it, c);
    while (br_chunk_iter_next(&it)) {
        FZ_CHECK(n < s->count, "iterator yields more than %u samples", s->count);
        FZ_CHECK(n == 0 || it.t > v[n - 1].t, "timestamps not increasing at %zu", n);
        v[n].t = it.t;
        v[n].v = it.v;
        n++;
    }
    FZ_CHECK(br_chunk_iter_err(&it) == 0, "iterator error %d on a validated chunk",
             br_chunk_iter_err(&it));
    FZ_CHECK(n == s->count, "iterator yields %zu of %u samples", n, s->count);
    if (n > 0) {
        FZ_CHECK(v[0].t == s->min_t && v[n - 1].t == s->max_t, "min_t/max_t disagree");
    }
    *n_out = n;
    return v;
}

static void check_seeks(const br_chunk *c, const br_sample *v, size_t n)
{
    br_chunk_iter it;
    br_chunk_iter_init(&it, c);
    /* Backwards, so that every seek rewinds. */
    for (size_t i = n; i-- > 0;) {
        FZ_CHECK(br_chunk_iter_seek(&it, v[i].t), "seek to sample %zu failed", i);
        FZ_CHECK(it.t == v[i].t && fz_same_bits(it.v, v[i].v), "seek to %zu lands elsewhere", i);
    }
    if (n > 0) {
        FZ_CHECK(!br_chunk_iter_seek(&it, v[n - 1].t + 1) || v[n - 1].t == INT64_MAX,
                 "seek past the end found a sample");
    }
}

static void fuzz_float(const uint8_t *data, size_t size)
{
    br_chunk *c = NULL;
    size_t used = 0;
    br_err err;
    br_err_clear(&err);
    if (br_chunk_deserialize(data, size, &used, &c, &err) != 0) {
        FZ_CHECK(c == NULL && used == 0, "failed deserialize left a chunk");
        return;
    }
    FZ_CHECK(used <= size, "consumed %zu of %zu bytes", used, size);
    br_buf b;
    br_buf_init(&b, 0);
    FZ_CHECK(br_chunk_serialize(c, &b, &err) == 0, "serialize: %s", err.msg);
    FZ_CHECK(same_record((const uint8_t *)b.data, b.len, data, used),
             "re-serialized record differs (%zu vs %zu bytes)", b.len, used);

    size_t n = 0;
    br_sample *v = float_samples(c, &n);
    check_seeks(c, v, n);

    if (!br_chunk_frozen(c) && (n == 0 || v[n - 1].t < INT64_MAX)) {
        int64_t t = n > 0 ? v[n - 1].t + 1 : 0;
        double x = n > 0 ? v[n - 1].v + 1.0 : 1.0;
        if (br_chunk_append(c, t, x, &err) == 0) {
            size_t n2 = 0;
            br_sample *v2 = float_samples(c, &n2);
            FZ_CHECK(n2 == n + 1 && v2[n].t == t && fz_same_bits(v2[n].v, x),
                     "appended sample not read back");
            br_buf_reset(&b);
            FZ_CHECK(br_chunk_serialize(c, &b, &err) == 0, "serialize after append: %s", err.msg);
            br_chunk *c2 = NULL;
            size_t used2 = 0;
            int rc = br_chunk_deserialize(b.data, b.len, &used2, &c2, &err);
            FZ_CHECK(rc == 0 && used2 == b.len, "append after load made a bad record: %s",
                     err.msg);
            size_t n3 = 0;
            br_sample *v3 = float_samples(c2, &n3);
            FZ_CHECK(n3 == n2, "round trip after append: %zu then %zu samples", n2, n3);
            for (size_t i = 0; i < n3; i++) {
                FZ_CHECK(v3[i].t == v2[i].t && fz_same_bits(v3[i].v, v2[i].v),
                         "round trip after append: sample %zu", i);
            }
            br_free(v3);
            br_chunk_free(c2);
            br_free(v2);
        }
        br_chunk_freeze(c);
        size_t n4 = 0;
        br_free(float_samples(c, &n4));
    }
    br_free(v);
    br_buf_free(&b);
    br_chunk_free(c);
}

/* ---- histogram chunks ------------------------------------------------- */

/* Counts the samples of c, checking order and the summary; copies the
 * last histogram's layout and counts into *last (arrays br_malloc'd, free
 * with hist_free) when want_last. */
typedef struct hist_copy {
    br_histogram h;
    int64_t t;
    br_span *pos_spans, *neg_spans;
    double *pos, *neg, *custom;
} hist_copy;

static void hist_free(hist_copy *c)
{
    br_free(c->pos_spans);
    br_free(c->neg_spans);
    br_free(c->pos);
    br_free(c->neg);
    br_free(c->custom);
    memset(c, 0, sizeof(*c));
}

static void *dup_array(const void *p, size_t n, size_t size)
{
    if (n == 0) {
        return NULL;
    }
    void *q = br_malloc(n * size);
    memcpy(q, p, n * size);
    return q;
}

static size_t hist_samples(const br_hchunk *c, hist_copy *last)
{
    const br_hchunk_summary *s = br_hchunk_get_summary(c);
    size_t n = 0;
    int64_t prev = 0;
    br_hchunk_iter it;
    br_hchunk_iter_init(&it, c);
    while (br_hchunk_iter_next(&it)) {
        FZ_CHECK(n < s->count, "iterator yields more than %u samples", s->count);
        FZ_CHECK(n == 0 || it.t > prev, "timestamps not increasing at %zu", n);
        FZ_CHECK(n > 0 || it.t == s->min_t, "first timestamp is not min_t");
        prev = it.t;
        n++;
        if (last != NULL && n == s->count) {
            const br_histogram *h = &it.h;
            last->t = it.t;
            last->h = *h;
            last->pos_spans = dup_array(h->pos_spans, h->n_pos_spans, sizeof(br_span));
            last->neg_spans = dup_array(h->neg_spans, h->n_neg_spans, sizeof(br_span));
            last->pos = dup_array(h->pos_buckets, h->n_pos, sizeof(double));
            last->neg = dup_array(h->neg_buckets, h->n_neg, sizeof(double));
            last->custom = dup_array(h->custom_values, h->n_custom, sizeof(double));
            last->h.pos_spans = last->pos_spans;
            last->h.neg_spans = last->neg_spans;
            last->h.pos_buckets = last->pos;
            last->h.neg_buckets = last->neg;
            last->h.custom_values = last->custom;
        }
    }
    FZ_CHECK(br_hchunk_iter_err(&it) == 0, "iterator error %d on a validated chunk",
             br_hchunk_iter_err(&it));
    br_hchunk_iter_free(&it);
    FZ_CHECK(n == s->count, "iterator yields %zu of %u samples", n, s->count);
    FZ_CHECK(n == 0 || prev == s->max_t, "last timestamp is not max_t");
    return n;
}

static void fuzz_hist(const uint8_t *data, size_t size)
{
    br_hchunk *c = NULL;
    size_t used = 0;
    br_err err;
    br_err_clear(&err);
    if (br_hchunk_deserialize(data, size, &used, &c, &err) != 0) {
        FZ_CHECK(c == NULL && used == 0, "failed deserialize left a chunk");
        return;
    }
    FZ_CHECK(used <= size, "consumed %zu of %zu bytes", used, size);
    br_buf b;
    br_buf_init(&b, 0);
    FZ_CHECK(br_hchunk_serialize(c, &b, &err) == 0, "serialize: %s", err.msg);
    FZ_CHECK(same_record((const uint8_t *)b.data, b.len, data, used),
             "re-serialized record differs (%zu vs %zu bytes)", b.len, used);

    hist_copy last;
    memset(&last, 0, sizeof(last));
    size_t n = hist_samples(c, &last);
    if (!br_hchunk_frozen(c) && n > 0 && last.t < INT64_MAX) {
        if (br_hchunk_append(c, last.t + 1, &last.h, &err) == 0) {
            FZ_CHECK(hist_samples(c, NULL) == n + 1, "appended histogram not read back");
            br_buf_reset(&b);
            FZ_CHECK(br_hchunk_serialize(c, &b, &err) == 0, "serialize after append: %s",
                     err.msg);
            br_hchunk *c2 = NULL;
            size_t used2 = 0;
            int rc = br_hchunk_deserialize(b.data, b.len, &used2, &c2, &err);
            FZ_CHECK(rc == 0 && used2 == b.len, "append after load made a bad record: %s",
                     err.msg);
            FZ_CHECK(hist_samples(c2, NULL) == n + 1, "round trip after append lost samples");
            br_hchunk_free(c2);
        }
    }
    br_hchunk_freeze(c);
    (void)hist_samples(c, NULL);
    hist_free(&last);
    br_buf_free(&b);
    br_hchunk_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    if (data[0] == BR_CHUNK_SER_HIST) {
        fuzz_hist(data, size);
    } else {
        fuzz_float(data, size);
    }
    return 0;
}
