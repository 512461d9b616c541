/*
 * head.c — the in-memory store: sharded series tables, chunk lists, the
 * commit path through the WAL, replay, reads and retention. See head.h.
 *
 * Layout. Series live in HEAD_SHARDS shards chosen by the low bits of their
 * label hash. A series ref carries its shard in its low HEAD_SHARD_BITS
 * bits (ref = counter << bits | shard), so lookups by ref go straight to
 * the right shard and refs stay stable across restarts (the WAL records
 * them). Each shard has two chained hash tables over the same series: by
 * label hash (appends) and by ref (reads, replay).
 *
 * Locks, in the only order they are ever taken:
 *   gc_lock (rwlock; readers = query brackets, writer = retention freeing)
 *   -> shard.mu (one shard at a time)
 *   -> the index's own rwlock, the WAL's own mutex.
 * Fields of head_series above `next_hash` never change after creation;
 * everything from `next_hash` on is guarded by the shard mutex.
 *
 * Commit (per shard, in shard order): lock; find or create each series;
 * validate each sample against the series' newest timestamp; encode one
 * SERIES, SAMPLES and HISTOGRAMS record for what was accepted; append them
 * to the WAL; apply to chunks; unlock. After all shards: wait for the WAL
 * sync of the last record. Within a shard, WAL order equals apply order, so
 * replay rebuilds exactly the same state. A failed WAL append or sync marks
 * the head failed: every later commit returns BR_EIO (never a 2xx that the
 * WAL does not hold).
 *
 * Memory reclaimed by retention (chunks, series, labels) is unlinked under
 * the shard lock and freed only under the gc_lock write side, so readers in
 * a bracket never see freed memory.
 */
#include "head.h"

#include "head_int.h"

#include "engine/core/alloc.h"
#include "engine/core/clock.h"
#include "engine/core/log.h"
#include "storage/symtab.h"
#include "storage/wal_record.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Things unlinked by retention, freed once no reader can hold them. */
typedef struct gc_garbage {
    br_chunk **chunks;
    size_t n_chunks;
    br_hchunk **hchunks;
    size_t n_hchunks;
    head_series **series;
    size_t n_series;
} gc_garbage;

/* ---- series tables ---------------------------------------------------- */

static size_t bucket_of(uint64_t key, size_t n_buckets)
{
    return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 20) & (n_buckets - 1);
}

static void shard_grow(head_shard *sh)
{
    size_t nb = sh->n_buckets * 2;
    head_series **by_hash = br_calloc(nb, sizeof(*by_hash));
    head_series **by_ref = br_calloc(nb, sizeof(*by_ref));
    for (size_t b = 0; b < sh->n_buckets; b++) {
        head_series *s = sh->by_hash[b];
        while (s != NULL) {
            head_series *next = s->next_hash;
            size_t nbk = bucket_of(s->hash, nb);
            s->next_hash = by_hash[nbk];
            by_hash[nbk] = s;
            s = next;
        }
        s = sh->by_ref[b];
        while (s != NULL) {
            head_series *next = s->next_ref;
            size_t nbk = bucket_of(s->ref, nb);
            s->next_ref = by_ref[nbk];
            by_ref[nbk] = s;
            s = next;
        }
    }
    br_free(sh->by_hash);
    br_free(sh->by_ref);
    sh->by_hash = by_hash;
    sh->by_ref = by_ref;
    sh->n_buckets = nb;
}

static head_series *shard_find_labels(head_shard *sh, uint64_t hash, const br_label *labels,
                                      size_t n)
{
    for (head_series *s = sh->by_hash[bucket_of(hash, sh->n_buckets)]; s != NULL;
         s = s->next_hash) {
        if (s->hash == hash && br_labels_equal_raw(s->labels, labels, n)) {
            return s;
        }
    }
    return NULL;
}

head_series *head_shard_find_ref(head_shard *sh, br_series_ref ref)
{
    for (head_series *s = sh->by_ref[bucket_of(ref, sh->n_buckets)]; s != NULL; s = s->next_ref) {
        if (s->ref == ref) {
            return s;
        }
    }
    return NULL;
}

static void shard_insert(head_shard *sh, head_series *s)
{
    if (sh->n_series >= sh->n_buckets) {
        shard_grow(sh);
    }
    size_t b = bucket_of(s->hash, sh->n_buckets);
    s->next_hash = sh->by_hash[b];
    sh->by_hash[b] = s;
    b = bucket_of(s->ref, sh->n_buckets);
    s->next_ref = sh->by_ref[b];
    sh->by_ref[b] = s;
    sh->n_series++;
}

static void shard_unlink(head_shard *sh, head_series *s)
{
    head_series **pp = &sh->by_hash[bucket_of(s->hash, sh->n_buckets)];
    while (*pp != NULL && *pp != s) {
        pp = &(*pp)->next_hash;
    }
    if (*pp == s) {
        *pp = s->next_hash;
    }
    pp = &sh->by_ref[bucket_of(s->ref, sh->n_buckets)];
    while (*pp != NULL && *pp != s) {
        pp = &(*pp)->next_ref;
    }
    if (*pp == s) {
        *pp = s->next_ref;
    }
    sh->n_series--;
}

/* Creates a series with labels (sorted, borrowed) under ref; caller holds
 * the shard lock. */
void head_series_link(br_head *h, head_shard *sh, head_series *s)
{
    shard_insert(sh, s);
    br_index_add(h->index, s->ref, s->labels);
    atomic_fetch_add(&h->n_series, 1);
    atomic_fetch_add(&h->series_created, 1);
}

head_series *head_series_create(br_head *h, head_shard *sh, br_series_ref ref, uint64_t hash,
                                const br_label *labels, size_t n)
{
    head_series *s = br_calloc(1, sizeof(*s));
    s->ref = ref;
    s->hash = hash;
    s->labels = br_labels_new(h->symtab, labels, n);
    s->max_t = INT64_MIN;
    head_series_link(h, sh, s);
    return s;
}

void head_series_free(br_head *h, head_series *s)
{
    for (uint32_t i = 0; i < s->n_chunks; i++) {
        br_chunk_free(s->chunks[i]);
    }
    for (uint32_t i = 0; i < s->n_hchunks; i++) {
        br_hchunk_free(s->hchunks[i]);
    }
    br_free(s->chunks);
    br_free(s->hchunks);
    br_labels_free(h->symtab, s->labels);
    br_free(s);
}

/* ---- appending to chunks ---------------------------------------------- */

static br_chunk *open_chunk(head_series *s)
{
    br_chunk *c = s->n_chunks ? s->chunks[s->n_chunks - 1] : NULL;
    if (c != NULL && !br_chunk_frozen(c) && !br_chunk_full(c)) {
        return c;
    }
    if (c != NULL && !br_chunk_frozen(c)) {
        br_chunk_freeze(c);
    }
    if (s->n_chunks == s->cap_chunks) {
        s->cap_chunks = s->cap_chunks ? s->cap_chunks * 2 : 4;
        s->chunks = br_realloc(s->chunks, s->cap_chunks * sizeof(*s->chunks));
    }
    c = br_chunk_new();
    s->chunks[s->n_chunks++] = c;
    return c;
}

static br_hchunk *open_hchunk(head_series *s)
{
    br_hchunk *c = s->n_hchunks ? s->hchunks[s->n_hchunks - 1] : NULL;
    if (c != NULL && !br_hchunk_frozen(c) && !br_hchunk_full(c)) {
        return c;
    }
    if (c != NULL && !br_hchunk_frozen(c)) {
        br_hchunk_freeze(c);
    }
    if (s->n_hchunks == s->cap_hchunks) {
        s->cap_hchunks = s->cap_hchunks ? s->cap_hchunks * 2 : 2;
        s->hchunks = br_realloc(s->hchunks, s->cap_hchunks * sizeof(*s->hchunks));
    }
    c = br_hchunk_new();
    s->hchunks[s->n_hchunks++] = c;
    return c;
}

static int apply_sample(head_series *s, int64_t t, double v)
{
    return br_chunk_append(open_chunk(s), t, v, NULL);
}

static int apply_histogram(head_series *s, int64_t t, const br_histogram *hg)
{
    return br_hchunk_append(open_hchunk(s), t, hg, NULL);
}

/* ---- validation ------------------------------------------------------- */

enum verdict { ACCEPT, DUPLICATE, OUT_OF_ORDER, CONFLICT, TOO_OLD };

static uint64_t dbits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof(b));
    return b;
}

/* Finds the stored float sample at exactly t; caller holds the shard lock.
 * Used only for samples older than the newest one (a sender's retry), so
 * the chunk scan stays off the normal append path. */
static bool stored_value_at(const head_series *s, int64_t t, uint64_t *bits)
{
    for (uint32_t i = s->n_chunks; i-- > 0;) {
        const br_chunk_summary *sum = br_chunk_get_summary(s->chunks[i]);
        if (sum->count == 0 || t > sum->max_t) {
            return false;
        }
        if (t < sum->min_t) {
            continue;
        }
        br_chunk_iter it;
        br_chunk_iter_init(&it, s->chunks[i]);
        if (br_chunk_iter_seek(&it, t) && it.t == t) {
            *bits = dbits(it.v);
            return true;
        }
        return false;
    }
    return false;
}

/* Decides a float sample and, when accepted, advances the series' newest
 * timestamp (caller holds the shard lock). A resent sample identical to a
 * stored one is a duplicate wherever it falls, so a sender's retry of an
 * already stored batch is accepted rather than refused. */
static enum verdict judge_sample(head_series *s, int64_t t, double v, int64_t min_valid_t)
{
    if (t < min_valid_t) {
        return TOO_OLD;
    }
    if (t > s->max_t) {
        s->max_t = t;
        s->last_bits = dbits(v);
        s->last_hist = false;
        return ACCEPT;
    }
    if (t == s->max_t) {
        return (!s->last_hist && s->last_bits == dbits(v)) ? DUPLICATE : CONFLICT;
    }
    uint64_t bits;
    if (stored_value_at(s, t, &bits)) {
        return bits == dbits(v) ? DUPLICATE : CONFLICT;
    }
    return OUT_OF_ORDER;
}

static enum verdict judge_histogram(head_series *s, int64_t t, int64_t min_valid_t)
{
    if (t < min_valid_t) {
        return TOO_OLD;
    }
    if (t > s->max_t) {
        s->max_t = t;
        s->last_hist = true;
        return ACCEPT;
    }
    if (t == s->max_t) {
        return s->last_hist ? DUPLICATE : CONFLICT;
    }
    return OUT_OF_ORDER;
}

static void note_rejection(br_commit_result *r, const br_label *labels, size_t n,
                           const char *why, int64_t t)
{
    if (r->first_rejection[0] != '\0') {
        return;
    }
    br_buf b;
    br_buf_init(&b, 200);
    br_labels_format_raw(labels, n, &b);
    snprintf(r->first_rejection, sizeof(r->first_rejection), "%s for series %s at t=%lld", why,
             br_buf_str(&b), (long long)t);
    br_buf_free(&b);
}

static void count_verdict(br_commit_result *r, enum verdict v, const br_series_input *in,
                          int64_t t)
{
    switch (v) {
    case ACCEPT:
        break;
    case DUPLICATE:
        r->duplicates_ignored++;
        break;
    case OUT_OF_ORDER:
        r->out_of_order++;
        note_rejection(r, in->labels, in->n_labels, "out-of-order sample", t);
        break;
    case CONFLICT:
        r->duplicate_conflict++;
        note_rejection(r, in->labels, in->n_labels,
                       "duplicate sample with a different value", t);
        break;
    case TOO_OLD:
        r->too_old++;
        note_rejection(r, in->labels, in->n_labels, "sample older than the retention window", t);
        break;
    }
}

uint64_t br_commit_rejected(const br_commit_result *r)
{
    return r->out_of_order + r->duplicate_conflict + r->too_old + r->series_limit +
           r->invalid_histogram;
}

/* ---- commit ----------------------------------------------------------- */

static int64_t min_valid_time(const br_head *h)
{
    if (h->opts.retention_ms <= 0) {
        return INT64_MIN;
    }
    return br_now_ms() - h->opts.retention_ms;
}

static int fail_head(br_head *h, br_err *err, int rc)
{
    if (!atomic_exchange(&h->failed, true)) {
        br_log_error("WAL write failed; refusing writes until restart", "err=\"%s\"",
                     err ? err->msg : "");
    }
    return rc;
}

/*
 * Prefetching. The series of one commit are scattered over the heap and
 * each costs a chain of dependent cache misses: bucket slot -> series ->
 * label set -> label strings, and later series -> chunk slot -> chunk ->
 * appender and stream. Walking one level for the whole shard batch before
 * the next keeps a batch's misses in flight together instead of one after
 * another. These passes only read under the shard lock and only hint; the
 * commit loop still decides everything with full comparisons.
 */
static void prefetch_lookups(head_shard *sh, const uint64_t *hashes, const uint32_t *idx, size_t n,
                             head_series **cand)
{
    for (size_t k = 0; k < n; k++) {
        __builtin_prefetch(&sh->by_hash[bucket_of(hashes[idx[k]], sh->n_buckets)], 0, 3);
    }
    for (size_t k = 0; k < n; k++) {
        cand[k] = sh->by_hash[bucket_of(hashes[idx[k]], sh->n_buckets)];
        if (cand[k] != NULL) {
            __builtin_prefetch(cand[k], 1, 3);
        }
    }
    for (size_t k = 0; k < n; k++) {
        head_series *s = cand[k];
        while (s != NULL && s->hash != hashes[idx[k]]) {
            s = s->next_hash;
        }
        cand[k] = s;
        if (s != NULL) {
            __builtin_prefetch(s->labels, 0, 3);
            __builtin_prefetch((const char *)s->labels + 64, 0, 3);
            if (s->n_chunks > 0) {
                __builtin_prefetch(&s->chunks[s->n_chunks - 1], 0, 3);
            }
        }
    }
    for (size_t k = 0; k < n; k++) {
        if (cand[k] != NULL) {
            br_labels_prefetch(cand[k]->labels);
        }
    }
}

static void prefetch_appends(head_series *const *touched, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (touched[k]->n_chunks > 0) {
            const br_chunk *c = touched[k]->chunks[touched[k]->n_chunks - 1];
            __builtin_prefetch(c, 1, 3);
            __builtin_prefetch((const char *)c + 64, 1, 3);
        }
    }
    for (size_t k = 0; k < n; k++) {
        if (touched[k]->n_chunks > 0) {
            br_chunk_prefetch_append(touched[k]->chunks[touched[k]->n_chunks - 1]);
        }
    }
}

/* Commits the inputs listed in idx[0..n) (all of one shard). */
static int commit_shard(br_head *h, head_shard *sh, const br_series_input *in,
                        const uint64_t *hashes, const uint32_t *idx, size_t n, br_arena *arena,
                        br_buf *rec, int64_t min_valid_t,
                        br_commit_result *r, uint64_t *lsn_out, br_err *err)
{
    size_t total_samples = 0;
    size_t total_hists = 0;
    for (size_t k = 0; k < n; k++) {
        total_samples += in[idx[k]].n_samples;
        total_hists += in[idx[k]].n_histograms;
    }
    br_wal_series *new_series = br_arena_alloc(arena, sizeof(*new_series) * (n + 1));
    br_wal_sample *samples = br_arena_alloc(arena, sizeof(*samples) * (total_samples + 1));
    head_series **sample_owner = br_arena_alloc(arena, sizeof(*sample_owner) * (total_samples + 1));
    br_wal_histogram *hists = br_arena_alloc(arena, sizeof(*hists) * (total_hists + 1));
    head_series **hist_owner = br_arena_alloc(arena, sizeof(*hist_owner) * (total_hists + 1));
    if (new_series == NULL || samples == NULL || sample_owner == NULL || hists == NULL ||
        hist_owner == NULL) {
        return br_err_set(err, BR_ENOMEM, "commit buffers");
    }
    size_t n_new = 0;
    size_t n_samples = 0;
    size_t n_hists = 0;
    int rc = 0;

    head_series **cand = br_arena_alloc(arena, sizeof(*cand) * (n + 1));
    head_series **touched = br_arena_alloc(arena, sizeof(*touched) * (n + 1));
    if (cand == NULL || touched == NULL) {
        return br_err_set(err, BR_ENOMEM, "commit buffers");
    }
    size_t n_touched = 0;

    pthread_mutex_lock(&sh->mu);
    prefetch_lookups(sh, hashes, idx, n, cand);
    for (size_t k = 0; k < n; k++) {
        const br_series_input *si = &in[idx[k]];
        uint64_t hash = hashes[idx[k]];
        head_series *s = cand[k];
        if (s == NULL || !br_labels_equal_raw(s->labels, si->labels, si->n_labels)) {
            /* No candidate (a new series, or one created earlier in this
             * batch) or a hash collision: the full lookup decides. */
            s = shard_find_labels(sh, hash, si->labels, si->n_labels);
        }
        if (s == NULL) {
            if (si->n_samples == 0 && si->n_histograms == 0) {
                continue;
            }
            if (h->opts.max_series > 0 &&
                atomic_load(&h->n_series) >= (uint64_t)h->opts.max_series) {
                r->series_limit += si->n_samples + si->n_histograms;
                note_rejection(r, si->labels, si->n_labels,
                               "active series limit reached; new series refused",
                               si->n_samples ? si->samples[0].t : si->histograms[0].t);
                continue;
            }
            uint64_t id = atomic_fetch_add(&h->next_id, 1);
            br_series_ref ref = (id << HEAD_SHARD_BITS) | (uint64_t)(sh - h->shards);
            s = head_series_create(h, sh, ref, hash, si->labels, si->n_labels);
            new_series[n_new].ref = ref;
            new_series[n_new].n_labels = (uint32_t)si->n_labels;
            new_series[n_new].labels = si->labels;
            n_new++;
            r->series_created++;
        }
        size_t accepted_before = n_samples;
        for (size_t i = 0; i < si->n_samples; i++) {
            const br_sample *smp = &si->samples[i];
            enum verdict v = judge_sample(s, smp->t, smp->v, min_valid_t);
            if (v == ACCEPT) {
                samples[n_samples].ref = s->ref;
                samples[n_samples].t = smp->t;
                samples[n_samples].v = smp->v;
                sample_owner[n_samples] = s;
                n_samples++;
            } else {
                count_verdict(r, v, si, smp->t);
            }
        }
        for (size_t i = 0; i < si->n_histograms; i++) {
            const br_histogram_sample *hs = &si->histograms[i];
            enum verdict v = judge_histogram(s, hs->t, min_valid_t);
            if (v == ACCEPT) {
                hists[n_hists].ref = s->ref;
                hists[n_hists].t = hs->t;
                hists[n_hists].h = hs->h;
                hist_owner[n_hists] = s;
                n_hists++;
            } else {
                count_verdict(r, v, si, hs->t);
            }
        }
        if (n_samples > accepted_before) {
            touched[n_touched++] = s;
        }
    }
    prefetch_appends(touched, n_touched);

    if (h->wal != NULL && (n_new > 0 || n_samples > 0 || n_hists > 0)) {
        if (n_new > 0) {
            br_buf_reset(rec);
            rc = br_wal_encode_series(rec, new_series, n_new, err);
            if (rc == 0) {
                rc = br_wal_append(h->wal, BR_WAL_REC_SERIES, rec->data, rec->len, lsn_out, err);
            }
        }
        if (rc == 0 && n_samples > 0) {
            br_buf_reset(rec);
            rc = br_wal_encode_samples(rec, samples, n_samples, err);
            if (rc == 0) {
                rc = br_wal_append(h->wal, BR_WAL_REC_SAMPLES, rec->data, rec->len, lsn_out, err);
            }
        }
        if (rc == 0 && n_hists > 0) {
            br_buf_reset(rec);
            rc = br_wal_encode_histograms(rec, hists, n_hists, err);
            if (rc == 0) {
                rc = br_wal_append(h->wal, BR_WAL_REC_HISTOGRAMS, rec->data, rec->len, lsn_out,
                                   err);
            }
        }
    }
    if (rc == 0) {
        for (size_t i = 0; i < n_samples; i++) {
            if (apply_sample(sample_owner[i], samples[i].t, samples[i].v) == 0) {
                r->samples_written++;
            }
        }
        for (size_t i = 0; i < n_hists; i++) {
            if (apply_histogram(hist_owner[i], hists[i].t, &hists[i].h) == 0) {
                r->histograms_written++;
            } else {
                r->invalid_histogram++;
            }
        }
    }
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

int br_head_commit(br_head *h, const br_series_input *in, size_t n, br_commit_result *result,
                   br_err *err)
{
    return br_head_commit_flags(h, in, n, 0, result, err);
}

int br_head_commit_flags(br_head *h, const br_series_input *in, size_t n, unsigned flags,
                         br_commit_result *result, br_err *err)
{
    memset(result, 0, sizeof(*result));
    if (atomic_load(&h->failed)) {
        return br_err_set(err, BR_EIO, "the WAL failed earlier; writes are refused until restart");
    }
    if (n == 0) {
        return 0;
    }
    /* Counting sort of the inputs by shard. */
    size_t counts[HEAD_SHARDS + 1];
    memset(counts, 0, sizeof(counts));
    uint64_t *hashes = br_malloc(n * sizeof(*hashes));
    for (size_t i = 0; i < n; i++) {
        hashes[i] = br_labels_hash_raw(in[i].labels, in[i].n_labels);
        counts[(hashes[i] & HEAD_SHARD_MASK) + 1]++;
    }
    for (size_t s = 0; s < HEAD_SHARDS; s++) {
        counts[s + 1] += counts[s];
    }
    uint32_t *order = br_malloc(n * sizeof(*order));
    size_t fill[HEAD_SHARDS];
    memcpy(fill, counts, sizeof(fill));
    for (size_t i = 0; i < n; i++) {
        order[fill[hashes[i] & HEAD_SHARD_MASK]++] = (uint32_t)i;
    }

    int64_t min_valid_t = min_valid_time(h);
    uint64_t max_lsn = 0;
    int rc = 0;
    br_arena arena;
    br_arena_init(&arena, 64 * 1024, 0);
    br_buf rec; /* one WAL record at a time, reused across shards */
    br_buf_init(&rec, 0);
    for (size_t s = 0; s < HEAD_SHARDS && rc == 0; s++) {
        size_t from = counts[s];
        size_t to = counts[s + 1];
        if (from == to) {
            continue;
        }
        uint64_t lsn = 0;
        rc = commit_shard(h, &h->shards[s], in, hashes, order + from, to - from, &arena,
                          &rec, min_valid_t, result, &lsn, err);
        if (lsn > max_lsn) {
            max_lsn = lsn;
        }
        br_arena_reset(&arena);
    }
    br_buf_free(&rec);
    br_arena_free(&arena);
    br_free(order);
    br_free(hashes);
    if (rc == 0 && h->wal != NULL && max_lsn != 0) {
        rc = br_wal_sync(h->wal, max_lsn, err);
    }
    if (rc != 0) {
        return fail_head(h, err, rc == BR_ENOMEM ? rc : BR_EIO);
    }
    atomic_fetch_add(&h->samples_appended, result->samples_written + result->histograms_written);
    /* The oldest timestamp of this commit, for readers that keep running
     * sums and must notice data arriving for times they already counted. */
    int64_t oldest = INT64_MAX;
    for (size_t i = 0; i < n && !(flags & BR_COMMIT_DERIVED); i++) {
        for (size_t k = 0; k < in[i].n_samples; k++) {
            if (in[i].samples[k].t < oldest) {
                oldest = in[i].samples[k].t;
            }
        }
        for (size_t k = 0; k < in[i].n_histograms; k++) {
            if (in[i].histograms[k].t < oldest) {
                oldest = in[i].histograms[k].t;
            }
        }
    }
    int64_t cur = atomic_load(&h->oldest_append);
    while (oldest < cur && !atomic_compare_exchange_weak(&h->oldest_append, &cur, oldest)) {
    }
    return 0;
}

int64_t br_head_take_oldest_append(br_head *h)
{
    return atomic_exchange(&h->oldest_append, INT64_MAX);
}

/* ---- replay ----------------------------------------------------------- */

typedef struct replay_ctx {
    br_head *h;
    br_arena arena;
    int64_t min_valid_t;
    uint64_t unknown_refs;
    uint64_t rejected;
} replay_ctx;

static head_series *find_ref_locked(br_head *h, br_series_ref ref, head_shard **sh_out)
{
    head_shard *sh = &h->shards[ref & HEAD_SHARD_MASK];
    *sh_out = sh;
    return head_shard_find_ref(sh, ref);
}

static int replay_record(uint8_t type, const void *payload, size_t len, void *vctx)
{
    replay_ctx *rc = vctx;
    br_head *h = rc->h;
    br_err err;
    br_err_clear(&err);
    br_arena_reset(&rc->arena);
    h->replayed_records++;
    switch (type) {
    case BR_WAL_REC_SERIES: {
        br_wal_series *ss = NULL;
        size_t n = 0;
        if (br_wal_decode_series(payload, len, &rc->arena, &ss, &n, &err) != 0) {
            br_log_warn("skipping undecodable WAL series record", "err=\"%s\"", err.msg);
            return 0;
        }
        for (size_t i = 0; i < n; i++) {
            head_shard *sh;
            pthread_mutex_lock(&h->shards[ss[i].ref & HEAD_SHARD_MASK].mu);
            if (find_ref_locked(h, ss[i].ref, &sh) == NULL) {
                uint64_t hash = br_labels_hash_raw(ss[i].labels, ss[i].n_labels);
                head_series_create(h, sh, ss[i].ref, hash, ss[i].labels, ss[i].n_labels);
            }
            pthread_mutex_unlock(&sh->mu);
            uint64_t id = (ss[i].ref >> HEAD_SHARD_BITS) + 1;
            if (id > atomic_load(&h->next_id)) {
                atomic_store(&h->next_id, id);
            }
        }
        return 0;
    }
    case BR_WAL_REC_SAMPLES: {
        br_wal_sample *sm = NULL;
        size_t n = 0;
        if (br_wal_decode_samples(payload, len, &rc->arena, &sm, &n, &err) != 0) {
            br_log_warn("skipping undecodable WAL samples record", "err=\"%s\"", err.msg);
            return 0;
        }
        for (size_t i = 0; i < n; i++) {
            head_shard *sh = &h->shards[sm[i].ref & HEAD_SHARD_MASK];
            pthread_mutex_lock(&sh->mu);
            head_series *s = head_shard_find_ref(sh, sm[i].ref);
            if (s == NULL) {
                rc->unknown_refs++;
            } else if (judge_sample(s, sm[i].t, sm[i].v, rc->min_valid_t) == ACCEPT &&
                       apply_sample(s, sm[i].t, sm[i].v) == 0) {
                atomic_fetch_add(&h->samples_appended, 1);
            } else {
                rc->rejected++;
            }
            pthread_mutex_unlock(&sh->mu);
        }
        return 0;
    }
    case BR_WAL_REC_HISTOGRAMS: {
        br_wal_histogram *hs = NULL;
        size_t n = 0;
        if (br_wal_decode_histograms(payload, len, &rc->arena, &hs, &n, &err) != 0) {
            br_log_warn("skipping undecodable WAL histograms record", "err=\"%s\"", err.msg);
            return 0;
        }
        for (size_t i = 0; i < n; i++) {
            head_shard *sh = &h->shards[hs[i].ref & HEAD_SHARD_MASK];
            pthread_mutex_lock(&sh->mu);
            head_series *s = head_shard_find_ref(sh, hs[i].ref);
            if (s == NULL) {
                rc->unknown_refs++;
            } else if (judge_histogram(s, hs[i].t, rc->min_valid_t) == ACCEPT &&
                       apply_histogram(s, hs[i].t, &hs[i].h) == 0) {
                atomic_fetch_add(&h->samples_appended, 1);
            } else {
                rc->rejected++;
            }
            pthread_mutex_unlock(&sh->mu);
        }
        return 0;
    }
    default:
        /* Other modules' records (64..127) and tombstones are not ours. */
        return 0;
    }
}

/* ---- open / close ----------------------------------------------------- */

static int mkdir_p(const char *path, br_err *err)
{
    char tmp[1024];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
                return br_err_set(err, BR_EIO, "cannot create %s: %s", tmp, strerror(errno));
            }
            *p = '/';
        }
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
        return br_err_set(err, BR_EIO, "cannot create %s: %s", tmp, strerror(errno));
    }
    return 0;
}

int br_head_open(const br_head_options *opts, br_head **out, br_err *err)
{
    br_head *h = br_calloc(1, sizeof(*h));
    h->opts = *opts;
    h->opts.dir = NULL;
    h->symtab = br_symtab_new();
    h->index = br_index_new();
    atomic_store(&h->next_id, 1);
    atomic_store(&h->oldest_append, INT64_MAX);
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&h->gc_lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    pthread_mutex_init(&h->gc_mu, NULL);
    pthread_mutex_init(&h->snap_mu, NULL);
    for (size_t i = 0; i < HEAD_SHARDS; i++) {
        head_shard *sh = &h->shards[i];
        pthread_mutex_init(&sh->mu, NULL);
        sh->n_buckets = 64;
        sh->by_hash = br_calloc(sh->n_buckets, sizeof(*sh->by_hash));
        sh->by_ref = br_calloc(sh->n_buckets, sizeof(*sh->by_ref));
    }
    *out = NULL;
    if (opts->dir == NULL) {
        *out = h;
        return 0;
    }
    int rc = mkdir_p(opts->dir, err);
    if (rc != 0) {
        br_head_close(h);
        return rc;
    }
    size_t dl = strlen(opts->dir) + 16;
    h->wal_dir = br_malloc(dl);
    snprintf(h->wal_dir, dl, "%s/wal", opts->dir);
    h->snap_dir = br_malloc(dl);
    snprintf(h->snap_dir, dl, "%s/snapshots", opts->dir);
    rc = mkdir_p(h->snap_dir, err);
    if (rc != 0) {
        br_head_close(h);
        return rc;
    }

    int64_t start = br_mono_ns();
    uint32_t replay_from = 0;
    rc = head_snapshot_load(h, &replay_from, err);
    if (rc != 0) {
        br_head_close(h);
        return rc;
    }
    replay_ctx rctx;
    memset(&rctx, 0, sizeof(rctx));
    rctx.h = h;
    rctx.min_valid_t = min_valid_time(h);
    br_arena_init(&rctx.arena, 256 * 1024, 0);
    br_wal_stats wst;
    memset(&wst, 0, sizeof(wst));
    rc = br_wal_replay(h->wal_dir, replay_from, replay_record, &rctx, &wst, err);
    br_arena_free(&rctx.arena);
    if (rc != 0) {
        br_err_prefix(err, "WAL replay");
        br_head_close(h);
        return rc;
    }
    h->replay_ms = (br_mono_ns() - start) / 1000000;
    atomic_store(&h->wal_replayed_bytes, wst.bytes);
    h->wal_torn_tails = wst.torn_tails;
    h->wal_corrupt_records = wst.corrupt_records;
    br_wal_options wo = {
        .segment_size = opts->wal_segment_bytes,
        .fsync = opts->fsync,
        .fsync_interval_ms = opts->fsync_interval_ms,
    };
    rc = br_wal_open(h->wal_dir, &wo, &h->wal, err);
    if (rc != 0) {
        br_err_prefix(err, "opening the WAL");
        br_head_close(h);
        return rc;
    }
    br_log_info("WAL replay done", "from_segment=%u records=%llu series=%llu samples=%llu "
                "duration_ms=%lld torn_tails=%llu corrupt_records=%llu bytes_dropped=%llu "
                "unknown_refs=%llu",
                replay_from, (unsigned long long)h->replayed_records,
                (unsigned long long)atomic_load(&h->n_series),
                (unsigned long long)atomic_load(&h->samples_appended), (long long)h->replay_ms,
                (unsigned long long)wst.torn_tails, (unsigned long long)wst.corrupt_records,
                (unsigned long long)wst.bytes_dropped, (unsigned long long)rctx.unknown_refs);
    *out = h;
    return 0;
}

void br_head_close(br_head *h)
{
    if (h == NULL) {
        return;
    }
    if (h->wal != NULL) {
        br_err err;
        br_err_clear(&err);
        if (br_wal_close(h->wal, &err) != 0) {
            br_log_error("closing the WAL failed", "err=\"%s\"", err.msg);
        }
    }
    for (size_t i = 0; i < HEAD_SHARDS; i++) {
        head_shard *sh = &h->shards[i];
        for (size_t b = 0; b < sh->n_buckets; b++) {
            head_series *s = sh->by_hash[b];
            while (s != NULL) {
                head_series *next = s->next_hash;
                br_index_remove(h->index, s->ref, s->labels);
                head_series_free(h, s);
                s = next;
            }
        }
        br_free(sh->by_hash);
        br_free(sh->by_ref);
        pthread_mutex_destroy(&sh->mu);
    }
    br_index_free(h->index);
    br_symtab_free(h->symtab);
    pthread_rwlock_destroy(&h->gc_lock);
    pthread_mutex_destroy(&h->gc_mu);
    pthread_mutex_destroy(&h->snap_mu);
    br_free(h->wal_dir);
    br_free(h->snap_dir);
    br_free(h);
}

/* ---- reading ---------------------------------------------------------- */

void br_head_read_begin(br_head *h)
{
    pthread_rwlock_rdlock(&h->gc_lock);
}

void br_head_read_end(br_head *h)
{
    pthread_rwlock_unlock(&h->gc_lock);
}

int br_head_select(br_head *h, const br_matcher *ms, size_t n, br_refs *out, br_err *err)
{
    return br_index_select(h->index, ms, n, out, err);
}

const br_labels *br_head_series_labels(br_head *h, br_series_ref ref)
{
    head_shard *sh = &h->shards[ref & HEAD_SHARD_MASK];
    pthread_mutex_lock(&sh->mu);
    head_series *s = head_shard_find_ref(sh, ref);
    const br_labels *ls = s ? s->labels : NULL;
    pthread_mutex_unlock(&sh->mu);
    return ls;
}

bool br_head_series_bounds(br_head *h, br_series_ref ref, int64_t *min_t, int64_t *max_t)
{
    head_shard *sh = &h->shards[ref & HEAD_SHARD_MASK];
    pthread_mutex_lock(&sh->mu);
    head_series *s = head_shard_find_ref(sh, ref);
    bool found = false;
    if (s != NULL && (s->n_chunks > 0 || s->n_hchunks > 0)) {
        int64_t lo = INT64_MAX;
        if (s->n_chunks > 0) {
            lo = br_chunk_get_summary(s->chunks[0])->min_t;
        }
        if (s->n_hchunks > 0 && br_hchunk_get_summary(s->hchunks[0])->min_t < lo) {
            lo = br_hchunk_get_summary(s->hchunks[0])->min_t;
        }
        *min_t = lo;
        *max_t = s->max_t;
        found = true;
    }
    pthread_mutex_unlock(&sh->mu);
    return found;
}

void br_head_label_names(br_head *h, const br_refs *restrict_to, br_strs *out)
{
    br_index_label_names(h->index, restrict_to, out);
}

void br_head_label_values(br_head *h, const char *name, const br_refs *restrict_to, br_strs *out)
{
    br_index_label_values(h->index, name, restrict_to, out);
}

void br_head_series_iter(br_head *h, br_series_ref ref, int64_t mint, int64_t maxt,
                         br_series_iter *it)
{
    memset(it, 0, sizeof(*it));
    it->mint = mint;
    it->maxt = maxt;
    head_shard *sh = &h->shards[ref & HEAD_SHARD_MASK];
    pthread_mutex_lock(&sh->mu);
    head_series *s = head_shard_find_ref(sh, ref);
    if (s != NULL && s->n_chunks > 0) {
        it->chunks = br_malloc(sizeof(*it->chunks) * s->n_chunks);
        for (uint32_t i = 0; i < s->n_chunks; i++) {
            br_chunk *c = s->chunks[i];
            const br_chunk_summary *sum = br_chunk_get_summary(c);
            if (sum->count == 0 || sum->max_t < mint || sum->min_t > maxt) {
                continue;
            }
            if (br_chunk_frozen(c)) {
                it->chunks[it->n_chunks++] = c;
                continue;
            }
            /* The open chunk changes under appends: copy its samples. */
            it->tail = br_malloc(sizeof(*it->tail) * sum->count);
            br_chunk_iter ci;
            br_chunk_iter_init(&ci, c);
            if (br_chunk_iter_seek(&ci, mint)) {
                do {
                    if (ci.t > maxt) {
                        break;
                    }
                    it->tail[it->n_tail].t = ci.t;
                    it->tail[it->n_tail].v = ci.v;
                    it->n_tail++;
                } while (br_chunk_iter_next(&ci));
            }
        }
    }
    pthread_mutex_unlock(&sh->mu);
}

bool br_series_iter_next(br_series_iter *it)
{
    for (;;) {
        if (it->in_chunk) {
            if (br_chunk_iter_next(&it->chunk_iter) && it->chunk_iter.t <= it->maxt) {
                it->t = it->chunk_iter.t;
                it->v = it->chunk_iter.v;
                return true;
            }
            it->in_chunk = false;
        }
        if (it->next_chunk < it->n_chunks) {
            br_chunk_iter_init(&it->chunk_iter, it->chunks[it->next_chunk++]);
            if (br_chunk_iter_seek(&it->chunk_iter, it->mint) &&
                it->chunk_iter.t <= it->maxt) {
                it->t = it->chunk_iter.t;
                it->v = it->chunk_iter.v;
                it->in_chunk = true;
                return true;
            }
            continue;
        }
        if (it->tail_pos < it->n_tail) {
            it->t = it->tail[it->tail_pos].t;
            it->v = it->tail[it->tail_pos].v;
            it->tail_pos++;
            return true;
        }
        return false;
    }
}

void br_series_iter_free(br_series_iter *it)
{
    br_free(it->chunks);
    br_free(it->tail);
    memset(it, 0, sizeof(*it));
}

static bool copy_histogram(br_arena *arena, const br_histogram *src, br_histogram *dst)
{
    *dst = *src;
    size_t sp = sizeof(br_span);
    br_span *ps = br_arena_alloc(arena, sp * (src->n_pos_spans + 1));
    br_span *ns = br_arena_alloc(arena, sp * (src->n_neg_spans + 1));
    double *pb = br_arena_alloc(arena, sizeof(double) * (src->n_pos + 1));
    double *nb = br_arena_alloc(arena, sizeof(double) * (src->n_neg + 1));
    double *cv = br_arena_alloc(arena, sizeof(double) * (src->n_custom + 1));
    if (ps == NULL || ns == NULL || pb == NULL || nb == NULL || cv == NULL) {
        return false;
    }
    if (src->n_pos_spans) {
        memcpy(ps, src->pos_spans, sp * src->n_pos_spans);
    }
    if (src->n_neg_spans) {
        memcpy(ns, src->neg_spans, sp * src->n_neg_spans);
    }
    if (src->n_pos) {
        memcpy(pb, src->pos_buckets, sizeof(double) * src->n_pos);
    }
    if (src->n_neg) {
        memcpy(nb, src->neg_buckets, sizeof(double) * src->n_neg);
    }
    if (src->n_custom) {
        memcpy(cv, src->custom_values, sizeof(double) * src->n_custom);
    }
    dst->pos_spans = ps;
    dst->neg_spans = ns;
    dst->pos_buckets = pb;
    dst->neg_buckets = nb;
    dst->custom_values = cv;
    return true;
}

size_t br_head_series_histograms(br_head *h, br_series_ref ref, int64_t mint, int64_t maxt,
                                 br_arena *arena, br_histogram_sample **out)
{
    *out = NULL;
    size_t n = 0;
    size_t cap = 0;
    head_shard *sh = &h->shards[ref & HEAD_SHARD_MASK];
    pthread_mutex_lock(&sh->mu);
    head_series *s = head_shard_find_ref(sh, ref);
    for (uint32_t i = 0; s != NULL && i < s->n_hchunks; i++) {
        const br_hchunk_summary *sum = br_hchunk_get_summary(s->hchunks[i]);
        if (sum->count == 0 || sum->max_t < mint || sum->min_t > maxt) {
            continue;
        }
        br_hchunk_iter it;
        br_hchunk_iter_init(&it, s->hchunks[i]);
        if (br_hchunk_iter_seek(&it, mint)) {
            do {
                if (it.t > maxt) {
                    break;
                }
                if (n == cap) {
                    size_t ncap = cap ? cap * 2 : 16;
                    br_histogram_sample *grown = br_arena_alloc(arena, sizeof(*grown) * ncap);
                    if (grown == NULL) {
                        break;
                    }
                    if (n > 0) {
                        memcpy(grown, *out, sizeof(*grown) * n);
                    }
                    *out = grown;
                    cap = ncap;
                }
                (*out)[n].t = it.t;
                if (!copy_histogram(arena, &it.h, &(*out)[n].h)) {
                    break;
                }
                n++;
            } while (br_hchunk_iter_next(&it));
        }
        br_hchunk_iter_free(&it);
    }
    pthread_mutex_unlock(&sh->mu);
    return n;
}

/* ---- retention -------------------------------------------------------- */

static void garbage_push(void ***arr, size_t *n, void *p)
{
    *arr = br_realloc(*arr, sizeof(void *) * (*n + 1));
    (*arr)[(*n)++] = p;
}

/* Unlinks from s the chunks older than cutoff; caller holds the shard lock. */
static void trim_series(head_series *s, int64_t cutoff, gc_garbage *g)
{
    uint32_t drop = 0;
    while (drop < s->n_chunks && br_chunk_frozen(s->chunks[drop]) &&
           br_chunk_get_summary(s->chunks[drop])->max_t < cutoff) {
        garbage_push((void ***)&g->chunks, &g->n_chunks, s->chunks[drop]);
        drop++;
    }
    if (drop > 0) {
        memmove(s->chunks, s->chunks + drop, sizeof(*s->chunks) * (s->n_chunks - drop));
        s->n_chunks -= drop;
    }
    uint32_t hdrop = 0;
    while (hdrop < s->n_hchunks && br_hchunk_frozen(s->hchunks[hdrop]) &&
           br_hchunk_get_summary(s->hchunks[hdrop])->max_t < cutoff) {
        garbage_push((void ***)&g->hchunks, &g->n_hchunks, s->hchunks[hdrop]);
        hdrop++;
    }
    if (hdrop > 0) {
        memmove(s->hchunks, s->hchunks + hdrop, sizeof(*s->hchunks) * (s->n_hchunks - hdrop));
        s->n_hchunks -= hdrop;
    }
}

/* Merges complete runs of consecutive frozen chunks of s (see
 * BR_CHUNK_MERGE_SAMPLES) into one chunk each, and unlinks the merged ones
 * into g; caller holds the shard lock. A run is complete when the chunk
 * after it could not join it, so every sample is re-encoded about once; the
 * newest frozen chunks wait until their run is complete. */
static void compact_series(head_series *s, gc_garbage *g)
{
    uint32_t i = 0;
    uint32_t w = 0;
    while (i < s->n_chunks) {
        uint32_t j = i;
        uint64_t count = 0;
        size_t bytes = 0;
        while (j < s->n_chunks && br_chunk_frozen(s->chunks[j])) {
            uint32_t cn = br_chunk_get_summary(s->chunks[j])->count;
            size_t cb = br_chunk_data_len(s->chunks[j]);
            if (count + cn > BR_CHUNK_MERGE_SAMPLES || bytes + cb > BR_CHUNK_MERGE_BYTES) {
                break;
            }
            count += cn;
            bytes += cb;
            j++;
        }
        /* Complete: the next chunk cannot join the run (it did not fit, or
         * it is the open chunk and could not fit once full). */
        bool complete = j < s->n_chunks &&
                        (br_chunk_frozen(s->chunks[j]) ||
                         count + BR_CHUNK_MAX_SAMPLES > BR_CHUNK_MERGE_SAMPLES ||
                         bytes + BR_CHUNK_MAX_BYTES > BR_CHUNK_MERGE_BYTES);
        br_chunk *m = NULL;
        if (complete && j - i >= 2) {
            br_err err;
            if (br_chunk_merge(s->chunks + i, j - i, &m, &err) != 0) {
                br_log_warn("chunk merge failed", "error=\"%s\"", err.msg);
                m = NULL;
            }
        }
        if (m != NULL) {
            for (uint32_t k = i; k < j; k++) {
                garbage_push((void ***)&g->chunks, &g->n_chunks, s->chunks[k]);
            }
            s->chunks[w++] = m;
            i = j;
            continue;
        }
        if (j == i) {
            j = i + 1; /* an open chunk, or one too big to merge with its neighbour */
        }
        while (i < j) {
            s->chunks[w++] = s->chunks[i++];
        }
    }
    s->n_chunks = w;
    /* Give back the pointer slots merging freed (appends realloc this array
     * under the same lock, so readers never hold it). */
    if (s->cap_chunks > 8 && s->n_chunks + 4 < s->cap_chunks / 2) {
        s->cap_chunks = s->n_chunks + 4;
        s->chunks = br_realloc(s->chunks, s->cap_chunks * sizeof(*s->chunks));
    }
}

size_t br_head_gc(br_head *h, int64_t now_ms, size_t max_series)
{
    /* Without retention nothing is dropped, but chunks are still merged. */
    int64_t cutoff = h->opts.retention_ms > 0 ? now_ms - h->opts.retention_ms : INT64_MIN;
    gc_garbage g;
    memset(&g, 0, sizeof(g));
    size_t looked = 0;
    pthread_mutex_lock(&h->gc_mu);
    for (size_t k = 0; k < HEAD_SHARDS; k++) {
        size_t si = (h->gc_cursor + k) % HEAD_SHARDS;
        head_shard *sh = &h->shards[si];
        pthread_mutex_lock(&sh->mu);
        for (size_t b = 0; b < sh->n_buckets; b++) {
            head_series *s = sh->by_hash[b];
            while (s != NULL) {
                head_series *next = s->next_hash;
                trim_series(s, cutoff, &g);
                compact_series(s, &g);
                bool open_chunk_stale = s->n_chunks == 1 && !br_chunk_frozen(s->chunks[0]) &&
                                        br_chunk_get_summary(s->chunks[0])->max_t < cutoff;
                bool open_hchunk_stale = s->n_hchunks == 1 && !br_hchunk_frozen(s->hchunks[0]) &&
                                         br_hchunk_get_summary(s->hchunks[0])->max_t < cutoff;
                bool empty = (s->n_chunks == 0 || open_chunk_stale) &&
                             (s->n_hchunks == 0 || open_hchunk_stale);
                if (empty && s->max_t < cutoff) {
                    shard_unlink(sh, s);
                    br_index_remove(h->index, s->ref, s->labels);
                    garbage_push((void ***)&g.series, &g.n_series, s);
                }
                looked++;
                s = next;
            }
        }
        pthread_mutex_unlock(&sh->mu);
        if (max_series > 0 && looked >= max_series) {
            h->gc_cursor = (si + 1) % HEAD_SHARDS;
            break;
        }
    }
    pthread_mutex_unlock(&h->gc_mu);
    if (g.n_chunks + g.n_hchunks + g.n_series > 0) {
        pthread_rwlock_wrlock(&h->gc_lock);
        for (size_t i = 0; i < g.n_chunks; i++) {
            br_chunk_free(g.chunks[i]);
        }
        for (size_t i = 0; i < g.n_hchunks; i++) {
            br_hchunk_free(g.hchunks[i]);
        }
        for (size_t i = 0; i < g.n_series; i++) {
            head_series_free(h, g.series[i]);
        }
        pthread_rwlock_unlock(&h->gc_lock);
        atomic_fetch_sub(&h->n_series, g.n_series);
        atomic_fetch_add(&h->series_removed, g.n_series);
    }
    br_free(g.chunks);
    br_free(g.hchunks);
    br_free(g.series);
    return looked;
}

void br_head_stats_get(br_head *h, br_head_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->min_t = INT64_MAX;
    out->max_t = INT64_MIN;
    for (size_t i = 0; i < HEAD_SHARDS; i++) {
        head_shard *sh = &h->shards[i];
        pthread_mutex_lock(&sh->mu);
        out->series_bytes += sh->n_buckets * 2 * sizeof(head_series *);
        for (size_t b = 0; b < sh->n_buckets; b++) {
            for (head_series *s = sh->by_hash[b]; s != NULL; s = s->next_hash) {
                out->series++;
                out->series_bytes += sizeof(*s) + s->cap_chunks * sizeof(br_chunk *) +
                                     s->cap_hchunks * sizeof(br_hchunk *);
                out->chunks += s->n_chunks + s->n_hchunks;
                for (uint32_t c = 0; c < s->n_chunks; c++) {
                    const br_chunk_summary *sum = br_chunk_get_summary(s->chunks[c]);
                    out->chunk_bytes += br_chunk_bytes(s->chunks[c]);
                    out->samples += sum->count;
                    if (sum->count > 0 && sum->min_t < out->min_t) {
                        out->min_t = sum->min_t;
                    }
                    if (sum->count > 0 && sum->max_t > out->max_t) {
                        out->max_t = sum->max_t;
                    }
                }
                for (uint32_t c = 0; c < s->n_hchunks; c++) {
                    const br_hchunk_summary *sum = br_hchunk_get_summary(s->hchunks[c]);
                    out->chunk_bytes += br_hchunk_bytes(s->hchunks[c]);
                    out->samples += sum->count;
                    if (sum->count > 0 && sum->min_t < out->min_t) {
                        out->min_t = sum->min_t;
                    }
                    if (sum->count > 0 && sum->max_t > out->max_t) {
                        out->max_t = sum->max_t;
                    }
                }
            }
        }
        pthread_mutex_unlock(&sh->mu);
    }
    out->samples_appended = atomic_load(&h->samples_appended);
    out->series_created = atomic_load(&h->series_created);
    out->series_removed = atomic_load(&h->series_removed);
    out->replay_ms = h->replay_ms;
    out->replayed_records = h->replayed_records;
    out->wal_torn_tails = h->wal_torn_tails;
    out->wal_corrupt_records = h->wal_corrupt_records;
    pthread_mutex_lock(&h->snap_mu);
    out->snapshot_ms = h->snapshot_ms;
    out->snapshots_written = h->snapshots_written;
    out->snapshots_failed = h->snapshots_failed;
    pthread_mutex_unlock(&h->snap_mu);
    out->snapshot_load_ms = h->snapshot_load_ms;
    out->snapshot_series_loaded = h->snapshot_series_loaded;
}
