/*
 * rules_api.c — /api/v1/rules and /api/v1/alerts. See rules_api.h.
 *
 * Per request: take the latest snapshot, build the SLO set's rule groups
 * with rules/generate.c into the request arena, index the snapshot's SLO
 * instances by definition id, and write Prometheus' JSON. Field order
 * follows Prometheus' Go structs, so answers diff cleanly against a real
 * Prometheus.
 *
 * Mapping from the evaluator's state to Prometheus' model:
 *   - an alerting rule stands for the br_alert_status entries of one kind
 *     and severity; per SLO instance those entries (the tiers of a
 *     burn-rate rule) combine into one alert: state = the highest state,
 *     activeAt = the earliest active_since of the active entries, value =
 *     the highest-state entry's value, which is what the generated
 *     expression returns: the short window's error ratio (short burn rate
 *     x (1 - objective)) for burn-rate rules, long_value for the
 *     escalation rules (share of the budget consumed; seconds until
 *     exhaustion);
 *   - an alert's labels are the instance's series labels (SLO labels,
 *     sloth_id/sloth_service/sloth_slo, grouping labels), then the rule's
 *     labels, then alertname = the rule name; annotations are the rule's
 *     with {{$labels.x}} and {{$value}} filled in;
 *   - a rule's state is the highest state among its alerts; health is
 *     "err" with lastError when an instance of the SLO reported an
 *     evaluation error, "ok" otherwise;
 *   - burnrate evaluates all SLOs in one tick and does not time rules one
 *     by one: each group reports the tick's duration split evenly among
 *     the groups, each rule its even share of its group's.
 */
#include "rules_api.h"

#include "api/json.h"
#include "engine/core/alloc.h"
#include "engine/core/numfmt.h"
#include "engine/promql/selector.h"
#include "rules/generate.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_RESPONSE    (256u * 1024 * 1024)
#define MAX_LIST_PARAMS 64
#define MAX_TOKEN_MARGIN (1024u * 1024)

/* ------------------------------------------------------------------------ */
/* JSON pieces in Go's formats                                              */
/* ------------------------------------------------------------------------ */

/* A time.Time as Go marshals it (RFC 3339 with the fraction's trailing
 * zeros trimmed), in UTC; the zero time when ms is 0. */
static void put_go_time(br_buf *out, int64_t ms)
{
    if (ms == 0) {
        br_buf_puts(out, "\"0001-01-01T00:00:00Z\"");
        return;
    }
    int64_t sec = ms / 1000;
    int64_t frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        sec -= 1;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    gmtime_r(&t, &tm);
    br_buf_printf(out, "\"%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (frac != 0) {
        char f[8];
        snprintf(f, sizeof(f), "%03d", (int)frac);
        size_t n = strlen(f);
        while (n > 0 && f[n - 1] == '0') {
            f[--n] = '\0';
        }
        br_buf_printf(out, ".%s", f);
    }
    br_buf_puts(out, "Z\"");
}

/* A float64 field as encoding/json writes it (finite values only). */
static void put_number(br_buf *out, double v)
{
    char tmp[BR_FLOAT_BUF];
    if (!isfinite(v)) {
        v = 0;
    }
    br_buf_puts(out, br_format_float(v, tmp, sizeof(tmp)));
}

/* An alert value as Prometheus writes it: strconv.FormatFloat(v, 'e', -1,
 * 64), e.g. "1e+00", "1.44e-02", "NaN", "+Inf". */
static void put_value_e(br_buf *out, double v)
{
    char sci[48];
    if (isnan(v)) {
        snprintf(sci, sizeof(sci), "NaN");
    } else if (isinf(v)) {
        snprintf(sci, sizeof(sci), v > 0 ? "+Inf" : "-Inf");
    } else {
        for (int p = 0; p <= 16; p++) {
            snprintf(sci, sizeof(sci), "%.*e", p, v);
            if (strtod(sci, NULL) == v) {
                break;
            }
        }
    }
    br_json_string(out, sci);
}

static void put_kv_object(br_buf *out, const br_kv *kv, size_t n)
{
    br_buf_putc(out, '{');
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            br_buf_putc(out, ',');
        }
        br_json_string(out, kv[i].key);
        br_buf_putc(out, ':');
        br_json_string(out, kv[i].value);
    }
    br_buf_putc(out, '}');
}

static const char *state_name(br_alert_state s)
{
    switch (s) {
    case BR_ALERT_PENDING:
        return "pending";
    case BR_ALERT_FIRING:
        return "firing";
    case BR_ALERT_INACTIVE:
        break;
    }
    return "inactive";
}

/* ------------------------------------------------------------------------ */
/* Label sets                                                               */
/* ------------------------------------------------------------------------ */

typedef struct labelset {
    br_kv *v; /* heap */
    size_t n;
    size_t cap;
} labelset;

static void ls_put(labelset *l, const char *k, const char *v)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].key, k) == 0) {
            l->v[i].value = v;
            return;
        }
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = br_realloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n].key = k;
    l->v[l->n].value = v ? v : "";
    l->n++;
}

static int kv_cmp(const void *a, const void *b)
{
    return strcmp(((const br_kv *)a)->key, ((const br_kv *)b)->key);
}

static void ls_sort(labelset *l)
{
    if (l->n > 1) {
        qsort(l->v, l->n, sizeof(br_kv), kv_cmp);
    }
}

static void ls_free(labelset *l)
{
    br_free(l->v);
    memset(l, 0, sizeof(*l));
}

static const char *ls_get(const labelset *l, const char *k, size_t klen)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strlen(l->v[i].key) == klen && strncmp(l->v[i].key, k, klen) == 0) {
            return l->v[i].value;
        }
    }
    return "";
}

/* The labels of an SLO instance's series, as the generated rules' results
 * carry them. */
static void series_labels(const br_slo_status *st, labelset *out)
{
    const br_slo_def *d = st->def;
    for (size_t i = 0; i < d->n_labels; i++) {
        ls_put(out, d->labels[i].key, d->labels[i].value);
    }
    ls_put(out, "sloth_id", d->id);
    ls_put(out, "sloth_service", d->service);
    ls_put(out, "sloth_slo", d->name);
    for (size_t i = 0; i < st->n_group_labels; i++) {
        ls_put(out, st->group_labels[i].key, st->group_labels[i].value);
    }
}

/* Appends tpl with {{$labels.name}} and {{$value}} (any inner spacing)
 * filled in; anything else is copied as it is. */
static void expand_template(br_buf *out, const char *tpl, const labelset *labels, double value)
{
    const char *p = tpl;
    while (*p != '\0') {
        const char *open = strstr(p, "{{");
        if (open == NULL) {
            br_buf_puts(out, p);
            return;
        }
        br_buf_append(out, p, (size_t)(open - p));
        const char *q = open + 2;
        while (*q == ' ') {
            q++;
        }
        const char *name = NULL;
        size_t name_len = 0;
        bool is_value = false;
        if (strncmp(q, "$labels.", 8) == 0) {
            name = q + 8;
            q = name;
            while (isalnum((unsigned char)*q) || *q == '_') {
                q++;
            }
            name_len = (size_t)(q - name);
        } else if (strncmp(q, "$value", 6) == 0 && !isalnum((unsigned char)q[6]) &&
                   q[6] != '_') {
            is_value = true;
            q += 6;
        }
        while (*q == ' ') {
            q++;
        }
        if ((name_len > 0 || is_value) && q[0] == '}' && q[1] == '}') {
            if (is_value) {
                char tmp[BR_FLOAT_BUF];
                br_buf_puts(out, br_format_float(value, tmp, sizeof(tmp)));
            } else {
                br_buf_puts(out, ls_get(labels, name, name_len));
            }
            p = q + 2;
        } else {
            br_buf_puts(out, "{{");
            p = open + 2;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Request state                                                            */
/* ------------------------------------------------------------------------ */

typedef struct filters {
    bool alerts;  /* type: alerting rules wanted */
    bool records; /* recording rules wanted */
    bool exclude_alerts;
    const char *names[MAX_LIST_PARAMS];
    size_t n_names;
    const char *groups[MAX_LIST_PARAMS];
    size_t n_groups;
    const char *files[MAX_LIST_PARAMS];
    size_t n_files;
    br_selector *match; /* heap array */
    size_t n_match;
} filters;

typedef struct view {
    const br_slo_snapshot *snap;
    br_gen_rules rules;
    const br_slo_status **by_def; /* heap; statuses sorted by def id */
    size_t n;
} view;

static int status_cmp(const void *a, const void *b)
{
    const br_slo_status *x = *(const br_slo_status *const *)a;
    const br_slo_status *y = *(const br_slo_status *const *)b;
    return strcmp(x->def->id, y->def->id);
}

/* The instances of d: by_def[*from .. *to). */
static void instances_of(const view *v, const br_slo_def *d, size_t *from, size_t *to)
{
    size_t lo = 0;
    size_t hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(v->by_def[mid]->def->id, d->id) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    size_t end = lo;
    while (end < v->n && strcmp(v->by_def[end]->def->id, d->id) == 0) {
        end++;
    }
    *from = lo;
    *to = end;
}

/* Builds the rules of the snapshot's set. Returns 0, or -1 after writing
 * an error response. */
static int view_open(view *v, const br_slo_snapshot *snap, br_arena *arena,
                     br_http_response *resp)
{
    memset(v, 0, sizeof(*v));
    v->snap = snap;
    if (snap == NULL || snap->set == NULL) {
        return 0;
    }
    br_err err;
    br_err_clear(&err);
    if (br_generate_build(snap->set, arena, &v->rules, &err) != 0) {
        char msg[BR_ERR_MSG_SIZE + 64];
        snprintf(msg, sizeof(msg), "cannot build the rules of the SLOs: %s", err.msg);
        br_api_error(resp, "internal", msg);
        return -1;
    }
    v->by_def = br_malloc((snap->n_slos + 1) * sizeof(*v->by_def));
    for (size_t i = 0; i < snap->n_slos; i++) {
        if (snap->slos[i].def != NULL && snap->slos[i].def->id != NULL) {
            v->by_def[v->n++] = &snap->slos[i];
        }
    }
    qsort(v->by_def, v->n, sizeof(*v->by_def), status_cmp);
    return 0;
}

static void view_close(view *v)
{
    br_free(v->by_def);
    memset(v, 0, sizeof(*v));
}

/* ------------------------------------------------------------------------ */
/* Alerts                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct alert_inst {
    br_alert_state state;
    int64_t active_ms;
    double value;
} alert_inst;

/* Combines the instance's entries that r stands for; false when none is
 * pending or firing. */
static bool combine_alert(const br_slo_status *st, const br_gen_rule *r, alert_inst *out)
{
    out->state = BR_ALERT_INACTIVE;
    out->active_ms = INT64_MAX;
    out->value = NAN;
    int64_t best_since = INT64_MAX;
    bool burn = strcmp(r->alert_kind, "burn_rate") == 0;
    for (size_t i = 0; i < st->n_alerts; i++) {
        const br_alert_status *a = &st->alerts[i];
        if (a->state == BR_ALERT_INACTIVE || a->kind == NULL || a->severity == NULL ||
            strcmp(a->kind, r->alert_kind) != 0 || strcmp(a->severity, r->severity) != 0) {
            continue;
        }
        if (a->active_since_ms < out->active_ms) {
            out->active_ms = a->active_since_ms;
        }
        if (a->state > out->state || (a->state == out->state && a->active_since_ms < best_since)) {
            out->state = a->state;
            best_since = a->active_since_ms;
            out->value = burn ? a->short_value * (1.0 - st->def->objective) : a->long_value;
        }
    }
    return out->state != BR_ALERT_INACTIVE;
}

static void put_alert(br_buf *out, const br_slo_status *st, const br_gen_rule *r,
                      const alert_inst *ai)
{
    labelset series = {0};
    series_labels(st, &series);
    labelset labels = {0};
    for (size_t i = 0; i < series.n; i++) {
        ls_put(&labels, series.v[i].key, series.v[i].value);
    }
    for (size_t i = 0; i < r->n_labels; i++) {
        ls_put(&labels, r->labels[i].key, r->labels[i].value);
    }
    ls_put(&labels, "alertname", r->name);
    ls_sort(&labels);
    br_buf_puts(out, "{\"labels\":");
    put_kv_object(out, labels.v, labels.n);
    br_buf_puts(out, ",\"annotations\":{");
    br_buf text;
    br_buf_init(&text, 0);
    for (size_t i = 0; i < r->n_annotations; i++) {
        br_buf_reset(&text);
        expand_template(&text, r->annotations[i].value, &series, ai->value);
        if (i > 0) {
            br_buf_putc(out, ',');
        }
        br_json_string(out, r->annotations[i].key);
        br_buf_putc(out, ':');
        br_json_string(out, br_buf_str(&text));
    }
    br_buf_free(&text);
    br_buf_puts(out, "},\"state\":");
    br_json_string(out, state_name(ai->state));
    br_buf_puts(out, ",\"activeAt\":");
    put_go_time(out, ai->active_ms);
    br_buf_puts(out, ",\"value\":");
    put_value_e(out, ai->value);
    br_buf_putc(out, '}');
    ls_free(&labels);
    ls_free(&series);
}

/* Writes r's alerts ("[...]") and returns the rule's state. */
static br_alert_state put_rule_alerts(br_buf *out, const view *v, const br_gen_group *g,
                                      const br_gen_rule *r, bool with_brackets)
{
    size_t from;
    size_t to;
    instances_of(v, g->def, &from, &to);
    br_alert_state state = BR_ALERT_INACTIVE;
    bool first = true;
    if (with_brackets) {
        br_buf_putc(out, '[');
    }
    for (size_t i = from; i < to; i++) {
        alert_inst ai;
        if (!combine_alert(v->by_def[i], r, &ai)) {
            continue;
        }
        if (ai.state > state) {
            state = ai.state;
        }
        if (!first) {
            br_buf_putc(out, ',');
        }
        put_alert(out, v->by_def[i], r, &ai);
        first = false;
    }
    if (with_brackets) {
        br_buf_putc(out, ']');
    }
    return state;
}

/* ------------------------------------------------------------------------ */
/* /api/v1/rules                                                            */
/* ------------------------------------------------------------------------ */

static bool in_list(const char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i], s) == 0) {
            return true;
        }
    }
    return false;
}

static const char *rule_label(const br_gen_rule *r, const char *name)
{
    for (size_t i = 0; i < r->n_labels; i++) {
        if (strcmp(r->labels[i].key, name) == 0) {
            return r->labels[i].value;
        }
    }
    return "";
}

/* Prometheus matches match[] against the rule's own labels. */
static bool rule_matches(const filters *f, const br_gen_rule *r)
{
    if (f->n_match == 0) {
        return true;
    }
    for (size_t i = 0; i < f->n_match; i++) {
        bool all = true;
        for (size_t j = 0; all && j < f->match[i].n; j++) {
            const br_matcher *m = &f->match[i].matchers[j];
            all = br_matcher_matches(m, rule_label(r, m->name));
        }
        if (all) {
            return true;
        }
    }
    return false;
}

static void filters_free(filters *f)
{
    for (size_t i = 0; i < f->n_match; i++) {
        br_selector_free(&f->match[i]);
    }
    br_free(f->match);
    memset(f, 0, sizeof(*f));
}

static int list_param(br_http_request *req, br_http_response *resp, const char *name,
                      const char **out, size_t *n)
{
    *n = br_http_param_all(req, name, out, MAX_LIST_PARAMS);
    if (*n > MAX_LIST_PARAMS) {
        char msg[128];
        snprintf(msg, sizeof(msg), "too many %s parameters (at most %d)", name, MAX_LIST_PARAMS);
        br_api_error(resp, "bad_data", msg);
        return -1;
    }
    return 0;
}

/* Go's strconv.ParseBool. */
static int parse_go_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True", NULL};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False", NULL};
    for (size_t i = 0; yes[i] != NULL; i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* Fills f from the request; returns -1 after writing an error response. */
static int parse_filters(br_http_request *req, br_http_response *resp, filters *f)
{
    memset(f, 0, sizeof(*f));
    f->alerts = true;
    f->records = true;
    const char *type = br_http_param_get(req, "type");
    if (type != NULL && *type != '\0') {
        char low[16];
        size_t n = strlen(type);
        bool fits = n < sizeof(low);
        for (size_t i = 0; fits && i <= n; i++) {
            low[i] = (char)tolower((unsigned char)type[i]);
        }
        if (fits && strcmp(low, "alert") == 0) {
            f->records = false;
        } else if (fits && strcmp(low, "record") == 0) {
            f->alerts = false;
        } else {
            char msg[300];
            snprintf(msg, sizeof(msg), "invalid parameter \"type\": not supported value \"%.200s\"",
                     type);
            br_api_error(resp, "bad_data", msg);
            return -1;
        }
    }
    const char *ex = br_http_param_get(req, "exclude_alerts");
    if (ex != NULL && *ex != '\0') {
        char low[16];
        size_t n = strlen(ex);
        bool fits = n < sizeof(low);
        for (size_t i = 0; fits && i <= n; i++) {
            low[i] = (char)tolower((unsigned char)ex[i]);
        }
        if (!fits || parse_go_bool(low, &f->exclude_alerts) != 0) {
            char msg[300];
            snprintf(msg, sizeof(msg),
                     "invalid parameter \"exclude_alerts\": error converting exclude_alerts: "
                     "strconv.ParseBool: parsing \"%.100s\": invalid syntax",
                     ex);
            br_api_error(resp, "bad_data", msg);
            return -1;
        }
    }
    if (list_param(req, resp, "rule_name[]", f->names, &f->n_names) != 0 ||
        list_param(req, resp, "rule_group[]", f->groups, &f->n_groups) != 0 ||
        list_param(req, resp, "file[]", f->files, &f->n_files) != 0) {
        return -1;
    }
    const char *sels[MAX_LIST_PARAMS];
    size_t n_sels;
    if (list_param(req, resp, "match[]", sels, &n_sels) != 0) {
        return -1;
    }
    if (n_sels > 0) {
        f->match = br_calloc(n_sels, sizeof(br_selector));
    }
    for (size_t i = 0; i < n_sels; i++) {
        br_err err;
        br_err_clear(&err);
        if (br_selector_parse(sels[i], &f->match[i], &err) != 0) {
            char msg[BR_ERR_MSG_SIZE + 64];
            snprintf(msg, sizeof(msg), "invalid parameter \"match[]\": %s", err.msg);
            br_api_error(resp, "bad_data", msg);
            filters_free(f);
            return -1;
        }
        f->n_match++;
        bool non_empty = false;
        for (size_t j = 0; j < f->match[i].n; j++) {
            non_empty = non_empty || !br_matcher_matches_empty(&f->match[i].matchers[j]);
        }
        if (!non_empty) {
            br_api_error(resp, "bad_data",
                         "invalid parameter \"match[]\": match[] must contain at least one "
                         "non-empty matcher");
            filters_free(f);
            return -1;
        }
    }
    return 0;
}

static const char *group_health(const view *v, const br_gen_group *g, const char **last_error)
{
    size_t from;
    size_t to;
    instances_of(v, g->def, &from, &to);
    for (size_t i = from; i < to; i++) {
        if (v->by_def[i]->error != NULL) {
            *last_error = v->by_def[i]->error;
            return "err";
        }
    }
    *last_error = NULL;
    return "ok";
}

/* Writes one rule object; returns false when filtered out. */
static bool put_rule(br_buf *out, const view *v, const filters *f, const br_gen_group *g,
                     const br_gen_rule *r, double eval_s)
{
    bool alert = r->kind == BR_GEN_ALERT;
    if ((alert && !f->alerts) || (!alert && !f->records)) {
        return false;
    }
    if (f->n_names > 0 && !in_list(f->names, f->n_names, r->name)) {
        return false;
    }
    if (!rule_matches(f, r)) {
        return false;
    }
    const char *last_error = NULL;
    const char *health = group_health(v, g, &last_error);
    br_buf_putc(out, '{');
    if (alert) {
        /* The state comes first in Prometheus' struct: compute the alerts
         * aside. */
        br_buf alerts;
        br_buf_init(&alerts, 0);
        br_alert_state state = put_rule_alerts(&alerts, v, g, r, true);
        br_buf_puts(out, "\"state\":");
        br_json_string(out, state_name(state));
        br_buf_puts(out, ",\"name\":");
        br_json_string(out, r->name);
        br_buf_puts(out, ",\"query\":");
        br_json_string(out, r->query);
        br_buf_puts(out, ",\"duration\":");
        put_number(out, (double)r->for_ms / 1000.0);
        br_buf_puts(out, ",\"keepFiringFor\":");
        put_number(out, (double)r->keep_firing_for_ms / 1000.0);
        br_buf_puts(out, ",\"labels\":");
        put_kv_object(out, r->labels, r->n_labels);
        br_buf_puts(out, ",\"annotations\":");
        put_kv_object(out, r->annotations, r->n_annotations);
        br_buf_puts(out, ",\"alerts\":");
        if (f->exclude_alerts) {
            br_buf_puts(out, "null");
        } else {
            br_buf_append(out, alerts.data ? alerts.data : "", alerts.len);
        }
        br_buf_free(&alerts);
    } else {
        br_buf_puts(out, "\"name\":");
        br_json_string(out, r->name);
        br_buf_puts(out, ",\"query\":");
        br_json_string(out, r->query);
        br_buf_puts(out, ",\"labels\":");
        put_kv_object(out, r->labels, r->n_labels);
    }
    br_buf_puts(out, ",\"health\":");
    br_json_string(out, health);
    if (last_error != NULL) {
        br_buf_puts(out, ",\"lastError\":");
        br_json_string(out, last_error);
    }
    br_buf_puts(out, ",\"evaluationTime\":");
    put_number(out, eval_s);
    br_buf_puts(out, ",\"lastEvaluation\":");
    put_go_time(out, v->snap->eval_time_ms);
    br_buf_puts(out, ",\"type\":");
    br_json_string(out, alert ? "alerting" : "recording");
    br_buf_putc(out, '}');
    return true;
}

static void put_groups(br_buf *out, const view *v, const filters *f)
{
    br_buf_puts(out, "{\"groups\":[");
    size_t n_groups = v->rules.n_groups;
    double tick_s = v->snap != NULL ? (double)v->snap->eval_duration_us / 1e6 : 0;
    double group_s = n_groups > 0 ? tick_s / (double)n_groups : 0;
    bool first = true;
    br_buf rules;
    br_buf_init(&rules, 0);
    for (size_t i = 0; i < n_groups; i++) {
        const br_gen_group *g = &v->rules.groups[i];
        const char *file = g->def->file != NULL ? g->def->file : "";
        if (f->n_groups > 0 && !in_list(f->groups, f->n_groups, g->name)) {
            continue;
        }
        if (f->n_files > 0 && !in_list(f->files, f->n_files, file)) {
            continue;
        }
        br_buf_reset(&rules);
        size_t kept = 0;
        double rule_s = g->n_rules > 0 ? group_s / (double)g->n_rules : 0;
        for (size_t j = 0; j < g->n_rules; j++) {
            size_t mark = rules.len;
            if (kept > 0) {
                br_buf_putc(&rules, ',');
            }
            if (put_rule(&rules, v, f, g, &g->rules[j], rule_s)) {
                kept++;
            } else {
                rules.len = mark;
                if (rules.data != NULL) {
                    rules.data[mark] = '\0';
                }
            }
        }
        /* Prometheus leaves out groups whose rules were all filtered. */
        if (kept == 0) {
            continue;
        }
        if (!first) {
            br_buf_putc(out, ',');
        }
        first = false;
        br_buf_puts(out, "{\"name\":");
        br_json_string(out, g->name);
        br_buf_puts(out, ",\"file\":");
        br_json_string(out, file);
        br_buf_puts(out, ",\"rules\":[");
        br_buf_append(out, rules.data, rules.len);
        br_buf_puts(out, "],\"interval\":");
        put_number(out, (double)v->snap->interval_ms / 1000.0);
        br_buf_puts(out, ",\"limit\":0,\"evaluationTime\":");
        put_number(out, group_s);
        br_buf_puts(out, ",\"lastEvaluation\":");
        put_go_time(out, v->snap->eval_time_ms);
        br_buf_putc(out, '}');
    }
    br_buf_free(&rules);
    br_buf_puts(out, "]}");
}

/* An append that would pass the cap fails and leaves the buffer as it
 * was; no single JSON token here comes near 1 MiB (expressions are capped
 * by the PromQL parser at 64 KiB), so a buffer that full means one did. */
static void finish(br_http_response *resp, br_buf *data)
{
    if (data->len + MAX_TOKEN_MARGIN >= MAX_RESPONSE) {
        br_api_error(resp, "internal", "the answer is larger than the response limit (256 MiB)");
        return;
    }
    br_api_success(resp, br_buf_str(data), data->len);
}

static int handle_rules(void *ctx, br_http_request *req, br_http_response *resp)
{
    const br_slo_source *src = ctx;
    filters f;
    if (parse_filters(req, resp, &f) != 0) {
        return 0;
    }
    br_slo_snapshot *snap = src->snapshot(src->ctx);
    view v;
    if (view_open(&v, snap, req->arena, resp) == 0) {
        br_buf data;
        br_buf_init(&data, MAX_RESPONSE);
        put_groups(&data, &v, &f);
        finish(resp, &data);
        br_buf_free(&data);
    }
    view_close(&v);
    if (snap != NULL) {
        br_slo_snapshot_unref(snap);
    }
    filters_free(&f);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* /api/v1/alerts                                                           */
/* ------------------------------------------------------------------------ */

static int handle_alerts(void *ctx, br_http_request *req, br_http_response *resp)
{
    (void)req;
    const br_slo_source *src = ctx;
    br_slo_snapshot *snap = src->snapshot(src->ctx);
    view v;
    if (view_open(&v, snap, req->arena, resp) == 0) {
        br_buf data;
        br_buf_init(&data, MAX_RESPONSE);
        br_buf_puts(&data, "{\"alerts\":[");
        br_buf one;
        br_buf_init(&one, 0);
        bool first = true;
        for (size_t i = 0; i < v.rules.n_groups; i++) {
            const br_gen_group *g = &v.rules.groups[i];
            for (size_t j = 0; j < g->n_rules; j++) {
                if (g->rules[j].kind != BR_GEN_ALERT) {
                    continue;
                }
                br_buf_reset(&one);
                put_rule_alerts(&one, &v, g, &g->rules[j], false);
                if (one.len == 0) {
                    continue;
                }
                if (!first) {
                    br_buf_putc(&data, ',');
                }
                first = false;
                br_buf_append(&data, one.data, one.len);
            }
        }
        br_buf_free(&one);
        br_buf_puts(&data, "]}");
        finish(resp, &data);
        br_buf_free(&data);
    }
    view_close(&v);
    if (snap != NULL) {
        br_slo_snapshot_unref(snap);
    }
    return 0;
}

void br_rules_api_register(br_http_server *srv, const br_slo_source *src)
{
    unsigned gp = BR_HTTP_GET | BR_HTTP_POST;
    /* The server passes ctx back untouched; handlers only read the source. */
    void *ctx = (void *)(uintptr_t)src;
    br_http_route(srv, gp, "/api/v1/rules", "/api/v1/rules", 0, handle_rules, ctx);
    br_http_route(srv, gp, "/api/v1/alerts", "/api/v1/alerts", 0, handle_alerts, ctx);
}
