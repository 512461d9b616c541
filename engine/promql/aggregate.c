/*
 * aggregate.c — aggregation operators at one step. See aggregate.h.
 *
 * Grouping: `by (l...)` keys a series by the listed labels only (and the
 * group's labels are those); `without (l...)` keys it by every label but
 * the listed ones and __name__. Group indexes are assigned in input order,
 * which is also the output order of an instant query, as in Prometheus.
 *
 * topk and bottomk keep Prometheus' heap (container/heap semantics, the
 * same comparison and replacement rules), so ties resolve the same way;
 * the final per-group sort is Go's insertion sort for small groups, which
 * is stable, and a stable merge sort beyond.
 */
#include "aggregate.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct agg_group {
    bool seen;
    bool has_float;
    bool has_hist;
    bool incompatible;
    bool incremental;
    bool reset_seen;
    bool not_reset_seen;
    bool drop_name;
    double value;
    double mean;
    double comp;
    double count;
    br_fhist *hv;
    br_fhist *hc;   /* Kahan compensation */
    br_fhist *hmean;
    bool h_incremental;
    /* quantile values / selected samples */
    double *vals;
    size_t nvals;
    size_t capvals;
    const br_vsample **heap;
    size_t nheap;
    size_t capheap;
    bool complete;
} agg_group;

const char *br_aggop_str(br_aggop op)
{
    static const char *const names[] = {"sum",    "avg",      "count",       "group",
                                        "min",    "max",      "stddev",      "stdvar",
                                        "quantile", "topk",   "bottomk",     "limitk",
                                        "limit_ratio", "count_values"};
    return (size_t)op < sizeof(names) / sizeof(names[0]) ? names[op] : "?";
}

bool br_aggop_selects(br_aggop op)
{
    return op == BR_AGG_TOPK || op == BR_AGG_BOTTOMK || op == BR_AGG_LIMITK ||
           op == BR_AGG_LIMIT_RATIO;
}

static int oom(br_err *err)
{
    return br_err_set(err, BR_ELIMIT, "query memory limit exceeded");
}

static void note(br_fctx *cx, int kind, const char *msg)
{
    if (cx->note != NULL) {
        cx->note(cx->note_ctx, kind, msg);
    }
}

static void note_ignored(br_fctx *cx, br_aggop op)
{
    char msg[128];
    snprintf(msg, sizeof(msg), "ignored histogram in %s aggregation", br_aggop_str(op));
    /* topk and bottomk report at the whole aggregation, the others at
     * the aggregated expression (as Prometheus does). */
    note(cx, br_aggop_selects(op) ? BR_NOTE_INFO | BR_NOTE_AT_NODE : BR_NOTE_INFO, msg);
}

/* ---- xxhash64 (Prometheus' labels.Hash) --------------------------------- */

#define XP1 0x9E3779B185EBCA87ULL
#define XP2 0xC2B2AE3D27D4EB4FULL
#define XP3 0x165667B19E3779F9ULL
#define XP4 0x85EBCA77C2B2AE63ULL
#define XP5 0x27D4EB2F165667C5ULL

static uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static uint64_t rd64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint64_t xround(uint64_t acc, uint64_t in)
{
    acc += in * XP2;
    acc = rotl(acc, 31);
    return acc * XP1;
}

static uint64_t xmerge(uint64_t acc, uint64_t v)
{
    v = xround(0, v);
    acc ^= v;
    return acc * XP1 + XP4;
}

static uint64_t xxh64(const unsigned char *p, size_t len)
{
    const unsigned char *end = p + len;
    uint64_t h;
    if (len >= 32) {
        uint64_t v1 = XP1 + XP2;
        uint64_t v2 = XP2;
        uint64_t v3 = 0;
        uint64_t v4 = (uint64_t)0 - XP1;
        while ((size_t)(end - p) >= 32) {
            v1 = xround(v1, rd64(p));
            v2 = xround(v2, rd64(p + 8));
            v3 = xround(v3, rd64(p + 16));
            v4 = xround(v4, rd64(p + 24));
            p += 32;
        }
        h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
        h = xmerge(h, v1);
        h = xmerge(h, v2);
        h = xmerge(h, v3);
        h = xmerge(h, v4);
    } else {
        h = XP5;
    }
    h += (uint64_t)len;
    while ((size_t)(end - p) >= 8) {
        h ^= xround(0, rd64(p));
        h = rotl(h, 27) * XP1 + XP4;
        p += 8;
    }
    if ((size_t)(end - p) >= 4) {
        h ^= (uint64_t)rd32(p) * XP1;
        h = rotl(h, 23) * XP2 + XP3;
        p += 4;
    }
    while (p < end) {
        h ^= (uint64_t)(*p) * XP5;
        h = rotl(h, 11) * XP1;
        p++;
    }
    h ^= h >> 33;
    h *= XP2;
    h ^= h >> 29;
    h *= XP3;
    h ^= h >> 32;
    return h;
}

uint64_t br_lset_prom_hash(br_lset ls)
{
    size_t len = 0;
    for (size_t i = 0; i < ls.n; i++) {
        len += strlen(ls.v[i].name) + strlen(ls.v[i].value) + 2;
    }
    unsigned char stackbuf[1024];
    unsigned char *buf = len <= sizeof(stackbuf) ? stackbuf : NULL;
    br_arena tmp;
    br_arena_init(&tmp, 0, 0);
    if (buf == NULL) {
        buf = br_arena_alloc(&tmp, len);
    }
    size_t o = 0;
    for (size_t i = 0; i < ls.n; i++) {
        size_t nl = strlen(ls.v[i].name);
        size_t vl = strlen(ls.v[i].value);
        memcpy(buf + o, ls.v[i].name, nl);
        o += nl;
        buf[o++] = 0xff;
        memcpy(buf + o, ls.v[i].value, vl);
        o += vl;
        buf[o++] = 0xff;
    }
    uint64_t h = xxh64(buf, len);
    br_arena_free(&tmp);
    return h;
}

/* ---- Grouping ------------------------------------------------------------ */

static uint64_t group_key(const br_agg *agg, br_lset ls)
{
    if (agg->without) {
        const char *stackn[70];
        const char **names = stackn;
        size_t nn = 0;
        names[nn++] = BR_LABEL_NAME;
        for (size_t i = 0; i < agg->n_names && nn < 70; i++) {
            names[nn++] = agg->names[i];
        }
        nn = br_names_sort(names, nn);
        return br_lset_hash_sel(ls, names, nn, false);
    }
    if (agg->n_names == 0) {
        return 0;
    }
    return br_lset_hash_sel(ls, agg->names, agg->n_names, true);
}

static int group_labels(br_arena *a, const br_agg *agg, br_lset ls, br_lset *out)
{
    if (agg->without) {
        const char *stackn[70];
        size_t nn = 0;
        stackn[nn++] = BR_LABEL_NAME;
        for (size_t i = 0; i < agg->n_names && nn < 70; i++) {
            stackn[nn++] = agg->names[i];
        }
        nn = br_names_sort(stackn, nn);
        return br_lset_del(a, ls, stackn, nn, out);
    }
    if (agg->n_names > 0) {
        return br_lset_keep(a, ls, agg->names, agg->n_names, out);
    }
    out->v = NULL;
    out->n = 0;
    return 0;
}

int br_agg_init(br_arena *a, br_agg *agg, br_aggop op, bool without, const char *const *names,
                size_t n_names, const br_lset *ls, size_t n_series, br_err *err)
{
    memset(agg, 0, sizeof(*agg));
    agg->op = op;
    agg->without = without;
    agg->names = names;
    agg->n_names = n_names;
    agg->n_series = n_series;
    agg->group_of = br_arena_alloc(a, sizeof(uint32_t) * (n_series + 1));
    agg->group_ls = br_arena_alloc(a, sizeof(br_lset) * (n_series + 1));
    agg->gs = br_arena_calloc(a, n_series + 1, sizeof(agg_group));
    br_imap keys;
    if (agg->group_of == NULL || agg->group_ls == NULL || agg->gs == NULL ||
        br_imap_init(a, &keys, n_series) != 0) {
        return oom(err);
    }
    for (size_t i = 0; i < n_series; i++) {
        uint64_t key = group_key(agg, ls[i]);
        uint32_t g;
        if (!br_imap_get(&keys, key, &g)) {
            g = (uint32_t)agg->n_groups++;
            if (br_imap_put(a, &keys, key, g) != 0) {
                return oom(err);
            }
            if (!br_aggop_selects(op)) {
                if (group_labels(a, agg, ls[i], &agg->group_ls[g]) != 0) {
                    return oom(err);
                }
            }
        }
        agg->group_of[i] = g;
    }
    return 0;
}

int br_agg_check_params(br_fctx *cx, br_aggop op, const double *params, size_t n, bool *empty,
                        br_err *err)
{
    *empty = false;
    double mx = -INFINITY;
    double mn = INFINITY;
    bool any_nan = false;
    for (size_t i = 0; i < n; i++) {
        if (isnan(params[i])) {
            any_nan = true;
            continue;
        }
        mx = fmax(mx, params[i]);
        mn = fmin(mn, params[i]);
    }
    char b[64];
    char msg[160];
    switch (op) {
    case BR_AGG_TOPK:
    case BR_AGG_BOTTOMK:
    case BR_AGG_LIMITK:
        if (!any_nan && mx < 1) {
            *empty = true;
            return 0;
        }
        if (any_nan) {
            return br_err_set(err, BR_EEXEC, "Parameter value is NaN");
        }
        if (mn <= -9223372036854775808.0) {
            return br_err_set(err, BR_EEXEC, "Scalar value %s underflows int64",
                              br_format_float_g(mn, b, sizeof(b)));
        }
        if (mx >= 9223372036854775807.0) {
            return br_err_set(err, BR_EEXEC, "Scalar value %s overflows int64",
                              br_format_float_g(mx, b, sizeof(b)));
        }
        return 0;
    case BR_AGG_LIMIT_RATIO:
        if (!any_nan && mx == 0 && mn == 0) {
            *empty = true;
            return 0;
        }
        if (any_nan) {
            return br_err_set(err, BR_EEXEC, "Ratio value is NaN");
        }
        if (mx > 1.0) {
            snprintf(msg, sizeof(msg), "ratio value should be between -1 and 1, got %s, capping to 1",
                     br_format_float_g(mx, b, sizeof(b)));
            note(cx, BR_NOTE_WARN | BR_NOTE_AT_PARAM, msg);
        }
        if (mn < -1.0) {
            snprintf(msg, sizeof(msg), "ratio value should be between -1 and 1, got %s, capping to -1",
                     br_format_float_g(mn, b, sizeof(b)));
            note(cx, BR_NOTE_WARN | BR_NOTE_AT_PARAM, msg);
        }
        return 0;
    case BR_AGG_QUANTILE:
        if (cx->v2) {
            return 0;
        }
        if (any_nan) {
            note(cx, BR_NOTE_WARN | BR_NOTE_AT_PARAM,
                 "quantile value should be between 0 and 1, got NaN");
        }
        if (mx > 1) {
            snprintf(msg, sizeof(msg), "quantile value should be between 0 and 1, got %s",
                     br_format_float_g(mx, b, sizeof(b)));
            note(cx, BR_NOTE_WARN | BR_NOTE_AT_PARAM, msg);
        }
        if (mn < 0) {
            snprintf(msg, sizeof(msg), "quantile value should be between 0 and 1, got %s",
                     br_format_float_g(mn, b, sizeof(b)));
            note(cx, BR_NOTE_WARN | BR_NOTE_AT_PARAM, msg);
        }
        return 0;
    default:
        return 0;
    }
}

/* ---- Heaps with Go's container/heap behaviour ---------------------------- */

typedef bool (*less_fn)(const br_vsample *a, const br_vsample *b);

static bool less_value(const br_vsample *a, const br_vsample *b)
{
    if (isnan(a->f)) {
        return true;
    }
    return a->f < b->f;
}

static bool less_reverse(const br_vsample *a, const br_vsample *b)
{
    if (isnan(a->f)) {
        return true;
    }
    return a->f > b->f;
}

static void heap_swap(const br_vsample **h, size_t i, size_t j)
{
    const br_vsample *t = h[i];
    h[i] = h[j];
    h[j] = t;
}

static void heap_up(const br_vsample **h, size_t j, less_fn less)
{
    while (j > 0) {
        size_t i = (j - 1) / 2;
        if (!less(h[j], h[i])) {
            break;
        }
        heap_swap(h, i, j);
        j = i;
    }
}

static bool heap_down(const br_vsample **h, size_t i0, size_t n, less_fn less)
{
    size_t i = i0;
    for (;;) {
        size_t j1 = 2 * i + 1;
        if (j1 >= n) {
            break;
        }
        size_t j = j1;
        size_t j2 = j1 + 1;
        if (j2 < n && less(h[j2], h[j1])) {
            j = j2;
        }
        if (!less(h[j], h[i])) {
            break;
        }
        heap_swap(h, i, j);
        i = j;
    }
    return i > i0;
}

static int heap_push(br_fctx *cx, agg_group *g, const br_vsample *s, less_fn less)
{
    if (g->nheap == g->capheap) {
        size_t cap = g->capheap ? g->capheap * 2 : 8;
        const br_vsample **nh = br_arena_alloc(cx->arena, sizeof(*nh) * cap);
        if (nh == NULL) {
            return -1;
        }
        if (g->nheap > 0) {
            memcpy(nh, g->heap, sizeof(*nh) * g->nheap);
        }
        g->heap = nh;
        g->capheap = cap;
    }
    g->heap[g->nheap++] = s;
    if (less != NULL) {
        heap_up(g->heap, g->nheap - 1, less);
    }
    return 0;
}

static void heap_fix(agg_group *g, size_t i, less_fn less)
{
    if (!heap_down(g->heap, i, g->nheap, less)) {
        heap_up(g->heap, i, less);
    }
}

static void heap_pop(agg_group *g, less_fn less)
{
    size_t n = g->nheap - 1;
    heap_swap(g->heap, 0, n);
    heap_down(g->heap, 0, n, less);
    g->nheap--;
}

/* sort.Sort(sort.Reverse(heap)): insertion sort (stable) as Go does for
 * short slices, merge sort beyond. */
static void sort_reverse(br_fctx *cx, const br_vsample **h, size_t n, less_fn less)
{
    if (n <= 12) {
        for (size_t i = 1; i < n; i++) {
            for (size_t j = i; j > 0 && less(h[j - 1], h[j]); j--) {
                heap_swap(h, j, j - 1);
            }
        }
        return;
    }
    const br_vsample **tmp = br_arena_alloc(cx->arena, sizeof(*tmp) * n);
    if (tmp == NULL) {
        return;
    }
    /* Bottom-up stable merge sort with "j before i when less(i, j)". */
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo;
            size_t j = mid;
            size_t k = lo;
            while (i < mid && j < hi) {
                if (less(h[i], h[j])) {
                    tmp[k++] = h[j++];
                } else {
                    tmp[k++] = h[i++];
                }
            }
            while (i < mid) {
                tmp[k++] = h[i++];
            }
            while (j < hi) {
                tmp[k++] = h[j++];
            }
        }
        memcpy(h, tmp, sizeof(*h) * n);
    }
}

/* ---- One step -------------------------------------------------------------- */

static int push_value(br_fctx *cx, agg_group *g, double v)
{
    if (g->nvals == g->capvals) {
        size_t cap = g->capvals ? g->capvals * 2 : 8;
        double *nv = br_arena_alloc(cx->arena, sizeof(*nv) * cap);
        if (nv == NULL) {
            return -1;
        }
        if (g->nvals > 0) {
            memcpy(nv, g->vals, sizeof(*nv) * g->nvals);
        }
        g->vals = nv;
        g->capvals = cap;
    }
    g->vals[g->nvals++] = v;
    return 0;
}

static void track_hint(agg_group *g, const br_fhist *h)
{
    if (h->hint == BR_HIST_RESET_YES) {
        g->reset_seen = true;
    } else if (h->hint == BR_HIST_RESET_NO) {
        g->not_reset_seen = true;
    }
}

static void note_incompatible_hist(br_fctx *cx, br_lset ls)
{
    const char *name = br_lset_get(ls, BR_LABEL_NAME);
    char msg[300];
    snprintf(msg, sizeof(msg),
             "vector contains a mix of histograms with exponential and custom buckets schemas "
             "for metric name \"%s\"",
             name != NULL ? name : "");
    note(cx, BR_NOTE_WARN, msg);
}

static int hist_add(br_fctx *cx, agg_group *g, const br_fhist *h, br_lset ls)
{
    unsigned flags = 0;
    if (g->hc == NULL) {
        g->hc = br_fhist_new_comp(cx->arena, g->hv);
        if (g->hc == NULL) {
            return -1;
        }
    }
    int rc = br_fhist_add(cx->arena, g->hv, h, false, cx->v2 ? NULL : g->hc, &flags);
    if (rc < 0) {
        return -1;
    }
    if (rc == BR_FH_EINCOMPAT) {
        note_incompatible_hist(cx, ls);
        g->incompatible = true;
        return 0;
    }
    if (flags & BR_FH_NHCB_RECONCILED) {
        note(cx, BR_NOTE_INFO, "mismatched custom buckets were reconciled during aggregation");
    }
    return 0;
}

/* One more histogram into an average: a Kahan sum while it does not
 * overflow, an incremental mean from then on (Prometheus' avg). */
static int hist_avg_add(br_fctx *cx, agg_group *g, const br_fhist *h, br_lset ls)
{
    unsigned flags = 0;
    if (!g->h_incremental) {
        br_fhist *v = br_fhist_copy(cx->arena, g->hv);
        br_fhist *c = g->hc != NULL ? br_fhist_copy(cx->arena, g->hc) : br_fhist_new_comp(cx->arena, g->hv);
        if (v == NULL || c == NULL) {
            return -1;
        }
        int rc = br_fhist_add(cx->arena, v, h, false, cx->v2 ? NULL : c, &flags);
        if (rc < 0) {
            return -1;
        }
        if (rc == BR_FH_EINCOMPAT) {
            note_incompatible_hist(cx, ls);
            g->incompatible = true;
            return 0;
        }
        if (flags & BR_FH_NHCB_RECONCILED) {
            note(cx, BR_NOTE_INFO, "mismatched custom buckets were reconciled during aggregation");
        }
        if (!br_fhist_has_overflow(v)) {
            g->hv = v;
            g->hc = c;
            return 0;
        }
        g->h_incremental = true;
        g->hmean = br_fhist_copy(cx->arena, g->hv);
        if (g->hmean == NULL) {
            return -1;
        }
        br_fhist_div(g->hmean, g->count - 1);
        if (g->hc != NULL) {
            br_fhist_div(g->hc, g->count - 1);
        }
    }
    double q = (g->count - 1) / g->count;
    if (g->hc == NULL) {
        g->hc = br_fhist_new_comp(cx->arena, g->hmean);
        if (g->hc == NULL) {
            return -1;
        }
    } else {
        br_fhist_mul(g->hc, q);
    }
    br_fhist *add = br_fhist_copy(cx->arena, h);
    if (add == NULL) {
        return -1;
    }
    br_fhist_div(add, g->count);
    br_fhist_mul(g->hmean, q);
    int rc = br_fhist_add(cx->arena, g->hmean, add, false, g->hc, &flags);
    if (rc < 0) {
        return -1;
    }
    if (rc == BR_FH_EINCOMPAT) {
        note_incompatible_hist(cx, ls);
        g->incompatible = true;
    }
    return 0;
}

static int aggregate_regular(br_fctx *cx, br_agg *agg, const br_vsample *const *in, double q,
                             br_vvec *out, br_err *err)
{
    br_aggop op = agg->op;
    for (size_t g = 0; g < agg->n_groups; g++) {
        agg->gs[g].seen = false;
    }
    for (size_t si = 0; si < agg->n_series; si++) {
        const br_vsample *s = in[si];
        if (s == NULL) {
            continue;
        }
        agg_group *g = &agg->gs[agg->group_of[si]];
        double f = s->h == NULL ? s->f : 0;
        const br_fhist *h = s->h;
        if (!g->seen) {
            memset(g, 0, sizeof(*g));
            g->seen = true;
            g->value = f;
            g->mean = f;
            g->count = 1;
            g->drop_name = s->drop_name;
            switch (op) {
            case BR_AGG_SUM:
            case BR_AGG_AVG:
                if (h == NULL) {
                    g->has_float = true;
                } else {
                    g->hv = br_fhist_copy(cx->arena, h);
                    if (g->hv == NULL) {
                        return oom(err);
                    }
                    g->has_hist = true;
                    track_hint(g, h);
                }
                break;
            case BR_AGG_STDDEV:
            case BR_AGG_STDVAR:
                if (h != NULL) {
                    g->seen = false;
                    note_ignored(cx, op);
                } else if (!cx->v2 && (isnan(f) || isinf(f))) {
                    g->value = NAN;
                } else {
                    g->value = 0;
                }
                break;
            case BR_AGG_QUANTILE:
                if (h != NULL) {
                    g->seen = false;
                    note_ignored(cx, op);
                    break;
                }
                if (push_value(cx, g, f) != 0) {
                    return oom(err);
                }
                break;
            case BR_AGG_GROUP:
                g->value = 1;
                break;
            case BR_AGG_MIN:
            case BR_AGG_MAX:
                if (h != NULL) {
                    g->seen = false;
                    note_ignored(cx, op);
                }
                break;
            default:
                break;
            }
            continue;
        }
        if (g->incompatible) {
            continue;
        }
        if (s->drop_name) {
            g->drop_name = true;
        }
        switch (op) {
        case BR_AGG_SUM:
            if (h != NULL) {
                g->has_hist = true;
                if (g->hv != NULL) {
                    track_hint(g, h);
                    if (hist_add(cx, g, h, s->ls) != 0) {
                        return oom(err);
                    }
                }
            } else {
                g->has_float = true;
                if (cx->v2) {
                    g->value += f;
                } else {
                    br_kahan_inc(f, &g->value, &g->comp);
                }
            }
            break;
        case BR_AGG_AVG:
            g->count++;
            if (h != NULL) {
                g->has_hist = true;
                if (g->hv != NULL) {
                    track_hint(g, h);
                    if (hist_avg_add(cx, g, h, s->ls) != 0) {
                        return oom(err);
                    }
                }
            } else {
                g->has_float = true;
                if (cx->v2) {
                    if (isinf(g->mean)) {
                        if (isinf(f) && (g->mean > 0) == (f > 0)) {
                            break;
                        }
                        if (!isinf(f) && !isnan(f)) {
                            break;
                        }
                    }
                    g->mean += f / g->count - g->mean / g->count;
                    break;
                }
                if (!g->incremental) {
                    double nv = g->value;
                    double nc = g->comp;
                    br_kahan_inc(f, &nv, &nc);
                    if (!isinf(nv)) {
                        g->value = nv;
                        g->comp = nc;
                        break;
                    }
                    g->incremental = true;
                    g->mean = g->value / (g->count - 1);
                    g->comp /= g->count - 1;
                }
                double qq = (g->count - 1) / g->count;
                double m = qq * g->mean;
                double c = qq * g->comp;
                br_kahan_inc(f / g->count, &m, &c);
                g->mean = m;
                g->comp = c;
            }
            break;
        case BR_AGG_GROUP:
            break;
        case BR_AGG_MAX:
            if (h != NULL) {
                note_ignored(cx, op);
                break;
            }
            if (g->value < f || isnan(g->value)) {
                g->value = f;
            }
            break;
        case BR_AGG_MIN:
            if (h != NULL) {
                note_ignored(cx, op);
                break;
            }
            if (g->value > f || isnan(g->value)) {
                g->value = f;
            }
            break;
        case BR_AGG_COUNT:
            g->count++;
            break;
        case BR_AGG_STDDEV:
        case BR_AGG_STDVAR:
            if (h != NULL) {
                note_ignored(cx, op);
                break;
            }
            g->count++;
            {
                double delta = f - g->mean;
                g->mean += delta / g->count;
                g->value += delta * (f - g->mean);
            }
            break;
        case BR_AGG_QUANTILE:
            if (h != NULL) {
                note_ignored(cx, op);
                break;
            }
            if (push_value(cx, g, f) != 0) {
                return oom(err);
            }
            break;
        default:
            break;
        }
    }
    for (size_t gi = 0; gi < agg->n_groups; gi++) {
        agg_group *g = &agg->gs[gi];
        if (!g->seen) {
            continue;
        }
        double v = g->value;
        const br_fhist *hv = NULL;
        switch (op) {
        case BR_AGG_SUM:
        case BR_AGG_AVG:
            if (g->has_float && g->has_hist) {
                note(cx, BR_NOTE_WARN,
                     "encountered a mix of histograms and floats for aggregation");
                continue;
            }
            if (g->incompatible) {
                continue;
            }
            if (g->has_hist) {
                if (op == BR_AGG_AVG && g->h_incremental) {
                    g->hv = g->hmean;
                } else if (op == BR_AGG_AVG) {
                    br_fhist_div(g->hv, g->count);
                    if (g->hc != NULL) {
                        br_fhist_div(g->hc, g->count);
                    }
                }
                if (g->hc != NULL && !cx->v2) {
                    if (br_fhist_add(cx->arena, g->hv, g->hc, false, NULL, NULL) < 0) {
                        return oom(err);
                    }
                }
                br_fhist_trim(g->hv);
                hv = g->hv;
            } else if (op == BR_AGG_AVG) {
                if (cx->v2) {
                    v = g->mean;
                } else if (g->incremental) {
                    v = g->mean + g->comp;
                } else {
                    v = g->value / g->count + g->comp / g->count;
                }
            } else if (!cx->v2) {
                v = g->value + g->comp;
            }
            if (g->reset_seen && g->not_reset_seen) {
                note(cx, BR_NOTE_WARN, "conflicting counter resets during histogram aggregation");
            }
            break;
        case BR_AGG_COUNT:
            v = g->count;
            break;
        case BR_AGG_STDVAR:
            v = g->value / g->count;
            break;
        case BR_AGG_STDDEV:
            v = sqrt(g->value / g->count);
            break;
        case BR_AGG_QUANTILE:
            v = br_quantile(q, g->vals, g->nvals);
            break;
        default:
            break;
        }
        br_vsample s;
        memset(&s, 0, sizeof(s));
        s.ls = agg->group_ls[gi];
        s.f = v;
        s.h = hv;
        s.drop_name = g->drop_name;
        if (br_vvec_push(cx->arena, out, &s) != 0) {
            return oom(err);
        }
    }
    return 0;
}

/* limit_ratio's consistent sampling (Prometheus' HashRatioSampler). */
static bool ratio_keeps(double r, br_lset ls)
{
    double offset = (double)br_lset_prom_hash(ls) / 18446744073709551615.0;
    return (r >= 0 && offset < r) || (r < 0 && offset >= 1.0 + r);
}

static int aggregate_k(br_fctx *cx, br_agg *agg, const br_vsample *const *in, double param,
                       br_vvec *out, br_err *err)
{
    br_aggop op = agg->op;
    for (size_t g = 0; g < agg->n_groups; g++) {
        agg->gs[g].seen = false;
        agg->gs[g].nheap = 0;
        agg->gs[g].capheap = 0;
        agg->gs[g].heap = NULL;
        agg->gs[g].complete = false;
    }
    int64_t k = 0;
    double r = 0;
    if (op == BR_AGG_LIMIT_RATIO) {
        if (param == 0) {
            return 0;
        }
        r = param < -1.0 ? -1.0 : (param > 1.0 ? 1.0 : param);
    } else {
        if (isnan(param)) {
            return br_err_set(err, BR_EEXEC, "Parameter value is NaN");
        }
        double kk = param;
        if (kk > (double)agg->n_series) {
            kk = (double)agg->n_series;
        }
        k = (int64_t)kk;
        if (k < 1) {
            return 0;
        }
    }
    less_fn less = op == BR_AGG_BOTTOMK ? less_reverse : less_value;
    size_t remaining = agg->n_groups;
    for (size_t si = 0; si < agg->n_series; si++) {
        const br_vsample *s = in[si];
        if (s == NULL) {
            continue;
        }
        agg_group *g = &agg->gs[agg->group_of[si]];
        if (!g->seen) {
            g->seen = true;
            g->nheap = 0;
            switch (op) {
            case BR_AGG_LIMIT_RATIO:
                if (ratio_keeps(r, s->ls) && heap_push(cx, g, s, NULL) != 0) {
                    return oom(err);
                }
                break;
            case BR_AGG_LIMITK:
                if (heap_push(cx, g, s, NULL) != 0) {
                    return oom(err);
                }
                break;
            default:
                if (cx->v2) {
                    if (heap_push(cx, g, s, less) != 0) {
                        return oom(err);
                    }
                } else if (s->h != NULL) {
                    g->seen = false;
                    note_ignored(cx, op);
                } else if (heap_push(cx, g, s, less) != 0) {
                    return oom(err);
                }
                break;
            }
            if (op == BR_AGG_LIMITK && g->seen && (int64_t)g->nheap == k && !g->complete) {
                g->complete = true;
                remaining--;
                if (remaining == 0) {
                    break;
                }
            }
            continue;
        }
        switch (op) {
        case BR_AGG_TOPK:
        case BR_AGG_BOTTOMK:
            if (cx->v2) {
                bool replace = op == BR_AGG_TOPK ? g->heap[0]->f < s->f : g->heap[0]->f > s->f;
                if ((int64_t)g->nheap < k || replace || isnan(g->heap[0]->f)) {
                    if ((int64_t)g->nheap == k) {
                        if (k == 1) {
                            g->heap[0] = s;
                            break;
                        }
                        heap_pop(g, less);
                    }
                    if (heap_push(cx, g, s, less) != 0) {
                        return oom(err);
                    }
                }
                break;
            }
            if (s->h != NULL) {
                note_ignored(cx, op);
            } else if ((int64_t)g->nheap < k) {
                if (heap_push(cx, g, s, less) != 0) {
                    return oom(err);
                }
            } else {
                bool better = op == BR_AGG_TOPK ? g->heap[0]->f < s->f : g->heap[0]->f > s->f;
                if (better || (isnan(g->heap[0]->f) && !isnan(s->f))) {
                    g->heap[0] = s;
                    if (k > 1) {
                        heap_fix(g, 0, less);
                    }
                }
            }
            break;
        case BR_AGG_LIMITK:
            if ((int64_t)g->nheap < k) {
                if (heap_push(cx, g, s, NULL) != 0) {
                    return oom(err);
                }
            }
            if (!g->complete && (int64_t)g->nheap == k) {
                g->complete = true;
                remaining--;
            }
            break;
        case BR_AGG_LIMIT_RATIO:
            if (ratio_keeps(r, s->ls) && heap_push(cx, g, s, NULL) != 0) {
                return oom(err);
            }
            break;
        default:
            break;
        }
        if (op == BR_AGG_LIMITK && remaining == 0) {
            break;
        }
    }
    for (size_t gi = 0; gi < agg->n_groups; gi++) {
        agg_group *g = &agg->gs[gi];
        if (!g->seen) {
            continue;
        }
        if ((op == BR_AGG_TOPK || op == BR_AGG_BOTTOMK) && g->nheap > 1) {
            sort_reverse(cx, g->heap, g->nheap, less);
        }
        for (size_t i = 0; i < g->nheap; i++) {
            if (br_vvec_push(cx->arena, out, g->heap[i]) != 0) {
                return oom(err);
            }
        }
    }
    return 0;
}

int br_agg_step(br_fctx *cx, br_agg *agg, const br_vsample *const *in, double param,
                br_vvec *out, br_err *err)
{
    if (br_aggop_selects(agg->op)) {
        return aggregate_k(cx, agg, in, param, out, err);
    }
    return aggregate_regular(cx, agg, in, param, out, err);
}

int br_agg_count_values(br_fctx *cx, const char *label, bool without, const char *const *names,
                        size_t n_names, const br_vvec *in, br_vvec *out, br_err *err)
{
    /* The value label joins the `by` list (it is a grouping label). */
    const char **grp = br_arena_alloc(cx->arena, sizeof(char *) * (n_names + 2));
    if (grp == NULL) {
        return oom(err);
    }
    size_t ng = 0;
    for (size_t i = 0; i < n_names; i++) {
        grp[ng++] = names[i];
    }
    if (!without) {
        grp[ng++] = label;
        ng = br_names_sort(grp, ng);
    }
    br_agg tmp;
    memset(&tmp, 0, sizeof(tmp));
    tmp.without = without;
    tmp.names = grp;
    tmp.n_names = ng;
    br_imap keys;
    if (br_imap_init(cx->arena, &keys, in->n) != 0) {
        return oom(err);
    }
    size_t first = out->n;
    for (size_t i = 0; i < in->n; i++) {
        const br_vsample *s = &in->v[i];
        char buf[400];
        const char *val;
        br_buf hb;
        br_buf_init(&hb, 1 << 20);
        if (s->h == NULL) {
            val = br_format_float_f(s->f, buf, sizeof(buf));
        } else {
            br_fhist_format(s->h, &hb);
            val = br_buf_str(&hb);
        }
        br_lset metric;
        int rc = br_lset_set(cx->arena, s->ls, label, val, &metric);
        br_buf_free(&hb);
        if (rc != 0) {
            return oom(err);
        }
        uint64_t key = group_key(&tmp, metric);
        uint32_t g;
        if (br_imap_get(&keys, key, &g)) {
            out->v[first + g].f += 1;
            continue;
        }
        br_vsample o;
        memset(&o, 0, sizeof(o));
        if (group_labels(cx->arena, &tmp, metric, &o.ls) != 0) {
            return oom(err);
        }
        o.f = 1;
        if (br_imap_put(cx->arena, &keys, key, (uint32_t)(out->n - first)) != 0 ||
            br_vvec_push(cx->arena, out, &o) != 0) {
            return oom(err);
        }
    }
    return 0;
}
