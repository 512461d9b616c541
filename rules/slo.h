/*
 * slo.h — the SLO model: what every SLO file format is loaded into.
 *
 * burnrate reads four SLO formats (its own, Sloth prometheus/v1 and its
 * PrometheusServiceLevel form, Pyrra's ServiceLevelObjective, OpenSLO v1)
 * and turns each into the same br_slo_def records; everything downstream
 * (evaluator, recorded series, alerts, budget API, gate, `generate`) sees
 * only this model, never a file format.
 *
 * An SLI is one of:
 *   EVENTS     bad (or good) events over total events. Each side is a
 *              br_event_source: a counter selector (evaluated exactly from
 *              raw samples: reset-corrected increments, summed per group),
 *              a boolean gauge (good = samples equal to 1, total = samples),
 *              or a PromQL template (Sloth-style, `{{.window}}` replaced by
 *              the window) that returns a rate per group.
 *   RAW        a PromQL template returning the error ratio directly.
 *   THRESHOLD  a PromQL template returning a value per time slice (e.g. a
 *              p99 latency) that must satisfy `op threshold` (p99 < 5s);
 *              always budgeted by time slices.
 *
 * A definition with `grouping` fans out into one SLO instance per distinct
 * value set of the grouping labels (found in the SLI series); instances are
 * what the evaluator, API and alerts work with.
 *
 * Ownership: a br_slo_set owns its definitions and every string in them
 * (one arena), and the time zones they name (br_slo_set_time_zone). It is
 * immutable once loaded and shared between threads by reference count
 * (br_slo_set_ref / br_slo_set_unref): a reload builds a new set and swaps
 * it in only if every file loaded cleanly.
 */
#ifndef BR_RULES_SLO_H
#define BR_RULES_SLO_H

#include "engine/core/arena.h"
#include "engine/core/err.h"
#include "engine/core/tz.h"
#include "rules/adjust.h"
#include "rules/yamldoc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The format a definition came from (shown in the API, `check`). */
typedef enum br_slo_format {
    BR_SLO_FORMAT_BURNRATE = 0,
    BR_SLO_FORMAT_SLOTH = 1,   /* prometheus/v1 and PrometheusServiceLevel */
    BR_SLO_FORMAT_PYRRA = 2,   /* pyrra.dev/v1alpha1 ServiceLevelObjective */
    BR_SLO_FORMAT_OPENSLO = 3, /* openslo/v1 */
} br_slo_format;

typedef enum br_sli_kind {
    BR_SLI_EVENTS = 0,
    BR_SLI_RAW = 1,
    BR_SLI_THRESHOLD = 2,
} br_sli_kind;

typedef enum br_event_source_kind {
    BR_SOURCE_NONE = 0,    /* side not given */
    BR_SOURCE_COUNTER = 1, /* `expr` is a series selector of counters */
    BR_SOURCE_BOOL_GAUGE = 2, /* `expr` selects 0/1 gauges: good = ones, total = samples */
    BR_SOURCE_QUERY = 3,   /* `expr` is PromQL with {{.window}}, giving events/s per group */
} br_event_source_kind;

typedef struct br_event_source {
    br_event_source_kind kind;
    const char *expr;
    /* COUNTER only: when not NaN, keep only the selected series whose `le`
     * label parses to this number, so "1", "1.0" and "1e0" are one bucket
     * (the selector itself must not match on `le`). */
    double le;
} br_event_source;

typedef enum br_threshold_op {
    BR_OP_LT = 0, /* value <  threshold is good */
    BR_OP_LE = 1,
    BR_OP_GT = 2,
    BR_OP_GE = 3,
} br_threshold_op;

typedef struct br_sli {
    br_sli_kind kind;
    /* EVENTS: exactly one of bad/good is set (kind != NONE), plus total.
     * `bad` wins when a format gives both. */
    br_event_source bad;
    br_event_source good;
    br_event_source total;
    /* RAW: error ratio template. THRESHOLD: value template. */
    const char *query;
    br_threshold_op op;      /* THRESHOLD */
    double threshold;        /* THRESHOLD, in the query's unit (seconds) */
} br_sli;

typedef enum br_period_kind {
    BR_PERIOD_ROLLING = 0,
    BR_PERIOD_CALENDAR = 1,
} br_period_kind;

typedef enum br_calendar_unit {
    BR_CAL_DAY = 0,
    BR_CAL_WEEK = 1,   /* ISO weeks, starting Monday 00:00 */
    BR_CAL_MONTH = 2,
    BR_CAL_QUARTER = 3,
    BR_CAL_YEAR = 4,
} br_calendar_unit;

typedef struct br_period {
    br_period_kind kind;
    int64_t duration_ms;        /* ROLLING; for CALENDAR the nominal length
                                 * (week 7d, month 30d, quarter 90d) used to
                                 * scale alert factors */
    br_calendar_unit unit;      /* CALENDAR */
    int count;                  /* CALENDAR: e.g. 1 month, 2 weeks; >= 1 */
    bool anchored;              /* CALENDAR: periods begin on anchor_day and every
                                 * count units from it (else: days and months from
                                 * 1970-01-01, weeks from Monday 1969-12-29, so a
                                 * count of 1 gives the plain calendar units) */
    int64_t anchor_day;         /* CALENDAR: local date, days since 1970-01-01 */
    int32_t utc_offset_s;       /* CALENDAR: fixed offset east of UTC ... */
    const char *time_zone;      /* ... or an IANA name ("Europe/Paris"); NULL = offset */
    const br_tz *tz;            /* the zone named by time_zone, resolved by the loader
                                 * (br_slo_set_time_zone); owned by the set. NULL =
                                 * the fixed utc_offset_s applies */
} br_period;

typedef enum br_budgeting {
    BR_BUDGET_OCCURRENCES = 0,      /* bad events / total events */
    BR_BUDGET_TIMESLICES = 1,       /* bad slices / all slices with data */
    BR_BUDGET_RATIO_TIMESLICES = 2, /* mean of the per-slice error ratios */
} br_budgeting;

typedef enum br_no_data {
    BR_NO_DATA_SKIP = 0, /* a window without traffic has no SLI ("no data") */
    BR_NO_DATA_GOOD = 1, /* a time slice without traffic counts as good */
    BR_NO_DATA_BAD = 2,  /* ... as bad */
} br_no_data;

/* Key/value pairs (labels, annotations), in file order. */
typedef struct br_kv {
    const char *key;
    const char *value;
} br_kv;

/* Heap copies of key/value arrays, for long-lived owners (alert state, the
 * notification queue): returns a new array of n pairs with new strings
 * (NULL becomes ""), never NULL; free with br_kv_free. */
br_kv *br_kv_dup(const br_kv *kv, size_t n);
void br_kv_free(br_kv *kv, size_t n);
/* Same length and pairwise equal keys and values. */
bool br_kv_equal(const br_kv *a, size_t na, const br_kv *b, size_t nb);

/* One multi-window burn-rate alert tier: fires when the error ratio over
 * both windows exceeds factor * (1 - objective). */
typedef struct br_burn_tier {
    const char *name;     /* "page-fast", "page-slow", "ticket-fast", "ticket-slow" */
    const char *severity; /* "page" or "ticket" (Sloth: page/ticket) */
    int64_t long_window_ms;
    int64_t short_window_ms;
    double factor;
    int64_t for_ms;
    bool disabled;
} br_burn_tier;

/* Alerting settings of one SLO. Alert names follow Sloth: `name` is the
 * base; page and ticket alerts share it and differ by severity. */
typedef struct br_slo_alerting {
    const char *name; /* alert name; default "<Service><Slo>HighErrorRate"-like, see loader */
    br_kv *labels;    /* on every alert of this SLO */
    size_t n_labels;
    br_kv *annotations;
    size_t n_annotations;
    br_kv *page_labels;
    size_t n_page_labels;
    br_kv *page_annotations;
    size_t n_page_annotations;
    br_kv *ticket_labels;
    size_t n_ticket_labels;
    br_kv *ticket_annotations;
    size_t n_ticket_annotations;
    bool page_disabled;
    bool ticket_disabled;
    br_burn_tier tiers[4]; /* defaults from br_slo_default_tiers, scaled to the period */
    size_t n_tiers;
    /* Escalation rules (seed 3.1); 0 disables a rule. */
    double budget_drop_ratio;   /* page when this share of the budget is lost ... */
    int64_t budget_drop_window_ms; /* ... within this window (default 5% in 1h) */
    int64_t exhaustion_within_ms;  /* notify when projected to exhaust within (7d) */
    int64_t keep_firing_for_ms;
    const char *runbook_url;
    /* Low traffic: a burn-rate tier fires only with at least this many
     * valid events in its long window (0 = any traffic). Events SLIs only. */
    double min_events;
    /* Ticket when budget remaining falls below this share (0 = off). */
    double budget_low_ratio;
    /* Ticket when the SLI had no valid events for this long, whether its
     * series are gone or carry no traffic (0 = off). */
    int64_t no_data_for_ms;
    /* Ticket when the SLI's series themselves are absent (no sample at
     * all: the target vanished, the metric was renamed) for this long;
     * zero traffic on present series does not count (0 = off). */
    int64_t absent_for_ms;
    /* No ticket burn-rate alert while the page burn-rate alert of the same
     * SLO instance fires (the slower tier is inhibited by the faster). */
    bool inhibit_tickets;
} br_slo_alerting;

/* Error-budget policy state: active while budget remaining (as a ratio of
 * the budget, may be negative) is > min_remaining; states are ordered from
 * the healthiest, the last one has min_remaining = -inf. */
typedef struct br_policy_state {
    const char *name;      /* healthy, caution, critical, exhausted */
    double min_remaining;  /* exclusive lower bound, e.g. 0.5 for healthy */
    bool allow_deploy;     /* what the gate answers in this state */
    const char **actions;
    size_t n_actions;
} br_policy_state;

#define BR_POLICY_MAX_STATES 8

typedef struct br_policy {
    br_policy_state states[BR_POLICY_MAX_STATES];
    size_t n_states;
} br_policy;

/* One component of a composite SLO: another SLO of the set, by id. */
typedef struct br_composite_component {
    const char *slo_id;
    double weight;            /* > 0 */
    int line;                 /* where it was written, for messages (0 = unknown) */
    int col;
} br_composite_component;

typedef struct br_slo_def {
    const char *id;           /* "<service>-<name>", unique in the set (Sloth's sloth_id) */
    const char *service;
    const char *name;         /* SLO name within the service */
    const char *description;
    double objective;         /* e.g. 0.999; 0 < objective < 1 */
    br_sli sli;
    br_period period;
    br_budgeting budgeting;
    int64_t slice_ms;         /* time-slice length for TIMESLICES/RATIO_TIMESLICES/THRESHOLD */
    double slice_target;      /* TIMESLICES: a slice is good when its ratio >= this */
    br_no_data no_data;
    const char **grouping;    /* label names; one instance per value set */
    size_t n_grouping;
    br_kv *labels;            /* SLO labels: on recorded series and alerts */
    size_t n_labels;
    br_slo_alerting alerting;
    br_policy policy;
    br_slo_format format;
    const char *file;         /* where it was defined, for messages */
    int line;
    /* Budget adjustments (rules/adjust.h): periods whose events are
     * removed from every window and the period; in the set's arena. */
    const br_adjustment *adjustments;
    size_t n_adjustments;
    /* Composite SLO when n_components > 0: the error ratio of a window is
     * sum(w_i * err_i) / sum(w_i) over the components with data in it.
     * The SLI is then a RAW template over the components' recorded
     * series (what `generate` writes); the evaluator computes it natively
     * from the components' own counts. */
    const br_composite_component *components;
    size_t n_components;
    /* Replay of the recorded series for the past when the SLO is new
     * (evaluator.h): step and how far back; max 0 = off. Loaders leave max
     * negative when the file says nothing (br_slo_set_add: off) or set
     * BR_REPLAY_ON for `replay: true` / a map without max (the period). */
    int64_t replay_step_ms;   /* 0 = the evaluation interval */
    int64_t replay_max_ms;
} br_slo_def;

/* br_slo_def.replay_max_ms: replay asked for, over the whole period. */
#define BR_REPLAY_ON (-2)

typedef struct br_slo_set br_slo_set;

/* An empty set; definitions are added by the loaders. */
br_slo_set *br_slo_set_new(void);
void br_slo_set_ref(br_slo_set *s);
/* Drops a reference; frees the set with the last one. NULL is allowed. */
void br_slo_set_unref(br_slo_set *s);
size_t br_slo_set_len(const br_slo_set *s);
/* View valid while the caller holds a reference. */
const br_slo_def *br_slo_set_get(const br_slo_set *s, size_t i);
/* Lookup by id; NULL if absent. */
const br_slo_def *br_slo_set_find(const br_slo_set *s, const char *id);
/* The set's arena: loaders allocate definitions' strings and arrays here. */
br_arena *br_slo_set_arena(br_slo_set *s);
/* Resolves the IANA zone called name (borrowed) for definitions of s:
 * loaded from the system's zoneinfo (br_tz_load) on first use, then shared
 * by every definition naming it and freed with the set, so *out is valid
 * while s is. Call while loading, before s is shared. Errors are
 * br_tz_load's (unknown zone: BR_ENOTFOUND), naming the zone without a
 * position; the loader adds file:line:col. */
int br_slo_set_time_zone(br_slo_set *s, const char *name, const br_tz **out, br_err *err);

/* Loader API ----------------------------------------------------------- */

/* Returns a definition with every default filled (workbook tiers for 30d,
 * the seed's policy, occurrences, rolling 30d, slice 5m / 0.99, no_data
 * skip), owned by s, not yet added. */
br_slo_def *br_slo_def_new(br_slo_set *s);
/* Validates d (objective range, SLI completeness, windows, policy order,
 * ids: [A-Za-z0-9_.:-]) and adds it; rejects a duplicate id. Errors carry
 * d->file:d->line. Scales the default tiers when the period is not 30d and
 * the tiers were not set explicitly (tiers_explicit false), and then drops
 * those whose long window is longer than the period (3d in a 1d period). */
int br_slo_set_add(br_slo_set *s, br_slo_def *d, bool tiers_explicit, br_err *err);

/* The SRE workbook's four tiers for a 30d period, scaled to period_ms:
 * windows stay, factors scale as (budget share consumed) * period / long
 * window, i.e. 2% in 1h, 5% in 6h, 10% in 1d, 10% in 3d. */
void br_slo_default_tiers(int64_t period_ms, br_burn_tier out[4]);
/* The seed's four policy states (healthy > 50%, caution > 25%, critical
 * > 10%, exhausted), deploy allowed in healthy and caution. */
void br_slo_default_policy(br_slo_set *s, br_policy *out);

/* Loads one file of any supported format (detected from apiVersion/kind or
 * the top-level keys) into s. A file may hold several YAML documents.
 * Errors name file:line:col and what is wrong. */
int br_slo_load_file(br_slo_set *s, const char *path, br_err *err);
/* Expands the globs and loads every file; no match for a glob is an error.
 * Returns a new set (unref it) or NULL with err filled. */
br_slo_set *br_slo_load_globs(const char *const *globs, size_t n, br_err *err);

/* Format loaders (slo_native.c, slo_sloth.c, slo_pyrra.c, slo_openslo.c).
 * Each reads one YAML document whose root is `root`. */
int br_slo_load_native(br_slo_set *s, br_yaml_doc *doc, br_yaml_node *root, br_err *err);
int br_slo_load_sloth(br_slo_set *s, br_yaml_doc *doc, br_yaml_node *root, br_err *err);
int br_slo_load_pyrra(br_slo_set *s, br_yaml_doc *doc, br_yaml_node *root, br_err *err);
/* OpenSLO objects reference each other by name (SLO -> SLI, AlertPolicy),
 * possibly across documents of a file, so the loader takes them all. */
int br_slo_load_openslo(br_slo_set *s, br_yaml_doc *docs, size_t n_docs, br_err *err);

/* Helpers shared by the loaders. */
/* Parses a percentage ("99.9", "99.9%") or ratio ("0.999") objective; values
 * > 1 are percentages. */
int br_slo_parse_objective(const char *text, double *out);
/* Builds the id "<service>-<name>" in s's arena. */
const char *br_slo_make_id(br_slo_set *s, const char *service, const char *name);
/* Copies a string into s's arena (NULL stays NULL). */
const char *br_slo_strdup(br_slo_set *s, const char *text);

/* Checks the composite SLOs of s: every component names an SLO of s
 * (defined before the composite), no cycles, same period as the
 * composite, components not grouped. Errors name the component's
 * file:line:col. Builds nothing; the native loader calls it after each
 * document. */
int br_slo_set_check_composites(br_slo_set *s, br_err *err);

/* Names used in messages and the API. */
const char *br_slo_format_name(br_slo_format f);
const char *br_budgeting_name(br_budgeting b);
const char *br_sli_kind_name(br_sli_kind k);

#endif
