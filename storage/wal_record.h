/*
 * wal_record.h — the payloads of storage's WAL records: series, float
 * samples, native histogram samples and tombstones.
 *
 * storage/wal.c frames records and checks their CRC; it does not look inside
 * them. This module turns the head's in-memory lists into record payloads
 * (encoders, called by the head on commit) and back (decoders, called by the
 * start-up replay). The byte layout of each payload is specified at the top
 * of wal_record.c.
 *
 * Record type numbers (the type byte of a WAL record) are allocated here for
 * the whole program, so that two modules never write the same number:
 *
 *     0         invalid (a zero-filled region never decodes as a record)
 *     1         SERIES      new series: ref + label pairs
 *     2         SAMPLES     float samples: ref, t, v
 *     3         HISTOGRAMS  native histogram samples: ref, t, histogram
 *     4         TOMBSTONES  series dropped by retention: refs
 *     5..63     reserved for future storage records
 *     64..127   reserved for records of modules outside storage that keep
 *               their state in a br_wal of their own (rules/alert.c: alert
 *               state; rules/notifier.c: notification queue). Those modules
 *               define their numbers in their own headers, inside this range.
 *     128..255  reserved
 *
 * Decoders are strict: every count and length is checked against the bytes
 * left before anything is allocated, trailing bytes are an error, and a
 * payload that passed the WAL's CRC but is still malformed returns
 * BR_ECORRUPT, never a crash. Decoded arrays and strings live in the arena
 * the caller passes (its cap bounds the memory a record can make us
 * allocate; running out is BR_ELIMIT).
 *
 * All functions are pure and thread-safe (given distinct buffers/arenas).
 */
#ifndef BR_STORAGE_WAL_RECORD_H
#define BR_STORAGE_WAL_RECORD_H

#include "engine/core/arena.h"
#include "engine/core/buf.h"
#include "engine/core/err.h"
#include "storage/sample.h"

#include <stddef.h>
#include <stdint.h>

enum br_wal_record_type {
    BR_WAL_REC_INVALID = 0,
    BR_WAL_REC_SERIES = 1,
    BR_WAL_REC_SAMPLES = 2,
    BR_WAL_REC_HISTOGRAMS = 3,
    BR_WAL_REC_TOMBSTONES = 4,
    BR_WAL_REC_EXT_FIRST = 64, /* first number other modules may use */
    BR_WAL_REC_EXT_LAST = 127, /* last number other modules may use */
};

/* Returns "series", "samples", "histograms", "tombstones", "extension" (64..127)
 * or "unknown". Never NULL. */
const char *br_wal_record_type_name(uint8_t type);

/* One new series. The encoder borrows labels; a decoded entry's labels and
 * strings live in the decoder's arena. Label strings are NUL-terminated and
 * contain no NUL. */
typedef struct br_wal_series {
    uint64_t ref;
    uint32_t n_labels;
    const br_label *labels;
} br_wal_series;

/* One float sample of the series `ref`. */
typedef struct br_wal_sample {
    uint64_t ref;
    int64_t t;
    double v;
} br_wal_sample;

/* One native histogram sample of the series `ref`. The encoder borrows the
 * histogram's arrays; a decoded entry's arrays live in the decoder's arena. */
typedef struct br_wal_histogram {
    uint64_t ref;
    int64_t t;
    br_histogram h;
} br_wal_histogram;

/*
 * Encoders append one payload to `out` (borrowed; its cap applies) and
 * return 0, BR_ELIMIT when `out` would grow past its cap, or BR_EINVAL for
 * input that cannot be encoded (a NULL label string, a histogram whose span
 * lengths do not add up to its bucket count, a reset hint above 3). On
 * error `out` is left exactly as it was. `n` may be 0 (an empty list).
 */
int br_wal_encode_series(br_buf *out, const br_wal_series *series, size_t n, br_err *err);
int br_wal_encode_samples(br_buf *out, const br_wal_sample *samples, size_t n, br_err *err);
int br_wal_encode_histograms(br_buf *out, const br_wal_histogram *hists, size_t n, br_err *err);
int br_wal_encode_tombstones(br_buf *out, const uint64_t *refs, size_t n, br_err *err);

/*
 * Decoders read `len` bytes at `payload` (borrowed) and set *out to an array
 * of *n entries allocated in `arena` (borrowed; the result is valid until
 * the arena is freed or reset; NULL when *n is 0). They return 0,
 * BR_ECORRUPT for a malformed payload (message says what and where), or
 * BR_ELIMIT when the arena's cap is reached. On error *out and *n are set to
 * NULL and 0.
 */
int br_wal_decode_series(const void *payload, size_t len, br_arena *arena, br_wal_series **out,
                         size_t *n, br_err *err);
int br_wal_decode_samples(const void *payload, size_t len, br_arena *arena, br_wal_sample **out,
                          size_t *n, br_err *err);
int br_wal_decode_histograms(const void *payload, size_t len, br_arena *arena,
                             br_wal_histogram **out, size_t *n, br_err *err);
int br_wal_decode_tombstones(const void *payload, size_t len, br_arena *arena, uint64_t **out,
                             size_t *n, br_err *err);

#endif
