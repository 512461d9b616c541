/*
 * app.c — process lifecycle. See app.h.
 */
#include "app.h"

#include "api/admin_api.h"
#include "api/annotations.h"
#include "api/budget_api.h"
#include "api/metrics.h"
#include "api/query_api.h"
#include "api/remote_write.h"
#include "api/rules_api.h"
#include "api/slo_api.h"
#include "api/status_api.h"
#include "api/server.h"
#include "engine/core/addr.h"
#include "engine/core/alloc.h"
#include "engine/core/clock.h"
#include "engine/core/log.h"
#include "engine/promql/backend_remote.h"
#include "engine/rw_out.h"
#include "rules/alert.h"
#include "rules/evaluator.h"
#include "rules/policy_state.h"
#include "rules/slo.h"
#include "storage/head.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* How often the housekeeping thread looks at the TLS files. */
#define TLS_WATCH_MS 5000

typedef struct config_ref {
    atomic_int refs;
    br_config cfg;
} config_ref;

struct br_app {
    br_app_options opts;
    pthread_mutex_t cfg_mu;   /* guards `current` (the pointer, not the config) */
    config_ref *current;
    br_metrics *metrics;
    br_admin_api admin;
    br_http_server *http;
    br_head *head;
    br_remote_write_api *remote_write;
    br_query_api query;
    br_status_info status;
    const char *flag_pairs[16];
    atomic_bool last_reload_ok;
    _Atomic int64_t last_reload_ms;
    pthread_t gc_thread;
    bool gc_running;
    pthread_mutex_t gc_mu;  /* guards gc_stop */
    pthread_cond_t gc_cv;
    bool gc_stop;
    int64_t start_ms;
    br_counter *reloads_ok;
    br_counter *reloads_failed;
    br_gauge *reload_success;
    br_gauge *reload_time;
    br_slo_set *slos;          /* the running SLO set; swapped on reload */
    br_evaluator *evaluator;
    br_alerting *alerting;     /* alert state and notifications */
    br_policy_store *policy_store; /* <data_dir>/evaluator/policy.state; after the evaluator */
    pthread_mutex_t reload_mu;     /* one configuration reload at a time */
    atomic_bool started;           /* everything up: housekeeping may use http and reload */
    char *external_url;
    br_slo_source slo_source;  /* the evaluator seen by the HTTP layer */
    br_budget_api budget;
    br_counter *recorded_rejected;
    /* SLOs managed over the API and annotations (wiring below, "API-managed
     * SLOs and annotations"). slo_mu serialises building and swapping the
     * SLO set (reloads and API changes) and guards `slos`. */
    pthread_mutex_t slo_mu;
    char *slo_dir;             /* <data_dir>/slos, fixed at start */
    br_slo_api *slo_api;
    br_annotations *annotations;
    br_annotations_api annotations_api;
    br_remote *remote_backend; /* backend.type prometheus; NULL = embedded */
    /* Remote write out (rw_out.h): one sender per remote_write_out entry,
     * fed with the recorded series. Fixed at start-up (reload warns). */
    br_rw_out **rw_out;
    size_t n_rw_out;
};

static br_slo_set *build_slo_set(br_app *app, const br_config *cfg, br_err *err);

int br_app_load_config(const br_app_options *opts, br_config *out, br_err *err)
{
    br_config_init(out);
    int rc = 0;
    if (opts->config_file != NULL) {
        rc = br_config_load(out, opts->config_file, err);
    }
    if (rc == 0) {
        rc = br_config_apply_flags(out, &opts->flags, err);
    }
    if (rc == 0) {
        rc = br_config_load_secrets(out, err);
    }
    if (rc != 0) {
        br_config_free(out);
    }
    return rc;
}

static void config_put(config_ref *ref)
{
    if (ref != NULL && atomic_fetch_sub(&ref->refs, 1) == 1) {
        br_config_free(&ref->cfg);
        br_free(ref);
    }
}

static config_ref *config_get(br_app *app)
{
    pthread_mutex_lock(&app->cfg_mu);
    config_ref *ref = app->current;
    atomic_fetch_add(&ref->refs, 1);
    pthread_mutex_unlock(&app->cfg_mu);
    return ref;
}

/* Routes where reads and changes share a path (see slo_api.h,
 * annotations.h). */
static bool managed_path(const char *path)
{
    return strncmp(path, "/api/v1/slos/", 13) == 0 || strcmp(path, "/api/v1/annotations") == 0 ||
           strncmp(path, "/api/v1/annotations/", 20) == 0;
}

/* --- auth wiring (api/auth.h): the running config's checker decides;
 * a reload swaps in a new checker with the config. The managed SLO and
 * annotation routes (read group) also let in the write and admin groups'
 * credentials: their handlers decide who may change what. --- */
static void authorize(void *ctx, const char *path, const char *authorization,
                      br_auth_verdict *out)
{
    br_app *app = ctx;
    config_ref *ref = config_get(app);
    br_auth *checker = ref->cfg.auth.checker;
    br_auth_check(checker, path, authorization, out);
    if (out->status == 401 && managed_path(path) &&
        (br_auth_credentials_of(checker, BR_AUTH_WRITE, authorization, NULL, 0) ||
         br_auth_credentials_of(checker, BR_AUTH_ADMIN, authorization, NULL, 0))) {
        br_auth_group group = out->group;
        memset(out, 0, sizeof(*out));
        out->group = group;
        out->result = BR_AUTH_ALLOWED;
    }
    config_put(ref);
}

/* limits.max_slos: a set larger than the limit is refused like a bad file. */
static int check_max_slos(const br_config *cfg, const br_slo_set *slos, br_err *err)
{
    size_t n = br_slo_set_len(slos);
    if ((int64_t)n > cfg->limits.max_slos) {
        return br_err_set(err, BR_ELIMIT,
                          "the SLO files define %zu SLOs, more than limits.max_slos (%lld); "
                          "raise the limit or split the SLOs across instances",
                          n, (long long)cfg->limits.max_slos);
    }
    return 0;
}
/* --- end auth wiring --- */

static bool same_opt_str(const char *a, const char *b)
{
    return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* True when the receivers (or what alert links are built from) differ:
 * the running notifier copied them at start-up and keeps them until a
 * restart, so a reload must say so rather than appear to apply them. */
static bool alerting_config_changed(const br_config *a, const br_config *b)
{
    if (a->n_receivers != b->n_receivers || !same_opt_str(a->external_url, b->external_url)) {
        return true;
    }
    for (size_t i = 0; i < a->n_receivers; i++) {
        const br_receiver_config *x = &a->receivers[i];
        const br_receiver_config *y = &b->receivers[i];
        if (!same_opt_str(x->name, y->name) || x->kind != y->kind ||
            !same_opt_str(x->url, y->url) ||
            !same_opt_str(x->bearer_token_file, y->bearer_token_file) ||
            !same_opt_str(x->hmac_secret_file, y->hmac_secret_file) ||
            x->timeout_ms != y->timeout_ms || x->n_match != y->n_match ||
            x->n_group_by != y->n_group_by || x->group_wait_ms != y->group_wait_ms ||
            x->group_interval_ms != y->group_interval_ms ||
            x->repeat_interval_ms != y->repeat_interval_ms) {
            return true;
        }
        for (size_t k = 0; k < x->n_match; k++) {
            if (!same_opt_str(x->match[k].name, y->match[k].name) ||
                !same_opt_str(x->match[k].value, y->match[k].value)) {
                return true;
            }
        }
        for (size_t k = 0; k < x->n_group_by; k++) {
            if (!same_opt_str(x->group_by[k], y->group_by[k])) {
                return true;
            }
        }
    }
    return false;
}

static int app_reload_locked(br_app *app, br_err *err);

/* Identity of one file as stat sees it (0s when it cannot be read). */
typedef struct file_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    int64_t mtime_ns;
} file_id;

static file_id file_id_of(const char *path)
{
    file_id id;
    memset(&id, 0, sizeof(id));
    struct stat st;
    if (path != NULL && stat(path, &st) == 0) {
        id.dev = st.st_dev;
        id.ino = st.st_ino;
        id.size = st.st_size;
        id.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    }
    return id;
}

/* The TLS files' identities now (certificate, key, client CA). */
static void tls_files_now(br_app *app, file_id out[3])
{
    config_ref *ref = config_get(app);
    out[0] = file_id_of(ref->cfg.tls.cert_file);
    out[1] = file_id_of(ref->cfg.tls.key_file);
    out[2] = file_id_of(ref->cfg.tls.client_ca_file);
    config_put(ref);
}

int br_app_reload(br_app *app, br_err *err)
{
    pthread_mutex_lock(&app->reload_mu);
    int rc = app_reload_locked(app, err);
    pthread_mutex_unlock(&app->reload_mu);
    return rc;
}

static int app_reload_locked(br_app *app, br_err *err)
{
    config_ref *fresh = br_calloc(1, sizeof(*fresh));
    int rc = br_app_load_config(&app->opts, &fresh->cfg, err);
    if (rc != 0) {
        br_free(fresh);
        br_counter_inc(app->reloads_failed);
        br_gauge_set(app->reload_success, 0);
        atomic_store(&app->last_reload_ok, false);
        char msg[600];
        br_log_error("config reload failed; keeping the running configuration", "err=\"%s\"",
                     br_err_format(err, msg, sizeof(msg)));
        return rc;
    }
    pthread_mutex_lock(&app->slo_mu);
    br_slo_set *slos = build_slo_set(app, &fresh->cfg, err);
    if (slos != NULL && check_max_slos(&fresh->cfg, slos, err) != 0) {
        br_slo_set_unref(slos);
        slos = NULL;
    }
    if (slos == NULL) {
        pthread_mutex_unlock(&app->slo_mu);
        br_config_free(&fresh->cfg);
        br_free(fresh);
        br_counter_inc(app->reloads_failed);
        br_gauge_set(app->reload_success, 0);
        atomic_store(&app->last_reload_ok, false);
        char msg[600];
        br_log_error("SLO reload failed; keeping the running SLOs", "err=\"%s\"",
                     br_err_format(err, msg, sizeof(msg)));
        return BR_EINVAL;
    }
    if (app->evaluator != NULL) {
        br_evaluator_set_slos(app->evaluator, slos);
    }
    br_slo_set_unref(app->slos);
    app->slos = slos;
    pthread_mutex_unlock(&app->slo_mu);
    br_log_info("SLOs loaded", "definitions=%zu", br_slo_set_len(slos));
    atomic_store(&fresh->refs, 1);
    config_ref *old = config_get(app);
    if (strcmp(old->cfg.listen, fresh->cfg.listen) != 0 ||
        strcmp(old->cfg.data_dir, fresh->cfg.data_dir) != 0) {
        br_log_warn("listen address and data dir changes take effect after a restart", NULL);
    }
    if (old->cfg.n_rw_out != fresh->cfg.n_rw_out || old->cfg.shard_index != fresh->cfg.shard_index ||
        old->cfg.shard_count != fresh->cfg.shard_count ||
        !same_opt_str(old->cfg.replica, fresh->cfg.replica)) {
        br_log_warn("remote_write_out and sharding changes take effect after a restart", NULL);
    }
    if (alerting_config_changed(&old->cfg, &fresh->cfg)) {
        br_log_warn("receivers and external_url changes take effect after a restart", NULL);
    }
    /* TLS: new certificate, key or client CA contents take effect now
     * (renewed certificates); turning TLS or client certificates on or
     * off needs a restart. */
    if (app->http != NULL && (old->cfg.tls.cert_pem != NULL || fresh->cfg.tls.cert_pem != NULL)) {
        br_err terr;
        br_err_clear(&terr);
        if (br_http_server_set_tls(app->http, fresh->cfg.tls.cert_pem, fresh->cfg.tls.key_pem,
                                   fresh->cfg.tls.client_ca_pem, &terr) != 0) {
            br_log_error("TLS material not changed", "err=\"%s\"", terr.msg);
        }
    }
    config_put(old);
    br_log_set_level(fresh->cfg.log_level);
    pthread_mutex_lock(&app->cfg_mu);
    old = app->current;
    app->current = fresh;
    pthread_mutex_unlock(&app->cfg_mu);
    config_put(old);
    br_counter_inc(app->reloads_ok);
    br_gauge_set(app->reload_success, 1);
    atomic_store(&app->last_reload_ok, true);
    atomic_store(&app->last_reload_ms, br_now_ms());
    br_gauge_set(app->reload_time, (double)br_now_ms() / 1000.0);
    br_log_info("configuration reloaded", NULL);
    return 0;
}

static int reload_cb(void *ctx, br_err *err)
{
    return br_app_reload(ctx, err);
}

static double uptime_start(void *ctx)
{
    br_app *app = ctx;
    return (double)app->start_ms / 1000.0;
}

static double heap_bytes(void *ctx)
{
    (void)ctx;
    return (double)br_alloc_bytes();
}

static double resident_bytes(void *ctx)
{
    (void)ctx;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL) {
        return 0;
    }
    long pages_total = 0;
    long pages_rss = 0;
    int n = fscanf(f, "%ld %ld", &pages_total, &pages_rss);
    fclose(f);
    if (n != 2) {
        return 0;
    }
    return (double)pages_rss * (double)sysconf(_SC_PAGESIZE);
}

static void register_process_metrics(br_app *app)
{
    br_metrics *m = app->metrics;
    br_metrics_gauge_func(m, "process_start_time_seconds",
                          "Start time of the process since unix epoch in seconds.", "",
                          uptime_start, app);
    br_metrics_gauge_func(m, "process_resident_memory_bytes", "Resident memory size in bytes.",
                          "", resident_bytes, NULL);
    br_metrics_gauge_func(m, "burnrate_heap_bytes",
                          "Bytes currently allocated by burnrate on the heap.", "", heap_bytes,
                          NULL);
    br_gauge *info = br_metrics_gauge(m, "burnrate_build_info", "Build information.",
                                      "version=\"" BR_VERSION "\"");
    br_gauge_set(info, 1);
    app->reloads_ok = br_metrics_counter(m, "burnrate_config_reloads_total",
                                         "Configuration reloads by result.", "result=\"success\"");
    app->reloads_failed = br_metrics_counter(m, "burnrate_config_reloads_total",
                                             "Configuration reloads by result.",
                                             "result=\"failure\"");
    app->reload_success = br_metrics_gauge(m, "burnrate_config_last_reload_successful",
                                           "Whether the last configuration reload succeeded.", "");
    app->reload_time = br_metrics_gauge(m, "burnrate_config_last_reload_success_timestamp_seconds",
                                        "Time of the last successful configuration load.", "");
}

static void remote_write_settings(void *ctx, br_remote_write_settings *out)
{
    br_app *app = ctx;
    config_ref *ref = config_get(app);
    const br_limits_config *l = &ref->cfg.limits;
    out->max_decompressed_bytes = (size_t)l->max_decompressed_bytes;
    out->max_series_per_request = (size_t)l->max_series_per_request;
    out->max_samples_per_request = (size_t)l->max_samples_per_request;
    out->max_labels_per_series = (size_t)l->max_labels_per_series;
    out->max_label_name_length = (size_t)l->max_label_name_length;
    out->max_label_value_length = (size_t)l->max_label_value_length;
    out->max_inflight_bytes = (size_t)l->max_inflight_write_bytes;
    snprintf(out->tenant_header, sizeof(out->tenant_header), "%s",
             ref->cfg.tenant_header ? ref->cfg.tenant_header : "");
    snprintf(out->tenant_label, sizeof(out->tenant_label), "%s", ref->cfg.tenant_label);
    config_put(ref);
}

static void query_options(void *ctx, br_promql_options *out)
{
    br_app *app = ctx;
    config_ref *ref = config_get(app);
    out->compat = ref->cfg.promql_compat ? BR_PROMQL_COMPAT_V2 : BR_PROMQL_COMPAT_V3;
    out->timeout_ms = ref->cfg.query_timeout_ms;
    out->max_samples = (size_t)ref->cfg.query_max_samples;
    out->lookback_ms = ref->cfg.lookback_delta_ms;
    config_put(ref);
}

static void status_current(void *ctx, bool *reload_ok, int64_t *last_reload_ms, char *config_file,
                           size_t config_file_size, char *retention, size_t retention_size)
{
    br_app *app = ctx;
    *reload_ok = atomic_load(&app->last_reload_ok);
    *last_reload_ms = atomic_load(&app->last_reload_ms);
    config_ref *ref = config_get(app);
    snprintf(config_file, config_file_size, "%s",
             ref->cfg.source_file ? ref->cfg.source_file : "");
    br_format_duration(ref->cfg.retention_ms, retention, retention_size);
    config_put(ref);
}

/* Renders the head's statistics (memory accounting included) at scrape. */
static void head_collector(void *ctx, br_buf *out)
{
    br_app *app = ctx;
    br_head_stats st;
    br_head_stats_get(app->head, &st);
    double bytes_per_sample = st.samples ? (double)st.chunk_bytes / (double)st.samples : 0;
    double bytes_per_series =
        st.series ? (double)(st.chunk_bytes + st.series_bytes) / (double)st.series : 0;
    static const struct {
        const char *name;
        const char *type;
        const char *help;
    } rows[] = {
        {"burnrate_head_series", "gauge", "Series held in memory."},
        {"burnrate_head_chunks", "gauge", "Compressed chunks held in memory."},
        {"burnrate_head_chunk_bytes", "gauge", "Bytes held by compressed chunks."},
        {"burnrate_head_series_bytes", "gauge", "Bytes of per-series bookkeeping and tables."},
        {"burnrate_head_samples", "gauge", "Samples held in memory."},
        {"burnrate_head_bytes_per_sample", "gauge", "Chunk bytes per sample held."},
        {"burnrate_head_bytes_per_series", "gauge", "Chunk and bookkeeping bytes per series."},
        {"burnrate_head_samples_appended_total", "counter",
         "Samples appended since start, WAL replay included."},
        {"burnrate_head_series_removed_total", "counter", "Series dropped by retention."},
        {"burnrate_head_min_time_seconds", "gauge", "Oldest sample held (0 when empty)."},
        {"burnrate_head_max_time_seconds", "gauge", "Newest sample held (0 when empty)."},
        {"burnrate_wal_replay_duration_seconds", "gauge", "How long start-up WAL replay took."},
        {"burnrate_wal_torn_tails_repaired", "gauge", "Torn WAL tails found at start-up."},
        {"burnrate_wal_corrupt_records", "gauge", "Corrupt WAL records found at start-up."},
        {"burnrate_snapshot_duration_seconds", "gauge", "How long the last head snapshot took."},
        {"burnrate_snapshots_written_total", "counter", "Head snapshots written."},
        {"burnrate_snapshots_failed_total", "counter", "Head snapshots that failed."},
        {"burnrate_snapshot_series_loaded", "gauge", "Series read from the snapshot at start-up."},
        {"burnrate_wal_since_snapshot_bytes", "gauge",
         "WAL bytes a restart after a crash would replay on top of the newest snapshot."},
    };
    const double values[] = {
        (double)st.series,
        (double)st.chunks,
        (double)st.chunk_bytes,
        (double)st.series_bytes,
        (double)st.samples,
        bytes_per_sample,
        bytes_per_series,
        (double)st.samples_appended,
        (double)st.series_removed,
        st.samples ? (double)st.min_t / 1000.0 : 0,
        st.samples ? (double)st.max_t / 1000.0 : 0,
        (double)st.replay_ms / 1000.0,
        (double)st.wal_torn_tails,
        (double)st.wal_corrupt_records,
        (double)st.snapshot_ms / 1000.0,
        (double)st.snapshots_written,
        (double)st.snapshots_failed,
        (double)st.snapshot_series_loaded,
        (double)br_head_wal_since_snapshot(app->head),
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        br_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s ", rows[i].name, rows[i].help,
                      rows[i].name, rows[i].type, rows[i].name);
        br_metrics_format_value(out, values[i]);
        br_buf_putc(out, '\n');
    }
}

/* Recorded SLO series go into the store like remote-written samples
 * (durable through the WAL); rejections (e.g. a clock step back) are
 * counted, not fatal. */
static int append_recorded(void *ctx, const br_series_input *in, size_t n, br_err *err)
{
    br_app *app = ctx;
    br_commit_result res;
    /* Derived: replayed history must not look like late SLI data. */
    int rc = br_head_commit_flags(app->head, in, n, BR_COMMIT_DERIVED, &res, err);
    if (rc == 0 && br_commit_rejected(&res) > 0) {
        br_counter_add(app->recorded_rejected, br_commit_rejected(&res));
    }
    /* ---- remote write out: the same series go to every endpoint's queue;
     * a full or failing queue is counted and logged there, and does not
     * fail the local write. */
    for (size_t i = 0; i < app->n_rw_out; i++) {
        br_err qerr;
        br_err_clear(&qerr);
        if (br_rw_out_append(app->rw_out[i], in, n, &qerr) != 0) {
            br_log_warn("remote write out: batch not queued", "remote_name=%s err=\"%s\"",
                        br_rw_out_name(app->rw_out[i]), qerr.msg);
        }
    }
    return rc;
}

static void rw_out_collector(void *ctx, br_buf *out)
{
    br_app *app = ctx;
    br_rw_out_render_metrics(app->rw_out, app->n_rw_out, out);
}

/* ---- remote write out: opens one sender per remote_write_out entry. The
 * replica (sharding.replica) is an external label of the sent series only;
 * alerts never carry it, so an HA pair's pages are identical and
 * Alertmanager deduplicates them. */
static int open_rw_out(br_app *app, const br_config *cfg, br_err *err)
{
    if (cfg->n_rw_out == 0) {
        return 0;
    }
    app->rw_out = br_calloc(cfg->n_rw_out, sizeof(*app->rw_out));
    br_label ext = {cfg->replica_label, cfg->replica};
    for (size_t i = 0; i < cfg->n_rw_out; i++) {
        br_rw_out_options o = {
            .cfg = &cfg->rw_out[i],
            .data_dir = cfg->data_dir,
            .external_labels = &ext,
            .n_external_labels = cfg->replica != NULL ? 1 : 0,
            .fsync = cfg->fsync_policy,
        };
        app->rw_out[i] = br_rw_out_open(&o, err);
        if (app->rw_out[i] == NULL) {
            return err->code != 0 ? err->code : BR_EIO;
        }
        app->n_rw_out = i + 1;
        br_log_info("remote write out started", "remote_name=%s url=%s shards=%lld",
                    cfg->rw_out[i].name, cfg->rw_out[i].url, (long long)cfg->rw_out[i].shards);
    }
    br_metrics_collector_add(app->metrics, rw_out_collector, app);
    return 0;
}

/* Evaluator state in /metrics: SLO count, last tick time and duration. */
static void evaluator_collector(void *ctx, br_buf *out)
{
    br_app *app = ctx;
    br_slo_snapshot *snap = app->evaluator ? br_evaluator_snapshot(app->evaluator) : NULL;
    size_t defs = app->slos ? br_slo_set_len(app->slos) : 0;
    br_buf_printf(out,
                  "# HELP burnrate_slo_definitions SLO definitions loaded.\n"
                  "# TYPE burnrate_slo_definitions gauge\nburnrate_slo_definitions %zu\n",
                  defs);
    if (snap != NULL) {
        br_buf_printf(out,
                      "# HELP burnrate_slo_instances SLO instances evaluated (after grouping).\n"
                      "# TYPE burnrate_slo_instances gauge\nburnrate_slo_instances %zu\n"
                      "# HELP burnrate_evaluation_duration_seconds Duration of the last tick.\n"
                      "# TYPE burnrate_evaluation_duration_seconds gauge\n"
                      "burnrate_evaluation_duration_seconds %.6f\n"
                      "# HELP burnrate_evaluation_last_timestamp_seconds Time of the last tick.\n"
                      "# TYPE burnrate_evaluation_last_timestamp_seconds gauge\n"
                      "burnrate_evaluation_last_timestamp_seconds %.3f\n"
                      "# HELP burnrate_evaluations_total Evaluation ticks since start.\n"
                      "# TYPE burnrate_evaluations_total counter\n"
                      "burnrate_evaluations_total %llu\n"
                      "# HELP burnrate_evaluation_full_recounts_total SLOs recounted from raw "
                      "data (first tick, hourly resync spread over the hour, late data).\n"
                      "# TYPE burnrate_evaluation_full_recounts_total counter\n"
                      "burnrate_evaluation_full_recounts_total %llu\n",
                      snap->n_slos, (double)snap->eval_duration_us / 1e6,
                      (double)snap->eval_time_ms / 1000.0, (unsigned long long)snap->tick,
                      (unsigned long long)snap->full_recounts_total);
        size_t errors = 0;
        for (size_t i = 0; i < snap->n_slos; i++) {
            errors += snap->slos[i].error != NULL;
        }
        br_buf_printf(out,
                      "# HELP burnrate_slo_evaluation_errors SLO instances whose last "
                      "evaluation failed.\n# TYPE burnrate_slo_evaluation_errors gauge\n"
                      "burnrate_slo_evaluation_errors %zu\n",
                      errors);
        br_slo_snapshot_unref(snap);
    }
}

/* Housekeeping: one bounded retention step per second, so appends never
 * stall behind it, and a head snapshot every snapshot_interval, or sooner
 * once the WAL since the last one passes snapshot_wal_size (and that
 * snapshot's own size): a large backfill then does not leave a crash
 * restart replaying all of it. */
static void *gc_main(void *arg)
{
    br_app *app = arg;
    config_ref *ref = config_get(app);
    int64_t interval = ref->cfg.snapshot_interval_ms;
    uint64_t wal_trigger = (uint64_t)ref->cfg.snapshot_wal_bytes;
    bool tls = ref->cfg.tls.cert_file != NULL;
    config_put(ref);
    int64_t next_snapshot = br_now_ms() + interval;
    /* Renewed certificates (cert-manager, certbot) are picked up without a
     * SIGHUP: a change of the TLS files reloads the configuration. */
    file_id tls_seen[3];
    if (tls) {
        tls_files_now(app, tls_seen);
    }
    int64_t next_tls_check = br_now_ms() + TLS_WATCH_MS;
    pthread_mutex_lock(&app->gc_mu);
    while (!app->gc_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&app->gc_cv, &app->gc_mu, &ts);
        if (app->gc_stop) {
            break;
        }
        pthread_mutex_unlock(&app->gc_mu);
        br_head_gc(app->head, br_now_ms(), 20000);
        bool started = atomic_load(&app->started);
        if (started) {
            br_http_server_maintain(app->http, br_now_ms());
        }
        if (started && tls && br_now_ms() >= next_tls_check) {
            next_tls_check = br_now_ms() + TLS_WATCH_MS;
            file_id now_ids[3];
            tls_files_now(app, now_ids);
            if (memcmp(now_ids, tls_seen, sizeof(now_ids)) != 0) {
                memcpy(tls_seen, now_ids, sizeof(tls_seen));
                br_log_info("TLS files changed, reloading the configuration", NULL);
                br_err rerr;
                br_err_clear(&rerr);
                (void)br_app_reload(app, &rerr); /* logged inside */
            }
        }
        if (br_now_ms() >= next_snapshot || br_head_snapshot_due(app->head, wal_trigger)) {
            br_err err;
            br_err_clear(&err);
            (void)br_head_snapshot(app->head, &err); /* logged and counted inside */
            next_snapshot = br_now_ms() + interval;
        }
        pthread_mutex_lock(&app->gc_mu);
    }
    pthread_mutex_unlock(&app->gc_mu);
    return NULL;
}

/* ------------------------------------------------------------------------
 * API-managed SLOs and annotations (api/slo_api.h, api/annotations.h).
 * ---------------------------------------------------------------------- */

/* The running SLO set: the configured files, then <data_dir>/slos (where a
 * file and a stored document define the same id, the file wins). Called
 * with slo_mu held (or before threads start). */
static br_slo_set *build_slo_set(br_app *app, const br_config *cfg, br_err *err)
{
    br_slo_set *s = br_slo_load_globs((const char *const *)cfg->slo_globs, cfg->n_slo_globs, err);
    if (s != NULL && (br_slo_api_load_dir(app->slo_dir, s, err) != 0 ||
                      br_slo_set_check_composites(s, err) != 0)) {
        br_slo_set_unref(s);
        s = NULL;
    }
    return s;
}

/* slo_api's apply: rebuild and swap like a reload of the SLO files, so
 * unchanged SLOs keep their running sums in the evaluator. */
static int managed_apply(void *ctx, br_err *err)
{
    br_app *app = ctx;
    config_ref *ref = config_get(app);
    pthread_mutex_lock(&app->slo_mu);
    br_slo_set *s = build_slo_set(app, &ref->cfg, err);
    if (s != NULL && check_max_slos(&ref->cfg, s, err) != 0) {
        br_slo_set_unref(s);
        s = NULL;
    }
    if (s != NULL) {
        if (app->evaluator != NULL) {
            br_evaluator_set_slos(app->evaluator, s);
        }
        br_slo_set_unref(app->slos);
        app->slos = s;
    }
    pthread_mutex_unlock(&app->slo_mu);
    config_put(ref);
    if (s == NULL) {
        return err->code != 0 ? err->code : BR_EINVAL;
    }
    br_log_info("SLOs loaded", "definitions=%zu", br_slo_set_len(s));
    return 0;
}

/* slo_api's file_owner: a running definition whose file is not in
 * <data_dir>/slos came from the configured files. */
static bool managed_file_owner(void *ctx, const char *id, char *file, size_t size)
{
    br_app *app = ctx;
    bool owned = false;
    size_t dl = strlen(app->slo_dir);
    pthread_mutex_lock(&app->slo_mu);
    const br_slo_def *d = app->slos ? br_slo_set_find(app->slos, id) : NULL;
    if (d != NULL && d->file != NULL &&
        !(strncmp(d->file, app->slo_dir, dl) == 0 && d->file[dl] == '/')) {
        snprintf(file, size, "%s", d->file);
        owned = true;
    }
    pthread_mutex_unlock(&app->slo_mu);
    return owned;
}

/* Who acts: the group whose credentials the request holds ("token:admin",
 * or "user:<name>" for basic auth, as the authenticator verified it), else
 * the remote address. */
static void managed_who(void *ctx, const br_http_request *req, char *out, size_t size)
{
    br_app *app = ctx;
    const char *h = br_http_header(req, "Authorization");
    config_ref *ref = config_get(app);
    br_auth *checker = ref->cfg.auth.checker;
    static const br_auth_group order[] = {BR_AUTH_ADMIN, BR_AUTH_WRITE, BR_AUTH_READ, BR_AUTH_UI};
    bool found = false;
    for (size_t i = 0; h != NULL && !found && i < sizeof(order) / sizeof(order[0]); i++) {
        char user[96];
        if (br_auth_credentials_of(checker, order[i], h, user, sizeof(user))) {
            if (user[0] != '\0') {
                snprintf(out, size, "user:%s", user);
            } else {
                snprintf(out, size, "token:%s", br_auth_group_name(order[i]));
            }
            found = true;
        }
    }
    config_put(ref);
    if (!found) {
        char addr[64];
        br_http_remote_addr(req, addr, sizeof(addr));
        snprintf(out, size, "addr:%s", addr[0] ? addr : "unknown");
    }
}

/* SLO changes: admin credentials when the admin group has any, else write
 * credentials when the write group has any, else anyone (no auth set up). */
static bool managed_may_change_slos(void *ctx, const br_http_request *req)
{
    br_app *app = ctx;
    config_ref *ref = config_get(app);
    br_auth *checker = ref->cfg.auth.checker;
    const char *h = br_http_header(req, "Authorization");
    bool ok = br_auth_group_protected(checker, BR_AUTH_ADMIN)
                  ? br_auth_credentials_of(checker, BR_AUTH_ADMIN, h, NULL, 0)
              : br_auth_group_protected(checker, BR_AUTH_WRITE)
                  ? br_auth_credentials_of(checker, BR_AUTH_WRITE, h, NULL, 0)
                  : true;
    config_put(ref);
    return ok;
}

/* Annotation changes: write or admin credentials when either group has any. */
static bool managed_may_change_annotations(void *ctx, const br_http_request *req)
{
    br_app *app = ctx;
    config_ref *ref = config_get(app);
    br_auth *checker = ref->cfg.auth.checker;
    const char *h = br_http_header(req, "Authorization");
    bool ok = (!br_auth_group_protected(checker, BR_AUTH_WRITE) &&
               !br_auth_group_protected(checker, BR_AUTH_ADMIN)) ||
              br_auth_credentials_of(checker, BR_AUTH_WRITE, h, NULL, 0) ||
              br_auth_credentials_of(checker, BR_AUTH_ADMIN, h, NULL, 0);
    config_put(ref);
    return ok;
}

/* Opens the stores and registers their routes (before the budget API, whose
 * GET /api/v1/slos/ prefix route would otherwise take /definition and /audit). */
static int start_managed(br_app *app, br_err *err)
{
    br_config *cfg = &app->current->cfg;
    br_slo_api_options so;
    memset(&so, 0, sizeof(so));
    so.dir = app->slo_dir;
    so.file_owner = managed_file_owner;
    so.apply = managed_apply;
    so.ctx = app;
    so.actor = (br_api_actor){managed_who, managed_may_change_slos, app};
    app->slo_api = br_slo_api_new(&so, err);
    if (app->slo_api == NULL) {
        return err->code != 0 ? err->code : BR_EIO;
    }
    size_t al = strlen(cfg->data_dir) + sizeof("/annotations");
    char *adir = br_malloc(al);
    snprintf(adir, al, "%s/annotations", cfg->data_dir);
    app->annotations = br_annotations_open(adir, err);
    br_free(adir);
    if (app->annotations == NULL) {
        return err->code != 0 ? err->code : BR_EIO;
    }
    app->annotations_api.store = app->annotations;
    app->annotations_api.src = &app->slo_source;
    app->annotations_api.actor = (br_api_actor){managed_who, managed_may_change_annotations, app};
    br_slo_api_register(app->http, app->slo_api);
    br_annotations_api_register(app->http, &app->annotations_api);
    return 0;
}

/* backend: builds the remote query backend from the config block. */
static br_remote *remote_backend_new(const br_backend_config *b, br_err *err)
{
    br_remote_header *hs = br_calloc(b->n_headers + 1, sizeof(*hs));
    for (size_t i = 0; i < b->n_headers; i++) {
        hs[i].name = b->headers[i].name;
        hs[i].value = b->headers[i].value;
    }
    br_remote_options ro;
    memset(&ro, 0, sizeof(ro));
    ro.url = b->url;
    ro.flavor = b->flavor == 1 ? BR_REMOTE_VICTORIAMETRICS : BR_REMOTE_PROMETHEUS;
    ro.headers = hs;
    ro.n_headers = b->n_headers;
    ro.bearer_token = b->bearer_token;
    ro.basic_user = b->basic_username;
    ro.basic_password = b->basic_password;
    ro.ca_file = b->ca_file;
    ro.cert_file = b->cert_file;
    ro.key_file = b->key_file;
    ro.insecure_skip_verify = b->insecure_skip_verify;
    ro.timeout_ms = b->timeout_ms;
    ro.overlap_ms = b->overlap_ms;
    ro.refresh_ms = b->refresh_ms;
    br_remote *r = br_remote_new(&ro, err);
    br_free(hs);
    return r;
}

br_app *br_app_start(const br_app_options *opts, br_err *err)
{
    br_app *app = br_calloc(1, sizeof(*app));
    app->opts = *opts;
    app->start_ms = br_now_ms();
    pthread_mutex_init(&app->cfg_mu, NULL);
    pthread_mutex_init(&app->reload_mu, NULL);
    app->current = br_calloc(1, sizeof(*app->current));
    atomic_store(&app->current->refs, 1);
    if (br_app_load_config(opts, &app->current->cfg, err) != 0) {
        br_free(app->current);
        app->current = NULL;
        pthread_mutex_destroy(&app->cfg_mu);
        pthread_mutex_destroy(&app->reload_mu);
        br_free(app);
        return NULL;
    }
    br_config *cfg = &app->current->cfg;
    br_log_set_level(cfg->log_level);
    app->metrics = br_metrics_new();
    register_process_metrics(app);
    br_gauge_set(app->reload_success, 1);
    br_gauge_set(app->reload_time, (double)app->start_ms / 1000.0);

    app->admin.metrics = app->metrics;
    app->admin.reload = reload_cb;
    app->admin.reload_ctx = app;
    pthread_mutex_init(&app->gc_mu, NULL);
    pthread_cond_init(&app->gc_cv, NULL);

    pthread_mutex_init(&app->slo_mu, NULL);
    size_t sdl = strlen(cfg->data_dir) + sizeof("/slos");
    app->slo_dir = br_malloc(sdl);
    snprintf(app->slo_dir, sdl, "%s/slos", cfg->data_dir);
    app->slos = build_slo_set(app, cfg, err);
    if (app->slos != NULL && check_max_slos(cfg, app->slos, err) != 0) {
        br_slo_set_unref(app->slos);
        app->slos = NULL;
    }
    if (app->slos == NULL) {
        br_app_stop(app);
        return NULL;
    }
    br_log_info("SLOs loaded", "definitions=%zu", br_slo_set_len(app->slos));
    app->recorded_rejected =
        br_metrics_counter(app->metrics, "burnrate_recorded_samples_rejected_total",
                           "Recorded SLO samples the store refused (out of order).", "");

    br_head_options hopt = {
        .dir = cfg->data_dir,
        .fsync = cfg->fsync_policy,
        .fsync_interval_ms = (uint32_t)cfg->fsync_interval_ms,
        .wal_segment_bytes = (uint32_t)cfg->wal_segment_bytes,
        .retention_ms = cfg->retention_ms,
        .max_series = cfg->limits.max_active_series,
    };
    if (br_head_open(&hopt, &app->head, err) != 0) {
        br_app_stop(app);
        return NULL;
    }
    br_metrics_collector_add(app->metrics, head_collector, app);
    app->remote_write =
        br_remote_write_api_new(app->head, app->metrics, remote_write_settings, app);
    if (pthread_create(&app->gc_thread, NULL, gc_main, app) == 0) {
        app->gc_running = true;
    }

    br_http_options hopts = {
        .listen = cfg->listen,
        .default_max_body = 1 << 20,
        .metrics = app->metrics,
        .authorize = authorize,
        .authorize_ctx = app,
        /* Server limits and TLS are read at start-up only. */
        .connection_timeout_s = (unsigned)(cfg->limits.connection_timeout_ms / 1000),
        .max_connections = (unsigned)cfg->limits.max_connections,
        .max_connections_per_ip = (unsigned)cfg->limits.max_connections_per_ip,
        .max_header_bytes = (size_t)cfg->limits.max_header_bytes,
        .write_rate_limit = cfg->limits.write_rate_limit,
        .write_rate_burst = cfg->limits.write_rate_burst,
        .rate_limit_header = cfg->tenant_header,
        .tls_cert_pem = cfg->tls.cert_pem,
        .tls_key_pem = cfg->tls.key_pem,
        .tls_client_ca_pem = cfg->tls.client_ca_pem,
        .tls_min_version = cfg->tls.min_version,
    };
    app->http = br_http_server_new(&hopts, err);
    if (app->http == NULL) {
        br_app_stop(app);
        return NULL;
    }
    br_admin_api_register(app->http, &app->admin);
    br_remote_write_api_register(app->remote_write, app->http, cfg->limits.max_body_bytes);
    app->query.head = app->head;
    app->query.options = query_options;
    app->query.options_ctx = app;
    br_query_api_register(app->http, &app->query);

    /* Alert state and notification queue live in <data_dir>/alerting. */
    if (cfg->external_url != NULL) {
        app->external_url = br_strdup(cfg->external_url);
    } else {
        char host[256];
        int port = 0;
        br_err tmp;
        br_err_clear(&tmp);
        (void)br_split_hostport(cfg->listen, host, sizeof(host), &port, &tmp);
        char url[320];
        snprintf(url, sizeof(url), "http://%s:%d",
                 host[0] == '\0' || strcmp(host, "0.0.0.0") == 0 ? "localhost" : host,
                 port ? port : br_http_server_port(app->http));
        app->external_url = br_strdup(url);
    }
    br_alerting_options aopt;
    memset(&aopt, 0, sizeof(aopt));
    aopt.data_dir = cfg->data_dir;
    aopt.eval_interval_ms = cfg->evaluation_interval_ms;
    aopt.notifier.receivers = cfg->receivers;
    aopt.notifier.n_receivers = cfg->n_receivers;
    aopt.notifier.external_url = app->external_url;
    aopt.notifier.fsync = cfg->fsync_policy;
    app->alerting = br_alerting_open(&aopt, err);
    if (app->alerting == NULL) {
        br_app_stop(app);
        return NULL;
    }
    br_metrics_collector_add(app->metrics, br_alerting_collect_metrics, app->alerting);

    if (open_rw_out(app, cfg, err) != 0) {
        br_app_stop(app);
        return NULL;
    }
    br_evaluator_options eopt;
    memset(&eopt, 0, sizeof(eopt));
    /* ---- sharding: this instance evaluates only its shard's SLOs. */
    eopt.shard_index = (uint32_t)cfg->shard_index;
    eopt.shard_count = (uint32_t)cfg->shard_count;
    app->budget.shard_index = (uint32_t)cfg->shard_index;
    app->budget.shard_count = (uint32_t)cfg->shard_count;
    if (cfg->shard_count > 1) {
        br_log_info("sharding", "shard_index=%lld shard_count=%lld replica=%s",
                    (long long)cfg->shard_index, (long long)cfg->shard_count,
                    cfg->replica ? cfg->replica : "");
    }
    br_queryable_local(app->head, &eopt.backend);
    /* --- backend: the SLO evaluator (and so the budget API) may read a
     * remote Prometheus-compatible API; /api/v1/query* and remote write
     * stay on the embedded store. Changing it needs a restart. */
    if (cfg->backend.type == BR_BACKEND_PROMETHEUS) {
        app->remote_backend = remote_backend_new(&cfg->backend, err);
        if (app->remote_backend == NULL) {
            br_app_stop(app);
            return NULL;
        }
        br_queryable_remote(app->remote_backend, &eopt.backend);
    }
    /* --- end backend */
    query_options(app, &eopt.promql);
    eopt.interval_ms = cfg->evaluation_interval_ms;
    eopt.append = append_recorded;
    eopt.append_ctx = app;
    eopt.alerting = app->alerting;
    eopt.external_url = app->external_url;
    /* Policy states and their "since" survive restarts. */
    size_t pdl = strlen(cfg->data_dir) + sizeof("/evaluator");
    char *policy_dir = br_malloc(pdl);
    snprintf(policy_dir, pdl, "%s/evaluator", cfg->data_dir);
    int prc = br_policy_store_open(policy_dir, &app->policy_store, err);
    br_free(policy_dir);
    if (prc != 0) {
        br_app_stop(app);
        return NULL;
    }
    eopt.policy_store = app->policy_store;
    app->evaluator = br_evaluator_new(&eopt, err);
    if (app->evaluator == NULL) {
        br_app_stop(app);
        return NULL;
    }
    br_evaluator_set_slos(app->evaluator, app->slos);
    br_metrics_collector_add(app->metrics, evaluator_collector, app);
    br_evaluator_source(app->evaluator, &app->slo_source);
    if (start_managed(app, err) != 0) {
        br_app_stop(app);
        return NULL;
    }
    app->budget.src = &app->slo_source;
    app->budget.annotations = app->annotations;
    br_budget_api_register(app->http, &app->budget);
    br_rules_api_register(app->http, &app->slo_source);
    atomic_store(&app->last_reload_ok, true);
    atomic_store(&app->last_reload_ms, app->start_ms);
    size_t nf = 0;
    app->flag_pairs[nf++] = "config";
    app->flag_pairs[nf++] = opts->config_file ? opts->config_file : "";
    app->flag_pairs[nf++] = "listen";
    app->flag_pairs[nf++] = opts->flags.listen ? opts->flags.listen : "";
    app->flag_pairs[nf++] = "data-dir";
    app->flag_pairs[nf++] = opts->flags.data_dir ? opts->flags.data_dir : "";
    app->flag_pairs[nf++] = "log.level";
    app->flag_pairs[nf++] = opts->flags.log_level ? opts->flags.log_level : "";
    app->flag_pairs[nf] = NULL;
    app->status.start_ms = app->start_ms;
    app->status.current = status_current;
    app->status.ctx = app;
    app->status.flags = app->flag_pairs;
    br_status_api_register(app->http, &app->status);
    if (br_http_server_start(app->http, err) != 0) {
        br_app_stop(app);
        return NULL;
    }
    if (br_evaluator_start(app->evaluator, err) != 0) {
        br_app_stop(app);
        return NULL;
    }
    atomic_store(&app->admin.ready, true);
    atomic_store(&app->started, true);
    br_log_info("burnrate started", "version=%s listen=%s port=%d data_dir=%s", BR_VERSION,
                cfg->listen, br_http_server_port(app->http), cfg->data_dir);
    return app;
}

struct br_head *br_app_head(const br_app *app)
{
    return app->head;
}

struct br_remote_write_api *br_app_remote_write(const br_app *app)
{
    return app->remote_write;
}

int br_app_port(const br_app *app)
{
    return br_http_server_port(app->http);
}

void br_app_block_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

void br_app_wait(br_app *app)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) {
            continue;
        }
        if (sig == SIGHUP) {
            br_err err;
            br_err_clear(&err);
            br_log_info("SIGHUP received, reloading configuration", NULL);
            (void)br_app_reload(app, &err);
            continue;
        }
        br_log_info("shutting down", "signal=%s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        return;
    }
}

void br_app_stop(br_app *app)
{
    if (app == NULL) {
        return;
    }
    atomic_store(&app->admin.stopping, true);
    /* Housekeeping first: it may be reloading or touching the server. */
    if (app->gc_running) {
        pthread_mutex_lock(&app->gc_mu);
        app->gc_stop = true;
        pthread_cond_signal(&app->gc_cv);
        pthread_mutex_unlock(&app->gc_mu);
        pthread_join(app->gc_thread, NULL);
        app->gc_running = false;
    }
    br_http_server_free(app->http);
    app->http = NULL;
    br_slo_api_free(app->slo_api);
    br_annotations_close(app->annotations);
    br_evaluator_free(app->evaluator);
    app->evaluator = NULL;
    br_policy_store_free(app->policy_store);
    app->policy_store = NULL;
    br_remote_free(app->remote_backend); /* backend: after its only reader */
    app->remote_backend = NULL;
    for (size_t i = 0; i < app->n_rw_out; i++) {
        br_rw_out_close(app->rw_out[i]);
    }
    br_free(app->rw_out);
    app->rw_out = NULL;
    app->n_rw_out = 0;
    if (app->alerting != NULL) {
        br_err aerr;
        br_err_clear(&aerr);
        (void)br_alerting_close(app->alerting, &aerr);
        app->alerting = NULL;
    }
    br_free(app->external_url);
    br_remote_write_api_free(app->remote_write);
    if (app->head != NULL) {
        /* A snapshot at shutdown makes the next start-up read one file. */
        br_err err;
        br_err_clear(&err);
        (void)br_head_snapshot(app->head, &err);
    }
    br_head_close(app->head);
    br_metrics_free(app->metrics);
    br_slo_set_unref(app->slos);
    br_free(app->slo_dir);
    pthread_mutex_destroy(&app->slo_mu);
    config_put(app->current);
    pthread_mutex_destroy(&app->cfg_mu);
    pthread_mutex_destroy(&app->reload_mu);
    pthread_mutex_destroy(&app->gc_mu);
    pthread_cond_destroy(&app->gc_cv);
    br_free(app);
    br_log_info("stopped", NULL);
}
