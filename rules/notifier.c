/*
 * notifier.c — routing, webhook grouping, the persistent queue and its
 * delivery thread. API, threads and guarantees: notifier.h; the log format
 * is specified above the code that writes it ("Log" section below).
 *
 * Queue entry lifecycle (one notification for one receiver):
 *
 *   submit, group flush
 *         │
 *         ▼       due, receiver idle              2xx
 *      QUEUED ──────────────────────► IN FLIGHT ──────────► DONE (delivered)
 *       │  ▲                              │
 *       │  │ network error, timeout,      │ other status, or older
 *       │  │ 429, 5xx: retry later        │ than max_retry
 *       │  └──────────────────────────────┤
 *       │                                 ▼
 *       └── superseded, queue full ──► DONE (dropped)
 *
 *   transition                        function
 *   → QUEUED                          enqueue_entry (submit_alertmanager, flush_group)
 *   QUEUED → DONE (superseded, full)  supersede_older, make_room (remove_entry_at)
 *   QUEUED → IN FLIGHT                prepare_due
 *   IN FLIGHT → DONE or QUEUED        finish_request (backoff with full jitter)
 *
 * A DONE op is logged (under the lock, so log order is state order) before
 * the entry is freed, and only one entry per receiver is in flight: each
 * receiver gets its notifications in queue order. Every submit, flush and
 * completion writes at most one record, so what one step changes becomes
 * durable at once.
 */
#include "notifier.h"

#include "engine/core/alloc.h"
#include "engine/core/fileio.h"
#include "engine/core/clock.h"
#include "engine/core/hash.h"
#include "engine/core/log.h"
#include "engine/core/sha256.h"
#include "engine/core/varint.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_VERSION       1
#define REC_BATCH         1
#define REC_CHECKPOINT    2
#define OP_ENQUEUE        1
#define OP_DONE           2
#define OP_GROUP          3
#define OP_GROUP_DEL      4
#define OP_BLOB           5
#define DONE_DELIVERED    1
#define DONE_DROPPED      2
#define DONE_SUPERSEDED   3
#define KIND_WEBHOOK      0
#define KIND_ALERTMANAGER 1

#define MAX_STR           (1u << 20)  /* label, annotation, URL read from the log */
#define MAX_BODY          (16u << 20) /* one webhook body or blob read from the log */
#define MAX_COUNT         1000000u    /* labels, alerts, fingerprints per op */
#define MAX_QUEUE_BYTES   (48u << 20) /* leaves room for groups and blob in a checkpoint */
#define MAX_WAIT_MS       1000        /* the delivery thread re-checks at least this often */
#define CKPT_MIN_BYTES    (4u << 20)
#define RETRY_AFTER_MAX_S 3600

static const double latency_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                        0.5,   1,    2.5,   5,    10,  30};
#define N_LATENCY_BOUNDS (sizeof(latency_bounds) / sizeof(latency_bounds[0]))

/* ------------------------------------------------------------------------
 * Record codec
 * ---------------------------------------------------------------------- */

int br_notify_put_uint(br_buf *b, uint64_t v)
{
    unsigned char tmp[BR_VARINT_MAX];
    size_t len = br_uvarint_put(tmp, v);
    return br_buf_append(b, tmp, len);
}

int br_notify_put_int(br_buf *b, int64_t v)
{
    return br_notify_put_uint(b, br_zigzag_enc(v));
}

int br_notify_put_double(br_buf *b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    unsigned char tmp[8];
    for (int i = 0; i < 8; i++) {
        tmp[i] = (unsigned char)(bits >> (8 * i));
    }
    return br_buf_append(b, tmp, sizeof(tmp));
}

static int put_bytes(br_buf *b, const void *data, size_t len)
{
    int rc = br_notify_put_uint(b, len);
    if (rc == 0 && len > 0) {
        rc = br_buf_append(b, data, len);
    }
    return rc;
}

int br_notify_put_str(br_buf *b, const char *s)
{
    return put_bytes(b, s ? s : "", s ? strlen(s) : 0);
}

uint64_t br_notify_get_uint(br_notify_reader *r)
{
    uint64_t v = 0;
    if (r->bad) {
        return 0;
    }
    size_t used = br_uvarint_get(r->p, r->end, &v);
    if (used == 0) {
        r->bad = true;
        return 0;
    }
    r->p += used;
    return v;
}

int64_t br_notify_get_int(br_notify_reader *r)
{
    return br_zigzag_dec(br_notify_get_uint(r));
}

double br_notify_get_double(br_notify_reader *r)
{
    if (r->bad || r->end - r->p < 8) {
        r->bad = true;
        return 0;
    }
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++) {
        bits |= (uint64_t)r->p[i] << (8 * i);
    }
    r->p += 8;
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
}

/* A view of the next length-prefixed bytes (not copied). */
static const unsigned char *get_bytes(br_notify_reader *r, size_t max_len, size_t *len)
{
    uint64_t n = br_notify_get_uint(r);
    if (r->bad || n > max_len || n > (uint64_t)(r->end - r->p)) {
        r->bad = true;
        *len = 0;
        return NULL;
    }
    const unsigned char *p = r->p;
    r->p += n;
    *len = (size_t)n;
    return p;
}

char *br_notify_get_str(br_notify_reader *r, size_t max_len)
{
    size_t len = 0;
    const unsigned char *p = get_bytes(r, max_len, &len);
    if (p == NULL) {
        return NULL;
    }
    return br_strndup((const char *)p, len);
}

int br_notify_put_kvs(br_buf *b, const br_kv *kv, size_t n)
{
    int rc = br_notify_put_uint(b, n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = br_notify_put_str(b, kv[i].key);
        rc = rc ? rc : br_notify_put_str(b, kv[i].value);
    }
    return rc;
}

br_kv *br_notify_get_kvs(br_notify_reader *r, size_t max_n, size_t max_len, size_t *n_out)
{
    *n_out = 0;
    uint64_t n = br_notify_get_uint(r);
    if (r->bad || n > max_n || n > (uint64_t)(r->end - r->p)) {
        r->bad = true;
        return NULL;
    }
    br_kv *kv = br_calloc(n ? n : 1, sizeof(*kv));
    size_t got = 0;
    while (got < n && !r->bad) {
        char *k = br_notify_get_str(r, max_len);
        char *v = br_notify_get_str(r, max_len);
        if (k == NULL || v == NULL) {
            br_free(k);
            br_free(v);
            r->bad = true;
            break;
        }
        kv[got].key = k;
        kv[got].value = v;
        got++;
    }
    if (r->bad) {
        br_kv_free(kv, got);
        return NULL;
    }
    *n_out = (size_t)n;
    return kv;
}

/* A count that must not exceed what the rest of the input could hold. */
static size_t get_count(br_notify_reader *r)
{
    uint64_t n = br_notify_get_uint(r);
    if (n > MAX_COUNT || n > (uint64_t)(r->end - r->p)) {
        r->bad = true;
        return 0;
    }
    return (size_t)n;
}

/* ------------------------------------------------------------------------
 * Owned alert copies
 * ---------------------------------------------------------------------- */

/* An alert held by the queue or a group; every string is owned. */
typedef struct nalert {
    uint64_t fp;
    br_kv *labels;
    size_t n_labels;
    br_kv *annotations;
    size_t n_annotations;
    char *generator_url;
    int64_t starts_at_ms;
    int64_t resolved_at_ms;
} nalert;

static void nalert_clear(nalert *a)
{
    br_kv_free(a->labels, a->n_labels);
    br_kv_free(a->annotations, a->n_annotations);
    br_free(a->generator_url);
    memset(a, 0, sizeof(*a));
}

static void nalert_copy(nalert *dst, const br_notify_alert *src)
{
    dst->fp = src->fingerprint;
    dst->labels = br_kv_dup(src->labels, src->n_labels);
    dst->n_labels = src->n_labels;
    dst->annotations = br_kv_dup(src->annotations, src->n_annotations);
    dst->n_annotations = src->n_annotations;
    dst->generator_url = src->generator_url ? br_strdup(src->generator_url) : NULL;
    dst->starts_at_ms = src->starts_at_ms;
    dst->resolved_at_ms = src->resolved_at_ms;
}

/* A borrowed br_notify_alert view of an owned copy. */
static br_notify_alert nalert_view(const nalert *a)
{
    br_notify_alert v = {
        .fingerprint = a->fp,
        .labels = a->labels,
        .n_labels = a->n_labels,
        .annotations = a->annotations,
        .n_annotations = a->n_annotations,
        .starts_at_ms = a->starts_at_ms,
        .resolved_at_ms = a->resolved_at_ms,
        .generator_url = a->generator_url,
    };
    return v;
}

static size_t nalert_bytes(const nalert *a)
{
    size_t bytes = sizeof(*a) + (a->generator_url ? strlen(a->generator_url) : 0);
    for (size_t i = 0; i < a->n_labels; i++) {
        bytes += strlen(a->labels[i].key) + strlen(a->labels[i].value) + 2;
    }
    for (size_t i = 0; i < a->n_annotations; i++) {
        bytes += strlen(a->annotations[i].key) + strlen(a->annotations[i].value) + 2;
    }
    return bytes;
}

static int put_alert(br_buf *b, const nalert *a)
{
    int rc = br_notify_put_uint(b, a->fp);
    rc = rc ? rc : br_notify_put_kvs(b, a->labels, a->n_labels);
    rc = rc ? rc : br_notify_put_kvs(b, a->annotations, a->n_annotations);
    rc = rc ? rc : br_notify_put_str(b, a->generator_url);
    rc = rc ? rc : br_notify_put_int(b, a->starts_at_ms);
    rc = rc ? rc : br_notify_put_int(b, a->resolved_at_ms);
    return rc;
}

static bool get_alert(br_notify_reader *r, nalert *a)
{
    memset(a, 0, sizeof(*a));
    a->fp = br_notify_get_uint(r);
    a->labels = br_notify_get_kvs(r, MAX_COUNT, MAX_STR, &a->n_labels);
    if (!r->bad) {
        a->annotations = br_notify_get_kvs(r, MAX_COUNT, MAX_STR, &a->n_annotations);
    }
    if (!r->bad) {
        a->generator_url = br_notify_get_str(r, MAX_STR);
    }
    a->starts_at_ms = br_notify_get_int(r);
    a->resolved_at_ms = br_notify_get_int(r);
    if (r->bad) {
        nalert_clear(a);
        return false;
    }
    if (a->generator_url != NULL && a->generator_url[0] == '\0') {
        br_free(a->generator_url);
        a->generator_url = NULL;
    }
    return true;
}

/* ------------------------------------------------------------------------
 * Rendering
 * ---------------------------------------------------------------------- */

uint64_t br_notify_fingerprint(const br_kv *labels, size_t n_labels)
{
    static const unsigned char sep = 0xff;
    uint64_t h = BR_FNV1A64_INIT;
    for (size_t i = 0; i < n_labels; i++) {
        h = br_fnv1a64(h, labels[i].key, strlen(labels[i].key));
        h = br_fnv1a64(h, &sep, 1);
        h = br_fnv1a64(h, labels[i].value, strlen(labels[i].value));
        h = br_fnv1a64(h, &sep, 1);
    }
    return h;
}

/* "..." with JSON escapes; bytes >= 0x80 pass through (UTF-8). */
static int json_str(br_buf *b, const char *s)
{
    int rc = br_buf_putc(b, '"');
    const char *run = s;
    for (const char *p = s; rc == 0 && *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        rc = br_buf_append(b, run, (size_t)(p - run));
        run = p + 1;
        if (rc != 0) {
            break;
        }
        switch (c) {
        case '"':
            rc = br_buf_puts(b, "\\\"");
            break;
        case '\\':
            rc = br_buf_puts(b, "\\\\");
            break;
        case '\n':
            rc = br_buf_puts(b, "\\n");
            break;
        case '\r':
            rc = br_buf_puts(b, "\\r");
            break;
        case '\t':
            rc = br_buf_puts(b, "\\t");
            break;
        default:
            rc = br_buf_printf(b, "\\u%04x", c);
            break;
        }
    }
    if (rc == 0) {
        rc = br_buf_puts(b, run);
    }
    return rc ? rc : br_buf_putc(b, '"');
}

static int json_kvs(br_buf *b, const br_kv *kv, size_t n)
{
    int rc = br_buf_putc(b, '{');
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = i ? br_buf_putc(b, ',') : 0;
        rc = rc ? rc : json_str(b, kv[i].key);
        rc = rc ? rc : br_buf_putc(b, ':');
        rc = rc ? rc : json_str(b, kv[i].value);
    }
    return rc ? rc : br_buf_putc(b, '}');
}

static int json_time(br_buf *b, int64_t ms)
{
    char ts[64];
    br_format_rfc3339_ms(ms, ts, sizeof(ts));
    return json_str(b, ts);
}

int br_notify_render_alertmanager(br_buf *out, const br_notify_alert *alerts, size_t n,
                                  int64_t now_ms, int64_t firing_valid_ms)
{
    int rc = br_buf_putc(out, '[');
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const br_notify_alert *a = &alerts[i];
        int64_t ends = a->resolved_at_ms != 0 ? a->resolved_at_ms : now_ms + firing_valid_ms;
        rc = i ? br_buf_putc(out, ',') : 0;
        rc = rc ? rc : br_buf_puts(out, "{\"labels\":");
        rc = rc ? rc : json_kvs(out, a->labels, a->n_labels);
        rc = rc ? rc : br_buf_puts(out, ",\"annotations\":");
        rc = rc ? rc : json_kvs(out, a->annotations, a->n_annotations);
        rc = rc ? rc : br_buf_puts(out, ",\"startsAt\":");
        rc = rc ? rc : json_time(out, a->starts_at_ms);
        rc = rc ? rc : br_buf_puts(out, ",\"endsAt\":");
        rc = rc ? rc : json_time(out, ends);
        if (rc == 0 && a->generator_url != NULL) {
            rc = br_buf_puts(out, ",\"generatorURL\":");
            rc = rc ? rc : json_str(out, a->generator_url);
        }
        rc = rc ? rc : br_buf_putc(out, '}');
    }
    return rc ? rc : br_buf_putc(out, ']');
}

static const char *kv_find(const br_kv *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(kv[i].key, key) == 0) {
            return kv[i].value;
        }
    }
    return NULL;
}

/* Pairs of `first` present with the same value in every alert's set
 * (labels when annotations is false). Writes the common pairs as a JSON
 * object. */
static int json_common(br_buf *b, const br_notify_alert *alerts, size_t n, bool annotations)
{
    int rc = br_buf_putc(b, '{');
    if (n == 0) {
        return rc ? rc : br_buf_putc(b, '}');
    }
    const br_kv *first = annotations ? alerts[0].annotations : alerts[0].labels;
    size_t n_first = annotations ? alerts[0].n_annotations : alerts[0].n_labels;
    bool any = false;
    for (size_t i = 0; rc == 0 && i < n_first; i++) {
        bool common = true;
        for (size_t j = 1; common && j < n; j++) {
            const br_kv *kv = annotations ? alerts[j].annotations : alerts[j].labels;
            size_t nkv = annotations ? alerts[j].n_annotations : alerts[j].n_labels;
            const char *v = kv_find(kv, nkv, first[i].key);
            common = v != NULL && strcmp(v, first[i].value) == 0;
        }
        if (!common) {
            continue;
        }
        rc = any ? br_buf_putc(b, ',') : 0;
        rc = rc ? rc : json_str(b, first[i].key);
        rc = rc ? rc : br_buf_putc(b, ':');
        rc = rc ? rc : json_str(b, first[i].value);
        any = true;
    }
    return rc ? rc : br_buf_putc(b, '}');
}

/* The receiver name as Go's regexp.QuoteMeta writes it. */
static int json_regex_quoted(br_buf *b, const char *s)
{
    br_buf tmp;
    br_buf_init(&tmp, 0);
    for (const char *p = s; *p != '\0'; p++) {
        if (strchr("\\.+*?()|[]{}^$", *p) != NULL) {
            br_buf_putc(&tmp, '\\');
        }
        br_buf_putc(&tmp, *p);
    }
    int rc = json_str(b, br_buf_str(&tmp));
    br_buf_free(&tmp);
    return rc;
}

int br_notify_render_webhook(br_buf *out, const br_webhook_payload *p)
{
    bool firing = false;
    for (size_t i = 0; i < p->n_alerts; i++) {
        firing = firing || p->alerts[i].resolved_at_ms == 0;
    }
    int rc = br_buf_puts(out, "{\"receiver\":");
    rc = rc ? rc : json_regex_quoted(out, p->receiver ? p->receiver : "");
    rc = rc ? rc : br_buf_puts(out, firing ? ",\"status\":\"firing\"" : ",\"status\":\"resolved\"");
    rc = rc ? rc : br_buf_puts(out, ",\"alerts\":[");
    for (size_t i = 0; rc == 0 && i < p->n_alerts; i++) {
        const br_notify_alert *a = &p->alerts[i];
        rc = i ? br_buf_putc(out, ',') : 0;
        rc = rc ? rc
                : br_buf_puts(out, a->resolved_at_ms == 0 ? "{\"status\":\"firing\""
                                                          : "{\"status\":\"resolved\"");
        rc = rc ? rc : br_buf_puts(out, ",\"labels\":");
        rc = rc ? rc : json_kvs(out, a->labels, a->n_labels);
        rc = rc ? rc : br_buf_puts(out, ",\"annotations\":");
        rc = rc ? rc : json_kvs(out, a->annotations, a->n_annotations);
        rc = rc ? rc : br_buf_puts(out, ",\"startsAt\":");
        rc = rc ? rc : json_time(out, a->starts_at_ms);
        rc = rc ? rc : br_buf_puts(out, ",\"endsAt\":");
        if (rc == 0 && a->resolved_at_ms == 0) {
            /* Alertmanager hides a firing alert's future end: Go's zero time. */
            rc = json_str(out, "0001-01-01T00:00:00Z");
        } else if (rc == 0) {
            rc = json_time(out, a->resolved_at_ms);
        }
        rc = rc ? rc : br_buf_puts(out, ",\"generatorURL\":");
        rc = rc ? rc : json_str(out, a->generator_url ? a->generator_url : "");
        rc = rc ? rc
                : br_buf_printf(out, ",\"fingerprint\":\"%016llx\"}",
                                (unsigned long long)a->fingerprint);
    }
    rc = rc ? rc : br_buf_puts(out, "],\"groupLabels\":");
    rc = rc ? rc : json_kvs(out, p->group_labels, p->n_group_labels);
    rc = rc ? rc : br_buf_puts(out, ",\"commonLabels\":");
    rc = rc ? rc : json_common(out, p->alerts, p->n_alerts, false);
    rc = rc ? rc : br_buf_puts(out, ",\"commonAnnotations\":");
    rc = rc ? rc : json_common(out, p->alerts, p->n_alerts, true);
    rc = rc ? rc : br_buf_puts(out, ",\"externalURL\":");
    rc = rc ? rc : json_str(out, p->external_url ? p->external_url : "");
    rc = rc ? rc : br_buf_puts(out, ",\"version\":\"4\",\"groupKey\":");
    rc = rc ? rc : json_str(out, p->group_key ? p->group_key : "");
    rc = rc ? rc : br_buf_printf(out, ",\"truncatedAlerts\":%zu}\n", p->truncated);
    return rc;
}

/* name="value" with the value quoted as Go's %q does for printable text. */
static void go_quoted_pair(br_buf *b, const char *name, const char *value)
{
    br_buf_printf(b, "%s=\"", name);
    for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++) {
        switch (*p) {
        case '"':
            br_buf_puts(b, "\\\"");
            break;
        case '\\':
            br_buf_puts(b, "\\\\");
            break;
        case '\n':
            br_buf_puts(b, "\\n");
            break;
        case '\r':
            br_buf_puts(b, "\\r");
            break;
        case '\t':
            br_buf_puts(b, "\\t");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                br_buf_printf(b, "\\x%02x", *p);
            } else {
                br_buf_putc(b, (char)*p);
            }
        }
    }
    br_buf_putc(b, '"');
}

char *br_notify_group_key(const br_receiver_config *r, const br_kv *group_labels, size_t n)
{
    br_buf b;
    br_buf_init(&b, 0);
    br_buf_puts(&b, "{}");
    if (r != NULL && r->n_match > 0) {
        /* A child route: its matchers, sorted by name. */
        size_t *order = br_calloc(r->n_match, sizeof(size_t));
        for (size_t i = 0; i < r->n_match; i++) {
            size_t j = i;
            while (j > 0 && strcmp(r->match[order[j - 1]].name, r->match[i].name) > 0) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = i;
        }
        br_buf_puts(&b, "/{");
        for (size_t i = 0; i < r->n_match; i++) {
            if (i > 0) {
                br_buf_puts(&b, ", ");
            }
            go_quoted_pair(&b, r->match[order[i]].name, r->match[order[i]].value);
        }
        br_buf_putc(&b, '}');
        br_free(order);
    }
    br_buf_puts(&b, ":{");
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            br_buf_puts(&b, ", ");
        }
        go_quoted_pair(&b, group_labels[i].key, group_labels[i].value);
    }
    br_buf_putc(&b, '}');
    return br_buf_take(&b, NULL);
}

/* ------------------------------------------------------------------------
 * State
 * ---------------------------------------------------------------------- */

typedef struct receiver {
    /* Immutable after open. */
    br_receiver_config cfg;  /* deep copy: strings owned */
    char *post_url;          /* Alertmanager: <url>/api/v2/alerts; webhook: url */
    char *bearer_token;      /* NULL = none */
    unsigned char *hmac_key; /* NULL = unsigned */
    size_t hmac_key_len;
    bool group_all; /* group_by: ["..."] */

    /* Counters: atomics, read by the metrics collector without the lock. */
    _Atomic uint64_t sent;
    _Atomic uint64_t failed;
    _Atomic uint64_t retried;
    _Atomic uint64_t dropped;
    _Atomic uint64_t latency_buckets[N_LATENCY_BOUNDS + 1];
    _Atomic uint64_t latency_count;
    _Atomic uint64_t latency_sum_us;

    /* Guarded by br_notifier.mu. */
    bool busy; /* a request of this receiver is in flight */
} receiver;

/* A webhook aggregation group, with its notification log entry. */
typedef struct group {
    uint32_t receiver;
    uint64_t hash; /* of receiver and key */
    char *key;
    br_kv *labels; /* group labels, sorted */
    size_t n_labels;
    nalert *alerts; /* sorted by fingerprint */
    size_t n_alerts;
    size_t cap_alerts;
    int64_t next_flush_ms;
    bool has_log;         /* notified at least once */
    int64_t log_ms;       /* when the last notification was queued */
    uint64_t *log_firing; /* its firing fingerprints, sorted */
    size_t n_log_firing;
    uint64_t *log_resolved; /* its resolved fingerprints, sorted */
    size_t n_log_resolved;
} group;

typedef struct entry {
    uint64_t id;
    uint32_t receiver;
    int64_t created_ms;
    nalert *alerts; /* alertmanager */
    size_t n_alerts;
    char *body; /* webhook */
    size_t body_len;
    size_t bytes;
    /* Not logged: a restart retries at once. */
    uint32_t attempts;
    int64_t next_attempt_ms;
    bool in_flight;
} entry;

/* One HTTP request; owned by the delivery path while in flight. */
typedef struct request {
    struct request *next;
    uint64_t id;
    uint32_t receiver;
    char **headers;
    size_t n_headers;
    char *body;
    size_t body_len;
    int64_t started_ns;
    int64_t retry_after_ms;
    CURL *easy;
    struct curl_slist *slist;
    char errbuf[CURL_ERROR_SIZE];
} request;

struct br_notifier {
    /* Immutable after open. */
    br_notifier_options opts; /* pointers inside are not used after open */
    char *dir;
    char *external_url;
    receiver *receivers;
    size_t n_receivers;
    br_wal *wal;
    CURLM *multi;     /* thread mode with libcurl */
    request **active; /* per receiver: its transfer in the multi handle; delivery thread only */
    pthread_t thread;
    bool has_thread;
    bool curl_inited;

    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t kick_cv;
    bool stop;
    bool kicked;
    group **groups;
    size_t n_groups;
    size_t cap_groups;
    entry **queue; /* by id (= queue order) */
    size_t n_queue;
    size_t cap_queue;
    size_t queue_bytes;
    uint64_t next_id;
    uint64_t rng;
    uint64_t log_bytes;  /* appended since the last checkpoint */
    uint64_t ckpt_bytes; /* size of the last checkpoint */
    bool replaying;
};

static int64_t clock_now(br_notifier *n)
{
    return n->opts.clock ? n->opts.clock(n->opts.clock_ctx) : br_now_ms();
}

static uint64_t next_random(br_notifier *n)
{
    /* xorshift64* */
    uint64_t x = n->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    n->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static receiver *find_receiver(br_notifier *n, const char *name, uint32_t *idx)
{
    for (size_t i = 0; i < n->n_receivers; i++) {
        if (strcmp(n->receivers[i].cfg.name, name) == 0) {
            *idx = (uint32_t)i;
            return &n->receivers[i];
        }
    }
    return NULL;
}

/* ---- groups ---- */

static uint64_t group_hash(uint32_t receiver_idx, const char *key)
{
    return br_hash64(key, strlen(key), 0x9e3779b97f4a7c15ULL + receiver_idx);
}

/* First position whose group hash is >= h (groups are sorted by hash). */
static size_t group_lower_bound(const br_notifier *n, uint64_t h)
{
    size_t lo = 0;
    size_t hi = n->n_groups;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (n->groups[mid]->hash < h) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static group *find_group(br_notifier *n, uint32_t receiver_idx, const char *key, size_t *pos)
{
    uint64_t h = group_hash(receiver_idx, key);
    for (size_t i = group_lower_bound(n, h); i < n->n_groups && n->groups[i]->hash == h; i++) {
        group *g = n->groups[i];
        if (g->receiver == receiver_idx && strcmp(g->key, key) == 0) {
            if (pos != NULL) {
                *pos = i;
            }
            return g;
        }
    }
    return NULL;
}

static void group_free(group *g)
{
    if (g == NULL) {
        return;
    }
    br_free(g->key);
    br_kv_free(g->labels, g->n_labels);
    for (size_t i = 0; i < g->n_alerts; i++) {
        nalert_clear(&g->alerts[i]);
    }
    br_free(g->alerts);
    br_free(g->log_firing);
    br_free(g->log_resolved);
    br_free(g);
}

/* Inserts g (its hash set) keeping the array sorted by hash. */
static void add_group(br_notifier *n, group *g)
{
    if (n->n_groups == n->cap_groups) {
        n->cap_groups = n->cap_groups ? 2 * n->cap_groups : 16;
        n->groups = br_realloc(n->groups, n->cap_groups * sizeof(*n->groups));
    }
    size_t pos = group_lower_bound(n, g->hash);
    memmove(&n->groups[pos + 1], &n->groups[pos], (n->n_groups - pos) * sizeof(group *));
    n->groups[pos] = g;
    n->n_groups++;
}

static void remove_group_at(br_notifier *n, size_t pos)
{
    group_free(n->groups[pos]);
    memmove(&n->groups[pos], &n->groups[pos + 1], (n->n_groups - pos - 1) * sizeof(group *));
    n->n_groups--;
}

/* Index of fp in g's alerts, or where it would go (and *found false). */
static size_t group_alert_pos(const group *g, uint64_t fp, bool *found)
{
    size_t lo = 0;
    size_t hi = g->n_alerts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->alerts[mid].fp < fp) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = lo < g->n_alerts && g->alerts[lo].fp == fp;
    return lo;
}

static bool fp_in(const uint64_t *set, size_t n, uint64_t fp)
{
    size_t lo = 0;
    size_t hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (set[mid] < fp) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < n && set[lo] == fp;
}

static int put_group(br_buf *b, const br_notifier *n, const group *g)
{
    int rc = br_notify_put_str(b, n->receivers[g->receiver].cfg.name);
    rc = rc ? rc : br_notify_put_str(b, g->key);
    rc = rc ? rc : br_notify_put_int(b, g->next_flush_ms);
    rc = rc ? rc : br_notify_put_kvs(b, g->labels, g->n_labels);
    rc = rc ? rc : br_notify_put_uint(b, g->n_alerts);
    for (size_t i = 0; rc == 0 && i < g->n_alerts; i++) {
        rc = put_alert(b, &g->alerts[i]);
    }
    rc = rc ? rc : br_notify_put_uint(b, g->has_log ? 1 : 0);
    rc = rc ? rc : br_notify_put_int(b, g->log_ms);
    rc = rc ? rc : br_notify_put_uint(b, g->n_log_firing);
    for (size_t i = 0; rc == 0 && i < g->n_log_firing; i++) {
        rc = br_notify_put_uint(b, g->log_firing[i]);
    }
    rc = rc ? rc : br_notify_put_uint(b, g->n_log_resolved);
    for (size_t i = 0; rc == 0 && i < g->n_log_resolved; i++) {
        rc = br_notify_put_uint(b, g->log_resolved[i]);
    }
    return rc;
}

static uint64_t *get_fps(br_notify_reader *r, size_t *n_out)
{
    size_t n = get_count(r);
    uint64_t *fps = br_calloc(n ? n : 1, sizeof(uint64_t));
    for (size_t i = 0; i < n && !r->bad; i++) {
        fps[i] = br_notify_get_uint(r);
        if (i > 0 && fps[i] <= fps[i - 1]) {
            r->bad = true; /* must be sorted and unique */
        }
    }
    *n_out = n;
    return fps;
}

/* ---- queue ---- */

static void entry_free(entry *e)
{
    if (e == NULL) {
        return;
    }
    for (size_t i = 0; i < e->n_alerts; i++) {
        nalert_clear(&e->alerts[i]);
    }
    br_free(e->alerts);
    br_free(e->body);
    br_free(e);
}

static size_t entry_pos(br_notifier *n, uint64_t id, bool *found)
{
    size_t lo = 0;
    size_t hi = n->n_queue;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (n->queue[mid]->id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = lo < n->n_queue && n->queue[lo]->id == id;
    return lo;
}

static int put_entry(br_buf *b, const br_notifier *n, const entry *e)
{
    int rc = br_notify_put_uint(b, OP_ENQUEUE);
    rc = rc ? rc : br_notify_put_uint(b, e->id);
    rc = rc ? rc : br_notify_put_str(b, n->receivers[e->receiver].cfg.name);
    rc = rc ? rc : br_notify_put_int(b, e->created_ms);
    if (n->receivers[e->receiver].cfg.kind == BR_RECEIVER_WEBHOOK) {
        rc = rc ? rc : br_notify_put_uint(b, KIND_WEBHOOK);
        rc = rc ? rc : put_bytes(b, e->body, e->body_len);
    } else {
        rc = rc ? rc : br_notify_put_uint(b, KIND_ALERTMANAGER);
        rc = rc ? rc : br_notify_put_uint(b, e->n_alerts);
        for (size_t i = 0; rc == 0 && i < e->n_alerts; i++) {
            rc = put_alert(b, &e->alerts[i]);
        }
    }
    return rc;
}

static int put_done(br_buf *rec, uint64_t id, unsigned reason)
{
    int rc = br_notify_put_uint(rec, OP_DONE);
    rc = rc ? rc : br_notify_put_uint(rec, id);
    return rc ? rc : br_notify_put_uint(rec, reason);
}

/* Removes the entry at pos, logging op DONE with reason into rec (may be NULL). */
static void remove_entry_at(br_notifier *n, size_t pos, unsigned reason, br_buf *rec)
{
    entry *e = n->queue[pos];
    if (rec != NULL) {
        put_done(rec, e->id, reason);
    }
    n->queue_bytes -= e->bytes;
    memmove(&n->queue[pos], &n->queue[pos + 1], (n->n_queue - pos - 1) * sizeof(entry *));
    n->n_queue--;
    entry_free(e);
}

/* Drops the oldest entries not in flight until one of `bytes` fits. */
static void make_room(br_notifier *n, size_t bytes, br_buf *rec)
{
    size_t pos = 0;
    while ((n->n_queue >= n->opts.queue_capacity ||
            n->queue_bytes + bytes > n->opts.queue_max_bytes) &&
           pos < n->n_queue) {
        entry *e = n->queue[pos];
        if (e->in_flight) {
            pos++;
            continue;
        }
        receiver *r = &n->receivers[e->receiver];
        atomic_fetch_add(&r->dropped, 1);
        br_log_warn("notification queue full: dropping the oldest notification",
                    "receiver=%s id=%016llx queued=%zu bytes=%zu", r->cfg.name,
                    (unsigned long long)e->id, n->n_queue, n->queue_bytes);
        remove_entry_at(n, pos, DONE_DROPPED, rec);
    }
}

/* Appends e (ids only grow) and logs op ENQUEUE into rec (may be NULL). */
static void enqueue_entry(br_notifier *n, entry *e, br_buf *rec)
{
    if (!n->replaying) {
        make_room(n, e->bytes, rec);
    }
    if (n->n_queue == n->cap_queue) {
        n->cap_queue = n->cap_queue ? 2 * n->cap_queue : 64;
        n->queue = br_realloc(n->queue, n->cap_queue * sizeof(*n->queue));
    }
    n->queue[n->n_queue++] = e;
    n->queue_bytes += e->bytes;
    if (e->id >= n->next_id) {
        n->next_id = e->id + 1;
    }
    if (rec != NULL) {
        put_entry(rec, n, e);
    }
}

/* Drops queued (not in flight) Alertmanager entries of e's receiver whose
 * every alert is also in e: e carries newer state for all of them. */
static void supersede_older(br_notifier *n, const entry *e, br_buf *rec)
{
    for (size_t pos = 0; pos < n->n_queue;) {
        entry *o = n->queue[pos];
        bool covered = o->receiver == e->receiver && !o->in_flight && o != e;
        for (size_t i = 0; covered && i < o->n_alerts; i++) {
            bool in_new = false;
            for (size_t j = 0; !in_new && j < e->n_alerts; j++) {
                in_new = e->alerts[j].fp == o->alerts[i].fp;
            }
            covered = in_new;
        }
        if (covered) {
            remove_entry_at(n, pos, DONE_SUPERSEDED, rec);
        } else {
            pos++;
        }
    }
}

/* ------------------------------------------------------------------------
 * Log: applying ops (replay) and writing records
 *
 * A br_wal in the notifier's directory (storage/wal.c frames records with
 * length, type and CRC32C). Integers are varints (unsigned, or ZigZag for
 * signed ones), doubles 8 bytes little-endian, strings a varint length then
 * the bytes (the codec in notifier.h).
 *   record type 1 BATCH       uint version (1), then ops to the end
 *   record type 2 CHECKPOINT  uint version (1), uint next_id, then ops; all
 *                             state before it is discarded
 *   op 1 ENQUEUE   uint id, str receiver, int created_ms, uint kind
 *                  (0 webhook: str body | 1 alertmanager: uint n, n ALERT)
 *   op 2 DONE      uint id, uint reason (1 delivered, 2 dropped, 3 superseded)
 *   op 3 GROUP     str receiver, str key, int next_flush_ms, uint n, n (str
 *                  name, str value) group labels, uint n, n ALERT, uint
 *                  has_log, int log_ms, uint n, n uint firing fingerprints,
 *                  uint n, n uint resolved fingerprints (replaces the group)
 *   op 4 GROUP_DEL str receiver, str key
 *   op 5 BLOB      str bytes (the caller's, handed back at open)
 *   ALERT          uint fingerprint, uint n, n (str, str) labels, uint n,
 *                  n (str, str) annotations, str generator_url,
 *                  int starts_at_ms, int resolved_at_ms
 * Receivers are named, not numbered, so a config change keeps the log
 * readable; entries and groups of a receiver no longer configured are
 * dropped at open. A record that decodes badly is logged and its remaining
 * ops skipped; torn or corrupt records end the log (wal.c's rules). A
 * checkpoint is written at open and when the log has grown past
 * max(4 MiB, 2 x the last checkpoint) (br_notifier_wants_checkpoint).
 * ---------------------------------------------------------------------- */

static void clear_state(br_notifier *n)
{
    for (size_t i = 0; i < n->n_groups; i++) {
        group_free(n->groups[i]);
    }
    n->n_groups = 0;
    for (size_t i = 0; i < n->n_queue; i++) {
        entry_free(n->queue[i]);
    }
    n->n_queue = 0;
    n->queue_bytes = 0;
}

static bool apply_enqueue(br_notifier *n, br_notify_reader *r)
{
    entry *e = br_calloc(1, sizeof(*e));
    e->id = br_notify_get_uint(r);
    char *name = br_notify_get_str(r, MAX_STR);
    e->created_ms = br_notify_get_int(r);
    uint64_t kind = br_notify_get_uint(r);
    if (kind == KIND_WEBHOOK) {
        size_t len = 0;
        const unsigned char *body = get_bytes(r, MAX_BODY, &len);
        if (body != NULL) {
            e->body = br_strndup((const char *)body, len);
            e->body_len = len;
        }
        e->bytes = sizeof(*e) + len;
    } else if (kind == KIND_ALERTMANAGER) {
        size_t count = get_count(r);
        e->alerts = br_calloc(count ? count : 1, sizeof(nalert));
        for (size_t i = 0; i < count && !r->bad; i++) {
            if (get_alert(r, &e->alerts[i])) {
                e->n_alerts = i + 1;
                e->bytes += nalert_bytes(&e->alerts[i]);
            }
        }
    } else {
        r->bad = true;
    }
    uint32_t idx = 0;
    receiver *rcv = r->bad || name == NULL ? NULL : find_receiver(n, name, &idx);
    bool found = false;
    entry_pos(n, e->id, &found);
    bool kind_ok = rcv != NULL && (rcv->cfg.kind == BR_RECEIVER_WEBHOOK) == (kind == KIND_WEBHOOK);
    if (r->bad || found || (n->n_queue > 0 && n->queue[n->n_queue - 1]->id > e->id)) {
        entry_free(e);
        br_free(name);
        return !r->bad; /* a duplicate or out-of-order id is skipped */
    }
    if (!kind_ok) {
        br_log_warn("notification log: dropping a queued notification of an unknown receiver",
                    "receiver=%s id=%016llx", name, (unsigned long long)e->id);
        if (e->id >= n->next_id) {
            n->next_id = e->id + 1;
        }
        entry_free(e);
        br_free(name);
        return true;
    }
    br_free(name);
    e->receiver = idx;
    enqueue_entry(n, e, NULL);
    return true;
}

static bool apply_group(br_notifier *n, br_notify_reader *r)
{
    group *g = br_calloc(1, sizeof(*g));
    char *name = br_notify_get_str(r, MAX_STR);
    g->key = br_notify_get_str(r, MAX_STR);
    g->next_flush_ms = br_notify_get_int(r);
    if (!r->bad) {
        g->labels = br_notify_get_kvs(r, MAX_COUNT, MAX_STR, &g->n_labels);
    }
    size_t count = get_count(r);
    g->alerts = br_calloc(count ? count : 1, sizeof(nalert));
    g->cap_alerts = count ? count : 1;
    for (size_t i = 0; i < count && !r->bad; i++) {
        if (get_alert(r, &g->alerts[i])) {
            g->n_alerts = i + 1;
            if (i > 0 && g->alerts[i].fp <= g->alerts[i - 1].fp) {
                r->bad = true;
            }
        }
    }
    g->has_log = br_notify_get_uint(r) != 0;
    g->log_ms = br_notify_get_int(r);
    g->log_firing = get_fps(r, &g->n_log_firing);
    g->log_resolved = get_fps(r, &g->n_log_resolved);
    uint32_t idx = 0;
    receiver *rcv = r->bad || name == NULL ? NULL : find_receiver(n, name, &idx);
    br_free(name);
    if (r->bad || rcv == NULL || rcv->cfg.kind != BR_RECEIVER_WEBHOOK) {
        group_free(g);
        return !r->bad;
    }
    g->receiver = idx;
    g->hash = group_hash(idx, g->key);
    size_t pos = 0;
    if (find_group(n, idx, g->key, &pos) != NULL) {
        group_free(n->groups[pos]);
        n->groups[pos] = g;
    } else {
        add_group(n, g);
    }
    return true;
}

static bool apply_group_del(br_notifier *n, br_notify_reader *r)
{
    char *name = br_notify_get_str(r, MAX_STR);
    char *key = br_notify_get_str(r, MAX_STR);
    uint32_t idx = 0;
    size_t pos = 0;
    if (!r->bad && find_receiver(n, name, &idx) != NULL && find_group(n, idx, key, &pos) != NULL) {
        remove_group_at(n, pos);
    }
    br_free(name);
    br_free(key);
    return !r->bad;
}

static bool apply_ops(br_notifier *n, br_notify_reader *r)
{
    while (r->p < r->end && !r->bad) {
        uint64_t op = br_notify_get_uint(r);
        bool ok = true;
        switch (op) {
        case OP_ENQUEUE:
            ok = apply_enqueue(n, r);
            break;
        case OP_DONE: {
            uint64_t id = br_notify_get_uint(r);
            (void)br_notify_get_uint(r);
            bool found = false;
            size_t pos = entry_pos(n, id, &found);
            if (!r->bad && found) {
                remove_entry_at(n, pos, 0, NULL);
            }
            break;
        }
        case OP_GROUP:
            ok = apply_group(n, r);
            break;
        case OP_GROUP_DEL:
            ok = apply_group_del(n, r);
            break;
        case OP_BLOB: {
            size_t len = 0;
            const unsigned char *blob = get_bytes(r, MAX_BODY * 4, &len);
            if (blob != NULL && n->opts.replay_blob != NULL &&
                n->opts.replay_blob(n->opts.blob_ctx, blob, len) != 0) {
                br_log_warn("notification log: the alert state in a record was not applied",
                            "bytes=%zu", len);
            }
            break;
        }
        default:
            r->bad = true;
        }
        if (!ok) {
            r->bad = true;
        }
    }
    return !r->bad;
}

static int replay_record(uint8_t type, const void *payload, size_t len, void *ctx)
{
    br_notifier *n = ctx;
    br_notify_reader r = {.p = payload, .end = (const unsigned char *)payload + len};
    uint64_t version = br_notify_get_uint(&r);
    if (r.bad || version != LOG_VERSION || (type != REC_BATCH && type != REC_CHECKPOINT)) {
        br_log_warn("notification log: skipping a record of an unknown type or version",
                    "type=%u version=%llu", (unsigned)type, (unsigned long long)version);
        return 0;
    }
    if (type == REC_CHECKPOINT) {
        clear_state(n);
        uint64_t next_id = br_notify_get_uint(&r);
        if (next_id > n->next_id) {
            n->next_id = next_id;
        }
    }
    if (!apply_ops(n, &r)) {
        br_log_warn("notification log: a record did not decode; its remaining operations were "
                    "skipped",
                    "type=%u bytes=%zu", (unsigned)type, len);
    }
    return 0;
}

static void record_init(br_buf *rec)
{
    br_buf_init(rec, BR_WAL_MAX_RECORD);
    br_notify_put_uint(rec, LOG_VERSION);
}

/* Appends rec if it holds any op (under mu); *lsn is what to sync. */
static int write_record(br_notifier *n, br_buf *rec, uint64_t *lsn, br_err *err)
{
    if (rec->len <= 1) {
        return 0;
    }
    uint64_t at = 0;
    int rc = br_wal_append(n->wal, REC_BATCH, rec->data, rec->len, &at, err);
    if (rc != 0) {
        br_log_error("notification log: append failed; state kept in memory only", "error=\"%s\"",
                     err ? err->msg : br_strerror(rc));
        return rc;
    }
    n->log_bytes += rec->len;
    if (at > *lsn) {
        *lsn = at;
    }
    return 0;
}

static int sync_lsn(br_notifier *n, uint64_t lsn, br_err *err)
{
    if (lsn == 0) {
        return 0;
    }
    int rc = br_wal_sync(n->wal, lsn, err);
    if (rc != 0) {
        br_log_error("notification log: sync failed", "error=\"%s\"",
                     err ? err->msg : br_strerror(rc));
    }
    return rc;
}

/* ------------------------------------------------------------------------
 * Routing and grouping
 * ---------------------------------------------------------------------- */

static bool route_matches(const receiver *r, const br_notify_alert *a)
{
    for (size_t i = 0; i < r->cfg.n_match; i++) {
        const char *v = kv_find(a->labels, a->n_labels, r->cfg.match[i].name);
        if (v == NULL || strcmp(v, r->cfg.match[i].value) != 0) {
            return false;
        }
    }
    return true;
}

static void submit_alertmanager(br_notifier *n, uint32_t ridx, int64_t now,
                                const br_notify_alert *alerts, const size_t *idx, size_t count,
                                br_buf *rec)
{
    for (size_t start = 0; start < count; start += BR_NOTIFY_AM_BATCH) {
        size_t take = count - start < BR_NOTIFY_AM_BATCH ? count - start : BR_NOTIFY_AM_BATCH;
        entry *e = br_calloc(1, sizeof(*e));
        e->id = n->next_id++;
        e->receiver = ridx;
        e->created_ms = now;
        e->next_attempt_ms = now;
        e->alerts = br_calloc(take, sizeof(nalert));
        e->n_alerts = take;
        e->bytes = sizeof(*e);
        for (size_t i = 0; i < take; i++) {
            nalert_copy(&e->alerts[i], &alerts[idx[start + i]]);
            e->bytes += nalert_bytes(&e->alerts[i]);
        }
        supersede_older(n, e, rec);
        enqueue_entry(n, e, rec);
    }
}

/* The group labels of a under r's group_by (missing labels left out). */
static br_kv *group_labels_of(const receiver *r, const br_notify_alert *a, size_t *n_out)
{
    br_kv *out = br_calloc(a->n_labels ? a->n_labels : 1, sizeof(br_kv));
    size_t n = 0;
    for (size_t i = 0; i < a->n_labels; i++) {
        bool take = r->group_all;
        for (size_t j = 0; !take && j < r->cfg.n_group_by; j++) {
            take = strcmp(r->cfg.group_by[j], a->labels[i].key) == 0;
        }
        if (take) {
            out[n++] = a->labels[i]; /* borrowed views; sorted as the labels are */
        }
    }
    *n_out = n;
    return out;
}

/* Adds or updates a in its group. Returns true when the group changed in
 * a way worth logging (new alert, status change); annotation and URL
 * updates are kept in memory only. */
static bool group_upsert(br_notifier *n, uint32_t ridx, int64_t now, const br_notify_alert *a,
                         group **touched)
{
    receiver *r = &n->receivers[ridx];
    size_t n_gl = 0;
    br_kv *gl = group_labels_of(r, a, &n_gl);
    char *key = br_notify_group_key(&r->cfg, gl, n_gl);
    group *g = find_group(n, ridx, key, NULL);
    if (g == NULL && a->resolved_at_ms != 0) {
        /* A resolved alert no group knows of: the receiver never heard of it. */
        br_free(key);
        br_free(gl);
        *touched = NULL;
        return false;
    }
    bool changed = false;
    if (g == NULL) {
        g = br_calloc(1, sizeof(*g));
        g->receiver = ridx;
        g->key = key;
        key = NULL;
        g->hash = group_hash(ridx, g->key);
        g->labels = br_kv_dup(gl, n_gl);
        g->n_labels = n_gl;
        g->next_flush_ms = now + r->cfg.group_wait_ms;
        add_group(n, g);
        changed = true;
    }
    br_free(key);
    br_free(gl);
    *touched = g;
    bool found = false;
    size_t pos = group_alert_pos(g, a->fingerprint, &found);
    if (!found) {
        if (a->resolved_at_ms != 0) {
            return changed; /* already notified as resolved and removed */
        }
        if (g->n_alerts == g->cap_alerts) {
            g->cap_alerts = g->cap_alerts ? 2 * g->cap_alerts : 4;
            g->alerts = br_realloc(g->alerts, g->cap_alerts * sizeof(nalert));
        }
        memmove(&g->alerts[pos + 1], &g->alerts[pos], (g->n_alerts - pos) * sizeof(nalert));
        g->n_alerts++;
        nalert_copy(&g->alerts[pos], a);
        return true;
    }
    nalert *cur = &g->alerts[pos];
    bool material = (cur->resolved_at_ms == 0) != (a->resolved_at_ms == 0) ||
                    cur->starts_at_ms != a->starts_at_ms ||
                    !br_kv_equal(cur->labels, cur->n_labels, a->labels, a->n_labels);
    bool same_text =
        br_kv_equal(cur->annotations, cur->n_annotations, a->annotations, a->n_annotations) &&
        ((cur->generator_url == NULL && a->generator_url == NULL) ||
         (cur->generator_url != NULL && a->generator_url != NULL &&
          strcmp(cur->generator_url, a->generator_url) == 0));
    if (material || !same_text) {
        nalert_clear(cur);
        nalert_copy(cur, a);
    }
    return changed || material;
}

/* Alertmanager's DedupStage.needsUpdate. */
static bool group_needs_notify(const group *g, const uint64_t *firing, size_t n_firing,
                               const uint64_t *resolved, size_t n_resolved, int64_t now,
                               int64_t repeat_ms)
{
    if (!g->has_log) {
        return n_firing > 0;
    }
    for (size_t i = 0; i < n_firing; i++) {
        if (!fp_in(g->log_firing, g->n_log_firing, firing[i])) {
            return true; /* a new firing alert */
        }
    }
    if (n_firing == 0) {
        /* All resolved: tell the receiver if it was told of firing ones. */
        return g->n_log_firing > 0;
    }
    for (size_t i = 0; i < n_resolved; i++) {
        if (!fp_in(g->log_resolved, g->n_log_resolved, resolved[i])) {
            return true; /* newly resolved */
        }
    }
    return g->log_ms + repeat_ms <= now;
}

/* Flushes group pos (due): maybe queues a payload, then drops its resolved
 * alerts and schedules the next flush; logs into rec. */
static void flush_group(br_notifier *n, size_t pos, int64_t now, br_buf *rec)
{
    group *g = n->groups[pos];
    receiver *r = &n->receivers[g->receiver];
    uint64_t *firing = br_calloc(g->n_alerts ? g->n_alerts : 1, sizeof(uint64_t));
    uint64_t *resolved = br_calloc(g->n_alerts ? g->n_alerts : 1, sizeof(uint64_t));
    size_t n_firing = 0;
    size_t n_resolved = 0;
    for (size_t i = 0; i < g->n_alerts; i++) {
        if (g->alerts[i].resolved_at_ms == 0) {
            firing[n_firing++] = g->alerts[i].fp;
        } else {
            resolved[n_resolved++] = g->alerts[i].fp;
        }
    }
    if (group_needs_notify(g, firing, n_firing, resolved, n_resolved, now,
                           r->cfg.repeat_interval_ms)) {
        size_t listed =
            g->n_alerts < BR_NOTIFY_WEBHOOK_MAX_ALERTS ? g->n_alerts : BR_NOTIFY_WEBHOOK_MAX_ALERTS;
        br_notify_alert *views = br_calloc(listed ? listed : 1, sizeof(*views));
        /* Firing alerts first, so truncation drops resolved ones. */
        size_t k = 0;
        for (size_t i = 0; i < g->n_alerts && k < listed; i++) {
            if (g->alerts[i].resolved_at_ms == 0) {
                views[k++] = nalert_view(&g->alerts[i]);
            }
        }
        for (size_t i = 0; i < g->n_alerts && k < listed; i++) {
            if (g->alerts[i].resolved_at_ms != 0) {
                views[k++] = nalert_view(&g->alerts[i]);
            }
        }
        br_webhook_payload p = {
            .receiver = r->cfg.name,
            .group_key = g->key,
            .group_labels = g->labels,
            .n_group_labels = g->n_labels,
            .alerts = views,
            .n_alerts = listed,
            .truncated = g->n_alerts - listed,
            .external_url = n->external_url,
        };
        br_buf body;
        br_buf_init(&body, MAX_BODY);
        if (br_notify_render_webhook(&body, &p) != 0) {
            atomic_fetch_add(&r->dropped, 1);
            br_log_error("webhook payload over the size limit; not sent", "receiver=%s group=%s",
                         r->cfg.name, g->key);
        } else {
            entry *e = br_calloc(1, sizeof(*e));
            e->id = n->next_id++;
            e->receiver = g->receiver;
            e->created_ms = now;
            e->next_attempt_ms = now;
            e->body = br_buf_take(&body, &e->body_len);
            e->bytes = sizeof(*e) + e->body_len;
            enqueue_entry(n, e, rec);
        }
        br_buf_free(&body);
        br_free(views);
        br_free(g->log_firing);
        br_free(g->log_resolved);
        g->log_firing = firing;
        g->n_log_firing = n_firing;
        g->log_resolved = resolved;
        g->n_log_resolved = n_resolved;
        g->log_ms = now;
        g->has_log = true;
        firing = NULL;
        resolved = NULL;
    }
    br_free(firing);
    br_free(resolved);
    /* Resolved alerts leave the group once a flush has seen them. */
    size_t kept = 0;
    for (size_t i = 0; i < g->n_alerts; i++) {
        if (g->alerts[i].resolved_at_ms != 0) {
            nalert_clear(&g->alerts[i]);
        } else {
            g->alerts[kept++] = g->alerts[i];
        }
    }
    g->n_alerts = kept;
    g->next_flush_ms = now + r->cfg.group_interval_ms;
    if (g->n_alerts == 0) {
        br_notify_put_uint(rec, OP_GROUP_DEL);
        br_notify_put_str(rec, r->cfg.name);
        br_notify_put_str(rec, g->key);
        remove_group_at(n, pos);
    } else {
        br_notify_put_uint(rec, OP_GROUP);
        put_group(rec, n, g);
    }
}

/* Flushes every due group (under mu). Returns true if any was flushed. */
static bool flush_due_groups(br_notifier *n, int64_t now, br_buf *rec)
{
    bool any = false;
    for (size_t pos = 0; pos < n->n_groups;) {
        group *g = n->groups[pos];
        if (g->next_flush_ms > now) {
            pos++;
            continue;
        }
        size_t before = n->n_groups;
        flush_group(n, pos, now, rec);
        any = true;
        if (n->n_groups == before) {
            pos++;
        }
    }
    return any;
}

int br_notifier_submit(br_notifier *n, int64_t now_ms, const br_notify_alert *alerts,
                       size_t n_alerts, const void *blob, size_t blob_len, br_err *err)
{
    br_buf rec;
    record_init(&rec);
    size_t *idx = br_calloc(n_alerts ? n_alerts : 1, sizeof(size_t));
    group **touched = br_calloc(n_alerts ? n_alerts : 1, sizeof(group *));
    uint64_t lsn = 0;
    pthread_mutex_lock(&n->mu);
    for (uint32_t ri = 0; ri < n->n_receivers; ri++) {
        receiver *r = &n->receivers[ri];
        size_t count = 0;
        for (size_t i = 0; i < n_alerts; i++) {
            if (route_matches(r, &alerts[i])) {
                idx[count++] = i;
            }
        }
        if (count == 0) {
            continue;
        }
        if (r->cfg.kind == BR_RECEIVER_ALERTMANAGER) {
            submit_alertmanager(n, ri, now_ms, alerts, idx, count, &rec);
            continue;
        }
        size_t n_touched = 0;
        for (size_t i = 0; i < count; i++) {
            group *g = NULL;
            if (group_upsert(n, ri, now_ms, &alerts[idx[i]], &g)) {
                bool seen = false;
                for (size_t j = 0; !seen && j < n_touched; j++) {
                    seen = touched[j] == g;
                }
                if (!seen) {
                    touched[n_touched++] = g;
                }
            }
        }
        for (size_t j = 0; j < n_touched; j++) {
            br_notify_put_uint(&rec, OP_GROUP);
            put_group(&rec, n, touched[j]);
        }
    }
    if (blob != NULL && blob_len > 0) {
        br_notify_put_uint(&rec, OP_BLOB);
        put_bytes(&rec, blob, blob_len);
    }
    int rc = 0;
    if (rec.len >= BR_WAL_MAX_RECORD) {
        rc = br_err_set(err, BR_ETOOLARGE,
                        "notifier: one tick's changes exceed the log's record "
                        "limit; not persisted");
    } else {
        rc = write_record(n, &rec, &lsn, err);
    }
    n->kicked = true;
    pthread_cond_signal(&n->kick_cv);
    pthread_mutex_unlock(&n->mu);
    if (n->multi != NULL) {
        curl_multi_wakeup(n->multi);
    }
    br_free(idx);
    br_free(touched);
    br_buf_free(&rec);
    if (rc == 0) {
        rc = sync_lsn(n, lsn, err);
    }
    return rc;
}

/* ------------------------------------------------------------------------
 * Checkpoints
 * ---------------------------------------------------------------------- */

bool br_notifier_wants_checkpoint(br_notifier *n)
{
    pthread_mutex_lock(&n->mu);
    uint64_t limit = 2 * n->ckpt_bytes > CKPT_MIN_BYTES ? 2 * n->ckpt_bytes : CKPT_MIN_BYTES;
    bool wants = n->log_bytes > limit;
    pthread_mutex_unlock(&n->mu);
    return wants;
}

/* Writes the checkpoint (under mu). */
static int checkpoint_locked(br_notifier *n, const void *blob, size_t blob_len, br_err *err)
{
    br_buf rec;
    br_buf_init(&rec, BR_WAL_MAX_RECORD);
    int rc = br_notify_put_uint(&rec, LOG_VERSION);
    rc = rc ? rc : br_notify_put_uint(&rec, n->next_id);
    for (size_t i = 0; rc == 0 && i < n->n_groups; i++) {
        rc = br_notify_put_uint(&rec, OP_GROUP);
        rc = rc ? rc : put_group(&rec, n, n->groups[i]);
    }
    for (size_t i = 0; rc == 0 && i < n->n_queue; i++) {
        rc = put_entry(&rec, n, n->queue[i]);
    }
    if (rc == 0 && blob != NULL && blob_len > 0) {
        rc = br_notify_put_uint(&rec, OP_BLOB);
        rc = rc ? rc : put_bytes(&rec, blob, blob_len);
    }
    if (rc != 0) {
        br_buf_free(&rec);
        return br_err_set(err, BR_ETOOLARGE,
                          "notifier checkpoint: state exceeds the %u-byte record limit",
                          (unsigned)BR_WAL_MAX_RECORD);
    }
    uint32_t seg = 0;
    uint64_t lsn = 0;
    rc = br_wal_cut(n->wal, &seg, err);
    if (rc == 0) {
        rc = br_wal_append(n->wal, REC_CHECKPOINT, rec.data, rec.len, &lsn, err);
    }
    if (rc == 0) {
        rc = br_wal_sync(n->wal, lsn, err);
    }
    if (rc == 0) {
        rc = br_wal_truncate_before(n->wal, seg, err);
    }
    if (rc == 0) {
        n->ckpt_bytes = rec.len;
        n->log_bytes = 0;
    }
    br_buf_free(&rec);
    return rc;
}

int br_notifier_checkpoint(br_notifier *n, const void *blob, size_t blob_len, br_err *err)
{
    pthread_mutex_lock(&n->mu);
    int rc = checkpoint_locked(n, blob, blob_len, err);
    pthread_mutex_unlock(&n->mu);
    return rc;
}

/* ------------------------------------------------------------------------
 * Delivery
 * ---------------------------------------------------------------------- */

static void request_free(request *q)
{
    if (q == NULL) {
        return;
    }
    for (size_t i = 0; i < q->n_headers; i++) {
        br_free(q->headers[i]);
    }
    br_free(q->headers);
    br_free(q->body);
    if (q->slist != NULL) {
        curl_slist_free_all(q->slist);
    }
    if (q->easy != NULL) {
        curl_easy_cleanup(q->easy);
    }
    br_free(q);
}

/* Adds the header line "<prefix><value>". */
static void add_header(request *q, const char *prefix, const char *value)
{
    br_buf h;
    br_buf_init(&h, 0);
    br_buf_puts(&h, prefix);
    br_buf_puts(&h, value);
    q->headers = br_realloc(q->headers, (q->n_headers + 1) * sizeof(char *));
    q->headers[q->n_headers++] = br_buf_take(&h, NULL);
}

/* Builds the request for entry e (under mu). */
static request *build_request(br_notifier *n, entry *e, int64_t now)
{
    receiver *r = &n->receivers[e->receiver];
    request *q = br_calloc(1, sizeof(*q));
    q->id = e->id;
    q->receiver = e->receiver;
    if (r->cfg.kind == BR_RECEIVER_ALERTMANAGER) {
        br_notify_alert *views = br_calloc(e->n_alerts ? e->n_alerts : 1, sizeof(*views));
        for (size_t i = 0; i < e->n_alerts; i++) {
            views[i] = nalert_view(&e->alerts[i]);
        }
        br_buf body;
        br_buf_init(&body, 0);
        br_notify_render_alertmanager(&body, views, e->n_alerts, now, n->opts.firing_valid_ms);
        q->body = br_buf_take(&body, &q->body_len);
        br_free(views);
    } else {
        q->body = br_malloc(e->body_len + 1);
        memcpy(q->body, e->body, e->body_len);
        q->body[e->body_len] = '\0';
        q->body_len = e->body_len;
    }
    char id[32];
    snprintf(id, sizeof(id), "%016llx", (unsigned long long)e->id);
    add_header(q, "Content-Type: application/json", "");
    add_header(q, "User-Agent: burnrate/", BR_VERSION);
    add_header(q, "Expect:", ""); /* no 100-continue round trip */
    if (r->cfg.kind == BR_RECEIVER_WEBHOOK) {
        add_header(q, "X-Burnrate-Notification-Id: ", id);
    }
    if (r->bearer_token != NULL) {
        add_header(q, "Authorization: Bearer ", r->bearer_token);
    }
    if (r->hmac_key != NULL) {
        uint8_t mac[BR_SHA256_SIZE];
        char hex[BR_SHA256_HEX_SIZE];
        br_hmac_sha256(r->hmac_key, r->hmac_key_len, q->body, q->body_len, mac);
        add_header(q, "X-Burnrate-Signature: sha256=", br_sha256_hex(mac, hex));
    }
    return q;
}

/* Marks the oldest due entry of every idle receiver in flight and returns
 * their requests as a list (under mu). */
static request *prepare_due(br_notifier *n, int64_t now)
{
    request *list = NULL;
    request **tail = &list;
    size_t idle = 0;
    for (size_t i = 0; i < n->n_receivers; i++) {
        idle += n->receivers[i].busy ? 0 : 1;
    }
    bool *seen = br_calloc(n->n_receivers ? n->n_receivers : 1, sizeof(bool));
    for (size_t pos = 0; pos < n->n_queue && idle > 0; pos++) {
        entry *e = n->queue[pos];
        receiver *r = &n->receivers[e->receiver];
        if (seen[e->receiver] || r->busy) {
            continue;
        }
        seen[e->receiver] = true; /* only a receiver's oldest: delivery keeps queue order */
        if (e->next_attempt_ms > now) {
            continue;
        }
        e->in_flight = true;
        r->busy = true;
        idle--;
        request *q = build_request(n, e, now);
        *tail = q;
        tail = &q->next;
    }
    br_free(seen);
    return list;
}

/* Milliseconds until something is due (under mu), at most MAX_WAIT_MS. */
static int64_t next_wake_ms(br_notifier *n, int64_t now)
{
    int64_t wait = MAX_WAIT_MS;
    for (size_t i = 0; i < n->n_groups; i++) {
        int64_t d = n->groups[i]->next_flush_ms - now;
        wait = d < wait ? d : wait;
    }
    /* Only a receiver's oldest entry can be sent next. */
    bool *seen = br_calloc(n->n_receivers ? n->n_receivers : 1, sizeof(bool));
    for (size_t i = 0; i < n->n_queue; i++) {
        entry *e = n->queue[i];
        if (!seen[e->receiver] && !n->receivers[e->receiver].busy) {
            int64_t d = e->next_attempt_ms - now;
            wait = d < wait ? d : wait;
        }
        seen[e->receiver] = true;
    }
    br_free(seen);
    return wait < 0 ? 0 : wait;
}

static void observe_latency(receiver *r, int64_t ns)
{
    double s = (double)ns / 1e9;
    size_t b = 0;
    while (b < N_LATENCY_BOUNDS && s > latency_bounds[b]) {
        b++;
    }
    atomic_fetch_add(&r->latency_buckets[b], 1);
    atomic_fetch_add(&r->latency_count, 1);
    atomic_fetch_add(&r->latency_sum_us, (uint64_t)(ns / 1000));
}

/*
 * Records the outcome of q: transport_rc (0 = an HTTP answer with status)
 * or a transport error with its text. Takes mu; writes one record; frees q.
 */
static void finish_request(br_notifier *n, request *q, int transport_rc, long status,
                           const char *error_text)
{
    int64_t elapsed_ns = br_mono_ns() - q->started_ns;
    receiver *r = &n->receivers[q->receiver];
    observe_latency(r, elapsed_ns);
    bool ok = transport_rc == 0 && status >= 200 && status < 300;
    bool retryable = transport_rc != 0 || status == 429 || status >= 500;
    br_buf rec;
    record_init(&rec);
    uint64_t lsn = 0;
    pthread_mutex_lock(&n->mu);
    int64_t now = clock_now(n);
    r->busy = false;
    bool found = false;
    size_t pos = entry_pos(n, q->id, &found);
    entry *e = found ? n->queue[pos] : NULL;
    if (ok) {
        atomic_fetch_add(&r->sent, 1);
        br_log_debug("notification delivered", "receiver=%s id=%016llx status=%ld attempts=%u",
                     r->cfg.name, (unsigned long long)q->id, status,
                     e != NULL ? e->attempts + 1 : 0);
        if (e != NULL) {
            remove_entry_at(n, pos, DONE_DELIVERED, &rec);
        }
    } else {
        atomic_fetch_add(&r->failed, 1);
        char what[CURL_ERROR_SIZE + 32];
        if (transport_rc != 0) {
            br_log_quote(error_text && *error_text ? error_text : br_strerror(transport_rc), what,
                         sizeof(what));
        } else {
            snprintf(what, sizeof(what), "\"HTTP %ld\"", status);
        }
        if (e != NULL) {
            e->in_flight = false;
            e->attempts++;
            bool too_old = now - e->created_ms >= n->opts.max_retry_ms;
            if (retryable && !too_old) {
                int shift = e->attempts <= 31 ? (int)e->attempts - 1 : 30;
                int64_t ceiling = n->opts.min_backoff_ms << shift;
                if (ceiling > n->opts.max_backoff_ms || ceiling <= 0) {
                    ceiling = n->opts.max_backoff_ms;
                }
                int64_t delay = (int64_t)(next_random(n) % (uint64_t)(ceiling + 1));
                if (q->retry_after_ms > delay) {
                    delay = q->retry_after_ms < n->opts.max_backoff_ms ? q->retry_after_ms
                                                                       : n->opts.max_backoff_ms;
                }
                e->next_attempt_ms = now + delay;
                atomic_fetch_add(&r->retried, 1);
                br_log_warn("notification failed; will retry",
                            "receiver=%s id=%016llx error=%s attempt=%u retry_in_ms=%lld",
                            r->cfg.name, (unsigned long long)q->id, what, e->attempts,
                            (long long)delay);
            } else {
                atomic_fetch_add(&r->dropped, 1);
                br_log_error("notification failed; giving up",
                             "receiver=%s id=%016llx error=%s attempts=%u reason=%s", r->cfg.name,
                             (unsigned long long)q->id, what, e->attempts,
                             retryable ? "retry_limit" : "not_retryable");
                remove_entry_at(n, pos, DONE_DROPPED, &rec);
            }
        }
    }
    write_record(n, &rec, &lsn, NULL);
    n->kicked = true;
    pthread_mutex_unlock(&n->mu);
    br_buf_free(&rec);
    sync_lsn(n, lsn, NULL);
    request_free(q);
}

static size_t discard_body(char *p, size_t size, size_t nmemb, void *ud)
{
    (void)p;
    (void)ud;
    return size * nmemb;
}

/* Reads Retry-After: <seconds> from a response header line. */
static size_t read_header(char *p, size_t size, size_t nmemb, void *ud)
{
    request *q = ud;
    size_t len = size * nmemb;
    static const char name[] = "retry-after:";
    if (len > sizeof(name) && strncasecmp(p, name, sizeof(name) - 1) == 0) {
        char tmp[32];
        size_t vlen = len - (sizeof(name) - 1);
        vlen = vlen < sizeof(tmp) - 1 ? vlen : sizeof(tmp) - 1;
        memcpy(tmp, p + sizeof(name) - 1, vlen);
        tmp[vlen] = '\0';
        char *end = NULL;
        long s = strtol(tmp, &end, 10);
        if (end != tmp && s > 0) {
            q->retry_after_ms = (s < RETRY_AFTER_MAX_S ? s : RETRY_AFTER_MAX_S) * 1000LL;
        }
    }
    return len;
}

/* Outgoing TLS for one receiver (receivers[].tls): a private CA instead of
 * the system store, a client certificate for mTLS, or (tests only) no
 * verification at all. Plain http:// URLs ignore these options. */
static void apply_tls(CURL *c, const br_tls_client_config *t)
{
    if (t->ca_file != NULL) {
        curl_easy_setopt(c, CURLOPT_CAINFO, t->ca_file);
    }
    if (t->cert_file != NULL) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, t->cert_file);
        curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (t->key_file != NULL) {
        curl_easy_setopt(c, CURLOPT_SSLKEY, t->key_file);
        curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (t->insecure_skip_verify) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

/* A curl easy handle for q. */
static CURL *setup_easy(br_notifier *n, request *q)
{
    receiver *r = &n->receivers[q->receiver];
    CURL *c = curl_easy_init();
    if (c == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < q->n_headers; i++) {
        q->slist = curl_slist_append(q->slist, q->headers[i]);
    }
    long timeout = (long)r->cfg.timeout_ms;
    curl_easy_setopt(c, CURLOPT_URL, r->post_url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, q->slist);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout < 10000 ? timeout : 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, read_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, q);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, q->errbuf);
    curl_easy_setopt(c, CURLOPT_PRIVATE, q);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    apply_tls(c, &r->cfg.tls);
    q->easy = c;
    return c;
}

static int curl_rc_to_br(CURLcode c)
{
    return c == CURLE_OPERATION_TIMEDOUT ? BR_ETIMEOUT : BR_EIO;
}

/* Performs q synchronously (test transport or curl easy) and finishes it. */
static void perform_sync(br_notifier *n, request *q)
{
    receiver *r = &n->receivers[q->receiver];
    q->started_ns = br_mono_ns();
    long status = 0;
    int rc = 0;
    const char *text = NULL;
    if (n->opts.transport != NULL) {
        br_notify_request req = {
            .id = q->id,
            .receiver = r->cfg.name,
            .url = r->post_url,
            .headers = (const char *const *)q->headers,
            .n_headers = q->n_headers,
            .body = q->body,
            .body_len = q->body_len,
        };
        rc = n->opts.transport(n->opts.transport_ctx, &req, &status);
    } else if (setup_easy(n, q) == NULL) {
        rc = BR_EIO;
        text = "curl_easy_init failed";
    } else {
        CURLcode c = curl_easy_perform(q->easy);
        if (c == CURLE_OK) {
            curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &status);
        } else {
            rc = curl_rc_to_br(c);
            text = q->errbuf[0] ? q->errbuf : curl_easy_strerror(c);
        }
    }
    char saved[CURL_ERROR_SIZE];
    snprintf(saved, sizeof(saved), "%s", text ? text : "");
    finish_request(n, q, rc, status, saved);
}

int br_notifier_run(br_notifier *n, br_err *err)
{
    if (!n->opts.manual) {
        return br_err_set(err, BR_EINVAL, "br_notifier_run needs a notifier opened in manual mode");
    }
    br_buf rec;
    record_init(&rec);
    uint64_t lsn = 0;
    pthread_mutex_lock(&n->mu);
    int64_t now = clock_now(n);
    flush_due_groups(n, now, &rec);
    int rc = write_record(n, &rec, &lsn, err);
    request *list = prepare_due(n, now);
    pthread_mutex_unlock(&n->mu);
    br_buf_free(&rec);
    if (rc == 0) {
        rc = sync_lsn(n, lsn, err);
    }
    int made = 0;
    while (list != NULL) {
        request *q = list;
        list = q->next;
        q->next = NULL;
        perform_sync(n, q);
        made++;
    }
    return rc != 0 ? rc : made;
}

/* The delivery thread: flush groups, start due requests, wait. */
static void *delivery_main(void *arg)
{
    br_notifier *n = arg;
    pthread_mutex_lock(&n->mu);
    while (!n->stop) {
        int64_t now = clock_now(n);
        br_buf rec;
        record_init(&rec);
        uint64_t lsn = 0;
        flush_due_groups(n, now, &rec);
        write_record(n, &rec, &lsn, NULL);
        br_buf_free(&rec);
        request *list = prepare_due(n, now);
        int64_t wait_ms = next_wake_ms(n, now);
        n->kicked = false;
        pthread_mutex_unlock(&n->mu);
        sync_lsn(n, lsn, NULL);

        if (n->multi == NULL) {
            /* Test transport: one request at a time, no lock held. */
            bool any = list != NULL;
            while (list != NULL) {
                request *q = list;
                list = q->next;
                perform_sync(n, q);
            }
            pthread_mutex_lock(&n->mu);
            if (!any && !n->kicked && !n->stop && wait_ms > 0) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                ts.tv_sec += wait_ms / 1000;
                ts.tv_nsec += (wait_ms % 1000) * 1000000L;
                if (ts.tv_nsec >= 1000000000L) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000L;
                }
                pthread_cond_timedwait(&n->kick_cv, &n->mu, &ts);
            }
            continue;
        }

        while (list != NULL) {
            request *q = list;
            list = q->next;
            q->next = NULL;
            q->started_ns = br_mono_ns();
            if (setup_easy(n, q) == NULL || curl_multi_add_handle(n->multi, q->easy) != CURLM_OK) {
                finish_request(n, q, BR_EIO, 0, "cannot start a curl transfer");
            } else {
                n->active[q->receiver] = q;
            }
        }
        int running = 0;
        curl_multi_perform(n->multi, &running);
        bool any = false;
        int left = 0;
        CURLMsg *m;
        while ((m = curl_multi_info_read(n->multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE) {
                continue;
            }
            CURL *c = m->easy_handle;
            CURLcode result = m->data.result;
            request *q = NULL;
            curl_easy_getinfo(c, CURLINFO_PRIVATE, (char **)&q);
            curl_multi_remove_handle(n->multi, c);
            n->active[q->receiver] = NULL;
            long status = 0;
            int rc = 0;
            char text[CURL_ERROR_SIZE];
            text[0] = '\0';
            if (result == CURLE_OK) {
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
            } else {
                rc = curl_rc_to_br(result);
                snprintf(text, sizeof(text), "%s",
                         q->errbuf[0] ? q->errbuf : curl_easy_strerror(result));
            }
            finish_request(n, q, rc, status, text);
            any = true;
        }
        if (!any) {
            curl_multi_poll(n->multi, NULL, 0, (int)wait_ms, NULL);
        }
        pthread_mutex_lock(&n->mu);
    }
    pthread_mutex_unlock(&n->mu);
    return NULL;
}

/* Abandons transfers still running at close; their entries stay queued. */
static void abandon_transfers(br_notifier *n)
{
    if (n->multi == NULL) {
        return;
    }
    for (size_t i = 0; i < n->n_receivers; i++) {
        request *q = n->active[i];
        if (q != NULL) {
            curl_multi_remove_handle(n->multi, q->easy);
            request_free(q);
            n->active[i] = NULL;
        }
    }
}

/* ------------------------------------------------------------------------
 * Stats and metrics
 * ---------------------------------------------------------------------- */

int br_notifier_get_stats(br_notifier *n, size_t receiver_idx, br_notifier_stats *out)
{
    if (receiver_idx >= n->n_receivers) {
        return BR_ENOTFOUND;
    }
    receiver *r = &n->receivers[receiver_idx];
    memset(out, 0, sizeof(*out));
    out->sent = atomic_load(&r->sent);
    out->failed = atomic_load(&r->failed);
    out->retried = atomic_load(&r->retried);
    out->dropped = atomic_load(&r->dropped);
    pthread_mutex_lock(&n->mu);
    for (size_t i = 0; i < n->n_queue; i++) {
        out->queued += n->queue[i]->receiver == receiver_idx ? 1 : 0;
    }
    for (size_t i = 0; i < n->n_groups; i++) {
        out->groups += n->groups[i]->receiver == receiver_idx ? 1 : 0;
    }
    pthread_mutex_unlock(&n->mu);
    return 0;
}

size_t br_notifier_queue_length(br_notifier *n)
{
    pthread_mutex_lock(&n->mu);
    size_t len = n->n_queue;
    pthread_mutex_unlock(&n->mu);
    return len;
}

/* receiver="<name>" with the text format's escapes. */
static void metric_label(br_buf *out, const char *name)
{
    br_buf_puts(out, "receiver=\"");
    for (const char *p = name; *p != '\0'; p++) {
        if (*p == '\\' || *p == '"') {
            br_buf_putc(out, '\\');
            br_buf_putc(out, *p);
        } else if (*p == '\n') {
            br_buf_puts(out, "\\n");
        } else {
            br_buf_putc(out, *p);
        }
    }
    br_buf_putc(out, '"');
}

static void metric_counter(br_buf *out, br_notifier *n, const char *name, const char *help,
                           size_t field)
{
    br_buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    for (size_t i = 0; i < n->n_receivers; i++) {
        receiver *r = &n->receivers[i];
        _Atomic uint64_t *fields[] = {&r->sent, &r->failed, &r->retried, &r->dropped};
        br_buf_printf(out, "%s{", name);
        metric_label(out, r->cfg.name);
        br_buf_printf(out, "} %llu\n", (unsigned long long)atomic_load(fields[field]));
    }
}

void br_notifier_collect_metrics(void *ctx, br_buf *out)
{
    br_notifier *n = ctx;
    metric_counter(out, n, "burnrate_notifications_sent_total",
                   "Notifications delivered (the receiver answered 2xx).", 0);
    metric_counter(out, n, "burnrate_notifications_failed_total",
                   "Delivery attempts that failed (network error, timeout or non-2xx answer).", 1);
    metric_counter(out, n, "burnrate_notifications_retried_total",
                   "Delivery attempts scheduled again after a failure.", 2);
    metric_counter(out, n, "burnrate_notifications_dropped_total",
                   "Notifications given up: queue full, answered 4xx, or undelivered past the "
                   "retry limit.",
                   3);
    size_t *queued = br_calloc(n->n_receivers ? n->n_receivers : 1, sizeof(size_t));
    pthread_mutex_lock(&n->mu);
    for (size_t i = 0; i < n->n_queue; i++) {
        queued[n->queue[i]->receiver]++;
    }
    pthread_mutex_unlock(&n->mu);
    br_buf_puts(out, "# HELP burnrate_notification_queue_length Notifications waiting for "
                     "delivery.\n# TYPE burnrate_notification_queue_length gauge\n");
    for (size_t i = 0; i < n->n_receivers; i++) {
        br_buf_puts(out, "burnrate_notification_queue_length{");
        metric_label(out, n->receivers[i].cfg.name);
        br_buf_printf(out, "} %zu\n", queued[i]);
    }
    br_free(queued);
    const char *h = "burnrate_notification_latency_seconds";
    br_buf_printf(out,
                  "# HELP %s Duration of notification requests, by receiver.\n"
                  "# TYPE %s histogram\n",
                  h, h);
    for (size_t i = 0; i < n->n_receivers; i++) {
        receiver *r = &n->receivers[i];
        uint64_t cumulative = 0;
        for (size_t b = 0; b <= N_LATENCY_BOUNDS; b++) {
            cumulative += atomic_load(&r->latency_buckets[b]);
            br_buf_printf(out, "%s_bucket{", h);
            metric_label(out, r->cfg.name);
            if (b < N_LATENCY_BOUNDS) {
                br_buf_printf(out, ",le=\"%g\"} %llu\n", latency_bounds[b],
                              (unsigned long long)cumulative);
            } else {
                br_buf_printf(out, ",le=\"+Inf\"} %llu\n", (unsigned long long)cumulative);
            }
        }
        br_buf_printf(out, "%s_sum{", h);
        metric_label(out, r->cfg.name);
        br_buf_printf(out, "} %.6f\n", (double)atomic_load(&r->latency_sum_us) / 1e6);
        br_buf_printf(out, "%s_count{", h);
        metric_label(out, r->cfg.name);
        br_buf_printf(out, "} %llu\n", (unsigned long long)cumulative);
    }
}

/* ------------------------------------------------------------------------
 * Open and close
 * ---------------------------------------------------------------------- */

static void copy_receiver_config(br_receiver_config *dst, const br_receiver_config *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->name = br_strdup(src->name ? src->name : "");
    dst->kind = src->kind;
    dst->url = br_strdup(src->url ? src->url : "");
    dst->timeout_ms = src->timeout_ms > 0 ? src->timeout_ms : 10000;
    dst->match = br_calloc(src->n_match ? src->n_match : 1, sizeof(*dst->match));
    for (size_t i = 0; i < src->n_match; i++) {
        dst->match[i].name = br_strdup(src->match[i].name);
        dst->match[i].value = br_strdup(src->match[i].value);
    }
    dst->n_match = src->n_match;
    dst->group_by = br_calloc(src->n_group_by ? src->n_group_by : 1, sizeof(char *));
    for (size_t i = 0; i < src->n_group_by; i++) {
        dst->group_by[i] = br_strdup(src->group_by[i]);
    }
    dst->n_group_by = src->n_group_by;
    dst->group_wait_ms = src->group_wait_ms > 0 ? src->group_wait_ms : 0;
    dst->group_interval_ms = src->group_interval_ms > 0 ? src->group_interval_ms : 5 * 60 * 1000;
    dst->repeat_interval_ms =
        src->repeat_interval_ms > 0 ? src->repeat_interval_ms : 4 * 3600 * 1000;
    dst->tls.ca_file = src->tls.ca_file ? br_strdup(src->tls.ca_file) : NULL;
    dst->tls.cert_file = src->tls.cert_file ? br_strdup(src->tls.cert_file) : NULL;
    dst->tls.key_file = src->tls.key_file ? br_strdup(src->tls.key_file) : NULL;
    dst->tls.insecure_skip_verify = src->tls.insecure_skip_verify;
}

static void free_receiver(receiver *r)
{
    br_free(r->cfg.name);
    br_free(r->cfg.url);
    br_free(r->cfg.tls.ca_file);
    br_free(r->cfg.tls.cert_file);
    br_free(r->cfg.tls.key_file);
    for (size_t i = 0; i < r->cfg.n_match; i++) {
        br_free(r->cfg.match[i].name);
        br_free(r->cfg.match[i].value);
    }
    br_free(r->cfg.match);
    for (size_t i = 0; i < r->cfg.n_group_by; i++) {
        br_free(r->cfg.group_by[i]);
    }
    br_free(r->cfg.group_by);
    br_free(r->post_url);
    if (r->bearer_token != NULL) {
        memset(r->bearer_token, 0, strlen(r->bearer_token));
    }
    br_free(r->bearer_token);
    if (r->hmac_key != NULL) {
        memset(r->hmac_key, 0, r->hmac_key_len);
    }
    br_free(r->hmac_key);
}

static int setup_receiver(receiver *r, const br_receiver_config *src, br_err *err)
{
    copy_receiver_config(&r->cfg, src);
    r->group_all = r->cfg.n_group_by == 1 && strcmp(r->cfg.group_by[0], "...") == 0;
    if (r->cfg.kind == BR_RECEIVER_ALERTMANAGER) {
        size_t len = strlen(r->cfg.url);
        while (len > 0 && r->cfg.url[len - 1] == '/') {
            len--;
        }
        br_buf u;
        br_buf_init(&u, 0);
        br_buf_append(&u, r->cfg.url, len);
        br_buf_puts(&u, "/api/v2/alerts");
        r->post_url = br_buf_take(&u, NULL);
    } else {
        r->post_url = br_strdup(r->cfg.url);
    }
    int rc = 0;
    if (src->bearer_token_file != NULL) {
        char what[200];
        snprintf(what, sizeof(what), "receiver \"%s\": bearer_token_file", r->cfg.name);
        rc = br_read_secret_file(src->bearer_token_file, what, &r->bearer_token, err);
    }
    if (rc == 0 && src->hmac_secret_file != NULL) {
        char *secret = NULL;
        char what[200];
        snprintf(what, sizeof(what), "receiver \"%s\": hmac_secret_file", r->cfg.name);
        rc = br_read_secret_file(src->hmac_secret_file, what, &secret, err);
        if (rc == 0) {
            r->hmac_key_len = strlen(secret);
            r->hmac_key = (unsigned char *)secret;
        }
    }
    return rc;
}

static int make_dirs(const char *dir, br_err *err)
{
    char tmp[1024];
    int len = snprintf(tmp, sizeof(tmp), "%s", dir);
    if (len <= 0 || (size_t)len >= sizeof(tmp)) {
        return br_err_set(err, BR_EINVAL, "notifier: directory path too long");
    }
    for (char *p = tmp + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
                return br_err_set(err, BR_EIO, "notifier: cannot create %s: %s", tmp,
                                  strerror(errno));
            }
            *p = '/';
        }
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
        return br_err_set(err, BR_EIO, "notifier: cannot create %s: %s", tmp, strerror(errno));
    }
    return 0;
}

static void notifier_free(br_notifier *n)
{
    clear_state(n);
    br_free(n->groups);
    br_free(n->queue);
    for (size_t i = 0; i < n->n_receivers; i++) {
        free_receiver(&n->receivers[i]);
    }
    br_free(n->receivers);
    br_free(n->active);
    if (n->multi != NULL) {
        curl_multi_cleanup(n->multi);
    }
    if (n->curl_inited) {
        curl_global_cleanup();
    }
    pthread_cond_destroy(&n->kick_cv);
    pthread_mutex_destroy(&n->mu);
    br_free(n->dir);
    br_free(n->external_url);
    br_free(n);
}

br_notifier *br_notifier_open(const br_notifier_options *o, br_err *err)
{
    if (o == NULL || o->dir == NULL || o->dir[0] == '\0') {
        br_err_set(err, BR_EINVAL, "notifier: a directory is required");
        return NULL;
    }
    for (size_t i = 0; i < o->n_receivers; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(o->receivers[i].name, o->receivers[j].name) == 0) {
                br_err_set(err, BR_EINVAL, "notifier: duplicate receiver name \"%s\"",
                           o->receivers[i].name);
                return NULL;
            }
        }
    }
    br_notifier *n = br_calloc(1, sizeof(*n));
    n->opts = *o;
    n->opts.receivers = NULL;
    n->opts.dir = NULL;
    n->opts.external_url = NULL;
    if (n->opts.firing_valid_ms <= 0) {
        n->opts.firing_valid_ms = 4 * 60 * 1000;
    }
    if (n->opts.min_backoff_ms <= 0) {
        n->opts.min_backoff_ms = 500;
    }
    if (n->opts.max_backoff_ms <= 0) {
        n->opts.max_backoff_ms = 5 * 60 * 1000;
    }
    if (n->opts.max_backoff_ms < n->opts.min_backoff_ms) {
        n->opts.max_backoff_ms = n->opts.min_backoff_ms;
    }
    if (n->opts.max_retry_ms <= 0) {
        n->opts.max_retry_ms = 24LL * 3600 * 1000;
    }
    if (n->opts.queue_capacity == 0) {
        n->opts.queue_capacity = 10000;
    }
    if (n->opts.queue_max_bytes == 0 || n->opts.queue_max_bytes > MAX_QUEUE_BYTES) {
        n->opts.queue_max_bytes = n->opts.queue_max_bytes ? MAX_QUEUE_BYTES : (16u << 20);
    }
    n->dir = br_strdup(o->dir);
    n->external_url = br_strdup(o->external_url ? o->external_url : "");
    n->next_id = 1;
    n->rng =
        o->seed ? o->seed : ((uint64_t)br_now_ms() * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)getpid();
    if (n->rng == 0) {
        n->rng = 1;
    }
    pthread_mutex_init(&n->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&n->kick_cv, &ca);
    pthread_condattr_destroy(&ca);

    n->receivers = br_calloc(o->n_receivers ? o->n_receivers : 1, sizeof(receiver));
    n->active = br_calloc(o->n_receivers ? o->n_receivers : 1, sizeof(request *));
    n->n_receivers = o->n_receivers;
    for (size_t i = 0; i < o->n_receivers; i++) {
        if (setup_receiver(&n->receivers[i], &o->receivers[i], err) != 0) {
            notifier_free(n);
            return NULL;
        }
    }
    if (o->transport == NULL) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        n->curl_inited = true;
    }

    int rc = make_dirs(n->dir, err);
    br_wal_options wo = {.segment_size = BR_WAL_DEFAULT_SEGMENT_SIZE, .fsync = o->fsync};
    if (rc == 0) {
        rc = br_wal_open(n->dir, &wo, &n->wal, err);
    }
    if (rc == 0) {
        n->replaying = true;
        rc = br_wal_replay(n->dir, 0, replay_record, n, NULL, err);
        n->replaying = false;
    }
    if (rc == 0) {
        /* Compact now: the caller (br_alerting) checkpoints again with its
         * own state right after open; a standalone notifier has none. */
        if (o->replay_blob == NULL) {
            rc = br_notifier_checkpoint(n, NULL, 0, err);
        }
    }
    if (rc != 0) {
        br_err_prefix(err, "notifier state in %s", n->dir);
        if (n->wal != NULL) {
            br_wal_close(n->wal, NULL);
        }
        notifier_free(n);
        return NULL;
    }
    if (n->n_queue > 0 || n->n_groups > 0) {
        br_log_info("notifier state restored", "queued=%zu groups=%zu", n->n_queue, n->n_groups);
    }
    if (!o->manual) {
        if (o->transport == NULL) {
            n->multi = curl_multi_init();
        }
        if (pthread_create(&n->thread, NULL, delivery_main, n) == 0) {
            n->has_thread = true;
        } else {
            br_err_set(err, BR_EIO, "notifier: cannot start the delivery thread");
            br_wal_close(n->wal, NULL);
            notifier_free(n);
            return NULL;
        }
    }
    return n;
}

int br_notifier_close(br_notifier *n, br_err *err)
{
    if (n == NULL) {
        return 0;
    }
    if (n->has_thread) {
        pthread_mutex_lock(&n->mu);
        n->stop = true;
        pthread_cond_signal(&n->kick_cv);
        pthread_mutex_unlock(&n->mu);
        if (n->multi != NULL) {
            curl_multi_wakeup(n->multi);
        }
        pthread_join(n->thread, NULL);
        abandon_transfers(n);
    }
    int rc = br_wal_close(n->wal, err);
    notifier_free(n);
    return rc;
}
