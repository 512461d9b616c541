/*
 * testutil.h — small helpers shared by unit tests: temp dirs, writing
 * files, and HTTP calls to a server under test (libcurl). Header-only so
 * each test executable stays self-contained.
 */
#ifndef BR_TESTS_TESTUTIL_H
#define BR_TESTS_TESTUTIL_H

#include <curl/curl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Creates a fresh directory under /tmp; returns a malloc'd path. */
static inline char *tu_mkdtemp(const char *tag)
{
    char tmpl[256];
    snprintf(tmpl, sizeof(tmpl), "/tmp/br-%s-XXXXXX", tag);
    char *p = mkdtemp(tmpl);
    return p ? strdup(p) : NULL;
}

/* Removes a directory tree (files and one level of subdirectories deep
 * enough for our tests: recursive). */
static inline void tu_rmtree(const char *path)
{
    DIR *d = opendir(path);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
                continue;
            }
            char child[1300];
            int n = snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
            if (n < 0 || (size_t)n >= sizeof(child)) {
                continue;
            }
            struct stat st;
            if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode)) {
                tu_rmtree(child);
            } else {
                unlink(child);
            }
        }
        closedir(d);
    }
    rmdir(path);
}

/* Writes text to dir/name; returns a malloc'd full path. */
static inline char *tu_write_file(const char *dir, const char *name, const char *text)
{
    char path[1024];
    int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        return NULL;
    }
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        return NULL;
    }
    fwrite(text, 1, strlen(text), f);
    fclose(f);
    return strdup(path);
}

/* The whole file at path as a malloc'd NUL-terminated string (its length
 * in *len when len is not NULL); NULL when it cannot be read. */
static inline char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    size_t cap = 4096;
    size_t n = 0;
    char *t = malloc(cap);
    size_t got;
    while (t != NULL && (got = fread(t + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            char *bigger = realloc(t, cap * 2);
            if (bigger == NULL) {
                free(t);
                t = NULL;
                break;
            }
            t = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (t != NULL) {
        t[n] = '\0';
        if (len != NULL) {
            *len = n;
        }
    }
    return t;
}

typedef struct tu_http_result {
    long status;
    char *body;  /* malloc'd, NUL-terminated */
    size_t len;
    char *headers;  /* malloc'd raw response headers */
    size_t headers_len;
} tu_http_result;

static size_t tu_collect(char *p, size_t size, size_t n, void *ud)
{
    tu_http_result *r = ud;
    size_t add = size * n;
    char *nb = realloc(r->body, r->len + add + 1);
    if (nb == NULL) {
        return 0;
    }
    r->body = nb;
    memcpy(r->body + r->len, p, add);
    r->len += add;
    r->body[r->len] = '\0';
    return add;
}

static size_t tu_collect_headers(char *p, size_t size, size_t n, void *ud)
{
    tu_http_result *r = ud;
    size_t add = size * n;
    char *nb = realloc(r->headers, r->headers_len + add + 1);
    if (nb == NULL) {
        return 0;
    }
    r->headers = nb;
    memcpy(r->headers + r->headers_len, p, add);
    r->headers_len += add;
    r->headers[r->headers_len] = '\0';
    return add;
}

/* Performs method on url with an optional body and extra headers
 * (NULL-terminated "Name: value" list). Returns 0 when the request ran. */
static inline int tu_http(const char *method, const char *url, const void *body, size_t body_len,
                          const char *const *headers, tu_http_result *out)
{
    memset(out, 0, sizeof(*out));
    out->body = calloc(1, 1);
    out->headers = calloc(1, 1);
    CURL *c = curl_easy_init();
    if (c == NULL) {
        return -1;
    }
    struct curl_slist *hl = NULL;
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
        hl = curl_slist_append(hl, headers[i]);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    }
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tu_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, tu_collect_headers);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    /* Generous: under valgrind a 100 MB upload to an in-process server takes
     * more than 30 s. */
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 180L);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    }
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return rc == CURLE_OK ? 0 : -1;
}

static inline void tu_http_free(tu_http_result *r)
{
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof(*r));
}

#endif
