/*
 * policy_state.c — the policy-state file: reading at open, lookups, and
 * whole-file replacement. Format and guarantees in policy_state.h.
 *
 * Rows read at open are kept sorted by instance id, so each lookup is a
 * binary search (a restart with many instances restores them all in the
 * first tick); a row handed out is marked taken and never handed out
 * again.
 */
#include "policy_state.h"

#include "engine/core/alloc.h"
#include "engine/core/buf.h"
#include "engine/core/fileio.h"
#include "engine/core/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define POLICY_FILE_MAGIC "burnrate-policy-state 1"
#define POLICY_FILE_MAX   (256u * 1024 * 1024)

typedef struct row {
    br_policy_saved v;
    bool taken;
} row;

struct br_policy_store {
    char *path;
    row *rows; /* sorted by instance id */
    size_t n;
    size_t pending;
};

void br_policy_saved_free(br_policy_saved *r)
{
    if (r == NULL) {
        return;
    }
    br_free(r->instance_id);
    br_free(r->state);
    br_free(r->prev_state);
    br_free(r);
}

static void put_escaped(br_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '%') {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            br_buf_append(b, e, 3);
        } else {
            br_buf_putc(b, (char)*p);
        }
    }
}

/* A state name, "-" for none; a name that is "-" itself is escaped. */
static void put_state(br_buf *b, const char *name)
{
    if (name == NULL || name[0] == '\0') {
        br_buf_putc(b, '-');
    } else if (strcmp(name, "-") == 0) {
        br_buf_puts(b, "%2D");
    } else {
        put_escaped(b, name);
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Decodes field [p, end) into a new string; NULL when an escape is bad or
 * decodes to NUL. */
static char *unescape(const char *p, const char *end)
{
    char *out = br_malloc((size_t)(end - p) + 1);
    size_t n = 0;
    while (p < end) {
        if (*p != '%') {
            out[n++] = *p++;
            continue;
        }
        int hi = end - p >= 3 ? hexval(p[1]) : -1;
        int lo = end - p >= 3 ? hexval(p[2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            br_free(out);
            return NULL;
        }
        out[n++] = (char)(hi * 16 + lo);
        p += 3;
    }
    out[n] = '\0';
    return out;
}

/* A state field: "-" = none. Returns false when the field is bad. */
static bool state_field(const char *p, const char *end, char **out)
{
    *out = NULL;
    if (end - p == 1 && *p == '-') {
        return true;
    }
    if (end == p) {
        return false;
    }
    *out = unescape(p, end);
    return *out != NULL;
}

/* Parses one row (without its line end) into r. */
static bool parse_row(const char *line, size_t len, br_policy_saved *r)
{
    memset(r, 0, sizeof(*r));
    const char *end = line + len;
    const char *f[4];
    const char *fe[4];
    const char *p = line;
    for (int i = 0; i < 4; i++) {
        f[i] = p;
        const char *tab = i < 3 ? memchr(p, '\t', (size_t)(end - p)) : NULL;
        fe[i] = i < 3 ? tab : end;
        if (fe[i] == NULL) {
            return false;
        }
        p = fe[i] + 1;
    }
    if (memchr(f[3], '\t', (size_t)(end - f[3])) != NULL || fe[3] == f[3]) {
        return false;
    }
    char num[32];
    size_t nl = (size_t)(fe[0] - f[0]);
    if (nl == 0 || nl >= sizeof(num)) {
        return false;
    }
    memcpy(num, f[0], nl);
    num[nl] = '\0';
    char *ne = NULL;
    errno = 0;
    long long since = strtoll(num, &ne, 10);
    if (errno != 0 || *ne != '\0') {
        return false;
    }
    r->since_ms = since;
    r->instance_id = unescape(f[3], fe[3]);
    if (r->instance_id == NULL || !state_field(f[1], fe[1], &r->state) ||
        !state_field(f[2], fe[2], &r->prev_state)) {
        br_free(r->instance_id);
        br_free(r->state);
        br_free(r->prev_state);
        memset(r, 0, sizeof(*r));
        return false;
    }
    return true;
}

static int cmp_row(const void *a, const void *b)
{
    return strcmp(((const row *)a)->v.instance_id, ((const row *)b)->v.instance_id);
}

/* Reads the file's rows; a missing file is an empty store. */
static int load(br_policy_store *s, br_err *err)
{
    FILE *f = fopen(s->path, "rb");
    if (f == NULL) {
        if (errno == ENOENT) {
            return 0;
        }
        return br_err_set(err, BR_EIO, "cannot read %s: %s", s->path, strerror(errno));
    }
    br_buf all;
    br_buf_init(&all, POLICY_FILE_MAX);
    char chunk[65536];
    size_t got;
    int rc = 0;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (br_buf_append(&all, chunk, got) != 0) {
            rc = br_err_set(err, BR_EIO, "%s is larger than %u bytes", s->path, POLICY_FILE_MAX);
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        rc = br_err_set(err, BR_EIO, "cannot read %s", s->path);
    }
    fclose(f);
    if (rc != 0) {
        br_buf_free(&all);
        return rc;
    }
    const char *p = all.data ? all.data : "";
    const char *end = p + all.len;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t ml = strlen(POLICY_FILE_MAGIC);
    if (nl == NULL || (size_t)(nl - p) != ml || memcmp(p, POLICY_FILE_MAGIC, ml) != 0) {
        if (all.len > 0) {
            br_log_warn("ignoring the policy-state file: unknown format; policy states restart "
                        "from now",
                        "file=%s", s->path);
        }
        br_buf_free(&all);
        return 0;
    }
    size_t cap = 0;
    size_t lineno = 1;
    for (p = nl + 1; p < end; p = nl + 1) {
        lineno++;
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL) {
            br_log_warn("ignoring an incomplete last line of the policy-state file", "file=%s",
                        s->path);
            break;
        }
        br_policy_saved r;
        if (!parse_row(p, (size_t)(nl - p), &r)) {
            br_log_warn("ignoring a bad line of the policy-state file", "file=%s line=%zu",
                        s->path, lineno);
            continue;
        }
        if (s->n == cap) {
            cap = cap ? cap * 2 : 64;
            s->rows = br_realloc(s->rows, cap * sizeof(*s->rows));
        }
        s->rows[s->n].v = r;
        s->rows[s->n].taken = false;
        s->n++;
    }
    br_buf_free(&all);
    if (s->n > 1) {
        qsort(s->rows, s->n, sizeof(*s->rows), cmp_row);
    }
    /* A duplicated id (never written so) keeps its first row. */
    for (size_t i = 1; i < s->n; i++) {
        if (strcmp(s->rows[i].v.instance_id, s->rows[i - 1].v.instance_id) == 0) {
            s->rows[i].taken = true;
        }
    }
    for (size_t i = 0; i < s->n; i++) {
        s->pending += s->rows[i].taken ? 0 : 1;
    }
    return 0;
}

int br_policy_store_open(const char *dir, br_policy_store **out, br_err *err)
{
    *out = NULL;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        return br_err_set(err, BR_EIO, "cannot create %s: %s", dir, strerror(errno));
    }
    br_policy_store *s = br_calloc(1, sizeof(*s));
    size_t dl = strlen(dir);
    s->path = br_malloc(dl + sizeof("/policy.state"));
    memcpy(s->path, dir, dl);
    memcpy(s->path + dl, "/policy.state", sizeof("/policy.state"));
    int rc = load(s, err);
    if (rc != 0) {
        br_policy_store_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

size_t br_policy_store_pending(const br_policy_store *s)
{
    return s->pending;
}

br_policy_saved *br_policy_store_take(br_policy_store *s, const char *instance_id)
{
    size_t lo = 0;
    size_t hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->rows[mid].v.instance_id, instance_id);
        if (c == 0) {
            if (s->rows[mid].taken) {
                return NULL;
            }
            s->rows[mid].taken = true;
            s->pending--;
            br_policy_saved *r = br_malloc(sizeof(*r));
            *r = s->rows[mid].v;
            memset(&s->rows[mid].v, 0, sizeof(s->rows[mid].v));
            s->rows[mid].v.instance_id = br_strdup(r->instance_id); /* keeps the order */
            return r;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

int br_policy_store_save(br_policy_store *s, const br_policy_saved *rows, size_t n, br_err *err)
{
    br_buf b;
    br_buf_init(&b, 0);
    br_buf_puts(&b, POLICY_FILE_MAGIC "\n");
    for (size_t i = 0; i < n; i++) {
        br_buf_printf(&b, "%" PRId64 "\t", rows[i].since_ms);
        put_state(&b, rows[i].state);
        br_buf_putc(&b, '\t');
        put_state(&b, rows[i].prev_state);
        br_buf_putc(&b, '\t');
        put_escaped(&b, rows[i].instance_id);
        br_buf_putc(&b, '\n');
    }
    int rc = br_write_file_atomic(s->path, b.data, b.len, err);
    br_buf_free(&b);
    return rc;
}

void br_policy_store_free(br_policy_store *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        br_free(s->rows[i].v.instance_id);
        br_free(s->rows[i].v.state);
        br_free(s->rows[i].v.prev_state);
    }
    br_free(s->rows);
    br_free(s->path);
    br_free(s);
}
