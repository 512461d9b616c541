/*
 * test_slo_native.c — burnrate's own SLO format: a file using every key
 * loads to the expected model (tests/data/slos/valid/native_full.yml),
 * defaults merge, each SLI kind maps to the right sources, and every
 * documented error (tests/data/slos/invalid/native_*.yml) names
 * file:line:col and what was expected.
 */
#include "slo_test_util.h"

#include <math.h>

#define MINUTE_MS (60LL * 1000)
#define HOUR_MS   (60 * MINUTE_MS)
#define DAY_MS    (24 * HOUR_MS)

static char *dir;
static br_slo_set *full;

static int setup(void **state)
{
    (void)state;
    dir = tu_mkdtemp("slo-native");
    char path[1200];
    snprintf(path, sizeof(path), "%s/tests/data/slos/valid/native_full.yml", st_source_dir());
    full = br_slo_set_new();
    br_err err;
    br_err_clear(&err);
    if (br_slo_load_file(full, path, &err) != 0) {
        char msg[512];
        fprintf(stderr, "native_full.yml: %s\n", br_err_format(&err, msg, sizeof(msg)));
        return -1;
    }
    return dir ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    br_slo_set_unref(full);
    tu_rmtree(dir);
    free(dir);
    return 0;
}

static const char *kv_get(const br_kv *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(kv[i].key, key) == 0) {
            return kv[i].value;
        }
    }
    return NULL;
}

static void test_slo_native_full_file_loads_every_slo(void **state)
{
    (void)state;
    assert_int_equal(br_slo_set_len(full), 7);
    for (size_t i = 0; i < br_slo_set_len(full); i++) {
        const br_slo_def *d = br_slo_set_get(full, i);
        assert_int_equal(d->format, BR_SLO_FORMAT_BURNRATE);
        assert_string_equal(d->service, "checkout");
        assert_non_null(strstr(d->file, "native_full.yml"));
    }
}

static void test_slo_native_events_with_exclusions(void **state)
{
    (void)state;
    const br_slo_def *d = br_slo_set_find(full, "checkout-availability");
    assert_non_null(d);
    assert_int_equal(d->line, 10);
    assert_string_equal(d->description, "Share of valid checkout requests that succeed");
    assert_true(fabs(d->objective - 0.999) < 1e-12);
    assert_int_equal(d->sli.kind, BR_SLI_EVENTS);
    assert_int_equal(d->sli.bad.kind, BR_SOURCE_COUNTER);
    assert_string_equal(
        d->sli.bad.expr,
        "http_requests_total{code!~\"429|401|400\",code=~\"5..\",job=\"checkout\"}");
    assert_int_equal(d->sli.good.kind, BR_SOURCE_NONE);
    assert_string_equal(d->sli.total.expr,
                        "http_requests_total{code!~\"429|401|400\",job=\"checkout\"}");
    assert_true(isnan(d->sli.bad.le));
    assert_int_equal(d->no_data, BR_NO_DATA_GOOD);
    /* Period from defaults: 28d rolling; default tiers scaled to 28d. */
    assert_int_equal(d->period.kind, BR_PERIOD_ROLLING);
    assert_int_equal(d->period.duration_ms, 28 * DAY_MS);
    assert_true(fabs(d->alerting.tiers[0].factor - 0.02 * 28 * 24) < 1e-9);
}

static void test_slo_native_defaults_merge_into_labels(void **state)
{
    (void)state;
    const br_slo_def *d = br_slo_set_find(full, "checkout-availability");
    assert_int_equal(d->n_labels, 2);
    assert_string_equal(kv_get(d->labels, d->n_labels, "team"), "payments");
    assert_string_equal(kv_get(d->labels, d->n_labels, "tier"), "1"); /* SLO wins */
    assert_string_equal(kv_get(d->alerting.labels, d->alerting.n_labels, "owner"), "sre");
    assert_string_equal(kv_get(d->alerting.labels, d->alerting.n_labels, "channel"), "payments");
    assert_string_equal(kv_get(d->alerting.annotations, d->alerting.n_annotations, "summary"),
                        "Checkout is failing");
    assert_string_equal(kv_get(d->alerting.annotations, d->alerting.n_annotations, "runbook_url"),
                        "https://runbooks/default");
    const br_slo_def *other = br_slo_set_find(full, "checkout-probe");
    assert_string_equal(kv_get(other->labels, other->n_labels, "tier"), "2");
}

static void test_slo_native_alerting_settings(void **state)
{
    (void)state;
    const br_slo_def *d = br_slo_set_find(full, "checkout-availability");
    const br_slo_alerting *al = &d->alerting;
    assert_string_equal(al->name, "CheckoutAvailability");
    assert_string_equal(kv_get(al->page_labels, al->n_page_labels, "severity"), "critical");
    assert_string_equal(kv_get(al->page_annotations, al->n_page_annotations, "hint"), "wake");
    assert_false(al->page_disabled);
    assert_true(al->ticket_disabled);
    assert_true(fabs(al->budget_drop_ratio - 0.02) < 1e-12);
    assert_int_equal(al->budget_drop_window_ms, 30 * MINUTE_MS);
    assert_int_equal(al->exhaustion_within_ms, 0);
    assert_int_equal(al->keep_firing_for_ms, 10 * MINUTE_MS);
    assert_string_equal(al->runbook_url, "https://runbooks/checkout");
    /* Another SLO keeps the defaults and gets a generated alert name. */
    const br_slo_def *p = br_slo_set_find(full, "checkout-probe");
    assert_string_equal(p->alerting.name, "CheckoutProbeHighErrorRate");
    assert_true(p->alerting.budget_drop_ratio == 0.05);
    assert_int_equal(p->alerting.exhaustion_within_ms, 7 * DAY_MS);
}

static void test_slo_native_policy_replaces_seed_states(void **state)
{
    (void)state;
    const br_policy *p = &br_slo_set_find(full, "checkout-availability")->policy;
    assert_int_equal(p->n_states, 3);
    assert_string_equal(p->states[0].name, "green");
    assert_true(fabs(p->states[0].min_remaining - 0.6) < 1e-12);
    assert_true(p->states[0].allow_deploy);
    assert_int_equal(p->states[0].n_actions, 1);
    assert_string_equal(p->states[0].actions[0], "ship");
    assert_true(fabs(p->states[1].min_remaining - 0.2) < 1e-12);
    assert_int_equal(p->states[1].n_actions, 0);
    assert_string_equal(p->states[2].name, "red");
    assert_false(p->states[2].allow_deploy);
    assert_true(isinf(p->states[2].min_remaining));
    assert_string_equal(p->states[2].actions[1], "review");
}

static void test_slo_native_classic_latency_and_calendar(void **state)
{
    (void)state;
    const br_slo_def *d = br_slo_set_find(full, "checkout-latency");
    assert_non_null(d);
    assert_true(fabs(d->objective - 0.99) < 1e-12);
    assert_int_equal(d->sli.good.kind, BR_SOURCE_COUNTER);
    assert_string_equal(d->sli.good.expr, "http_request_duration_seconds_bucket{job=\"checkout\"}");
    assert_true(d->sli.good.le == 0.5);
    assert_string_equal(d->sli.total.expr, "http_request_duration_seconds_count{job=\"checkout\"}");
    assert_int_equal(d->n_grouping, 1);
    assert_string_equal(d->grouping[0], "route");
    assert_int_equal(d->period.kind, BR_PERIOD_CALENDAR);
    assert_int_equal(d->period.unit, BR_CAL_MONTH);
    assert_int_equal(d->period.count, 1);
    assert_int_equal(d->period.utc_offset_s, 7200);
    assert_null(d->period.time_zone);
    assert_int_equal(d->period.duration_ms, 30 * DAY_MS);
    /* Explicit tiers replace the workbook's and are not rescaled. */
    assert_int_equal(d->alerting.n_tiers, 2);
    assert_string_equal(d->alerting.tiers[0].name, "page-fast");
    assert_true(d->alerting.tiers[0].factor == 13);
    assert_int_equal(d->alerting.tiers[0].for_ms, 2 * MINUTE_MS);
    assert_string_equal(d->alerting.tiers[1].severity, "ticket");
    assert_int_equal(d->alerting.tiers[1].long_window_ms, DAY_MS);
    assert_int_equal(d->alerting.tiers[1].short_window_ms, 2 * HOUR_MS);
    assert_int_equal(d->alerting.tiers[1].for_ms, 0);
    assert_true(d->alerting.tiers[1].disabled);
    assert_true(d->alerting.budget_drop_ratio == 0);
}

static void test_slo_native_native_histogram_latency(void **state)
{
    (void)state;
    const br_slo_def *d = br_slo_set_find(full, "checkout-latency-native");
    assert_int_equal(d->sli.good.kind, BR_SOURCE_QUERY);
    assert_string_equal(d->sli.good.expr,
                        "histogram_fraction(0, 0.25, sum by (route) "
                        "(rate(http_request_duration_seconds{job=\"checkout\"}[{{.window}}]))) * "
                        "histogram_count(sum by (route) "
                        "(rate(http_request_duration_seconds{job=\"checkout\"}[{{.window}}])))");
    assert_int_equal(d->sli.total.kind, BR_SOURCE_QUERY);
    assert_true(fabs(d->objective - 0.99) < 1e-12);
}

static void test_slo_native_bool_gauge(void **state)
{
    (void)state;
    const br_slo_def *d = br_slo_set_find(full, "checkout-probe");
    assert_int_equal(d->sli.good.kind, BR_SOURCE_BOOL_GAUGE);
    assert_int_equal(d->sli.total.kind, BR_SOURCE_BOOL_GAUGE);
    assert_string_equal(d->sli.good.expr, "probe_success{job=\"blackbox\"}");
    assert_true(fabs(d->objective - 0.995) < 1e-12);
}

static void test_slo_native_query_simplified_to_counter_with_grouping(void **state)
{
    (void)state;
    const br_slo_def *d = br_slo_set_find(full, "checkout-templated");
    assert_int_equal(d->sli.bad.kind, BR_SOURCE_COUNTER);
    assert_string_equal(d->sli.bad.expr, "http_requests_total{code=~\"5..\",job=\"checkout\"}");
    assert_int_equal(d->sli.total.kind, BR_SOURCE_COUNTER);
    assert_int_equal(d->n_grouping, 1);
    assert_string_equal(d->grouping[0], "route");
    assert_int_equal(d->budgeting, BR_BUDGET_RATIO_TIMESLICES);
    assert_int_equal(d->slice_ms, 10 * MINUTE_MS);
}

static void test_slo_native_raw_and_threshold(void **state)
{
    (void)state;
    const br_slo_def *r = br_slo_set_find(full, "checkout-raw");
    assert_int_equal(r->sli.kind, BR_SLI_RAW);
    assert_string_equal(r->sli.query, "1 - avg_over_time(probe_success{job=\"x\"}[{{.window}}])");
    assert_int_equal(r->budgeting, BR_BUDGET_TIMESLICES);
    assert_true(fabs(r->slice_target - 0.95) < 1e-12);
    const br_slo_def *t = br_slo_set_find(full, "checkout-p99");
    assert_int_equal(t->sli.kind, BR_SLI_THRESHOLD);
    assert_int_equal(t->sli.op, BR_OP_LT);
    assert_true(t->sli.threshold == 5.0);
    assert_int_equal(t->budgeting, BR_BUDGET_TIMESLICES); /* implied by threshold */
    assert_int_equal(t->slice_ms, MINUTE_MS);
    assert_int_equal(t->no_data, BR_NO_DATA_BAD);
}

static void test_slo_native_le_spellings_select_same_bucket(void **state)
{
    (void)state;
    const char *text = "slos:\n"
                       "  - service: s\n"
                       "    name: a\n"
                       "    objective: 99%\n"
                       "    sli: {events: {good: 'h_bucket{le=\"0.5\"}', total: h_count}}\n"
                       "  - service: s\n"
                       "    name: b\n"
                       "    objective: 99%\n"
                       "    sli: {events: {good: 'h_bucket{le=\"0.50\"}', total: h_count}}\n";
    br_slo_set *s = st_load_ok(dir, text, 2);
    const br_slo_def *a = br_slo_set_find(s, "s-a");
    const br_slo_def *b = br_slo_set_find(s, "s-b");
    assert_string_equal(a->sli.good.expr, "h_bucket");
    assert_string_equal(a->sli.good.expr, b->sli.good.expr);
    assert_true(a->sli.good.le == 0.5 && b->sli.good.le == 0.5);
    br_slo_set_unref(s);
}

static void test_slo_native_query_that_cannot_be_simplified_stays_query(void **state)
{
    (void)state;
    const char *text = "slos:\n"
                       "  - service: s\n"
                       "    name: q\n"
                       "    objective: 99%\n"
                       "    sli:\n"
                       "      query:\n"
                       "        bad: 'sum(rate(a[{{.window}}])) - sum(rate(b[{{.window}}]))'\n"
                       "        total: 'sum(rate(a[{{.window}}]))'\n";
    br_slo_set *s = st_load_ok(dir, text, 1);
    const br_slo_def *d = br_slo_set_get(s, 0);
    assert_int_equal(d->sli.bad.kind, BR_SOURCE_QUERY);
    assert_string_equal(d->sli.bad.expr, "sum(rate(a[{{.window}}])) - sum(rate(b[{{.window}}]))");
    assert_int_equal(d->sli.total.kind, BR_SOURCE_COUNTER);
    assert_string_equal(d->sli.total.expr, "a");
    assert_int_equal(d->n_grouping, 0);
    br_slo_set_unref(s);
}

static void test_slo_native_empty_slos_list_loads_nothing(void **state)
{
    (void)state;
    br_slo_set *s = st_load_ok(dir, "slos: []\n", 0);
    br_slo_set_unref(s);
}

static void test_slo_native_invalid_files_report_position(void **state)
{
    (void)state;
    assert_true(st_check_invalid_files("native_") >= 25);
}

/* ---------------------------------------------------------------- adjustments */

static br_slo_set *load_example(const char *name)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/examples/slos/%s", st_source_dir(), name);
    br_slo_set *s = br_slo_set_new();
    br_err err;
    br_err_clear(&err);
    int rc = br_slo_load_file(s, path, &err);
    if (rc != 0) {
        char msg[512];
        print_message("%s: %s\n", name, br_err_format(&err, msg, sizeof(msg)));
    }
    assert_int_equal(rc, 0);
    return s;
}

static void test_slo_native_adjustments_shared_inline_and_selected(void **state)
{
    (void)state;
    br_slo_set *s = load_example("adjustments.yml");
    const br_slo_def *d = br_slo_set_find(s, "svc-2-payments-availability");
    assert_non_null(d);
    /* Inline first, then the file-level ones selecting it (labels, id). */
    assert_int_equal(d->n_adjustments, 3);
    assert_string_equal(d->adjustments[0].name, "black-friday-migration");
    assert_int_equal(d->adjustments[0].category, BR_ADJUST_DEPLOYMENT);
    assert_int_equal(d->adjustments[0].duration_ms, 90 * 60 * 1000);
    assert_int_equal(d->adjustments[0].rrule.freq, BR_FREQ_NONE);
    assert_string_equal(d->adjustments[1].name, "db-maintenance");
    assert_int_equal(d->adjustments[1].rrule.freq, BR_FREQ_WEEKLY);
    assert_int_equal(d->adjustments[1].rrule.count, 10);
    assert_non_null(d->adjustments[1].tz);
    /* 02:00 Paris in November (CET, +1h) = 01:00Z on 2026-11-01. */
    assert_int_equal(d->adjustments[1].start_ms, 1793494800000LL);
    assert_string_equal(d->adjustments[2].name, "monthly-patching");
    const br_slo_def *search = br_slo_set_find(s, "svc-1-search-availability");
    assert_int_equal(search->n_adjustments, 2);
    assert_string_equal(search->adjustments[0].name, "db-maintenance");
    assert_int_equal(search->adjustments[1].category, BR_ADJUST_OUTSIDE_BUSINESS_HOURS);
    /* No replay unless asked for. */
    assert_int_equal(d->replay_max_ms, 0);
    br_slo_set_unref(s);
}

static void test_slo_native_composite_components_and_template(void **state)
{
    (void)state;
    br_slo_set *s = load_example("composite.yml");
    const br_slo_def *d = br_slo_set_find(s, "journey-checkout");
    assert_non_null(d);
    assert_int_equal(d->n_components, 2);
    assert_string_equal(d->components[1].slo_id, "svc-2-payments-availability");
    assert_true(d->components[1].weight == 3);
    assert_int_equal(d->sli.kind, BR_SLI_RAW);
    assert_non_null(strstr(d->sli.query, "slo:sli_error:ratio_rate{{.window}}{sloth_id=\"svc-2-payments-availability\"}"));
    br_slo_set_unref(s);
}

static void expect_error(const char *text, int line, int col, const char *msg)
{
    br_slo_set *s = NULL;
    br_err err;
    int rc = st_load_text(dir, "bad.yml", text, &s, &err);
    if (rc == 0 || strstr(err.msg, msg) == NULL || err.line != line || err.col != col) {
        print_message("got %d:%d: %s\n", err.line, err.col, err.msg);
    }
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(err.msg, msg));
    assert_int_equal(err.line, line);
    assert_int_equal(err.col, col);
    br_slo_set_unref(s);
}

#define SLO_HEAD "slos:\n  - service: a\n    name: b\n    objective: 99\n"
#define SLI "    sli: {raw: {error_ratio_query: 'avg_over_time(x[{{.window}}])'}}\n"

/* Replay: off unless asked for; true or a map without max means the
 * period; false turns it off. */
static void test_slo_native_replay_defaults_by_sli_kind(void **state)
{
    (void)state;
    const char *text =
        "slos:\n"
        "  - {service: a, name: events, objective: 99, period: 7d,\n"
        "     sli: {events: {bad: 'e_total{code=\"5\"}', total: 'e_total'}}}\n"
        "  - {service: a, name: raw, objective: 99, period: 7d,\n"
        "     sli: {raw: {error_ratio_query: 'avg_over_time(x[{{.window}}])'}}}\n"
        "  - {service: a, name: raw-on, objective: 99, period: 7d, replay: true,\n"
        "     sli: {raw: {error_ratio_query: 'avg_over_time(x[{{.window}}])'}}}\n"
        "  - {service: a, name: stepped, objective: 99, period: 7d, replay: {step: 5m},\n"
        "     sli: {raw: {error_ratio_query: 'avg_over_time(x[{{.window}}])'}}}\n"
        "  - {service: a, name: off, objective: 99, period: 7d, replay: false,\n"
        "     sli: {events: {bad: 'e_total{code=\"5\"}', total: 'e_total'}}}\n";
    br_slo_set *s = st_load_ok(dir, text, 5);
    assert_int_equal(br_slo_set_find(s, "a-events")->replay_max_ms, 0);
    assert_int_equal(br_slo_set_find(s, "a-raw")->replay_max_ms, 0);
    assert_int_equal(br_slo_set_find(s, "a-raw-on")->replay_max_ms, 7 * DAY_MS);
    assert_int_equal(br_slo_set_find(s, "a-stepped")->replay_max_ms, 7 * DAY_MS);
    assert_int_equal(br_slo_set_find(s, "a-stepped")->replay_step_ms, 5 * 60 * 1000);
    assert_int_equal(br_slo_set_find(s, "a-off")->replay_max_ms, 0);
    br_slo_set_unref(s);
}

static void test_slo_native_adjustment_errors_name_file_line_col(void **state)
{
    (void)state;
    /* The RRULE error points into the string: col of the value + offset. */
    expect_error(SLO_HEAD SLI "    adjustments:\n"
                 "      - {name: m, start: 2026-01-01T00:00:00Z, duration: 1h, "
                 "rrule: \"FREQ=DAILY;BYSETPOS=1\"}\n",
                 7, 81, "unsupported part \"BYSETPOS\"");
    expect_error(SLO_HEAD SLI "    adjustments:\n"
                 "      - {name: m, start: yesterday, duration: 1h}\n",
                 7, 26, "RFC 3339");
    expect_error(SLO_HEAD SLI "    adjustments:\n"
                 "      - {name: m, start: 2026-01-01T00:00:00Z}\n",
                 7, 9, "exactly one of \"duration\" and \"end\"");
    expect_error(SLO_HEAD SLI "    adjustments:\n"
                 "      - nope\n",
                 7, 9, "unknown adjustment \"nope\"");
    expect_error(SLO_HEAD SLI "    adjustments:\n"
                 "      - {name: m, category: holiday, start: 2026-01-01T00:00:00Z, end: "
                 "2026-01-01T01:00:00Z}\n",
                 7, 29, "category must be one of");
}

/* Calendar periods of several units with an anchor date; a bad date or a
 * time of day other than midnight is refused at its position. */
static void test_slo_native_calendar_count_and_start(void **state)
{
    (void)state;
    const char *text = "slos:\n"
                       "  - {service: a, name: fortnight, objective: 99,\n"
                       "     period: {calendar: week, count: 2, start: 2026-01-04},\n"
                       "     sli: {events: {bad: 'e_total{code=\"5\"}', total: 'e_total'}}}\n"
                       "  - {service: a, name: bimonth, objective: 99,\n"
                       "     period: {calendar: month, count: 2},\n"
                       "     sli: {events: {bad: 'e_total{code=\"5\"}', total: 'e_total'}}}\n";
    br_slo_set *s = st_load_ok(dir, text, 2);
    const br_slo_def *f = br_slo_set_find(s, "a-fortnight");
    assert_int_equal(f->period.unit, BR_CAL_WEEK);
    assert_int_equal(f->period.count, 2);
    assert_true(f->period.anchored);
    assert_int_equal(f->period.anchor_day, 20457); /* 2026-01-04 */
    assert_int_equal(f->period.duration_ms, 14 * DAY_MS);
    const br_slo_def *b = br_slo_set_find(s, "a-bimonth");
    assert_false(b->period.anchored);
    assert_int_equal(b->period.duration_ms, 60 * DAY_MS);
    br_slo_set_unref(s);
    expect_error(SLO_HEAD SLI "    period: {calendar: month, start: 2026-02-30}\n", 6, 38,
                 "period.start must be a date");
    expect_error(SLO_HEAD SLI "    period: {calendar: month, start: \"2026-02-01 12:00:00\"}\n", 6,
                 38, "period.start must be a date");
}

static void test_slo_native_composite_errors_name_file_line_col(void **state)
{
    (void)state;
    expect_error(SLO_HEAD "    composite:\n      - slo: nowhere\n", 6, 14,
                 "unknown component SLO \"nowhere\"");
    expect_error(SLO_HEAD SLI "    composite:\n      - slo: x\n", 7, 7,
                 "either \"sli\" or \"composite\"");
    expect_error("slos:\n  - service: a\n    name: b\n    objective: 99\n    period: 7d\n" SLI
                 "  - service: c\n    name: d\n    objective: 99\n"
                 "    composite:\n      - slo: a-b\n",
                 11, 14, "different period");
    expect_error("slos:\n  - service: a\n    name: b\n    objective: 99\n"
                 "    composite: [{slo: a-c}]\n"
                 "  - service: a\n    name: c\n    objective: 99\n"
                 "    composite: [{slo: a-b}]\n",
                 9, 23, "makes a cycle");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slo_native_adjustments_shared_inline_and_selected),
        cmocka_unit_test(test_slo_native_composite_components_and_template),
        cmocka_unit_test(test_slo_native_replay_defaults_by_sli_kind),
        cmocka_unit_test(test_slo_native_adjustment_errors_name_file_line_col),
        cmocka_unit_test(test_slo_native_composite_errors_name_file_line_col),
        cmocka_unit_test(test_slo_native_full_file_loads_every_slo),
        cmocka_unit_test(test_slo_native_events_with_exclusions),
        cmocka_unit_test(test_slo_native_defaults_merge_into_labels),
        cmocka_unit_test(test_slo_native_alerting_settings),
        cmocka_unit_test(test_slo_native_policy_replaces_seed_states),
        cmocka_unit_test(test_slo_native_classic_latency_and_calendar),
        cmocka_unit_test(test_slo_native_calendar_count_and_start),
        cmocka_unit_test(test_slo_native_native_histogram_latency),
        cmocka_unit_test(test_slo_native_bool_gauge),
        cmocka_unit_test(test_slo_native_query_simplified_to_counter_with_grouping),
        cmocka_unit_test(test_slo_native_raw_and_threshold),
        cmocka_unit_test(test_slo_native_le_spellings_select_same_bucket),
        cmocka_unit_test(test_slo_native_query_that_cannot_be_simplified_stays_query),
        cmocka_unit_test(test_slo_native_empty_slos_list_loads_nothing),
        cmocka_unit_test(test_slo_native_invalid_files_report_position),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
