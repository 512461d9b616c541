/*
 * range_stats.h — what one series' float samples did inside one time
 * window, in the form PromQL's long-range functions need: count, first and
 * last sample, Prometheus' reset-corrected difference, min and max.
 *
 * Where it sits: storage/head_range_stats.c fills it from per-chunk
 * summaries (storage/chunk.h), decoding only the chunks at the window's
 * edges; engine/promql reads it through the backend's optional
 * range_stats callback (backend.h) and computes rate, increase, delta,
 * count_over_time, min_over_time and max_over_time from it without
 * copying samples. A plain value type, shared by both layers like
 * sample.h; no functions, no ownership.
 *
 * Exactness: every field equals, bit for bit, what one pass over the
 * window's samples in time order computes (stale markers skipped, as
 * PromQL range selectors drop them):
 *   counter_delta = last - first, then for each consecutive pair a -> b
 *                   with b < a, in order: counter_delta += a
 *                   (Prometheus' extrapolatedRate before extrapolation);
 *   min / max     = over non-NaN values with strict < / >, the first
 *                   non-NaN value starting both (so Prometheus'
 *                   min_over_time / max_over_time when has_nan is false).
 * When has_nan or has_histograms is set a caller that needs Prometheus'
 * exact semantics must read the samples instead.
 */
#ifndef BR_STORAGE_RANGE_STATS_H
#define BR_STORAGE_RANGE_STATS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct br_range_stats {
    uint64_t count;  /* float samples in the window, stale markers excluded */
    uint64_t resets; /* pairs a -> b with b < a */
    int64_t first_t; /* the first and last sample; valid when count > 0 */
    int64_t last_t;
    double first;
    double last;
    double counter_delta; /* see above; 0 when count == 0 */
    double min;           /* NaN when there is no non-NaN value */
    double max;
    bool has_nan;        /* a NaN other than the stale marker lies in the window */
    bool has_histograms; /* histogram samples may lie in the window (decided
                            from chunk time spans, so it can be true when
                            none does) */
} br_range_stats;

#endif
