/*
 * test_app.c — the process end to end inside one test binary: start on a
 * free loopback port, probe the lifecycle endpoints and /metrics over real
 * HTTP, reload good and bad configurations (a bad one must keep the old
 * configuration running), and refuse to start on a bad config.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/app.h"
#include "tests/helpers/testutil.h"

static char *dir;

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    dir = tu_mkdtemp("app");
    return dir ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(dir);
    free(dir);
    curl_global_cleanup();
    return 0;
}

static br_app *start_with(const char *config_text, char **config_path)
{
    *config_path = tu_write_file(dir, "burnrate.yml", config_text);
    char data_dir[512];
    snprintf(data_dir, sizeof(data_dir), "%s/data", dir);
    static char data_copy[512];
    snprintf(data_copy, sizeof(data_copy), "%s", data_dir);
    br_app_options opts;
    memset(&opts, 0, sizeof(opts));
    opts.config_file = *config_path;
    opts.flags.listen = "127.0.0.1:0";
    opts.flags.data_dir = data_copy;
    br_err err;
    br_err_clear(&err);
    br_app *app = br_app_start(&opts, &err);
    if (app == NULL) {
        print_error("start failed: %s\n", err.msg);
    }
    return app;
}

static void url_for(br_app *app, const char *path, char *out, size_t size)
{
    snprintf(out, size, "http://127.0.0.1:%d%s", br_app_port(app), path);
}

static void test_app_serves_lifecycle_endpoints(void **state)
{
    (void)state;
    char *cfg = NULL;
    br_app *app = start_with("log_level: warn\n", &cfg);
    assert_non_null(app);
    char url[256];
    tu_http_result r;

    url_for(app, "/-/healthy", url, sizeof(url));
    assert_int_equal(tu_http("GET", url, NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "Healthy"));
    tu_http_free(&r);

    url_for(app, "/-/ready", url, sizeof(url));
    assert_int_equal(tu_http("GET", url, NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    tu_http_free(&r);

    /* A known path with the wrong method is 405 with Allow, never 404. */
    url_for(app, "/-/reload", url, sizeof(url));
    assert_int_equal(tu_http("GET", url, NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 405);
    assert_non_null(strstr(r.headers, "Allow: POST, PUT"));
    tu_http_free(&r);

    url_for(app, "/no/such/path", url, sizeof(url));
    assert_int_equal(tu_http("GET", url, NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 404);
    tu_http_free(&r);

    url_for(app, "/metrics", url, sizeof(url));
    assert_int_equal(tu_http("GET", url, NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.headers, "text/plain; version=0.0.4"));
    assert_non_null(strstr(r.body, "# TYPE burnrate_http_requests_total counter"));
    assert_non_null(strstr(r.body, "burnrate_http_requests_total{handler=\"/-/healthy\",code=\"200\"} 1"));
    assert_non_null(strstr(r.body, "process_resident_memory_bytes "));
    tu_http_free(&r);

    url_for(app, "/", url, sizeof(url));
    assert_int_equal(tu_http("GET", url, NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.headers, "text/html"));
    tu_http_free(&r);

    br_app_stop(app);
    free(cfg);
}

static void test_app_bad_reload_keeps_old_config(void **state)
{
    (void)state;
    char *cfg = NULL;
    br_app *app = start_with("log_level: warn\nadmin: {enabled: true}\n", &cfg);
    assert_non_null(app);
    char url[256];
    tu_http_result r;
    url_for(app, "/-/reload", url, sizeof(url));

    free(tu_write_file(dir, "burnrate.yml", "log_level: warn\nbogus_key: 1\n"));
    assert_int_equal(tu_http("POST", url, "", 0, NULL, &r), 0);
    assert_int_equal(r.status, 500);
    assert_non_null(strstr(r.body, "burnrate.yml:2:1: unknown key \"bogus_key\""));
    tu_http_free(&r);

    /* Still serving, and the failure is visible in /metrics. */
    char murl[256];
    url_for(app, "/metrics", murl, sizeof(murl));
    assert_int_equal(tu_http("GET", murl, NULL, 0, NULL, &r), 0);
    assert_non_null(strstr(r.body, "burnrate_config_last_reload_successful 0"));
    assert_non_null(strstr(r.body, "burnrate_config_reloads_total{result=\"failure\"} 1"));
    tu_http_free(&r);

    free(tu_write_file(dir, "burnrate.yml", "log_level: warn\nevaluation: {interval: 10s}\n"));
    assert_int_equal(tu_http("POST", url, "", 0, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    tu_http_free(&r);
    assert_int_equal(tu_http("GET", murl, NULL, 0, NULL, &r), 0);
    assert_non_null(strstr(r.body, "burnrate_config_last_reload_successful 1"));
    tu_http_free(&r);

    br_app_stop(app);
    free(cfg);
}

static void test_app_refuses_to_start_on_bad_config(void **state)
{
    (void)state;
    char *cfg = tu_write_file(dir, "bad.yml", "storage:\n  retention: forever\n");
    br_app_options opts;
    memset(&opts, 0, sizeof(opts));
    opts.config_file = cfg;
    opts.flags.listen = "127.0.0.1:0";
    br_err err;
    br_err_clear(&err);
    assert_null(br_app_start(&opts, &err));
    assert_int_equal(err.code, BR_EPARSE);
    assert_int_equal(err.line, 2);
    free(cfg);
}

static void test_app_bearer_tokens_guard_route_groups(void **state)
{
    (void)state;
    char *wt = tu_write_file(dir, "write.token", "w-secret\n");
    char *rt = tu_write_file(dir, "read.token", "  r-secret  \n");
    char text[2048];
    snprintf(text, sizeof(text),
             "log_level: warn\nauth:\n  write_token_file: %s\n  read_token_file: %s\n", wt, rt);
    char *cfg = NULL;
    br_app *app = start_with(text, &cfg);
    assert_non_null(app);
    char url[256];
    tu_http_result r;
    const char *const none[] = {NULL};
    const char *const wrong[] = {"Authorization: Bearer nope", NULL};
    const char *const write_ok[] = {"Authorization: Bearer w-secret", NULL};
    const char *const read_ok[] = {"Authorization: Bearer r-secret", NULL};
    const char *const prefix[] = {"Authorization: Bearer r-secre", NULL};

    url_for(app, "/api/v1/labels", url, sizeof(url));
    assert_int_equal(tu_http("GET", url, NULL, 0, none, &r), 0);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.headers, "WWW-Authenticate: Bearer"));
    tu_http_free(&r);
    assert_int_equal(tu_http("GET", url, NULL, 0, wrong, &r), 0);
    assert_int_equal(r.status, 401);
    tu_http_free(&r);
    assert_int_equal(tu_http("GET", url, NULL, 0, prefix, &r), 0);
    assert_int_equal(r.status, 401);
    tu_http_free(&r);
    assert_int_equal(tu_http("GET", url, NULL, 0, write_ok, &r), 0);
    assert_int_equal(r.status, 401);
    tu_http_free(&r);
    assert_int_equal(tu_http("GET", url, NULL, 0, read_ok, &r), 0);
    assert_int_equal(r.status, 200);
    tu_http_free(&r);

    url_for(app, "/api/v1/write", url, sizeof(url));
    assert_int_equal(tu_http("POST", url, "x", 1, read_ok, &r), 0);
    assert_int_equal(r.status, 401);
    tu_http_free(&r);
    /* With the write token the request reaches the decoder, which refuses
     * curl's default form content type. */
    assert_int_equal(tu_http("POST", url, "x", 1, write_ok, &r), 0);
    assert_int_equal(r.status, 415);
    tu_http_free(&r);

    /* Probes stay open; admin routes are refused until enabled. */
    url_for(app, "/-/ready", url, sizeof(url));
    assert_int_equal(tu_http("GET", url, NULL, 0, none, &r), 0);
    assert_int_equal(r.status, 200);
    tu_http_free(&r);
    br_app_stop(app);
    free(cfg);
    free(wt);
    free(rt);
}

static void test_app_status_endpoints_answer_like_prometheus(void **state)
{
    (void)state;
    char *cfg = NULL;
    br_app *app = start_with("log_level: warn\nstorage:\n  retention: 40d\n", &cfg);
    assert_non_null(app);
    char url[256];
    tu_http_result r;
    /* Grafana may POST to GET-only paths; both must work. */
    url_for(app, "/api/v1/status/buildinfo", url, sizeof(url));
    assert_int_equal(tu_http("POST", url, "", 0, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"status\":\"success\""));
    assert_non_null(strstr(r.body, "\"version\":\"2.53.0\""));
    assert_null(strstr(r.body, "features"));
    tu_http_free(&r);
    url_for(app, "/api/v1/status/runtimeinfo", url, sizeof(url));
    assert_int_equal(tu_http("GET", url, NULL, 0, NULL, &r), 0);
    assert_non_null(strstr(r.body, "\"storageRetention\":\"5w5d\""));
    assert_non_null(strstr(r.body, "\"reloadConfigSuccess\":true"));
    tu_http_free(&r);
    url_for(app, "/api/v1/status/flags", url, sizeof(url));
    assert_int_equal(tu_http("GET", url, NULL, 0, NULL, &r), 0);
    assert_non_null(strstr(r.body, "\"listen\":\"127.0.0.1:0\""));
    tu_http_free(&r);
    url_for(app, "/api/v1/status/config", url, sizeof(url));
    assert_int_equal(tu_http("GET", url, NULL, 0, NULL, &r), 0);
    assert_non_null(strstr(r.body, "retention: 40d"));
    tu_http_free(&r);
    url_for(app, "/api/v1/metadata", url, sizeof(url));
    assert_int_equal(tu_http("GET", url, NULL, 0, NULL, &r), 0);
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":{}}");
    tu_http_free(&r);
    /* Grafana's exemplar probe sends millisecond times as seconds. */
    url_for(app, "/api/v1/query_exemplars?query=test&start=1795000000000&end=1795000600000", url,
            sizeof(url));
    assert_int_equal(tu_http("GET", url, NULL, 0, NULL, &r), 0);
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":[]}");
    tu_http_free(&r);
    br_app_stop(app);
    free(cfg);
}

static void test_app_missing_token_file_is_a_config_error(void **state)
{
    (void)state;
    char *cfg = tu_write_file(dir, "bad-auth.yml", "auth:\n  read_token_file: /nonexistent/t\n");
    br_app_options opts;
    memset(&opts, 0, sizeof(opts));
    opts.config_file = cfg;
    opts.flags.listen = "127.0.0.1:0";
    br_err err;
    br_err_clear(&err);
    assert_null(br_app_start(&opts, &err));
    assert_non_null(strstr(err.msg, "read_token_file"));
    free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_app_serves_lifecycle_endpoints),
        cmocka_unit_test(test_app_bad_reload_keeps_old_config),
        cmocka_unit_test(test_app_refuses_to_start_on_bad_config),
        cmocka_unit_test(test_app_bearer_tokens_guard_route_groups),
        cmocka_unit_test(test_app_missing_token_file_is_a_config_error),
        cmocka_unit_test(test_app_status_endpoints_answer_like_prometheus),
    };
    return cmocka_run_group_tests_name("app", tests, setup, teardown);
}
