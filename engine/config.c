/*
 * config.c — loading the main configuration. See config.h and the annotated
 * example in examples/burnrate.yml.
 *
 * Schema (every key optional):
 *   listen: "127.0.0.1:9099"
 *   external_url: "https://burnrate.example.com"   (links in alerts)
 *   log_level: info
 *   storage: {data_dir, retention, snapshot_interval, snapshot_wal_size,
 *             wal: {fsync: always|interval|never, fsync_interval, segment_size}}
 *   evaluation: {interval}
 *   slos: [glob, ...]
 *   remote_write: {tenant_header, tenant_label}
 *   limits: {max_body_bytes, max_decompressed_bytes, max_series_per_request,
 *            max_samples_per_request, max_labels_per_series,
 *            max_label_name_length, max_label_value_length, max_active_series,
 *            max_inflight_write_bytes,
 *            max_connections, max_connections_per_ip, connection_timeout,
 *            max_header_bytes, write_rate_limit, write_rate_burst, max_slos}
 *   auth: {write|read|admin|ui _token_file, write|read|admin|ui _users_file}
 *   admin: {enabled}
 *   tls: {cert_file, key_file, client_ca_file, min_version: TLS12|TLS13}
 *   promql: {compat: v3|v2, timeout, max_samples, lookback_delta}
 *   receivers: [{name, type: webhook|alertmanager, url, bearer_token_file,
 *                hmac_secret_file, timeout, match: {label: value},
 *                group_by: [label], group_wait, group_interval,
 *                repeat_interval, tls: {ca_file, cert_file, key_file,
 *                insecure_skip_verify}}]   (hmac_secret_file, group_*: webhooks only)
 *   backend: {type: embedded|prometheus, url, flavor: prometheus|victoriametrics,
 *             headers: {name: value}, bearer_token_file,
 *             basic_auth: {username, password_file},
 *             tls: {ca_file, cert_file, key_file, insecure_skip_verify},
 *             timeout, overlap, refresh}
 *   remote_write_out: [{name, url, headers: {Name: value}, bearer_token_file,
 *                basic_auth: {username, password_file},
 *                tls: {ca_file, cert_file, key_file, insecure_skip_verify},
 *                timeout, queue: {max_samples_per_send, batch_send_deadline,
 *                min_backoff, max_backoff, shards, capacity}}]
 *   sharding: {index, count, replica, replica_label}
 *
 * Files named by auth, tls, receivers[].tls and backend are read by
 * br_config_load_secrets, not br_config_load, so the loader alone never
 * opens arbitrary paths (the config fuzzer relies on that).
 */
#include "config.h"

#include "api/auth.h"
#include "engine/core/addr.h"
#include "engine/core/alloc.h"
#include "engine/core/fileio.h"
#include "rules/yamldoc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void br_config_init(br_config *c)
{
    memset(c, 0, sizeof(*c));
    c->listen = br_strdup(":9099");
    c->log_level = BR_LOG_INFO;
    c->data_dir = br_strdup("data");
    c->retention_ms = 35LL * 24 * 3600 * 1000;
    c->fsync_policy = BR_WAL_FSYNC_INTERVAL;
    c->fsync_interval_ms = 1000;
    c->wal_segment_bytes = 64LL * 1024 * 1024;
    c->snapshot_interval_ms = 15LL * 60 * 1000;
    c->snapshot_wal_bytes = 256LL * 1024 * 1024;
    c->evaluation_interval_ms = 30 * 1000;
    c->tenant_label = br_strdup("tenant");
    c->limits.max_body_bytes = 32LL * 1024 * 1024;
    c->limits.max_decompressed_bytes = 32LL * 1024 * 1024;
    c->limits.max_series_per_request = 100000;
    c->limits.max_samples_per_request = 1000000;
    c->limits.max_labels_per_series = 64;
    c->limits.max_label_name_length = 1024;
    c->limits.max_label_value_length = 4096;
    c->limits.max_active_series = 2000000;
    c->limits.max_inflight_write_bytes = 256LL * 1024 * 1024;
    c->limits.max_connections = 1024;
    c->limits.max_connections_per_ip = 0;
    c->limits.connection_timeout_ms = 2 * 60 * 1000;
    c->limits.max_header_bytes = 64 * 1024;
    c->limits.write_rate_limit = 0;
    c->limits.write_rate_burst = 0;
    c->limits.max_slos = 10000;
    c->tls.min_version = 12;
    c->promql_compat = 0;
    c->query_timeout_ms = 2 * 60 * 1000;
    c->query_max_samples = 50000000;
    c->lookback_delta_ms = 5 * 60 * 1000;
    c->backend.timeout_ms = 30 * 1000;
    c->backend.overlap_ms = 5 * 60 * 1000;
    c->backend.refresh_ms = 60 * 60 * 1000;
    c->shard_index = 0;
    c->shard_count = 1;
    c->replica_label = br_strdup("replica");
}

static void free_secret_string(char *s)
{
    if (s != NULL) {
        memset(s, 0, strlen(s));
        br_free(s);
    }
}

static void free_backend(br_backend_config *b)
{
    br_free(b->url);
    for (size_t i = 0; i < b->n_headers; i++) {
        br_free(b->headers[i].name);
        br_free(b->headers[i].value);
    }
    br_free(b->headers);
    br_free(b->bearer_token_file);
    br_free(b->basic_username);
    br_free(b->basic_password_file);
    br_free(b->ca_file);
    br_free(b->cert_file);
    br_free(b->key_file);
    free_secret_string(b->bearer_token);
    free_secret_string(b->basic_password);
    memset(b, 0, sizeof(*b));
}

void br_rw_out_config_defaults(br_rw_out_config *r)
{
    memset(r, 0, sizeof(*r));
    r->timeout_ms = 30 * 1000;
    r->max_samples_per_send = 2000;
    r->batch_send_deadline_ms = 5 * 1000;
    r->min_backoff_ms = 30;
    r->max_backoff_ms = 5 * 1000;
    r->shards = 1;
    r->capacity = 1000000;
}

static void free_rw_out(br_config *c)
{
    for (size_t i = 0; i < c->n_rw_out; i++) {
        br_rw_out_config *r = &c->rw_out[i];
        br_free(r->name);
        br_free(r->url);
        for (size_t j = 0; j < r->n_headers; j++) {
            br_free(r->headers[j].name);
            br_free(r->headers[j].value);
        }
        br_free(r->headers);
        br_free(r->bearer_token_file);
        br_free(r->basic_auth_username);
        br_free(r->basic_auth_password_file);
        br_free(r->tls_ca_file);
        br_free(r->tls_cert_file);
        br_free(r->tls_key_file);
    }
    br_free(c->rw_out);
    c->rw_out = NULL;
    c->n_rw_out = 0;
}

static void free_receivers(br_config *c)
{
    for (size_t i = 0; i < c->n_receivers; i++) {
        br_receiver_config *r = &c->receivers[i];
        br_free(r->name);
        br_free(r->url);
        br_free(r->bearer_token_file);
        br_free(r->hmac_secret_file);
        for (size_t j = 0; j < r->n_match; j++) {
            br_free(r->match[j].name);
            br_free(r->match[j].value);
        }
        br_free(r->match);
        for (size_t j = 0; j < r->n_group_by; j++) {
            br_free(r->group_by[j]);
        }
        br_free(r->group_by);
        br_free(r->tls.ca_file);
        br_free(r->tls.cert_file);
        br_free(r->tls.key_file);
    }
    br_free(c->receivers);
    c->receivers = NULL;
    c->n_receivers = 0;
}

static void free_globs(br_config *c)
{
    for (size_t i = 0; i < c->n_slo_globs; i++) {
        br_free(c->slo_globs[i]);
    }
    br_free(c->slo_globs);
    c->slo_globs = NULL;
    c->n_slo_globs = 0;
}

void br_config_free(br_config *c)
{
    br_free(c->source_file);
    br_free(c->listen);
    br_free(c->external_url);
    br_free(c->data_dir);
    br_free(c->tenant_header);
    br_free(c->tenant_label);
    br_free(c->auth.write_token_file);
    br_free(c->auth.read_token_file);
    br_free(c->auth.admin_token_file);
    br_free(c->auth.ui_token_file);
    br_free(c->auth.write_users_file);
    br_free(c->auth.read_users_file);
    br_free(c->auth.admin_users_file);
    br_free(c->auth.ui_users_file);
    br_auth_free(c->auth.checker);
    br_free(c->tls.cert_file);
    br_free(c->tls.key_file);
    br_free(c->tls.client_ca_file);
    if (c->tls.key_pem != NULL) {
        memset(c->tls.key_pem, 0, strlen(c->tls.key_pem));
    }
    br_free(c->tls.key_pem);
    br_free(c->tls.cert_pem);
    br_free(c->tls.client_ca_pem);
    free_globs(c);
    free_receivers(c);
    free_backend(&c->backend);
    free_rw_out(c);
    br_free(c->replica);
    br_free(c->replica_label);
    memset(c, 0, sizeof(*c));
}

/* Replaces *slot with a copy of the string at n. */
static int set_string(br_yaml_doc *doc, const br_yaml_node *n, const char *key, char **slot,
                      bool allow_empty, br_err *err)
{
    const char *s = NULL;
    int rc = br_yaml_get_string(doc, n, key, &s, err);
    if (rc != 0) {
        return rc;
    }
    if (!allow_empty && *s == '\0') {
        return br_yaml_error(doc, n, err, BR_EPARSE, "\"%s\" must not be empty", key);
    }
    br_free(*slot);
    *slot = br_strdup(s);
    return 0;
}

static int load_wal(br_yaml_doc *doc, const br_yaml_node *wal, br_config *c, br_err *err)
{
    static const char *const keys[] = {"fsync", "fsync_interval", "segment_size", NULL};
    int rc = br_yaml_expect_map(doc, wal, "storage.wal", err);
    if (rc == 0) {
        rc = br_yaml_check_keys(doc, wal, "storage.wal", keys, err);
    }
    br_yaml_node *n = br_yaml_map_get(doc, wal, "fsync");
    if (rc == 0 && n != NULL) {
        const char *s = br_yaml_scalar(n);
        if (s != NULL && strcmp(s, "always") == 0) {
            c->fsync_policy = BR_WAL_FSYNC_ALWAYS;
        } else if (s != NULL && strcmp(s, "interval") == 0) {
            c->fsync_policy = BR_WAL_FSYNC_INTERVAL;
        } else if (s != NULL && strcmp(s, "never") == 0) {
            c->fsync_policy = BR_WAL_FSYNC_NEVER;
        } else {
            rc = br_yaml_error(doc, n, err, BR_EPARSE,
                               "\"storage.wal.fsync\" must be always, interval or never, got \"%s\"",
                               s ? s : "a non-scalar");
        }
    }
    n = br_yaml_map_get(doc, wal, "fsync_interval");
    if (rc == 0 && n != NULL) {
        rc = br_yaml_get_duration(doc, n, "storage.wal.fsync_interval", false,
                                  &c->fsync_interval_ms, err);
    }
    n = br_yaml_map_get(doc, wal, "segment_size");
    if (rc == 0 && n != NULL) {
        rc = br_yaml_get_bytes(doc, n, "storage.wal.segment_size", &c->wal_segment_bytes, err);
        if (rc == 0 && c->wal_segment_bytes < 1024 * 1024) {
            rc = br_yaml_error(doc, n, err, BR_EPARSE,
                               "\"storage.wal.segment_size\" must be at least 1MiB");
        }
    }
    return rc;
}

static int load_storage(br_yaml_doc *doc, const br_yaml_node *st, br_config *c, br_err *err)
{
    static const char *const keys[] = {"data_dir", "retention", "snapshot_interval",
                                       "snapshot_wal_size", "wal", NULL};
    int rc = br_yaml_expect_map(doc, st, "storage", err);
    if (rc == 0) {
        rc = br_yaml_check_keys(doc, st, "storage", keys, err);
    }
    br_yaml_node *n = br_yaml_map_get(doc, st, "data_dir");
    if (rc == 0 && n != NULL) {
        rc = set_string(doc, n, "storage.data_dir", &c->data_dir, false, err);
    }
    n = br_yaml_map_get(doc, st, "retention");
    if (rc == 0 && n != NULL) {
        rc = br_yaml_get_duration(doc, n, "storage.retention", false, &c->retention_ms, err);
    }
    n = br_yaml_map_get(doc, st, "snapshot_interval");
    if (rc == 0 && n != NULL) {
        rc = br_yaml_get_duration(doc, n, "storage.snapshot_interval", false,
                                  &c->snapshot_interval_ms, err);
    }
    n = br_yaml_map_get(doc, st, "snapshot_wal_size");
    if (rc == 0 && n != NULL) {
        rc = br_yaml_get_bytes(doc, n, "storage.snapshot_wal_size", &c->snapshot_wal_bytes, err);
    }
    n = br_yaml_map_get(doc, st, "wal");
    if (rc == 0 && n != NULL) {
        rc = load_wal(doc, n, c, err);
    }
    return rc;
}

/* The HTTP server's limits inside `limits:` (api/server.c applies them). */
static int load_server_limits(br_yaml_doc *doc, const br_yaml_node *lm, br_limits_config *l,
                              br_err *err)
{
    int rc = 0;
    br_yaml_node *n = br_yaml_map_get(doc, lm, "max_connections");
    if (n != NULL) {
        rc = br_yaml_get_int(doc, n, "limits.max_connections", 1, 100000, &l->max_connections,
                             err);
    }
    n = br_yaml_map_get(doc, lm, "max_connections_per_ip");
    if (rc == 0 && n != NULL) {
        rc = br_yaml_get_int(doc, n, "limits.max_connections_per_ip", 0, 100000,
                             &l->max_connections_per_ip, err);
    }
    n = br_yaml_map_get(doc, lm, "connection_timeout");
    if (rc == 0 && n != NULL) {
        rc = br_yaml_get_duration(doc, n, "limits.connection_timeout", false,
                                  &l->connection_timeout_ms, err);
        if (rc == 0 && l->connection_timeout_ms < 1000) {
            rc = br_yaml_error(doc, n, err, BR_EPARSE,
                               "\"limits.connection_timeout\" must be at least 1s");
        }
    }
    n = br_yaml_map_get(doc, lm, "max_header_bytes");
    if (rc == 0 && n != NULL) {
        rc = br_yaml_get_bytes(doc, n, "limits.max_header_bytes", &l->max_header_bytes, err);
        if (rc == 0 && (l->max_header_bytes < 4096 || l->max_header_bytes > 16 * 1024 * 1024)) {
            rc = br_yaml_error(doc, n, err, BR_EPARSE,
                               "\"limits.max_header_bytes\" must be between 4KiB and 16MiB");
        }
    }
    n = br_yaml_map_get(doc, lm, "write_rate_limit");
    if (rc == 0 && n != NULL) {
        rc = br_yaml_get_double(doc, n, "limits.write_rate_limit", &l->write_rate_limit, err);
        if (rc == 0 && !(l->write_rate_limit >= 0 && l->write_rate_limit <= 1e12)) {
            rc = br_yaml_error(doc, n, err, BR_EPARSE,
                               "\"limits.write_rate_limit\" must be samples per second >= 0 "
                               "(0 = off)");
        }
    }
    n = br_yaml_map_get(doc, lm, "write_rate_burst");
    if (rc == 0 && n != NULL) {
        rc = br_yaml_get_int(doc, n, "limits.write_rate_burst", 0, INT64_C(1) << 50,
                             &l->write_rate_burst, err);
    }
    n = br_yaml_map_get(doc, lm, "max_slos");
    if (rc == 0 && n != NULL) {
        rc = br_yaml_get_int(doc, n, "limits.max_slos", 1, 10000000, &l->max_slos, err);
    }
    return rc;
}

static int load_limits(br_yaml_doc *doc, const br_yaml_node *lm, br_config *c, br_err *err)
{
    static const struct {
        const char *key;
        size_t offset;
        bool bytes;
    } fields[] = {
        {"max_body_bytes", offsetof(br_limits_config, max_body_bytes), true},
        {"max_decompressed_bytes", offsetof(br_limits_config, max_decompressed_bytes), true},
        {"max_series_per_request", offsetof(br_limits_config, max_series_per_request), false},
        {"max_samples_per_request", offsetof(br_limits_config, max_samples_per_request), false},
        {"max_labels_per_series", offsetof(br_limits_config, max_labels_per_series), false},
        {"max_label_name_length", offsetof(br_limits_config, max_label_name_length), false},
        {"max_label_value_length", offsetof(br_limits_config, max_label_value_length), false},
        {"max_active_series", offsetof(br_limits_config, max_active_series), false},
        {"max_inflight_write_bytes", offsetof(br_limits_config, max_inflight_write_bytes), true},
    };
    static const char *const keys[] = {
        "max_body_bytes",        "max_decompressed_bytes", "max_series_per_request",
        "max_samples_per_request", "max_labels_per_series", "max_label_name_length",
        "max_label_value_length", "max_active_series",     "max_connections",
        "max_connections_per_ip", "connection_timeout",    "max_header_bytes",
        "write_rate_limit",       "write_rate_burst",      "max_slos",
        "max_inflight_write_bytes",
        NULL};
    int rc = br_yaml_expect_map(doc, lm, "limits", err);
    if (rc == 0) {
        rc = br_yaml_check_keys(doc, lm, "limits", keys, err);
    }
    for (size_t i = 0; rc == 0 && i < sizeof(fields) / sizeof(fields[0]); i++) {
        br_yaml_node *n = br_yaml_map_get(doc, lm, fields[i].key);
        if (n == NULL) {
            continue;
        }
        int64_t *slot = (int64_t *)((char *)&c->limits + fields[i].offset);
        char qualified[64];
        snprintf(qualified, sizeof(qualified), "limits.%s", fields[i].key);
        if (fields[i].bytes) {
            rc = br_yaml_get_bytes(doc, n, qualified, slot, err);
        } else {
            rc = br_yaml_get_int(doc, n, qualified, 1, INT32_MAX, slot, err);
        }
        if (rc == 0 && *slot <= 0) {
            rc = br_yaml_error(doc, n, err, BR_EPARSE, "\"%s\" must be greater than zero",
                               qualified);
        }
    }
    if (rc == 0) {
        rc = load_server_limits(doc, lm, &c->limits, err);
    }
    return rc;
}

static int load_auth(br_yaml_doc *doc, const br_yaml_node *au, br_config *c, br_err *err)
{
    static const char *const keys[] = {
        "write_token_file", "read_token_file", "admin_token_file", "ui_token_file",
        "write_users_file", "read_users_file", "admin_users_file", "ui_users_file", NULL};
    int rc = br_yaml_expect_map(doc, au, "auth", err);
    if (rc == 0) {
        rc = br_yaml_check_keys(doc, au, "auth", keys, err);
    }
    char **slots[] = {&c->auth.write_token_file, &c->auth.read_token_file,
                      &c->auth.admin_token_file, &c->auth.ui_token_file,
                      &c->auth.write_users_file, &c->auth.read_users_file,
                      &c->auth.admin_users_file, &c->auth.ui_users_file};
    for (size_t i = 0; rc == 0 && i < sizeof(slots) / sizeof(slots[0]); i++) {
        br_yaml_node *n = br_yaml_map_get(doc, au, keys[i]);
        if (n != NULL) {
            rc = set_string(doc, n, keys[i], slots[i], false, err);
        }
    }
    return rc;
}

static int load_admin(br_yaml_doc *doc, const br_yaml_node *ad, br_config *c, br_err *err)
{
    static const char *const keys[] = {"enabled", NULL};
    int rc = br_yaml_expect_map(doc, ad, "admin", err);
    if (rc == 0) {
        rc = br_yaml_check_keys(doc, ad, "admin", keys, err);
    }
    br_yaml_node *n = br_yaml_map_get(doc, ad, "enabled");
    if (rc == 0 && n != NULL) {
        rc = br_yaml_get_bool(doc, n, "admin.enabled", &c->auth.admin_enabled, err);
    }
    return rc;
}

static int load_tls(br_yaml_doc *doc, const br_yaml_node *tn, br_config *c, br_err *err)
{
    static const char *const keys[] = {"cert_file", "key_file", "client_ca_file", "min_version",
                                       NULL};
    int rc = br_yaml_expect_map(doc, tn, "tls", err);
    if (rc == 0) {
        rc = br_yaml_check_keys(doc, tn, "tls", keys, err);
    }
    char **slots[] = {&c->tls.cert_file, &c->tls.key_file, &c->tls.client_ca_file};
    static const char *const names[] = {"tls.cert_file", "tls.key_file", "tls.client_ca_file"};
    for (size_t i = 0; rc == 0 && i < 3; i++) {
        br_yaml_node *n = br_yaml_map_get(doc, tn, keys[i]);
        if (n != NULL) {
            rc = set_string(doc, n, names[i], slots[i], false, err);
        }
    }
    br_yaml_node *n = br_yaml_map_get(doc, tn, "min_version");
    if (rc == 0 && n != NULL) {
        const char *v = br_yaml_scalar(n);
        if (v != NULL && strcmp(v, "TLS12") == 0) {
            c->tls.min_version = 12;
        } else if (v != NULL && strcmp(v, "TLS13") == 0) {
            c->tls.min_version = 13;
        } else {
            rc = br_yaml_error(doc, n, err, BR_EPARSE,
                               "\"tls.min_version\" must be TLS12 or TLS13, got \"%s\"",
                               v ? v : "a non-scalar");
        }
    }
    if (rc == 0 && (c->tls.cert_file == NULL) != (c->tls.key_file == NULL)) {
        rc = br_yaml_error(doc, tn, err, BR_EPARSE,
                           "\"tls\" needs both \"cert_file\" and \"key_file\"");
    }
    if (rc == 0 && c->tls.cert_file == NULL && c->tls.client_ca_file != NULL) {
        rc = br_yaml_error(doc, tn, err, BR_EPARSE,
                           "\"tls.client_ca_file\" needs \"cert_file\" and \"key_file\"");
    }
    return rc;
}

/* receivers[].tls */
static int load_receiver_tls(br_yaml_doc *doc, const br_yaml_node *tn, br_receiver_config *r,
                             br_err *err)
{
    static const char *const keys[] = {"ca_file", "cert_file", "key_file",
                                       "insecure_skip_verify", NULL};
    int rc = br_yaml_expect_map(doc, tn, "tls", err);
    if (rc == 0) {
        rc = br_yaml_check_keys(doc, tn, "a receiver's tls", keys, err);
    }
    char **slots[] = {&r->tls.ca_file, &r->tls.cert_file, &r->tls.key_file};
    for (size_t i = 0; rc == 0 && i < 3; i++) {
        br_yaml_node *n = br_yaml_map_get(doc, tn, keys[i]);
        if (n != NULL) {
            rc = set_string(doc, n, keys[i], slots[i], false, err);
        }
    }
    br_yaml_node *n = br_yaml_map_get(doc, tn, "insecure_skip_verify");
    if (rc == 0 && n != NULL) {
        rc = br_yaml_get_bool(doc, n, "insecure_skip_verify", &r->tls.insecure_skip_verify, err);
    }
    if (rc == 0 && (r->tls.cert_file == NULL) != (r->tls.key_file == NULL)) {
        rc = br_yaml_error(doc, tn, err, BR_EPARSE,
                           "receiver \"%s\": \"tls\" needs both \"cert_file\" and \"key_file\"",
                           r->name);
    }
    return rc;
}

static int load_remote_write(br_yaml_doc *doc, const br_yaml_node *rw, br_config *c, br_err *err)
{
    static const char *const keys[] = {"tenant_header", "tenant_label", NULL};
    int rc = br_yaml_expect_map(doc, rw, "remote_write", err);
    if (rc == 0) {
        rc = br_yaml_check_keys(doc, rw, "remote_write", keys, err);
    }
    br_yaml_node *n = br_yaml_map_get(doc, rw, "tenant_header");
    if (rc == 0 && n != NULL) {
        rc = set_string(doc, n, "remote_write.tenant_header", &c->tenant_header, false, err);
    }
    n = br_yaml_map_get(doc, rw, "tenant_label");
    if (rc == 0 && n != NULL) {
        rc = set_string(doc, n, "remote_write.tenant_label", &c->tenant_label, false, err);
        if (rc == 0 && (strncmp(c->tenant_label, "__", 2) == 0)) {
            rc = br_yaml_error(doc, n, err, BR_EPARSE,
                               "\"remote_write.tenant_label\" must not start with \"__\" (reserved)");
        }
    }
    return rc;
}

static int load_promql(br_yaml_doc *doc, const br_yaml_node *pq, br_config *c, br_err *err)
{
    static const char *const keys[] = {"compat", "timeout", "max_samples", "lookback_delta", NULL};
    int rc = br_yaml_expect_map(doc, pq, "promql", err);
    if (rc == 0) {
        rc = br_yaml_check_keys(doc, pq, "promql", keys, err);
    }
    br_yaml_node *n = br_yaml_map_get(doc, pq, "compat");
    if (rc == 0 && n != NULL) {
        const char *s = br_yaml_scalar(n);
        if (s != NULL && strcmp(s, "v3") == 0) {
            c->promql_compat = 0;
        } else if (s != NULL && strcmp(s, "v2") == 0) {
            c->promql_compat = 1;
        } else {
            rc = br_yaml_error(doc, n, err, BR_EPARSE, "\"promql.compat\" must be v3 or v2, got \"%s\"",
                               s ? s : "a non-scalar");
        }
    }
    n = br_yaml_map_get(doc, pq, "timeout");
    if (rc == 0 && n != NULL) {
        rc = br_yaml_get_duration(doc, n, "promql.timeout", false, &c->query_timeout_ms, err);
    }
    n = br_yaml_map_get(doc, pq, "max_samples");
    if (rc == 0 && n != NULL) {
        rc = br_yaml_get_int(doc, n, "promql.max_samples", 1, INT64_MAX, &c->query_max_samples, err);
    }
    n = br_yaml_map_get(doc, pq, "lookback_delta");
    if (rc == 0 && n != NULL) {
        rc = br_yaml_get_duration(doc, n, "promql.lookback_delta", false, &c->lookback_delta_ms,
                                  err);
    }
    return rc;
}

/* A label name as Prometheus allows it: [a-zA-Z_][a-zA-Z0-9_]*. */
static bool valid_label_name(const char *s)
{
    if (*s == '\0' || (*s >= '0' && *s <= '9')) {
        return false;
    }
    for (; *s != '\0'; s++) {
        char ch = *s;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_')) {
            return false;
        }
    }
    return true;
}

/* receivers[].match: a mapping of label name to the value it must equal. */
static int load_receiver_match(br_yaml_doc *doc, const br_yaml_node *mn, br_receiver_config *r,
                               br_err *err)
{
    int rc = br_yaml_expect_map(doc, mn, "match", err);
    if (rc != 0) {
        return rc;
    }
    size_t n = br_yaml_map_size(mn);
    r->match = br_calloc(n ? n : 1, sizeof(*r->match));
    for (size_t i = 0; i < n; i++) {
        br_yaml_node *kn = NULL;
        br_yaml_node *vn = NULL;
        const char *name = br_yaml_map_key(doc, mn, i, &kn, &vn);
        if (name == NULL || !valid_label_name(name)) {
            return br_yaml_error(doc, kn, err, BR_EPARSE,
                                 "receiver \"%s\": \"match\" keys must be label names, got \"%s\"",
                                 r->name, name ? name : "a non-scalar");
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(r->match[j].name, name) == 0) {
                return br_yaml_error(doc, kn, err, BR_EPARSE, "duplicate key \"%s\" in \"match\"",
                                     name);
            }
        }
        const char *value = NULL;
        rc = br_yaml_get_string(doc, vn, "match value", &value, err);
        if (rc != 0) {
            return rc;
        }
        r->match[i].name = br_strdup(name);
        r->match[i].value = br_strdup(value);
        r->n_match = i + 1;
    }
    return 0;
}

/* receivers[].group_by: label names, or ["..."] for every label. */
static int load_receiver_group_by(br_yaml_doc *doc, const br_yaml_node *gn, br_receiver_config *r,
                                  br_err *err)
{
    int rc = br_yaml_expect_seq(doc, gn, "group_by", err);
    if (rc != 0) {
        return rc;
    }
    for (size_t j = 0; j < r->n_group_by; j++) {
        br_free(r->group_by[j]);
    }
    br_free(r->group_by);
    r->n_group_by = 0;
    size_t n = br_yaml_seq_size(gn);
    r->group_by = br_calloc(n ? n : 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        br_yaml_node *item = br_yaml_seq_item(doc, gn, i);
        const char *s = NULL;
        rc = br_yaml_get_string(doc, item, "group_by[]", &s, err);
        if (rc != 0) {
            return rc;
        }
        bool all = strcmp(s, "...") == 0;
        if (all && n != 1) {
            return br_yaml_error(doc, item, err, BR_EPARSE,
                                 "\"...\" in \"group_by\" must be the only entry");
        }
        if (!all && !valid_label_name(s)) {
            return br_yaml_error(doc, item, err, BR_EPARSE,
                                 "\"group_by\" entries must be label names, got \"%s\"", s);
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(r->group_by[j], s) == 0) {
                return br_yaml_error(doc, item, err, BR_EPARSE,
                                     "label \"%s\" appears twice in \"group_by\"", s);
            }
        }
        r->group_by[i] = br_strdup(s);
        r->n_group_by = i + 1;
    }
    return 0;
}

static int load_receiver(br_yaml_doc *doc, const br_yaml_node *rn, br_receiver_config *r,
                         br_err *err)
{
    static const char *const keys[] = {
        "name",  "type",     "url",        "bearer_token_file", "hmac_secret_file", "timeout",
        "match", "group_by", "group_wait", "group_interval",    "repeat_interval",  "tls",
        NULL};
    int rc = br_yaml_expect_map(doc, rn, "receivers[]", err);
    if (rc == 0) {
        rc = br_yaml_check_keys(doc, rn, "a receiver", keys, err);
    }
    if (rc != 0) {
        return rc;
    }
    r->timeout_ms = 10000;
    r->group_wait_ms = 30 * 1000;
    r->group_interval_ms = 5 * 60 * 1000;
    r->repeat_interval_ms = 4 * 3600 * 1000;
    r->group_by = br_calloc(2, sizeof(char *));
    r->group_by[0] = br_strdup("alertname");
    r->group_by[1] = br_strdup("sloth_id");
    r->n_group_by = 2;
    br_yaml_node *n = br_yaml_map_get(doc, rn, "name");
    if (n == NULL) {
        return br_yaml_error(doc, rn, err, BR_EPARSE, "a receiver needs a \"name\"");
    }
    rc = set_string(doc, n, "name", &r->name, false, err);
    n = br_yaml_map_get(doc, rn, "type");
    if (rc == 0 && n == NULL) {
        rc = br_yaml_error(doc, rn, err, BR_EPARSE,
                           "receiver \"%s\" needs a \"type\" (webhook or alertmanager)", r->name);
    }
    if (rc == 0) {
        const char *s = br_yaml_scalar(n);
        if (s != NULL && strcmp(s, "webhook") == 0) {
            r->kind = BR_RECEIVER_WEBHOOK;
        } else if (s != NULL && strcmp(s, "alertmanager") == 0) {
            r->kind = BR_RECEIVER_ALERTMANAGER;
        } else {
            rc = br_yaml_error(doc, n, err, BR_EPARSE,
                               "receiver \"type\" must be webhook or alertmanager, got \"%s\"",
                               s ? s : "a non-scalar");
        }
    }
    n = br_yaml_map_get(doc, rn, "url");
    if (rc == 0 && n == NULL) {
        rc = br_yaml_error(doc, rn, err, BR_EPARSE, "receiver \"%s\" needs a \"url\"", r->name);
    }
    if (rc == 0) {
        rc = set_string(doc, n, "url", &r->url, false, err);
        if (rc == 0 && strncmp(r->url, "http://", 7) != 0 && strncmp(r->url, "https://", 8) != 0) {
            rc = br_yaml_error(doc, n, err, BR_EPARSE,
                               "receiver \"url\" must start with http:// or https://, got \"%s\"",
                               r->url);
        }
    }
    n = br_yaml_map_get(doc, rn, "bearer_token_file");
    if (rc == 0 && n != NULL) {
        rc = set_string(doc, n, "bearer_token_file", &r->bearer_token_file, false, err);
    }
    n = br_yaml_map_get(doc, rn, "hmac_secret_file");
    if (rc == 0 && n != NULL) {
        rc = set_string(doc, n, "hmac_secret_file", &r->hmac_secret_file, false, err);
        if (rc == 0 && r->kind != BR_RECEIVER_WEBHOOK) {
            rc = br_yaml_error(doc, n, err, BR_EPARSE,
                               "\"hmac_secret_file\" applies to webhook receivers only");
        }
    }
    n = br_yaml_map_get(doc, rn, "timeout");
    if (rc == 0 && n != NULL) {
        rc = br_yaml_get_duration(doc, n, "timeout", false, &r->timeout_ms, err);
    }
    n = br_yaml_map_get(doc, rn, "match");
    if (rc == 0 && n != NULL) {
        rc = load_receiver_match(doc, n, r, err);
    }
    n = br_yaml_map_get(doc, rn, "tls");
    if (rc == 0 && n != NULL) {
        rc = load_receiver_tls(doc, n, r, err);
    }
    /* Grouping belongs to webhooks: Alertmanager groups by its own route. */
    static const char *const webhook_only[] = {"group_by", "group_wait", "group_interval",
                                               "repeat_interval"};
    for (size_t i = 0; rc == 0 && i < 4; i++) {
        n = br_yaml_map_get(doc, rn, webhook_only[i]);
        if (n != NULL && r->kind != BR_RECEIVER_WEBHOOK) {
            rc = br_yaml_error(doc, n, err, BR_EPARSE,
                               "\"%s\" applies to webhook receivers only (Alertmanager groups "
                               "alerts by its own route)",
                               webhook_only[i]);
        }
    }
    n = br_yaml_map_get(doc, rn, "group_by");
    if (rc == 0 && n != NULL) {
        rc = load_receiver_group_by(doc, n, r, err);
    }
    int64_t *durations[] = {&r->group_wait_ms, &r->group_interval_ms, &r->repeat_interval_ms};
    for (size_t i = 0; rc == 0 && i < 3; i++) {
        n = br_yaml_map_get(doc, rn, webhook_only[i + 1]);
        if (n != NULL) {
            /* group_wait may be 0 (notify at the next notifier step). */
            rc = br_yaml_get_duration(doc, n, webhook_only[i + 1], i == 0, durations[i], err);
        }
    }
    return rc;
}

static int load_receivers(br_yaml_doc *doc, const br_yaml_node *seq, br_config *c, br_err *err)
{
    int rc = br_yaml_expect_seq(doc, seq, "receivers", err);
    if (rc != 0) {
        return rc;
    }
    free_receivers(c);
    size_t n = br_yaml_seq_size(seq);
    c->receivers = br_calloc(n ? n : 1, sizeof(*c->receivers));
    for (size_t i = 0; i < n; i++) {
        br_yaml_node *item = br_yaml_seq_item(doc, seq, i);
        c->n_receivers = i + 1;
        rc = load_receiver(doc, item, &c->receivers[i], err);
        if (rc != 0) {
            return rc;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(c->receivers[j].name, c->receivers[i].name) == 0) {
                return br_yaml_error(doc, item, err, BR_EPARSE, "duplicate receiver name \"%s\"",
                                     c->receivers[i].name);
            }
        }
    }
    return 0;
}

/* ---- remote_write_out and sharding ---- */

static int load_rw_out_headers(br_yaml_doc *doc, const br_yaml_node *hn, br_rw_out_config *r,
                               br_err *err)
{
    int rc = br_yaml_expect_map(doc, hn, "headers", err);
    if (rc != 0) {
        return rc;
    }
    size_t n = br_yaml_map_size(hn);
    r->headers = br_calloc(n ? n : 1, sizeof(*r->headers));
    for (size_t i = 0; i < n; i++) {
        br_yaml_node *kn = NULL;
        br_yaml_node *vn = NULL;
        const char *name = br_yaml_map_key(doc, hn, i, &kn, &vn);
        bool ok = name != NULL && *name != '\0';
        for (const char *p = name; ok && *p != '\0'; p++) {
            ok = *p > ' ' && *p < 127 && *p != ':';
        }
        if (!ok) {
            return br_yaml_error(doc, kn, err, BR_EPARSE,
                                 "remote_write_out \"%s\": header names must be tokens without "
                                 "spaces or ':', got \"%s\"",
                                 r->name, name ? name : "a non-scalar");
        }
        const char *value = NULL;
        rc = br_yaml_get_string(doc, vn, "headers value", &value, err);
        if (rc != 0) {
            return rc;
        }
        if (strchr(value, '\n') != NULL || strchr(value, '\r') != NULL) {
            return br_yaml_error(doc, vn, err, BR_EPARSE,
                                 "remote_write_out \"%s\": header \"%s\" must be one line",
                                 r->name, name);
        }
        r->headers[i].name = br_strdup(name);
        r->headers[i].value = br_strdup(value);
        r->n_headers = i + 1;
    }
    return 0;
}

static int load_rw_out_tls(br_yaml_doc *doc, const br_yaml_node *tn, br_rw_out_config *r,
                           br_err *err)
{
    static const char *const keys[] = {"ca_file", "cert_file", "key_file",
                                       "insecure_skip_verify", NULL};
    int rc = br_yaml_expect_map(doc, tn, "tls", err);
    if (rc == 0) {
        rc = br_yaml_check_keys(doc, tn, "remote_write_out[].tls", keys, err);
    }
    char **slots[] = {&r->tls_ca_file, &r->tls_cert_file, &r->tls_key_file};
    for (size_t i = 0; rc == 0 && i < 3; i++) {
        br_yaml_node *n = br_yaml_map_get(doc, tn, keys[i]);
        if (n != NULL) {
            rc = set_string(doc, n, keys[i], slots[i], false, err);
        }
    }
    br_yaml_node *n = br_yaml_map_get(doc, tn, "insecure_skip_verify");
    if (rc == 0 && n != NULL) {
        rc = br_yaml_get_bool(doc, n, "insecure_skip_verify", &r->tls_insecure_skip_verify, err);
    }
    if (rc == 0 && (r->tls_cert_file == NULL) != (r->tls_key_file == NULL)) {
        rc = br_yaml_error(doc, tn, err, BR_EPARSE,
                           "remote_write_out \"%s\": tls.cert_file and tls.key_file go together",
                           r->name);
    }
    return rc;
}

static int load_rw_out_queue(br_yaml_doc *doc, const br_yaml_node *qn, br_rw_out_config *r,
                             br_err *err)
{
    static const char *const keys[] = {"max_samples_per_send", "batch_send_deadline",
                                       "min_backoff",          "max_backoff",
                                       "shards",               "capacity",
                                       NULL};
    int rc = br_yaml_expect_map(doc, qn, "queue", err);
    if (rc == 0) {
        rc = br_yaml_check_keys(doc, qn, "remote_write_out[].queue", keys, err);
    }
    br_yaml_node *n = br_yaml_map_get(doc, qn, "max_samples_per_send");
    if (rc == 0 && n != NULL) {
        rc = br_yaml_get_int(doc, n, "queue.max_samples_per_send", 1, 1000000,
                             &r->max_samples_per_send, err);
    }
    n = br_yaml_map_get(doc, qn, "shards");
    if (rc == 0 && n != NULL) {
        rc = br_yaml_get_int(doc, n, "queue.shards", 1, 64, &r->shards, err);
    }
    n = br_yaml_map_get(doc, qn, "capacity");
    if (rc == 0 && n != NULL) {
        rc = br_yaml_get_int(doc, n, "queue.capacity", 1, 100000000, &r->capacity, err);
    }
    int64_t *durs[] = {&r->batch_send_deadline_ms, &r->min_backoff_ms, &r->max_backoff_ms};
    for (size_t i = 0; rc == 0 && i < 3; i++) {
        n = br_yaml_map_get(doc, qn, keys[i + 1]);
        if (n != NULL) {
            char q[64];
            snprintf(q, sizeof(q), "queue.%s", keys[i + 1]);
            rc = br_yaml_get_duration(doc, n, q, false, durs[i], err);
        }
    }
    if (rc == 0 && r->min_backoff_ms > r->max_backoff_ms) {
        rc = br_yaml_error(doc, qn, err, BR_EPARSE,
                           "remote_write_out \"%s\": queue.min_backoff must not exceed "
                           "queue.max_backoff",
                           r->name);
    }
    return rc;
}

static int load_rw_out_one(br_yaml_doc *doc, const br_yaml_node *rn, br_rw_out_config *r,
                           br_err *err)
{
    static const char *const keys[] = {"name",       "url", "headers", "bearer_token_file",
                                       "basic_auth", "tls", "timeout", "queue",
                                       NULL};
    br_rw_out_config_defaults(r);
    int rc = br_yaml_expect_map(doc, rn, "remote_write_out[]", err);
    if (rc == 0) {
        rc = br_yaml_check_keys(doc, rn, "a remote_write_out entry", keys, err);
    }
    if (rc != 0) {
        return rc;
    }
    br_yaml_node *n = br_yaml_map_get(doc, rn, "name");
    if (n == NULL) {
        return br_yaml_error(doc, rn, err, BR_EPARSE, "a remote_write_out entry needs a \"name\"");
    }
    rc = set_string(doc, n, "name", &r->name, false, err);
    for (const char *p = r->name; rc == 0 && *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.') ||
            (p == r->name && *p == '.')) {
            rc = br_yaml_error(doc, n, err, BR_EPARSE,
                               "remote_write_out \"name\" may hold letters, digits, '_', '-' "
                               "and '.' (it names a directory), got \"%s\"",
                               r->name);
        }
    }
    n = br_yaml_map_get(doc, rn, "url");
    if (rc == 0 && n == NULL) {
        rc = br_yaml_error(doc, rn, err, BR_EPARSE, "remote_write_out \"%s\" needs a \"url\"",
                           r->name);
    }
    if (rc == 0) {
        rc = set_string(doc, n, "url", &r->url, false, err);
        if (rc == 0 && strncmp(r->url, "http://", 7) != 0 && strncmp(r->url, "https://", 8) != 0) {
            rc = br_yaml_error(doc, n, err, BR_EPARSE,
                               "remote_write_out \"url\" must start with http:// or https://, "
                               "got \"%s\"",
                               r->url);
        }
    }
    n = br_yaml_map_get(doc, rn, "headers");
    if (rc == 0 && n != NULL) {
        rc = load_rw_out_headers(doc, n, r, err);
    }
    n = br_yaml_map_get(doc, rn, "bearer_token_file");
    if (rc == 0 && n != NULL) {
        rc = set_string(doc, n, "bearer_token_file", &r->bearer_token_file, false, err);
    }
    n = br_yaml_map_get(doc, rn, "basic_auth");
    if (rc == 0 && n != NULL) {
        static const char *const bkeys[] = {"username", "password_file", NULL};
        rc = br_yaml_expect_map(doc, n, "basic_auth", err);
        if (rc == 0) {
            rc = br_yaml_check_keys(doc, n, "remote_write_out[].basic_auth", bkeys, err);
        }
        br_yaml_node *u = br_yaml_map_get(doc, n, "username");
        br_yaml_node *pw = br_yaml_map_get(doc, n, "password_file");
        if (rc == 0 && (u == NULL || pw == NULL)) {
            rc = br_yaml_error(doc, n, err, BR_EPARSE,
                               "remote_write_out \"%s\": basic_auth needs username and "
                               "password_file",
                               r->name);
        }
        if (rc == 0) {
            rc = set_string(doc, u, "basic_auth.username", &r->basic_auth_username, false, err);
        }
        if (rc == 0) {
            rc = set_string(doc, pw, "basic_auth.password_file", &r->basic_auth_password_file,
                            false, err);
        }
        if (rc == 0 && r->bearer_token_file != NULL) {
            rc = br_yaml_error(doc, n, err, BR_EPARSE,
                               "remote_write_out \"%s\": bearer_token_file and basic_auth "
                               "exclude each other",
                               r->name);
        }
    }
    n = br_yaml_map_get(doc, rn, "tls");
    if (rc == 0 && n != NULL) {
        rc = load_rw_out_tls(doc, n, r, err);
    }
    n = br_yaml_map_get(doc, rn, "timeout");
    if (rc == 0 && n != NULL) {
        rc = br_yaml_get_duration(doc, n, "timeout", false, &r->timeout_ms, err);
    }
    n = br_yaml_map_get(doc, rn, "queue");
    if (rc == 0 && n != NULL) {
        rc = load_rw_out_queue(doc, n, r, err);
    }
    return rc;
}

static int load_rw_out(br_yaml_doc *doc, const br_yaml_node *seq, br_config *c, br_err *err)
{
    int rc = br_yaml_expect_seq(doc, seq, "remote_write_out", err);
    if (rc != 0) {
        return rc;
    }
    free_rw_out(c);
    size_t n = br_yaml_seq_size(seq);
    c->rw_out = br_calloc(n ? n : 1, sizeof(*c->rw_out));
    for (size_t i = 0; i < n; i++) {
        br_yaml_node *item = br_yaml_seq_item(doc, seq, i);
        c->n_rw_out = i + 1;
        rc = load_rw_out_one(doc, item, &c->rw_out[i], err);
        if (rc != 0) {
            return rc;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(c->rw_out[j].name, c->rw_out[i].name) == 0) {
                return br_yaml_error(doc, item, err, BR_EPARSE,
                                     "duplicate remote_write_out name \"%s\"", c->rw_out[i].name);
            }
        }
    }
    return 0;
}

static int load_sharding(br_yaml_doc *doc, const br_yaml_node *sn, br_config *c, br_err *err)
{
    static const char *const keys[] = {"index", "count", "replica", "replica_label", NULL};
    int rc = br_yaml_expect_map(doc, sn, "sharding", err);
    if (rc == 0) {
        rc = br_yaml_check_keys(doc, sn, "sharding", keys, err);
    }
    br_yaml_node *n = br_yaml_map_get(doc, sn, "count");
    if (rc == 0 && n != NULL) {
        rc = br_yaml_get_int(doc, n, "sharding.count", 1, 1024, &c->shard_count, err);
    }
    n = br_yaml_map_get(doc, sn, "index");
    if (rc == 0 && n != NULL) {
        rc = br_yaml_get_int(doc, n, "sharding.index", 0, 1023, &c->shard_index, err);
        if (rc == 0 && c->shard_index >= c->shard_count) {
            rc = br_yaml_error(doc, n, err, BR_EPARSE,
                               "\"sharding.index\" must be below sharding.count (%lld), got %lld",
                               (long long)c->shard_count, (long long)c->shard_index);
        }
    }
    n = br_yaml_map_get(doc, sn, "replica");
    if (rc == 0 && n != NULL) {
        rc = set_string(doc, n, "sharding.replica", &c->replica, false, err);
    }
    n = br_yaml_map_get(doc, sn, "replica_label");
    if (rc == 0 && n != NULL) {
        rc = set_string(doc, n, "sharding.replica_label", &c->replica_label, false, err);
        if (rc == 0 && !valid_label_name(c->replica_label)) {
            rc = br_yaml_error(doc, n, err, BR_EPARSE,
                               "\"sharding.replica_label\" must be a label name, got \"%s\"",
                               c->replica_label);
        }
    }
    return rc;
}

static int load_slos(br_yaml_doc *doc, const br_yaml_node *seq, br_config *c, br_err *err)
{
    int rc = br_yaml_expect_seq(doc, seq, "slos", err);
    if (rc != 0) {
        return rc;
    }
    free_globs(c);
    size_t n = br_yaml_seq_size(seq);
    c->slo_globs = br_calloc(n ? n : 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        const char *s = NULL;
        br_yaml_node *item = br_yaml_seq_item(doc, seq, i);
        rc = br_yaml_get_string(doc, item, "slos[]", &s, err);
        if (rc != 0) {
            return rc;
        }
        if (*s == '\0') {
            return br_yaml_error(doc, item, err, BR_EPARSE, "\"slos\" entries must not be empty");
        }
        c->slo_globs[i] = br_strdup(s);
        c->n_slo_globs = i + 1;
    }
    return 0;
}

/* backend: where the SLO evaluator reads series (embedded or remote). */
static int load_backend_headers(br_yaml_doc *doc, const br_yaml_node *hn, br_backend_config *b,
                                br_err *err)
{
    int rc = br_yaml_expect_map(doc, hn, "backend.headers", err);
    if (rc != 0) {
        return rc;
    }
    size_t n = br_yaml_map_size(hn);
    b->headers = br_calloc(n ? n : 1, sizeof(*b->headers));
    for (size_t i = 0; i < n; i++) {
        br_yaml_node *kn = NULL;
        br_yaml_node *vn = NULL;
        const char *name = br_yaml_map_key(doc, hn, i, &kn, &vn);
        bool ok = name != NULL && *name != '\0';
        for (const char *p = name; ok && *p; p++) {
            ok = *p > ' ' && *p < 127 && *p != ':';
        }
        if (!ok) {
            return br_yaml_error(doc, kn, err, BR_EPARSE,
                                 "\"backend.headers\" keys must be HTTP header names, got \"%s\"",
                                 name ? name : "a non-scalar");
        }
        const char *value = NULL;
        rc = br_yaml_get_string(doc, vn, "backend.headers value", &value, err);
        if (rc != 0) {
            return rc;
        }
        if (strpbrk(value, "\r\n") != NULL) {
            return br_yaml_error(doc, vn, err, BR_EPARSE,
                                 "\"backend.headers\" value of %s holds a line break", name);
        }
        b->headers[i].name = br_strdup(name);
        b->headers[i].value = br_strdup(value);
        b->n_headers = i + 1;
    }
    return 0;
}

static int load_backend(br_yaml_doc *doc, const br_yaml_node *bn, br_config *c, br_err *err)
{
    static const char *const keys[] = {"type",    "url",   "flavor",     "headers",
                                       "bearer_token_file", "basic_auth", "tls", "timeout",
                                       "overlap", "refresh", NULL};
    static const char *const bakeys[] = {"username", "password_file", NULL};
    static const char *const tlskeys[] = {"ca_file", "cert_file", "key_file",
                                          "insecure_skip_verify", NULL};
    br_backend_config *b = &c->backend;
    int rc = br_yaml_expect_map(doc, bn, "backend", err);
    if (rc == 0) {
        rc = br_yaml_check_keys(doc, bn, "backend", keys, err);
    }
    br_yaml_node *n = br_yaml_map_get(doc, bn, "type");
    if (rc == 0 && n != NULL) {
        const char *s = br_yaml_scalar(n);
        if (s != NULL && strcmp(s, "embedded") == 0) {
            b->type = BR_BACKEND_EMBEDDED;
        } else if (s != NULL && strcmp(s, "prometheus") == 0) {
            b->type = BR_BACKEND_PROMETHEUS;
        } else {
            rc = br_yaml_error(doc, n, err, BR_EPARSE,
                               "\"backend.type\" must be embedded or prometheus, got \"%s\"",
                               s ? s : "a non-scalar");
        }
    }
    n = br_yaml_map_get(doc, bn, "url");
    if (rc == 0 && n != NULL) {
        rc = set_string(doc, n, "backend.url", &b->url, false, err);
        if (rc == 0 && strncmp(b->url, "http://", 7) != 0 && strncmp(b->url, "https://", 8) != 0) {
            rc = br_yaml_error(doc, n, err, BR_EPARSE,
                               "\"backend.url\" must start with http:// or https://, got \"%s\"",
                               b->url);
        }
    }
    n = br_yaml_map_get(doc, bn, "flavor");
    if (rc == 0 && n != NULL) {
        const char *s = br_yaml_scalar(n);
        if (s != NULL && strcmp(s, "prometheus") == 0) {
            b->flavor = 0;
        } else if (s != NULL && strcmp(s, "victoriametrics") == 0) {
            b->flavor = 1;
        } else {
            rc = br_yaml_error(doc, n, err, BR_EPARSE,
                               "\"backend.flavor\" must be prometheus or victoriametrics, got "
                               "\"%s\"",
                               s ? s : "a non-scalar");
        }
    }
    n = br_yaml_map_get(doc, bn, "headers");
    if (rc == 0 && n != NULL) {
        rc = load_backend_headers(doc, n, b, err);
    }
    n = br_yaml_map_get(doc, bn, "bearer_token_file");
    if (rc == 0 && n != NULL) {
        rc = set_string(doc, n, "backend.bearer_token_file", &b->bearer_token_file, false, err);
    }
    n = br_yaml_map_get(doc, bn, "basic_auth");
    if (rc == 0 && n != NULL) {
        rc = br_yaml_expect_map(doc, n, "backend.basic_auth", err);
        if (rc == 0) {
            rc = br_yaml_check_keys(doc, n, "backend.basic_auth", bakeys, err);
        }
        br_yaml_node *u = br_yaml_map_get(doc, n, "username");
        br_yaml_node *p = br_yaml_map_get(doc, n, "password_file");
        if (rc == 0 && u == NULL) {
            rc = br_yaml_error(doc, n, err, BR_EPARSE, "\"backend.basic_auth\" needs a username");
        }
        if (rc == 0) {
            rc = set_string(doc, u, "backend.basic_auth.username", &b->basic_username, false, err);
        }
        if (rc == 0 && p != NULL) {
            rc = set_string(doc, p, "backend.basic_auth.password_file", &b->basic_password_file,
                            false, err);
        }
    }
    n = br_yaml_map_get(doc, bn, "tls");
    if (rc == 0 && n != NULL) {
        rc = br_yaml_expect_map(doc, n, "backend.tls", err);
        if (rc == 0) {
            rc = br_yaml_check_keys(doc, n, "backend.tls", tlskeys, err);
        }
        static const char *const names[3] = {"backend.tls.ca_file", "backend.tls.cert_file",
                                             "backend.tls.key_file"};
        char **slots[3] = {&b->ca_file, &b->cert_file, &b->key_file};
        for (int i = 0; i < 3 && rc == 0; i++) {
            br_yaml_node *f = br_yaml_map_get(doc, n, tlskeys[i]);
            if (f != NULL) {
                rc = set_string(doc, f, names[i], slots[i], false, err);
            }
        }
        br_yaml_node *iv = br_yaml_map_get(doc, n, "insecure_skip_verify");
        if (rc == 0 && iv != NULL) {
            rc = br_yaml_get_bool(doc, iv, "backend.tls.insecure_skip_verify",
                                  &b->insecure_skip_verify, err);
        }
        if (rc == 0 && (b->cert_file == NULL) != (b->key_file == NULL)) {
            rc = br_yaml_error(doc, n, err, BR_EPARSE,
                               "\"backend.tls\" needs both cert_file and key_file, or neither");
        }
    }
    static const char *const dkeys[3] = {"timeout", "overlap", "refresh"};
    static const char *const dnames[3] = {"backend.timeout", "backend.overlap",
                                          "backend.refresh"};
    int64_t *dslots[3] = {&b->timeout_ms, &b->overlap_ms, &b->refresh_ms};
    for (int i = 0; i < 3 && rc == 0; i++) {
        n = br_yaml_map_get(doc, bn, dkeys[i]);
        if (n != NULL) {
            rc = br_yaml_get_duration(doc, n, dnames[i], false, dslots[i], err);
        }
    }
    if (rc == 0 && b->type == BR_BACKEND_PROMETHEUS && b->url == NULL) {
        rc = br_yaml_error(doc, bn, err, BR_EPARSE,
                           "\"backend.url\" is required with type: prometheus");
    }
    return rc;
}

int br_config_load(br_config *c, const char *path, br_err *err)
{
    static const char *const keys[] = {"listen",   "external_url", "log_level", "storage",
                                       "evaluation", "slos",       "remote_write", "limits",
                                       "auth",     "receivers",    "promql",    "admin",
                                       "tls",      "backend",
                                       "remote_write_out", "sharding", NULL};
    br_yaml_doc doc;
    int rc = br_yaml_load_file(&doc, path, err);
    if (rc != 0) {
        return rc;
    }
    br_free(c->source_file);
    c->source_file = br_strdup(path);
    br_yaml_node *root = br_yaml_root(&doc);
    if (root == NULL || (br_yaml_is_scalar(root) && br_yaml_scalar(root)[0] == '\0')) {
        br_yaml_free(&doc);
        return 0; /* an empty file keeps every default */
    }
    rc = br_yaml_expect_map(&doc, root, "the top level", err);
    if (rc == 0) {
        rc = br_yaml_check_keys(&doc, root, "the top level", keys, err);
    }
    br_yaml_node *n = br_yaml_map_get(&doc, root, "listen");
    if (rc == 0 && n != NULL) {
        rc = set_string(&doc, n, "listen", &c->listen, false, err);
        if (rc == 0) {
            char host[256];
            int port;
            br_err tmp;
            br_err_clear(&tmp);
            if (br_split_hostport(c->listen, host, sizeof(host), &port, &tmp) != 0) {
                rc = br_yaml_error(&doc, n, err, BR_EPARSE, "\"listen\": %s", tmp.msg);
            }
        }
    }
    n = br_yaml_map_get(&doc, root, "external_url");
    if (rc == 0 && n != NULL) {
        rc = set_string(&doc, n, "external_url", &c->external_url, false, err);
        if (rc == 0 && strncmp(c->external_url, "http://", 7) != 0 &&
            strncmp(c->external_url, "https://", 8) != 0) {
            rc = br_yaml_error(&doc, n, err, BR_EPARSE,
                               "\"external_url\" must start with http:// or https://, got \"%s\"",
                               c->external_url);
        }
    }
    n = br_yaml_map_get(&doc, root, "log_level");
    if (rc == 0 && n != NULL) {
        const char *s = br_yaml_scalar(n);
        if (s == NULL || br_log_parse_level(s, &c->log_level) != 0) {
            rc = br_yaml_error(&doc, n, err, BR_EPARSE,
                               "\"log_level\" must be debug, info, warn or error, got \"%s\"",
                               s ? s : "a non-scalar");
        }
    }
    n = br_yaml_map_get(&doc, root, "storage");
    if (rc == 0 && n != NULL) {
        rc = load_storage(&doc, n, c, err);
    }
    n = br_yaml_map_get(&doc, root, "evaluation");
    if (rc == 0 && n != NULL) {
        static const char *const ekeys[] = {"interval", NULL};
        rc = br_yaml_expect_map(&doc, n, "evaluation", err);
        if (rc == 0) {
            rc = br_yaml_check_keys(&doc, n, "evaluation", ekeys, err);
        }
        br_yaml_node *iv = br_yaml_map_get(&doc, n, "interval");
        if (rc == 0 && iv != NULL) {
            rc = br_yaml_get_duration(&doc, iv, "evaluation.interval", false,
                                      &c->evaluation_interval_ms, err);
        }
    }
    n = br_yaml_map_get(&doc, root, "slos");
    if (rc == 0 && n != NULL) {
        rc = load_slos(&doc, n, c, err);
    }
    n = br_yaml_map_get(&doc, root, "remote_write");
    if (rc == 0 && n != NULL) {
        rc = load_remote_write(&doc, n, c, err);
    }
    n = br_yaml_map_get(&doc, root, "limits");
    if (rc == 0 && n != NULL) {
        rc = load_limits(&doc, n, c, err);
    }
    n = br_yaml_map_get(&doc, root, "auth");
    if (rc == 0 && n != NULL) {
        rc = load_auth(&doc, n, c, err);
    }
    n = br_yaml_map_get(&doc, root, "admin");
    if (rc == 0 && n != NULL) {
        rc = load_admin(&doc, n, c, err);
    }
    n = br_yaml_map_get(&doc, root, "tls");
    if (rc == 0 && n != NULL) {
        rc = load_tls(&doc, n, c, err);
    }
    n = br_yaml_map_get(&doc, root, "promql");
    if (rc == 0 && n != NULL) {
        rc = load_promql(&doc, n, c, err);
    }
    n = br_yaml_map_get(&doc, root, "receivers");
    if (rc == 0 && n != NULL) {
        rc = load_receivers(&doc, n, c, err);
    }
    n = br_yaml_map_get(&doc, root, "backend");
    if (rc == 0 && n != NULL) {
        rc = load_backend(&doc, n, c, err);
    }
    n = br_yaml_map_get(&doc, root, "remote_write_out");
    if (rc == 0 && n != NULL) {
        rc = load_rw_out(&doc, n, c, err);
    }
    n = br_yaml_map_get(&doc, root, "sharding");
    if (rc == 0 && n != NULL) {
        rc = load_sharding(&doc, n, c, err);
    }
    br_yaml_free(&doc);
    return rc;
}

int br_config_apply_flags(br_config *c, const br_config_flags *f, br_err *err)
{
    if (f->listen != NULL) {
        char host[256];
        int port;
        int rc = br_split_hostport(f->listen, host, sizeof(host), &port, err);
        if (rc != 0) {
            br_err_prefix(err, "--listen");
            return rc;
        }
        br_free(c->listen);
        c->listen = br_strdup(f->listen);
    }
    if (f->data_dir != NULL) {
        if (f->data_dir[0] == '\0') {
            return br_err_set(err, BR_EINVAL, "--data-dir must not be empty");
        }
        br_free(c->data_dir);
        c->data_dir = br_strdup(f->data_dir);
    }
    if (f->log_level != NULL && br_log_parse_level(f->log_level, &c->log_level) != 0) {
        return br_err_set(err, BR_EINVAL, "--log.level must be debug, info, warn or error, got \"%s\"",
                          f->log_level);
    }
    if (f->n_slo_globs > 0) {
        free_globs(c);
        c->slo_globs = br_calloc(f->n_slo_globs, sizeof(char *));
        for (size_t i = 0; i < f->n_slo_globs; i++) {
            c->slo_globs[i] = br_strdup(f->slo_globs[i]);
        }
        c->n_slo_globs = f->n_slo_globs;
    }
    if (f->has_shard) {
        if (f->shard_count < 1 || f->shard_count > 1024) {
            return br_err_set(err, BR_EINVAL, "--shard-count must be 1..1024, got %lld",
                              (long long)f->shard_count);
        }
        if (f->shard_index < 0 || f->shard_index >= f->shard_count) {
            return br_err_set(err, BR_EINVAL,
                              "--shard-index must be 0..%lld (below --shard-count), got %lld",
                              (long long)f->shard_count - 1, (long long)f->shard_index);
        }
        c->shard_index = f->shard_index;
        c->shard_count = f->shard_count;
    }
    return 0;
}

/* Reads a PEM file (at most 1 MiB) into *out; `key` names the config key
 * in messages. */
static int read_pem(const char *path, const char *key, char **out, br_err *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return br_err_set(err, BR_EIO, "%s: cannot read %s: %s", key, path, strerror(errno));
    }
    enum { MAX_PEM = 1 << 20 };
    char *buf = br_malloc(MAX_PEM + 1);
    size_t n = fread(buf, 1, MAX_PEM + 1, f);
    fclose(f);
    if (n > MAX_PEM) {
        br_free(buf);
        return br_err_set(err, BR_ELIMIT, "%s: %s is larger than 1MiB", key, path);
    }
    buf[n] = '\0';
    if (strstr(buf, "-----BEGIN ") == NULL) {
        br_free(buf);
        return br_err_set(err, BR_EINVAL, "%s: %s is not PEM (no -----BEGIN line)", key, path);
    }
    br_free(*out);
    *out = buf;
    return 0;
}

/* Checks that a file named by the config can be opened for reading. */
static int check_readable(const char *path, const char *what, br_err *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return br_err_set(err, BR_EIO, "%s: cannot read %s: %s", what, path, strerror(errno));
    }
    fclose(f);
    return 0;
}

int br_config_load_secrets(br_config *c, br_err *err)
{
    br_auth_options ao;
    memset(&ao, 0, sizeof(ao));
    ao.admin_enabled = c->auth.admin_enabled;
    ao.groups[BR_AUTH_WRITE].token_file = c->auth.write_token_file;
    ao.groups[BR_AUTH_READ].token_file = c->auth.read_token_file;
    ao.groups[BR_AUTH_ADMIN].token_file = c->auth.admin_token_file;
    ao.groups[BR_AUTH_UI].token_file = c->auth.ui_token_file;
    ao.groups[BR_AUTH_WRITE].users_file = c->auth.write_users_file;
    ao.groups[BR_AUTH_READ].users_file = c->auth.read_users_file;
    ao.groups[BR_AUTH_ADMIN].users_file = c->auth.admin_users_file;
    ao.groups[BR_AUTH_UI].users_file = c->auth.ui_users_file;
    br_auth *checker = br_auth_new(&ao, err);
    if (checker == NULL) {
        return err->code != 0 ? err->code : BR_EINVAL;
    }
    br_auth_free(c->auth.checker);
    c->auth.checker = checker;
    int rc = 0;
    if (c->tls.cert_file != NULL) {
        rc = read_pem(c->tls.cert_file, "tls.cert_file", &c->tls.cert_pem, err);
    }
    if (rc == 0 && c->tls.key_file != NULL) {
        rc = read_pem(c->tls.key_file, "tls.key_file", &c->tls.key_pem, err);
    }
    if (rc == 0 && c->tls.client_ca_file != NULL) {
        rc = read_pem(c->tls.client_ca_file, "tls.client_ca_file", &c->tls.client_ca_pem, err);
    }
    for (size_t i = 0; rc == 0 && i < c->n_receivers; i++) {
        const br_receiver_config *r = &c->receivers[i];
        const char *files[] = {r->tls.ca_file, r->tls.cert_file, r->tls.key_file};
        static const char *const keys[] = {"tls.ca_file", "tls.cert_file", "tls.key_file"};
        for (size_t k = 0; rc == 0 && k < 3; k++) {
            if (files[k] != NULL) {
                char what[300];
                snprintf(what, sizeof(what), "receiver \"%s\": %s", r->name, keys[k]);
                rc = check_readable(files[k], what, err);
            }
        }
    }
    if (rc == 0 && c->backend.bearer_token_file != NULL) {
        rc = br_read_secret_file(c->backend.bearer_token_file, "backend.bearer_token_file",
                         &c->backend.bearer_token, err);
    }
    if (rc == 0 && c->backend.basic_password_file != NULL) {
        rc = br_read_secret_file(c->backend.basic_password_file, "backend.basic_auth.password_file",
                         &c->backend.basic_password, err);
    }
    return rc;
}
