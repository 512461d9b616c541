/*
 * test_rules_api.c — /api/v1/rules and /api/v1/alerts in Prometheus' JSON
 * shapes, served from a hand-built br_slo_snapshot behind a fake
 * br_slo_source: groups per SLO with Prometheus' fields and field order,
 * recording and alerting rules, alert state combined from the evaluator's
 * tiers, labels and expanded annotations, the type / rule_name[] /
 * rule_group[] / file[] / match[] / exclude_alerts filters and their
 * errors, evaluation errors as health "err", and the answers before the
 * first tick.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "api/rules_api.h"
#include "engine/core/alloc.h"
#include "tests/helpers/testutil.h"

#include <cjson/cJSON.h>
#include <math.h>

#define EVAL_MS 1700000000123LL /* 2023-11-14T22:13:20.123Z */

typedef struct fake_source {
    br_slo_snapshot *snap; /* NULL = before the first tick */
} fake_source;

static br_slo_snapshot *fake_snapshot(void *ctx)
{
    fake_source *f = ctx;
    if (f->snap != NULL) {
        br_slo_snapshot_ref(f->snap);
    }
    return f->snap;
}

static fake_source fake;
static br_slo_source source = {.ctx = &fake, .snapshot = fake_snapshot};
static br_http_server *server;
static br_slo_snapshot *snap;

static br_kv *kvs(br_arena *a, size_t n, ...)
{
    br_kv *v = br_arena_calloc(a, n, sizeof(br_kv));
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) {
        v[i].key = va_arg(ap, const char *);
        v[i].value = va_arg(ap, const char *);
    }
    va_end(ap);
    return v;
}

/* Two SLOs: checkout-availability grouped by handler (two instances) and
 * search-raw (one instance). */
static br_slo_set *make_set(void)
{
    br_slo_set *s = br_slo_set_new();
    br_arena *a = br_slo_set_arena(s);
    br_err err;
    br_err_clear(&err);

    br_slo_def *d = br_slo_def_new(s);
    d->service = "checkout";
    d->name = "availability";
    d->objective = 0.999;
    d->file = "slos/checkout.yml";
    d->sli.kind = BR_SLI_EVENTS;
    d->sli.bad.kind = BR_SOURCE_COUNTER;
    d->sli.bad.expr = "http_requests_total{service=\"checkout\",code=~\"5..\"}";
    d->sli.total.kind = BR_SOURCE_COUNTER;
    d->sli.total.expr = "http_requests_total{service=\"checkout\"}";
    static const char *grouping[] = {"handler"};
    d->grouping = grouping;
    d->n_grouping = 1;
    d->labels = kvs(a, 1, "team", "payments");
    d->n_labels = 1;
    d->alerting.name = "CheckoutAvailability";
    d->alerting.page_labels = kvs(a, 1, "routing_key", "oncall");
    d->alerting.n_page_labels = 1;
    assert_int_equal(br_slo_set_add(s, d, false, &err), 0);

    br_slo_def *r = br_slo_def_new(s);
    r->service = "search";
    r->name = "raw";
    r->objective = 0.95;
    r->file = "slos/search.yml";
    r->sli.kind = BR_SLI_RAW;
    r->sli.query = "sum(rate(errors_total[{{.window}}])) / sum(rate(requests_total[{{.window}}]))";
    assert_int_equal(br_slo_set_add(s, r, false, &err), 0);
    return s;
}

static br_alert_status burn(const char *tier, const char *severity, br_alert_state st,
                            int64_t since, double short_value, double long_value)
{
    br_alert_status a;
    memset(&a, 0, sizeof(a));
    a.alertname = "CheckoutAvailability";
    a.kind = "burn_rate";
    a.tier = tier;
    a.severity = severity;
    a.state = st;
    a.condition = st != BR_ALERT_INACTIVE;
    a.active_since_ms = since;
    a.short_value = short_value;
    a.long_value = long_value;
    return a;
}

static br_slo_snapshot *make_snapshot(void)
{
    br_slo_set *set = make_set();
    br_slo_snapshot *s = br_slo_snapshot_new(set);
    br_slo_set_unref(set); /* the snapshot holds its own reference */
    s->eval_time_ms = EVAL_MS;
    s->eval_duration_us = 6000;
    s->interval_ms = 30000;
    s->tick = 7;
    s->n_slos = 3;
    s->slos = br_arena_calloc(&s->arena, 3, sizeof(br_slo_status));
    const br_slo_def *avail = br_slo_set_get(set, 0);
    const br_slo_def *raw = br_slo_set_get(set, 1);

    /* checkout-availability{handler="/cart"}: quiet. */
    br_slo_status *cart = &s->slos[0];
    cart->def = avail;
    cart->instance_id = "checkout-availability{handler=\"/cart\"}";
    cart->group_labels = kvs(&s->arena, 1, "handler", "/cart");
    cart->n_group_labels = 1;
    cart->alerts = br_arena_calloc(&s->arena, 1, sizeof(br_alert_status));
    cart->alerts[0] = burn("page-fast", "page", BR_ALERT_INACTIVE, 0, 0.5, 0.4);
    cart->n_alerts = 1;

    /* checkout-availability{handler="/pay"}: page-fast firing since
     * EVAL-120s, page-slow pending since EVAL-300s; tickets quiet. */
    br_slo_status *pay = &s->slos[1];
    pay->def = avail;
    pay->instance_id = "checkout-availability{handler=\"/pay\"}";
    pay->group_labels = kvs(&s->arena, 1, "handler", "/pay");
    pay->n_group_labels = 1;
    pay->alerts = br_arena_calloc(&s->arena, 4, sizeof(br_alert_status));
    pay->alerts[0] = burn("page-fast", "page", BR_ALERT_FIRING, EVAL_MS - 120000, 15, 20);
    pay->alerts[1] = burn("page-slow", "page", BR_ALERT_PENDING, EVAL_MS - 300000, 7, 6.5);
    pay->alerts[2] = burn("ticket-fast", "ticket", BR_ALERT_INACTIVE, 0, 2, 1);
    pay->alerts[3] = burn("ticket-slow", "ticket", BR_ALERT_INACTIVE, 0, 2, 1);
    pay->n_alerts = 4;

    /* search-raw: the budget-drop page pending. */
    br_slo_status *sr = &s->slos[2];
    sr->def = raw;
    sr->instance_id = "search-raw";
    sr->alerts = br_arena_calloc(&s->arena, 1, sizeof(br_alert_status));
    sr->alerts[0].alertname = "SearchRawHighErrorRateBudgetDrop";
    sr->alerts[0].kind = "budget_drop";
    sr->alerts[0].tier = "budget_drop";
    sr->alerts[0].severity = "page";
    sr->alerts[0].state = BR_ALERT_PENDING;
    sr->alerts[0].active_since_ms = EVAL_MS - 30000;
    sr->alerts[0].long_value = 0.0625;
    sr->n_alerts = 1;
    return s;
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    br_http_options o;
    memset(&o, 0, sizeof(o));
    o.listen = "127.0.0.1:0";
    o.threads = 2;
    br_err err;
    br_err_clear(&err);
    server = br_http_server_new(&o, &err);
    if (server == NULL) {
        return -1;
    }
    br_rules_api_register(server, &source);
    if (br_http_server_start(server, &err) != 0) {
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    br_http_server_free(server);
    curl_global_cleanup();
    return 0;
}

static int each_setup(void **state)
{
    (void)state;
    snap = make_snapshot();
    fake.snap = snap;
    return 0;
}

static int each_teardown(void **state)
{
    (void)state;
    fake.snap = NULL;
    br_slo_snapshot_unref(snap);
    snap = NULL;
    return 0;
}

/* GETs path; returns the parsed body (cJSON_Delete it) and the status. */
static cJSON *get(const char *path, long *status, char **raw)
{
    char url[1024];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", br_http_server_port(server), path);
    tu_http_result r;
    assert_int_equal(tu_http("GET", url, NULL, 0, NULL, &r), 0);
    *status = r.status;
    cJSON *j = cJSON_Parse(r.body);
    if (raw != NULL) {
        *raw = strdup(r.body);
    }
    tu_http_free(&r);
    assert_non_null(j);
    return j;
}

static cJSON *data_of(cJSON *j)
{
    assert_string_equal(cJSON_GetObjectItem(j, "status")->valuestring, "success");
    return cJSON_GetObjectItem(j, "data");
}

static cJSON *find_group(cJSON *groups, const char *name)
{
    for (cJSON *g = groups->child; g != NULL; g = g->next) {
        if (strcmp(cJSON_GetObjectItem(g, "name")->valuestring, name) == 0) {
            return g;
        }
    }
    return NULL;
}

static const char *str(cJSON *o, const char *key)
{
    cJSON *v = cJSON_GetObjectItem(o, key);
    assert_non_null(v);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static void test_rules_groups_per_slo_with_prometheus_fields(void **state)
{
    (void)state;
    long status;
    char *raw;
    cJSON *j = get("/api/v1/rules", &status, &raw);
    assert_int_equal(status, 200);
    cJSON *groups = cJSON_GetObjectItem(data_of(j), "groups");
    assert_int_equal(cJSON_GetArraySize(groups), 6);
    static const char *const names[] = {
        "sloth-slo-sli-recordings-checkout-availability",
        "sloth-slo-meta-recordings-checkout-availability",
        "sloth-slo-alerts-checkout-availability",
        "sloth-slo-sli-recordings-search-raw",
        "sloth-slo-meta-recordings-search-raw",
        "sloth-slo-alerts-search-raw",
    };
    int i = 0;
    for (cJSON *g = groups->child; g != NULL; g = g->next, i++) {
        assert_string_equal(str(g, "name"), names[i]);
        assert_int_equal(cJSON_GetObjectItem(g, "interval")->valuedouble, 30);
        assert_int_equal(cJSON_GetObjectItem(g, "limit")->valueint, 0);
        assert_string_equal(str(g, "lastEvaluation"), "2023-11-14T22:13:20.123Z");
        /* 6 ms tick split over 6 groups. */
        assert_true(fabs(cJSON_GetObjectItem(g, "evaluationTime")->valuedouble - 0.001) < 1e-12);
    }
    cJSON *sli = find_group(groups, names[0]);
    assert_string_equal(str(sli, "file"), "slos/checkout.yml");
    /* Prometheus' field order: group, then recording rule. */
    assert_non_null(strstr(raw, "{\"name\":\"sloth-slo-sli-recordings-checkout-availability\","
                                "\"file\":\"slos/checkout.yml\",\"rules\":[{\"name\":"
                                "\"slo:sli_error:ratio_rate5m\",\"query\":"));
    cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItem(sli, "rules"), 0);
    assert_string_equal(str(r0, "type"), "recording");
    assert_string_equal(str(r0, "health"), "ok");
    assert_null(cJSON_GetObjectItem(r0, "lastError"));
    assert_string_equal(
        str(r0, "query"),
        "(sum by (handler) (rate(http_requests_total{code=~\"5..\",service=\"checkout\"}[5m])) or "
        "(0 * sum by (handler) (rate(http_requests_total{service=\"checkout\"}[5m])))) / (sum by "
        "(handler) (rate(http_requests_total{service=\"checkout\"}[5m])))");
    cJSON *labels = cJSON_GetObjectItem(r0, "labels");
    assert_string_equal(str(labels, "sloth_window"), "5m");
    assert_string_equal(str(labels, "sloth_id"), "checkout-availability");
    assert_string_equal(str(labels, "team"), "payments");
    assert_non_null(strstr(raw, "\"health\":\"ok\",\"evaluationTime\":"));
    assert_non_null(strstr(raw, "\"lastEvaluation\":\"2023-11-14T22:13:20.123Z\","
                                "\"type\":\"recording\"}"));
    free(raw);
    cJSON_Delete(j);
}

static void test_rules_alerting_rule_combines_tiers_into_one_alert(void **state)
{
    (void)state;
    long status;
    char *raw;
    cJSON *j = get("/api/v1/rules", &status, &raw);
    cJSON *groups = cJSON_GetObjectItem(data_of(j), "groups");
    cJSON *ag = find_group(groups, "sloth-slo-alerts-checkout-availability");
    assert_non_null(ag);
    cJSON *rules = cJSON_GetObjectItem(ag, "rules");
    cJSON *page = cJSON_GetArrayItem(rules, 0);
    cJSON *ticket = cJSON_GetArrayItem(rules, 1);
    assert_string_equal(str(page, "type"), "alerting");
    assert_string_equal(str(page, "name"), "CheckoutAvailability");
    assert_string_equal(str(page, "state"), "firing");
    assert_int_equal(cJSON_GetObjectItem(page, "duration")->valuedouble, 120);
    assert_int_equal(cJSON_GetObjectItem(page, "keepFiringFor")->valuedouble, 0);
    assert_string_equal(str(cJSON_GetObjectItem(page, "labels"), "severity"), "page");
    assert_non_null(strstr(str(cJSON_GetObjectItem(page, "annotations"), "title"),
                           "{{$labels.sloth_service}}"));
    assert_null(strchr(str(page, "query"), '\n'));
    /* Field order of Prometheus' AlertingRule. */
    assert_non_null(strstr(raw, "{\"state\":\"firing\",\"name\":\"CheckoutAvailability\","
                                "\"query\":"));
    cJSON *alerts = cJSON_GetObjectItem(page, "alerts");
    assert_int_equal(cJSON_GetArraySize(alerts), 1);
    cJSON *a = cJSON_GetArrayItem(alerts, 0);
    cJSON *al = cJSON_GetObjectItem(a, "labels");
    assert_string_equal(str(al, "alertname"), "CheckoutAvailability");
    assert_string_equal(str(al, "handler"), "/pay");
    assert_string_equal(str(al, "severity"), "page");
    assert_string_equal(str(al, "sloth_severity"), "page");
    assert_string_equal(str(al, "routing_key"), "oncall");
    assert_string_equal(str(al, "sloth_id"), "checkout-availability");
    assert_string_equal(str(al, "team"), "payments");
    assert_null(cJSON_GetObjectItem(al, "sloth_window"));
    assert_string_equal(str(cJSON_GetObjectItem(a, "annotations"), "title"),
                        "(page) checkout availability SLO error budget burn rate is too fast.");
    /* Firing wins over pending; activeAt is the earliest active tier; the
     * value is the firing tier's short-window error ratio (15 x 0.001). */
    assert_string_equal(str(a, "state"), "firing");
    assert_string_equal(str(a, "activeAt"), "2023-11-14T22:08:20.123Z");
    /* 15 x (1 - 0.999) in doubles is 0.015000000000000013, written in Go's
     * %e form. */
    assert_string_equal(str(a, "value"), "1.5000000000000013e-02");
    assert_true(fabs(strtod(str(a, "value"), NULL) - 15 * (1 - 0.999)) == 0);
    assert_non_null(strstr(raw, "\"state\":\"firing\",\"activeAt\":\"2023-11-14T22:08:20.123Z\","
                                "\"value\":\"1.5000000000000013e-02\"}"));
    /* Labels are sorted as Prometheus marshals them. */
    assert_non_null(strstr(raw, "{\"labels\":{\"alertname\":\"CheckoutAvailability\","
                                "\"handler\":\"/pay\",\"routing_key\":\"oncall\","
                                "\"severity\":\"page\",\"sloth_id\":"));
    assert_string_equal(str(ticket, "state"), "inactive");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(ticket, "alerts")), 0);
    free(raw);
    cJSON_Delete(j);
}

static void test_rules_escalation_alert_value_is_the_rule_value(void **state)
{
    (void)state;
    long status;
    cJSON *j = get("/api/v1/rules?rule_group[]=sloth-slo-alerts-search-raw", &status, NULL);
    cJSON *groups = cJSON_GetObjectItem(data_of(j), "groups");
    assert_int_equal(cJSON_GetArraySize(groups), 1);
    cJSON *drop = NULL;
    for (cJSON *r = cJSON_GetObjectItem(groups->child, "rules")->child; r != NULL; r = r->next) {
        if (strcmp(str(r, "name"), "SearchRawHighErrorRateBudgetDrop") == 0) {
            drop = r;
        }
    }
    assert_non_null(drop);
    assert_string_equal(str(drop, "state"), "pending");
    cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItem(drop, "alerts"), 0);
    assert_string_equal(str(a, "value"), "6.25e-02");
    assert_string_equal(str(a, "state"), "pending");
    assert_string_equal(str(cJSON_GetObjectItem(a, "labels"), "alertname"),
                        "SearchRawHighErrorRateBudgetDrop");
    cJSON_Delete(j);
}

static void test_rules_type_filter_keeps_one_kind(void **state)
{
    (void)state;
    long status;
    cJSON *j = get("/api/v1/rules?type=record", &status, NULL);
    cJSON *groups = cJSON_GetObjectItem(data_of(j), "groups");
    /* The alert groups hold no recording rule, so they are left out. */
    assert_int_equal(cJSON_GetArraySize(groups), 4);
    for (cJSON *g = groups->child; g != NULL; g = g->next) {
        for (cJSON *r = cJSON_GetObjectItem(g, "rules")->child; r != NULL; r = r->next) {
            assert_string_equal(str(r, "type"), "recording");
        }
    }
    cJSON_Delete(j);
    j = get("/api/v1/rules?type=ALERT", &status, NULL);
    groups = cJSON_GetObjectItem(data_of(j), "groups");
    assert_int_equal(cJSON_GetArraySize(groups), 2);
    assert_string_equal(str(groups->child, "name"), "sloth-slo-alerts-checkout-availability");
    cJSON_Delete(j);
}

static void test_rules_bad_type_is_bad_data(void **state)
{
    (void)state;
    long status;
    cJSON *j = get("/api/v1/rules?type=recording", &status, NULL);
    assert_int_equal(status, 400);
    assert_string_equal(str(j, "status"), "error");
    assert_string_equal(str(j, "errorType"), "bad_data");
    assert_string_equal(str(j, "error"),
                        "invalid parameter \"type\": not supported value \"recording\"");
    cJSON_Delete(j);
}

static void test_rules_exclude_alerts_writes_null(void **state)
{
    (void)state;
    long status;
    char *raw;
    cJSON *j = get("/api/v1/rules?type=alert&exclude_alerts=true", &status, &raw);
    assert_int_equal(status, 200);
    assert_non_null(strstr(raw, "\"alerts\":null"));
    assert_null(strstr(raw, "\"alerts\":["));
    /* The state is still the rule's. */
    assert_non_null(strstr(raw, "{\"state\":\"firing\",\"name\":\"CheckoutAvailability\""));
    free(raw);
    cJSON_Delete(j);
    j = get("/api/v1/rules?exclude_alerts=maybe", &status, NULL);
    assert_int_equal(status, 400);
    assert_non_null(strstr(str(j, "error"), "invalid parameter \"exclude_alerts\""));
    cJSON_Delete(j);
}

static void test_rules_rule_name_and_file_filters(void **state)
{
    (void)state;
    long status;
    cJSON *j = get("/api/v1/rules?rule_name[]=slo:objective:ratio&file[]=slos/search.yml",
                   &status, NULL);
    cJSON *groups = cJSON_GetObjectItem(data_of(j), "groups");
    assert_int_equal(cJSON_GetArraySize(groups), 1);
    assert_string_equal(str(groups->child, "name"), "sloth-slo-meta-recordings-search-raw");
    cJSON *rules = cJSON_GetObjectItem(groups->child, "rules");
    assert_int_equal(cJSON_GetArraySize(rules), 1);
    assert_string_equal(str(rules->child, "query"), "vector(0.95)");
    cJSON_Delete(j);
}

static void test_rules_match_filters_on_rule_labels(void **state)
{
    (void)state;
    long status;
    cJSON *j = get("/api/v1/rules?match[]=%7Bsloth_severity%3D%22page%22%7D", &status, NULL);
    cJSON *groups = cJSON_GetObjectItem(data_of(j), "groups");
    size_t n = 0;
    for (cJSON *g = groups->child; g != NULL; g = g->next) {
        for (cJSON *r = cJSON_GetObjectItem(g, "rules")->child; r != NULL; r = r->next) {
            assert_string_equal(str(cJSON_GetObjectItem(r, "labels"), "sloth_severity"), "page");
            n++;
        }
    }
    /* Per SLO: the page burn-rate alert and the budget-drop page. */
    assert_int_equal(n, 4);
    cJSON_Delete(j);
    j = get("/api/v1/rules?match[]=%7Bx%3D%22%22%7D", &status, NULL);
    assert_int_equal(status, 400);
    assert_string_equal(str(j, "error"), "invalid parameter \"match[]\": match[] must contain at "
                                         "least one non-empty matcher");
    cJSON_Delete(j);
}

static void test_rules_evaluation_error_makes_health_err(void **state)
{
    (void)state;
    snap->slos[2].error = "query timed out";
    long status;
    cJSON *j = get("/api/v1/rules?rule_group[]=sloth-slo-sli-recordings-search-raw", &status,
                   NULL);
    cJSON *groups = cJSON_GetObjectItem(data_of(j), "groups");
    cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItem(groups->child, "rules"), 0);
    assert_string_equal(str(r0, "health"), "err");
    assert_string_equal(str(r0, "lastError"), "query timed out");
    cJSON_Delete(j);
}

static void test_alerts_lists_pending_and_firing_alerts(void **state)
{
    (void)state;
    long status;
    char *raw;
    cJSON *j = get("/api/v1/alerts", &status, &raw);
    assert_int_equal(status, 200);
    cJSON *alerts = cJSON_GetObjectItem(data_of(j), "alerts");
    assert_int_equal(cJSON_GetArraySize(alerts), 2);
    cJSON *a0 = cJSON_GetArrayItem(alerts, 0);
    cJSON *a1 = cJSON_GetArrayItem(alerts, 1);
    assert_string_equal(str(cJSON_GetObjectItem(a0, "labels"), "alertname"),
                        "CheckoutAvailability");
    assert_string_equal(str(a0, "state"), "firing");
    assert_string_equal(str(cJSON_GetObjectItem(a1, "labels"), "alertname"),
                        "SearchRawHighErrorRateBudgetDrop");
    assert_string_equal(str(a1, "state"), "pending");
    assert_string_equal(str(a1, "activeAt"), "2023-11-14T22:12:50.123Z");
    assert_non_null(strstr(raw, "{\"status\":\"success\",\"data\":{\"alerts\":[{\"labels\":"));
    free(raw);
    cJSON_Delete(j);
}

static void test_rules_and_alerts_accept_post(void **state)
{
    (void)state;
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/rules", br_http_server_port(server));
    const char *const headers[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    tu_http_result r;
    assert_int_equal(tu_http("POST", url, "type=record", 11, headers, &r), 0);
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.body, "\"type\":\"alerting\""));
    assert_non_null(strstr(r.body, "\"type\":\"recording\""));
    tu_http_free(&r);
}

static void test_rules_and_alerts_before_the_first_tick_are_empty(void **state)
{
    (void)state;
    fake.snap = NULL;
    long status;
    char *raw;
    cJSON *j = get("/api/v1/rules", &status, &raw);
    assert_int_equal(status, 200);
    assert_string_equal(raw, "{\"status\":\"success\",\"data\":{\"groups\":[]}}");
    free(raw);
    cJSON_Delete(j);
    j = get("/api/v1/alerts", &status, &raw);
    assert_string_equal(raw, "{\"status\":\"success\",\"data\":{\"alerts\":[]}}");
    free(raw);
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rules_groups_per_slo_with_prometheus_fields,
                                        each_setup, each_teardown),
        cmocka_unit_test_setup_teardown(test_rules_alerting_rule_combines_tiers_into_one_alert,
                                        each_setup, each_teardown),
        cmocka_unit_test_setup_teardown(test_rules_escalation_alert_value_is_the_rule_value,
                                        each_setup, each_teardown),
        cmocka_unit_test_setup_teardown(test_rules_type_filter_keeps_one_kind, each_setup,
                                        each_teardown),
        cmocka_unit_test_setup_teardown(test_rules_bad_type_is_bad_data, each_setup,
                                        each_teardown),
        cmocka_unit_test_setup_teardown(test_rules_exclude_alerts_writes_null, each_setup,
                                        each_teardown),
        cmocka_unit_test_setup_teardown(test_rules_rule_name_and_file_filters, each_setup,
                                        each_teardown),
        cmocka_unit_test_setup_teardown(test_rules_match_filters_on_rule_labels, each_setup,
                                        each_teardown),
        cmocka_unit_test_setup_teardown(test_rules_evaluation_error_makes_health_err, each_setup,
                                        each_teardown),
        cmocka_unit_test_setup_teardown(test_alerts_lists_pending_and_firing_alerts, each_setup,
                                        each_teardown),
        cmocka_unit_test_setup_teardown(test_rules_and_alerts_accept_post, each_setup,
                                        each_teardown),
        cmocka_unit_test_setup_teardown(test_rules_and_alerts_before_the_first_tick_are_empty,
                                        each_setup, each_teardown),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
