/*
 * head_int.h — the head's internals, shared by head.c (commits, reads,
 * retention, replay) and snapshot.c (writing and loading snapshots).
 * Nothing outside storage/ includes this file.
 *
 * Locking rules are those of head.c's top comment: fields of head_series
 * above `next_hash` never change after creation; everything from
 * `next_hash` on is guarded by the owning shard's mutex.
 */
#ifndef BR_STORAGE_HEAD_INT_H
#define BR_STORAGE_HEAD_INT_H

#include "storage/chunk.h"
#include "storage/head.h"
#include "storage/symtab.h"
#include "storage/wal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define HEAD_SHARD_BITS 6
#define HEAD_SHARDS     (1u << HEAD_SHARD_BITS)
#define HEAD_SHARD_MASK (HEAD_SHARDS - 1)

typedef struct head_series {
    /* Immutable after creation. */
    br_series_ref ref;
    uint64_t hash;
    br_labels *labels;
    /* Guarded by the shard mutex. */
    struct head_series *next_hash;
    struct head_series *next_ref;
    int64_t max_t;       /* newest timestamp appended; INT64_MIN when none */
    uint64_t last_bits;  /* bits of the newest float value */
    bool last_hist;      /* the newest sample is a histogram */
    uint32_t n_chunks;
    uint32_t cap_chunks;
    uint32_t n_hchunks;
    uint32_t cap_hchunks;
    br_chunk **chunks;   /* oldest first; the last may be open (not frozen) */
    br_hchunk **hchunks;
} head_series;

typedef struct head_shard {
    pthread_mutex_t mu;
    head_series **by_hash;
    head_series **by_ref;
    size_t n_buckets;  /* both tables, power of two */
    size_t n_series;
} __attribute__((aligned(64))) head_shard;

struct br_head {
    br_head_options opts;
    char *wal_dir;
    char *snap_dir;          /* NULL in memory-only mode */
    pthread_mutex_t snap_mu; /* one snapshot at a time */
    int64_t snapshot_ms;     /* duration of the last snapshot written */
    int64_t snapshot_load_ms;
    uint64_t snapshot_series_loaded;
    uint64_t snapshots_written;
    uint64_t snapshots_failed;
    /* WAL growth since the newest snapshot (br_head_wal_since_snapshot);
     * written under snap_mu or before threads start, read without it. */
    _Atomic uint64_t snap_wal_mark;      /* the WAL's bytes_appended at the cut */
    _Atomic uint64_t wal_replayed_bytes; /* replayed at open; 0 after a snapshot */
    _Atomic uint64_t snap_file_bytes;    /* size of the newest snapshot file */
    br_wal *wal;             /* NULL in memory-only mode */
    atomic_bool failed;
    br_symtab *symtab;
    br_index *index;
    pthread_rwlock_t gc_lock;
    pthread_mutex_t gc_mu;   /* one retention pass at a time; guards gc_cursor */
    size_t gc_cursor;
    _Atomic uint64_t next_id;
    _Atomic uint64_t n_series;
    _Atomic uint64_t samples_appended;
    _Atomic int64_t oldest_append; /* see br_head_take_oldest_append */
    _Atomic uint64_t series_created;
    _Atomic uint64_t series_removed;
    int64_t replay_ms;
    uint64_t replayed_records;
    uint64_t wal_torn_tails;
    uint64_t wal_corrupt_records;
    head_shard shards[HEAD_SHARDS];
};

/* Finds series ref in sh; caller holds sh->mu. */
head_series *head_shard_find_ref(head_shard *sh, br_series_ref ref);

/* Creates a series with labels (sorted, borrowed) under ref, indexes it;
 * caller holds sh->mu. */
head_series *head_series_create(br_head *h, head_shard *sh, br_series_ref ref, uint64_t hash,
                                const br_label *labels, size_t n);

/* Links an unlinked series (from a snapshot) into sh and the index;
 * caller holds sh->mu. */
void head_series_link(br_head *h, head_shard *sh, head_series *s);

/* Frees an unlinked series: chunks, labels, the struct. */
void head_series_free(br_head *h, head_series *s);

/* Loads the newest valid snapshot in the data dir into the (empty) head;
 * sets *replay_from to the first WAL segment to replay (0 = all, also when
 * there is no usable snapshot). Returns 0 or BR_EIO (unreadable dir). */
int head_snapshot_load(br_head *h, uint32_t *replay_from, br_err *err);

#endif
