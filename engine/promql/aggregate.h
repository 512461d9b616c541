/*
 * aggregate.h — PromQL aggregation operators at one evaluation step: sum,
 * avg, count, group, min, max, stddev, stdvar, quantile, topk, bottomk,
 * limitk, limit_ratio and count_values, with by/without grouping, as
 * Prometheus' rangeEvalAgg/aggregation/aggregationK/aggregationCountValues.
 *
 * Where it sits: eval.c evaluates the aggregated expression over all steps
 * (a set of input series), calls br_agg_init once with the series' label
 * sets (grouping is computed once per series, not per step), then
 * br_agg_step for every step with the samples present at that step.
 *
 * Sums and means use Kahan-Neumaier compensation as Prometheus 3 does
 * (plain addition and incremental means under v2 semantics). Native
 * histograms are summed and averaged; the other operators ignore them with
 * an info annotation.
 *
 * Memory comes from the context's arena; one thread per context.
 */
#ifndef BR_PROMQL_AGGREGATE_H
#define BR_PROMQL_AGGREGATE_H

#include "engine/core/err.h"
#include "engine/promql/functions.h"
#include "engine/promql/value.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum br_aggop {
    BR_AGG_SUM = 0,
    BR_AGG_AVG,
    BR_AGG_COUNT,
    BR_AGG_GROUP,
    BR_AGG_MIN,
    BR_AGG_MAX,
    BR_AGG_STDDEV,
    BR_AGG_STDVAR,
    BR_AGG_QUANTILE,
    BR_AGG_TOPK,
    BR_AGG_BOTTOMK,
    BR_AGG_LIMITK,
    BR_AGG_LIMIT_RATIO,
    BR_AGG_COUNT_VALUES,
} br_aggop;

const char *br_aggop_str(br_aggop op);
/* True for the operators whose output keeps the input series' labels. */
bool br_aggop_selects(br_aggop op);

struct agg_group;

/* A prepared aggregation; fields are private to aggregate.c. */
typedef struct br_agg {
    br_aggop op;
    bool without;
    const char *const *names; /* sorted grouping labels (borrowed) */
    size_t n_names;
    size_t n_series;
    uint32_t *group_of; /* group index of each input series */
    size_t n_groups;
    br_lset *group_ls;  /* output labels of each group */
    struct agg_group *gs;
} br_agg;

/*
 * Prepares an aggregation over n_series input series with label sets ls
 * (borrowed; must outlive agg). names: grouping labels, sorted, borrowed.
 * Everything agg keeps across steps comes from arena a (the per-step work
 * uses the context's arena, which the caller may reset between steps).
 * Returns 0 or BR_ELIMIT.
 */
int br_agg_init(br_arena *a, br_agg *agg, br_aggop op, bool without, const char *const *names,
                size_t n_names, const br_lset *ls, size_t n_series, br_err *err);

/*
 * One step: in[i] is input series i's sample at this step, or NULL. param
 * is the step's value of the parameter (k, q or the ratio). Results go to
 * out: one sample per group (labels = grouping labels) or, for topk,
 * bottomk, limitk and limit_ratio, the selected input samples in
 * Prometheus' order. Returns 0, BR_ELIMIT or BR_EEXEC.
 */
int br_agg_step(br_fctx *cx, br_agg *agg, const br_vsample *const *in, double param,
                br_vvec *out, br_err *err);

/*
 * Checks the parameter values of all steps the way Prometheus does before
 * evaluating (NaN k or ratio is an error; quantile and ratio outside their
 * range give warnings). Sets *empty when every step would return nothing.
 */
int br_agg_check_params(br_fctx *cx, br_aggop op, const double *params, size_t n, bool *empty,
                        br_err *err);

/* count_values at one step over vector in (borrowed). */
int br_agg_count_values(br_fctx *cx, const char *label, bool without, const char *const *names,
                        size_t n_names, const br_vvec *in, br_vvec *out, br_err *err);

/* Prometheus' labels.Hash (xxhash64 of name\xff value\xff ...), used by
 * limit_ratio to pick series consistently with Prometheus. */
uint64_t br_lset_prom_hash(br_lset ls);

#endif
