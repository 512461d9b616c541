/*
 * test_alertmanager.c — br_alerting against real receivers on loopback:
 * Debian's prometheus-alertmanager (0.25; clustering off, temp storage,
 * stopped by PID) and a webhook sink served by libmicrohttpd inside this
 * test, which records every request and can answer 500 or hang on cue.
 *
 *   - a firing alert appears in Alertmanager's /api/v2/alerts with the
 *     right labels, annotations and fingerprint, and goes when resolved;
 *   - the webhook gets the firing and the resolved payload exactly once
 *     each (signed with HMAC-SHA256), resends of the resolved alert
 *     notwithstanding;
 *   - a receiver answering 500 is retried, then delivered once;
 *   - a receiver that hangs times out and is retried, while
 *     br_alerting_update keeps returning;
 *   - a process killed with kill -9 right after queueing a page (it runs
 *     this binary again as "crash-child") leaves the page in its data dir:
 *     the next open delivers it once, and a further restart does not
 *     send it again.
 * The alerting code runs in this process, with the real clock.
 */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "engine/core/alloc.h"
#include "engine/core/clock.h"
#include "engine/core/log.h"
#include "engine/core/sha256.h"
#include "rules/alert.h"
#include "tests/helpers/peer.h"

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <pthread.h>

#define SINK_MAX 128
#define HMAC_KEY "integration-secret"

/* ---------------------------------------------------------------------- */
/* The webhook sink                                                       */

typedef struct sink_req {
    char id[64];
    char signature[128];
    char *body;
    size_t body_len;
    int status;     /* what the sink answered */
    bool completed; /* the answer went out (not abandoned while hanging) */
} sink_req;

typedef struct sink {
    struct MHD_Daemon *daemon;
    int port;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fail_next; /* answer 500 to this many requests */
    int hang_next; /* hold this many requests until released */
    bool released;
    int hanging; /* requests being held now */
    sink_req reqs[SINK_MAX];
    size_t n;
} sink;

typedef struct upload {
    char *data;
    size_t len;
} upload;

static sink S;

static enum MHD_Result sink_handler(void *cls, struct MHD_Connection *c, const char *url,
                                    const char *method, const char *version, const char *data,
                                    size_t *data_size, void **con_cls)
{
    (void)url;
    (void)method;
    (void)version;
    sink *s = cls;
    upload *u = *con_cls;
    if (u == NULL) {
        *con_cls = calloc(1, sizeof(upload));
        return MHD_YES;
    }
    if (*data_size > 0) {
        char *grown = realloc(u->data, u->len + *data_size + 1);
        if (grown == NULL) {
            return MHD_NO;
        }
        u->data = grown;
        memcpy(u->data + u->len, data, *data_size);
        u->len += *data_size;
        u->data[u->len] = '\0';
        *data_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&s->mu);
    size_t slot = s->n < SINK_MAX ? s->n++ : SINK_MAX - 1;
    sink_req *r = &s->reqs[slot];
    const char *id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Burnrate-Notification-Id");
    const char *sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Burnrate-Signature");
    snprintf(r->id, sizeof(r->id), "%s", id ? id : "");
    snprintf(r->signature, sizeof(r->signature), "%s", sig ? sig : "");
    r->body = strndup(u->data ? u->data : "", u->len);
    r->body_len = u->len;
    int status = 200;
    if (s->hang_next > 0) {
        s->hang_next--;
        s->hanging++;
        pthread_cond_broadcast(&s->cv);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 20;
        while (!s->released) {
            if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) != 0) {
                break;
            }
        }
        s->hanging--;
    } else if (s->fail_next > 0) {
        s->fail_next--;
        status = 500;
    }
    r->status = status;
    pthread_mutex_unlock(&s->mu);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    pthread_mutex_lock(&s->mu);
    r->completed = ret == MHD_YES;
    pthread_mutex_unlock(&s->mu);
    return ret;
}

static void sink_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    upload *u = *con_cls;
    if (u != NULL) {
        free(u->data);
        free(u);
        *con_cls = NULL;
    }
}

static void sink_reset(void)
{
    pthread_mutex_lock(&S.mu);
    for (size_t i = 0; i < S.n; i++) {
        free(S.reqs[i].body);
    }
    memset(S.reqs, 0, sizeof(S.reqs));
    S.n = 0;
    S.fail_next = 0;
    S.hang_next = 0;
    S.released = false;
    pthread_mutex_unlock(&S.mu);
}

static size_t sink_count(int status)
{
    pthread_mutex_lock(&S.mu);
    size_t count = 0;
    for (size_t i = 0; i < S.n; i++) {
        count += (status == 0 || S.reqs[i].status == status) ? 1 : 0;
    }
    pthread_mutex_unlock(&S.mu);
    return count;
}

/* ---------------------------------------------------------------------- */
/* Peers and helpers                                                      */

static char *dir;
static peer am;
static int am_port;

static bool wait_for(bool (*pred)(void *), void *ctx, double timeout_s)
{
    double deadline = peer_now() + timeout_s;
    while (peer_now() < deadline) {
        if (pred(ctx)) {
            return true;
        }
        usleep(50 * 1000);
    }
    return pred(ctx);
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    br_log_set_level(BR_LOG_ERROR);
    dir = tu_mkdtemp("it-alerting");
    if (dir == NULL || access("/usr/bin/prometheus-alertmanager", X_OK) != 0) {
        fprintf(stderr, "needs /usr/bin/prometheus-alertmanager (Debian package "
                        "prometheus-alertmanager)\n");
        return -1;
    }
    pthread_mutex_init(&S.mu, NULL);
    pthread_cond_init(&S.cv, NULL);
    S.port = peer_free_port();
    S.daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
                                (uint16_t)S.port, NULL, NULL, sink_handler, &S,
                                MHD_OPTION_NOTIFY_COMPLETED, sink_completed, NULL,
                                MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (S.daemon == NULL) {
        fprintf(stderr, "cannot start the webhook sink on port %d\n", S.port);
        return -1;
    }
    am_port = peer_free_port();
    free(tu_write_file(dir, "am.yml",
                       "route:\n"
                       "  receiver: blackhole\n"
                       "  group_wait: 1s\n"
                       "  group_interval: 1s\n"
                       "receivers:\n"
                       "  - name: blackhole\n"));
    char cfg[700];
    char storage[700];
    char listen[128];
    char log[700];
    snprintf(cfg, sizeof(cfg), "--config.file=%s/am.yml", dir);
    snprintf(storage, sizeof(storage), "--storage.path=%s/am-data", dir);
    snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%d", am_port);
    snprintf(log, sizeof(log), "%s/alertmanager.log", dir);
    char *const argv[] = {"/usr/bin/prometheus-alertmanager", cfg, storage, listen,
                          "--cluster.listen-address=",        NULL};
    if (peer_start(&am, log, argv) != 0) {
        return -1;
    }
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/-/ready", am_port);
    if (!peer_wait_http(&am, url, 30)) {
        peer_dump_log(&am);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    peer_stop(&am, SIGTERM, 10);
    pthread_mutex_lock(&S.mu);
    S.released = true;
    pthread_cond_broadcast(&S.cv);
    pthread_mutex_unlock(&S.mu);
    if (S.daemon != NULL) {
        MHD_stop_daemon(S.daemon);
    }
    sink_reset();
    if (getenv("BR_KEEP_TEST_DIR") == NULL) {
        tu_rmtree(dir);
    }
    free(dir);
    curl_global_cleanup();
    return 0;
}

static const char *webhook_group_by[] = {"alertname", "sloth_id"};

/* A webhook receiver pointing at the sink (or at url when not NULL). */
static br_receiver_config webhook_receiver(const char *url, int64_t timeout_ms)
{
    static char sink_url[128];
    snprintf(sink_url, sizeof(sink_url), "http://127.0.0.1:%d/hook", S.port);
    static char secret_path[1024];
    char *p = tu_write_file(dir, "hmac.secret", HMAC_KEY "\n");
    snprintf(secret_path, sizeof(secret_path), "%s", p);
    free(p);
    br_receiver_config r = {
        .name = "oncall",
        .kind = BR_RECEIVER_WEBHOOK,
        .url = (char *)(url ? url : sink_url),
        .hmac_secret_file = secret_path,
        .timeout_ms = timeout_ms,
        .group_by = (char **)webhook_group_by,
        .n_group_by = 2,
        .group_wait_ms = 0,
        .group_interval_ms = 500,
        .repeat_interval_ms = 3600 * 1000,
    };
    return r;
}

static br_alerting *open_alerting(const char *sub, const br_receiver_config *r, size_t n,
                                  br_err *err)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    br_alerting_options o = {
        .data_dir = path,
        .eval_interval_ms = 1000,
        .resend_delay_ms = 1000,
    };
    o.notifier.receivers = r;
    o.notifier.n_receivers = n;
    o.notifier.external_url = "http://burnrate.test:9099";
    o.notifier.min_backoff_ms = 100;
    o.notifier.max_backoff_ms = 400;
    br_err_clear(err);
    return br_alerting_open(&o, err);
}

static const br_kv it_labels[] = {
    {"service", "checkout"},
    {"severity", "page"},
    {"sloth_id", "checkout-availability"},
};
static const br_kv it_annotations[] = {
    {"runbook_url", "https://runbooks.example/checkout"},
    {"summary", "checkout burns its error budget 14.4x too fast"},
};

static br_alert_input it_input(const char *name, bool condition)
{
    br_alert_input in = {
        .alertname = name,
        .labels = it_labels,
        .n_labels = 3,
        .annotations = it_annotations,
        .n_annotations = 2,
        .condition = condition,
        .value = condition ? 20.5 : 0.1,
        .generator_url = "http://burnrate.test:9099/slos/checkout-availability",
    };
    return in;
}

static void tick(br_alerting *a, const char *name, bool condition)
{
    br_alert_input in = it_input(name, condition);
    br_err err;
    br_err_clear(&err);
    if (br_alerting_update(a, br_now_ms(), &in, 1, NULL, &err) != 0) {
        fail_msg("update: %s", err.msg);
    }
}

/* The alert named name in Alertmanager's /api/v2/alerts, or NULL (free
 * the returned array with cJSON_Delete via *root). */
static cJSON *am_alert(const char *name, cJSON **root)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v2/alerts", am_port);
    tu_http_result r;
    *root = NULL;
    if (tu_http("GET", url, NULL, 0, NULL, &r) != 0 || r.status != 200) {
        tu_http_free(&r);
        return NULL;
    }
    *root = cJSON_Parse(r.body);
    tu_http_free(&r);
    cJSON *a;
    cJSON_ArrayForEach(a, *root)
    {
        cJSON *labels = cJSON_GetObjectItemCaseSensitive(a, "labels");
        cJSON *n = cJSON_GetObjectItemCaseSensitive(labels, "alertname");
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0) {
            return a;
        }
    }
    return NULL;
}

static bool am_has(void *ctx)
{
    cJSON *root = NULL;
    bool has = am_alert(ctx, &root) != NULL;
    cJSON_Delete(root);
    return has;
}

static bool am_lacks(void *ctx)
{
    return !am_has(ctx);
}

/* ---------------------------------------------------------------------- */

static void test_alertmanager_receives_firing_then_resolved(void **state)
{
    (void)state;
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", am_port);
    br_receiver_config r = {
        .name = "am", .kind = BR_RECEIVER_ALERTMANAGER, .url = url, .timeout_ms = 5000};
    br_err err;
    br_alerting *a = open_alerting("am", &r, 1, &err);
    assert_non_null(a);
    tick(a, "BurnrateITPage", true);
    assert_true(wait_for(am_has, "BurnrateITPage", 20));
    cJSON *root = NULL;
    cJSON *got = am_alert("BurnrateITPage", &root);
    assert_non_null(got);
    cJSON *labels = cJSON_GetObjectItemCaseSensitive(got, "labels");
    assert_int_equal(cJSON_GetArraySize(labels), 4);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(labels, "severity")->valuestring, "page");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(labels, "sloth_id")->valuestring,
                        "checkout-availability");
    cJSON *ann = cJSON_GetObjectItemCaseSensitive(got, "annotations");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(ann, "runbook_url")->valuestring,
                        "https://runbooks.example/checkout");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(got, "generatorURL")->valuestring,
                        "http://burnrate.test:9099/slos/checkout-availability");
    cJSON *status = cJSON_GetObjectItemCaseSensitive(got, "status");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(status, "state")->valuestring, "active");
    /* Alertmanager computes the same fingerprint as burnrate. */
    const br_kv full[] = {{"alertname", "BurnrateITPage"},
                          {"service", "checkout"},
                          {"severity", "page"},
                          {"sloth_id", "checkout-availability"}};
    char fp[17];
    snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)br_notify_fingerprint(full, 4));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(got, "fingerprint")->valuestring, fp);
    cJSON_Delete(root);

    usleep(1100 * 1000); /* resolve at a later tick than the firing one */
    tick(a, "BurnrateITPage", false);
    assert_true(wait_for(am_lacks, "BurnrateITPage", 20));
    br_notifier_stats st;
    assert_int_equal(br_notifier_get_stats(br_alerting_notifier(a), 0, &st), 0);
    assert_true(st.sent >= 2);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(br_alerting_close(a, NULL), 0);
}

/* Counts delivered (2xx) webhook payloads whose status is `status`. */
static size_t delivered(const char *status)
{
    size_t count = 0;
    pthread_mutex_lock(&S.mu);
    for (size_t i = 0; i < S.n; i++) {
        if (S.reqs[i].status != 200 || S.reqs[i].body == NULL) {
            continue;
        }
        cJSON *j = cJSON_Parse(S.reqs[i].body);
        cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
        if (cJSON_IsString(st) && strcmp(st->valuestring, status) == 0) {
            count++;
        }
        cJSON_Delete(j);
    }
    pthread_mutex_unlock(&S.mu);
    return count;
}

static bool firing_delivered(void *ctx)
{
    return delivered("firing") >= *(size_t *)ctx;
}

static bool resolved_delivered(void *ctx)
{
    return delivered("resolved") >= *(size_t *)ctx;
}

static void test_webhook_gets_firing_and_resolved_exactly_once(void **state)
{
    (void)state;
    sink_reset();
    br_receiver_config r = webhook_receiver(NULL, 5000);
    br_err err;
    br_alerting *a = open_alerting("webhook", &r, 1, &err);
    assert_non_null(a);
    size_t one = 1;
    tick(a, "BurnrateITHook", true);
    assert_true(wait_for(firing_delivered, &one, 20));
    /* Still firing for a while: resends do not page again. */
    for (int i = 0; i < 3; i++) {
        usleep(700 * 1000);
        tick(a, "BurnrateITHook", true);
    }
    tick(a, "BurnrateITHook", false);
    assert_true(wait_for(resolved_delivered, &one, 20));
    /* The resolved alert is re-sent each resend_delay for a while: the
     * group already told the receiver, so nothing more arrives. */
    for (int i = 0; i < 4; i++) {
        usleep(700 * 1000);
        tick(a, "BurnrateITHook", false);
    }
    usleep(1000 * 1000);
    assert_int_equal(delivered("firing"), 1);
    assert_int_equal(delivered("resolved"), 1);
    assert_int_equal(sink_count(0), 2);
    pthread_mutex_lock(&S.mu);
    assert_string_not_equal(S.reqs[0].id, S.reqs[1].id);
    for (size_t i = 0; i < 2; i++) {
        uint8_t mac[BR_SHA256_SIZE];
        char hex[BR_SHA256_HEX_SIZE];
        br_hmac_sha256(HMAC_KEY, strlen(HMAC_KEY), S.reqs[i].body, S.reqs[i].body_len, mac);
        char expected[96];
        snprintf(expected, sizeof(expected), "sha256=%s", br_sha256_hex(mac, hex));
        assert_string_equal(S.reqs[i].signature, expected);
    }
    cJSON *j = cJSON_Parse(S.reqs[1].body);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "groupKey")->valuestring,
                        "{}:{alertname=\"BurnrateITHook\", sloth_id=\"checkout-availability\"}");
    cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "alerts"), 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(first, "status")->valuestring, "resolved");
    cJSON_Delete(j);
    pthread_mutex_unlock(&S.mu);
    assert_int_equal(br_alerting_close(a, NULL), 0);
}

static void test_webhook_500_is_retried_then_delivered_once(void **state)
{
    (void)state;
    sink_reset();
    pthread_mutex_lock(&S.mu);
    S.fail_next = 2;
    pthread_mutex_unlock(&S.mu);
    br_receiver_config r = webhook_receiver(NULL, 5000);
    br_err err;
    br_alerting *a = open_alerting("retry", &r, 1, &err);
    assert_non_null(a);
    tick(a, "BurnrateITRetry", true);
    size_t one = 1;
    assert_true(wait_for(firing_delivered, &one, 20));
    usleep(1500 * 1000);
    assert_int_equal(sink_count(500), 2);
    assert_int_equal(sink_count(200), 1);
    pthread_mutex_lock(&S.mu);
    assert_string_equal(S.reqs[0].id, S.reqs[2].id); /* the same notification throughout */
    assert_string_equal(S.reqs[0].body, S.reqs[2].body);
    pthread_mutex_unlock(&S.mu);
    br_notifier_stats st;
    br_notifier_get_stats(br_alerting_notifier(a), 0, &st);
    assert_int_equal(st.sent, 1);
    assert_int_equal(st.failed, 2);
    assert_int_equal(st.retried, 2);
    assert_int_equal(st.queued, 0);
    assert_int_equal(br_alerting_close(a, NULL), 0);
}

static bool sink_hanging(void *ctx)
{
    (void)ctx;
    pthread_mutex_lock(&S.mu);
    bool h = S.hanging > 0;
    pthread_mutex_unlock(&S.mu);
    return h;
}

static void test_webhook_hang_times_out_without_stalling_updates(void **state)
{
    (void)state;
    sink_reset();
    pthread_mutex_lock(&S.mu);
    S.hang_next = 1;
    pthread_mutex_unlock(&S.mu);
    br_receiver_config r = webhook_receiver(NULL, 3000);
    br_err err;
    br_alerting *a = open_alerting("hang", &r, 1, &err);
    assert_non_null(a);
    tick(a, "BurnrateITHang", true);
    assert_true(wait_for(sink_hanging, NULL, 20));
    /* The receiver holds the request (the client waits up to 3s): the
     * evaluator's updates must not wait for it. */
    int64_t start = br_mono_ns();
    for (int i = 0; i < 20; i++) {
        tick(a, "BurnrateITHang", true);
    }
    double spent_s = (double)(br_mono_ns() - start) / 1e9;
    assert_true(spent_s < 1.5);
    /* The request times out, is retried and delivered. */
    size_t one = 1;
    assert_true(wait_for(firing_delivered, &one, 20));
    br_notifier_stats st;
    br_notifier_get_stats(br_alerting_notifier(a), 0, &st);
    assert_int_equal(st.sent, 1);
    assert_true(st.failed >= 1);
    pthread_mutex_lock(&S.mu);
    S.released = true;
    pthread_cond_broadcast(&S.cv);
    pthread_mutex_unlock(&S.mu);
    assert_int_equal(br_alerting_close(a, NULL), 0);
}

/* Runs as the child of test_kill_9_while_queued: queues a page for a
 * receiver that refuses connections, reports "queued", waits to be killed. */
static int crash_child(const char *data_dir, const char *url)
{
    br_log_set_level(BR_LOG_ERROR);
    mkdir(data_dir, 0755);
    br_receiver_config r = webhook_receiver(url, 1000);
    char path[1024];
    snprintf(path, sizeof(path), "%s", data_dir);
    br_alerting_options o = {.data_dir = path, .eval_interval_ms = 1000, .resend_delay_ms = 1000};
    o.notifier.receivers = &r;
    o.notifier.n_receivers = 1;
    o.notifier.min_backoff_ms = 100;
    o.notifier.max_backoff_ms = 400;
    br_err err;
    br_err_clear(&err);
    br_alerting *a = br_alerting_open(&o, &err);
    if (a == NULL) {
        fprintf(stderr, "child: %s\n", err.msg);
        return 1;
    }
    br_alert_input in = it_input("BurnrateITCrash", true);
    if (br_alerting_update(a, br_now_ms(), &in, 1, NULL, &err) != 0) {
        fprintf(stderr, "child: %s\n", err.msg);
        return 1;
    }
    printf("queued\n");
    fflush(stdout);
    for (;;) {
        pause();
    }
}

static void test_kill_9_while_queued_delivers_after_restart_once(void **state)
{
    (void)state;
    sink_reset();
    char data_dir[1024];
    snprintf(data_dir, sizeof(data_dir), "%s/crash", dir);
    char dead_url[128];
    snprintf(dead_url, sizeof(dead_url), "http://127.0.0.1:%d/hook", peer_free_port());
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        char *const argv[] = {"/proc/self/exe", "crash-child", data_dir, dead_url, NULL};
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    close(fds[1]);
    char line[32] = "";
    ssize_t got = read(fds[0], line, sizeof(line) - 1);
    close(fds[0]);
    assert_true(got > 0);
    assert_non_null(strstr(line, "queued"));
    usleep(300 * 1000); /* let it fail a delivery attempt or two */
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_int_equal(sink_count(0), 0);

    /* Restart with the receiver now reachable (same name, new URL). */
    br_receiver_config r = webhook_receiver(NULL, 5000);
    br_err err;
    br_alerting *a = open_alerting("crash", &r, 1, &err);
    if (a == NULL) {
        fail_msg("reopen: %s", err.msg);
    }
    size_t one = 1;
    assert_true(wait_for(firing_delivered, &one, 20));
    /* The alert's pending/firing state came back too: ticking it again
     * does not page again. */
    tick(a, "BurnrateITCrash", true);
    usleep(1500 * 1000);
    tick(a, "BurnrateITCrash", true);
    usleep(1000 * 1000);
    assert_int_equal(sink_count(0), 1);
    assert_int_equal(br_alerting_close(a, NULL), 0);

    /* Another restart: nothing is sent again. */
    a = open_alerting("crash", &r, 1, &err);
    assert_non_null(a);
    tick(a, "BurnrateITCrash", true);
    usleep(1500 * 1000);
    assert_int_equal(sink_count(0), 1);
    assert_int_equal(br_notifier_queue_length(br_alerting_notifier(a)), 0);
    assert_int_equal(br_alerting_close(a, NULL), 0);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "crash-child") == 0) {
        dir = argv[2]; /* the hmac secret file is written beside the state */
        return crash_child(argv[2], argv[3]);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alertmanager_receives_firing_then_resolved),
        cmocka_unit_test(test_webhook_gets_firing_and_resolved_exactly_once),
        cmocka_unit_test(test_webhook_500_is_retried_then_delivered_once),
        cmocka_unit_test(test_webhook_hang_times_out_without_stalling_updates),
        cmocka_unit_test(test_kill_9_while_queued_delivers_after_restart_once),
    };
    return cmocka_run_group_tests_name("alertmanager", tests, setup, teardown);
}
