/*
 * head.h — the in-memory time-series store: every series with its chunks,
 * made durable by the WAL. This is the narrow interface the rest of
 * burnrate uses to write (br_head_commit) and read (select, iterate, list).
 *
 * Durability order is the API: br_head_commit() validates the samples,
 * appends them to the WAL, applies them to the chunks, and returns only
 * after the WAL record is written (and fdatasync'ed under the `always`
 * policy). The caller may acknowledge the samples once it returns 0; a
 * kill -9 after that point loses none of them (the WAL is replayed at open).
 *
 * Threads: br_head_commit may be called from many threads at once; series
 * are sharded by label hash, each shard with its own mutex, so appenders
 * rarely contend (no global lock on the append path besides the WAL's own
 * short copy). Readers bracket their work with br_head_read_begin/end:
 * inside that bracket series, labels and frozen chunks stay valid even
 * while retention runs (retention frees memory only when no reader is
 * inside). Iterators snapshot a series under its shard lock and then read
 * without locks.
 */
#ifndef BR_STORAGE_HEAD_H
#define BR_STORAGE_HEAD_H

#include "engine/core/err.h"
#include "engine/core/arena.h"
#include "storage/chunk.h"
#include "storage/labels.h"
#include "storage/matcher.h"
#include "storage/postings.h"
#include "storage/range_stats.h"
#include "storage/sample.h"
#include "storage/wal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct br_head br_head;

typedef struct br_head_options {
    const char *dir;               /* data dir (WAL in dir/wal); NULL = memory only */
    br_wal_fsync_policy fsync;
    uint32_t fsync_interval_ms;    /* 0 = WAL default */
    uint32_t wal_segment_bytes;    /* 0 = WAL default */
    int64_t retention_ms;          /* 0 = keep everything */
    int64_t max_series;            /* 0 = unlimited; new series beyond it are refused */
} br_head_options;

typedef struct br_head_stats {
    uint64_t series;
    uint64_t chunks;           /* float and histogram chunks */
    uint64_t chunk_bytes;      /* bytes held by chunks */
    uint64_t samples;          /* samples held (float + histogram) */
    uint64_t series_bytes;     /* per-series bookkeeping, not counting chunks or strings */
    uint64_t samples_appended; /* since start, replay included */
    uint64_t series_created;
    uint64_t series_removed;
    int64_t min_t;             /* oldest sample held; INT64_MAX when empty */
    int64_t max_t;             /* newest sample held; INT64_MIN when empty */
    int64_t replay_ms;         /* how long start-up replay took */
    uint64_t replayed_records;
    uint64_t wal_torn_tails;
    uint64_t wal_corrupt_records;
    int64_t snapshot_ms;             /* duration of the last snapshot written */
    int64_t snapshot_load_ms;        /* start-up: reading the snapshot */
    uint64_t snapshot_series_loaded; /* start-up: series read from the snapshot */
    uint64_t snapshots_written;
    uint64_t snapshots_failed;
} br_head_stats;

/* Opens the head: replays the WAL in opts->dir, then opens it for appends.
 * On success *out is a new head (br_head_close frees it). */
int br_head_open(const br_head_options *opts, br_head **out, br_err *err);
/* Flushes the WAL and frees everything. h may be NULL. */
void br_head_close(br_head *h);

/* ---- Writing ---------------------------------------------------------- */

/* One series to append: labels sorted by name and already validated
 * (borrowed), samples and histograms each in timestamp order (borrowed). */
typedef struct br_series_input {
    const br_label *labels;
    size_t n_labels;
    const br_sample *samples;
    size_t n_samples;
    const br_histogram_sample *histograms;
    size_t n_histograms;
} br_series_input;

/* What a commit did. Rejections are per sample; the rest is stored. */
typedef struct br_commit_result {
    uint64_t samples_written;
    uint64_t histograms_written;
    uint64_t duplicates_ignored;  /* same timestamp and same value: accepted, not stored again */
    uint64_t out_of_order;        /* older than the series' newest sample */
    uint64_t duplicate_conflict;  /* same timestamp, different value */
    uint64_t too_old;             /* older than the retention window */
    uint64_t series_limit;        /* samples of new series refused by max_series */
    uint64_t invalid_histogram;   /* histograms the chunk encoder refused */
    uint64_t series_created;
    char first_rejection[256];    /* "" or the first rejection, naming the series */
} br_commit_result;

/* Total rejected samples in r. */
uint64_t br_commit_rejected(const br_commit_result *r);

/*
 * Appends n series. Returns 0 once everything accepted is durable per the
 * fsync policy (result says what was rejected and why), or BR_EIO when the
 * WAL cannot be written (nothing is acknowledged; a retry may succeed after
 * restart). A failed WAL makes every later commit fail the same way.
 */
int br_head_commit(br_head *h, const br_series_input *in, size_t n, br_commit_result *result,
                   br_err *err);

/* br_head_commit flags. */
enum {
    /* Samples the SLO evaluator derived itself (recorded series, replayed
     * history): durable like any other, but not reported by
     * br_head_take_oldest_append, since they are not SLI data arriving
     * late and must not make it recount. */
    BR_COMMIT_DERIVED = 1u << 0,
};
/* br_head_commit with flags (a BR_COMMIT_* combination). */
int br_head_commit_flags(br_head *h, const br_series_input *in, size_t n, unsigned flags,
                         br_commit_result *result, br_err *err);

/* The oldest sample timestamp committed since the previous call (any
 * thread), INT64_MAX when nothing was committed; resets it. One consumer
 * (the SLO evaluator) uses it to notice late data. */
int64_t br_head_take_oldest_append(br_head *h);

/* ---- Reading ---------------------------------------------------------- */

void br_head_read_begin(br_head *h);
void br_head_read_end(br_head *h);

/* Sorted refs of the series matching all matchers (Prometheus semantics,
 * see br_index_select). Call inside a read bracket. */
int br_head_select(br_head *h, const br_matcher *ms, size_t n, br_refs *out, br_err *err);

/* The labels of series ref, or NULL if it does not exist. Borrowed: valid
 * until br_head_read_end. */
const br_labels *br_head_series_labels(br_head *h, br_series_ref ref);

/* Oldest and newest sample timestamp of series ref; false if it has none. */
bool br_head_series_bounds(br_head *h, br_series_ref ref, int64_t *min_t, int64_t *max_t);

/* Label names and values, optionally restricted to refs (see postings.h). */
void br_head_label_names(br_head *h, const br_refs *restrict_to, br_strs *out);
void br_head_label_values(br_head *h, const char *name, const br_refs *restrict_to, br_strs *out);

/*
 * Iterator over one series' float samples with mint <= t <= maxt, in order.
 * Caller-allocated; always finish with br_series_iter_free. Valid only
 * inside the read bracket it was created in.
 */
typedef struct br_series_iter {
    int64_t t;
    double v;
    /* private */
    const br_chunk **chunks;  /* frozen chunks overlapping the range */
    size_t n_chunks;
    size_t next_chunk;
    br_sample *tail;      /* copied samples of the open chunk */
    size_t n_tail;
    size_t tail_pos;
    bool in_chunk;
    bool in_tail;
    int64_t mint;
    int64_t maxt;
    br_chunk_iter chunk_iter;
} br_series_iter;

void br_head_series_iter(br_head *h, br_series_ref ref, int64_t mint, int64_t maxt,
                         br_series_iter *it);
bool br_series_iter_next(br_series_iter *it);
void br_series_iter_free(br_series_iter *it);

/*
 * Exact per-interval aggregates of one series' float samples, for the SLO
 * evaluator. iv holds n intervals sorted by start, not overlapping. For
 * each, out[i] gets:
 *   increase  the sum of the increments between consecutive samples whose
 *             later sample lies in iv[i]: b - a, or b when b < a (a counter
 *             reset). The earlier sample may lie before the interval, so the
 *             increases of adjacent intervals add up to the increase of
 *             their union with nothing lost at the seams. Stale markers and
 *             other NaNs are skipped (the next sample pairs with the last
 *             number before them); a series' very first sample has no
 *             increment.
 *   count     samples in iv[i] (NaNs excluded);
 *   sum       their sum, only when want_sum (otherwise 0).
 * Frozen chunks that lie wholly inside one interval and hold no NaN are
 * read from their summaries, not decoded, so a long interval costs
 * O(chunks) and a short one O(samples in it). For integer-valued counters
 * below 2^53 the result is exact whatever path is taken.
 * *last_t gets the newest sample time <= the last interval's end (NaNs
 * excluded), or INT64_MIN. Returns false when the series does not exist.
 * Call inside a read bracket.
 */
bool br_head_series_window_aggs(br_head *h, br_series_ref ref, const br_interval *iv, size_t n,
                                bool want_sum, br_window_agg *out, int64_t *last_t);

/*
 * Range statistics (storage/range_stats.h) of series ref's float samples
 * in the window [mint, maxt], or (mint, maxt] when left_open (Prometheus
 * 3's range selectors; 2.x's are closed). Frozen chunks wholly inside the
 * window are read from their summaries; only the chunks at the window's
 * edges, and chunks holding NaNs or more than one counter reset, are
 * decoded, so a 30-day window costs O(chunks), not O(samples), and the
 * result is identical to a sample-by-sample pass. Returns false when the
 * series does not exist. Call inside a read bracket.
 */
bool br_head_series_range_stats(br_head *h, br_series_ref ref, int64_t mint, int64_t maxt,
                                bool left_open, br_range_stats *out);

/*
 * The same for n windows of one length: window k is
 * [ends[k] - range_ms, ends[k]] (left-open when left_open), out[k] its
 * statistics. ends need not be sorted. Takes the series' lock once for
 * all of them, so a range query's steps cost one look-up. Returns false
 * when the series does not exist (out untouched). Call inside a read
 * bracket.
 */
bool br_head_series_range_stats_at(br_head *h, br_series_ref ref, const int64_t *ends, size_t n,
                                   int64_t range_ms, bool left_open, br_range_stats *out);

/* Histogram samples of series ref in [mint, maxt] appended to out as
 * copies whose arrays live in arena. Returns the number appended. */
size_t br_head_series_histograms(br_head *h, br_series_ref ref, int64_t mint, int64_t maxt,
                                 br_arena *arena, br_histogram_sample **out);

/* ---- Maintenance ------------------------------------------------------ */

/* Drops chunks whose newest sample is older than now_ms - retention and
 * series left empty. Does at most max_series series per call (0 = all) and
 * returns how many it looked at, so callers can spread the work. */
size_t br_head_gc(br_head *h, int64_t now_ms, size_t max_series);

void br_head_stats_get(br_head *h, br_head_stats *out);

/*
 * Writes a snapshot of the whole head (every series with its chunks) to
 * the data dir, then deletes the WAL segments that the two newest
 * snapshots make unnecessary, so restart reads the snapshot and replays
 * only the WAL tail. Safe to call while commits and reads go on: each
 * shard is copied under its own lock, one at a time. A failed snapshot
 * leaves the WAL untouched. No-op (0) in memory-only mode.
 * The file format and the recovery rules are in snapshot.c.
 */
int br_head_snapshot(br_head *h, br_err *err);

/*
 * WAL bytes a restart after a crash would replay on top of the newest
 * snapshot: what this process appended since that snapshot's cut, plus
 * what it replayed at start-up when no snapshot was written since. 0 in
 * memory-only mode.
 */
uint64_t br_head_wal_since_snapshot(br_head *h);

/*
 * True when a snapshot should be written now because of WAL growth: the
 * WAL since the newest snapshot has passed min_bytes and the size of that
 * snapshot (so replay after a crash stays short while snapshots are never
 * rewritten more than about once per their own size of new WAL). False
 * when min_bytes is 0 or in memory-only mode.
 */
bool br_head_snapshot_due(br_head *h, uint64_t min_bytes);

#endif
