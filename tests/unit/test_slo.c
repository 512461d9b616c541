/*
 * test_slo.c — the SLO model (slo.c): defaults of a new definition, the
 * workbook tiers and their scaling, the seed's policy, objective parsing,
 * and each validation rule of br_slo_set_add, table-driven.
 */

/* cmocka needs these first, in this order. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "rules/slo.h"

#include <math.h>
#include <string.h>

#define HOUR_MS (3600LL * 1000)
#define DAY_MS  (24 * HOUR_MS)

/* A valid events definition to break one field at a time. */
static br_slo_def *valid_def(br_slo_set *s, const char *name)
{
    br_slo_def *d = br_slo_def_new(s);
    d->service = "checkout";
    d->name = name;
    d->objective = 0.999;
    d->sli.kind = BR_SLI_EVENTS;
    d->sli.bad.kind = BR_SOURCE_COUNTER;
    d->sli.bad.expr = "http_requests_total{code=~\"5..\"}";
    d->sli.total.kind = BR_SOURCE_COUNTER;
    d->sli.total.expr = "http_requests_total";
    d->file = "t.yml";
    d->line = 7;
    return d;
}

static void test_slo_def_new_fills_documented_defaults(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_slo_def *d = br_slo_def_new(s);
    assert_int_equal(d->period.kind, BR_PERIOD_ROLLING);
    assert_int_equal(d->period.duration_ms, 30 * DAY_MS);
    assert_int_equal(d->budgeting, BR_BUDGET_OCCURRENCES);
    assert_int_equal(d->slice_ms, 5 * 60 * 1000);
    assert_true(d->slice_target == 0.99);
    assert_int_equal(d->no_data, BR_NO_DATA_SKIP);
    assert_true(isnan(d->objective));
    assert_true(isnan(d->sli.bad.le) && isnan(d->sli.good.le) && isnan(d->sli.total.le));
    assert_int_equal(d->alerting.n_tiers, 4);
    assert_true(d->alerting.budget_drop_ratio == 0.05);
    assert_int_equal(d->alerting.budget_drop_window_ms, HOUR_MS);
    assert_int_equal(d->alerting.exhaustion_within_ms, 7 * DAY_MS);
    assert_int_equal(d->policy.n_states, 4);
    br_slo_set_unref(s);
}

static void test_slo_default_tiers_match_workbook_for_30d(void **state)
{
    (void)state;
    br_burn_tier t[4];
    br_slo_default_tiers(30 * DAY_MS, t);
    const struct {
        const char *name;
        const char *severity;
        int64_t long_ms, short_ms, for_ms;
        double factor;
    } want[4] = {
        {"page-fast", "page", HOUR_MS, 5 * 60 * 1000, 2 * 60 * 1000, 14.4},
        {"page-slow", "page", 6 * HOUR_MS, 30 * 60 * 1000, 15 * 60 * 1000, 6},
        {"ticket-fast", "ticket", DAY_MS, 2 * HOUR_MS, HOUR_MS, 3},
        {"ticket-slow", "ticket", 3 * DAY_MS, 6 * HOUR_MS, 3 * HOUR_MS, 1},
    };
    for (int i = 0; i < 4; i++) {
        assert_string_equal(t[i].name, want[i].name);
        assert_string_equal(t[i].severity, want[i].severity);
        assert_int_equal(t[i].long_window_ms, want[i].long_ms);
        assert_int_equal(t[i].short_window_ms, want[i].short_ms);
        assert_int_equal(t[i].for_ms, want[i].for_ms);
        assert_true(fabs(t[i].factor - want[i].factor) < 1e-9);
        assert_false(t[i].disabled);
    }
}

static void test_slo_default_tiers_scale_with_period(void **state)
{
    (void)state;
    br_burn_tier t[4];
    br_slo_default_tiers(7 * DAY_MS, t);
    /* 2% of a 7-day budget in 1h: 0.02 * 168 = 3.36. */
    assert_true(fabs(t[0].factor - 3.36) < 1e-9);
    assert_true(fabs(t[3].factor - 0.1 * 7.0 / 3.0) < 1e-9);
}

static void test_slo_set_add_scales_default_tiers_to_period(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_slo_def *d = valid_def(s, "weekly");
    d->period.duration_ms = 7 * DAY_MS;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_slo_set_add(s, d, false, &err), 0);
    assert_true(fabs(br_slo_set_find(s, "checkout-weekly")->alerting.tiers[0].factor - 3.36) <
                1e-9);
    br_slo_set_unref(s);
}

static void test_slo_set_add_keeps_explicit_tiers(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_slo_def *d = valid_def(s, "weekly");
    d->period.duration_ms = 7 * DAY_MS;
    d->alerting.tiers[0].factor = 20;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_slo_set_add(s, d, true, &err), 0);
    assert_true(br_slo_set_find(s, "checkout-weekly")->alerting.tiers[0].factor == 20);
    br_slo_set_unref(s);
}

static void test_slo_set_add_drops_default_tiers_longer_than_period(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_slo_def *d = valid_def(s, "daily");
    d->period.duration_ms = DAY_MS;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_slo_set_add(s, d, false, &err), 0);
    const br_slo_def *got = br_slo_set_find(s, "checkout-daily");
    assert_int_equal(got->alerting.n_tiers, 3);
    assert_string_equal(got->alerting.tiers[2].name, "ticket-fast");
    /* 2% of a 1-day budget in 1h: 0.02 * 24 = 0.48. */
    assert_true(fabs(got->alerting.tiers[0].factor - 0.48) < 1e-9);
    br_slo_set_unref(s);
}

static void test_slo_default_policy_is_the_seeds(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_policy p;
    br_slo_default_policy(s, &p);
    assert_int_equal(p.n_states, 4);
    assert_string_equal(p.states[0].name, "healthy");
    assert_true(p.states[0].min_remaining == 0.5 && p.states[0].allow_deploy);
    assert_string_equal(p.states[1].name, "caution");
    assert_true(p.states[1].min_remaining == 0.25 && p.states[1].allow_deploy);
    assert_string_equal(p.states[2].name, "critical");
    assert_true(p.states[2].min_remaining == 0.10 && !p.states[2].allow_deploy);
    assert_string_equal(p.states[3].name, "exhausted");
    assert_true(isinf(p.states[3].min_remaining) && p.states[3].min_remaining < 0);
    assert_int_equal(p.states[3].n_actions, 4);
    assert_string_equal(p.states[3].actions[3], "mandatory_postmortem");
    br_slo_set_unref(s);
}

static void test_slo_parse_objective_accepts_percent_and_ratio(void **state)
{
    (void)state;
    const struct {
        const char *text;
        int rc;
        double want;
    } cases[] = {
        {"99.9%", 0, 0.999},   {"99.9", 0, 0.999},  {"0.999", 0, 0.999},      {"99.9 %", 0, 0.999},
        {"50", 0, 0.5},        {"1", BR_EINVAL, 0}, {"100", BR_EINVAL, 0},    {"0", BR_EINVAL, 0},
        {"abc", BR_EINVAL, 0}, {"", BR_EINVAL, 0},  {"99.9%x", BR_EINVAL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double v = -1;
        int rc = br_slo_parse_objective(cases[i].text, &v);
        assert_int_equal(rc, cases[i].rc);
        if (rc == 0) {
            assert_true(fabs(v - cases[i].want) < 1e-12);
        }
    }
}

/* Each case breaks one rule; the message must name it, at t.yml:7. */
typedef void (*breaker)(br_slo_def *d);

static void no_service(br_slo_def *d)
{
    d->service = NULL;
}
static void bad_id(br_slo_def *d)
{
    d->name = "has space";
}
static void objective_one(br_slo_def *d)
{
    d->objective = 1.0;
}
static void no_total(br_slo_def *d)
{
    d->sli.total.kind = BR_SOURCE_NONE;
}
static void no_numerator(br_slo_def *d)
{
    d->sli.bad.kind = BR_SOURCE_NONE;
}
static void raw_without_query(br_slo_def *d)
{
    d->sli.kind = BR_SLI_RAW;
}
static void threshold_nan(br_slo_def *d)
{
    d->sli.kind = BR_SLI_THRESHOLD;
    d->sli.query = "q";
    d->sli.threshold = NAN;
}
static void short_period(br_slo_def *d)
{
    d->period.duration_ms = 30 * 60 * 1000;
}
static void calendar_zero(br_slo_def *d)
{
    d->period.kind = BR_PERIOD_CALENDAR;
    d->period.count = 0;
}
static void slice_too_short(br_slo_def *d)
{
    d->budgeting = BR_BUDGET_TIMESLICES;
    d->slice_ms = 10;
}
static void slice_target_zero(br_slo_def *d)
{
    d->budgeting = BR_BUDGET_TIMESLICES;
    d->slice_target = 0;
}
static void short_longer_than_long(br_slo_def *d)
{
    d->alerting.tiers[1].short_window_ms = 7 * HOUR_MS;
}
static void tier_longer_than_period(br_slo_def *d)
{
    d->period.duration_ms = 2 * DAY_MS;
    d->alerting.tiers[3].name = "mine"; /* an explicit tier is not dropped */
}
static void policy_unordered(br_slo_def *d)
{
    d->policy.states[1].min_remaining = 0.9;
}
static void policy_empty(br_slo_def *d)
{
    d->policy.n_states = 0;
}

static void test_slo_set_add_rejects_each_invalid_field(void **state)
{
    (void)state;
    const struct {
        breaker fn;
        const char *want;
    } cases[] = {
        {no_service, "missing service"},
        {bad_id, "may only hold letters, digits and _ . : -"},
        {objective_one, "objective must be between 0 and 100% (exclusive)"},
        {no_total, "the SLI needs total events"},
        {no_numerator, "the SLI needs bad (error) or good events"},
        {raw_without_query, "the raw SLI needs an error ratio query"},
        {threshold_nan, "the threshold SLI needs a finite threshold"},
        {short_period, "the period must be at least 1h"},
        {calendar_zero, "the calendar period count must be at least 1"},
        {slice_too_short, "the time slice must be between 1s and the period"},
        {slice_target_zero, "the time slice target must be in (0, 1]"},
        {short_longer_than_long, "alert tier page-slow: windows must be > 0"},
        {tier_longer_than_period, "alert tier mine: the long window is longer"},
        {policy_unordered, "policy state caution must have a lower threshold than healthy"},
        {policy_empty, "the error-budget policy has no states"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        br_slo_set *s = br_slo_set_new();
        br_slo_def *d = valid_def(s, "x");
        cases[i].fn(d);
        br_err err;
        br_err_clear(&err);
        int rc = br_slo_set_add(s, d, cases[i].fn == tier_longer_than_period, &err);
        if (rc == 0 || strstr(err.msg, cases[i].want) == NULL) {
            print_message("case %zu: rc=%d msg=%s\n", i, rc, err.msg);
        }
        assert_int_equal(rc, BR_EINVAL);
        assert_string_equal(err.file, "t.yml");
        assert_int_equal(err.line, 7);
        assert_non_null(strstr(err.msg, cases[i].want));
        assert_int_equal(br_slo_set_len(s), 0);
        br_slo_set_unref(s);
    }
}

static void test_slo_set_add_bad_wins_over_good(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_slo_def *d = valid_def(s, "both");
    d->sli.good.kind = BR_SOURCE_COUNTER;
    d->sli.good.expr = "ok_total";
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_slo_set_add(s, d, false, &err), 0);
    const br_slo_def *got = br_slo_set_find(s, "checkout-both");
    assert_int_equal(got->sli.good.kind, BR_SOURCE_NONE);
    assert_null(got->sli.good.expr);
    br_slo_set_unref(s);
}

static void test_slo_set_add_threshold_switches_to_timeslices(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_slo_def *d = valid_def(s, "p99");
    d->sli.kind = BR_SLI_THRESHOLD;
    d->sli.query = "histogram_quantile(0.99, rate(x_bucket[{{.window}}]))";
    d->sli.threshold = 5;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_slo_set_add(s, d, false, &err), 0);
    assert_int_equal(br_slo_set_find(s, "checkout-p99")->budgeting, BR_BUDGET_TIMESLICES);
    br_slo_set_unref(s);
}

static void test_slo_set_add_calendar_period_gets_nominal_length(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_slo_def *d = valid_def(s, "quarterly");
    d->period.kind = BR_PERIOD_CALENDAR;
    d->period.unit = BR_CAL_QUARTER;
    d->period.count = 1;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_slo_set_add(s, d, false, &err), 0);
    const br_slo_def *got = br_slo_set_find(s, "checkout-quarterly");
    assert_int_equal(got->period.duration_ms, 90 * DAY_MS);
    /* Tier factors scale to the nominal 90 days: 0.02 * 2160 = 43.2. */
    assert_true(fabs(got->alerting.tiers[0].factor - 43.2) < 1e-9);
    br_slo_set_unref(s);
}

static void test_slo_set_rejects_duplicate_id(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_slo_set_add(s, valid_def(s, "dup"), false, &err), 0);
    br_slo_def *again = valid_def(s, "dup");
    again->line = 20;
    assert_int_equal(br_slo_set_add(s, again, false, &err), BR_EINVAL);
    assert_int_equal(err.line, 20);
    assert_non_null(strstr(err.msg, "duplicate SLO id (first defined at t.yml:7)"));
    assert_int_equal(br_slo_set_len(s), 1);
    br_slo_set_unref(s);
}

static void test_slo_set_refcount_and_lookup(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_slo_set_add(s, valid_def(s, "a"), false, &err), 0);
    assert_int_equal(br_slo_set_add(s, valid_def(s, "b"), false, &err), 0);
    br_slo_set_ref(s);
    br_slo_set_unref(s);
    assert_int_equal(br_slo_set_len(s), 2);
    assert_string_equal(br_slo_set_get(s, 1)->id, "checkout-b");
    assert_null(br_slo_set_get(s, 2));
    assert_null(br_slo_set_find(s, "checkout-c"));
    br_slo_set_unref(s);
    br_slo_set_unref(NULL);
}

static void test_slo_names_of_enums(void **state)
{
    (void)state;
    assert_string_equal(br_slo_format_name(BR_SLO_FORMAT_OPENSLO), "openslo");
    assert_string_equal(br_budgeting_name(BR_BUDGET_RATIO_TIMESLICES), "ratio_timeslices");
    assert_string_equal(br_sli_kind_name(BR_SLI_THRESHOLD), "threshold");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slo_def_new_fills_documented_defaults),
        cmocka_unit_test(test_slo_default_tiers_match_workbook_for_30d),
        cmocka_unit_test(test_slo_default_tiers_scale_with_period),
        cmocka_unit_test(test_slo_set_add_scales_default_tiers_to_period),
        cmocka_unit_test(test_slo_set_add_keeps_explicit_tiers),
        cmocka_unit_test(test_slo_set_add_drops_default_tiers_longer_than_period),
        cmocka_unit_test(test_slo_default_policy_is_the_seeds),
        cmocka_unit_test(test_slo_parse_objective_accepts_percent_and_ratio),
        cmocka_unit_test(test_slo_set_add_rejects_each_invalid_field),
        cmocka_unit_test(test_slo_set_add_bad_wins_over_good),
        cmocka_unit_test(test_slo_set_add_threshold_switches_to_timeslices),
        cmocka_unit_test(test_slo_set_add_calendar_period_gets_nominal_length),
        cmocka_unit_test(test_slo_set_rejects_duplicate_id),
        cmocka_unit_test(test_slo_set_refcount_and_lookup),
        cmocka_unit_test(test_slo_names_of_enums),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
