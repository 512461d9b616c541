/*
 * budget_api.c — the budget API and the release gate. See budget_api.h for
 * the routes; api/openapi.yaml documents every field.
 *
 * Every handler takes one snapshot reference, answers from it and drops
 * it, so one answer never mixes two evaluator ticks. JSON is built with
 * cJSON (allocating through br_malloc) and copied into the response body.
 * Numbers that are NaN or infinite in the snapshot are written as null.
 *
 * Ids in paths: libmicrohttpd has already decoded %XX in the path, so a
 * grouped instance id such as checkout-availability{route="/pay"} may
 * contain '/'. /api/v1/slos/<rest> is therefore resolved in this order:
 * <rest> as an instance id; <rest> minus a trailing "/history" as an
 * instance id (then it is the history route); otherwise 404 listing close
 * names (Levenshtein distance <= 3, or a long common prefix).
 *
 * Gate: a selected SLO instance denies when its policy state forbids
 * deploys (or is not in allow_states), its budget remaining is below
 * min_remaining, its 1h burn rate is above max_burn_rate, a page alert is
 * firing, its data is stale (newest SLI sample older than max_data_age, or
 * the snapshot older than three evaluation intervals), it failed to
 * evaluate, or it has no data (unless on_no_data=allow). The decision is
 * "allow" (200) with no reason, "deny" (409) when a reason comes from the
 * policy, thresholds or alerts, and "no_data" (409) when every reason is
 * about missing, stale or failed data: the CLI turns that into "cannot
 * decide". Stale data is never excused by on_no_data=allow: it means
 * ingestion or evaluation is broken, not that the service is idle.
 *
 * Limits: ids longer than MAX_ID_BYTES are refused, history answers at
 * most max_history_points points (the source's arena is capped to match),
 * Levenshtein runs only on names up to LEV_MAX_LEN bytes.
 */
#include "budget_api.h"

#include "engine/promql/ast.h"
#include "rules/evaluator.h"
#include "rules/generate.h"

#include "api/json.h"
#include "engine/core/alloc.h"
#include "engine/core/arena.h"
#include "engine/core/civil.h"
#include "engine/core/clock.h"
#include "engine/core/numfmt.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOS_PREFIX          "/api/v1/slos/"
#define HISTORY_SUFFIX       "/history"
#define MAX_ID_BYTES         1024
#define MAX_LABEL_FILTERS    16
#define MAX_CLOSE_NAMES      5
#define MAX_CLOSE_DISTANCE   3
#define LEV_MAX_LEN          128
#define MAX_ALLOW_STATES     BR_POLICY_MAX_STATES
#define STALE_EVAL_INTERVALS 3
#define HISTORY_TARGET       300
#define HOUR_MS              (3600LL * 1000)
#define MSG_SIZE             2048

#define NO_EVAL_MSG                                                                                \
    "no SLO evaluation has completed yet; the first one ends within one evaluation interval "      \
    "of start-up"

/* ------------------------------------------------------------------------
 * Small helpers: time, formatting, JSON values.
 * ---------------------------------------------------------------------- */

static int64_t api_now(const br_budget_api *api)
{
    return api->now_ms != NULL ? api->now_ms(api->now_ctx) : br_now_ms();
}

static int64_t api_max_data_age(const br_budget_api *api)
{
    return api->max_data_age_ms > 0 ? api->max_data_age_ms : BR_BUDGET_DEFAULT_MAX_DATA_AGE_MS;
}

/* A window as SLO people write it: days at most ("30d", "1h", "5m"),
 * "0s" for zero. */
static const char *fmt_window(int64_t ms, char *out, size_t size)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {
        {"d", 24 * HOUR_MS}, {"h", HOUR_MS}, {"m", 60000}, {"s", 1000}, {"ms", 1},
    };
    if (ms <= 0) {
        snprintf(out, size, "0s");
        return out;
    }
    size_t off = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && off < size; i++) {
        if (ms >= units[i].ms) {
            int64_t n = ms / units[i].ms;
            ms -= n * units[i].ms;
            int w = snprintf(out + off, size - off, "%lld%s", (long long)n, units[i].unit);
            if (w < 0) {
                break;
            }
            off += (size_t)w;
        }
    }
    return out;
}

/* "12.0%" for 0.12. */
static const char *fmt_pct(double ratio, char *out, size_t size)
{
    snprintf(out, size, "%.1f%%", ratio * 100.0);
    return out;
}

/* A threshold the caller gave, in its shortest exact form ("2", "0.25"). */
static const char *fmt_exact(double v, char *out, size_t size)
{
    return br_format_float(v, out, size);
}

static void put_number(cJSON *o, const char *key, double v)
{
    if (isfinite(v)) {
        cJSON_AddNumberToObject(o, key, v);
    } else {
        cJSON_AddNullToObject(o, key);
    }
}

static void put_adjustments(cJSON *o, const br_slo_status *st);

static void put_string(cJSON *o, const char *key, const char *s)
{
    if (s != NULL) {
        cJSON_AddStringToObject(o, key, s);
    } else {
        cJSON_AddNullToObject(o, key);
    }
}

/* key_time as RFC 3339 with ms and, when key_ms is given, key_ms as Unix
 * ms; both null when ms is 0 ("never"). */
static void put_time(cJSON *o, const char *key_time, const char *key_ms, int64_t ms)
{
    char buf[48];
    if (ms == 0) {
        cJSON_AddNullToObject(o, key_time);
        if (key_ms != NULL) {
            cJSON_AddNullToObject(o, key_ms);
        }
        return;
    }
    cJSON_AddStringToObject(o, key_time, br_format_rfc3339_ms(ms, buf, sizeof(buf)));
    if (key_ms != NULL) {
        cJSON_AddNumberToObject(o, key_ms, (double)ms);
    }
}

static void put_window(cJSON *o, const char *key, int64_t ms)
{
    char buf[64];
    if (ms <= 0) {
        cJSON_AddNullToObject(o, key);
    } else {
        cJSON_AddStringToObject(o, key, fmt_window(ms, buf, sizeof(buf)));
    }
}

static void put_kv(cJSON *o, const char *key, const br_kv *kv, size_t n)
{
    cJSON *m = cJSON_AddObjectToObject(o, key);
    for (size_t i = 0; i < n; i++) {
        if (kv[i].key != NULL) {
            cJSON_AddStringToObject(m, kv[i].key, kv[i].value ? kv[i].value : "");
        }
    }
}

/* The first value of a parameter, or NULL when absent or empty. */
static const char *param(const br_http_request *req, const char *name)
{
    const char *v = br_http_param_get(req, name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* ------------------------------------------------------------------------
 * Responses.
 * ---------------------------------------------------------------------- */

/* Renders root (consumed) as the response body. */
static void respond_json(br_http_response *resp, int status, cJSON *root)
{
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    br_buf_reset(&resp->body);
    if (text == NULL) {
        br_api_error(resp, "internal", "cannot render the JSON answer");
        return;
    }
    resp->status = status;
    resp->content_type = "application/json";
    br_buf_puts(&resp->body, text);
    cJSON_free(text);
    br_http_add_header(resp, "Cache-Control", "no-store");
}

static void respond_success(br_http_response *resp, cJSON *data)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "status", "success");
    cJSON_AddItemToObject(root, "data", data);
    respond_json(resp, 200, root);
}

/* Prometheus' error envelope with an explicit HTTP status. */
static void respond_error(br_http_response *resp, int status, const char *type, const char *fmt,
                          ...) __attribute__((format(printf, 4, 5)));
static void respond_error(br_http_response *resp, int status, const char *type, const char *fmt,
                          ...)
{
    char msg[MSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    br_api_error(resp, type, msg);
    resp->status = status;
}

static br_slo_snapshot *take_snapshot(const br_budget_api *api)
{
    if (api->src == NULL || api->src->snapshot == NULL) {
        return NULL;
    }
    return api->src->snapshot(api->src->ctx);
}

static void put_eval_info(cJSON *data, const br_slo_snapshot *snap)
{
    put_time(data, "eval_time", "eval_time_ms", snap->eval_time_ms);
    cJSON_AddNumberToObject(data, "interval_seconds", (double)snap->interval_ms / 1000.0);
    cJSON_AddNumberToObject(data, "eval_duration_seconds", (double)snap->eval_duration_us / 1e6);
}

/* ------------------------------------------------------------------------
 * Close names for 404 answers.
 * ---------------------------------------------------------------------- */

/* Edit distance between a and b, or cap + 1 when it is larger than cap or
 * either string is too long to compare cheaply. */
static int levenshtein(const char *a, const char *b, int cap)
{
    size_t la = strlen(a);
    size_t lb = strlen(b);
    if (la > LEV_MAX_LEN || lb > LEV_MAX_LEN) {
        return cap + 1;
    }
    if ((la > lb ? la - lb : lb - la) > (size_t)cap) {
        return cap + 1;
    }
    int prev[LEV_MAX_LEN + 1];
    int cur[LEV_MAX_LEN + 1];
    for (size_t j = 0; j <= lb; j++) {
        prev[j] = (int)j;
    }
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        int row_min = cur[0];
        for (size_t j = 1; j <= lb; j++) {
            int best = prev[j] + 1;
            if (cur[j - 1] + 1 < best) {
                best = cur[j - 1] + 1;
            }
            int diag = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (diag < best) {
                best = diag;
            }
            cur[j] = best;
            if (best < row_min) {
                row_min = best;
            }
        }
        if (row_min > cap) {
            return cap + 1;
        }
        memcpy(prev, cur, (lb + 1) * sizeof(int));
    }
    return prev[lb];
}

static size_t common_prefix(const char *a, const char *b)
{
    size_t n = 0;
    while (a[n] != '\0' && a[n] == b[n]) {
        n++;
    }
    return n;
}

typedef struct close_name {
    const char *name;
    int distance; /* MAX_CLOSE_DISTANCE + 1 when only the prefix is close */
    size_t prefix;
} close_name;

static bool closer(const close_name *a, const close_name *b)
{
    if (a->distance != b->distance) {
        return a->distance < b->distance;
    }
    if (a->prefix != b->prefix) {
        return a->prefix > b->prefix;
    }
    return strcmp(a->name, b->name) < 0;
}

/* Writes ", "-separated names close to want (at most MAX_CLOSE_NAMES, best
 * first) into out; "" when none is. */
static void close_names(const char *const *names, size_t n, const char *want, char *out,
                        size_t size)
{
    close_name best[MAX_CLOSE_NAMES];
    size_t n_best = 0;
    size_t want_len = strlen(want);
    for (size_t i = 0; i < n; i++) {
        const char *name = names[i];
        size_t len = strlen(name);
        size_t shorter = len < want_len ? len : want_len;
        close_name c = {name, levenshtein(want, name, MAX_CLOSE_DISTANCE),
                        common_prefix(want, name)};
        bool is_close = c.distance <= MAX_CLOSE_DISTANCE ||
                        (c.prefix >= 3 && c.prefix == shorter) ||
                        (c.prefix >= 4 && 2 * c.prefix >= shorter);
        if (!is_close) {
            continue;
        }
        /* Insert into the sorted best list, dropping the worst when full. */
        size_t pos = n_best;
        while (pos > 0 && closer(&c, &best[pos - 1])) {
            pos--;
        }
        if (pos >= MAX_CLOSE_NAMES) {
            continue;
        }
        size_t last = n_best < MAX_CLOSE_NAMES ? n_best : MAX_CLOSE_NAMES - 1;
        memmove(&best[pos + 1], &best[pos], (last - pos) * sizeof(best[0]));
        best[pos] = c;
        if (n_best < MAX_CLOSE_NAMES) {
            n_best++;
        }
    }
    size_t off = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n_best && off < size; i++) {
        int w = snprintf(out + off, size - off, "%s%.200s", i ? ", " : "", best[i].name);
        if (w < 0) {
            break;
        }
        off += (size_t)w;
    }
}

/* Instance ids plus the definition ids of grouped SLOs, each once. */
static const char **slo_names(const br_slo_snapshot *snap, br_arena *arena, size_t *n_out)
{
    const char **names = br_arena_calloc(arena, snap->n_slos * 2 + 1, sizeof(char *));
    size_t n = 0;
    for (size_t i = 0; i < snap->n_slos; i++) {
        const br_slo_status *st = &snap->slos[i];
        names[n++] = st->instance_id;
        if (st->def->n_grouping > 0 && (i == 0 || snap->slos[i - 1].def != st->def)) {
            names[n++] = st->def->id;
        }
    }
    *n_out = n;
    return names;
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The distinct service names, sorted. */
static const char **service_names(const br_slo_snapshot *snap, br_arena *arena, size_t *n_out)
{
    const char **names = br_arena_calloc(arena, snap->n_slos + 1, sizeof(char *));
    for (size_t i = 0; i < snap->n_slos; i++) {
        names[i] = snap->slos[i].def->service;
    }
    qsort(names, snap->n_slos, sizeof(char *), cmp_str_ptr);
    size_t n = 0;
    for (size_t i = 0; i < snap->n_slos; i++) {
        if (n == 0 || strcmp(names[n - 1], names[i]) != 0) {
            names[n++] = names[i];
        }
    }
    *n_out = n;
    return names;
}

/* The 404 message for an id that names no instance. */
static void unknown_slo_message(const br_slo_snapshot *snap, br_arena *arena, const char *want,
                                char *msg, size_t size)
{
    /* A grouped definition's id: point at its instances. */
    const br_slo_def *grouped = NULL;
    for (size_t i = 0; i < snap->n_slos && grouped == NULL; i++) {
        if (snap->slos[i].def->n_grouping > 0 && strcmp(snap->slos[i].def->id, want) == 0) {
            grouped = snap->slos[i].def;
        }
    }
    if (grouped != NULL) {
        char by[256] = "";
        size_t bo = 0;
        for (size_t g = 0; g < grouped->n_grouping && bo < sizeof(by); g++) {
            int w = snprintf(by + bo, sizeof(by) - bo, "%s%s", g ? ", " : "", grouped->grouping[g]);
            bo += w > 0 ? (size_t)w : 0;
        }
        size_t off = (size_t)snprintf(msg, size,
                                      "SLO \"%.200s\" is grouped by %s; give an instance id "
                                      "(URL-encoded), one of: ",
                                      want, by);
        size_t shown = 0;
        for (size_t i = 0; i < snap->n_slos && off < size && shown < MAX_CLOSE_NAMES; i++) {
            if (snap->slos[i].def == grouped) {
                int w = snprintf(msg + off, size - off, "%s%.200s", shown ? ", " : "",
                                 snap->slos[i].instance_id);
                if (w < 0) {
                    break;
                }
                off += (size_t)w;
                shown++;
            }
        }
        return;
    }
    size_t n = 0;
    const char **names = slo_names(snap, arena, &n);
    char close[MSG_SIZE / 2];
    close_names(names, n, want, close, sizeof(close));
    if (close[0] != '\0') {
        snprintf(msg, size, "unknown SLO \"%.200s\"; close names: %s", want, close);
    } else {
        snprintf(msg, size,
                 "unknown SLO \"%.200s\"; no SLO id is close to it (GET /api/v1/slos lists "
                 "them)",
                 want);
    }
}

static void unknown_service_message(const br_slo_snapshot *snap, br_arena *arena, const char *want,
                                    char *msg, size_t size)
{
    size_t n = 0;
    const char **names = service_names(snap, arena, &n);
    char close[MSG_SIZE / 2];
    close_names(names, n, want, close, sizeof(close));
    if (close[0] != '\0') {
        snprintf(msg, size, "unknown service \"%.200s\"; close names: %s", want, close);
    } else {
        snprintf(msg, size,
                 "unknown service \"%.200s\"; no service name is close to it (GET "
                 "/api/v1/services lists them)",
                 want);
    }
}

/* ------------------------------------------------------------------------
 * Per-instance facts shared by the summary, the roll-up and the gate.
 * ---------------------------------------------------------------------- */

typedef struct view {
    const br_slo_snapshot *snap;
    int64_t now;
    int64_t max_data_age_ms;
    uint32_t shard_index; /* this instance's shard */
    uint32_t shard_count; /* 0 or 1 = not sharded */
} view;

/* The shard owning the SLO (rules/evaluator.h) and whether it is this one. */
static uint32_t owner_shard(const view *v, const br_slo_def *d)
{
    return br_slo_shard(d->id, v->shard_count);
}

static bool evaluated_here(const view *v, const br_slo_def *d)
{
    return v->shard_count <= 1 || owner_shard(v, d) == v->shard_index;
}

static bool eval_stale(const view *v)
{
    /* Three intervals, but never less than 30 s: with 1 s intervals a slow
     * tick is not a stuck evaluator. */
    int64_t limit = STALE_EVAL_INTERVALS * v->snap->interval_ms;
    if (limit < 30000) {
        limit = 30000;
    }
    return v->snap->interval_ms > 0 && v->now - v->snap->eval_time_ms > limit;
}

static bool sample_stale(const view *v, const br_slo_status *st)
{
    return st->last_sample_ms > 0 && v->now - st->last_sample_ms > v->max_data_age_ms;
}

static int firing_count(const br_slo_status *st)
{
    int n = 0;
    for (size_t i = 0; i < st->n_alerts; i++) {
        n += st->alerts[i].state == BR_ALERT_FIRING;
    }
    return n;
}

/* The window of exactly window_ms, or NULL. */
static const br_window_status *find_window(const br_slo_status *st, int64_t window_ms)
{
    for (size_t i = 0; i < st->n_windows; i++) {
        if (st->windows[i].window_ms == window_ms) {
            return &st->windows[i];
        }
    }
    /* A window as long as the period (a 1h SLO's 1h burn rate) is the period. */
    if (st->period.window_ms == window_ms) {
        return &st->period;
    }
    return NULL;
}

static int64_t period_length(const br_slo_status *st)
{
    if (st->period_start_ms != 0 && st->period_end_ms > st->period_start_ms) {
        return st->period_end_ms - st->period_start_ms;
    }
    return st->def->period.duration_ms;
}

/* Index of the state in its policy (0 = healthiest), or -1 for no state. */
static int state_rank(const br_slo_status *st)
{
    const br_policy *p = &st->def->policy;
    for (size_t i = 0; i < p->n_states; i++) {
        if (st->policy_state == &p->states[i] ||
            (st->policy_state != NULL && strcmp(st->policy_state->name, p->states[i].name) == 0)) {
            return (int)i;
        }
    }
    return -1;
}

static const char *calendar_unit_name(br_calendar_unit u)
{
    switch (u) {
    case BR_CAL_DAY:
        return "day";
    case BR_CAL_WEEK:
        return "week";
    case BR_CAL_MONTH:
        return "month";
    case BR_CAL_QUARTER:
        return "quarter";
    case BR_CAL_YEAR:
        return "year";
    }
    return "unknown";
}

/* ------------------------------------------------------------------------
 * SLO_SUMMARY (the list item) and the detail additions.
 * ---------------------------------------------------------------------- */

static void put_window_status(cJSON *arr, const br_window_status *w, bool is_period)
{
    cJSON *o = cJSON_CreateObject();
    put_window(o, "window", w->window_ms);
    cJSON_AddNumberToObject(o, "window_seconds", (double)w->window_ms / 1000.0);
    put_number(o, "error_ratio", w->error_ratio);
    put_number(o, "burn_rate", w->burn_rate);
    put_number(o, "bad", w->bad);
    put_number(o, "total", w->total);
    cJSON_AddBoolToObject(o, "period", is_period);
    cJSON_AddItemToArray(arr, o);
}

static void put_alert(cJSON *arr, const br_alert_status *a)
{
    cJSON *o = cJSON_CreateObject();
    put_string(o, "alertname", a->alertname);
    put_string(o, "kind", a->kind);
    put_string(o, "tier", a->tier);
    put_string(o, "severity", a->severity);
    cJSON_AddStringToObject(o, "state", br_alert_state_name(a->state));
    cJSON_AddBoolToObject(o, "condition", a->condition);
    put_time(o, "active_since", NULL, a->active_since_ms);
    put_window(o, "long_window", a->long_window_ms);
    put_window(o, "short_window", a->short_window_ms);
    put_number(o, "factor", a->factor);
    put_number(o, "long_value", a->long_value);
    put_number(o, "short_value", a->short_value);
    put_number(o, "threshold", a->threshold);
    cJSON_AddItemToArray(arr, o);
}

static cJSON *slo_summary(const view *v, const br_slo_status *st)
{
    const br_slo_def *d = st->def;
    assert(d != NULL);
    cJSON *o = cJSON_CreateObject();
    put_string(o, "id", st->instance_id);
    put_string(o, "slo_id", d->id);
    put_string(o, "service", d->service);
    put_string(o, "name", d->name);
    put_string(o, "description", d->description);
    put_kv(o, "labels", d->labels, d->n_labels);
    put_kv(o, "group_labels", st->group_labels, st->n_group_labels);
    cJSON_AddNumberToObject(o, "shard", owner_shard(v, d));
    cJSON_AddBoolToObject(o, "evaluated_here", evaluated_here(v, d));
    cJSON_AddStringToObject(o, "format", br_slo_format_name(d->format));
    if (d->file != NULL) {
        char src[320];
        snprintf(src, sizeof(src), "%.280s:%d", d->file, d->line);
        cJSON_AddStringToObject(o, "source", src);
    } else {
        cJSON_AddNullToObject(o, "source");
    }
    cJSON_AddStringToObject(o, "sli_kind", br_sli_kind_name(d->sli.kind));
    cJSON_AddStringToObject(o, "budgeting", br_budgeting_name(d->budgeting));
    put_number(o, "objective", d->objective);

    cJSON *p = cJSON_AddObjectToObject(o, "period");
    bool calendar = d->period.kind == BR_PERIOD_CALENDAR;
    int64_t plen = period_length(st);
    cJSON_AddStringToObject(p, "kind", calendar ? "calendar" : "rolling");
    cJSON_AddNumberToObject(p, "duration_seconds", (double)plen / 1000.0);
    put_string(p, "calendar", calendar ? calendar_unit_name(d->period.unit) : NULL);
    if (calendar) {
        cJSON_AddNumberToObject(p, "calendar_count", d->period.count);
        if (d->period.anchored) {
            int64_t y;
            int m;
            int dd;
            br_civil_from_days(d->period.anchor_day, &y, &m, &dd);
            char day[32];
            snprintf(day, sizeof(day), "%04lld-%02d-%02d", (long long)y, m, dd);
            cJSON_AddStringToObject(p, "calendar_start", day);
        }
    }
    put_time(p, "start_time", "start_ms", st->period_start_ms);
    put_time(p, "end_time", "end_ms", st->period_end_ms);

    put_number(o, "sli", st->sli);

    bool known = isfinite(st->budget_remaining);
    cJSON *b = cJSON_AddObjectToObject(o, "budget");
    put_number(b, "total_seconds", st->budget_total_ms / 1000.0);
    put_number(b, "remaining", st->budget_remaining);
    put_number(b, "consumed", known ? st->budget_consumed : NAN);
    put_number(b, "remaining_seconds", known ? st->budget_remaining_ms / 1000.0 : NAN);
    put_number(b, "consumed_last_hour", st->consumed_last_hour);
    /* +Inf (not burning) and NaN (unknown) are both null. */
    put_number(b, "exhaustion_eta_seconds", st->exhaustion_eta_s);

    cJSON *s = cJSON_AddObjectToObject(o, "state");
    const br_policy_state *ps = st->policy_state;
    put_string(s, "name", ps ? ps->name : NULL);
    cJSON_AddBoolToObject(s, "allow_deploy", ps != NULL && ps->allow_deploy);
    cJSON *actions = cJSON_AddArrayToObject(s, "actions");
    for (size_t i = 0; ps != NULL && i < ps->n_actions; i++) {
        cJSON_AddItemToArray(actions, cJSON_CreateString(ps->actions[i]));
    }
    put_time(s, "since", NULL, ps ? st->state_since_ms : 0);
    put_string(s, "previous", st->previous_state);

    cJSON *ws = cJSON_AddArrayToObject(o, "windows");
    for (size_t i = 0; i < st->n_windows; i++) {
        put_window_status(ws, &st->windows[i], false);
    }
    br_window_status pw = st->period;
    if (pw.window_ms <= 0) {
        pw.window_ms = plen; /* calendar periods: the part so far, else the period */
    }
    put_window_status(ws, &pw, true);

    cJSON *as = cJSON_AddArrayToObject(o, "alerts");
    for (size_t i = 0; i < st->n_alerts; i++) {
        put_alert(as, &st->alerts[i]);
    }
    cJSON_AddNumberToObject(o, "firing", firing_count(st));

    put_time(o, "last_sample_time", NULL, st->last_sample_ms);
    if (st->last_sample_ms > 0) {
        cJSON_AddNumberToObject(o, "data_age_seconds",
                                (double)(v->now - st->last_sample_ms) / 1000.0);
    } else {
        cJSON_AddNullToObject(o, "data_age_seconds");
    }
    cJSON_AddBoolToObject(o, "stale", eval_stale(v) || sample_stale(v, st));
    cJSON_AddBoolToObject(o, "no_data", st->no_data);
    /* A new or changed SLO still writing its past recorded series (its
     * numbers here are already current). */
    cJSON_AddBoolToObject(o, "replaying", st->replay_progress < 1.0);
    put_number(o, "replay_progress", st->replay_progress);
    put_string(o, "error", st->error);
    put_adjustments(o, st);
    return o;
}

/* Budget adjustments of the SLO: each one's state (active, upcoming,
 * past) and what it removed from the current period; `budget_restored`
 * is the errors it removed as a share of the period's budget. */
static void put_adjustments(cJSON *o, const br_slo_status *st)
{
    if (st->n_adjustments == 0) {
        return;
    }
    double budget = 1.0 - st->def->objective;
    cJSON *arr = cJSON_AddArrayToObject(o, "adjustments");
    for (size_t i = 0; i < st->n_adjustments; i++) {
        const br_adjust_status *a = &st->adjustments[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, x);
        put_string(x, "name", a->name);
        put_string(x, "category", a->category);
        const char *state = a->active ? "active"
                            : a->last_start_ms >= st->period_start_ms && a->last_start_ms > 0
                                ? "past"
                            : a->next_start_ms > 0 ? "upcoming"
                                                   : "past";
        put_string(x, "state", state);
        cJSON_AddNumberToObject(x, "excluded_seconds", (double)a->excluded_ms / 1000.0);
        put_number(x, "events_excluded", a->events_excluded);
        put_number(x, "errors_excluded", a->errors_excluded);
        put_number(x, "budget_restored", st->period.total > 0
                                             ? a->errors_excluded / (budget * st->period.total)
                                             : NAN);
        put_time(x, "last_start", NULL, a->last_start_ms);
        put_time(x, "last_end", NULL, a->last_end_ms);
        put_time(x, "next_start", NULL, a->next_start_ms);
    }
    cJSON *tot = cJSON_AddObjectToObject(o, "adjusted");
    cJSON_AddNumberToObject(tot, "excluded_seconds", (double)st->excluded_ms / 1000.0);
    put_number(tot, "events_excluded", st->excluded_events);
    put_number(tot, "errors_excluded", st->excluded_errors);
}

/* The PromQL behind the SLI over each window: the expressions of the
 * recording rules `burnrate generate` writes for the SLO (one line each),
 * keyed "sli_<window>", and "sli_period" for the period. */
static void put_queries(cJSON *q, const br_slo_status *st)
{
    br_arena arena;
    br_arena_init(&arena, 16 * 1024, 0);
    br_gen_rules rules = {0};
    br_err err;
    br_err_clear(&err);
    if (br_generate_build_slo(st->def, &arena, &rules, &err) != 0) {
        br_arena_free(&arena);
        return;
    }
    char period[64];
    br_buf pb;
    br_buf_init(&pb, 0);
    br_promql_print_duration(st->def->period.duration_ms, &pb);
    snprintf(period, sizeof(period), "%s", br_buf_str(&pb));
    br_buf_free(&pb);
    static const char prefix[] = "slo:sli_error:ratio_rate";
    for (size_t g = 0; g < rules.n_groups; g++) {
        if (rules.groups[g].kind != BR_GEN_GROUP_SLI) {
            continue;
        }
        for (size_t r = 0; r < rules.groups[g].n_rules; r++) {
            const br_gen_rule *rule = &rules.groups[g].rules[r];
            if (strncmp(rule->name, prefix, sizeof(prefix) - 1) != 0) {
                continue;
            }
            const char *w = rule->name + sizeof(prefix) - 1;
            char key[96];
            snprintf(key, sizeof(key), "sli_%s", strcmp(w, period) == 0 ? "period" : w);
            if (cJSON_GetObjectItemCaseSensitive(q, key) == NULL) {
                cJSON_AddStringToObject(q, key, rule->query);
            }
        }
    }
    br_arena_free(&arena);
}

static void add_detail(cJSON *o, const br_slo_status *st)
{
    const br_slo_def *d = st->def;
    cJSON *pol = cJSON_AddArrayToObject(o, "policy");
    for (size_t i = 0; i < d->policy.n_states; i++) {
        const br_policy_state *ps = &d->policy.states[i];
        cJSON *s = cJSON_CreateObject();
        put_string(s, "name", ps->name);
        put_number(s, "above", ps->min_remaining); /* -inf (the last state) is null */
        cJSON_AddBoolToObject(s, "allow_deploy", ps->allow_deploy);
        cJSON *acts = cJSON_AddArrayToObject(s, "actions");
        for (size_t j = 0; j < ps->n_actions; j++) {
            cJSON_AddItemToArray(acts, cJSON_CreateString(ps->actions[j]));
        }
        cJSON_AddItemToArray(pol, s);
    }
    cJSON *q = cJSON_AddObjectToObject(o, "queries");
    put_queries(q, st);
    cJSON *tiers = cJSON_AddArrayToObject(o, "alert_tiers");
    for (size_t i = 0; i < d->alerting.n_tiers; i++) {
        const br_burn_tier *t = &d->alerting.tiers[i];
        cJSON *x = cJSON_CreateObject();
        put_string(x, "name", t->name);
        put_string(x, "severity", t->severity);
        put_window(x, "long_window", t->long_window_ms);
        put_window(x, "short_window", t->short_window_ms);
        put_number(x, "factor", t->factor);
        char f[64];
        cJSON_AddStringToObject(x, "for", fmt_window(t->for_ms, f, sizeof(f)));
        cJSON_AddBoolToObject(x, "disabled",
                              t->disabled ||
                                  (strcmp(t->severity, "page") == 0 ? d->alerting.page_disabled
                                                                    : d->alerting.ticket_disabled));
        cJSON_AddItemToArray(tiers, x);
    }
}

/* ------------------------------------------------------------------------
 * GET /api/v1/slos
 * ---------------------------------------------------------------------- */

static bool kv_has(const br_kv *kv, size_t n, const char *key, size_t key_len, const char *value)
{
    for (size_t i = 0; i < n; i++) {
        if (kv[i].key != NULL && strlen(kv[i].key) == key_len &&
            strncmp(kv[i].key, key, key_len) == 0 && kv[i].value != NULL &&
            strcmp(kv[i].value, value) == 0) {
            return true;
        }
    }
    return false;
}

static bool contains_ci(const char *hay, const char *needle)
{
    return hay != NULL && strcasestr(hay, needle) != NULL;
}

static bool list_matches(const br_slo_status *st, const char *service, const char *state,
                         const char *const *labels, size_t n_labels, const char *q)
{
    const br_slo_def *d = st->def;
    if (service != NULL && strcmp(d->service, service) != 0) {
        return false;
    }
    if (state != NULL) {
        if (st->policy_state == NULL) {
            if (strcmp(state, "no_data") != 0) {
                return false;
            }
        } else if (strcmp(st->policy_state->name, state) != 0) {
            return false;
        }
    }
    for (size_t i = 0; i < n_labels; i++) {
        const char *eq = strchr(labels[i], '=');
        size_t klen = (size_t)(eq - labels[i]);
        if (!kv_has(d->labels, d->n_labels, labels[i], klen, eq + 1) &&
            !kv_has(st->group_labels, st->n_group_labels, labels[i], klen, eq + 1)) {
            return false;
        }
    }
    if (q != NULL && !contains_ci(st->instance_id, q) && !contains_ci(d->service, q) &&
        !contains_ci(d->name, q) && !contains_ci(d->description, q)) {
        return false;
    }
    return true;
}

static int handle_list(void *ctx, br_http_request *req, br_http_response *resp)
{
    const br_budget_api *api = ctx;
    const char *labels[MAX_LABEL_FILTERS];
    size_t n_labels = br_http_param_all(req, "label", labels, MAX_LABEL_FILTERS);
    if (n_labels > MAX_LABEL_FILTERS) {
        respond_error(resp, 400, "bad_data",
                      "invalid parameter \"label\": at most %d label filters are allowed",
                      MAX_LABEL_FILTERS);
        return 0;
    }
    for (size_t i = 0; i < n_labels; i++) {
        const char *eq = strchr(labels[i], '=');
        if (eq == NULL || eq == labels[i]) {
            respond_error(resp, 400, "bad_data",
                          "invalid parameter \"label\": expected name=value, got \"%.200s\"",
                          labels[i]);
            return 0;
        }
    }
    const char *service = param(req, "service");
    const char *state = param(req, "state");
    const char *q = param(req, "q");
    br_slo_snapshot *snap = take_snapshot(api);
    if (snap == NULL) {
        respond_error(resp, 503, "unavailable", NO_EVAL_MSG);
        return 0;
    }
    view v = {snap, api_now(api), api_max_data_age(api), api->shard_index, api->shard_count};
    cJSON *data = cJSON_CreateObject();
    put_eval_info(data, snap);
    cJSON *arr = cJSON_AddArrayToObject(data, "slos");
    for (size_t i = 0; i < snap->n_slos; i++) {
        const br_slo_status *st = &snap->slos[i];
        if (list_matches(st, service, state, labels, n_labels, q)) {
            cJSON_AddItemToArray(arr, slo_summary(&v, st));
        }
    }
    br_slo_snapshot_unref(snap);
    respond_success(resp, data);
    return 0;
}

/* ------------------------------------------------------------------------
 * GET /api/v1/slos/{id}/history
 * ---------------------------------------------------------------------- */

/* About HISTORY_TARGET points, rounded up to a whole second below a minute
 * and to a whole minute above. */
static int64_t default_step(int64_t span_ms)
{
    int64_t step = (span_ms + HISTORY_TARGET - 1) / HISTORY_TARGET;
    if (step <= 1000) {
        return 1000;
    }
    if (step < 60000) {
        return (step + 999) / 1000 * 1000;
    }
    return (step + 59999) / 60000 * 60000;
}

static void respond_history(const br_budget_api *api, const br_slo_status *st,
                            const br_http_request *req, br_http_response *resp, int64_t now)
{
    const br_slo_def *d = st->def;
    br_err err;
    br_err_clear(&err);
    int64_t end = now;
    const char *pe = param(req, "end");
    if (pe != NULL && br_api_parse_time("end", pe, &end, &err) != 0) {
        respond_error(resp, 400, "bad_data", "%s", err.msg);
        return;
    }
    int64_t start = 0;
    const char *ps = param(req, "start");
    if (ps != NULL) {
        if (br_api_parse_time("start", ps, &start, &err) != 0) {
            respond_error(resp, 400, "bad_data", "%s", err.msg);
            return;
        }
    } else if (d->period.kind == BR_PERIOD_CALENDAR && st->period_start_ms != 0 &&
               st->period_start_ms <= end) {
        start = st->period_start_ms;
    } else {
        start = end - d->period.duration_ms;
    }
    if (end < start) {
        respond_error(resp, 400, "bad_data",
                      "invalid parameter \"end\": end timestamp must not be before start time");
        return;
    }
    int64_t step = 0;
    const char *pst = param(req, "step");
    if (pst != NULL) {
        if (br_api_parse_duration("step", pst, &step, &err) != 0) {
            respond_error(resp, 400, "bad_data", "%s", err.msg);
            return;
        }
        if (step <= 0) {
            respond_error(resp, 400, "bad_data",
                          "invalid parameter \"step\": zero or negative query resolution step "
                          "widths are not accepted. Try a positive integer");
            return;
        }
    } else {
        step = default_step(end - start);
    }
    size_t max_points =
        api->max_history_points > 0 ? api->max_history_points : BR_BUDGET_DEFAULT_MAX_POINTS;
    uint64_t points = (uint64_t)((end - start) / step) + 1;
    if (points > max_points) {
        respond_error(resp, 400, "bad_data",
                      "invalid parameter \"step\": %llu points between start and end exceed "
                      "the limit of %zu; use a larger step",
                      (unsigned long long)points, max_points);
        return;
    }
    if (api->src->history == NULL) {
        respond_error(resp, 503, "unavailable", "this evaluator keeps no budget history");
        return;
    }
    br_arena arena;
    /* The evaluator reads every SLI series over the range into this arena:
     * room for a few thousand series, not only the points. */
    br_arena_init(&arena, 0, max_points * sizeof(br_history_point) + 256u * 1024 * 1024);
    br_history h = {NULL, 0};
    int rc = api->src->history(api->src->ctx, st->instance_id, start, end, step, max_points, &arena,
                               &h, &err);
    if (rc == BR_ENOTFOUND) {
        respond_error(resp, 404, "not_found", "no history for SLO \"%.200s\": %s", st->instance_id,
                      err.msg);
    } else if (rc == BR_ELIMIT) {
        respond_error(resp, 400, "bad_data", "invalid parameter \"step\": %s", err.msg);
    } else if (rc == BR_EBUSY || rc == BR_ETIMEOUT) {
        respond_error(resp, 503, "unavailable", "budget history unavailable: %s", err.msg);
    } else if (rc != 0) {
        respond_error(resp, 500, "internal", "budget history failed: %s", err.msg);
    } else {
        cJSON *data = cJSON_CreateObject();
        put_string(data, "id", st->instance_id);
        put_number(data, "objective", d->objective);
        cJSON_AddNumberToObject(data, "start_ms", (double)start);
        cJSON_AddNumberToObject(data, "end_ms", (double)end);
        cJSON_AddNumberToObject(data, "step_seconds", (double)step / 1000.0);
        cJSON *pts = cJSON_AddArrayToObject(data, "points");
        size_t n = h.n;
        if (BR_NEVER(n > max_points)) {
            n = max_points;
        }
        for (size_t i = 0; i < n; i++) {
            const br_history_point *p = &h.points[i];
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "t_ms", (double)p->t_ms);
            put_number(o, "budget_remaining", p->budget_remaining);
            put_number(o, "error_ratio", p->error_ratio);
            put_number(o, "burn_rate_1h", p->burn_rate_1h);
            cJSON_AddItemToArray(pts, o);
        }
        /* The ideal burn-down exists for calendar periods only: the whole
         * budget at the start, none at the end, a straight line between. */
        if (d->period.kind == BR_PERIOD_CALENDAR && st->period_start_ms != 0 &&
            st->period_end_ms > st->period_start_ms) {
            cJSON *ideal = cJSON_AddArrayToObject(data, "ideal");
            cJSON *a = cJSON_CreateObject();
            cJSON_AddNumberToObject(a, "t_ms", (double)st->period_start_ms);
            cJSON_AddNumberToObject(a, "budget_remaining", 1.0);
            cJSON_AddItemToArray(ideal, a);
            cJSON *b = cJSON_CreateObject();
            cJSON_AddNumberToObject(b, "t_ms", (double)st->period_end_ms);
            cJSON_AddNumberToObject(b, "budget_remaining", 0.0);
            cJSON_AddItemToArray(ideal, b);
        } else {
            cJSON_AddNullToObject(data, "ideal");
        }
        respond_success(resp, data);
    }
    br_arena_free(&arena);
}

/* ------------------------------------------------------------------------
 * GET /api/v1/slos/{id} and /api/v1/slos/{id}/history
 * ---------------------------------------------------------------------- */

static int handle_slo_path(void *ctx, br_http_request *req, br_http_response *resp)
{
    const br_budget_api *api = ctx;
    size_t plen = strlen(SLOS_PREFIX);
    if (strncmp(req->path, SLOS_PREFIX, plen) != 0 || req->path[plen] == '\0') {
        respond_error(resp, 404, "not_found",
                      "missing SLO id: use /api/v1/slos/{id} with the id URL-encoded");
        return 0;
    }
    const char *rest = req->path + plen;
    size_t len = strlen(rest);
    if (len > MAX_ID_BYTES + sizeof(HISTORY_SUFFIX)) {
        respond_error(resp, 400, "bad_data", "invalid SLO id: longer than %d bytes", MAX_ID_BYTES);
        return 0;
    }
    br_slo_snapshot *snap = take_snapshot(api);
    if (snap == NULL) {
        respond_error(resp, 503, "unavailable", NO_EVAL_MSG);
        return 0;
    }
    const char *id = rest;
    const br_slo_status *st = br_slo_snapshot_find(snap, rest);
    bool history = false;
    size_t sl = strlen(HISTORY_SUFFIX);
    if (st == NULL && len > sl && strcmp(rest + len - sl, HISTORY_SUFFIX) == 0) {
        history = true;
        id = br_arena_strndup(req->arena, rest, len - sl);
        st = br_slo_snapshot_find(snap, id);
    }
    int64_t now = api_now(api);
    if (st == NULL) {
        char msg[MSG_SIZE];
        unknown_slo_message(snap, req->arena, id, msg, sizeof(msg));
        respond_error(resp, 404, "not_found", "%s", msg);
    } else if (history) {
        respond_history(api, st, req, resp, now);
    } else {
        view v = {snap, now, api_max_data_age(api), api->shard_index, api->shard_count};
        cJSON *o = slo_summary(&v, st);
        add_detail(o, st);
        respond_success(resp, o);
    }
    br_slo_snapshot_unref(snap);
    return 0;
}

/* ------------------------------------------------------------------------
 * Gate decisions (also behind /api/v1/services' allow_deploy).
 * ---------------------------------------------------------------------- */

typedef struct criteria {
    double min_remaining; /* NaN = not given */
    double max_burn_rate; /* NaN = not given */
    const char *allow_states[MAX_ALLOW_STATES];
    size_t n_allow_states; /* 0 = the policy's allow_deploy decides */
    bool no_data_allows;
    int64_t max_data_age_ms;
} criteria;

typedef struct judgement {
    bool policy_deny; /* a reason from the policy, a threshold or a page */
    bool data_deny;   /* no data, stale data or a failed evaluation */
} judgement;

static void add_reason(cJSON *reasons, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_reason(cJSON *reasons, const char *fmt, ...)
{
    if (reasons == NULL) {
        return;
    }
    char msg[MSG_SIZE / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cJSON_AddItemToArray(reasons, cJSON_CreateString(msg));
}

/* Decides one instance; reasons (may be NULL) gets one sentence per
 * reason, naming the SLO and the numbers. */
static judgement judge(const view *v, const br_slo_status *st, const criteria *c, cJSON *reasons)
{
    judgement j = {false, false};
    const char *id = st->instance_id;
    char a[64];
    char b[64];
    char e[64];
    if (eval_stale(v)) {
        j.data_deny = true;
        add_reason(reasons,
                   "%s: the last SLO evaluation is %s old, more than %d evaluation intervals "
                   "of %s; the evaluator may be stuck",
                   id, fmt_window(v->now - v->snap->eval_time_ms, a, sizeof(a)),
                   STALE_EVAL_INTERVALS, fmt_window(v->snap->interval_ms, b, sizeof(b)));
    }
    int64_t age = v->now - st->last_sample_ms;
    if (st->last_sample_ms > 0 && age > c->max_data_age_ms) {
        j.data_deny = true;
        add_reason(reasons,
                   "%s: data is stale: the newest SLI sample is %s old, older than "
                   "max_data_age %s",
                   id, fmt_window(age, a, sizeof(a)), fmt_window(c->max_data_age_ms, b, sizeof(b)));
    }
    bool no_data = st->no_data || st->policy_state == NULL;
    if (!evaluated_here(v, st->def)) {
        /* Never excused by on_no_data=allow: the budget is known, elsewhere. */
        j.data_deny = true;
        add_reason(reasons,
                   "%s: evaluated by shard %u, not by this instance (shard %u of %u); ask "
                   "an instance of shard %u",
                   id, owner_shard(v, st->def), v->shard_index, v->shard_count,
                   owner_shard(v, st->def));
    } else if (st->error != NULL) {
        j.data_deny = true;
        add_reason(reasons, "%s: evaluation failed: %s", id, st->error);
    } else if (no_data && !c->no_data_allows) {
        j.data_deny = true;
        add_reason(reasons,
                   "%s: no data: no traffic in the %s period, so the budget is unknown "
                   "(on_no_data=allow accepts this)",
                   id, fmt_window(period_length(st), a, sizeof(a)));
    }
    const br_policy_state *ps = st->policy_state;
    if (ps != NULL) {
        if (c->n_allow_states > 0) {
            bool listed = false;
            char list[256] = "";
            size_t off = 0;
            for (size_t i = 0; i < c->n_allow_states; i++) {
                listed = listed || strcmp(c->allow_states[i], ps->name) == 0;
                if (off < sizeof(list)) {
                    int w = snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "",
                                     c->allow_states[i]);
                    off += w > 0 ? (size_t)w : 0;
                }
            }
            if (!listed) {
                j.policy_deny = true;
                add_reason(reasons,
                           "%s: error-budget policy state \"%s\" (budget remaining %s) is not "
                           "in allow_states (%s)",
                           id, ps->name, fmt_pct(st->budget_remaining, a, sizeof(a)), list);
            }
        } else if (!ps->allow_deploy) {
            j.policy_deny = true;
            add_reason(reasons,
                       "%s: error-budget policy state \"%s\" (budget remaining %s) does not "
                       "allow deploys",
                       id, ps->name, fmt_pct(st->budget_remaining, a, sizeof(a)));
        }
    }
    if (!isnan(c->min_remaining) && !isnan(st->budget_remaining) &&
        st->budget_remaining < c->min_remaining) {
        j.policy_deny = true;
        add_reason(reasons, "%s: budget remaining %s is below the minimum %s", id,
                   fmt_pct(st->budget_remaining, a, sizeof(a)),
                   fmt_pct(c->min_remaining, b, sizeof(b)));
    }
    if (!isnan(c->max_burn_rate)) {
        const br_window_status *w = find_window(st, HOUR_MS);
        if (w == NULL && !no_data) {
            j.data_deny = true;
            add_reason(reasons,
                       "%s: no 1h burn rate is computed for this SLO (no alert window of 1h), "
                       "so max_burn_rate cannot be checked",
                       id);
        } else if (w != NULL && !isnan(w->burn_rate) && w->burn_rate > c->max_burn_rate) {
            j.policy_deny = true;
            add_reason(reasons, "%s: 1h burn rate %.2f is above the maximum %s", id, w->burn_rate,
                       fmt_exact(c->max_burn_rate, b, sizeof(b)));
        }
    }
    for (size_t i = 0; i < st->n_alerts; i++) {
        const br_alert_status *al = &st->alerts[i];
        if (al->state != BR_ALERT_FIRING || al->severity == NULL ||
            strcmp(al->severity, "page") != 0) {
            continue;
        }
        j.policy_deny = true;
        if (al->kind != NULL && strcmp(al->kind, "burn_rate") == 0) {
            add_reason(reasons,
                       "%s: page alert %s (%s) is firing: burn rate %.2f over %s and %.2f over "
                       "%s, above %s",
                       id, al->alertname ? al->alertname : "?", al->tier ? al->tier : "?",
                       al->long_value, fmt_window(al->long_window_ms, a, sizeof(a)),
                       al->short_value, fmt_window(al->short_window_ms, b, sizeof(b)),
                       fmt_exact(al->threshold, e, sizeof(e)));
        } else {
            add_reason(reasons, "%s: page alert %s (%s) is firing: value %.4g, threshold %.4g", id,
                       al->alertname ? al->alertname : "?", al->kind ? al->kind : "?",
                       al->long_value, al->threshold);
        }
    }
    return j;
}

static criteria default_criteria(const br_budget_api *api)
{
    criteria c;
    memset(&c, 0, sizeof(c));
    c.min_remaining = NAN;
    c.max_burn_rate = NAN;
    c.max_data_age_ms = api_max_data_age(api);
    return c;
}

/* ------------------------------------------------------------------------
 * GET /api/v1/services
 * ---------------------------------------------------------------------- */

static int cmp_by_service(const void *x, const void *y)
{
    const br_slo_status *a = *(const br_slo_status *const *)x;
    const br_slo_status *b = *(const br_slo_status *const *)y;
    int c = strcmp(a->def->service, b->def->service);
    return c != 0 ? c : strcmp(a->instance_id, b->instance_id);
}

static int handle_services(void *ctx, br_http_request *req, br_http_response *resp)
{
    const br_budget_api *api = ctx;
    br_slo_snapshot *snap = take_snapshot(api);
    if (snap == NULL) {
        respond_error(resp, 503, "unavailable", NO_EVAL_MSG);
        return 0;
    }
    view v = {snap, api_now(api), api_max_data_age(api), api->shard_index, api->shard_count};
    criteria c = default_criteria(api);
    const br_slo_status **order =
        br_arena_calloc(req->arena, snap->n_slos + 1, sizeof(br_slo_status *));
    for (size_t i = 0; i < snap->n_slos; i++) {
        order[i] = &snap->slos[i];
    }
    qsort(order, snap->n_slos, sizeof(order[0]), cmp_by_service);
    cJSON *data = cJSON_CreateObject();
    put_eval_info(data, snap);
    cJSON *arr = cJSON_AddArrayToObject(data, "services");
    size_t i = 0;
    while (i < snap->n_slos) {
        const char *service = order[i]->def->service;
        int n = 0;
        int worst = -1;
        const char *worst_name = NULL;
        double min_rem = NAN;
        int firing = 0;
        int no_data = 0;
        int stale = 0;
        bool allow = true;
        for (; i < snap->n_slos && strcmp(order[i]->def->service, service) == 0; i++) {
            const br_slo_status *st = order[i];
            n++;
            int rank = state_rank(st);
            if (rank > worst) {
                worst = rank;
                worst_name = st->policy_state->name;
            }
            if (!isnan(st->budget_remaining) &&
                (isnan(min_rem) || st->budget_remaining < min_rem)) {
                min_rem = st->budget_remaining;
            }
            firing += firing_count(st);
            no_data += st->no_data || st->policy_state == NULL;
            stale += eval_stale(&v) || sample_stale(&v, st);
            judgement j = judge(&v, st, &c, NULL);
            allow = allow && !j.policy_deny && !j.data_deny;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "service", service);
        cJSON_AddNumberToObject(o, "slos", n);
        put_string(o, "worst_state", worst_name);
        put_number(o, "min_budget_remaining", min_rem);
        cJSON_AddNumberToObject(o, "firing", firing);
        cJSON_AddNumberToObject(o, "no_data", no_data);
        cJSON_AddNumberToObject(o, "stale", stale);
        cJSON_AddBoolToObject(o, "allow_deploy", allow);
        cJSON_AddItemToArray(arr, o);
    }
    br_slo_snapshot_unref(snap);
    respond_success(resp, data);
    return 0;
}

/* ------------------------------------------------------------------------
 * GET /api/v1/gate
 * ---------------------------------------------------------------------- */

/* The gate's answer for errors: a plain object that is also Prometheus'
 * error envelope, so either kind of client reads it. */
static void gate_error(br_http_response *resp, int status, const char *type, const char *service,
                       const char *slo, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void gate_error(br_http_response *resp, int status, const char *type, const char *service,
                       const char *slo, const char *fmt, ...)
{
    char msg[MSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "allow", false);
    cJSON_AddStringToObject(o, "decision", status == 503 ? "no_data" : "error");
    put_string(o, "service", service);
    put_string(o, "slo", slo);
    cJSON *reasons = cJSON_AddArrayToObject(o, "reasons");
    cJSON_AddItemToArray(reasons, cJSON_CreateString(msg));
    cJSON_AddStringToObject(o, "status", "error");
    cJSON_AddStringToObject(o, "errorType", type);
    cJSON_AddStringToObject(o, "error", msg);
    respond_json(resp, status, o);
}

/* "25%" or "0.25" into 0.25. */
static int parse_ratio(const char *name, const char *s, double *out, br_err *err)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    bool pct = false;
    if (end != s) {
        while (*end == ' ') {
            end++;
        }
        if (*end == '%') {
            pct = true;
            end++;
        }
    }
    if (end == s || *end != '\0' || errno != 0 || !isfinite(v)) {
        return br_err_set(err, BR_EPARSE,
                          "invalid parameter \"%s\": \"%.100s\" is not a ratio; write 25%% or "
                          "0.25",
                          name, s);
    }
    if (pct) {
        v /= 100.0;
    } else if (v > 1.0) {
        return br_err_set(err, BR_EPARSE,
                          "invalid parameter \"%s\": %.100s is more than 1; write %.100s%% for a "
                          "percentage",
                          name, s, s);
    }
    if (v < 0.0 || v > 1.0) {
        return br_err_set(err, BR_EPARSE,
                          "invalid parameter \"%s\": \"%.100s\" is outside 0%%..100%%", name, s);
    }
    *out = v;
    return 0;
}

static int parse_burn_rate(const char *s, double *out, br_err *err)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !isfinite(v) || v < 0.0) {
        return br_err_set(err, BR_EPARSE,
                          "invalid parameter \"max_burn_rate\": \"%.100s\" is not a number >= 0 "
                          "(1 burns the budget exactly over the period)",
                          s);
    }
    *out = v;
    return 0;
}

/* Splits a,b,c (spaces allowed) into c->allow_states, copies in arena. */
static int parse_allow_states(const char *s, br_arena *arena, criteria *c, br_err *err)
{
    char *copy = br_arena_strdup(arena, s);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ') {
            tok++;
        }
        size_t len = strlen(tok);
        while (len > 0 && tok[len - 1] == ' ') {
            tok[--len] = '\0';
        }
        if (len == 0) {
            continue;
        }
        if (c->n_allow_states >= MAX_ALLOW_STATES) {
            return br_err_set(err, BR_EPARSE,
                              "invalid parameter \"allow_states\": more than %d states",
                              MAX_ALLOW_STATES);
        }
        c->allow_states[c->n_allow_states++] = tok;
    }
    if (c->n_allow_states == 0) {
        return br_err_set(err, BR_EPARSE,
                          "invalid parameter \"allow_states\": give a comma-separated list of "
                          "policy states, e.g. healthy,caution");
    }
    return 0;
}

/* Every allowed state must be a state of at least one selected SLO's
 * policy, so a typo cannot silently deny (or allow) everything. */
static int check_allow_states(const criteria *c, const br_slo_status *const *sel, size_t n,
                              br_err *err)
{
    for (size_t k = 0; k < c->n_allow_states; k++) {
        bool known = false;
        for (size_t i = 0; i < n && !known; i++) {
            const br_policy *p = &sel[i]->def->policy;
            for (size_t s = 0; s < p->n_states && !known; s++) {
                known = strcmp(p->states[s].name, c->allow_states[k]) == 0;
            }
        }
        if (!known) {
            char names[256] = "";
            size_t off = 0;
            const br_policy *p = &sel[0]->def->policy;
            for (size_t s = 0; s < p->n_states && off < sizeof(names); s++) {
                int w = snprintf(names + off, sizeof(names) - off, "%s%s", s ? ", " : "",
                                 p->states[s].name);
                off += w > 0 ? (size_t)w : 0;
            }
            return br_err_set(err, BR_EPARSE,
                              "invalid parameter \"allow_states\": unknown state \"%.64s\"; the "
                              "policy states are %s",
                              c->allow_states[k], names);
        }
    }
    return 0;
}

/* With record=true, the decision becomes a `gate` annotation: title (or
 * "gate <decision>: <service|slo>"), text listing the SLOs checked, the
 * reasons and pipeline=/commit= when given; tags: allow|deny, tag=
 * values, pipeline:<p>, commit:<c>. The annotation's id (or why it could
 * not be stored) is added to the answer. */
static void record_gate(const br_budget_api *api, br_http_request *req, cJSON *o,
                        const char *service, const char *slo, const char *decision, bool allow,
                        int64_t now)
{
    const char *record = param(req, "record");
    if (record == NULL || (strcmp(record, "true") != 0 && strcmp(record, "1") != 0)) {
        return;
    }
    if (api->annotations == NULL) {
        cJSON_AddStringToObject(o, "annotation_error", "annotations are not available");
        return;
    }
    const char *pipeline = param(req, "pipeline");
    const char *commit = param(req, "commit");
    const char *title = param(req, "title");
    br_buf text;
    br_buf_init(&text, BR_ANNOTATION_MAX_TEXT / 2);
    br_buf_printf(&text, "decision: %s; SLOs:", decision);
    const cJSON *item = NULL;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(o, "slos"))
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
        br_buf_printf(&text, " %s", cJSON_IsString(id) ? id->valuestring : "?");
    }
    const cJSON *reasons = cJSON_GetObjectItemCaseSensitive(o, "reasons");
    if (cJSON_GetArraySize(reasons) > 0) {
        br_buf_puts(&text, "; reasons:");
        cJSON_ArrayForEach(item, reasons)
        {
            br_buf_printf(&text, " %s;", item->valuestring);
        }
    }
    if (pipeline != NULL) {
        br_buf_printf(&text, " pipeline: %s;", pipeline);
    }
    if (commit != NULL) {
        br_buf_printf(&text, " commit: %s;", commit);
    }
    const char *tags[BR_ANNOTATION_MAX_TAGS];
    size_t nt = br_http_param_all(req, "tag", tags, BR_ANNOTATION_MAX_TAGS - 3);
    if (nt > BR_ANNOTATION_MAX_TAGS - 3) {
        nt = BR_ANNOTATION_MAX_TAGS - 3;
    }
    if (pipeline != NULL) {
        tags[nt++] = br_arena_printf(req->arena, "pipeline:%.200s", pipeline);
    }
    if (commit != NULL) {
        tags[nt++] = br_arena_printf(req->arena, "commit:%.200s", commit);
    }
    const char *target = slo != NULL ? slo : br_arena_printf(req->arena, "{service=\"%s\"}", service);
    if (title == NULL || title[0] == '\0') {
        title = br_arena_printf(req->arena, "gate %s: %s", decision, slo ? slo : service);
    }
    const char *author = br_http_header(req, "X-Burnrate-Author");
    char who[160];
    char addr[64];
    br_http_remote_addr(req, addr, sizeof(addr));
    snprintf(who, sizeof(who), "%.80s%sgate (addr:%s)", author ? author : "", author ? ", " : "",
             addr[0] ? addr : "unknown");
    br_err err;
    br_err_clear(&err);
    uint64_t id = 0;
    if (br_annotations_record_gate(api->annotations, now, target, allow, title, br_buf_str(&text),
                                   tags, nt, who, &id, &err) == 0) {
        cJSON_AddNumberToObject(o, "annotation_id", (double)id);
    } else {
        cJSON_AddStringToObject(o, "annotation_error", err.msg);
    }
    br_buf_free(&text);
}

static int handle_gate(void *ctx, br_http_request *req, br_http_response *resp)
{
    const br_budget_api *api = ctx;
    const char *service = param(req, "service");
    const char *slo = param(req, "slo");
    criteria c = default_criteria(api);
    br_err err;
    br_err_clear(&err);
    if (service == NULL && slo == NULL) {
        gate_error(resp, 400, "bad_data", NULL, NULL,
                   "missing parameter \"service\" or \"slo\": say which service or SLO wants "
                   "to deploy");
        return 0;
    }
    if (service != NULL && slo != NULL) {
        gate_error(resp, 400, "bad_data", service, slo,
                   "invalid parameters \"service\" and \"slo\": give one of them, not both");
        return 0;
    }
    if ((service != NULL && strlen(service) > MAX_ID_BYTES) ||
        (slo != NULL && strlen(slo) > MAX_ID_BYTES)) {
        gate_error(resp, 400, "bad_data", NULL, NULL,
                   "invalid parameter \"%s\": longer than %d bytes", service ? "service" : "slo",
                   MAX_ID_BYTES);
        return 0;
    }
    const char *p = param(req, "min_remaining");
    int rc = 0;
    if (p != NULL) {
        rc = parse_ratio("min_remaining", p, &c.min_remaining, &err);
    }
    p = param(req, "max_burn_rate");
    if (rc == 0 && p != NULL) {
        rc = parse_burn_rate(p, &c.max_burn_rate, &err);
    }
    p = br_http_param_get(req, "allow_states");
    if (rc == 0 && p != NULL) {
        rc = parse_allow_states(p, req->arena, &c, &err);
    }
    p = param(req, "on_no_data");
    if (rc == 0 && p != NULL) {
        if (strcmp(p, "allow") == 0) {
            c.no_data_allows = true;
        } else if (strcmp(p, "deny") != 0) {
            rc = br_err_set(&err, BR_EPARSE,
                            "invalid parameter \"on_no_data\": \"%.100s\" is neither deny nor "
                            "allow",
                            p);
        }
    }
    p = param(req, "max_data_age");
    if (rc == 0 && p != NULL) {
        rc = br_api_parse_duration("max_data_age", p, &c.max_data_age_ms, &err);
        if (rc == 0 && c.max_data_age_ms <= 0) {
            rc = br_err_set(&err, BR_EPARSE,
                            "invalid parameter \"max_data_age\": must be a positive duration");
        }
    }
    if (rc != 0) {
        gate_error(resp, 400, "bad_data", service, slo, "%s", err.msg);
        return 0;
    }

    br_slo_snapshot *snap = take_snapshot(api);
    if (snap == NULL) {
        gate_error(resp, 503, "unavailable", service, slo, NO_EVAL_MSG);
        return 0;
    }
    int64_t now = api_now(api);
    view v = {snap, now, c.max_data_age_ms, api->shard_index, api->shard_count};
    const br_slo_status **sel =
        br_arena_calloc(req->arena, snap->n_slos + 1, sizeof(br_slo_status *));
    size_t n = 0;
    if (service != NULL) {
        for (size_t i = 0; i < snap->n_slos; i++) {
            if (strcmp(snap->slos[i].def->service, service) == 0) {
                sel[n++] = &snap->slos[i];
            }
        }
    } else {
        const br_slo_status *one = br_slo_snapshot_find(snap, slo);
        if (one != NULL) {
            sel[n++] = one;
        } else {
            for (size_t i = 0; i < snap->n_slos; i++) {
                if (strcmp(snap->slos[i].def->id, slo) == 0) {
                    sel[n++] = &snap->slos[i];
                }
            }
        }
    }
    if (n == 0) {
        char msg[MSG_SIZE];
        if (service != NULL) {
            unknown_service_message(snap, req->arena, service, msg, sizeof(msg));
        } else {
            unknown_slo_message(snap, req->arena, slo, msg, sizeof(msg));
        }
        br_slo_snapshot_unref(snap);
        gate_error(resp, 404, "not_found", service, slo, "%s", msg);
        return 0;
    }
    if (check_allow_states(&c, sel, n, &err) != 0) {
        br_slo_snapshot_unref(snap);
        gate_error(resp, 400, "bad_data", service, slo, "%s", err.msg);
        return 0;
    }

    cJSON *o = cJSON_CreateObject();
    cJSON *all_reasons = cJSON_CreateArray();
    cJSON *slos = cJSON_CreateArray();
    bool policy_deny = false;
    bool data_deny = false;
    for (size_t i = 0; i < n; i++) {
        const br_slo_status *st = sel[i];
        cJSON *item = cJSON_CreateObject();
        cJSON *reasons = cJSON_CreateArray();
        judgement j = judge(&v, st, &c, reasons);
        policy_deny = policy_deny || j.policy_deny;
        data_deny = data_deny || j.data_deny;
        for (cJSON *r = reasons->child; r != NULL; r = r->next) {
            cJSON_AddItemToArray(all_reasons, cJSON_CreateString(r->valuestring));
        }
        const br_window_status *w1h = find_window(st, HOUR_MS);
        put_string(item, "id", st->instance_id);
        put_string(item, "state", st->policy_state ? st->policy_state->name : NULL);
        cJSON_AddBoolToObject(item, "allow_deploy",
                              st->policy_state != NULL && st->policy_state->allow_deploy);
        put_number(item, "budget_remaining", st->budget_remaining);
        put_number(item, "burn_rate_1h", w1h ? w1h->burn_rate : NAN);
        cJSON_AddBoolToObject(item, "stale", eval_stale(&v) || sample_stale(&v, st));
        cJSON_AddBoolToObject(item, "no_data", st->no_data || st->policy_state == NULL);
        cJSON_AddNumberToObject(item, "firing", firing_count(st));
        cJSON_AddBoolToObject(item, "allow", !j.policy_deny && !j.data_deny);
        cJSON_AddItemToObject(item, "reasons", reasons);
        cJSON_AddItemToArray(slos, item);
    }
    bool allow = !policy_deny && !data_deny;
    const char *decision = allow ? "allow" : policy_deny ? "deny" : "no_data";
    cJSON_AddBoolToObject(o, "allow", allow);
    cJSON_AddStringToObject(o, "decision", decision);
    put_string(o, "service", service);
    put_string(o, "slo", slo);
    cJSON_AddItemToObject(o, "reasons", all_reasons);
    cJSON_AddItemToObject(o, "slos", slos);
    cJSON *crit = cJSON_AddObjectToObject(o, "criteria");
    put_number(crit, "min_remaining", c.min_remaining);
    put_number(crit, "max_burn_rate", c.max_burn_rate);
    if (c.n_allow_states > 0) {
        cJSON *as = cJSON_AddArrayToObject(crit, "allow_states");
        for (size_t i = 0; i < c.n_allow_states; i++) {
            cJSON_AddItemToArray(as, cJSON_CreateString(c.allow_states[i]));
        }
    } else {
        cJSON_AddNullToObject(crit, "allow_states");
    }
    cJSON_AddStringToObject(crit, "on_no_data", c.no_data_allows ? "allow" : "deny");
    cJSON_AddNumberToObject(crit, "max_data_age_seconds", (double)c.max_data_age_ms / 1000.0);
    put_time(o, "checked_at", NULL, now);
    put_time(o, "eval_time", NULL, snap->eval_time_ms);
    br_slo_snapshot_unref(snap);
    record_gate(api, req, o, service, slo, decision, allow, now);
    respond_json(resp, allow ? 200 : 409, o);
    return 0;
}

/* ------------------------------------------------------------------------
 * Registration.
 * ---------------------------------------------------------------------- */

void br_budget_api_register(br_http_server *srv, br_budget_api *api)
{
    cJSON_Hooks hooks = {br_malloc, br_free};
    cJSON_InitHooks(&hooks);
    br_http_route(srv, BR_HTTP_GET, "/api/v1/slos", "/api/v1/slos", 0, handle_list, api);
    br_http_route(srv, BR_HTTP_GET, "/api/v1/slos/*", "/api/v1/slos/:id", 0, handle_slo_path, api);
    br_http_route(srv, BR_HTTP_GET, "/api/v1/services", "/api/v1/services", 0, handle_services,
                  api);
    br_http_route(srv, BR_HTTP_GET, "/api/v1/gate", "/api/v1/gate", 0, handle_gate, api);
}
