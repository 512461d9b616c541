/*
 * metrics.h — the engine's own metrics, served at /metrics in the
 * Prometheus text format 0.0.4.
 *
 * Modules register their series once at start-up and keep the returned
 * handle; the hot path then only does a relaxed atomic add (no lock, no
 * lookup). Series of one metric name are rendered together under one HELP
 * and TYPE line, in registration order. Gauges may be atomics or callbacks
 * (read at scrape time, e.g. head statistics). Collectors append whole
 * families for state that has many series (per SLO, per receiver).
 *
 * Registration is thread-safe but meant for start-up; handles stay valid
 * until br_metrics_free. Label text is given pre-rendered, e.g.
 * `reason="out_of_order"` (values escaped by the caller via
 * br_metrics_escape when they are not constants).
 */
#ifndef BR_API_METRICS_H
#define BR_API_METRICS_H

#include "engine/core/buf.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct br_metrics br_metrics;

typedef struct br_counter {
    _Atomic uint64_t value;
} br_counter;

typedef struct br_gauge {
    _Atomic uint64_t bits;  /* a double's bits */
} br_gauge;

#define BR_HISTO_MAX_BUCKETS 16

typedef struct br_histo {
    size_t n_bounds;
    double bounds[BR_HISTO_MAX_BUCKETS];
    _Atomic uint64_t buckets[BR_HISTO_MAX_BUCKETS + 1];  /* non-cumulative; last = +Inf */
    _Atomic uint64_t count;
    _Atomic uint64_t sum_bits;  /* a double's bits, updated by CAS */
} br_histo;

typedef double (*br_gauge_fn)(void *ctx);
/* Appends complete families (with HELP/TYPE) to out. */
typedef void (*br_metrics_collector)(void *ctx, br_buf *out);

br_metrics *br_metrics_new(void);
void br_metrics_free(br_metrics *m);

/* Each returns a handle owned by the registry. Registering the same name
 * and labels twice returns the same handle. */
br_counter *br_metrics_counter(br_metrics *m, const char *name, const char *help,
                               const char *labels);
br_gauge *br_metrics_gauge(br_metrics *m, const char *name, const char *help, const char *labels);
void br_metrics_gauge_func(br_metrics *m, const char *name, const char *help, const char *labels,
                           br_gauge_fn fn, void *ctx);
br_histo *br_metrics_histogram(br_metrics *m, const char *name, const char *help,
                               const char *labels, const double *bounds, size_t n_bounds);
void br_metrics_collector_add(br_metrics *m, br_metrics_collector fn, void *ctx);

static inline void br_counter_add(br_counter *c, uint64_t n)
{
    atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

static inline void br_counter_inc(br_counter *c)
{
    br_counter_add(c, 1);
}

static inline uint64_t br_counter_get(br_counter *c)
{
    return atomic_load_explicit(&c->value, memory_order_relaxed);
}

void br_gauge_set(br_gauge *g, double v);
double br_gauge_get(br_gauge *g);
void br_histo_observe(br_histo *h, double v);

/* Renders every registered series, then the collectors. */
void br_metrics_render(br_metrics *m, br_buf *out);

/* Appends v the way the text format wants (NaN, +Inf, -Inf, shortest). */
void br_metrics_format_value(br_buf *out, double v);
/* Appends s escaped for a label value (\\, \", \n). */
void br_metrics_escape(br_buf *out, const char *s);

#endif
