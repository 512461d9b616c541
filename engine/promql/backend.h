/*
 * backend.h — where the PromQL evaluator reads series from.
 *
 * The evaluator never touches storage directly: it asks a br_queryable for
 * the series matching a selector with their samples in [mint, maxt]. The
 * embedded store implements it (backend_local.c, over br_head); a remote
 * Prometheus-compatible API can implement it too (scale-out, later), so
 * SLO evaluation runs the same code on both.
 *
 * Results are materialised into the caller's arena: label pairs sorted by
 * name, float samples and native histogram samples each in timestamp
 * order. Stale markers are kept (the evaluator applies staleness rules).
 * Thread-safe: any number of evaluations may select concurrently.
 */
#ifndef BR_PROMQL_BACKEND_H
#define BR_PROMQL_BACKEND_H

#include "engine/core/arena.h"
#include "engine/core/err.h"
#include "storage/matcher.h"
#include "storage/range_stats.h"
#include "storage/sample.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct br_series_data {
    const br_label *labels;  /* sorted by name */
    size_t n_labels;
    const br_sample *samples;
    size_t n_samples;
    const br_histogram_sample *histograms;
    size_t n_histograms;
} br_series_data;

typedef struct br_series_set {
    br_series_data *series;  /* sorted by labels (Prometheus order) */
    size_t n;
} br_series_set;

typedef struct br_series_aggs {
    const br_label *labels; /* sorted by name */
    size_t n_labels;
    br_window_agg *aggs;    /* one per interval asked for */
    int64_t last_t;
} br_series_aggs;

typedef struct br_series_aggs_set {
    br_series_aggs *series;
    size_t n;
} br_series_aggs_set;

/* One series' range statistics, one entry per window asked for. */
typedef struct br_series_range_stats {
    const br_label *labels; /* sorted by name */
    size_t n_labels;
    br_range_stats *stats;
} br_series_range_stats;

typedef struct br_series_range_stats_set {
    br_series_range_stats *series; /* sorted by labels, as select sorts */
    size_t n;
} br_series_range_stats_set;

typedef struct br_queryable {
    void *ctx;
    /* Fills out with the matching series and their samples in
     * [mint, maxt] (inclusive), all memory from arena. Fails with BR_EINVAL
     * (a selector matching everything), BR_ELIMIT (more samples than
     * max_samples; 0 = no limit) or BR_EIO (a remote backend failed). */
    int (*select)(void *ctx, const br_matcher *ms, size_t n, int64_t mint, int64_t maxt,
                  size_t max_samples, br_arena *arena, br_series_set *out, br_err *err);
    /* Optional (NULL when the backend cannot): exact per-interval counter
     * increases and sample counts of every matching series, for the SLO
     * evaluator; see br_head_series_window_aggs in storage/head.h for the
     * definition. iv: n_iv intervals sorted by start, not overlapping.
     * Fills out with one entry per series that exists (labels sorted by
     * name, aggs[n_iv], last_t = newest sample <= the last end or
     * INT64_MIN), all in arena. Errors as select. */
    int (*window_aggs)(void *ctx, const br_matcher *ms, size_t n, const br_interval *iv,
                       size_t n_iv, bool want_sum, br_arena *arena, br_series_aggs_set *out,
                       br_err *err);
    /* Optional: the oldest sample timestamp stored since the previous call
     * (INT64_MAX for none), so the SLO evaluator recounts when late data
     * lands inside windows it already summed. NULL = unknown; the
     * evaluator then relies on its periodic recount. */
    int64_t (*take_oldest_append)(void *ctx);
    /* Optional (NULL when the backend cannot): range statistics
     * (storage/range_stats.h) of every matching series' float samples in
     * n_ends windows of one length, window k being (ends[k] - range_ms,
     * ends[k]] when left_open and closed otherwise; for the evaluator's
     * long-range rate/increase/delta/count/min/max_over_time, which then
     * need not copy samples. Fills out with the series that have a float
     * sample or may have a histogram sample in some window, stats[n_ends]
     * each, labels and stats all in arena. Errors as select; BR_ELIMIT
     * also when series x n_ends would exceed max_windows (0 = no limit),
     * which bounds the memory the answer takes. */
    int (*range_stats)(void *ctx, const br_matcher *ms, size_t n, const int64_t *ends,
                       size_t n_ends, int64_t range_ms, bool left_open, size_t max_windows,
                       br_arena *arena, br_series_range_stats_set *out, br_err *err);
} br_queryable;

struct br_head;
/* A queryable over the embedded store (borrowed; must outlive q). */
void br_queryable_local(struct br_head *head, br_queryable *q);

#endif
