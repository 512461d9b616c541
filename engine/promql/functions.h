/*
 * functions.h — PromQL function implementations (Prometheus'
 * promql/functions.go and quantile.go), independent of the AST.
 *
 * Where it sits: eval.c evaluates the arguments of a call and, per step,
 * hands this module either one window of one series (range-vector
 * functions: rate, increase, delta, irate, idelta, deriv, predict_linear,
 * resets, changes, *_over_time, holt_winters) or a whole instant vector
 * (math, clamp, round, date functions, histogram_*, sort*, timestamp).
 * label_replace, label_join, absent and absent_over_time need the AST or
 * whole series and live in eval.c.
 *
 * Semantics follow Prometheus 3 unless the context says v2 (Prometheus
 * 2.x): extrapolation order in rate, avg_over_time's mean, irate's reset.
 * Results that Prometheus drops (too few samples, mixed floats and
 * histograms) come back with out->ok false; annotations go through the
 * context's note callback, worded as Prometheus words them.
 *
 * All memory comes from the context's arena. One thread per context.
 */
#ifndef BR_PROMQL_FUNCTIONS_H
#define BR_PROMQL_FUNCTIONS_H

#include "engine/core/arena.h"
#include "engine/core/err.h"
#include "engine/promql/functions_table.h"
#include "engine/promql/value.h"
#include "storage/range_stats.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A histogram at a time. */
typedef struct br_hpoint {
    int64_t t;
    const br_fhist *h;
} br_hpoint;

/* Annotation kinds for br_fctx.note. */
enum {
    BR_NOTE_INFO = 0,
    BR_NOTE_WARN = 1,
    /* Position flags: report at the parameter argument (quantile, k,
     * ratio) or at the whole expression instead of the main operand. */
    BR_NOTE_AT_PARAM = 0x10,
    BR_NOTE_AT_NODE = 0x20,
};

typedef struct br_fctx {
    br_arena *arena;
    bool v2;             /* Prometheus 2.x semantics */
    bool delayed_names;  /* keep __name__ and mark drop_name instead */
    void *note_ctx;
    /* Records an annotation (text without "PromQL warning: " and position). */
    void (*note)(void *note_ctx, int kind, const char *msg);
} br_fctx;

/* One window of one series, for range-vector functions. */
typedef struct br_window {
    const br_sample *f; /* floats in time order, stale markers removed */
    size_t nf;
    const br_hpoint *h; /* histograms in time order */
    size_t nh;
    int64_t range_start; /* exclusive: t - offset - range */
    int64_t range_end;   /* inclusive: t - offset */
    int64_t range_ms;    /* the selector's range */
    int64_t ts;          /* evaluation time of the step */
    br_lset ls;          /* the series' labels (for annotation texts) */
    /* Extended range selectors (Prometheus' experimental anchored and
     * smoothed modifiers): the window then also holds the samples of the
     * lookback delta before range_start (smoothed: and after range_end). */
    bool anchored;
    bool smoothed;
} br_window;

/* Result of a range-vector function at one step. */
typedef struct br_fout {
    bool ok;            /* false: no output for this series at this step */
    double f;
    const br_fhist *h;  /* histogram result, or NULL */
} br_fout;

/* True for functions whose argument is a range vector. */
bool br_fn_takes_range(br_promql_func_id id);

/*
 * Runs range-vector function id over window w. params holds the values of
 * the function's scalar arguments in argument order (quantile_over_time's
 * q, predict_linear's t, the smoothing and trend factors). Returns 0, or
 * BR_ELIMIT (arena full) / BR_EEXEC (bad argument, err filled).
 */
int br_fn_range(br_promql_func_id id, br_fctx *cx, const br_window *w, const double *params,
                size_t n_params, br_fout *out, br_err *err);

/*
 * Long-range shortcut: the functions below (rate, increase, delta,
 * count_over_time, min_over_time, max_over_time) computed from a window's
 * range statistics (storage/range_stats.h) instead of its samples. For a
 * window of floats only, without NaNs (st->has_nan and has_histograms
 * false; eval.c falls back to br_fn_range otherwise), the result is the
 * one br_fn_range gives, bit for bit: the same extrapolation code runs.
 * range_start/range_end/range_ms as in br_window. No annotations arise
 * for such windows.
 */
bool br_fn_range_stats_supported(br_promql_func_id id);
void br_fn_range_from_stats(br_promql_func_id id, const br_fctx *cx, const br_range_stats *st,
                            int64_t range_start, int64_t range_end, int64_t range_ms, br_fout *out);

/*
 * A smoothed instant vector selector at time ref (Prometheus'
 * smoothSeries): w holds the series' samples in (ref - lookback,
 * ref + lookback]; the result is the sample at ref, else the linear
 * interpolation between its neighbours (a histogram counter that reset
 * restarts from zero), else the last sample before ref; out->ok false when
 * there is none before ref or floats and histograms are mixed (with a
 * warning). Returns 0 or BR_ELIMIT.
 */
int br_fn_smoothed(br_fctx *cx, const br_window *w, int64_t ref, br_fout *out, br_err *err);

/*
 * An anchored or smoothed range selector evaluated on its own (Prometheus'
 * extendFloats): the value at range_start (last sample at or before it;
 * smoothed: interpolated), the samples strictly inside the range, and the
 * value at range_end. Writes into out (room for w->nf + 2) and returns
 * the count; 0 when no sample lies after range_start.
 */
size_t br_fn_extend_floats(const br_window *w, br_sample *out);

/*
 * Runs instant-vector function id on in (borrowed) at step time ts, adding
 * the results to out. params: the scalar arguments' values (clamp bounds,
 * round's "to nearest", histogram_quantile's q, histogram_fraction's
 * bounds) in argument order; str_params: string arguments (sort_by_label's
 * label names). For the date functions n_in < 0 means "no argument" (use
 * ts). Returns 0, BR_ELIMIT or BR_EEXEC.
 */
int br_fn_vector(br_promql_func_id id, br_fctx *cx, const br_vvec *in, bool has_vector_arg,
                 const double *params, size_t n_params, const char *const *str_params,
                 size_t n_str, int64_t ts, br_vvec *out, br_err *err);

/* ---- Building blocks, exposed for the unit tests and aggregate.c ------- */

/* Prometheus' quantile(): sorts values in place; NaN for none. */
double br_quantile(double q, double *values, size_t n);

/* A classic-histogram bucket. */
typedef struct br_bucket {
    double upper;
    double count;
} br_bucket;

/* Quantile over classic buckets (sorted, coalesced and made monotonic in
 * place). *forced tells whether monotonicity had to be forced; the other
 * out-parameters (may be NULL) describe where, for the annotation. */
double br_bucket_quantile(double q, br_bucket *b, size_t n, bool *forced, double *min_bucket,
                          double *max_bucket, double *max_diff);
/* Fraction of observations in (lower, upper] over classic buckets. */
double br_bucket_fraction(double lower, double upper, br_bucket *b, size_t n);
/* Quantile of a native histogram; *nan_note gets 1 (NaN result) or 2
 * (skewed) when the histogram has NaN observations, else 0. */
double br_histogram_quantile(double q, const br_fhist *h, int *nan_note);
/* Fraction of a native histogram's observations in [lower, upper];
 * *nan_note is set when NaN observations were excluded. */
double br_histogram_fraction(double lower, double upper, const br_fhist *h, bool *nan_note);

/* Least squares over floats; slope per second and intercept at
 * intercept_t (ms). */
void br_linear_regression(const br_sample *s, size_t n, int64_t intercept_t, double *slope,
                          double *intercept);

#endif
