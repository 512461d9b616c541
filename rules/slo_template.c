/*
 * slo_template.c — shared helpers of the SLO format loaders: `{{.window}}`
 * templates, selector rewriting (counter, classic and native histogram,
 * boolean gauge sources), value parsers and positioned YAML readers. See
 * slo_template.h for the contract of each.
 *
 * How a template is classified: it is rendered with a probe window of an
 * unusual length (2h11m59s) and parsed with the PromQL parser. Only a
 * matrix selector whose range equals the probe came from {{.window}}; a
 * fixed range (`rate(x[5m])`) keeps the template a QUERY source, because
 * turning it into a counter source would change what it measures. Parse
 * trees live in a scratch arena freed before returning; results are
 * copied into the caller's arena.
 *
 * Threads: no shared state.
 */
#include "slo_template.h"

#include "engine/core/buf.h"
#include "engine/core/civil.h"
#include "engine/core/clock.h"
#include "engine/promql/ast.h"
#include "engine/promql/lexer.h"
#include "engine/promql/parser.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2h11m59s: no one writes this range by hand. */
#define PROBE_WINDOW_MS (7919LL * 1000)

/* ------------------------------------------------------------ templates */

/* If s starts a {{ .window }} placeholder, returns its length, else 0. */
static size_t window_var_len(const char *s)
{
    const char *p = s;
    if (p[0] != '{' || p[1] != '{') {
        return 0;
    }
    p += 2;
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (strncmp(p, ".window", 7) != 0) {
        return 0;
    }
    p += 7;
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (p[0] != '}' || p[1] != '}') {
        return 0;
    }
    return (size_t)(p + 2 - s);
}

bool br_slo_template_has_window(const char *tmpl)
{
    for (const char *p = tmpl; p != NULL && *p != '\0'; p++) {
        if (window_var_len(p) > 0) {
            return true;
        }
    }
    return false;
}

const char *br_slo_template_render(br_arena *a, const char *tmpl, int64_t window_ms)
{
    /* Prometheus' own printing: 30d stays "30d" (weeks and years only
     * when exact). */
    char dur[64];
    br_buf db;
    br_buf_init(&db, sizeof(dur) - 1);
    if (br_promql_print_duration(window_ms, &db) != 0) {
        br_buf_free(&db);
        return NULL;
    }
    snprintf(dur, sizeof(dur), "%s", br_buf_str(&db));
    br_buf_free(&db);
    size_t dlen = strlen(dur);
    size_t cap = strlen(tmpl) + 1;
    for (const char *p = tmpl; *p != '\0'; p++) {
        if (window_var_len(p) > 0) {
            cap += dlen;
        }
    }
    char *out = br_arena_alloc(a, cap);
    if (out == NULL) {
        return NULL;
    }
    size_t o = 0;
    const char *p = tmpl;
    while (*p != '\0') {
        size_t vl = window_var_len(p);
        if (vl > 0) {
            memcpy(out + o, dur, dlen);
            o += dlen;
            p += vl;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    return out;
}

/* Parses text into root within scratch arena tmp; on error fills err with
 * "invalid PromQL: <parser message>". */
static int parse_promql(br_arena *tmp, const char *text, br_promql_node **root, br_err *err)
{
    if (strlen(text) > BR_SLO_MAX_QUERY) {
        return br_err_set(err, BR_ELIMIT, "query longer than %d bytes", BR_SLO_MAX_QUERY);
    }
    br_err perr;
    br_err_clear(&perr);
    int rc = br_promql_parse(text, tmp, root, &perr);
    if (rc != 0) {
        return br_err_set(err, rc, "invalid PromQL: %s", perr.msg);
    }
    return 0;
}

int br_slo_template_check(const char *tmpl, bool need_window, br_err *err)
{
    if (tmpl == NULL || tmpl[0] == '\0') {
        return br_err_set(err, BR_EINVAL, "the query is empty");
    }
    if (need_window && !br_slo_template_has_window(tmpl)) {
        return br_err_set(err, BR_EINVAL,
                          "the query must use " BR_SLO_WINDOW_VAR
                          " as its range so it can be evaluated over each window");
    }
    br_arena tmp;
    br_arena_init(&tmp, 0, 0);
    br_promql_node *root = NULL;
    int rc = parse_promql(&tmp, br_slo_template_render(&tmp, tmpl, PROBE_WINDOW_MS), &root, err);
    br_promql_ast_free(root);
    br_arena_free(&tmp);
    return rc;
}

static br_promql_node *unparen(br_promql_node *n)
{
    while (n != NULL && n->kind == BR_PROMQL_PAREN) {
        n = n->u.paren.expr;
    }
    return n;
}

static const char *node_kind_name(const br_promql_node *n)
{
    switch (n->kind) {
    case BR_PROMQL_NUMBER:
        return "a number";
    case BR_PROMQL_STRING:
        return "a string";
    case BR_PROMQL_VECTOR_SELECTOR:
        return "a series selector";
    case BR_PROMQL_MATRIX_SELECTOR:
        return "a range selector";
    case BR_PROMQL_SUBQUERY:
        return "a subquery";
    case BR_PROMQL_CALL:
        return "a function call";
    case BR_PROMQL_AGGREGATE:
        return "an aggregation";
    case BR_PROMQL_BINARY:
        return "a binary expression";
    case BR_PROMQL_UNARY:
        return "a unary expression";
    case BR_PROMQL_PAREN:
        return "a parenthesised expression";
    }
    return "an expression";
}

/* Copies the labels of a grouping clause into a. */
static void copy_labels(br_arena *a, const br_promql_labels *l, const char ***by, size_t *n_by)
{
    if (by == NULL || n_by == NULL) {
        return;
    }
    *by = NULL;
    *n_by = 0;
    if (l == NULL || l->n == 0) {
        return;
    }
    const char **names = br_arena_calloc(a, l->n, sizeof(char *));
    for (size_t i = 0; i < l->n; i++) {
        names[i] = br_arena_strdup(a, l->names[i]);
    }
    *by = names;
    *n_by = l->n;
}

/* Turns a vector selector node into a COUNTER source: moves an `le`
 * equality with a number into out->le and prints the rest canonically. */
static int counter_from_vs(br_arena *a, br_promql_node *vs, br_event_source *out, br_err *err)
{
    if (vs->u.vs.offset_ms != 0 || vs->u.vs.at != BR_PROMQL_AT_NONE) {
        return br_err_set(err, BR_EINVAL, "the selector must not use offset or @");
    }
    double le = NAN;
    br_selector *sel = vs->u.vs.matchers;
    for (size_t i = 0; sel != NULL && i < sel->n; i++) {
        br_matcher *m = &sel->matchers[i];
        if (strcmp(m->name, "le") != 0) {
            continue;
        }
        char *end = NULL;
        errno = 0;
        double v = strtod(m->value, &end);
        if (m->type != BR_MATCH_EQ || end == m->value || *end != '\0' || isnan(v)) {
            return br_err_set(err, BR_EINVAL,
                              "the le matcher must be le=\"<number>\" (one bucket), got le%s\"%s\"",
                              br_match_type_str(m->type), m->value);
        }
        if (!isnan(le)) {
            return br_err_set(err, BR_EINVAL, "the selector has two le matchers");
        }
        le = v;
        br_matcher_free(m);
        memmove(&sel->matchers[i], &sel->matchers[i + 1], (sel->n - i - 1) * sizeof(*m));
        sel->n--;
        i--;
    }
    if (!isnan(le) && (sel == NULL || sel->n == 0)) {
        return br_err_set(err, BR_EINVAL, "the selector matches nothing but le");
    }
    br_buf b;
    br_buf_init(&b, BR_SLO_MAX_QUERY);
    int rc = br_promql_print(vs, &b);
    if (rc != 0) {
        br_buf_free(&b);
        return br_err_set(err, rc, "selector longer than %d bytes", BR_SLO_MAX_QUERY);
    }
    out->kind = BR_SOURCE_COUNTER;
    out->expr = br_arena_strdup(a, br_buf_str(&b));
    out->le = le;
    br_buf_free(&b);
    return 0;
}

int br_slo_template_simplify(br_arena *a, const char *tmpl, br_event_source *out, const char ***by,
                             size_t *n_by, br_err *err)
{
    *by = NULL;
    *n_by = 0;
    int rc = br_slo_template_check(tmpl, true, err);
    if (rc != 0) {
        return rc;
    }
    out->kind = BR_SOURCE_QUERY;
    out->expr = br_arena_strdup(a, tmpl);
    out->le = NAN;

    br_arena tmp;
    br_arena_init(&tmp, 0, 0);
    br_promql_node *root = NULL;
    rc = parse_promql(&tmp, br_slo_template_render(&tmp, tmpl, PROBE_WINDOW_MS), &root, err);
    if (rc != 0) {
        br_arena_free(&tmp);
        return rc;
    }
    br_promql_node *n = unparen(root);
    const br_promql_labels *grouping = NULL;
    if (n->kind == BR_PROMQL_AGGREGATE && n->u.aggregate.op == BR_PROMQL_AGG_SUM &&
        !n->u.aggregate.without && n->u.aggregate.param == NULL) {
        grouping = &n->u.aggregate.grouping;
        n = unparen(n->u.aggregate.expr);
    }
    if (n->kind == BR_PROMQL_CALL && n->u.call.nargs == 1 &&
        (n->u.call.func->id == BR_PROMQL_FN_RATE || n->u.call.func->id == BR_PROMQL_FN_INCREASE)) {
        br_promql_node *m = n->u.call.args[0];
        if (m->kind == BR_PROMQL_MATRIX_SELECTOR && m->u.matrix.range_ms == PROBE_WINDOW_MS) {
            br_event_source counter = {.kind = BR_SOURCE_NONE, .expr = NULL, .le = NAN};
            br_err ignored;
            br_err_clear(&ignored);
            if (counter_from_vs(a, m->u.matrix.vs, &counter, &ignored) == 0) {
                *out = counter;
                copy_labels(a, grouping, by, n_by);
            }
        }
    }
    br_promql_ast_free(root);
    br_arena_free(&tmp);
    return 0;
}

/* ------------------------------------------------------------ selectors */

/* Parses text, which must be a plain series selector; *vs is the node. */
static int parse_selector(br_arena *tmp, const char *text, br_promql_node **root,
                          br_promql_node **vs, br_err *err)
{
    *root = NULL;
    *vs = NULL;
    if (text == NULL || text[0] == '\0') {
        return br_err_set(err, BR_EINVAL, "the selector is empty");
    }
    if (br_slo_template_has_window(text)) {
        return br_err_set(err, BR_EINVAL,
                          "expected a series selector, not a template with " BR_SLO_WINDOW_VAR);
    }
    int rc = parse_promql(tmp, text, root, err);
    if (rc != 0) {
        return rc;
    }
    br_promql_node *n = unparen(*root);
    if (n->kind != BR_PROMQL_VECTOR_SELECTOR) {
        return br_err_set(err, BR_EINVAL,
                          "expected a series selector such as metric{label=\"value\"}, got %s",
                          node_kind_name(n));
    }
    if (n->u.vs.offset_ms != 0 || n->u.vs.at != BR_PROMQL_AT_NONE) {
        return br_err_set(err, BR_EINVAL, "the selector must not use offset or @");
    }
    *vs = n;
    return 0;
}

int br_slo_counter_source(br_arena *a, const char *text, bool allow_sum, br_event_source *out,
                          const char ***by, size_t *n_by, br_err *err)
{
    if (by != NULL && n_by != NULL) {
        *by = NULL;
        *n_by = 0;
    }
    if (text == NULL || text[0] == '\0') {
        return br_err_set(err, BR_EINVAL, "the selector is empty");
    }
    if (br_slo_template_has_window(text)) {
        return br_err_set(err, BR_EINVAL,
                          "expected a counter selector, not a template with " BR_SLO_WINDOW_VAR);
    }
    br_arena tmp;
    br_arena_init(&tmp, 0, 0);
    br_promql_node *root = NULL;
    int rc = parse_promql(&tmp, text, &root, err);
    if (rc == 0) {
        br_promql_node *n = unparen(root);
        const br_promql_labels *grouping = NULL;
        if (allow_sum && n->kind == BR_PROMQL_AGGREGATE && n->u.aggregate.op == BR_PROMQL_AGG_SUM &&
            !n->u.aggregate.without && n->u.aggregate.param == NULL) {
            grouping = &n->u.aggregate.grouping;
            n = unparen(n->u.aggregate.expr);
        }
        if (n->kind != BR_PROMQL_VECTOR_SELECTOR) {
            rc = br_err_set(err, BR_EINVAL,
                            "expected a counter selector such as metric{label=\"value\"}%s, got %s",
                            allow_sum ? " or sum by (label) (metric{...})" : "", node_kind_name(n));
        } else {
            rc = counter_from_vs(a, n, out, err);
            if (rc == 0) {
                copy_labels(a, grouping, by, n_by);
            }
        }
    }
    br_promql_ast_free(root);
    br_arena_free(&tmp);
    return rc;
}

static bool valid_op(const char *op)
{
    return strcmp(op, "=") == 0 || strcmp(op, "!=") == 0 || strcmp(op, "=~") == 0 ||
           strcmp(op, "!~") == 0;
}

int br_slo_selector_add_matcher(br_arena *a, const char *sel, const char *label, const char *op,
                                const char *value, const char **out, br_err *err)
{
    if (!br_slo_valid_label_name(label)) {
        return br_err_set(err, BR_EINVAL, "\"%s\" is not a label name", label);
    }
    if (!valid_op(op)) {
        return br_err_set(err, BR_EINVAL, "\"%s\" is not a matcher operator", op);
    }
    br_arena tmp;
    br_arena_init(&tmp, 0, 0);
    br_promql_node *root = NULL;
    br_promql_node *vs = NULL;
    int rc = parse_selector(&tmp, sel, &root, &vs, err);
    br_buf b;
    br_buf_init(&b, BR_SLO_MAX_QUERY);
    if (rc == 0) {
        rc = br_promql_print(vs, &b);
    }
    br_buf m;
    br_buf_init(&m, BR_SLO_MAX_QUERY);
    if (rc == 0) {
        rc = br_buf_printf(&m, "%s%s", label, op);
    }
    if (rc == 0) {
        rc = br_promql_go_quote(&m, value, strlen(value), 0);
    }
    if (rc == 0) {
        if (b.len > 0 && br_buf_str(&b)[b.len - 1] == '}') {
            b.len--;
            rc = br_buf_printf(&b, ",%s}", br_buf_str(&m));
        } else {
            rc = br_buf_printf(&b, "{%s}", br_buf_str(&m));
        }
        if (rc != 0) {
            rc = br_err_set(err, rc, "selector longer than %d bytes", BR_SLO_MAX_QUERY);
        }
    }
    br_promql_ast_free(root);
    root = NULL;
    if (rc == 0) {
        /* Parse the result: checks the regex and gives canonical text. */
        br_promql_node *vs2 = NULL;
        rc = parse_selector(&tmp, br_buf_str(&b), &root, &vs2, err);
        if (rc == 0) {
            br_buf_reset(&b);
            rc = br_promql_print(vs2, &b);
        }
        if (rc == 0) {
            *out = br_arena_strdup(a, br_buf_str(&b));
        }
        br_promql_ast_free(root);
    }
    br_buf_free(&m);
    br_buf_free(&b);
    br_arena_free(&tmp);
    return rc;
}

/* The metric name of a selector: written before the braces or as
 * __name__="x"; NULL when it has none. */
static const char *selector_name(const br_promql_node *vs)
{
    if (vs->u.vs.name != NULL && vs->u.vs.name[0] != '\0') {
        return vs->u.vs.name;
    }
    const br_selector *sel = vs->u.vs.matchers;
    for (size_t i = 0; sel != NULL && i < sel->n; i++) {
        if (strcmp(sel->matchers[i].name, "__name__") == 0 &&
            sel->matchers[i].type == BR_MATCH_EQ) {
            return sel->matchers[i].value;
        }
    }
    return NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s);
    size_t k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Writes `name<suffix>{matchers but __name__}` into b. */
static int selector_with_suffix(const br_promql_node *vs, const char *name, const char *suffix,
                                br_buf *b)
{
    br_buf_reset(b);
    int rc = br_buf_printf(b, "%s%s", name, suffix);
    const br_selector *sel = vs->u.vs.matchers;
    size_t written = 0;
    for (size_t i = 0; rc == 0 && sel != NULL && i < sel->n; i++) {
        if (strcmp(sel->matchers[i].name, "__name__") == 0) {
            continue;
        }
        rc = br_buf_putc(b, written == 0 ? '{' : ',');
        if (rc == 0) {
            rc = br_matcher_format(&sel->matchers[i], b);
        }
        written++;
    }
    if (rc == 0 && written > 0) {
        rc = br_buf_putc(b, '}');
    }
    return rc;
}

int br_slo_histogram_source(br_arena *a, const char *base, double threshold, br_event_source *good,
                            br_event_source *total, br_err *err)
{
    if (!isfinite(threshold) || threshold <= 0) {
        return br_err_set(err, BR_EINVAL, "the latency threshold must be a positive number");
    }
    br_arena tmp;
    br_arena_init(&tmp, 0, 0);
    br_promql_node *root = NULL;
    br_promql_node *vs = NULL;
    int rc = parse_selector(&tmp, base, &root, &vs, err);
    const char *name = NULL;
    if (rc == 0) {
        name = selector_name(vs);
        if (name == NULL) {
            rc = br_err_set(err, BR_EINVAL, "the histogram selector needs a metric name");
        } else if (ends_with(name, "_bucket") || ends_with(name, "_count")) {
            rc = br_err_set(err, BR_EINVAL,
                            "give the histogram's base name (\"%.*s\"), not its _bucket or _count "
                            "series",
                            (int)(strlen(name) - (ends_with(name, "_bucket") ? 7 : 6)), name);
        }
    }
    const br_selector *sel = rc == 0 ? vs->u.vs.matchers : NULL;
    for (size_t i = 0; sel != NULL && i < sel->n; i++) {
        if (strcmp(sel->matchers[i].name, "le") == 0) {
            rc = br_err_set(err, BR_EINVAL,
                            "the histogram selector must not match on le; the threshold picks "
                            "the bucket");
            break;
        }
    }
    br_buf b;
    br_buf_init(&b, BR_SLO_MAX_QUERY);
    if (rc == 0) {
        rc = selector_with_suffix(vs, name, "_bucket", &b);
        if (rc == 0) {
            rc = br_slo_counter_source(a, br_buf_str(&b), false, good, NULL, NULL, err);
        }
        if (rc == 0) {
            good->le = threshold;
            rc = selector_with_suffix(vs, name, "_count", &b);
        }
        if (rc == 0) {
            rc = br_slo_counter_source(a, br_buf_str(&b), false, total, NULL, NULL, err);
        }
    }
    br_buf_free(&b);
    br_promql_ast_free(root);
    br_arena_free(&tmp);
    return rc;
}

/* Shortest decimal text that reads back as v. */
static void format_number(double v, char *out, size_t size)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, size, "%.*g", prec, v);
        if (strtod(out, NULL) == v) {
            return;
        }
    }
}

int br_slo_native_histogram_source(br_arena *a, const char *base, double threshold,
                                   const char *const *grouping, size_t n_grouping,
                                   br_event_source *good, br_event_source *total, br_err *err)
{
    if (!isfinite(threshold) || threshold <= 0) {
        return br_err_set(err, BR_EINVAL, "the latency threshold must be a positive number");
    }
    br_arena tmp;
    br_arena_init(&tmp, 0, 0);
    br_promql_node *root = NULL;
    br_promql_node *vs = NULL;
    int rc = parse_selector(&tmp, base, &root, &vs, err);
    br_buf sel;
    br_buf_init(&sel, BR_SLO_MAX_QUERY);
    br_buf inner;
    br_buf_init(&inner, BR_SLO_MAX_QUERY);
    if (rc == 0) {
        rc = br_promql_print(vs, &sel);
    }
    if (rc == 0) {
        rc = br_buf_puts(&inner, "sum");
        for (size_t i = 0; rc == 0 && i < n_grouping; i++) {
            rc = br_buf_printf(&inner, "%s%s", i == 0 ? " by (" : ", ", grouping[i]);
        }
        if (rc == 0 && n_grouping > 0) {
            rc = br_buf_puts(&inner, ") ");
        }
        if (rc == 0) {
            rc = br_buf_printf(&inner, "(rate(%s[" BR_SLO_WINDOW_VAR "]))", br_buf_str(&sel));
        }
    }
    if (rc == 0) {
        char t[40];
        format_number(threshold, t, sizeof(t));
        const char *in = br_buf_str(&inner);
        good->kind = BR_SOURCE_QUERY;
        good->le = NAN;
        good->expr =
            br_arena_printf(a, "histogram_fraction(0, %s, %s) * histogram_count(%s)", t, in, in);
        total->kind = BR_SOURCE_QUERY;
        total->le = NAN;
        total->expr = br_arena_printf(a, "histogram_count(%s)", in);
        rc = br_slo_template_check(good->expr, true, err);
    } else if (rc == BR_ELIMIT) {
        rc = br_err_set(err, rc, "selector longer than %d bytes", BR_SLO_MAX_QUERY);
    }
    br_buf_free(&inner);
    br_buf_free(&sel);
    br_promql_ast_free(root);
    br_arena_free(&tmp);
    return rc;
}

int br_slo_bool_gauge_source(br_arena *a, const char *sel, br_event_source *good,
                             br_event_source *total, br_err *err)
{
    br_arena tmp;
    br_arena_init(&tmp, 0, 0);
    br_promql_node *root = NULL;
    br_promql_node *vs = NULL;
    int rc = parse_selector(&tmp, sel, &root, &vs, err);
    br_buf b;
    br_buf_init(&b, BR_SLO_MAX_QUERY);
    if (rc == 0) {
        rc = br_promql_print(vs, &b);
    }
    if (rc == 0) {
        const char *text = br_arena_strdup(a, br_buf_str(&b));
        good->kind = BR_SOURCE_BOOL_GAUGE;
        good->expr = text;
        good->le = NAN;
        total->kind = BR_SOURCE_BOOL_GAUGE;
        total->expr = text;
        total->le = NAN;
    }
    br_buf_free(&b);
    br_promql_ast_free(root);
    br_arena_free(&tmp);
    return rc;
}

/* ---------------------------------------------------------------- values */

/* strtod over the whole of text (spaces around allowed); a trailing '%'
 * is reported in *percent when that pointer is given. */
static int parse_number(const char *text, double *out, bool *percent)
{
    if (text == NULL) {
        return BR_EINVAL;
    }
    while (*text == ' ') {
        text++;
    }
    if (*text == '\0') {
        return BR_EINVAL;
    }
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || errno != 0 || !isfinite(v)) {
        return BR_EINVAL;
    }
    while (*end == ' ') {
        end++;
    }
    bool pct = false;
    if (*end == '%' && percent != NULL) {
        pct = true;
        end++;
        while (*end == ' ') {
            end++;
        }
    }
    if (*end != '\0') {
        return BR_EINVAL;
    }
    if (percent != NULL) {
        *percent = pct;
    }
    *out = v;
    return 0;
}

int br_slo_parse_percent(const char *text, double *out)
{
    double v;
    if (parse_number(text, &v, NULL) != 0 || !(v > 0.0 && v < 100.0)) {
        return BR_EINVAL;
    }
    *out = v / 100.0;
    return 0;
}

int br_slo_parse_share(const char *text, bool allow_negative, double *out)
{
    double v;
    bool percent = false;
    if (parse_number(text, &v, &percent) != 0) {
        return BR_EINVAL;
    }
    if (percent || fabs(v) > 1.0) {
        v /= 100.0;
    }
    if (v < 0 && !allow_negative) {
        return BR_EINVAL;
    }
    *out = v;
    return 0;
}

int br_slo_parse_seconds(const char *text, double *out)
{
    double v;
    if (parse_number(text, &v, NULL) == 0) {
        *out = v;
        return 0;
    }
    int64_t ms = 0;
    if (text != NULL && br_parse_duration(text, &ms) == 0) {
        *out = (double)ms / 1000.0;
        return 0;
    }
    return BR_EINVAL;
}

int br_slo_parse_op(const char *text, br_threshold_op *out)
{
    static const struct {
        const char *a;
        const char *b;
        br_threshold_op op;
    } ops[] = {
        {"<", "lt", BR_OP_LT},
        {"<=", "lte", BR_OP_LE},
        {">", "gt", BR_OP_GT},
        {">=", "gte", BR_OP_GE},
    };
    for (size_t i = 0; text != NULL && i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (strcmp(text, ops[i].a) == 0 || strcmp(text, ops[i].b) == 0) {
            *out = ops[i].op;
            return 0;
        }
    }
    return BR_EINVAL;
}

int br_slo_parse_anchor_date(const char *text, int64_t *day)
{
    int y = 0;
    int m = 0;
    int d = 0;
    int used = 0;
    if (text == NULL || sscanf(text, "%4d-%2d-%2d%n", &y, &m, &d, &used) != 3 || used != 10 ||
        m < 1 || m > 12 || d < 1) {
        return BR_EINVAL;
    }
    const char *rest = text + used;
    if (*rest != '\0' && strcmp(rest, " 00:00:00") != 0 && strcmp(rest, "T00:00:00") != 0) {
        return BR_EINVAL;
    }
    int64_t days = br_days_from_civil(y, m, d);
    int64_t cy;
    int cm;
    int cd;
    br_civil_from_days(days, &cy, &cm, &cd);
    if (cy != y || cm != m || cd != d) {
        return BR_EINVAL; /* February 30 and the like */
    }
    *day = days;
    return 0;
}

int br_slo_parse_time_zone(br_slo_set *s, const char *text, br_period *p)
{
    if (text == NULL || text[0] == '\0') {
        return BR_EINVAL;
    }
    if (strcmp(text, "UTC") == 0 || strcmp(text, "Z") == 0 || strcmp(text, "utc") == 0) {
        p->utc_offset_s = 0;
        p->time_zone = NULL;
        return 0;
    }
    if (text[0] == '+' || text[0] == '-') {
        /* +HH, +HHMM or +HH:MM */
        const char *q = text + 1;
        int digits[4];
        int nd = 0;
        while (*q != '\0' && nd < 4) {
            if (*q == ':' && nd == 2) {
                q++;
                continue;
            }
            if (!isdigit((unsigned char)*q)) {
                return BR_EINVAL;
            }
            digits[nd++] = *q - '0';
            q++;
        }
        if (*q != '\0' || (nd != 2 && nd != 4)) {
            return BR_EINVAL;
        }
        int hours = digits[0] * 10 + digits[1];
        int minutes = nd == 4 ? digits[2] * 10 + digits[3] : 0;
        if (hours > 14 || minutes > 59) {
            return BR_EINVAL;
        }
        int32_t off = (int32_t)(hours * 3600 + minutes * 60);
        p->utc_offset_s = text[0] == '-' ? -off : off;
        p->time_zone = NULL;
        return 0;
    }
    /* An IANA name: Area/Location with letters, digits, _ + - and /. */
    if (!isalpha((unsigned char)text[0]) || strlen(text) > 64 || strstr(text, "..") != NULL) {
        return BR_EINVAL;
    }
    for (const char *q = text; *q != '\0'; q++) {
        unsigned char c = (unsigned char)*q;
        if (!(isalnum(c) || c == '_' || c == '+' || c == '-' || c == '/')) {
            return BR_EINVAL;
        }
    }
    p->utc_offset_s = 0;
    p->time_zone = br_slo_strdup(s, text);
    return 0;
}

bool br_slo_valid_label_name(const char *name)
{
    if (name == NULL || name[0] == '\0') {
        return false;
    }
    if (!(isalpha((unsigned char)name[0]) || name[0] == '_')) {
        return false;
    }
    for (const char *p = name; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (!(isalnum(c) || c == '_') || c > 127) {
            return false;
        }
    }
    return true;
}

const char *br_slo_sanitize_label_name(br_slo_set *s, const char *name)
{
    size_t n = strlen(name);
    bool lead_digit = n > 0 && isdigit((unsigned char)name[0]);
    char *out = br_arena_alloc(br_slo_set_arena(s), n + 2);
    size_t o = 0;
    if (lead_digit || n == 0) {
        out[o++] = '_';
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        out[o++] = (c < 128 && (isalnum(c) || c == '_')) ? (char)c : '_';
    }
    out[o] = '\0';
    return out;
}

/* Appends text in CamelCase: each run of letters and digits capitalised. */
static void camel(br_buf *b, const char *text)
{
    bool start = true;
    for (const char *p = text; p != NULL && *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 128 && isalnum(c)) {
            br_buf_putc(b, start ? (char)toupper(c) : (char)c);
            start = false;
        } else {
            start = true;
        }
    }
}

const char *br_slo_default_alert_name(br_slo_set *s, const char *service, const char *name)
{
    br_buf b;
    br_buf_init(&b, 0);
    camel(&b, service);
    camel(&b, name);
    br_buf_puts(&b, "HighErrorRate");
    const char *out = br_slo_strdup(s, br_buf_str(&b));
    br_buf_free(&b);
    return out;
}

void br_slo_kv_set(br_slo_set *s, br_kv **arr, size_t *n, const char *key, const char *value)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*arr)[i].key, key) == 0) {
            (*arr)[i].value = br_slo_strdup(s, value);
            return;
        }
    }
    br_kv *grown = br_arena_calloc(br_slo_set_arena(s), *n + 1, sizeof(br_kv));
    if (*n > 0) {
        memcpy(grown, *arr, *n * sizeof(br_kv));
    }
    grown[*n].key = br_slo_strdup(s, key);
    grown[*n].value = br_slo_strdup(s, value);
    *arr = grown;
    (*n)++;
}

/* ------------------------------------------------------------------ YAML */

bool br_slo_yaml_null(const br_yaml_node *n)
{
    if (n == NULL) {
        return true;
    }
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
        return false;
    }
    const char *v = (const char *)n->data.scalar.value;
    return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

br_yaml_node *br_slo_yaml_key_node(br_yaml_doc *doc, const br_yaml_node *map, const char *key)
{
    size_t n = br_yaml_map_size(map);
    for (size_t i = 0; i < n; i++) {
        br_yaml_node *kn = NULL;
        const char *k = br_yaml_map_key(doc, map, i, &kn, NULL);
        if (k != NULL && strcmp(k, key) == 0) {
            return kn;
        }
    }
    return NULL;
}

int br_slo_yaml_require(br_yaml_doc *doc, const br_yaml_node *map, const char *key,
                        const char *what, br_err *err)
{
    if (br_slo_yaml_null(br_yaml_map_get(doc, map, key))) {
        return br_yaml_error(doc, map, err, BR_EINVAL, "%s: missing required key \"%s\"", what,
                             key);
    }
    return 0;
}

int br_slo_yaml_kv(br_slo_set *s, br_yaml_doc *doc, const br_yaml_node *n, const char *what,
                   bool check_names, br_kv **arr, size_t *n_arr, br_err *err)
{
    if (br_slo_yaml_null(n)) {
        return 0;
    }
    int rc = br_yaml_expect_map(doc, n, what, err);
    if (rc != 0) {
        return rc;
    }
    size_t size = br_yaml_map_size(n);
    for (size_t i = 0; i < size; i++) {
        br_yaml_node *kn = NULL;
        br_yaml_node *vn = NULL;
        const char *k = br_yaml_map_key(doc, n, i, &kn, &vn);
        if (k == NULL) {
            return br_yaml_error(doc, kn, err, BR_EPARSE, "%s: keys must be plain strings", what);
        }
        if (check_names && !br_slo_valid_label_name(k)) {
            return br_yaml_error(doc, kn, err, BR_EINVAL,
                                 "%s: \"%s\" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)", what,
                                 k);
        }
        const char *v = NULL;
        rc = br_yaml_get_string(doc, vn, k, &v, err);
        if (rc != 0) {
            return rc;
        }
        br_slo_kv_set(s, arr, n_arr, k, v);
    }
    return 0;
}

int br_slo_yaml_label_list(br_slo_set *s, br_yaml_doc *doc, const br_yaml_node *n, const char *what,
                           const char ***out, size_t *n_out, br_err *err)
{
    *out = NULL;
    *n_out = 0;
    if (br_slo_yaml_null(n)) {
        return 0;
    }
    int rc = br_yaml_expect_seq(doc, n, what, err);
    if (rc != 0) {
        return rc;
    }
    size_t size = br_yaml_seq_size(n);
    const char **names = br_arena_calloc(br_slo_set_arena(s), size ? size : 1, sizeof(char *));
    for (size_t i = 0; i < size; i++) {
        br_yaml_node *item = br_yaml_seq_item(doc, n, i);
        const char *v = NULL;
        rc = br_yaml_get_string(doc, item, what, &v, err);
        if (rc != 0) {
            return rc;
        }
        if (!br_slo_valid_label_name(v)) {
            return br_yaml_error(doc, item, err, BR_EINVAL,
                                 "%s: \"%s\" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)", what,
                                 v);
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(names[j], v) == 0) {
                return br_yaml_error(doc, item, err, BR_EINVAL, "%s: label \"%s\" is listed twice",
                                     what, v);
            }
        }
        names[i] = br_slo_strdup(s, v);
    }
    *out = names;
    *n_out = size;
    return 0;
}

int br_slo_yaml_wrap(br_yaml_doc *doc, const br_yaml_node *node, const char *what,
                     const br_err *inner, br_err *err)
{
    int code = inner->code != 0 ? inner->code : BR_EINVAL;
    return br_yaml_error(doc, node, err, code, "%s: %s", what, inner->msg);
}

bool br_slo_same_labels(const char *const *a, size_t na, const char *const *b, size_t nb)
{
    if (na != nb) {
        return false;
    }
    for (size_t i = 0; i < na; i++) {
        bool found = false;
        for (size_t j = 0; j < nb && !found; j++) {
            found = strcmp(a[i], b[j]) == 0;
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

const char *br_slo_apply_by_labels(br_slo_def *d, const br_event_source *num, const char **by_num,
                                   size_t n_num, const br_event_source *total,
                                   const char **by_total, size_t n_total)
{
    if (num->kind == BR_SOURCE_COUNTER && total->kind == BR_SOURCE_COUNTER &&
        !br_slo_same_labels(by_num, n_num, by_total, n_total)) {
        return "the error (or good) and total queries must sum by the same labels";
    }
    const char **by = n_num > 0 ? by_num : by_total;
    size_t n = n_num > 0 ? n_num : n_total;
    if (n == 0) {
        return NULL;
    }
    if (d->n_grouping == 0) {
        d->grouping = by;
        d->n_grouping = n;
        return NULL;
    }
    if (!br_slo_same_labels(d->grouping, d->n_grouping, by, n)) {
        return "the queries sum by other labels than the SLO's grouping";
    }
    return NULL;
}
