/*
 * metrics.c — self-metrics registry and text exposition. See metrics.h.
 *
 * Entries live in a growable array of pointers (so handles never move),
 * appended under a mutex at registration. Rendering walks the array once per
 * distinct name so each family is contiguous.
 */
#include "metrics.h"

#include "engine/core/alloc.h"
#include "engine/core/numfmt.h"

#include <math.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

enum entry_kind { KIND_COUNTER, KIND_GAUGE, KIND_GAUGE_FN, KIND_HISTO };

typedef struct metric_entry {
    enum entry_kind kind;
    char *name;
    char *help;
    char *labels;
    br_gauge_fn fn;
    void *fn_ctx;
    union {
        br_counter counter;
        br_gauge gauge;
        br_histo histo;
    } u;
} metric_entry;

typedef struct collector {
    br_metrics_collector fn;
    void *ctx;
} collector;

struct br_metrics {
    pthread_mutex_t mu;
    metric_entry **entries;
    size_t n_entries;
    size_t cap_entries;
    collector *collectors;
    size_t n_collectors;
};

br_metrics *br_metrics_new(void)
{
    br_metrics *m = br_calloc(1, sizeof(*m));
    pthread_mutex_init(&m->mu, NULL);
    return m;
}

void br_metrics_free(br_metrics *m)
{
    if (m == NULL) {
        return;
    }
    for (size_t i = 0; i < m->n_entries; i++) {
        br_free(m->entries[i]->name);
        br_free(m->entries[i]->help);
        br_free(m->entries[i]->labels);
        br_free(m->entries[i]);
    }
    br_free(m->entries);
    br_free(m->collectors);
    pthread_mutex_destroy(&m->mu);
    br_free(m);
}

static metric_entry *find_or_add(br_metrics *m, enum entry_kind kind, const char *name,
                                 const char *help, const char *labels)
{
    labels = labels ? labels : "";
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n_entries; i++) {
        metric_entry *e = m->entries[i];
        if (e->kind == kind && strcmp(e->name, name) == 0 && strcmp(e->labels, labels) == 0) {
            pthread_mutex_unlock(&m->mu);
            return e;
        }
    }
    if (m->n_entries == m->cap_entries) {
        m->cap_entries = m->cap_entries ? m->cap_entries * 2 : 64;
        m->entries = br_realloc(m->entries, m->cap_entries * sizeof(*m->entries));
    }
    metric_entry *e = br_calloc(1, sizeof(*e));
    e->kind = kind;
    e->name = br_strdup(name);
    e->help = br_strdup(help ? help : "");
    e->labels = br_strdup(labels);
    m->entries[m->n_entries++] = e;
    pthread_mutex_unlock(&m->mu);
    return e;
}

br_counter *br_metrics_counter(br_metrics *m, const char *name, const char *help,
                               const char *labels)
{
    return &find_or_add(m, KIND_COUNTER, name, help, labels)->u.counter;
}

br_gauge *br_metrics_gauge(br_metrics *m, const char *name, const char *help, const char *labels)
{
    return &find_or_add(m, KIND_GAUGE, name, help, labels)->u.gauge;
}

void br_metrics_gauge_func(br_metrics *m, const char *name, const char *help, const char *labels,
                           br_gauge_fn fn, void *ctx)
{
    metric_entry *e = find_or_add(m, KIND_GAUGE_FN, name, help, labels);
    e->fn = fn;
    e->fn_ctx = ctx;
}

br_histo *br_metrics_histogram(br_metrics *m, const char *name, const char *help,
                               const char *labels, const double *bounds, size_t n_bounds)
{
    metric_entry *e = find_or_add(m, KIND_HISTO, name, help, labels);
    br_histo *h = &e->u.histo;
    if (h->n_bounds == 0) {
        if (n_bounds > BR_HISTO_MAX_BUCKETS) {
            n_bounds = BR_HISTO_MAX_BUCKETS;
        }
        memcpy(h->bounds, bounds, n_bounds * sizeof(double));
        h->n_bounds = n_bounds;
    }
    return h;
}

void br_metrics_collector_add(br_metrics *m, br_metrics_collector fn, void *ctx)
{
    pthread_mutex_lock(&m->mu);
    m->collectors = br_realloc(m->collectors, (m->n_collectors + 1) * sizeof(*m->collectors));
    m->collectors[m->n_collectors].fn = fn;
    m->collectors[m->n_collectors].ctx = ctx;
    m->n_collectors++;
    pthread_mutex_unlock(&m->mu);
}

static uint64_t dbits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof(b));
    return b;
}

static double bitsd(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof(v));
    return v;
}

void br_gauge_set(br_gauge *g, double v)
{
    atomic_store_explicit(&g->bits, dbits(v), memory_order_relaxed);
}

double br_gauge_get(br_gauge *g)
{
    return bitsd(atomic_load_explicit(&g->bits, memory_order_relaxed));
}

void br_histo_observe(br_histo *h, double v)
{
    size_t i = 0;
    while (i < h->n_bounds && v > h->bounds[i]) {
        i++;
    }
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
    uint64_t old = atomic_load_explicit(&h->sum_bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&h->sum_bits, &old, dbits(bitsd(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

void br_metrics_format_value(br_buf *out, double v)
{
    char tmp[BR_FLOAT_BUF];
    br_buf_puts(out, br_format_float(v, tmp, sizeof(tmp)));
}

void br_metrics_escape(br_buf *out, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\') {
            br_buf_puts(out, "\\\\");
        } else if (*s == '"') {
            br_buf_puts(out, "\\\"");
        } else if (*s == '\n') {
            br_buf_puts(out, "\\n");
        } else {
            br_buf_putc(out, *s);
        }
    }
}

static void help_escape(br_buf *out, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\') {
            br_buf_puts(out, "\\\\");
        } else if (*s == '\n') {
            br_buf_puts(out, "\\n");
        } else {
            br_buf_putc(out, *s);
        }
    }
}

static void series_line(br_buf *out, const char *name, const char *suffix, const char *labels,
                        const char *extra, double v)
{
    br_buf_puts(out, name);
    br_buf_puts(out, suffix);
    bool has_labels = labels[0] != '\0';
    bool has_extra = extra != NULL && extra[0] != '\0';
    if (has_labels || has_extra) {
        br_buf_printf(out, "{%s%s%s}", labels, has_labels && has_extra ? "," : "",
                      has_extra ? extra : "");
    }
    br_buf_putc(out, ' ');
    br_metrics_format_value(out, v);
    br_buf_putc(out, '\n');
}

static void render_entry(br_buf *out, metric_entry *e)
{
    switch (e->kind) {
    case KIND_COUNTER:
        series_line(out, e->name, "", e->labels, NULL, (double)br_counter_get(&e->u.counter));
        break;
    case KIND_GAUGE:
        series_line(out, e->name, "", e->labels, NULL, br_gauge_get(&e->u.gauge));
        break;
    case KIND_GAUGE_FN:
        series_line(out, e->name, "", e->labels, NULL, e->fn(e->fn_ctx));
        break;
    case KIND_HISTO: {
        br_histo *h = &e->u.histo;
        uint64_t cum = 0;
        char le[64];
        for (size_t i = 0; i <= h->n_bounds; i++) {
            cum += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
            if (i < h->n_bounds) {
                char num[BR_FLOAT_BUF];
                snprintf(le, sizeof(le), "le=\"%s\"", br_format_float(h->bounds[i], num, sizeof(num)));
            } else {
                snprintf(le, sizeof(le), "le=\"+Inf\"");
            }
            series_line(out, e->name, "_bucket", e->labels, le, (double)cum);
        }
        series_line(out, e->name, "_sum", e->labels, NULL,
                    bitsd(atomic_load_explicit(&h->sum_bits, memory_order_relaxed)));
        series_line(out, e->name, "_count", e->labels, NULL, (double)cum);
        break;
    }
    }
}

void br_metrics_render(br_metrics *m, br_buf *out)
{
    static const char *const type_names[] = {"counter", "gauge", "gauge", "histogram"};
    pthread_mutex_lock(&m->mu);
    size_t n = m->n_entries;
    bool *done = br_calloc(n ? n : 1, sizeof(bool));
    for (size_t i = 0; i < n; i++) {
        if (done[i]) {
            continue;
        }
        metric_entry *first = m->entries[i];
        br_buf_printf(out, "# HELP %s ", first->name);
        help_escape(out, first->help);
        br_buf_printf(out, "\n# TYPE %s %s\n", first->name, type_names[first->kind]);
        for (size_t j = i; j < n; j++) {
            if (!done[j] && strcmp(m->entries[j]->name, first->name) == 0) {
                render_entry(out, m->entries[j]);
                done[j] = true;
            }
        }
    }
    br_free(done);
    size_t nc = m->n_collectors;
    collector *cs = br_malloc((nc ? nc : 1) * sizeof(*cs));
    if (nc > 0) {
        memcpy(cs, m->collectors, nc * sizeof(*cs));
    }
    pthread_mutex_unlock(&m->mu);
    for (size_t i = 0; i < nc; i++) {
        cs[i].fn(cs[i].ctx, out);
    }
    br_free(cs);
}
