/*
 * lexer.h — the PromQL tokenizer: turns query text into tokens for the
 * parser (parser.c), one at a time, on demand.
 *
 * It reproduces Prometheus' lexer (promql/parser/lex.go) token for token,
 * including its errors and their positions, because Prometheus reports the
 * first error it meets and the lexer's errors come first when the parser
 * pulls a bad token: `unexpected character inside braces: '*'`,
 * `bad number or duration syntax: "5mm"`, `unclosed left parenthesis`.
 * The lexer is modal like Prometheus': inside `{...}` only label-matcher
 * tokens exist (keywords are plain identifiers); right after `[` it reads
 * a duration expression; it counts parentheses and reports an unbalanced
 * `)` or an unclosed `(` itself.
 *
 * Tokens point into the input (pos, len); nothing is allocated. After an
 * ERROR token (message in lexer->errmsg, position = token pos) the lexer
 * only returns EOF. Strings are validated here (escapes, UTF-8) but not
 * decoded; the parser decodes them with br_promql_unquote (selector.h).
 *
 * A lexer is a plain struct owned by its caller; one thread at a time.
 */
#ifndef BR_PROMQL_LEXER_H
#define BR_PROMQL_LEXER_H

#include "engine/core/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum br_promql_tok {
    BR_TOK_EOF = 0,
    BR_TOK_ERROR,
    BR_TOK_COMMENT,
    BR_TOK_IDENTIFIER,
    BR_TOK_METRIC_IDENTIFIER, /* an identifier containing ':' */
    BR_TOK_NUMBER,            /* also Inf and NaN, any case */
    BR_TOK_DURATION,
    BR_TOK_STRING, /* quotes included */
    BR_TOK_LEFT_PAREN,
    BR_TOK_RIGHT_PAREN,
    BR_TOK_LEFT_BRACE,
    BR_TOK_RIGHT_BRACE,
    BR_TOK_LEFT_BRACKET,
    BR_TOK_RIGHT_BRACKET,
    BR_TOK_COMMA,
    BR_TOK_EQL, /* = */
    BR_TOK_COLON,

    /* Operators (desc "<op:...>"). */
    BR_TOK_OPERATORS_START_,
    BR_TOK_ADD,
    BR_TOK_SUB,
    BR_TOK_MUL,
    BR_TOK_DIV,
    BR_TOK_MOD,
    BR_TOK_POW,
    BR_TOK_EQLC,       /* == */
    BR_TOK_NEQ,        /* != */
    BR_TOK_LSS,        /* <  */
    BR_TOK_LTE,        /* <= */
    BR_TOK_GTR,        /* >  */
    BR_TOK_GTE,        /* >= */
    BR_TOK_EQL_REGEX,  /* =~ */
    BR_TOK_NEQ_REGEX,  /* !~ */
    BR_TOK_TRIM_UPPER, /* </ (native histogram trim, Prometheus 3) */
    BR_TOK_TRIM_LOWER, /* >/ */
    BR_TOK_AT,
    BR_TOK_LAND,
    BR_TOK_LOR,
    BR_TOK_LUNLESS,
    BR_TOK_ATAN2,
    BR_TOK_OPERATORS_END_,

    /* Aggregation operators (desc "<aggr:...>"). */
    BR_TOK_AGGREGATORS_START_,
    BR_TOK_AVG,
    BR_TOK_BOTTOMK,
    BR_TOK_COUNT,
    BR_TOK_COUNT_VALUES,
    BR_TOK_GROUP,
    BR_TOK_MAX,
    BR_TOK_MIN,
    BR_TOK_QUANTILE,
    BR_TOK_STDDEV,
    BR_TOK_STDVAR,
    BR_TOK_SUM,
    BR_TOK_TOPK,
    BR_TOK_LIMITK,
    BR_TOK_LIMIT_RATIO,
    BR_TOK_AGGREGATORS_END_,

    /* Keywords (desc "<...>"). */
    BR_TOK_KEYWORDS_START_,
    BR_TOK_BOOL,
    BR_TOK_BY,
    BR_TOK_GROUP_LEFT,
    BR_TOK_GROUP_RIGHT,
    BR_TOK_FILL, /* fill, fill_left, fill_right: keywords only before "(" */
    BR_TOK_FILL_LEFT,
    BR_TOK_FILL_RIGHT,
    BR_TOK_IGNORING,
    BR_TOK_OFFSET,
    BR_TOK_SMOOTHED,
    BR_TOK_ANCHORED,
    BR_TOK_ON,
    BR_TOK_WITHOUT,
    BR_TOK_KEYWORDS_END_,

    /* Preprocessors: @ start() / end(), duration step() / range(), max_of,
     * min_of (desc quoted text). */
    BR_TOK_START,
    BR_TOK_END,
    BR_TOK_STEP,
    BR_TOK_RANGE,
    BR_TOK_MAX_OF,
    BR_TOK_MIN_OF,
} br_promql_tok;

typedef struct br_promql_token {
    br_promql_tok type;
    uint32_t pos; /* byte offset of the first byte in the input */
    uint32_t len; /* bytes; 0 for EOF and ERROR */
} br_promql_token;

#define BR_PROMQL_LEX_ERR_SIZE 192

typedef enum br_promql_lex_mode {
    BR_LEX_STATEMENTS = 0,
    BR_LEX_INSIDE_BRACES,
    BR_LEX_DURATION_EXPR,
    BR_LEX_DONE,
} br_promql_lex_mode;

/* Lexer state. Fields are private to lexer.c except errmsg. */
typedef struct br_promql_lexer {
    const char *input; /* borrowed; must outlive the lexer */
    size_t len;
    size_t pos;   /* next byte to read */
    size_t start; /* first byte of the token being read */
    br_promql_lex_mode mode;
    int paren_depth;
    bool bracket_open;
    bool got_colon;                      /* a ':' was read since the last '[' */
    bool got_duration;                   /* a number or duration was read since the last '[' */
    char errmsg[BR_PROMQL_LEX_ERR_SIZE]; /* message of the last ERROR token */
} br_promql_lexer;

/* Starts lexing input[0..len) (borrowed; NUL bytes inside are ordinary
 * characters that no token accepts). */
void br_promql_lexer_init(br_promql_lexer *lx, const char *input, size_t len);

/* Reads the next token into *tok (caller's). COMMENT tokens are returned;
 * the parser skips them. */
void br_promql_lexer_next(br_promql_lexer *lx, br_promql_token *tok);

/* True for the token classes Prometheus groups (see the enum). */
bool br_promql_tok_is_operator(br_promql_tok t);
bool br_promql_tok_is_aggregator(br_promql_tok t);
bool br_promql_tok_is_keyword(br_promql_tok t);

/* Short name of a token type for tests and debugging ("IDENTIFIER",
 * "LEFT_PAREN", "SUM"...). Static string. */
const char *br_promql_tok_name(br_promql_tok t);

/*
 * Writes the description Prometheus puts after "unexpected " in syntax
 * errors for tok (text borrowed from input): `end of input`,
 * `identifier "foo"`, `number "1"`, `<op:*>`, `<aggr:sum>`, `<by>`,
 * `"("`. Returns out.
 */
const char *br_promql_tok_desc(const br_promql_token *tok, const char *input, char *out,
                               size_t size);

/*
 * Decodes one UTF-8 character of s[0..n) as Go does: returns the code
 * point and sets *width; an invalid or truncated sequence yields U+FFFD
 * with width 1; n == 0 yields -1 with width 0.
 */
int32_t br_promql_utf8_decode(const char *s, size_t n, size_t *width);

/* Writes a Go %q rendering of code point r ('a', '\n', '\x00'; -1, the
 * end of input, renders as '\ufffd' does) into out (size bytes, always
 * terminated). Returns out. */
const char *br_promql_quote_rune(int32_t r, char *out, size_t size);

/*
 * Appends s[0..n) (borrowed) to out (borrowed), double-quoted with Go's
 * strconv.Quote escapes (\" \\ \n \t ..., \xNN for invalid UTF-8 and
 * control bytes, \uNNNN for non-printable characters; printable UTF-8
 * stays as is). With
 * max_runes > 0 only the first max_runes characters are quoted (Go's
 * %.Nq). Returns 0 or BR_ELIMIT (out's cap).
 */
int br_promql_go_quote(br_buf *out, const char *s, size_t n, size_t max_runes);

#endif
