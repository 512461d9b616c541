/*
 * rw_out.c — remote write out: a persistent queue of recorded series and
 * the shard threads that push it to one endpoint. See rw_out.h for the
 * behaviour; this comment holds the formats and the locking.
 *
 * Queue directory <data_dir>/remote_write/<name>/:
 *   segment files of storage/wal.h (framing, per-record CRC32C, torn-tail
 *   repair and segment numbering are wal.c's); every record is type 1:
 *     u64 seq             record sequence number, 1, 2, 3 ... (never reused)
 *     u32 n_series
 *     per series:
 *       u32 n_labels      at most MAX_LABELS
 *       per label: u32 name_len, name bytes, u32 value_len, value bytes
 *       u32 n_samples     at most MAX_SAMPLES
 *       per sample: i64 timestamp (ms), u64 value (IEEE 754 bits)
 *   all integers little-endian. Other record types are skipped (future use).
 *   `acked`, 20 bytes, replaced atomically (written to acked.tmp, renamed):
 *     "BRQA" | u32 version (1) | u64 seq | u32 CRC32C of the 16 bytes before
 *   = the last record acknowledged in order. Missing = 0 (nothing acked).
 * Recovery: open repairs the segments (wal.c), reads `acked`, replays every
 * record and queues those with seq > acked again. A record whose payload
 * does not decode is logged and skipped (its CRC was good, so it is a bug,
 * not a torn write). Segments below the one holding the oldest
 * unacknowledged record are deleted after `acked` is written; records
 * replayed at open sit in segments older than the open one, so no segment
 * is deleted until they are acknowledged.
 *
 * Memory: each record is decoded into its own arena (labels and samples);
 * shard FIFOs hold pointers to its series. A record is freed when its last
 * series completes and every older record has completed.
 *
 * Locking: one mutex `mu` guards the record list, the shard FIFOs, the
 * counters and the ack file. It is never held across a network request;
 * it is held for the small ack-file write and the segment deletions. The
 * WAL has its own locking; only the appending thread appends to it.
 */
#include "rw_out.h"

#include "api/remote_write_encode.h"
#include "engine/core/alloc.h"
#include "engine/core/fileio.h"
#include "engine/core/arena.h"
#include "engine/core/clock.h"
#include "engine/core/crc32c.h"
#include "engine/core/hash.h"
#include "engine/core/log.h"
#include "storage/wal.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REC_SAMPLES     1
#define MAX_LABELS      256
#define MAX_SAMPLES     (1u << 20)
#define MAX_SHARDS      64
#define MAX_BODY        (64u * 1024 * 1024)
#define ACK_MAGIC       "BRQA"
#define ACK_VERSION     1u
#define ACK_SIZE        20
#define RESP_SNIPPET    256
#define DEFAULT_SEGMENT (1024u * 1024)

typedef struct rec rec;

/* One series of one record: what a shard sends. */
typedef struct entry {
    br_label *labels;
    size_t n_labels;
    br_sample *samples;
    size_t n_samples;
    rec *owner;
    int64_t enq_ms; /* when handed to the shard (batch deadline) */
} entry;

struct rec {
    uint64_t seq;
    uint64_t lsn;       /* 0 = replayed at open (segment older than the open one) */
    size_t outstanding; /* entries not yet sent or failed */
    br_arena arena;
    entry *entries;
    size_t n_entries;
    size_t n_samples;
    rec *next;
};

typedef enum outcome {
    OUT_SENT = 0,
    OUT_FAILED = 1,
    OUT_STOPPED = 2,
} outcome;

typedef struct shard {
    br_rw_out *q;
    size_t index;
    pthread_t thread;
    bool running;
    pthread_cond_t cv;  /* work arrived, flush requested, or stop */
    entry **fifo;       /* ring buffer */
    size_t head;
    size_t len;
    size_t cap;
    size_t samples;     /* samples in the FIFO */
    CURL *curl;
    unsigned int seed;  /* jitter */
    char errbuf[CURL_ERROR_SIZE];
    char resp[RESP_SNIPPET];
    size_t resp_len;
} shard;

struct br_rw_out {
    /* Immutable after open. */
    br_rw_out_config cfg;  /* strings owned (copies) */
    char *dir;
    char *ack_path;
    char *ack_tmp_path;
    char *bearer;          /* token read from bearer_token_file */
    char *password;        /* read from basic_auth.password_file */
    struct curl_slist *headers;
    br_label *ext;         /* sorted by name; strings owned */
    size_t n_ext;
    br_wal *wal;
    bool fsync_always;
    shard *shards;
    size_t n_shards;

    /* The appending thread only. */
    uint64_t next_seq;

    pthread_mutex_t mu;
    /* Guarded by mu. */
    pthread_cond_t idle_cv; /* pending reached 0 */
    bool stop;
    int flushing;           /* br_rw_out_flush callers: send without waiting the deadline */
    rec *first;             /* records not yet acknowledged, by seq */
    rec *last;
    uint64_t acked_seq;     /* persisted */
    uint32_t truncated_below;
    br_rw_out_stats st;
};

/* ------------------------------------------------------------ encoding */

static void put_u32(br_buf *b, uint32_t v)
{
    unsigned char x[4];
    for (int i = 0; i < 4; i++) {
        x[i] = (unsigned char)(v >> (8 * i));
    }
    br_buf_append(b, x, 4);
}

static void put_u64(br_buf *b, uint64_t v)
{
    unsigned char x[8];
    for (int i = 0; i < 8; i++) {
        x[i] = (unsigned char)(v >> (8 * i));
    }
    br_buf_append(b, x, 8);
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* Encodes one record; returns the number of float samples written. */
static size_t encode_record(br_buf *b, uint64_t seq, const br_series_input *in, size_t n)
{
    size_t samples = 0;
    size_t n_series = 0;
    for (size_t i = 0; i < n; i++) {
        n_series += in[i].n_samples > 0;
    }
    put_u64(b, seq);
    put_u32(b, (uint32_t)n_series);
    for (size_t i = 0; i < n; i++) {
        if (in[i].n_samples == 0) {
            continue;
        }
        put_u32(b, (uint32_t)in[i].n_labels);
        for (size_t l = 0; l < in[i].n_labels; l++) {
            size_t nl = strlen(in[i].labels[l].name);
            size_t vl = strlen(in[i].labels[l].value);
            put_u32(b, (uint32_t)nl);
            br_buf_append(b, in[i].labels[l].name, nl);
            put_u32(b, (uint32_t)vl);
            br_buf_append(b, in[i].labels[l].value, vl);
        }
        put_u32(b, (uint32_t)in[i].n_samples);
        for (size_t s = 0; s < in[i].n_samples; s++) {
            uint64_t bits;
            memcpy(&bits, &in[i].samples[s].v, 8);
            put_u64(b, (uint64_t)in[i].samples[s].t);
            put_u64(b, bits);
        }
        samples += in[i].n_samples;
    }
    return samples;
}

typedef struct reader {
    const unsigned char *p;
    size_t left;
    bool bad;
} reader;

static uint32_t rd_u32(reader *r)
{
    if (r->bad || r->left < 4) {
        r->bad = true;
        return 0;
    }
    uint32_t v = get_u32(r->p);
    r->p += 4;
    r->left -= 4;
    return v;
}

static uint64_t rd_u64(reader *r)
{
    if (r->bad || r->left < 8) {
        r->bad = true;
        return 0;
    }
    uint64_t v = get_u64(r->p);
    r->p += 8;
    r->left -= 8;
    return v;
}

static char *rd_str(reader *r, br_arena *a)
{
    uint32_t len = rd_u32(r);
    if (r->bad || len > r->left) {
        r->bad = true;
        return NULL;
    }
    char *s = br_arena_strndup(a, (const char *)r->p, len);
    r->p += len;
    r->left -= len;
    return s;
}

static void rec_free(rec *r)
{
    if (r != NULL) {
        br_arena_free(&r->arena);
        br_free(r);
    }
}

/* Decodes a record payload into a new rec (free with rec_free), or NULL
 * with err when it is malformed. Every count is checked against what is
 * left of the payload before anything is allocated for it. */
static rec *decode_record(const void *payload, size_t len, br_err *err)
{
    reader r = {payload, len, false};
    rec *out = br_calloc(1, sizeof(*out));
    br_arena_init(&out->arena, 4096, 0);
    out->seq = rd_u64(&r);
    uint32_t n = rd_u32(&r);
    /* A series takes at least 8 bytes (two counts). */
    if (r.bad || (uint64_t)n * 8 > r.left) {
        rec_free(out);
        br_err_set(err, BR_ECORRUPT, "queue record: series count %u exceeds the payload", n);
        return NULL;
    }
    out->entries = br_arena_calloc(&out->arena, n + 1, sizeof(entry));
    for (uint32_t i = 0; i < n && !r.bad; i++) {
        entry *e = &out->entries[i];
        uint32_t nl = rd_u32(&r);
        if (r.bad || nl > MAX_LABELS || (uint64_t)nl * 8 > r.left) {
            r.bad = true;
            break;
        }
        e->labels = br_arena_calloc(&out->arena, nl + 1, sizeof(br_label));
        for (uint32_t l = 0; l < nl && !r.bad; l++) {
            e->labels[l].name = rd_str(&r, &out->arena);
            e->labels[l].value = rd_str(&r, &out->arena);
        }
        e->n_labels = nl;
        uint32_t ns = rd_u32(&r);
        if (r.bad || ns > MAX_SAMPLES || (uint64_t)ns * 16 > r.left) {
            r.bad = true;
            break;
        }
        e->samples = br_arena_calloc(&out->arena, ns + 1, sizeof(br_sample));
        for (uint32_t s = 0; s < ns; s++) {
            e->samples[s].t = (int64_t)rd_u64(&r);
            uint64_t bits = rd_u64(&r);
            memcpy(&e->samples[s].v, &bits, 8);
        }
        e->n_samples = ns;
        e->owner = out;
        out->n_samples += ns;
        out->n_entries = i + 1;
    }
    if (r.bad || r.left != 0) {
        uint64_t seq = out->seq;
        rec_free(out);
        br_err_set(err, BR_ECORRUPT, "queue record %llu: malformed payload",
                   (unsigned long long)seq);
        return NULL;
    }
    out->outstanding = out->n_entries;
    return out;
}

/* ------------------------------------------------------------ ack file */

static int read_ack(br_rw_out *q, br_err *err)
{
    int fd = open(q->ack_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            q->acked_seq = 0;
            return 0;
        }
        return br_err_set(err, BR_EIO, "remote_write_out \"%s\": open %s: %s", q->cfg.name,
                          q->ack_path, strerror(errno));
    }
    unsigned char b[ACK_SIZE + 1];
    ssize_t got = read(fd, b, sizeof(b));
    close(fd);
    if (got != ACK_SIZE || memcmp(b, ACK_MAGIC, 4) != 0 || get_u32(b + 4) != ACK_VERSION ||
        get_u32(b + 16) != br_crc32c(0, b, 16)) {
        return br_err_set(err, BR_ECORRUPT,
                          "remote_write_out \"%s\": %s is not a valid queue position file "
                          "(delete it to resend the whole queue)",
                          q->cfg.name, q->ack_path);
    }
    q->acked_seq = get_u64(b + 8);
    return 0;
}

/* Writes `acked` atomically. Called with mu held. */
static int write_ack(br_rw_out *q, uint64_t seq, br_err *err)
{
    unsigned char b[ACK_SIZE];
    memcpy(b, ACK_MAGIC, 4);
    for (int i = 0; i < 4; i++) {
        b[4 + i] = (unsigned char)(ACK_VERSION >> (8 * i));
    }
    for (int i = 0; i < 8; i++) {
        b[8 + i] = (unsigned char)(seq >> (8 * i));
    }
    uint32_t crc = br_crc32c(0, b, 16);
    for (int i = 0; i < 4; i++) {
        b[16 + i] = (unsigned char)(crc >> (8 * i));
    }
    int fd = open(q->ack_tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return br_err_set(err, BR_EIO, "open %s: %s", q->ack_tmp_path, strerror(errno));
    }
    bool ok = write(fd, b, sizeof(b)) == (ssize_t)sizeof(b);
    if (ok && q->fsync_always) {
        ok = fdatasync(fd) == 0;
    }
    int saved = errno;
    close(fd);
    if (!ok || rename(q->ack_tmp_path, q->ack_path) != 0) {
        return br_err_set(err, BR_EIO, "writing %s: %s", q->ack_path,
                          strerror(ok ? errno : saved));
    }
    if (q->fsync_always) {
        int dfd = open(q->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
    }
    return 0;
}

/* ------------------------------------------------------------ queue */

static void fifo_push(shard *sh, entry *e)
{
    if (sh->len == sh->cap) {
        size_t ncap = sh->cap ? sh->cap * 2 : 64;
        entry **n = br_malloc(ncap * sizeof(*n));
        for (size_t i = 0; i < sh->len; i++) {
            n[i] = sh->fifo[(sh->head + i) % sh->cap];
        }
        br_free(sh->fifo);
        sh->fifo = n;
        sh->head = 0;
        sh->cap = ncap;
    }
    sh->fifo[(sh->head + sh->len) % sh->cap] = e;
    sh->len++;
    sh->samples += e->n_samples;
}

static entry *fifo_pop(shard *sh)
{
    entry *e = sh->fifo[sh->head];
    sh->head = (sh->head + 1) % sh->cap;
    sh->len--;
    sh->samples -= e->n_samples;
    return e;
}

/* The shard of a series: a hash of its label pairs, so a series always
 * goes to the same shard and its samples leave in order. */
static size_t shard_of(const br_rw_out *q, const entry *e)
{
    uint64_t h = 0;
    for (size_t i = 0; i < e->n_labels; i++) {
        h = br_hash_mix(h, br_hash64(e->labels[i].name, strlen(e->labels[i].name), 1));
        h = br_hash_mix(h, br_hash64(e->labels[i].value, strlen(e->labels[i].value), 2));
    }
    return (size_t)(h % q->n_shards);
}

/* Appends r to the record list and hands its series to the shards. Called
 * with mu held. */
static void enqueue(br_rw_out *q, rec *r)
{
    if (q->last != NULL) {
        q->last->next = r;
    } else {
        q->first = r;
    }
    q->last = r;
    int64_t now = br_now_ms();
    for (size_t i = 0; i < r->n_entries; i++) {
        entry *e = &r->entries[i];
        e->enq_ms = now;
        shard *sh = &q->shards[shard_of(q, e)];
        fifo_push(sh, e);
        pthread_cond_signal(&sh->cv);
    }
    q->st.samples_pending += r->n_samples;
}

/* Pops completed records in order, persists the new position and deletes
 * segments nothing pending needs. Called with mu held. */
static void advance_ack(br_rw_out *q)
{
    uint64_t acked = q->acked_seq;
    while (q->first != NULL && q->first->outstanding == 0) {
        rec *r = q->first;
        acked = r->seq;
        q->first = r->next;
        if (q->first == NULL) {
            q->last = NULL;
        }
        rec_free(r);
    }
    if (acked == q->acked_seq) {
        return;
    }
    br_err err;
    br_err_clear(&err);
    if (write_ack(q, acked, &err) != 0) {
        br_log_warn("remote write out: cannot persist the queue position; records will be "
                    "sent again after a restart",
                    "remote_name=%s err=\"%s\"", q->cfg.name, err.msg);
        return;
    }
    q->acked_seq = acked;
    q->st.acked_seq = acked;
    uint32_t keep;
    if (q->first == NULL) {
        br_wal_stats ws;
        br_wal_get_stats(q->wal, &ws);
        keep = ws.last_segment;
    } else if (q->first->lsn != 0) {
        keep = BR_WAL_LSN_SEGMENT(q->first->lsn);
    } else {
        return; /* a replayed record is still pending: keep the old segments */
    }
    if (keep > q->truncated_below) {
        if (br_wal_truncate_before(q->wal, keep, &err) == 0) {
            q->truncated_below = keep;
        } else {
            br_log_warn("remote write out: cannot delete sent queue segments",
                        "remote_name=%s err=\"%s\"", q->cfg.name, err.msg);
        }
    }
}

/* ------------------------------------------------------------ HTTP */

static size_t keep_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    shard *sh = ctx;
    size_t n = size * nmemb;
    size_t room = sizeof(sh->resp) - 1 - sh->resp_len;
    size_t take = n < room ? n : room;
    memcpy(sh->resp + sh->resp_len, data, take);
    sh->resp_len += take;
    sh->resp[sh->resp_len] = '\0';
    return n;
}

/* One POST; returns the HTTP status, or 0 for a connection-level error. */
static long post(shard *sh, const void *body, size_t len)
{
    br_rw_out *q = sh->q;
    CURL *c = sh->curl;
    curl_easy_reset(c);
    sh->errbuf[0] = '\0';
    sh->resp_len = 0;
    sh->resp[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, q->cfg.url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, q->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)q->cfg.timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     q->cfg.timeout_ms < 10000 ? (long)q->cfg.timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, sh);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, sh->errbuf);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    if (q->cfg.basic_auth_username != NULL) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, q->cfg.basic_auth_username);
        curl_easy_setopt(c, CURLOPT_PASSWORD, q->password);
    }
    if (q->cfg.tls_ca_file != NULL) {
        curl_easy_setopt(c, CURLOPT_CAINFO, q->cfg.tls_ca_file);
    }
    if (q->cfg.tls_cert_file != NULL) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, q->cfg.tls_cert_file);
        curl_easy_setopt(c, CURLOPT_SSLKEY, q->cfg.tls_key_file);
    }
    if (q->cfg.tls_insecure_skip_verify) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        if (sh->errbuf[0] == '\0') {
            snprintf(sh->errbuf, sizeof(sh->errbuf), "%s", curl_easy_strerror(rc));
        }
        return 0;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* Merges the series' labels with the external labels (the series wins on
 * a shared name), keeping name order. out has room for both. */
static size_t merge_labels(const br_rw_out *q, const entry *e, br_label *out)
{
    size_t i = 0;
    size_t j = 0;
    size_t n = 0;
    while (i < e->n_labels || j < q->n_ext) {
        int c = i == e->n_labels ? 1
                : j == q->n_ext  ? -1
                                 : strcmp(e->labels[i].name, q->ext[j].name);
        if (c <= 0) {
            out[n++] = e->labels[i++];
            j += c == 0;
        } else {
            out[n++] = q->ext[j++];
        }
    }
    return n;
}

/* Waits ms or until stop. Returns true when stopping. Called with mu held. */
static bool wait_or_stop(shard *sh, int64_t ms)
{
    br_rw_out *q = sh->q;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ns = (int64_t)ts.tv_nsec + (ms % 1000) * 1000000;
    ts.tv_sec += (time_t)(ms / 1000 + ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    while (!q->stop) {
        if (pthread_cond_timedwait(&sh->cv, &q->mu, &ts) == ETIMEDOUT) {
            break;
        }
    }
    return q->stop;
}

/* Encodes the batch and sends it until it is accepted, refused for good,
 * or the sender stops. Called without mu. */
static outcome send_batch(shard *sh, entry **batch, size_t n, size_t samples, br_buf *body)
{
    br_rw_out *q = sh->q;
    br_rw_series *series = br_calloc(n, sizeof(*series));
    size_t n_labels = 0;
    for (size_t i = 0; i < n; i++) {
        n_labels += batch[i]->n_labels + q->n_ext;
    }
    br_label *labels = br_calloc(n_labels + 1, sizeof(*labels));
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        series[i].labels = labels + off;
        series[i].n_labels = merge_labels(q, batch[i], labels + off);
        off += series[i].n_labels;
        series[i].samples = batch[i]->samples;
        series[i].n_samples = batch[i]->n_samples;
    }
    br_err err;
    br_err_clear(&err);
    int rc = br_rw_encode(1, series, n, body, &err);
    br_free(labels);
    br_free(series);
    if (rc != 0) {
        br_log_error("remote write out: cannot encode a batch; dropped", "remote_name=%s err=\"%s\"",
                     q->cfg.name, err.msg);
        return OUT_FAILED;
    }
    int64_t backoff = q->cfg.min_backoff_ms;
    for (;;) {
        long status = post(sh, body->data, body->len);
        pthread_mutex_lock(&q->mu);
        q->st.last_status = (int)status;
        if (status >= 200 && status < 300) {
            pthread_mutex_unlock(&q->mu);
            return OUT_SENT;
        }
        if (status >= 400 && status < 500 && status != 429) {
            q->st.requests_failed++;
            pthread_mutex_unlock(&q->mu);
            br_log_warn("remote write out: endpoint refused a batch; dropped, not retried",
                        "remote_name=%s status=%ld samples=%zu response=\"%.200s\"", q->cfg.name,
                        status, samples, sh->resp);
            return OUT_FAILED;
        }
        q->st.samples_retried += samples;
        br_log_warn("remote write out: send failed; retrying",
                    "remote_name=%s status=%ld err=\"%s\" backoff_ms=%lld", q->cfg.name, status,
                    status == 0 ? sh->errbuf : sh->resp, (long long)backoff);
        /* Jitter: wait a random time in [backoff/2, backoff]. */
        int64_t half = backoff / 2;
        int64_t wait = half + (half > 0 ? (int64_t)(rand_r(&sh->seed) % (half + 1)) : 0);
        bool stopping = wait_or_stop(sh, wait > 0 ? wait : 1);
        pthread_mutex_unlock(&q->mu);
        if (stopping) {
            return OUT_STOPPED;
        }
        backoff = backoff * 2 > q->cfg.max_backoff_ms ? q->cfg.max_backoff_ms : backoff * 2;
    }
}

static void *shard_main(void *arg)
{
    shard *sh = arg;
    br_rw_out *q = sh->q;
    size_t max = (size_t)q->cfg.max_samples_per_send;
    entry **batch = NULL;
    size_t batch_cap = 0;
    br_buf body;
    br_buf_init(&body, MAX_BODY);
    pthread_mutex_lock(&q->mu);
    while (!q->stop) {
        if (sh->len == 0) {
            pthread_cond_wait(&sh->cv, &q->mu);
            continue;
        }
        int64_t due = sh->fifo[sh->head]->enq_ms + q->cfg.batch_send_deadline_ms;
        int64_t now = br_now_ms();
        if (sh->samples < max && now < due && q->flushing == 0) {
            (void)wait_or_stop(sh, due - now);
            continue;
        }
        size_t n = 0;
        size_t samples = 0;
        while (sh->len > 0) {
            entry *e = sh->fifo[sh->head];
            if (n > 0 && samples + e->n_samples > max) {
                break;
            }
            if (n == batch_cap) {
                batch_cap = batch_cap ? batch_cap * 2 : 64;
                batch = br_realloc(batch, batch_cap * sizeof(*batch));
            }
            batch[n++] = fifo_pop(sh);
            samples += e->n_samples;
        }
        pthread_mutex_unlock(&q->mu);
        outcome out = send_batch(sh, batch, n, samples, &body);
        pthread_mutex_lock(&q->mu);
        if (out == OUT_STOPPED) {
            break; /* not acknowledged: sent again after the next open */
        }
        int64_t newest = 0;
        for (size_t i = 0; i < n; i++) {
            entry *e = batch[i];
            if (e->n_samples > 0 && e->samples[e->n_samples - 1].t > newest) {
                newest = e->samples[e->n_samples - 1].t;
            }
            e->owner->outstanding--;
        }
        q->st.samples_pending -= samples;
        if (out == OUT_SENT) {
            q->st.samples_sent += samples;
            if (newest > q->st.highest_sent_ms) {
                q->st.highest_sent_ms = newest;
            }
        } else {
            q->st.samples_failed += samples;
        }
        advance_ack(q);
        if (q->st.samples_pending == 0) {
            pthread_cond_broadcast(&q->idle_cv);
        }
    }
    pthread_mutex_unlock(&q->mu);
    br_free(batch);
    br_buf_free(&body);
    return NULL;
}

/* ------------------------------------------------------------ open/close */

static int make_dirs(const char *path, br_err *err)
{
    char tmp[4096];
    int n = snprintf(tmp, sizeof(tmp), "%s", path);
    if (n <= 0 || (size_t)n >= sizeof(tmp)) {
        return br_err_set(err, BR_EINVAL, "path too long: %s", path);
    }
    for (char *p = tmp + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
                return br_err_set(err, BR_EIO, "mkdir %s: %s", tmp, strerror(errno));
            }
            *p = '/';
        }
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
        return br_err_set(err, BR_EIO, "mkdir %s: %s", tmp, strerror(errno));
    }
    return 0;
}

static char *dup_or_null(const char *s)
{
    return s ? br_strdup(s) : NULL;
}

static void copy_config(br_rw_out_config *dst, const br_rw_out_config *src)
{
    *dst = *src;
    dst->name = br_strdup(src->name);
    dst->url = br_strdup(src->url);
    dst->headers = NULL;
    dst->n_headers = 0;
    dst->bearer_token_file = dup_or_null(src->bearer_token_file);
    dst->basic_auth_username = dup_or_null(src->basic_auth_username);
    dst->basic_auth_password_file = dup_or_null(src->basic_auth_password_file);
    dst->tls_ca_file = dup_or_null(src->tls_ca_file);
    dst->tls_cert_file = dup_or_null(src->tls_cert_file);
    dst->tls_key_file = dup_or_null(src->tls_key_file);
}

static void free_config(br_rw_out_config *c)
{
    br_free(c->name);
    br_free(c->url);
    br_free(c->bearer_token_file);
    br_free(c->basic_auth_username);
    br_free(c->basic_auth_password_file);
    br_free(c->tls_ca_file);
    br_free(c->tls_cert_file);
    br_free(c->tls_key_file);
}

static int cmp_label(const void *a, const void *b)
{
    return strcmp(((const br_label *)a)->name, ((const br_label *)b)->name);
}

typedef struct replay_ctx {
    br_rw_out *q;
    uint64_t max_seq;
} replay_ctx;

static int replay_one(uint8_t type, const void *payload, size_t len, void *vctx)
{
    replay_ctx *c = vctx;
    br_rw_out *q = c->q;
    if (type != REC_SAMPLES) {
        return 0;
    }
    br_err err;
    br_err_clear(&err);
    rec *r = decode_record(payload, len, &err);
    if (r == NULL) {
        br_log_warn("remote write out: skipping an unreadable queue record",
                    "remote_name=%s err=\"%s\"", q->cfg.name, err.msg);
        return 0;
    }
    if (r->seq > c->max_seq) {
        c->max_seq = r->seq;
    }
    if (r->seq <= q->acked_seq || r->n_samples == 0) {
        rec_free(r);
        return 0;
    }
    r->lsn = 0;
    enqueue(q, r);
    q->st.replayed_records++;
    return 0;
}

static void free_all(br_rw_out *q)
{
    while (q->first != NULL) {
        rec *r = q->first;
        q->first = r->next;
        rec_free(r);
    }
    for (size_t i = 0; i < q->n_shards; i++) {
        pthread_cond_destroy(&q->shards[i].cv);
        br_free(q->shards[i].fifo);
        if (q->shards[i].curl != NULL) {
            curl_easy_cleanup(q->shards[i].curl);
        }
    }
    br_free(q->shards);
    for (size_t i = 0; i < q->n_ext; i++) {
        br_free((char *)q->ext[i].name);
        br_free((char *)q->ext[i].value);
    }
    br_free(q->ext);
    curl_slist_free_all(q->headers);
    free_config(&q->cfg);
    br_free(q->dir);
    br_free(q->ack_path);
    br_free(q->ack_tmp_path);
    br_free(q->bearer);
    br_free(q->password);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->idle_cv);
    curl_global_cleanup();
    br_free(q);
}

br_rw_out *br_rw_out_open(const br_rw_out_options *o, br_err *err)
{
    const br_rw_out_config *c = o->cfg;
    if (c == NULL || c->name == NULL || c->url == NULL || o->data_dir == NULL) {
        br_err_set(err, BR_EINVAL, "remote write out: name, url and data_dir are required");
        return NULL;
    }
    if (c->shards < 1 || c->shards > MAX_SHARDS || c->max_samples_per_send < 1 ||
        c->min_backoff_ms < 1 || c->max_backoff_ms < c->min_backoff_ms || c->timeout_ms < 1 ||
        c->capacity < 1 || c->batch_send_deadline_ms < 0) {
        br_err_set(err, BR_EINVAL, "remote_write_out \"%s\": queue settings out of range",
                   c->name);
        return NULL;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    br_rw_out *q = br_calloc(1, sizeof(*q));
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->idle_cv, NULL);
    copy_config(&q->cfg, c);
    q->fsync_always = o->fsync == BR_WAL_FSYNC_ALWAYS;
    size_t dl = strlen(o->data_dir) + strlen(c->name) + 32;
    q->dir = br_malloc(dl);
    snprintf(q->dir, dl, "%s/remote_write/%s", o->data_dir, c->name);
    q->ack_path = br_malloc(dl + 16);
    snprintf(q->ack_path, dl + 16, "%s/acked", q->dir);
    q->ack_tmp_path = br_malloc(dl + 16);
    snprintf(q->ack_tmp_path, dl + 16, "%s/acked.tmp", q->dir);
    q->n_shards = (size_t)c->shards;
    q->shards = br_calloc(q->n_shards, sizeof(shard));
    for (size_t i = 0; i < q->n_shards; i++) {
        q->shards[i].q = q;
        q->shards[i].index = i;
        q->shards[i].seed = (unsigned int)(br_mono_ns() ^ (int64_t)(i * 7919));
        pthread_cond_init(&q->shards[i].cv, NULL);
    }
    q->ext = br_calloc(o->n_external_labels + 1, sizeof(br_label));
    for (size_t i = 0; i < o->n_external_labels; i++) {
        q->ext[i].name = br_strdup(o->external_labels[i].name);
        q->ext[i].value = br_strdup(o->external_labels[i].value);
    }
    q->n_ext = o->n_external_labels;
    qsort(q->ext, q->n_ext, sizeof(br_label), cmp_label);

    int rc = 0;
    if (c->bearer_token_file != NULL) {
        char what[200];
        snprintf(what, sizeof(what), "remote_write_out \"%s\": bearer_token_file", c->name);
        rc = br_read_secret_file(c->bearer_token_file, what, &q->bearer, err);
    }
    if (rc == 0 && c->basic_auth_username != NULL) {
        char what[200];
        snprintf(what, sizeof(what), "remote_write_out \"%s\": basic_auth.password_file",
                 c->name);
        rc = br_read_secret_file(c->basic_auth_password_file, what, &q->password, err);
    }
    if (rc != 0) {
        free_all(q);
        return NULL;
    }
    q->headers = curl_slist_append(q->headers, "Content-Encoding: snappy");
    q->headers = curl_slist_append(q->headers, "Content-Type: application/x-protobuf");
    q->headers = curl_slist_append(q->headers, "User-Agent: burnrate/" BR_VERSION);
    q->headers = curl_slist_append(q->headers, "X-Prometheus-Remote-Write-Version: 0.1.0");
    q->headers = curl_slist_append(q->headers, "Expect:");
    char line[4200];
    if (q->bearer != NULL) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", q->bearer);
        q->headers = curl_slist_append(q->headers, line);
    }
    for (size_t i = 0; i < c->n_headers; i++) {
        snprintf(line, sizeof(line), "%s: %s", c->headers[i].name, c->headers[i].value);
        q->headers = curl_slist_append(q->headers, line);
    }

    rc = make_dirs(q->dir, err);
    if (rc == 0) {
        rc = read_ack(q, err);
    }
    br_wal_options wo = {
        .segment_size = o->segment_bytes ? o->segment_bytes : DEFAULT_SEGMENT,
        .fsync = o->fsync,
    };
    if (rc == 0) {
        rc = br_wal_open(q->dir, &wo, &q->wal, err);
    }
    replay_ctx rctx = {q, q->acked_seq};
    if (rc == 0) {
        q->st.acked_seq = q->acked_seq;
        pthread_mutex_lock(&q->mu);
        rc = br_wal_replay(q->dir, 0, replay_one, &rctx, NULL, err);
        pthread_mutex_unlock(&q->mu);
    }
    if (rc != 0) {
        br_err_prefix(err, "remote_write_out \"%s\"", c->name);
        if (q->wal != NULL) {
            br_err tmp;
            br_err_clear(&tmp);
            (void)br_wal_close(q->wal, &tmp);
        }
        free_all(q);
        return NULL;
    }
    q->next_seq = rctx.max_seq + 1;
    if (q->st.replayed_records > 0) {
        br_log_info("remote write out: resending unacknowledged records", "remote_name=%s "
                    "records=%llu samples=%llu",
                    c->name, (unsigned long long)q->st.replayed_records,
                    (unsigned long long)q->st.samples_pending);
    }
    for (size_t i = 0; i < q->n_shards; i++) {
        shard *sh = &q->shards[i];
        sh->curl = curl_easy_init();
        if (sh->curl == NULL || pthread_create(&sh->thread, NULL, shard_main, sh) != 0) {
            br_err_set(err, BR_EIO, "remote_write_out \"%s\": cannot start shard %zu", c->name,
                       i);
            br_rw_out_close(q);
            return NULL;
        }
        sh->running = true;
    }
    return q;
}

void br_rw_out_close(br_rw_out *q)
{
    if (q == NULL) {
        return;
    }
    pthread_mutex_lock(&q->mu);
    q->stop = true;
    for (size_t i = 0; i < q->n_shards; i++) {
        pthread_cond_broadcast(&q->shards[i].cv);
    }
    pthread_cond_broadcast(&q->idle_cv);
    pthread_mutex_unlock(&q->mu);
    for (size_t i = 0; i < q->n_shards; i++) {
        if (q->shards[i].running) {
            pthread_join(q->shards[i].thread, NULL);
        }
    }
    br_err err;
    br_err_clear(&err);
    if (br_wal_close(q->wal, &err) != 0) {
        br_log_warn("remote write out: closing the queue failed", "remote_name=%s err=\"%s\"",
                    q->cfg.name, err.msg);
    }
    free_all(q);
}

int br_rw_out_append(br_rw_out *q, const br_series_input *in, size_t n, br_err *err)
{
    size_t samples = 0;
    for (size_t i = 0; i < n; i++) {
        samples += in[i].n_samples;
    }
    if (samples == 0) {
        return 0;
    }
    pthread_mutex_lock(&q->mu);
    bool full = q->st.samples_pending + samples > (uint64_t)q->cfg.capacity;
    if (full) {
        q->st.samples_dropped += samples;
    }
    pthread_mutex_unlock(&q->mu);
    if (full) {
        return br_err_set(err, BR_ELIMIT,
                          "remote_write_out \"%s\": queue holds its capacity of %lld samples; "
                          "%zu samples dropped",
                          q->cfg.name, (long long)q->cfg.capacity, samples);
    }
    br_buf payload;
    br_buf_init(&payload, BR_WAL_MAX_RECORD);
    uint64_t seq = q->next_seq;
    (void)encode_record(&payload, seq, in, n);
    if (payload.len >= BR_WAL_MAX_RECORD) {
        br_buf_free(&payload);
        pthread_mutex_lock(&q->mu);
        q->st.samples_dropped += samples;
        pthread_mutex_unlock(&q->mu);
        return br_err_set(err, BR_ELIMIT, "remote_write_out \"%s\": batch too large for a queue "
                          "record; %zu samples dropped", q->cfg.name, samples);
    }
    uint64_t lsn = 0;
    int rc = br_wal_append(q->wal, REC_SAMPLES, payload.data, payload.len, &lsn, err);
    if (rc == 0) {
        rc = br_wal_sync(q->wal, lsn, err);
    }
    rec *r = NULL;
    if (rc == 0) {
        r = decode_record(payload.data, payload.len, err);
        rc = r == NULL ? BR_EINTERNAL : 0;
    }
    br_buf_free(&payload);
    if (rc != 0) {
        br_err_prefix(err, "remote_write_out \"%s\"", q->cfg.name);
        return rc;
    }
    q->next_seq++;
    r->lsn = lsn;
    pthread_mutex_lock(&q->mu);
    enqueue(q, r);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

int br_rw_out_flush(br_rw_out *q, int64_t timeout_ms)
{
    int64_t deadline = br_now_ms() + timeout_ms;
    pthread_mutex_lock(&q->mu);
    q->flushing++;
    for (size_t i = 0; i < q->n_shards; i++) {
        pthread_cond_broadcast(&q->shards[i].cv);
    }
    int rc = 0;
    while (q->st.samples_pending > 0 && !q->stop) {
        int64_t left = deadline - br_now_ms();
        if (left <= 0) {
            rc = BR_ETIMEOUT;
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t wait = left < 100 ? left : 100;
        int64_t ns = (int64_t)ts.tv_nsec + wait * 1000000;
        ts.tv_sec += (time_t)(ns / 1000000000);
        ts.tv_nsec = (long)(ns % 1000000000);
        pthread_cond_timedwait(&q->idle_cv, &q->mu, &ts);
    }
    if (q->st.samples_pending > 0 && rc == 0) {
        rc = BR_ETIMEOUT;
    }
    q->flushing--;
    pthread_mutex_unlock(&q->mu);
    return rc;
}

void br_rw_out_get_stats(br_rw_out *q, br_rw_out_stats *out)
{
    pthread_mutex_lock(&q->mu);
    *out = q->st;
    pthread_mutex_unlock(&q->mu);
}

const char *br_rw_out_name(const br_rw_out *q)
{
    return q->cfg.name;
}

void br_rw_out_render_metrics(br_rw_out *const *qs, size_t n, br_buf *out)
{
    if (n == 0) {
        return;
    }
    static const struct {
        const char *name;
        const char *type;
        const char *help;
    } fams[] = {
        {"burnrate_remote_write_out_samples_sent_total", "counter",
         "Recorded samples the remote-write endpoint accepted."},
        {"burnrate_remote_write_out_samples_failed_total", "counter",
         "Recorded samples the endpoint refused with a non-retryable 4xx (not retried)."},
        {"burnrate_remote_write_out_samples_retried_total", "counter",
         "Recorded samples sent again after a 5xx, 429 or connection error."},
        {"burnrate_remote_write_out_samples_dropped_total", "counter",
         "Recorded samples not queued because the queue was at capacity."},
        {"burnrate_remote_write_out_samples_pending", "gauge",
         "Recorded samples queued and not yet sent."},
        {"burnrate_remote_write_out_highest_sent_timestamp_seconds", "gauge",
         "Timestamp of the newest sample the endpoint accepted."},
    };
    br_rw_out_stats *st = br_calloc(n, sizeof(*st));
    for (size_t i = 0; i < n; i++) {
        br_rw_out_get_stats(qs[i], &st[i]);
    }
    for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
        br_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", fams[f].name, fams[f].help,
                      fams[f].name, fams[f].type);
        for (size_t i = 0; i < n; i++) {
            const double values[] = {
                (double)st[i].samples_sent,    (double)st[i].samples_failed,
                (double)st[i].samples_retried, (double)st[i].samples_dropped,
                (double)st[i].samples_pending, (double)st[i].highest_sent_ms / 1000.0,
            };
            double v = values[f];
            br_buf_printf(out, "%s{remote_name=\"", fams[f].name);
            br_metrics_escape(out, qs[i]->cfg.name);
            br_buf_puts(out, "\",url=\"");
            br_metrics_escape(out, qs[i]->cfg.url);
            br_buf_puts(out, "\"} ");
            br_metrics_format_value(out, v);
            br_buf_putc(out, '\n');
        }
    }
    br_free(st);
}
