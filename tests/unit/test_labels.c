/*
 * test_labels.c — unit tests for storage/labels: the raw and interned
 * hashes agree, equality, lookup, Prometheus ordering, and text formatting
 * with escapes.
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
#include "engine/core/buf.h"
#include "engine/core/err.h"
#include "storage/labels.h"

#include <string.h>

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static void test_labels_hash_raw_equals_interned_hash(void **state)
{
    (void)state;
    br_symtab *sym = br_symtab_new();
    const br_label raw[] = {{"__name__", "up"}, {"instance", "a:9090"}, {"job", "node"}};
    br_labels *ls = br_labels_new(sym, raw, N_OF(raw));
    assert_true(br_labels_hash(ls) == br_labels_hash_raw(raw, N_OF(raw)));
    /* moving a byte between name and value changes the hash: the 0xff
     * separators keep pairs apart */
    const br_label shifted[] = {{"__name__", "up"}, {"instance", "a:9090"}, {"jo", "bnode"}};
    assert_true(br_labels_hash_raw(shifted, N_OF(shifted)) != br_labels_hash(ls));
    const br_label other[] = {{"__name__", "up"}, {"instance", "b:9090"}, {"job", "node"}};
    assert_true(br_labels_hash_raw(other, N_OF(other)) != br_labels_hash(ls));
    assert_true(br_labels_hash_raw(NULL, 0) == br_labels_hash_raw(raw, 0));
    br_labels_free(sym, ls);
    br_symtab_free(sym);
}

static void test_labels_hash_of_large_set_uses_same_bytes(void **state)
{
    (void)state;
    br_symtab *sym = br_symtab_new();
    static char big[3000];
    memset(big, 'v', sizeof(big) - 1);
    const br_label raw[] = {{"a", big}, {"b", "x"}};
    br_labels *ls = br_labels_new(sym, raw, N_OF(raw));
    assert_true(br_labels_hash(ls) == br_labels_hash_raw(raw, N_OF(raw)));
    br_labels_free(sym, ls);
    br_symtab_free(sym);
}

static void test_labels_equal_raw_compares_every_pair(void **state)
{
    (void)state;
    br_symtab *sym = br_symtab_new();
    const br_label raw[] = {{"__name__", "up"}, {"job", "node"}};
    const br_label diff_value[] = {{"__name__", "up"}, {"job", "nodes"}};
    const br_label fewer[] = {{"__name__", "up"}};
    br_labels *ls = br_labels_new(sym, raw, N_OF(raw));
    assert_true(br_labels_equal_raw(ls, raw, 2));
    assert_false(br_labels_equal_raw(ls, diff_value, 2));
    assert_false(br_labels_equal_raw(ls, fewer, 1));
    br_labels *same = br_labels_new(sym, raw, N_OF(raw));
    br_labels *other = br_labels_new(sym, diff_value, N_OF(diff_value));
    assert_true(br_labels_equal(ls, same));
    assert_false(br_labels_equal(ls, other));
    /* both sets share the interned strings */
    assert_ptr_equal(br_labels_at(ls, 1)->value, br_labels_at(same, 1)->value);
    br_labels_free(sym, ls);
    br_labels_free(sym, same);
    br_labels_free(sym, other);
    br_symtab_free(sym);
}

static void test_labels_get_finds_value_by_name(void **state)
{
    (void)state;
    br_symtab *sym = br_symtab_new();
    const br_label raw[] = {{"__name__", "up"}, {"code", "200"}, {"job", "node"}, {"zone", "b"}};
    br_labels *ls = br_labels_new(sym, raw, N_OF(raw));
    assert_string_equal(br_labels_get(ls, "__name__"), "up");
    assert_string_equal(br_labels_get(ls, "job"), "node");
    assert_string_equal(br_labels_get(ls, "zone"), "b");
    assert_null(br_labels_get(ls, "instance"));
    assert_null(br_labels_get(ls, ""));
    assert_int_equal(br_labels_count(ls), 4);
    assert_string_equal(br_labels_at(ls, 1)->name, "code");
    assert_string_equal(br_labels_pairs(ls)[3].value, "b");
    br_labels_free(sym, ls);
    br_symtab_free(sym);
}

static void test_labels_cmp_follows_prometheus_order(void **state)
{
    (void)state;
    br_symtab *sym = br_symtab_new();
    /* expected ascending order */
    const br_label s0[] = {{"a", "1"}};
    const br_label s1[] = {{"a", "1"}, {"b", "1"}}; /* prefix set sorts first */
    const br_label s2[] = {{"a", "1"}, {"c", "0"}}; /* name decides before value */
    const br_label s3[] = {{"a", "2"}};
    const br_label s4[] = {{"b", "0"}};
    const br_label *sets[] = {s0, s1, s2, s3, s4};
    const size_t lens[] = {1, 2, 2, 1, 1};
    br_labels *ls[5];
    for (int i = 0; i < 5; i++) {
        ls[i] = br_labels_new(sym, sets[i], lens[i]);
    }
    br_labels *empty = br_labels_new(sym, NULL, 0);
    for (int i = 0; i < 5; i++) {
        for (int j = 0; j < 5; j++) {
            int c = br_labels_cmp(ls[i], ls[j]);
            if (i < j) {
                assert_true(c < 0);
            } else if (i > j) {
                assert_true(c > 0);
            } else {
                assert_int_equal(c, 0);
            }
        }
        assert_true(br_labels_cmp(empty, ls[i]) < 0);
    }
    for (int i = 0; i < 5; i++) {
        br_labels_free(sym, ls[i]);
    }
    br_labels_free(sym, empty);
    br_symtab_free(sym);
}

static void test_labels_format_escapes_values(void **state)
{
    (void)state;
    br_symtab *sym = br_symtab_new();
    const br_label raw[] = {{"__name__", "x"}, {"job", "y"}, {"path", "C:\\tmp \"q\"\nnext\tTab"}};
    br_labels *ls = br_labels_new(sym, raw, N_OF(raw));
    br_buf b;
    br_buf_init(&b, 0);
    assert_int_equal(br_labels_format(ls, &b), 0);
    assert_string_equal(br_buf_str(&b),
                        "{__name__=\"x\", job=\"y\", path=\"C:\\\\tmp \\\"q\\\"\\nnext\tTab\"}");
    br_buf_reset(&b);
    br_labels *empty = br_labels_new(sym, NULL, 0);
    assert_int_equal(br_labels_format(empty, &b), 0);
    assert_string_equal(br_buf_str(&b), "{}");
    br_buf_free(&b);
    br_buf_init(&b, 10);
    assert_int_equal(br_labels_format(ls, &b), BR_ELIMIT);
    br_buf_free(&b);
    br_labels_free(sym, ls);
    br_labels_free(sym, empty);
    br_symtab_free(sym);
}

static void test_labels_free_releases_interned_strings(void **state)
{
    (void)state;
    br_symtab *sym = br_symtab_new();
    const br_label raw[] = {{"job", "node"}, {"zone", "node"}};
    br_labels *ls = br_labels_new(sym, raw, N_OF(raw));
    br_labels *dup = br_labels_dup(sym, ls);
    br_symtab_stats st;
    br_symtab_stats_get(sym, &st);
    assert_int_equal(st.strings, 3); /* "node" once */
    assert_int_equal(br_symtab_refs(sym, br_labels_get(ls, "job")), 4);
    assert_true(br_labels_equal(ls, dup));
    assert_true(br_labels_hash(dup) == br_labels_hash(ls));
    br_labels_free(sym, ls);
    assert_string_equal(br_labels_get(dup, "zone"), "node");
    br_labels_free(sym, dup);
    br_symtab_stats_get(sym, &st);
    assert_int_equal(st.strings, 0);
    br_labels_free(sym, NULL);
    br_symtab_free(sym);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels_hash_raw_equals_interned_hash),
        cmocka_unit_test(test_labels_hash_of_large_set_uses_same_bytes),
        cmocka_unit_test(test_labels_equal_raw_compares_every_pair),
        cmocka_unit_test(test_labels_get_finds_value_by_name),
        cmocka_unit_test(test_labels_cmp_follows_prometheus_order),
        cmocka_unit_test(test_labels_format_escapes_values),
        cmocka_unit_test(test_labels_free_releases_interned_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
