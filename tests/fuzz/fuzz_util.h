/*
 * fuzz_util.h — small helpers shared by the libFuzzer targets in this
 * folder (fuzz_*.c): a per-process scratch directory, file writing and
 * removal, quiet logging, the little-endian and CRC fix-ups that let the
 * fuzzer reach past a file's checksums, and FZ_CHECK for the invariants a
 * target asserts.
 *
 * Where it sits: test code only, compiled into each fuzz target. Nothing
 * here is used by burnrate itself.
 *
 * Scratch files: fz_scratch_dir() makes one directory per process with
 * mkdtemp under $TMPDIR (default /tmp) and removes it at exit. A crash
 * skips atexit handlers, so scripts/fuzz.sh points TMPDIR at a directory
 * of its own and deletes that afterwards.
 *
 * Threads: libFuzzer calls a target from one thread; these helpers keep
 * process-wide state (the scratch path) and are not thread-safe.
 */
#ifndef BR_TESTS_FUZZ_UTIL_H
#define BR_TESTS_FUZZ_UTIL_H

#include "engine/core/crc32c.h"
#include "engine/core/log.h"
#include "storage/sample.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Aborts with a message when an invariant of the code under test fails:
 * libFuzzer reports the abort as a crash and keeps the input. */
#define FZ_CHECK(cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz invariant failed at %s:%d: %s\n  ", __FILE__, __LINE__, #cond);  \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Sends burnrate's log lines to /dev/null, keeping warnings so that the
 * code formatting them (quoting of hostile text) still runs. */
static inline void fz_quiet_logs(void)
{
    static FILE *sink;
    if (sink == NULL) {
        sink = fopen("/dev/null", "w");
    }
    if (sink != NULL) {
        br_log_set_sink(sink);
    }
    br_log_set_level(BR_LOG_WARN);
}

/* Removes path and everything below it; missing paths are fine. */
static inline void fz_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d != NULL) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
                    continue;
                }
                char child[4096];
                snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
                fz_rmtree(child);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static char fz_scratch_path[4096];

static inline void fz_scratch_cleanup(void)
{
    if (fz_scratch_path[0] != '\0') {
        fz_rmtree(fz_scratch_path);
    }
}

/* The process' scratch directory, created on first use; aborts when it
 * cannot be made (the target could test nothing without it). */
static inline const char *fz_scratch_dir(void)
{
    if (fz_scratch_path[0] == '\0') {
        const char *base = getenv("TMPDIR");
        if (base == NULL || base[0] == '\0') {
            base = "/tmp";
        }
        snprintf(fz_scratch_path, sizeof(fz_scratch_path), "%s/br-fuzz-XXXXXX", base);
        if (mkdtemp(fz_scratch_path) == NULL) {
            fprintf(stderr, "fuzz: mkdtemp under %s: %s\n", base, strerror(errno));
            abort();
        }
        atexit(fz_scratch_cleanup);
    }
    return fz_scratch_path;
}

/* Writes data[0..len) to path, replacing it. Aborts on failure (a full
 * scratch disk is not a finding of the code under test). */
static inline void fz_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || (len > 0 && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
        fprintf(stderr, "fuzz: writing %s: %s\n", path, strerror(errno));
        abort();
    }
}

static inline void fz_mkdir(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "fuzz: mkdir %s: %s\n", path, strerror(errno));
        abort();
    }
}

static inline uint32_t fz_get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void fz_put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/*
 * Rewrites the CRCs of a WAL segment image (layout in storage/wal.c: a
 * 16-byte header whose bytes 12..15 are the CRC of bytes 0..11, then
 * records of u32 length, u32 CRC over the length bytes, the type byte and
 * the payload, u8 type, payload) so that the records the fuzzer invents
 * reach the payload decoders. Stops at the first record that does not fit;
 * what follows stays as it is (a torn or corrupt tail, which replay must
 * handle too). Also forces the header's segment number to `seg`.
 */
static inline void fz_fix_wal_segment(unsigned char *p, size_t len, uint32_t seg)
{
    if (len < 16) {
        return;
    }
    fz_put_u32(p + 8, seg);
    fz_put_u32(p + 12, br_crc32c(0, p, 12));
    size_t off = 16;
    while (len - off >= 9) {
        uint32_t n = fz_get_u32(p + off);
        if (n > len - off - 9) {
            break;
        }
        uint32_t crc = br_crc32c(0, p + off, 4);
        crc = br_crc32c(crc, p + off + 8, 1);
        crc = br_crc32c(crc, p + off + 9, n);
        fz_put_u32(p + off + 4, crc);
        off += 9 + (size_t)n;
    }
}

/* Bit-for-bit equality of two doubles (NaN payloads included). */
static inline int fz_same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof(a)) == 0;
}

/* fz_same_bits, except that -0.0 and +0.0 count as equal when any_zero. */
static inline int fz_same_num(double a, double b, int any_zero)
{
    return fz_same_bits(a, b) || (any_zero && a == 0 && b == 0);
}

/* Field-by-field equality of two histograms, doubles compared by bits
 * (zeros of either sign equal when any_zero). Returns NULL when equal,
 * else the name of the first differing field. */
static inline const char *fz_hist_diff(const br_histogram *a, const br_histogram *b,
                                       int any_zero)
{
    if (a->schema != b->schema || a->is_float != b->is_float) {
        return "schema/is_float";
    }
    if (a->reset_hint != b->reset_hint) {
        return "reset_hint";
    }
    if (!fz_same_num(a->zero_threshold, b->zero_threshold, any_zero) ||
        !fz_same_num(a->count, b->count, any_zero) || !fz_same_num(a->sum, b->sum, any_zero) ||
        !fz_same_num(a->zero_count, b->zero_count, any_zero)) {
        return "zero_threshold/count/sum/zero_count";
    }
    if (a->n_pos_spans != b->n_pos_spans || a->n_neg_spans != b->n_neg_spans ||
        a->n_pos != b->n_pos || a->n_neg != b->n_neg || a->n_custom != b->n_custom) {
        return "lengths";
    }
    for (uint32_t i = 0; i < a->n_pos_spans; i++) {
        if (a->pos_spans[i].offset != b->pos_spans[i].offset ||
            a->pos_spans[i].length != b->pos_spans[i].length) {
            return "pos_spans";
        }
    }
    for (uint32_t i = 0; i < a->n_neg_spans; i++) {
        if (a->neg_spans[i].offset != b->neg_spans[i].offset ||
            a->neg_spans[i].length != b->neg_spans[i].length) {
            return "neg_spans";
        }
    }
    for (uint32_t i = 0; i < a->n_pos; i++) {
        if (!fz_same_num(a->pos_buckets[i], b->pos_buckets[i], any_zero)) {
            return "pos_buckets";
        }
    }
    for (uint32_t i = 0; i < a->n_neg; i++) {
        if (!fz_same_num(a->neg_buckets[i], b->neg_buckets[i], any_zero)) {
            return "neg_buckets";
        }
    }
    for (uint32_t i = 0; i < a->n_custom; i++) {
        if (!fz_same_num(a->custom_values[i], b->custom_values[i], any_zero)) {
            return "custom_values";
        }
    }
    return NULL;
}

#endif
