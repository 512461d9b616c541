/*
 * test_postings.c — unit tests for storage/postings: the set operations
 * against naive versions, selection against a naive scan over random
 * (seeded) label sets and matcher combinations, out-of-order insertion,
 * removal, the empty-matcher rule and label listings. One test measures
 * (prints, does not assert) a selection over 100k series.
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
#include "engine/core/err.h"
#include "storage/labels.h"
#include "storage/matcher.h"
#include "storage/postings.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static size_t rndn(size_t n)
{
    return (size_t)(rnd() % n);
}

/* A random sorted, duplicate-free list of about n refs below max. */
static void random_list(br_refs *r, size_t n, uint64_t max)
{
    uint8_t *seen = br_calloc(max, 1);
    for (size_t i = 0; i < n; i++) {
        seen[rnd() % max] = 1;
    }
    r->n = 0;
    for (uint64_t v = 0; v < max; v++) {
        if (seen[v]) {
            br_refs_push(r, v);
        }
    }
    br_free(seen);
}

static bool has(const br_refs *r, br_series_ref x)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i] == x) {
            return true;
        }
    }
    return false;
}

static void test_postings_set_operations_equal_naive(void **state)
{
    (void)state;
    rng_state = 0x1234567;
    const size_t sizes[][2] = {{0, 10}, {10, 0}, {50, 50}, {5, 3000}, {3000, 5}, {400, 900}};
    for (size_t c = 0; c < N_OF(sizes); c++) {
        br_refs a = {0};
        br_refs b = {0};
        br_refs out = {0};
        random_list(&a, sizes[c][0], 5000);
        random_list(&b, sizes[c][1], 5000);
        br_postings_intersect(a.v, a.n, b.v, b.n, &out);
        size_t k = 0;
        for (size_t i = 0; i < a.n; i++) {
            if (has(&b, a.v[i])) {
                assert_true(k < out.n);
                assert_true(out.v[k++] == a.v[i]);
            }
        }
        assert_int_equal(k, out.n);
        br_postings_without(a.v, a.n, b.v, b.n, &out);
        k = 0;
        for (size_t i = 0; i < a.n; i++) {
            if (!has(&b, a.v[i])) {
                assert_true(k < out.n);
                assert_true(out.v[k++] == a.v[i]);
            }
        }
        assert_int_equal(k, out.n);
        br_refs_free(&a);
        br_refs_free(&b);
        br_refs_free(&out);
    }
}

static void test_postings_union_of_k_lists_equals_naive(void **state)
{
    (void)state;
    rng_state = 0xabcdef;
    for (size_t k = 0; k <= 9; k++) {
        br_refs lists[9];
        br_postings_list views[9];
        uint8_t want[4000] = {0};
        for (size_t i = 0; i < k; i++) {
            br_refs_init(&lists[i]);
            random_list(&lists[i], i == 3 ? 0 : rndn(600), 4000);
            views[i].v = lists[i].v;
            views[i].n = lists[i].n;
            for (size_t j = 0; j < lists[i].n; j++) {
                want[lists[i].v[j]] = 1;
            }
        }
        br_refs out = {0};
        br_postings_union(views, k, &out);
        size_t p = 0;
        for (uint64_t v = 0; v < 4000; v++) {
            if (want[v]) {
                assert_true(p < out.n);
                assert_true(out.v[p++] == v);
            }
        }
        assert_int_equal(p, out.n);
        br_refs_free(&out);
        for (size_t i = 0; i < k; i++) {
            br_refs_free(&lists[i]);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* A random store and a naive reference                                      */
/* ------------------------------------------------------------------------ */

struct store {
    br_symtab *sym;
    br_index *idx;
    size_t n;
    br_series_ref *refs;
    br_labels **ls; /* NULL once removed */
};

static const char *const NAMES[] = {"m_a", "m_b", "http_requests_total", "up"};
static const char *const JOBS[] = {"api", "web", "db", "batch"};
static const char *const CODES[] = {"200", "404", "500", "503"};
static const char *const ENVS[] = {"prod", "dev", "a.b", "x|y"};

static void store_build(struct store *s, size_t n, bool shuffle)
{
    s->sym = br_symtab_new();
    s->idx = br_index_new();
    s->n = n;
    s->refs = br_malloc(n * sizeof(*s->refs));
    s->ls = br_malloc(n * sizeof(*s->ls));
    for (size_t i = 0; i < n; i++) {
        s->refs[i] = 1 + i * 3; /* sparse, like refs of a head after churn */
    }
    if (shuffle) {
        /* mostly increasing: swap neighbours within a small window */
        for (size_t i = 0; i + 1 < n; i++) {
            size_t j = i + rndn(n - i < 8 ? n - i : 8);
            br_series_ref t = s->refs[i];
            s->refs[i] = s->refs[j];
            s->refs[j] = t;
        }
    }
    char inst[32];
    for (size_t i = 0; i < n; i++) {
        br_label l[6];
        size_t k = 0;
        l[k].name = "__name__";
        l[k++].value = NAMES[rndn(N_OF(NAMES))];
        if (rndn(3) != 0) {
            l[k].name = "code";
            l[k++].value = CODES[rndn(N_OF(CODES))];
        }
        if (rndn(2) == 0) {
            l[k].name = "env";
            l[k++].value = ENVS[rndn(N_OF(ENVS))];
        }
        snprintf(inst, sizeof(inst), "host-%zu", rndn(40));
        l[k].name = "instance";
        l[k++].value = inst;
        if (rndn(5) != 0) {
            l[k].name = "job";
            l[k++].value = JOBS[rndn(N_OF(JOBS))];
        }
        s->ls[i] = br_labels_new(s->sym, l, k);
        br_index_add(s->idx, s->refs[i], s->ls[i]);
    }
}

static void store_free(struct store *s)
{
    br_index_free(s->idx);
    for (size_t i = 0; i < s->n; i++) {
        br_labels_free(s->sym, s->ls[i]);
    }
    br_free(s->ls);
    br_free(s->refs);
    br_symtab_free(s->sym);
}

static int cmp_ref(const void *a, const void *b)
{
    br_series_ref x = *(const br_series_ref *)a;
    br_series_ref y = *(const br_series_ref *)b;
    return (x > y) - (x < y);
}

/* The reference: test every live series against every matcher. */
static void naive_select(const struct store *s, const br_matcher *ms, size_t n, br_refs *out)
{
    out->n = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->ls[i] == NULL) {
            continue;
        }
        bool ok = true;
        for (size_t j = 0; j < n && ok; j++) {
            const char *v = br_labels_get(s->ls[i], ms[j].name);
            ok = br_matcher_matches(&ms[j], v != NULL ? v : "");
        }
        if (ok) {
            br_refs_push(out, s->refs[i]);
        }
    }
    if (out->n > 1) {
        qsort(out->v, out->n, sizeof(*out->v), cmp_ref);
    }
}

static void assert_refs_equal(const br_refs *got, const br_refs *want, const char *what)
{
    if (got->n != want->n) {
        fail_msg("%s: got %zu refs, want %zu", what, got->n, want->n);
    }
    for (size_t i = 0; i < got->n; i++) {
        if (got->v[i] != want->v[i]) {
            fail_msg("%s: ref %zu differs", what, i);
        }
    }
}

struct mspec {
    const char *name;
    br_match_type type;
    const char *value;
};

static const struct mspec SPECS[] = {
    {"__name__", BR_MATCH_EQ, "http_requests_total"},
    {"__name__", BR_MATCH_EQ, "nope"},
    {"__name__", BR_MATCH_RE, "m_.*"},
    {"__name__", BR_MATCH_NEQ, "up"},
    {"job", BR_MATCH_EQ, "api"},
    {"job", BR_MATCH_EQ, ""},
    {"job", BR_MATCH_NEQ, ""},
    {"job", BR_MATCH_NEQ, "db"},
    {"job", BR_MATCH_RE, "api|web"},
    {"job", BR_MATCH_RE, "api|"},
    {"job", BR_MATCH_NRE, "a.*"},
    {"job", BR_MATCH_RE, ".*"},
    {"job", BR_MATCH_RE, ".+"},
    {"code", BR_MATCH_RE, "5.."},
    {"code", BR_MATCH_NRE, "5.."},
    {"code", BR_MATCH_RE, "[24]0\\d"},
    {"env", BR_MATCH_EQ, "prod"},
    {"env", BR_MATCH_EQ, ""},
    {"env", BR_MATCH_NEQ, "prod"},
    {"env", BR_MATCH_RE, "a\\.b|x\\|y"},
    {"env", BR_MATCH_NRE, "(?i)PROD|"},
    {"instance", BR_MATCH_RE, "host-1.*"},
    {"instance", BR_MATCH_RE, "host-(3|7)"},
    {"instance", BR_MATCH_NRE, ".*5"},
    {"missing", BR_MATCH_EQ, ""},
    {"missing", BR_MATCH_EQ, "x"},
    {"missing", BR_MATCH_NEQ, "x"},
    {"missing", BR_MATCH_RE, ".+"},
};

static void init_spec(br_matcher *m, const struct mspec *sp)
{
    br_err err;
    if (br_matcher_init(m, sp->type, sp->name, sp->value, &err) != 0) {
        fail_msg("matcher %s: %s", sp->value, err.msg);
    }
}

/* Runs `rounds` random selections of 1..4 matchers against the reference. */
static void check_random_selections(struct store *s, int rounds)
{
    br_refs got = {0};
    br_refs want = {0};
    int valid = 0;
    for (int r = 0; r < rounds; r++) {
        br_matcher ms[4];
        size_t n = 1 + rndn(4);
        for (size_t i = 0; i < n; i++) {
            init_spec(&ms[i], &SPECS[rndn(N_OF(SPECS))]);
        }
        bool any_nonempty = false;
        for (size_t i = 0; i < n; i++) {
            any_nonempty |= !br_matcher_matches_empty(&ms[i]);
        }
        br_err err;
        br_err_clear(&err);
        int rc = br_index_select(s->idx, ms, n, &got, &err);
        if (!any_nonempty) {
            assert_int_equal(rc, BR_EINVAL);
        } else {
            assert_int_equal(rc, 0);
            naive_select(s, ms, n, &want);
            char what[256];
            int off = 0;
            for (size_t i = 0; i < n; i++) {
                off += snprintf(what + off, sizeof(what) - (size_t)off, "%s%s\"%s\" ", ms[i].name,
                                br_match_type_str(ms[i].type), ms[i].value);
            }
            assert_refs_equal(&got, &want, what);
            valid++;
        }
        for (size_t i = 0; i < n; i++) {
            br_matcher_free(&ms[i]);
        }
    }
    assert_true(valid > rounds / 2);
    br_refs_free(&got);
    br_refs_free(&want);
}

static void test_index_select_random_matchers_equal_naive_scan(void **state)
{
    (void)state;
    rng_state = 0x5eed0001;
    struct store s;
    store_build(&s, 3000, false);
    check_random_selections(&s, 1500);
    store_free(&s);
}

static void test_index_out_of_order_refs_stay_sorted(void **state)
{
    (void)state;
    rng_state = 0x5eed0002;
    struct store s;
    store_build(&s, 2000, true);
    /* the shuffle really produced out-of-order additions */
    size_t inversions = 0;
    for (size_t i = 1; i < s.n; i++) {
        inversions += s.refs[i] < s.refs[i - 1];
    }
    assert_true(inversions > 100);
    br_matcher m;
    init_spec(&m, &SPECS[12]); /* job=~".+" */
    br_refs got = {0};
    br_err err;
    assert_int_equal(br_index_select(s.idx, &m, 1, &got, &err), 0);
    for (size_t i = 1; i < got.n; i++) {
        assert_true(got.v[i - 1] < got.v[i]);
    }
    br_refs want = {0};
    naive_select(&s, &m, 1, &want);
    assert_refs_equal(&got, &want, "job=~\".+\"");
    br_matcher_free(&m);
    br_refs_free(&got);
    br_refs_free(&want);
    check_random_selections(&s, 300);
    /* adding a series twice changes nothing */
    br_index_stats before;
    br_index_stats after;
    br_index_stats_get(s.idx, &before);
    br_index_add(s.idx, s.refs[7], s.ls[7]);
    br_index_stats_get(s.idx, &after);
    assert_int_equal(before.postings, after.postings);
    assert_int_equal(before.series, after.series);
    store_free(&s);
}

/* Counts names, pairs and postings of the live series. */
static void naive_stats(const struct store *s, br_index_stats *st)
{
    memset(st, 0, sizeof(*st));
    br_strs names = {0};
    br_strs pairs = {0};
    for (size_t i = 0; i < s->n; i++) {
        if (s->ls[i] == NULL) {
            continue;
        }
        st->series++;
        for (size_t j = 0; j < br_labels_count(s->ls[i]); j++) {
            const br_label *l = br_labels_at(s->ls[i], j);
            st->postings++;
            bool seen = false;
            for (size_t k = 0; k < names.n && !seen; k++) {
                seen = names.v[k] == l->name;
            }
            if (!seen) {
                if (names.n == names.cap) {
                    names.cap = names.cap ? names.cap * 2 : 16;
                    names.v = br_realloc(names.v, names.cap * sizeof(*names.v));
                }
                names.v[names.n++] = l->name;
            }
            seen = false;
            for (size_t k = 0; k + 1 < pairs.n && !seen; k += 2) {
                seen = pairs.v[k] == l->name && pairs.v[k + 1] == l->value;
            }
            if (!seen) {
                if (pairs.n + 2 > pairs.cap) {
                    pairs.cap = pairs.cap ? pairs.cap * 2 : 16;
                    pairs.v = br_realloc(pairs.v, pairs.cap * sizeof(*pairs.v));
                }
                pairs.v[pairs.n++] = l->name;
                pairs.v[pairs.n++] = l->value;
            }
        }
    }
    st->names = names.n;
    st->pairs = pairs.n / 2;
    br_strs_free(&names);
    br_strs_free(&pairs);
}

static void assert_stats_match(const struct store *s)
{
    br_index_stats got;
    br_index_stats want;
    br_index_stats_get(s->idx, &got);
    naive_stats(s, &want);
    assert_int_equal(got.series, want.series);
    assert_int_equal(got.names, want.names);
    assert_int_equal(got.pairs, want.pairs);
    assert_int_equal(got.postings, want.postings);
}

static void test_index_remove_drops_series_and_empty_lists(void **state)
{
    (void)state;
    rng_state = 0x5eed0003;
    struct store s;
    store_build(&s, 1500, true);
    assert_stats_match(&s);
    /* one at a time: every other series */
    for (size_t i = 0; i < s.n; i += 2) {
        br_index_remove(s.idx, s.refs[i], s.ls[i]);
        br_labels_free(s.sym, s.ls[i]);
        s.ls[i] = NULL;
    }
    br_index_remove(s.idx, 999999, s.ls[1]); /* unknown ref: ignored */
    assert_stats_match(&s);
    check_random_selections(&s, 300);
    /* in one batch: all but the last 10 of the rest */
    size_t nb = 0;
    br_series_ref *refs = br_malloc(s.n * sizeof(*refs));
    const br_labels **ls = br_malloc(s.n * sizeof(*ls));
    for (size_t i = 1; i + 20 < s.n; i += 2) {
        refs[nb] = s.refs[i];
        ls[nb] = s.ls[i];
        nb++;
    }
    br_index_remove_batch(s.idx, refs, ls, nb);
    for (size_t i = 1; i + 20 < s.n; i += 2) {
        br_labels_free(s.sym, s.ls[i]);
        s.ls[i] = NULL;
    }
    assert_stats_match(&s);
    check_random_selections(&s, 300);
    /* everything */
    nb = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (s.ls[i] != NULL) {
            refs[nb] = s.refs[i];
            ls[nb] = s.ls[i];
            nb++;
        }
    }
    assert_int_equal(nb, 10);
    br_index_remove_batch(s.idx, refs, ls, nb);
    br_index_stats st;
    br_index_stats_get(s.idx, &st);
    assert_int_equal(st.series, 0);
    assert_int_equal(st.names, 0);
    assert_int_equal(st.pairs, 0);
    assert_int_equal(st.postings, 0);
    br_strs names = {0};
    br_index_label_names(s.idx, NULL, &names);
    assert_int_equal(names.n, 0);
    br_strs_free(&names);
    br_free(refs);
    br_free(ls);
    store_free(&s);
}

static void test_index_select_requires_a_non_empty_matcher(void **state)
{
    (void)state;
    br_symtab *sym = br_symtab_new();
    br_index *idx = br_index_new();
    const br_label a[] = {{"__name__", "up"}, {"job", "api"}};
    const br_label b[] = {{"__name__", "up"}, {"env", "prod"}, {"job", "web"}};
    const br_label c[] = {{"__name__", "up"}, {"env", "dev"}, {"job", "api"}};
    br_labels *ls[3] = {br_labels_new(sym, a, 2), br_labels_new(sym, b, 3),
                        br_labels_new(sym, c, 3)};
    for (int i = 0; i < 3; i++) {
        br_index_add(idx, (br_series_ref)(10 + i), ls[i]);
    }
    br_matcher m[2];
    br_refs out = {0};
    br_err err;
    const struct mspec only_empty[] = {
        {"job", BR_MATCH_RE, ".*"},    {"env", BR_MATCH_EQ, ""},    {"env", BR_MATCH_NEQ, "x"},
        {"env", BR_MATCH_RE, "prod|"}, {"env", BR_MATCH_NRE, ".+"},
    };
    for (size_t i = 0; i < N_OF(only_empty); i++) {
        init_spec(&m[0], &only_empty[i]);
        br_err_clear(&err);
        assert_int_equal(br_index_select(idx, m, 1, &out, &err), BR_EINVAL);
        assert_string_equal(err.msg, "vector selector must contain at least one non-empty matcher");
        br_matcher_free(&m[0]);
    }
    assert_int_equal(br_index_select(idx, m, 0, &out, &err), BR_EINVAL);

    /* an empty-matching matcher also selects series without the label */
    const struct {
        struct mspec second;
        br_series_ref want[3];
        size_t n;
    } cs[] = {
        {{"env", BR_MATCH_EQ, ""}, {10}, 1},         {{"env", BR_MATCH_NEQ, "prod"}, {10, 12}, 2},
        {{"env", BR_MATCH_RE, "dev|"}, {10, 12}, 2}, {{"env", BR_MATCH_NRE, "d.*"}, {10, 11}, 2},
        {{"env", BR_MATCH_NEQ, ""}, {11, 12}, 2},    {{"zone", BR_MATCH_EQ, ""}, {10, 11, 12}, 3},
        {{"zone", BR_MATCH_EQ, "x"}, {0}, 0},
    };
    const struct mspec up = {"__name__", BR_MATCH_EQ, "up"};
    for (size_t i = 0; i < N_OF(cs); i++) {
        init_spec(&m[0], &up);
        init_spec(&m[1], &cs[i].second);
        assert_int_equal(br_index_select(idx, m, 2, &out, &err), 0);
        assert_int_equal(out.n, cs[i].n);
        for (size_t j = 0; j < cs[i].n; j++) {
            assert_true(out.v[j] == cs[i].want[j]);
        }
        br_matcher_free(&m[0]);
        br_matcher_free(&m[1]);
    }
    br_refs_free(&out);
    br_index_free(idx);
    for (int i = 0; i < 3; i++) {
        br_labels_free(sym, ls[i]);
    }
    br_symtab_free(sym);
}

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Naive listing: names (value_of == NULL) or values of one label. */
static void naive_list(const struct store *s, const char *value_of, const br_refs *restrict_to,
                       br_strs *out)
{
    out->n = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->ls[i] == NULL) {
            continue;
        }
        bool in = restrict_to == NULL;
        for (size_t k = 0; !in && k < restrict_to->n; k++) {
            in = restrict_to->v[k] == s->refs[i];
        }
        if (!in) {
            continue;
        }
        for (size_t j = 0; j < br_labels_count(s->ls[i]); j++) {
            const br_label *l = br_labels_at(s->ls[i], j);
            const char *str = l->name;
            if (value_of != NULL) {
                if (strcmp(l->name, value_of) != 0) {
                    continue;
                }
                str = l->value;
            }
            bool seen = false;
            for (size_t k = 0; k < out->n && !seen; k++) {
                seen = strcmp(out->v[k], str) == 0;
            }
            if (!seen) {
                if (out->n == out->cap) {
                    out->cap = out->cap ? out->cap * 2 : 16;
                    out->v = br_realloc(out->v, out->cap * sizeof(*out->v));
                }
                out->v[out->n++] = str;
            }
        }
    }
    if (out->n > 1) {
        qsort(out->v, out->n, sizeof(*out->v), cmp_strp);
    }
}

static void assert_strs_equal(const br_strs *got, const br_strs *want)
{
    assert_int_equal(got->n, want->n);
    for (size_t i = 0; i < got->n; i++) {
        assert_string_equal(got->v[i], want->v[i]);
    }
}

static void test_index_lists_label_names_and_values(void **state)
{
    (void)state;
    rng_state = 0x5eed0004;
    struct store s;
    store_build(&s, 800, false);
    br_strs got = {0};
    br_strs want = {0};
    br_index_label_names(s.idx, NULL, &got);
    naive_list(&s, NULL, NULL, &want);
    assert_strs_equal(&got, &want);
    assert_int_equal(got.n, 5);
    assert_string_equal(got.v[0], "__name__");
    const char *labels[] = {"__name__", "code", "env", "instance", "job", "missing"};
    for (size_t i = 0; i < N_OF(labels); i++) {
        br_index_label_values(s.idx, labels[i], NULL, &got);
        naive_list(&s, labels[i], NULL, &want);
        assert_strs_equal(&got, &want);
    }
    br_index_label_values(s.idx, "env", NULL, &got);
    assert_int_equal(got.n, 4);
    assert_string_equal(got.v[0], "a.b"); /* sorted bytewise */
    assert_string_equal(got.v[3], "x|y");

    /* restricted to a selection */
    const struct mspec sel[][2] = {
        {{"job", BR_MATCH_EQ, "db"}, {"code", BR_MATCH_EQ, "500"}},
        {{"env", BR_MATCH_EQ, "prod"}, {"instance", BR_MATCH_RE, "host-1."}},
        {{"__name__", BR_MATCH_EQ, "up"}, {"job", BR_MATCH_EQ, ""}},
        {{"__name__", BR_MATCH_EQ, "nope"}, {"job", BR_MATCH_EQ, ""}},
    };
    br_refs refs = {0};
    for (size_t i = 0; i < N_OF(sel); i++) {
        br_matcher ms[2];
        br_err err;
        init_spec(&ms[0], &sel[i][0]);
        init_spec(&ms[1], &sel[i][1]);
        assert_int_equal(br_index_select(s.idx, ms, 2, &refs, &err), 0);
        br_index_label_names(s.idx, &refs, &got);
        naive_list(&s, NULL, &refs, &want);
        assert_strs_equal(&got, &want);
        for (size_t j = 0; j < N_OF(labels); j++) {
            br_index_label_values(s.idx, labels[j], &refs, &got);
            naive_list(&s, labels[j], &refs, &want);
            assert_strs_equal(&got, &want);
        }
        br_matcher_free(&ms[0]);
        br_matcher_free(&ms[1]);
    }
    br_refs_free(&refs);
    br_strs_free(&got);
    br_strs_free(&want);
    store_free(&s);
}

struct rw_arg {
    br_index *idx;
    br_symtab *sym;
    br_labels **ls;
    int base;
    int count;
};

static void *add_worker(void *p)
{
    struct rw_arg *a = p;
    for (int i = 0; i < a->count; i++) {
        br_index_add(a->idx, (br_series_ref)(a->base + i), a->ls[a->base + i]);
    }
    return NULL;
}

static void *select_worker(void *p)
{
    struct rw_arg *a = p;
    br_matcher m;
    br_err err;
    br_matcher_init(&m, BR_MATCH_RE, "job", "j[01]", &err);
    br_refs out = {0};
    for (int i = 0; i < 200; i++) {
        br_index_select(a->idx, &m, 1, &out, &err);
        for (size_t k = 1; k < out.n; k++) {
            if (out.v[k - 1] >= out.v[k]) {
                a->count = -1; /* unsorted result: reported by the test */
            }
        }
    }
    br_refs_free(&out);
    br_matcher_free(&m);
    return NULL;
}

static void test_index_concurrent_adds_and_selects(void **state)
{
    (void)state;
    enum { PER = 2000, WRITERS = 3 };
    br_symtab *sym = br_symtab_new();
    br_index *idx = br_index_new();
    static br_labels *ls[PER * WRITERS];
    char job[8];
    char inst[16];
    for (int i = 0; i < PER * WRITERS; i++) {
        snprintf(job, sizeof(job), "j%d", i % 4);
        snprintf(inst, sizeof(inst), "i%d", i);
        br_label l[] = {{"instance", inst}, {"job", job}};
        ls[i] = br_labels_new(sym, l, 2);
    }
    pthread_t th[WRITERS + 1];
    struct rw_arg args[WRITERS + 1];
    for (int t = 0; t < WRITERS; t++) {
        args[t] = (struct rw_arg){idx, sym, ls, t * PER, PER};
        assert_int_equal(pthread_create(&th[t], NULL, add_worker, &args[t]), 0);
    }
    args[WRITERS] = (struct rw_arg){idx, sym, ls, 0, 0};
    assert_int_equal(pthread_create(&th[WRITERS], NULL, select_worker, &args[WRITERS]), 0);
    for (int t = 0; t <= WRITERS; t++) {
        pthread_join(th[t], NULL);
    }
    assert_int_equal(args[WRITERS].count, 0);
    br_matcher m;
    br_err err;
    assert_int_equal(br_matcher_init(&m, BR_MATCH_RE, "job", "j[01]", &err), 0);
    br_refs out = {0};
    assert_int_equal(br_index_select(idx, &m, 1, &out, &err), 0);
    assert_int_equal(out.n, PER * WRITERS / 2);
    for (size_t k = 0; k < out.n; k++) {
        assert_true(out.v[k] % 4 < 2);
    }
    br_index_stats st;
    br_index_stats_get(idx, &st);
    assert_int_equal(st.series, PER * WRITERS);
    assert_int_equal(st.pairs, PER * WRITERS + 4);
    br_refs_free(&out);
    br_matcher_free(&m);
    br_index_free(idx);
    for (int i = 0; i < PER * WRITERS; i++) {
        br_labels_free(sym, ls[i]);
    }
    br_symtab_free(sym);
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void test_index_select_100k_series_measured(void **state)
{
    (void)state;
    enum { SERIES = 100000 };
    static const char *const codes[] = {"200", "201", "204", "301", "400",
                                        "404", "429", "500", "502", "503"};
    static const char *const names[] = {"http_requests_total",
                                        "http_request_duration_seconds_count", "up",
                                        "process_cpu_seconds_total"};
    rng_state = 0x5eed0005;
    br_symtab *sym = br_symtab_new();
    br_index *idx = br_index_new();
    br_labels **ls = br_malloc(SERIES * sizeof(*ls));
    char svc[16];
    char inst[24];
    size_t want = 0;
    double t0 = now_us();
    for (size_t i = 0; i < SERIES; i++) {
        const char *name = names[rndn(4)];
        const char *code = codes[rndn(10)];
        snprintf(svc, sizeof(svc), "s%zu", rndn(50));
        snprintf(inst, sizeof(inst), "10.0.%zu.%zu:8080", i / 250, i % 250);
        br_label l[] = {{"__name__", name},
                        {"code", code},
                        {"instance", inst},
                        {"job", "api"},
                        {"service", svc}};
        ls[i] = br_labels_new(sym, l, N_OF(l));
        br_index_add(idx, (br_series_ref)i, ls[i]);
        want +=
            strcmp(name, "http_requests_total") == 0 && strcmp(svc, "s7") == 0 && code[0] == '5';
    }
    double t_add = now_us() - t0;
    br_matcher ms[3];
    br_err err;
    assert_int_equal(br_matcher_init(&ms[0], BR_MATCH_EQ, "__name__", "http_requests_total", &err),
                     0);
    assert_int_equal(br_matcher_init(&ms[1], BR_MATCH_EQ, "service", "s7", &err), 0);
    assert_int_equal(br_matcher_init(&ms[2], BR_MATCH_RE, "code", "5..", &err), 0);
    br_refs out = {0};
    enum { RUNS = 200 };
    t0 = now_us();
    for (int r = 0; r < RUNS; r++) {
        assert_int_equal(br_index_select(idx, ms, 3, &out, &err), 0);
    }
    double t_sel = (now_us() - t0) / RUNS;
    assert_int_equal(out.n, want);
    br_index_stats st;
    br_index_stats_get(idx, &st);
    br_symtab_stats sst;
    br_symtab_stats_get(sym, &sst);
    print_message(
        "[ MEASURE  ] 100k series: add %.0f ns/series; select "
        "{__name__=\"http_requests_total\", service=\"s7\", code=~\"5..\"} -> %zu refs in "
        "%.1f us; index %zu names, %zu pairs, %zu postings, %.1f MiB; symtab %zu "
        "strings, %.1f MiB\n",
        t_add * 1000.0 / SERIES, out.n, t_sel, st.names, st.pairs, st.postings,
        (double)st.bytes / 1048576.0, sst.strings, (double)sst.bytes / 1048576.0);
    for (int i = 0; i < 3; i++) {
        br_matcher_free(&ms[i]);
    }
    br_refs_free(&out);
    br_index_free(idx);
    for (size_t i = 0; i < SERIES; i++) {
        br_labels_free(sym, ls[i]);
    }
    br_free(ls);
    br_symtab_free(sym);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_postings_set_operations_equal_naive),
        cmocka_unit_test(test_postings_union_of_k_lists_equals_naive),
        cmocka_unit_test(test_index_select_random_matchers_equal_naive_scan),
        cmocka_unit_test(test_index_out_of_order_refs_stay_sorted),
        cmocka_unit_test(test_index_remove_drops_series_and_empty_lists),
        cmocka_unit_test(test_index_select_requires_a_non_empty_matcher),
        cmocka_unit_test(test_index_lists_label_names_and_values),
        cmocka_unit_test(test_index_concurrent_adds_and_selects),
        cmocka_unit_test(test_index_select_100k_series_measured),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
