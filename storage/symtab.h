/*
 * symtab.h — the symbol table: one reference-counted copy of every distinct
 * label name and value held by the store.
 *
 * Where it sits: the head interns a series' label strings once, when the
 * series is created (br_labels_new does this); the postings index, the
 * series and query results then share those pointers. Retention drops a
 * series and releases its strings; a string is freed when its last
 * reference goes.
 *
 * Invariants: while a string has references, interning equal bytes returns
 * the same pointer, so interned strings from one table may be compared by
 * pointer. Returned strings are NUL-terminated and never move.
 *
 * Threads: every function may be called from any thread. The table is split
 * into shards by hash, each with its own mutex on its own cache line, so
 * appenders on different HTTP threads rarely contend.
 */
#ifndef BR_STORAGE_SYMTAB_H
#define BR_STORAGE_SYMTAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct br_symtab br_symtab;

typedef struct br_symtab_stats {
    size_t strings; /* distinct strings held */
    size_t bytes;   /* string bytes plus per-entry overhead and bucket arrays */
} br_symtab_stats;

/* Returns a new, empty table (free with br_symtab_free). Never NULL. */
br_symtab *br_symtab_new(void);

/* Frees the table and every string still in it. Strings handed out become
 * invalid. s may be NULL. */
void br_symtab_free(br_symtab *s);

/*
 * Returns the interned copy of the len bytes at str (borrowed; need not be
 * NUL-terminated) and takes one reference on it. The result is owned by the
 * table: drop the reference with br_symtab_release, never br_free it.
 */
const char *br_symtab_intern(br_symtab *s, const char *str, size_t len);

/* Takes one more reference on an interned string (str must come from s). */
void br_symtab_retain(br_symtab *s, const char *str);

/* Drops one reference on an interned string; frees it at zero. str must come
 * from s; NULL is ignored. */
void br_symtab_release(br_symtab *s, const char *str);

/* Length of an interned string (without reading its bytes). */
size_t br_symtab_len(const char *str);

/* Current reference count of an interned string (for tests and debugging;
 * racy by nature when other threads intern or release the same string). */
size_t br_symtab_refs(br_symtab *s, const char *str);

void br_symtab_stats_get(br_symtab *s, br_symtab_stats *out);

#endif
