/*
 * chunk.h — compressed sample chunks: br_chunk for float samples and
 * br_hchunk for native histogram samples.
 *
 * Data flow: the head (storage/series.c, storage/head.c) keeps each series as
 * a list of chunks: one open chunk it appends to and frozen older ones. Before
 * each append it calls br_*_full() and, when that says yes, freezes the chunk
 * and starts a new one. Readers (PromQL, snapshots) walk chunks with the
 * caller-allocated iterators below. The encoding is described at the top of
 * chunk.c.
 *
 * Ownership: br_chunk_new/br_hchunk_new return a new chunk, freed with
 * br_chunk_free/br_hchunk_free. Chunks copy what they are given; append
 * borrows its arguments for the call only.
 *
 * Threads and locking: a chunk has no lock of its own. The open chunk is
 * appended to and read under its series' lock, and an iterator over an open
 * chunk is valid only while that lock is held (an append or the freeze may
 * move the buffer). A frozen chunk is immutable: any number of threads may iterate it
 * at once without a lock; iterators never modify the chunk.
 *
 * Snapshots: br_chunk_serialize/br_hchunk_serialize write one chunk, open
 * or frozen, as a self-describing record (layout at the top of chunk.c);
 * the matching deserialize functions validate a record completely and
 * rebuild the chunk, so that an open chunk keeps appending exactly as if it
 * had never been written out. Serializing an open chunk needs its series'
 * lock like any read of it.
 *
 * Ordering: timestamps must strictly increase within a chunk. The head checks
 * this before appending; append still refuses an out-of-order sample with
 * BR_EOUTOFORDER, and a frozen chunk with BR_EINVAL.
 */
#ifndef BR_STORAGE_CHUNK_H
#define BR_STORAGE_CHUNK_H

#include "engine/core/buf.h"
#include "engine/core/err.h"
#include "storage/bitstream.h"
#include "storage/sample.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* br_chunk_full() is true from this many samples on... */
#define BR_CHUNK_MAX_SAMPLES 240
/* ...or once the encoded stream reaches this many bytes (gauges with
 * arbitrary doubles reach it at roughly 120-150 samples). */
#define BR_CHUNK_MAX_BYTES 1024
/* Native histogram chunks: the same two rules with their own limits. */
#define BR_HCHUNK_MAX_SAMPLES 120
#define BR_HCHUNK_MAX_BYTES   4096
/* The head merges runs of consecutive frozen chunks into one chunk of at
 * most this many samples and stream bytes (br_chunk_merge), which spreads
 * the per-chunk struct and summary over 8 times more samples at 15 s.
 * (3840 was measured: on the 24 h loadgen set the head then kept more
 * samples in unmerged chunks and retained 1.125 B/sample against 0.975.) */
#define BR_CHUNK_MERGE_SAMPLES 1920
#define BR_CHUNK_MERGE_BYTES   8192
/* Append refuses (BR_ELIMIT) past this many samples, whatever the caller. */
#define BR_CHUNK_HARD_LIMIT 65535
/* Limits on one histogram's layout, checked on append (BR_ELIMIT). */
#define BR_HCHUNK_MAX_SPANS   1024  /* per side */
#define BR_HCHUNK_MAX_BUCKETS 16384 /* per side */
#define BR_HCHUNK_MAX_CUSTOM  16384 /* custom bucket bounds (schema -53) */

/* ------------------------------------------------------------ float chunks */

typedef struct br_chunk br_chunk;

/*
 * Per-chunk summary, updated in O(1) on every append. Exactness contract:
 * every field equals what one sequential pass over the chunk's samples in
 * timestamp order computes with the statements below, bit for bit.
 *
 *   first sample:         first = last = v; increase = reset_sum = 0.0
 *   then for each a -> b: if (b < a) { resets++; increase += b;
 *                                      reset_sum += a; }
 *                         else       { increase += b - a; }
 *   min/max:              over non-NaN values, `v < min` / `v > max`
 *                         (the first non-NaN value starts both, so between
 *                         -0.0 and 0.0 the earlier one stays).
 *
 * Once a NaN enters increase or reset_sum they stay NaN, and the NaN's
 * payload is unspecified (the compiler may swap the operands of +); has_nan
 * tells readers to scan such chunks instead.
 *
 * Prometheus' rate/increase adds `prev` at each reset to (last - first), in
 * order. To reproduce that exactly across chunks: with no NaN in the range,
 * start from last - first of the range, then for chunks in order add
 * reset_sum when resets == 1 (it is then exactly that one term), add the
 * `a` of a reset between two chunks (previous last > next first), and scan
 * any chunk with resets >= 2 sample by sample. For integer-valued counters
 * below 2^53 every form is exact and they all agree.
 */
typedef struct br_chunk_summary {
    int64_t min_t;
    int64_t max_t;
    uint32_t count;
    uint32_t resets;  /* pairs a -> b with b < a */
    double first;     /* value of the first sample */
    double last;      /* value of the last sample */
    double min;       /* smallest non-NaN value; NaN if there is none */
    double max;       /* largest non-NaN value; NaN if there is none */
    double increase;  /* reset-corrected increase, pairwise as above */
    double reset_sum; /* sum of `a` over resets, in order, from 0.0 */
    bool has_nan;     /* any NaN, the stale marker included: scan instead */
    bool has_stale;   /* any Prometheus stale marker */
} br_chunk_summary;

/* Returns a new empty chunk (free with br_chunk_free). */
br_chunk *br_chunk_new(void);
/* Frees c and its data; NULL is allowed. */
void br_chunk_free(br_chunk *c);

/* Appends (t, v). Errors: BR_EOUTOFORDER when t <= the last timestamp,
 * BR_EINVAL on a frozen chunk, BR_ELIMIT at BR_CHUNK_HARD_LIMIT samples. */
int br_chunk_append(br_chunk *c, int64_t t, double v, br_err *err);
/* True when the head should freeze c and start a new chunk. */
bool br_chunk_full(const br_chunk *c);
/* Closes c: drops the appender state and trims the data to its exact size.
 * The samples and the summary stay. Idempotent. */
void br_chunk_freeze(br_chunk *c);
bool br_chunk_frozen(const br_chunk *c);
/* A hint before appending to c: starts fetching the appender state and the
 * stream's write position into the cache (the head issues it for a whole
 * batch of series before appending, so the misses overlap). Changes
 * nothing; c must be readable by the caller. */
void br_chunk_prefetch_append(const br_chunk *c);
/* Re-encodes the samples of in[0..n) (borrowed; frozen, non-empty, each
 * starting after the previous one ends) into one new frozen chunk in *out
 * (free with br_chunk_free), with its summary recomputed sample by sample.
 * When every gap between consecutive samples is the same, the new stream
 * carries no timestamp fields at all (see "regular streams" in chunk.c).
 * When any value is not an integer, the run is also encoded with float
 * fields as bit-pattern deltas ("float-delta streams") and the shorter
 * stream is kept.
 * Errors: BR_EINVAL, BR_EOUTOFORDER, BR_ELIMIT (more than
 * BR_CHUNK_HARD_LIMIT samples), BR_ECORRUPT (an input does not decode);
 * *out is then NULL. */
int br_chunk_merge(br_chunk *const *in, size_t n, br_chunk **out, br_err *err);
/* The summary; view valid until the next append or br_chunk_free. */
const br_chunk_summary *br_chunk_get_summary(const br_chunk *c);
/* Heap bytes held by c (struct, data, appender state), for accounting. */
size_t br_chunk_bytes(const br_chunk *c);
/* Bytes of the encoded bit stream alone (samples after the first; the
 * first sample's 16 bytes live in the summary). */
size_t br_chunk_data_len(const br_chunk *c);

/* Decoder state, shared by the appender and the iterators. Private: its
 * fields are here only so iterators can live on the caller's stack. */
typedef struct br_chunk_rice {
    uint64_t a; /* running sum of recent coded values */
    uint32_t n; /* how many are summed */
} br_chunk_rice;

typedef struct br_chunk_tpred {
    uint64_t prev;     /* last timestamp, as uint64 */
    uint64_t grid;     /* the ideal time of the last sample */
    uint64_t interval; /* the nominal interval, chosen at sample 2 */
    br_chunk_rice rice;
} br_chunk_tpred;

typedef struct br_chunk_vpred {
    uint64_t prev_bits; /* last value's bits */
    int64_t prev_i;     /* last value as an integer, when prev_int */
    int64_t trend;      /* 8 x the smoothed integer delta */
    br_chunk_rice rice;
    uint8_t lead;     /* XOR window: leading zero bits */
    uint8_t sig;      /* XOR window: meaningful bits; 0 = no window */
    bool prev_int;    /* last value is an integer with |v| <= 2^53 */
    bool trend_valid; /* trend holds at least one delta */
    bool escaped;     /* the last integer residual was escaped */
    bool last_zero;   /* the last integer delta was 0 */
    /* Float-delta mode (merged chunks with the fdelta flag): float fields
     * code the difference of the IEEE bit patterns instead of their XOR. */
    bool fd;           /* this stream uses float-delta fields */
    bool ftrend_valid; /* ftrend holds at least one bit-pattern delta */
    bool fescaped;     /* the last float residual was escaped */
    int64_t ftrend;    /* 8 x the smoothed bit-pattern delta */
    br_chunk_rice frice;
} br_chunk_vpred;

/*
 * Iterator over a float chunk. Caller-allocated; holds no heap memory, so it
 * needs no free. Sees the samples present at init time.
 *
 *   br_chunk_iter it;
 *   br_chunk_iter_init(&it, c);
 *   while (br_chunk_iter_next(&it)) use(it.t, it.v);
 */
typedef struct br_chunk_iter {
    int64_t t; /* current sample, valid after next/seek returned true */
    double v;
    /* private */
    const br_chunk *c;
    br_bitr r;
    uint32_t n; /* samples visible to this iterator */
    uint32_t i; /* samples decoded so far */
    int err;    /* 0 or BR_ECORRUPT */
    bool run;   /* the last sample was perfectly predicted */
    br_chunk_tpred tp;
    br_chunk_vpred vp;
} br_chunk_iter;

/* Positions it before the first sample of c (borrowed for its lifetime). */
void br_chunk_iter_init(br_chunk_iter *it, const br_chunk *c);
/* Moves to the next sample; false at the end or on corrupt data. */
bool br_chunk_iter_next(br_chunk_iter *it);
/* Moves to the first sample with timestamp >= t (rewinding if needed);
 * false if there is none. The next br_chunk_iter_next continues after it.
 * Forward seeks decode from the current position; others from the start. */
bool br_chunk_iter_seek(br_chunk_iter *it, int64_t t);
/* 0, or BR_ECORRUPT when decoding stopped on data the encoder never writes. */
int br_chunk_iter_err(const br_chunk_iter *it);

/* ------------------------------------------------------- snapshot records */

/* First byte of a record: which deserializer reads it. */
#define BR_CHUNK_SER_FLOAT 0x46 /* 'F' */
#define BR_CHUNK_SER_HIST  0x48 /* 'H' */

/* Appends a record for c (borrowed; open or frozen) to out. Returns 0, or
 * BR_ELIMIT when out's cap would be exceeded (out is then unchanged). */
int br_chunk_serialize(const br_chunk *c, br_buf *out, br_err *err);
/* Reads one record from data[0..len) (borrowed for the call): on success
 * stores the record's size in *consumed and a new chunk in *out (free with
 * br_chunk_free), open or frozen as it was written. Returns BR_ECORRUPT,
 * with *out NULL and *consumed 0, for a record that is truncated, of
 * another kind or version, or whose stream and summary disagree. */
int br_chunk_deserialize(const void *data, size_t len, size_t *consumed, br_chunk **out,
                         br_err *err);

/* -------------------------------------------------------- histogram chunks */

typedef struct br_hchunk br_hchunk;

typedef struct br_hchunk_summary {
    int64_t min_t;
    int64_t max_t;
    uint32_t count;
    uint32_t layouts; /* layouts written (1 + changes) */
    bool has_stale;   /* any sample whose sum is the stale marker */
} br_hchunk_summary;

/* Returns a new empty histogram chunk (free with br_hchunk_free). */
br_hchunk *br_hchunk_new(void);
/* Frees c; NULL is allowed. */
void br_hchunk_free(br_hchunk *c);
/* Appends (t, h); h is borrowed for the call. Errors: BR_EOUTOFORDER,
 * BR_EINVAL (frozen chunk; span lengths that do not add up to the bucket
 * counts; NULL arrays with non-zero lengths), BR_ELIMIT (layout limits
 * above, or BR_CHUNK_HARD_LIMIT samples). */
int br_hchunk_append(br_hchunk *c, int64_t t, const br_histogram *h, br_err *err);
bool br_hchunk_full(const br_hchunk *c);
void br_hchunk_freeze(br_hchunk *c);
bool br_hchunk_frozen(const br_hchunk *c);
/* View valid until the next append or br_hchunk_free. */
const br_hchunk_summary *br_hchunk_get_summary(const br_hchunk *c);
size_t br_hchunk_bytes(const br_hchunk *c);
size_t br_hchunk_data_len(const br_hchunk *c);

/* Decoding state for one histogram stream (private; see br_chunk_vpred).
 * Owns its arrays; the appender and each iterator hold one. */
typedef struct br_hchunk_state {
    br_chunk_tpred tp;
    br_chunk_vpred count, zero, sum;
    int32_t schema;
    bool is_float;
    uint8_t reset_hint;
    double zero_threshold;
    uint32_t n_pos_spans, n_neg_spans, n_custom, n_pos, n_neg;
    br_span *pos_spans, *neg_spans; /* exactly n_*_spans entries */
    double *custom;                 /* exactly n_custom entries */
    br_chunk_vpred *pos, *neg;      /* one predictor per bucket */
    double *pos_out, *neg_out;      /* iterators only: decoded counts */
    uint32_t cap_pos_out, cap_neg_out;
    bool run; /* the last sample was perfectly predicted */
} br_hchunk_state;

/*
 * Iterator over a histogram chunk. Caller-allocated, but it owns decoding
 * buffers: always finish with br_hchunk_iter_free. `h` is a view into those
 * buffers, valid until the next next/seek/free call.
 */
typedef struct br_hchunk_iter {
    int64_t t;
    br_histogram h;
    /* private */
    const br_hchunk *c;
    br_bitr r;
    uint32_t n;
    uint32_t i;
    int err;
    br_hchunk_state st;
} br_hchunk_iter;

/* Positions it before the first sample of c (borrowed for its lifetime). */
void br_hchunk_iter_init(br_hchunk_iter *it, const br_hchunk *c);
bool br_hchunk_iter_next(br_hchunk_iter *it);
/* As br_chunk_iter_seek. */
bool br_hchunk_iter_seek(br_hchunk_iter *it, int64_t t);
int br_hchunk_iter_err(const br_hchunk_iter *it);
/* Frees the iterator's buffers; it may be re-initialised afterwards. */
void br_hchunk_iter_free(br_hchunk_iter *it);

/* As br_chunk_serialize / br_chunk_deserialize, for histogram chunks; the
 * result of deserialize is freed with br_hchunk_free. */
int br_hchunk_serialize(const br_hchunk *c, br_buf *out, br_err *err);
int br_hchunk_deserialize(const void *data, size_t len, size_t *consumed, br_hchunk **out,
                          br_err *err);

#endif
