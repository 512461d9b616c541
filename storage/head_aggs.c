/*
 * head_aggs.c — exact per-interval counter increases and sample counts of
 * one series, the SLO evaluator's read path (see br_head_series_window_aggs
 * in head.h for the definition).
 *
 * The walk goes through the series' chunks in time order keeping `prev`,
 * the last non-NaN value seen, and the index of the interval the current
 * sample falls in. A frozen chunk wholly inside one interval with no NaN
 * contributes from its summary in O(1): the seam increment (its first
 * value against prev) plus summary.increase, which chunk.c computes with
 * the same pairwise rule. Every other chunk is decoded sample by sample.
 *
 * Chunks lying in a gap between intervals are not read at all, and a chunk
 * wholly before an interval only gives its last value (from the summary).
 *
 * Locking: the shard mutex is held only to copy the chunk pointers that
 * matter and the open chunk's samples (appends change it); frozen chunks
 * are immutable and stay alive for the read bracket, so they are decoded
 * without the lock, as br_head_series_iter does.
 */
#include "head_int.h"

#include "engine/core/alloc.h"

#include <math.h>
#include <string.h>

typedef struct agg_walk {
    const br_interval *iv;
    size_t n;
    size_t j;        /* interval of the current sample, or n when past the end */
    bool want_sum;
    bool have_prev;
    double prev;
    int64_t last_t;
    br_window_agg *out;
} agg_walk;

/* Moves w->j to the first interval whose end is >= t. */
static void seek_interval(agg_walk *w, int64_t t)
{
    while (w->j < w->n && w->iv[w->j].end < t) {
        w->j++;
    }
}

static void walk_sample(agg_walk *w, int64_t t, double v)
{
    if (isnan(v)) {
        return;
    }
    seek_interval(w, t);
    if (w->j < w->n && t > w->iv[w->j].start) {
        br_window_agg *a = &w->out[w->j];
        if (w->have_prev) {
            a->increase += v >= w->prev ? v - w->prev : v;
        }
        a->count++;
        if (w->want_sum) {
            a->sum += v;
        }
    }
    if (w->n > 0 && t <= w->iv[w->n - 1].end) {
        w->last_t = t;
    }
    w->prev = v;
    w->have_prev = true;
}

static void walk_chunk(agg_walk *w, const br_chunk *c)
{
    const br_chunk_summary *s = br_chunk_get_summary(c);
    if (s->count == 0) {
        return;
    }
    seek_interval(w, s->min_t);
    if (w->j >= w->n) {
        return; /* after every interval */
    }
    if (s->max_t <= w->iv[w->j].start && !isnan(s->last)) {
        /* Wholly before the next interval (a gap): only its last value
         * matters, as the predecessor of the interval's first sample. */
        w->prev = s->last;
        w->have_prev = true;
        w->last_t = s->max_t;
        return;
    }
    bool inside = s->min_t > w->iv[w->j].start && s->max_t <= w->iv[w->j].end;
    if (inside && !s->has_nan && !w->want_sum) {
        br_window_agg *a = &w->out[w->j];
        if (w->have_prev) {
            a->increase += s->first >= w->prev ? s->first - w->prev : s->first;
        }
        a->increase += s->increase;
        a->count += s->count;
        w->prev = s->last;
        w->have_prev = true;
        w->last_t = s->max_t;
        return;
    }
    br_chunk_iter it;
    br_chunk_iter_init(&it, c);
    while (br_chunk_iter_next(&it)) {
        walk_sample(w, it.t, it.v);
    }
}

/* How many chunks before the first interval to look through for the value
 * preceding it (more only when whole chunks are stale markers). */
#define PREV_SEARCH_CHUNKS 4

bool br_head_series_window_aggs(br_head *h, br_series_ref ref, const br_interval *iv, size_t n,
                                bool want_sum, br_window_agg *out, int64_t *last_t)
{
    memset(out, 0, n * sizeof(*out));
    *last_t = INT64_MIN;
    head_shard *sh = &h->shards[ref & HEAD_SHARD_MASK];
    pthread_mutex_lock(&sh->mu);
    head_series *s = head_shard_find_ref(sh, ref);
    if (s == NULL) {
        pthread_mutex_unlock(&sh->mu);
        return false;
    }
    if (n == 0 || s->n_chunks == 0) {
        pthread_mutex_unlock(&sh->mu);
        return true;
    }
    int64_t last_end = iv[n - 1].end;
    /* The chunks each interval needs: from the first one whose newest
     * sample is after the interval's start (binary search; chunks are in
     * time order), less PREV_SEARCH_CHUNKS for the value before it, to the
     * last one starting inside it. Chunks in the gaps between intervals
     * are never copied or read, so short intervals far apart (a tick's
     * entering and leaving edges) cost O(log chunks) each, not O(chunks). */
    uint32_t *pick = br_malloc(sizeof(*pick) * (s->n_chunks + 1));
    size_t n_pick = 0;
    for (size_t q = 0; q < n; q++) {
        uint32_t lo = 0;
        uint32_t hi = s->n_chunks;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (br_chunk_get_summary(s->chunks[mid])->max_t <= iv[q].start) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        uint32_t a = lo >= PREV_SEARCH_CHUNKS ? lo - PREV_SEARCH_CHUNKS : 0;
        uint32_t b = lo;
        while (b < s->n_chunks && br_chunk_get_summary(s->chunks[b])->min_t <= iv[q].end) {
            b++;
        }
        if (n_pick > 0 && a <= pick[n_pick - 1]) {
            a = pick[n_pick - 1] + 1;
        }
        for (uint32_t c = a; c < b; c++) {
            pick[n_pick++] = c;
        }
    }
    /* Copy what the walk needs; the open chunk's samples are copied. */
    size_t n_frozen = 0;
    const br_chunk **frozen = br_malloc(sizeof(*frozen) * (n_pick + 1));
    br_sample *tail = NULL;
    size_t n_tail = 0;
    for (size_t q = 0; q < n_pick; q++) {
        br_chunk *c = s->chunks[pick[q]];
        if (br_chunk_frozen(c)) {
            frozen[n_frozen++] = c;
            continue;
        }
        const br_chunk_summary *cs = br_chunk_get_summary(c);
        tail = br_malloc(sizeof(*tail) * (cs->count + 1));
        br_chunk_iter ci;
        br_chunk_iter_init(&ci, c);
        while (br_chunk_iter_next(&ci) && ci.t <= last_end) {
            tail[n_tail].t = ci.t;
            tail[n_tail].v = ci.v;
            n_tail++;
        }
    }
    br_free(pick);
    pthread_mutex_unlock(&sh->mu);

    agg_walk w = {.iv = iv, .n = n, .want_sum = want_sum, .last_t = INT64_MIN, .out = out};
    for (size_t q = 0; q < n_frozen; q++) {
        walk_chunk(&w, frozen[q]);
    }
    for (size_t q = 0; q < n_tail; q++) {
        walk_sample(&w, tail[q].t, tail[q].v);
    }
    br_free(frozen);
    br_free(tail);
    *last_t = w.last_t;
    return true;
}
