/*
 * labels.h — immutable label sets made of interned strings (Prometheus'
 * model/labels).
 *
 * Where it sits: the remote-write decoder validates and sorts a series'
 * labels as borrowed br_label views; the head hashes them with
 * br_labels_hash_raw to look the series up, and only when the series is new
 * builds a br_labels with br_labels_new, which interns every string in the
 * symbol table. The series, the postings index and query results then share
 * that set's strings.
 *
 * Invariants: pairs are sorted by name (bytewise) and never change; the hash
 * is br_hash64 (seed 0) over "name\xff value\xff" for every pair in order,
 * so br_labels_hash_raw on the same pairs gives the same value. No syntax is
 * checked here (the decoder does that).
 *
 * Threads: a br_labels is immutable, so any thread may read it; creating and
 * freeing go through the thread-safe symbol table.
 */
#ifndef BR_STORAGE_LABELS_H
#define BR_STORAGE_LABELS_H

#include "engine/core/buf.h"
#include "storage/sample.h"
#include "storage/symtab.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct br_labels br_labels;

/*
 * Returns a new label set holding interned copies of the n pairs (borrowed;
 * must be sorted by name: this is not checked, because the pairs may come
 * from the network or a WAL record and sorting is the decoders' job; an
 * unsorted set would make br_labels_get miss). Free with br_labels_free on
 * the same table.
 */
br_labels *br_labels_new(br_symtab *sym, const br_label *sorted, size_t n);

/* Returns a new reference-sharing copy of ls (borrowed): the strings are
 * retained, not copied. Free with br_labels_free. */
br_labels *br_labels_dup(br_symtab *sym, const br_labels *ls);

/* Releases the strings and frees the set (takes ownership). ls may be NULL. */
void br_labels_free(br_symtab *sym, br_labels *ls);

/* The precomputed hash. */
uint64_t br_labels_hash(const br_labels *ls);

/* The same hash computed from borrowed, sorted pairs without interning. */
uint64_t br_labels_hash_raw(const br_label *sorted, size_t n);

/* A hint before comparing ls: starts fetching its interned strings into the
 * cache. Changes nothing; ls must be readable by the caller. */
void br_labels_prefetch(const br_labels *ls);

/* True when ls holds exactly these (borrowed, sorted) pairs. */
bool br_labels_equal_raw(const br_labels *ls, const br_label *sorted, size_t n);

/* True when both sets hold the same pairs. */
bool br_labels_equal(const br_labels *a, const br_labels *b);

/* Returns the value for name (interned; valid while ls lives), or NULL. */
const char *br_labels_get(const br_labels *ls, const char *name);

size_t br_labels_count(const br_labels *ls);

/* Returns pair i (i < count); view valid while ls lives. */
const br_label *br_labels_at(const br_labels *ls, size_t i);

/* Returns all pairs as an array of br_labels_count entries; view valid while
 * ls lives. */
const br_label *br_labels_pairs(const br_labels *ls);

/*
 * Prometheus' ordering: pairs compared in turn, name first then value
 * (bytewise); when one set is a prefix of the other the shorter comes
 * first. Returns <0, 0 or >0.
 */
int br_labels_cmp(const br_labels *a, const br_labels *b);

/*
 * Appends `{__name__="x", job="y"}` to out (borrowed): every pair, in order,
 * separated by ", ", values double-quoted with backslash, double quote and
 * line feed escaped as \\ \" \n (the text exposition format's escapes; other
 * bytes pass through). An empty set gives `{}`. Returns 0, or BR_ELIMIT when
 * out's cap is reached (out then holds a prefix).
 */
int br_labels_format(const br_labels *ls, br_buf *out);

/* Same output from borrowed pairs. */
int br_labels_format_raw(const br_label *pairs, size_t n, br_buf *out);

#endif
