/*
 * pyrra_series.h — Pyrra's "generic" recorded series for each SLO instance,
 * recorded beside the Sloth ones so that Pyrra's Grafana dashboards (which
 * read only these five names) work against burnrate unchanged.
 *
 * Data flow: rules/evaluator.c, once per tick and SLO instance, after it
 * has finished the instance's status, calls br_pyrra_series() with an emit
 * callback that appends each series to the tick's recorded batch (the same
 * path as the Sloth series: WAL, then head).
 *
 * Names, labels and values (Pyrra's slo/rules.go GenericRules):
 *   pyrra_objective{slo}      the objective as a ratio (0.999)
 *   pyrra_window{slo}         the SLO period in seconds
 *   pyrra_availability{slo}   1 - bad/total over the period (absent when
 *                             there was no traffic: "no data")
 *   pyrra_requests_total{slo} total events over the period
 *   pyrra_errors_total{slo}   bad events over the period
 * `slo` is the definition id ("<service>-<name>", unique in a set), also
 * as `sloth_id` (which every burnrate recorded series carries); a
 * grouped instance also carries its grouping labels, so instances stay
 * distinct series (Pyrra itself refuses grouping in generic rules).
 * Pyrra derives requests/errors from the raw counters; burnrate records the
 * exact period sums its evaluator computed instead, so the two totals are
 * window sums (gauges), not ever-growing counters: use them as they are,
 * not under rate(). Time-slice SLOs count slices, not requests.
 *
 * Threads: pure function of its arguments; any thread.
 */
#ifndef BR_RULES_PYRRA_SERIES_H
#define BR_RULES_PYRRA_SERIES_H

#include "rules/slo_status.h"
#include "storage/sample.h"

#include <stddef.h>

#define BR_PYRRA_SERIES_MAX 5

/* Receives one series: name and labels are views valid during the call
 * only (labels are not sorted and do not include __name__). */
typedef void (*br_pyrra_emit_fn)(void *ctx, const char *name, const br_label *labels,
                                 size_t n_labels, double value);

/* Emits the Pyrra series of st (borrowed) through emit; returns how many
 * were emitted (availability is skipped when st has no data, everything
 * when st has no definition or an evaluation error). */
size_t br_pyrra_series(const br_slo_status *st, br_pyrra_emit_fn emit, void *ctx);

#endif
