/*
 * slo_test_util.h — helpers shared by the SLO loader tests
 * (test_slo*.c): load YAML text through the real file loader, find the
 * source tree, and run the table of invalid files under
 * tests/data/slos/invalid/.
 *
 * Invalid-file table: each file's first line is
 *   # expect: <line>:<col>: <text the message must contain>
 * (col 0 = not checked). st_check_invalid_files loads every file whose
 * name starts with a prefix and checks the error's file, line, column and
 * message. Header-only, like testutil.h.
 */
#ifndef BR_TESTS_SLO_TEST_UTIL_H
#define BR_TESTS_SLO_TEST_UTIL_H

/* cmocka needs these first, in this order. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "rules/slo.h"
#include "tests/helpers/testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The source tree: $BR_SOURCE_DIR (set by ctest) or derived from this
 * header's path. Returns a static buffer. */
static inline const char *st_source_dir(void)
{
    static char dir[1024];
    const char *env = getenv("BR_SOURCE_DIR");
    if (env != NULL && env[0] != '\0') {
        snprintf(dir, sizeof(dir), "%s", env);
        return dir;
    }
    snprintf(dir, sizeof(dir), "%s", __FILE__);
    char *cut = strstr(dir, "/tests/unit/");
    if (cut != NULL) {
        *cut = '\0';
    } else {
        snprintf(dir, sizeof(dir), ".");
    }
    return dir;
}

/* Writes text to dir/name and loads it into a new set (*out; unref it).
 * Returns the loader's rc; err is cleared first. */
static inline int st_load_text(const char *dir, const char *name, const char *text,
                               br_slo_set **out, br_err *err)
{
    char *path = tu_write_file(dir, name, text);
    assert_non_null(path);
    br_err_clear(err);
    *out = br_slo_set_new();
    int rc = br_slo_load_file(*out, path, err);
    if (rc == 0) { /* as br_slo_load_globs does once every file is loaded */
        rc = br_slo_set_check_composites(*out, err);
    }
    free(path);
    return rc;
}

/* Loads text expecting success and exactly n definitions. */
static inline br_slo_set *st_load_ok(const char *dir, const char *text, size_t n)
{
    br_slo_set *s = NULL;
    br_err err;
    int rc = st_load_text(dir, "ok.yml", text, &s, &err);
    if (rc != 0) {
        char msg[512];
        print_message("unexpected error: %s\n", br_err_format(&err, msg, sizeof(msg)));
    }
    assert_int_equal(rc, 0);
    assert_int_equal(br_slo_set_len(s), n);
    return s;
}

/* Loads text expecting an error at line:col (col 0 = any) whose message
 * contains want. */
static inline void st_load_fails(const char *dir, const char *text, int line, int col,
                                 const char *want)
{
    br_slo_set *s = NULL;
    br_err err;
    int rc = st_load_text(dir, "bad.yml", text, &s, &err);
    char msg[512];
    br_err_format(&err, msg, sizeof(msg));
    if (rc == 0 || err.line != line || (col != 0 && err.col != col) ||
        strstr(err.msg, want) == NULL) {
        print_message("got rc=%d: %s\nwant %d:%d: ...%s...\n", rc, msg, line, col, want);
    }
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(err.file, "bad.yml"));
    assert_int_equal(err.line, line);
    if (col != 0) {
        assert_int_equal(err.col, col);
    }
    assert_non_null(strstr(err.msg, want));
    br_slo_set_unref(s);
}

/* Runs every tests/data/slos/invalid/<prefix>*.yml, printing each
 * mismatch, and fails after the last one; returns how many ran. */
static inline int st_check_invalid_files(const char *prefix)
{
    char dirpath[1200];
    snprintf(dirpath, sizeof(dirpath), "%s/tests/data/slos/invalid", st_source_dir());
    DIR *d = opendir(dirpath);
    assert_non_null(d);
    int count = 0;
    int failed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0) {
            continue;
        }
        char path[1600];
        snprintf(path, sizeof(path), "%s/%s", dirpath, e->d_name);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        char first[512] = "";
        char *got = fgets(first, sizeof(first), f);
        fclose(f);
        assert_non_null(got);
        int line = 0;
        int col = 0;
        int off = 0;
        if (sscanf(first, "# expect: %d:%d: %n", &line, &col, &off) != 2 || off == 0) {
            print_message("%s: first line must be \"# expect: L:C: text\"\n", e->d_name);
            fail();
        }
        char want[512];
        snprintf(want, sizeof(want), "%s", first + off);
        want[strcspn(want, "\n")] = '\0';

        br_slo_set *s = br_slo_set_new();
        br_err err;
        br_err_clear(&err);
        int rc = br_slo_load_file(s, path, &err);
        char msg[512];
        br_err_format(&err, msg, sizeof(msg));
        bool ok = rc != 0 && strstr(err.file, e->d_name) != NULL && err.line == line &&
                  (col == 0 || err.col == col) && strstr(err.msg, want) != NULL;
        if (!ok) {
            print_message("%s: got rc=%d \"%s\"; want %d:%d: ...%s...\n", e->d_name, rc, msg, line,
                          col, want);
        }
        failed += ok ? 0 : 1;
        br_slo_set_unref(s);
        count++;
    }
    closedir(d);
    assert_int_equal(failed, 0);
    return count;
}

#endif
