/*
 * test_promql_scripts.c — runs Prometheus' own PromQL test scripts
 * (shared/peer-tests/promql/, format in FORMAT.md there) against burnrate's
 * engine and reports the pass rate per file.
 *
 * testdata-v2.42/ runs in Prometheus 2.x compatibility mode (closed
 * windows, immediate name removal), testdata/ in the default Prometheus 3
 * mode. Each eval is one case: a failing case does not stop its file. The
 * test fails when the pass rate of either set falls below the floor
 * recorded in PASS_FLOOR_* (raise the floors as the engine improves; never
 * lower them to make a change pass).
 *
 * Supported script features: load (float values, `_`, `stale`, the x/+/-
 * expansions), clear, eval instant/range, eval_fail/eval_ordered/
 * eval_warn/eval_info, expect fail/ordered/warn/info/no_warn/no_info/
 * string/range vector, scalar and series expectations with Prometheus'
 * float tolerance, native histograms in the {{...}} notation (with the x
 * and +/- expansions) in loads and expectations, and load_with_nhcb's
 * conversion of classic histogram families into custom-bucket histograms.
 * testdata/ runs with Prometheus' experimental syntax enabled, as upstream
 * runs it: duration expressions, anchored/smoothed selectors, fill
 * modifiers. Set BR_PEER_VERBOSE=1 to print every failing eval with the
 * reason, BR_PEER_ONLY=<file>.test to run one file (the floors are then
 * meaningless).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/core/clock.h"
#include "engine/promql/eval.h"
#include "engine/promql/selector.h"
#include "storage/head.h"

#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PASS_FLOOR_V242 1.0
#define PASS_FLOOR_V3   0.985

#define MAX_LINE    65536
#define MAX_VALUES  20000
#define MAX_LABELS  64

static bool verbose;

/* ---- values ------------------------------------------------------------ */

#define MAX_HBUCKETS 64

/* A native histogram as written in the notation: one contiguous run of
 * positive buckets from `offset`, one of negative buckets from `n_offset`,
 * absolute counts. */
typedef struct hist_value {
    int32_t schema;
    double sum;
    double count;
    double zero_count;
    double zero_threshold;
    int32_t offset;
    uint32_t n_pos;
    double pos[MAX_HBUCKETS];
    int32_t n_offset;
    uint32_t n_neg;
    double neg[MAX_HBUCKETS];
    uint32_t n_custom;
    double custom[MAX_HBUCKETS];
    int reset_hint;      /* -1 = not written */
} hist_value;

typedef struct seq_value {
    bool present;  /* false for `_` */
    bool stale;
    bool histogram;
    bool bad_histogram;  /* notation we cannot read */
    double v;
    hist_value h;
} seq_value;

/* Scans a float literal (no hex) at *p; returns false when there is none. */
static bool scan_number(const char **p, double *out)
{
    const char *s = *p;
    const char *q = s;
    if (*q == '+' || *q == '-') {
        q++;
    }
    if (strncasecmp(q, "inf", 3) == 0) {
        *out = (*s == '-') ? -INFINITY : INFINITY;
        *p = q + 3;
        return true;
    }
    if (strncasecmp(q, "nan", 3) == 0) {
        *out = NAN;
        *p = q + 3;
        return true;
    }
    const char *digits = q;
    while (isdigit((unsigned char)*q)) {
        q++;
    }
    if (*q == '.') {
        q++;
        while (isdigit((unsigned char)*q)) {
            q++;
        }
    }
    if (q == digits || (q == digits + 1 && *digits == '.')) {
        return false;
    }
    if (*q == 'e' || *q == 'E') {
        const char *e = q + 1;
        if (*e == '+' || *e == '-') {
            e++;
        }
        if (isdigit((unsigned char)*e)) {
            while (isdigit((unsigned char)*e)) {
                e++;
            }
            q = e;
        }
    }
    char buf[64];
    size_t len = (size_t)(q - s);
    if (len >= sizeof(buf)) {
        return false;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    *out = strtod(buf, NULL);
    *p = q;
    return true;
}

/* Reads "[1 2 3]" into out; returns the count or -1. */
static int parse_list(const char **p, double *out, int max)
{
    const char *q = *p;
    if (*q != '[') {
        return -1;
    }
    q++;
    int n = 0;
    for (;;) {
        while (*q == ' ' || *q == ',') {
            q++;
        }
        if (*q == ']') {
            q++;
            break;
        }
        double v;
        if (n >= max || !scan_number(&q, &v)) {
            return -1;
        }
        out[n++] = v;
    }
    *p = q;
    return n;
}

/* Parses "{{key:value ...}}" at *p (just past the braces on return). */
static bool parse_hist(const char **p, hist_value *h)
{
    memset(h, 0, sizeof(*h));
    h->reset_hint = -1;
    const char *q = *p;
    if (strncmp(q, "{{", 2) != 0) {
        return false;
    }
    q += 2;
    for (;;) {
        while (*q == ' ') {
            q++;
        }
        if (strncmp(q, "}}", 2) == 0) {
            q += 2;
            break;
        }
        const char *colon = strchr(q, ':');
        if (colon == NULL) {
            return false;
        }
        size_t klen = (size_t)(colon - q);
        char key[32];
        if (klen >= sizeof(key)) {
            return false;
        }
        memcpy(key, q, klen);
        key[klen] = '\0';
        q = colon + 1;
        double v = 0;
        int n;
        if (strcmp(key, "buckets") == 0) {
            n = parse_list(&q, h->pos, MAX_HBUCKETS);
            if (n < 0) {
                return false;
            }
            h->n_pos = (uint32_t)n;
        } else if (strcmp(key, "n_buckets") == 0) {
            n = parse_list(&q, h->neg, MAX_HBUCKETS);
            if (n < 0) {
                return false;
            }
            h->n_neg = (uint32_t)n;
        } else if (strcmp(key, "custom_values") == 0) {
            n = parse_list(&q, h->custom, MAX_HBUCKETS);
            if (n < 0) {
                return false;
            }
            h->n_custom = (uint32_t)n;
        } else if (strcmp(key, "counter_reset_hint") == 0) {
            static const char *const hints[] = {"unknown", "reset", "not_reset", "gauge"};
            int found = -1;
            for (int i = 0; i < 4; i++) {
                size_t l = strlen(hints[i]);
                if (strncmp(q, hints[i], l) == 0 && (q[l] == ' ' || q[l] == '}')) {
                    found = i;
                    q += l;
                }
            }
            if (found < 0) {
                return false;
            }
            h->reset_hint = found;
        } else {
            if (!scan_number(&q, &v)) {
                return false;
            }
            if (strcmp(key, "schema") == 0) {
                h->schema = (int32_t)v;
            } else if (strcmp(key, "sum") == 0) {
                h->sum = v;
            } else if (strcmp(key, "count") == 0) {
                h->count = v;
            } else if (strcmp(key, "z_bucket") == 0) {
                h->zero_count = v;
            } else if (strcmp(key, "z_bucket_w") == 0) {
                h->zero_threshold = v;
            } else if (strcmp(key, "offset") == 0) {
                h->offset = (int32_t)v;
            } else if (strcmp(key, "n_offset") == 0) {
                h->n_offset = (int32_t)v;
            } else {
                return false;
            }
        }
    }
    *p = q;
    return true;
}

/* Adds sign*b to the run (offset, counts, n) bucket by bucket, by index. */
static bool add_run(int32_t *offset, double *counts, uint32_t *n, int32_t b_off,
                    const double *b, uint32_t nb, double sign)
{
    if (nb == 0) {
        return true;
    }
    int32_t lo = *n ? (*offset < b_off ? *offset : b_off) : b_off;
    int32_t hi_a = *offset + (int32_t)*n;
    int32_t hi_b = b_off + (int32_t)nb;
    int32_t hi = *n ? (hi_a > hi_b ? hi_a : hi_b) : hi_b;
    if (hi - lo > MAX_HBUCKETS) {
        return false;
    }
    double merged[MAX_HBUCKETS];
    memset(merged, 0, sizeof(merged));
    for (uint32_t i = 0; i < *n; i++) {
        merged[*offset - lo + (int32_t)i] += counts[i];
    }
    for (uint32_t i = 0; i < nb; i++) {
        merged[b_off - lo + (int32_t)i] += sign * b[i];
    }
    *offset = lo;
    *n = (uint32_t)(hi - lo);
    memcpy(counts, merged, sizeof(double) * *n);
    return true;
}

static bool hist_add(hist_value *a, const hist_value *b, double sign)
{
    a->sum += sign * b->sum;
    a->count += sign * b->count;
    a->zero_count += sign * b->zero_count;
    return add_run(&a->offset, a->pos, &a->n_pos, b->offset, b->pos, b->n_pos, sign) &&
           add_run(&a->n_offset, a->neg, &a->n_neg, b->n_offset, b->neg, b->n_neg, sign);
}

/* Expands one whitespace-separated item; returns false on a syntax error. */
static bool expand_item(const char *item, seq_value *out, size_t *n, size_t max)
{
    if (strcmp(item, "_") == 0) {
        if (*n < max) {
            out[(*n)++] = (seq_value){.present = false};
        }
        return true;
    }
    if (strncmp(item, "_x", 2) == 0) {
        long k = strtol(item + 2, NULL, 10);
        for (long i = 0; i < k && *n < max; i++) {
            out[(*n)++] = (seq_value){.present = false};
        }
        return true;
    }
    if (strcmp(item, "stale") == 0) {
        if (*n < max) {
            out[(*n)++] = (seq_value){.present = true, .stale = true, .v = br_stale_nan()};
        }
        return true;
    }
    if (strncmp(item, "{{", 2) == 0) {
        /* {{A}}, {{A}}xN, {{A}}+{{B}}xN, {{A}}-{{B}}xN */
        const char *p = item;
        seq_value cur = {.present = true, .histogram = true};
        if (!parse_hist(&p, &cur.h)) {
            if (*n < max) {
                out[(*n)++] = (seq_value){.present = true, .histogram = true, .bad_histogram = true};
            }
            return true;
        }
        hist_value step;
        double sign = 0;
        if (*p == '+' || *p == '-') {
            sign = *p == '+' ? 1 : -1;
            p++;
            if (!parse_hist(&p, &step)) {
                return false;
            }
        }
        long k = 0;
        if (*p == 'x') {
            k = strtol(p + 1, NULL, 10);
        }
        for (long i = 0; i <= k && *n < max; i++) {
            out[(*n)++] = cur;
            if (sign != 0 && !hist_add(&cur.h, &step, sign)) {
                cur.bad_histogram = true;
            }
        }
        return true;
    }
    const char *p = item;
    double v;
    if (!scan_number(&p, &v)) {
        return false;
    }
    if (*p == '\0') {
        if (*n < max) {
            out[(*n)++] = (seq_value){.present = true, .v = v};
        }
        return true;
    }
    double d = 0;
    if (*p == '+' || *p == '-') {
        char sign = *p;
        p++;
        if (!scan_number(&p, &d)) {
            return false;
        }
        if (sign == '-') {
            d = -d;
        }
    }
    if (*p != 'x') {
        return false;
    }
    long k = strtol(p + 1, NULL, 10);
    double cur = v;
    for (long i = 0; i <= k && *n < max; i++) {
        out[(*n)++] = (seq_value){.present = true, .v = cur};
        cur += d;
    }
    return true;
}

/* Expands a whole value sequence (tokens separated by blanks; a {{...}}
 * token may contain blanks). */
static bool expand_values(const char *text, seq_value *out, size_t *n, size_t max)
{
    *n = 0;
    const char *p = text;
    char item[MAX_LINE];
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        const char *start = p;
        if (strncmp(p, "{{", 2) == 0) {
            /* Up to the "}}" that is followed by a blank or the end. */
            for (;;) {
                const char *close = strstr(p, "}}");
                if (close == NULL) {
                    return false;
                }
                p = close + 2;
                while (*p != '\0' && *p != ' ' && *p != '\t' && strncmp(p, "{{", 2) != 0) {
                    p++;
                }
                if (strncmp(p, "{{", 2) != 0) {
                    break;
                }
            }
        } else {
            while (*p != '\0' && *p != ' ' && *p != '\t') {
                p++;
            }
        }
        size_t len = (size_t)(p - start);
        memcpy(item, start, len);
        item[len] = '\0';
        if (!expand_item(item, out, n, max)) {
            return false;
        }
    }
    return true;
}

/* ---- label sets ---------------------------------------------------------- */

typedef struct labelset {
    char *names[MAX_LABELS];
    char *values[MAX_LABELS];
    size_t n;
} labelset;

static void labelset_free(labelset *ls)
{
    for (size_t i = 0; i < ls->n; i++) {
        free(ls->names[i]);
        free(ls->values[i]);
    }
    ls->n = 0;
}

static void labelset_sort(labelset *ls)
{
    for (size_t i = 1; i < ls->n; i++) {
        char *nm = ls->names[i];
        char *vl = ls->values[i];
        size_t j = i;
        while (j > 0 && strcmp(ls->names[j - 1], nm) > 0) {
            ls->names[j] = ls->names[j - 1];
            ls->values[j] = ls->values[j - 1];
            j--;
        }
        ls->names[j] = nm;
        ls->values[j] = vl;
    }
}

/* Parses `name{a="b"}`, `{a="b"}` or `{}` at the start of line; sets *rest
 * to the text after it. */
static bool parse_labelset(const char *line, labelset *ls, const char **rest)
{
    ls->n = 0;
    const char *p = line;
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (strncmp(p, "{}", 2) == 0) {
        *rest = p + 2;
        return true;
    }
    /* The series token ends at the closing brace of its label set, or right
     * after the metric name when no brace follows at once (a blank and then
     * {{...}} is a histogram value, not labels). */
    const char *end = p;
    if (*end != '{') {
        while (*end != '\0' && *end != '{' && *end != ' ' && *end != '\t') {
            end++;
        }
    }
    if (*end == '{') {
        char quote = 0;
        for (end++; *end != '\0'; end++) {
            if (quote != 0) {
                if (*end == '\\' && end[1] != '\0') {
                    end++;
                } else if (*end == quote) {
                    quote = 0;
                }
            } else if (*end == '"' || *end == '\'' || *end == '`') {
                quote = *end;
            } else if (*end == '}') {
                end++;
                break;
            }
        }
    }
    size_t len = (size_t)(end - p);
    char *token = malloc(len + 1);
    memcpy(token, p, len);
    token[len] = '\0';
    br_selector sel;
    br_err err;
    br_err_clear(&err);
    size_t pos = 0;
    int prc = br_selector_parse_at(token, &pos, &sel, &err);
    free(token);
    if (prc != 0) {
        return false;
    }
    pos = (size_t)(end - line);
    for (size_t i = 0; i < sel.n && ls->n < MAX_LABELS; i++) {
        ls->names[ls->n] = strdup(sel.matchers[i].name);
        ls->values[ls->n] = strdup(sel.matchers[i].value);
        ls->n++;
    }
    br_selector_free(&sel);
    labelset_sort(ls);
    *rest = line + pos;
    return true;
}

static bool labels_equal_result(const labelset *ls, const br_result_series *s)
{
    if (ls->n != s->n_labels) {
        return false;
    }
    for (size_t i = 0; i < ls->n; i++) {
        if (strcmp(ls->names[i], s->labels[i].name) != 0 ||
            strcmp(ls->values[i], s->labels[i].value) != 0) {
            return false;
        }
    }
    return true;
}

static void format_result_labels(const br_result_series *s, char *out, size_t size)
{
    size_t o = (size_t)snprintf(out, size, "{");
    for (size_t i = 0; i < s->n_labels && o < size; i++) {
        o += (size_t)snprintf(out + o, size - o, "%s%s=\"%s\"", i ? ", " : "", s->labels[i].name,
                              s->labels[i].value);
    }
    if (o < size) {
        snprintf(out + o, size - o, "}");
    }
}

/* ---- comparisons --------------------------------------------------------- */

static bool floats_equal(double exp, double got)
{
    if (isnan(exp) || isnan(got)) {
        return isnan(exp) && isnan(got) && !br_is_stale_nan(got);
    }
    if (exp == got) {
        return true;
    }
    double tiny = 2.2250738585072014e-308;
    if (exp == 0 || got == 0 || (fabs(exp) < tiny && fabs(got) < tiny)) {
        return fabs(exp - got) < tiny * 1e-6;
    }
    return fabs(exp - got) / (fabs(exp) + fabs(got)) < 1e-6;
}

/* Bucket index -> count of one side of an actual histogram, empties dropped. */
static size_t side_buckets(const br_span *spans, uint32_t n_spans, const double *counts,
                           uint32_t n, int32_t *idx, double *cnt, size_t max)
{
    size_t k = 0;
    int32_t at = 0;
    uint32_t c = 0;
    for (uint32_t s = 0; s < n_spans; s++) {
        at += spans[s].offset;
        for (uint32_t j = 0; j < spans[s].length && c < n; j++, c++, at++) {
            if (counts[c] != 0 && k < max) {
                idx[k] = at;
                cnt[k] = counts[c];
                k++;
            }
        }
    }
    return k;
}

static bool run_equal(int32_t off, const double *counts, uint32_t n, const int32_t *idx,
                      const double *cnt, size_t k)
{
    size_t m = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (counts[i] == 0) {
            continue;
        }
        if (m >= k || idx[m] != off + (int32_t)i || !floats_equal(counts[i], cnt[m])) {
            return false;
        }
        m++;
    }
    return m == k;
}

static bool hist_equal(const hist_value *e, const br_histogram *g)
{
    if (e->schema != g->schema || !floats_equal(e->count, g->count) ||
        !floats_equal(e->sum, g->sum) || !floats_equal(e->zero_count, g->zero_count) ||
        e->zero_threshold != g->zero_threshold) {
        return false;
    }
    if (e->schema == -53) {
        if (e->n_custom != g->n_custom) {
            return false;
        }
        for (uint32_t i = 0; i < e->n_custom; i++) {
            if (e->custom[i] != g->custom_values[i]) {
                return false;
            }
        }
    }
    if (e->reset_hint >= 0) {
        int want = e->reset_hint == 3 ? BR_HIST_RESET_GAUGE
                   : e->reset_hint == 1 ? BR_HIST_RESET_YES
                   : e->reset_hint == 2 ? BR_HIST_RESET_NO
                                        : BR_HIST_RESET_UNKNOWN;
        if (want != g->reset_hint) {
            return false;
        }
    }
    int32_t idx[4096];
    double cnt[4096];
    size_t k = side_buckets(g->pos_spans, g->n_pos_spans, g->pos_buckets, g->n_pos, idx, cnt, 4096);
    if (!run_equal(e->offset, e->pos, e->n_pos, idx, cnt, k)) {
        return false;
    }
    k = side_buckets(g->neg_spans, g->n_neg_spans, g->neg_buckets, g->n_neg, idx, cnt, 4096);
    return run_equal(e->n_offset, e->neg, e->n_neg, idx, cnt, k);
}

/* An expected value against an actual point. */
static bool point_equal(const seq_value *ev, const br_point *p)
{
    if (ev->histogram) {
        return p->h != NULL && hist_equal(&ev->h, p->h);
    }
    return p->h == NULL && floats_equal(ev->v, p->v);
}

/* ---- the harness ----------------------------------------------------------- */

typedef struct harness {
    br_head *head;
    br_promql_compat compat;
    const char *file;
    int line_no;
    size_t evals;
    size_t passed;
    char **lines;
    size_t n_lines;
    size_t pos;
} harness;

static void reset_head(harness *h)
{
    br_head_close(h->head);
    h->head = NULL;
    br_head_options o = {0};
    br_err err;
    br_err_clear(&err);
    if (br_head_open(&o, &h->head, &err) != 0) {
        fprintf(stderr, "cannot open head: %s\n", err.msg);
        abort();
    }
}

static void report_fail(const harness *h, int line, const char *what)
{
    if (verbose) {
        fprintf(stderr, "FAIL %s:%d: %s\n", h->file, line, what);
    }
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r') {
        s++;
    }
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n')) {
        s[--n] = '\0';
    }
    if (s[0] == '#') {
        s[0] = '\0';
    }
    return s;
}

static int64_t parse_dur(const char *s)
{
    int64_t ms = 0;
    if (br_parse_duration(s, &ms) != 0) {
        return -1;
    }
    return ms;
}

/* True when a later line of the block [from, end) names the same series
 * (in a load block the last line for a series wins). */
static bool overridden_later(const harness *h, size_t line_idx, size_t end, const labelset *ls)
{
    for (size_t j = line_idx + 1; j < end; j++) {
        labelset other;
        const char *rest = NULL;
        if (!parse_labelset(h->lines[j], &other, &rest)) {
            continue;
        }
        bool same = other.n == ls->n;
        for (size_t k = 0; same && k < ls->n; k++) {
            same = strcmp(other.names[k], ls->names[k]) == 0 &&
                   strcmp(other.values[k], ls->values[k]) == 0;
        }
        labelset_free(&other);
        if (same) {
            return true;
        }
    }
    return false;
}

static void load_nhcb(harness *h, size_t from, size_t end, int64_t interval);

/* Appends one run of floats or histograms of one series. */
static void commit_run(harness *h, const br_label *labels, size_t n_labels,
                       const br_sample *samples, size_t ns, const br_histogram_sample *hs,
                       size_t nh)
{
    br_series_input in = {.labels = labels,
                          .n_labels = n_labels,
                          .samples = samples,
                          .n_samples = ns,
                          .histograms = hs,
                          .n_histograms = nh};
    br_commit_result r;
    br_err err;
    br_err_clear(&err);
    int crc = br_head_commit(h->head, &in, 1, &r, &err);
    if (verbose && (crc != 0 || br_commit_rejected(&r) > 0)) {
        fprintf(stderr, "LOAD %s:%d: rc=%d rejected=%llu %s %s\n", h->file, h->line_no, crc,
                (unsigned long long)br_commit_rejected(&r), r.first_rejection, err.msg);
    }
}

static void cmd_load(harness *h, const char *args, bool nhcb)
{
    int64_t interval = parse_dur(args);
    size_t block_start = h->pos;
    seq_value *vals = malloc(sizeof(seq_value) * MAX_VALUES);
    size_t end = h->pos;
    while (end < h->n_lines && h->lines[end][0] != '\0') {
        end++;
    }
    while (h->pos < h->n_lines && h->lines[h->pos][0] != '\0') {
        size_t line_idx = h->pos;
        const char *line = h->lines[h->pos++];
        labelset ls;
        const char *rest = NULL;
        if (!parse_labelset(line, &ls, &rest)) {
            continue;
        }
        if (overridden_later(h, line_idx, end, &ls)) {
            labelset_free(&ls);
            continue;
        }
        size_t n = 0;
        if (strstr(line, "}@st") != NULL || !expand_values(rest, vals, &n, MAX_VALUES)) {
            labelset_free(&ls);
            continue;
        }
        br_label labels[MAX_LABELS];
        for (size_t i = 0; i < ls.n; i++) {
            labels[i].name = ls.names[i];
            labels[i].value = ls.values[i];
        }
        br_sample *samples = malloc(sizeof(br_sample) * (n + 1));
        br_histogram_sample *hs = calloc(n + 1, sizeof(br_histogram_sample));
        br_span *spans = calloc(2 * (n + 1), sizeof(br_span));
        size_t ns = 0;
        size_t nh = 0;
        for (size_t i = 0; i <= n; i++) {
            /* A series that switches between floats and histograms is
             * committed run by run, so every append stays in time order. */
            bool flush =
                i == n || (vals[i].present && !vals[i].bad_histogram &&
                           ((vals[i].histogram && ns > 0) || (!vals[i].histogram && nh > 0)));
            if (flush && ns + nh > 0) {
                commit_run(h, labels, ls.n, samples, ns, hs, nh);
                ns = 0;
                nh = 0;
            }
            if (i == n || !vals[i].present || vals[i].bad_histogram) {
                continue;
            }
            if (!vals[i].histogram) {
                samples[ns].t = (int64_t)i * interval;
                samples[ns].v = vals[i].v;
                ns++;
                continue;
            }
            hist_value *hv = &vals[i].h;
            br_histogram *g = &hs[nh].h;
            memset(&hs[nh], 0, sizeof(hs[nh]));
            hs[nh].t = (int64_t)i * interval;
            g->schema = hv->schema;
            g->is_float = true;
            g->reset_hint = (uint8_t)(hv->reset_hint == 3 ? BR_HIST_RESET_GAUGE
                                                          : hv->reset_hint == 1 ? BR_HIST_RESET_YES
                                                          : hv->reset_hint == 2 ? BR_HIST_RESET_NO
                                                                                : BR_HIST_RESET_UNKNOWN);
            g->zero_threshold = hv->zero_threshold;
            g->count = hv->count;
            g->sum = hv->sum;
            g->zero_count = hv->zero_count;
            if (hv->n_pos > 0) {
                spans[2 * nh] = (br_span){hv->offset, hv->n_pos};
                g->n_pos_spans = 1;
                g->pos_spans = &spans[2 * nh];
                g->n_pos = hv->n_pos;
                g->pos_buckets = hv->pos;
            }
            if (hv->n_neg > 0) {
                spans[2 * nh + 1] = (br_span){hv->n_offset, hv->n_neg};
                g->n_neg_spans = 1;
                g->neg_spans = &spans[2 * nh + 1];
                g->n_neg = hv->n_neg;
                g->neg_buckets = hv->neg;
            }
            g->n_custom = hv->n_custom;
            g->custom_values = hv->custom;
            nh++;
        }
        free(samples);
        free(hs);
        free(spans);
        labelset_free(&ls);
    }
    free(vals);
    if (nhcb) {
        load_nhcb(h, block_start, h->pos, interval);
    }
}

/* load_with_nhcb: classic histogram families of the block (name_bucket with
 * le, name_count, name_sum) are also written as native histograms with
 * custom buckets under the base name (FORMAT.md section 2). */
typedef struct nhcb_group {
    char key[2048];
    labelset base;   /* other labels, __name__ = base name */
    double les[MAX_HBUCKETS];
    seq_value *buckets[MAX_HBUCKETS];
    size_t n_bucket_vals[MAX_HBUCKETS];
    size_t n_buckets;
    seq_value *count;
    size_t n_count;
    seq_value *sum;
    size_t n_sum;
} nhcb_group;

static void load_nhcb(harness *h, size_t from, size_t end, int64_t interval)
{
    enum { MAX_GROUPS = 64 };
    nhcb_group *groups = calloc(MAX_GROUPS, sizeof(*groups));
    size_t ng = 0;
    for (size_t li = from; li < end; li++) {
        labelset ls;
        const char *rest = NULL;
        if (!parse_labelset(h->lines[li], &ls, &rest)) {
            continue;
        }
        const char *name = NULL;
        const char *le = NULL;
        for (size_t k = 0; k < ls.n; k++) {
            if (strcmp(ls.names[k], "__name__") == 0) {
                name = ls.values[k];
            } else if (strcmp(ls.names[k], "le") == 0) {
                le = ls.values[k];
            }
        }
        size_t nl = name ? strlen(name) : 0;
        int kind = -1; /* 0 bucket, 1 count, 2 sum */
        if (nl > 7 && strcmp(name + nl - 7, "_bucket") == 0 && le != NULL) {
            kind = 0;
            nl -= 7;
        } else if (nl > 6 && strcmp(name + nl - 6, "_count") == 0) {
            kind = 1;
            nl -= 6;
        } else if (nl > 4 && strcmp(name + nl - 4, "_sum") == 0) {
            kind = 2;
            nl -= 4;
        }
        if (kind < 0) {
            labelset_free(&ls);
            continue;
        }
        char key[2048];
        size_t o = (size_t)snprintf(key, sizeof(key), "%.*s", (int)nl, name);
        for (size_t k = 0; k < ls.n && o < sizeof(key); k++) {
            if (strcmp(ls.names[k], "__name__") != 0 && strcmp(ls.names[k], "le") != 0) {
                o += (size_t)snprintf(key + o, sizeof(key) - o, ",%s=%s", ls.names[k],
                                      ls.values[k]);
            }
        }
        nhcb_group *g = NULL;
        for (size_t k = 0; k < ng; k++) {
            if (strcmp(groups[k].key, key) == 0) {
                g = &groups[k];
            }
        }
        if (g == NULL && ng < MAX_GROUPS) {
            g = &groups[ng++];
            snprintf(g->key, sizeof(g->key), "%s", key);
            for (size_t k = 0; k < ls.n; k++) {
                if (strcmp(ls.names[k], "le") == 0) {
                    continue;
                }
                g->base.names[g->base.n] = strdup(ls.names[k]);
                g->base.values[g->base.n] = strcmp(ls.names[k], "__name__") == 0
                                                ? strndup(name, nl)
                                                : strdup(ls.values[k]);
                g->base.n++;
            }
        }
        seq_value *vals = malloc(sizeof(seq_value) * MAX_VALUES);
        size_t n = 0;
        if (g == NULL || !expand_values(rest, vals, &n, MAX_VALUES)) {
            free(vals);
            labelset_free(&ls);
            continue;
        }
        if (kind == 0) {
            const char *lp = le;
            double bound;
            if (g->n_buckets < MAX_HBUCKETS && scan_number(&lp, &bound) && *lp == '\0' &&
                !isnan(bound)) {
                g->les[g->n_buckets] = bound;
                g->buckets[g->n_buckets] = vals;
                g->n_bucket_vals[g->n_buckets] = n;
                g->n_buckets++;
                vals = NULL;
            }
        } else if (kind == 1) {
            free(g->count);
            g->count = vals;
            g->n_count = n;
            vals = NULL;
        } else {
            free(g->sum);
            g->sum = vals;
            g->n_sum = n;
            vals = NULL;
        }
        free(vals);
        labelset_free(&ls);
    }
    for (size_t gi = 0; gi < ng; gi++) {
        nhcb_group *g = &groups[gi];
        if (g->n_buckets == 0) {
            continue;
        }
        /* Sort buckets by bound. */
        for (size_t i = 1; i < g->n_buckets; i++) {
            for (size_t j = i; j > 0 && g->les[j - 1] > g->les[j]; j--) {
                double tb = g->les[j];
                g->les[j] = g->les[j - 1];
                g->les[j - 1] = tb;
                seq_value *tv = g->buckets[j];
                g->buckets[j] = g->buckets[j - 1];
                g->buckets[j - 1] = tv;
                size_t tn = g->n_bucket_vals[j];
                g->n_bucket_vals[j] = g->n_bucket_vals[j - 1];
                g->n_bucket_vals[j - 1] = tn;
            }
        }
        size_t steps = 0;
        for (size_t b = 0; b < g->n_buckets; b++) {
            if (g->n_bucket_vals[b] > steps) {
                steps = g->n_bucket_vals[b];
            }
        }
        br_histogram_sample *hs = calloc(steps + 1, sizeof(*hs));
        double *counts = calloc((steps + 1) * (MAX_HBUCKETS + 1), sizeof(double));
        double *custom = calloc(MAX_HBUCKETS + 1, sizeof(double));
        br_span *spans = calloc(steps + 1, sizeof(br_span));
        size_t nc = 0;
        bool has_inf = isinf(g->les[g->n_buckets - 1]);
        for (size_t b = 0; b < g->n_buckets; b++) {
            if (!isinf(g->les[b])) {
                custom[nc++] = g->les[b];
            }
        }
        size_t nh = 0;
        for (size_t i = 0; i < steps; i++) {
            bool any = false;
            for (size_t b = 0; b < g->n_buckets; b++) {
                if (i < g->n_bucket_vals[b] && g->buckets[b][i].present &&
                    !g->buckets[b][i].histogram) {
                    any = true;
                }
            }
            if (!any) {
                continue;
            }
            double *c = counts + nh * (MAX_HBUCKETS + 1);
            double prev = 0;
            size_t k = 0;
            double highest = 0;
            for (size_t b = 0; b < g->n_buckets; b++) {
                double cum = (i < g->n_bucket_vals[b] && g->buckets[b][i].present)
                                 ? g->buckets[b][i].v
                                 : prev;
                c[k++] = cum - prev;
                prev = cum;
                highest = cum;
            }
            double count = (g->count && i < g->n_count && g->count[i].present) ? g->count[i].v
                                                                               : highest;
            if (!has_inf) {
                c[k++] = count - highest;
            }
            br_histogram *hg = &hs[nh].h;
            hs[nh].t = (int64_t)i * interval;
            hg->schema = -53;
            hg->is_float = true;
            hg->count = count;
            hg->sum = (g->sum && i < g->n_sum && g->sum[i].present) ? g->sum[i].v : 0;
            spans[nh] = (br_span){0, (uint32_t)k};
            hg->n_pos_spans = 1;
            hg->pos_spans = &spans[nh];
            hg->n_pos = (uint32_t)k;
            hg->pos_buckets = c;
            hg->n_custom = (uint32_t)nc;
            hg->custom_values = custom;
            nh++;
        }
        labelset_sort(&g->base);
        br_label labels[MAX_LABELS];
        for (size_t k = 0; k < g->base.n; k++) {
            labels[k].name = g->base.names[k];
            labels[k].value = g->base.values[k];
        }
        br_series_input in = {.labels = labels, .n_labels = g->base.n, .histograms = hs,
                              .n_histograms = nh};
        br_commit_result r;
        br_err err;
        br_err_clear(&err);
        (void)br_head_commit(h->head, &in, 1, &r, &err);
        free(hs);
        free(counts);
        free(custom);
        free(spans);
    }
    for (size_t gi = 0; gi < ng; gi++) {
        for (size_t b = 0; b < groups[gi].n_buckets; b++) {
            free(groups[gi].buckets[b]);
        }
        free(groups[gi].count);
        free(groups[gi].sum);
        labelset_free(&groups[gi].base);
    }
    free(groups);
}

typedef struct expectation {
    bool fail;
    bool ordered;
    bool want_warn;
    bool want_info;
    bool no_warn;
    bool no_info;
    bool is_string;
    char string[1024];
    bool range_vector;
    int64_t rv_start;
    int64_t rv_end;
    int64_t rv_step;
    bool scalar;
    double scalar_value;
    size_t n_series;
    labelset series[512];
    seq_value *values[512];
    size_t n_values[512];
    bool unsupported;
} expectation;

static void expectation_free(expectation *e)
{
    for (size_t i = 0; i < e->n_series; i++) {
        labelset_free(&e->series[i]);
        free(e->values[i]);
    }
}

static bool parse_expectations(harness *h, expectation *e)
{
    while (h->pos < h->n_lines && h->lines[h->pos][0] != '\0') {
        const char *line = h->lines[h->pos++];
        if (strncmp(line, "expect ", 7) == 0) {
            const char *what = line + 7;
            if (strncmp(what, "fail", 4) == 0) {
                e->fail = true;
            } else if (strncmp(what, "ordered", 7) == 0) {
                e->ordered = true;
            } else if (strncmp(what, "no_warn", 7) == 0) {
                e->no_warn = true;
            } else if (strncmp(what, "no_info", 7) == 0) {
                e->no_info = true;
            } else if (strncmp(what, "warn", 4) == 0) {
                e->want_warn = true;
            } else if (strncmp(what, "info", 4) == 0) {
                e->want_info = true;
            } else if (strncmp(what, "string", 6) == 0) {
                e->is_string = true;
                size_t pos = 0;
                const char *q = what + 6;
                while (*q == ' ') {
                    q++;
                }
                br_err err;
                if (br_promql_unquote(q, &pos, e->string, sizeof(e->string), &err) != 0) {
                    return false;
                }
            } else if (strncmp(what, "range vector from ", 18) == 0) {
                char s[64], en[64], st[64];
                if (sscanf(what + 18, "%63s to %63s step %63s", s, en, st) != 3) {
                    return false;
                }
                e->range_vector = true;
                e->rv_start = parse_dur(s);
                e->rv_end = parse_dur(en);
                e->rv_step = parse_dur(st);
            }
            continue;
        }
        if (strncmp(line, "expected_fail_message", 21) == 0 ||
            strncmp(line, "expected_fail_regexp", 20) == 0) {
            break;
        }
        const char *p = line;
        double v;
        if (scan_number(&p, &v) && *trim((char *)p) == '\0' && strchr(line, '{') == NULL) {
            e->scalar = true;
            e->scalar_value = v;
            break;
        }
        if (e->n_series >= 512) {
            e->unsupported = true;
            continue;
        }
        labelset *ls = &e->series[e->n_series];
        const char *rest = NULL;
        if (!parse_labelset(line, ls, &rest)) {
            e->unsupported = true;
            continue;
        }
        seq_value *vals = malloc(sizeof(seq_value) * 20000);
        size_t n = 0;
        if (!expand_values(rest, vals, &n, 20000)) {
            free(vals);
            labelset_free(ls);
            e->unsupported = true;
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            if (vals[i].bad_histogram) {
                e->unsupported = true;
            }
        }
        e->values[e->n_series] = vals;
        e->n_values[e->n_series] = n;
        e->n_series++;
    }
    return true;
}

/* Compares a matrix-shaped result against expectations stepping from start. */
static bool check_matrix(harness *h, int line, const expectation *e, const br_promql_result *r,
                         int64_t start, int64_t step)
{
    char msg[512];
    if (r->type != BR_VALUE_MATRIX) {
        report_fail(h, line, "expected a matrix result");
        return false;
    }
    if (r->n_series != e->n_series) {
        snprintf(msg, sizeof(msg), "expected %zu series, got %zu", e->n_series, r->n_series);
        report_fail(h, line, msg);
        return false;
    }
    for (size_t i = 1; i < r->n_series; i++) {
        /* Matrices must be sorted by labels. */
        const br_result_series *a = &r->series[i - 1];
        const br_result_series *b = &r->series[i];
        int c = 0;
        for (size_t k = 0; k < a->n_labels && k < b->n_labels && c == 0; k++) {
            c = strcmp(a->labels[k].name, b->labels[k].name);
            if (c == 0) {
                c = strcmp(a->labels[k].value, b->labels[k].value);
            }
        }
        if (c == 0) {
            c = (a->n_labels > b->n_labels) - (a->n_labels < b->n_labels);
        }
        if (c > 0) {
            report_fail(h, line, "matrix not sorted by labels");
            return false;
        }
    }
    for (size_t i = 0; i < e->n_series; i++) {
        const br_result_series *got = NULL;
        for (size_t k = 0; k < r->n_series; k++) {
            if (labels_equal_result(&e->series[i], &r->series[k])) {
                got = &r->series[k];
            }
        }
        if (got == NULL) {
            report_fail(h, line, "an expected series is missing");
            return false;
        }
        size_t gp = 0;
        for (size_t k = 0; k < e->n_values[i]; k++) {
            const seq_value *ev = &e->values[i][k];
            int64_t t = start + (int64_t)k * step;
            if (!ev->present) {
                if (gp < got->n_points && got->points[gp].t == t) {
                    snprintf(msg, sizeof(msg), "unexpected point at %lld", (long long)t);
                    report_fail(h, line, msg);
                    return false;
                }
                continue;
            }
            if (gp >= got->n_points || got->points[gp].t != t ||
                !point_equal(ev, &got->points[gp])) {
                snprintf(msg, sizeof(msg), "at %lld expected %g, got %s%g", (long long)t, ev->v,
                         gp < got->n_points ? "" : "nothing ",
                         gp < got->n_points ? got->points[gp].v : 0.0);
                report_fail(h, line, msg);
                return false;
            }
            gp++;
        }
        if (gp != got->n_points) {
            report_fail(h, line, "more points than expected");
            return false;
        }
    }
    return true;
}

static bool check_vector(harness *h, int line, const expectation *e, const br_promql_result *r)
{
    char msg[1024];
    if (r->type != BR_VALUE_VECTOR) {
        snprintf(msg, sizeof(msg), "expected a vector, got type %d", r->type);
        report_fail(h, line, msg);
        return false;
    }
    if (r->n_series != e->n_series) {
        snprintf(msg, sizeof(msg), "expected %zu series, got %zu", e->n_series, r->n_series);
        if (r->n_series > 0) {
            char l[400];
            format_result_labels(&r->series[0], l, sizeof(l));
            snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), " (first %s)", l);
        }
        report_fail(h, line, msg);
        return false;
    }
    for (size_t i = 0; i < e->n_series; i++) {
        const br_result_series *got = NULL;
        if (e->ordered) {
            got = labels_equal_result(&e->series[i], &r->series[i]) ? &r->series[i] : NULL;
        } else {
            for (size_t k = 0; k < r->n_series; k++) {
                if (labels_equal_result(&e->series[i], &r->series[k])) {
                    got = &r->series[k];
                }
            }
        }
        if (got == NULL) {
            char l[400];
            format_result_labels(&r->series[i < r->n_series ? i : 0], l, sizeof(l));
            snprintf(msg, sizeof(msg), "expected series %zu missing or out of order (got e.g. %s)",
                     i, l);
            report_fail(h, line, msg);
            return false;
        }
        if (e->n_values[i] != 1 || got->n_points != 1 ||
            !point_equal(&e->values[i][0], &got->points[0])) {
            snprintf(msg, sizeof(msg), "series %zu: expected %g, got %g", i,
                     e->n_values[i] ? e->values[i][0].v : NAN,
                     got->n_points ? got->points[0].v : NAN);
            report_fail(h, line, msg);
            return false;
        }
    }
    return true;
}

static void cmd_eval(harness *h, const char *cmd, const char *args)
{
    int line = h->line_no;
    expectation *e = calloc(1, sizeof(*e));
    bool is_range = false;
    int64_t at = 0, start = 0, end = 0, step = 0;
    const char *expr = NULL;
    char a[64], b[64], c[64];
    int consumed = 0;
    if (strncmp(args, "instant at ", 11) == 0 && sscanf(args + 11, "%63s%n", a, &consumed) == 1) {
        at = parse_dur(a);
        expr = args + 11 + consumed;
    } else if (strncmp(args, "range from ", 11) == 0 &&
               sscanf(args + 11, "%63s to %63s step %63s%n", a, b, c, &consumed) == 3) {
        is_range = true;
        start = parse_dur(a);
        end = parse_dur(b);
        step = parse_dur(c);
        expr = args + 11 + consumed;
    } else {
        free(e);
        return;
    }
    while (*expr == ' ') {
        expr++;
    }
    if (strcmp(cmd, "eval_fail") == 0) {
        e->fail = true;
    } else if (strcmp(cmd, "eval_ordered") == 0) {
        e->ordered = true;
    } else if (strcmp(cmd, "eval_warn") == 0) {
        e->want_warn = true;
    } else if (strcmp(cmd, "eval_info") == 0) {
        e->want_info = true;
    }
    bool parsed = parse_expectations(h, e);
    h->evals++;
    br_queryable q;
    br_queryable_local(h->head, &q);
    /* Upstream runs the newer scripts with every experimental feature on. */
    br_promql_options opts = {.compat = h->compat,
                              .delayed_name_removal = h->compat == BR_PROMQL_COMPAT_V3,
                              .experimental_syntax = h->compat == BR_PROMQL_COMPAT_V3};
    br_arena arena;
    br_arena_init(&arena, 0, 0);
    br_promql_result r;
    memset(&r, 0, sizeof(r));
    br_err err;
    br_err_clear(&err);
    int rc;
    if (is_range) {
        rc = br_promql_eval_range(&q, &opts, expr, start, end, step, &arena, &r, &err);
    } else {
        rc = br_promql_eval_instant(&q, &opts, expr, e->range_vector ? e->rv_end : at, &arena,
                                    &r, &err);
    }
    bool ok = parsed;
    char msg[600];
    if (!ok) {
        report_fail(h, line, "unparsable expectations");
    } else if (e->fail) {
        ok = rc != 0;
        if (!ok) {
            report_fail(h, line, "expected an error");
        }
    } else if (rc != 0) {
        snprintf(msg, sizeof(msg), "error: %s", err.msg);
        report_fail(h, line, msg);
        ok = false;
    } else if (e->unsupported) {
        report_fail(h, line, "expectation uses unsupported notation (native histograms)");
        ok = false;
    } else if (e->is_string) {
        ok = r.type == BR_VALUE_STRING && strcmp(r.string, e->string) == 0;
        if (!ok) {
            report_fail(h, line, "string mismatch");
        }
    } else if (e->scalar) {
        ok = r.type == BR_VALUE_SCALAR && floats_equal(e->scalar_value, r.scalar);
        if (!ok) {
            snprintf(msg, sizeof(msg), "expected scalar %g, got type %d value %g", e->scalar_value,
                     r.type, r.scalar);
            report_fail(h, line, msg);
        }
    } else if (is_range) {
        ok = check_matrix(h, line, e, &r, start, step);
    } else if (e->range_vector) {
        ok = check_matrix(h, line, e, &r, e->rv_start, e->rv_step);
    } else {
        ok = check_vector(h, line, e, &r);
    }
    if (ok && !e->fail) {
        if ((e->want_warn && r.n_warnings == 0) || (e->no_warn && r.n_warnings > 0) ||
            (e->want_info && r.n_infos == 0) || (e->no_info && r.n_infos > 0)) {
            report_fail(h, line, "annotations differ");
            ok = false;
        }
    }
    if (ok) {
        h->passed++;
    }
    br_arena_free(&arena);
    expectation_free(e);
    free(e);
}

static void run_file(harness *h, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return;
    }
    size_t cap = 1024;
    h->lines = malloc(sizeof(char *) * cap);
    h->n_lines = 0;
    char *buf = malloc(MAX_LINE);
    while (fgets(buf, MAX_LINE, f) != NULL) {
        if (h->n_lines == cap) {
            cap *= 2;
            h->lines = realloc(h->lines, sizeof(char *) * cap);
        }
        h->lines[h->n_lines++] = strdup(trim(buf));
    }
    free(buf);
    fclose(f);
    reset_head(h);
    h->pos = 0;
    while (h->pos < h->n_lines) {
        h->line_no = (int)h->pos + 1;
        char *line = h->lines[h->pos++];
        if (line[0] == '\0') {
            continue;
        }
        char word[64];
        sscanf(line, "%63s", word);
        const char *args = line + strlen(word);
        while (*args == ' ') {
            args++;
        }
        for (char *w = word; *w; w++) {
            *w = (char)tolower((unsigned char)*w);
        }
        if (strcmp(word, "clear") == 0) {
            reset_head(h);
        } else if (strncmp(word, "load", 4) == 0) {
            cmd_load(h, args, strcmp(word, "load_with_nhcb") == 0);
        } else if (strncmp(word, "eval", 4) == 0) {
            cmd_eval(h, word, args);
        }
    }
    for (size_t i = 0; i < h->n_lines; i++) {
        free(h->lines[i]);
    }
    free(h->lines);
    h->lines = NULL;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Runs every .test file in dir; returns the pass rate. */
static double run_dir(const char *dir, br_promql_compat compat)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "  %s is absent (a clone without shared/ beside it): skipping\n", dir);
        return -1;
    }
    char *names[256];
    size_t n = 0;
    struct dirent *ent;
    const char *only = getenv("BR_PEER_ONLY"); /* one file, while debugging */
    while ((ent = readdir(d)) != NULL && n < 256) {
        size_t len = strlen(ent->d_name);
        if (len > 5 && strcmp(ent->d_name + len - 5, ".test") == 0 &&
            (only == NULL || strcmp(only, ent->d_name) == 0)) {
            names[n++] = strdup(ent->d_name);
        }
    }
    closedir(d);
    qsort(names, n, sizeof(char *), cmp_names);
    size_t evals = 0;
    size_t passed = 0;
    for (size_t i = 0; i < n; i++) {
        char path[2048];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        harness h;
        memset(&h, 0, sizeof(h));
        h.compat = compat;
        h.file = names[i];
        run_file(&h, path);
        br_head_close(h.head);
        fprintf(stderr, "  %-28s %4zu / %4zu evals pass\n", names[i], h.passed, h.evals);
        evals += h.evals;
        passed += h.passed;
        free(names[i]);
    }
    double rate = evals ? (double)passed / (double)evals : 0;
    fprintf(stderr, "  total: %zu / %zu evals pass (%.1f%%)\n", passed, evals, 100 * rate);
    return rate;
}

static const char *peer_dir(void)
{
    static char path[1024];
    const char *src = getenv("BR_SOURCE_DIR");
    snprintf(path, sizeof(path), "%s/../shared/peer-tests/promql", src ? src : ".");
    return path;
}

static void test_promql_scripts_v242(void **state)
{
    (void)state;
    char dir[1100];
    snprintf(dir, sizeof(dir), "%s/testdata-v2.42", peer_dir());
    fprintf(stderr, "Prometheus 2.42 scripts (compat v2):\n");
    double rate = run_dir(dir, BR_PROMQL_COMPAT_V2);
    if (rate < 0) {
        skip();
    }
    assert_true(rate >= PASS_FLOOR_V242);
}

static void test_promql_scripts_v3(void **state)
{
    (void)state;
    char dir[1100];
    snprintf(dir, sizeof(dir), "%s/testdata", peer_dir());
    fprintf(stderr, "Prometheus 3.x scripts (default mode):\n");
    double rate = run_dir(dir, BR_PROMQL_COMPAT_V3);
    if (rate < 0) {
        skip();
    }
    assert_true(rate >= PASS_FLOOR_V3);
}

int main(void)
{
    verbose = getenv("BR_PEER_VERBOSE") != NULL;
    /* BR_PEER_SET=v242 or v3 runs one set (ctest runs them in parallel). */
    const char *set = getenv("BR_PEER_SET");
    const struct CMUnitTest v242[] = {cmocka_unit_test(test_promql_scripts_v242)};
    const struct CMUnitTest v3[] = {cmocka_unit_test(test_promql_scripts_v3)};
    const struct CMUnitTest all[] = {
        cmocka_unit_test(test_promql_scripts_v242),
        cmocka_unit_test(test_promql_scripts_v3),
    };
    if (set != NULL && strcmp(set, "v242") == 0) {
        return cmocka_run_group_tests_name("promql_scripts_v242", v242, NULL, NULL);
    }
    if (set != NULL && strcmp(set, "v3") == 0) {
        return cmocka_run_group_tests_name("promql_scripts_v3", v3, NULL, NULL);
    }
    return cmocka_run_group_tests_name("promql_scripts", all, NULL, NULL);
}
