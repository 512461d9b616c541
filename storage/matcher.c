/*
 * matcher.c — PromQL label matchers. See matcher.h for the semantics.
 *
 * Regexes go through two steps at init:
 *
 *   1. A recursive-descent reader of RE2 syntax writes an equivalent POSIX
 *      extended pattern, anchored as ^(...)$. It rejects what RE2 rejects
 *      that POSIX would quietly accept (x**, a bare *, \1) and what POSIX
 *      cannot express, naming the construct and its offset.
 *      Character classes ([...], \d, \W, `.`) are held as a set of ASCII
 *      characters plus one bit "and every non-ASCII character". They are
 *      written out as byte brackets: with the non-ASCII bit, a class that is
 *      not under * or + becomes ([set + lead bytes][continuation bytes]*),
 *      so it consumes one whole UTF-8 character, as RE2 does; under * or +
 *      bytes and characters give the same matches, so a plain bracket
 *      (or `.`) is written.
 *      Flags i and s are scoped as in RE2: (?i:re) covers re; a bare (?i)
 *      covers the rest of the enclosing group (alternatives after a | too)
 *      and each group restores the flags it started with. Case-insensitivity
 *      is done by folding, not REG_ICASE, so it can stop at a group's end:
 *      under i an ASCII letter literal (also from \x41 or \Q..\E) is
 *      written [aA], and a class gets both cases of its letters before
 *      negation, so (?i)[^a] excludes both a and A. Without s, `.` leaves
 *      out \n.
 *   2. Fast paths: the source text is checked for the shapes matcher.h
 *      lists; those matchers never call regexec (and are not compiled).
 *      A pattern that turned flag i on anywhere skips them (a flag group
 *      also holds '(' and '?', which no fast-path shape allows).
 *
 * Nothing here keeps state between calls; br_matcher_matches only reads m.
 */
#include "matcher.h"

#include "engine/core/alloc.h"
#include "engine/core/utf8.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH  1000 /* group nesting, as RE2 */
#define MAX_REPEAT 1000 /* {n,m} bounds, as RE2 */
#define MAX_RUNE   0x10FFFF

/* ------------------------------------------------------------------------ */
/* Character classes                                                         */
/* ------------------------------------------------------------------------ */

struct cls {
    uint8_t bits[16]; /* ASCII 0..127 */
    bool nonascii;    /* every code point >= 0x80 */
};

static void cls_set(struct cls *c, unsigned ch)
{
    c->bits[ch >> 3] |= (uint8_t)(1u << (ch & 7));
}

static void cls_clear(struct cls *c, unsigned ch)
{
    c->bits[ch >> 3] &= (uint8_t)(0xffu ^ (1u << (ch & 7)));
}

static bool cls_has(const struct cls *c, unsigned ch)
{
    return (c->bits[ch >> 3] >> (ch & 7)) & 1u;
}

static void cls_add_range(struct cls *c, unsigned lo, unsigned hi)
{
    for (unsigned ch = lo; ch <= hi && ch < 128; ch++) {
        cls_set(c, ch);
    }
}

/* Adds a named ASCII class; returns false for an unknown name. */
static bool cls_add_named(struct cls *c, const char *name, size_t len, bool negate)
{
    struct cls t = {{0}, false};
    static const struct {
        const char *name;
        const char *ranges; /* pairs lo,hi */
    } named[] = {
        {"alnum", "09AZaz"},
        {"alpha", "AZaz"},
        {"ascii", "\x01\x7f"},
        {"blank", "\t\t  "},
        {"cntrl", "\x01\x1f\x7f\x7f"},
        {"digit", "09"},
        {"graph", "!~"},
        {"lower", "az"},
        {"print", " ~"},
        {"punct", "!/:@[`{~"},
        {"space", "\t\r  "},
        {"upper", "AZ"},
        {"word", "09AZaz__"},
        {"xdigit", "09AFaf"},
    };
    bool found = false;
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
        if (strlen(named[i].name) == len && memcmp(named[i].name, name, len) == 0) {
            const char *r = named[i].ranges;
            for (size_t k = 0; r[k] != '\0'; k += 2) {
                cls_add_range(&t, (unsigned char)r[k], (unsigned char)r[k + 1]);
            }
            found = true;
            break;
        }
    }
    if (!found) {
        return false;
    }
    if (negate) {
        for (unsigned ch = 1; ch < 128; ch++) {
            if (!cls_has(&t, ch)) {
                cls_set(c, ch);
            }
        }
        c->nonascii = true;
    } else {
        for (size_t i = 0; i < 16; i++) {
            c->bits[i] |= t.bits[i];
        }
    }
    return true;
}

/* \d \s \w and their upper-case negations (RE2's ASCII definitions). */
static void cls_add_perl(struct cls *c, char e)
{
    static const char *const ranges[] = {"09", "\t\n\f\r  ", "09AZaz__"};
    int k = (e == 'd' || e == 'D') ? 0 : (e == 's' || e == 'S') ? 1 : 2;
    bool neg = (e == 'D' || e == 'S' || e == 'W');
    struct cls t = {{0}, false};
    for (const char *r = ranges[k]; *r != '\0'; r += 2) {
        cls_add_range(&t, (unsigned char)r[0], (unsigned char)r[1]);
    }
    for (unsigned ch = 1; ch < 128; ch++) {
        if (cls_has(&t, ch) != neg) {
            cls_set(c, ch);
        }
    }
    if (neg) {
        c->nonascii = true;
    }
}

static void cls_fold_case(struct cls *c)
{
    for (unsigned ch = 'a'; ch <= 'z'; ch++) {
        unsigned up = ch - 'a' + 'A';
        if (cls_has(c, ch) || cls_has(c, up)) {
            cls_set(c, ch);
            cls_set(c, up);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* RE2 -> POSIX ERE translation                                              */
/* ------------------------------------------------------------------------ */

struct tr {
    const char *s;
    size_t n;
    size_t i;
    br_buf out;
    bool icase;     /* flag i in the current scope: letters are folded */
    bool dot_nl;    /* flag s in the current scope: `.` matches \n */
    bool any_icase; /* flag i was in effect somewhere */
    bool quote;     /* inside \Q...\E */
    int depth;
    const char *name;
    br_err *err;
};

enum atom_kind { A_NONE, A_TEXT, A_CLASS, A_ANCHOR };

__attribute__((format(printf, 3, 4))) static int tr_fail(struct tr *t, size_t at, const char *fmt,
                                                         ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return br_err_set(t->err, BR_EINVAL,
                      "invalid regex for label \"%s\": %s at offset %zu in \"%s\"", t->name, what,
                      at, t->s);
}

static void put(struct tr *t, const char *s)
{
    (void)br_buf_puts(&t->out, s);
}

static void putb(struct tr *t, unsigned char c)
{
    (void)br_buf_putc(&t->out, (char)c);
}

static bool is_ere_special(unsigned c)
{
    return c != '\0' && strchr("\\^$.[]|()*+?{}", (int)c) != NULL;
}

/* A pattern piece that never matches: a bracket holding no byte that can
 * occur in a C string. */
static void put_never(struct tr *t)
{
    put(t, "[^\x01-\xff]");
}

static void put_literal_byte(struct tr *t, unsigned char c)
{
    if (is_ere_special(c)) {
        putb(t, '\\');
    }
    putb(t, c);
}



/* Decodes the UTF-8 character at s[*i]; returns false when malformed. */
static bool utf8_decode(const char *s, size_t n, size_t *i, uint32_t *cp)
{
    size_t width = 0;
    int32_t r = br_utf8_decode(s + *i, n - *i, &width);
    if (r < 0) {
        return false;
    }
    *cp = (uint32_t)r;
    *i += width;
    return true;
}

/* One literal character: ASCII escaped as needed, an ASCII letter under
 * flag i written as the bracket of both cases ([pP]); a multi-byte character
 * is grouped so a following quantifier repeats all of it. */
static void put_literal(struct tr *t, uint32_t cp)
{
    if (cp == 0) {
        put_never(t);
        return;
    }
    uint32_t lower = cp | 0x20;
    if (t->icase && lower >= 'a' && lower <= 'z') {
        putb(t, '[');
        putb(t, (unsigned char)lower);
        putb(t, (unsigned char)(lower - 'a' + 'A'));
        putb(t, ']');
        return;
    }
    if (cp < 0x80) {
        put_literal_byte(t, (unsigned char)cp);
        return;
    }
    unsigned char b[4];
    size_t len = br_utf8_encode(cp, b);
    putb(t, '(');
    for (size_t k = 0; k < len; k++) {
        putb(t, b[k]);
    }
    putb(t, ')');
}

/* Writes a bracket expression for the byte set in (bytes 1..255). */
static void put_bracket(struct tr *t, const bool in[256])
{
    size_t count = 0;
    unsigned only = 0;
    for (unsigned b = 1; b < 256; b++) {
        if (in[b]) {
            count++;
            only = b;
        }
    }
    if (count == 0) {
        put_never(t);
        return;
    }
    if (count == 1) {
        put_literal_byte(t, (unsigned char)only);
        return;
    }
    bool rb = in[']'];
    bool dash = in['-'];
    bool caret = in['^'];
    bool lb = in['['];
    bool started = false;
    putb(t, '[');
    if (rb) {
        putb(t, ']');
        started = true;
    }
    unsigned b = 1;
    while (b < 256) {
        bool plain = in[b] && b != ']' && b != '-' && b != '^' && b != '[';
        if (!plain) {
            b++;
            continue;
        }
        unsigned hi = b;
        while (hi + 1 < 256 && in[hi + 1] && hi + 1 != ']' && hi + 1 != '-' && hi + 1 != '^' &&
               hi + 1 != '[') {
            hi++;
        }
        if (hi - b >= 2) {
            putb(t, (unsigned char)b);
            putb(t, '-');
            putb(t, (unsigned char)hi);
        } else {
            for (unsigned k = b; k <= hi; k++) {
                putb(t, (unsigned char)k);
            }
        }
        started = true;
        b = hi + 1;
    }
    if (lb) {
        putb(t, '[');
        started = true;
    }
    if (caret) {
        if (!started && dash) {
            putb(t, '-');
            dash = false;
        }
        putb(t, '^');
    }
    if (dash) {
        putb(t, '-');
    }
    putb(t, ']');
}

static void put_class(struct tr *t, const struct cls *c, bool star_or_plus)
{
    bool full = c->nonascii;
    for (unsigned ch = 1; ch < 128 && full; ch++) {
        full = cls_has(c, ch);
    }
    if (full && star_or_plus) {
        putb(t, '.');
        return;
    }
    bool in[256] = {false};
    for (unsigned ch = 1; ch < 128; ch++) {
        in[ch] = cls_has(c, ch);
    }
    bool whole_char = c->nonascii && !star_or_plus;
    if (c->nonascii) {
        for (unsigned b = star_or_plus ? 0x80 : 0xc0; b < 256; b++) {
            in[b] = true;
        }
    }
    if (whole_char) {
        putb(t, '(');
    }
    put_bracket(t, in);
    if (whole_char) {
        put(t, "[\x80-\xbf]*)");
    }
}

static bool is_octal(char c)
{
    return c >= '0' && c <= '7';
}

static int hexval(char c)
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
    return -1;
}

/*
 * Reads an escape that stands for one character (t->s[t->i] is the
 * backslash): \a \f \t \n \r \v, octal, \x, escaped punctuation.
 */
static int read_escape_char(struct tr *t, uint32_t *cp)
{
    size_t at = t->i;
    if (t->i + 1 >= t->n) {
        return tr_fail(t, at, "trailing backslash at end of expression");
    }
    char c = t->s[t->i + 1];
    t->i += 2;
    switch (c) {
    case 'a':
        *cp = 7;
        return 0;
    case 'f':
        *cp = 12;
        return 0;
    case 't':
        *cp = 9;
        return 0;
    case 'n':
        *cp = 10;
        return 0;
    case 'r':
        *cp = 13;
        return 0;
    case 'v':
        *cp = 11;
        return 0;
    default:
        break;
    }
    if (c >= '1' && c <= '9' && !(is_octal(c) && t->i < t->n && is_octal(t->s[t->i]))) {
        return tr_fail(t, at, "backreference \\%c is not supported", c);
    }
    if (is_octal(c)) {
        uint32_t v = (uint32_t)(c - '0');
        for (int k = 0; k < 2 && t->i < t->n && is_octal(t->s[t->i]); k++) {
            v = v * 8 + (uint32_t)(t->s[t->i] - '0');
            t->i++;
        }
        *cp = v;
        return 0;
    }
    if (c == 'x') {
        if (t->i < t->n && t->s[t->i] == '{') {
            uint32_t v = 0;
            size_t k = t->i + 1;
            size_t digits = 0;
            while (k < t->n && hexval(t->s[k]) >= 0) {
                v = v * 16 + (uint32_t)hexval(t->s[k]);
                if (v > MAX_RUNE) {
                    return tr_fail(t, at, "escape \\x{...} out of range");
                }
                k++;
                digits++;
            }
            if (digits == 0 || k >= t->n || t->s[k] != '}') {
                return tr_fail(t, at, "invalid escape sequence \\x{");
            }
            t->i = k + 1;
            *cp = v;
            return 0;
        }
        if (t->i + 1 < t->n && hexval(t->s[t->i]) >= 0 && hexval(t->s[t->i + 1]) >= 0) {
            *cp = (uint32_t)(hexval(t->s[t->i]) * 16 + hexval(t->s[t->i + 1]));
            t->i += 2;
            return 0;
        }
        return tr_fail(t, at, "invalid escape sequence \\x");
    }
    if (c == 'p' || c == 'P') {
        return tr_fail(t, at, "Unicode character class \\%c is not supported", c);
    }
    if ((unsigned char)c < 0x80 && !isalnum((unsigned char)c)) {
        *cp = (unsigned char)c;
        return 0;
    }
    return tr_fail(t, at, "invalid escape sequence \\%c", c);
}

static bool is_perl_class(char c)
{
    return c != '\0' && strchr("dDsSwW", c) != NULL;
}

/* Adds code points lo..hi to a class; only the whole non-ASCII range can be
 * represented. */
static int class_add(struct tr *t, struct cls *c, uint32_t lo, uint32_t hi, size_t at)
{
    if (lo > hi) {
        return tr_fail(t, at, "invalid character class range");
    }
    cls_add_range(c, lo == 0 ? 1 : lo, hi);
    if (hi >= 0x80) {
        if (lo <= 0x80 && hi >= MAX_RUNE) {
            c->nonascii = true;
        } else {
            return tr_fail(t, at, "non-ASCII characters in [...] are not supported");
        }
    }
    return 0;
}

/* One member of a bracket: a character (returned in *cp) or a class escape
 * merged into c (then *was_class). */
static int class_char(struct tr *t, struct cls *c, uint32_t *cp, bool *was_class)
{
    *was_class = false;
    size_t at = t->i;
    if (t->s[t->i] == '\\') {
        if (t->i + 1 < t->n && is_perl_class(t->s[t->i + 1])) {
            cls_add_perl(c, t->s[t->i + 1]);
            t->i += 2;
            *was_class = true;
            return 0;
        }
        return read_escape_char(t, cp);
    }
    if (!utf8_decode(t->s, t->n, &t->i, cp)) {
        return tr_fail(t, at, "invalid UTF-8");
    }
    return 0;
}

/* t->s[t->i] == '['. */
static int parse_class(struct tr *t, struct cls *c)
{
    size_t open = t->i;
    bool negate = false;
    memset(c, 0, sizeof(*c));
    t->i++;
    if (t->i < t->n && t->s[t->i] == '^') {
        negate = true;
        t->i++;
    }
    bool first = true;
    for (;;) {
        if (t->i >= t->n) {
            return tr_fail(t, open, "missing closing ]");
        }
        if (t->s[t->i] == ']' && !first) {
            t->i++;
            break;
        }
        first = false;
        if (t->s[t->i] == '[' && t->i + 1 < t->n && t->s[t->i + 1] == ':') {
            const char *end = NULL;
            for (size_t k = t->i + 2; k + 1 < t->n; k++) {
                if (t->s[k] == ':' && t->s[k + 1] == ']') {
                    end = t->s + k;
                    break;
                }
            }
            if (end != NULL) {
                const char *nm = t->s + t->i + 2;
                bool neg = nm < end && *nm == '^';
                if (neg) {
                    nm++;
                }
                if (!cls_add_named(c, nm, (size_t)(end - nm), neg)) {
                    return tr_fail(t, t->i, "invalid character class range %.*s",
                                   (int)(end + 2 - (t->s + t->i)), t->s + t->i);
                }
                t->i = (size_t)(end - t->s) + 2;
                continue;
            }
        }
        size_t at = t->i;
        uint32_t lo;
        bool was_class;
        int rc = class_char(t, c, &lo, &was_class);
        if (rc != 0) {
            return rc;
        }
        if (was_class) {
            continue;
        }
        uint32_t hi = lo;
        if (t->i + 1 < t->n && t->s[t->i] == '-' && t->s[t->i + 1] != ']') {
            t->i++;
            rc = class_char(t, c, &hi, &was_class);
            if (rc != 0) {
                return rc;
            }
            if (was_class) {
                return tr_fail(t, at, "invalid character class range");
            }
        }
        rc = class_add(t, c, lo, hi, at);
        if (rc != 0) {
            return rc;
        }
    }
    if (t->icase) {
        cls_fold_case(c);
    }
    if (negate) {
        for (size_t k = 0; k < 16; k++) {
            c->bits[k] = (uint8_t)~c->bits[k];
        }
        c->bits[0] &= (uint8_t)~1u; /* NUL never occurs */
        c->nonascii = !c->nonascii;
    }
    return 0;
}

/* Reads {n}, {n,} or {n,m} at s[i]; false when the text is not one (then
 * RE2 reads the brace as a literal). */
static bool read_repeat(const char *s, size_t n, size_t i, long *min, long *max, size_t *end)
{
    if (i >= n || s[i] != '{') {
        return false;
    }
    size_t k = i + 1;
    long a = 0;
    size_t digits = 0;
    while (k < n && s[k] >= '0' && s[k] <= '9') {
        if (a <= 100000) {
            a = a * 10 + (s[k] - '0');
        }
        k++;
        digits++;
    }
    if (digits == 0) {
        return false;
    }
    long b = a;
    if (k < n && s[k] == ',') {
        k++;
        digits = 0;
        b = -1;
        long v = 0;
        while (k < n && s[k] >= '0' && s[k] <= '9') {
            if (v <= 100000) {
                v = v * 10 + (s[k] - '0');
            }
            k++;
            digits++;
        }
        if (digits > 0) {
            b = v;
        }
    }
    if (k >= n || s[k] != '}') {
        return false;
    }
    *min = a;
    *max = b;
    *end = k + 1;
    return true;
}

static bool at_quantifier(const struct tr *t)
{
    if (t->quote || t->i >= t->n) {
        return false;
    }
    char c = t->s[t->i];
    long a;
    long b;
    size_t e;
    return c == '*' || c == '+' || c == '?' || read_repeat(t->s, t->n, t->i, &a, &b, &e);
}

static int parse_alt(struct tr *t);

/* t->s[t->i] == '('. Sets *kind to A_NONE for a flag group like (?i). */
static int parse_group(struct tr *t, enum atom_kind *kind)
{
    size_t open = t->i;
    const char *s = t->s;
    size_t n = t->n;
    *kind = A_TEXT;
    if (t->depth >= MAX_DEPTH) {
        return tr_fail(t, open, "groups nested too deeply");
    }
    /* Flags set inside the group, by (?flags:...) or a (?flags) within,
     * end with it. */
    bool saved_icase = t->icase;
    bool saved_dot_nl = t->dot_nl;
    bool new_icase = t->icase;
    bool new_dot_nl = t->dot_nl;
    size_t body = open + 1;
    if (body < n && s[body] == '?') {
        size_t j = body + 1;
        if (j < n && s[j] == ':') {
            body = j + 1;
        } else if ((j + 1 < n && s[j] == 'P' && s[j + 1] == '<') ||
                   (j + 1 < n && s[j] == '<' && s[j + 1] != '=' && s[j + 1] != '!')) {
            size_t k = j + (s[j] == 'P' ? 2 : 1);
            size_t start = k;
            while (k < n && (isalnum((unsigned char)s[k]) || s[k] == '_')) {
                k++;
            }
            if (k == start || k >= n || s[k] != '>') {
                return tr_fail(t, open, "invalid named capture");
            }
            body = k + 1;
        } else if (j + 1 < n && s[j] == 'P' && s[j + 1] == '=') {
            return tr_fail(t, open, "backreference (?P=name) is not supported");
        } else if (j < n && s[j] == '=') {
            return tr_fail(t, open, "lookahead (?= is not supported");
        } else if (j < n && s[j] == '!') {
            return tr_fail(t, open, "negative lookahead (?! is not supported");
        } else if (j + 1 < n && s[j] == '<' && s[j + 1] == '=') {
            return tr_fail(t, open, "lookbehind (?<= is not supported");
        } else if (j + 1 < n && s[j] == '<' && s[j + 1] == '!') {
            return tr_fail(t, open, "negative lookbehind (?<! is not supported");
        } else {
            /* Flags: (?flags) or (?flags:re); i and s, a '-' clears those
             * after it. (?m) and (?U) are rejected. */
            size_t k = j;
            bool clear = false;
            bool flag_after_clear = false;
            bool other = false;
            size_t nflags = 0;
            while (k < n && s[k] != ')' && s[k] != ':') {
                char f = s[k];
                if (f == '-' && !clear) {
                    clear = true;
                } else if (f == 'i' || f == 's') {
                    nflags++;
                    flag_after_clear = clear;
                    if (f == 'i') {
                        new_icase = !clear;
                    } else {
                        new_dot_nl = !clear;
                    }
                } else if (f == 'm' || f == 'U') {
                    other = true;
                    nflags++;
                    flag_after_clear = clear;
                } else {
                    return tr_fail(t, open, "invalid or unsupported Perl syntax (?%c", f);
                }
                k++;
            }
            if (k >= n) {
                return tr_fail(t, open, "missing closing )");
            }
            if (nflags == 0 || (clear && !flag_after_clear)) {
                return tr_fail(t, open, "missing flags in (?%.*s", (int)(k + 1 - j), s + j);
            }
            if (other) {
                return tr_fail(t, open,
                               "flag group (?%.*s is not supported (only flags i and s are)",
                               (int)(k + 1 - j), s + j);
            }
            if (s[k] == ')') {
                /* (?flags): in force to the end of the enclosing group. */
                t->icase = new_icase;
                t->dot_nl = new_dot_nl;
                t->any_icase = t->any_icase || new_icase;
                t->i = k + 1;
                *kind = A_NONE;
                return 0;
            }
            body = k + 1;
        }
    }
    t->i = body;
    t->icase = new_icase;
    t->dot_nl = new_dot_nl;
    t->any_icase = t->any_icase || new_icase;
    putb(t, '(');
    t->depth++;
    int rc = parse_alt(t);
    t->depth--;
    t->icase = saved_icase;
    t->dot_nl = saved_dot_nl;
    if (rc != 0) {
        return rc;
    }
    if (t->i >= n || s[t->i] != ')') {
        return tr_fail(t, open, "missing closing )");
    }
    t->i++;
    putb(t, ')');
    return 0;
}

/* Reads one atom; a class is returned in *c for the caller to write once it
 * knows the quantifier. */
static int parse_atom(struct tr *t, enum atom_kind *kind, struct cls *c)
{
    const char *s = t->s;
    size_t at = t->i;
    *kind = A_TEXT;
    if (t->quote) {
        if (s[at] == '\\' && at + 1 < t->n && s[at + 1] == 'E') {
            t->i += 2;
            t->quote = false;
            *kind = A_NONE;
            return 0;
        }
        uint32_t cp;
        if (!utf8_decode(s, t->n, &t->i, &cp)) {
            return tr_fail(t, at, "invalid UTF-8");
        }
        put_literal(t, cp);
        return 0;
    }
    char ch = s[at];
    if (ch == '(') {
        return parse_group(t, kind);
    }
    switch (ch) {
    case '[':
        *kind = A_CLASS;
        return parse_class(t, c);
    case '.':
        memset(c->bits, 0xff, sizeof(c->bits));
        c->bits[0] &= (uint8_t)~1u;
        if (!t->dot_nl) {
            cls_clear(c, '\n');
        }
        c->nonascii = true;
        t->i++;
        *kind = A_CLASS;
        return 0;
    case '^':
    case '$':
        putb(t, (unsigned char)ch);
        t->i++;
        *kind = A_ANCHOR;
        return 0;
    case '*':
    case '+':
    case '?':
        return tr_fail(t, at, "missing argument to repetition operator %c", ch);
    case '{':
        if (at_quantifier(t)) {
            return tr_fail(t, at, "missing argument to repetition operator {");
        }
        put(t, "\\{");
        t->i++;
        return 0;
    case '\\':
        break;
    default: {
        uint32_t cp;
        if (!utf8_decode(s, t->n, &t->i, &cp)) {
            return tr_fail(t, at, "invalid UTF-8");
        }
        put_literal(t, cp);
        return 0;
    }
    }
    /* Escapes. */
    if (at + 1 >= t->n) {
        return tr_fail(t, at, "trailing backslash at end of expression");
    }
    char e = s[at + 1];
    if (is_perl_class(e)) {
        memset(c, 0, sizeof(*c));
        cls_add_perl(c, e);
        if (t->icase) {
            cls_fold_case(c);
        }
        t->i += 2;
        *kind = A_CLASS;
        return 0;
    }
    switch (e) {
    case 'A':
        put(t, "^");
        t->i += 2;
        *kind = A_ANCHOR;
        return 0;
    case 'z':
        put(t, "$");
        t->i += 2;
        *kind = A_ANCHOR;
        return 0;
    case 'b':
        put(t, "\\b");
        t->i += 2;
        *kind = A_ANCHOR;
        return 0;
    case 'B':
        put(t, "\\B");
        t->i += 2;
        *kind = A_ANCHOR;
        return 0;
    case 'Q':
        t->quote = true;
        t->i += 2;
        *kind = A_NONE;
        return 0;
    case 'C':
        return tr_fail(t, at, "\\C (any byte) is not supported");
    default:
        break;
    }
    uint32_t cp;
    int rc = read_escape_char(t, &cp);
    if (rc != 0) {
        return rc;
    }
    put_literal(t, cp);
    return 0;
}

/* Reads a quantifier after an atom, if any; lazy forms (x*?) match the same
 * strings as greedy ones under full anchoring, so the '?' is dropped. */
static int parse_quant(struct tr *t, bool *present, bool *star_or_plus, char *text, size_t size)
{
    *present = false;
    *star_or_plus = false;
    text[0] = '\0';
    if (t->quote && t->i + 1 < t->n && t->s[t->i] == '\\' && t->s[t->i + 1] == 'E') {
        t->i += 2;
        t->quote = false;
    }
    if (!at_quantifier(t)) {
        return 0;
    }
    size_t at = t->i;
    char c = t->s[t->i];
    if (c == '{') {
        long min;
        long max;
        size_t end;
        (void)read_repeat(t->s, t->n, t->i, &min, &max, &end);
        if (min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && max < min)) {
            return tr_fail(t, at, "invalid repeat count %.*s", (int)(end - at), t->s + at);
        }
        if (max < 0) {
            snprintf(text, size, "{%ld,}", min);
        } else if (max == min) {
            snprintf(text, size, "{%ld}", min);
        } else {
            snprintf(text, size, "{%ld,%ld}", min, max);
        }
        t->i = end;
    } else {
        text[0] = c;
        text[1] = '\0';
        t->i++;
        *star_or_plus = (c == '*' || c == '+');
    }
    *present = true;
    if (t->i < t->n && t->s[t->i] == '?') {
        t->i++;
    }
    if (at_quantifier(t)) {
        return tr_fail(t, at, "invalid nested repetition operator %.*s", (int)(t->i + 1 - at),
                       t->s + at);
    }
    return 0;
}

static int parse_concat(struct tr *t)
{
    while (t->i < t->n) {
        char ch = t->s[t->i];
        if (!t->quote && (ch == '|' || ch == ')')) {
            break;
        }
        enum atom_kind kind;
        struct cls c;
        int rc = parse_atom(t, &kind, &c);
        if (rc != 0) {
            return rc;
        }
        if (kind == A_NONE) {
            continue;
        }
        bool present;
        bool sp;
        char qtext[32];
        size_t qat = t->i;
        rc = parse_quant(t, &present, &sp, qtext, sizeof(qtext));
        if (rc != 0) {
            return rc;
        }
        if (present && kind == A_ANCHOR) {
            return tr_fail(t, qat, "missing argument to repetition operator %s", qtext);
        }
        if (kind == A_CLASS) {
            put_class(t, &c, sp);
        }
        if (present) {
            put(t, qtext);
        }
    }
    return 0;
}

static int parse_alt(struct tr *t)
{
    for (;;) {
        int rc = parse_concat(t);
        if (rc != 0) {
            return rc;
        }
        if (t->i < t->n && t->s[t->i] == '|' && !t->quote) {
            putb(t, '|');
            t->i++;
            continue;
        }
        return 0;
    }
}

/* Translates value into an anchored POSIX ERE in *out (caller frees with
 * br_buf_free, also on error). */
static int translate(const char *name, const char *value, br_buf *out, bool *icase, br_err *err)
{
    struct tr t = {0};
    t.dot_nl = true; /* Prometheus 3 anchors as ^(?s:re)$ */
    t.s = value;
    t.n = strlen(value);
    t.name = name;
    t.err = err;
    br_buf_init(&t.out, 0);
    put(&t, "^(");
    int rc = parse_alt(&t);
    if (rc == 0 && t.i < t.n) {
        rc = tr_fail(&t, t.i, "unexpected )");
    }
    put(&t, ")$");
    *out = t.out;
    *icase = t.any_icase;
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Fast paths                                                                */
/* ------------------------------------------------------------------------ */

/* Unescapes a regex piece that is a plain literal (escaped punctuation
 * allowed) into out; false when it holds any operator. */
static bool literal_piece(const char *s, size_t n, br_buf *out)
{
    br_buf_reset(out);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\') {
            if (i + 1 >= n) {
                return false;
            }
            unsigned char e = (unsigned char)s[i + 1];
            if (e >= 0x80 || isalnum(e)) {
                return false;
            }
            (void)br_buf_putc(out, (char)e);
            i++;
            continue;
        }
        if (is_ere_special(c)) {
            return false;
        }
        (void)br_buf_putc(out, (char)c);
    }
    return true;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Fills m's fast-path fields from the regex text; false when none applies. */
static bool fast_path(br_matcher *m)
{
    const char *v = m->value;
    size_t n = strlen(v);
    if (strcmp(v, ".*") == 0) {
        m->kind = BR_MKIND_ALL;
        return true;
    }
    if (strcmp(v, ".+") == 0) {
        m->kind = BR_MKIND_NONEMPTY;
        return true;
    }
    br_buf piece;
    br_buf_init(&piece, 0);
    bool ok = false;

    /* Literal alternation, optionally wrapped in one group. */
    const char *in = v;
    size_t in_n = n;
    if (n >= 4 && strncmp(v, "(?:", 3) == 0 && v[n - 1] == ')') {
        in = v + 3;
        in_n = n - 4;
    } else if (n >= 2 && v[0] == '(' && v[n - 1] == ')') {
        in = v + 1;
        in_n = n - 2;
    }
    if (in != v && (memchr(in, '(', in_n) != NULL || memchr(in, ')', in_n) != NULL)) {
        in = v;
        in_n = n;
    }
    size_t cap = 4;
    size_t cnt = 0;
    const char **set = br_malloc(cap * sizeof(*set));
    size_t start = 0;
    ok = true;
    for (size_t i = 0; i <= in_n && ok; i++) {
        if (i < in_n && in[i] == '\\') {
            if (i + 1 >= in_n) {
                ok = false;
                break;
            }
            i++;
            continue;
        }
        if (i < in_n && in[i] != '|') {
            continue;
        }
        ok = literal_piece(in + start, i - start, &piece);
        if (ok) {
            if (cnt == cap) {
                cap *= 2;
                set = br_realloc(set, cap * sizeof(*set));
            }
            set[cnt++] = br_strndup(br_buf_str(&piece), piece.len);
        }
        start = i + 1;
    }
    if (ok) {
        qsort(set, cnt, sizeof(*set), cmp_str);
        size_t u = 0;
        for (size_t i = 0; i < cnt; i++) {
            if (u > 0 && strcmp(set[u - 1], set[i]) == 0) {
                br_free((void *)set[i]);
            } else {
                set[u++] = set[i];
            }
        }
        m->kind = BR_MKIND_SET;
        m->set = set;
        m->nset = u;
        m->set_owned = true;
        br_buf_free(&piece);
        return true;
    }
    for (size_t i = 0; i < cnt; i++) {
        br_free((void *)set[i]);
    }
    br_free(set);

    /* lit.*, .*lit, .*lit.* */
    bool head = n >= 2 && v[0] == '.' && v[1] == '*';
    bool tail = n >= 2 && v[n - 2] == '.' && v[n - 1] == '*';
    size_t from = head ? 2 : 0;
    size_t to = tail ? n - 2 : n;
    ok = false;
    if ((head || tail) && from <= to && literal_piece(v + from, to - from, &piece)) {
        m->kind = head && tail ? BR_MKIND_CONTAINS : head ? BR_MKIND_SUFFIX : BR_MKIND_PREFIX;
        m->lit_len = piece.len;
        m->lit = br_buf_take(&piece, NULL);
        ok = true;
    }
    br_buf_free(&piece);
    return ok;
}

/* ------------------------------------------------------------------------ */
/* Cost of a POSIX pattern for regcomp                                       */
/* The index of the ']' closing the bracket expression that opens at
 * ere[open] ('['), or len when it is not closed. A ']' first in the list
 * (after an optional '^') is a member, and [:class:], [=equiv=] and
 * [.coll.] are skipped whole. */
static size_t bracket_end(const char *ere, size_t len, size_t open)
{
    size_t k = open + 1;
    k += k < len && ere[k] == '^';
    k += k < len && ere[k] == ']';
    while (k < len && ere[k] != ']') {
        if (ere[k] == '[' && k + 1 < len &&
            (ere[k + 1] == ':' || ere[k + 1] == '=' || ere[k + 1] == '.')) {
            char d = ere[k + 1];
            k += 2;
            while (k + 1 < len && !(ere[k] == d && ere[k + 1] == ']')) {
                k++;
            }
            k += 2;
            continue;
        }
        k++;
    }
    return k < len ? k : len;
}

/* ------------------------------------------------------------------------ */

static size_t cost_add(size_t a, size_t b, size_t cap)
{
    return a >= cap || b >= cap - a ? cap : a + b;
}

static size_t cost_mul(size_t a, size_t b, size_t cap)
{
    return a != 0 && b > cap / a ? cap : (a * b > cap ? cap : a * b);
}

size_t br_matcher_ere_cost(const char *ere, size_t limit)
{
    size_t cap = limit + 1;
    size_t len = strlen(ere);
    size_t outer[MAX_DEPTH]; /* cost of each enclosing group before it opened */
    size_t depth = 0;
    size_t cost = 0; /* of the innermost open group so far */
    size_t last = 0; /* of the last atom or group: what a repetition copies */
    for (size_t i = 0; i < len; i++) {
        switch (ere[i]) {
        case '\\':
            i += i + 1 < len;
            last = 1;
            cost = cost_add(cost, 1, cap);
            break;
        case '[': {
            i = bracket_end(ere, len, i);
            last = 1;
            cost = cost_add(cost, 1, cap);
            break;
        }
        case '(':
            if (depth == MAX_DEPTH) {
                return cap;
            }
            outer[depth++] = cost;
            cost = 0;
            last = 0;
            break;
        case ')':
            if (depth > 0) {
                /* The group's own node counts: an empty group repeated
                 * still makes regcomp copy nodes ("((){1000}){1000}"). */
                last = cost_add(cost, 1, cap);
                cost = cost_add(outer[--depth], last, cap);
            } else {
                last = 1;
                cost = cost_add(cost, 1, cap);
            }
            break;
        case '|':
            last = 0;
            cost = cost_add(cost, 1, cap); /* the alternation node */
            break;
        case '*':
        case '?':
            break;
        case '+':
            cost = cost_add(cost, last, cap);
            last = cost_mul(last, 2, cap);
            break;
        case '{': {
            long n = 0;
            long m = 0;
            size_t end = 0;
            if (!read_repeat(ere, len, i, &n, &m, &end)) {
                last = 1;
                cost = cost_add(cost, 1, cap);
                break;
            }
            size_t k = m >= 0 ? (size_t)m : (size_t)n + 1;
            k = k > 0 ? k : 1;
            cost = cost_add(cost, cost_mul(last, k - 1, cap), cap);
            last = cost_mul(last, k, cap);
            i = end - 1;
            break;
        }
        default:
            last = 1;
            cost = cost_add(cost, 1, cap);
            break;
        }
    }
    while (depth > 0) {
        cost = cost_add(outer[--depth], cost, cap);
    }
    return cost;
}

/* ------------------------------------------------------------------------ */
/* Repetitions of groups that can match the empty string                     */
/* ------------------------------------------------------------------------ */

/* One open group while scanning: whether the branches closed so far can
 * match the empty string, and the state of the current branch. */
typedef struct null_frame {
    bool alt_null;    /* some earlier branch of this group is nullable */
    bool prefix_null; /* every item of this branch before the last is */
    bool last_null;   /* the last item is (after its quantifiers) */
    bool has_last;
} null_frame;

static bool branch_null(const null_frame *f)
{
    return f->prefix_null && (!f->has_last || f->last_null);
}

static void new_item(null_frame *f, bool nullable)
{
    if (f->has_last) {
        f->prefix_null = f->prefix_null && f->last_null;
    }
    f->last_null = nullable;
    f->has_last = true;
}

size_t br_matcher_ere_relax(char *ere)
{
    if (ere == NULL) {
        return 0;
    }
    size_t len = strlen(ere);
    null_frame stack[MAX_DEPTH + 1];
    size_t depth = 0;
    stack[0] = (null_frame){false, true, false, false};
    size_t rewrites = 0;
    for (size_t i = 0; i < len; i++) {
        null_frame *f = &stack[depth];
        switch (ere[i]) {
        case '\\':
            i += i + 1 < len;
            new_item(f, false);
            break;
        case '[': {
            i = bracket_end(ere, len, i);
            new_item(f, false);
            break;
        }
        case '(':
            if (depth == MAX_DEPTH) {
                return rewrites; /* callers refuse such nesting before regcomp */
            }
            stack[++depth] = (null_frame){false, true, false, false};
            break;
        case ')':
            if (depth > 0) {
                bool g = f->alt_null || branch_null(f);
                depth--;
                new_item(&stack[depth], g);
            } else {
                new_item(f, false);
            }
            break;
        case '|':
            f->alt_null = f->alt_null || branch_null(f);
            f->prefix_null = true;
            f->has_last = false;
            break;
        case '^':
        case '$':
            new_item(f, true);
            break;
        case '*':
        case '?':
            if (f->has_last) {
                f->last_null = true;
            }
            break;
        case '+':
            /* X+ equals X* when X matches the empty string; glibc builds
             * the + form of nested nullable groups in exponential time. */
            if (f->has_last && f->last_null) {
                ere[i] = '*';
                rewrites++;
            }
            break;
        case '{':
            if (i + 1 < len && isdigit((unsigned char)ere[i + 1])) {
                size_t k = i + 1;
                unsigned long n = 0;
                while (k < len && isdigit((unsigned char)ere[k])) {
                    n = n * 10 + (unsigned long)(ere[k] - '0');
                    k++;
                    if (n > 100000) {
                        n = 100000;
                    }
                }
                while (k < len && ere[k] != '}') {
                    k++;
                }
                if (f->has_last && n == 0) {
                    f->last_null = true;
                }
                i = k < len ? k : len;
            } else {
                new_item(f, false);
            }
            break;
        default:
            new_item(f, false);
            break;
        }
    }
    return rewrites;
}

/* ------------------------------------------------------------------------ */
/* Public API                                                                */
/* ------------------------------------------------------------------------ */

int br_matcher_init(br_matcher *m, br_match_type type, const char *name, const char *value,
                    br_err *err)
{
    return br_matcher_init_opts(m, type, name, value, 0, err);
}

int br_matcher_init_opts(br_matcher *m, br_match_type type, const char *name, const char *value,
                         unsigned flags, br_err *err)
{
    memset(m, 0, sizeof(*m));
    if (type != BR_MATCH_EQ && type != BR_MATCH_NEQ && type != BR_MATCH_RE &&
        type != BR_MATCH_NRE) {
        return br_err_set(err, BR_EINVAL, "invalid matcher type %d", (int)type);
    }
    if (name == NULL || value == NULL) {
        return br_err_set(err, BR_EINVAL, "matcher needs a label name and a value");
    }
    bool is_re = (type == BR_MATCH_RE || type == BR_MATCH_NRE);
    if (is_re && strlen(value) > BR_MATCHER_MAX_REGEX) {
        return br_err_set(err, BR_ELIMIT, "regex for label \"%s\" is longer than %d bytes", name,
                          BR_MATCHER_MAX_REGEX);
    }
    m->type = type;
    m->name = br_strdup(name);
    m->value = br_strdup(value);
    if (!is_re) {
        m->kind = BR_MKIND_SET;
        m->set = br_malloc(sizeof(*m->set));
        m->set[0] = m->value;
        m->nset = 1;
    } else {
        br_buf pat;
        int rc = translate(name, value, &pat, &m->icase, err);
        if (rc == 0 && (m->icase || (flags & BR_MATCHER_NO_FAST_PATH) || !fast_path(m))) {
            if (pat.len > BR_MATCHER_MAX_COMPILED) {
                rc = br_err_set(err, BR_ELIMIT,
                                "regex for label \"%s\" is too complex (%zu bytes once translated, "
                                "limit %d)",
                                name, pat.len, BR_MATCHER_MAX_COMPILED);
            } else if (br_matcher_ere_cost(br_buf_str(&pat), BR_MATCHER_MAX_EXPANDED) >
                       BR_MATCHER_MAX_EXPANDED) {
                rc = br_err_set(err, BR_ELIMIT,
                                "regex for label \"%s\" is too complex (its repetitions expand "
                                "it past %d nodes)",
                                name, BR_MATCHER_MAX_EXPANDED);
            } else {
                (void)br_matcher_ere_relax(pat.data);
                int rrc = regcomp(&m->re, br_buf_str(&pat), REG_EXTENDED | REG_NOSUB);
                if (rrc != 0) {
                    char why[128];
                    regerror(rrc, &m->re, why, sizeof(why));
                    rc = br_err_set(err, BR_EINVAL, "invalid regex for label \"%s\": %s in \"%s\"",
                                    name, why, value);
                } else {
                    m->has_re = true;
                    m->kind = BR_MKIND_REGEX;
                }
            }
        }
        br_buf_free(&pat);
        if (rc != 0) {
            br_matcher_free(m);
            return rc;
        }
    }
    m->matches_empty = br_matcher_matches(m, "");
    return 0;
}

void br_matcher_free(br_matcher *m)
{
    if (m->has_re) {
        regfree(&m->re);
    }
    if (m->set_owned) {
        for (size_t i = 0; i < m->nset; i++) {
            br_free((void *)m->set[i]);
        }
    }
    br_free(m->set);
    br_free(m->lit);
    br_free(m->name);
    br_free(m->value);
    memset(m, 0, sizeof(*m));
}

static bool in_set(const br_matcher *m, const char *v)
{
    if (m->nset <= 8) {
        for (size_t i = 0; i < m->nset; i++) {
            if (strcmp(m->set[i], v) == 0) {
                return true;
            }
        }
        return false;
    }
    return bsearch(&v, m->set, m->nset, sizeof(*m->set), cmp_str) != NULL;
}

bool br_matcher_matches(const br_matcher *m, const char *value)
{
    bool hit = false;
    size_t n;
    switch (m->kind) {
    case BR_MKIND_SET:
        hit = in_set(m, value);
        break;
    case BR_MKIND_ALL:
        hit = true;
        break;
    case BR_MKIND_NONEMPTY:
        hit = value[0] != '\0';
        break;
    case BR_MKIND_PREFIX:
        hit = strncmp(value, m->lit, m->lit_len) == 0;
        break;
    case BR_MKIND_SUFFIX:
        n = strlen(value);
        hit = n >= m->lit_len && memcmp(value + n - m->lit_len, m->lit, m->lit_len) == 0;
        break;
    case BR_MKIND_CONTAINS:
        hit = strstr(value, m->lit) != NULL;
        break;
    case BR_MKIND_REGEX:
        hit = regexec(&m->re, value, 0, NULL, 0) == 0;
        break;
    }
    return hit != br_matcher_is_negative(m);
}

bool br_matcher_matches_empty(const br_matcher *m)
{
    return m->matches_empty;
}

bool br_matcher_is_negative(const br_matcher *m)
{
    return m->type == BR_MATCH_NEQ || m->type == BR_MATCH_NRE;
}

bool br_matcher_value_set(const br_matcher *m, const char *const **vals, size_t *n)
{
    if (m->kind != BR_MKIND_SET) {
        return false;
    }
    *vals = m->set;
    *n = m->nset;
    return true;
}

const char *br_match_type_str(br_match_type type)
{
    switch (type) {
    case BR_MATCH_EQ:
        return "=";
    case BR_MATCH_NEQ:
        return "!=";
    case BR_MATCH_RE:
        return "=~";
    case BR_MATCH_NRE:
        return "!~";
    }
    return "?";
}

int br_matcher_format(const br_matcher *m, br_buf *out)
{
    int rc = br_buf_printf(out, "%s%s\"", m->name, br_match_type_str(m->type));
    for (const char *p = m->value; *p != '\0' && rc == 0; p++) {
        if (*p == '\\') {
            rc = br_buf_puts(out, "\\\\");
        } else if (*p == '"') {
            rc = br_buf_puts(out, "\\\"");
        } else if (*p == '\n') {
            rc = br_buf_puts(out, "\\n");
        } else {
            rc = br_buf_putc(out, *p);
        }
    }
    if (rc == 0) {
        rc = br_buf_putc(out, '"');
    }
    return rc;
}
