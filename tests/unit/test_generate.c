/*
 * test_generate.c — `burnrate generate`: the Prometheus rules produced for
 * SLOs built in code (availability from counters, latency with an le
 * bound, raw ratio, grouped, bool gauge, query templates, time slices and
 * threshold SLIs), checked against a golden file and expression by
 * expression: Sloth's series names and labels, the workbook factors for
 * 30d and their scaling for 7d, disabled page/ticket alerts, escalation
 * rules, YAML quoting (read back with libyaml), and the errors for broken
 * templates and label names.
 *
 * Set BR_GENERATE_DUMP=1 to print the YAML each test produces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/core/alloc.h"
#include "rules/generate.h"
#include "rules/yamldoc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_MS  (60LL * 1000)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS  (24 * HOUR_MS)

/* ------------------------------------------------------------------------ */
/* Building SLOs                                                            */
/* ------------------------------------------------------------------------ */

static br_kv *kvs(br_slo_set *s, size_t n, ...)
{
    br_kv *v = br_arena_calloc(br_slo_set_arena(s), n, sizeof(br_kv));
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) {
        v[i].key = va_arg(ap, const char *);
        v[i].value = va_arg(ap, const char *);
    }
    va_end(ap);
    return v;
}

static br_slo_def *availability(br_slo_set *s)
{
    br_slo_def *d = br_slo_def_new(s);
    d->service = "checkout";
    d->name = "availability";
    d->objective = 0.999;
    d->sli.kind = BR_SLI_EVENTS;
    d->sli.bad.kind = BR_SOURCE_COUNTER;
    d->sli.bad.expr = "http_requests_total{service=\"checkout\",code=~\"5..\"}";
    d->sli.total.kind = BR_SOURCE_COUNTER;
    d->sli.total.expr = "http_requests_total{service=\"checkout\"}";
    d->labels = kvs(s, 1, "team", "payments");
    d->n_labels = 1;
    d->alerting.name = "CheckoutAvailability";
    d->alerting.labels = kvs(s, 1, "category", "availability");
    d->alerting.n_labels = 1;
    d->alerting.annotations = kvs(s, 1, "dashboard", "https://grafana.example/d/slo");
    d->alerting.n_annotations = 1;
    d->alerting.page_labels = kvs(s, 1, "routing_key", "oncall");
    d->alerting.n_page_labels = 1;
    d->alerting.ticket_labels = kvs(s, 1, "routing_key", "tickets");
    d->alerting.n_ticket_labels = 1;
    return d;
}

static br_slo_def *latency(br_slo_set *s)
{
    br_slo_def *d = br_slo_def_new(s);
    d->service = "checkout";
    d->name = "latency";
    d->objective = 0.99;
    d->sli.kind = BR_SLI_EVENTS;
    d->sli.good.kind = BR_SOURCE_COUNTER;
    d->sli.good.expr = "http_request_duration_seconds_bucket{service=\"checkout\"}";
    d->sli.good.le = 0.5;
    d->sli.total.kind = BR_SOURCE_COUNTER;
    d->sli.total.expr = "http_request_duration_seconds_count{service=\"checkout\"}";
    return d;
}

static br_slo_def *raw(br_slo_set *s)
{
    br_slo_def *d = br_slo_def_new(s);
    d->service = "search";
    d->name = "raw";
    d->objective = 0.95;
    d->sli.kind = BR_SLI_RAW;
    d->sli.query = "  sum(rate(errors_total[{{.window}}]))\n/\nsum(rate(requests_total[{{ .window "
                   "}}]))\n";
    return d;
}

static void add(br_slo_set *s, br_slo_def *d)
{
    br_err err;
    br_err_clear(&err);
    int rc = br_slo_set_add(s, d, false, &err);
    if (rc != 0) {
        fprintf(stderr, "br_slo_set_add: %s\n", err.msg);
    }
    assert_int_equal(rc, 0);
}

/* ------------------------------------------------------------------------ */
/* Looking at the output                                                    */
/* ------------------------------------------------------------------------ */

typedef struct built {
    br_arena arena;
    br_gen_rules rules;
} built;

static void build(br_slo_set *s, built *b)
{
    br_arena_init(&b->arena, 0, 0);
    br_err err;
    br_err_clear(&err);
    int rc = br_generate_build(s, &b->arena, &b->rules, &err);
    if (rc != 0) {
        fprintf(stderr, "br_generate_build: %s\n", err.msg);
    }
    assert_int_equal(rc, 0);
    if (getenv("BR_GENERATE_DUMP") != NULL) {
        br_buf y;
        br_buf_init(&y, 0);
        br_generate_write_yaml(&b->rules, &y);
        fputs(br_buf_str(&y), stderr);
        br_buf_free(&y);
    }
}

static void built_free(built *b)
{
    br_arena_free(&b->arena);
}

static const br_gen_group *group(const built *b, const char *name)
{
    for (size_t i = 0; i < b->rules.n_groups; i++) {
        if (strcmp(b->rules.groups[i].name, name) == 0) {
            return &b->rules.groups[i];
        }
    }
    return NULL;
}

/* The nth rule named name in group gname (n from 0), or NULL. */
static const br_gen_rule *rule_n(const built *b, const char *gname, const char *name, int n)
{
    const br_gen_group *g = group(b, gname);
    for (size_t i = 0; g != NULL && i < g->n_rules; i++) {
        if (strcmp(g->rules[i].name, name) == 0 && n-- == 0) {
            return &g->rules[i];
        }
    }
    return NULL;
}

static const br_gen_rule *rule(const built *b, const char *gname, const char *name)
{
    const br_gen_rule *r = rule_n(b, gname, name, 0);
    if (r == NULL) {
        fprintf(stderr, "no rule %s in group %s\n", name, gname);
    }
    assert_non_null(r);
    return r;
}

static const char *label(const br_gen_rule *r, const char *key)
{
    for (size_t i = 0; i < r->n_labels; i++) {
        if (strcmp(r->labels[i].key, key) == 0) {
            return r->labels[i].value;
        }
    }
    return NULL;
}

static const char *annotation(const br_gen_rule *r, const char *key)
{
    for (size_t i = 0; i < r->n_annotations; i++) {
        if (strcmp(r->annotations[i].key, key) == 0) {
            return r->annotations[i].value;
        }
    }
    return NULL;
}

static char *generate(br_slo_set *s)
{
    br_buf out;
    br_buf_init(&out, 0);
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_generate_rules(s, &out, &err), 0);
    size_t len;
    char *text = br_buf_take(&out, &len);
    return text;
}

static char *read_source_file(const char *rel)
{
    char path[1024];
    const char *src = getenv("BR_SOURCE_DIR");
    if (src != NULL) {
        snprintf(path, sizeof(path), "%s/%s", src, rel);
    } else {
        /* __FILE__ is tests/unit/test_generate.c under the source root. */
        snprintf(path, sizeof(path), "%s", __FILE__);
        char *cut = strstr(path, "tests/unit/");
        assert_non_null(cut);
        snprintf(cut, sizeof(path) - (size_t)(cut - path), "%s", rel);
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
    }
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = br_malloc((size_t)n + 1);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = '\0';
    fclose(f);
    return text;
}

/* Replaces every "{{version}}" in text (a br_malloc'd string) by v. */
static char *with_version(char *text, const char *v)
{
    br_buf b;
    br_buf_init(&b, 0);
    const char *p = text;
    const char *hit;
    while ((hit = strstr(p, "{{version}}")) != NULL) {
        br_buf_append(&b, p, (size_t)(hit - p));
        br_buf_puts(&b, v);
        p = hit + strlen("{{version}}");
    }
    br_buf_puts(&b, p);
    br_free(text);
    size_t len;
    return br_buf_take(&b, &len);
}

#define SLI(id)   "sloth-slo-sli-recordings-" id
#define META(id)  "sloth-slo-meta-recordings-" id
#define ALERT(id) "sloth-slo-alerts-" id
#define F_AVAIL                                                                                    \
    "{sloth_id=\"checkout-availability\", sloth_service=\"checkout\", sloth_slo=\"availability\"}"

/* ------------------------------------------------------------------------ */
/* Tests                                                                    */
/* ------------------------------------------------------------------------ */

static void test_generate_availability_matches_golden_file(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    add(s, availability(s));
    char *got = generate(s);
    char *want = with_version(read_source_file("tests/data/generate/availability.rules.golden"),
                              BR_VERSION);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "---- got ----\n%s", got);
    }
    assert_string_equal(got, want);
    br_free(got);
    br_free(want);
    br_slo_set_unref(s);
}

static void test_generate_records_every_alert_window_and_the_period(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    add(s, availability(s));
    built b;
    build(s, &b);
    const br_gen_group *g = group(&b, SLI("checkout-availability"));
    assert_non_null(g);
    static const char *const names[] = {"5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"};
    assert_int_equal(g->n_rules, 8);
    for (size_t i = 0; i < 8; i++) {
        char want[64];
        snprintf(want, sizeof(want), "slo:sli_error:ratio_rate%s", names[i]);
        assert_string_equal(g->rules[i].name, want);
        assert_int_equal(g->rules[i].kind, BR_GEN_RECORD);
        assert_string_equal(label(&g->rules[i], "sloth_window"), names[i]);
        assert_string_equal(label(&g->rules[i], "sloth_id"), "checkout-availability");
        assert_string_equal(label(&g->rules[i], "sloth_service"), "checkout");
        assert_string_equal(label(&g->rules[i], "sloth_slo"), "availability");
        assert_string_equal(label(&g->rules[i], "team"), "payments");
    }
    /* The period is a ratio of sums over the whole period, not Sloth's
     * average of 5m ratios. */
    assert_string_equal(g->rules[7].expr,
                        "(sum(rate(http_requests_total{service=\"checkout\",code=~\"5..\"}[30d])) "
                        "or (0 * sum(rate(http_requests_total{service=\"checkout\"}[30d]))))\n"
                        "/\n"
                        "(sum(rate(http_requests_total{service=\"checkout\"}[30d])))");
    built_free(&b);
    br_slo_set_unref(s);
}

static void test_generate_meta_rules_use_sloth_names_and_expressions(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    add(s, availability(s));
    built b;
    build(s, &b);
    const char *g = META("checkout-availability");
    assert_string_equal(rule(&b, g, "slo:objective:ratio")->expr, "vector(0.999)");
    assert_string_equal(rule(&b, g, "slo:error_budget:ratio")->expr, "vector(1-0.999)");
    assert_string_equal(rule(&b, g, "slo:time_period:days")->expr, "vector(30)");
    assert_string_equal(rule(&b, g, "slo:current_burn_rate:ratio")->expr,
                        "slo:sli_error:ratio_rate5m" F_AVAIL "\n"
                        "/ on(sloth_id, sloth_slo, sloth_service) group_left\n"
                        "slo:error_budget:ratio" F_AVAIL);
    assert_string_equal(rule(&b, g, "slo:period_burn_rate:ratio")->expr,
                        "slo:sli_error:ratio_rate30d" F_AVAIL "\n"
                        "/ on(sloth_id, sloth_slo, sloth_service) group_left\n"
                        "slo:error_budget:ratio" F_AVAIL);
    assert_string_equal(rule(&b, g, "slo:period_error_budget_remaining:ratio")->expr,
                        "1 - slo:period_burn_rate:ratio" F_AVAIL);
    const br_gen_rule *info = rule(&b, g, "sloth_slo_info");
    assert_string_equal(info->expr, "vector(1)");
    assert_string_equal(label(info, "sloth_objective"), "99.9");
    assert_string_equal(label(info, "sloth_mode"), "cli-gen-prom");
    assert_string_equal(label(info, "sloth_spec"), "burnrate/v1");
    assert_string_equal(label(info, "sloth_id"), "checkout-availability");
    assert_null(label(info, "sloth_window"));
    built_free(&b);
    br_slo_set_unref(s);
}

static void test_generate_page_and_ticket_factors_for_30d(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    add(s, availability(s));
    built b;
    build(s, &b);
    const br_gen_rule *page = rule_n(&b, ALERT("checkout-availability"), "CheckoutAvailability", 0);
    const br_gen_rule *ticket =
        rule_n(&b, ALERT("checkout-availability"), "CheckoutAvailability", 1);
    assert_non_null(page);
    assert_non_null(ticket);
    assert_string_equal(page->severity, "page");
    assert_string_equal(ticket->severity, "ticket");
    assert_string_equal(
        page->expr,
        "(\n"
        "    max(slo:sli_error:ratio_rate5m" F_AVAIL " > (14.4 * (1 - 0.999))) without (sloth_window)\n"
        "    and\n"
        "    max(slo:sli_error:ratio_rate1h" F_AVAIL " > (14.4 * (1 - 0.999))) without (sloth_window)\n"
        ")\n"
        "or\n"
        "(\n"
        "    max(slo:sli_error:ratio_rate30m" F_AVAIL " > (6 * (1 - 0.999))) without (sloth_window)\n"
        "    and\n"
        "    max(slo:sli_error:ratio_rate6h" F_AVAIL " > (6 * (1 - 0.999))) without (sloth_window)\n"
        ")");
    assert_non_null(strstr(ticket->expr, "max(slo:sli_error:ratio_rate2h" F_AVAIL
                                         " > (3 * (1 - 0.999))) without (sloth_window)"));
    assert_non_null(strstr(ticket->expr, "max(slo:sli_error:ratio_rate1d" F_AVAIL
                                         " > (3 * (1 - 0.999))) without (sloth_window)"));
    assert_non_null(strstr(ticket->expr, "max(slo:sli_error:ratio_rate6h" F_AVAIL
                                         " > (1 * (1 - 0.999))) without (sloth_window)"));
    assert_non_null(strstr(ticket->expr, "max(slo:sli_error:ratio_rate3d" F_AVAIL
                                         " > (1 * (1 - 0.999))) without (sloth_window)"));
    /* One rule has one `for`: the shortest of its tiers' (2m and 15m; 1h and 3h). */
    assert_int_equal(page->for_ms, 2 * MIN_MS);
    assert_int_equal(ticket->for_ms, HOUR_MS);
    built_free(&b);
    br_slo_set_unref(s);
}

static void test_generate_factors_scale_for_a_7d_period(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_slo_def *d = latency(s);
    d->period.duration_ms = 7 * DAY_MS;
    add(s, d);
    built b;
    build(s, &b);
    const char *ag = ALERT("checkout-latency");
    const br_gen_rule *page = rule_n(&b, ag, "CheckoutLatencyHighErrorRate", 0);
    const br_gen_rule *ticket = rule_n(&b, ag, "CheckoutLatencyHighErrorRate", 1);
    assert_non_null(page);
    assert_non_null(ticket);
    assert_non_null(strstr(page->expr, "ratio_rate5m{"));
    assert_non_null(strstr(page->expr, "> (3.36 * (1 - 0.99)))"));
    assert_non_null(strstr(page->expr, "> (1.4 * (1 - 0.99)))"));
    assert_non_null(strstr(ticket->expr, "> (0.7 * (1 - 0.99)))"));
    assert_non_null(strstr(ticket->expr, "> (0.23333333333333334 * (1 - 0.99)))"));
    /* The period window is named the way Prometheus prints 7d. */
    assert_non_null(rule_n(&b, SLI("checkout-latency"), "slo:sli_error:ratio_rate1w", 0));
    assert_string_equal(rule(&b, META("checkout-latency"), "slo:time_period:days")->expr,
                        "vector(7)");
    assert_non_null(strstr(rule(&b, META("checkout-latency"), "slo:period_burn_rate:ratio")->expr,
                           "slo:sli_error:ratio_rate1w{"));
    built_free(&b);
    br_slo_set_unref(s);
}

static void test_generate_latency_good_counter_with_le_bound(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    add(s, latency(s));
    built b;
    build(s, &b);
    assert_string_equal(
        rule(&b, SLI("checkout-latency"), "slo:sli_error:ratio_rate5m")->expr,
        "1 - (\n"
        "(sum(rate(http_request_duration_seconds_bucket{service=\"checkout\","
        "le=~\"0\\\\.5|0\\\\.50|5e-01|5e-1\"}[5m])) or (0 * "
        "sum(rate(http_request_duration_seconds_count{service=\"checkout\"}[5m]))))\n"
        "/\n"
        "(sum(rate(http_request_duration_seconds_count{service=\"checkout\"}[5m])))\n"
        ")");
    built_free(&b);
    br_slo_set_unref(s);
}

static void test_generate_le_regex_accepts_usual_spellings(void **state)
{
    (void)state;
    char re[256];
    assert_string_equal(br_generate_le_regex(0.5, re, sizeof(re)), "0\\.5|0\\.50|5e-01|5e-1");
    assert_string_equal(br_generate_le_regex(1, re, sizeof(re)), "1|1\\.0|1e\\+00");
    assert_string_equal(br_generate_le_regex(0.005, re, sizeof(re)),
                        "0\\.005|0\\.0050|5e-03|5e-3");
    assert_string_equal(br_generate_le_regex(2.5, re, sizeof(re)), "2\\.5|2\\.50|2\\.5e\\+00");
    assert_string_equal(br_generate_le_regex(10, re, sizeof(re)), "10|10\\.0|1e\\+01");
    assert_string_equal(br_generate_le_regex(INFINITY, re, sizeof(re)), "\\+Inf");
}

static void test_generate_le_matcher_goes_inside_or_after_the_selector(void **state)
{
    (void)state;
    static const struct {
        const char *sel;
        const char *want;
    } cases[] = {
        {"latency_bucket", "latency_bucket{le=~\"1|1\\\\.0|1e\\\\+00\"}"},
        {"latency_bucket{}", "latency_bucket{le=~\"1|1\\\\.0|1e\\\\+00\"}"},
        {"latency_bucket{a=\"}\",}", "latency_bucket{a=\"}\",le=~\"1|1\\\\.0|1e\\\\+00\"}"},
        {"{__name__=\"latency_bucket\"} ",
         "{__name__=\"latency_bucket\",le=~\"1|1\\\\.0|1e\\\\+00\"}"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        br_slo_set *s = br_slo_set_new();
        br_slo_def *d = latency(s);
        d->sli.good.expr = cases[i].sel;
        d->sli.good.le = 1;
        add(s, d);
        built b;
        build(s, &b);
        const char *e = rule(&b, SLI("checkout-latency"), "slo:sli_error:ratio_rate5m")->expr;
        char want[256];
        snprintf(want, sizeof(want), "(sum(rate(%s[5m])) or", cases[i].want);
        if (strstr(e, want) == NULL) {
            fprintf(stderr, "case %zu: %s\nwant: %s\n", i, e, want);
        }
        assert_non_null(strstr(e, want));
        built_free(&b);
        br_slo_set_unref(s);
    }
}

static void test_generate_raw_sli_renders_the_window_template(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    add(s, raw(s));
    built b;
    build(s, &b);
    assert_string_equal(rule(&b, SLI("search-raw"), "slo:sli_error:ratio_rate1h")->expr,
                        "(sum(rate(errors_total[1h]))\n/\nsum(rate(requests_total[1h])))");
    assert_string_equal(rule(&b, SLI("search-raw"), "slo:sli_error:ratio_rate30d")->expr,
                        "(sum(rate(errors_total[30d]))\n/\nsum(rate(requests_total[30d])))");
    /* The rules API shows the one-line canonical form. */
    assert_string_equal(rule(&b, SLI("search-raw"), "slo:sli_error:ratio_rate1h")->query,
                        "(sum(rate(errors_total[1h])) / sum(rate(requests_total[1h])))");
    built_free(&b);
    br_slo_set_unref(s);
}

static void test_generate_grouped_slo_sums_by_the_grouping_labels(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_slo_def *d = availability(s);
    static const char *grouping[] = {"handler", "method"};
    d->grouping = grouping;
    d->n_grouping = 2;
    add(s, d);
    built b;
    build(s, &b);
    assert_string_equal(
        rule(&b, SLI("checkout-availability"), "slo:sli_error:ratio_rate5m")->expr,
        "(sum by (handler, method) (rate(http_requests_total{service=\"checkout\",code=~\"5..\"}"
        "[5m])) or (0 * sum by (handler, method) "
        "(rate(http_requests_total{service=\"checkout\"}[5m]))))\n"
        "/\n"
        "(sum by (handler, method) (rate(http_requests_total{service=\"checkout\"}[5m])))");
    /* Alerts keep the grouping labels: `max ... without (sloth_window)`. */
    const br_gen_rule *page = rule(&b, ALERT("checkout-availability"), "CheckoutAvailability");
    assert_non_null(strstr(page->expr, ") without (sloth_window)"));
    built_free(&b);
    br_slo_set_unref(s);
}

/* Issue 10's alert kinds: min_events joins each burn condition, the ticket
 * alert is inhibited while the page fires, budget-low and no-data alerts. */
static void test_generate_low_traffic_inhibition_budget_low_and_no_data(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_slo_def *d = availability(s);
    d->alerting.min_events = 500;
    d->alerting.inhibit_tickets = true;
    d->alerting.budget_low_ratio = 0.1;
    d->alerting.no_data_for_ms = 15 * MIN_MS;
    d->alerting.absent_for_ms = 30 * MIN_MS;
    add(s, d);
    built b;
    build(s, &b);
    const char *ag = ALERT("checkout-availability");
    const br_gen_rule *page = rule_n(&b, ag, "CheckoutAvailability", 0);
    assert_non_null(strstr(page->expr, "    and on()\n    (sum(rate(http_requests_total{"));
    assert_non_null(strstr(page->expr, "[1h])) * 3600 >= 500)"));
    const br_gen_rule *ticket = rule_n(&b, ag, "CheckoutAvailability", 1);
    assert_string_equal(label(ticket, "severity"), "ticket");
    assert_non_null(strstr(ticket->expr, "unless on(sloth_id) ALERTS{alertname=\"CheckoutAvailability\", "
                                         "severity=\"page\", alertstate=\"firing\"}"));
    const br_gen_rule *low = rule(&b, ag, "CheckoutAvailabilityBudgetLow");
    assert_non_null(strstr(low->expr, "slo:period_error_budget_remaining:ratio"));
    assert_non_null(strstr(low->expr, "< 0.1"));
    const br_gen_rule *nodata = rule(&b, ag, "CheckoutAvailabilityNoData");
    assert_non_null(strstr(nodata->expr, "absent(slo:sli_error:ratio_rate15m"));
    const br_gen_rule *absent = rule(&b, ag, "CheckoutAvailabilitySeriesAbsent");
    assert_non_null(absent);
    assert_non_null(strstr(absent->expr, "absent_over_time(slo:sli_error:ratio_rate5m{"));
    assert_non_null(strstr(absent->expr, "}[30m])"));
    assert_string_equal(label(absent, "severity"), "ticket");
    /* The 15m window is recorded so the no-data rule has its series. */
    assert_non_null(rule(&b, SLI("checkout-availability"), "slo:sli_error:ratio_rate15m"));
    built_free(&b);
    br_slo_set_unref(s);
}

static void test_generate_bool_gauge_counts_ones_and_samples(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_slo_def *d = br_slo_def_new(s);
    d->service = "batch";
    d->name = "freshness";
    d->objective = 0.99;
    d->sli.kind = BR_SLI_EVENTS;
    d->sli.good.kind = BR_SOURCE_BOOL_GAUGE;
    d->sli.good.expr = "job_fresh{job=\"etl\"}";
    d->sli.total.kind = BR_SOURCE_BOOL_GAUGE;
    d->sli.total.expr = "job_fresh{job=\"etl\"}";
    add(s, d);
    built b;
    build(s, &b);
    assert_string_equal(rule(&b, SLI("batch-freshness"), "slo:sli_error:ratio_rate30m")->expr,
                        "1 - (\n"
                        "(sum(sum_over_time(job_fresh{job=\"etl\"}[30m])) or (0 * "
                        "sum(count_over_time(job_fresh{job=\"etl\"}[30m]))))\n"
                        "/\n"
                        "(sum(count_over_time(job_fresh{job=\"etl\"}[30m])))\n"
                        ")");
    built_free(&b);
    br_slo_set_unref(s);
}

static void test_generate_query_sources_render_their_templates(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_slo_def *d = br_slo_def_new(s);
    d->service = "api";
    d->name = "sloth-style";
    d->objective = 0.999;
    d->format = BR_SLO_FORMAT_SLOTH;
    d->sli.kind = BR_SLI_EVENTS;
    d->sli.bad.kind = BR_SOURCE_QUERY;
    d->sli.bad.expr = "sum(rate(http_requests_total{code=~\"(5..|429)\"}[{{.window}}]))";
    d->sli.total.kind = BR_SOURCE_QUERY;
    d->sli.total.expr = "sum(rate(http_requests_total[{{.window}}]))\n";
    add(s, d);
    built b;
    build(s, &b);
    assert_string_equal(rule(&b, SLI("api-sloth-style"), "slo:sli_error:ratio_rate6h")->expr,
                        "((sum(rate(http_requests_total{code=~\"(5..|429)\"}[6h]))) or (0 * "
                        "(sum(rate(http_requests_total[6h])))))\n"
                        "/\n"
                        "((sum(rate(http_requests_total[6h]))))");
    assert_string_equal(label(rule(&b, META("api-sloth-style"), "sloth_slo_info"), "sloth_spec"),
                        "prometheus/v1");
    built_free(&b);
    br_slo_set_unref(s);
}

static void test_generate_threshold_sli_records_slice_value_and_bad_slices(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_slo_def *d = br_slo_def_new(s);
    d->service = "checkout";
    d->name = "p99";
    d->objective = 0.95;
    d->sli.kind = BR_SLI_THRESHOLD;
    d->sli.query = "histogram_quantile(0.99, sum by (le) "
                   "(rate(http_request_duration_seconds_bucket[{{.window}}])))";
    d->sli.op = BR_OP_LT;
    d->sli.threshold = 5;
    d->slice_ms = 5 * MIN_MS;
    add(s, d);
    built b;
    build(s, &b);
    const char *g = SLI("checkout-p99");
    const br_gen_rule *value = rule(&b, g, "slo:sli_value:slice");
    assert_string_equal(value->expr, "histogram_quantile(0.99, sum by (le) "
                                     "(rate(http_request_duration_seconds_bucket[5m])))");
    assert_string_equal(label(value, "sloth_window"), "5m");
    const char *f = "{sloth_id=\"checkout-p99\", sloth_service=\"checkout\", sloth_slo=\"p99\"}";
    char want[512];
    /* p99 < 5s is good, so a slice is bad when p99 >= 5. */
    snprintf(want, sizeof(want), "slo:sli_value:slice%s >= bool 5", f);
    assert_string_equal(rule(&b, g, "slo:sli_slice_bad:bool")->expr, want);
    snprintf(want, sizeof(want), "avg_over_time(slo:sli_slice_bad:bool%s[1h])", f);
    assert_string_equal(rule(&b, g, "slo:sli_error:ratio_rate1h")->expr, want);
    snprintf(want, sizeof(want), "avg_over_time(slo:sli_slice_bad:bool%s[30d])", f);
    assert_string_equal(rule(&b, g, "slo:sli_error:ratio_rate30d")->expr, want);
    /* Slice series come first: Prometheus evaluates a group's rules in order. */
    assert_string_equal(group(&b, g)->rules[0].name, "slo:sli_value:slice");
    assert_string_equal(group(&b, g)->rules[1].name, "slo:sli_slice_bad:bool");
    built_free(&b);
    br_slo_set_unref(s);
}

static void test_generate_time_slices_average_bad_slices(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_slo_def *d = availability(s);
    d->budgeting = BR_BUDGET_TIMESLICES;
    d->slice_ms = MIN_MS;
    d->slice_target = 0.95;
    add(s, d);
    br_slo_def *r = availability(s);
    r->name = "ratio-slices";
    r->budgeting = BR_BUDGET_RATIO_TIMESLICES;
    r->slice_ms = MIN_MS;
    add(s, r);
    built b;
    build(s, &b);
    const char *g = SLI("checkout-availability");
    const br_gen_rule *slice = rule(&b, g, "slo:sli_error:ratio_slice");
    assert_non_null(strstr(slice->expr, "[1m]))))\n/\n"));
    assert_non_null(strstr(slice->expr, ")\n>= 0"));
    assert_string_equal(rule(&b, g, "slo:sli_slice_bad:bool")->expr,
                        "slo:sli_error:ratio_slice" F_AVAIL " > bool (1 - 0.95)");
    assert_string_equal(rule(&b, g, "slo:sli_error:ratio_rate6h")->expr,
                        "avg_over_time(slo:sli_slice_bad:bool" F_AVAIL "[6h])");
    /* Ratio time slices: the mean of the slices' error ratios. */
    const char *rg = SLI("checkout-ratio-slices");
    assert_null(rule_n(&b, rg, "slo:sli_slice_bad:bool", 0));
    assert_non_null(
        strstr(rule(&b, rg, "slo:sli_error:ratio_rate6h")->expr,
               "avg_over_time(slo:sli_error:ratio_slice{sloth_id=\"checkout-ratio-slices\""));
    built_free(&b);
    br_slo_set_unref(s);
}

static void test_generate_disabled_page_keeps_ticket_alerts(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_slo_def *d = availability(s);
    d->alerting.page_disabled = true;
    add(s, d);
    built b;
    build(s, &b);
    const br_gen_group *g = group(&b, ALERT("checkout-availability"));
    assert_non_null(g);
    /* Ticket burn-rate alert and the exhaustion projection (a ticket); the
     * page and the budget-drop page are gone. */
    assert_int_equal(g->n_rules, 2);
    assert_string_equal(g->rules[0].severity, "ticket");
    assert_string_equal(g->rules[0].alert_kind, "burn_rate");
    assert_string_equal(g->rules[1].alert_kind, "exhaustion");
    assert_string_equal(label(&g->rules[0], "severity"), "ticket");
    built_free(&b);
    br_slo_set_unref(s);
}

static void test_generate_disabled_page_and_ticket_leave_no_alert_group(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_slo_def *d = raw(s);
    d->alerting.page_disabled = true;
    d->alerting.ticket_disabled = true;
    add(s, d);
    built b;
    build(s, &b);
    assert_int_equal(b.rules.n_groups, 2);
    assert_null(group(&b, ALERT("search-raw")));
    /* The SLI windows are still recorded (Sloth does the same). */
    assert_int_equal(group(&b, SLI("search-raw"))->n_rules, 8);
    built_free(&b);
    br_slo_set_unref(s);
}

static void test_generate_disabled_tier_is_left_out_of_its_alert(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_slo_def *d = availability(s);
    d->alerting.tiers[1].disabled = true; /* page-slow */
    add(s, d);
    built b;
    build(s, &b);
    const br_gen_rule *page = rule(&b, ALERT("checkout-availability"), "CheckoutAvailability");
    assert_non_null(strstr(page->expr, "(14.4 * (1 - 0.999))"));
    assert_null(strstr(page->expr, "\nor\n"));
    assert_null(strstr(page->expr, "(6 * "));
    built_free(&b);
    br_slo_set_unref(s);
}

static void test_generate_alert_labels_and_annotations_come_from_the_slo(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_slo_def *d = availability(s);
    d->alerting.page_labels = kvs(s, 2, "routing_key", "oncall", "severity", "critical");
    d->alerting.n_page_labels = 2;
    d->alerting.page_annotations = kvs(s, 1, "summary", "Checkout is failing");
    d->alerting.n_page_annotations = 1;
    d->alerting.runbook_url = "https://runbooks.example/checkout";
    d->alerting.keep_firing_for_ms = 10 * MIN_MS;
    add(s, d);
    built b;
    build(s, &b);
    const char *ag = ALERT("checkout-availability");
    const br_gen_rule *page = rule_n(&b, ag, "CheckoutAvailability", 0);
    const br_gen_rule *ticket = rule_n(&b, ag, "CheckoutAvailability", 1);
    assert_string_equal(label(page, "severity"), "critical");
    assert_string_equal(label(page, "sloth_severity"), "page");
    assert_string_equal(label(page, "routing_key"), "oncall");
    assert_string_equal(label(page, "category"), "availability");
    assert_string_equal(label(ticket, "severity"), "ticket");
    assert_string_equal(label(ticket, "routing_key"), "tickets");
    assert_string_equal(annotation(page, "summary"), "Checkout is failing");
    assert_string_equal(annotation(ticket, "summary"),
                        "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn "
                        "rate is over expected.");
    assert_string_equal(annotation(page, "title"),
                        "(page) {{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget "
                        "burn rate is too fast.");
    assert_string_equal(annotation(page, "runbook_url"), "https://runbooks.example/checkout");
    assert_string_equal(annotation(page, "dashboard"), "https://grafana.example/d/slo");
    assert_int_equal(page->keep_firing_for_ms, 10 * MIN_MS);
    /* SLO labels are not copied onto alert rules: alerts inherit them from
     * the series (Sloth does the same). */
    assert_null(label(page, "team"));
    built_free(&b);
    br_slo_set_unref(s);
}

static void test_generate_escalation_rules_for_budget_drop_and_exhaustion(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    add(s, availability(s));
    built b;
    build(s, &b);
    const char *ag = ALERT("checkout-availability");
    const br_gen_rule *drop = rule(&b, ag, "CheckoutAvailabilityBudgetDrop");
    /* The errors in the hour over the errors the period's traffic allows. */
    assert_string_equal(drop->expr, "max(slo:sli_error:ratio_rate1h" F_AVAIL
                                    ") without (sloth_window)\n"
                                    "/ (1 - 0.999)\n"
                                    "* on() group_left()\n"
                                    "(\n"
                                    "sum(rate(http_requests_total{service=\"checkout\"}[1h])) "
                                    "* 3600\n"
                                    "/\n"
                                    "(sum(rate(http_requests_total{service=\"checkout\"}[30d])) "
                                    "* 2592000)\n"
                                    ")\n"
                                    "> 0.05");
    assert_string_equal(drop->severity, "page");
    assert_string_equal(drop->alert_kind, "budget_drop");
    assert_string_equal(label(drop, "routing_key"), "oncall");
    const br_gen_rule *ex = rule(&b, ag, "CheckoutAvailabilityBudgetExhaustion");
    /* Both sides without sloth_window, or one-to-one matching finds
     * nothing; an exhausted budget (remaining <= 0) does not fire. */
    assert_string_equal(ex->expr, "max(slo:period_error_budget_remaining:ratio" F_AVAIL
                                  ") without (sloth_window) * 2592000\n"
                                  "/ (max(slo:sli_error:ratio_rate1h" F_AVAIL
                                  ") without (sloth_window) / (1 - 0.999))\n"
                                  "< 604800 > 0");
    assert_string_equal(ex->severity, "ticket");
    assert_string_equal(ex->alert_kind, "exhaustion");
    assert_int_equal(ex->for_ms, 0);
    built_free(&b);
    br_slo_set_unref(s);
}

static void test_generate_escalation_window_is_recorded_when_no_tier_uses_it(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_slo_def *d = availability(s);
    d->alerting.budget_drop_window_ms = 4 * HOUR_MS;
    add(s, d);
    built b;
    build(s, &b);
    assert_non_null(
        rule_n(&b, SLI("checkout-availability"), "slo:sli_error:ratio_rate4h", 0));
    assert_non_null(strstr(rule(&b, ALERT("checkout-availability"),
                                "CheckoutAvailabilityBudgetDrop")->expr,
                           "[4h])) * 14400\n"));
    built_free(&b);
    br_slo_set_unref(s);
}

static void test_generate_alert_name_defaults_to_camel_case_ids(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_slo_def *d = latency(s);
    d->service = "my-shop_api";
    d->name = "p99-latency";
    add(s, d);
    char name[128];
    const br_slo_def *got = br_slo_set_get(s, 0);
    assert_string_equal(br_generate_alert_name(got, "burn_rate", name, sizeof(name)),
                        "MyShopApiP99LatencyHighErrorRate");
    assert_string_equal(br_generate_alert_name(got, "budget_drop", name, sizeof(name)),
                        "MyShopApiP99LatencyHighErrorRateBudgetDrop");
    assert_string_equal(br_generate_alert_name(got, "exhaustion", name, sizeof(name)),
                        "MyShopApiP99LatencyHighErrorRateBudgetExhaustion");
    br_slo_set_unref(s);
}

static void test_generate_yaml_quotes_values_so_they_read_back_unchanged(void **state)
{
    (void)state;
    static const char *const values[] = {
        "yes", "a: b", "two\nlines", "it's", "#hash", "99.9", "", " lead", "tab\there",
        "{{$labels.x}}", "-dash", "on",
    };
    enum { NV = sizeof(values) / sizeof(values[0]) };
    br_slo_set *s = br_slo_set_new();
    br_slo_def *d = availability(s);
    br_kv *ls = br_arena_calloc(br_slo_set_arena(s), NV, sizeof(br_kv));
    static const char *const keys[NV] = {"k0", "k1", "k2", "k3", "k4", "k5",
                                         "k6", "k7", "k8", "k9", "k10", "y"};
    for (size_t i = 0; i < NV; i++) {
        ls[i].key = keys[i];
        ls[i].value = values[i];
    }
    d->labels = ls;
    d->n_labels = NV;
    add(s, d);
    char *text = generate(s);
    br_yaml_doc doc;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_yaml_load_string(&doc, "generated", text, strlen(text), &err), 0);
    br_yaml_node *groups = br_yaml_map_get(&doc, br_yaml_root(&doc), "groups");
    br_yaml_node *g0 = br_yaml_seq_item(&doc, groups, 0);
    br_yaml_node *r0 = br_yaml_seq_item(&doc, br_yaml_map_get(&doc, g0, "rules"), 0);
    br_yaml_node *labels = br_yaml_map_get(&doc, r0, "labels");
    assert_non_null(labels);
    for (size_t i = 0; i < NV; i++) {
        br_yaml_node *v = br_yaml_map_get(&doc, labels, keys[i]);
        assert_non_null(v);
        assert_string_equal(br_yaml_scalar(v), values[i]);
        /* Scalars YAML would read as a bool, number or null are quoted. */
        if (strcmp(values[i], "yes") == 0 || strcmp(values[i], "on") == 0 ||
            strcmp(values[i], "99.9") == 0 || values[i][0] == '\0') {
            assert_int_not_equal(v->data.scalar.style, YAML_PLAIN_SCALAR_STYLE);
        }
    }
    /* A key YAML 1.1 reads as a bool ("y") is quoted too. */
    assert_non_null(strstr(text, "      \"y\": 'on'\n"));
    br_yaml_free(&doc);
    br_free(text);
    br_slo_set_unref(s);
}

static void test_generate_every_expression_reads_back_from_the_yaml(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    add(s, availability(s));
    add(s, latency(s));
    add(s, raw(s));
    char *text = generate(s);
    built b;
    build(s, &b);
    br_yaml_doc doc;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_yaml_load_string(&doc, "generated", text, strlen(text), &err), 0);
    br_yaml_node *groups = br_yaml_map_get(&doc, br_yaml_root(&doc), "groups");
    assert_int_equal(br_yaml_seq_size(groups), b.rules.n_groups);
    size_t checked = 0;
    for (size_t i = 0; i < b.rules.n_groups; i++) {
        br_yaml_node *g = br_yaml_seq_item(&doc, groups, i);
        assert_string_equal(br_yaml_scalar(br_yaml_map_get(&doc, g, "name")),
                            b.rules.groups[i].name);
        br_yaml_node *rules = br_yaml_map_get(&doc, g, "rules");
        assert_int_equal(br_yaml_seq_size(rules), b.rules.groups[i].n_rules);
        for (size_t j = 0; j < b.rules.groups[i].n_rules; j++) {
            br_yaml_node *r = br_yaml_seq_item(&doc, rules, j);
            assert_string_equal(br_yaml_scalar(br_yaml_map_get(&doc, r, "expr")),
                                b.rules.groups[i].rules[j].expr);
            checked++;
        }
    }
    assert_true(checked > 40);
    br_yaml_free(&doc);
    built_free(&b);
    br_free(text);
    br_slo_set_unref(s);
}

static void test_generate_query_form_is_one_line(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    add(s, availability(s));
    built b;
    build(s, &b);
    for (size_t i = 0; i < b.rules.n_groups; i++) {
        for (size_t j = 0; j < b.rules.groups[i].n_rules; j++) {
            const br_gen_rule *r = &b.rules.groups[i].rules[j];
            assert_null(strchr(r->query, '\n'));
            assert_true(strlen(r->query) > 0);
        }
    }
    assert_string_equal(rule(&b, META("checkout-availability"), "slo:error_budget:ratio")->query,
                        "vector(1 - 0.999)");
    built_free(&b);
    br_slo_set_unref(s);
}

static void test_generate_rejects_a_template_that_does_not_parse(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_slo_def *d = raw(s);
    d->sli.query = "sum(rate(errors_total[{{.window}}])) / ";
    d->file = "slos/search.yml";
    d->line = 12;
    add(s, d);
    br_buf out;
    br_buf_init(&out, 0);
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_generate_rules(s, &out, &err), BR_EINVAL);
    assert_non_null(strstr(err.msg, "SLO search-raw: rule slo:sli_error:ratio_rate5m does not parse"));
    assert_string_equal(err.file, "slos/search.yml");
    assert_int_equal(err.line, 12);
    br_buf_free(&out);
    br_slo_set_unref(s);
}

static void test_generate_rejects_a_bad_selector(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_slo_def *d = availability(s);
    d->sli.bad.expr = "http_requests_total{code=~5..}";
    add(s, d);
    br_buf out;
    br_buf_init(&out, 0);
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_generate_rules(s, &out, &err), BR_EINVAL);
    assert_non_null(strstr(err.msg, "SLO checkout-availability: selector http_requests_total{code=~5..}"));
    br_buf_free(&out);
    br_slo_set_unref(s);
}

static void test_generate_rejects_an_le_matcher_in_an_le_filtered_selector(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_slo_def *d = latency(s);
    d->sli.good.expr = "http_request_duration_seconds_bucket{le=\"0.5\"}";
    add(s, d);
    br_buf out;
    br_buf_init(&out, 0);
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_generate_rules(s, &out, &err), BR_EINVAL);
    assert_non_null(strstr(err.msg, "matches on le while the source sets an le bound"));
    br_buf_free(&out);
    br_slo_set_unref(s);
}

static void test_generate_rejects_an_invalid_label_name(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    br_slo_def *d = availability(s);
    d->alerting.labels = kvs(s, 1, "on-call", "x");
    add(s, d);
    br_buf out;
    br_buf_init(&out, 0);
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_generate_rules(s, &out, &err), BR_EINVAL);
    assert_non_null(strstr(err.msg, "alert label name \"on-call\" is not a valid Prometheus label name"));
    br_buf_free(&out);
    br_slo_set_unref(s);
}

static void test_generate_empty_set_prints_no_groups(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    char *text = generate(s);
    assert_non_null(strstr(text, "\ngroups: []\n"));
    assert_non_null(strstr(text, "# Prometheus rules for 0 SLOs"));
    br_free(text);
    br_slo_set_unref(s);
}

static void test_generate_keeps_set_order_and_sli_meta_alert_group_order(void **state)
{
    (void)state;
    br_slo_set *s = br_slo_set_new();
    add(s, raw(s));
    add(s, availability(s));
    built b;
    build(s, &b);
    assert_int_equal(b.rules.n_groups, 6);
    assert_string_equal(b.rules.groups[0].name, SLI("search-raw"));
    assert_string_equal(b.rules.groups[1].name, META("search-raw"));
    assert_string_equal(b.rules.groups[2].name, ALERT("search-raw"));
    assert_string_equal(b.rules.groups[3].name, SLI("checkout-availability"));
    assert_int_equal(b.rules.groups[4].kind, BR_GEN_GROUP_META);
    assert_int_equal(b.rules.groups[5].kind, BR_GEN_GROUP_ALERTS);
    assert_ptr_equal(b.rules.groups[5].def, br_slo_set_get(s, 1));
    built_free(&b);
    br_slo_set_unref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_availability_matches_golden_file),
        cmocka_unit_test(test_generate_records_every_alert_window_and_the_period),
        cmocka_unit_test(test_generate_meta_rules_use_sloth_names_and_expressions),
        cmocka_unit_test(test_generate_page_and_ticket_factors_for_30d),
        cmocka_unit_test(test_generate_factors_scale_for_a_7d_period),
        cmocka_unit_test(test_generate_latency_good_counter_with_le_bound),
        cmocka_unit_test(test_generate_le_regex_accepts_usual_spellings),
        cmocka_unit_test(test_generate_le_matcher_goes_inside_or_after_the_selector),
        cmocka_unit_test(test_generate_raw_sli_renders_the_window_template),
        cmocka_unit_test(test_generate_grouped_slo_sums_by_the_grouping_labels),
        cmocka_unit_test(test_generate_bool_gauge_counts_ones_and_samples),
        cmocka_unit_test(test_generate_low_traffic_inhibition_budget_low_and_no_data),
        cmocka_unit_test(test_generate_query_sources_render_their_templates),
        cmocka_unit_test(test_generate_threshold_sli_records_slice_value_and_bad_slices),
        cmocka_unit_test(test_generate_time_slices_average_bad_slices),
        cmocka_unit_test(test_generate_disabled_page_keeps_ticket_alerts),
        cmocka_unit_test(test_generate_disabled_page_and_ticket_leave_no_alert_group),
        cmocka_unit_test(test_generate_disabled_tier_is_left_out_of_its_alert),
        cmocka_unit_test(test_generate_alert_labels_and_annotations_come_from_the_slo),
        cmocka_unit_test(test_generate_escalation_rules_for_budget_drop_and_exhaustion),
        cmocka_unit_test(test_generate_escalation_window_is_recorded_when_no_tier_uses_it),
        cmocka_unit_test(test_generate_alert_name_defaults_to_camel_case_ids),
        cmocka_unit_test(test_generate_yaml_quotes_values_so_they_read_back_unchanged),
        cmocka_unit_test(test_generate_every_expression_reads_back_from_the_yaml),
        cmocka_unit_test(test_generate_query_form_is_one_line),
        cmocka_unit_test(test_generate_rejects_a_template_that_does_not_parse),
        cmocka_unit_test(test_generate_rejects_a_bad_selector),
        cmocka_unit_test(test_generate_rejects_an_le_matcher_in_an_le_filtered_selector),
        cmocka_unit_test(test_generate_rejects_an_invalid_label_name),
        cmocka_unit_test(test_generate_empty_set_prints_no_groups),
        cmocka_unit_test(test_generate_keeps_set_order_and_sli_meta_alert_group_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
