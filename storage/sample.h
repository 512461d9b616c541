/*
 * sample.h — the value types every layer shares: label pairs as written by a
 * client, float samples, and native histogram samples.
 *
 * These are plain views: they borrow their strings and arrays from whoever
 * built them (the remote-write decoder's per-request arena, a WAL record
 * being replayed, a test). storage/ copies what it keeps (label strings are
 * interned, histograms re-encoded into chunks).
 *
 * Timestamps are int64 milliseconds since the Unix epoch. The Prometheus
 * stale marker is the NaN with bit pattern BR_STALE_NAN_BITS; compare bits
 * with br_is_stale_nan(), never with isnan() alone.
 */
#ifndef BR_STORAGE_SAMPLE_H
#define BR_STORAGE_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define BR_STALE_NAN_BITS 0x7ff0000000000002ULL

static inline bool br_is_stale_nan(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    return bits == BR_STALE_NAN_BITS;
}

static inline double br_stale_nan(void)
{
    uint64_t bits = BR_STALE_NAN_BITS;
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
}

/* One label pair; both strings NUL-terminated. */
typedef struct br_label {
    const char *name;
    const char *value;
} br_label;

typedef struct br_sample {
    int64_t t;
    double v;
} br_sample;

/* A native histogram bucket span (see the remote-write spec). */
typedef struct br_span {
    int32_t offset;
    uint32_t length;
} br_span;

/* Native histogram reset hints, as on the wire. */
enum {
    BR_HIST_RESET_UNKNOWN = 0,
    BR_HIST_RESET_YES = 1,
    BR_HIST_RESET_NO = 2,
    BR_HIST_RESET_GAUGE = 3,
};

/*
 * A native histogram. Bucket counts are absolute (a decoder resolves the
 * integer wire format's deltas), one entry per bucket covered by the spans,
 * in span order. is_float tells whether the sender used float counts; an
 * integer histogram's counts are whole numbers. Schema -53 uses
 * custom_values as bucket upper bounds (NHCB); other schemas leave it empty.
 * A stale histogram has sum == stale NaN.
 */
typedef struct br_histogram {
    int32_t schema;
    bool is_float;
    uint8_t reset_hint;
    double zero_threshold;
    double count;
    double sum;
    double zero_count;
    uint32_t n_pos_spans;
    uint32_t n_neg_spans;
    uint32_t n_pos;
    uint32_t n_neg;
    uint32_t n_custom;
    const br_span *pos_spans;
    const br_span *neg_spans;
    const double *pos_buckets;
    const double *neg_buckets;
    const double *custom_values;
} br_histogram;

typedef struct br_histogram_sample {
    int64_t t;
    br_histogram h;
} br_histogram_sample;


/* A half-open time interval (start, end], in ms: the SLO evaluator's unit
 * of counting (a sample at exactly `start` belongs to the interval before). */
typedef struct br_interval {
    int64_t start;
    int64_t end;
} br_interval;

/* What one series did within one interval; see br_head_series_window_aggs. */
typedef struct br_window_agg {
    double increase; /* counter increments whose later sample lies in the interval */
    double sum;      /* sum of the sample values in the interval (when asked) */
    uint32_t count;  /* samples in the interval, stale markers excluded */
} br_window_agg;

#endif
