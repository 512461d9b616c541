/*
 * pyrra_series.c — Pyrra-compatible recorded series. See pyrra_series.h
 * for the names, labels and their meaning.
 *
 * The label list is built on the stack: `slo` plus at most
 * MAX_GROUP_LABELS grouping labels (more are not emitted: a definition with
 * that many grouping labels is not something a Pyrra dashboard can show).
 */
#include "pyrra_series.h"

#include "rules/slo.h"

#include <math.h>

#define MAX_GROUP_LABELS 31

size_t br_pyrra_series(const br_slo_status *st, br_pyrra_emit_fn emit, void *ctx)
{
    if (st == NULL || st->def == NULL || st->error != NULL || emit == NULL) {
        return 0;
    }
    const br_slo_def *d = st->def;
    br_label ls[2 + MAX_GROUP_LABELS];
    size_t n = 0;
    ls[n].name = "slo";
    ls[n].value = d->id;
    n++;
    ls[n].name = "sloth_id"; /* every recorded series carries it (retention, tenancy) */
    ls[n].value = d->id;
    n++;
    for (size_t i = 0; i < st->n_group_labels && n < 2 + MAX_GROUP_LABELS; i++) {
        ls[n].name = st->group_labels[i].key;
        ls[n].value = st->group_labels[i].value;
        n++;
    }
    size_t emitted = 0;
    emit(ctx, "pyrra_objective", ls, n, d->objective);
    emitted++;
    emit(ctx, "pyrra_window", ls, n, (double)d->period.duration_ms / 1000.0);
    emitted++;
    bool has_data = !st->no_data && st->period.total > 0 && !isnan(st->period.error_ratio);
    if (has_data) {
        emit(ctx, "pyrra_availability", ls, n, 1.0 - st->period.error_ratio);
        emitted++;
    }
    if (!isnan(st->period.total)) {
        emit(ctx, "pyrra_requests_total", ls, n, st->period.total);
        emitted++;
    }
    if (!isnan(st->period.bad)) {
        emit(ctx, "pyrra_errors_total", ls, n, st->period.bad);
        emitted++;
    }
    return emitted;
}
