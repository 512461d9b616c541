/*
 * test_auth_tls.c — the real burnrate binary with authentication, limits
 * and TLS, driven over HTTP(S) with libcurl.
 *
 * First run (plain HTTP): a write token, read users (bcrypt, cost 4, made
 * here with crypt_rn), a UI token, admin left disabled and a write rate
 * limit of 10 samples/s. Every protected group refuses anonymous and
 * wrong credentials with 401 and WWW-Authenticate, accepts the right
 * ones, /-/reload is refused with 403, and a second write within the same
 * second gets 429 with Retry-After; the refusals show in /metrics.
 * Second run: TLS with a CA and server certificate made at test time with
 * the openssl CLI; plain HTTP to the port fails, HTTPS with the CA works;
 * then the certificate files are replaced by a renewed pair (another CA)
 * and the same process serves it, and a mismatched key is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "api/remote_write_encode.h"
#include "engine/core/buf.h"
#include "tests/helpers/peer.h"
#include "tests/helpers/testutil.h"

#include <crypt.h>
#include <signal.h>
#include <sys/time.h>

static struct {
    const char *bin;
    char *dir;
    int port;
    char base[128];
    peer br;
    bool tls;
} E;

static const char *const NO_HEADERS[] = {NULL};
/* Remote write 2.0: its answer carries X-Prometheus-Remote-Write-Samples-
 * Written, which the rate limiter charges. */
static const char *const WRITE_OK[] = {
    "Authorization: Bearer write-new",
    "Content-Type: application/x-protobuf;proto=io.prometheus.write.v2.Request",
    "Content-Encoding: snappy", "X-Prometheus-Remote-Write-Version: 2.0.0", NULL};
static const char *const WRITE_OLD[] = {"Authorization: Bearer write-old",
                                        "Content-Type: application/x-protobuf",
                                        "Content-Encoding: snappy", NULL};
static const char *const WRITE_WRONG[] = {"Authorization: Bearer write-nope",
                                          "Content-Type: application/x-protobuf",
                                          "Content-Encoding: snappy", NULL};
/* "reader:r3ad" and "reader:wrong" in base64. */
static const char *const READ_OK[] = {"Authorization: Basic cmVhZGVyOnIzYWQ=", NULL};
static const char *const READ_BAD[] = {"Authorization: Basic cmVhZGVyOndyb25n", NULL};
static const char *const UI_OK[] = {"Authorization: Bearer ui-token", NULL};

static void url(const char *path, char *out, size_t size)
{
    snprintf(out, size, "%s%s", E.base, path);
}

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* A snappy remote-write 1.0 body with one series of n samples. */
static void write_body(int version, size_t n, br_buf *out)
{
    /* A new series per body, so no write is out of order with another. */
    static int seq;
    char job[32];
    snprintf(job, sizeof(job), "auth-%d", ++seq);
    br_label labels[] = {{"__name__", "auth_test_total"}, {"job", job}};
    br_sample *samples = calloc(n, sizeof(*samples));
    int64_t t0 = now_ms() - (int64_t)n * 1000;
    for (size_t i = 0; i < n; i++) {
        samples[i].t = t0 + (int64_t)i * 1000;
        samples[i].v = (double)i;
    }
    br_rw_series s = {.labels = labels, .n_labels = 2, .samples = samples, .n_samples = n};
    br_buf_init(out, 1 << 20);
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_rw_encode(version, &s, 1, out, &err), 0);
    free(samples);
}

static int run(const char *cmd)
{
    int rc = system(cmd);
    return rc == 0 ? 0 : -1;
}

/* CA, then a server certificate for 127.0.0.1 and localhost signed by it. */
static int make_certs(void)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "cd %s && "
             "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=burnrate-test-ca "
             "-keyout ca.key -out ca.pem >/dev/null 2>&1 && "
             "openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 "
             "-keyout server.key -out server.csr >/dev/null 2>&1 && "
             "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext && "
             "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
             "-days 2 -extfile san.ext -out server.pem >/dev/null 2>&1",
             E.dir);
    return run(cmd);
}

static int start_burnrate(bool tls)
{
    char salt[64];
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    if (crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof(salt)) == NULL) {
        free(cd);
        return -1;
    }
    const char *hash = crypt_rn("r3ad", salt, cd, (int)sizeof(*cd));
    char users[256];
    snprintf(users, sizeof(users), "basic_auth_users:\n  reader: '%s'\n", hash ? hash : "");
    free(cd);
    free(tu_write_file(E.dir, "read-users.yml", users));
    free(tu_write_file(E.dir, "write.token", "# old one goes after the rollout\nwrite-old\nwrite-new\n"));
    free(tu_write_file(E.dir, "ui.token", "ui-token\n"));
    char tls_block[1024] = "";
    if (tls) {
        snprintf(tls_block, sizeof(tls_block),
                 "tls:\n  cert_file: %s/server.pem\n  key_file: %s/server.key\n", E.dir, E.dir);
    }
    char text[4096];
    snprintf(text, sizeof(text),
             "storage:\n  data_dir: %s/data%s\n"
             "auth:\n  write_token_file: %s/write.token\n  read_users_file: %s/read-users.yml\n"
             "  ui_token_file: %s/ui.token\n"
             "limits:\n  write_rate_limit: 10\n  write_rate_burst: 10\n%s",
             E.dir, tls ? "-tls" : "", E.dir, E.dir, E.dir, tls_block);
    char *cfg = tu_write_file(E.dir, "burnrate.yml", text);
    E.port = peer_free_port();
    E.tls = tls;
    snprintf(E.base, sizeof(E.base), "%s://127.0.0.1:%d", tls ? "https" : "http", E.port);
    char listen[64];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", E.port);
    char log[1024];
    snprintf(log, sizeof(log), "%s/burnrate%s.log", E.dir, tls ? "-tls" : "");
    char *argv[] = {(char *)E.bin, "serve", "--config", cfg, "--listen", listen, NULL};
    int rc = peer_start(&E.br, log, argv);
    free(cfg);
    if (rc != 0) {
        return -1;
    }
    /* Readiness over the right scheme, trusting the test CA. */
    char ready[160];
    url("/-/ready", ready, sizeof(ready));
    char ca[1024];
    snprintf(ca, sizeof(ca), "%s/ca.pem", E.dir);
    for (int i = 0; i < 300; i++) {
        CURL *c = curl_easy_init();
        curl_easy_setopt(c, CURLOPT_URL, ready);
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 2L);
        long status = 0;
        if (curl_easy_perform(c) == CURLE_OK) {
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        }
        curl_easy_cleanup(c);
        if (status == 200) {
            return 0;
        }
        usleep(100 * 1000);
    }
    peer_dump_log(&E.br);
    return -1;
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    E.bin = getenv("BURNRATE_BIN");
    if (E.bin == NULL) {
        fprintf(stderr, "needs BURNRATE_BIN\n");
        return -1;
    }
    E.dir = tu_mkdtemp("auth-tls");
    if (E.dir == NULL || make_certs() != 0) {
        fprintf(stderr, "cannot make test certificates with openssl\n");
        return -1;
    }
    return start_burnrate(false);
}

static int teardown(void **state)
{
    (void)state;
    peer_stop(&E.br, SIGTERM, 20);
    tu_rmtree(E.dir);
    free(E.dir);
    curl_global_cleanup();
    return 0;
}

static long get_status(const char *path, const char *const *headers, tu_http_result *r)
{
    char u[256];
    url(path, u, sizeof(u));
    assert_int_equal(tu_http("GET", u, NULL, 0, headers, r), 0);
    return r->status;
}

static void test_auth_tls_anonymous_requests_get_401_on_every_protected_group(void **state)
{
    (void)state;
    static const char *const paths[] = {"/api/v1/labels", "/metrics", "/", "/slo/x"};
    tu_http_result r;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        assert_int_equal(get_status(paths[i], NO_HEADERS, &r), 401);
        assert_non_null(strstr(r.headers, "WWW-Authenticate: "));
        assert_non_null(strstr(r.body, "unauthorized"));
        tu_http_free(&r);
    }
    char u[256];
    url("/api/v1/write", u, sizeof(u));
    assert_int_equal(tu_http("POST", u, "x", 1, NO_HEADERS, &r), 0);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.headers, "WWW-Authenticate: Bearer realm=\"burnrate\""));
    tu_http_free(&r);
    /* Read is basic auth only. */
    assert_int_equal(get_status("/api/v1/labels", NO_HEADERS, &r), 401);
    assert_non_null(strstr(r.headers, "WWW-Authenticate: Basic realm=\"burnrate\""));
    tu_http_free(&r);
    /* Probes stay open. */
    assert_int_equal(get_status("/-/healthy", NO_HEADERS, &r), 200);
    tu_http_free(&r);
}

static void test_auth_tls_right_credentials_pass_and_wrong_ones_do_not(void **state)
{
    (void)state;
    tu_http_result r;
    assert_int_equal(get_status("/api/v1/labels", READ_OK, &r), 200);
    assert_non_null(strstr(r.body, "\"status\":\"success\""));
    tu_http_free(&r);
    assert_int_equal(get_status("/metrics", READ_OK, &r), 200);
    tu_http_free(&r);
    assert_int_equal(get_status("/api/v1/labels", READ_BAD, &r), 401);
    assert_non_null(strstr(r.body, "wrong credentials"));
    tu_http_free(&r);
    /* The UI token opens the UI, not the read API. */
    assert_int_equal(get_status("/", UI_OK, &r), 200);
    tu_http_free(&r);
    assert_int_equal(get_status("/api/v1/labels", UI_OK, &r), 401);
    tu_http_free(&r);

    char u[256];
    url("/api/v1/write", u, sizeof(u));
    br_buf body;
    write_body(1, 3, &body);
    assert_int_equal(tu_http("POST", u, body.data, body.len, WRITE_WRONG, &r), 0);
    assert_int_equal(r.status, 401);
    tu_http_free(&r);
    /* Both tokens of the rotating file are accepted. */
    assert_int_equal(tu_http("POST", u, body.data, body.len, WRITE_OLD, &r), 0);
    assert_int_equal(r.status, 204);
    tu_http_free(&r);
    br_buf_free(&body);
}

static void test_auth_tls_admin_endpoint_is_refused_while_disabled(void **state)
{
    (void)state;
    char u[256];
    url("/-/reload", u, sizeof(u));
    tu_http_result r;
    assert_int_equal(tu_http("POST", u, "", 0, NO_HEADERS, &r), 0);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body, "admin: {enabled: true}"));
    tu_http_free(&r);
}

/* Annotations sit on read-group paths but change with write credentials:
 * the write token may add one (recorded as its author), a reader may list
 * but not add, and an anonymous caller gets 401. */
static void test_auth_tls_annotations_change_with_write_credentials_only(void **state)
{
    (void)state;
    char u[256];
    url("/api/v1/annotations", u, sizeof(u));
    const char *body = "{\"title\":\"deploy 42\",\"kind\":\"deploy\"}";
    static const char *const WRITE_JSON[] = {"Authorization: Bearer write-new",
                                             "Content-Type: application/json", NULL};
    static const char *const READ_JSON[] = {"Authorization: Basic cmVhZGVyOnIzYWQ=",
                                            "Content-Type: application/json", NULL};
    tu_http_result r;
    assert_int_equal(tu_http("POST", u, body, strlen(body), NO_HEADERS, &r), 0);
    assert_int_equal(r.status, 401);
    tu_http_free(&r);
    assert_int_equal(tu_http("POST", u, body, strlen(body), READ_JSON, &r), 0);
    assert_int_equal(r.status, 403);
    tu_http_free(&r);
    assert_int_equal(tu_http("POST", u, body, strlen(body), WRITE_JSON, &r), 0);
    assert_int_equal(r.status, 201);
    assert_non_null(strstr(r.body, "token:write"));
    tu_http_free(&r);
    assert_int_equal(get_status("/api/v1/annotations", READ_OK, &r), 200);
    assert_non_null(strstr(r.body, "deploy 42"));
    tu_http_free(&r);
}

static void test_auth_tls_write_rate_limit_answers_429_with_retry_after(void **state)
{
    (void)state;
    char u[256];
    url("/api/v1/write", u, sizeof(u));
    br_buf body;
    write_body(2, 60, &body);
    tu_http_result r;
    /* The bucket (10 samples) is positive: this write goes through and
     * leaves it about 50 samples in debt, i.e. ~5 s at 10 samples/s. */
    assert_int_equal(tu_http("POST", u, body.data, body.len, WRITE_OK, &r), 0);
    assert_int_equal(r.status, 204);
    tu_http_free(&r);
    br_buf_free(&body);
    write_body(2, 5, &body);
    assert_int_equal(tu_http("POST", u, body.data, body.len, WRITE_OK, &r), 0);
    assert_int_equal(r.status, 429);
    const char *ra = strstr(r.headers, "Retry-After: ");
    assert_non_null(ra);
    int secs = atoi(ra + strlen("Retry-After: "));
    assert_true(secs >= 4 && secs <= 7);
    assert_non_null(strstr(r.body, "write rate limit exceeded"));
    tu_http_free(&r);
    br_buf_free(&body);

    assert_int_equal(get_status("/metrics", READ_OK, &r), 200);
    assert_non_null(
        strstr(r.body, "burnrate_http_limited_requests_total{reason=\"write_rate\"} 1\n"));
    assert_non_null(strstr(
        r.body, "burnrate_http_auth_failures_total{group=\"admin\",reason=\"disabled\"} 1\n"));
    assert_non_null(strstr(
        r.body, "burnrate_http_auth_failures_total{group=\"write\",reason=\"invalid\"} 1\n"));
    assert_null(strstr(
        r.body, "burnrate_http_auth_failures_total{group=\"read\",reason=\"missing\"} 0\n"));
    tu_http_free(&r);
}

static char *https_read(const char *path, const char *ca_name);

static void test_auth_tls_https_port_refuses_plain_http_and_serves_with_ca(void **state)
{
    (void)state;
    peer_stop(&E.br, SIGTERM, 20);
    assert_int_equal(start_burnrate(true), 0);

    char plain[160];
    snprintf(plain, sizeof(plain), "http://127.0.0.1:%d/-/ready", E.port);
    tu_http_result r;
    int rc = tu_http("GET", plain, NULL, 0, NO_HEADERS, &r);
    assert_true(rc != 0 || r.status != 200);
    tu_http_free(&r);

    /* HTTPS without the CA: the certificate is not trusted. */
    char u[256];
    url("/api/v1/labels", u, sizeof(u));
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, u);
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_CAINFO, "/dev/null");
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    assert_int_not_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);

    /* With the CA and credentials. */
    char *labels = https_read("/api/v1/labels", "ca.pem");
    assert_non_null(labels);
    assert_non_null(strstr(labels, "\"status\":\"success\""));
    free(labels);
}

/* HTTPS GET of /-/ready trusting only the CA file `ca` (in E.dir) with a
 * fresh connection; the status, or 0 when the handshake fails. */
static long ready_with_ca(const char *ca_name)
{
    char u[256];
    url("/-/ready", u, sizeof(u));
    char ca[1024];
    snprintf(ca, sizeof(ca), "%s/%s", E.dir, ca_name);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, u);
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_easy_cleanup(c);
    return status;
}

/* GET path over HTTPS with read credentials, trusting ca_name; the body
 * (malloc'd) of a 200, else NULL. */
static char *https_read(const char *path, const char *ca_name)
{
    char u[256];
    url(path, u, sizeof(u));
    char ca[1024];
    snprintf(ca, sizeof(ca), "%s/%s", E.dir, ca_name);
    struct curl_slist *hl = curl_slist_append(NULL, READ_OK[0]);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, u);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tu_collect);
    tu_http_result body;
    memset(&body, 0, sizeof(body));
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    if (status != 200) {
        free(body.body);
        return NULL;
    }
    return body.body;
}

/* The value of the sample line that starts with `series ` in text. */
static double metric_value(const char *text, const char *series)
{
    char key[256];
    snprintf(key, sizeof(key), "\n%s ", series);
    const char *p = strstr(text, key);
    return p != NULL ? atof(p + strlen(key)) : -1;
}

/* A renewed certificate (here: from another CA, so the test can tell which
 * one is served) replaces the files in place; burnrate notices the change
 * and serves it without a restart. A key that does not match its
 * certificate is refused and the previous certificate stays in use. */
static void test_auth_tls_renewed_certificate_is_served_without_restart(void **state)
{
    (void)state;
    assert_true(E.tls);
    pid_t pid = E.br.pid;
    assert_int_equal(ready_with_ca("ca.pem"), 200);
    /* The served certificate's expiry is exported (made with -days 2). */
    char *m = https_read("/metrics", "ca.pem");
    assert_non_null(m);
    double not_after = metric_value(m, "burnrate_tls_certificate_expiry_timestamp_seconds");
    double now_s = (double)now_ms() / 1000.0;
    assert_true(not_after > now_s + 86400 && not_after < now_s + 3 * 86400);
    free(m);
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "cd %s && "
             "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=burnrate-test-ca-2 "
             "-keyout ca2.key -out ca2.pem >/dev/null 2>&1 && "
             "openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 "
             "-keyout server2.key -out server2.csr >/dev/null 2>&1 && "
             "openssl x509 -req -in server2.csr -CA ca2.pem -CAkey ca2.key -CAcreateserial "
             "-days 2 -extfile san.ext -out server2.pem >/dev/null 2>&1",
             E.dir);
    assert_int_equal(run(cmd), 0);
    assert_int_equal(ready_with_ca("ca2.pem"), 0); /* not served yet */

    /* Replace key and certificate the way renewal tools do (rename). */
    snprintf(cmd, sizeof(cmd),
             "cd %s && cp server2.key server.key.new && mv server.key.new server.key && "
             "cp server2.pem server.pem.new && mv server.pem.new server.pem",
             E.dir);
    assert_int_equal(run(cmd), 0);
    double deadline = peer_now() + 20;
    while (ready_with_ca("ca2.pem") != 200 && peer_now() < deadline) {
        usleep(250 * 1000);
    }
    assert_int_equal(ready_with_ca("ca2.pem"), 200);
    assert_int_equal(ready_with_ca("ca.pem"), 0); /* new connections: the new one only */
    assert_int_equal(E.br.pid, pid);
    assert_int_equal(kill(pid, 0), 0); /* same process, no restart */

    /* A mismatched pair: GnuTLS refuses it; the renewed one stays. */
    snprintf(cmd, sizeof(cmd),
             "cd %s && cp ca.key server.key.new && mv server.key.new server.key", E.dir);
    assert_int_equal(run(cmd), 0);
    assert_int_equal(kill(pid, SIGHUP), 0);
    usleep(1500 * 1000);
    assert_int_equal(ready_with_ca("ca2.pem"), 200);
    char logp[1024];
    snprintf(logp, sizeof(logp), "%s/burnrate-tls.log", E.dir);
    char *log = tu_read_file(logp, NULL);
    assert_non_null(log);
    assert_non_null(strstr(log, "TLS certificate reloaded"));
    assert_non_null(strstr(log, "TLS material not changed"));
    free(log);
    m = https_read("/metrics", "ca2.pem");
    assert_non_null(m);
    assert_true(metric_value(m, "burnrate_tls_reloads_total{result=\"applied\"}") == 1);
    assert_true(metric_value(m, "burnrate_tls_reloads_total{result=\"refused\"}") == 1);
    assert_true(metric_value(m, "burnrate_tls_certificate_expiry_timestamp_seconds") >= not_after);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_tls_anonymous_requests_get_401_on_every_protected_group),
        cmocka_unit_test(test_auth_tls_right_credentials_pass_and_wrong_ones_do_not),
        cmocka_unit_test(test_auth_tls_admin_endpoint_is_refused_while_disabled),
        cmocka_unit_test(test_auth_tls_annotations_change_with_write_credentials_only),
        cmocka_unit_test(test_auth_tls_write_rate_limit_answers_429_with_retry_after),
        cmocka_unit_test(test_auth_tls_https_port_refuses_plain_http_and_serves_with_ca),
        cmocka_unit_test(test_auth_tls_renewed_certificate_is_served_without_restart),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
