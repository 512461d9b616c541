/*
 * dump.c — loads a burnrate-loadgen --dump directory (see dump.h for the
 * index format and the limits). Parsing is strict: every field the
 * benchmarks use must be present and in range, so a truncated or foreign
 * index fails with the line number instead of sending half a data set.
 */
#include "tests/bench/dump.h"

#include "engine/core/alloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_LINE 1024

/* Finds " key=" (or "key=" at the start) in line and returns the value's
 * first character, or NULL. */
static const char *field(const char *line, const char *key)
{
    size_t klen = strlen(key);
    const char *p = line;
    while ((p = strstr(p, key)) != NULL) {
        if ((p == line || p[-1] == ' ') && p[klen] == '=') {
            return p + klen + 1;
        }
        p += klen;
    }
    return NULL;
}

static int field_i64(const char *line, const char *key, int64_t min, int64_t max, int64_t *out)
{
    const char *v = field(line, key);
    if (v == NULL) {
        return -1;
    }
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno != 0 || end == v || (*end != ' ' && *end != '\0') || n < min || n > max) {
        return -1;
    }
    *out = (int64_t)n;
    return 0;
}

static int parse_line(const char *line, br_dump_entry *e)
{
    int64_t v[9];
    static const char *const keys[9] = {"req",     "series_from", "series_to", "t_from", "t_to",
                                        "samples", "histograms",  "version",   "step_ms"};
    static const int64_t max[9] = {INT64_MAX, INT32_MAX, INT32_MAX, INT64_MAX, INT64_MAX,
                                   100000000, 100000000, 2,         INT64_MAX};
    static const int64_t min[9] = {0, 0, 0, INT64_MIN, INT64_MIN, 0, 0, 1, 1};
    for (int i = 0; i < 9; i++) {
        if (field_i64(line, keys[i], min[i], max[i], &v[i]) != 0) {
            return -1;
        }
    }
    const char *f = field(line, "file");
    if (f == NULL) {
        return -1;
    }
    size_t flen = strcspn(f, " ");
    if (flen == 0 || flen >= sizeof(e->file) || memchr(f, '/', flen) != NULL ||
        (flen <= 2 && f[0] == '.')) {
        return -1;
    }
    memset(e, 0, sizeof(*e));
    e->req = (long)v[0];
    e->series_from = (int)v[1];
    e->series_to = (int)v[2];
    e->t_from = v[3];
    e->t_to = v[4];
    e->samples = (uint64_t)v[5];
    e->histograms = (uint64_t)v[6];
    e->version = (int)v[7];
    memcpy(e->file, f, flen);
    e->file[flen] = '\0';
    if (e->series_to < e->series_from || e->t_to < e->t_from) {
        return -1;
    }
    return 0;
}

static int load_body(const char *dir, br_dump_entry *e, br_err *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, e->file);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return br_err_set(err, BR_EIO, "cannot open %s: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return br_err_set(err, BR_EIO, "%s is not a regular file", path);
    }
    if (st.st_size <= 0 || (uint64_t)st.st_size > BR_DUMP_MAX_BODY_BYTES) {
        fclose(f);
        return br_err_set(err, BR_ELIMIT, "%s: size %lld outside 1..%u bytes", path,
                          (long long)st.st_size, BR_DUMP_MAX_BODY_BYTES);
    }
    e->body_len = (size_t)st.st_size;
    e->body = br_malloc(e->body_len);
    size_t got = fread(e->body, 1, e->body_len, f);
    fclose(f);
    if (got != e->body_len) {
        return br_err_set(err, BR_EIO, "%s: short read (%zu of %zu bytes)", path, got, e->body_len);
    }
    return 0;
}

int br_dump_load(const char *dir, bool load_bodies, br_dump *out, br_err *err)
{
    memset(out, 0, sizeof(*out));
    out->min_t = INT64_MAX;
    out->max_t = INT64_MIN;
    char path[4096];
    snprintf(path, sizeof(path), "%s/index.txt", dir);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return br_err_set(err, BR_EIO, "cannot open %s: %s", path, strerror(errno));
    }
    size_t cap = 0;
    char line[MAX_LINE + 2];
    long lineno = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        size_t len = strlen(line);
        if (len > MAX_LINE) {
            rc = br_err_set(err, BR_ELIMIT, "%s:%ld: line longer than %d bytes", path, lineno,
                            MAX_LINE);
            break;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            line[--len] = '\0';
        }
        if (len == 0) {
            continue;
        }
        if (out->n == BR_DUMP_MAX_ENTRIES) {
            rc = br_err_set(err, BR_ELIMIT, "%s: more than %u entries", path, BR_DUMP_MAX_ENTRIES);
            break;
        }
        if (out->n == cap) {
            cap = cap ? cap * 2 : 1024;
            out->entries = br_realloc(out->entries, cap * sizeof(br_dump_entry));
        }
        br_dump_entry *e = &out->entries[out->n];
        if (parse_line(line, e) != 0) {
            rc = br_err_set(err, BR_EPARSE,
                            "%s:%ld: not a loadgen index line (need req, series_from, "
                            "series_to, t_from, t_to, step_ms, samples, histograms, version, "
                            "file): %.80s",
                            path, lineno, line);
            break;
        }
        out->n++;
        out->samples += e->samples;
        out->histograms += e->histograms;
        out->min_t = e->t_from < out->min_t ? e->t_from : out->min_t;
        out->max_t = e->t_to > out->max_t ? e->t_to : out->max_t;
        if (load_bodies) {
            rc = load_body(dir, e, err);
            out->body_bytes += e->body_len;
        }
    }
    if (rc == 0 && ferror(f)) {
        rc = br_err_set(err, BR_EIO, "reading %s failed", path);
    }
    fclose(f);
    if (rc == 0 && out->n == 0) {
        rc = br_err_set(err, BR_EPARSE, "%s lists no bodies", path);
    }
    if (rc != 0) {
        br_dump_free(out);
    }
    return rc;
}

void br_dump_free(br_dump *d)
{
    for (size_t i = 0; i < d->n; i++) {
        br_free(d->entries[i].body);
    }
    br_free(d->entries);
    memset(d, 0, sizeof(*d));
}
