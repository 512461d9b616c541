/*
 * remote_write_encode.c — br_rw_series arrays → remote-write bodies.
 * See remote_write_encode.h for the contract.
 *
 * The protobuf-c message tree is built in a private, uncapped arena that is
 * freed before returning (strings and arrays are borrowed from the caller's
 * series, never copied), packed into one contiguous buffer, and then
 * snappy-compressed in the block format that both remote-write specs
 * require (a varint length, then literal and copy elements).
 *
 * 2.0 symbols table: a small open-addressing hash table maps each distinct
 * string to its index; index 0 is always "". Label pairs become
 * labels_refs (name_ref, value_ref) in the series' label order.
 *
 * Integer histograms: bucket counts arrive absolute (br_histogram) and are
 * turned back into the wire's deltas (first bucket absolute, then the
 * difference to the previous bucket in list order, across spans).
 */
#include "remote_write_encode.h"

#include "engine/core/alloc.h"
#include "engine/core/arena.h"
#include "engine/core/hash.h"
#include "remote_write_v1.pb-c.h"
#include "remote_write_v2.pb-c.h"

#include <snappy-c.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const char *br_rw_content_type(int version)
{
    if (version == 2) {
        return "application/x-protobuf;proto=io.prometheus.write.v2.Request";
    }
    return "application/x-protobuf";
}

int br_rw_snappy_compress(const void *data, size_t len, br_buf *out, br_err *err)
{
    br_buf_reset(out);
    size_t max = snappy_max_compressed_length(len);
    if (br_buf_reserve(out, max) != 0) {
        return br_err_set(err, BR_ELIMIT, "compressed body may need %zu bytes, over the cap of %zu",
                          max, out->max_len);
    }
    size_t got = max;
    if (snappy_compress(data, len, out->data, &got) != SNAPPY_OK) {
        return br_err_set(err, BR_EINTERNAL, "snappy_compress failed on %zu bytes", len);
    }
    out->len = got;
    out->data[got] = '\0';
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Symbols table (2.0)                                                      */
/* ------------------------------------------------------------------------ */

typedef struct symtab {
    uint32_t *slots; /* index + 1 into strs; 0 = empty */
    size_t n_slots;  /* power of two */
    ProtobufCBinaryData *strs;
    size_t n_strs;
    size_t cap_strs;
} symtab;

static uint64_t sym_hash(const char *s, size_t len)
{
    return br_hash64(s, len, 0x5eed);
}

static void symtab_grow(symtab *t)
{
    size_t n = t->n_slots ? t->n_slots * 2 : 256;
    uint32_t *slots = br_calloc(n, sizeof(uint32_t));
    for (size_t i = 0; i < t->n_strs; i++) {
        uint64_t h = sym_hash((const char *)t->strs[i].data, t->strs[i].len);
        size_t j = h & (n - 1);
        while (slots[j] != 0) {
            j = (j + 1) & (n - 1);
        }
        slots[j] = (uint32_t)(i + 1);
    }
    br_free(t->slots);
    t->slots = slots;
    t->n_slots = n;
}

static uint32_t symtab_ref(symtab *t, const char *s)
{
    size_t len = strlen(s);
    if (len == 0) {
        return 0;
    }
    if ((t->n_strs + 1) * 2 > t->n_slots) {
        symtab_grow(t);
    }
    size_t mask = t->n_slots - 1;
    size_t j = sym_hash(s, len) & mask;
    while (t->slots[j] != 0) {
        const ProtobufCBinaryData *e = &t->strs[t->slots[j] - 1];
        if (e->len == len && memcmp(e->data, s, len) == 0) {
            return t->slots[j] - 1;
        }
        j = (j + 1) & mask;
    }
    if (t->n_strs == t->cap_strs) {
        t->cap_strs = t->cap_strs ? t->cap_strs * 2 : 256;
        t->strs = br_realloc(t->strs, t->cap_strs * sizeof(ProtobufCBinaryData));
    }
    t->strs[t->n_strs].data = (uint8_t *)s;
    t->strs[t->n_strs].len = len;
    t->slots[j] = (uint32_t)(t->n_strs + 1);
    return (uint32_t)t->n_strs++;
}

static void symtab_init(symtab *t)
{
    memset(t, 0, sizeof(*t));
    symtab_grow(t);
    t->cap_strs = 256;
    t->strs = br_malloc(t->cap_strs * sizeof(ProtobufCBinaryData));
    t->strs[0].data = (uint8_t *)"";
    t->strs[0].len = 0;
    t->n_strs = 1; /* "" is not in the hash table: symtab_ref answers 0 for it */
}

static void symtab_free(symtab *t)
{
    br_free(t->slots);
    br_free(t->strs);
}

/* ------------------------------------------------------------------------ */
/* Message building                                                         */
/* ------------------------------------------------------------------------ */

/* Arena allocation that cannot fail: the private arena has no cap. */
static void *ealloc(br_arena *a, size_t size)
{
    void *p = br_arena_alloc(a, size);
    if (p == NULL) {
        abort();
    }
    return p;
}

/* Turns absolute integer counts back into deltas. */
static int64_t *to_deltas(br_arena *a, const double *b, uint32_t n)
{
    int64_t *d = ealloc(a, (n ? n : 1) * sizeof(int64_t));
    int64_t prev = 0;
    for (uint32_t i = 0; i < n; i++) {
        int64_t cur = (int64_t)b[i];
        d[i] = cur - prev;
        prev = cur;
    }
    return d;
}

/* Fills a v1 or v2 Histogram message `m` (same field names) from `h`.
 * SPAN_T/SPAN_INIT name the version's BucketSpan type and initialiser. */
#define FILL_HIST(a, m, hs, SPAN_T, SPAN_INIT, CASE_INT, CASE_FLOAT, ZCASE_INT, ZCASE_FLOAT)       \
    do {                                                                                           \
        const br_histogram *h_ = &(hs)->h;                                                         \
        (m)->timestamp = (hs)->t;                                                                  \
        (m)->sum = h_->sum;                                                                        \
        (m)->schema = h_->schema;                                                                  \
        (m)->zero_threshold = h_->zero_threshold;                                                  \
        (m)->reset_hint = h_->reset_hint;                                                          \
        if (h_->is_float) {                                                                        \
            (m)->count_case = CASE_FLOAT;                                                          \
            (m)->count_float = h_->count;                                                          \
            (m)->zero_count_case = ZCASE_FLOAT;                                                    \
            (m)->zero_count_float = h_->zero_count;                                                \
            (m)->n_negative_counts = h_->n_neg;                                                    \
            (m)->negative_counts = (double *)h_->neg_buckets;                                      \
            (m)->n_positive_counts = h_->n_pos;                                                    \
            (m)->positive_counts = (double *)h_->pos_buckets;                                      \
        } else {                                                                                   \
            (m)->count_case = CASE_INT;                                                            \
            (m)->count_int = (uint64_t)h_->count;                                                  \
            (m)->zero_count_case = ZCASE_INT;                                                      \
            (m)->zero_count_int = (uint64_t)h_->zero_count;                                        \
            (m)->n_negative_deltas = h_->n_neg;                                                    \
            (m)->negative_deltas = to_deltas(a, h_->neg_buckets, h_->n_neg);                       \
            (m)->n_positive_deltas = h_->n_pos;                                                    \
            (m)->positive_deltas = to_deltas(a, h_->pos_buckets, h_->n_pos);                       \
        }                                                                                          \
        (m)->n_custom_values = h_->n_custom;                                                       \
        (m)->custom_values = (double *)h_->custom_values;                                          \
        (m)->n_negative_spans = h_->n_neg_spans;                                                   \
        (m)->negative_spans = ealloc(a, (h_->n_neg_spans + 1) * sizeof(SPAN_T *));                 \
        for (uint32_t k_ = 0; k_ < h_->n_neg_spans; k_++) {                                        \
            SPAN_T *sp_ = ealloc(a, sizeof(SPAN_T));                                               \
            *sp_ = (SPAN_T)SPAN_INIT;                                                              \
            sp_->offset = h_->neg_spans[k_].offset;                                                \
            sp_->length = h_->neg_spans[k_].length;                                                \
            (m)->negative_spans[k_] = sp_;                                                         \
        }                                                                                          \
        (m)->n_positive_spans = h_->n_pos_spans;                                                   \
        (m)->positive_spans = ealloc(a, (h_->n_pos_spans + 1) * sizeof(SPAN_T *));                 \
        for (uint32_t k_ = 0; k_ < h_->n_pos_spans; k_++) {                                        \
            SPAN_T *sp_ = ealloc(a, sizeof(SPAN_T));                                               \
            *sp_ = (SPAN_T)SPAN_INIT;                                                              \
            sp_->offset = h_->pos_spans[k_].offset;                                                \
            sp_->length = h_->pos_spans[k_].length;                                                \
            (m)->positive_spans[k_] = sp_;                                                         \
        }                                                                                          \
    } while (0)

static ProtobufCMessage *build_v1(br_arena *a, const br_rw_series *series, size_t n)
{
    Prometheus__WriteRequest *req = ealloc(a, sizeof(*req));
    *req = (Prometheus__WriteRequest)PROMETHEUS__WRITE_REQUEST__INIT;
    req->n_timeseries = n;
    req->timeseries = ealloc(a, (n + 1) * sizeof(Prometheus__TimeSeries *));
    for (size_t i = 0; i < n; i++) {
        const br_rw_series *s = &series[i];
        Prometheus__TimeSeries *ts = ealloc(a, sizeof(*ts));
        *ts = (Prometheus__TimeSeries)PROMETHEUS__TIME_SERIES__INIT;
        ts->n_labels = s->n_labels;
        ts->labels = ealloc(a, (s->n_labels + 1) * sizeof(Prometheus__Label *));
        Prometheus__Label *lab = ealloc(a, (s->n_labels + 1) * sizeof(Prometheus__Label));
        for (size_t j = 0; j < s->n_labels; j++) {
            lab[j] = (Prometheus__Label)PROMETHEUS__LABEL__INIT;
            lab[j].name.data = (uint8_t *)s->labels[j].name;
            lab[j].name.len = strlen(s->labels[j].name);
            lab[j].value.data = (uint8_t *)s->labels[j].value;
            lab[j].value.len = strlen(s->labels[j].value);
            ts->labels[j] = &lab[j];
        }
        ts->n_samples = s->n_samples;
        ts->samples = ealloc(a, (s->n_samples + 1) * sizeof(Prometheus__Sample *));
        Prometheus__Sample *smp = ealloc(a, (s->n_samples + 1) * sizeof(Prometheus__Sample));
        for (size_t j = 0; j < s->n_samples; j++) {
            smp[j] = (Prometheus__Sample)PROMETHEUS__SAMPLE__INIT;
            smp[j].timestamp = s->samples[j].t;
            smp[j].value = s->samples[j].v;
            ts->samples[j] = &smp[j];
        }
        ts->n_histograms = s->n_histograms;
        ts->histograms = ealloc(a, (s->n_histograms + 1) * sizeof(Prometheus__Histogram *));
        for (size_t j = 0; j < s->n_histograms; j++) {
            Prometheus__Histogram *m = ealloc(a, sizeof(*m));
            *m = (Prometheus__Histogram)PROMETHEUS__HISTOGRAM__INIT;
            FILL_HIST(a, m, &s->histograms[j], Prometheus__BucketSpan,
                      PROMETHEUS__BUCKET_SPAN__INIT, PROMETHEUS__HISTOGRAM__COUNT_COUNT_INT,
                      PROMETHEUS__HISTOGRAM__COUNT_COUNT_FLOAT,
                      PROMETHEUS__HISTOGRAM__ZERO_COUNT_ZERO_COUNT_INT,
                      PROMETHEUS__HISTOGRAM__ZERO_COUNT_ZERO_COUNT_FLOAT);
            ts->histograms[j] = m;
        }
        req->timeseries[i] = ts;
    }
    return &req->base;
}

static ProtobufCMessage *build_v2(br_arena *a, symtab *syms, const br_rw_series *series, size_t n)
{
    Io__Prometheus__Write__V2__Request *req = ealloc(a, sizeof(*req));
    *req = (Io__Prometheus__Write__V2__Request)IO__PROMETHEUS__WRITE__V2__REQUEST__INIT;
    req->n_timeseries = n;
    req->timeseries = ealloc(a, (n + 1) * sizeof(Io__Prometheus__Write__V2__TimeSeries *));
    for (size_t i = 0; i < n; i++) {
        const br_rw_series *s = &series[i];
        Io__Prometheus__Write__V2__TimeSeries *ts = ealloc(a, sizeof(*ts));
        *ts = (Io__Prometheus__Write__V2__TimeSeries)IO__PROMETHEUS__WRITE__V2__TIME_SERIES__INIT;
        ts->n_labels_refs = 2 * s->n_labels;
        ts->labels_refs = ealloc(a, (2 * s->n_labels + 1) * sizeof(uint32_t));
        for (size_t j = 0; j < s->n_labels; j++) {
            ts->labels_refs[2 * j] = symtab_ref(syms, s->labels[j].name);
            ts->labels_refs[2 * j + 1] = symtab_ref(syms, s->labels[j].value);
        }
        ts->n_samples = s->n_samples;
        ts->samples = ealloc(a, (s->n_samples + 1) * sizeof(Io__Prometheus__Write__V2__Sample *));
        Io__Prometheus__Write__V2__Sample *smp =
            ealloc(a, (s->n_samples + 1) * sizeof(Io__Prometheus__Write__V2__Sample));
        for (size_t j = 0; j < s->n_samples; j++) {
            smp[j] = (Io__Prometheus__Write__V2__Sample)IO__PROMETHEUS__WRITE__V2__SAMPLE__INIT;
            smp[j].timestamp = s->samples[j].t;
            smp[j].value = s->samples[j].v;
            ts->samples[j] = &smp[j];
        }
        ts->n_histograms = s->n_histograms;
        ts->histograms =
            ealloc(a, (s->n_histograms + 1) * sizeof(Io__Prometheus__Write__V2__Histogram *));
        for (size_t j = 0; j < s->n_histograms; j++) {
            Io__Prometheus__Write__V2__Histogram *m = ealloc(a, sizeof(*m));
            *m = (Io__Prometheus__Write__V2__Histogram)IO__PROMETHEUS__WRITE__V2__HISTOGRAM__INIT;
            FILL_HIST(a, m, &s->histograms[j], Io__Prometheus__Write__V2__BucketSpan,
                      IO__PROMETHEUS__WRITE__V2__BUCKET_SPAN__INIT,
                      IO__PROMETHEUS__WRITE__V2__HISTOGRAM__COUNT_COUNT_INT,
                      IO__PROMETHEUS__WRITE__V2__HISTOGRAM__COUNT_COUNT_FLOAT,
                      IO__PROMETHEUS__WRITE__V2__HISTOGRAM__ZERO_COUNT_ZERO_COUNT_INT,
                      IO__PROMETHEUS__WRITE__V2__HISTOGRAM__ZERO_COUNT_ZERO_COUNT_FLOAT);
            ts->histograms[j] = m;
        }
        req->timeseries[i] = ts;
    }
    req->n_symbols = syms->n_strs;
    req->symbols = syms->strs;
    return &req->base;
}

/* Packs the message for `version` into out (replacing its contents). */
static int pack(int version, const br_rw_series *series, size_t n, br_buf *out, br_err *err)
{
    if (version != 1 && version != 2) {
        return br_err_set(err, BR_EINVAL, "remote-write version must be 1 or 2, not %d", version);
    }
    br_arena a;
    br_arena_init(&a, 0, 0);
    symtab syms;
    symtab_init(&syms);
    ProtobufCMessage *msg = version == 1 ? build_v1(&a, series, n) : build_v2(&a, &syms, series, n);
    size_t size = protobuf_c_message_get_packed_size(msg);
    br_buf_reset(out);
    int rc = br_buf_reserve(out, size);
    if (rc == 0) {
        size_t wrote = protobuf_c_message_pack(msg, (uint8_t *)out->data);
        out->len = wrote;
        out->data[wrote] = '\0';
    } else {
        rc = br_err_set(err, BR_ELIMIT, "encoded request is %zu bytes, over the cap of %zu", size,
                        out->max_len);
    }
    symtab_free(&syms);
    br_arena_free(&a);
    return rc;
}

int br_rw_encode_proto(int version, const br_rw_series *series, size_t n_series, br_buf *out,
                       br_err *err)
{
    return pack(version, series, n_series, out, err);
}

int br_rw_encode(int version, const br_rw_series *series, size_t n_series, br_buf *out, br_err *err)
{
    br_buf raw;
    br_buf_init(&raw, 0);
    int rc = pack(version, series, n_series, &raw, err);
    if (rc == 0) {
        rc = br_rw_snappy_compress(raw.data, raw.len, out, err);
    }
    br_buf_free(&raw);
    return rc;
}
