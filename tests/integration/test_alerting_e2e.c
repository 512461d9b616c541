/*
 * test_alerting_e2e.c — alerting end to end on the real binaries: the load
 * generator remote-writes live traffic with one injected error burst into
 * the `burnrate` binary, which evaluates four copies of an availability
 * SLO every second and pages through its configured receivers: a real
 * Alertmanager 0.25 (Debian's prometheus-alertmanager, clustering off,
 * temp storage) and four webhooks served by a libmicrohttpd sink in this
 * test, one per SLO (routed by the SLO label `scenario`), each with its own
 * fault:
 *
 *   clean  always 200       firing and resolved arrive exactly once each,
 *                           signed with HMAC-SHA256;
 *   retry  500 three times  retried with the same notification id, then
 *                           delivered once;
 *   hang   holds twice for longer than the receiver's timeout; delivered
 *                           once after retries, and the evaluation tick
 *                           (eval_time in /api/v1/slos) keeps advancing
 *                           every interval meanwhile;
 *   crash  not listening    the page stays queued; burnrate is killed
 *                           with SIGKILL, the hook comes up, the restart
 *                           delivers it once; a second SIGKILL and restart
 *                           send nothing again.
 * Alertmanager shows the page with the SLO's labels and a generatorURL to
 * burnrate's /slo/<id>, keeps one alert with the same startsAt across the
 * restarts, and drops it when the burn has left the short window; every
 * webhook then gets exactly one resolved payload.
 *
 * One timeline shared by the tests below, which run in order: the burst
 * (60% of svc-0's requests fail) starts LEAD_S after the load generator
 * and lasts BURST_S; the restarts happen while it lasts. Processes are
 * stopped by PID; everything lives in a temp dir (BR_KEEP_TEST_DIR keeps
 * it). Skipped when prometheus-alertmanager is not installed.
 */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "engine/core/sha256.h"
#include "tests/helpers/peer.h"

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <pthread.h>

#define ALERTMANAGER_BIN "/usr/bin/prometheus-alertmanager"
#define HMAC_KEY         "e2e-hook-secret"
#define LEAD_S           15 /* live traffic before the burst */
#define BURST_S          80
#define HANG_S           5 /* how long the hang hook holds a request */
#define HANG_TIMEOUT     "3s"
#define RETRY_FAILS      3
#define HANG_TIMES       2
#define SINK_MAX         256
#define N_SCEN           4

static const char *const SCEN[N_SCEN] = {"clean", "retry", "hang", "crash"};

/* ---------------------------------------------------------------------- */
/* The webhook sink: one handler for both daemons (the crash hook gets its */
/* own port, listening only after the first kill).                        */

typedef struct hook_req {
    char path[32];
    char id[64];
    char signature[128];
    char *body;
    size_t body_len;
    double arrived; /* peer_now() when the body was complete */
    int status;     /* what the sink answered (503: held past the client's timeout) */
} hook_req;

typedef struct sink {
    struct MHD_Daemon *main_daemon;
    struct MHD_Daemon *crash_daemon;
    int port;
    int crash_port;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int retry_fails_left;
    int hangs_left;
    bool release; /* teardown: stop holding requests */
    hook_req reqs[SINK_MAX];
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
    (void)cls;
    (void)method;
    (void)version;
    upload *u = *con_cls;
    if (u == NULL) {
        *con_cls = calloc(1, sizeof(upload));
        return *con_cls != NULL ? MHD_YES : MHD_NO;
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
    const char *id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Burnrate-Notification-Id");
    const char *sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Burnrate-Signature");
    pthread_mutex_lock(&S.mu);
    hook_req *r = &S.reqs[S.n < SINK_MAX ? S.n++ : SINK_MAX - 1];
    free(r->body);
    memset(r, 0, sizeof(*r));
    snprintf(r->path, sizeof(r->path), "%s", url);
    snprintf(r->id, sizeof(r->id), "%s", id ? id : "");
    snprintf(r->signature, sizeof(r->signature), "%s", sig ? sig : "");
    r->body = strndup(u->data ? u->data : "", u->len);
    r->body_len = u->len;
    r->arrived = peer_now();
    int status = 200;
    if (strcmp(url, "/retry") == 0 && S.retry_fails_left > 0) {
        S.retry_fails_left--;
        status = 500;
    } else if (strcmp(url, "/hang") == 0 && S.hangs_left > 0) {
        S.hangs_left--;
        r->status = 503; /* recorded now: the answer comes after the wait */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += HANG_S;
        int waited = 0;
        while (!S.release && waited == 0) {
            waited = pthread_cond_timedwait(&S.cv, &S.mu, &until); /* ETIMEDOUT ends it */
        }
        status = 503; /* never a success, should the client still listen */
    }
    r->status = status;
    pthread_mutex_unlock(&S.mu);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
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

static struct MHD_Daemon *sink_start(int port)
{
    return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
                            (uint16_t)port, NULL, NULL, sink_handler, NULL,
                            MHD_OPTION_NOTIFY_COMPLETED, sink_completed, NULL,
                            MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
}

/* The status ("firing"/"resolved") of a webhook payload; "" if unreadable. */
static void payload_status(const hook_req *r, char *out, size_t size)
{
    cJSON *j = cJSON_Parse(r->body);
    const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "status"));
    snprintf(out, size, "%s", st ? st : "");
    cJSON_Delete(j);
}

/* Payloads of hook `scen` with payload status `status` (NULL = any) that
 * the sink answered with `answered` (0 = any, hung ones included). */
static size_t hook_count(const char *scen, const char *status, int answered)
{
    char path[40];
    snprintf(path, sizeof(path), "/%s", scen);
    size_t n = 0;
    pthread_mutex_lock(&S.mu);
    for (size_t i = 0; i < S.n; i++) {
        const hook_req *r = &S.reqs[i];
        if (strcmp(r->path, path) != 0 || (answered != 0 && r->status != answered)) {
            continue;
        }
        if (status != NULL) {
            char st[16];
            payload_status(r, st, sizeof(st));
            if (strcmp(st, status) != 0) {
                continue;
            }
        }
        n++;
    }
    pthread_mutex_unlock(&S.mu);
    return n;
}

/* Delivered = answered 200 (a hung request is answered 503). */
static size_t delivered(const char *scen, const char *status)
{
    return hook_count(scen, status, 200);
}

/* ---------------------------------------------------------------------- */
/* burnrate, the load generator and Alertmanager                          */

/* A background poller of /api/v1/slos' eval_time, so that stalls are seen
 * whenever the hang hook holds a request, whatever the tests wait for. */
#define TICK_SAMPLES 8192

typedef struct tick_sample {
    double at;      /* peer_now() */
    double eval_ms; /* 0 = burnrate did not answer */
} tick_sample;

typedef struct ticker {
    pthread_t thread;
    bool running;
    pthread_mutex_t mu;
    bool stop;
    tick_sample samples[TICK_SAMPLES];
    size_t n;
} ticker;

static ticker T;

typedef struct env {
    bool skip;
    const char *bin;
    const char *loadgen;
    char *dir;
    char cfg[1024];
    char log[1024];
    char listen[64];
    char base[64];
    int port;
    peer br;
    peer lg;
    peer am;
    int am_port;
    double lg_started;     /* monotonic */
    char am_starts_at[64]; /* the clean page's startsAt in Alertmanager */
} env;

static env E;

static double burst_start(void)
{
    return E.lg_started + LEAD_S;
}

static double burst_end(void)
{
    return E.lg_started + LEAD_S + BURST_S;
}

static cJSON *get_json(const char *base, const char *path)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", base, path);
    tu_http_result r;
    cJSON *j = NULL;
    if (tu_http("GET", url, NULL, 0, NULL, &r) == 0 && r.status == 200) {
        j = cJSON_Parse(r.body);
    }
    tu_http_free(&r);
    return j;
}

/* The page state of SLO svc-0-avail-<scen> in /api/v1/slos and the
 * snapshot's eval time; NULL when burnrate does not answer. */
static const char *page_state(const char *scen, double *eval_ms, char *buf, size_t size)
{
    cJSON *root = get_json(E.base, "/api/v1/slos");
    if (root == NULL) {
        return NULL;
    }
    cJSON *data = cJSON_GetObjectItem(root, "data");
    if (eval_ms != NULL) {
        cJSON *t = cJSON_GetObjectItem(data, "eval_time_ms");
        *eval_ms = cJSON_IsNumber(t) ? t->valuedouble : 0; /* none before the first tick */
    }
    char id[64];
    snprintf(id, sizeof(id), "svc-0-avail-%s", scen);
    const char *state = NULL;
    cJSON *slo;
    cJSON_ArrayForEach(slo, cJSON_GetObjectItem(data, "slos"))
    {
        const char *sid = cJSON_GetStringValue(cJSON_GetObjectItem(slo, "id"));
        if (sid == NULL || strcmp(sid, id) != 0) {
            continue;
        }
        cJSON *a;
        cJSON_ArrayForEach(a, cJSON_GetObjectItem(slo, "alerts"))
        {
            const char *tier = cJSON_GetStringValue(cJSON_GetObjectItem(a, "tier"));
            const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(a, "state"));
            if (tier != NULL && strcmp(tier, "page-fast") == 0 && st != NULL) {
                snprintf(buf, size, "%s", st);
                state = buf;
            }
        }
    }
    cJSON_Delete(root);
    return state;
}

/* The error-budget policy state of svc-0-avail-<scen>: its name and its
 * "since" (RFC 3339 text); false when burnrate does not answer or the SLO
 * has no state yet. */
static bool policy_of(const char *scen, char *name, size_t nsize, char *since, size_t ssize)
{
    cJSON *root = get_json(E.base, "/api/v1/slos");
    if (root == NULL) {
        return false;
    }
    char id[64];
    snprintf(id, sizeof(id), "svc-0-avail-%s", scen);
    bool found = false;
    cJSON *slo;
    cJSON_ArrayForEach(slo, cJSON_GetObjectItem(cJSON_GetObjectItem(root, "data"), "slos"))
    {
        const char *sid = cJSON_GetStringValue(cJSON_GetObjectItem(slo, "id"));
        cJSON *st = cJSON_GetObjectItem(slo, "state");
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItem(st, "name"));
        const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(st, "since"));
        if (sid != NULL && strcmp(sid, id) == 0 && n != NULL && t != NULL) {
            snprintf(name, nsize, "%s", n);
            snprintf(since, ssize, "%s", t);
            found = true;
        }
    }
    cJSON_Delete(root);
    return found;
}

static double eval_time_ms(void)
{
    char buf[32];
    double t = 0;
    (void)page_state("clean", &t, buf, sizeof(buf));
    return t;
}

static void *ticker_main(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&T.mu);
        bool stop = T.stop;
        pthread_mutex_unlock(&T.mu);
        if (stop) {
            return NULL;
        }
        tick_sample smp = {.eval_ms = eval_time_ms(), .at = peer_now()};
        pthread_mutex_lock(&T.mu);
        if (T.n < TICK_SAMPLES) {
            T.samples[T.n++] = smp;
        }
        pthread_mutex_unlock(&T.mu);
        usleep(100 * 1000);
    }
}

/* Over the samples taken in [from, to]: how often eval_time advanced and
 * the largest step between successive values (ms). */
static void tick_stats(double from, double to, int *advances, double *max_gap)
{
    *advances = 0;
    *max_gap = 0;
    double last = 0;
    pthread_mutex_lock(&T.mu);
    for (size_t i = 0; i < T.n; i++) {
        const tick_sample *s = &T.samples[i];
        if (s->at < from || s->at > to || s->eval_ms <= 0) {
            continue;
        }
        if (last > 0 && s->eval_ms > last) {
            (*advances)++;
            *max_gap = s->eval_ms - last > *max_gap ? s->eval_ms - last : *max_gap;
        }
        if (s->eval_ms > last) {
            last = s->eval_ms;
        }
    }
    pthread_mutex_unlock(&T.mu);
}

/* The value of `name{receiver="<receiver>"}` in burnrate's /metrics, or -1. */
static double metric(const char *name, const char *receiver)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/metrics", E.base);
    tu_http_result r;
    double v = -1;
    if (tu_http("GET", url, NULL, 0, NULL, &r) == 0 && r.status == 200) {
        char want[256];
        snprintf(want, sizeof(want), "\n%s{receiver=\"%s\"} ", name, receiver);
        const char *at = strstr(r.body, want);
        if (at != NULL) {
            v = strtod(at + strlen(want), NULL);
        }
    }
    tu_http_free(&r);
    return v;
}

static int start_burnrate(void)
{
    char *argv[] = {(char *)E.bin, "serve", "--config", E.cfg, "--listen", E.listen, NULL};
    if (peer_start(&E.br, E.log, argv) != 0) {
        return -1;
    }
    char ready[128];
    snprintf(ready, sizeof(ready), "%s/-/ready", E.base);
    if (!peer_wait_http(&E.br, ready, 60)) {
        peer_dump_log(&E.br);
        return -1;
    }
    return 0;
}

static void kill_9_burnrate(void)
{
    int status = peer_stop(&E.br, SIGKILL, 10);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* Waits until the evaluator has ticked `ticks` times after now. */
static bool wait_ticks(int ticks, double timeout_s)
{
    double deadline = peer_now() + timeout_s;
    double first = 0;
    while (peer_now() < deadline) {
        double t = eval_time_ms();
        if (first == 0 && t > 0) {
            first = t;
        }
        if (first > 0 && t >= first + ticks * 1000.0) {
            return true;
        }
        usleep(200 * 1000);
    }
    return false;
}

static bool wait_delivered(const char *scen, const char *status, size_t want, double timeout_s)
{
    double deadline = peer_now() + timeout_s;
    while (peer_now() < deadline) {
        if (delivered(scen, status) >= want) {
            return true;
        }
        usleep(100 * 1000);
    }
    return delivered(scen, status) >= want;
}

/* The Alertmanager alert whose alertname is `name` (its array in *root;
 * free with cJSON_Delete), and how many such alerts there are. */
static cJSON *am_alert(const char *name, cJSON **root, int *count)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v2/alerts", E.am_port);
    *root = get_json(url, "");
    *count = 0;
    cJSON *found = NULL;
    cJSON *a;
    cJSON_ArrayForEach(a, *root)
    {
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(a, "labels"), "alertname"));
        if (n != NULL && strcmp(n, name) == 0) {
            found = found ? found : a;
            (*count)++;
        }
    }
    return found;
}

static const char *label(cJSON *alert, const char *name)
{
    return cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(alert, "labels"), name));
}

static int start_alertmanager(void)
{
    E.am_port = peer_free_port();
    free(tu_write_file(E.dir, "am.yml",
                       "route:\n"
                       "  receiver: blackhole\n"
                       "  group_wait: 1s\n"
                       "  group_interval: 1s\n"
                       "receivers:\n"
                       "  - name: blackhole\n"));
    char cfg[1100];
    char storage[1100];
    char listen[128];
    char log[1024];
    snprintf(cfg, sizeof(cfg), "--config.file=%s/am.yml", E.dir);
    snprintf(storage, sizeof(storage), "--storage.path=%s/am-data", E.dir);
    snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%d", E.am_port);
    snprintf(log, sizeof(log), "%s/alertmanager.log", E.dir);
    char *const argv[] = {
        ALERTMANAGER_BIN, cfg, storage, listen, "--cluster.listen-address=", NULL};
    if (peer_start(&E.am, log, argv) != 0) {
        return -1;
    }
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/-/ready", E.am_port);
    if (!peer_wait_http(&E.am, url, 30)) {
        peer_dump_log(&E.am);
        return -1;
    }
    return 0;
}

/* The SLO file: four copies of svc-0's availability SLO, told apart by
 * name and the `scenario` label. */
static char *write_slos(void)
{
    char text[8192];
    size_t off = (size_t)snprintf(text, sizeof(text), "slos:\n");
    for (int i = 0; i < N_SCEN; i++) {
        off += (size_t)snprintf(
            text + off, sizeof(text) - off,
            "  - service: svc-0\n"
            "    name: avail-%s\n"
            "    objective: 99.9%%\n"
            "    period: 1h\n"
            "    labels: {team: payments, scenario: %s}\n"
            "    sli:\n"
            "      events:\n"
            "        bad: 'http_requests_total{service=\"svc-0\",code=~\"5..\"}'\n"
            "        total: 'http_requests_total{service=\"svc-0\"}'\n"
            "    alerting:\n"
            "      tiers:\n"
            "        - {name: page-fast, severity: page, long: 2m, short: 30s, factor: 14.4, "
            "for: 0s}\n"
            "      budget_drop: false\n"
            "      exhaustion_within: false\n",
            SCEN[i], SCEN[i]);
    }
    return tu_write_file(E.dir, "slos.yml", text);
}

static char *write_config(const char *slos, const char *secret)
{
    char text[8192];
    size_t off = (size_t)snprintf(text, sizeof(text),
                                  "evaluation:\n  interval: 1s\n"
                                  "storage:\n  data_dir: %s/data\n"
                                  "slos:\n  - %s\n"
                                  "receivers:\n"
                                  "  - name: alertmanager\n"
                                  "    type: alertmanager\n"
                                  "    url: http://127.0.0.1:%d\n"
                                  "    match: {severity: page}\n"
                                  "    timeout: 5s\n",
                                  E.dir, slos, E.am_port);
    for (int i = 0; i < N_SCEN; i++) {
        bool crash = strcmp(SCEN[i], "crash") == 0;
        bool hang = strcmp(SCEN[i], "hang") == 0;
        off += (size_t)snprintf(text + off, sizeof(text) - off,
                                "  - name: hook-%s\n"
                                "    type: webhook\n"
                                "    url: http://127.0.0.1:%d/%s\n"
                                "    match: {scenario: %s}\n"
                                "    hmac_secret_file: %s\n"
                                "    group_wait: 1s\n"
                                "    group_interval: 1s\n"
                                "    timeout: %s\n",
                                SCEN[i], crash ? S.crash_port : S.port, SCEN[i], SCEN[i], secret,
                                hang ? HANG_TIMEOUT : "5s");
    }
    return tu_write_file(E.dir, "burnrate.yml", text);
}

static int teardown(void **state);

/* Starts the peers, burnrate and the load generator. */
static int start_all(void)
{
    E.dir = tu_mkdtemp("alerting-e2e");
    if (E.dir == NULL) {
        return -1;
    }
    S.retry_fails_left = RETRY_FAILS;
    S.hangs_left = HANG_TIMES;
    S.port = peer_free_port();
    S.crash_port = peer_free_port();
    S.main_daemon = sink_start(S.port);
    if (S.main_daemon == NULL) {
        fprintf(stderr, "cannot start the webhook sink on port %d\n", S.port);
        return -1;
    }
    if (start_alertmanager() != 0) {
        return -1;
    }
    E.port = peer_free_port();
    snprintf(E.listen, sizeof(E.listen), "127.0.0.1:%d", E.port);
    snprintf(E.base, sizeof(E.base), "http://127.0.0.1:%d", E.port);
    snprintf(E.log, sizeof(E.log), "%s/burnrate.log", E.dir);
    char *secret = tu_write_file(E.dir, "hmac.secret", HMAC_KEY "\n");
    char *slos = write_slos();
    char *cfg = write_config(slos, secret);
    snprintf(E.cfg, sizeof(E.cfg), "%s", cfg);
    free(secret);
    free(slos);
    free(cfg);
    if (start_burnrate() != 0) {
        return -1;
    }
    if (pthread_create(&T.thread, NULL, ticker_main, NULL) != 0) {
        return -1;
    }
    T.running = true;
    /* 10 min of history, then live; the burst starts LEAD_S into the live
     * phase (the incident's start counts from the first, backfilled step). */
    char url[128];
    snprintf(url, sizeof(url), "%s/api/v1/write", E.base);
    char incident[64];
    snprintf(incident, sizeof(incident), "10m%ds:%ds:0.6", LEAD_S, BURST_S);
    char lglog[1024];
    snprintf(lglog, sizeof(lglog), "%s/loadgen.log", E.dir);
    /* clang-format off */
    char *argv[] = {(char *)E.loadgen, "--url", url, "--services", "2", "--endpoints", "2",
                    "--interval", "1s", "--backfill", "10m", "--live", "--incident", incident,
                    "--incident-service", "0", "--seed", "11", "--quiet", NULL};
    /* clang-format on */
    E.lg_started = peer_now();
    return peer_start(&E.lg, lglog, argv);
}

static bool initialized;

static int setup(void **state)
{
    memset(&E, 0, sizeof(E));
    if (access(ALERTMANAGER_BIN, X_OK) != 0) {
        fprintf(stderr, "skipping: needs %s (Debian package prometheus-alertmanager)\n",
                ALERTMANAGER_BIN);
        E.skip = true;
        return 0;
    }
    E.bin = getenv("BURNRATE_BIN");
    E.loadgen = getenv("BURNRATE_LOADGEN");
    if (E.bin == NULL || E.loadgen == NULL) {
        fprintf(stderr, "needs BURNRATE_BIN and BURNRATE_LOADGEN\n");
        return -1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_mutex_init(&S.mu, NULL);
    pthread_cond_init(&S.cv, NULL);
    pthread_mutex_init(&T.mu, NULL);
    initialized = true;
    if (start_all() != 0) {
        teardown(state);
        return -1;
    }
    return 0;
}

/* Stops everything started; safe to call twice. */
static int teardown(void **state)
{
    (void)state;
    if (!initialized) {
        return 0;
    }
    initialized = false;
    if (T.running) {
        pthread_mutex_lock(&T.mu);
        T.stop = true;
        pthread_mutex_unlock(&T.mu);
        pthread_join(T.thread, NULL);
        T.running = false;
    }
    if (E.lg.pid > 0) {
        peer_stop(&E.lg, SIGTERM, 10);
    }
    if (E.br.pid > 0) {
        peer_stop(&E.br, SIGTERM, 20);
    }
    if (E.am.pid > 0) {
        peer_stop(&E.am, SIGTERM, 10);
    }
    pthread_mutex_lock(&S.mu);
    S.release = true;
    pthread_cond_broadcast(&S.cv);
    pthread_mutex_unlock(&S.mu);
    if (S.main_daemon != NULL) {
        MHD_stop_daemon(S.main_daemon);
    }
    if (S.crash_daemon != NULL) {
        MHD_stop_daemon(S.crash_daemon);
    }
    for (size_t i = 0; i < S.n; i++) {
        free(S.reqs[i].body);
    }
    S.n = 0;
    pthread_cond_destroy(&S.cv);
    pthread_mutex_destroy(&S.mu);
    pthread_mutex_destroy(&T.mu);
    if (E.dir != NULL) {
        if (getenv("BR_KEEP_TEST_DIR") == NULL) {
            tu_rmtree(E.dir);
        } else {
            fprintf(stderr, "kept %s\n", E.dir);
        }
        free(E.dir);
        E.dir = NULL;
    }
    curl_global_cleanup();
    return 0;
}

#define SKIP_WITHOUT_ALERTMANAGER()                                                                \
    do {                                                                                           \
        if (E.skip) {                                                                              \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* ---------------------------------------------------------------------- */

static void test_burn_pages_alertmanager_with_the_slo_labels(void **state)
{
    (void)state;
    SKIP_WITHOUT_ALERTMANAGER();
    /* Nothing pages before the burst. */
    while (peer_now() < burst_start() - 2) {
        char buf[32];
        const char *st = page_state("clean", NULL, buf, sizeof(buf));
        assert_true(st == NULL || strcmp(st, "inactive") == 0);
        usleep(500 * 1000);
    }
    assert_int_equal(hook_count("clean", NULL, 0) + hook_count("retry", NULL, 0) +
                         hook_count("hang", NULL, 0) + hook_count("crash", NULL, 0),
                     0);

    cJSON *root = NULL;
    cJSON *got = NULL;
    int count = 0;
    double deadline = burst_start() + 30;
    while (got == NULL && peer_now() < deadline) {
        cJSON_Delete(root);
        got = am_alert("Svc0AvailCleanHighErrorRate", &root, &count);
        if (got == NULL) {
            usleep(200 * 1000);
        }
    }
    if (got == NULL) {
        peer_dump_log(&E.br);
        fail_msg("the page did not reach Alertmanager within 30 s of the burst");
    }
    fprintf(stderr, "page in Alertmanager %.1f s after the burst began\n",
            peer_now() - burst_start());
    assert_int_equal(count, 1);
    assert_string_equal(label(got, "alertname"), "Svc0AvailCleanHighErrorRate");
    assert_string_equal(label(got, "severity"), "page");
    assert_string_equal(label(got, "sloth_severity"), "page");
    assert_string_equal(label(got, "sloth_id"), "svc-0-avail-clean");
    assert_string_equal(label(got, "sloth_service"), "svc-0");
    assert_string_equal(label(got, "sloth_slo"), "avail-clean");
    assert_string_equal(label(got, "team"), "payments");
    assert_string_equal(label(got, "scenario"), "clean");
    char want_url[160];
    snprintf(want_url, sizeof(want_url), "%s/slo/svc-0-avail-clean", E.base);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(got, "generatorURL")),
                        want_url);
    cJSON *status = cJSON_GetObjectItemCaseSensitive(got, "status");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(status, "state")),
                        "active");
    snprintf(E.am_starts_at, sizeof(E.am_starts_at), "%s",
             cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(got, "startsAt")));
    /* The other three SLOs page too (Alertmanager routes by severity). */
    const char *others[] = {"Svc0AvailRetryHighErrorRate", "Svc0AvailHangHighErrorRate",
                            "Svc0AvailCrashHighErrorRate"};
    for (int i = 0; i < 3; i++) {
        cJSON *r2 = NULL;
        int c2 = 0;
        assert_non_null(am_alert(others[i], &r2, &c2));
        assert_int_equal(c2, 1);
        cJSON_Delete(r2);
    }
    cJSON_Delete(root);

    /* The generatorURL is a page burnrate serves. */
    tu_http_result r;
    assert_int_equal(tu_http("GET", want_url, NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    tu_http_free(&r);
}

static void test_webhook_gets_the_firing_page_once_signed(void **state)
{
    (void)state;
    SKIP_WITHOUT_ALERTMANAGER();
    assert_true(wait_delivered("clean", "firing", 1, 20));
    usleep(2500 * 1000); /* group_interval is 1 s: a second page would be here by now */
    assert_int_equal(hook_count("clean", NULL, 0), 1);
    char id[64] = "";
    char sig[128] = "";
    char *body = NULL;
    pthread_mutex_lock(&S.mu);
    for (size_t i = 0; i < S.n; i++) {
        if (strcmp(S.reqs[i].path, "/clean") == 0) {
            snprintf(id, sizeof(id), "%s", S.reqs[i].id);
            snprintf(sig, sizeof(sig), "%s", S.reqs[i].signature);
            body = strdup(S.reqs[i].body);
        }
    }
    pthread_mutex_unlock(&S.mu);
    assert_non_null(body);
    uint8_t mac[BR_SHA256_SIZE];
    char hex[BR_SHA256_HEX_SIZE];
    br_hmac_sha256(HMAC_KEY, strlen(HMAC_KEY), body, strlen(body), mac);
    char want_sig[96];
    snprintf(want_sig, sizeof(want_sig), "sha256=%s", br_sha256_hex(mac, hex));
    assert_string_equal(sig, want_sig);
    assert_int_equal(strlen(id), 16);
    cJSON *j = cJSON_Parse(body);
    free(body);
    assert_non_null(j);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "version")), "4");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "receiver")),
                        "hook-clean");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "groupKey")),
                        "{}/{scenario=\"clean\"}:{alertname=\"Svc0AvailCleanHighErrorRate\", "
                        "sloth_id=\"svc-0-avail-clean\"}");
    cJSON *alerts = cJSON_GetObjectItemCaseSensitive(j, "alerts");
    assert_int_equal(cJSON_GetArraySize(alerts), 1);
    cJSON *a = cJSON_GetArrayItem(alerts, 0);
    assert_string_equal(label(a, "sloth_id"), "svc-0-avail-clean");
    assert_string_equal(label(a, "severity"), "page");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "status")),
                        "firing");
    char want_url[160];
    snprintf(want_url, sizeof(want_url), "%s/slo/svc-0-avail-clean", E.base);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "generatorURL")),
                        want_url);
    cJSON_Delete(j);
}

static void test_webhook_500s_are_retried_then_delivered_once(void **state)
{
    (void)state;
    SKIP_WITHOUT_ALERTMANAGER();
    assert_true(wait_delivered("retry", "firing", 1, 30));
    usleep(2000 * 1000);
    assert_int_equal(hook_count("retry", NULL, 500), RETRY_FAILS);
    assert_int_equal(delivered("retry", NULL), 1);
    /* Every attempt carried the same notification. */
    size_t attempts = 0;
    size_t same = 0;
    pthread_mutex_lock(&S.mu);
    const hook_req *first = NULL;
    for (size_t i = 0; i < S.n; i++) {
        const hook_req *r = &S.reqs[i];
        if (strcmp(r->path, "/retry") != 0) {
            continue;
        }
        first = first ? first : r;
        attempts++;
        same += strcmp(r->id, first->id) == 0 && strcmp(r->body, first->body) == 0 ? 1 : 0;
    }
    pthread_mutex_unlock(&S.mu);
    assert_int_equal(attempts, RETRY_FAILS + 1);
    assert_int_equal(same, attempts);
    assert_true(metric("burnrate_notifications_retried_total", "hook-retry") >= RETRY_FAILS);
    assert_true(metric("burnrate_notifications_sent_total", "hook-retry") == 1);
}

/* Arrival time of hook `scen`'s first request and of its first delivered
 * one (0 when none). */
static void hook_times(const char *scen, double *first, double *first_delivered)
{
    char path[40];
    snprintf(path, sizeof(path), "/%s", scen);
    *first = 0;
    *first_delivered = 0;
    pthread_mutex_lock(&S.mu);
    for (size_t i = 0; i < S.n; i++) {
        const hook_req *r = &S.reqs[i];
        if (strcmp(r->path, path) != 0) {
            continue;
        }
        if (*first == 0) {
            *first = r->arrived;
        }
        if (*first_delivered == 0 && r->status == 200) {
            *first_delivered = r->arrived;
        }
    }
    pthread_mutex_unlock(&S.mu);
}

static void test_webhook_hang_times_out_while_evaluation_keeps_ticking(void **state)
{
    (void)state;
    SKIP_WITHOUT_ALERTMANAGER();
    assert_true(wait_delivered("hang", "firing", 1, 40));
    usleep(1500 * 1000);
    assert_int_equal(delivered("hang", "firing"), 1);
    assert_int_equal(hook_count("hang", NULL, 503), HANG_TIMES);
    assert_true(metric("burnrate_notifications_failed_total", "hook-hang") >= HANG_TIMES);
    /* From the first held request until the delivery, each held request
     * blocking its sender for 3 s, the tick kept its 1 s pace. */
    double from = 0;
    double to = 0;
    hook_times("hang", &from, &to);
    int advances = 0;
    double max_gap = 0;
    tick_stats(from, to, &advances, &max_gap);
    fprintf(stderr,
            "hang hook: delivered %.1f s after the first held request; meanwhile eval_time "
            "advanced %d times, largest step %.0f ms\n",
            to - from, advances, max_gap);
    assert_true(to - from >= 5.5); /* two client timeouts of 3 s */
    assert_true(max_gap <= 2500);
    assert_true(advances >= (int)(to - from) - 2);
}

static void test_kill_9_with_page_queued_delivers_it_after_restart_once(void **state)
{
    (void)state;
    SKIP_WITHOUT_ALERTMANAGER();
    /* The crash hook is not listening: its page waits in the queue. */
    double deadline = peer_now() + 20;
    while (metric("burnrate_notifications_failed_total", "hook-crash") < 1 &&
           peer_now() < deadline) {
        usleep(200 * 1000);
    }
    assert_true(metric("burnrate_notifications_failed_total", "hook-crash") >= 1);
    assert_true(metric("burnrate_notification_queue_length", "hook-crash") == 1);
    assert_int_equal(hook_count("crash", NULL, 0), 0);
    if (peer_now() > burst_end() - 25) {
        fail_msg("too slow: the burst ends before the restarts can be checked");
    }

    kill_9_burnrate();
    S.crash_daemon = sink_start(S.crash_port);
    assert_non_null(S.crash_daemon);
    assert_int_equal(start_burnrate(), 0);
    assert_true(wait_delivered("crash", "firing", 1, 20));
    /* Several ticks after the restart: the restored alerts, still firing,
     * page no receiver again. */
    assert_true(wait_ticks(3, 20));
    char buf[32];
    const char *st = page_state("crash", NULL, buf, sizeof(buf));
    assert_non_null(st);
    assert_string_equal(st, "firing");
    usleep(1500 * 1000);
    for (int i = 0; i < N_SCEN; i++) {
        assert_int_equal(delivered(SCEN[i], "firing"), 1);
        assert_int_equal(delivered(SCEN[i], "resolved"), 0);
    }
    assert_int_equal(hook_count("crash", NULL, 0), 1);
    assert_true(metric("burnrate_notification_queue_length", "hook-crash") == 0);
}

static void test_second_restart_sends_nothing_again(void **state)
{
    (void)state;
    SKIP_WITHOUT_ALERTMANAGER();
    if (peer_now() > burst_end() - 12) {
        fail_msg("too slow: the burst ends before the second restart can be checked");
    }
    size_t before = hook_count("clean", NULL, 0) + hook_count("retry", NULL, 0) +
                    hook_count("hang", NULL, 0) + hook_count("crash", NULL, 0);
    char state0[64];
    char since0[64];
    assert_true(policy_of("clean", state0, sizeof(state0), since0, sizeof(since0)));
    kill_9_burnrate();
    assert_int_equal(start_burnrate(), 0);
    assert_true(wait_ticks(3, 20));
    /* The policy state's "since" survives the kill (it would otherwise be
     * the restart); a state that changed meanwhile begins after it. */
    char state1[64];
    char since1[64];
    assert_true(policy_of("clean", state1, sizeof(state1), since1, sizeof(since1)));
    fprintf(stderr, "policy state before the kill: %s since %s; after: %s since %s\n", state0,
            since0, state1, since1);
    if (strcmp(state0, state1) == 0) {
        assert_string_equal(since1, since0);
    } else {
        assert_true(strcmp(since1, since0) > 0);
    }
    usleep(1500 * 1000);
    char buf[32];
    const char *st = page_state("clean", NULL, buf, sizeof(buf));
    assert_non_null(st);
    assert_string_equal(st, "firing");
    size_t after = hook_count("clean", NULL, 0) + hook_count("retry", NULL, 0) +
                   hook_count("hang", NULL, 0) + hook_count("crash", NULL, 0);
    assert_int_equal(after, before);
    for (int i = 0; i < N_SCEN; i++) {
        assert_int_equal(delivered(SCEN[i], "firing"), 1);
    }
    /* Alertmanager got resends (idempotent): still one alert, same start. */
    cJSON *root = NULL;
    int count = 0;
    cJSON *got = am_alert("Svc0AvailCleanHighErrorRate", &root, &count);
    assert_non_null(got);
    assert_int_equal(count, 1);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(got, "startsAt")),
                        E.am_starts_at);
    cJSON_Delete(root);
}

static bool am_lacks_clean(void)
{
    cJSON *root = NULL;
    int count = 0;
    bool lacks = am_alert("Svc0AvailCleanHighErrorRate", &root, &count) == NULL && root != NULL;
    cJSON_Delete(root);
    return lacks;
}

static void test_burn_end_resolves_everywhere_exactly_once(void **state)
{
    (void)state;
    SKIP_WITHOUT_ALERTMANAGER();
    /* The short window (30 s) clears 30 s after the burst; allow 40 s more. */
    double deadline = burst_end() + 70;
    bool resolved_all = false;
    while (!resolved_all && peer_now() < deadline) {
        resolved_all = true;
        for (int i = 0; i < N_SCEN; i++) {
            resolved_all = resolved_all && delivered(SCEN[i], "resolved") >= 1;
        }
        usleep(300 * 1000);
    }
    if (!resolved_all) {
        peer_dump_log(&E.br);
        fail_msg("not every webhook got the resolved page");
    }
    fprintf(stderr, "resolved pages delivered %.1f s after the burst ended\n",
            peer_now() - burst_end());
    while (!am_lacks_clean() && peer_now() < deadline) {
        usleep(200 * 1000);
    }
    assert_true(am_lacks_clean());
    char buf[32];
    const char *st = page_state("clean", NULL, buf, sizeof(buf));
    assert_non_null(st);
    assert_string_equal(st, "inactive");
    /* Resolved alerts are re-sent for a while; webhooks hear nothing more. */
    usleep(3000 * 1000);
    for (int i = 0; i < N_SCEN; i++) {
        assert_int_equal(delivered(SCEN[i], "firing"), 1);
        assert_int_equal(delivered(SCEN[i], "resolved"), 1);
    }
    assert_int_equal(hook_count("clean", NULL, 0), 2);
    assert_int_equal(hook_count("crash", NULL, 0), 2);
    /* Every request, retries included, was signed; firing and resolved are
     * different notifications. */
    size_t bad_sigs = 0;
    size_t reused_ids = 0;
    size_t total = 0;
    pthread_mutex_lock(&S.mu);
    for (size_t i = 0; i < S.n; i++) {
        const hook_req *r = &S.reqs[i];
        uint8_t mac[BR_SHA256_SIZE];
        char hex[BR_SHA256_HEX_SIZE];
        br_hmac_sha256(HMAC_KEY, strlen(HMAC_KEY), r->body, r->body_len, mac);
        char want_sig[96];
        snprintf(want_sig, sizeof(want_sig), "sha256=%s", br_sha256_hex(mac, hex));
        bad_sigs += strcmp(r->signature, want_sig) != 0 ? 1 : 0;
        for (size_t k = 0; k < i; k++) {
            reused_ids += strcmp(S.reqs[k].path, r->path) == 0 && r->status == 200 &&
                                  S.reqs[k].status == 200 && strcmp(S.reqs[k].id, r->id) == 0
                              ? 1
                              : 0;
        }
        total++;
    }
    pthread_mutex_unlock(&S.mu);
    /* 2 per hook, plus the retry hook's 500s and the hang hook's held ones. */
    assert_int_equal(total, 2 * N_SCEN + RETRY_FAILS + HANG_TIMES);
    assert_int_equal(bad_sigs, 0);
    assert_int_equal(reused_ids, 0);
    assert_true(metric("burnrate_notifications_dropped_total", "alertmanager") == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burn_pages_alertmanager_with_the_slo_labels),
        cmocka_unit_test(test_webhook_gets_the_firing_page_once_signed),
        cmocka_unit_test(test_webhook_500s_are_retried_then_delivered_once),
        cmocka_unit_test(test_webhook_hang_times_out_while_evaluation_keeps_ticking),
        cmocka_unit_test(test_kill_9_with_page_queued_delivers_it_after_restart_once),
        cmocka_unit_test(test_second_restart_sends_nothing_again),
        cmocka_unit_test(test_burn_end_resolves_everywhere_exactly_once),
    };
    return cmocka_run_group_tests_name("alerting_e2e", tests, setup, teardown);
}
