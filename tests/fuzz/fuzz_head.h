/*
 * fuzz_head.h — the check shared by the targets that feed files to the
 * head's start-up path (fuzz_wal.c: a WAL segment; fuzz_snapshot.c: a
 * snapshot file): open a head on a data directory prepared by the target,
 * read everything it restored, write a snapshot, reopen from that snapshot
 * and require the same content, then commit one sample to show the head
 * still works.
 *
 * "Content" is a digest over every series reachable through a label name
 * (refs in order; label pairs; float samples; histogram samples' times and
 * sums, bit for bit), plus the series and sample counts of br_head_stats.
 * A snapshot of a head must restore that head exactly, whatever input
 * built it: that is the invariant this check asserts.
 *
 * Threads: called from the fuzzer's thread only.
 */
#ifndef BR_TESTS_FUZZ_HEAD_H
#define BR_TESTS_FUZZ_HEAD_H

#include "engine/core/arena.h"
#include "engine/core/hash.h"
#include "storage/head.h"
#include "storage/matcher.h"
#include "tests/fuzz/fuzz_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct fz_head_digest {
    uint64_t hash;
    uint64_t series_seen;
    uint64_t floats_seen;
    uint64_t hists_seen;
    uint64_t stats_series;
    uint64_t stats_samples;
} fz_head_digest;

static inline int fz_ref_cmp(const void *a, const void *b)
{
    br_series_ref x = *(const br_series_ref *)a;
    br_series_ref y = *(const br_series_ref *)b;
    return x < y ? -1 : x > y;
}

static inline uint64_t fz_mix_bytes(uint64_t h, const void *p, size_t n)
{
    return br_fnv1a64(h, p, n);
}

/* Reads everything h holds into d (caller-owned). */
static inline void fz_head_digest_of(br_head *h, fz_head_digest *d)
{
    memset(d, 0, sizeof(*d));
    d->hash = 1469598103934665603ull;
    br_head_read_begin(h);
    br_strs names;
    memset(&names, 0, sizeof(names));
    br_head_label_names(h, NULL, &names);
    br_refs all;
    br_refs_init(&all);
    for (size_t i = 0; i < names.n; i++) {
        br_matcher m;
        br_err err;
        br_err_clear(&err);
        FZ_CHECK(br_matcher_init(&m, BR_MATCH_RE, names.v[i], ".+", &err) == 0, "matcher: %s",
                 err.msg);
        br_refs r;
        br_refs_init(&r);
        FZ_CHECK(br_head_select(h, &m, 1, &r, &err) == 0, "select %s: %s", names.v[i], err.msg);
        for (size_t k = 0; k < r.n; k++) {
            br_refs_push(&all, r.v[k]);
        }
        br_refs_free(&r);
        br_matcher_free(&m);
    }
    br_strs_free(&names);
    if (all.n > 0) {
        qsort(all.v, all.n, sizeof(*all.v), fz_ref_cmp);
    }
    br_arena arena;
    br_arena_init(&arena, 64 * 1024, 0);
    for (size_t i = 0; i < all.n; i++) {
        if (i > 0 && all.v[i] == all.v[i - 1]) {
            continue;
        }
        br_series_ref ref = all.v[i];
        const br_labels *ls = br_head_series_labels(h, ref);
        FZ_CHECK(ls != NULL, "selected series %llu has no labels", (unsigned long long)ref);
        d->series_seen++;
        d->hash = fz_mix_bytes(d->hash, &ref, sizeof(ref));
        for (size_t k = 0; k < br_labels_count(ls); k++) {
            const br_label *l = br_labels_at(ls, k);
            d->hash = fz_mix_bytes(d->hash, l->name, strlen(l->name) + 1);
            d->hash = fz_mix_bytes(d->hash, l->value, strlen(l->value) + 1);
        }
        br_series_iter it;
        br_head_series_iter(h, ref, INT64_MIN, INT64_MAX, &it);
        int64_t prev = INT64_MIN;
        bool first = true;
        while (br_series_iter_next(&it)) {
            FZ_CHECK(first || it.t > prev, "series %llu: timestamps not increasing",
                     (unsigned long long)ref);
            first = false;
            prev = it.t;
            d->floats_seen++;
            d->hash = fz_mix_bytes(d->hash, &it.t, sizeof(it.t));
            d->hash = fz_mix_bytes(d->hash, &it.v, sizeof(it.v));
        }
        br_series_iter_free(&it);
        br_histogram_sample *hs = NULL;
        size_t nh = br_head_series_histograms(h, ref, INT64_MIN, INT64_MAX, &arena, &hs);
        for (size_t k = 0; k < nh; k++) {
            d->hists_seen++;
            d->hash = fz_mix_bytes(d->hash, &hs[k].t, sizeof(hs[k].t));
            d->hash = fz_mix_bytes(d->hash, &hs[k].h.sum, sizeof(hs[k].h.sum));
        }
        br_arena_reset(&arena);
    }
    br_arena_free(&arena);
    br_refs_free(&all);
    br_head_read_end(h);
    br_head_stats st;
    br_head_stats_get(h, &st);
    d->stats_series = st.series;
    d->stats_samples = st.samples;
}

static inline br_head *fz_head_open(const char *dir)
{
    br_head_options o;
    memset(&o, 0, sizeof(o));
    o.dir = dir;
    o.fsync = BR_WAL_FSYNC_NEVER;
    o.wal_segment_bytes = 1024 * 1024;
    br_head *h = NULL;
    br_err err;
    br_err_clear(&err);
    int rc = br_head_open(&o, &h, &err);
    FZ_CHECK(rc == 0 || err.msg[0] != '\0', "open failed (%d) without a message", rc);
    return rc == 0 ? h : NULL;
}

/* Opens the head in dir (prepared by the caller), checks it as described
 * at the top of this file, and closes it. */
static inline void fz_head_check(const char *dir)
{
    br_head *h = fz_head_open(dir);
    if (h == NULL) {
        return;
    }
    fz_head_digest a;
    fz_head_digest_of(h, &a);
    br_err err;
    br_err_clear(&err);
    int rc = br_head_snapshot(h, &err);
    br_head_close(h);
    if (rc != 0) {
        /* A snapshot may fail only for I/O reasons, never for content. */
        FZ_CHECK(rc == BR_EIO, "snapshot failed: %s", err.msg);
        return;
    }
    h = fz_head_open(dir);
    FZ_CHECK(h != NULL, "reopening after a snapshot failed");
    fz_head_digest b;
    fz_head_digest_of(h, &b);
    FZ_CHECK(memcmp(&a, &b, sizeof(a)) == 0,
             "head differs after snapshot and reopen: series %llu/%llu seen %llu/%llu, floats "
             "%llu/%llu, histograms %llu/%llu, samples %llu/%llu, digest %016llx/%016llx",
             (unsigned long long)a.stats_series, (unsigned long long)b.stats_series,
             (unsigned long long)a.series_seen, (unsigned long long)b.series_seen,
             (unsigned long long)a.floats_seen, (unsigned long long)b.floats_seen,
             (unsigned long long)a.hists_seen, (unsigned long long)b.hists_seen,
             (unsigned long long)a.stats_samples, (unsigned long long)b.stats_samples,
             (unsigned long long)a.hash, (unsigned long long)b.hash);

    static const br_label probe_labels[] = {{"__name__", "fuzz_probe"}, {"job", "fuzz"}};
    br_sample probe = {.t = INT64_C(1700000000000), .v = 1.0};
    br_series_input in = {.labels = probe_labels, .n_labels = 2, .samples = &probe, .n_samples = 1};
    br_commit_result res;
    memset(&res, 0, sizeof(res));
    rc = br_head_commit(h, &in, 1, &res, &err);
    FZ_CHECK(rc == 0, "commit after reopen failed: %s", err.msg);
    br_head_close(h);
}

#endif
