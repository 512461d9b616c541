/*
 * test_annotations.c — the annotation store: add/query/delete, filters
 * (time range, tags, kind, SLO match), persistence across reopen, and
 * recovery from a torn tail.
 */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "api/annotations.h"
#include "tests/helpers/testutil.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir;

static int setup(void **state)
{
    (void)state;
    dir = tu_mkdtemp("annotations");
    return dir ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(dir);
    free(dir);
    return 0;
}

static br_annotations *open_store(void)
{
    br_err err;
    br_err_clear(&err);
    br_annotations *a = br_annotations_open(dir, &err);
    assert_non_null(a);
    return a;
}

static uint64_t add(br_annotations *a, int64_t t, const char *slo, const char *kind,
                    const char *title, const char *tag)
{
    const char *tags[1] = {tag};
    br_annotation in = {.time_ms = t, .slo = slo, .kind = kind, .title = title,
                        .tags = tags, .n_tags = tag ? 1 : 0, .author = "test"};
    br_err err;
    br_err_clear(&err);
    uint64_t id = 0;
    assert_int_equal(br_annotations_add(a, &in, &id, &err), 0);
    return id;
}

static size_t query_all(br_annotations *a, br_annotation_query *q, br_arena *ar,
                        br_annotation **out)
{
    return br_annotations_query(a, q, ar, out);
}

static void test_annotations_add_query_delete(void **state)
{
    (void)state;
    br_annotations *a = open_store();
    uint64_t id1 = add(a, 1000, "svc-avail", "deploy", "v1.2", "release");
    uint64_t id2 = add(a, 2000, "svc-avail", "incident", "outage", NULL);
    assert_int_equal(id1, 1);
    assert_int_equal(id2, 2);
    br_arena ar;
    br_arena_init(&ar, 4096, 0);
    br_annotation *res = NULL;
    br_annotation_query q = {.start_ms = INT64_MIN, .end_ms = INT64_MAX};
    assert_int_equal(query_all(a, &q, &ar, &res), 2);
    assert_string_equal(res[0].title, "v1.2");
    assert_string_equal(res[0].kind, "deploy");
    assert_string_equal(res[0].tags[0], "release");
    assert_int_equal(res[1].time_ms, 2000);
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_annotations_delete(a, id1, &err), 0);
    assert_int_equal(br_annotations_delete(a, id1, &err), BR_ENOTFOUND);
    assert_int_equal(query_all(a, &q, &ar, &res), 1);
    assert_int_equal(res[0].id, id2);
    br_arena_free(&ar);
    br_annotations_close(a);
}

static void test_annotations_rejects_bad_kind_and_empty_text(void **state)
{
    (void)state;
    br_annotations *a = open_store();
    br_err err;
    br_err_clear(&err);
    br_annotation bad = {.time_ms = 1, .kind = "party", .title = "x"};
    assert_int_equal(br_annotations_add(a, &bad, NULL, &err), BR_EINVAL);
    assert_non_null(strstr(err.msg, "party"));
    br_annotation empty = {.time_ms = 1, .kind = "note"};
    assert_int_equal(br_annotations_add(a, &empty, NULL, &err), BR_EINVAL);
    br_annotation backwards = {.time_ms = 10, .end_ms = 5, .kind = "note", .title = "x"};
    assert_int_equal(br_annotations_add(a, &backwards, NULL, &err), BR_EINVAL);
    assert_int_equal(br_annotations_count(a), 0);
    br_annotations_close(a);
}

static bool match_service_selector(void *ctx, const char *annotation_slo)
{
    (void)ctx;
    return strcmp(annotation_slo, "{service=\"svc\"}") == 0;
}

static void test_annotations_filters_by_time_tags_kind_and_slo(void **state)
{
    (void)state;
    br_annotations *a = open_store();
    add(a, 1000, "svc-avail", "deploy", "a", "blue");
    add(a, 5000, "svc-latency", "deploy", "b", "green");
    add(a, 9000, "{service=\"svc\"}", "note", "c", "blue");
    add(a, 9500, "other-avail", "note", "d", NULL);
    br_arena ar;
    br_arena_init(&ar, 4096, 0);
    br_annotation *res = NULL;
    br_annotation_query q = {.start_ms = 4000, .end_ms = 9200};
    assert_int_equal(query_all(a, &q, &ar, &res), 2);
    assert_string_equal(res[0].title, "b");
    assert_string_equal(res[1].title, "c");
    const char *tags[] = {"blue"};
    br_annotation_query qt = {.start_ms = INT64_MIN, .end_ms = INT64_MAX, .tags = tags, .n_tags = 1};
    assert_int_equal(query_all(a, &qt, &ar, &res), 2);
    assert_string_equal(res[1].title, "c");
    br_annotation_query qk = {.start_ms = INT64_MIN, .end_ms = INT64_MAX, .kind = "note"};
    assert_int_equal(query_all(a, &qk, &ar, &res), 2);
    br_annotation_query qs = {.start_ms = INT64_MIN, .end_ms = INT64_MAX, .slo = "svc-avail",
                              .match = match_service_selector};
    assert_int_equal(query_all(a, &qs, &ar, &res), 2);
    assert_string_equal(res[0].title, "a");
    assert_string_equal(res[1].title, "c");
    br_annotation_query ql = {.start_ms = INT64_MIN, .end_ms = INT64_MAX, .limit = 1};
    assert_int_equal(query_all(a, &ql, &ar, &res), 1);
    assert_string_equal(res[0].title, "d");
    br_arena_free(&ar);
    br_annotations_close(a);
}

static void test_annotations_survive_reopen_and_ids_are_not_reused(void **state)
{
    (void)state;
    br_annotations *a = open_store();
    add(a, 1000, "s", "deploy", "one", "x");
    uint64_t id2 = add(a, 2000, "s", "note", "two", NULL);
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_annotations_delete(a, id2, &err), 0);
    br_annotations_close(a);

    a = open_store();
    assert_int_equal(br_annotations_count(a), 1);
    br_arena ar;
    br_arena_init(&ar, 4096, 0);
    br_annotation *res = NULL;
    br_annotation_query q = {.start_ms = INT64_MIN, .end_ms = INT64_MAX};
    assert_int_equal(query_all(a, &q, &ar, &res), 1);
    assert_string_equal(res[0].title, "one");
    assert_string_equal(res[0].author, "test");
    assert_int_equal(add(a, 3000, "s", "note", "three", NULL), 3);
    br_arena_free(&ar);
    br_annotations_close(a);
}

static void test_annotations_replay_truncates_torn_tail(void **state)
{
    (void)state;
    br_annotations *a = open_store();
    add(a, 1000, "s", "deploy", "kept", NULL);
    add(a, 2000, "s", "deploy", "torn", NULL);
    br_annotations_close(a);
    char path[600];
    snprintf(path, sizeof(path), "%s/annotations.log", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    /* Cut the last record in half, as a crash during the append would. */
    assert_int_equal(truncate(path, st.st_size - 20), 0);
    a = open_store();
    assert_int_equal(br_annotations_count(a), 1);
    /* The file was cut back to the good record, so new appends replay. */
    add(a, 3000, "s", "note", "after", NULL);
    br_annotations_close(a);
    a = open_store();
    assert_int_equal(br_annotations_count(a), 2);
    br_arena ar;
    br_arena_init(&ar, 4096, 0);
    br_annotation *res = NULL;
    br_annotation_query q = {.start_ms = INT64_MIN, .end_ms = INT64_MAX};
    assert_int_equal(query_all(a, &q, &ar, &res), 2);
    assert_string_equal(res[0].title, "kept");
    assert_string_equal(res[1].title, "after");
    br_arena_free(&ar);
    br_annotations_close(a);
}

static void test_annotations_replay_stops_at_corrupt_crc(void **state)
{
    (void)state;
    br_annotations *a = open_store();
    add(a, 1000, "s", "deploy", "good", NULL);
    add(a, 2000, "s", "deploy", "flipped", NULL);
    br_annotations_close(a);
    char path[600];
    snprintf(path, sizeof(path), "%s/annotations.log", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    char c = 0;
    assert_int_equal(pread(fd, &c, 1, st.st_size - 5), 1);
    c ^= 0x20;
    assert_int_equal(pwrite(fd, &c, 1, st.st_size - 5), 1);
    close(fd);
    a = open_store();
    assert_int_equal(br_annotations_count(a), 1);
    br_annotations_close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_annotations_add_query_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_annotations_rejects_bad_kind_and_empty_text, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_annotations_filters_by_time_tags_kind_and_slo, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_annotations_survive_reopen_and_ids_are_not_reused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_annotations_replay_truncates_torn_tail, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_annotations_replay_stops_at_corrupt_crc, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
