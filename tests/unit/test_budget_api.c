/*
 * test_budget_api.c — the budget API and the gate over real HTTP: a
 * hand-built br_slo_snapshot behind a fake br_slo_source, served by a
 * br_http_server on a loopback port and called with libcurl.
 *
 * The snapshot holds eight instances chosen so each gate reason has one
 * instance that triggers it alone:
 *   billing-quality                 calendar month, healthy, 85%
 *   catalog-availability            healthy, newest sample 20m old (stale)
 *   checkout-availability           healthy, 77%, 1h burn 0.5, label team=payments
 *   checkout-latency{route="/cart"} caution, 40%, 1h burn 1.0
 *   checkout-latency{route="/pay"}  critical, 12%, 1h burn 3.0
 *   inventory-availability          evaluation failed
 *   payments-availability           healthy, 60%, page-fast alert firing
 *   search-availability             no data
 * "Now" is injected (2026-01-15T00:00:00Z); the tick ran 10 s before.
 * The gate records decisions (record=true) in a real annotation store in
 * a temp dir, read back with br_annotations_query.
 */
/* cmocka.h needs these first, in this order. */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "api/budget_api.h"
#include "rules/evaluator.h"
#include "api/server.h"
#include "engine/core/alloc.h"
#include "rules/slo.h"
#include "rules/slo_status.h"
#include "tests/helpers/testutil.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdatomic.h>

#define MIN_MS  (60LL * 1000)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS  (24 * HOUR_MS)
#define NOW_MS  1768435200000LL /* 2026-01-15T00:00:00Z */
#define EVAL_MS (NOW_MS - 10000)
#define JAN1_MS 1767225600000LL /* 2026-01-01T00:00:00Z */
#define FEB1_MS 1769904000000LL /* 2026-02-01T00:00:00Z */

/* ------------------------------------------------------------------------
 * Fake source.
 * ---------------------------------------------------------------------- */

typedef struct fake_source {
    br_slo_snapshot *snap; /* NULL = no evaluation yet */
    int history_rc;        /* forced result of history(); 0 = compute */
    int history_calls;
    char last_id[256];
    int64_t last_start;
    int64_t last_end;
    int64_t last_step;
    size_t last_max;
} fake_source;

static br_slo_snapshot *fake_snapshot(void *ctx)
{
    fake_source *f = ctx;
    if (f->snap != NULL) {
        br_slo_snapshot_ref(f->snap);
    }
    return f->snap;
}

/* Budget falls by 0.001 per step; the first point has no error ratio. */
static int fake_history(void *ctx, const char *id, int64_t start, int64_t end, int64_t step,
                        size_t max_points, br_arena *arena, br_history *out, br_err *err)
{
    fake_source *f = ctx;
    f->history_calls++;
    snprintf(f->last_id, sizeof(f->last_id), "%s", id);
    f->last_start = start;
    f->last_end = end;
    f->last_step = step;
    f->last_max = max_points;
    if (f->history_rc != 0) {
        return br_err_set(err, f->history_rc, "forced failure");
    }
    size_t n = (size_t)((end - start) / step) + 1;
    if (n > max_points) {
        return br_err_set(err, BR_ELIMIT, "%zu points", n);
    }
    out->points = br_arena_calloc(arena, n, sizeof(br_history_point));
    if (out->points == NULL) {
        return br_err_set(err, BR_ELIMIT, "arena cap");
    }
    for (size_t i = 0; i < n; i++) {
        out->points[i].t_ms = start + (int64_t)i * step;
        out->points[i].budget_remaining = 1.0 - 0.001 * (double)i;
        out->points[i].error_ratio = i == 0 ? NAN : 0.0001;
        out->points[i].burn_rate_1h = 0.5;
    }
    out->n = n;
    return 0;
}

/* ------------------------------------------------------------------------
 * Fixture.
 * ---------------------------------------------------------------------- */

static int64_t clock_now = NOW_MS;

static int64_t test_clock(void *ctx)
{
    (void)ctx;
    return clock_now;
}

static fake_source fake;
static br_slo_source source;
static br_budget_api api;
static br_http_server *srv;
static br_slo_snapshot *snapshot;
static char *ann_dir;             /* temp dir of the annotation store */
static br_annotations *ann_store; /* where record=true writes */

static const br_slo_def *make_def(br_slo_set *set, const char *service, const char *name,
                                  const char *group_by, const char *team, bool calendar)
{
    br_arena *a = br_slo_set_arena(set);
    br_slo_def *d = br_slo_def_new(set);
    d->service = service;
    d->name = name;
    d->description = "Requests served without a 5xx";
    d->objective = 0.999;
    d->sli.kind = BR_SLI_EVENTS;
    d->sli.bad.kind = BR_SOURCE_COUNTER;
    d->sli.bad.expr = "http_requests_total{job=\"api\",code=~\"5..\"}";
    d->sli.total.kind = BR_SOURCE_COUNTER;
    d->sli.total.expr = "http_requests_total{job=\"api\"}";
    if (team != NULL) {
        d->labels = br_arena_calloc(a, 1, sizeof(br_kv));
        d->labels[0].key = "team";
        d->labels[0].value = team;
        d->n_labels = 1;
    }
    if (group_by != NULL) {
        d->grouping = br_arena_calloc(a, 1, sizeof(char *));
        d->grouping[0] = group_by;
        d->n_grouping = 1;
    }
    if (calendar) {
        d->period.kind = BR_PERIOD_CALENDAR;
        d->period.unit = BR_CAL_MONTH;
        d->period.count = 1;
    }
    d->file = "slos/shop.yml";
    d->line = 7;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_slo_set_add(set, d, false, &err), 0);
    return d;
}

/* One instance. remaining NaN = no data; state -1 = none. */
static br_slo_status *add_status(br_slo_snapshot *s, const br_slo_def *d, const char *gval,
                                 double remaining, int state, double burn_1h)
{
    br_arena *a = &s->arena;
    br_slo_status *st = &s->slos[s->n_slos++];
    memset(st, 0, sizeof(*st));
    st->def = d;
    if (gval != NULL) {
        st->instance_id = br_arena_printf(a, "%s{%s=\"%s\"}", d->id, d->grouping[0], gval);
        st->group_labels = br_arena_calloc(a, 1, sizeof(br_kv));
        st->group_labels[0].key = d->grouping[0];
        st->group_labels[0].value = gval;
        st->n_group_labels = 1;
    } else {
        st->instance_id = d->id;
    }
    double allowed = 1.0 - d->objective;
    if (d->period.kind == BR_PERIOD_CALENDAR) {
        st->period_start_ms = JAN1_MS;
        st->period_end_ms = FEB1_MS;
    } else {
        st->period_end_ms = EVAL_MS;
        st->period_start_ms = EVAL_MS - d->period.duration_ms;
    }
    double period_ms = (double)(st->period_end_ms - st->period_start_ms);
    st->budget_total_ms = allowed * period_ms;
    st->period.window_ms = st->period_end_ms - st->period_start_ms;
    if (isnan(remaining)) {
        st->no_data = true;
        st->sli = NAN;
        st->budget_remaining = NAN;
        st->budget_consumed = NAN;
        st->budget_remaining_ms = NAN;
        st->consumed_last_hour = NAN;
        st->exhaustion_eta_s = NAN;
        st->period.error_ratio = NAN;
        st->period.burn_rate = NAN;
    } else {
        st->budget_remaining = remaining;
        st->budget_consumed = 1.0 - remaining;
        st->budget_remaining_ms = remaining * st->budget_total_ms;
        st->period.total = 1e6;
        st->period.error_ratio = (1.0 - remaining) * allowed;
        st->period.bad = st->period.error_ratio * 1e6;
        st->period.burn_rate = 1.0 - remaining;
        st->sli = 1.0 - st->period.error_ratio;
        st->consumed_last_hour = burn_1h * (double)HOUR_MS / period_ms;
        st->exhaustion_eta_s = burn_1h > 0 ? remaining * period_ms / 1000.0 / burn_1h : INFINITY;
    }
    st->policy_state = state >= 0 ? &d->policy.states[state] : NULL;
    st->previous_state = state > 0 ? d->policy.states[state - 1].name : NULL;
    st->state_since_ms = state >= 0 ? EVAL_MS - 2 * HOUR_MS : 0;
    static const int64_t wins[3] = {5 * MIN_MS, HOUR_MS, 6 * HOUR_MS};
    static const double scale[3] = {1.1, 1.0, 0.5};
    st->windows = br_arena_calloc(a, 3, sizeof(br_window_status));
    st->n_windows = 3;
    for (int i = 0; i < 3; i++) {
        br_window_status *w = &st->windows[i];
        w->window_ms = wins[i];
        if (isnan(remaining)) {
            w->error_ratio = NAN;
            w->burn_rate = NAN;
        } else {
            w->burn_rate = burn_1h * scale[i];
            w->error_ratio = w->burn_rate * allowed;
            w->total = 1000;
            w->bad = w->error_ratio * 1000;
        }
    }
    st->alerts = br_arena_calloc(a, 2, sizeof(br_alert_status));
    st->n_alerts = 2;
    br_alert_status *pf = &st->alerts[0];
    pf->alertname = "ShopHighErrorRate";
    pf->kind = "burn_rate";
    pf->tier = "page-fast";
    pf->severity = "page";
    pf->long_window_ms = HOUR_MS;
    pf->short_window_ms = 5 * MIN_MS;
    pf->factor = 14.4;
    pf->threshold = 14.4;
    pf->long_value = st->windows[1].burn_rate;
    pf->short_value = st->windows[0].burn_rate;
    br_alert_status *ts = &st->alerts[1];
    ts->alertname = "ShopHighErrorRate";
    ts->kind = "burn_rate";
    ts->tier = "ticket-slow";
    ts->severity = "ticket";
    ts->long_window_ms = 3 * DAY_MS;
    ts->short_window_ms = 6 * HOUR_MS;
    ts->factor = 1;
    ts->threshold = 1;
    ts->long_value = NAN;
    ts->short_value = NAN;
    st->last_sample_ms = isnan(remaining) ? 0 : EVAL_MS - 15000;
    return st;
}

static int cmp_status(const void *a, const void *b)
{
    return strcmp(((const br_slo_status *)a)->instance_id, ((const br_slo_status *)b)->instance_id);
}

static br_slo_snapshot *build_snapshot(void)
{
    br_slo_set *set = br_slo_set_new();
    const br_slo_def *avail = make_def(set, "checkout", "availability", NULL, "payments", false);
    const br_slo_def *lat = make_def(set, "checkout", "latency", "route", "payments", false);
    const br_slo_def *search = make_def(set, "search", "availability", NULL, NULL, false);
    const br_slo_def *catalog = make_def(set, "catalog", "availability", NULL, NULL, false);
    const br_slo_def *pay = make_def(set, "payments", "availability", NULL, "payments", false);
    const br_slo_def *bill = make_def(set, "billing", "quality", NULL, NULL, true);
    const br_slo_def *inv = make_def(set, "inventory", "availability", NULL, NULL, false);
    br_slo_snapshot *s = br_slo_snapshot_new(set);
    br_slo_set_unref(set); /* the snapshot holds it now */
    s->slos = br_arena_calloc(&s->arena, 16, sizeof(br_slo_status));
    s->eval_time_ms = EVAL_MS;
    s->eval_duration_us = 12500;
    s->interval_ms = 30000;
    s->tick = 42;
    add_status(s, avail, NULL, 0.77, 0, 0.5);
    add_status(s, lat, "/cart", 0.40, 1, 1.0);
    add_status(s, lat, "/pay", 0.12, 2, 3.0);
    add_status(s, search, NULL, NAN, -1, 0);
    br_slo_status *cat = add_status(s, catalog, NULL, 0.95, 0, 0.2);
    cat->last_sample_ms = NOW_MS - 20 * MIN_MS;
    br_slo_status *p = add_status(s, pay, NULL, 0.60, 0, 20.0);
    p->alerts[0].state = BR_ALERT_FIRING;
    p->alerts[0].condition = true;
    p->alerts[0].active_since_ms = EVAL_MS - 3 * MIN_MS;
    add_status(s, bill, NULL, 0.85, 0, 0.1);
    br_slo_status *i = add_status(s, inv, NULL, NAN, -1, 0);
    i->no_data = false;
    i->error = "query timed out after 2m";
    qsort(s->slos, s->n_slos, sizeof(br_slo_status), cmp_status);
    return s;
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ann_dir = tu_mkdtemp("budgetapi-ann");
    if (ann_dir == NULL) {
        return -1;
    }
    br_err aerr;
    br_err_clear(&aerr);
    ann_store = br_annotations_open(ann_dir, &aerr);
    if (ann_store == NULL) {
        return -1;
    }
    snapshot = build_snapshot();
    memset(&fake, 0, sizeof(fake));
    fake.snap = snapshot;
    source.ctx = &fake;
    source.snapshot = fake_snapshot;
    source.history = fake_history;
    memset(&api, 0, sizeof(api));
    api.src = &source;
    api.now_ms = test_clock;
    api.annotations = ann_store;
    br_http_options o;
    memset(&o, 0, sizeof(o));
    o.listen = "127.0.0.1:0";
    br_err err;
    br_err_clear(&err);
    srv = br_http_server_new(&o, &err);
    if (srv == NULL) {
        return -1;
    }
    br_budget_api_register(srv, &api);
    return br_http_server_start(srv, &err) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    br_http_server_free(srv);
    br_slo_snapshot_unref(snapshot);
    br_annotations_close(ann_store);
    tu_rmtree(ann_dir);
    free(ann_dir);
    curl_global_cleanup();
    return 0;
}

/* Restores what tests may change. */
static int reset(void **state)
{
    (void)state;
    clock_now = NOW_MS;
    fake.snap = snapshot;
    fake.history_rc = 0;
    fake.history_calls = 0;
    api.shard_index = 0;
    api.shard_count = 0;
    api.annotations = ann_store;
    return 0;
}

/* ------------------------------------------------------------------------
 * HTTP helpers.
 * ---------------------------------------------------------------------- */

/* GETs path (already URL-encoded); parses the body into *json (caller
 * deletes it); returns the status. */
static long get(const char *path, cJSON **json)
{
    char url[4096];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", br_http_server_port(srv), path);
    tu_http_result r;
    assert_int_equal(tu_http("GET", url, NULL, 0, NULL, &r), 0);
    *json = cJSON_Parse(r.body);
    if (*json == NULL) {
        fail_msg("not JSON (HTTP %ld): %s", r.status, r.body);
    }
    long status = r.status;
    tu_http_free(&r);
    return status;
}

/* The URL encoding of s (static buffer per call site is enough here). */
static const char *enc(const char *s, char *out, size_t size)
{
    CURL *c = curl_easy_init();
    char *e = curl_easy_escape(c, s, 0);
    snprintf(out, size, "%s", e);
    curl_free(e);
    curl_easy_cleanup(c);
    return out;
}

static cJSON *item(const cJSON *o, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (v == NULL) {
        fail_msg("missing key \"%s\"", key);
    }
    return v;
}

static const char *str(const cJSON *o, const char *key)
{
    const char *s = cJSON_GetStringValue(item(o, key));
    if (s == NULL) {
        fail_msg("key \"%s\" is not a string", key);
    }
    return s;
}

static double num(const cJSON *o, const char *key)
{
    cJSON *v = item(o, key);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static cJSON *data_of(cJSON *root)
{
    assert_string_equal(str(root, "status"), "success");
    return item(root, "data");
}

/* The ids in data.slos, joined with spaces. */
static const char *list_ids(cJSON *root, char *out, size_t size)
{
    size_t off = 0;
    out[0] = '\0';
    cJSON *arr = item(data_of(root), "slos");
    for (cJSON *s = arr->child; s != NULL; s = s->next) {
        off += (size_t)snprintf(out + off, size - off, "%s%s", off ? " " : "", str(s, "id"));
    }
    return out;
}

static long list(const char *query, char *ids, size_t size)
{
    char path[1024];
    snprintf(path, sizeof(path), "/api/v1/slos%s", query);
    cJSON *j = NULL;
    long st = get(path, &j);
    if (st == 200) {
        list_ids(j, ids, size);
    } else {
        snprintf(ids, size, "%s", str(j, "error"));
    }
    cJSON_Delete(j);
    return st;
}

/* The gate's answer: status, and the reasons joined with " | ". */
static long gate(const char *query, cJSON **json)
{
    char path[2048];
    snprintf(path, sizeof(path), "/api/v1/gate?%s", query);
    return get(path, json);
}

static const char *joined_reasons(cJSON *j, char *out, size_t size)
{
    size_t off = 0;
    out[0] = '\0';
    for (cJSON *r = item(j, "reasons")->child; r != NULL; r = r->next) {
        off += (size_t)snprintf(out + off, size - off, "%s%s", off ? " | " : "", r->valuestring);
    }
    return out;
}

/* ------------------------------------------------------------------------
 * GET /api/v1/slos
 * ---------------------------------------------------------------------- */

static void test_budget_list_returns_every_instance_sorted(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(get("/api/v1/slos", &j), 200);
    char ids[2048];
    assert_string_equal(list_ids(j, ids, sizeof(ids)),
                        "billing-quality catalog-availability checkout-availability "
                        "checkout-latency{route=\"/cart\"} checkout-latency{route=\"/pay\"} "
                        "inventory-availability payments-availability search-availability");
    cJSON *d = data_of(j);
    assert_string_equal(str(d, "eval_time"), "2026-01-14T23:59:50.000Z");
    assert_true(num(d, "eval_time_ms") == (double)EVAL_MS);
    assert_true(num(d, "interval_seconds") == 30.0);
    assert_true(num(d, "eval_duration_seconds") == 0.0125);
    cJSON_Delete(j);
}

static cJSON *find_row(cJSON *root, const char *id)
{
    cJSON *row = NULL;
    cJSON_ArrayForEach(row, item(data_of(root), "slos"))
    {
        if (strcmp(str(row, "id"), id) == 0) {
            return row;
        }
    }
    fail_msg("no row %s", id);
    return NULL;
}

static void test_budget_list_unsharded_marks_every_slo_evaluated_here(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(get("/api/v1/slos", &j), 200);
    cJSON *row = NULL;
    int rows = 0;
    cJSON_ArrayForEach(row, item(data_of(j), "slos"))
    {
        assert_true(num(row, "shard") == 0.0);
        assert_true(cJSON_IsTrue(item(row, "evaluated_here")));
        rows++;
    }
    assert_int_equal(rows, 8);
    cJSON_Delete(j);
}

static void test_budget_list_names_owner_shard_and_evaluated_here(void **state)
{
    (void)state;
    api.shard_index = 0;
    api.shard_count = 2;
    cJSON *j = NULL;
    assert_int_equal(get("/api/v1/slos", &j), 200);
    /* Pinned in test_rw_out.c: checkout-availability belongs to shard 1 of 2. */
    cJSON *ca = find_row(j, "checkout-availability");
    assert_true(num(ca, "shard") == 1.0);
    assert_true(cJSON_IsFalse(item(ca, "evaluated_here")));
    int here = 0;
    int elsewhere = 0;
    cJSON *row = NULL;
    cJSON_ArrayForEach(row, item(data_of(j), "slos"))
    {
        uint32_t want = br_slo_shard(str(row, "slo_id"), 2);
        assert_true(num(row, "shard") == (double)want);
        assert_int_equal(cJSON_IsTrue(item(row, "evaluated_here")), want == 0);
        here += want == 0;
        elsewhere += want != 0;
    }
    assert_int_equal(here + elsewhere, 8);
    cJSON_Delete(j);
    assert_int_equal(get("/api/v1/slos/checkout-availability", &j), 200);
    assert_true(num(data_of(j), "shard") == 1.0);
    assert_true(cJSON_IsFalse(item(data_of(j), "evaluated_here")));
    cJSON_Delete(j);
}

static void test_gate_denies_slo_evaluated_by_another_shard(void **state)
{
    (void)state;
    api.shard_index = 0;
    api.shard_count = 2;
    cJSON *j = NULL;
    assert_int_equal(gate("slo=checkout-availability&on_no_data=allow", &j), 409);
    assert_false(cJSON_IsTrue(item(j, "allow")));
    char reasons[2048];
    assert_non_null(strstr(joined_reasons(j, reasons, sizeof(reasons)), "evaluated by shard 1"));
    cJSON_Delete(j);
}

static void test_budget_list_filters_by_service(void **state)
{
    (void)state;
    char ids[2048];
    assert_int_equal(list("?service=checkout", ids, sizeof(ids)), 200);
    assert_string_equal(ids, "checkout-availability checkout-latency{route=\"/cart\"} "
                             "checkout-latency{route=\"/pay\"}");
    assert_int_equal(list("?service=nosuch", ids, sizeof(ids)), 200);
    assert_string_equal(ids, "");
}

static void test_budget_list_filters_by_state(void **state)
{
    (void)state;
    char ids[2048];
    assert_int_equal(list("?state=critical", ids, sizeof(ids)), 200);
    assert_string_equal(ids, "checkout-latency{route=\"/pay\"}");
    assert_int_equal(list("?state=no_data", ids, sizeof(ids)), 200);
    assert_string_equal(ids, "inventory-availability search-availability");
}

static void test_budget_list_filters_by_label_of_definition_and_group(void **state)
{
    (void)state;
    char ids[2048];
    assert_int_equal(list("?label=team%3Dpayments", ids, sizeof(ids)), 200);
    assert_string_equal(ids, "checkout-availability checkout-latency{route=\"/cart\"} "
                             "checkout-latency{route=\"/pay\"} payments-availability");
    /* Repeated label filters must all match; group labels count too. */
    assert_int_equal(list("?label=team%3Dpayments&label=route%3D%2Fpay", ids, sizeof(ids)), 200);
    assert_string_equal(ids, "checkout-latency{route=\"/pay\"}");
}

static void test_budget_list_filters_by_substring_case_insensitively(void **state)
{
    (void)state;
    char ids[2048];
    assert_int_equal(list("?q=LATENCY", ids, sizeof(ids)), 200);
    assert_string_equal(ids, "checkout-latency{route=\"/cart\"} checkout-latency{route=\"/pay\"}");
    assert_int_equal(list("?q=bill&state=healthy", ids, sizeof(ids)), 200);
    assert_string_equal(ids, "billing-quality");
}

static void test_budget_list_rejects_label_filter_without_equals(void **state)
{
    (void)state;
    char msg[2048];
    assert_int_equal(list("?label=team", msg, sizeof(msg)), 400);
    assert_string_equal(msg, "invalid parameter \"label\": expected name=value, got \"team\"");
}

static void test_budget_summary_reports_snapshot_numbers(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(get("/api/v1/slos?service=checkout&q=availability", &j), 200);
    cJSON *s = item(data_of(j), "slos")->child;
    assert_non_null(s);
    assert_string_equal(str(s, "id"), "checkout-availability");
    assert_string_equal(str(s, "slo_id"), "checkout-availability");
    assert_string_equal(str(s, "service"), "checkout");
    assert_string_equal(str(s, "name"), "availability");
    assert_string_equal(str(item(s, "labels"), "team"), "payments");
    assert_int_equal(cJSON_GetArraySize(item(s, "group_labels")), 0);
    assert_string_equal(str(s, "format"), "burnrate");
    assert_string_equal(str(s, "source"), "slos/shop.yml:7");
    assert_string_equal(str(s, "sli_kind"), "events");
    assert_string_equal(str(s, "budgeting"), "occurrences");
    assert_true(num(s, "objective") == 0.999);
    cJSON *p = item(s, "period");
    assert_string_equal(str(p, "kind"), "rolling");
    assert_true(num(p, "duration_seconds") == 2592000.0);
    assert_true(cJSON_IsNull(item(p, "calendar")));
    assert_true(num(p, "end_ms") == (double)EVAL_MS);
    cJSON *b = item(s, "budget");
    assert_float_equal(num(b, "total_seconds"), 2592.0, 1e-9);
    assert_float_equal(num(b, "remaining"), 0.77, 1e-12);
    assert_float_equal(num(b, "consumed"), 0.23, 1e-12);
    assert_float_equal(num(b, "remaining_seconds"), 1995.84, 1e-6);
    assert_float_equal(num(b, "consumed_last_hour"), 0.5 / 720.0, 1e-12);
    assert_float_equal(num(b, "exhaustion_eta_seconds"), 0.77 * 2592000.0 / 0.5, 1e-3);
    cJSON *st = item(s, "state");
    assert_string_equal(str(st, "name"), "healthy");
    assert_true(cJSON_IsTrue(item(st, "allow_deploy")));
    assert_string_equal(cJSON_GetArrayItem(item(st, "actions"), 0)->valuestring,
                        "normal_deployment_velocity");
    assert_string_equal(str(st, "since"), "2026-01-14T21:59:50.000Z");
    assert_true(cJSON_IsNull(item(st, "previous")));
    /* Three alert windows plus the period, last. */
    cJSON *ws = item(s, "windows");
    assert_int_equal(cJSON_GetArraySize(ws), 4);
    cJSON *w1h = cJSON_GetArrayItem(ws, 1);
    assert_string_equal(str(w1h, "window"), "1h");
    assert_true(num(w1h, "window_seconds") == 3600.0);
    assert_float_equal(num(w1h, "burn_rate"), 0.5, 1e-12);
    assert_float_equal(num(w1h, "error_ratio"), 0.0005, 1e-12);
    cJSON *wp = cJSON_GetArrayItem(ws, 3);
    assert_string_equal(str(wp, "window"), "30d");
    assert_true(cJSON_IsTrue(item(wp, "period")));
    cJSON *a0 = cJSON_GetArrayItem(item(s, "alerts"), 0);
    assert_string_equal(str(a0, "tier"), "page-fast");
    assert_string_equal(str(a0, "state"), "inactive");
    assert_string_equal(str(a0, "long_window"), "1h");
    assert_string_equal(str(a0, "short_window"), "5m");
    assert_true(cJSON_IsNull(item(a0, "active_since")));
    assert_true(cJSON_IsNull(item(cJSON_GetArrayItem(item(s, "alerts"), 1), "long_value")));
    assert_true(num(s, "firing") == 0);
    assert_string_equal(str(s, "last_sample_time"), "2026-01-14T23:59:35.000Z");
    assert_true(num(s, "data_age_seconds") == 25.0);
    assert_true(cJSON_IsFalse(item(s, "stale")));
    assert_true(cJSON_IsFalse(item(s, "no_data")));
    assert_true(cJSON_IsNull(item(s, "error")));
    cJSON_Delete(j);
}

static void test_budget_summary_writes_no_data_as_null(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(get("/api/v1/slos?service=search", &j), 200);
    cJSON *s = item(data_of(j), "slos")->child;
    assert_true(cJSON_IsNull(item(s, "sli")));
    cJSON *b = item(s, "budget");
    assert_true(cJSON_IsNull(item(b, "remaining")));
    assert_true(cJSON_IsNull(item(b, "consumed")));
    assert_true(cJSON_IsNull(item(b, "remaining_seconds")));
    assert_true(cJSON_IsNull(item(b, "exhaustion_eta_seconds")));
    assert_true(cJSON_IsNull(item(item(s, "state"), "name")));
    assert_true(cJSON_IsFalse(item(item(s, "state"), "allow_deploy")));
    assert_true(cJSON_IsNull(item(cJSON_GetArrayItem(item(s, "windows"), 0), "burn_rate")));
    assert_true(cJSON_IsNull(item(s, "last_sample_time")));
    assert_true(cJSON_IsTrue(item(s, "no_data")));
    cJSON_Delete(j);
}

/* ------------------------------------------------------------------------
 * GET /api/v1/slos/{id}
 * ---------------------------------------------------------------------- */

static void test_budget_detail_finds_url_encoded_grouped_id(void **state)
{
    (void)state;
    char e[512];
    char path[1024];
    snprintf(path, sizeof(path), "/api/v1/slos/%s",
             enc("checkout-latency{route=\"/pay\"}", e, sizeof(e)));
    cJSON *j = NULL;
    assert_int_equal(get(path, &j), 200);
    cJSON *d = data_of(j);
    assert_string_equal(str(d, "id"), "checkout-latency{route=\"/pay\"}");
    assert_string_equal(str(d, "slo_id"), "checkout-latency");
    assert_string_equal(str(item(d, "group_labels"), "route"), "/pay");
    assert_string_equal(str(item(d, "state"), "name"), "critical");
    assert_string_equal(str(item(d, "state"), "previous"), "caution");
    cJSON_Delete(j);
}

static void test_budget_detail_includes_policy_queries_and_tiers(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(get("/api/v1/slos/checkout-availability", &j), 200);
    cJSON *d = data_of(j);
    cJSON *pol = item(d, "policy");
    assert_int_equal(cJSON_GetArraySize(pol), 4);
    assert_string_equal(str(cJSON_GetArrayItem(pol, 2), "name"), "critical");
    assert_true(num(cJSON_GetArrayItem(pol, 2), "above") == 0.10);
    assert_true(cJSON_IsFalse(item(cJSON_GetArrayItem(pol, 2), "allow_deploy")));
    assert_true(cJSON_IsNull(item(cJSON_GetArrayItem(pol, 3), "above")));
    cJSON *q = item(d, "queries");
    /* The expressions of `burnrate generate`'s recording rules. */
    assert_string_equal(str(q, "sli_5m"),
                        "(sum(rate(http_requests_total{code=~\"5..\",job=\"api\"}[5m])) or (0 * "
                        "sum(rate(http_requests_total{job=\"api\"}[5m])))) / "
                        "(sum(rate(http_requests_total{job=\"api\"}[5m])))");
    assert_non_null(cJSON_GetObjectItemCaseSensitive(q, "sli_period"));
    cJSON *t0 = cJSON_GetArrayItem(item(d, "alert_tiers"), 0);
    assert_string_equal(str(t0, "name"), "page-fast");
    assert_string_equal(str(t0, "long_window"), "1h");
    assert_string_equal(str(t0, "for"), "2m");
    assert_float_equal(num(t0, "factor"), 14.4, 1e-9);
    cJSON_Delete(j);
}

static void test_budget_detail_query_groups_by_grouping_labels(void **state)
{
    (void)state;
    char e[512];
    char path[1024];
    snprintf(path, sizeof(path), "/api/v1/slos/%s",
             enc("checkout-latency{route=\"/cart\"}", e, sizeof(e)));
    cJSON *j = NULL;
    assert_int_equal(get(path, &j), 200);
    assert_string_equal(
        str(item(data_of(j), "queries"), "sli_1h"),
        "(sum by (route) (rate(http_requests_total{code=~\"5..\",job=\"api\"}[1h])) or (0 * "
        "sum by (route) (rate(http_requests_total{job=\"api\"}[1h])))) / "
        "(sum by (route) (rate(http_requests_total{job=\"api\"}[1h])))");
    cJSON_Delete(j);
}

static void test_budget_detail_unknown_slo_is_404_with_close_names(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(get("/api/v1/slos/checkout-availabilty", &j), 404);
    assert_string_equal(str(j, "errorType"), "not_found");
    assert_string_equal(str(j, "error"),
                        "unknown SLO \"checkout-availabilty\"; close names: checkout-availability, "
                        "checkout-latency");
    cJSON_Delete(j);
}

static void test_budget_detail_prefix_of_ids_lists_them(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(get("/api/v1/slos/payments", &j), 404);
    assert_string_equal(str(j, "error"),
                        "unknown SLO \"payments\"; close names: payments-availability");
    cJSON_Delete(j);
}

static void test_budget_detail_unknown_slo_without_close_names(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(get("/api/v1/slos/zzz", &j), 404);
    assert_string_equal(str(j, "error"), "unknown SLO \"zzz\"; no SLO id is close to it (GET "
                                         "/api/v1/slos lists them)");
    cJSON_Delete(j);
}

static void test_budget_detail_grouped_definition_id_lists_instances(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(get("/api/v1/slos/checkout-latency", &j), 404);
    assert_string_equal(str(j, "error"),
                        "SLO \"checkout-latency\" is grouped by route; give an instance id "
                        "(URL-encoded), one of: checkout-latency{route=\"/cart\"}, "
                        "checkout-latency{route=\"/pay\"}");
    cJSON_Delete(j);
}

/* ------------------------------------------------------------------------
 * GET /api/v1/slos/{id}/history
 * ---------------------------------------------------------------------- */

static void test_budget_history_defaults_to_the_period_in_about_300_steps(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(get("/api/v1/slos/checkout-availability/history", &j), 200);
    assert_int_equal(fake.history_calls, 1);
    assert_string_equal(fake.last_id, "checkout-availability");
    assert_true(fake.last_end == NOW_MS);
    assert_true(fake.last_start == NOW_MS - 30 * DAY_MS);
    assert_true(fake.last_step == 144 * MIN_MS); /* 30d / 300, a whole minute */
    assert_int_equal(fake.last_max, 11000);
    cJSON *d = data_of(j);
    assert_true(num(d, "step_seconds") == 8640.0);
    assert_true(num(d, "start_ms") == (double)(NOW_MS - 30 * DAY_MS));
    cJSON *pts = item(d, "points");
    assert_int_equal(cJSON_GetArraySize(pts), 301);
    cJSON *p0 = cJSON_GetArrayItem(pts, 0);
    assert_true(num(p0, "budget_remaining") == 1.0);
    assert_true(cJSON_IsNull(item(p0, "error_ratio")));
    assert_float_equal(num(cJSON_GetArrayItem(pts, 300), "budget_remaining"), 0.7, 1e-9);
    assert_true(cJSON_IsNull(item(d, "ideal")));
    cJSON_Delete(j);
}

static void test_budget_history_small_span_steps_in_whole_seconds(void **state)
{
    (void)state;
    cJSON *j = NULL;
    /* 1000 s / 300 = 3.33 s, rounded up to 4 s. */
    assert_int_equal(
        get("/api/v1/slos/checkout-availability/history?start=1768434000&end=1768435000", &j), 200);
    assert_true(fake.last_step == 4000);
    assert_true(fake.last_start == 1768434000000LL);
    cJSON_Delete(j);
}

static void test_budget_history_passes_explicit_parameters(void **state)
{
    (void)state;
    char e[512];
    char path[1024];
    snprintf(path, sizeof(path),
             "/api/v1/slos/%s/history?start=2026-01-14T00:00:00Z&end=1768435200.5&step=5m",
             enc("checkout-latency{route=\"/pay\"}", e, sizeof(e)));
    cJSON *j = NULL;
    assert_int_equal(get(path, &j), 200);
    assert_string_equal(fake.last_id, "checkout-latency{route=\"/pay\"}");
    assert_true(fake.last_start == NOW_MS - DAY_MS);
    assert_true(fake.last_end == NOW_MS + 500);
    assert_true(fake.last_step == 5 * MIN_MS);
    assert_int_equal(cJSON_GetArraySize(item(data_of(j), "points")), 289);
    assert_string_equal(str(data_of(j), "id"), "checkout-latency{route=\"/pay\"}");
    cJSON_Delete(j);
}

static void test_budget_history_over_11000_points_is_400_naming_step(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(get("/api/v1/slos/checkout-availability/history?start=0&end=11000&step=1", &j),
                     400);
    assert_string_equal(str(j, "errorType"), "bad_data");
    assert_string_equal(str(j, "error"),
                        "invalid parameter \"step\": 11001 points between start and end exceed "
                        "the limit of 11000; use a larger step");
    assert_int_equal(fake.history_calls, 0);
    cJSON_Delete(j);
}

static void test_budget_history_bad_parameters_are_400_naming_them(void **state)
{
    (void)state;
    static const struct {
        const char *query;
        const char *error;
    } cases[] = {
        {"start=yesterday",
         "invalid parameter \"start\": cannot parse \"yesterday\" to a valid timestamp"},
        {"end=x", "invalid parameter \"end\": cannot parse \"x\" to a valid timestamp"},
        {"start=200&end=100",
         "invalid parameter \"end\": end timestamp must not be before start time"},
        {"step=-5",
         "invalid parameter \"step\": zero or negative query resolution step widths are not "
         "accepted. Try a positive integer"},
        {"step=fast", "invalid parameter \"step\": cannot parse \"fast\" to a valid duration"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[512];
        snprintf(path, sizeof(path), "/api/v1/slos/checkout-availability/history?%s",
                 cases[i].query);
        cJSON *j = NULL;
        assert_int_equal(get(path, &j), 400);
        assert_string_equal(str(j, "error"), cases[i].error);
        cJSON_Delete(j);
    }
    assert_int_equal(fake.history_calls, 0);
}

static void test_budget_history_source_limit_is_400_naming_step(void **state)
{
    (void)state;
    fake.history_rc = BR_ELIMIT;
    cJSON *j = NULL;
    assert_int_equal(get("/api/v1/slos/checkout-availability/history", &j), 400);
    assert_string_equal(str(j, "error"), "invalid parameter \"step\": forced failure");
    cJSON_Delete(j);
}

static void test_budget_history_calendar_period_has_ideal_line(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(get("/api/v1/slos/billing-quality/history", &j), 200);
    /* A calendar period's history starts at the period's start. */
    assert_true(fake.last_start == JAN1_MS);
    cJSON *ideal = item(data_of(j), "ideal");
    assert_int_equal(cJSON_GetArraySize(ideal), 2);
    assert_true(num(cJSON_GetArrayItem(ideal, 0), "t_ms") == (double)JAN1_MS);
    assert_true(num(cJSON_GetArrayItem(ideal, 0), "budget_remaining") == 1.0);
    assert_true(num(cJSON_GetArrayItem(ideal, 1), "t_ms") == (double)FEB1_MS);
    assert_true(num(cJSON_GetArrayItem(ideal, 1), "budget_remaining") == 0.0);
    cJSON_Delete(j);
}

static void test_budget_history_unknown_slo_is_404(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(get("/api/v1/slos/checkout-availabilty/history", &j), 404);
    assert_string_equal(str(j, "error"),
                        "unknown SLO \"checkout-availabilty\"; close names: checkout-availability, "
                        "checkout-latency");
    cJSON_Delete(j);
}

/* ------------------------------------------------------------------------
 * GET /api/v1/services
 * ---------------------------------------------------------------------- */

static cJSON *find_service(cJSON *root, const char *name)
{
    for (cJSON *s = item(data_of(root), "services")->child; s != NULL; s = s->next) {
        if (strcmp(str(s, "service"), name) == 0) {
            return s;
        }
    }
    fail_msg("service %s missing", name);
    return NULL;
}

static void test_budget_services_roll_up_per_service(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(get("/api/v1/services", &j), 200);
    assert_int_equal(cJSON_GetArraySize(item(data_of(j), "services")), 6);
    assert_string_equal(str(item(data_of(j), "services")->child, "service"), "billing");
    cJSON *c = find_service(j, "checkout");
    assert_true(num(c, "slos") == 3);
    assert_string_equal(str(c, "worst_state"), "critical");
    assert_float_equal(num(c, "min_budget_remaining"), 0.12, 1e-12);
    assert_true(num(c, "firing") == 0);
    assert_true(cJSON_IsFalse(item(c, "allow_deploy")));
    cJSON *b = find_service(j, "billing");
    assert_string_equal(str(b, "worst_state"), "healthy");
    assert_true(cJSON_IsTrue(item(b, "allow_deploy")));
    cJSON *p = find_service(j, "payments");
    assert_true(num(p, "firing") == 1);
    assert_true(cJSON_IsFalse(item(p, "allow_deploy")));
    cJSON *s = find_service(j, "search");
    assert_true(cJSON_IsNull(item(s, "worst_state")));
    assert_true(cJSON_IsNull(item(s, "min_budget_remaining")));
    assert_true(num(s, "no_data") == 1);
    assert_true(num(find_service(j, "catalog"), "stale") == 1);
    cJSON_Delete(j);
}

/* ------------------------------------------------------------------------
 * Before the first evaluation.
 * ---------------------------------------------------------------------- */

static void test_budget_endpoints_answer_503_before_first_evaluation(void **state)
{
    (void)state;
    fake.snap = NULL;
    static const char *const paths[] = {"/api/v1/slos", "/api/v1/slos/checkout-availability",
                                        "/api/v1/slos/checkout-availability/history",
                                        "/api/v1/services"};
    for (size_t i = 0; i < 4; i++) {
        cJSON *j = NULL;
        assert_int_equal(get(paths[i], &j), 503);
        assert_string_equal(str(j, "errorType"), "unavailable");
        cJSON_Delete(j);
    }
    cJSON *g = NULL;
    assert_int_equal(gate("service=checkout", &g), 503);
    assert_true(cJSON_IsFalse(item(g, "allow")));
    assert_string_equal(str(g, "decision"), "no_data");
    assert_non_null(strstr(str(g, "error"), "no SLO evaluation has completed yet"));
    cJSON_Delete(g);
}

/* ------------------------------------------------------------------------
 * GET /api/v1/gate
 * ---------------------------------------------------------------------- */

static void test_gate_allows_healthy_slo(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(gate("slo=checkout-availability", &j), 200);
    assert_true(cJSON_IsTrue(item(j, "allow")));
    assert_string_equal(str(j, "decision"), "allow");
    assert_string_equal(str(j, "slo"), "checkout-availability");
    assert_true(cJSON_IsNull(item(j, "service")));
    assert_int_equal(cJSON_GetArraySize(item(j, "reasons")), 0);
    cJSON *s = item(j, "slos")->child;
    assert_string_equal(str(s, "state"), "healthy");
    assert_float_equal(num(s, "budget_remaining"), 0.77, 1e-12);
    assert_float_equal(num(s, "burn_rate_1h"), 0.5, 1e-12);
    assert_true(cJSON_IsTrue(item(s, "allow")));
    assert_string_equal(str(j, "checked_at"), "2026-01-15T00:00:00.000Z");
    assert_string_equal(str(item(j, "criteria"), "on_no_data"), "deny");
    assert_true(num(item(j, "criteria"), "max_data_age_seconds") == 600.0);
    cJSON_Delete(j);
}

static void test_gate_denies_when_policy_state_forbids_deploys(void **state)
{
    (void)state;
    char e[256];
    char q[512];
    snprintf(q, sizeof(q), "slo=%s", enc("checkout-latency{route=\"/pay\"}", e, sizeof(e)));
    cJSON *j = NULL;
    assert_int_equal(gate(q, &j), 409);
    assert_true(cJSON_IsFalse(item(j, "allow")));
    assert_string_equal(str(j, "decision"), "deny");
    char r[2048];
    assert_string_equal(joined_reasons(j, r, sizeof(r)),
                        "checkout-latency{route=\"/pay\"}: error-budget policy state \"critical\" "
                        "(budget remaining 12.0%) does not allow deploys");
    cJSON_Delete(j);
}

static void test_gate_service_denies_for_its_one_failing_slo(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(gate("service=checkout", &j), 409);
    assert_int_equal(cJSON_GetArraySize(item(j, "slos")), 3);
    assert_int_equal(cJSON_GetArraySize(item(j, "reasons")), 1);
    assert_string_equal(str(j, "service"), "checkout");
    cJSON *slos = item(j, "slos");
    assert_true(cJSON_IsTrue(item(cJSON_GetArrayItem(slos, 0), "allow")));
    assert_true(cJSON_IsTrue(item(cJSON_GetArrayItem(slos, 1), "allow")));
    assert_true(cJSON_IsFalse(item(cJSON_GetArrayItem(slos, 2), "allow")));
    cJSON_Delete(j);
}

static void test_gate_denies_below_min_remaining(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(gate("slo=checkout-availability&min_remaining=80%25", &j), 409);
    char r[2048];
    assert_string_equal(joined_reasons(j, r, sizeof(r)),
                        "checkout-availability: budget remaining 77.0% is below the minimum "
                        "80.0%");
    assert_string_equal(str(j, "decision"), "deny");
    assert_float_equal(num(item(j, "criteria"), "min_remaining"), 0.8, 1e-12);
    cJSON_Delete(j);
}

static void test_gate_min_remaining_accepts_a_ratio(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(gate("slo=checkout-availability&min_remaining=0.5", &j), 200);
    assert_float_equal(num(item(j, "criteria"), "min_remaining"), 0.5, 1e-12);
    cJSON_Delete(j);
}

static void test_gate_denies_above_max_burn_rate(void **state)
{
    (void)state;
    char e[256];
    char q[512];
    snprintf(q, sizeof(q), "slo=%s&max_burn_rate=0.8",
             enc("checkout-latency{route=\"/cart\"}", e, sizeof(e)));
    cJSON *j = NULL;
    assert_int_equal(gate(q, &j), 409);
    char r[2048];
    assert_string_equal(joined_reasons(j, r, sizeof(r)),
                        "checkout-latency{route=\"/cart\"}: 1h burn rate 1.00 is above the maximum "
                        "0.8");
    cJSON_Delete(j);
}

static void test_gate_denies_state_outside_allow_states(void **state)
{
    (void)state;
    char e[256];
    char q[512];
    snprintf(q, sizeof(q), "slo=%s&allow_states=healthy",
             enc("checkout-latency{route=\"/cart\"}", e, sizeof(e)));
    cJSON *j = NULL;
    assert_int_equal(gate(q, &j), 409);
    char r[2048];
    assert_string_equal(joined_reasons(j, r, sizeof(r)),
                        "checkout-latency{route=\"/cart\"}: error-budget policy state \"caution\" "
                        "(budget remaining 40.0%) is not in allow_states (healthy)");
    cJSON_Delete(j);
}

static void test_gate_allow_states_replace_the_policy_decision(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(gate("service=checkout&allow_states=healthy,%20caution,critical", &j), 200);
    cJSON *as = item(item(j, "criteria"), "allow_states");
    assert_int_equal(cJSON_GetArraySize(as), 3);
    assert_string_equal(cJSON_GetArrayItem(as, 1)->valuestring, "caution");
    cJSON_Delete(j);
}

static void test_gate_denies_while_page_alert_fires(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(gate("service=payments", &j), 409);
    char r[2048];
    assert_string_equal(joined_reasons(j, r, sizeof(r)),
                        "payments-availability: page alert ShopHighErrorRate (page-fast) is "
                        "firing: burn rate 20.00 over 1h and 22.00 over 5m, above 14.4");
    assert_string_equal(str(j, "decision"), "deny");
    assert_true(num(item(j, "slos")->child, "firing") == 1);
    cJSON_Delete(j);
}

static void test_gate_stale_samples_cannot_decide(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(gate("service=catalog", &j), 409);
    char r[2048];
    assert_string_equal(joined_reasons(j, r, sizeof(r)),
                        "catalog-availability: data is stale: the newest SLI sample is 20m old, "
                        "older than max_data_age 10m");
    assert_string_equal(str(j, "decision"), "no_data");
    assert_true(cJSON_IsTrue(item(item(j, "slos")->child, "stale")));
    cJSON_Delete(j);
}

static void test_gate_stale_samples_are_not_excused_by_on_no_data(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(gate("service=catalog&on_no_data=allow", &j), 409);
    assert_string_equal(str(j, "decision"), "no_data");
    cJSON_Delete(j);
}

static void test_gate_max_data_age_parameter_sets_staleness(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(gate("service=catalog&max_data_age=1h", &j), 200);
    assert_true(num(item(j, "criteria"), "max_data_age_seconds") == 3600.0);
    cJSON_Delete(j);
}

static void test_gate_denies_when_evaluation_is_three_intervals_old(void **state)
{
    (void)state;
    clock_now = EVAL_MS + 91000; /* 3 x 30 s interval + 1 s */
    cJSON *j = NULL;
    assert_int_equal(gate("slo=checkout-availability", &j), 409);
    char r[2048];
    assert_string_equal(joined_reasons(j, r, sizeof(r)),
                        "checkout-availability: the last SLO evaluation is 1m31s old, more than 3 "
                        "evaluation intervals of 30s; the evaluator may be stuck");
    assert_string_equal(str(j, "decision"), "no_data");
    cJSON_Delete(j);
    clock_now = EVAL_MS + 90000; /* exactly three intervals: still fresh */
    assert_int_equal(gate("slo=checkout-availability", &j), 200);
    cJSON_Delete(j);
}

static void test_gate_no_data_denies_by_default(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(gate("service=search", &j), 409);
    char r[2048];
    assert_string_equal(joined_reasons(j, r, sizeof(r)),
                        "search-availability: no data: no traffic in the 30d period, so the "
                        "budget is unknown (on_no_data=allow accepts this)");
    assert_string_equal(str(j, "decision"), "no_data");
    assert_true(cJSON_IsTrue(item(item(j, "slos")->child, "no_data")));
    cJSON_Delete(j);
}

static void test_gate_no_data_allowed_when_caller_asks(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(gate("service=search&on_no_data=allow&min_remaining=25%25", &j), 200);
    assert_true(cJSON_IsTrue(item(j, "allow")));
    assert_string_equal(str(item(j, "criteria"), "on_no_data"), "allow");
    cJSON_Delete(j);
}

static void test_gate_evaluation_error_cannot_decide(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(gate("service=inventory&on_no_data=allow", &j), 409);
    char r[2048];
    assert_string_equal(joined_reasons(j, r, sizeof(r)),
                        "inventory-availability: evaluation failed: query timed out after 2m");
    assert_string_equal(str(j, "decision"), "no_data");
    cJSON_Delete(j);
}

static void test_gate_definition_id_selects_every_instance(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(gate("slo=checkout-latency", &j), 409);
    assert_int_equal(cJSON_GetArraySize(item(j, "slos")), 2);
    assert_int_equal(cJSON_GetArraySize(item(j, "reasons")), 1);
    cJSON_Delete(j);
}

static void test_gate_bad_parameters_are_400_naming_them(void **state)
{
    (void)state;
    static const struct {
        const char *query;
        const char *error;
    } cases[] = {
        {"", "missing parameter \"service\" or \"slo\": say which service or SLO wants to deploy"},
        {"service=checkout&slo=checkout-availability",
         "invalid parameters \"service\" and \"slo\": give one of them, not both"},
        {"service=checkout&min_remaining=abc",
         "invalid parameter \"min_remaining\": \"abc\" is not a ratio; write 25% or 0.25"},
        {"service=checkout&min_remaining=25",
         "invalid parameter \"min_remaining\": 25 is more than 1; write 25% for a percentage"},
        {"service=checkout&min_remaining=150%25",
         "invalid parameter \"min_remaining\": \"150%\" is outside 0%..100%"},
        {"service=checkout&max_burn_rate=-1",
         "invalid parameter \"max_burn_rate\": \"-1\" is not a number >= 0 (1 burns the budget "
         "exactly over the period)"},
        {"service=checkout&on_no_data=maybe",
         "invalid parameter \"on_no_data\": \"maybe\" is neither deny nor allow"},
        {"service=checkout&allow_states=healthy,bogus",
         "invalid parameter \"allow_states\": unknown state \"bogus\"; the policy states are "
         "healthy, caution, critical, exhausted"},
        {"service=checkout&allow_states=,",
         "invalid parameter \"allow_states\": give a comma-separated list of policy states, e.g. "
         "healthy,caution"},
        {"service=checkout&max_data_age=soon",
         "invalid parameter \"max_data_age\": cannot parse \"soon\" to a valid duration"},
        {"service=checkout&max_data_age=0",
         "invalid parameter \"max_data_age\": must be a positive duration"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *j = NULL;
        long st = gate(cases[i].query, &j);
        if (st != 400) {
            fail_msg("%s: HTTP %ld", cases[i].query, st);
        }
        assert_string_equal(str(j, "error"), cases[i].error);
        assert_string_equal(str(j, "errorType"), "bad_data");
        assert_true(cJSON_IsFalse(item(j, "allow")));
        assert_string_equal(str(j, "decision"), "error");
        cJSON_Delete(j);
    }
}

static void test_gate_unknown_service_is_404_with_close_names(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(gate("service=chekout", &j), 404);
    assert_string_equal(str(j, "error"), "unknown service \"chekout\"; close names: checkout");
    assert_string_equal(str(j, "errorType"), "not_found");
    cJSON_Delete(j);
    assert_int_equal(gate("slo=search-availabilty", &j), 404);
    assert_string_equal(str(j, "error"),
                        "unknown SLO \"search-availabilty\"; close names: search-availability");
    cJSON_Delete(j);
}

static void test_gate_only_answers_get(void **state)
{
    (void)state;
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/gate?service=checkout",
             br_http_server_port(srv));
    tu_http_result r;
    assert_int_equal(tu_http("POST", url, "", 0, NULL, &r), 0);
    assert_int_equal(r.status, 405);
    tu_http_free(&r);
}

/* ------------------------------------------------------------------------
 * GET /api/v1/gate?record=true: the decision as a `gate` annotation
 * ---------------------------------------------------------------------- */

/* GETs path with extra headers (NULL-terminated); like get(). */
static long get_with(const char *path, const char *const *headers, cJSON **json)
{
    char url[4096];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", br_http_server_port(srv), path);
    tu_http_result r;
    assert_int_equal(tu_http("GET", url, NULL, 0, headers, &r), 0);
    *json = cJSON_Parse(r.body);
    if (*json == NULL) {
        fail_msg("not JSON (HTTP %ld): %s", r.status, r.body);
    }
    long status = r.status;
    tu_http_free(&r);
    return status;
}

/* Copies the stored annotation with this id into *out (strings in arena);
 * false when there is none. */
static bool stored_annotation(uint64_t id, br_arena *arena, br_annotation *out)
{
    br_annotation_query q = {.start_ms = INT64_MIN, .end_ms = INT64_MAX};
    br_annotation *all = NULL;
    size_t n = br_annotations_query(ann_store, &q, arena, &all);
    for (size_t i = 0; i < n; i++) {
        if (all[i].id == id) {
            *out = all[i];
            return true;
        }
    }
    return false;
}

static void test_gate_record_stores_deny_with_decision_and_reasons(void **state)
{
    (void)state;
    size_t before = br_annotations_count(ann_store);
    char e[256];
    char path[1024];
    snprintf(path, sizeof(path),
             "/api/v1/gate?slo=%s&record=true&title=Release%%201.4&pipeline=deploy-prod"
             "&commit=9f3c2ab&tag=release&tag=team%%3Dpayments",
             enc("checkout-latency{route=\"/pay\"}", e, sizeof(e)));
    const char *hdrs[] = {"X-Burnrate-Author: ci-bot", NULL};
    cJSON *j = NULL;
    assert_int_equal(get_with(path, hdrs, &j), 409);
    assert_string_equal(str(j, "decision"), "deny");
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "annotation_error"));
    double idv = num(j, "annotation_id");
    assert_true(idv >= 1);
    assert_int_equal(br_annotations_count(ann_store), before + 1);

    br_arena arena;
    br_arena_init(&arena, 16 * 1024, 0);
    br_annotation a;
    memset(&a, 0, sizeof(a));
    assert_true(stored_annotation((uint64_t)idv, &arena, &a));
    assert_string_equal(a.kind, "gate");
    assert_string_equal(a.slo, "checkout-latency{route=\"/pay\"}");
    assert_string_equal(a.title, "Release 1.4");
    assert_true(a.time_ms == NOW_MS);
    assert_int_equal(a.end_ms, 0);
    /* The text names the decision, the SLOs checked and every reason the
     * answer gave, then the pipeline and commit. */
    char want[1024];
    char r[2048];
    snprintf(want, sizeof(want),
             "decision: deny; SLOs: checkout-latency{route=\"/pay\"}; reasons: %s; "
             "pipeline: deploy-prod; commit: 9f3c2ab;",
             joined_reasons(j, r, sizeof(r)));
    assert_string_equal(a.text, want);
    assert_non_null(strstr(a.text, "error-budget policy state \"critical\" (budget remaining "
                                   "12.0%) does not allow deploys"));
    /* Tags: the decision first, then tag= values, pipeline:, commit:. */
    assert_int_equal(a.n_tags, 5);
    assert_string_equal(a.tags[0], "deny");
    assert_string_equal(a.tags[1], "release");
    assert_string_equal(a.tags[2], "team=payments");
    assert_string_equal(a.tags[3], "pipeline:deploy-prod");
    assert_string_equal(a.tags[4], "commit:9f3c2ab");
    assert_string_equal(a.author, "ci-bot, gate (addr:127.0.0.1)");
    br_arena_free(&arena);
    cJSON_Delete(j);
}

static void test_gate_record_allow_defaults_title_and_tags(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(gate("slo=checkout-availability&record=1", &j), 200);
    assert_string_equal(str(j, "decision"), "allow");
    double idv = num(j, "annotation_id");
    br_arena arena;
    br_arena_init(&arena, 16 * 1024, 0);
    br_annotation a;
    memset(&a, 0, sizeof(a));
    assert_true(stored_annotation((uint64_t)idv, &arena, &a));
    assert_string_equal(a.kind, "gate");
    assert_string_equal(a.slo, "checkout-availability");
    assert_string_equal(a.title, "gate allow: checkout-availability");
    assert_string_equal(a.text, "decision: allow; SLOs: checkout-availability");
    assert_int_equal(a.n_tags, 1);
    assert_string_equal(a.tags[0], "allow");
    assert_string_equal(a.author, "gate (addr:127.0.0.1)");
    br_arena_free(&arena);
    cJSON_Delete(j);
}

/* A service-wide check is recorded against a selector of the service, so
 * it shows on each of the service's SLOs. */
static void test_gate_record_for_service_targets_service_selector(void **state)
{
    (void)state;
    cJSON *j = NULL;
    assert_int_equal(gate("service=payments&record=true", &j), 409);
    double idv = num(j, "annotation_id");
    br_arena arena;
    br_arena_init(&arena, 16 * 1024, 0);
    br_annotation a;
    memset(&a, 0, sizeof(a));
    assert_true(stored_annotation((uint64_t)idv, &arena, &a));
    assert_string_equal(a.slo, "{service=\"payments\"}");
    assert_string_equal(a.title, "gate deny: payments");
    assert_string_equal(a.tags[0], "deny");
    assert_non_null(strstr(a.text, "decision: deny; SLOs: payments-availability; reasons: "
                                   "payments-availability: page alert ShopHighErrorRate"));
    br_arena_free(&arena);
    cJSON_Delete(j);
}

/* Each recorded decision gets a new, larger id. */
static void test_gate_record_twice_stores_two_annotations(void **state)
{
    (void)state;
    size_t before = br_annotations_count(ann_store);
    cJSON *j1 = NULL;
    cJSON *j2 = NULL;
    assert_int_equal(gate("slo=checkout-availability&record=true", &j1), 200);
    assert_int_equal(gate("slo=checkout-availability&record=true", &j2), 200);
    assert_true(num(j2, "annotation_id") > num(j1, "annotation_id"));
    assert_int_equal(br_annotations_count(ann_store), before + 2);
    cJSON_Delete(j1);
    cJSON_Delete(j2);
}

static void test_gate_without_record_stores_nothing(void **state)
{
    (void)state;
    size_t before = br_annotations_count(ann_store);
    const char *queries[] = {
        "slo=checkout-availability", "service=checkout&title=Release&tag=release",
        "slo=checkout-availability&record=false", "slo=checkout-availability&record=0"};
    for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        cJSON *j = NULL;
        long st = gate(queries[i], &j);
        assert_true(st == 200 || st == 409);
        assert_null(cJSON_GetObjectItemCaseSensitive(j, "annotation_id"));
        assert_null(cJSON_GetObjectItemCaseSensitive(j, "annotation_error"));
        cJSON_Delete(j);
    }
    assert_int_equal(br_annotations_count(ann_store), before);
}

/* A refused request (bad parameter) records nothing, even with record=true. */
static void test_gate_record_bad_request_stores_nothing(void **state)
{
    (void)state;
    size_t before = br_annotations_count(ann_store);
    cJSON *j = NULL;
    assert_int_equal(gate("slo=checkout-availability&record=true&min_remaining=lots", &j), 400);
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "annotation_id"));
    cJSON_Delete(j);
    assert_int_equal(gate("service=chekout&record=true", &j), 404);
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "annotation_id"));
    cJSON_Delete(j);
    assert_int_equal(br_annotations_count(ann_store), before);
}

/* Without a store the decision still stands; the answer says why nothing
 * was recorded. */
static void test_gate_record_without_store_reports_annotation_error(void **state)
{
    (void)state;
    api.annotations = NULL;
    cJSON *j = NULL;
    assert_int_equal(gate("slo=checkout-availability&record=true", &j), 200);
    assert_true(cJSON_IsTrue(item(j, "allow")));
    assert_string_equal(str(j, "annotation_error"), "annotations are not available");
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "annotation_id"));
    cJSON_Delete(j);
}

#define T(name) cmocka_unit_test_setup(name, reset)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_budget_list_returns_every_instance_sorted),
        T(test_budget_list_unsharded_marks_every_slo_evaluated_here),
        T(test_budget_list_names_owner_shard_and_evaluated_here),
        T(test_gate_denies_slo_evaluated_by_another_shard),
        T(test_budget_list_filters_by_service),
        T(test_budget_list_filters_by_state),
        T(test_budget_list_filters_by_label_of_definition_and_group),
        T(test_budget_list_filters_by_substring_case_insensitively),
        T(test_budget_list_rejects_label_filter_without_equals),
        T(test_budget_summary_reports_snapshot_numbers),
        T(test_budget_summary_writes_no_data_as_null),
        T(test_budget_detail_finds_url_encoded_grouped_id),
        T(test_budget_detail_includes_policy_queries_and_tiers),
        T(test_budget_detail_query_groups_by_grouping_labels),
        T(test_budget_detail_unknown_slo_is_404_with_close_names),
        T(test_budget_detail_prefix_of_ids_lists_them),
        T(test_budget_detail_unknown_slo_without_close_names),
        T(test_budget_detail_grouped_definition_id_lists_instances),
        T(test_budget_history_defaults_to_the_period_in_about_300_steps),
        T(test_budget_history_small_span_steps_in_whole_seconds),
        T(test_budget_history_passes_explicit_parameters),
        T(test_budget_history_over_11000_points_is_400_naming_step),
        T(test_budget_history_bad_parameters_are_400_naming_them),
        T(test_budget_history_source_limit_is_400_naming_step),
        T(test_budget_history_calendar_period_has_ideal_line),
        T(test_budget_history_unknown_slo_is_404),
        T(test_budget_services_roll_up_per_service),
        T(test_budget_endpoints_answer_503_before_first_evaluation),
        T(test_gate_allows_healthy_slo),
        T(test_gate_denies_when_policy_state_forbids_deploys),
        T(test_gate_service_denies_for_its_one_failing_slo),
        T(test_gate_denies_below_min_remaining),
        T(test_gate_min_remaining_accepts_a_ratio),
        T(test_gate_denies_above_max_burn_rate),
        T(test_gate_denies_state_outside_allow_states),
        T(test_gate_allow_states_replace_the_policy_decision),
        T(test_gate_denies_while_page_alert_fires),
        T(test_gate_stale_samples_cannot_decide),
        T(test_gate_stale_samples_are_not_excused_by_on_no_data),
        T(test_gate_max_data_age_parameter_sets_staleness),
        T(test_gate_denies_when_evaluation_is_three_intervals_old),
        T(test_gate_no_data_denies_by_default),
        T(test_gate_no_data_allowed_when_caller_asks),
        T(test_gate_evaluation_error_cannot_decide),
        T(test_gate_definition_id_selects_every_instance),
        T(test_gate_bad_parameters_are_400_naming_them),
        T(test_gate_unknown_service_is_404_with_close_names),
        T(test_gate_only_answers_get),
        T(test_gate_record_stores_deny_with_decision_and_reasons),
        T(test_gate_record_allow_defaults_title_and_tags),
        T(test_gate_record_for_service_targets_service_selector),
        T(test_gate_record_twice_stores_two_annotations),
        T(test_gate_without_record_stores_nothing),
        T(test_gate_record_bad_request_stores_nothing),
        T(test_gate_record_without_store_reports_annotation_error),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
