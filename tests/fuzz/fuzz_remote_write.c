/*
 * fuzz_remote_write.c — libFuzzer target for remote-write decoding
 * (api/remote_write_decode.h: snappy + protobuf, versions 1.0 and 2.0).
 *
 * Input: one mode byte, then the body.
 *   bit 0  1 = Content-Type of 2.0 (io.prometheus.write.v2.Request), 0 = 1.0
 *   bit 1  the rest is plain protobuf: the harness snappy-compresses it,
 *          so mutations act on protobuf fields rather than on snappy ops
 *   bit 2  tight limits (few series, samples, labels; short names and
 *          values; 64 KiB decompressed; 1 MiB arena) to drive the limit paths
 *   bit 3  add a tenant label (the extra label the server inserts)
 *   bit 4  the Content-Type is taken from the input: bytes up to the first
 *          NUL (at most 128), the body follows the NUL
 *
 * Checked on every successful decode: each valid series has sorted,
 * unique, non-empty label names with non-empty values and a __name__;
 * the counters add up; and the valid part survives a round trip: encoded
 * again (api/remote_write_encode.h) with the same version and decoded with
 * the same options, it gives the same series, labels, samples and
 * histograms bit for bit, with nothing rejected. One exception: -0.0 may
 * come back as +0.0, because the encoder (protobuf-c) omits a proto3 double
 * that compares equal to 0, sign included; the decoder keeps -0.0.
 * On every input, decoded or not, the hand-written decoder agrees with
 * protobuf-c's reference decoder (same outcome, same series bit for bit).
 */
#include "api/remote_write_decode.h"
#include "api/remote_write_encode.h"
#include "engine/core/arena.h"
#include "engine/core/buf.h"
#include "tests/fuzz/fuzz_util.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define CT_V1 "application/x-protobuf;proto=prometheus.WriteRequest"
#define CT_V2 "application/x-protobuf;proto=io.prometheus.write.v2.Request"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_quiet_logs();
    return 0;
}

static void check_series(const br_rw_series *s)
{
    FZ_CHECK(s->n_labels > 0, "valid series without labels");
    FZ_CHECK(s->n_samples + s->n_histograms > 0, "valid series with nothing to store");
    bool has_name = false;
    for (size_t i = 0; i < s->n_labels; i++) {
        const br_label *l = &s->labels[i];
        FZ_CHECK(l->name != NULL && l->name[0] != '\0', "empty label name at %zu", i);
        FZ_CHECK(l->value != NULL && l->value[0] != '\0', "empty value for label %s", l->name);
        if (i > 0) {
            FZ_CHECK(strcmp(s->labels[i - 1].name, l->name) < 0, "labels %s, %s not sorted/unique",
                     s->labels[i - 1].name, l->name);
        }
        has_name = has_name || strcmp(l->name, "__name__") == 0;
    }
    FZ_CHECK(has_name, "valid series without __name__");
}

static void check_same(const br_rw_request *a, const br_rw_request *b)
{
    FZ_CHECK(a->n_series == b->n_series, "round trip: %zu series, then %zu", a->n_series,
             b->n_series);
    FZ_CHECK(b->n_rejected_series == 0, "round trip rejected %zu series: %s",
             b->n_rejected_series, b->n_messages > 0 ? b->messages[0] : "");
    for (size_t i = 0; i < a->n_series; i++) {
        const br_rw_series *x = &a->series[i];
        const br_rw_series *y = &b->series[i];
        FZ_CHECK(x->n_labels == y->n_labels, "round trip: series %zu label count", i);
        for (size_t k = 0; k < x->n_labels; k++) {
            FZ_CHECK(strcmp(x->labels[k].name, y->labels[k].name) == 0 &&
                         strcmp(x->labels[k].value, y->labels[k].value) == 0,
                     "round trip: series %zu label %zu", i, k);
        }
        FZ_CHECK(x->n_samples == y->n_samples, "round trip: series %zu sample count", i);
        for (size_t k = 0; k < x->n_samples; k++) {
            FZ_CHECK(x->samples[k].t == y->samples[k].t &&
                         fz_same_num(x->samples[k].v, y->samples[k].v, 1),
                     "round trip: series %zu sample %zu", i, k);
        }
        FZ_CHECK(x->n_histograms == y->n_histograms, "round trip: series %zu histogram count", i);
        for (size_t k = 0; k < x->n_histograms; k++) {
            const char *diff = fz_hist_diff(&x->histograms[k].h, &y->histograms[k].h, 1);
            FZ_CHECK(x->histograms[k].t == y->histograms[k].t && diff == NULL,
                     "round trip: series %zu histogram %zu differs in %s", i, k,
                     diff ? diff : "t");
        }
    }
}

/* The hand-written decoder against protobuf-c's (the reference): the same
 * body gives the same series, labels, sample bits, histograms and
 * rejections. */
static void check_decoders_agree(const br_rw_request *a, const br_rw_request *b)
{
    FZ_CHECK(a->version == b->version && a->n_series == b->n_series &&
                 a->n_rejected_series == b->n_rejected_series && a->n_samples == b->n_samples &&
                 a->n_valid_samples == b->n_valid_samples &&
                 a->n_valid_histograms == b->n_valid_histograms &&
                 a->n_exemplars == b->n_exemplars,
             "decoders differ: series %zu/%zu rejected %zu/%zu samples %zu/%zu", a->n_series,
             b->n_series, a->n_rejected_series, b->n_rejected_series, a->n_samples, b->n_samples);
    for (size_t r = 0; r < BR_RW_REASON_COUNT; r++) {
        FZ_CHECK(a->rejected[r] == b->rejected[r], "decoders differ on rejection reason %zu", r);
    }
    for (size_t i = 0; i < a->n_series; i++) {
        const br_rw_series *x = &a->series[i];
        const br_rw_series *y = &b->series[i];
        FZ_CHECK(x->n_labels == y->n_labels && x->n_samples == y->n_samples &&
                     x->n_histograms == y->n_histograms,
                 "decoders differ on series %zu's shape", i);
        for (size_t k = 0; k < x->n_labels; k++) {
            FZ_CHECK(strcmp(x->labels[k].name, y->labels[k].name) == 0 &&
                         strcmp(x->labels[k].value, y->labels[k].value) == 0,
                     "decoders differ on series %zu label %zu", i, k);
        }
        for (size_t k = 0; k < x->n_samples; k++) {
            FZ_CHECK(x->samples[k].t == y->samples[k].t &&
                         fz_same_bits(x->samples[k].v, y->samples[k].v),
                     "decoders differ on series %zu sample %zu", i, k);
        }
        for (size_t k = 0; k < x->n_histograms; k++) {
            const char *diff = fz_hist_diff(&x->histograms[k].h, &y->histograms[k].h, 0);
            FZ_CHECK(x->histograms[k].t == y->histograms[k].t && diff == NULL,
                     "decoders differ on series %zu histogram %zu (%s)", i, k, diff ? diff : "t");
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    unsigned mode = data[0];
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    const char *ct = (mode & 1u) ? CT_V2 : CT_V1;
    char ct_buf[129];
    if (mode & 16u) {
        const uint8_t *nul = memchr(body, 0, len < 128 ? len : 128);
        if (nul == NULL) {
            return 0;
        }
        size_t n = (size_t)(nul - body);
        memcpy(ct_buf, body, n);
        ct_buf[n] = '\0';
        ct = ct_buf;
        body = nul + 1;
        len -= n + 1;
    }

    br_rw_options opts;
    br_rw_options_init(&opts);
    size_t arena_cap = 64u * 1024 * 1024;
    opts.max_decompressed_bytes = 4u * 1024 * 1024;
    if (mode & 4u) {
        opts.max_decompressed_bytes = 64u * 1024;
        opts.max_series = 8;
        opts.max_samples = 64;
        opts.max_labels_per_series = 8;
        opts.max_label_name_len = 16;
        opts.max_label_value_len = 32;
        arena_cap = 1024u * 1024;
    }
    if (mode & 8u) {
        opts.extra_label_name = "tenant";
        opts.extra_label_value = "team-a";
    }

    br_buf packed;
    br_buf_init(&packed, 0);
    br_err err;
    br_err_clear(&err);
    if (mode & 2u) {
        if (br_rw_snappy_compress(body, len, &packed, &err) != 0) {
            br_buf_free(&packed);
            return 0;
        }
        body = (const uint8_t *)packed.data;
        len = packed.len;
    }

    br_arena arena;
    br_arena_init(&arena, 64 * 1024, arena_cap);
    br_rw_request req;
    int rc = br_rw_decode(body, len, ct, "snappy", &opts, &arena, &req, &err);
    {
        /* The reference decoder needs more arena: it may run out where
         * the hand-written one did not, never the other way round. */
        br_rw_options ref_opts = opts;
        ref_opts.reference_decoder = true;
        br_arena ref_arena;
        br_arena_init(&ref_arena, 64 * 1024, arena_cap * 4);
        br_rw_request ref;
        br_err ref_err;
        br_err_clear(&ref_err);
        int ref_rc = br_rw_decode(body, len, ct, "snappy", &ref_opts, &ref_arena, &ref, &ref_err);
        FZ_CHECK(rc == ref_rc || (rc == 0 && ref_rc != 0),
                 "decoders differ: %d (%s) vs reference %d (%s)", rc, rc ? err.msg : "ok", ref_rc,
                 ref_rc ? ref_err.msg : "ok");
        if (rc == 0 && ref_rc == 0) {
            check_decoders_agree(&req, &ref);
        }
        br_arena_free(&ref_arena);
    }
    if (rc == 0) {
        FZ_CHECK(req.version == 1 || req.version == 2, "version %d", req.version);
        size_t samples = 0;
        size_t hists = 0;
        for (size_t i = 0; i < req.n_series; i++) {
            check_series(&req.series[i]);
            samples += req.series[i].n_samples;
            hists += req.series[i].n_histograms;
        }
        FZ_CHECK(samples == req.n_valid_samples && hists == req.n_valid_histograms,
                 "valid counts %zu/%zu, series hold %zu/%zu", req.n_valid_samples,
                 req.n_valid_histograms, samples, hists);
        FZ_CHECK(req.n_valid_samples + req.n_rejected_samples <= req.n_samples,
                 "samples: %zu valid + %zu rejected > %zu", req.n_valid_samples,
                 req.n_rejected_samples, req.n_samples);
        FZ_CHECK(req.n_messages <= BR_RW_MAX_MESSAGES, "%zu messages", req.n_messages);
        size_t by_reason = 0;
        for (size_t i = 0; i < BR_RW_REASON_COUNT; i++) {
            by_reason += req.rejected[i];
        }
        FZ_CHECK(by_reason == req.n_rejected_series, "rejections by reason %zu, total %zu",
                 by_reason, req.n_rejected_series);

        br_buf text;
        br_buf_init(&text, 4096);
        (void)br_rw_describe_rejections(&req, &text);
        br_buf_free(&text);

        if (req.n_series > 0) {
            br_buf again;
            br_buf_init(&again, 0);
            rc = br_rw_encode(req.version, req.series, req.n_series, &again, &err);
            FZ_CHECK(rc == 0, "re-encoding the valid series failed: %s", err.msg);
            br_arena arena2;
            br_arena_init(&arena2, 64 * 1024, 0);
            br_rw_request req2;
            rc = br_rw_decode(again.data, again.len, req.version == 2 ? CT_V2 : CT_V1, "snappy",
                              &opts, &arena2, &req2, &err);
            /* The tight limits may reject a re-encoding that is a little
             * larger than the original (a 2.0 symbol table, say). */
            FZ_CHECK(rc == 0 || (mode & 4u) != 0, "decoding the re-encoded body failed: %s",
                     err.msg);
            if (rc == 0) {
                check_same(&req, &req2);
            }
            br_arena_free(&arena2);
            br_buf_free(&again);
        }
    }
    br_arena_free(&arena);
    br_buf_free(&packed);
    return 0;
}
