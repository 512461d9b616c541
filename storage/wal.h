/*
 * wal.h — the write-ahead log: durable, ordered, CRC-checked records in a
 * directory of numbered segment files.
 *
 * The head appends one record per remote-write commit and syncs it before
 * the HTTP thread answers 2xx; rules/ keeps alert and notifier state in WALs
 * of their own. At start-up the log is replayed from the segment a snapshot
 * names. The byte layout, recovery rules and locking are in wal.c's top
 * comment. The WAL does not interpret payloads (storage/wal_record.h does).
 *
 * Threads: br_wal_append, br_wal_sync, br_wal_cut, br_wal_truncate_before
 * and br_wal_stats may be called from any thread at the same time.
 * br_wal_open and br_wal_close are called once, by the owner, with no other
 * call in progress. br_wal_replay touches no open WAL and may run before
 * br_wal_open (read-only), or after it (open has then already repaired the
 * log) but before the first append, since it would see a record being
 * written as a torn tail; both orders deliver the same records.
 *
 * LSN: append returns the record's log sequence number, the position just
 * past the record: segment number in the upper 32 bits, byte offset of the
 * record's end within the segment in the lower 32. LSNs only grow, also
 * across rotations and restarts (open always starts a new segment), so
 * later records compare greater.
 */
#ifndef BR_STORAGE_WAL_H
#define BR_STORAGE_WAL_H

#include "engine/core/err.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BR_WAL_DEFAULT_SEGMENT_SIZE (64u * 1024 * 1024)
#define BR_WAL_MIN_SEGMENT_SIZE     (4u * 1024)
#define BR_WAL_MAX_SEGMENT_SIZE     (1024u * 1024 * 1024)
/* Largest payload of one record, whatever the segment size (a format limit,
 * so that a corrupt length field cannot make replay allocate more). */
#define BR_WAL_MAX_RECORD          (64u * 1024 * 1024)
#define BR_WAL_DEFAULT_INTERVAL_MS 1000u

#define BR_WAL_LSN_SEGMENT(lsn) ((uint32_t)((lsn) >> 32))
#define BR_WAL_LSN_OFFSET(lsn)  ((uint32_t)((lsn)&0xffffffffu))

typedef struct br_wal br_wal;

typedef enum br_wal_fsync_policy {
    BR_WAL_FSYNC_INTERVAL = 0, /* sync = write(2); a flush thread fdatasyncs every interval */
    BR_WAL_FSYNC_ALWAYS = 1,   /* sync = write(2) + fdatasync before returning */
    BR_WAL_FSYNC_NEVER = 2,    /* sync = write(2); fdatasync only at close */
} br_wal_fsync_policy;

/*
 * I/O hook for tests: replaces write(2) and fdatasync(2) on segment files.
 * Each function behaves like the system call (returns -1 and sets errno on
 * failure; write may be short). A NULL member means the real call.
 */
typedef struct br_wal_io {
    ssize_t (*write)(void *ctx, int fd, const void *buf, size_t len);
    int (*fdatasync)(void *ctx, int fd);
    void *ctx;
} br_wal_io;

typedef struct br_wal_options {
    uint32_t segment_size;      /* bytes; 0 = 64 MiB; 4 KiB .. 1 GiB */
    br_wal_fsync_policy fsync;  /* default (0) = interval */
    uint32_t fsync_interval_ms; /* 0 = 1000 */
    const br_wal_io *io;        /* NULL = system calls; borrowed, must outlive the WAL */
} br_wal_options;

typedef struct br_wal_stats {
    uint32_t first_segment;   /* oldest segment file (0 = none) */
    uint32_t last_segment;    /* segment appends go to / last one read */
    uint64_t segments;        /* segment files (open) / segments read (replay) */
    uint64_t bytes;           /* bytes in segment files, pending ones included (open) / read */
    uint64_t records;         /* records appended since open / records delivered */
    uint64_t writes;          /* write batches: one per group commit */
    uint64_t syncs;           /* fdatasync calls on segment files */
    uint64_t torn_tails;      /* incomplete records at the end of the last segment */
    uint64_t corrupt_records; /* bad records with data after them */
    uint64_t bytes_dropped;   /* bytes cut off or moved aside by repair / skipped by replay */
    uint64_t bytes_appended;  /* record bytes appended since open (never decreases) */
} br_wal_stats;

/* Parses "always", "interval" or "never". Returns 0 or BR_EINVAL. */
int br_wal_fsync_policy_parse(const char *s, br_wal_fsync_policy *out);

/*
 * Opens the WAL in dir (borrowed; created with parents if missing), locks
 * it against a second opener (BR_EBUSY), checks every segment and repairs
 * the log as wal.c describes (torn tail truncated, data after a corrupt
 * record moved aside; a warn line for each, counted in the stats), then
 * starts a new segment for appends. opts may be NULL (defaults); it is
 * copied. On success *out is a new WAL (free with br_wal_close). Returns 0,
 * BR_EINVAL (bad options), BR_EBUSY, BR_EUNSUPPORTED (a segment of a newer
 * format version) or BR_EIO (a system call failed; the message names it).
 */
int br_wal_open(const char *dir, const br_wal_options *opts, br_wal **out, br_err *err);

/*
 * Flushes and fdatasyncs what was appended (unless the WAL failed), stops
 * the flush thread, unlocks the directory and frees w. Returns 0 or BR_EIO
 * (the flush failed, or the WAL had failed before); w is freed either way.
 * w may be NULL.
 */
int br_wal_close(br_wal *w, br_err *err);

/*
 * Copies one record (type 1..255, payload borrowed, len bytes) into the log
 * and sets *lsn (may be NULL). The record is not yet durable: call
 * br_wal_sync(w, *lsn). Returns 0, BR_EINVAL (type 0), BR_ETOOLARGE (larger
 * than BR_WAL_MAX_RECORD or a segment), or BR_EIO when the WAL has failed
 * (until it is reopened).
 */
int br_wal_append(br_wal *w, uint8_t type, const void *payload, size_t len, uint64_t *lsn,
                  br_err *err);

/*
 * Returns once every record up to lsn is in the kernel (write(2) done: it
 * survives kill -9) and, under BR_WAL_FSYNC_ALWAYS, on disk. Concurrent
 * callers share one write and one fdatasync. lsn 0 returns at once.
 * Returns 0, BR_EINVAL (lsn never returned by append), or BR_EIO (a write
 * or fdatasync failed now or earlier; the WAL stays failed until reopened).
 */
int br_wal_sync(br_wal *w, uint64_t lsn, br_err *err);

/*
 * Ends the current segment (flushing it) and starts a new one, even when
 * the current one is empty. Every record appended before the call is in a
 * segment below *new_segment (may be NULL). Used when a snapshot starts.
 * Returns 0 or BR_EIO.
 */
int br_wal_cut(br_wal *w, uint32_t *new_segment, br_err *err);

/*
 * Deletes the segment files numbered below segment, oldest first (so a crash
 * midway leaves no gap). segment may not exceed the current segment.
 * Returns 0, BR_EINVAL, or BR_EIO (an unlink failed; the WAL stays usable).
 */
int br_wal_truncate_before(br_wal *w, uint32_t segment, br_err *err);

/* Copies the counters into *out (caller-owned). */
void br_wal_get_stats(br_wal *w, br_wal_stats *out);

/* Called for each record, in log order. payload is a view valid during the
 * call only. Returns 0 to go on, or a negative BR_E* to stop replay. */
typedef int (*br_wal_replay_fn)(uint8_t type, const void *payload, size_t len, void *ctx);

/*
 * Reads the records of dir's segments numbered from_segment and up (0 = all)
 * and calls fn(type, payload, len, ctx) for each. Never writes. At the first
 * torn or corrupt record, or at a gap in the segment numbers, replay logs a
 * warn line naming segment and offset, counts it in *stats and stops: the
 * records after it are not delivered (open drops them the same way).
 * A missing dir is an empty log. stats (caller-owned) may be NULL.
 * Returns 0 (also after stopping at corruption), the callback's code,
 * BR_EUNSUPPORTED (newer format version) or BR_EIO (a read failed).
 */
int br_wal_replay(const char *dir, uint32_t from_segment, br_wal_replay_fn fn, void *ctx,
                  br_wal_stats *stats, br_err *err);

#endif
