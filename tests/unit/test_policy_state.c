/*
 * test_policy_state.c — the policy-state store: rows round-trip through the
 * file (escaped ids and names, "none" states, a state named "-"), each row
 * is handed out once, bad lines and unknown files are skipped without
 * losing the good rows, and a save replaces the file whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rules/policy_state.h"
#include "tests/helpers/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *path_in(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static void write_text(const char *dir, const char *text)
{
    char *p = path_in(dir, "policy.state");
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    free(p);
}

static void test_policy_store_round_trips_rows(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("pstore");
    br_policy_store *s = NULL;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_policy_store_open(dir, &s, &err), 0);
    assert_int_equal(br_policy_store_pending(s), 0); /* no file yet */
    br_policy_saved rows[3] = {
        {"api-availability", "caution", "healthy", 1767225600000LL},
        {"web-latency{route=\"/a\tb\n%\"}", "-", NULL, -5},
        {"batch-quality", NULL, "critical", 42},
    };
    assert_int_equal(br_policy_store_save(s, rows, 3, &err), 0);
    br_policy_store_free(s);
    char *tmp = path_in(dir, "policy.state.tmp");
    assert_int_not_equal(access(tmp, F_OK), 0); /* renamed, not left behind */
    free(tmp);

    assert_int_equal(br_policy_store_open(dir, &s, &err), 0);
    assert_int_equal(br_policy_store_pending(s), 3);
    br_policy_saved *r = br_policy_store_take(s, rows[1].instance_id);
    assert_non_null(r);
    assert_string_equal(r->instance_id, rows[1].instance_id);
    assert_string_equal(r->state, "-"); /* a state named "-" is not "none" */
    assert_null(r->prev_state);
    assert_true(r->since_ms == -5);
    br_policy_saved_free(r);
    assert_null(br_policy_store_take(s, rows[1].instance_id)); /* handed out once */
    r = br_policy_store_take(s, "batch-quality");
    assert_null(r->state);
    assert_string_equal(r->prev_state, "critical");
    br_policy_saved_free(r);
    r = br_policy_store_take(s, "api-availability");
    assert_string_equal(r->state, "caution");
    assert_string_equal(r->prev_state, "healthy");
    assert_true(r->since_ms == 1767225600000LL);
    br_policy_saved_free(r);
    assert_null(br_policy_store_take(s, "nowhere"));
    assert_int_equal(br_policy_store_pending(s), 0);
    br_policy_store_free(s);
    tu_rmtree(dir);
    free(dir);
}

static void test_policy_store_skips_bad_lines_and_unknown_files(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("pstore-bad");
    write_text(dir, "burnrate-policy-state 1\n"
                    "100\thealthy\t-\tgood-one\n"
                    "not-a-number\thealthy\t-\tbad-since\n"
                    "200\thealthy\t-\n"               /* three fields */
                    "300\t\t-\tempty-state\n"         /* empty state field */
                    "400\thealthy\t-\tbad%zzescape\n" /* bad escape */
                    "500\thealthy\t-\tnul%00byte\n"   /* escape of NUL */
                    "600\tcaution\thealthy\tgood-two\n"
                    "700\thealthy\t-\ttorn-last-line");
    br_policy_store *s = NULL;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_policy_store_open(dir, &s, &err), 0);
    assert_int_equal(br_policy_store_pending(s), 2);
    br_policy_saved *r = br_policy_store_take(s, "good-two");
    assert_non_null(r);
    assert_true(r->since_ms == 600);
    br_policy_saved_free(r);
    assert_null(br_policy_store_take(s, "torn-last-line"));
    br_policy_store_free(s);

    write_text(dir, "some other format 7\n100\thealthy\t-\tx\n");
    assert_int_equal(br_policy_store_open(dir, &s, &err), 0);
    assert_int_equal(br_policy_store_pending(s), 0);
    br_policy_store_free(s);
    tu_rmtree(dir);
    free(dir);
}

static void test_policy_store_open_fails_on_unusable_dir(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("pstore-file");
    char *file = path_in(dir, "plain-file");
    FILE *f = fopen(file, "w");
    fclose(f);
    char *under = path_in(file, "evaluator"); /* a directory under a file */
    br_policy_store *s = NULL;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_policy_store_open(under, &s, &err), BR_EIO);
    assert_null(s);
    assert_non_null(strstr(err.msg, "cannot create"));
    free(under);
    free(file);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_store_round_trips_rows),
        cmocka_unit_test(test_policy_store_skips_bad_lines_and_unknown_files),
        cmocka_unit_test(test_policy_store_open_fails_on_unusable_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
