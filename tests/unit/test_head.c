/*
 * test_head.c — the store: commit and read back, the per-sample verdicts
 * (duplicate, conflict, out of order, too old, series limit), selection
 * and label listing, histograms, retention, concurrent commits, and
 * durability through the WAL across a reopen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/core/clock.h"
#include "storage/chunk.h"
#include "storage/head.h"
#include "tests/helpers/testutil.h"

#include <math.h>
#include <pthread.h>

static br_head *open_mem(int64_t retention_ms, int64_t max_series)
{
    br_head_options o = {.retention_ms = retention_ms, .max_series = max_series};
    br_head *h = NULL;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_head_open(&o, &h, &err), 0);
    return h;
}

static br_series_input series(const br_label *ls, size_t n, const br_sample *s, size_t ns)
{
    br_series_input in = {.labels = ls, .n_labels = n, .samples = s, .n_samples = ns};
    return in;
}

/* Reads every sample of the single series matching name into out. */
static size_t read_all(br_head *h, const char *name, int64_t mint, int64_t maxt, br_sample *out,
                       size_t max)
{
    br_matcher m;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_matcher_init(&m, BR_MATCH_EQ, "__name__", name, &err), 0);
    br_refs refs;
    br_refs_init(&refs);
    br_head_read_begin(h);
    assert_int_equal(br_head_select(h, &m, 1, &refs, &err), 0);
    size_t n = 0;
    if (refs.n == 1) {
        br_series_iter it;
        br_head_series_iter(h, refs.v[0], mint, maxt, &it);
        while (br_series_iter_next(&it)) {
            if (n < max) {
                out[n].t = it.t;
                out[n].v = it.v;
            }
            n++;
        }
        br_series_iter_free(&it);
    }
    br_head_read_end(h);
    br_refs_free(&refs);
    br_matcher_free(&m);
    return n;
}

static void test_head_commit_then_read_back_in_order(void **state)
{
    (void)state;
    br_head *h = open_mem(0, 0);
    const br_label ls[] = {{"__name__", "req_total"}, {"code", "200"}};
    enum { N = 1000 };
    br_sample s[N];
    for (int i = 0; i < N; i++) {
        s[i].t = 1000000 + (int64_t)i * 15000;
        s[i].v = (double)(i * 37);
    }
    /* Send in 4 commits to cross chunk boundaries with an open chunk. */
    br_commit_result r;
    br_err err;
    for (int part = 0; part < 4; part++) {
        br_series_input in = series(ls, 2, s + part * (N / 4), N / 4);
        assert_int_equal(br_head_commit(h, &in, 1, &r, &err), 0);
        assert_int_equal(r.samples_written, N / 4);
        assert_int_equal(br_commit_rejected(&r), 0);
    }
    static br_sample got[N];
    assert_int_equal(read_all(h, "req_total", INT64_MIN, INT64_MAX, got, N), N);
    for (int i = 0; i < N; i++) {
        assert_true(got[i].t == s[i].t);
        assert_true(got[i].v == s[i].v);
    }
    /* A window inside the data. */
    size_t n = read_all(h, "req_total", s[100].t, s[199].t, got, N);
    assert_int_equal(n, 100);
    assert_true(got[0].t == s[100].t);
    br_head_stats st;
    br_head_stats_get(h, &st);
    assert_int_equal(st.series, 1);
    assert_int_equal(st.samples, N);
    assert_true(st.chunks >= 2);
    assert_true(st.min_t == s[0].t && st.max_t == s[N - 1].t);
    br_head_close(h);
}

static void test_head_verdicts_per_sample(void **state)
{
    (void)state;
    br_head *h = open_mem(0, 0);
    const br_label ls[] = {{"__name__", "x"}};
    br_sample first[] = {{1000, 1}, {2000, 2}, {3000, 3}};
    br_series_input in = series(ls, 1, first, 3);
    br_commit_result r;
    br_err err;
    assert_int_equal(br_head_commit(h, &in, 1, &r, &err), 0);
    assert_int_equal(r.series_created, 1);

    /* Same timestamp and value: accepted, not stored twice. Different value:
     * rejected. Older: out of order. Newer: stored. */
    br_sample again[] = {{3000, 3}, {3000, 4}, {2500, 9}, {4000, 4}};
    in = series(ls, 1, again, 4);
    assert_int_equal(br_head_commit(h, &in, 1, &r, &err), 0);
    assert_int_equal(r.duplicates_ignored, 1);
    assert_int_equal(r.duplicate_conflict, 1);
    assert_int_equal(r.out_of_order, 1);
    assert_int_equal(r.samples_written, 1);
    assert_int_equal(br_commit_rejected(&r), 2);
    assert_non_null(strstr(r.first_rejection, "__name__=\"x\""));
    /* A sender retrying an already stored batch: every sample is a duplicate,
     * and an older sample with another value is a conflict. */
    br_sample retry[] = {{1000, 1}, {2000, 2}, {3000, 3}};
    in = series(ls, 1, retry, 3);
    assert_int_equal(br_head_commit(h, &in, 1, &r, &err), 0);
    assert_int_equal(r.duplicates_ignored, 3);
    assert_int_equal(br_commit_rejected(&r), 0);
    br_sample changed[] = {{2000, 7}};
    in = series(ls, 1, changed, 1);
    assert_int_equal(br_head_commit(h, &in, 1, &r, &err), 0);
    assert_int_equal(r.duplicate_conflict, 1);
    br_sample got[8];
    assert_int_equal(read_all(h, "x", INT64_MIN, INT64_MAX, got, 8), 4);
    assert_true(got[3].t == 4000 && got[3].v == 4);
    br_head_close(h);
}

/* The commit batches the series of each shard (lookups and appends are
 * prefetched level by level): a series listed twice in one request, first
 * as new then again, must stay one series with both sample runs; and a
 * commit over many series (several per shard) finds every existing one. */
static void test_head_series_twice_in_one_commit_and_many_per_shard(void **state)
{
    (void)state;
    br_head *h = open_mem(0, 0);
    const br_label ls[] = {{"__name__", "twice"}, {"job", "a"}};
    br_sample a[] = {{1000, 1}, {2000, 2}};
    br_sample b[] = {{3000, 3}, {4000, 4}};
    br_series_input in[2] = {series(ls, 2, a, 2), series(ls, 2, b, 2)};
    br_commit_result r;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_head_commit(h, in, 2, &r, &err), 0);
    assert_int_equal(r.series_created, 1);
    assert_int_equal(r.samples_written, 4);
    br_sample got[8];
    assert_int_equal(read_all(h, "twice", INT64_MIN, INT64_MAX, got, 8), 4);
    assert_true(got[3].t == 4000 && got[3].v == 4);

    enum { NS = 2000, ROUNDS = 3 };
    static char names[NS][24];
    static br_label many[NS][2];
    static br_sample smp[NS];
    static br_series_input ins[NS];
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < NS; i++) {
            snprintf(names[i], sizeof(names[i]), "%d", i);
            many[i][0] = (br_label){"__name__", "many"};
            many[i][1] = (br_label){"id", names[i]};
            smp[i] = (br_sample){10000 + round * 15000, (double)(i + round)};
            ins[i] = series(many[i], 2, &smp[i], 1);
        }
        assert_int_equal(br_head_commit(h, ins, NS, &r, &err), 0);
        assert_int_equal(r.series_created, round == 0 ? NS : 0);
        assert_int_equal(r.samples_written, NS);
        assert_int_equal(br_commit_rejected(&r), 0);
    }
    br_head_stats st;
    br_head_stats_get(h, &st);
    assert_int_equal(st.series, NS + 1);
    assert_int_equal(st.samples, NS * ROUNDS + 4);
    br_head_close(h);
}

static void test_head_stale_marker_round_trips(void **state)
{
    (void)state;
    br_head *h = open_mem(0, 0);
    const br_label ls[] = {{"__name__", "up"}};
    br_sample s[] = {{1000, 1}, {2000, br_stale_nan()}, {3000, 1}};
    br_series_input in = series(ls, 1, s, 3);
    br_commit_result r;
    br_err err;
    assert_int_equal(br_head_commit(h, &in, 1, &r, &err), 0);
    br_sample got[4];
    assert_int_equal(read_all(h, "up", INT64_MIN, INT64_MAX, got, 4), 3);
    assert_true(br_is_stale_nan(got[1].v));
    br_head_close(h);
}

/* The oldest timestamp committed since the last take reports late SLI
 * data to the evaluator; derived commits (recorded, replayed series) are
 * stored but not reported. */
static void test_head_oldest_append_ignores_derived_commits(void **state)
{
    (void)state;
    br_head *h = open_mem(0, 0);
    const br_label sli[] = {{"__name__", "http_requests_total"}};
    const br_label rec[] = {{"__name__", "slo:sli_error:ratio_rate5m"}};
    br_sample s1[] = {{5000, 1}, {6000, 2}};
    br_sample s2[] = {{1000, 0.5}, {2000, 0.25}};
    br_series_input a = series(sli, 1, s1, 2);
    br_series_input b = series(rec, 1, s2, 2);
    br_commit_result r;
    br_err err;
    assert_int_equal(br_head_take_oldest_append(h), INT64_MAX);
    assert_int_equal(br_head_commit(h, &a, 1, &r, &err), 0);
    assert_int_equal(br_head_commit_flags(h, &b, 1, BR_COMMIT_DERIVED, &r, &err), 0);
    assert_int_equal(r.samples_written, 2);
    assert_int_equal(br_head_take_oldest_append(h), 5000);
    assert_int_equal(br_head_take_oldest_append(h), INT64_MAX);
    /* the same derived samples again: duplicates, nothing reported */
    assert_int_equal(br_head_commit_flags(h, &b, 1, BR_COMMIT_DERIVED, &r, &err), 0);
    assert_int_equal(br_head_take_oldest_append(h), INT64_MAX);
    br_sample got[4];
    assert_int_equal(read_all(h, "slo:sli_error:ratio_rate5m", INT64_MIN, INT64_MAX, got, 4), 2);
    br_head_close(h);
}

static void test_head_rejects_too_old_and_over_series_limit(void **state)
{
    (void)state;
    br_head *h = open_mem(3600 * 1000, 2);
    int64_t now = br_now_ms();
    const br_label a[] = {{"__name__", "a"}};
    const br_label b[] = {{"__name__", "b"}};
    const br_label c[] = {{"__name__", "c"}};
    br_sample old[] = {{now - 2 * 3600 * 1000, 1}, {now - 1000, 2}};
    br_sample fresh[] = {{now, 1}};
    br_series_input in[3] = {series(a, 1, old, 2), series(b, 1, fresh, 1),
                             series(c, 1, fresh, 1)};
    br_commit_result r;
    br_err err;
    assert_int_equal(br_head_commit(h, in, 3, &r, &err), 0);
    assert_int_equal(r.too_old, 1);
    assert_int_equal(r.series_limit, 1);
    assert_int_equal(r.samples_written, 2);
    br_head_stats st;
    br_head_stats_get(h, &st);
    assert_int_equal(st.series, 2);
    br_head_close(h);
}

static void test_head_select_and_label_listing(void **state)
{
    (void)state;
    br_head *h = open_mem(0, 0);
    const char *codes[] = {"200", "500", "503"};
    br_sample s[] = {{1000, 1}};
    br_commit_result r;
    br_err err;
    for (int svc = 0; svc < 2; svc++) {
        for (int c = 0; c < 3; c++) {
            const br_label ls[] = {{"__name__", "http_requests_total"},
                                   {"code", codes[c]},
                                   {"service", svc ? "checkout" : "search"}};
            br_series_input in = series(ls, 3, s, 1);
            assert_int_equal(br_head_commit(h, &in, 1, &r, &err), 0);
        }
    }
    br_matcher ms[2];
    assert_int_equal(br_matcher_init(&ms[0], BR_MATCH_EQ, "service", "checkout", &err), 0);
    assert_int_equal(br_matcher_init(&ms[1], BR_MATCH_RE, "code", "5..", &err), 0);
    br_refs refs;
    br_refs_init(&refs);
    br_head_read_begin(h);
    assert_int_equal(br_head_select(h, ms, 2, &refs, &err), 0);
    assert_int_equal(refs.n, 2);
    for (size_t i = 0; i < refs.n; i++) {
        const br_labels *ls = br_head_series_labels(h, refs.v[i]);
        assert_string_equal(br_labels_get(ls, "service"), "checkout");
        assert_int_equal(br_labels_get(ls, "code")[0], '5');
        int64_t lo, hi;
        assert_true(br_head_series_bounds(h, refs.v[i], &lo, &hi));
        assert_true(lo == 1000 && hi == 1000);
    }
    br_strs names = {0};
    br_head_label_names(h, NULL, &names);
    assert_int_equal(names.n, 3);
    assert_string_equal(names.v[0], "__name__");
    br_strs values = {0};
    br_head_label_values(h, "code", &refs, &values);
    assert_int_equal(values.n, 2);
    assert_string_equal(values.v[0], "500");
    br_head_read_end(h);
    br_strs_free(&names);
    br_strs_free(&values);
    br_refs_free(&refs);
    br_matcher_free(&ms[0]);
    br_matcher_free(&ms[1]);
    br_head_close(h);
}

static void test_head_histograms_round_trip(void **state)
{
    (void)state;
    br_head *h = open_mem(0, 0);
    const br_label ls[] = {{"__name__", "latency_seconds"}};
    br_span spans[] = {{-2, 2}, {2, 1}};
    double b1[] = {3, 5, 1};
    double b2[] = {4, 7, 2};
    br_histogram_sample hs[2];
    memset(hs, 0, sizeof(hs));
    hs[0].t = 1000;
    hs[0].h = (br_histogram){.schema = 3, .count = 9, .sum = 4.5, .zero_threshold = 1e-128,
                             .n_pos_spans = 2, .pos_spans = spans, .n_pos = 3,
                             .pos_buckets = b1};
    hs[1] = hs[0];
    hs[1].t = 2000;
    hs[1].h.count = 13;
    hs[1].h.pos_buckets = b2;
    br_series_input in = {.labels = ls, .n_labels = 1, .histograms = hs, .n_histograms = 2};
    br_commit_result r;
    br_err err;
    assert_int_equal(br_head_commit(h, &in, 1, &r, &err), 0);
    assert_int_equal(r.histograms_written, 2);
    br_matcher m;
    assert_int_equal(br_matcher_init(&m, BR_MATCH_EQ, "__name__", "latency_seconds", &err), 0);
    br_refs refs;
    br_refs_init(&refs);
    br_head_read_begin(h);
    assert_int_equal(br_head_select(h, &m, 1, &refs, &err), 0);
    assert_int_equal(refs.n, 1);
    br_arena arena;
    br_arena_init(&arena, 0, 0);
    br_histogram_sample *got = NULL;
    assert_int_equal(br_head_series_histograms(h, refs.v[0], 0, 5000, &arena, &got), 2);
    assert_true(got[1].t == 2000);
    assert_true(got[1].h.count == 13);
    assert_int_equal(got[1].h.n_pos, 3);
    assert_true(got[1].h.pos_buckets[2] == 2);
    assert_int_equal(got[1].h.pos_spans[1].offset, 2);
    br_head_read_end(h);
    br_arena_free(&arena);
    br_refs_free(&refs);
    br_matcher_free(&m);
    br_head_close(h);
}

static void test_head_gc_drops_old_chunks_and_empty_series(void **state)
{
    (void)state;
    br_head *h = open_mem(3600 * 1000, 0);
    int64_t now = br_now_ms();
    const br_label old_ls[] = {{"__name__", "old"}};
    const br_label live_ls[] = {{"__name__", "live"}};
    enum { N = 600 };
    static br_sample old[N];
    static br_sample live[N];
    for (int i = 0; i < N; i++) {
        old[i].t = now - 3000 * 1000 + (int64_t)i * 1000; /* 50 min ago .. 40 min ago */
        old[i].v = i;
        live[i].t = now - 3500 * 1000 + (int64_t)i * 5000; /* 58 min ago .. now-ish */
        live[i].v = i;
    }
    br_series_input in[2] = {series(old_ls, 1, old, N), series(live_ls, 1, live, N)};
    br_commit_result r;
    br_err err;
    assert_int_equal(br_head_commit(h, in, 2, &r, &err), 0);
    assert_int_equal(r.samples_written, 2 * N);
    /* With the cutoff 25 minutes before now, everything of "old" (newest
     * sample 40 min ago) has expired; "live" (newest 8 min ago) keeps its
     * newer chunks only. */
    br_head_gc(h, now - 1500 * 1000 + 3600 * 1000, 0);
    br_head_stats st;
    br_head_stats_get(h, &st);
    assert_int_equal(st.series, 1);
    assert_int_equal(st.series_removed, 1);
    assert_true(st.samples > 0 && st.samples < N);
    br_sample got[N];
    assert_int_equal(read_all(h, "old", INT64_MIN, INT64_MAX, got, N), 0);
    br_head_close(h);
}

static void test_head_gc_merges_frozen_chunks_and_keeps_every_sample(void **state)
{
    (void)state;
    br_head *h = open_mem(0, 0); /* no retention: gc only merges */
    const br_label ls[] = {{"__name__", "c"}};
    enum { N = 5000 };
    static br_sample s[N];
    static br_sample got[N];
    uint64_t x = 7;
    double v = 0;
    for (int i = 0; i < N; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        v += (double)(x >> 56);
        s[i].t = 1700000000000 + (int64_t)i * 15000 + (i == 3000 ? 7 : 0);
        s[i].v = i == 4000 ? 0.5 : v; /* one non-integer, one jittered time */
    }
    br_series_input in = series(ls, 1, s, N);
    br_commit_result r;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_head_commit(h, &in, 1, &r, &err), 0);
    br_head_stats before;
    br_head_stats_get(h, &before);
    /* 5000 samples at 240 per chunk: 20 frozen + 1 open. */
    assert_int_equal(before.chunks, 21);
    br_head_read_begin(h); /* a reader holding the old chunks stays safe */
    br_head_read_end(h);
    br_head_gc(h, 0, 0);
    br_head_stats after;
    br_head_stats_get(h, &after);
    /* Runs of BR_CHUNK_MERGE_SAMPLES / 240 chunks merge (8 at 1920: chunks 0-7
     * and 8-15); the rest of the 20 frozen ones wait for their run to complete. */
    enum { PER = BR_CHUNK_MERGE_SAMPLES / 240, RUNS = 20 / PER, WAIT = 20 - RUNS * PER };
    assert_int_equal(after.chunks, RUNS + WAIT + 1);
    assert_int_equal(after.samples, N);
    assert_true(after.chunk_bytes < before.chunk_bytes);
    assert_int_equal(read_all(h, "c", INT64_MIN, INT64_MAX, got, N), N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(got[i].t, s[i].t);
        assert_memory_equal(&got[i].v, &s[i].v, sizeof(double));
    }
    /* A second pass changes nothing. */
    br_head_gc(h, 0, 0);
    br_head_stats_get(h, &after);
    assert_int_equal(after.chunks, RUNS + WAIT + 1);
    br_head_close(h);
}

typedef struct writer_arg {
    br_head *h;
    int id;
} writer_arg;

static void *writer_main(void *p)
{
    writer_arg *a = p;
    char own[32];
    snprintf(own, sizeof(own), "w%d", a->id);
    br_sample s[10];
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 10; i++) {
            s[i].t = (int64_t)round * 10 + i + 1;
            s[i].v = round;
        }
        const br_label mine[] = {{"__name__", "own"}, {"writer", own}};
        const br_label shared[] = {{"__name__", "shared"}};
        br_series_input in[2] = {series(mine, 2, s, 10), series(shared, 1, s, 10)};
        br_commit_result r;
        br_err err;
        if (br_head_commit(a->h, in, 2, &r, &err) != 0) {
            return (void *)1;
        }
    }
    return NULL;
}

static void test_head_concurrent_commits_keep_every_sample(void **state)
{
    (void)state;
    br_head *h = open_mem(0, 0);
    enum { W = 4 };
    pthread_t th[W];
    writer_arg args[W];
    for (int i = 0; i < W; i++) {
        args[i].h = h;
        args[i].id = i;
        assert_int_equal(pthread_create(&th[i], NULL, writer_main, &args[i]), 0);
    }
    for (int i = 0; i < W; i++) {
        void *ret = NULL;
        pthread_join(th[i], &ret);
        assert_null(ret);
    }
    br_head_stats st;
    br_head_stats_get(h, &st);
    assert_int_equal(st.series, W + 1);
    /* Each writer's own series holds all 2000 samples; the shared series
     * holds each timestamp once (the others were duplicates or late). */
    br_sample *got = malloc(sizeof(br_sample) * 4000);
    size_t shared = read_all(h, "shared", INT64_MIN, INT64_MAX, got, 4000);
    assert_true(shared >= 2000 / W && shared <= 2000);
    for (size_t i = 1; i < shared; i++) {
        assert_true(got[i].t > got[i - 1].t);
    }
    assert_int_equal(st.samples, (uint64_t)W * 2000 + shared);
    free(got);
    br_head_close(h);
}

static void test_head_reopen_replays_wal(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("head");
    br_head_options o = {.dir = dir, .fsync = BR_WAL_FSYNC_ALWAYS};
    br_head *h = NULL;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_head_open(&o, &h, &err), 0);
    const br_label ls[] = {{"__name__", "durable_total"}, {"job", "api"}};
    enum { N = 500 };
    static br_sample s[N];
    for (int i = 0; i < N; i++) {
        s[i].t = 5000 + (int64_t)i * 15000;
        s[i].v = i * 1.5;
    }
    br_commit_result r;
    for (int part = 0; part < 5; part++) {
        br_series_input in = series(ls, 2, s + part * (N / 5), N / 5);
        assert_int_equal(br_head_commit(h, &in, 1, &r, &err), 0);
    }
    br_head_close(h);

    assert_int_equal(br_head_open(&o, &h, &err), 0);
    static br_sample got[N];
    assert_int_equal(read_all(h, "durable_total", INT64_MIN, INT64_MAX, got, N), N);
    for (int i = 0; i < N; i++) {
        assert_true(got[i].t == s[i].t && got[i].v == s[i].v);
    }
    /* New series after replay get fresh refs; old data is still there. */
    const br_label ls2[] = {{"__name__", "after_total"}};
    br_series_input in = series(ls2, 1, s, 10);
    assert_int_equal(br_head_commit(h, &in, 1, &r, &err), 0);
    assert_int_equal(r.series_created, 1);
    br_head_stats st;
    br_head_stats_get(h, &st);
    assert_int_equal(st.series, 2);
    assert_true(st.replayed_records >= 6);
    br_head_close(h);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head_commit_then_read_back_in_order),
        cmocka_unit_test(test_head_verdicts_per_sample),
        cmocka_unit_test(test_head_series_twice_in_one_commit_and_many_per_shard),
        cmocka_unit_test(test_head_stale_marker_round_trips),
        cmocka_unit_test(test_head_oldest_append_ignores_derived_commits),
        cmocka_unit_test(test_head_rejects_too_old_and_over_series_limit),
        cmocka_unit_test(test_head_select_and_label_listing),
        cmocka_unit_test(test_head_histograms_round_trip),
        cmocka_unit_test(test_head_gc_drops_old_chunks_and_empty_series),
        cmocka_unit_test(test_head_gc_merges_frozen_chunks_and_keeps_every_sample),
        cmocka_unit_test(test_head_concurrent_commits_keep_every_sample),
        cmocka_unit_test(test_head_reopen_replays_wal),
    };
    return cmocka_run_group_tests_name("head", tests, NULL, NULL);
}
