/*
 * slo_openslo.c — OpenSLO v1 objects → br_slo_def records.
 *
 * OpenSLO objects reference each other by metadata.name (an SLO names its
 * SLI with indicatorRef and its alert policies, a policy names its
 * conditions), so slo_load.c hands over every openslo/ document of a file
 * at once. A document is one object or a list of objects (both shapes
 * appear in the OpenSLO repository). Objects are collected first, then
 * every SLO is turned into definitions; references resolve within the
 * file only.
 *
 * Kinds: SLO (→ definitions), SLI, AlertPolicy, AlertCondition (→ alert
 * tiers), Service (its displayName/description describe SLOs that have no
 * description), AlertNotificationTarget and DataSource (accepted; a
 * DataSource named by metricSourceRef must be of type Prometheus).
 *
 * Mapping of an SLO:
 *   service, description             → service, description
 *   metadata.labels                  → labels (list values joined by ",",
 *                                      keys made valid label names)
 *   timeWindow[0] {duration, isRolling: true}   → rolling period
 *   timeWindow[0] {duration, calendar: {startTime, timeZone}} → calendar
 *       period, unit and count from the duration (1w, 2w, 1M, 1Q, 1Y, 7d);
 *       startTime (a local midnight) anchors the periods: they begin then
 *       and every duration after (without it: ISO weeks, the 1st of months)
 *   budgetingMethod Occurrences | Timeslices | RatioTimeslices
 *   objectives[]: target or targetPercent → objective; timeSliceTarget,
 *       timeSliceWindow (a number is minutes) → slice_target, slice_ms;
 *       op/value for threshold metrics. Several objectives give one
 *       definition each, named <slo>-<displayName> (or <slo>-<index>).
 *   SLI ratioMetric {counter, good | bad, total}: each query is a
 *       {{.window}} template (classified by br_slo_template_simplify) or,
 *       with counter: true, a counter selector or sum by (...) (selector);
 *       raw + rawType success|failure → RAW (success: 1 - query)
 *   SLI thresholdMetric → THRESHOLD with the objective's op and value
 *   alertPolicies (names, {alertPolicyRef}, or inline AlertPolicy) →
 *       tiers, one per burnrate condition (at most 4): long window =
 *       lookbackWindow, short = long / 12, factor = threshold, for =
 *       alertAfter, severity page when the condition's severity is page or
 *       critical (any case), else ticket. Without policies: the workbook's.
 *
 * Threads: called by the loading thread only.
 */
#include "slo.h"

#include "engine/core/alloc.h"
#include "engine/core/buf.h"
#include "engine/core/clock.h"
#include "slo_template.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DAY_MS (24LL * 3600 * 1000)

typedef struct os_obj {
    br_yaml_doc *doc;
    br_yaml_node *node;
    const char *kind;
    const char *name;
    br_yaml_node *meta;
    br_yaml_node *spec;
} os_obj;

typedef struct os_ctx {
    br_slo_set *s;
    br_err *err;
    os_obj *objs;
    size_t n;
    size_t cap;
} os_ctx;

static const char *const kinds[] = {
    "SLO",     "SLI",        "AlertPolicy", "AlertCondition", "AlertNotificationTarget",
    "Service", "DataSource", NULL};

/* -------------------------------------------------------------- collecting */

static const os_obj *find(const os_ctx *c, const char *kind, const char *name)
{
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->objs[i].kind, kind) == 0 && strcmp(c->objs[i].name, name) == 0) {
            return &c->objs[i];
        }
    }
    return NULL;
}

static int check_map(br_yaml_doc *doc, br_yaml_node *n, const char *what, const char *const *keys,
                     br_err *err)
{
    int rc = br_yaml_expect_map(doc, n, what, err);
    if (rc == 0) {
        rc = br_yaml_check_keys(doc, n, what, keys, err);
    }
    return rc;
}

/* Reads metadata (name required) of an object or an inline object. */
static int read_meta(br_yaml_doc *doc, br_yaml_node *meta, const char *what, const char **name,
                     br_err *err)
{
    static const char *const keys[] = {"name", "displayName", "labels", "annotations", NULL};
    int rc = check_map(doc, meta, what, keys, err);
    if (rc == 0) {
        rc = br_slo_yaml_require(doc, meta, "name", what, err);
    }
    if (rc == 0) {
        rc =
            br_yaml_get_string(doc, br_yaml_map_get(doc, meta, "name"), "metadata.name", name, err);
    }
    return rc;
}

static int add_object(os_ctx *c, br_yaml_doc *doc, br_yaml_node *n)
{
    static const char *const keys[] = {"apiVersion", "kind", "metadata", "spec", NULL};
    int rc = check_map(doc, n, "an OpenSLO object", keys, c->err);
    if (rc == 0) {
        rc = br_slo_yaml_require(doc, n, "apiVersion", "an OpenSLO object", c->err);
    }
    if (rc == 0) {
        rc = br_slo_yaml_require(doc, n, "kind", "an OpenSLO object", c->err);
    }
    if (rc == 0) {
        rc = br_slo_yaml_require(doc, n, "metadata", "an OpenSLO object", c->err);
    }
    if (rc != 0) {
        return rc;
    }
    br_yaml_node *an = br_yaml_map_get(doc, n, "apiVersion");
    const char *api = br_yaml_scalar(an);
    if (api == NULL || strcmp(api, "openslo/v1") != 0) {
        return br_yaml_error(doc, an, c->err, BR_EUNSUPPORTED,
                             "unsupported OpenSLO apiVersion \"%s\"; burnrate reads openslo/v1",
                             api ? api : "a non-scalar");
    }
    br_yaml_node *kn = br_yaml_map_get(doc, n, "kind");
    const char *kind = br_yaml_scalar(kn);
    const char *known = NULL;
    for (size_t i = 0; kind != NULL && kinds[i] != NULL; i++) {
        if (strcmp(kind, kinds[i]) == 0) {
            known = kinds[i];
        }
    }
    if (known == NULL) {
        return br_yaml_error(doc, kn, c->err, BR_EUNSUPPORTED,
                             "unsupported OpenSLO kind \"%s\"; expected SLO, SLI, AlertPolicy, "
                             "AlertCondition, AlertNotificationTarget, Service or DataSource",
                             kind ? kind : "a non-scalar");
    }
    os_obj o = {.doc = doc, .node = n, .kind = known};
    o.meta = br_yaml_map_get(doc, n, "metadata");
    o.spec = br_yaml_map_get(doc, n, "spec");
    rc = read_meta(doc, o.meta, "metadata", &o.name, c->err);
    if (rc != 0) {
        return rc;
    }
    if (find(c, o.kind, o.name) != NULL) {
        return br_yaml_error(doc, n, c->err, BR_EINVAL, "%s \"%s\" is defined twice in this file",
                             o.kind, o.name);
    }
    if (strcmp(known, "SLO") == 0 || strcmp(known, "SLI") == 0 ||
        strcmp(known, "AlertPolicy") == 0 || strcmp(known, "AlertCondition") == 0) {
        rc = br_slo_yaml_require(doc, n, "spec", known, c->err);
        if (rc == 0) {
            rc = br_yaml_expect_map(doc, o.spec, "spec", c->err);
        }
        if (rc != 0) {
            return rc;
        }
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->objs = br_realloc(c->objs, c->cap * sizeof(*c->objs));
    }
    c->objs[c->n++] = o;
    return 0;
}

static int collect(os_ctx *c, br_yaml_doc *doc)
{
    br_yaml_node *root = br_yaml_root(doc);
    if (root == NULL) {
        return 0;
    }
    if (br_yaml_is_seq(root)) {
        size_t n = br_yaml_seq_size(root);
        for (size_t i = 0; i < n; i++) {
            int rc = add_object(c, doc, br_yaml_seq_item(doc, root, i));
            if (rc != 0) {
                return rc;
            }
        }
        return 0;
    }
    return add_object(c, doc, root);
}

/* ------------------------------------------------------------- small values */

/* OpenSLO's duration shorthand (12h, 4w, 1M, 1Q, 1Y); Prometheus durations
 * are accepted too. Sets *count and *unit to the number and unit letter
 * (unit 0 for a Prometheus duration). */
static int parse_shorthand(const char *text, int64_t *ms, long *count, char *unit)
{
    if (text == NULL || !isdigit((unsigned char)text[0])) {
        return BR_EINVAL;
    }
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (v > 0 && v < 100000 && end[0] != '\0' && end[1] == '\0') {
        int64_t per = 0;
        switch (end[0]) {
        case 'm':
            per = 60LL * 1000;
            break;
        case 'h':
            per = 3600LL * 1000;
            break;
        case 'd':
            per = DAY_MS;
            break;
        case 'w':
            per = 7 * DAY_MS;
            break;
        case 'M':
            per = 30 * DAY_MS;
            break;
        case 'Q':
            per = 90 * DAY_MS;
            break;
        case 'Y':
            per = 365 * DAY_MS;
            break;
        default:
            break;
        }
        if (per > 0) {
            *ms = per * v;
            *count = v;
            *unit = end[0];
            return 0;
        }
    }
    *unit = 0;
    *count = 0;
    return br_parse_duration(text, ms) == 0 && *ms > 0 ? 0 : BR_EINVAL;
}

static int get_shorthand(br_yaml_doc *doc, br_yaml_node *n, const char *what, int64_t *ms,
                         br_err *err)
{
    long count = 0;
    char unit = 0;
    const char *v = br_yaml_scalar(n);
    if (parse_shorthand(v, ms, &count, &unit) != 0) {
        return br_yaml_error(doc, n, err, BR_EINVAL,
                             "%s must be a duration like 5m, 1h, 28d, 4w or 1M, got \"%s\"", what,
                             v ? v : "a non-scalar");
    }
    return 0;
}

static int get_number(br_yaml_doc *doc, br_yaml_node *n, const char *what, double *out, br_err *err)
{
    return br_yaml_get_double(doc, n, what, out, err);
}

/* ------------------------------------------------------------------- SLIs */

/* Reads {metricSource: {metricSourceRef, type, spec: {query}}}. */
static int metric_query(os_ctx *c, br_yaml_doc *doc, br_yaml_node *n, const char *what,
                        br_yaml_node **qnode, const char **query)
{
    static const char *const keys[] = {"metricSource", NULL};
    static const char *const src_keys[] = {"metricSourceRef", "type", "spec", NULL};
    char sub[96];
    snprintf(sub, sizeof(sub), "%s.metricSource", what);
    int rc = check_map(doc, n, what, keys, c->err);
    if (rc == 0) {
        rc = br_slo_yaml_require(doc, n, "metricSource", what, c->err);
    }
    br_yaml_node *src = rc == 0 ? br_yaml_map_get(doc, n, "metricSource") : NULL;
    if (rc == 0) {
        rc = check_map(doc, src, sub, src_keys, c->err);
    }
    if (rc == 0) {
        rc = br_slo_yaml_require(doc, src, "spec", sub, c->err);
    }
    if (rc != 0) {
        return rc;
    }
    br_yaml_node *tn = br_yaml_map_get(doc, src, "type");
    const char *type = br_yaml_scalar(tn);
    br_yaml_node *rn = br_yaml_map_get(doc, src, "metricSourceRef");
    const char *ref = br_yaml_scalar(rn);
    if (type == NULL && ref != NULL) {
        const os_obj *ds = find(c, "DataSource", ref);
        if (ds != NULL) {
            tn = br_yaml_map_get(ds->doc, ds->spec, "type");
            type = br_yaml_scalar(tn);
            if (type != NULL && strcasecmp(type, "prometheus") != 0) {
                return br_yaml_error(doc, rn, c->err, BR_EUNSUPPORTED,
                                     "%s: DataSource \"%s\" is of type %s; burnrate reads "
                                     "Prometheus sources only",
                                     sub, ref, type);
            }
        }
    } else if (type != NULL && strcasecmp(type, "prometheus") != 0) {
        return br_yaml_error(doc, tn, c->err, BR_EUNSUPPORTED,
                             "%s.type is %s; burnrate reads Prometheus sources only", sub, type);
    }
    br_yaml_node *spec = br_yaml_map_get(doc, src, "spec");
    snprintf(sub, sizeof(sub), "%s.metricSource.spec", what);
    rc = br_yaml_expect_map(doc, spec, sub, c->err);
    if (rc == 0) {
        rc = br_slo_yaml_require(doc, spec, "query", sub, c->err);
    }
    if (rc == 0) {
        *qnode = br_yaml_map_get(doc, spec, "query");
        rc = br_yaml_get_string(doc, *qnode, "query", query, c->err);
    }
    if (rc == 0 && (*query)[0] == '\0') {
        rc = br_yaml_error(doc, *qnode, c->err, BR_EINVAL, "%s.query must not be empty", sub);
    }
    return rc;
}

/* One side (good, bad, total) of a ratioMetric. */
static int ratio_side(os_ctx *c, br_yaml_doc *doc, br_yaml_node *n, const char *what, bool counter,
                      br_event_source *out, const char ***by, size_t *n_by)
{
    br_yaml_node *qn = NULL;
    const char *q = NULL;
    int rc = metric_query(c, doc, n, what, &qn, &q);
    if (rc != 0) {
        return rc;
    }
    br_err inner;
    br_err_clear(&inner);
    br_arena *a = br_slo_set_arena(c->s);
    if (br_slo_template_has_window(q)) {
        rc = br_slo_template_simplify(a, q, out, by, n_by, &inner);
    } else if (counter) {
        rc = br_slo_counter_source(a, q, true, out, by, n_by, &inner);
    } else {
        return br_yaml_error(doc, qn, c->err, BR_EINVAL,
                             "%s: with counter: false the query must be a template with "
                             "{{.window}} giving events per second, e.g. "
                             "sum(rate(x[{{.window}}])); with counter: true it may be a counter "
                             "selector",
                             what);
    }
    if (rc != 0) {
        return br_slo_yaml_wrap(doc, qn, what, &inner, c->err);
    }
    return 0;
}

static int parse_ratio(os_ctx *c, br_yaml_doc *doc, br_yaml_node *n, br_slo_def *d)
{
    static const char *const keys[] = {"counter", "good", "bad", "total", "rawType", "raw", NULL};
    int rc = check_map(doc, n, "ratioMetric", keys, c->err);
    if (rc != 0) {
        return rc;
    }
    br_yaml_node *good = br_yaml_map_get(doc, n, "good");
    br_yaml_node *bad = br_yaml_map_get(doc, n, "bad");
    br_yaml_node *total = br_yaml_map_get(doc, n, "total");
    br_yaml_node *raw = br_yaml_map_get(doc, n, "raw");
    if (raw != NULL) {
        if (good != NULL || bad != NULL || total != NULL) {
            return br_yaml_error(doc, raw, c->err, BR_EINVAL,
                                 "ratioMetric: raw cannot be combined with good, bad or total");
        }
        br_yaml_node *tn = br_yaml_map_get(doc, n, "rawType");
        const char *type = br_yaml_scalar(tn);
        if (type == NULL || (strcmp(type, "success") != 0 && strcmp(type, "failure") != 0)) {
            return br_yaml_error(doc, tn != NULL ? tn : n, c->err, BR_EINVAL,
                                 "ratioMetric.rawType must be success or failure with raw, got "
                                 "\"%s\"",
                                 type ? type : "nothing");
        }
        br_yaml_node *qn = NULL;
        const char *q = NULL;
        rc = metric_query(c, doc, raw, "ratioMetric.raw", &qn, &q);
        if (rc != 0) {
            return rc;
        }
        br_err inner;
        br_err_clear(&inner);
        if (br_slo_template_check(q, true, &inner) != 0) {
            return br_slo_yaml_wrap(doc, qn, "ratioMetric.raw", &inner, c->err);
        }
        d->sli.kind = BR_SLI_RAW;
        d->sli.query = strcmp(type, "failure") == 0
                           ? br_slo_strdup(c->s, q)
                           : br_arena_printf(br_slo_set_arena(c->s), "1 - (%s)", q);
        return 0;
    }
    if (good != NULL && bad != NULL) {
        return br_yaml_error(doc, bad, c->err, BR_EINVAL,
                             "ratioMetric: give good or bad, not both");
    }
    if ((good == NULL && bad == NULL) || total == NULL) {
        return br_yaml_error(doc, n, c->err, BR_EINVAL,
                             "ratioMetric needs good (or bad) and total, or raw with rawType");
    }
    bool counter = false;
    br_yaml_node *cn = br_yaml_map_get(doc, n, "counter");
    if (cn != NULL) {
        rc = br_yaml_get_bool(doc, cn, "ratioMetric.counter", &counter, c->err);
        if (rc != 0) {
            return rc;
        }
    }
    const char **by_num = NULL;
    const char **by_total = NULL;
    size_t n_num = 0;
    size_t n_total = 0;
    br_event_source *num = good != NULL ? &d->sli.good : &d->sli.bad;
    rc = ratio_side(c, doc, good != NULL ? good : bad,
                    good != NULL ? "ratioMetric.good" : "ratioMetric.bad", counter, num, &by_num,
                    &n_num);
    if (rc == 0) {
        rc = ratio_side(c, doc, total, "ratioMetric.total", counter, &d->sli.total, &by_total,
                        &n_total);
    }
    if (rc != 0) {
        return rc;
    }
    const char *problem =
        br_slo_apply_by_labels(d, num, by_num, n_num, &d->sli.total, by_total, n_total);
    if (problem != NULL) {
        return br_yaml_error(doc, total, c->err, BR_EINVAL, "ratioMetric: %s", problem);
    }
    d->sli.kind = BR_SLI_EVENTS;
    return 0;
}

/* The objective's op/value, for threshold metrics. */
typedef struct os_threshold {
    br_yaml_doc *doc;
    br_yaml_node *objective;
    br_yaml_node *op;
    br_yaml_node *value;
} os_threshold;

static int parse_sli_spec(os_ctx *c, br_yaml_doc *doc, br_yaml_node *spec, br_slo_def *d,
                          const os_threshold *th)
{
    static const char *const keys[] = {"description", "thresholdMetric", "ratioMetric", NULL};
    int rc = check_map(doc, spec, "SLI spec", keys, c->err);
    if (rc != 0) {
        return rc;
    }
    br_yaml_node *ratio = br_yaml_map_get(doc, spec, "ratioMetric");
    br_yaml_node *thr = br_yaml_map_get(doc, spec, "thresholdMetric");
    if ((ratio == NULL) == (thr == NULL)) {
        return br_yaml_error(doc, spec, c->err, BR_EINVAL,
                             "SLI spec: give exactly one of ratioMetric, thresholdMetric");
    }
    if (ratio != NULL) {
        return parse_ratio(c, doc, ratio, d);
    }
    br_yaml_node *qn = NULL;
    const char *q = NULL;
    rc = metric_query(c, doc, thr, "thresholdMetric", &qn, &q);
    if (rc != 0) {
        return rc;
    }
    br_err inner;
    br_err_clear(&inner);
    if (br_slo_template_check(q, false, &inner) != 0) {
        return br_slo_yaml_wrap(doc, qn, "thresholdMetric", &inner, c->err);
    }
    if (th->op == NULL || th->value == NULL) {
        return br_yaml_error(th->doc, th->objective, c->err, BR_EINVAL,
                             "objectives[]: a thresholdMetric SLI needs op (lt, lte, gt, gte) "
                             "and value in the objective");
    }
    const char *op = br_yaml_scalar(th->op);
    if (op == NULL || br_slo_parse_op(op, &d->sli.op) != 0) {
        return br_yaml_error(th->doc, th->op, c->err, BR_EINVAL,
                             "objectives[].op must be one of lt, lte, gt, gte, got \"%s\"",
                             op ? op : "a non-scalar");
    }
    rc = get_number(th->doc, th->value, "objectives[].value", &d->sli.threshold, c->err);
    if (rc != 0) {
        return rc;
    }
    d->sli.kind = BR_SLI_THRESHOLD;
    d->sli.query = br_slo_strdup(c->s, q);
    return 0;
}

/* Resolves an inline indicator ({metadata, spec}) or an indicatorRef. */
static int parse_indicator(os_ctx *c, br_yaml_doc *doc, br_yaml_node *inline_ind, br_yaml_node *ref,
                           br_slo_def *d, const os_threshold *th)
{
    if (inline_ind != NULL) {
        static const char *const keys[] = {"apiVersion", "kind", "metadata", "spec", NULL};
        int rc = check_map(doc, inline_ind, "indicator", keys, c->err);
        if (rc == 0) {
            rc = br_slo_yaml_require(doc, inline_ind, "spec", "indicator", c->err);
        }
        br_yaml_node *meta = br_yaml_map_get(doc, inline_ind, "metadata");
        if (rc == 0 && meta != NULL) {
            const char *name = NULL;
            rc = read_meta(doc, meta, "indicator.metadata", &name, c->err);
        }
        if (rc != 0) {
            return rc;
        }
        return parse_sli_spec(c, doc, br_yaml_map_get(doc, inline_ind, "spec"), d, th);
    }
    const char *name = br_yaml_scalar(ref);
    const os_obj *sli = name != NULL ? find(c, "SLI", name) : NULL;
    if (sli == NULL) {
        return br_yaml_error(doc, ref, c->err, BR_ENOTFOUND,
                             "indicatorRef: no SLI named \"%s\" in this file",
                             name ? name : "(not a string)");
    }
    return parse_sli_spec(c, sli->doc, sli->spec, d, th);
}

/* ------------------------------------------------------------------ alerts */

static int condition_tier(os_ctx *c, br_yaml_doc *doc, const char *name, br_yaml_node *spec,
                          br_burn_tier *t)
{
    static const char *const keys[] = {"description", "severity", "condition", NULL};
    static const char *const ckeys[] = {"kind",           "op",         "threshold",
                                        "lookbackWindow", "alertAfter", NULL};
    int rc = check_map(doc, spec, "AlertCondition spec", keys, c->err);
    if (rc == 0) {
        rc = br_slo_yaml_require(doc, spec, "condition", "AlertCondition spec", c->err);
    }
    br_yaml_node *cond = rc == 0 ? br_yaml_map_get(doc, spec, "condition") : NULL;
    if (rc == 0) {
        rc = check_map(doc, cond, "condition", ckeys, c->err);
    }
    if (rc == 0) {
        rc = br_slo_yaml_require(doc, cond, "threshold", "condition", c->err);
    }
    if (rc == 0) {
        rc = br_slo_yaml_require(doc, cond, "lookbackWindow", "condition", c->err);
    }
    if (rc != 0) {
        return rc;
    }
    br_yaml_node *kn = br_yaml_map_get(doc, cond, "kind");
    const char *kind = kn != NULL ? br_yaml_scalar(kn) : "burnrate";
    if (kind == NULL || strcmp(kind, "burnrate") != 0) {
        return br_yaml_error(doc, kn, c->err, BR_EUNSUPPORTED,
                             "condition.kind \"%s\" is not supported; expected burnrate",
                             kind ? kind : "a non-scalar");
    }
    br_yaml_node *on = br_yaml_map_get(doc, cond, "op");
    const char *op = on != NULL ? br_yaml_scalar(on) : "gte";
    if (op == NULL || (strcmp(op, "gte") != 0 && strcmp(op, "gt") != 0)) {
        return br_yaml_error(doc, on, c->err, BR_EUNSUPPORTED,
                             "condition.op \"%s\" is not supported; a burn-rate alert fires when "
                             "the rate is above the threshold (gt or gte)",
                             op ? op : "a non-scalar");
    }
    memset(t, 0, sizeof(*t));
    t->name = br_slo_strdup(c->s, name);
    rc = get_number(doc, br_yaml_map_get(doc, cond, "threshold"), "condition.threshold", &t->factor,
                    c->err);
    if (rc == 0 && !(t->factor > 0)) {
        rc = br_yaml_error(doc, br_yaml_map_get(doc, cond, "threshold"), c->err, BR_EINVAL,
                           "condition.threshold must be a burn rate above 0");
    }
    if (rc == 0) {
        rc = get_shorthand(doc, br_yaml_map_get(doc, cond, "lookbackWindow"),
                           "condition.lookbackWindow", &t->long_window_ms, c->err);
    }
    br_yaml_node *after = br_yaml_map_get(doc, cond, "alertAfter");
    if (rc == 0 && after != NULL) {
        const char *v = br_yaml_scalar(after);
        if (v != NULL && (strcmp(v, "0") == 0 || strcmp(v, "0m") == 0 || strcmp(v, "0s") == 0)) {
            t->for_ms = 0;
        } else {
            rc = get_shorthand(doc, after, "condition.alertAfter", &t->for_ms, c->err);
        }
    }
    if (rc != 0) {
        return rc;
    }
    t->short_window_ms = t->long_window_ms / 12;
    if (t->short_window_ms < 1000) {
        t->short_window_ms = 1000;
    }
    const char *sev = br_yaml_scalar(br_yaml_map_get(doc, spec, "severity"));
    bool page = sev != NULL && (strcasecmp(sev, "page") == 0 || strcasecmp(sev, "critical") == 0);
    t->severity = page ? "page" : "ticket";
    return 0;
}

static int add_tier(os_ctx *c, br_yaml_doc *doc, br_yaml_node *at, br_slo_def *d,
                    const br_burn_tier *t)
{
    if (d->alerting.n_tiers == 4) {
        return br_yaml_error(doc, at, c->err, BR_ELIMIT,
                             "alertPolicies: at most 4 burn-rate conditions per SLO");
    }
    for (size_t i = 0; i < d->alerting.n_tiers; i++) {
        if (strcmp(d->alerting.tiers[i].name, t->name) == 0) {
            return br_yaml_error(doc, at, c->err, BR_EINVAL,
                                 "alertPolicies: condition \"%s\" is used twice", t->name);
        }
    }
    d->alerting.tiers[d->alerting.n_tiers++] = *t;
    return 0;
}

static int policy_tiers(os_ctx *c, br_yaml_doc *doc, br_yaml_node *spec, br_slo_def *d)
{
    static const char *const keys[] = {"description",
                                       "alertWhenNoData",
                                       "alertWhenResolved",
                                       "alertWhenBreaching",
                                       "conditions",
                                       "notificationTargets",
                                       NULL};
    int rc = check_map(doc, spec, "AlertPolicy spec", keys, c->err);
    if (rc == 0) {
        rc = br_slo_yaml_require(doc, spec, "conditions", "AlertPolicy spec", c->err);
    }
    br_yaml_node *conds = rc == 0 ? br_yaml_map_get(doc, spec, "conditions") : NULL;
    if (rc == 0) {
        rc = br_yaml_expect_seq(doc, conds, "conditions", c->err);
    }
    size_t n = rc == 0 ? br_yaml_seq_size(conds) : 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        br_yaml_node *item = br_yaml_seq_item(doc, conds, i);
        br_yaml_node *ref = br_yaml_map_get(doc, item, "conditionRef");
        br_burn_tier t;
        if (ref != NULL) {
            static const char *const rkeys[] = {"conditionRef", NULL};
            rc = check_map(doc, item, "conditions[]", rkeys, c->err);
            const char *name = br_yaml_scalar(ref);
            const os_obj *ac = name != NULL ? find(c, "AlertCondition", name) : NULL;
            if (rc == 0 && ac == NULL) {
                rc = br_yaml_error(doc, ref, c->err, BR_ENOTFOUND,
                                   "conditionRef: no AlertCondition named \"%s\" in this file",
                                   name ? name : "(not a string)");
            }
            if (rc == 0) {
                rc = condition_tier(c, ac->doc, ac->name, ac->spec, &t);
            }
        } else {
            static const char *const ikeys[] = {"apiVersion", "kind", "metadata", "spec", NULL};
            rc = check_map(doc, item, "conditions[]", ikeys, c->err);
            const char *name = NULL;
            if (rc == 0) {
                rc = br_slo_yaml_require(doc, item, "metadata", "an inline AlertCondition", c->err);
            }
            if (rc == 0) {
                rc = br_slo_yaml_require(doc, item, "spec", "an inline AlertCondition", c->err);
            }
            if (rc == 0) {
                rc = read_meta(doc, br_yaml_map_get(doc, item, "metadata"), "metadata", &name,
                               c->err);
            }
            if (rc == 0) {
                rc = condition_tier(c, doc, name, br_yaml_map_get(doc, item, "spec"), &t);
            }
        }
        if (rc == 0) {
            rc = add_tier(c, doc, item, d, &t);
        }
    }
    return rc;
}

/* Fills d's tiers from the SLO's alertPolicies (names, {alertPolicyRef}
 * or inline AlertPolicy objects); *explicit_tiers is set when any policy
 * is given. */
static int parse_alert_policies(os_ctx *c, br_yaml_doc *doc, br_yaml_node *n, br_slo_def *d,
                                bool *explicit_tiers)
{
    *explicit_tiers = false;
    if (br_slo_yaml_null(n)) {
        return 0;
    }
    int rc = br_yaml_expect_seq(doc, n, "alertPolicies", c->err);
    size_t size = rc == 0 ? br_yaml_seq_size(n) : 0;
    if (size > 0) {
        d->alerting.n_tiers = 0;
        *explicit_tiers = true;
    }
    for (size_t i = 0; i < size && rc == 0; i++) {
        br_yaml_node *item = br_yaml_seq_item(doc, n, i);
        const char *ref = br_yaml_scalar(item);
        br_yaml_node *ref_node = item;
        if (ref == NULL && br_yaml_is_map(item) &&
            br_yaml_map_get(doc, item, "alertPolicyRef") != NULL) {
            static const char *const rkeys[] = {"alertPolicyRef", NULL};
            rc = br_yaml_check_keys(doc, item, "alertPolicies[]", rkeys, c->err);
            ref_node = br_yaml_map_get(doc, item, "alertPolicyRef");
            ref = br_yaml_scalar(ref_node);
            if (rc == 0 && ref == NULL) {
                rc = br_yaml_error(doc, ref_node, c->err, BR_EINVAL,
                                   "alertPolicyRef must be a name");
            }
        }
        if (rc != 0) {
            break;
        }
        if (ref != NULL) {
            const os_obj *p = find(c, "AlertPolicy", ref);
            if (p == NULL) {
                rc = br_yaml_error(doc, ref_node, c->err, BR_ENOTFOUND,
                                   "alertPolicies: no AlertPolicy named \"%s\" in this file", ref);
            } else {
                rc = policy_tiers(c, p->doc, p->spec, d);
            }
            continue;
        }
        static const char *const ikeys[] = {"apiVersion", "kind", "metadata", "spec", NULL};
        rc = check_map(doc, item, "alertPolicies[]", ikeys, c->err);
        if (rc == 0) {
            rc = br_slo_yaml_require(doc, item, "spec", "an inline AlertPolicy", c->err);
        }
        if (rc == 0) {
            rc = br_yaml_expect_map(doc, br_yaml_map_get(doc, item, "spec"), "spec", c->err);
        }
        if (rc == 0) {
            rc = policy_tiers(c, doc, br_yaml_map_get(doc, item, "spec"), d);
        }
    }
    return rc;
}

/* -------------------------------------------------------------------- SLOs */

/* metadata.labels: values are strings or lists of strings (joined). */
static int parse_labels(os_ctx *c, br_yaml_doc *doc, br_yaml_node *n, br_slo_def *d)
{
    if (br_slo_yaml_null(n)) {
        return 0;
    }
    int rc = br_yaml_expect_map(doc, n, "metadata.labels", c->err);
    size_t size = rc == 0 ? br_yaml_map_size(n) : 0;
    for (size_t i = 0; i < size && rc == 0; i++) {
        br_yaml_node *kn = NULL;
        br_yaml_node *vn = NULL;
        const char *k = br_yaml_map_key(doc, n, i, &kn, &vn);
        if (k == NULL) {
            return br_yaml_error(doc, kn, c->err, BR_EPARSE,
                                 "metadata.labels: keys must be plain strings");
        }
        br_buf b;
        br_buf_init(&b, 4096);
        if (br_yaml_is_seq(vn)) {
            size_t m = br_yaml_seq_size(vn);
            for (size_t j = 0; j < m && rc == 0; j++) {
                const char *v = NULL;
                rc = br_yaml_get_string(doc, br_yaml_seq_item(doc, vn, j), k, &v, c->err);
                if (rc == 0 && br_buf_printf(&b, "%s%s", j ? "," : "", v) != 0) {
                    rc = br_yaml_error(doc, vn, c->err, BR_ELIMIT,
                                       "metadata.labels.%s: value too long", k);
                }
            }
        } else {
            const char *v = NULL;
            rc = br_yaml_get_string(doc, vn, k, &v, c->err);
            if (rc == 0 && br_buf_puts(&b, v) != 0) {
                rc = br_yaml_error(doc, vn, c->err, BR_ELIMIT, "metadata.labels.%s: value too long",
                                   k);
            }
        }
        if (rc == 0) {
            br_slo_kv_set(c->s, &d->labels, &d->n_labels, br_slo_sanitize_label_name(c->s, k),
                          br_buf_str(&b));
        }
        br_buf_free(&b);
    }
    return rc;
}

static int parse_time_window(os_ctx *c, br_yaml_doc *doc, br_yaml_node *n, br_slo_def *d)
{
    if (br_slo_yaml_null(n)) {
        return 0; /* the model's default: 30d rolling */
    }
    int rc = br_yaml_expect_seq(doc, n, "timeWindow", c->err);
    if (rc == 0 && br_yaml_seq_size(n) != 1) {
        rc = br_yaml_error(doc, n, c->err, BR_EINVAL,
                           "timeWindow must hold exactly one window, got %zu", br_yaml_seq_size(n));
    }
    br_yaml_node *w = rc == 0 ? br_yaml_seq_item(doc, n, 0) : NULL;
    static const char *const keys[] = {"duration", "isRolling", "calendar", NULL};
    if (rc == 0) {
        rc = check_map(doc, w, "timeWindow[]", keys, c->err);
    }
    if (rc == 0) {
        rc = br_slo_yaml_require(doc, w, "duration", "timeWindow[]", c->err);
    }
    if (rc != 0) {
        return rc;
    }
    br_yaml_node *dn = br_yaml_map_get(doc, w, "duration");
    const char *dv = br_yaml_scalar(dn);
    int64_t ms = 0;
    long count = 0;
    char unit = 0;
    if (parse_shorthand(dv, &ms, &count, &unit) != 0) {
        return br_yaml_error(doc, dn, c->err, BR_EINVAL,
                             "timeWindow[].duration must be a duration like 28d, 4w, 1M or 1Q, "
                             "got \"%s\"",
                             dv ? dv : "a non-scalar");
    }
    br_yaml_node *cal = br_yaml_map_get(doc, w, "calendar");
    br_yaml_node *rn = br_yaml_map_get(doc, w, "isRolling");
    bool rolling = br_slo_yaml_null(cal);
    if (rn != NULL) {
        rc = br_yaml_get_bool(doc, rn, "timeWindow[].isRolling", &rolling, c->err);
        if (rc != 0) {
            return rc;
        }
    }
    if (rolling && !br_slo_yaml_null(cal)) {
        return br_yaml_error(doc, rn, c->err, BR_EINVAL,
                             "timeWindow[]: a calendar window cannot be rolling");
    }
    if (rolling) {
        d->period.kind = BR_PERIOD_ROLLING;
        d->period.duration_ms = ms;
        return 0;
    }
    static const struct {
        char letter;
        br_calendar_unit unit;
    } units[] = {{'d', BR_CAL_DAY},
                 {'w', BR_CAL_WEEK},
                 {'M', BR_CAL_MONTH},
                 {'Q', BR_CAL_QUARTER},
                 {'Y', BR_CAL_YEAR}};
    size_t i = 0;
    while (i < sizeof(units) / sizeof(units[0]) && units[i].letter != unit) {
        i++;
    }
    if (i == sizeof(units) / sizeof(units[0])) {
        return br_yaml_error(doc, dn, c->err, BR_EINVAL,
                             "timeWindow[].duration of a calendar window must count days, weeks, "
                             "months, quarters or years (1d, 1w, 1M, 1Q, 1Y), got \"%s\"",
                             dv);
    }
    d->period.kind = BR_PERIOD_CALENDAR;
    d->period.unit = units[i].unit;
    d->period.count = (int)count;
    d->period.utc_offset_s = 0;
    d->period.time_zone = NULL;
    d->period.tz = NULL;
    if (!br_slo_yaml_null(cal)) {
        static const char *const ckeys[] = {"startTime", "timeZone", NULL};
        rc = check_map(doc, cal, "timeWindow[].calendar", ckeys, c->err);
        br_yaml_node *st = rc == 0 ? br_yaml_map_get(doc, cal, "startTime") : NULL;
        const char *sv = br_yaml_scalar(st);
        if (st != NULL) {
            if (br_slo_parse_anchor_date(sv, &d->period.anchor_day) != 0) {
                return br_yaml_error(doc, st, c->err, BR_EINVAL,
                                     "calendar.startTime must be a local midnight like "
                                     "2024-01-01 00:00:00 (periods begin then and every "
                                     "duration after), got \"%s\"",
                                     sv ? sv : "a non-scalar");
            }
            d->period.anchored = true;
        }
        br_yaml_node *tz = rc == 0 ? br_yaml_map_get(doc, cal, "timeZone") : NULL;
        if (tz != NULL) {
            const char *t = br_yaml_scalar(tz);
            if (t == NULL || br_slo_parse_time_zone(c->s, t, &d->period) != 0) {
                return br_yaml_error(doc, tz, c->err, BR_EINVAL,
                                     "calendar.timeZone must be an IANA name like "
                                     "America/New_York, UTC or an offset like +02:00, got \"%s\"",
                                     t ? t : "a non-scalar");
            }
            if (d->period.time_zone != NULL) {
                br_err inner;
                br_err_clear(&inner);
                if (br_slo_set_time_zone(c->s, d->period.time_zone, &d->period.tz, &inner) != 0) {
                    return br_slo_yaml_wrap(doc, tz, "calendar.timeZone", &inner, c->err);
                }
            }
        }
    }
    return rc;
}

/* "Good Latency" → "good-latency"; "" when nothing usable is left. */
static const char *name_suffix(br_slo_set *s, const char *display)
{
    size_t n = strlen(display);
    char *out = br_arena_alloc(br_slo_set_arena(s), n + 1);
    size_t o = 0;
    bool dash = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)display[i];
        if (ch < 128 && (isalnum(ch) || ch == '_' || ch == '.')) {
            if (dash && o > 0) {
                out[o++] = '-';
            }
            dash = false;
            out[o++] = (char)tolower(ch);
        } else {
            dash = true;
        }
    }
    out[o] = '\0';
    return out;
}

typedef struct slo_common {
    const char *service;
    const char *description;
    br_yaml_node *indicator;
    br_yaml_node *indicator_ref;
    br_budgeting budgeting;
} slo_common;

static int load_objective(os_ctx *c, const os_obj *slo, const slo_common *sc, br_yaml_node *obj,
                          size_t index, size_t count)
{
    br_yaml_doc *doc = slo->doc;
    static const char *const keys[] = {"displayName",
                                       "op",
                                       "value",
                                       "target",
                                       "targetPercent",
                                       "timeSliceTarget",
                                       "timeSliceWindow",
                                       "indicator",
                                       "indicatorRef",
                                       "compositeWeight",
                                       NULL};
    int rc = check_map(doc, obj, "objectives[]", keys, c->err);
    if (rc != 0) {
        return rc;
    }
    if (br_yaml_map_get(doc, obj, "compositeWeight") != NULL) {
        return br_yaml_error(doc, br_yaml_map_get(doc, obj, "compositeWeight"), c->err,
                             BR_EUNSUPPORTED, "composite SLOs (compositeWeight) are not supported");
    }
    br_slo_def *d = br_slo_def_new(c->s);
    d->format = BR_SLO_FORMAT_OPENSLO;
    d->file = br_slo_strdup(c->s, doc->file);
    d->line = (int)(count > 1 ? obj : slo->node)->start_mark.line + 1;
    d->service = sc->service;
    d->description = sc->description;
    d->budgeting = sc->budgeting;
    d->name = br_slo_strdup(c->s, slo->name);
    if (count > 1) {
        br_yaml_node *dn = br_yaml_map_get(doc, obj, "displayName");
        const char *disp = br_yaml_scalar(dn);
        const char *suffix = disp != NULL ? name_suffix(c->s, disp) : "";
        d->name = suffix[0] != '\0'
                      ? br_arena_printf(br_slo_set_arena(c->s), "%s-%s", slo->name, suffix)
                      : br_arena_printf(br_slo_set_arena(c->s), "%s-%zu", slo->name, index);
    }
    rc = parse_labels(c, doc, br_yaml_map_get(doc, slo->meta, "labels"), d);
    if (rc == 0) {
        rc = parse_time_window(c, doc, br_yaml_map_get(doc, slo->spec, "timeWindow"), d);
    }
    if (rc != 0) {
        return rc;
    }

    br_yaml_node *tn = br_yaml_map_get(doc, obj, "target");
    br_yaml_node *pn = br_yaml_map_get(doc, obj, "targetPercent");
    if ((tn == NULL) == (pn == NULL)) {
        return br_yaml_error(doc, obj, c->err, BR_EINVAL,
                             "objectives[]: give exactly one of target (0.999) or targetPercent "
                             "(99.9)");
    }
    double target = 0;
    rc = get_number(doc, tn != NULL ? tn : pn, tn != NULL ? "target" : "targetPercent", &target,
                    c->err);
    if (rc != 0) {
        return rc;
    }
    if (pn != NULL) {
        target /= 100.0;
    }
    if (!(target > 0.0 && target < 1.0)) {
        return br_yaml_error(doc, tn != NULL ? tn : pn, c->err, BR_EINVAL,
                             "objectives[]: target must be in (0, 1) and targetPercent in "
                             "(0, 100)");
    }
    d->objective = target;

    br_yaml_node *wn = br_yaml_map_get(doc, obj, "timeSliceWindow");
    if (wn != NULL) {
        const char *wv = br_yaml_scalar(wn);
        char *end = NULL;
        long minutes = wv != NULL ? strtol(wv, &end, 10) : 0;
        if (wv != NULL && end != wv && *end == '\0' && minutes > 0) {
            d->slice_ms = minutes * 60LL * 1000;
        } else {
            rc = get_shorthand(doc, wn, "objectives[].timeSliceWindow", &d->slice_ms, c->err);
        }
    } else if (d->budgeting != BR_BUDGET_OCCURRENCES) {
        rc = br_yaml_error(doc, obj, c->err, BR_EINVAL,
                           "objectives[]: timeSliceWindow is required with budgetingMethod %s",
                           d->budgeting == BR_BUDGET_TIMESLICES ? "Timeslices" : "RatioTimeslices");
    }
    if (rc != 0) {
        return rc;
    }
    br_yaml_node *stn = br_yaml_map_get(doc, obj, "timeSliceTarget");
    if (stn != NULL) {
        rc = get_number(doc, stn, "timeSliceTarget", &d->slice_target, c->err);
        if (rc == 0 && !(d->slice_target > 0.0 && d->slice_target <= 1.0)) {
            rc = br_yaml_error(doc, stn, c->err, BR_EINVAL,
                               "objectives[].timeSliceTarget must be in (0, 1]");
        }
    }
    if (rc != 0) {
        return rc;
    }

    os_threshold th = {.doc = doc,
                       .objective = obj,
                       .op = br_yaml_map_get(doc, obj, "op"),
                       .value = br_yaml_map_get(doc, obj, "value")};
    br_yaml_node *ind = br_yaml_map_get(doc, obj, "indicator");
    br_yaml_node *ref = br_yaml_map_get(doc, obj, "indicatorRef");
    if (ind == NULL && ref == NULL) {
        ind = sc->indicator;
        ref = sc->indicator_ref;
    }
    if (ind == NULL && ref == NULL) {
        return br_yaml_error(doc, slo->spec, c->err, BR_EINVAL,
                             "SLO %s: give indicator or indicatorRef", slo->name);
    }
    rc = parse_indicator(c, doc, ind, ref, d, &th);
    if (rc == 0 && d->sli.kind == BR_SLI_EVENTS && d->budgeting == BR_BUDGET_TIMESLICES &&
        stn == NULL) {
        rc = br_yaml_error(doc, obj, c->err, BR_EINVAL,
                           "objectives[]: timeSliceTarget is required with budgetingMethod "
                           "Timeslices");
    }
    bool explicit_tiers = false;
    if (rc == 0) {
        rc = parse_alert_policies(c, doc, br_yaml_map_get(doc, slo->spec, "alertPolicies"), d,
                                  &explicit_tiers);
    }
    if (rc != 0) {
        return rc;
    }
    d->alerting.name = br_slo_default_alert_name(c->s, d->service, d->name);
    return br_slo_set_add(c->s, d, explicit_tiers, c->err);
}

static int load_slo(os_ctx *c, const os_obj *slo)
{
    br_yaml_doc *doc = slo->doc;
    static const char *const keys[] = {"description",  "service",       "indicator",
                                       "indicatorRef", "timeWindow",    "budgetingMethod",
                                       "objectives",   "alertPolicies", NULL};
    int rc = br_yaml_check_keys(doc, slo->spec, "SLO spec", keys, c->err);
    if (rc == 0) {
        rc = br_slo_yaml_require(doc, slo->spec, "service", "SLO spec", c->err);
    }
    if (rc == 0) {
        rc = br_slo_yaml_require(doc, slo->spec, "objectives", "SLO spec", c->err);
    }
    if (rc != 0) {
        return rc;
    }
    slo_common sc;
    memset(&sc, 0, sizeof(sc));
    rc = br_yaml_get_string(doc, br_yaml_map_get(doc, slo->spec, "service"), "spec.service",
                            &sc.service, c->err);
    if (rc != 0) {
        return rc;
    }
    sc.service = br_slo_strdup(c->s, sc.service);
    sc.indicator = br_yaml_map_get(doc, slo->spec, "indicator");
    sc.indicator_ref = br_yaml_map_get(doc, slo->spec, "indicatorRef");
    if (sc.indicator != NULL && sc.indicator_ref != NULL) {
        return br_yaml_error(doc, sc.indicator_ref, c->err, BR_EINVAL,
                             "SLO spec: give indicator or indicatorRef, not both");
    }
    /* Description: the SLO's, else its displayName, else the Service's. */
    const char *desc = br_yaml_scalar(br_yaml_map_get(doc, slo->spec, "description"));
    if (desc == NULL || desc[0] == '\0') {
        desc = br_yaml_scalar(br_yaml_map_get(doc, slo->meta, "displayName"));
    }
    const os_obj *svc = find(c, "Service", sc.service);
    if ((desc == NULL || desc[0] == '\0') && svc != NULL) {
        desc = br_yaml_scalar(br_yaml_map_get(svc->doc, svc->spec, "description"));
        if (desc == NULL || desc[0] == '\0') {
            desc = br_yaml_scalar(br_yaml_map_get(svc->doc, svc->meta, "displayName"));
        }
    }
    sc.description = desc != NULL && desc[0] != '\0' ? br_slo_strdup(c->s, desc) : NULL;

    br_yaml_node *bn = br_yaml_map_get(doc, slo->spec, "budgetingMethod");
    sc.budgeting = BR_BUDGET_OCCURRENCES;
    if (bn != NULL) {
        const char *b = br_yaml_scalar(bn);
        if (b != NULL && strcmp(b, "Occurrences") == 0) {
            sc.budgeting = BR_BUDGET_OCCURRENCES;
        } else if (b != NULL && strcmp(b, "Timeslices") == 0) {
            sc.budgeting = BR_BUDGET_TIMESLICES;
        } else if (b != NULL && strcmp(b, "RatioTimeslices") == 0) {
            sc.budgeting = BR_BUDGET_RATIO_TIMESLICES;
        } else {
            return br_yaml_error(doc, bn, c->err, BR_EINVAL,
                                 "budgetingMethod must be Occurrences, Timeslices or "
                                 "RatioTimeslices, got \"%s\"",
                                 b ? b : "a non-scalar");
        }
    }
    br_yaml_node *objs = br_yaml_map_get(doc, slo->spec, "objectives");
    rc = br_yaml_expect_seq(doc, objs, "objectives", c->err);
    size_t n = rc == 0 ? br_yaml_seq_size(objs) : 0;
    if (rc == 0 && n == 0) {
        rc = br_yaml_error(doc, objs, c->err, BR_EINVAL, "objectives must not be empty");
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = load_objective(c, slo, &sc, br_yaml_seq_item(doc, objs, i), i, n);
    }
    return rc;
}

int br_slo_load_openslo(br_slo_set *s, br_yaml_doc *docs, size_t n_docs, br_err *err)
{
    os_ctx c = {.s = s, .err = err, .objs = NULL, .n = 0, .cap = 0};
    int rc = 0;
    for (size_t i = 0; i < n_docs && rc == 0; i++) {
        rc = collect(&c, &docs[i]);
    }
    for (size_t i = 0; i < c.n && rc == 0; i++) {
        if (strcmp(c.objs[i].kind, "SLO") == 0) {
            rc = load_slo(&c, &c.objs[i]);
        }
    }
    br_free(c.objs);
    return rc;
}
