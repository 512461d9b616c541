/*
 * server.c — libmicrohttpd glue, routing, body limits, per-request arenas
 * and request metrics. See server.h.
 *
 * libmicrohttpd runs one thread per connection (MHD_USE_THREAD_PER_CONNECTION
 * with poll), so a handler may block — a remote-write waits for the WAL
 * sync — without stalling other connections. The access handler is called
 * several times per request: first with no data (we allocate the request
 * state), then once per body chunk (we append to a capped buffer), then
 * with no data again (we dispatch). The completion callback frees the state.
 */
#include "server.h"

#include "engine/core/addr.h"
#include "engine/core/alloc.h"
#include "engine/core/clock.h"
#include "engine/core/log.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_ROUTES      96
#define MAX_STATUS_CODE 600
#define DEFAULT_BODY    (1 << 20)

typedef struct route {
    unsigned methods;
    char *path;
    bool prefix;
    char *name;
    int64_t max_body;
    br_http_handler fn;
    void *ctx;
    br_histo *duration;
    _Atomic(br_counter *) by_code[MAX_STATUS_CODE];
} route;

struct br_http_server {
    struct MHD_Daemon *daemon;
    br_http_options opts;
    char *listen;
    struct sockaddr_storage addr;
    route routes[MAX_ROUTES];
    size_t n_routes;
    route fallback_404;
    int port;
};

typedef struct request_state {
    route *rt;          /* NULL when no route matched */
    unsigned allowed;   /* methods the path allows (for 405) */
    bool too_large;
    int64_t max_body;
    br_buf body;
    br_arena arena;
    int64_t start_ns;
} request_state;

static unsigned method_bit(const char *m)
{
    if (strcmp(m, "GET") == 0) {
        return BR_HTTP_GET;
    }
    if (strcmp(m, "POST") == 0) {
        return BR_HTTP_POST;
    }
    if (strcmp(m, "PUT") == 0) {
        return BR_HTTP_PUT;
    }
    if (strcmp(m, "DELETE") == 0) {
        return BR_HTTP_DELETE;
    }
    if (strcmp(m, "HEAD") == 0) {
        return BR_HTTP_HEAD;
    }
    return 0;
}

/* A path template: "{name}" matches one non-empty segment (no '/'). */
static bool template_matches(const char *pat, const char *url)
{
    while (*pat != '\0') {
        if (*pat == '{') {
            const char *close = strchr(pat, '}');
            if (close == NULL || *url == '\0' || *url == '/') {
                return false;
            }
            while (*url != '\0' && *url != '/') {
                url++;
            }
            pat = close + 1;
        } else if (*pat++ != *url++) {
            return false;
        }
    }
    return *url == '\0';
}

static bool path_matches(const route *r, const char *url)
{
    if (!r->prefix && strchr(r->path, '{') != NULL) {
        return template_matches(r->path, url);
    }
    if (r->prefix) {
        return strncmp(url, r->path, strlen(r->path)) == 0;
    }
    return strcmp(url, r->path) == 0;
}

/* Finds the route for url+method; sets *allowed to the union of methods
 * the path accepts (0 = unknown path). */
static route *find_route(br_http_server *s, const char *url, unsigned mbit, unsigned *allowed)
{
    *allowed = 0;
    route *hit = NULL;
    for (size_t i = 0; i < s->n_routes; i++) {
        route *r = &s->routes[i];
        if (!path_matches(r, url)) {
            continue;
        }
        unsigned m = r->methods;
        if (m & BR_HTTP_GET) {
            m |= BR_HTTP_HEAD;
        }
        *allowed |= m;
        if (hit == NULL && (m & mbit)) {
            hit = r;
        }
    }
    return hit;
}

static br_counter *code_counter(br_http_server *s, route *r, int code)
{
    if (code < 100 || code >= MAX_STATUS_CODE) {
        code = 500;
    }
    br_counter *c = atomic_load_explicit(&r->by_code[code], memory_order_acquire);
    if (c == NULL && s->opts.metrics != NULL) {
        char labels[160];
        snprintf(labels, sizeof(labels), "handler=\"%s\",code=\"%d\"", r->name, code);
        c = br_metrics_counter(s->opts.metrics, "burnrate_http_requests_total",
                               "HTTP requests by handler and status code.", labels);
        atomic_store_explicit(&r->by_code[code], c, memory_order_release);
    }
    return c;
}

static void free_body_cb(void *p)
{
    br_free(p);
}

static enum MHD_Result send_response(br_http_server *s, struct MHD_Connection *conn, route *r,
                                     br_http_response *resp, request_state *st)
{
    size_t len = 0;
    char *data = br_buf_take(&resp->body, &len);
    struct MHD_Response *mr =
        MHD_create_response_from_buffer_with_free_callback(len, data, free_body_cb);
    if (mr == NULL) {
        br_free(data);
        return MHD_NO;
    }
    if (resp->content_type != NULL) {
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    }
    for (size_t i = 0; i < resp->n_headers; i++) {
        MHD_add_response_header(mr, resp->header_names[i], resp->header_values[i]);
    }
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)resp->status, mr);
    MHD_destroy_response(mr);
    if (r != NULL) {
        br_counter *c = code_counter(s, r, resp->status);
        if (c != NULL) {
            br_counter_inc(c);
        }
        if (r->duration != NULL) {
            br_histo_observe(r->duration, (double)(br_mono_ns() - st->start_ns) / 1e9);
        }
    }
    return ret;
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    br_http_request *req = cls;
    if (key == NULL) {
        return MHD_YES;
    }
    br_http_param *p = br_arena_alloc(req->arena, sizeof(*p) * (req->n_params + 1));
    if (p == NULL) {
        return MHD_NO;
    }
    if (req->n_params > 0) {
        memcpy(p, req->params, sizeof(*p) * req->n_params);
    }
    p[req->n_params].name = key;
    p[req->n_params].value = value ? value : "";
    req->params = p;
    req->n_params++;
    return MHD_YES;
}

size_t br_http_url_decode(char *s, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '+') {
            s[o++] = ' ';
        } else if (c == '%' && i + 2 < len) {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            char *end = NULL;
            long v = strtol(hex, &end, 16);
            if (end == hex + 2) {
                s[o++] = (char)v;
                i += 2;
            } else {
                s[o++] = c;
            }
        } else {
            s[o++] = c;
        }
    }
    s[o] = '\0';
    return o;
}

/* Parses an application/x-www-form-urlencoded body into params placed
 * before the URL's (so body values win in lookups). */
static int parse_form_body(br_http_request *req)
{
    char *copy = br_arena_strndup(req->arena, req->body, req->body_len);
    if (copy == NULL) {
        return BR_ELIMIT;
    }
    size_t count = 0;
    for (const char *p = copy; *p; p++) {
        count += (*p == '&');
    }
    count++;
    br_http_param *ps = br_arena_alloc(req->arena, sizeof(*ps) * (count + req->n_params));
    if (ps == NULL) {
        return BR_ELIMIT;
    }
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, "&", &save); tok != NULL; tok = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(tok, '=');
        char *val = tok + strlen(tok); /* "" inside the writable copy */
        if (eq != NULL) {
            *eq = '\0';
            val = eq + 1;
        }
        br_http_url_decode(tok, strlen(tok));
        br_http_url_decode(val, strlen(val));
        if (*tok == '\0') {
            continue;
        }
        ps[n].name = tok;
        ps[n].value = val;
        n++;
    }
    if (req->n_params > 0) {
        memcpy(ps + n, req->params, sizeof(*ps) * req->n_params);
    }
    req->params = ps;
    req->n_params += n;
    return 0;
}

static void init_response(br_http_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    resp->status = 200;
    resp->content_type = "text/plain; charset=utf-8";
    br_buf_init(&resp->body, 0);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    br_http_server *s = cls;
    request_state *st = *con_cls;
    if (st == NULL) {
        st = br_calloc(1, sizeof(*st));
        st->start_ns = br_mono_ns();
        unsigned mbit = method_bit(method);
        st->rt = find_route(s, url, mbit, &st->allowed);
        st->max_body = s->opts.default_max_body > 0 ? s->opts.default_max_body : DEFAULT_BODY;
        if (st->rt != NULL && st->rt->max_body > 0) {
            st->max_body = st->rt->max_body;
        }
        br_buf_init(&st->body, (size_t)st->max_body);
        br_arena_init(&st->arena, 16 * 1024, 0);
        *con_cls = st;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!st->too_large && st->rt != NULL &&
            br_buf_append(&st->body, upload_data, *upload_data_size) != 0) {
            st->too_large = true;
            br_buf_free(&st->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }

    br_http_response resp;
    init_response(&resp);
    route *rt = st->rt;
    if (rt == NULL) {
        if (st->allowed != 0) {
            char allow[64] = "";
            static const char *const names[] = {"GET", "POST", "PUT", "DELETE", "HEAD"};
            for (int i = 0; i < 5; i++) {
                if (st->allowed & (1u << i)) {
                    size_t l = strlen(allow);
                    snprintf(allow + l, sizeof(allow) - l, "%s%s", l ? ", " : "", names[i]);
                }
            }
            br_http_set_text(&resp, 405, "method %s not allowed for %s; allowed: %s\n", method,
                             url, allow);
            br_http_add_header(&resp, "Allow", br_arena_strdup(&st->arena, allow));
        } else {
            br_http_set_text(&resp, 404, "404 page not found\n");
        }
        return send_response(s, conn, &s->fallback_404, &resp, st);
    }
    if (st->too_large) {
        br_http_set_text(&resp, 413, "request body larger than the limit of %lld bytes\n",
                         (long long)st->max_body);
        return send_response(s, conn, rt, &resp, st);
    }
    if (s->opts.authorize != NULL &&
        !s->opts.authorize(s->opts.authorize_ctx, url,
                           MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"))) {
        br_http_set_text(&resp, 401, "unauthorized: a valid bearer token is required for %s\n",
                         url);
        br_http_add_header(&resp, "WWW-Authenticate", "Bearer realm=\"burnrate\"");
        enum MHD_Result denied = send_response(s, conn, rt, &resp, st);
        br_buf_free(&resp.body);
        return denied;
    }
    br_http_request req;
    memset(&req, 0, sizeof(req));
    req.method = method;
    req.path = url;
    req.body = br_buf_str(&st->body);
    req.body_len = st->body.len;
    req.arena = &st->arena;
    req.conn = conn;
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &req);
    const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    if (ctype != NULL && strncasecmp(ctype, "application/x-www-form-urlencoded", 33) == 0 &&
        req.body_len > 0) {
        parse_form_body(&req);
    }
    int rc = rt->fn(rt->ctx, &req, &resp);
    if (rc != 0) {
        br_buf_reset(&resp.body);
        resp.n_headers = 0;
        br_http_set_text(&resp, 500, "internal error in handler %s: %s\n", rt->name,
                         br_strerror(rc));
    }
    enum MHD_Result ret = send_response(s, conn, rt, &resp, st);
    br_buf_free(&resp.body);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    request_state *st = *con_cls;
    if (st == NULL) {
        return;
    }
    br_buf_free(&st->body);
    br_arena_free(&st->arena);
    br_free(st);
    *con_cls = NULL;
}

static int resolve_listen(br_http_server *s, br_err *err)
{
    char host[256];
    int port = 0;
    int rc = br_split_hostport(s->listen, host, sizeof(host), &port, err);
    if (rc != 0) {
        return rc;
    }
    memset(&s->addr, 0, sizeof(s->addr));
    if (host[0] == '\0') {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&s->addr;
        a4->sin_family = AF_INET;
        a4->sin_addr.s_addr = htonl(INADDR_ANY);
        a4->sin_port = htons((uint16_t)port);
        return 0;
    }
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, NULL, &hints, &res);
    if (gai != 0 || res == NULL) {
        return br_err_set(err, BR_EINVAL, "cannot resolve listen host \"%s\": %s", host,
                          gai_strerror(gai));
    }
    memcpy(&s->addr, res->ai_addr, res->ai_addrlen);
    if (s->addr.ss_family == AF_INET) {
        ((struct sockaddr_in *)&s->addr)->sin_port = htons((uint16_t)port);
    } else {
        ((struct sockaddr_in6 *)&s->addr)->sin6_port = htons((uint16_t)port);
    }
    freeaddrinfo(res);
    return 0;
}

br_http_server *br_http_server_new(const br_http_options *opts, br_err *err)
{
    br_http_server *s = br_calloc(1, sizeof(*s));
    s->opts = *opts;
    s->listen = br_strdup(opts->listen ? opts->listen : ":9099");
    if (resolve_listen(s, err) != 0) {
        br_free(s->listen);
        br_free(s);
        return NULL;
    }
    s->fallback_404.name = "other";
    return s;
}

void br_http_route(br_http_server *s, unsigned methods, const char *path, const char *name,
                   int64_t max_body, br_http_handler fn, void *ctx)
{
    if (BR_NEVER(s->n_routes >= MAX_ROUTES)) {
        return;
    }
    route *r = &s->routes[s->n_routes++];
    size_t len = strlen(path);
    r->prefix = len > 0 && path[len - 1] == '*';
    r->path = br_strndup(path, r->prefix ? len - 1 : len);
    r->name = br_strdup(name);
    r->methods = methods;
    r->max_body = max_body;
    r->fn = fn;
    r->ctx = ctx;
    if (s->opts.metrics != NULL) {
        static const double bounds[] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};
        char labels[128];
        snprintf(labels, sizeof(labels), "handler=\"%s\"", name);
        r->duration = br_metrics_histogram(s->opts.metrics,
                                           "burnrate_http_request_duration_seconds",
                                           "HTTP request latency by handler.", labels, bounds,
                                           sizeof(bounds) / sizeof(bounds[0]));
    }
}

int br_http_server_start(br_http_server *s, br_err *err)
{
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (s->addr.ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    int port = s->addr.ss_family == AF_INET6
                   ? ntohs(((struct sockaddr_in6 *)&s->addr)->sin6_port)
                   : ntohs(((struct sockaddr_in *)&s->addr)->sin_port);
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &s->addr,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)(s->opts.connection_timeout_s ? s->opts.connection_timeout_s : 120),
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
    if (s->daemon == NULL) {
        return br_err_set(err, BR_EIO, "cannot listen on %s (address in use or not permitted)",
                          s->listen);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info != NULL ? info->port : port;
    return 0;
}

size_t br_http_server_routes(const br_http_server *s, br_http_route_info *out, size_t max)
{
    for (size_t i = 0; i < s->n_routes && i < max; i++) {
        out[i].path = s->routes[i].path;
        out[i].prefix = s->routes[i].prefix;
        out[i].name = s->routes[i].name;
        out[i].methods = s->routes[i].methods;
    }
    return s->n_routes;
}

int br_http_server_port(const br_http_server *s)
{
    return s->port;
}

void br_http_server_free(br_http_server *s)
{
    if (s == NULL) {
        return;
    }
    if (s->daemon != NULL) {
        MHD_stop_daemon(s->daemon);
    }
    for (size_t i = 0; i < s->n_routes; i++) {
        br_free(s->routes[i].path);
        br_free(s->routes[i].name);
    }
    br_free(s->listen);
    br_free(s);
}

const char *br_http_header(const br_http_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *br_http_param_get(const br_http_request *r, const char *name)
{
    for (size_t i = 0; i < r->n_params; i++) {
        if (strcmp(r->params[i].name, name) == 0) {
            return r->params[i].value;
        }
    }
    return NULL;
}

size_t br_http_param_all(const br_http_request *r, const char *name, const char **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_params; i++) {
        if (strcmp(r->params[i].name, name) == 0) {
            if (n < max) {
                out[n] = r->params[i].value;
            }
            n++;
        }
    }
    return n;
}

void br_http_set_text(br_http_response *resp, int status, const char *fmt, ...)
{
    resp->status = status;
    resp->content_type = "text/plain; charset=utf-8";
    br_buf_reset(&resp->body);
    va_list ap;
    va_start(ap, fmt);
    br_buf_vprintf(&resp->body, fmt, ap);
    va_end(ap);
}

void br_http_add_header(br_http_response *resp, const char *name, const char *value)
{
    if (BR_NEVER(resp->n_headers >= BR_HTTP_MAX_HEADERS)) {
        return;
    }
    resp->header_names[resp->n_headers] = name;
    resp->header_values[resp->n_headers] = value;
    resp->n_headers++;
}

const char *br_http_remote_addr(const br_http_request *r, char *out, size_t size)
{
    out[0] = '\0';
    const union MHD_ConnectionInfo *ci =
        r->conn ? MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS) : NULL;
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (sa == NULL) {
        return out;
    }
    char host[INET6_ADDRSTRLEN] = "";
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host, sizeof(host));
    } else if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof(host));
    }
    snprintf(out, size, "%s", host);
    return out;
}
