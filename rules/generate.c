/*
 * generate.c — SLO definitions → Prometheus rules (`burnrate generate`,
 * /api/v1/rules). See generate.h for the groups and ownership.
 *
 * Where it sits: reads the SLO model (slo.h) only; api/rules_api.c lists
 * the same rules with the evaluator's state. Nothing here evaluates.
 *
 * Expressions, for window w and F = {sloth_id="..", sloth_service="..",
 * sloth_slo=".."} (labels as Sloth writes them):
 *   error ratio (occurrences budgeting), one recording per alert window and
 *   one for the period (named after it: ratio_rate30d, ratio_rate1w):
 *     bad + total   (BAD or (0 * TOTAL)) / (TOTAL)
 *     good + total  1 - ((GOOD or (0 * TOTAL)) / (TOTAL))
 *     raw           (TEMPLATE)
 *   where a side is, by source kind (grouping labels as `sum by (..)`):
 *     counter       sum(rate(SEL[w]))
 *     bool gauge    sum(sum_over_time(SEL[w])) for events (samples are 0/1),
 *                   sum(count_over_time(SEL[w])) for the total
 *     query         (TEMPLATE) with {{.window}} (any spacing) replaced by w
 *   The `or (0 * TOTAL)` makes a missing error (or good) series count as
 *   zero events instead of "no data", as the evaluator does; no traffic
 *   still gives 0/0 = NaN ("no data"). Departure from Sloth: the period
 *   window is the same ratio of sums over the whole period (Sloth's
 *   non-"optimized" form), not an average of 5m ratios, so Prometheus and
 *   burnrate agree; it costs Prometheus a range read over the period.
 *   The le filter of a counter source becomes a regex matcher accepting the
 *   usual spellings of the bound (br_generate_le_regex):
 *     le=~"0\\.5|0\\.50|5e-01|5e-1"
 *   Time-slice budgeting and threshold SLIs first record one series per
 *   slice length s (a sliding slice: Prometheus cannot align slices):
 *     slo:sli_value:slice         THRESHOLD: TEMPLATE at window s
 *     slo:sli_error:ratio_slice   EVENTS/RAW: the error ratio at window s,
 *                                 NaN (no traffic) dropped by `>= 0`
 *     slo:sli_slice_bad:bool      1 when the slice is bad: the value fails
 *                                 `op threshold`, or the slice ratio exceeds
 *                                 1 - slice_target
 *   and the windows are avg_over_time of the 0/1 series (or, for ratio
 *   time slices, of the slice ratio) over w: the share of bad time.
 *   Calendar periods are generated as rolling windows of their nominal
 *   length (Prometheus has no calendar windows).
 * Alerts: per severity, the enabled tiers' conditions `or`-ed as Sloth
 * writes them (short window first, so an alert's value is the short
 * window's error ratio):
 *     max(slo:sli_error:ratio_rate5m{F} > (14.4 * (1 - 0.999))) without (sloth_window)
 *     and max(slo:sli_error:ratio_rate1h{F} > ...) without (sloth_window)
 *   `for` is the shortest of the tiers' (one rule has one `for`). Escalation
 *   rules: budget drop (page) `burn(W) * (TOTAL(W) * W / (TOTAL(P) * P))
 *   > share` (bool gauges: TOTAL(W) / TOTAL(P), counts), value the share
 *   consumed: the errors in W over the errors the period's traffic allows,
 *   as the evaluator counts them (without a total side, e.g. raw SLIs, or
 *   with time slices, the workbook's approximation burn(W) * W / P);
 *   exhaustion (ticket) `remaining * P / burn(1h) < within > 0`, value the
 *   seconds left (an exhausted budget does not fire it). Disabling page
 *   (ticket) alerts also disables the budget-drop (exhaustion) rule.
 */
#include "generate.h"

#include "engine/core/alloc.h"
#include "engine/core/numfmt.h"
#include "engine/promql/ast.h"
#include "engine/promql/parser.h"
#include "engine/promql/selector.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HOUR_MS      (3600LL * 1000)
#define DAY_MS       (24 * HOUR_MS)
#define MAX_WINDOWS  16
#define MAX_RULES    (MAX_WINDOWS + 8)
#define WINDOW_LABEL "sloth_window"

/* ------------------------------------------------------------------------ */
/* Build state                                                              */
/* ------------------------------------------------------------------------ */

typedef struct kvlist {
    br_kv *v; /* heap while building */
    size_t n;
    size_t cap;
} kvlist;

typedef struct gen {
    const br_slo_def *d;
    br_arena *arena;  /* results */
    br_arena scratch; /* parser nodes, reset per rule */
    br_err *err;
    int rc;                       /* first error; later steps are skipped */
    const char *filter;           /* {sloth_id="..", sloth_service="..", sloth_slo=".."} */
    const char *budget;           /* (1 - 0.999) */
    kvlist base;                  /* sloth ids + SLO labels */
    int64_t windows[MAX_WINDOWS]; /* alert windows, ascending, without the period */
    size_t n_windows;
    int64_t period_ms;
} gen;

typedef struct group_builder {
    br_gen_group *g;
    size_t cap;
} group_builder;

static int fail(gen *g, int code, const char *fmt, const char *a, const char *b)
{
    if (g->rc == 0) {
        char msg[BR_ERR_MSG_SIZE];
        /* Long user text is cut to fit the message. */
        if (snprintf(msg, sizeof(msg), fmt, a ? a : "", b ? b : "") < 0) {
            msg[0] = '\0';
        }
        g->rc = br_err_setpos(g->err, code, g->d->file, g->d->line, 0, "SLO %s: %s", g->d->id, msg);
    }
    return g->rc;
}

static const char *keep(gen *g, const char *s, size_t len)
{
    char *p = br_arena_strndup(g->arena, s, len);
    if (p == NULL) {
        fail(g, BR_ELIMIT, "out of memory for the generated rules (arena cap)%s%s", NULL, NULL);
        return "";
    }
    return p;
}

static const char *keep_buf(gen *g, const br_buf *b)
{
    return keep(g, br_buf_str(b), b->len);
}

static void *keep_array(gen *g, size_t n, size_t size)
{
    void *p = br_arena_calloc(g->arena, n ? n : 1, size);
    if (p == NULL) {
        fail(g, BR_ELIMIT, "out of memory for the generated rules (arena cap)%s%s", NULL, NULL);
    }
    return p;
}

/* ------------------------------------------------------------------------ */
/* Small formatting helpers                                                 */
/* ------------------------------------------------------------------------ */

/* Prometheus' duration text ("5m", "30d", "1w", "1h30m"). */
static void put_duration(br_buf *out, int64_t ms)
{
    br_promql_print_duration(ms, out);
}

/* A number: the shortest text that reads back exactly (0.02 * 720 → 14.4),
 * so Prometheus compares with the same doubles as the evaluator. */
static void put_exact(br_buf *out, double v)
{
    char tmp[BR_FLOAT_BUF];
    br_buf_puts(out, br_format_float(v, tmp, sizeof(tmp)));
}

/* A PromQL double-quoted string literal. */
static void put_promql_string(br_buf *out, const char *s)
{
    br_buf_putc(out, '"');
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            br_buf_putc(out, '\\');
            br_buf_putc(out, (char)c);
        } else if (c == '\n') {
            br_buf_puts(out, "\\n");
        } else if (c < 0x20 || c == 0x7f) {
            br_buf_printf(out, "\\x%02x", c);
        } else {
            br_buf_putc(out, (char)c);
        }
    }
    br_buf_putc(out, '"');
}

static bool valid_label_name(const char *s)
{
    if (s == NULL || !(isalpha((unsigned char)s[0]) || s[0] == '_')) {
        return false;
    }
    for (const char *p = s + 1; *p; p++) {
        if (!(isalnum((unsigned char)*p) || *p == '_')) {
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Label lists                                                              */
/* ------------------------------------------------------------------------ */

/* Sets k to v; a later value for the same key wins. */
static void kv_put(kvlist *l, const char *k, const char *v)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].key, k) == 0) {
            l->v[i].value = v;
            return;
        }
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = br_realloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n].key = k;
    l->v[l->n].value = v;
    l->n++;
}

static int kv_put_all(gen *g, kvlist *l, const br_kv *kv, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        if (!valid_label_name(kv[i].key)) {
            return fail(g, BR_EINVAL, "%s name \"%s\" is not a valid Prometheus label name", what,
                        kv[i].key);
        }
        kv_put(l, kv[i].key, kv[i].value ? kv[i].value : "");
    }
    return 0;
}

static void kv_copy(kvlist *dst, const kvlist *src)
{
    for (size_t i = 0; i < src->n; i++) {
        kv_put(dst, src->v[i].key, src->v[i].value);
    }
}

static int kv_cmp(const void *a, const void *b)
{
    return strcmp(((const br_kv *)a)->key, ((const br_kv *)b)->key);
}

/* Copies the list into the arena sorted by key and empties it. */
static br_kv *kv_finish(gen *g, kvlist *l, size_t *n)
{
    br_kv *out = keep_array(g, l->n, sizeof(br_kv));
    *n = 0;
    if (out != NULL) {
        for (size_t i = 0; i < l->n; i++) {
            out[i].key = keep(g, l->v[i].key, strlen(l->v[i].key));
            out[i].value = keep(g, l->v[i].value, strlen(l->v[i].value));
        }
        qsort(out, l->n, sizeof(br_kv), kv_cmp);
        *n = l->n;
    }
    br_free(l->v);
    memset(l, 0, sizeof(*l));
    return out;
}

static void kv_free(kvlist *l)
{
    br_free(l->v);
    memset(l, 0, sizeof(*l));
}

/* ------------------------------------------------------------------------ */
/* le spellings                                                             */
/* ------------------------------------------------------------------------ */

static size_t append_regex_literal(char *out, size_t o, size_t size, const char *s)
{
    for (; *s != '\0' && o + 3 < size; s++) {
        if (*s == '.' || *s == '+') {
            out[o++] = '\\';
        }
        out[o++] = *s;
    }
    out[o] = '\0';
    return o;
}

const char *br_generate_le_regex(double le, char *out, size_t size)
{
    if (size == 0) {
        return out;
    }
    out[0] = '\0';
    if (isinf(le)) {
        snprintf(out, size, le > 0 ? "\\+Inf" : "-Inf");
        return out;
    }
    char forms[5][64];
    size_t n = 0;
    /* Shortest decimal: "0.5", "1", "0.005". */
    char shortest[BR_FLOAT_BUF];
    br_format_float(le, shortest, sizeof(shortest));
    snprintf(forms[n++], sizeof(forms[0]), "%s", shortest);
    /* One more zero: "0.50", "1.0". */
    if (strchr(shortest, 'e') == NULL) {
        snprintf(forms[n++], sizeof(forms[0]), "%s%s", shortest,
                 strchr(shortest, '.') != NULL ? "0" : ".0");
    }
    /* Exponent forms: C's (and Go's %e) "5e-01", and "5e-1". */
    char sci[48];
    for (int p = 0; p <= 16; p++) {
        snprintf(sci, sizeof(sci), "%.*e", p, le);
        if (strtod(sci, NULL) == le) {
            break;
        }
    }
    snprintf(forms[n++], sizeof(forms[0]), "%s", sci);
    char *e = strchr(sci, 'e');
    if (e != NULL && e[1] == '-' && e[2] == '0' && e[3] != '\0') {
        /* Drop the exponent's leading zero: "5e-01" → "5e-1". */
        snprintf(forms[n++], sizeof(forms[0]), "%.*se-%s", (int)(e - sci), sci, e + 3);
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        bool dup = false;
        for (size_t j = 0; j < i; j++) {
            dup = dup || strcmp(forms[i], forms[j]) == 0;
        }
        if (dup) {
            continue;
        }
        if (o > 0 && o + 2 < size) {
            out[o++] = '|';
            out[o] = '\0';
        }
        o = append_regex_literal(out, o, size, forms[i]);
    }
    return out;
}

/* ------------------------------------------------------------------------ */
/* SLI expressions                                                          */
/* ------------------------------------------------------------------------ */

/* Appends tpl with every {{.window}} ({{ .window }}, ...) replaced. */
static void render_template(br_buf *out, const char *tpl, const char *window)
{
    const char *p = tpl;
    while (*p != '\0') {
        const char *open = strstr(p, "{{");
        if (open == NULL) {
            br_buf_puts(out, p);
            return;
        }
        br_buf_append(out, p, (size_t)(open - p));
        const char *q = open + 2;
        while (*q == ' ') {
            q++;
        }
        if (strncmp(q, ".window", 7) == 0) {
            q += 7;
            while (*q == ' ') {
                q++;
            }
            if (q[0] == '}' && q[1] == '}') {
                br_buf_puts(out, window);
                p = q + 2;
                continue;
            }
        }
        br_buf_puts(out, "{{");
        p = open + 2;
    }
}

/* Trims a user expression's surrounding white space into out. */
static void put_trimmed(br_buf *out, const char *s)
{
    while (isspace((unsigned char)*s)) {
        s++;
    }
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) {
        n--;
    }
    br_buf_append(out, s, n);
}

/* The selector of a counter or bool-gauge source, with the le matcher. */
static int put_selector(gen *g, br_buf *out, const br_event_source *src)
{
    br_selector sel;
    br_err perr;
    br_err_clear(&perr);
    br_buf text;
    br_buf_init(&text, 0);
    put_trimmed(&text, src->expr);
    if (br_selector_parse(br_buf_str(&text), &sel, &perr) != 0) {
        br_buf_free(&text);
        return fail(g, BR_EINVAL, "selector %s: %s", src->expr, perr.msg);
    }
    bool has_le = false;
    for (size_t i = 0; i < sel.n; i++) {
        has_le = has_le || strcmp(sel.matchers[i].name, "le") == 0;
    }
    br_selector_free(&sel);
    if (isnan(src->le)) {
        br_buf_append(out, text.data, text.len);
        br_buf_free(&text);
        return 0;
    }
    if (has_le) {
        br_buf_free(&text);
        return fail(g, BR_EINVAL, "selector %s matches on le while the source sets an le bound%s",
                    src->expr, NULL);
    }
    char re[512];
    br_generate_le_regex(src->le, re, sizeof(re));
    br_buf m;
    br_buf_init(&m, 0);
    br_buf_puts(&m, "le=~");
    put_promql_string(&m, re);
    const char *t = br_buf_str(&text);
    size_t n = text.len;
    if (n > 0 && t[n - 1] == '}') {
        /* Insert before the closing brace, after the last matcher. */
        size_t k = n - 1;
        while (k > 0 && isspace((unsigned char)t[k - 1])) {
            k--;
        }
        br_buf_append(out, t, k);
        if (k > 0 && t[k - 1] != '{' && t[k - 1] != ',') {
            br_buf_putc(out, ',');
        }
        br_buf_append(out, m.data, m.len);
        br_buf_putc(out, '}');
    } else {
        br_buf_append(out, t, n);
        br_buf_putc(out, '{');
        br_buf_append(out, m.data, m.len);
        br_buf_putc(out, '}');
    }
    br_buf_free(&m);
    br_buf_free(&text);
    return 0;
}

static void put_sum_open(gen *g, br_buf *out)
{
    if (g->d->n_grouping == 0) {
        br_buf_puts(out, "sum(");
        return;
    }
    br_buf_puts(out, "sum by (");
    for (size_t i = 0; i < g->d->n_grouping; i++) {
        br_buf_printf(out, "%s%s", i ? ", " : "", g->d->grouping[i]);
    }
    br_buf_puts(out, ") (");
}

/* One side of an events SLI over window w. */
static int put_side(gen *g, br_buf *out, const br_event_source *src, bool total, const char *w)
{
    switch (src->kind) {
    case BR_SOURCE_COUNTER:
    case BR_SOURCE_BOOL_GAUGE: {
        const char *fn = src->kind == BR_SOURCE_COUNTER ? "rate("
                         : total                        ? "count_over_time("
                                                        : "sum_over_time(";
        put_sum_open(g, out);
        br_buf_puts(out, fn);
        if (put_selector(g, out, src) != 0) {
            return g->rc;
        }
        br_buf_printf(out, "[%s]))", w);
        return 0;
    }
    case BR_SOURCE_QUERY: {
        br_buf t;
        br_buf_init(&t, 0);
        render_template(&t, src->expr, w);
        br_buf_putc(out, '(');
        put_trimmed(out, br_buf_str(&t));
        br_buf_putc(out, ')');
        br_buf_free(&t);
        return 0;
    }
    case BR_SOURCE_NONE:
        break;
    }
    return fail(g, BR_EINVAL, "an SLI event source is missing%s%s", NULL, NULL);
}

/* The error ratio over window w from the raw sources (occurrences). */
static int put_error_ratio(gen *g, br_buf *out, const char *w)
{
    const br_sli *sli = &g->d->sli;
    if (sli->kind == BR_SLI_RAW || sli->kind == BR_SLI_THRESHOLD) {
        br_buf t;
        br_buf_init(&t, 0);
        render_template(&t, sli->query, w);
        br_buf_putc(out, '(');
        put_trimmed(out, br_buf_str(&t));
        br_buf_putc(out, ')');
        br_buf_free(&t);
        return 0;
    }
    bool good = sli->bad.kind == BR_SOURCE_NONE;
    const br_event_source *events = good ? &sli->good : &sli->bad;
    br_buf ev;
    br_buf tot;
    br_buf_init(&ev, 0);
    br_buf_init(&tot, 0);
    if (put_side(g, &ev, events, false, w) == 0 && put_side(g, &tot, &sli->total, true, w) == 0) {
        if (good) {
            br_buf_puts(out, "1 - (\n");
        }
        br_buf_printf(out, "(%s or (0 * %s))\n/\n(%s)", br_buf_str(&ev), br_buf_str(&tot),
                      br_buf_str(&tot));
        if (good) {
            br_buf_puts(out, "\n)");
        }
    }
    br_buf_free(&ev);
    br_buf_free(&tot);
    return g->rc;
}

/* ------------------------------------------------------------------------ */
/* Rules                                                                    */
/* ------------------------------------------------------------------------ */

/* Appends a group slot to out. The array's capacity is the next power of
 * two of its length, so growing it copies O(n) in total. */
static br_gen_group *push_group(gen *g, br_gen_rules *out)
{
    size_t n = out->n_groups;
    if (n == 0 || (n & (n - 1)) == 0) {
        br_gen_group *groups = keep_array(g, n ? 2 * n : 4, sizeof(*groups));
        if (groups == NULL) {
            return NULL;
        }
        if (n > 0) {
            memcpy(groups, out->groups, n * sizeof(*groups));
        }
        out->groups = groups;
    }
    br_gen_group *slot = &out->groups[out->n_groups++];
    memset(slot, 0, sizeof(*slot));
    return slot;
}

static void group_start(gen *g, group_builder *gb, br_gen_rules *out, br_gen_group_kind kind,
                        const char *prefix)
{
    gb->g = NULL;
    gb->cap = MAX_RULES;
    br_gen_rule *rules = keep_array(g, MAX_RULES, sizeof(*rules));
    br_gen_group *slot = rules != NULL ? push_group(g, out) : NULL;
    if (slot == NULL) {
        return;
    }
    gb->g = slot;
    char name[512];
    snprintf(name, sizeof(name), "%s%s", prefix, g->d->id);
    gb->g->name = keep(g, name, strlen(name));
    gb->g->kind = kind;
    gb->g->def = g->d;
    gb->g->rules = rules;
}

/* Parses expr (validation) and prints it on one line into *query. */
static int check_expr(gen *g, const char *name, const char *expr, const char **query)
{
    br_promql_node *root = NULL;
    br_err perr;
    br_err_clear(&perr);
    br_arena_reset(&g->scratch);
    int rc = br_promql_parse(expr, &g->scratch, &root, &perr);
    if (rc != 0) {
        char msg[BR_ERR_MSG_SIZE + 32];
        if (snprintf(msg, sizeof(msg), "%d:%d: %s", perr.line, perr.col, perr.msg) < 0) {
            msg[0] = '\0';
        }
        return fail(g, BR_EINVAL, "rule %s does not parse: %s", name, msg);
    }
    br_buf b;
    br_buf_init(&b, 0);
    br_promql_print(root, &b);
    br_promql_ast_free(root);
    *query = keep_buf(g, &b);
    br_buf_free(&b);
    return g->rc;
}

typedef struct rule_spec {
    br_gen_rule_kind kind;
    const char *name;
    br_buf *expr;
    kvlist *labels;
    kvlist *annotations;
    int64_t for_ms;
    int64_t keep_firing_for_ms;
    const char *alert_kind;
    const char *severity;
} rule_spec;

static int add_rule(gen *g, group_builder *gb, const rule_spec *s)
{
    if (g->rc != 0 || gb->g == NULL) {
        return g->rc;
    }
    if (gb->g->n_rules >= gb->cap) {
        return fail(g, BR_ELIMIT, "too many rules in group %s%s", gb->g->name, NULL);
    }
    br_gen_rule *r = &gb->g->rules[gb->g->n_rules];
    memset(r, 0, sizeof(*r));
    r->kind = s->kind;
    r->name = keep(g, s->name, strlen(s->name));
    r->expr = keep_buf(g, s->expr);
    if (check_expr(g, s->name, r->expr, &r->query) != 0) {
        return g->rc;
    }
    kvlist l = {0};
    kv_copy(&l, s->labels);
    r->labels = kv_finish(g, &l, &r->n_labels);
    if (s->annotations != NULL) {
        kvlist a = {0};
        kv_copy(&a, s->annotations);
        r->annotations = kv_finish(g, &a, &r->n_annotations);
    }
    r->for_ms = s->for_ms;
    r->keep_firing_for_ms = s->keep_firing_for_ms;
    r->alert_kind = s->alert_kind;
    r->severity = s->severity;
    gb->g->n_rules++;
    return g->rc;
}

static int add_record(gen *g, group_builder *gb, const char *name, br_buf *expr, kvlist *labels)
{
    rule_spec s = {.kind = BR_GEN_RECORD, .name = name, .expr = expr, .labels = labels};
    return add_rule(g, gb, &s);
}

static void window_name(char *out, size_t size, const char *prefix, int64_t ms)
{
    br_buf b;
    br_buf_init(&b, 0);
    br_buf_puts(&b, prefix);
    put_duration(&b, ms);
    snprintf(out, size, "%s", br_buf_str(&b));
    br_buf_free(&b);
}

static const char *threshold_fail_op(br_threshold_op op)
{
    switch (op) {
    case BR_OP_LT:
        return ">=";
    case BR_OP_LE:
        return ">";
    case BR_OP_GT:
        return "<=";
    case BR_OP_GE:
        return "<";
    }
    return ">=";
}

/* Which series the windows of a time-slice SLO average. */
static const char *slice_series(const gen *g)
{
    if (g->d->sli.kind != BR_SLI_THRESHOLD && g->d->budgeting == BR_BUDGET_RATIO_TIMESLICES) {
        return "slo:sli_error:ratio_slice";
    }
    return "slo:sli_slice_bad:bool";
}

static bool uses_slices(const gen *g)
{
    return g->d->sli.kind == BR_SLI_THRESHOLD || g->d->budgeting != BR_BUDGET_OCCURRENCES;
}

static int build_slice_rules(gen *g, group_builder *gb)
{
    char slice[64];
    window_name(slice, sizeof(slice), "", g->d->slice_ms);
    kvlist labels = {0};
    kv_copy(&labels, &g->base);
    kv_put(&labels, WINDOW_LABEL, slice);
    br_buf e;
    br_buf_init(&e, 0);
    if (g->d->sli.kind == BR_SLI_THRESHOLD) {
        render_template(&e, g->d->sli.query, slice);
        br_buf t;
        br_buf_init(&t, 0);
        put_trimmed(&t, br_buf_str(&e));
        add_record(g, gb, "slo:sli_value:slice", &t, &labels);
        br_buf_free(&t);
        br_buf_reset(&e);
        br_buf_printf(&e, "slo:sli_value:slice%s %s bool ", g->filter,
                      threshold_fail_op(g->d->sli.op));
        put_exact(&e, g->d->sli.threshold);
        add_record(g, gb, "slo:sli_slice_bad:bool", &e, &labels);
    } else {
        br_buf_putc(&e, '(');
        put_error_ratio(g, &e, slice);
        br_buf_puts(&e, ")\n>= 0");
        add_record(g, gb, "slo:sli_error:ratio_slice", &e, &labels);
        if (g->d->budgeting == BR_BUDGET_TIMESLICES) {
            br_buf_reset(&e);
            br_buf_printf(&e, "slo:sli_error:ratio_slice%s > bool (1 - ", g->filter);
            put_exact(&e, g->d->slice_target);
            br_buf_putc(&e, ')');
            add_record(g, gb, "slo:sli_slice_bad:bool", &e, &labels);
        }
    }
    br_buf_free(&e);
    kv_free(&labels);
    return g->rc;
}

static int build_sli_group(gen *g, br_gen_rules *out)
{
    group_builder gb;
    group_start(g, &gb, out, BR_GEN_GROUP_SLI, "sloth-slo-sli-recordings-");
    if (uses_slices(g)) {
        build_slice_rules(g, &gb);
    }
    int64_t all[MAX_WINDOWS + 1];
    memcpy(all, g->windows, g->n_windows * sizeof(int64_t));
    all[g->n_windows] = g->period_ms;
    for (size_t i = 0; i <= g->n_windows && g->rc == 0; i++) {
        char w[64];
        char name[128];
        window_name(w, sizeof(w), "", all[i]);
        snprintf(name, sizeof(name), "slo:sli_error:ratio_rate%s", w);
        br_buf e;
        br_buf_init(&e, 0);
        if (uses_slices(g)) {
            br_buf_printf(&e, "avg_over_time(%s%s[%s])", slice_series(g), g->filter, w);
        } else {
            put_error_ratio(g, &e, w);
        }
        kvlist labels = {0};
        kv_copy(&labels, &g->base);
        kv_put(&labels, WINDOW_LABEL, w);
        add_record(g, &gb, name, &e, &labels);
        kv_free(&labels);
        br_buf_free(&e);
    }
    return g->rc;
}

static const char *spec_name(br_slo_format f)
{
    switch (f) {
    case BR_SLO_FORMAT_BURNRATE:
        return "burnrate/v1";
    case BR_SLO_FORMAT_SLOTH:
        return "prometheus/v1";
    case BR_SLO_FORMAT_PYRRA:
        return "pyrra.dev/v1alpha1";
    case BR_SLO_FORMAT_OPENSLO:
        return "openslo/v1";
    }
    return "unknown";
}

static int build_meta_group(gen *g, br_gen_rules *out)
{
    group_builder gb;
    group_start(g, &gb, out, BR_GEN_GROUP_META, "sloth-slo-meta-recordings-");
    const char *on = "on(sloth_id, sloth_slo, sloth_service) group_left";
    char shortest[64];
    char period[64];
    window_name(shortest, sizeof(shortest), "", g->windows[0]);
    window_name(period, sizeof(period), "", g->period_ms);
    br_buf e;
    br_buf_init(&e, 0);

    br_buf_puts(&e, "vector(");
    put_exact(&e, g->d->objective);
    br_buf_putc(&e, ')');
    add_record(g, &gb, "slo:objective:ratio", &e, &g->base);

    br_buf_reset(&e);
    br_buf_puts(&e, "vector(1-");
    put_exact(&e, g->d->objective);
    br_buf_putc(&e, ')');
    add_record(g, &gb, "slo:error_budget:ratio", &e, &g->base);

    br_buf_reset(&e);
    br_buf_puts(&e, "vector(");
    put_exact(&e, (double)g->period_ms / (double)DAY_MS);
    br_buf_putc(&e, ')');
    add_record(g, &gb, "slo:time_period:days", &e, &g->base);

    br_buf_reset(&e);
    br_buf_printf(&e, "slo:sli_error:ratio_rate%s%s\n/ %s\nslo:error_budget:ratio%s", shortest,
                  g->filter, on, g->filter);
    add_record(g, &gb, "slo:current_burn_rate:ratio", &e, &g->base);

    br_buf_reset(&e);
    br_buf_printf(&e, "slo:sli_error:ratio_rate%s%s\n/ %s\nslo:error_budget:ratio%s", period,
                  g->filter, on, g->filter);
    add_record(g, &gb, "slo:period_burn_rate:ratio", &e, &g->base);

    br_buf_reset(&e);
    br_buf_printf(&e, "1 - slo:period_burn_rate:ratio%s", g->filter);
    add_record(g, &gb, "slo:period_error_budget_remaining:ratio", &e, &g->base);

    br_buf_reset(&e);
    br_buf_puts(&e, "vector(1)");
    kvlist info = {0};
    kv_copy(&info, &g->base);
    char objective[48];
    snprintf(objective, sizeof(objective), "%.12g", g->d->objective * 100.0);
    kv_put(&info, "sloth_mode", "cli-gen-prom");
    kv_put(&info, "sloth_objective", objective);
    kv_put(&info, "sloth_spec", spec_name(g->d->format));
    kv_put(&info, "sloth_version", "burnrate-" BR_VERSION);
    add_record(g, &gb, "sloth_slo_info", &e, &info);
    kv_free(&info);
    br_buf_free(&e);
    return g->rc;
}

const char *br_generate_alert_name(const br_slo_def *d, const char *kind, char *out, size_t size)
{
    char base[256];
    if (d->alerting.name != NULL && d->alerting.name[0] != '\0') {
        snprintf(base, sizeof(base), "%s", d->alerting.name);
    } else {
        size_t o = 0;
        const char *parts[2] = {d->service ? d->service : "", d->name ? d->name : ""};
        for (int i = 0; i < 2; i++) {
            bool up = true;
            for (const char *p = parts[i]; *p != '\0' && o + 1 < sizeof(base); p++) {
                if (!isalnum((unsigned char)*p)) {
                    up = true;
                    continue;
                }
                base[o++] = up ? (char)toupper((unsigned char)*p) : *p;
                up = false;
            }
        }
        base[o] = '\0';
        snprintf(base + o, sizeof(base) - o, "HighErrorRate");
    }
    const char *suffix = "";
    if (kind != NULL && strcmp(kind, "budget_drop") == 0) {
        suffix = "BudgetDrop";
    } else if (kind != NULL && strcmp(kind, "budget_low") == 0) {
        suffix = "BudgetLow";
    } else if (kind != NULL && strcmp(kind, "no_data") == 0) {
        suffix = "NoData";
    } else if (kind != NULL && strcmp(kind, "absent") == 0) {
        suffix = "SeriesAbsent";
    } else if (kind != NULL && strcmp(kind, "exhaustion") == 0) {
        suffix = "BudgetExhaustion";
    }
    snprintf(out, size, "%s%s", base, suffix);
    return out;
}

/* Labels and annotations of the SLO's alerts of one severity. */
static int alert_meta(gen *g, const char *severity, kvlist *labels, kvlist *annotations)
{
    const br_slo_alerting *a = &g->d->alerting;
    bool page = strcmp(severity, "page") == 0;
    kv_put(labels, "severity", severity);
    kv_put(labels, "sloth_severity", severity);
    kv_put_all(g, labels, a->labels, a->n_labels, "alert label");
    if (page) {
        kv_put_all(g, labels, a->page_labels, a->n_page_labels, "page alert label");
    } else {
        kv_put_all(g, labels, a->ticket_labels, a->n_ticket_labels, "ticket alert label");
    }
    kv_put_all(g, annotations, a->annotations, a->n_annotations, "alert annotation");
    if (page) {
        kv_put_all(g, annotations, a->page_annotations, a->n_page_annotations,
                   "page alert annotation");
    } else {
        kv_put_all(g, annotations, a->ticket_annotations, a->n_ticket_annotations,
                   "ticket alert annotation");
    }
    if (a->runbook_url != NULL && a->runbook_url[0] != '\0') {
        kv_put(annotations, "runbook_url", a->runbook_url);
    }
    return g->rc;
}

/* Writes a duration as a number of seconds (or ms when not whole). */
static void put_duration_number(br_buf *out, int64_t ms)
{
    if (ms % 1000 == 0) {
        br_buf_printf(out, "%lld", (long long)(ms / 1000));
    } else {
        br_buf_printf(out, "%lld / 1000", (long long)ms);
    }
}

/* "on(handler)" for the grouping labels, "on()" without grouping. */
static void put_on_grouping(const gen *g, br_buf *out)
{
    br_buf_puts(out, "on(");
    for (size_t i = 0; i < g->d->n_grouping; i++) {
        br_buf_printf(out, "%s%s", i ? ", " : "", g->d->grouping[i]);
    }
    br_buf_putc(out, ')');
}

static int build_burn_alert(gen *g, group_builder *gb, const char *severity)
{
    const br_slo_alerting *a = &g->d->alerting;
    br_buf e;
    br_buf_init(&e, 0);
    size_t used = 0;
    int64_t for_ms = -1;
    for (size_t i = 0; i < a->n_tiers; i++) {
        const br_burn_tier *t = &a->tiers[i];
        if (t->disabled || t->severity == NULL || strcmp(t->severity, severity) != 0) {
            continue;
        }
        char sw[64];
        char lw[64];
        window_name(sw, sizeof(sw), "", t->short_window_ms);
        window_name(lw, sizeof(lw), "", t->long_window_ms);
        br_buf thr;
        br_buf_init(&thr, 0);
        br_buf_putc(&thr, '(');
        put_exact(&thr, t->factor);
        br_buf_printf(&thr, " * %s)", g->budget);
        if (used > 0) {
            br_buf_puts(&e, "\nor\n");
        }
        br_buf_printf(&e,
                      "(\n"
                      "    max(slo:sli_error:ratio_rate%s%s > %s) without (" WINDOW_LABEL ")\n"
                      "    and\n"
                      "    max(slo:sli_error:ratio_rate%s%s > %s) without (" WINDOW_LABEL ")",
                      sw, g->filter, br_buf_str(&thr), lw, g->filter, br_buf_str(&thr));
        br_buf_free(&thr);
        if (a->min_events > 0 && g->d->sli.kind == BR_SLI_EVENTS) {
            /* Low traffic: valid events in the long window, counted from
             * the total source, must reach min_events. */
            br_buf_puts(&e, "\n    and ");
            put_on_grouping(g, &e);
            br_buf_puts(&e, "\n    (");
            put_side(g, &e, &g->d->sli.total, true, lw);
            if (g->d->sli.total.kind != BR_SOURCE_BOOL_GAUGE) {
                br_buf_puts(&e, " * ");
                put_duration_number(&e, t->long_window_ms);
            }
            br_buf_puts(&e, " >= ");
            put_exact(&e, a->min_events);
            br_buf_putc(&e, ')');
        }
        br_buf_puts(&e, "\n)");
        if (for_ms < 0 || t->for_ms < for_ms) {
            for_ms = t->for_ms;
        }
        used++;
    }
    if (used > 0 && a->inhibit_tickets && strcmp(severity, "ticket") == 0 && !a->page_disabled) {
        /* Inhibited while the page alert of the same instance fires. */
        char page_name[300];
        br_generate_alert_name(g->d, "burn_rate", page_name, sizeof(page_name));
        br_buf inner;
        br_buf_init(&inner, 0);
        br_buf_printf(&inner, "(\n%s\n)\nunless on(sloth_id", br_buf_str(&e));
        for (size_t i = 0; i < g->d->n_grouping; i++) {
            br_buf_printf(&inner, ", %s", g->d->grouping[i]);
        }
        br_buf_puts(&inner, ") ALERTS{alertname=");
        put_promql_string(&inner, page_name);
        br_buf_puts(&inner, ", severity=\"page\", alertstate=\"firing\"}");
        br_buf_reset(&e);
        br_buf_puts(&e, br_buf_str(&inner));
        br_buf_free(&inner);
    }
    if (used > 0) {
        kvlist labels = {0};
        kvlist ann = {0};
        char title[160];
        snprintf(title, sizeof(title),
                 "(%s) {{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate "
                 "is too fast.",
                 severity);
        kv_put(&ann, "title", title);
        kv_put(&ann, "summary",
               "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is "
               "over expected.");
        alert_meta(g, severity, &labels, &ann);
        char name[300];
        br_generate_alert_name(g->d, "burn_rate", name, sizeof(name));
        rule_spec s = {.kind = BR_GEN_ALERT,
                       .name = name,
                       .expr = &e,
                       .labels = &labels,
                       .annotations = &ann,
                       .for_ms = for_ms > 0 ? for_ms : 0,
                       .keep_firing_for_ms = a->keep_firing_for_ms,
                       .alert_kind = "burn_rate",
                       .severity = strcmp(severity, "page") == 0 ? "page" : "ticket"};
        add_rule(g, gb, &s);
        kv_free(&labels);
        kv_free(&ann);
    }
    br_buf_free(&e);
    return g->rc;
}

/* Whether the evaluator counts this SLO's budget in events (an events SLI
 * with a total side, occurrences budgeting). */
static bool counts_events(const gen *g)
{
    return g->d->sli.kind == BR_SLI_EVENTS && g->d->budgeting == BR_BUDGET_OCCURRENCES &&
           g->d->sli.total.kind != BR_SOURCE_NONE;
}

/* Adds one escalation alert (budget drop, exhaustion, budget low, no
 * data): expr, a title and a summary annotation, the SLO's labels and
 * annotations for the severity. */
static void add_escalation(gen *g, group_builder *gb, const char *kind, const char *severity,
                           br_buf *expr, const char *title, const char *summary)
{
    kvlist labels = {0};
    kvlist ann = {0};
    kv_put(&ann, "title", title);
    kv_put(&ann, "summary", summary);
    alert_meta(g, severity, &labels, &ann);
    char name[300];
    br_generate_alert_name(g->d, kind, name, sizeof(name));
    rule_spec s = {.kind = BR_GEN_ALERT,
                   .name = name,
                   .expr = expr,
                   .labels = &labels,
                   .annotations = &ann,
                   .keep_firing_for_ms = g->d->alerting.keep_firing_for_ms,
                   .alert_kind = kind,
                   .severity = severity};
    add_rule(g, gb, &s);
    kv_free(&labels);
    kv_free(&ann);
}

static int build_escalations(gen *g, group_builder *gb)
{
    const br_slo_alerting *a = &g->d->alerting;
    char period_s[64];
    window_name(period_s, sizeof(period_s), "", g->period_ms);
    if (a->budget_drop_ratio > 0 && a->budget_drop_window_ms > 0 && !a->page_disabled) {
        char w[64];
        window_name(w, sizeof(w), "", a->budget_drop_window_ms);
        br_buf e;
        br_buf_init(&e, 0);
        br_buf_printf(&e, "max(slo:sli_error:ratio_rate%s%s) without (" WINDOW_LABEL ")\n/ %s", w,
                      g->filter, g->budget);
        if (counts_events(g)) {
            /* As the evaluator counts it: the errors in W over the errors
             * the period's traffic allows = burn(W) * traffic(W) /
             * traffic(P). Counter and query sides are per-second rates,
             * bool-gauge totals are sample counts. */
            bool rates = g->d->sli.total.kind != BR_SOURCE_BOOL_GAUGE;
            char pw[64];
            window_name(pw, sizeof(pw), "", g->period_ms);
            br_buf_puts(&e, "\n* ");
            put_on_grouping(g, &e);
            br_buf_puts(&e, " group_left()\n(\n");
            put_side(g, &e, &g->d->sli.total, true, w);
            if (rates) {
                br_buf_puts(&e, " * ");
                put_duration_number(&e, a->budget_drop_window_ms);
            }
            br_buf_puts(&e, "\n/\n(");
            put_side(g, &e, &g->d->sli.total, true, pw);
            if (rates) {
                br_buf_puts(&e, " * ");
                put_duration_number(&e, g->period_ms);
            }
            br_buf_puts(&e, ")\n)");
        } else {
            /* The workbook's approximation: burn(W) * W / P. */
            br_buf_puts(&e, " * ");
            put_duration_number(&e, a->budget_drop_window_ms);
            br_buf_puts(&e, " / ");
            put_duration_number(&e, g->period_ms);
        }
        br_buf_puts(&e, "\n> ");
        put_exact(&e, a->budget_drop_ratio);
        char pct[48];
        snprintf(pct, sizeof(pct), "%.12g%%", a->budget_drop_ratio * 100.0);
        char summary[300];
        snprintf(summary, sizeof(summary),
                 "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO consumed more than %s of "
                 "its %s error budget in %s.",
                 pct, period_s, w);
        add_escalation(g, gb, "budget_drop", "page", &e,
                       "(page) {{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget is "
                       "dropping fast.",
                       summary);
        br_buf_free(&e);
    }
    if (a->exhaustion_within_ms > 0 && !a->ticket_disabled) {
        char within[64];
        window_name(within, sizeof(within), "", a->exhaustion_within_ms);
        br_buf e;
        br_buf_init(&e, 0);
        /* Both sides without sloth_window: the remaining-budget series
         * inherits sloth_window from the period ratio (group_left), the
         * 1h ratio has its own, so one-to-one matching needs them gone.
         * `> 0`: an exhausted budget is not "projected to exhaust". */
        br_buf_printf(
            &e, "max(slo:period_error_budget_remaining:ratio%s) without (" WINDOW_LABEL ") * ",
            g->filter);
        put_duration_number(&e, g->period_ms);
        br_buf_printf(&e,
                      "\n/ (max(slo:sli_error:ratio_rate1h%s) without (" WINDOW_LABEL ") / %s)\n< ",
                      g->filter, g->budget);
        put_duration_number(&e, a->exhaustion_within_ms);
        br_buf_puts(&e, " > 0");
        char summary[300];
        snprintf(summary, sizeof(summary),
                 "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO will exhaust its error "
                 "budget in less than %s at the current (1h) burn rate.",
                 within);
        add_escalation(g, gb, "exhaustion", "ticket", &e,
                       "(ticket) {{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget "
                       "exhaustion is near.",
                       summary);
        br_buf_free(&e);
    }
    if (a->budget_low_ratio > 0 && !a->ticket_disabled) {
        br_buf e;
        br_buf_init(&e, 0);
        br_buf_printf(
            &e, "max(slo:period_error_budget_remaining:ratio%s) without (" WINDOW_LABEL ") < ",
            g->filter);
        put_exact(&e, a->budget_low_ratio);
        char summary[300];
        snprintf(summary, sizeof(summary),
                 "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO has less than %.12g%% of "
                 "its error budget left.",
                 a->budget_low_ratio * 100.0);
        add_escalation(
            g, gb, "budget_low", "ticket", &e,
            "(ticket) {{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget is low.",
            summary);
        br_buf_free(&e);
    }
    if (a->no_data_for_ms > 0 && !a->ticket_disabled) {
        char w[64];
        window_name(w, sizeof(w), "", a->no_data_for_ms);
        br_buf e;
        br_buf_init(&e, 0);
        /* No traffic: the window's ratio is 0/0 (NaN, which differs from
         * itself) or the series is gone. */
        br_buf_printf(&e,
                      "(max(slo:sli_error:ratio_rate%s%s) without (" WINDOW_LABEL
                      ") != max(slo:sli_error:ratio_rate%s%s) without (" WINDOW_LABEL "))\n"
                      "or absent(slo:sli_error:ratio_rate%s%s)",
                      w, g->filter, w, g->filter, w, g->filter);
        char summary[300];
        snprintf(summary, sizeof(summary),
                 "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO had no valid events for "
                 "%s.",
                 w);
        add_escalation(g, gb, "no_data", "ticket", &e,
                       "(ticket) {{$labels.sloth_service}} {{$labels.sloth_slo}} SLO has no data.",
                       summary);
        br_buf_free(&e);
    }
    if (a->absent_for_ms > 0 && !a->ticket_disabled) {
        char w[64];
        window_name(w, sizeof(w), "", a->absent_for_ms);
        br_buf e;
        br_buf_init(&e, 0);
        /* The 5m error ratio is recorded whenever the SLI's series have a
         * sample (NaN without traffic); it is absent only when they are. */
        br_buf_printf(&e, "absent_over_time(slo:sli_error:ratio_rate5m%s[%s])", g->filter, w);
        char summary[300];
        snprintf(summary, sizeof(summary),
                 "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO's SLI series have been "
                 "absent for %s.",
                 w);
        add_escalation(
            g, gb, "absent", "ticket", &e,
            "(ticket) {{$labels.sloth_service}} {{$labels.sloth_slo}} SLO's SLI series are absent.",
            summary);
        br_buf_free(&e);
    }
    return g->rc;
}

static int build_alert_group(gen *g, br_gen_rules *out)
{
    /* Built aside first: the group is left out when it has no rule. */
    br_gen_rules tmp = {0};
    group_builder gb;
    group_start(g, &gb, &tmp, BR_GEN_GROUP_ALERTS, "sloth-slo-alerts-");
    if (!g->d->alerting.page_disabled) {
        build_burn_alert(g, &gb, "page");
    }
    if (!g->d->alerting.ticket_disabled) {
        build_burn_alert(g, &gb, "ticket");
    }
    build_escalations(g, &gb);
    if (g->rc != 0 || gb.g == NULL || gb.g->n_rules == 0) {
        return g->rc;
    }
    br_gen_group *slot = push_group(g, out);
    if (slot != NULL) {
        *slot = *gb.g;
    }
    return g->rc;
}

static void add_window(gen *g, int64_t ms)
{
    if (ms <= 0 || ms == g->period_ms) {
        return;
    }
    for (size_t i = 0; i < g->n_windows; i++) {
        if (g->windows[i] == ms) {
            return;
        }
    }
    if (g->n_windows >= MAX_WINDOWS) {
        return;
    }
    size_t i = g->n_windows++;
    while (i > 0 && g->windows[i - 1] > ms) {
        g->windows[i] = g->windows[i - 1];
        i--;
    }
    g->windows[i] = ms;
}

static int gen_init(gen *g, const br_slo_def *d, br_arena *arena, br_err *err)
{
    memset(g, 0, sizeof(*g));
    g->d = d;
    g->arena = arena;
    g->err = err;
    br_arena_init(&g->scratch, 64 * 1024, 0);
    g->period_ms = d->period.duration_ms;
    if (d->id == NULL || d->service == NULL || d->name == NULL) {
        g->rc = br_err_set(err, BR_EINVAL,
                           "an SLO without id, service or name cannot be "
                           "generated (add it with br_slo_set_add first)");
        return g->rc;
    }
    if (!(d->objective > 0 && d->objective < 1) || g->period_ms <= 0) {
        return fail(g, BR_EINVAL, "objective or period out of range%s%s", NULL, NULL);
    }
    for (size_t i = 0; i < d->n_grouping; i++) {
        if (!valid_label_name(d->grouping[i])) {
            return fail(g, BR_EINVAL, "grouping label \"%s\" is not a valid Prometheus label name",
                        d->grouping[i], NULL);
        }
    }
    br_buf f;
    br_buf_init(&f, 0);
    br_buf_puts(&f, "{sloth_id=");
    put_promql_string(&f, d->id);
    br_buf_puts(&f, ", sloth_service=");
    put_promql_string(&f, d->service);
    br_buf_puts(&f, ", sloth_slo=");
    put_promql_string(&f, d->name);
    br_buf_putc(&f, '}');
    g->filter = keep_buf(g, &f);
    br_buf_reset(&f);
    br_buf_puts(&f, "(1 - ");
    put_exact(&f, d->objective);
    br_buf_putc(&f, ')');
    g->budget = keep_buf(g, &f);
    br_buf_free(&f);

    /* SLO labels first: the sloth_* identity labels win over them. */
    kv_put_all(g, &g->base, d->labels, d->n_labels, "SLO label");
    kv_put(&g->base, "sloth_id", d->id);
    kv_put(&g->base, "sloth_service", d->service);
    kv_put(&g->base, "sloth_slo", d->name);

    for (size_t i = 0; i < d->alerting.n_tiers && i < 4; i++) {
        add_window(g, d->alerting.tiers[i].short_window_ms);
        add_window(g, d->alerting.tiers[i].long_window_ms);
    }
    if (d->alerting.budget_drop_ratio > 0) {
        add_window(g, d->alerting.budget_drop_window_ms);
    }
    if (d->alerting.exhaustion_within_ms > 0 && HOUR_MS < g->period_ms) {
        add_window(g, HOUR_MS);
    }
    if (d->alerting.no_data_for_ms > 0) {
        add_window(g, d->alerting.no_data_for_ms);
    }
    if (g->n_windows == 0) {
        /* No alert windows at all: keep Sloth's 5m current burn rate. */
        add_window(g, g->period_ms > 5 * 60 * 1000 ? 5 * 60 * 1000 : g->period_ms / 2);
    }
    return g->rc;
}

static void gen_free(gen *g)
{
    kv_free(&g->base);
    br_arena_free(&g->scratch);
}

int br_generate_build_slo(const br_slo_def *d, br_arena *arena, br_gen_rules *out, br_err *err)
{
    gen g;
    size_t before = out->n_groups;
    if (gen_init(&g, d, arena, err) == 0) {
        build_sli_group(&g, out);
        build_meta_group(&g, out);
        build_alert_group(&g, out);
    }
    int rc = g.rc;
    gen_free(&g);
    if (rc != 0) {
        out->n_groups = before;
    }
    return rc;
}

int br_generate_build(const br_slo_set *set, br_arena *arena, br_gen_rules *out, br_err *err)
{
    memset(out, 0, sizeof(*out));
    size_t n = br_slo_set_len(set);
    for (size_t i = 0; i < n; i++) {
        int rc = br_generate_build_slo(br_slo_set_get(set, i), arena, out, err);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* YAML                                                                     */
/* ------------------------------------------------------------------------ */

static bool reserved_word(const char *s)
{
    static const char *const words[] = {"true", "false", "yes",  "no", "on", "off",
                                        "y",    "n",     "null", "~",  NULL};
    for (size_t i = 0; words[i] != NULL; i++) {
        if (strcasecmp(s, words[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* True when s can be written as a YAML plain scalar and reads back as the
 * same string (never as a number, bool or null). */
static bool yaml_plain_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || s[0] == ' ' || s[n - 1] == ' ' || s[n - 1] == ':' || reserved_word(s)) {
        return false;
    }
    if (strchr("-?:,[]{}#&*!|>'\"%@`=<", s[0]) != NULL || isdigit((unsigned char)s[0]) ||
        s[0] == '.' || s[0] == '+') {
        return false;
    }
    for (const char *p = s; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f) {
            return false;
        }
        if ((c == ':' && p[1] == ' ') || (c == ' ' && p[1] == '#')) {
            return false;
        }
    }
    return true;
}

static bool printable_line(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return false;
        }
    }
    return true;
}

static void yaml_double_quoted(br_buf *out, const char *s)
{
    br_buf_putc(out, '"');
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '"':
            br_buf_puts(out, "\\\"");
            break;
        case '\\':
            br_buf_puts(out, "\\\\");
            break;
        case '\n':
            br_buf_puts(out, "\\n");
            break;
        case '\t':
            br_buf_puts(out, "\\t");
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                br_buf_printf(out, "\\x%02x", c);
            } else {
                br_buf_putc(out, (char)c);
            }
        }
    }
    br_buf_putc(out, '"');
}

/* Writes the value of a `key: ` whose key sits at `indent` spaces, ending
 * the line. */
static void yaml_value(br_buf *out, const char *s, int indent)
{
    size_t n = strlen(s);
    const char *nl = strchr(s, '\n');
    if (nl == NULL) {
        if (yaml_plain_ok(s)) {
            br_buf_puts(out, s);
        } else if (printable_line(s, n) && strchr(s, '\t') == NULL) {
            br_buf_putc(out, '\'');
            for (const char *p = s; *p != '\0'; p++) {
                if (*p == '\'') {
                    br_buf_putc(out, '\'');
                }
                br_buf_putc(out, *p);
            }
            br_buf_putc(out, '\'');
        } else {
            yaml_double_quoted(out, s);
        }
        br_buf_putc(out, '\n');
        return;
    }
    /* Literal block when every line is printable, the first does not start
     * with a space (that would need an indentation indicator) and at most
     * one line feed ends the text. */
    bool literal = s[0] != ' ' && s[0] != '\t';
    for (const char *p = s; literal && *p != '\0';) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        literal = printable_line(p, len);
        p = e ? e + 1 : p + len;
    }
    bool trailing = n > 0 && s[n - 1] == '\n';
    if (trailing && n > 1 && s[n - 2] == '\n') {
        literal = false;
    }
    if (!literal) {
        yaml_double_quoted(out, s);
        br_buf_putc(out, '\n');
        return;
    }
    br_buf_puts(out, trailing ? "|\n" : "|-\n");
    const char *p = s;
    while (*p != '\0') {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > 0) {
            br_buf_printf(out, "%*s", indent + 2, "");
            br_buf_append(out, p, len);
        }
        br_buf_putc(out, '\n');
        p = e ? e + 1 : p + len;
    }
}

static void yaml_key(br_buf *out, const char *key, int indent)
{
    br_buf_printf(out, "%*s", indent, "");
    if (yaml_plain_ok(key)) {
        br_buf_puts(out, key);
    } else {
        yaml_double_quoted(out, key);
    }
    br_buf_puts(out, ": ");
}

static void yaml_map(br_buf *out, const char *name, const br_kv *kv, size_t n, int indent)
{
    if (n == 0) {
        return;
    }
    br_buf_printf(out, "%*s%s:\n", indent, "", name);
    for (size_t i = 0; i < n; i++) {
        yaml_key(out, kv[i].key, indent + 2);
        yaml_value(out, kv[i].value, indent + 2);
    }
}

static void write_yaml(const br_gen_rules *rules, br_buf *out)
{
    size_t n_slos = 0;
    for (size_t i = 0; i < rules->n_groups; i++) {
        n_slos += rules->groups[i].kind == BR_GEN_GROUP_SLI;
    }
    br_buf_printf(out,
                  "# Prometheus rules for %zu SLO%s, generated by burnrate %s (burnrate "
                  "generate).\n"
                  "# Series names and labels are Sloth's, so Sloth's dashboards work with them.\n"
                  "# Do not edit: change the SLO files and generate again.\n\n",
                  n_slos, n_slos == 1 ? "" : "s", BR_VERSION);
    /* What Prometheus rules cannot say: budget adjustments exclude periods
     * that burnrate leaves out of the SLI, while these rules count them. */
    bool noted = false;
    for (size_t i = 0; i < rules->n_groups; i++) {
        const br_slo_def *d = rules->groups[i].def;
        if (rules->groups[i].kind == BR_GEN_GROUP_SLI && d != NULL && d->n_adjustments > 0) {
            br_buf_printf(out,
                          "# %s: its %zu budget adjustment%s (excluded periods) cannot be "
                          "expressed in\n#   Prometheus rules; these rules count every event.\n",
                          d->id, d->n_adjustments, d->n_adjustments == 1 ? "" : "s");
            noted = true;
        }
    }
    if (noted) {
        br_buf_puts(out, "\n");
    }
    if (rules->n_groups == 0) {
        br_buf_puts(out, "groups: []\n");
    } else {
        br_buf_puts(out, "groups:\n");
    }
    for (size_t i = 0; i < rules->n_groups; i++) {
        const br_gen_group *gr = &rules->groups[i];
        br_buf_puts(out, "- name: ");
        yaml_value(out, gr->name, 2);
        br_buf_puts(out, "  rules:\n");
        for (size_t j = 0; j < gr->n_rules; j++) {
            const br_gen_rule *r = &gr->rules[j];
            br_buf_puts(out, "  - ");
            yaml_key(out, r->kind == BR_GEN_RECORD ? "record" : "alert", 0);
            yaml_value(out, r->name, 4);
            yaml_key(out, "expr", 4);
            yaml_value(out, r->expr, 4);
            if (r->for_ms > 0) {
                br_buf_puts(out, "    for: ");
                put_duration(out, r->for_ms);
                br_buf_putc(out, '\n');
            }
            if (r->keep_firing_for_ms > 0) {
                br_buf_puts(out, "    keep_firing_for: ");
                put_duration(out, r->keep_firing_for_ms);
                br_buf_putc(out, '\n');
            }
            yaml_map(out, "labels", r->labels, r->n_labels, 4);
            yaml_map(out, "annotations", r->annotations, r->n_annotations, 4);
        }
    }
}

int br_generate_write_yaml(const br_gen_rules *rules, br_buf *out)
{
    /* Written aside without a cap, then appended in one step, so a capped
     * out either gets the whole file or is left as it was. */
    br_buf tmp;
    br_buf_init(&tmp, 0);
    write_yaml(rules, &tmp);
    int rc = br_buf_append(out, tmp.data != NULL ? tmp.data : "", tmp.len);
    br_buf_free(&tmp);
    return rc;
}

int br_generate_rules(const br_slo_set *set, br_buf *out, br_err *err)
{
    br_arena arena;
    br_arena_init(&arena, 256 * 1024, 0);
    br_gen_rules rules;
    int rc = br_generate_build(set, &arena, &rules, err);
    if (rc == 0) {
        rc = br_generate_write_yaml(&rules, out);
        if (rc != 0) {
            br_err_set(err, rc, "the rules file is larger than the output buffer allows");
        }
    }
    br_arena_free(&arena);
    return rc;
}
