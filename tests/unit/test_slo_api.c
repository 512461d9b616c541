/*
 * test_slo_api.c — SLO definitions managed over HTTP, through the whole
 * process: PUT (valid, invalid with line:col, id mismatch, 409 for an id a
 * file defines), GET definition, DELETE, persistence across a restart of
 * the app, and the audit log with who and when.
 */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "engine/app.h"
#include "tests/helpers/testutil.h"

static char *dir;
static char *config_path;
static char data_dir[512];

static const char *file_slo = "slos:\n"
                              "  - service: web\n"
                              "    name: avail\n"
                              "    objective: 99%\n"
                              "    sli:\n"
                              "      events:\n"
                              "        bad: 'http_requests_total{code=\"500\"}'\n"
                              "        total: 'http_requests_total'\n";

static const char *api_slo = "slos:\n"
                             "  - service: checkout\n"
                             "    name: avail\n"
                             "    objective: 99.9%\n"
                             "    sli:\n"
                             "      events:\n"
                             "        bad: 'pay_total{code=\"500\"}'\n"
                             "        total: 'pay_total'\n";

static const char *api_slo_json =
    "{\"slos\": [{\"service\": \"checkout\", \"name\": \"avail\", \"objective\": \"99.5%\","
    " \"sli\": {\"events\": {\"bad\": \"pay_total{code=\\\"500\\\"}\", \"total\": \"pay_total\"}}}]}";

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    dir = tu_mkdtemp("slo-api");
    if (dir == NULL) {
        return -1;
    }
    char *slo_file = tu_write_file(dir, "web.yml", file_slo);
    char cfg[1200];
    snprintf(cfg, sizeof(cfg), "log_level: warn\nslos:\n  - %s\n", slo_file);
    free(slo_file);
    config_path = tu_write_file(dir, "burnrate.yml", cfg);
    snprintf(data_dir, sizeof(data_dir), "%s/data", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(dir);
    free(dir);
    free(config_path);
    curl_global_cleanup();
    return 0;
}

static br_app *start(void)
{
    br_app_options opts;
    memset(&opts, 0, sizeof(opts));
    opts.config_file = config_path;
    opts.flags.listen = "127.0.0.1:0";
    opts.flags.data_dir = data_dir;
    br_err err;
    br_err_clear(&err);
    br_app *app = br_app_start(&opts, &err);
    if (app == NULL) {
        print_error("start failed: %s\n", err.msg);
    }
    return app;
}

static int call(br_app *app, const char *method, const char *path, const char *body,
                tu_http_result *r)
{
    char url[512];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", br_app_port(app), path);
    static const char *const headers[] = {"X-Burnrate-Author: ci-bot", NULL};
    int rc = tu_http(method, url, body, body ? strlen(body) : 0, headers, r);
    assert_int_equal(rc, 0);
    return (int)r->status;
}

static void test_slo_api_put_creates_then_replaces_and_serves_definition(void **state)
{
    (void)state;
    br_app *app = start();
    assert_non_null(app);
    tu_http_result r;
    assert_int_equal(call(app, "PUT", "/api/v1/slos/checkout-avail", api_slo, &r), 201);
    assert_non_null(strstr(r.body, "\"create\""));
    tu_http_free(&r);
    assert_int_equal(call(app, "GET", "/api/v1/slos/checkout-avail/definition", NULL, &r), 200);
    assert_string_equal(r.body, api_slo);
    tu_http_free(&r);
    assert_int_equal(call(app, "PUT", "/api/v1/slos/checkout-avail", api_slo_json, &r), 200);
    assert_non_null(strstr(r.body, "\"replace\""));
    tu_http_free(&r);
    assert_int_equal(call(app, "GET", "/api/v1/slos/checkout-avail/definition", NULL, &r), 200);
    assert_non_null(strstr(r.body, "99.5%"));
    tu_http_free(&r);
    br_app_stop(app);
}

static void test_slo_api_put_invalid_document_is_400_with_position(void **state)
{
    (void)state;
    br_app *app = start();
    assert_non_null(app);
    tu_http_result r;
    const char *bad = "slos:\n"
                      "  - service: checkout\n"
                      "    name: avail\n"
                      "    objective: 140%\n"
                      "    sli:\n"
                      "      events:\n"
                      "        bad: 'x'\n"
                      "        total: 'y'\n";
    assert_int_equal(call(app, "PUT", "/api/v1/slos/checkout-avail", bad, &r), 400);
    assert_non_null(strstr(r.body, "body:4:"));
    tu_http_free(&r);
    assert_int_equal(call(app, "PUT", "/api/v1/slos/checkout-other", api_slo, &r), 400);
    assert_non_null(strstr(r.body, "checkout-avail"));
    tu_http_free(&r);
    assert_int_equal(call(app, "GET", "/api/v1/slos/checkout-avail/definition", NULL, &r), 404);
    tu_http_free(&r);
    br_app_stop(app);
}

static void test_slo_api_refuses_ids_defined_in_files(void **state)
{
    (void)state;
    br_app *app = start();
    assert_non_null(app);
    tu_http_result r;
    const char *web = "slos:\n"
                      "  - service: web\n"
                      "    name: avail\n"
                      "    objective: 95%\n"
                      "    sli:\n"
                      "      events:\n"
                      "        bad: 'x'\n"
                      "        total: 'y'\n";
    assert_int_equal(call(app, "PUT", "/api/v1/slos/web-avail", web, &r), 409);
    assert_non_null(strstr(r.body, "web.yml"));
    tu_http_free(&r);
    assert_int_equal(call(app, "DELETE", "/api/v1/slos/web-avail", NULL, &r), 409);
    tu_http_free(&r);
    br_app_stop(app);
}

static void test_slo_api_delete_and_persistence_across_restart(void **state)
{
    (void)state;
    br_app *app = start();
    assert_non_null(app);
    tu_http_result r;
    assert_int_equal(call(app, "PUT", "/api/v1/slos/checkout-avail", api_slo, &r), 201);
    tu_http_free(&r);
    br_app_stop(app);

    app = start();
    assert_non_null(app);
    assert_int_equal(call(app, "GET", "/api/v1/slos/checkout-avail/definition", NULL, &r), 200);
    assert_string_equal(r.body, api_slo);
    tu_http_free(&r);
    assert_int_equal(call(app, "DELETE", "/api/v1/slos/checkout-avail", NULL, &r), 200);
    tu_http_free(&r);
    assert_int_equal(call(app, "DELETE", "/api/v1/slos/checkout-avail", NULL, &r), 404);
    tu_http_free(&r);
    br_app_stop(app);

    app = start();
    assert_non_null(app);
    assert_int_equal(call(app, "GET", "/api/v1/slos/checkout-avail/definition", NULL, &r), 404);
    tu_http_free(&r);
    br_app_stop(app);
}

static void test_slo_api_audit_records_who_and_when(void **state)
{
    (void)state;
    br_app *app = start();
    assert_non_null(app);
    tu_http_result r;
    assert_int_equal(call(app, "PUT", "/api/v1/slos/checkout-avail", api_slo, &r), 201);
    tu_http_free(&r);
    assert_int_equal(call(app, "DELETE", "/api/v1/slos/checkout-avail", NULL, &r), 200);
    tu_http_free(&r);
    assert_int_equal(call(app, "GET", "/api/v1/slos/audit", NULL, &r), 200);
    const char *create = strstr(r.body, "\"action\":\"create\"");
    const char *del = strstr(r.body, "\"action\":\"delete\"");
    assert_non_null(create);
    assert_non_null(del);
    assert_true(create < del);
    assert_non_null(strstr(r.body, "\"who\":\"addr:127.0.0.1\""));
    assert_non_null(strstr(r.body, "\"author\":\"ci-bot\""));
    assert_non_null(strstr(r.body, "\"time\":\"20"));
    assert_non_null(strstr(r.body, "\"id\":\"checkout-avail\""));
    tu_http_free(&r);
    br_app_stop(app);
}

static void test_slo_api_annotations_over_http(void **state)
{
    (void)state;
    br_app *app = start();
    assert_non_null(app);
    tu_http_result r;
    assert_int_equal(call(app, "POST", "/api/v1/annotations",
                          "{\"slo\":\"web-avail\",\"time\":1700000000,\"title\":\"deploy v2\","
                          "\"kind\":\"deploy\",\"tags\":[\"v2\"]}",
                          &r),
                     201);
    assert_non_null(strstr(r.body, "\"id\":1"));
    tu_http_free(&r);
    assert_int_equal(call(app, "POST", "/api/v1/annotations", "{\"title\":\"x\",\"kind\":\"bad\"}",
                          &r),
                     400);
    tu_http_free(&r);
    assert_int_equal(call(app, "GET", "/api/v1/annotations?slo=web-avail&tags=v2", NULL, &r), 200);
    assert_non_null(strstr(r.body, "deploy v2"));
    assert_non_null(strstr(r.body, "ci-bot (addr:127.0.0.1)"));
    tu_http_free(&r);
    assert_int_equal(call(app, "GET", "/api/v1/annotations?format=grafana", NULL, &r), 200);
    assert_non_null(strstr(r.body, "\"time\":1700000000000"));
    tu_http_free(&r);
    assert_int_equal(call(app, "DELETE", "/api/v1/annotations/1", NULL, &r), 200);
    tu_http_free(&r);
    assert_int_equal(call(app, "DELETE", "/api/v1/annotations/1", NULL, &r), 404);
    tu_http_free(&r);
    br_app_stop(app);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_slo_api_put_creates_then_replaces_and_serves_definition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slo_api_put_invalid_document_is_400_with_position,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_slo_api_refuses_ids_defined_in_files, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_slo_api_delete_and_persistence_across_restart, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_slo_api_audit_records_who_and_when, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slo_api_annotations_over_http, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
