/*
 * head_range_stats.c — range statistics of one series over long windows
 * from chunk summaries (br_head_series_range_stats*, head.h; the result
 * type and its exactness contract are in range_stats.h).
 *
 * Data flow: the PromQL backend (engine/promql/backend_local.c) calls this
 * for rate/increase/delta and count/min/max_over_time over long ranges
 * instead of copying every sample of the range.
 *
 * How a window is summed. The series' chunks are in time order and do not
 * overlap. A frozen chunk wholly inside the window, with no NaN and at
 * most one counter reset, contributes from its summary in O(1): its count,
 * first/last, min/max, the reset at the seam with the previous chunk
 * (previous last > its first) and, when it has one reset, that reset's
 * `a` (summary.reset_sum is then exactly that term, unless it is a zero
 * whose sign 0.0 + a would lose: such chunks are decoded). Every other
 * chunk, the edge chunks included, is decoded sample by sample with the
 * same pairwise rule (once per call: the decoded samples are kept for the
 * call's other windows). The reset terms are collected in order and added to
 * last - first only at the end, because Prometheus adds them to
 * (last - first) one after the other and floating-point addition is not
 * associative: the result is then the same bit for bit.
 *
 * Locking: the shard mutex is held only to copy what the windows need:
 * pointers to the frozen chunks overlapping them (immutable, alive for the
 * read bracket), the open chunk's samples (appends move them), and the
 * time spans of histogram chunks. Decoding happens without the lock, as in
 * br_head_series_iter and head_aggs.c.
 */
#include "head_int.h"

#include "engine/core/alloc.h"

#include <math.h>
#include <string.h>

/* One run of samples in time order: a frozen chunk, or copied samples of
 * an open chunk. A frozen chunk that has to be read sample by sample is
 * decoded once into s and reused by the call's later windows (in a range
 * query consecutive windows share their edge chunks). */
typedef struct rs_piece {
    const br_chunk *c; /* frozen chunk; NULL for an open chunk's copy */
    br_sample *s;      /* the samples (owned): the copy, or c decoded; or NULL */
    size_t n;
    int64_t min_t;
    int64_t max_t;
} rs_piece;

/* What the windows of one call need from a series. */
typedef struct rs_view {
    rs_piece *p;
    size_t n;
    int64_t *hspan; /* min_t, max_t pairs of histogram chunks */
    size_t n_h;
} rs_view;

/* Reset terms of the window being summed, in order. */
typedef struct rs_terms {
    double *v;
    size_t n;
    size_t cap;
} rs_terms;

/* Running state of one window. */
typedef struct rs_acc {
    br_range_stats *o;
    rs_terms *terms;
    double prev; /* last value seen (valid when o->count > 0) */
} rs_acc;

/* [lo, hi] equivalent to the window; false when it is empty. */
static bool closed_bounds(int64_t mint, int64_t maxt, bool left_open, int64_t *lo, int64_t *hi)
{
    if (left_open) {
        if (mint == INT64_MAX) {
            return false;
        }
        mint++;
    }
    *lo = mint;
    *hi = maxt;
    return mint <= maxt;
}

static int64_t sub_sat(int64_t a, int64_t b)
{
    if (b > 0 && a < INT64_MIN + b) {
        return INT64_MIN;
    }
    if (b < 0 && a > INT64_MAX + b) {
        return INT64_MAX;
    }
    return a - b;
}

static void push_term(rs_terms *t, double v)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->v = br_realloc(t->v, t->cap * sizeof(*t->v));
    }
    t->v[t->n++] = v;
}

static void acc_minmax(br_range_stats *o, double lo, double hi)
{
    if (isnan(lo)) {
        return;
    }
    if (isnan(o->min)) {
        o->min = lo;
        o->max = hi;
        return;
    }
    if (lo < o->min) {
        o->min = lo;
    }
    if (hi > o->max) {
        o->max = hi;
    }
}

static void acc_sample(rs_acc *a, int64_t t, double v)
{
    if (br_is_stale_nan(v)) {
        return;
    }
    br_range_stats *o = a->o;
    if (isnan(v)) {
        o->has_nan = true;
    }
    if (o->count == 0) {
        o->first_t = t;
        o->first = v;
    } else if (v < a->prev) {
        push_term(a->terms, a->prev);
        o->resets++;
    }
    o->count++;
    o->last_t = t;
    o->last = v;
    a->prev = v;
    acc_minmax(o, v, v);
}

/* True when a chunk inside the window can be taken from its summary. */
static bool summary_usable(const br_chunk_summary *s)
{
    if (s->count == 0 || s->has_nan) {
        return false;
    }
    return s->resets == 0 || (s->resets == 1 && s->reset_sum != 0.0);
}

static void acc_summary(rs_acc *a, const br_chunk_summary *s)
{
    br_range_stats *o = a->o;
    if (o->count == 0) {
        o->first_t = s->min_t;
        o->first = s->first;
    } else if (s->first < a->prev) {
        push_term(a->terms, a->prev);
        o->resets++;
    }
    if (s->resets == 1) {
        push_term(a->terms, s->reset_sum);
        o->resets++;
    }
    o->count += s->count;
    o->last_t = s->max_t;
    o->last = s->last;
    a->prev = s->last;
    acc_minmax(o, s->min, s->max);
}

/* Decodes p's chunk into p->s, once. */
static void piece_decode(rs_piece *p)
{
    if (p->s != NULL) {
        return;
    }
    const br_chunk_summary *s = br_chunk_get_summary(p->c);
    p->s = br_malloc(sizeof(*p->s) * (s->count + 1));
    p->n = 0;
    br_chunk_iter it;
    br_chunk_iter_init(&it, p->c);
    while (p->n < s->count && br_chunk_iter_next(&it)) {
        p->s[p->n].t = it.t;
        p->s[p->n].v = it.v;
        p->n++;
    }
}

static void acc_piece(rs_acc *a, rs_piece *p, int64_t lo, int64_t hi)
{
    if (p->c != NULL) {
        const br_chunk_summary *s = br_chunk_get_summary(p->c);
        if (s->min_t >= lo && s->max_t <= hi && summary_usable(s)) {
            acc_summary(a, s);
            return;
        }
        piece_decode(p);
    }
    /* First sample at or after lo, then up to hi. */
    size_t l = 0;
    size_t r = p->n;
    while (l < r) {
        size_t mid = l + (r - l) / 2;
        if (p->s[mid].t < lo) {
            l = mid + 1;
        } else {
            r = mid;
        }
    }
    for (size_t i = l; i < p->n && p->s[i].t <= hi; i++) {
        acc_sample(a, p->s[i].t, p->s[i].v);
    }
}

/* First piece whose newest sample is at or after lo. */
static size_t first_piece(const rs_view *v, int64_t lo)
{
    size_t l = 0;
    size_t r = v->n;
    while (l < r) {
        size_t mid = l + (r - l) / 2;
        if (v->p[mid].max_t < lo) {
            l = mid + 1;
        } else {
            r = mid;
        }
    }
    return l;
}

static void window_stats(rs_view *v, int64_t mint, int64_t maxt, bool left_open, rs_terms *terms,
                         br_range_stats *o)
{
    memset(o, 0, sizeof(*o));
    o->min = NAN;
    o->max = NAN;
    int64_t lo;
    int64_t hi;
    if (!closed_bounds(mint, maxt, left_open, &lo, &hi)) {
        return;
    }
    for (size_t k = 0; k < v->n_h; k++) {
        if (v->hspan[2 * k + 1] >= lo && v->hspan[2 * k] <= hi) {
            o->has_histograms = true;
            break;
        }
    }
    terms->n = 0;
    rs_acc a = {.o = o, .terms = terms, .prev = 0};
    for (size_t k = first_piece(v, lo); k < v->n && v->p[k].min_t <= hi; k++) {
        acc_piece(&a, &v->p[k], lo, hi);
    }
    if (o->count == 0) {
        return;
    }
    double d = o->last - o->first;
    for (size_t i = 0; i < terms->n; i++) {
        d += terms->v[i];
    }
    o->counter_delta = d;
}

/* Copies what windows within [lo, hi] need; false when ref does not
 * exist. */
static bool view_build(br_head *h, br_series_ref ref, int64_t lo, int64_t hi, rs_view *v)
{
    memset(v, 0, sizeof(*v));
    head_shard *sh = &h->shards[ref & HEAD_SHARD_MASK];
    pthread_mutex_lock(&sh->mu);
    head_series *s = head_shard_find_ref(sh, ref);
    if (s == NULL) {
        pthread_mutex_unlock(&sh->mu);
        return false;
    }
    /* First chunk whose newest sample is at or after lo (chunks are in
     * time order and do not overlap). */
    uint32_t from = 0;
    uint32_t r = s->n_chunks;
    while (from < r) {
        uint32_t mid = from + (r - from) / 2;
        if (br_chunk_get_summary(s->chunks[mid])->max_t < lo) {
            from = mid + 1;
        } else {
            r = mid;
        }
    }
    uint32_t to = from;
    while (to < s->n_chunks && br_chunk_get_summary(s->chunks[to])->min_t <= hi) {
        to++;
    }
    if (to > from) {
        v->p = br_malloc(sizeof(*v->p) * (to - from));
    }
    for (uint32_t i = from; i < to; i++) {
        br_chunk *c = s->chunks[i];
        const br_chunk_summary *cs = br_chunk_get_summary(c);
        if (cs->count == 0) {
            continue;
        }
        rs_piece *p = &v->p[v->n];
        memset(p, 0, sizeof(*p));
        p->min_t = cs->min_t;
        p->max_t = cs->max_t;
        if (br_chunk_frozen(c)) {
            p->c = c;
            v->n++;
            continue;
        }
        /* The open chunk changes under appends: copy its samples. */
        p->s = br_malloc(sizeof(*p->s) * cs->count);
        br_chunk_iter it;
        br_chunk_iter_init(&it, c);
        while (br_chunk_iter_next(&it) && p->n < cs->count) {
            p->s[p->n].t = it.t;
            p->s[p->n].v = it.v;
            p->n++;
        }
        if (p->n == 0) {
            br_free(p->s);
            continue;
        }
        p->min_t = p->s[0].t;
        p->max_t = p->s[p->n - 1].t;
        v->n++;
    }
    for (uint32_t i = 0; i < s->n_hchunks; i++) {
        const br_hchunk_summary *hs = br_hchunk_get_summary(s->hchunks[i]);
        if (hs->count == 0 || hs->max_t < lo || hs->min_t > hi) {
            continue;
        }
        v->hspan = br_realloc(v->hspan, sizeof(*v->hspan) * 2 * (v->n_h + 1));
        v->hspan[2 * v->n_h] = hs->min_t;
        v->hspan[2 * v->n_h + 1] = hs->max_t;
        v->n_h++;
    }
    pthread_mutex_unlock(&sh->mu);
    return true;
}

static void view_free(rs_view *v)
{
    for (size_t i = 0; i < v->n; i++) {
        br_free(v->p[i].s);
    }
    br_free(v->p);
    br_free(v->hspan);
}

bool br_head_series_range_stats(br_head *h, br_series_ref ref, int64_t mint, int64_t maxt,
                                bool left_open, br_range_stats *out)
{
    int64_t lo;
    int64_t hi;
    if (!closed_bounds(mint, maxt, left_open, &lo, &hi)) {
        /* Nothing can lie inside; still tell whether the series exists. */
        lo = INT64_MAX;
        hi = INT64_MIN;
    }
    rs_view v;
    if (!view_build(h, ref, lo, hi, &v)) {
        return false;
    }
    rs_terms terms = {0};
    window_stats(&v, mint, maxt, left_open, &terms, out);
    br_free(terms.v);
    view_free(&v);
    return true;
}

bool br_head_series_range_stats_at(br_head *h, br_series_ref ref, const int64_t *ends, size_t n,
                                   int64_t range_ms, bool left_open, br_range_stats *out)
{
    int64_t lo = INT64_MAX;
    int64_t hi = INT64_MIN;
    for (size_t k = 0; k < n; k++) {
        int64_t a;
        int64_t b;
        if (closed_bounds(sub_sat(ends[k], range_ms), ends[k], left_open, &a, &b)) {
            lo = a < lo ? a : lo;
            hi = b > hi ? b : hi;
        }
    }
    rs_view v;
    if (!view_build(h, ref, lo, hi, &v)) {
        return false;
    }
    rs_terms terms = {0};
    for (size_t k = 0; k < n; k++) {
        window_stats(&v, sub_sat(ends[k], range_ms), ends[k], left_open, &terms, &out[k]);
    }
    br_free(terms.v);
    view_free(&v);
    return true;
}
