/*
 * wal_record.c — payload codecs of storage's WAL records. See wal_record.h
 * for the record type numbers and the threading/ownership rules.
 *
 * Payload layouts. Building blocks:
 *   uv    unsigned LEB128 varint (engine/core/varint.h), 1..10 bytes
 *   sv    ZigZag-mapped signed value written as a uv
 *   f64   IEEE-754 double as its 8-byte bit pattern, little-endian (so the
 *         stale-NaN pattern and -0.0 survive bit for bit)
 *   str   uv byte length, then the bytes (no terminator, no NUL inside)
 * Differences ("ref - base") are taken modulo 2^64, so every uint64 ref and
 * int64 timestamp round-trips, however far apart.
 *
 *   SERIES (1)     uv count; if count > 0: uv base_ref, then count times
 *                  { sv ref-base_ref, uv n_labels, n_labels times { str name, str value } }
 *   SAMPLES (2)    uv count; if count > 0: uv base_ref, sv base_t, then count times
 *                  { sv ref-base_ref, sv t-base_t, f64 v }
 *   HISTOGRAMS (3) uv count; if count > 0: uv base_ref, sv base_t, then count times
 *                  { sv ref-base_ref, sv t-base_t, HIST }
 *   TOMBSTONES (4) uv count; if count > 0: uv first ref, then count-1 times
 *                  { sv ref - previous ref }   (sorted refs give 1-byte deltas)
 *
 *   HIST  sv schema, u8 flags, f64 zero_threshold, C count, C zero_count, f64 sum,
 *         uv n_pos_spans, n_pos_spans times { sv offset, uv length },
 *         uv n_neg_spans, n_neg_spans times { sv offset, uv length },
 *         uv n_pos, n_pos times B, uv n_neg, n_neg times B,
 *         uv n_custom, n_custom times f64
 *   flags bit 0 = is_float, bits 1-2 = reset hint, bit 3 = INT, bits 4-7 zero.
 *   INT is set by the encoder when count, zero_count and every bucket are
 *   whole numbers in [0, 2^53] (not -0.0): then C is a uv and B is an sv
 *   delta against the previous bucket of the same list (the first against
 *   0), and the running value must stay in [0, 2^53]. Otherwise C and B are
 *   f64. The sum of span lengths must equal the bucket count of that side.
 *
 * Decoders bound every count by the bytes left (each entry has a known
 * minimum size) before allocating, so a corrupt count cannot drive memory.
 */
#include "wal_record.h"

#include "engine/core/varint.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define HIST_FLAG_FLOAT      0x01u
#define HIST_FLAG_HINT_MASK  0x06u
#define HIST_FLAG_HINT_SHIFT 1
#define HIST_FLAG_INT        0x08u
#define HIST_FLAGS_KNOWN     0x0fu
#define INT_COUNT_MAX        9007199254740992.0 /* 2^53: doubles are exact up to here */
#define INT_COUNT_LIMIT      (UINT64_C(1) << 53)

/* Minimum encoded size of one list entry, used to bound counts. */
#define MIN_SERIES_ENTRY 2u  /* sv dref, uv n_labels */
#define MIN_SAMPLE_ENTRY 10u /* sv, sv, f64 */
#define MIN_HIST_ENTRY   20u /* sv, sv, sv, u8, f64, uv, uv, f64 = 22, spare */
#define MIN_SPAN         2u
#define MIN_LABEL        2u

const char *br_wal_record_type_name(uint8_t type)
{
    switch (type) {
    case BR_WAL_REC_SERIES:
        return "series";
    case BR_WAL_REC_SAMPLES:
        return "samples";
    case BR_WAL_REC_HISTOGRAMS:
        return "histograms";
    case BR_WAL_REC_TOMBSTONES:
        return "tombstones";
    default:
        if (type >= BR_WAL_REC_EXT_FIRST && type <= BR_WAL_REC_EXT_LAST) {
            return "extension";
        }
        return "unknown";
    }
}

/* ---------------------------------------------------------------------------
 * Writing. Each helper is a no-op once an earlier one failed, so encoders
 * check the status once per entry.
 * ------------------------------------------------------------------------- */

typedef struct writer {
    br_buf *b;
    int rc;
} writer;

static void put_bytes(writer *w, const void *p, size_t n)
{
    if (w->rc == 0) {
        w->rc = br_buf_append(w->b, p, n);
    }
}

static void put_uv(writer *w, uint64_t v)
{
    unsigned char tmp[BR_VARINT_MAX];
    put_bytes(w, tmp, br_uvarint_put(tmp, v));
}

/* ZigZag on the two's-complement bit pattern, without signed overflow. */
static uint64_t zz_enc(uint64_t d)
{
    return (d << 1) ^ (0 - (d >> 63));
}

static uint64_t zz_dec(uint64_t u)
{
    return (u >> 1) ^ (0 - (u & 1));
}

static void put_sv(writer *w, uint64_t twos)
{
    put_uv(w, zz_enc(twos));
}

static void put_f64(writer *w, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    unsigned char tmp[8];
    for (int i = 0; i < 8; i++) {
        tmp[i] = (unsigned char)(bits >> (8 * i));
    }
    put_bytes(w, tmp, sizeof(tmp));
}

static void put_str(writer *w, const char *s)
{
    size_t n = strlen(s);
    put_uv(w, n);
    put_bytes(w, s, n);
}

/* Restores the buffer after a failed encode and reports the error. */
static int enc_fail(br_buf *b, size_t start, int rc, br_err *err, const char *what)
{
    b->len = start;
    if (b->data != NULL) {
        b->data[start] = '\0';
    }
    if (rc == BR_ELIMIT) {
        return br_err_set(err, BR_ELIMIT, "WAL %s record exceeds the buffer cap of %zu bytes", what,
                          b->max_len);
    }
    return rc;
}

int br_wal_encode_series(br_buf *out, const br_wal_series *series, size_t n, br_err *err)
{
    writer w = {out, 0};
    size_t start = out->len;
    put_uv(&w, n);
    if (n > 0) {
        put_uv(&w, series[0].ref);
    }
    for (size_t i = 0; i < n && w.rc == 0; i++) {
        const br_wal_series *s = &series[i];
        if (s->n_labels > 0 && s->labels == NULL) {
            w.rc =
                br_err_set(err, BR_EINVAL, "WAL series record: series %zu has no label array", i);
            break;
        }
        put_sv(&w, s->ref - series[0].ref);
        put_uv(&w, s->n_labels);
        for (uint32_t j = 0; j < s->n_labels && w.rc == 0; j++) {
            if (s->labels[j].name == NULL || s->labels[j].value == NULL) {
                w.rc = br_err_set(err, BR_EINVAL, "WAL series record: series %zu label %u is NULL",
                                  i, j);
                break;
            }
            put_str(&w, s->labels[j].name);
            put_str(&w, s->labels[j].value);
        }
    }
    if (w.rc != 0) {
        return enc_fail(out, start, w.rc, err, "series");
    }
    return 0;
}

/* Varint writers into memory the caller reserved (BR_VARINT_MAX bytes each). */
static unsigned char *raw_uv(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

static unsigned char *raw_f64(unsigned char *p, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)(bits >> (8 * i));
    }
    return p + 8;
}

/* The hot record (one per shard per remote-write commit): its worst-case
 * size is reserved once and the fields are written straight into the
 * buffer, instead of growing it field by field. */
int br_wal_encode_samples(br_buf *out, const br_wal_sample *samples, size_t n, br_err *err)
{
    size_t start = out->len;
    const size_t per_sample = 2 * BR_VARINT_MAX + 8;
    if (n > (SIZE_MAX - 3 * BR_VARINT_MAX) / per_sample) {
        return br_err_set(err, BR_ELIMIT, "WAL samples record: %zu samples is too many", n);
    }
    int rc = br_buf_reserve(out, 3 * BR_VARINT_MAX + n * per_sample);
    if (rc != 0) {
        return enc_fail(out, start, rc, err, "samples");
    }
    unsigned char *p = (unsigned char *)out->data + start;
    p = raw_uv(p, n);
    if (n > 0) {
        p = raw_uv(p, samples[0].ref);
        p = raw_uv(p, zz_enc((uint64_t)samples[0].t));
    }
    for (size_t i = 0; i < n; i++) {
        p = raw_uv(p, zz_enc(samples[i].ref - samples[0].ref));
        p = raw_uv(p, zz_enc((uint64_t)samples[i].t - (uint64_t)samples[0].t));
        p = raw_f64(p, samples[i].v);
    }
    out->len = (size_t)(p - (unsigned char *)out->data);
    out->data[out->len] = '\0';
    return 0;
}

static bool is_int_count(double v)
{
    return v >= 0 && v <= INT_COUNT_MAX && !signbit(v) && v == (double)(uint64_t)v;
}

static bool hist_counts_are_ints(const br_histogram *h)
{
    if (!is_int_count(h->count) || !is_int_count(h->zero_count)) {
        return false;
    }
    for (uint32_t i = 0; i < h->n_pos; i++) {
        if (!is_int_count(h->pos_buckets[i])) {
            return false;
        }
    }
    for (uint32_t i = 0; i < h->n_neg; i++) {
        if (!is_int_count(h->neg_buckets[i])) {
            return false;
        }
    }
    return true;
}

static int check_spans(const br_span *spans, uint32_t n_spans, uint32_t n_buckets,
                       const double *buckets, size_t entry, const char *side, br_err *err)
{
    if ((n_spans > 0 && spans == NULL) || (n_buckets > 0 && buckets == NULL)) {
        return br_err_set(err, BR_EINVAL, "WAL histogram %zu: %s spans or buckets missing", entry,
                          side);
    }
    uint64_t total = 0;
    for (uint32_t i = 0; i < n_spans; i++) {
        total += spans[i].length;
    }
    if (total != n_buckets) {
        return br_err_set(err, BR_EINVAL,
                          "WAL histogram %zu: %s span lengths add up to %llu but it has %u buckets",
                          entry, side, (unsigned long long)total, n_buckets);
    }
    return 0;
}

static void put_spans(writer *w, const br_span *spans, uint32_t n)
{
    put_uv(w, n);
    for (uint32_t i = 0; i < n; i++) {
        put_sv(w, (uint64_t)(int64_t)spans[i].offset);
        put_uv(w, spans[i].length);
    }
}

static void put_buckets(writer *w, const double *b, uint32_t n, bool ints)
{
    put_uv(w, n);
    uint64_t prev = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (ints) {
            uint64_t cur = (uint64_t)b[i];
            put_sv(w, cur - prev);
            prev = cur;
        } else {
            put_f64(w, b[i]);
        }
    }
}

static int put_hist(writer *w, const br_histogram *h, size_t entry, br_err *err)
{
    int rc =
        check_spans(h->pos_spans, h->n_pos_spans, h->n_pos, h->pos_buckets, entry, "positive", err);
    if (rc == 0) {
        rc = check_spans(h->neg_spans, h->n_neg_spans, h->n_neg, h->neg_buckets, entry, "negative",
                         err);
    }
    if (rc != 0) {
        return rc;
    }
    if (h->reset_hint > 3) {
        return br_err_set(err, BR_EINVAL, "WAL histogram %zu: reset hint %u is not 0..3", entry,
                          h->reset_hint);
    }
    if (h->n_custom > 0 && h->custom_values == NULL) {
        return br_err_set(err, BR_EINVAL, "WAL histogram %zu: custom values missing", entry);
    }
    bool ints = hist_counts_are_ints(h);
    unsigned flags = (h->is_float ? HIST_FLAG_FLOAT : 0u) |
                     ((unsigned)h->reset_hint << HIST_FLAG_HINT_SHIFT) |
                     (ints ? HIST_FLAG_INT : 0u);
    unsigned char fl = (unsigned char)flags;
    put_sv(w, (uint64_t)(int64_t)h->schema);
    put_bytes(w, &fl, 1);
    put_f64(w, h->zero_threshold);
    if (ints) {
        put_uv(w, (uint64_t)h->count);
        put_uv(w, (uint64_t)h->zero_count);
    } else {
        put_f64(w, h->count);
        put_f64(w, h->zero_count);
    }
    put_f64(w, h->sum);
    put_spans(w, h->pos_spans, h->n_pos_spans);
    put_spans(w, h->neg_spans, h->n_neg_spans);
    put_buckets(w, h->pos_buckets, h->n_pos, ints);
    put_buckets(w, h->neg_buckets, h->n_neg, ints);
    put_uv(w, h->n_custom);
    for (uint32_t i = 0; i < h->n_custom; i++) {
        put_f64(w, h->custom_values[i]);
    }
    return 0;
}

int br_wal_encode_histograms(br_buf *out, const br_wal_histogram *hists, size_t n, br_err *err)
{
    writer w = {out, 0};
    size_t start = out->len;
    put_uv(&w, n);
    if (n > 0) {
        put_uv(&w, hists[0].ref);
        put_sv(&w, (uint64_t)hists[0].t);
    }
    for (size_t i = 0; i < n && w.rc == 0; i++) {
        put_sv(&w, hists[i].ref - hists[0].ref);
        put_sv(&w, (uint64_t)hists[i].t - (uint64_t)hists[0].t);
        int rc = put_hist(&w, &hists[i].h, i, err);
        if (rc != 0) {
            w.rc = rc;
        }
    }
    if (w.rc != 0) {
        return enc_fail(out, start, w.rc, err, "histograms");
    }
    return 0;
}

int br_wal_encode_tombstones(br_buf *out, const uint64_t *refs, size_t n, br_err *err)
{
    writer w = {out, 0};
    size_t start = out->len;
    put_uv(&w, n);
    for (size_t i = 0; i < n && w.rc == 0; i++) {
        if (i == 0) {
            put_uv(&w, refs[0]);
        } else {
            put_sv(&w, refs[i] - refs[i - 1]);
        }
    }
    if (w.rc != 0) {
        return enc_fail(out, start, w.rc, err, "tombstones");
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * Reading. A reader fails once (first problem wins) and every later get
 * returns false, so decoders can check after a group of reads.
 * ------------------------------------------------------------------------- */

typedef struct reader {
    const unsigned char *start;
    const unsigned char *p;
    const unsigned char *end;
    const char *what; /* record name for messages */
    br_arena *arena;
    br_err *err;
    int rc;
} reader;

static bool rd_fail(reader *r, int code, const char *problem)
{
    if (r->rc == 0) {
        if (code == BR_ELIMIT) {
            r->rc =
                br_err_set(r->err, BR_ELIMIT, "WAL %s record: decode arena cap reached at byte %zu",
                           r->what, (size_t)(r->p - r->start));
        } else {
            r->rc = br_err_set(r->err, code, "WAL %s record: %s at byte %zu", r->what, problem,
                               (size_t)(r->p - r->start));
        }
    }
    return false;
}

static size_t rd_left(const reader *r)
{
    return (size_t)(r->end - r->p);
}

static bool get_uv(reader *r, uint64_t *v, const char *field)
{
    if (r->rc != 0) {
        return false;
    }
    size_t n = br_uvarint_get(r->p, r->end, v);
    if (n == 0) {
        *v = 0;
        return rd_fail(r, BR_ECORRUPT, field);
    }
    r->p += n;
    return true;
}

static bool get_sv(reader *r, uint64_t *twos, const char *field)
{
    uint64_t u;
    if (!get_uv(r, &u, field)) {
        *twos = 0;
        return false;
    }
    *twos = zz_dec(u);
    return true;
}

static bool get_f64(reader *r, double *v)
{
    if (r->rc != 0) {
        return false;
    }
    if (rd_left(r) < 8) {
        return rd_fail(r, BR_ECORRUPT, "truncated float");
    }
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++) {
        bits |= (uint64_t)r->p[i] << (8 * i);
    }
    memcpy(v, &bits, sizeof(*v));
    r->p += 8;
    return true;
}

/* Reads a list count and checks that count entries of at least min_size
 * bytes each fit in what is left. */
static bool get_count(reader *r, uint64_t *count, size_t min_size, uint64_t max, const char *field)
{
    if (!get_uv(r, count, field)) {
        return false;
    }
    if (*count > max || *count > rd_left(r) / min_size) {
        return rd_fail(r, BR_ECORRUPT, field);
    }
    return true;
}

static void *rd_alloc(reader *r, uint64_t count, size_t size)
{
    if (r->rc != 0 || count == 0) {
        return NULL;
    }
    void *p = br_arena_calloc(r->arena, (size_t)count, size);
    if (p == NULL) {
        rd_fail(r, BR_ELIMIT, NULL);
    }
    return p;
}

static const char *get_str(reader *r)
{
    uint64_t n;
    if (!get_uv(r, &n, "truncated string length")) {
        return NULL;
    }
    if (n > rd_left(r)) {
        rd_fail(r, BR_ECORRUPT, "string runs past the end");
        return NULL;
    }
    if (memchr(r->p, '\0', (size_t)n) != NULL) {
        rd_fail(r, BR_ECORRUPT, "string contains a NUL byte");
        return NULL;
    }
    char *s = br_arena_strndup(r->arena, (const char *)r->p, (size_t)n);
    if (s == NULL) {
        rd_fail(r, BR_ELIMIT, NULL);
        return NULL;
    }
    r->p += n;
    return s;
}

static void rd_init(reader *r, const void *payload, size_t len, const char *what, br_arena *a,
                    br_err *err)
{
    r->start = payload;
    r->p = payload;
    r->end = r->p + len;
    r->what = what;
    r->arena = a;
    r->err = err;
    r->rc = 0;
    if (payload == NULL) {
        r->start = r->p = r->end = (const unsigned char *)"";
    }
}

/* Common ending: bytes left after the last entry are corruption. */
static int rd_finish(reader *r)
{
    if (r->rc == 0 && r->p != r->end) {
        rd_fail(r, BR_ECORRUPT, "trailing bytes after the last entry");
    }
    return r->rc;
}

int br_wal_decode_series(const void *payload, size_t len, br_arena *arena, br_wal_series **out,
                         size_t *n, br_err *err)
{
    reader r;
    rd_init(&r, payload, len, "series", arena, err);
    uint64_t count = 0;
    uint64_t base = 0;
    br_wal_series *arr = NULL;
    if (get_count(&r, &count, MIN_SERIES_ENTRY, SIZE_MAX, "bad series count") && count > 0 &&
        get_uv(&r, &base, "truncated base ref")) {
        arr = rd_alloc(&r, count, sizeof(*arr));
    }
    for (uint64_t i = 0; i < count && r.rc == 0; i++) {
        uint64_t dref;
        uint64_t nl;
        if (!get_sv(&r, &dref, "truncated series ref") ||
            !get_count(&r, &nl, MIN_LABEL, UINT32_MAX, "bad label count")) {
            break;
        }
        br_label *labels = rd_alloc(&r, nl, sizeof(*labels));
        for (uint64_t j = 0; j < nl && r.rc == 0; j++) {
            labels[j].name = get_str(&r);
            labels[j].value = get_str(&r);
        }
        if (r.rc == 0) {
            arr[i].ref = base + dref;
            arr[i].n_labels = (uint32_t)nl;
            arr[i].labels = labels;
        }
    }
    int rc = rd_finish(&r);
    *out = rc == 0 ? arr : NULL;
    *n = rc == 0 ? (size_t)count : 0;
    return rc;
}

int br_wal_decode_samples(const void *payload, size_t len, br_arena *arena, br_wal_sample **out,
                          size_t *n, br_err *err)
{
    reader r;
    rd_init(&r, payload, len, "samples", arena, err);
    uint64_t count = 0;
    uint64_t base_ref = 0;
    uint64_t base_t = 0;
    br_wal_sample *arr = NULL;
    if (get_count(&r, &count, MIN_SAMPLE_ENTRY, SIZE_MAX, "bad sample count") && count > 0 &&
        get_uv(&r, &base_ref, "truncated base ref") &&
        get_sv(&r, &base_t, "truncated base timestamp")) {
        arr = rd_alloc(&r, count, sizeof(*arr));
    }
    for (uint64_t i = 0; i < count && r.rc == 0; i++) {
        uint64_t dref;
        uint64_t dt;
        double v;
        if (get_sv(&r, &dref, "truncated sample ref") &&
            get_sv(&r, &dt, "truncated sample timestamp") && get_f64(&r, &v)) {
            arr[i].ref = base_ref + dref;
            arr[i].t = (int64_t)(base_t + dt);
            arr[i].v = v;
        }
    }
    int rc = rd_finish(&r);
    *out = rc == 0 ? arr : NULL;
    *n = rc == 0 ? (size_t)count : 0;
    return rc;
}

static const br_span *get_spans(reader *r, uint32_t *n_spans, uint64_t *total)
{
    uint64_t n;
    *n_spans = 0;
    *total = 0;
    if (!get_count(r, &n, MIN_SPAN, UINT32_MAX, "bad span count")) {
        return NULL;
    }
    br_span *spans = rd_alloc(r, n, sizeof(*spans));
    for (uint64_t i = 0; i < n && r->rc == 0; i++) {
        uint64_t off;
        uint64_t length;
        if (!get_sv(r, &off, "truncated span offset") ||
            !get_uv(r, &length, "truncated span length")) {
            break;
        }
        int64_t soff = (int64_t)off;
        if (soff < INT32_MIN || soff > INT32_MAX || length > UINT32_MAX) {
            rd_fail(r, BR_ECORRUPT, "span offset or length out of range");
            break;
        }
        spans[i].offset = (int32_t)soff;
        spans[i].length = (uint32_t)length;
        *total += length;
    }
    *n_spans = (uint32_t)n;
    return spans;
}

static const double *get_buckets(reader *r, uint32_t *n_out, uint64_t span_total, bool ints)
{
    uint64_t n;
    *n_out = 0;
    if (!get_count(r, &n, ints ? 1 : 8, UINT32_MAX, "bad bucket count")) {
        return NULL;
    }
    if (n != span_total) {
        rd_fail(r, BR_ECORRUPT, "bucket count differs from the span lengths");
        return NULL;
    }
    double *b = rd_alloc(r, n, sizeof(*b));
    uint64_t running = 0;
    for (uint64_t i = 0; i < n && r->rc == 0; i++) {
        if (ints) {
            uint64_t d;
            if (!get_sv(r, &d, "truncated bucket delta")) {
                break;
            }
            running += d;
            if (running > INT_COUNT_LIMIT) {
                rd_fail(r, BR_ECORRUPT, "bucket count out of range");
                break;
            }
            b[i] = (double)running;
        } else {
            get_f64(r, &b[i]);
        }
    }
    *n_out = (uint32_t)n;
    return b;
}

static bool get_int_count(reader *r, double *v, const char *field)
{
    uint64_t u;
    if (!get_uv(r, &u, field)) {
        return false;
    }
    if (u > INT_COUNT_LIMIT) {
        return rd_fail(r, BR_ECORRUPT, "integer count out of range");
    }
    *v = (double)u;
    return true;
}

static void get_hist(reader *r, br_histogram *h)
{
    uint64_t schema;
    if (!get_sv(r, &schema, "truncated schema")) {
        return;
    }
    int64_t s = (int64_t)schema;
    if (s < INT32_MIN || s > INT32_MAX) {
        rd_fail(r, BR_ECORRUPT, "schema out of range");
        return;
    }
    h->schema = (int32_t)s;
    if (rd_left(r) < 1) {
        rd_fail(r, BR_ECORRUPT, "truncated flags");
        return;
    }
    unsigned flags = *r->p;
    if ((flags & ~HIST_FLAGS_KNOWN) != 0) {
        rd_fail(r, BR_ECORRUPT, "unknown histogram flags");
        return;
    }
    r->p++;
    bool ints = (flags & HIST_FLAG_INT) != 0;
    h->is_float = (flags & HIST_FLAG_FLOAT) != 0;
    h->reset_hint = (uint8_t)((flags & HIST_FLAG_HINT_MASK) >> HIST_FLAG_HINT_SHIFT);
    get_f64(r, &h->zero_threshold);
    if (ints) {
        get_int_count(r, &h->count, "truncated count");
        get_int_count(r, &h->zero_count, "truncated zero count");
    } else {
        get_f64(r, &h->count);
        get_f64(r, &h->zero_count);
    }
    get_f64(r, &h->sum);
    uint64_t pos_total = 0;
    uint64_t neg_total = 0;
    h->pos_spans = get_spans(r, &h->n_pos_spans, &pos_total);
    h->neg_spans = get_spans(r, &h->n_neg_spans, &neg_total);
    h->pos_buckets = get_buckets(r, &h->n_pos, pos_total, ints);
    h->neg_buckets = get_buckets(r, &h->n_neg, neg_total, ints);
    uint64_t nc;
    if (!get_count(r, &nc, 8, UINT32_MAX, "bad custom value count")) {
        return;
    }
    double *cv = rd_alloc(r, nc, sizeof(*cv));
    for (uint64_t i = 0; i < nc && r->rc == 0; i++) {
        get_f64(r, &cv[i]);
    }
    h->n_custom = (uint32_t)nc;
    h->custom_values = cv;
}

int br_wal_decode_histograms(const void *payload, size_t len, br_arena *arena,
                             br_wal_histogram **out, size_t *n, br_err *err)
{
    reader r;
    rd_init(&r, payload, len, "histograms", arena, err);
    uint64_t count = 0;
    uint64_t base_ref = 0;
    uint64_t base_t = 0;
    br_wal_histogram *arr = NULL;
    if (get_count(&r, &count, MIN_HIST_ENTRY, SIZE_MAX, "bad histogram count") && count > 0 &&
        get_uv(&r, &base_ref, "truncated base ref") &&
        get_sv(&r, &base_t, "truncated base timestamp")) {
        arr = rd_alloc(&r, count, sizeof(*arr));
    }
    for (uint64_t i = 0; i < count && r.rc == 0; i++) {
        uint64_t dref;
        uint64_t dt;
        if (!get_sv(&r, &dref, "truncated histogram ref") ||
            !get_sv(&r, &dt, "truncated histogram timestamp")) {
            break;
        }
        arr[i].ref = base_ref + dref;
        arr[i].t = (int64_t)(base_t + dt);
        get_hist(&r, &arr[i].h);
    }
    int rc = rd_finish(&r);
    *out = rc == 0 ? arr : NULL;
    *n = rc == 0 ? (size_t)count : 0;
    return rc;
}

int br_wal_decode_tombstones(const void *payload, size_t len, br_arena *arena, uint64_t **out,
                             size_t *n, br_err *err)
{
    reader r;
    rd_init(&r, payload, len, "tombstones", arena, err);
    uint64_t count = 0;
    uint64_t *arr = NULL;
    if (get_count(&r, &count, 1, SIZE_MAX, "bad tombstone count")) {
        arr = rd_alloc(&r, count, sizeof(*arr));
    }
    for (uint64_t i = 0; i < count && r.rc == 0; i++) {
        uint64_t v;
        if (i == 0) {
            if (get_uv(&r, &v, "truncated ref")) {
                arr[0] = v;
            }
        } else if (get_sv(&r, &v, "truncated ref delta")) {
            arr[i] = arr[i - 1] + v;
        }
    }
    int rc = rd_finish(&r);
    *out = rc == 0 ? arr : NULL;
    *n = rc == 0 ? (size_t)count : 0;
    return rc;
}
