/*
 * test_wal.c — unit tests for storage/wal: round trips, LSN and sync
 * semantics under the three fsync policies, group commit, concurrent
 * appenders, torn tails, flipped bytes, gaps, rotation and truncation,
 * and I/O failures injected through the br_wal_io hook. The last test
 * measures (and only prints) append rates of 1 KiB records.
 *
 * Every test works in its own directory made with mkdtemp and removes it.
 */

/* cmocka needs these first, in this order. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "engine/core/alloc.h"
#include "engine/core/clock.h"
#include "engine/core/crc32c.h"
#include "engine/core/err.h"
#include "engine/core/log.h"
#include "storage/wal.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------
 * Helpers: temp dirs, files, a record collector, an I/O hook
 * ------------------------------------------------------------------------- */

static char *make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof(tmpl), "%s/br-wal-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return br_strdup(d);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_tmpdir(char *dir)
{
    assert_int_equal(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
    br_free(dir);
}

static void seg_path(const char *dir, uint32_t seg, char *out, size_t size)
{
    int n = snprintf(out, size, "%s/%08u", dir, seg);
    assert_true(n > 0 && (size_t)n < size);
}

static long long file_size(const char *dir, uint32_t seg)
{
    char p[600];
    seg_path(dir, seg, p, sizeof(p));
    struct stat sb;
    if (stat(p, &sb) != 0) {
        return -1;
    }
    return (long long)sb.st_size;
}

static bool file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static void truncate_segment(const char *dir, uint32_t seg, long long size)
{
    char p[600];
    seg_path(dir, seg, p, sizeof(p));
    assert_int_equal(truncate(p, size), 0);
}

static void xor_byte(const char *dir, uint32_t seg, long long off, unsigned char mask)
{
    char p[600];
    seg_path(dir, seg, p, sizeof(p));
    int fd = open(p, O_RDWR);
    assert_true(fd >= 0);
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, off), 1);
    c ^= mask;
    assert_int_equal(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

/* Records collected by replay. */
typedef struct rec {
    uint8_t type;
    size_t len;
    unsigned char *data;
} rec;

typedef struct collector {
    rec *recs;
    size_t n;
    size_t cap;
    size_t stop_after; /* 0 = never stop */
} collector;

static int collect(uint8_t type, const void *payload, size_t len, void *ctx)
{
    collector *c = ctx;
    if (c->stop_after != 0 && c->n == c->stop_after) {
        return BR_ECANCELED;
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->recs = br_realloc(c->recs, c->cap * sizeof(*c->recs));
    }
    rec *r = &c->recs[c->n++];
    r->type = type;
    r->len = len;
    r->data = br_malloc(len + 1);
    memcpy(r->data, payload, len);
    return 0;
}

static void collector_free(collector *c)
{
    for (size_t i = 0; i < c->n; i++) {
        br_free(c->recs[i].data);
    }
    br_free(c->recs);
    memset(c, 0, sizeof(*c));
}

/* Replays dir from from_segment into a fresh collector. */
static void replay_all(const char *dir, uint32_t from, collector *c, br_wal_stats *st)
{
    memset(c, 0, sizeof(*c));
    br_err err;
    br_err_clear(&err);
    int rc = br_wal_replay(dir, from, collect, c, st, &err);
    if (rc != 0) {
        print_error("replay: %s\n", err.msg);
    }
    assert_int_equal(rc, 0);
}

/* Record i of a sequence: type 1 + i % 3, payload "rec-<i>" padded to len. */
static void make_payload(unsigned i, size_t len, unsigned char *out)
{
    for (size_t k = 0; k < len; k++) {
        out[k] = (unsigned char)(i * 31 + k);
    }
    snprintf((char *)out, len, "rec-%u", i);
}

static void append_n(br_wal *w, unsigned first, unsigned count, size_t len, uint64_t *last_lsn)
{
    unsigned char buf[4096];
    assert_true(len <= sizeof(buf));
    br_err err;
    br_err_clear(&err);
    for (unsigned i = first; i < first + count; i++) {
        make_payload(i, len, buf);
        uint64_t lsn = 0;
        int rc = br_wal_append(w, (uint8_t)(1 + i % 3), buf, len, &lsn, &err);
        if (rc != 0) {
            print_error("append: %s\n", err.msg);
        }
        assert_int_equal(rc, 0);
        assert_int_equal(br_wal_sync(w, lsn, &err), 0);
        if (last_lsn != NULL) {
            *last_lsn = lsn;
        }
    }
}

static void assert_records(const collector *c, size_t at, unsigned first, unsigned count,
                           size_t len)
{
    unsigned char buf[4096];
    assert_true(c->n >= at + count);
    for (unsigned k = 0; k < count; k++) {
        const rec *r = &c->recs[at + k];
        make_payload(first + k, len, buf);
        assert_int_equal(r->type, 1 + (first + k) % 3);
        assert_int_equal(r->len, len);
        assert_memory_equal(r->data, buf, len);
    }
}

static br_wal *open_wal(const char *dir, br_wal_fsync_policy policy, uint32_t seg_size,
                        const br_wal_io *io)
{
    br_wal_options o = {.segment_size = seg_size, .fsync = policy, .io = io};
    br_wal *w = NULL;
    br_err err;
    br_err_clear(&err);
    int rc = br_wal_open(dir, &o, &w, &err);
    if (rc != 0) {
        print_error("open: %s\n", err.msg);
    }
    assert_int_equal(rc, 0);
    return w;
}

static void close_wal(br_wal *w)
{
    br_err err;
    br_err_clear(&err);
    int rc = br_wal_close(w, &err);
    if (rc != 0) {
        print_error("close: %s\n", err.msg);
    }
    assert_int_equal(rc, 0);
}

/* The I/O hook: counts calls, fails on demand, caps write sizes, and can
 * hold the first armed fdatasync until released. */
typedef struct hook {
    atomic_int write_calls;
    atomic_int sync_calls;
    atomic_int fail_write_errno; /* nonzero: writes fail with it */
    atomic_int fail_sync_errno;
    atomic_int max_chunk; /* nonzero: short writes of at most this */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool gate_armed;
    bool gate_held;
    bool gate_open;
    int appended; /* used by the group commit test */
} hook;

static ssize_t hook_write(void *ctx, int fd, const void *buf, size_t len)
{
    hook *h = ctx;
    atomic_fetch_add(&h->write_calls, 1);
    int e = atomic_load(&h->fail_write_errno);
    if (e != 0) {
        errno = e;
        return -1;
    }
    int cap = atomic_load(&h->max_chunk);
    if (cap > 0 && len > (size_t)cap) {
        len = (size_t)cap;
    }
    return write(fd, buf, len);
}

static int hook_fdatasync(void *ctx, int fd)
{
    hook *h = ctx;
    atomic_fetch_add(&h->sync_calls, 1);
    pthread_mutex_lock(&h->mu);
    if (h->gate_armed) {
        h->gate_armed = false;
        h->gate_held = true;
        pthread_cond_broadcast(&h->cv);
        while (!h->gate_open) {
            pthread_cond_wait(&h->cv, &h->mu);
        }
    }
    pthread_mutex_unlock(&h->mu);
    int e = atomic_load(&h->fail_sync_errno);
    if (e != 0) {
        errno = e;
        return -1;
    }
    return fdatasync(fd);
}

static void hook_init(hook *h, br_wal_io *io)
{
    memset(h, 0, sizeof(*h));
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    io->write = hook_write;
    io->fdatasync = hook_fdatasync;
    io->ctx = h;
}

static void hook_destroy(hook *h)
{
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
}

/* ---------------------------------------------------------------------------
 * Basic round trip, LSNs and sync policies
 * ------------------------------------------------------------------------- */

static void test_wal_append_sync_replay_round_trip(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    br_wal *w = open_wal(dir, BR_WAL_FSYNC_ALWAYS, 0, NULL);
    append_n(w, 0, 3, 100, NULL);
    br_err err;
    br_err_clear(&err);
    uint64_t lsn;
    assert_int_equal(br_wal_append(w, 200, NULL, 0, &lsn, &err), 0); /* empty payload */
    assert_int_equal(br_wal_sync(w, lsn, &err), 0);
    br_wal_stats st;
    br_wal_get_stats(w, &st);
    assert_int_equal(st.records, 4);
    assert_int_equal(st.first_segment, 1);
    assert_int_equal(st.last_segment, 1);
    close_wal(w);

    collector c;
    replay_all(dir, 0, &c, &st);
    assert_int_equal(c.n, 4);
    assert_records(&c, 0, 0, 3, 100);
    assert_int_equal(c.recs[3].type, 200);
    assert_int_equal(c.recs[3].len, 0);
    assert_int_equal(st.records, 4);
    assert_int_equal(st.torn_tails, 0);
    assert_int_equal(st.corrupt_records, 0);
    assert_int_equal(st.bytes, 16 + 3 * (9 + 100) + 9);
    collector_free(&c);
    rm_tmpdir(dir);
}

static void test_wal_lsn_increases_and_sync_checks_it(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    br_wal *w = open_wal(dir, BR_WAL_FSYNC_NEVER, 0, NULL);
    br_err err;
    br_err_clear(&err);
    uint64_t prev = 0;
    for (int i = 0; i < 10; i++) {
        uint64_t lsn;
        assert_int_equal(br_wal_append(w, 1, "abc", 3, &lsn, &err), 0);
        assert_true(lsn > prev);
        assert_int_equal(BR_WAL_LSN_SEGMENT(lsn), 1);
        assert_int_equal(BR_WAL_LSN_OFFSET(lsn), 16 + (i + 1) * 12);
        prev = lsn;
    }
    assert_int_equal(br_wal_sync(w, 0, &err), 0);
    assert_int_equal(br_wal_sync(w, prev + 1, &err), BR_EINVAL);
    assert_non_null(strstr(err.msg, "never appended"));
    assert_int_equal(br_wal_sync(w, prev, &err), 0);
    /* An LSN of an earlier segment is covered once a cut finished it. */
    uint32_t seg;
    assert_int_equal(br_wal_cut(w, &seg, &err), 0);
    uint64_t next;
    assert_int_equal(br_wal_append(w, 1, "d", 1, &next, &err), 0);
    assert_true(next > prev);
    assert_int_equal(BR_WAL_LSN_SEGMENT(next), seg);
    assert_int_equal(br_wal_sync(w, prev, &err), 0);
    close_wal(w);
    rm_tmpdir(dir);
}

static void test_wal_sync_always_fdatasyncs_before_returning(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    hook h;
    br_wal_io io;
    hook_init(&h, &io);
    br_wal *w = open_wal(dir, BR_WAL_FSYNC_ALWAYS, 0, &io);
    int base = atomic_load(&h.sync_calls);
    br_err err;
    br_err_clear(&err);
    uint64_t lsn;
    assert_int_equal(br_wal_append(w, 2, "payload", 7, &lsn, &err), 0);
    assert_int_equal(atomic_load(&h.sync_calls), base); /* append alone does no I/O */
    assert_int_equal(file_size(dir, 1), 16);
    assert_int_equal(br_wal_sync(w, lsn, &err), 0);
    assert_int_equal(atomic_load(&h.sync_calls), base + 1);
    assert_int_equal(file_size(dir, 1), 16 + 9 + 7);
    assert_int_equal(br_wal_sync(w, lsn, &err), 0); /* already durable: no more I/O */
    assert_int_equal(atomic_load(&h.sync_calls), base + 1);
    close_wal(w);
    assert_int_equal(atomic_load(&h.sync_calls), base + 1); /* nothing left at close */
    hook_destroy(&h);
    rm_tmpdir(dir);
}

static void test_wal_sync_never_writes_without_fdatasync(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    hook h;
    br_wal_io io;
    hook_init(&h, &io);
    br_wal *w = open_wal(dir, BR_WAL_FSYNC_NEVER, 0, &io);
    int base = atomic_load(&h.sync_calls);
    uint64_t lsn;
    append_n(w, 0, 5, 50, &lsn);
    /* In the kernel (visible to a reader) without any fdatasync. */
    assert_int_equal(file_size(dir, 1), 16 + 5 * (9 + 50));
    assert_int_equal(atomic_load(&h.sync_calls), base);
    br_wal_stats st;
    br_wal_get_stats(w, &st);
    assert_int_equal(st.writes, 5);
    close_wal(w);
    assert_int_equal(atomic_load(&h.sync_calls), base + 1); /* once, at close */
    hook_destroy(&h);
    rm_tmpdir(dir);
}

static void test_wal_sync_interval_writes_now_and_flusher_fdatasyncs(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    hook h;
    br_wal_io io;
    hook_init(&h, &io);
    br_wal_options o = {.fsync = BR_WAL_FSYNC_INTERVAL, .fsync_interval_ms = 5, .io = &io};
    br_wal *w = NULL;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_wal_open(dir, &o, &w, &err), 0);
    int base = atomic_load(&h.sync_calls);
    uint64_t lsn;
    append_n(w, 0, 3, 40, &lsn);
    assert_int_equal(file_size(dir, 1), 16 + 3 * (9 + 40)); /* written at sync */
    /* The flush thread fdatasyncs within a few intervals; wait up to 20 s. */
    for (int i = 0; i < 20000 && atomic_load(&h.sync_calls) == base; i++) {
        usleep(1000);
    }
    assert_true(atomic_load(&h.sync_calls) > base);
    close_wal(w);
    hook_destroy(&h);
    rm_tmpdir(dir);
}

static void test_wal_sync_interval_does_not_fdatasync_inline(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    hook h;
    br_wal_io io;
    hook_init(&h, &io);
    /* An hour-long interval: the flush thread never fires during the test. */
    br_wal_options o = {.fsync_interval_ms = 3600u * 1000u, .io = &io};
    br_wal *w = NULL;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_wal_open(dir, &o, &w, &err), 0);
    int base = atomic_load(&h.sync_calls);
    append_n(w, 0, 4, 40, NULL);
    assert_int_equal(file_size(dir, 1), 16 + 4 * (9 + 40));
    assert_int_equal(atomic_load(&h.sync_calls), base);
    close_wal(w); /* stops the thread at once and syncs what is left */
    assert_int_equal(atomic_load(&h.sync_calls), base + 1);
    hook_destroy(&h);
    rm_tmpdir(dir);
}

/* ---------------------------------------------------------------------------
 * Concurrency
 * ------------------------------------------------------------------------- */

typedef struct gc_arg {
    br_wal *w;
    hook *h;
    int id;
} gc_arg;

static void *gc_committer(void *p)
{
    gc_arg *a = p;
    char payload[32];
    snprintf(payload, sizeof(payload), "commit-%d", a->id);
    uint64_t lsn;
    br_err err;
    br_err_clear(&err);
    int rc = br_wal_append(a->w, 1, payload, strlen(payload), &lsn, &err);
    if (a->id > 0) {
        pthread_mutex_lock(&a->h->mu);
        a->h->appended++;
        pthread_cond_broadcast(&a->h->cv);
        pthread_mutex_unlock(&a->h->mu);
    }
    if (rc == 0) {
        rc = br_wal_sync(a->w, lsn, &err);
    }
    return rc == 0 ? NULL : (void *)1;
}

static void test_wal_group_commit_shares_one_write_and_fdatasync(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    hook h;
    br_wal_io io;
    hook_init(&h, &io);
    br_wal *w = open_wal(dir, BR_WAL_FSYNC_ALWAYS, 0, &io);
    int base_sync = atomic_load(&h.sync_calls);
    int base_write = atomic_load(&h.write_calls);

    /* Committer 0 becomes the I/O owner and is held inside fdatasync. */
    pthread_mutex_lock(&h.mu);
    h.gate_armed = true;
    pthread_mutex_unlock(&h.mu);
    pthread_t t[4];
    gc_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (gc_arg){w, &h, i};
    }
    assert_int_equal(pthread_create(&t[0], NULL, gc_committer, &args[0]), 0);
    pthread_mutex_lock(&h.mu);
    while (!h.gate_held) {
        pthread_cond_wait(&h.cv, &h.mu);
    }
    pthread_mutex_unlock(&h.mu);

    /* Three more commits arrive while it is busy... */
    for (int i = 1; i < 4; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, gc_committer, &args[i]), 0);
    }
    pthread_mutex_lock(&h.mu);
    while (h.appended < 3) {
        pthread_cond_wait(&h.cv, &h.mu);
    }
    h.gate_open = true;
    pthread_cond_broadcast(&h.cv);
    pthread_mutex_unlock(&h.mu);
    for (int i = 0; i < 4; i++) {
        void *res;
        pthread_join(t[i], &res);
        assert_null(res);
    }
    /* ...and share the next owner's single write and fdatasync. */
    assert_int_equal(atomic_load(&h.sync_calls) - base_sync, 2);
    assert_int_equal(atomic_load(&h.write_calls) - base_write, 2);
    br_wal_stats st;
    br_wal_get_stats(w, &st);
    assert_int_equal(st.records, 4);
    close_wal(w);

    collector c;
    replay_all(dir, 0, &c, NULL);
    assert_int_equal(c.n, 4);
    assert_memory_equal(c.recs[0].data, "commit-0", 8);
    collector_free(&c);
    hook_destroy(&h);
    rm_tmpdir(dir);
}

typedef struct bp_arg {
    br_wal *w;
    atomic_int done;
    int rc;
} bp_arg;

static void *bp_appender(void *p)
{
    bp_arg *a = p;
    static unsigned char chunk[1 << 20];
    br_err err;
    br_err_clear(&err);
    /* 20 MiB while the I/O owner is held: must block past 16 MiB pending. */
    for (int i = 0; i < 20 && a->rc == 0; i++) {
        a->rc = br_wal_append(a->w, 1, chunk, sizeof(chunk), NULL, &err);
        atomic_fetch_add(&a->done, 1);
    }
    return NULL;
}

static void test_wal_appends_wait_when_pending_bytes_pile_up(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    hook h;
    br_wal_io io;
    hook_init(&h, &io);
    br_wal *w = open_wal(dir, BR_WAL_FSYNC_ALWAYS, 0, &io);
    pthread_mutex_lock(&h.mu);
    h.gate_armed = true;
    pthread_mutex_unlock(&h.mu);
    pthread_t owner;
    gc_arg oa = {w, &h, 0};
    assert_int_equal(pthread_create(&owner, NULL, gc_committer, &oa), 0);
    pthread_mutex_lock(&h.mu);
    while (!h.gate_held) {
        pthread_cond_wait(&h.cv, &h.mu);
    }
    pthread_mutex_unlock(&h.mu);

    bp_arg a = {.w = w};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, bp_appender, &a), 0);
    /* 15 records of 1 MiB + 9 bytes fit under 16 MiB pending; the 16th must
     * wait for the held owner, so the count can reach 15 but never pass it. */
    for (int i = 0; i < 20000 && atomic_load(&a.done) < 15; i++) {
        usleep(1000);
    }
    usleep(100 * 1000);
    assert_int_equal(atomic_load(&a.done), 15);
    pthread_mutex_lock(&h.mu);
    h.gate_open = true;
    pthread_cond_broadcast(&h.cv);
    pthread_mutex_unlock(&h.mu);
    pthread_join(owner, NULL);
    pthread_join(t, NULL);
    assert_int_equal(a.rc, 0);
    assert_int_equal(atomic_load(&a.done), 20);
    close_wal(w);
    collector c;
    replay_all(dir, 0, &c, NULL);
    assert_int_equal(c.n, 21);
    collector_free(&c);
    hook_destroy(&h);
    rm_tmpdir(dir);
}

#define MT_THREADS 4
#define MT_RECORDS 1500

typedef struct mt_arg {
    br_wal *w;
    uint32_t id;
    uint64_t lsns[MT_RECORDS];
    int rc;
} mt_arg;

static void *mt_appender(void *p)
{
    mt_arg *a = p;
    br_err err;
    br_err_clear(&err);
    unsigned char payload[100];
    memset(payload, (int)a->id, sizeof(payload));
    for (uint32_t i = 0; i < MT_RECORDS && a->rc == 0; i++) {
        memcpy(payload, &a->id, 4);
        memcpy(payload + 4, &i, 4);
        size_t len = 8 + (i * 7 + a->id) % 90;
        a->rc = br_wal_append(a->w, (uint8_t)(10 + a->id), payload, len, &a->lsns[i], &err);
        if (a->rc == 0 && i % 3 == 0) {
            a->rc = br_wal_sync(a->w, a->lsns[i], &err);
        }
    }
    return NULL;
}

static void test_wal_concurrent_appends_replay_once_in_thread_order(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    /* Small segments so that rotation races with appends and syncs. */
    br_wal *w = open_wal(dir, BR_WAL_FSYNC_INTERVAL, 16 * 1024, NULL);
    static mt_arg args[MT_THREADS];
    pthread_t t[MT_THREADS];
    for (uint32_t i = 0; i < MT_THREADS; i++) {
        memset(&args[i], 0, sizeof(args[i]));
        args[i].w = w;
        args[i].id = i;
        assert_int_equal(pthread_create(&t[i], NULL, mt_appender, &args[i]), 0);
    }
    for (int i = 0; i < MT_THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(args[i].rc, 0);
    }
    br_wal_stats wst;
    br_wal_get_stats(w, &wst);
    assert_int_equal(wst.records, MT_THREADS * MT_RECORDS);
    assert_true(wst.last_segment > 5);
    close_wal(w);

    collector c;
    br_wal_stats st;
    replay_all(dir, 0, &c, &st);
    assert_int_equal(c.n, MT_THREADS * MT_RECORDS);
    assert_int_equal(st.segments, wst.segments);
    uint32_t next[MT_THREADS] = {0};
    uint64_t prev_lsn = 0;
    for (size_t k = 0; k < c.n; k++) {
        uint32_t id;
        uint32_t seq;
        assert_true(c.recs[k].len >= 8);
        memcpy(&id, c.recs[k].data, 4);
        memcpy(&seq, c.recs[k].data + 4, 4);
        assert_true(id < MT_THREADS);
        assert_int_equal(c.recs[k].type, 10 + id);
        assert_int_equal(seq, next[id]); /* exactly once, in order */
        assert_int_equal(c.recs[k].len, 8 + (seq * 7 + id) % 90);
        next[id]++;
        /* Log order is LSN order. */
        assert_true(args[id].lsns[seq] > prev_lsn);
        prev_lsn = args[id].lsns[seq];
    }
    for (int i = 0; i < MT_THREADS; i++) {
        assert_int_equal(next[i], MT_RECORDS);
    }
    collector_free(&c);
    rm_tmpdir(dir);
}

/* ---------------------------------------------------------------------------
 * Recovery
 * ------------------------------------------------------------------------- */

static char *read_whole(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    char *s = br_malloc((size_t)n + 1);
    rewind(f);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    return s;
}

static void test_wal_replay_truncates_torn_tail_and_open_repairs_it(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    br_wal *w = open_wal(dir, BR_WAL_FSYNC_NEVER, 0, NULL);
    append_n(w, 0, 10, 100, NULL);
    close_wal(w);
    long long full = 16 + 10 * 109;
    assert_int_equal(file_size(dir, 1), full);
    truncate_segment(dir, 1, full - 30); /* cut the last record in its middle */

    FILE *logf = tmpfile();
    assert_non_null(logf);
    br_log_set_sink(logf);

    collector c;
    br_wal_stats st;
    replay_all(dir, 0, &c, &st);
    assert_int_equal(c.n, 9);
    assert_records(&c, 0, 0, 9, 100);
    assert_int_equal(st.torn_tails, 1);
    assert_int_equal(st.corrupt_records, 0);
    assert_int_equal(st.bytes_dropped, 109 - 30);
    assert_int_equal(file_size(dir, 1), full - 30); /* replay changes nothing */
    collector_free(&c);

    w = open_wal(dir, BR_WAL_FSYNC_NEVER, 0, NULL);
    br_wal_get_stats(w, &st);
    assert_int_equal(st.torn_tails, 1);
    assert_int_equal(st.bytes_dropped, 109 - 30);
    assert_int_equal(file_size(dir, 1), 16 + 9 * 109); /* cut at the last good record */
    assert_int_equal(st.last_segment, 2);
    append_n(w, 100, 2, 100, NULL);
    close_wal(w);

    br_log_set_sink(stderr);
    char *log = read_whole(logf);
    fclose(logf);
    assert_non_null(strstr(log, "level=warn"));
    assert_non_null(strstr(log, "WAL torn tail"));
    assert_non_null(strstr(log, "segment=00000001 offset=997"));
    assert_non_null(strstr(log, "dropped_bytes=79"));
    br_free(log);

    replay_all(dir, 0, &c, &st);
    assert_int_equal(c.n, 11);
    assert_records(&c, 0, 0, 9, 100);
    assert_records(&c, 9, 100, 2, 100);
    assert_int_equal(st.torn_tails, 0);
    collector_free(&c);
    rm_tmpdir(dir);
}

static void test_wal_flipped_byte_is_reported_and_earlier_records_kept(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    br_wal *w = open_wal(dir, BR_WAL_FSYNC_NEVER, 0, NULL);
    append_n(w, 0, 10, 100, NULL);
    close_wal(w);
    /* Record 4 (0-based) starts at 16 + 4 * 109; flip a payload byte. */
    xor_byte(dir, 1, 16 + 4 * 109 + 9 + 50, 0x20);

    collector c;
    br_wal_stats st;
    replay_all(dir, 0, &c, &st);
    assert_int_equal(c.n, 4);
    assert_records(&c, 0, 0, 4, 100);
    assert_int_equal(st.corrupt_records, 1); /* good records follow: not a torn tail */
    assert_int_equal(st.torn_tails, 0);
    assert_int_equal(st.bytes_dropped, 6 * 109);
    collector_free(&c);

    w = open_wal(dir, BR_WAL_FSYNC_NEVER, 0, NULL);
    br_wal_get_stats(w, &st);
    assert_int_equal(st.corrupt_records, 1);
    assert_int_equal(file_size(dir, 1), 16 + 4 * 109);
    append_n(w, 50, 1, 100, NULL);
    close_wal(w);

    replay_all(dir, 0, &c, &st);
    assert_int_equal(c.n, 5);
    assert_records(&c, 0, 0, 4, 100);
    assert_records(&c, 4, 50, 1, 100);
    assert_int_equal(st.corrupt_records, 0);
    collector_free(&c);
    rm_tmpdir(dir);
}

static void test_wal_corruption_in_older_segment_drops_later_segments(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    br_wal *w = open_wal(dir, BR_WAL_FSYNC_NEVER, 4096, NULL);
    append_n(w, 0, 100, 200, NULL); /* 19 records per segment */
    br_wal_stats st;
    br_wal_get_stats(w, &st);
    uint32_t last = st.last_segment;
    assert_true(last >= 5);
    close_wal(w);
    /* Flip the CRC of the 3rd record of segment 2 (records 19..37 live there). */
    xor_byte(dir, 2, 16 + 2 * 209 + 5, 0x01);

    collector c;
    replay_all(dir, 0, &c, &st);
    assert_int_equal(c.n, 19 + 2);
    assert_int_equal(st.corrupt_records, 1);
    collector_free(&c);

    w = open_wal(dir, BR_WAL_FSYNC_NEVER, 4096, NULL);
    br_wal_get_stats(w, &st);
    assert_int_equal(st.corrupt_records, 1);
    assert_int_equal(st.last_segment, last + 1); /* numbers are never reused */
    assert_int_equal(file_size(dir, 2), 16 + 2 * 209);
    for (uint32_t s = 3; s <= last; s++) {
        char p[600];
        char aside[620];
        seg_path(dir, s, p, sizeof(p));
        snprintf(aside, sizeof(aside), "%s.corrupt", p);
        assert_true(file_exists(aside));         /* kept for inspection */
        assert_int_equal(file_size(dir, s), 16); /* replaced by an empty segment */
    }
    append_n(w, 500, 3, 200, NULL);
    close_wal(w);

    replay_all(dir, 0, &c, &st);
    assert_int_equal(c.n, 21 + 3);
    assert_records(&c, 0, 0, 21, 200);
    assert_records(&c, 21, 500, 3, 200);
    assert_int_equal(st.corrupt_records, 0);
    assert_int_equal(st.torn_tails, 0);
    collector_free(&c);
    rm_tmpdir(dir);
}

static void test_wal_open_repairs_segment_with_torn_header(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    br_wal *w = open_wal(dir, BR_WAL_FSYNC_NEVER, 0, NULL);
    append_n(w, 0, 2, 10, NULL);
    close_wal(w);
    w = open_wal(dir, BR_WAL_FSYNC_NEVER, 0, NULL); /* creates segment 2 */
    close_wal(w);
    truncate_segment(dir, 2, 7); /* crash while the header was being written */

    collector c;
    br_wal_stats st;
    replay_all(dir, 0, &c, &st);
    assert_int_equal(c.n, 2);
    assert_int_equal(st.torn_tails, 1);
    collector_free(&c);

    w = open_wal(dir, BR_WAL_FSYNC_NEVER, 0, NULL);
    br_wal_get_stats(w, &st);
    assert_int_equal(st.torn_tails, 1);
    assert_int_equal(file_size(dir, 2), 16);
    assert_int_equal(st.last_segment, 3);
    append_n(w, 2, 1, 10, NULL);
    close_wal(w);
    replay_all(dir, 0, &c, &st);
    assert_int_equal(c.n, 3);
    assert_records(&c, 0, 0, 3, 10);
    assert_int_equal(st.torn_tails + st.corrupt_records, 0);
    collector_free(&c);
    rm_tmpdir(dir);
}

static void test_wal_zero_filled_tail_is_a_torn_tail(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    br_wal *w = open_wal(dir, BR_WAL_FSYNC_NEVER, 0, NULL);
    append_n(w, 0, 3, 10, NULL);
    close_wal(w);
    /* A file system that extended the file without its data. */
    truncate_segment(dir, 1, 16 + 3 * 19 + 4096);
    collector c;
    br_wal_stats st;
    replay_all(dir, 0, &c, &st);
    assert_int_equal(c.n, 3);
    assert_int_equal(st.torn_tails, 1);
    assert_int_equal(st.corrupt_records, 0);
    assert_int_equal(st.bytes_dropped, 4096);
    collector_free(&c);
    rm_tmpdir(dir);
}

static void test_wal_gap_in_segment_numbers_keeps_newest_run(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    br_wal *w = open_wal(dir, BR_WAL_FSYNC_NEVER, 4096, NULL);
    append_n(w, 0, 60, 200, NULL); /* segments 1..4 */
    br_wal_stats st;
    br_wal_get_stats(w, &st);
    assert_int_equal(st.last_segment, 4);
    close_wal(w);
    char p[600];
    seg_path(dir, 2, p, sizeof(p));
    assert_int_equal(unlink(p), 0);

    collector c;
    replay_all(dir, 0, &c, &st);
    assert_int_equal(c.n, 60 - 38); /* segments 3 and 4 only */
    assert_records(&c, 0, 38, 22, 200);
    assert_int_equal(st.corrupt_records, 1);
    collector_free(&c);

    /* A replay starting after the gap has nothing to report. */
    replay_all(dir, 3, &c, &st);
    assert_int_equal(c.n, 22);
    assert_int_equal(st.corrupt_records, 0);
    collector_free(&c);

    w = open_wal(dir, BR_WAL_FSYNC_NEVER, 4096, NULL);
    br_wal_get_stats(w, &st);
    assert_int_equal(st.first_segment, 3);
    assert_int_equal(st.corrupt_records, 1);
    close_wal(w);
    seg_path(dir, 1, p, sizeof(p));
    strcat(p, ".corrupt");
    assert_true(file_exists(p));
    replay_all(dir, 0, &c, &st);
    assert_int_equal(c.n, 22);
    assert_int_equal(st.corrupt_records, 0);
    collector_free(&c);
    rm_tmpdir(dir);
}

static void test_wal_newer_format_version_is_unsupported(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    br_wal *w = open_wal(dir, BR_WAL_FSYNC_NEVER, 0, NULL);
    append_n(w, 0, 1, 10, NULL);
    close_wal(w);
    char p[600];
    seg_path(dir, 1, p, sizeof(p));
    int fd = open(p, O_RDWR);
    assert_true(fd >= 0);
    unsigned char hdr[16];
    assert_int_equal(pread(fd, hdr, 16, 0), 16);
    hdr[4] = 2;
    uint32_t crc = br_crc32c(0, hdr, 12);
    for (int i = 0; i < 4; i++) {
        hdr[12 + i] = (unsigned char)(crc >> (8 * i));
    }
    assert_int_equal(pwrite(fd, hdr, 16, 0), 16);
    close(fd);

    br_err err;
    br_err_clear(&err);
    collector c = {0};
    assert_int_equal(br_wal_replay(dir, 0, collect, &c, NULL, &err), BR_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "version 2"));
    br_wal *w2 = NULL;
    assert_int_equal(br_wal_open(dir, NULL, &w2, &err), BR_EUNSUPPORTED);
    assert_null(w2);
    assert_int_equal(file_size(dir, 1), 16 + 19); /* left untouched */
    collector_free(&c);
    rm_tmpdir(dir);
}

/* ---------------------------------------------------------------------------
 * Segments
 * ------------------------------------------------------------------------- */

static void test_wal_rotates_full_segments_and_truncate_before_deletes(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    br_wal *w = open_wal(dir, BR_WAL_FSYNC_ALWAYS, 4096, NULL);
    append_n(w, 0, 100, 200, NULL);
    br_wal_stats st;
    br_wal_get_stats(w, &st);
    assert_int_equal(st.last_segment, 6); /* 19 records of 209 bytes per 4 KiB segment */
    assert_int_equal(st.segments, 6);
    for (uint32_t s = 1; s < 6; s++) {
        assert_int_equal(file_size(dir, s), 16 + 19 * 209);
    }
    collector c;
    br_wal_stats rst;
    replay_all(dir, 0, &c, &rst);
    assert_int_equal(c.n, 100);
    assert_records(&c, 0, 0, 100, 200);
    collector_free(&c);

    br_err err;
    br_err_clear(&err);
    uint32_t seg;
    assert_int_equal(br_wal_cut(w, &seg, &err), 0);
    assert_int_equal(seg, 7);
    append_n(w, 1000, 2, 200, NULL);
    assert_int_equal(br_wal_truncate_before(w, 8, &err), BR_EINVAL);
    assert_int_equal(br_wal_truncate_before(w, seg, &err), 0);
    for (uint32_t s = 1; s < 7; s++) {
        assert_int_equal(file_size(dir, s), -1);
    }
    br_wal_get_stats(w, &st);
    assert_int_equal(st.first_segment, 7);
    assert_int_equal(st.segments, 1);
    assert_int_equal(st.bytes, 16 + 2 * 209);
    assert_int_equal(br_wal_truncate_before(w, 3, &err), 0); /* already gone: no-op */
    close_wal(w);

    replay_all(dir, 0, &c, &rst);
    assert_int_equal(c.n, 2);
    assert_records(&c, 0, 1000, 2, 200);
    assert_int_equal(rst.first_segment, 7);
    collector_free(&c);
    rm_tmpdir(dir);
}

static void test_wal_replay_from_segment_skips_older_ones(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    br_wal *w = open_wal(dir, BR_WAL_FSYNC_NEVER, 0, NULL);
    append_n(w, 0, 3, 10, NULL);
    br_err err;
    br_err_clear(&err);
    uint32_t seg;
    assert_int_equal(br_wal_cut(w, &seg, &err), 0);
    append_n(w, 3, 2, 10, NULL);
    close_wal(w);
    collector c;
    br_wal_stats st;
    replay_all(dir, seg, &c, &st);
    assert_int_equal(c.n, 2);
    assert_records(&c, 0, 3, 2, 10);
    assert_int_equal(st.first_segment, seg);
    collector_free(&c);
    rm_tmpdir(dir);
}

static void test_wal_replay_callback_error_stops_replay(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    br_wal *w = open_wal(dir, BR_WAL_FSYNC_NEVER, 0, NULL);
    append_n(w, 0, 5, 10, NULL);
    close_wal(w);
    collector c = {.stop_after = 2};
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_wal_replay(dir, 0, collect, &c, NULL, &err), BR_ECANCELED);
    assert_int_equal(c.n, 2);
    assert_non_null(strstr(err.msg, "BR_ECANCELED"));
    collector_free(&c);
    rm_tmpdir(dir);
}

static void test_wal_replay_of_missing_dir_is_empty(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char sub[600];
    snprintf(sub, sizeof(sub), "%s/none", dir);
    collector c;
    br_wal_stats st;
    replay_all(sub, 0, &c, &st);
    assert_int_equal(c.n, 0);
    assert_int_equal(st.segments, 0);
    rm_tmpdir(dir);
}

/* ---------------------------------------------------------------------------
 * Failures and misuse
 * ------------------------------------------------------------------------- */

static void test_wal_failing_write_enters_failed_state(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    hook h;
    br_wal_io io;
    hook_init(&h, &io);
    br_wal *w = open_wal(dir, BR_WAL_FSYNC_ALWAYS, 0, &io);
    append_n(w, 0, 2, 30, NULL);

    atomic_store(&h.fail_write_errno, ENOSPC);
    br_err err;
    br_err_clear(&err);
    uint64_t lsn;
    assert_int_equal(br_wal_append(w, 1, "x", 1, &lsn, &err), 0);
    assert_int_equal(br_wal_sync(w, lsn, &err), BR_EIO);
    assert_non_null(strstr(err.msg, "No space left on device"));
    assert_non_null(strstr(err.msg, "00000001"));

    /* Failed until reopened, even though the disk is fine again. */
    atomic_store(&h.fail_write_errno, 0);
    br_err_clear(&err);
    assert_int_equal(br_wal_append(w, 1, "y", 1, &lsn, &err), BR_EIO);
    assert_non_null(strstr(err.msg, "No space left on device"));
    assert_int_equal(br_wal_sync(w, lsn, &err), BR_EIO);
    uint32_t seg;
    assert_int_equal(br_wal_cut(w, &seg, &err), BR_EIO);
    assert_int_equal(br_wal_close(w, &err), BR_EIO);

    w = open_wal(dir, BR_WAL_FSYNC_ALWAYS, 0, &io);
    append_n(w, 10, 1, 30, NULL);
    close_wal(w);
    collector c;
    replay_all(dir, 0, &c, NULL);
    assert_int_equal(c.n, 3); /* the unacknowledged record is gone */
    assert_records(&c, 0, 0, 2, 30);
    assert_records(&c, 2, 10, 1, 30);
    collector_free(&c);
    hook_destroy(&h);
    rm_tmpdir(dir);
}

static void test_wal_failing_fdatasync_under_always_is_eio(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    hook h;
    br_wal_io io;
    hook_init(&h, &io);
    br_wal *w = open_wal(dir, BR_WAL_FSYNC_ALWAYS, 0, &io);
    atomic_store(&h.fail_sync_errno, EIO);
    br_err err;
    br_err_clear(&err);
    uint64_t lsn;
    assert_int_equal(br_wal_append(w, 1, "x", 1, &lsn, &err), 0);
    assert_int_equal(br_wal_sync(w, lsn, &err), BR_EIO);
    assert_non_null(strstr(err.msg, "fdatasync"));
    assert_int_equal(br_wal_append(w, 1, "x", 1, &lsn, &err), BR_EIO);
    atomic_store(&h.fail_sync_errno, 0);
    assert_int_equal(br_wal_close(w, &err), BR_EIO);
    hook_destroy(&h);
    rm_tmpdir(dir);
}

static void test_wal_failing_rotation_enters_failed_state(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    hook h;
    br_wal_io io;
    hook_init(&h, &io);
    br_wal *w = open_wal(dir, BR_WAL_FSYNC_INTERVAL, 4096, &io);
    append_n(w, 0, 19, 200, NULL); /* segment 1 is full */
    atomic_store(&h.fail_write_errno, EIO);
    br_err err;
    br_err_clear(&err);
    uint64_t lsn;
    static unsigned char big_rec[200];
    /* Does not fit: the rotation's header write fails. */
    assert_int_equal(br_wal_append(w, 1, big_rec, sizeof(big_rec), &lsn, &err), BR_EIO);
    assert_non_null(strstr(err.msg, "Input/output error"));
    assert_non_null(strstr(err.msg, "00000002"));
    atomic_store(&h.fail_write_errno, 0);
    assert_int_equal(br_wal_append(w, 1, "z", 1, &lsn, &err), BR_EIO);
    assert_int_equal(br_wal_close(w, &err), BR_EIO);
    hook_destroy(&h);
    rm_tmpdir(dir);
}

static void test_wal_short_writes_are_completed(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    hook h;
    br_wal_io io;
    hook_init(&h, &io);
    atomic_store(&h.max_chunk, 7);
    br_wal *w = open_wal(dir, BR_WAL_FSYNC_ALWAYS, 4096, &io);
    append_n(w, 0, 40, 150, NULL);
    close_wal(w);
    assert_true(atomic_load(&h.write_calls) > 40 * 20);
    collector c;
    replay_all(dir, 0, &c, NULL);
    assert_int_equal(c.n, 40);
    assert_records(&c, 0, 0, 40, 150);
    collector_free(&c);
    hook_destroy(&h);
    rm_tmpdir(dir);
}

static void test_wal_rejects_bad_records_without_failing(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    br_wal *w = open_wal(dir, BR_WAL_FSYNC_NEVER, 4096, NULL);
    br_err err;
    br_err_clear(&err);
    static unsigned char big[4096];
    uint64_t lsn;
    assert_int_equal(br_wal_append(w, 1, big, 4096 - 16 - 9 + 1, &lsn, &err), BR_ETOOLARGE);
    assert_non_null(strstr(err.msg, "exceeds the limit of 4071 bytes"));
    assert_int_equal(br_wal_append(w, 0, "a", 1, &lsn, &err), BR_EINVAL);
    assert_int_equal(br_wal_append(w, 1, NULL, 5, &lsn, &err), BR_EINVAL);
    /* The largest record fits an empty segment exactly. */
    assert_int_equal(br_wal_append(w, 1, big, 4096 - 16 - 9, &lsn, &err), 0);
    assert_int_equal(br_wal_sync(w, lsn, &err), 0);
    assert_int_equal(file_size(dir, 1), 4096);
    close_wal(w);
    collector c;
    replay_all(dir, 0, &c, NULL);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.recs[0].len, 4071);
    collector_free(&c);
    rm_tmpdir(dir);
}

static void test_wal_second_open_of_same_dir_is_busy(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    br_wal *w = open_wal(dir, BR_WAL_FSYNC_NEVER, 0, NULL);
    br_wal *w2 = NULL;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_wal_open(dir, NULL, &w2, &err), BR_EBUSY);
    assert_null(w2);
    assert_non_null(strstr(err.msg, "already open"));
    close_wal(w);
    w = open_wal(dir, BR_WAL_FSYNC_NEVER, 0, NULL); /* the lock went with close */
    close_wal(w);
    rm_tmpdir(dir);
}

static void test_wal_open_creates_dirs_and_checks_options(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char sub[600];
    snprintf(sub, sizeof(sub), "%s/a/b/wal", dir);
    br_wal *w = open_wal(sub, BR_WAL_FSYNC_NEVER, 0, NULL);
    close_wal(w);
    assert_int_equal(file_size(sub, 1), 16);

    br_err err;
    br_err_clear(&err);
    br_wal_options o = {.segment_size = 100};
    assert_int_equal(br_wal_open(sub, &o, &w, &err), BR_EINVAL);
    assert_non_null(strstr(err.msg, "segment size 100"));
    o = (br_wal_options){.fsync = (br_wal_fsync_policy)7};
    assert_int_equal(br_wal_open(sub, &o, &w, &err), BR_EINVAL);
    assert_null(w);

    br_wal_fsync_policy p;
    assert_int_equal(br_wal_fsync_policy_parse("always", &p), 0);
    assert_int_equal(p, BR_WAL_FSYNC_ALWAYS);
    assert_int_equal(br_wal_fsync_policy_parse("never", &p), 0);
    assert_int_equal(p, BR_WAL_FSYNC_NEVER);
    assert_int_equal(br_wal_fsync_policy_parse("interval", &p), 0);
    assert_int_equal(p, BR_WAL_FSYNC_INTERVAL);
    assert_int_equal(br_wal_fsync_policy_parse("sometimes", &p), BR_EINVAL);
    rm_tmpdir(dir);
}

/* ---------------------------------------------------------------------------
 * Measurement (printed, not asserted)
 * ------------------------------------------------------------------------- */

typedef struct bench_arg {
    br_wal *w;
    int n;
    int rc;
} bench_arg;

static void *bench_committer(void *p)
{
    bench_arg *a = p;
    unsigned char payload[1024];
    memset(payload, 0x5a, sizeof(payload));
    br_err err;
    br_err_clear(&err);
    for (int i = 0; i < a->n && a->rc == 0; i++) {
        uint64_t lsn;
        a->rc = br_wal_append(a->w, 2, payload, sizeof(payload), &lsn, &err);
        if (a->rc == 0) {
            a->rc = br_wal_sync(a->w, lsn, &err);
        }
    }
    return NULL;
}

static void bench(const char *label, br_wal_fsync_policy policy, int threads, int per_thread)
{
    char *dir = make_tmpdir();
    br_wal *w = open_wal(dir, policy, 0, NULL);
    bench_arg args[8];
    pthread_t t[8];
    int64_t t0 = br_mono_ns();
    for (int i = 0; i < threads; i++) {
        args[i] = (bench_arg){w, per_thread, 0};
        assert_int_equal(pthread_create(&t[i], NULL, bench_committer, &args[i]), 0);
    }
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(args[i].rc, 0);
    }
    int64_t ns = br_mono_ns() - t0;
    br_wal_stats st;
    br_wal_get_stats(w, &st);
    assert_int_equal(st.records, (uint64_t)threads * (uint64_t)per_thread);
    close_wal(w);
    double secs = (double)ns / 1e9;
    print_message("[ MEASURE  ] %-9s %d thread(s): %d commits of 1 KiB in %.3f s = %.0f/s "
                  "(%llu writes, %llu fdatasyncs)\n",
                  label, threads, threads * per_thread, secs, (double)(threads * per_thread) / secs,
                  (unsigned long long)st.writes, (unsigned long long)st.syncs);
    rm_tmpdir(dir);
}

static void test_wal_measure_append_rate(void **state)
{
    (void)state;
    bench("interval", BR_WAL_FSYNC_INTERVAL, 1, 20000);
    bench("interval", BR_WAL_FSYNC_INTERVAL, 4, 5000);
    bench("always", BR_WAL_FSYNC_ALWAYS, 1, 300);
    bench("always", BR_WAL_FSYNC_ALWAYS, 4, 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wal_append_sync_replay_round_trip),
        cmocka_unit_test(test_wal_lsn_increases_and_sync_checks_it),
        cmocka_unit_test(test_wal_sync_always_fdatasyncs_before_returning),
        cmocka_unit_test(test_wal_sync_never_writes_without_fdatasync),
        cmocka_unit_test(test_wal_sync_interval_writes_now_and_flusher_fdatasyncs),
        cmocka_unit_test(test_wal_sync_interval_does_not_fdatasync_inline),
        cmocka_unit_test(test_wal_group_commit_shares_one_write_and_fdatasync),
        cmocka_unit_test(test_wal_appends_wait_when_pending_bytes_pile_up),
        cmocka_unit_test(test_wal_concurrent_appends_replay_once_in_thread_order),
        cmocka_unit_test(test_wal_replay_truncates_torn_tail_and_open_repairs_it),
        cmocka_unit_test(test_wal_flipped_byte_is_reported_and_earlier_records_kept),
        cmocka_unit_test(test_wal_corruption_in_older_segment_drops_later_segments),
        cmocka_unit_test(test_wal_open_repairs_segment_with_torn_header),
        cmocka_unit_test(test_wal_zero_filled_tail_is_a_torn_tail),
        cmocka_unit_test(test_wal_gap_in_segment_numbers_keeps_newest_run),
        cmocka_unit_test(test_wal_newer_format_version_is_unsupported),
        cmocka_unit_test(test_wal_rotates_full_segments_and_truncate_before_deletes),
        cmocka_unit_test(test_wal_replay_from_segment_skips_older_ones),
        cmocka_unit_test(test_wal_replay_callback_error_stops_replay),
        cmocka_unit_test(test_wal_replay_of_missing_dir_is_empty),
        cmocka_unit_test(test_wal_failing_write_enters_failed_state),
        cmocka_unit_test(test_wal_failing_fdatasync_under_always_is_eio),
        cmocka_unit_test(test_wal_failing_rotation_enters_failed_state),
        cmocka_unit_test(test_wal_short_writes_are_completed),
        cmocka_unit_test(test_wal_rejects_bad_records_without_failing),
        cmocka_unit_test(test_wal_second_open_of_same_dir_is_busy),
        cmocka_unit_test(test_wal_open_creates_dirs_and_checks_options),
        cmocka_unit_test(test_wal_measure_append_rate),
    };
    return cmocka_run_group_tests_name("wal", tests, NULL, NULL);
}
