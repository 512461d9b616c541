/*
 * test_slo_pyrra.c — Pyrra ServiceLevelObjective documents: each indicator
 * kind (ratio, latency, latencyNative, bool_gauge) maps to the expected
 * sources, service and labels come from metadata, the latency bucket's le
 * is compared numerically, alerting switches apply; errors in
 * tests/data/slos/invalid/pyrra_*.yml name file:line:col.
 */
#include "slo_test_util.h"

#include <math.h>

#define DAY_MS (24LL * 3600 * 1000)

static br_slo_set *set;

static int setup(void **state)
{
    (void)state;
    char path[1200];
    snprintf(path, sizeof(path), "%s/tests/data/slos/valid/pyrra.yml", st_source_dir());
    set = br_slo_set_new();
    br_err err;
    br_err_clear(&err);
    if (br_slo_load_file(set, path, &err) != 0) {
        char msg[512];
        fprintf(stderr, "pyrra.yml: %s\n", br_err_format(&err, msg, sizeof(msg)));
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

static void test_slo_pyrra_ratio_indicator(void **state)
{
    (void)state;
    assert_int_equal(br_slo_set_len(set), 5);
    const br_slo_def *d = br_slo_set_find(set, "shop-api-errors");
    assert_non_null(d);
    assert_int_equal(d->format, BR_SLO_FORMAT_PYRRA);
    assert_int_equal(d->line, 2);
    assert_string_equal(d->service, "shop"); /* the namespace */
    assert_string_equal(d->name, "api-errors");
    assert_string_equal(d->description, "API requests that succeed.");
    assert_true(fabs(d->objective - 0.995) < 1e-12);
    assert_int_equal(d->period.duration_ms, 28 * DAY_MS);
    assert_int_equal(d->sli.bad.kind, BR_SOURCE_COUNTER);
    assert_string_equal(d->sli.bad.expr, "http_requests_total{code=~\"5..\",job=\"api\"}");
    assert_string_equal(d->sli.total.expr, "http_requests_total{job=\"api\"}");
    assert_int_equal(d->n_grouping, 1);
    assert_string_equal(d->grouping[0], "handler");
    assert_string_equal(d->alerting.name, "ErrorBudgetBurn");
    /* Tiers scaled to 28 days: 0.02 * 672 = 13.44. */
    assert_true(fabs(d->alerting.tiers[0].factor - 13.44) < 1e-9);
}

static void test_slo_pyrra_labels_from_metadata(void **state)
{
    (void)state;
    const br_slo_def *d = br_slo_set_find(set, "shop-api-errors");
    assert_int_equal(d->n_labels, 3);
    assert_string_equal(kv_get(d->labels, d->n_labels, "prometheus"), "k8s");
    assert_string_equal(kv_get(d->labels, d->n_labels, "team"), "orders");
    assert_string_equal(kv_get(d->labels, d->n_labels, "app_kubernetes_io_name"), "api");
}

static void test_slo_pyrra_latency_moves_le_to_number(void **state)
{
    (void)state;
    const br_slo_def *d = br_slo_set_find(set, "shop-api-latency");
    assert_non_null(d);
    assert_int_equal(d->sli.good.kind, BR_SOURCE_COUNTER);
    assert_string_equal(d->sli.good.expr, "http_request_duration_seconds_bucket{job=\"api\"}");
    assert_true(d->sli.good.le == 0.5);
    assert_int_equal(d->sli.bad.kind, BR_SOURCE_NONE);
    assert_string_equal(d->sli.total.expr, "http_request_duration_seconds_count{job=\"api\"}");
    assert_int_equal(d->period.duration_ms, 14 * DAY_MS);
    assert_string_equal(d->alerting.name, "ApiLatencyBudgetBurn");
    assert_false(d->alerting.page_disabled);
}

static void test_slo_pyrra_native_latency_uses_histogram_fraction(void **state)
{
    (void)state;
    const br_slo_def *d = br_slo_set_find(set, "pyrra-connect-latency");
    assert_non_null(d);
    assert_string_equal(d->service, "pyrra"); /* pyrra.dev/service label */
    assert_int_equal(d->sli.good.kind, BR_SOURCE_QUERY);
    assert_string_equal(d->sli.good.expr,
                        "histogram_fraction(0, 0.2, sum by (service, method) "
                        "(rate(connect_server_requests_duration_seconds{code=\"ok\",job=\"pyrra\"}"
                        "[{{.window}}]))) * histogram_count(sum by (service, method) "
                        "(rate(connect_server_requests_duration_seconds{code=\"ok\",job=\"pyrra\"}"
                        "[{{.window}}])))");
    assert_int_equal(d->sli.total.kind, BR_SOURCE_QUERY);
    assert_int_equal(d->n_grouping, 2);
}

static void test_slo_pyrra_bool_gauge_and_disabled_alerts(void **state)
{
    (void)state;
    const br_slo_def *d = br_slo_set_find(set, "blackbox-probe");
    assert_non_null(d);
    assert_int_equal(d->sli.good.kind, BR_SOURCE_BOOL_GAUGE);
    assert_string_equal(d->sli.total.expr, "probe_success{job=\"blackbox\"}");
    assert_true(d->alerting.page_disabled && d->alerting.ticket_disabled);
    /* No namespace and no service label: the name is the service. */
    const br_slo_def *l = br_slo_set_find(set, "lonely-lonely");
    assert_non_null(l);
    assert_int_equal(l->sli.good.kind, BR_SOURCE_BOOL_GAUGE);
    assert_true(l->alerting.page_disabled && l->alerting.ticket_disabled);
    assert_int_equal(l->period.duration_ms, DAY_MS);
}

static void test_slo_pyrra_invalid_files_report_position(void **state)
{
    (void)state;
    assert_true(st_check_invalid_files("pyrra_") >= 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slo_pyrra_ratio_indicator),
        cmocka_unit_test(test_slo_pyrra_labels_from_metadata),
        cmocka_unit_test(test_slo_pyrra_latency_moves_le_to_number),
        cmocka_unit_test(test_slo_pyrra_native_latency_uses_histogram_fraction),
        cmocka_unit_test(test_slo_pyrra_bool_gauge_and_disabled_alerts),
        cmocka_unit_test(test_slo_pyrra_invalid_files_report_position),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
