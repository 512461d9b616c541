/*
 * slo_status.c — the evaluator's published snapshot: creation, reference
 * counting and lookup (see slo_status.h).
 */
#include "slo_status.h"

#include "engine/core/alloc.h"

#include <string.h>

br_slo_snapshot *br_slo_snapshot_new(br_slo_set *set)
{
    br_slo_snapshot *s = br_calloc(1, sizeof(*s));
    atomic_init(&s->refs, 1);
    br_arena_init(&s->arena, 64 * 1024, 0);
    s->set = set;
    if (set != NULL) {
        br_slo_set_ref(set);
    }
    return s;
}

void br_slo_snapshot_ref(br_slo_snapshot *s)
{
    atomic_fetch_add(&s->refs, 1);
}

void br_slo_snapshot_unref(br_slo_snapshot *s)
{
    if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1) {
        return;
    }
    br_arena_free(&s->arena);
    br_slo_set_unref(s->set);
    br_free(s);
}

const br_slo_status *br_slo_snapshot_find(const br_slo_snapshot *s, const char *instance_id)
{
    size_t lo = 0;
    size_t hi = s->n_slos;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->slos[mid].instance_id, instance_id);
        if (c == 0) {
            return &s->slos[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

const char *br_alert_state_name(br_alert_state st)
{
    switch (st) {
    case BR_ALERT_INACTIVE:
        return "inactive";
    case BR_ALERT_PENDING:
        return "pending";
    case BR_ALERT_FIRING:
        return "firing";
    }
    return "unknown";
}
