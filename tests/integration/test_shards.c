/*
 * test_shards.c — SLO sharding, an HA pair and remote write out against a
 * real Prometheus 2.42 (remote-write receiver on) and a real Alertmanager
 * 0.25 (clustering off).
 *
 * Three burnrate processes share one SLO file of four SLOs on svc-0, two
 * owned by each shard (names picked at start with br_slo_shard, so the
 * split never depends on luck): A = shard 0/2 replica a, B = shard 1/2
 * replica a, C = shard 0/2 replica b (A's HA twin). Each gets the same SLI
 * data from its own burnrate-loadgen (same seed: 10 minutes of history,
 * then live, then a 60 s burst of 60% errors on svc-0 that pages every
 * SLO), pages one Alertmanager and remote-writes its recorded series to
 * one Prometheus and one VictoriaMetrics 1.79 (external label replica=a|b,
 * never on alerts).
 *
 * Asserts: every SLO is evaluated_here on exactly one of A and B, and C
 * answers like A; slo:sli_error:ratio_rate5m of all four SLOs is queryable
 * in Prometheus and in VictoriaMetrics, shard 0's from both replicas; each SLO's page appears
 * exactly once in Alertmanager's /api/v2/alerts although A and C both sent
 * it, without a replica label. Processes are stopped by PID; everything
 * lives in a temp dir (BR_KEEP_TEST_DIR keeps it). Skipped without
 * prometheus, prometheus-alertmanager or the load generator.
 */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "rules/evaluator.h"
#include "tests/helpers/peer.h"

#include <cjson/cJSON.h>

#define ALERTMANAGER_BIN "/usr/bin/prometheus-alertmanager"
#define N_BR             3
#define N_SLO            4
#define WAIT_S           150

static struct {
    bool skip;
    char *dir;
    const char *bin;
    const char *loadgen;
    char prometheus[512];
    char victoria[512];
    peer prom;
    peer vm;
    int vm_port;
    peer am;
    peer br[N_BR];
    peer lg[N_BR];
    int prom_port;
    int am_port;
    int br_port[N_BR];
    char slo_name[N_SLO][32];
    char slo_id[N_SLO][48];
    uint32_t slo_shard[N_SLO];
} E;

static const int SHARD_OF[N_BR] = {0, 1, 0};
static const char *const REPLICA_OF[N_BR] = {"a", "a", "b"};

static bool find_on_path(const char *name, char *out, size_t size)
{
    const char *path = getenv("PATH");
    if (path == NULL) {
        path = "/usr/local/bin:/usr/bin:/bin";
    }
    while (*path != '\0') {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        snprintf(out, size, "%.*s/%s", (int)len, path, name);
        if (len > 0 && access(out, X_OK) == 0) {
            return true;
        }
        path += len;
        if (*path == ':') {
            path++;
        }
    }
    return false;
}

static cJSON *get_json(const char *url)
{
    tu_http_result r;
    cJSON *j = NULL;
    if (tu_http("GET", url, NULL, 0, NULL, &r) == 0 && r.status == 200) {
        j = cJSON_Parse(r.body);
    }
    tu_http_free(&r);
    return j;
}

static const char *str(const cJSON *o, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* Two SLO names per shard, found by the shard function itself. */
static void pick_slos(void)
{
    int per[2] = {0, 0};
    int n = 0;
    for (int i = 0; n < N_SLO && i < 1000; i++) {
        char name[32];
        char id[48];
        snprintf(name, sizeof(name), "avail-%d", i);
        snprintf(id, sizeof(id), "svc-0-%s", name);
        uint32_t s = br_slo_shard(id, 2);
        if (per[s] < 2) {
            per[s]++;
            snprintf(E.slo_name[n], sizeof(E.slo_name[n]), "%s", name);
            snprintf(E.slo_id[n], sizeof(E.slo_id[n]), "%s", id);
            E.slo_shard[n] = s;
            n++;
        }
    }
}

static char *write_slos(void)
{
    char text[8192];
    size_t off = (size_t)snprintf(text, sizeof(text), "slos:\n");
    for (int i = 0; i < N_SLO; i++) {
        off += (size_t)snprintf(
            text + off, sizeof(text) - off,
            "  - service: svc-0\n"
            "    name: %s\n"
            "    objective: 99.9%%\n"
            "    period: 1h\n"
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
            E.slo_name[i]);
    }
    return tu_write_file(E.dir, "slos.yml", text);
}

static int start_prometheus(void)
{
    E.prom_port = peer_free_port();
    free(tu_write_file(E.dir, "prometheus.yml", "global:\n  scrape_interval: 1h\n"));
    char cfg[1100];
    char tsdb[1100];
    char listen[128];
    char log[1000];
    snprintf(cfg, sizeof(cfg), "--config.file=%s/prometheus.yml", E.dir);
    snprintf(tsdb, sizeof(tsdb), "--storage.tsdb.path=%s/prom-data", E.dir);
    snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%d", E.prom_port);
    snprintf(log, sizeof(log), "%s/prometheus.log", E.dir);
    char *argv[] = {E.prometheus, cfg, tsdb, listen, "--web.enable-remote-write-receiver", NULL};
    if (peer_start(&E.prom, log, argv) != 0) {
        return -1;
    }
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/-/ready", E.prom_port);
    if (!peer_wait_http(&E.prom, url, 60)) {
        peer_dump_log(&E.prom);
        return -1;
    }
    return 0;
}

static int start_victoria(void)
{
    E.vm_port = peer_free_port();
    char data[1100];
    char listen[128];
    char log[1000];
    snprintf(data, sizeof(data), "-storageDataPath=%s/vm-data", E.dir);
    snprintf(listen, sizeof(listen), "-httpListenAddr=127.0.0.1:%d", E.vm_port);
    snprintf(log, sizeof(log), "%s/victoria.log", E.dir);
    char *argv[] = {E.victoria, data, listen, "-retentionPeriod=10y", "-loggerLevel=WARN",
                    "-search.latencyOffset=0s", NULL};
    if (peer_start(&E.vm, log, argv) != 0) {
        return -1;
    }
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/health", E.vm_port);
    if (!peer_wait_http(&E.vm, url, 60)) {
        peer_dump_log(&E.vm);
        return -1;
    }
    return 0;
}

static int start_alertmanager(void)
{
    E.am_port = peer_free_port();
    free(tu_write_file(E.dir, "am.yml",
                       "route:\n  receiver: blackhole\n  group_wait: 1s\n  group_interval: 1s\n"
                       "receivers:\n  - name: blackhole\n"));
    char cfg[1100];
    char storage[1100];
    char listen[128];
    char log[1000];
    snprintf(cfg, sizeof(cfg), "--config.file=%s/am.yml", E.dir);
    snprintf(storage, sizeof(storage), "--storage.path=%s/am-data", E.dir);
    snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%d", E.am_port);
    snprintf(log, sizeof(log), "%s/alertmanager.log", E.dir);
    char *argv[] = {ALERTMANAGER_BIN, cfg, storage, listen, "--cluster.listen-address=", NULL};
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

static int start_burnrate(int i, const char *slos)
{
    E.br_port[i] = peer_free_port();
    char text[4096];
    snprintf(text, sizeof(text),
             "evaluation:\n  interval: 1s\n"
             "storage:\n  data_dir: %s/br%d\n"
             "slos:\n  - %s\n"
             "receivers:\n"
             "  - name: alertmanager\n"
             "    type: alertmanager\n"
             "    url: http://127.0.0.1:%d\n"
             "    timeout: 5s\n"
             "remote_write_out:\n"
             "  - name: prometheus\n"
             "    url: http://127.0.0.1:%d/api/v1/write\n"
             "    timeout: 10s\n"
             "    queue: {max_samples_per_send: 500, batch_send_deadline: 1s, shards: 2}\n"
             "  - name: victoriametrics\n"
             "    url: http://127.0.0.1:%d/api/v1/write\n"
             "    timeout: 10s\n"
             "    queue: {max_samples_per_send: 500, batch_send_deadline: 1s}\n"
             "sharding:\n  replica: %s\n",
             E.dir, i, slos, E.am_port, E.prom_port, E.vm_port, REPLICA_OF[i]);
    char name[32];
    snprintf(name, sizeof(name), "br%d.yml", i);
    char *cfg = tu_write_file(E.dir, name, text);
    char listen[64];
    char log[1000];
    char idx[8];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", E.br_port[i]);
    snprintf(log, sizeof(log), "%s/burnrate%d.log", E.dir, i);
    snprintf(idx, sizeof(idx), "%d", SHARD_OF[i]);
    /* The shard comes from the flags (the replica from the config). */
    char *argv[] = {(char *)E.bin,  "serve", "--config",      cfg, "--listen", listen,
                    "--shard-index", idx,    "--shard-count", "2", NULL};
    int rc = peer_start(&E.br[i], log, argv);
    free(cfg);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/-/ready", E.br_port[i]);
    if (rc != 0 || !peer_wait_http(&E.br[i], url, 60)) {
        peer_dump_log(&E.br[i]);
        return -1;
    }
    return 0;
}

static int start_loadgen(int i)
{
    char url[128];
    char log[1000];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/write", E.br_port[i]);
    snprintf(log, sizeof(log), "%s/loadgen%d.log", E.dir, i);
    /* clang-format off */
    char *argv[] = {(char *)E.loadgen, "--url", url, "--services", "2", "--endpoints", "2",
                    "--interval", "1s", "--backfill", "10m", "--live",
                    "--incident", "10m5s:60s:0.6", "--incident-service", "0",
                    "--seed", "11", "--quiet", NULL};
    /* clang-format on */
    return peer_start(&E.lg[i], log, argv);
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < N_BR; i++) {
        if (E.lg[i].pid > 0) {
            peer_stop(&E.lg[i], SIGTERM, 10);
        }
    }
    for (int i = 0; i < N_BR; i++) {
        if (E.br[i].pid > 0) {
            peer_stop(&E.br[i], SIGTERM, 20);
        }
    }
    if (E.am.pid > 0) {
        peer_stop(&E.am, SIGTERM, 10);
    }
    if (E.prom.pid > 0) {
        peer_stop(&E.prom, SIGTERM, 20);
    }
    if (E.vm.pid > 0) {
        peer_stop(&E.vm, SIGTERM, 20);
    }
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

static int setup(void **state)
{
    memset(&E, 0, sizeof(E));
    E.bin = getenv("BURNRATE_BIN");
    E.loadgen = getenv("BURNRATE_LOADGEN");
    if (E.bin == NULL || access(E.bin, X_OK) != 0 || E.loadgen == NULL ||
        access(E.loadgen, X_OK) != 0) {
        fprintf(stderr, "skipping: needs BURNRATE_BIN and BURNRATE_LOADGEN\n");
        E.skip = true;
        return 0;
    }
    if (!find_on_path("prometheus", E.prometheus, sizeof(E.prometheus)) ||
        !find_on_path("victoria-metrics", E.victoria, sizeof(E.victoria)) ||
        access(ALERTMANAGER_BIN, X_OK) != 0) {
        fprintf(stderr, "skipping: needs prometheus, victoria-metrics and %s\n",
                ALERTMANAGER_BIN);
        E.skip = true;
        return 0;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    E.dir = tu_mkdtemp("it-shards");
    pick_slos();
    char *slos = write_slos();
    int rc = start_prometheus();
    if (rc == 0) {
        rc = start_victoria();
    }
    if (rc == 0) {
        rc = start_alertmanager();
    }
    for (int i = 0; rc == 0 && i < N_BR; i++) {
        rc = start_burnrate(i, slos);
    }
    for (int i = 0; rc == 0 && i < N_BR; i++) {
        rc = start_loadgen(i);
    }
    free(slos);
    if (rc != 0) {
        teardown(state);
        return -1;
    }
    return 0;
}

#define SKIP_IF_NEEDED()                                                                           \
    do {                                                                                           \
        if (E.skip) {                                                                              \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* evaluated_here and shard of one SLO on instance i; -1 when absent. */
static int slo_row(int i, const char *id, int *shard)
{
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/slos/%s", E.br_port[i], id);
    cJSON *j = get_json(url);
    cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "data");
    int here = -1;
    if (d != NULL) {
        here = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "evaluated_here"));
        *shard = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(d, "shard"));
    }
    cJSON_Delete(j);
    return here;
}

static void test_every_slo_is_evaluated_by_exactly_one_shard(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    /* The first evaluation ends within a second or two of start-up. */
    double deadline = peer_now() + 30;
    int shard = -1;
    while (slo_row(1, E.slo_id[0], &shard) < 0 && peer_now() < deadline) {
        usleep(200 * 1000);
    }
    for (int s = 0; s < N_SLO; s++) {
        int here[N_BR];
        for (int i = 0; i < N_BR; i++) {
            int sh = -1;
            here[i] = slo_row(i, E.slo_id[s], &sh);
            assert_true(here[i] >= 0);
            assert_int_equal(sh, (int)E.slo_shard[s]);
        }
        assert_int_equal(here[0] + here[1], 1);
        assert_int_equal(here[2], here[0]); /* the HA twin evaluates what A does */
        assert_int_equal(here[E.slo_shard[s]], 1);
    }
}

/* Series of slo:sli_error:ratio_rate5m for id in Prometheus, by replica. */
/* Series of one SLO's slo:sli_error:ratio_rate5m in the store on port
 * (Prometheus or VictoriaMetrics: the same query API). */
static int stored_series(int port, const char *id, bool *replica_a, bool *replica_b)
{
    char url[512];
    snprintf(url, sizeof(url),
             "http://127.0.0.1:%d/api/v1/query?query=slo%%3Asli_error%%3Aratio_rate5m"
             "%%7Bsloth_id%%3D%%22%s%%22%%7D",
             port, id);
    cJSON *j = get_json(url);
    cJSON *res = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "data"),
                                                  "result");
    int n = 0;
    *replica_a = false;
    *replica_b = false;
    cJSON *row = NULL;
    cJSON_ArrayForEach(row, res)
    {
        const char *r = str(cJSON_GetObjectItemCaseSensitive(row, "metric"), "replica");
        *replica_a = *replica_a || (r != NULL && strcmp(r, "a") == 0);
        *replica_b = *replica_b || (r != NULL && strcmp(r, "b") == 0);
        n++;
    }
    cJSON_Delete(j);
    return n;
}

/* Waits until every SLO's recorded series is in the store on port, then
 * checks the replicas: shard 0's from both members of the HA pair. */
static void expect_recorded_series(const char *store, int port)
{
    double deadline = peer_now() + 60;
    bool all = false;
    while (!all && peer_now() < deadline) {
        all = true;
        for (int s = 0; s < N_SLO; s++) {
            bool a;
            bool b;
            int n = stored_series(port, E.slo_id[s], &a, &b);
            all = all && n == (E.slo_shard[s] == 0 ? 2 : 1);
        }
        if (!all) {
            usleep(500 * 1000);
        }
    }
    for (int s = 0; s < N_SLO; s++) {
        bool a;
        bool b;
        int n = stored_series(port, E.slo_id[s], &a, &b);
        fprintf(stderr, "%s (shard %u): %d series in %s\n", E.slo_id[s], E.slo_shard[s], n,
                store);
        assert_true(a); /* A or B, both replica a */
        assert_int_equal(b, E.slo_shard[s] == 0);
        assert_int_equal(n, E.slo_shard[s] == 0 ? 2 : 1);
    }
}

static void test_recorded_series_of_both_shards_are_queryable_in_prometheus(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    expect_recorded_series("Prometheus", E.prom_port);
}

static void test_recorded_series_of_both_shards_are_queryable_in_victoriametrics(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    expect_recorded_series("VictoriaMetrics", E.vm_port);
}

/* Firing page alerts in Alertmanager per SLO; sets *replica when one
 * carries a replica label. */
static void am_pages(int counts[N_SLO], bool *replica)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v2/alerts", E.am_port);
    cJSON *j = get_json(url);
    for (int s = 0; s < N_SLO; s++) {
        counts[s] = 0;
    }
    cJSON *a = NULL;
    cJSON_ArrayForEach(a, j)
    {
        cJSON *labels = cJSON_GetObjectItemCaseSensitive(a, "labels");
        const char *id = str(labels, "sloth_id");
        const char *sev = str(labels, "severity");
        if (str(labels, "replica") != NULL) {
            *replica = true;
        }
        for (int s = 0; s < N_SLO; s++) {
            if (id != NULL && sev != NULL && strcmp(id, E.slo_id[s]) == 0 &&
                strcmp(sev, "page") == 0) {
                counts[s]++;
            }
        }
    }
    cJSON_Delete(j);
}

static void test_page_appears_once_per_slo_in_alertmanager(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    double deadline = peer_now() + WAIT_S;
    int counts[N_SLO];
    bool replica = false;
    bool all = false;
    while (!all && peer_now() < deadline) {
        am_pages(counts, &replica);
        all = true;
        for (int s = 0; s < N_SLO; s++) {
            all = all && counts[s] > 0;
        }
        if (!all) {
            usleep(500 * 1000);
        }
    }
    /* Let the HA twin's copies arrive too, then count again. */
    sleep(3);
    am_pages(counts, &replica);
    for (int s = 0; s < N_SLO; s++) {
        fprintf(stderr, "%s (shard %u): %d page alert(s) in Alertmanager\n", E.slo_id[s],
                E.slo_shard[s], counts[s]);
        assert_int_equal(counts[s], 1);
    }
    assert_false(replica);
    /* Both members of the HA pair did send: each counts its own pages. */
    for (int i = 0; i < N_BR; i++) {
        char url[128];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", E.br_port[i]);
        tu_http_result r;
        assert_int_equal(tu_http("GET", url, NULL, 0, NULL, &r), 0);
        assert_non_null(strstr(r.body, "burnrate_remote_write_out_samples_sent_total{"
                                       "remote_name=\"prometheus\""));
        const char *sent = strstr(r.body, "\nburnrate_notifications_sent_total{");
        assert_non_null(sent);
        const char *val = strchr(sent, '}');
        assert_non_null(val);
        fprintf(stderr, "burnrate %d (shard %d, replica %s): %.0f notifications sent\n", i,
                SHARD_OF[i], REPLICA_OF[i], atof(val + 1));
        assert_true(atof(val + 1) > 0);
        tu_http_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_slo_is_evaluated_by_exactly_one_shard),
        cmocka_unit_test(test_recorded_series_of_both_shards_are_queryable_in_prometheus),
        cmocka_unit_test(test_recorded_series_of_both_shards_are_queryable_in_victoriametrics),
        cmocka_unit_test(test_page_appears_once_per_slo_in_alertmanager),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
