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
 *
 * Limits and auth (see server.h for the order and the statuses). Each
 * connection gets a conn_ctx from the connection-notify callback: its
 * client address and whether it arrived over the global or per-address
 * limit (counted in `active` and the per-address table). libmicrohttpd's
 * own hard limit is set above ours so over-limit clients get an answer
 * rather than a reset. The write rate limit is a token bucket per client
 * key (tenant header value, else address) charged after the fact: a write
 * is admitted while the bucket is positive, and the samples it actually
 * wrote (the X-Prometheus-Remote-Write-*-Written headers the handler
 * sets) are then taken out, possibly below zero; Retry-After tells the
 * client how long until it is positive again. Both tables are guarded by
 * `tables_mu`, never held across I/O, and capped (MAX_CLIENTS keys; idle
 * buckets are dropped first, and when none is idle a new client is let
 * through uncounted rather than refused).
 *
 * TLS: the certificate, key and client CA are handed to libmicrohttpd as
 * PEM text; with a client CA every request's peer certificate is checked
 * with GnuTLS before routing (403 when absent or not signed by the CA).
 */
#include "server.h"

#include "engine/core/addr.h"
#include "engine/core/alloc.h"
#include "engine/core/clock.h"
#include "engine/core/log.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <math.h>
#include <microhttpd.h>
#include <pthread.h>
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
#define MAX_CLIENTS     10000
#define CLIENT_BUCKETS  1024
#define DEFAULT_MAX_CONNECTIONS 1024
/* Connections libmicrohttpd accepts beyond ours, to be answered 503/429. */
#define CONNECTION_HEADROOM 64

/* One client key in a table: connection count or token bucket. */
typedef struct client_entry {
    struct client_entry *next;
    char key[128];
    unsigned conns;     /* per-address table */
    double tokens;      /* rate table */
    int64_t last_ns;    /* rate table: last refill */
} client_entry;

typedef struct client_table {
    client_entry *buckets[CLIENT_BUCKETS];
    size_t n;
} client_table;

/* Per-connection state from the connection-notify callback. */
typedef struct conn_ctx {
    char addr[64];
    bool over_global;
    bool over_ip;
} conn_ctx;

enum limit_reason {
    LIMIT_CONNECTIONS = 0,
    LIMIT_CONNECTIONS_PER_IP,
    LIMIT_WRITE_RATE,
    LIMIT_TIMEOUT,
    LIMIT_CLIENT_CERT,
    N_LIMIT_REASONS,
};
static const char *const limit_names[N_LIMIT_REASONS] = {
    "max_connections", "max_connections_per_ip", "write_rate", "timeout", "client_certificate"};
static const char *const auth_reason_names[] = {"allowed", "missing", "invalid", "disabled"};

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

/* A daemon that stopped accepting after a TLS rotation: it finishes the
 * connections it has, keeping its own certificate strings alive. */
typedef struct retired_daemon {
    struct MHD_Daemon *daemon;
    int listen_fd; /* closed only after MHD_stop_daemon (libmicrohttpd's rule) */
    char *cert;
    char *key;
    char *ca;
    int64_t since_ms;
} retired_daemon;

struct br_http_server {
    struct MHD_Daemon *daemon; /* the one accepting; swapped under rotate_mu */
    pthread_mutex_t rotate_mu; /* TLS rotation, retirement and free */
    retired_daemon retired;    /* daemon NULL = none */
    bool client_certs;         /* client certificates required (fixed at start) */
    br_gauge *tls_not_after;   /* expiry of the served certificate (NULL without TLS) */
    br_counter *tls_reloads[2]; /* rotations: [0] applied, [1] refused */
    br_http_options opts;
    char *listen;
    struct sockaddr_storage addr;
    route routes[MAX_ROUTES];
    size_t n_routes;
    route fallback_404;
    int port;
    char *rate_limit_header;
    char *tls_cert;
    char *tls_key;
    char *tls_ca;
    br_counter *limited[N_LIMIT_REASONS];
    br_counter *auth_failures[BR_AUTH_N_GROUPS][4];
    atomic_uint active; /* open connections */
    pthread_mutex_t tables_mu;
    client_table per_ip; /* guarded by tables_mu */
    client_table rates;  /* guarded by tables_mu */
};

static void note_expiry(br_http_server *s, const char *pem);

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

/* ---- client tables (callers hold tables_mu) ----------------------------- */

static size_t table_slot(const char *key)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = key; *p; p++) {
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    }
    return (size_t)(h % CLIENT_BUCKETS);
}

static client_entry *table_find(client_table *t, const char *key)
{
    for (client_entry *e = t->buckets[table_slot(key)]; e != NULL; e = e->next) {
        if (strcmp(e->key, key) == 0) {
            return e;
        }
    }
    return NULL;
}

/* Removes every entry for which idle(e) holds; returns how many. */
static size_t table_sweep(client_table *t, bool (*idle)(const client_entry *, const void *),
                          const void *arg)
{
    size_t removed = 0;
    for (size_t i = 0; i < CLIENT_BUCKETS; i++) {
        client_entry **pp = &t->buckets[i];
        while (*pp != NULL) {
            client_entry *e = *pp;
            if (idle(e, arg)) {
                *pp = e->next;
                br_free(e);
                removed++;
            } else {
                pp = &e->next;
            }
        }
    }
    t->n -= removed;
    return removed;
}

/* The entry for key, created when absent; NULL when the table is full. */
static client_entry *table_get(client_table *t, const char *key)
{
    client_entry *e = table_find(t, key);
    if (e != NULL || t->n >= MAX_CLIENTS) {
        return e;
    }
    e = br_calloc(1, sizeof(*e));
    snprintf(e->key, sizeof(e->key), "%s", key);
    size_t slot = table_slot(e->key);
    e->next = t->buckets[slot];
    t->buckets[slot] = e;
    t->n++;
    return e;
}

static bool always_idle(const client_entry *e, const void *arg)
{
    (void)e;
    (void)arg;
    return true;
}

static void table_clear(client_table *t)
{
    table_sweep(t, always_idle, NULL);
}

/* ---- connection limits --------------------------------------------------- */

static void format_addr(const struct sockaddr *sa, char *out, size_t size)
{
    snprintf(out, size, "unknown");
    if (sa == NULL) {
        return;
    }
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)size);
    } else if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)size);
    }
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    br_http_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        conn_ctx *c = br_calloc(1, sizeof(*c));
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        format_addr(ci != NULL ? ci->client_addr : NULL, c->addr, sizeof(c->addr));
        unsigned max = s->opts.max_connections ? s->opts.max_connections
                                               : DEFAULT_MAX_CONNECTIONS;
        c->over_global = atomic_fetch_add(&s->active, 1) + 1 > max;
        if (s->opts.max_connections_per_ip > 0) {
            pthread_mutex_lock(&s->tables_mu);
            client_entry *e = table_get(&s->per_ip, c->addr);
            if (e != NULL) {
                e->conns++;
                c->over_ip = e->conns > s->opts.max_connections_per_ip;
            }
            pthread_mutex_unlock(&s->tables_mu);
        }
        *socket_context = c;
        return;
    }
    conn_ctx *c = *socket_context;
    if (c == NULL) {
        return;
    }
    atomic_fetch_sub(&s->active, 1);
    if (s->opts.max_connections_per_ip > 0) {
        pthread_mutex_lock(&s->tables_mu);
        client_entry *e = table_find(&s->per_ip, c->addr);
        if (e != NULL && e->conns > 0) {
            e->conns--;
        }
        pthread_mutex_unlock(&s->tables_mu);
    }
    br_free(c);
    *socket_context = NULL;
}

static void count_limit(br_http_server *s, enum limit_reason r)
{
    if (s->limited[r] != NULL) {
        br_counter_inc(s->limited[r]);
    }
}

/* ---- write rate limit ---------------------------------------------------- */

static double rate_burst(const br_http_server *s)
{
    if (s->opts.write_rate_burst > 0) {
        return (double)s->opts.write_rate_burst;
    }
    return s->opts.write_rate_limit > 1 ? s->opts.write_rate_limit : 1;
}

static bool bucket_full(const client_entry *e, const void *arg)
{
    const br_http_server *s = arg;
    double refill = (double)(br_mono_ns() - e->last_ns) / 1e9 * s->opts.write_rate_limit;
    return e->tokens + refill >= rate_burst(s);
}

/* The key a write is charged to: the tenant header's value when present,
 * else the client address. */
static void rate_key(br_http_server *s, struct MHD_Connection *conn, char *out, size_t size)
{
    const char *v = NULL;
    if (s->rate_limit_header != NULL) {
        v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, s->rate_limit_header);
    }
    if (v != NULL && v[0] != '\0') {
        snprintf(out, size, "tenant:%s", v);
        return;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    const conn_ctx *c = ci != NULL ? ci->socket_context : NULL;
    snprintf(out, size, "addr:%s", c != NULL ? c->addr : "unknown");
}

/* Refills the bucket and returns 0 when the write may proceed, else the
 * seconds to wait (>= 1). */
static int rate_admit(br_http_server *s, const char *key)
{
    int wait_s = 0;
    int64_t now = br_mono_ns();
    pthread_mutex_lock(&s->tables_mu);
    client_entry *e = table_find(&s->rates, key);
    if (e == NULL && s->rates.n >= MAX_CLIENTS) {
        table_sweep(&s->rates, bucket_full, s);
    }
    if (e == NULL) {
        e = table_get(&s->rates, key);
        if (e != NULL) {
            e->tokens = rate_burst(s);
            e->last_ns = now;
        }
    }
    if (e != NULL) {
        double burst = rate_burst(s);
        e->tokens += (double)(now - e->last_ns) / 1e9 * s->opts.write_rate_limit;
        if (e->tokens > burst) {
            e->tokens = burst;
        }
        e->last_ns = now;
        if (e->tokens <= 0) {
            double secs = ceil(-e->tokens / s->opts.write_rate_limit);
            wait_s = secs < 1 ? 1 : secs > 86400 ? 86400 : (int)secs;
        }
    }
    pthread_mutex_unlock(&s->tables_mu);
    return wait_s;
}

/* Takes what a successful write stored out of its bucket. */
static void rate_charge(br_http_server *s, const char *key, const br_http_response *resp)
{
    if (resp->status < 200 || resp->status > 299) {
        return;
    }
    double written = 0;
    for (size_t i = 0; i < resp->n_headers; i++) {
        if (strcasecmp(resp->header_names[i], "X-Prometheus-Remote-Write-Samples-Written") == 0 ||
            strcasecmp(resp->header_names[i], "X-Prometheus-Remote-Write-Histograms-Written") ==
                0) {
            written += strtod(resp->header_values[i], NULL);
        }
    }
    pthread_mutex_lock(&s->tables_mu);
    client_entry *e = table_find(&s->rates, key);
    if (e != NULL) {
        e->tokens -= written;
    }
    pthread_mutex_unlock(&s->tables_mu);
}

/* ---- client certificates ------------------------------------------------- */

/* True when the TLS peer presented a certificate the client CA signed. */
static bool client_cert_ok(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (ci == NULL || ci->tls_session == NULL) {
        return false;
    }
    gnutls_session_t session = (gnutls_session_t)ci->tls_session;
    unsigned int listed = 0;
    if (gnutls_certificate_get_peers(session, &listed) == NULL || listed == 0) {
        return false;
    }
    unsigned int status = 0;
    if (gnutls_certificate_verify_peers2(session, &status) != GNUTLS_E_SUCCESS) {
        return false;
    }
    return status == 0;
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
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    const conn_ctx *cc = ci != NULL ? ci->socket_context : NULL;
    if (cc != NULL && (cc->over_global || cc->over_ip)) {
        if (cc->over_global) {
            count_limit(s, LIMIT_CONNECTIONS);
            br_http_set_text(&resp, 503,
                             "too many open connections (limits.max_connections is %u); retry "
                             "later\n",
                             s->opts.max_connections ? s->opts.max_connections
                                                     : DEFAULT_MAX_CONNECTIONS);
        } else {
            count_limit(s, LIMIT_CONNECTIONS_PER_IP);
            br_http_set_text(&resp, 429,
                             "too many open connections from %s "
                             "(limits.max_connections_per_ip is %u)\n",
                             cc->addr, s->opts.max_connections_per_ip);
        }
        br_http_add_header(&resp, "Retry-After", "1");
        br_http_add_header(&resp, "Connection", "close");
        enum MHD_Result limited = send_response(s, conn, rt ? rt : &s->fallback_404, &resp, st);
        br_buf_free(&resp.body);
        return limited;
    }
    if (s->client_certs && !client_cert_ok(conn)) {
        count_limit(s, LIMIT_CLIENT_CERT);
        br_http_set_text(&resp, 403,
                         "a client certificate signed by tls.client_ca_file is required\n");
        enum MHD_Result refused = send_response(s, conn, rt ? rt : &s->fallback_404, &resp, st);
        br_buf_free(&resp.body);
        return refused;
    }
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
    br_auth_verdict verdict;
    memset(&verdict, 0, sizeof(verdict));
    verdict.group = br_auth_group_for_path(url);
    if (s->opts.authorize != NULL) {
        s->opts.authorize(s->opts.authorize_ctx, url,
                          MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"),
                          &verdict);
    }
    if (verdict.status != 0) {
        br_http_set_text(&resp, verdict.status, "%s\n", verdict.message);
        if (verdict.offer_basic) {
            br_http_add_header(&resp, "WWW-Authenticate", "Basic realm=\"burnrate\"");
        }
        if (verdict.offer_bearer) {
            br_http_add_header(&resp, "WWW-Authenticate", "Bearer realm=\"burnrate\"");
        }
        if ((unsigned)verdict.group < BR_AUTH_N_GROUPS && (unsigned)verdict.result < 4 &&
            s->auth_failures[verdict.group][verdict.result] != NULL) {
            br_counter_inc(s->auth_failures[verdict.group][verdict.result]);
        }
        enum MHD_Result denied = send_response(s, conn, rt, &resp, st);
        br_buf_free(&resp.body);
        return denied;
    }
    char rkey[160] = "";
    bool rate_limited = verdict.group == BR_AUTH_WRITE && s->opts.write_rate_limit > 0;
    if (rate_limited) {
        rate_key(s, conn, rkey, sizeof(rkey));
        int wait_s = rate_admit(s, rkey);
        if (wait_s > 0) {
            count_limit(s, LIMIT_WRITE_RATE);
            br_http_set_text(&resp, 429,
                             "write rate limit exceeded for %s: limits.write_rate_limit is %g "
                             "samples/s (burst %.0f); retry after %d s\n",
                             rkey, s->opts.write_rate_limit, rate_burst(s), wait_s);
            br_http_add_header(&resp, "Retry-After", br_arena_printf(&st->arena, "%d", wait_s));
            enum MHD_Result limited = send_response(s, conn, rt, &resp, st);
            br_buf_free(&resp.body);
            return limited;
        }
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
    if (rate_limited) {
        rate_charge(s, rkey, &resp);
    }
    enum MHD_Result ret = send_response(s, conn, rt, &resp, st);
    br_buf_free(&resp.body);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    br_http_server *s = cls;
    (void)conn;
    if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED) {
        count_limit(s, LIMIT_TIMEOUT);
    }
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
    if (opts->tls_cert_pem != NULL && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        br_err_set(err, BR_EUNSUPPORTED,
                   "tls is configured but this libmicrohttpd was built without TLS (GnuTLS) "
                   "support; install a libmicrohttpd with HTTPS or terminate TLS in a proxy");
        return NULL;
    }
    if ((opts->tls_cert_pem == NULL) != (opts->tls_key_pem == NULL)) {
        br_err_set(err, BR_EINVAL, "tls needs both a certificate and a key");
        return NULL;
    }
    br_http_server *s = br_calloc(1, sizeof(*s));
    s->opts = *opts;
    s->listen = br_strdup(opts->listen ? opts->listen : ":9099");
    if (resolve_listen(s, err) != 0) {
        br_free(s->listen);
        br_free(s);
        return NULL;
    }
    pthread_mutex_init(&s->tables_mu, NULL);
    pthread_mutex_init(&s->rotate_mu, NULL);
    s->client_certs = opts->tls_client_ca_pem != NULL;
    s->rate_limit_header =
        opts->rate_limit_header != NULL ? br_strdup(opts->rate_limit_header) : NULL;
    s->tls_cert = opts->tls_cert_pem != NULL ? br_strdup(opts->tls_cert_pem) : NULL;
    s->tls_key = opts->tls_key_pem != NULL ? br_strdup(opts->tls_key_pem) : NULL;
    s->tls_ca = opts->tls_client_ca_pem != NULL ? br_strdup(opts->tls_client_ca_pem) : NULL;
    s->opts.listen = NULL;
    s->opts.rate_limit_header = NULL;
    s->opts.tls_cert_pem = NULL;
    s->opts.tls_key_pem = NULL;
    s->opts.tls_client_ca_pem = NULL;
    s->fallback_404.name = "other";
    if (opts->metrics != NULL && s->tls_cert != NULL) {
        s->tls_not_after = br_metrics_gauge(
            opts->metrics, "burnrate_tls_certificate_expiry_timestamp_seconds",
            "When the certificate the server presents expires (its notAfter), as a Unix time.",
            NULL);
        s->tls_reloads[0] = br_metrics_counter(opts->metrics, "burnrate_tls_reloads_total",
                                               "TLS certificate changes, by result.",
                                               "result=\"applied\"");
        s->tls_reloads[1] = br_metrics_counter(opts->metrics, "burnrate_tls_reloads_total",
                                               "TLS certificate changes, by result.",
                                               "result=\"refused\"");
        note_expiry(s, s->tls_cert);
    }
    if (opts->metrics != NULL) {
        char labels[96];
        for (int r = 0; r < N_LIMIT_REASONS; r++) {
            snprintf(labels, sizeof(labels), "reason=\"%s\"", limit_names[r]);
            s->limited[r] = br_metrics_counter(
                opts->metrics, "burnrate_http_limited_requests_total",
                "Requests refused or connections closed by a server limit, by reason.", labels);
        }
        for (int g = BR_AUTH_WRITE; g < BR_AUTH_N_GROUPS; g++) {
            for (int r = BR_AUTH_MISSING; r <= BR_AUTH_DISABLED; r++) {
                if (r == BR_AUTH_DISABLED && g != BR_AUTH_ADMIN) {
                    continue;
                }
                snprintf(labels, sizeof(labels), "group=\"%s\",reason=\"%s\"",
                         br_auth_group_name((br_auth_group)g), auth_reason_names[r]);
                s->auth_failures[g][r] = br_metrics_counter(
                    opts->metrics, "burnrate_http_auth_failures_total",
                    "Requests refused by authentication, by route group and reason.", labels);
            }
        }
    }
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

/* Starts one daemon on port with the given TLS material (NULL cert =
 * plain HTTP). SO_REUSEPORT (LISTENING_ADDRESS_REUSE) lets a rotation start
 * the next daemon on the same port before the previous one stops
 * accepting; MHD_USE_ITC is what MHD_quiesce_daemon needs. */
static struct MHD_Daemon *start_daemon(br_http_server *s, int port, const char *cert,
                                       const char *key, const char *ca)
{
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    if (s->addr.ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    struct sockaddr_storage addr = s->addr;
    if (addr.ss_family == AF_INET6) {
        ((struct sockaddr_in6 *)&addr)->sin6_port = htons((uint16_t)port);
    } else {
        ((struct sockaddr_in *)&addr)->sin_port = htons((uint16_t)port);
    }
    unsigned max_conns = s->opts.max_connections ? s->opts.max_connections
                                                 : DEFAULT_MAX_CONNECTIONS;
    struct MHD_OptionItem ops[16];
    size_t n = 0;
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &addr};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, s};
    ops[n++] = (struct MHD_OptionItem){
        MHD_OPTION_CONNECTION_TIMEOUT,
        (intptr_t)(s->opts.connection_timeout_s ? s->opts.connection_timeout_s : 120), NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
                                       (intptr_t)(max_conns + CONNECTION_HEADROOM), NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL};
    if (s->opts.max_header_bytes > 0) {
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                           (intptr_t)s->opts.max_header_bytes, NULL};
    }
    if (cert != NULL) {
        flags |= MHD_USE_TLS;
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)cert};
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)key};
        ops[n++] = (struct MHD_OptionItem){
            MHD_OPTION_HTTPS_PRIORITIES, 0,
            s->opts.tls_min_version >= 13 ? "NORMAL:-VERS-ALL:+VERS-TLS1.3"
                                          : "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"};
        if (ca != NULL) {
            ops[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, (void *)ca};
        }
    }
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    return MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, s, MHD_OPTION_ARRAY,
                            ops, MHD_OPTION_END);
}

int br_http_server_start(br_http_server *s, br_err *err)
{
    int port = s->addr.ss_family == AF_INET6
                   ? ntohs(((struct sockaddr_in6 *)&s->addr)->sin6_port)
                   : ntohs(((struct sockaddr_in *)&s->addr)->sin_port);
    s->daemon = start_daemon(s, port, s->tls_cert, s->tls_key, s->tls_ca);
    if (s->daemon == NULL) {
        if (s->tls_cert != NULL) {
            return br_err_set(err, BR_EIO,
                              "cannot listen on %s with TLS (address in use, or the certificate, "
                              "key or client CA was refused by GnuTLS)",
                              s->listen);
        }
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

static void wipe_free(char *secret)
{
    if (secret != NULL) {
        memset(secret, 0, strlen(secret));
    }
    br_free(secret);
}

/* Stops the retired daemon (its connections are closed); rotate_mu held. */
static void stop_retired(br_http_server *s)
{
    retired_daemon *r = &s->retired;
    if (r->daemon == NULL) {
        return;
    }
    MHD_stop_daemon(r->daemon);
    if (r->listen_fd >= 0) {
        close(r->listen_fd);
    }
    br_free(r->cert);
    wipe_free(r->key);
    br_free(r->ca);
    memset(r, 0, sizeof(*r));
}

/* Publishes the notAfter of the first certificate in pem (the one served). */
static void note_expiry(br_http_server *s, const char *pem)
{
    if (s->tls_not_after == NULL) {
        return;
    }
    gnutls_x509_crt_t crt;
    if (gnutls_x509_crt_init(&crt) != GNUTLS_E_SUCCESS) {
        return;
    }
    gnutls_datum_t d = {(unsigned char *)(uintptr_t)pem, (unsigned int)strlen(pem)};
    if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM) == GNUTLS_E_SUCCESS) {
        time_t t = gnutls_x509_crt_get_expiration_time(crt);
        if (t != (time_t)-1) {
            br_gauge_set(s->tls_not_after, (double)t);
        }
    }
    gnutls_x509_crt_deinit(crt);
}

static bool same_pem(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int br_http_server_set_tls(br_http_server *s, const char *cert_pem, const char *key_pem,
                           const char *client_ca_pem, br_err *err)
{
    pthread_mutex_lock(&s->rotate_mu);
    int rc = 0;
    if (s->daemon == NULL || s->tls_cert == NULL || cert_pem == NULL || key_pem == NULL) {
        rc = br_err_set(err, BR_EINVAL,
                        "turning TLS on or off needs a restart; only the certificate, key and "
                        "client CA of a TLS server can change while it runs");
    } else if ((client_ca_pem != NULL) != s->client_certs) {
        rc = br_err_set(err, BR_EINVAL,
                        "turning client certificates (tls.client_ca_file) on or off needs a "
                        "restart");
    } else if (same_pem(cert_pem, s->tls_cert) && same_pem(key_pem, s->tls_key) &&
               same_pem(client_ca_pem, s->tls_ca)) {
        rc = 0; /* nothing changed */
    } else {
        char *cert = br_strdup(cert_pem);
        char *key = br_strdup(key_pem);
        char *ca = client_ca_pem != NULL ? br_strdup(client_ca_pem) : NULL;
        /* One rotation at a time: the daemon retired last time stops now. */
        stop_retired(s);
        struct MHD_Daemon *next = start_daemon(s, s->port, cert, key, ca);
        if (next == NULL) {
            br_free(cert);
            wipe_free(key);
            br_free(ca);
            rc = br_err_set(err, BR_EIO,
                            "the new TLS certificate, key or client CA was refused by GnuTLS "
                            "(or the port could not be shared); still serving the previous one");
            if (s->tls_reloads[1] != NULL) {
                br_counter_inc(s->tls_reloads[1]);
            }
        } else {
            /* The old daemon stops accepting; shutting its socket's read
             * side takes it out of the port's SO_REUSEPORT group at once,
             * so new connections all reach the new daemon. */
            MHD_socket fd = MHD_quiesce_daemon(s->daemon);
            if (fd != MHD_INVALID_SOCKET) {
                (void)shutdown(fd, SHUT_RD);
            }
            s->retired.daemon = s->daemon;
            s->retired.listen_fd = fd != MHD_INVALID_SOCKET ? fd : -1;
            s->retired.cert = s->tls_cert;
            s->retired.key = s->tls_key;
            s->retired.ca = s->tls_ca;
            s->retired.since_ms = br_now_ms();
            s->daemon = next;
            s->tls_cert = cert;
            s->tls_key = key;
            s->tls_ca = ca;
            note_expiry(s, cert);
            if (s->tls_reloads[0] != NULL) {
                br_counter_inc(s->tls_reloads[0]);
            }
            br_log_info("TLS certificate reloaded; connections opened before keep the previous "
                        "one until they close",
                        NULL);
        }
    }
    pthread_mutex_unlock(&s->rotate_mu);
    return rc;
}

void br_http_server_maintain(br_http_server *s, int64_t now_ms)
{
    pthread_mutex_lock(&s->rotate_mu);
    if (s->retired.daemon != NULL) {
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(s->retired.daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        bool idle = info != NULL && info->num_connections == 0;
        if (idle || now_ms - s->retired.since_ms >= BR_HTTP_RETIRED_MAX_MS) {
            stop_retired(s);
        }
    }
    pthread_mutex_unlock(&s->rotate_mu);
}

void br_http_server_free(br_http_server *s)
{
    if (s == NULL) {
        return;
    }
    pthread_mutex_lock(&s->rotate_mu);
    stop_retired(s);
    pthread_mutex_unlock(&s->rotate_mu);
    if (s->daemon != NULL) {
        MHD_stop_daemon(s->daemon);
    }
    for (size_t i = 0; i < s->n_routes; i++) {
        br_free(s->routes[i].path);
        br_free(s->routes[i].name);
    }
    br_free(s->listen);
    br_free(s->rate_limit_header);
    br_free(s->tls_cert);
    wipe_free(s->tls_key);
    br_free(s->tls_ca);
    pthread_mutex_destroy(&s->rotate_mu);
    table_clear(&s->per_ip);
    table_clear(&s->rates);
    pthread_mutex_destroy(&s->tables_mu);
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
