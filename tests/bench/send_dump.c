/*
 * send_dump.c — replays a burnrate-loadgen --dump directory against any
 * remote-write receiver (burnrate, Prometheus, VictoriaMetrics) as fast as
 * it will take it, so every server in the ingest benchmark gets the same
 * bytes from the same sender.
 *
 *   send_dump --url URL --dir DIR [--connections N] [--wave DUR] [--quiet]
 *
 * All bodies are read into memory before the clock starts. N threads, each
 * with one keep-alive libcurl connection, POST them with the remote-write
 * 1.0 (or 2.0, from the index) headers. Ordering rules:
 *   - Per series: a series group (the series_from of an index line) is never
 *     in flight on two connections at once, and its bodies go in index order
 *     (oldest first), so every series arrives in time order.
 *   - Across series: a free connection takes the group whose next body comes
 *     earliest in the index, which keeps all groups close in time; and no
 *     body of wave k+1 (waves are DUR of data time, default 30m) starts until
 *     every body of wave k is acknowledged. Prometheus refuses samples more
 *     than an hour older than its newest one, so unbounded skew between
 *     groups would turn into rejected samples there.
 * Retries: network errors, 5xx and 429 are retried up to 10 times (backoff
 * 50 ms doubling to 2 s); other non-2xx answers count as rejected and their
 * first bodies are printed. Exit status 0 only when every body got a 2xx.
 *
 * Output, one line on stdout (parsed by run.sh):
 *   files=.. samples=.. histograms=.. bytes=.. seconds=.. samples_per_second=..
 *   retries=.. rejected=.. failed=..
 * Threads: main loads and joins; workers share the dump read-only and the
 * scheduler state under one mutex (held only to pick and finish a body,
 * never across network I/O).
 */
#include "api/remote_write_encode.h"
#include "engine/core/alloc.h"
#include "engine/core/clock.h"
#include "engine/core/err.h"
#include "tests/bench/dump.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CONNECTIONS 256
#define MAX_RETRIES     10
#define MAX_PRINTED     5

/* One series group: its bodies in index order. */
typedef struct group {
    int series_from;
    size_t *files; /* indices into the dump */
    size_t n_files;
    size_t next; /* first body not yet taken */
    bool busy;   /* a connection is sending one of its bodies */
} group;

typedef struct sender {
    const char *url;
    const br_dump *dump;
    group *groups;
    size_t n_groups;
    int64_t wave_ms;
    int64_t *wave_of;  /* per dump entry */
    size_t *wave_left; /* bodies of each wave not yet acknowledged */
    int64_t n_waves;
    int64_t cur_wave;
    size_t remaining; /* bodies not yet taken */
    bool quiet;
    pthread_mutex_t mu; /* guards groups[].next/busy, wave_left, cur_wave, remaining */
    pthread_cond_t cv;
    atomic_ulong retries;
    atomic_ulong rejected;
    atomic_ulong failed;
    atomic_int printed;
} sender;

typedef struct conn {
    sender *s;
    pthread_t thread;
    char reply[512];
    size_t reply_len;
} conn;

static size_t on_reply(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    conn *c = userdata;
    size_t n = size * nmemb;
    size_t room = sizeof(c->reply) - 1 - c->reply_len;
    size_t take = n < room ? n : room;
    memcpy(c->reply + c->reply_len, ptr, take);
    c->reply_len += take;
    c->reply[c->reply_len] = '\0';
    return n;
}

/* Picks the free group whose next body is earliest in the index and lies
 * in the current wave. Returns the group index or -1 (nothing available
 * now); sets *done when nothing is left at all. Caller holds s->mu. */
static long pick(sender *s, bool *done)
{
    *done = s->remaining == 0;
    long best = -1;
    size_t best_pos = SIZE_MAX;
    for (size_t g = 0; g < s->n_groups; g++) {
        group *gr = &s->groups[g];
        if (gr->busy || gr->next == gr->n_files) {
            continue;
        }
        size_t pos = gr->files[gr->next];
        if (s->wave_of[pos] > s->cur_wave) {
            continue;
        }
        if (pos < best_pos) {
            best_pos = pos;
            best = (long)g;
        }
    }
    return best;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* POSTs one body with retries. Returns true on a 2xx. */
static bool post(conn *c, CURL *curl, const br_dump_entry *e, struct curl_slist *hdr)
{
    sender *s = c->s;
    int64_t backoff = 50;
    for (int attempt = 0;; attempt++) {
        c->reply_len = 0;
        c->reply[0] = '\0';
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, e->body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)e->body_len);
        CURLcode rc = curl_easy_perform(curl);
        long status = 0;
        if (rc == CURLE_OK) {
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        }
        if (status >= 200 && status < 300) {
            return true;
        }
        bool retry = status == 0 || status >= 500 || status == 429;
        if (!s->quiet && atomic_fetch_add(&s->printed, 1) < MAX_PRINTED) {
            fprintf(stderr, "send_dump: %s: HTTP %ld%s%s: %.300s\n", e->file, status,
                    rc != CURLE_OK ? " " : "", rc != CURLE_OK ? curl_easy_strerror(rc) : "",
                    c->reply);
        }
        if (!retry) {
            atomic_fetch_add(&s->rejected, 1);
            return false;
        }
        if (attempt == MAX_RETRIES) {
            atomic_fetch_add(&s->failed, 1);
            return false;
        }
        atomic_fetch_add(&s->retries, 1);
        sleep_ms(backoff);
        backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
    }
}

static void *conn_main(void *arg)
{
    conn *c = arg;
    sender *s = c->s;
    CURL *curl = curl_easy_init();
    if (curl == NULL) {
        fprintf(stderr, "send_dump: curl_easy_init failed\n");
        atomic_fetch_add(&s->failed, 1);
        return NULL;
    }
    curl_easy_setopt(curl, CURLOPT_URL, s->url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_reply);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
    struct curl_slist *hdr[3] = {NULL, NULL, NULL};
    for (int v = 1; v <= 2; v++) {
        char line[128];
        hdr[v] = curl_slist_append(hdr[v], "Content-Encoding: snappy");
        snprintf(line, sizeof(line), "Content-Type: %s", br_rw_content_type(v));
        hdr[v] = curl_slist_append(hdr[v], line);
        hdr[v] = curl_slist_append(hdr[v], v == 2 ? "X-Prometheus-Remote-Write-Version: 2.0.0"
                                                  : "X-Prometheus-Remote-Write-Version: 0.1.0");
        hdr[v] = curl_slist_append(hdr[v], "User-Agent: burnrate-send-dump/" BR_VERSION);
        hdr[v] = curl_slist_append(hdr[v], "Expect:");
    }
    pthread_mutex_lock(&s->mu);
    for (;;) {
        bool done;
        long g = pick(s, &done);
        if (done) {
            break;
        }
        if (g < 0) {
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        group *gr = &s->groups[g];
        size_t pos = gr->files[gr->next++];
        gr->busy = true;
        s->remaining--;
        pthread_mutex_unlock(&s->mu);

        const br_dump_entry *e = &s->dump->entries[pos];
        post(c, curl, e, hdr[e->version]);

        pthread_mutex_lock(&s->mu);
        gr->busy = false;
        int64_t w = s->wave_of[pos];
        s->wave_left[w]--;
        while (s->cur_wave < s->n_waves && s->wave_left[s->cur_wave] == 0) {
            s->cur_wave++;
        }
        pthread_cond_broadcast(&s->cv);
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    curl_slist_free_all(hdr[1]);
    curl_slist_free_all(hdr[2]);
    curl_easy_cleanup(curl);
    return NULL;
}

static int compare_int(const void *a, const void *b)
{
    int x = *(const int *)a;
    int y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Builds the per-group body lists (index order) and the wave table. */
static void plan(sender *s)
{
    const br_dump *d = s->dump;
    int *keys = br_malloc(d->n * sizeof(int));
    for (size_t i = 0; i < d->n; i++) {
        keys[i] = d->entries[i].series_from;
    }
    qsort(keys, d->n, sizeof(int), compare_int);
    size_t n_groups = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (i == 0 || keys[i] != keys[i - 1]) {
            keys[n_groups++] = keys[i];
        }
    }
    s->n_groups = n_groups;
    s->groups = br_calloc(n_groups, sizeof(group));
    size_t *counts = br_calloc(n_groups, sizeof(size_t));
    size_t *which = br_malloc(d->n * sizeof(size_t));
    for (size_t i = 0; i < d->n; i++) {
        int key = d->entries[i].series_from;
        const int *hit = bsearch(&key, keys, n_groups, sizeof(int), compare_int);
        which[i] = (size_t)(hit - keys);
        counts[which[i]]++;
    }
    for (size_t g = 0; g < n_groups; g++) {
        s->groups[g].series_from = keys[g];
        s->groups[g].files = br_malloc(counts[g] * sizeof(size_t));
    }
    for (size_t i = 0; i < d->n; i++) {
        group *gr = &s->groups[which[i]];
        gr->files[gr->n_files++] = i;
    }
    s->wave_of = br_malloc(d->n * sizeof(int64_t));
    s->n_waves = 1;
    for (size_t i = 0; i < d->n; i++) {
        int64_t w = s->wave_ms > 0 ? (d->entries[i].t_from - d->min_t) / s->wave_ms : 0;
        s->wave_of[i] = w;
        if (w + 1 > s->n_waves) {
            s->n_waves = w + 1;
        }
    }
    s->wave_left = br_calloc((size_t)s->n_waves, sizeof(size_t));
    for (size_t i = 0; i < d->n; i++) {
        s->wave_left[s->wave_of[i]]++;
    }
    while (s->cur_wave < s->n_waves && s->wave_left[s->cur_wave] == 0) {
        s->cur_wave++;
    }
    s->remaining = d->n;
    br_free(which);
    br_free(counts);
    br_free(keys);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: send_dump --url URL --dir DIR [--connections N] [--wave DUR] [--quiet]\n"
            "  --url URL          remote-write endpoint\n"
            "  --dir DIR          a burnrate-loadgen --dump directory\n"
            "  --connections N    parallel keep-alive connections (default 4, max %d)\n"
            "  --wave DUR         data time all groups finish before the next starts "
            "(default 30m; 0 = no waves)\n"
            "  --quiet            print no per-request errors\n",
            MAX_CONNECTIONS);
}

int main(int argc, char **argv)
{
    const char *url = NULL;
    const char *dir = NULL;
    long connections = 4;
    int64_t wave_ms = 30 * 60 * 1000;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quiet") == 0) {
            quiet = true;
            continue;
        }
        if (strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (v == NULL) {
            usage(stderr);
            return 2;
        }
        i++;
        if (strcmp(a, "--url") == 0) {
            url = v;
        } else if (strcmp(a, "--dir") == 0) {
            dir = v;
        } else if (strcmp(a, "--connections") == 0) {
            char *end;
            connections = strtol(v, &end, 10);
            if (*end != '\0' || connections < 1 || connections > MAX_CONNECTIONS) {
                fprintf(stderr, "send_dump: --connections must be 1..%d\n", MAX_CONNECTIONS);
                return 2;
            }
        } else if (strcmp(a, "--wave") == 0) {
            if (strcmp(v, "0") == 0) {
                wave_ms = 0;
            } else if (br_parse_duration(v, &wave_ms) != 0 || wave_ms <= 0) {
                fprintf(stderr, "send_dump: bad --wave %s\n", v);
                return 2;
            }
        } else {
            fprintf(stderr, "send_dump: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (url == NULL || dir == NULL) {
        usage(stderr);
        return 2;
    }

    br_dump d;
    br_err err;
    br_err_clear(&err);
    if (br_dump_load(dir, true, &d, &err) != 0) {
        fprintf(stderr, "send_dump: %s\n", err.msg);
        return 1;
    }
    sender s;
    memset(&s, 0, sizeof(s));
    s.url = url;
    s.dump = &d;
    s.wave_ms = wave_ms;
    s.quiet = quiet;
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    plan(&s);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    conn *cs = br_calloc((size_t)connections, sizeof(conn));
    int64_t t0 = br_mono_ns();
    long started = 0;
    for (long i = 0; i < connections; i++) {
        cs[i].s = &s;
        if (pthread_create(&cs[i].thread, NULL, conn_main, &cs[i]) != 0) {
            fprintf(stderr, "send_dump: cannot start thread %ld\n", i);
            atomic_fetch_add(&s.failed, 1);
            break;
        }
        started++;
    }
    for (long i = 0; i < started; i++) {
        pthread_join(cs[i].thread, NULL);
    }
    double sec = (double)(br_mono_ns() - t0) / 1e9;
    curl_global_cleanup();

    unsigned long rejected = atomic_load(&s.rejected);
    unsigned long failed = atomic_load(&s.failed);
    /* Remaining bodies were never sent (a thread failed to start). */
    failed += (unsigned long)s.remaining;
    uint64_t points = d.samples + d.histograms;
    printf("files=%zu samples=%llu histograms=%llu bytes=%llu seconds=%.3f "
           "samples_per_second=%.0f retries=%lu rejected=%lu failed=%lu\n",
           d.n, (unsigned long long)d.samples, (unsigned long long)d.histograms,
           (unsigned long long)d.body_bytes, sec, sec > 0 ? (double)points / sec : 0.0,
           atomic_load(&s.retries), rejected, failed);

    for (size_t g = 0; g < s.n_groups; g++) {
        br_free(s.groups[g].files);
    }
    br_free(s.groups);
    br_free(s.wave_of);
    br_free(s.wave_left);
    br_free(cs);
    pthread_mutex_destroy(&s.mu);
    pthread_cond_destroy(&s.cv);
    br_dump_free(&d);
    return rejected == 0 && failed == 0 ? 0 : 1;
}
