/*
 * test_query_api.c — the Prometheus query API as Grafana and promtool call
 * it: the data source health check (POST query=1+1&time=4), instant and
 * range queries by GET, form POST and POST with the parameters in the URL,
 * the metric browser's label and series look-ups with match[], the U__
 * escaping of label names, limits with their warning, and the error types
 * with Prometheus' status codes and messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/app.h"
#include "engine/core/clock.h"
#include "storage/head.h"
#include "tests/helpers/testutil.h"

#include <cjson/cJSON.h>
#include <math.h>

static char *dir;
static br_app *app;
static int64_t t0;  /* first sample, ms */
enum { N = 41 };    /* samples per series, 15 s apart: 10 minutes */

static void commit_series(const char *code, double per_step)
{
    const br_label ls[] = {{"__name__", "http_requests_total"}, {"code", code}, {"job", "api"}};
    br_sample s[N];
    for (int i = 0; i < N; i++) {
        s[i].t = t0 + (int64_t)i * 15000;
        s[i].v = per_step * i;
    }
    br_series_input in = {.labels = ls, .n_labels = 3, .samples = s, .n_samples = N};
    br_commit_result r;
    br_err err;
    assert_int_equal(br_head_commit(br_app_head(app), &in, 1, &r, &err), 0);
}

/* Values of every point in a success answer, in order (vector or matrix). */
static size_t result_values(const char *body, double *out, size_t max)
{
    cJSON *j = cJSON_Parse(body);
    size_t n = 0;
    cJSON *res = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "result");
    for (cJSON *s = res ? res->child : NULL; s != NULL; s = s->next) {
        cJSON *v = cJSON_GetObjectItem(s, "value");
        if (v != NULL && n < max) {
            out[n++] = strtod(cJSON_GetArrayItem(v, 1)->valuestring, NULL);
        }
        cJSON *vs = cJSON_GetObjectItem(s, "values");
        for (cJSON *p = vs ? vs->child : NULL; p != NULL && n < max; p = p->next) {
            out[n++] = strtod(cJSON_GetArrayItem(p, 1)->valuestring, NULL);
        }
    }
    cJSON_Delete(j);
    return n;
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    dir = tu_mkdtemp("qapi");
    static char data_dir[512];
    snprintf(data_dir, sizeof(data_dir), "%s/data", dir);
    br_app_options opts;
    memset(&opts, 0, sizeof(opts));
    opts.flags.listen = "127.0.0.1:0";
    opts.flags.data_dir = data_dir;
    opts.flags.log_level = "error";
    br_err err;
    br_err_clear(&err);
    app = br_app_start(&opts, &err);
    if (app == NULL) {
        return -1;
    }
    t0 = (br_now_ms() / 60000) * 60000 - 20 * 60000;
    commit_series("200", 150);
    commit_series("500", 15);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    br_app_stop(app);
    tu_rmtree(dir);
    free(dir);
    curl_global_cleanup();
    return 0;
}

static long call(const char *method, const char *path_and_query, const char *form,
                 tu_http_result *r)
{
    char url[2048];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", br_app_port(app), path_and_query);
    const char *const form_headers[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    assert_int_equal(tu_http(method, url, form, form ? strlen(form) : 0,
                             form ? form_headers : NULL, r),
                     0);
    return r->status;
}

static void test_query_grafana_health_check(void **state)
{
    (void)state;
    tu_http_result r;
    assert_int_equal(call("POST", "/api/v1/query", "query=1%2B1&time=4", &r), 200);
    assert_string_equal(r.body,
                        "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[4,\"2\"]}}");
    assert_non_null(strstr(r.headers, "application/json"));
    tu_http_free(&r);
}

static void test_query_instant_by_get_post_and_url_post(void **state)
{
    (void)state;
    char q[512];
    double at = (double)(t0 + 600000) / 1000.0;
    snprintf(q, sizeof(q),
             "/api/v1/query?query=sum%%20by%%20(code)%%20(rate(http_requests_total%%5B5m%%5D))&time=%.3f",
             at);
    tu_http_result a;
    tu_http_result b;
    tu_http_result c;
    assert_int_equal(call("GET", q, NULL, &a), 200);
    assert_int_equal(call("POST", q, "", &b), 200); /* parameters only in the URL */
    char form[256];
    snprintf(form, sizeof(form), "query=sum+by+(code)+(rate(http_requests_total%%5B5m%%5D))&time=%.3f",
             at);
    assert_int_equal(call("POST", "/api/v1/query", form, &c), 200);
    assert_string_equal(a.body, b.body);
    assert_string_equal(a.body, c.body);
    /* 150 per 15 s = 10/s and 1/s. */
    assert_non_null(strstr(a.body, "{\"metric\":{\"code\":\"200\"},\"value\":["));
    double v[4];
    assert_int_equal(result_values(a.body, v, 4), 2);
    /* 150 and 15 per 15 s: 10/s and 1/s, in either order. */
    assert_true(fabs(v[0] + v[1] - 11) < 1e-9 && fabs(v[0] * v[1] - 10) < 1e-9);
    tu_http_free(&a);
    tu_http_free(&b);
    tu_http_free(&c);
}

static void test_query_range_as_grafana_sends_it(void **state)
{
    (void)state;
    char q[512];
    /* Start and end aligned to the step, step as float seconds. */
    double start = (double)(t0 + 300000) / 1000.0;
    double end = (double)(t0 + 600000) / 1000.0;
    snprintf(q, sizeof(q),
             "/api/v1/query_range?query=rate(http_requests_total%%7Bcode%%3D%%22500%%22%%7D%%5B1m%%5D)"
             "&start=%.3f&end=%.3f&step=60.0",
             start, end);
    tu_http_result r;
    assert_int_equal(call("POST", q, "", &r), 200);
    assert_non_null(strstr(r.body, "\"resultType\":\"matrix\""));
    assert_non_null(strstr(r.body, "\"metric\":{\"code\":\"500\",\"job\":\"api\"}"));
    /* 6 steps, each rate 1/s. */
    double v[16];
    assert_int_equal(result_values(r.body, v, 16), 6);
    for (int i = 0; i < 6; i++) {
        assert_true(fabs(v[i] - 1) < 1e-9);
    }
    tu_http_free(&r);
}

static void test_query_metric_browser_lookups(void **state)
{
    (void)state;
    tu_http_result r;
    assert_int_equal(call("GET", "/api/v1/label/__name__/values?limit=40000", NULL, &r), 200);
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":[\"http_requests_total\"]}");
    tu_http_free(&r);
    assert_int_equal(call("POST", "/api/v1/labels?match%5B%5D=http_requests_total", "", &r), 200);
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":[\"__name__\",\"code\",\"job\"]}");
    tu_http_free(&r);
    assert_int_equal(call("GET", "/api/v1/label/code/values?match%5B%5D=%7Bcode%3D~%225..%22%7D",
                          NULL, &r),
                     200);
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":[\"500\"]}");
    tu_http_free(&r);
    /* Label names escaped as U__ in the path. */
    assert_int_equal(call("GET", "/api/v1/label/U__code/values", NULL, &r), 200);
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":[\"200\",\"500\"]}");
    tu_http_free(&r);
    assert_int_equal(
        call("POST", "/api/v1/series", "match%5B%5D=%7B__name__%21%3D%22%22%7D&limit=1", &r), 200);
    assert_non_null(strstr(r.body, "{\"__name__\":\"http_requests_total\",\"code\":\"200\",\"job\":\"api\"}"));
    assert_null(strstr(r.body, "\"500\""));
    assert_non_null(strstr(r.body, "\"warnings\":[\"results truncated due to limit\"]"));
    tu_http_free(&r);
}

static void test_query_errors_have_prometheus_types_and_codes(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        long status;
        const char *type;
        const char *fragment;
    } cases[] = {
        {"/api/v1/query?query=sum(rate(x%5B5m%5D)", 400, "bad_data", "invalid parameter \\\"query\\\": 1:"},
        {"/api/v1/query?query=up&time=yesterday", 400, "bad_data", "cannot parse \\\"yesterday\\\""},
        {"/api/v1/query_range?query=up&start=10&end=5&step=1", 400, "bad_data",
         "end timestamp must not be before start time"},
        {"/api/v1/query_range?query=up&start=0&end=5&step=0", 400, "bad_data",
         "zero or negative query resolution step widths are not accepted"},
        {"/api/v1/query_range?query=up&start=0&end=100000&step=1", 400, "bad_data",
         "exceeded maximum resolution of 11,000 points per timeseries"},
        {"/api/v1/series", 400, "bad_data", "no match[] parameter provided"},
        {"/api/v1/series?match%5B%5D=%7Bjob%3D~%22.*%22%7D", 400, "bad_data",
         "at least one non-empty matcher"},
        {"/api/v1/query?query=http_requests_total%20%2B%20on()%20http_requests_total&time=%T", 422,
         "execution", "many-to-many matching not allowed"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tu_http_result r;
        /* %T stands for a time inside the data. */
        char path[512];
        snprintf(path, sizeof(path), "%s", cases[i].path);
        char *tpos = strstr(path, "%T");
        if (tpos != NULL) {
            snprintf(tpos, sizeof(path) - (size_t)(tpos - path), "%.3f",
                     (double)(t0 + 300000) / 1000.0);
        }
        long st = call("GET", path, NULL, &r);
        char type[64];
        snprintf(type, sizeof(type), "\"errorType\":\"%s\"", cases[i].type);
        if (st != cases[i].status || strstr(r.body, type) == NULL ||
            strstr(r.body, cases[i].fragment) == NULL) {
            print_error("case %zu %s: %ld %s\n", i, cases[i].path, st, r.body);
            fail();
        }
        tu_http_free(&r);
    }
}

static void test_query_format_query_prints_canonical_form(void **state)
{
    (void)state;
    tu_http_result r;
    assert_int_equal(call("POST", "/api/v1/format_query",
                          "query=sum(rate(foo%5B5m%5D))by(job)", &r),
                     200);
    assert_string_equal(r.body,
                        "{\"status\":\"success\",\"data\":\"sum by (job) (rate(foo[5m]))\"}");
    tu_http_free(&r);
    assert_int_equal(call("GET", "/api/v1/format_query?query=sum(", NULL, &r), 400);
    assert_non_null(strstr(r.body, "\"errorType\":\"bad_data\""));
    tu_http_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_grafana_health_check),
        cmocka_unit_test(test_query_instant_by_get_post_and_url_post),
        cmocka_unit_test(test_query_range_as_grafana_sends_it),
        cmocka_unit_test(test_query_metric_browser_lookups),
        cmocka_unit_test(test_query_errors_have_prometheus_types_and_codes),
        cmocka_unit_test(test_query_format_query_prints_canonical_form),
    };
    return cmocka_run_group_tests_name("query_api", tests, setup, teardown);
}
