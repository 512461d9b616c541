/*
 * bench_ingest.c — burnrate's ingest path on one thread, without HTTP:
 * the bodies of a burnrate-loadgen --dump directory go through
 * br_rw_decode (snappy + protobuf-c + validation, exactly as the
 * remote-write handler calls it) and br_head_commit.
 *
 *   bench_ingest --dir DUMP [--tmp DIR] [--fsync interval|always|never]
 *                [--modes decode,memory,wal] [--decoder wire|protobuf-c]
 *
 * --decoder picks the remote-write 1.0 decoder: the hand-written wire
 * decoder (default, what the server uses) or the protobuf-c reference path
 * (br_rw_options.reference_decoder), to compare the two in one build.
 *
 * Modes, each a full pass over the dump in index order (which keeps every
 * series in time order):
 *   decode  br_rw_decode only: the receiver's parsing cost;
 *   memory  decode + commit into a memory-only head (br_head_options.dir
 *           NULL): the chunk encoder, series lookup and sharding; then one
 *           br_head_gc pass (chunk merging, as the server's maintenance
 *           thread does every second) and the sizes again
 *           (mode=memory_merged, same timings);
 *   wal     decode + commit into a head with a WAL in a fresh temp dir
 *           (mkdtemp under --tmp, default /tmp), with the given fsync
 *           policy (default interval, the server's default). Then:
 *           close without a snapshot and reopen (mode=replay: the whole
 *           WAL is replayed, as after a crash before any snapshot), and
 *           br_head_snapshot, close, reopen (mode=snapshot, snapshot_load:
 *           what a graceful restart does). Each reopen must restore every
 *           sample or the program fails.
 * Printed per mode (one key=value line each, parsed by run.sh): seconds,
 * samples per second, seconds spent in decode and in commit, the process's
 * CPU seconds and samples per CPU second (steadier on a busy machine), and the
 * head's bytes per sample and per series. Bodies are read into memory
 * before any timing. The temp dir is removed at the end.
 */
#include "api/remote_write_decode.h"
#include "engine/core/alloc.h"
#include "engine/core/arena.h"
#include "engine/core/clock.h"
#include "engine/core/err.h"
#include "engine/core/log.h"
#include "storage/head.h"
#include "tests/bench/dump.h"

#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct pass_result {
    double seconds;
    double cpu_s; /* process CPU time (user + sys) over the pass */
    double decode_s;
    double commit_s;
    uint64_t points; /* float samples + histogram samples decoded */
    uint64_t stored; /* samples + histograms the head accepted */
    uint64_t rejected;
} pass_result;

/* CPU seconds used by this process so far: on a shared machine this is
 * steadier than wall-clock time, which includes waiting for a core. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One pass over the dump. head NULL = decode only. Returns 0 or a BR_E*. */
static int run_pass(const br_dump *d, br_head *head, bool reference, pass_result *res, br_err *err)
{
    memset(res, 0, sizeof(*res));
    br_rw_options opts;
    br_rw_options_init(&opts);
    opts.reference_decoder = reference;
    br_arena arena;
    br_arena_init(&arena, 256 * 1024, 48 * ((size_t)BR_RW_DEFAULT_MAX_DECOMPRESSED + (1u << 20)));
    br_series_input *in = NULL;
    size_t in_cap = 0;
    int rc = 0;
    double cpu_start = cpu_seconds();
    int64_t t_start = br_mono_ns();
    for (size_t i = 0; i < d->n && rc == 0; i++) {
        const br_dump_entry *e = &d->entries[i];
        br_arena_reset(&arena);
        br_rw_request rw;
        int64_t t0 = br_mono_ns();
        rc = br_rw_decode(e->body, e->body_len,
                          e->version == 2
                              ? "application/x-protobuf;proto=io.prometheus.write.v2.Request"
                              : "application/x-protobuf",
                          "snappy", &opts, &arena, &rw, err);
        int64_t t1 = br_mono_ns();
        res->decode_s += (double)(t1 - t0) / 1e9;
        if (rc != 0) {
            br_err_prefix(err, "%s", e->file);
            break;
        }
        if (rw.n_rejected_series > 0) {
            rc = br_err_set(err, BR_EINVAL, "%s: the decoder rejected %zu series: %s", e->file,
                            rw.n_rejected_series, rw.n_messages ? rw.messages[0] : "");
            break;
        }
        res->points += rw.n_valid_samples + rw.n_valid_histograms;
        if (head == NULL) {
            continue;
        }
        if (rw.n_series > in_cap) {
            in_cap = rw.n_series;
            br_free(in);
            in = br_malloc(in_cap * sizeof(*in));
        }
        for (size_t k = 0; k < rw.n_series; k++) {
            in[k].labels = rw.series[k].labels;
            in[k].n_labels = rw.series[k].n_labels;
            in[k].samples = rw.series[k].samples;
            in[k].n_samples = rw.series[k].n_samples;
            in[k].histograms = rw.series[k].histograms;
            in[k].n_histograms = rw.series[k].n_histograms;
        }
        br_commit_result cr;
        rc = br_head_commit(head, in, rw.n_series, &cr, err);
        res->commit_s += (double)(br_mono_ns() - t1) / 1e9;
        res->stored += cr.samples_written + cr.histograms_written;
        res->rejected += br_commit_rejected(&cr);
    }
    res->seconds = (double)(br_mono_ns() - t_start) / 1e9;
    res->cpu_s = cpu_seconds() - cpu_start;
    br_free(in);
    br_arena_free(&arena);
    return rc;
}

static void print_pass(const char *mode, const pass_result *r, br_head *head)
{
    printf("mode=%s seconds=%.3f samples=%llu samples_per_second=%.0f decode_seconds=%.3f "
           "commit_seconds=%.3f cpu_seconds=%.3f samples_per_cpu_second=%.0f",
           mode, r->seconds, (unsigned long long)r->points,
           r->seconds > 0 ? (double)r->points / r->seconds : 0.0, r->decode_s, r->commit_s,
           r->cpu_s, r->cpu_s > 0 ? (double)r->points / r->cpu_s : 0.0);
    if (head != NULL) {
        br_head_stats st;
        br_head_stats_get(head, &st);
        printf(" stored=%llu rejected=%llu series=%llu chunk_bytes=%llu series_bytes=%llu "
               "bytes_per_sample=%.3f bytes_per_series=%.0f",
               (unsigned long long)r->stored, (unsigned long long)r->rejected,
               (unsigned long long)st.series, (unsigned long long)st.chunk_bytes,
               (unsigned long long)st.series_bytes,
               st.samples ? (double)st.chunk_bytes / (double)st.samples : 0.0,
               st.series ? (double)(st.chunk_bytes + st.series_bytes) / (double)st.series : 0.0);
    }
    printf("\n");
    fflush(stdout);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static uint64_t dir_bytes_total;

static int add_size(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (flag == FTW_F) {
        dir_bytes_total += (uint64_t)sb->st_size;
    }
    return 0;
}

static uint64_t dir_bytes(const char *dir)
{
    dir_bytes_total = 0;
    nftw(dir, add_size, 16, FTW_PHYS);
    return dir_bytes_total;
}

/* Reopens the head in ho->dir, timing the open (snapshot load + WAL
 * replay), checks that it holds `want` samples, prints one line named
 * mode and leaves the reopened head in *out. */
static int reopen(const br_head_options *ho, const char *mode, double close_s, uint64_t want,
                  br_head **out, br_err *err)
{
    uint64_t bytes = dir_bytes(ho->dir);
    int64_t t0 = br_mono_ns();
    int rc = br_head_open(ho, out, err);
    double open_s = (double)(br_mono_ns() - t0) / 1e9;
    if (rc != 0) {
        *out = NULL;
        return rc;
    }
    br_head_stats st;
    br_head_stats_get(*out, &st);
    printf("mode=%s close_seconds=%.3f open_seconds=%.3f disk_bytes=%llu "
           "disk_bytes_per_sample=%.3f samples_before=%llu samples_after=%llu "
           "restored_samples_per_second=%.0f\n",
           mode, close_s, open_s, (unsigned long long)bytes,
           want ? (double)bytes / (double)want : 0.0, (unsigned long long)want,
           (unsigned long long)st.samples, open_s > 0 ? (double)st.samples / open_s : 0.0);
    fflush(stdout);
    if (st.samples != want) {
        return br_err_set(err, BR_ECORRUPT, "%s restored %llu of %llu samples", mode,
                          (unsigned long long)st.samples, (unsigned long long)want);
    }
    return 0;
}

/* The wal mode: ingest with a WAL; close without a snapshot and reopen
 * (replay of the whole WAL, as after a crash with no snapshot yet); then
 * snapshot, close and reopen (what a graceful restart does). */
static int run_wal(const br_dump *d, const char *tmp, br_wal_fsync_policy fsync, bool reference,
                   br_err *err)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/bench-ingest-XXXXXX", tmp);
    if (mkdtemp(dir) == NULL) {
        return br_err_set(err, BR_EIO, "mkdtemp under %s failed", tmp);
    }
    br_head_options ho = {.dir = dir, .fsync = fsync};
    br_head *head = NULL;
    int rc = br_head_open(&ho, &head, err);
    uint64_t want = 0;
    if (rc == 0) {
        pass_result r;
        rc = run_pass(d, head, reference, &r, err);
        if (rc == 0) {
            print_pass("wal", &r, head);
        }
        br_head_stats st;
        br_head_stats_get(head, &st);
        want = st.samples;
        int64_t t0 = br_mono_ns();
        br_head_close(head);
        head = NULL;
        double close_s = (double)(br_mono_ns() - t0) / 1e9;
        if (rc == 0) {
            rc = reopen(&ho, "replay", close_s, want, &head, err);
        }
    }
    if (rc == 0) {
        int64_t t0 = br_mono_ns();
        rc = br_head_snapshot(head, err);
        double snap_s = (double)(br_mono_ns() - t0) / 1e9;
        t0 = br_mono_ns();
        br_head_close(head);
        head = NULL;
        double close_s = (double)(br_mono_ns() - t0) / 1e9;
        if (rc == 0) {
            printf("mode=snapshot snapshot_seconds=%.3f\n", snap_s);
            rc = reopen(&ho, "snapshot_load", close_s, want, &head, err);
        }
    }
    br_head_close(head);
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_ingest --dir DUMP [--tmp DIR] [--fsync interval|always|never]\n"
               "                    [--modes decode,memory,wal] [--decoder wire|protobuf-c]\n");
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    const char *modes = "decode,memory,wal";
    br_wal_fsync_policy fsync = BR_WAL_FSYNC_INTERVAL;
    bool reference = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (v == NULL) {
            usage(stderr);
            return 2;
        }
        i++;
        if (strcmp(a, "--dir") == 0) {
            dir = v;
        } else if (strcmp(a, "--tmp") == 0) {
            tmp = v;
        } else if (strcmp(a, "--decoder") == 0) {
            if (strcmp(v, "protobuf-c") == 0) {
                reference = true;
            } else if (strcmp(v, "wire") != 0) {
                fprintf(stderr, "bench_ingest: bad --decoder %s\n", v);
                return 2;
            }
        } else if (strcmp(a, "--modes") == 0) {
            modes = v;
        } else if (strcmp(a, "--fsync") == 0) {
            if (br_wal_fsync_policy_parse(v, &fsync) != 0) {
                fprintf(stderr, "bench_ingest: bad --fsync %s\n", v);
                return 2;
            }
        } else {
            fprintf(stderr, "bench_ingest: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (dir == NULL) {
        usage(stderr);
        return 2;
    }
    br_log_set_level(BR_LOG_WARN);

    br_dump d;
    br_err err;
    br_err_clear(&err);
    if (br_dump_load(dir, true, &d, &err) != 0) {
        fprintf(stderr, "bench_ingest: %s\n", err.msg);
        return 1;
    }
    int rc = 0;
    if (strstr(modes, "decode") != NULL) {
        pass_result r;
        rc = run_pass(&d, NULL, reference, &r, &err);
        if (rc == 0) {
            print_pass("decode", &r, NULL);
        }
    }
    if (rc == 0 && strstr(modes, "memory") != NULL) {
        br_head_options ho = {.dir = NULL};
        br_head *head = NULL;
        rc = br_head_open(&ho, &head, &err);
        if (rc == 0) {
            pass_result r;
            rc = run_pass(&d, head, reference, &r, &err);
            if (rc == 0) {
                print_pass("memory", &r, head);
                /* What the server's once-a-second maintenance does during
                 * ingest: merge frozen chunks (no retention here). */
                int64_t g0 = br_mono_ns();
                br_head_gc(head, 0, 0);
                printf("gc_merge_seconds=%.3f\n", (double)(br_mono_ns() - g0) / 1e9);
                print_pass("memory_merged", &r, head);
            }
            br_head_close(head);
        }
    }
    if (rc == 0 && strstr(modes, "wal") != NULL) {
        rc = run_wal(&d, tmp, fsync, reference, &err);
    }
    if (rc != 0) {
        fprintf(stderr, "bench_ingest: %s\n", err.msg);
    }
    br_dump_free(&d);
    return rc == 0 ? 0 : 1;
}
