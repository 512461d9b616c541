/*
 * selector.c — series selector parsing. See selector.h.
 *
 * Grammar (whitespace allowed between tokens):
 *   selector := metric_name [ '{' [ matchers ] '}' ] | '{' [ matchers ] '}'
 *   matchers := matcher { ',' matcher } [ ',' ]
 *   matcher  := label_name ( '=' | '!=' | '=~' | '!~' ) string
 *             | string                      (a quoted metric name, Prometheus 3)
 *   metric_name := [a-zA-Z_:][a-zA-Z0-9_:]*   label_name := [a-zA-Z_][a-zA-Z0-9_]*
 * A metric name before the braces becomes the matcher __name__="name".
 */
#include "selector.h"

#include "engine/core/alloc.h"
#include "engine/core/utf8.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define MAX_STRING 65536

static void skip_ws(const char *t, size_t *p)
{
    for (;;) {
        while (t[*p] == ' ' || t[*p] == '\t' || t[*p] == '\n' || t[*p] == '\r') {
            (*p)++;
        }
        if (t[*p] == '#') {
            while (t[*p] != '\0' && t[*p] != '\n') {
                (*p)++;
            }
            continue;
        }
        return;
    }
}

static int perr(br_err *err, size_t pos, const char *fmt, const char *arg)
{
    char msg[BR_ERR_MSG_SIZE];
    snprintf(msg, sizeof(msg), fmt, arg);
    int rc = br_err_set(err, BR_EPARSE, "1:%zu: parse error: %s", pos + 1, msg);
    if (err != NULL) {
        err->line = 1;
        err->col = (int)pos + 1;
    }
    return rc;
}

static const char *tok_desc(const char *t, size_t p, char *buf, size_t size)
{
    if (t[p] == '\0') {
        return "end of input";
    }
    snprintf(buf, size, "\"%c\"", t[p]);
    return buf;
}

static int put_utf8(char *out, size_t size, size_t *o, unsigned long cp)
{
    unsigned char b[4];
    size_t n = cp <= BR_UTF8_MAX_RUNE ? br_utf8_encode((uint32_t)cp, b) : 0;
    if (n == 0 || *o + n >= size) {
        return -1;
    }
    memcpy(out + *o, b, n);
    *o += n;
    return 0;
}

int br_promql_unquote(const char *t, size_t *pos, char *out, size_t size, br_err *err)
{
    size_t p = *pos;
    char q = t[p];
    if (q != '"' && q != '\'' && q != '`') {
        char d[8];
        return perr(err, p, "unexpected %s, expected string", tok_desc(t, p, d, sizeof(d)));
    }
    size_t start = p;
    p++;
    size_t o = 0;
    for (;;) {
        char c = t[p];
        if (c == '\0' || (c == '\n' && q != '`')) {
            return perr(err, start, "unterminated quoted string %s", "");
        }
        if (c == q) {
            p++;
            break;
        }
        if (c == '\\' && q != '`') {
            p++;
            char e = t[p];
            unsigned long cp = 0;
            int digits = 0;
            switch (e) {
            case 'a': cp = 7; break;
            case 'b': cp = 8; break;
            case 'f': cp = 12; break;
            case 'n': cp = 10; break;
            case 'r': cp = 13; break;
            case 't': cp = 9; break;
            case 'v': cp = 11; break;
            case '\\': cp = '\\'; break;
            case '\'': cp = '\''; break;
            case '"': cp = '"'; break;
            case 'x': digits = 2; break;
            case 'u': digits = 4; break;
            case 'U': digits = 8; break;
            default:
                if (e >= '0' && e <= '7') {
                    if (!(t[p + 1] >= '0' && t[p + 1] <= '7' && t[p + 2] >= '0' && t[p + 2] <= '7')) {
                        return perr(err, p, "invalid octal escape in string %s", "");
                    }
                    cp = (unsigned long)((e - '0') * 64 + (t[p + 1] - '0') * 8 + (t[p + 2] - '0'));
                    p += 2;
                    if (o + 1 >= size) {
                        return perr(err, start, "string too long %s", "");
                    }
                    out[o++] = (char)cp;
                    p++;
                    continue;
                }
                return perr(err, p, "unknown escape sequence in string %s", "");
            }
            if (digits > 0) {
                for (int i = 1; i <= digits; i++) {
                    char h = t[p + i];
                    if (!isxdigit((unsigned char)h)) {
                        return perr(err, p, "invalid escape sequence in string %s", "");
                    }
                    cp = cp * 16 + (unsigned long)(isdigit((unsigned char)h)
                                                       ? h - '0'
                                                       : (tolower((unsigned char)h) - 'a' + 10));
                }
                p += (size_t)digits;
                if (e == 'x') {
                    if (o + 1 >= size) {
                        return perr(err, start, "string too long %s", "");
                    }
                    out[o++] = (char)cp;
                    p++;
                    continue;
                }
            }
            if (put_utf8(out, size, &o, cp) != 0) {
                return perr(err, start, "invalid or too long string %s", "");
            }
            p++;
            continue;
        }
        if (o + 1 >= size) {
            return perr(err, start, "string too long %s", "");
        }
        out[o++] = c;
        p++;
    }
    out[o] = '\0';
    *pos = p;
    return 0;
}

static bool is_name_start(char c, bool metric)
{
    return isalpha((unsigned char)c) || c == '_' || (metric && c == ':');
}

static bool is_name_char(char c, bool metric)
{
    return isalnum((unsigned char)c) || c == '_' || (metric && c == ':');
}

static int add_matcher(br_selector *s, br_match_type type, const char *name, const char *value,
                       size_t pos, br_err *err)
{
    if (s->n >= BR_SELECTOR_MAX_MATCHERS) {
        return perr(err, pos, "too many label matchers (more than %s)", "64");
    }
    int rc = br_matcher_init(&s->matchers[s->n], type, name, value, err);
    if (rc != 0) {
        char inner[BR_ERR_MSG_SIZE];
        snprintf(inner, sizeof(inner), "%s", err ? err->msg : "invalid matcher");
        return perr(err, pos, "%s", inner);
    }
    s->n++;
    return 0;
}

int br_selector_parse_at(const char *t, size_t *pos, br_selector *s, br_err *err)
{
    memset(s, 0, sizeof(*s));
    size_t p = *pos;
    char d[8];
    skip_ws(t, &p);
    int rc = 0;
    if (is_name_start(t[p], true)) {
        size_t start = p;
        while (is_name_char(t[p], true)) {
            p++;
        }
        char name[1024];
        size_t len = p - start;
        if (len >= sizeof(name)) {
            return perr(err, start, "metric name too long %s", "");
        }
        memcpy(name, t + start, len);
        name[len] = '\0';
        rc = add_matcher(s, BR_MATCH_EQ, "__name__", name, start, err);
        if (rc != 0) {
            return rc;
        }
        skip_ws(t, &p);
        if (t[p] != '{') {
            *pos = p;
            return 0;
        }
    }
    if (t[p] != '{') {
        br_selector_free(s);
        return perr(err, p, "unexpected %s, expected a metric name or \"{\"",
                    tok_desc(t, p, d, sizeof(d)));
    }
    p++;
    char *value = br_malloc(MAX_STRING);
    for (;;) {
        skip_ws(t, &p);
        if (t[p] == '}') {
            p++;
            break;
        }
        if (t[p] == '"' || t[p] == '\'' || t[p] == '`') {
            /* A quoted metric name alone: {"my.metric"}. */
            size_t at = p;
            rc = br_promql_unquote(t, &p, value, MAX_STRING, err);
            if (rc == 0) {
                rc = add_matcher(s, BR_MATCH_EQ, "__name__", value, at, err);
            }
        } else if (is_name_start(t[p], false)) {
            size_t start = p;
            while (is_name_char(t[p], false)) {
                p++;
            }
            char name[1024];
            size_t len = p - start;
            if (len >= sizeof(name)) {
                rc = perr(err, start, "label name too long %s", "");
                break;
            }
            memcpy(name, t + start, len);
            name[len] = '\0';
            skip_ws(t, &p);
            br_match_type type;
            if (t[p] == '=' && t[p + 1] == '~') {
                type = BR_MATCH_RE;
                p += 2;
            } else if (t[p] == '!' && t[p + 1] == '~') {
                type = BR_MATCH_NRE;
                p += 2;
            } else if (t[p] == '!' && t[p + 1] == '=') {
                type = BR_MATCH_NEQ;
                p += 2;
            } else if (t[p] == '=') {
                type = BR_MATCH_EQ;
                p += 1;
            } else {
                rc = perr(err, p, "unexpected %s in label matching, expected label matching operator",
                          tok_desc(t, p, d, sizeof(d)));
                break;
            }
            skip_ws(t, &p);
            size_t at = p;
            rc = br_promql_unquote(t, &p, value, MAX_STRING, err);
            if (rc == 0) {
                rc = add_matcher(s, type, name, value, at, err);
            }
        } else {
            rc = perr(err, p, "unexpected %s in label matching, expected label name or \"}\"",
                      tok_desc(t, p, d, sizeof(d)));
        }
        if (rc != 0) {
            break;
        }
        skip_ws(t, &p);
        if (t[p] == ',') {
            p++;
            continue;
        }
        if (t[p] == '}') {
            p++;
            break;
        }
        rc = perr(err, p, "unexpected %s in label matching, expected \",\" or \"}\"",
                  tok_desc(t, p, d, sizeof(d)));
        break;
    }
    br_free(value);
    if (rc != 0) {
        br_selector_free(s);
        return rc;
    }
    if (s->n == 0) {
        return perr(err, *pos, "vector selector must contain at least one non-empty matcher%s", "");
    }
    *pos = p;
    return 0;
}

int br_selector_parse(const char *text, br_selector *out, br_err *err)
{
    size_t pos = 0;
    int rc = br_selector_parse_at(text, &pos, out, err);
    if (rc != 0) {
        return rc;
    }
    skip_ws(text, &pos);
    if (text[pos] != '\0') {
        char d[8];
        br_selector_free(out);
        return perr(err, pos, "unexpected %s after the selector", tok_desc(text, pos, d, sizeof(d)));
    }
    return 0;
}

void br_selector_free(br_selector *s)
{
    for (size_t i = 0; i < s->n; i++) {
        br_matcher_free(&s->matchers[i]);
    }
    s->n = 0;
}
