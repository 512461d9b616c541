/*
 * status_api.h — the Prometheus API's status and metadata endpoints that
 * Grafana and promtool call to detect and describe a server:
 *   /api/v1/status/buildinfo   version info; `version` is the Prometheus
 *                              API level burnrate implements (a 2.x semver,
 *                              so Grafana maps it), burnrate's own version
 *                              is in `revision`; no `features` key (Grafana
 *                              would take the server for Mimir)
 *   /api/v1/status/runtimeinfo start time, CWD, hostname, reload state,
 *                              storage retention
 *   /api/v1/status/flags       the command-line flags as strings
 *   /api/v1/status/config      {"yaml": <the configuration file's text>}
 *   /api/v1/metadata           {} (burnrate keeps no metric metadata)
 *   /api/v1/query_exemplars    [] (burnrate keeps no exemplars)
 * GET and POST are accepted everywhere (Grafana may POST to GET-only
 * paths). The process fills br_status_info and keeps it alive.
 */
#ifndef BR_API_STATUS_API_H
#define BR_API_STATUS_API_H

#include "api/server.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct br_status_info {
    int64_t start_ms;
    /* Current values, read through the callback on each request. */
    void (*current)(void *ctx, bool *reload_ok, int64_t *last_reload_ms, char *config_file,
                    size_t config_file_size, char *retention, size_t retention_size);
    void *ctx;
    /* Flags as given on the command line: NULL-terminated name/value
     * pairs (borrowed). */
    const char *const *flags;
} br_status_info;

void br_status_api_register(br_http_server *s, br_status_info *info);

#endif
