/*
 * test_slo_load.c — loading SLO files: format detection per document,
 * multi-document files mixing formats, ids unique across files, globs,
 * and every file under examples/slos loading cleanly.
 */
#include "slo_test_util.h"

#include <math.h>

static char *dir;

static int setup(void **state)
{
    (void)state;
    dir = tu_mkdtemp("slo-load");
    return dir ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(dir);
    free(dir);
    return 0;
}

static const char *native_doc = "slos:\n"
                                "  - service: a\n"
                                "    name: avail\n"
                                "    objective: 99%\n"
                                "    sli:\n"
                                "      events:\n"
                                "        bad: 'x{code=\"500\"}'\n"
                                "        total: 'x'\n";

static void test_slo_load_detects_each_format_in_one_file(void **state)
{
    (void)state;
    const char *text =
        "slos:\n"
        "  - {service: a, name: native, objective: 99%,\n"
        "     sli: {events: {bad: 'x{code=\"500\"}', total: x}}}\n"
        "---\n"
        "version: prometheus/v1\n"
        "service: b\n"
        "slos:\n"
        "  - name: sloth\n"
        "    objective: 99.5\n"
        "    sli: {raw: {error_ratio_query: 'avg_over_time(err[{{.window}}])'}}\n"
        "---\n"
        "apiVersion: pyrra.dev/v1alpha1\n"
        "kind: ServiceLevelObjective\n"
        "metadata: {name: pyrra, namespace: c}\n"
        "spec:\n"
        "  target: '99'\n"
        "  window: 2w\n"
        "  indicator: {bool_gauge: {metric: 'up{job=\"c\"}'}}\n"
        "---\n"
        "apiVersion: openslo/v1\n"
        "kind: SLO\n"
        "metadata: {name: openslo}\n"
        "spec:\n"
        "  service: d\n"
        "  indicator:\n"
        "    metadata: {name: i}\n"
        "    spec:\n"
        "      ratioMetric:\n"
        "        counter: true\n"
        "        bad: {metricSource: {type: Prometheus, spec: {query: 'x{e=\"1\"}'}}}\n"
        "        total: {metricSource: {type: Prometheus, spec: {query: x}}}\n"
        "  objectives: [{target: 0.9}]\n";
    br_slo_set *s = st_load_ok(dir, text, 4);
    assert_int_equal(br_slo_set_find(s, "a-native")->format, BR_SLO_FORMAT_BURNRATE);
    assert_int_equal(br_slo_set_find(s, "b-sloth")->format, BR_SLO_FORMAT_SLOTH);
    assert_int_equal(br_slo_set_find(s, "c-pyrra")->format, BR_SLO_FORMAT_PYRRA);
    assert_int_equal(br_slo_set_find(s, "d-openslo")->format, BR_SLO_FORMAT_OPENSLO);
    /* Positions: each definition remembers the line of its entry. */
    assert_int_equal(br_slo_set_find(s, "a-native")->line, 2);
    assert_int_equal(br_slo_set_find(s, "b-sloth")->line, 8);
    assert_non_null(strstr(br_slo_set_find(s, "b-sloth")->file, "ok.yml"));
    br_slo_set_unref(s);
}

static void test_slo_load_unknown_api_version_is_an_error(void **state)
{
    (void)state;
    st_load_fails(dir, "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\n", 1, 1,
                  "unsupported SLO document (apiVersion monitoring.coreos.com/v1");
}

static void test_slo_load_scalar_document_is_an_error(void **state)
{
    (void)state;
    st_load_fails(dir, "just text\n", 1, 1, "an SLO document must be a mapping");
}

static void test_slo_load_duplicate_id_across_files_names_first_place(void **state)
{
    (void)state;
    char sub[1100];
    snprintf(sub, sizeof(sub), "%s/dup", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    char *p1 = tu_write_file(sub, "one.yml", native_doc);
    char *p2 = tu_write_file(sub, "two.yml", native_doc);
    char glob[1200];
    snprintf(glob, sizeof(glob), "%s/*.yml", sub);
    const char *globs[] = {glob};
    br_err err;
    br_err_clear(&err);
    br_slo_set *s = br_slo_load_globs(globs, 1, &err);
    assert_null(s);
    assert_int_equal(err.code, BR_EINVAL);
    assert_non_null(strstr(err.file, "two.yml"));
    assert_int_equal(err.line, 2);
    assert_non_null(strstr(err.msg, "SLO a-avail: duplicate SLO id (first defined at "));
    assert_non_null(strstr(err.msg, "one.yml:2"));
    unlink(p1);
    unlink(p2);
    free(p1);
    free(p2);
}

static void test_slo_load_glob_without_match_is_an_error(void **state)
{
    (void)state;
    char glob[1100];
    snprintf(glob, sizeof(glob), "%s/none-*.yml", dir);
    const char *globs[] = {glob};
    br_err err;
    br_err_clear(&err);
    assert_null(br_slo_load_globs(globs, 1, &err));
    assert_int_equal(err.code, BR_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no file matches"));
}

static void test_slo_load_error_in_later_document_drops_whole_set(void **state)
{
    (void)state;
    char text[2048];
    snprintf(text, sizeof(text), "%s---\nslos: [{service: b}]\n", native_doc);
    char *p = tu_write_file(dir, "mixed.yml", text);
    const char *globs[] = {p};
    br_err err;
    br_err_clear(&err);
    assert_null(br_slo_load_globs(globs, 1, &err));
    assert_int_equal(err.line, 10);
    assert_non_null(strstr(err.msg, "missing required key \"name\""));
    unlink(p);
    free(p);
}

static void test_slo_load_openslo_list_document_is_detected(void **state)
{
    (void)state;
    const char *text = "- apiVersion: openslo/v1\n"
                       "  kind: SLO\n"
                       "  metadata: {name: listed}\n"
                       "  spec:\n"
                       "    service: web\n"
                       "    indicatorRef: ratio\n"
                       "    objectives: [{targetPercent: 99.5}]\n"
                       "- apiVersion: openslo/v1\n"
                       "  kind: SLI\n"
                       "  metadata: {name: ratio}\n"
                       "  spec:\n"
                       "    ratioMetric:\n"
                       "      counter: true\n"
                       "      good: {metricSource: {spec: {query: 'req{code=\"200\"}'}}}\n"
                       "      total: {metricSource: {spec: {query: req}}}\n";
    br_slo_set *s = st_load_ok(dir, text, 1);
    const br_slo_def *d = br_slo_set_find(s, "web-listed");
    assert_non_null(d);
    assert_int_equal(d->sli.good.kind, BR_SOURCE_COUNTER);
    assert_string_equal(d->sli.good.expr, "req{code=\"200\"}");
    assert_true(fabs(d->objective - 0.995) < 1e-12);
    br_slo_set_unref(s);
}

static void test_slo_load_every_example_file(void **state)
{
    (void)state;
    char g1[1200];
    char g2[1200];
    snprintf(g1, sizeof(g1), "%s/examples/slos/*.yml", st_source_dir());
    snprintf(g2, sizeof(g2), "%s/examples/slos/*/*.yml", st_source_dir());
    const char *globs[] = {g1, g2};
    br_err err;
    br_err_clear(&err);
    br_slo_set *s = br_slo_load_globs(globs, 2, &err);
    if (s == NULL) {
        char msg[512];
        print_message("examples: %s\n", br_err_format(&err, msg, sizeof(msg)));
    }
    assert_non_null(s);
    /* 8 native files (10 SLOs), 2 Sloth SLOs, 1 Pyrra, 1 OpenSLO. */
    assert_int_equal(br_slo_set_len(s), 13);
    const char *ids[] = {"svc-0-availability",
                         "svc-0-latency",
                         "svc-0-scrape-quality",
                         "svc-1-availability-per-handler",
                         "svc-2-availability-monthly",
                         "svc-0-latency-p99",
                         "svc-1-requests-availability",
                         "svc-1-requests-latency",
                         "svc-2-latency",
                         "svc-2-availability",
                         "svc-2-payments-availability",
                         "svc-1-search-availability",
                         "journey-checkout"};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        if (br_slo_set_find(s, ids[i]) == NULL) {
            print_message("missing %s\n", ids[i]);
        }
        assert_non_null(br_slo_set_find(s, ids[i]));
    }
    /* The availability example excludes 429/401/400 from both sides. */
    const br_slo_def *a = br_slo_set_find(s, "svc-0-availability");
    assert_string_equal(
        a->sli.bad.expr,
        "http_requests_total{code!~\"429|401|400\",code=~\"5..\",service=\"svc-0\"}");
    assert_string_equal(a->sli.total.expr,
                        "http_requests_total{code!~\"429|401|400\",service=\"svc-0\"}");
    br_slo_set_unref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slo_load_detects_each_format_in_one_file),
        cmocka_unit_test(test_slo_load_unknown_api_version_is_an_error),
        cmocka_unit_test(test_slo_load_scalar_document_is_an_error),
        cmocka_unit_test(test_slo_load_duplicate_id_across_files_names_first_place),
        cmocka_unit_test(test_slo_load_glob_without_match_is_an_error),
        cmocka_unit_test(test_slo_load_error_in_later_document_drops_whole_set),
        cmocka_unit_test(test_slo_load_openslo_list_document_is_detected),
        cmocka_unit_test(test_slo_load_every_example_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
