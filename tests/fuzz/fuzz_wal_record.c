/*
 * fuzz_wal_record.c — libFuzzer target for the WAL record payload decoders
 * (storage/wal_record.h): series, float samples, native histograms and
 * tombstones, as start-up replay reads them from disk.
 *
 * Input: one byte choosing the decoder (value % 4: series, samples,
 * histograms, tombstones), then the payload. The arena is capped at 16 MiB,
 * as a hostile record must hit BR_ELIMIT rather than exhaust memory.
 *
 * Checked: a failed decode returns BR_ECORRUPT or BR_ELIMIT with *out NULL
 * and *n 0 and a message; a successful one round-trips: re-encoding the
 * decoded entries succeeds and decoding that gives the same entries (refs,
 * label strings, timestamps, values and histograms bit for bit). Decoded
 * label strings are NUL-free by construction (the header promises it).
 */
#include "engine/core/arena.h"
#include "engine/core/buf.h"
#include "storage/wal_record.h"
#include "tests/fuzz/fuzz_util.h"

#include <stdint.h>
#include <string.h>

#define ARENA_CAP (16u * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_quiet_logs();
    return 0;
}

static void check_failure(int rc, const void *out, size_t n, const br_err *err)
{
    FZ_CHECK(rc == BR_ECORRUPT || rc == BR_ELIMIT, "decoder returned %d", rc);
    FZ_CHECK(out == NULL && n == 0, "failed decode left %zu entries", n);
    FZ_CHECK(err->msg[0] != '\0', "failed decode without a message");
}

static void fuzz_series(const uint8_t *p, size_t len)
{
    br_arena arena;
    br_arena_init(&arena, 16 * 1024, ARENA_CAP);
    br_err err;
    br_err_clear(&err);
    br_wal_series *s = NULL;
    size_t n = 0;
    int rc = br_wal_decode_series(p, len, &arena, &s, &n, &err);
    if (rc != 0) {
        check_failure(rc, s, n, &err);
    } else {
        br_buf b;
        br_buf_init(&b, 0);
        rc = br_wal_encode_series(&b, s, n, &err);
        FZ_CHECK(rc == 0, "re-encoding decoded series: %s", err.msg);
        br_wal_series *s2 = NULL;
        size_t n2 = 0;
        rc = br_wal_decode_series(b.data, b.len, &arena, &s2, &n2, &err);
        FZ_CHECK(rc == 0 || rc == BR_ELIMIT, "decoding re-encoded series: %s", err.msg);
        if (rc == 0) {
            FZ_CHECK(n == n2, "series count %zu then %zu", n, n2);
            for (size_t i = 0; i < n; i++) {
                FZ_CHECK(s[i].ref == s2[i].ref && s[i].n_labels == s2[i].n_labels,
                         "series %zu ref/label count", i);
                for (uint32_t k = 0; k < s[i].n_labels; k++) {
                    FZ_CHECK(strcmp(s[i].labels[k].name, s2[i].labels[k].name) == 0 &&
                                 strcmp(s[i].labels[k].value, s2[i].labels[k].value) == 0,
                             "series %zu label %u", i, k);
                }
            }
        }
        br_buf_free(&b);
    }
    br_arena_free(&arena);
}

static void fuzz_samples(const uint8_t *p, size_t len)
{
    br_arena arena;
    br_arena_init(&arena, 16 * 1024, ARENA_CAP);
    br_err err;
    br_err_clear(&err);
    br_wal_sample *s = NULL;
    size_t n = 0;
    int rc = br_wal_decode_samples(p, len, &arena, &s, &n, &err);
    if (rc != 0) {
        check_failure(rc, s, n, &err);
    } else {
        br_buf b;
        br_buf_init(&b, 0);
        rc = br_wal_encode_samples(&b, s, n, &err);
        FZ_CHECK(rc == 0, "re-encoding decoded samples: %s", err.msg);
        br_wal_sample *s2 = NULL;
        size_t n2 = 0;
        rc = br_wal_decode_samples(b.data, b.len, &arena, &s2, &n2, &err);
        FZ_CHECK(rc == 0 || rc == BR_ELIMIT, "decoding re-encoded samples: %s", err.msg);
        if (rc == 0) {
            FZ_CHECK(n == n2, "sample count %zu then %zu", n, n2);
            for (size_t i = 0; i < n; i++) {
                FZ_CHECK(s[i].ref == s2[i].ref && s[i].t == s2[i].t &&
                             fz_same_bits(s[i].v, s2[i].v),
                         "sample %zu differs", i);
            }
        }
        br_buf_free(&b);
    }
    br_arena_free(&arena);
}

static void fuzz_histograms(const uint8_t *p, size_t len)
{
    br_arena arena;
    br_arena_init(&arena, 16 * 1024, ARENA_CAP);
    br_err err;
    br_err_clear(&err);
    br_wal_histogram *h = NULL;
    size_t n = 0;
    int rc = br_wal_decode_histograms(p, len, &arena, &h, &n, &err);
    if (rc != 0) {
        check_failure(rc, h, n, &err);
    } else {
        br_buf b;
        br_buf_init(&b, 0);
        rc = br_wal_encode_histograms(&b, h, n, &err);
        FZ_CHECK(rc == 0, "re-encoding decoded histograms: %s", err.msg);
        br_wal_histogram *h2 = NULL;
        size_t n2 = 0;
        rc = br_wal_decode_histograms(b.data, b.len, &arena, &h2, &n2, &err);
        FZ_CHECK(rc == 0 || rc == BR_ELIMIT, "decoding re-encoded histograms: %s", err.msg);
        if (rc == 0) {
            FZ_CHECK(n == n2, "histogram count %zu then %zu", n, n2);
            for (size_t i = 0; i < n; i++) {
                const char *diff = fz_hist_diff(&h[i].h, &h2[i].h, 0);
                FZ_CHECK(h[i].ref == h2[i].ref && h[i].t == h2[i].t && diff == NULL,
                         "histogram %zu differs in %s", i, diff ? diff : "ref/t");
            }
        }
        br_buf_free(&b);
    }
    br_arena_free(&arena);
}

static void fuzz_tombstones(const uint8_t *p, size_t len)
{
    br_arena arena;
    br_arena_init(&arena, 16 * 1024, ARENA_CAP);
    br_err err;
    br_err_clear(&err);
    uint64_t *refs = NULL;
    size_t n = 0;
    int rc = br_wal_decode_tombstones(p, len, &arena, &refs, &n, &err);
    if (rc != 0) {
        check_failure(rc, refs, n, &err);
    } else {
        br_buf b;
        br_buf_init(&b, 0);
        rc = br_wal_encode_tombstones(&b, refs, n, &err);
        FZ_CHECK(rc == 0, "re-encoding decoded tombstones: %s", err.msg);
        uint64_t *refs2 = NULL;
        size_t n2 = 0;
        rc = br_wal_decode_tombstones(b.data, b.len, &arena, &refs2, &n2, &err);
        FZ_CHECK(rc == 0 || rc == BR_ELIMIT, "decoding re-encoded tombstones: %s", err.msg);
        if (rc == 0) {
            FZ_CHECK(n == n2 && (n == 0 || memcmp(refs, refs2, n * sizeof(*refs)) == 0),
                     "tombstones differ");
        }
        br_buf_free(&b);
    }
    br_arena_free(&arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    switch (data[0] % 4) {
    case 0:
        fuzz_series(data + 1, size - 1);
        break;
    case 1:
        fuzz_samples(data + 1, size - 1);
        break;
    case 2:
        fuzz_histograms(data + 1, size - 1);
        break;
    default:
        fuzz_tombstones(data + 1, size - 1);
        break;
    }
    return 0;
}
