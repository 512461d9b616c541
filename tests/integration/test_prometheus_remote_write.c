/*
 * test_prometheus_remote_write.c — a real Prometheus (Debian's 2.42)
 * scrapes targets that serve counters and histograms (burnrate's own
 * /metrics and Prometheus' own) every second and remote-writes everything
 * to a real burnrate. After a few scrapes, every series and every sample
 * Prometheus holds up to a cut-off time must be in burnrate, bit for bit
 * (compared through Prometheus' query API and burnrate's /api/v1/export),
 * and Prometheus must report no failed samples.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/helpers/peer.h"

#include <cjson/cJSON.h>
#include <math.h>

static char *dir;
static peer burnrate;
static peer prom;
static int br_port;
static int prom_port;

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    dir = tu_mkdtemp("it-prom");
    const char *bin = getenv("BURNRATE_BIN");
    if (dir == NULL || bin == NULL || access("/usr/bin/prometheus", X_OK) != 0) {
        fprintf(stderr, "needs BURNRATE_BIN and /usr/bin/prometheus\n");
        return -1;
    }
    br_port = peer_free_port();
    prom_port = peer_free_port();
    char listen[64];
    char data[600];
    char log[600];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", br_port);
    snprintf(data, sizeof(data), "%s/burnrate-data", dir);
    snprintf(log, sizeof(log), "%s/burnrate.log", dir);
    char *const br_argv[] = {(char *)bin, "serve", "--listen", listen, "--data-dir", data, NULL};
    if (peer_start(&burnrate, log, br_argv) != 0) {
        return -1;
    }
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/-/ready", br_port);
    if (!peer_wait_http(&burnrate, url, 30)) {
        peer_dump_log(&burnrate);
        return -1;
    }
    char config[2048];
    snprintf(config, sizeof(config),
             "global:\n"
             "  scrape_interval: 1s\n"
             "  evaluation_interval: 1s\n"
             "scrape_configs:\n"
             "  - job_name: burnrate\n"
             "    static_configs: [{targets: ['127.0.0.1:%d']}]\n"
             "  - job_name: prometheus\n"
             "    static_configs: [{targets: ['127.0.0.1:%d']}]\n"
             "remote_write:\n"
             "  - url: http://127.0.0.1:%d/api/v1/write\n"
             "    queue_config: {batch_send_deadline: 1s, max_samples_per_send: 500,\n"
             "                   min_backoff: 50ms, max_backoff: 1s}\n"
             "    metadata_config: {send_interval: 2s}\n",
             br_port, prom_port, br_port);
    free(tu_write_file(dir, "prometheus.yml", config));
    char cfg_flag[700];
    char tsdb_flag[700];
    char listen_flag[128];
    snprintf(cfg_flag, sizeof(cfg_flag), "--config.file=%s/prometheus.yml", dir);
    snprintf(tsdb_flag, sizeof(tsdb_flag), "--storage.tsdb.path=%s/prom-data", dir);
    snprintf(listen_flag, sizeof(listen_flag), "--web.listen-address=127.0.0.1:%d", prom_port);
    snprintf(log, sizeof(log), "%s/prometheus.log", dir);
    char *const prom_argv[] = {"/usr/bin/prometheus", cfg_flag, tsdb_flag, listen_flag, NULL};
    if (peer_start(&prom, log, prom_argv) != 0) {
        return -1;
    }
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/-/ready", prom_port);
    if (!peer_wait_http(&prom, url, 60)) {
        peer_dump_log(&prom);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    peer_stop(&prom, SIGTERM, 30);
    peer_stop(&burnrate, SIGTERM, 30);
    if (getenv("BR_KEEP_TEST_DIR") == NULL) {
        tu_rmtree(dir);
    }
    free(dir);
    curl_global_cleanup();
    return 0;
}

/* Instant query against Prometheus; returns the parsed JSON (free it). */
static cJSON *prom_query(const char *query, double at)
{
    char *esc = curl_easy_escape(NULL, query, 0);
    char url[2048];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/query?query=%s&time=%.3f", prom_port,
             esc, at);
    curl_free(esc);
    tu_http_result r;
    cJSON *j = NULL;
    if (tu_http("GET", url, NULL, 0, NULL, &r) == 0 && r.status == 200) {
        j = cJSON_Parse(r.body);
    }
    tu_http_free(&r);
    return j;
}

static double prom_scalar(const char *query)
{
    cJSON *j = prom_query(query, (double)time(NULL));
    double v = NAN;
    cJSON *res = j ? cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "result") : NULL;
    if (res != NULL && cJSON_GetArraySize(res) > 0) {
        cJSON *val = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(res, 0), "value"), 1);
        v = strtod(val->valuestring, NULL);
    } else if (res != NULL) {
        v = 0;
    }
    cJSON_Delete(j);
    return v;
}

/* A canonical text key for a label object: name="value",... sorted. */
static void labels_key(cJSON *metric, char *out, size_t size)
{
    const char *names[128];
    int n = 0;
    for (cJSON *l = metric->child; l != NULL && n < 128; l = l->next) {
        names[n++] = l->string;
    }
    for (int i = 1; i < n; i++) {
        const char *x = names[i];
        int j = i;
        while (j > 0 && strcmp(names[j - 1], x) > 0) {
            names[j] = names[j - 1];
            j--;
        }
        names[j] = x;
    }
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < n && o < size; i++) {
        o += (size_t)snprintf(out + o, size - o, "%s=\"%s\",", names[i],
                              cJSON_GetObjectItem(metric, names[i])->valuestring);
    }
}

static void test_prometheus_remote_writes_everything(void **state)
{
    (void)state;
    /* Let Prometheus scrape both targets a few times. */
    double scrape_deadline = peer_now() + 60;
    while (prom_scalar("min(count_over_time(up[5m]))") < 6 || isnan(prom_scalar("min(count_over_time(up[5m]))"))) {
        if (peer_now() > scrape_deadline) {
            peer_dump_log(&prom);
            fail_msg("Prometheus did not scrape 6 times in 60 s");
        }
        usleep(500 * 1000);
    }
    double cutoff = (double)time(NULL) - 2;
    /* Wait until Prometheus has sent everything up to the cut-off: every
     * shard flushes at least once a second (batch_send_deadline), so once
     * samples 3 s newer than the cut-off were sent, all older ones were. */
    double deadline = peer_now() + 60;
    for (;;) {
        double sent = prom_scalar("max(prometheus_remote_storage_queue_highest_sent_timestamp_seconds)");
        if (sent > cutoff + 3) {
            break;
        }
        if (peer_now() > deadline) {
            peer_dump_log(&prom);
            fail_msg("Prometheus did not send up to the cut-off (sent=%f)", sent);
        }
        usleep(500 * 1000);
    }
    cJSON *expect = prom_query("{__name__=~\".+\"}[10m]", cutoff);
    assert_non_null(expect);
    cJSON *result = cJSON_GetObjectItem(cJSON_GetObjectItem(expect, "data"), "result");
    int n_series = cJSON_GetArraySize(result);
    fprintf(stderr, "Prometheus holds %d series up to the cut-off\n", n_series);
    assert_true(n_series > 50);

    /* burnrate's raw samples up to the same cut-off. */
    char url[256];
    snprintf(url, sizeof(url),
             "http://127.0.0.1:%d/api/v1/export?match[]=%%7B__name__%%3D~%%22.%%2B%%22%%7D&end=%.3f",
             br_port, cutoff);
    tu_http_result r;
    assert_int_equal(tu_http("GET", url, NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 200);

    /* Index burnrate's export by label key. */
    size_t cap = 4096;
    char **keys = calloc(cap, sizeof(char *));
    cJSON **objs = calloc(cap, sizeof(cJSON *));
    size_t nb = 0;
    char *save = NULL;
    for (char *line = strtok_r(r.body, "\n", &save); line != NULL && nb < cap;
         line = strtok_r(NULL, "\n", &save)) {
        cJSON *o = cJSON_Parse(line);
        assert_non_null(o);
        char key[4096];
        labels_key(cJSON_GetObjectItem(o, "metric"), key, sizeof(key));
        keys[nb] = strdup(key);
        objs[nb] = o;
        nb++;
    }

    size_t compared_samples = 0;
    for (int i = 0; i < n_series; i++) {
        cJSON *s = cJSON_GetArrayItem(result, i);
        char key[4096];
        labels_key(cJSON_GetObjectItem(s, "metric"), key, sizeof(key));
        cJSON *mine = NULL;
        for (size_t k = 0; k < nb; k++) {
            if (strcmp(keys[k], key) == 0) {
                mine = objs[k];
                break;
            }
        }
        if (mine == NULL) {
            fail_msg("series missing in burnrate: {%s}", key);
        }
        /* burnrate keeps stale markers; Prometheus' range selection drops
         * them, so skip NaN-valued stale points on our side. */
        cJSON *pv = cJSON_GetObjectItem(s, "values");
        cJSON *bv = cJSON_GetObjectItem(mine, "values");
        cJSON *bt = cJSON_GetObjectItem(mine, "timestamps");
        int bi = 0;
        int nbv = cJSON_GetArraySize(bv);
        for (cJSON *p = pv->child; p != NULL; p = p->next) {
            double pts = cJSON_GetArrayItem(p, 0)->valuedouble;
            const char *pval = cJSON_GetArrayItem(p, 1)->valuestring;
            while (bi < nbv && strcmp(cJSON_GetArrayItem(bv, bi)->valuestring, "NaN") == 0 &&
                   strcmp(pval, "NaN") != 0) {
                bi++;
            }
            if (bi >= nbv) {
                fail_msg("series {%s}: burnrate lacks the sample at %.3f", key, pts);
            }
            double bts = cJSON_GetArrayItem(bt, bi)->valuedouble / 1000.0;
            const char *bval = cJSON_GetArrayItem(bv, bi)->valuestring;
            if (fabs(bts - pts) > 0.0005 || strcmp(bval, pval) != 0) {
                fail_msg("series {%s}: Prometheus has %s@%.3f, burnrate %s@%.3f", key, pval, pts,
                         bval, bts);
            }
            bi++;
            compared_samples++;
        }
    }
    fprintf(stderr, "compared %d series and %zu samples: identical\n", n_series,
            compared_samples);
    assert_true(compared_samples > (size_t)n_series * 3);
    assert_true(prom_scalar("sum(prometheus_remote_storage_samples_failed_total)") == 0);
    assert_true(prom_scalar("sum(prometheus_remote_storage_samples_dropped_total)") == 0);

    for (size_t k = 0; k < nb; k++) {
        free(keys[k]);
        cJSON_Delete(objs[k]);
    }
    free(keys);
    free(objs);
    tu_http_free(&r);
    cJSON_Delete(expect);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prometheus_remote_writes_everything),
    };
    return cmocka_run_group_tests_name("prometheus_remote_write", tests, setup, teardown);
}
