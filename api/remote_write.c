/*
 * remote_write.c — the remote-write HTTP handler. See remote_write.h for the
 * status codes; this file maps decoder and head outcomes onto them and
 * keeps the counters in /metrics.
 */
#include "remote_write.h"

#include "api/remote_write_decode.h"
#include "engine/core/alloc.h"
#include "engine/core/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

enum head_reason {
    HR_OUT_OF_ORDER,
    HR_DUPLICATE_CONFLICT,
    HR_TOO_OLD,
    HR_SERIES_LIMIT,
    HR_INVALID_HISTOGRAM,
    HR_COUNT,
};

static const char *const head_reason_names[HR_COUNT] = {
    "out_of_order", "duplicate_timestamp", "too_old", "series_limit", "invalid_histogram",
};

struct br_remote_write_api {
    br_head *head;
    br_remote_write_settings_fn settings;
    void *settings_ctx;
    br_counter *requests_v1;
    br_counter *requests_v2;
    br_counter *samples_written;
    br_counter *histograms_written;
    br_counter *exemplars_dropped;
    br_counter *duplicates_ignored;
    br_counter *series_created;
    br_counter *rejected_series[BR_RW_REASON_COUNT];
    br_counter *rejected_samples[HR_COUNT];
    br_counter *request_errors_unsupported;
    br_counter *request_errors_too_large;
    br_counter *request_errors_undecodable;
    br_counter *request_errors_wal;
    br_counter *request_errors_overloaded;
    _Atomic size_t inflight_bytes; /* bodies admitted and not yet answered */
};

br_remote_write_api *br_remote_write_api_new(br_head *head, br_metrics *m,
                                             br_remote_write_settings_fn settings, void *ctx)
{
    br_remote_write_api *api = br_calloc(1, sizeof(*api));
    api->head = head;
    api->settings = settings;
    api->settings_ctx = ctx;
    const char *req = "burnrate_remote_write_requests_total";
    const char *req_help = "Remote-write requests received by protocol version.";
    api->requests_v1 = br_metrics_counter(m, req, req_help, "version=\"1.0\"");
    api->requests_v2 = br_metrics_counter(m, req, req_help, "version=\"2.0\"");
    api->samples_written = br_metrics_counter(
        m, "burnrate_remote_write_samples_written_total",
        "Float samples stored (acknowledged only after the WAL write).", "");
    api->histograms_written = br_metrics_counter(
        m, "burnrate_remote_write_histograms_written_total", "Native histogram samples stored.",
        "");
    api->exemplars_dropped = br_metrics_counter(
        m, "burnrate_remote_write_exemplars_dropped_total",
        "Exemplars received and not stored (burnrate keeps no exemplars).", "");
    api->duplicates_ignored = br_metrics_counter(
        m, "burnrate_remote_write_duplicate_samples_total",
        "Samples resent with the same timestamp and value: accepted, not stored twice.", "");
    api->series_created = br_metrics_counter(m, "burnrate_head_series_created_total",
                                             "Series created by remote write.", "");
    char labels[96];
    for (int r = 0; r < BR_RW_REASON_COUNT; r++) {
        snprintf(labels, sizeof(labels), "reason=\"%s\"", br_rw_reason_name((br_rw_reason)r));
        api->rejected_series[r] = br_metrics_counter(
            m, "burnrate_remote_write_rejected_series_total",
            "Series rejected by validation, by reason (their samples are not stored).", labels);
    }
    for (int r = 0; r < HR_COUNT; r++) {
        snprintf(labels, sizeof(labels), "reason=\"%s\"", head_reason_names[r]);
        api->rejected_samples[r] = br_metrics_counter(
            m, "burnrate_remote_write_rejected_samples_total",
            "Samples of valid series refused by the store, by reason.", labels);
    }
    const char *err_name = "burnrate_remote_write_failed_requests_total";
    const char *err_help = "Requests refused as a whole, by reason.";
    api->request_errors_unsupported = br_metrics_counter(m, err_name, err_help,
                                                         "reason=\"unsupported_media_type\"");
    api->request_errors_too_large = br_metrics_counter(m, err_name, err_help,
                                                       "reason=\"too_large\"");
    api->request_errors_undecodable = br_metrics_counter(m, err_name, err_help,
                                                         "reason=\"undecodable\"");
    api->request_errors_wal = br_metrics_counter(m, err_name, err_help, "reason=\"wal_failure\"");
    api->request_errors_overloaded =
        br_metrics_counter(m, err_name, err_help, "reason=\"overloaded\"");
    atomic_init(&api->inflight_bytes, 0);
    return api;
}

void br_remote_write_api_free(br_remote_write_api *api)
{
    br_free(api);
}

static void written_headers(br_http_request *req, br_http_response *resp, uint64_t samples,
                            uint64_t histograms)
{
    br_http_add_header(resp, "X-Prometheus-Remote-Write-Samples-Written",
                       br_arena_printf(req->arena, "%llu", (unsigned long long)samples));
    br_http_add_header(resp, "X-Prometheus-Remote-Write-Histograms-Written",
                       br_arena_printf(req->arena, "%llu", (unsigned long long)histograms));
    br_http_add_header(resp, "X-Prometheus-Remote-Write-Exemplars-Written", "0");
}

bool br_remote_write_admit(br_remote_write_api *api, size_t cost, size_t bound)
{
    size_t cur = atomic_load(&api->inflight_bytes);
    for (;;) {
        /* Alone, any request is admitted: otherwise a retry could never succeed. */
        if (bound > 0 && cur > 0 && (cost > bound || cur > bound - cost)) {
            return false;
        }
        if (atomic_compare_exchange_weak(&api->inflight_bytes, &cur, cur + cost)) {
            return true;
        }
    }
}

void br_remote_write_release(br_remote_write_api *api, size_t cost)
{
    atomic_fetch_sub(&api->inflight_bytes, cost);
}

static int handle_write_admitted(br_remote_write_api *api, const br_remote_write_settings *st,
                                 br_http_request *req, br_http_response *resp);

static int handle_write(void *ctx, br_http_request *req, br_http_response *resp)
{
    br_remote_write_api *api = ctx;
    br_remote_write_settings st;
    memset(&st, 0, sizeof(st));
    api->settings(api->settings_ctx, &st);
    size_t cost = req->body_len > 0 ? req->body_len : 1;
    if (!br_remote_write_admit(api, cost, st.max_inflight_bytes)) {
        br_counter_inc(api->request_errors_overloaded);
        br_http_add_header(resp, "Retry-After", "1");
        br_http_set_text(resp, 503,
                         "overloaded: %zu bytes of remote-write bodies are being stored "
                         "(limits.max_inflight_write_bytes = %zu); retry shortly\n",
                         atomic_load(&api->inflight_bytes), st.max_inflight_bytes);
        if (br_rw_parse_content_type(br_http_header(req, "Content-Type"), NULL) == 2) {
            written_headers(req, resp, 0, 0);
        }
        return 0;
    }
    int rc = handle_write_admitted(api, &st, req, resp);
    br_remote_write_release(api, cost);
    return rc;
}

static int handle_write_admitted(br_remote_write_api *api, const br_remote_write_settings *sp,
                                 br_http_request *req, br_http_response *resp)
{
    const br_remote_write_settings st = *sp;

    const char *ctype = br_http_header(req, "Content-Type");
    const char *cenc = br_http_header(req, "Content-Encoding");
    int version = br_rw_parse_content_type(ctype, NULL);
    if (version == 2) {
        br_counter_inc(api->requests_v2);
    } else {
        br_counter_inc(api->requests_v1);
    }

    br_rw_options opts;
    br_rw_options_init(&opts);
    opts.max_decompressed_bytes = st.max_decompressed_bytes;
    opts.max_series = st.max_series_per_request;
    opts.max_samples = st.max_samples_per_request;
    opts.max_labels_per_series = st.max_labels_per_series;
    opts.max_label_name_len = st.max_label_name_length;
    opts.max_label_value_len = st.max_label_value_length;
    if (st.tenant_header[0] != '\0') {
        const char *tenant = br_http_header(req, st.tenant_header);
        if (tenant != NULL && tenant[0] != '\0') {
            opts.extra_label_name = st.tenant_label;
            opts.extra_label_value = tenant;
        }
    }

    /* The decode arena is capped so a hostile body fails cleanly. */
    br_arena arena;
    br_arena_init(&arena, 256 * 1024, 48 * (st.max_decompressed_bytes + 1024 * 1024));
    br_rw_request rw;
    br_err err;
    br_err_clear(&err);
    int rc = br_rw_decode(req->body, req->body_len, ctype, cenc, &opts, &arena, &rw, &err);
    if (rc != 0) {
        int status = 400;
        if (rc == BR_EUNSUPPORTED) {
            status = 415;
            br_counter_inc(api->request_errors_unsupported);
        } else if (rc == BR_ETOOLARGE || rc == BR_ELIMIT) {
            status = 413;
            br_counter_inc(api->request_errors_too_large);
        } else {
            br_counter_inc(api->request_errors_undecodable);
        }
        br_http_set_text(resp, status, "%s\n", err.msg);
        if (version == 2) {
            written_headers(req, resp, 0, 0);
        }
        br_arena_free(&arena);
        return 0;
    }
    for (int r = 0; r < BR_RW_REASON_COUNT; r++) {
        if (rw.rejected[r] > 0) {
            br_counter_add(api->rejected_series[r], rw.rejected[r]);
        }
    }
    br_counter_add(api->exemplars_dropped, rw.n_exemplars);

    br_series_input *in = br_arena_alloc(&arena, sizeof(*in) * (rw.n_series + 1));
    if (in == NULL) {
        br_http_set_text(resp, 413, "request too large to process\n");
        br_counter_inc(api->request_errors_too_large);
        br_arena_free(&arena);
        return 0;
    }
    for (size_t i = 0; i < rw.n_series; i++) {
        in[i].labels = rw.series[i].labels;
        in[i].n_labels = rw.series[i].n_labels;
        in[i].samples = rw.series[i].samples;
        in[i].n_samples = rw.series[i].n_samples;
        in[i].histograms = rw.series[i].histograms;
        in[i].n_histograms = rw.series[i].n_histograms;
    }
    br_commit_result cr;
    rc = br_head_commit(api->head, in, rw.n_series, &cr, &err);
    if (rc != 0) {
        br_counter_inc(api->request_errors_wal);
        br_http_add_header(resp, "Retry-After", "5");
        br_http_set_text(resp, 500, "storage failure, retry later: %s\n", err.msg);
        if (version == 2) {
            written_headers(req, resp, 0, 0);
        }
        br_arena_free(&arena);
        return 0;
    }
    br_counter_add(api->samples_written, cr.samples_written);
    br_counter_add(api->histograms_written, cr.histograms_written);
    br_counter_add(api->duplicates_ignored, cr.duplicates_ignored);
    br_counter_add(api->series_created, cr.series_created);
    const uint64_t head_rejects[HR_COUNT] = {cr.out_of_order, cr.duplicate_conflict, cr.too_old,
                                             cr.series_limit, cr.invalid_histogram};
    for (int r = 0; r < HR_COUNT; r++) {
        if (head_rejects[r] > 0) {
            br_counter_add(api->rejected_samples[r], head_rejects[r]);
        }
    }
    /* Duplicates that were already stored count as written for the sender. */
    uint64_t samples_ok = cr.samples_written + cr.duplicates_ignored;
    /* 2.0 senders read these; for 1.0 they are harmless, and the server's
     * write rate limit charges what they say was stored. */
    written_headers(req, resp, samples_ok, cr.histograms_written);
    if (rw.n_rejected_series > 0 || br_commit_rejected(&cr) > 0) {
        resp->status = 400;
        resp->content_type = "text/plain; charset=utf-8";
        br_buf_reset(&resp->body);
        if (rw.n_rejected_series > 0) {
            br_rw_describe_rejections(&rw, &resp->body);
            br_buf_puts(&resp->body, "\n");
        }
        if (br_commit_rejected(&cr) > 0) {
            br_buf_printf(&resp->body,
                          "rejected %llu samples (out_of_order=%llu duplicate_timestamp=%llu "
                          "too_old=%llu series_limit=%llu invalid_histogram=%llu); first: %s\n",
                          (unsigned long long)br_commit_rejected(&cr),
                          (unsigned long long)cr.out_of_order,
                          (unsigned long long)cr.duplicate_conflict,
                          (unsigned long long)cr.too_old, (unsigned long long)cr.series_limit,
                          (unsigned long long)cr.invalid_histogram, cr.first_rejection);
        }
        br_buf_printf(&resp->body, "stored %llu samples and %llu histograms of the request\n",
                      (unsigned long long)cr.samples_written,
                      (unsigned long long)cr.histograms_written);
    } else {
        resp->status = 204;
        resp->content_type = NULL;
    }
    br_arena_free(&arena);
    return 0;
}

void br_remote_write_api_register(br_remote_write_api *api, br_http_server *s, int64_t max_body)
{
    br_http_route(s, BR_HTTP_POST, "/api/v1/write", "/api/v1/write", max_body, handle_write, api);
}
