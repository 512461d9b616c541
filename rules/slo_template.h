/*
 * slo_template.h — helpers shared by the SLO format loaders
 * (slo_native.c, slo_sloth.c, slo_pyrra.c, slo_openslo.c).
 *
 * Where it sits: between the YAML of an SLO file and the br_sli sources of
 * slo.h. Every format names its SLI series in one of three ways, and each
 * has a helper here that turns it into a br_event_source:
 *   - a counter selector (`http_requests_total{code=~"5.."}`):
 *     br_slo_counter_source, canonical text, an `le` matcher moved into the
 *     numeric source.le so "0.5" and "0.50" are one bucket;
 *   - a histogram's base name: br_slo_histogram_source (classic buckets:
 *     good = <base>_bucket at le, total = <base>_count, both COUNTER) and
 *     br_slo_native_histogram_source (QUERY templates with
 *     histogram_fraction / histogram_count);
 *   - a Sloth-style PromQL template with `{{.window}}`:
 *     br_slo_template_simplify, which recognises sum(rate(SEL[{{.window}}]))
 *     and its relatives and makes them COUNTER sources (evaluated exactly
 *     from raw samples); anything else stays a QUERY source.
 * The remaining helpers parse the small value types the formats share
 * (percentages, durations in seconds, comparison operators, time zones)
 * and read labels maps and lists from YAML with positioned errors.
 *
 * Templates: `{{.window}}` (spaces allowed inside the braces, as Go's
 * text/template allows: `{{ .window }}`) is the only variable. It is
 * replaced by a Prometheus duration ("5m", "1h", "30d").
 *
 * Ownership: every string these helpers return lives in the arena they
 * are given (normally the SLO set's, br_slo_set_arena) and is freed with
 * it. Inputs are borrowed. Errors without a YAML node carry no position;
 * the loaders wrap them with br_slo_yaml_wrap so that the message names
 * file:line:col of the key that held the text.
 *
 * Threads: no shared state; a loader runs on one thread.
 */
#ifndef BR_RULES_SLO_TEMPLATE_H
#define BR_RULES_SLO_TEMPLATE_H

#include "engine/core/arena.h"
#include "engine/core/err.h"
#include "rules/slo.h"
#include "rules/yamldoc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The placeholder as written in templates. */
#define BR_SLO_WINDOW_VAR "{{.window}}"

/* Longest template or selector text accepted (BR_ELIMIT beyond). */
#define BR_SLO_MAX_QUERY (16 * 1024)

/* ------------------------------------------------------------ templates */

/* True when tmpl (borrowed) holds at least one {{.window}}. */
bool br_slo_template_has_window(const char *tmpl);

/* Returns tmpl with every {{.window}} replaced by window_ms written as a
 * Prometheus duration; new string in a (never NULL: the set's arena has no
 * cap; NULL only when a capped arena is full). */
const char *br_slo_template_render(br_arena *a, const char *tmpl, int64_t window_ms);

/* Renders tmpl with a window and parses it as PromQL. need_window: a
 * template without {{.window}} is an error. Returns 0, BR_EPARSE or
 * BR_ELIMIT with a message (no position). */
int br_slo_template_check(const char *tmpl, bool need_window, br_err *err);

/*
 * Classifies an events template (needs {{.window}}): when it is
 *   sum(rate(SEL[{{.window}}]))          sum(increase(SEL[{{.window}}]))
 *   sum by (a, b) (rate|increase(...))   rate|increase(SEL[{{.window}}])
 * (parentheses allowed, SEL without offset or @), *out becomes a COUNTER
 * source with SEL's canonical text (an `le` matcher moved into out->le)
 * and *by / *n_by the by-labels (array and strings in a; NULL/0 when none).
 * Otherwise *out is a QUERY source holding tmpl unchanged and *n_by is 0.
 * A template that does not render and parse is an error.
 */
int br_slo_template_simplify(br_arena *a, const char *tmpl, br_event_source *out, const char ***by,
                             size_t *n_by, br_err *err);

/* ------------------------------------------------------------ selectors */

/*
 * A counter selector → COUNTER source. text must be a series selector
 * without offset or @ (with allow_sum also `sum(SEL)` or
 * `sum by (a) (SEL)`, for OpenSLO's counter queries). An `le="x"` matcher
 * must be an equality with a number; it is removed from the text and
 * stored in out->le. by / n_by as for br_slo_template_simplify (may be NULL
 * when allow_sum is false).
 */
int br_slo_counter_source(br_arena *a, const char *text, bool allow_sum, br_event_source *out,
                          const char ***by, size_t *n_by, br_err *err);

/* Returns in *out the selector sel (a counter selector, borrowed) with the
 * matcher `label op "value"` added; op is "=", "!=", "=~" or "!~". The
 * value is quoted here; the result is parsed again, so a bad regex is an
 * error. */
int br_slo_selector_add_matcher(br_arena *a, const char *sel, const char *label, const char *op,
                                const char *value, const char **out, br_err *err);

/* Classic histogram with base selector `base` (`name{matchers}`, without
 * _bucket and without an le matcher): good = COUNTER name_bucket{matchers}
 * with le = threshold, total = COUNTER name_count{matchers}. */
int br_slo_histogram_source(br_arena *a, const char *base, double threshold, br_event_source *good,
                            br_event_source *total, br_err *err);

/* Native histogram `base`: QUERY sources, per grouping value set,
 *   good  = histogram_fraction(0, T, sum by (g) (rate(base[{{.window}}])))
 *           * histogram_count(sum by (g) (rate(base[{{.window}}])))
 *   total = histogram_count(sum by (g) (rate(base[{{.window}}])))
 * (plain sum(...) without grouping). */
int br_slo_native_histogram_source(br_arena *a, const char *base, double threshold,
                                   const char *const *grouping, size_t n_grouping,
                                   br_event_source *good, br_event_source *total, br_err *err);

/* A 0/1 gauge selector → BOOL_GAUGE good and total sources (same series:
 * good = samples equal to 1, total = samples). */
int br_slo_bool_gauge_source(br_arena *a, const char *sel, br_event_source *good,
                             br_event_source *total, br_err *err);

/* ---------------------------------------------------------------- values */

/* A percentage as Sloth and Pyrra write objectives: "99.9" → 0.999; must
 * be in (0, 100). Returns 0 or BR_EINVAL. */
int br_slo_parse_percent(const char *text, double *out);

/* A share: "99%" (percent), "0.99" (ratio), or a plain number above 1
 * taken as a percentage ("99"). allow_negative admits values below zero
 * ("-10%", policy thresholds). No range check beyond that. */
int br_slo_parse_share(const char *text, bool allow_negative, double *out);

/* A value in seconds: a plain number ("0.5", "5") or a Prometheus duration
 * ("500ms", "5s", "1m"). */
int br_slo_parse_seconds(const char *text, double *out);

/* "<" "<=" ">" ">=" and OpenSLO's lt lte gt gte. */
int br_slo_parse_op(const char *text, br_threshold_op *out);

/* Sets p->utc_offset_s / p->time_zone from "UTC", "Z", "+02:00", "-0530"
 * or an IANA name ("Europe/Paris", checked for shape here; the loaders
 * then resolve it with br_slo_set_time_zone). The name is copied into s's
 * arena. */
int br_slo_parse_time_zone(br_slo_set *s, const char *text, br_period *p);

/* A calendar anchor: "YYYY-MM-DD", optionally followed by " 00:00:00" or
 * "T00:00:00" (OpenSLO's startTime). Sets *day to the date as days since
 * 1970-01-01. BR_EINVAL for anything else, including a time of day other
 * than midnight (calendar periods begin at local midnight). */
int br_slo_parse_anchor_date(const char *text, int64_t *day);

/* True for a Prometheus label name: [a-zA-Z_][a-zA-Z0-9_]*. */
bool br_slo_valid_label_name(const char *name);

/* name with every character outside [a-zA-Z0-9_] replaced by '_' (and a
 * leading digit prefixed with '_'), in s's arena: Kubernetes and OpenSLO
 * label keys ("app.kubernetes.io/name") become label names. */
const char *br_slo_sanitize_label_name(br_slo_set *s, const char *name);

/* "<Service><Name>HighErrorRate" in CamelCase ("checkout", "availability"
 * → "CheckoutAvailabilityHighErrorRate"), in s's arena: the alert name
 * when a file gives none. */
const char *br_slo_default_alert_name(br_slo_set *s, const char *service, const char *name);

/* Sets key to value in the array (replacing an existing key, else
 * appending); strings are copied into s's arena, the array is regrown
 * there. */
void br_slo_kv_set(br_slo_set *s, br_kv **arr, size_t *n, const char *key, const char *value);

/* ------------------------------------------------------------------ YAML */

/* True for an absent node or a YAML null (`key:`, `~`, `null`). */
bool br_slo_yaml_null(const br_yaml_node *n);

/* The key node of key in map (for errors about the key itself rather
 * than its value); NULL when absent. */
br_yaml_node *br_slo_yaml_key_node(br_yaml_doc *doc, const br_yaml_node *map, const char *key);

/* Fails at the map's position when key is absent or null. */
int br_slo_yaml_require(br_yaml_doc *doc, const br_yaml_node *map, const char *key,
                        const char *what, br_err *err);

/* Merges the mapping n (string keys to scalar values) into *arr with
 * br_slo_kv_set. check_names: keys must be label names. A null node is an
 * empty map. */
int br_slo_yaml_kv(br_slo_set *s, br_yaml_doc *doc, const br_yaml_node *n, const char *what,
                   bool check_names, br_kv **arr, size_t *n_arr, br_err *err);

/* Reads a list of label names (grouping) into a new array in s's arena. */
int br_slo_yaml_label_list(br_slo_set *s, br_yaml_doc *doc, const br_yaml_node *n, const char *what,
                           const char ***out, size_t *n_out, br_err *err);

/* Copies inner's message into err at node's position, prefixed by what
 * ("sli.events.total"); returns inner's code. */
int br_slo_yaml_wrap(br_yaml_doc *doc, const br_yaml_node *node, const char *what,
                     const br_err *inner, br_err *err);

/* Checks that two by-label lists name the same labels (order ignored). */
bool br_slo_same_labels(const char *const *a, size_t na, const char *const *b, size_t nb);

/*
 * Settles d->grouping from the by-labels br_slo_template_simplify found on
 * the numerator (bad or good) and total sources of an events SLI. Only
 * COUNTER sources carry by-labels; when both sides are COUNTER they must
 * sum by the same labels. The by-labels then become d->grouping when it is
 * empty, or must equal it. Returns NULL, or a static message naming the
 * mismatch (the caller adds the position).
 */
const char *br_slo_apply_by_labels(br_slo_def *d, const br_event_source *num, const char **by_num,
                                   size_t n_num, const br_event_source *total,
                                   const char **by_total, size_t n_total);

#endif
