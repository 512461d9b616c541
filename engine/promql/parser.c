/*
 * parser.c — recursive-descent PromQL parser and type checker. See
 * parser.h for the contract.
 *
 * Two passes, like Prometheus: parsing (syntax, plus the checks Prometheus
 * makes while reducing grammar rules: unknown functions, offsets and @ on
 * the wrong expressions, bad durations...) and, only when that succeeded,
 * type checking in Prometheus' checkAST order. Both stop at the first
 * error, which is the one Prometheus reports.
 *
 * Precedence, lowest first: or; and unless; == != <= < >= > </ >/;
 * + -; * / % atan2; ^ (right-associative). A unary + or - takes as operand
 * a chain of ^ only (so -2^2 is -(2^2) and -1*2 is (-1)*2), and folds into
 * a number literal. The postfix modifiers [range], [range:step], offset,
 * @, anchored and smoothed bind tightest of all.
 *
 * Experimental syntax is parsed only with its BR_PROMQL_PARSE_* flag (else
 * the old "not enabled" errors, at Prometheus' positions). Duration
 * expressions get their own small precedence climber (dur_expr) with
 * Prometheus' rules: a unary sign binds like *, so -2^2 is -(2^2); a
 * literal 0 divisor is a parse error; a result that is one literal is
 * stored as milliseconds, anything else as a br_promql_dur computed per
 * query. After offset, a (signed) literal, step(), range(), min_of() or
 * max_of() ends the offset, so `x offset 5m + 1` is a binary expression,
 * as in Prometheus' offset_duration_expr rule.
 *
 * Syntax errors name the unexpected token and, like Prometheus' yacc
 * error recovery, the innermost enclosing construct that has an error
 * rule there: "in aggregation", "in grouping opts, expected label",
 * "in label matching, expected string", "in offset, expected ...",
 * "in @, expected timestamp", "in subquery or range selector, ...".
 * The parser keeps that construct in p->ctx while it parses its inside.
 *
 * Vector selectors: the lexer tokenizes the braces (so its errors are
 * Prometheus'); each matcher is built with br_matcher_init into a
 * br_selector allocated in the arena, strings decoded by
 * br_promql_unquote (selector.h). Selectors are tracked in p->sels so a
 * failed parse releases their matchers itself.
 */
#include "parser.h"

#include "engine/core/alloc.h"
#include "engine/promql/lexer.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Binary operator precedence levels. */
enum {
    PREC_OR = 1,
    PREC_AND = 2,
    PREC_CMP = 3,
    PREC_ADD = 4,
    PREC_MUL = 5,
    PREC_POW = 6,
};

#define EXPECT_DURATION "number, duration, step(), or range()"

typedef struct parser {
    const char *in;
    size_t len;
    br_promql_lexer lx;
    br_promql_token la; /* lookahead, valid when have_la */
    bool have_la;
    uint32_t last_end; /* end offset of the last consumed token */
    br_arena *arena;
    br_err *err;
    unsigned flags; /* BR_PROMQL_PARSE_* experimental syntax allowed */
    int rc; /* first error, 0 while none */
    int depth;
    const char *ctx;      /* construct for "unexpected X in <ctx>" */
    const char *expected; /* what it expected there */
    br_selector **sels;   /* every selector created, for cleanup */
    size_t nsels;
    size_t capsels;
} parser;

/* ---------------------------------------------------------------------
 * Errors
 * --------------------------------------------------------------------- */

/* Records the first error: "<line>:<col>: parse error: <msg>". */
static void failv(parser *p, int code, size_t pos, const char *fmt, va_list ap)
{
    if (p->rc != 0) {
        return;
    }
    char msg[BR_ERR_MSG_SIZE];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    p->rc = code;
    if (p->len == 0) {
        br_err_set(p->err, code, "unknown position: parse error: %s", msg);
        return;
    }
    if (pos > p->len) {
        pos = p->len;
    }
    int line = 1;
    size_t last_nl = (size_t)-1; /* index of the last '\n' before pos */
    for (size_t i = 0; i < pos; i++) {
        if (p->in[i] == '\n') {
            line++;
            last_nl = i;
        }
    }
    int col = (int)(pos - last_nl); /* pos - (-1) on the first line */
    br_err_set(p->err, code, "%d:%d: parse error: %s", line, col, msg);
    if (p->err != NULL) {
        p->err->line = line;
        p->err->col = col;
    }
}

static void fail(parser *p, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(parser *p, size_t pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    failv(p, BR_EPARSE, pos, fmt, ap);
    va_end(ap);
}

static void fail_limit(parser *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail_limit(parser *p, size_t pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    failv(p, BR_ELIMIT, pos, fmt, ap);
    va_end(ap);
}

/* Go's %q of a byte range, into out. */
static const char *goq(const char *s, size_t n, char *out, size_t size)
{
    br_buf b;
    br_buf_init(&b, size > 8 ? size - 1 : size);
    br_promql_go_quote(&b, s, n, 0);
    snprintf(out, size, "%s", br_buf_str(&b));
    br_buf_free(&b);
    return out;
}

/* ---------------------------------------------------------------------
 * Tokens
 * --------------------------------------------------------------------- */

static br_promql_token *peek(parser *p)
{
    if (!p->have_la) {
        do {
            br_promql_lexer_next(&p->lx, &p->la);
        } while (p->la.type == BR_TOK_COMMENT);
        p->have_la = true;
        if (p->la.type == BR_TOK_ERROR) {
            fail(p, p->la.pos, "%s", p->lx.errmsg);
        }
    }
    return &p->la;
}

static br_promql_token consume(parser *p)
{
    br_promql_token t = *peek(p);
    p->have_la = false;
    p->last_end = t.pos + t.len;
    return t;
}

static bool at(parser *p, br_promql_tok type)
{
    return p->rc == 0 && peek(p)->type == type;
}

/* A syntax error at the lookahead token, worded for the current context. */
static void unexpected(parser *p)
{
    br_promql_token *t = peek(p);
    if (p->rc != 0 || t->type == BR_TOK_ERROR) {
        return;
    }
    char desc[96];
    br_promql_tok_desc(t, p->in, desc, sizeof(desc));
    if (p->ctx != NULL && p->expected != NULL) {
        fail(p, t->pos, "unexpected %s in %s, expected %s", desc, p->ctx, p->expected);
    } else if (p->ctx != NULL) {
        fail(p, t->pos, "unexpected %s in %s", desc, p->ctx);
    } else {
        fail(p, t->pos, "unexpected %s", desc);
    }
}

/* Consumes a token of the given type or reports it unexpected. */
static bool expect(parser *p, br_promql_tok type, br_promql_token *out)
{
    if (!at(p, type)) {
        unexpected(p);
        return false;
    }
    br_promql_token t = consume(p);
    if (out != NULL) {
        *out = t;
    }
    return true;
}

typedef struct saved_ctx {
    const char *ctx;
    const char *expected;
} saved_ctx;

static saved_ctx set_ctx(parser *p, const char *ctx, const char *expected)
{
    saved_ctx s = {p->ctx, p->expected};
    p->ctx = ctx;
    p->expected = expected;
    return s;
}

static void restore_ctx(parser *p, saved_ctx s)
{
    p->ctx = s.ctx;
    p->expected = s.expected;
}

/* ---------------------------------------------------------------------
 * Numbers, durations, strings
 * --------------------------------------------------------------------- */

/* Go's underscoreOK: '_' only between digits or after a base prefix. */
static bool underscore_ok(const char *s, size_t n)
{
    char saw = '^';
    size_t i = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        i++;
    }
    bool hex = false;
    if (n - i >= 2 && s[i] == '0' &&
        (s[i + 1] == 'b' || s[i + 1] == 'B' || s[i + 1] == 'o' || s[i + 1] == 'O' ||
         s[i + 1] == 'x' || s[i + 1] == 'X')) {
        hex = s[i + 1] == 'x' || s[i + 1] == 'X';
        i += 2;
        saw = '0';
    }
    for (; i < n; i++) {
        char c = s[i];
        char lc = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        if ((c >= '0' && c <= '9') || (hex && lc >= 'a' && lc <= 'f')) {
            saw = '0';
            continue;
        }
        if (c == '_') {
            if (saw != '0') {
                return false;
            }
            saw = '_';
            continue;
        }
        if (saw == '_') {
            return false;
        }
        saw = '!';
    }
    return saw != '_';
}

/* Go's strconv.ParseInt(s, 0, 64) for unsigned token text. */
static bool go_parse_int(const char *s, size_t n, int64_t *out)
{
    if (n == 0) {
        return false;
    }
    unsigned base = 10;
    size_t i = 0;
    if (s[0] == '0') {
        char c1 = n >= 3 ? (char)(s[1] | 0x20) : '\0';
        if (c1 == 'b') {
            base = 2;
            i = 2;
        } else if (c1 == 'o') {
            base = 8;
            i = 2;
        } else if (c1 == 'x') {
            base = 16;
            i = 2;
        } else {
            base = 8;
            i = 1;
        }
    }
    uint64_t v = 0;
    bool underscores = false;
    for (; i < n; i++) {
        char c = s[i];
        unsigned d;
        if (c == '_') {
            underscores = true;
            continue;
        }
        if (c >= '0' && c <= '9') {
            d = (unsigned)(c - '0');
        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {
            d = (unsigned)((c | 0x20) - 'a' + 10);
        } else {
            return false;
        }
        if (d >= base) {
            return false;
        }
        if (v > (UINT64_MAX - d) / base) {
            return false;
        }
        v = v * base + d;
    }
    if (underscores && !underscore_ok(s, n)) {
        return false;
    }
    if (v > (uint64_t)INT64_MAX) {
        return false;
    }
    *out = (int64_t)v;
    return true;
}

static bool prefix_icase(const char *s, size_t n, const char *word)
{
    size_t wl = strlen(word);
    if (n != wl) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if ((s[i] | 0x20) != word[i]) {
            return false;
        }
    }
    return true;
}

enum { GO_FLOAT_OK = 0, GO_FLOAT_SYNTAX = 1, GO_FLOAT_RANGE = 2 };

/* Go's strconv.ParseFloat(s, 64): decimal and hexadecimal (with a p
 * exponent) literals, '_' separators, Inf/Infinity/NaN. */
static int go_parse_float(const char *s, size_t n, double *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    if (prefix_icase(s + i, n - i, "inf") || prefix_icase(s + i, n - i, "infinity")) {
        *out = neg ? -INFINITY : INFINITY;
        return GO_FLOAT_OK;
    }
    if (i == 0 && prefix_icase(s, n, "nan")) {
        *out = NAN;
        return GO_FLOAT_OK;
    }
    bool hex = n - i >= 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X');
    size_t j = hex ? i + 2 : i;
    size_t mant_digits = 0;
    bool dot = false;
    bool exp = false;
    bool underscores = false;
    for (; j < n; j++) {
        char c = s[j];
        char lc = (char)(c | 0x20);
        if (c == '_') {
            underscores = true;
        } else if ((c >= '0' && c <= '9') || (hex && lc >= 'a' && lc <= 'f')) {
            mant_digits++;
        } else if (c == '.' && !dot) {
            dot = true;
        } else if ((hex && lc == 'p') || (!hex && lc == 'e')) {
            exp = true;
            break;
        } else {
            return GO_FLOAT_SYNTAX;
        }
    }
    if (mant_digits == 0 || (hex && !exp)) {
        return GO_FLOAT_SYNTAX;
    }
    if (exp) {
        j++;
        if (j < n && (s[j] == '+' || s[j] == '-')) {
            j++;
        }
        size_t ed = 0;
        for (; j < n; j++) {
            if (s[j] >= '0' && s[j] <= '9') {
                ed++;
            } else if (s[j] == '_') {
                underscores = true;
            } else {
                return GO_FLOAT_SYNTAX;
            }
        }
        if (ed == 0) {
            return GO_FLOAT_SYNTAX;
        }
    }
    if (underscores && !underscore_ok(s, n)) {
        return GO_FLOAT_SYNTAX;
    }
    /* strtod reads the same syntax once the separators are gone. */
    char stack[256];
    char *buf = n < sizeof(stack) ? stack : br_malloc(n + 1);
    size_t k = 0;
    for (size_t m = 0; m < n; m++) {
        if (s[m] != '_') {
            buf[k++] = s[m];
        }
    }
    buf[k] = '\0';
    double v = strtod(buf, NULL);
    if (buf != stack) {
        br_free(buf);
    }
    *out = v;
    return isinf(v) ? GO_FLOAT_RANGE : GO_FLOAT_OK;
}

/* A NUMBER token's value, as Prometheus' parser.number() computes it. */
static bool number_value(parser *p, const br_promql_token *t, double *out)
{
    const char *s = p->in + t->pos;
    int64_t iv;
    if (go_parse_int(s, t->len, &iv)) {
        *out = (double)iv;
        return true;
    }
    int rc = go_parse_float(s, t->len, out);
    if (rc == GO_FLOAT_OK) {
        return true;
    }
    char q[BR_ERR_MSG_SIZE + 8]; /* the message is cut at BR_ERR_MSG_SIZE anyway */
    fail(p, t->pos, "error parsing number: strconv.ParseFloat: parsing %s: %s",
         goq(s, t->len, q, sizeof(q)),
         rc == GO_FLOAT_RANGE ? "value out of range" : "invalid syntax");
    return false;
}

/*
 * Prometheus' model.ParseDuration: [0-9]+ unit pairs, units y w d h m s ms
 * each at most once, largest first; "0" alone allowed. Sets *ns; on error
 * writes the message into msg and returns false.
 */
static bool model_duration(const char *s, size_t n, int64_t *ns, char *msg, size_t size)
{
    static const struct {
        const char *unit;
        int pos;
        uint64_t mult;
    } units[] = {
        {"ms", 7, 1000000ULL},
        {"s", 6, 1000000000ULL},
        {"m", 5, 60ULL * 1000000000ULL},
        {"h", 4, 3600ULL * 1000000000ULL},
        {"d", 3, 86400ULL * 1000000000ULL},
        {"w", 2, 7ULL * 86400ULL * 1000000000ULL},
        {"y", 1, 365ULL * 86400ULL * 1000000000ULL},
    };
    char q[96];
    char q2[96];
    if (n == 1 && s[0] == '0') {
        *ns = 0;
        return true;
    }
    if (n == 0) {
        snprintf(msg, size, "empty duration string");
        return false;
    }
    uint64_t dur = 0;
    int last_pos = 0;
    size_t i = 0;
    while (i < n) {
        if (!(s[i] >= '0' && s[i] <= '9')) {
            snprintf(msg, size, "not a valid duration string: %s", goq(s, n, q, sizeof(q)));
            return false;
        }
        uint64_t v = 0;
        bool overflow = false;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            unsigned d = (unsigned)(s[i] - '0');
            if (v > (UINT64_MAX - d) / 10) {
                overflow = true;
            } else {
                v = v * 10 + d;
            }
            i++;
        }
        if (overflow) {
            snprintf(msg, size, "not a valid duration string: %s", goq(s, n, q, sizeof(q)));
            return false;
        }
        size_t u0 = i;
        while (i < n && !(s[i] >= '0' && s[i] <= '9')) {
            i++;
        }
        if (i == u0) {
            snprintf(msg, size, "not a valid duration string: %s", goq(s, n, q, sizeof(q)));
            return false;
        }
        size_t ul = i - u0;
        size_t k;
        for (k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
            if (strlen(units[k].unit) == ul && memcmp(units[k].unit, s + u0, ul) == 0) {
                break;
            }
        }
        if (k == sizeof(units) / sizeof(units[0])) {
            snprintf(msg, size, "unknown unit %s in duration %s", goq(s + u0, ul, q2, sizeof(q2)),
                     goq(s, n, q, sizeof(q)));
            return false;
        }
        if (units[k].pos <= last_pos) {
            snprintf(msg, size, "not a valid duration string: %s", goq(s, n, q, sizeof(q)));
            return false;
        }
        last_pos = units[k].pos;
        if (v > (1ULL << 63) / units[k].mult) {
            snprintf(msg, size, "duration out of range");
            return false;
        }
        dur += v * units[k].mult;
        if (dur > (uint64_t)INT64_MAX) {
            snprintf(msg, size, "duration out of range");
            return false;
        }
    }
    *ns = (int64_t)dur;
    return true;
}

/* A DURATION token's value in milliseconds. */
static bool duration_value(parser *p, const br_promql_token *t, int64_t *ms)
{
    char msg[BR_ERR_MSG_SIZE];
    int64_t ns;
    if (!model_duration(p->in + t->pos, t->len, &ns, msg, sizeof(msg))) {
        fail(p, t->pos, "%s", msg);
        return false;
    }
    *ms = ns / 1000000;
    return true;
}

static unsigned hex_value(char h)
{
    if (h >= '0' && h <= '9') {
        return (unsigned)(h - '0');
    }
    if (h >= 'a' && h <= 'f') {
        return (unsigned)(h - 'a' + 10);
    }
    return (unsigned)(h - 'A' + 10);
}

/* Bytes a validated string token decodes to (so NUL bytes survive). */
static size_t decoded_len(const char *s, size_t n)
{
    if (n < 2) {
        return 0;
    }
    char q = s[0];
    if (q == '`') {
        return n - 2;
    }
    size_t out = 0;
    size_t i = 1;
    while (i < n - 1) {
        if (s[i] != '\\') {
            out++;
            i++;
            continue;
        }
        char e = s[i + 1];
        if (e >= '0' && e <= '7') {
            out++;
            i += 4;
        } else if (e == 'x') {
            out++;
            i += 4;
        } else if (e == 'u' || e == 'U') {
            size_t digits = e == 'u' ? 4 : 8;
            unsigned long v = 0;
            for (size_t k = 0; k < digits && i + 2 + k < n; k++) {
                v = v * 16 + hex_value(s[i + 2 + k]);
            }
            out += v < 0x80 ? 1 : v < 0x800 ? 2 : v < 0x10000 ? 3 : 4;
            i += 2 + digits;
        } else {
            out++;
            i += 2;
        }
    }
    return out;
}

/* Decodes a STRING token into the arena; sets *len. */
static char *string_value(parser *p, const br_promql_token *t, size_t *len)
{
    size_t size = (size_t)t->len + 1;
    char *buf = br_arena_alloc(p->arena, size);
    if (buf == NULL) {
        fail_limit(p, t->pos, "query needs more memory than the query arena allows");
        return NULL;
    }
    /* br_promql_unquote reads up to a NUL; give it a terminated copy. */
    char *src = br_arena_strndup(p->arena, p->in + t->pos, t->len);
    if (src == NULL) {
        fail_limit(p, t->pos, "query needs more memory than the query arena allows");
        return NULL;
    }
    size_t pos = 0;
    br_err uerr;
    br_err_clear(&uerr);
    if (br_promql_unquote(src, &pos, buf, size, &uerr) != 0) {
        char q[96];
        fail(p, t->pos, "error unquoting string %s: invalid syntax",
             goq(p->in + t->pos, t->len, q, sizeof(q)));
        return NULL;
    }
    if (len != NULL) {
        *len = decoded_len(p->in + t->pos, t->len);
    }
    return buf;
}

/* ---------------------------------------------------------------------
 * Nodes
 * --------------------------------------------------------------------- */

static br_promql_node *mk(parser *p, br_promql_kind kind, uint32_t start, uint32_t end)
{
    if (p->rc != 0) {
        return NULL;
    }
    br_promql_node *n = br_promql_node_new(p->arena, kind, start, end);
    if (n == NULL) {
        fail_limit(p, start, "query needs more memory than the query arena allows");
    }
    return n;
}

/* Sets n's depth from its children and enforces the depth cap. */
static bool fix_depth(parser *p, br_promql_node *n)
{
    uint32_t d = 0;
    size_t nc = br_promql_child_count(n);
    for (size_t i = 0; i < nc; i++) {
        br_promql_node *c = br_promql_child(n, i);
        if (c != NULL && c->depth > d) {
            d = c->depth;
        }
    }
    n->depth = d + 1;
    if (n->depth > BR_PROMQL_MAX_DEPTH) {
        fail_limit(p, n->start, "expression nesting is too deep (more than %d levels)",
                   BR_PROMQL_MAX_DEPTH);
        return false;
    }
    return true;
}

static void *arena_array(parser *p, size_t n, size_t elem, size_t pos)
{
    if (n == 0) {
        return NULL;
    }
    void *a = br_arena_calloc(p->arena, n, elem);
    if (a == NULL) {
        fail_limit(p, pos, "query needs more memory than the query arena allows");
    }
    return a;
}

/* ---------------------------------------------------------------------
 * Grammar
 * --------------------------------------------------------------------- */

static br_promql_node *parse_expr(parser *p, int min_prec);

/* Tokens an expression can start with. Where Prometheus' grammar may end
 * a construct instead (a trailing comma, group_left without labels), any
 * other token ends it and is then reported there. */
static bool starts_expr(br_promql_tok t)
{
    switch (t) {
    case BR_TOK_NUMBER:
    case BR_TOK_DURATION:
    case BR_TOK_STRING:
    case BR_TOK_LEFT_PAREN:
    case BR_TOK_LEFT_BRACE:
    case BR_TOK_IDENTIFIER:
    case BR_TOK_METRIC_IDENTIFIER:
    case BR_TOK_ADD:
    case BR_TOK_SUB:
    case BR_TOK_BY:
    case BR_TOK_WITHOUT:
    case BR_TOK_OFFSET:
    case BR_TOK_LAND:
    case BR_TOK_LOR:
    case BR_TOK_LUNLESS:
    case BR_TOK_FILL:
    case BR_TOK_FILL_LEFT:
    case BR_TOK_FILL_RIGHT:
    case BR_TOK_ANCHORED:
    case BR_TOK_SMOOTHED:
    case BR_TOK_START:
    case BR_TOK_END:
    case BR_TOK_STEP:
    case BR_TOK_RANGE:
    case BR_TOK_MAX_OF:
    case BR_TOK_MIN_OF:
        return true;
    default:
        return br_promql_tok_is_aggregator(t);
    }
}

/* Tokens a label name in a grouping list may be (Prometheus' maybe_label
 * plus quoted names). WITHOUT and the numbers Inf/NaN are not. */
static bool is_label_token(br_promql_tok t)
{
    switch (t) {
    case BR_TOK_IDENTIFIER:
    case BR_TOK_METRIC_IDENTIFIER:
    case BR_TOK_STRING:
    case BR_TOK_BOOL:
    case BR_TOK_BY:
    case BR_TOK_GROUP_LEFT:
    case BR_TOK_GROUP_RIGHT:
    case BR_TOK_FILL:
    case BR_TOK_FILL_LEFT:
    case BR_TOK_FILL_RIGHT:
    case BR_TOK_IGNORING:
    case BR_TOK_LAND:
    case BR_TOK_LOR:
    case BR_TOK_LUNLESS:
    case BR_TOK_OFFSET:
    case BR_TOK_ON:
    case BR_TOK_START:
    case BR_TOK_END:
    case BR_TOK_ATAN2:
    case BR_TOK_STEP:
    case BR_TOK_RANGE:
    case BR_TOK_ANCHORED:
    case BR_TOK_SMOOTHED:
    case BR_TOK_MAX_OF:
    case BR_TOK_MIN_OF:
        return true;
    default:
        return br_promql_tok_is_aggregator(t);
    }
}

/* True when s[0..n) is valid UTF-8. */
static bool valid_utf8(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t w;
        int32_t r = br_promql_utf8_decode(s + i, n - i, &w);
        if (r == 0xFFFD && w == 1) {
            return false;
        }
        i += w;
    }
    return true;
}

/* Growable list of label names in a heap scratch array. */
typedef struct namelist {
    const char **v;
    size_t n;
    size_t cap;
} namelist;

static void namelist_push(namelist *l, const char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap == 0 ? 8 : l->cap * 2;
        l->v = br_realloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = s;
}

/* "(" labels ")" after by/without/on/ignoring/group_x; the keyword was
 * consumed. Fills *out with arena copies. */
static bool parse_grouping(parser *p, br_promql_labels *out)
{
    saved_ctx saved = set_ctx(p, "grouping opts", "\"(\"");
    namelist l = {0};
    bool ok = false;
    if (!expect(p, BR_TOK_LEFT_PAREN, NULL)) {
        goto done;
    }
    p->expected = "label";
    if (at(p, BR_TOK_RIGHT_PAREN)) {
        consume(p);
        ok = true;
        goto done;
    }
    for (;;) {
        br_promql_token *t = peek(p);
        if (p->rc != 0) {
            goto done;
        }
        if (!is_label_token(t->type)) {
            unexpected(p);
            goto done;
        }
        br_promql_token lt = consume(p);
        const char *name;
        if (lt.type == BR_TOK_STRING) {
            size_t n = 0;
            name = string_value(p, &lt, &n);
            if (name == NULL) {
                goto done;
            }
            if (n == 0 || !valid_utf8(name, n) || strlen(name) != n) {
                char q[96];
                fail(p, lt.pos, "invalid label name for grouping: %s", goq(name, n, q, sizeof(q)));
                goto done;
            }
        } else {
            name = br_arena_strndup(p->arena, p->in + lt.pos, lt.len);
            if (name == NULL) {
                fail_limit(p, lt.pos, "query needs more memory than the query arena allows");
                goto done;
            }
        }
        namelist_push(&l, name);
        p->expected = "\",\" or \")\"";
        if (at(p, BR_TOK_COMMA)) {
            consume(p);
            p->expected = "label";
            if (at(p, BR_TOK_RIGHT_PAREN)) {
                consume(p);
                break;
            }
            continue;
        }
        if (at(p, BR_TOK_RIGHT_PAREN)) {
            consume(p);
            break;
        }
        unexpected(p);
        goto done;
    }
    ok = true;
done:
    if (ok) {
        out->n = l.n;
        out->names = arena_array(p, l.n, sizeof(*out->names), p->last_end);
        if (l.n > 0 && out->names != NULL) {
            memcpy(out->names, l.v, l.n * sizeof(*l.v));
        }
        ok = p->rc == 0;
    }
    br_free(l.v);
    restore_ctx(p, saved);
    return ok;
}

/* "(" [expr {"," expr}] ")": the argument list of calls and aggregations.
 * The arguments go to the arena. */
static bool parse_call_body(parser *p, br_promql_node ***args, size_t *nargs)
{
    *args = NULL;
    *nargs = 0;
    if (!expect(p, BR_TOK_LEFT_PAREN, NULL)) {
        return false;
    }
    if (at(p, BR_TOK_RIGHT_PAREN)) {
        consume(p);
        return true;
    }
    br_promql_node **v = NULL;
    size_t n = 0;
    size_t cap = 0;
    bool ok = false;
    for (;;) {
        br_promql_node *a = parse_expr(p, 0);
        if (a == NULL) {
            break;
        }
        if (n == cap) {
            cap = cap == 0 ? 4 : cap * 2;
            v = br_realloc(v, cap * sizeof(*v));
        }
        v[n++] = a;
        if (at(p, BR_TOK_COMMA)) {
            br_promql_token comma = consume(p);
            br_promql_tok next = peek(p)->type;
            if (p->rc == 0 && !starts_expr(next)) {
                /* Prometheus' grammar closes the list here, so a trailing
                 * comma is reported before whatever follows it. */
                fail(p, comma.pos, "trailing commas not allowed in function call args");
                break;
            }
            continue;
        }
        if (at(p, BR_TOK_RIGHT_PAREN)) {
            consume(p);
            ok = true;
            break;
        }
        unexpected(p);
        break;
    }
    if (ok) {
        *args = arena_array(p, n, sizeof(*v), p->last_end);
        if (*args != NULL) {
            memcpy(*args, v, n * sizeof(*v));
            *nargs = n;
        }
        ok = p->rc == 0;
    }
    br_free(v);
    return ok;
}

static br_selector *new_selector(parser *p, size_t pos)
{
    if (p->nsels >= BR_PROMQL_MAX_SELECTORS) {
        fail_limit(p, pos, "too many vector selectors in one query (more than %d)",
                   BR_PROMQL_MAX_SELECTORS);
        return NULL;
    }
    br_selector *s = br_arena_calloc(p->arena, 1, sizeof(*s));
    if (s == NULL) {
        fail_limit(p, pos, "query needs more memory than the query arena allows");
        return NULL;
    }
    if (p->nsels == p->capsels) {
        p->capsels = p->capsels == 0 ? 8 : p->capsels * 2;
        p->sels = br_realloc(p->sels, p->capsels * sizeof(*p->sels));
    }
    p->sels[p->nsels++] = s;
    return s;
}

static bool add_matcher(parser *p, br_selector *s, br_match_type type, const char *name,
                        const char *value, size_t pos)
{
    if (s->n >= BR_SELECTOR_MAX_MATCHERS) {
        fail_limit(p, pos, "too many label matchers in one selector (more than %d)",
                   BR_SELECTOR_MAX_MATCHERS);
        return false;
    }
    br_err merr;
    br_err_clear(&merr);
    int rc = br_matcher_init(&s->matchers[s->n], type, name, value, &merr);
    if (rc != 0) {
        if (rc == BR_ELIMIT) {
            fail_limit(p, pos, "%s", merr.msg);
        } else {
            fail(p, pos, "%s", merr.msg);
        }
        return false;
    }
    s->n++;
    return true;
}

static bool match_op(br_promql_tok t, br_match_type *out)
{
    switch (t) {
    case BR_TOK_EQL:
        *out = BR_MATCH_EQ;
        return true;
    case BR_TOK_NEQ:
        *out = BR_MATCH_NEQ;
        return true;
    case BR_TOK_EQL_REGEX:
        *out = BR_MATCH_RE;
        return true;
    case BR_TOK_NEQ_REGEX:
        *out = BR_MATCH_NRE;
        return true;
    default:
        return false;
    }
}

/* "{" matchers "}" into s; the "{" is the lookahead. */
static bool parse_label_matchers(parser *p, br_selector *s)
{
    saved_ctx saved = set_ctx(p, "label matching", NULL);
    bool ok = false;
    consume(p); /* { */
    if (at(p, BR_TOK_RIGHT_BRACE)) {
        consume(p);
        ok = true;
        goto done;
    }
    for (;;) {
        br_promql_token *t = peek(p);
        if (p->rc != 0) {
            goto done;
        }
        if (t->type != BR_TOK_IDENTIFIER && t->type != BR_TOK_STRING) {
            p->expected = "identifier or \"}\"";
            unexpected(p);
            goto done;
        }
        br_promql_token lt = consume(p);
        const char *lname;
        if (lt.type == BR_TOK_STRING) {
            lname = string_value(p, &lt, NULL);
        } else {
            lname = br_arena_strndup(p->arena, p->in + lt.pos, lt.len);
            if (lname == NULL) {
                fail_limit(p, lt.pos, "query needs more memory than the query arena allows");
            }
        }
        if (lname == NULL) {
            goto done;
        }
        br_match_type mt;
        if (!match_op(peek(p)->type, &mt)) {
            if (p->rc != 0) {
                goto done;
            }
            if (lt.type == BR_TOK_IDENTIFIER) {
                p->expected = "label matching operator";
                unexpected(p);
                goto done;
            }
            /* A quoted metric name alone: {"my.metric"}. */
            if (!add_matcher(p, s, BR_MATCH_EQ, "__name__", lname, lt.pos)) {
                goto done;
            }
        } else {
            consume(p); /* the operator */
            if (!at(p, BR_TOK_STRING)) {
                p->expected = "string";
                unexpected(p);
                goto done;
            }
            br_promql_token vt = consume(p);
            const char *value = string_value(p, &vt, NULL);
            if (value == NULL || !add_matcher(p, s, mt, lname, value, lt.pos)) {
                goto done;
            }
        }
        p->expected = "\",\" or \"}\"";
        if (at(p, BR_TOK_COMMA)) {
            consume(p);
            p->expected = NULL;
            if (at(p, BR_TOK_RIGHT_BRACE)) {
                consume(p);
                break;
            }
            continue;
        }
        if (at(p, BR_TOK_RIGHT_BRACE)) {
            consume(p);
            break;
        }
        unexpected(p);
        goto done;
    }
    ok = true;
done:
    restore_ctx(p, saved);
    return ok && p->rc == 0;
}

/* A vector selector: name_tok (may be NULL) and/or "{...}". */
static br_promql_node *parse_vector_selector(parser *p, const br_promql_token *name_tok)
{
    uint32_t start = name_tok != NULL ? name_tok->pos : peek(p)->pos;
    br_selector *s = new_selector(p, start);
    if (s == NULL) {
        return NULL;
    }
    if (name_tok == NULL || at(p, BR_TOK_LEFT_BRACE)) {
        if (!parse_label_matchers(p, s)) {
            return NULL;
        }
    }
    br_promql_node *n = mk(p, BR_PROMQL_VECTOR_SELECTOR, start, p->last_end);
    if (n == NULL) {
        return NULL;
    }
    n->type = BR_PROMQL_TYPE_VECTOR;
    n->u.vs.matchers = s;
    if (name_tok != NULL) {
        char *name = br_arena_strndup(p->arena, p->in + name_tok->pos, name_tok->len);
        if (name == NULL) {
            fail_limit(p, start, "query needs more memory than the query arena allows");
            return NULL;
        }
        n->u.vs.name = name;
        if (!add_matcher(p, s, BR_MATCH_EQ, "__name__", name, start)) {
            return NULL;
        }
    }
    return n;
}

static br_promql_node *parse_call(parser *p, const br_promql_token *name_tok)
{
    br_promql_node **args;
    size_t nargs;
    if (!parse_call_body(p, &args, &nargs)) {
        return NULL;
    }
    const br_promql_function *f = br_promql_function_lookup(p->in + name_tok->pos, name_tok->len);
    if (f == NULL) {
        char q[96];
        fail(p, name_tok->pos, "unknown function with name %s",
             goq(p->in + name_tok->pos, name_tok->len, q, sizeof(q)));
        return NULL;
    }
    br_promql_node *n = mk(p, BR_PROMQL_CALL, name_tok->pos, p->last_end);
    if (n == NULL) {
        return NULL;
    }
    n->type = f->return_type;
    n->u.call.func = f;
    n->u.call.args = args;
    n->u.call.nargs = nargs;
    return fix_depth(p, n) ? n : NULL;
}

static br_promql_aggop aggop_of(br_promql_tok t)
{
    static const struct {
        br_promql_tok tok;
        br_promql_aggop op;
    } ops[] = {
        {BR_TOK_SUM, BR_PROMQL_AGG_SUM},
        {BR_TOK_AVG, BR_PROMQL_AGG_AVG},
        {BR_TOK_COUNT, BR_PROMQL_AGG_COUNT},
        {BR_TOK_MIN, BR_PROMQL_AGG_MIN},
        {BR_TOK_MAX, BR_PROMQL_AGG_MAX},
        {BR_TOK_GROUP, BR_PROMQL_AGG_GROUP},
        {BR_TOK_STDDEV, BR_PROMQL_AGG_STDDEV},
        {BR_TOK_STDVAR, BR_PROMQL_AGG_STDVAR},
        {BR_TOK_TOPK, BR_PROMQL_AGG_TOPK},
        {BR_TOK_BOTTOMK, BR_PROMQL_AGG_BOTTOMK},
        {BR_TOK_COUNT_VALUES, BR_PROMQL_AGG_COUNT_VALUES},
        {BR_TOK_QUANTILE, BR_PROMQL_AGG_QUANTILE},
        {BR_TOK_LIMITK, BR_PROMQL_AGG_LIMITK},
        {BR_TOK_LIMIT_RATIO, BR_PROMQL_AGG_LIMIT_RATIO},
    };
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (ops[i].tok == t) {
            return ops[i].op;
        }
    }
    return BR_PROMQL_AGG_SUM; /* callers pass aggregator tokens only */
}

/* An aggregation; op_tok was consumed and "(", by or without follows. */
static br_promql_node *parse_aggregate(parser *p, const br_promql_token *op_tok)
{
    saved_ctx saved = set_ctx(p, "aggregation", NULL);
    br_promql_labels grouping = {0};
    bool without = false;
    bool have_mod = false;
    br_promql_node **args = NULL;
    size_t nargs = 0;
    br_promql_node *n = NULL;
    if (at(p, BR_TOK_BY) || at(p, BR_TOK_WITHOUT)) {
        without = consume(p).type == BR_TOK_WITHOUT;
        have_mod = true;
        if (!parse_grouping(p, &grouping)) {
            goto done;
        }
    }
    if (!parse_call_body(p, &args, &nargs)) {
        goto done;
    }
    if (!have_mod && (at(p, BR_TOK_BY) || at(p, BR_TOK_WITHOUT))) {
        without = consume(p).type == BR_TOK_WITHOUT;
        if (!parse_grouping(p, &grouping)) {
            goto done;
        }
    }
    if (p->rc != 0) {
        goto done;
    }
    br_promql_aggop op = aggop_of(op_tok->type);
    if (nargs == 0) {
        fail(p, op_tok->pos, "no arguments for aggregate expression provided");
        goto done;
    }
    size_t want = br_promql_aggop_has_param(op) ? 2 : 1;
    if (nargs != want) {
        fail(p, op_tok->pos,
             "wrong number of arguments for aggregate expression provided, expected %zu, got %zu",
             want, nargs);
        goto done;
    }
    n = mk(p, BR_PROMQL_AGGREGATE, op_tok->pos, p->last_end);
    if (n == NULL) {
        goto done;
    }
    n->type = BR_PROMQL_TYPE_VECTOR;
    n->u.aggregate.op = op;
    n->u.aggregate.param = want == 2 ? args[0] : NULL;
    n->u.aggregate.expr = args[want - 1];
    n->u.aggregate.grouping = grouping;
    n->u.aggregate.without = without;
    if (!fix_depth(p, n)) {
        n = NULL;
    }
done:
    restore_ctx(p, saved);
    return p->rc == 0 ? n : NULL;
}

static br_promql_node *parse_primary(parser *p)
{
    br_promql_token t = *peek(p);
    if (p->rc != 0) {
        return NULL;
    }
    switch (t.type) {
    case BR_TOK_NUMBER: {
        consume(p);
        double v;
        if (!number_value(p, &t, &v)) {
            return NULL;
        }
        br_promql_node *n = mk(p, BR_PROMQL_NUMBER, t.pos, t.pos + t.len);
        if (n != NULL) {
            n->type = BR_PROMQL_TYPE_SCALAR;
            n->u.number.value = v;
        }
        return n;
    }
    case BR_TOK_DURATION: {
        consume(p);
        int64_t ms;
        if (!duration_value(p, &t, &ms)) {
            return NULL;
        }
        br_promql_node *n = mk(p, BR_PROMQL_NUMBER, t.pos, t.pos + t.len);
        if (n != NULL) {
            n->type = BR_PROMQL_TYPE_SCALAR;
            n->u.number.value = (double)ms / 1000.0;
            n->u.number.duration = true;
        }
        return n;
    }
    case BR_TOK_STRING: {
        consume(p);
        size_t len = 0;
        char *s = string_value(p, &t, &len);
        if (s == NULL) {
            return NULL;
        }
        br_promql_node *n = mk(p, BR_PROMQL_STRING, t.pos, t.pos + t.len);
        if (n != NULL) {
            n->type = BR_PROMQL_TYPE_STRING;
            n->u.string.value = s;
            n->u.string.len = len;
        }
        return n;
    }
    case BR_TOK_LEFT_PAREN: {
        consume(p);
        br_promql_node *e = parse_expr(p, 0);
        if (e == NULL || !expect(p, BR_TOK_RIGHT_PAREN, NULL)) {
            return NULL;
        }
        br_promql_node *n = mk(p, BR_PROMQL_PAREN, t.pos, p->last_end);
        if (n == NULL) {
            return NULL;
        }
        n->type = e->type;
        n->u.paren.expr = e;
        return fix_depth(p, n) ? n : NULL;
    }
    case BR_TOK_LEFT_BRACE:
        return parse_vector_selector(p, NULL);
    case BR_TOK_IDENTIFIER:
    case BR_TOK_START:
    case BR_TOK_END:
    case BR_TOK_STEP:
    case BR_TOK_RANGE:
    case BR_TOK_MAX_OF:
    case BR_TOK_MIN_OF:
        consume(p);
        if (at(p, BR_TOK_LEFT_PAREN)) {
            return parse_call(p, &t);
        }
        return p->rc == 0 ? parse_vector_selector(p, &t) : NULL;
    case BR_TOK_METRIC_IDENTIFIER:
    case BR_TOK_BY:
    case BR_TOK_WITHOUT:
    case BR_TOK_OFFSET:
    case BR_TOK_LAND:
    case BR_TOK_LOR:
    case BR_TOK_LUNLESS:
    case BR_TOK_FILL:
    case BR_TOK_FILL_LEFT:
    case BR_TOK_FILL_RIGHT:
    case BR_TOK_ANCHORED:
    case BR_TOK_SMOOTHED:
        consume(p);
        return parse_vector_selector(p, &t);
    default:
        break;
    }
    if (br_promql_tok_is_aggregator(t.type)) {
        consume(p);
        if (at(p, BR_TOK_LEFT_PAREN) || at(p, BR_TOK_BY) || at(p, BR_TOK_WITHOUT)) {
            return parse_aggregate(p, &t);
        }
        return p->rc == 0 ? parse_vector_selector(p, &t) : NULL;
    }
    unexpected(p);
    return NULL;
}

/* Seconds → milliseconds the way Prometheus turns a number literal into a
 * time.Duration (rounded to nanoseconds) and then into milliseconds. */
static int64_t seconds_to_ms(double v)
{
    if (isnan(v)) {
        return 0; /* `offset NaN`: no meaningful duration; avoid the cast */
    }
    double ns = round(v * 1e9);
    return (int64_t)ns / 1000000;
}

/* |seconds| beyond what a time.Duration holds. */
static bool duration_out_of_range(double v)
{
    return v > 9223372036.854775807 || v < -9223372036.854775808;
}

/* A duration literal: its value in seconds, the same in milliseconds
 * (exact for duration tokens, which a double may not hold exactly), and
 * where it starts with (pos) and without (lit_pos) its sign. */
typedef struct dur_lit {
    double seconds;
    int64_t ms;
    uint32_t pos;
    uint32_t lit_pos;
} dur_lit;

/*
 * The literal of a range, subquery step or offset: [sign] number or
 * duration. Duration arithmetic and step()/range()/min_of()/max_of() are
 * Prometheus' experimental duration expressions, reported as not enabled.
 * Returns false on error.
 */
static bool parse_duration_literal(parser *p, bool allow_many_signs, dur_lit *out)
{
    uint32_t *pos = &out->pos;
    uint32_t *lit_pos = &out->lit_pos;
    bool neg = false;
    int signs = 0;
    *pos = peek(p)->pos;
    while (p->rc == 0 && (at(p, BR_TOK_ADD) || at(p, BR_TOK_SUB))) {
        if (signs == 1 && !allow_many_signs) {
            break;
        }
        if (consume(p).type == BR_TOK_SUB) {
            neg = !neg;
        }
        signs++;
    }
    br_promql_token t = *peek(p);
    if (p->rc != 0) {
        return false;
    }
    *lit_pos = t.pos;
    double v;
    int64_t ms = 0;
    bool exact = false;
    switch (t.type) {
    case BR_TOK_NUMBER:
        consume(p);
        if (!number_value(p, &t, &v)) {
            return false;
        }
        break;
    case BR_TOK_DURATION:
        consume(p);
        if (!duration_value(p, &t, &ms)) {
            return false;
        }
        v = (double)ms / 1000.0;
        exact = true;
        break;
    case BR_TOK_LEFT_PAREN:
        consume(p);
        fail(p, peek(p)->pos, "experimental duration expression is not enabled");
        return false;
    case BR_TOK_STEP:
    case BR_TOK_RANGE:
    case BR_TOK_MAX_OF:
    case BR_TOK_MIN_OF:
        consume(p);
        if (!at(p, BR_TOK_LEFT_PAREN)) {
            unexpected(p);
            return false;
        }
        fail(p, t.pos, "experimental duration expression is not enabled");
        return false;
    default:
        unexpected(p);
        return false;
    }
    out->seconds = neg ? -v : v;
    if (exact) {
        out->ms = neg ? -ms : ms;
    } else if (!duration_out_of_range(out->seconds)) {
        out->ms = seconds_to_ms(out->seconds);
    }
    return true;
}

/* ---- Duration expressions (experimental; BR_PROMQL_PARSE_DURATION_EXPR) --- */

static br_promql_dur *mk_dur(parser *p, br_promql_dur_op op, uint32_t start, uint32_t end)
{
    if (p->rc != 0) {
        return NULL;
    }
    br_promql_dur *d = br_arena_calloc(p->arena, 1, sizeof(*d));
    if (d == NULL) {
        fail_limit(p, start, "query needs more memory than the query arena allows");
        return NULL;
    }
    d->op = op;
    d->start = start;
    d->end = end;
    return d;
}

/* A NUMBER or DURATION token (consumed) as a literal. */
static br_promql_dur *dur_literal(parser *p, const br_promql_token *t)
{
    double v;
    bool is_dur = t->type == BR_TOK_DURATION;
    if (is_dur) {
        int64_t ms;
        if (!duration_value(p, t, &ms)) {
            return NULL;
        }
        v = (double)ms / 1000.0;
    } else if (!number_value(p, t, &v)) {
        return NULL;
    }
    if (isnan(v) || duration_out_of_range(v)) {
        fail(p, t->pos, "duration out of range");
        return NULL;
    }
    br_promql_dur *d = mk_dur(p, BR_PROMQL_DUR_NUMBER, t->pos, t->pos + t->len);
    if (d != NULL) {
        d->value = v;
        d->duration = is_dur;
    }
    return d;
}

/* Marks e as written in parentheses [start, end); a bare literal gets a
 * unary-plus node to carry the mark, as Prometheus does. */
static br_promql_dur *dur_wrap(parser *p, br_promql_dur *e, uint32_t start, uint32_t end)
{
    if (e->op != BR_PROMQL_DUR_NUMBER) {
        e->wrapped = true;
        return e;
    }
    br_promql_dur *w = mk_dur(p, BR_PROMQL_DUR_ADD, start, end);
    if (w != NULL) {
        w->rhs = e;
        w->wrapped = true;
        w->end = e->end;
    }
    return w;
}

/* A unary + or - (token op) applied to e (Prometheus'
 * applyUnaryOpToDurationExpr): folded into a literal, or a unary node. */
static br_promql_dur *dur_unary(parser *p, const br_promql_token *op, br_promql_dur *e,
                                bool wrapped)
{
    if (wrapped) {
        e = dur_wrap(p, e, e->start, e->end);
        if (e == NULL) {
            return NULL;
        }
    }
    if (e->op != BR_PROMQL_DUR_NUMBER) {
        if (op->type != BR_TOK_SUB) {
            return e;
        }
        br_promql_dur *u = mk_dur(p, BR_PROMQL_DUR_SUB, op->pos, e->end);
        if (u != NULL) {
            u->rhs = e;
        }
        return u;
    }
    if (op->type == BR_TOK_SUB) {
        e->value = -e->value;
    }
    if (duration_out_of_range(e->value)) {
        fail(p, op->pos, "duration out of range");
        return NULL;
    }
    e->start = op->pos;
    return e;
}

static br_promql_dur *dur_expr(parser *p, int min_prec);

/* step() or range(): the keyword is the lookahead. */
static br_promql_dur *dur_step_or_range(parser *p)
{
    br_promql_token t = consume(p);
    br_promql_token rp;
    if (!expect(p, BR_TOK_LEFT_PAREN, NULL) || !expect(p, BR_TOK_RIGHT_PAREN, &rp)) {
        return NULL;
    }
    return mk_dur(p, t.type == BR_TOK_STEP ? BR_PROMQL_DUR_STEP : BR_PROMQL_DUR_RANGE, t.pos,
                  rp.pos + 1);
}

/* min_of(a, b) or max_of(a, b): the keyword is the lookahead. */
static br_promql_dur *dur_min_max(parser *p)
{
    br_promql_token t = consume(p);
    if (!expect(p, BR_TOK_LEFT_PAREN, NULL)) {
        return NULL;
    }
    br_promql_dur *l = dur_expr(p, 0);
    if (l == NULL || !expect(p, BR_TOK_COMMA, NULL)) {
        return NULL;
    }
    br_promql_dur *r = dur_expr(p, 0);
    if (r == NULL || !expect(p, BR_TOK_RIGHT_PAREN, NULL)) {
        return NULL;
    }
    br_promql_dur *d = mk_dur(
        p, t.type == BR_TOK_MIN_OF ? BR_PROMQL_DUR_MIN_OF : BR_PROMQL_DUR_MAX_OF, l->start, r->end);
    if (d != NULL) {
        d->lhs = l;
        d->rhs = r;
    }
    return d;
}

/* "(" duration_expr ")": the parenthesis is the lookahead. */
static br_promql_dur *dur_paren(parser *p, bool mark)
{
    br_promql_token lp = consume(p);
    br_promql_dur *e = dur_expr(p, 0);
    br_promql_token rp;
    if (e == NULL || !expect(p, BR_TOK_RIGHT_PAREN, &rp)) {
        return NULL;
    }
    return mark ? dur_wrap(p, e, lp.pos, rp.pos + 1) : e;
}

static br_promql_dur *dur_primary(parser *p)
{
    br_promql_token t = *peek(p);
    if (p->rc != 0) {
        return NULL;
    }
    switch (t.type) {
    case BR_TOK_NUMBER:
    case BR_TOK_DURATION:
        consume(p);
        return dur_literal(p, &t);
    case BR_TOK_STEP:
    case BR_TOK_RANGE:
        return dur_step_or_range(p);
    case BR_TOK_MIN_OF:
    case BR_TOK_MAX_OF:
        return dur_min_max(p);
    case BR_TOK_LEFT_PAREN:
        return dur_paren(p, true);
    default:
        unexpected(p);
        return NULL;
    }
}

/*
 * duration_expr with Prometheus' precedences: + - below * / % below a
 * unary sign below ^ (right-associative); so -2^2 is -(2^2) and -5m+35m
 * is (-5m)+35m. A literal 0 divisor is refused here, as Prometheus does.
 */
static br_promql_dur *dur_expr(parser *p, int min_prec)
{
    if (p->rc != 0) {
        return NULL;
    }
    if (++p->depth > BR_PROMQL_MAX_DEPTH) {
        fail_limit(p, peek(p)->pos, "expression nesting is too deep (more than %d levels)",
                   BR_PROMQL_MAX_DEPTH);
        p->depth--;
        return NULL;
    }
    br_promql_dur *lhs;
    if (at(p, BR_TOK_ADD) || at(p, BR_TOK_SUB)) {
        br_promql_token op = consume(p);
        br_promql_dur *e = dur_expr(p, PREC_POW);
        lhs = e != NULL ? dur_unary(p, &op, e, false) : NULL;
    } else {
        lhs = dur_primary(p);
    }
    while (lhs != NULL && p->rc == 0) {
        br_promql_tok t = peek(p)->type;
        if (p->rc != 0) {
            break;
        }
        br_promql_dur_op op;
        int prec;
        switch (t) {
        case BR_TOK_ADD:
            op = BR_PROMQL_DUR_ADD;
            prec = PREC_ADD;
            break;
        case BR_TOK_SUB:
            op = BR_PROMQL_DUR_SUB;
            prec = PREC_ADD;
            break;
        case BR_TOK_MUL:
            op = BR_PROMQL_DUR_MUL;
            prec = PREC_MUL;
            break;
        case BR_TOK_DIV:
            op = BR_PROMQL_DUR_DIV;
            prec = PREC_MUL;
            break;
        case BR_TOK_MOD:
            op = BR_PROMQL_DUR_MOD;
            prec = PREC_MUL;
            break;
        case BR_TOK_POW:
            op = BR_PROMQL_DUR_POW;
            prec = PREC_POW;
            break;
        default:
            prec = -1;
            op = BR_PROMQL_DUR_NUMBER;
            break;
        }
        if (prec < min_prec) {
            break;
        }
        br_promql_token ot = consume(p);
        br_promql_dur *rhs = dur_expr(p, op == BR_PROMQL_DUR_POW ? prec : prec + 1);
        if (rhs == NULL) {
            lhs = NULL;
            break;
        }
        if ((op == BR_PROMQL_DUR_DIV || op == BR_PROMQL_DUR_MOD) &&
            rhs->op == BR_PROMQL_DUR_NUMBER && rhs->value == 0) {
            fail(p, ot.pos, "%s", op == BR_PROMQL_DUR_DIV ? "division by zero" : "modulo by zero");
            lhs = NULL;
            break;
        }
        br_promql_dur *b = mk_dur(p, op, lhs->start, rhs->end);
        if (b != NULL) {
            b->lhs = lhs;
            b->rhs = rhs;
        }
        lhs = b;
    }
    p->depth--;
    return p->rc == 0 ? lhs : NULL;
}

/*
 * A range or subquery step with duration expressions allowed: a literal
 * (sets *ms, *expr NULL) must be > 0; an expression (sets *expr) is
 * checked when the query runs.
 */
static bool parse_bracket_dexpr(parser *p, int64_t *ms, const br_promql_dur **expr)
{
    br_promql_dur *d = dur_expr(p, 0);
    if (d == NULL) {
        return false;
    }
    *expr = NULL;
    *ms = 0;
    if (d->op != BR_PROMQL_DUR_NUMBER) {
        *expr = d;
        return true;
    }
    int64_t v = seconds_to_ms(d->value);
    /* Sub-millisecond ranges would become 0 ms: refused like 0. */
    if (d->value <= 0 || v <= 0) {
        fail(p, d->start, "duration must be greater than 0");
        return false;
    }
    *ms = v;
    return true;
}

/*
 * What follows "offset" with duration expressions allowed (Prometheus'
 * offset_duration_expr): a signed literal, step(), range(), min_of(),
 * max_of() or a signed parenthesis end the offset, so `x offset 5m + 1`
 * adds 1 to `x offset 5m`; only an unsigned parenthesis may continue with
 * arithmetic (`offset (1m) * 2`).
 */
static bool parse_offset_dexpr(parser *p, int64_t *ms, const br_promql_dur **expr)
{
    br_promql_token t = *peek(p);
    if (p->rc != 0) {
        return false;
    }
    br_promql_dur *d = NULL;
    if (t.type == BR_TOK_ADD || t.type == BR_TOK_SUB) {
        consume(p);
        br_promql_token n = *peek(p);
        if (p->rc != 0) {
            return false;
        }
        switch (n.type) {
        case BR_TOK_NUMBER:
        case BR_TOK_DURATION: {
            consume(p);
            br_promql_dur *lit = dur_literal(p, &n);
            d = lit != NULL ? dur_unary(p, &t, lit, false) : NULL;
            break;
        }
        case BR_TOK_STEP:
        case BR_TOK_RANGE:
        case BR_TOK_MIN_OF:
        case BR_TOK_MAX_OF: {
            br_promql_dur *inner = (n.type == BR_TOK_STEP || n.type == BR_TOK_RANGE)
                                       ? dur_step_or_range(p)
                                       : dur_min_max(p);
            if (inner != NULL) {
                d = mk_dur(p, t.type == BR_TOK_SUB ? BR_PROMQL_DUR_SUB : BR_PROMQL_DUR_ADD, t.pos,
                           inner->end);
                if (d != NULL) {
                    d->rhs = inner;
                }
            }
            break;
        }
        case BR_TOK_LEFT_PAREN: {
            br_promql_dur *inner = dur_paren(p, false);
            d = inner != NULL ? dur_unary(p, &t, inner, true) : NULL;
            break;
        }
        default:
            unexpected(p);
            return false;
        }
    } else {
        switch (t.type) {
        case BR_TOK_NUMBER:
        case BR_TOK_DURATION:
            consume(p);
            d = dur_literal(p, &t);
            break;
        case BR_TOK_STEP:
        case BR_TOK_RANGE:
            d = dur_step_or_range(p);
            break;
        case BR_TOK_MIN_OF:
        case BR_TOK_MAX_OF:
            d = dur_min_max(p);
            break;
        case BR_TOK_LEFT_PAREN:
            d = dur_expr(p, 0);
            break;
        default:
            unexpected(p);
            return false;
        }
    }
    if (d == NULL || p->rc != 0) {
        return false;
    }
    *expr = NULL;
    *ms = 0;
    if (d->op == BR_PROMQL_DUR_NUMBER) {
        *ms = seconds_to_ms(d->value);
    } else {
        *expr = d;
    }
    return true;
}

/* True when the lookahead continues a duration expression with arithmetic. */
static bool at_duration_arith(parser *p)
{
    br_promql_tok t = peek(p)->type;
    return p->rc == 0 && (t == BR_TOK_ADD || t == BR_TOK_SUB || t == BR_TOK_MUL ||
                          t == BR_TOK_DIV || t == BR_TOK_MOD || t == BR_TOK_POW);
}

/* A range or step inside brackets, in milliseconds (> 0), or (with
 * duration expressions enabled) an expression. */
static bool parse_bracket_duration(parser *p, int64_t *ms, const br_promql_dur **expr)
{
    *expr = NULL;
    if (p->flags & BR_PROMQL_PARSE_DURATION_EXPR) {
        return parse_bracket_dexpr(p, ms, expr);
    }
    dur_lit d;
    if (!parse_duration_literal(p, true, &d)) {
        return false;
    }
    if (duration_out_of_range(d.seconds)) {
        fail(p, d.lit_pos, "duration out of range");
        return false;
    }
    if (at_duration_arith(p)) {
        fail(p, d.pos, "experimental duration expression is not enabled");
        return false;
    }
    if (p->rc != 0) {
        return false;
    }
    /* Sub-millisecond ranges would become 0 ms: refused like 0. */
    if (d.seconds <= 0 || d.ms <= 0) {
        fail(p, d.pos, "duration must be greater than 0");
        return false;
    }
    *ms = d.ms;
    return true;
}

/* Which of a node's offset/@ fields a modifier applies to. */
typedef struct mod_target {
    int64_t *offset_ms;
    const br_promql_dur **offset_expr;
    br_promql_at *at;
    int64_t *at_ms;
} mod_target;

static bool modifier_target(parser *p, br_promql_node *e, mod_target *t, const char *what)
{
    switch (e->kind) {
    case BR_PROMQL_VECTOR_SELECTOR:
        *t = (mod_target){&e->u.vs.offset_ms, &e->u.vs.offset_expr, &e->u.vs.at, &e->u.vs.at_ms};
        return true;
    case BR_PROMQL_MATRIX_SELECTOR: {
        br_promql_node *vs = e->u.matrix.vs;
        *t =
            (mod_target){&vs->u.vs.offset_ms, &vs->u.vs.offset_expr, &vs->u.vs.at, &vs->u.vs.at_ms};
        return true;
    }
    case BR_PROMQL_SUBQUERY:
        *t = (mod_target){&e->u.subquery.offset_ms, &e->u.subquery.offset_expr, &e->u.subquery.at,
                          &e->u.subquery.at_ms};
        return true;
    default:
        fail(p, e->start,
             "%s modifier must be preceded by an instant vector selector or range vector "
             "selector or a subquery",
             what);
        return false;
    }
}

/* "offset" was consumed; applies the offset to e. */
static bool parse_offset(parser *p, br_promql_node *e)
{
    saved_ctx saved = set_ctx(p, "offset", EXPECT_DURATION);
    int64_t ms = 0;
    const br_promql_dur *expr = NULL;
    bool ok;
    if (p->flags & BR_PROMQL_PARSE_DURATION_EXPR) {
        ok = parse_offset_dexpr(p, &ms, &expr);
    } else {
        dur_lit d;
        ok = parse_duration_literal(p, false, &d);
        if (ok && duration_out_of_range(d.seconds)) {
            restore_ctx(p, saved);
            fail(p, d.pos, "duration out of range");
            return false;
        }
        ms = d.ms;
    }
    restore_ctx(p, saved);
    if (!ok) {
        return false;
    }
    mod_target t;
    if (!modifier_target(p, e, &t, "offset")) {
        return false;
    }
    if (*t.offset_ms != 0 || *t.offset_expr != NULL) {
        fail(p, e->start, "offset may not be set multiple times");
        return false;
    }
    *t.offset_ms = ms;
    *t.offset_expr = expr;
    e->end = p->last_end;
    return true;
}

/* "anchored" or "smoothed" was consumed; sets it on e (Prometheus'
 * setAnchored/setSmoothed). */
static bool parse_extended(parser *p, br_promql_node *e, bool anchored)
{
    const char *what = anchored ? "anchored" : "smoothed";
    if (!(p->flags & BR_PROMQL_PARSE_EXTENDED_RANGE)) {
        fail(p, e->start, "%s modifier is experimental and not enabled", what);
        return false;
    }
    br_promql_node *vs = NULL;
    switch (e->kind) {
    case BR_PROMQL_VECTOR_SELECTOR:
        vs = e;
        break;
    case BR_PROMQL_MATRIX_SELECTOR:
        vs = e->u.matrix.vs;
        break;
    case BR_PROMQL_SUBQUERY:
        fail(p, e->start, "%s modifier is not supported for subqueries", what);
        return false;
    default:
        fail(p, e->start, "%s modifier not implemented", what);
        return false;
    }
    if (anchored) {
        vs->u.vs.anchored = true;
    } else {
        vs->u.vs.smoothed = true;
    }
    if (vs->u.vs.anchored && vs->u.vs.smoothed) {
        fail(p, e->start, "anchored and smoothed modifiers cannot be used together");
        return false;
    }
    return true;
}

/* Go's %f for the @ bounds message. */
static const char *go_fmt_f(double v, char *out, size_t size)
{
    if (isnan(v)) {
        snprintf(out, size, "NaN");
    } else if (isinf(v)) {
        snprintf(out, size, "%s", v > 0 ? "+Inf" : "-Inf");
    } else {
        snprintf(out, size, "%f", v);
    }
    return out;
}

/* "@" was consumed; applies the timestamp or start()/end() to e. */
static bool parse_at(parser *p, br_promql_node *e)
{
    saved_ctx saved = set_ctx(p, "@", "timestamp");
    br_promql_at kind = BR_PROMQL_AT_TIMESTAMP;
    double ts = 0;
    bool ok = false;
    if (at(p, BR_TOK_START) || at(p, BR_TOK_END)) {
        kind = consume(p).type == BR_TOK_START ? BR_PROMQL_AT_START : BR_PROMQL_AT_END;
        ok = expect(p, BR_TOK_LEFT_PAREN, NULL) && expect(p, BR_TOK_RIGHT_PAREN, NULL);
    } else {
        bool neg = false;
        if (at(p, BR_TOK_ADD) || at(p, BR_TOK_SUB)) {
            neg = consume(p).type == BR_TOK_SUB;
        }
        br_promql_token t = *peek(p);
        if (p->rc == 0 && t.type == BR_TOK_NUMBER) {
            consume(p);
            ok = number_value(p, &t, &ts);
        } else if (p->rc == 0 && t.type == BR_TOK_DURATION) {
            consume(p);
            int64_t ms;
            ok = duration_value(p, &t, &ms);
            ts = (double)ms / 1000.0;
        } else {
            unexpected(p);
        }
        if (neg) {
            ts = -ts;
        }
    }
    restore_ctx(p, saved);
    if (!ok || p->rc != 0) {
        return false;
    }
    if (kind == BR_PROMQL_AT_TIMESTAMP &&
        (isinf(ts) || isnan(ts) || ts >= 9223372036854775807.0 || ts <= -9223372036854775808.0)) {
        char f[400];
        fail(p, e->start, "timestamp out of bounds for @ modifier: %s", go_fmt_f(ts, f, sizeof(f)));
        return false;
    }
    mod_target t;
    if (!modifier_target(p, e, &t, "@")) {
        return false;
    }
    if (*t.at != BR_PROMQL_AT_NONE) {
        fail(p, e->start, "@ <timestamp> may not be set multiple times");
        return false;
    }
    *t.at = kind;
    if (kind == BR_PROMQL_AT_TIMESTAMP) {
        double ms = round(ts * 1000.0);
        *t.at_ms = (ms >= 9.2233720368547758e18 || ms <= -9.2233720368547758e18)
                       ? (ms > 0 ? INT64_MAX : INT64_MIN)
                       : (int64_t)ms;
    }
    e->end = p->last_end;
    return true;
}

/* "[" is the lookahead: a range selector or a subquery on e. */
static br_promql_node *parse_brackets(parser *p, br_promql_node *e)
{
    br_promql_token lb = consume(p);
    saved_ctx saved = set_ctx(p, "subquery or range selector", EXPECT_DURATION);
    br_promql_node *n = NULL;
    int64_t range_ms = 0;
    int64_t step_ms = 0;
    const br_promql_dur *range_expr = NULL;
    const br_promql_dur *step_expr = NULL;
    if (!parse_bracket_duration(p, &range_ms, &range_expr)) {
        goto done;
    }
    if (at(p, BR_TOK_RIGHT_BRACKET)) {
        consume(p);
        if (e->kind != BR_PROMQL_VECTOR_SELECTOR) {
            fail(p, lb.pos, "ranges only allowed for vector selectors");
            goto done;
        }
        if (e->u.vs.offset_ms != 0 || e->u.vs.offset_expr != NULL) {
            fail(p, lb.pos, "no offset modifiers allowed before range");
            goto done;
        }
        if (e->u.vs.at != BR_PROMQL_AT_NONE) {
            fail(p, lb.pos, "no @ modifiers allowed before range");
            goto done;
        }
        n = mk(p, BR_PROMQL_MATRIX_SELECTOR, e->start, p->last_end);
        if (n == NULL) {
            goto done;
        }
        n->type = BR_PROMQL_TYPE_MATRIX;
        n->u.matrix.vs = e;
        n->u.matrix.range_ms = range_ms;
        n->u.matrix.range_expr = range_expr;
        goto done;
    }
    if (!at(p, BR_TOK_COLON)) {
        p->ctx = "subquery or range";
        p->expected = "\":\" or \"]\"";
        unexpected(p);
        goto done;
    }
    consume(p);
    p->ctx = "subquery selector";
    p->expected = "number, duration, step(), range(), or \"]\"";
    if (!at(p, BR_TOK_RIGHT_BRACKET)) {
        if (p->rc != 0 || !parse_bracket_duration(p, &step_ms, &step_expr)) {
            goto done;
        }
        p->expected = "\"]\"";
    }
    br_promql_token rb;
    if (!expect(p, BR_TOK_RIGHT_BRACKET, &rb)) {
        goto done;
    }
    n = mk(p, BR_PROMQL_SUBQUERY, e->start, rb.pos + 1);
    if (n == NULL) {
        goto done;
    }
    n->type = BR_PROMQL_TYPE_MATRIX;
    n->u.subquery.expr = e;
    n->u.subquery.range_ms = range_ms;
    n->u.subquery.step_ms = step_ms;
    n->u.subquery.range_expr = range_expr;
    n->u.subquery.step_expr = step_expr;
done:
    restore_ctx(p, saved);
    if (n != NULL && !fix_depth(p, n)) {
        return NULL;
    }
    return p->rc == 0 ? n : NULL;
}

/* Postfix modifiers: [range], [range:step], offset, @, anchored, smoothed. */
static br_promql_node *parse_postfix(parser *p, br_promql_node *e)
{
    while (e != NULL && p->rc == 0) {
        br_promql_tok t = peek(p)->type;
        if (p->rc != 0) {
            return NULL;
        }
        if (t == BR_TOK_LEFT_BRACKET) {
            e = parse_brackets(p, e);
        } else if (t == BR_TOK_OFFSET) {
            consume(p);
            if (!parse_offset(p, e)) {
                return NULL;
            }
        } else if (t == BR_TOK_AT) {
            consume(p);
            if (!parse_at(p, e)) {
                return NULL;
            }
        } else if (t == BR_TOK_ANCHORED || t == BR_TOK_SMOOTHED) {
            consume(p);
            if (!parse_extended(p, e, t == BR_TOK_ANCHORED)) {
                return NULL;
            }
        } else {
            break;
        }
    }
    return p->rc == 0 ? e : NULL;
}

static br_promql_node *parse_unary(parser *p)
{
    br_promql_token t = *peek(p);
    if (p->rc != 0) {
        return NULL;
    }
    if (t.type != BR_TOK_ADD && t.type != BR_TOK_SUB) {
        return parse_postfix(p, parse_primary(p));
    }
    consume(p);
    br_promql_node *e = parse_expr(p, PREC_POW);
    if (e == NULL) {
        return NULL;
    }
    if (e->kind == BR_PROMQL_NUMBER) {
        if (t.type == BR_TOK_SUB) {
            e->u.number.value = -e->u.number.value;
        }
        e->start = t.pos;
        return e;
    }
    br_promql_node *n = mk(p, BR_PROMQL_UNARY, t.pos, e->end);
    if (n == NULL) {
        return NULL;
    }
    n->type = e->type;
    n->u.unary.op = t.type == BR_TOK_SUB ? '-' : '+';
    n->u.unary.expr = e;
    return fix_depth(p, n) ? n : NULL;
}

static const struct {
    br_promql_tok tok;
    br_promql_binop op;
    int prec;
} binops[] = {
    {BR_TOK_LOR, BR_PROMQL_OP_OR, PREC_OR},
    {BR_TOK_LAND, BR_PROMQL_OP_AND, PREC_AND},
    {BR_TOK_LUNLESS, BR_PROMQL_OP_UNLESS, PREC_AND},
    {BR_TOK_EQLC, BR_PROMQL_OP_EQLC, PREC_CMP},
    {BR_TOK_NEQ, BR_PROMQL_OP_NEQ, PREC_CMP},
    {BR_TOK_GTR, BR_PROMQL_OP_GTR, PREC_CMP},
    {BR_TOK_LSS, BR_PROMQL_OP_LSS, PREC_CMP},
    {BR_TOK_GTE, BR_PROMQL_OP_GTE, PREC_CMP},
    {BR_TOK_LTE, BR_PROMQL_OP_LTE, PREC_CMP},
    {BR_TOK_TRIM_UPPER, BR_PROMQL_OP_TRIM_UPPER, PREC_CMP},
    {BR_TOK_TRIM_LOWER, BR_PROMQL_OP_TRIM_LOWER, PREC_CMP},
    {BR_TOK_ADD, BR_PROMQL_OP_ADD, PREC_ADD},
    {BR_TOK_SUB, BR_PROMQL_OP_SUB, PREC_ADD},
    {BR_TOK_MUL, BR_PROMQL_OP_MUL, PREC_MUL},
    {BR_TOK_DIV, BR_PROMQL_OP_DIV, PREC_MUL},
    {BR_TOK_MOD, BR_PROMQL_OP_MOD, PREC_MUL},
    {BR_TOK_ATAN2, BR_PROMQL_OP_ATAN2, PREC_MUL},
    {BR_TOK_POW, BR_PROMQL_OP_POW, PREC_POW},
};

static bool binop_of(br_promql_tok t, br_promql_binop *op, int *prec)
{
    for (size_t i = 0; i < sizeof(binops) / sizeof(binops[0]); i++) {
        if (binops[i].tok == t) {
            *op = binops[i].op;
            *prec = binops[i].prec;
            return true;
        }
    }
    return false;
}

/* fill(v), fill_left(v), fill_right(v): the keyword is the lookahead; the
 * value is a signed number or duration (in seconds). Without
 * BR_PROMQL_PARSE_FILL_MODIFIERS they are refused once the binary
 * expression is complete (as Prometheus does). */
static bool parse_fill_value(parser *p, double *v)
{
    consume(p); /* fill keyword */
    if (!expect(p, BR_TOK_LEFT_PAREN, NULL)) {
        return false;
    }
    bool neg = false;
    if (at(p, BR_TOK_ADD) || at(p, BR_TOK_SUB)) {
        neg = consume(p).type == BR_TOK_SUB;
    }
    br_promql_token t = *peek(p);
    if (p->rc != 0) {
        return false;
    }
    if (t.type == BR_TOK_NUMBER) {
        consume(p);
        if (!number_value(p, &t, v)) {
            return false;
        }
    } else if (t.type == BR_TOK_DURATION) {
        consume(p);
        int64_t ms;
        if (!duration_value(p, &t, &ms)) {
            return false;
        }
        *v = (double)ms / 1000.0;
    } else {
        unexpected(p);
        return false;
    }
    if (neg) {
        *v = -*v;
    }
    return expect(p, BR_TOK_RIGHT_PAREN, NULL);
}

/* The operator was consumed: modifiers, then the right-hand side. */
static br_promql_node *parse_binary_rest(parser *p, br_promql_node *lhs, br_promql_binop op,
                                         int prec)
{
    bool return_bool = false;
    bool on = false;
    br_promql_card card = BR_PROMQL_CARD_ONE_TO_ONE;
    br_promql_labels matching = {0};
    br_promql_labels include = {0};
    int fills = 0;
    bool fill_l = false;
    bool fill_r = false;
    double fill_lv = 0;
    double fill_rv = 0;
    if (at(p, BR_TOK_BOOL)) {
        consume(p);
        return_bool = true;
    }
    if (at(p, BR_TOK_ON) || at(p, BR_TOK_IGNORING)) {
        on = consume(p).type == BR_TOK_ON;
        if (!parse_grouping(p, &matching)) {
            return NULL;
        }
        if (at(p, BR_TOK_GROUP_LEFT) || at(p, BR_TOK_GROUP_RIGHT)) {
            card = consume(p).type == BR_TOK_GROUP_LEFT ? BR_PROMQL_CARD_MANY_TO_ONE
                                                        : BR_PROMQL_CARD_ONE_TO_MANY;
            br_promql_tok next = peek(p)->type;
            if (p->rc != 0) {
                return NULL;
            }
            if (next == BR_TOK_LEFT_PAREN || !starts_expr(next)) {
                /* Labels, or an error worded as one ("expected \"(\""). */
                if (!parse_grouping(p, &include)) {
                    return NULL;
                }
            }
        }
    }
    if (at(p, BR_TOK_FILL)) {
        if (!parse_fill_value(p, &fill_lv)) {
            return NULL;
        }
        fill_rv = fill_lv;
        fill_l = true;
        fill_r = true;
        fills++;
    } else if (at(p, BR_TOK_FILL_LEFT) || at(p, BR_TOK_FILL_RIGHT)) {
        br_promql_tok first = peek(p)->type;
        bool left = first == BR_TOK_FILL_LEFT;
        if (!parse_fill_value(p, left ? &fill_lv : &fill_rv)) {
            return NULL;
        }
        fill_l = left;
        fill_r = !left;
        fills++;
        br_promql_tok other = left ? BR_TOK_FILL_RIGHT : BR_TOK_FILL_LEFT;
        if (at(p, other)) {
            if (!parse_fill_value(p, left ? &fill_rv : &fill_lv)) {
                return NULL;
            }
            fill_l = true;
            fill_r = true;
            fills++;
        }
    }
    if (p->rc != 0) {
        return NULL;
    }
    br_promql_node *rhs = parse_expr(p, op == BR_PROMQL_OP_POW ? prec : prec + 1);
    if (rhs == NULL) {
        return NULL;
    }
    br_promql_node *n = mk(p, BR_PROMQL_BINARY, lhs->start, rhs->end);
    if (n == NULL) {
        return NULL;
    }
    n->u.binary.op = op;
    n->u.binary.lhs = lhs;
    n->u.binary.rhs = rhs;
    n->u.binary.return_bool = return_bool;
    n->u.binary.has_matching = true;
    n->u.binary.card = card;
    n->u.binary.on = on;
    n->u.binary.matching = matching;
    n->u.binary.include = include;
    n->type = (lhs->type == BR_PROMQL_TYPE_SCALAR && rhs->type == BR_PROMQL_TYPE_SCALAR)
                  ? BR_PROMQL_TYPE_SCALAR
                  : BR_PROMQL_TYPE_VECTOR;
    if (fills > 0 && !(p->flags & BR_PROMQL_PARSE_FILL_MODIFIERS)) {
        fail(p, n->start, "binop fill modifiers are experimental and not enabled");
        return NULL;
    }
    n->u.binary.fill_lhs = fill_l;
    n->u.binary.fill_rhs = fill_r;
    n->u.binary.fill_lhs_value = fill_lv;
    n->u.binary.fill_rhs_value = fill_rv;
    return fix_depth(p, n) ? n : NULL;
}

static br_promql_node *parse_expr(parser *p, int min_prec)
{
    if (p->rc != 0) {
        return NULL;
    }
    if (++p->depth > BR_PROMQL_MAX_DEPTH) {
        fail_limit(p, peek(p)->pos, "expression nesting is too deep (more than %d levels)",
                   BR_PROMQL_MAX_DEPTH);
        p->depth--;
        return NULL;
    }
    br_promql_node *lhs = parse_unary(p);
    while (lhs != NULL && p->rc == 0) {
        br_promql_binop op;
        int prec;
        br_promql_tok t = peek(p)->type;
        if (p->rc != 0 || !binop_of(t, &op, &prec) || prec < min_prec) {
            break;
        }
        consume(p);
        lhs = parse_binary_rest(p, lhs, op, prec);
    }
    p->depth--;
    return p->rc == 0 ? lhs : NULL;
}

/* ---------------------------------------------------------------------
 * Type checking (Prometheus' checkAST, same order, first error wins)
 * --------------------------------------------------------------------- */

static br_promql_type check(parser *p, br_promql_node *n);

/* Go's ValueType names, used by the subquery message. */
static const char *raw_type_name(br_promql_type t)
{
    switch (t) {
    case BR_PROMQL_TYPE_SCALAR:
        return "scalar";
    case BR_PROMQL_TYPE_VECTOR:
        return "vector";
    case BR_PROMQL_TYPE_MATRIX:
        return "matrix";
    case BR_PROMQL_TYPE_STRING:
        return "string";
    default:
        return "none";
    }
}

static void expect_type(parser *p, br_promql_node *n, br_promql_type want, const char *context)
{
    br_promql_type t = check(p, n);
    if (t != want) {
        fail(p, n->start, "expected type %s in %s, got %s", br_promql_type_name(want), context,
             br_promql_type_name(t));
    }
}

static bool is_space_byte(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void check_binary(parser *p, br_promql_node *n)
{
    br_promql_node *lhs = n->u.binary.lhs;
    br_promql_node *rhs = n->u.binary.rhs;
    br_promql_binop op = n->u.binary.op;
    br_promql_type lt = check(p, lhs);
    br_promql_type rt = check(p, rhs);
    if (p->rc != 0) {
        return;
    }
    size_t op_pos = lhs->end;
    while (op_pos < p->len && is_space_byte(p->in[op_pos])) {
        op_pos++;
    }
    bool cmp = br_promql_binop_is_comparison(op);
    bool set = br_promql_binop_is_set(op);
    if (n->u.binary.return_bool && !cmp) {
        fail(p, op_pos, "bool modifier can only be used on comparison operators");
    }
    if (cmp && !n->u.binary.return_bool && lt == BR_PROMQL_TYPE_SCALAR &&
        rt == BR_PROMQL_TYPE_SCALAR) {
        fail(p, op_pos, "comparisons between scalars must use BOOL modifier");
    }
    if (set && n->u.binary.card == BR_PROMQL_CARD_ONE_TO_ONE) {
        n->u.binary.card = BR_PROMQL_CARD_MANY_TO_MANY;
    }
    if (n->u.binary.on) {
        for (size_t i = 0; i < n->u.binary.matching.n; i++) {
            for (size_t j = 0; j < n->u.binary.include.n; j++) {
                const char *a = n->u.binary.matching.names[i];
                if (strcmp(a, n->u.binary.include.names[j]) == 0) {
                    char q[96];
                    fail(p, op_pos, "label %s must not occur in ON and GROUP clause at once",
                         goq(a, strlen(a), q, sizeof(q)));
                }
            }
        }
    }
    if (lt != BR_PROMQL_TYPE_SCALAR && lt != BR_PROMQL_TYPE_VECTOR) {
        fail(p, lhs->start, "binary expression must contain only scalar and instant vector types");
    }
    if (rt != BR_PROMQL_TYPE_SCALAR && rt != BR_PROMQL_TYPE_VECTOR) {
        fail(p, rhs->start, "binary expression must contain only scalar and instant vector types");
    }
    bool fill = n->u.binary.fill_lhs || n->u.binary.fill_rhs;
    if (lt != BR_PROMQL_TYPE_VECTOR || rt != BR_PROMQL_TYPE_VECTOR) {
        if (n->u.binary.matching.n > 0) {
            fail(p, n->start, "vector matching only allowed between instant vectors");
        }
        if (fill) {
            fail(p, n->start, "filling in missing series only allowed between instant vectors");
        }
        n->u.binary.has_matching = false;
    } else if (set) {
        br_promql_card card = n->u.binary.card;
        if (card == BR_PROMQL_CARD_ONE_TO_MANY || card == BR_PROMQL_CARD_MANY_TO_ONE) {
            fail(p, n->start, "no grouping allowed for \"%s\" operation", br_promql_binop_str(op));
        }
        if (card != BR_PROMQL_CARD_MANY_TO_MANY) {
            fail(p, n->start, "set operations must always be many-to-many");
        }
        if (fill) {
            fail(p, n->start, "filling in missing series not allowed for set operators");
        }
    }
    if ((lt == BR_PROMQL_TYPE_SCALAR || rt == BR_PROMQL_TYPE_SCALAR) && set) {
        fail(p, n->start, "set operator \"%s\" not allowed in binary scalar expression",
             br_promql_binop_str(op));
    }
}

static void check_call(parser *p, br_promql_node *n)
{
    const br_promql_function *f = n->u.call.func;
    size_t nargs = n->u.call.nargs;
    size_t declared = (size_t)f->n_args;
    char q[96];
    goq(f->name, strlen(f->name), q, sizeof(q));
    if (f->variadic == 0) {
        if (declared != nargs) {
            fail(p, n->start, "expected %zu argument(s) in call to %s, got %zu", declared, q,
                 nargs);
        }
    } else {
        size_t min = declared - 1;
        if (min > nargs) {
            fail(p, n->start, "expected at least %zu argument(s) in call to %s, got %zu", min, q,
                 nargs);
        } else if (f->variadic > 0 && min + (size_t)f->variadic < nargs) {
            fail(p, n->start, "expected at most %zu argument(s) in call to %s, got %zu",
                 min + (size_t)f->variadic, q, nargs);
        }
    }
    if (f->id == BR_PROMQL_FN_INFO && nargs > 1) {
        br_promql_node *sel = n->u.call.args[1];
        if (sel->type != BR_PROMQL_TYPE_VECTOR) {
            fail(p, n->start, "expected type %s in call to function %s, got %s",
                 br_promql_type_name(BR_PROMQL_TYPE_VECTOR), q, br_promql_type_name(sel->type));
        }
        if (sel->kind == BR_PROMQL_VECTOR_SELECTOR && sel->u.vs.name != NULL) {
            fail(p, sel->start, "expected label selectors only, got vector selector instead");
        } else if (sel->kind == BR_PROMQL_VECTOR_SELECTOR) {
            sel->u.vs.bypass_empty_check = true;
        } else {
            fail(p, sel->start, "expected label selectors only");
        }
    }
    for (size_t i = 0; i < nargs && p->rc == 0; i++) {
        size_t k = i;
        if (i >= declared) {
            if (f->variadic == 0) {
                break;
            }
            k = declared - 1;
        }
        br_promql_node *a = n->u.call.args[i];
        br_promql_type t = check(p, a);
        if (t != f->arg_types[k]) {
            fail(p, a->start, "expected type %s in call to function %s, got %s",
                 br_promql_type_name(f->arg_types[k]), q, br_promql_type_name(t));
        }
    }
}

static void check_selector(parser *p, br_promql_node *n)
{
    const br_selector *s = n->u.vs.matchers;
    if (n->u.vs.name != NULL) {
        /* The last matcher is the one the name implies. */
        for (size_t i = 0; i + 1 < s->n; i++) {
            const br_matcher *m = &s->matchers[i];
            if (strcmp(m->name, "__name__") == 0) {
                char q1[96];
                char q2[96];
                fail(p, n->start, "metric name must not be set twice: %s or %s",
                     goq(n->u.vs.name, strlen(n->u.vs.name), q1, sizeof(q1)),
                     goq(m->value, strlen(m->value), q2, sizeof(q2)));
            }
        }
        return;
    }
    if (n->u.vs.bypass_empty_check) {
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        if (!br_matcher_matches_empty(&s->matchers[i])) {
            return;
        }
    }
    fail(p, n->start, "vector selector must contain at least one non-empty matcher");
}

static br_promql_type check(parser *p, br_promql_node *n)
{
    if (p->rc != 0) {
        return n->type;
    }
    switch (n->kind) {
    case BR_PROMQL_AGGREGATE: {
        br_promql_aggop op = n->u.aggregate.op;
        expect_type(p, n->u.aggregate.expr, BR_PROMQL_TYPE_VECTOR, "aggregation expression");
        if (op == BR_PROMQL_AGG_COUNT_VALUES) {
            expect_type(p, n->u.aggregate.param, BR_PROMQL_TYPE_STRING, "aggregation parameter");
        } else if (n->u.aggregate.param != NULL) {
            expect_type(p, n->u.aggregate.param, BR_PROMQL_TYPE_SCALAR, "aggregation parameter");
        }
        break;
    }
    case BR_PROMQL_BINARY:
        check_binary(p, n);
        break;
    case BR_PROMQL_CALL:
        check_call(p, n);
        break;
    case BR_PROMQL_PAREN:
        check(p, n->u.paren.expr);
        break;
    case BR_PROMQL_UNARY: {
        br_promql_type t = check(p, n->u.unary.expr);
        if (t != BR_PROMQL_TYPE_SCALAR && t != BR_PROMQL_TYPE_VECTOR) {
            fail(p, n->start,
                 "unary expression only allowed on expressions of type scalar or instant vector, "
                 "got \"%s\"",
                 br_promql_type_name(t));
        }
        break;
    }
    case BR_PROMQL_SUBQUERY: {
        br_promql_type t = check(p, n->u.subquery.expr);
        if (t != BR_PROMQL_TYPE_VECTOR) {
            fail(p, n->start, "subquery is only allowed on instant vector, got %s instead",
                 raw_type_name(t));
        }
        break;
    }
    case BR_PROMQL_MATRIX_SELECTOR:
        check(p, n->u.matrix.vs);
        break;
    case BR_PROMQL_VECTOR_SELECTOR:
        check_selector(p, n);
        break;
    case BR_PROMQL_NUMBER:
    case BR_PROMQL_STRING:
        break;
    }
    return n->type;
}

/* ---------------------------------------------------------------------
 * Entry points
 * --------------------------------------------------------------------- */

int br_promql_parse_n(const char *input, size_t len, br_arena *arena, br_promql_node **out,
                      br_err *err)
{
    return br_promql_parse_ex(input, len, 0, arena, out, err);
}

int br_promql_parse_ex(const char *input, size_t len, unsigned flags, br_arena *arena,
                       br_promql_node **out, br_err *err)
{
    *out = NULL;
    if (len > BR_PROMQL_MAX_INPUT) {
        return br_err_set(err, BR_ELIMIT, "query is too long (%zu bytes, limit %d)", len,
                          BR_PROMQL_MAX_INPUT);
    }
    parser p;
    memset(&p, 0, sizeof(p));
    p.in = input;
    p.len = len;
    p.arena = arena;
    p.err = err;
    p.flags = flags;
    br_promql_lexer_init(&p.lx, input, len);
    br_promql_node *root = NULL;
    if (at(&p, BR_TOK_EOF)) {
        fail(&p, 0, "no expression found in input");
    } else if (p.rc == 0) {
        root = parse_expr(&p, 0);
        if (root != NULL && !at(&p, BR_TOK_EOF)) {
            unexpected(&p);
        }
        if (p.rc == 0) {
            check(&p, root);
        }
    }
    if (p.rc != 0) {
        for (size_t i = 0; i < p.nsels; i++) {
            br_selector_free(p.sels[i]);
        }
        br_free(p.sels);
        return p.rc;
    }
    br_free(p.sels);
    *out = root;
    return 0;
}

int br_promql_parse(const char *input, br_arena *arena, br_promql_node **out, br_err *err)
{
    return br_promql_parse_n(input, strlen(input), arena, out, err);
}

int br_promql_parse_duration(const char *s, int64_t *out_ms, br_err *err)
{
    char q[96];
    size_t n = strlen(s);
    double v;
    if (go_parse_float(s, n, &v) == GO_FLOAT_OK) {
        double ns = v * 1e9;
        if (isnan(ns) || ns > 9223372036854775807.0 || ns < -9223372036854775808.0) {
            return br_err_set(err, BR_EPARSE,
                              "cannot parse %s to a valid duration. It overflows int64",
                              goq(s, n, q, sizeof(q)));
        }
        *out_ms = (int64_t)ns / 1000000;
        return 0;
    }
    int64_t ns;
    char msg[BR_ERR_MSG_SIZE];
    if (model_duration(s, n, &ns, msg, sizeof(msg))) {
        *out_ms = ns / 1000000;
        return 0;
    }
    return br_err_set(err, BR_EPARSE, "cannot parse %s to a valid duration",
                      goq(s, n, q, sizeof(q)));
}
