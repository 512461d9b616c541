/*
 * test_evaluator.c — the SLO evaluator on synthetic series with known
 * answers: the seed's numbers (43.2 minutes, 77% / 65% / 19%), the
 * workbook's tiers and a fast-burn page's pending -> firing -> inactive
 * path, incremental ticks equal to full recounts, grouping, good-event and
 * `le` sources, boolean gauges, calendar periods, no data, time slices,
 * recorded series and history; replay of recorded series for new and
 * changed SLOs (equal to a run-all-along evaluator, bounded per tick,
 * restart gaps, definition changes, replay: false).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/core/alloc.h"
#include "engine/core/log.h"
#include "engine/promql/backend.h"
#include "rules/evaluator.h"
#include "rules/policy_state.h"
#include "rules/slo_template.h"
#include "storage/head.h"
#include "tests/helpers/testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MIN_MS (60LL * 1000)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)
/* A round start, far from the epoch (2026-01-01T00:00:00Z). */
#define T0 1767225600000LL

typedef struct fixture {
    br_head *head;
    br_evaluator *ev;
    br_slo_set *set;
    size_t appended;     /* recorded series written */
    bool saw_sloth_5m;
    bool saw_remaining;
    double remaining_value;
} fixture;

static int capture_append(void *ctx, const br_series_input *in, size_t n, br_err *err)
{
    (void)err;
    fixture *f = ctx;
    f->appended += n;
    for (size_t i = 0; i < n; i++) {
        const char *name = NULL;
        bool has_id = false;
        for (size_t k = 0; k < in[i].n_labels; k++) {
            if (strcmp(in[i].labels[k].name, "__name__") == 0) {
                name = in[i].labels[k].value;
            }
            if (strcmp(in[i].labels[k].name, "sloth_id") == 0) {
                has_id = true;
            }
        }
        assert_non_null(name);
        assert_true(has_id);
        if (strcmp(name, "slo:sli_error:ratio_rate5m") == 0) {
            f->saw_sloth_5m = true;
        }
        if (strcmp(name, "slo:period_error_budget_remaining:ratio") == 0) {
            f->saw_remaining = true;
            f->remaining_value = in[i].samples[0].v;
        }
    }
    return 0;
}

static void fixture_open(fixture *f, bool record)
{
    memset(f, 0, sizeof(*f));
    br_head_options ho = {0};
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_head_open(&ho, &f->head, &err), 0);
    br_evaluator_options eo;
    memset(&eo, 0, sizeof(eo));
    br_queryable_local(f->head, &eo.backend);
    eo.interval_ms = 30000;
    if (record) {
        eo.append = capture_append;
        eo.append_ctx = f;
    }
    f->ev = br_evaluator_new(&eo, &err);
    assert_non_null(f->ev);
    f->set = br_slo_set_new();
}

static void fixture_close(fixture *f)
{
    br_evaluator_free(f->ev);
    br_slo_set_unref(f->set);
    br_head_close(f->head);
}

/* A fresh evaluator over the same data (full recount path). */
static br_evaluator *fresh_evaluator(fixture *f)
{
    br_evaluator_options eo;
    memset(&eo, 0, sizeof(eo));
    br_queryable_local(f->head, &eo.backend);
    br_err err;
    br_evaluator *e = br_evaluator_new(&eo, &err);
    assert_non_null(e);
    br_evaluator_set_slos(e, f->set);
    return e;
}

static void commit(fixture *f, const br_label *ls, size_t nl, const br_sample *s, size_t n)
{
    br_series_input in = {.labels = ls, .n_labels = nl, .samples = s, .n_samples = n};
    br_commit_result r;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_head_commit(f->head, &in, 1, &r, &err), 0);
    assert_int_equal(br_commit_rejected(&r), 0);
}

/* Requests at 1/s scraped every minute from `from` to `to`; every minute
 * that lies in a bad range has all its 60 requests failing. */
typedef struct bad_range {
    int64_t from;
    int64_t to;
} bad_range;

static void write_traffic(fixture *f, const char *job, int64_t from, int64_t to,
                          const bad_range *bad, size_t n_bad, double good_share_in_bad)
{
    size_t n = (size_t)((to - from) / MIN_MS) + 1;
    br_sample *tot = br_malloc(sizeof(*tot) * n);
    br_sample *err = br_malloc(sizeof(*err) * n);
    double ct = 0;
    double ce = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t t = from + (int64_t)i * MIN_MS;
        if (i > 0) {
            ct += 60;
            for (size_t b = 0; b < n_bad; b++) {
                if (t > bad[b].from && t <= bad[b].to) {
                    ce += 60 * (1.0 - good_share_in_bad);
                }
            }
        }
        tot[i] = (br_sample){t, ct};
        err[i] = (br_sample){t, ce};
    }
    br_label lt[3] = {{"__name__", "requests_total"}, {"code", "all"}, {"job", job}};
    br_label le[3] = {{"__name__", "requests_errors_total"}, {"code", "5xx"}, {"job", job}};
    commit(f, lt, 3, tot, n);
    commit(f, le, 3, err, n);
    br_free(tot);
    br_free(err);
}

static br_slo_def *availability(fixture *f, const char *service, const char *job)
{
    br_slo_def *d = br_slo_def_new(f->set);
    br_arena *a = br_slo_set_arena(f->set);
    d->service = br_arena_strdup(a, service);
    d->name = "availability";
    d->objective = 0.999;
    d->sli.kind = BR_SLI_EVENTS;
    d->sli.bad.kind = BR_SOURCE_COUNTER;
    d->sli.bad.expr = br_arena_printf(a, "requests_errors_total{job=\"%s\"}", job);
    d->sli.total.kind = BR_SOURCE_COUNTER;
    d->sli.total.expr = br_arena_printf(a, "requests_total{job=\"%s\"}", job);
    d->file = "test";
    d->line = 1;
    return d;
}

static void add(fixture *f, br_slo_def *d)
{
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_slo_set_add(f->set, d, false, &err), 0);
}

static const br_slo_status *tick_and_find(br_evaluator *e, int64_t t, const char *id,
                                          br_slo_snapshot **snap)
{
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_evaluator_tick(e, t, &err), 0);
    *snap = br_evaluator_snapshot(e);
    assert_non_null(*snap);
    const br_slo_status *st = br_slo_snapshot_find(*snap, id);
    assert_non_null(st);
    return st;
}

/* ---------------------------------------------------------------- seed */

static void test_seed_budget_is_43_2_minutes_for_99_9_over_30_days(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    write_traffic(&f, "api", T0 - 2 * HOUR_MS, T0, NULL, 0, 0);
    add(&f, availability(&f, "api", "api"));
    br_evaluator_set_slos(f.ev, f.set);
    br_slo_snapshot *snap;
    const br_slo_status *st = tick_and_find(f.ev, T0, "api-availability", &snap);
    assert_true(fabs(st->budget_total_ms / 60000.0 - 43.2) < 1e-9);
    assert_true(st->budget_remaining == 1.0);
    assert_string_equal(st->policy_state->name, "healthy");
    br_slo_snapshot_unref(snap);
    fixture_close(&f);
}

/* Policy states and their "since" survive a restart through the policy
 * store: caution since T0+2h (after a 30-minute outage) is still "since
 * T0+2h, previously healthy" for an evaluator started later on the same
 * store, while one without the stored file starts the state at its first
 * tick. */
static br_evaluator *evaluator_with_store(fixture *f, br_policy_store *ps)
{
    br_evaluator_options eo;
    memset(&eo, 0, sizeof(eo));
    br_queryable_local(f->head, &eo.backend);
    eo.policy_store = ps;
    br_err err;
    br_err_clear(&err);
    br_evaluator *e = br_evaluator_new(&eo, &err);
    assert_non_null(e);
    br_evaluator_set_slos(e, f->set);
    return e;
}

static void test_policy_state_since_survives_a_restart(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    bad_range bad[1] = {{T0 + HOUR_MS, T0 + HOUR_MS + 30 * MIN_MS}};
    write_traffic(&f, "pol", T0 - 31 * DAY_MS, T0 + 4 * HOUR_MS, bad, 1, 0); /* a month of traffic */
    add(&f, availability(&f, "pol", "pol"));
    char *dir = tu_mkdtemp("policy");
    assert_non_null(dir);
    br_err err;
    br_err_clear(&err);
    br_policy_store *ps = NULL;
    assert_int_equal(br_policy_store_open(dir, &ps, &err), 0);
    br_evaluator *a = evaluator_with_store(&f, ps);
    br_slo_snapshot *snap;
    const br_slo_status *st = tick_and_find(a, T0, "pol-availability", &snap);
    assert_string_equal(st->policy_state->name, "healthy");
    br_slo_snapshot_unref(snap);
    st = tick_and_find(a, T0 + 2 * HOUR_MS, "pol-availability", &snap);
    assert_string_equal(st->policy_state->name, "caution");
    assert_true(st->state_since_ms == T0 + 2 * HOUR_MS);
    br_slo_snapshot_unref(snap);
    br_evaluator_free(a);
    br_policy_store_free(ps);

    /* "Restart": a new store read from the file, a new evaluator. */
    assert_int_equal(br_policy_store_open(dir, &ps, &err), 0);
    assert_int_equal(br_policy_store_pending(ps), 1);
    br_evaluator *b = evaluator_with_store(&f, ps);
    st = tick_and_find(b, T0 + 3 * HOUR_MS, "pol-availability", &snap);
    assert_string_equal(st->policy_state->name, "caution");
    assert_true(st->state_since_ms == T0 + 2 * HOUR_MS);
    assert_non_null(st->previous_state);
    assert_string_equal(st->previous_state, "healthy");
    assert_int_equal(br_policy_store_pending(ps), 0);
    br_slo_snapshot_unref(snap);
    br_evaluator_free(b);
    br_policy_store_free(ps);

    /* Without the stored states the state begins at the first tick. */
    char *empty = tu_mkdtemp("policy-empty");
    assert_int_equal(br_policy_store_open(empty, &ps, &err), 0);
    br_evaluator *c = evaluator_with_store(&f, ps);
    st = tick_and_find(c, T0 + 3 * HOUR_MS, "pol-availability", &snap);
    assert_true(st->state_since_ms == T0 + 3 * HOUR_MS);
    br_slo_snapshot_unref(snap);
    br_evaluator_free(c);
    br_policy_store_free(ps);
    tu_rmtree(empty);
    free(empty);
    tu_rmtree(dir);
    free(dir);
    fixture_close(&f);
}

/* The hourly full recount is spread over the hour by SLO: 40 SLOs loaded
 * together recount all at the first tick, then each once per hour at its
 * own phase, never all in one tick (which made every hour's tick as slow
 * as the first); the sums stay equal to a fresh recount. */
static void test_hourly_resync_is_spread_over_the_hour(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    write_traffic(&f, "spread", T0 - 2 * HOUR_MS, T0 + 2 * HOUR_MS, NULL, 0, 0);
    enum { N = 40 };
    for (int i = 0; i < N; i++) {
        char svc[32];
        snprintf(svc, sizeof(svc), "spread%02d", i);
        add(&f, availability(&f, svc, "spread"));
    }
    br_evaluator_set_slos(f.ev, f.set);
    uint64_t most = 0;
    uint64_t after_first = 0;
    for (int64_t t = T0; t <= T0 + 2 * HOUR_MS; t += 30000) {
        br_err err;
        br_err_clear(&err);
        assert_int_equal(br_evaluator_tick(f.ev, t, &err), 0);
        br_slo_snapshot *snap = br_evaluator_snapshot(f.ev);
        if (t == T0) {
            assert_int_equal(snap->full_recounts, N);
        } else {
            most = snap->full_recounts > most ? snap->full_recounts : most;
            after_first += snap->full_recounts;
        }
        br_slo_snapshot_unref(snap);
    }
    /* Two hours: every SLO recounted twice more (once per hour), spread. */
    assert_int_equal(after_first, 2 * N);
    assert_true(most <= N / 4);
    /* Still exact: equal to a fresh evaluator's full count. */
    br_evaluator *fresh = fresh_evaluator(&f);
    br_slo_snapshot *a;
    br_slo_snapshot *b;
    const br_slo_status *x = tick_and_find(f.ev, T0 + 2 * HOUR_MS + 30000, "spread07-availability", &a);
    const br_slo_status *y = tick_and_find(fresh, T0 + 2 * HOUR_MS + 30000, "spread07-availability", &b);
    assert_true(x->period.total == y->period.total && x->period.bad == y->period.bad);
    br_slo_snapshot_unref(a);
    br_slo_snapshot_unref(b);
    br_evaluator_free(fresh);
    fixture_close(&f);
}

/* Seed 3.1: 10 min outage -> 77% left; small incidents of 5 min -> 65%;
 * a 20 min outage -> 19%. Traffic is constant and covers 30 days before
 * the first outage, so every 30-day window holds a month of requests. */
static void test_seed_timeline_77_65_19_percent(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    int64_t day0 = T0;
    bad_range bad[7] = {
        {day0 + 5 * DAY_MS + 10 * HOUR_MS, day0 + 5 * DAY_MS + 10 * HOUR_MS + 10 * MIN_MS},
        {day0 + 7 * DAY_MS, day0 + 7 * DAY_MS + 1 * MIN_MS},
        {day0 + 9 * DAY_MS, day0 + 9 * DAY_MS + 1 * MIN_MS},
        {day0 + 11 * DAY_MS, day0 + 11 * DAY_MS + 1 * MIN_MS},
        {day0 + 13 * DAY_MS, day0 + 13 * DAY_MS + 1 * MIN_MS},
        {day0 + 14 * DAY_MS, day0 + 14 * DAY_MS + 1 * MIN_MS},
        {day0 + 15 * DAY_MS + 12 * HOUR_MS, day0 + 15 * DAY_MS + 12 * HOUR_MS + 20 * MIN_MS},
    };
    write_traffic(&f, "gemini", day0 - 31 * DAY_MS, day0 + 17 * DAY_MS, bad, 7, 0);
    add(&f, availability(&f, "gemini-api", "gemini"));
    struct {
        int64_t at;
        double remaining;
        const char *state;
    } checks[3] = {
        {day0 + 6 * DAY_MS, 1.0 - 10.0 / 43.2, "healthy"},  /* 77% */
        {day0 + 15 * DAY_MS, 1.0 - 15.0 / 43.2, "healthy"}, /* 65% */
        {day0 + 17 * DAY_MS, 1.0 - 35.0 / 43.2, "critical"}, /* 19% */
    };
    for (int i = 0; i < 3; i++) {
        br_evaluator *e = fresh_evaluator(&f);
        br_slo_snapshot *snap;
        const br_slo_status *st = tick_and_find(e, checks[i].at, "gemini-api-availability", &snap);
        assert_true(fabs(st->budget_remaining - checks[i].remaining) < 1e-9);
        assert_string_equal(st->policy_state->name, checks[i].state);
        assert_true(fabs(st->budget_remaining_ms / 60000.0 -
                         43.2 * checks[i].remaining) < 1e-6);
        br_slo_snapshot_unref(snap);
        br_evaluator_free(e);
    }
    assert_int_equal((int)(100 * (1.0 - 10.0 / 43.2) + 0.5), 77);
    assert_int_equal((int)(100 * (1.0 - 15.0 / 43.2) + 0.5), 65);
    assert_int_equal((int)(100 * (1.0 - 35.0 / 43.2) + 0.5), 19);
    fixture_close(&f);
}

/* ---------------------------------------------------------------- tiers */

static void test_workbook_tiers_for_30d_and_scaled_for_7d(void **state)
{
    (void)state;
    br_burn_tier t[4];
    br_slo_default_tiers(30 * DAY_MS, t);
    double want30[4] = {14.4, 6, 3, 1};
    int64_t long_w[4] = {HOUR_MS, 6 * HOUR_MS, DAY_MS, 3 * DAY_MS};
    int64_t short_w[4] = {5 * MIN_MS, 30 * MIN_MS, 2 * HOUR_MS, 6 * HOUR_MS};
    for (int i = 0; i < 4; i++) {
        assert_true(fabs(t[i].factor - want30[i]) < 1e-12);
        assert_true(t[i].long_window_ms == long_w[i]);
        assert_true(t[i].short_window_ms == short_w[i]);
    }
    assert_string_equal(t[0].severity, "page");
    assert_string_equal(t[3].severity, "ticket");
    br_slo_default_tiers(7 * DAY_MS, t);
    /* Same budget shares over a 7-day period: 2% in 1h -> 3.36. */
    assert_true(fabs(t[0].factor - 3.36) < 1e-12);
    assert_true(fabs(t[1].factor - 1.4) < 1e-12);
}

/* A total outage: the page-fast tier (14.4 over 1h and 5m, for 2m) goes
 * pending one minute in, fires after `for`, and clears after the outage
 * leaves the 5m window. Ticks are incremental (every 30 s). */
static void test_fast_burn_page_pending_firing_then_inactive(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, true);
    int64_t start = T0 - 2 * DAY_MS;
    int64_t burst = T0;
    bad_range bad[1] = {{burst, burst + 10 * MIN_MS}};
    write_traffic(&f, "web", start, T0 + HOUR_MS, bad, 1, 0);
    add(&f, availability(&f, "web", "web"));
    br_evaluator_set_slos(f.ev, f.set);
    br_alert_state seen_at[100];
    for (int i = 0; i < 60; i++) {
        int64_t t = burst - 5 * MIN_MS + (int64_t)i * 30000;
        br_slo_snapshot *snap;
        const br_slo_status *st = tick_and_find(f.ev, t, "web-availability", &snap);
        const br_alert_status *page = NULL;
        for (size_t k = 0; k < st->n_alerts; k++) {
            if (strcmp(st->alerts[k].tier, "page-fast") == 0) {
                page = &st->alerts[k];
            }
        }
        assert_non_null(page);
        seen_at[i] = page->state;
        br_slo_snapshot_unref(snap);
    }
    /* i = 10 is the burst start; +1 min (i = 12): 1h burn = 60/3600/0.001 = 16.7 > 14.4. */
    assert_int_equal(seen_at[11], BR_ALERT_INACTIVE);
    assert_int_equal(seen_at[12], BR_ALERT_PENDING);
    assert_int_equal(seen_at[15], BR_ALERT_PENDING);
    assert_int_equal(seen_at[16], BR_ALERT_FIRING); /* pending since i=12, for 2m */
    /* The last bad sample is at i=30; the 5m window (t-5m, t] drops it at i=40. */
    assert_int_equal(seen_at[39], BR_ALERT_FIRING);
    assert_int_equal(seen_at[40], BR_ALERT_INACTIVE);
    assert_true(f.saw_sloth_5m);
    assert_true(f.saw_remaining);
    fixture_close(&f);
}

/* Incremental ticks every 30 s for 3 hours end with the same numbers as a
 * fresh evaluator's full recount. */
static void test_incremental_ticks_equal_full_recount(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    bad_range bad[3] = {{T0 - 3 * DAY_MS, T0 - 3 * DAY_MS + 7 * MIN_MS},
                        {T0 + 20 * MIN_MS, T0 + 26 * MIN_MS},
                        {T0 + 100 * MIN_MS, T0 + 101 * MIN_MS}};
    write_traffic(&f, "inc", T0 - 31 * DAY_MS, T0 + 4 * HOUR_MS, bad, 3, 0.5);
    add(&f, availability(&f, "inc", "inc"));
    br_evaluator_set_slos(f.ev, f.set);
    br_slo_snapshot *snap = NULL;
    for (int i = 0; i <= 360; i++) {
        if (snap) {
            br_slo_snapshot_unref(snap);
        }
        tick_and_find(f.ev, T0 + (int64_t)i * 30000 + 7, "inc-availability", &snap);
    }
    const br_slo_status *a = br_slo_snapshot_find(snap, "inc-availability");
    br_evaluator *e = fresh_evaluator(&f);
    br_slo_snapshot *snap2;
    const br_slo_status *b = tick_and_find(e, T0 + 360 * 30000 + 7, "inc-availability", &snap2);
    assert_int_equal(a->n_windows, b->n_windows);
    for (size_t w = 0; w < a->n_windows; w++) {
        assert_true(a->windows[w].bad == b->windows[w].bad);
        assert_true(a->windows[w].total == b->windows[w].total);
    }
    /* 30 days of 1/s minus nothing: every window's total is its length in seconds. */
    assert_true(b->period.total == 30.0 * 86400);
    assert_true(b->period.bad == (7 + 6 + 1) * 30.0);
    br_slo_snapshot_unref(snap);
    br_slo_snapshot_unref(snap2);
    br_evaluator_free(e);
    fixture_close(&f);
}

/* Samples that arrive after the ticks that covered their times (a
 * backfill) are counted at the next tick, not at the next resync. */
static void test_late_data_is_counted_at_the_next_tick(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    bad_range bad[1] = {{T0 - 10 * MIN_MS, T0 - 9 * MIN_MS}};
    write_traffic(&f, "late", T0 - 2 * MIN_MS, T0 + 5 * MIN_MS, NULL, 0, 0);
    add(&f, availability(&f, "late", "late"));
    br_evaluator_set_slos(f.ev, f.set);
    br_slo_snapshot *snap;
    for (int i = 0; i < 4; i++) {
        tick_and_find(f.ev, T0 + i * 30000, "late-availability", &snap);
        br_slo_snapshot_unref(snap);
    }
    /* An hour of history arrives late, into other series of the same job
     * (the first ones keep going). */
    br_label lt[3] = {{"__name__", "requests_total"}, {"code", "old"}, {"job", "late"}};
    br_label le[3] = {{"__name__", "requests_errors_total"}, {"code", "old"}, {"job", "late"}};
    br_sample tot[61];
    br_sample err[61];
    for (int i = 0; i <= 60; i++) {
        int64_t t = T0 - 60 * MIN_MS + i * MIN_MS;
        tot[i] = (br_sample){t, 60.0 * i};
        err[i] = (br_sample){t, t > bad[0].from ? 60.0 : 0.0}; /* 60 errors in one minute */
    }
    commit(&f, lt, 3, tot, 61);
    commit(&f, le, 3, err, 61);
    const br_slo_status *a = tick_and_find(f.ev, T0 + 4 * 30000, "late-availability", &snap);
    br_evaluator *e = fresh_evaluator(&f);
    br_slo_snapshot *snap2;
    const br_slo_status *b = tick_and_find(e, T0 + 4 * 30000, "late-availability", &snap2);
    for (size_t w = 0; w < a->n_windows; w++) {
        assert_true(a->windows[w].bad == b->windows[w].bad);
        assert_true(a->windows[w].total == b->windows[w].total);
    }
    assert_true(a->period.bad == 60);
    br_slo_snapshot_unref(snap);
    br_slo_snapshot_unref(snap2);
    br_evaluator_free(e);
    fixture_close(&f);
}


/* Issue 10's alert kinds: low traffic holds a page back, the page inhibits
 * the ticket tier, budget-low and no-data tickets. */
static const br_alert_status *row(const br_slo_status *st, const char *tier)
{
    for (size_t k = 0; k < st->n_alerts; k++) {
        if (strcmp(st->alerts[k].tier, tier) == 0) {
            return &st->alerts[k];
        }
    }
    return NULL;
}

static void test_min_events_holds_back_a_page_on_low_traffic(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    bad_range bad[1] = {{T0 - 10 * MIN_MS, T0}};
    write_traffic(&f, "low", T0 - 2 * DAY_MS, T0, bad, 1, 0);
    br_slo_def *d = availability(&f, "low", "low");
    d->alerting.min_events = 3601; /* the 1h window holds 3600 events */
    add(&f, d);
    br_slo_def *d2 = availability(&f, "low2", "low");
    d2->alerting.min_events = 3600;
    add(&f, d2);
    br_evaluator_set_slos(f.ev, f.set);
    br_slo_snapshot *snap;
    const br_slo_status *st = tick_and_find(f.ev, T0, "low-availability", &snap);
    assert_false(row(st, "page-fast")->condition);
    const br_slo_status *st2 = br_slo_snapshot_find(snap, "low2-availability");
    assert_true(row(st2, "page-fast")->condition);
    br_slo_snapshot_unref(snap);
    fixture_close(&f);
}

static void test_page_inhibits_ticket_tier(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    /* Six hours at 50% errors: every tier's condition holds. */
    bad_range bad[1] = {{T0 - 6 * HOUR_MS, T0}};
    write_traffic(&f, "inh", T0 - 4 * DAY_MS, T0, bad, 1, 0.5);
    br_slo_def *d = availability(&f, "inh", "inh");
    d->alerting.inhibit_tickets = true;
    add(&f, d);
    br_slo_def *d2 = availability(&f, "noinh", "inh");
    add(&f, d2);
    br_evaluator_set_slos(f.ev, f.set);
    br_slo_snapshot *snap;
    const br_slo_status *st = tick_and_find(f.ev, T0, "inh-availability", &snap);
    assert_true(row(st, "page-fast")->condition);
    assert_false(row(st, "ticket-fast")->condition);
    const br_slo_status *st2 = br_slo_snapshot_find(snap, "noinh-availability");
    assert_true(row(st2, "ticket-fast")->condition);
    br_slo_snapshot_unref(snap);
    fixture_close(&f);
}

static void test_budget_low_and_no_data_tickets(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    bad_range bad[1] = {{T0 - 2 * DAY_MS, T0 - 2 * DAY_MS + 40 * MIN_MS}};
    /* Traffic stops 20 minutes before T0. */
    write_traffic(&f, "quiet", T0 - 31 * DAY_MS, T0 - 20 * MIN_MS, bad, 1, 0);
    br_slo_def *d = availability(&f, "q", "quiet");
    d->alerting.budget_low_ratio = 0.10;
    d->alerting.no_data_for_ms = 15 * MIN_MS;
    add(&f, d);
    br_evaluator_set_slos(f.ev, f.set);
    br_slo_snapshot *snap;
    const br_slo_status *st = tick_and_find(f.ev, T0, "q-availability", &snap);
    /* 40 bad minutes of a 43.2-minute budget: 7.4% left. */
    assert_true(row(st, "budget-low")->condition);
    assert_true(fabs(row(st, "budget-low")->long_value - (1 - 40.0 / 43.2)) < 1e-3);
    assert_true(row(st, "no-data")->condition);
    assert_true(row(st, "no-data")->long_value == 0);
    br_slo_snapshot_unref(snap);
    /* Ten minutes earlier traffic still flowed in the last 15 minutes. */
    br_evaluator *e = fresh_evaluator(&f);
    st = tick_and_find(e, T0 - 10 * MIN_MS, "q-availability", &snap);
    assert_false(row(st, "no-data")->condition);
    br_slo_snapshot_unref(snap);
    br_evaluator_free(e);
    fixture_close(&f);
}

/* absent_for fires when the SLI's series stop (no sample at all for the
 * window), not when present series carry no traffic; no_data_for fires for
 * both. */
static void test_absent_series_ticket_differs_from_zero_traffic(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    /* "gone": its series end 20 minutes before T0. */
    write_traffic(&f, "gone", T0 - DAY_MS, T0 - 20 * MIN_MS, NULL, 0, 0);
    /* "idle": scraped every minute up to T0, but no request for 30 minutes. */
    write_traffic(&f, "idle", T0 - DAY_MS, T0 - 30 * MIN_MS, NULL, 0, 0);
    const double total_at_stop = 60.0 * (double)((DAY_MS - 30 * MIN_MS) / MIN_MS);
    br_sample flat_t[30];
    br_sample flat_e[30];
    for (int i = 0; i < 30; i++) {
        flat_t[i] = (br_sample){T0 - 29 * MIN_MS + i * MIN_MS, total_at_stop};
        flat_e[i] = (br_sample){T0 - 29 * MIN_MS + i * MIN_MS, 0};
    }
    br_label lt[3] = {{"__name__", "requests_total"}, {"code", "all"}, {"job", "idle"}};
    br_label le[3] = {{"__name__", "requests_errors_total"}, {"code", "5xx"}, {"job", "idle"}};
    commit(&f, lt, 3, flat_t, 30);
    commit(&f, le, 3, flat_e, 30);
    br_slo_def *g = availability(&f, "g", "gone");
    g->alerting.absent_for_ms = 15 * MIN_MS;
    g->alerting.no_data_for_ms = 15 * MIN_MS;
    add(&f, g);
    br_slo_def *i = availability(&f, "i", "idle");
    i->alerting.absent_for_ms = 15 * MIN_MS;
    i->alerting.no_data_for_ms = 15 * MIN_MS;
    add(&f, i);
    br_evaluator_set_slos(f.ev, f.set);
    br_slo_snapshot *snap;
    const br_slo_status *st = tick_and_find(f.ev, T0, "g-availability", &snap);
    assert_true(row(st, "absent")->condition);
    assert_true(row(st, "absent")->long_value == 20 * 60);
    assert_true(row(st, "no-data")->condition);
    const br_slo_status *idle = br_slo_snapshot_find(snap, "i-availability");
    assert_non_null(idle);
    assert_false(row(idle, "absent")->condition);
    assert_true(row(idle, "absent")->long_value == 0);
    assert_true(row(idle, "no-data")->condition);
    br_slo_snapshot_unref(snap);
    /* Ten minutes earlier "gone" had a sample 10 minutes old: not absent yet. */
    br_evaluator *e = fresh_evaluator(&f);
    st = tick_and_find(e, T0 - 10 * MIN_MS, "g-availability", &snap);
    assert_false(row(st, "absent")->condition);
    br_slo_snapshot_unref(snap);
    br_evaluator_free(e);
    fixture_close(&f);
}

/* ---------------------------------------------------------------- sources */

static void test_grouping_fans_out_one_instance_per_value(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    write_traffic(&f, "a", T0 - HOUR_MS, T0, NULL, 0, 0);
    bad_range bad[1] = {{T0 - 30 * MIN_MS, T0 - 29 * MIN_MS}};
    write_traffic(&f, "b", T0 - HOUR_MS, T0, bad, 1, 0);
    br_slo_def *d = availability(&f, "shop", "a");
    d->sli.bad.expr = "requests_errors_total";
    d->sli.total.expr = "requests_total";
    static const char *by[1] = {"job"};
    d->grouping = by;
    d->n_grouping = 1;
    add(&f, d);
    br_evaluator_set_slos(f.ev, f.set);
    br_slo_snapshot *snap;
    const br_slo_status *a = tick_and_find(f.ev, T0, "shop-availability{job=\"a\"}", &snap);
    assert_true(a->period.bad == 0);
    assert_true(a->period.total == 3600);
    const br_slo_status *b = br_slo_snapshot_find(snap, "shop-availability{job=\"b\"}");
    assert_non_null(b);
    assert_true(b->period.bad == 60);
    assert_int_equal(b->n_group_labels, 1);
    assert_string_equal(b->group_labels[0].value, "b");
    assert_int_equal(snap->n_slos, 2);
    br_slo_snapshot_unref(snap);
    fixture_close(&f);
}

/* Latency from a classic histogram: good = bucket le == 0.5 whatever its
 * spelling ("0.50"), total = _count. */
static void test_good_events_from_le_bucket_match_numerically(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    br_sample b05[2] = {{T0 - HOUR_MS, 0}, {T0, 900}};
    br_sample b1[2] = {{T0 - HOUR_MS, 0}, {T0, 990}};
    br_sample cnt[2] = {{T0 - HOUR_MS, 0}, {T0, 1000}};
    br_label l05[3] = {{"__name__", "lat_bucket"}, {"job", "x"}, {"le", "0.50"}};
    br_label l1[3] = {{"__name__", "lat_bucket"}, {"job", "x"}, {"le", "1"}};
    br_label lc[2] = {{"__name__", "lat_count"}, {"job", "x"}};
    commit(&f, l05, 3, b05, 2);
    commit(&f, l1, 3, b1, 2);
    commit(&f, lc, 2, cnt, 2);
    br_slo_def *d = br_slo_def_new(f.set);
    d->service = "x";
    d->name = "latency";
    d->objective = 0.95;
    d->sli.kind = BR_SLI_EVENTS;
    d->sli.good.kind = BR_SOURCE_COUNTER;
    d->sli.good.expr = "lat_bucket{job=\"x\"}";
    d->sli.good.le = 0.5;
    d->sli.total.kind = BR_SOURCE_COUNTER;
    d->sli.total.expr = "lat_count{job=\"x\"}";
    add(&f, d);
    br_evaluator_set_slos(f.ev, f.set);
    br_slo_snapshot *snap;
    const br_slo_status *st = tick_and_find(f.ev, T0, "x-latency", &snap);
    assert_true(st->period.bad == 100);
    assert_true(st->period.total == 1000);
    assert_true(fabs(st->sli - 0.9) < 1e-12);
    assert_true(fabs(st->budget_remaining - (1.0 - 0.1 / 0.05)) < 1e-12); /* -1: overspent */
    assert_string_equal(st->policy_state->name, "exhausted");
    br_slo_snapshot_unref(snap);
    fixture_close(&f);
}

static void test_bool_gauge_counts_samples(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    br_sample s[10];
    for (int i = 0; i < 10; i++) {
        s[i] = (br_sample){T0 - 9 * MIN_MS + i * MIN_MS, i == 4 ? 0.0 : 1.0};
    }
    br_label l[2] = {{"__name__", "probe_success"}, {"job", "bb"}};
    commit(&f, l, 2, s, 10);
    br_slo_def *d = br_slo_def_new(f.set);
    d->service = "bb";
    d->name = "probe";
    d->objective = 0.99;
    d->sli.kind = BR_SLI_EVENTS;
    d->sli.good.kind = BR_SOURCE_BOOL_GAUGE;
    d->sli.good.expr = "probe_success";
    d->sli.total.kind = BR_SOURCE_BOOL_GAUGE;
    d->sli.total.expr = "probe_success";
    add(&f, d);
    br_evaluator_set_slos(f.ev, f.set);
    br_slo_snapshot *snap;
    const br_slo_status *st = tick_and_find(f.ev, T0, "bb-probe", &snap);
    assert_true(st->period.total == 10);
    assert_true(st->period.bad == 1);
    br_slo_snapshot_unref(snap);
    fixture_close(&f);
}

static void test_no_traffic_is_no_data_not_100_percent(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    add(&f, availability(&f, "ghost", "ghost"));
    br_evaluator_set_slos(f.ev, f.set);
    br_slo_snapshot *snap;
    const br_slo_status *st = tick_and_find(f.ev, T0, "ghost-availability", &snap);
    assert_true(st->no_data);
    assert_true(isnan(st->sli));
    assert_true(isnan(st->budget_remaining));
    assert_null(st->policy_state);
    br_slo_snapshot_unref(snap);
    fixture_close(&f);
}

/* A missing error series means zero errors, not no data. */
static void test_missing_error_series_means_zero_errors(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    br_sample tot[2] = {{T0 - HOUR_MS, 0}, {T0, 500}};
    br_label lt[2] = {{"__name__", "requests_total"}, {"job", "quiet"}};
    commit(&f, lt, 2, tot, 2);
    add(&f, availability(&f, "quiet", "quiet"));
    br_evaluator_set_slos(f.ev, f.set);
    br_slo_snapshot *snap;
    const br_slo_status *st = tick_and_find(f.ev, T0, "quiet-availability", &snap);
    assert_false(st->no_data);
    assert_true(st->sli == 1.0);
    assert_true(st->budget_remaining == 1.0);
    br_slo_snapshot_unref(snap);
    fixture_close(&f);
}

/* Counter resets inside the window are counted as Prometheus does. */
static void test_counter_reset_counts_new_value(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    br_sample tot[4] = {{T0 - 30 * MIN_MS, 100}, {T0 - 20 * MIN_MS, 200}, {T0 - 10 * MIN_MS, 50},
                        {T0, 150}};
    br_sample bad[4] = {{T0 - 30 * MIN_MS, 10}, {T0 - 20 * MIN_MS, 12}, {T0 - 10 * MIN_MS, 1},
                        {T0, 2}};
    br_label lt[2] = {{"__name__", "requests_total"}, {"job", "r"}};
    br_label lb[2] = {{"__name__", "requests_errors_total"}, {"job", "r"}};
    commit(&f, lt, 2, tot, 4);
    commit(&f, lb, 2, bad, 4);
    add(&f, availability(&f, "r", "r"));
    br_evaluator_set_slos(f.ev, f.set);
    br_slo_snapshot *snap;
    const br_slo_status *st = tick_and_find(f.ev, T0, "r-availability", &snap);
    assert_true(st->period.total == 100 + 50 + 100);
    assert_true(st->period.bad == 2 + 1 + 1);
    br_slo_snapshot_unref(snap);
    fixture_close(&f);
}

/* ---------------------------------------------------------------- periods, slices */

static void test_calendar_month_counts_from_the_first_of_the_month(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    /* T0 is 2026-01-01; errors on Dec 31 must not count in January. */
    bad_range bad[2] = {{T0 - 2 * HOUR_MS, T0 - HOUR_MS}, {T0 + HOUR_MS, T0 + HOUR_MS + MIN_MS}};
    write_traffic(&f, "cal", T0 - DAY_MS, T0 + 2 * DAY_MS, bad, 2, 0);
    br_slo_def *d = availability(&f, "cal", "cal");
    d->period.kind = BR_PERIOD_CALENDAR;
    d->period.unit = BR_CAL_MONTH;
    d->period.count = 1;
    add(&f, d);
    br_evaluator_set_slos(f.ev, f.set);
    br_slo_snapshot *snap;
    const br_slo_status *st = tick_and_find(f.ev, T0 + 2 * DAY_MS, "cal-availability", &snap);
    assert_true(st->period_start_ms == T0);
    assert_true(st->period.bad == 60);
    assert_true(st->period.total == 2 * 86400);
    br_slo_snapshot_unref(snap);
    fixture_close(&f);
}

/* Calendar periods of several units, with and without an anchor date:
 * two ISO weeks from Monday 1969-12-29, two weeks from a Sunday anchor, two
 * months from January, and months anchored on the 31st (clamped to
 * February's 28th). Each status gives the period's start and end. */
static void test_calendar_count_and_anchor_set_the_period(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    const int64_t feb20 = 1771545600000LL;
    const int64_t feb28 = 1772236800000LL;
    const int64_t now = feb28 + 12 * HOUR_MS;
    write_traffic(&f, "cal", feb20, now, NULL, 0, 0);
    struct {
        const char *service;
        br_calendar_unit unit;
        int count;
        bool anchored;
        const char *anchor;
        int64_t start, end;
    } cases[] = {
        {"fortnight", BR_CAL_WEEK, 2, false, NULL, 1771804800000LL, 1773014400000LL},
        {"sunday", BR_CAL_WEEK, 2, true, "2026-01-04", 1771113600000LL, 1772323200000LL},
        {"bimonth", BR_CAL_MONTH, 2, false, NULL, 1767225600000LL, 1772323200000LL},
        {"month31", BR_CAL_MONTH, 1, true, "2025-12-31 00:00:00", feb28, 1774915200000LL},
    };
    enum { N = sizeof(cases) / sizeof(cases[0]) };
    for (size_t i = 0; i < N; i++) {
        br_slo_def *d = availability(&f, cases[i].service, "cal");
        d->period.kind = BR_PERIOD_CALENDAR;
        d->period.unit = cases[i].unit;
        d->period.count = cases[i].count;
        d->period.anchored = cases[i].anchored;
        if (cases[i].anchor != NULL) {
            assert_int_equal(br_slo_parse_anchor_date(cases[i].anchor, &d->period.anchor_day), 0);
        }
        add(&f, d);
    }
    br_evaluator_set_slos(f.ev, f.set);
    br_slo_snapshot *snap = NULL;
    (void)tick_and_find(f.ev, now, "fortnight-availability", &snap);
    for (size_t i = 0; i < N; i++) {
        char id[64];
        snprintf(id, sizeof(id), "%s-availability", cases[i].service);
        const br_slo_status *st = br_slo_snapshot_find(snap, id);
        assert_non_null(st);
        if (st->period_start_ms != cases[i].start || st->period_end_ms != cases[i].end) {
            print_error("%s: period %lld..%lld, want %lld..%lld\n", id,
                        (long long)st->period_start_ms, (long long)st->period_end_ms,
                        (long long)cases[i].start, (long long)cases[i].end);
            fail();
        }
    }
    /* Counting starts at the period start: 12 h of 1 event/s since Feb 28. */
    const br_slo_status *m31 = br_slo_snapshot_find(snap, "month31-availability");
    assert_true(m31->period.total == 12 * 3600);
    br_slo_snapshot_unref(snap);
    fixture_close(&f);
}

/* A calendar period in an IANA zone starts at local midnight with the
 * offset in force at that midnight: on 2026-03-29 (Paris springs forward
 * at 01:00Z) the day began at 23:00Z the day before and March at
 * 2026-02-28T23:00Z, both in winter time, although the tick is in summer
 * time (UTC+2 would give 22:00Z). */
static void test_calendar_period_in_time_zone_starts_at_local_midnight(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    const br_tz *paris = NULL;
    br_err err;
    br_err_clear(&err);
    int rc = br_slo_set_time_zone(f.set, "Europe/Paris", &paris, &err);
    if (rc == BR_ENOTFOUND) {
        fixture_close(&f);
        print_message("skipping: %s; install tzdata\n", err.msg);
        skip();
    }
    assert_int_equal(rc, 0);
    const int64_t feb28 = T0 + 58 * DAY_MS;             /* 2026-02-28T00:00Z */
    const int64_t march_start = feb28 + 23 * HOUR_MS;   /* March 1 00:00 CET */
    const int64_t day_start = T0 + 86 * DAY_MS + 23 * HOUR_MS; /* March 29 00:00 CET */
    const int64_t now = day_start + 13 * HOUR_MS;       /* 2026-03-29T12:00Z, CEST */
    /* One bad minute late on March 28 (Paris), one early on March 29. */
    bad_range bad[2] = {{day_start - 30 * MIN_MS, day_start - 29 * MIN_MS},
                        {day_start + 90 * MIN_MS, day_start + 91 * MIN_MS}};
    write_traffic(&f, "paris", feb28, now, bad, 2, 0);
    br_slo_def *month = availability(&f, "paris", "paris");
    month->period.kind = BR_PERIOD_CALENDAR;
    month->period.unit = BR_CAL_MONTH;
    month->period.count = 1;
    month->period.time_zone = "Europe/Paris";
    month->period.tz = paris;
    add(&f, month);
    br_slo_def *day = availability(&f, "parisday", "paris");
    day->period.kind = BR_PERIOD_CALENDAR;
    day->period.unit = BR_CAL_DAY;
    day->period.count = 1;
    day->period.time_zone = "Europe/Paris";
    day->period.tz = paris;
    add(&f, day);
    br_evaluator_set_slos(f.ev, f.set);

    br_slo_snapshot *snap;
    const br_slo_status *st = tick_and_find(f.ev, now, "paris-availability", &snap);
    assert_true(st->period_start_ms == march_start);
    assert_true(st->period_start_ms == 1772319600000LL);
    assert_true(st->period.bad == 120);
    assert_true(st->period.total == (double)(now - march_start) / 1000);
    const br_slo_status *sd = br_slo_snapshot_find(snap, "parisday-availability");
    assert_non_null(sd);
    assert_true(sd->period_start_ms == day_start);
    assert_true(sd->period_start_ms == 1774738800000LL);
    assert_true(sd->period.bad == 60);
    assert_true(sd->period.total == 13 * 3600);
    br_slo_snapshot_unref(snap);
    fixture_close(&f);
}

/* Time slices: 5-minute slices are bad when their success ratio is below
 * 99%; the budget counts bad slices. */
static void test_timeslices_budget_counts_bad_slices(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    /* One bad minute (all requests fail) at T0-1h: its slice is 80% good. */
    bad_range bad[1] = {{T0 - HOUR_MS - MIN_MS, T0 - HOUR_MS}};
    write_traffic(&f, "ts", T0 - 2 * DAY_MS, T0, bad, 1, 0);
    br_slo_def *d = availability(&f, "ts", "ts");
    d->budgeting = BR_BUDGET_TIMESLICES;
    d->slice_ms = 5 * MIN_MS;
    d->slice_target = 0.99;
    d->period.duration_ms = DAY_MS;
    add(&f, d);
    br_evaluator_set_slos(f.ev, f.set);
    br_slo_snapshot *snap;
    const br_slo_status *st = tick_and_find(f.ev, T0, "ts-availability", &snap);
    /* Complete slices in the settled day: 288 minus the still-open ones. */
    assert_true(st->period.bad == 1);
    assert_true(st->period.total >= 286 && st->period.total <= 288);
    assert_true(fabs(st->budget_consumed - (1.0 / st->period.total) / 0.001) < 1e-9);
    br_slo_snapshot_unref(snap);
    /* History counts the slices of each step's own day. */
    br_slo_source src;
    br_evaluator_source(f.ev, &src);
    br_arena arena;
    br_arena_init(&arena, 64 * 1024, 0);
    br_history hist;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(src.history(src.ctx, "ts-availability", T0 - 2 * HOUR_MS, T0, HOUR_MS, 100,
                                 &arena, &hist, &err),
                     0);
    assert_int_equal(hist.n, 3);
    assert_true(fabs(hist.points[0].budget_remaining - 1.0) < 1e-12); /* before the bad minute */
    assert_true(fabs(hist.points[2].budget_remaining - (1.0 - (1.0 / 288) / 0.001)) < 1e-9);
    /* The bad slice ends at T0-1h: in the hour ending then, not in the next. */
    assert_true(fabs(hist.points[1].burn_rate_1h - (1.0 / 12) / 0.001) < 1e-9);
    assert_true(hist.points[2].burn_rate_1h == 0.0);
    br_arena_free(&arena);
    fixture_close(&f);
}

/* ---------------------------------------------------------------- history */

static void test_history_matches_evaluations_at_each_step(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    bad_range bad[2] = {{T0 - 20 * HOUR_MS, T0 - 20 * HOUR_MS + 10 * MIN_MS},
                        {T0 - 5 * HOUR_MS, T0 - 5 * HOUR_MS + 3 * MIN_MS}};
    write_traffic(&f, "h", T0 - 31 * DAY_MS, T0, bad, 2, 0);
    add(&f, availability(&f, "h", "h"));
    br_evaluator_set_slos(f.ev, f.set);
    br_slo_snapshot *snap;
    tick_and_find(f.ev, T0, "h-availability", &snap);
    br_slo_snapshot_unref(snap);
    br_slo_source src;
    br_evaluator_source(f.ev, &src);
    br_arena arena;
    br_arena_init(&arena, 64 * 1024, 0);
    br_history hist;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(src.history(src.ctx, "h-availability", T0 - DAY_MS, T0, HOUR_MS, 1000,
                                 &arena, &hist, &err),
                     0);
    assert_int_equal(hist.n, 25);
    for (size_t i = 0; i < hist.n; i += 6) {
        br_evaluator *e = fresh_evaluator(&f);
        const br_slo_status *st =
            tick_and_find(e, hist.points[i].t_ms, "h-availability", &snap);
        assert_true(fabs(st->budget_remaining - hist.points[i].budget_remaining) < 1e-12);
        br_slo_snapshot_unref(snap);
        br_evaluator_free(e);
    }
    assert_true(fabs(hist.points[24].budget_remaining - (1.0 - 13.0 / 43.2)) < 1e-9);
    assert_true(fabs(hist.points[0].budget_remaining - 1.0) < 1e-12);
    assert_int_equal(src.history(src.ctx, "nope", T0 - DAY_MS, T0, HOUR_MS, 1000, &arena, &hist,
                                 &err),
                     BR_ENOTFOUND);
    assert_int_equal(src.history(src.ctx, "h-availability", T0 - DAY_MS, T0, 1000, 100, &arena,
                                 &hist, &err),
                     BR_ELIMIT);
    br_arena_free(&arena);
    fixture_close(&f);
}

/* ---------------------------------------------------------------- adjustments */

/* A one-off adjustment (start, start + dur] in f's set arena. */
static void with_adjustment(fixture *f, br_slo_def *d, int64_t start, int64_t dur)
{
    br_adjustment *a = br_arena_calloc(br_slo_set_arena(f->set), 1, sizeof(*a));
    a->name = "db-maintenance";
    a->category = BR_ADJUST_MAINTENANCE;
    a->start_ms = start;
    a->duration_ms = dur;
    d->adjustments = a;
    d->n_adjustments = 1;
}

static const br_window_status *window_of(const br_slo_status *st, int64_t w)
{
    for (size_t i = 0; i < st->n_windows; i++) {
        if (st->windows[i].window_ms == w) {
            return &st->windows[i];
        }
    }
    fail_msg("no window %lld", (long long)w);
    return NULL;
}

/* Two days of 60 requests/min; a 10 min outage at T0-10h inside a
 * maintenance hour (T0-10h30m, T0-9h30m], a 5 min outage at T0-5h outside.
 * The hour's 3600 requests and 600 errors leave the period and the 1d
 * window: period 300 bad of 172800 - 3600. */
static void test_maintenance_window_removes_exactly_its_errors(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    bad_range bad[2] = {{T0 - 10 * HOUR_MS, T0 - 10 * HOUR_MS + 10 * MIN_MS},
                        {T0 - 5 * HOUR_MS, T0 - 5 * HOUR_MS + 5 * MIN_MS}};
    write_traffic(&f, "api", T0 - 2 * DAY_MS, T0, bad, 2, 0);
    br_slo_def *d = availability(&f, "api", "api");
    with_adjustment(&f, d, T0 - 10 * HOUR_MS - 30 * MIN_MS, HOUR_MS);
    add(&f, d);
    br_evaluator_set_slos(f.ev, f.set);
    br_slo_snapshot *snap;
    const br_slo_status *st = tick_and_find(f.ev, T0, "api-availability", &snap);
    assert_true(st->period.bad == 300);
    assert_true(st->period.total == 172800 - 3600);
    assert_true(fabs(st->budget_consumed - (300.0 / 169200.0) / 0.001) < 1e-12);
    const br_window_status *d1 = window_of(st, DAY_MS);
    assert_true(d1->bad == 300);
    assert_true(d1->total == 86400 - 3600);
    assert_true(fabs(d1->burn_rate - (300.0 / 82800.0) / 0.001) < 1e-12);
    /* What the adjustment restored. */
    assert_int_equal(st->n_adjustments, 1);
    assert_true(st->adjustments[0].events_excluded == 3600);
    assert_true(st->adjustments[0].errors_excluded == 600);
    assert_int_equal(st->adjustments[0].excluded_ms, HOUR_MS);
    assert_false(st->adjustments[0].active);
    assert_true(st->excluded_errors == 600);
    br_slo_snapshot_unref(snap);
    /* Increments keep it exact: a tick 30s later, traffic unchanged. */
    st = tick_and_find(f.ev, T0 + 30000, "api-availability", &snap);
    assert_true(st->period.bad == 300);
    br_slo_snapshot_unref(snap);
    fixture_close(&f);
}

/* The same data evaluated first without, then (after a reload) with the
 * adjustment: the next tick recounts the whole period. */
static void test_adjustment_added_after_the_fact_is_recounted(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    bad_range bad[2] = {{T0 - 10 * HOUR_MS, T0 - 10 * HOUR_MS + 10 * MIN_MS},
                        {T0 - 5 * HOUR_MS, T0 - 5 * HOUR_MS + 5 * MIN_MS}};
    write_traffic(&f, "api", T0 - 2 * DAY_MS, T0 + HOUR_MS, bad, 2, 0);
    add(&f, availability(&f, "api", "api"));
    br_evaluator_set_slos(f.ev, f.set);
    br_slo_snapshot *snap;
    const br_slo_status *st = tick_and_find(f.ev, T0, "api-availability", &snap);
    assert_true(st->period.bad == 900);
    br_slo_snapshot_unref(snap);
    st = tick_and_find(f.ev, T0 + 30000, "api-availability", &snap);
    assert_true(st->period.bad == 900);
    br_slo_snapshot_unref(snap);
    /* Reload: the same SLO, now with the maintenance hour. */
    br_slo_set *next = br_slo_set_new();
    br_slo_set *keep = f.set;
    f.set = next;
    br_slo_def *d = availability(&f, "api", "api");
    with_adjustment(&f, d, T0 - 10 * HOUR_MS - 30 * MIN_MS, HOUR_MS);
    add(&f, d);
    br_evaluator_set_slos(f.ev, next);
    st = tick_and_find(f.ev, T0 + 60000, "api-availability", &snap);
    assert_true(st->period.bad == 300);
    assert_true(st->adjustments[0].errors_excluded == 600);
    br_slo_snapshot_unref(snap);
    br_slo_set_unref(keep);
    fixture_close(&f);
}

/* Time slices: the slices of an excluded hour are neither good nor bad. */
static void test_timeslices_inside_adjustment_count_as_neither(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    bad_range bad[1] = {{T0 - HOUR_MS - MIN_MS, T0 - HOUR_MS}};
    write_traffic(&f, "ts", T0 - 2 * DAY_MS, T0, bad, 1, 0);
    br_slo_def *d = availability(&f, "ts", "ts");
    d->budgeting = BR_BUDGET_TIMESLICES;
    d->slice_ms = 5 * MIN_MS;
    d->slice_target = 0.99;
    d->period.duration_ms = DAY_MS;
    with_adjustment(&f, d, T0 - 2 * HOUR_MS, HOUR_MS); /* 12 whole slices */
    add(&f, d);
    br_evaluator_set_slos(f.ev, f.set);
    br_slo_snapshot *snap;
    const br_slo_status *st = tick_and_find(f.ev, T0, "ts-availability", &snap);
    assert_true(st->period.bad == 0);
    assert_true(st->period.total >= 286 - 12 && st->period.total <= 288 - 12);
    br_slo_snapshot_unref(snap);
    fixture_close(&f);
}

/* ---------------------------------------------------------------- composites */

/* api (10 min outage in 2 days) weight 3, db (no errors) weight 1, and a
 * component without any traffic, weight 5, which is left out: the
 * composite's error ratio is (3 * 600/172800 + 1 * 0) / 4. */
static void test_composite_budget_is_the_weighted_combination(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    bad_range bad[1] = {{T0 - 10 * HOUR_MS, T0 - 10 * HOUR_MS + 10 * MIN_MS}};
    write_traffic(&f, "api", T0 - 2 * DAY_MS, T0, bad, 1, 0);
    write_traffic(&f, "db", T0 - 2 * DAY_MS, T0, NULL, 0, 0);
    add(&f, availability(&f, "api", "api"));
    add(&f, availability(&f, "db", "db"));
    add(&f, availability(&f, "ghost", "ghost"));
    br_slo_def *c = br_slo_def_new(f.set);
    c->service = "checkout";
    c->name = "journey";
    c->objective = 0.99;
    c->sli.kind = BR_SLI_RAW;
    c->sli.query = "composite";
    c->file = "test";
    c->line = 1;
    br_composite_component *cs =
        br_arena_calloc(br_slo_set_arena(f.set), 3, sizeof(br_composite_component));
    cs[0] = (br_composite_component){"api-availability", 3, 0, 0};
    cs[1] = (br_composite_component){"db-availability", 1, 0, 0};
    cs[2] = (br_composite_component){"ghost-availability", 5, 0, 0};
    c->components = cs;
    c->n_components = 3;
    add(&f, c);
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_slo_set_check_composites(f.set, &err), 0);
    br_evaluator_set_slos(f.ev, f.set);
    br_slo_snapshot *snap;
    const br_slo_status *st = tick_and_find(f.ev, T0, "checkout-journey", &snap);
    double want = (3.0 * (600.0 / 172800.0) + 0.0) / 4.0;
    assert_true(fabs(st->period.error_ratio - want) < 1e-15);
    assert_true(fabs(st->budget_consumed - want / 0.01) < 1e-12);
    assert_true(fabs(st->budget_remaining - (1.0 - want / 0.01)) < 1e-12);
    /* The last 5 minutes had no errors anywhere: ratio 0, not no data. */
    assert_true(window_of(st, 5 * MIN_MS)->error_ratio == 0.0);
    /* The 1d window: api's 600 of 86400. */
    assert_true(fabs(window_of(st, DAY_MS)->error_ratio - 3.0 * (600.0 / 86400.0) / 4.0) <
                1e-15);
    br_slo_snapshot_unref(snap);
    fixture_close(&f);
}

static void test_composite_cycle_and_unknown_component_are_errors(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    br_slo_def *a = br_slo_def_new(f.set);
    a->service = "x";
    a->name = "a";
    a->objective = 0.99;
    a->sli.kind = BR_SLI_RAW;
    a->sli.query = "composite";
    a->file = "f.yml";
    a->line = 1;
    br_composite_component *ca =
        br_arena_calloc(br_slo_set_arena(f.set), 1, sizeof(br_composite_component));
    ca[0] = (br_composite_component){"x-b", 1, 7, 9};
    a->components = ca;
    a->n_components = 1;
    add(&f, a);
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_slo_set_check_composites(f.set, &err), BR_EINVAL);
    assert_non_null(strstr(err.msg, "unknown component SLO \"x-b\""));
    assert_int_equal(err.line, 7);
    assert_int_equal(err.col, 9);
    br_slo_def *b = br_slo_def_new(f.set);
    b->service = "x";
    b->name = "b";
    b->objective = 0.99;
    b->sli.kind = BR_SLI_RAW;
    b->sli.query = "composite";
    b->file = "f.yml";
    b->line = 2;
    br_composite_component *cb =
        br_arena_calloc(br_slo_set_arena(f.set), 1, sizeof(br_composite_component));
    cb[0] = (br_composite_component){"x-a", 1, 8, 9};
    b->components = cb;
    b->n_components = 1;
    add(&f, b);
    br_err_clear(&err);
    assert_int_equal(br_slo_set_check_composites(f.set, &err), BR_EINVAL);
    assert_non_null(strstr(err.msg, "makes a cycle"));
    fixture_close(&f);
}

/* ---------------------------------------------------------------- replay */

/* Every recorded sample an evaluator hands to append, in arrival order;
 * with head set, also committed there (as the server does). */
typedef struct rec_point {
    char *key; /* name and labels */
    int64_t t;
    double v;
    size_t seq; /* arrival order */
} rec_point;

typedef struct recorder {
    rec_point *p;
    size_t n;
    size_t cap;
    br_head *head;
    uint64_t rejected;
} recorder;

static int recorder_append(void *ctx, const br_series_input *in, size_t n, br_err *err)
{
    recorder *r = ctx;
    for (size_t i = 0; i < n; i++) {
        char key[1024];
        size_t o = 0;
        key[0] = '\0';
        for (size_t k = 0; k < in[i].n_labels && o < sizeof(key); k++) {
            int w = snprintf(key + o, sizeof(key) - o, "%s=%s,", in[i].labels[k].name,
                             in[i].labels[k].value);
            assert_true(w > 0 && (size_t)w < sizeof(key) - o);
            o += (size_t)w;
        }
        for (size_t s = 0; s < in[i].n_samples; s++) {
            if (r->n == r->cap) {
                r->cap = r->cap ? r->cap * 2 : 1024;
                r->p = br_realloc(r->p, r->cap * sizeof(*r->p));
            }
            r->p[r->n] = (rec_point){br_strdup(key), in[i].samples[s].t, in[i].samples[s].v,
                                     r->n};
            r->n++;
        }
    }
    if (r->head != NULL) {
        br_commit_result res;
        int rc = br_head_commit(r->head, in, n, &res, err);
        r->rejected += br_commit_rejected(&res);
        return rc;
    }
    return 0;
}

static void recorder_free(recorder *r)
{
    for (size_t i = 0; i < r->n; i++) {
        br_free(r->p[i].key);
    }
    br_free(r->p);
}

static int cmp_point(const void *a, const void *b)
{
    const rec_point *x = a;
    const rec_point *y = b;
    int c = strcmp(x->key, y->key);
    if (c != 0) {
        return c;
    }
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Sorts by series, keeping arrival order, and checks that every series
 * got strictly increasing timestamps (nothing twice, oldest first). */
static void recorder_sort_and_check_order(recorder *r)
{
    qsort(r->p, r->n, sizeof(*r->p), cmp_point);
    for (size_t i = 1; i < r->n; i++) {
        if (strcmp(r->p[i].key, r->p[i - 1].key) == 0 && r->p[i].t <= r->p[i - 1].t) {
            fail_msg("series %s: sample at %lld after one at %lld", r->p[i].key,
                     (long long)r->p[i].t, (long long)r->p[i - 1].t);
        }
    }
}

/* The sample of series key at t in a sorted recorder, or NULL. */
static const rec_point *recorder_find(const recorder *r, const char *key, int64_t t)
{
    size_t lo = 0;
    size_t hi = r->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(r->p[mid].key, key);
        if (c < 0 || (c == 0 && r->p[mid].t < t)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < r->n && strcmp(r->p[lo].key, key) == 0 && r->p[lo].t == t) {
        return &r->p[lo];
    }
    return NULL;
}

static bool is_alerts(const char *key)
{
    return strncmp(key, "__name__=ALERTS", 15) == 0;
}

/* Samples at t, ALERTS and ALERTS_FOR_STATE included or not. */
static size_t recorder_count_at(const recorder *r, int64_t t, bool with_alerts)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++) {
        n += r->p[i].t == t && (with_alerts || !is_alerts(r->p[i].key));
    }
    return n;
}

static size_t recorder_count_before(const recorder *r, int64_t t)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++) {
        n += r->p[i].t < t;
    }
    return n;
}

static br_evaluator *recording_evaluator(br_head *head, recorder *r, uint32_t max_steps)
{
    br_evaluator_options eo;
    memset(&eo, 0, sizeof(eo));
    br_queryable_local(head, &eo.backend);
    eo.interval_ms = 30000;
    eo.append = recorder_append;
    eo.append_ctx = r;
    eo.replay_max_steps = max_steps;
    eo.replay_budget_ms = 3600 * 1000; /* steps bound the work: deterministic */
    br_err err;
    br_err_clear(&err);
    br_evaluator *e = br_evaluator_new(&eo, &err);
    assert_non_null(e);
    return e;
}

/* A set with an availability SLO on job "rp" (30d) and a time-slice one
 * (5m slices over 1d) on the same series, both replaying max_ms back. */
static br_slo_set *replay_set(int64_t max_ms, double objective, const char *total_expr)
{
    br_slo_set *set = br_slo_set_new();
    br_arena *a = br_slo_set_arena(set);
    for (int k = 0; k < 2; k++) {
        br_slo_def *d = br_slo_def_new(set);
        d->service = "rp";
        d->name = k == 0 ? "availability" : "slices";
        d->objective = objective;
        d->sli.kind = BR_SLI_EVENTS;
        d->sli.bad.kind = BR_SOURCE_COUNTER;
        d->sli.bad.expr = "requests_errors_total{job=\"rp\"}";
        d->sli.total.kind = BR_SOURCE_COUNTER;
        d->sli.total.expr = br_arena_strdup(a, total_expr);
        if (k == 1) {
            d->budgeting = BR_BUDGET_TIMESLICES;
            d->slice_ms = 5 * MIN_MS;
            d->slice_target = 0.99;
            d->period.duration_ms = DAY_MS;
        }
        d->file = "test";
        d->line = 1 + k;
        br_err err;
        br_err_clear(&err);
        assert_int_equal(br_slo_set_add(set, d, false, &err), 0);
        d->replay_max_ms = max_ms; /* after add, which defaults it to the period */
    }
    return set;
}

#define RP_TOTAL "requests_total{job=\"rp\"}"

/* Two days of traffic on job "rp" with outages before and during the
 * replayed range. */
static void replay_traffic(fixture *f, int64_t to)
{
    bad_range bad[4] = {{T0 - 20 * HOUR_MS, T0 - 20 * HOUR_MS + 10 * MIN_MS},
                        {T0 + 30 * MIN_MS, T0 + 37 * MIN_MS},
                        {T0 + 2 * HOUR_MS, T0 + 2 * HOUR_MS + 2 * MIN_MS},
                        {T0 + 5 * HOUR_MS, T0 + 5 * HOUR_MS + 20 * MIN_MS}};
    write_traffic(f, "rp", T0 - 2 * DAY_MS, to, bad, 4, 0.25);
}

static void tick_ok(br_evaluator *e, int64_t t)
{
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_evaluator_tick(e, t, &err), 0);
}

static double progress_of(br_evaluator *e, const char *id)
{
    br_slo_snapshot *snap = br_evaluator_snapshot(e);
    assert_non_null(snap);
    const br_slo_status *st = br_slo_snapshot_find(snap, id);
    assert_non_null(st);
    double p = st->replay_progress;
    br_slo_snapshot_unref(snap);
    return p;
}

/* One evaluator ticks every 30 s through six hours (run-all-along);
 * another is created at the end with the SLOs added then and replays
 * them: every replayed sample equals the first one's at its timestamp,
 * for event and time-slice budgeting alike, and /history agrees. */
static void test_replay_equals_run_all_along_at_replayed_timestamps(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    int64_t end = T0 + 6 * HOUR_MS;
    replay_traffic(&f, end + HOUR_MS);
    recorder ra = {0};
    recorder rb = {0};
    br_evaluator *a = recording_evaluator(f.head, &ra, 0);
    br_slo_set *sa = replay_set(0, 0.999, RP_TOTAL); /* no replay: live values only */
    br_evaluator_set_slos(a, sa);
    for (int64_t t = T0; t <= end + 10 * MIN_MS; t += 30000) {
        tick_ok(a, t);
    }
    br_evaluator *b = recording_evaluator(f.head, &rb, 100);
    br_slo_set *sb = replay_set(6 * HOUR_MS, 0.999, RP_TOTAL);
    br_evaluator_set_slos(b, sb);
    int64_t t = end;
    int ticks = 0;
    do {
        tick_ok(b, t);
        t += 30000;
        ticks++;
    } while ((progress_of(b, "rp-availability") < 1 || progress_of(b, "rp-slices") < 1) &&
             ticks < 50);
    assert_true(ticks > 2); /* 2 x 360 steps at 100 per tick */
    recorder_sort_and_check_order(&ra);
    recorder_sort_and_check_order(&rb);
    size_t compared = 0;
    size_t bad_ratio_nonzero = 0;
    for (size_t i = 0; i < rb.n; i++) {
        const rec_point *q = &rb.p[i];
        if (q->t >= end) {
            continue; /* live samples of b */
        }
        assert_false(is_alerts(q->key));
        assert_true(q->t > T0 && q->t % MIN_MS == 0);
        const rec_point *p = recorder_find(&ra, q->key, q->t);
        if (p == NULL) {
            fail_msg("replayed %s at %lld: the run-all-along evaluator has none", q->key,
                     (long long)q->t);
        }
        if (!(fabs(p->v - q->v) <= 1e-12)) {
            fail_msg("%s at %lld: run-all-along %.17g, replay %.17g", q->key, (long long)q->t,
                     p->v, q->v);
        }
        compared++;
        const char *r5m = "__name__=slo:sli_error:ratio_rate5m,";
        if (strncmp(q->key, r5m, strlen(r5m)) == 0 && q->v > 0) {
            bad_ratio_nonzero++;
        }
    }
    /* Every minute of (T0, end) of both SLOs, each with its series. */
    assert_true(compared > 2 * 359 * 20);
    assert_true(bad_ratio_nonzero > 20); /* the outages are in the compared range */
    /* And no run-all-along sample of the range is missing from the replay
     * (ALERTS are live only). */
    size_t expected = 0;
    for (size_t i = 0; i < ra.n; i++) {
        if (is_alerts(ra.p[i].key)) {
            continue;
        }
        if (ra.p[i].t > T0 && ra.p[i].t < end && ra.p[i].t % MIN_MS == 0) {
            expected++;
            if (recorder_find(&rb, ra.p[i].key, ra.p[i].t) == NULL) {
                fail_msg("run-all-along %s at %lld: not replayed", ra.p[i].key,
                         (long long)(ra.p[i].t - T0));
            }
        }
    }
    assert_int_equal(expected, compared);
    /* /history is the same from both. */
    const char *ids[2] = {"rp-availability", "rp-slices"};
    for (int k = 0; k < 2; k++) {
        br_slo_source src_a;
        br_slo_source src_b;
        br_evaluator_source(a, &src_a);
        br_evaluator_source(b, &src_b);
        br_arena arena;
        br_arena_init(&arena, 64 * 1024, 0);
        br_history ha;
        br_history hb;
        br_err err;
        br_err_clear(&err);
        assert_int_equal(src_a.history(src_a.ctx, ids[k], T0, end, 10 * MIN_MS, 1000, &arena,
                                       &ha, &err),
                         0);
        assert_int_equal(src_b.history(src_b.ctx, ids[k], T0, end, 10 * MIN_MS, 1000, &arena,
                                       &hb, &err),
                         0);
        assert_int_equal(ha.n, hb.n);
        for (size_t i = 0; i < ha.n; i++) {
            assert_true(ha.points[i].t_ms == hb.points[i].t_ms);
            assert_true(fabs(ha.points[i].budget_remaining - hb.points[i].budget_remaining) <=
                        1e-12);
            assert_true(fabs(ha.points[i].burn_rate_1h - hb.points[i].burn_rate_1h) <= 1e-12);
        }
        br_arena_free(&arena);
    }
    br_evaluator_free(a);
    br_evaluator_free(b);
    br_slo_set_unref(sa);
    br_slo_set_unref(sb);
    recorder_free(&ra);
    recorder_free(&rb);
    fixture_close(&f);
}

/* At most replay_max_steps per tick: progress climbs from 0 to 1 over
 * several ticks, the live series wait until it is done, and the replayed
 * samples come oldest first. */
static void test_replay_progress_rises_over_several_ticks(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    int64_t end = T0 + 6 * HOUR_MS;
    replay_traffic(&f, end + HOUR_MS);
    recorder r = {0};
    br_evaluator *e = recording_evaluator(f.head, &r, 90);
    br_slo_set *set = replay_set(3 * HOUR_MS, 0.999, RP_TOTAL);
    br_evaluator_set_slos(e, set);
    double last = 0;
    int ticks = 0;
    int64_t t = end;
    for (; ticks < 20; ticks++, t += 30000) {
        tick_ok(e, t);
        double p = progress_of(e, "rp-availability");
        assert_true(p >= last);
        if (p < 1) {
            assert_true(p > 0 || ticks == 0); /* the first tick publishes before replaying */
            /* Live samples withheld while replaying (ALERTS excepted). */
            assert_int_equal(recorder_count_at(&r, t, false), 0);
        }
        last = p;
        if (p == 1 && progress_of(e, "rp-slices") == 1) {
            break;
        }
    }
    /* About 2 x 180 steps at 90 a tick (the end moves 30 s a tick). */
    assert_true(ticks + 1 >= 4 && ticks + 1 <= 6);
    assert_true(recorder_count_at(&r, t, false) > 0); /* the tick that finished writes live */
    recorder_sort_and_check_order(&r);
    br_evaluator_free(e);
    br_slo_set_unref(set);
    recorder_free(&r);
    fixture_close(&f);
}

/* replay: false records nothing before the first tick. */
static void test_replay_false_writes_nothing_for_the_past(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    int64_t end = T0 + 6 * HOUR_MS;
    replay_traffic(&f, end);
    recorder r = {0};
    br_evaluator *e = recording_evaluator(f.head, &r, 0);
    br_slo_set *set = replay_set(0, 0.999, RP_TOTAL);
    br_evaluator_set_slos(e, set);
    tick_ok(e, end);
    assert_true(r.n > 0);
    assert_int_equal(recorder_count_at(&r, end, true), r.n);
    assert_true(progress_of(e, "rp-availability") == 1.0);
    br_evaluator_free(e);
    br_slo_set_unref(set);
    recorder_free(&r);
    fixture_close(&f);
}

/* A restart (a new evaluator over the same store, where the old one's
 * recorded series are) fills the downtime from the minute after the last
 * recorded sample, with nothing refused by the store. */
static void test_replay_after_restart_fills_the_gap(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    int64_t end = T0 + 6 * HOUR_MS;
    replay_traffic(&f, end);
    recorder r1 = {0};
    r1.head = f.head;
    br_evaluator *e1 = recording_evaluator(f.head, &r1, 0);
    br_slo_set *set = replay_set(DAY_MS, 0.999, RP_TOTAL);
    br_evaluator_set_slos(e1, set);
    int64_t down = T0 + HOUR_MS + 30000; /* last tick before the downtime */
    for (int64_t t = T0; t <= down; t += 30000) {
        tick_ok(e1, t);
    }
    /* Its own first tick replayed a day back from T0. */
    assert_true(recorder_count_before(&r1, T0) > 0);
    br_evaluator_free(e1);
    recorder r2 = {0};
    r2.head = f.head;
    br_evaluator *e2 = recording_evaluator(f.head, &r2, 0);
    br_evaluator_set_slos(e2, set);
    int64_t up = T0 + 3 * HOUR_MS + 15000;
    tick_ok(e2, up); /* publishes; replay starts with the next tick */
    assert_true(progress_of(e2, "rp-availability") < 1.0);
    up += 30000;
    tick_ok(e2, up);
    assert_true(progress_of(e2, "rp-availability") == 1.0);
    assert_int_equal(r1.rejected, 0);
    assert_int_equal(r2.rejected, 0);
    recorder_sort_and_check_order(&r2);
    const char *key = "__name__=slo:objective:ratio,sloth_id=rp-availability,"
                      "sloth_service=rp,sloth_slo=availability,";
    /* Every minute after the last recorded sample up to the restart, then live. */
    size_t n = 0;
    for (int64_t t = down - 30000 + MIN_MS; t < up; t += MIN_MS) {
        assert_non_null(recorder_find(&r2, key, t));
        n++;
    }
    assert_int_equal(n, 120);
    assert_int_equal(recorder_count_before(&r2, down + 1), 0);
    assert_non_null(recorder_find(&r2, key, up));
    br_evaluator_free(e2);
    br_slo_set_unref(set);
    recorder_free(&r1);
    recorder_free(&r2);
    fixture_close(&f);
}

/* A definition changed while running writes after its last recorded
 * sample only: the old samples keep the old values, nothing is refused,
 * and the new values follow. */
static void test_replay_after_definition_change_keeps_old_samples(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    int64_t end = T0 + 6 * HOUR_MS;
    replay_traffic(&f, end);
    recorder r = {0};
    r.head = f.head;
    br_evaluator *e = recording_evaluator(f.head, &r, 0);
    br_slo_set *s1 = replay_set(DAY_MS, 0.999, RP_TOTAL);
    br_evaluator_set_slos(e, s1);
    int64_t change = T0 + HOUR_MS;
    for (int64_t t = T0; t < change; t += 30000) {
        tick_ok(e, t);
    }
    /* Another objective and a total selector written differently: the
     * counts are not "the same", so the definitions start afresh. */
    br_slo_set *s2 = replay_set(DAY_MS, 0.99, "requests_total{job=\"rp\",code=\"all\"}");
    br_evaluator_set_slos(e, s2);
    for (int64_t t = change; t <= change + HOUR_MS; t += 30000) {
        tick_ok(e, t);
    }
    assert_int_equal(r.rejected, 0);
    recorder_sort_and_check_order(&r);
    const char *key = "__name__=slo:objective:ratio,sloth_id=rp-availability,"
                      "sloth_service=rp,sloth_slo=availability,";
    size_t old_n = 0;
    size_t new_n = 0;
    for (size_t i = 0; i < r.n; i++) {
        if (strcmp(r.p[i].key, key) != 0) {
            continue;
        }
        if (r.p[i].t < change) {
            assert_true(r.p[i].v == 0.999);
            old_n++;
        } else {
            assert_true(r.p[i].v == 0.99);
            new_n++;
        }
    }
    assert_int_equal(new_n, 121); /* the live ticks from the change on */
    assert_true(old_n > 120);     /* a day of replay at 1m, then 120 live ticks */
    /* Budget remaining under the new objective right after the change. */
    const char *rem = "__name__=slo:period_error_budget_remaining:ratio,sloth_id=rp-availability,"
                      "sloth_service=rp,sloth_slo=availability,";
    const rec_point *before = recorder_find(&r, rem, change - 30000);
    const rec_point *after = recorder_find(&r, rem, change);
    assert_non_null(before);
    assert_non_null(after);
    assert_true(after->v > before->v); /* ten times the budget */
    br_evaluator_free(e);
    br_slo_set_unref(s1);
    br_slo_set_unref(s2);
    recorder_free(&r);
    fixture_close(&f);
}

int main(void)
{
    br_log_set_level(BR_LOG_WARN); /* policy transitions are logged at info */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_maintenance_window_removes_exactly_its_errors),
        cmocka_unit_test(test_adjustment_added_after_the_fact_is_recounted),
        cmocka_unit_test(test_timeslices_inside_adjustment_count_as_neither),
        cmocka_unit_test(test_composite_budget_is_the_weighted_combination),
        cmocka_unit_test(test_composite_cycle_and_unknown_component_are_errors),
        cmocka_unit_test(test_seed_budget_is_43_2_minutes_for_99_9_over_30_days),
        cmocka_unit_test(test_seed_timeline_77_65_19_percent),
        cmocka_unit_test(test_workbook_tiers_for_30d_and_scaled_for_7d),
        cmocka_unit_test(test_fast_burn_page_pending_firing_then_inactive),
        cmocka_unit_test(test_incremental_ticks_equal_full_recount),
        cmocka_unit_test(test_late_data_is_counted_at_the_next_tick),
        cmocka_unit_test(test_min_events_holds_back_a_page_on_low_traffic),
        cmocka_unit_test(test_page_inhibits_ticket_tier),
        cmocka_unit_test(test_budget_low_and_no_data_tickets),
        cmocka_unit_test(test_absent_series_ticket_differs_from_zero_traffic),
        cmocka_unit_test(test_grouping_fans_out_one_instance_per_value),
        cmocka_unit_test(test_good_events_from_le_bucket_match_numerically),
        cmocka_unit_test(test_bool_gauge_counts_samples),
        cmocka_unit_test(test_no_traffic_is_no_data_not_100_percent),
        cmocka_unit_test(test_missing_error_series_means_zero_errors),
        cmocka_unit_test(test_counter_reset_counts_new_value),
        cmocka_unit_test(test_calendar_month_counts_from_the_first_of_the_month),
        cmocka_unit_test(test_calendar_period_in_time_zone_starts_at_local_midnight),
        cmocka_unit_test(test_calendar_count_and_anchor_set_the_period),
        cmocka_unit_test(test_policy_state_since_survives_a_restart),
        cmocka_unit_test(test_hourly_resync_is_spread_over_the_hour),
        cmocka_unit_test(test_timeslices_budget_counts_bad_slices),
        cmocka_unit_test(test_history_matches_evaluations_at_each_step),
        cmocka_unit_test(test_replay_equals_run_all_along_at_replayed_timestamps),
        cmocka_unit_test(test_replay_progress_rises_over_several_ticks),
        cmocka_unit_test(test_replay_false_writes_nothing_for_the_past),
        cmocka_unit_test(test_replay_after_restart_fills_the_gap),
        cmocka_unit_test(test_replay_after_definition_change_keeps_old_samples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
