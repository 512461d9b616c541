/*
 * slo_sloth.c — Sloth SLO files → br_slo_def records.
 *
 * Two shapes hold the same fields (Sloth's pkg/prometheus/api/v1 and
 * pkg/kubernetes/api/sloth/v1):
 *   version: prometheus/v1                 apiVersion: sloth.slok.dev/v1
 *   service: ...                           kind: PrometheusServiceLevel
 *   labels: {...}                          metadata: {...}   (not read)
 *   slos: [...]                            spec: {service, labels, slos}
 * Each slos[] entry: name, objective (a percentage, 99.9), description,
 * labels (merged over the file's), sli, alerting. The plain form spells
 * keys in snake_case (error_query, page_alert), the Kubernetes form in
 * camelCase (errorQuery, pageAlert); both spellings are accepted in both
 * forms, since Sloth's own documentation has used each (giving both is an
 * error).
 *
 * Mapping onto the model:
 *   sli.events.error_query / total_query  → bad / total, each classified by
 *       br_slo_template_simplify: sum(rate(SEL[{{.window}}])) becomes an
 *       exact COUNTER source, anything else a QUERY template; by-labels of
 *       the sums become the SLO's grouping.
 *   sli.raw.error_ratio_query              → RAW
 *   sli.plugin, plugins, slo_plugins       → "not supported" errors
 *   alerting.name / labels / annotations   → alerting (name defaults to
 *       <Service><Slo>HighErrorRate when absent)
 *   page_alert / ticket_alert              → page / ticket settings
 * Period: 30 days rolling, Sloth's default; alert tiers: the workbook's.
 *
 * Threads: called by the loading thread only.
 */
#include "slo.h"
#include "slo_template.h"

#include <string.h>

typedef struct sloth_ctx {
    br_slo_set *s;
    br_yaml_doc *doc;
    br_err *err;
} sloth_ctx;

/* Finds key under either spelling; both present is an error. */
static int alias(sloth_ctx *c, br_yaml_node *map, const char *snake, const char *camel,
                 br_yaml_node **out)
{
    br_yaml_node *a = br_yaml_map_get(c->doc, map, snake);
    br_yaml_node *b = br_yaml_map_get(c->doc, map, camel);
    if (a != NULL && b != NULL) {
        return br_yaml_error(c->doc, b, c->err, BR_EINVAL,
                             "give \"%s\" or \"%s\", not both (they are the same field)", snake,
                             camel);
    }
    *out = a != NULL ? a : b;
    return 0;
}

static int check_map(sloth_ctx *c, br_yaml_node *n, const char *what, const char *const *keys)
{
    int rc = br_yaml_expect_map(c->doc, n, what, c->err);
    if (rc == 0) {
        rc = br_yaml_check_keys(c->doc, n, what, keys, c->err);
    }
    return rc;
}

static int query_text(sloth_ctx *c, br_yaml_node *n, const char *what, const char **out)
{
    int rc = br_yaml_get_string(c->doc, n, what, out, c->err);
    if (rc == 0 && (*out)[0] == '\0') {
        rc = br_yaml_error(c->doc, n, c->err, BR_EINVAL, "%s must not be empty", what);
    }
    return rc;
}

static int parse_events(sloth_ctx *c, br_slo_def *d, br_yaml_node *n)
{
    static const char *const keys[] = {"error_query", "errorQuery", "total_query", "totalQuery",
                                       NULL};
    int rc = check_map(c, n, "sli.events", keys);
    br_yaml_node *en = NULL;
    br_yaml_node *tn = NULL;
    if (rc == 0) {
        rc = alias(c, n, "error_query", "errorQuery", &en);
    }
    if (rc == 0) {
        rc = alias(c, n, "total_query", "totalQuery", &tn);
    }
    if (rc == 0 && br_slo_yaml_null(en)) {
        rc = br_yaml_error(c->doc, n, c->err, BR_EINVAL, "sli.events: missing error_query");
    }
    if (rc == 0 && br_slo_yaml_null(tn)) {
        rc = br_yaml_error(c->doc, n, c->err, BR_EINVAL, "sli.events: missing total_query");
    }
    const char *eq = NULL;
    const char *tq = NULL;
    if (rc == 0) {
        rc = query_text(c, en, "sli.events.error_query", &eq);
    }
    if (rc == 0) {
        rc = query_text(c, tn, "sli.events.total_query", &tq);
    }
    if (rc != 0) {
        return rc;
    }
    br_arena *a = br_slo_set_arena(c->s);
    const char **by_e = NULL;
    const char **by_t = NULL;
    size_t n_e = 0;
    size_t n_t = 0;
    br_err inner;
    br_err_clear(&inner);
    if (br_slo_template_simplify(a, eq, &d->sli.bad, &by_e, &n_e, &inner) != 0) {
        return br_slo_yaml_wrap(c->doc, en, "sli.events.error_query", &inner, c->err);
    }
    if (br_slo_template_simplify(a, tq, &d->sli.total, &by_t, &n_t, &inner) != 0) {
        return br_slo_yaml_wrap(c->doc, tn, "sli.events.total_query", &inner, c->err);
    }
    const char *problem =
        br_slo_apply_by_labels(d, &d->sli.bad, by_e, n_e, &d->sli.total, by_t, n_t);
    if (problem != NULL) {
        return br_yaml_error(c->doc, tn, c->err, BR_EINVAL, "sli.events: %s", problem);
    }
    d->sli.kind = BR_SLI_EVENTS;
    return 0;
}

static int parse_raw(sloth_ctx *c, br_slo_def *d, br_yaml_node *n)
{
    static const char *const keys[] = {"error_ratio_query", "errorRatioQuery", NULL};
    int rc = check_map(c, n, "sli.raw", keys);
    br_yaml_node *qn = NULL;
    if (rc == 0) {
        rc = alias(c, n, "error_ratio_query", "errorRatioQuery", &qn);
    }
    if (rc == 0 && br_slo_yaml_null(qn)) {
        rc = br_yaml_error(c->doc, n, c->err, BR_EINVAL, "sli.raw: missing error_ratio_query");
    }
    const char *q = NULL;
    if (rc == 0) {
        rc = query_text(c, qn, "sli.raw.error_ratio_query", &q);
    }
    if (rc != 0) {
        return rc;
    }
    br_err inner;
    br_err_clear(&inner);
    if (br_slo_template_check(q, true, &inner) != 0) {
        return br_slo_yaml_wrap(c->doc, qn, "sli.raw.error_ratio_query", &inner, c->err);
    }
    d->sli.kind = BR_SLI_RAW;
    d->sli.query = br_slo_strdup(c->s, q);
    return 0;
}

static int parse_sli(sloth_ctx *c, br_slo_def *d, br_yaml_node *n)
{
    static const char *const keys[] = {"events", "raw", "plugin", NULL};
    int rc = check_map(c, n, "sli", keys);
    if (rc != 0) {
        return rc;
    }
    br_yaml_node *plugin = br_slo_yaml_key_node(c->doc, n, "plugin");
    if (plugin != NULL) {
        return br_yaml_error(c->doc, plugin, c->err, BR_EUNSUPPORTED,
                             "sli.plugin: Sloth SLI plugins are not supported by burnrate; "
                             "write the plugin's queries as sli.events or sli.raw");
    }
    br_yaml_node *ev = br_yaml_map_get(c->doc, n, "events");
    br_yaml_node *raw = br_yaml_map_get(c->doc, n, "raw");
    if (ev != NULL && raw != NULL) {
        return br_yaml_error(c->doc, raw, c->err, BR_EINVAL, "sli: give events or raw, not both");
    }
    if (ev != NULL) {
        return parse_events(c, d, ev);
    }
    if (raw != NULL) {
        return parse_raw(c, d, raw);
    }
    return br_yaml_error(c->doc, n, c->err, BR_EINVAL, "sli: give events or raw");
}

static int parse_alert(sloth_ctx *c, br_yaml_node *n, const char *what, bool *disabled,
                       br_kv **labels, size_t *n_labels, br_kv **ann, size_t *n_ann)
{
    if (br_slo_yaml_null(n)) {
        return 0;
    }
    static const char *const keys[] = {"disable", "labels", "annotations", NULL};
    int rc = check_map(c, n, what, keys);
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

static int parse_alerting(sloth_ctx *c, br_slo_def *d, br_yaml_node *n)
{
    if (br_slo_yaml_null(n)) {
        return 0;
    }
    static const char *const keys[] = {"name",      "labels",       "annotations", "page_alert",
                                       "pageAlert", "ticket_alert", "ticketAlert", NULL};
    int rc = check_map(c, n, "alerting", keys);
    if (rc != 0) {
        return rc;
    }
    br_slo_alerting *al = &d->alerting;
    br_yaml_node *name = br_yaml_map_get(c->doc, n, "name");
    if (!br_slo_yaml_null(name)) {
        const char *v = NULL;
        rc = br_yaml_get_string(c->doc, name, "alerting.name", &v, c->err);
        al->name = br_slo_strdup(c->s, v);
    }
    if (rc == 0) {
        rc = br_slo_yaml_kv(c->s, c->doc, br_yaml_map_get(c->doc, n, "labels"), "alerting.labels",
                            true, &al->labels, &al->n_labels, c->err);
    }
    if (rc == 0) {
        rc = br_slo_yaml_kv(c->s, c->doc, br_yaml_map_get(c->doc, n, "annotations"),
                            "alerting.annotations", false, &al->annotations, &al->n_annotations,
                            c->err);
    }
    br_yaml_node *page = NULL;
    br_yaml_node *ticket = NULL;
    if (rc == 0) {
        rc = alias(c, n, "page_alert", "pageAlert", &page);
    }
    if (rc == 0) {
        rc = alias(c, n, "ticket_alert", "ticketAlert", &ticket);
    }
    if (rc == 0) {
        rc = parse_alert(c, page, "alerting.page_alert", &al->page_disabled, &al->page_labels,
                         &al->n_page_labels, &al->page_annotations, &al->n_page_annotations);
    }
    if (rc == 0) {
        rc = parse_alert(c, ticket, "alerting.ticket_alert", &al->ticket_disabled,
                         &al->ticket_labels, &al->n_ticket_labels, &al->ticket_annotations,
                         &al->n_ticket_annotations);
    }
    return rc;
}

static int load_slo(sloth_ctx *c, const char *service, br_yaml_node *file_labels, br_yaml_node *n)
{
    static const char *const keys[] = {"name", "objective", "description", "labels",
                                       "sli",  "alerting",  "plugins",     NULL};
    int rc = check_map(c, n, "an SLO", keys);
    static const char *const required[] = {"name", "objective", "sli", NULL};
    for (int i = 0; rc == 0 && required[i] != NULL; i++) {
        rc = br_slo_yaml_require(c->doc, n, required[i], "an SLO", c->err);
    }
    if (rc != 0) {
        return rc;
    }
    br_yaml_node *plugins = br_slo_yaml_key_node(c->doc, n, "plugins");
    if (plugins != NULL) {
        return br_yaml_error(c->doc, plugins, c->err, BR_EUNSUPPORTED,
                             "plugins: Sloth SLO plugins are not supported by burnrate");
    }
    br_slo_def *d = br_slo_def_new(c->s);
    d->format = BR_SLO_FORMAT_SLOTH;
    d->file = br_slo_strdup(c->s, c->doc->file);
    d->line = (int)n->start_mark.line + 1;
    d->service = br_slo_strdup(c->s, service);
    const char *v = NULL;
    rc = br_yaml_get_string(c->doc, br_yaml_map_get(c->doc, n, "name"), "name", &v, c->err);
    if (rc != 0) {
        return rc;
    }
    d->name = br_slo_strdup(c->s, v);
    br_yaml_node *on = br_yaml_map_get(c->doc, n, "objective");
    const char *ov = br_yaml_scalar(on);
    if (ov == NULL || br_slo_parse_percent(ov, &d->objective) != 0) {
        return br_yaml_error(c->doc, on, c->err, BR_EINVAL,
                             "objective must be a percentage strictly between 0 and 100 (e.g. "
                             "99.9), got \"%s\"",
                             ov ? ov : "a non-scalar");
    }
    br_yaml_node *dn = br_yaml_map_get(c->doc, n, "description");
    if (!br_slo_yaml_null(dn)) {
        rc = br_yaml_get_string(c->doc, dn, "description", &v, c->err);
        d->description = br_slo_strdup(c->s, v);
    }
    if (rc == 0) {
        rc = br_slo_yaml_kv(c->s, c->doc, file_labels, "labels", true, &d->labels, &d->n_labels,
                            c->err);
    }
    if (rc == 0) {
        rc = br_slo_yaml_kv(c->s, c->doc, br_yaml_map_get(c->doc, n, "labels"), "labels", true,
                            &d->labels, &d->n_labels, c->err);
    }
    if (rc == 0) {
        rc = parse_sli(c, d, br_yaml_map_get(c->doc, n, "sli"));
    }
    if (rc == 0) {
        rc = parse_alerting(c, d, br_yaml_map_get(c->doc, n, "alerting"));
    }
    if (rc != 0) {
        return rc;
    }
    if (d->alerting.name == NULL || d->alerting.name[0] == '\0') {
        d->alerting.name = br_slo_default_alert_name(c->s, d->service, d->name);
    }
    return br_slo_set_add(c->s, d, false, c->err);
}

int br_slo_load_sloth(br_slo_set *s, br_yaml_doc *doc, br_yaml_node *root, br_err *err)
{
    sloth_ctx c = {.s = s, .doc = doc, .err = err};
    br_yaml_node *body = root;
    int rc = 0;
    const char *api = br_yaml_scalar(br_yaml_map_get(doc, root, "apiVersion"));
    if (api != NULL) {
        static const char *const keys[] = {"apiVersion", "kind",   "metadata",
                                           "spec",       "status", NULL};
        rc = br_yaml_check_keys(doc, root, "a PrometheusServiceLevel", keys, err);
        if (rc != 0) {
            return rc;
        }
        br_yaml_node *kn = br_yaml_map_get(doc, root, "kind");
        const char *kind = br_yaml_scalar(kn);
        if (strcmp(api, "sloth.slok.dev/v1") != 0) {
            return br_yaml_error(
                doc, br_yaml_map_get(doc, root, "apiVersion"), err, BR_EUNSUPPORTED,
                "unsupported Sloth apiVersion \"%s\"; expected sloth.slok.dev/v1", api);
        }
        if (kind == NULL || strcmp(kind, "PrometheusServiceLevel") != 0) {
            return br_yaml_error(doc, kn != NULL ? kn : root, err, BR_EUNSUPPORTED,
                                 "unsupported Sloth kind \"%s\"; expected PrometheusServiceLevel",
                                 kind ? kind : "none");
        }
        rc = br_slo_yaml_require(doc, root, "spec", "a PrometheusServiceLevel", err);
        if (rc != 0) {
            return rc;
        }
        body = br_yaml_map_get(doc, root, "spec");
        static const char *const spec_keys[] = {"service", "labels", "slos", "sloPlugins", NULL};
        rc = br_yaml_expect_map(doc, body, "spec", err);
        if (rc == 0) {
            rc = br_yaml_check_keys(doc, body, "spec", spec_keys, err);
        }
    } else {
        static const char *const keys[] = {"version", "service",     "labels",
                                           "slos",    "slo_plugins", NULL};
        rc = br_yaml_check_keys(doc, root, "a Sloth prometheus/v1 file", keys, err);
    }
    if (rc != 0) {
        return rc;
    }
    br_yaml_node *plugins = br_slo_yaml_key_node(doc, body, "slo_plugins");
    if (plugins == NULL) {
        plugins = br_slo_yaml_key_node(doc, body, "sloPlugins");
    }
    if (plugins != NULL) {
        return br_yaml_error(doc, plugins, err, BR_EUNSUPPORTED,
                             "Sloth SLO plugins are not supported by burnrate");
    }
    rc = br_slo_yaml_require(doc, body, "service", "a Sloth spec", err);
    if (rc == 0) {
        rc = br_slo_yaml_require(doc, body, "slos", "a Sloth spec", err);
    }
    const char *service = NULL;
    if (rc == 0) {
        rc = br_yaml_get_string(doc, br_yaml_map_get(doc, body, "service"), "service", &service,
                                err);
    }
    br_yaml_node *slos = rc == 0 ? br_yaml_map_get(doc, body, "slos") : NULL;
    if (rc == 0) {
        rc = br_yaml_expect_seq(doc, slos, "slos", err);
    }
    br_yaml_node *labels = br_yaml_map_get(doc, body, "labels");
    size_t n = rc == 0 ? br_yaml_seq_size(slos) : 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = load_slo(&c, service, labels, br_yaml_seq_item(doc, slos, i));
    }
    return rc;
}
