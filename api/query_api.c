/*
 * query_api.c — metadata endpoints and raw export. See query_api.h.
 *
 * Every handler reads inside one br_head_read_begin/end bracket, so the
 * label strings it writes stay valid while it writes them.
 */
#include "query_api.h"

#include "api/json.h"
#include "engine/core/alloc.h"
#include "engine/core/clock.h"
#include "engine/core/numfmt.h"
#include "engine/core/utf8.h"
#include "engine/promql/eval.h"
#include "engine/promql/parser.h"
#include "engine/promql/selector.h"

#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MATCH_PARAMS 64
#define MAX_RESPONSE     (256u * 1024 * 1024)

typedef struct range_params {
    int64_t start;
    int64_t end;
    size_t limit;  /* 0 = none */
} range_params;

static int parse_range(br_http_request *req, br_http_response *resp, range_params *rp)
{
    rp->start = BR_API_MIN_TIME_MS;
    rp->end = BR_API_MAX_TIME_MS;
    rp->limit = 0;
    br_err err;
    br_err_clear(&err);
    const char *s = br_http_param_get(req, "start");
    if (s != NULL && *s != '\0' && br_api_parse_time("start", s, &rp->start, &err) != 0) {
        br_api_error(resp, "bad_data", err.msg);
        return -1;
    }
    s = br_http_param_get(req, "end");
    if (s != NULL && *s != '\0' && br_api_parse_time("end", s, &rp->end, &err) != 0) {
        br_api_error(resp, "bad_data", err.msg);
        return -1;
    }
    s = br_http_param_get(req, "limit");
    if (s != NULL && *s != '\0') {
        char *end = NULL;
        long long v = strtoll(s, &end, 10);
        if (*end != '\0' || v < 0) {
            br_api_error(resp, "bad_data", "invalid parameter \"limit\": must be a non-negative integer");
            return -1;
        }
        rp->limit = (size_t)v;
    }
    return 0;
}

/* Selects the union of the match[] selectors, restricted to series with
 * samples in [start, end]. Returns the number of selectors (0 = none given)
 * or -1 after writing an error response. Call inside a read bracket. */
static int select_matches(br_query_api *api, br_http_request *req, br_http_response *resp,
                          const range_params *rp, br_refs *out)
{
    const char *sels[MAX_MATCH_PARAMS];
    size_t n = br_http_param_all(req, "match[]", sels, MAX_MATCH_PARAMS);
    if (n > MAX_MATCH_PARAMS) {
        br_api_error(resp, "bad_data", "too many match[] parameters (at most 64)");
        return -1;
    }
    br_refs all;
    br_refs_init(&all);
    for (size_t i = 0; i < n; i++) {
        br_selector sel;
        br_err err;
        br_err_clear(&err);
        if (br_selector_parse(sels[i], &sel, &err) != 0) {
            char msg[BR_ERR_MSG_SIZE + 64];
            snprintf(msg, sizeof(msg), "invalid parameter \"match[]\": %s", err.msg);
            br_api_error(resp, "bad_data", msg);
            br_refs_free(&all);
            return -1;
        }
        br_refs one;
        br_refs_init(&one);
        int rc = br_head_select(api->head, sel.matchers, sel.n, &one, &err);
        br_selector_free(&sel);
        if (rc != 0) {
            char msg[BR_ERR_MSG_SIZE + 64];
            snprintf(msg, sizeof(msg), "invalid parameter \"match[]\": %s", err.msg);
            br_api_error(resp, "bad_data", msg);
            br_refs_free(&one);
            br_refs_free(&all);
            return -1;
        }
        br_postings_list lists[2] = {{all.v, all.n}, {one.v, one.n}};
        br_refs merged;
        br_refs_init(&merged);
        br_postings_union(lists, 2, &merged);
        br_refs_free(&all);
        br_refs_free(&one);
        all = merged;
    }
    br_refs_init(out);
    for (size_t i = 0; i < all.n; i++) {
        int64_t lo;
        int64_t hi;
        if (br_head_series_bounds(api->head, all.v[i], &lo, &hi) && hi >= rp->start &&
            lo <= rp->end) {
            br_refs_push(out, all.v[i]);
        }
    }
    br_refs_free(&all);
    return (int)n;
}

static void write_labels(br_buf *out, const br_labels *ls)
{
    br_buf_putc(out, '{');
    for (size_t i = 0; i < br_labels_count(ls); i++) {
        const br_label *l = br_labels_at(ls, i);
        if (i > 0) {
            br_buf_putc(out, ',');
        }
        br_json_string(out, l->name);
        br_buf_putc(out, ':');
        br_json_string(out, l->value);
    }
    br_buf_putc(out, '}');
}

static void finish_with_warning(br_http_response *resp, br_buf *data, bool truncated)
{
    br_api_success(resp, br_buf_str(data), data->len);
    if (truncated) {
        /* Re-open the envelope to add the warning Prometheus adds. */
        resp->body.len--;
        br_buf_puts(&resp->body, ",\"warnings\":[\"results truncated due to limit\"]}");
    }
}

static int handle_series(void *ctx, br_http_request *req, br_http_response *resp)
{
    br_query_api *api = ctx;
    range_params rp;
    if (parse_range(req, resp, &rp) != 0) {
        return 0;
    }
    if (br_http_param_get(req, "match[]") == NULL) {
        br_api_error(resp, "bad_data", "no match[] parameter provided");
        return 0;
    }
    br_head_read_begin(api->head);
    br_refs refs;
    if (select_matches(api, req, resp, &rp, &refs) < 0) {
        br_head_read_end(api->head);
        return 0;
    }
    /* Prometheus returns series sorted by labels. */
    const br_labels **sets = br_malloc(sizeof(*sets) * (refs.n + 1));
    size_t n = 0;
    for (size_t i = 0; i < refs.n; i++) {
        const br_labels *ls = br_head_series_labels(api->head, refs.v[i]);
        if (ls != NULL) {
            sets[n++] = ls;
        }
    }
    for (size_t i = 1; i < n; i++) {
        const br_labels *x = sets[i];
        size_t j = i;
        while (j > 0 && br_labels_cmp(sets[j - 1], x) > 0) {
            sets[j] = sets[j - 1];
            j--;
        }
        sets[j] = x;
    }
    br_buf data;
    br_buf_init(&data, MAX_RESPONSE);
    br_buf_putc(&data, '[');
    bool truncated = false;
    for (size_t i = 0; i < n; i++) {
        if (rp.limit > 0 && i >= rp.limit) {
            truncated = true;
            break;
        }
        if (i > 0) {
            br_buf_putc(&data, ',');
        }
        write_labels(&data, sets[i]);
    }
    br_buf_putc(&data, ']');
    br_head_read_end(api->head);
    finish_with_warning(resp, &data, truncated);
    br_buf_free(&data);
    br_free(sets);
    br_refs_free(&refs);
    return 0;
}

static void write_strs(br_buf *data, const br_strs *s, size_t limit, bool *truncated)
{
    br_buf_putc(data, '[');
    for (size_t i = 0; i < s->n; i++) {
        if (limit > 0 && i >= limit) {
            *truncated = true;
            break;
        }
        if (i > 0) {
            br_buf_putc(data, ',');
        }
        br_json_string(data, s->v[i]);
    }
    br_buf_putc(data, ']');
}

static int handle_labels(void *ctx, br_http_request *req, br_http_response *resp)
{
    br_query_api *api = ctx;
    range_params rp;
    if (parse_range(req, resp, &rp) != 0) {
        return 0;
    }
    br_head_read_begin(api->head);
    br_refs refs;
    int nsel = select_matches(api, req, resp, &rp, &refs);
    if (nsel < 0) {
        br_head_read_end(api->head);
        return 0;
    }
    br_strs names = {0};
    br_head_label_names(api->head, nsel > 0 ? &refs : NULL, &names);
    br_buf data;
    br_buf_init(&data, MAX_RESPONSE);
    bool truncated = false;
    write_strs(&data, &names, rp.limit, &truncated);
    br_head_read_end(api->head);
    finish_with_warning(resp, &data, truncated);
    br_buf_free(&data);
    br_strs_free(&names);
    br_refs_free(&refs);
    return 0;
}

/* Decodes Prometheus' U__ escaping of label names in the path. */
static bool unescape_label_name(const char *in, char *out, size_t size)
{
    if (strncmp(in, "U__", 3) != 0) {
        snprintf(out, size, "%s", in);
        return true;
    }
    size_t o = 0;
    for (const char *p = in + 3; *p != '\0'; p++) {
        if (o + 5 >= size) {
            return false;
        }
        if (*p != '_') {
            out[o++] = *p;
            continue;
        }
        if (p[1] == '_') {
            out[o++] = '_';
            p++;
            continue;
        }
        char *end = NULL;
        unsigned long cp = strtoul(p + 1, &end, 16);
        if (end == p + 1 || *end != '_' || cp > 0x10FFFF) {
            return false;
        }
        unsigned char b[4];
        size_t w = br_utf8_encode((uint32_t)cp, b);
        if (w == 0) {
            return false;
        }
        memcpy(out + o, b, w);
        o += w;
        p = end;
    }
    out[o] = '\0';
    return true;
}

static int handle_label_values(void *ctx, br_http_request *req, br_http_response *resp)
{
    br_query_api *api = ctx;
    const char *prefix = "/api/v1/label/";
    const char *rest = req->path + strlen(prefix);
    const char *slash = strchr(rest, '/');
    if (slash == NULL || strcmp(slash, "/values") != 0 || slash == rest) {
        br_api_error(resp, "not_found", "unknown path; expected /api/v1/label/<name>/values");
        return 0;
    }
    char raw[1024];
    char name[1024];
    size_t len = (size_t)(slash - rest);
    if (len >= sizeof(raw)) {
        br_api_error(resp, "bad_data", "label name too long");
        return 0;
    }
    memcpy(raw, rest, len);
    raw[len] = '\0';
    if (!unescape_label_name(raw, name, sizeof(name))) {
        char msg[1100];
        snprintf(msg, sizeof(msg), "invalid label name: \"%s\"", raw);
        br_api_error(resp, "bad_data", msg);
        return 0;
    }
    range_params rp;
    if (parse_range(req, resp, &rp) != 0) {
        return 0;
    }
    br_head_read_begin(api->head);
    br_refs refs;
    int nsel = select_matches(api, req, resp, &rp, &refs);
    if (nsel < 0) {
        br_head_read_end(api->head);
        return 0;
    }
    br_strs values = {0};
    br_head_label_values(api->head, name, nsel > 0 ? &refs : NULL, &values);
    br_buf data;
    br_buf_init(&data, MAX_RESPONSE);
    bool truncated = false;
    write_strs(&data, &values, rp.limit, &truncated);
    br_head_read_end(api->head);
    finish_with_warning(resp, &data, truncated);
    br_buf_free(&data);
    br_strs_free(&values);
    br_refs_free(&refs);
    return 0;
}

static int handle_export(void *ctx, br_http_request *req, br_http_response *resp)
{
    br_query_api *api = ctx;
    range_params rp;
    if (parse_range(req, resp, &rp) != 0) {
        return 0;
    }
    if (br_http_param_get(req, "match[]") == NULL) {
        br_api_error(resp, "bad_data", "no match[] parameter provided");
        return 0;
    }
    br_head_read_begin(api->head);
    br_refs refs;
    if (select_matches(api, req, resp, &rp, &refs) < 0) {
        br_head_read_end(api->head);
        return 0;
    }
    br_buf *out = &resp->body;
    br_buf_reset(out);
    out->max_len = MAX_RESPONSE;
    bool too_big = false;
    for (size_t i = 0; i < refs.n && !too_big; i++) {
        const br_labels *ls = br_head_series_labels(api->head, refs.v[i]);
        if (ls == NULL) {
            continue;
        }
        br_buf_puts(out, "{\"metric\":");
        write_labels(out, ls);
        br_buf_puts(out, ",\"values\":[");
        br_series_iter it;
        br_head_series_iter(api->head, refs.v[i], rp.start, rp.end, &it);
        br_buf ts;
        br_buf_init(&ts, MAX_RESPONSE);
        size_t k = 0;
        while (br_series_iter_next(&it)) {
            if (k > 0) {
                br_buf_putc(out, ',');
                br_buf_putc(&ts, ',');
            }
            br_json_sample_value(out, it.v);
            br_buf_printf(&ts, "%lld", (long long)it.t);
            k++;
        }
        br_series_iter_free(&it);
        br_buf_puts(out, "],\"timestamps\":[");
        br_buf_append(out, br_buf_str(&ts), ts.len);
        br_buf_puts(out, "]}\n");
        br_buf_free(&ts);
        too_big = out->len + 1024 >= MAX_RESPONSE;
    }
    br_head_read_end(api->head);
    br_refs_free(&refs);
    if (too_big) {
        br_api_error(resp, "bad_data", "export larger than 256 MiB; narrow match[] or the time range");
        return 0;
    }
    resp->status = 200;
    resp->content_type = "application/stream+json";
    return 0;
}

/* ---- PromQL queries ---------------------------------------------------- */

static void write_histogram(br_buf *out, const br_histogram *h)
{
    br_buf_puts(out, "{\"count\":");
    br_json_sample_value(out, h->count);
    br_buf_puts(out, ",\"sum\":");
    br_json_sample_value(out, h->sum);
    br_buf_puts(out, ",\"buckets\":[");
    bool first = true;
    char lo_s[BR_FLOAT_BUF];
    char hi_s[BR_FLOAT_BUF];
    /* Negative buckets, from the most negative; then zero; then positive. */
    bool custom = h->schema == -53;
    double base = custom ? 0 : pow(2.0, pow(2.0, -(double)h->schema));
    for (int side = 0; side < 3; side++) {
        if (side == 1) {
            if (!custom && h->zero_count > 0) {
                br_buf_printf(out, "%s[3,\"%s\",\"%s\",", first ? "" : ",",
                              br_format_float(-h->zero_threshold, lo_s, sizeof(lo_s)),
                              br_format_float(h->zero_threshold, hi_s, sizeof(hi_s)));
                br_json_sample_value(out, h->zero_count);
                br_buf_putc(out, ']');
                first = false;
            }
            continue;
        }
        bool neg = side == 0;
        const br_span *spans = neg ? h->neg_spans : h->pos_spans;
        uint32_t n_spans = neg ? h->n_neg_spans : h->n_pos_spans;
        const double *counts = neg ? h->neg_buckets : h->pos_buckets;
        uint32_t n_counts = neg ? h->n_neg : h->n_pos;
        /* Collect (index, count) pairs in span order. */
        int32_t idx = 0;
        uint32_t k = 0;
        int32_t *indexes = br_malloc(sizeof(int32_t) * (n_counts + 1));
        for (uint32_t sp = 0; sp < n_spans; sp++) {
            idx += spans[sp].offset;
            for (uint32_t j = 0; j < spans[sp].length && k < n_counts; j++) {
                indexes[k++] = idx;
                idx++;
            }
        }
        for (uint32_t q = 0; q < k; q++) {
            /* Negative buckets are written from the most negative first. */
            uint32_t at = neg ? k - 1 - q : q;
            double c = counts[at];
            if (c == 0) {
                continue;
            }
            int32_t i = indexes[at];
            double lo;
            double hi;
            if (custom) {
                lo = i == 0 ? -INFINITY : (i - 1 < (int32_t)h->n_custom ? h->custom_values[i - 1] : INFINITY);
                hi = i < (int32_t)h->n_custom ? h->custom_values[i] : INFINITY;
            } else {
                lo = pow(base, i - 1);
                hi = pow(base, i);
            }
            int rule = neg ? 1 : 0;
            if (neg) {
                double t = lo;
                lo = -hi;
                hi = -t;
            }
            br_buf_printf(out, "%s[%d,\"%s\",\"%s\",", first ? "" : ",", rule,
                          br_format_float(lo, lo_s, sizeof(lo_s)),
                          br_format_float(hi, hi_s, sizeof(hi_s)));
            br_json_sample_value(out, c);
            br_buf_putc(out, ']');
            first = false;
        }
        br_free(indexes);
    }
    br_buf_puts(out, "]}");
}

static void write_point(br_buf *out, const br_point *p)
{
    br_buf_putc(out, '[');
    br_json_timestamp(out, p->t);
    br_buf_putc(out, ',');
    if (p->h != NULL) {
        write_histogram(out, p->h);
    } else {
        br_json_sample_value(out, p->v);
    }
    br_buf_putc(out, ']');
}

static void write_result_labels(br_buf *out, const br_result_series *s)
{
    br_buf_putc(out, '{');
    for (size_t i = 0; i < s->n_labels; i++) {
        if (i > 0) {
            br_buf_putc(out, ',');
        }
        br_json_string(out, s->labels[i].name);
        br_buf_putc(out, ':');
        br_json_string(out, s->labels[i].value);
    }
    br_buf_putc(out, '}');
}

/* Writes {"resultType":...,"result":...} for r. */
static void write_result(br_buf *out, const br_promql_result *r)
{
    static const char *const names[] = {"vector", "scalar", "vector", "matrix", "string"};
    br_buf_printf(out, "{\"resultType\":\"%s\",\"result\":", names[r->type]);
    switch (r->type) {
    case BR_VALUE_SCALAR: {
        br_point p = {.t = r->t, .v = r->scalar};
        write_point(out, &p);
        break;
    }
    case BR_VALUE_STRING:
        br_buf_putc(out, '[');
        br_json_timestamp(out, r->t);
        br_buf_putc(out, ',');
        br_json_string(out, r->string ? r->string : "");
        br_buf_putc(out, ']');
        break;
    case BR_VALUE_MATRIX:
        br_buf_putc(out, '[');
        for (size_t i = 0; i < r->n_series; i++) {
            const br_result_series *s = &r->series[i];
            br_buf_puts(out, i ? ",{\"metric\":" : "{\"metric\":");
            write_result_labels(out, s);
            size_t floats = 0;
            size_t hists = 0;
            for (size_t k = 0; k < s->n_points; k++) {
                if (s->points[k].h != NULL) {
                    hists++;
                } else {
                    floats++;
                }
            }
            if (floats > 0) {
                br_buf_puts(out, ",\"values\":[");
                bool first = true;
                for (size_t k = 0; k < s->n_points; k++) {
                    if (s->points[k].h == NULL) {
                        br_buf_puts(out, first ? "" : ",");
                        write_point(out, &s->points[k]);
                        first = false;
                    }
                }
                br_buf_putc(out, ']');
            }
            if (hists > 0) {
                br_buf_puts(out, ",\"histograms\":[");
                bool first = true;
                for (size_t k = 0; k < s->n_points; k++) {
                    if (s->points[k].h != NULL) {
                        br_buf_puts(out, first ? "" : ",");
                        write_point(out, &s->points[k]);
                        first = false;
                    }
                }
                br_buf_putc(out, ']');
            }
            br_buf_putc(out, '}');
        }
        br_buf_putc(out, ']');
        break;
    default:
        br_buf_putc(out, '[');
        for (size_t i = 0; i < r->n_series; i++) {
            const br_result_series *s = &r->series[i];
            br_buf_puts(out, i ? ",{\"metric\":" : "{\"metric\":");
            write_result_labels(out, s);
            if (s->n_points > 0) {
                br_buf_puts(out, s->points[0].h != NULL ? ",\"histogram\":" : ",\"value\":");
                write_point(out, &s->points[0]);
            }
            br_buf_putc(out, '}');
        }
        br_buf_putc(out, ']');
        break;
    }
    br_buf_putc(out, '}');
}

static void write_annotations(br_buf *out, const char *key, const char *const *items, size_t n)
{
    if (n == 0) {
        return;
    }
    br_buf_printf(out, ",\"%s\":[", key);
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            br_buf_putc(out, ',');
        }
        br_json_string(out, items[i]);
    }
    br_buf_putc(out, ']');
}

static void answer_eval_error(br_http_response *resp, int rc, const br_err *err)
{
    char msg[BR_ERR_MSG_SIZE + 64];
    if (rc == BR_EPARSE) {
        snprintf(msg, sizeof(msg), "invalid parameter \"query\": %s", err->msg);
        br_api_error(resp, "bad_data", msg);
    } else if (rc == BR_ETIMEOUT) {
        br_api_error(resp, "timeout", err->msg);
    } else if (rc == BR_EIO) {
        br_api_error(resp, "internal", err->msg);
    } else {
        br_api_error(resp, "execution", err->msg);
    }
}

static int query_options(br_query_api *api, br_http_request *req, br_http_response *resp,
                         br_promql_options *opts)
{
    memset(opts, 0, sizeof(*opts));
    if (api->options != NULL) {
        api->options(api->options_ctx, opts);
    }
    br_err err;
    br_err_clear(&err);
    const char *s = br_http_param_get(req, "timeout");
    if (s != NULL && *s != '\0' && br_api_parse_duration("timeout", s, &opts->timeout_ms, &err) != 0) {
        br_api_error(resp, "bad_data", err.msg);
        return -1;
    }
    s = br_http_param_get(req, "lookback_delta");
    if (s != NULL && *s != '\0' &&
        br_api_parse_duration("lookback_delta", s, &opts->lookback_ms, &err) != 0) {
        br_api_error(resp, "bad_data", err.msg);
        return -1;
    }
    return 0;
}

static void finish_query(br_http_response *resp, const br_promql_result *r)
{
    br_buf data;
    br_buf_init(&data, MAX_RESPONSE);
    write_result(&data, r);
    br_api_success(resp, br_buf_str(&data), data.len);
    if (r->n_warnings > 0 || r->n_infos > 0) {
        resp->body.len--;
        write_annotations(&resp->body, "warnings", r->warnings, r->n_warnings);
        write_annotations(&resp->body, "infos", r->infos, r->n_infos);
        br_buf_putc(&resp->body, '}');
    }
    br_buf_free(&data);
}

static int handle_query(void *ctx, br_http_request *req, br_http_response *resp)
{
    br_query_api *api = ctx;
    const char *query = br_http_param_get(req, "query");
    if (query == NULL || *query == '\0') {
        br_api_error(resp, "bad_data", "invalid parameter \"query\": unknown position: parse error: no expression found in input");
        return 0;
    }
    int64_t t = br_now_ms();
    br_err err;
    br_err_clear(&err);
    const char *ts = br_http_param_get(req, "time");
    if (ts != NULL && *ts != '\0' && br_api_parse_time("time", ts, &t, &err) != 0) {
        br_api_error(resp, "bad_data", err.msg);
        return 0;
    }
    br_promql_options opts;
    if (query_options(api, req, resp, &opts) != 0) {
        return 0;
    }
    br_queryable q;
    br_queryable_local(api->head, &q);
    br_arena arena;
    br_arena_init(&arena, 256 * 1024, 0);
    br_promql_result r;
    int rc = br_promql_eval_instant(&q, &opts, query, t, &arena, &r, &err);
    if (rc != 0) {
        answer_eval_error(resp, rc, &err);
    } else {
        finish_query(resp, &r);
    }
    br_arena_free(&arena);
    return 0;
}

static int handle_query_range(void *ctx, br_http_request *req, br_http_response *resp)
{
    br_query_api *api = ctx;
    const char *query = br_http_param_get(req, "query");
    br_err err;
    br_err_clear(&err);
    int64_t start;
    int64_t end;
    int64_t step;
    if (br_api_parse_time("start", br_http_param_get(req, "start"), &start, &err) != 0 ||
        br_api_parse_time("end", br_http_param_get(req, "end"), &end, &err) != 0) {
        br_api_error(resp, "bad_data", err.msg);
        return 0;
    }
    if (end < start) {
        br_api_error(resp, "bad_data", "end timestamp must not be before start time");
        return 0;
    }
    if (br_api_parse_duration("step", br_http_param_get(req, "step"), &step, &err) != 0) {
        br_api_error(resp, "bad_data", err.msg);
        return 0;
    }
    if (step <= 0) {
        br_api_error(resp, "bad_data", "zero or negative query resolution step widths are not accepted. Try a positive integer");
        return 0;
    }
    if ((end - start) / step > 11000) {
        br_api_error(resp, "bad_data", "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)");
        return 0;
    }
    if (query == NULL || *query == '\0') {
        br_api_error(resp, "bad_data", "invalid parameter \"query\": unknown position: parse error: no expression found in input");
        return 0;
    }
    br_promql_options opts;
    if (query_options(api, req, resp, &opts) != 0) {
        return 0;
    }
    br_queryable q;
    br_queryable_local(api->head, &q);
    br_arena arena;
    br_arena_init(&arena, 256 * 1024, 0);
    br_promql_result r;
    int rc = br_promql_eval_range(&q, &opts, query, start, end, step, &arena, &r, &err);
    if (rc != 0) {
        answer_eval_error(resp, rc, &err);
    } else {
        finish_query(resp, &r);
    }
    br_arena_free(&arena);
    return 0;
}

/* GET|POST /api/v1/format_query: the expression in canonical form. */
static int handle_format_query(void *ctx, br_http_request *req, br_http_response *resp)
{
    (void)ctx;
    const char *query = br_http_param_get(req, "query");
    if (query == NULL || *query == '\0') {
        br_api_error(resp, "bad_data", "invalid parameter \"query\": unknown position: parse error: no expression found in input");
        return 0;
    }
    br_arena arena;
    br_arena_init(&arena, 64 * 1024, 0);
    br_promql_node *root = NULL;
    br_err err;
    br_err_clear(&err);
    if (br_promql_parse(query, &arena, &root, &err) != 0) {
        char msg[BR_ERR_MSG_SIZE + 64];
        snprintf(msg, sizeof(msg), "invalid parameter \"query\": %s", err.msg);
        br_api_error(resp, "bad_data", msg);
        br_arena_free(&arena);
        return 0;
    }
    br_buf text;
    br_buf_init(&text, MAX_RESPONSE);
    br_promql_print(root, &text);
    br_buf data;
    br_buf_init(&data, MAX_RESPONSE);
    br_json_string(&data, br_buf_str(&text));
    br_api_success(resp, br_buf_str(&data), data.len);
    br_buf_free(&data);
    br_buf_free(&text);
    br_promql_ast_free(root);
    br_arena_free(&arena);
    return 0;
}

void br_query_api_register(br_http_server *s, br_query_api *api)
{
    unsigned gp = BR_HTTP_GET | BR_HTTP_POST;
    br_http_route(s, gp, "/api/v1/query", "/api/v1/query", 0, handle_query, api);
    br_http_route(s, gp, "/api/v1/query_range", "/api/v1/query_range", 0, handle_query_range, api);
    br_http_route(s, gp, "/api/v1/format_query", "/api/v1/format_query", 0, handle_format_query,
                  api);
    br_http_route(s, gp, "/api/v1/series", "/api/v1/series", 0, handle_series, api);
    br_http_route(s, gp, "/api/v1/labels", "/api/v1/labels", 0, handle_labels, api);
    br_http_route(s, BR_HTTP_GET, "/api/v1/label/*", "/api/v1/label/:name/values", 0,
                  handle_label_values, api);
    br_http_route(s, gp, "/api/v1/export", "/api/v1/export", 0, handle_export, api);
}
