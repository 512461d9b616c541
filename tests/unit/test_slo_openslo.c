/*
 * test_slo_openslo.c — OpenSLO v1: objects in one file resolve by name
 * (SLI, AlertPolicy, AlertCondition, DataSource, Service), time windows,
 * budgeting methods, several objectives, ratio / raw / threshold metrics,
 * alert policies to tiers; errors in tests/data/slos/invalid/openslo_*.yml
 * name file:line:col.
 */
#include "slo_test_util.h"

#include <math.h>

#define MINUTE_MS (60LL * 1000)
#define HOUR_MS   (60 * MINUTE_MS)
#define DAY_MS    (24 * HOUR_MS)

static br_slo_set *set;

static int setup(void **state)
{
    (void)state;
    char path[1200];
    snprintf(path, sizeof(path), "%s/tests/data/slos/valid/openslo.yml", st_source_dir());
    set = br_slo_set_new();
    br_err err;
    br_err_clear(&err);
    if (br_slo_load_file(set, path, &err) != 0) {
        char msg[512];
        fprintf(stderr, "openslo.yml: %s\n", br_err_format(&err, msg, sizeof(msg)));
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    br_slo_set_unref(set);
    return 0;
}

static const char *kv_get(const br_kv *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(kv[i].key, key) == 0) {
            return kv[i].value;
        }
    }
    return NULL;
}

static void test_slo_openslo_ratio_sli_by_reference(void **state)
{
    (void)state;
    assert_int_equal(br_slo_set_len(set), 5);
    const br_slo_def *d = br_slo_set_find(set, "web-availability");
    assert_non_null(d);
    assert_int_equal(d->format, BR_SLO_FORMAT_OPENSLO);
    /* Read after the YAML documents are freed: the strings are the set's. */
    assert_string_equal(d->service, "web");
    assert_string_equal(d->name, "availability");
    assert_int_equal(d->line, 82);
    assert_true(fabs(d->objective - 0.999) < 1e-12);
    assert_int_equal(d->sli.kind, BR_SLI_EVENTS);
    assert_int_equal(d->sli.good.kind, BR_SOURCE_COUNTER);
    assert_string_equal(d->sli.good.expr, "http_requests_total{code=~\"2..\",job=\"web\"}");
    assert_string_equal(d->sli.total.expr, "http_requests_total{job=\"web\"}");
    assert_int_equal(d->n_grouping, 1);
    assert_string_equal(d->grouping[0], "route");
    assert_int_equal(d->period.kind, BR_PERIOD_ROLLING);
    assert_int_equal(d->period.duration_ms, 28 * DAY_MS);
    assert_int_equal(d->budgeting, BR_BUDGET_OCCURRENCES);
    /* No description: the Service's is used. */
    assert_string_equal(d->description, "The public web frontend");
    assert_string_equal(kv_get(d->labels, d->n_labels, "team"), "web,platform");
    assert_string_equal(kv_get(d->labels, d->n_labels, "tier"), "1");
    assert_string_equal(d->alerting.name, "WebAvailabilityHighErrorRate");
}

static void test_slo_openslo_alert_policy_becomes_tiers(void **state)
{
    (void)state;
    const br_slo_def *d = br_slo_set_find(set, "web-availability");
    assert_int_equal(d->alerting.n_tiers, 2);
    const br_burn_tier *fast = &d->alerting.tiers[0];
    assert_string_equal(fast->name, "fast-burn");
    assert_string_equal(fast->severity, "page"); /* critical */
    assert_int_equal(fast->long_window_ms, HOUR_MS);
    assert_int_equal(fast->short_window_ms, 5 * MINUTE_MS);
    assert_true(fast->factor == 14.4); /* explicit: not rescaled to 28d */
    assert_int_equal(fast->for_ms, 2 * MINUTE_MS);
    const br_burn_tier *slow = &d->alerting.tiers[1];
    assert_string_equal(slow->name, "slow-burn");
    assert_string_equal(slow->severity, "ticket"); /* warning */
    assert_int_equal(slow->long_window_ms, 6 * HOUR_MS);
    assert_int_equal(slow->short_window_ms, 30 * MINUTE_MS);
    assert_int_equal(slow->for_ms, 15 * MINUTE_MS);
}

static void test_slo_openslo_threshold_metric_with_calendar(void **state)
{
    (void)state;
    const br_slo_def *d = br_slo_set_find(set, "web-latency-p99");
    assert_non_null(d);
    assert_int_equal(d->sli.kind, BR_SLI_THRESHOLD);
    assert_int_equal(d->sli.op, BR_OP_LT);
    assert_true(d->sli.threshold == 5);
    assert_non_null(strstr(d->sli.query, "histogram_quantile(0.99,"));
    assert_int_equal(d->budgeting, BR_BUDGET_TIMESLICES);
    assert_int_equal(d->slice_ms, MINUTE_MS); /* "1" is minutes */
    assert_int_equal(d->period.kind, BR_PERIOD_CALENDAR);
    assert_int_equal(d->period.unit, BR_CAL_MONTH);
    assert_int_equal(d->period.count, 1);
    assert_string_equal(d->period.time_zone, "Europe/Berlin");
    /* startTime anchors the periods (2024-01-01 is day 19723). */
    assert_true(d->period.anchored);
    assert_int_equal(d->period.anchor_day, 19723);
    assert_string_equal(d->description, "p99 latency under 5 seconds"); /* displayName */
    /* No alert policies: the workbook tiers for the nominal 30 days. */
    assert_int_equal(d->alerting.n_tiers, 4);
    assert_true(fabs(d->alerting.tiers[0].factor - 14.4) < 1e-9);
}

static void test_slo_openslo_objectives_fan_out(void **state)
{
    (void)state;
    const br_slo_def *a = br_slo_set_find(set, "web-multi-good-enough");
    const br_slo_def *b = br_slo_set_find(set, "web-multi-strict");
    assert_non_null(a);
    assert_non_null(b);
    assert_true(fabs(a->objective - 0.99) < 1e-12);
    assert_true(fabs(b->objective - 0.9995) < 1e-12);
    assert_string_equal(a->description, "Two targets on one SLI");
    assert_int_equal(a->budgeting, BR_BUDGET_RATIO_TIMESLICES);
    assert_int_equal(a->slice_ms, 5 * MINUTE_MS);
    assert_int_equal(a->period.duration_ms, 7 * DAY_MS);
    /* Templates: the sum(rate(...)) side is exact, the "or" one a query. */
    assert_int_equal(a->sli.bad.kind, BR_SOURCE_COUNTER);
    assert_string_equal(a->sli.bad.expr, "http_requests_total{code=~\"5..\",job=\"web\"}");
    assert_int_equal(a->sli.total.kind, BR_SOURCE_QUERY);
    assert_int_equal(a->line, 156);
    assert_int_equal(b->line, 159);
    /* Inline policy with a referenced condition. */
    assert_int_equal(b->alerting.n_tiers, 1);
    assert_string_equal(b->alerting.tiers[0].name, "fast-burn");
}

static void test_slo_openslo_raw_success_is_inverted(void **state)
{
    (void)state;
    const br_slo_def *d = br_slo_set_find(set, "wifi-satisfaction");
    assert_non_null(d);
    assert_int_equal(d->sli.kind, BR_SLI_RAW);
    assert_string_equal(d->sli.query,
                        "1 - (sum(sum_over_time(client_satisfaction_ratio[{{.window}}])) / "
                        "sum(count_over_time(client_satisfaction_ratio[{{.window}}])))");
    assert_int_equal(d->budgeting, BR_BUDGET_TIMESLICES);
    assert_true(fabs(d->slice_target - 0.9) < 1e-12);
    assert_int_equal(d->slice_ms, 10 * MINUTE_MS);
    assert_int_equal(d->alerting.n_tiers, 2); /* alertPolicyRef: paging */
}

static void test_slo_openslo_invalid_files_report_position(void **state)
{
    (void)state;
    assert_true(st_check_invalid_files("openslo_") >= 15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slo_openslo_ratio_sli_by_reference),
        cmocka_unit_test(test_slo_openslo_alert_policy_becomes_tiers),
        cmocka_unit_test(test_slo_openslo_threshold_metric_with_calendar),
        cmocka_unit_test(test_slo_openslo_objectives_fan_out),
        cmocka_unit_test(test_slo_openslo_raw_success_is_inverted),
        cmocka_unit_test(test_slo_openslo_invalid_files_report_position),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
