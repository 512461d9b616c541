/*
 * eval.c — the PromQL evaluator: walks a parsed tree (ast.h) over the
 * steps of an instant or range query and produces a br_promql_result,
 * with Prometheus' semantics (promql/engine.go). See eval.h.
 *
 * Shape of an evaluation. Every node is evaluated once over the whole
 * range [start, end] (step interval) and yields a "step matrix": series
 * whose points sit exactly on the step times (an instant query is a range
 * of one step). A parent then walks the steps, gathers each child's
 * instant vector at that step, computes (functions.c, binop.c,
 * aggregate.c), and files the results into its own output series, keyed
 * by label set. Selectors read their data ONCE for the whole range through
 * the br_queryable (mint = start - offset - lookback or - range, maxt =
 * end - offset; @ pins both) and slide over it step by step. Subqueries
 * run the same machinery on their own steps (absolute multiples).
 *
 * Time windows: Prometheus 3 (compat V3) looks back over (t - 5m, t] and
 * selects ranges (t - r, t]; 2.x (compat V2) uses closed windows. The
 * newest sample in the lookback window counts unless it is a stale marker.
 * Experimental anchored/smoothed selectors widen ranges by the lookback
 * delta (before; smoothed: after too) for functions.c's boundary values.
 * Duration expressions are computed once per query, before evaluating.
 * Long ranges: rate, increase, delta and count/min/max_over_time straight
 * over a selector of at least range_stats_min_ms ask the backend for
 * per-window statistics (chunk summaries in the embedded store) instead
 * of its samples, with identical results ("Long ranges from chunk
 * summaries" below).
 *
 * Memory: a private "persistent" arena holds everything that outlives one
 * step (selected data, output series); a "step" arena holds the per-step
 * work and is reset after every step, so a long range query does not grow
 * with its temporaries. The final result is deep-copied into the caller's
 * arena and both private arenas are freed. Nothing is shared between
 * evaluations, so any number may run at once on different threads.
 *
 * Native histograms read from the store get the counter-reset hints
 * Prometheus' TSDB would hand out (continuing samples "not a reset"), and
 * under histogram_count/sum/avg only count and sum are read, as with
 * Prometheus' histogram stats iterator. info() joins target_info-style
 * series on instance/job as Prometheus 3 does.
 *
 * Errors are return codes (BR_EEXEC with Prometheus' messages, BR_ELIMIT,
 * BR_ETIMEOUT, BR_EIO). Annotations (Prometheus 3 mode only) are kept once
 * per message with the line:col of the expression they concern.
 */
#include "eval.h"

#include "engine/core/alloc.h"
#include "engine/core/clock.h"
#include "engine/promql/aggregate.h"
#include "engine/promql/ast.h"
#include "engine/promql/binop.h"
#include "engine/promql/functions.h"
#include "engine/promql/parser.h"
#include "engine/promql/value.h"

#include <ctype.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LOOKBACK_MS (5 * 60 * 1000)
#define DEFAULT_MAX_SAMPLES 50000000
#define DEFAULT_TIMEOUT_MS  (2 * 60 * 1000)
#define DEFAULT_SUBQ_STEP   (60 * 1000)
#define MAX_STEPS           11000 /* Prometheus' API refuses more points per series */
#define MAX_NOTES           64
#define DEFAULT_RANGE_STATS_MIN_MS (60 * 60 * 1000)

/* ======================================================================== */
/* Types                                                                    */
/* ======================================================================== */

typedef struct ev_series {
    br_lset ls;
    br_sample *f;
    size_t nf;
    size_t capf;
    br_hpoint *h;
    size_t nh;
    size_t caph;
    bool drop_name;
} ev_series;

typedef struct ev_matrix {
    ev_series *s;
    size_t n;
    size_t cap;
} ev_matrix;

typedef struct ev_value {
    br_promql_type type;
    ev_matrix m; /* vector/scalar: points on the steps; matrix: raw points */
    const char *str;
} ev_value;

typedef struct ev_note {
    char *msg;     /* "PromQL warning: ..." without the position */
    char *text;    /* with the position */
    bool warn;
} ev_note;

/* State shared by an evaluation and its subquery evaluators. */
typedef struct ev_shared {
    const br_queryable *q;
    br_arena pa;   /* persistent scratch */
    br_arena step; /* per-step scratch */
    br_err *err;
    const char *query;
    int64_t lookback;
    int64_t sub_step;
    int64_t q_start;
    int64_t q_end;
    int64_t q_step;
    bool v2;
    bool delayed;
    int64_t range_stats_min; /* see br_promql_options; < 0 = off */
    size_t max_samples;
    size_t loaded;
    size_t points;     /* points computed so far (all nodes) */
    size_t max_points; /* bound on them: a multiple of max_samples */
    int64_t deadline_ns;
    unsigned tick;
    ev_note notes[MAX_NOTES];
    size_t n_notes;
    /* Positions (byte offsets) annotations are reported at. */
    uint32_t pos_main;
    uint32_t pos_param;
    uint32_t pos_node;
} ev_shared;

typedef struct ev {
    ev_shared *sh;
    int64_t start;
    int64_t end;
    int64_t interval;
    /* Under histogram_count/sum/avg (and no subquery or bucket-using
     * function in between) only count and sum of histograms are read, and
     * counter resets are reported as such: Prometheus' histogram stats
     * iterator. */
    bool skip_buckets;
} ev;

/* A selected series: labels and samples in time order. */
typedef struct sel_series {
    br_lset ls;
    br_sample *f;
    size_t nf;
    br_hpoint *h;
    size_t nh;
    bool drop_name;
} sel_series;

/* ======================================================================== */
/* Small helpers                                                            */
/* ======================================================================== */

static int oom(ev *e)
{
    return br_err_set(e->sh->err, BR_ELIMIT, "query memory limit exceeded");
}

static size_t num_steps(const ev *e)
{
    if (e->end < e->start) {
        return 0;
    }
    return (size_t)((e->end - e->start) / e->interval) + 1;
}

static int check_deadline(ev *e)
{
    ev_shared *sh = e->sh;
    if ((++sh->tick & 63) != 0) {
        return 0;
    }
    if (sh->deadline_ns > 0 && br_mono_ns() > sh->deadline_ns) {
        return br_err_set(sh->err, BR_ETIMEOUT, "query timed out in expression evaluation");
    }
    return 0;
}

static void pos_linecol(const char *q, uint32_t pos, int *line, int *col)
{
    int l = 1;
    int64_t last_nl = -1;
    size_t len = q != NULL ? strlen(q) : 0;
    if (pos > len) {
        pos = (uint32_t)len;
    }
    for (uint32_t i = 0; i < pos; i++) {
        if (q[i] == '\n') {
            last_nl = i;
            l++;
        }
    }
    *line = l;
    *col = (int)((int64_t)pos - last_nl);
}

/* The br_fctx note callback: formats and de-duplicates annotations. */
static void ev_note_cb(void *ctx, int kind, const char *msg)
{
    ev_shared *sh = ctx;
    if (sh->v2) {
        return; /* Prometheus 2.x has no annotations */
    }
    bool warn = (kind & 1) != 0;
    uint32_t pos = sh->pos_main;
    if (kind & BR_NOTE_AT_PARAM) {
        pos = sh->pos_param;
    } else if (kind & BR_NOTE_AT_NODE) {
        pos = sh->pos_node;
    }
    char head[600];
    snprintf(head, sizeof(head), "PromQL %s: %s", warn ? "warning" : "info", msg);
    int line;
    int col;
    pos_linecol(sh->query, pos, &line, &col);
    char full[700];
    snprintf(full, sizeof(full), "%s (%d:%d)", head, line, col);
    for (size_t i = 0; i < sh->n_notes; i++) {
        if (strcmp(sh->notes[i].msg, head) == 0) {
            /* Prometheus keeps one annotation per message: the last. */
            char *t = br_arena_strdup(&sh->pa, full);
            if (t != NULL) {
                sh->notes[i].text = t;
            }
            return;
        }
    }
    if (sh->n_notes >= MAX_NOTES) {
        return;
    }
    char *m = br_arena_strdup(&sh->pa, head);
    char *t = br_arena_strdup(&sh->pa, full);
    if (m == NULL || t == NULL) {
        return;
    }
    sh->notes[sh->n_notes].msg = m;
    sh->notes[sh->n_notes].text = t;
    sh->notes[sh->n_notes].warn = warn;
    sh->n_notes++;
}

static br_fctx fctx(ev *e)
{
    br_fctx cx;
    cx.arena = &e->sh->step;
    cx.v2 = e->sh->v2;
    cx.delayed_names = e->sh->delayed;
    cx.note_ctx = e->sh;
    cx.note = ev_note_cb;
    return cx;
}

static void note(ev *e, uint32_t pos, bool warn, const char *msg)
{
    uint32_t saved = e->sh->pos_main;
    e->sh->pos_main = pos;
    ev_note_cb(e->sh, warn ? BR_NOTE_WARN : BR_NOTE_INFO, msg);
    e->sh->pos_main = saved;
}

static int lset_persist(br_arena *a, br_lset in, br_lset *out)
{
    br_label *v = br_arena_alloc(a, sizeof(*v) * (in.n + 1));
    if (v == NULL) {
        return -1;
    }
    for (size_t i = 0; i < in.n; i++) {
        v[i].name = br_arena_strdup(a, in.v[i].name);
        v[i].value = br_arena_strdup(a, in.v[i].value);
        if (v[i].name == NULL || v[i].value == NULL) {
            return -1;
        }
    }
    out->v = v;
    out->n = in.n;
    return 0;
}

/* Copies a histogram made during a step (custom bounds included) into the
 * persistent arena. */
static br_fhist *persist_hist(ev *e, const br_fhist *h)
{
    br_fhist *c = br_fhist_copy(&e->sh->pa, h);
    if (c == NULL) {
        return NULL;
    }
    if (h->n_custom > 0 && h->custom != NULL) {
        double *cv = br_arena_alloc(&e->sh->pa, sizeof(double) * h->n_custom);
        if (cv == NULL) {
            return NULL;
        }
        memcpy(cv, h->custom, sizeof(double) * h->n_custom);
        c->custom = cv;
    }
    return c;
}

static ev_series *matrix_add(br_arena *a, ev_matrix *m)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        ev_series *s = br_arena_alloc(a, sizeof(*s) * cap);
        if (s == NULL) {
            return NULL;
        }
        if (m->n > 0) {
            memcpy(s, m->s, sizeof(*s) * m->n);
        }
        m->s = s;
        m->cap = cap;
    }
    ev_series *s = &m->s[m->n++];
    memset(s, 0, sizeof(*s));
    return s;
}

static int series_add_f(br_arena *a, ev_series *s, int64_t t, double f, size_t hint)
{
    if (s->nf == s->capf) {
        /* Step outputs have at most one point per step: size for that. */
        size_t cap = s->capf ? s->capf * 2 : (hint > 0 && hint <= MAX_STEPS ? hint : 1024);
        br_sample *n = br_arena_alloc(a, sizeof(*n) * cap);
        if (n == NULL) {
            return -1;
        }
        if (s->nf > 0) {
            memcpy(n, s->f, sizeof(*n) * s->nf);
        }
        s->f = n;
        s->capf = cap;
    }
    s->f[s->nf].t = t;
    s->f[s->nf].v = f;
    s->nf++;
    return 0;
}

static int series_add_h(br_arena *a, ev_series *s, int64_t t, const br_fhist *h)
{
    if (s->nh == s->caph) {
        size_t cap = s->caph ? s->caph * 2 : 8;
        br_hpoint *n = br_arena_alloc(a, sizeof(*n) * cap);
        if (n == NULL) {
            return -1;
        }
        if (s->nh > 0) {
            memcpy(n, s->h, sizeof(*n) * s->nh);
        }
        s->h = n;
        s->caph = cap;
    }
    s->h[s->nh].t = t;
    s->h[s->nh].h = h;
    s->nh++;
    return 0;
}

static int64_t last_t(const ev_series *s)
{
    int64_t t = INT64_MIN;
    if (s->nf > 0) {
        t = s->f[s->nf - 1].t;
    }
    if (s->nh > 0 && s->h[s->nh - 1].t > t) {
        t = s->h[s->nh - 1].t;
    }
    return t;
}

/* Times, offsets, ranges and steps are clamped to +-2^60 ms (36 million
 * years), so that sums of a few of them cannot overflow int64: that is
 * undefined in C (Go wraps around). No sample lies that far from the epoch,
 * so no result changes. */
#define TIME_CLAMP (INT64_C(1) << 60)

static int64_t clamp_time(int64_t v)
{
    return v > TIME_CLAMP ? TIME_CLAMP : v < -TIME_CLAMP ? -TIME_CLAMP : v;
}

static int64_t at_time(const ev *e, br_promql_at at, int64_t at_ms, bool *has)
{
    *has = true;
    switch (at) {
    case BR_PROMQL_AT_TIMESTAMP:
        return clamp_time(at_ms);
    case BR_PROMQL_AT_START:
        return e->sh->q_start;
    case BR_PROMQL_AT_END:
        return e->sh->q_end;
    default:
        *has = false;
        return 0;
    }
}

/* A range, step or offset: fixed, or a duration expression computed for
 * this query (check_durations has validated every expression, so this
 * cannot fail). */
static int64_t dur_ms(const ev *e, int64_t ms, const br_promql_dur *expr, bool offset)
{
    if (expr == NULL) {
        return clamp_time(ms);
    }
    int64_t v = 0;
    (void)br_promql_dur_eval(expr, e->sh->q_step, e->sh->q_end - e->sh->q_start, offset, &v, NULL);
    return clamp_time(v);
}

static int64_t vs_offset(const ev *e, const br_promql_node *vs)
{
    return dur_ms(e, vs->u.vs.offset_ms, vs->u.vs.offset_expr, true);
}

static int64_t subq_offset(const ev *e, const br_promql_node *n)
{
    return dur_ms(e, n->u.subquery.offset_ms, n->u.subquery.offset_expr, true);
}

static const br_promql_node *unparen(const br_promql_node *n)
{
    while (n != NULL && n->kind == BR_PROMQL_PAREN) {
        n = n->u.paren.expr;
    }
    return n;
}

/* ======================================================================== */
/* Selecting data                                                           */
/* ======================================================================== */

static int select_series(ev *e, const br_promql_node *vs, int64_t mint, int64_t maxt,
                         bool drop_stale, sel_series **out, size_t *n_out)
{
    ev_shared *sh = e->sh;
    *out = NULL;
    *n_out = 0;
    if (maxt < mint) {
        return 0;
    }
    size_t budget = 0;
    if (sh->max_samples > 0) {
        if (sh->loaded >= sh->max_samples) {
            return br_err_set(sh->err, BR_ELIMIT,
                              "query processing would load too many samples into memory in "
                              "query execution");
        }
        budget = sh->max_samples - sh->loaded;
    }
    br_series_set set;
    const br_selector *sel = vs->u.vs.matchers;
    int rc = sh->q->select(sh->q->ctx, sel->matchers, sel->n, mint, maxt, budget, &sh->pa, &set,
                           sh->err);
    if (rc != 0) {
        return rc;
    }
    sel_series *ss = br_arena_calloc(&sh->pa, set.n + 1, sizeof(*ss));
    if (ss == NULL) {
        return oom(e);
    }
    size_t k = 0;
    for (size_t i = 0; i < set.n; i++) {
        const br_series_data *d = &set.series[i];
        sel_series *s = &ss[k];
        s->ls.v = d->labels;
        s->ls.n = d->n_labels;
        sh->loaded += d->n_samples + d->n_histograms;
        if (sh->max_samples > 0 && sh->loaded > sh->max_samples) {
            return br_err_set(sh->err, BR_ELIMIT,
                              "query processing would load too many samples into memory in "
                              "query execution");
        }
        size_t n_stale = 0;
        if (drop_stale) {
            for (size_t j = 0; j < d->n_samples; j++) {
                n_stale += br_is_stale_nan(d->samples[j].v);
            }
        }
        if (n_stale > 0) {
            br_sample *f = br_arena_alloc(&sh->pa, sizeof(*f) * (d->n_samples + 1));
            if (f == NULL) {
                return oom(e);
            }
            size_t nf = 0;
            for (size_t j = 0; j < d->n_samples; j++) {
                if (!br_is_stale_nan(d->samples[j].v)) {
                    f[nf++] = d->samples[j];
                }
            }
            s->f = f;
            s->nf = nf;
        } else {
            s->f = (br_sample *)d->samples;
            s->nf = d->n_samples;
        }
        if (d->n_histograms > 0) {
            s->h = br_arena_alloc(&sh->pa, sizeof(*s->h) * d->n_histograms);
            if (s->h == NULL) {
                return oom(e);
            }
            const br_fhist *prev_full = NULL;
            for (size_t j = 0; j < d->n_histograms; j++) {
                const br_histogram *w = &d->histograms[j].h;
                if (drop_stale && br_is_stale_nan(w->sum)) {
                    continue;
                }
                br_fhist *fh = br_fhist_from_wire(&sh->pa, w);
                if (fh == NULL) {
                    return br_err_set(sh->err, BR_ELIMIT,
                                      "native histogram has too many or too sparse buckets");
                }
                /* Prometheus' TSDB hands readers "not a reset" for every
                 * histogram that continues a chunk, and "unknown" for the
                 * first of a chunk (one is cut at each detected reset, and
                 * the reset hint is not kept: prometheus#15346). Senders'
                 * hints are usually "unknown"; derive them the same way. */
                if (!sh->v2 && s->nh > 0 && fh->hint == BR_HIST_RESET_UNKNOWN &&
                    s->h[s->nh - 1].h->hint != BR_HIST_RESET_GAUGE &&
                    !br_is_stale_nan(s->h[s->nh - 1].h->sum) && !br_is_stale_nan(fh->sum)) {
                    if (!br_fhist_detect_reset(fh, prev_full)) {
                        fh->hint = BR_HIST_RESET_NO;
                    } else if (e->skip_buckets) {
                        fh->hint = BR_HIST_RESET_YES;
                    }
                }
                prev_full = fh;
                if (e->skip_buckets) {
                    br_fhist *st = br_arena_calloc(&sh->pa, 1, sizeof(*st));
                    if (st == NULL) {
                        return oom(e);
                    }
                    st->schema = fh->schema;
                    st->hint = fh->hint;
                    st->count = fh->count;
                    st->sum = fh->sum;
                    fh = st;
                }
                s->h[s->nh].t = d->histograms[j].t;
                s->h[s->nh].h = fh;
                s->nh++;
            }
        }
        k++;
    }
    *out = ss;
    *n_out = k;
    return 0;
}

/* First index with t > bound (strict) or t >= bound. */
static size_t search_f(const br_sample *f, size_t n, int64_t bound, bool strict)
{
    size_t lo = 0;
    size_t hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        bool after = strict ? f[mid].t > bound : f[mid].t >= bound;
        if (after) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}

static size_t search_h(const br_hpoint *h, size_t n, int64_t bound, bool strict)
{
    size_t lo = 0;
    size_t hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        bool after = strict ? h[mid].t > bound : h[mid].t >= bound;
        if (after) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}

/* The instant value of s at ref: newest sample within the lookback window,
 * unless it is a stale marker. */
static bool instant_at(const ev *e, const sel_series *s, int64_t ref, double *f,
                       const br_fhist **h, int64_t *t)
{
    size_t fi = search_f(s->f, s->nf, ref, true);
    size_t hi = search_h(s->h, s->nh, ref, true);
    bool have_f = fi > 0;
    bool have_h = hi > 0;
    if (!have_f && !have_h) {
        return false;
    }
    bool use_h = have_h && (!have_f || s->h[hi - 1].t >= s->f[fi - 1].t);
    int64_t st = use_h ? s->h[hi - 1].t : s->f[fi - 1].t;
    int64_t lim = ref - e->sh->lookback;
    if (e->sh->v2 ? st < lim : st <= lim) {
        return false;
    }
    if (use_h) {
        if (br_is_stale_nan(s->h[hi - 1].h->sum)) {
            return false;
        }
        *h = s->h[hi - 1].h;
        *f = 0;
    } else {
        if (br_is_stale_nan(s->f[fi - 1].v)) {
            return false;
        }
        *f = s->f[fi - 1].v;
        *h = NULL;
    }
    *t = st;
    return true;
}

/* ======================================================================== */
/* Step machinery (Prometheus' rangeEval)                                   */
/* ======================================================================== */

static int eval_node(ev *e, const br_promql_node *n, ev_value *out);

/* Output collector for per-step results. */
typedef struct collector {
    ev_matrix m;
    br_imap idx;
    bool init;
} collector;

static int collector_init(ev *e, collector *c, size_t hint)
{
    memset(c, 0, sizeof(*c));
    if (br_imap_init(&e->sh->pa, &c->idx, hint) != 0) {
        return oom(e);
    }
    c->init = true;
    return 0;
}

static int too_many_samples(ev *e)
{
    return br_err_set(e->sh->err, BR_ELIMIT,
                      "query processing would load too many samples into memory in query "
                      "execution");
}

static int dup_error(ev *e)
{
    return br_err_set(e->sh->err, BR_EEXEC, "vector cannot contain metrics with the same labelset");
}

/* Files one step's results into the output series. */
static int collect(ev *e, collector *c, const br_vvec *res, int64_t ts)
{
    ev_shared *sh = e->sh;
    bool instant = e->start == e->end;
    sh->points += res->n;
    if (sh->points > sh->max_points) {
        return too_many_samples(e);
    }
    for (size_t i = 0; i < res->n; i++) {
        const br_vsample *s = &res->v[i];
        uint64_t key = br_lset_hash(s->ls);
        uint32_t si;
        ev_series *ser;
        if (!instant && br_imap_get(&c->idx, key, &si)) {
            ser = &c->m.s[si];
            if (last_t(ser) == ts) {
                return dup_error(e);
            }
        } else {
            if (instant && br_imap_get(&c->idx, key, &si) && !sh->delayed) {
                return dup_error(e);
            }
            ser = matrix_add(&sh->pa, &c->m);
            if (ser == NULL || lset_persist(&sh->pa, s->ls, &ser->ls) != 0) {
                return oom(e);
            }
            ser->drop_name = s->drop_name;
            if (br_imap_put(&sh->pa, &c->idx, key, (uint32_t)(c->m.n - 1)) != 0) {
                return oom(e);
            }
        }
        if (s->h != NULL) {
            br_fhist *h = persist_hist(e, s->h);
            if (h == NULL || series_add_h(&sh->pa, ser, ts, h) != 0) {
                return oom(e);
            }
        } else if (series_add_f(&sh->pa, ser, ts, s->f, num_steps(e)) != 0) {
            return oom(e);
        }
    }
    return 0;
}

/* One evaluated operand with cursors for gathering per-step vectors. */
typedef struct step_arg {
    ev_value v;
    size_t *fcur;
    size_t *hcur;
    br_vvec vec;  /* the instant vector at the current step */
    const br_vsample **per_series; /* for aggregations: sample of series i or NULL */
    double scalar;
} step_arg;

static int arg_prepare(ev *e, step_arg *a)
{
    size_t n = a->v.m.n;
    a->fcur = br_arena_calloc(&e->sh->pa, n + 1, sizeof(size_t));
    a->hcur = br_arena_calloc(&e->sh->pa, n + 1, sizeof(size_t));
    if (a->fcur == NULL || a->hcur == NULL) {
        return oom(e);
    }
    return 0;
}

/* Gathers the operand's values at ts (the step arena must be fresh). */
static int arg_gather(ev *e, step_arg *a, int64_t ts, bool per_series)
{
    memset(&a->vec, 0, sizeof(a->vec));
    a->scalar = NAN;
    size_t n = a->v.m.n;
    if (per_series) {
        a->per_series = br_arena_calloc(&e->sh->step, n + 1, sizeof(*a->per_series));
        if (a->per_series == NULL) {
            return oom(e);
        }
    }
    if (n > 0) {
        a->vec.v = br_arena_alloc(&e->sh->step, sizeof(br_vsample) * n);
        if (a->vec.v == NULL) {
            return oom(e);
        }
        a->vec.cap = n;
    }
    for (size_t i = 0; i < n; i++) {
        const ev_series *s = &a->v.m.s[i];
        br_vsample *out = &a->vec.v[a->vec.n];
        if (a->fcur[i] < s->nf && s->f[a->fcur[i]].t == ts) {
            out->f = s->f[a->fcur[i]].v;
            out->h = NULL;
            a->fcur[i]++;
        } else if (a->hcur[i] < s->nh && s->h[a->hcur[i]].t == ts) {
            out->h = s->h[a->hcur[i]].h;
            out->f = 0;
            a->hcur[i]++;
        } else {
            continue;
        }
        out->ls = s->ls;
        out->t = ts;
        out->drop_name = s->drop_name;
        if (per_series) {
            a->per_series[i] = out;
        }
        a->vec.n++;
    }
    if (a->v.type == BR_PROMQL_TYPE_SCALAR && a->vec.n > 0) {
        a->scalar = a->vec.v[0].f;
    }
    return 0;
}

/* Evaluates a scalar operand to one value per step. */
static int scalar_values(ev *e, const br_promql_node *n, double **vals)
{
    ev_value v;
    int rc = eval_node(e, n, &v);
    if (rc != 0) {
        return rc;
    }
    size_t ns = num_steps(e);
    double *out = br_arena_alloc(&e->sh->pa, sizeof(double) * (ns + 1));
    if (out == NULL) {
        return oom(e);
    }
    for (size_t i = 0; i < ns; i++) {
        out[i] = NAN;
    }
    if (v.m.n > 0) {
        const ev_series *s = &v.m.s[0];
        for (size_t k = 0; k < s->nf; k++) {
            size_t idx = (size_t)((s->f[k].t - e->start) / e->interval);
            if (idx < ns) {
                out[idx] = s->f[k].v;
            }
        }
    }
    *vals = out;
    return 0;
}

/* Merges series that ended up with the same labels (after a name drop or
 * label_replace); overlapping timestamps are an error. */
static int merge_same_labels(ev *e, ev_matrix *m)
{
    if (m->n <= 1) {
        return 0;
    }
    br_imap idx;
    if (br_imap_init(&e->sh->pa, &idx, m->n) != 0) {
        return oom(e);
    }
    bool any = false;
    for (size_t i = 0; i < m->n; i++) {
        uint32_t j;
        uint64_t key = br_lset_hash(m->s[i].ls);
        if (br_imap_get(&idx, key, &j)) {
            any = true;
            break;
        }
        if (br_imap_put(&e->sh->pa, &idx, key, (uint32_t)i) != 0) {
            return oom(e);
        }
    }
    if (!any) {
        return 0;
    }
    br_imap_clear(&idx);
    size_t w = 0;
    for (size_t i = 0; i < m->n; i++) {
        uint64_t key = br_lset_hash(m->s[i].ls);
        uint32_t j;
        if (!br_imap_get(&idx, key, &j)) {
            if (br_imap_put(&e->sh->pa, &idx, key, (uint32_t)w) != 0) {
                return oom(e);
            }
            m->s[w++] = m->s[i];
            continue;
        }
        ev_series *base = &m->s[j];
        const ev_series *add = &m->s[i];
        /* Merge points by time; equal timestamps are an error. */
        size_t nf = base->nf + add->nf;
        br_sample *f = br_arena_alloc(&e->sh->pa, sizeof(*f) * (nf + 1));
        size_t nh = base->nh + add->nh;
        br_hpoint *h = br_arena_alloc(&e->sh->pa, sizeof(*h) * (nh + 1));
        if (f == NULL || h == NULL) {
            return oom(e);
        }
        size_t a = 0;
        size_t b = 0;
        size_t k = 0;
        while (a < base->nf || b < add->nf) {
            if (b >= add->nf || (a < base->nf && base->f[a].t < add->f[b].t)) {
                f[k++] = base->f[a++];
            } else if (a >= base->nf || add->f[b].t < base->f[a].t) {
                f[k++] = add->f[b++];
            } else {
                return dup_error(e);
            }
        }
        a = 0;
        b = 0;
        k = 0;
        while (a < base->nh || b < add->nh) {
            if (b >= add->nh || (a < base->nh && base->h[a].t < add->h[b].t)) {
                h[k++] = base->h[a++];
            } else if (a >= base->nh || add->h[b].t < base->h[a].t) {
                h[k++] = add->h[b++];
            } else {
                return dup_error(e);
            }
        }
        base->f = f;
        base->nf = nf;
        base->capf = nf;
        base->h = h;
        base->nh = nh;
        base->caph = nh;
    }
    m->n = w;
    return 0;
}

/* Drops names marked for removal (delayed removal, at the end). */
static int drop_marked_names(ev *e, ev_matrix *m)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->s[i].drop_name) {
            if (br_lset_drop_name(&e->sh->pa, m->s[i].ls, !e->sh->v2, &m->s[i].ls) != 0) {
                return oom(e);
            }
            m->s[i].drop_name = false;
        }
    }
    return 0;
}

/* Immediately drops names (non-delayed mode) on a whole matrix. */
static int drop_names_now(ev *e, ev_matrix *m)
{
    for (size_t i = 0; i < m->n; i++) {
        if (!e->sh->delayed) {
            if (br_lset_drop_name(&e->sh->pa, m->s[i].ls, !e->sh->v2, &m->s[i].ls) != 0) {
                return oom(e);
            }
        }
        m->s[i].drop_name = true;
    }
    return 0;
}

/* ======================================================================== */
/* Leaves: numbers, strings, selectors, subqueries                          */
/* ======================================================================== */

static int const_scalar(ev *e, double v, ev_value *out)
{
    memset(out, 0, sizeof(*out));
    out->type = BR_PROMQL_TYPE_SCALAR;
    ev_series *s = matrix_add(&e->sh->pa, &out->m);
    if (s == NULL) {
        return oom(e);
    }
    size_t ns = num_steps(e);
    s->f = br_arena_alloc(&e->sh->pa, sizeof(br_sample) * (ns + 1));
    if (s->f == NULL) {
        return oom(e);
    }
    s->capf = ns + 1;
    for (int64_t ts = e->start; ts <= e->end; ts += e->interval) {
        s->f[s->nf].t = ts;
        s->f[s->nf].v = v;
        s->nf++;
    }
    return 0;
}

/* Vector selector over all steps; with orig_t the value is the sample's
 * timestamp in seconds (for timestamp()). */
/* A smoothed vector selector (experimental): per step, the value at the
 * step time interpolated between the samples around it. */
static int eval_smoothed_selector(ev *e, const br_promql_node *n, bool orig_t, ev_value *out)
{
    memset(out, 0, sizeof(*out));
    out->type = BR_PROMQL_TYPE_VECTOR;
    bool has_at;
    int64_t at = at_time(e, n->u.vs.at, n->u.vs.at_ms, &has_at);
    int64_t off = vs_offset(e, n);
    int64_t lb = e->sh->lookback;
    int64_t lo_ref = (has_at ? at : e->start) - off;
    int64_t hi_ref = (has_at ? at : e->end) - off;
    sel_series *ss;
    size_t nss;
    int rc = select_series(e, n, lo_ref - lb, hi_ref + lb, true, &ss, &nss);
    if (rc != 0) {
        return rc;
    }
    size_t ns = num_steps(e);
    br_fctx cx = fctx(e);
    for (size_t i = 0; i < nss; i++) {
        const sel_series *src = &ss[i];
        ev_series *s = NULL;
        for (int64_t ts = e->start; ts <= e->end; ts += e->interval) {
            rc = check_deadline(e);
            if (rc != 0) {
                return rc;
            }
            int64_t ref = (has_at ? at : ts) - off;
            size_t f0 = search_f(src->f, src->nf, ref - lb, true);
            size_t f1 = search_f(src->f, src->nf, ref + lb, true);
            size_t h0 = search_h(src->h, src->nh, ref - lb, true);
            size_t h1 = search_h(src->h, src->nh, ref + lb, true);
            br_window w;
            memset(&w, 0, sizeof(w));
            w.f = src->f + f0;
            w.nf = f1 > f0 ? f1 - f0 : 0;
            w.h = src->h + h0;
            w.nh = h1 > h0 ? h1 - h0 : 0;
            w.ts = ts;
            w.ls = src->ls;
            br_fout fo;
            br_arena_reset(&e->sh->step);
            e->sh->pos_main = n->start;
            rc = br_fn_smoothed(&cx, &w, ref, &fo, e->sh->err);
            if (rc != 0) {
                return rc;
            }
            if (!fo.ok) {
                continue;
            }
            if (s == NULL) {
                s = matrix_add(&e->sh->pa, &out->m);
                if (s == NULL) {
                    return oom(e);
                }
                s->ls = src->ls;
            }
            if (orig_t) {
                rc = series_add_f(&e->sh->pa, s, ts, (double)ref / 1000, ns);
            } else if (fo.h != NULL) {
                br_fhist *h = persist_hist(e, fo.h);
                rc = h != NULL ? series_add_h(&e->sh->pa, s, ts, h) : -1;
            } else {
                rc = series_add_f(&e->sh->pa, s, ts, fo.f, ns);
            }
            if (rc != 0) {
                return oom(e);
            }
        }
    }
    br_arena_reset(&e->sh->step);
    return 0;
}

static int eval_vector_selector(ev *e, const br_promql_node *n, bool orig_t, ev_value *out)
{
    if (n->u.vs.smoothed) {
        return eval_smoothed_selector(e, n, orig_t, out);
    }
    memset(out, 0, sizeof(*out));
    out->type = BR_PROMQL_TYPE_VECTOR;
    bool has_at;
    int64_t at = at_time(e, n->u.vs.at, n->u.vs.at_ms, &has_at);
    int64_t off = vs_offset(e, n);
    int64_t lo_ref = (has_at ? at : e->start) - off;
    int64_t hi_ref = (has_at ? at : e->end) - off;
    sel_series *ss;
    size_t nss;
    int rc = select_series(e, n, lo_ref - e->sh->lookback, hi_ref, false, &ss, &nss);
    if (rc != 0) {
        return rc;
    }
    size_t ns = num_steps(e);
    for (size_t i = 0; i < nss; i++) {
        ev_series *s = NULL;
        for (int64_t ts = e->start; ts <= e->end; ts += e->interval) {
            rc = check_deadline(e);
            if (rc != 0) {
                return rc;
            }
            int64_t ref = (has_at ? at : ts) - off;
            double f;
            const br_fhist *h;
            int64_t t;
            if (!instant_at(e, &ss[i], ref, &f, &h, &t)) {
                continue;
            }
            if (s == NULL) {
                s = matrix_add(&e->sh->pa, &out->m);
                if (s == NULL) {
                    return oom(e);
                }
                s->ls = ss[i].ls;
            }
            if (orig_t) {
                rc = series_add_f(&e->sh->pa, s, ts, (double)t / 1000, ns);
            } else if (h != NULL) {
                rc = series_add_h(&e->sh->pa, s, ts, h);
            } else {
                rc = series_add_f(&e->sh->pa, s, ts, f, ns);
            }
            if (rc != 0) {
                return oom(e);
            }
        }
    }
    return 0;
}

/* A range-vector source: selector data or a subquery's result, with the
 * window parameters. */
typedef struct range_src {
    sel_series *s;
    size_t n;
    int64_t range;
    int64_t offset;
    bool has_at;
    int64_t at;
    const br_promql_node *vs; /* the selector, for absent_over_time labels */
    bool anchored;            /* extended windows: see br_window */
    bool smoothed;
} range_src;

static int eval_subquery_raw(ev *e, const br_promql_node *n, ev_value *out);

static int range_source(ev *e, const br_promql_node *arg, range_src *rs)
{
    memset(rs, 0, sizeof(*rs));
    arg = unparen(arg);
    if (arg->kind == BR_PROMQL_MATRIX_SELECTOR) {
        const br_promql_node *vs = arg->u.matrix.vs;
        rs->vs = vs;
        rs->range = dur_ms(e, arg->u.matrix.range_ms, arg->u.matrix.range_expr, false);
        rs->offset = vs_offset(e, vs);
        rs->at = at_time(e, vs->u.vs.at, vs->u.vs.at_ms, &rs->has_at);
        rs->anchored = vs->u.vs.anchored;
        rs->smoothed = vs->u.vs.smoothed;
        int64_t lo = (rs->has_at ? rs->at : e->start) - rs->offset - rs->range;
        int64_t hi = (rs->has_at ? rs->at : e->end) - rs->offset;
        if (rs->anchored || rs->smoothed) {
            lo -= e->sh->lookback;
        }
        if (rs->smoothed) {
            hi += e->sh->lookback;
        }
        return select_series(e, vs, lo, hi, true, &rs->s, &rs->n);
    }
    if (arg->kind == BR_PROMQL_SUBQUERY) {
        ev_value v;
        int rc = eval_subquery_raw(e, arg, &v);
        if (rc != 0) {
            return rc;
        }
        rs->range = dur_ms(e, arg->u.subquery.range_ms, arg->u.subquery.range_expr, false);
        rs->offset = subq_offset(e, arg);
        rs->at = at_time(e, arg->u.subquery.at, arg->u.subquery.at_ms, &rs->has_at);
        rs->s = br_arena_calloc(&e->sh->pa, v.m.n + 1, sizeof(*rs->s));
        if (rs->s == NULL) {
            return oom(e);
        }
        for (size_t i = 0; i < v.m.n; i++) {
            rs->s[i].ls = v.m.s[i].ls;
            rs->s[i].f = v.m.s[i].f;
            rs->s[i].nf = v.m.s[i].nf;
            rs->s[i].h = v.m.s[i].h;
            rs->s[i].nh = v.m.s[i].nh;
            rs->s[i].drop_name = v.m.s[i].drop_name;
        }
        rs->n = v.m.n;
        return 0;
    }
    return br_err_set(e->sh->err, BR_EEXEC, "expected a range vector argument");
}

/* The window of series s at step ts. */
static void window_at(const ev *e, const range_src *rs, const sel_series *s, int64_t ts,
                      br_window *w)
{
    int64_t ref = (rs->has_at ? rs->at : ts) - rs->offset;
    int64_t lo = ref - rs->range;
    bool strict = !e->sh->v2;
    /* Anchored and smoothed windows reach a lookback delta further. */
    int64_t sel_lo = (rs->anchored || rs->smoothed) ? lo - e->sh->lookback : lo;
    int64_t sel_hi = rs->smoothed ? ref + e->sh->lookback : ref;
    size_t f0 = search_f(s->f, s->nf, sel_lo, strict);
    size_t f1 = search_f(s->f, s->nf, sel_hi, true);
    size_t h0 = search_h(s->h, s->nh, sel_lo, strict);
    size_t h1 = search_h(s->h, s->nh, sel_hi, true);
    /* A series without floats or histograms has a NULL array: NULL + 0 is
     * undefined in C, so such a window keeps the NULL. */
    w->f = s->f != NULL ? s->f + f0 : NULL;
    w->nf = f1 > f0 ? f1 - f0 : 0;
    w->h = s->h != NULL ? s->h + h0 : NULL;
    w->nh = h1 > h0 ? h1 - h0 : 0;
    w->range_start = lo;
    w->range_end = ref;
    w->range_ms = rs->range;
    w->ts = ts;
    w->ls = s->ls;
    w->anchored = rs->anchored;
    w->smoothed = rs->smoothed;
}

/* A matrix selector evaluated on its own (instant queries only). */
static int eval_matrix_selector(ev *e, const br_promql_node *n, ev_value *out)
{
    memset(out, 0, sizeof(*out));
    out->type = BR_PROMQL_TYPE_MATRIX;
    range_src rs;
    int rc = range_source(e, n, &rs);
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < rs.n; i++) {
        br_window w;
        window_at(e, &rs, &rs.s[i], e->start, &w);
        if (w.nf + w.nh == 0) {
            continue;
        }
        if ((rs.anchored || rs.smoothed) && w.nh > 0) {
            return br_err_set(e->sh->err, BR_EEXEC, "%s modifier is not supported with histograms",
                              rs.anchored ? "anchored" : "smoothed");
        }
        if (rs.anchored || rs.smoothed) {
            br_sample *ext = br_arena_alloc(&e->sh->pa, sizeof(*ext) * (w.nf + 2));
            if (ext == NULL) {
                return oom(e);
            }
            w.nf = br_fn_extend_floats(&w, ext);
            w.f = ext;
            if (w.nf == 0) {
                continue;
            }
        }
        ev_series *s = matrix_add(&e->sh->pa, &out->m);
        if (s == NULL) {
            return oom(e);
        }
        s->ls = rs.s[i].ls;
        s->f = (br_sample *)w.f;
        s->nf = w.nf;
        s->capf = w.nf;
        s->h = (br_hpoint *)w.h;
        s->nh = w.nh;
        s->caph = w.nh;
    }
    return 0;
}

/* Runs a subquery's inner expression over its own aligned steps. */
static int eval_subquery_raw(ev *e, const br_promql_node *n, ev_value *out)
{
    bool has_at;
    int64_t at = at_time(e, n->u.subquery.at, n->u.subquery.at_ms, &has_at);
    int64_t off = subq_offset(e, n);
    int64_t range = dur_ms(e, n->u.subquery.range_ms, n->u.subquery.range_expr, false);
    int64_t step = dur_ms(e, n->u.subquery.step_ms, n->u.subquery.step_expr, false);
    if (step <= 0) {
        step = e->sh->sub_step;
    }
    int64_t pstart = has_at ? at : e->start;
    int64_t pend = has_at ? at : e->end;
    if (!has_at && !e->sh->v2 && e->interval > 0) {
        pend = e->start + ((e->end - e->start) / e->interval) * e->interval;
    }
    ev child = *e;
    child.skip_buckets = false;
    child.interval = step;
    child.end = clamp_time(pend - off);
    int64_t lowest = clamp_time(pstart - off - range);
    child.start = step * (lowest / step);
    if (e->sh->v2 ? child.start < lowest : child.start <= lowest) {
        child.start += step;
    }
    if ((child.end - child.start) / step > (int64_t)e->sh->max_points) {
        return too_many_samples(e);
    }
    if (child.end < child.start) {
        memset(out, 0, sizeof(*out));
        out->type = BR_PROMQL_TYPE_MATRIX;
        return 0;
    }
    int rc = eval_node(&child, n->u.subquery.expr, out);
    if (rc != 0) {
        return rc;
    }
    out->type = BR_PROMQL_TYPE_MATRIX;
    if (!e->sh->v2) {
        /* Reset and not-reset hints could be wrong for a subquery's
         * samples; Prometheus makes them unknown. */
        for (size_t i = 0; i < out->m.n; i++) {
            ev_series *s = &out->m.s[i];
            for (size_t k = 0; k < s->nh; k++) {
                uint8_t hint = s->h[k].h->hint;
                if (hint == BR_HIST_RESET_YES || hint == BR_HIST_RESET_NO) {
                    br_fhist *c = br_arena_alloc(&e->sh->pa, sizeof(*c));
                    if (c == NULL) {
                        return oom(e);
                    }
                    *c = *s->h[k].h;
                    c->hint = BR_HIST_RESET_UNKNOWN;
                    s->h[k].h = c;
                }
            }
        }
    }
    return 0;
}

/* A subquery evaluated on its own: the raw points within its window. */
static int eval_subquery(ev *e, const br_promql_node *n, ev_value *out)
{
    ev_value raw;
    int rc = eval_subquery_raw(e, n, &raw);
    if (rc != 0) {
        return rc;
    }
    *out = raw;
    return 0;
}

/* ======================================================================== */
/* Function calls                                                           */
/* ======================================================================== */

static br_promql_type arg_type(const br_promql_function *f, size_t i)
{
    if (f->n_args <= 0) {
        return BR_PROMQL_TYPE_NONE;
    }
    if ((int)i < f->n_args) {
        return f->arg_types[i];
    }
    return f->arg_types[f->n_args - 1];
}

/* Labels for absent()/absent_over_time(): the equality matchers. */
static int absent_labels(ev *e, const br_promql_node *arg, br_lset *out)
{
    out->v = NULL;
    out->n = 0;
    arg = unparen(arg);
    const br_promql_node *vs = NULL;
    if (arg != NULL && arg->kind == BR_PROMQL_VECTOR_SELECTOR) {
        vs = arg;
    } else if (arg != NULL && arg->kind == BR_PROMQL_MATRIX_SELECTOR) {
        vs = arg->u.matrix.vs;
    }
    if (vs == NULL) {
        return 0;
    }
    const br_selector *sel = vs->u.vs.matchers;
    br_lset cur = {NULL, 0};
    const char *seen[BR_SELECTOR_MAX_MATCHERS];
    size_t nseen = 0;
    for (size_t i = 0; i < sel->n; i++) {
        const br_matcher *m = &sel->matchers[i];
        if (strcmp(m->name, BR_LABEL_NAME) == 0) {
            continue;
        }
        bool was = false;
        for (size_t k = 0; k < nseen; k++) {
            if (strcmp(seen[k], m->name) == 0) {
                was = true;
            }
        }
        if (m->type == BR_MATCH_EQ && !was) {
            if (br_lset_set(&e->sh->pa, cur, m->name, m->value, &cur) != 0) {
                return oom(e);
            }
            seen[nseen++] = m->name;
        } else {
            if (br_lset_set(&e->sh->pa, cur, m->name, "", &cur) != 0) {
                return oom(e);
            }
        }
    }
    *out = cur;
    return 0;
}

static bool name_is_counter_like(const char *name)
{
    static const char *const sfx[] = {"_total", "_sum", "_count", "_bucket"};
    size_t n = strlen(name);
    for (size_t i = 0; i < 4; i++) {
        size_t l = strlen(sfx[i]);
        if (n >= l && strcmp(name + n - l, sfx[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* Dropping names can make two series of a range call's output the same:
 * Prometheus' error then (unless names are removed late). */
static int check_unique_after_drop(ev *e, const ev_value *out)
{
    if (e->sh->delayed) {
        return 0;
    }
    br_imap idx;
    if (br_imap_init(&e->sh->pa, &idx, out->m.n) != 0) {
        return oom(e);
    }
    for (size_t i = 0; i < out->m.n; i++) {
        uint64_t key = br_lset_hash(out->m.s[i].ls);
        uint32_t j;
        if (br_imap_get(&idx, key, &j)) {
            return dup_error(e);
        }
        if (br_imap_put(&e->sh->pa, &idx, key, (uint32_t)i) != 0) {
            return oom(e);
        }
    }
    return 0;
}

/* ---- Long ranges from chunk summaries -----------------------------------
 *
 * rate/increase/delta/count_over_time/min_over_time/max_over_time applied
 * straight to a long matrix selector (no subquery; offset and @ are fine,
 * anchored and smoothed are not) ask the backend for per-window range
 * statistics (backend.h range_stats, storage/range_stats.h) instead of
 * selecting every sample of the range: the embedded store answers from
 * chunk summaries in O(chunks) per window. The windows and the arithmetic
 * (br_fn_range_from_stats) are the sample path's, so results are
 * identical; whenever a window holds a NaN or may hold a histogram the
 * whole call falls back to the samples, as it does when the statistics
 * would take more memory than the max-samples budget allows. Labels,
 * output order, name dropping and annotations follow eval_range_call. */

/* One br_range_stats weighs this many samples against max_samples. */
#define RANGE_STATS_WEIGHT ((sizeof(br_range_stats) + sizeof(br_sample) - 1) / sizeof(br_sample))

static bool range_stats_applies(const ev *e, const br_promql_node *n, size_t margs)
{
    const ev_shared *sh = e->sh;
    if (sh->range_stats_min < 0 || sh->q->range_stats == NULL || margs != 0 ||
        n->u.call.nargs != 1 || !br_fn_range_stats_supported(n->u.call.func->id)) {
        return false;
    }
    const br_promql_node *m = unparen(n->u.call.args[0]);
    if (m->kind != BR_PROMQL_MATRIX_SELECTOR) {
        return false;
    }
    const br_promql_node *vs = m->u.matrix.vs;
    if (vs->u.vs.anchored || vs->u.vs.smoothed) {
        return false;
    }
    int64_t range = dur_ms(e, m->u.matrix.range_ms, m->u.matrix.range_expr, false);
    return range > 0 && range >= sh->range_stats_min;
}

/* Fills out as eval_range_call would, from range statistics; *used false
 * (out untouched, nothing reported) when the sample path must run. */
static int eval_range_stats_call(ev *e, const br_promql_node *n, ev_value *out, bool *used)
{
    ev_shared *sh = e->sh;
    *used = false;
    br_promql_func_id id = n->u.call.func->id;
    const br_promql_node *m = unparen(n->u.call.args[0]);
    const br_promql_node *vs = m->u.matrix.vs;
    int64_t range = dur_ms(e, m->u.matrix.range_ms, m->u.matrix.range_expr, false);
    int64_t offset = vs_offset(e, vs);
    bool has_at;
    int64_t at = at_time(e, vs->u.vs.at, vs->u.vs.at_ms, &has_at);
    size_t ns = num_steps(e);
    if (ns == 0 || sh->loaded >= sh->max_samples) {
        return 0;
    }
    size_t max_windows = (sh->max_samples - sh->loaded) / RANGE_STATS_WEIGHT;
    size_t n_ends = has_at ? 1 : ns;
    if (max_windows < n_ends) {
        return 0;
    }
    /* The statistics live in a scratch arena freed before returning; only
     * the output series are kept. */
    br_arena tmp;
    br_arena_init(&tmp, 1 << 16, 0);
    int64_t *ends = br_arena_alloc(&tmp, sizeof(*ends) * n_ends);
    if (ends == NULL) {
        br_arena_free(&tmp);
        return oom(e);
    }
    for (size_t k = 0; k < n_ends; k++) {
        ends[k] = (has_at ? at : e->start + (int64_t)k * e->interval) - offset;
    }
    const br_selector *sel = vs->u.vs.matchers;
    br_series_range_stats_set set;
    int rc = sh->q->range_stats(sh->q->ctx, sel->matchers, sel->n, ends, n_ends, range, !sh->v2,
                                max_windows, &tmp, &set, sh->err);
    if (rc == BR_ELIMIT) {
        br_err_clear(sh->err); /* too big this way: the sample path decides */
        br_arena_free(&tmp);
        return 0;
    }
    if (rc != 0) {
        br_arena_free(&tmp);
        return rc;
    }
    for (size_t i = 0; i < set.n; i++) {
        for (size_t k = 0; k < n_ends; k++) {
            const br_range_stats *st = &set.series[i].stats[k];
            if (st->has_nan || st->has_histograms) {
                br_arena_free(&tmp);
                return 0;
            }
        }
    }
    *used = true;
    memset(out, 0, sizeof(*out));
    out->type = BR_PROMQL_TYPE_VECTOR;
    br_fctx cx = fctx(e);
    uint32_t pos = n->u.call.args[0]->start;
    sh->pos_main = pos;
    sh->pos_param = pos;
    for (size_t i = 0; rc == 0 && i < set.n; i++) {
        br_lset src = {set.series[i].labels, set.series[i].n_labels};
        ev_series *o = NULL;
        for (size_t k = 0; k < ns; k++) {
            rc = check_deadline(e);
            if (rc != 0) {
                break;
            }
            size_t w = has_at ? 0 : k;
            br_fout fo;
            br_fn_range_from_stats(id, &cx, &set.series[i].stats[w], ends[w] - range, ends[w],
                                   range, &fo);
            if (!fo.ok) {
                continue;
            }
            if (o == NULL) {
                o = matrix_add(&sh->pa, &out->m);
                if (o == NULL || lset_persist(&sh->pa, src, &o->ls) != 0) {
                    rc = oom(e);
                    break;
                }
                o->drop_name = true; /* none of these functions keeps it */
                if (!sh->delayed && br_lset_drop_name(&sh->pa, o->ls, !sh->v2, &o->ls) != 0) {
                    rc = oom(e);
                    break;
                }
            }
            if (++sh->points > sh->max_points) {
                rc = too_many_samples(e);
                break;
            }
            if (series_add_f(&sh->pa, o, e->start + (int64_t)k * e->interval, fo.f, ns) != 0) {
                rc = oom(e);
                break;
            }
        }
        if (rc == 0 && (id == BR_PROMQL_FN_RATE || id == BR_PROMQL_FN_INCREASE) && o != NULL &&
            o->nf > 0) {
            const char *name = br_lset_get(src, BR_LABEL_NAME);
            if (name != NULL && name[0] != '\0' && !name_is_counter_like(name)) {
                char msg[400];
                snprintf(msg, sizeof(msg),
                         "metric might not be a counter, name does not end in "
                         "_total/_sum/_count/_bucket: \"%s\"",
                         name);
                note(e, pos, false, msg);
            }
        }
    }
    br_arena_free(&tmp);
    return rc;
}

/* A function with a range-vector argument (Prometheus' matrix path). */
static int eval_range_call(ev *e, const br_promql_node *n, size_t margs, ev_value *out)
{
    const br_promql_function *f = n->u.call.func;
    br_promql_func_id id = f->id;
    memset(out, 0, sizeof(*out));
    out->type = BR_PROMQL_TYPE_VECTOR;
    /* Scalar arguments, one value per step. */
    double *params[BR_PROMQL_FUNC_MAX_ARGS];
    size_t np = 0;
    for (size_t i = 0; i < n->u.call.nargs && np < BR_PROMQL_FUNC_MAX_ARGS; i++) {
        if (i == margs) {
            continue;
        }
        int rc = scalar_values(e, n->u.call.args[i], &params[np]);
        if (rc != 0) {
            return rc;
        }
        np++;
    }
    const br_promql_node *marg = unparen(n->u.call.args[margs]);
    if (marg->kind == BR_PROMQL_MATRIX_SELECTOR) {
        /* Extended windows hold samples outside the range: only the
         * functions written for them may see them. */
        const br_promql_node *vs = marg->u.matrix.vs;
        if (vs->u.vs.anchored && !(id == BR_PROMQL_FN_CHANGES || id == BR_PROMQL_FN_DELTA ||
                                   id == BR_PROMQL_FN_INCREASE || id == BR_PROMQL_FN_RATE ||
                                   id == BR_PROMQL_FN_RESETS)) {
            return br_err_set(e->sh->err, BR_EEXEC,
                              "anchored modifier can only be used with: changes, delta, increase, "
                              "rate, resets - not with %s",
                              f->name);
        }
        if (vs->u.vs.smoothed &&
            !(id == BR_PROMQL_FN_DELTA || id == BR_PROMQL_FN_INCREASE || id == BR_PROMQL_FN_RATE)) {
            return br_err_set(e->sh->err, BR_EEXEC,
                              "smoothed modifier can only be used with: delta, increase, rate - "
                              "not with %s",
                              f->name);
        }
    }
    if (range_stats_applies(e, n, margs)) {
        bool used;
        int rc = eval_range_stats_call(e, n, out, &used);
        if (rc != 0 || used) {
            return rc != 0 ? rc : check_unique_after_drop(e, out);
        }
    }
    range_src rs;
    int rc = range_source(e, n->u.call.args[margs], &rs);
    if (rc != 0) {
        return rc;
    }
    bool keep_name = id == BR_PROMQL_FN_LAST_OVER_TIME || id == BR_PROMQL_FN_FIRST_OVER_TIME;
    size_t ns = num_steps(e);
    br_fctx cx = fctx(e);
    uint32_t pos = n->u.call.args[0]->start;
    e->sh->pos_main = pos;
    e->sh->pos_param = pos;
    double pv[BR_PROMQL_FUNC_MAX_ARGS];
    for (size_t i = 0; i < rs.n; i++) {
        const sel_series *src = &rs.s[i];
        bool drop = (!keep_name || (!e->sh->v2 && src->drop_name));
        if (e->sh->v2) {
            drop = id != BR_PROMQL_FN_LAST_OVER_TIME;
        }
        ev_series *o = NULL;
        size_t step = 0;
        for (int64_t ts = e->start; ts <= e->end; ts += e->interval, step++) {
            rc = check_deadline(e);
            if (rc != 0) {
                return rc;
            }
            br_window w;
            window_at(e, &rs, src, ts, &w);
            if (w.nf + w.nh == 0) {
                continue;
            }
            for (size_t k = 0; k < np; k++) {
                pv[k] = params[k][step];
            }
            br_fout fo;
            br_arena_reset(&e->sh->step);
            e->sh->pos_main = pos;
            rc = br_fn_range(id, &cx, &w, pv, np, &fo, e->sh->err);
            if (rc != 0) {
                return rc;
            }
            if (!fo.ok) {
                continue;
            }
            if (o == NULL) {
                o = matrix_add(&e->sh->pa, &out->m);
                if (o == NULL) {
                    return oom(e);
                }
                o->ls = src->ls;
                o->drop_name = drop;
                if (drop && !e->sh->delayed) {
                    if (br_lset_drop_name(&e->sh->pa, o->ls, !e->sh->v2, &o->ls) != 0) {
                        return oom(e);
                    }
                }
            }
            if (++e->sh->points > e->sh->max_points) {
                return too_many_samples(e);
            }
            if (fo.h != NULL) {
                br_fhist *h = persist_hist(e, fo.h);
                if (h == NULL || series_add_h(&e->sh->pa, o, ts, h) != 0) {
                    return oom(e);
                }
            } else if (series_add_f(&e->sh->pa, o, ts, fo.f, ns) != 0) {
                return oom(e);
            }
        }
        if ((id == BR_PROMQL_FN_RATE || id == BR_PROMQL_FN_INCREASE) && o != NULL && o->nf > 0) {
            const char *name = br_lset_get(src->ls, BR_LABEL_NAME);
            if (name != NULL && name[0] != '\0' && !name_is_counter_like(name)) {
                char msg[400];
                snprintf(msg, sizeof(msg),
                         "metric might not be a counter, name does not end in "
                         "_total/_sum/_count/_bucket: \"%s\"",
                         name);
                note(e, pos, false, msg);
            }
        }
    }
    br_arena_reset(&e->sh->step);
    if (id == BR_PROMQL_FN_ABSENT_OVER_TIME) {
        /* One series with 1 wherever no input series had samples. */
        bool *found = br_arena_calloc(&e->sh->pa, ns + 1, sizeof(bool));
        if (found == NULL) {
            return oom(e);
        }
        size_t nfound = 0;
        for (size_t i = 0; i < out->m.n; i++) {
            const ev_series *s = &out->m.s[i];
            for (size_t k = 0; k < s->nf; k++) {
                size_t idx = (size_t)((s->f[k].t - e->start) / e->interval);
                if (idx < ns && !found[idx]) {
                    found[idx] = true;
                    nfound++;
                }
            }
        }
        memset(out, 0, sizeof(*out));
        out->type = BR_PROMQL_TYPE_VECTOR;
        if (nfound == ns) {
            return 0;
        }
        ev_series *s = matrix_add(&e->sh->pa, &out->m);
        if (s == NULL) {
            return oom(e);
        }
        rc = absent_labels(e, n->u.call.args[0], &s->ls);
        if (rc != 0) {
            return rc;
        }
        s->drop_name = true;
        size_t k = 0;
        for (int64_t ts = e->start; ts <= e->end; ts += e->interval, k++) {
            if (!found[k] && series_add_f(&e->sh->pa, s, ts, 1, ns) != 0) {
                return oom(e);
            }
        }
        return 0;
    }
    return check_unique_after_drop(e, out);
}

/* ---- label_replace / label_join ---------------------------------------- */

typedef struct re2posix {
    regex_t re;
    int groups[100]; /* RE2 group number -> POSIX group number */
    int n_groups;
    const char *names[100];
} re2posix;

/* Translates the RE2 subset Prometheus users write into POSIX ERE, keeping
 * track of which POSIX group each capturing RE2 group becomes. */
static int re2_compile(ev *e, const char *re, re2posix *out)
{
    br_buf b;
    br_buf_init(&b, 1 << 20);
    int flags = REG_EXTENDED;
    memset(out, 0, sizeof(*out));
    const char *p = re;
    if (strncmp(p, "(?i)", 4) == 0) {
        flags |= REG_ICASE;
        p += 4;
    }
    br_buf_puts(&b, "^(");
    int posix_group = 1;
    int re2_group = 0;
    bool in_class = false;
    bool quant = false;     /* the last token written was a repetition operator */
    bool in_repeat = false; /* inside {n,m} */
    int rc = 0;
    for (; *p && rc == 0; p++) {
        char c = *p;
        /* RE2 rejects a repetition operator applied to another (a++, a*{2},
         * a{2}{3}); POSIX accepts it, and glibc's regcomp can then need
         * memory exponential in the pattern's length. */
        bool starts_quant = !in_class && (c == '*' || c == '+' || c == '?' ||
                                          (c == '{' && isdigit((unsigned char)p[1])));
        if (starts_quant && quant) {
            rc = -1;
            break;
        }
        quant = false;
        if (c == '\\' && p[1] != '\0') {
            char d = p[1];
            const char *rep = NULL;
            switch (d) {
            case 'd': rep = in_class ? "0-9" : "[0-9]"; break;
            case 'D': rep = "[^0-9]"; break;
            case 'w': rep = in_class ? "A-Za-z0-9_" : "[A-Za-z0-9_]"; break;
            case 'W': rep = "[^A-Za-z0-9_]"; break;
            case 's': rep = in_class ? "[:space:]" : "[[:space:]]"; break;
            case 'S': rep = "[^[:space:]]"; break;
            default: break;
            }
            if (rep != NULL) {
                rc = br_buf_puts(&b, rep);
            } else if (in_class) {
                if (d == '\\') {
                    rc = br_buf_puts(&b, "\\\\");
                } else if (d == ']') {
                    rc = br_buf_putc(&b, ']');
                } else {
                    rc = br_buf_putc(&b, d);
                }
            } else if (isalnum((unsigned char)d)) {
                rc = br_buf_putc(&b, '\\');
                if (rc == 0) {
                    rc = br_buf_putc(&b, d);
                }
            } else {
                rc = br_buf_putc(&b, '\\');
                if (rc == 0) {
                    rc = br_buf_putc(&b, d);
                }
            }
            p++;
            continue;
        }
        if (in_class) {
            if (c == ']') {
                in_class = false;
            }
            rc = br_buf_putc(&b, c);
            continue;
        }
        if (c == '[') {
            in_class = true;
            rc = br_buf_putc(&b, c);
            if (p[1] == '^') {
                rc = br_buf_putc(&b, '^');
                p++;
            }
            if (p[1] == ']') {
                rc = br_buf_putc(&b, ']');
                p++;
            }
            continue;
        }
        if (c == '(') {
            if (p[1] == '?') {
                if (p[2] == ':') {
                    /* non-capturing: becomes a POSIX group nobody refers to */
                    p += 2;
                    posix_group++;
                    rc = br_buf_putc(&b, '(');
                    continue;
                }
                const char *nm = NULL;
                if (p[2] == 'P' && p[3] == '<') {
                    nm = p + 4;
                } else if (p[2] == '<') {
                    nm = p + 3;
                }
                if (nm != NULL) {
                    const char *end = strchr(nm, '>');
                    if (end == NULL) {
                        rc = -1;
                        break;
                    }
                    re2_group++;
                    if (re2_group < 100) {
                        out->groups[re2_group] = posix_group + 1;
                        out->names[re2_group] = br_arena_strndup(&e->sh->pa, nm, (size_t)(end - nm));
                    }
                    posix_group++;
                    p = end;
                    rc = br_buf_putc(&b, '(');
                    continue;
                }
                if (p[2] == 's' && p[3] == ')') {
                    p += 3;
                    continue;
                }
                rc = -1;
                break;
            }
            re2_group++;
            if (re2_group < 100) {
                out->groups[re2_group] = posix_group + 1;
            }
            posix_group++;
            rc = br_buf_putc(&b, '(');
            continue;
        }
        if ((c == '*' || c == '+' || c == '?' || c == '}') && p[1] == '?') {
            /* lazy quantifier: same set of full matches */
            rc = br_buf_putc(&b, c);
            p++;
            quant = c != '}' || in_repeat;
            in_repeat = false;
            continue;
        }
        if (c == '{' && isdigit((unsigned char)p[1])) {
            in_repeat = true;
        } else if (c == '}' && in_repeat) {
            in_repeat = false;
            quant = true;
        } else if (c == '*' || c == '+' || c == '?') {
            quant = true;
        }
        rc = br_buf_putc(&b, c);
    }
    if (rc == 0) {
        rc = br_buf_puts(&b, ")$");
    }
    out->n_groups = re2_group < 99 ? re2_group : 99;
    /* As for selectors (storage/matcher.h): nested repetitions could make
     * regcomp need gigabytes for a short pattern. */
    int crc = -1;
    if (rc == 0 &&
        br_matcher_ere_cost(br_buf_str(&b), BR_MATCHER_MAX_EXPANDED) <= BR_MATCHER_MAX_EXPANDED) {
        (void)br_matcher_ere_relax(b.data);
        crc = regcomp(&out->re, br_buf_str(&b), flags);
    }
    br_buf_free(&b);
    return crc == 0 ? 0 : -1;
}

/* Go's Regexp.ExpandString: $1, ${1}, $name, ${name}, $$. */
static int expand_template(ev *e, const re2posix *rp, const char *tmpl, const char *src,
                           const regmatch_t *m, br_buf *out)
{
    (void)e;
    int rc = 0;
    for (const char *p = tmpl; *p && rc == 0;) {
        if (*p != '$') {
            rc = br_buf_putc(out, *p++);
            continue;
        }
        p++;
        if (*p == '$') {
            rc = br_buf_putc(out, '$');
            p++;
            continue;
        }
        const char *name;
        size_t len;
        bool braced = false;
        if (*p == '{') {
            const char *end = strchr(p + 1, '}');
            name = p + 1;
            len = end ? (size_t)(end - name) : 0;
            bool ok = end != NULL && len > 0;
            for (size_t i = 0; ok && i < len; i++) {
                ok = isalnum((unsigned char)name[i]) || name[i] == '_';
            }
            if (!ok) {
                rc = br_buf_putc(out, '$');
                continue;
            }
            braced = true;
            p = end + 1;
        } else {
            name = p;
            len = 0;
            while (isalnum((unsigned char)name[len]) || name[len] == '_') {
                len++;
            }
            if (len == 0) {
                rc = br_buf_putc(out, '$');
                continue;
            }
            p += len;
        }
        (void)braced;
        int group = -1;
        bool numeric = true;
        for (size_t i = 0; i < len; i++) {
            if (!isdigit((unsigned char)name[i])) {
                numeric = false;
            }
        }
        if (numeric) {
            long v = 0;
            for (size_t i = 0; i < len && v < 1000; i++) {
                v = v * 10 + (name[i] - '0');
            }
            if (v == 0) {
                group = 1; /* the whole match is POSIX group 1 */
            } else if (v <= rp->n_groups) {
                group = rp->groups[v];
            }
        } else {
            for (int g = 1; g <= rp->n_groups; g++) {
                if (rp->names[g] != NULL && strlen(rp->names[g]) == len &&
                    strncmp(rp->names[g], name, len) == 0) {
                    group = rp->groups[g];
                    break;
                }
            }
        }
        if (group > 0 && m[group].rm_so >= 0) {
            rc = br_buf_append(out, src + m[group].rm_so, (size_t)(m[group].rm_eo - m[group].rm_so));
        }
    }
    return rc;
}

static bool valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        int n;
        if ((*p & 0xE0) == 0xC0) {
            n = 1;
        } else if ((*p & 0xF0) == 0xE0) {
            n = 2;
        } else if ((*p & 0xF8) == 0xF0) {
            n = 3;
        } else {
            return false;
        }
        for (int i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80) {
                return false;
            }
        }
        p += n + 1;
    }
    return true;
}

static bool valid_label_name(const ev *e, const char *s)
{
    if (e->sh->v2) {
        if (!(isalpha((unsigned char)s[0]) || s[0] == '_')) {
            return false;
        }
        for (const char *p = s + 1; *p; p++) {
            if (!(isalnum((unsigned char)*p) || *p == '_')) {
                return false;
            }
        }
        return true;
    }
    return s[0] != '\0' && valid_utf8(s);
}

/* Go's strconv.Quote for error messages. */
static void go_quote(const char *s, char *out, size_t size)
{
    br_buf b;
    br_buf_init(&b, size);
    br_buf_putc(&b, '"');
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p >= 0x80) {
            /* valid multi-byte sequence: copy; invalid byte: \x escape */
            int n = (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2 : (*p & 0xF8) == 0xF0 ? 3 : -1;
            bool ok = n > 0;
            for (int i = 1; ok && i <= n; i++) {
                ok = (p[i] & 0xC0) == 0x80;
            }
            if (ok) {
                br_buf_append(&b, p, (size_t)n + 1);
                p += n + 1;
            } else {
                br_buf_printf(&b, "\\x%02x", *p);
                p++;
            }
            continue;
        }
        if (*p == '"' || *p == '\\') {
            br_buf_putc(&b, '\\');
            br_buf_putc(&b, (char)*p);
        } else if (*p < 0x20 || *p == 0x7f) {
            br_buf_printf(&b, "\\x%02x", *p);
        } else {
            br_buf_putc(&b, (char)*p);
        }
        p++;
    }
    br_buf_putc(&b, '"');
    snprintf(out, size, "%s", br_buf_str(&b));
    br_buf_free(&b);
}

static const char *string_arg(const br_promql_node *n)
{
    n = unparen(n);
    if (n != NULL && n->kind == BR_PROMQL_STRING) {
        return n->u.string.value;
    }
    return "";
}

static int eval_label_replace(ev *e, const br_promql_node *n, ev_value *out)
{
    const char *dst = string_arg(n->u.call.args[1]);
    const char *repl = string_arg(n->u.call.args[2]);
    const char *src = string_arg(n->u.call.args[3]);
    const char *regex = string_arg(n->u.call.args[4]);
    re2posix rp;
    if (re2_compile(e, regex, &rp) != 0) {
        return br_err_set(e->sh->err, BR_EEXEC,
                          "invalid regular expression in label_replace(): %s", regex);
    }
    if (!valid_label_name(e, dst)) {
        regfree(&rp.re);
        return br_err_set(e->sh->err, BR_EEXEC,
                          "invalid destination label name in label_replace(): %s", dst);
    }
    int rc = eval_node(e, n->u.call.args[0], out);
    if (rc != 0) {
        regfree(&rp.re);
        return rc;
    }
    regmatch_t m[101];
    br_buf b;
    br_buf_init(&b, 1 << 20);
    for (size_t i = 0; i < out->m.n && rc == 0; i++) {
        ev_series *s = &out->m.s[i];
        const char *sv = br_lset_get(s->ls, src);
        sv = sv != NULL ? sv : "";
        if (regexec(&rp.re, sv, 101, m, 0) != 0) {
            continue;
        }
        br_buf_reset(&b);
        if (expand_template(e, &rp, repl, sv, m, &b) != 0) {
            rc = oom(e);
            break;
        }
        if (br_lset_set(&e->sh->pa, s->ls, dst, br_buf_str(&b), &s->ls) != 0) {
            rc = oom(e);
            break;
        }
        if (strcmp(dst, BR_LABEL_NAME) == 0) {
            s->drop_name = false;
        }
    }
    br_buf_free(&b);
    regfree(&rp.re);
    if (rc != 0) {
        return rc;
    }
    return merge_same_labels(e, &out->m);
}

static int eval_label_join(ev *e, const br_promql_node *n, ev_value *out)
{
    const char *dst = string_arg(n->u.call.args[1]);
    const char *sep = string_arg(n->u.call.args[2]);
    size_t nsrc = n->u.call.nargs - 3;
    for (size_t i = 0; i < nsrc; i++) {
        const char *srcl = string_arg(n->u.call.args[3 + i]);
        if (!valid_label_name(e, srcl)) {
            return br_err_set(e->sh->err, BR_EEXEC,
                              "invalid source label name in label_join(): %s", srcl);
        }
    }
    if (!valid_label_name(e, dst)) {
        return br_err_set(e->sh->err, BR_EEXEC,
                          "invalid destination label name in label_join(): %s", dst);
    }
    int rc = eval_node(e, n->u.call.args[0], out);
    if (rc != 0) {
        return rc;
    }
    br_buf b;
    br_buf_init(&b, 1 << 20);
    for (size_t i = 0; i < out->m.n; i++) {
        ev_series *s = &out->m.s[i];
        br_buf_reset(&b);
        for (size_t k = 0; k < nsrc; k++) {
            const char *v = br_lset_get(s->ls, string_arg(n->u.call.args[3 + k]));
            if (k > 0) {
                br_buf_puts(&b, sep);
            }
            br_buf_puts(&b, v != NULL ? v : "");
        }
        if (br_lset_set(&e->sh->pa, s->ls, dst, br_buf_str(&b), &s->ls) != 0) {
            br_buf_free(&b);
            return oom(e);
        }
        if (strcmp(dst, BR_LABEL_NAME) == 0) {
            s->drop_name = false;
        }
    }
    br_buf_free(&b);
    return merge_same_labels(e, &out->m);
}


/* ---- info() (Prometheus 3, experimental) ---------------------------------- */

static const char *const info_id_labels[] = {"instance", "job"};

/* The @ and offset that govern the first argument's first selector
 * (enclosing subqueries add their offsets until one has an @). */
static bool info_time_of(const br_promql_node *n, const br_promql_node *const *path, size_t depth,
                         bool *has_at, int64_t *at, int64_t *offset, const ev *e)
{
    if (n == NULL) {
        return false;
    }
    if (n->kind == BR_PROMQL_VECTOR_SELECTOR) {
        *at = at_time(e, n->u.vs.at, n->u.vs.at_ms, has_at);
        *offset = vs_offset(e, n);
        for (size_t i = depth; !*has_at && i > 0; i--) {
            const br_promql_node *p = path[i - 1];
            if (p->kind == BR_PROMQL_SUBQUERY) {
                *offset += subq_offset(e, p);
                *at = at_time(e, p->u.subquery.at, p->u.subquery.at_ms, has_at);
            }
        }
        return true;
    }
    const br_promql_node *stack[BR_PROMQL_MAX_DEPTH + 1];
    if (depth >= BR_PROMQL_MAX_DEPTH) {
        return false;
    }
    for (size_t i = 0; i < depth; i++) {
        stack[i] = path[i];
    }
    stack[depth] = n;
    size_t nc = br_promql_child_count(n);
    for (size_t i = 0; i < nc; i++) {
        if (info_time_of(br_promql_child(n, i), stack, depth + 1, has_at, at, offset, e)) {
            return true;
        }
    }
    return false;
}

static bool matcher_list_matches(const br_matcher *const *ms, size_t n, const char *v)
{
    for (size_t i = 0; i < n; i++) {
        if (!br_matcher_matches(ms[i], v != NULL ? v : "")) {
            return false;
        }
    }
    return true;
}

/* Escapes regex metacharacters (Go's regexp.QuoteMeta). */
static int quote_meta(br_buf *b, const char *s)
{
    int rc = 0;
    for (const char *p = s; *p && rc == 0; p++) {
        if (strchr("\\.+*?()|[]{}^$", *p) != NULL) {
            rc = br_buf_putc(b, '\\');
        }
        if (rc == 0) {
            rc = br_buf_putc(b, *p);
        }
    }
    return rc;
}

typedef struct info_state {
    br_matcher owned[BR_SELECTOR_MAX_MATCHERS + 8];
    size_t n_owned;
} info_state;

static void info_state_free(info_state *st)
{
    for (size_t i = 0; i < st->n_owned; i++) {
        br_matcher_free(&st->owned[i]);
    }
    st->n_owned = 0;
}

static int info_matcher(ev *e, info_state *st, br_match_type t, const char *name, const char *val,
                        const br_matcher **out)
{
    if (st->n_owned >= sizeof(st->owned) / sizeof(st->owned[0])) {
        return br_err_set(e->sh->err, BR_ELIMIT, "too many matchers in info()");
    }
    int rc = br_matcher_init(&st->owned[st->n_owned], t, name, val, e->sh->err);
    if (rc != 0) {
        return rc;
    }
    *out = &st->owned[st->n_owned++];
    return 0;
}

/* The join signature: the info metric's name plus the identifying labels. */
static uint64_t info_sig(const char *info_name, br_lset ls)
{
    br_label v[3];
    size_t n = 0;
    v[n].name = BR_LABEL_NAME;
    v[n].value = info_name;
    n++;
    for (size_t i = 0; i < 2; i++) {
        const char *x = br_lset_get(ls, info_id_labels[i]);
        if (x != NULL) {
            v[n].name = info_id_labels[i];
            v[n].value = x;
            n++;
        }
    }
    br_lset l = {v, n};
    return br_lset_hash(l);
}

static int eval_info_inner(ev *e, const br_promql_node *n, info_state *st, ev_value *out)
{
    ev_shared *sh = e->sh;
    bool has_at = false;
    int64_t at = 0;
    int64_t offset = 0;
    info_time_of(n->u.call.args[0], NULL, 0, &has_at, &at, &offset, e);
    ev_value base;
    int rc = eval_node(e, n->u.call.args[0], &base);
    if (rc != 0) {
        return rc;
    }
    /* Data-label matchers (second argument) and name matchers. */
    const br_matcher *data[BR_SELECTOR_MAX_MATCHERS];
    size_t n_data = 0;
    const br_matcher *names[BR_SELECTOR_MAX_MATCHERS + 1];
    size_t n_names = 0;
    if (n->u.call.nargs > 1) {
        const br_promql_node *sel = unparen(n->u.call.args[1]);
        const br_selector *ms = sel->u.vs.matchers;
        for (size_t i = 0; i < ms->n && i < BR_SELECTOR_MAX_MATCHERS; i++) {
            if (strcmp(ms->matchers[i].name, BR_LABEL_NAME) == 0) {
                names[n_names++] = &ms->matchers[i];
            } else {
                data[n_data++] = &ms->matchers[i];
            }
        }
    }
    /* Effective name matchers: as given when one is positive; only
     * negative ones get `=~ ".+_info"` first; none means target_info. */
    const br_matcher *eff[BR_SELECTOR_MAX_MATCHERS + 2];
    size_t n_eff = 0;
    bool positive = false;
    for (size_t i = 0; i < n_names; i++) {
        positive = positive || names[i]->type == BR_MATCH_EQ || names[i]->type == BR_MATCH_RE;
    }
    if (n_names > 0 && !positive) {
        rc = info_matcher(e, st, BR_MATCH_RE, BR_LABEL_NAME, ".+_info", &eff[n_eff]);
        if (rc != 0) {
            return rc;
        }
        n_eff++;
    }
    if (n_names == 0) {
        rc = info_matcher(e, st, BR_MATCH_EQ, BR_LABEL_NAME, "target_info", &eff[n_eff]);
        if (rc != 0) {
            return rc;
        }
        n_eff++;
    }
    for (size_t i = 0; i < n_names; i++) {
        eff[n_eff++] = names[i];
    }
    /* Base series that are info series themselves are left alone. */
    bool *ignore = br_arena_calloc(&sh->pa, base.m.n + 1, sizeof(bool));
    if (ignore == NULL) {
        return oom(e);
    }
    br_buf re[2];
    br_buf_init(&re[0], 1 << 20);
    br_buf_init(&re[1], 1 << 20);
    bool any_id = false;
    for (size_t i = 0; i < base.m.n; i++) {
        ignore[i] = matcher_list_matches(eff, n_eff, br_lset_get(base.m.s[i].ls, BR_LABEL_NAME));
        if (ignore[i]) {
            continue;
        }
        for (size_t k = 0; k < 2; k++) {
            const char *v = br_lset_get(base.m.s[i].ls, info_id_labels[k]);
            if (v == NULL || v[0] == '\0') {
                continue;
            }
            if (re[k].len > 0) {
                br_buf_putc(&re[k], '|');
            }
            quote_meta(&re[k], v);
            any_id = true;
        }
    }
    ev_matrix info;
    memset(&info, 0, sizeof(info));
    if (any_id) {
        br_selector sel;
        memset(&sel, 0, sizeof(sel));
        rc = 0;
        for (size_t k = 0; k < 2 && rc == 0; k++) {
            if (re[k].len > 0) {
                const br_matcher *m = NULL;
                rc = info_matcher(e, st, BR_MATCH_RE, info_id_labels[k], br_buf_str(&re[k]), &m);
                if (rc == 0) {
                    sel.matchers[sel.n++] = *m;
                }
            }
        }
        for (size_t i = 0; i < n_data && rc == 0 && sel.n < BR_SELECTOR_MAX_MATCHERS; i++) {
            sel.matchers[sel.n++] = *data[i];
        }
        for (size_t i = 0; i < n_eff && rc == 0 && sel.n < BR_SELECTOR_MAX_MATCHERS; i++) {
            sel.matchers[sel.n++] = *eff[i];
        }
        if (rc == 0) {
            br_promql_node fake;
            memset(&fake, 0, sizeof(fake));
            fake.kind = BR_PROMQL_VECTOR_SELECTOR;
            fake.u.vs.matchers = &sel;
            int64_t lo = (has_at ? at : e->start) - offset - sh->lookback;
            int64_t hi = (has_at ? at : e->end) - offset;
            sel_series *ss;
            size_t nss;
            rc = select_series(e, &fake, lo, hi, false, &ss, &nss);
            /* Each info series' value at a step is its sample's time. */
            for (size_t i = 0; rc == 0 && i < nss; i++) {
                ev_series *o = NULL;
                for (int64_t ts = e->start; ts <= e->end; ts += e->interval) {
                    double f;
                    const br_fhist *h;
                    int64_t t;
                    if (!instant_at(e, &ss[i], (has_at ? at : ts) - offset, &f, &h, &t)) {
                        continue;
                    }
                    if (h != NULL) {
                        br_buf lb;
                        br_buf_init(&lb, BR_ERR_MSG_SIZE);
                        br_lset_format(ss[i].ls, &lb);
                        rc = br_err_set(sh->err, BR_EEXEC,
                                        "this should be an info metric, with float samples: %s",
                                        br_buf_str(&lb));
                        br_buf_free(&lb);
                        break;
                    }
                    if (o == NULL) {
                        o = matrix_add(&sh->pa, &info);
                        if (o == NULL) {
                            rc = oom(e);
                            break;
                        }
                        o->ls = ss[i].ls;
                    }
                    if (series_add_f(&sh->pa, o, ts, (double)t, num_steps(e)) != 0) {
                        rc = oom(e);
                        break;
                    }
                }
            }
        }
    }
    br_buf_free(&re[0]);
    br_buf_free(&re[1]);
    if (rc != 0) {
        return rc;
    }
    /* Join step by step. */
    step_arg b;
    step_arg in;
    memset(&b, 0, sizeof(b));
    memset(&in, 0, sizeof(in));
    b.v = base;
    in.v.type = BR_PROMQL_TYPE_VECTOR;
    in.v.m = info;
    if (arg_prepare(e, &b) != 0 || arg_prepare(e, &in) != 0) {
        return oom(e);
    }
    collector c;
    rc = collector_init(e, &c, base.m.n);
    if (rc != 0) {
        return rc;
    }
    for (int64_t ts = e->start; ts <= e->end; ts += e->interval) {
        br_arena_reset(&sh->step);
        if (arg_gather(e, &b, ts, true) != 0 || arg_gather(e, &in, ts, false) != 0) {
            return oom(e);
        }
        /* Newest info sample per signature. */
        br_imap best;
        if (br_imap_init(&sh->step, &best, in.vec.n) != 0) {
            return oom(e);
        }
        for (size_t i = 0; i < in.vec.n; i++) {
            const br_vsample *is = &in.vec.v[i];
            const char *nm = br_lset_get(is->ls, BR_LABEL_NAME);
            uint64_t sig = info_sig(nm != NULL ? nm : "", is->ls);
            uint32_t j;
            if (br_imap_get(&best, sig, &j)) {
                const br_vsample *ex = &in.vec.v[j];
                if (ex->f > is->f) {
                    continue;
                }
                if (ex->f == is->f) {
                    char a[BR_ERR_MSG_SIZE];
                    char bb[BR_ERR_MSG_SIZE];
                    br_buf f1;
                    br_buf_init(&f1, sizeof(a) - 1);
                    br_lset_format(ex->ls, &f1);
                    snprintf(a, sizeof(a), "%s", br_buf_str(&f1));
                    br_buf_reset(&f1);
                    br_lset_format(is->ls, &f1);
                    snprintf(bb, sizeof(bb), "%s", br_buf_str(&f1));
                    br_buf_free(&f1);
                    return br_err_set(sh->err, BR_EEXEC,
                                      "found duplicate series for info metric: existing %s @ %lld, "
                                      "new %s @ %lld",
                                      a, (long long)ex->f, bb, (long long)is->f);
                }
            }
            if (br_imap_put(&sh->step, &best, sig, (uint32_t)i) != 0) {
                return oom(e);
            }
        }
        br_vvec res;
        memset(&res, 0, sizeof(res));
        for (size_t si = 0; si < base.m.n; si++) {
            const br_vsample *bs = b.per_series[si];
            if (bs == NULL) {
                continue;
            }
            br_vsample o = *bs;
            if (!ignore[si]) {
                br_lset add = {NULL, 0};
                size_t seen = 0;
                const char *seen_names[64];
                for (size_t k = 0; k < info.n; k++) {
                    const char *nm = br_lset_get(info.s[k].ls, BR_LABEL_NAME);
                    nm = nm != NULL ? nm : "";
                    bool dup = false;
                    for (size_t q = 0; q < seen; q++) {
                        dup = dup || strcmp(seen_names[q], nm) == 0;
                    }
                    if (dup) {
                        continue;
                    }
                    uint32_t j;
                    if (!br_imap_get(&best, info_sig(nm, bs->ls), &j)) {
                        continue;
                    }
                    const br_vsample *is = &in.vec.v[j];
                    for (size_t l = 0; l < is->ls.n; l++) {
                        const br_label *lb = &is->ls.v[l];
                        if (strcmp(lb->name, BR_LABEL_NAME) == 0) {
                            continue;
                        }
                        if (n_data > 0) {
                            bool listed = false;
                            for (size_t q = 0; q < n_data; q++) {
                                listed = listed || strcmp(data[q]->name, lb->name) == 0;
                            }
                            if (!listed) {
                                continue;
                            }
                        }
                        const char *have = br_lset_get(add, lb->name);
                        if (have != NULL && strcmp(have, lb->value) != 0) {
                            return br_err_set(sh->err, BR_EEXEC, "conflicting label: %s",
                                              lb->name);
                        }
                        if (br_lset_get(bs->ls, lb->name) != NULL) {
                            continue;
                        }
                        if (br_lset_set(&sh->step, add, lb->name, lb->value, &add) != 0) {
                            return oom(e);
                        }
                    }
                    if (seen < 64) {
                        seen_names[seen++] = nm;
                    }
                }
                if (seen == 0) {
                    bool all_empty = true;
                    for (size_t q = 0; q < n_data; q++) {
                        all_empty = all_empty && br_matcher_matches(data[q], "");
                    }
                    if (!all_empty) {
                        continue;
                    }
                }
                for (size_t l = 0; l < add.n; l++) {
                    if (br_lset_set(&sh->step, o.ls, add.v[l].name, add.v[l].value, &o.ls) != 0) {
                        return oom(e);
                    }
                }
            }
            if (br_vvec_push(&sh->step, &res, &o) != 0) {
                return oom(e);
            }
        }
        rc = collect(e, &c, &res, ts);
        if (rc != 0) {
            return rc;
        }
    }
    br_arena_reset(&sh->step);
    out->type = BR_PROMQL_TYPE_VECTOR;
    out->m = c.m;
    return 0;
}

static int eval_info(ev *e, const br_promql_node *n, ev_value *out)
{
    info_state *st = br_calloc(1, sizeof(*st));
    int rc = eval_info_inner(e, n, st, out);
    info_state_free(st);
    br_free(st);
    return rc;
}

/* timestamp(selector): the samples' own timestamps. */
static int eval_timestamp_selector(ev *e, const br_promql_node *vs, ev_value *out)
{
    int rc = eval_vector_selector(e, vs, true, out);
    if (rc != 0) {
        return rc;
    }
    rc = drop_names_now(e, &out->m);
    if (rc != 0) {
        return rc;
    }
    if (!e->sh->delayed) {
        return merge_same_labels(e, &out->m);
    }
    return 0;
}

static int eval_call(ev *parent, const br_promql_node *n, ev_value *out)
{
    const br_promql_function *f = n->u.call.func;
    br_promql_func_id id = f->id;
    memset(out, 0, sizeof(*out));
    ev sub = *parent;
    ev *e = &sub;
    if (id == BR_PROMQL_FN_HISTOGRAM_COUNT || id == BR_PROMQL_FN_HISTOGRAM_SUM ||
        id == BR_PROMQL_FN_HISTOGRAM_AVG) {
        sub.skip_buckets = true;
    } else if (id == BR_PROMQL_FN_HISTOGRAM_QUANTILE || id == BR_PROMQL_FN_HISTOGRAM_QUANTILES ||
               id == BR_PROMQL_FN_HISTOGRAM_FRACTION) {
        sub.skip_buckets = false;
    }
    switch (id) {
    case BR_PROMQL_FN_LABEL_REPLACE:
        return eval_label_replace(e, n, out);
    case BR_PROMQL_FN_LABEL_JOIN:
        return eval_label_join(e, n, out);
    case BR_PROMQL_FN_TIME: {
        int trc = const_scalar(e, 0, out);
        if (trc != 0) {
            return trc;
        }
        for (size_t k = 0; k < out->m.s[0].nf; k++) {
            out->m.s[0].f[k].v = (double)out->m.s[0].f[k].t / 1000;
        }
        return 0;
    }
    case BR_PROMQL_FN_PI:
        return const_scalar(e, M_PI, out);
    case BR_PROMQL_FN_START:
        return const_scalar(e, (double)e->sh->q_start / 1000, out);
    case BR_PROMQL_FN_END:
        return const_scalar(e, (double)e->sh->q_end / 1000, out);
    case BR_PROMQL_FN_STEP:
        return const_scalar(e, (double)e->sh->q_step / 1000, out);
    case BR_PROMQL_FN_RANGE:
        return const_scalar(e, (double)(e->sh->q_end - e->sh->q_start) / 1000, out);
    case BR_PROMQL_FN_INFO:
        return eval_info(e, n, out);
    case BR_PROMQL_FN_START_TIMESTAMP:
        return br_err_set(e->sh->err, BR_EEXEC, "function %s is not supported by burnrate",
                          f->name);
    case BR_PROMQL_FN_TIMESTAMP: {
        const br_promql_node *a = unparen(n->u.call.args[0]);
        if (a->kind == BR_PROMQL_VECTOR_SELECTOR) {
            return eval_timestamp_selector(e, a, out);
        }
        break;
    }
    default:
        break;
    }
    /* Functions over a range vector. */
    for (size_t i = 0; i < n->u.call.nargs; i++) {
        if (arg_type(f, i) == BR_PROMQL_TYPE_MATRIX) {
            return eval_range_call(e, n, i, out);
        }
    }
    if ((id == BR_PROMQL_FN_SORT || id == BR_PROMQL_FN_SORT_DESC ||
         id == BR_PROMQL_FN_SORT_BY_LABEL || id == BR_PROMQL_FN_SORT_BY_LABEL_DESC) &&
        e->start != e->end) {
        note(e, n->start, true,
             "sort is ineffective for range queries since results are always ordered by labels");
    }
    /* Evaluate the arguments. */
    size_t na = n->u.call.nargs;
    step_arg *args = br_arena_calloc(&e->sh->pa, na + 1, sizeof(*args));
    if (args == NULL) {
        return oom(e);
    }
    const char *strs[BR_PROMQL_FUNC_MAX_ARGS + 16];
    size_t nstr = 0;
    int vec_arg = -1;
    for (size_t i = 0; i < na; i++) {
        br_promql_type t = arg_type(f, i);
        if (t == BR_PROMQL_TYPE_STRING) {
            if (nstr < sizeof(strs) / sizeof(strs[0])) {
                strs[nstr++] = string_arg(n->u.call.args[i]);
            }
            args[i].v.type = BR_PROMQL_TYPE_STRING;
            continue;
        }
        int rc = eval_node(e, n->u.call.args[i], &args[i].v);
        if (rc != 0) {
            return rc;
        }
        rc = arg_prepare(e, &args[i]);
        if (rc != 0) {
            return rc;
        }
        if (t == BR_PROMQL_TYPE_VECTOR && vec_arg < 0) {
            vec_arg = (int)i;
        }
    }
    br_lset absent_ls = {NULL, 0};
    if (id == BR_PROMQL_FN_ABSENT) {
        int rc = absent_labels(e, n->u.call.args[0], &absent_ls);
        if (rc != 0) {
            return rc;
        }
    }
    /* Annotation positions. */
    uint32_t pos_main = na > 0 ? n->u.call.args[0]->start : n->start;
    uint32_t pos_param = pos_main;
    if (id == BR_PROMQL_FN_HISTOGRAM_QUANTILE && na >= 2) {
        pos_main = n->u.call.args[1]->start;
        pos_param = n->u.call.args[0]->start;
    } else if (id == BR_PROMQL_FN_HISTOGRAM_QUANTILES && na >= 3) {
        pos_param = n->u.call.args[2]->start;
    } else if (id == BR_PROMQL_FN_HISTOGRAM_FRACTION && na >= 3) {
        pos_main = n->u.call.args[2]->start;
    }
    collector c;
    int rc = collector_init(e, &c, vec_arg >= 0 ? args[vec_arg].v.m.n : 1);
    if (rc != 0) {
        return rc;
    }
    br_fctx cx = fctx(e);
    for (int64_t ts = e->start; ts <= e->end; ts += e->interval) {
        rc = check_deadline(e);
        if (rc != 0) {
            return rc;
        }
        br_arena_reset(&e->sh->step);
        double params[BR_PROMQL_FUNC_MAX_ARGS + 8];
        size_t np = 0;
        for (size_t i = 0; i < na; i++) {
            if (args[i].v.type == BR_PROMQL_TYPE_STRING) {
                continue;
            }
            rc = arg_gather(e, &args[i], ts, false);
            if (rc != 0) {
                return rc;
            }
            if (args[i].v.type == BR_PROMQL_TYPE_SCALAR && np < sizeof(params) / sizeof(params[0])) {
                params[np++] = args[i].scalar;
            }
        }
        br_vvec res;
        memset(&res, 0, sizeof(res));
        const br_vvec *in = vec_arg >= 0 ? &args[vec_arg].vec : NULL;
        br_vvec empty;
        memset(&empty, 0, sizeof(empty));
        e->sh->pos_main = pos_main;
        e->sh->pos_param = pos_param;
        switch (id) {
        case BR_PROMQL_FN_SCALAR: {
            double v = NAN;
            bool found = false;
            for (size_t i = 0; i < in->n; i++) {
                if (in->v[i].h != NULL) {
                    continue;
                }
                if (found) {
                    v = NAN;
                    break;
                }
                found = true;
                v = in->v[i].f;
            }
            br_vsample s;
            memset(&s, 0, sizeof(s));
            s.f = v;
            rc = br_vvec_push(&e->sh->step, &res, &s) == 0 ? 0 : oom(e);
            break;
        }
        case BR_PROMQL_FN_VECTOR: {
            br_vsample s;
            memset(&s, 0, sizeof(s));
            s.f = np > 0 ? params[0] : NAN;
            rc = br_vvec_push(&e->sh->step, &res, &s) == 0 ? 0 : oom(e);
            break;
        }
        case BR_PROMQL_FN_MAX_OF:
        case BR_PROMQL_FN_MIN_OF: {
            br_vsample s;
            memset(&s, 0, sizeof(s));
            s.f = id == BR_PROMQL_FN_MAX_OF ? br_go_max(params[0], params[1])
                                            : br_go_min(params[0], params[1]);
            rc = br_vvec_push(&e->sh->step, &res, &s) == 0 ? 0 : oom(e);
            break;
        }
        case BR_PROMQL_FN_ABSENT:
            if (in->n == 0) {
                br_vsample s;
                memset(&s, 0, sizeof(s));
                s.ls = absent_ls;
                s.f = 1;
                rc = br_vvec_push(&e->sh->step, &res, &s) == 0 ? 0 : oom(e);
            }
            break;
        default:
            rc = br_fn_vector(id, &cx, in != NULL ? in : &empty, in != NULL, params, np, strs, nstr,
                              ts, &res, e->sh->err);
            break;
        }
        if (rc != 0) {
            return rc;
        }
        rc = collect(e, &c, &res, ts);
        if (rc != 0) {
            return rc;
        }
    }
    br_arena_reset(&e->sh->step);
    out->type = f->return_type;
    out->m = c.m;
    return 0;
}

/* ======================================================================== */
/* Aggregations                                                             */
/* ======================================================================== */

static br_aggop map_aggop(br_promql_aggop op)
{
    switch (op) {
    case BR_PROMQL_AGG_SUM: return BR_AGG_SUM;
    case BR_PROMQL_AGG_AVG: return BR_AGG_AVG;
    case BR_PROMQL_AGG_COUNT: return BR_AGG_COUNT;
    case BR_PROMQL_AGG_MIN: return BR_AGG_MIN;
    case BR_PROMQL_AGG_MAX: return BR_AGG_MAX;
    case BR_PROMQL_AGG_GROUP: return BR_AGG_GROUP;
    case BR_PROMQL_AGG_STDDEV: return BR_AGG_STDDEV;
    case BR_PROMQL_AGG_STDVAR: return BR_AGG_STDVAR;
    case BR_PROMQL_AGG_TOPK: return BR_AGG_TOPK;
    case BR_PROMQL_AGG_BOTTOMK: return BR_AGG_BOTTOMK;
    case BR_PROMQL_AGG_COUNT_VALUES: return BR_AGG_COUNT_VALUES;
    case BR_PROMQL_AGG_QUANTILE: return BR_AGG_QUANTILE;
    case BR_PROMQL_AGG_LIMITK: return BR_AGG_LIMITK;
    case BR_PROMQL_AGG_LIMIT_RATIO: return BR_AGG_LIMIT_RATIO;
    }
    return BR_AGG_SUM;
}

static int sorted_names(ev *e, const br_promql_labels *l, const char ***out, size_t *n)
{
    const char **names = br_arena_alloc(&e->sh->pa, sizeof(char *) * (l->n + 1));
    if (names == NULL) {
        return oom(e);
    }
    for (size_t i = 0; i < l->n; i++) {
        names[i] = l->names[i];
    }
    *n = br_names_sort(names, l->n);
    *out = names;
    return 0;
}

static int eval_aggregate(ev *e, const br_promql_node *n, ev_value *out)
{
    br_aggop op = map_aggop(n->u.aggregate.op);
    memset(out, 0, sizeof(*out));
    out->type = BR_PROMQL_TYPE_VECTOR;
    const char **names = NULL;
    size_t nn = 0;
    int rc = sorted_names(e, &n->u.aggregate.grouping, &names, &nn);
    if (rc != 0) {
        return rc;
    }
    bool without = n->u.aggregate.without;
    const char *cv_label = NULL;
    double *params = NULL;
    size_t ns = num_steps(e);
    if (op == BR_AGG_COUNT_VALUES) {
        cv_label = string_arg(n->u.aggregate.param);
        if (!valid_label_name(e, cv_label)) {
            char q[300];
            go_quote(cv_label, q, sizeof(q));
            return br_err_set(e->sh->err, BR_EEXEC, "invalid label name %s", q);
        }
    } else if (n->u.aggregate.param != NULL) {
        rc = scalar_values(e, n->u.aggregate.param, &params);
        if (rc != 0) {
            return rc;
        }
    }
    step_arg in;
    memset(&in, 0, sizeof(in));
    rc = eval_node(e, n->u.aggregate.expr, &in.v);
    if (rc != 0) {
        return rc;
    }
    rc = arg_prepare(e, &in);
    if (rc != 0) {
        return rc;
    }
    br_fctx cx = fctx(e);
    e->sh->pos_main = n->u.aggregate.expr->start;
    e->sh->pos_param = n->u.aggregate.param != NULL ? n->u.aggregate.param->start : n->start;
    e->sh->pos_node = n->start;
    if (params != NULL) {
        bool empty;
        rc = br_agg_check_params(&cx, op, params, ns, &empty, e->sh->err);
        if (rc != 0) {
            return rc;
        }
        if (empty) {
            return 0;
        }
    }
    br_agg agg;
    br_lset *ls = NULL;
    if (op != BR_AGG_COUNT_VALUES) {
        ls = br_arena_alloc(&e->sh->pa, sizeof(*ls) * (in.v.m.n + 1));
        if (ls == NULL) {
            return oom(e);
        }
        for (size_t i = 0; i < in.v.m.n; i++) {
            ls[i] = in.v.m.s[i].ls;
        }
        rc = br_agg_init(&e->sh->pa, &agg, op, without, names, nn, ls, in.v.m.n, e->sh->err);
        if (rc != 0) {
            return rc;
        }
    }
    collector c;
    rc = collector_init(e, &c, in.v.m.n);
    if (rc != 0) {
        return rc;
    }
    size_t step = 0;
    for (int64_t ts = e->start; ts <= e->end; ts += e->interval, step++) {
        rc = check_deadline(e);
        if (rc != 0) {
            return rc;
        }
        br_arena_reset(&e->sh->step);
        rc = arg_gather(e, &in, ts, true);
        if (rc != 0) {
            return rc;
        }
        br_vvec res;
        memset(&res, 0, sizeof(res));
        e->sh->pos_main = n->u.aggregate.expr->start;
        if (op == BR_AGG_COUNT_VALUES) {
            rc = br_agg_count_values(&cx, cv_label, without, names, nn, &in.vec, &res, e->sh->err);
        } else {
            rc = br_agg_step(&cx, &agg, in.per_series, params != NULL ? params[step] : 0, &res,
                             e->sh->err);
        }
        if (rc != 0) {
            return rc;
        }
        rc = collect(e, &c, &res, ts);
        if (rc != 0) {
            return rc;
        }
    }
    br_arena_reset(&e->sh->step);
    out->m = c.m;
    return 0;
}

/* ======================================================================== */
/* Operators                                                                */
/* ======================================================================== */

static bool map_binop(br_promql_binop op, br_binop *out)
{
    switch (op) {
    case BR_PROMQL_OP_OR: *out = BR_BINOP_OR; return true;
    case BR_PROMQL_OP_AND: *out = BR_BINOP_AND; return true;
    case BR_PROMQL_OP_UNLESS: *out = BR_BINOP_UNLESS; return true;
    case BR_PROMQL_OP_EQLC: *out = BR_BINOP_EQLC; return true;
    case BR_PROMQL_OP_NEQ: *out = BR_BINOP_NEQ; return true;
    case BR_PROMQL_OP_GTR: *out = BR_BINOP_GTR; return true;
    case BR_PROMQL_OP_LSS: *out = BR_BINOP_LSS; return true;
    case BR_PROMQL_OP_GTE: *out = BR_BINOP_GTE; return true;
    case BR_PROMQL_OP_LTE: *out = BR_BINOP_LTE; return true;
    case BR_PROMQL_OP_ADD: *out = BR_BINOP_ADD; return true;
    case BR_PROMQL_OP_SUB: *out = BR_BINOP_SUB; return true;
    case BR_PROMQL_OP_MUL: *out = BR_BINOP_MUL; return true;
    case BR_PROMQL_OP_DIV: *out = BR_BINOP_DIV; return true;
    case BR_PROMQL_OP_MOD: *out = BR_BINOP_MOD; return true;
    case BR_PROMQL_OP_ATAN2: *out = BR_BINOP_ATAN2; return true;
    case BR_PROMQL_OP_POW: *out = BR_BINOP_POW; return true;
    case BR_PROMQL_OP_TRIM_UPPER: *out = BR_BINOP_TRIM_UPPER; return true;
    case BR_PROMQL_OP_TRIM_LOWER: *out = BR_BINOP_TRIM_LOWER; return true;
    default: return false;
    }
}

static int eval_binary(ev *e, const br_promql_node *n, ev_value *out)
{
    br_binop op;
    memset(out, 0, sizeof(*out));
    if (!map_binop(n->u.binary.op, &op)) {
        return br_err_set(e->sh->err, BR_EEXEC, "operator %s is not supported by burnrate",
                          br_promql_binop_str(n->u.binary.op));
    }
    step_arg l;
    step_arg r;
    memset(&l, 0, sizeof(l));
    memset(&r, 0, sizeof(r));
    ev operands = *e;
    if (op == BR_BINOP_TRIM_UPPER || op == BR_BINOP_TRIM_LOWER) {
        operands.skip_buckets = false; /* trimming needs the buckets */
    }
    int rc = eval_node(&operands, n->u.binary.lhs, &l.v);
    if (rc == 0) {
        rc = eval_node(&operands, n->u.binary.rhs, &r.v);
    }
    if (rc == 0) {
        rc = arg_prepare(e, &l);
    }
    if (rc == 0) {
        rc = arg_prepare(e, &r);
    }
    if (rc != 0) {
        return rc;
    }
    br_promql_type lt = l.v.type;
    br_promql_type rt = r.v.type;
    bool ret_bool = n->u.binary.return_bool;
    br_vmatching m;
    memset(&m, 0, sizeof(m));
    if (lt == BR_PROMQL_TYPE_VECTOR && rt == BR_PROMQL_TYPE_VECTOR) {
        m.card = (br_card)n->u.binary.card;
        if (br_binop_is_set(op)) {
            m.card = BR_CARD_MANY_TO_MANY;
        }
        m.on = n->u.binary.on;
        const char **names = NULL;
        size_t nn = 0;
        rc = sorted_names(e, &n->u.binary.matching, &names, &nn);
        if (rc != 0) {
            return rc;
        }
        m.names = names;
        m.n_names = nn;
        m.include = (const char *const *)n->u.binary.include.names;
        m.n_include = n->u.binary.include.n;
        m.fill_lhs = n->u.binary.fill_lhs;
        m.fill_rhs = n->u.binary.fill_rhs;
        m.fill_lhs_value = n->u.binary.fill_lhs_value;
        m.fill_rhs_value = n->u.binary.fill_rhs_value;
    }
    out->type = (lt == BR_PROMQL_TYPE_SCALAR && rt == BR_PROMQL_TYPE_SCALAR)
                    ? BR_PROMQL_TYPE_SCALAR
                    : BR_PROMQL_TYPE_VECTOR;
    collector c;
    rc = collector_init(e, &c, l.v.m.n > r.v.m.n ? l.v.m.n : r.v.m.n);
    if (rc != 0) {
        return rc;
    }
    br_fctx cx = fctx(e);
    for (int64_t ts = e->start; ts <= e->end; ts += e->interval) {
        rc = check_deadline(e);
        if (rc != 0) {
            return rc;
        }
        br_arena_reset(&e->sh->step);
        rc = arg_gather(e, &l, ts, false);
        if (rc == 0) {
            rc = arg_gather(e, &r, ts, false);
        }
        if (rc != 0) {
            return rc;
        }
        br_vvec res;
        memset(&res, 0, sizeof(res));
        e->sh->pos_main = n->start;
        if (out->type == BR_PROMQL_TYPE_SCALAR) {
            br_vsample s;
            memset(&s, 0, sizeof(s));
            s.f = br_binop_scalar(op, l.scalar, r.scalar);
            rc = br_vvec_push(&e->sh->step, &res, &s) == 0 ? 0 : oom(e);
        } else if (lt == BR_PROMQL_TYPE_VECTOR && rt == BR_PROMQL_TYPE_VECTOR) {
            rc = br_binop_vv(&cx, op, &m, ret_bool, &l.vec, &r.vec, &res, e->sh->err);
        } else if (lt == BR_PROMQL_TYPE_VECTOR) {
            rc = br_binop_vs(&cx, op, &l.vec, r.scalar, false, ret_bool, &res, e->sh->err);
        } else {
            rc = br_binop_vs(&cx, op, &r.vec, l.scalar, true, ret_bool, &res, e->sh->err);
        }
        if (rc != 0) {
            return rc;
        }
        rc = collect(e, &c, &res, ts);
        if (rc != 0) {
            return rc;
        }
    }
    br_arena_reset(&e->sh->step);
    out->m = c.m;
    return 0;
}

static int eval_unary(ev *e, const br_promql_node *n, ev_value *out)
{
    int rc = eval_node(e, n->u.unary.expr, out);
    if (rc != 0 || n->u.unary.op != '-') {
        return rc;
    }
    for (size_t i = 0; i < out->m.n; i++) {
        ev_series *s = &out->m.s[i];
        /* Copy: the points may be shared with a selector's data. */
        br_sample *f = br_arena_alloc(&e->sh->pa, sizeof(*f) * (s->nf + 1));
        br_hpoint *h = br_arena_alloc(&e->sh->pa, sizeof(*h) * (s->nh + 1));
        if (f == NULL || h == NULL) {
            return oom(e);
        }
        for (size_t k = 0; k < s->nf; k++) {
            f[k].t = s->f[k].t;
            f[k].v = -s->f[k].v;
        }
        for (size_t k = 0; k < s->nh; k++) {
            br_fhist *c = br_fhist_copy(&e->sh->pa, s->h[k].h);
            if (c == NULL) {
                return oom(e);
            }
            br_fhist_mul(c, -1);
            h[k].t = s->h[k].t;
            h[k].h = c;
        }
        s->f = f;
        s->capf = s->nf;
        s->h = h;
        s->caph = s->nh;
    }
    if (out->type != BR_PROMQL_TYPE_VECTOR) {
        return 0;
    }
    rc = drop_names_now(e, &out->m);
    if (rc != 0) {
        return rc;
    }
    if (!e->sh->delayed) {
        return merge_same_labels(e, &out->m);
    }
    return 0;
}

/* ======================================================================== */
/* Dispatch                                                                 */
/* ======================================================================== */

static int eval_node(ev *e, const br_promql_node *n, ev_value *out)
{
    int rc = check_deadline(e);
    if (rc != 0) {
        return rc;
    }
    memset(out, 0, sizeof(*out));
    if (e->end < e->start) {
        out->type = n->type;
        return 0;
    }
    switch (n->kind) {
    case BR_PROMQL_NUMBER:
        return const_scalar(e, n->u.number.value, out);
    case BR_PROMQL_STRING:
        out->type = BR_PROMQL_TYPE_STRING;
        out->str = n->u.string.value;
        return 0;
    case BR_PROMQL_PAREN:
        return eval_node(e, n->u.paren.expr, out);
    case BR_PROMQL_UNARY:
        return eval_unary(e, n, out);
    case BR_PROMQL_VECTOR_SELECTOR:
        return eval_vector_selector(e, n, false, out);
    case BR_PROMQL_MATRIX_SELECTOR:
        if (e->start != e->end) {
            return br_err_set(e->sh->err, BR_EEXEC,
                              "cannot do range evaluation of matrix selector");
        }
        return eval_matrix_selector(e, n, out);
    case BR_PROMQL_SUBQUERY:
        return eval_subquery(e, n, out);
    case BR_PROMQL_CALL:
        return eval_call(e, n, out);
    case BR_PROMQL_AGGREGATE:
        return eval_aggregate(e, n, out);
    case BR_PROMQL_BINARY:
        return eval_binary(e, n, out);
    }
    return br_err_set(e->sh->err, BR_EEXEC, "unsupported expression");
}

/* ======================================================================== */
/* Results                                                                  */
/* ======================================================================== */

static int cmp_series(const void *a, const void *b)
{
    const ev_series *x = a;
    const ev_series *y = b;
    return br_lset_cmp(x->ls, y->ls);
}

static int copy_labels_out(br_arena *a, br_lset in, br_result_series *rs)
{
    br_lset c;
    if (lset_persist(a, in, &c) != 0) {
        return -1;
    }
    rs->labels = c.v;
    rs->n_labels = c.n;
    return 0;
}

static int matrix_out(ev *e, br_arena *a, const ev_matrix *m, bool sort, br_promql_result *out)
{
    ev_series *ss = br_arena_alloc(&e->sh->pa, sizeof(*ss) * (m->n + 1));
    if (ss == NULL) {
        return oom(e);
    }
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (m->s[i].nf + m->s[i].nh > 0) {
            ss[n++] = m->s[i];
        }
    }
    if (sort && n > 1) {
        qsort(ss, n, sizeof(*ss), cmp_series);
    }
    out->series = br_arena_calloc(a, n + 1, sizeof(*out->series));
    if (out->series == NULL) {
        return oom(e);
    }
    for (size_t i = 0; i < n; i++) {
        const ev_series *s = &ss[i];
        br_result_series *rs = &out->series[i];
        if (copy_labels_out(a, s->ls, rs) != 0) {
            return oom(e);
        }
        size_t np = s->nf + s->nh;
        br_point *p = br_arena_alloc(a, sizeof(*p) * (np + 1));
        if (p == NULL) {
            return oom(e);
        }
        size_t fi = 0;
        size_t hi = 0;
        for (size_t k = 0; k < np; k++) {
            if (hi >= s->nh || (fi < s->nf && s->f[fi].t < s->h[hi].t)) {
                p[k].t = s->f[fi].t;
                p[k].v = s->f[fi].v;
                p[k].h = NULL;
                fi++;
            } else {
                p[k].t = s->h[hi].t;
                p[k].v = 0;
                p[k].h = br_fhist_to_wire(a, s->h[hi].h);
                if (p[k].h == NULL) {
                    return oom(e);
                }
                hi++;
            }
        }
        rs->points = p;
        rs->n_points = np;
    }
    out->n_series = n;
    return 0;
}

static int finish(ev *e, br_arena *a, ev_value *v, bool range_query, br_promql_result *out)
{
    ev_shared *sh = e->sh;
    int rc;
    if (sh->delayed && (v->type == BR_PROMQL_TYPE_VECTOR || v->type == BR_PROMQL_TYPE_MATRIX)) {
        rc = drop_marked_names(e, &v->m);
        if (rc != 0) {
            return rc;
        }
        if (v->type == BR_PROMQL_TYPE_VECTOR && !range_query) {
            br_imap idx;
            if (br_imap_init(&sh->pa, &idx, v->m.n) != 0) {
                return oom(e);
            }
            for (size_t i = 0; i < v->m.n; i++) {
                uint64_t key = br_lset_hash(v->m.s[i].ls);
                uint32_t j;
                if (br_imap_get(&idx, key, &j)) {
                    return dup_error(e);
                }
                if (br_imap_put(&sh->pa, &idx, key, (uint32_t)i) != 0) {
                    return oom(e);
                }
            }
        } else {
            rc = merge_same_labels(e, &v->m);
            if (rc != 0) {
                return rc;
            }
        }
    }
    out->t = e->start;
    if (range_query) {
        out->type = BR_VALUE_MATRIX;
        if (v->type == BR_PROMQL_TYPE_SCALAR) {
            for (size_t i = 0; i < v->m.n; i++) {
                v->m.s[i].ls.n = 0;
            }
        }
        rc = matrix_out(e, a, &v->m, true, out);
    } else {
        switch (v->type) {
        case BR_PROMQL_TYPE_SCALAR:
            out->type = BR_VALUE_SCALAR;
            out->scalar = (v->m.n > 0 && v->m.s[0].nf > 0) ? v->m.s[0].f[0].v : NAN;
            rc = 0;
            break;
        case BR_PROMQL_TYPE_STRING:
            out->type = BR_VALUE_STRING;
            out->string = br_arena_strdup(a, v->str != NULL ? v->str : "");
            rc = out->string != NULL ? 0 : oom(e);
            break;
        case BR_PROMQL_TYPE_MATRIX:
            out->type = BR_VALUE_MATRIX;
            rc = matrix_out(e, a, &v->m, true, out);
            break;
        default:
            out->type = BR_VALUE_VECTOR;
            rc = matrix_out(e, a, &v->m, false, out);
            for (size_t i = 0; rc == 0 && i < out->n_series; i++) {
                ((br_point *)out->series[i].points)[0].t = e->start;
                out->series[i].n_points = 1;
            }
            break;
        }
    }
    if (rc != 0) {
        return rc;
    }
    size_t nw = 0;
    size_t ni = 0;
    for (size_t i = 0; i < sh->n_notes; i++) {
        if (sh->notes[i].warn) {
            nw++;
        } else {
            ni++;
        }
    }
    out->warnings = br_arena_calloc(a, nw + 1, sizeof(char *));
    out->infos = br_arena_calloc(a, ni + 1, sizeof(char *));
    if (out->warnings == NULL || out->infos == NULL) {
        return oom(e);
    }
    for (size_t i = 0; i < sh->n_notes; i++) {
        const char *t = br_arena_strdup(a, sh->notes[i].text);
        if (t == NULL) {
            return oom(e);
        }
        if (sh->notes[i].warn) {
            out->warnings[out->n_warnings++] = t;
        } else {
            out->infos[out->n_infos++] = t;
        }
    }
    return 0;
}

/* Computes one duration expression of the tree; keeps the first error. */
static int check_dur(ev_shared *sh, const br_promql_dur *d, bool offset)
{
    if (d == NULL) {
        return 0;
    }
    int64_t v;
    return br_promql_dur_eval(d, sh->q_step, sh->q_end - sh->q_start, offset, &v, sh->err);
}

static int check_dur_visit(br_promql_node *n, br_promql_node *parent, void *ctx)
{
    (void)parent;
    ev_shared *sh = ctx;
    switch (n->kind) {
    case BR_PROMQL_VECTOR_SELECTOR:
        return check_dur(sh, n->u.vs.offset_expr, true);
    case BR_PROMQL_MATRIX_SELECTOR:
        return check_dur(sh, n->u.matrix.range_expr, false);
    case BR_PROMQL_SUBQUERY: {
        int rc = check_dur(sh, n->u.subquery.offset_expr, true);
        if (rc == 0) {
            rc = check_dur(sh, n->u.subquery.step_expr, false);
        }
        if (rc == 0) {
            rc = check_dur(sh, n->u.subquery.range_expr, false);
        }
        return rc;
    }
    default:
        return 0;
    }
}

/* Computes every duration expression once before evaluating, as
 * Prometheus' engine does, so a bad one fails the query up front and
 * dur_ms() never fails later. */
static int check_durations(ev_shared *sh, const br_promql_node *root)
{
    /* The walk only reads the tree. */
    return br_promql_walk((br_promql_node *)root, check_dur_visit, sh);
}

int br_promql_eval_tree(const br_queryable *q, const br_promql_options *opts,
                        const struct br_promql_node *root, const char *query, int64_t start,
                        int64_t end, int64_t step, br_arena *arena, br_promql_result *out,
                        br_err *err)
{
    memset(out, 0, sizeof(*out));
    br_promql_options defaults;
    memset(&defaults, 0, sizeof(defaults));
    if (opts == NULL) {
        opts = &defaults;
    }
    bool range_query = step > 0;
    start = clamp_time(start);
    end = clamp_time(end);
    step = clamp_time(step);
    if (range_query) {
        if (end < start) {
            return br_err_set(err, BR_EINVAL, "end timestamp must not be before start time");
        }
        if ((end - start) / step + 1 > MAX_STEPS) {
            return br_err_set(err, BR_ELIMIT,
                              "exceeded maximum resolution of 11,000 points per timeseries. Try "
                              "decreasing the query resolution (?step=XX)");
        }
        if (root->type != BR_PROMQL_TYPE_VECTOR && root->type != BR_PROMQL_TYPE_SCALAR) {
            return br_err_set(err, BR_EPARSE,
                              "invalid expression type \"%s\" for range query, must be Scalar or "
                              "instant Vector",
                              br_promql_type_name(root->type));
        }
    }
    ev_shared *sh = br_calloc(1, sizeof(*sh));
    br_arena_init(&sh->pa, 1 << 16, 0);
    br_arena_init(&sh->step, 1 << 16, 0);
    sh->q = q;
    sh->err = err;
    sh->query = query;
    sh->lookback = opts->lookback_ms > 0 ? clamp_time(opts->lookback_ms) : DEFAULT_LOOKBACK_MS;
    sh->sub_step =
        opts->subquery_step_ms > 0 ? clamp_time(opts->subquery_step_ms) : DEFAULT_SUBQ_STEP;
    sh->v2 = opts->compat == BR_PROMQL_COMPAT_V2;
    sh->delayed = !sh->v2 && opts->delayed_name_removal;
    sh->max_samples = opts->max_samples > 0 ? opts->max_samples : DEFAULT_MAX_SAMPLES;
    sh->range_stats_min =
        opts->range_stats_min_ms != 0 ? opts->range_stats_min_ms : DEFAULT_RANGE_STATS_MIN_MS;
    /* Computed points are bounded too (Prometheus counts them with the
     * loaded samples); intermediate results of several nodes may coexist,
     * hence the factor. */
    sh->max_points = sh->max_samples * 4;
    int64_t timeout = opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    sh->deadline_ns = br_mono_ns() + timeout * 1000000;
    sh->q_start = start;
    sh->q_end = range_query ? end : start;
    sh->q_step = range_query ? step : 0;
    ev e;
    e.sh = sh;
    e.start = start;
    e.end = range_query ? end : start;
    e.interval = range_query ? step : 1;
    e.skip_buckets = false;
    ev_value v;
    int rc = check_durations(sh, root);
    if (rc == 0) {
        rc = eval_node(&e, root, &v);
    }
    if (rc == 0) {
        rc = finish(&e, arena, &v, range_query, out);
    }
    if (rc != 0) {
        memset(out, 0, sizeof(*out));
    }
    br_arena_free(&sh->step);
    br_arena_free(&sh->pa);
    br_free(sh);
    return rc;
}

static int eval_text(const br_queryable *q, const br_promql_options *opts, const char *expr,
                     int64_t start, int64_t end, int64_t step, br_arena *arena,
                     br_promql_result *out, br_err *err)
{
    br_arena pa;
    br_arena_init(&pa, 1 << 14, 16 << 20);
    br_promql_node *root = NULL;
    unsigned flags = opts->experimental_syntax ? BR_PROMQL_PARSE_EXPERIMENTAL : 0;
    int rc = br_promql_parse_ex(expr, strlen(expr), flags, &pa, &root, err);
    if (rc == 0) {
        rc = br_promql_eval_tree(q, opts, root, expr, start, end, step, arena, out, err);
        br_promql_ast_free(root);
    }
    br_arena_free(&pa);
    return rc;
}

int br_promql_eval_instant(const br_queryable *q, const br_promql_options *opts,
                           const char *expr, int64_t t, br_arena *arena,
                           br_promql_result *out, br_err *err)
{
    return eval_text(q, opts, expr, t, t, 0, arena, out, err);
}

int br_promql_eval_range(const br_queryable *q, const br_promql_options *opts, const char *expr,
                         int64_t start, int64_t end, int64_t step, br_arena *arena,
                         br_promql_result *out, br_err *err)
{
    if (step <= 0) {
        return br_err_set(err, BR_EINVAL,
                          "zero or negative query resolution step widths are not accepted. Try a "
                          "positive integer");
    }
    return eval_text(q, opts, expr, start, end, step, arena, out, err);
}
