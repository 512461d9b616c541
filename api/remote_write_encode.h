/*
 * remote_write_encode.h — builds remote-write request bodies (1.0 and 2.0)
 * from br_rw_series arrays: the load generator, benchmarks and round-trip
 * tests use it; the server never sends remote write itself.
 *
 * The encoder writes what it is given without validating it, so tests can
 * also produce bodies a receiver must reject (unsorted or duplicate labels,
 * bad names). 2.0 bodies get a symbols table ("" first, then each distinct
 * string once, in order of first use). Integer histograms (is_float false)
 * are written with delta-encoded buckets, float histograms with absolute
 * counts; counts, sums and stale NaNs are written bit for bit.
 *
 * Threads: any; no shared state.
 */
#ifndef BR_API_REMOTE_WRITE_ENCODE_H
#define BR_API_REMOTE_WRITE_ENCODE_H

#include "api/remote_write_decode.h"
#include "engine/core/buf.h"
#include "engine/core/err.h"

#include <stddef.h>

/*
 * Encodes the series as a version 1 (prometheus.WriteRequest) or 2
 * (io.prometheus.write.v2.Request) message and snappy-compresses it (block
 * format) into out, replacing its contents.
 *   series   borrows; n_series entries.
 *   out      borrows; an initialised buffer whose cap bounds the body.
 * Returns 0, BR_EINVAL (unknown version) or BR_ELIMIT (out's cap reached).
 */
int br_rw_encode(int version, const br_rw_series *series, size_t n_series, br_buf *out,
                 br_err *err);

/* Like br_rw_encode without the snappy step: the plain protobuf bytes. */
int br_rw_encode_proto(int version, const br_rw_series *series, size_t n_series, br_buf *out,
                       br_err *err);

/* Snappy block-compresses data into out, replacing its contents. data
 * borrows. Returns 0 or BR_ELIMIT. */
int br_rw_snappy_compress(const void *data, size_t len, br_buf *out, br_err *err);

/* The Content-Type header value a sender uses for a version (1 or 2). */
const char *br_rw_content_type(int version);

#endif
