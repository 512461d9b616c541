/*
 * test_ui_browser.c — the web UI in a real browser, plus how burnrate serves
 * it.
 *
 * 1. test_ui_served_with_types_and_cache_headers: the real burnrate binary
 *    (BURNRATE_BIN) answers /, the single-page routes and every embedded
 *    file with the right content type, ETag and Cache-Control, 304 on a
 *    matching If-None-Match, and a CSP on HTML.
 * 2. test_ui_shell_loads_from_burnrate: headless Chromium loads the embedded
 *    shell, app.js and uPlot from burnrate under its real headers
 *    (tests/ui/ui_test.mjs --mode smoke).
 * 3. test_ui_browser_live: burnrate (evaluation every second, the
 *    repository's example SLOs plus TEST_SLO below) fed by burnrate-loadgen
 *    (LOADGEN_ARGS): a week of history, then live traffic, with an incident
 *    on svc-0 that started 15 minutes before the live phase; svc-3's series
 *    carry route="<script>alert(1)</script>" (--extra-label), which
 *    TEST_SLO groups by. tests/ui/ui_test.mjs --mode full then checks the
 *    overview against /api/v1/slos of the same evaluation, filters,
 *    search, sort, keyboard, the SLO page of svc-0-availability (charts,
 *    alert table, windows, budget, policy, PromQL) against the API, the
 *    query page, the markup rendered as text, and saves screenshots
 *    (readme-*.png are the README's). It also POSTs annotations to svc-0
 *    and checks their chart markers and Events list, and checks the budget
 *    adjustment TEST_SLO carries (active from 3 h before the test to 2 h
 *    after, so "active now" holds whenever it runs): the overview badge, the
 *    hatched band and the adjustment table (slo-annotations.png,
 *    slo-adjustment.png). BR_UI_BASE_URL, when set, points the test at an
 *    already running server instead.
 * 4. test_ui_browser_fixture_scale: the same overview checks, search and
 *    escaping against tests/ui/fixture-server.mjs with 1,000 SLOs
 *    (--mode scale), with build and paint times printed.
 *
 * SLO files are given relative to the source tree and burnrate runs there,
 * so pages (and screenshots) show "examples/slos/...", not a machine path.
 * Browser tests skip (with the reason) when node, Debian's chromium or
 * web/node_modules (scripts/setup.sh) are missing. Screenshots and logs go
 * to $BR_TEST_OUT or a fresh /tmp directory whose path is printed; that
 * directory is kept for people to look at.
 */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "tests/helpers/peer.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>

#define UI_TEST_TIMEOUT_S 240.0
#define LIVE_WAIT_S       120.0

/* The label value that must render as text wherever it appears. */
#define XSS "<script>alert(1)</script>"

/* Load generator: 4 services x 2 endpoints, a week of history at a
 * one-minute scrape interval (so the burn-down of a 30-day SLO has a week
 * to show; about 1.7 million samples, ingested in 20-30 s under the
 * sanitizers), then live. The incident (8% of svc-0's requests fail) is
 * counted from the first backfilled step: it starts 15 minutes before the
 * live phase and outlasts the test, so by the time the browser looks svc-0
 * burns its budget about 20x over the last hour, the page tier is pending
 * and the budget-drop page fires. */
/* clang-format off */
static const char *const LOADGEN_ARGS[] = {
    "--services", "4", "--endpoints", "2", "--interval", "60s",
    "--backfill", "7d", "--live",
    "--incident", "6d23h45m:1h:0.08", "--incident-service", "0",
    "--extra-label", "route=" XSS, "--extra-label-service", "3",
    "--seed", "7", "--quiet"};
/* clang-format on */

/* The SLO page the full run checks in detail and shoots for the README. */
#define README_SLO "svc-0-availability"

/* Grouped by the route label that only svc-3's series carry, so its one
 * instance is svc-3-availability-by-route{route="<script>alert(1)</script>"}.
 * A calendar month, so the burn-down has the ideal line, and an explicit
 * alert tier. At 99% it stays healthy with most of its budget, so it sorts
 * below the SLOs the incident hurts (and low in the README's overview).
 * A printf format: its one-off maintenance adjustment gets its start and
 * end from the clock, so it is active while the test runs. */
static const char *const TEST_SLO =
    "slos:\n"
    "  - service: svc-3\n"
    "    name: availability-by-route\n"
    "    description: \"Escaping check: <img src=x onerror=alert(2)> in a description\"\n"
    "    objective: 99%%\n"
    "    period: {calendar: month, count: 1, time_zone: UTC}\n"
    "    grouping: [route]\n"
    "    labels: {team: escaping}\n"
    "    sli:\n"
    "      events:\n"
    "        bad: 'http_requests_total{service=\"svc-3\", code=~\"5..\"}'\n"
    "        total: 'http_requests_total{service=\"svc-3\"}'\n"
    "    alerting:\n"
    "      name: Svc3RouteAvailability\n"
    "      tiers:\n"
    "        - {name: page-fast, severity: page, long: 1h, short: 5m, factor: 14.4, for: 0s}\n"
    "    adjustments:\n"
    "      - name: ui-test-maintenance\n"
    "        category: maintenance\n"
    "        start: %s\n"
    "        end: %s\n";

/* t (Unix seconds) as RFC 3339 UTC into out. */
static void rfc3339(time_t t, char *out, size_t size)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Directories are kept short enough that every path built from them fits
 * PATH_BUF with its file name. */
#define DIR_MAX  900
#define PATH_BUF 1024 /* = peer.log_path */

static char node_bin[PATH_BUF];
static char out_dir[DIR_MAX];
static char work_dir[DIR_MAX]; /* temp dir for burnrate data; removed */

static const char *source_dir(void)
{
    const char *s = getenv("BR_SOURCE_DIR");
    return s != NULL && strlen(s) < DIR_MAX ? s : ".";
}

/* Finds an executable named name on PATH; true when found. */
static bool find_on_path(const char *name, char *out, size_t size)
{
    const char *path = getenv("PATH");
    if (path == NULL) {
        return false;
    }
    const char *p = path;
    while (*p != '\0') {
        const char *end = strchr(p, ':');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        int n = snprintf(out, size, "%.*s/%s", (int)len, p, name);
        if (n > 0 && (size_t)n < size && access(out, X_OK) == 0) {
            return true;
        }
        if (end == NULL) {
            break;
        }
        p = end + 1;
    }
    return false;
}

static const char *chromium_bin(void)
{
    const char *c = getenv("CHROMIUM");
    return c != NULL ? c : "/usr/bin/chromium";
}

/* Why the browser tests cannot run here, or NULL when they can. */
static const char *browser_missing(void)
{
    static char why[PATH_BUF + 128];
    if (!find_on_path("node", node_bin, sizeof(node_bin))) {
        return "node is not installed (scripts/setup.sh installs it)";
    }
    if (access(chromium_bin(), X_OK) != 0) {
        snprintf(why, sizeof(why), "%s is missing (scripts/setup.sh installs Debian's chromium)",
                 chromium_bin());
        return why;
    }
    const char *mods[] = {"playwright-core/package.json", "uplot/dist/uPlot.iife.min.js"};
    for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++) {
        char p[PATH_BUF];
        snprintf(p, sizeof(p), "%s/web/node_modules/%s", source_dir(), mods[i]);
        if (access(p, R_OK) != 0) {
            snprintf(why, sizeof(why), "web/node_modules/%s is missing (run scripts/setup.sh)",
                     mods[i]);
            return why;
        }
    }
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const char *o = getenv("BR_TEST_OUT");
    if (o != NULL && o[0] != '\0') {
        snprintf(out_dir, sizeof(out_dir), "%s/ui", o);
        mkdir(o, 0755);
        mkdir(out_dir, 0755);
    } else {
        char *d = tu_mkdtemp("ui-out");
        if (d == NULL) {
            return -1;
        }
        snprintf(out_dir, sizeof(out_dir), "%s", d);
        free(d);
    }
    char *w = tu_mkdtemp("ui-work");
    if (w == NULL) {
        return -1;
    }
    snprintf(work_dir, sizeof(work_dir), "%s", w);
    free(w);
    fprintf(stderr, "# UI test output (screenshots, logs): %s\n", out_dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(work_dir);
    curl_global_cleanup();
    return 0;
}

/* Starts the real burnrate on a free port with a fresh data dir; fills
 * base_url. False (with the log dumped) when it does not become ready. */
static bool start_burnrate(peer *p, const char *tag, char *base_url, size_t size)
{
    const char *bin = getenv("BURNRATE_BIN");
    if (bin == NULL || access(bin, X_OK) != 0) {
        fprintf(stderr, "BURNRATE_BIN is not set or not executable\n");
        return false;
    }
    int port = peer_free_port();
    char listen[64];
    char data[PATH_BUF];
    char log[PATH_BUF];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    snprintf(data, sizeof(data), "%s/%s-data", work_dir, tag);
    snprintf(log, sizeof(log), "%s/%s-burnrate.log", out_dir, tag);
    char *const argv[] = {(char *)bin, "serve", "--listen", listen, "--data-dir", data, NULL};
    unlink(log);
    if (peer_start(p, log, argv) != 0) {
        return false;
    }
    snprintf(base_url, size, "http://127.0.0.1:%d", port);
    char ready[128];
    snprintf(ready, sizeof(ready), "%s/-/ready", base_url);
    if (!peer_wait_http(p, ready, 30)) {
        peer_dump_log(p);
        peer_stop(p, SIGKILL, 5);
        return false;
    }
    return true;
}

/* tests/ui/fixture-server.mjs with 1,000 SLOs shaped like the budget
 * API; fills base_url. */
static bool start_fixture_server(peer *p, char *base_url, size_t size)
{
    int port = peer_free_port();
    char script[PATH_BUF];
    char log[PATH_BUF];
    char port_s[16];
    snprintf(script, sizeof(script), "%s/tests/ui/fixture-server.mjs", source_dir());
    snprintf(log, sizeof(log), "%s/fixture-server.log", out_dir);
    snprintf(port_s, sizeof(port_s), "%d", port);
    char *const argv[] = {node_bin, script, "--port", port_s, "--count", "1000", NULL};
    unlink(log);
    if (peer_start(p, log, argv) != 0) {
        return false;
    }
    snprintf(base_url, size, "http://127.0.0.1:%d", port);
    char probe[320];
    snprintf(probe, sizeof(probe), "%s/api/v1/slos", base_url);
    if (!peer_wait_http(p, probe, 30)) {
        peer_dump_log(p);
        peer_stop(p, SIGKILL, 5);
        return false;
    }
    return true;
}

/* Starts argv with the source tree as working directory (relative SLO
 * globs, and pages that show "examples/slos/..."). */
static int start_in_source_dir(peer *p, const char *log, char *const argv[])
{
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof(cwd)) == NULL || chdir(source_dir()) != 0) {
        return -1;
    }
    int rc = peer_start(p, log, argv);
    if (chdir(cwd) != 0) {
        rc = -1;
    }
    return rc;
}

/* True once the live server shows what the browser test needs: the
 * backfill has reached the present (svc-0's newest sample is recent), the
 * markup-labelled instance exists, and an alert fires. */
static bool live_data_ready(const char *base)
{
    char url[320];
    snprintf(url, sizeof(url), "%s/api/v1/slos", base);
    tu_http_result r;
    if (tu_http("GET", url, NULL, 0, NULL, &r) != 0 || r.status != 200) {
        tu_http_free(&r);
        return false;
    }
    cJSON *root = cJSON_Parse(r.body);
    tu_http_free(&r);
    bool fresh = false;
    bool markup = false;
    bool firing = false;
    cJSON *slo;
    cJSON_ArrayForEach(slo, cJSON_GetObjectItem(cJSON_GetObjectItem(root, "data"), "slos"))
    {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(slo, "id"));
        cJSON *age = cJSON_GetObjectItem(slo, "data_age_seconds");
        if (id != NULL && strcmp(id, README_SLO) == 0 && cJSON_IsNumber(age) &&
            cJSON_GetNumberValue(age) < 90) {
            fresh = true;
        }
        const char *route = cJSON_GetStringValue(
            cJSON_GetObjectItem(cJSON_GetObjectItem(slo, "group_labels"), "route"));
        if (route != NULL && strcmp(route, XSS) == 0) {
            markup = true;
        }
        if (cJSON_GetNumberValue(cJSON_GetObjectItem(slo, "firing")) > 0) {
            firing = true;
        }
    }
    cJSON_Delete(root);
    return fresh && markup && firing;
}

/* burnrate with the example SLOs and TEST_SLO, fed live by the load
 * generator; fills base_url once live_data_ready(). */
static bool start_live_servers(peer *br, peer *lg, char *base_url, size_t size)
{
    const char *bin = getenv("BURNRATE_BIN");
    const char *loadgen = getenv("BURNRATE_LOADGEN");
    if (bin == NULL || loadgen == NULL || access(bin, X_OK) != 0 || access(loadgen, X_OK) != 0) {
        fprintf(stderr, "BURNRATE_BIN or BURNRATE_LOADGEN is not set or not executable\n");
        return false;
    }
    char adj_start[32];
    char adj_end[32];
    time_t now = time(NULL);
    rfc3339(now - 3 * 3600, adj_start, sizeof(adj_start));
    rfc3339(now + 2 * 3600, adj_end, sizeof(adj_end));
    char slo_text[4096];
    snprintf(slo_text, sizeof(slo_text), TEST_SLO, adj_start, adj_end);
    char *slo = tu_write_file(work_dir, "test-slo.yml", slo_text);
    if (slo == NULL) {
        return false;
    }
    char cfg_text[2 * PATH_BUF];
    snprintf(cfg_text, sizeof(cfg_text),
             "evaluation:\n  interval: 1s\n"
             "storage:\n  data_dir: %s/live-data\n"
             "slos:\n  - examples/slos/*.yml\n  - examples/slos/*/*.yml\n  - %s\n",
             work_dir, slo);
    free(slo);
    char *cfg = tu_write_file(work_dir, "burnrate.yml", cfg_text);
    if (cfg == NULL) {
        return false;
    }
    int port = peer_free_port();
    char listen[64];
    char log[PATH_BUF];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    snprintf(log, sizeof(log), "%s/live-burnrate.log", out_dir);
    char *const argv[] = {(char *)bin, "serve", "--config", cfg, "--listen", listen, NULL};
    unlink(log);
    int rc = start_in_source_dir(br, log, argv);
    free(cfg);
    if (rc != 0) {
        return false;
    }
    snprintf(base_url, size, "http://127.0.0.1:%d", port);
    char url[320];
    snprintf(url, sizeof(url), "%s/-/ready", base_url);
    if (!peer_wait_http(br, url, 30)) {
        peer_dump_log(br);
        peer_stop(br, SIGKILL, 5);
        return false;
    }

    enum { N_ARGS = sizeof(LOADGEN_ARGS) / sizeof(LOADGEN_ARGS[0]) };
    char *lg_argv[N_ARGS + 4];
    char write_url[320];
    snprintf(write_url, sizeof(write_url), "%s/api/v1/write", base_url);
    lg_argv[0] = (char *)loadgen;
    lg_argv[1] = "--url";
    lg_argv[2] = write_url;
    for (size_t i = 0; i < N_ARGS; i++) {
        lg_argv[3 + i] = (char *)LOADGEN_ARGS[i];
    }
    lg_argv[3 + N_ARGS] = NULL;
    snprintf(log, sizeof(log), "%s/live-loadgen.log", out_dir);
    unlink(log);
    if (peer_start(lg, log, lg_argv) != 0) {
        peer_stop(br, SIGTERM, 20);
        return false;
    }
    double t0 = peer_now();
    while (peer_now() - t0 < LIVE_WAIT_S) {
        if (live_data_ready(base_url)) {
            fprintf(stderr, "# live data ready %.1f s after the load generator started\n",
                    peer_now() - t0);
            return true;
        }
        int status = 0;
        if (waitpid(br->pid, &status, WNOHANG) == br->pid) {
            br->pid = 0;
            break;
        }
        usleep(500 * 1000);
    }
    fprintf(stderr, "the live data never became ready (backfill, markup instance, firing alert)\n");
    peer_dump_log(br);
    peer_dump_log(lg);
    peer_stop(lg, SIGKILL, 5);
    if (br->pid > 0) {
        peer_stop(br, SIGKILL, 5);
    }
    return false;
}

/* Waits for p to exit within timeout_s; returns its exit code, or -1 after
 * killing it on timeout or on an abnormal end. */
static int wait_exit(peer *p, double timeout_s)
{
    double deadline = peer_now() + timeout_s;
    int status = 0;
    while (peer_now() < deadline) {
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            p->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        usleep(100 * 1000);
    }
    fprintf(stderr, "ui_test.mjs did not finish within %.0f s\n", timeout_s);
    peer_stop(p, SIGKILL, 5);
    return -1;
}

static void print_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return;
    }
    char line[2048];
    while (fgets(line, sizeof(line), f) != NULL) {
        fputs(line, stderr);
    }
    fclose(f);
}

/* Runs tests/ui/ui_test.mjs in mode against base_url (full mode: slo is
 * the SLO page to check in detail, or NULL); returns its exit code (0 =
 * every check passed). Its report is printed. */
static int run_ui_test(const char *mode, const char *base_url, const char *slo)
{
    char script[PATH_BUF];
    char log[PATH_BUF];
    snprintf(script, sizeof(script), "%s/tests/ui/ui_test.mjs", source_dir());
    snprintf(log, sizeof(log), "%s/ui_test-%s.log", out_dir, mode);
    char *const argv[] = {node_bin,
                          script,
                          "--base-url",
                          (char *)base_url,
                          "--out",
                          out_dir,
                          "--mode",
                          (char *)mode,
                          "--chromium",
                          (char *)chromium_bin(),
                          slo != NULL ? "--slo" : NULL,
                          (char *)slo,
                          NULL};
    peer p;
    unlink(log); /* peer_start appends; keep one run per log */
    if (peer_start(&p, log, argv) != 0) {
        return -1;
    }
    int rc = wait_exit(&p, UI_TEST_TIMEOUT_S);
    print_file(log);
    return rc;
}

static bool has_header(const tu_http_result *r, const char *needle)
{
    return r->headers != NULL && strcasestr(r->headers, needle) != NULL;
}

/* The value of header name in r (copied into out), or false. */
static bool header_value(const tu_http_result *r, const char *name, char *out, size_t size)
{
    const char *h = r->headers;
    size_t nlen = strlen(name);
    while (h != NULL && *h != '\0') {
        if (strncasecmp(h, name, nlen) == 0 && h[nlen] == ':') {
            const char *v = h + nlen + 1;
            while (*v == ' ') {
                v++;
            }
            size_t len = strcspn(v, "\r\n");
            snprintf(out, size, "%.*s", (int)len, v);
            return true;
        }
        h = strchr(h, '\n');
        if (h != NULL) {
            h++;
        }
    }
    return false;
}

static void test_ui_served_with_types_and_cache_headers(void **state)
{
    (void)state;
    peer br;
    char base[64];
    assert_true(start_burnrate(&br, "headers", base, sizeof(base)));
    char url[1024];
    tu_http_result r;

    /* The page and its routes: HTML, revalidated every time, with a CSP. */
    const char *pages[] = {"/", "/index.html", "/query", "/slo/checkout-availability",
                           "/slo/checkout-availability%7Broute%3D%22%2Fpay%22%7D"};
    char index_etag[64] = "";
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        snprintf(url, sizeof(url), "%s%s", base, pages[i]);
        assert_int_equal(tu_http("GET", url, NULL, 0, NULL, &r), 0);
        assert_int_equal(r.status, 200);
        assert_true(has_header(&r, "Content-Type: text/html; charset=utf-8"));
        assert_true(has_header(&r, "Cache-Control: no-cache"));
        assert_true(
            has_header(&r, "Content-Security-Policy: default-src 'self'; script-src 'self'"));
        assert_true(has_header(&r, "X-Content-Type-Options: nosniff"));
        assert_non_null(strstr(r.body, "<main id=\"main\""));
        char etag[64];
        assert_true(header_value(&r, "ETag", etag, sizeof(etag)));
        if (i == 0) {
            snprintf(index_etag, sizeof(index_etag), "%s", etag);
        } else {
            assert_string_equal(etag, index_etag);
        }
        tu_http_free(&r);
    }

    /* A matching If-None-Match is answered 304 without a body. */
    char inm[96];
    snprintf(inm, sizeof(inm), "If-None-Match: %s", index_etag);
    const char *hdrs[] = {inm, NULL};
    snprintf(url, sizeof(url), "%s/", base);
    assert_int_equal(tu_http("GET", url, NULL, 0, hdrs, &r), 0);
    assert_int_equal(r.status, 304);
    assert_int_equal(r.len, 0);
    tu_http_free(&r);
    const char *stale[] = {"If-None-Match: \"0000000000000000\"", NULL};
    assert_int_equal(tu_http("GET", url, NULL, 0, stale, &r), 0);
    assert_int_equal(r.status, 200);
    tu_http_free(&r);

    /* index.html names every asset with a content hash. */
    assert_int_equal(tu_http("GET", url, NULL, 0, NULL, &r), 0);
    const char *assets[] = {"/app.js", "/style.css", "/vendor/uplot/uPlot.iife.min.js",
                            "/vendor/uplot/uPlot.min.css"};
    const char *types[] = {"text/javascript; charset=utf-8", "text/css; charset=utf-8",
                           "text/javascript; charset=utf-8", "text/css; charset=utf-8"};
    char versioned[4][160];
    for (size_t i = 0; i < 4; i++) {
        char needle[128];
        snprintf(needle, sizeof(needle), "\"%s?v=", assets[i]);
        const char *at = strstr(r.body, needle);
        assert_non_null(at);
        size_t len = strcspn(at + 1, "\"");
        assert_int_equal(len, strlen(assets[i]) + 3 + 12);
        snprintf(versioned[i], sizeof(versioned[i]), "%.*s", (int)len, at + 1);
    }
    tu_http_free(&r);

    for (size_t i = 0; i < 4; i++) {
        /* Hashed URL: kept for a year. */
        snprintf(url, sizeof(url), "%s%s", base, versioned[i]);
        assert_int_equal(tu_http("GET", url, NULL, 0, NULL, &r), 0);
        assert_int_equal(r.status, 200);
        char ct[128];
        assert_true(header_value(&r, "Content-Type", ct, sizeof(ct)));
        assert_string_equal(ct, types[i]);
        assert_true(has_header(&r, "Cache-Control: public, max-age=31536000, immutable"));
        assert_true(has_header(&r, "X-Content-Type-Options: nosniff"));
        assert_true(r.len > 100);
        tu_http_free(&r);
        /* Plain URL: same bytes, revalidated. */
        snprintf(url, sizeof(url), "%s%s", base, assets[i]);
        assert_int_equal(tu_http("GET", url, NULL, 0, NULL, &r), 0);
        assert_int_equal(r.status, 200);
        assert_true(has_header(&r, "Cache-Control: no-cache"));
        assert_true(has_header(&r, "ETag: \""));
        tu_http_free(&r);
    }

    snprintf(url, sizeof(url), "%s/vendor/uplot/LICENSE", base);
    assert_int_equal(tu_http("GET", url, NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "Content-Type: text/plain; charset=utf-8"));
    assert_non_null(strstr(r.body, "MIT"));
    tu_http_free(&r);

    snprintf(url, sizeof(url), "%s/favicon.svg", base);
    assert_int_equal(tu_http("GET", url, NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "Content-Type: image/svg+xml"));
    tu_http_free(&r);

    /* Unknown files stay 404; the routes above do not swallow them. */
    snprintf(url, sizeof(url), "%s/no-such-file.js", base);
    assert_int_equal(tu_http("GET", url, NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 404);
    tu_http_free(&r);
    snprintf(url, sizeof(url), "%s/querying", base);
    assert_int_equal(tu_http("GET", url, NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 404);
    tu_http_free(&r);

    assert_int_equal(peer_stop(&br, SIGTERM, 20), 0);
}

static void test_ui_shell_loads_from_burnrate(void **state)
{
    (void)state;
    const char *why = browser_missing();
    if (why != NULL) {
        fprintf(stderr, "# skipped: %s\n", why);
        skip();
    }
    peer br;
    char base[64];
    assert_true(start_burnrate(&br, "smoke", base, sizeof(base)));
    int rc = run_ui_test("smoke", base, NULL);
    peer_stop(&br, SIGTERM, 20);
    assert_int_equal(rc, 0);
}

static void test_ui_browser_live(void **state)
{
    (void)state;
    const char *why = browser_missing();
    if (why != NULL) {
        fprintf(stderr, "# skipped: %s\n", why);
        skip();
    }
    const char *given = getenv("BR_UI_BASE_URL");
    peer br;
    peer lg;
    memset(&br, 0, sizeof(br));
    memset(&lg, 0, sizeof(lg));
    char base[256];
    if (given != NULL && given[0] != '\0') {
        snprintf(base, sizeof(base), "%s", given);
    } else {
        assert_true(start_live_servers(&br, &lg, base, sizeof(base)));
    }
    int rc = run_ui_test("full", base, given != NULL && given[0] != '\0' ? NULL : README_SLO);
    if (lg.pid > 0) {
        peer_stop(&lg, SIGTERM, 10);
    }
    int br_rc = 0;
    if (br.pid > 0) {
        br_rc = peer_stop(&br, SIGTERM, 20);
        if (br_rc != 0) {
            peer_dump_log(&br);
        }
    }
    fprintf(stderr, "# screenshots: %s/overview.png %s/slo.png (README: readme-*.png)\n", out_dir,
            out_dir);
    assert_int_equal(rc, 0);
    /* A clean exit: no sanitizer report, no crash while serving the UI. */
    assert_int_equal(br_rc, 0);
}

static void test_ui_browser_fixture_scale(void **state)
{
    (void)state;
    const char *why = browser_missing();
    if (why != NULL) {
        fprintf(stderr, "# skipped: %s\n", why);
        skip();
    }
    peer server;
    char base[256];
    assert_true(start_fixture_server(&server, base, sizeof(base)));
    int rc = run_ui_test("scale", base, NULL);
    peer_stop(&server, SIGTERM, 10);
    assert_int_equal(rc, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ui_served_with_types_and_cache_headers),
        cmocka_unit_test(test_ui_shell_loads_from_burnrate),
        cmocka_unit_test(test_ui_browser_live),
        cmocka_unit_test(test_ui_browser_fixture_scale),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
