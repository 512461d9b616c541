/*
 * test_symtab.c — unit tests for storage/symtab: one copy per distinct
 * string, reference counting down to free, and interning from several
 * threads at once.
 */
/* cmocka needs these first, in this order. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "engine/core/alloc.h"
#include "storage/symtab.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static void test_symtab_intern_returns_one_copy_per_string(void **state)
{
    (void)state;
    br_symtab *s = br_symtab_new();
    char buf[8];
    memcpy(buf, "job", 4);
    const char *a = br_symtab_intern(s, "job", 3);
    const char *b = br_symtab_intern(s, buf, 3);
    const char *c = br_symtab_intern(s, "jobx", 3); /* only len bytes count */
    const char *d = br_symtab_intern(s, "instance", 8);
    assert_ptr_equal(a, b);
    assert_ptr_equal(a, c);
    assert_ptr_not_equal(a, buf);
    assert_ptr_not_equal(a, d);
    assert_string_equal(a, "job");
    assert_int_equal(br_symtab_len(a), 3);
    assert_int_equal(br_symtab_refs(s, a), 3);
    br_symtab_stats st;
    br_symtab_stats_get(s, &st);
    assert_int_equal(st.strings, 2);
    br_symtab_free(s);
}

static void test_symtab_release_frees_string_at_zero_refs(void **state)
{
    (void)state;
    br_symtab *s = br_symtab_new();
    br_symtab_stats empty;
    br_symtab_stats_get(s, &empty);
    const char *a = br_symtab_intern(s, "http_requests_total", 19);
    br_symtab_retain(s, a);
    assert_int_equal(br_symtab_refs(s, a), 2);
    br_symtab_stats st;
    br_symtab_stats_get(s, &st);
    assert_int_equal(st.strings, 1);
    assert_true(st.bytes > empty.bytes + 19);
    br_symtab_release(s, a);
    assert_int_equal(br_symtab_refs(s, a), 1);
    br_symtab_release(s, a); /* freed now; ASan would flag any later use */
    br_symtab_stats_get(s, &st);
    assert_int_equal(st.strings, 0);
    assert_int_equal(st.bytes, empty.bytes);
    br_symtab_release(s, NULL);
    const char *again = br_symtab_intern(s, "http_requests_total", 19);
    assert_string_equal(again, "http_requests_total");
    assert_int_equal(br_symtab_refs(s, again), 1);
    br_symtab_release(s, again);
    br_symtab_free(s);
}

static void test_symtab_handles_empty_and_binary_strings(void **state)
{
    (void)state;
    br_symtab *s = br_symtab_new();
    const char *e1 = br_symtab_intern(s, "", 0);
    const char *e2 = br_symtab_intern(s, NULL, 0);
    assert_ptr_equal(e1, e2);
    assert_string_equal(e1, "");
    const char raw[] = {'a', (char)0xff, 'b'};
    const char *r = br_symtab_intern(s, raw, sizeof(raw));
    assert_int_equal(br_symtab_len(r), 3);
    assert_memory_equal(r, raw, 3);
    assert_int_equal(r[3], '\0');
    assert_ptr_not_equal(r, br_symtab_intern(s, "a", 1));
    br_symtab_free(s); /* frees what is still referenced */
}

static void test_symtab_grows_buckets_and_keeps_strings(void **state)
{
    (void)state;
    br_symtab *s = br_symtab_new();
    enum { N = 20000 };
    static const char *got[N];
    char buf[32];
    for (int i = 0; i < N; i++) {
        int len = snprintf(buf, sizeof(buf), "value-%d", i);
        got[i] = br_symtab_intern(s, buf, (size_t)len);
    }
    for (int i = 0; i < N; i++) {
        int len = snprintf(buf, sizeof(buf), "value-%d", i);
        assert_ptr_equal(br_symtab_intern(s, buf, (size_t)len), got[i]);
        assert_string_equal(got[i], buf);
    }
    br_symtab_stats st;
    br_symtab_stats_get(s, &st);
    assert_int_equal(st.strings, N);
    for (int i = 0; i < N; i++) {
        br_symtab_release(s, got[i]);
        br_symtab_release(s, got[i]);
    }
    br_symtab_stats_get(s, &st);
    assert_int_equal(st.strings, 0);
    br_symtab_free(s);
}

enum { THREADS = 4, WORDS = 2000, ROUNDS = 5 };

struct worker {
    br_symtab *s;
    int id;
    const char *got[WORDS];
};

static void *intern_worker(void *arg)
{
    struct worker *w = arg;
    char buf[32];
    for (int r = 0; r < ROUNDS; r++) {
        for (int k = 0; k < WORDS; k++) {
            /* each thread walks the words in its own order */
            int i = (k * 7 + w->id * 13 + r) % WORDS;
            int len = snprintf(buf, sizeof(buf), "pod-%d", i);
            const char *p = br_symtab_intern(w->s, buf, (size_t)len);
            if (r == 0) {
                w->got[i] = p;
            } else if (w->got[i] != p) {
                w->got[i] = NULL; /* pointer changed: reported below */
            }
            if (r > 0) {
                br_symtab_release(w->s, p); /* keep one ref per thread */
            }
        }
    }
    return NULL;
}

static void test_symtab_concurrent_interning_from_four_threads(void **state)
{
    (void)state;
    br_symtab *s = br_symtab_new();
    static struct worker w[THREADS];
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) {
        w[t].s = s;
        w[t].id = t;
        assert_int_equal(pthread_create(&th[t], NULL, intern_worker, &w[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
    }
    char buf[32];
    for (int i = 0; i < WORDS; i++) {
        snprintf(buf, sizeof(buf), "pod-%d", i);
        for (int t = 0; t < THREADS; t++) {
            assert_non_null(w[t].got[i]);
            assert_ptr_equal(w[t].got[i], w[0].got[i]);
        }
        assert_string_equal(w[0].got[i], buf);
        assert_int_equal(br_symtab_refs(s, w[0].got[i]), THREADS);
    }
    br_symtab_stats st;
    br_symtab_stats_get(s, &st);
    assert_int_equal(st.strings, WORDS);
    for (int t = 0; t < THREADS; t++) {
        for (int i = 0; i < WORDS; i++) {
            br_symtab_release(s, w[t].got[i]);
        }
    }
    br_symtab_stats_get(s, &st);
    assert_int_equal(st.strings, 0);
    br_symtab_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_symtab_intern_returns_one_copy_per_string),
        cmocka_unit_test(test_symtab_release_frees_string_at_zero_refs),
        cmocka_unit_test(test_symtab_handles_empty_and_binary_strings),
        cmocka_unit_test(test_symtab_grows_buckets_and_keeps_strings),
        cmocka_unit_test(test_symtab_concurrent_interning_from_four_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
