/*
 * test_gate_cli.c — `burnrate gate`: exit codes, printed reasons and the
 * request it sends, against a tiny libmicrohttpd server started here that
 * answers canned gate responses. The first path segment of --url picks the
 * answer (http://127.0.0.1:PORT/deny → the "deny" answer), so each test
 * is independent. An unreachable port comes from binding port 0, reading
 * the port and closing the socket.
 */
/* cmocka.h needs these first, in this order. */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "engine/core/buf.h"
#include "engine/gate_cli.h"
#include "tests/helpers/testutil.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

#define BIG_BODY (5u * 1024 * 1024)

static struct MHD_Daemon *daemon_;
static int port;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool release_hang;
static char last_path[512];
static char last_query[1024];
static char last_auth[256];
static char *big_body;
static char *tmp_dir;

static const char ALLOW_BODY[] =
    "{\"allow\":true,\"decision\":\"allow\",\"service\":\"checkout\",\"slo\":null,\"reasons\":[],"
    "\"slos\":[{\"id\":\"checkout-availability\",\"allow\":true},{\"id\":\"checkout-latency\","
    "\"allow\":true}]}";
static const char DENY_BODY[] =
    "{\"allow\":false,\"decision\":\"deny\",\"service\":\"checkout\",\"reasons\":["
    "\"checkout-latency: error-budget policy state \\\"critical\\\" (budget remaining 12.0%) "
    "does not allow deploys\",\"checkout-availability: budget remaining 20.0% is below the "
    "minimum 25.0%\"],\"slos\":[{},{}]}";
static const char NO_DATA_BODY[] =
    "{\"allow\":false,\"decision\":\"no_data\",\"reasons\":[\"search-availability: no data: no "
    "traffic in the 30d period, so the budget is unknown (on_no_data=allow accepts this)\"],"
    "\"slos\":[{}]}";
static const char UNAVAILABLE_BODY[] =
    "{\"allow\":false,\"decision\":\"no_data\",\"status\":\"error\",\"errorType\":\"unavailable\","
    "\"error\":\"no SLO evaluation has completed yet\",\"reasons\":[\"no SLO evaluation has "
    "completed yet\"]}";
static const char NOT_FOUND_BODY[] =
    "{\"allow\":false,\"decision\":\"error\",\"status\":\"error\",\"errorType\":\"not_found\","
    "\"error\":\"unknown service \\\"chekout\\\"; close names: checkout\",\"reasons\":[\"unknown "
    "service \\\"chekout\\\"; close names: checkout\"]}";

/* ------------------------------------------------------------------------
 * The canned server.
 * ---------------------------------------------------------------------- */

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    (void)cls;
    size_t off = strlen(last_query);
    snprintf(last_query + off, sizeof(last_query) - off, "%s%s=%s", off ? "&" : "", key,
             value ? value : "");
    return MHD_YES;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body,
                             size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)method;
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    static int first_call_marker;
    if (*con_cls == NULL) {
        *con_cls = &first_call_marker;
        return MHD_YES;
    }
    pthread_mutex_lock(&mu);
    snprintf(last_path, sizeof(last_path), "%s", url);
    last_query[0] = '\0';
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_query, NULL);
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    snprintf(last_auth, sizeof(last_auth), "%s", auth ? auth : "");
    pthread_mutex_unlock(&mu);

    char mode[32] = "";
    sscanf(url, "/%31[a-z0-9]", mode);
    if (strcmp(mode, "allow") == 0) {
        return reply(c, 200, ALLOW_BODY, strlen(ALLOW_BODY));
    }
    if (strcmp(mode, "deny") == 0) {
        return reply(c, 409, DENY_BODY, strlen(DENY_BODY));
    }
    if (strcmp(mode, "nodata") == 0) {
        return reply(c, 409, NO_DATA_BODY, strlen(NO_DATA_BODY));
    }
    if (strcmp(mode, "unavailable") == 0) {
        return reply(c, 503, UNAVAILABLE_BODY, strlen(UNAVAILABLE_BODY));
    }
    if (strcmp(mode, "garbage") == 0) {
        static const char html[] = "<html>\nproxy login\n</html>";
        return reply(c, 200, html, strlen(html));
    }
    if (strcmp(mode, "liar") == 0) {
        return reply(c, 200, "{\"allow\":false}", 15);
    }
    if (strcmp(mode, "error") == 0) {
        return reply(c, 502, "bad gateway", 11);
    }
    if (strcmp(mode, "notfound") == 0) {
        return reply(c, 404, NOT_FOUND_BODY, strlen(NOT_FOUND_BODY));
    }
    if (strcmp(mode, "big") == 0) {
        return reply(c, 200, big_body, BIG_BODY);
    }
    if (strcmp(mode, "auth") == 0) {
        if (auth != NULL && strcmp(auth, "Bearer s3cret") == 0) {
            return reply(c, 200, ALLOW_BODY, strlen(ALLOW_BODY));
        }
        return reply(c, 401, "unauthorized", 12);
    }
    if (strcmp(mode, "hang") == 0) {
        /* Hold the answer until teardown (at most 30 s). */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 30;
        pthread_mutex_lock(&mu);
        while (!release_hang) {
            if (pthread_cond_timedwait(&cv, &mu, &until) != 0) {
                break;
            }
        }
        pthread_mutex_unlock(&mu);
        return reply(c, 200, ALLOW_BODY, strlen(ALLOW_BODY));
    }
    return reply(c, 404, "no such canned answer", 21);
}

static int setup(void **state)
{
    (void)state;
    big_body = malloc(BIG_BODY);
    memset(big_body, ' ', BIG_BODY);
    tmp_dir = tu_mkdtemp("gatecli");
    static struct sockaddr_in loopback;
    loopback.sin_family = AF_INET;
    loopback.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    loopback.sin_port = 0;
    daemon_ =
        MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL,
                         NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &loopback, MHD_OPTION_END);
    if (daemon_ == NULL) {
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
    port = info->port;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pthread_mutex_lock(&mu);
    release_hang = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    MHD_stop_daemon(daemon_);
    free(big_body);
    tu_rmtree(tmp_dir);
    free(tmp_dir);
    return 0;
}

/* ------------------------------------------------------------------------
 * Running the CLI.
 * ---------------------------------------------------------------------- */

typedef struct run_result {
    int code;
    char *out; /* malloc'd */
    char *err;
} run_result;

/* Runs `gate` with the given flags (NULL-terminated); "URL:mode" is
 * replaced by the canned server's URL for that mode. */
static run_result run(const char *first, ...)
{
    char *argv[32];
    char urls[4][256];
    int argc = 0;
    int n_urls = 0;
    argv[argc++] = "gate";
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a != NULL && argc < 31; a = va_arg(ap, const char *)) {
        if (strncmp(a, "URL:", 4) == 0 && n_urls < 4) {
            snprintf(urls[n_urls], sizeof(urls[n_urls]), "http://127.0.0.1:%d/%s", port, a + 4);
            argv[argc++] = urls[n_urls++];
        } else {
            argv[argc++] = (char *)a;
        }
    }
    va_end(ap);
    argv[argc] = NULL;
    run_result r;
    size_t out_len = 0;
    size_t err_len = 0;
    FILE *out = open_memstream(&r.out, &out_len);
    FILE *err = open_memstream(&r.err, &err_len);
    r.code = br_gate_cli_main(argc, argv, out, err);
    fclose(out);
    fclose(err);
    return r;
}

static void run_free(run_result *r)
{
    free(r->out);
    free(r->err);
}

/* ------------------------------------------------------------------------
 * Exit codes and text output.
 * ---------------------------------------------------------------------- */

static void test_gate_cli_allow_exits_0(void **state)
{
    (void)state;
    run_result r = run("--url", "URL:allow", "--service", "checkout", NULL);
    assert_int_equal(r.code, 0);
    assert_string_equal(r.out, "ALLOW: service checkout may deploy (2 SLOs checked)\n");
    assert_string_equal(r.err, "");
    run_free(&r);
}

static void test_gate_cli_deny_exits_1_and_prints_reasons(void **state)
{
    (void)state;
    run_result r = run("--url", "URL:deny", "--service", "checkout", NULL);
    assert_int_equal(r.code, 1);
    assert_string_equal(r.out,
                        "DENY: service checkout may not deploy now\n"
                        "  - checkout-latency: error-budget policy state \"critical\" (budget "
                        "remaining 12.0%) does not allow deploys\n"
                        "  - checkout-availability: budget remaining 20.0% is below the minimum "
                        "25.0%\n");
    run_free(&r);
}

static void test_gate_cli_no_data_exits_2(void **state)
{
    (void)state;
    run_result r = run("--url", "URL:nodata", "--slo", "search-availability", NULL);
    assert_int_equal(r.code, 2);
    assert_string_equal(r.out,
                        "CANNOT DECIDE: SLO search-availability: the data needed to decide is "
                        "missing or stale\n"
                        "  - search-availability: no data: no traffic in the 30d period, so the "
                        "budget is unknown (on_no_data=allow accepts this)\n");
    run_free(&r);
}

static void test_gate_cli_503_exits_2_with_server_message(void **state)
{
    (void)state;
    run_result r = run("--url", "URL:unavailable", "--service", "checkout", NULL);
    assert_int_equal(r.code, 2);
    assert_string_equal(r.out, "CANNOT DECIDE: service checkout: the server cannot decide yet "
                               "(HTTP 503): no SLO evaluation has completed yet\n");
    run_free(&r);
}

static void test_gate_cli_non_json_answer_exits_2(void **state)
{
    (void)state;
    run_result r = run("--url", "URL:garbage", "--service", "checkout", NULL);
    assert_int_equal(r.code, 2);
    assert_string_equal(r.out, "CANNOT DECIDE: service checkout: bad answer: HTTP 200 but the "
                               "body is not the gate's JSON: \"<html> proxy login </html>\"\n");
    run_free(&r);
}

static void test_gate_cli_contradictory_answer_exits_2(void **state)
{
    (void)state;
    run_result r = run("--url", "URL:liar", "--service", "checkout", NULL);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.out, "HTTP 200 with \"allow\" not true"));
    run_free(&r);
}

static void test_gate_cli_server_error_exits_2(void **state)
{
    (void)state;
    run_result r = run("--url", "URL:error", "--service", "checkout", NULL);
    assert_int_equal(r.code, 2);
    assert_string_equal(r.out,
                        "CANNOT DECIDE: service checkout: server error (HTTP 502): bad gateway\n");
    run_free(&r);
}

static void test_gate_cli_refused_request_exits_2_with_message(void **state)
{
    (void)state;
    run_result r = run("--url", "URL:notfound", "--service", "chekout", NULL);
    assert_int_equal(r.code, 2);
    assert_string_equal(r.out, "CANNOT DECIDE: service chekout: the server refused the request "
                               "(HTTP 404): unknown service \"chekout\"; close names: checkout\n");
    run_free(&r);
}

static void test_gate_cli_timeout_exits_2(void **state)
{
    (void)state;
    run_result r = run("--url", "URL:hang", "--service", "checkout", "--timeout", "300ms", NULL);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.out, "/hang/api/v1/gate?service=checkout within 300ms\n"));
    assert_non_null(strstr(r.out, "CANNOT DECIDE: service checkout: no answer from http://"));
    run_free(&r);
}

static void test_gate_cli_unreachable_port_exits_2(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t len = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd); /* nothing listens there now */
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(a.sin_port));
    run_result r = run("--url", url, "--service", "checkout", NULL);
    assert_int_equal(r.code, 2);
    assert_non_null(
        strstr(r.out, "CANNOT DECIDE: service checkout: cannot reach http://127.0.0.1:"));
    run_free(&r);
}

static void test_gate_cli_oversized_answer_exits_2(void **state)
{
    (void)state;
    run_result r = run("--url", "URL:big", "--service", "checkout", NULL);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.out, "is larger than 4194304 bytes"));
    run_free(&r);
}

/* ------------------------------------------------------------------------
 * The request.
 * ---------------------------------------------------------------------- */

static void test_gate_cli_sends_every_threshold_escaped(void **state)
{
    (void)state;
    run_result r = run("--url", "URL:allow/", "--slo", "checkout-latency{route=\"/pay\"}",
                       "--min-remaining", "25%", "--max-burn-rate", "2", "--allow-states",
                       "healthy,caution", "--on-no-data", "allow", "--max-data-age", "5m", NULL);
    assert_int_equal(r.code, 0);
    assert_string_equal(last_path, "/allow/api/v1/gate");
    assert_string_equal(last_query,
                        "slo=checkout-latency{route=\"/pay\"}&min_remaining=25%&max_burn_rate=2&"
                        "allow_states=healthy,caution&on_no_data=allow&max_data_age=5m");
    assert_string_equal(last_auth, "");
    run_free(&r);
}

static void test_gate_cli_accepts_the_full_gate_url(void **state)
{
    (void)state;
    run_result r = run("--url", "URL:allow/api/v1/gate", "--service", "checkout", NULL);
    assert_int_equal(r.code, 0);
    assert_string_equal(last_path, "/allow/api/v1/gate");
    run_free(&r);
}

/* --annotate adds record=true and passes the title, pipeline, commit and
 * every tag through, URL-encoded, in that order after the thresholds. */
static void test_gate_cli_annotate_sends_record_and_annotation_fields(void **state)
{
    (void)state;
    run_result r =
        run("--url", "URL:allow", "--service", "checkout", "--min-remaining", "25%", "--annotate",
            "--title", "Release 1.4 & hotfix", "--pipeline", "ci/deploy#812", "--commit", "9f3c2ab",
            "--tag", "release", "--tag", "team=payments", NULL);
    assert_int_equal(r.code, 0);
    assert_string_equal(last_path, "/allow/api/v1/gate");
    /* The canned server decodes the query: each value arrives intact,
     * including the '&' and '#' that had to be escaped. */
    assert_string_equal(last_query, "service=checkout&min_remaining=25%&record=true&"
                                    "title=Release 1.4 & hotfix&pipeline=ci/deploy#812&"
                                    "commit=9f3c2ab&tag=release&tag=team=payments");
    run_free(&r);
}

/* --annotate alone: record=true and nothing else is added. */
static void test_gate_cli_annotate_without_details_sends_only_record(void **state)
{
    (void)state;
    run_result r = run("--url", "URL:deny", "--slo", "checkout-latency", "--annotate", NULL);
    assert_int_equal(r.code, 1);
    assert_string_equal(last_query, "slo=checkout-latency&record=true");
    run_free(&r);
}

/* Without --annotate the annotation fields stay out of the request, so the
 * server records nothing even when --title or --tag are given. */
static void test_gate_cli_without_annotate_sends_no_record_fields(void **state)
{
    (void)state;
    run_result r = run("--url", "URL:allow", "--service", "checkout", "--title", "Release 1.4",
                       "--tag", "release", "--pipeline", "ci", "--commit", "9f3c2ab", NULL);
    assert_int_equal(r.code, 0);
    assert_string_equal(last_query, "service=checkout");
    assert_null(strstr(last_query, "record"));
    run_free(&r);
}

/* More tags than the request carries is a usage error, not a silent cut
 * (13 --tag flags: with --url and --service, the 30 arguments run() takes). */
static void test_gate_cli_too_many_tags_exit_2(void **state)
{
    (void)state;
    run_result r =
        run("--url", "URL:allow", "--service", "checkout", "--tag", "t1", "--tag", "t2", "--tag",
            "t3", "--tag", "t4", "--tag", "t5", "--tag", "t6", "--tag", "t7", "--tag", "t8",
            "--tag", "t9", "--tag", "t10", "--tag", "t11", "--tag", "t12", "--tag", "t13", NULL);
    assert_int_equal(r.code, 2);
    assert_string_equal(r.err, "burnrate gate: at most 12 --tag flags\n");
    assert_string_equal(r.out, "");
    run_free(&r);
}

static void test_gate_cli_sends_bearer_token_from_file(void **state)
{
    (void)state;
    char *path = tu_write_file(tmp_dir, "token", "s3cret\n");
    run_result r = run("--url", "URL:auth", "--service", "checkout", "--token-file", path, NULL);
    assert_int_equal(r.code, 0);
    assert_string_equal(last_auth, "Bearer s3cret");
    run_free(&r);
    free(path);
}

static void test_gate_cli_rejected_token_exits_2(void **state)
{
    (void)state;
    char *path = tu_write_file(tmp_dir, "wrong", "nope");
    run_result r = run("--url", "URL:auth", "--service", "checkout", "--token-file", path, NULL);
    assert_int_equal(r.code, 2);
    assert_string_equal(r.out, "CANNOT DECIDE: service checkout: the server refused the request "
                               "(HTTP 401): unauthorized\n");
    run_free(&r);
    free(path);
}

static void test_gate_cli_unreadable_token_file_exits_2(void **state)
{
    (void)state;
    char path[600];
    snprintf(path, sizeof(path), "%s/absent", tmp_dir);
    run_result r = run("--url", "URL:auth", "--service", "checkout", "--token-file", path, NULL);
    assert_int_equal(r.code, 2);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "cannot read --token-file"));
    run_free(&r);
}

/* ------------------------------------------------------------------------
 * JSON output and usage.
 * ---------------------------------------------------------------------- */

static void test_gate_cli_json_output_is_one_object(void **state)
{
    (void)state;
    run_result r = run("--url", "URL:deny", "--service", "checkout", "--output", "json", NULL);
    assert_int_equal(r.code, 1);
    cJSON *j = cJSON_Parse(r.out);
    assert_non_null(j);
    assert_int_equal(cJSON_GetObjectItem(j, "exit_code")->valueint, 1);
    assert_string_equal(cJSON_GetObjectItem(j, "decision")->valuestring, "deny");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "allow")));
    assert_int_equal(cJSON_GetObjectItem(j, "http_status")->valueint, 409);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "reasons")), 2);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "message")));
    cJSON *answer = cJSON_GetObjectItem(j, "answer");
    assert_string_equal(cJSON_GetObjectItem(answer, "service")->valuestring, "checkout");
    cJSON_Delete(j);
    run_free(&r);
}

static void test_gate_cli_json_output_when_unreachable(void **state)
{
    (void)state;
    run_result r =
        run("--url", "http://127.0.0.1:1", "--service", "checkout", "--output", "json", NULL);
    assert_int_equal(r.code, 2);
    cJSON *j = cJSON_Parse(r.out);
    assert_non_null(j);
    assert_int_equal(cJSON_GetObjectItem(j, "exit_code")->valueint, 2);
    assert_string_equal(cJSON_GetObjectItem(j, "decision")->valuestring, "error");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "http_status")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "answer")));
    assert_non_null(strstr(cJSON_GetObjectItem(j, "message")->valuestring, "cannot reach"));
    cJSON_Delete(j);
    run_free(&r);
}

static void test_gate_cli_usage_errors_exit_2(void **state)
{
    (void)state;
    static const struct {
        const char *args[6];
        const char *err;
    } cases[] = {
        {{"--service", "x", NULL}, "burnrate gate: --url is required (burnrate's base URL)\n"},
        {{"--url", "http://h", NULL}, "burnrate gate: give exactly one of --service and --slo\n"},
        {{"--url", "http://h", "--service", "x", "--slo", "y"},
         "burnrate gate: give exactly one of --service and --slo\n"},
        {{"--url", "ftp://h", "--service", "x", NULL},
         "burnrate gate: --url \"ftp://h\" must start with http:// or https://\n"},
        {{"--timeout", "soon", NULL},
         "burnrate gate: --timeout \"soon\" is not a positive duration (10s, 1m, 2.5)\n"},
        {{"--output", "yaml", NULL},
         "burnrate gate: --output must be text or json, not \"yaml\"\n"},
        {{"--on-no-data", "maybe", NULL},
         "burnrate gate: --on-no-data must be deny or allow, not \"maybe\"\n"},
        {{"--url", NULL}, "burnrate gate: flag --url needs a value\n"},
        {{"--url", "http://h", "--service", "x", "extra", NULL},
         "burnrate gate: unexpected argument \"extra\"\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *const *a = cases[i].args;
        size_t n = 0;
        while (n < 6 && a[n] != NULL) {
            n++;
        }
        run_result r = run(n > 0 ? a[0] : NULL, n > 1 ? a[1] : NULL, n > 2 ? a[2] : NULL,
                           n > 3 ? a[3] : NULL, n > 4 ? a[4] : NULL, n > 5 ? a[5] : NULL, NULL);
        assert_int_equal(r.code, 2);
        assert_string_equal(r.err, cases[i].err);
        assert_string_equal(r.out, "");
        run_free(&r);
    }
}

static void test_gate_cli_unknown_flag_prints_usage(void **state)
{
    (void)state;
    run_result r = run("--url", "URL:allow", "--service", "x", "--bogus", NULL);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "burnrate gate: unknown flag \"--bogus\"\nUsage: burnrate gate"));
    run_free(&r);
}

/* ------------------------------------------------------------------------
 * br_gate_interpret directly.
 * ---------------------------------------------------------------------- */

static void test_gate_interpret_maps_status_and_body_to_exit_code(void **state)
{
    (void)state;
    static const struct {
        long status;
        const char *body;
        int code;
        const char *decision;
    } cases[] = {
        {200, "{\"allow\":true}", 0, "allow"},
        {409, "{\"allow\":false,\"decision\":\"deny\"}", 1, "deny"},
        {409, "{\"allow\":false}", 1, "deny"},
        {409, "{\"allow\":false,\"decision\":\"no_data\"}", 2, "no_data"},
        {409, "{\"allow\":true}", 2, "error"},
        {200, "{\"allow\":\"yes\"}", 2, "error"},
        {200, "[true]", 2, "error"},
        {200, "", 2, "error"},
        {503, "{}", 2, "no_data"},
        {500, "boom", 2, "error"},
        {400, "{\"error\":\"invalid parameter\"}", 2, "error"},
        {302, "", 2, "error"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        br_gate_answer a;
        br_gate_interpret(cases[i].status, cases[i].body, strlen(cases[i].body), &a);
        if (a.exit_code != cases[i].code || strcmp(a.decision, cases[i].decision) != 0) {
            fail_msg("case %zu (%ld %s): exit %d decision %s", i, cases[i].status, cases[i].body,
                     a.exit_code, a.decision);
        }
        assert_int_equal(a.http_status, cases[i].status);
        br_gate_answer_free(&a);
    }
}

static void test_gate_interpret_caps_reasons(void **state)
{
    (void)state;
    br_buf b;
    br_buf_init(&b, 0);
    br_buf_puts(&b, "{\"allow\":false,\"reasons\":[");
    for (int i = 0; i < BR_GATE_MAX_REASONS + 50; i++) {
        br_buf_printf(&b, "%s\"r%d\"", i ? "," : "", i);
    }
    br_buf_puts(&b, "]}");
    br_gate_answer a;
    br_gate_interpret(409, br_buf_str(&b), b.len, &a);
    assert_int_equal(a.exit_code, 1);
    assert_int_equal(a.n_reasons, BR_GATE_MAX_REASONS);
    assert_string_equal(a.reasons[BR_GATE_MAX_REASONS - 1], "r255");
    br_gate_answer_free(&a);
    br_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gate_cli_allow_exits_0),
        cmocka_unit_test(test_gate_cli_deny_exits_1_and_prints_reasons),
        cmocka_unit_test(test_gate_cli_no_data_exits_2),
        cmocka_unit_test(test_gate_cli_503_exits_2_with_server_message),
        cmocka_unit_test(test_gate_cli_non_json_answer_exits_2),
        cmocka_unit_test(test_gate_cli_contradictory_answer_exits_2),
        cmocka_unit_test(test_gate_cli_server_error_exits_2),
        cmocka_unit_test(test_gate_cli_refused_request_exits_2_with_message),
        cmocka_unit_test(test_gate_cli_timeout_exits_2),
        cmocka_unit_test(test_gate_cli_unreachable_port_exits_2),
        cmocka_unit_test(test_gate_cli_oversized_answer_exits_2),
        cmocka_unit_test(test_gate_cli_sends_every_threshold_escaped),
        cmocka_unit_test(test_gate_cli_accepts_the_full_gate_url),
        cmocka_unit_test(test_gate_cli_annotate_sends_record_and_annotation_fields),
        cmocka_unit_test(test_gate_cli_annotate_without_details_sends_only_record),
        cmocka_unit_test(test_gate_cli_without_annotate_sends_no_record_fields),
        cmocka_unit_test(test_gate_cli_too_many_tags_exit_2),
        cmocka_unit_test(test_gate_cli_sends_bearer_token_from_file),
        cmocka_unit_test(test_gate_cli_rejected_token_exits_2),
        cmocka_unit_test(test_gate_cli_unreadable_token_file_exits_2),
        cmocka_unit_test(test_gate_cli_json_output_is_one_object),
        cmocka_unit_test(test_gate_cli_json_output_when_unreachable),
        cmocka_unit_test(test_gate_cli_usage_errors_exit_2),
        cmocka_unit_test(test_gate_cli_unknown_flag_prints_usage),
        cmocka_unit_test(test_gate_interpret_maps_status_and_body_to_exit_code),
        cmocka_unit_test(test_gate_interpret_caps_reasons),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
