/*
 * test_matcher.c — unit tests for storage/matcher: the four matcher types,
 * full anchoring, RE2 constructs translated to POSIX, case-insensitivity
 * (leading and scoped flag groups, as in Prometheus' selector tests),
 * UTF-8 aware `.`, rejections with their messages, and fast paths agreeing
 * with regexec.
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
#include "storage/matcher.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Compiles `re` as =~ (failing the test on error) and checks one value. */
static bool try_match(const char *re, const char *value)
{
    br_matcher m;
    br_err err;
    br_err_clear(&err);
    int rc = br_matcher_init(&m, BR_MATCH_RE, "l", re, &err);
    if (rc != 0) {
        fail_msg("regex %s rejected: %s", re, err.msg);
    }
    bool hit = br_matcher_matches(&m, value);
    br_matcher_free(&m);
    return hit;
}

struct case_ {
    const char *re;
    const char *value;
    bool want;
};

static void check_cases(const struct case_ *cs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bool got = try_match(cs[i].re, cs[i].value);
        if (got != cs[i].want) {
            fail_msg("%s on \"%s\": got %d, want %d", cs[i].re, cs[i].value, got, cs[i].want);
        }
    }
}

static void test_matcher_equality_and_inequality(void **state)
{
    (void)state;
    br_matcher eq;
    br_matcher ne;
    br_err err;
    assert_int_equal(br_matcher_init(&eq, BR_MATCH_EQ, "job", "api", &err), 0);
    assert_int_equal(br_matcher_init(&ne, BR_MATCH_NEQ, "job", "api", &err), 0);
    assert_true(br_matcher_matches(&eq, "api"));
    assert_false(br_matcher_matches(&eq, "api2"));
    assert_false(br_matcher_matches(&eq, ""));
    assert_false(br_matcher_matches(&ne, "api"));
    assert_true(br_matcher_matches(&ne, "web"));
    assert_false(br_matcher_is_negative(&eq));
    assert_true(br_matcher_is_negative(&ne));
    /* = treats regex characters literally */
    br_matcher lit;
    assert_int_equal(br_matcher_init(&lit, BR_MATCH_EQ, "path", "a.c", &err), 0);
    assert_true(br_matcher_matches(&lit, "a.c"));
    assert_false(br_matcher_matches(&lit, "abc"));
    br_matcher_free(&eq);
    br_matcher_free(&ne);
    br_matcher_free(&lit);
}

static void test_matcher_regex_and_negated_regex(void **state)
{
    (void)state;
    br_matcher re;
    br_matcher nre;
    br_err err;
    assert_int_equal(br_matcher_init(&re, BR_MATCH_RE, "code", "5[0-9]+", &err), 0);
    assert_int_equal(br_matcher_init(&nre, BR_MATCH_NRE, "code", "5[0-9]+", &err), 0);
    assert_true(br_matcher_matches(&re, "503"));
    assert_false(br_matcher_matches(&re, "404"));
    assert_false(br_matcher_matches(&nre, "503"));
    assert_true(br_matcher_matches(&nre, "404"));
    assert_true(br_matcher_matches(&nre, ""));
    assert_int_equal(re.kind, BR_MKIND_REGEX);
    br_matcher_free(&re);
    br_matcher_free(&nre);
}

static void test_matcher_regex_is_fully_anchored(void **state)
{
    (void)state;
    const struct case_ cs[] = {
        {"a.c", "abc", true},       {"a.c", "xabcx", false},  {"a.c", "abcx", false},
        {"a.c", "xabc", false},     {"foo|bar", "foo", true}, {"foo|bar", "foobar", false},
        {"foo|bar", "xbar", false}, {"b", "abc", false},      {"^abc$", "abc", true},
        {"a^b", "ab", false},       {"", "", true},           {"", "x", false},
    };
    check_cases(cs, N_OF(cs));
}

static void test_matcher_translates_perl_classes(void **state)
{
    (void)state;
    const struct case_ cs[] = {
        {"\\d+", "0123", true},
        {"\\d+", "12a", false},
        {"\\D+", "abc", true},
        {"\\D", "5", false},
        {"\\w+", "a_Z9", true},
        {"\\w", "-", false},
        {"\\W", "-", true},
        {"\\W", "a", false},
        {"a\\sb", "a b", true},
        {"a\\sb", "a\tb", true},
        {"a\\sb", "axb", false},
        {"\\S+", "ab", true},
        {"\\S", " ", false},
        {"[\\d_]+", "1_2", true},
        {"[\\d_]+", "1-2", false},
        {"[^\\d]", "x", true},
        {"[^\\d]", "7", false},
        {"[\\W\\d]+", "-1", true},
        {"[\\W\\d]", "a", false},
        {"[[:digit:]]+", "42", true},
        {"[[:^alpha:]]", "1", true},
        {"[[:^alpha:]]", "q", false},
        {"[[:upper:][:digit:]]+", "A1", true},
    };
    check_cases(cs, N_OF(cs));
}

static void test_matcher_translates_groups_and_quantifiers(void **state)
{
    (void)state;
    const struct case_ cs[] = {
        {"(?:ab)+", "abab", true},
        {"(?:ab)+", "aba", false},
        {"(?P<x>a)b", "ab", true},
        {"(?<x>a)b", "ab", true},
        {"a+?b", "aab", true},
        {"a*?", "", true},
        {"a{2}", "aa", true},
        {"a{2}", "aaa", false},
        {"a{2,}", "aaaa", true},
        {"a{2,3}", "aaaa", false},
        {"x{", "x{", true},
        {"a{,3}", "a{,3}", true},
        {"a|", "", true},
        {"a|", "a", true},
        {"(a|)b", "b", true},
        {"()", "", true},
        {"(?s).", "\n", true},
        {".", "\n", true},
        {"(?s:a.)b", "a\nb", true},
        {"\\Qa.b\\E", "a.b", true},
        {"\\Qa.b\\E", "axb", false},
        {"\\Qab\\E+", "abbb", true},
        {"\\Qa|b", "a|b", true},
        {"foo\\b.*", "foo bar", true},
        {"foo\\b.*", "foobar", false},
        {"\\Aab\\z", "ab", true},
        {"a??b", "b", true},
    };
    check_cases(cs, N_OF(cs));
}

static void test_matcher_translates_escaped_metacharacters(void **state)
{
    (void)state;
    const struct case_ cs[] = {
        {"a\\.b", "a.b", true},
        {"a\\.b", "axb", false},
        {"\\(x\\)", "(x)", true},
        {"\\[x\\]", "[x]", true},
        {"\\{x\\}", "{x}", true},
        {"a\\*", "a*", true},
        {"a\\*", "aa", false},
        {"a\\+", "a+", true},
        {"a\\?", "a?", true},
        {"\\\\", "\\", true},
        {"\\$x\\^", "$x^", true},
        {"a\\|b", "a|b", true},
        {"a\\|b", "a", false},
        {"\\/\\-\\:", "/-:", true},
        {"\\x41\\x{42}", "AB", true},
        {"\\101", "A", true},
        {"\\0101", "A", false},
        {"a\\tb", "a\tb", true},
        {"[]a]+", "]a", true},
        {"[a-]+", "a-", true},
        {"[\\]\\[\\-\\^]+", "][-^", true},
        {"[\\]\\[\\-\\^]", "a", false},
        {"[^^]", "^", false},
        {"[^^]", "a", true},
        {"[\\^-]+", "^-", true},
        {"[.]", ".", true},
        {"[.]", "a", false},
        {"[^x]", "\\", true},
        {"[\\\\]", "\\", true},
        {"[\\\\]", "a", false},
        {"[^\\\\]", "\\", false},
    };
    check_cases(cs, N_OF(cs));
}

static void test_matcher_case_insensitive_prefix(void **state)
{
    (void)state;
    const struct case_ cs[] = {
        {"(?i)foo", "FOO", true},   {"(?i)foo", "fOo", true}, {"(?i)foo", "fo", false},
        {"(?i)[a-c]x", "BX", true}, {"(?i)[^a]", "A", false}, {"(?i)[^a]", "b", true},
        {"(?is)a.b", "A\nB", true}, {"(?i)(?s)x", "X", true}, {"foo", "FOO", false},
    };
    check_cases(cs, N_OF(cs));
}

/* The flag-group selectors of Prometheus' selectors.test (issue 7994),
 * against its two group values; the last column is the expected hit on
 * "production" and "canary". */
static void test_matcher_flag_groups_select_as_prometheus_selector_tests(void **state)
{
    (void)state;
    const struct {
        const char *re;
        bool production;
        bool canary;
    } cs[] = {
        {"(?i:PRO).*", true, false},
        {".*?(?i:PRO).*", true, false},
        {".*(?i:DUC).*", true, false},
        {".*(?i:TION)", true, false},
        {".*(?i:TION).*?", true, false},
        {"((?i)PRO).*", true, false},
        {".*((?i)DUC).*", true, false},
        {".*((?i)TION)", true, false},
        {"(?i:PRODUCTION)", true, false},
        {".*(?i:C).*", true, true},
        {"(?i:CANARY|PRODUCTION)", true, true},
    };
    for (size_t i = 0; i < N_OF(cs); i++) {
        if (try_match(cs[i].re, "production") != cs[i].production ||
            try_match(cs[i].re, "canary") != cs[i].canary) {
            fail_msg("%s: want production=%d canary=%d", cs[i].re, cs[i].production, cs[i].canary);
        }
    }
}

static void test_matcher_scoped_case_insensitive_group_matches_either_case(void **state)
{
    (void)state;
    const struct case_ cs[] = {
        {"(?i:PRO).*", "production", true},
        {"(?i:PRO).*", "PROD", true},
        {"(?i:PRO).*", "pRo", true},
        {"(?i:PRO).*", "xpro", false},
        {"(?i:PRO).*", "pr", false},
        {".*(?i:DUC).*", "proDuction", true},
        {".*(?i:DUC).*", "prod", false},
        {".*(?i:TION)", "PRODUCTION", true},
        {".*(?i:TION)", "productions", false},
        {".*?(?i:PRO).*", "xxProd", true},
        {".*?(?i:PRO).*", "pr-o", false},
        {"(?i:ab)+", "aBAbab", true},
        {"(?i:ab)+", "aBA", false},
        {"(?i:a|b)c", "Bc", true},
        {"(?i:)x", "x", true},
    };
    check_cases(cs, N_OF(cs));
}

static void test_matcher_scoped_flag_does_not_leak_out_of_its_group(void **state)
{
    (void)state;
    const struct case_ cs[] = {
        {"(?i:a)b", "Ab", true},
        {"(?i:a)b", "ab", true},
        {"(?i:a)b", "AB", false},
        {"((?i)a)b", "Ab", true},
        {"((?i)a)b", "AB", false},
        {"(?:(?i)a)b", "aB", false},
        {"a(?i)b", "aB", true},
        {"a(?i)b", "AB", false},
        /* a (?i) also covers the alternatives after it in its group */
        {"(a(?i)b|c)d", "aBd", true},
        {"(a(?i)b|c)d", "Cd", true},
        {"(a(?i)b|c)d", "cD", false},
        {"(a(?i)b|c)d", "ABd", false},
        {"x(?i:a)(?i:b)y", "xABy", true},
        {"x(?i:a)(?i:b)y", "XABy", false},
    };
    check_cases(cs, N_OF(cs));
}

static void test_matcher_nested_flag_groups_set_and_clear_case(void **state)
{
    (void)state;
    const struct case_ cs[] = {
        {"(?i:a(?-i:b)c)", "AbC", true},    {"(?i:a(?-i:b)c)", "ABC", false},
        {"(?i)a(?-i:b)c", "AbC", true},     {"(?i)a(?-i:b)c", "aBc", false},
        {"(?i:a((?-i)b)c)", "Abc", true},   {"(?i:a((?-i)b)c)", "aBc", false},
        {"(?i:a(b(?-i)c)d)", "ABcD", true}, {"(?i:a(b(?-i)c)d)", "ABCD", false},
        {"(?:(?:(?i:x)))y", "Xy", true},    {"(?:(?:(?i:x)))y", "XY", false},
        {"(?i)(?-i)a", "A", false},
    };
    check_cases(cs, N_OF(cs));
}

static void test_matcher_flag_groups_fold_classes_and_escaped_letters(void **state)
{
    (void)state;
    const struct case_ cs[] = {
        {"(?i:[a-c])x", "Bx", true},     {"(?i:[a-c])x", "BX", false},
        {"(?i:[^a])", "A", false},       {"(?i:[^a])", "b", true},
        {"[^a](?i:b)", "AB", true},      {"[^a](?i:b)", "aB", false},
        {"(?i:[[:upper:]])", "q", true}, {"(?i:\\x41)", "a", true},
        {"(?i:\\Qa.b\\E)", "A.B", true}, {"(?i:\\Qa.b\\E)", "AxB", false},
        {"(?i:\\d)", "1", true},         {"(?i:\\d)", "d", false},
        {"(?i:\\.)", ".", true},         {"(?i:\\.)", "a", false},
        {"(?i:\\w+)", "aZ_", true},      {"(?i:\\bx)", "X", true},
        {"(?i:\\tq)", "\tQ", true},      {"(?i:\xc3\xa9)", "\xc3\xa9", true},
        {"(?i:[0-9]-)", "5-", true},
    };
    check_cases(cs, N_OF(cs));
}

static void test_matcher_combined_flags_set_i_and_s_together(void **state)
{
    (void)state;
    const struct case_ cs[] = {
        {"(?is:a.b)", "A\nB", true},       {"(?i)(?s-i:a.b)", "a\nb", true},
        {"(?i)(?s-i:a.b)", "A\nb", false}, {"(?-s:a.b)", "a\nb", false},
        {"(?-s:a.b)", "axb", true},        {"(?i-s:a.)", "A\n", false},
        {"(?i-s:a.)", "Ax", true},         {"(?-s:a).", "a\n", true},
        {"(?-s)[^x]", "\n", true},         {"(?-s).", "\xc3\xa9", true},
    };
    check_cases(cs, N_OF(cs));
}

static void test_matcher_dot_consumes_whole_utf8_characters(void **state)
{
    (void)state;
    const struct case_ cs[] = {
        {"a.c",
         "a\xc3\xa9"
         "c",
         true}, /* é is one character */
        {"a..c",
         "a\xc3\xa9"
         "c",
         false},                                /* not two */
        {"...", "\xe2\x82\xac\xc3\xa9x", true}, /* € é x */
        {"[^x]", "\xc3\xa9", true},
        {"[^x]{2}", "\xc3\xa9", false},
        {"\\W", "\xc3\xa9", true},
        {"\xc3\xa9+", "\xc3\xa9\xc3\xa9", true},
        {"\\x{e9}", "\xc3\xa9", true},
        {"[\\x00-\\x{10FFFF}]", "\xf0\x9f\x98\x80", true},
        {".*", "\xc3\xa9\n", true},
        {"a.+", "a\xc3\xa9", true},
    };
    check_cases(cs, N_OF(cs));
}

struct reject {
    const char *re;
    const char *needle;
};

static void test_matcher_rejects_untranslatable_constructs_with_messages(void **state)
{
    (void)state;
    const struct reject rs[] = {
        {"a(?=b)", "lookahead (?="},
        {"a(?!b)", "negative lookahead (?!"},
        {"(?<=a)b", "lookbehind (?<="},
        {"(?<!a)b", "negative lookbehind (?<!"},
        {"(a)\\1", "backreference \\1"},
        {"(?P<n>a)(?P=n)", "backreference (?P=name)"},
        {"\\pL", "Unicode character class \\p"},
        {"\\p{Greek}", "Unicode character class \\p"},
        {"(?m)^a", "flag group (?m)"},
        {"(?U)a*", "flag group (?U)"},
        {"a(?im:b)", "flag group (?im:"},
        {"(?i-U)a", "flag group (?i-U)"},
        {"(?i-)a", "missing flags in (?i-)"},
        {"(?-:a)", "missing flags in (?-:"},
        {"(?)a", "missing flags in (?)"},
        {"(?i-s-i)a", "invalid or unsupported Perl syntax (?-"},
        {"(?x)a", "invalid or unsupported Perl syntax (?x"},
        {"(?i", "missing closing )"},
        {"(?i:a", "missing closing )"},
        {"(?i)*a", "missing argument to repetition operator *"},
        {"[\xc3\xa9]", "non-ASCII characters in [...]"},
        {"\\C", "\\C (any byte)"},
        {"a**", "invalid nested repetition operator"},
        {"a*+", "invalid nested repetition operator"},
        {"*a", "missing argument to repetition operator"},
        {"{2}", "missing argument to repetition operator"},
        {"(a", "missing closing )"},
        {"a)", "unexpected )"},
        {"[a", "missing closing ]"},
        {"a{1001}", "invalid repeat count"},
        {"a{3,2}", "invalid repeat count"},
        {"a\\", "trailing backslash"},
        {"\\q", "invalid escape sequence \\q"},
        {"[z-a]", "invalid character class range"},
        {"[[:foo:]]", "invalid character class range [:foo:]"},
        {"\xff", "invalid UTF-8"},
    };
    for (size_t i = 0; i < N_OF(rs); i++) {
        br_matcher m;
        br_err err;
        br_err_clear(&err);
        int rc = br_matcher_init(&m, BR_MATCH_RE, "job", rs[i].re, &err);
        if (rc != BR_EINVAL) {
            fail_msg("%s: got rc %d, want BR_EINVAL", rs[i].re, rc);
        }
        if (strstr(err.msg, rs[i].needle) == NULL || strstr(err.msg, "\"job\"") == NULL) {
            fail_msg("%s: message \"%s\" lacks \"%s\" or the label", rs[i].re, err.msg,
                     rs[i].needle);
        }
    }
    br_matcher m;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_matcher_init(&m, BR_MATCH_NRE, "job", "x(?=y)", &err), BR_EINVAL);
    assert_string_equal(err.msg, "invalid regex for label \"job\": lookahead (?= is not supported "
                                 "at offset 1 in \"x(?=y)\"");
}

static void test_matcher_rejects_bad_type_and_oversized_regex(void **state)
{
    (void)state;
    br_matcher m;
    br_err err;
    assert_int_equal(br_matcher_init(&m, (br_match_type)9, "a", "b", &err), BR_EINVAL);
    assert_non_null(strstr(err.msg, "invalid matcher type"));
    size_t n = BR_MATCHER_MAX_REGEX + 1;
    char *big = br_malloc(n + 1);
    memset(big, 'a', n);
    big[n] = '\0';
    assert_int_equal(br_matcher_init(&m, BR_MATCH_RE, "a", big, &err), BR_ELIMIT);
    /* an = matcher has no regex limit */
    assert_int_equal(br_matcher_init(&m, BR_MATCH_EQ, "a", big, &err), 0);
    assert_true(br_matcher_matches(&m, big));
    br_matcher_free(&m);
    /* a long pattern that needs regcomp hits the compile limit */
    big[0] = '[';
    big[1] = 'a';
    big[2] = ']';
    big[BR_MATCHER_MAX_COMPILED + 10] = '\0';
    assert_int_equal(br_matcher_init(&m, BR_MATCH_RE, "a", big, &err), BR_ELIMIT);
    br_free(big);
}

/* Nested repetitions would make glibc's regcomp build an exponential
 * automaton (gigabytes for a 30-byte pattern): refused before regcomp. */
static void test_matcher_refuses_exploding_nested_repetitions(void **state)
{
    (void)state;
    br_matcher m;
    br_err err;
    assert_int_equal(br_matcher_init(&m, BR_MATCH_RE, "job", "((a{1000}){1000}){1000}", &err),
                     BR_ELIMIT);
    assert_non_null(strstr(err.msg, "too complex"));
    assert_int_equal(br_matcher_init(&m, BR_MATCH_RE, "job",
                                     "(((((((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)",
                                     &err),
                     BR_ELIMIT);
    /* ordinary repetitions still compile and match */
    assert_int_equal(br_matcher_init(&m, BR_MATCH_RE, "job", "(ap(i|p)){1,3}-[0-9]{2,8}", &err), 0);
    assert_true(br_matcher_matches(&m, "apiapp-1234"));
    assert_false(br_matcher_matches(&m, "api-1"));
    br_matcher_free(&m);
    /* the estimate itself: atoms and groups count 1, x{n,m} counts x m
     * times, nesting multiplies */
    assert_int_equal(br_matcher_ere_cost("abc", 100), 3);
    assert_int_equal(br_matcher_ere_cost("(ab){3}", 100), 9);
    assert_int_equal(br_matcher_ere_cost("((a){10}){10}", 1000), 210);
    assert_int_equal(br_matcher_ere_cost("((a){10}){10}", 50), 51);
    /* an empty group repeated is not free: regcomp copies its nodes
     * (found by fuzz_promql_eval: over 2 GB for this one) */
    assert_true(br_matcher_ere_cost("((){1000}){1000}", BR_MATCHER_MAX_EXPANDED) >
                BR_MATCHER_MAX_EXPANDED);
    assert_int_equal(br_matcher_init(&m, BR_MATCH_RE, "job", "((){1000}){1000}", &err),
                     BR_ELIMIT);
}

/* glibc's regcomp takes exponential time on + over nested nullable groups
 * (found by fuzz_promql_eval: 25 s and more); X+ is rewritten to X* there,
 * which matches the same strings. */
static void test_matcher_nested_nullable_plus_compiles_and_matches(void **state)
{
    (void)state;
    char e1[] = "^(((((())+)+)+)+)+$";
    assert_int_equal(br_matcher_ere_relax(e1), 5);
    assert_string_equal(e1, "^(((((())*)*)*)*)*$");
    char e2[] = "^(a|)+(b+)+(c*d)+[+]\\+x{0}+$";
    assert_int_equal(br_matcher_ere_relax(e2), 2); /* (a|)+ and x{0}+ only */
    assert_string_equal(e2, "^(a|)*(b+)+(c*d)+[+]\\+x{0}*$");
    br_matcher m;
    br_err err;
    assert_int_equal(br_matcher_init(&m, BR_MATCH_RE, "job",
                                     "(((((((((((((()+)+)+)+)+)/+)+)+)+)+)+)/)+)", &err),
                     0);
    assert_false(br_matcher_matches(&m, "/")); /* the outer group needs /+ then / */
    assert_true(br_matcher_matches(&m, "//"));
    assert_true(br_matcher_matches(&m, "/////"));
    assert_false(br_matcher_matches(&m, "a"));
    br_matcher_free(&m);
    assert_int_equal(br_matcher_init(&m, BR_MATCH_RE, "job", "(api|)+-(x?)+", &err), 0);
    assert_true(br_matcher_matches(&m, "apiapi-x"));
    assert_true(br_matcher_matches(&m, "-"));
    assert_false(br_matcher_matches(&m, "ap-"));
    br_matcher_free(&m);
}

static void test_matcher_matches_empty_follows_prometheus(void **state)
{
    (void)state;
    const struct {
        br_match_type type;
        const char *value;
        bool empty;
    } cs[] = {
        {BR_MATCH_EQ, "", true},     {BR_MATCH_EQ, "x", false}, {BR_MATCH_NEQ, "x", true},
        {BR_MATCH_NEQ, "", false},   {BR_MATCH_RE, "x|", true}, {BR_MATCH_RE, ".*", true},
        {BR_MATCH_RE, ".+", false},  {BR_MATCH_RE, "x*", true}, {BR_MATCH_NRE, ".+", true},
        {BR_MATCH_NRE, ".*", false}, {BR_MATCH_NRE, "x", true},
    };
    for (size_t i = 0; i < N_OF(cs); i++) {
        br_matcher m;
        br_err err;
        assert_int_equal(br_matcher_init(&m, cs[i].type, "a", cs[i].value, &err), 0);
        if (br_matcher_matches_empty(&m) != cs[i].empty) {
            fail_msg("a%s\"%s\": matches_empty wrong", br_match_type_str(cs[i].type), cs[i].value);
        }
        br_matcher_free(&m);
    }
}

static void test_matcher_fast_path_kinds(void **state)
{
    (void)state;
    const struct {
        const char *re;
        br_match_kind kind;
        size_t nset;
    } cs[] = {
        {".*", BR_MKIND_ALL, 0},           {".+", BR_MKIND_NONEMPTY, 0},
        {"foo", BR_MKIND_SET, 1},          {"a|b|c", BR_MKIND_SET, 3},
        {"(a|b)", BR_MKIND_SET, 2},        {"(?:a|b|a)", BR_MKIND_SET, 2},
        {"foo\\.bar", BR_MKIND_SET, 1},    {"", BR_MKIND_SET, 1},
        {"foo.*", BR_MKIND_PREFIX, 0},     {".*foo", BR_MKIND_SUFFIX, 0},
        {".*foo.*", BR_MKIND_CONTAINS, 0}, {"fo+", BR_MKIND_REGEX, 0},
        {"(?i)foo", BR_MKIND_REGEX, 0},    {"foo\\.*", BR_MKIND_REGEX, 0},
        {"(a)|(b)", BR_MKIND_REGEX, 0},    {"a.*|b", BR_MKIND_REGEX, 0},
        {"(?i:foo)", BR_MKIND_REGEX, 0},   {"(?i:foo).*", BR_MKIND_REGEX, 0},
        {".*(?i:foo)", BR_MKIND_REGEX, 0}, {".*(?i:foo).*", BR_MKIND_REGEX, 0},
        {"(?i:a)|b", BR_MKIND_REGEX, 0},   {"((?i)a)", BR_MKIND_REGEX, 0},
        {"(?-i:foo)", BR_MKIND_REGEX, 0},  {"(?s:a|b)", BR_MKIND_REGEX, 0},
    };
    for (size_t i = 0; i < N_OF(cs); i++) {
        br_matcher m;
        br_err err;
        assert_int_equal(br_matcher_init(&m, BR_MATCH_RE, "a", cs[i].re, &err), 0);
        if (m.kind != cs[i].kind) {
            fail_msg("%s: kind %d, want %d", cs[i].re, (int)m.kind, (int)cs[i].kind);
        }
        const char *const *vals;
        size_t n;
        bool has = br_matcher_value_set(&m, &vals, &n);
        assert_int_equal(has, cs[i].kind == BR_MKIND_SET);
        if (has) {
            assert_int_equal(n, cs[i].nset);
        }
        br_matcher_free(&m);
    }
    br_matcher m;
    br_err err;
    const char *const *vals;
    size_t n;
    assert_int_equal(br_matcher_init(&m, BR_MATCH_NRE, "a", "c|a\\.|b", &err), 0);
    assert_true(br_matcher_value_set(&m, &vals, &n));
    assert_int_equal(n, 3);
    assert_string_equal(vals[0], "a.");
    assert_string_equal(vals[1], "b");
    assert_string_equal(vals[2], "c");
    br_matcher_free(&m);
}

static void test_matcher_fast_paths_equal_regexec_results(void **state)
{
    (void)state;
    /* `fast` says whether the default matcher takes a fast path; patterns
     * with flag groups must not, and must agree with forced regexec. */
    const struct {
        const char *re;
        bool fast;
    } res[] = {
        {".*", true},
        {".+", true},
        {"foo", true},
        {"a|b|c", true},
        {"(a|b)", true},
        {"(?:ab|)", true},
        {"foo\\.bar", true},
        {"", true},
        {"foo.*", true},
        {".*foo", true},
        {".*foo.*", true},
        {"\\.\\*", true},
        {"a\\|b|c", true},
        {"x.*", true},
        {".*\xc3\xa9", true},
        {"(?i:PRO).*", false},
        {".*?(?i:PRO).*", false},
        {".*(?i:DUC).*", false},
        {".*(?i:TION)", false},
        {"((?i)PRO).*", false},
        {"(?i:PRODUCTION)", false},
        {"(?i:a)b", false},
        {"(?i:foo)", false},
        {"(?i:a|b)", false},
        {".*(?i:foo).*", false},
        {"(?is:a.b)", false},
        {"(?-s:x.*)", false},
    };
    const char *vals[] = {"",     "a",          "b",     "c",          "ab",       "foo",
                          "food", "xfoo",       "xfoox", "fo",         "foo.bar",  "fooxbar",
                          ".*",   "a|b",        "x\ny",  "\n",         "\xc3\xa9", "x\xc3\xa9",
                          "abc",  "FOO",        "xFoOx", "production", "PROD",     "xpro",
                          "pro",  "PRODUCTION", "Ab",    "AB",         "aB",       "A\nB",
                          "xyz",  "A",          "B"};
    for (size_t i = 0; i < N_OF(res); i++) {
        for (int t = BR_MATCH_RE; t <= BR_MATCH_NRE; t++) {
            br_matcher fast;
            br_matcher slow;
            br_err err;
            assert_int_equal(br_matcher_init(&fast, (br_match_type)t, "a", res[i].re, &err), 0);
            assert_int_equal(br_matcher_init_opts(&slow, (br_match_type)t, "a", res[i].re,
                                                  BR_MATCHER_NO_FAST_PATH, &err),
                             0);
            if ((fast.kind != BR_MKIND_REGEX) != res[i].fast) {
                fail_msg("%s: kind %d, fast path expected %d", res[i].re, (int)fast.kind,
                         res[i].fast);
            }
            assert_int_equal(slow.kind, BR_MKIND_REGEX);
            for (size_t j = 0; j < N_OF(vals); j++) {
                if (br_matcher_matches(&fast, vals[j]) != br_matcher_matches(&slow, vals[j])) {
                    fail_msg("%s on \"%s\": fast path disagrees with regexec", res[i].re, vals[j]);
                }
            }
            assert_int_equal(br_matcher_matches_empty(&fast), br_matcher_matches_empty(&slow));
            br_matcher_free(&fast);
            br_matcher_free(&slow);
        }
    }
}

static void test_matcher_format_writes_selector_text(void **state)
{
    (void)state;
    br_matcher m;
    br_err err;
    br_buf b;
    br_buf_init(&b, 0);
    assert_int_equal(br_matcher_init(&m, BR_MATCH_NRE, "path", "a\\.\"b\"", &err), 0);
    assert_int_equal(br_matcher_format(&m, &b), 0);
    assert_string_equal(br_buf_str(&b), "path!~\"a\\\\.\\\"b\\\"\"");
    br_matcher_free(&m);
    br_buf_free(&b);
}

struct mt_arg {
    const br_matcher *m;
    int hits;
};

static void *match_worker(void *p)
{
    struct mt_arg *a = p;
    char buf[32];
    for (int i = 0; i < 4000; i++) {
        snprintf(buf, sizeof(buf), "%d", 100 + i % 500);
        if (br_matcher_matches(a->m, buf)) {
            a->hits++;
        }
    }
    return NULL;
}

static void test_matcher_concurrent_matches_share_one_matcher(void **state)
{
    (void)state;
    br_matcher m;
    br_err err;
    assert_int_equal(br_matcher_init(&m, BR_MATCH_RE, "code", "5\\d\\d", &err), 0);
    pthread_t th[4];
    struct mt_arg args[4];
    for (int t = 0; t < 4; t++) {
        args[t].m = &m;
        args[t].hits = 0;
        assert_int_equal(pthread_create(&th[t], NULL, match_worker, &args[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        /* 100..599 cycled 8 times; 500..599 is 100 of each 500 */
        assert_int_equal(args[t].hits, 800);
    }
    br_matcher_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matcher_equality_and_inequality),
        cmocka_unit_test(test_matcher_regex_and_negated_regex),
        cmocka_unit_test(test_matcher_regex_is_fully_anchored),
        cmocka_unit_test(test_matcher_translates_perl_classes),
        cmocka_unit_test(test_matcher_translates_groups_and_quantifiers),
        cmocka_unit_test(test_matcher_translates_escaped_metacharacters),
        cmocka_unit_test(test_matcher_case_insensitive_prefix),
        cmocka_unit_test(test_matcher_flag_groups_select_as_prometheus_selector_tests),
        cmocka_unit_test(test_matcher_scoped_case_insensitive_group_matches_either_case),
        cmocka_unit_test(test_matcher_scoped_flag_does_not_leak_out_of_its_group),
        cmocka_unit_test(test_matcher_nested_flag_groups_set_and_clear_case),
        cmocka_unit_test(test_matcher_flag_groups_fold_classes_and_escaped_letters),
        cmocka_unit_test(test_matcher_combined_flags_set_i_and_s_together),
        cmocka_unit_test(test_matcher_dot_consumes_whole_utf8_characters),
        cmocka_unit_test(test_matcher_rejects_untranslatable_constructs_with_messages),
        cmocka_unit_test(test_matcher_rejects_bad_type_and_oversized_regex),
        cmocka_unit_test(test_matcher_refuses_exploding_nested_repetitions),
        cmocka_unit_test(test_matcher_nested_nullable_plus_compiles_and_matches),
        cmocka_unit_test(test_matcher_matches_empty_follows_prometheus),
        cmocka_unit_test(test_matcher_fast_path_kinds),
        cmocka_unit_test(test_matcher_fast_paths_equal_regexec_results),
        cmocka_unit_test(test_matcher_format_writes_selector_text),
        cmocka_unit_test(test_matcher_concurrent_matches_share_one_matcher),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
