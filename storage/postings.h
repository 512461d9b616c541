/*
 * postings.h — the inverted index from label pairs to series refs
 * (Prometheus' index/postings.go and MemPostings).
 *
 * Where it sits: the head adds a series here when it creates it and removes
 * it when retention drops it; PromQL selectors and the /api/v1/series,
 * /labels and /label/<name>/values endpoints select and list through it.
 * The index stores refs and borrows label strings: it keeps the interned
 * pointers of the br_labels it is given and takes no symbol-table
 * references, so a series must be removed from the index BEFORE its
 * br_labels is freed. Strings returned by the listing calls are those
 * interned pointers: valid while some series holding them is still in the
 * index (copy them, or keep the index from changing, to use them longer).
 * All label sets given to one index must come from one br_symtab (equal
 * strings are then one pointer, which outlives any single series).
 *
 * Invariants: every postings list (one per label name and value, plus the
 * list of all series) is sorted ascending without duplicates. Refs come from
 * an atomic counter, so additions are mostly in order; an out-of-order ref
 * is inserted in place (binary search + move). Empty lists and names are
 * dropped at once.
 *
 * Threads: every br_index_* function may be called from any thread. One
 * writer-preferring rwlock: selections and listings share it, additions and
 * removals take it exclusively. The br_postings_* and br_refs_* helpers
 * touch only their arguments.
 */
#ifndef BR_STORAGE_POSTINGS_H
#define BR_STORAGE_POSTINGS_H

#include "engine/core/err.h"
#include "storage/labels.h"
#include "storage/matcher.h"

#include <stddef.h>
#include <stdint.h>

typedef uint64_t br_series_ref;

/* A caller-owned growable vector of refs. Zero-initialise (or
 * br_refs_init); free with br_refs_free. */
typedef struct br_refs {
    br_series_ref *v;
    size_t n;
    size_t cap;
} br_refs;

void br_refs_init(br_refs *r);
/* Frees r's array (r itself is the caller's) and leaves it empty. */
void br_refs_free(br_refs *r);
void br_refs_push(br_refs *r, br_series_ref ref);
/* Makes room for at least cap entries in total. */
void br_refs_reserve(br_refs *r, size_t cap);

/* A caller-owned growable array of borrowed strings (see the header comment
 * for how long the strings live). Free the array with br_strs_free. */
typedef struct br_strs {
    const char **v;
    size_t n;
    size_t cap;
} br_strs;

void br_strs_free(br_strs *s);

/* A borrowed view of one sorted, duplicate-free postings list. */
typedef struct br_postings_list {
    const br_series_ref *v;
    size_t n;
} br_postings_list;

/*
 * Set operations on sorted, duplicate-free lists (borrowed). Each replaces
 * out's contents with a sorted, duplicate-free result; out must not share
 * memory with an input. Skewed sizes use galloping search, so intersecting
 * 10 refs with 1M costs about 10 * log(1M).
 */
void br_postings_intersect(const br_series_ref *a, size_t na, const br_series_ref *b, size_t nb,
                           br_refs *out);
/* a minus b. */
void br_postings_without(const br_series_ref *a, size_t na, const br_series_ref *b, size_t nb,
                         br_refs *out);
/* The union of k lists (a k-way heap merge). */
void br_postings_union(const br_postings_list *lists, size_t k, br_refs *out);

typedef struct br_index br_index;

typedef struct br_index_stats {
    size_t series;   /* refs in the index */
    size_t names;    /* distinct label names */
    size_t pairs;    /* distinct (name, value) pairs */
    size_t postings; /* entries over all (name, value) lists */
    size_t bytes;    /* memory held by the index itself (not the strings) */
} br_index_stats;

/* Returns a new, empty index (free with br_index_free). Never NULL. */
br_index *br_index_new(void);
/* Frees the index (takes ownership); the label sets it borrowed are not
 * touched. idx may be NULL. */
void br_index_free(br_index *idx);

/* Indexes series ref under every pair of ls (borrowed; its strings are kept,
 * see above). Adding a ref twice is harmless. */
void br_index_add(br_index *idx, br_series_ref ref, const br_labels *ls);

/* Removes series ref, which was added with labels ls (borrowed). Unknown
 * refs are ignored. For many series at once use br_index_remove_batch. */
void br_index_remove(br_index *idx, br_series_ref ref, const br_labels *ls);

/* Removes n series (refs[i] was added with ls[i]; both arrays borrowed) in
 * one pass per affected list: O(list length + n) instead of one move per
 * series per list. */
void br_index_remove_batch(br_index *idx, const br_series_ref *refs, const br_labels *const *ls,
                           size_t n);

/*
 * Replaces out's contents (caller-owned; reused, grown as needed) with the
 * sorted refs of the series matching all n matchers (borrowed), with Prometheus' semantics: a
 * matcher that accepts "" also selects series without that label. At least one matcher must reject
 * "" (as in {job=~".*"} alone being refused): otherwise returns BR_EINVAL
 * with the message "vector selector must contain at least one non-empty
 * matcher". Returns 0 otherwise.
 */
int br_index_select(br_index *idx, const br_matcher *ms, size_t n, br_refs *out, br_err *err);

/*
 * Replaces out's contents with the sorted, distinct label names; with
 * restrict_to (borrowed, sorted and duplicate-free, e.g. from
 * br_index_select), only names some of those series carry. The strings are
 * borrowed (see above).
 */
void br_index_label_names(br_index *idx, const br_refs *restrict_to, br_strs *out);

/* Same for the values of label name (borrowed); an unknown name gives an
 * empty list. */
void br_index_label_values(br_index *idx, const char *name, const br_refs *restrict_to,
                           br_strs *out);

/* Fills *out (caller-owned) with a consistent snapshot. */
void br_index_stats_get(br_index *idx, br_index_stats *out);

#endif
