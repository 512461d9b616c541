/*
 * yamldoc.c — positioned YAML access on top of libyaml's document API.
 * See yamldoc.h. libyaml marks are 0-based; messages use 1-based line:col.
 */
#include "yamldoc.h"

#include "engine/core/alloc.h"
#include "engine/core/buf.h"
#include "engine/core/clock.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define YAML_MAX_FILE_BYTES (16u * 1024 * 1024)

static int load_parser(br_yaml_doc *doc, yaml_parser_t *parser, br_err *err)
{
    if (!yaml_parser_load(parser, &doc->doc)) {
        int rc = br_err_setpos(err, BR_EPARSE, doc->file, (int)parser->problem_mark.line + 1,
                               (int)parser->problem_mark.column + 1, "YAML syntax error: %s%s%s",
                               parser->problem ? parser->problem : "unknown problem",
                               parser->context ? " " : "", parser->context ? parser->context : "");
        yaml_parser_delete(parser);
        return rc;
    }
    doc->loaded = true;
    yaml_parser_delete(parser);
    return 0;
}

int br_yaml_load_string(br_yaml_doc *doc, const char *name, const char *text, size_t len,
                        br_err *err)
{
    memset(doc, 0, sizeof(*doc));
    snprintf(doc->file, sizeof(doc->file), "%s", name);
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        return br_err_set(err, BR_ENOMEM, "cannot initialise the YAML parser");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    return load_parser(doc, &parser, err);
}

static int read_file_text(const char *path, br_buf *text, br_err *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return br_err_setpos(err, BR_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
    }
    char chunk[8192];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (br_buf_append(text, chunk, n) != 0) {
            rc = br_err_setpos(err, BR_ELIMIT, path, 0, 0, "file larger than %u bytes",
                               YAML_MAX_FILE_BYTES);
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        rc = br_err_setpos(err, BR_EIO, path, 0, 0, "read error: %s", strerror(errno));
    }
    fclose(f);
    return rc;
}

int br_yaml_load_file(br_yaml_doc *doc, const char *path, br_err *err)
{
    memset(doc, 0, sizeof(*doc));
    snprintf(doc->file, sizeof(doc->file), "%s", path);
    br_buf text;
    br_buf_init(&text, YAML_MAX_FILE_BYTES);
    int rc = read_file_text(path, &text, err);
    if (rc == 0) {
        rc = br_yaml_load_string(doc, path, br_buf_str(&text), text.len, err);
    }
    br_buf_free(&text);
    return rc;
}

int br_yaml_load_all_string(const char *name, const char *text, size_t len, br_yaml_doc **out,
                            size_t *n_out, br_err *err)
{
    *out = NULL;
    *n_out = 0;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        return br_err_set(err, BR_ENOMEM, "cannot initialise the YAML parser");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    br_yaml_doc *docs = NULL;
    size_t n = 0;
    int rc = 0;
    for (;;) {
        br_yaml_doc one;
        memset(&one, 0, sizeof(one));
        snprintf(one.file, sizeof(one.file), "%s", name);
        if (!yaml_parser_load(&parser, &one.doc)) {
            rc = br_err_setpos(err, BR_EPARSE, name, (int)parser.problem_mark.line + 1,
                               (int)parser.problem_mark.column + 1, "YAML syntax error: %s%s%s",
                               parser.problem ? parser.problem : "unknown problem",
                               parser.context ? " " : "", parser.context ? parser.context : "");
            break;
        }
        one.loaded = true;
        if (yaml_document_get_root_node(&one.doc) == NULL) {
            /* The stream's end (or an empty document at the end). */
            br_yaml_free(&one);
            break;
        }
        docs = br_realloc(docs, (n + 1) * sizeof(*docs));
        docs[n++] = one;
    }
    yaml_parser_delete(&parser);
    if (rc != 0) {
        br_yaml_free_all(docs, n);
        return rc;
    }
    *out = docs;
    *n_out = n;
    return 0;
}

int br_yaml_load_all_file(const char *path, br_yaml_doc **out, size_t *n_out, br_err *err)
{
    br_buf text;
    br_buf_init(&text, YAML_MAX_FILE_BYTES);
    int rc = read_file_text(path, &text, err);
    if (rc == 0) {
        rc = br_yaml_load_all_string(path, br_buf_str(&text), text.len, out, n_out, err);
    }
    br_buf_free(&text);
    return rc;
}

void br_yaml_free_all(br_yaml_doc *docs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        br_yaml_free(&docs[i]);
    }
    br_free(docs);
}

void br_yaml_free(br_yaml_doc *doc)
{
    if (doc->loaded) {
        yaml_document_delete(&doc->doc);
        doc->loaded = false;
    }
}

br_yaml_node *br_yaml_root(br_yaml_doc *doc)
{
    if (!doc->loaded) {
        return NULL;
    }
    return yaml_document_get_root_node(&doc->doc);
}

int br_yaml_error(br_yaml_doc *doc, const br_yaml_node *node, br_err *err, int code,
                  const char *fmt, ...)
{
    if (err == NULL) {
        return code;
    }
    char msg[BR_ERR_MSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    int line = node ? (int)node->start_mark.line + 1 : 0;
    int col = node ? (int)node->start_mark.column + 1 : 0;
    return br_err_setpos(err, code, doc->file, line, col, "%s", msg);
}

bool br_yaml_is_map(const br_yaml_node *n)
{
    return n != NULL && n->type == YAML_MAPPING_NODE;
}

bool br_yaml_is_seq(const br_yaml_node *n)
{
    return n != NULL && n->type == YAML_SEQUENCE_NODE;
}

bool br_yaml_is_scalar(const br_yaml_node *n)
{
    return n != NULL && n->type == YAML_SCALAR_NODE;
}

const char *br_yaml_scalar(const br_yaml_node *n)
{
    if (!br_yaml_is_scalar(n)) {
        return NULL;
    }
    return (const char *)n->data.scalar.value;
}

size_t br_yaml_map_size(const br_yaml_node *map)
{
    if (!br_yaml_is_map(map)) {
        return 0;
    }
    return (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
}

const char *br_yaml_map_key(br_yaml_doc *doc, const br_yaml_node *map, size_t i,
                            br_yaml_node **key_node, br_yaml_node **value)
{
    yaml_node_pair_t *pair = map->data.mapping.pairs.start + i;
    br_yaml_node *k = yaml_document_get_node(&doc->doc, pair->key);
    if (key_node != NULL) {
        *key_node = k;
    }
    if (value != NULL) {
        *value = yaml_document_get_node(&doc->doc, pair->value);
    }
    return br_yaml_scalar(k);
}

br_yaml_node *br_yaml_map_get(br_yaml_doc *doc, const br_yaml_node *map, const char *key)
{
    size_t n = br_yaml_map_size(map);
    for (size_t i = 0; i < n; i++) {
        br_yaml_node *v = NULL;
        const char *k = br_yaml_map_key(doc, map, i, NULL, &v);
        if (k != NULL && strcmp(k, key) == 0) {
            return v;
        }
    }
    return NULL;
}

int br_yaml_check_keys(br_yaml_doc *doc, const br_yaml_node *map, const char *what,
                       const char *const *allowed, br_err *err)
{
    size_t n = br_yaml_map_size(map);
    for (size_t i = 0; i < n; i++) {
        br_yaml_node *kn = NULL;
        const char *k = br_yaml_map_key(doc, map, i, &kn, NULL);
        if (k == NULL) {
            return br_yaml_error(doc, kn, err, BR_EPARSE, "%s: keys must be plain strings", what);
        }
        bool ok = false;
        for (size_t a = 0; allowed[a] != NULL; a++) {
            if (strcmp(allowed[a], k) == 0) {
                ok = true;
                break;
            }
        }
        if (!ok) {
            char list[200];
            size_t off = 0;
            list[0] = '\0';
            for (size_t a = 0; allowed[a] != NULL && off < sizeof(list); a++) {
                off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s", a ? ", " : "",
                                        allowed[a]);
            }
            return br_yaml_error(doc, kn, err, BR_EPARSE,
                                 "unknown key \"%s\" in %s; expected one of: %s", k, what, list);
        }
        for (size_t j = 0; j < i; j++) {
            const char *prev = br_yaml_map_key(doc, map, j, NULL, NULL);
            if (prev != NULL && strcmp(prev, k) == 0) {
                return br_yaml_error(doc, kn, err, BR_EPARSE, "duplicate key \"%s\" in %s", k,
                                     what);
            }
        }
    }
    return 0;
}

size_t br_yaml_seq_size(const br_yaml_node *seq)
{
    if (!br_yaml_is_seq(seq)) {
        return 0;
    }
    return (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
}

br_yaml_node *br_yaml_seq_item(br_yaml_doc *doc, const br_yaml_node *seq, size_t i)
{
    return yaml_document_get_node(&doc->doc, seq->data.sequence.items.start[i]);
}

static const char *kind_name(const br_yaml_node *n)
{
    if (n == NULL) {
        return "nothing";
    }
    switch (n->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_SCALAR_NODE:
        return "a scalar";
    default:
        return "an empty node";
    }
}

int br_yaml_expect_map(br_yaml_doc *doc, const br_yaml_node *n, const char *key, br_err *err)
{
    if (!br_yaml_is_map(n)) {
        return br_yaml_error(doc, n, err, BR_EPARSE, "\"%s\" must be a mapping, got %s", key,
                             kind_name(n));
    }
    return 0;
}

int br_yaml_expect_seq(br_yaml_doc *doc, const br_yaml_node *n, const char *key, br_err *err)
{
    if (!br_yaml_is_seq(n)) {
        return br_yaml_error(doc, n, err, BR_EPARSE, "\"%s\" must be a list, got %s", key,
                             kind_name(n));
    }
    return 0;
}

int br_yaml_get_string(br_yaml_doc *doc, const br_yaml_node *n, const char *key,
                       const char **out, br_err *err)
{
    const char *s = br_yaml_scalar(n);
    if (s == NULL) {
        return br_yaml_error(doc, n, err, BR_EPARSE, "\"%s\" must be a string, got %s", key,
                             kind_name(n));
    }
    *out = s;
    return 0;
}

int br_yaml_get_bool(br_yaml_doc *doc, const br_yaml_node *n, const char *key, bool *out,
                     br_err *err)
{
    const char *s = br_yaml_scalar(n);
    if (s != NULL && strcmp(s, "true") == 0) {
        *out = true;
        return 0;
    }
    if (s != NULL && strcmp(s, "false") == 0) {
        *out = false;
        return 0;
    }
    return br_yaml_error(doc, n, err, BR_EPARSE, "\"%s\" must be true or false, got \"%s\"", key,
                         s ? s : kind_name(n));
}

int br_yaml_get_int(br_yaml_doc *doc, const br_yaml_node *n, const char *key, int64_t min,
                    int64_t max, int64_t *out, br_err *err)
{
    const char *s = br_yaml_scalar(n);
    if (s == NULL || *s == '\0') {
        return br_yaml_error(doc, n, err, BR_EPARSE, "\"%s\" must be an integer, got %s", key,
                             kind_name(n));
    }
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return br_yaml_error(doc, n, err, BR_EPARSE, "\"%s\" must be an integer, got \"%s\"", key,
                             s);
    }
    if (v < min || v > max) {
        return br_yaml_error(doc, n, err, BR_EPARSE, "\"%s\" must be between %lld and %lld, got %lld",
                             key, (long long)min, (long long)max, v);
    }
    *out = v;
    return 0;
}

int br_yaml_get_double(br_yaml_doc *doc, const br_yaml_node *n, const char *key, double *out,
                       br_err *err)
{
    const char *s = br_yaml_scalar(n);
    if (s == NULL || *s == '\0') {
        return br_yaml_error(doc, n, err, BR_EPARSE, "\"%s\" must be a number, got %s", key,
                             kind_name(n));
    }
    errno = 0;
    char *end = NULL;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v)) {
        return br_yaml_error(doc, n, err, BR_EPARSE, "\"%s\" must be a finite number, got \"%s\"",
                             key, s);
    }
    *out = v;
    return 0;
}

int br_yaml_get_duration(br_yaml_doc *doc, const br_yaml_node *n, const char *key,
                         bool allow_zero, int64_t *out_ms, br_err *err)
{
    const char *s = br_yaml_scalar(n);
    int64_t ms = 0;
    if (s == NULL || br_parse_duration(s, &ms) != 0) {
        return br_yaml_error(doc, n, err, BR_EPARSE,
                             "\"%s\" must be a duration like 30s, 5m, 1h30m or 30d, got \"%s\"", key,
                             s ? s : kind_name(n));
    }
    if (ms == 0 && !allow_zero) {
        return br_yaml_error(doc, n, err, BR_EPARSE, "\"%s\" must be greater than zero", key);
    }
    *out_ms = ms;
    return 0;
}

int br_yaml_get_bytes(br_yaml_doc *doc, const br_yaml_node *n, const char *key, int64_t *out,
                      br_err *err)
{
    static const struct {
        const char *suffix;
        int64_t mult;
    } units[] = {{"KiB", 1024}, {"MiB", 1024 * 1024}, {"GiB", 1024LL * 1024 * 1024},
                 {"KB", 1000},  {"MB", 1000 * 1000},  {"GB", 1000LL * 1000 * 1000},
                 {"B", 1},      {"", 1}};
    const char *s = br_yaml_scalar(n);
    if (s != NULL && *s != '\0') {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno == 0 && end != s && v >= 0) {
            for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
                if (strcmp(end, units[i].suffix) == 0 && v <= INT64_MAX / units[i].mult) {
                    *out = v * units[i].mult;
                    return 0;
                }
            }
        }
    }
    return br_yaml_error(doc, n, err, BR_EPARSE,
                         "\"%s\" must be a size like 1048576, 64MiB or 1GB, got \"%s\"", key,
                         s ? s : kind_name(n));
}
