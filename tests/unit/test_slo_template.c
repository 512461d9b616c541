/*
 * test_slo_template.c — the loaders' shared helpers: {{.window}}
 * rendering, template classification (COUNTER where exact evaluation is
 * possible, QUERY otherwise), selector rewriting (le normalisation,
 * exclusions, histogram and bool-gauge sources) and value parsers.
 */

/* cmocka needs these first, in this order. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "rules/slo_template.h"

#include <math.h>
#include <string.h>

static void test_slo_template_render_replaces_every_window(void **state)
{
    (void)state;
    br_arena a;
    br_arena_init(&a, 0, 0);
    const struct {
        const char *tmpl;
        int64_t ms;
        const char *want;
    } cases[] = {
        {"sum(rate(x[{{.window}}]))", 5 * 60 * 1000, "sum(rate(x[5m]))"},
        {"rate(x[{{ .window }}]) / rate(y[{{.window}}])", 3600 * 1000, "rate(x[1h]) / rate(y[1h])"},
        {"increase(x[{{.window}}])", 30LL * 24 * 3600 * 1000, "increase(x[30d])"},
        {"rate(x[{{.windows}}])", 60 * 1000, "rate(x[{{.windows}}])"},
        {"no placeholder", 60 * 1000, "no placeholder"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_string_equal(br_slo_template_render(&a, cases[i].tmpl, cases[i].ms), cases[i].want);
    }
    assert_true(br_slo_template_has_window("x[{{  .window\t}}]"));
    assert_false(br_slo_template_has_window("x[5m]"));
    br_arena_free(&a);
}

static void test_slo_template_simplify_classifies_templates(void **state)
{
    (void)state;
    const struct {
        const char *tmpl;
        br_event_source_kind kind;
        const char *expr; /* COUNTER: the selector; QUERY: NULL = the template */
        double le;        /* NAN = none */
        const char *by;   /* comma-joined by-labels */
    } cases[] = {
        {"sum(rate(http_requests_total{code=~\"5..\"}[{{.window}}]))", BR_SOURCE_COUNTER,
         "http_requests_total{code=~\"5..\"}", NAN, ""},
        {"sum by (route, code) (increase(x[{{.window}}]))", BR_SOURCE_COUNTER, "x", NAN,
         "route,code"},
        {"sum(rate(x[{{.window}}])) by (route)", BR_SOURCE_COUNTER, "x", NAN, "route"},
        {"rate(x{a=\"b\"}[{{ .window }}])", BR_SOURCE_COUNTER, "x{a=\"b\"}", NAN, ""},
        {"(sum((rate(x[{{.window}}]))))", BR_SOURCE_COUNTER, "x", NAN, ""},
        {"sum(rate(h_bucket{le=\"0.50\",job=\"a\"}[{{.window}}]))", BR_SOURCE_COUNTER,
         "h_bucket{job=\"a\"}", 0.5, ""},
        {"sum without (a) (rate(x[{{.window}}]))", BR_SOURCE_QUERY, NULL, NAN, ""},
        {"avg(rate(x[{{.window}}]))", BR_SOURCE_QUERY, NULL, NAN, ""},
        {"sum(rate(a[{{.window}}])) - sum(rate(b[{{.window}}]))", BR_SOURCE_QUERY, NULL, NAN, ""},
        {"sum(irate(x[{{.window}}]))", BR_SOURCE_QUERY, NULL, NAN, ""},
        {"sum(rate(x[{{.window}}] offset 1h))", BR_SOURCE_QUERY, NULL, NAN, ""},
        {"sum(rate(x{le=~\"0.5|1\"}[{{.window}}]))", BR_SOURCE_QUERY, NULL, NAN, ""},
        {"sum(rate(x[{{.window}}:1m]))", BR_SOURCE_QUERY, NULL, NAN, ""},
        {"sum_over_time(probe_success[{{.window}}])", BR_SOURCE_QUERY, NULL, NAN, ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        br_arena a;
        br_arena_init(&a, 0, 0);
        br_event_source src = {BR_SOURCE_NONE, NULL, NAN};
        const char **by = NULL;
        size_t n_by = 99;
        br_err err;
        br_err_clear(&err);
        int rc = br_slo_template_simplify(&a, cases[i].tmpl, &src, &by, &n_by, &err);
        if (rc != 0 || src.kind != cases[i].kind) {
            print_message("case %zu (%s): rc=%d kind=%d %s\n", i, cases[i].tmpl, rc, src.kind,
                          err.msg);
        }
        assert_int_equal(rc, 0);
        assert_int_equal(src.kind, cases[i].kind);
        assert_string_equal(src.expr, cases[i].expr ? cases[i].expr : cases[i].tmpl);
        if (isnan(cases[i].le)) {
            assert_true(isnan(src.le));
        } else {
            assert_true(src.le == cases[i].le);
        }
        char joined[64] = "";
        for (size_t j = 0; j < n_by; j++) {
            strcat(joined, j ? "," : "");
            strcat(joined, by[j]);
        }
        assert_string_equal(joined, cases[i].by);
        br_arena_free(&a);
    }
}

static void test_slo_template_simplify_rejects_bad_templates(void **state)
{
    (void)state;
    const struct {
        const char *tmpl;
        int rc;
        const char *want;
    } cases[] = {
        {"sum(rate(x[5m]))", BR_EINVAL, "must use {{.window}}"},
        {"sum(rate(x[{{.window}}])", BR_EPARSE, "invalid PromQL: "},
        {"rate(x[{{.window}}]) +", BR_EPARSE, "unexpected end of input"},
        {"", BR_EINVAL, "the query is empty"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        br_arena a;
        br_arena_init(&a, 0, 0);
        br_event_source src = {BR_SOURCE_NONE, NULL, NAN};
        const char **by = NULL;
        size_t n_by = 0;
        br_err err;
        br_err_clear(&err);
        assert_int_equal(br_slo_template_simplify(&a, cases[i].tmpl, &src, &by, &n_by, &err),
                         cases[i].rc);
        assert_non_null(strstr(err.msg, cases[i].want));
        br_arena_free(&a);
    }
}

static void test_slo_template_check_allows_fixed_range_when_asked(void **state)
{
    (void)state;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_slo_template_check("histogram_quantile(0.99, rate(x[5m]))", false, &err),
                     0);
    assert_int_equal(br_slo_template_check("histogram_quantile(0.99, rate(x[5m]))", true, &err),
                     BR_EINVAL);
}

static void test_slo_counter_source_normalises_le(void **state)
{
    (void)state;
    br_arena a;
    br_arena_init(&a, 0, 0);
    br_err err;
    br_err_clear(&err);
    br_event_source x = {BR_SOURCE_NONE, NULL, NAN};
    br_event_source y = {BR_SOURCE_NONE, NULL, NAN};
    assert_int_equal(
        br_slo_counter_source(&a, "h_bucket{le=\"0.5\", job='a'}", false, &x, NULL, NULL, &err), 0);
    assert_int_equal(
        br_slo_counter_source(&a, "h_bucket{job=\"a\",le=\"0.50\"}", false, &y, NULL, NULL, &err),
        0);
    assert_int_equal(x.kind, BR_SOURCE_COUNTER);
    assert_string_equal(x.expr, "h_bucket{job=\"a\"}");
    assert_string_equal(x.expr, y.expr);
    assert_true(x.le == 0.5 && y.le == 0.5);
    assert_int_equal(
        br_slo_counter_source(&a, "h_bucket{le=\"+Inf\"}", false, &x, NULL, NULL, &err), 0);
    assert_true(isinf(x.le) && x.le > 0);
    br_arena_free(&a);
}

static void test_slo_counter_source_rejects_non_selectors(void **state)
{
    (void)state;
    const struct {
        const char *text;
        bool allow_sum;
        const char *want;
    } cases[] = {
        {"rate(x[5m])", false,
         "expected a counter selector such as metric{label=\"value\"}, got "
         "a function call"},
        {"sum(x)", false, "got an aggregation"},
        {"avg(x)", true, "got an aggregation"},
        {"x offset 5m", false, "must not use offset or @"},
        {"x{le=~\"0.5\"}", false, "the le matcher must be le=\"<number>\""},
        {"x{le=\"fast\"}", false, "the le matcher must be le=\"<number>\""},
        {"{le=\"1\"}", false, "matches nothing but le"},
        {"x[{{.window}}]", false, "not a template with {{.window}}"},
        {"x{", false, "invalid PromQL"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        br_arena a;
        br_arena_init(&a, 0, 0);
        br_event_source src = {BR_SOURCE_NONE, NULL, NAN};
        const char **by = NULL;
        size_t n_by = 0;
        br_err err;
        br_err_clear(&err);
        int rc =
            br_slo_counter_source(&a, cases[i].text, cases[i].allow_sum, &src, &by, &n_by, &err);
        if (rc == 0 || strstr(err.msg, cases[i].want) == NULL) {
            print_message("case %zu: rc=%d %s\n", i, rc, err.msg);
        }
        assert_int_not_equal(rc, 0);
        assert_non_null(strstr(err.msg, cases[i].want));
        br_arena_free(&a);
    }
}

static void test_slo_counter_source_sum_by_gives_labels(void **state)
{
    (void)state;
    br_arena a;
    br_arena_init(&a, 0, 0);
    br_event_source src = {BR_SOURCE_NONE, NULL, NAN};
    const char **by = NULL;
    size_t n_by = 0;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_slo_counter_source(&a, "sum by (route) (req{code=\"500\"})", true, &src,
                                           &by, &n_by, &err),
                     0);
    assert_string_equal(src.expr, "req{code=\"500\"}");
    assert_int_equal(n_by, 1);
    assert_string_equal(by[0], "route");
    br_arena_free(&a);
}

static void test_slo_selector_add_matcher_appends_exclusion(void **state)
{
    (void)state;
    br_arena a;
    br_arena_init(&a, 0, 0);
    br_err err;
    br_err_clear(&err);
    const char *out = NULL;
    assert_int_equal(
        br_slo_selector_add_matcher(&a, "req{job=\"a\"}", "code", "!~", "429|401|400", &out, &err),
        0);
    assert_string_equal(out, "req{code!~\"429|401|400\",job=\"a\"}");
    assert_int_equal(br_slo_selector_add_matcher(&a, "req", "path", "=", "say \"hi\"", &out, &err),
                     0);
    assert_string_equal(out, "req{path=\"say \\\"hi\\\"\"}");
    assert_int_equal(br_slo_selector_add_matcher(&a, "req", "code", "!~", "(", &out, &err),
                     BR_EPARSE);
    assert_non_null(strstr(err.msg, "invalid PromQL"));
    assert_int_equal(br_slo_selector_add_matcher(&a, "req", "1code", "!~", "x", &out, &err),
                     BR_EINVAL);
    assert_non_null(strstr(err.msg, "\"1code\" is not a label name"));
    br_arena_free(&a);
}

static void test_slo_histogram_source_uses_bucket_and_count(void **state)
{
    (void)state;
    br_arena a;
    br_arena_init(&a, 0, 0);
    br_err err;
    br_err_clear(&err);
    br_event_source good = {BR_SOURCE_NONE, NULL, NAN};
    br_event_source total = {BR_SOURCE_NONE, NULL, NAN};
    assert_int_equal(br_slo_histogram_source(&a, "http_request_duration_seconds{job=\"a\"}", 0.5,
                                             &good, &total, &err),
                     0);
    assert_int_equal(good.kind, BR_SOURCE_COUNTER);
    assert_string_equal(good.expr, "http_request_duration_seconds_bucket{job=\"a\"}");
    assert_true(good.le == 0.5);
    assert_int_equal(total.kind, BR_SOURCE_COUNTER);
    assert_string_equal(total.expr, "http_request_duration_seconds_count{job=\"a\"}");
    assert_true(isnan(total.le));
    assert_int_equal(br_slo_histogram_source(&a, "{__name__=\"h\"}", 1, &good, &total, &err), 0);
    assert_string_equal(good.expr, "h_bucket");
    assert_string_equal(total.expr, "h_count");
    const struct {
        const char *base;
        double t;
        const char *want;
    } bad[] = {
        {"h_bucket{job=\"a\"}", 0.5, "give the histogram's base name (\"h\")"},
        {"{job=\"a\"}", 0.5, "needs a metric name"},
        {"h{le=\"1\"}", 0.5, "must not match on le"},
        {"h", 0, "must be a positive number"},
        {"rate(h[5m])", 0.5, "expected a series selector"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_not_equal(
            br_slo_histogram_source(&a, bad[i].base, bad[i].t, &good, &total, &err), 0);
        assert_non_null(strstr(err.msg, bad[i].want));
    }
    br_arena_free(&a);
}

static void test_slo_native_histogram_source_builds_fraction_queries(void **state)
{
    (void)state;
    br_arena a;
    br_arena_init(&a, 0, 0);
    br_err err;
    br_err_clear(&err);
    br_event_source good = {BR_SOURCE_NONE, NULL, NAN};
    br_event_source total = {BR_SOURCE_NONE, NULL, NAN};
    const char *grouping[] = {"handler"};
    assert_int_equal(
        br_slo_native_histogram_source(&a, "h{job=\"a\"}", 0.2, grouping, 1, &good, &total, &err),
        0);
    assert_int_equal(good.kind, BR_SOURCE_QUERY);
    assert_string_equal(good.expr,
                        "histogram_fraction(0, 0.2, sum by (handler) "
                        "(rate(h{job=\"a\"}[{{.window}}]))) * histogram_count(sum by (handler) "
                        "(rate(h{job=\"a\"}[{{.window}}])))");
    assert_string_equal(total.expr,
                        "histogram_count(sum by (handler) (rate(h{job=\"a\"}[{{.window}}])))");
    assert_int_equal(br_slo_native_histogram_source(&a, "h", 5, NULL, 0, &good, &total, &err), 0);
    assert_string_equal(total.expr, "histogram_count(sum(rate(h[{{.window}}])))");
    br_arena_free(&a);
}

static void test_slo_bool_gauge_source_shares_selector(void **state)
{
    (void)state;
    br_arena a;
    br_arena_init(&a, 0, 0);
    br_err err;
    br_err_clear(&err);
    br_event_source good = {BR_SOURCE_NONE, NULL, NAN};
    br_event_source total = {BR_SOURCE_NONE, NULL, NAN};
    assert_int_equal(br_slo_bool_gauge_source(&a, "probe_success{job=\"bb\"}", &good, &total, &err),
                     0);
    assert_int_equal(good.kind, BR_SOURCE_BOOL_GAUGE);
    assert_int_equal(total.kind, BR_SOURCE_BOOL_GAUGE);
    assert_string_equal(good.expr, "probe_success{job=\"bb\"}");
    assert_string_equal(total.expr, good.expr);
    assert_int_equal(br_slo_bool_gauge_source(&a, "avg(up)", &good, &total, &err), BR_EINVAL);
    br_arena_free(&a);
}

static void test_slo_value_parsers(void **state)
{
    (void)state;
    double v = 0;
    assert_int_equal(br_slo_parse_percent("99.5", &v), 0);
    assert_true(fabs(v - 0.995) < 1e-12);
    assert_int_equal(br_slo_parse_percent("100", &v), BR_EINVAL);
    assert_int_equal(br_slo_parse_percent("0", &v), BR_EINVAL);
    assert_int_equal(br_slo_parse_percent("99%", &v), BR_EINVAL);

    const struct {
        const char *text;
        bool neg;
        int rc;
        double want;
    } shares[] = {
        {"99%", false, 0, 0.99}, {"0.99", false, 0, 0.99},   {"99", false, 0, 0.99},
        {"50 %", false, 0, 0.5}, {"-10%", true, 0, -0.1},    {"-10%", false, BR_EINVAL, 0},
        {"1", false, 0, 1.0},    {"x", false, BR_EINVAL, 0},
    };
    for (size_t i = 0; i < sizeof(shares) / sizeof(shares[0]); i++) {
        assert_int_equal(br_slo_parse_share(shares[i].text, shares[i].neg, &v), shares[i].rc);
        if (shares[i].rc == 0) {
            assert_true(fabs(v - shares[i].want) < 1e-12);
        }
    }
    const struct {
        const char *text;
        int rc;
        double want;
    } secs[] = {{"500ms", 0, 0.5}, {"0.5", 0, 0.5}, {"5s", 0, 5},
                {"1m", 0, 60},     {"2", 0, 2},     {"abc", BR_EINVAL, 0}};
    for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
        assert_int_equal(br_slo_parse_seconds(secs[i].text, &v), secs[i].rc);
        if (secs[i].rc == 0) {
            assert_true(fabs(v - secs[i].want) < 1e-12);
        }
    }
    br_threshold_op op;
    assert_int_equal(br_slo_parse_op("<", &op), 0);
    assert_int_equal(op, BR_OP_LT);
    assert_int_equal(br_slo_parse_op("lte", &op), 0);
    assert_int_equal(op, BR_OP_LE);
    assert_int_equal(br_slo_parse_op(">=", &op), 0);
    assert_int_equal(op, BR_OP_GE);
    assert_int_equal(br_slo_parse_op("gt", &op), 0);
    assert_int_equal(op, BR_OP_GT);
    assert_int_equal(br_slo_parse_op("==", &op), BR_EINVAL);
}

static void test_slo_parse_time_zone_forms(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    const struct {
        const char *text;
        int rc;
        int32_t offset;
        const char *name;
    } cases[] = {
        {"UTC", 0, 0, NULL},
        {"Z", 0, 0, NULL},
        {"+02:00", 0, 7200, NULL},
        {"-0530", 0, -19800, NULL},
        {"+14", 0, 50400, NULL},
        {"+15:00", BR_EINVAL, 0, NULL},
        {"+2:00", BR_EINVAL, 0, NULL},
        {"Europe/Paris", 0, 0, "Europe/Paris"},
        {"America/Port-au-Prince", 0, 0, "America/Port-au-Prince"},
        {"../etc/passwd", BR_EINVAL, 0, NULL},
        {"Europe/../x", BR_EINVAL, 0, NULL},
        {"", BR_EINVAL, 0, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        br_period p = {.utc_offset_s = 99, .time_zone = "old"};
        int rc = br_slo_parse_time_zone(s, cases[i].text, &p);
        assert_int_equal(rc, cases[i].rc);
        if (rc == 0) {
            assert_int_equal(p.utc_offset_s, cases[i].offset);
            if (cases[i].name == NULL) {
                assert_null(p.time_zone);
            } else {
                assert_string_equal(p.time_zone, cases[i].name);
            }
        }
    }
    br_slo_set_unref(s);
}

static void test_slo_names_and_labels_helpers(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    assert_true(br_slo_valid_label_name("_a1"));
    assert_false(br_slo_valid_label_name("1a"));
    assert_false(br_slo_valid_label_name("a-b"));
    assert_false(br_slo_valid_label_name(""));
    assert_string_equal(br_slo_sanitize_label_name(s, "app.kubernetes.io/name"),
                        "app_kubernetes_io_name");
    assert_string_equal(br_slo_sanitize_label_name(s, "1x"), "_1x");
    assert_string_equal(br_slo_default_alert_name(s, "checkout", "availability"),
                        "CheckoutAvailabilityHighErrorRate");
    assert_string_equal(br_slo_default_alert_name(s, "svc-0", "latency-p99"),
                        "Svc0LatencyP99HighErrorRate");
    br_kv *kv = NULL;
    size_t n = 0;
    br_slo_kv_set(s, &kv, &n, "team", "a");
    br_slo_kv_set(s, &kv, &n, "tier", "1");
    br_slo_kv_set(s, &kv, &n, "team", "b");
    assert_int_equal(n, 2);
    assert_string_equal(kv[0].key, "team");
    assert_string_equal(kv[0].value, "b");
    assert_string_equal(kv[1].value, "1");
    const char *ab[] = {"a", "b"};
    const char *ba[] = {"b", "a"};
    const char *ac[] = {"a", "c"};
    assert_true(br_slo_same_labels(ab, 2, ba, 2));
    assert_false(br_slo_same_labels(ab, 2, ac, 2));
    assert_false(br_slo_same_labels(ab, 2, ab, 1));
    br_slo_set_unref(s);
}

static void test_slo_apply_by_labels_sets_or_checks_grouping(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_slo_def *d = br_slo_def_new(s);
    br_event_source counter = {BR_SOURCE_COUNTER, "x", NAN};
    br_event_source query = {BR_SOURCE_QUERY, "q", NAN};
    const char *route[] = {"route"};
    const char *code[] = {"code"};
    assert_null(br_slo_apply_by_labels(d, &counter, route, 1, &counter, route, 1));
    assert_int_equal(d->n_grouping, 1);
    assert_string_equal(d->grouping[0], "route");
    assert_non_null(br_slo_apply_by_labels(d, &counter, route, 1, &counter, code, 1));
    assert_non_null(br_slo_apply_by_labels(d, &counter, code, 1, &query, NULL, 0));
    assert_null(br_slo_apply_by_labels(d, &query, NULL, 0, &counter, route, 1));
    br_slo_set_unref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slo_template_render_replaces_every_window),
        cmocka_unit_test(test_slo_template_simplify_classifies_templates),
        cmocka_unit_test(test_slo_template_simplify_rejects_bad_templates),
        cmocka_unit_test(test_slo_template_check_allows_fixed_range_when_asked),
        cmocka_unit_test(test_slo_counter_source_normalises_le),
        cmocka_unit_test(test_slo_counter_source_rejects_non_selectors),
        cmocka_unit_test(test_slo_counter_source_sum_by_gives_labels),
        cmocka_unit_test(test_slo_selector_add_matcher_appends_exclusion),
        cmocka_unit_test(test_slo_histogram_source_uses_bucket_and_count),
        cmocka_unit_test(test_slo_native_histogram_source_builds_fraction_queries),
        cmocka_unit_test(test_slo_bool_gauge_source_shares_selector),
        cmocka_unit_test(test_slo_value_parsers),
        cmocka_unit_test(test_slo_parse_time_zone_forms),
        cmocka_unit_test(test_slo_names_and_labels_helpers),
        cmocka_unit_test(test_slo_apply_by_labels_sets_or_checks_grouping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
