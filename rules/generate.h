/*
 * generate.h — SLO definitions → Prometheus recording and alerting rules.
 *
 * `burnrate generate` prints a Prometheus rules file equivalent to a set of
 * SLOs, for teams that also want the rules inside Prometheus; the
 * /api/v1/rules endpoint lists the same rules (built by the same code) with
 * the evaluator's state. Groups, series names and labels are Sloth's, so
 * Sloth's Grafana dashboards work on either side:
 *   sloth-slo-sli-recordings-<id>   slo:sli_error:ratio_rate<window>, one per
 *                                   alert window and one for the period
 *   sloth-slo-meta-recordings-<id>  slo:objective:ratio, slo:error_budget:ratio,
 *                                   slo:time_period:days, slo:current_burn_rate:ratio,
 *                                   slo:period_burn_rate:ratio,
 *                                   slo:period_error_budget_remaining:ratio,
 *                                   sloth_slo_info
 *   sloth-slo-alerts-<id>           one multi-window burn-rate alert per severity
 *                                   (page, ticket), plus the escalation rules
 *                                   (budget drop, exhaustion projection)
 * The expressions and their departures from Sloth's are described at the
 * top of generate.c.
 *
 * Ownership: everything a build produces (groups, rules, strings) lives in
 * the arena passed in; the rules borrow `def` pointers from the set, so the
 * set must outlive them. Pure functions of their input, no shared state:
 * any thread may call them, each with its own arena.
 */
#ifndef BR_RULES_GENERATE_H
#define BR_RULES_GENERATE_H

#include "engine/core/arena.h"
#include "engine/core/buf.h"
#include "engine/core/err.h"
#include "rules/slo.h"

#include <stddef.h>
#include <stdint.h>

typedef enum br_gen_rule_kind {
    BR_GEN_RECORD = 0,
    BR_GEN_ALERT = 1,
} br_gen_rule_kind;

typedef struct br_gen_rule {
    br_gen_rule_kind kind;
    const char *name;      /* series name (record) or alert name (alert) */
    const char *expr;      /* as written in the rules file; may span lines */
    const char *query;     /* the same expression parsed and printed on one
                            * line, as Prometheus' rules API shows it */
    br_kv *labels;         /* sorted by key, keys unique */
    size_t n_labels;
    br_kv *annotations;    /* alerts only; sorted by key */
    size_t n_annotations;
    int64_t for_ms;        /* alerts: 0 = none */
    int64_t keep_firing_for_ms;
    /* Alerts: which of the evaluator's br_alert_status entries this rule
     * stands for (kind "burn_rate", "budget_drop" or "exhaustion" and the
     * severity "page" or "ticket"). NULL for records. */
    const char *alert_kind;
    const char *severity;
} br_gen_rule;

typedef enum br_gen_group_kind {
    BR_GEN_GROUP_SLI = 0,
    BR_GEN_GROUP_META = 1,
    BR_GEN_GROUP_ALERTS = 2,
} br_gen_group_kind;

typedef struct br_gen_group {
    const char *name;        /* "sloth-slo-sli-recordings-<id>", ... */
    br_gen_group_kind kind;
    const br_slo_def *def;   /* borrowed from the set */
    br_gen_rule *rules;
    size_t n_rules;
} br_gen_group;

typedef struct br_gen_rules {
    br_gen_group *groups;    /* per SLO in set order: sli, meta, alerts (the
                              * alerts group is left out when it has no rule) */
    size_t n_groups;
} br_gen_rules;

/*
 * Builds the rule groups of every SLO of set (borrowed) into arena
 * (borrowed; everything in *out is allocated there). Every expression is
 * checked with the PromQL parser, so a broken SLI template is reported
 * here, naming the SLO and the rule. Returns 0, BR_EINVAL (a template that
 * does not parse, an invalid label or annotation name), or BR_ELIMIT (the
 * arena's cap).
 */
int br_generate_build(const br_slo_set *set, br_arena *arena, br_gen_rules *out, br_err *err);

/* Builds the groups of one SLO (d borrowed) and appends them to *out,
 * whose arrays must come from arena (or be empty). Same errors. */
int br_generate_build_slo(const br_slo_def *d, br_arena *arena, br_gen_rules *out, br_err *err);

/* Appends the rules file (YAML) for rules (borrowed) to out (borrowed).
 * Returns 0 or BR_ELIMIT (out's cap). */
int br_generate_write_yaml(const br_gen_rules *rules, br_buf *out);

/*
 * The whole of `burnrate generate`: br_generate_build then
 * br_generate_write_yaml for set (borrowed), appended to out (borrowed).
 * Returns 0 or a negative BR_E* code with err filled.
 */
int br_generate_rules(const br_slo_set *set, br_buf *out, br_err *err);

/*
 * The alert name of one of an SLO's alert rules, written into out (size
 * bytes) and returned: kind "burn_rate" gives d->alerting.name (when unset:
 * the service and SLO names in CamelCase + "HighErrorRate"),
 * "budget_drop" that name + "BudgetDrop", "exhaustion" that name +
 * "BudgetExhaustion". The evaluator should name its alerts the same way so
 * that notifications, /api/v1/alerts and generated rules agree.
 */
const char *br_generate_alert_name(const br_slo_def *d, const char *kind, char *out, size_t size);

/*
 * The Prometheus regex alternation accepting the usual spellings of the
 * bucket bound le (borrowed formats: shortest decimal "0.5", with one more
 * zero "0.50" or ".0" for whole numbers "1.0", exponent forms "5e-01" and
 * "5e-1"), with '.' and '+' escaped, written into out (size bytes) as the
 * regex text (not yet quoted for PromQL). "+Inf" for +infinity.
 */
const char *br_generate_le_regex(double le, char *out, size_t size);

#endif
