/*
 * test_cli_check.c — `burnrate check`, a public command: a main config is
 * validated together with the SLO files it names, an SLO file of any
 * format on its own; a bad file gives file:line:col and exit 1; no file
 * is a usage error (exit 2).
 */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
/* clang-format on */

#include "tests/helpers/peer.h"

#include <stdio.h>
#include <stdlib.h>

/* Runs `burnrate check args` in the source dir; returns the exit code and
 * the combined output in out. */
static int run_check(const char *args, char *out, size_t size)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "cd '%s' && '%s' check %s 2>&1", getenv("BR_SOURCE_DIR"),
             getenv("BURNRATE_BIN"), args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_check_config_loads_its_slo_files(void **state)
{
    (void)state;
    char out[16384];
    assert_int_equal(run_check("examples/burnrate.yml", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "OK: examples/burnrate.yml is a valid burnrate configuration"));
    assert_non_null(strstr(out, "svc-0-availability"));
    assert_non_null(strstr(out, "sloth"));
    assert_non_null(strstr(out, "pyrra"));
    assert_non_null(strstr(out, "openslo"));
}

static void test_check_slo_files_of_each_format(void **state)
{
    (void)state;
    char out[16384];
    assert_int_equal(run_check("examples/slos/availability.yml examples/slos/sloth/svc-1.yml "
                               "examples/slos/pyrra/svc-2-latency.yml "
                               "examples/slos/openslo/svc-2.yml",
                               out, sizeof(out)),
                     0);
    assert_non_null(strstr(out, "OK: examples/slos/sloth/svc-1.yml defines 2 SLO(s)"));
    assert_non_null(strstr(out, "OK: examples/slos/openslo/svc-2.yml defines"));
}

static void test_check_bad_file_names_position_and_fails(void **state)
{
    (void)state;
    char out[16384];
    assert_int_equal(run_check("examples/slos/availability.yml "
                               "tests/data/slos/invalid/native_bad_objective.yml",
                               out, sizeof(out)),
                     1);
    assert_non_null(strstr(out, "FAILED: tests/data/slos/invalid/native_bad_objective.yml:5:16: "));
    assert_non_null(strstr(out, "OK: examples/slos/availability.yml"));
}

static void test_check_without_files_is_usage_error(void **state)
{
    (void)state;
    char out[4096];
    assert_int_equal(run_check("", out, sizeof(out)), 2);
}

/* `burnrate generate` on the repository's examples: promtool accepts the
 * rules (skipped without promtool). */
static void test_generate_examples_pass_promtool(void **state)
{
    (void)state;
    if (system("command -v promtool >/dev/null 2>&1") != 0) {
        skip();
    }
    char *dir = tu_mkdtemp("gen-check");
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && '%s' generate --slos 'examples/slos/*.yml' --slos 'examples/slos/*/*.yml' "
             "--out '%s/rules.yml' && promtool check rules '%s/rules.yml' 2>&1",
             getenv("BR_SOURCE_DIR"), getenv("BURNRATE_BIN"), dir, dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char out[16384];
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "%s\n", out);
    }
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_non_null(strstr(out, "SUCCESS"));
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    if (getenv("BURNRATE_BIN") == NULL || getenv("BR_SOURCE_DIR") == NULL) {
        fprintf(stderr, "needs BURNRATE_BIN and BR_SOURCE_DIR\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_config_loads_its_slo_files),
        cmocka_unit_test(test_check_slo_files_of_each_format),
        cmocka_unit_test(test_check_bad_file_names_position_and_fails),
        cmocka_unit_test(test_check_without_files_is_usage_error),
        cmocka_unit_test(test_generate_examples_pass_promtool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
