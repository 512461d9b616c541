/*
 * test_slo_sloth.c — Sloth files: the prometheus/v1 spec and the
 * PrometheusServiceLevel Kubernetes form load to the expected model
 * (tests/data/slos/valid/sloth_*.yml); queries Sloth users write are
 * simplified to exact counter sources where possible; errors in
 * tests/data/slos/invalid/sloth_*.yml name file:line:col.
 */
#include "slo_test_util.h"

#include <math.h>

#define DAY_MS (24LL * 3600 * 1000)

static char *dir;

static int setup(void **state)
{
    (void)state;
    dir = tu_mkdtemp("slo-sloth");
    return dir ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(dir);
    free(dir);
    return 0;
}

static br_slo_set *load_valid(const char *name, size_t n)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/tests/data/slos/valid/%s", st_source_dir(), name);
    br_slo_set *s = br_slo_set_new();
    br_err err;
    br_err_clear(&err);
    int rc = br_slo_load_file(s, path, &err);
    if (rc != 0) {
        char msg[512];
        print_message("%s\n", br_err_format(&err, msg, sizeof(msg)));
    }
    assert_int_equal(rc, 0);
    assert_int_equal(br_slo_set_len(s), n);
    return s;
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

static void test_slo_sloth_v1_events_become_counters(void **state)
{
    (void)state;
    br_slo_set *s = load_valid("sloth_v1.yml", 3);
    const br_slo_def *d = br_slo_set_find(s, "k8s-apiserver-requests-availability");
    assert_non_null(d);
    assert_int_equal(d->format, BR_SLO_FORMAT_SLOTH);
    assert_int_equal(d->line, 8);
    assert_true(fabs(d->objective - 0.999) < 1e-12);
    assert_string_equal(d->description, "Apiserver responses that are not 5xx or 429.");
    assert_int_equal(d->sli.kind, BR_SLI_EVENTS);
    assert_int_equal(d->sli.bad.kind, BR_SOURCE_COUNTER);
    assert_string_equal(d->sli.bad.expr, "apiserver_request_total{code=~\"(5..|429)\"}");
    assert_int_equal(d->sli.total.kind, BR_SOURCE_COUNTER);
    assert_string_equal(d->sli.total.expr, "apiserver_request_total");
    /* Sloth's default: 30 days rolling and the workbook tiers. */
    assert_int_equal(d->period.kind, BR_PERIOD_ROLLING);
    assert_int_equal(d->period.duration_ms, 30 * DAY_MS);
    assert_int_equal(d->alerting.n_tiers, 4);
    assert_true(fabs(d->alerting.tiers[0].factor - 14.4) < 1e-9);
    br_slo_set_unref(s);
}

static void test_slo_sloth_v1_labels_and_alerting(void **state)
{
    (void)state;
    br_slo_set *s = load_valid("sloth_v1.yml", 3);
    const br_slo_def *d = br_slo_set_find(s, "k8s-apiserver-requests-availability");
    /* File labels, then the SLO's (which win). */
    assert_int_equal(d->n_labels, 2);
    assert_string_equal(kv_get(d->labels, d->n_labels, "cluster"), "valhalla");
    assert_string_equal(kv_get(d->labels, d->n_labels, "component"), "apiserver");
    const br_slo_alerting *al = &d->alerting;
    assert_string_equal(al->name, "K8sApiserverAvailabilityAlert");
    assert_string_equal(kv_get(al->labels, al->n_labels, "category"), "availability");
    assert_string_equal(kv_get(al->annotations, al->n_annotations, "runbook"),
                        "https://example.com/runbooks/apiserver-errors");
    assert_string_equal(kv_get(al->page_labels, al->n_page_labels, "severity"), "critical");
    assert_string_equal(kv_get(al->ticket_labels, al->n_ticket_labels, "severity"), "warning");
    assert_string_equal(kv_get(al->ticket_annotations, al->n_ticket_annotations, "note"),
                        "slow burn");
    assert_false(al->page_disabled);
    assert_false(al->ticket_disabled);
    br_slo_set_unref(s);
}

static void test_slo_sloth_v1_difference_query_stays_query(void **state)
{
    (void)state;
    br_slo_set *s = load_valid("sloth_v1.yml", 3);
    const br_slo_def *d = br_slo_set_find(s, "k8s-apiserver-requests-latency");
    assert_int_equal(d->sli.bad.kind, BR_SOURCE_QUERY);
    assert_non_null(strstr(d->sli.bad.expr, "le=\"0.4\""));
    assert_int_equal(d->sli.total.kind, BR_SOURCE_COUNTER);
    assert_string_equal(d->sli.total.expr,
                        "apiserver_request_duration_seconds_count{verb!=\"WATCH\"}");
    /* The total's by (verb) becomes the grouping. */
    assert_int_equal(d->n_grouping, 1);
    assert_string_equal(d->grouping[0], "verb");
    assert_true(d->alerting.ticket_disabled);
    assert_false(d->alerting.page_disabled);
    br_slo_set_unref(s);
}

static void test_slo_sloth_v1_raw_and_default_alert_name(void **state)
{
    (void)state;
    br_slo_set *s = load_valid("sloth_v1.yml", 3);
    const br_slo_def *d = br_slo_set_find(s, "k8s-apiserver-probe-raw");
    assert_int_equal(d->sli.kind, BR_SLI_RAW);
    assert_string_equal(d->sli.query,
                        "1 - avg_over_time(probe_success{job=\"apiserver\"}[{{.window}}])");
    assert_true(fabs(d->objective - 0.95) < 1e-12);
    assert_true(d->alerting.page_disabled);
    assert_string_equal(d->alerting.name, "K8sApiserverProbeRawHighErrorRate");
    br_slo_set_unref(s);
}

static void test_slo_sloth_k8s_form_multi_document(void **state)
{
    (void)state;
    br_slo_set *s = load_valid("sloth_k8s.yml", 2);
    const br_slo_def *d = br_slo_set_find(s, "home-wr-requests-availability");
    assert_non_null(d);
    assert_int_equal(d->format, BR_SLO_FORMAT_SLOTH);
    assert_int_equal(d->sli.bad.kind, BR_SOURCE_COUNTER);
    assert_string_equal(d->sli.bad.expr,
                        "http_request_duration_seconds_count{code=~\"(5..|429)\",job=\"home\"}");
    assert_string_equal(kv_get(d->labels, d->n_labels, "owner"), "myteam");
    assert_string_equal(d->alerting.name, "HomeHighErrorRate");
    assert_string_equal(kv_get(d->alerting.page_labels, d->alerting.n_page_labels, "tier"), "1");
    assert_true(d->alerting.ticket_disabled);
    const br_slo_def *r = br_slo_set_find(s, "raw-svc-ratio");
    assert_non_null(r);
    assert_int_equal(r->sli.kind, BR_SLI_RAW);
    assert_string_equal(r->sli.query, "avg_over_time(job:error_ratio:rate1m[{{.window}}])");
    assert_int_equal(r->line, 34);
    br_slo_set_unref(s);
}

static void test_slo_sloth_latency_bucket_query_moves_le(void **state)
{
    (void)state;
    const char *text = "version: prometheus/v1\n"
                       "service: web\n"
                       "slos:\n"
                       "  - name: fast\n"
                       "    objective: 99\n"
                       "    sli:\n"
                       "      events:\n"
                       "        error_query: sum(rate(h_count[{{.window}}])) - "
                       "sum(rate(h_bucket{le=\"0.25\"}[{{.window}}]))\n"
                       "        total_query: sum(increase(h_count[{{ .window }}]))\n"
                       "  - name: good\n"
                       "    objective: 99\n"
                       "    sli:\n"
                       "      events:\n"
                       "        error_query: sum(rate(h_bucket{le=\"0.250\"}[{{.window}}]))\n"
                       "        total_query: sum(rate(h_count[{{.window}}]))\n";
    br_slo_set *s = st_load_ok(dir, text, 2);
    const br_slo_def *a = br_slo_set_find(s, "web-fast");
    assert_int_equal(a->sli.bad.kind, BR_SOURCE_QUERY);
    assert_int_equal(a->sli.total.kind, BR_SOURCE_COUNTER);
    assert_string_equal(a->sli.total.expr, "h_count");
    const br_slo_def *b = br_slo_set_find(s, "web-good");
    assert_int_equal(b->sli.bad.kind, BR_SOURCE_COUNTER);
    assert_string_equal(b->sli.bad.expr, "h_bucket");
    assert_true(b->sli.bad.le == 0.25);
    br_slo_set_unref(s);
}

static void test_slo_sloth_invalid_files_report_position(void **state)
{
    (void)state;
    assert_true(st_check_invalid_files("sloth_") >= 11);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slo_sloth_v1_events_become_counters),
        cmocka_unit_test(test_slo_sloth_v1_labels_and_alerting),
        cmocka_unit_test(test_slo_sloth_v1_difference_query_stays_query),
        cmocka_unit_test(test_slo_sloth_v1_raw_and_default_alert_name),
        cmocka_unit_test(test_slo_sloth_k8s_form_multi_document),
        cmocka_unit_test(test_slo_sloth_latency_bucket_query_moves_le),
        cmocka_unit_test(test_slo_sloth_invalid_files_report_position),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
