/*
 * eval.h — evaluating PromQL: instant queries and range queries, with
 * Prometheus' semantics (lookback delta, staleness, extrapolated rate and
 * increase, vector matching, aggregation, histogram functions).
 *
 * The evaluator reads series only through a br_queryable (backend.h), so
 * it runs unchanged over the embedded store or a remote backend. All
 * memory of one evaluation, the result included, comes from the caller's
 * arena: free the arena and the result is gone. Any number of evaluations
 * may run concurrently (each with its own arena).
 *
 * (Implementation note: the evaluator works in two private arenas and
 * copies the finished result into the caller's arena before returning, so
 * the caller's arena holds only the result.)
 *
 * Errors: BR_EPARSE (the expression; the API answers bad_data/400),
 * BR_EEXEC (evaluation, e.g. many-to-many matching; execution/422),
 * BR_ELIMIT (too many samples or points; execution/422), BR_ETIMEOUT
 * (timeout/503), BR_EIO (backend failure; internal/500).
 */
#ifndef BR_PROMQL_EVAL_H
#define BR_PROMQL_EVAL_H

#include "engine/core/arena.h"
#include "engine/core/err.h"
#include "engine/promql/backend.h"
#include "storage/sample.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum br_value_type {
    BR_VALUE_NONE = 0,
    BR_VALUE_SCALAR,
    BR_VALUE_VECTOR,
    BR_VALUE_MATRIX,
    BR_VALUE_STRING,
} br_value_type;

/* One point: a float (h == NULL) or a native histogram (h != NULL). */
typedef struct br_point {
    int64_t t;
    double v;
    const br_histogram *h;
} br_point;

typedef struct br_result_series {
    const br_label *labels;  /* sorted by name; __name__ included when kept */
    size_t n_labels;
    const br_point *points;  /* vector: exactly one; matrix: in time order */
    size_t n_points;
} br_result_series;

typedef struct br_promql_result {
    br_value_type type;
    /* scalar and string results */
    int64_t t;
    double scalar;
    const char *string;
    /* vector and matrix results; a range query always yields a matrix.
     * Matrix series are sorted by labels; vector order is the
     * evaluation's (sorted only when the query used sort functions). */
    br_result_series *series;
    size_t n_series;
    /* Annotations Prometheus returns as "warnings" and "infos". */
    const char **warnings;
    size_t n_warnings;
    const char **infos;
    size_t n_infos;
} br_promql_result;

typedef enum br_promql_compat {
    BR_PROMQL_COMPAT_V3 = 0,  /* default: Prometheus 3 semantics */
    BR_PROMQL_COMPAT_V2 = 1,  /* Prometheus 2.x (closed range start, holt_winters, ...) */
} br_promql_compat;

typedef struct br_promql_options {
    int64_t lookback_ms;   /* 0 = 5 minutes */
    size_t max_samples;    /* 0 = 50,000,000 (Prometheus' default) */
    int64_t timeout_ms;    /* 0 = 2 minutes */
    br_promql_compat compat;
    /* Added by the evaluator: */
    int64_t subquery_step_ms;  /* step of [5m:] subqueries; 0 = 1 minute */
    /* Prometheus 3's --enable-feature=promql-delayed-name-removal: keep
     * __name__ through functions and operators and drop it at the end
     * (the peer test scripts run with it). Ignored under compat V2. */
    bool delayed_name_removal;
    /* Accept Prometheus' experimental syntax when parsing the query text
     * (br_promql_parse_ex with BR_PROMQL_PARSE_EXPERIMENTAL): duration
     * expressions, anchored and smoothed selectors, fill modifiers. Off by
     * default, as in Prometheus. br_promql_eval_tree evaluates whatever
     * tree it is given. */
    bool experimental_syntax;
    /* Long ranges from chunk summaries: rate, increase, delta,
     * count_over_time, min_over_time and max_over_time applied straight to
     * a selector whose range is at least this long are computed from the
     * backend's range_stats (when it has one) instead of its samples, with
     * identical results. 0 = 1 hour; < 0 = never (always read samples). */
    int64_t range_stats_min_ms;
    /* Annotations (warnings, infos) are produced only under compat V3. */
} br_promql_options;

/*
 * Evaluates an already parsed tree (borrowed; query is its text, used for
 * the line:col of annotations). Same contract as br_promql_eval_instant /
 * br_promql_eval_range; step 0 means an instant query at start.
 */
struct br_promql_node;
int br_promql_eval_tree(const br_queryable *q, const br_promql_options *opts,
                        const struct br_promql_node *root, const char *query, int64_t start,
                        int64_t end, int64_t step, br_arena *arena, br_promql_result *out,
                        br_err *err);

/* Evaluates expr at time t (ms). */
int br_promql_eval_instant(const br_queryable *q, const br_promql_options *opts,
                           const char *expr, int64_t t, br_arena *arena,
                           br_promql_result *out, br_err *err);

/* Evaluates expr at start, start+step, ... <= end (ms). The result is a
 * matrix (or, for scalar/string expressions, a matrix of one unlabelled
 * series as Prometheus returns). */
int br_promql_eval_range(const br_queryable *q, const br_promql_options *opts, const char *expr,
                         int64_t start, int64_t end, int64_t step, br_arena *arena,
                         br_promql_result *out, br_err *err);

#endif
