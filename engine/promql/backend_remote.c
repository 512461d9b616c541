/*
 * backend_remote.c — br_queryable over a remote Prometheus HTTP API, with a
 * local cache of raw samples so the SLO numbers equal the embedded store's.
 *
 * Data flow: evaluator -> br_queryable (this file) -> cache entry for the
 * selector (a private memory-only br_head, no WAL) -> if stale, HTTP fetch
 * via libcurl -> JSON (cJSON) -> br_head_commit into the cache head ->
 * answer through backend_local.c over the cache head.
 *
 * Wire format read (Prometheus HTTP API, also VictoriaMetrics):
 *   POST {url}/api/v1/query, form body query={selector}[<R>ms]&time=<s.mmm>
 *   -> {"status":"success","data":{"resultType":"matrix","result":[
 *        {"metric":{"__name__":"x",...},"values":[[<float s>,"<value>"],...],
 *         "histograms":[[<float s>,{...}],...]}]}}
 *   An instant query of a range selector returns the raw samples in
 *   [time - R, time] (2.x; (time - R, time] in 3.x). Timestamps are float
 *   seconds, rounded (not truncated) to ms; values are strings parsed with
 *   strtod ("NaN", "+Inf", "-Inf" included). Stale markers are never in
 *   API answers, so the cache holds none; native histograms are counted
 *   and skipped. Error answers: {"status":"error","errorType":..,"error":..}.
 *
 * Cache invariants, per entry (one per distinct selector text):
 *   the head holds every remote sample of the selector's series with
 *   from < t <= fetched_to, as of the fetch that brought it;
 *   a call needing [need_from, need_to] first fetches (fetched_to -
 *   overlap, need_to] when need_to > fetched_to (late samples newer than
 *   a series' newest cached one are picked up; older ones would be out of
 *   order, which the commit result reveals and which triggers a rebuild);
 *   a rebuild (new head, full fetch in fetch_step pieces) happens on first
 *   use, when need_from < from, every refresh_ms of wall time (then from
 *   becomes the oldest start asked for since the last build, so memory
 *   follows the longest range asked for), and when the remote changed
 *   under the cache. need_from is the caller's start minus overlap, so the
 *   sample before a window's start (counter increase pairing) is cached.
 *
 * Threads: one mutex guards the entries and is held across the fetch;
 * any thread may call.
 */
#include "backend_remote.h"

#include "engine/core/alloc.h"
#include "engine/core/buf.h"
#include "engine/core/clock.h"
#include "engine/core/log.h"
#include "storage/head.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MINUTE_MS            (60LL * 1000)
#define DEFAULT_TIMEOUT_MS   (30LL * 1000)
#define DEFAULT_OVERLAP_MS   (5 * MINUTE_MS)
#define DEFAULT_REFRESH_MS   (60 * MINUTE_MS)
#define DEFAULT_STEP_MS      (24 * 60 * MINUTE_MS)
#define DEFAULT_MAX_RESPONSE (256LL * 1024 * 1024)
#define DEFAULT_MAX_SAMPLES  (50LL * 1000 * 1000)
#define MAX_BACKOFF_MS       (10LL * 1000)
#define MAX_TIME_MS          (1LL << 60)

typedef struct entry {
    char *selector; /* PromQL selector text, also the key */
    br_head *head;  /* NULL until built */
    int64_t from;   /* data complete for from < t <= fetched_to */
    int64_t fetched_to;
    int64_t built_at;   /* wall ms of the last rebuild */
    int64_t min_need;   /* oldest need_from since the last rebuild */
    int64_t last_used;  /* wall ms */
    int64_t oldest_new; /* oldest newly stored sample not yet reported; INT64_MAX */
} entry;

struct br_remote {
    /* Immutable after br_remote_new. */
    char *url;       /* base, no trailing slash */
    char *url_shown; /* for messages: userinfo removed */
    br_remote_flavor flavor;
    struct curl_slist *headers;
    char *basic_user;
    char *basic_password;
    char *ca_file;
    char *cert_file;
    char *key_file;
    bool insecure;
    int64_t timeout_ms;
    int retries;
    int64_t backoff_ms;
    int64_t overlap_ms;
    int64_t refresh_ms;
    int64_t step_ms;
    int64_t max_response;
    int64_t max_samples;
    int64_t (*now_ms)(void *);
    void *clock_ctx;

    pthread_mutex_t mu; /* guards everything below, held across fetches */
    CURL *curl;
    entry *entries;
    size_t n_entries;
    size_t cap_entries;
    br_remote_stats stats;
};

/* ------------------------------------------------------------ options */

static char *dup_or_null(const char *s)
{
    return s != NULL ? br_strdup(s) : NULL;
}

static bool header_ok(const char *s)
{
    for (; *s; s++) {
        if (*s == '\r' || *s == '\n') {
            return false;
        }
    }
    return true;
}

/* The URL with any user:password@ removed, for messages and logs. */
static char *shown_url(const char *url)
{
    const char *scheme = strstr(url, "://");
    if (scheme == NULL) {
        return br_strdup(url);
    }
    const char *host = scheme + 3;
    const char *at = strchr(host, '@');
    const char *slash = strchr(host, '/');
    if (at == NULL || (slash != NULL && slash < at)) {
        return br_strdup(url);
    }
    size_t lead = (size_t)(host - url);
    char *out = br_malloc(strlen(url) + 1);
    memcpy(out, url, lead);
    strcpy(out + lead, at + 1);
    return out;
}

br_remote *br_remote_new(const br_remote_options *o, br_err *err)
{
    if (o->url == NULL ||
        (strncmp(o->url, "http://", 7) != 0 && strncmp(o->url, "https://", 8) != 0)) {
        br_err_set(err, BR_EINVAL, "backend.url must start with http:// or https:// (got \"%s\")",
                   o->url ? o->url : "");
        return NULL;
    }
    for (size_t i = 0; i < o->n_headers; i++) {
        if (o->headers[i].name == NULL || o->headers[i].name[0] == '\0' ||
            strchr(o->headers[i].name, ':') != NULL || !header_ok(o->headers[i].name) ||
            o->headers[i].value == NULL || !header_ok(o->headers[i].value)) {
            br_err_set(err, BR_EINVAL, "backend.headers: invalid header name or value (#%zu)",
                       i + 1);
            return NULL;
        }
    }
    if ((o->bearer_token != NULL && !header_ok(o->bearer_token))) {
        br_err_set(err, BR_EINVAL, "backend bearer token holds a line break");
        return NULL;
    }
    br_remote *r = br_calloc(1, sizeof(*r));
    r->url = br_strdup(o->url);
    size_t ul = strlen(r->url);
    while (ul > 0 && r->url[ul - 1] == '/') {
        r->url[--ul] = '\0';
    }
    r->url_shown = shown_url(r->url);
    r->flavor = o->flavor;
    for (size_t i = 0; i < o->n_headers; i++) {
        br_buf b;
        br_buf_init(&b, 0);
        br_buf_printf(&b, "%s: %s", o->headers[i].name, o->headers[i].value);
        r->headers = curl_slist_append(r->headers, br_buf_str(&b));
        br_buf_free(&b);
    }
    if (o->bearer_token != NULL) {
        br_buf b;
        br_buf_init(&b, 0);
        br_buf_printf(&b, "Authorization: Bearer %s", o->bearer_token);
        r->headers = curl_slist_append(r->headers, br_buf_str(&b));
        /* Wipe the copy that held the secret. */
        memset(b.data, 0, b.len);
        br_buf_free(&b);
    }
    r->basic_user = dup_or_null(o->basic_user);
    r->basic_password = dup_or_null(o->basic_password);
    r->ca_file = dup_or_null(o->ca_file);
    r->cert_file = dup_or_null(o->cert_file);
    r->key_file = dup_or_null(o->key_file);
    r->insecure = o->insecure_skip_verify;
    r->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    r->retries = o->retries < 0 ? 0 : o->retries == 0 ? 3 : o->retries;
    r->backoff_ms = o->retry_backoff_ms > 0 ? o->retry_backoff_ms : 200;
    r->overlap_ms = o->overlap_ms > 0 ? o->overlap_ms : DEFAULT_OVERLAP_MS;
    r->refresh_ms = o->refresh_ms > 0 ? o->refresh_ms : DEFAULT_REFRESH_MS;
    r->step_ms = o->fetch_step_ms > 0 ? o->fetch_step_ms : DEFAULT_STEP_MS;
    r->max_response = o->max_response_bytes > 0 ? o->max_response_bytes : DEFAULT_MAX_RESPONSE;
    r->max_samples = o->max_samples > 0 ? o->max_samples : DEFAULT_MAX_SAMPLES;
    r->now_ms = o->now_ms;
    r->clock_ctx = o->clock_ctx;
    pthread_mutex_init(&r->mu, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    r->curl = curl_easy_init();
    if (r->curl == NULL) {
        br_remote_free(r);
        br_err_set(err, BR_EINTERNAL, "backend: curl_easy_init failed");
        return NULL;
    }
    br_log_info("remote query backend", "url=%s flavor=%s", r->url_shown,
                r->flavor == BR_REMOTE_VICTORIAMETRICS ? "victoriametrics" : "prometheus");
    return r;
}

static void entry_free(entry *e)
{
    br_head_close(e->head);
    br_free(e->selector);
}

static void free_secret(char *s)
{
    if (s != NULL) {
        memset(s, 0, strlen(s));
        br_free(s);
    }
}

void br_remote_free(br_remote *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < r->n_entries; i++) {
        entry_free(&r->entries[i]);
    }
    br_free(r->entries);
    if (r->curl != NULL) {
        curl_easy_cleanup(r->curl);
        curl_global_cleanup();
    }
    curl_slist_free_all(r->headers);
    br_free(r->url);
    br_free(r->url_shown);
    br_free(r->basic_user);
    free_secret(r->basic_password);
    br_free(r->ca_file);
    br_free(r->cert_file);
    br_free(r->key_file);
    pthread_mutex_destroy(&r->mu);
    br_free(r);
}

void br_remote_stats_get(br_remote *r, br_remote_stats *out)
{
    pthread_mutex_lock(&r->mu);
    *out = r->stats;
    out->selectors = r->n_entries;
    out->cache_series = 0;
    for (size_t i = 0; i < r->n_entries; i++) {
        if (r->entries[i].head != NULL) {
            br_head_stats hs;
            br_head_stats_get(r->entries[i].head, &hs);
            out->cache_series += hs.series;
        }
    }
    pthread_mutex_unlock(&r->mu);
}

static int64_t wall_now(const br_remote *r)
{
    return r->now_ms != NULL ? r->now_ms(r->clock_ctx) : br_now_ms();
}

/* ------------------------------------------------------------ HTTP */

typedef struct body {
    br_buf buf;
    bool too_big;
} body;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    body *b = ctx;
    size_t n = size * nmemb;
    if (br_buf_append(&b->buf, data, n) != 0) {
        b->too_big = true;
        return 0;
    }
    return n;
}

/* The "error" field of a JSON error answer, or the start of the body. */
static void server_message(const body *b, char *out, size_t size)
{
    out[0] = '\0';
    cJSON *j = cJSON_ParseWithLength(b->buf.data ? b->buf.data : "", b->buf.len);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (cJSON_IsString(e)) {
        snprintf(out, size, "%s", e->valuestring);
    } else {
        size_t n = b->buf.len < size - 1 ? b->buf.len : size - 1;
        for (size_t i = 0; i < n; i++) {
            char c = b->buf.data[i];
            out[i] = (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
        }
        out[n] = '\0';
    }
    cJSON_Delete(j);
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* POSTs form to url_path with retries; on success out holds the 2xx body
 * (or a 4xx/422 body with status, which the caller reports). Returns 0 or
 * BR_EIO/BR_ELIMIT with the URL, status and the server's message. */
static int http_post(br_remote *r, const char *path, const char *form, body *out, br_err *err)
{
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", r->url, path);
    int64_t backoff = r->backoff_ms;
    for (int attempt = 0;; attempt++) {
        CURL *c = r->curl;
        curl_easy_reset(c);
        br_buf_reset(&out->buf);
        out->too_big = false;
        char errbuf[CURL_ERROR_SIZE];
        errbuf[0] = '\0';
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(form));
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, r->headers);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                         (long)(r->timeout_ms < 10000 ? r->timeout_ms : 10000));
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        if (r->basic_user != NULL) {
            curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
            curl_easy_setopt(c, CURLOPT_USERNAME, r->basic_user);
            curl_easy_setopt(c, CURLOPT_PASSWORD, r->basic_password ? r->basic_password : "");
        }
        if (r->ca_file != NULL) {
            curl_easy_setopt(c, CURLOPT_CAINFO, r->ca_file);
        }
        if (r->cert_file != NULL) {
            curl_easy_setopt(c, CURLOPT_SSLCERT, r->cert_file);
        }
        if (r->key_file != NULL) {
            curl_easy_setopt(c, CURLOPT_SSLKEY, r->key_file);
        }
        if (r->insecure) {
            curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        r->stats.requests++;
        CURLcode cc = curl_easy_perform(c);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (cc == CURLE_OK && status >= 200 && status < 300) {
            return 0;
        }
        if (out->too_big) {
            return br_err_set(err, BR_ELIMIT, "backend answer from %s%s is larger than %lld bytes",
                              r->url_shown, path, (long long)r->max_response);
        }
        bool retry = cc != CURLE_OK || status >= 500 || status == 429;
        if (!retry || attempt >= r->retries) {
            char msg[160];
            if (cc != CURLE_OK) {
                snprintf(msg, sizeof(msg), "%.159s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
                return br_err_set(err, BR_EIO, "backend unavailable: POST %s%s: %s", r->url_shown,
                                  path, msg);
            }
            server_message(out, msg, sizeof(msg));
            return br_err_set(err, BR_EIO, "backend %s: POST %s%s: HTTP %ld: %s",
                              retry ? "unavailable" : "error", r->url_shown, path, status, msg);
        }
        br_log_debug("backend request failed, retrying", "url=%s%s status=%ld attempt=%d",
                     r->url_shown, path, status, attempt + 1);
        sleep_ms(backoff);
        backoff = backoff * 2 < MAX_BACKOFF_MS ? backoff * 2 : MAX_BACKOFF_MS;
    }
}

/* ------------------------------------------------------------ JSON */

static int cmp_label(const void *a, const void *b)
{
    return strcmp(((const br_label *)a)->name, ((const br_label *)b)->name);
}

/* Float seconds to ms, rounded; false when not a sane time. */
static bool seconds_to_ms(const cJSON *ts, int64_t *out)
{
    if (!cJSON_IsNumber(ts) || !isfinite(ts->valuedouble)) {
        return false;
    }
    double ms = ts->valuedouble * 1000.0;
    if (ms > (double)MAX_TIME_MS || ms < -(double)MAX_TIME_MS) {
        return false;
    }
    *out = llround(ms);
    return true;
}

static bool parse_value(const cJSON *v, double *out)
{
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
        return false;
    }
    char *end = NULL;
    *out = strtod(v->valuestring, &end);
    return end != NULL && *end == '\0';
}

int br_remote_parse_matrix(const char *text, size_t len, br_remote_series_fn fn, void *ctx,
                           br_err *err)
{
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (root == NULL) {
        return br_err_set(err, BR_EPARSE, "backend answer is not JSON");
    }
    int rc = 0;
    br_label *labels = NULL;
    br_sample *samples = NULL;
    size_t cap_samples = 0;
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(root, "status");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(data, "resultType");
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(data, "result");
    if (cJSON_IsString(status) && strcmp(status->valuestring, "error") == 0) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
        const cJSON *et = cJSON_GetObjectItemCaseSensitive(root, "errorType");
        rc = br_err_set(err, BR_EIO, "backend error: %s: %s",
                        cJSON_IsString(et) ? et->valuestring : "error",
                        cJSON_IsString(e) ? e->valuestring : "(no message)");
    } else if (!cJSON_IsString(status) || strcmp(status->valuestring, "success") != 0) {
        rc = br_err_set(err, BR_EPARSE, "backend answer has no \"status\":\"success\"");
    } else if (!cJSON_IsString(type) || strcmp(type->valuestring, "matrix") != 0 ||
               !cJSON_IsArray(result)) {
        rc = br_err_set(err, BR_EPARSE, "backend answer is not a matrix (resultType %s)",
                        cJSON_IsString(type) ? type->valuestring : "missing");
    }
    const cJSON *series;
    const cJSON *walk = rc == 0 ? result : NULL;
    size_t index = 0;
    cJSON_ArrayForEach(series, walk)
    {
        index++;
        const cJSON *metric = cJSON_GetObjectItemCaseSensitive(series, "metric");
        const cJSON *values = cJSON_GetObjectItemCaseSensitive(series, "values");
        const cJSON *hists = cJSON_GetObjectItemCaseSensitive(series, "histograms");
        if (!cJSON_IsObject(metric) || (values != NULL && !cJSON_IsArray(values))) {
            rc = br_err_set(err, BR_EPARSE, "backend answer: series #%zu has no metric object",
                            index);
            break;
        }
        size_t nl = (size_t)cJSON_GetArraySize(metric);
        br_free(labels);
        labels = br_calloc(nl + 1, sizeof(*labels));
        size_t k = 0;
        const cJSON *l;
        cJSON_ArrayForEach(l, metric)
        {
            if (!cJSON_IsString(l) || l->string == NULL || l->string[0] == '\0') {
                rc = br_err_set(err, BR_EPARSE, "backend answer: series #%zu has a bad label",
                                index);
                break;
            }
            if (l->valuestring[0] == '\0') {
                continue; /* an empty value is no label */
            }
            labels[k].name = l->string;
            labels[k].value = l->valuestring;
            k++;
        }
        if (rc != 0) {
            break;
        }
        qsort(labels, k, sizeof(*labels), cmp_label);
        for (size_t i = 1; i < k; i++) {
            if (strcmp(labels[i - 1].name, labels[i].name) == 0) {
                rc = br_err_set(err, BR_EPARSE, "backend answer: series #%zu repeats label %s",
                                index, labels[i].name);
                break;
            }
        }
        if (rc != 0) {
            break;
        }
        size_t ns = 0;
        size_t want = values != NULL ? (size_t)cJSON_GetArraySize(values) : 0;
        if (want > cap_samples) {
            cap_samples = want;
            br_free(samples);
            samples = br_malloc(sizeof(*samples) * cap_samples);
        }
        const cJSON *pair;
        cJSON_ArrayForEach(pair, values)
        {
            int64_t t = 0;
            double v = 0;
            if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2 ||
                !seconds_to_ms(cJSON_GetArrayItem(pair, 0), &t) ||
                !parse_value(cJSON_GetArrayItem(pair, 1), &v)) {
                rc = br_err_set(err, BR_EPARSE,
                                "backend answer: series #%zu sample #%zu is not [time, \"value\"]",
                                index, ns + 1);
                break;
            }
            if (ns > 0 && t <= samples[ns - 1].t) {
                rc = br_err_set(err, BR_EPARSE,
                                "backend answer: series #%zu samples out of order at %lld ms",
                                index, (long long)t);
                break;
            }
            samples[ns].t = t;
            samples[ns].v = v;
            ns++;
        }
        if (rc != 0) {
            break;
        }
        size_t nh = cJSON_IsArray(hists) ? (size_t)cJSON_GetArraySize(hists) : 0;
        rc = fn(ctx, labels, k, samples, ns, nh);
        if (rc != 0) {
            break;
        }
    }
    br_free(labels);
    br_free(samples);
    cJSON_Delete(root);
    return rc;
}

/* ------------------------------------------------------------ cache */

/* Appends v to b as a PromQL double-quoted string. */
static void put_quoted(br_buf *b, const char *v)
{
    br_buf_putc(b, '"');
    for (const char *p = v; *p; p++) {
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
        default:
            br_buf_putc(b, *p);
        }
    }
    br_buf_putc(b, '"');
}

static char *selector_text(const br_matcher *ms, size_t n)
{
    static const char *const ops[] = {"=", "!=", "=~", "!~"};
    br_buf b;
    br_buf_init(&b, 0);
    br_buf_putc(&b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            br_buf_putc(&b, ',');
        }
        br_buf_puts(&b, ms[i].name);
        br_buf_puts(&b, ops[ms[i].type & 3]);
        put_quoted(&b, ms[i].value);
    }
    br_buf_putc(&b, '}');
    return br_buf_take(&b, NULL);
}

typedef struct fetch_ctx {
    br_remote *r;
    entry *e;
    int64_t new_after; /* samples with t > new_after are new for sure */
    uint64_t expected_new;
    int64_t oldest_new;
    uint64_t written;
    uint64_t conflicts; /* out of order or changed values */
    uint64_t total;
    br_err *err;
} fetch_ctx;

static int store_series(void *vctx, const br_label *labels, size_t n_labels,
                        const br_sample *samples, size_t n_samples, size_t n_histograms)
{
    fetch_ctx *c = vctx;
    c->r->stats.histograms_skipped += n_histograms;
    c->total += n_samples;
    if ((int64_t)c->total > c->r->max_samples) {
        return br_err_set(c->err, BR_ELIMIT,
                          "backend: selector %s returned more than %lld samples in one fetch",
                          c->e->selector, (long long)c->r->max_samples);
    }
    if (n_samples == 0) {
        return 0;
    }
    for (size_t i = 0; i < n_samples; i++) {
        if (samples[i].t > c->new_after) {
            c->expected_new++;
            if (samples[i].t < c->oldest_new) {
                c->oldest_new = samples[i].t;
            }
        }
    }
    br_series_input in = {
        .labels = labels, .n_labels = n_labels, .samples = samples, .n_samples = n_samples};
    br_commit_result res;
    memset(&res, 0, sizeof(res));
    int rc = br_head_commit(c->e->head, &in, 1, &res, c->err);
    if (rc != 0) {
        return rc;
    }
    c->written += res.samples_written;
    c->conflicts += res.out_of_order + res.duplicate_conflict + res.too_old;
    c->r->stats.samples_fetched += n_samples;
    return 0;
}

static void fmt_time(char *out, size_t size, int64_t ms)
{
    int64_t s = ms / 1000;
    int64_t frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        s -= 1;
    }
    snprintf(out, size, "%lld.%03lld", (long long)s, (long long)frac);
}

/* Fetches the selector's samples with lo < t <= hi (and maybe t == lo)
 * into the entry's head, in pieces of at most step_ms. */
static int fetch_range(br_remote *r, entry *e, int64_t lo, int64_t hi, fetch_ctx *c, br_err *err)
{
    body b;
    br_buf_init(&b.buf, (size_t)r->max_response);
    b.too_big = false;
    int rc = 0;
    char *esc = curl_easy_escape(r->curl, e->selector, 0);
    for (int64_t a = lo; rc == 0 && a < hi;) {
        int64_t z = hi - a > r->step_ms ? a + r->step_ms : hi;
        char tbuf[48];
        fmt_time(tbuf, sizeof(tbuf), z);
        br_buf form;
        br_buf_init(&form, 0);
        br_buf_printf(&form, "query=%s%%5B%lldms%%5D&time=%s", esc ? esc : "", (long long)(z - a),
                      tbuf);
        if (r->flavor == BR_REMOTE_VICTORIAMETRICS) {
            br_buf_puts(&form, "&nocache=1");
        }
        rc = http_post(r, "/api/v1/query", br_buf_str(&form), &b, err);
        br_buf_free(&form);
        if (rc == 0) {
            rc = br_remote_parse_matrix(b.buf.data ? b.buf.data : "", b.buf.len, store_series, c,
                                        err);
            if (rc == BR_EPARSE || (rc == BR_EIO && strncmp(err->msg, "backend error", 13) == 0)) {
                char msg[BR_ERR_MSG_SIZE];
                snprintf(msg, sizeof(msg), "%s", err->msg);
                rc = br_err_set(err, BR_EIO, "%s (POST %s/api/v1/query)", msg, r->url_shown);
            }
        }
        a = z;
    }
    curl_free(esc);
    br_buf_free(&b.buf);
    return rc;
}

static int rebuild(br_remote *r, entry *e, int64_t from, int64_t to, int64_t now, br_err *err)
{
    br_head_options ho;
    memset(&ho, 0, sizeof(ho));
    br_head *h = NULL;
    int rc = br_head_open(&ho, &h, err);
    if (rc != 0) {
        return rc;
    }
    br_head *old = e->head;
    e->head = h;
    fetch_ctx c = {.r = r, .e = e, .new_after = INT64_MIN, .oldest_new = INT64_MAX, .err = err};
    rc = fetch_range(r, e, from, to, &c, err);
    if (rc != 0) {
        e->head = old;
        br_head_close(h);
        return rc;
    }
    br_head_close(old);
    r->stats.full_fetches++;
    e->from = from;
    e->fetched_to = to;
    e->built_at = now;
    e->min_need = from;
    /* Everything may have changed: readers with running sums recount. */
    e->oldest_new = from;
    return 0;
}

static entry *find_entry(br_remote *r, const char *selector)
{
    for (size_t i = 0; i < r->n_entries; i++) {
        if (strcmp(r->entries[i].selector, selector) == 0) {
            return &r->entries[i];
        }
    }
    if (r->n_entries == r->cap_entries) {
        r->cap_entries = r->cap_entries ? r->cap_entries * 2 : 8;
        r->entries = br_realloc(r->entries, r->cap_entries * sizeof(*r->entries));
    }
    entry *e = &r->entries[r->n_entries++];
    memset(e, 0, sizeof(*e));
    e->selector = br_strdup(selector);
    e->oldest_new = INT64_MAX;
    return e;
}

/* Drops entries nobody asked about for two refresh periods (selectors of
 * SLOs removed by a reload). Moves entries: call before taking pointers. */
static void evict_unused(br_remote *r, int64_t now)
{
    size_t w = 0;
    for (size_t i = 0; i < r->n_entries; i++) {
        entry *e = &r->entries[i];
        if (now - e->last_used > 2 * r->refresh_ms) {
            entry_free(e);
            continue;
        }
        r->entries[w++] = *e;
    }
    r->n_entries = w;
}

static void remove_entry(br_remote *r, entry *e)
{
    size_t i = (size_t)(e - r->entries);
    entry_free(e);
    memmove(&r->entries[i], &r->entries[i + 1], (r->n_entries - i - 1) * sizeof(*e));
    r->n_entries--;
}

/* Brings the selector's cache up to date for [need_from, need_to] and
 * returns its head, valid while the caller holds r->mu. */
static int ensure(br_remote *r, const br_matcher *ms, size_t n, int64_t need_from, int64_t need_to,
                  br_head **out, br_err *err)
{
    if (n == 0) {
        return br_err_set(err, BR_EINVAL, "a selector needs at least one matcher");
    }
    int64_t now = wall_now(r);
    evict_unused(r, now);
    char *sel = selector_text(ms, n);
    entry *e = find_entry(r, sel);
    br_free(sel);
    e->last_used = now;
    need_from -= r->overlap_ms;
    int rc = 0;
    if (e->head != NULL && need_from < e->min_need) {
        e->min_need = need_from;
    }
    bool full = e->head == NULL || need_from < e->from || now - e->built_at >= r->refresh_ms;
    if (full) {
        int64_t from = e->head == NULL ? need_from : e->min_need;
        if (from > need_from) {
            from = need_from;
        }
        int64_t to = e->head != NULL && e->fetched_to > need_to ? e->fetched_to : need_to;
        rc = rebuild(r, e, from, to, now, err);
    } else if (need_to > e->fetched_to) {
        int64_t lo = e->fetched_to - r->overlap_ms;
        if (lo < e->from) {
            lo = e->from;
        }
        fetch_ctx c = {
            .r = r, .e = e, .new_after = e->fetched_to, .oldest_new = INT64_MAX, .err = err};
        rc = fetch_range(r, e, lo, need_to, &c, err);
        if (rc == 0) {
            r->stats.incremental_fetches++;
            e->fetched_to = need_to;
            int64_t oldest = c.oldest_new;
            if (c.written > c.expected_new) {
                oldest = lo; /* late samples inside the overlap */
            }
            if (oldest < e->oldest_new) {
                e->oldest_new = oldest;
            }
            if (c.conflicts > 0) {
                /* Samples older than a series' newest cached one, or
                 * changed values: the cache no longer mirrors the remote. */
                br_log_info("backend cache out of date, refetching", "selector=%s conflicts=%llu",
                            e->selector, (unsigned long long)c.conflicts);
                rc = rebuild(r, e, e->from, e->fetched_to, now, err);
            }
        }
    }
    if (rc != 0) {
        r->stats.failures++;
        if (e->head == NULL) {
            remove_entry(r, e); /* never built: a failing selector holds nothing */
        }
        return rc;
    }
    *out = e->head;
    return 0;
}

/* ------------------------------------------------------------ queryable */

static int remote_select(void *ctx, const br_matcher *ms, size_t n, int64_t mint, int64_t maxt,
                         size_t max_samples, br_arena *arena, br_series_set *out, br_err *err)
{
    br_remote *r = ctx;
    out->series = NULL;
    out->n = 0;
    pthread_mutex_lock(&r->mu);
    br_head *h = NULL;
    int rc = ensure(r, ms, n, mint, maxt, &h, err);
    if (rc == 0) {
        br_queryable local;
        br_queryable_local(h, &local);
        rc = local.select(local.ctx, ms, n, mint, maxt, max_samples, arena, out, err);
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static int remote_window_aggs(void *ctx, const br_matcher *ms, size_t n, const br_interval *iv,
                              size_t n_iv, bool want_sum, br_arena *arena, br_series_aggs_set *out,
                              br_err *err)
{
    br_remote *r = ctx;
    out->series = NULL;
    out->n = 0;
    if (n_iv == 0) {
        return 0;
    }
    pthread_mutex_lock(&r->mu);
    br_head *h = NULL;
    int rc = ensure(r, ms, n, iv[0].start, iv[n_iv - 1].end, &h, err);
    if (rc == 0) {
        br_queryable local;
        br_queryable_local(h, &local);
        rc = local.window_aggs(local.ctx, ms, n, iv, n_iv, want_sum, arena, out, err);
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static int remote_range_stats(void *ctx, const br_matcher *ms, size_t n, const int64_t *ends,
                              size_t n_ends, int64_t range_ms, bool left_open, size_t max_windows,
                              br_arena *arena, br_series_range_stats_set *out, br_err *err)
{
    br_remote *r = ctx;
    out->series = NULL;
    out->n = 0;
    if (n_ends == 0) {
        return 0;
    }
    int64_t lo = ends[0];
    int64_t hi = ends[0];
    for (size_t i = 1; i < n_ends; i++) {
        lo = ends[i] < lo ? ends[i] : lo;
        hi = ends[i] > hi ? ends[i] : hi;
    }
    pthread_mutex_lock(&r->mu);
    br_head *h = NULL;
    int rc = ensure(r, ms, n, lo - range_ms, hi, &h, err);
    if (rc == 0) {
        br_queryable local;
        br_queryable_local(h, &local);
        rc = local.range_stats(local.ctx, ms, n, ends, n_ends, range_ms, left_open, max_windows,
                               arena, out, err);
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static int64_t remote_take_oldest_append(void *ctx)
{
    br_remote *r = ctx;
    pthread_mutex_lock(&r->mu);
    int64_t oldest = INT64_MAX;
    for (size_t i = 0; i < r->n_entries; i++) {
        if (r->entries[i].oldest_new < oldest) {
            oldest = r->entries[i].oldest_new;
        }
        r->entries[i].oldest_new = INT64_MAX;
    }
    pthread_mutex_unlock(&r->mu);
    return oldest;
}

void br_queryable_remote(br_remote *r, br_queryable *q)
{
    q->ctx = r;
    q->select = remote_select;
    q->window_aggs = remote_window_aggs;
    q->take_oldest_append = remote_take_oldest_append;
    q->range_stats = remote_range_stats;
}
