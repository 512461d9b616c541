/*
 * server.h — the HTTP server (libmicrohttpd) and its routing table.
 *
 * Handlers are plain functions registered per path (exact; prefix when
 * the path ends in '*'; or a template, where "{name}" matches one
 * non-empty segment) with the methods they accept; the first registered
 * route matching path and method wins. A known path called
 * with another method gets 405 with an Allow header, an unknown path 404.
 * The server reads the request body into a capped buffer (the route's
 * max_body; over it: 413 without calling the handler), builds the
 * parameter list from the URL query and, for form posts, the body (body
 * values win, as in Prometheus), and gives each request an arena freed
 * when the response is sent.
 *
 * Before a handler runs, the server applies, in this order: the
 * connection limits (over max_connections: 503; over the per-address
 * limit: 429), the authorization hook (api/auth.h: 401 with
 * WWW-Authenticate, or 403 for disabled admin routes) and, for the write
 * group, the per-client write rate limit (429 with Retry-After). Each
 * refusal is counted: burnrate_http_auth_failures_total{group,reason} and
 * burnrate_http_limited_requests_total{reason}. With TLS options the
 * server speaks only HTTPS (libmicrohttpd + GnuTLS), optionally requiring
 * a client certificate signed by the given CA; br_http_server_set_tls
 * rotates that material while the server runs (a second daemon on the
 * same port, the first one retired once its connections close).
 *
 * Threads: libmicrohttpd's internal thread pool calls handlers
 * concurrently; handlers must be thread-safe. No lock may be held across
 * network I/O. Every request is counted in /metrics by handler and code,
 * with its duration.
 */
#ifndef BR_API_SERVER_H
#define BR_API_SERVER_H

#include "api/auth.h"
#include "api/metrics.h"
#include "engine/core/arena.h"
#include "engine/core/buf.h"
#include "engine/core/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct br_http_server br_http_server;

enum {
    BR_HTTP_GET = 1 << 0,
    BR_HTTP_POST = 1 << 1,
    BR_HTTP_PUT = 1 << 2,
    BR_HTTP_DELETE = 1 << 3,
    BR_HTTP_HEAD = 1 << 4,
};

typedef struct br_http_param {
    const char *name;
    const char *value;
} br_http_param;

typedef struct br_http_request {
    const char *method;
    const char *path;     /* without the query string */
    const char *body;     /* NUL-terminated; "" when empty */
    size_t body_len;
    br_arena *arena;      /* freed after the response is sent */
    br_http_param *params;  /* body params first, then URL query params */
    size_t n_params;
    void *conn;           /* private: the libmicrohttpd connection */
} br_http_request;

#define BR_HTTP_MAX_HEADERS 8

typedef struct br_http_response {
    int status;
    const char *content_type;  /* static or arena string */
    br_buf body;
    size_t n_headers;
    const char *header_names[BR_HTTP_MAX_HEADERS];
    const char *header_values[BR_HTTP_MAX_HEADERS];
} br_http_response;

/* Returns 0; a non-zero return means the handler could not build any
 * response and the server answers 500. */
typedef int (*br_http_handler)(void *ctx, br_http_request *req, br_http_response *resp);

/* Decides whether a request may proceed: path (without query) and the
 * Authorization header (NULL when absent), both borrowed. Fills out
 * (status 0 = allow). Called on HTTP threads concurrently. */
typedef void (*br_http_authorize_fn)(void *ctx, const char *path, const char *authorization,
                                     br_auth_verdict *out);

typedef struct br_http_options {
    const char *listen;      /* "HOST:PORT", ":PORT" */
    unsigned threads;        /* 0 = number of CPUs */
    int64_t default_max_body;  /* for routes that give 0 */
    unsigned connection_timeout_s;
    br_metrics *metrics;     /* borrowed; may be NULL */
    br_http_authorize_fn authorize;  /* NULL = everything allowed */
    void *authorize_ctx;
    /* Limits (0 = the default shown). */
    unsigned max_connections;        /* 1024; over it: 503 */
    unsigned max_connections_per_ip; /* off; over it: 429 */
    size_t max_header_bytes;         /* libmicrohttpd's 32KiB; over it: 431 */
    double write_rate_limit;         /* samples/s per client on the write group; off */
    int64_t write_rate_burst;        /* bucket size; one second of write_rate_limit */
    const char *rate_limit_header;   /* borrowed: client key header (the tenant
                                      * header); NULL or absent = client address */
    /* TLS: PEM text, borrowed (copied by br_http_server_new). */
    const char *tls_cert_pem;        /* NULL = plain HTTP */
    const char *tls_key_pem;
    const char *tls_client_ca_pem;   /* NULL = no client certificates */
    int tls_min_version;             /* 12 (default) or 13 */
} br_http_options;

/* Creates a server (not yet listening). Returns NULL and fills err, e.g.
 * when TLS is asked for and libmicrohttpd was built without it. */
br_http_server *br_http_server_new(const br_http_options *opts, br_err *err);
/* Registers a route before br_http_server_start. `name` labels /metrics
 * (handler="..."); max_body 0 = the default. ctx is borrowed. */
void br_http_route(br_http_server *s, unsigned methods, const char *path, const char *name,
                   int64_t max_body, br_http_handler fn, void *ctx);
int br_http_server_start(br_http_server *s, br_err *err);

/*
 * Rotates the TLS material of a running TLS server (PEM text, borrowed):
 * a new daemon with it starts on the same port, then the previous one
 * stops accepting and finishes the connections it has, with its old
 * certificate. No-op when nothing changed. BR_EINVAL when the server is
 * not serving TLS or client certificates would be turned on or off (both
 * need a restart); BR_EIO when GnuTLS refuses the new material, in which
 * case the previous certificate stays in use.
 */
int br_http_server_set_tls(br_http_server *s, const char *cert_pem, const char *key_pem,
                           const char *client_ca_pem, br_err *err);

/* How long a daemon retired by a rotation may keep its connections. */
#define BR_HTTP_RETIRED_MAX_MS (10 * 60 * 1000)

/* Housekeeping, about once a second: stops the daemon retired by the last
 * rotation once it has no connections left, or after
 * BR_HTTP_RETIRED_MAX_MS (its clients reconnect to the new certificate). */
void br_http_server_maintain(br_http_server *s, int64_t now_ms);

/* One registered route, as br_http_route received it. */
typedef struct br_http_route_info {
    const char *path;  /* without the '*' of a prefix route; view valid until free */
    bool prefix;       /* registered as "path*" */
    const char *name;  /* the /metrics handler label; view valid until free */
    unsigned methods;  /* BR_HTTP_* bits as registered (GET also answers HEAD) */
} br_http_route_info;

/* Fills up to max routes in registration order; returns how many there
 * are. For tests and documentation checks (api/openapi.yaml). */
size_t br_http_server_routes(const br_http_server *s, br_http_route_info *out, size_t max);
/* The bound port (useful with port 0). */
int br_http_server_port(const br_http_server *s);
/* Stops accepting, waits for running handlers, frees everything. */
void br_http_server_free(br_http_server *s);

/* Request helpers. */
/* The client's IP address as text into out (borrowed); "" when unknown.
 * Returns out. */
const char *br_http_remote_addr(const br_http_request *r, char *out, size_t size);
const char *br_http_header(const br_http_request *r, const char *name);
/* The first value of a parameter (body before query), or NULL. */
const char *br_http_param_get(const br_http_request *r, const char *name);
/* All values of a repeated parameter (e.g. "match[]"); returns count,
 * fills up to max. */
size_t br_http_param_all(const br_http_request *r, const char *name, const char **out, size_t max);

/* Response helpers: set status, content type and body text. */
void br_http_set_text(br_http_response *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void br_http_add_header(br_http_response *resp, const char *name, const char *value);

/* Decodes %XX and '+' in place; returns the new length. */
size_t br_http_url_decode(char *s, size_t len);

#endif
