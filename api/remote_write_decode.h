/*
 * remote_write_decode.h — turns a remote-write HTTP body (1.0 or 2.0) into
 * validated series, without touching HTTP or storage.
 *
 * Data flow: the HTTP handler passes the raw body and its Content-Type and
 * Content-Encoding headers to br_rw_decode(); it gets back a br_rw_request
 * whose series are all valid (sorted, unique, well-formed labels; histogram
 * buckets resolved to absolute counts) and the count and first messages of
 * the series it rejected. The handler commits the valid series and answers
 * 400 with br_rw_describe_rejections() when any were rejected (the spec lets
 * a receiver store the valid part of a partly invalid request).
 *
 * All output memory lives in the caller's arena: free the arena and the
 * request is gone. Give the arena a cap (max_bytes) so a hostile body fails
 * cleanly. Measured arena use per decompressed byte with the protobuf-c
 * reference decoder: 8x with many samples per series, 14-24x with one
 * sample per series, worst 43x (2.0 series with one label and one sample
 * each); so 48 x max_decompressed_bytes holds any well-formed request. The
 * default wire decoders copy no strings and allocate no per-message
 * structs, so they need less.
 * Pure function of its inputs; any thread may call it with its own arena.
 *
 * Error codes and the HTTP status the handler should map them to:
 *   BR_EUNSUPPORTED  unknown Content-Type or Content-Encoding      415
 *   BR_ETOOLARGE     declared decompressed size over the limit, or
 *                    the arena cap reached while decoding           413
 *   BR_ELIMIT        more series or samples than the options allow 413
 *   BR_EPARSE        invalid snappy, garbage protobuf, bad symbols  400
 *   BR_EINVAL        the tenant label in the options is invalid     400
 * Per-series problems are not errors: br_rw_decode returns 0 and counts
 * them in br_rw_request.rejected[].
 */
#ifndef BR_API_REMOTE_WRITE_DECODE_H
#define BR_API_REMOTE_WRITE_DECODE_H

#include "engine/core/arena.h"
#include "engine/core/buf.h"
#include "engine/core/err.h"
#include "storage/sample.h"

#include <stdbool.h>
#include <stddef.h>

/* Why a series was rejected. One reason per series: the first problem found. */
#define BR_RW_REASON_MAP(XX)                                                                       \
    XX(INVALID_METRIC_NAME, "invalid_metric_name")                                                 \
    XX(INVALID_LABEL_NAME, "invalid_label_name")                                                   \
    XX(INVALID_LABEL_VALUE, "invalid_label_value")                                                 \
    XX(DUPLICATE_LABEL, "duplicate_label")                                                         \
    XX(UNSORTED_LABELS, "unsorted_labels")                                                         \
    XX(MISSING_METRIC_NAME, "missing_metric_name")                                                 \
    XX(INVALID_UTF8, "invalid_utf8")                                                               \
    XX(TOO_MANY_LABELS, "too_many_labels")                                                         \
    XX(LABEL_NAME_TOO_LONG, "label_name_too_long")                                                 \
    XX(LABEL_VALUE_TOO_LONG, "label_value_too_long")                                               \
    XX(INVALID_HISTOGRAM, "invalid_histogram")                                                     \
    XX(BAD_SYMBOL_REF, "bad_symbol_ref")                                                           \
    XX(MIXED_SAMPLES_HISTOGRAMS, "mixed_samples_histograms")

typedef enum br_rw_reason {
#define BR_RW_REASON_ENUM_(id, text) BR_RW_##id,
    BR_RW_REASON_MAP(BR_RW_REASON_ENUM_)
#undef BR_RW_REASON_ENUM_
        BR_RW_REASON_COUNT
} br_rw_reason;

/* Returns the snake_case name ("duplicate_label"), or "unknown"; a static
 * string, never freed. */
const char *br_rw_reason_name(br_rw_reason reason);

/* Limits and the tenant label. 0 means "no limit" for every max_* field. */
typedef struct br_rw_options {
    size_t max_decompressed_bytes; /* snappy's declared length; default 32 MiB */
    size_t max_series;             /* TimeSeries entries per request */
    size_t max_samples;            /* float samples + histogram samples per request */
    size_t max_labels_per_series;
    size_t max_label_name_len;  /* bytes */
    size_t max_label_value_len; /* bytes */
    /* Optional label added to every series in sorted position, replacing a
     * label of the same name sent by the client (the tenant). Both NULL for
     * none. Borrowed for the duration of the call; copied into the arena. */
    const char *extra_label_name;
    const char *extra_label_value;
    /* Decode with protobuf-c's generic unpacker instead of the hand-written
     * wire decoders (1.0 and 2.0). Both give the same results; this one is
     * slower and is kept as the reference for the equivalence test
     * (tests/unit/test_rw_pb.c) and for comparison in benchmarks. */
    bool reference_decoder;
} br_rw_options;

#define BR_RW_DEFAULT_MAX_DECOMPRESSED (32u * 1024u * 1024u)

/* Fills *opts (borrowed) with the defaults: 32 MiB, 100000 series, 1000000 samples, 128 labels,
 * names up to 1024 bytes, values up to 4096 bytes, no extra label. */
void br_rw_options_init(br_rw_options *opts);

/* One valid series. Labels are sorted by name, unique, non-empty, with the
 * extra label inserted. Everything points into the decode arena. */
typedef struct br_rw_series {
    br_label *labels;
    size_t n_labels;
    br_sample *samples;
    size_t n_samples;
    br_histogram_sample *histograms;
    size_t n_histograms;
} br_rw_series;

#define BR_RW_MAX_MESSAGES 10

typedef struct br_rw_request {
    int version; /* 1 or 2 */

    /* Valid series, in request order. A series that carried no samples and
     * no histograms is left out (there is nothing to store). */
    br_rw_series *series;
    size_t n_series;

    /* What the request held, valid or not. */
    size_t n_series_in_request;
    size_t n_samples;    /* float samples in all series */
    size_t n_histograms; /* histogram samples in all series */
    size_t n_exemplars;  /* counted only; burnrate stores no exemplars */
    size_t n_metadata;   /* v1: MetricMetadata entries; v2: series with metadata */

    /* What the valid series hold. */
    size_t n_valid_samples;
    size_t n_valid_histograms;

    /* Labels with an empty value are dropped from their series, which is
     * kept: Prometheus treats an empty value as an absent label. Counted
     * here (an empty __name__ is a missing_metric_name rejection instead). */
    size_t n_empty_labels_dropped;

    /* Rejected series, per reason, and the samples they carried. */
    size_t n_rejected_series;
    size_t rejected[BR_RW_REASON_COUNT];
    size_t n_rejected_samples;
    size_t n_rejected_histograms;

    /* The first BR_RW_MAX_MESSAGES rejections, human-readable, each naming
     * the series ({__name__="x", a="b"}, truncated) and the problem. */
    const char *messages[BR_RW_MAX_MESSAGES];
    size_t n_messages;
} br_rw_request;

/*
 * Decodes one remote-write body.
 *   body, len          borrows; the snappy-compressed protobuf body.
 *   content_type       borrows; NULL or "" means 1.0 (as Prometheus does).
 *   content_encoding   borrows; NULL, "" or "snappy" (any case).
 *   opts               borrows; NULL means br_rw_options_init() defaults.
 *   arena              borrows; receives all output memory.
 *   out                filled on success; views valid until the arena is
 *                      freed or reset. Zeroed first in every case.
 * Returns 0 (even when some series were rejected) or a negative BR_E* code
 * listed at the top of this file, with err naming the problem.
 */
int br_rw_decode(const void *body, size_t len, const char *content_type,
                 const char *content_encoding, const br_rw_options *opts, br_arena *arena,
                 br_rw_request *out, br_err *err);

/*
 * Parses a Content-Type header value (borrowed; NULL allowed) into a
 * protocol version: 1 for absent or
 * application/x-protobuf[;proto=prometheus.WriteRequest], 2 for
 * ;proto=io.prometheus.write.v2.Request. Media type and parameter names are
 * case-insensitive, whitespace around ';' and '=' is allowed, the value may
 * be quoted, unknown parameters are ignored. Returns 1, 2 or BR_EUNSUPPORTED.
 */
int br_rw_parse_content_type(const char *content_type, br_err *err);

/*
 * Appends a human-readable summary of the rejections in req (borrowed) to
 * out (borrowed, keeps its own memory), such as
 * "rejected 2 of 5 series (3 samples, 0 histograms): 1 duplicate_label,
 * 1 invalid_label_name; series {__name__="x"}: ...". Writes nothing when
 * nothing was rejected. Returns 0 or BR_ELIMIT when out's cap is reached
 * (the text is then cut).
 */
int br_rw_describe_rejections(const br_rw_request *req, br_buf *out);

#endif
