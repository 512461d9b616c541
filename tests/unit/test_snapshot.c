/*
 * test_snapshot.c — head snapshots: a restart loads the snapshot and
 * replays only the WAL tail, with every sample intact and open chunks
 * still appendable; old WAL segments are deleted; a corrupt or truncated
 * newest snapshot falls back to the older one plus a longer WAL replay.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "storage/head.h"
#include "tests/helpers/testutil.h"

#include <dirent.h>
#include <fcntl.h>

enum { SERIES = 20, STEP = 15000 };

static char *dir;

static int setup_dir(void **state)
{
    (void)state;
    dir = tu_mkdtemp("snap");
    return dir ? 0 : -1;
}

static int teardown_dir(void **state)
{
    (void)state;
    tu_rmtree(dir);
    free(dir);
    return 0;
}

static br_head *open_head(void)
{
    br_head_options o = {.dir = dir, .fsync = BR_WAL_FSYNC_NEVER, .wal_segment_bytes = 64 * 1024};
    br_head *h = NULL;
    br_err err;
    br_err_clear(&err);
    int rc = br_head_open(&o, &h, &err);
    if (rc != 0) {
        print_error("open: %s\n", err.msg);
    }
    assert_int_equal(rc, 0);
    return h;
}

/* Appends samples [from, to) to every series: value = series*1000 + i. */
static void append_range(br_head *h, int from, int to)
{
    char names[SERIES][16];
    br_label labels[SERIES][2];
    br_sample *samples = malloc(sizeof(br_sample) * (size_t)(to - from) * SERIES);
    br_series_input in[SERIES];
    for (int s = 0; s < SERIES; s++) {
        snprintf(names[s], sizeof(names[s]), "s%02d", s);
        labels[s][0] = (br_label){"__name__", "snap_total"};
        labels[s][1] = (br_label){"id", names[s]};
        br_sample *mine = samples + (size_t)s * (size_t)(to - from);
        for (int i = from; i < to; i++) {
            mine[i - from].t = (int64_t)i * STEP;
            mine[i - from].v = s * 1000 + i;
        }
        in[s] = (br_series_input){.labels = labels[s], .n_labels = 2, .samples = mine,
                                  .n_samples = (size_t)(to - from)};
    }
    br_commit_result r;
    br_err err;
    assert_int_equal(br_head_commit(h, in, SERIES, &r, &err), 0);
    assert_int_equal(r.samples_written, (uint64_t)(to - from) * SERIES);
    free(samples);
}

/* Checks every series holds exactly samples [0, upto) with the right values. */
static void check_all(br_head *h, int upto)
{
    br_matcher m;
    br_err err;
    assert_int_equal(br_matcher_init(&m, BR_MATCH_EQ, "__name__", "snap_total", &err), 0);
    br_refs refs;
    br_refs_init(&refs);
    br_head_read_begin(h);
    assert_int_equal(br_head_select(h, &m, 1, &refs, &err), 0);
    assert_int_equal(refs.n, SERIES);
    for (size_t k = 0; k < refs.n; k++) {
        const br_labels *ls = br_head_series_labels(h, refs.v[k]);
        int s = atoi(br_labels_get(ls, "id") + 1);
        br_series_iter it;
        br_head_series_iter(h, refs.v[k], INT64_MIN, INT64_MAX, &it);
        int i = 0;
        while (br_series_iter_next(&it)) {
            assert_true(it.t == (int64_t)i * STEP);
            assert_true(it.v == s * 1000 + i);
            i++;
        }
        br_series_iter_free(&it);
        assert_int_equal(i, upto);
    }
    br_head_read_end(h);
    br_refs_free(&refs);
    br_matcher_free(&m);
}

static size_t count_files(const char *sub, const char *prefix)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    DIR *d = opendir(path);
    size_t n = 0;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
            n++;
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    return n;
}

static void test_snapshot_restart_replays_only_the_tail(void **state)
{
    (void)state;
    br_head *h = open_head();
    append_range(h, 0, 500);
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_head_snapshot(h, &err), 0);
    append_range(h, 500, 530); /* only in the WAL tail */
    br_head_close(h);

    h = open_head();
    br_head_stats st;
    br_head_stats_get(h, &st);
    assert_int_equal(st.snapshot_series_loaded, SERIES);
    check_all(h, 530);
    /* The open chunks keep accepting appends after the restart. */
    append_range(h, 530, 700);
    check_all(h, 700);
    br_head_close(h);
    h = open_head();
    check_all(h, 700);
    br_head_close(h);
}

static void test_snapshot_deletes_old_wal_segments(void **state)
{
    (void)state;
    br_head *h = open_head();
    int upto = 700;
    br_err err;
    for (int round = 0; round < 4; round++) {
        append_range(h, upto, upto + 300);
        upto += 300;
        assert_int_equal(br_head_snapshot(h, &err), 0);
    }
    br_head_stats st;
    br_head_stats_get(h, &st);
    assert_int_equal(st.snapshots_written, 4);
    br_head_close(h);
    assert_int_equal(count_files("snapshots", "snapshot."), 2);
    size_t segments = count_files("wal", "0");
    assert_true(segments >= 1 && segments <= 6);
    h = open_head();
    check_all(h, upto);
    br_head_close(h);
}

/* The WAL-growth trigger (storage.snapshot_wal_size): WAL since the newest
 * snapshot counts appends after its cut plus, after a restart, the tail
 * replayed; a snapshot is due past max(min_bytes, that snapshot's size). */
static void test_snapshot_due_after_wal_growth(void **state)
{
    (void)state;
    char *saved = dir;
    dir = tu_mkdtemp("snapdue");
    assert_non_null(dir);
    br_head *h = open_head();
    assert_int_equal(br_head_wal_since_snapshot(h), 0);
    assert_false(br_head_snapshot_due(h, 1));

    append_range(h, 0, 200);
    uint64_t grown = br_head_wal_since_snapshot(h);
    assert_true(grown > 200 * SERIES * 2); /* at least a few bytes per sample */
    assert_true(br_head_snapshot_due(h, grown));
    assert_false(br_head_snapshot_due(h, grown + 1));
    assert_false(br_head_snapshot_due(h, 0)); /* 0 = off */

    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_head_snapshot(h, &err), 0);
    assert_int_equal(br_head_wal_since_snapshot(h), 0);
    /* A little more WAL than min_bytes but far less than the snapshot: not
     * due yet (a snapshot is never rewritten for less than its own size). */
    append_range(h, 200, 202);
    uint64_t tail = br_head_wal_since_snapshot(h);
    assert_true(tail > 0 && tail < grown);
    assert_false(br_head_snapshot_due(h, 1));
    br_head_close(h);

    /* After a restart the replayed tail still counts. */
    h = open_head();
    check_all(h, 202);
    uint64_t after = br_head_wal_since_snapshot(h);
    assert_true(after >= tail && after < grown);
    append_range(h, 202, 600);
    assert_true(br_head_snapshot_due(h, 1));
    br_head_close(h);
    tu_rmtree(dir);
    free(dir);
    dir = saved;
}

static void test_snapshot_corrupt_newest_falls_back(void **state)
{
    (void)state;
    br_head *h = open_head();
    br_err err;
    append_range(h, 1900, 2000);
    assert_int_equal(br_head_snapshot(h, &err), 0);
    append_range(h, 2000, 2100);
    assert_int_equal(br_head_snapshot(h, &err), 0);
    append_range(h, 2100, 2150);
    br_head_close(h);
    /* Flip a byte in the middle of the newest snapshot. */
    char path[1024];
    snprintf(path, sizeof(path), "%s/snapshots", dir);
    DIR *d = opendir(path);
    struct dirent *e;
    char newest[300] = "";
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "snapshot.", 9) == 0 && strcmp(e->d_name, newest) > 0) {
            snprintf(newest, sizeof(newest), "%s", e->d_name);
        }
    }
    closedir(d);
    char file[1400];
    snprintf(file, sizeof(file), "%s/%s", path, newest);
    int fd = open(file, O_RDWR);
    assert_true(fd >= 0);
    off_t size = lseek(fd, 0, SEEK_END);
    unsigned char byte;
    assert_int_equal(pread(fd, &byte, 1, size / 2), 1);
    byte ^= 0x5a;
    assert_int_equal(pwrite(fd, &byte, 1, size / 2), 1);
    close(fd);

    h = open_head();
    check_all(h, 2150);
    br_head_close(h);

    /* A truncated newest snapshot (no end record) is ignored the same way. */
    fd = open(file, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, size - 3), 0);
    close(fd);
    h = open_head();
    check_all(h, 2150);
    br_head_close(h);
}

/* Reads the one series named `name` into got[0..cap); returns the count. */
static int read_series(br_head *h, const char *name, br_sample *got, int cap)
{
    br_matcher m;
    br_err err;
    assert_int_equal(br_matcher_init(&m, BR_MATCH_EQ, "__name__", name, &err), 0);
    br_refs refs;
    br_refs_init(&refs);
    br_head_read_begin(h);
    assert_int_equal(br_head_select(h, &m, 1, &refs, &err), 0);
    assert_int_equal(refs.n, 1);
    br_series_iter it;
    br_head_series_iter(h, refs.v[0], INT64_MIN, INT64_MAX, &it);
    int n = 0;
    while (br_series_iter_next(&it) && n < cap) {
        got[n].t = it.t;
        got[n].v = it.v;
        n++;
    }
    br_series_iter_free(&it);
    br_head_read_end(h);
    br_refs_free(&refs);
    br_matcher_free(&m);
    return n;
}

/* A histogram _sum (growing non-integer floats, with a stale marker, a
 * NaN payload and -0.0 in it) merged by gc into float-delta chunks comes
 * back from the snapshot bit for bit, with nothing replayed from the WAL. */
static void test_snapshot_keeps_merged_float_chunks_bit_exact(void **state)
{
    (void)state;
    enum { N = 4500 };
    static br_sample s[N];
    static br_sample got[N];
    uint64_t x = 99;
    double v = 1.25;
    for (int i = 0; i < N; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        v += 0.0173 * (double)(20 + (x >> 58));
        s[i].t = 1700000000000 + (int64_t)i * STEP;
        s[i].v = v;
    }
    uint64_t marks[3] = {0x7ff0000000000002ULL, 0x7ff8000000000123ULL, 0x8000000000000000ULL};
    for (int k = 0; k < 3; k++) {
        memcpy(&s[1000 + 700 * k].v, &marks[k], sizeof(double));
    }
    const br_label ls[] = {{"__name__", "lat_sum"}};
    br_series_input in = {.labels = ls, .n_labels = 1, .samples = s, .n_samples = N};
    char *shared_dir = dir; /* a data dir of its own, not the chain above */
    dir = tu_mkdtemp("snapf");
    assert_non_null(dir);
    br_head *h = open_head();
    br_commit_result r;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_head_commit(h, &in, 1, &r, &err), 0);
    br_head_stats before, after;
    br_head_stats_get(h, &before);
    br_head_gc(h, 0, 0);
    br_head_stats_get(h, &after);
    assert_true(after.chunks < before.chunks);
    assert_true(after.chunk_bytes < before.chunk_bytes);
    assert_int_equal(br_head_snapshot(h, &err), 0);
    br_head_close(h);

    h = open_head();
    br_head_stats_get(h, &after);
    assert_int_equal(after.snapshot_series_loaded, 1);
    assert_int_equal(read_series(h, "lat_sum", got, N), N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(got[i].t, s[i].t);
        assert_memory_equal(&got[i].v, &s[i].v, sizeof(double));
    }
    br_head_close(h);
    tu_rmtree(dir);
    free(dir);
    dir = shared_dir;
}

int main(void)
{
    /* The first three tests share one data dir and build on each other's
     * data; the last one uses a dir of its own. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_restart_replays_only_the_tail),
        cmocka_unit_test(test_snapshot_deletes_old_wal_segments),
        cmocka_unit_test(test_snapshot_corrupt_newest_falls_back),
        cmocka_unit_test(test_snapshot_due_after_wal_growth),
        cmocka_unit_test(test_snapshot_keeps_merged_float_chunks_bit_exact),
    };
    return cmocka_run_group_tests_name("snapshot", tests, setup_dir, teardown_dir);
}
