/*
 * value.h — the evaluator's internal values: label-set helpers, per-step
 * vector elements, and float native histograms with the arithmetic PromQL
 * needs (Prometheus' promql/value.go and model/histogram).
 *
 * Where it sits: eval.c reads series through a br_queryable and turns them
 * into these values; functions.c, aggregate.c and binop.c compute with them;
 * eval.c converts what is left into the public br_promql_result.
 *
 * Label sets are plain sorted arrays of br_label (name order, bytewise) whose
 * strings live in the evaluation's arena or in the backend's result; they are
 * never modified in place: every change builds a new array in the arena.
 *
 * Histograms (br_fhist) are kept "dense": the positive buckets are one array
 * whose element i is the bucket with index pos_off + i, likewise negative;
 * gaps are explicit zeros. That makes schema reduction, addition and Kahan
 * compensation simple loops; br_fhist_to_wire turns a histogram back into
 * spans (dropping empty buckets, like Prometheus' Compact(0)). Custom-bucket
 * histograms (schema -53, NHCB) use only the positive array, indexed from 0,
 * with custom[i] the upper bound of bucket i and bucket n_custom the +Inf one.
 *
 * All memory comes from the arena passed in; functions returning a pointer
 * return NULL only when the arena's cap is reached (the caller turns that
 * into BR_ELIMIT). Not thread-safe: one evaluation per arena.
 */
#ifndef BR_PROMQL_VALUE_H
#define BR_PROMQL_VALUE_H

#include "engine/core/arena.h"
#include "engine/core/buf.h"
#include "storage/sample.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Kahan-Neumaier summation (Prometheus util/kahansum) ----------------- */

/* Adds inc to the running (*sum, *c). */
void br_kahan_inc(double inc, double *sum, double *c);

/* Go's math.Max / math.Min (NaN propagates, +Inf/-Inf dominate). */
double br_go_max(double a, double b);
double br_go_min(double a, double b);

/* ---- Label sets ----------------------------------------------------------- */

#define BR_LABEL_NAME "__name__"

/* A label set: pairs sorted by name. Views; the owner is whoever built it. */
typedef struct br_lset {
    const br_label *v;
    size_t n;
} br_lset;

/* The value of name, or NULL when absent. */
const char *br_lset_get(br_lset ls, const char *name);
/* Prometheus' ordering (labels.Compare): <0, 0 or >0. */
int br_lset_cmp(br_lset a, br_lset b);
bool br_lset_equal(br_lset a, br_lset b);
/* Hash of all pairs. */
uint64_t br_lset_hash(br_lset ls);
/*
 * Hash of a subset: with keep, only the pairs whose names are in names
 * (borrowed, sorted, nn entries); without keep, all pairs except those.
 */
uint64_t br_lset_hash_sel(br_lset ls, const char *const *names, size_t nn, bool keep);
/* True when names (sorted, nn) contains name. */
bool br_names_contain(const char *const *names, size_t nn, const char *name);

/*
 * New label sets in the arena (0 or BR_ELIMIT when the arena is full). The
 * input is borrowed; unchanged strings are shared, not copied.
 *   keep: only the names in names (sorted);  del: all but those;
 *   set:  name = value ("" deletes), value copied into the arena.
 */
int br_lset_keep(br_arena *a, br_lset in, const char *const *names, size_t nn, br_lset *out);
int br_lset_del(br_arena *a, br_lset in, const char *const *names, size_t nn, br_lset *out);
int br_lset_set(br_arena *a, br_lset in, const char *name, const char *value, br_lset *out);
/* Drops __name__ (and, when v3, __type__ and __unit__: Prometheus 3's
 * metadata labels). */
int br_lset_drop_name(br_arena *a, br_lset in, bool v3, br_lset *out);

/* Appends Prometheus' Labels.String() form: {__name__="x", a="b"}. */
int br_lset_format(br_lset ls, br_buf *out);

/* Sorts a name list in place and removes duplicates; returns the new count. */
size_t br_names_sort(const char **names, size_t n);

/* ---- Float formatting as Go's strconv.FormatFloat(v, 'f', -1, 64) --------- */

/* Shortest round-trip decimal without exponent ("0.0000001", "1e+21" never);
 * "NaN", "+Inf", "-Inf". out must hold 400 bytes. */
const char *br_format_float_f(double v, char *out, size_t size);
/* Shortest round-trip in Go's %g / 'g' -1 style ("1e-07", "100"). */
const char *br_format_float_g(double v, char *out, size_t size);

/* ---- Float native histograms -------------------------------------------- */

#define BR_SCHEMA_CUSTOM (-53)

typedef struct br_fhist {
    int32_t schema;
    uint8_t hint;           /* BR_HIST_RESET_* */
    double zero_threshold;
    double zero_count;
    double count;
    double sum;
    int32_t pos_off;        /* index of pos[0] */
    uint32_t n_pos;
    double *pos;
    int32_t neg_off;        /* index of neg[0] */
    uint32_t n_neg;
    double *neg;
    uint32_t n_custom;
    const double *custom;   /* schema -53: upper bounds (shared, never modified) */
} br_fhist;

/* Flags reported by br_fhist_add. */
enum {
    BR_FH_RESET_COLLISION = 1, /* one side said "reset", the other "not reset" */
    BR_FH_NHCB_RECONCILED = 2, /* custom bounds differed; intersected */
};

/* Returned by br_fhist_add when one histogram uses custom buckets and the
 * other exponential ones (Prometheus' ErrHistogramsIncompatibleSchema). */
#define BR_FH_EINCOMPAT 1

static inline bool br_fhist_custom(const br_fhist *h)
{
    return h->schema == BR_SCHEMA_CUSTOM;
}

/* Converts a stored/wire histogram (borrowed) into a new br_fhist. */
br_fhist *br_fhist_from_wire(br_arena *a, const br_histogram *h);
/* Converts h into a new wire histogram, empty buckets dropped. */
br_histogram *br_fhist_to_wire(br_arena *a, const br_fhist *h);
br_fhist *br_fhist_copy(br_arena *a, const br_fhist *h);
/* Scales counts and sum; a negative factor makes the result a gauge. */
void br_fhist_mul(br_fhist *h, double f);
/* Divides; by zero leaves only count/sum/zero_count (as Prometheus). */
void br_fhist_div(br_fhist *h, double f);
/*
 * h += o (or h -= o when sub), reconciling schema (the lower wins), zero
 * threshold (the larger wins) and custom bounds (intersection). When c is
 * not NULL it is h's Kahan compensation term (same layout, kept in step).
 * Returns 0, BR_FH_EINCOMPAT (h unchanged), or -1 when the arena is full.
 * *flags (may be NULL) gets BR_FH_* bits.
 */
int br_fhist_add(br_arena *a, br_fhist *h, const br_fhist *o, bool sub, br_fhist *c,
                 unsigned *flags);
/* A compensation histogram for h: same layout, all zero. */
br_fhist *br_fhist_new_comp(br_arena *a, const br_fhist *h);
/* Copy of h reduced to a lower (or equal) exponential schema. */
br_fhist *br_fhist_to_schema(br_arena *a, const br_fhist *h, int32_t schema);
/* Bucket-by-bucket equality after dropping empty buckets. */
bool br_fhist_equals(const br_fhist *a, const br_fhist *b);
/* Prometheus' DetectReset: cur lost buckets or any count went down. */
bool br_fhist_detect_reset(const br_fhist *cur, const br_fhist *prev);
/* True when any count, the sum or a bucket is infinite. */
bool br_fhist_has_overflow(const br_fhist *h);
/* Removes leading and trailing empty buckets. */
void br_fhist_trim(br_fhist *h);
/* Total number of buckets (for sample accounting). */
size_t br_fhist_size(const br_fhist *h);
/* Prometheus 3's `</` (upper, keep observations below rhs) and `>/`
 * (lower, keep those above): trims buckets in place, interpolating inside
 * the bucket that holds rhs, and re-estimates count and sum. */
void br_fhist_trim_buckets(br_fhist *h, double rhs, bool upper);

/* Prometheus' String() form, for count_values: {count:3, sum:5, [1,2):1}. */
int br_fhist_format(const br_fhist *h, br_buf *out);

/* Upper bound of bucket idx in an exponential schema. */
double br_fhist_bound(int32_t idx, int32_t schema);

/* One bucket as the bucket iterators see it. */
typedef struct br_hbucket {
    double lower;
    double upper;
    bool lower_incl;
    bool upper_incl;
    double count;
    int32_t index;
} br_hbucket;

/*
 * Iterates over all buckets (negative, zero, positive) in ascending order,
 * or descending when reverse, skipping none (zero counts included) except
 * an empty zero bucket. Bounds overlapping the zero bucket are clipped to
 * the zero threshold, as Prometheus' AllBucketIterator does.
 */
typedef struct br_hbucket_iter {
    const br_fhist *h;
    bool reverse;
    int state; /* 0: first side, 1: zero bucket, 2: second side, 3: done */
    int64_t i;
} br_hbucket_iter;

void br_hbucket_iter_init(br_hbucket_iter *it, const br_fhist *h, bool reverse);
bool br_hbucket_iter_next(br_hbucket_iter *it, br_hbucket *b);

/* ---- Per-step vector elements ------------------------------------------- */

/* One element of an instant vector at one evaluation step. */
typedef struct br_vsample {
    br_lset ls;
    int64_t t;          /* the step time (or the sample's, for timestamp()) */
    double f;
    const br_fhist *h;  /* NULL for a float */
    bool drop_name;     /* delayed name removal: drop __name__ at the end */
} br_vsample;

typedef struct br_vvec {
    br_vsample *v;
    size_t n;
    size_t cap;
} br_vvec;

/* Appends s; returns 0 or BR_ELIMIT. */
int br_vvec_push(br_arena *a, br_vvec *vec, const br_vsample *s);

/* ---- A small hash map from 64-bit keys to indexes ------------------------- */

typedef struct br_imap {
    uint64_t *keys;
    uint32_t *vals; /* value + 1; 0 = empty slot */
    size_t cap;     /* power of two */
    size_t n;
} br_imap;

/* Prepares m for about hint entries; 0 or BR_ELIMIT. */
int br_imap_init(br_arena *a, br_imap *m, size_t hint);
/* Looks key up: true and *val when present. */
bool br_imap_get(const br_imap *m, uint64_t key, uint32_t *val);
/* Inserts or replaces; 0 or BR_ELIMIT. */
int br_imap_put(br_arena *a, br_imap *m, uint64_t key, uint32_t val);
/* Forgets every entry, keeping the memory. */
void br_imap_clear(br_imap *m);

#endif
