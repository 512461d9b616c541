/*
 * fuzz_promql_eval.c — libFuzzer target for PromQL evaluation
 * (engine/promql/eval.h) of arbitrary queries, as /api/v1/query and
 * /api/v1/query_range run them, over a small in-memory head.
 *
 * Input: one mode byte, then the query text.
 *   bit 0  Prometheus 2 compatibility (BR_PROMQL_COMPAT_V2)
 *   bit 1  delayed __name__ removal
 *   bit 2  experimental syntax
 *   bits 3-4  which evaluation time (four choices inside and past the data)
 *
 * The head (built once) holds an hour of data at 15 s: counters with a
 * reset, a gauge with NaN, infinities and a stale marker, 0/1 gauges,
 * classic histogram buckets and a native histogram series. Limits: 200,000
 * samples per query, 5 s timeout, 64 MiB arena.
 *
 * Checked: a failed evaluation has a message; results are well formed
 * (labels sorted and unique within a series, matrix points in time order);
 * and an instant query at t and a range query from t to t agree (the same
 * series with the same value, or the same scalar), as Prometheus defines a
 * range query as instant queries at each step. The comparison is skipped
 * when either evaluation fails (limits count differently) and for string
 * and range-vector results, which range queries do not allow, and for
 * queries naming step() (0 in an instant query, the step in a range one).
 */
#include "engine/core/arena.h"
#include "engine/promql/backend.h"
#include "engine/promql/eval.h"
#include "storage/head.h"
#include "tests/fuzz/fuzz_util.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MIN_MS   INT64_C(60000)
#define STEP_MS  INT64_C(15000)
#define N_STEPS  240

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static br_head *head;
static br_queryable queryable;

static void add(const br_label *labels, size_t n, const br_sample *s, size_t ns,
                const br_histogram_sample *hs, size_t nh)
{
    br_series_input in = {
        .labels = labels, .n_labels = n, .samples = s, .n_samples = ns,
        .histograms = hs, .n_histograms = nh};
    br_commit_result res;
    memset(&res, 0, sizeof(res));
    br_err err;
    br_err_clear(&err);
    if (br_head_commit(head, &in, 1, &res, &err) != 0 || br_commit_rejected(&res) != 0) {
        fprintf(stderr, "fuzz_promql_eval: setup commit failed: %s %s\n", err.msg,
                res.first_rejection);
        abort();
    }
}

static void build_head(void)
{
    br_head_options o;
    memset(&o, 0, sizeof(o));
    br_err err;
    br_err_clear(&err);
    if (br_head_open(&o, &head, &err) != 0) {
        fprintf(stderr, "fuzz_promql_eval: head: %s\n", err.msg);
        abort();
    }
    br_sample s[N_STEPS];
    static const br_label c1[] = {{"__name__", "http_requests_total"}, {"group", "production"},
                                  {"instance", "0"}, {"job", "api"}};
    static const br_label c2[] = {{"__name__", "http_requests_total"}, {"group", "canary"},
                                  {"instance", "1"}, {"job", "api"}};
    static const br_label c3[] = {{"__name__", "http_requests_total"}, {"code", "500"},
                                  {"instance", "0"}, {"job", "web"}};
    for (int i = 0; i < N_STEPS; i++) {
        s[i].t = i * STEP_MS;
        s[i].v = i < 120 ? i * 10.0 : (i - 120) * 10.0;
    }
    add(c1, 4, s, N_STEPS, NULL, 0);
    for (int i = 0; i < N_STEPS; i++) {
        s[i].v = i * 3.0;
    }
    add(c2, 4, s, N_STEPS, NULL, 0);
    for (int i = 0; i < N_STEPS; i++) {
        s[i].v = (double)(i / 7);
    }
    add(c3, 4, s, N_STEPS, NULL, 0);

    static const br_label g[] = {{"__name__", "node_temp_celsius"}, {"instance", "a"}};
    for (int i = 0; i < N_STEPS; i++) {
        s[i].v = 20.0 + sin(i / 10.0) * 5.0;
    }
    s[40].v = NAN;
    s[41].v = INFINITY;
    s[42].v = -INFINITY;
    s[200].v = br_stale_nan();
    add(g, 2, s, N_STEPS, NULL, 0);

    static const br_label up1[] = {{"__name__", "up"}, {"job", "api"}};
    static const br_label up2[] = {{"__name__", "up"}, {"job", "web"}, {"zone", "eu-1"}};
    for (int i = 0; i < N_STEPS; i++) {
        s[i].v = (i % 13) == 0 ? 0 : 1;
    }
    add(up1, 2, s, N_STEPS, NULL, 0);
    add(up2, 3, s, N_STEPS / 2, NULL, 0);

    static const char *les[] = {"0.1", "0.5", "1", "+Inf"};
    for (int b = 0; b < 4; b++) {
        br_label l[3] = {{"__name__", "request_duration_seconds_bucket"}, {"job", "api"},
                         {"le", les[b]}};
        for (int i = 0; i < N_STEPS; i++) {
            s[i].v = i * (b + 1.0);
        }
        add(l, 3, s, N_STEPS, NULL, 0);
    }

    static const br_label nh[] = {{"__name__", "rpc_duration_seconds"}, {"job", "api"}};
    static const br_span spans[] = {{-1, 2}, {1, 2}};
    static double counts[N_STEPS / 4][4];
    br_histogram_sample hs[N_STEPS / 4];
    for (int i = 0; i < N_STEPS / 4; i++) {
        for (int k = 0; k < 4; k++) {
            counts[i][k] = (double)(i * (k + 1));
        }
        br_histogram h = {.schema = 1,
                          .zero_threshold = 0.001,
                          .count = i * 10.0 + 1,
                          .sum = i * 2.5,
                          .zero_count = 1,
                          .n_pos_spans = 2,
                          .n_pos = 4,
                          .pos_spans = spans,
                          .pos_buckets = counts[i]};
        hs[i].t = i * 4 * STEP_MS;
        hs[i].h = h;
    }
    add(nh, 2, NULL, 0, hs, N_STEPS / 4);
    br_queryable_local(head, &queryable);
}

static void cleanup(void)
{
    br_head_close(head);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_quiet_logs();
    build_head();
    atexit(cleanup);
    return 0;
}

static int label_cmp(const br_label *a, size_t na, const br_label *b, size_t nb)
{
    for (size_t i = 0; i < na && i < nb; i++) {
        int c = strcmp(a[i].name, b[i].name);
        if (c == 0) {
            c = strcmp(a[i].value, b[i].value);
        }
        if (c != 0) {
            return c;
        }
    }
    return na < nb ? -1 : na > nb;
}

static int series_cmp(const void *pa, const void *pb)
{
    const br_result_series *a = pa;
    const br_result_series *b = pb;
    return label_cmp(a->labels, a->n_labels, b->labels, b->n_labels);
}

static void check_well_formed(const br_promql_result *r)
{
    for (size_t i = 0; i < r->n_series; i++) {
        const br_result_series *s = &r->series[i];
        for (size_t k = 1; k < s->n_labels; k++) {
            FZ_CHECK(strcmp(s->labels[k - 1].name, s->labels[k].name) < 0,
                     "series %zu: labels %s, %s not sorted/unique", i, s->labels[k - 1].name,
                     s->labels[k].name);
        }
        if (r->type == BR_VALUE_VECTOR) {
            FZ_CHECK(s->n_points == 1, "vector series %zu with %zu points", i, s->n_points);
        }
        for (size_t k = 1; k < s->n_points; k++) {
            FZ_CHECK(s->points[k - 1].t < s->points[k].t, "series %zu: points out of order", i);
        }
    }
}

static bool same_value(const br_point *a, const br_point *b)
{
    if ((a->h == NULL) != (b->h == NULL)) {
        return false;
    }
    if (a->h != NULL) {
        return fz_hist_diff(a->h, b->h, 0) == NULL;
    }
    return fz_same_bits(a->v, b->v) || (isnan(a->v) && isnan(b->v));
}

static void compare(const char *q, size_t len, const br_promql_result *in,
                    const br_promql_result *rg, int64_t t)
{
    FZ_CHECK(rg->type == BR_VALUE_MATRIX, "range query gave type %d", rg->type);
    if (in->type == BR_VALUE_SCALAR) {
        FZ_CHECK(rg->n_series == 1 && rg->series[0].n_labels == 0 &&
                     rg->series[0].n_points == 1,
                 "scalar %.*s: range result has %zu series", (int)len, q, rg->n_series);
        br_point p = {.t = t, .v = in->scalar};
        FZ_CHECK(same_value(&p, &rg->series[0].points[0]), "scalar %.*s: %g vs %g", (int)len, q,
                 in->scalar, rg->series[0].points[0].v);
        return;
    }
    if (in->type != BR_VALUE_VECTOR) {
        return;
    }
    /* A range query drops series without a point at t; an instant vector
     * has exactly one point per series. */
    FZ_CHECK(in->n_series == rg->n_series, "%.*s: instant %zu series, range %zu", (int)len, q,
             in->n_series, rg->n_series);
    br_result_series *sorted = NULL;
    if (in->n_series > 0) {
        sorted = malloc(in->n_series * sizeof(*sorted));
        memcpy(sorted, in->series, in->n_series * sizeof(*sorted));
        qsort(sorted, in->n_series, sizeof(*sorted), series_cmp);
    }
    for (size_t i = 0; i < in->n_series; i++) {
        const br_result_series *a = &sorted[i];
        const br_result_series *b = &rg->series[i];
        FZ_CHECK(label_cmp(a->labels, a->n_labels, b->labels, b->n_labels) == 0,
                 "%.*s: series %zu labels differ", (int)len, q, i);
        FZ_CHECK(b->n_points == 1 && b->points[0].t == t, "%.*s: range series %zu has %zu points",
                 (int)len, q, i, b->n_points);
        FZ_CHECK(same_value(&a->points[0], &b->points[0]), "%.*s: series %zu: %g vs %g", (int)len,
                 q, i, a->points[0].v, b->points[0].v);
    }
    free(sorted);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    static const int64_t times[] = {30 * MIN_MS + 7000, 59 * MIN_MS, 0, 65 * MIN_MS};
    unsigned mode = data[0];
    int64_t t = times[(mode >> 3) & 3];
    br_promql_options o;
    memset(&o, 0, sizeof(o));
    o.compat = (mode & 1u) ? BR_PROMQL_COMPAT_V2 : BR_PROMQL_COMPAT_V3;
    o.delayed_name_removal = (mode & 2u) != 0;
    o.experimental_syntax = (mode & 4u) != 0;
    o.max_samples = 200000;
    o.timeout_ms = 5000;

    /* The query API hands the evaluator a NUL-terminated string. */
    char *q = malloc(size);
    memcpy(q, data + 1, size - 1);
    q[size - 1] = '\0';
    size_t len = strlen(q);

    br_arena a1;
    br_arena_init(&a1, 64 * 1024, 64u * 1024 * 1024);
    br_promql_result r1;
    br_err e1;
    br_err_clear(&e1);
    int rc1 = br_promql_eval_instant(&queryable, &o, q, t, &a1, &r1, &e1);
    if (rc1 != 0) {
        FZ_CHECK(e1.msg[0] != '\0', "failed instant query without a message");
    } else {
        check_well_formed(&r1);
    }

    br_arena a2;
    br_arena_init(&a2, 64 * 1024, 64u * 1024 * 1024);
    br_promql_result r2;
    br_err e2;
    br_err_clear(&e2);
    int rc2 = br_promql_eval_range(&queryable, &o, q, t, t, MIN_MS, &a2, &r2, &e2);
    if (rc2 != 0) {
        FZ_CHECK(e2.msg[0] != '\0', "failed range query without a message");
    } else {
        check_well_formed(&r2);
    }
    /* step() is the query's step: 0 for an instant query, 60 s here for
     * the range query, so queries that use it may differ. */
    if (rc1 == 0 && rc2 == 0 && strcasestr(q, "step") == NULL) {
        compare(q, len, &r1, &r2, t);
    }
    br_arena_free(&a2);
    br_arena_free(&a1);
    free(q);
    return 0;
}
