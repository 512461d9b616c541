/*
 * evaluator.c — SLO evaluation ticks, running window sums, time slices,
 * policy states, recorded series and the published snapshot. The contract
 * is in evaluator.h; the math in slo_status.h.
 *
 * Per definition (def_state) and instance (inst):
 *
 *   windows  w_0 < w_1 < ... < w_k = period, deduplicated.
 *   settled  for every window and both event sides, the sum over
 *            (t_s - (w - settle), t_s], where t_s = tick time - settle.
 *            Adding the fresh tail (t_s, t], re-read every tick, gives the
 *            exact window (t - w, t]. Calendar periods settle from the
 *            period start instead.
 *   tick     full recount:  one window_aggs call per source over the
 *                           disjoint intervals between the sorted points
 *                           {t_s' - L_i} u {t_s', t}; prefix sums give
 *                           every window.
 *            incremental:   intervals A = (t_s, t_s'] (entering),
 *                           B_i = (t_s - L_i, t_s' - L_i] (leaving),
 *                           F = (t_s', t] (fresh); settled_i += A - B_i.
 *                           Falls back to a full recount when they would
 *                           overlap (a long stall) or resync is due.
 *   slices   (time-slice budgeting) a ring of per-slice (bad, total) for
 *            the slices of the period, filled as slices complete (end <=
 *            t_s), all of them on a full recount.
 *
 * Instances are keyed by the values of the grouping labels; an instance
 * with no data over its whole period and no live series is dropped.
 * Policy state and alert `for` timers are keyed by instance id and
 * survive reloads (not restarts: after a restart the first tick starts
 * them afresh).
 *
 * Budget adjustments (rules/adjust.h): each tick expands the SLO's
 * excluded intervals over the period (ds->excl). read_sources splits every
 * interval it is asked for at their edges, asks window_aggs for the
 * pieces, and hands its callbacks only the sums of the pieces outside
 * them, so every path (full recount, increments, slices, history) counts
 * count(window) - count(window n excluded). Time slices wholly inside an
 * exclusion are neither good nor bad. Changing the adjustments makes the
 * definition "not the same" across a reload, so it is recounted.
 *
 * Composite SLOs (def->n_components > 0) read nothing: after every other
 * SLO has been evaluated, their windows get bad = sum(w_i * err_i) and
 * total = sum(w_i) over the components with data in the window (so the
 * ratio is the weighted mean of the error ratios), in dependency order.
 *
 * Replay (section "replay"): a new or changed definition first writes
 * its recorded series for the past, evaluated at past step times through
 * a private def_state, a bounded number of steps per tick; its live
 * recorded series are withheld until the replay has caught up, since the
 * store refuses samples older than a series' newest.
 *
 * Only the evaluator thread touches def_state/inst; the snapshot pointer
 * is swapped under snap_mu and readers take a reference.
 */
#include "evaluator.h"

#include "engine/core/alloc.h"
#include "engine/core/civil.h"
#include "engine/core/buf.h"
#include "engine/core/clock.h"
#include "engine/core/hash.h"
#include "engine/core/log.h"
#include "engine/promql/ast.h"
#include "engine/promql/selector.h"
#include "rules/adjust.h"
#include "rules/generate.h"
#include "rules/policy_state.h"
#include "rules/pyrra_series.h"
#include "rules/slo_template.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MINUTE_MS (60LL * 1000)
#define HOUR_MS (60 * MINUTE_MS)
#define DAY_MS (24 * HOUR_MS)
#define MAX_WINDOWS 16
#define MAX_SLICES 200000
#define MAX_ADJ_STATS 16 /* adjustments per SLO with their own counts in the status */

const int64_t br_sloth_windows_ms[7] = {5 * MINUTE_MS, 30 * MINUTE_MS, HOUR_MS,   2 * HOUR_MS,
                                        6 * HOUR_MS,   DAY_MS,         3 * DAY_MS};

/* ------------------------------------------------------------ state */

typedef struct slice_ring {
    size_t n;          /* slots */
    int64_t *end;      /* end time of the slice held in each slot; 0 = empty */
    double *bad;
    double *total;
} slice_ring;

typedef struct inst {
    char *key;          /* grouping values joined with \x1f */
    char *instance_id;
    br_kv *group;       /* owned strings */
    size_t n_group;
    double settled_bad[MAX_WINDOWS];
    double settled_total[MAX_WINDOWS];
    double fresh_bad;
    double fresh_total;
    double win_bad[MAX_WINDOWS];   /* this tick's values */
    double win_total[MAX_WINDOWS];
    int64_t last_t;
    bool seen;          /* had a series in this tick's reads */
    slice_ring slices;
    /* Events removed from the period by each adjustment (first side,
     * total), this tick. */
    double adj_first[MAX_ADJ_STATS];
    double adj_total[MAX_ADJ_STATS];
} inst;

/* A parsed selector's matchers, sized to what was parsed: a br_selector
 * has room for 64 (about 9 KB), and three of them used to make up most
 * of a def_state. */
typedef struct sel_list {
    br_matcher *matchers;
    size_t n;
} sel_list;

typedef struct def_state {
    const br_slo_def *def;
    int64_t windows[MAX_WINDOWS]; /* ascending; the period is the last */
    size_t n_windows;
    bool calendar;
    sel_list sel[3];              /* 0 bad/good, 1 total (COUNTER / BOOL_GAUGE) */
    bool sel_ok[3];
    bool bad_is_good;             /* the first source counts good events */
    bool exact;                   /* counter / bool gauge sources: window_aggs path */
    int64_t settled_at;           /* t_s of the running sums; 0 = recount */
    int64_t period_start;         /* calendar: start of the current period */
    int64_t last_full;
    int64_t slices_until;         /* slices complete up to here (exclusive of later) */
    size_t ring_slots;            /* slice ring size; 0 = the period's slices */
    inst **insts;
    size_t n_insts;
    size_t cap_insts;
    const char *error;            /* last evaluation error (static or in err_buf) */
    char err_buf[256];
    /* The SLO's alert rules as `generate` writes them (names, labels,
     * annotations, `for`), built on first use when alerting is on. */
    br_arena gen_arena;
    br_gen_rules gen;
    int gen_state;                /* 0 not built, 1 built, -1 failed */
    /* Excluded intervals (budget adjustments) over the range being
     * counted, sorted and disjoint; n == 0 = none. */
    br_adjust_list excl;
    bool no_refine;               /* read_sources: ask for intervals as given */
    bool composite_done;          /* this tick's composite values are set */
    /* Replay of the past recorded series (section "replay"); NULL = none
     * pending. While set, the live ticks withhold the SLO's recorded
     * series (ALERTS excepted). */
    struct replay *rp;
} def_state;

static void replay_free(struct replay *rp);
static double replay_progress(const struct replay *rp);
static void replay_rebind(struct replay *rp, const br_slo_def *d);
static struct replay *replay_new(const struct br_evaluator *e, const br_slo_def *d);

/* Policy state and alert timers that outlive a reload. */
typedef struct sticky {
    char *instance_id;
    int state;             /* index into the policy, -1 = no data, -2 = a state
                            * restored from the policy store that the policy
                            * no longer has */
    int prev_state;
    char *state_name;      /* names of state and prev_state (NULL = none), */
    char *prev_name;       /* as the policy store records them */
    bool fresh;            /* created this tick: restore from the store first */
    int64_t state_since;
    size_t n_alerts;
    int64_t alert_since[12]; /* per alert row: condition true since; 0 = false */
    bool seen;
} sticky;

struct br_evaluator {
    br_evaluator_options opts;
    pthread_mutex_t set_mu;  /* guards pending_set */
    br_slo_set *pending_set; /* set handed over by set_slos, taken by the next tick */
    br_slo_set *set;         /* evaluator thread only */
    def_state *defs;
    size_t n_defs;
    sticky *stickies;
    size_t n_stickies;
    size_t cap_stickies;
    bool policy_dirty; /* a live policy state changed since the store was written */
    uint64_t full_recounts_total;
    uint64_t ticks;

    pthread_mutex_t snap_mu;
    br_slo_snapshot *snap;

    pthread_t thread;
    bool running;
    pthread_mutex_t run_mu;
    pthread_cond_t run_cv;
    bool stop;
};

static int64_t eval_now(const br_evaluator *e)
{
    return e->opts.now_ms ? e->opts.now_ms() : br_now_ms();
}

/* A window as Prometheus prints durations ("5m", "1h", "30d", "1w"): the
 * suffix of the recorded series names, the same as `generate` writes. */
static void window_name(int64_t ms, char *out, size_t size)
{
    br_buf b;
    br_buf_init(&b, 0);
    br_promql_print_duration(ms, &b);
    snprintf(out, size, "%s", br_buf_str(&b));
    br_buf_free(&b);
}

/* ------------------------------------------------------------ calendar */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int days_in_month(int64_t y, int m)
{
    static const int len[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : len[m - 1];
}

/* The local date (days since 1970-01-01) on which the calendar period that
 * holds local date `day` begins. Periods are count units long and begin
 * on the anchor and every count units from it: for days and weeks a fixed
 * number of days; for months, quarters and years the anchor's day of the
 * month (clamped to the month's length: an anchor on the 31st begins a
 * period on Feb 28/29). Without an anchor, weeks start on Monday
 * 1969-12-29 and the rest on 1970-01-01, which for a count of 1 gives
 * ISO weeks and the first of each month, quarter and year. */
static int64_t calendar_start_day(const br_period *p, int64_t day)
{
    int64_t count = p->count > 0 ? p->count : 1;
    if (p->unit == BR_CAL_DAY || p->unit == BR_CAL_WEEK) {
        int64_t len = p->unit == BR_CAL_WEEK ? 7 * count : count;
        int64_t anchor = p->anchored ? p->anchor_day : (p->unit == BR_CAL_WEEK ? -3 : 0);
        return anchor + floor_div(day - anchor, len) * len;
    }
    static const int64_t unit_months[] = {[BR_CAL_MONTH] = 1, [BR_CAL_QUARTER] = 3,
                                          [BR_CAL_YEAR] = 12};
    int64_t len = unit_months[p->unit] * count;
    int64_t ay = 1970;
    int am = 1;
    int ad = 1;
    if (p->anchored) {
        br_civil_from_days(p->anchor_day, &ay, &am, &ad);
    }
    int64_t y;
    int m;
    int d;
    br_civil_from_days(day, &y, &m, &d);
    int64_t months = (y * 12 + (m - 1)) - (ay * 12 + (am - 1));
    int64_t k = floor_div(months, len);
    for (int step = 0; step < 2; step++) {
        int64_t idx = ay * 12 + (am - 1) + k * len;
        int64_t sy = floor_div(idx, 12);
        int sm = (int)(idx - sy * 12) + 1;
        int sd = ad <= days_in_month(sy, sm) ? ad : days_in_month(sy, sm);
        int64_t start = br_days_from_civil(sy, sm, sd);
        if (start <= day) {
            return start;
        }
        k--; /* same month as the period start, before its day: the previous one */
    }
    return day; /* not reached: one step back always starts on or before day */
}

/* Start of the calendar period containing t: local midnight of the day
 * calendar_start_day gives for t's local date. In an IANA zone (p->tz)
 * that midnight takes the offset in force then, not t's (Paris' March
 * begins at 23:00Z in winter time even when t is in summer time), and a
 * midnight skipped by DST begins the period at the change; otherwise the
 * fixed offset applies throughout. */
static int64_t calendar_start(const br_period *p, int64_t t)
{
    int32_t off_s = p->tz != NULL ? br_tz_offset_at(p->tz, t) : p->utc_offset_s;
    int64_t off = (int64_t)off_s * 1000;
    int64_t local = t + off;
    int64_t day = floor_div(local, DAY_MS);
    int64_t start_day = calendar_start_day(p, day);
    int64_t y;
    int m;
    int d;
    if (p->tz != NULL) {
        br_civil_from_days(start_day, &y, &m, &d);
        return br_tz_local_midnight_to_utc(p->tz, y, m, d);
    }
    return start_day * DAY_MS - off;
}

/* End of the calendar period that starts at start: the next one's start.
 * count x (the longest unit, DST hour included) lands inside the next
 * period, which is at least count x the shortest unit long. */
static int64_t calendar_end(const br_period *p, int64_t start)
{
    static const int64_t ahead[] = {26 * HOUR_MS, 8 * DAY_MS, 32 * DAY_MS, 93 * DAY_MS,
                                    367 * DAY_MS};
    int64_t count = p->count > 0 ? p->count : 1;
    return calendar_start(p, start + ahead[p->unit] * count);
}

/* Start of the period the budget covers at time t. */
static int64_t period_start_at(const br_slo_def *d, int64_t t)
{
    if (d->period.kind == BR_PERIOD_CALENDAR) {
        return calendar_start(&d->period, t);
    }
    return t - d->period.duration_ms;
}

/* ------------------------------------------------------------ instances */

static void inst_free(inst *in)
{
    br_free(in->key);
    br_free(in->instance_id);
    for (size_t i = 0; i < in->n_group; i++) {
        br_free((char *)in->group[i].key);
        br_free((char *)in->group[i].value);
    }
    br_free(in->group);
    br_free(in->slices.end);
    br_free(in->slices.bad);
    br_free(in->slices.total);
    br_free(in);
}

static const char *label_value(const br_label *ls, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ls[i].name, name) == 0) {
            return ls[i].value;
        }
    }
    return "";
}

/* The instance for a series' labels, created when new. */
static inst *inst_for(def_state *ds, const br_label *ls, size_t n)
{
    const br_slo_def *d = ds->def;
    char key[1024];
    size_t o = 0;
    key[0] = '\0';
    for (size_t g = 0; g < d->n_grouping; g++) {
        const char *v = label_value(ls, n, d->grouping[g]);
        int w = snprintf(key + o, sizeof(key) - o, "%s\x1f", v);
        if (w < 0 || (size_t)w >= sizeof(key) - o) {
            break;
        }
        o += (size_t)w;
    }
    for (size_t i = 0; i < ds->n_insts; i++) {
        if (strcmp(ds->insts[i]->key, key) == 0) {
            return ds->insts[i];
        }
    }
    inst *in = br_calloc(1, sizeof(*in));
    in->key = br_strdup(key);
    in->last_t = INT64_MIN;
    in->n_group = d->n_grouping;
    in->group = br_calloc(d->n_grouping + 1, sizeof(br_kv));
    br_buf id;
    br_buf_init(&id, 0);
    br_buf_puts(&id, d->id);
    if (d->n_grouping > 0) {
        br_buf_puts(&id, "{");
    }
    for (size_t g = 0; g < d->n_grouping; g++) {
        const char *v = label_value(ls, n, d->grouping[g]);
        in->group[g].key = br_strdup(d->grouping[g]);
        in->group[g].value = br_strdup(v);
        br_buf_printf(&id, "%s%s=\"", g ? "," : "", d->grouping[g]);
        for (const char *p = v; *p; p++) {
            if (*p == '"' || *p == '\\') {
                br_buf_append(&id, "\\", 1);
            }
            br_buf_append(&id, p, 1);
        }
        br_buf_puts(&id, "\"");
    }
    if (d->n_grouping > 0) {
        br_buf_puts(&id, "}");
    }
    in->instance_id = br_strdup(br_buf_str(&id));
    br_buf_free(&id);
    if (ds->n_insts == ds->cap_insts) {
        ds->cap_insts = ds->cap_insts ? ds->cap_insts * 2 : 4;
        ds->insts = br_realloc(ds->insts, ds->cap_insts * sizeof(*ds->insts));
    }
    ds->insts[ds->n_insts++] = in;
    return in;
}

/* ------------------------------------------------------------ definitions */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a;
    int64_t y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void add_window(def_state *ds, int64_t w)
{
    if (w <= 0 || w > ds->def->period.duration_ms || ds->n_windows >= MAX_WINDOWS - 1) {
        return;
    }
    for (size_t i = 0; i < ds->n_windows; i++) {
        if (ds->windows[i] == w) {
            return;
        }
    }
    ds->windows[ds->n_windows++] = w;
}

static void def_state_init(def_state *ds, const br_slo_def *d)
{
    memset(ds, 0, sizeof(*ds));
    ds->def = d;
    ds->calendar = d->period.kind == BR_PERIOD_CALENDAR;
    for (size_t i = 0; i < 7; i++) {
        add_window(ds, br_sloth_windows_ms[i]);
    }
    for (size_t i = 0; i < d->alerting.n_tiers; i++) {
        add_window(ds, d->alerting.tiers[i].long_window_ms);
        add_window(ds, d->alerting.tiers[i].short_window_ms);
    }
    add_window(ds, d->alerting.budget_drop_window_ms);
    add_window(ds, d->alerting.no_data_for_ms);
    /* The period itself is always last. */
    for (size_t i = 0; i < ds->n_windows; i++) {
        if (ds->windows[i] == d->period.duration_ms) {
            ds->windows[i] = ds->windows[--ds->n_windows];
            break;
        }
    }
    qsort(ds->windows, ds->n_windows, sizeof(int64_t), cmp_i64);
    ds->windows[ds->n_windows++] = d->period.duration_ms;

    const br_sli *sli = &d->sli;
    const br_event_source *first = sli->bad.kind != BR_SOURCE_NONE ? &sli->bad : &sli->good;
    ds->bad_is_good = sli->kind == BR_SLI_EVENTS && sli->bad.kind == BR_SOURCE_NONE;
    ds->exact = sli->kind == BR_SLI_EVENTS &&
                (first->kind == BR_SOURCE_COUNTER || first->kind == BR_SOURCE_BOOL_GAUGE) &&
                (sli->total.kind == BR_SOURCE_COUNTER || sli->total.kind == BR_SOURCE_BOOL_GAUGE);
    if (ds->exact) {
        br_err err;
        br_err_clear(&err);
        const br_event_source *src[2] = {first, &sli->total};
        for (int i = 0; i < 2; i++) {
            br_selector *parsed = br_malloc(sizeof(*parsed));
            if (br_selector_parse(src[i]->expr, parsed, &err) == 0) {
                /* The matchers move (they own their strings and regexes). */
                ds->sel[i].matchers = br_malloc((parsed->n ? parsed->n : 1) * sizeof(br_matcher));
                memcpy(ds->sel[i].matchers, parsed->matchers, parsed->n * sizeof(br_matcher));
                ds->sel[i].n = parsed->n;
                ds->sel_ok[i] = true;
                br_free(parsed);
            } else {
                br_free(parsed);
                snprintf(ds->err_buf, sizeof(ds->err_buf), "selector %.100s: %.140s",
                         src[i]->expr, err.msg);
                ds->error = ds->err_buf;
            }
        }
    }
}

static void def_state_free(def_state *ds)
{
    for (int i = 0; i < 3; i++) {
        if (ds->sel_ok[i]) {
            for (size_t j = 0; j < ds->sel[i].n; j++) {
                br_matcher_free(&ds->sel[i].matchers[j]);
            }
            br_free(ds->sel[i].matchers);
        }
    }
    for (size_t i = 0; i < ds->n_insts; i++) {
        inst_free(ds->insts[i]);
    }
    br_free(ds->insts);
    if (ds->gen_state != 0) {
        br_arena_free(&ds->gen_arena);
    }
    br_adjust_list_free(&ds->excl);
    replay_free(ds->rp);
    ds->rp = NULL;
}

/* Definitions are "the same" across a reload when the fields that shape
 * the counts are; then running sums are kept. */
static bool same_counting(const br_slo_def *a, const br_slo_def *b)
{
#define SAME_STR(x, y) (((x) == NULL && (y) == NULL) || ((x) && (y) && strcmp((x), (y)) == 0))
    if (!SAME_STR(a->id, b->id) || a->sli.kind != b->sli.kind ||
        a->sli.bad.kind != b->sli.bad.kind || a->sli.good.kind != b->sli.good.kind ||
        a->sli.total.kind != b->sli.total.kind || !SAME_STR(a->sli.bad.expr, b->sli.bad.expr) ||
        !SAME_STR(a->sli.good.expr, b->sli.good.expr) ||
        !SAME_STR(a->sli.total.expr, b->sli.total.expr) ||
        !(a->sli.bad.le == b->sli.bad.le || (isnan(a->sli.bad.le) && isnan(b->sli.bad.le))) ||
        !(a->sli.good.le == b->sli.good.le || (isnan(a->sli.good.le) && isnan(b->sli.good.le))) ||
        !(a->sli.total.le == b->sli.total.le ||
          (isnan(a->sli.total.le) && isnan(b->sli.total.le))) ||
        memcmp(&a->period, &b->period, offsetof(br_period, time_zone)) != 0 ||
        !SAME_STR(a->period.time_zone, b->period.time_zone) ||
        a->budgeting != b->budgeting || a->slice_ms != b->slice_ms ||
        a->n_grouping != b->n_grouping || a->alerting.n_tiers != b->alerting.n_tiers) {
        return false;
    }
    for (size_t i = 0; i < a->n_grouping; i++) {
        if (strcmp(a->grouping[i], b->grouping[i]) != 0) {
            return false;
        }
    }
    for (size_t i = 0; i < a->alerting.n_tiers; i++) {
        if (a->alerting.tiers[i].long_window_ms != b->alerting.tiers[i].long_window_ms ||
            a->alerting.tiers[i].short_window_ms != b->alerting.tiers[i].short_window_ms) {
            return false;
        }
    }
    if (a->n_adjustments != b->n_adjustments || a->n_components != b->n_components) {
        return false;
    }
    for (size_t i = 0; i < a->n_adjustments; i++) {
        const br_adjustment *x = &a->adjustments[i];
        const br_adjustment *y = &b->adjustments[i];
        if (x->start_ms != y->start_ms || x->duration_ms != y->duration_ms ||
            memcmp(&x->rrule, &y->rrule, sizeof(x->rrule)) != 0 ||
            (x->tz == NULL) != (y->tz == NULL) ||
            (x->tz != NULL && strcmp(br_tz_name(x->tz), br_tz_name(y->tz)) != 0)) {
            return false;
        }
    }
    for (size_t i = 0; i < a->n_components; i++) {
        if (strcmp(a->components[i].slo_id, b->components[i].slo_id) != 0 ||
            a->components[i].weight != b->components[i].weight) {
            return false;
        }
    }
    return a->alerting.budget_drop_window_ms == b->alerting.budget_drop_window_ms;
#undef SAME_STR
}

/* Takes the pending set, if any, keeping the state of unchanged SLOs. */
static void adopt_pending_set(br_evaluator *e)
{
    pthread_mutex_lock(&e->set_mu);
    br_slo_set *next = e->pending_set;
    e->pending_set = NULL;
    pthread_mutex_unlock(&e->set_mu);
    if (next == NULL) {
        return;
    }
    size_t n = br_slo_set_len(next);
    def_state *defs = br_calloc(n + 1, sizeof(*defs));
    for (size_t i = 0; i < n; i++) {
        const br_slo_def *d = br_slo_set_get(next, i);
        def_state *old = NULL;
        for (size_t j = 0; j < e->n_defs; j++) {
            if (e->defs[j].def != NULL && same_counting(e->defs[j].def, d)) {
                old = &e->defs[j];
                break;
            }
        }
        if (old != NULL) {
            defs[i] = *old;
            defs[i].def = d;
            old->def = NULL; /* moved */
            old->insts = NULL;
            old->n_insts = 0;
            old->rp = NULL; /* a replay under way goes on with the new definition */
            memset(old->sel_ok, 0, sizeof(old->sel_ok));
            memset(&old->excl, 0, sizeof(old->excl));
            replay_rebind(defs[i].rp, d);
            /* Alert rules point into the old definition: rebuild them. */
            if (defs[i].gen_state != 0) {
                br_arena_free(&defs[i].gen_arena);
                defs[i].gen_state = 0;
            }
            old->gen_state = 0;
        } else {
            def_state_init(&defs[i], d);
            defs[i].rp = replay_new(e, d); /* new or changed: its past is missing */
        }
    }
    for (size_t j = 0; j < e->n_defs; j++) {
        def_state_free(&e->defs[j]);
    }
    br_free(e->defs);
    e->defs = defs;
    e->n_defs = n;
    br_slo_set_unref(e->set);
    e->set = next;
}

/* ------------------------------------------------------------ sticky state */

static sticky *sticky_for(br_evaluator *e, const char *instance_id)
{
    for (size_t i = 0; i < e->n_stickies; i++) {
        if (strcmp(e->stickies[i].instance_id, instance_id) == 0) {
            return &e->stickies[i];
        }
    }
    if (e->n_stickies == e->cap_stickies) {
        e->cap_stickies = e->cap_stickies ? e->cap_stickies * 2 : 16;
        e->stickies = br_realloc(e->stickies, e->cap_stickies * sizeof(*e->stickies));
    }
    sticky *s = &e->stickies[e->n_stickies++];
    memset(s, 0, sizeof(*s));
    s->instance_id = br_strdup(instance_id);
    s->state = -1;
    s->prev_state = -1;
    s->fresh = true;
    return s;
}

static void sticky_free(sticky *s)
{
    br_free(s->instance_id);
    br_free(s->state_name);
    br_free(s->prev_name);
}

/* Forgets stickies not seen in this tick; returns how many. */
static size_t sticky_sweep(br_evaluator *e)
{
    size_t w = 0;
    size_t n = e->n_stickies;
    for (size_t i = 0; i < n; i++) {
        if (e->stickies[i].seen) {
            e->stickies[i].seen = false;
            e->stickies[w++] = e->stickies[i];
        } else {
            sticky_free(&e->stickies[i]);
        }
    }
    e->n_stickies = w;
    return n - w;
}

/* The policy state named name in d's policy: its index, -1 for none (NULL),
 * -2 when the policy has no such state (it changed while we were down). */
static int policy_index(const br_slo_def *d, const char *name)
{
    if (name == NULL) {
        return -1;
    }
    for (size_t i = 0; i < d->policy.n_states; i++) {
        if (strcmp(d->policy.states[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -2;
}

/* A new live sticky takes the state the policy store kept for its
 * instance, so "since" survives a restart. */
static void sticky_restore(br_evaluator *e, const br_slo_def *d, sticky *sk)
{
    br_policy_saved *row = br_policy_store_take(e->opts.policy_store, sk->instance_id);
    if (row == NULL) {
        return;
    }
    sk->state = policy_index(d, row->state);
    sk->prev_state = policy_index(d, row->prev_state);
    sk->state_name = row->state ? br_strdup(row->state) : NULL;
    sk->prev_name = row->prev_state ? br_strdup(row->prev_state) : NULL;
    sk->state_since = row->since_ms;
    br_policy_saved_free(row);
}

/* Writes every live sticky's state to the policy store. */
static void policy_save(br_evaluator *e)
{
    br_policy_saved *rows = br_calloc(e->n_stickies + 1, sizeof(*rows));
    size_t n = 0;
    for (size_t i = 0; i < e->n_stickies; i++) {
        const sticky *sk = &e->stickies[i];
        if (sk->state == -1 && sk->prev_state == -1 && sk->state_since == 0) {
            continue; /* never had a state */
        }
        rows[n].instance_id = sk->instance_id;
        rows[n].state = sk->state_name;
        rows[n].prev_state = sk->prev_name;
        rows[n].since_ms = sk->state_since;
        n++;
    }
    br_err err;
    br_err_clear(&err);
    if (br_policy_store_save(e->opts.policy_store, rows, n, &err) == 0) {
        e->policy_dirty = false;
    } else {
        br_log_warn("saving policy states failed; retrying next tick", "err=\"%s\"", err.msg);
    }
    br_free(rows);
}

/* ------------------------------------------------------------ exact counting */

typedef struct interval_list {
    br_interval iv[2 * MAX_WINDOWS + 4];
    size_t n;
} interval_list;

static bool le_matches(const br_event_source *src, const br_label *ls, size_t n)
{
    if (isnan(src->le)) {
        return true;
    }
    const char *v = label_value(ls, n, "le");
    if (*v == '\0') {
        return false;
    }
    double x;
    if (strcmp(v, "+Inf") == 0 || strcmp(v, "Inf") == 0 || strcmp(v, "+inf") == 0) {
        x = INFINITY;
    } else {
        char *end = NULL;
        x = strtod(v, &end);
        if (end == v || *end != '\0') {
            return false;
        }
    }
    return x == src->le;
}

/* Calls fn for every series of source side (0 first, 1 total) with its
 * per-interval aggregates converted to (bad-or-good events, total events). */
typedef void (*series_fn)(def_state *ds, inst *in, int side, const br_window_agg *aggs,
                          size_t n_iv, int64_t last_t, void *ctx);

/* Splits the sorted, disjoint intervals iv at the edges of the excluded
 * intervals: *out gets the pieces (in arena), owner[k] the index of the
 * interval piece k belongs to, or SIZE_MAX when the piece is excluded. */
static int refine_intervals(const def_state *ds, const br_interval *iv, size_t n_iv,
                            br_arena *arena, br_interval **out, size_t **owner, size_t *n_out,
                            br_err *err)
{
    const br_adjust_list *x = &ds->excl;
    size_t cap = n_iv + 2 * x->n + 1;
    br_interval *p = br_arena_alloc(arena, sizeof(*p) * cap);
    size_t *own = br_arena_alloc(arena, sizeof(*own) * cap);
    if (p == NULL || own == NULL) {
        return br_err_set(err, BR_ELIMIT, "evaluation memory limit reached");
    }
    size_t n = 0;
    size_t j = 0;
    for (size_t k = 0; k < n_iv; k++) {
        int64_t at = iv[k].start;
        int64_t end = iv[k].end;
        while (j > 0 && x->iv[j - 1].end > at) {
            j--; /* intervals may revisit an exclusion that spans them */
        }
        while (j < x->n && x->iv[j].end <= at) {
            j++;
        }
        size_t jj = j;
        while (at < end) {
            if (n + 2 > cap) {
                return br_err_set(err, BR_ELIMIT, "too many adjustment pieces");
            }
            if (jj < x->n && x->iv[jj].start < end && x->iv[jj].end > at) {
                if (x->iv[jj].start > at) {
                    p[n] = (br_interval){at, x->iv[jj].start};
                    own[n++] = k;
                    at = x->iv[jj].start;
                }
                int64_t e2 = x->iv[jj].end < end ? x->iv[jj].end : end;
                p[n] = (br_interval){at, e2};
                own[n++] = SIZE_MAX;
                at = e2;
                jj++;
            } else {
                p[n] = (br_interval){at, end};
                own[n++] = k;
                at = end;
            }
        }
        j = jj;
    }
    *out = p;
    *owner = own;
    *n_out = n;
    return 0;
}

static int read_sources(br_evaluator *e, def_state *ds, const br_interval *iv, size_t n_iv,
                        br_arena *arena, series_fn fn, void *ctx, br_err *err)
{
    const br_sli *sli = &ds->def->sli;
    const br_interval *asked = iv;
    size_t n_asked = n_iv;
    size_t *owner = NULL;
    if (ds->excl.n > 0 && !ds->no_refine && n_iv > 0) {
        br_interval *pieces = NULL;
        int rrc = refine_intervals(ds, iv, n_iv, arena, &pieces, &owner, &n_asked, err);
        if (rrc != 0) {
            return rrc;
        }
        asked = pieces;
    }
    const br_event_source *first = ds->bad_is_good ? &sli->good : &sli->bad;
    const br_event_source *src[2] = {first, &sli->total};
    if (e->opts.backend.window_aggs == NULL) {
        return br_err_set(err, BR_EUNSUPPORTED, "the query backend cannot count raw samples");
    }
    for (int side = 0; side < 2; side++) {
        if (!ds->sel_ok[side]) {
            return br_err_set(err, BR_EINVAL, "%s", ds->error ? ds->error : "bad selector");
        }
        br_series_aggs_set set;
        bool bool_gauge = src[side]->kind == BR_SOURCE_BOOL_GAUGE;
        int rc = e->opts.backend.window_aggs(e->opts.backend.ctx, ds->sel[side].matchers,
                                             ds->sel[side].n, asked, n_asked, bool_gauge, arena,
                                             &set, err);
        if (rc != 0) {
            return rc;
        }
        for (size_t i = 0; i < set.n; i++) {
            br_series_aggs *s = &set.series[i];
            if (!le_matches(src[side], s->labels, s->n_labels)) {
                continue;
            }
            if (owner != NULL) {
                /* Fold the pieces back into the intervals asked for,
                 * leaving the excluded ones out. */
                br_window_agg *folded = br_arena_calloc(arena, n_iv, sizeof(*folded));
                if (folded == NULL) {
                    return br_err_set(err, BR_ELIMIT, "evaluation memory limit reached");
                }
                for (size_t k = 0; k < n_asked; k++) {
                    if (owner[k] == SIZE_MAX) {
                        continue;
                    }
                    folded[owner[k]].increase += s->aggs[k].increase;
                    folded[owner[k]].sum += s->aggs[k].sum;
                    folded[owner[k]].count += s->aggs[k].count;
                }
                s->aggs = folded;
            }
            if (bool_gauge) {
                /* Good samples are the ones equal to 1: for 0/1 gauges
                 * that is the sum; the "increase" slot carries it. */
                for (size_t k = 0; k < n_iv; k++) {
                    s->aggs[k].increase = side == 0 ? s->aggs[k].sum : (double)s->aggs[k].count;
                }
            }
            inst *in = inst_for(ds, s->labels, s->n_labels);
            in->seen = true;
            if (s->last_t > in->last_t) {
                in->last_t = s->last_t;
            }
            fn(ds, in, side, s->aggs, n_iv, s->last_t, ctx);
        }
    }
    return 0;
}

/* Full recount: points and prefix sums. */
typedef struct full_ctx {
    int64_t points[MAX_WINDOWS + 3];
    size_t n_points;
    size_t win_from[MAX_WINDOWS]; /* first interval index of each settled window */
    size_t settled_end;           /* intervals [win_from, settled_end) are settled */
    bool has_fresh;
} full_ctx;

static void full_fn(def_state *ds, inst *in, int side, const br_window_agg *aggs, size_t n_iv,
                    int64_t last_t, void *vctx)
{
    (void)last_t;
    (void)n_iv;
    full_ctx *c = vctx;
    for (size_t w = 0; w < ds->n_windows; w++) {
        double sum = 0;
        for (size_t k = c->win_from[w]; k < c->settled_end; k++) {
            sum += aggs[k].increase;
        }
        if (side == 0) {
            in->settled_bad[w] += sum;
        } else {
            in->settled_total[w] += sum;
        }
    }
    if (c->has_fresh) {
        if (side == 0) {
            in->fresh_bad += aggs[c->settled_end].increase;
        } else {
            in->fresh_total += aggs[c->settled_end].increase;
        }
    }
}

/* Length of the settled part of window w. */
static int64_t settled_len(const def_state *ds, size_t w, int64_t settle)
{
    return ds->windows[w] - settle;
}

/* The hourly (resync_ms) full recount that guards the running sums: each
 * SLO has its own phase in the hour, from a hash of its id, so SLOs loaded
 * together do not all recount in the same tick. Due when a boundary
 * k * resync_ms + phase lies in (last_full, t]. */
static bool resync_due(const br_evaluator *e, const def_state *ds, int64_t t)
{
    int64_t r = e->opts.resync_ms;
    int64_t phase = (int64_t)(br_hash64(ds->def->id, strlen(ds->def->id), 0) % (uint64_t)r);
    return floor_div(t - phase, r) > floor_div(ds->last_full - phase, r);
}

static int full_recount(br_evaluator *e, def_state *ds, int64_t t, int64_t ts, br_arena *arena,
                        br_err *err)
{
    full_ctx c;
    memset(&c, 0, sizeof(c));
    int64_t settle = t - ts;
    int64_t starts[MAX_WINDOWS];
    for (size_t w = 0; w < ds->n_windows; w++) {
        starts[w] = ts - settled_len(ds, w, settle);
        if (ds->calendar && w == ds->n_windows - 1) {
            starts[w] = ds->period_start < ts ? ds->period_start : ts;
        }
        c.points[c.n_points++] = starts[w];
    }
    c.points[c.n_points++] = ts;
    qsort(c.points, c.n_points, sizeof(int64_t), cmp_i64);
    size_t u = 0;
    for (size_t i = 0; i < c.n_points; i++) {
        if (u == 0 || c.points[i] != c.points[u - 1]) {
            c.points[u++] = c.points[i];
        }
    }
    c.n_points = u;
    br_interval iv[MAX_WINDOWS + 3];
    size_t n_iv = 0;
    for (size_t i = 0; i + 1 < c.n_points; i++) {
        iv[n_iv].start = c.points[i];
        iv[n_iv].end = c.points[i + 1];
        n_iv++;
    }
    c.settled_end = n_iv;
    for (size_t w = 0; w < ds->n_windows; w++) {
        size_t k = 0;
        while (k < c.n_points && c.points[k] != starts[w]) {
            k++;
        }
        c.win_from[w] = k;
    }
    if (t > ts) {
        iv[n_iv].start = ts;
        iv[n_iv].end = t;
        n_iv++;
        c.has_fresh = true;
    }
    for (size_t i = 0; i < ds->n_insts; i++) {
        inst *in = ds->insts[i];
        memset(in->settled_bad, 0, sizeof(in->settled_bad));
        memset(in->settled_total, 0, sizeof(in->settled_total));
        in->fresh_bad = in->fresh_total = 0;
        in->seen = false;
    }
    int rc = read_sources(e, ds, iv, n_iv, arena, full_fn, &c, err);
    if (rc == 0) {
        ds->settled_at = ts;
        ds->last_full = t;
    }
    return rc;
}

typedef struct incr_ctx {
    size_t idx_enter;               /* A */
    size_t idx_leave[MAX_WINDOWS];  /* B_w, or SIZE_MAX for none */
    size_t idx_fresh;               /* F, or SIZE_MAX */
} incr_ctx;

static void incr_fn(def_state *ds, inst *in, int side, const br_window_agg *aggs, size_t n_iv,
                    int64_t last_t, void *vctx)
{
    (void)last_t;
    (void)n_iv;
    incr_ctx *c = vctx;
    double *settled = side == 0 ? in->settled_bad : in->settled_total;
    for (size_t w = 0; w < ds->n_windows; w++) {
        double d = c->idx_enter != SIZE_MAX ? aggs[c->idx_enter].increase : 0;
        if (c->idx_leave[w] != SIZE_MAX) {
            d -= aggs[c->idx_leave[w]].increase;
        }
        settled[w] += d;
    }
    if (c->idx_fresh != SIZE_MAX) {
        if (side == 0) {
            in->fresh_bad += aggs[c->idx_fresh].increase;
        } else {
            in->fresh_total += aggs[c->idx_fresh].increase;
        }
    }
}

static int cmp_tagged(const void *a, const void *b)
{
    const br_interval *x = a;
    const br_interval *y = b;
    return (x->start > y->start) - (x->start < y->start);
}

/* Returns 1 when the increments cannot be done (caller recounts). */
static int incremental(br_evaluator *e, def_state *ds, int64_t t, int64_t ts, br_arena *arena,
                       br_err *err)
{
    int64_t old_ts = ds->settled_at;
    int64_t settle = t - ts;
    if (ts < old_ts) {
        return 1;
    }
    /* Tagged intervals: start, end, and the tag in a parallel array. */
    br_interval iv[MAX_WINDOWS + 2];
    int tag[MAX_WINDOWS + 2]; /* -1 enter, -2 fresh, w >= 0 leave of window w */
    size_t n = 0;
    if (ts > old_ts) {
        iv[n] = (br_interval){old_ts, ts};
        tag[n++] = -1;
        for (size_t w = 0; w < ds->n_windows; w++) {
            if (ds->calendar && w == ds->n_windows - 1) {
                continue;
            }
            int64_t len = settled_len(ds, w, settle);
            if (len <= 0) {
                return 1;
            }
            iv[n] = (br_interval){old_ts - len, ts - len};
            tag[n++] = (int)w;
        }
    }
    if (t > ts) {
        iv[n] = (br_interval){ts, t};
        tag[n++] = -2;
    }
    /* Sort by start, carrying tags (insertion sort: n is small). */
    for (size_t i = 1; i < n; i++) {
        br_interval x = iv[i];
        int tx = tag[i];
        size_t j = i;
        while (j > 0 && cmp_tagged(&iv[j - 1], &x) > 0) {
            iv[j] = iv[j - 1];
            tag[j] = tag[j - 1];
            j--;
        }
        iv[j] = x;
        tag[j] = tx;
    }
    for (size_t i = 1; i < n; i++) {
        if (iv[i].start < iv[i - 1].end) {
            return 1; /* overlapping: the windows moved too far since the last tick */
        }
    }
    incr_ctx c;
    c.idx_enter = SIZE_MAX;
    c.idx_fresh = SIZE_MAX;
    for (size_t w = 0; w < MAX_WINDOWS; w++) {
        c.idx_leave[w] = SIZE_MAX;
    }
    for (size_t i = 0; i < n; i++) {
        if (tag[i] == -1) {
            c.idx_enter = i;
        } else if (tag[i] == -2) {
            c.idx_fresh = i;
        } else {
            c.idx_leave[tag[i]] = i;
        }
    }
    for (size_t i = 0; i < ds->n_insts; i++) {
        ds->insts[i]->fresh_bad = ds->insts[i]->fresh_total = 0;
        ds->insts[i]->seen = false;
    }
    int rc = read_sources(e, ds, iv, n, arena, incr_fn, &c, err);
    if (rc == 0) {
        ds->settled_at = ts;
    }
    return rc;
}

/* ------------------------------------------------------------ time slices */

static void ring_init(slice_ring *r, size_t n)
{
    r->n = n;
    r->end = br_calloc(n, sizeof(int64_t));
    r->bad = br_calloc(n, sizeof(double));
    r->total = br_calloc(n, sizeof(double));
}

static size_t ring_slots(const def_state *ds)
{
    if (ds->ring_slots > 0) {
        return ds->ring_slots;
    }
    size_t n = (size_t)(ds->def->period.duration_ms / ds->def->slice_ms) + 2;
    if (ds->calendar) {
        n = n + n / 8 + 2; /* calendar months and quarters run a little longer */
    }
    return n;
}

typedef struct slice_ctx {
    const br_interval *iv;
    size_t n_iv;
} slice_ctx;

static void slice_fn(def_state *ds, inst *in, int side, const br_window_agg *aggs, size_t n_iv,
                     int64_t last_t, void *vctx)
{
    (void)last_t;
    slice_ctx *c = vctx;
    if (in->slices.n == 0) {
        ring_init(&in->slices, ring_slots(ds));
    }
    for (size_t k = 0; k < n_iv; k++) {
        int64_t end = c->iv[k].end;
        size_t slot = (size_t)(floor_div(end, ds->def->slice_ms) % (int64_t)in->slices.n);
        if (in->slices.end[slot] != end) {
            in->slices.end[slot] = end;
            in->slices.bad[slot] = 0;
            in->slices.total[slot] = 0;
        }
        if (side == 0) {
            in->slices.bad[slot] += aggs[k].increase;
        } else {
            in->slices.total[slot] += aggs[k].increase;
        }
    }
}

/* Reads the slices that completed after slices_until (but none ending
 * before floor_start) up to ts, at most MAX_SLICES. */
static int update_slices(br_evaluator *e, def_state *ds, int64_t ts, int64_t floor_start,
                         br_arena *arena, br_err *err)
{
    int64_t slice = ds->def->slice_ms;
    int64_t first_end = floor_div(ds->slices_until, slice) * slice + slice;
    int64_t period_first = floor_div(floor_start, slice) * slice + slice;
    if (ds->slices_until == 0 || first_end < period_first) {
        first_end = period_first;
    }
    int64_t last_end = floor_div(ts, slice) * slice;
    if (last_end < first_end) {
        return 0;
    }
    size_t n = (size_t)((last_end - first_end) / slice) + 1;
    if (n > MAX_SLICES) {
        return br_err_set(err, BR_ELIMIT, "more than %d time slices in the period", MAX_SLICES);
    }
    br_interval *iv = br_arena_alloc(arena, sizeof(*iv) * n);
    if (iv == NULL) {
        return br_err_set(err, BR_ELIMIT, "evaluation memory limit reached");
    }
    for (size_t k = 0; k < n; k++) {
        iv[k].end = first_end + (int64_t)k * slice;
        iv[k].start = iv[k].end - slice;
    }
    /* Slices read again (a recount) start from zero, not from their old sums. */
    for (size_t i = 0; i < ds->n_insts; i++) {
        slice_ring *r = &ds->insts[i]->slices;
        for (size_t k = 0; k < r->n; k++) {
            if (r->end[k] >= first_end) {
                r->bad[k] = 0;
                r->total[k] = 0;
            }
        }
    }
    slice_ctx c = {iv, n};
    int rc = read_sources(e, ds, iv, n, arena, slice_fn, &c, err);
    if (rc == 0) {
        ds->slices_until = last_end;
    }
    return rc;
}

/* Slice verdicts over (from, to]: bad and counted slices; for ratio
 * time slices `bad` is the sum of per-slice error ratios. */
static void slices_over(const def_state *ds, const inst *in, int64_t from, int64_t to,
                        double *bad, double *total)
{
    const br_slo_def *d = ds->def;
    *bad = 0;
    *total = 0;
    if (in->slices.n == 0) {
        return;
    }
    for (size_t i = 0; i < in->slices.n; i++) {
        int64_t end = in->slices.end[i];
        if (end == 0 || end <= from || end > to) {
            continue;
        }
        if (ds->excl.n > 0 &&
            br_adjust_covered(&ds->excl, end - d->slice_ms, end) >= d->slice_ms) {
            continue; /* wholly excluded by an adjustment: neither good nor bad */
        }
        double b = in->slices.bad[i];
        double tot = in->slices.total[i];
        if (ds->bad_is_good) {
            b = tot - b;
        }
        if (!(tot > 0)) {
            if (d->no_data == BR_NO_DATA_GOOD) {
                *total += 1;
            } else if (d->no_data == BR_NO_DATA_BAD) {
                *total += 1;
                *bad += 1;
            }
            continue;
        }
        double ratio = b / tot;
        *total += 1;
        if (d->budgeting == BR_BUDGET_RATIO_TIMESLICES) {
            *bad += ratio;
        } else if (1.0 - ratio < d->slice_target) {
            *bad += 1;
        }
    }
}

/* ------------------------------------------------------------ PromQL sources */

/* Evaluates tmpl over window w at t; adds the values per instance. */
static int eval_query_side(br_evaluator *e, def_state *ds, const char *tmpl, int64_t w, int64_t t,
                           int side, size_t widx, br_arena *arena, br_err *err)
{
    const char *q = br_slo_template_render(arena, tmpl, w);
    if (q == NULL) {
        return br_err_set(err, BR_ELIMIT, "evaluation memory limit reached");
    }
    br_promql_result res;
    int rc = br_promql_eval_instant(&e->opts.backend, &e->opts.promql, q, t, arena, &res, err);
    if (rc != 0) {
        br_err_prefix(err, "SLO %s: query %s: ", ds->def->id, q);
        return rc;
    }
    double scale = ds->def->sli.kind == BR_SLI_RAW ? 1.0 : (double)w / 1000.0;
    if (res.type == BR_VALUE_SCALAR) {
        inst *in = inst_for(ds, NULL, 0);
        in->seen = true;
        if (side == 0) {
            in->win_bad[widx] += res.scalar * scale;
        } else {
            in->win_total[widx] += res.scalar * scale;
        }
        return 0;
    }
    for (size_t i = 0; i < res.n_series; i++) {
        const br_result_series *s = &res.series[i];
        if (s->n_points == 0 || isnan(s->points[0].v)) {
            continue;
        }
        inst *in = inst_for(ds, s->labels, s->n_labels);
        in->seen = true;
        if (t > in->last_t) {
            in->last_t = t;
        }
        if (side == 0) {
            in->win_bad[widx] += s->points[0].v * scale;
        } else {
            in->win_total[widx] += s->points[0].v * scale;
        }
    }
    return 0;
}

static int eval_queries(br_evaluator *e, def_state *ds, int64_t t, br_arena *arena, br_err *err)
{
    const br_slo_def *d = ds->def;
    for (size_t i = 0; i < ds->n_insts; i++) {
        memset(ds->insts[i]->win_bad, 0, sizeof(ds->insts[i]->win_bad));
        memset(ds->insts[i]->win_total, 0, sizeof(ds->insts[i]->win_total));
        ds->insts[i]->seen = false;
    }
    for (size_t w = 0; w < ds->n_windows; w++) {
        int64_t len = ds->windows[w];
        if (ds->calendar && w == ds->n_windows - 1) {
            len = t - ds->period_start;
            if (len < 1000) {
                len = 1000;
            }
        }
        int rc;
        if (d->sli.kind == BR_SLI_RAW) {
            rc = eval_query_side(e, ds, d->sli.query, len, t, 0, w, arena, err);
            for (size_t i = 0; rc == 0 && i < ds->n_insts; i++) {
                ds->insts[i]->win_total[w] = ds->insts[i]->seen ? 1.0 : 0.0;
            }
        } else {
            const br_event_source *first = ds->bad_is_good ? &d->sli.good : &d->sli.bad;
            rc = eval_query_side(e, ds, first->expr, len, t, 0, w, arena, err);
            if (rc == 0) {
                rc = eval_query_side(e, ds, d->sli.total.expr, len, t, 1, w, arena, err);
            }
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* THRESHOLD and template sources under time slices: one range evaluation
 * per side with step = slice, window = slice. */
static int eval_query_slices(br_evaluator *e, def_state *ds, int64_t ts, int64_t floor_start,
                             br_arena *arena, br_err *err)
{
    const br_slo_def *d = ds->def;
    int64_t slice = d->slice_ms;
    int64_t first_end = floor_div(ds->slices_until, slice) * slice + slice;
    int64_t period_first = floor_div(floor_start, slice) * slice + slice;
    if (ds->slices_until == 0 || first_end < period_first) {
        first_end = period_first;
    }
    int64_t last_end = floor_div(ts, slice) * slice;
    if (last_end < first_end) {
        return 0;
    }
    if ((last_end - first_end) / slice + 1 > MAX_SLICES) {
        return br_err_set(err, BR_ELIMIT, "more than %d time slices in the period", MAX_SLICES);
    }
    for (int side = 0; side < 2; side++) {
        const char *tmpl;
        if (d->sli.kind == BR_SLI_THRESHOLD || d->sli.kind == BR_SLI_RAW) {
            if (side == 1) {
                break;
            }
            tmpl = d->sli.query;
        } else {
            tmpl = side == 0 ? (ds->bad_is_good ? d->sli.good.expr : d->sli.bad.expr)
                             : d->sli.total.expr;
        }
        const char *q = br_slo_template_render(arena, tmpl, slice);
        br_promql_result res;
        int rc = br_promql_eval_range(&e->opts.backend, &e->opts.promql, q, first_end, last_end,
                                      slice, arena, &res, err);
        if (rc != 0) {
            br_err_prefix(err, "SLO %s: query %s: ", d->id, q);
            return rc;
        }
        for (size_t i = 0; i < res.n_series; i++) {
            const br_result_series *s = &res.series[i];
            inst *in = inst_for(ds, s->labels, s->n_labels);
            in->seen = true;
            if (in->slices.n == 0) {
                ring_init(&in->slices, ring_slots(ds));
            }
            for (size_t p = 0; p < s->n_points; p++) {
                int64_t end = s->points[p].t;
                double v = s->points[p].v;
                if (isnan(v)) {
                    continue;
                }
                size_t slot = (size_t)(floor_div(end, slice) % (int64_t)in->slices.n);
                if (in->slices.end[slot] != end) {
                    in->slices.end[slot] = end;
                    in->slices.bad[slot] = 0;
                    in->slices.total[slot] = 0;
                }
                if (end > in->last_t) {
                    in->last_t = end;
                }
                if (d->sli.kind == BR_SLI_THRESHOLD) {
                    bool good;
                    switch (d->sli.op) {
                    case BR_OP_LT:
                        good = v < d->sli.threshold;
                        break;
                    case BR_OP_LE:
                        good = v <= d->sli.threshold;
                        break;
                    case BR_OP_GT:
                        good = v > d->sli.threshold;
                        break;
                    default:
                        good = v >= d->sli.threshold;
                        break;
                    }
                    /* One "event" per slice: bad when the value misses. */
                    in->slices.bad[slot] = good ? 0 : 1;
                    in->slices.total[slot] = 1;
                } else if (d->sli.kind == BR_SLI_RAW) {
                    in->slices.bad[slot] = v;
                    in->slices.total[slot] = 1;
                } else if (side == 0) {
                    in->slices.bad[slot] = v;
                } else {
                    in->slices.total[slot] = v;
                }
            }
        }
    }
    ds->slices_until = last_end;
    return 0;
}

/* ------------------------------------------------------------ per-instance results */

static double ratio_or_nan(double bad, double total)
{
    if (!(total > 0)) {
        return NAN;
    }
    double r = bad / total;
    if (r < 0) {
        r = 0;
    }
    return r;
}

typedef struct tick_ctx {
    br_evaluator *e;
    br_slo_snapshot *snap;
    int64_t t;
    bool replay;         /* a replay step: no logs, alerts or ALERTS; never withheld */
    uint64_t full_recounts; /* exact SLOs recounted from scratch in this tick */
    br_buf series_names; /* scratch */
    /* Recorded series of this tick, built in the snapshot arena's sibling. */
    br_series_input *rec;
    size_t n_rec;
    size_t cap_rec;
    br_arena rec_arena;
    /* Alert inputs for the alerting module, and where their results go. */
    br_alert_input *ain;
    struct alert_target *atgt;
    size_t n_ain;
    size_t cap_ain;
} tick_ctx;

/* Which snapshot rows one alert input stands for, and the labels of its
 * ALERTS series. */
typedef struct alert_target {
    br_alert_status *rows;
    size_t n_rows;
    const char *kind;
    const char *severity;
    br_label *labels; /* alert labels, alertname included, for ALERTS */
    size_t n_labels;
} alert_target;

static void rec_add(tick_ctx *tc, const char *name, const br_label *base, size_t n_base,
                    const char *extra_name, const char *extra_value, double v)
{
    if (isnan(v) && !br_is_stale_nan(v)) {
        return; /* no data: the series is absent, not NaN */
    }
    if (tc->n_rec == tc->cap_rec) {
        tc->cap_rec = tc->cap_rec ? tc->cap_rec * 2 : 256;
        tc->rec = br_realloc(tc->rec, tc->cap_rec * sizeof(*tc->rec));
    }
    size_t n = n_base + 1 + (extra_name ? 1 : 0);
    br_label *ls = br_arena_alloc(&tc->rec_arena, sizeof(*ls) * n);
    size_t k = 0;
    ls[k].name = "__name__";
    ls[k].value = br_arena_strdup(&tc->rec_arena, name);
    k++;
    for (size_t i = 0; i < n_base; i++) {
        ls[k++] = base[i];
    }
    if (extra_name) {
        ls[k].name = extra_name;
        ls[k].value = br_arena_strdup(&tc->rec_arena, extra_value);
        k++;
    }
    /* Sort by name (insertion; small). */
    for (size_t i = 1; i < k; i++) {
        br_label x = ls[i];
        size_t j = i;
        while (j > 0 && strcmp(ls[j - 1].name, x.name) > 0) {
            ls[j] = ls[j - 1];
            j--;
        }
        ls[j] = x;
    }
    /* Drop duplicate names (the later, lower-priority one loses). */
    size_t u = 0;
    for (size_t i = 0; i < k; i++) {
        if (u > 0 && strcmp(ls[u - 1].name, ls[i].name) == 0) {
            continue;
        }
        ls[u++] = ls[i];
    }
    br_sample *s = br_arena_alloc(&tc->rec_arena, sizeof(*s));
    s->t = tc->t;
    s->v = v;
    br_series_input *in = &tc->rec[tc->n_rec++];
    memset(in, 0, sizeof(*in));
    in->labels = ls;
    in->n_labels = u;
    in->samples = s;
    in->n_samples = 1;
}

/* Pyrra's generic series (rules/pyrra_series.h) into this tick's batch. */
static void pyrra_emit(void *ctx, const char *name, const br_label *ls, size_t n, double v)
{
    tick_ctx *tc = ctx;
    br_label *copy = br_arena_alloc(&tc->rec_arena, sizeof(*copy) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        copy[i] = (br_label){br_arena_strdup(&tc->rec_arena, ls[i].name),
                             br_arena_strdup(&tc->rec_arena, ls[i].value)};
    }
    rec_add(tc, name, copy, n, NULL, NULL, v);
}

static size_t window_index(const def_state *ds, int64_t w)
{
    for (size_t i = 0; i < ds->n_windows; i++) {
        if (ds->windows[i] == w) {
            return i;
        }
    }
    return SIZE_MAX;
}

/* The alert name for an alert kind, shared with `generate` so that
 * notifications, /api/v1/alerts and generated rules agree; in arena. */
static const char *alert_name(br_arena *a, const br_slo_def *d, const char *kind)
{
    char buf[256];
    return br_arena_strdup(a, br_generate_alert_name(d, kind, buf, sizeof(buf)));
}

/* Fills one alert row that is not a burn-rate tier: one window, one value
 * against one threshold, no factor and no short window. */
static void set_alert_row(br_alert_status *as, br_arena *a, const br_slo_def *d, const char *kind,
                          const char *tier, const char *severity, int64_t window_ms, double value,
                          double threshold, bool condition)
{
    as->alertname = alert_name(a, d, kind);
    as->kind = kind;
    as->factor = NAN;
    as->tier = tier;
    as->severity = severity;
    as->long_window_ms = window_ms;
    as->long_value = value;
    as->short_value = NAN;
    as->threshold = threshold;
    as->condition = condition;
}

/* Expands the small part of Prometheus' template language that SLO
 * annotations use: {{ $labels.name }}, {{ $value }} (any pipe after it is
 * ignored and the value printed plainly). Anything else is kept as is. */
static const char *expand_annotation(br_arena *a, const char *text, const br_kv *labels,
                                     size_t n_labels, double value)
{
    if (strstr(text, "{{") == NULL) {
        return text;
    }
    br_buf out;
    br_buf_init(&out, 0);
    const char *p = text;
    while (*p) {
        const char *open = strstr(p, "{{");
        if (open == NULL) {
            br_buf_puts(&out, p);
            break;
        }
        const char *close = strstr(open, "}}");
        if (close == NULL) {
            br_buf_puts(&out, p);
            break;
        }
        br_buf_append(&out, p, (size_t)(open - p));
        const char *q = open + 2;
        while (*q == ' ') {
            q++;
        }
        bool done = false;
        if (strncmp(q, "$labels.", 8) == 0) {
            q += 8;
            size_t len = 0;
            while (q + len < close && (isalnum((unsigned char)q[len]) || q[len] == '_')) {
                len++;
            }
            for (size_t i = 0; i < n_labels; i++) {
                if (strlen(labels[i].key) == len && strncmp(labels[i].key, q, len) == 0) {
                    br_buf_puts(&out, labels[i].value);
                }
            }
            done = true;
        } else if (strncmp(q, "$value", 6) == 0) {
            br_buf_printf(&out, "%.6g", value);
            done = true;
        }
        if (!done) {
            br_buf_append(&out, open, (size_t)(close + 2 - open));
        }
        p = close + 2;
    }
    const char *r = br_arena_strdup(a, br_buf_str(&out));
    br_buf_free(&out);
    return r;
}

static int cmp_kv(const void *x, const void *y)
{
    return strcmp(((const br_kv *)x)->key, ((const br_kv *)y)->key);
}

/* Adds key=value unless the key is there already (earlier wins). */
static void kv_add(br_kv *kv, size_t *n, const char *key, const char *value)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(kv[i].key, key) == 0) {
            return;
        }
    }
    kv[*n].key = key;
    kv[*n].value = value;
    (*n)++;
}

/* One alert input per alert rule of the SLO (per severity for burn
 * rates), its condition the OR of the matching rows of this instance. */
static void collect_alert_inputs(tick_ctx *tc, def_state *ds, inst *in, br_slo_status *st)
{
    br_evaluator *e = tc->e;
    const br_slo_def *d = ds->def;
    br_arena *a = &tc->rec_arena;
    if (ds->gen_state == 0) {
        br_arena_init(&ds->gen_arena, 16 * 1024, 0);
        br_err gerr;
        br_err_clear(&gerr);
        ds->gen_state = br_generate_build_slo(d, &ds->gen_arena, &ds->gen, &gerr) == 0 ? 1 : -1;
        if (ds->gen_state < 0) {
            br_log_warn("cannot build the SLO's alert rules; no notifications for it",
                        "slo=%s err=%s", d->id, gerr.msg);
        }
    }
    if (ds->gen_state < 0) {
        return;
    }
    for (size_t g = 0; g < ds->gen.n_groups; g++) {
        const br_gen_group *grp = &ds->gen.groups[g];
        for (size_t r = 0; r < grp->n_rules; r++) {
            const br_gen_rule *rule = &grp->rules[r];
            if (rule->kind != BR_GEN_ALERT || rule->alert_kind == NULL) {
                continue;
            }
            bool cond = false;
            double value = NAN;
            size_t first = SIZE_MAX;
            size_t count = 0;
            for (size_t i = 0; i < st->n_alerts; i++) {
                br_alert_status *row = &st->alerts[i];
                if (strcmp(row->kind, rule->alert_kind) != 0 ||
                    strcmp(row->severity, rule->severity) != 0) {
                    continue;
                }
                if (first == SIZE_MAX) {
                    first = i;
                }
                count = i - first + 1;
                if (row->condition) {
                    double v = strcmp(row->kind, "burn_rate") == 0 ? row->short_value
                                                                  : row->long_value;
                    if (!cond || v > value) {
                        value = v;
                    }
                    cond = true;
                }
            }
            if (first == SIZE_MAX) {
                continue;
            }
            size_t cap = rule->n_labels + d->n_labels + in->n_group + 4;
            br_kv *labels = br_arena_alloc(a, sizeof(br_kv) * cap);
            size_t nl = 0;
            for (size_t i = 0; i < rule->n_labels; i++) {
                kv_add(labels, &nl, rule->labels[i].key, rule->labels[i].value);
            }
            kv_add(labels, &nl, "sloth_id", d->id);
            kv_add(labels, &nl, "sloth_service", d->service);
            kv_add(labels, &nl, "sloth_slo", d->name);
            for (size_t i = 0; i < in->n_group; i++) {
                kv_add(labels, &nl, br_arena_strdup(a, in->group[i].key),
                       br_arena_strdup(a, in->group[i].value));
            }
            for (size_t i = 0; i < d->n_labels; i++) {
                kv_add(labels, &nl, d->labels[i].key, d->labels[i].value);
            }
            qsort(labels, nl, sizeof(br_kv), cmp_kv);
            br_kv *ann = br_arena_alloc(a, sizeof(br_kv) * (rule->n_annotations + 1));
            for (size_t i = 0; i < rule->n_annotations; i++) {
                ann[i].key = rule->annotations[i].key;
                ann[i].value = expand_annotation(a, rule->annotations[i].value, labels, nl,
                                                 isnan(value) ? 0 : value);
            }
            if (tc->n_ain == tc->cap_ain) {
                tc->cap_ain = tc->cap_ain ? tc->cap_ain * 2 : 64;
                tc->ain = br_realloc(tc->ain, tc->cap_ain * sizeof(*tc->ain));
                tc->atgt = br_realloc(tc->atgt, tc->cap_ain * sizeof(*tc->atgt));
            }
            br_alert_input *ai = &tc->ain[tc->n_ain];
            memset(ai, 0, sizeof(*ai));
            ai->alertname = rule->name;
            ai->labels = labels;
            ai->n_labels = nl;
            ai->annotations = ann;
            ai->n_annotations = rule->n_annotations;
            ai->condition = cond;
            /* A failed read says nothing about the condition: hold the
             * alert's state rather than resolve it (alert.h). */
            ai->hold = ds->error != NULL;
            ai->value = isnan(value) ? 0 : value;
            ai->for_ms = rule->for_ms;
            ai->keep_firing_for_ms = rule->keep_firing_for_ms;
            if (e->opts.external_url != NULL) {
                br_buf url;
                br_buf_init(&url, 0);
                br_buf_printf(&url, "%s/slo/", e->opts.external_url);
                for (const char *p = st->instance_id; *p; p++) {
                    unsigned char c = (unsigned char)*p;
                    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
                        br_buf_putc(&url, (char)c);
                    } else {
                        br_buf_printf(&url, "%%%02X", c);
                    }
                }
                ai->generator_url = br_arena_strdup(a, br_buf_str(&url));
                br_buf_free(&url);
            }
            alert_target *tg = &tc->atgt[tc->n_ain];
            tg->rows = &st->alerts[first];
            tg->n_rows = count;
            tg->kind = rule->alert_kind;
            tg->severity = rule->severity;
            tg->labels = br_arena_alloc(a, sizeof(br_label) * (nl + 1));
            tg->labels[0] = (br_label){"alertname", rule->name};
            for (size_t i = 0; i < nl; i++) {
                tg->labels[i + 1] = (br_label){labels[i].key, labels[i].value};
            }
            tg->n_labels = nl + 1;
            tc->n_ain++;
        }
    }
}

/* Hands the tick's alert inputs to the alerting module, copies the states
 * back into the snapshot rows and records ALERTS / ALERTS_FOR_STATE. */
static void apply_alerting(tick_ctx *tc)
{
    br_evaluator *e = tc->e;
    if (tc->n_ain == 0 && e->opts.alerting == NULL) {
        return;
    }
    br_alert_result *res = br_calloc(tc->n_ain + 1, sizeof(*res));
    br_err err;
    br_err_clear(&err);
    if (br_alerting_update(e->opts.alerting, tc->t, tc->ain, tc->n_ain, res, &err) != 0) {
        br_log_warn("alert state could not be persisted", "err=%s", err.msg);
    }
    for (size_t i = 0; i < tc->n_ain; i++) {
        alert_target *tg = &tc->atgt[i];
        bool marked = false;
        for (size_t r = 0; r < tg->n_rows; r++) {
            br_alert_status *row = &tg->rows[r];
            if (strcmp(row->kind, tg->kind) != 0 || strcmp(row->severity, tg->severity) != 0) {
                continue;
            }
            if (row->condition || (!marked && res[i].state == BR_ALERT_FIRING &&
                                   !tc->ain[i].condition)) {
                /* keep_firing_for: the first row carries the firing state. */
                row->state = res[i].state;
                row->active_since_ms = res[i].active_since_ms;
                marked = true;
            } else {
                row->state = BR_ALERT_INACTIVE;
                row->active_since_ms = 0;
            }
        }
        if (e->opts.append == NULL || res[i].state == BR_ALERT_INACTIVE) {
            continue;
        }
        rec_add(tc, "ALERTS", tg->labels, tg->n_labels, "alertstate",
                res[i].state == BR_ALERT_FIRING ? "firing" : "pending", 1.0);
        rec_add(tc, "ALERTS_FOR_STATE", tg->labels, tg->n_labels, NULL, NULL,
                (double)res[i].active_since_ms / 1000.0);
    }
    br_free(res);
}

static void adjust_status(const def_state *ds, const inst *in, br_slo_status *st, br_arena *a,
                          int64_t t);

/* The SLO's own recorded series of one instance at tc->t (Sloth's, then
 * burnrate's and Pyrra's), labelled with base[0..k). */
static void record_slo_series(tick_ctx *tc, const def_state *ds, const br_slo_status *st,
                              const br_label *base, size_t k, int state)
{
    const br_slo_def *d = ds->def;
    double budget = 1.0 - d->objective;
    char name[96];
    char wn[32];
    for (size_t w = 0; w < ds->n_windows; w++) {
        int64_t wms = ds->windows[w];
        window_name(wms, wn, sizeof(wn));
        snprintf(name, sizeof(name), "slo:sli_error:ratio_rate%s", wn);
        double v = st->windows[w].error_ratio;
        if (w == ds->n_windows - 1 && d->budgeting != BR_BUDGET_OCCURRENCES) {
            v = st->period.error_ratio;
        }
        rec_add(tc, name, base, k, "sloth_window", wn, v);
    }
    window_name(d->period.duration_ms, wn, sizeof(wn));
    rec_add(tc, "slo:objective:ratio", base, k, NULL, NULL, d->objective);
    rec_add(tc, "slo:error_budget:ratio", base, k, NULL, NULL, budget);
    rec_add(tc, "slo:time_period:days", base, k, NULL, NULL,
            (double)d->period.duration_ms / (double)DAY_MS);
    size_t w5 = window_index(ds, 5 * MINUTE_MS);
    rec_add(tc, "slo:current_burn_rate:ratio", base, k, NULL, NULL,
            w5 != SIZE_MAX ? st->windows[w5].burn_rate : NAN);
    rec_add(tc, "slo:period_burn_rate:ratio", base, k, NULL, NULL, st->period.burn_rate);
    rec_add(tc, "slo:period_error_budget_remaining:ratio", base, k, NULL, NULL,
            st->budget_remaining);
    rec_add(tc, "sloth_slo_info", base, k, "sloth_objective",
            br_arena_printf(&tc->rec_arena, "%g", d->objective * 100.0), 1.0);
    rec_add(tc, "burnrate_slo_budget_remaining_seconds", base, k, NULL, NULL,
            st->budget_remaining_ms / 1000.0);
    rec_add(tc, "burnrate_slo_budget_consumed_last_hour:ratio", base, k, NULL, NULL,
            st->consumed_last_hour);
    rec_add(tc, "burnrate_slo_budget_exhaustion_seconds", base, k, NULL, NULL,
            isinf(st->exhaustion_eta_s) ? NAN : st->exhaustion_eta_s);
    if (d->n_adjustments > 0) {
        rec_add(tc, "burnrate_slo_adjusted_events", base, k, "kind", "total",
                st->excluded_events);
        rec_add(tc, "burnrate_slo_adjusted_events", base, k, "kind", "bad",
                st->excluded_errors);
        rec_add(tc, "burnrate_slo_adjusted_seconds", base, k, NULL, NULL,
                (double)st->excluded_ms / 1000.0);
    }
    for (size_t i = 0; i < d->policy.n_states; i++) {
        rec_add(tc, "burnrate_slo_policy_state", base, k, "state", d->policy.states[i].name,
                state == (int)i ? 1.0 : 0.0);
    }
    (void)br_pyrra_series(st, pyrra_emit, tc);
}

/* Fills st from in's window values; records series; updates stickies. */
static void finish_instance(tick_ctx *tc, def_state *ds, inst *in, br_slo_status *st)
{
    br_evaluator *e = tc->e;
    const br_slo_def *d = ds->def;
    br_arena *a = &tc->snap->arena;
    int64_t t = tc->t;
    double budget = 1.0 - d->objective;
    st->def = d;
    st->instance_id = br_arena_strdup(a, in->instance_id);
    st->n_group_labels = in->n_group;
    st->group_labels = br_arena_calloc(a, in->n_group + 1, sizeof(br_kv));
    for (size_t g = 0; g < in->n_group; g++) {
        st->group_labels[g].key = br_arena_strdup(a, in->group[g].key);
        st->group_labels[g].value = br_arena_strdup(a, in->group[g].value);
    }
    st->period_start_ms = period_start_at(d, t);
    st->period_end_ms = ds->calendar ? calendar_end(&d->period, st->period_start_ms) : t;
    st->last_sample_ms = in->last_t == INT64_MIN ? 0 : in->last_t;
    st->error = ds->error ? br_arena_strdup(a, ds->error) : NULL;
    st->replay_progress = tc->replay ? 1.0 : replay_progress(ds->rp);
    adjust_status(ds, in, st, a, t);

    /* Windows. */
    st->n_windows = ds->n_windows;
    st->windows = br_arena_calloc(a, ds->n_windows + 1, sizeof(br_window_status));
    for (size_t w = 0; w < ds->n_windows; w++) {
        br_window_status *ws = &st->windows[w];
        ws->window_ms = ds->windows[w];
        double bad = in->win_bad[w];
        double total = in->win_total[w];
        if (ds->bad_is_good && d->sli.kind == BR_SLI_EVENTS) {
            bad = total - bad;
            if (bad < 0) {
                bad = 0;
            }
        }
        ws->bad = bad;
        ws->total = total;
        ws->error_ratio = ratio_or_nan(bad, total);
        ws->burn_rate = ws->error_ratio / budget;
    }
    if (ds->calendar) {
        st->windows[ds->n_windows - 1].window_ms = t - st->period_start_ms;
    }
    /* The period under the SLO's budgeting method. */
    if (d->budgeting == BR_BUDGET_OCCURRENCES) {
        st->period = st->windows[ds->n_windows - 1];
    } else {
        double bad;
        double total;
        slices_over(ds, in, st->period_start_ms, t, &bad, &total);
        st->period.window_ms = t - st->period_start_ms;
        st->period.bad = bad;
        st->period.total = total;
        st->period.error_ratio = ratio_or_nan(bad, total);
        st->period.burn_rate = st->period.error_ratio / budget;
    }
    st->no_data = isnan(st->period.error_ratio);
    st->sli = 1.0 - st->period.error_ratio;
    /* A calendar period's budget is its own length's (28 to 31 days for a
     * month), the rest the nominal period's. */
    st->budget_total_ms = budget * (double)(st->period_end_ms - st->period_start_ms);
    if (!ds->calendar) {
        st->budget_total_ms = budget * (double)d->period.duration_ms;
    }
    st->budget_consumed = st->period.error_ratio / budget;
    st->budget_remaining = 1.0 - st->budget_consumed;
    st->budget_remaining_ms = st->budget_remaining * st->budget_total_ms;
    size_t h1 = window_index(ds, HOUR_MS);
    double burn_1h = h1 != SIZE_MAX ? st->windows[h1].burn_rate : NAN;
    /* Share of the period's budget consumed in the last hour: errors in
     * the hour over the errors the period allows. */
    if (h1 != SIZE_MAX && st->period.total > 0 && d->budgeting == BR_BUDGET_OCCURRENCES &&
        d->sli.kind == BR_SLI_EVENTS) {
        st->consumed_last_hour = st->windows[h1].bad / (budget * st->period.total);
    } else {
        st->consumed_last_hour = isnan(burn_1h) ? NAN
                                                : burn_1h * (double)HOUR_MS /
                                                      (double)d->period.duration_ms;
    }
    if (isnan(st->budget_remaining)) {
        st->exhaustion_eta_s = NAN;
    } else if (st->budget_remaining <= 0) {
        st->exhaustion_eta_s = 0;
    } else if (!(burn_1h > 0)) {
        st->exhaustion_eta_s = INFINITY;
    } else {
        st->exhaustion_eta_s =
            st->budget_remaining * (double)d->period.duration_ms / 1000.0 / burn_1h;
    }

    /* Policy state. */
    sticky *sk = sticky_for(e, st->instance_id);
    sk->seen = true;
    if (sk->fresh) {
        sk->fresh = false;
        if (!tc->replay && e->opts.policy_store != NULL) {
            sticky_restore(e, d, sk);
        }
    }
    int state = -1;
    if (!isnan(st->budget_remaining)) {
        for (size_t i = 0; i < d->policy.n_states; i++) {
            if (st->budget_remaining > d->policy.states[i].min_remaining ||
                i + 1 == d->policy.n_states) {
                state = (int)i;
                break;
            }
        }
    }
    if (state != sk->state) {
        if (!tc->replay && (sk->state >= 0 || state >= 0)) {
            char br[32];
            snprintf(br, sizeof(br), "%.4f", st->budget_remaining);
            br_log_info("slo policy state changed", "slo=%s from=%s to=%s budget_remaining=%s",
                        st->instance_id,
                        sk->state >= 0 && (size_t)sk->state < d->policy.n_states
                            ? d->policy.states[sk->state].name
                            : "no_data",
                        state >= 0 ? d->policy.states[state].name : "no_data", br);
        }
        sk->prev_state = sk->state;
        sk->state = state;
        sk->state_since = t;
        br_free(sk->prev_name);
        sk->prev_name = sk->state_name;
        sk->state_name = state >= 0 ? br_strdup(d->policy.states[state].name) : NULL;
        if (!tc->replay) {
            e->policy_dirty = true;
        }
    }
    st->policy_state = state >= 0 ? &d->policy.states[state] : NULL;
    st->previous_state = sk->prev_state >= 0 && (size_t)sk->prev_state < d->policy.n_states
                             ? d->policy.states[sk->prev_state].name
                             : NULL;
    st->state_since_ms = sk->state_since;

    /* Alert rows: tiers, budget drop, exhaustion, budget low, no data,
     * absent. */
    size_t n_rows = d->alerting.n_tiers + 5;
    st->alerts = br_arena_calloc(a, n_rows, sizeof(br_alert_status));
    size_t r = 0;
    for (size_t i = 0; i < d->alerting.n_tiers; i++) {
        const br_burn_tier *tier = &d->alerting.tiers[i];
        bool sev_disabled = strcmp(tier->severity, "page") == 0 ? d->alerting.page_disabled
                                                                : d->alerting.ticket_disabled;
        if (tier->disabled || sev_disabled) {
            continue;
        }
        br_alert_status *as = &st->alerts[r];
        as->alertname = alert_name(a, d, "burn_rate");
        as->kind = "burn_rate";
        as->tier = tier->name;
        as->severity = tier->severity;
        as->long_window_ms = tier->long_window_ms;
        as->short_window_ms = tier->short_window_ms;
        as->factor = tier->factor;
        as->threshold = tier->factor;
        size_t li = window_index(ds, tier->long_window_ms);
        size_t si = window_index(ds, tier->short_window_ms);
        as->long_value = li != SIZE_MAX ? st->windows[li].burn_rate : NAN;
        as->short_value = si != SIZE_MAX ? st->windows[si].burn_rate : NAN;
        as->condition = as->long_value > tier->factor && as->short_value > tier->factor;
        if (as->condition && d->alerting.min_events > 0 && d->sli.kind == BR_SLI_EVENTS &&
            li != SIZE_MAX && st->windows[li].total < d->alerting.min_events) {
            as->condition = false; /* too little traffic to page on */
        }
        int64_t for_ms = tier->for_ms;
        int64_t *since = r < 12 ? &sk->alert_since[r] : NULL;
        if (since != NULL) {
            if (!as->condition) {
                *since = 0;
            } else if (*since == 0) {
                *since = t;
            }
            as->active_since_ms = *since;
            as->state = !as->condition      ? BR_ALERT_INACTIVE
                        : t - *since >= for_ms ? BR_ALERT_FIRING
                                              : BR_ALERT_PENDING;
        }
        r++;
    }
    if (d->alerting.inhibit_tickets) {
        /* The faster tier inhibits the slower: no ticket burn-rate
         * condition while a page burn-rate condition holds. */
        bool page = false;
        for (size_t i = 0; i < r; i++) {
            page = page || (st->alerts[i].condition && strcmp(st->alerts[i].severity, "page") == 0);
        }
        for (size_t i = 0; page && i < r; i++) {
            if (strcmp(st->alerts[i].severity, "ticket") == 0 && st->alerts[i].condition) {
                st->alerts[i].condition = false;
                st->alerts[i].state = BR_ALERT_INACTIVE;
                st->alerts[i].active_since_ms = 0;
                if (i < 12) {
                    sk->alert_since[i] = 0;
                }
            }
        }
    }
    if (d->alerting.budget_drop_ratio > 0 && d->alerting.budget_drop_window_ms > 0 &&
        !d->alerting.page_disabled) {
        size_t wi = window_index(ds, d->alerting.budget_drop_window_ms);
        double consumed = NAN;
        if (wi != SIZE_MAX && st->period.total > 0 && d->budgeting == BR_BUDGET_OCCURRENCES &&
            d->sli.kind == BR_SLI_EVENTS) {
            consumed = st->windows[wi].bad / (budget * st->period.total);
        } else if (wi != SIZE_MAX) {
            /* Raw ratios and time slices have no event counts: the
             * workbook's burn(W) * W / P, as `generate` writes it. */
            consumed = st->windows[wi].burn_rate * (double)d->alerting.budget_drop_window_ms /
                       (double)d->period.duration_ms;
        }
        set_alert_row(&st->alerts[r++], a, d, "budget_drop", "budget-drop", "page",
                      d->alerting.budget_drop_window_ms, consumed, d->alerting.budget_drop_ratio,
                      consumed > d->alerting.budget_drop_ratio);
    }
    if (d->alerting.exhaustion_within_ms > 0 && !d->alerting.ticket_disabled) {
        double within_s = (double)d->alerting.exhaustion_within_ms / 1000.0;
        set_alert_row(&st->alerts[r++], a, d, "exhaustion", "exhaustion", "ticket", HOUR_MS,
                      st->exhaustion_eta_s, within_s,
                      st->exhaustion_eta_s < within_s && st->exhaustion_eta_s > 0);
    }
    if (d->alerting.budget_low_ratio > 0 && !d->alerting.ticket_disabled) {
        set_alert_row(&st->alerts[r++], a, d, "budget_low", "budget-low", "ticket",
                      d->period.duration_ms, st->budget_remaining, d->alerting.budget_low_ratio,
                      st->budget_remaining < d->alerting.budget_low_ratio);
    }
    if (d->alerting.no_data_for_ms > 0 && !d->alerting.ticket_disabled) {
        size_t wi = window_index(ds, d->alerting.no_data_for_ms);
        set_alert_row(&st->alerts[r++], a, d, "no_data", "no-data", "ticket",
                      d->alerting.no_data_for_ms, wi != SIZE_MAX ? st->windows[wi].total : NAN, 0,
                      wi == SIZE_MAX || !(st->windows[wi].total > 0));
    }
    if (d->alerting.absent_for_ms > 0 && !d->alerting.ticket_disabled) {
        /* Series gone, not merely quiet: no sample at all for the window
         * (long_value: seconds since the newest sample; +Inf = never). */
        set_alert_row(&st->alerts[r++], a, d, "absent", "absent", "ticket",
                      d->alerting.absent_for_ms,
                      in->last_t == INT64_MIN ? INFINITY : (double)(t - in->last_t) / 1000.0,
                      (double)d->alerting.absent_for_ms / 1000.0,
                      in->last_t == INT64_MIN || t - in->last_t >= d->alerting.absent_for_ms);
    }
    for (size_t i = 0; i < r; i++) {
        br_alert_status *as = &st->alerts[i];
        if (strcmp(as->kind, "burn_rate") == 0) {
            continue;
        }
        int64_t *since = i < 12 ? &sk->alert_since[i] : NULL;
        if (since == NULL) {
            continue;
        }
        if (!as->condition) {
            *since = 0;
        } else if (*since == 0) {
            *since = t;
        }
        as->active_since_ms = *since;
        as->state = as->condition ? BR_ALERT_FIRING : BR_ALERT_INACTIVE;
    }
    st->n_alerts = r;
    if (e->opts.alerting != NULL && !tc->replay) {
        collect_alert_inputs(tc, ds, in, st);
    }
    /* The snapshot lists the alert windows; the period is st->period (the
     * array keeps its entry for the recorded series below). */
    st->n_windows = ds->n_windows - 1;

    /* Recorded series: Sloth's names and labels, then burnrate's own.
     * While the SLO replays its past, the live tick withholds them (the
     * store refuses a series' samples older than its newest): only the
     * live ALERTS, which replay never writes, go out. */
    if (e->opts.append == NULL) {
        return;
    }
    bool withhold = !tc->replay && ds->rp != NULL;
    size_t nb = 3 + d->n_labels + in->n_group;
    br_label *base = br_arena_alloc(&tc->rec_arena, sizeof(*base) * (nb + 1));
    size_t k = 0;
    base[k++] = (br_label){"sloth_id", br_arena_strdup(&tc->rec_arena, d->id)};
    base[k++] = (br_label){"sloth_service", br_arena_strdup(&tc->rec_arena, d->service)};
    base[k++] = (br_label){"sloth_slo", br_arena_strdup(&tc->rec_arena, d->name)};
    for (size_t i = 0; i < in->n_group; i++) {
        base[k++] = (br_label){br_arena_strdup(&tc->rec_arena, in->group[i].key),
                               br_arena_strdup(&tc->rec_arena, in->group[i].value)};
    }
    for (size_t i = 0; i < d->n_labels; i++) {
        base[k++] = (br_label){d->labels[i].key, d->labels[i].value};
    }
    if (!withhold) {
        record_slo_series(tc, ds, st, base, k, state);
    }
    for (size_t i = 0; i < st->n_alerts && e->opts.alerting == NULL && !tc->replay; i++) {
        const br_alert_status *as = &st->alerts[i];
        if (as->state == BR_ALERT_INACTIVE) {
            continue;
        }
        br_label extra[3 + 64];
        size_t ne = 0;
        for (size_t j = 0; j < k && ne < 60; j++) {
            extra[ne++] = base[j];
        }
        extra[ne++] = (br_label){"alertname", as->alertname};
        extra[ne++] = (br_label){"severity", as->severity};
        extra[ne++] = (br_label){"tier", as->tier};
        rec_add(tc, "ALERTS", extra, ne, "alertstate",
                as->state == BR_ALERT_FIRING ? "firing" : "pending", 1.0);
        rec_add(tc, "ALERTS_FOR_STATE", extra, ne, NULL, NULL,
                (double)as->active_since_ms / 1000.0);
    }
}

/* ------------------------------------------------------------ adjustments */

/* Expands the SLO's adjustments over everything a tick at t may count:
 * the period (and the intervals leaving it) plus a day of slack. */
static int prepare_exclusions(def_state *ds, int64_t t, int64_t from, br_err *err)
{
    const br_slo_def *d = ds->def;
    ds->excl.n = 0;
    if (d->n_adjustments == 0) {
        return 0;
    }
    return br_adjust_expand(d->adjustments, d->n_adjustments, from - DAY_MS, t + 1, &ds->excl,
                            err);
}

typedef struct adj_ctx {
    size_t which;
} adj_ctx;

static void adj_fn(def_state *ds, inst *in, int side, const br_window_agg *aggs, size_t n_iv,
                   int64_t last_t, void *vctx)
{
    (void)ds;
    (void)last_t;
    adj_ctx *c = vctx;
    double sum = 0;
    for (size_t k = 0; k < n_iv; k++) {
        sum += aggs[k].increase;
    }
    if (side == 0) {
        in->adj_first[c->which] += sum;
    } else {
        in->adj_total[c->which] += sum;
    }
}

/* Events each of the first MAX_ADJ_STATS adjustments removed from the
 * period (ps, t], per instance, read over its own occurrences (not
 * refined, so overlapping adjustments each count the shared events). */
static int count_adjusted(br_evaluator *e, def_state *ds, int64_t ps, int64_t t,
                          br_arena *arena, br_err *err)
{
    const br_slo_def *d = ds->def;
    for (size_t i = 0; i < ds->n_insts; i++) {
        memset(ds->insts[i]->adj_first, 0, sizeof(ds->insts[i]->adj_first));
        memset(ds->insts[i]->adj_total, 0, sizeof(ds->insts[i]->adj_total));
    }
    if (!ds->exact || d->n_adjustments == 0) {
        return 0;
    }
    bool saved_seen[64];
    size_t n_saved = ds->n_insts < 64 ? ds->n_insts : 64;
    for (size_t i = 0; i < n_saved; i++) {
        saved_seen[i] = ds->insts[i]->seen;
    }
    int rc = 0;
    for (size_t a = 0; a < d->n_adjustments && a < MAX_ADJ_STATS && rc == 0; a++) {
        br_adjust_list l = {0};
        rc = br_adjust_expand(&d->adjustments[a], 1, ps, t, &l, err);
        if (rc == 0 && l.n > 0) {
            adj_ctx c = {a};
            ds->no_refine = true;
            rc = read_sources(e, ds, l.iv, l.n, arena, adj_fn, &c, err);
            ds->no_refine = false;
        }
        br_adjust_list_free(&l);
    }
    for (size_t i = 0; i < n_saved; i++) {
        ds->insts[i]->seen = saved_seen[i];
    }
    return rc;
}

/* Fills st's adjustment fields. */
typedef struct occ_ctx {
    int64_t t;
    int64_t dur;
    int64_t last;
    int64_t next;
} occ_ctx;

static int occ_fn(void *vctx, int64_t start)
{
    occ_ctx *c = vctx;
    if (start <= c->t) {
        c->last = start;
        return 0;
    }
    c->next = start;
    return 1;
}

static void adjust_status(const def_state *ds, const inst *in, br_slo_status *st, br_arena *a,
                          int64_t t)
{
    const br_slo_def *d = ds->def;
    st->excluded_events = ds->exact ? 0 : NAN;
    st->excluded_errors = ds->exact ? 0 : NAN;
    st->excluded_ms = br_adjust_covered(&ds->excl, st->period_start_ms, t);
    if (d->n_adjustments == 0) {
        return;
    }
    st->n_adjustments = d->n_adjustments;
    st->adjustments = br_arena_calloc(a, d->n_adjustments + 1, sizeof(br_adjust_status));
    for (size_t i = 0; i < d->n_adjustments; i++) {
        const br_adjustment *adj = &d->adjustments[i];
        br_adjust_status *as = &st->adjustments[i];
        as->name = br_arena_strdup(a, adj->name);
        as->category = br_adjust_category_name(adj->category);
        br_adjust_list l = {0};
        br_err err;
        br_err_clear(&err);
        if (br_adjust_expand(adj, 1, st->period_start_ms, t, &l, &err) == 0) {
            as->excluded_ms = br_adjust_covered(&l, st->period_start_ms, t);
        }
        br_adjust_list_free(&l);
        occ_ctx oc = {t, adj->duration_ms, 0, 0};
        br_adjust_each(adj, t - adj->duration_ms, t + 400 * DAY_MS, occ_fn, &oc);
        as->last_start_ms = oc.last;
        as->last_end_ms = oc.last ? oc.last + adj->duration_ms : 0;
        as->next_start_ms = oc.next;
        as->active = oc.last != 0 && t < oc.last + adj->duration_ms;
        if (!ds->exact || i >= MAX_ADJ_STATS) {
            as->events_excluded = NAN;
            as->errors_excluded = NAN;
            continue;
        }
        double first = in->adj_first[i];
        double total = in->adj_total[i];
        as->events_excluded = total;
        as->errors_excluded = ds->bad_is_good ? total - first : first;
    }
    if (ds->exact) {
        /* Totals: the sum over adjustments (overlaps count twice). */
        for (size_t i = 0; i < d->n_adjustments && i < MAX_ADJ_STATS; i++) {
            st->excluded_events += st->adjustments[i].events_excluded;
            st->excluded_errors += st->adjustments[i].errors_excluded;
        }
    }
}

/* ------------------------------------------------------------ composites */

static def_state *find_def(br_evaluator *e, const char *id)
{
    for (size_t i = 0; i < e->n_defs; i++) {
        if (strcmp(e->defs[i].def->id, id) == 0) {
            return &e->defs[i];
        }
    }
    return NULL;
}

/* A component's error ratio over its window wi at t, as its own status
 * shows it (time slices for the period when it budgets by slices). */
static double component_ratio(const def_state *cds, size_t wi, int64_t t)
{
    const br_slo_def *d = cds->def;
    double bad = 0;
    double total = 0;
    bool period = wi == cds->n_windows - 1;
    for (size_t i = 0; i < cds->n_insts; i++) {
        const inst *in = cds->insts[i];
        double b;
        double tot;
        if (period && d->budgeting != BR_BUDGET_OCCURRENCES && d->n_components == 0) {
            slices_over(cds, in, period_start_at(d, t), t, &b, &tot);
        } else {
            b = in->win_bad[wi];
            tot = in->win_total[wi];
            if (cds->bad_is_good && d->sli.kind == BR_SLI_EVENTS) {
                b = tot - b;
            }
        }
        bad += b;
        total += tot;
    }
    return ratio_or_nan(bad, total);
}

/* Evaluates composite ds from its components' values of this tick;
 * returns 1 when a component is not ready yet (another composite). */
static int eval_composite(br_evaluator *e, def_state *ds, int64_t t)
{
    const br_slo_def *d = ds->def;
    for (size_t c = 0; c < d->n_components; c++) {
        def_state *cds = find_def(e, d->components[c].slo_id);
        if (cds != NULL && cds->def->n_components > 0 && !cds->composite_done) {
            return 1;
        }
    }
    inst *in = inst_for(ds, NULL, 0);
    in->seen = true;
    for (size_t w = 0; w < ds->n_windows; w++) {
        double bad = 0;
        double total = 0;
        for (size_t c = 0; c < d->n_components; c++) {
            def_state *cds = find_def(e, d->components[c].slo_id);
            if (cds == NULL) {
                continue;
            }
            size_t wi = w == ds->n_windows - 1 ? cds->n_windows - 1
                                               : window_index(cds, ds->windows[w]);
            if (wi == SIZE_MAX) {
                continue; /* the component does not count this window */
            }
            double r = component_ratio(cds, wi, t);
            if (isnan(r)) {
                continue; /* no data: left out of the weighted mean */
            }
            bad += d->components[c].weight * r;
            total += d->components[c].weight;
            for (size_t i = 0; i < cds->n_insts; i++) {
                if (cds->insts[i]->last_t > in->last_t) {
                    in->last_t = cds->insts[i]->last_t;
                }
            }
        }
        in->win_bad[w] = bad;
        in->win_total[w] = total;
    }
    ds->composite_done = true;
    return 0;
}

/* ------------------------------------------------------------ the tick */

static int eval_def(tick_ctx *tc, def_state *ds, br_arena *arena, br_err *err)
{
    br_evaluator *e = tc->e;
    const br_slo_def *d = ds->def;
    int64_t t = tc->t;
    /* Settled sums need every window longer than the settle time. */
    int64_t settle = e->opts.settle_ms;
    if (settle > ds->windows[0] / 2) {
        settle = ds->windows[0] / 2;
    }
    int64_t ts = t - settle;
    if (ds->calendar) {
        int64_t ps = period_start_at(d, t);
        if (ps != ds->period_start) {
            ds->period_start = ps;
            ds->settled_at = 0; /* a new period: recount */
        }
    }
    if (d->n_components > 0) {
        return 0; /* composites: after every other SLO (eval_composite) */
    }
    int64_t ps_now = period_start_at(d, t);
    int rc = prepare_exclusions(ds, t, ps_now < t - d->period.duration_ms
                                           ? ps_now
                                           : t - d->period.duration_ms,
                                err);
    if (rc != 0) {
        return rc;
    }
    bool slices = d->budgeting != BR_BUDGET_OCCURRENCES || d->sli.kind == BR_SLI_THRESHOLD;
    if (ds->exact) {
        bool full = ds->settled_at == 0 || resync_due(e, ds, t);
        if (!full) {
            rc = incremental(e, ds, t, ts, arena, err);
            if (rc == 1) {
                full = true;
                rc = 0;
            }
        }
        if (full && rc == 0) {
            tc->full_recounts++;
            rc = full_recount(e, ds, t, ts, arena, err);
            if (rc == 0 && slices) {
                ds->slices_until = 0;
            }
        }
        if (rc == 0 && slices) {
            rc = update_slices(e, ds, ts, ts - d->period.duration_ms, arena, err);
        }
        for (size_t i = 0; i < ds->n_insts; i++) {
            inst *in = ds->insts[i];
            for (size_t w = 0; w < ds->n_windows; w++) {
                in->win_bad[w] = in->settled_bad[w] + in->fresh_bad;
                in->win_total[w] = in->settled_total[w] + in->fresh_total;
            }
        }
        if (rc == 0) {
            rc = count_adjusted(e, ds, ps_now, t, arena, err);
        }
    } else {
        if (d->sli.kind != BR_SLI_THRESHOLD) {
            rc = eval_queries(e, ds, t, arena, err);
        }
        if (rc == 0 && slices) {
            rc = eval_query_slices(e, ds, ts, ts - d->period.duration_ms, arena, err);
        }
    }
    return rc;
}

/* Drops instances without data in the period and no live series (kept
 * all when the evaluation failed, rc != 0). */
static void drop_idle_insts(def_state *ds, int rc)
{
    size_t w = 0;
    for (size_t j = 0; j < ds->n_insts; j++) {
        inst *in = ds->insts[j];
        double tot = in->win_total[ds->n_windows - 1];
        bool keep = in->seen || tot > 0 || rc != 0 ||
                    (in->slices.n > 0 && ds->def->budgeting != BR_BUDGET_OCCURRENCES);
        if (keep) {
            ds->insts[w++] = in;
        } else {
            inst_free(in);
        }
    }
    ds->n_insts = w;
}

/* Clears an instance's counts: it then reads as no data. */
static void forget_counts(inst *in)
{
    memset(in->settled_bad, 0, sizeof(in->settled_bad));
    memset(in->settled_total, 0, sizeof(in->settled_total));
    memset(in->win_bad, 0, sizeof(in->win_bad));
    memset(in->win_total, 0, sizeof(in->win_total));
    in->fresh_bad = 0;
    in->fresh_total = 0;
    if (in->slices.n > 0) {
        memset(in->slices.end, 0, in->slices.n * sizeof(int64_t));
    }
}

/* ------------------------------------------------------------ sharding */

uint32_t br_slo_shard(const char *id, uint32_t count)
{
    if (count <= 1) {
        return 0;
    }
    uint64_t key = br_hash64(id, strlen(id), 0);
    int64_t b = -1;
    int64_t j = 0;
    while (j < (int64_t)count) {
        b = j;
        key = key * 2862933555777941757ULL + 1;
        j = (int64_t)((double)(b + 1) * ((double)(1LL << 31) / (double)((key >> 33) + 1)));
    }
    return (uint32_t)b;
}

static bool owned_here(const br_evaluator *e, const br_slo_def *d)
{
    return e->opts.shard_count <= 1 ||
           br_slo_shard(d->id, e->opts.shard_count) == e->opts.shard_index;
}

/* The row of an SLO another shard evaluates: listed, no data, nothing
 * recorded or alerted here. */
static void other_shard_status(tick_ctx *tc, const br_slo_def *d, br_slo_status *st)
{
    br_arena *a = &tc->snap->arena;
    memset(st, 0, sizeof(*st));
    st->def = d;
    st->instance_id = br_arena_strdup(a, d->id);
    st->group_labels = br_arena_calloc(a, 1, sizeof(br_kv));
    st->period_start_ms = tc->t - d->period.duration_ms;
    st->period_end_ms = tc->t;
    st->period.error_ratio = NAN;
    st->period.burn_rate = NAN;
    st->sli = NAN;
    st->budget_remaining = NAN;
    st->budget_remaining_ms = NAN;
    st->budget_consumed = NAN;
    st->consumed_last_hour = NAN;
    st->exhaustion_eta_s = NAN;
    st->budget_total_ms = (1.0 - d->objective) * (double)d->period.duration_ms;
    st->windows = br_arena_calloc(a, 1, sizeof(br_window_status));
    st->alerts = br_arena_calloc(a, 1, sizeof(br_alert_status));
    st->no_data = true;
    st->replay_progress = 1.0; /* nothing to replay here */
}

static int cmp_status(const void *a, const void *b)
{
    const br_slo_status *x = a;
    const br_slo_status *y = b;
    return strcmp(x->instance_id, y->instance_id);
}

/* ------------------------------------------------------------ replay */
/*
 * Replay of the recorded series for the past (issue 10).
 *
 * When a definition is new, or changed so that its counts differ
 * (same_counting), its recorded series have no past, or a past that the
 * old definition wrote. The replay evaluates the definition at the past
 * timestamps t_k = k * step (multiples of step since the epoch), oldest
 * first, with a private def_state and private policy stickies, through the
 * same eval_def and finish_instance as a live tick, so every value equals
 * what a run-all-along evaluator would have recorded at t_k (the same
 * settle time; only the order of additions can differ). It writes the
 * SLO's recorded series only: no ALERTS, no notifications, no policy-state
 * log lines for the past.
 *
 * Range: t_k < now (the tick time), after
 *   max(now - replay.max, the newest sample of slo:objective:ratio with
 *       this sloth_id (written by this or an earlier process),
 *       the first stretch of now/64 holding an SLI sample (exact sources)).
 * So a restart or downtime gap is filled, nothing is written twice, and a
 * definition changed while running only writes after its last recorded
 * sample: samples already stored keep the values the old definition gave
 * them (the store is append-only per series), which bounds a change made
 * in a running process to at most one step of replay.
 *
 * Ordering: the store refuses a sample older than its series' newest, so
 * while an SLO replays, its live ticks evaluate and publish as usual but
 * withhold its recorded series (ALERTS excepted). The replay chases the
 * tick time; the tick in which it reaches t_k >= now frees it, and that
 * tick's live samples (at now) follow the replayed ones.
 *
 * Bounded work: replay_run runs first in every tick but the very first
 * (whose snapshot the APIs wait for after start-up), on the evaluator
 * thread, and stops after opts.replay_max_steps steps or
 * opts.replay_budget_ms of work (at least one step per tick), shared by
 * every replaying SLO in set order; the rest waits for the next tick.
 * Progress (0..1 of the range, measured against the moving now) is in
 * br_slo_status.replay_progress. Defaults: step = max(interval, 1m),
 * max = the period. Composite SLOs are not replayed (their values come
 * from their components' live state). A step that fails (a backend
 * error) is retried next tick; after REPLAY_MAX_FAILS failing ticks in a
 * row the replay gives up and the live series resume.
 */

#define REPLAY_DEFAULT_STEPS 10000
#define REPLAY_FLUSH_SERIES 8192 /* recorded series per append call */
#define REPLAY_MAX_FAILS 3
#define REPLAY_PROBE_PIECES 64

typedef struct replay {
    def_state ds;       /* private counting state, ticking through the past */
    sticky *stickies;   /* private policy state, swapped in for each step */
    size_t n_stickies;
    size_t cap_stickies;
    int64_t step;
    bool planned;
    int64_t from;       /* first timestamp replayed */
    int64_t next;       /* next timestamp to evaluate */
    int64_t now;        /* latest tick time: the replay ends before it */
    uint64_t steps;
    uint64_t series;    /* recorded samples handed to append */
    uint64_t ticks;
    int64_t busy_ns;    /* evaluator-thread time spent */
    int fails;          /* consecutive ticks whose step failed */
} replay;

static struct replay *replay_new(const br_evaluator *e, const br_slo_def *d)
{
    if (e->opts.append == NULL || d->replay_max_ms <= 0 || d->n_components > 0 ||
        !owned_here(e, d)) {
        return NULL;
    }
    replay *rp = br_calloc(1, sizeof(*rp));
    def_state_init(&rp->ds, d);
    rp->step = d->replay_step_ms > 0 ? d->replay_step_ms : e->opts.interval_ms;
    if (d->replay_step_ms <= 0 && rp->step < MINUTE_MS) {
        rp->step = MINUTE_MS;
    }
    return rp;
}

static void replay_free(struct replay *rp)
{
    if (rp == NULL) {
        return;
    }
    def_state_free(&rp->ds);
    for (size_t i = 0; i < rp->n_stickies; i++) {
        sticky_free(&rp->stickies[i]);
    }
    br_free(rp->stickies);
    br_free(rp);
}

/* The definition moved to a new set (same counting): point at it. */
static void replay_rebind(struct replay *rp, const br_slo_def *d)
{
    if (rp == NULL) {
        return;
    }
    rp->ds.def = d;
    if (rp->ds.gen_state != 0) {
        br_arena_free(&rp->ds.gen_arena);
        rp->ds.gen_state = 0;
    }
}

static double replay_progress(const struct replay *rp)
{
    if (rp == NULL) {
        return 1.0;
    }
    if (!rp->planned || rp->now <= rp->from) {
        return 0.0;
    }
    double p = (double)(rp->next - rp->from) / (double)(rp->now - rp->from);
    return p < 0 ? 0 : p > 1 ? 1 : p;
}

/* Late SLI samples (see the tick) recount the replay's sums too. */
static void replay_late_data(struct replay *rp, int64_t oldest)
{
    if (rp == NULL) {
        return;
    }
    if (oldest <= rp->ds.settled_at) {
        rp->ds.settled_at = 0;
    }
    if (oldest <= rp->ds.slices_until) {
        rp->ds.slices_until = 0;
    }
}

/* Newest sample of the SLO's slo:objective:ratio series in (lo, hi], or
 * INT64_MIN when none. */
static int newest_recorded(br_evaluator *e, const char *id, int64_t lo, int64_t hi,
                           br_arena *arena, int64_t *out, br_err *err)
{
    *out = INT64_MIN;
    br_matcher m[2];
    int rc = br_matcher_init(&m[0], BR_MATCH_EQ, "__name__", "slo:objective:ratio", err);
    if (rc != 0) {
        return rc;
    }
    rc = br_matcher_init(&m[1], BR_MATCH_EQ, "sloth_id", id, err);
    if (rc != 0) {
        br_matcher_free(&m[0]);
        return rc;
    }
    const br_queryable *q = &e->opts.backend;
    if (q->window_aggs != NULL) {
        br_interval iv = {lo, hi};
        br_series_aggs_set set;
        rc = q->window_aggs(q->ctx, m, 2, &iv, 1, false, arena, &set, err);
        for (size_t i = 0; rc == 0 && i < set.n; i++) {
            if (set.series[i].last_t > *out) {
                *out = set.series[i].last_t;
            }
        }
    } else {
        br_series_set set;
        rc = q->select(q->ctx, m, 2, lo + 1, hi, 0, arena, &set, err);
        for (size_t i = 0; rc == 0 && i < set.n; i++) {
            const br_series_data *sd = &set.series[i];
            if (sd->n_samples > 0 && sd->samples[sd->n_samples - 1].t > *out) {
                *out = sd->samples[sd->n_samples - 1].t;
            }
        }
    }
    br_matcher_free(&m[0]);
    br_matcher_free(&m[1]);
    return rc;
}

/* For exact sources: the start of the first of REPLAY_PROBE_PIECES equal
 * pieces of (lo, hi] holding a sample of the total series; hi when none
 * does (nothing to replay); lo for other sources. */
static int first_data(br_evaluator *e, const def_state *ds, int64_t lo, int64_t hi,
                      br_arena *arena, int64_t *out, br_err *err)
{
    *out = lo;
    const br_queryable *q = &e->opts.backend;
    if (!ds->exact || !ds->sel_ok[1] || q->window_aggs == NULL || hi - lo < REPLAY_PROBE_PIECES) {
        return 0;
    }
    br_interval iv[REPLAY_PROBE_PIECES];
    int64_t piece = (hi - lo) / REPLAY_PROBE_PIECES;
    for (size_t k = 0; k < REPLAY_PROBE_PIECES; k++) {
        iv[k].start = lo + (int64_t)k * piece;
        iv[k].end = k + 1 == REPLAY_PROBE_PIECES ? hi : iv[k].start + piece;
    }
    br_series_aggs_set set;
    bool bool_gauge = ds->def->sli.total.kind == BR_SOURCE_BOOL_GAUGE;
    int rc = q->window_aggs(q->ctx, ds->sel[1].matchers, ds->sel[1].n, iv, REPLAY_PROBE_PIECES,
                            bool_gauge, arena, &set, err);
    if (rc != 0) {
        return rc;
    }
    size_t first = REPLAY_PROBE_PIECES;
    for (size_t i = 0; i < set.n; i++) {
        for (size_t k = 0; k < first; k++) {
            if (set.series[i].aggs[k].count > 0) {
                first = k;
                break;
            }
        }
    }
    *out = first < REPLAY_PROBE_PIECES ? iv[first].start : hi;
    return 0;
}

/* Fixes the range at the first replay tick: see the section comment. */
static int replay_plan(br_evaluator *e, replay *rp, int64_t now, br_arena *arena, br_err *err)
{
    const br_slo_def *d = rp->ds.def;
    int64_t lo = now - d->replay_max_ms;
    int64_t newest;
    int rc = newest_recorded(e, d->id, lo, now, arena, &newest, err);
    if (rc != 0) {
        return rc;
    }
    if (newest > lo) {
        lo = newest;
    }
    int64_t data_from;
    rc = first_data(e, &rp->ds, lo, now, arena, &data_from, err);
    if (rc != 0) {
        return rc;
    }
    if (data_from > lo) {
        lo = data_from;
    }
    rp->from = floor_div(lo, rp->step) * rp->step + rp->step; /* first grid point > lo */
    rp->next = rp->from;
    rp->now = now;
    rp->planned = true;
    if (rp->from < now) {
        br_log_info("slo replay started", "slo=%s from_ms=%lld to_ms=%lld step_ms=%lld steps=%lld "
                    "after_recorded=%s",
                    d->id, (long long)rp->from, (long long)now, (long long)rp->step,
                    (long long)((now - 1 - rp->from) / rp->step + 1),
                    newest != INT64_MIN ? "true" : "false");
    }
    return 0;
}

/* Hands the batch's recorded series to append and empties it. */
static void replay_flush(br_evaluator *e, tick_ctx *tc, replay *rp)
{
    if (tc->n_rec > 0) {
        br_err aerr;
        br_err_clear(&aerr);
        if (e->opts.append(e->opts.append_ctx, tc->rec, tc->n_rec, &aerr) != 0) {
            br_log_warn("writing replayed SLO series failed", "slo=%s err=%s", rp->ds.def->id,
                        aerr.msg);
        }
        rp->series += tc->n_rec;
    }
    tc->n_rec = 0;
    br_arena_reset(&tc->rec_arena);
}

/* One replay step at tc->t: evaluates and records like a live tick, into
 * tc's batch, with the replay's own stickies. */
static int replay_step(br_evaluator *e, replay *rp, tick_ctx *tc, br_arena *arena, br_err *err)
{
    def_state *ds = &rp->ds;
    sticky *live = e->stickies;
    size_t n_live = e->n_stickies;
    size_t cap_live = e->cap_stickies;
    e->stickies = rp->stickies;
    e->n_stickies = rp->n_stickies;
    e->cap_stickies = rp->cap_stickies;
    tc->snap = br_slo_snapshot_new(NULL);
    int rc = eval_def(tc, ds, arena, err);
    if (rc == 0) {
        drop_idle_insts(ds, rc);
        if (ds->n_insts == 0 && ds->def->n_grouping == 0) {
            (void)inst_for(ds, NULL, 0); /* listed (and recorded) as no data, as live */
        }
        br_slo_status *st = br_arena_calloc(&tc->snap->arena, ds->n_insts + 1, sizeof(*st));
        for (size_t j = 0; j < ds->n_insts; j++) {
            finish_instance(tc, ds, ds->insts[j], &st[j]);
        }
        sticky_sweep(e);
    } else {
        ds->settled_at = 0;
        ds->slices_until = 0;
    }
    br_slo_snapshot_unref(tc->snap);
    tc->snap = NULL;
    rp->stickies = e->stickies;
    rp->n_stickies = e->n_stickies;
    rp->cap_stickies = e->cap_stickies;
    e->stickies = live;
    e->n_stickies = n_live;
    e->cap_stickies = cap_live;
    return rc;
}

static void replay_finish(def_state *ds, bool gave_up)
{
    replay *rp = ds->rp;
    if (rp->steps > 0 || gave_up) {
        br_log_info(gave_up ? "slo replay abandoned" : "slo replay finished",
                    "slo=%s from_ms=%lld to_ms=%lld step_ms=%lld steps=%llu samples=%llu "
                    "ticks=%llu busy_ms=%lld",
                    ds->def->id, (long long)rp->from, (long long)(rp->next - rp->step),
                    (long long)rp->step, (unsigned long long)rp->steps,
                    (unsigned long long)rp->series, (unsigned long long)rp->ticks,
                    (long long)(rp->busy_ns / 1000000));
    }
    replay_free(rp);
    ds->rp = NULL;
}

/* Spends this tick's replay budget on the replaying SLOs, in set order. */
static void replay_run(br_evaluator *e, int64_t now, br_arena *scratch)
{
    int64_t t0 = br_mono_ns();
    int64_t budget_ns = e->opts.replay_budget_ms * 1000000;
    uint32_t steps_left = e->opts.replay_max_steps;
    bool stepped = false;
    for (size_t i = 0; i < e->n_defs; i++) {
        def_state *ds = &e->defs[i];
        replay *rp = ds->rp;
        if (rp == NULL) {
            continue;
        }
        int64_t started = br_mono_ns();
        br_err err;
        br_err_clear(&err);
        br_arena_reset(scratch);
        int rc = 0;
        if (!rp->planned) {
            /* Planned at its first tick even past the budget (two cheap
             * reads), so the range is measured from when it was added. */
            rc = replay_plan(e, rp, now, scratch, &err);
        }
        rp->now = now;
        if (rc == 0 && rp->next < now &&
            (steps_left == 0 || (stepped && br_mono_ns() - t0 >= budget_ns))) {
            rp->busy_ns += br_mono_ns() - started;
            continue; /* this tick's budget is spent */
        }
        tick_ctx tc;
        memset(&tc, 0, sizeof(tc));
        tc.e = e;
        tc.replay = true;
        br_arena_init(&tc.rec_arena, 64 * 1024, 0);
        rp->ticks++;
        while (rc == 0 && rp->next < now && steps_left > 0 &&
               (!stepped || br_mono_ns() - t0 < budget_ns)) {
            br_arena_reset(scratch);
            tc.t = rp->next;
            rc = replay_step(e, rp, &tc, scratch, &err);
            if (rc != 0) {
                break;
            }
            stepped = true;
            steps_left--;
            rp->steps++;
            rp->next += rp->step;
            if (tc.n_rec >= REPLAY_FLUSH_SERIES) {
                replay_flush(e, &tc, rp);
            }
        }
        replay_flush(e, &tc, rp);
        br_free(tc.rec);
        br_arena_free(&tc.rec_arena);
        rp->busy_ns += br_mono_ns() - started;
        if (rc != 0) {
            rp->fails++;
            br_log_warn("slo replay step failed", "slo=%s t_ms=%lld fails=%d err=%s", ds->def->id,
                        (long long)rp->next, rp->fails, err.msg);
            if (rp->fails >= REPLAY_MAX_FAILS) {
                replay_finish(ds, true);
            }
            continue;
        }
        rp->fails = 0;
        if (rp->planned && rp->next >= now) {
            replay_finish(ds, false);
        }
    }
}

int br_evaluator_tick(br_evaluator *e, int64_t now_ms, br_err *err)
{
    int64_t started = br_mono_ns();
    adopt_pending_set(e);
    tick_ctx tc;
    memset(&tc, 0, sizeof(tc));
    tc.e = e;
    tc.t = now_ms;
    tc.snap = br_slo_snapshot_new(e->set);
    br_arena_init(&tc.rec_arena, 64 * 1024, 0);
    br_arena scratch;
    br_arena_init(&scratch, 256 * 1024, 1024u * 1024 * 1024);
    int first_rc = 0;
    size_t total_insts = 0;
    /* Late data: samples stored since the last tick for times some running
     * sums already cover force those SLOs to recount. */
    int64_t oldest = e->opts.backend.take_oldest_append != NULL
                         ? e->opts.backend.take_oldest_append(e->opts.backend.ctx)
                         : INT64_MAX;
    for (size_t i = 0; i < e->n_defs; i++) {
        if (oldest <= e->defs[i].settled_at) {
            e->defs[i].settled_at = 0;
        }
        if (oldest <= e->defs[i].slices_until) {
            e->defs[i].slices_until = 0;
        }
        replay_late_data(e->defs[i].rp, oldest);
    }
    /* New and changed SLOs write their past first, within a budget; not in
     * the very first tick, so the first budget snapshot (which the APIs
     * wait for) is published at once after start-up. */
    if (e->ticks > 0) {
        replay_run(e, now_ms, &scratch);
    }
    for (size_t i = 0; i < e->n_defs; i++) {
        br_arena_reset(&scratch);
        def_state *ds = &e->defs[i];
        if (!owned_here(e, ds->def)) {
            total_insts++; /* listed as one no-data row below */
            continue;
        }
        br_err derr;
        br_err_clear(&derr);
        int rc = eval_def(&tc, ds, &scratch, &derr);
        if (rc != 0) {
            snprintf(ds->err_buf, sizeof(ds->err_buf), "%s", derr.msg);
            ds->error = ds->err_buf;
            ds->settled_at = 0;
            /* A failed read (e.g. a remote backend down) leaves no numbers:
             * every instance shows no data, and so fires nothing, until a
             * tick succeeds; the error says why. */
            for (size_t j = 0; j < ds->n_insts; j++) {
                forget_counts(ds->insts[j]);
            }
            ds->slices_until = 0;
            if (first_rc == 0) {
                first_rc = rc;
                if (err != NULL) {
                    *err = derr;
                }
            }
            br_log_warn("slo evaluation failed", "slo=%s err=%s", ds->def->id, derr.msg);
        } else if (ds->exact && ds->error == ds->err_buf && ds->sel_ok[0] && ds->sel_ok[1]) {
            ds->error = NULL;
        } else if (!ds->exact) {
            ds->error = NULL;
        }
        drop_idle_insts(ds, rc);
        total_insts += ds->n_insts ? ds->n_insts : 1;
    }
    /* Composites, in dependency order (components first). */
    for (size_t i = 0; i < e->n_defs; i++) {
        e->defs[i].composite_done = false;
    }
    for (size_t pass = 0; pass <= e->n_defs; pass++) {
        bool pending = false;
        for (size_t i = 0; i < e->n_defs; i++) {
            def_state *ds = &e->defs[i];
            if (ds->def->n_components > 0 && !ds->composite_done) {
                pending = eval_composite(e, ds, now_ms) != 0 || pending;
            }
        }
        if (!pending) {
            break;
        }
    }
    tc.snap->slos = br_arena_calloc(&tc.snap->arena, total_insts + 1, sizeof(br_slo_status));
    size_t n = 0;
    for (size_t i = 0; i < e->n_defs; i++) {
        def_state *ds = &e->defs[i];
        if (!owned_here(e, ds->def)) {
            other_shard_status(&tc, ds->def, &tc.snap->slos[n++]);
            continue;
        }
        if (ds->n_insts == 0 && (ds->def->n_grouping == 0 || ds->error != NULL)) {
            /* No series at all (or none read): still listed, as no data. */
            inst *in = inst_for(ds, NULL, 0);
            (void)in;
        }
        for (size_t j = 0; j < ds->n_insts; j++) {
            finish_instance(&tc, ds, ds->insts[j], &tc.snap->slos[n++]);
        }
    }
    tc.snap->n_slos = n;
    if (e->opts.alerting != NULL) {
        apply_alerting(&tc);
    }
    br_free(tc.ain);
    br_free(tc.atgt);
    qsort(tc.snap->slos, n, sizeof(br_slo_status), cmp_status);
    if (sticky_sweep(e) > 0) {
        e->policy_dirty = true;
    }
    if (e->policy_dirty && e->opts.policy_store != NULL) {
        policy_save(e);
    }
    if (e->opts.append != NULL && tc.n_rec > 0) {
        br_err aerr;
        br_err_clear(&aerr);
        if (e->opts.append(e->opts.append_ctx, tc.rec, tc.n_rec, &aerr) != 0) {
            br_log_warn("writing recorded SLO series failed", "err=%s", aerr.msg);
        }
    }
    br_free(tc.rec);
    br_arena_free(&tc.rec_arena);
    br_arena_free(&scratch);
    e->ticks++;
    tc.snap->eval_time_ms = now_ms;
    tc.snap->interval_ms = e->opts.interval_ms;
    tc.snap->tick = e->ticks;
    e->full_recounts_total += tc.full_recounts;
    tc.snap->full_recounts = tc.full_recounts;
    tc.snap->full_recounts_total = e->full_recounts_total;
    tc.snap->eval_duration_us = (br_mono_ns() - started) / 1000;
    pthread_mutex_lock(&e->snap_mu);
    br_slo_snapshot *old = e->snap;
    e->snap = tc.snap;
    pthread_mutex_unlock(&e->snap_mu);
    br_slo_snapshot_unref(old);
    return first_rc;
}

/* ------------------------------------------------------------ history */

typedef struct history_ctx {
    const char *instance_id;
    double **prefix; /* [side][interval + 1] */
} history_ctx;

/* Adds one series' per-interval counts when it belongs to the instance. */
static void history_fn(def_state *ds, inst *in, int side, const br_window_agg *aggs, size_t n_iv,
                       int64_t last_t, void *vctx)
{
    (void)ds;
    (void)last_t;
    history_ctx *c = vctx;
    if (strcmp(in->instance_id, c->instance_id) != 0) {
        return;
    }
    for (size_t k = 0; k < n_iv; k++) {
        c->prefix[side][k + 1] += aggs[k].increase;
    }
}

/* Budget remaining at each step from raw data, for exact sources:
 * disjoint intervals between the sorted points {t_i - P, t_i - 1h, t_i}. */
static int history_exact(br_evaluator *e, def_state *ds, const char *instance_id, int64_t start,
                         int64_t end, int64_t step, br_arena *arena, br_history *out,
                         br_err *err)
{
    const br_slo_def *d = ds->def;
    size_t n_steps = (size_t)((end - start) / step) + 1;
    size_t n_pts = 3 * n_steps;
    int64_t *pts = br_arena_alloc(arena, sizeof(int64_t) * n_pts);
    if (pts == NULL) {
        return br_err_set(err, BR_ELIMIT, "history memory limit reached");
    }
    size_t np = 0;
    for (size_t i = 0; i < n_steps; i++) {
        int64_t t = start + (int64_t)i * step;
        pts[np++] = period_start_at(d, t);
        pts[np++] = t - HOUR_MS;
        pts[np++] = t;
    }
    qsort(pts, np, sizeof(int64_t), cmp_i64);
    size_t u = 0;
    for (size_t i = 0; i < np; i++) {
        if (u == 0 || pts[i] != pts[u - 1]) {
            pts[u++] = pts[i];
        }
    }
    np = u;
    size_t n_iv = np - 1;
    br_interval *iv = br_arena_alloc(arena, sizeof(*iv) * (n_iv + 1));
    if (iv == NULL) {
        return br_err_set(err, BR_ELIMIT, "history memory limit reached");
    }
    for (size_t i = 0; i < n_iv; i++) {
        iv[i].start = pts[i];
        iv[i].end = pts[i + 1];
    }
    /* Per side, prefix sums over the intervals of the series of this
     * instance (others are skipped by instance id). */
    double *prefix[2];
    for (int side = 0; side < 2; side++) {
        prefix[side] = br_arena_calloc(arena, n_iv + 1, sizeof(double));
        if (prefix[side] == NULL) {
            return br_err_set(err, BR_ELIMIT, "history memory limit reached");
        }
    }
    history_ctx hc = {instance_id, prefix};
    int rc = read_sources(e, ds, iv, n_iv, arena, history_fn, &hc, err);
    if (rc != 0) {
        return rc;
    }
    for (int side = 0; side < 2; side++) {
        for (size_t k = 0; k < n_iv; k++) {
            prefix[side][k + 1] += prefix[side][k];
        }
    }
    out->n = n_steps;
    out->points = br_arena_alloc(arena, sizeof(br_history_point) * n_steps);
    if (out->points == NULL) {
        return br_err_set(err, BR_ELIMIT, "history memory limit reached");
    }
    double budget = 1.0 - d->objective;
    for (size_t i = 0; i < n_steps; i++) {
        int64_t t = start + (int64_t)i * step;
        int64_t ps = period_start_at(d, t);
        size_t a = (size_t)((int64_t *)bsearch(&ps, pts, np, sizeof(int64_t), cmp_i64) - pts);
        int64_t h = t - HOUR_MS;
        size_t b = (size_t)((int64_t *)bsearch(&h, pts, np, sizeof(int64_t), cmp_i64) - pts);
        size_t c = (size_t)((int64_t *)bsearch(&t, pts, np, sizeof(int64_t), cmp_i64) - pts);
        double first_p = prefix[0][c] - prefix[0][a];
        double total_p = prefix[1][c] - prefix[1][a];
        double first_h = prefix[0][c] - prefix[0][b];
        double total_h = prefix[1][c] - prefix[1][b];
        double bad_p = ds->bad_is_good ? total_p - first_p : first_p;
        double bad_h = ds->bad_is_good ? total_h - first_h : first_h;
        br_history_point *p = &out->points[i];
        p->t_ms = t;
        p->error_ratio = ratio_or_nan(bad_p, total_p);
        p->budget_remaining = 1.0 - p->error_ratio / budget;
        p->burn_rate_1h = ratio_or_nan(bad_h, total_h) / budget;
    }
    return 0;
}

/* History for template sources: PromQL range evaluations. */
static int history_query(br_evaluator *e, def_state *ds, const char *instance_id, int64_t start,
                         int64_t end, int64_t step, br_arena *arena, br_history *out,
                         br_err *err)
{
    const br_slo_def *d = ds->def;
    size_t n_steps = (size_t)((end - start) / step) + 1;
    double *vals[2][2]; /* [window: period, 1h][side] */
    for (int w = 0; w < 2; w++) {
        for (int s = 0; s < 2; s++) {
            vals[w][s] = br_arena_calloc(arena, n_steps, sizeof(double));
            if (vals[w][s] == NULL) {
                return br_err_set(err, BR_ELIMIT, "history memory limit reached");
            }
            for (size_t i = 0; i < n_steps; i++) {
                vals[w][s][i] = NAN;
            }
        }
    }
    int64_t wins[2] = {d->period.duration_ms, HOUR_MS};
    for (int w = 0; w < 2; w++) {
        for (int side = 0; side < 2; side++) {
            const char *tmpl;
            if (d->sli.kind != BR_SLI_EVENTS) {
                if (side == 1) {
                    continue;
                }
                tmpl = d->sli.query;
            } else {
                tmpl = side == 0 ? (ds->bad_is_good ? d->sli.good.expr : d->sli.bad.expr)
                                 : d->sli.total.expr;
            }
            const char *q = br_slo_template_render(arena, tmpl, wins[w]);
            br_promql_result res;
            int rc = br_promql_eval_range(&e->opts.backend, &e->opts.promql, q, start, end,
                                          step, arena, &res, err);
            if (rc != 0) {
                return rc;
            }
            for (size_t i = 0; i < res.n_series; i++) {
                const br_result_series *s = &res.series[i];
                inst *in = inst_for(ds, s->labels, s->n_labels);
                if (strcmp(in->instance_id, instance_id) != 0) {
                    continue;
                }
                for (size_t p = 0; p < s->n_points; p++) {
                    size_t k = (size_t)((s->points[p].t - start) / step);
                    if (k < n_steps) {
                        vals[w][side][k] =
                            (isnan(vals[w][side][k]) ? 0 : vals[w][side][k]) + s->points[p].v;
                    }
                }
            }
        }
    }
    double budget = 1.0 - d->objective;
    out->n = n_steps;
    out->points = br_arena_alloc(arena, sizeof(br_history_point) * n_steps);
    if (out->points == NULL) {
        return br_err_set(err, BR_ELIMIT, "history memory limit reached");
    }
    for (size_t i = 0; i < n_steps; i++) {
        double r[2];
        for (int w = 0; w < 2; w++) {
            if (d->sli.kind != BR_SLI_EVENTS) {
                r[w] = vals[w][0][i];
            } else {
                double f = vals[w][0][i];
                double tot = vals[w][1][i];
                r[w] = ratio_or_nan(ds->bad_is_good ? tot - f : f, tot);
            }
        }
        br_history_point *p = &out->points[i];
        p->t_ms = start + (int64_t)i * step;
        p->error_ratio = r[0];
        p->budget_remaining = 1.0 - r[0] / budget;
        p->burn_rate_1h = r[1] / budget;
    }
    return 0;
}

/* History of time-slice SLOs: every slice from the first step's period
 * start to the end is read once into a private ring, then each step
 * counts the slices of its own period and hour. */
static int history_slices(br_evaluator *e, def_state *ds, const char *instance_id, int64_t start,
                          int64_t end, int64_t step, br_arena *arena, br_history *out,
                          br_err *err)
{
    const br_slo_def *d = ds->def;
    int64_t from = period_start_at(d, start);
    if ((end - from) / d->slice_ms + 4 > MAX_SLICES) {
        return br_err_set(err, BR_ELIMIT, "more than %d time slices in the range", MAX_SLICES);
    }
    ds->ring_slots = (size_t)((end - from) / d->slice_ms) + 4;
    ds->slices_until = 0;
    int rc = ds->exact ? update_slices(e, ds, end, from, arena, err)
                       : eval_query_slices(e, ds, end, from, arena, err);
    if (rc != 0) {
        return rc;
    }
    inst *in = NULL;
    for (size_t i = 0; i < ds->n_insts; i++) {
        if (strcmp(ds->insts[i]->instance_id, instance_id) == 0) {
            in = ds->insts[i];
        }
    }
    size_t n_steps = (size_t)((end - start) / step) + 1;
    out->n = n_steps;
    out->points = br_arena_alloc(arena, sizeof(br_history_point) * n_steps);
    if (out->points == NULL) {
        return br_err_set(err, BR_ELIMIT, "history memory limit reached");
    }
    double budget = 1.0 - d->objective;
    for (size_t i = 0; i < n_steps; i++) {
        int64_t t = start + (int64_t)i * step;
        double bad = 0;
        double total = 0;
        double bad_h = 0;
        double total_h = 0;
        if (in != NULL) {
            slices_over(ds, in, period_start_at(d, t), t, &bad, &total);
            slices_over(ds, in, t - HOUR_MS, t, &bad_h, &total_h);
        }
        br_history_point *p = &out->points[i];
        p->t_ms = t;
        p->error_ratio = ratio_or_nan(bad, total);
        p->budget_remaining = 1.0 - p->error_ratio / budget;
        p->burn_rate_1h = ratio_or_nan(bad_h, total_h) / budget;
    }
    return 0;
}

static int source_history(void *ctx, const char *instance_id, int64_t start_ms, int64_t end_ms,
                          int64_t step_ms, size_t max_points, br_arena *arena, br_history *out,
                          br_err *err)
{
    br_evaluator *e = ctx;
    if (step_ms <= 0 || end_ms < start_ms) {
        return br_err_set(err, BR_EINVAL, "end must not be before start and step must be > 0");
    }
    if ((size_t)((end_ms - start_ms) / step_ms) + 1 > max_points) {
        return br_err_set(err, BR_ELIMIT, "more than %zu points; increase step", max_points);
    }
    br_slo_snapshot *snap = br_evaluator_snapshot(e);
    if (snap == NULL) {
        return br_err_set(err, BR_EBUSY, "no evaluation yet");
    }
    const br_slo_status *st = br_slo_snapshot_find(snap, instance_id);
    if (st == NULL) {
        br_slo_snapshot_unref(snap);
        return br_err_set(err, BR_ENOTFOUND, "unknown SLO %s", instance_id);
    }
    /* A private def_state: the evaluator thread's own is not shared. */
    def_state ds;
    def_state_init(&ds, st->def);
    int64_t from = period_start_at(st->def, start_ms);
    if (start_ms - st->def->period.duration_ms < from) {
        from = start_ms - st->def->period.duration_ms;
    }
    int rc = prepare_exclusions(&ds, end_ms, from, err);
    if (rc != 0) {
        def_state_free(&ds);
        br_slo_snapshot_unref(snap);
        return rc;
    }
    if (ds.exact && st->def->budgeting == BR_BUDGET_OCCURRENCES) {
        rc = history_exact(e, &ds, instance_id, start_ms, end_ms, step_ms, arena, out, err);
    } else if (!ds.exact && st->def->budgeting == BR_BUDGET_OCCURRENCES) {
        rc = history_query(e, &ds, instance_id, start_ms, end_ms, step_ms, arena, out, err);
    } else {
        rc = history_slices(e, &ds, instance_id, start_ms, end_ms, step_ms, arena, out, err);
    }
    def_state_free(&ds);
    br_slo_snapshot_unref(snap);
    return rc;
}

/* ------------------------------------------------------------ lifecycle */

br_evaluator *br_evaluator_new(const br_evaluator_options *opts, br_err *err)
{
    if (opts->backend.select == NULL) {
        br_err_set(err, BR_EINVAL, "evaluator: no query backend");
        return NULL;
    }
    br_evaluator *e = br_calloc(1, sizeof(*e));
    e->opts = *opts;
    if (e->opts.interval_ms <= 0) {
        e->opts.interval_ms = 30000;
    }
    if (e->opts.settle_ms <= 0) {
        e->opts.settle_ms = 60000;
    }
    if (e->opts.resync_ms <= 0) {
        e->opts.resync_ms = HOUR_MS;
    }
    if (e->opts.replay_max_steps == 0) {
        e->opts.replay_max_steps = REPLAY_DEFAULT_STEPS;
    }
    if (e->opts.replay_budget_ms <= 0) {
        e->opts.replay_budget_ms = e->opts.interval_ms / 4;
    }
    pthread_mutex_init(&e->set_mu, NULL);
    pthread_mutex_init(&e->snap_mu, NULL);
    pthread_mutex_init(&e->run_mu, NULL);
    pthread_cond_init(&e->run_cv, NULL);
    e->set = br_slo_set_new();
    return e;
}

void br_evaluator_set_slos(br_evaluator *e, br_slo_set *set)
{
    br_slo_set_ref(set);
    pthread_mutex_lock(&e->set_mu);
    br_slo_set *old = e->pending_set;
    e->pending_set = set;
    pthread_mutex_unlock(&e->set_mu);
    br_slo_set_unref(old);
}

static void *run(void *arg)
{
    br_evaluator *e = arg;
    pthread_mutex_lock(&e->run_mu);
    while (!e->stop) {
        pthread_mutex_unlock(&e->run_mu);
        br_err err;
        br_err_clear(&err);
        br_evaluator_tick(e, eval_now(e), &err);
        pthread_mutex_lock(&e->run_mu);
        if (e->stop) {
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = (int64_t)ts.tv_nsec + (e->opts.interval_ms % 1000) * 1000000;
        ts.tv_sec += (time_t)(e->opts.interval_ms / 1000) + (time_t)(ns / 1000000000);
        ts.tv_nsec = (long)(ns % 1000000000);
        pthread_cond_timedwait(&e->run_cv, &e->run_mu, &ts);
    }
    pthread_mutex_unlock(&e->run_mu);
    return NULL;
}

int br_evaluator_start(br_evaluator *e, br_err *err)
{
    e->stop = false;
    if (pthread_create(&e->thread, NULL, run, e) != 0) {
        return br_err_set(err, BR_EINTERNAL, "cannot start the evaluator thread");
    }
    e->running = true;
    return 0;
}

void br_evaluator_stop(br_evaluator *e)
{
    if (!e->running) {
        return;
    }
    pthread_mutex_lock(&e->run_mu);
    e->stop = true;
    pthread_cond_signal(&e->run_cv);
    pthread_mutex_unlock(&e->run_mu);
    pthread_join(e->thread, NULL);
    e->running = false;
}

void br_evaluator_free(br_evaluator *e)
{
    if (e == NULL) {
        return;
    }
    br_evaluator_stop(e);
    for (size_t i = 0; i < e->n_defs; i++) {
        def_state_free(&e->defs[i]);
    }
    br_free(e->defs);
    for (size_t i = 0; i < e->n_stickies; i++) {
        sticky_free(&e->stickies[i]);
    }
    br_free(e->stickies);
    br_slo_set_unref(e->set);
    br_slo_set_unref(e->pending_set);
    br_slo_snapshot_unref(e->snap);
    pthread_mutex_destroy(&e->set_mu);
    pthread_mutex_destroy(&e->snap_mu);
    pthread_mutex_destroy(&e->run_mu);
    pthread_cond_destroy(&e->run_cv);
    br_free(e);
}

br_slo_snapshot *br_evaluator_snapshot(br_evaluator *e)
{
    pthread_mutex_lock(&e->snap_mu);
    br_slo_snapshot *s = e->snap;
    if (s != NULL) {
        br_slo_snapshot_ref(s);
    }
    pthread_mutex_unlock(&e->snap_mu);
    return s;
}

static br_slo_snapshot *source_snapshot(void *ctx)
{
    return br_evaluator_snapshot(ctx);
}

void br_evaluator_source(br_evaluator *e, br_slo_source *out)
{
    out->ctx = e;
    out->snapshot = source_snapshot;
    out->history = source_history;
}
