/*
 * yamldoc.h — a YAML document with positions, for every config burnrate
 * reads (the main config, SLO files in all their formats).
 *
 * Wraps libyaml's document API: br_yaml_load() parses a whole file (or
 * string) into nodes that remember their line and column, and the helpers
 * below read scalars of the expected type or fail with a br_err carrying
 * file:line:col and a message naming the key and what was expected. Callers
 * list the keys a mapping may hold (br_yaml_check_keys) so unknown keys are
 * errors, not silently ignored.
 *
 * Ownership: br_yaml_doc owns the parsed nodes; node pointers and scalar
 * strings are views valid until br_yaml_free(). Not thread-safe; one
 * document per loader call.
 */
#ifndef BR_RULES_YAMLDOC_H
#define BR_RULES_YAMLDOC_H

#include "engine/core/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

typedef struct br_yaml_doc {
    yaml_document_t doc;
    bool loaded;
    char file[256];
} br_yaml_doc;

typedef yaml_node_t br_yaml_node;

/* Parses path into doc. Returns 0, BR_EIO (cannot read) or BR_EPARSE
 * (syntax error with position). An empty file gives a NULL root. */
int br_yaml_load_file(br_yaml_doc *doc, const char *path, br_err *err);
/* Parses text; name is used in error positions. */
int br_yaml_load_string(br_yaml_doc *doc, const char *name, const char *text, size_t len,
                        br_err *err);
void br_yaml_free(br_yaml_doc *doc);

/* Parses every document of a multi-document stream ("---" separated) into
 * a new array (free with br_yaml_free_all). Empty documents are skipped. */
int br_yaml_load_all_file(const char *path, br_yaml_doc **out, size_t *n_out, br_err *err);
int br_yaml_load_all_string(const char *name, const char *text, size_t len, br_yaml_doc **out,
                            size_t *n_out, br_err *err);
void br_yaml_free_all(br_yaml_doc *docs, size_t n);

br_yaml_node *br_yaml_root(br_yaml_doc *doc);

/* Sets err at node's position (file:line:col); returns code. */
int br_yaml_error(br_yaml_doc *doc, const br_yaml_node *node, br_err *err, int code,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

bool br_yaml_is_map(const br_yaml_node *n);
bool br_yaml_is_seq(const br_yaml_node *n);
bool br_yaml_is_scalar(const br_yaml_node *n);
/* Scalar text (NUL-terminated view), or NULL if n is not a scalar. */
const char *br_yaml_scalar(const br_yaml_node *n);

/* Mapping access. br_yaml_map_get returns the value for key or NULL. */
br_yaml_node *br_yaml_map_get(br_yaml_doc *doc, const br_yaml_node *map, const char *key);
size_t br_yaml_map_size(const br_yaml_node *map);
/* i-th pair of a mapping: key text (NULL if the key is not a scalar) and value. */
const char *br_yaml_map_key(br_yaml_doc *doc, const br_yaml_node *map, size_t i,
                            br_yaml_node **key_node, br_yaml_node **value);
/* Fails with "unknown key "x" in <what>; expected one of: a, b" on the first key
 * not in the NULL-terminated allowed list, and on duplicate keys. */
int br_yaml_check_keys(br_yaml_doc *doc, const br_yaml_node *map, const char *what,
                       const char *const *allowed, br_err *err);

/* Sequence access. */
size_t br_yaml_seq_size(const br_yaml_node *seq);
br_yaml_node *br_yaml_seq_item(br_yaml_doc *doc, const br_yaml_node *seq, size_t i);

/* Typed readers: each fails with the node's position and the key name when
 * the node is not of the expected type. `key` is used in messages only. */
int br_yaml_expect_map(br_yaml_doc *doc, const br_yaml_node *n, const char *key, br_err *err);
int br_yaml_expect_seq(br_yaml_doc *doc, const br_yaml_node *n, const char *key, br_err *err);
int br_yaml_get_string(br_yaml_doc *doc, const br_yaml_node *n, const char *key,
                       const char **out, br_err *err);
int br_yaml_get_bool(br_yaml_doc *doc, const br_yaml_node *n, const char *key, bool *out,
                     br_err *err);
int br_yaml_get_int(br_yaml_doc *doc, const br_yaml_node *n, const char *key, int64_t min,
                    int64_t max, int64_t *out, br_err *err);
int br_yaml_get_double(br_yaml_doc *doc, const br_yaml_node *n, const char *key, double *out,
                       br_err *err);
/* A Prometheus duration ("30s", "30d"), in ms; must be > 0 unless allow_zero. */
int br_yaml_get_duration(br_yaml_doc *doc, const br_yaml_node *n, const char *key,
                         bool allow_zero, int64_t *out_ms, br_err *err);
/* A byte size: plain integer or with a unit suffix (KiB, MiB, GiB, KB, MB, GB). */
int br_yaml_get_bytes(br_yaml_doc *doc, const br_yaml_node *n, const char *key, int64_t *out,
                      br_err *err);

#endif
