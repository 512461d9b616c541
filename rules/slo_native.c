/*
 * slo_native.c — burnrate's own SLO file format → br_slo_def records.
 *
 * Where it sits: slo_load.c detects the format (a document without
 * apiVersion/kind) and calls br_slo_load_native for each YAML document;
 * each entry of `slos:` becomes one definition, validated and added by
 * br_slo_set_add (slo.c). The format is documented for users in the README
 * ("SLO files"); in short:
 *
 *   defaults: {<any SLO key but name, description, sli>}   # optional
 *   slos:
 *     - service, name, description, objective, labels, period, budgeting,
 *       time_slice, slice_target, no_data, grouping,
 *       sli: {events | latency | bool_gauge | query | raw | threshold},
 *       alerting: {name, labels, annotations, page, ticket, tiers,
 *                  budget_drop, exhaustion_within, keep_firing_for,
 *                  runbook_url, min_events, budget_low, no_data_for, absent_for,
 *                  inhibit_tickets},
 *       policy: {states: [{name, above, deploy, actions}]},
 *       adjustments: [<adjustment> | <name of a file-level adjustment>],
 *       composite: [{slo: <id>, weight: <number, default 1>}],  # instead of sli
 *       replay: false | {step: <duration>, max: <duration>}
 *   adjustments:                       # file level, optional
 *     - <adjustment>, plus slos: [<id>...] and/or match_labels: {k: v}
 *       selecting the SLOs of this document it applies to
 *   <adjustment> = {name, category (maintenance | deployment |
 *       outside_business_hours | other), start (RFC 3339), duration | end,
 *       rrule (RFC 5545 subset, rules/adjust.h), timezone (IANA)}
 *
 * A composite's SLI is a RAW template over its components' recorded
 * series (the weighted mean of their error ratios, as `generate` writes
 * it); its components may be defined in any file of the set:
 * br_slo_set_check_composites verifies them once every file is loaded
 * (br_slo_load_globs, and the app after adding API-managed SLOs).
 *
 * Rules: `defaults` is applied to every SLO of the document before the
 * SLO's own keys; maps (labels, annotations) merge key by key, everything
 * else is replaced. Unknown keys are errors; every error names
 * file:line:col of the offending key or value and what was expected. The
 * SLI keys are read after the others, so the native-histogram templates
 * see the final `grouping`.
 *
 * Threads: called by the loading thread only; writes into the set's arena.
 */
#include "slo.h"
#include "slo_template.h"

#include "engine/core/buf.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A file-level adjustment and the SLOs it selects. */
typedef struct file_adjustment {
    br_adjustment *a;
    const char **ids;
    size_t n_ids;
    br_kv *labels;
    size_t n_labels;
} file_adjustment;

typedef struct native_ctx {
    br_slo_set *s;
    br_yaml_doc *doc;
    br_err *err;
    bool tiers_explicit;
    file_adjustment *file_adj; /* in the set's arena */
    size_t n_file_adj;
} native_ctx;

static const char *const slo_keys[] = {
    "service",  "name",      "description", "objective",    "labels",      "period",
    "budgeting", "time_slice", "slice_target", "no_data",   "grouping",    "sli",
    "alerting", "policy",    "adjustments", "composite",    "replay",      NULL,
};

static const char *const default_keys[] = {
    "service",      "objective", "labels",   "period",   "budgeting",   "time_slice",
    "slice_target", "no_data",   "grouping", "alerting", "policy",      "adjustments",
    "replay",       NULL,
};

/* ----------------------------------------------------------------- scalars */

static int get_str(native_ctx *c, br_yaml_node *n, const char *key, const char **out)
{
    const char *v = NULL;
    int rc = br_yaml_get_string(c->doc, n, key, &v, c->err);
    if (rc == 0) {
        *out = br_slo_strdup(c->s, v);
    }
    return rc;
}

/* A share in (0, 1] ("99%", "0.99"). */
static int get_share(native_ctx *c, br_yaml_node *n, const char *key, double *out)
{
    const char *v = br_yaml_scalar(n);
    double x = 0;
    if (v == NULL || br_slo_parse_share(v, false, &x) != 0 || !(x > 0.0 && x <= 1.0)) {
        return br_yaml_error(c->doc, n, c->err, BR_EINVAL,
                             "\"%s\" must be a share like 99%% or 0.99 (above 0, at most 100%%), "
                             "got \"%s\"",
                             key, v ? v : "a non-scalar");
    }
    *out = x;
    return 0;
}

/* A duration, or false / 0 for "disabled" (0). */
static int get_duration_or_false(native_ctx *c, br_yaml_node *n, const char *key, int64_t *out)
{
    const char *v = br_yaml_scalar(n);
    if (v != NULL && strcmp(v, "false") == 0) {
        *out = 0;
        return 0;
    }
    return br_yaml_get_duration(c->doc, n, key, true, out, c->err);
}

/* ------------------------------------------------------------------ period */

static int parse_period(native_ctx *c, br_slo_def *d, br_yaml_node *n)
{
    if (br_yaml_is_scalar(n)) {
        int64_t ms = 0;
        int rc = br_yaml_get_duration(c->doc, n, "period", false, &ms, c->err);
        if (rc != 0) {
            return rc;
        }
        d->period.kind = BR_PERIOD_ROLLING;
        d->period.duration_ms = ms;
        d->period.count = 1;
        return 0;
    }
    static const char *const keys[] = {"calendar", "count", "start", "time_zone", NULL};
    int rc = br_yaml_expect_map(c->doc, n, "period", c->err);
    if (rc == 0) {
        rc = br_yaml_check_keys(c->doc, n, "period", keys, c->err);
    }
    if (rc == 0) {
        rc = br_slo_yaml_require(c->doc, n, "calendar", "period", c->err);
    }
    if (rc != 0) {
        return rc;
    }
    static const struct {
        const char *name;
        br_calendar_unit unit;
    } units[] = {{"day", BR_CAL_DAY},
                 {"week", BR_CAL_WEEK},
                 {"month", BR_CAL_MONTH},
                 {"quarter", BR_CAL_QUARTER},
                 {"year", BR_CAL_YEAR}};
    br_yaml_node *cal = br_yaml_map_get(c->doc, n, "calendar");
    const char *u = br_yaml_scalar(cal);
    size_t i = 0;
    for (; u != NULL && i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(u, units[i].name) == 0) {
            break;
        }
    }
    if (u == NULL || i == sizeof(units) / sizeof(units[0])) {
        return br_yaml_error(c->doc, cal, c->err, BR_EINVAL,
                             "period.calendar must be one of day, week, month, quarter, year, "
                             "got \"%s\"",
                             u ? u : "a non-scalar");
    }
    d->period.kind = BR_PERIOD_CALENDAR;
    d->period.unit = units[i].unit;
    d->period.count = 1;
    d->period.utc_offset_s = 0;
    d->period.time_zone = NULL;
    d->period.tz = NULL;
    br_yaml_node *cn = br_yaml_map_get(c->doc, n, "count");
    if (cn != NULL) {
        int64_t count = 0;
        rc = br_yaml_get_int(c->doc, cn, "period.count", 1, 1000, &count, c->err);
        if (rc != 0) {
            return rc;
        }
        d->period.count = (int)count;
    }
    br_yaml_node *sn = br_yaml_map_get(c->doc, n, "start");
    if (sn != NULL) {
        const char *sv = br_yaml_scalar(sn);
        if (br_slo_parse_anchor_date(sv, &d->period.anchor_day) != 0) {
            return br_yaml_error(c->doc, sn, c->err, BR_EINVAL,
                                 "period.start must be a date like 2026-01-05 (periods begin at "
                                 "its local midnight and every `count` units after), got \"%s\"",
                                 sv ? sv : "a non-scalar");
        }
        d->period.anchored = true;
    }
    br_yaml_node *tz = br_yaml_map_get(c->doc, n, "time_zone");
    if (tz != NULL) {
        const char *t = br_yaml_scalar(tz);
        if (t == NULL || br_slo_parse_time_zone(c->s, t, &d->period) != 0) {
            return br_yaml_error(c->doc, tz, c->err, BR_EINVAL,
                                 "period.time_zone must be UTC, an offset like +02:00 or an IANA "
                                 "name like Europe/Paris, got \"%s\"",
                                 t ? t : "a non-scalar");
        }
        if (d->period.time_zone != NULL) {
            br_err inner;
            br_err_clear(&inner);
            if (br_slo_set_time_zone(c->s, d->period.time_zone, &d->period.tz, &inner) != 0) {
                return br_slo_yaml_wrap(c->doc, tz, "period.time_zone", &inner, c->err);
            }
        }
    }
    return 0;
}

/* --------------------------------------------------------------------- SLI */

static int wrap(native_ctx *c, br_yaml_node *n, const char *what, const br_err *inner)
{
    return br_slo_yaml_wrap(c->doc, n, what, inner, c->err);
}

/* Reads one selector/template string of the SLI. */
static int sli_text(native_ctx *c, br_yaml_node *map, const char *key, const char *what,
                    br_yaml_node **node, const char **out)
{
    *node = br_yaml_map_get(c->doc, map, key);
    *out = NULL;
    if (br_slo_yaml_null(*node)) {
        return 0;
    }
    int rc = br_yaml_get_string(c->doc, *node, what, out, c->err);
    if (rc == 0 && (*out)[0] == '\0') {
        return br_yaml_error(c->doc, *node, c->err, BR_EINVAL, "%s must not be empty", what);
    }
    return rc;
}

static int sli_events(native_ctx *c, br_slo_def *d, br_yaml_node *n)
{
    static const char *const keys[] = {"bad", "good", "total", "exclude", NULL};
    int rc = br_yaml_expect_map(c->doc, n, "sli.events", c->err);
    if (rc == 0) {
        rc = br_yaml_check_keys(c->doc, n, "sli.events", keys, c->err);
    }
    if (rc != 0) {
        return rc;
    }
    const char *names[3] = {"bad", "good", "total"};
    br_event_source *dst[3] = {&d->sli.bad, &d->sli.good, &d->sli.total};
    br_yaml_node *nodes[3];
    const char *texts[3];
    for (int i = 0; i < 3; i++) {
        char what[32];
        snprintf(what, sizeof(what), "sli.events.%s", names[i]);
        rc = sli_text(c, n, names[i], what, &nodes[i], &texts[i]);
        if (rc != 0) {
            return rc;
        }
    }
    if (texts[0] != NULL && texts[1] != NULL) {
        return br_yaml_error(c->doc, nodes[1], c->err, BR_EINVAL,
                             "sli.events: give bad or good events, not both");
    }
    if (texts[0] == NULL && texts[1] == NULL) {
        return br_yaml_error(c->doc, n, c->err, BR_EINVAL,
                             "sli.events: missing \"bad\" (or \"good\") counter selector");
    }
    if (texts[2] == NULL) {
        return br_yaml_error(c->doc, n, c->err, BR_EINVAL,
                             "sli.events: missing \"total\" counter selector");
    }
    br_yaml_node *ex = br_yaml_map_get(c->doc, n, "exclude");
    if (!br_slo_yaml_null(ex)) {
        rc = br_yaml_expect_map(c->doc, ex, "sli.events.exclude", c->err);
        if (rc != 0) {
            return rc;
        }
    }
    size_t n_ex = br_slo_yaml_null(ex) ? 0 : br_yaml_map_size(ex);
    br_arena *a = br_slo_set_arena(c->s);
    for (int i = 0; i < 3; i++) {
        if (texts[i] == NULL) {
            continue;
        }
        char what[32];
        snprintf(what, sizeof(what), "sli.events.%s", names[i]);
        br_err inner;
        br_err_clear(&inner);
        const char *text = texts[i];
        /* Check the selector as written first, so its errors point at it. */
        br_event_source probe;
        if (br_slo_counter_source(a, text, false, &probe, NULL, NULL, &inner) != 0) {
            return wrap(c, nodes[i], what, &inner);
        }
        for (size_t j = 0; j < n_ex; j++) {
            br_yaml_node *kn = NULL;
            br_yaml_node *vn = NULL;
            const char *label = br_yaml_map_key(c->doc, ex, j, &kn, &vn);
            const char *re = br_yaml_scalar(vn);
            if (label == NULL || !br_slo_valid_label_name(label)) {
                return br_yaml_error(c->doc, kn, c->err, BR_EINVAL,
                                     "sli.events.exclude: keys must be label names");
            }
            if (re == NULL || re[0] == '\0') {
                return br_yaml_error(c->doc, vn, c->err, BR_EINVAL,
                                     "sli.events.exclude.%s must be a regular expression such "
                                     "as \"429|401|400\"",
                                     label);
            }
            if (br_slo_selector_add_matcher(a, text, label, "!~", re, &text, &inner) != 0) {
                char exwhat[80];
                snprintf(exwhat, sizeof(exwhat), "sli.events.exclude.%s", label);
                return wrap(c, vn, exwhat, &inner);
            }
        }
        if (br_slo_counter_source(a, text, false, dst[i], NULL, NULL, &inner) != 0) {
            return wrap(c, nodes[i], what, &inner);
        }
    }
    d->sli.kind = BR_SLI_EVENTS;
    return 0;
}

static int sli_latency(native_ctx *c, br_slo_def *d, br_yaml_node *n)
{
    static const char *const keys[] = {"histogram", "threshold", "native", NULL};
    int rc = br_yaml_expect_map(c->doc, n, "sli.latency", c->err);
    if (rc == 0) {
        rc = br_yaml_check_keys(c->doc, n, "sli.latency", keys, c->err);
    }
    if (rc == 0) {
        rc = br_slo_yaml_require(c->doc, n, "histogram", "sli.latency", c->err);
    }
    if (rc == 0) {
        rc = br_slo_yaml_require(c->doc, n, "threshold", "sli.latency", c->err);
    }
    if (rc != 0) {
        return rc;
    }
    br_yaml_node *hn = NULL;
    const char *hist = NULL;
    rc = sli_text(c, n, "histogram", "sli.latency.histogram", &hn, &hist);
    if (rc != 0) {
        return rc;
    }
    br_yaml_node *tn = br_yaml_map_get(c->doc, n, "threshold");
    const char *tv = br_yaml_scalar(tn);
    double threshold = 0;
    if (tv == NULL || br_slo_parse_seconds(tv, &threshold) != 0 || !(threshold > 0)) {
        return br_yaml_error(c->doc, tn, c->err, BR_EINVAL,
                             "sli.latency.threshold must be a duration like 500ms or a number of "
                             "seconds like 0.5, got \"%s\"",
                             tv ? tv : "a non-scalar");
    }
    bool native = false;
    br_yaml_node *nn = br_yaml_map_get(c->doc, n, "native");
    if (nn != NULL) {
        rc = br_yaml_get_bool(c->doc, nn, "sli.latency.native", &native, c->err);
        if (rc != 0) {
            return rc;
        }
    }
    br_err inner;
    br_err_clear(&inner);
    br_arena *a = br_slo_set_arena(c->s);
    if (native) {
        rc = br_slo_native_histogram_source(a, hist, threshold, d->grouping, d->n_grouping,
                                            &d->sli.good, &d->sli.total, &inner);
    } else {
        rc = br_slo_histogram_source(a, hist, threshold, &d->sli.good, &d->sli.total, &inner);
    }
    if (rc != 0) {
        return wrap(c, hn, "sli.latency.histogram", &inner);
    }
    d->sli.kind = BR_SLI_EVENTS;
    return 0;
}

static int sli_bool_gauge(native_ctx *c, br_slo_def *d, br_yaml_node *n)
{
    const char *sel = NULL;
    int rc = br_yaml_get_string(c->doc, n, "sli.bool_gauge", &sel, c->err);
    if (rc != 0) {
        return rc;
    }
    br_err inner;
    br_err_clear(&inner);
    if (br_slo_bool_gauge_source(br_slo_set_arena(c->s), sel, &d->sli.good, &d->sli.total,
                                 &inner) != 0) {
        return wrap(c, n, "sli.bool_gauge", &inner);
    }
    d->sli.kind = BR_SLI_EVENTS;
    return 0;
}

static int sli_query(native_ctx *c, br_slo_def *d, br_yaml_node *n)
{
    static const char *const keys[] = {"bad", "good", "total", NULL};
    int rc = br_yaml_expect_map(c->doc, n, "sli.query", c->err);
    if (rc == 0) {
        rc = br_yaml_check_keys(c->doc, n, "sli.query", keys, c->err);
    }
    if (rc != 0) {
        return rc;
    }
    const char *names[3] = {"bad", "good", "total"};
    br_event_source *dst[3] = {&d->sli.bad, &d->sli.good, &d->sli.total};
    br_yaml_node *nodes[3];
    const char *texts[3];
    for (int i = 0; i < 3; i++) {
        char what[32];
        snprintf(what, sizeof(what), "sli.query.%s", names[i]);
        rc = sli_text(c, n, names[i], what, &nodes[i], &texts[i]);
        if (rc != 0) {
            return rc;
        }
    }
    if (texts[0] != NULL && texts[1] != NULL) {
        return br_yaml_error(c->doc, nodes[1], c->err, BR_EINVAL,
                             "sli.query: give a bad or a good query, not both");
    }
    if ((texts[0] == NULL && texts[1] == NULL) || texts[2] == NULL) {
        return br_yaml_error(c->doc, n, c->err, BR_EINVAL,
                             "sli.query: needs \"bad\" (or \"good\") and \"total\" templates");
    }
    const char **by[3] = {NULL, NULL, NULL};
    size_t n_by[3] = {0, 0, 0};
    br_yaml_node *by_node = NULL;
    for (int i = 0; i < 3; i++) {
        if (texts[i] == NULL) {
            continue;
        }
        char what[32];
        snprintf(what, sizeof(what), "sli.query.%s", names[i]);
        br_err inner;
        br_err_clear(&inner);
        if (br_slo_template_simplify(br_slo_set_arena(c->s), texts[i], dst[i], &by[i], &n_by[i],
                                     &inner) != 0) {
            return wrap(c, nodes[i], what, &inner);
        }
        if (dst[i]->kind == BR_SOURCE_COUNTER && by_node == NULL) {
            by_node = nodes[i];
        }
    }
    int num = texts[0] != NULL ? 0 : 1;
    const char *problem =
        br_slo_apply_by_labels(d, dst[num], by[num], n_by[num], dst[2], by[2], n_by[2]);
    if (problem != NULL) {
        return br_yaml_error(c->doc, by_node != NULL ? by_node : nodes[2], c->err, BR_EINVAL,
                             "sli.query: %s", problem);
    }
    d->sli.kind = BR_SLI_EVENTS;
    return 0;
}

static int sli_raw(native_ctx *c, br_slo_def *d, br_yaml_node *n)
{
    static const char *const keys[] = {"error_ratio_query", NULL};
    int rc = br_yaml_expect_map(c->doc, n, "sli.raw", c->err);
    if (rc == 0) {
        rc = br_yaml_check_keys(c->doc, n, "sli.raw", keys, c->err);
    }
    if (rc == 0) {
        rc = br_slo_yaml_require(c->doc, n, "error_ratio_query", "sli.raw", c->err);
    }
    br_yaml_node *qn = NULL;
    const char *q = NULL;
    if (rc == 0) {
        rc = sli_text(c, n, "error_ratio_query", "sli.raw.error_ratio_query", &qn, &q);
    }
    if (rc != 0) {
        return rc;
    }
    br_err inner;
    br_err_clear(&inner);
    if (br_slo_template_check(q, true, &inner) != 0) {
        return wrap(c, qn, "sli.raw.error_ratio_query", &inner);
    }
    d->sli.kind = BR_SLI_RAW;
    d->sli.query = br_slo_strdup(c->s, q);
    return 0;
}

static int sli_threshold(native_ctx *c, br_slo_def *d, br_yaml_node *n)
{
    static const char *const keys[] = {"query", "op", "value", NULL};
    int rc = br_yaml_expect_map(c->doc, n, "sli.threshold", c->err);
    if (rc == 0) {
        rc = br_yaml_check_keys(c->doc, n, "sli.threshold", keys, c->err);
    }
    for (int i = 0; rc == 0 && keys[i] != NULL; i++) {
        rc = br_slo_yaml_require(c->doc, n, keys[i], "sli.threshold", c->err);
    }
    br_yaml_node *qn = NULL;
    const char *q = NULL;
    if (rc == 0) {
        rc = sli_text(c, n, "query", "sli.threshold.query", &qn, &q);
    }
    if (rc != 0) {
        return rc;
    }
    br_err inner;
    br_err_clear(&inner);
    if (br_slo_template_check(q, false, &inner) != 0) {
        return wrap(c, qn, "sli.threshold.query", &inner);
    }
    br_yaml_node *on = br_yaml_map_get(c->doc, n, "op");
    const char *op = br_yaml_scalar(on);
    if (op == NULL || br_slo_parse_op(op, &d->sli.op) != 0) {
        return br_yaml_error(c->doc, on, c->err, BR_EINVAL,
                             "sli.threshold.op must be one of <, <=, >, >=, got \"%s\"",
                             op ? op : "a non-scalar");
    }
    br_yaml_node *vn = br_yaml_map_get(c->doc, n, "value");
    const char *v = br_yaml_scalar(vn);
    if (v == NULL || br_slo_parse_seconds(v, &d->sli.threshold) != 0) {
        return br_yaml_error(c->doc, vn, c->err, BR_EINVAL,
                             "sli.threshold.value must be a number or a duration like 5s, got "
                             "\"%s\"",
                             v ? v : "a non-scalar");
    }
    d->sli.kind = BR_SLI_THRESHOLD;
    d->sli.query = br_slo_strdup(c->s, q);
    return 0;
}

static int parse_sli(native_ctx *c, br_slo_def *d, br_yaml_node *n)
{
    static const char *const keys[] = {"events", "latency",   "bool_gauge", "query",
                                       "raw",    "threshold", NULL};
    int rc = br_yaml_expect_map(c->doc, n, "sli", c->err);
    if (rc == 0) {
        rc = br_yaml_check_keys(c->doc, n, "sli", keys, c->err);
    }
    if (rc != 0) {
        return rc;
    }
    size_t size = br_yaml_map_size(n);
    if (size == 0) {
        return br_yaml_error(c->doc, n, c->err, BR_EINVAL,
                             "sli: give one of events, latency, bool_gauge, query, raw, "
                             "threshold");
    }
    if (size > 1) {
        br_yaml_node *kn = NULL;
        const char *second = br_yaml_map_key(c->doc, n, 1, &kn, NULL);
        const char *first = br_yaml_map_key(c->doc, n, 0, NULL, NULL);
        return br_yaml_error(c->doc, kn, c->err, BR_EINVAL,
                             "sli: give exactly one SLI kind, found both %s and %s", first, second);
    }
    br_yaml_node *v = NULL;
    const char *kind = br_yaml_map_key(c->doc, n, 0, NULL, &v);
    if (strcmp(kind, "events") == 0) {
        return sli_events(c, d, v);
    }
    if (strcmp(kind, "latency") == 0) {
        return sli_latency(c, d, v);
    }
    if (strcmp(kind, "bool_gauge") == 0) {
        return sli_bool_gauge(c, d, v);
    }
    if (strcmp(kind, "query") == 0) {
        return sli_query(c, d, v);
    }
    if (strcmp(kind, "raw") == 0) {
        return sli_raw(c, d, v);
    }
    return sli_threshold(c, d, v);
}

/* ---------------------------------------------------------------- alerting */

static int parse_alert_kind(native_ctx *c, br_yaml_node *n, const char *what, bool *disabled,
                            br_kv **labels, size_t *n_labels, br_kv **ann, size_t *n_ann)
{
    static const char *const keys[] = {"disable", "labels", "annotations", NULL};
    int rc = br_yaml_expect_map(c->doc, n, what, c->err);
    if (rc == 0) {
        rc = br_yaml_check_keys(c->doc, n, what, keys, c->err);
    }
    br_yaml_node *dn = rc == 0 ? br_yaml_map_get(c->doc, n, "disable") : NULL;
    if (dn != NULL) {
        rc = br_yaml_get_bool(c->doc, dn, "disable", disabled, c->err);
    }
    if (rc == 0) {
        rc = br_slo_yaml_kv(c->s, c->doc, br_yaml_map_get(c->doc, n, "labels"), what, true, labels,
                            n_labels, c->err);
    }
    if (rc == 0) {
        rc = br_slo_yaml_kv(c->s, c->doc, br_yaml_map_get(c->doc, n, "annotations"), what, false,
                            ann, n_ann, c->err);
    }
    return rc;
}

static int parse_tier(native_ctx *c, br_yaml_node *n, br_burn_tier *t)
{
    static const char *const keys[] = {"name",   "severity", "long",    "short",
                                       "factor", "for",      "disable", NULL};
    const char *what = "alerting.tiers[]";
    int rc = br_yaml_expect_map(c->doc, n, what, c->err);
    if (rc == 0) {
        rc = br_yaml_check_keys(c->doc, n, what, keys, c->err);
    }
    static const char *const required[] = {"name", "long", "short", "factor", NULL};
    for (int i = 0; rc == 0 && required[i] != NULL; i++) {
        rc = br_slo_yaml_require(c->doc, n, required[i], what, c->err);
    }
    if (rc != 0) {
        return rc;
    }
    memset(t, 0, sizeof(*t));
    rc = get_str(c, br_yaml_map_get(c->doc, n, "name"), "name", &t->name);
    if (rc == 0) {
        rc = br_yaml_get_duration(c->doc, br_yaml_map_get(c->doc, n, "long"), "long", false,
                                  &t->long_window_ms, c->err);
    }
    if (rc == 0) {
        rc = br_yaml_get_duration(c->doc, br_yaml_map_get(c->doc, n, "short"), "short", false,
                                  &t->short_window_ms, c->err);
    }
    if (rc == 0) {
        rc = br_yaml_get_double(c->doc, br_yaml_map_get(c->doc, n, "factor"), "factor", &t->factor,
                                c->err);
    }
    br_yaml_node *fn = br_yaml_map_get(c->doc, n, "for");
    if (rc == 0 && fn != NULL) {
        rc = br_yaml_get_duration(c->doc, fn, "for", true, &t->for_ms, c->err);
    }
    br_yaml_node *dn = br_yaml_map_get(c->doc, n, "disable");
    if (rc == 0 && dn != NULL) {
        rc = br_yaml_get_bool(c->doc, dn, "disable", &t->disabled, c->err);
    }
    if (rc != 0) {
        return rc;
    }
    br_yaml_node *sn = br_yaml_map_get(c->doc, n, "severity");
    const char *sev = sn != NULL ? br_yaml_scalar(sn) : NULL;
    if (sn == NULL) {
        if (strncmp(t->name, "page", 4) == 0) {
            sev = "page";
        } else if (strncmp(t->name, "ticket", 6) == 0) {
            sev = "ticket";
        } else {
            return br_yaml_error(c->doc, n, c->err, BR_EINVAL,
                                 "%s: tier \"%s\" needs severity: page or ticket", what, t->name);
        }
    }
    if (sev == NULL || (strcmp(sev, "page") != 0 && strcmp(sev, "ticket") != 0)) {
        return br_yaml_error(c->doc, sn, c->err, BR_EINVAL,
                             "%s: severity must be page or ticket, got \"%s\"", what,
                             sev ? sev : "a non-scalar");
    }
    t->severity = strcmp(sev, "page") == 0 ? "page" : "ticket";
    return 0;
}

static int parse_tiers(native_ctx *c, br_slo_def *d, br_yaml_node *n)
{
    int rc = br_yaml_expect_seq(c->doc, n, "alerting.tiers", c->err);
    if (rc != 0) {
        return rc;
    }
    size_t size = br_yaml_seq_size(n);
    if (size == 0 || size > 4) {
        return br_yaml_error(c->doc, n, c->err, BR_EINVAL,
                             "alerting.tiers must list 1 to 4 tiers, got %zu", size);
    }
    for (size_t i = 0; i < size; i++) {
        br_yaml_node *item = br_yaml_seq_item(c->doc, n, i);
        rc = parse_tier(c, item, &d->alerting.tiers[i]);
        if (rc != 0) {
            return rc;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(d->alerting.tiers[j].name, d->alerting.tiers[i].name) == 0) {
                return br_yaml_error(c->doc, item, c->err, BR_EINVAL,
                                     "alerting.tiers: tier name \"%s\" is used twice",
                                     d->alerting.tiers[i].name);
            }
        }
    }
    d->alerting.n_tiers = size;
    c->tiers_explicit = true;
    return 0;
}

static int parse_budget_drop(native_ctx *c, br_slo_def *d, br_yaml_node *n)
{
    const char *v = br_yaml_scalar(n);
    if (v != NULL && strcmp(v, "false") == 0) {
        d->alerting.budget_drop_ratio = 0;
        return 0;
    }
    static const char *const keys[] = {"ratio", "window", NULL};
    int rc = br_yaml_expect_map(c->doc, n, "alerting.budget_drop", c->err);
    if (rc == 0) {
        rc = br_yaml_check_keys(c->doc, n, "alerting.budget_drop", keys, c->err);
    }
    br_yaml_node *rn = rc == 0 ? br_yaml_map_get(c->doc, n, "ratio") : NULL;
    if (rn != NULL) {
        rc = get_share(c, rn, "alerting.budget_drop.ratio", &d->alerting.budget_drop_ratio);
    }
    br_yaml_node *wn = rc == 0 ? br_yaml_map_get(c->doc, n, "window") : NULL;
    if (wn != NULL) {
        rc = br_yaml_get_duration(c->doc, wn, "alerting.budget_drop.window", false,
                                  &d->alerting.budget_drop_window_ms, c->err);
    }
    return rc;
}

static int parse_alerting(native_ctx *c, br_slo_def *d, br_yaml_node *n)
{
    static const char *const keys[] = {"name",
                                       "labels",
                                       "annotations",
                                       "page",
                                       "ticket",
                                       "tiers",
                                       "budget_drop",
                                       "exhaustion_within",
                                       "keep_firing_for",
                                       "runbook_url",
                                       "min_events",
                                       "budget_low",
                                       "no_data_for",
                                       "absent_for",
                                       "inhibit_tickets",
                                       NULL};
    int rc = br_yaml_expect_map(c->doc, n, "alerting", c->err);
    if (rc == 0) {
        rc = br_yaml_check_keys(c->doc, n, "alerting", keys, c->err);
    }
    if (rc != 0) {
        return rc;
    }
    br_slo_alerting *al = &d->alerting;
    size_t size = br_yaml_map_size(n);
    for (size_t i = 0; i < size && rc == 0; i++) {
        br_yaml_node *v = NULL;
        const char *k = br_yaml_map_key(c->doc, n, i, NULL, &v);
        if (strcmp(k, "name") == 0) {
            rc = get_str(c, v, "alerting.name", &al->name);
        } else if (strcmp(k, "labels") == 0) {
            rc = br_slo_yaml_kv(c->s, c->doc, v, "alerting.labels", true, &al->labels,
                                &al->n_labels, c->err);
        } else if (strcmp(k, "annotations") == 0) {
            rc = br_slo_yaml_kv(c->s, c->doc, v, "alerting.annotations", false, &al->annotations,
                                &al->n_annotations, c->err);
        } else if (strcmp(k, "page") == 0) {
            rc = parse_alert_kind(c, v, "alerting.page", &al->page_disabled, &al->page_labels,
                                  &al->n_page_labels, &al->page_annotations,
                                  &al->n_page_annotations);
        } else if (strcmp(k, "ticket") == 0) {
            rc = parse_alert_kind(c, v, "alerting.ticket", &al->ticket_disabled, &al->ticket_labels,
                                  &al->n_ticket_labels, &al->ticket_annotations,
                                  &al->n_ticket_annotations);
        } else if (strcmp(k, "tiers") == 0) {
            rc = parse_tiers(c, d, v);
        } else if (strcmp(k, "budget_drop") == 0) {
            rc = parse_budget_drop(c, d, v);
        } else if (strcmp(k, "exhaustion_within") == 0) {
            rc = get_duration_or_false(c, v, "alerting.exhaustion_within",
                                       &al->exhaustion_within_ms);
        } else if (strcmp(k, "keep_firing_for") == 0) {
            rc = br_yaml_get_duration(c->doc, v, "alerting.keep_firing_for", true,
                                      &al->keep_firing_for_ms, c->err);
        } else if (strcmp(k, "min_events") == 0) {
            int64_t m = 0;
            rc = br_yaml_get_int(c->doc, v, "alerting.min_events", 0, INT64_C(1) << 52, &m,
                                 c->err);
            al->min_events = (double)m;
        } else if (strcmp(k, "budget_low") == 0) {
            const char *bv = br_yaml_scalar(v);
            if (bv != NULL && strcmp(bv, "false") == 0) {
                al->budget_low_ratio = 0;
            } else {
                rc = get_share(c, v, "alerting.budget_low", &al->budget_low_ratio);
            }
        } else if (strcmp(k, "no_data_for") == 0) {
            rc = get_duration_or_false(c, v, "alerting.no_data_for", &al->no_data_for_ms);
        } else if (strcmp(k, "absent_for") == 0) {
            rc = get_duration_or_false(c, v, "alerting.absent_for", &al->absent_for_ms);
        } else if (strcmp(k, "inhibit_tickets") == 0) {
            rc = br_yaml_get_bool(c->doc, v, "alerting.inhibit_tickets", &al->inhibit_tickets,
                                  c->err);
        } else {
            rc = get_str(c, v, "alerting.runbook_url", &al->runbook_url);
        }
    }
    return rc;
}

/* ------------------------------------------------------------------ policy */

static int parse_state(native_ctx *c, br_yaml_node *n, bool last, br_policy_state *st)
{
    static const char *const keys[] = {"name", "above", "deploy", "actions", NULL};
    const char *what = "policy.states[]";
    int rc = br_yaml_expect_map(c->doc, n, what, c->err);
    if (rc == 0) {
        rc = br_yaml_check_keys(c->doc, n, what, keys, c->err);
    }
    if (rc == 0) {
        rc = br_slo_yaml_require(c->doc, n, "name", what, c->err);
    }
    if (rc == 0) {
        rc = br_slo_yaml_require(c->doc, n, "deploy", what, c->err);
    }
    if (rc != 0) {
        return rc;
    }
    memset(st, 0, sizeof(*st));
    rc = get_str(c, br_yaml_map_get(c->doc, n, "name"), "name", &st->name);
    if (rc != 0) {
        return rc;
    }
    br_yaml_node *an = br_yaml_map_get(c->doc, n, "above");
    if (last && an != NULL) {
        return br_yaml_error(c->doc, an, c->err, BR_EINVAL,
                             "%s: the last state (%s) catches everything below the others; "
                             "remove \"above\"",
                             what, st->name);
    }
    if (!last) {
        if (br_slo_yaml_null(an)) {
            return br_yaml_error(c->doc, n, c->err, BR_EINVAL,
                                 "%s: state %s needs \"above\" (budget remaining, e.g. 50%%)", what,
                                 st->name);
        }
        const char *v = br_yaml_scalar(an);
        if (v == NULL || br_slo_parse_share(v, true, &st->min_remaining) != 0) {
            return br_yaml_error(c->doc, an, c->err, BR_EINVAL,
                                 "%s: above must be a share of the budget like 50%% or 0.5, got "
                                 "\"%s\"",
                                 what, v ? v : "a non-scalar");
        }
    } else {
        st->min_remaining = -INFINITY;
    }
    br_yaml_node *dn = br_yaml_map_get(c->doc, n, "deploy");
    const char *dv = br_yaml_scalar(dn);
    if (dv != NULL && (strcmp(dv, "allow") == 0 || strcmp(dv, "true") == 0)) {
        st->allow_deploy = true;
    } else if (dv != NULL && (strcmp(dv, "deny") == 0 || strcmp(dv, "false") == 0)) {
        st->allow_deploy = false;
    } else {
        return br_yaml_error(c->doc, dn, c->err, BR_EINVAL,
                             "%s: deploy must be allow or deny, got \"%s\"", what,
                             dv ? dv : "a non-scalar");
    }
    br_yaml_node *acts = br_yaml_map_get(c->doc, n, "actions");
    if (!br_slo_yaml_null(acts)) {
        rc = br_yaml_expect_seq(c->doc, acts, "actions", c->err);
        if (rc != 0) {
            return rc;
        }
        size_t na = br_yaml_seq_size(acts);
        st->actions = br_arena_calloc(br_slo_set_arena(c->s), na ? na : 1, sizeof(char *));
        for (size_t i = 0; i < na; i++) {
            rc = get_str(c, br_yaml_seq_item(c->doc, acts, i), "actions", &st->actions[i]);
            if (rc != 0) {
                return rc;
            }
        }
        st->n_actions = na;
    }
    return 0;
}

static int parse_policy(native_ctx *c, br_slo_def *d, br_yaml_node *n)
{
    static const char *const keys[] = {"states", NULL};
    int rc = br_yaml_expect_map(c->doc, n, "policy", c->err);
    if (rc == 0) {
        rc = br_yaml_check_keys(c->doc, n, "policy", keys, c->err);
    }
    if (rc == 0) {
        rc = br_slo_yaml_require(c->doc, n, "states", "policy", c->err);
    }
    br_yaml_node *sn = rc == 0 ? br_yaml_map_get(c->doc, n, "states") : NULL;
    if (rc == 0) {
        rc = br_yaml_expect_seq(c->doc, sn, "policy.states", c->err);
    }
    if (rc != 0) {
        return rc;
    }
    size_t size = br_yaml_seq_size(sn);
    if (size == 0 || size > BR_POLICY_MAX_STATES) {
        return br_yaml_error(c->doc, sn, c->err, BR_EINVAL,
                             "policy.states must list 1 to %d states, got %zu",
                             BR_POLICY_MAX_STATES, size);
    }
    br_policy p;
    memset(&p, 0, sizeof(p));
    for (size_t i = 0; i < size; i++) {
        rc = parse_state(c, br_yaml_seq_item(c->doc, sn, i), i + 1 == size, &p.states[i]);
        if (rc != 0) {
            return rc;
        }
    }
    p.n_states = size;
    d->policy = p;
    return 0;
}

/* ------------------------------------------------------------- adjustments */

/* Reads one adjustment map (keys checked by the caller) into a. */
static int parse_adjustment(native_ctx *c, br_yaml_node *n, br_adjustment *a)
{
    memset(a, 0, sizeof(*a));
    a->category = BR_ADJUST_MAINTENANCE;
    int rc = br_slo_yaml_require(c->doc, n, "name", "an adjustment", c->err);
    if (rc == 0) {
        rc = br_slo_yaml_require(c->doc, n, "start", "an adjustment", c->err);
    }
    if (rc == 0) {
        rc = get_str(c, br_yaml_map_get(c->doc, n, "name"), "name", &a->name);
    }
    if (rc != 0) {
        return rc;
    }
    br_yaml_node *v = br_yaml_map_get(c->doc, n, "category");
    if (v != NULL) {
        const char *t = br_yaml_scalar(v);
        int cat = t != NULL ? br_adjust_category_parse(t) : -1;
        if (cat < 0) {
            return br_yaml_error(c->doc, v, c->err, BR_EINVAL,
                                 "adjustment category must be one of maintenance, deployment, "
                                 "outside_business_hours, other; got \"%s\"",
                                 t ? t : "a non-scalar");
        }
        a->category = (br_adjust_category)cat;
    }
    v = br_yaml_map_get(c->doc, n, "timezone");
    if (v != NULL) {
        const char *t = br_yaml_scalar(v);
        br_err inner;
        br_err_clear(&inner);
        if (t == NULL) {
            return br_yaml_error(c->doc, v, c->err, BR_EINVAL,
                                 "adjustment timezone must be an IANA name like Europe/Paris");
        }
        if (br_slo_set_time_zone(c->s, t, &a->tz, &inner) != 0) {
            return wrap(c, v, "adjustment timezone", &inner);
        }
    }
    v = br_yaml_map_get(c->doc, n, "start");
    const char *t = br_yaml_scalar(v);
    if (t == NULL || br_adjust_parse_time(t, a->tz, &a->start_ms) != 0) {
        return br_yaml_error(c->doc, v, c->err, BR_EINVAL,
                             "adjustment start must be an RFC 3339 time like "
                             "2026-11-01T02:00:00Z (local to timezone when it has no offset), "
                             "got \"%s\"",
                             t ? t : "a non-scalar");
    }
    br_yaml_node *dur = br_yaml_map_get(c->doc, n, "duration");
    br_yaml_node *end = br_yaml_map_get(c->doc, n, "end");
    if ((dur == NULL) == (end == NULL)) {
        return br_yaml_error(c->doc, n, c->err, BR_EINVAL,
                             "adjustment %s: give exactly one of \"duration\" and \"end\"",
                             a->name);
    }
    if (dur != NULL) {
        rc = br_yaml_get_duration(c->doc, dur, "duration", false, &a->duration_ms, c->err);
        if (rc != 0) {
            return rc;
        }
    } else {
        int64_t e = 0;
        t = br_yaml_scalar(end);
        if (t == NULL || br_adjust_parse_time(t, a->tz, &e) != 0 || e <= a->start_ms) {
            return br_yaml_error(c->doc, end, c->err, BR_EINVAL,
                                 "adjustment end must be an RFC 3339 time after start, got "
                                 "\"%s\"",
                                 t ? t : "a non-scalar");
        }
        a->duration_ms = e - a->start_ms;
    }
    v = br_yaml_map_get(c->doc, n, "rrule");
    if (v != NULL) {
        t = br_yaml_scalar(v);
        if (t == NULL) {
            return br_yaml_error(c->doc, v, c->err, BR_EINVAL,
                                 "adjustment rrule must be a string like "
                                 "\"FREQ=WEEKLY;BYDAY=SU\"");
        }
        br_err inner;
        br_err_clear(&inner);
        size_t off = 0;
        if (br_rrule_parse(t, &a->rrule, &off, &inner) != 0) {
            int quoted = v->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                         v->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
            return br_err_setpos(c->err, BR_EINVAL, c->doc->file, (int)v->start_mark.line + 1,
                                 (int)(v->start_mark.column + 1 + (size_t)quoted + off),
                                 "adjustment %s: %s", a->name, inner.msg);
        }
    }
    br_err inner;
    br_err_clear(&inner);
    if (br_adjust_validate(a, &inner) != 0) {
        return wrap(c, v != NULL ? v : n, "adjustment", &inner);
    }
    return 0;
}

static const char *const adj_keys[] = {"name",  "category", "start",    "duration",
                                       "end",   "rrule",    "timezone", NULL};
static const char *const file_adj_keys[] = {"name",     "category", "start", "duration",
                                            "end",      "rrule",    "timezone", "slos",
                                            "match_labels", NULL};

/* The document's top-level `adjustments:`. */
static int parse_file_adjustments(native_ctx *c, br_yaml_node *n)
{
    int rc = br_yaml_expect_seq(c->doc, n, "adjustments", c->err);
    if (rc != 0) {
        return rc;
    }
    size_t size = br_yaml_seq_size(n);
    br_arena *ar = br_slo_set_arena(c->s);
    c->file_adj = br_arena_calloc(ar, size + 1, sizeof(file_adjustment));
    for (size_t i = 0; i < size; i++) {
        br_yaml_node *item = br_yaml_seq_item(c->doc, n, i);
        rc = br_yaml_expect_map(c->doc, item, "adjustments[]", c->err);
        if (rc == 0) {
            rc = br_yaml_check_keys(c->doc, item, "an adjustment", file_adj_keys, c->err);
        }
        if (rc != 0) {
            return rc;
        }
        file_adjustment *fa = &c->file_adj[i];
        fa->a = br_arena_calloc(ar, 1, sizeof(br_adjustment));
        rc = parse_adjustment(c, item, fa->a);
        for (size_t j = 0; rc == 0 && j < i; j++) {
            if (strcmp(c->file_adj[j].a->name, fa->a->name) == 0) {
                rc = br_yaml_error(c->doc, item, c->err, BR_EINVAL,
                                   "adjustment name \"%s\" is used twice in this file",
                                   fa->a->name);
            }
        }
        br_yaml_node *v = br_yaml_map_get(c->doc, item, "slos");
        if (rc == 0 && v != NULL) {
            rc = br_yaml_expect_seq(c->doc, v, "slos", c->err);
            size_t ns = rc == 0 ? br_yaml_seq_size(v) : 0;
            fa->ids = br_arena_calloc(ar, ns + 1, sizeof(char *));
            for (size_t k = 0; k < ns && rc == 0; k++) {
                rc = get_str(c, br_yaml_seq_item(c->doc, v, k), "slos[]", &fa->ids[k]);
            }
            fa->n_ids = ns;
        }
        v = br_yaml_map_get(c->doc, item, "match_labels");
        if (rc == 0 && v != NULL) {
            rc = br_slo_yaml_kv(c->s, c->doc, v, "match_labels", true, &fa->labels,
                                &fa->n_labels, c->err);
        }
        if (rc != 0) {
            return rc;
        }
        c->n_file_adj = i + 1;
    }
    return 0;
}

/* An SLO's (or the defaults') `adjustments:`: inline maps or names of
 * file-level adjustments. */
static int parse_slo_adjustments(native_ctx *c, br_slo_def *d, br_yaml_node *n)
{
    int rc = br_yaml_expect_seq(c->doc, n, "adjustments", c->err);
    if (rc != 0) {
        return rc;
    }
    size_t size = br_yaml_seq_size(n);
    br_adjustment *list = br_arena_calloc(br_slo_set_arena(c->s), size + 1, sizeof(*list));
    for (size_t i = 0; i < size; i++) {
        br_yaml_node *item = br_yaml_seq_item(c->doc, n, i);
        const char *ref = br_yaml_scalar(item);
        if (ref != NULL) {
            size_t j = 0;
            while (j < c->n_file_adj && strcmp(c->file_adj[j].a->name, ref) != 0) {
                j++;
            }
            if (j == c->n_file_adj) {
                return br_yaml_error(c->doc, item, c->err, BR_EINVAL,
                                     "unknown adjustment \"%s\"; name one of the file's "
                                     "top-level adjustments or write it here as a map",
                                     ref);
            }
            list[i] = *c->file_adj[j].a;
            continue;
        }
        rc = br_yaml_expect_map(c->doc, item, "adjustments[]", c->err);
        if (rc == 0) {
            rc = br_yaml_check_keys(c->doc, item, "an adjustment", adj_keys, c->err);
        }
        if (rc == 0) {
            rc = parse_adjustment(c, item, &list[i]);
        }
        if (rc != 0) {
            return rc;
        }
    }
    d->adjustments = list;
    d->n_adjustments = size;
    return 0;
}

/* Adds the file-level adjustments that select d (by id or labels) and
 * are not in its list already. */
static void add_selected_adjustments(native_ctx *c, br_slo_def *d)
{
    size_t extra = 0;
    bool *sel = br_arena_calloc(br_slo_set_arena(c->s), c->n_file_adj + 1, sizeof(bool));
    for (size_t i = 0; i < c->n_file_adj; i++) {
        const file_adjustment *fa = &c->file_adj[i];
        bool hit = false;
        for (size_t k = 0; k < fa->n_ids; k++) {
            hit = hit || strcmp(fa->ids[k], d->id) == 0;
        }
        if (!hit && fa->n_labels > 0) {
            hit = true;
            for (size_t k = 0; k < fa->n_labels && hit; k++) {
                bool found = false;
                for (size_t l = 0; l < d->n_labels; l++) {
                    found = found || (strcmp(d->labels[l].key, fa->labels[k].key) == 0 &&
                                      strcmp(d->labels[l].value, fa->labels[k].value) == 0);
                }
                hit = found;
            }
        }
        for (size_t k = 0; hit && k < d->n_adjustments; k++) {
            if (strcmp(d->adjustments[k].name, fa->a->name) == 0) {
                hit = false; /* referenced by name already */
            }
        }
        sel[i] = hit;
        extra += hit;
    }
    if (extra == 0) {
        return;
    }
    br_adjustment *list = br_arena_calloc(br_slo_set_arena(c->s), d->n_adjustments + extra + 1,
                                          sizeof(*list));
    size_t n = 0;
    for (size_t k = 0; k < d->n_adjustments; k++) {
        list[n++] = d->adjustments[k];
    }
    for (size_t i = 0; i < c->n_file_adj; i++) {
        if (sel[i]) {
            list[n++] = *c->file_adj[i].a;
        }
    }
    d->adjustments = list;
    d->n_adjustments = n;
}

/* `composite: [{slo, weight}]`: components, and the RAW template over
 * their recorded error ratios. */
static int parse_composite(native_ctx *c, br_slo_def *d, br_yaml_node *n)
{
    static const char *const keys[] = {"slo", "weight", NULL};
    int rc = br_yaml_expect_seq(c->doc, n, "composite", c->err);
    size_t size = rc == 0 ? br_yaml_seq_size(n) : 0;
    if (rc == 0 && (size == 0 || size > 64)) {
        rc = br_yaml_error(c->doc, n, c->err, BR_EINVAL,
                           "composite must list 1 to 64 components ({slo: <id>, weight: n})");
    }
    if (rc != 0) {
        return rc;
    }
    br_composite_component *cs =
        br_arena_calloc(br_slo_set_arena(c->s), size + 1, sizeof(*cs));
    for (size_t i = 0; i < size; i++) {
        br_yaml_node *item = br_yaml_seq_item(c->doc, n, i);
        rc = br_yaml_expect_map(c->doc, item, "composite[]", c->err);
        if (rc == 0) {
            rc = br_yaml_check_keys(c->doc, item, "a composite component", keys, c->err);
        }
        if (rc == 0) {
            rc = br_slo_yaml_require(c->doc, item, "slo", "a composite component", c->err);
        }
        br_yaml_node *v = rc == 0 ? br_yaml_map_get(c->doc, item, "slo") : NULL;
        if (rc == 0) {
            rc = get_str(c, v, "slo", &cs[i].slo_id);
            cs[i].line = (int)v->start_mark.line + 1;
            cs[i].col = (int)v->start_mark.column + 1;
        }
        cs[i].weight = 1.0;
        br_yaml_node *w = rc == 0 ? br_yaml_map_get(c->doc, item, "weight") : NULL;
        if (w != NULL) {
            rc = br_yaml_get_double(c->doc, w, "weight", &cs[i].weight, c->err);
            if (rc == 0 && !(cs[i].weight > 0 && cs[i].weight <= 1e6)) {
                rc = br_yaml_error(c->doc, w, c->err, BR_EINVAL,
                                   "weight must be a number above 0 (at most 1e6)");
            }
        }
        for (size_t j = 0; rc == 0 && j < i; j++) {
            if (strcmp(cs[j].slo_id, cs[i].slo_id) == 0) {
                rc = br_yaml_error(c->doc, v, c->err, BR_EINVAL,
                                   "component \"%s\" is listed twice", cs[i].slo_id);
            }
        }
        if (rc != 0) {
            return rc;
        }
    }
    /* sum(w_i * err_i) / sum(w_i) over the components with a recorded
     * ratio: an absent component adds 0 to both sides. */
    br_buf q;
    br_buf_init(&q, 0);
    br_buf_puts(&q, "(");
    for (size_t i = 0; i < size; i++) {
        br_buf_printf(&q,
                      "%s((sum(slo:sli_error:ratio_rate{{.window}}{sloth_id=\"%s\"}) * %g) or "
                      "vector(0))",
                      i ? " + " : "", cs[i].slo_id, cs[i].weight);
    }
    br_buf_puts(&q, ") / (");
    for (size_t i = 0; i < size; i++) {
        br_buf_printf(&q,
                      "%s((count(slo:sli_error:ratio_rate{{.window}}{sloth_id=\"%s\"}) * 0 + "
                      "%g) or vector(0))",
                      i ? " + " : "", cs[i].slo_id, cs[i].weight);
    }
    br_buf_puts(&q, ")");
    d->sli.kind = BR_SLI_RAW;
    d->sli.query = br_slo_strdup(c->s, br_buf_str(&q));
    br_buf_free(&q);
    d->components = cs;
    d->n_components = size;
    return 0;
}

static int parse_replay(native_ctx *c, br_slo_def *d, br_yaml_node *n)
{
    static const char *const keys[] = {"step", "max", NULL};
    const char *t = br_yaml_scalar(n);
    if (t != NULL) {
        bool on = false;
        int rc = br_yaml_get_bool(c->doc, n, "replay", &on, c->err);
        if (rc == 0) {
            d->replay_max_ms = on ? BR_REPLAY_ON : 0;
        }
        return rc;
    }
    int rc = br_yaml_expect_map(c->doc, n, "replay", c->err);
    if (rc == 0) {
        rc = br_yaml_check_keys(c->doc, n, "replay", keys, c->err);
    }
    br_yaml_node *v = rc == 0 ? br_yaml_map_get(c->doc, n, "step") : NULL;
    if (v != NULL) {
        rc = br_yaml_get_duration(c->doc, v, "replay.step", false, &d->replay_step_ms, c->err);
    }
    v = rc == 0 ? br_yaml_map_get(c->doc, n, "max") : NULL;
    if (v != NULL) {
        rc = br_yaml_get_duration(c->doc, v, "replay.max", true, &d->replay_max_ms, c->err);
    } else if (rc == 0) {
        d->replay_max_ms = BR_REPLAY_ON;
    }
    return rc;
}

/* -------------------------------------------------------------------- SLOs */

static int parse_enum(native_ctx *c, br_yaml_node *n, const char *key, const char *const *names,
                      int *out)
{
    const char *v = br_yaml_scalar(n);
    for (int i = 0; v != NULL && names[i] != NULL; i++) {
        if (strcmp(v, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    char list[128];
    size_t off = 0;
    list[0] = '\0';
    for (int i = 0; names[i] != NULL && off < sizeof(list); i++) {
        off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "", names[i]);
    }
    return br_yaml_error(c->doc, n, c->err, BR_EINVAL, "\"%s\" must be one of %s, got \"%s\"", key,
                         list, v ? v : "a non-scalar");
}

/* Applies every key of n but `sli` to d. */
static int apply_keys(native_ctx *c, br_slo_def *d, br_yaml_node *n)
{
    static const char *const budgeting[] = {"occurrences", "timeslices", "ratio_timeslices", NULL};
    static const char *const no_data[] = {"skip", "good", "bad", NULL};
    int rc = 0;
    size_t size = br_yaml_map_size(n);
    for (size_t i = 0; i < size && rc == 0; i++) {
        br_yaml_node *v = NULL;
        const char *k = br_yaml_map_key(c->doc, n, i, NULL, &v);
        if (strcmp(k, "service") == 0) {
            rc = get_str(c, v, "service", &d->service);
        } else if (strcmp(k, "name") == 0) {
            rc = get_str(c, v, "name", &d->name);
        } else if (strcmp(k, "description") == 0) {
            rc = get_str(c, v, "description", &d->description);
        } else if (strcmp(k, "objective") == 0) {
            const char *t = br_yaml_scalar(v);
            if (t == NULL || br_slo_parse_objective(t, &d->objective) != 0) {
                rc = br_yaml_error(c->doc, v, c->err, BR_EINVAL,
                                   "objective must be a percentage like 99.9%% or 99.9, or a "
                                   "ratio like 0.999, strictly between 0 and 100%%; got \"%s\"",
                                   t ? t : "a non-scalar");
            }
        } else if (strcmp(k, "labels") == 0) {
            rc = br_slo_yaml_kv(c->s, c->doc, v, "labels", true, &d->labels, &d->n_labels, c->err);
        } else if (strcmp(k, "period") == 0) {
            rc = parse_period(c, d, v);
        } else if (strcmp(k, "budgeting") == 0) {
            int b = 0;
            rc = parse_enum(c, v, "budgeting", budgeting, &b);
            d->budgeting = (br_budgeting)b;
        } else if (strcmp(k, "time_slice") == 0) {
            rc = br_yaml_get_duration(c->doc, v, "time_slice", false, &d->slice_ms, c->err);
        } else if (strcmp(k, "slice_target") == 0) {
            rc = get_share(c, v, "slice_target", &d->slice_target);
        } else if (strcmp(k, "no_data") == 0) {
            int nd = 0;
            rc = parse_enum(c, v, "no_data", no_data, &nd);
            d->no_data = (br_no_data)nd;
        } else if (strcmp(k, "grouping") == 0) {
            rc = br_slo_yaml_label_list(c->s, c->doc, v, "grouping", &d->grouping, &d->n_grouping,
                                        c->err);
        } else if (strcmp(k, "alerting") == 0) {
            rc = parse_alerting(c, d, v);
        } else if (strcmp(k, "policy") == 0) {
            rc = parse_policy(c, d, v);
        } else if (strcmp(k, "adjustments") == 0) {
            rc = parse_slo_adjustments(c, d, v);
        } else if (strcmp(k, "replay") == 0) {
            rc = parse_replay(c, d, v);
        }
    }
    return rc;
}

static int load_slo(native_ctx *c, br_yaml_node *defaults, br_yaml_node *n)
{
    int rc = br_yaml_expect_map(c->doc, n, "slos[]", c->err);
    if (rc == 0) {
        rc = br_yaml_check_keys(c->doc, n, "an SLO", slo_keys, c->err);
    }
    if (rc == 0) {
        rc = br_slo_yaml_require(c->doc, n, "name", "an SLO", c->err);
    }
    br_yaml_node *composite = rc == 0 ? br_yaml_map_get(c->doc, n, "composite") : NULL;
    if (rc == 0 && composite != NULL && br_yaml_map_get(c->doc, n, "sli") != NULL) {
        rc = br_yaml_error(c->doc, composite, c->err, BR_EINVAL,
                           "an SLO has either \"sli\" or \"composite\", not both");
    }
    if (rc == 0 && composite == NULL) {
        rc = br_slo_yaml_require(c->doc, n, "sli", "an SLO", c->err);
    }
    if (rc != 0) {
        return rc;
    }
    br_slo_def *d = br_slo_def_new(c->s);
    d->format = BR_SLO_FORMAT_BURNRATE;
    d->file = br_slo_strdup(c->s, c->doc->file);
    d->line = (int)n->start_mark.line + 1;
    c->tiers_explicit = false;
    if (defaults != NULL) {
        rc = apply_keys(c, d, defaults);
    }
    if (rc == 0) {
        rc = apply_keys(c, d, n);
    }
    if (rc == 0 && d->service == NULL) {
        rc = br_yaml_error(c->doc, n, c->err, BR_EINVAL,
                           "an SLO: missing required key \"service\" (here or in defaults)");
    }
    if (rc == 0 && isnan(d->objective)) {
        rc = br_yaml_error(c->doc, n, c->err, BR_EINVAL,
                           "an SLO: missing required key \"objective\" (here or in defaults)");
    }
    if (rc == 0 && composite != NULL) {
        rc = parse_composite(c, d, composite);
    } else if (rc == 0) {
        rc = parse_sli(c, d, br_yaml_map_get(c->doc, n, "sli"));
    }
    if (rc != 0) {
        return rc;
    }
    if (d->id == NULL && d->name != NULL) {
        d->id = br_slo_make_id(c->s, d->service, d->name);
    }
    if (d->id != NULL) {
        add_selected_adjustments(c, d);
    }
    if (d->alerting.name == NULL) {
        d->alerting.name = br_slo_default_alert_name(c->s, d->service, d->name);
    }
    return br_slo_set_add(c->s, d, c->tiers_explicit, c->err);
}

int br_slo_load_native(br_slo_set *s, br_yaml_doc *doc, br_yaml_node *root, br_err *err)
{
    native_ctx c = {.s = s, .doc = doc, .err = err, .tiers_explicit = false};
    static const char *const keys[] = {"slos", "defaults", "adjustments", NULL};
    if (br_yaml_map_get(doc, root, "service") != NULL &&
        br_yaml_map_get(doc, root, "slos") != NULL) {
        return br_yaml_error(doc, root, err, BR_EINVAL,
                             "this looks like a Sloth file without \"version: prometheus/v1\"; "
                             "add it, or use burnrate's format (slos: with service per SLO)");
    }
    int rc = br_yaml_check_keys(doc, root, "an SLO file", keys, err);
    if (rc == 0) {
        rc = br_slo_yaml_require(doc, root, "slos", "an SLO file", err);
    }
    br_yaml_node *defaults = br_yaml_map_get(doc, root, "defaults");
    if (rc == 0 && br_slo_yaml_null(defaults)) {
        defaults = NULL;
    }
    if (rc == 0 && defaults != NULL) {
        rc = br_yaml_expect_map(doc, defaults, "defaults", err);
        if (rc == 0) {
            rc = br_yaml_check_keys(doc, defaults, "defaults", default_keys, err);
        }
    }
    br_yaml_node *adj = rc == 0 ? br_yaml_map_get(doc, root, "adjustments") : NULL;
    if (rc == 0 && adj != NULL && !br_slo_yaml_null(adj)) {
        rc = parse_file_adjustments(&c, adj);
    }
    br_yaml_node *slos = rc == 0 ? br_yaml_map_get(doc, root, "slos") : NULL;
    if (rc == 0) {
        rc = br_yaml_expect_seq(doc, slos, "slos", err);
    }
    size_t size = rc == 0 ? br_yaml_seq_size(slos) : 0;
    for (size_t i = 0; i < size && rc == 0; i++) {
        rc = load_slo(&c, defaults, br_yaml_seq_item(doc, slos, i));
    }
    return rc;
}
