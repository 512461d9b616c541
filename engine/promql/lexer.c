/*
 * lexer.c — the PromQL tokenizer. See lexer.h for its role.
 *
 * Structure: one function per lexer mode (statements, inside braces,
 * duration expression), each reading runes with next/backup/peek/accept
 * helpers over Go-style UTF-8 decoding, so that positions, the text of
 * `bad number or duration syntax: "..."` and the characters quoted in
 * messages are the ones Prometheus prints. The rules reproduced here, in
 * our own code, are the observable behaviour of Prometheus' lexer:
 *
 *  - numbers: optional 0x prefix, digits, one '.', one exponent with sign,
 *    '_' between digits; the number must not be followed by a letter or
 *    digit, else the text is retried as a duration (units y w d h m s ms,
 *    repeated number-unit pairs) and otherwise rejected;
 *  - identifiers may contain ':' (then METRIC_IDENTIFIER); keywords match
 *    case-insensitively; inf and nan are numbers; fill, fill_left and
 *    fill_right are keywords only when "(" follows;
 *  - after '[' a duration expression is read (numbers, durations, + - * /
 *    % ^ ( ) , : and step, range, max_of, min_of); after its first number
 *    lexing continues in statement mode, where letters other than those
 *    keywords are "expected ':'" errors while the bracket is open;
 *  - strings: "..." and '...' with Go escapes (validated here), `...` raw;
 *    U+FFFD and invalid UTF-8 are rejected inside strings;
 *  - '#' starts a comment to the end of the line, except inside brackets.
 *
 * Errors are positioned where Prometheus positions them: at the start of
 * the token being read, which for ")" and ":" errors is just after it.
 */
#include "lexer.h"

#include "engine/core/err.h"
#include "engine/core/utf8.h"

#include <stdio.h>
#include <string.h>

#define EOF_RUNE (-1)
#define RUNE_ERR 0xFFFD
#define MAX_RUNE 0x10FFFF

/* ---------------------------------------------------------------------
 * UTF-8 and Go-style quoting
 * --------------------------------------------------------------------- */

int32_t br_promql_utf8_decode(const char *s, size_t n, size_t *width)
{
    int32_t r = br_utf8_decode(s, n, width);
    if (r >= 0) {
        return r;
    }
    return n == 0 ? EOF_RUNE : RUNE_ERR;
}

/*
 * Approximates Go's unicode.IsPrint: letters, marks, numbers, punctuation,
 * symbols and the ASCII space. Non-ASCII exclusions cover controls,
 * non-ASCII spaces, line/paragraph separators, the common format
 * characters, private use, surrogates, noncharacters and the unassigned
 * planes; unassigned code points inside assigned blocks count as
 * printable (Go would escape them).
 */
static bool go_is_print(int32_t r)
{
    if (r < 0x20) {
        return false;
    }
    if (r < 0x7F) {
        return true;
    }
    if (r <= 0x9F || r == 0xA0 || r == 0xAD) {
        return false;
    }
    if ((r >= 0x600 && r <= 0x605) || r == 0x61C || r == 0x6DD || r == 0x70F || r == 0x8E2 ||
        r == 0x1680 || r == 0x180E) {
        return false;
    }
    if ((r >= 0x2000 && r <= 0x200F) || (r >= 0x2028 && r <= 0x202F) ||
        (r >= 0x205F && r <= 0x206F) || r == 0x3000) {
        return false;
    }
    if ((r >= 0xD800 && r <= 0xF8FF) || (r >= 0xFDD0 && r <= 0xFDEF) || r == 0xFEFF ||
        (r >= 0xFFF9 && r <= 0xFFFB) || r == 0xFFFE || r == 0xFFFF) {
        return false;
    }
    if ((r & 0xFFFE) == 0xFFFE) {
        return false; /* plane-final noncharacters */
    }
    if (r == 0x110BD || r == 0x110CD || (r >= 0x13430 && r <= 0x1343F) ||
        (r >= 0x1BCA0 && r <= 0x1BCA3) || (r >= 0x1D173 && r <= 0x1D17A)) {
        return false;
    }
    if (r > 0x323AF) {
        return false; /* unassigned planes, tags, private use planes */
    }
    return true;
}

static const char hexdig[] = "0123456789abcdef";



/* Appends the escaped form of r for a string quoted with quote. */
static int append_escaped_rune(br_buf *out, int32_t r, char quote)
{
    char tmp[16];
    if (r == quote || r == '\\') {
        tmp[0] = '\\';
        tmp[1] = (char)r;
        return br_buf_append(out, tmp, 2);
    }
    if (go_is_print(r)) {
        unsigned char b[4];
        return br_buf_append(out, b, br_utf8_encode((uint32_t)r, b));
    }
    switch (r) {
    case '\a':
        return br_buf_puts(out, "\\a");
    case '\b':
        return br_buf_puts(out, "\\b");
    case '\f':
        return br_buf_puts(out, "\\f");
    case '\n':
        return br_buf_puts(out, "\\n");
    case '\r':
        return br_buf_puts(out, "\\r");
    case '\t':
        return br_buf_puts(out, "\\t");
    case '\v':
        return br_buf_puts(out, "\\v");
    default:
        break;
    }
    if (r < ' ' || r == 0x7F) {
        tmp[0] = '\\';
        tmp[1] = 'x';
        tmp[2] = hexdig[(r >> 4) & 0xF];
        tmp[3] = hexdig[r & 0xF];
        return br_buf_append(out, tmp, 4);
    }
    if (r > MAX_RUNE || (r >= 0xD800 && r <= 0xDFFF)) {
        r = RUNE_ERR;
    }
    if (r < 0x10000) {
        snprintf(tmp, sizeof(tmp), "\\u%04x", (unsigned)r);
    } else {
        snprintf(tmp, sizeof(tmp), "\\U%08x", (unsigned)r);
    }
    return br_buf_puts(out, tmp);
}

int br_promql_go_quote(br_buf *out, const char *s, size_t n, size_t max_runes)
{
    int rc = br_buf_putc(out, '"');
    size_t i = 0;
    size_t runes = 0;
    while (rc == 0 && i < n && (max_runes == 0 || runes < max_runes)) {
        size_t w;
        int32_t r = br_promql_utf8_decode(s + i, n - i, &w);
        if (r == RUNE_ERR && w == 1) {
            /* An invalid byte (or a literal U+FFFD, which is 3 bytes). */
            char tmp[4] = {'\\', 'x', hexdig[((unsigned char)s[i]) >> 4],
                           hexdig[((unsigned char)s[i]) & 0xF]};
            rc = br_buf_append(out, tmp, 4);
        } else {
            rc = append_escaped_rune(out, r, '"');
        }
        i += w;
        runes++;
    }
    if (rc == 0) {
        rc = br_buf_putc(out, '"');
    }
    return rc;
}

const char *br_promql_quote_rune(int32_t r, char *out, size_t size)
{
    br_buf b;
    br_buf_init(&b, 64);
    if (r < 0 || r > MAX_RUNE) {
        r = RUNE_ERR;
    }
    br_buf_putc(&b, '\'');
    append_escaped_rune(&b, r, '\'');
    br_buf_putc(&b, '\'');
    snprintf(out, size, "%s", br_buf_str(&b));
    br_buf_free(&b);
    return out;
}

/* Go's %#U: U+0063 'c', the character itself between plain single
 * quotes (no escaping), only for printable runes. */
static const char *format_unicode(int32_t r, char *out, size_t size)
{
    if (go_is_print(r)) {
        unsigned char b[4];
        size_t n = br_utf8_encode((uint32_t)r, b);
        snprintf(out, size, "U+%04X '%.*s'", (unsigned)r, (int)n, (const char *)b);
    } else {
        snprintf(out, size, "U+%04X", (unsigned)r);
    }
    return out;
}

/* ---------------------------------------------------------------------
 * Reading helpers
 * --------------------------------------------------------------------- */

typedef struct lexstate {
    br_promql_lexer *lx;
    br_promql_token *tok;
    size_t width; /* bytes of the last rune read by next() */
} lexstate;

static int32_t next(lexstate *s)
{
    br_promql_lexer *lx = s->lx;
    int32_t r = br_promql_utf8_decode(lx->input + lx->pos, lx->len - lx->pos, &s->width);
    lx->pos += s->width;
    return r;
}

static void backup(lexstate *s)
{
    s->lx->pos -= s->width;
}

static int32_t peek(lexstate *s)
{
    int32_t r = next(s);
    backup(s);
    return r;
}

static bool in_set(const char *valid, int32_t r)
{
    return r > 0 && r < 0x80 && strchr(valid, (int)r) != NULL;
}

static bool accept(lexstate *s, const char *valid)
{
    if (in_set(valid, next(s))) {
        return true;
    }
    backup(s);
    return false;
}

static void accept_run(lexstate *s, const char *valid)
{
    while (in_set(valid, next(s))) {
    }
    backup(s);
}

static bool is_space(int32_t r)
{
    return r == ' ' || r == '\t' || r == '\n' || r == '\r';
}

static bool is_digit(int32_t r)
{
    return r >= '0' && r <= '9';
}

static bool is_alpha(int32_t r)
{
    return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
}

static bool is_alnum(int32_t r)
{
    return is_alpha(r) || is_digit(r);
}

static void emit(lexstate *s, br_promql_tok type)
{
    br_promql_lexer *lx = s->lx;
    s->tok->type = type;
    s->tok->pos = (uint32_t)lx->start;
    s->tok->len = (uint32_t)(lx->pos - lx->start);
    lx->start = lx->pos;
}

static void ignore(lexstate *s)
{
    s->lx->start = s->lx->pos;
}

/* Emits an ERROR token at the current token start and ends lexing. */
static bool errorf(lexstate *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool errorf(lexstate *s, const char *fmt, ...)
{
    br_promql_lexer *lx = s->lx;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lx->errmsg, sizeof(lx->errmsg), fmt, ap);
    va_end(ap);
    s->tok->type = BR_TOK_ERROR;
    s->tok->pos = (uint32_t)lx->start;
    s->tok->len = 0;
    lx->mode = BR_LEX_DONE;
    return true;
}

/* Go's %q of a byte range, for messages. */
static const char *quote_text(const char *p, size_t n, char *out, size_t size)
{
    br_buf b;
    br_buf_init(&b, size);
    br_promql_go_quote(&b, p, n, 0);
    snprintf(out, size, "%s", br_buf_str(&b));
    br_buf_free(&b);
    return out;
}

/* ---------------------------------------------------------------------
 * Keywords
 * --------------------------------------------------------------------- */

static const struct {
    const char *word;
    br_promql_tok tok;
} keywords[] = {
    {"and", BR_TOK_LAND},
    {"or", BR_TOK_LOR},
    {"unless", BR_TOK_LUNLESS},
    {"atan2", BR_TOK_ATAN2},
    {"sum", BR_TOK_SUM},
    {"avg", BR_TOK_AVG},
    {"count", BR_TOK_COUNT},
    {"min", BR_TOK_MIN},
    {"max", BR_TOK_MAX},
    {"group", BR_TOK_GROUP},
    {"stddev", BR_TOK_STDDEV},
    {"stdvar", BR_TOK_STDVAR},
    {"topk", BR_TOK_TOPK},
    {"bottomk", BR_TOK_BOTTOMK},
    {"count_values", BR_TOK_COUNT_VALUES},
    {"quantile", BR_TOK_QUANTILE},
    {"limitk", BR_TOK_LIMITK},
    {"limit_ratio", BR_TOK_LIMIT_RATIO},
    {"offset", BR_TOK_OFFSET},
    {"smoothed", BR_TOK_SMOOTHED},
    {"anchored", BR_TOK_ANCHORED},
    {"by", BR_TOK_BY},
    {"without", BR_TOK_WITHOUT},
    {"on", BR_TOK_ON},
    {"ignoring", BR_TOK_IGNORING},
    {"group_left", BR_TOK_GROUP_LEFT},
    {"group_right", BR_TOK_GROUP_RIGHT},
    {"fill", BR_TOK_FILL},
    {"fill_left", BR_TOK_FILL_LEFT},
    {"fill_right", BR_TOK_FILL_RIGHT},
    {"bool", BR_TOK_BOOL},
    {"start", BR_TOK_START},
    {"end", BR_TOK_END},
    {"step", BR_TOK_STEP},
    {"range", BR_TOK_RANGE},
    {"max_of", BR_TOK_MAX_OF},
    {"min_of", BR_TOK_MIN_OF},
    {"inf", BR_TOK_NUMBER},
    {"nan", BR_TOK_NUMBER},
};

#define N_KEYWORDS      (sizeof(keywords) / sizeof(keywords[0]))
#define MAX_KEYWORD_LEN 16

/* Case-insensitive keyword lookup; returns true and sets *out on a hit. */
static bool lookup_keyword(const char *w, size_t n, br_promql_tok *out)
{
    if (n >= MAX_KEYWORD_LEN) {
        return false;
    }
    char low[MAX_KEYWORD_LEN];
    for (size_t i = 0; i < n; i++) {
        char c = w[i];
        low[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    low[n] = '\0';
    for (size_t i = 0; i < N_KEYWORDS; i++) {
        if (strcmp(low, keywords[i].word) == 0) {
            *out = keywords[i].tok;
            return true;
        }
    }
    return false;
}

/* step, range, max_of, min_of: the only words a duration expression has. */
static bool is_duration_keyword(br_promql_tok t)
{
    return t == BR_TOK_STEP || t == BR_TOK_RANGE || t == BR_TOK_MAX_OF || t == BR_TOK_MIN_OF;
}

static bool is_duration_keyword_start(int32_t r)
{
    if (r >= 'A' && r <= 'Z') {
        r = r - 'A' + 'a';
    }
    return r == 's' || r == 'r' || r == 'm';
}

/* Reads the rest of a word whose first rune was consumed; emits it when it
 * is a duration keyword. The position stays after the word either way. */
static bool scan_duration_keyword(lexstate *s)
{
    while (is_alpha(next(s))) {
    }
    backup(s);
    br_promql_lexer *lx = s->lx;
    br_promql_tok kw;
    if (lookup_keyword(lx->input + lx->start, lx->pos - lx->start, &kw) &&
        is_duration_keyword(kw)) {
        emit(s, kw);
        return true;
    }
    return false;
}

/* ---------------------------------------------------------------------
 * Numbers and durations
 * --------------------------------------------------------------------- */

/* Scans the longest number-looking text; true when it is followed by
 * neither a letter nor a digit. */
static bool scan_number(lexstate *s)
{
    br_promql_lexer *lx = s->lx;
    size_t initial = lx->pos;
    const char *digits = "0123456789";
    if (accept(s, "0") && accept(s, "xX")) {
        accept(s, "_");
        digits = "0123456789abcdefABCDEF";
    }
    bool hex = strlen(digits) > 10;
    accept(s, ".");
    accept(s, digits);
    bool dot_seen = false;
    bool exp_seen = false;
    for (;;) {
        int32_t r = peek(s);
        bool is_dot = r == '.';
        bool is_exp = r == 'e' || r == 'E';
        if (!(in_set(digits, r) || is_dot || r == '_' || is_exp)) {
            break;
        }
        if (is_dot && dot_seen) {
            accept(s, ".");
            return false;
        }
        if (is_exp && exp_seen) {
            accept(s, "eE");
            return false;
        }
        if (accept(s, ".")) {
            dot_seen = true;
            if (accept(s, "_.")) {
                return false;
            }
            if (hex) {
                return false; /* no fractional hexadecimal literals */
            }
            continue;
        }
        if (accept(s, "eE")) {
            exp_seen = true;
            accept(s, "+-");
            if (accept(s, "._eE") || peek(s) == EOF_RUNE) {
                return false;
            }
            continue;
        }
        if (accept(s, "_")) {
            if (accept(s, "._eE") || peek(s) == EOF_RUNE) {
                return false;
            }
            continue;
        }
        accept_run(s, digits);
    }
    if (lx->pos == initial) {
        return false;
    }
    return !is_alnum(peek(s));
}

/* After a number that ran into a letter: the unit(s) of a duration. */
static bool accept_remaining_duration(lexstate *s)
{
    if (!accept(s, "smhdwy")) {
        return false;
    }
    accept(s, "s"); /* ms; bad pairs like hs are left to the duration parser */
    while (accept(s, "0123456789")) {
        while (accept(s, "0123456789")) {
        }
        if (!accept(s, "smhdw")) {
            return false;
        }
        accept(s, "s");
    }
    return !is_alnum(next(s));
}

static bool lex_number_or_duration(lexstate *s)
{
    br_promql_lexer *lx = s->lx;
    lx->mode = BR_LEX_STATEMENTS;
    if (scan_number(s)) {
        emit(s, BR_TOK_NUMBER);
        return true;
    }
    if (accept_remaining_duration(s)) {
        backup(s);
        emit(s, BR_TOK_DURATION);
        return true;
    }
    char q[96];
    return errorf(s, "bad number or duration syntax: %s",
                  quote_text(lx->input + lx->start, lx->pos - lx->start, q, sizeof(q)));
}

/* ---------------------------------------------------------------------
 * Strings and comments
 * --------------------------------------------------------------------- */

static int digit_val(int32_t c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return 16;
}

/* Validates one escape; the backslash was read. Returns false when it
 * emitted an error. */
static bool lex_escape(lexstate *s, int32_t quote)
{
    int n;
    uint32_t base;
    uint32_t max;
    char u[48];
    int32_t ch = next(s);
    switch (ch) {
    case 'a':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
    case 'v':
    case '\\':
        return true;
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
        n = 3;
        base = 8;
        max = 255;
        break;
    case 'x':
        ch = next(s);
        n = 2;
        base = 16;
        max = 255;
        break;
    case 'u':
        ch = next(s);
        n = 4;
        base = 16;
        max = MAX_RUNE;
        break;
    case 'U':
        ch = next(s);
        n = 8;
        base = 16;
        max = MAX_RUNE;
        break;
    case EOF_RUNE:
        errorf(s, "escape sequence not terminated");
        return false;
    default:
        if (ch == quote) {
            return true;
        }
        errorf(s, "unknown escape sequence %s", format_unicode(ch, u, sizeof(u)));
        return false;
    }
    uint32_t x = 0;
    while (n > 0) {
        uint32_t d = (uint32_t)digit_val(ch);
        if (d >= base) {
            if (ch == EOF_RUNE) {
                errorf(s, "escape sequence not terminated");
            } else {
                errorf(s, "illegal character %s in escape sequence",
                       format_unicode(ch, u, sizeof(u)));
            }
            return false;
        }
        x = x * base + d;
        n--;
        if (n > 0) {
            ch = next(s);
        }
    }
    if (x > max || (x >= 0xD800 && x < 0xE000)) {
        errorf(s, "escape sequence is an invalid Unicode code point");
        return false;
    }
    return true;
}

/* A "..." or '...' string; the opening quote was read. */
static bool lex_string(lexstate *s, int32_t quote)
{
    for (;;) {
        int32_t r = next(s);
        if (r == '\\') {
            if (!lex_escape(s, quote)) {
                return true;
            }
            continue;
        }
        if (r == RUNE_ERR) {
            return errorf(s, "invalid UTF-8 rune");
        }
        if (r == EOF_RUNE || r == '\n') {
            return errorf(s, "unterminated quoted string");
        }
        if (r == quote) {
            break;
        }
    }
    emit(s, BR_TOK_STRING);
    return true;
}

/* A `...` raw string; the opening backquote was read. */
static bool lex_raw_string(lexstate *s)
{
    for (;;) {
        int32_t r = next(s);
        if (r == RUNE_ERR) {
            return errorf(s, "invalid UTF-8 rune");
        }
        if (r == EOF_RUNE) {
            return errorf(s, "unterminated raw string");
        }
        if (r == '`') {
            break;
        }
    }
    emit(s, BR_TOK_STRING);
    return true;
}

static bool lex_comment(lexstate *s)
{
    s->lx->pos++; /* '#' */
    int32_t r;
    do {
        r = next(s);
    } while (r != '\r' && r != '\n' && r != EOF_RUNE);
    backup(s);
    emit(s, BR_TOK_COMMENT);
    return true;
}

static void skip_spaces(lexstate *s)
{
    while (is_space(peek(s))) {
        next(s);
    }
    ignore(s);
}

/* ---------------------------------------------------------------------
 * Modes
 * --------------------------------------------------------------------- */

/* Returns true when the next non-space rune is '('. */
static bool followed_by_left_paren(const br_promql_lexer *lx)
{
    for (size_t p = lx->pos; p < lx->len; p++) {
        char c = lx->input[p];
        if (!is_space((unsigned char)c)) {
            return c == '(';
        }
    }
    return false;
}

static bool lex_keyword_or_identifier(lexstate *s)
{
    br_promql_lexer *lx = s->lx;
    for (;;) {
        int32_t r = next(s);
        if (!(is_alnum(r) || r == ':')) {
            break;
        }
    }
    backup(s);
    const char *word = lx->input + lx->start;
    size_t n = lx->pos - lx->start;
    br_promql_tok kw;
    if (lookup_keyword(word, n, &kw)) {
        if ((kw == BR_TOK_FILL || kw == BR_TOK_FILL_LEFT || kw == BR_TOK_FILL_RIGHT) &&
            !followed_by_left_paren(lx)) {
            kw = BR_TOK_IDENTIFIER;
        }
        emit(s, kw);
    } else if (memchr(word, ':', n) != NULL) {
        emit(s, BR_TOK_METRIC_IDENTIFIER);
    } else {
        emit(s, BR_TOK_IDENTIFIER);
    }
    return true;
}

static bool lex_statements(lexstate *s)
{
    br_promql_lexer *lx = s->lx;
    char q[48];
    if (lx->pos < lx->len && lx->input[lx->pos] == '#') {
        return lex_comment(s);
    }
    int32_t r = next(s);
    if (r == EOF_RUNE) {
        if (lx->paren_depth != 0) {
            return errorf(s, "unclosed left parenthesis");
        }
        if (lx->bracket_open) {
            return errorf(s, "unclosed left bracket");
        }
        emit(s, BR_TOK_EOF);
        lx->mode = BR_LEX_DONE;
        return true;
    }
    if (is_space(r)) {
        skip_spaces(s);
        return false;
    }
    switch (r) {
    case ',':
        emit(s, BR_TOK_COMMA);
        return true;
    case '*':
        emit(s, BR_TOK_MUL);
        return true;
    case '/':
        emit(s, BR_TOK_DIV);
        return true;
    case '%':
        emit(s, BR_TOK_MOD);
        return true;
    case '+':
        emit(s, BR_TOK_ADD);
        return true;
    case '-':
        emit(s, BR_TOK_SUB);
        return true;
    case '^':
        emit(s, BR_TOK_POW);
        return true;
    case '@':
        emit(s, BR_TOK_AT);
        return true;
    case '=': {
        int32_t t = peek(s);
        if (t == '=') {
            next(s);
            emit(s, BR_TOK_EQLC);
            return true;
        }
        if (t == '~') {
            return errorf(s, "unexpected character after '=': %s",
                          br_promql_quote_rune(t, q, sizeof(q)));
        }
        emit(s, BR_TOK_EQL);
        return true;
    }
    case '!': {
        int32_t t = next(s);
        if (t != '=') {
            return errorf(s, "unexpected character after '!': %s",
                          br_promql_quote_rune(t, q, sizeof(q)));
        }
        emit(s, BR_TOK_NEQ);
        return true;
    }
    case '<':
        if (accept(s, "=")) {
            emit(s, BR_TOK_LTE);
        } else if (accept(s, "/")) {
            emit(s, BR_TOK_TRIM_UPPER);
        } else {
            emit(s, BR_TOK_LSS);
        }
        return true;
    case '>':
        if (accept(s, "=")) {
            emit(s, BR_TOK_GTE);
        } else if (accept(s, "/")) {
            emit(s, BR_TOK_TRIM_LOWER);
        } else {
            emit(s, BR_TOK_GTR);
        }
        return true;
    case '"':
    case '\'':
        return lex_string(s, r);
    case '`':
        return lex_raw_string(s);
    case '(':
        emit(s, BR_TOK_LEFT_PAREN);
        lx->paren_depth++;
        return true;
    case ')':
        emit(s, BR_TOK_RIGHT_PAREN);
        lx->paren_depth--;
        if (lx->paren_depth < 0) {
            return errorf(s, "unexpected right parenthesis %s",
                          br_promql_quote_rune(r, q, sizeof(q)));
        }
        return true;
    case '{':
        emit(s, BR_TOK_LEFT_BRACE);
        lx->mode = BR_LEX_INSIDE_BRACES;
        return true;
    case '[':
        if (lx->bracket_open) {
            return errorf(s, "unexpected left bracket %s", br_promql_quote_rune(r, q, sizeof(q)));
        }
        lx->got_colon = false;
        emit(s, BR_TOK_LEFT_BRACKET);
        skip_spaces(s);
        lx->bracket_open = true;
        lx->mode = BR_LEX_DURATION_EXPR;
        return true;
    case ']':
        if (!lx->bracket_open) {
            return errorf(s, "unexpected right bracket %s", br_promql_quote_rune(r, q, sizeof(q)));
        }
        emit(s, BR_TOK_RIGHT_BRACKET);
        lx->bracket_open = false;
        return true;
    default:
        break;
    }
    if (is_digit(r) || (r == '.' && is_digit(peek(s)))) {
        backup(s);
        return lex_number_or_duration(s);
    }
    if (is_alpha(r) || r == ':') {
        if (!lx->bracket_open) {
            backup(s);
            return lex_keyword_or_identifier(s);
        }
        if (r == ':') {
            if (lx->got_colon) {
                return errorf(s, "unexpected colon %s", br_promql_quote_rune(r, q, sizeof(q)));
            }
            emit(s, BR_TOK_COLON);
            lx->got_colon = true;
            return true;
        }
        if (is_duration_keyword_start(r) && scan_duration_keyword(s)) {
            return true;
        }
        char q2[16];
        return errorf(s, "unexpected character: %s, expected %s",
                      br_promql_quote_rune(r, q, sizeof(q)),
                      br_promql_quote_rune(':', q2, sizeof(q2)));
    }
    return errorf(s, "unexpected character: %s", br_promql_quote_rune(r, q, sizeof(q)));
}

static bool lex_inside_braces(lexstate *s)
{
    br_promql_lexer *lx = s->lx;
    char q[48];
    if (lx->pos < lx->len && lx->input[lx->pos] == '#') {
        return lex_comment(s);
    }
    int32_t r = next(s);
    if (r == EOF_RUNE) {
        return errorf(s, "unexpected end of input inside braces");
    }
    if (is_space(r)) {
        skip_spaces(s);
        return false;
    }
    if (is_alpha(r)) {
        while (is_alnum(next(s))) {
        }
        backup(s);
        emit(s, BR_TOK_IDENTIFIER);
        return true;
    }
    switch (r) {
    case ',':
        emit(s, BR_TOK_COMMA);
        return true;
    case '"':
    case '\'':
        return lex_string(s, r);
    case '`':
        return lex_raw_string(s);
    case '=':
        if (next(s) == '~') {
            emit(s, BR_TOK_EQL_REGEX);
            return true;
        }
        backup(s);
        emit(s, BR_TOK_EQL);
        return true;
    case '!': {
        int32_t nr = next(s);
        if (nr == '~') {
            emit(s, BR_TOK_NEQ_REGEX);
            return true;
        }
        if (nr == '=') {
            emit(s, BR_TOK_NEQ);
            return true;
        }
        return errorf(s, "unexpected character after '!' inside braces: %s",
                      br_promql_quote_rune(nr, q, sizeof(q)));
    }
    case '{':
        return errorf(s, "unexpected left brace %s", br_promql_quote_rune(r, q, sizeof(q)));
    case '}':
        emit(s, BR_TOK_RIGHT_BRACE);
        lx->mode = BR_LEX_STATEMENTS;
        return true;
    default:
        return errorf(s, "unexpected character inside braces: %s",
                      br_promql_quote_rune(r, q, sizeof(q)));
    }
}

static bool lex_duration_expr(lexstate *s)
{
    br_promql_lexer *lx = s->lx;
    char q[48];
    int32_t r = next(s);
    if (r == EOF_RUNE) {
        return errorf(s, "unexpected end of input in duration expression");
    }
    if (is_space(r)) {
        skip_spaces(s);
        return false;
    }
    switch (r) {
    case ']':
        emit(s, BR_TOK_RIGHT_BRACKET);
        lx->bracket_open = false;
        lx->got_colon = false;
        lx->mode = BR_LEX_STATEMENTS;
        return true;
    case ':':
        emit(s, BR_TOK_COLON);
        if (!lx->got_duration) {
            return errorf(s, "unexpected colon before duration in duration expression");
        }
        if (lx->got_colon) {
            return errorf(s, "unexpected repeated colon in duration expression");
        }
        lx->got_colon = true;
        return true;
    case '(':
        emit(s, BR_TOK_LEFT_PAREN);
        lx->paren_depth++;
        return true;
    case ')':
        emit(s, BR_TOK_RIGHT_PAREN);
        lx->paren_depth--;
        if (lx->paren_depth < 0) {
            return errorf(s, "unexpected right parenthesis %s",
                          br_promql_quote_rune(r, q, sizeof(q)));
        }
        return true;
    case '+':
        emit(s, BR_TOK_ADD);
        return true;
    case '-':
        emit(s, BR_TOK_SUB);
        return true;
    case '*':
        emit(s, BR_TOK_MUL);
        return true;
    case '/':
        emit(s, BR_TOK_DIV);
        return true;
    case '%':
        emit(s, BR_TOK_MOD);
        return true;
    case '^':
        emit(s, BR_TOK_POW);
        return true;
    case ',':
        emit(s, BR_TOK_COMMA);
        return true;
    default:
        break;
    }
    if (is_duration_keyword_start(r)) {
        if (scan_duration_keyword(s)) {
            return true;
        }
        return errorf(s, "unexpected character in duration expression: %s",
                      br_promql_quote_rune(r, q, sizeof(q)));
    }
    if (is_digit(r) || (r == '.' && is_digit(peek(s)))) {
        backup(s);
        lx->got_duration = true;
        return lex_number_or_duration(s);
    }
    return errorf(s, "unexpected character in duration expression: %s",
                  br_promql_quote_rune(r, q, sizeof(q)));
}

/* ---------------------------------------------------------------------
 * Public API
 * --------------------------------------------------------------------- */

void br_promql_lexer_init(br_promql_lexer *lx, const char *input, size_t len)
{
    memset(lx, 0, sizeof(*lx));
    lx->input = input;
    lx->len = len;
    lx->mode = BR_LEX_STATEMENTS;
}

void br_promql_lexer_next(br_promql_lexer *lx, br_promql_token *tok)
{
    lexstate s = {lx, tok, 0};
    for (;;) {
        bool done;
        switch (lx->mode) {
        case BR_LEX_INSIDE_BRACES:
            done = lex_inside_braces(&s);
            break;
        case BR_LEX_DURATION_EXPR:
            done = lex_duration_expr(&s);
            break;
        case BR_LEX_STATEMENTS:
            done = lex_statements(&s);
            break;
        case BR_LEX_DONE:
        default:
            tok->type = BR_TOK_EOF;
            tok->pos = (uint32_t)lx->start;
            tok->len = 0;
            return;
        }
        if (done) {
            return;
        }
    }
}

bool br_promql_tok_is_operator(br_promql_tok t)
{
    return t > BR_TOK_OPERATORS_START_ && t < BR_TOK_OPERATORS_END_;
}

bool br_promql_tok_is_aggregator(br_promql_tok t)
{
    return t > BR_TOK_AGGREGATORS_START_ && t < BR_TOK_AGGREGATORS_END_;
}

bool br_promql_tok_is_keyword(br_promql_tok t)
{
    return t > BR_TOK_KEYWORDS_START_ && t < BR_TOK_KEYWORDS_END_;
}

static const char *const tok_names[] = {
    [BR_TOK_EOF] = "EOF",
    [BR_TOK_ERROR] = "ERROR",
    [BR_TOK_COMMENT] = "COMMENT",
    [BR_TOK_IDENTIFIER] = "IDENTIFIER",
    [BR_TOK_METRIC_IDENTIFIER] = "METRIC_IDENTIFIER",
    [BR_TOK_NUMBER] = "NUMBER",
    [BR_TOK_DURATION] = "DURATION",
    [BR_TOK_STRING] = "STRING",
    [BR_TOK_LEFT_PAREN] = "LEFT_PAREN",
    [BR_TOK_RIGHT_PAREN] = "RIGHT_PAREN",
    [BR_TOK_LEFT_BRACE] = "LEFT_BRACE",
    [BR_TOK_RIGHT_BRACE] = "RIGHT_BRACE",
    [BR_TOK_LEFT_BRACKET] = "LEFT_BRACKET",
    [BR_TOK_RIGHT_BRACKET] = "RIGHT_BRACKET",
    [BR_TOK_COMMA] = "COMMA",
    [BR_TOK_EQL] = "EQL",
    [BR_TOK_COLON] = "COLON",
    [BR_TOK_ADD] = "ADD",
    [BR_TOK_SUB] = "SUB",
    [BR_TOK_MUL] = "MUL",
    [BR_TOK_DIV] = "DIV",
    [BR_TOK_MOD] = "MOD",
    [BR_TOK_POW] = "POW",
    [BR_TOK_EQLC] = "EQLC",
    [BR_TOK_NEQ] = "NEQ",
    [BR_TOK_LSS] = "LSS",
    [BR_TOK_LTE] = "LTE",
    [BR_TOK_GTR] = "GTR",
    [BR_TOK_GTE] = "GTE",
    [BR_TOK_EQL_REGEX] = "EQL_REGEX",
    [BR_TOK_NEQ_REGEX] = "NEQ_REGEX",
    [BR_TOK_TRIM_UPPER] = "TRIM_UPPER",
    [BR_TOK_TRIM_LOWER] = "TRIM_LOWER",
    [BR_TOK_AT] = "AT",
    [BR_TOK_LAND] = "LAND",
    [BR_TOK_LOR] = "LOR",
    [BR_TOK_LUNLESS] = "LUNLESS",
    [BR_TOK_ATAN2] = "ATAN2",
    [BR_TOK_AVG] = "AVG",
    [BR_TOK_BOTTOMK] = "BOTTOMK",
    [BR_TOK_COUNT] = "COUNT",
    [BR_TOK_COUNT_VALUES] = "COUNT_VALUES",
    [BR_TOK_GROUP] = "GROUP",
    [BR_TOK_MAX] = "MAX",
    [BR_TOK_MIN] = "MIN",
    [BR_TOK_QUANTILE] = "QUANTILE",
    [BR_TOK_STDDEV] = "STDDEV",
    [BR_TOK_STDVAR] = "STDVAR",
    [BR_TOK_SUM] = "SUM",
    [BR_TOK_TOPK] = "TOPK",
    [BR_TOK_LIMITK] = "LIMITK",
    [BR_TOK_LIMIT_RATIO] = "LIMIT_RATIO",
    [BR_TOK_BOOL] = "BOOL",
    [BR_TOK_BY] = "BY",
    [BR_TOK_GROUP_LEFT] = "GROUP_LEFT",
    [BR_TOK_GROUP_RIGHT] = "GROUP_RIGHT",
    [BR_TOK_FILL] = "FILL",
    [BR_TOK_FILL_LEFT] = "FILL_LEFT",
    [BR_TOK_FILL_RIGHT] = "FILL_RIGHT",
    [BR_TOK_IGNORING] = "IGNORING",
    [BR_TOK_OFFSET] = "OFFSET",
    [BR_TOK_SMOOTHED] = "SMOOTHED",
    [BR_TOK_ANCHORED] = "ANCHORED",
    [BR_TOK_ON] = "ON",
    [BR_TOK_WITHOUT] = "WITHOUT",
    [BR_TOK_START] = "START",
    [BR_TOK_END] = "END",
    [BR_TOK_STEP] = "STEP",
    [BR_TOK_RANGE] = "RANGE",
    [BR_TOK_MAX_OF] = "MAX_OF",
    [BR_TOK_MIN_OF] = "MIN_OF",
};

const char *br_promql_tok_name(br_promql_tok t)
{
    if ((size_t)t >= sizeof(tok_names) / sizeof(tok_names[0]) || tok_names[t] == NULL) {
        return "?";
    }
    return tok_names[t];
}

const char *br_promql_tok_desc(const br_promql_token *tok, const char *input, char *out,
                               size_t size)
{
    const char *text = input + tok->pos;
    size_t n = tok->len;
    br_buf b;
    br_buf_init(&b, size);
    switch (tok->type) {
    case BR_TOK_EOF:
        br_buf_puts(&b, "end of input");
        break;
    case BR_TOK_ERROR:
        br_buf_puts(&b, "error");
        break;
    case BR_TOK_IDENTIFIER:
    case BR_TOK_METRIC_IDENTIFIER:
        br_buf_puts(&b, tok->type == BR_TOK_IDENTIFIER ? "identifier " : "metric identifier ");
        br_promql_go_quote(&b, text, n, 0);
        break;
    case BR_TOK_NUMBER:
    case BR_TOK_DURATION:
    case BR_TOK_STRING:
    case BR_TOK_COMMENT:
        br_buf_puts(&b, tok->type == BR_TOK_NUMBER     ? "number "
                        : tok->type == BR_TOK_DURATION ? "duration "
                        : tok->type == BR_TOK_STRING   ? "string "
                                                       : "comment ");
        if (n > 10) {
            br_promql_go_quote(&b, text, n, 10);
            br_buf_puts(&b, "...");
        } else {
            br_promql_go_quote(&b, text, n, 0);
        }
        break;
    default:
        if (br_promql_tok_is_keyword(tok->type)) {
            br_buf_printf(&b, "<%.*s>", (int)n, text);
        } else if (br_promql_tok_is_operator(tok->type)) {
            br_buf_printf(&b, "<op:%.*s>", (int)n, text);
        } else if (br_promql_tok_is_aggregator(tok->type)) {
            br_buf_printf(&b, "<aggr:%.*s>", (int)n, text);
        } else if (n > 10) {
            br_promql_go_quote(&b, text, n, 10);
            br_buf_puts(&b, "...");
        } else {
            br_promql_go_quote(&b, text, n, 0);
        }
        break;
    }
    snprintf(out, size, "%s", br_buf_str(&b));
    br_buf_free(&b);
    return out;
}
