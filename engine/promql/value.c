/*
 * value.c — label sets, number formatting, float native histograms and a
 * small hash map for the PromQL evaluator. See value.h.
 *
 * Histogram arithmetic follows Prometheus' model/histogram/float_histogram.go
 * in meaning (schema reduction merges bucket idx into ((idx-1) >> d) + 1;
 * the larger zero threshold wins and absorbs the buckets below it, widened
 * to a bucket boundary when a populated bucket straddles it; custom-bucket
 * histograms with different bounds are mapped onto the intersection of the
 * bounds), on the dense bucket arrays described in value.h.
 *
 * Everything here runs on the evaluating thread only and allocates from the
 * evaluation's arena.
 */
#include "value.h"

#include "engine/core/hash.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hostile spans could ask for a huge dense array; refuse beyond this. */
#define MAX_DENSE_BUCKETS (1u << 17)

/* ======================================================================== */
/* Kahan-Neumaier summation                                                 */
/* ======================================================================== */

void br_kahan_inc(double inc, double *sum, double *c)
{
    volatile double s = *sum;
    volatile double t = s + inc;
    if (isinf(t)) {
        *c = 0;
    } else if (fabs(s) >= fabs(inc)) {
        volatile double d = s - t;
        *c += d + inc;
    } else {
        volatile double d = inc - t;
        *c += d + s;
    }
    *sum = t;
}

/* Go's math.Max and math.Min: an infinity of the right sign wins, then
 * NaN, and +0 is greater than -0. */
double br_go_max(double a, double b)
{
    if (isinf(a) && a > 0) {
        return a;
    }
    if (isinf(b) && b > 0) {
        return b;
    }
    if (isnan(a) || isnan(b)) {
        return NAN;
    }
    if (a == 0 && a == b) {
        return signbit(a) ? b : a;
    }
    return a > b ? a : b;
}

double br_go_min(double a, double b)
{
    if (isinf(a) && a < 0) {
        return a;
    }
    if (isinf(b) && b < 0) {
        return b;
    }
    if (isnan(a) || isnan(b)) {
        return NAN;
    }
    if (a == 0 && a == b) {
        return signbit(a) ? a : b;
    }
    return a < b ? a : b;
}

/* ======================================================================== */
/* Label sets                                                               */
/* ======================================================================== */

const char *br_lset_get(br_lset ls, const char *name)
{
    size_t lo = 0;
    size_t hi = ls.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ls.v[mid].name, name);
        if (c == 0) {
            return ls.v[mid].value;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

int br_lset_cmp(br_lset a, br_lset b)
{
    size_t n = a.n < b.n ? a.n : b.n;
    for (size_t i = 0; i < n; i++) {
        int c = strcmp(a.v[i].name, b.v[i].name);
        if (c != 0) {
            return c;
        }
        c = strcmp(a.v[i].value, b.v[i].value);
        if (c != 0) {
            return c;
        }
    }
    return (a.n > b.n) - (a.n < b.n);
}

bool br_lset_equal(br_lset a, br_lset b)
{
    if (a.n != b.n) {
        return false;
    }
    for (size_t i = 0; i < a.n; i++) {
        if (a.v[i].name != b.v[i].name && strcmp(a.v[i].name, b.v[i].name) != 0) {
            return false;
        }
        if (a.v[i].value != b.v[i].value && strcmp(a.v[i].value, b.v[i].value) != 0) {
            return false;
        }
    }
    return true;
}

static uint64_t hash_pair(uint64_t h, const br_label *l)
{
    h = br_hash64(l->name, strlen(l->name), h ^ 0x9e3779b97f4a7c15ULL);
    h = br_hash64(l->value, strlen(l->value), h + 0xff);
    return h;
}

uint64_t br_lset_hash(br_lset ls)
{
    uint64_t h = 0x5bd1e995ULL;
    for (size_t i = 0; i < ls.n; i++) {
        h = hash_pair(h, &ls.v[i]);
    }
    return h;
}

bool br_names_contain(const char *const *names, size_t nn, const char *name)
{
    size_t lo = 0;
    size_t hi = nn;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(names[mid], name);
        if (c == 0) {
            return true;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return false;
}

uint64_t br_lset_hash_sel(br_lset ls, const char *const *names, size_t nn, bool keep)
{
    uint64_t h = 0x5bd1e995ULL;
    for (size_t i = 0; i < ls.n; i++) {
        if (br_names_contain(names, nn, ls.v[i].name) == keep) {
            h = hash_pair(h, &ls.v[i]);
        }
    }
    return h;
}

static int lset_filter(br_arena *a, br_lset in, const char *const *names, size_t nn, bool keep,
                       br_lset *out)
{
    br_label *v = br_arena_alloc(a, sizeof(*v) * (in.n + 1));
    if (v == NULL) {
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < in.n; i++) {
        if (br_names_contain(names, nn, in.v[i].name) == keep) {
            v[n++] = in.v[i];
        }
    }
    out->v = v;
    out->n = n;
    return 0;
}

int br_lset_keep(br_arena *a, br_lset in, const char *const *names, size_t nn, br_lset *out)
{
    return lset_filter(a, in, names, nn, true, out);
}

int br_lset_del(br_arena *a, br_lset in, const char *const *names, size_t nn, br_lset *out)
{
    return lset_filter(a, in, names, nn, false, out);
}

int br_lset_set(br_arena *a, br_lset in, const char *name, const char *value, br_lset *out)
{
    br_label *v = br_arena_alloc(a, sizeof(*v) * (in.n + 2));
    if (v == NULL) {
        return -1;
    }
    const char *val = NULL;
    if (value[0] != '\0') {
        val = br_arena_strdup(a, value);
        if (val == NULL) {
            return -1;
        }
    }
    size_t n = 0;
    bool placed = false;
    for (size_t i = 0; i < in.n; i++) {
        int c = strcmp(in.v[i].name, name);
        if (c == 0) {
            if (val != NULL) {
                v[n].name = in.v[i].name;
                v[n].value = val;
                n++;
            }
            placed = true;
            continue;
        }
        if (c > 0 && !placed) {
            if (val != NULL) {
                v[n].name = br_arena_strdup(a, name);
                if (v[n].name == NULL) {
                    return -1;
                }
                v[n].value = val;
                n++;
            }
            placed = true;
        }
        v[n++] = in.v[i];
    }
    if (!placed && val != NULL) {
        v[n].name = br_arena_strdup(a, name);
        if (v[n].name == NULL) {
            return -1;
        }
        v[n].value = val;
        n++;
    }
    out->v = v;
    out->n = n;
    return 0;
}

int br_lset_drop_name(br_arena *a, br_lset in, bool v3, br_lset *out)
{
    static const char *const meta_v3[] = {"__name__", "__type__", "__unit__"};
    static const char *const meta_v2[] = {"__name__"};
    bool found = false;
    for (size_t i = 0; i < in.n && !found; i++) {
        found = strcmp(in.v[i].name, "__name__") == 0 ||
                (v3 && (strcmp(in.v[i].name, "__type__") == 0 ||
                        strcmp(in.v[i].name, "__unit__") == 0));
    }
    if (!found) {
        *out = in;
        return 0;
    }
    return v3 ? br_lset_del(a, in, meta_v3, 3, out) : br_lset_del(a, in, meta_v2, 1, out);
}

static bool is_legacy_name(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' || *s == ':')) {
        return false;
    }
    for (s++; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == ':')) {
            return false;
        }
    }
    return true;
}

/* Go's strconv.Quote for the ASCII-safe subset: escapes ", \ and control
 * bytes; other bytes are copied (valid UTF-8 passes through unchanged). */
static int quote_go(br_buf *out, const char *s)
{
    int rc = br_buf_putc(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; rc == 0 && *p; p++) {
        switch (*p) {
        case '"': rc = br_buf_puts(out, "\\\""); break;
        case '\\': rc = br_buf_puts(out, "\\\\"); break;
        case '\n': rc = br_buf_puts(out, "\\n"); break;
        case '\t': rc = br_buf_puts(out, "\\t"); break;
        case '\r': rc = br_buf_puts(out, "\\r"); break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                rc = br_buf_printf(out, "\\x%02x", *p);
            } else {
                rc = br_buf_putc(out, (char)*p);
            }
        }
    }
    if (rc == 0) {
        rc = br_buf_putc(out, '"');
    }
    return rc;
}

int br_lset_format(br_lset ls, br_buf *out)
{
    int rc = br_buf_putc(out, '{');
    for (size_t i = 0; rc == 0 && i < ls.n; i++) {
        if (i > 0) {
            rc = br_buf_puts(out, ", ");
        }
        if (rc == 0) {
            rc = is_legacy_name(ls.v[i].name) ? br_buf_puts(out, ls.v[i].name)
                                              : quote_go(out, ls.v[i].name);
        }
        if (rc == 0) {
            rc = br_buf_putc(out, '=');
        }
        if (rc == 0) {
            rc = quote_go(out, ls.v[i].value);
        }
    }
    if (rc == 0) {
        rc = br_buf_putc(out, '}');
    }
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t br_names_sort(const char **names, size_t n)
{
    if (n == 0) {
        return 0;
    }
    qsort(names, n, sizeof(*names), cmp_names);
    size_t w = 1;
    for (size_t i = 1; i < n; i++) {
        if (strcmp(names[i], names[w - 1]) != 0) {
            names[w++] = names[i];
        }
    }
    return w;
}

/* ======================================================================== */
/* Float formatting                                                         */
/* ======================================================================== */

/* Shortest digits that read back to v: fills digits (no dot) and the decimal
 * exponent of the first digit (v = 0.d1d2... * 10^(exp+1)). */
static void shortest_digits(double v, char *digits, size_t size, int *exp10)
{
    char buf[64];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec - 1, v);
        if (strtod(buf, NULL) == v || prec == 17) {
            break;
        }
    }
    /* buf is d.ddde[+-]xx */
    size_t n = 0;
    const char *p = buf;
    for (; *p && *p != 'e'; p++) {
        if (*p >= '0' && *p <= '9' && n + 1 < size) {
            digits[n++] = *p;
        }
    }
    while (n > 1 && digits[n - 1] == '0') {
        n--;
    }
    digits[n] = '\0';
    *exp10 = (*p == 'e') ? atoi(p + 1) : 0;
}

static const char *special_float(double v)
{
    if (isnan(v)) {
        return "NaN";
    }
    if (isinf(v)) {
        return v > 0 ? "+Inf" : "-Inf";
    }
    return NULL;
}

const char *br_format_float_f(double v, char *out, size_t size)
{
    const char *sp = special_float(v);
    if (sp != NULL) {
        snprintf(out, size, "%s", sp);
        return out;
    }
    if (v == 0) {
        snprintf(out, size, "%s", signbit(v) ? "-0" : "0");
        return out;
    }
    char digits[32];
    int e;
    shortest_digits(fabs(v), digits, sizeof(digits), &e);
    size_t nd = strlen(digits);
    size_t o = 0;
    char tmp[400];
    if (v < 0) {
        tmp[o++] = '-';
    }
    if (e < 0) {
        tmp[o++] = '0';
        tmp[o++] = '.';
        for (int i = 0; i < -e - 1 && o < sizeof(tmp) - 40; i++) {
            tmp[o++] = '0';
        }
        for (size_t i = 0; i < nd; i++) {
            tmp[o++] = digits[i];
        }
    } else {
        for (int i = 0; i <= e && o < sizeof(tmp) - 40; i++) {
            tmp[o++] = (size_t)i < nd ? digits[i] : '0';
        }
        if ((size_t)e + 1 < nd) {
            tmp[o++] = '.';
            for (size_t i = (size_t)e + 1; i < nd; i++) {
                tmp[o++] = digits[i];
            }
        }
    }
    tmp[o] = '\0';
    snprintf(out, size, "%s", tmp);
    return out;
}

const char *br_format_float_g(double v, char *out, size_t size)
{
    const char *sp = special_float(v);
    if (sp != NULL) {
        snprintf(out, size, "%s", sp);
        return out;
    }
    if (v == 0) {
        snprintf(out, size, "%s", signbit(v) ? "-0" : "0");
        return out;
    }
    char digits[32];
    int e;
    shortest_digits(fabs(v), digits, sizeof(digits), &e);
    size_t nd = strlen(digits);
    if (e < -4 || e >= 6) {
        char m[40];
        size_t o = 0;
        m[o++] = digits[0];
        if (nd > 1) {
            m[o++] = '.';
            for (size_t i = 1; i < nd; i++) {
                m[o++] = digits[i];
            }
        }
        m[o] = '\0';
        snprintf(out, size, "%s%se%c%02d", v < 0 ? "-" : "", m, e < 0 ? '-' : '+', abs(e));
        return out;
    }
    return br_format_float_f(v, out, size);
}

/* ======================================================================== */
/* Histograms                                                               */
/* ======================================================================== */

static int64_t floor_shift(int64_t v, int s)
{
    /* floor(v / 2^s) without relying on signed right shifts. */
    int64_t d = (int64_t)1 << s;
    int64_t q = v / d;
    if ((v % d) != 0 && v < 0) {
        q--;
    }
    return q;
}

double br_fhist_bound(int32_t idx, int32_t schema)
{
    if (schema < 0) {
        int64_t e = (int64_t)idx * ((int64_t)1 << -schema);
        if (e == 1024) {
            return DBL_MAX;
        }
        if (e > 1100) {
            return INFINITY;
        }
        if (e < -1100) {
            return 0;
        }
        return ldexp(1, (int)e);
    }
    int64_t per = (int64_t)1 << schema;
    int64_t frac_idx = (int64_t)idx - floor_shift(idx, schema) * per;
    double frac = exp2((double)frac_idx / (double)per) / 2;
    if (frac_idx == 0) {
        frac = 0.5;
    }
    int64_t e = floor_shift(idx, schema) + 1;
    if (frac == 0.5 && e == 1025) {
        return DBL_MAX;
    }
    if (e > 1100) {
        return INFINITY;
    }
    if (e < -1100) {
        return 0;
    }
    return ldexp(frac, (int)e);
}

static double custom_bound(const br_fhist *h, int64_t idx)
{
    if (idx >= (int64_t)h->n_custom) {
        return INFINITY;
    }
    if (idx < 0) {
        return -INFINITY;
    }
    return h->custom[idx];
}

static double *dense_alloc(br_arena *a, size_t n)
{
    if (n == 0) {
        return NULL;
    }
    return br_arena_calloc(a, n, sizeof(double));
}

static bool spans_to_dense(br_arena *a, const br_span *spans, uint32_t n_spans,
                           const double *buckets, uint32_t n_buckets, int32_t *off, uint32_t *n,
                           double **out)
{
    *off = 0;
    *n = 0;
    *out = NULL;
    if (n_spans == 0 || n_buckets == 0) {
        return true;
    }
    int64_t idx = 0;
    int64_t first = INT64_MAX;
    int64_t last = INT64_MIN;
    uint32_t bi = 0;
    for (uint32_t s = 0; s < n_spans; s++) {
        idx += spans[s].offset;
        if (spans[s].length > 0 && bi < n_buckets) {
            if (idx < first) {
                first = idx;
            }
            int64_t end = idx + (int64_t)spans[s].length - 1;
            uint32_t avail = n_buckets - bi;
            if (spans[s].length > avail) {
                end = idx + avail - 1;
            }
            if (end > last) {
                last = end;
            }
            bi += spans[s].length < avail ? spans[s].length : avail;
        }
        idx += spans[s].length;
    }
    if (first == INT64_MAX) {
        return true;
    }
    if (last - first + 1 > (int64_t)MAX_DENSE_BUCKETS || first < INT32_MIN || last > INT32_MAX) {
        return false;
    }
    size_t size = (size_t)(last - first + 1);
    double *d = dense_alloc(a, size);
    if (d == NULL) {
        return false;
    }
    idx = 0;
    bi = 0;
    for (uint32_t s = 0; s < n_spans; s++) {
        idx += spans[s].offset;
        for (uint32_t k = 0; k < spans[s].length && bi < n_buckets; k++) {
            d[idx + k - first] += buckets[bi++];
        }
        idx += spans[s].length;
    }
    *off = (int32_t)first;
    *n = (uint32_t)size;
    *out = d;
    return true;
}

br_fhist *br_fhist_from_wire(br_arena *a, const br_histogram *w)
{
    br_fhist *h = br_arena_calloc(a, 1, sizeof(*h));
    if (h == NULL) {
        return NULL;
    }
    h->schema = w->schema;
    h->hint = w->reset_hint;
    h->zero_threshold = w->zero_threshold;
    h->zero_count = w->zero_count;
    h->count = w->count;
    h->sum = w->sum;
    if (w->schema == BR_SCHEMA_CUSTOM) {
        h->zero_threshold = 0;
        h->zero_count = 0;
        h->n_custom = w->n_custom;
        h->custom = w->custom_values;
        int32_t off;
        uint32_t n;
        double *d;
        if (!spans_to_dense(a, w->pos_spans, w->n_pos_spans, w->pos_buckets, w->n_pos, &off, &n,
                            &d)) {
            return NULL;
        }
        /* Normalise to the full layout 0..n_custom. */
        uint32_t full = w->n_custom + 1;
        double *f = dense_alloc(a, full);
        if (f == NULL) {
            return NULL;
        }
        for (uint32_t i = 0; i < n; i++) {
            int64_t idx = (int64_t)off + i;
            if (idx >= 0 && idx < (int64_t)full) {
                f[idx] += d[i];
            }
        }
        h->pos_off = 0;
        h->n_pos = full;
        h->pos = f;
        return h;
    }
    if (!spans_to_dense(a, w->pos_spans, w->n_pos_spans, w->pos_buckets, w->n_pos, &h->pos_off,
                        &h->n_pos, &h->pos)) {
        return NULL;
    }
    if (!spans_to_dense(a, w->neg_spans, w->n_neg_spans, w->neg_buckets, w->n_neg, &h->neg_off,
                        &h->n_neg, &h->neg)) {
        return NULL;
    }
    return h;
}

static bool dense_to_spans(br_arena *a, int32_t off, uint32_t n, const double *d, br_span **spans,
                           uint32_t *n_spans, double **buckets, uint32_t *n_buckets)
{
    *spans = NULL;
    *n_spans = 0;
    *buckets = NULL;
    *n_buckets = 0;
    uint32_t nz = 0;
    uint32_t runs = 0;
    bool in_run = false;
    for (uint32_t i = 0; i < n; i++) {
        if (d[i] != 0) {
            nz++;
            if (!in_run) {
                runs++;
            }
            in_run = true;
        } else {
            in_run = false;
        }
    }
    if (nz == 0) {
        return true;
    }
    br_span *sp = br_arena_alloc(a, sizeof(*sp) * runs);
    double *b = br_arena_alloc(a, sizeof(*b) * nz);
    if (sp == NULL || b == NULL) {
        return false;
    }
    uint32_t si = 0;
    uint32_t bi = 0;
    int64_t prev_end = 0; /* index after the last span */
    bool first = true;
    for (uint32_t i = 0; i < n;) {
        if (d[i] == 0) {
            i++;
            continue;
        }
        uint32_t j = i;
        while (j < n && d[j] != 0) {
            b[bi++] = d[j];
            j++;
        }
        int64_t start = (int64_t)off + i;
        sp[si].offset = (int32_t)(first ? start : start - prev_end);
        sp[si].length = j - i;
        si++;
        prev_end = (int64_t)off + j;
        first = false;
        i = j;
    }
    *spans = sp;
    *n_spans = si;
    *buckets = b;
    *n_buckets = bi;
    return true;
}

br_histogram *br_fhist_to_wire(br_arena *a, const br_fhist *h)
{
    br_histogram *w = br_arena_calloc(a, 1, sizeof(*w));
    if (w == NULL) {
        return NULL;
    }
    w->schema = h->schema;
    w->is_float = true;
    w->reset_hint = h->hint;
    w->zero_threshold = h->zero_threshold;
    w->zero_count = h->zero_count;
    w->count = h->count;
    w->sum = h->sum;
    br_span *sp;
    double *b;
    if (!dense_to_spans(a, h->pos_off, h->n_pos, h->pos, &sp, &w->n_pos_spans, &b, &w->n_pos)) {
        return NULL;
    }
    w->pos_spans = sp;
    w->pos_buckets = b;
    if (!dense_to_spans(a, h->neg_off, h->n_neg, h->neg, &sp, &w->n_neg_spans, &b, &w->n_neg)) {
        return NULL;
    }
    w->neg_spans = sp;
    w->neg_buckets = b;
    if (br_fhist_custom(h) && h->n_custom > 0) {
        double *cv = br_arena_alloc(a, sizeof(double) * h->n_custom);
        if (cv == NULL) {
            return NULL;
        }
        memcpy(cv, h->custom, sizeof(double) * h->n_custom);
        w->n_custom = h->n_custom;
        w->custom_values = cv;
    }
    return w;
}

br_fhist *br_fhist_copy(br_arena *a, const br_fhist *h)
{
    br_fhist *c = br_arena_alloc(a, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    *c = *h;
    if (h->n_pos > 0) {
        c->pos = br_arena_alloc(a, sizeof(double) * h->n_pos);
        if (c->pos == NULL) {
            return NULL;
        }
        memcpy(c->pos, h->pos, sizeof(double) * h->n_pos);
    }
    if (h->n_neg > 0) {
        c->neg = br_arena_alloc(a, sizeof(double) * h->n_neg);
        if (c->neg == NULL) {
            return NULL;
        }
        memcpy(c->neg, h->neg, sizeof(double) * h->n_neg);
    }
    return c;
}

br_fhist *br_fhist_new_comp(br_arena *a, const br_fhist *h)
{
    br_fhist *c = br_arena_calloc(a, 1, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    c->schema = h->schema;
    c->hint = h->hint;
    c->zero_threshold = h->zero_threshold;
    c->n_custom = h->n_custom;
    c->custom = h->custom;
    c->pos_off = h->pos_off;
    c->n_pos = h->n_pos;
    c->neg_off = h->neg_off;
    c->n_neg = h->n_neg;
    if (h->n_pos > 0) {
        c->pos = dense_alloc(a, h->n_pos);
        if (c->pos == NULL) {
            return NULL;
        }
    }
    if (h->n_neg > 0) {
        c->neg = dense_alloc(a, h->n_neg);
        if (c->neg == NULL) {
            return NULL;
        }
    }
    return c;
}

void br_fhist_mul(br_fhist *h, double f)
{
    h->zero_count *= f;
    h->count *= f;
    h->sum *= f;
    for (uint32_t i = 0; i < h->n_pos; i++) {
        h->pos[i] *= f;
    }
    for (uint32_t i = 0; i < h->n_neg; i++) {
        h->neg[i] *= f;
    }
    if (f < 0) {
        h->hint = BR_HIST_RESET_GAUGE;
    }
}

void br_fhist_div(br_fhist *h, double f)
{
    h->zero_count /= f;
    h->count /= f;
    h->sum /= f;
    if (f == 0) {
        h->n_pos = 0;
        h->pos = NULL;
        h->n_neg = 0;
        h->neg = NULL;
        if (br_fhist_custom(h)) {
            /* Keep the layout valid for custom buckets. */
            h->pos_off = 0;
        }
        return;
    }
    for (uint32_t i = 0; i < h->n_pos; i++) {
        h->pos[i] /= f;
    }
    for (uint32_t i = 0; i < h->n_neg; i++) {
        h->neg[i] /= f;
    }
    if (f < 0) {
        h->hint = BR_HIST_RESET_GAUGE;
    }
}

/* Reduces one dense side (and its compensation, may be NULL) to a lower
 * schema. Returns false when the arena is full. */
static bool reduce_dense(br_arena *a, int32_t *off, uint32_t *n, double **d, double **c, int delta)
{
    if (*n == 0 || delta == 0) {
        return true;
    }
    int64_t first = floor_shift((int64_t)*off - 1, delta) + 1;
    int64_t last = floor_shift((int64_t)*off + *n - 1 - 1, delta) + 1;
    size_t size = (size_t)(last - first + 1);
    double *nd = dense_alloc(a, size);
    double *nc = c != NULL ? dense_alloc(a, size) : NULL;
    if (nd == NULL || (c != NULL && nc == NULL)) {
        return false;
    }
    for (uint32_t i = 0; i < *n; i++) {
        int64_t t = floor_shift((int64_t)*off + i - 1, delta) + 1;
        if (c != NULL) {
            br_kahan_inc((*d)[i], &nd[t - first], &nc[t - first]);
            if (*c != NULL) {
                br_kahan_inc((*c)[i], &nd[t - first], &nc[t - first]);
            }
        } else {
            nd[t - first] += (*d)[i];
        }
    }
    *off = (int32_t)first;
    *n = (uint32_t)size;
    *d = nd;
    if (c != NULL) {
        *c = nc;
    }
    return true;
}

br_fhist *br_fhist_to_schema(br_arena *a, const br_fhist *h, int32_t schema)
{
    br_fhist *c = br_fhist_copy(a, h);
    if (c == NULL) {
        return NULL;
    }
    if (br_fhist_custom(h) || schema >= h->schema) {
        return c;
    }
    int delta = h->schema - schema;
    if (!reduce_dense(a, &c->pos_off, &c->n_pos, &c->pos, NULL, delta) ||
        !reduce_dense(a, &c->neg_off, &c->n_neg, &c->neg, NULL, delta)) {
        return NULL;
    }
    c->schema = schema;
    return c;
}

/* Bucket bounds in absolute value for exponential side buckets. */
static double abs_upper(const br_fhist *h, int64_t idx)
{
    return br_fhist_bound((int32_t)idx, h->schema);
}

static double abs_lower(const br_fhist *h, int64_t idx)
{
    return br_fhist_bound((int32_t)(idx - 1), h->schema);
}

/*
 * Prometheus' zeroCountForLargerThreshold: the zero count h would have with
 * a zero bucket of at least `larger`, and the threshold actually needed (a
 * populated bucket straddling the threshold widens it). c (may be NULL) is
 * h's compensation; its part is returned in *czero.
 */
static double zero_count_for(const br_fhist *h, const br_fhist *c, double larger, double *thr,
                             double *czero)
{
    double zc;
    double cz;
    if (larger == h->zero_threshold) {
        *thr = larger;
        *czero = c != NULL ? c->zero_count : 0;
        return h->zero_count;
    }
    for (;;) {
        zc = h->zero_count;
        cz = c != NULL ? c->zero_count : 0;
        for (uint32_t i = 0; i < h->n_pos; i++) {
            int64_t idx = (int64_t)h->pos_off + i;
            if (abs_lower(h, idx) >= larger) {
                break;
            }
            br_kahan_inc(h->pos[i], &zc, &cz);
            if (c != NULL && c->pos != NULL && i < c->n_pos) {
                br_kahan_inc(c->pos[i], &zc, &cz);
            }
            if (abs_upper(h, idx) > larger) {
                if (h->pos[i] != 0) {
                    larger = abs_upper(h, idx);
                }
                break;
            }
        }
        bool again = false;
        for (uint32_t i = 0; i < h->n_neg; i++) {
            int64_t idx = (int64_t)h->neg_off + i;
            if (abs_lower(h, idx) >= larger) {
                break;
            }
            br_kahan_inc(h->neg[i], &zc, &cz);
            if (c != NULL && c->neg != NULL && i < c->n_neg) {
                br_kahan_inc(c->neg[i], &zc, &cz);
            }
            if (abs_upper(h, idx) > larger) {
                if (h->neg[i] != 0) {
                    larger = abs_upper(h, idx);
                    again = true;
                }
                break;
            }
        }
        if (!again) {
            break;
        }
    }
    *thr = larger;
    *czero = cz;
    return zc;
}

/* Zeroes the buckets of h (and c) that now lie within the zero bucket. */
static void trim_in_zero(br_fhist *h, br_fhist *c)
{
    for (uint32_t i = 0; i < h->n_pos; i++) {
        if (abs_lower(h, (int64_t)h->pos_off + i) >= h->zero_threshold) {
            break;
        }
        h->pos[i] = 0;
        if (c != NULL && c->pos != NULL && i < c->n_pos) {
            c->pos[i] = 0;
        }
    }
    for (uint32_t i = 0; i < h->n_neg; i++) {
        if (abs_lower(h, (int64_t)h->neg_off + i) >= h->zero_threshold) {
            break;
        }
        h->neg[i] = 0;
        if (c != NULL && c->neg != NULL && i < c->n_neg) {
            c->neg[i] = 0;
        }
    }
}

/* Adds (or subtracts) one dense side of o into h's side, ignoring o's
 * buckets whose upper bound is within the zero threshold. */
static bool add_dense(br_arena *a, int32_t *hoff, uint32_t *hn, double **hd, double **hc,
                      int32_t ooff, uint32_t on, const double *od, const double *oc, bool sub,
                      const br_fhist *layout, double thr, bool custom)
{
    if (on == 0) {
        return true;
    }
    int64_t lo = ooff;
    int64_t hi = (int64_t)ooff + on - 1;
    if (*hn > 0) {
        if (*hoff < lo) {
            lo = *hoff;
        }
        if ((int64_t)*hoff + *hn - 1 > hi) {
            hi = (int64_t)*hoff + *hn - 1;
        }
    }
    if (hi - lo + 1 > (int64_t)MAX_DENSE_BUCKETS) {
        return false;
    }
    if (*hn == 0 || lo != *hoff || hi != (int64_t)*hoff + *hn - 1) {
        size_t size = (size_t)(hi - lo + 1);
        double *nd = dense_alloc(a, size);
        if (nd == NULL) {
            return false;
        }
        double *nc = NULL;
        if (hc != NULL) {
            nc = dense_alloc(a, size);
            if (nc == NULL) {
                return false;
            }
        }
        for (uint32_t i = 0; i < *hn; i++) {
            nd[(int64_t)*hoff + i - lo] = (*hd)[i];
            if (hc != NULL && *hc != NULL) {
                nc[(int64_t)*hoff + i - lo] = (*hc)[i];
            }
        }
        *hd = nd;
        if (hc != NULL) {
            *hc = nc;
        }
        *hoff = (int32_t)lo;
        *hn = (uint32_t)size;
    } else if (hc != NULL && *hc == NULL) {
        *hc = dense_alloc(a, *hn);
        if (*hc == NULL) {
            return false;
        }
    }
    for (uint32_t i = 0; i < on; i++) {
        int64_t idx = (int64_t)ooff + i;
        if (!custom && br_fhist_bound((int32_t)idx, layout->schema) <= thr) {
            continue;
        }
        double v = sub ? -od[i] : od[i];
        size_t k = (size_t)(idx - *hoff);
        if (hc != NULL) {
            br_kahan_inc(v, &(*hd)[k], &(*hc)[k]);
            if (oc != NULL) {
                br_kahan_inc(sub ? -oc[i] : oc[i], &(*hd)[k], &(*hc)[k]);
            }
        } else {
            (*hd)[k] += v;
        }
    }
    return true;
}

static bool counter_reset_adjust(br_fhist *h, const br_fhist *o)
{
    if (o->hint == h->hint || h->hint == BR_HIST_RESET_GAUGE) {
        return false;
    }
    if (o->hint == BR_HIST_RESET_GAUGE) {
        h->hint = BR_HIST_RESET_GAUGE;
        return false;
    }
    if (h->hint == BR_HIST_RESET_UNKNOWN) {
        return false;
    }
    if (o->hint == BR_HIST_RESET_UNKNOWN) {
        h->hint = BR_HIST_RESET_UNKNOWN;
        return false;
    }
    h->hint = BR_HIST_RESET_UNKNOWN;
    return true;
}

static bool bounds_match(const br_fhist *a, const br_fhist *b)
{
    if (a->n_custom != b->n_custom) {
        return false;
    }
    for (uint32_t i = 0; i < a->n_custom; i++) {
        if (a->custom[i] != b->custom[i]) {
            return false;
        }
    }
    return true;
}

/* Maps a custom-bucket dense array onto the intersected bounds. */
static void map_custom(const br_fhist *src, const double *d, const double *cd, const double *bounds,
                       uint32_t nb, double *tgt, double *tc, bool sub)
{
    uint32_t ii = 0;
    for (uint32_t i = 0; i < src->n_pos; i++) {
        int64_t idx = (int64_t)src->pos_off + i;
        uint32_t t = nb; /* +Inf bucket */
        if (idx < (int64_t)src->n_custom) {
            double b = src->custom[idx];
            while (ii < nb && bounds[ii] < b) {
                ii++;
            }
            t = ii;
        }
        double v = sub ? -d[i] : d[i];
        br_kahan_inc(v, &tgt[t], &tc[t]);
        if (cd != NULL) {
            br_kahan_inc(sub ? -cd[i] : cd[i], &tgt[t], &tc[t]);
        }
    }
}

static int add_custom_mismatch(br_arena *a, br_fhist *h, const br_fhist *o, bool sub, br_fhist *c)
{
    /* Intersect the bounds. */
    uint32_t cap = h->n_custom < o->n_custom ? h->n_custom : o->n_custom;
    double *bounds = cap > 0 ? br_arena_alloc(a, sizeof(double) * cap) : NULL;
    if (cap > 0 && bounds == NULL) {
        return -1;
    }
    uint32_t nb = 0;
    for (uint32_t i = 0, j = 0; i < h->n_custom && j < o->n_custom;) {
        if (h->custom[i] == o->custom[j]) {
            bounds[nb++] = h->custom[i];
            i++;
            j++;
        } else if (h->custom[i] < o->custom[j]) {
            i++;
        } else {
            j++;
        }
    }
    double *tgt = dense_alloc(a, nb + 1);
    double *tc = dense_alloc(a, nb + 1);
    if (tgt == NULL || tc == NULL) {
        return -1;
    }
    map_custom(h, h->pos, c != NULL ? c->pos : NULL, bounds, nb, tgt, tc, false);
    map_custom(o, o->pos, NULL, bounds, nb, tgt, tc, sub);
    h->custom = bounds;
    h->n_custom = nb;
    h->pos_off = 0;
    h->n_pos = nb + 1;
    h->pos = tgt;
    if (c != NULL) {
        c->custom = bounds;
        c->n_custom = nb;
        c->pos_off = 0;
        c->n_pos = nb + 1;
        c->pos = tc;
    } else {
        for (uint32_t i = 0; i <= nb; i++) {
            tgt[i] += tc[i];
        }
    }
    return 0;
}

int br_fhist_add(br_arena *a, br_fhist *h, const br_fhist *o, bool sub, br_fhist *c,
                 unsigned *flags)
{
    if (flags != NULL) {
        *flags = 0;
    }
    if (br_fhist_custom(h) != br_fhist_custom(o)) {
        return BR_FH_EINCOMPAT;
    }
    if (counter_reset_adjust(h, o) && flags != NULL) {
        *flags |= BR_FH_RESET_COLLISION;
    }
    double sign = sub ? -1 : 1;
    if (!br_fhist_custom(h)) {
        /* Reconcile the zero buckets. */
        double ozc = o->zero_count;
        double othr = o->zero_threshold;
        double oczero = 0;
        for (int guard = 0; othr != h->zero_threshold && guard < 64; guard++) {
            if (h->zero_threshold > othr) {
                ozc = zero_count_for(o, NULL, h->zero_threshold, &othr, &oczero);
            }
            if (othr > h->zero_threshold) {
                double thr;
                double cz;
                h->zero_count = zero_count_for(h, c, othr, &thr, &cz);
                h->zero_threshold = thr;
                if (c != NULL) {
                    c->zero_count = cz;
                    c->zero_threshold = thr;
                }
                trim_in_zero(h, c);
            }
        }
        if (c != NULL) {
            br_kahan_inc(sign * ozc, &h->zero_count, &c->zero_count);
            br_kahan_inc(sign * oczero, &h->zero_count, &c->zero_count);
        } else {
            h->zero_count += sign * ozc;
        }
    }
    if (c != NULL) {
        br_kahan_inc(sign * o->count, &h->count, &c->count);
        br_kahan_inc(sign * o->sum, &h->sum, &c->sum);
    } else {
        h->count += sign * o->count;
        h->sum += sign * o->sum;
    }
    if (br_fhist_custom(h)) {
        if (bounds_match(h, o)) {
            if (!add_dense(a, &h->pos_off, &h->n_pos, &h->pos, c != NULL ? &c->pos : NULL,
                           o->pos_off, o->n_pos, o->pos, NULL, sub, h, 0, true)) {
                return -1;
            }
            if (c != NULL) {
                c->pos_off = h->pos_off;
                c->n_pos = h->n_pos;
            }
            return 0;
        }
        if (flags != NULL) {
            *flags |= BR_FH_NHCB_RECONCILED;
        }
        return add_custom_mismatch(a, h, o, sub, c);
    }
    const br_fhist *src = o;
    if (o->schema < h->schema) {
        int delta = h->schema - o->schema;
        if (!reduce_dense(a, &h->pos_off, &h->n_pos, &h->pos, c != NULL ? &c->pos : NULL,
                          delta) ||
            !reduce_dense(a, &h->neg_off, &h->n_neg, &h->neg, c != NULL ? &c->neg : NULL,
                          delta)) {
            return -1;
        }
        h->schema = o->schema;
        if (c != NULL) {
            c->schema = o->schema;
            c->pos_off = h->pos_off;
            c->n_pos = h->n_pos;
            c->neg_off = h->neg_off;
            c->n_neg = h->n_neg;
        }
    } else if (o->schema > h->schema) {
        src = br_fhist_to_schema(a, o, h->schema);
        if (src == NULL) {
            return -1;
        }
    }
    if (!add_dense(a, &h->pos_off, &h->n_pos, &h->pos, c != NULL ? &c->pos : NULL, src->pos_off,
                   src->n_pos, src->pos, NULL, sub, h, h->zero_threshold, false) ||
        !add_dense(a, &h->neg_off, &h->n_neg, &h->neg, c != NULL ? &c->neg : NULL, src->neg_off,
                   src->n_neg, src->neg, NULL, sub, h, h->zero_threshold, false)) {
        return -1;
    }
    if (c != NULL) {
        c->pos_off = h->pos_off;
        c->n_pos = h->n_pos;
        c->neg_off = h->neg_off;
        c->n_neg = h->n_neg;
    }
    return 0;
}

static void trim_side(int32_t *off, uint32_t *n, double **d)
{
    uint32_t s = 0;
    while (s < *n && (*d)[s] == 0) {
        s++;
    }
    uint32_t e = *n;
    while (e > s && (*d)[e - 1] == 0) {
        e--;
    }
    if (s == e) {
        *n = 0;
        *d = NULL;
        *off = 0;
        return;
    }
    *d += s;
    *off += (int32_t)s;
    *n = e - s;
}

void br_fhist_trim(br_fhist *h)
{
    if (br_fhist_custom(h)) {
        return;
    }
    trim_side(&h->pos_off, &h->n_pos, &h->pos);
    trim_side(&h->neg_off, &h->n_neg, &h->neg);
}

size_t br_fhist_size(const br_fhist *h)
{
    return (size_t)h->n_pos + h->n_neg + 1;
}

static bool same_bits(double a, double b)
{
    uint64_t x;
    uint64_t y;
    memcpy(&x, &a, sizeof(x));
    memcpy(&y, &b, sizeof(y));
    return x == y;
}

static bool sides_equal(int32_t aoff, uint32_t an, const double *ad, int32_t boff, uint32_t bn,
                        const double *bd)
{
    int64_t lo = aoff < boff ? aoff : boff;
    int64_t ahi = (int64_t)aoff + an;
    int64_t bhi = (int64_t)boff + bn;
    int64_t hi = ahi > bhi ? ahi : bhi;
    for (int64_t i = lo; i < hi; i++) {
        double x = (i >= aoff && i < ahi) ? ad[i - aoff] : 0;
        double y = (i >= boff && i < bhi) ? bd[i - boff] : 0;
        if (x == 0 && y == 0) {
            continue;
        }
        if (!same_bits(x, y)) {
            return false;
        }
    }
    return true;
}

bool br_fhist_equals(const br_fhist *a, const br_fhist *b)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }
    if (a->schema != b->schema || !same_bits(a->count, b->count) || !same_bits(a->sum, b->sum)) {
        return false;
    }
    if (br_fhist_custom(a) && !bounds_match(a, b)) {
        return false;
    }
    if (a->zero_threshold != b->zero_threshold || !same_bits(a->zero_count, b->zero_count)) {
        return false;
    }
    return sides_equal(a->pos_off, a->n_pos, a->pos, b->pos_off, b->n_pos, b->pos) &&
           sides_equal(a->neg_off, a->n_neg, a->neg, b->neg_off, b->n_neg, b->neg);
}

/* Bucket value of a dense side at index idx after reducing to schema t
 * (from the side's schema s >= t): the sum of the merged buckets. */
static double side_reduced_at(int32_t off, uint32_t n, const double *d, int s, int t, int64_t idx)
{
    if (n == 0) {
        return 0;
    }
    if (s == t) {
        return (idx >= off && idx < (int64_t)off + n) ? d[idx - off] : 0;
    }
    int delta = s - t;
    /* Source indexes j with ((j-1) >> delta) + 1 == idx. */
    int64_t jlo = ((idx - 1) * ((int64_t)1 << delta)) + 1;
    int64_t jhi = jlo + ((int64_t)1 << delta) - 1;
    double v = 0;
    for (int64_t j = jlo; j <= jhi; j++) {
        if (j >= off && j < (int64_t)off + n) {
            v += d[j - off];
        }
    }
    return v;
}

/* Reset check on one side: any populated bucket of prev (at schema s, within
 * the zero threshold excluded) must have a >= count in cur. */
static bool side_reset(const br_fhist *cur, const br_fhist *prev, bool positive)
{
    int32_t poff = positive ? prev->pos_off : prev->neg_off;
    uint32_t pn = positive ? prev->n_pos : prev->n_neg;
    const double *pd = positive ? prev->pos : prev->neg;
    int32_t coff = positive ? cur->pos_off : cur->neg_off;
    uint32_t cn = positive ? cur->n_pos : cur->n_neg;
    const double *cd = positive ? cur->pos : cur->neg;
    if (pn == 0) {
        return false;
    }
    int s = cur->schema;
    /* Range of target indexes covered by prev's buckets. */
    int64_t tlo = (int64_t)poff;
    int64_t thi = (int64_t)poff + pn - 1;
    if (prev->schema > s) {
        int delta = prev->schema - s;
        tlo = floor_shift(tlo - 1, delta) + 1;
        thi = floor_shift(thi - 1, delta) + 1;
    }
    for (int64_t idx = tlo; idx <= thi; idx++) {
        if (br_fhist_bound((int32_t)idx, s) <= cur->zero_threshold) {
            continue;
        }
        double pv = side_reduced_at(poff, pn, pd, prev->schema, s, idx);
        double cv = side_reduced_at(coff, cn, cd, s, s, idx);
        if (cv < pv) {
            return true;
        }
    }
    return false;
}

bool br_fhist_detect_reset(const br_fhist *cur, const br_fhist *prev)
{
    if (cur->hint == BR_HIST_RESET_YES) {
        return true;
    }
    if (cur->hint == BR_HIST_RESET_NO) {
        return false;
    }
    if (cur->count < prev->count) {
        return true;
    }
    if (br_fhist_custom(cur) || br_fhist_custom(prev)) {
        if (br_fhist_custom(cur) != br_fhist_custom(prev)) {
            return true;
        }
        if (!bounds_match(cur, prev)) {
            /* Compare the bucket sums between consecutive shared bounds. */
            uint32_t i = 0;
            uint32_t j = 0;
            uint32_t ci = 0; /* next cur bucket not yet summed */
            uint32_t pj = 0; /* next prev bucket not yet summed */
            while (i <= cur->n_custom && j <= prev->n_custom) {
                double cb = i < cur->n_custom ? cur->custom[i] : INFINITY;
                double pb = j < prev->n_custom ? prev->custom[j] : INFINITY;
                if (cb == pb) {
                    double cs = 0;
                    double ps = 0;
                    for (; ci <= i; ci++) {
                        cs += ci < cur->n_pos ? cur->pos[ci] : 0;
                    }
                    for (; pj <= j; pj++) {
                        ps += pj < prev->n_pos ? prev->pos[pj] : 0;
                    }
                    if (cs < ps) {
                        return true;
                    }
                    i++;
                    j++;
                } else if (cb < pb) {
                    i++;
                } else {
                    j++;
                }
            }
            return false;
        }
        for (uint32_t k = 0; k < prev->n_pos; k++) {
            double cv = k < cur->n_pos ? cur->pos[k] : 0;
            if (cv < prev->pos[k]) {
                return true;
            }
        }
        return false;
    }
    if (cur->schema > prev->schema) {
        return true;
    }
    if (cur->zero_threshold < prev->zero_threshold) {
        return true;
    }
    double thr;
    double cz;
    double pzc = zero_count_for(prev, NULL, cur->zero_threshold, &thr, &cz);
    if (thr != cur->zero_threshold) {
        return true;
    }
    if (cur->zero_count < pzc) {
        return true;
    }
    return side_reset(cur, prev, true) || side_reset(cur, prev, false);
}

bool br_fhist_has_overflow(const br_fhist *h)
{
    if (isinf(h->zero_count) || isinf(h->count) || isinf(h->sum)) {
        return true;
    }
    for (uint32_t i = 0; i < h->n_pos; i++) {
        if (isinf(h->pos[i])) {
            return true;
        }
    }
    for (uint32_t i = 0; i < h->n_neg; i++) {
        if (isinf(h->neg[i])) {
            return true;
        }
    }
    return false;
}

/* ---- Trimming (</ and >/) ------------------------------------------------ */

static double zero_if_inf(double x)
{
    return isinf(x) ? 0 : x;
}

static double trim_midpoint(double lo, double hi, bool positive, bool linear)
{
    if (isinf(lo)) {
        if (isinf(hi)) {
            return 0;
        }
        return hi > 0 ? hi / 2 : hi;
    }
    if (isinf(hi)) {
        return lo;
    }
    if (linear) {
        return (lo + hi) / 2;
    }
    double g = sqrt(fabs(lo * hi));
    return positive ? g : -g;
}

/* Share of a bucket at or below v (Prometheus' Bucket.FractionBelow). */
static double bucket_fraction_below(double lo, double hi, double v, bool linear)
{
    if (linear) {
        return (v - lo) / (hi - lo);
    }
    double ll = log2(fabs(lo));
    double lu = log2(fabs(hi));
    double lv = log2(fabs(v));
    if (v > 0) {
        return (lv - ll) / (lu - ll);
    }
    return 1 - ((lv - lu) / (ll - lu));
}

static void trim_infinite(const br_hbucket *b, double rhs, bool upper, double *keep, double *mid)
{
    if (isinf(b->lower) && b->lower < 0) {
        if (upper) {
            if (rhs >= b->upper) {
                *keep = b->count;
                *mid = 0;
            } else if (rhs > 0 && b->upper > 0 && !isinf(b->upper)) {
                *keep = b->count * rhs / b->upper;
                *mid = rhs / 2;
            } else if (b->upper <= 0) {
                *keep = b->count;
                *mid = rhs;
            } else {
                *keep = 0;
                *mid = zero_if_inf(b->upper);
            }
            return;
        }
        if (rhs <= b->lower) {
            *keep = b->count;
            *mid = 0;
        } else if (rhs >= 0 && b->upper > rhs && !isinf(b->upper)) {
            *keep = b->count * (1 - rhs / b->upper);
            *mid = (rhs + b->upper) / 2;
        } else {
            *keep = 0;
            *mid = zero_if_inf(b->upper);
        }
        return;
    }
    /* Upper bound +Inf. */
    if (upper) {
        *keep = 0;
        *mid = zero_if_inf(b->lower);
        return;
    }
    if (rhs >= b->lower) {
        *keep = b->count;
        *mid = rhs;
    } else {
        *keep = 0;
        *mid = zero_if_inf(b->lower);
    }
}

static void trim_bucket(const br_hbucket *b, double rhs, bool upper, bool positive, bool custom,
                        double *keep, double *mid)
{
    if ((isinf(b->lower) && b->lower < 0) || (isinf(b->upper) && b->upper > 0)) {
        trim_infinite(b, rhs, upper, keep, mid);
        return;
    }
    double under;
    if (rhs <= b->lower) {
        under = 0;
    } else if (rhs >= b->upper) {
        under = b->count;
    } else {
        under = b->count * bucket_fraction_below(b->lower, b->upper, rhs, custom);
    }
    if (upper) {
        *keep = under;
        *mid = trim_midpoint(b->lower, rhs, positive, custom);
    } else {
        *keep = b->count - under;
        *mid = trim_midpoint(rhs, b->upper, positive, custom);
    }
}

static void make_bucket(const br_fhist *h, bool positive, int64_t idx, double count,
                        br_hbucket *b);

void br_fhist_trim_buckets(br_fhist *h, double rhs, bool upper)
{
    bool custom = br_fhist_custom(h);
    bool trimmed = false;
    bool has_pos = false;
    bool has_neg = false;
    double count = 0;
    double sum = 0;
    for (int side = 0; side < 2; side++) {
        bool positive = side == 0;
        uint32_t n = positive ? h->n_pos : h->n_neg;
        double *d = positive ? h->pos : h->neg;
        int32_t off = positive ? h->pos_off : h->neg_off;
        for (uint32_t i = 0; i < n; i++) {
            br_hbucket b;
            make_bucket(h, positive, (int64_t)off + i, d[i], &b);
            if (b.count == 0) {
                continue;
            }
            if (positive) {
                has_pos = true;
            } else {
                has_neg = true;
            }
            bool whole = upper ? b.upper <= rhs : b.lower >= rhs;
            bool partial = upper ? b.lower < rhs : b.upper > rhs;
            if (whole) {
                count += b.count;
                sum += trim_midpoint(b.lower, b.upper, positive, custom) * b.count;
            } else if (partial) {
                double keep;
                double mid;
                trim_bucket(&b, rhs, upper, positive, custom, &keep, &mid);
                count += keep;
                sum += mid * keep;
                if (d[i] != keep) {
                    d[i] = keep;
                    trimmed = true;
                }
            } else {
                d[i] = 0;
                trimmed = true;
            }
        }
    }
    if (h->zero_count > 0) {
        double lo = -h->zero_threshold;
        double hi = h->zero_threshold;
        if (has_neg && !has_pos) {
            hi = 0;
        }
        if (has_pos && !has_neg) {
            lo = 0;
        }
        double keep;
        double mid;
        if (upper) {
            if (rhs <= lo) {
                keep = 0;
                mid = 0;
            } else if (rhs >= hi) {
                keep = h->zero_count;
                mid = (lo + hi) / 2;
            } else {
                keep = h->zero_count * (rhs - lo) / (hi - lo);
                mid = (lo + rhs) / 2;
            }
        } else {
            if (rhs <= lo) {
                keep = h->zero_count;
                mid = (lo + hi) / 2;
            } else if (rhs >= hi) {
                keep = 0;
                mid = 0;
            } else {
                keep = h->zero_count * (hi - rhs) / (hi - lo);
                mid = (rhs + hi) / 2;
            }
        }
        if (h->zero_count != keep) {
            h->zero_count = keep;
            trimmed = true;
        }
        sum += mid * keep;
        count += keep;
    }
    if (trimmed) {
        h->count = count;
        h->sum = sum;
        br_fhist_trim(h);
    }
}

/* ---- Bucket iteration ---------------------------------------------------- */

void br_hbucket_iter_init(br_hbucket_iter *it, const br_fhist *h, bool reverse)
{
    it->h = h;
    it->reverse = reverse;
    it->state = 0;
    /* Forward: negatives from the highest index (most negative) down;
     * reverse: positives from the highest index down. */
    if (!reverse) {
        it->i = (int64_t)h->n_neg - 1;
    } else {
        it->i = (int64_t)h->n_pos - 1;
    }
}

static void make_bucket(const br_fhist *h, bool positive, int64_t idx, double count,
                        br_hbucket *b)
{
    b->count = count;
    b->index = (int32_t)idx;
    if (br_fhist_custom(h)) {
        b->upper = custom_bound(h, idx);
        b->lower = custom_bound(h, idx - 1);
        b->lower_incl = idx == 0;
        b->upper_incl = true;
        return;
    }
    if (positive) {
        b->upper = br_fhist_bound((int32_t)idx, h->schema);
        b->lower = br_fhist_bound((int32_t)(idx - 1), h->schema);
    } else {
        b->lower = -br_fhist_bound((int32_t)idx, h->schema);
        b->upper = -br_fhist_bound((int32_t)(idx - 1), h->schema);
    }
    b->lower_incl = b->lower < 0;
    b->upper_incl = b->upper > 0;
}

static void clip_zero(const br_fhist *h, br_hbucket *b)
{
    if (b->upper < 0 && b->upper > -h->zero_threshold) {
        b->upper = -h->zero_threshold;
    } else if (b->lower > 0 && b->lower < h->zero_threshold) {
        b->lower = h->zero_threshold;
    }
}

bool br_hbucket_iter_next(br_hbucket_iter *it, br_hbucket *b)
{
    const br_fhist *h = it->h;
    for (;;) {
        switch (it->state) {
        case 0:
            if (it->i >= 0) {
                if (!it->reverse) {
                    int64_t idx = (int64_t)h->neg_off + it->i;
                    make_bucket(h, false, idx, h->neg[it->i], b);
                } else {
                    int64_t idx = (int64_t)h->pos_off + it->i;
                    make_bucket(h, true, idx, h->pos[it->i], b);
                }
                it->i--;
                clip_zero(h, b);
                return true;
            }
            it->state = 1;
            break;
        case 1:
            it->state = 2;
            it->i = 0;
            if (h->zero_count > 0 && !br_fhist_custom(h)) {
                b->lower = -h->zero_threshold;
                b->upper = h->zero_threshold;
                b->lower_incl = true;
                b->upper_incl = true;
                b->count = h->zero_count;
                b->index = 0;
                return true;
            }
            break;
        case 2:
            if (!it->reverse) {
                if (it->i < (int64_t)h->n_pos) {
                    int64_t idx = (int64_t)h->pos_off + it->i;
                    make_bucket(h, true, idx, h->pos[it->i], b);
                    it->i++;
                    clip_zero(h, b);
                    return true;
                }
            } else {
                if (it->i < (int64_t)h->n_neg) {
                    int64_t idx = (int64_t)h->neg_off + it->i;
                    make_bucket(h, false, idx, h->neg[it->i], b);
                    it->i++;
                    clip_zero(h, b);
                    return true;
                }
            }
            it->state = 3;
            return false;
        default:
            return false;
        }
    }
}

static int format_bucket(br_buf *out, const br_hbucket *b)
{
    char lo[64];
    char hi[64];
    char cnt[64];
    return br_buf_printf(out, ", %c%s,%s%c:%s", b->lower_incl ? '[' : '(',
                         br_format_float_g(b->lower, lo, sizeof(lo)),
                         br_format_float_g(b->upper, hi, sizeof(hi)), b->upper_incl ? ']' : ')',
                         br_format_float_g(b->count, cnt, sizeof(cnt)));
}

int br_fhist_format(const br_fhist *h, br_buf *out)
{
    char c[64];
    char s[64];
    int rc = br_buf_printf(out, "{count:%s, sum:%s", br_format_float_g(h->count, c, sizeof(c)),
                           br_format_float_g(h->sum, s, sizeof(s)));
    br_hbucket b;
    /* Negative buckets from the most negative up. */
    for (int64_t i = (int64_t)h->n_neg - 1; rc == 0 && i >= 0; i--) {
        if (h->neg[i] != 0) {
            make_bucket(h, false, (int64_t)h->neg_off + i, h->neg[i], &b);
            rc = format_bucket(out, &b);
        }
    }
    if (rc == 0 && h->zero_count != 0) {
        b.lower = -h->zero_threshold;
        b.upper = h->zero_threshold;
        b.lower_incl = true;
        b.upper_incl = true;
        b.count = h->zero_count;
        rc = format_bucket(out, &b);
    }
    for (uint32_t i = 0; rc == 0 && i < h->n_pos; i++) {
        if (h->pos[i] != 0) {
            make_bucket(h, true, (int64_t)h->pos_off + i, h->pos[i], &b);
            rc = format_bucket(out, &b);
        }
    }
    if (rc == 0) {
        rc = br_buf_putc(out, '}');
    }
    return rc;
}

/* ======================================================================== */
/* Vectors and the index map                                                */
/* ======================================================================== */

int br_vvec_push(br_arena *a, br_vvec *vec, const br_vsample *s)
{
    if (vec->n == vec->cap) {
        size_t cap = vec->cap ? vec->cap * 2 : 16;
        br_vsample *v = br_arena_alloc(a, sizeof(*v) * cap);
        if (v == NULL) {
            return -1;
        }
        if (vec->n > 0) {
            memcpy(v, vec->v, sizeof(*v) * vec->n);
        }
        vec->v = v;
        vec->cap = cap;
    }
    vec->v[vec->n++] = *s;
    return 0;
}

int br_imap_init(br_arena *a, br_imap *m, size_t hint)
{
    size_t cap = 16;
    while (cap < hint * 2) {
        cap *= 2;
    }
    m->keys = br_arena_alloc(a, sizeof(*m->keys) * cap);
    m->vals = br_arena_calloc(a, cap, sizeof(*m->vals));
    if (m->keys == NULL || m->vals == NULL) {
        return -1;
    }
    m->cap = cap;
    m->n = 0;
    return 0;
}

bool br_imap_get(const br_imap *m, uint64_t key, uint32_t *val)
{
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)key & mask;; i = (i + 1) & mask) {
        if (m->vals[i] == 0) {
            return false;
        }
        if (m->keys[i] == key) {
            *val = m->vals[i] - 1;
            return true;
        }
    }
}

int br_imap_put(br_arena *a, br_imap *m, uint64_t key, uint32_t val)
{
    if ((m->n + 1) * 2 > m->cap) {
        br_imap bigger;
        if (br_imap_init(a, &bigger, m->cap) != 0) {
            return -1;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (m->vals[i] != 0) {
                br_imap_put(a, &bigger, m->keys[i], m->vals[i] - 1);
            }
        }
        *m = bigger;
    }
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)key & mask;; i = (i + 1) & mask) {
        if (m->vals[i] == 0) {
            m->keys[i] = key;
            m->vals[i] = val + 1;
            m->n++;
            return 0;
        }
        if (m->keys[i] == key) {
            m->vals[i] = val + 1;
            return 0;
        }
    }
}

void br_imap_clear(br_imap *m)
{
    memset(m->vals, 0, sizeof(*m->vals) * m->cap);
    m->n = 0;
}
