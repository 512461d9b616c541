/*
 * crash_verify.h — the bookkeeping behind test_crash_recovery.c: what
 * burnrate must hold after a crash, and a check of what it does hold.
 *
 * Model. burnrate-loadgen's data is a pure function of its flags (seed,
 * services, endpoints, interval, run start), so every sample it could have
 * sent is known from a --dump of the same run. A "window" is one loadgen run:
 * steps 0..span-1 at run_start + k * step_ms. For each window we keep, per
 * series number (loadgen's numbering, group-major) and step, the expected
 * value (from the dump), whether it must be present (`need`: acknowledged
 * with a 2xx, or read from a WAL record before a corrupt one) and whether
 * burnrate's export showed it (`found`). Windows never overlap in time.
 *
 * Check. cv_check_export() reads /api/v1/export's JSON lines and flags
 * every sample that no dumped request contained, whose value differs in any
 * bit, or that appears twice ("invented"); cv_count_missing() then flags
 * every needed sample the export did not show ("lost").
 *
 * WAL reading. cv_wal_* walk segment files with their own reading of the
 * format in storage/wal.c (header, frames, CRC32C) so the corruption tests
 * can pick a record to damage and know which records precede it; payloads
 * are decoded with storage/wal_record.h.
 *
 * Header-only (static functions), used by one test executable, one thread.
 */
#ifndef BR_TESTS_CRASH_VERIFY_H
#define BR_TESTS_CRASH_VERIFY_H

#include "api/remote_write_decode.h"
#include "engine/core/alloc.h"
#include "engine/core/arena.h"
#include "engine/core/crc32c.h"
#include "engine/core/err.h"
#include "storage/wal_record.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CV_KEY_MAX      1024
#define CV_MAX_PROBLEMS 8
#define CV_MAX_BODY     (64u * 1024 * 1024) /* one dumped request body */

typedef struct cv_window {
    int64_t run_start; /* timestamp of step 0 */
    int64_t step_ms;
    int64_t span;    /* steps the run covers: [run_start, run_start + (span-1)*step] */
    int64_t n_steps; /* steps with known values (the dump's length), <= span */
    int n_series;
    double *value;  /* [series * n_steps + step] */
    uint8_t *have;  /* a dumped request held this sample */
    uint8_t *need;  /* must be present */
    uint8_t *found; /* seen in the last export checked */
    size_t n_need;
} cv_window;

typedef struct cv_model {
    int n_series;
    char **keys;  /* series number -> canonical label key; owned */
    cv_window *w; /* owned, in time order */
    size_t n_w;
    size_t cap_w;
} cv_model;

/* What one export check saw, and the first few problems in words. */
typedef struct cv_report {
    size_t series;   /* export lines */
    size_t samples;  /* samples in the export */
    size_t matched;  /* samples equal to a dumped one */
    size_t invented; /* not in any dump, another value, or twice */
    size_t needed;   /* needed samples looked for */
    size_t lost;     /* needed samples not in the export */
    int n_problems;
    char problems[CV_MAX_PROBLEMS][384];
} cv_report;

static inline void cv_problem(cv_report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline void cv_problem(cv_report *r, const char *fmt, ...)
{
    if (r->n_problems >= CV_MAX_PROBLEMS) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->problems[r->n_problems], sizeof(r->problems[0]), fmt, ap);
    va_end(ap);
    r->n_problems++;
}

static inline void cv_model_init(cv_model *m, int n_series)
{
    memset(m, 0, sizeof(*m));
    m->n_series = n_series;
    m->keys = br_calloc((size_t)n_series, sizeof(char *));
}

static inline void cv_model_free(cv_model *m)
{
    for (int i = 0; i < m->n_series; i++) {
        br_free(m->keys[i]);
    }
    br_free(m->keys);
    for (size_t i = 0; i < m->n_w; i++) {
        cv_window *w = &m->w[i];
        br_free(w->value);
        br_free(w->have);
        br_free(w->need);
        br_free(w->found);
    }
    br_free(m->w);
    memset(m, 0, sizeof(*m));
}

/* Adds a window; the returned pointer is valid until the next add. */
static inline cv_window *cv_window_add(cv_model *m, int64_t run_start, int64_t step_ms,
                                       int64_t span, int64_t n_steps)
{
    if (m->n_w == m->cap_w) {
        m->cap_w = m->cap_w ? m->cap_w * 2 : 8;
        m->w = br_realloc(m->w, m->cap_w * sizeof(cv_window));
    }
    cv_window *w = &m->w[m->n_w++];
    memset(w, 0, sizeof(*w));
    w->run_start = run_start;
    w->step_ms = step_ms;
    w->span = span;
    w->n_steps = n_steps < span ? n_steps : span;
    w->n_series = m->n_series;
    size_t cells = (size_t)w->n_series * (size_t)w->n_steps;
    w->value = br_calloc(cells, sizeof(double));
    w->have = br_calloc(cells, 1);
    w->need = br_calloc(cells, 1);
    w->found = br_calloc(cells, 1);
    return w;
}

/* The window whose span holds t (hint: index to try first), or NULL. */
static inline cv_window *cv_window_of(cv_model *m, int64_t t, size_t *hint)
{
    if (*hint < m->n_w) {
        cv_window *w = &m->w[*hint];
        if (t >= w->run_start && t <= w->run_start + (w->span - 1) * w->step_ms) {
            return w;
        }
    }
    for (size_t i = 0; i < m->n_w; i++) {
        cv_window *w = &m->w[i];
        if (t >= w->run_start && t <= w->run_start + (w->span - 1) * w->step_ms) {
            *hint = i;
            return w;
        }
    }
    return NULL;
}

/* Cell index of (series, t) in w, or -1 when t is off the step grid or
 * past the dumped steps. */
static inline long cv_cell(const cv_window *w, int series, int64_t t)
{
    int64_t d = t - w->run_start;
    if (series < 0 || series >= w->n_series || d < 0 || d % w->step_ms != 0) {
        return -1;
    }
    int64_t k = d / w->step_ms;
    if (k >= w->n_steps) {
        return -1;
    }
    return (long)((int64_t)series * w->n_steps + k);
}

static inline int cv_cmp_label(const void *a, const void *b)
{
    const br_label *x = a;
    const br_label *y = b;
    return strcmp(x->name, y->name);
}

/* Canonical text of a label set: name="value", pairs sorted by name. */
static inline void cv_key(const br_label *labels, size_t n, char *out, size_t size)
{
    br_label sorted[64];
    if (n > 64) {
        n = 64;
    }
    memcpy(sorted, labels, n * sizeof(br_label));
    qsort(sorted, n, sizeof(br_label), cv_cmp_label);
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && o < size; i++) {
        int k = snprintf(out + o, size - o, "%s=\"%s\",", sorted[i].name, sorted[i].value);
        if (k < 0) {
            break;
        }
        o += (size_t)k;
    }
}

static inline void cv_key_json(const cJSON *metric, char *out, size_t size)
{
    br_label ls[64];
    size_t n = 0;
    for (const cJSON *l = metric ? metric->child : NULL; l != NULL && n < 64; l = l->next) {
        ls[n].name = l->string;
        ls[n].value = cJSON_IsString(l) ? l->valuestring : "";
        n++;
    }
    cv_key(ls, n, out, size);
}

static inline int cv_series_index(const cv_model *m, const char *key)
{
    for (int i = 0; i < m->n_series; i++) {
        if (m->keys[i] != NULL && strcmp(m->keys[i], key) == 0) {
            return i;
        }
    }
    return -1;
}

/* Reads " name=<integer>" from a loadgen index or ack-log line. */
static inline bool cv_field(const char *line, const char *name, long long *out)
{
    size_t nl = strlen(name);
    for (const char *p = line; (p = strstr(p, name)) != NULL; p += nl) {
        if ((p == line || p[-1] == ' ') && p[nl] == '=') {
            char *end = NULL;
            long long v = strtoll(p + nl + 1, &end, 10);
            if (end == p + nl + 1) {
                return false;
            }
            *out = v;
            return true;
        }
    }
    return false;
}

/* Reads a whole file into a new buffer (free with br_free), up to max. */
static inline int cv_read_file(const char *path, size_t max, unsigned char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return -1;
    }
    size_t cap = 1 << 16;
    unsigned char *buf = br_malloc(cap);
    size_t n = 0;
    for (;;) {
        if (n == cap) {
            if (cap >= max) {
                br_free(buf);
                fclose(f);
                return -1;
            }
            cap *= 2;
            buf = br_realloc(buf, cap);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0) {
            break;
        }
        n += got;
    }
    fclose(f);
    *data = buf;
    *len = n;
    return 0;
}

/*
 * Loads a `burnrate-loadgen --dump` directory into window w: every body in
 * index.txt is decoded and its samples become the window's known values;
 * series numbers learn their label keys (and must keep them across dumps).
 * Returns the number of samples loaded, or -1 with msg set.
 */
static inline long cv_load_dump(cv_model *m, cv_window *w, const char *dir, char *msg,
                                size_t msg_size)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/index.txt", dir);
    FILE *idx = fopen(path, "r");
    if (idx == NULL) {
        snprintf(msg, msg_size, "cannot open %.200s", path);
        return -1;
    }
    long loaded = 0;
    char line[1024];
    br_arena arena;
    br_arena_init(&arena, 0, 0);
    while (loaded >= 0 && fgets(line, sizeof(line), idx) != NULL) {
        long long from = 0;
        long long run_start = 0;
        long long version = 1;
        const char *file = strstr(line, " file=");
        if (file == NULL || !cv_field(line, "series_from", &from) ||
            !cv_field(line, "run_start", &run_start) || !cv_field(line, "version", &version)) {
            snprintf(msg, msg_size, "unreadable dump index line: %.200s", line);
            loaded = -1;
            break;
        }
        if (run_start != w->run_start) {
            snprintf(msg, msg_size, "dump run_start=%lld, window starts at %" PRId64, run_start,
                     w->run_start);
            loaded = -1;
            break;
        }
        char name[256];
        snprintf(name, sizeof(name), "%s", file + 6);
        name[strcspn(name, " \r\n")] = '\0';
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        unsigned char *body = NULL;
        size_t len = 0;
        if (cv_read_file(path, CV_MAX_BODY, &body, &len) != 0) {
            snprintf(msg, msg_size, "cannot read dumped body %.200s", path);
            loaded = -1;
            break;
        }
        br_rw_request req;
        br_err err;
        br_err_clear(&err);
        br_arena_reset(&arena);
        const char *ctype =
            version == 2 ? "application/x-protobuf;proto=io.prometheus.write.v2.Request" : NULL;
        int rc = br_rw_decode(body, len, ctype, "snappy", NULL, &arena, &req, &err);
        br_free(body);
        if (rc != 0 || req.n_rejected_series != 0) {
            snprintf(msg, msg_size, "decoding %.64s: %.200s", name,
                     rc != 0 ? err.msg : "series rejected");
            loaded = -1;
            break;
        }
        for (size_t i = 0; i < req.n_series && loaded >= 0; i++) {
            int s = (int)from + (int)i;
            char key[CV_KEY_MAX];
            cv_key(req.series[i].labels, req.series[i].n_labels, key, sizeof(key));
            if (s < 0 || s >= m->n_series) {
                snprintf(msg, msg_size, "dump series number %d outside 0..%d", s, m->n_series - 1);
                loaded = -1;
                break;
            }
            if (m->keys[s] == NULL) {
                m->keys[s] = br_strdup(key);
            } else if (strcmp(m->keys[s], key) != 0) {
                snprintf(msg, msg_size, "series %d changed labels between dumps: %.200s vs %.200s",
                         s, m->keys[s], key);
                loaded = -1;
                break;
            }
            for (size_t j = 0; j < req.series[i].n_samples; j++) {
                const br_sample *smp = &req.series[i].samples[j];
                long c = cv_cell(w, s, smp->t);
                if (c < 0) {
                    continue; /* past the steps we keep */
                }
                w->value[c] = smp->v;
                w->have[c] = 1;
                loaded++;
            }
        }
    }
    br_arena_free(&arena);
    fclose(idx);
    return loaded;
}

/* What an ack log said. */
typedef struct cv_acks {
    long requests;    /* lines */
    long retried;     /* acknowledged on a later attempt than the first */
    long samples;     /* samples in acknowledged requests */
    int64_t max_step; /* newest step acknowledged; -1 = none */
} cv_acks;

/*
 * Reads a loadgen --ack-log. With w NULL it only sums it up (the newest
 * step tells how long a dump must be); with w it also marks every sample
 * of every acknowledged request as needed (one outside w's dumped steps is
 * an error). A missing file means nothing was acknowledged. Returns 0, or
 * -1 with msg set.
 */
static inline int cv_read_acks(const char *path, cv_window *w, cv_acks *out, char *msg,
                               size_t msg_size)
{
    memset(out, 0, sizeof(*out));
    out->max_step = -1;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return 0; /* no request was acknowledged: the file is created lazily */
    }
    char line[1024];
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
        if (strchr(line, '\n') == NULL) {
            continue; /* a line still being written */
        }
        long long a, b, t0, t1, step, run_start, samples, attempts;
        if (!cv_field(line, "series_from", &a) || !cv_field(line, "series_to", &b) ||
            !cv_field(line, "t_from", &t0) || !cv_field(line, "t_to", &t1) ||
            !cv_field(line, "step_ms", &step) || !cv_field(line, "run_start", &run_start) ||
            !cv_field(line, "samples", &samples) || !cv_field(line, "attempts", &attempts)) {
            snprintf(msg, msg_size, "unreadable ack line: %.200s", line);
            rc = -1;
            break;
        }
        if (w != NULL && (run_start != w->run_start || step != w->step_ms)) {
            snprintf(msg, msg_size, "ack line from another run (run_start=%lld): %.200s", run_start,
                     line);
            rc = -1;
            break;
        }
        if (step <= 0 || (samples != (b - a) * ((t1 - t0) / step + 1))) {
            snprintf(msg, msg_size, "ack line with inconsistent counts: %.200s", line);
            rc = -1;
            break;
        }
        out->requests++;
        out->samples += (long)samples;
        if (attempts > 1) {
            out->retried++;
        }
        int64_t last = (t1 - run_start) / step;
        if (last > out->max_step) {
            out->max_step = last;
        }
        if (w == NULL) {
            continue;
        }
        for (long long s = a; s < b && rc == 0; s++) {
            for (long long t = t0; t <= t1; t += step) {
                long c = cv_cell(w, (int)s, t);
                if (c < 0) {
                    snprintf(msg, msg_size,
                             "acknowledged sample series=%lld t=%lld outside the "
                             "dumped steps",
                             s, t);
                    rc = -1;
                    break;
                }
                if (!w->need[c]) {
                    w->need[c] = 1;
                    w->n_need++;
                }
            }
        }
    }
    fclose(f);
    return rc;
}

static inline void cv_reset_found(cv_model *m)
{
    for (size_t i = 0; i < m->n_w; i++) {
        cv_window *w = &m->w[i];
        memset(w->found, 0, (size_t)w->n_series * (size_t)w->n_steps);
    }
}

/*
 * Checks an export body (JSON lines; modified in place) against the model:
 * every sample must be one a dumped request held, with the same bits, once.
 * Marks `found`. Call cv_reset_found first when checking again.
 */
static inline void cv_check_export(cv_model *m, char *body, cv_report *r)
{
    char *save = NULL;
    size_t hint = 0;
    for (char *line = strtok_r(body, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        cJSON *o = cJSON_Parse(line);
        if (o == NULL) {
            r->invented++;
            cv_problem(r, "export line is not JSON: %.120s", line);
            continue;
        }
        r->series++;
        char key[CV_KEY_MAX];
        cv_key_json(cJSON_GetObjectItem(o, "metric"), key, sizeof(key));
        int s = cv_series_index(m, key);
        cJSON *vals = cJSON_GetObjectItem(o, "values");
        cJSON *ts = cJSON_GetObjectItem(o, "timestamps");
        int n = cJSON_GetArraySize(vals);
        if (n != cJSON_GetArraySize(ts)) {
            r->invented++;
            cv_problem(r, "series {%s}: %d values but %d timestamps", key, n,
                       cJSON_GetArraySize(ts));
        }
        if (s < 0) {
            r->samples += (size_t)n;
            r->invented += (size_t)n;
            cv_problem(r, "series {%s} (%d samples) was never sent", key, n);
            cJSON_Delete(o);
            continue;
        }
        cJSON *v = vals ? vals->child : NULL;
        cJSON *t = ts ? ts->child : NULL;
        int64_t prev_t = INT64_MIN;
        for (; v != NULL && t != NULL; v = v->next, t = t->next) {
            r->samples++;
            int64_t tm = (int64_t)t->valuedouble;
            double got = cJSON_IsString(v) ? strtod(v->valuestring, NULL) : NAN;
            const char *got_text = cJSON_IsString(v) ? v->valuestring : "?";
            if (tm <= prev_t) {
                r->invented++;
                cv_problem(r,
                           "series {%s}: timestamp %" PRId64 " after %" PRId64
                           " (duplicate or out of order)",
                           key, tm, prev_t);
                continue;
            }
            prev_t = tm;
            cv_window *w = cv_window_of(m, tm, &hint);
            long c = w ? cv_cell(w, s, tm) : -1;
            if (c < 0 || !w->have[c]) {
                r->invented++;
                cv_problem(r, "series {%s}: sample %s@%" PRId64 " was in no request sent", key,
                           got_text, tm);
                continue;
            }
            if (memcmp(&got, &w->value[c], sizeof(double)) != 0) {
                r->invented++;
                cv_problem(r, "series {%s}: at %" PRId64 " burnrate has %s, the request had %.17g",
                           key, tm, got_text, w->value[c]);
                continue;
            }
            w->found[c] = 1;
            r->matched++;
        }
        cJSON_Delete(o);
    }
}

/* Counts needed samples of window `only` (NULL: every window) that the
 * last checked export did not hold. */
static inline void cv_count_missing(cv_model *m, const cv_window *only, cv_report *r)
{
    for (size_t i = 0; i < m->n_w; i++) {
        cv_window *w = &m->w[i];
        if (only != NULL && only != w) {
            continue;
        }
        for (int s = 0; s < w->n_series; s++) {
            for (int64_t k = 0; k < w->n_steps; k++) {
                size_t c = (size_t)s * (size_t)w->n_steps + (size_t)k;
                if (!w->need[c]) {
                    continue;
                }
                r->needed++;
                if (!w->found[c]) {
                    r->lost++;
                    cv_problem(r,
                               "lost: series {%s} at %" PRId64 " (value %.17g) was needed "
                               "but is not served",
                               m->keys[s] ? m->keys[s] : "?", w->run_start + k * w->step_ms,
                               w->value[c]);
                }
            }
        }
    }
}

static inline void cv_report_print(const cv_report *r, const char *what)
{
    fprintf(stderr,
            "%s: %zu series, %zu samples exported, %zu matched, %zu needed, %zu lost, "
            "%zu invented\n",
            what, r->series, r->samples, r->matched, r->needed, r->lost, r->invented);
    for (int i = 0; i < r->n_problems; i++) {
        fprintf(stderr, "  %s\n", r->problems[i]);
    }
}

/* ---- WAL files (format: storage/wal.c) -------------------------------- */

#define CV_WAL_HEADER 16u
#define CV_WAL_FRAME  9u

static inline uint32_t cv_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Segment numbers in wal_dir (names of exactly 8 digits), ascending. */
static inline size_t cv_wal_segments(const char *wal_dir, uint32_t *out, size_t max)
{
    DIR *d = opendir(wal_dir);
    size_t n = 0;
    if (d == NULL) {
        return 0;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
        if (strlen(e->d_name) != 8 || strspn(e->d_name, "0123456789") != 8) {
            continue;
        }
        out[n++] = (uint32_t)strtoul(e->d_name, NULL, 10);
    }
    closedir(d);
    for (size_t i = 1; i < n; i++) {
        uint32_t x = out[i];
        size_t j = i;
        while (j > 0 && out[j - 1] > x) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = x;
    }
    return n;
}

/* One record of a segment: frame offset, payload length and type. */
typedef struct cv_wal_rec {
    size_t off;
    uint32_t len;
    uint8_t type;
} cv_wal_rec;

/*
 * Walks the valid records of one segment image (header checked, each frame
 * complete with a matching CRC32C, type non-zero), stopping at the first
 * that is not. Returns the count; *recs is new (free with br_free).
 */
static inline size_t cv_wal_records(const unsigned char *data, size_t len, cv_wal_rec **recs)
{
    *recs = NULL;
    if (len < CV_WAL_HEADER || memcmp(data, "BRWL", 4) != 0 ||
        cv_le32(data + 12) != br_crc32c(0, data, 12)) {
        return 0;
    }
    size_t n = 0;
    size_t cap = 0;
    size_t off = CV_WAL_HEADER;
    while (off + CV_WAL_FRAME <= len) {
        uint32_t plen = cv_le32(data + off);
        uint8_t type = data[off + 8];
        if (type == 0 || plen > len - off - CV_WAL_FRAME) {
            break;
        }
        uint32_t crc = br_crc32c(0, data + off, 4);
        crc = br_crc32c(crc, data + off + 8, 1);
        crc = br_crc32c(crc, data + off + CV_WAL_FRAME, plen);
        if (crc != cv_le32(data + off + 4)) {
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            *recs = br_realloc(*recs, cap * sizeof(cv_wal_rec));
        }
        (*recs)[n++] = (cv_wal_rec){off, plen, type};
        off += CV_WAL_FRAME + plen;
    }
    return n;
}

/* Series refs seen in SERIES records, mapped to loadgen series numbers. */
typedef struct cv_refmap {
    uint64_t *ref;
    int *series;
    size_t n;
    size_t cap;
} cv_refmap;

static inline void cv_refmap_free(cv_refmap *r)
{
    br_free(r->ref);
    br_free(r->series);
    memset(r, 0, sizeof(*r));
}

static inline int cv_refmap_get(const cv_refmap *r, uint64_t ref)
{
    for (size_t i = r->n; i-- > 0;) {
        if (r->ref[i] == ref) {
            return r->series[i];
        }
    }
    return -1;
}

/* Totals from applying WAL records to the model. */
typedef struct cv_wal_apply {
    size_t records;
    size_t samples;     /* float samples in SAMPLES records */
    size_t unknown_ref; /* samples whose SERIES record was not seen */
    size_t outside;     /* samples outside the model's windows */
} cv_wal_apply;

/*
 * Decodes one record payload: SERIES records teach refs, SAMPLES records
 * mark their samples needed in the model when `mark` is set (and are
 * counted either way). Returns 0, or -1 with msg set.
 */
static inline int cv_wal_apply_record(cv_model *m, cv_refmap *refs, const cv_wal_rec *rec,
                                      const unsigned char *seg, bool mark, cv_wal_apply *st,
                                      char *msg, size_t msg_size)
{
    br_arena arena;
    br_arena_init(&arena, 0, 0);
    br_err err;
    br_err_clear(&err);
    const unsigned char *payload = seg + rec->off + CV_WAL_FRAME;
    int rc = 0;
    st->records++;
    if (rec->type == BR_WAL_REC_SERIES) {
        br_wal_series *ss = NULL;
        size_t n = 0;
        rc = br_wal_decode_series(payload, rec->len, &arena, &ss, &n, &err);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            char key[CV_KEY_MAX];
            cv_key(ss[i].labels, ss[i].n_labels, key, sizeof(key));
            if (refs->n == refs->cap) {
                refs->cap = refs->cap ? refs->cap * 2 : 256;
                refs->ref = br_realloc(refs->ref, refs->cap * sizeof(uint64_t));
                refs->series = br_realloc(refs->series, refs->cap * sizeof(int));
            }
            refs->ref[refs->n] = ss[i].ref;
            refs->series[refs->n] = cv_series_index(m, key);
            refs->n++;
        }
    } else if (rec->type == BR_WAL_REC_SAMPLES) {
        br_wal_sample *ss = NULL;
        size_t n = 0;
        size_t hint = 0;
        rc = br_wal_decode_samples(payload, rec->len, &arena, &ss, &n, &err);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            st->samples++;
            int s = cv_refmap_get(refs, ss[i].ref);
            if (s < 0) {
                st->unknown_ref++;
                continue;
            }
            cv_window *w = cv_window_of(m, ss[i].t, &hint);
            long c = w ? cv_cell(w, s, ss[i].t) : -1;
            if (c < 0) {
                st->outside++;
                continue;
            }
            if (mark && !w->need[c]) {
                w->need[c] = 1;
                w->n_need++;
            }
        }
    }
    if (rc != 0) {
        snprintf(msg, msg_size, "decoding a WAL %s record at offset %zu: %.300s",
                 br_wal_record_type_name(rec->type), rec->off, err.msg);
    }
    br_arena_free(&arena);
    return rc == 0 ? 0 : -1;
}

#endif
