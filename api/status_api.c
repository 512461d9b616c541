/*
 * status_api.c — status and metadata endpoints. See status_api.h.
 */
#include "status_api.h"

#include "api/json.h"
#include "engine/core/alloc.h"
#include "engine/core/buf.h"
#include "engine/core/clock.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PROMETHEUS_API_LEVEL "2.53.0"
#define MAX_CONFIG_BYTES     (4u * 1024 * 1024)

static int handle_buildinfo(void *ctx, br_http_request *req, br_http_response *resp)
{
    (void)ctx;
    (void)req;
    const char *data = "{\"version\":\"" PROMETHEUS_API_LEVEL "\",\"revision\":\"burnrate-" BR_VERSION
                       "\",\"branch\":\"main\",\"buildUser\":\"burnrate\",\"buildDate\":\"\","
                       "\"goVersion\":\"none (burnrate is written in C)\"}";
    br_api_success(resp, data, strlen(data));
    return 0;
}

static int handle_runtimeinfo(void *ctx, br_http_request *req, br_http_response *resp)
{
    (void)req;
    br_status_info *info = ctx;
    bool reload_ok = true;
    int64_t last_reload = info->start_ms;
    char config_file[1024] = "";
    char retention[64] = "";
    info->current(info->ctx, &reload_ok, &last_reload, config_file, sizeof(config_file), retention,
                  sizeof(retention));
    char cwd[1024];
    if (getcwd(cwd, sizeof(cwd)) == NULL) {
        snprintf(cwd, sizeof(cwd), "unknown");
    }
    char host[256];
    if (gethostname(host, sizeof(host)) != 0) {
        snprintf(host, sizeof(host), "unknown");
    }
    host[sizeof(host) - 1] = '\0';
    char t1[40];
    char t2[40];
    char t3[40];
    br_buf b;
    br_buf_init(&b, 0);
    br_buf_puts(&b, "{\"startTime\":");
    br_json_string(&b, br_format_rfc3339_ms(info->start_ms, t1, sizeof(t1)));
    br_buf_puts(&b, ",\"CWD\":");
    br_json_string(&b, cwd);
    br_buf_puts(&b, ",\"hostname\":");
    br_json_string(&b, host);
    br_buf_puts(&b, ",\"serverTime\":");
    br_json_string(&b, br_format_rfc3339_ms(br_now_ms(), t2, sizeof(t2)));
    br_buf_printf(&b, ",\"reloadConfigSuccess\":%s,\"lastConfigTime\":",
                  reload_ok ? "true" : "false");
    br_json_string(&b, br_format_rfc3339_ms(last_reload, t3, sizeof(t3)));
    br_buf_puts(&b, ",\"corruptionCount\":0,\"goroutineCount\":0,\"GOMAXPROCS\":");
    br_buf_printf(&b, "%ld", sysconf(_SC_NPROCESSORS_ONLN));
    br_buf_puts(&b, ",\"GOMEMLIMIT\":0,\"GOGC\":\"\",\"GODEBUG\":\"\",\"storageRetention\":");
    br_json_string(&b, retention);
    br_buf_putc(&b, '}');
    br_api_success(resp, br_buf_str(&b), b.len);
    br_buf_free(&b);
    return 0;
}

static int handle_flags(void *ctx, br_http_request *req, br_http_response *resp)
{
    (void)req;
    br_status_info *info = ctx;
    br_buf b;
    br_buf_init(&b, 0);
    br_buf_putc(&b, '{');
    for (size_t i = 0; info->flags != NULL && info->flags[i] != NULL; i += 2) {
        if (i > 0) {
            br_buf_putc(&b, ',');
        }
        br_json_string(&b, info->flags[i]);
        br_buf_putc(&b, ':');
        br_json_string(&b, info->flags[i + 1] ? info->flags[i + 1] : "");
    }
    br_buf_putc(&b, '}');
    br_api_success(resp, br_buf_str(&b), b.len);
    br_buf_free(&b);
    return 0;
}

static int handle_config(void *ctx, br_http_request *req, br_http_response *resp)
{
    (void)req;
    br_status_info *info = ctx;
    bool ok;
    int64_t last;
    char config_file[1024] = "";
    char retention[64];
    info->current(info->ctx, &ok, &last, config_file, sizeof(config_file), retention,
                  sizeof(retention));
    br_buf text;
    br_buf_init(&text, MAX_CONFIG_BYTES);
    if (config_file[0] != '\0') {
        FILE *f = fopen(config_file, "r");
        if (f != NULL) {
            char chunk[4096];
            size_t n;
            while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 &&
                   br_buf_append(&text, chunk, n) == 0) {
            }
            fclose(f);
        }
    }
    br_buf b;
    br_buf_init(&b, 0);
    br_buf_puts(&b, "{\"yaml\":");
    br_json_string(&b, br_buf_str(&text));
    br_buf_putc(&b, '}');
    br_api_success(resp, br_buf_str(&b), b.len);
    br_buf_free(&b);
    br_buf_free(&text);
    return 0;
}

static int handle_empty_object(void *ctx, br_http_request *req, br_http_response *resp)
{
    (void)ctx;
    (void)req;
    br_api_success(resp, "{}", 2);
    return 0;
}

static int handle_empty_list(void *ctx, br_http_request *req, br_http_response *resp)
{
    (void)ctx;
    (void)req;
    br_api_success(resp, "[]", 2);
    return 0;
}

void br_status_api_register(br_http_server *s, br_status_info *info)
{
    unsigned gp = BR_HTTP_GET | BR_HTTP_POST;
    br_http_route(s, gp, "/api/v1/status/buildinfo", "/api/v1/status/buildinfo", 0,
                  handle_buildinfo, info);
    br_http_route(s, gp, "/api/v1/status/runtimeinfo", "/api/v1/status/runtimeinfo", 0,
                  handle_runtimeinfo, info);
    br_http_route(s, gp, "/api/v1/status/flags", "/api/v1/status/flags", 0, handle_flags, info);
    br_http_route(s, gp, "/api/v1/status/config", "/api/v1/status/config", 0, handle_config,
                  info);
    br_http_route(s, gp, "/api/v1/metadata", "/api/v1/metadata", 0, handle_empty_object, info);
    br_http_route(s, gp, "/api/v1/query_exemplars", "/api/v1/query_exemplars", 0,
                  handle_empty_list, info);
}
