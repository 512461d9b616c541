/*
 * config.h — burnrate's main configuration: the YAML file given with
 * --config, overridden by command-line flags.
 *
 * Every field has a default (br_config_init), so an empty file or no file
 * is a valid configuration. br_config_load() reads a file over those
 * defaults and rejects unknown keys and wrong types with file:line:col.
 * Flags are applied afterwards (br_config_apply_flags) so scripts need no
 * config edits. The documented schema is examples/burnrate.yml.
 *
 * Ownership: a br_config owns all its strings; br_config_free releases
 * them. A loaded config is immutable; reload builds a new one and the
 * server swaps it in only when it loaded cleanly (a bad reload keeps the
 * old config running).
 */
#ifndef BR_ENGINE_CONFIG_H
#define BR_ENGINE_CONFIG_H

#include "engine/core/err.h"
#include "engine/core/log.h"
#include "storage/wal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum br_receiver_kind {
    BR_RECEIVER_WEBHOOK = 0,
    BR_RECEIVER_ALERTMANAGER = 1,
} br_receiver_kind;

/* One routing condition: the alert's label `name` must equal `value`. */
typedef struct br_receiver_match {
    char *name;
    char *value;
} br_receiver_match;

/* Outgoing TLS for a receiver (receivers[].tls). All NULL/false = the
 * system trust store and full verification. */
typedef struct br_tls_client_config {
    char *ca_file;             /* PEM CA bundle to verify the receiver; NULL = system */
    char *cert_file;           /* PEM client certificate (mTLS); NULL = none */
    char *key_file;            /* PEM key of cert_file; required with it */
    bool insecure_skip_verify; /* no certificate or host name check (tests only) */
} br_tls_client_config;

/* Where pages go (rules/notifier.h delivers). Routing: an alert goes to
 * every receiver whose `match` conditions all hold (no condition = every
 * alert). Webhook receivers group alerts like Alertmanager's route: one
 * notification per distinct value set of group_by, first after group_wait,
 * then at most every group_interval when the group changed, and again
 * after repeat_interval when nothing changed. Alertmanager receivers get
 * every alert as Prometheus sends them (Alertmanager groups itself). */
typedef struct br_receiver_config {
    char *name;
    br_receiver_kind kind;
    char *url;
    char *bearer_token_file;  /* NULL = none */
    char *hmac_secret_file;   /* webhooks only; NULL = unsigned */
    int64_t timeout_ms;       /* per request; default 10s */
    br_receiver_match *match; /* all must hold; n_match 0 = every alert */
    size_t n_match;
    char **group_by;            /* webhooks: label names; default alertname, sloth_id;
                                 * empty = one group; {"..."} = every label */
    size_t n_group_by;
    int64_t group_wait_ms;      /* webhooks: default 30s */
    int64_t group_interval_ms;  /* webhooks: default 5m */
    int64_t repeat_interval_ms; /* webhooks: default 4h */
    br_tls_client_config tls;
} br_receiver_config;

typedef struct br_limits_config {
    int64_t max_body_bytes;          /* compressed request body */
    int64_t max_decompressed_bytes;  /* after snappy */
    int64_t max_series_per_request;
    int64_t max_samples_per_request;
    int64_t max_labels_per_series;
    int64_t max_label_name_length;
    int64_t max_label_value_length;
    int64_t max_active_series;
    int64_t max_inflight_write_bytes; /* remote-write bodies decoded at once (503 above) */
    /* HTTP server limits (api/server.c); each hit is answered with a
     * status and counted in burnrate_http_limited_requests_total{reason}. */
    int64_t max_connections;        /* open connections; over it: 503 */
    int64_t max_connections_per_ip; /* per client address; over it: 429 */
    int64_t connection_timeout_ms;  /* idle/slow client; the connection is closed */
    int64_t max_header_bytes;       /* per-connection header memory; over it: 431 */
    double write_rate_limit;        /* samples/s per client (tenant or address); 0 = off */
    int64_t write_rate_burst;       /* bucket size in samples; 0 = one second's worth */
    int64_t max_slos;               /* SLO definitions; more refuses the load */
} br_limits_config;

/* The HTTP server's own TLS (api/server.c, libmicrohttpd + GnuTLS). */
typedef struct br_tls_server_config {
    char *cert_file;      /* PEM chain; NULL = plain HTTP */
    char *key_file;       /* PEM key; required with cert_file */
    char *client_ca_file; /* PEM CA: clients must present a certificate it signed */
    int min_version;      /* 12 = TLS 1.2 (default), 13 = TLS 1.3 */
    /* Read by br_config_load_secrets. */
    char *cert_pem;
    char *key_pem;
    char *client_ca_pem;
} br_tls_server_config;

struct br_auth; /* api/auth.h */

/* Credentials per route group (api/auth.h lists the groups). A group with
 * neither file is open. Token files: one token per line (rotation); users
 * files: Prometheus web.config.file style basic_auth_users with bcrypt. */
typedef struct br_auth_config {
    char *write_token_file;  /* /api/v1/write */
    char *read_token_file;   /* query, budget, rules APIs and /metrics */
    char *admin_token_file;  /* /-/reload (only when admin_enabled) */
    char *ui_token_file;     /* /, /slo/..., /query, static assets */
    char *write_users_file;
    char *read_users_file;
    char *admin_users_file;
    char *ui_users_file;
    bool admin_enabled;      /* admin: {enabled: true}; default false */
    /* Built from the files by br_config_load_secrets; owned by the config,
     * NULL before. br_auth_check may be called on it from any thread. */
    struct br_auth *checker;
} br_auth_config;

/* Where the SLO evaluator and the budget API read series from (see
 * engine/promql/backend_remote.h). The embedded store is the default; a
 * Prometheus-compatible API can take its place. */
typedef enum br_backend_kind {
    BR_BACKEND_EMBEDDED = 0,
    BR_BACKEND_PROMETHEUS = 1,
} br_backend_kind;

typedef struct br_backend_header {
    char *name;
    char *value;
} br_backend_header;

typedef struct br_backend_config {
    br_backend_kind type;
    char *url;                 /* required for prometheus */
    int flavor;                /* br_remote_flavor: 0 prometheus, 1 victoriametrics */
    br_backend_header *headers;
    size_t n_headers;
    char *bearer_token_file;   /* NULL = none */
    char *basic_username;      /* NULL = no basic auth */
    char *basic_password_file;
    char *ca_file;
    char *cert_file;
    char *key_file;
    bool insecure_skip_verify;
    int64_t timeout_ms;        /* default 30s */
    int64_t overlap_ms;        /* default 5m */
    int64_t refresh_ms;        /* default 1h */
    /* Read by br_config_load_secrets (first line, trimmed). */
    char *bearer_token;
    char *basic_password;
} br_backend_config;
/* remote_write_out[].headers: one extra HTTP header. */
typedef struct br_rw_out_header {
    char *name;
    char *value;
} br_rw_out_header;

/* One remote-write endpoint the recorded SLO series are pushed to
 * (engine/rw_out.h sends). Secrets are read from files at start-up. */
typedef struct br_rw_out_config {
    char *name;                 /* unique; names the queue directory and metrics */
    char *url;                  /* http:// or https:// */
    br_rw_out_header *headers;  /* extra headers (e.g. X-Scope-OrgID) */
    size_t n_headers;
    char *bearer_token_file;    /* NULL = none */
    char *basic_auth_username;  /* NULL = no basic auth */
    char *basic_auth_password_file;
    char *tls_ca_file;          /* NULL = system CAs */
    char *tls_cert_file;        /* client certificate; with tls_key_file */
    char *tls_key_file;
    bool tls_insecure_skip_verify;
    int64_t timeout_ms;              /* per request; default 30s */
    int64_t max_samples_per_send;    /* default 2000 */
    int64_t batch_send_deadline_ms;  /* default 5s */
    int64_t min_backoff_ms;          /* default 30ms */
    int64_t max_backoff_ms;          /* default 5s */
    int64_t shards;                  /* parallel requests; default 1, at most 64 */
    int64_t capacity;                /* samples held unsent before new ones are dropped;
                                      * default 1000000 */
} br_rw_out_config;

typedef struct br_config {
    char *source_file;  /* NULL when built from defaults and flags only */
    char *listen;       /* "ADDR:PORT" */
    char *external_url; /* how users reach burnrate (alert links); NULL = from listen */
    br_log_level log_level;
    char *data_dir;
    int64_t retention_ms;
    br_wal_fsync_policy fsync_policy;
    int64_t fsync_interval_ms;
    int64_t wal_segment_bytes;
    int64_t snapshot_interval_ms;
    int64_t snapshot_wal_bytes; /* also snapshot once this much WAL (and at least
                                   the last snapshot's size) piled up; 0 = off */
    int64_t evaluation_interval_ms;
    char **slo_globs;
    size_t n_slo_globs;
    char *tenant_header;  /* e.g. "X-Scope-OrgID"; NULL = tenants off */
    char *tenant_label;   /* label added to every series, default "tenant" */
    br_limits_config limits;
    int promql_compat;          /* 0 = Prometheus 3 semantics, 1 = Prometheus 2.x */
    int64_t query_timeout_ms;
    int64_t query_max_samples;
    int64_t lookback_delta_ms;
    br_auth_config auth;
    br_tls_server_config tls;
    br_receiver_config *receivers;
    size_t n_receivers;
    br_backend_config backend;
    br_rw_out_config *rw_out;     /* remote_write_out; n_rw_out 0 = none */
    size_t n_rw_out;
    /* sharding: this instance evaluates the SLOs with
     * br_slo_shard(id, shard_count) == shard_index (rules/evaluator.h). */
    int64_t shard_index;          /* default 0 */
    int64_t shard_count;          /* default 1 (no sharding) */
    char *replica;                /* HA replica name; NULL = none */
    char *replica_label;          /* label carrying it on remote-written series;
                                   * default "replica"; never added to alerts */
} br_config;

/* Fills defaults; the config then owns nothing that needs freeing beyond
 * what br_config_free handles. */
void br_config_init(br_config *c);
void br_config_free(br_config *c);

/* Reads path over the current values of c. On error c may be partly
 * changed: callers load into a fresh config and discard it on failure. */
int br_config_load(br_config *c, const char *path, br_err *err);

/* Command-line overrides; NULL/0 leaves the value alone. slo_globs replaces
 * the configured list when n_slo_globs > 0. */
typedef struct br_config_flags {
    const char *listen;
    const char *data_dir;
    const char *log_level;
    const char *const *slo_globs;
    size_t n_slo_globs;
    bool has_shard;       /* --shard-index / --shard-count given */
    int64_t shard_index;
    int64_t shard_count;
} br_config_flags;

int br_config_apply_flags(br_config *c, const br_config_flags *f, br_err *err);

/* The defaults of one remote_write_out entry (strings NULL). */
void br_rw_out_config_defaults(br_rw_out_config *r);

/* Reads the files the config names (auth tokens and users, TLS
 * certificates and keys, receiver CA files, backend credentials) and builds c->auth.checker; a
 * missing, empty or malformed file is an error naming the file and the
 * key (and the line for YAML users files). `burnrate check` calls it too. */
int br_config_load_secrets(br_config *c, br_err *err);

#endif
