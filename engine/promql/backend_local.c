/*
 * backend_local.c — br_queryable over the embedded store (br_head).
 *
 * One read bracket per select: series labels and samples are copied into
 * the caller's arena before the bracket ends, so the evaluation never
 * holds storage memory and retention can run meanwhile. range_stats
 * copies no samples at all: per series and window it hands back the
 * summary-based statistics of storage/head_range_stats.c.
 */
#include "backend.h"

#include "engine/core/alloc.h"
#include "storage/head.h"

#include <stdlib.h>
#include <string.h>

/* Prometheus' label-set order: pair by pair, then the shorter first. */
static int compare_labels(const br_label *x, size_t nx, const br_label *y, size_t ny)
{
    size_t n = nx < ny ? nx : ny;
    for (size_t i = 0; i < n; i++) {
        int c = strcmp(x[i].name, y[i].name);
        if (c != 0) {
            return c;
        }
        c = strcmp(x[i].value, y[i].value);
        if (c != 0) {
            return c;
        }
    }
    return (nx > ny) - (nx < ny);
}

static int compare_series(const void *a, const void *b)
{
    const br_series_data *x = a;
    const br_series_data *y = b;
    return compare_labels(x->labels, x->n_labels, y->labels, y->n_labels);
}

static int compare_range_stats(const void *a, const void *b)
{
    const br_series_range_stats *x = a;
    const br_series_range_stats *y = b;
    return compare_labels(x->labels, x->n_labels, y->labels, y->n_labels);
}

/* Copies a stored label set into arena; NULL when the arena is full. */
static br_label *copy_labels(br_arena *arena, const br_labels *ls, size_t *n_out)
{
    size_t nl = br_labels_count(ls);
    br_label *labels = br_arena_alloc(arena, sizeof(*labels) * (nl + 1));
    if (labels == NULL) {
        return NULL;
    }
    for (size_t k = 0; k < nl; k++) {
        const br_label *l = br_labels_at(ls, k);
        labels[k].name = br_arena_strdup(arena, l->name);
        labels[k].value = br_arena_strdup(arena, l->value);
        if (labels[k].name == NULL || labels[k].value == NULL) {
            return NULL;
        }
    }
    *n_out = nl;
    return labels;
}

static int local_select(void *ctx, const br_matcher *ms, size_t n, int64_t mint, int64_t maxt,
                        size_t max_samples, br_arena *arena, br_series_set *out, br_err *err)
{
    br_head *h = ctx;
    out->series = NULL;
    out->n = 0;
    br_refs refs;
    br_refs_init(&refs);
    br_head_read_begin(h);
    int rc = br_head_select(h, ms, n, &refs, err);
    size_t total = 0;
    if (rc == 0) {
        out->series = br_arena_calloc(arena, refs.n + 1, sizeof(*out->series));
        if (out->series == NULL) {
            rc = br_err_set(err, BR_ELIMIT, "query memory limit reached");
        }
    }
    br_sample *buf = NULL;
    size_t cap = 0;
    for (size_t i = 0; rc == 0 && i < refs.n; i++) {
        int64_t lo;
        int64_t hi;
        if (!br_head_series_bounds(h, refs.v[i], &lo, &hi) || hi < mint || lo > maxt) {
            continue;
        }
        const br_labels *ls = br_head_series_labels(h, refs.v[i]);
        if (ls == NULL) {
            continue;
        }
        size_t nl = br_labels_count(ls);
        br_label *labels = br_arena_alloc(arena, sizeof(*labels) * (nl + 1));
        if (labels == NULL) {
            rc = br_err_set(err, BR_ELIMIT, "query memory limit reached");
            break;
        }
        for (size_t k = 0; k < nl; k++) {
            const br_label *l = br_labels_at(ls, k);
            labels[k].name = br_arena_strdup(arena, l->name);
            labels[k].value = br_arena_strdup(arena, l->value);
            if (labels[k].name == NULL || labels[k].value == NULL) {
                rc = br_err_set(err, BR_ELIMIT, "query memory limit reached");
            }
        }
        size_t ns = 0;
        br_series_iter it;
        br_head_series_iter(h, refs.v[i], mint, maxt, &it);
        while (br_series_iter_next(&it)) {
            if (ns == cap) {
                cap = cap ? cap * 2 : 256;
                buf = br_realloc(buf, cap * sizeof(*buf));
            }
            buf[ns].t = it.t;
            buf[ns].v = it.v;
            ns++;
        }
        br_series_iter_free(&it);
        br_histogram_sample *hs = NULL;
        size_t nh = br_head_series_histograms(h, refs.v[i], mint, maxt, arena, &hs);
        total += ns + nh;
        if (max_samples > 0 && total > max_samples) {
            rc = br_err_set(err, BR_ELIMIT,
                            "query processing would load too many samples into memory in query "
                            "execution");
            break;
        }
        if (ns + nh == 0) {
            continue;
        }
        br_sample *samples = br_arena_alloc(arena, sizeof(*samples) * (ns + 1));
        if (samples == NULL) {
            rc = br_err_set(err, BR_ELIMIT, "query memory limit reached");
            break;
        }
        if (ns > 0) {
            memcpy(samples, buf, sizeof(*samples) * ns);
        }
        br_series_data *d = &out->series[out->n++];
        d->labels = labels;
        d->n_labels = nl;
        d->samples = samples;
        d->n_samples = ns;
        d->histograms = hs;
        d->n_histograms = nh;
    }
    br_head_read_end(h);
    br_free(buf);
    br_refs_free(&refs);
    if (rc != 0) {
        out->n = 0;
        return rc;
    }
    qsort(out->series, out->n, sizeof(*out->series), compare_series);
    return 0;
}

static int local_window_aggs(void *ctx, const br_matcher *ms, size_t n, const br_interval *iv,
                             size_t n_iv, bool want_sum, br_arena *arena, br_series_aggs_set *out,
                             br_err *err)
{
    br_head *h = ctx;
    out->series = NULL;
    out->n = 0;
    br_refs refs;
    br_refs_init(&refs);
    br_head_read_begin(h);
    int rc = br_head_select(h, ms, n, &refs, err);
    if (rc == 0) {
        out->series = br_arena_calloc(arena, refs.n + 1, sizeof(*out->series));
        if (out->series == NULL) {
            rc = br_err_set(err, BR_ELIMIT, "query memory limit reached");
        }
    }
    for (size_t i = 0; rc == 0 && i < refs.n; i++) {
        const br_labels *ls = br_head_series_labels(h, refs.v[i]);
        br_window_agg *aggs = br_arena_alloc(arena, sizeof(*aggs) * (n_iv + 1));
        if (ls == NULL) {
            continue;
        }
        if (aggs == NULL) {
            rc = br_err_set(err, BR_ELIMIT, "query memory limit reached");
            break;
        }
        br_series_aggs *d = &out->series[out->n];
        if (!br_head_series_window_aggs(h, refs.v[i], iv, n_iv, want_sum, aggs, &d->last_t)) {
            continue;
        }
        size_t nl = br_labels_count(ls);
        br_label *labels = br_arena_alloc(arena, sizeof(*labels) * (nl + 1));
        if (labels == NULL) {
            rc = br_err_set(err, BR_ELIMIT, "query memory limit reached");
            break;
        }
        for (size_t k = 0; k < nl; k++) {
            const br_label *l = br_labels_at(ls, k);
            labels[k].name = br_arena_strdup(arena, l->name);
            labels[k].value = br_arena_strdup(arena, l->value);
            if (labels[k].name == NULL || labels[k].value == NULL) {
                rc = br_err_set(err, BR_ELIMIT, "query memory limit reached");
            }
        }
        d->labels = labels;
        d->n_labels = nl;
        d->aggs = aggs;
        out->n++;
    }
    br_head_read_end(h);
    br_refs_free(&refs);
    if (rc != 0) {
        out->n = 0;
    }
    return rc;
}

/* Range statistics straight from the head's chunk summaries (see
 * br_head_series_range_stats_at): nothing but labels and one br_range_stats
 * per series and window is copied. */
static int local_range_stats(void *ctx, const br_matcher *ms, size_t n, const int64_t *ends,
                             size_t n_ends, int64_t range_ms, bool left_open, size_t max_windows,
                             br_arena *arena, br_series_range_stats_set *out, br_err *err)
{
    br_head *h = ctx;
    out->series = NULL;
    out->n = 0;
    br_refs refs;
    br_refs_init(&refs);
    br_head_read_begin(h);
    int rc = br_head_select(h, ms, n, &refs, err);
    if (rc == 0 && max_windows > 0 && n_ends > 0 && refs.n > max_windows / n_ends) {
        rc = br_err_set(err, BR_ELIMIT,
                        "query processing would load too many samples into memory in query "
                        "execution");
    }
    if (rc == 0) {
        out->series = br_arena_calloc(arena, refs.n + 1, sizeof(*out->series));
        if (out->series == NULL) {
            rc = br_err_set(err, BR_ELIMIT, "query memory limit reached");
        }
    }
    br_range_stats *st = NULL;
    for (size_t i = 0; rc == 0 && i < refs.n; i++) {
        if (st == NULL) {
            st = br_arena_alloc(arena, sizeof(*st) * (n_ends + 1));
            if (st == NULL) {
                rc = br_err_set(err, BR_ELIMIT, "query memory limit reached");
                break;
            }
        }
        if (!br_head_series_range_stats_at(h, refs.v[i], ends, n_ends, range_ms, left_open, st)) {
            continue;
        }
        bool any = false;
        for (size_t k = 0; k < n_ends && !any; k++) {
            any = st[k].count > 0 || st[k].has_histograms;
        }
        const br_labels *ls = br_head_series_labels(h, refs.v[i]);
        if (!any || ls == NULL) {
            continue; /* st is reused for the next series */
        }
        br_series_range_stats *d = &out->series[out->n];
        d->labels = copy_labels(arena, ls, &d->n_labels);
        if (d->labels == NULL) {
            rc = br_err_set(err, BR_ELIMIT, "query memory limit reached");
            break;
        }
        d->stats = st;
        st = NULL;
        out->n++;
    }
    br_head_read_end(h);
    br_refs_free(&refs);
    if (rc != 0) {
        out->n = 0;
        return rc;
    }
    qsort(out->series, out->n, sizeof(*out->series), compare_range_stats);
    return 0;
}

static int64_t local_take_oldest_append(void *ctx)
{
    return br_head_take_oldest_append(ctx);
}

void br_queryable_local(struct br_head *head, br_queryable *q)
{
    q->ctx = head;
    q->select = local_select;
    q->window_aggs = local_window_aggs;
    q->take_oldest_append = local_take_oldest_append;
    q->range_stats = local_range_stats;
}
