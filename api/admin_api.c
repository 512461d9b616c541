/*
 * admin_api.c — health, readiness, reload, /metrics and the embedded UI.
 * See admin_api.h. Texts follow Prometheus' lifecycle endpoints so the same
 * probes and `promtool check healthy|ready` work against burnrate.
 */
#include "admin_api.h"

#include "api/web_assets.h"

#include <string.h>

static int handle_healthy(void *ctx, br_http_request *req, br_http_response *resp)
{
    (void)ctx;
    (void)req;
    br_http_set_text(resp, 200, "burnrate is Healthy.\n");
    return 0;
}

static int handle_ready(void *ctx, br_http_request *req, br_http_response *resp)
{
    (void)req;
    br_admin_api *a = ctx;
    bool stopping = atomic_load(&a->stopping);
    if (atomic_load(&a->ready) && !stopping) {
        br_http_set_text(resp, 200, "burnrate is Ready.\n");
        return 0;
    }
    br_http_set_text(resp, 503, "Service Unavailable\n");
    br_http_add_header(resp, "X-Prometheus-Stopping", stopping ? "true" : "false");
    return 0;
}

static int handle_reload(void *ctx, br_http_request *req, br_http_response *resp)
{
    (void)req;
    br_admin_api *a = ctx;
    if (a->reload == NULL) {
        br_http_set_text(resp, 501, "reload is not available\n");
        return 0;
    }
    br_err err;
    br_err_clear(&err);
    if (a->reload(a->reload_ctx, &err) != 0) {
        char msg[600];
        br_http_set_text(resp, 500, "failed to reload config: %s\n",
                         br_err_format(&err, msg, sizeof(msg)));
        return 0;
    }
    resp->status = 200;
    return 0;
}

static int handle_metrics(void *ctx, br_http_request *req, br_http_response *resp)
{
    (void)req;
    br_admin_api *a = ctx;
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    br_metrics_render(a->metrics, &resp->body);
    return 0;
}

static int handle_web(void *ctx, br_http_request *req, br_http_response *resp)
{
    (void)ctx;
    const char *path = strcmp(req->path, "/") == 0 ? "/index.html" : req->path;
    for (const br_web_asset *w = br_web_assets; w->path != NULL; w++) {
        if (strcmp(w->path, path) == 0) {
            resp->status = 200;
            resp->content_type = w->content_type;
            br_buf_append(&resp->body, w->data, w->len);
            br_http_add_header(resp, "Cache-Control",
                               strcmp(path, "/index.html") == 0 ? "no-cache" : "max-age=300");
            br_http_add_header(resp, "X-Content-Type-Options", "nosniff");
            return 0;
        }
    }
    br_http_set_text(resp, 404, "404 page not found\n");
    return 0;
}

void br_admin_api_register(br_http_server *s, br_admin_api *a)
{
    br_http_route(s, BR_HTTP_GET, "/-/healthy", "/-/healthy", 0, handle_healthy, a);
    br_http_route(s, BR_HTTP_GET, "/-/ready", "/-/ready", 0, handle_ready, a);
    br_http_route(s, BR_HTTP_POST | BR_HTTP_PUT, "/-/reload", "/-/reload", 0, handle_reload, a);
    br_http_route(s, BR_HTTP_GET, "/metrics", "/metrics", 0, handle_metrics, a);
    br_http_route(s, BR_HTTP_GET, "/", "/", 0, handle_web, a);
    for (const br_web_asset *w = br_web_assets; w->path != NULL; w++) {
        br_http_route(s, BR_HTTP_GET, w->path, "/static", 0, handle_web, a);
    }
}
