/*
 * test_lexer.c — unit tests for engine/promql/lexer: token streams for
 * each lexical class (numbers, durations, strings, identifiers, keywords,
 * operators, brackets, braces, comments), the experimental syntax
 * (duration arithmetic, anchored/smoothed, fill), the lexer's own error messages
 * and positions as Prometheus reports them, the descriptions syntax errors
 * use, and the Go-style quoting helpers.
 */
/* cmocka needs these first, in this order. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "engine/core/buf.h"
#include "engine/promql/lexer.h"

#include <stdio.h>
#include <string.h>

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Lexes input and renders the tokens as "TYPE:text TYPE:text ...",
 * comments included, ending with EOF or "ERROR@pos:message".
 */
static void lex_all(const char *input, char *out, size_t size)
{
    br_promql_lexer lx;
    br_promql_lexer_init(&lx, input, strlen(input));
    br_buf b;
    br_buf_init(&b, 0);
    for (int guard = 0; guard < 1000; guard++) {
        br_promql_token t;
        br_promql_lexer_next(&lx, &t);
        if (b.len > 0) {
            br_buf_putc(&b, ' ');
        }
        if (t.type == BR_TOK_ERROR) {
            br_buf_printf(&b, "ERROR@%u:%s", t.pos, lx.errmsg);
            break;
        }
        if (t.type == BR_TOK_EOF) {
            br_buf_puts(&b, "EOF");
            break;
        }
        br_buf_printf(&b, "%s:%.*s", br_promql_tok_name(t.type), (int)t.len, input + t.pos);
    }
    snprintf(out, size, "%s", br_buf_str(&b));
    br_buf_free(&b);
}

struct lex_case {
    const char *input;
    const char *want;
};

static void check_cases(const struct lex_case *cs, size_t n)
{
    char got[1024];
    for (size_t i = 0; i < n; i++) {
        lex_all(cs[i].input, got, sizeof(got));
        if (strcmp(got, cs[i].want) != 0) {
            fail_msg("lexing %s\n  got:  %s\n  want: %s", cs[i].input, got, cs[i].want);
        }
    }
}

static void test_lexer_numbers_in_every_notation(void **state)
{
    (void)state;
    static const struct lex_case cs[] = {
        {"1", "NUMBER:1 EOF"},         {"4.23", "NUMBER:4.23 EOF"},
        {".3", "NUMBER:.3 EOF"},       {"5.", "NUMBER:5. EOF"},
        {"2e-3", "NUMBER:2e-3 EOF"},   {"12.34E+6", "NUMBER:12.34E+6 EOF"},
        {"0x2F", "NUMBER:0x2F EOF"},   {"0X_1f", "NUMBER:0X_1f EOF"},
        {"1_000", "NUMBER:1_000 EOF"}, {"Inf", "NUMBER:Inf EOF"},
        {"nAn", "NUMBER:nAn EOF"},     {"INF + NAN", "NUMBER:INF ADD:+ NUMBER:NAN EOF"},
        {"-1", "SUB:- NUMBER:1 EOF"},
    };
    check_cases(cs, N_OF(cs));
}

static void test_lexer_durations_and_their_errors(void **state)
{
    (void)state;
    static const struct lex_case cs[] = {
        {"5m", "DURATION:5m EOF"},
        {"1h30m", "DURATION:1h30m EOF"},
        {"1y", "DURATION:1y EOF"},
        {"500ms", "DURATION:500ms EOF"},
        {"1d2h3m4s5ms", "DURATION:1d2h3m4s5ms EOF"},
        {"5y1hs", "DURATION:5y1hs EOF"}, /* bad units are the parser's business */
        {"5mm", "ERROR@0:bad number or duration syntax: \"5mm\""},
        {"5m1", "ERROR@0:bad number or duration syntax: \"5m1\""},
        {"0deadbeef", "ERROR@0:bad number or duration syntax: \"0de\""},
        {"2.5.", "ERROR@0:bad number or duration syntax: \"2.5.\""},
        {"100..4", "ERROR@0:bad number or duration syntax: \"100..\""},
        {"0xee", "ERROR@0:bad number or duration syntax: \"0xee\""},
        {"12.34e", "ERROR@0:bad number or duration syntax: \"12.34e\""},
    };
    check_cases(cs, N_OF(cs));
}

static void test_lexer_strings_of_three_quote_kinds(void **state)
{
    (void)state;
    static const struct lex_case cs[] = {
        {"\"a\\\"b\"", "STRING:\"a\\\"b\" EOF"},
        {"'a\\'b'", "STRING:'a\\'b' EOF"},
        {"`raw\\n`", "STRING:`raw\\n` EOF"},
        {"\"\\a\\b\\f\\n\\r\\t\\v\\\\ \\xFF\\377\\u1234\\U00010111\"",
         "STRING:\"\\a\\b\\f\\n\\r\\t\\v\\\\ \\xFF\\377\\u1234\\U00010111\" EOF"},
        {"\"multi\nline\"", "ERROR@0:unterminated quoted string"},
        {"`multi\nline`", "STRING:`multi\nline` EOF"},
        {"\"\\c\"", "ERROR@0:unknown escape sequence U+0063 'c'"},
        {"\"\\x.\"", "ERROR@0:illegal character U+002E '.' in escape sequence"},
        {"\"\\", "ERROR@0:escape sequence not terminated"},
        {"\"\\'\"", "ERROR@0:unknown escape sequence U+0027 '''"},
        {"'\\\"'", "ERROR@0:unknown escape sequence U+0022 '\"'"},
        {"\"\\400\"", "ERROR@0:escape sequence is an invalid Unicode code point"},
        {"\"\\uD800\"", "ERROR@0:escape sequence is an invalid Unicode code point"},
        {"x + \"\xff\"", "IDENTIFIER:x ADD:+ ERROR@4:invalid UTF-8 rune"},
        {"`\\``", "STRING:`\\` ERROR@3:unterminated raw string"},
    };
    check_cases(cs, N_OF(cs));
}

static void test_lexer_identifiers_metric_names_and_keywords(void **state)
{
    (void)state;
    static const struct lex_case cs[] = {
        {"foo", "IDENTIFIER:foo EOF"},
        {"_foo9", "IDENTIFIER:_foo9 EOF"},
        {"job:rate5m:sum", "METRIC_IDENTIFIER:job:rate5m:sum EOF"},
        {":foo", "METRIC_IDENTIFIER::foo EOF"},
        {"SUM BY without On ignoring", "SUM:SUM BY:BY WITHOUT:without ON:On IGNORING:ignoring EOF"},
        {"and or unless atan2 bool offset",
         "LAND:and LOR:or LUNLESS:unless ATAN2:atan2 BOOL:bool OFFSET:offset EOF"},
        {"group_left group_right count_values topk bottomk quantile limitk limit_ratio",
         "GROUP_LEFT:group_left GROUP_RIGHT:group_right COUNT_VALUES:count_values TOPK:topk "
         "BOTTOMK:bottomk QUANTILE:quantile LIMITK:limitk LIMIT_RATIO:limit_ratio EOF"},
        {"start end step range max_of min_of",
         "START:start END:end STEP:step RANGE:range MAX_OF:max_of MIN_OF:min_of EOF"},
        {"fill + fill (1)",
         "IDENTIFIER:fill ADD:+ FILL:fill LEFT_PAREN:( NUMBER:1 RIGHT_PAREN:) EOF"},
        {"infinity", "IDENTIFIER:infinity EOF"},
    };
    check_cases(cs, N_OF(cs));
}

static void test_lexer_operators_and_punctuation(void **state)
{
    (void)state;
    static const struct lex_case cs[] = {
        {"+ - * / % ^ == != > < >= <= @",
         "ADD:+ SUB:- MUL:* DIV:/ MOD:% POW:^ EQLC:== NEQ:!= GTR:> LSS:< GTE:>= LTE:<= AT:@ EOF"},
        {"a </ b >/ c", "IDENTIFIER:a TRIM_UPPER:</ IDENTIFIER:b TRIM_LOWER:>/ IDENTIFIER:c EOF"},
        {"f(a, b)",
         "IDENTIFIER:f LEFT_PAREN:( IDENTIFIER:a COMMA:, IDENTIFIER:b RIGHT_PAREN:) EOF"},
        {"a = b", "IDENTIFIER:a EQL:= IDENTIFIER:b EOF"},
        {"1 =~ 1", "NUMBER:1 ERROR@2:unexpected character after '=': '~'"},
        {"1 !~ 1", "NUMBER:1 ERROR@2:unexpected character after '!': '~'"},
        {"1 !", "NUMBER:1 ERROR@2:unexpected character after '!': '\xef\xbf\xbd'"},
        {".", "ERROR@0:unexpected character: '.'"},
        {"a ; b", "IDENTIFIER:a ERROR@2:unexpected character: ';'"},
        {"\x01", "ERROR@0:unexpected character: '\\x01'"},
        {"é", "ERROR@0:unexpected character: 'é'"},
    };
    check_cases(cs, N_OF(cs));
}

static void test_lexer_braces_turn_keywords_into_identifiers(void **state)
{
    (void)state;
    static const struct lex_case cs[] = {
        {"foo{by=\"x\", offset!~'y'}",
         "IDENTIFIER:foo LEFT_BRACE:{ IDENTIFIER:by EQL:= STRING:\"x\" COMMA:, "
         "IDENTIFIER:offset NEQ_REGEX:!~ STRING:'y' RIGHT_BRACE:} EOF"},
        {"{a=~`b`,c!=\"d\",}",
         "LEFT_BRACE:{ IDENTIFIER:a EQL_REGEX:=~ STRING:`b` COMMA:, IDENTIFIER:c NEQ:!= "
         "STRING:\"d\" COMMA:, RIGHT_BRACE:} EOF"},
        {"{\"my.metric\"}", "LEFT_BRACE:{ STRING:\"my.metric\" RIGHT_BRACE:} EOF"},
        {"{", "LEFT_BRACE:{ ERROR@1:unexpected end of input inside braces"},
        {"foo{a*\"b\"}", "IDENTIFIER:foo LEFT_BRACE:{ IDENTIFIER:a ERROR@5:unexpected character "
                         "inside braces: '*'"},
        {"foo{a:b=\"b\"}", "IDENTIFIER:foo LEFT_BRACE:{ IDENTIFIER:a ERROR@5:unexpected character "
                           "inside braces: ':'"},
        {"{a!b}",
         "LEFT_BRACE:{ IDENTIFIER:a ERROR@2:unexpected character after '!' inside braces: 'b'"},
        {"{{", "LEFT_BRACE:{ ERROR@1:unexpected left brace '{'"},
        {"}", "ERROR@0:unexpected character: '}'"},
    };
    check_cases(cs, N_OF(cs));
}

static void test_lexer_brackets_read_ranges_and_subqueries(void **state)
{
    (void)state;
    static const struct lex_case cs[] = {
        {"x[5m]", "IDENTIFIER:x LEFT_BRACKET:[ DURATION:5m RIGHT_BRACKET:] EOF"},
        {"x[ 5m : 1m ]",
         "IDENTIFIER:x LEFT_BRACKET:[ DURATION:5m COLON:: DURATION:1m RIGHT_BRACKET:] EOF"},
        {"x[5m:]", "IDENTIFIER:x LEFT_BRACKET:[ DURATION:5m COLON:: RIGHT_BRACKET:] EOF"},
        {"x[90]", "IDENTIFIER:x LEFT_BRACKET:[ NUMBER:90 RIGHT_BRACKET:] EOF"},
        {"x[step()]",
         "IDENTIFIER:x LEFT_BRACKET:[ STEP:step LEFT_PAREN:( RIGHT_PAREN:) RIGHT_BRACKET:] EOF"},
        {"x[5m x 5m]",
         "IDENTIFIER:x LEFT_BRACKET:[ DURATION:5m ERROR@5:unexpected character: 'x', expected ':'"},
        {"x[5m s 5m]",
         "IDENTIFIER:x LEFT_BRACKET:[ DURATION:5m ERROR@5:unexpected character: 's', expected ':'"},
        {"x[\"5m\"]", "IDENTIFIER:x LEFT_BRACKET:[ ERROR@2:unexpected character in duration "
                      "expression: '\"'"},
        {"x[",
         "IDENTIFIER:x LEFT_BRACKET:[ ERROR@2:unexpected end of input in duration expression"},
        {"x[5m", "IDENTIFIER:x LEFT_BRACKET:[ DURATION:5m ERROR@4:unclosed left bracket"},
        {"x[5m:1m:1m]", "IDENTIFIER:x LEFT_BRACKET:[ DURATION:5m COLON:: DURATION:1m "
                        "ERROR@7:unexpected colon ':'"},
        {"x]", "IDENTIFIER:x ERROR@1:unexpected right bracket ']'"},
        {"x[1m[", "IDENTIFIER:x LEFT_BRACKET:[ DURATION:1m ERROR@4:unexpected left bracket '['"},
        {"x # no comment [here]\n[5m]", "IDENTIFIER:x COMMENT:# no comment [here] LEFT_BRACKET:[ "
                                        "DURATION:5m RIGHT_BRACKET:] EOF"},
    };
    check_cases(cs, N_OF(cs));
}

/* The token streams of the experimental syntax the parser accepts with
 * BR_PROMQL_PARSE_EXPERIMENTAL: duration arithmetic inside brackets and
 * after offset, the anchored/smoothed modifiers, fill modifiers. */
static void test_lexer_experimental_syntax_token_streams(void **state)
{
    (void)state;
    static const struct lex_case cs[] = {
        {"x[5m+1m]", "IDENTIFIER:x LEFT_BRACKET:[ DURATION:5m ADD:+ DURATION:1m "
                     "RIGHT_BRACKET:] EOF"},
        {"x[1h/2:STEP()*2]", "IDENTIFIER:x LEFT_BRACKET:[ DURATION:1h DIV:/ NUMBER:2 COLON:: "
                             "STEP:STEP LEFT_PAREN:( RIGHT_PAREN:) MUL:* NUMBER:2 "
                             "RIGHT_BRACKET:] EOF"},
        {"x[min_of(1m,range())]", "IDENTIFIER:x LEFT_BRACKET:[ MIN_OF:min_of LEFT_PAREN:( "
                                  "DURATION:1m COMMA:, RANGE:range LEFT_PAREN:( RIGHT_PAREN:) "
                                  "RIGHT_PAREN:) RIGHT_BRACKET:] EOF"},
        {"x[-5m^2%3]", "IDENTIFIER:x LEFT_BRACKET:[ SUB:- DURATION:5m POW:^ NUMBER:2 MOD:% "
                       "NUMBER:3 RIGHT_BRACKET:] EOF"},
        {"x offset -(1m*2)", "IDENTIFIER:x OFFSET:offset SUB:- LEFT_PAREN:( DURATION:1m MUL:* "
                             "NUMBER:2 RIGHT_PAREN:) EOF"},
        {"x offset max_of(step(), 1s)", "IDENTIFIER:x OFFSET:offset MAX_OF:max_of LEFT_PAREN:( "
                                        "STEP:step LEFT_PAREN:( RIGHT_PAREN:) COMMA:, DURATION:1s "
                                        "RIGHT_PAREN:) EOF"},
        {"x[5m] anchored", "IDENTIFIER:x LEFT_BRACKET:[ DURATION:5m RIGHT_BRACKET:] "
                           "ANCHORED:anchored EOF"},
        {"x smoothed offset 1m", "IDENTIFIER:x SMOOTHED:smoothed OFFSET:offset DURATION:1m EOF"},
        {"a + fill_left(1) fill_right(-2) b",
         "IDENTIFIER:a ADD:+ FILL_LEFT:fill_left LEFT_PAREN:( NUMBER:1 RIGHT_PAREN:) "
         "FILL_RIGHT:fill_right LEFT_PAREN:( SUB:- NUMBER:2 RIGHT_PAREN:) IDENTIFIER:b EOF"},
        {"x[5m+y]", "IDENTIFIER:x LEFT_BRACKET:[ DURATION:5m ADD:+ "
                    "ERROR@5:unexpected character: 'y', expected ':'"},
    };
    check_cases(cs, N_OF(cs));
}

static void test_lexer_parentheses_are_counted(void **state)
{
    (void)state;
    static const struct lex_case cs[] = {
        {"((1)",
         "LEFT_PAREN:( LEFT_PAREN:( NUMBER:1 RIGHT_PAREN:) ERROR@4:unclosed left parenthesis"},
        {"(1))", "LEFT_PAREN:( NUMBER:1 RIGHT_PAREN:) ERROR@4:unexpected right parenthesis ')'"},
        {"(", "LEFT_PAREN:( ERROR@1:unclosed left parenthesis"},
    };
    check_cases(cs, N_OF(cs));
}

static void test_lexer_comments_run_to_end_of_line(void **state)
{
    (void)state;
    static const struct lex_case cs[] = {
        {"# only a comment", "COMMENT:# only a comment EOF"},
        {"a # c1\r\n+ b", "IDENTIFIER:a COMMENT:# c1 ADD:+ IDENTIFIER:b EOF"},
        {"{a=\"b\" # inside\n}",
         "LEFT_BRACE:{ IDENTIFIER:a EQL:= STRING:\"b\" COMMENT:# inside RIGHT_BRACE:} EOF"},
    };
    check_cases(cs, N_OF(cs));
}

static void test_lexer_eof_position_is_end_of_input(void **state)
{
    (void)state;
    const char *in = "a  ";
    br_promql_lexer lx;
    br_promql_lexer_init(&lx, in, strlen(in));
    br_promql_token t;
    br_promql_lexer_next(&lx, &t);
    assert_int_equal(t.type, BR_TOK_IDENTIFIER);
    br_promql_lexer_next(&lx, &t);
    assert_int_equal(t.type, BR_TOK_EOF);
    assert_int_equal(t.pos, 3);
    br_promql_lexer_next(&lx, &t); /* stays at EOF */
    assert_int_equal(t.type, BR_TOK_EOF);
}

static void test_lexer_input_with_nul_byte_is_rejected_there(void **state)
{
    (void)state;
    const char in[] = {'a', ' ', '\0', 'b'};
    br_promql_lexer lx;
    br_promql_lexer_init(&lx, in, sizeof(in));
    br_promql_token t;
    br_promql_lexer_next(&lx, &t);
    assert_int_equal(t.type, BR_TOK_IDENTIFIER);
    br_promql_lexer_next(&lx, &t);
    assert_int_equal(t.type, BR_TOK_ERROR);
    assert_int_equal(t.pos, 2);
    assert_string_equal(lx.errmsg, "unexpected character: '\\x00'");
}

static void test_lexer_token_descriptions_match_prometheus(void **state)
{
    (void)state;
    static const struct {
        const char *input;
        const char *want;
    } cs[] = {
        {"foo", "identifier \"foo\""},
        {"foo:bar", "metric identifier \"foo:bar\""},
        {"12", "number \"12\""},
        {"123456789012", "number \"1234567890\"..."},
        {"5m", "duration \"5m\""},
        {"\"ab\"", "string \"\\\"ab\\\"\""},
        {"\"abcdefghijk\"", "string \"\\\"abcdefghi\"..."},
        {"*", "<op:*>"},
        {"and", "<op:and>"},
        {"@", "<op:@>"},
        {"SUM", "<aggr:SUM>"},
        {"by", "<by>"},
        {"group_left", "<group_left>"},
        {"(", "\"(\""},
        {",", "\",\""},
        {"start", "\"start\""},
        {"", "end of input"},
    };
    for (size_t i = 0; i < N_OF(cs); i++) {
        br_promql_lexer lx;
        br_promql_lexer_init(&lx, cs[i].input, strlen(cs[i].input));
        br_promql_token t;
        br_promql_lexer_next(&lx, &t);
        char desc[128];
        br_promql_tok_desc(&t, cs[i].input, desc, sizeof(desc));
        if (strcmp(desc, cs[i].want) != 0) {
            fail_msg("desc of %s: got %s, want %s", cs[i].input, desc, cs[i].want);
        }
    }
}

static void test_lexer_go_quote_escapes_like_strconv_quote(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t n;
        const char *want;
    } cs[] = {
        {"plain", 5, "\"plain\""},
        {"q\"b\\", 4, "\"q\\\"b\\\\\""},
        {"\a\b\f\n\r\t\v", 7, "\"\\a\\b\\f\\n\\r\\t\\v\""},
        {"\x01\x7f", 2, "\"\\x01\\x7f\""},
        {"\xff", 1, "\"\\xff\""},
        {"\0z", 2, "\"\\x00z\""},
        {"\xe2\x98\xba", 3, "\"\xe2\x98\xba\""},         /* printable: kept */
        {"\xc2\xa0", 2, "\"\\u00a0\""},                  /* no-break space */
        {"\xe2\x80\xa8", 3, "\"\\u2028\""},              /* line separator */
        {"\xf0\x90\x84\x91", 4, "\"\xf0\x90\x84\x91\""}, /* U+10111 */
    };
    for (size_t i = 0; i < N_OF(cs); i++) {
        br_buf b;
        br_buf_init(&b, 0);
        assert_int_equal(br_promql_go_quote(&b, cs[i].in, cs[i].n, 0), 0);
        if (strcmp(br_buf_str(&b), cs[i].want) != 0) {
            fail_msg("case %zu: got %s, want %s", i, br_buf_str(&b), cs[i].want);
        }
        br_buf_free(&b);
    }
    br_buf b;
    br_buf_init(&b, 0);
    assert_int_equal(br_promql_go_quote(&b, "abcdef", 6, 3), 0);
    assert_string_equal(br_buf_str(&b), "\"abc\"");
    br_buf_free(&b);
}

static void test_lexer_quote_rune_and_utf8_decode(void **state)
{
    (void)state;
    char q[16];
    assert_string_equal(br_promql_quote_rune('a', q, sizeof(q)), "'a'");
    assert_string_equal(br_promql_quote_rune('\'', q, sizeof(q)), "'\\''");
    assert_string_equal(br_promql_quote_rune('\n', q, sizeof(q)), "'\\n'");
    assert_string_equal(br_promql_quote_rune(0, q, sizeof(q)), "'\\x00'");
    assert_string_equal(br_promql_quote_rune(0x80, q, sizeof(q)), "'\\u0080'");
    assert_string_equal(br_promql_quote_rune(-1, q, sizeof(q)), "'\xef\xbf\xbd'");
    size_t w;
    assert_int_equal(br_promql_utf8_decode("\xe2\x98\xba", 3, &w), 0x263A);
    assert_int_equal(w, 3);
    assert_int_equal(br_promql_utf8_decode("\xe2\x98", 2, &w), 0xFFFD);
    assert_int_equal(w, 1);
    assert_int_equal(br_promql_utf8_decode("\xc0\x80", 2, &w), 0xFFFD); /* overlong */
    assert_int_equal(w, 1);
    assert_int_equal(br_promql_utf8_decode("\xed\xa0\x80", 3, &w), 0xFFFD); /* surrogate */
    assert_int_equal(br_promql_utf8_decode("", 0, &w), -1);
    assert_int_equal(w, 0);
}

static void test_lexer_token_classes(void **state)
{
    (void)state;
    assert_true(br_promql_tok_is_operator(BR_TOK_ADD));
    assert_true(br_promql_tok_is_operator(BR_TOK_LUNLESS));
    assert_false(br_promql_tok_is_operator(BR_TOK_SUM));
    assert_true(br_promql_tok_is_aggregator(BR_TOK_LIMIT_RATIO));
    assert_false(br_promql_tok_is_aggregator(BR_TOK_BY));
    assert_true(br_promql_tok_is_keyword(BR_TOK_WITHOUT));
    assert_false(br_promql_tok_is_keyword(BR_TOK_START));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lexer_numbers_in_every_notation),
        cmocka_unit_test(test_lexer_durations_and_their_errors),
        cmocka_unit_test(test_lexer_strings_of_three_quote_kinds),
        cmocka_unit_test(test_lexer_identifiers_metric_names_and_keywords),
        cmocka_unit_test(test_lexer_operators_and_punctuation),
        cmocka_unit_test(test_lexer_braces_turn_keywords_into_identifiers),
        cmocka_unit_test(test_lexer_brackets_read_ranges_and_subqueries),
        cmocka_unit_test(test_lexer_experimental_syntax_token_streams),
        cmocka_unit_test(test_lexer_parentheses_are_counted),
        cmocka_unit_test(test_lexer_comments_run_to_end_of_line),
        cmocka_unit_test(test_lexer_eof_position_is_end_of_input),
        cmocka_unit_test(test_lexer_input_with_nul_byte_is_rejected_there),
        cmocka_unit_test(test_lexer_token_descriptions_match_prometheus),
        cmocka_unit_test(test_lexer_go_quote_escapes_like_strconv_quote),
        cmocka_unit_test(test_lexer_quote_rune_and_utf8_decode),
        cmocka_unit_test(test_lexer_token_classes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
