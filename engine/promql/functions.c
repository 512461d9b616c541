/*
 * functions.c — PromQL functions over windows and instant vectors. See
 * functions.h for the contract.
 *
 * The arithmetic mirrors Prometheus (promql/functions.go, quantile.go)
 * closely, including where it is subtle:
 *   - rate/increase/delta extrapolate to the window edges only when the
 *     first/last sample lies within 1.1 average sample intervals of them,
 *     otherwise by half an interval; counters never extrapolate below zero.
 *     Prometheus 3 caps the start extrapolation before applying the zero
 *     point, 2.x the other way round (br_fctx.v2).
 *   - Sums use Kahan-Neumaier compensation where Prometheus does, so that
 *     results such as an exact 0 come out the same.
 *   - histogram_quantile over classic buckets sorts and coalesces the
 *     buckets, ignores relative deltas below 1e-12 and forces monotonicity.
 * Everything runs on the evaluating thread and allocates from cx->arena.
 */
#include "functions.h"

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SMALL_DELTA_TOLERANCE 1e-12

/* ======================================================================== */
/* Helpers                                                                  */
/* ======================================================================== */

static const char *metric_name(br_lset ls)
{
    const char *n = br_lset_get(ls, BR_LABEL_NAME);
    return n != NULL ? n : "";
}

static void notef(br_fctx *cx, int kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void notef(br_fctx *cx, int kind, const char *fmt, ...)
{
    if (cx->note == NULL) {
        return;
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cx->note(cx->note_ctx, kind, msg);
}

static void note_mixed_floats_histograms(br_fctx *cx, br_lset ls)
{
    notef(cx, BR_NOTE_WARN, "encountered a mix of histograms and floats for metric name \"%s\"",
          metric_name(ls));
}

static void note_ignored_mixed(br_fctx *cx, br_lset ls)
{
    notef(cx, BR_NOTE_INFO,
          "ignored histograms in a range containing both floats and histograms for metric "
          "name \"%s\"",
          metric_name(ls));
}

static void note_mixed_exp_custom(br_fctx *cx, br_lset ls)
{
    notef(cx, BR_NOTE_WARN,
          "vector contains a mix of histograms with exponential and custom buckets schemas for "
          "metric name \"%s\"",
          metric_name(ls));
}

static void note_not_counter(br_fctx *cx, br_lset ls)
{
    notef(cx, BR_NOTE_WARN, "this native histogram metric is not a counter: \"%s\"",
          metric_name(ls));
}

static void note_not_gauge(br_fctx *cx, br_lset ls)
{
    notef(cx, BR_NOTE_WARN, "this native histogram metric is not a gauge: \"%s\"",
          metric_name(ls));
}

static void note_reconciled(br_fctx *cx, const char *op)
{
    notef(cx, BR_NOTE_INFO, "mismatched custom buckets were reconciled during %s", op);
}

static void note_invalid_quantile(br_fctx *cx, double q)
{
    char b[64];
    notef(cx, BR_NOTE_WARN | BR_NOTE_AT_PARAM, "quantile value should be between 0 and 1, got %s",
          br_format_float_g(q, b, sizeof(b)));
}

static int arena_full(br_err *err)
{
    return br_err_set(err, BR_ELIMIT, "query memory limit exceeded");
}

/* ======================================================================== */
/* Range-vector functions                                                   */
/* ======================================================================== */

bool br_fn_takes_range(br_promql_func_id id)
{
    const br_promql_function *f = br_promql_function_by_id(id);
    if (f == NULL) {
        return false;
    }
    int n = f->n_args > 0 ? f->n_args : 0;
    for (int i = 0; i < n; i++) {
        if (f->arg_types[i] == BR_PROMQL_TYPE_MATRIX) {
            return true;
        }
    }
    return false;
}

/* Prometheus' histogramRate: last - first with counter resets added back.
 * Returns NULL (with an annotation) when the histograms do not combine;
 * *oom is set when the arena is full. */
static br_fhist *histogram_rate(br_fctx *cx, const br_window *w, bool counter, bool *oom)
{
    const br_hpoint *p = w->h;
    size_t n = w->nh;
    const br_fhist *prev = p[0].h;
    const br_fhist *last = p[n - 1].h;
    br_fhist empty;
    *oom = false;
    if (counter &&
        (prev->hint == BR_HIST_RESET_GAUGE || last->hint == BR_HIST_RESET_GAUGE)) {
        note_not_counter(cx, w->ls);
    }
    bool custom = br_fhist_custom(prev);
    if (counter) {
        const br_fhist *second = p[1].h;
        if (br_fhist_detect_reset(second, prev)) {
            memset(&empty, 0, sizeof(empty));
            empty.schema = second->schema;
            empty.custom = second->custom;
            empty.n_custom = second->n_custom;
            prev = &empty;
            custom = br_fhist_custom(second);
        }
    }
    if (br_fhist_custom(last) != custom) {
        note_mixed_exp_custom(cx, w->ls);
        return NULL;
    }
    int32_t min_schema = last->schema < prev->schema ? last->schema : prev->schema;
    for (size_t i = 1; i + 1 < n; i++) {
        const br_fhist *cur = p[i].h;
        if (!counter) {
            continue;
        }
        if (cur->hint == BR_HIST_RESET_GAUGE) {
            note_not_counter(cx, w->ls);
        }
        if (cur->schema < min_schema) {
            min_schema = cur->schema;
        }
        if (br_fhist_custom(cur) != custom) {
            note_mixed_exp_custom(cx, w->ls);
            return NULL;
        }
    }
    br_fhist *h = br_fhist_to_schema(cx->arena, last, min_schema);
    if (h == NULL) {
        *oom = true;
        return NULL;
    }
    unsigned flags = 0;
    int rc = br_fhist_add(cx->arena, h, prev, true, NULL, &flags);
    if (rc == BR_FH_EINCOMPAT) {
        note_mixed_exp_custom(cx, w->ls);
        return NULL;
    }
    if (rc < 0) {
        *oom = true;
        return NULL;
    }
    if (flags & BR_FH_NHCB_RECONCILED) {
        note_reconciled(cx, "subtraction");
    }
    if (counter) {
        const br_fhist *pv = prev;
        for (size_t i = 1; i < n; i++) {
            const br_fhist *cur = p[i].h;
            if (br_fhist_detect_reset(cur, pv)) {
                rc = br_fhist_add(cx->arena, h, pv, false, NULL, &flags);
                if (rc == BR_FH_EINCOMPAT) {
                    note_mixed_exp_custom(cx, w->ls);
                    return NULL;
                }
                if (rc < 0) {
                    *oom = true;
                    return NULL;
                }
                if (flags & BR_FH_NHCB_RECONCILED) {
                    note_reconciled(cx, "addition");
                }
            }
            pv = cur;
        }
    } else if (p[0].h->hint != BR_HIST_RESET_GAUGE || last->hint != BR_HIST_RESET_GAUGE) {
        note_not_gauge(cx, w->ls);
    }
    h->hint = BR_HIST_RESET_GAUGE;
    br_fhist_trim(h);
    return h;
}

/* Where a rate/increase/delta window's samples lie, for extrapolation. */
typedef struct rate_span {
    int64_t range_start; /* the window, as in br_window */
    int64_t range_end;
    int64_t range_ms;
    int64_t first_t; /* first and last sample */
    int64_t last_t;
    size_t n_minus_one; /* samples - 1 (>= 1) */
    double first;       /* first float value, or the first histogram's count */
} rate_span;

/* The factor Prometheus' extrapolatedRate multiplies the raw difference
 * (result, or the histogram rh) by: extrapolation to the window's edges,
 * and per second for rate. */
static double extrapolation_factor(const br_fctx *cx, const rate_span *sp, bool counter,
                                   bool is_rate, double result, const br_fhist *rh)
{
    double to_start = (double)(sp->first_t - sp->range_start) / 1000;
    double to_end = (double)(sp->range_end - sp->last_t) / 1000;
    double sampled = (double)(sp->last_t - sp->first_t) / 1000;
    double avg = sampled / (double)sp->n_minus_one;
    double threshold = avg * 1.1;
    if (cx->v2) {
        if (counter && rh == NULL && result > 0 && sp->first >= 0) {
            double to_zero = sampled * (sp->first / result);
            if (to_zero < to_start) {
                to_start = to_zero;
            }
        }
        double ext = sampled;
        ext += to_start < threshold ? to_start : avg / 2;
        ext += to_end < threshold ? to_end : avg / 2;
        double factor = ext / sampled;
        if (is_rate) {
            factor /= (double)sp->range_ms / 1000;
        }
        return factor;
    }
    if (to_start >= threshold) {
        to_start = avg / 2;
    }
    if (counter) {
        double to_zero = to_start;
        if (rh == NULL && result > 0 && sp->first >= 0) {
            to_zero = sampled * (sp->first / result);
        } else if (rh != NULL && rh->count > 0 && sp->first >= 0) {
            to_zero = sampled * (sp->first / rh->count);
        }
        if (to_zero < to_start) {
            to_start = to_zero;
        }
    }
    if (to_end >= threshold) {
        to_end = avg / 2;
    }
    double factor = 1.0;
    if (sampled != 0) {
        factor = (sampled + to_start + to_end) / sampled;
    }
    if (is_rate) {
        factor /= (double)sp->range_ms / 1000;
    }
    return factor;
}

static int extrapolated_rate(br_fctx *cx, const br_window *w, bool counter, bool is_rate,
                             br_fout *out, br_err *err)
{
    out->ok = false;
    if (w->nh > 0 && w->nf > 0) {
        note_mixed_floats_histograms(cx, w->ls);
        return 0;
    }
    double result = 0;
    br_fhist *rh = NULL;
    rate_span sp = {
        .range_start = w->range_start, .range_end = w->range_end, .range_ms = w->range_ms};
    if (w->nh > 0) {
        if (w->nh < 2) {
            return 0;
        }
        sp.n_minus_one = w->nh - 1;
        sp.first_t = w->h[0].t;
        sp.last_t = w->h[sp.n_minus_one].t;
        sp.first = w->h[0].h->count;
        bool oom;
        rh = histogram_rate(cx, w, counter, &oom);
        if (oom) {
            return arena_full(err);
        }
        if (rh == NULL) {
            return 0;
        }
    } else if (w->nf > 0) {
        if (w->nf < 2) {
            return 0;
        }
        sp.n_minus_one = w->nf - 1;
        sp.first_t = w->f[0].t;
        sp.last_t = w->f[sp.n_minus_one].t;
        sp.first = w->f[0].v;
        result = w->f[sp.n_minus_one].v - w->f[0].v;
        if (counter) {
            for (size_t i = 1; i < w->nf; i++) {
                if (w->f[i].v < w->f[i - 1].v) {
                    result += w->f[i - 1].v;
                }
            }
        }
    } else {
        return 0;
    }
    double factor = extrapolation_factor(cx, &sp, counter, is_rate, result, rh);
    if (rh == NULL) {
        result *= factor;
    } else {
        br_fhist_mul(rh, factor);
    }
    out->ok = true;
    out->f = result;
    out->h = rh;
    return 0;
}

bool br_fn_range_stats_supported(br_promql_func_id id)
{
    switch (id) {
    case BR_PROMQL_FN_RATE:
    case BR_PROMQL_FN_INCREASE:
    case BR_PROMQL_FN_DELTA:
    case BR_PROMQL_FN_COUNT_OVER_TIME:
    case BR_PROMQL_FN_MIN_OVER_TIME:
    case BR_PROMQL_FN_MAX_OVER_TIME:
        return true;
    default:
        return false;
    }
}

void br_fn_range_from_stats(br_promql_func_id id, const br_fctx *cx, const br_range_stats *st,
                            int64_t range_start, int64_t range_end, int64_t range_ms, br_fout *out)
{
    out->ok = false;
    out->f = 0;
    out->h = NULL;
    if (st->count == 0) {
        return;
    }
    switch (id) {
    case BR_PROMQL_FN_RATE:
    case BR_PROMQL_FN_INCREASE:
    case BR_PROMQL_FN_DELTA: {
        if (st->count < 2) {
            return;
        }
        bool counter = id != BR_PROMQL_FN_DELTA;
        rate_span sp = {.range_start = range_start,
                        .range_end = range_end,
                        .range_ms = range_ms,
                        .first_t = st->first_t,
                        .last_t = st->last_t,
                        .n_minus_one = (size_t)(st->count - 1),
                        .first = st->first};
        double result = counter ? st->counter_delta : st->last - st->first;
        result *= extrapolation_factor(cx, &sp, counter, id == BR_PROMQL_FN_RATE, result, NULL);
        out->ok = true;
        out->f = result;
        return;
    }
    case BR_PROMQL_FN_COUNT_OVER_TIME:
        out->ok = true;
        out->f = (double)st->count;
        return;
    case BR_PROMQL_FN_MIN_OVER_TIME:
        out->ok = true;
        out->f = st->min;
        return;
    case BR_PROMQL_FN_MAX_OVER_TIME:
        out->ok = true;
        out->f = st->max;
        return;
    default:
        return;
    }
}

/* ---- Anchored and smoothed windows (Prometheus' extended range selectors)
 *
 * Such a window holds, besides the samples of (range_start, range_end],
 * those of the lookback delta before range_start (and, smoothed, after
 * range_end): eval.c selects them. rate/increase/delta then take the
 * difference between the value at the start (the last sample at or
 * before it; smoothed: interpolated there) and the value at the end
 * (smoothed: interpolated), plus counter resets in between, and do not
 * extrapolate. */

/* sort.Search(n, t > bound) (strict) or t >= bound over floats. */
static size_t search_floats(const br_sample *f, size_t n, int64_t bound, bool strict)
{
    size_t lo = 0;
    size_t hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strict ? f[mid].t > bound : f[mid].t >= bound) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}

static size_t search_hists(const br_hpoint *h, size_t n, int64_t bound, bool strict)
{
    size_t lo = 0;
    size_t hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strict ? h[mid].t > bound : h[mid].t >= bound) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}

/* Linear interpolation at t; a counter that went down restarts from 0. */
static double interpolate_float(const br_sample *p1, const br_sample *p2, int64_t t, bool counter)
{
    double y1 = p1->v;
    double y2 = p2->v;
    if (counter && y2 < y1) {
        y1 = 0;
    }
    return y1 + (y2 - y1) * (double)(t - p1->t) / (double)(p2->t - p1->t);
}

/* Histogram interpolation at t (Prometheus' interpolateHistograms).
 * Returns 0, BR_FH_EINCOMPAT (exponential and custom buckets mixed) or -1
 * (arena full). */
static int interpolate_hist(br_fctx *cx, const br_hpoint *p1, const br_hpoint *p2, int64_t t,
                            bool counter, br_fhist **out)
{
    *out = NULL;
    if (t == p1->t || t == p2->t) {
        *out = br_fhist_copy(cx->arena, t == p1->t ? p1->h : p2->h);
        return *out != NULL ? 0 : -1;
    }
    double fraction = (double)(t - p1->t) / (double)(p2->t - p1->t);
    br_fhist *r = br_fhist_copy(cx->arena, p2->h);
    if (r == NULL) {
        return -1;
    }
    if (counter && br_fhist_detect_reset(p2->h, p1->h)) {
        br_fhist_mul(r, fraction);
        *out = r;
        return 0;
    }
    unsigned flags = 0;
    int rc = br_fhist_add(cx->arena, r, p1->h, true, NULL, &flags);
    if (rc != 0) {
        return rc;
    }
    if (flags & BR_FH_NHCB_RECONCILED) {
        note_reconciled(cx, "subtraction");
    }
    br_fhist_mul(r, fraction);
    flags = 0;
    rc = br_fhist_add(cx->arena, r, p1->h, false, NULL, &flags);
    if (rc != 0) {
        return rc;
    }
    if (flags & BR_FH_NHCB_RECONCILED) {
        note_reconciled(cx, "addition");
    }
    *out = r;
    return 0;
}

/* The boundary indexes of an extended window: first is the last sample at
 * or before range_start (or the first one); last is the last sample, or
 * (smoothed) the first at or after range_end. False when the window has
 * nothing to measure. */
typedef struct ext_bounds {
    size_t first;
    size_t last;
} ext_bounds;

static bool ext_bounds_floats(const br_window *w, ext_bounds *b)
{
    size_t last = w->nf - 1;
    size_t s = search_floats(w->f, last, w->range_start, true);
    b->first = s > 0 ? s - 1 : 0;
    if (w->smoothed) {
        last = search_floats(w->f, last, w->range_end, false);
    }
    b->last = last;
    if (w->f[last].t <= w->range_start) {
        return false;
    }
    return !(w->smoothed && w->f[b->first].t > w->range_end);
}

static bool ext_bounds_hists(const br_window *w, ext_bounds *b)
{
    size_t last = w->nh - 1;
    size_t s = search_hists(w->h, last, w->range_start, true);
    b->first = s > 0 ? s - 1 : 0;
    if (w->smoothed) {
        last = search_hists(w->h, last, w->range_end, false);
    }
    b->last = last;
    if (w->h[last].t <= w->range_start) {
        return false;
    }
    return !(w->smoothed && w->h[b->first].t > w->range_end);
}

/* Prometheus' extendedRate, for floats. */
static void extended_rate_floats(const br_window *w, bool counter, bool is_rate, br_fout *out)
{
    ext_bounds b;
    if (!ext_bounds_floats(w, &b)) {
        return;
    }
    const br_sample *f = w->f;
    double left = f[b.first].v;
    if (w->smoothed && f[b.first].t < w->range_start) {
        left = interpolate_float(&f[b.first], &f[b.first + 1], w->range_start, counter);
    }
    double right = f[b.last].v;
    if (w->smoothed && b.last > 0 && f[b.last].t > w->range_end) {
        right = interpolate_float(&f[b.last - 1], &f[b.last], w->range_end, counter);
    }
    double result = right - left;
    if (counter) {
        /* Resets at the boundaries are in left and right already. */
        int64_t i0 = (int64_t)b.first;
        int64_t i1 = (int64_t)b.last;
        if (f[i0].t <= w->range_start) {
            i0++;
        }
        if (f[i1].t >= w->range_end) {
            i1--;
        }
        double correction = 0;
        double prev = left;
        for (int64_t i = i0; i <= i1; i++) {
            if (f[i].v < prev) {
                correction += prev;
            }
            prev = f[i].v;
        }
        if (right < prev) {
            correction += prev;
        }
        result += correction;
    }
    if (is_rate) {
        result /= (double)w->range_ms / 1000;
    }
    out->ok = true;
    out->f = result;
}

/* Adds (sub: subtracts) o to h with Prometheus' annotations; false (with
 * *oom set when the arena is full) when the histograms do not combine. */
static bool hist_combine(br_fctx *cx, const br_window *w, br_fhist *h, const br_fhist *o, bool sub,
                         bool *oom)
{
    unsigned flags = 0;
    int rc = br_fhist_add(cx->arena, h, o, sub, NULL, &flags);
    if (rc == BR_FH_EINCOMPAT) {
        note_mixed_exp_custom(cx, w->ls);
        return false;
    }
    if (rc < 0) {
        *oom = true;
        return false;
    }
    if (flags & BR_FH_NHCB_RECONCILED) {
        note_reconciled(cx, sub ? "subtraction" : "addition");
    }
    return true;
}

/* The counter-reset correction between the boundaries (Prometheus'
 * correctForCounterResetsHistogram). *corr stays NULL when there is none.
 * False when the histograms do not combine. */
static bool hist_reset_correction(br_fctx *cx, const br_window *w, const ext_bounds *b,
                                  const br_fhist *left, const br_fhist *right, br_fhist **corr,
                                  bool *oom)
{
    const br_hpoint *h = w->h;
    *corr = NULL;
    int64_t first = (int64_t)b->first + 1;
    const br_fhist *prev = left;
    if (w->smoothed && h[b->first].t < w->range_start &&
        br_fhist_detect_reset(h[b->first + 1].h, h[b->first].h)) {
        /* The left interpolation spanned that reset already. */
        prev = h[b->first + 1].h;
        first++;
    }
    /* h[last] is right itself (or what right was interpolated towards). */
    int64_t last = (int64_t)b->last - 1;
    if (first > last + 1) {
        return true;
    }
    for (int64_t i = first; i <= last + 1; i++) {
        const br_fhist *cur = i <= last ? h[i].h : right;
        if (br_fhist_detect_reset(cur, prev)) {
            if (*corr == NULL) {
                *corr = br_fhist_copy(cx->arena, prev);
                if (*corr == NULL) {
                    *oom = true;
                    return false;
                }
            } else if (!hist_combine(cx, w, *corr, prev, false, oom)) {
                return false;
            }
        }
        prev = cur;
    }
    return true;
}

/* Prometheus' extendedHistogramRate. */
static int extended_rate_hists(br_fctx *cx, const br_window *w, bool counter, bool is_rate,
                               br_fout *out, br_err *err)
{
    ext_bounds b;
    if (!ext_bounds_hists(w, &b)) {
        return 0;
    }
    const br_hpoint *h = w->h;
    bool custom = br_fhist_custom(h[b.first].h);
    for (size_t i = b.first; i <= b.last; i++) {
        if (br_fhist_custom(h[i].h) != custom) {
            note_mixed_exp_custom(cx, w->ls);
            return 0;
        }
        if (counter && h[i].h->hint == BR_HIST_RESET_GAUGE) {
            note_not_counter(cx, w->ls);
        }
    }
    br_fhist *left;
    br_fhist *right;
    int rc;
    if (w->smoothed && h[b.first].t < w->range_start) {
        rc = interpolate_hist(cx, &h[b.first], &h[b.first + 1], w->range_start, counter, &left);
    } else {
        left = br_fhist_copy(cx->arena, h[b.first].h);
        rc = left != NULL ? 0 : -1;
    }
    if (rc == 0) {
        if (w->smoothed && b.last > 0 && h[b.last].t > w->range_end) {
            rc = interpolate_hist(cx, &h[b.last - 1], &h[b.last], w->range_end, counter, &right);
        } else {
            right = br_fhist_copy(cx->arena, h[b.last].h);
            rc = right != NULL ? 0 : -1;
        }
    }
    if (rc == BR_FH_EINCOMPAT) {
        note_mixed_exp_custom(cx, w->ls);
        return 0;
    }
    if (rc < 0) {
        return arena_full(err);
    }
    if (!counter && (left->hint != BR_HIST_RESET_GAUGE || right->hint != BR_HIST_RESET_GAUGE)) {
        note_not_gauge(cx, w->ls);
    }
    bool oom = false;
    br_fhist *res = br_fhist_copy(cx->arena, right);
    if (res == NULL) {
        return arena_full(err);
    }
    if (!hist_combine(cx, w, res, left, true, &oom)) {
        return oom ? arena_full(err) : 0;
    }
    if (counter) {
        br_fhist *corr;
        if (!hist_reset_correction(cx, w, &b, left, right, &corr, &oom) ||
            (corr != NULL && !hist_combine(cx, w, res, corr, false, &oom))) {
            return oom ? arena_full(err) : 0;
        }
    }
    if (is_rate) {
        br_fhist_div(res, (double)w->range_ms / 1000);
    }
    res->hint = BR_HIST_RESET_GAUGE;
    br_fhist_trim(res);
    out->ok = true;
    out->h = res;
    return 0;
}

/* rate, increase and delta over an anchored or smoothed window. */
static int extended_rate(br_fctx *cx, const br_window *w, bool counter, bool is_rate, br_fout *out,
                         br_err *err)
{
    out->ok = false;
    if (w->nh > 0 && w->nf > 0) {
        note_mixed_floats_histograms(cx, w->ls);
        return 0;
    }
    if (w->nh > 0) {
        return extended_rate_hists(cx, w, counter, is_rate, out, err);
    }
    if (w->nf > 0) {
        extended_rate_floats(w, counter, is_rate, out);
    }
    return 0;
}

/*
 * Where resets() and changes() start in an anchored window (Prometheus'
 * pickFirstSampleIndices): at the newest sample, float or histogram, at or
 * before range_start, skipping older ones. False when no sample lies
 * after range_start. Not anchored: from the beginning.
 */
static bool first_sample_indexes(const br_window *w, size_t *ff, size_t *fh)
{
    *ff = 0;
    *fh = 0;
    if (!w->anchored) {
        return true;
    }
    int64_t lf = (int64_t)search_floats(w->f, w->nf, w->range_start, true) - 1;
    int64_t lh = (int64_t)search_hists(w->h, w->nh, w->range_start, true) - 1;
    if (lf + 1 >= (int64_t)w->nf && lh + 1 >= (int64_t)w->nh) {
        return false;
    }
    if (lf < 0 && lh < 0) {
        return true;
    }
    if (lh < 0 || (lf >= 0 && w->f[lf].t >= w->h[lh].t)) {
        *ff = (size_t)lf;
        *fh = (size_t)(lh + 1);
    } else {
        *ff = (size_t)(lf + 1);
        *fh = (size_t)lh;
    }
    return true;
}

size_t br_fn_extend_floats(const br_window *w, br_sample *out)
{
    if (w->nf == 0) {
        return 0;
    }
    ext_bounds b;
    size_t last = w->nf - 1;
    size_t s = search_floats(w->f, last, w->range_start, true);
    b.first = s > 0 ? s - 1 : 0;
    if (w->smoothed) {
        last = search_floats(w->f, last, w->range_end, false);
    }
    b.last = last;
    const br_sample *f = w->f;
    if (f[last].t <= w->range_start) {
        return 0;
    }
    double left = f[b.first].v;
    if (w->smoothed && f[b.first].t < w->range_start) {
        left = interpolate_float(&f[b.first], &f[b.first + 1], w->range_start, false);
    }
    double right = f[b.last].v;
    if (w->smoothed && b.last > 0 && f[b.last].t > w->range_end) {
        right = interpolate_float(&f[b.last - 1], &f[b.last], w->range_end, false);
    }
    int64_t i0 = (int64_t)b.first;
    int64_t i1 = (int64_t)b.last;
    if (f[i0].t <= w->range_start) {
        i0++;
    }
    if (f[i1].t >= w->range_end) {
        i1--;
    }
    size_t n = 0;
    out[n].t = w->range_start;
    out[n].v = left;
    n++;
    for (int64_t i = i0; i <= i1; i++) {
        out[n++] = f[i];
    }
    out[n].t = w->range_end;
    out[n].v = right;
    n++;
    return n;
}

int br_fn_smoothed(br_fctx *cx, const br_window *w, int64_t ref, br_fout *out, br_err *err)
{
    out->ok = false;
    out->h = NULL;
    if (w->nf + w->nh == 0) {
        return 0;
    }
    if (w->nf > 0 && w->nh > 0) {
        note_mixed_floats_histograms(cx, w->ls);
        return 0;
    }
    if (w->nh > 0) {
        size_t i = search_hists(w->h, w->nh, ref, false);
        const br_hpoint *h = w->h;
        br_fhist *r = NULL;
        if (i < w->nh && h[i].t == ref) {
            r = br_fhist_copy(cx->arena, h[i].h);
        } else if (i > 0 && i < w->nh) {
            if (br_fhist_custom(h[i - 1].h) != br_fhist_custom(h[i].h)) {
                note_mixed_exp_custom(cx, w->ls);
                return 0;
            }
            bool counter =
                h[i - 1].h->hint != BR_HIST_RESET_GAUGE || h[i].h->hint != BR_HIST_RESET_GAUGE;
            int rc = interpolate_hist(cx, &h[i - 1], &h[i], ref, counter, &r);
            if (rc == BR_FH_EINCOMPAT) {
                note_mixed_exp_custom(cx, w->ls);
                return 0;
            }
            if (rc < 0) {
                return arena_full(err);
            }
        } else if (i > 0) {
            /* No later sample yet: carry the last one forward; its hint
             * described its predecessor, not this value. */
            r = br_fhist_copy(cx->arena, h[i - 1].h);
            if (r != NULL) {
                r->hint = BR_HIST_RESET_UNKNOWN;
            }
        } else {
            return 0;
        }
        if (r == NULL) {
            return arena_full(err);
        }
        out->ok = true;
        out->h = r;
        return 0;
    }
    size_t i = search_floats(w->f, w->nf, ref, false);
    if (i < w->nf && w->f[i].t == ref) {
        out->f = w->f[i].v;
    } else if (i > 0 && i < w->nf) {
        out->f = interpolate_float(&w->f[i - 1], &w->f[i], ref, false);
    } else if (i > 0) {
        out->f = w->f[i - 1].v;
    } else {
        return 0;
    }
    out->ok = true;
    return 0;
}

static int instant_value(br_fctx *cx, const br_window *w, bool is_rate, br_fout *out,
                         br_err *err)
{
    out->ok = false;
    if (w->nf + w->nh < 2) {
        return 0;
    }
    /* The two newest samples, floats and histograms together. */
    struct {
        int64_t t;
        double f;
        const br_fhist *h;
    } ss[2];
    size_t n = 0;
    for (size_t i = w->nf >= 2 ? w->nf - 2 : 0; i < w->nf; i++) {
        ss[n].t = w->f[i].t;
        ss[n].f = w->f[i].v;
        ss[n].h = NULL;
        n++;
    }
    for (size_t i = w->nh >= 2 ? w->nh - 2 : 0; i < w->nh; i++) {
        int64_t t = w->h[i].t;
        if (n == 0) {
            ss[0].t = t;
            ss[0].h = w->h[i].h;
            ss[0].f = 0;
            n = 1;
        } else if (n == 1) {
            if (t < ss[0].t) {
                ss[1] = ss[0];
                ss[0].t = t;
                ss[0].h = w->h[i].h;
                ss[0].f = 0;
            } else {
                ss[1].t = t;
                ss[1].h = w->h[i].h;
                ss[1].f = 0;
            }
            n = 2;
        } else if (t < ss[0].t) {
            /* older than both: ignore */
        } else if (t > ss[1].t) {
            ss[0] = ss[1];
            ss[1].t = t;
            ss[1].h = w->h[i].h;
            ss[1].f = 0;
        } else {
            ss[0].t = t;
            ss[0].h = w->h[i].h;
            ss[0].f = 0;
        }
    }
    int64_t interval = ss[1].t - ss[0].t;
    if (interval == 0) {
        return 0;
    }
    double rf = ss[1].f;
    br_fhist *rh = NULL;
    if (ss[0].h == NULL && ss[1].h == NULL) {
        if (!is_rate || !(ss[1].f < ss[0].f)) {
            rf = ss[1].f - ss[0].f;
        }
    } else if (ss[0].h != NULL && ss[1].h != NULL) {
        rh = br_fhist_copy(cx->arena, ss[1].h);
        if (rh == NULL) {
            return arena_full(err);
        }
        if (is_rate && (ss[1].h->hint == BR_HIST_RESET_GAUGE ||
                        ss[0].h->hint == BR_HIST_RESET_GAUGE)) {
            note_not_counter(cx, w->ls);
        }
        if (!is_rate && (ss[1].h->hint != BR_HIST_RESET_GAUGE ||
                         ss[0].h->hint != BR_HIST_RESET_GAUGE)) {
            note_not_gauge(cx, w->ls);
        }
        if (!is_rate || !br_fhist_detect_reset(ss[1].h, ss[0].h)) {
            unsigned flags;
            int rc = br_fhist_add(cx->arena, rh, ss[0].h, true, NULL, &flags);
            if (rc == BR_FH_EINCOMPAT) {
                note_mixed_exp_custom(cx, w->ls);
                return 0;
            }
            if (rc < 0) {
                return arena_full(err);
            }
            if (flags & BR_FH_NHCB_RECONCILED) {
                note_reconciled(cx, "subtraction");
            }
        }
        rh->hint = BR_HIST_RESET_GAUGE;
        br_fhist_trim(rh);
    } else {
        note_mixed_floats_histograms(cx, w->ls);
        return 0;
    }
    if (is_rate) {
        double secs = (double)interval / 1000;
        if (rh == NULL) {
            rf /= secs;
        } else {
            br_fhist_div(rh, secs);
        }
    }
    out->ok = true;
    out->f = rf;
    out->h = rh;
    return 0;
}

void br_linear_regression(const br_sample *s, size_t n, int64_t intercept_t, double *slope,
                          double *intercept)
{
    double cnt = 0;
    double sum_x = 0;
    double c_x = 0;
    double sum_y = 0;
    double c_y = 0;
    double sum_xy = 0;
    double c_xy = 0;
    double sum_x2 = 0;
    double c_x2 = 0;
    double init_y = s[0].v;
    bool const_y = true;
    for (size_t i = 0; i < n; i++) {
        if (const_y && i > 0 && s[i].v != init_y) {
            const_y = false;
        }
        cnt += 1.0;
        double x = (double)(s[i].t - intercept_t) / 1e3;
        br_kahan_inc(x, &sum_x, &c_x);
        br_kahan_inc(s[i].v, &sum_y, &c_y);
        br_kahan_inc(x * s[i].v, &sum_xy, &c_xy);
        br_kahan_inc(x * x, &sum_x2, &c_x2);
    }
    if (const_y) {
        if (isinf(init_y)) {
            *slope = NAN;
            *intercept = NAN;
            return;
        }
        *slope = 0;
        *intercept = init_y;
        return;
    }
    sum_x += c_x;
    sum_y += c_y;
    sum_xy += c_xy;
    sum_x2 += c_x2;
    double cov_xy = sum_xy - sum_x * sum_y / cnt;
    double var_x = sum_x2 - sum_x * sum_x / cnt;
    *slope = cov_xy / var_x;
    *intercept = sum_y / cnt - *slope * sum_x / cnt;
}

/* The float samples and histogram samples of a window, merged by time. */
typedef struct merged_iter {
    const br_window *w;
    size_t i_f;
    size_t i_h;
} merged_iter;

static bool merged_next(merged_iter *it, double *f, const br_fhist **h, int64_t *t)
{
    const br_window *w = it->w;
    if (it->i_f < w->nf && (it->i_h >= w->nh || w->f[it->i_f].t < w->h[it->i_h].t)) {
        *f = w->f[it->i_f].v;
        *t = w->f[it->i_f].t;
        *h = NULL;
        it->i_f++;
        return true;
    }
    if (it->i_h < w->nh) {
        *h = w->h[it->i_h].h;
        *t = w->h[it->i_h].t;
        *f = 0;
        it->i_h++;
        if (it->i_f < w->nf && w->f[it->i_f].t == *t) {
            it->i_f++; /* same timestamp: the histogram wins */
        }
        return true;
    }
    return false;
}

static void fn_resets(const br_window *w, br_fout *out)
{
    merged_iter it = {w, 0, 0};
    if (!first_sample_indexes(w, &it.i_f, &it.i_h)) {
        out->ok = false;
        return;
    }
    double pf = 0;
    double cf;
    const br_fhist *ph = NULL;
    const br_fhist *ch;
    int64_t t;
    if (!merged_next(&it, &pf, &ph, &t)) {
        out->ok = false;
        return;
    }
    double resets = 0;
    while (merged_next(&it, &cf, &ch, &t)) {
        if (ph == NULL && ch == NULL) {
            if (cf < pf) {
                resets++;
            }
        } else if ((ph == NULL) != (ch == NULL)) {
            resets++;
        } else if (br_fhist_detect_reset(ch, ph)) {
            resets++;
        }
        pf = cf;
        ph = ch;
    }
    out->ok = true;
    out->f = resets;
}

static void fn_changes(const br_window *w, br_fout *out)
{
    merged_iter it = {w, 0, 0};
    if (!first_sample_indexes(w, &it.i_f, &it.i_h)) {
        out->ok = false;
        return;
    }
    double pf = 0;
    double cf;
    const br_fhist *ph = NULL;
    const br_fhist *ch;
    int64_t t;
    if (!merged_next(&it, &pf, &ph, &t)) {
        out->ok = false;
        return;
    }
    double changes = 0;
    while (merged_next(&it, &cf, &ch, &t)) {
        if (ph == NULL && ch == NULL) {
            if (cf != pf && !(isnan(cf) && isnan(pf))) {
                changes++;
            }
        } else if ((ph == NULL) != (ch == NULL)) {
            changes++;
        } else if (!br_fhist_equals(ch, ph)) {
            changes++;
        }
        pf = cf;
        ph = ch;
    }
    out->ok = true;
    out->f = changes;
}

static double avg_floats_v3(const br_sample *s, size_t n)
{
    double sum = s[0].v;
    double count = 1;
    double mean = 0;
    double c = 0;
    bool incremental = false;
    for (size_t i = 1; i < n; i++) {
        count = (double)(i + 1);
        if (!incremental) {
            double ns = sum;
            double nc = c;
            br_kahan_inc(s[i].v, &ns, &nc);
            if (!isinf(ns)) {
                sum = ns;
                c = nc;
                continue;
            }
            incremental = true;
            mean = sum / (count - 1);
            c /= count - 1;
        }
        double q = (count - 1) / count;
        double m = q * mean;
        double mc = q * c;
        br_kahan_inc(s[i].v / count, &m, &mc);
        mean = m;
        c = mc;
    }
    if (incremental) {
        return mean + c;
    }
    return sum / count + c / count;
}

static double avg_floats_v2(const br_sample *s, size_t n)
{
    double mean = 0;
    double count = 0;
    double c = 0;
    for (size_t i = 0; i < n; i++) {
        double v = s[i].v;
        count++;
        if (isinf(mean)) {
            if (isinf(v) && (mean > 0) == (v > 0)) {
                continue;
            }
            if (!isinf(v) && !isnan(v)) {
                continue;
            }
        }
        br_kahan_inc(v / count - mean / count, &mean, &c);
    }
    if (isinf(mean)) {
        return mean;
    }
    return mean + c;
}

/* Sum (or mean) of the histograms of a window: Kahan summation, and for
 * the mean an incremental calculation once the sum would overflow. */
static int hist_sum(br_fctx *cx, const br_window *w, bool mean, br_fout *out, br_err *err)
{
    bool reset_seen = false;
    bool not_reset_seen = false;
    bool reconciled = false;
    bool incremental = false;
    br_fhist *sum = br_fhist_copy(cx->arena, w->h[0].h);
    br_fhist *comp = NULL;
    br_fhist *avg = NULL;
    if (sum == NULL) {
        return arena_full(err);
    }
    double count = 1;
    for (size_t i = 0; i < w->nh; i++) {
        const br_fhist *h = w->h[i].h;
        if (h->hint == BR_HIST_RESET_YES) {
            reset_seen = true;
        } else if (h->hint == BR_HIST_RESET_NO) {
            not_reset_seen = true;
        }
        if (i == 0) {
            continue;
        }
        count = (double)(i + 1);
        unsigned flags = 0;
        int rc;
        if (!mean || !incremental) {
            br_fhist *v = mean ? br_fhist_copy(cx->arena, sum) : sum;
            br_fhist *c = comp != NULL ? (mean ? br_fhist_copy(cx->arena, comp) : comp)
                                       : br_fhist_new_comp(cx->arena, sum);
            if (v == NULL || c == NULL) {
                return arena_full(err);
            }
            rc = br_fhist_add(cx->arena, v, h, false, c, &flags);
            if (rc == BR_FH_EINCOMPAT) {
                note_mixed_exp_custom(cx, w->ls);
                out->ok = false;
                return 0;
            }
            if (rc < 0) {
                return arena_full(err);
            }
            if (flags & BR_FH_NHCB_RECONCILED) {
                reconciled = true;
            }
            if (!mean || !br_fhist_has_overflow(v)) {
                sum = v;
                comp = c;
                continue;
            }
            incremental = true;
            avg = br_fhist_copy(cx->arena, sum);
            if (avg == NULL) {
                return arena_full(err);
            }
            br_fhist_div(avg, count - 1);
            if (comp != NULL) {
                br_fhist_div(comp, count - 1);
            }
        }
        double q = (count - 1) / count;
        if (comp == NULL) {
            comp = br_fhist_new_comp(cx->arena, avg);
            if (comp == NULL) {
                return arena_full(err);
            }
        } else {
            br_fhist_mul(comp, q);
        }
        br_fhist *add = br_fhist_copy(cx->arena, h);
        if (add == NULL) {
            return arena_full(err);
        }
        br_fhist_div(add, count);
        br_fhist_mul(avg, q);
        rc = br_fhist_add(cx->arena, avg, add, false, comp, &flags);
        if (rc == BR_FH_EINCOMPAT) {
            note_mixed_exp_custom(cx, w->ls);
            out->ok = false;
            return 0;
        }
        if (rc < 0) {
            return arena_full(err);
        }
    }
    if (reset_seen && not_reset_seen) {
        notef(cx, BR_NOTE_WARN, "conflicting counter resets during histogram aggregation");
    }
    if (reconciled) {
        note_reconciled(cx, "aggregation");
    }
    br_fhist *res = sum;
    if (mean && incremental) {
        res = avg;
    } else if (mean) {
        br_fhist_div(sum, count);
        if (comp != NULL) {
            br_fhist_div(comp, count);
        }
    }
    if (comp != NULL && br_fhist_add(cx->arena, res, comp, false, NULL, NULL) < 0) {
        return arena_full(err);
    }
    br_fhist_trim(res);
    out->ok = true;
    out->h = res;
    return 0;
}

static double variance_floats(const br_sample *s, size_t n)
{
    double count = 0;
    double mean = 0;
    double c_mean = 0;
    double aux = 0;
    double c_aux = 0;
    for (size_t i = 0; i < n; i++) {
        count++;
        double delta = s[i].v - (mean + c_mean);
        br_kahan_inc(delta / count, &mean, &c_mean);
        br_kahan_inc(delta * (s[i].v - (mean + c_mean)), &aux, &c_aux);
    }
    return (aux + c_aux) / count;
}

static double *float_values(br_fctx *cx, const br_sample *s, size_t n)
{
    double *v = br_arena_alloc(cx->arena, sizeof(double) * (n + 1));
    if (v == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        v[i] = s[i].v;
    }
    return v;
}

static double holt_winters(const br_sample *s, size_t n, double sf, double tf)
{
    double s0 = 0;
    double s1 = s[0].v;
    double b = s[1].v - s[0].v;
    for (size_t i = 1; i < n; i++) {
        double x = sf * s[i].v;
        /* Trend at this point (Prometheus' calcTrendValue). */
        if (i - 1 != 0) {
            b = tf * (s1 - s0) + (1 - tf) * b;
        }
        double y = (1 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
    }
    return s1;
}

int br_fn_range(br_promql_func_id id, br_fctx *cx, const br_window *w, const double *params,
                size_t n_params, br_fout *out, br_err *err)
{
    out->ok = false;
    out->f = 0;
    out->h = NULL;
    if (w->anchored || w->smoothed) {
        switch (id) {
        case BR_PROMQL_FN_RATE:
            return extended_rate(cx, w, true, true, out, err);
        case BR_PROMQL_FN_INCREASE:
            return extended_rate(cx, w, true, false, out, err);
        case BR_PROMQL_FN_DELTA:
            return extended_rate(cx, w, false, false, out, err);
        default:
            break;
        }
    }
    switch (id) {
    case BR_PROMQL_FN_RATE:
        return extrapolated_rate(cx, w, true, true, out, err);
    case BR_PROMQL_FN_INCREASE:
        return extrapolated_rate(cx, w, true, false, out, err);
    case BR_PROMQL_FN_DELTA:
        return extrapolated_rate(cx, w, false, false, out, err);
    case BR_PROMQL_FN_IRATE:
        return instant_value(cx, w, true, out, err);
    case BR_PROMQL_FN_IDELTA:
        return instant_value(cx, w, false, out, err);
    case BR_PROMQL_FN_DERIV:
    case BR_PROMQL_FN_PREDICT_LINEAR: {
        if (w->nf < 2) {
            if (w->nf == 1 && w->nh > 0) {
                note_ignored_mixed(cx, w->ls);
            }
            return 0;
        }
        double slope;
        double intercept;
        if (id == BR_PROMQL_FN_DERIV) {
            br_linear_regression(w->f, w->nf, w->f[0].t, &slope, &intercept);
            out->f = slope;
        } else {
            double d = n_params > 0 ? params[0] : 0;
            br_linear_regression(w->f, w->nf, w->ts, &slope, &intercept);
            out->f = slope * d + intercept;
        }
        if (w->nh > 0) {
            note_ignored_mixed(cx, w->ls);
        }
        out->ok = true;
        return 0;
    }
    case BR_PROMQL_FN_RESETS:
        fn_resets(w, out);
        return 0;
    case BR_PROMQL_FN_CHANGES:
        fn_changes(w, out);
        return 0;
    case BR_PROMQL_FN_COUNT_OVER_TIME:
        out->ok = w->nf + w->nh > 0;
        out->f = (double)(w->nf + w->nh);
        return 0;
    case BR_PROMQL_FN_PRESENT_OVER_TIME:
    case BR_PROMQL_FN_ABSENT_OVER_TIME:
        out->ok = w->nf + w->nh > 0;
        out->f = 1;
        return 0;
    case BR_PROMQL_FN_LAST_OVER_TIME:
    case BR_PROMQL_FN_FIRST_OVER_TIME: {
        bool last = id == BR_PROMQL_FN_LAST_OVER_TIME;
        if (w->nf + w->nh == 0) {
            return 0;
        }
        out->ok = true;
        if (w->nh == 0) {
            out->f = w->f[last ? w->nf - 1 : 0].v;
            return 0;
        }
        if (w->nf == 0) {
            out->h = w->h[last ? w->nh - 1 : 0].h;
            return 0;
        }
        const br_sample *fs = &w->f[last ? w->nf - 1 : 0];
        const br_hpoint *hs = &w->h[last ? w->nh - 1 : 0];
        bool use_float = last ? hs->t < fs->t : fs->t < hs->t;
        if (use_float) {
            out->f = fs->v;
        } else {
            out->h = hs->h;
        }
        return 0;
    }
    case BR_PROMQL_FN_TS_OF_FIRST_OVER_TIME:
    case BR_PROMQL_FN_TS_OF_LAST_OVER_TIME: {
        if (w->nf + w->nh == 0) {
            return 0;
        }
        bool last = id == BR_PROMQL_FN_TS_OF_LAST_OVER_TIME;
        int64_t t;
        if (last) {
            int64_t tf = w->nf > 0 ? w->f[w->nf - 1].t : 0;
            int64_t th = w->nh > 0 ? w->h[w->nh - 1].t : 0;
            t = tf > th ? tf : th;
        } else {
            int64_t tf = w->nf > 0 ? w->f[0].t : INT64_MAX;
            int64_t th = w->nh > 0 ? w->h[0].t : INT64_MAX;
            t = tf < th ? tf : th;
        }
        out->ok = true;
        out->f = (double)t / 1000;
        return 0;
    }
    case BR_PROMQL_FN_MAX_OVER_TIME:
    case BR_PROMQL_FN_MIN_OVER_TIME:
    case BR_PROMQL_FN_TS_OF_MAX_OVER_TIME:
    case BR_PROMQL_FN_TS_OF_MIN_OVER_TIME: {
        if (w->nf == 0) {
            return 0;
        }
        if (w->nh > 0) {
            note_ignored_mixed(cx, w->ls);
        }
        bool is_max = id == BR_PROMQL_FN_MAX_OVER_TIME || id == BR_PROMQL_FN_TS_OF_MAX_OVER_TIME;
        bool ts_of = id == BR_PROMQL_FN_TS_OF_MAX_OVER_TIME || id == BR_PROMQL_FN_TS_OF_MIN_OVER_TIME;
        double best = w->f[0].v;
        int64_t best_t = w->f[0].t;
        for (size_t i = 0; i < w->nf; i++) {
            double v = w->f[i].v;
            bool take;
            if (ts_of) {
                take = (is_max ? v >= best : v <= best) || isnan(best);
            } else {
                take = (is_max ? v > best : v < best) || isnan(best);
            }
            if (take) {
                best = v;
                best_t = w->f[i].t;
            }
        }
        out->ok = true;
        out->f = ts_of ? (double)best_t / 1000 : best;
        return 0;
    }
    case BR_PROMQL_FN_SUM_OVER_TIME:
    case BR_PROMQL_FN_AVG_OVER_TIME: {
        bool avg = id == BR_PROMQL_FN_AVG_OVER_TIME;
        if (w->nf > 0 && w->nh > 0) {
            note_mixed_floats_histograms(cx, w->ls);
            return 0;
        }
        if (w->nf == 0) {
            if (w->nh == 0) {
                return 0;
            }
            return hist_sum(cx, w, avg, out, err);
        }
        out->ok = true;
        if (avg) {
            out->f = cx->v2 ? avg_floats_v2(w->f, w->nf) : avg_floats_v3(w->f, w->nf);
            return 0;
        }
        double sum = 0;
        double c = 0;
        for (size_t i = 0; i < w->nf; i++) {
            br_kahan_inc(w->f[i].v, &sum, &c);
        }
        out->f = isinf(sum) ? sum : sum + c;
        return 0;
    }
    case BR_PROMQL_FN_QUANTILE_OVER_TIME: {
        double q = n_params > 0 ? params[0] : NAN;
        if (w->nf == 0) {
            return 0;
        }
        if (isnan(q) || q < 0 || q > 1) {
            note_invalid_quantile(cx, q);
        }
        if (w->nh > 0) {
            note_ignored_mixed(cx, w->ls);
        }
        double *v = float_values(cx, w->f, w->nf);
        if (v == NULL) {
            return arena_full(err);
        }
        out->ok = true;
        out->f = br_quantile(q, v, w->nf);
        return 0;
    }
    case BR_PROMQL_FN_STDDEV_OVER_TIME:
    case BR_PROMQL_FN_STDVAR_OVER_TIME: {
        if (w->nf == 0) {
            return 0;
        }
        if (w->nh > 0) {
            note_ignored_mixed(cx, w->ls);
        }
        double var = variance_floats(w->f, w->nf);
        out->ok = true;
        out->f = id == BR_PROMQL_FN_STDDEV_OVER_TIME ? sqrt(var) : var;
        return 0;
    }
    case BR_PROMQL_FN_MAD_OVER_TIME: {
        if (w->nf == 0) {
            return 0;
        }
        if (w->nh > 0) {
            note_ignored_mixed(cx, w->ls);
        }
        double *v = float_values(cx, w->f, w->nf);
        if (v == NULL) {
            return arena_full(err);
        }
        out->ok = true;
        for (size_t i = 0; i < w->nf; i++) {
            if (isnan(v[i])) {
                out->f = NAN;
                return 0;
            }
        }
        double median = br_quantile(0.5, v, w->nf);
        for (size_t i = 0; i < w->nf; i++) {
            v[i] = fabs(v[i] - median);
        }
        out->f = br_quantile(0.5, v, w->nf);
        return 0;
    }
    case BR_PROMQL_FN_HOLT_WINTERS:
    case BR_PROMQL_FN_DOUBLE_EXPONENTIAL_SMOOTHING: {
        if (n_params < 2) {
            return 0;
        }
        double sf = params[0];
        double tf = params[1];
        if (!(sf > 0 && sf < 1)) {
            return br_err_set(err, BR_EEXEC,
                              "invalid smoothing factor. Expected: 0 < sf < 1, got: %f", sf);
        }
        if (!(tf > 0 && tf < 1)) {
            return br_err_set(err, BR_EEXEC,
                              "invalid trend factor. Expected: 0 < tf < 1, got: %f", tf);
        }
        if (w->nf < 2) {
            if (w->nf == 1 && w->nh > 0) {
                note_ignored_mixed(cx, w->ls);
            }
            return 0;
        }
        out->ok = true;
        out->f = holt_winters(w->f, w->nf, sf, tf);
        if (w->nh > 0) {
            note_ignored_mixed(cx, w->ls);
        }
        return 0;
    }
    default:
        return br_err_set(err, BR_EEXEC, "function %s is not supported over a range vector",
                          br_promql_function_by_id(id) ? br_promql_function_by_id(id)->name : "?");
    }
}

/* ======================================================================== */
/* Quantiles                                                                */
/* ======================================================================== */

/* Order for quantile(): NaN first, then ascending (vectorByValueHeap). */
static int cmp_nan_first(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    if (isnan(x)) {
        return isnan(y) ? 0 : -1;
    }
    if (isnan(y)) {
        return 1;
    }
    return (x > y) - (x < y);
}

double br_quantile(double q, double *values, size_t n)
{
    if (n == 0 || isnan(q)) {
        return NAN;
    }
    if (q < 0) {
        return -INFINITY;
    }
    if (q > 1) {
        return INFINITY;
    }
    qsort(values, n, sizeof(double), cmp_nan_first);
    double fn = (double)n;
    double rank = q * (fn - 1);
    double lower = fmax(0, floor(rank));
    double upper = fmin(fn - 1, lower + 1);
    double weight = rank - floor(rank);
    return values[(size_t)lower] * (1 - weight) + values[(size_t)upper] * weight;
}

static int cmp_bucket(const void *a, const void *b)
{
    double x = ((const br_bucket *)a)->upper;
    double y = ((const br_bucket *)b)->upper;
    return (x > y) - (x < y);
}

static size_t coalesce(br_bucket *b, size_t n)
{
    br_bucket last = b[0];
    size_t i = 0;
    for (size_t k = 1; k < n; k++) {
        if (b[k].upper == last.upper) {
            last.count += b[k].count;
        } else {
            b[i++] = last;
            last = b[k];
        }
    }
    b[i] = last;
    return i + 1;
}

static bool almost_equal(double a, double b, double eps)
{
    if (a == b) {
        return true;
    }
    double abs_sum = fabs(a) + fabs(b);
    double diff = fabs(a - b);
    if (a == 0 || b == 0 || abs_sum < DBL_MIN) {
        return diff < eps * DBL_MIN;
    }
    return diff / fmin(abs_sum, DBL_MAX) < eps;
}

double br_bucket_quantile(double q, br_bucket *b, size_t n, bool *forced, double *min_bucket,
                          double *max_bucket, double *max_diff)
{
    *forced = false;
    double minb = INFINITY;
    double maxb = -INFINITY;
    double maxd = 0;
    if (isnan(q)) {
        return NAN;
    }
    if (q < 0) {
        return -INFINITY;
    }
    if (q > 1) {
        return INFINITY;
    }
    qsort(b, n, sizeof(*b), cmp_bucket);
    if (!isinf(b[n - 1].upper) || b[n - 1].upper < 0) {
        return NAN;
    }
    n = coalesce(b, n);
    double prev = b[0].count;
    for (size_t i = 1; i < n; i++) {
        double cur = b[i].count;
        if (cur == prev) {
            continue;
        }
        if (almost_equal(prev, cur, SMALL_DELTA_TOLERANCE)) {
            b[i].count = prev;
            continue;
        }
        if (cur < prev) {
            b[i].count = prev;
            *forced = true;
            if (b[i].upper < minb) {
                minb = b[i].upper;
            }
            if (b[i].upper > maxb) {
                maxb = b[i].upper;
            }
            if (prev - cur > maxd) {
                maxd = prev - cur;
            }
            continue;
        }
        prev = cur;
    }
    if (min_bucket != NULL) {
        *min_bucket = minb;
    }
    if (max_bucket != NULL) {
        *max_bucket = maxb;
    }
    if (max_diff != NULL) {
        *max_diff = maxd;
    }
    if (n < 2) {
        return NAN;
    }
    double obs = b[n - 1].count;
    if (obs == 0) {
        return NAN;
    }
    double rank = q * obs;
    /* First bucket (among all but the last) with count >= rank. */
    size_t lo = 0;
    size_t hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b[mid].count >= rank) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    size_t k = lo;
    if (k == n - 1) {
        return b[n - 2].upper;
    }
    if (k == 0 && b[0].upper <= 0) {
        return b[0].upper;
    }
    double start = 0;
    double end = b[k].upper;
    double count = b[k].count;
    if (k > 0) {
        start = b[k - 1].upper;
        count -= b[k - 1].count;
        rank -= b[k - 1].count;
    }
    return start + (end - start) * (rank / count);
}

double br_bucket_fraction(double lower, double upper, br_bucket *b, size_t n)
{
    qsort(b, n, sizeof(*b), cmp_bucket);
    if (!isinf(b[n - 1].upper) || b[n - 1].upper < 0) {
        return NAN;
    }
    n = coalesce(b, n);
    double count = b[n - 1].count;
    if (count == 0 || isnan(lower) || isnan(upper)) {
        return NAN;
    }
    if (lower >= upper) {
        return 0;
    }
    double rank = 0;
    double lower_rank = 0;
    double upper_rank = 0;
    bool lower_set = false;
    bool upper_set = false;
    double lower_bound = b[0].upper <= 0 ? -INFINITY : 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            lower_bound = b[i - 1].upper;
        }
        double upper_bound = b[i].upper;
        if (!lower_set && lower_bound >= lower) {
            lower_rank = rank;
            lower_set = true;
        }
        if (!upper_set && lower_bound >= upper) {
            upper_rank = rank;
            upper_set = true;
        }
        if (lower_set && upper_set) {
            break;
        }
        if (!lower_set && lower_bound < lower && upper_bound > lower) {
            lower_rank = isinf(lower_bound) && lower_bound < 0
                             ? b[i].count
                             : rank + (b[i].count - rank) * (lower - lower_bound) /
                                          (upper_bound - lower_bound);
            lower_set = true;
        }
        if (!upper_set && lower_bound < upper && upper_bound > upper) {
            upper_rank = isinf(lower_bound) && lower_bound < 0
                             ? b[i].count
                             : rank + (b[i].count - rank) * (upper - lower_bound) /
                                          (upper_bound - lower_bound);
            upper_set = true;
        }
        if (lower_set && upper_set) {
            break;
        }
        rank = b[i].count;
    }
    if (!lower_set || lower_rank > count) {
        lower_rank = count;
    }
    if (!upper_set || upper_rank > count) {
        upper_rank = count;
    }
    return (upper_rank - lower_rank) / count;
}

double br_histogram_quantile(double q, const br_fhist *h, int *nan_note)
{
    *nan_note = 0;
    if (q < 0) {
        return -INFINITY;
    }
    if (q > 1) {
        return INFINITY;
    }
    if (h->count == 0 || isnan(q)) {
        return NAN;
    }
    bool forward = isnan(h->sum) || q < 0.5;
    br_hbucket_iter it;
    br_hbucket_iter_init(&it, h, !forward);
    double rank = forward ? q * h->count : (1 - q) * h->count;
    double count = 0;
    br_hbucket b;
    memset(&b, 0, sizeof(b));
    while (br_hbucket_iter_next(&it, &b)) {
        if (b.count == 0) {
            continue;
        }
        count += b.count;
        if (count >= rank) {
            break;
        }
    }
    if (!br_fhist_custom(h) && b.lower < 0 && b.upper > 0) {
        if (h->n_neg == 0 && h->n_pos > 0) {
            b.lower = 0;
        } else if (h->n_pos == 0 && h->n_neg > 0) {
            b.upper = 0;
        }
    } else if (br_fhist_custom(h)) {
        if (isinf(b.lower) && b.lower < 0) {
            if (b.upper <= 0) {
                return b.upper;
            }
            b.lower = 0;
        } else if (isinf(b.upper) && b.upper > 0) {
            return b.lower;
        }
    }
    if (count > h->count) {
        count = h->count;
    }
    if (count < rank) {
        if (isnan(h->sum)) {
            *nan_note = 1;
            return NAN;
        }
        return b.upper;
    }
    if (forward) {
        rank -= count - b.count;
    } else {
        rank = count - rank;
    }
    if (isnan(h->sum)) {
        br_hbucket rest;
        while (br_hbucket_iter_next(&it, &rest)) {
            count += rest.count;
        }
        if (count < h->count) {
            *nan_note = 2;
        }
    }
    double fraction = rank / b.count;
    if (br_fhist_custom(h) || (b.lower <= 0 && b.upper >= 0)) {
        return b.lower + (b.upper - b.lower) * fraction;
    }
    double log_lower = log2(fabs(b.lower));
    double log_upper = log2(fabs(b.upper));
    if (b.lower > 0) {
        return exp2(log_lower + (log_upper - log_lower) * fraction);
    }
    return -exp2(log_upper + (log_lower - log_upper) * (1 - fraction));
}

static double fraction_below(const br_hbucket *b, double v, bool linear)
{
    if (linear) {
        return (v - b->lower) / (b->upper - b->lower);
    }
    double log_lower = log2(fabs(b->lower));
    double log_upper = log2(fabs(b->upper));
    double log_v = log2(fabs(v));
    if (v > 0) {
        return (log_v - log_lower) / (log_upper - log_lower);
    }
    return 1 - ((log_v - log_upper) / (log_lower - log_upper));
}

double br_histogram_fraction(double lower, double upper, const br_fhist *h, bool *nan_note)
{
    *nan_note = false;
    if (h->count == 0 || isnan(lower) || isnan(upper)) {
        return NAN;
    }
    if (lower >= upper) {
        return 0;
    }
    double count = 0;
    double rank = 0;
    double lower_rank = 0;
    double upper_rank = 0;
    bool lower_set = false;
    bool upper_set = false;
    br_hbucket_iter it;
    br_hbucket_iter_init(&it, h, false);
    br_hbucket b;
    while (br_hbucket_iter_next(&it, &b)) {
        count += b.count;
        bool zero_bucket = false;
        if (b.lower <= 0 && b.upper >= 0) {
            zero_bucket = true;
            if (h->n_neg == 0 && h->n_pos > 0) {
                b.lower = 0;
            } else if (h->n_pos == 0 && h->n_neg > 0) {
                b.upper = 0;
            }
        }
        bool linear = br_fhist_custom(h) || zero_bucket;
        if (!lower_set && b.lower >= lower) {
            lower_rank = rank;
            lower_set = true;
        }
        if (!upper_set && b.lower >= upper) {
            upper_rank = rank;
            upper_set = true;
        }
        if (lower_set && upper_set) {
            break;
        }
        if (!lower_set && b.lower < lower && b.upper > lower) {
            if (linear && isinf(b.lower) && b.lower < 0) {
                lower_rank = b.count;
            } else {
                lower_rank = rank + b.count * fraction_below(&b, lower, linear);
            }
            lower_set = true;
        }
        if (!upper_set && b.lower < upper && b.upper > upper) {
            if (linear && isinf(b.lower) && b.lower < 0) {
                upper_rank = b.count;
            } else {
                upper_rank = rank + b.count * fraction_below(&b, upper, linear);
            }
            upper_set = true;
        }
        if (lower_set && upper_set) {
            break;
        }
        rank += b.count;
    }
    if (isnan(h->sum)) {
        while (br_hbucket_iter_next(&it, &b)) {
            count += b.count;
        }
        if (count < h->count) {
            *nan_note = true;
        }
    } else {
        count = h->count;
    }
    if (!lower_set || lower_rank > count) {
        lower_rank = count;
    }
    if (!upper_set || upper_rank > count) {
        upper_rank = count;
    }
    return (upper_rank - lower_rank) / h->count;
}

/* ======================================================================== */
/* Instant-vector functions                                                 */
/* ======================================================================== */

static double fn_sgn(double v)
{
    if (v < 0) {
        return -1;
    }
    if (v > 0) {
        return 1;
    }
    return v;
}

static double fn_rad(double v)
{
    return v * M_PI / 180;
}

static double fn_deg(double v)
{
    return v * 180 / M_PI;
}

typedef double (*float_fn)(double);

static float_fn simple_fn(br_promql_func_id id)
{
    switch (id) {
    case BR_PROMQL_FN_ABS: return fabs;
    case BR_PROMQL_FN_CEIL: return ceil;
    case BR_PROMQL_FN_FLOOR: return floor;
    case BR_PROMQL_FN_EXP: return exp;
    case BR_PROMQL_FN_SQRT: return sqrt;
    case BR_PROMQL_FN_LN: return log;
    case BR_PROMQL_FN_LOG2: return log2;
    case BR_PROMQL_FN_LOG10: return log10;
    case BR_PROMQL_FN_SIN: return sin;
    case BR_PROMQL_FN_COS: return cos;
    case BR_PROMQL_FN_TAN: return tan;
    case BR_PROMQL_FN_ASIN: return asin;
    case BR_PROMQL_FN_ACOS: return acos;
    case BR_PROMQL_FN_ATAN: return atan;
    case BR_PROMQL_FN_SINH: return sinh;
    case BR_PROMQL_FN_COSH: return cosh;
    case BR_PROMQL_FN_TANH: return tanh;
    case BR_PROMQL_FN_ASINH: return asinh;
    case BR_PROMQL_FN_ACOSH: return acosh;
    case BR_PROMQL_FN_ATANH: return atanh;
    case BR_PROMQL_FN_SGN: return fn_sgn;
    case BR_PROMQL_FN_RAD: return fn_rad;
    case BR_PROMQL_FN_DEG: return fn_deg;
    default: return NULL;
    }
}

/* Appends el with value f (histogram h), marking the name for removal. */
static int push_dropped(br_fctx *cx, br_vvec *out, const br_vsample *el, double f,
                        const br_fhist *h, bool only_name)
{
    br_vsample s = *el;
    s.f = f;
    s.h = h;
    s.drop_name = true;
    if (!cx->delayed_names) {
        if (br_lset_drop_name(cx->arena, el->ls, !cx->v2 && !only_name, &s.ls) != 0) {
            return -1;
        }
    }
    return br_vvec_push(cx->arena, out, &s);
}

/* Go's strconv.ParseFloat for a label value: the whole string must be a
 * number (decimal, hex, Inf, NaN in any case); no surrounding spaces. */
static bool parse_le(const char *s, double *out)
{
    if (s == NULL || *s == '\0' || isspace((unsigned char)*s)) {
        return false;
    }
    char *end;
    double v = strtod(s, &end);
    if (*end != '\0') {
        return false;
    }
    *out = v;
    return true;
}

typedef struct classic_group {
    br_lset ls;          /* output labels (le removed) */
    br_bucket *b;
    size_t n;
    size_t cap;
    bool dead;           /* a native histogram collided with it */
} classic_group;

typedef struct hist_split {
    classic_group *g;
    size_t ng;
    br_imap sig;         /* signature (labels without le) -> group */
    const br_vsample **natives;
    size_t nn;
} hist_split;

/* Prometheus' resetHistograms: groups classic buckets by their labels
 * without `le`, keeps native histograms apart, and drops both when they
 * collide. */
static int split_histograms(br_fctx *cx, const br_vvec *in, hist_split *hs)
{
    static const char *const le_name[] = {"le"};
    memset(hs, 0, sizeof(*hs));
    if (br_imap_init(cx->arena, &hs->sig, in->n) != 0) {
        return -1;
    }
    hs->g = br_arena_alloc(cx->arena, sizeof(*hs->g) * (in->n + 1));
    hs->natives = br_arena_alloc(cx->arena, sizeof(*hs->natives) * (in->n + 1));
    if (hs->g == NULL || hs->natives == NULL) {
        return -1;
    }
    for (size_t i = 0; i < in->n; i++) {
        const br_vsample *s = &in->v[i];
        if (s->h != NULL) {
            hs->natives[hs->nn++] = s;
            continue;
        }
        double upper;
        const char *le = br_lset_get(s->ls, "le");
        if (!parse_le(le, &upper)) {
            const char *name = cx->delayed_names ? metric_name(s->ls) : "";
            if (name[0] != '\0') {
                notef(cx, BR_NOTE_WARN,
                      "bucket label \"le\" is missing or has a malformed value of \"%s\" for "
                      "metric name \"%s\"",
                      le != NULL ? le : "", name);
            } else {
                notef(cx, BR_NOTE_WARN,
                      "bucket label \"le\" is missing or has a malformed value of \"%s\"",
                      le != NULL ? le : "");
            }
            continue;
        }
        uint64_t key = br_lset_hash_sel(s->ls, le_name, 1, false);
        uint32_t gi;
        if (!br_imap_get(&hs->sig, key, &gi)) {
            gi = (uint32_t)hs->ng++;
            classic_group *g = &hs->g[gi];
            memset(g, 0, sizeof(*g));
            if (br_lset_del(cx->arena, s->ls, le_name, 1, &g->ls) != 0 ||
                br_imap_put(cx->arena, &hs->sig, key, gi) != 0) {
                return -1;
            }
        }
        classic_group *g = &hs->g[gi];
        if (g->n == g->cap) {
            size_t cap = g->cap ? g->cap * 2 : 8;
            br_bucket *nb = br_arena_alloc(cx->arena, sizeof(*nb) * cap);
            if (nb == NULL) {
                return -1;
            }
            if (g->n > 0) {
                memcpy(nb, g->b, sizeof(*nb) * g->n);
            }
            g->b = nb;
            g->cap = cap;
        }
        g->b[g->n].upper = upper;
        g->b[g->n].count = s->f;
        g->n++;
    }
    for (size_t i = 0; i < hs->nn; i++) {
        uint64_t key = br_lset_hash_sel(hs->natives[i]->ls, le_name, 1, false);
        uint32_t gi;
        if (br_imap_get(&hs->sig, key, &gi) && hs->g[gi].n > 0 && !hs->g[gi].dead &&
            br_lset_get(hs->natives[i]->ls, "le") == NULL) {
            const char *name = cx->delayed_names ? metric_name(hs->natives[i]->ls) : "";
            if (name[0] != '\0') {
                notef(cx, BR_NOTE_WARN,
                      "vector contains a mix of classic and native histograms for metric name "
                      "\"%s\"",
                      name);
            } else {
                notef(cx, BR_NOTE_WARN, "vector contains a mix of classic and native histograms");
            }
            hs->g[gi].dead = true;
            hs->natives[i] = NULL;
        }
    }
    return 0;
}

/* Sets the quantile label of the sample just pushed (histogram_quantiles). */
static int label_last(br_fctx *cx, br_vvec *out, const char *qlabel, double q)
{
    if (qlabel == NULL) {
        return 0;
    }
    char b[64];
    br_format_float_g(q, b, sizeof(b));
    if (!isnan(q) && !isinf(q) && strpbrk(b, "e.") == NULL) {
        strcat(b, ".0");
    }
    br_vsample *s = &out->v[out->n - 1];
    return br_lset_set(cx->arena, s->ls, qlabel, b, &s->ls);
}

static int hist_quantile_or_fraction(br_fctx *cx, const br_vvec *in, bool quantile,
                                     const double *qs, size_t nq, double p1, const char *qlabel,
                                     br_vvec *out)
{
    for (size_t qi = 0; quantile && qi < nq; qi++) {
        if (isnan(qs[qi]) || qs[qi] < 0 || qs[qi] > 1) {
            note_invalid_quantile(cx, qs[qi]);
        }
    }
    hist_split hs;
    if (split_histograms(cx, in, &hs) != 0) {
        return -1;
    }
    for (size_t qi = 0; qi < nq; qi++) {
    double p0 = qs[qi];
    for (size_t i = 0; i < hs.nn; i++) {
        const br_vsample *s = hs.natives[i];
        if (s == NULL) {
            continue;
        }
        double v;
        if (quantile) {
            int nn;
            v = br_histogram_quantile(p0, s->h, &nn);
            const char *name = cx->delayed_names ? metric_name(s->ls) : "";
            if (nn == 1) {
                if (name[0] != '\0') {
                    notef(cx, BR_NOTE_INFO,
                          "input to histogram_quantile has NaN observations, result is NaN for "
                          "metric name \"%s\"",
                          name);
                } else {
                    notef(cx, BR_NOTE_INFO,
                          "input to histogram_quantile has NaN observations, result is NaN");
                }
            } else if (nn == 2) {
                if (name[0] != '\0') {
                    notef(cx, BR_NOTE_INFO,
                          "input to histogram_quantile has NaN observations, result is skewed "
                          "higher for metric name \"%s\"",
                          name);
                } else {
                    notef(cx, BR_NOTE_INFO,
                          "input to histogram_quantile has NaN observations, result is skewed "
                          "higher");
                }
            }
        } else {
            bool nn;
            v = br_histogram_fraction(p0, p1, s->h, &nn);
            if (nn) {
                const char *name = cx->delayed_names ? metric_name(s->ls) : "";
                if (name[0] != '\0') {
                    notef(cx, BR_NOTE_INFO,
                          "input to histogram_fraction has NaN observations, which are excluded "
                          "from all fractions for metric name \"%s\"",
                          name);
                } else {
                    notef(cx, BR_NOTE_INFO,
                          "input to histogram_fraction has NaN observations, which are excluded "
                          "from all fractions");
                }
            }
        }
        if (push_dropped(cx, out, s, v, NULL, false) != 0 || label_last(cx, out, qlabel, p0) != 0) {
            return -1;
        }
    }
    for (size_t i = 0; i < hs.ng; i++) {
        classic_group *g = &hs.g[i];
        if (g->n == 0 || g->dead) {
            continue;
        }
        double v;
        if (quantile) {
            bool forced;
            double minb;
            double maxb;
            double maxd;
            v = br_bucket_quantile(p0, g->b, g->n, &forced, &minb, &maxb, &maxd);
            if (forced) {
                const char *name = cx->delayed_names ? metric_name(g->ls) : "";
                if (name[0] != '\0') {
                    notef(cx, BR_NOTE_INFO,
                          "input to histogram_quantile needed to be fixed for monotonicity (see "
                          "https://prometheus.io/docs/prometheus/latest/querying/functions/"
                          "#histogram_quantile) for metric name \"%s\"",
                          name);
                } else {
                    notef(cx, BR_NOTE_INFO,
                          "input to histogram_quantile needed to be fixed for monotonicity (see "
                          "https://prometheus.io/docs/prometheus/latest/querying/functions/"
                          "#histogram_quantile)");
                }
            }
        } else {
            v = br_bucket_fraction(p0, p1, g->b, g->n);
        }
        br_vsample s;
        memset(&s, 0, sizeof(s));
        s.ls = g->ls;
        if (push_dropped(cx, out, &s, v, NULL, false) != 0 || label_last(cx, out, qlabel, p0) != 0) {
            return -1;
        }
    }
    }
    return 0;
}

static double hist_variance(const br_fhist *h)
{
    double mean = h->sum / h->count;
    double var = 0;
    double c = 0;
    br_hbucket_iter it;
    br_hbucket_iter_init(&it, h, false);
    br_hbucket b;
    while (br_hbucket_iter_next(&it, &b)) {
        if (b.count == 0) {
            continue;
        }
        double val;
        if (br_fhist_custom(h)) {
            val = (b.upper + b.lower) / 2.0;
        } else if (b.lower <= 0 && b.upper >= 0) {
            val = 0;
        } else {
            val = sqrt(b.upper * b.lower);
            if (b.upper < 0) {
                val = -val;
            }
        }
        double delta = val - mean;
        br_kahan_inc(b.count * delta * delta, &var, &c);
    }
    var += c;
    var /= h->count;
    return var;
}

/* Go's natsort.Compare(a, b): a < b in natural order. */
static bool chunk_is_num(const char *s, size_t n, long long *v)
{
    if (n == 0 || n > 18) {
        return false;
    }
    long long x = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) {
            return false;
        }
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return true;
}

static size_t next_chunk(const char *s, size_t pos)
{
    bool digit = isdigit((unsigned char)s[pos]) != 0;
    size_t e = pos;
    while (s[e] != '\0' && (isdigit((unsigned char)s[e]) != 0) == digit) {
        e++;
    }
    return e;
}

static bool natsort_less(const char *a, const char *b)
{
    size_t pa = 0;
    size_t pb = 0;
    for (;;) {
        if (a[pa] == '\0') {
            return false;
        }
        if (b[pb] == '\0') {
            return false;
        }
        size_t ea = next_chunk(a, pa);
        size_t eb = next_chunk(b, pb);
        bool a_last = a[ea] == '\0';
        bool b_last = b[eb] == '\0';
        long long va;
        long long vb;
        if (chunk_is_num(a + pa, ea - pa, &va) && chunk_is_num(b + pb, eb - pb, &vb)) {
            if (va == vb) {
                if (a_last) {
                    return true;
                }
                if (b_last) {
                    return false;
                }
                pa = ea;
                pb = eb;
                continue;
            }
            return va < vb;
        }
        size_t la = ea - pa;
        size_t lb = eb - pb;
        size_t m = la < lb ? la : lb;
        int c = memcmp(a + pa, b + pb, m);
        if (c == 0 && la == lb) {
            if (a_last) {
                return true;
            }
            if (b_last) {
                return false;
            }
            pa = ea;
            pb = eb;
            continue;
        }
        if (c == 0) {
            return la < lb;
        }
        return c < 0;
    }
}

typedef struct sort_ctx {
    int mode; /* 0 asc, 1 desc, 2 by label, 3 by label desc */
    const char *const *labels;
    size_t nl;
} sort_ctx;

static int sample_cmp(const sort_ctx *sc, const br_vsample *x, const br_vsample *y)
{
    if (sc->mode == 0) {
        /* ascending, NaN last */
        if (isnan(x->f)) {
            return isnan(y->f) ? 0 : 1;
        }
        if (isnan(y->f)) {
            return -1;
        }
        return (x->f > y->f) - (x->f < y->f);
    }
    if (sc->mode == 1) {
        if (isnan(x->f)) {
            return isnan(y->f) ? 0 : 1;
        }
        if (isnan(y->f)) {
            return -1;
        }
        return (x->f < y->f) - (x->f > y->f);
    }
    for (size_t i = 0; i < sc->nl; i++) {
        const char *a = br_lset_get(x->ls, sc->labels[i]);
        const char *b = br_lset_get(y->ls, sc->labels[i]);
        a = a ? a : "";
        b = b ? b : "";
        if (strcmp(a, b) == 0) {
            continue;
        }
        bool less = natsort_less(a, b);
        if (sc->mode == 2) {
            return less ? -1 : 1;
        }
        return less ? 1 : -1;
    }
    int c = br_lset_cmp(x->ls, y->ls);
    return sc->mode == 2 ? c : -c;
}

/* Stable merge sort of samples. */
static void merge_sort(const sort_ctx *sc, br_vsample *v, br_vsample *tmp, size_t n)
{
    if (n < 2) {
        return;
    }
    size_t h = n / 2;
    merge_sort(sc, v, tmp, h);
    merge_sort(sc, v + h, tmp, n - h);
    size_t i = 0;
    size_t j = h;
    size_t k = 0;
    while (i < h && j < n) {
        if (sample_cmp(sc, &v[j], &v[i]) < 0) {
            tmp[k++] = v[j++];
        } else {
            tmp[k++] = v[i++];
        }
    }
    while (i < h) {
        tmp[k++] = v[i++];
    }
    while (j < n) {
        tmp[k++] = v[j++];
    }
    memcpy(v, tmp, sizeof(*v) * n);
}

static int date_fn(br_fctx *cx, br_promql_func_id id, const br_vvec *in, bool has_arg, int64_t ts,
                   br_vvec *out)
{
    size_t n = has_arg ? in->n : 1;
    for (size_t i = 0; i < n; i++) {
        br_vsample s;
        memset(&s, 0, sizeof(s));
        time_t secs;
        if (has_arg) {
            if (in->v[i].h != NULL) {
                continue;
            }
            double f = in->v[i].f;
            if (isnan(f) || f >= 9.2e18 || f <= -9.2e18) {
                secs = (time_t)INT64_MIN;
            } else {
                secs = (time_t)(int64_t)f;
            }
            s = in->v[i];
        } else {
            secs = (time_t)(ts / 1000);
        }
        struct tm tm;
        if (gmtime_r(&secs, &tm) == NULL) {
            memset(&tm, 0, sizeof(tm));
        }
        double v = 0;
        switch (id) {
        case BR_PROMQL_FN_DAY_OF_MONTH: v = tm.tm_mday; break;
        case BR_PROMQL_FN_DAY_OF_WEEK: v = tm.tm_wday; break;
        case BR_PROMQL_FN_DAY_OF_YEAR: v = tm.tm_yday + 1; break;
        case BR_PROMQL_FN_HOUR: v = tm.tm_hour; break;
        case BR_PROMQL_FN_MINUTE: v = tm.tm_min; break;
        case BR_PROMQL_FN_MONTH: v = tm.tm_mon + 1; break;
        case BR_PROMQL_FN_YEAR: v = tm.tm_year + 1900; break;
        case BR_PROMQL_FN_DAYS_IN_MONTH: {
            static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
            int y = tm.tm_year + 1900;
            bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            v = days[tm.tm_mon] + (tm.tm_mon == 1 && leap ? 1 : 0);
            break;
        }
        default: break;
        }
        if (has_arg) {
            if (push_dropped(cx, out, &s, v, NULL, false) != 0) {
                return -1;
            }
        } else {
            s.f = v;
            if (br_vvec_push(cx->arena, out, &s) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

int br_fn_vector(br_promql_func_id id, br_fctx *cx, const br_vvec *in, bool has_vector_arg,
                 const double *params, size_t n_params, const char *const *str_params,
                 size_t n_str, int64_t ts, br_vvec *out, br_err *err)
{
    float_fn sf = simple_fn(id);
    if (sf != NULL) {
        for (size_t i = 0; i < in->n; i++) {
            if (in->v[i].h != NULL) {
                continue;
            }
            if (push_dropped(cx, out, &in->v[i], sf(in->v[i].f), NULL, false) != 0) {
                return arena_full(err);
            }
        }
        return 0;
    }
    switch (id) {
    case BR_PROMQL_FN_CLAMP:
    case BR_PROMQL_FN_CLAMP_MIN:
    case BR_PROMQL_FN_CLAMP_MAX: {
        double lo = -INFINITY;
        double hi = INFINITY;
        if (id == BR_PROMQL_FN_CLAMP && n_params >= 2) {
            lo = params[0];
            hi = params[1];
        } else if (id == BR_PROMQL_FN_CLAMP_MIN && n_params >= 1) {
            lo = params[0];
        } else if (id == BR_PROMQL_FN_CLAMP_MAX && n_params >= 1) {
            hi = params[0];
        }
        if (hi < lo) {
            return 0;
        }
        for (size_t i = 0; i < in->n; i++) {
            if (in->v[i].h != NULL) {
                continue;
            }
            double v = br_go_max(lo, br_go_min(hi, in->v[i].f));
            if (push_dropped(cx, out, &in->v[i], v, NULL, false) != 0) {
                return arena_full(err);
            }
        }
        return 0;
    }
    case BR_PROMQL_FN_ROUND: {
        double to = n_params >= 1 ? params[0] : 1;
        double inv = 1.0 / to;
        for (size_t i = 0; i < in->n; i++) {
            if (in->v[i].h != NULL) {
                continue;
            }
            double v = floor(in->v[i].f * inv + 0.5) / inv;
            if (push_dropped(cx, out, &in->v[i], v, NULL, false) != 0) {
                return arena_full(err);
            }
        }
        return 0;
    }
    case BR_PROMQL_FN_TIMESTAMP:
        for (size_t i = 0; i < in->n; i++) {
            if (push_dropped(cx, out, &in->v[i], (double)in->v[i].t / 1000, NULL, false) != 0) {
                return arena_full(err);
            }
        }
        return 0;
    case BR_PROMQL_FN_DAY_OF_MONTH:
    case BR_PROMQL_FN_DAY_OF_WEEK:
    case BR_PROMQL_FN_DAY_OF_YEAR:
    case BR_PROMQL_FN_DAYS_IN_MONTH:
    case BR_PROMQL_FN_HOUR:
    case BR_PROMQL_FN_MINUTE:
    case BR_PROMQL_FN_MONTH:
    case BR_PROMQL_FN_YEAR:
        if (date_fn(cx, id, in, has_vector_arg, ts, out) != 0) {
            return arena_full(err);
        }
        return 0;
    case BR_PROMQL_FN_HISTOGRAM_COUNT:
    case BR_PROMQL_FN_HISTOGRAM_SUM:
    case BR_PROMQL_FN_HISTOGRAM_AVG:
    case BR_PROMQL_FN_HISTOGRAM_STDDEV:
    case BR_PROMQL_FN_HISTOGRAM_STDVAR:
        for (size_t i = 0; i < in->n; i++) {
            const br_fhist *h = in->v[i].h;
            if (h == NULL) {
                continue;
            }
            double v;
            switch (id) {
            case BR_PROMQL_FN_HISTOGRAM_COUNT: v = h->count; break;
            case BR_PROMQL_FN_HISTOGRAM_SUM: v = h->sum; break;
            case BR_PROMQL_FN_HISTOGRAM_AVG: v = h->sum / h->count; break;
            case BR_PROMQL_FN_HISTOGRAM_STDDEV: v = sqrt(hist_variance(h)); break;
            default: v = hist_variance(h); break;
            }
            if (push_dropped(cx, out, &in->v[i], v, NULL, true) != 0) {
                return arena_full(err);
            }
        }
        return 0;
    case BR_PROMQL_FN_HISTOGRAM_QUANTILE:
        if (n_params < 1) {
            return 0;
        }
        if (hist_quantile_or_fraction(cx, in, true, params, 1, 0, NULL, out) != 0) {
            return arena_full(err);
        }
        return 0;
    case BR_PROMQL_FN_HISTOGRAM_QUANTILES:
        if (n_params < 1 || n_str < 1) {
            return 0;
        }
        if (hist_quantile_or_fraction(cx, in, true, params, n_params, 0, str_params[0], out) != 0) {
            return arena_full(err);
        }
        return 0;
    case BR_PROMQL_FN_HISTOGRAM_FRACTION:
        if (n_params < 2) {
            return 0;
        }
        if (hist_quantile_or_fraction(cx, in, false, params, 1, params[1], NULL, out) != 0) {
            return arena_full(err);
        }
        return 0;
    case BR_PROMQL_FN_SORT:
    case BR_PROMQL_FN_SORT_DESC:
    case BR_PROMQL_FN_SORT_BY_LABEL:
    case BR_PROMQL_FN_SORT_BY_LABEL_DESC: {
        sort_ctx sc = {0, str_params, n_str};
        if (id == BR_PROMQL_FN_SORT_DESC) {
            sc.mode = 1;
        } else if (id == BR_PROMQL_FN_SORT_BY_LABEL) {
            sc.mode = 2;
        } else if (id == BR_PROMQL_FN_SORT_BY_LABEL_DESC) {
            sc.mode = 3;
        }
        size_t start = out->n;
        for (size_t i = 0; i < in->n; i++) {
            if (sc.mode < 2 && in->v[i].h != NULL) {
                continue;
            }
            if (br_vvec_push(cx->arena, out, &in->v[i]) != 0) {
                return arena_full(err);
            }
        }
        size_t n = out->n - start;
        br_vsample *tmp = br_arena_alloc(cx->arena, sizeof(*tmp) * (n + 1));
        if (tmp == NULL) {
            return arena_full(err);
        }
        if (n > 1) { /* out->v is NULL when nothing was pushed: no NULL + 0 */
            merge_sort(&sc, out->v + start, tmp, n);
        }
        return 0;
    }
    default: {
        const br_promql_function *f = br_promql_function_by_id(id);
        return br_err_set(err, BR_EEXEC, "function %s is not supported", f ? f->name : "?");
    }
    }
}
