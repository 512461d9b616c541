/*
 * slo_status.h — what the evaluator publishes after every tick: the budget
 * state of every SLO instance, read by the budget API, the gate, the UI and
 * the alerting code.
 *
 * A br_slo_snapshot is immutable plain data built by one evaluator tick and
 * shared by reference count: readers take a reference
 * (br_slo_source.snapshot), read without locks, and drop it. Every string
 * and array lives in the snapshot's arena; the snapshot also holds a
 * reference on the br_slo_set its `def` pointers point into.
 *
 * Numbers follow DESIGN.md's SLO math, for objective o and window w:
 *   error_ratio(w) = bad(w) / total(w)   (NaN when total(w) == 0: no data)
 *   burn_rate(w)   = error_ratio(w) / (1 - o)
 *   budget_remaining = 1 - error_ratio(period) / (1 - o)   (may be negative)
 * For time-slice budgeting, bad and total count slices instead of events.
 *
 * br_slo_source is the narrow interface the HTTP layer sees: the evaluator
 * implements it, and tests implement it with hand-built snapshots.
 */
#ifndef BR_RULES_SLO_STATUS_H
#define BR_RULES_SLO_STATUS_H

#include "engine/core/arena.h"
#include "engine/core/err.h"
#include "rules/slo.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The SLI over one window. */
typedef struct br_window_status {
    int64_t window_ms;
    double bad;         /* bad events (or slices) in the window */
    double total;       /* all valid events (or slices with data) */
    double error_ratio; /* NaN = no data */
    double burn_rate;   /* NaN = no data */
} br_window_status;

typedef enum br_alert_state {
    BR_ALERT_INACTIVE = 0,
    BR_ALERT_PENDING = 1,
    BR_ALERT_FIRING = 2,
} br_alert_state;

/* One alert condition of an SLO instance as of this tick. */
typedef struct br_alert_status {
    const char *alertname;
    const char *kind;       /* "burn_rate", "budget_drop", "exhaustion" */
    const char *tier;       /* burn tier name, or the rule kind */
    const char *severity;   /* "page" or "ticket" */
    br_alert_state state;
    bool condition;         /* the expression is true this tick */
    int64_t active_since_ms; /* pending/firing since; 0 when inactive */
    int64_t long_window_ms;  /* burn_rate: the two windows; budget_drop: its window */
    int64_t short_window_ms;
    double factor;           /* burn_rate: the threshold factor */
    double long_value;       /* burn rate over the long window (or the rule's value) */
    double short_value;
    double threshold;        /* what the value is compared with */
} br_alert_status;

/* One budget adjustment of an SLO as of this tick (rules/adjust.h). */
typedef struct br_adjust_status {
    const char *name;
    const char *category;     /* maintenance, deployment, outside_business_hours, other */
    int64_t excluded_ms;      /* time it excludes from the current period */
    double events_excluded;   /* valid events it removed from the period; NaN = not
                               * counted (PromQL-template SLIs) */
    double errors_excluded;   /* bad events among them: the budget it restored */
    bool active;              /* an occurrence covers the evaluation time */
    int64_t last_start_ms;    /* latest occurrence started by now; 0 = none */
    int64_t last_end_ms;
    int64_t next_start_ms;    /* next occurrence after now; 0 = none */
} br_adjust_status;

typedef struct br_slo_status {
    const br_slo_def *def;
    const char *instance_id;  /* def->id, plus "{label=\"value\",...}" when grouped */
    br_kv *group_labels;      /* the grouping labels' values; empty when not grouped */
    size_t n_group_labels;

    int64_t period_start_ms;  /* start of the period the budget covers */
    int64_t period_end_ms;    /* = eval time for rolling periods */
    br_window_status period;  /* the SLI over the whole period */
    double sli;               /* 1 - period.error_ratio; NaN = no data */
    double budget_total_ms;   /* allowed "bad time": (1 - o) * period length */
    double budget_consumed;   /* ratio of the budget, 0..(may exceed 1) */
    double budget_remaining;  /* 1 - budget_consumed; NaN = no data */
    double budget_remaining_ms; /* budget_remaining * budget_total_ms */
    double consumed_last_hour;  /* share of the budget consumed in the last hour */
    double exhaustion_eta_s;    /* seconds until remaining reaches 0 at the 1h burn
                                 * rate; +Inf when not burning, 0 when exhausted */
    const br_policy_state *policy_state; /* NULL = no data */
    const char *previous_state;  /* state before the last transition, or NULL */
    int64_t state_since_ms;      /* when the current policy state began */

    br_window_status *windows;   /* alert windows, sorted by length, deduplicated */
    size_t n_windows;
    br_alert_status *alerts;
    size_t n_alerts;

    /* Budget adjustments: per adjustment, and totals over the period
     * (the sum over adjustments: events under two overlapping
     * adjustments are counted in both; excluded_ms counts time once). */
    br_adjust_status *adjustments;
    size_t n_adjustments;
    int64_t excluded_ms;
    double excluded_events;      /* NaN = not counted */
    double excluded_errors;
    /* Replay of past recorded series: 0..1 while running, 1 when done or
     * not needed (evaluator.h). */
    double replay_progress;

    int64_t last_sample_ms;      /* newest SLI sample seen; 0 = none (freshness) */
    bool no_data;                /* no traffic in the period */
    const char *error;           /* evaluation error for this SLO, or NULL */
} br_slo_status;

typedef struct br_slo_snapshot {
    atomic_int refs;
    br_arena arena;
    struct br_slo_set *set;      /* referenced; defs point into it */
    br_slo_status *slos;         /* sorted by instance_id */
    size_t n_slos;
    int64_t eval_time_ms;        /* the tick's evaluation timestamp */
    int64_t eval_duration_us;    /* how long the tick took */
    int64_t interval_ms;         /* evaluation interval */
    uint64_t tick;               /* tick counter, 1 for the first */
    uint64_t full_recounts;      /* exact SLOs recounted from scratch in this tick */
    uint64_t full_recounts_total; /* ... and since start */
} br_slo_snapshot;

/* A new empty snapshot holding a reference on set (may be NULL in tests). */
br_slo_snapshot *br_slo_snapshot_new(br_slo_set *set);
void br_slo_snapshot_ref(br_slo_snapshot *s);
void br_slo_snapshot_unref(br_slo_snapshot *s);
/* Binary search by instance id; NULL if absent. */
const br_slo_status *br_slo_snapshot_find(const br_slo_snapshot *s, const char *instance_id);

/* One point of an SLO's history (burn-down chart). */
typedef struct br_history_point {
    int64_t t_ms;
    double budget_remaining; /* NaN = no data */
    double error_ratio;      /* over the period ending at t */
    double burn_rate_1h;     /* over the hour ending at t */
} br_history_point;

typedef struct br_history {
    br_history_point *points; /* in the caller's arena */
    size_t n;
} br_history;

/* What the HTTP layer needs from whoever evaluates SLOs. */
typedef struct br_slo_source {
    void *ctx;
    /* The latest snapshot with a reference taken (unref it), or NULL
     * before the first tick. */
    br_slo_snapshot *(*snapshot)(void *ctx);
    /* Budget remaining, error ratio and 1h burn rate of one instance at
     * each step of [start, end]. BR_ENOTFOUND for an unknown instance,
     * BR_ELIMIT for more than max_points steps. */
    int (*history)(void *ctx, const char *instance_id, int64_t start_ms, int64_t end_ms,
                   int64_t step_ms, size_t max_points, br_arena *arena, br_history *out,
                   br_err *err);
} br_slo_source;

const char *br_alert_state_name(br_alert_state s);

#endif
