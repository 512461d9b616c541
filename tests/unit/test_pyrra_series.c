/*
 * test_pyrra_series.c — the Pyrra-compatible recorded series: names,
 * labels and values for an ungrouped and a grouped SLO instance, no data,
 * and failed evaluations.
 */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "rules/pyrra_series.h"
#include "rules/slo.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct got {
    char name[64];
    char labels[256]; /* "k=v,k=v" in emitted order */
    double value;
} got;

typedef struct sink {
    got rows[8];
    size_t n;
} sink;

static void emit(void *ctx, const char *name, const br_label *ls, size_t n, double v)
{
    sink *s = ctx;
    assert_true(s->n < 8);
    got *g = &s->rows[s->n++];
    snprintf(g->name, sizeof(g->name), "%s", name);
    size_t off = 0;
    g->labels[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        off += (size_t)snprintf(g->labels + off, sizeof(g->labels) - off, "%s%s=%s",
                                i ? "," : "", ls[i].name, ls[i].value);
    }
    g->value = v;
}

static const got *find(const sink *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->rows[i].name, name) == 0) {
            return &s->rows[i];
        }
    }
    return NULL;
}

static br_slo_def make_def(void)
{
    br_slo_def d;
    memset(&d, 0, sizeof(d));
    d.id = "checkout-availability";
    d.service = "checkout";
    d.name = "availability";
    d.objective = 0.995;
    d.period.duration_ms = 28LL * 24 * 3600 * 1000;
    return d;
}

static br_slo_status make_status(const br_slo_def *d, double bad, double total)
{
    br_slo_status st;
    memset(&st, 0, sizeof(st));
    st.def = d;
    st.instance_id = d->id;
    st.period.bad = bad;
    st.period.total = total;
    st.period.error_ratio = total > 0 ? bad / total : NAN;
    st.no_data = !(total > 0);
    return st;
}

static void test_pyrra_series_records_five_names_with_exact_values(void **state)
{
    (void)state;
    br_slo_def d = make_def();
    br_slo_status st = make_status(&d, 25, 10000);
    sink s = {.n = 0};
    assert_int_equal(br_pyrra_series(&st, emit, &s), 5);
    const got *g = find(&s, "pyrra_objective");
    assert_non_null(g);
    assert_string_equal(g->labels, "slo=checkout-availability,sloth_id=checkout-availability");
    assert_true(g->value == 0.995);
    g = find(&s, "pyrra_window");
    assert_non_null(g);
    assert_true(g->value == 2419200.0);
    g = find(&s, "pyrra_availability");
    assert_non_null(g);
    assert_true(fabs(g->value - 0.9975) < 1e-12);
    g = find(&s, "pyrra_requests_total");
    assert_non_null(g);
    assert_true(g->value == 10000.0);
    g = find(&s, "pyrra_errors_total");
    assert_non_null(g);
    assert_true(g->value == 25.0);
    assert_string_equal(g->labels, "slo=checkout-availability,sloth_id=checkout-availability");
}

static void test_pyrra_series_grouped_instance_carries_grouping_labels(void **state)
{
    (void)state;
    br_slo_def d = make_def();
    br_slo_status st = make_status(&d, 0, 40);
    br_kv group[2] = {{"region", "eu"}, {"route", "/pay"}};
    st.group_labels = group;
    st.n_group_labels = 2;
    sink s = {.n = 0};
    assert_int_equal(br_pyrra_series(&st, emit, &s), 5);
    for (size_t i = 0; i < s.n; i++) {
        assert_string_equal(s.rows[i].labels, "slo=checkout-availability,sloth_id=checkout-availability,region=eu,route=/pay");
    }
    assert_true(find(&s, "pyrra_availability")->value == 1.0);
}

static void test_pyrra_series_no_data_omits_availability(void **state)
{
    (void)state;
    br_slo_def d = make_def();
    br_slo_status st = make_status(&d, 0, 0);
    sink s = {.n = 0};
    assert_int_equal(br_pyrra_series(&st, emit, &s), 4);
    assert_null(find(&s, "pyrra_availability"));
    assert_true(find(&s, "pyrra_requests_total")->value == 0.0);
    assert_true(find(&s, "pyrra_objective")->value == 0.995);
}

static void test_pyrra_series_failed_evaluation_emits_nothing(void **state)
{
    (void)state;
    br_slo_def d = make_def();
    br_slo_status st = make_status(&d, 1, 10);
    st.error = "query failed";
    sink s = {.n = 0};
    assert_int_equal(br_pyrra_series(&st, emit, &s), 0);
    assert_int_equal(s.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pyrra_series_records_five_names_with_exact_values),
        cmocka_unit_test(test_pyrra_series_grouped_instance_carries_grouping_labels),
        cmocka_unit_test(test_pyrra_series_no_data_omits_availability),
        cmocka_unit_test(test_pyrra_series_failed_evaluation_emits_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
