/*
 * annotations.c — the annotation store (append-only log + in-memory list)
 * and its HTTP API. See annotations.h for the routes and guarantees.
 *
 * On-disk format, <dir>/annotations.log (little-endian):
 *   header   8 bytes: "BRANN" 0x00 0x00 0x01 (magic, format version 1)
 *   record   u32 payload length (1..BR_ANNOTATION_MAX_RECORD)
 *            u32 CRC-32C of the payload
 *            payload: one type byte, then a JSON object
 *              'A' add     {"id","time","end","created" (ms),"slo","kind",
 *                           "title","text","author","tags":[...]}
 *              'D' delete  {"id"}
 * Records are only appended; each append is written whole and
 * fdatasync'ed before the caller answers. Recovery at open: records are
 * read in order; the first one that is short, over the length cap, fails
 * its CRC or does not decode ends the log, and the file is truncated there
 * (a torn tail from a crash mid-append). Ids are assigned in increasing
 * order; after replay the next id is one past the largest id of any record,
 * deleted ones included, so an id is never reused.
 *
 * Memory: entries live in a growable array in id order, each with its own
 * heap strings; deletes remove from the array. The log is not compacted
 * (a delete costs one small record); BR_ANNOTATIONS_MAX_COUNT bounds what
 * is held.
 *
 * Threads: `mu` guards everything below it in struct br_annotations.
 */
#include "annotations.h"

#include "api/json.h"
#include "engine/core/alloc.h"
#include "engine/core/fileio.h"
#include "engine/core/buf.h"
#include "engine/core/clock.h"
#include "engine/core/crc32c.h"
#include "engine/core/log.h"
#include "engine/promql/selector.h"
#include "rules/slo.h"
#include "storage/sample.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const unsigned char MAGIC[8] = {'B', 'R', 'A', 'N', 'N', 0, 0, 1};

struct br_annotations {
    char *path;           /* immutable after open */
    pthread_mutex_t mu;   /* guards the rest */
    int fd;
    br_annotation *items; /* id order; strings owned */
    size_t n;
    size_t cap;
    uint64_t next_id;
};

/* ------------------------------------------------------------ helpers */

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void item_free(br_annotation *x)
{
    br_free((char *)x->slo);
    br_free((char *)x->kind);
    br_free((char *)x->title);
    br_free((char *)x->text);
    br_free((char *)x->author);
    for (size_t i = 0; i < x->n_tags; i++) {
        br_free((char *)x->tags[i]);
    }
    br_free(x->tags);
}

static char *dup_or_empty(const char *s)
{
    return br_strdup(s != NULL ? s : "");
}

static void item_copy(br_annotation *dst, const br_annotation *src)
{
    *dst = *src;
    dst->slo = dup_or_empty(src->slo);
    dst->kind = dup_or_empty(src->kind);
    dst->title = dup_or_empty(src->title);
    dst->text = dup_or_empty(src->text);
    dst->author = dup_or_empty(src->author);
    dst->tags = br_calloc(src->n_tags ? src->n_tags : 1, sizeof(char *));
    for (size_t i = 0; i < src->n_tags; i++) {
        dst->tags[i] = dup_or_empty(src->tags[i]);
    }
}

static bool kind_valid(const char *k)
{
    static const char *const kinds[] = {"deploy", "incident", "note", "gate"};
    for (size_t i = 0; i < 4; i++) {
        if (k != NULL && strcmp(k, kinds[i]) == 0) {
            return true;
        }
    }
    return false;
}

static int validate(const br_annotation *in, br_err *err)
{
    if (!kind_valid(in->kind)) {
        return br_err_set(err, BR_EINVAL,
                          "annotation kind \"%s\" is not one of deploy, incident, note, gate",
                          in->kind ? in->kind : "");
    }
    size_t tl = in->title ? strlen(in->title) : 0;
    size_t xl = in->text ? strlen(in->text) : 0;
    if (tl == 0 && xl == 0) {
        return br_err_set(err, BR_EINVAL, "annotation needs a title or a text");
    }
    if (tl + xl > BR_ANNOTATION_MAX_TEXT) {
        return br_err_set(err, BR_EINVAL, "annotation title and text are %zu bytes, over %d",
                          tl + xl, BR_ANNOTATION_MAX_TEXT);
    }
    if (in->slo != NULL && strlen(in->slo) > BR_ANNOTATION_MAX_FIELD) {
        return br_err_set(err, BR_EINVAL, "annotation slo is longer than %d bytes",
                          BR_ANNOTATION_MAX_FIELD);
    }
    if (in->author != NULL && strlen(in->author) > BR_ANNOTATION_MAX_FIELD) {
        return br_err_set(err, BR_EINVAL, "annotation author is longer than %d bytes",
                          BR_ANNOTATION_MAX_FIELD);
    }
    if (in->n_tags > BR_ANNOTATION_MAX_TAGS) {
        return br_err_set(err, BR_EINVAL, "annotation has %zu tags, over %d", in->n_tags,
                          BR_ANNOTATION_MAX_TAGS);
    }
    for (size_t i = 0; i < in->n_tags; i++) {
        if (in->tags[i] == NULL || in->tags[i][0] == '\0' ||
            strlen(in->tags[i]) > BR_ANNOTATION_MAX_FIELD) {
            return br_err_set(err, BR_EINVAL, "annotation tag %zu is empty or longer than %d bytes",
                              i + 1, BR_ANNOTATION_MAX_FIELD);
        }
    }
    if (in->end_ms != 0 && in->end_ms < in->time_ms) {
        return br_err_set(err, BR_EINVAL, "annotation end is before its time");
    }
    return 0;
}

/* The 'A' record's JSON (also the API's representation, minus seconds). */
static cJSON *to_json(const br_annotation *x)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)x->id);
    cJSON_AddNumberToObject(o, "time", (double)x->time_ms);
    cJSON_AddNumberToObject(o, "end", (double)x->end_ms);
    cJSON_AddNumberToObject(o, "created", (double)x->created_ms);
    cJSON_AddStringToObject(o, "slo", x->slo ? x->slo : "");
    cJSON_AddStringToObject(o, "kind", x->kind ? x->kind : "");
    cJSON_AddStringToObject(o, "title", x->title ? x->title : "");
    cJSON_AddStringToObject(o, "text", x->text ? x->text : "");
    cJSON_AddStringToObject(o, "author", x->author ? x->author : "");
    cJSON *tags = cJSON_AddArrayToObject(o, "tags");
    for (size_t i = 0; i < x->n_tags; i++) {
        cJSON_AddItemToArray(tags, cJSON_CreateString(x->tags[i]));
    }
    return o;
}

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool jnum(const cJSON *o, const char *key, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v)) {
        return false;
    }
    *out = v->valuedouble;
    return true;
}

/* Decodes an 'A' record into a heap-owned item. */
static bool from_record(const cJSON *o, br_annotation *out)
{
    double id = 0;
    double t = 0;
    double end = 0;
    double created = 0;
    if (!jnum(o, "id", &id) || !jnum(o, "time", &t) || !jnum(o, "end", &end) ||
        !jnum(o, "created", &created) || !(id >= 1) || id > 9007199254740992.0) {
        return false;
    }
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(o, "tags");
    const char *tv[BR_ANNOTATION_MAX_TAGS];
    size_t nt = 0;
    const cJSON *tag = NULL;
    cJSON_ArrayForEach(tag, tags)
    {
        if (!cJSON_IsString(tag) || nt == BR_ANNOTATION_MAX_TAGS) {
            return false;
        }
        tv[nt++] = tag->valuestring;
    }
    br_annotation in = {
        .id = (uint64_t)id,
        .time_ms = (int64_t)t,
        .end_ms = (int64_t)end,
        .created_ms = (int64_t)created,
        .slo = jstr(o, "slo"),
        .kind = jstr(o, "kind"),
        .title = jstr(o, "title"),
        .text = jstr(o, "text"),
        .author = jstr(o, "author"),
        .tags = tv,
        .n_tags = nt,
    };
    br_err err;
    br_err_clear(&err);
    if (validate(&in, &err) != 0) {
        return false;
    }
    item_copy(out, &in);
    return true;
}

static void push(br_annotations *a, const br_annotation *x)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->items = br_realloc(a->items, a->cap * sizeof(*a->items));
    }
    a->items[a->n++] = *x;
}

static size_t find_index(const br_annotations *a, uint64_t id)
{
    size_t lo = 0;
    size_t hi = a->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a->items[mid].id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < a->n && a->items[lo].id == id ? lo : SIZE_MAX;
}

static void remove_at(br_annotations *a, size_t i)
{
    item_free(&a->items[i]);
    memmove(&a->items[i], &a->items[i + 1], (a->n - i - 1) * sizeof(*a->items));
    a->n--;
}

/* Applies one decoded record; false when it makes no sense. */
static bool apply_record(br_annotations *a, char type, const cJSON *o)
{
    double id = 0;
    if (!jnum(o, "id", &id) || !(id >= 1) || id > 9007199254740992.0) {
        return false;
    }
    uint64_t uid = (uint64_t)id;
    if (type == 'A') {
        br_annotation x;
        if (uid < a->next_id || !from_record(o, &x)) {
            return false;
        }
        if (a->n >= BR_ANNOTATIONS_MAX_COUNT) {
            item_free(&x);
            return false;
        }
        push(a, &x);
    } else if (type == 'D') {
        size_t i = find_index(a, uid);
        if (i != SIZE_MAX) {
            remove_at(a, i);
        }
    } else {
        return false;
    }
    if (uid >= a->next_id) {
        a->next_id = uid + 1;
    }
    return true;
}

/* Reads records from the open file; returns the offset of the end of the
 * last good one. */
static off_t replay(br_annotations *a, FILE *f, size_t *n_records)
{
    off_t good = sizeof(MAGIC);
    unsigned char hdr[8];
    char *payload = br_malloc(BR_ANNOTATION_MAX_RECORD + 1);
    *n_records = 0;
    while (fread(hdr, 1, sizeof(hdr), f) == sizeof(hdr)) {
        uint32_t len = get_u32(hdr);
        uint32_t crc = get_u32(hdr + 4);
        if (len < 3 || len > BR_ANNOTATION_MAX_RECORD) {
            break;
        }
        if (fread(payload, 1, len, f) != len || br_crc32c(0, payload, len) != crc) {
            break;
        }
        payload[len] = '\0';
        cJSON *o = cJSON_ParseWithLength(payload + 1, len - 1);
        bool ok = o != NULL && apply_record(a, payload[0], o);
        cJSON_Delete(o);
        if (!ok) {
            break;
        }
        good += (off_t)(sizeof(hdr) + len);
        (*n_records)++;
    }
    br_free(payload);
    return good;
}

/* Appends one record and syncs it. Called with mu held. On failure the
 * file is cut back to where it was, so no half record stays behind. */
static int append_record(br_annotations *a, char type, const cJSON *o, br_err *err)
{
    char *json = cJSON_PrintUnformatted(o);
    size_t jl = strlen(json);
    if (jl + 1 > BR_ANNOTATION_MAX_RECORD) {
        cJSON_free(json);
        return br_err_set(err, BR_EINVAL, "annotation record is %zu bytes, over %d", jl + 1,
                          BR_ANNOTATION_MAX_RECORD);
    }
    size_t len = jl + 1;
    unsigned char *rec = br_malloc(8 + len);
    rec[8] = (unsigned char)type;
    memcpy(rec + 9, json, jl);
    cJSON_free(json);
    put_u32(rec, (uint32_t)len);
    put_u32(rec + 4, br_crc32c(0, rec + 8, len));
    off_t before = lseek(a->fd, 0, SEEK_END);
    int rc = 0;
    if (before < 0 || br_write_all(a->fd, rec, 8 + len) != 0 || fdatasync(a->fd) != 0) {
        rc = br_err_set(err, BR_EIO, "cannot append to %s: %s", a->path, strerror(errno));
        if (before >= 0 && ftruncate(a->fd, before) != 0) {
            br_log_error("cannot cut a failed annotation append", "path=%s", a->path);
        }
    }
    br_free(rec);
    return rc;
}

static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        return -1;
    }
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* ------------------------------------------------------------ store */

br_annotations *br_annotations_open(const char *dir, br_err *err)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        br_err_set(err, BR_EIO, "cannot create %s: %s", dir, strerror(errno));
        return NULL;
    }
    br_annotations *a = br_calloc(1, sizeof(*a));
    size_t pl = strlen(dir) + sizeof("/annotations.log");
    a->path = br_malloc(pl);
    snprintf(a->path, pl, "%s/annotations.log", dir);
    a->next_id = 1;
    a->fd = open(a->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (a->fd < 0) {
        br_err_set(err, BR_EIO, "cannot open %s: %s", a->path, strerror(errno));
        br_free(a->path);
        br_free(a);
        return NULL;
    }
    pthread_mutex_init(&a->mu, NULL);
    struct stat stt;
    if (fstat(a->fd, &stt) != 0) {
        br_err_set(err, BR_EIO, "cannot stat %s: %s", a->path, strerror(errno));
        br_annotations_close(a);
        return NULL;
    }
    if (stt.st_size < (off_t)sizeof(MAGIC)) {
        /* New, or torn while the header was written: start afresh. */
        if (ftruncate(a->fd, 0) != 0 || br_write_all(a->fd, MAGIC, sizeof(MAGIC)) != 0 ||
            fdatasync(a->fd) != 0 || sync_dir(dir) != 0) {
            br_err_set(err, BR_EIO, "cannot initialise %s: %s", a->path, strerror(errno));
            br_annotations_close(a);
            return NULL;
        }
        return a;
    }
    FILE *f = fopen(a->path, "rb");
    unsigned char magic[sizeof(MAGIC)];
    if (f == NULL || fread(magic, 1, sizeof(magic), f) != sizeof(magic) ||
        memcmp(magic, MAGIC, sizeof(MAGIC)) != 0) {
        if (f != NULL) {
            fclose(f);
        }
        br_err_set(err, BR_ECORRUPT, "%s is not an annotation log (bad magic)", a->path);
        br_annotations_close(a);
        return NULL;
    }
    size_t n_records = 0;
    off_t good = replay(a, f, &n_records);
    fclose(f);
    if (good < stt.st_size) {
        br_log_warn("annotation log has a torn or corrupt tail; truncating",
                    "path=%s good_bytes=%lld file_bytes=%lld", a->path, (long long)good,
                    (long long)stt.st_size);
        if (ftruncate(a->fd, good) != 0 || fdatasync(a->fd) != 0) {
            br_err_set(err, BR_EIO, "cannot truncate %s: %s", a->path, strerror(errno));
            br_annotations_close(a);
            return NULL;
        }
    }
    br_log_info("annotations loaded", "path=%s records=%zu annotations=%zu", a->path, n_records,
                a->n);
    return a;
}

void br_annotations_close(br_annotations *a)
{
    if (a == NULL) {
        return;
    }
    for (size_t i = 0; i < a->n; i++) {
        item_free(&a->items[i]);
    }
    br_free(a->items);
    if (a->fd >= 0) {
        close(a->fd);
    }
    pthread_mutex_destroy(&a->mu);
    br_free(a->path);
    br_free(a);
}

int br_annotations_add(br_annotations *a, const br_annotation *in, uint64_t *id_out, br_err *err)
{
    int rc = validate(in, err);
    if (rc != 0) {
        return rc;
    }
    pthread_mutex_lock(&a->mu);
    if (a->n >= BR_ANNOTATIONS_MAX_COUNT) {
        pthread_mutex_unlock(&a->mu);
        return br_err_set(err, BR_ELIMIT, "the annotation store holds %d annotations; delete some",
                          BR_ANNOTATIONS_MAX_COUNT);
    }
    br_annotation x;
    item_copy(&x, in);
    x.id = a->next_id;
    if (x.created_ms == 0) {
        x.created_ms = br_now_ms();
    }
    cJSON *o = to_json(&x);
    rc = append_record(a, 'A', o, err);
    cJSON_Delete(o);
    if (rc != 0) {
        item_free(&x);
    } else {
        a->next_id++;
        push(a, &x);
        if (id_out != NULL) {
            *id_out = x.id;
        }
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}

int br_annotations_delete(br_annotations *a, uint64_t id, br_err *err)
{
    pthread_mutex_lock(&a->mu);
    size_t i = find_index(a, id);
    int rc = 0;
    if (i == SIZE_MAX) {
        rc = br_err_set(err, BR_ENOTFOUND, "no annotation with id %" PRIu64, id);
    } else {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", (double)id);
        rc = append_record(a, 'D', o, err);
        cJSON_Delete(o);
        if (rc == 0) {
            remove_at(a, i);
        }
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}

size_t br_annotations_count(br_annotations *a)
{
    pthread_mutex_lock(&a->mu);
    size_t n = a->n;
    pthread_mutex_unlock(&a->mu);
    return n;
}

static bool has_tag(const br_annotation *x, const char *tag)
{
    for (size_t i = 0; i < x->n_tags; i++) {
        if (strcmp(x->tags[i], tag) == 0) {
            return true;
        }
    }
    return false;
}

static bool query_matches(const br_annotation_query *q, const br_annotation *x)
{
    int64_t end = x->end_ms ? x->end_ms : x->time_ms;
    if (end < q->start_ms || x->time_ms > q->end_ms) {
        return false;
    }
    if (q->kind != NULL && strcmp(q->kind, x->kind) != 0) {
        return false;
    }
    for (size_t i = 0; i < q->n_tags; i++) {
        if (!has_tag(x, q->tags[i])) {
            return false;
        }
    }
    if (q->slo != NULL && strcmp(q->slo, x->slo) != 0) {
        if (q->match == NULL || !q->match(q->match_ctx, x->slo)) {
            return false;
        }
    }
    return true;
}

static void arena_copy(br_arena *ar, br_annotation *dst, const br_annotation *src)
{
    *dst = *src;
    dst->slo = br_arena_strdup(ar, src->slo);
    dst->kind = br_arena_strdup(ar, src->kind);
    dst->title = br_arena_strdup(ar, src->title);
    dst->text = br_arena_strdup(ar, src->text);
    dst->author = br_arena_strdup(ar, src->author);
    dst->tags = br_arena_alloc(ar, sizeof(char *) * (src->n_tags ? src->n_tags : 1));
    for (size_t i = 0; i < src->n_tags; i++) {
        dst->tags[i] = br_arena_strdup(ar, src->tags[i]);
    }
}

size_t br_annotations_query(br_annotations *a, const br_annotation_query *q, br_arena *arena,
                            br_annotation **out)
{
    pthread_mutex_lock(&a->mu);
    size_t n = 0;
    bool *hit = br_calloc(a->n ? a->n : 1, sizeof(bool));
    for (size_t i = 0; i < a->n; i++) {
        hit[i] = query_matches(q, &a->items[i]);
        n += hit[i];
    }
    size_t skip = q->limit > 0 && n > q->limit ? n - q->limit : 0;
    size_t keep = n - skip;
    br_annotation *res = br_arena_alloc(arena, sizeof(*res) * (keep ? keep : 1));
    size_t k = 0;
    size_t seen = 0;
    for (size_t i = 0; i < a->n; i++) {
        if (!hit[i]) {
            continue;
        }
        if (seen++ < skip) {
            continue;
        }
        arena_copy(arena, &res[k++], &a->items[i]);
    }
    br_free(hit);
    pthread_mutex_unlock(&a->mu);
    *out = res;
    return k;
}

int br_annotations_record_gate(br_annotations *a, int64_t now_ms, const char *slo, bool allow,
                               const char *title, const char *text, const char *const *tags,
                               size_t n_tags, const char *author, uint64_t *id_out, br_err *err)
{
    const char *tv[BR_ANNOTATION_MAX_TAGS];
    size_t nt = 0;
    tv[nt++] = allow ? "allow" : "deny";
    for (size_t i = 0; i < n_tags && nt < BR_ANNOTATION_MAX_TAGS; i++) {
        tv[nt++] = tags[i];
    }
    br_annotation in = {
        .time_ms = now_ms,
        .slo = slo,
        .kind = "gate",
        .title = title != NULL && title[0] != '\0' ? title : (allow ? "gate: allow" : "gate: deny"),
        .text = text,
        .author = author,
        .tags = tv,
        .n_tags = nt,
    };
    return br_annotations_add(a, &in, id_out, err);
}

/* ------------------------------------------------------------ HTTP API */

#define ANNOTATIONS_PATH     "/api/v1/annotations"
#define ANNOTATIONS_PREFIX   "/api/v1/annotations/"
#define MAX_QUERY_TAGS       BR_ANNOTATION_MAX_TAGS
#define DEFAULT_QUERY_LIMIT  1000
#define MAX_QUERY_LIMIT      10000

static void respond(br_http_response *resp, int status, cJSON *root)
{
    char *text = cJSON_PrintUnformatted(root);
    resp->status = status;
    resp->content_type = "application/json";
    br_buf_reset(&resp->body);
    br_buf_puts(&resp->body, text);
    cJSON_free(text);
    cJSON_Delete(root);
}

static void respond_data(br_http_response *resp, int status, cJSON *data)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "success");
    cJSON_AddItemToObject(o, "data", data);
    respond(resp, status, o);
}

static void respond_err(br_http_response *resp, int status, const char *type, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));
static void respond_err(br_http_response *resp, int status, const char *type, const char *fmt,
                        ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "error");
    cJSON_AddStringToObject(o, "errorType", type);
    cJSON_AddStringToObject(o, "error", msg);
    respond(resp, status, o);
}

/* The API's representation: times in seconds (Prometheus' convention) and
 * milliseconds (Grafana's). */
static cJSON *api_json(const br_annotation *x)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)x->id);
    cJSON_AddStringToObject(o, "slo", x->slo);
    cJSON_AddStringToObject(o, "kind", x->kind);
    cJSON_AddNumberToObject(o, "time", (double)x->time_ms / 1000.0);
    cJSON_AddNumberToObject(o, "time_ms", (double)x->time_ms);
    if (x->end_ms != 0) {
        cJSON_AddNumberToObject(o, "end", (double)x->end_ms / 1000.0);
        cJSON_AddNumberToObject(o, "end_ms", (double)x->end_ms);
    }
    cJSON_AddStringToObject(o, "title", x->title);
    cJSON_AddStringToObject(o, "text", x->text);
    cJSON *tags = cJSON_AddArrayToObject(o, "tags");
    for (size_t i = 0; i < x->n_tags; i++) {
        cJSON_AddItemToArray(tags, cJSON_CreateString(x->tags[i]));
    }
    cJSON_AddStringToObject(o, "author", x->author);
    cJSON_AddNumberToObject(o, "created", (double)x->created_ms / 1000.0);
    return o;
}

/* Grafana's annotation shape (what its JSON/SimpleJSON datasource expects
 * from /annotations, and what the Infinity datasource maps with
 * time=time, timeEnd=timeEnd, title, text, tags). */
static cJSON *grafana_json(const br_annotation *x)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)x->id);
    cJSON_AddNumberToObject(o, "time", (double)x->time_ms);
    cJSON_AddNumberToObject(o, "timeEnd", (double)(x->end_ms ? x->end_ms : x->time_ms));
    cJSON_AddBoolToObject(o, "isRegion", x->end_ms != 0 && x->end_ms != x->time_ms);
    cJSON_AddStringToObject(o, "title", x->title);
    cJSON_AddStringToObject(o, "text", x->text[0] ? x->text : x->title);
    cJSON *tags = cJSON_AddArrayToObject(o, "tags");
    cJSON_AddItemToArray(tags, cJSON_CreateString(x->kind));
    for (size_t i = 0; i < x->n_tags; i++) {
        cJSON_AddItemToArray(tags, cJSON_CreateString(x->tags[i]));
    }
    return o;
}

/* A time field: seconds (number or numeric string) or RFC 3339. */
static int json_time(const cJSON *v, const char *name, int64_t *out, br_err *err)
{
    if (cJSON_IsNumber(v)) {
        double s = v->valuedouble;
        if (!isfinite(s) || s < -1e15 || s > 1e15) {
            return br_err_set(err, BR_EINVAL, "%s: %g is not a time in seconds", name, s);
        }
        *out = (int64_t)llround(s * 1000.0);
        return 0;
    }
    if (cJSON_IsString(v)) {
        return br_api_parse_time(name, v->valuestring, out, err);
    }
    return br_err_set(err, BR_EINVAL, "%s must be a number of seconds or an RFC 3339 string",
                      name);
}

static int json_string_field(const cJSON *o, const char *key, const char **out, br_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (v == NULL || cJSON_IsNull(v)) {
        *out = NULL;
        return 0;
    }
    if (!cJSON_IsString(v)) {
        return br_err_set(err, BR_EINVAL, "%s must be a string", key);
    }
    *out = v->valuestring;
    return 0;
}

/* The labels an SLO (definition or instance id) is known by, for
 * selector matching. */
typedef struct slo_labels {
    const char *id;      /* what the query asked for */
    const char *def_id;  /* its definition's id, or NULL when unknown */
    br_label ls[80];
    size_t n;
} slo_labels;

static void labels_for(const br_slo_source *src, const char *id, br_arena *ar, slo_labels *out)
{
    memset(out, 0, sizeof(*out));
    out->id = id;
    br_slo_snapshot *snap = src != NULL && src->snapshot != NULL ? src->snapshot(src->ctx) : NULL;
    if (snap == NULL) {
        return;
    }
    const br_slo_status *st = br_slo_snapshot_find(snap, id);
    for (size_t i = 0; st == NULL && i < snap->n_slos; i++) {
        if (snap->slos[i].def != NULL && strcmp(snap->slos[i].def->id, id) == 0) {
            st = &snap->slos[i];
        }
    }
    if (st != NULL && st->def != NULL) {
        const br_slo_def *d = st->def;
        out->def_id = br_arena_strdup(ar, d->id);
        const char *fixed[][2] = {{"slo", d->id},           {"sloth_id", d->id},
                                  {"service", d->service},  {"sloth_service", d->service},
                                  {"sloth_slo", d->name}};
        for (size_t i = 0; i < 5; i++) {
            out->ls[out->n++] = (br_label){fixed[i][0], br_arena_strdup(ar, fixed[i][1])};
        }
        for (size_t i = 0; i < d->n_labels && out->n < 60; i++) {
            out->ls[out->n++] = (br_label){br_arena_strdup(ar, d->labels[i].key),
                                           br_arena_strdup(ar, d->labels[i].value)};
        }
        for (size_t i = 0; i < st->n_group_labels && out->n < 80; i++) {
            out->ls[out->n++] = (br_label){br_arena_strdup(ar, st->group_labels[i].key),
                                           br_arena_strdup(ar, st->group_labels[i].value)};
        }
    }
    br_slo_snapshot_unref(snap);
}

static const char *label_get(const slo_labels *sl, const char *name)
{
    for (size_t i = 0; i < sl->n; i++) {
        if (strcmp(sl->ls[i].name, name) == 0) {
            return sl->ls[i].value;
        }
    }
    return "";
}

/* An annotation's slo field applies to the asked SLO when it is empty
 * (every SLO), names its definition, or is a selector its labels match. */
static bool slo_applies(void *ctx, const char *annotation_slo)
{
    const slo_labels *sl = ctx;
    if (annotation_slo[0] == '\0') {
        return true;
    }
    if (sl->def_id != NULL && strcmp(annotation_slo, sl->def_id) == 0) {
        return true;
    }
    if (annotation_slo[0] != '{' || sl->n == 0) {
        return false;
    }
    br_selector sel;
    br_err err;
    br_err_clear(&err);
    if (br_selector_parse(annotation_slo, &sel, &err) != 0) {
        return false;
    }
    bool ok = true;
    for (size_t i = 0; i < sel.n && ok; i++) {
        ok = br_matcher_matches(&sel.matchers[i], label_get(sl, sel.matchers[i].name));
    }
    br_selector_free(&sel);
    return ok;
}

void br_api_actor_describe(const br_api_actor *actor, const br_http_request *req, char *out,
                           size_t size)
{
    char id[160] = "anonymous";
    if (actor != NULL && actor->who != NULL) {
        actor->who(actor->ctx, req, id, sizeof(id));
    }
    const char *name = br_http_header(req, "X-Burnrate-Author");
    if (name != NULL && name[0] != '\0') {
        snprintf(out, size, "%.80s (%s)", name, id);
    } else {
        snprintf(out, size, "%s", id);
    }
}

static void actor_who(const br_annotations_api *api, const br_http_request *req, char *out,
                      size_t size)
{
    br_api_actor_describe(&api->actor, req, out, size);
}

static bool actor_may_change(const br_annotations_api *api, const br_http_request *req)
{
    return api->actor.may_change == NULL || api->actor.may_change(api->actor.ctx, req);
}

static int parse_tags_json(const cJSON *v, const char **out, size_t *n, br_err *err)
{
    *n = 0;
    if (v == NULL || cJSON_IsNull(v)) {
        return 0;
    }
    if (cJSON_IsString(v)) { /* "a,b" as Grafana sends */
        return br_err_set(err, BR_EINVAL, "tags must be a list of strings");
    }
    if (!cJSON_IsArray(v)) {
        return br_err_set(err, BR_EINVAL, "tags must be a list of strings");
    }
    const cJSON *t = NULL;
    cJSON_ArrayForEach(t, v)
    {
        if (!cJSON_IsString(t)) {
            return br_err_set(err, BR_EINVAL, "tags must be a list of strings");
        }
        if (*n == BR_ANNOTATION_MAX_TAGS) {
            return br_err_set(err, BR_EINVAL, "more than %d tags", BR_ANNOTATION_MAX_TAGS);
        }
        out[(*n)++] = t->valuestring;
    }
    return 0;
}

static int handle_post(br_annotations_api *api, br_http_request *req, br_http_response *resp)
{
    if (!actor_may_change(api, req)) {
        respond_err(resp, 403, "forbidden",
                    "creating annotations needs the write or admin credentials");
        return 0;
    }
    cJSON *o = cJSON_ParseWithLength(req->body, req->body_len);
    if (o == NULL || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        respond_err(resp, 400, "bad_data", "the body must be one JSON object");
        return 0;
    }
    br_err err;
    br_err_clear(&err);
    static const char *const known[] = {"slo", "time", "end", "title", "text", "tags", "kind"};
    const cJSON *f = NULL;
    int rc = 0;
    cJSON_ArrayForEach(f, o)
    {
        bool ok = false;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
            ok = ok || strcmp(f->string, known[i]) == 0;
        }
        if (!ok && rc == 0) {
            rc = br_err_set(&err, BR_EINVAL,
                            "unknown field \"%s\" (expected slo, time, end, title, text, tags, "
                            "kind)",
                            f->string);
        }
    }
    br_annotation in;
    memset(&in, 0, sizeof(in));
    const char *tags[BR_ANNOTATION_MAX_TAGS];
    in.tags = tags;
    in.time_ms = br_now_ms();
    const cJSON *tv = cJSON_GetObjectItemCaseSensitive(o, "time");
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(o, "end");
    if (rc == 0 && tv != NULL) {
        rc = json_time(tv, "time", &in.time_ms, &err);
    }
    if (rc == 0 && ev != NULL && !cJSON_IsNull(ev)) {
        rc = json_time(ev, "end", &in.end_ms, &err);
    }
    if (rc == 0) {
        rc = json_string_field(o, "slo", &in.slo, &err);
    }
    if (rc == 0) {
        rc = json_string_field(o, "title", &in.title, &err);
    }
    if (rc == 0) {
        rc = json_string_field(o, "text", &in.text, &err);
    }
    if (rc == 0) {
        rc = json_string_field(o, "kind", &in.kind, &err);
    }
    if (rc == 0) {
        rc = parse_tags_json(cJSON_GetObjectItemCaseSensitive(o, "tags"), tags, &in.n_tags, &err);
    }
    if (rc == 0 && in.kind == NULL) {
        in.kind = "note";
    }
    if (rc == 0 && in.slo != NULL && in.slo[0] == '{') {
        br_selector sel;
        if (br_selector_parse(in.slo, &sel, &err) == 0) {
            br_selector_free(&sel);
        } else {
            br_err_prefix(&err, "slo selector: ");
            rc = BR_EINVAL;
        }
    }
    char who[BR_ANNOTATION_MAX_FIELD];
    actor_who(api, req, who, sizeof(who));
    in.author = who;
    uint64_t id = 0;
    if (rc == 0) {
        rc = br_annotations_add(api->store, &in, &id, &err);
    }
    if (rc == 0) { /* before cJSON_Delete: in's strings point into o */
        br_log_info("annotation created", "id=%" PRIu64 " kind=%s slo=\"%s\" author=\"%s\"", id,
                    in.kind, in.slo ? in.slo : "", who);
    }
    cJSON_Delete(o);
    if (rc != 0) {
        char msg[400];
        br_err_format(&err, msg, sizeof(msg));
        int status = rc == BR_EIO ? 500 : rc == BR_ELIMIT ? 507 : 400;
        respond_err(resp, status, status == 400 ? "bad_data" : "internal", "%s", msg);
        return 0;
    }
    br_annotation_query q = {.start_ms = INT64_MIN, .end_ms = INT64_MAX};
    br_annotation *all = NULL;
    size_t n = br_annotations_query(api->store, &q, req->arena, &all);
    for (size_t i = n; i-- > 0;) {
        if (all[i].id == id) {
            br_http_add_header(resp, "Location",
                               br_arena_printf(req->arena, ANNOTATIONS_PREFIX "%" PRIu64, id));
            respond_data(resp, 201, api_json(&all[i]));
            return 0;
        }
    }
    respond_err(resp, 500, "internal", "annotation %" PRIu64 " vanished", id);
    return 0;
}

static size_t split_tags(br_arena *ar, const br_http_request *req, const char **out, size_t max)
{
    const char *vals[MAX_QUERY_TAGS];
    size_t nv = br_http_param_all(req, "tags", vals, MAX_QUERY_TAGS);
    size_t n = 0;
    for (size_t i = 0; i < nv && i < MAX_QUERY_TAGS; i++) {
        char *copy = br_arena_strdup(ar, vals[i]);
        char *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
            if (t[0] != '\0' && n < max) {
                out[n++] = t;
            }
        }
    }
    return n;
}

static int handle_get(br_annotations_api *api, br_http_request *req, br_http_response *resp)
{
    br_err err;
    br_err_clear(&err);
    br_annotation_query q = {.start_ms = INT64_MIN, .end_ms = INT64_MAX};
    const char *start = br_http_param_get(req, "start");
    const char *end = br_http_param_get(req, "end");
    if ((start != NULL && br_api_parse_time("start", start, &q.start_ms, &err) != 0) ||
        (end != NULL && br_api_parse_time("end", end, &q.end_ms, &err) != 0)) {
        respond_err(resp, 400, "bad_data", "%s", err.msg);
        return 0;
    }
    if (q.end_ms < q.start_ms) {
        respond_err(resp, 400, "bad_data", "end is before start");
        return 0;
    }
    const char *kind = br_http_param_get(req, "kind");
    if (kind != NULL && kind[0] != '\0') {
        if (!kind_valid(kind)) {
            respond_err(resp, 400, "bad_data",
                        "kind \"%s\" is not one of deploy, incident, note, gate", kind);
            return 0;
        }
        q.kind = kind;
    }
    const char *limit = br_http_param_get(req, "limit");
    q.limit = DEFAULT_QUERY_LIMIT;
    if (limit != NULL) {
        char *endp = NULL;
        long v = strtol(limit, &endp, 10);
        if (endp == limit || *endp != '\0' || v < 1 || v > MAX_QUERY_LIMIT) {
            respond_err(resp, 400, "bad_data", "limit must be an integer from 1 to %d",
                        MAX_QUERY_LIMIT);
            return 0;
        }
        q.limit = (size_t)v;
    }
    const char *tags[MAX_QUERY_TAGS];
    q.n_tags = split_tags(req->arena, req, tags, MAX_QUERY_TAGS);
    q.tags = tags;
    slo_labels *sl = br_arena_calloc(req->arena, 1, sizeof(*sl));
    const char *slo = br_http_param_get(req, "slo");
    if (slo != NULL && slo[0] != '\0') {
        labels_for(api->src, slo, req->arena, sl);
        q.slo = slo;
        q.match = slo_applies;
        q.match_ctx = sl;
    }
    br_annotation *res = NULL;
    size_t n = br_annotations_query(api->store, &q, req->arena, &res);
    const char *format = br_http_param_get(req, "format");
    bool grafana = format != NULL && strcmp(format, "grafana") == 0;
    if (format != NULL && !grafana && strcmp(format, "json") != 0) {
        respond_err(resp, 400, "bad_data", "format must be json or grafana");
        return 0;
    }
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        cJSON_AddItemToArray(arr, grafana ? grafana_json(&res[i]) : api_json(&res[i]));
    }
    if (grafana) {
        respond(resp, 200, arr);
    } else {
        respond_data(resp, 200, arr);
    }
    return 0;
}

static int handle_collection(void *ctx, br_http_request *req, br_http_response *resp)
{
    br_annotations_api *api = ctx;
    if (strcmp(req->method, "POST") == 0) {
        return handle_post(api, req, resp);
    }
    return handle_get(api, req, resp);
}

static int handle_delete(void *ctx, br_http_request *req, br_http_response *resp)
{
    br_annotations_api *api = ctx;
    const char *s = req->path + strlen(ANNOTATIONS_PREFIX);
    char *endp = NULL;
    errno = 0;
    unsigned long long id = strtoull(s, &endp, 10);
    if (s[0] < '0' || s[0] > '9' || endp == s || *endp != '\0' || errno != 0 || id == 0) {
        respond_err(resp, 400, "bad_data", "annotation id \"%s\" is not a positive integer", s);
        return 0;
    }
    if (!actor_may_change(api, req)) {
        respond_err(resp, 403, "forbidden",
                    "deleting annotations needs the write or admin credentials");
        return 0;
    }
    br_err err;
    br_err_clear(&err);
    int rc = br_annotations_delete(api->store, (uint64_t)id, &err);
    if (rc == BR_ENOTFOUND) {
        respond_err(resp, 404, "not_found", "%s", err.msg);
        return 0;
    }
    if (rc != 0) {
        respond_err(resp, 500, "internal", "%s", err.msg);
        return 0;
    }
    char who[BR_ANNOTATION_MAX_FIELD];
    actor_who(api, req, who, sizeof(who));
    br_log_info("annotation deleted", "id=%llu author=\"%s\"", id, who);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "id", (double)id);
    cJSON_AddBoolToObject(d, "deleted", true);
    respond_data(resp, 200, d);
    return 0;
}

void br_annotations_api_register(br_http_server *srv, br_annotations_api *api)
{
    br_http_route(srv, BR_HTTP_GET | BR_HTTP_POST, ANNOTATIONS_PATH, ANNOTATIONS_PATH, 64 * 1024,
                  handle_collection, api);
    br_http_route(srv, BR_HTTP_DELETE, ANNOTATIONS_PREFIX "*", ANNOTATIONS_PREFIX ":id", 0,
                  handle_delete, api);
}
