/*
 * ast.c — PromQL syntax tree helpers: node allocation, child access, the
 * walker, the printer, and releasing selector matchers. See ast.h.
 *
 * The printer writes what Prometheus' printer.go writes (Expr.String()):
 * binary operators with single spaces and " bool" / " on (a, b)" /
 * " group_left (c)" after the operator; aggregations as
 * `op by (labels) (param, expr)`; vector selectors as `name{sorted
 * matchers}` without the __name__ matcher the name implies, joined by ","
 * without spaces; "@ 123.000" with three decimals, written before
 * "offset"; durations in model.Duration form (years and weeks only when
 * exact); numbers as Go's strconv.FormatFloat(v, 'f', -1, 64); strings and
 * non-identifier label names with Go's strconv.Quote. Parentheses come
 * only from PAREN nodes, so printing never changes the tree's shape.
 */
#include "ast.h"

#include "engine/core/alloc.h"
#include "engine/core/err.h"
#include "engine/promql/lexer.h"
#include "engine/promql/value.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const binop_names[] = {
    [BR_PROMQL_OP_OR] = "or",         [BR_PROMQL_OP_AND] = "and",
    [BR_PROMQL_OP_UNLESS] = "unless", [BR_PROMQL_OP_EQLC] = "==",
    [BR_PROMQL_OP_NEQ] = "!=",        [BR_PROMQL_OP_GTR] = ">",
    [BR_PROMQL_OP_LSS] = "<",         [BR_PROMQL_OP_GTE] = ">=",
    [BR_PROMQL_OP_LTE] = "<=",        [BR_PROMQL_OP_TRIM_UPPER] = "</",
    [BR_PROMQL_OP_TRIM_LOWER] = ">/", [BR_PROMQL_OP_ADD] = "+",
    [BR_PROMQL_OP_SUB] = "-",         [BR_PROMQL_OP_MUL] = "*",
    [BR_PROMQL_OP_DIV] = "/",         [BR_PROMQL_OP_MOD] = "%",
    [BR_PROMQL_OP_ATAN2] = "atan2",   [BR_PROMQL_OP_POW] = "^",
};

static const char *const aggop_names[] = {
    [BR_PROMQL_AGG_SUM] = "sum",
    [BR_PROMQL_AGG_AVG] = "avg",
    [BR_PROMQL_AGG_COUNT] = "count",
    [BR_PROMQL_AGG_MIN] = "min",
    [BR_PROMQL_AGG_MAX] = "max",
    [BR_PROMQL_AGG_GROUP] = "group",
    [BR_PROMQL_AGG_STDDEV] = "stddev",
    [BR_PROMQL_AGG_STDVAR] = "stdvar",
    [BR_PROMQL_AGG_TOPK] = "topk",
    [BR_PROMQL_AGG_BOTTOMK] = "bottomk",
    [BR_PROMQL_AGG_COUNT_VALUES] = "count_values",
    [BR_PROMQL_AGG_QUANTILE] = "quantile",
    [BR_PROMQL_AGG_LIMITK] = "limitk",
    [BR_PROMQL_AGG_LIMIT_RATIO] = "limit_ratio",
};

const char *br_promql_binop_str(br_promql_binop op)
{
    if ((size_t)op >= sizeof(binop_names) / sizeof(binop_names[0])) {
        return "?";
    }
    return binop_names[op];
}

const char *br_promql_aggop_str(br_promql_aggop op)
{
    if ((size_t)op >= sizeof(aggop_names) / sizeof(aggop_names[0])) {
        return "?";
    }
    return aggop_names[op];
}

bool br_promql_binop_is_comparison(br_promql_binop op)
{
    return op >= BR_PROMQL_OP_EQLC && op <= BR_PROMQL_OP_LTE;
}

bool br_promql_binop_is_set(br_promql_binop op)
{
    return op == BR_PROMQL_OP_OR || op == BR_PROMQL_OP_AND || op == BR_PROMQL_OP_UNLESS;
}

bool br_promql_aggop_has_param(br_promql_aggop op)
{
    switch (op) {
    case BR_PROMQL_AGG_TOPK:
    case BR_PROMQL_AGG_BOTTOMK:
    case BR_PROMQL_AGG_COUNT_VALUES:
    case BR_PROMQL_AGG_QUANTILE:
    case BR_PROMQL_AGG_LIMITK:
    case BR_PROMQL_AGG_LIMIT_RATIO:
        return true;
    default:
        return false;
    }
}

br_promql_node *br_promql_node_new(br_arena *a, br_promql_kind kind, uint32_t start, uint32_t end)
{
    br_promql_node *n = br_arena_calloc(a, 1, sizeof(*n));
    if (n == NULL) {
        return NULL;
    }
    n->kind = kind;
    n->start = start;
    n->end = end;
    n->depth = 1;
    return n;
}

size_t br_promql_child_count(const br_promql_node *n)
{
    switch (n->kind) {
    case BR_PROMQL_MATRIX_SELECTOR:
    case BR_PROMQL_SUBQUERY:
    case BR_PROMQL_UNARY:
    case BR_PROMQL_PAREN:
        return 1;
    case BR_PROMQL_CALL:
        return n->u.call.nargs;
    case BR_PROMQL_AGGREGATE:
        return (n->u.aggregate.expr != NULL) + (n->u.aggregate.param != NULL);
    case BR_PROMQL_BINARY:
        return 2;
    default:
        return 0;
    }
}

br_promql_node *br_promql_child(const br_promql_node *n, size_t i)
{
    switch (n->kind) {
    case BR_PROMQL_MATRIX_SELECTOR:
        return i == 0 ? n->u.matrix.vs : NULL;
    case BR_PROMQL_SUBQUERY:
        return i == 0 ? n->u.subquery.expr : NULL;
    case BR_PROMQL_UNARY:
        return i == 0 ? n->u.unary.expr : NULL;
    case BR_PROMQL_PAREN:
        return i == 0 ? n->u.paren.expr : NULL;
    case BR_PROMQL_CALL:
        return i < n->u.call.nargs ? n->u.call.args[i] : NULL;
    case BR_PROMQL_AGGREGATE:
        if (n->u.aggregate.expr != NULL) {
            if (i == 0) {
                return n->u.aggregate.expr;
            }
            i--;
        }
        return i == 0 ? n->u.aggregate.param : NULL;
    case BR_PROMQL_BINARY:
        return i == 0 ? n->u.binary.lhs : i == 1 ? n->u.binary.rhs : NULL;
    default:
        return NULL;
    }
}

static int walk(br_promql_node *node, br_promql_node *parent, br_promql_visit_fn fn, void *ctx)
{
    int rc = fn(node, parent, ctx);
    if (rc < 0) {
        return rc;
    }
    if (rc == BR_PROMQL_WALK_SKIP) {
        return 0;
    }
    size_t n = br_promql_child_count(node);
    for (size_t i = 0; i < n; i++) {
        br_promql_node *c = br_promql_child(node, i);
        if (c == NULL) {
            continue;
        }
        rc = walk(c, node, fn, ctx);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

int br_promql_walk(br_promql_node *root, br_promql_visit_fn fn, void *ctx)
{
    if (root == NULL) {
        return 0;
    }
    return walk(root, NULL, fn, ctx);
}

static int free_visit(br_promql_node *node, br_promql_node *parent, void *ctx)
{
    (void)parent;
    (void)ctx;
    if (node->kind == BR_PROMQL_VECTOR_SELECTOR && node->u.vs.matchers != NULL) {
        br_selector_free(node->u.vs.matchers);
        node->u.vs.matchers = NULL;
    }
    return 0;
}

void br_promql_ast_free(br_promql_node *root)
{
    br_promql_walk(root, free_visit, NULL);
}

/* ---------------------------------------------------------------------
 * Printer
 * --------------------------------------------------------------------- */

int br_promql_print_duration(int64_t ms, br_buf *out)
{
    static const struct {
        const char *unit;
        int64_t ms;
        bool exact; /* printed only when it divides the rest */
    } units[] = {
        {"y", 365LL * 24 * 3600 * 1000, true},
        {"w", 7LL * 24 * 3600 * 1000, true},
        {"d", 24LL * 3600 * 1000, false},
        {"h", 3600LL * 1000, false},
        {"m", 60LL * 1000, false},
        {"s", 1000, false},
        {"ms", 1, false},
    };
    if (ms == 0) {
        return br_buf_puts(out, "0s");
    }
    int rc = 0;
    uint64_t rest;
    if (ms < 0) {
        rc = br_buf_putc(out, '-');
        rest = (uint64_t)0 - (uint64_t)ms;
    } else {
        rest = (uint64_t)ms;
    }
    for (size_t i = 0; rc == 0 && i < sizeof(units) / sizeof(units[0]); i++) {
        uint64_t u = (uint64_t)units[i].ms;
        if (units[i].exact && rest % u != 0) {
            continue;
        }
        uint64_t v = rest / u;
        if (v > 0) {
            rc = br_buf_printf(out, "%llu%s", (unsigned long long)v, units[i].unit);
            rest -= v * u;
        }
    }
    return rc;
}

/* Go's strconv.FormatFloat(v, 'f', -1, 64): the shortest digits that read
 * back as v, in positional notation (no exponent). */
static int print_float(double v, br_buf *out)
{
    if (isnan(v)) {
        return br_buf_puts(out, "NaN");
    }
    if (isinf(v)) {
        return br_buf_puts(out, v > 0 ? "+Inf" : "-Inf");
    }
    char sci[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(sci, sizeof(sci), "%.*e", prec - 1, v);
        if (strtod(sci, NULL) == v) {
            break;
        }
    }
    /* sci is [-]d[.ddd]e[+-]xx: collect the digits and the exponent. */
    const char *p = sci;
    int rc = 0;
    if (*p == '-') {
        rc = br_buf_putc(out, '-');
        p++;
    }
    char digits[24];
    size_t nd = 0;
    while (*p != 'e' && *p != '\0') {
        if (*p != '.' && nd < sizeof(digits)) {
            digits[nd++] = *p;
        }
        p++;
    }
    int exp10 = (*p == 'e') ? atoi(p + 1) : 0;
    /* Value = 0.d1d2...dn * 10^(exp10 + 1). */
    int point = exp10 + 1; /* digits before the decimal point */
    if (point <= 0) {
        rc = rc != 0 ? rc : br_buf_puts(out, "0.");
        for (int i = 0; rc == 0 && i < -point; i++) {
            rc = br_buf_putc(out, '0');
        }
        if (rc == 0) {
            rc = br_buf_append(out, digits, nd);
        }
        return rc;
    }
    for (int i = 0; rc == 0 && i < point; i++) {
        rc = br_buf_putc(out, (size_t)i < nd ? digits[i] : '0');
    }
    if (rc == 0 && (size_t)point < nd) {
        rc = br_buf_putc(out, '.');
        if (rc == 0) {
            rc = br_buf_append(out, digits + point, nd - (size_t)point);
        }
    }
    return rc;
}

/* Go's model.Duration(seconds * 1e9).String() for a duration literal. */
static int print_duration_literal(double seconds, br_buf *out)
{
    double ns = seconds * 1e9;
    if (!(fabs(ns) < 9.2e18)) {
        return print_float(seconds, out);
    }
    int64_t ms = (int64_t)ns / 1000000;
    if (ms == 0 && ns < 0) {
        return br_buf_puts(out, "-0s");
    }
    return br_promql_print_duration(ms, out);
}

/* [a-zA-Z_][a-zA-Z0-9_]*: names printed without quotes. */
static bool legacy_name(const char *s)
{
    if (s[0] == '\0') {
        return false;
    }
    for (size_t i = 0; s[i] != '\0'; i++) {
        char c = s[i];
        bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok) {
            return false;
        }
    }
    return true;
}

static int print_label_name(const char *name, br_buf *out)
{
    if (legacy_name(name)) {
        return br_buf_puts(out, name);
    }
    return br_promql_go_quote(out, name, strlen(name), 0);
}

static int print_labels(const br_promql_labels *l, br_buf *out)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < l->n; i++) {
        if (i > 0) {
            rc = br_buf_puts(out, ", ");
        }
        if (rc == 0) {
            rc = print_label_name(l->names[i], out);
        }
    }
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int print_matchers(const br_promql_node *n, br_buf *out)
{
    const br_selector *sel = n->u.vs.matchers;
    if (sel == NULL || sel->n == 0) {
        return 0;
    }
    const char *name = n->u.vs.name;
    char *strs[BR_SELECTOR_MAX_MATCHERS];
    size_t ns = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sel->n; i++) {
        const br_matcher *m = &sel->matchers[i];
        if (name != NULL && name[0] != '\0' && m->type == BR_MATCH_EQ &&
            strcmp(m->name, "__name__") == 0 && strcmp(m->value, name) == 0) {
            continue;
        }
        br_buf b;
        br_buf_init(&b, 0);
        rc = print_label_name(m->name, &b);
        if (rc == 0) {
            rc = br_buf_puts(&b, br_match_type_str(m->type));
        }
        if (rc == 0) {
            rc = br_promql_go_quote(&b, m->value, strlen(m->value), 0);
        }
        strs[ns++] = br_buf_take(&b, NULL);
    }
    if (rc == 0 && ns > 0) {
        qsort(strs, ns, sizeof(strs[0]), cmp_str);
        rc = br_buf_putc(out, '{');
        for (size_t i = 0; rc == 0 && i < ns; i++) {
            if (i > 0) {
                rc = br_buf_putc(out, ',');
            }
            if (rc == 0) {
                rc = br_buf_puts(out, strs[i]);
            }
        }
        if (rc == 0) {
            rc = br_buf_putc(out, '}');
        }
    }
    for (size_t i = 0; i < ns; i++) {
        br_free(strs[i]);
    }
    return rc;
}

static int print_at(br_promql_at at, int64_t at_ms, br_buf *out)
{
    switch (at) {
    case BR_PROMQL_AT_TIMESTAMP:
        return br_buf_printf(out, " @ %.3f", (double)at_ms / 1000.0);
    case BR_PROMQL_AT_START:
        return br_buf_puts(out, " @ start()");
    case BR_PROMQL_AT_END:
        return br_buf_puts(out, " @ end()");
    case BR_PROMQL_AT_NONE:
        break;
    }
    return 0;
}

static int print_offset(int64_t offset_ms, br_buf *out)
{
    if (offset_ms == 0) {
        return 0;
    }
    int rc = br_buf_puts(out, " offset ");
    if (rc == 0) {
        rc = br_promql_print_duration(offset_ms, out);
    }
    return rc;
}

static int print_node(const br_promql_node *n, br_buf *out);

int br_promql_print_dur(const br_promql_dur *d, br_buf *out)
{
    int rc = 0;
    if (d->wrapped) {
        rc = br_buf_putc(out, '(');
    }
    switch (d->op) {
    case BR_PROMQL_DUR_NUMBER:
        if (rc == 0) {
            rc = d->duration ? print_duration_literal(d->value, out) : print_float(d->value, out);
        }
        break;
    case BR_PROMQL_DUR_STEP:
        if (rc == 0) {
            rc = br_buf_puts(out, "step()");
        }
        break;
    case BR_PROMQL_DUR_RANGE:
        if (rc == 0) {
            rc = br_buf_puts(out, "range()");
        }
        break;
    case BR_PROMQL_DUR_MIN_OF:
    case BR_PROMQL_DUR_MAX_OF:
        if (rc == 0) {
            rc = br_buf_puts(out, d->op == BR_PROMQL_DUR_MIN_OF ? "min_of(" : "max_of(");
        }
        if (rc == 0) {
            rc = br_promql_print_dur(d->lhs, out);
        }
        if (rc == 0) {
            rc = br_buf_puts(out, ", ");
        }
        if (rc == 0) {
            rc = br_promql_print_dur(d->rhs, out);
        }
        if (rc == 0) {
            rc = br_buf_putc(out, ')');
        }
        break;
    default: {
        static const char ops[] = {
            [BR_PROMQL_DUR_ADD] = '+', [BR_PROMQL_DUR_SUB] = '-', [BR_PROMQL_DUR_MUL] = '*',
            [BR_PROMQL_DUR_DIV] = '/', [BR_PROMQL_DUR_MOD] = '%', [BR_PROMQL_DUR_POW] = '^',
        };
        char op = ops[d->op];
        if (d->lhs == NULL) {
            /* Unary: Prometheus writes "-x" and drops a unary plus. */
            if (rc == 0 && op == '-') {
                rc = br_buf_putc(out, '-');
            }
        } else {
            if (rc == 0) {
                rc = br_promql_print_dur(d->lhs, out);
            }
            if (rc == 0) {
                rc = br_buf_printf(out, " %c ", op);
            }
        }
        if (rc == 0) {
            rc = br_promql_print_dur(d->rhs, out);
        }
        break;
    }
    }
    if (rc == 0 && d->wrapped) {
        rc = br_buf_putc(out, ')');
    }
    return rc;
}

/* " offset <duration>" from a fixed offset or an expression. */
static int print_offset_of(int64_t offset_ms, const br_promql_dur *expr, br_buf *out)
{
    if (expr == NULL) {
        return print_offset(offset_ms, out);
    }
    int rc = br_buf_puts(out, " offset ");
    if (rc == 0) {
        rc = br_promql_print_dur(expr, out);
    }
    return rc;
}

/* The range or step inside brackets. */
static int print_bracket_dur(int64_t ms, const br_promql_dur *expr, br_buf *out)
{
    return expr != NULL ? br_promql_print_dur(expr, out) : br_promql_print_duration(ms, out);
}

static int print_extended(const br_promql_node *vs, br_buf *out)
{
    if (vs->u.vs.anchored) {
        return br_buf_puts(out, " anchored");
    }
    if (vs->u.vs.smoothed) {
        return br_buf_puts(out, " smoothed");
    }
    return 0;
}

/* " fill (v)", or " fill_left (v)" and/or " fill_right (v)", with Go's %v. */
static int print_fill(const br_promql_node *n, br_buf *out)
{
    char f[64];
    bool l = n->u.binary.fill_lhs;
    bool r = n->u.binary.fill_rhs;
    double lv = n->u.binary.fill_lhs_value;
    double rv = n->u.binary.fill_rhs_value;
    if (l && r && lv == rv) {
        return br_buf_printf(out, " fill (%s)", br_format_float_g(lv, f, sizeof(f)));
    }
    int rc = 0;
    if (l) {
        rc = br_buf_printf(out, " fill_left (%s)", br_format_float_g(lv, f, sizeof(f)));
    }
    if (rc == 0 && r) {
        rc = br_buf_printf(out, " fill_right (%s)", br_format_float_g(rv, f, sizeof(f)));
    }
    return rc;
}

static int print_vs_bare(const br_promql_node *n, br_buf *out)
{
    int rc = 0;
    size_t before = out->len;
    if (n->u.vs.name != NULL) {
        rc = br_buf_puts(out, n->u.vs.name);
    }
    if (rc == 0) {
        rc = print_matchers(n, out);
    }
    if (rc == 0 && out->len == before) {
        /* info(x, {}): Prometheus prints nothing, which does not parse. */
        rc = br_buf_puts(out, "{}");
    }
    return rc;
}

static int print_node(const br_promql_node *n, br_buf *out)
{
    int rc = 0;
    switch (n->kind) {
    case BR_PROMQL_NUMBER:
        if (n->u.number.duration) {
            return print_duration_literal(n->u.number.value, out);
        }
        return print_float(n->u.number.value, out);
    case BR_PROMQL_STRING:
        return br_promql_go_quote(out, n->u.string.value, n->u.string.len, 0);
    case BR_PROMQL_VECTOR_SELECTOR:
        rc = print_vs_bare(n, out);
        if (rc == 0) {
            rc = print_at(n->u.vs.at, n->u.vs.at_ms, out);
        }
        if (rc == 0) {
            rc = print_extended(n, out);
        }
        if (rc == 0) {
            rc = print_offset_of(n->u.vs.offset_ms, n->u.vs.offset_expr, out);
        }
        return rc;
    case BR_PROMQL_MATRIX_SELECTOR: {
        const br_promql_node *vs = n->u.matrix.vs;
        rc = print_vs_bare(vs, out);
        if (rc == 0) {
            rc = br_buf_putc(out, '[');
        }
        if (rc == 0) {
            rc = print_bracket_dur(n->u.matrix.range_ms, n->u.matrix.range_expr, out);
        }
        if (rc == 0) {
            rc = br_buf_putc(out, ']');
        }
        if (rc == 0) {
            rc = print_extended(vs, out);
        }
        if (rc == 0) {
            rc = print_at(vs->u.vs.at, vs->u.vs.at_ms, out);
        }
        if (rc == 0) {
            rc = print_offset_of(vs->u.vs.offset_ms, vs->u.vs.offset_expr, out);
        }
        return rc;
    }
    case BR_PROMQL_SUBQUERY:
        rc = print_node(n->u.subquery.expr, out);
        if (rc == 0) {
            rc = br_buf_putc(out, '[');
        }
        if (rc == 0) {
            rc = print_bracket_dur(n->u.subquery.range_ms, n->u.subquery.range_expr, out);
        }
        if (rc == 0) {
            rc = br_buf_putc(out, ':');
        }
        if (rc == 0 && (n->u.subquery.step_ms != 0 || n->u.subquery.step_expr != NULL)) {
            rc = print_bracket_dur(n->u.subquery.step_ms, n->u.subquery.step_expr, out);
        }
        if (rc == 0) {
            rc = br_buf_putc(out, ']');
        }
        if (rc == 0) {
            rc = print_at(n->u.subquery.at, n->u.subquery.at_ms, out);
        }
        if (rc == 0) {
            rc = print_offset_of(n->u.subquery.offset_ms, n->u.subquery.offset_expr, out);
        }
        return rc;
    case BR_PROMQL_CALL:
        rc = br_buf_puts(out, n->u.call.func->name);
        if (rc == 0) {
            rc = br_buf_putc(out, '(');
        }
        for (size_t i = 0; rc == 0 && i < n->u.call.nargs; i++) {
            if (i > 0) {
                rc = br_buf_puts(out, ", ");
            }
            if (rc == 0) {
                rc = print_node(n->u.call.args[i], out);
            }
        }
        if (rc == 0) {
            rc = br_buf_putc(out, ')');
        }
        return rc;
    case BR_PROMQL_AGGREGATE:
        rc = br_buf_puts(out, br_promql_aggop_str(n->u.aggregate.op));
        if (rc == 0 && (n->u.aggregate.without || n->u.aggregate.grouping.n > 0)) {
            rc = br_buf_puts(out, n->u.aggregate.without ? " without (" : " by (");
            if (rc == 0) {
                rc = print_labels(&n->u.aggregate.grouping, out);
            }
            if (rc == 0) {
                rc = br_buf_puts(out, ") ");
            }
        }
        if (rc == 0) {
            rc = br_buf_putc(out, '(');
        }
        if (rc == 0 && n->u.aggregate.param != NULL) {
            rc = print_node(n->u.aggregate.param, out);
            if (rc == 0) {
                rc = br_buf_puts(out, ", ");
            }
        }
        if (rc == 0) {
            rc = print_node(n->u.aggregate.expr, out);
        }
        if (rc == 0) {
            rc = br_buf_putc(out, ')');
        }
        return rc;
    case BR_PROMQL_BINARY:
        if (n->u.binary.op == BR_PROMQL_OP_POW && n->u.binary.lhs->kind == BR_PROMQL_NUMBER &&
            isinf(n->u.binary.lhs->u.number.value) && n->u.binary.lhs->u.number.value > 0) {
            /* "+Inf ^ x" would read back as +(Inf ^ x): ^ binds tighter
             * than a unary plus. */
            rc = br_buf_puts(out, "Inf");
        } else {
            rc = print_node(n->u.binary.lhs, out);
        }
        if (rc == 0) {
            rc = br_buf_printf(out, " %s%s", br_promql_binop_str(n->u.binary.op),
                               n->u.binary.return_bool ? " bool" : "");
        }
        if (rc == 0 && n->u.binary.has_matching) {
            br_promql_card card = n->u.binary.card;
            bool grouped = card == BR_PROMQL_CARD_MANY_TO_ONE || card == BR_PROMQL_CARD_ONE_TO_MANY;
            if (n->u.binary.matching.n > 0 || n->u.binary.on || grouped) {
                rc = br_buf_puts(out, n->u.binary.on ? " on (" : " ignoring (");
                if (rc == 0) {
                    rc = print_labels(&n->u.binary.matching, out);
                }
                if (rc == 0) {
                    rc = br_buf_putc(out, ')');
                }
            }
            if (rc == 0 && grouped) {
                rc = br_buf_puts(out, card == BR_PROMQL_CARD_MANY_TO_ONE ? " group_left ("
                                                                         : " group_right (");
                if (rc == 0) {
                    rc = print_labels(&n->u.binary.include, out);
                }
                if (rc == 0) {
                    rc = br_buf_putc(out, ')');
                }
            }
            if (rc == 0) {
                rc = print_fill(n, out);
            }
        }
        if (rc == 0) {
            rc = br_buf_putc(out, ' ');
        }
        if (rc == 0) {
            rc = print_node(n->u.binary.rhs, out);
        }
        return rc;
    case BR_PROMQL_UNARY:
        rc = br_buf_putc(out, n->u.unary.op);
        if (rc == 0) {
            rc = print_node(n->u.unary.expr, out);
        }
        return rc;
    case BR_PROMQL_PAREN:
        rc = br_buf_putc(out, '(');
        if (rc == 0) {
            rc = print_node(n->u.paren.expr, out);
        }
        if (rc == 0) {
            rc = br_buf_putc(out, ')');
        }
        return rc;
    }
    return BR_EINVAL;
}

int br_promql_print(const br_promql_node *node, br_buf *out)
{
    return print_node(node, out);
}

/* The value of d in seconds (Prometheus' evaluateDurationExpr). */
static int dur_value(const br_promql_dur *d, double step_s, double range_s, double *out,
                     br_err *err)
{
    double l = 0;
    double r = 0;
    if (d->lhs != NULL) {
        int rc = dur_value(d->lhs, step_s, range_s, &l, err);
        if (rc != 0) {
            return rc;
        }
    }
    if (d->rhs != NULL) {
        int rc = dur_value(d->rhs, step_s, range_s, &r, err);
        if (rc != 0) {
            return rc;
        }
    }
    switch (d->op) {
    case BR_PROMQL_DUR_NUMBER:
        *out = d->value;
        return 0;
    case BR_PROMQL_DUR_STEP:
        *out = step_s;
        return 0;
    case BR_PROMQL_DUR_RANGE:
        *out = range_s;
        return 0;
    case BR_PROMQL_DUR_MIN_OF:
        *out = br_go_min(l, r);
        return 0;
    case BR_PROMQL_DUR_MAX_OF:
        *out = br_go_max(l, r);
        return 0;
    case BR_PROMQL_DUR_ADD:
        *out = d->lhs == NULL ? r : l + r;
        return 0;
    case BR_PROMQL_DUR_SUB:
        *out = d->lhs == NULL ? -r : l - r;
        return 0;
    case BR_PROMQL_DUR_MUL:
        *out = l * r;
        return 0;
    case BR_PROMQL_DUR_DIV:
        if (r == 0) {
            return br_err_set(err, BR_EPARSE, "%u:%u: division by zero", d->start, d->end);
        }
        *out = l / r;
        return 0;
    case BR_PROMQL_DUR_MOD:
        if (r == 0) {
            return br_err_set(err, BR_EPARSE, "%u:%u: modulo by zero", d->start, d->end);
        }
        *out = fmod(l, r);
        return 0;
    case BR_PROMQL_DUR_POW:
        *out = pow(l, r);
        return 0;
    }
    return br_err_set(err, BR_EPARSE, "unexpected duration expression operator");
}

int br_promql_dur_eval(const br_promql_dur *d, int64_t step_ms, int64_t range_ms,
                       bool allow_negative, int64_t *out_ms, br_err *err)
{
    double v;
    int rc = dur_value(d, (double)step_ms / 1000.0, (double)range_ms / 1000.0, &v, err);
    if (rc != 0) {
        return rc;
    }
    if (isnan(v) || isinf(v)) {
        return br_err_set(err, BR_EPARSE, "%u:%u: duration is NaN or infinite", d->start, d->end);
    }
    if (v <= 0 && !allow_negative) {
        return br_err_set(err, BR_EPARSE, "%u:%u: duration must be greater than 0", d->start,
                          d->end);
    }
    /* The bound a time.Duration (int64 nanoseconds) sets. */
    if (v > 9223372036.854775807 || v < -9223372036.854775808) {
        return br_err_set(err, BR_EPARSE, "%u:%u: duration is out of range", d->start, d->end);
    }
    /* time.Duration(v*1000) * time.Millisecond: truncated toward zero. */
    *out_ms = (int64_t)(v * 1000.0);
    return 0;
}
