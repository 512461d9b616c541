/*
 * remote_write_decode.c — remote-write 1.0 / 2.0 body → validated series.
 * See remote_write_decode.h for the contract and the error → HTTP mapping.
 *
 * Pipeline, each step bounded before it allocates:
 *   1. Content-Type picks the schema (1.0 or 2.0), Content-Encoding must be
 *      snappy (block format, as both specs require).
 *   2. Snappy's header declares the uncompressed length; it is checked
 *      against max_decompressed_bytes, then the body is inflated into the
 *      arena.
 *   3. Hand-written wire decoders (sections "Remote write 1.0/2.0,
 *      hand-written wire decoder") read the message in one pass: samples
 *      written in final form, label strings and symbols left in the
 *      decompressed buffer and NUL-terminated in place. With
 *      br_rw_options.reference_decoder, protobuf-c unpacks the message
 *      instead, with the arena as its allocator; a small wrapper notes
 *      when the arena cap refused memory, so that case becomes
 *      BR_ETOOLARGE rather than a parse error. Both paths give the same
 *      results (tests/unit/test_rw_pb.c).
 *   4. Request-wide limits (series, samples + histograms) refuse the whole
 *      request with BR_ELIMIT.
 *   5. Each series is checked on its own; the first problem rejects it with
 *      one br_rw_reason, the others are kept. Checks: label count and
 *      lengths, UTF-8 and NUL bytes, name syntax (1.0: the legacy regexes;
 *      2.0: any UTF-8), strictly increasing names, __name__ present,
 *      histogram structure, and (2.0) symbol references and mixed types.
 *
 * Choices where the specs leave room:
 * - Empty label values are dropped from the series (Prometheus treats an
 *   empty value as an absent label) and counted; an empty __name__ counts
 *   as a missing metric name.
 * - Unsorted labels are rejected, not re-sorted (both specs say MUST sort).
 * - A NUL byte inside a name or value is rejected (invalid_label_name or
 *   invalid_label_value): labels are C strings downstream.
 * - A stale histogram (sum is the stale NaN) is passed on with its schema,
 *   flavour, reset hint and stale sum only; its other fields are ignored,
 *   as the native histogram spec says.
 * - 2.0 TimeSeries field 6 (created_timestamp) and Sample/Histogram
 *   start_timestamp are parsed and ignored; exemplars are counted, not kept.
 *
 * Thread safety: none needed; all state is on the stack or in the arena.
 */
#include "remote_write_decode.h"

#include "engine/core/alloc.h"
#include "engine/core/utf8.h"
#include "remote_write_v1.pb-c.h"
#include "remote_write_v2.pb-c.h"

#include <assert.h>
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <snappy-c.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define SERIES_TEXT_MAX 160 /* bytes of {…} text in a rejection message */

static const char *const reason_names[] = {
#define REASON_NAME_(id, text) text,
    BR_RW_REASON_MAP(REASON_NAME_)
#undef REASON_NAME_
};

const char *br_rw_reason_name(br_rw_reason reason)
{
    if ((unsigned)reason >= BR_RW_REASON_COUNT) {
        return "unknown";
    }
    return reason_names[reason];
}

void br_rw_options_init(br_rw_options *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->max_decompressed_bytes = BR_RW_DEFAULT_MAX_DECOMPRESSED;
    opts->max_series = 100000;
    opts->max_samples = 1000000;
    opts->max_labels_per_series = 128;
    opts->max_label_name_len = 1024;
    opts->max_label_value_len = 4096;
}

/* ------------------------------------------------------------------------ */
/* Header parsing                                                           */
/* ------------------------------------------------------------------------ */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    return p;
}

/* Compares s[0..n) with the NUL-terminated word, ignoring ASCII case. */
static bool word_ieq(const char *s, size_t n, const char *word)
{
    size_t wl = strlen(word);
    if (n != wl) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (tolower((unsigned char)s[i]) != tolower((unsigned char)word[i])) {
            return false;
        }
    }
    return true;
}

/* Trims spaces and tabs at the end of [s, s+*n). */
static void trim_right(const char *s, size_t *n)
{
    while (*n > 0 && (s[*n - 1] == ' ' || s[*n - 1] == '\t')) {
        (*n)--;
    }
}

int br_rw_parse_content_type(const char *ct, br_err *err)
{
    if (ct == NULL) {
        return 1;
    }
    const char *p = skip_ws(ct);
    if (*p == '\0') {
        return 1;
    }
    const char *semi = strchr(p, ';');
    size_t mlen = semi ? (size_t)(semi - p) : strlen(p);
    trim_right(p, &mlen);
    if (!word_ieq(p, mlen, "application/x-protobuf")) {
        return br_err_set(err, BR_EUNSUPPORTED,
                          "unsupported Content-Type \"%.100s\": expected application/x-protobuf",
                          ct);
    }
    int version = 1;
    p = semi;
    while (p != NULL && *p == ';') {
        p = skip_ws(p + 1);
        const char *eq = p;
        while (*eq != '\0' && *eq != '=' && *eq != ';') {
            eq++;
        }
        size_t nlen = (size_t)(eq - p);
        trim_right(p, &nlen);
        if (*eq != '=') {
            if (nlen == 0 && *eq == '\0') {
                break; /* a trailing ';' */
            }
            return br_err_set(err, BR_EUNSUPPORTED,
                              "malformed Content-Type \"%.100s\": parameter without a value", ct);
        }
        const char *v = skip_ws(eq + 1);
        const char *vend;
        size_t vlen;
        const char *next;
        if (*v == '"') {
            v++;
            vend = strchr(v, '"');
            if (vend == NULL) {
                return br_err_set(err, BR_EUNSUPPORTED,
                                  "malformed Content-Type \"%.100s\": unterminated quote", ct);
            }
            vlen = (size_t)(vend - v);
            next = skip_ws(vend + 1);
            if (*next != '\0' && *next != ';') {
                return br_err_set(err, BR_EUNSUPPORTED,
                                  "malformed Content-Type \"%.100s\": text after a quoted value",
                                  ct);
            }
        } else {
            vend = v;
            while (*vend != '\0' && *vend != ';') {
                vend++;
            }
            vlen = (size_t)(vend - v);
            trim_right(v, &vlen);
            next = vend;
        }
        if (word_ieq(p, nlen, "proto")) {
            if (vlen == strlen("prometheus.WriteRequest") &&
                memcmp(v, "prometheus.WriteRequest", vlen) == 0) {
                version = 1;
            } else if (vlen == strlen("io.prometheus.write.v2.Request") &&
                       memcmp(v, "io.prometheus.write.v2.Request", vlen) == 0) {
                version = 2;
            } else {
                return br_err_set(err, BR_EUNSUPPORTED,
                                  "unsupported remote-write message proto=%.*s: expected "
                                  "prometheus.WriteRequest or io.prometheus.write.v2.Request",
                                  (int)(vlen > 100 ? 100 : vlen), v);
            }
        }
        p = (*next == ';') ? next : NULL;
    }
    return version;
}

static int check_content_encoding(const char *ce, br_err *err)
{
    if (ce == NULL) {
        return 0;
    }
    const char *p = skip_ws(ce);
    size_t n = strlen(p);
    trim_right(p, &n);
    if (n == 0 || word_ieq(p, n, "snappy")) {
        return 0;
    }
    return br_err_set(err, BR_EUNSUPPORTED,
                      "unsupported Content-Encoding \"%.100s\": only snappy is accepted", ce);
}

/* ------------------------------------------------------------------------ */
/* Text checks                                                              */
/* ------------------------------------------------------------------------ */

enum { TEXT_OK = 0, TEXT_BAD_UTF8 = 1, TEXT_NUL = 2 };

/* Classifies bytes: valid UTF-8 without NUL, invalid UTF-8, or a NUL byte.
 * Rejects overlong forms, surrogates and code points past U+10FFFF. */
static int check_text(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] == 0) {
            return TEXT_NUL;
        }
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t width = 0;
        if (br_utf8_decode(s + i, n - i, &width) < 0) {
            return TEXT_BAD_UTF8;
        }
        i += width;
    }
    return TEXT_OK;
}

static bool is_name_start(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_name_char(uint8_t c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

/* [a-zA-Z_][a-zA-Z0-9_]*, or with ':' allowed too for metric names. */
static bool legacy_name_ok(const uint8_t *s, size_t n, bool colon)
{
    if (n == 0) {
        return false;
    }
    if (!is_name_start(s[0]) && !(colon && s[0] == ':')) {
        return false;
    }
    for (size_t i = 1; i < n; i++) {
        if (!is_name_char(s[i]) && !(colon && s[i] == ':')) {
            return false;
        }
    }
    return true;
}

/* Byte-wise order of two strings, as Go compares strings. */
static int bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0) {
        return c;
    }
    return (an > bn) - (an < bn);
}

/* ------------------------------------------------------------------------ */
/* Decoder state                                                            */
/* ------------------------------------------------------------------------ */

/* A label as found on the wire. cstr is set when the bytes are already a
 * NUL-terminated arena string (2.0 symbols); state caches check_text()
 * (-1 = not checked yet). */
typedef struct rawlab {
    const uint8_t *name;
    const uint8_t *value;
    size_t name_len;
    size_t value_len;
    const char *name_cstr;
    const char *value_cstr;
    int8_t name_state;
    int8_t value_state;
} rawlab;

/* A 2.0 symbol, converted once. */
typedef struct sym {
    const char *str;
    size_t len;
    int8_t state;
} sym;

typedef struct pb_ctx {
    br_arena *arena;
    bool refused; /* the arena cap refused an allocation */
} pb_ctx;

typedef struct dec {
    const br_rw_options *opts;
    br_arena *arena;
    br_rw_request *out;
    int version;
    const char *tenant_name; /* arena copies, or NULL */
    const char *tenant_value;
    size_t tenant_name_len;
    rawlab *scratch; /* heap, reused across series */
    size_t scratch_cap;
    const sym *syms; /* 2.0 only */
    size_t n_syms;
} dec;

static void *pb_alloc(void *data, size_t size)
{
    pb_ctx *c = data;
    void *p = br_arena_pb_alloc(c->arena, size);
    if (p == NULL) {
        c->refused = true;
    }
    return p;
}

static void pb_free(void *data, void *ptr)
{
    pb_ctx *c = data;
    br_arena_pb_free(c->arena, ptr);
}

static int arena_full(const dec *d, br_err *err)
{
    return br_err_set(err, BR_ETOOLARGE,
                      "decoding the request needs more than the %zu bytes of memory allowed per "
                      "request",
                      d->arena->max_bytes);
}

static rawlab *scratch_get(dec *d, size_t n)
{
    if (n > d->scratch_cap) {
        size_t cap = d->scratch_cap ? d->scratch_cap : 32;
        while (cap < n) {
            cap *= 2;
        }
        d->scratch = br_realloc(d->scratch, cap * sizeof(rawlab));
        d->scratch_cap = cap;
    }
    return d->scratch;
}

/* ------------------------------------------------------------------------ */
/* Rejection messages                                                       */
/* ------------------------------------------------------------------------ */

/* Appends bytes to a bounded text, escaping '"', '\' and anything that is
 * not printable ASCII as \xNN, so the message is plain safe text. */
typedef struct text {
    char *p;
    size_t len;
    size_t cap; /* includes the terminator */
    bool cut;
} text;

static void text_put(text *t, const char *s, size_t n)
{
    for (size_t i = 0; i < n && !t->cut; i++) {
        if (t->len + 1 >= t->cap) {
            t->cut = true;
            break;
        }
        t->p[t->len++] = s[i];
    }
    t->p[t->len] = '\0';
}

static void text_escaped(text *t, const uint8_t *s, size_t n)
{
    char tmp[8];
    for (size_t i = 0; i < n && !t->cut; i++) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            text_put(t, tmp, 2);
        } else if (c < 0x20 || c >= 0x7f) {
            snprintf(tmp, sizeof(tmp), "\\x%02x", c);
            text_put(t, tmp, 4);
        } else {
            text_put(t, (const char *)&c, 1);
        }
    }
}

/* Writes {a="b", c="d"} for the raw labels, cut to SERIES_TEXT_MAX. */
static void format_series(text *t, const rawlab *ls, size_t n)
{
    text_put(t, "{", 1);
    for (size_t i = 0; i < n && !t->cut; i++) {
        if (i > 0) {
            text_put(t, ", ", 2);
        }
        text_escaped(t, ls[i].name, ls[i].name_len);
        text_put(t, "=\"", 2);
        text_escaped(t, ls[i].value, ls[i].value_len);
        text_put(t, "\"", 1);
    }
    if (!t->cut) {
        text_put(t, "}", 1);
    }
}

/* Counts a rejected series and keeps its message while there is room.
 * Returns 1 (rejected), or BR_ETOOLARGE when the arena is full. */
static int reject(dec *d, const rawlab *ls, size_t n_labels, size_t n_samples, size_t n_hist,
                  br_rw_reason reason, br_err *err, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

static int reject(dec *d, const rawlab *ls, size_t n_labels, size_t n_samples, size_t n_hist,
                  br_rw_reason reason, br_err *err, const char *fmt, ...)
{
    br_rw_request *out = d->out;
    out->n_rejected_series++;
    out->rejected[reason]++;
    out->n_rejected_samples += n_samples;
    out->n_rejected_histograms += n_hist;
    if (out->n_messages >= BR_RW_MAX_MESSAGES) {
        return 1;
    }
    char series[SERIES_TEXT_MAX + 8];
    text t = {series, 0, SERIES_TEXT_MAX, false};
    series[0] = '\0';
    format_series(&t, ls, n_labels);
    if (t.cut) {
        memcpy(series + t.len, "...", 4);
    }
    char problem[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(problem, sizeof(problem), fmt, ap);
    va_end(ap);
    char *msg =
        br_arena_printf(d->arena, "series %s: %s (%s)", series, problem, br_rw_reason_name(reason));
    if (msg == NULL) {
        return arena_full(d, err);
    }
    out->messages[out->n_messages++] = msg;
    return 1;
}

/* Quotes a name for a problem text: escaped and cut at 64 bytes. */
static const char *quote_name(char *buf, size_t size, const uint8_t *s, size_t n)
{
    text t = {buf, 0, size - 4, false};
    buf[0] = '\0';
    text_escaped(&t, s, n);
    if (t.cut) {
        memcpy(buf + t.len, "...", 4);
    }
    return buf;
}

/* ------------------------------------------------------------------------ */
/* Labels                                                                   */
/* ------------------------------------------------------------------------ */

static int label_state(int8_t *cache, const uint8_t *s, size_t n)
{
    if (*cache < 0) {
        *cache = (int8_t)check_text(s, n);
    }
    return *cache;
}

/*
 * Checks one series' raw labels and builds its output label array with the
 * tenant label inserted. Returns 0 when valid (dst->labels set), 1 when the
 * series was rejected (counted), or a negative error.
 */
static int build_labels(dec *d, rawlab *ls, size_t n, size_t n_samples, size_t n_hist,
                        br_rw_series *dst, br_err *err)
{
    const br_rw_options *o = d->opts;
    char q[80];
    if (o->max_labels_per_series != 0 && n > o->max_labels_per_series) {
        return reject(d, ls, n, n_samples, n_hist, BR_RW_TOO_MANY_LABELS, err,
                      "%zu labels, more than the limit of %zu", n, o->max_labels_per_series);
    }
    bool v1 = d->version == 1;
    bool have_name = false;
    size_t n_keep = 0;
    for (size_t i = 0; i < n; i++) {
        rawlab *l = &ls[i];
        if (l->name_len == 0) {
            return reject(d, ls, n, n_samples, n_hist, BR_RW_INVALID_LABEL_NAME, err,
                          "label %zu has an empty name", i);
        }
        if (o->max_label_name_len != 0 && l->name_len > o->max_label_name_len) {
            return reject(d, ls, n, n_samples, n_hist, BR_RW_LABEL_NAME_TOO_LONG, err,
                          "label name \"%s\" is %zu bytes, more than the limit of %zu",
                          quote_name(q, sizeof(q), l->name, l->name_len), l->name_len,
                          o->max_label_name_len);
        }
        if (o->max_label_value_len != 0 && l->value_len > o->max_label_value_len) {
            return reject(d, ls, n, n_samples, n_hist, BR_RW_LABEL_VALUE_TOO_LONG, err,
                          "value of label \"%s\" is %zu bytes, more than the limit of %zu",
                          quote_name(q, sizeof(q), l->name, l->name_len), l->value_len,
                          o->max_label_value_len);
        }
        int ns = label_state(&l->name_state, l->name, l->name_len);
        if (ns == TEXT_BAD_UTF8) {
            return reject(d, ls, n, n_samples, n_hist, BR_RW_INVALID_UTF8, err,
                          "label name \"%s\" is not valid UTF-8",
                          quote_name(q, sizeof(q), l->name, l->name_len));
        }
        if (ns == TEXT_NUL) {
            return reject(d, ls, n, n_samples, n_hist, BR_RW_INVALID_LABEL_NAME, err,
                          "label name \"%s\" contains a NUL byte",
                          quote_name(q, sizeof(q), l->name, l->name_len));
        }
        int vs = label_state(&l->value_state, l->value, l->value_len);
        if (vs == TEXT_BAD_UTF8) {
            return reject(d, ls, n, n_samples, n_hist, BR_RW_INVALID_UTF8, err,
                          "value of label \"%s\" is not valid UTF-8",
                          quote_name(q, sizeof(q), l->name, l->name_len));
        }
        if (vs == TEXT_NUL) {
            return reject(d, ls, n, n_samples, n_hist, BR_RW_INVALID_LABEL_VALUE, err,
                          "value of label \"%s\" contains a NUL byte",
                          quote_name(q, sizeof(q), l->name, l->name_len));
        }
        bool is_name = l->name_len == 8 && memcmp(l->name, "__name__", 8) == 0;
        if (is_name) {
            if (l->value_len == 0) {
                return reject(d, ls, n, n_samples, n_hist, BR_RW_MISSING_METRIC_NAME, err,
                              "__name__ is empty");
            }
            if (v1 && !legacy_name_ok(l->value, l->value_len, true)) {
                return reject(d, ls, n, n_samples, n_hist, BR_RW_INVALID_METRIC_NAME, err,
                              "metric name \"%s\" does not match [a-zA-Z_:][a-zA-Z0-9_:]*",
                              quote_name(q, sizeof(q), l->value, l->value_len));
            }
            have_name = true;
        } else if (v1 && !legacy_name_ok(l->name, l->name_len, false)) {
            return reject(d, ls, n, n_samples, n_hist, BR_RW_INVALID_LABEL_NAME, err,
                          "label name \"%s\" does not match [a-zA-Z_][a-zA-Z0-9_]*",
                          quote_name(q, sizeof(q), l->name, l->name_len));
        }
        if (i > 0) {
            int c = bytes_cmp(ls[i - 1].name, ls[i - 1].name_len, l->name, l->name_len);
            if (c == 0) {
                return reject(d, ls, n, n_samples, n_hist, BR_RW_DUPLICATE_LABEL, err,
                              "label name \"%s\" appears more than once",
                              quote_name(q, sizeof(q), l->name, l->name_len));
            }
            if (c > 0) {
                return reject(d, ls, n, n_samples, n_hist, BR_RW_UNSORTED_LABELS, err,
                              "labels are not sorted by name: \"%s\" comes after a greater name",
                              quote_name(q, sizeof(q), l->name, l->name_len));
            }
        }
        if (l->value_len > 0) {
            n_keep++;
        }
    }
    if (!have_name) {
        return reject(d, ls, n, n_samples, n_hist, BR_RW_MISSING_METRIC_NAME, err,
                      "no __name__ label");
    }
    d->out->n_empty_labels_dropped += n - n_keep;

    /* Build the output, merging the tenant label into sorted position. */
    size_t cap = n_keep + (d->tenant_name ? 1 : 0);
    br_label *out = br_arena_alloc(d->arena, cap * sizeof(br_label));
    if (out == NULL) {
        return arena_full(d, err);
    }
    size_t k = 0;
    bool tenant_done = d->tenant_name == NULL;
    for (size_t i = 0; i < n; i++) {
        const rawlab *l = &ls[i];
        if (!tenant_done) {
            int c = bytes_cmp((const uint8_t *)d->tenant_name, d->tenant_name_len, l->name,
                              l->name_len);
            if (c <= 0) {
                out[k].name = d->tenant_name;
                out[k].value = d->tenant_value;
                k++;
                tenant_done = true;
                if (c == 0) {
                    continue; /* the client's label of that name is replaced */
                }
            }
        }
        if (l->value_len == 0) {
            continue;
        }
        const char *name = l->name_cstr;
        if (name == NULL) {
            name = br_arena_strndup(d->arena, (const char *)l->name, l->name_len);
        }
        const char *value = l->value_cstr;
        if (value == NULL) {
            value = br_arena_strndup(d->arena, (const char *)l->value, l->value_len);
        }
        if (name == NULL || value == NULL) {
            return arena_full(d, err);
        }
        out[k].name = name;
        out[k].value = value;
        k++;
    }
    if (!tenant_done) {
        out[k].name = d->tenant_name;
        out[k].value = d->tenant_value;
        k++;
    }
    dst->labels = out;
    dst->n_labels = k;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Native histograms                                                        */
/* ------------------------------------------------------------------------ */

/* The fields of either version's Histogram message, spans already copied. */
typedef struct wire_hist {
    bool is_float;
    uint64_t count_int;
    double count_float;
    uint64_t zero_int;
    double zero_float;
    double sum;
    int32_t schema;
    double zero_threshold;
    int reset_hint;
    int64_t t;
    br_span *neg_spans;
    size_t n_neg_spans;
    const int64_t *neg_deltas;
    size_t n_neg_deltas;
    const double *neg_counts;
    size_t n_neg_counts;
    br_span *pos_spans;
    size_t n_pos_spans;
    const int64_t *pos_deltas;
    size_t n_pos_deltas;
    const double *pos_counts;
    size_t n_pos_counts;
    const double *custom;
    size_t n_custom;
} wire_hist;

#define SCHEMA_CUSTOM -53

/*
 * Resolves one side's buckets into absolute counts (arena). Integer deltas
 * are summed in list order across spans; the running count must stay
 * non-negative. Checks that span lengths cover exactly the bucket list and
 * that only the first span has a negative offset. Returns NULL when valid,
 * else a static problem text; *oom is set when the arena is full.
 */
static const char *resolve_side(dec *d, const wire_hist *w, const br_span *spans, size_t n_spans,
                                const int64_t *deltas, size_t n_deltas, const double *counts,
                                size_t n_counts, double **out, uint32_t *n_out, uint64_t *int_total,
                                int64_t *max_index, bool *oom)
{
    size_t n = w->is_float ? n_counts : n_deltas;
    uint64_t covered = 0;
    int64_t idx = 0;
    *max_index = INT64_MIN;
    for (size_t i = 0; i < n_spans; i++) {
        if (i > 0 && spans[i].offset < 0) {
            return "a span after the first has a negative offset";
        }
        idx += spans[i].offset;
        covered += spans[i].length;
        if (spans[i].length > 0) {
            idx += spans[i].length;
            *max_index = idx - 1;
        }
        if (idx > INT32_MAX || idx < INT32_MIN || covered > UINT32_MAX) {
            return "bucket index out of range";
        }
    }
    if (covered != n) {
        return "span lengths do not add up to the number of buckets";
    }
    *n_out = (uint32_t)n;
    *out = NULL;
    *int_total = 0;
    if (n == 0) {
        return NULL;
    }
    double *b = br_arena_alloc(d->arena, n * sizeof(double));
    if (b == NULL) {
        *oom = true;
        return NULL;
    }
    if (w->is_float) {
        for (size_t i = 0; i < n; i++) {
            if (counts[i] < 0) {
                return "negative bucket count";
            }
            b[i] = counts[i];
        }
    } else {
        int64_t running = 0;
        uint64_t total = 0;
        for (size_t i = 0; i < n; i++) {
            if (__builtin_add_overflow(running, deltas[i], &running)) {
                return "bucket count overflows";
            }
            if (running < 0) {
                return "bucket count goes negative while resolving deltas";
            }
            if (__builtin_add_overflow(total, (uint64_t)running, &total)) {
                return "bucket counts overflow";
            }
            b[i] = (double)running;
        }
        *int_total = total;
    }
    *out = b;
    return NULL;
}

/* Validates and converts; returns NULL or a problem text (see above). */
static const char *convert_hist(dec *d, const wire_hist *w, br_histogram_sample *hs, bool *oom)
{
    memset(hs, 0, sizeof(*hs));
    hs->t = w->t;
    br_histogram *h = &hs->h;
    h->schema = w->schema;
    h->is_float = w->is_float;
    h->reset_hint = (uint8_t)(w->reset_hint >= 0 && w->reset_hint <= 3 ? w->reset_hint : 0);
    h->sum = w->sum;
    if (br_is_stale_nan(w->sum)) {
        return NULL; /* a stale marker: the other fields do not matter */
    }
    if (w->reset_hint < 0 || w->reset_hint > 3) {
        return "unknown reset hint";
    }
    bool custom = w->schema == SCHEMA_CUSTOM;
    if (!custom && (w->schema < -4 || w->schema > 8)) {
        return "schema out of range (-4..8, or -53 for custom buckets)";
    }
    h->zero_threshold = w->zero_threshold;
    if (w->zero_threshold < 0) {
        return "negative zero threshold";
    }
    h->count = w->is_float ? w->count_float : (double)w->count_int;
    h->zero_count = w->is_float ? w->zero_float : (double)w->zero_int;
    if (w->is_float && (w->count_float < 0 || w->zero_float < 0)) {
        return "negative count";
    }
    uint64_t neg_total = 0;
    uint64_t pos_total = 0;
    int64_t neg_max = 0;
    int64_t pos_max = 0;
    double *nb = NULL;
    double *pb = NULL;
    const char *why =
        resolve_side(d, w, w->neg_spans, w->n_neg_spans, w->neg_deltas, w->n_neg_deltas,
                     w->neg_counts, w->n_neg_counts, &nb, &h->n_neg, &neg_total, &neg_max, oom);
    if (why != NULL || *oom) {
        return why;
    }
    why = resolve_side(d, w, w->pos_spans, w->n_pos_spans, w->pos_deltas, w->n_pos_deltas,
                       w->pos_counts, w->n_pos_counts, &pb, &h->n_pos, &pos_total, &pos_max, oom);
    if (why != NULL || *oom) {
        return why;
    }
    h->neg_spans = w->neg_spans;
    h->n_neg_spans = (uint32_t)w->n_neg_spans;
    h->pos_spans = w->pos_spans;
    h->n_pos_spans = (uint32_t)w->n_pos_spans;
    h->neg_buckets = nb;
    h->pos_buckets = pb;
    if (custom) {
        if (w->n_neg_spans != 0 || h->n_neg != 0) {
            return "custom-bucket histogram has negative buckets";
        }
        if (h->zero_count != 0) {
            return "custom-bucket histogram has a zero bucket";
        }
        for (size_t i = 0; i < w->n_custom; i++) {
            if (isnan(w->custom[i]) || isinf(w->custom[i])) {
                return "custom bucket bound is NaN or infinite";
            }
            if (i > 0 && !(w->custom[i] > w->custom[i - 1])) {
                return "custom bucket bounds are not strictly increasing";
            }
        }
        if (w->n_pos_spans > 0 && w->pos_spans[0].offset < 0) {
            return "custom-bucket histogram has a negative bucket index";
        }
        if (h->n_pos > 0 && pos_max > (int64_t)w->n_custom) {
            return "bucket index beyond the custom bounds";
        }
        h->custom_values = w->custom;
        h->n_custom = (uint32_t)w->n_custom;
    } else if (w->n_custom != 0) {
        return "exponential-schema histogram has custom bounds";
    }
    if (!w->is_float) {
        uint64_t total = neg_total;
        if (__builtin_add_overflow(total, pos_total, &total) ||
            __builtin_add_overflow(total, w->zero_int, &total)) {
            return "bucket counts overflow";
        }
        if (isnan(w->sum) ? total > w->count_int : total != w->count_int) {
            return "count does not match the sum of the bucket counts";
        }
    }
    return NULL;
}

/* Copies a version's BucketSpan array into br_span (arena). */
#define COPY_SPANS(dst, n_dst, src, n_src, oom)                                                    \
    do {                                                                                           \
        (n_dst) = (n_src);                                                                         \
        (dst) = NULL;                                                                              \
        if ((n_src) > 0) {                                                                         \
            (dst) = br_arena_alloc(d->arena, (n_src) * sizeof(br_span));                           \
            if ((dst) == NULL) {                                                                   \
                (oom) = true;                                                                      \
                break;                                                                             \
            }                                                                                      \
            for (size_t si_ = 0; si_ < (n_src); si_++) {                                           \
                (dst)[si_].offset = (src)[si_]->offset;                                            \
                (dst)[si_].length = (src)[si_]->length;                                            \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* Fills a wire_hist from a v1 or v2 Histogram (same field names). */
#define FILL_WIRE_HIST(w, m, float_case, zero_int_case, zero_float_case, oom)                      \
    do {                                                                                           \
        memset(&(w), 0, sizeof(w));                                                                \
        (w).is_float = (m)->count_case == (float_case);                                            \
        (w).count_int = (w).is_float ? 0 : (m)->count_int;                                         \
        (w).count_float = (w).is_float ? (m)->count_float : 0;                                     \
        (w).zero_int = (m)->zero_count_case == (zero_int_case) ? (m)->zero_count_int : 0;          \
        (w).zero_float = (m)->zero_count_case == (zero_float_case) ? (m)->zero_count_float : 0;    \
        (w).sum = (m)->sum;                                                                        \
        (w).schema = (m)->schema;                                                                  \
        (w).zero_threshold = (m)->zero_threshold;                                                  \
        (w).reset_hint = (int)(m)->reset_hint;                                                     \
        (w).t = (m)->timestamp;                                                                    \
        (w).neg_deltas = (m)->negative_deltas;                                                     \
        (w).n_neg_deltas = (m)->n_negative_deltas;                                                 \
        (w).neg_counts = (m)->negative_counts;                                                     \
        (w).n_neg_counts = (m)->n_negative_counts;                                                 \
        (w).pos_deltas = (m)->positive_deltas;                                                     \
        (w).n_pos_deltas = (m)->n_positive_deltas;                                                 \
        (w).pos_counts = (m)->positive_counts;                                                     \
        (w).n_pos_counts = (m)->n_positive_counts;                                                 \
        (w).custom = (m)->custom_values;                                                           \
        (w).n_custom = (m)->n_custom_values;                                                       \
        COPY_SPANS((w).neg_spans, (w).n_neg_spans, (m)->negative_spans, (m)->n_negative_spans,     \
                   oom);                                                                           \
        if (!(oom)) {                                                                              \
            COPY_SPANS((w).pos_spans, (w).n_pos_spans, (m)->positive_spans, (m)->n_positive_spans, \
                       oom);                                                                       \
        }                                                                                          \
    } while (0)

/* ------------------------------------------------------------------------ */
/* Series output                                                            */
/* ------------------------------------------------------------------------ */

/* Appends a finished valid series to the output (array sized up front). */
static void keep_series(dec *d, const br_rw_series *s)
{
    br_rw_request *out = d->out;
    if (s->n_samples == 0 && s->n_histograms == 0) {
        return;
    }
    out->series[out->n_series++] = *s;
    out->n_valid_samples += s->n_samples;
    out->n_valid_histograms += s->n_histograms;
}

static int setup_tenant(dec *d, br_err *err)
{
    const br_rw_options *o = d->opts;
    if (o->extra_label_name == NULL && o->extra_label_value == NULL) {
        return 0;
    }
    const char *name = o->extra_label_name ? o->extra_label_name : "";
    const char *value = o->extra_label_value ? o->extra_label_value : "";
    size_t nl = strlen(name);
    size_t vl = strlen(value);
    if (!legacy_name_ok((const uint8_t *)name, nl, false) || strcmp(name, "__name__") == 0) {
        return br_err_set(err, BR_EINVAL, "tenant label name \"%.64s\" is not a valid label name",
                          name);
    }
    if (vl == 0 || check_text((const uint8_t *)value, vl) != TEXT_OK ||
        (o->max_label_value_len != 0 && vl > o->max_label_value_len)) {
        return br_err_set(err, BR_EINVAL,
                          "tenant label value for \"%.64s\" must be non-empty UTF-8 of at most "
                          "%zu bytes",
                          name, o->max_label_value_len);
    }
    d->tenant_name = br_arena_strndup(d->arena, name, nl);
    d->tenant_value = br_arena_strndup(d->arena, value, vl);
    if (d->tenant_name == NULL || d->tenant_value == NULL) {
        return arena_full(d, err);
    }
    d->tenant_name_len = nl;
    return 0;
}

static int check_totals(dec *d, size_t n_series, size_t n_points, br_err *err)
{
    const br_rw_options *o = d->opts;
    if (o->max_series != 0 && n_series > o->max_series) {
        return br_err_set(err, BR_ELIMIT,
                          "request holds %zu series, more than the limit of %zu per request",
                          n_series, o->max_series);
    }
    if (o->max_samples != 0 && n_points > o->max_samples) {
        return br_err_set(err, BR_ELIMIT,
                          "request holds %zu samples and histograms, more than the limit of %zu "
                          "per request",
                          n_points, o->max_samples);
    }
    if (n_series > 0) {
        d->out->series = br_arena_alloc(d->arena, n_series * sizeof(br_rw_series));
        if (d->out->series == NULL) {
            return arena_full(d, err);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Remote write 1.0                                                         */
/* ------------------------------------------------------------------------ */

/* Checks and converts one series: returns 0 (kept or empty), 1 (rejected and
 * counted) or a negative error. decode_v2_series has the same contract. */
static int decode_v1_series(dec *d, const Prometheus__TimeSeries *ts, br_err *err)
{
    rawlab *ls = scratch_get(d, ts->n_labels);
    for (size_t i = 0; i < ts->n_labels; i++) {
        const Prometheus__Label *l = ts->labels[i];
        ls[i] =
            (rawlab){l->name.data, l->value.data, l->name.len, l->value.len, NULL, NULL, -1, -1};
    }
    br_rw_series s = {0};
    int rc = build_labels(d, ls, ts->n_labels, ts->n_samples, ts->n_histograms, &s, err);
    if (rc != 0) {
        return rc;
    }
    if (ts->n_samples > 0) {
        s.samples = br_arena_alloc(d->arena, ts->n_samples * sizeof(br_sample));
        if (s.samples == NULL) {
            return arena_full(d, err);
        }
        for (size_t i = 0; i < ts->n_samples; i++) {
            s.samples[i].t = ts->samples[i]->timestamp;
            s.samples[i].v = ts->samples[i]->value;
        }
        s.n_samples = ts->n_samples;
    }
    if (ts->n_histograms > 0) {
        s.histograms = br_arena_alloc(d->arena, ts->n_histograms * sizeof(br_histogram_sample));
        if (s.histograms == NULL) {
            return arena_full(d, err);
        }
        for (size_t i = 0; i < ts->n_histograms; i++) {
            const Prometheus__Histogram *m = ts->histograms[i];
            wire_hist w;
            bool oom = false;
            FILL_WIRE_HIST(w, m, PROMETHEUS__HISTOGRAM__COUNT_COUNT_FLOAT,
                           PROMETHEUS__HISTOGRAM__ZERO_COUNT_ZERO_COUNT_INT,
                           PROMETHEUS__HISTOGRAM__ZERO_COUNT_ZERO_COUNT_FLOAT, oom);
            const char *why = oom ? NULL : convert_hist(d, &w, &s.histograms[i], &oom);
            if (oom) {
                return arena_full(d, err);
            }
            if (why != NULL) {
                return reject(d, ls, ts->n_labels, ts->n_samples, ts->n_histograms,
                              BR_RW_INVALID_HISTOGRAM, err, "histogram at t=%lld: %s",
                              (long long)m->timestamp, why);
            }
        }
        s.n_histograms = ts->n_histograms;
    }
    keep_series(d, &s);
    return 0;
}

static int decode_v1_pbc(dec *d, const uint8_t *data, size_t len, pb_ctx *pc, br_err *err)
{
    ProtobufCAllocator alloc = {pb_alloc, pb_free, pc};
    Prometheus__WriteRequest *req = prometheus__write_request__unpack(&alloc, len, data);
    if (req == NULL) {
        if (pc->refused) {
            return arena_full(d, err);
        }
        return br_err_set(err, BR_EPARSE,
                          "body is not a valid prometheus.WriteRequest protobuf message");
    }
    br_rw_request *out = d->out;
    out->n_series_in_request = req->n_timeseries;
    out->n_metadata = req->n_metadata;
    size_t points = 0;
    for (size_t i = 0; i < req->n_timeseries; i++) {
        const Prometheus__TimeSeries *ts = req->timeseries[i];
        out->n_samples += ts->n_samples;
        out->n_histograms += ts->n_histograms;
        out->n_exemplars += ts->n_exemplars;
        points += ts->n_samples + ts->n_histograms;
    }
    int rc = check_totals(d, req->n_timeseries, points, err);
    for (size_t i = 0; rc == 0 && i < req->n_timeseries; i++) {
        rc = decode_v1_series(d, req->timeseries[i], err);
        rc = rc > 0 ? 0 : rc;
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Remote write 1.0, hand-written wire decoder                              */
/* ------------------------------------------------------------------------ */

/*
 * The default 1.0 path reads prometheus.WriteRequest straight from the
 * decompressed bytes instead of building protobuf-c's message tree.
 *
 * Wire rules, chosen to accept and refuse exactly what protobuf-c 1.4 does
 * (the equivalence test in tests/unit/test_rw_pb.c holds both paths to it):
 * - A tag is a varint of at most 5 bytes whose first byte is not 0x00-0x07;
 *   wire types 3, 4, 6 and 7 (groups, undefined) are refused.
 * - A varint field is at most 10 bytes; bits past 64 are dropped, and
 *   32-bit fields (schema, span offset and length, enums) keep the low 32.
 * - A length prefix is at most 5 bytes, at most INT_MAX, and must fit.
 * - A known field with the wrong wire type is refused. Repeated scalars
 *   are accepted packed (length-delimited) and unpacked, mixed, in any
 *   number of runs; a packed run of doubles must be a multiple of 8 bytes
 *   and each packed varint must end inside its run.
 * - Unknown fields are skipped; for singular fields the last one wins,
 *   including across the two members of a oneof.
 *
 * Steps. (1) A scan of the top level counts the TimeSeries and checks the
 * framing, so the per-series records can be sized in the arena. (2) One
 * pass decodes every series: per series, a scan of its own fields counts
 * labels, samples and histograms (tags and lengths only, bytes that are in
 * cache), then its fields are decoded into arena arrays of final shape
 * (br_sample is written directly). Exemplars and metadata are checked and
 * counted. (3) Only when the whole body is well formed are the request
 * limits checked and each series validated, in request order, by the same
 * code as the protobuf-c path (build_labels, convert_hist).
 *
 * Label strings are never copied: each name and value stays in the
 * decompressed buffer and gets its NUL terminator written in place. The
 * byte after a string is always the next tag (in the Label, its TimeSeries
 * or the WriteRequest) or the end of the body, so the decoder remembers
 * one pending terminator and writes it right after it has read the tag at
 * that position; the buffer has one spare byte for the last string. Only
 * the Label, TimeSeries and top-level loops can meet a pending position.
 */

typedef struct pbr {
    uint8_t *p;
    uint8_t *end;
} pbr;

typedef struct v1ser {
    rawlab *labels;
    size_t n_labels;
    br_sample *samples;
    size_t n_samples;
    wire_hist *hists;
    size_t n_hists;
    size_t n_exemplars;
} v1ser;

typedef struct wdec {
    dec *d;
    const uint8_t *base;
    uint8_t *pending_nul; /* a string's terminator, written once its byte is read */
    bool v2;              /* io.prometheus.write.v2 messages */
    const char *why;      /* first wire problem, static text */
    size_t why_at;        /* its byte offset */
    bool oom;
} wdec;

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

static bool wbad(wdec *w, const uint8_t *at, const char *why)
{
    if (w->why == NULL) {
        w->why = why;
        w->why_at = (size_t)(at - w->base);
    }
    return false;
}

/* Reads a tag. r->p < r->end on entry. */
static bool rd_tag(wdec *w, pbr *r, uint32_t *field, unsigned *wt)
{
    uint8_t *p = r->p;
    uint8_t b = p[0];
    if ((b & 0xf8) == 0) {
        return wbad(w, p, "field number 0");
    }
    *wt = b & 7u;
    uint32_t tag = (uint32_t)(b & 0x7f) >> 3;
    if ((b & 0x80) == 0) {
        *field = tag;
        r->p = p + 1;
        return true;
    }
    size_t rem = (size_t)(r->end - p);
    size_t max = rem > 5 ? 5 : rem;
    unsigned shift = 4;
    for (size_t i = 1; i < max; i++) {
        tag |= (uint32_t)(p[i] & 0x7f) << shift;
        if ((p[i] & 0x80) == 0) {
            *field = tag;
            r->p = p + i + 1;
            return true;
        }
        shift += 7;
    }
    return wbad(w, p, "bad tag");
}

/* rd_tag, then writes a pending string terminator at the tag's first byte. */
static bool rd_tag_nul(wdec *w, pbr *r, uint32_t *field, unsigned *wt)
{
    uint8_t *at = r->p;
    if (!rd_tag(w, r, field, wt)) {
        return false;
    }
    if (at == w->pending_nul) {
        *at = 0;
        w->pending_nul = NULL;
    }
    return true;
}

static bool rd_varint(wdec *w, pbr *r, uint64_t *v)
{
    uint8_t *p = r->p;
    if (p < r->end && p[0] < 0x80) {
        *v = p[0];
        r->p = p + 1;
        return true;
    }
    size_t rem = (size_t)(r->end - p);
    size_t max = rem > 10 ? 10 : rem;
    uint64_t x = 0;
    for (size_t i = 0; i < max; i++) {
        x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if ((p[i] & 0x80) == 0) {
            *v = x;
            r->p = p + i + 1;
            return true;
        }
    }
    return wbad(w, p, "unterminated varint");
}

static bool rd_fixed64(wdec *w, pbr *r, uint64_t *v)
{
    if (r->end - r->p < 8) {
        return wbad(w, r->p, "truncated 64-bit field");
    }
    memcpy(v, r->p, 8);
    r->p += 8;
    return true;
}

static bool rd_double(wdec *w, pbr *r, double *v)
{
    if (r->end - r->p < 8) {
        return wbad(w, r->p, "truncated 64-bit field");
    }
    memcpy(v, r->p, 8);
    r->p += 8;
    return true;
}

/* A length-delimited field: *sub is its payload, r moves past it. */
static bool rd_len(wdec *w, pbr *r, pbr *sub)
{
    uint8_t *p = r->p;
    size_t rem = (size_t)(r->end - p);
    size_t n;
    size_t hdr;
    if (rem > 0 && p[0] < 0x80) {
        n = p[0];
        hdr = 1;
    } else {
        size_t max = rem > 5 ? 5 : rem;
        size_t i = 0;
        n = 0;
        for (; i < max; i++) {
            n |= (size_t)(p[i] & 0x7f) << (7 * i);
            if ((p[i] & 0x80) == 0) {
                break;
            }
        }
        if (i == max) {
            return wbad(w, p, "bad length prefix");
        }
        if (n > INT_MAX) {
            return wbad(w, p, "length prefix too large");
        }
        hdr = i + 1;
    }
    if (n > rem - hdr) {
        return wbad(w, p, "length prefix runs past the end of its message");
    }
    sub->p = p + hdr;
    sub->end = sub->p + n;
    r->p = sub->end;
    return true;
}

static bool skip_field(wdec *w, pbr *r, unsigned wt)
{
    uint64_t v;
    pbr sub;
    switch (wt) {
    case WT_VARINT:
        return rd_varint(w, r, &v);
    case WT_I64:
        return rd_fixed64(w, r, &v);
    case WT_LEN:
        return rd_len(w, r, &sub);
    case WT_I32:
        if (r->end - r->p < 4) {
            return wbad(w, r->p, "truncated 32-bit field");
        }
        r->p += 4;
        return true;
    default:
        return wbad(w, r->p, "unsupported wire type (group or undefined)");
    }
}

static bool want_wt(wdec *w, const pbr *r, unsigned wt, unsigned want)
{
    if (wt != want) {
        return wbad(w, r->p, "known field with the wrong wire type");
    }
    return true;
}

static void *wd_alloc(wdec *w, size_t n, size_t size)
{
    if (n == 0) {
        return NULL;
    }
    void *p = br_arena_alloc(w->d->arena, n * size);
    if (p == NULL) {
        w->oom = true;
    }
    return p;
}

/* prometheus.Label: names and values become in-place C strings. */
static bool rd_label(wdec *w, pbr r, rawlab *l)
{
    /* Fast path: name (tag 0x0a) then value (tag 0x12), both non-empty and
     * shorter than 128 bytes, nothing else. The value tag is read before
     * the name's terminator overwrites it. */
    size_t avail = (size_t)(r.end - r.p);
    if (avail >= 6 && r.p[0] == 0x0a && r.p[1] > 0 && r.p[1] < 0x80 && (size_t)r.p[1] + 4 < avail) {
        uint8_t *name = r.p + 2;
        size_t nl = r.p[1];
        uint8_t *vt = name + nl;
        size_t vl = vt[1];
        if (vt[0] == 0x12 && vl > 0 && vl < 0x80 && vt + 2 + vl == r.end) {
            *vt = 0;
            *l = (rawlab){name, vt + 2, nl, vl, (const char *)name, (const char *)vt + 2, -1, -1};
            w->pending_nul = r.end;
            return true;
        }
    }
    *l = (rawlab){NULL, NULL, 0, 0, NULL, NULL, -1, -1};
    while (r.p < r.end) {
        uint32_t f;
        unsigned wt;
        if (!rd_tag_nul(w, &r, &f, &wt)) {
            return false;
        }
        if (f == 1 || f == 2) {
            pbr s;
            if (!want_wt(w, &r, wt, WT_LEN) || !rd_len(w, &r, &s)) {
                return false;
            }
            size_t n = (size_t)(s.end - s.p);
            const uint8_t *data = n ? s.p : NULL;
            const char *cstr = n ? (const char *)s.p : NULL;
            if (n) {
                w->pending_nul = s.end;
            }
            if (f == 1) {
                l->name = data;
                l->name_len = n;
                l->name_cstr = cstr;
            } else {
                l->value = data;
                l->value_len = n;
                l->value_cstr = cstr;
            }
        } else if (!skip_field(w, &r, wt)) {
            return false;
        }
    }
    return true;
}

/* A Label inside an exemplar: checked, not kept. */
static bool check_label(wdec *w, pbr r)
{
    while (r.p < r.end) {
        uint32_t f;
        unsigned wt;
        if (!rd_tag(w, &r, &f, &wt)) {
            return false;
        }
        if ((f == 1 || f == 2) && !want_wt(w, &r, wt, WT_LEN)) {
            return false;
        }
        if (!skip_field(w, &r, wt)) {
            return false;
        }
    }
    return true;
}

static bool check_exemplar(wdec *w, pbr r)
{
    while (r.p < r.end) {
        uint32_t f;
        unsigned wt;
        if (!rd_tag(w, &r, &f, &wt)) {
            return false;
        }
        if (f == 1) {
            pbr s;
            if (!want_wt(w, &r, wt, WT_LEN) || !rd_len(w, &r, &s) || !check_label(w, s)) {
                return false;
            }
            continue;
        }
        if ((f == 2 && !want_wt(w, &r, wt, WT_I64)) || (f == 3 && !want_wt(w, &r, wt, WT_VARINT))) {
            return false;
        }
        if (!skip_field(w, &r, wt)) {
            return false;
        }
    }
    return true;
}

static bool check_metadata(wdec *w, pbr r)
{
    while (r.p < r.end) {
        uint32_t f;
        unsigned wt;
        if (!rd_tag(w, &r, &f, &wt)) {
            return false;
        }
        if ((f == 1 && !want_wt(w, &r, wt, WT_VARINT)) ||
            ((f == 2 || f == 4 || f == 5) && !want_wt(w, &r, wt, WT_LEN))) {
            return false;
        }
        if (!skip_field(w, &r, wt)) {
            return false;
        }
    }
    return true;
}

static bool rd_sample(wdec *w, pbr r, br_sample *s)
{
    /* Fast path for what every sender writes: value (tag 0x09, 8 bytes),
     * then timestamp (tag 0x10, varint), nothing else. */
    size_t n = (size_t)(r.end - r.p);
    if (n >= 11 && r.p[0] == 0x09 && r.p[9] == 0x10) {
        uint8_t *p = r.p + 10;
        uint64_t t = 0;
        size_t i = 0;
        while (i < 10 && p + i < r.end) {
            uint8_t b = p[i];
            t |= (uint64_t)(b & 0x7f) << (7 * i);
            i++;
            if ((b & 0x80) == 0) {
                break;
            }
        }
        if (p + i == r.end && (p[i - 1] & 0x80) == 0) {
            memcpy(&s->v, r.p + 1, 8);
            s->t = (int64_t)t;
            return true;
        }
    }
    s->t = 0;
    s->v = 0;
    while (r.p < r.end) {
        uint32_t f;
        unsigned wt;
        if (!rd_tag(w, &r, &f, &wt)) {
            return false;
        }
        if (f == 1) {
            if (!want_wt(w, &r, wt, WT_I64) || !rd_double(w, &r, &s->v)) {
                return false;
            }
        } else if (f == 2) {
            uint64_t v;
            if (!want_wt(w, &r, wt, WT_VARINT) || !rd_varint(w, &r, &v)) {
                return false;
            }
            s->t = (int64_t)v;
        } else if (w->v2 && f == 3) {
            uint64_t v; /* start_timestamp: ignored */
            if (!want_wt(w, &r, wt, WT_VARINT) || !rd_varint(w, &r, &v)) {
                return false;
            }
        } else if (!skip_field(w, &r, wt)) {
            return false;
        }
    }
    return true;
}

static bool rd_span(wdec *w, pbr r, br_span *sp)
{
    sp->offset = 0;
    sp->length = 0;
    while (r.p < r.end) {
        uint32_t f;
        unsigned wt;
        uint64_t v;
        if (!rd_tag(w, &r, &f, &wt)) {
            return false;
        }
        if (f == 1 || f == 2) {
            if (!want_wt(w, &r, wt, WT_VARINT) || !rd_varint(w, &r, &v)) {
                return false;
            }
            uint32_t u = (uint32_t)v;
            if (f == 1) {
                sp->offset = (int32_t)((u >> 1) ^ (0u - (u & 1u)));
            } else {
                sp->length = u;
            }
        } else if (!skip_field(w, &r, wt)) {
            return false;
        }
    }
    return true;
}

/* Histogram field numbers of the repeated members, and their slots. */
enum { H_NSPAN, H_NDELTA, H_NCOUNT, H_PSPAN, H_PDELTA, H_PCOUNT, H_CUSTOM, H_N };

static int hist_slot(uint32_t f)
{
    switch (f) {
    case 8:
        return H_NSPAN;
    case 9:
        return H_NDELTA;
    case 10:
        return H_NCOUNT;
    case 11:
        return H_PSPAN;
    case 12:
        return H_PDELTA;
    case 13:
        return H_PCOUNT;
    case 16:
        return H_CUSTOM;
    default:
        return -1;
    }
}

/* Expected wire type of a singular Histogram field, or -1 when unknown.
 * Field 17 (start_timestamp) exists in 2.0 only. */
static int hist_scalar_wt(uint32_t f, bool v2)
{
    switch (f) {
    case 17:
        return v2 ? WT_VARINT : -1;
    case 1:
    case 4:
    case 6:
    case 14:
    case 15:
        return WT_VARINT;
    case 2:
    case 3:
    case 5:
    case 7:
        return WT_I64;
    default:
        return -1;
    }
}

static size_t count_varints(const pbr *s)
{
    size_t n = 0;
    for (const uint8_t *p = s->p; p < s->end; p++) {
        n += (*p & 0x80) == 0;
    }
    return n;
}

/* Counts the elements of the repeated fields and checks wire types. */
static bool scan_hist(wdec *w, pbr r, size_t n[H_N])
{
    memset(n, 0, H_N * sizeof(size_t));
    while (r.p < r.end) {
        uint32_t f;
        unsigned wt;
        pbr s;
        if (!rd_tag(w, &r, &f, &wt)) {
            return false;
        }
        int slot = hist_slot(f);
        if (slot == H_NSPAN || slot == H_PSPAN) {
            if (!want_wt(w, &r, wt, WT_LEN) || !rd_len(w, &r, &s)) {
                return false;
            }
            n[slot]++;
        } else if (slot == H_NDELTA || slot == H_PDELTA) {
            if (wt == WT_LEN) {
                if (!rd_len(w, &r, &s)) {
                    return false;
                }
                n[slot] += count_varints(&s);
            } else {
                uint64_t v;
                if (!want_wt(w, &r, wt, WT_VARINT) || !rd_varint(w, &r, &v)) {
                    return false;
                }
                n[slot]++;
            }
        } else if (slot >= 0) {
            if (wt == WT_LEN) {
                if (!rd_len(w, &r, &s)) {
                    return false;
                }
                if ((s.end - s.p) % 8 != 0) {
                    return wbad(w, s.p, "packed doubles not a multiple of 8 bytes");
                }
                n[slot] += (size_t)(s.end - s.p) / 8;
            } else {
                if (!want_wt(w, &r, wt, WT_I64) || !skip_field(w, &r, wt)) {
                    return false;
                }
                n[slot]++;
            }
        } else {
            int want = hist_scalar_wt(f, w->v2);
            if ((want >= 0 && !want_wt(w, &r, wt, (unsigned)want)) || !skip_field(w, &r, wt)) {
                return false;
            }
        }
    }
    return true;
}

static bool rd_hist(wdec *w, pbr r, wire_hist *h)
{
    size_t n[H_N];
    if (!scan_hist(w, r, n)) {
        return false;
    }
    br_span *spans[2] = {wd_alloc(w, n[H_NSPAN], sizeof(br_span)),
                         wd_alloc(w, n[H_PSPAN], sizeof(br_span))};
    int64_t *deltas[2] = {wd_alloc(w, n[H_NDELTA], sizeof(int64_t)),
                          wd_alloc(w, n[H_PDELTA], sizeof(int64_t))};
    double *dbl[3] = {wd_alloc(w, n[H_NCOUNT], sizeof(double)),
                      wd_alloc(w, n[H_PCOUNT], sizeof(double)),
                      wd_alloc(w, n[H_CUSTOM], sizeof(double))};
    if (w->oom) {
        return false;
    }
    size_t got[H_N] = {0};
    int count_case = 0; /* 1: count_int, 2: count_float */
    int zero_case = 0;  /* 6: zero_count_int, 7: zero_count_float */
    uint64_t count_bits = 0;
    uint64_t zero_bits = 0;
    memset(h, 0, sizeof(*h));
    while (r.p < r.end) {
        uint32_t f;
        unsigned wt;
        uint64_t v = 0;
        pbr s;
        if (!rd_tag(w, &r, &f, &wt)) {
            return false;
        }
        int slot = hist_slot(f);
        if (slot == H_NSPAN || slot == H_PSPAN) {
            if (!rd_len(w, &r, &s) || !rd_span(w, s, &spans[slot == H_PSPAN][got[slot]++])) {
                return false;
            }
            continue;
        }
        if (slot == H_NDELTA || slot == H_PDELTA) {
            int64_t *dst = deltas[slot == H_PDELTA];
            if (wt == WT_LEN) {
                if (!rd_len(w, &r, &s)) {
                    return false;
                }
                while (s.p < s.end) {
                    if (!rd_varint(w, &s, &v)) {
                        return false;
                    }
                    dst[got[slot]++] = (int64_t)((v >> 1) ^ (0u - (v & 1u)));
                }
            } else {
                if (!rd_varint(w, &r, &v)) {
                    return false;
                }
                dst[got[slot]++] = (int64_t)((v >> 1) ^ (0u - (v & 1u)));
            }
            continue;
        }
        if (slot >= 0) {
            double *dst = dbl[slot == H_NCOUNT ? 0 : slot == H_PCOUNT ? 1 : 2];
            if (wt == WT_LEN) {
                if (!rd_len(w, &r, &s)) {
                    return false;
                }
                size_t k = (size_t)(s.end - s.p) / 8;
                if (k > 0) {
                    memcpy(dst + got[slot], s.p, k * 8);
                }
                got[slot] += k;
            } else if (!rd_double(w, &r, &dst[got[slot]++])) {
                return false;
            }
            continue;
        }
        int swt = hist_scalar_wt(f, w->v2);
        if (swt == WT_VARINT) {
            if (!rd_varint(w, &r, &v)) {
                return false;
            }
        } else if (swt == WT_I64) {
            if (!rd_fixed64(w, &r, &v)) {
                return false;
            }
        } else {
            if (!skip_field(w, &r, wt)) {
                return false;
            }
            continue;
        }
        switch (f) {
        case 1:
        case 2:
            count_case = (int)f;
            count_bits = v;
            break;
        case 3:
            memcpy(&h->sum, &v, 8);
            break;
        case 4: {
            uint32_t u = (uint32_t)v;
            h->schema = (int32_t)((u >> 1) ^ (0u - (u & 1u)));
            break;
        }
        case 5:
            memcpy(&h->zero_threshold, &v, 8);
            break;
        case 6:
        case 7:
            zero_case = (int)f;
            zero_bits = v;
            break;
        case 14:
            h->reset_hint = (int)(int32_t)(uint32_t)v;
            break;
        case 15:
            h->t = (int64_t)v;
            break;
        default: /* 17: start_timestamp, ignored */
            break;
        }
    }
    h->is_float = count_case == 2;
    if (h->is_float) {
        memcpy(&h->count_float, &count_bits, 8);
    } else {
        h->count_int = count_bits;
    }
    if (zero_case == 6) {
        h->zero_int = zero_bits;
    } else if (zero_case == 7) {
        memcpy(&h->zero_float, &zero_bits, 8);
    }
    h->neg_spans = spans[0];
    h->n_neg_spans = got[H_NSPAN];
    h->pos_spans = spans[1];
    h->n_pos_spans = got[H_PSPAN];
    h->neg_deltas = deltas[0];
    h->n_neg_deltas = got[H_NDELTA];
    h->pos_deltas = deltas[1];
    h->n_pos_deltas = got[H_PDELTA];
    h->neg_counts = dbl[0];
    h->n_neg_counts = got[H_NCOUNT];
    h->pos_counts = dbl[1];
    h->n_pos_counts = got[H_PCOUNT];
    h->custom = dbl[2];
    h->n_custom = got[H_CUSTOM];
    return true;
}

/* Counts one TimeSeries' repeated fields (labels, samples, exemplars,
 * histograms: fields 1-4, all messages) and checks the framing. */
static bool scan_series(wdec *w, pbr r, size_t n[4])
{
    memset(n, 0, 4 * sizeof(size_t));
    while (r.p < r.end) {
        uint32_t f;
        unsigned wt;
        if (!rd_tag(w, &r, &f, &wt)) {
            return false;
        }
        if (f >= 1 && f <= 4) {
            if (!want_wt(w, &r, wt, WT_LEN)) {
                return false;
            }
            n[f - 1]++;
        }
        if (!skip_field(w, &r, wt)) {
            return false;
        }
    }
    return true;
}

static bool rd_series(wdec *w, pbr r, v1ser *ts)
{
    size_t n[4];
    if (!scan_series(w, r, n)) {
        return false;
    }
    memset(ts, 0, sizeof(*ts));
    ts->labels = wd_alloc(w, n[0], sizeof(rawlab));
    ts->samples = wd_alloc(w, n[1], sizeof(br_sample));
    ts->hists = wd_alloc(w, n[3], sizeof(wire_hist));
    if (w->oom) {
        return false;
    }
    while (r.p < r.end) {
        uint32_t f;
        unsigned wt;
        pbr s;
        if (!rd_tag_nul(w, &r, &f, &wt)) {
            return false;
        }
        if (f < 1 || f > 4) {
            if (!skip_field(w, &r, wt)) {
                return false;
            }
            continue;
        }
        if (!rd_len(w, &r, &s)) {
            return false;
        }
        bool ok;
        switch (f) {
        case 1:
            ok = rd_label(w, s, &ts->labels[ts->n_labels++]);
            break;
        case 2:
            ok = rd_sample(w, s, &ts->samples[ts->n_samples++]);
            break;
        case 3:
            ok = check_exemplar(w, s);
            ts->n_exemplars++;
            break;
        default:
            ok = rd_hist(w, s, &ts->hists[ts->n_hists++]);
            break;
        }
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* Counts the top level's series and checks its framing. */
static bool scan_request(wdec *w, pbr r, size_t *n_series)
{
    *n_series = 0;
    while (r.p < r.end) {
        uint32_t f;
        unsigned wt;
        if (!rd_tag(w, &r, &f, &wt)) {
            return false;
        }
        if ((f == 1 || f == 3) && !want_wt(w, &r, wt, WT_LEN)) {
            return false;
        }
        *n_series += f == 1;
        if (!skip_field(w, &r, wt)) {
            return false;
        }
    }
    return true;
}

/* Validates one decoded series and keeps it; same contract as
 * decode_v1_series. */
static int finish_v1_series(dec *d, const v1ser *ts, br_err *err)
{
    br_rw_series s = {0};
    int rc = build_labels(d, ts->labels, ts->n_labels, ts->n_samples, ts->n_hists, &s, err);
    if (rc != 0) {
        return rc;
    }
    s.samples = ts->samples;
    s.n_samples = ts->n_samples;
    if (ts->n_hists > 0) {
        s.histograms = br_arena_alloc(d->arena, ts->n_hists * sizeof(br_histogram_sample));
        if (s.histograms == NULL) {
            return arena_full(d, err);
        }
        for (size_t i = 0; i < ts->n_hists; i++) {
            bool oom = false;
            const char *why = convert_hist(d, &ts->hists[i], &s.histograms[i], &oom);
            if (oom) {
                return arena_full(d, err);
            }
            if (why != NULL) {
                return reject(d, ts->labels, ts->n_labels, ts->n_samples, ts->n_hists,
                              BR_RW_INVALID_HISTOGRAM, err, "histogram at t=%lld: %s",
                              (long long)ts->hists[i].t, why);
            }
        }
        s.n_histograms = ts->n_hists;
    }
    keep_series(d, &s);
    return 0;
}

/* data has one writable byte past len (for the last string's terminator). */
static int decode_v1_wire(dec *d, uint8_t *data, size_t len, br_err *err)
{
    wdec w = {.d = d, .base = data};
    pbr top = {data, data + len};
    size_t n_series = 0;
    bool ok = scan_request(&w, top, &n_series);
    v1ser *recs = NULL;
    if (ok) {
        recs = wd_alloc(&w, n_series, sizeof(v1ser));
        ok = !w.oom;
    }
    size_t k = 0;
    size_t n_meta = 0;
    while (ok && top.p < top.end) {
        uint32_t f;
        unsigned wt;
        pbr s;
        ok = rd_tag_nul(&w, &top, &f, &wt);
        if (!ok) {
            break;
        }
        if (f == 1) {
            ok = rd_len(&w, &top, &s) && rd_series(&w, s, &recs[k++]);
        } else if (f == 3) {
            ok = rd_len(&w, &top, &s) && check_metadata(&w, s);
            n_meta++;
        } else {
            ok = skip_field(&w, &top, wt);
        }
    }
    if (!ok) {
        if (w.oom) {
            return arena_full(d, err);
        }
        return br_err_set(err, BR_EPARSE,
                          "body is not a valid prometheus.WriteRequest protobuf message: %s at "
                          "byte %zu",
                          w.why ? w.why : "malformed", w.why_at);
    }
    if (w.pending_nul != NULL) {
        assert(w.pending_nul == data + len);
        *w.pending_nul = 0;
    }
    assert(k == n_series);
    br_rw_request *out = d->out;
    out->n_series_in_request = n_series;
    out->n_metadata = n_meta;
    size_t points = 0;
    for (size_t i = 0; i < n_series; i++) {
        out->n_samples += recs[i].n_samples;
        out->n_histograms += recs[i].n_hists;
        out->n_exemplars += recs[i].n_exemplars;
        points += recs[i].n_samples + recs[i].n_hists;
    }
    int rc = check_totals(d, n_series, points, err);
    for (size_t i = 0; rc == 0 && i < n_series; i++) {
        rc = finish_v1_series(d, &recs[i], err);
        rc = rc > 0 ? 0 : rc;
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Remote write 2.0                                                         */
/* ------------------------------------------------------------------------ */

static int load_symbols(dec *d, const Io__Prometheus__Write__V2__Request *req, br_err *err)
{
    if (req->n_symbols == 0) {
        return 0;
    }
    if (req->symbols[0].len != 0) {
        return br_err_set(
            err, BR_EPARSE,
            "symbols[0] must be the empty string in an io.prometheus.write.v2.Request");
    }
    sym *syms = br_arena_alloc(d->arena, req->n_symbols * sizeof(sym));
    if (syms == NULL) {
        return arena_full(d, err);
    }
    for (size_t i = 0; i < req->n_symbols; i++) {
        const ProtobufCBinaryData *b = &req->symbols[i];
        syms[i].len = b->len;
        syms[i].state = (int8_t)check_text(b->data, b->len);
        syms[i].str = b->len == 0 ? "" : br_arena_strndup(d->arena, (const char *)b->data, b->len);
        if (syms[i].str == NULL) {
            return arena_full(d, err);
        }
    }
    d->syms = syms;
    d->n_syms = req->n_symbols;
    return 0;
}

/* Fills raw labels from refs already known to be in range. */
static void refs_to_labels(const dec *d, const uint32_t *refs, size_t n_pairs, rawlab *ls)
{
    for (size_t i = 0; i < n_pairs; i++) {
        const sym *nm = &d->syms[refs[2 * i]];
        const sym *vl = &d->syms[refs[2 * i + 1]];
        rawlab *l = &ls[i];
        l->name = (const uint8_t *)nm->str;
        l->value = (const uint8_t *)vl->str;
        l->name_len = nm->len;
        l->value_len = vl->len;
        l->name_cstr = nm->str;
        l->value_cstr = vl->str;
        l->name_state = nm->state;
        l->value_state = vl->state;
    }
}

/* Returns the first out-of-range ref index in refs, or n when all are valid. */
static size_t first_bad_ref(const dec *d, const uint32_t *refs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (refs[i] >= d->n_syms) {
            return i;
        }
    }
    return n;
}

static int decode_v2_series(dec *d, const Io__Prometheus__Write__V2__TimeSeries *ts, br_err *err)
{
    size_t nh = ts->n_histograms;
    size_t nsmp = ts->n_samples;
    size_t n_refs = ts->n_labels_refs;
    size_t bad = first_bad_ref(d, ts->labels_refs, n_refs);
    /* For messages, show the labels that can be resolved. */
    size_t n_show = (bad < n_refs ? bad : n_refs) / 2;
    rawlab *ls = scratch_get(d, n_show);
    refs_to_labels(d, ts->labels_refs, n_show, ls);
    if (bad < n_refs) {
        return reject(d, ls, n_show, nsmp, nh, BR_RW_BAD_SYMBOL_REF, err,
                      "labels_refs[%zu] = %u is outside the %zu symbols", bad, ts->labels_refs[bad],
                      d->n_syms);
    }
    if (n_refs % 2 != 0) {
        return reject(d, ls, n_show, nsmp, nh, BR_RW_BAD_SYMBOL_REF, err,
                      "labels_refs has odd length %zu", n_refs);
    }
    for (size_t i = 0; i < ts->n_exemplars; i++) {
        const Io__Prometheus__Write__V2__Exemplar *e = ts->exemplars[i];
        size_t eb = first_bad_ref(d, e->labels_refs, e->n_labels_refs);
        if (eb < e->n_labels_refs || e->n_labels_refs % 2 != 0) {
            return reject(d, ls, n_show, nsmp, nh, BR_RW_BAD_SYMBOL_REF, err,
                          "exemplar %zu has an odd or out-of-range labels_refs", i);
        }
    }
    if (ts->metadata != NULL &&
        (ts->metadata->help_ref >= d->n_syms && ts->metadata->help_ref != 0)) {
        return reject(d, ls, n_show, nsmp, nh, BR_RW_BAD_SYMBOL_REF, err,
                      "metadata help_ref %u is outside the %zu symbols", ts->metadata->help_ref,
                      d->n_syms);
    }
    if (ts->metadata != NULL &&
        (ts->metadata->unit_ref >= d->n_syms && ts->metadata->unit_ref != 0)) {
        return reject(d, ls, n_show, nsmp, nh, BR_RW_BAD_SYMBOL_REF, err,
                      "metadata unit_ref %u is outside the %zu symbols", ts->metadata->unit_ref,
                      d->n_syms);
    }
    if (nsmp > 0 && nh > 0) {
        return reject(d, ls, n_show, nsmp, nh, BR_RW_MIXED_SAMPLES_HISTOGRAMS, err,
                      "series holds both %zu samples and %zu histograms", nsmp, nh);
    }
    br_rw_series s = {0};
    int rc = build_labels(d, ls, n_show, nsmp, nh, &s, err);
    if (rc != 0) {
        return rc;
    }
    if (nsmp > 0) {
        s.samples = br_arena_alloc(d->arena, nsmp * sizeof(br_sample));
        if (s.samples == NULL) {
            return arena_full(d, err);
        }
        for (size_t i = 0; i < nsmp; i++) {
            s.samples[i].t = ts->samples[i]->timestamp;
            s.samples[i].v = ts->samples[i]->value;
        }
        s.n_samples = nsmp;
    }
    if (nh > 0) {
        s.histograms = br_arena_alloc(d->arena, nh * sizeof(br_histogram_sample));
        if (s.histograms == NULL) {
            return arena_full(d, err);
        }
        for (size_t i = 0; i < nh; i++) {
            const Io__Prometheus__Write__V2__Histogram *m = ts->histograms[i];
            wire_hist w;
            bool oom = false;
            FILL_WIRE_HIST(w, m, IO__PROMETHEUS__WRITE__V2__HISTOGRAM__COUNT_COUNT_FLOAT,
                           IO__PROMETHEUS__WRITE__V2__HISTOGRAM__ZERO_COUNT_ZERO_COUNT_INT,
                           IO__PROMETHEUS__WRITE__V2__HISTOGRAM__ZERO_COUNT_ZERO_COUNT_FLOAT, oom);
            const char *why = oom ? NULL : convert_hist(d, &w, &s.histograms[i], &oom);
            if (oom) {
                return arena_full(d, err);
            }
            if (why != NULL) {
                return reject(d, ls, n_show, nsmp, nh, BR_RW_INVALID_HISTOGRAM, err,
                              "histogram at t=%lld: %s", (long long)m->timestamp, why);
            }
        }
        s.n_histograms = nh;
    }
    keep_series(d, &s);
    return 0;
}

static int decode_v2_pbc(dec *d, const uint8_t *data, size_t len, pb_ctx *pc, br_err *err)
{
    ProtobufCAllocator alloc = {pb_alloc, pb_free, pc};
    Io__Prometheus__Write__V2__Request *req =
        io__prometheus__write__v2__request__unpack(&alloc, len, data);
    if (req == NULL) {
        if (pc->refused) {
            return arena_full(d, err);
        }
        return br_err_set(err, BR_EPARSE,
                          "body is not a valid io.prometheus.write.v2.Request protobuf message");
    }
    br_rw_request *out = d->out;
    out->n_series_in_request = req->n_timeseries;
    size_t points = 0;
    for (size_t i = 0; i < req->n_timeseries; i++) {
        const Io__Prometheus__Write__V2__TimeSeries *ts = req->timeseries[i];
        out->n_samples += ts->n_samples;
        out->n_histograms += ts->n_histograms;
        out->n_exemplars += ts->n_exemplars;
        out->n_metadata += ts->metadata != NULL;
        points += ts->n_samples + ts->n_histograms;
    }
    int rc = check_totals(d, req->n_timeseries, points, err);
    if (rc == 0) {
        rc = load_symbols(d, req, err);
    }
    for (size_t i = 0; rc == 0 && i < req->n_timeseries; i++) {
        rc = decode_v2_series(d, req->timeseries[i], err);
        rc = rc > 0 ? 0 : rc;
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Remote write 2.0, hand-written wire decoder                              */
/* ------------------------------------------------------------------------ */

/*
 * io.prometheus.write.v2.Request with the same wire rules and steps as the
 * 1.0 decoder above. Differences: symbols may come after the series that
 * use them, so the series are only resolved once the whole body is read;
 * symbols are NUL-terminated in place like 1.0 label strings. Of a
 * Metadata field sent twice the last one counts whole (protobuf-c's merge
 * carries no proto3 scalar over). Sample and Histogram field 3 and 17
 * (start_timestamp) and TimeSeries field 6 (created_timestamp) must be
 * varints and are otherwise ignored.
 */

typedef struct v2ex {
    int64_t max_ref; /* largest labels_refs entry, -1 for none */
    bool odd;
} v2ex;

typedef struct v2ser {
    uint32_t *refs;
    size_t n_refs;
    br_sample *samples;
    size_t n_samples;
    wire_hist *hists;
    size_t n_hists;
    v2ex *ex;
    size_t n_exemplars;
    bool has_meta;
    uint32_t help_ref;
    uint32_t unit_ref;
} v2ser;

/* Appends a repeated uint32 field (packed or not) to dst[*n]. */
static bool rd_refs(wdec *w, pbr *r, unsigned wt, uint32_t *dst, size_t *n, int64_t *max)
{
    uint64_t v;
    if (wt != WT_LEN) {
        if (!rd_varint(w, r, &v)) {
            return false;
        }
        if (dst != NULL) {
            dst[*n] = (uint32_t)v;
        }
        (*n)++;
        if ((int64_t)(uint32_t)v > *max) {
            *max = (uint32_t)v;
        }
        return true;
    }
    pbr s;
    if (!rd_len(w, r, &s)) {
        return false;
    }
    while (s.p < s.end) {
        if (!rd_varint(w, &s, &v)) {
            return false;
        }
        if (dst != NULL) {
            dst[*n] = (uint32_t)v;
        }
        (*n)++;
        if ((int64_t)(uint32_t)v > *max) {
            *max = (uint32_t)v;
        }
    }
    return true;
}

/* Counts a repeated uint32 field's elements, checking its wire type. */
static bool count_refs(wdec *w, pbr *r, unsigned wt, size_t *n)
{
    pbr s;
    uint64_t v;
    if (wt == WT_LEN) {
        if (!rd_len(w, r, &s)) {
            return false;
        }
        *n += count_varints(&s);
        return true;
    }
    if (!want_wt(w, r, wt, WT_VARINT) || !rd_varint(w, r, &v)) {
        return false;
    }
    (*n)++;
    return true;
}

static bool rd_v2_exemplar(wdec *w, pbr r, v2ex *e)
{
    e->max_ref = -1;
    size_t n = 0;
    while (r.p < r.end) {
        uint32_t f;
        unsigned wt;
        if (!rd_tag(w, &r, &f, &wt)) {
            return false;
        }
        if (f == 1) {
            if ((wt != WT_LEN && !want_wt(w, &r, wt, WT_VARINT)) ||
                !rd_refs(w, &r, wt, NULL, &n, &e->max_ref)) {
                return false;
            }
            continue;
        }
        if ((f == 2 && !want_wt(w, &r, wt, WT_I64)) || (f == 3 && !want_wt(w, &r, wt, WT_VARINT))) {
            return false;
        }
        if (!skip_field(w, &r, wt)) {
            return false;
        }
    }
    e->odd = n % 2 != 0;
    return true;
}

static bool rd_v2_metadata(wdec *w, pbr r, v2ser *ts)
{
    uint32_t help = 0;
    uint32_t unit = 0;
    while (r.p < r.end) {
        uint32_t f;
        unsigned wt;
        uint64_t v;
        if (!rd_tag(w, &r, &f, &wt)) {
            return false;
        }
        if (f == 1 || f == 3 || f == 4) {
            if (!want_wt(w, &r, wt, WT_VARINT) || !rd_varint(w, &r, &v)) {
                return false;
            }
            if (f == 3) {
                help = (uint32_t)v;
            } else if (f == 4) {
                unit = (uint32_t)v;
            }
        } else if (!skip_field(w, &r, wt)) {
            return false;
        }
    }
    /* A Metadata sent twice: protobuf-c's merge keeps no proto3 scalar of
     * the earlier one, so the last one wins whole. */
    ts->help_ref = help;
    ts->unit_ref = unit;
    ts->has_meta = true;
    return true;
}

/* Counts a 2.0 TimeSeries' repeated fields: refs, samples, histograms,
 * exemplars; checks wire types and framing. */
static bool scan_v2_series(wdec *w, pbr r, size_t n[4])
{
    memset(n, 0, 4 * sizeof(size_t));
    while (r.p < r.end) {
        uint32_t f;
        unsigned wt;
        if (!rd_tag(w, &r, &f, &wt)) {
            return false;
        }
        if (f == 1) {
            if (!count_refs(w, &r, wt, &n[0])) {
                return false;
            }
            continue;
        }
        if ((f >= 2 && f <= 5 && !want_wt(w, &r, wt, WT_LEN)) ||
            (f == 6 && !want_wt(w, &r, wt, WT_VARINT))) {
            return false;
        }
        if (f >= 2 && f <= 4) {
            n[f - 1]++;
        }
        if (!skip_field(w, &r, wt)) {
            return false;
        }
    }
    return true;
}

static bool rd_v2_series(wdec *w, pbr r, v2ser *ts)
{
    size_t n[4];
    if (!scan_v2_series(w, r, n)) {
        return false;
    }
    memset(ts, 0, sizeof(*ts));
    ts->refs = wd_alloc(w, n[0], sizeof(uint32_t));
    ts->samples = wd_alloc(w, n[1], sizeof(br_sample));
    ts->hists = wd_alloc(w, n[2], sizeof(wire_hist));
    ts->ex = wd_alloc(w, n[3], sizeof(v2ex));
    if (w->oom) {
        return false;
    }
    while (r.p < r.end) {
        uint32_t f;
        unsigned wt;
        pbr s;
        int64_t max_unused = -1;
        if (!rd_tag(w, &r, &f, &wt)) {
            return false;
        }
        bool ok;
        if (f == 1) {
            ok = rd_refs(w, &r, wt, ts->refs, &ts->n_refs, &max_unused);
        } else if (f >= 2 && f <= 5) {
            ok = rd_len(w, &r, &s);
            if (ok && f == 2) {
                ok = rd_sample(w, s, &ts->samples[ts->n_samples++]);
            } else if (ok && f == 3) {
                ok = rd_hist(w, s, &ts->hists[ts->n_hists++]);
            } else if (ok && f == 4) {
                ok = rd_v2_exemplar(w, s, &ts->ex[ts->n_exemplars++]);
            } else if (ok) {
                ok = rd_v2_metadata(w, s, ts);
            }
        } else {
            ok = skip_field(w, &r, wt);
        }
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* Same checks, order and messages as decode_v2_series. */
static int finish_v2_series(dec *d, const v2ser *ts, br_err *err)
{
    size_t nh = ts->n_hists;
    size_t nsmp = ts->n_samples;
    size_t n_refs = ts->n_refs;
    size_t bad = first_bad_ref(d, ts->refs, n_refs);
    size_t n_show = (bad < n_refs ? bad : n_refs) / 2;
    rawlab *ls = scratch_get(d, n_show);
    refs_to_labels(d, ts->refs, n_show, ls);
    if (bad < n_refs) {
        return reject(d, ls, n_show, nsmp, nh, BR_RW_BAD_SYMBOL_REF, err,
                      "labels_refs[%zu] = %u is outside the %zu symbols", bad, ts->refs[bad],
                      d->n_syms);
    }
    if (n_refs % 2 != 0) {
        return reject(d, ls, n_show, nsmp, nh, BR_RW_BAD_SYMBOL_REF, err,
                      "labels_refs has odd length %zu", n_refs);
    }
    for (size_t i = 0; i < ts->n_exemplars; i++) {
        const v2ex *e = &ts->ex[i];
        if ((e->max_ref >= 0 && (size_t)e->max_ref >= d->n_syms) || e->odd) {
            return reject(d, ls, n_show, nsmp, nh, BR_RW_BAD_SYMBOL_REF, err,
                          "exemplar %zu has an odd or out-of-range labels_refs", i);
        }
    }
    if (ts->has_meta && ts->help_ref >= d->n_syms && ts->help_ref != 0) {
        return reject(d, ls, n_show, nsmp, nh, BR_RW_BAD_SYMBOL_REF, err,
                      "metadata help_ref %u is outside the %zu symbols", ts->help_ref, d->n_syms);
    }
    if (ts->has_meta && ts->unit_ref >= d->n_syms && ts->unit_ref != 0) {
        return reject(d, ls, n_show, nsmp, nh, BR_RW_BAD_SYMBOL_REF, err,
                      "metadata unit_ref %u is outside the %zu symbols", ts->unit_ref, d->n_syms);
    }
    if (nsmp > 0 && nh > 0) {
        return reject(d, ls, n_show, nsmp, nh, BR_RW_MIXED_SAMPLES_HISTOGRAMS, err,
                      "series holds both %zu samples and %zu histograms", nsmp, nh);
    }
    br_rw_series s = {0};
    int rc = build_labels(d, ls, n_show, nsmp, nh, &s, err);
    if (rc != 0) {
        return rc;
    }
    s.samples = ts->samples;
    s.n_samples = nsmp;
    if (nh > 0) {
        s.histograms = br_arena_alloc(d->arena, nh * sizeof(br_histogram_sample));
        if (s.histograms == NULL) {
            return arena_full(d, err);
        }
        for (size_t i = 0; i < nh; i++) {
            bool oom = false;
            const char *why = convert_hist(d, &ts->hists[i], &s.histograms[i], &oom);
            if (oom) {
                return arena_full(d, err);
            }
            if (why != NULL) {
                return reject(d, ls, n_show, nsmp, nh, BR_RW_INVALID_HISTOGRAM, err,
                              "histogram at t=%lld: %s", (long long)ts->hists[i].t, why);
            }
        }
        s.n_histograms = nh;
    }
    keep_series(d, &s);
    return 0;
}

/* data has one writable byte past len (for the last symbol's terminator). */
static int decode_v2_wire(dec *d, uint8_t *data, size_t len, br_err *err)
{
    wdec w = {.d = d, .base = data, .v2 = true};
    pbr top = {data, data + len};
    size_t n_series = 0;
    size_t n_syms = 0;
    bool ok = true;
    /* Scan: count symbols and series, check the top-level framing. */
    for (pbr r = top; ok && r.p < r.end;) {
        uint32_t f;
        unsigned wt;
        ok = rd_tag(&w, &r, &f, &wt);
        if (ok && (f == 4 || f == 5)) {
            ok = want_wt(&w, &r, wt, WT_LEN);
            n_syms += f == 4;
            n_series += f == 5;
        }
        ok = ok && skip_field(&w, &r, wt);
    }
    v2ser *recs = NULL;
    sym *syms = NULL;
    if (ok) {
        recs = wd_alloc(&w, n_series, sizeof(v2ser));
        syms = wd_alloc(&w, n_syms, sizeof(sym));
        ok = !w.oom;
    }
    size_t k = 0;
    size_t ks = 0;
    while (ok && top.p < top.end) {
        uint32_t f;
        unsigned wt;
        pbr s;
        ok = rd_tag_nul(&w, &top, &f, &wt);
        if (!ok) {
            break;
        }
        if (f == 4) {
            ok = rd_len(&w, &top, &s);
            if (ok) {
                size_t n = (size_t)(s.end - s.p);
                syms[ks].len = n;
                syms[ks].str = n ? (const char *)s.p : "";
                syms[ks].state = -1;
                ks++;
                if (n) {
                    w.pending_nul = s.end;
                }
            }
        } else if (f == 5) {
            ok = rd_len(&w, &top, &s) && rd_v2_series(&w, s, &recs[k++]);
        } else {
            ok = skip_field(&w, &top, wt);
        }
    }
    if (!ok) {
        if (w.oom) {
            return arena_full(d, err);
        }
        return br_err_set(err, BR_EPARSE,
                          "body is not a valid io.prometheus.write.v2.Request protobuf message: "
                          "%s at byte %zu",
                          w.why ? w.why : "malformed", w.why_at);
    }
    if (w.pending_nul != NULL) {
        assert(w.pending_nul == data + len);
        *w.pending_nul = 0;
    }
    assert(k == n_series && ks == n_syms);
    br_rw_request *out = d->out;
    out->n_series_in_request = n_series;
    size_t points = 0;
    for (size_t i = 0; i < n_series; i++) {
        out->n_samples += recs[i].n_samples;
        out->n_histograms += recs[i].n_hists;
        out->n_exemplars += recs[i].n_exemplars;
        out->n_metadata += recs[i].has_meta;
        points += recs[i].n_samples + recs[i].n_hists;
    }
    int rc = check_totals(d, n_series, points, err);
    if (rc == 0 && n_syms > 0) {
        if (syms[0].len != 0) {
            return br_err_set(
                err, BR_EPARSE,
                "symbols[0] must be the empty string in an io.prometheus.write.v2.Request");
        }
        for (size_t i = 0; i < n_syms; i++) {
            syms[i].state = (int8_t)check_text((const uint8_t *)syms[i].str, syms[i].len);
        }
        d->syms = syms;
        d->n_syms = n_syms;
    }
    for (size_t i = 0; rc == 0 && i < n_series; i++) {
        rc = finish_v2_series(d, &recs[i], err);
        rc = rc > 0 ? 0 : rc;
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Entry point                                                              */
/* ------------------------------------------------------------------------ */

int br_rw_decode(const void *body, size_t len, const char *content_type,
                 const char *content_encoding, const br_rw_options *opts, br_arena *arena,
                 br_rw_request *out, br_err *err)
{
    assert(arena != NULL && out != NULL);
    assert(body != NULL || len == 0);
    memset(out, 0, sizeof(*out));
    br_rw_options defaults;
    if (opts == NULL) {
        br_rw_options_init(&defaults);
        opts = &defaults;
    }
    int version = br_rw_parse_content_type(content_type, err);
    if (version < 0) {
        return version;
    }
    int rc = check_content_encoding(content_encoding, err);
    if (rc != 0) {
        return rc;
    }
    out->version = version;

    size_t raw_len = 0;
    if (len == 0 || snappy_uncompressed_length(body, len, &raw_len) != SNAPPY_OK) {
        return br_err_set(err, BR_EPARSE,
                          "body is not snappy block-compressed data (bad length header, %zu bytes "
                          "received)",
                          len);
    }
    if (opts->max_decompressed_bytes != 0 && raw_len > opts->max_decompressed_bytes) {
        return br_err_set(err, BR_ETOOLARGE,
                          "body declares %zu bytes uncompressed, more than the limit of %zu",
                          raw_len, opts->max_decompressed_bytes);
    }
    dec d = {.opts = opts, .arena = arena, .out = out, .version = version};
    /* One spare byte: the 1.0 decoder writes the last string's terminator there. */
    uint8_t *raw = br_arena_alloc(arena, raw_len + 1);
    if (raw == NULL) {
        return arena_full(&d, err);
    }
    size_t got = raw_len;
    if (snappy_uncompress(body, len, (char *)raw, &got) != SNAPPY_OK || got != raw_len) {
        return br_err_set(err, BR_EPARSE, "body is not valid snappy block-compressed data");
    }
    rc = setup_tenant(&d, err);
    if (rc != 0) {
        return rc;
    }
    pb_ctx pc = {arena, false};
    if (version == 1 && !opts->reference_decoder) {
        rc = decode_v1_wire(&d, raw, raw_len, err);
    } else if (version == 1) {
        rc = decode_v1_pbc(&d, raw, raw_len, &pc, err);
    } else if (!opts->reference_decoder) {
        rc = decode_v2_wire(&d, raw, raw_len, err);
    } else {
        rc = decode_v2_pbc(&d, raw, raw_len, &pc, err);
    }
    br_free(d.scratch);
    return rc;
}

int br_rw_describe_rejections(const br_rw_request *req, br_buf *out)
{
    if (req->n_rejected_series == 0) {
        return 0;
    }
    int rc = br_buf_printf(
        out, "rejected %zu of %zu series (%zu samples, %zu histograms):", req->n_rejected_series,
        req->n_series_in_request, req->n_rejected_samples, req->n_rejected_histograms);
    const char *sep = " ";
    for (int r = 0; rc == 0 && r < BR_RW_REASON_COUNT; r++) {
        if (req->rejected[r] != 0) {
            rc = br_buf_printf(out, "%s%zu %s", sep, req->rejected[r],
                               br_rw_reason_name((br_rw_reason)r));
            sep = ", ";
        }
    }
    for (size_t i = 0; rc == 0 && i < req->n_messages; i++) {
        rc = br_buf_printf(out, "%s%s", i == 0 ? "; " : "; ", req->messages[i]);
    }
    if (rc == 0 && req->n_rejected_series > req->n_messages) {
        rc = br_buf_printf(out, "; and %zu more", req->n_rejected_series - req->n_messages);
    }
    return rc;
}
