/*
 * slo.c — the SLO set: definitions from every format, their defaults
 * (workbook alert tiers, the seed's error-budget policy) and validation.
 * Loading files is slo_load.c; the formats are slo_<format>.c. See slo.h
 * for the model and ownership.
 */
#include "slo.h"

#include "engine/core/alloc.h"
#include "engine/core/clock.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct br_slo_set {
    atomic_int refs;
    br_arena arena;
    br_slo_def **defs;
    size_t n;
    size_t cap;
    br_tz **zones; /* loaded by br_slo_set_time_zone, one per name; owned */
    size_t n_zones;
};

#define DAY_MS (24LL * 3600 * 1000)
#define HOUR_MS (3600LL * 1000)
#define MINUTE_MS (60LL * 1000)

br_kv *br_kv_dup(const br_kv *kv, size_t n)
{
    br_kv *out = br_calloc(n ? n : 1, sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        out[i].key = br_strdup(kv[i].key ? kv[i].key : "");
        out[i].value = br_strdup(kv[i].value ? kv[i].value : "");
    }
    return out;
}

void br_kv_free(br_kv *kv, size_t n)
{
    for (size_t i = 0; kv != NULL && i < n; i++) {
        br_free((void *)kv[i].key);
        br_free((void *)kv[i].value);
    }
    br_free(kv);
}

bool br_kv_equal(const br_kv *a, size_t na, const br_kv *b, size_t nb)
{
    if (na != nb) {
        return false;
    }
    for (size_t i = 0; i < na; i++) {
        if (strcmp(a[i].key, b[i].key) != 0 || strcmp(a[i].value, b[i].value) != 0) {
            return false;
        }
    }
    return true;
}

br_slo_set *br_slo_set_new(void)
{
    br_slo_set *s = br_calloc(1, sizeof(*s));
    atomic_init(&s->refs, 1);
    br_arena_init(&s->arena, 64 * 1024, 0);
    return s;
}

void br_slo_set_ref(br_slo_set *s)
{
    atomic_fetch_add(&s->refs, 1);
}

void br_slo_set_unref(br_slo_set *s)
{
    if (s == NULL) {
        return;
    }
    if (atomic_fetch_sub(&s->refs, 1) != 1) {
        return;
    }
    for (size_t i = 0; i < s->n_zones; i++) {
        br_tz_free(s->zones[i]);
    }
    br_free(s->zones);
    br_arena_free(&s->arena);
    br_free(s->defs);
    br_free(s);
}

int br_slo_set_time_zone(br_slo_set *s, const char *name, const br_tz **out, br_err *err)
{
    *out = NULL;
    for (size_t i = 0; i < s->n_zones; i++) {
        if (strcmp(br_tz_name(s->zones[i]), name) == 0) {
            *out = s->zones[i];
            return 0;
        }
    }
    br_tz *tz = NULL;
    int rc = br_tz_load(name, &tz, err);
    if (rc != 0) {
        return rc;
    }
    s->zones = br_realloc(s->zones, (s->n_zones + 1) * sizeof(*s->zones));
    s->zones[s->n_zones++] = tz;
    *out = tz;
    return 0;
}

size_t br_slo_set_len(const br_slo_set *s)
{
    return s->n;
}

const br_slo_def *br_slo_set_get(const br_slo_set *s, size_t i)
{
    return i < s->n ? s->defs[i] : NULL;
}

const br_slo_def *br_slo_set_find(const br_slo_set *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->defs[i]->id, id) == 0) {
            return s->defs[i];
        }
    }
    return NULL;
}

br_arena *br_slo_set_arena(br_slo_set *s)
{
    return &s->arena;
}

const char *br_slo_strdup(br_slo_set *s, const char *text)
{
    return text == NULL ? NULL : br_arena_strdup(&s->arena, text);
}

const char *br_slo_make_id(br_slo_set *s, const char *service, const char *name)
{
    return br_arena_printf(&s->arena, "%s-%s", service, name);
}

int br_slo_parse_objective(const char *text, double *out)
{
    if (text == NULL || *text == '\0') {
        return BR_EINVAL;
    }
    char *end = NULL;
    double v = strtod(text, &end);
    bool percent = false;
    while (*end == ' ') {
        end++;
    }
    if (*end == '%') {
        percent = true;
        end++;
    }
    if (*end != '\0' || !isfinite(v)) {
        return BR_EINVAL;
    }
    if (percent || v > 1.0) {
        v /= 100.0;
    }
    if (!(v > 0.0 && v < 1.0)) {
        return BR_EINVAL;
    }
    *out = v;
    return 0;
}

void br_slo_default_tiers(int64_t period_ms, br_burn_tier out[4])
{
    /* Workbook table for 30 days: budget share consumed in the long window
     * -> factor = share * period / long window. */
    static const struct {
        const char *name;
        const char *severity;
        int64_t long_ms, short_ms, for_ms;
        double share;
    } t[4] = {
        {"page-fast", "page", 1 * HOUR_MS, 5 * MINUTE_MS, 2 * MINUTE_MS, 0.02},
        {"page-slow", "page", 6 * HOUR_MS, 30 * MINUTE_MS, 15 * MINUTE_MS, 0.05},
        {"ticket-fast", "ticket", 1 * DAY_MS, 2 * HOUR_MS, 1 * HOUR_MS, 0.10},
        {"ticket-slow", "ticket", 3 * DAY_MS, 6 * HOUR_MS, 3 * HOUR_MS, 0.10},
    };
    for (int i = 0; i < 4; i++) {
        out[i].name = t[i].name;
        out[i].severity = t[i].severity;
        out[i].long_window_ms = t[i].long_ms;
        out[i].short_window_ms = t[i].short_ms;
        out[i].for_ms = t[i].for_ms;
        out[i].factor = t[i].share * (double)period_ms / (double)t[i].long_ms;
        out[i].disabled = false;
    }
}

void br_slo_default_policy(br_slo_set *s, br_policy *out)
{
    static const struct {
        const char *name;
        double min;
        bool deploy;
        const char *actions[4];
    } st[4] = {
        {"healthy", 0.50, true,
         {"normal_deployment_velocity", "can_run_experiments", "innovation_projects_allowed",
          NULL}},
        {"caution", 0.25, true,
         {"reduce_deployment_frequency", "require_extra_rollout_monitoring",
          "pause_non_critical_experiments", NULL}},
        {"critical", 0.10, false,
         {"freeze_non_essential_deployments", "require_director_approval_for_changes",
          "all_hands_reliability_focus", NULL}},
        {"exhausted", -INFINITY, false,
         {"complete_deployment_freeze", "incident_review_required", "executive_escalation",
          "mandatory_postmortem"}},
    };
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < 4; i++) {
        br_policy_state *p = &out->states[i];
        p->name = st[i].name;
        p->min_remaining = st[i].min;
        p->allow_deploy = st[i].deploy;
        size_t n = 0;
        while (n < 4 && st[i].actions[n] != NULL) {
            n++;
        }
        p->actions = br_arena_calloc(&s->arena, n, sizeof(char *));
        for (size_t j = 0; j < n; j++) {
            p->actions[j] = st[i].actions[j];
        }
        p->n_actions = n;
    }
    out->n_states = 4;
}

br_slo_def *br_slo_def_new(br_slo_set *s)
{
    br_slo_def *d = br_arena_calloc(&s->arena, 1, sizeof(*d));
    d->period.kind = BR_PERIOD_ROLLING;
    d->period.duration_ms = 30 * DAY_MS;
    d->period.count = 1;
    d->budgeting = BR_BUDGET_OCCURRENCES;
    d->slice_ms = 5 * MINUTE_MS;
    d->slice_target = 0.99;
    d->no_data = BR_NO_DATA_SKIP;
    d->objective = NAN;
    d->sli.bad.le = NAN;
    d->sli.good.le = NAN;
    d->sli.total.le = NAN;
    br_slo_default_tiers(d->period.duration_ms, d->alerting.tiers);
    d->alerting.n_tiers = 4;
    d->alerting.budget_drop_ratio = 0.05;
    d->alerting.budget_drop_window_ms = HOUR_MS;
    d->alerting.exhaustion_within_ms = 7 * DAY_MS;
    br_slo_default_policy(s, &d->policy);
    d->replay_max_ms = -1; /* not given: decided by br_slo_set_add */
    return d;
}

static bool valid_id_text(const char *s)
{
    if (s == NULL || *s == '\0') {
        return false;
    }
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!(isalnum(c) || c == '_' || c == '.' || c == ':' || c == '-')) {
            return false;
        }
    }
    return true;
}

static int def_error(const br_slo_def *d, br_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int def_error(const br_slo_def *d, br_err *err, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return br_err_setpos(err, BR_EINVAL, d->file, d->line, 0, "SLO %s: %s",
                         d->id ? d->id : "(unnamed)", msg);
}

static bool source_set(const br_event_source *e)
{
    return e->kind != BR_SOURCE_NONE && e->expr != NULL && e->expr[0] != '\0';
}

int br_slo_set_add(br_slo_set *s, br_slo_def *d, bool tiers_explicit, br_err *err)
{
    if (d->id == NULL && d->service != NULL && d->name != NULL) {
        d->id = br_slo_make_id(s, d->service, d->name);
    }
    if (d->service == NULL || d->service[0] == '\0') {
        return def_error(d, err, "missing service");
    }
    if (d->name == NULL || d->name[0] == '\0') {
        return def_error(d, err, "missing name");
    }
    if (!valid_id_text(d->id)) {
        return def_error(d, err,
                         "id \"%s\" may only hold letters, digits and _ . : -", d->id);
    }
    if (!(d->objective > 0.0 && d->objective < 1.0)) {
        return def_error(d, err, "objective must be between 0 and 100%% (exclusive)");
    }
    const br_sli *sli = &d->sli;
    switch (sli->kind) {
    case BR_SLI_EVENTS:
        if (!source_set(&sli->bad) && !source_set(&sli->good)) {
            return def_error(d, err, "the SLI needs bad (error) or good events");
        }
        if (!source_set(&sli->total)) {
            return def_error(d, err, "the SLI needs total events");
        }
        if (source_set(&sli->bad)) {
            d->sli.good.kind = BR_SOURCE_NONE;
            d->sli.good.expr = NULL;
        }
        break;
    case BR_SLI_RAW:
        if (sli->query == NULL || sli->query[0] == '\0') {
            return def_error(d, err, "the raw SLI needs an error ratio query");
        }
        break;
    case BR_SLI_THRESHOLD:
        if (sli->query == NULL || sli->query[0] == '\0') {
            return def_error(d, err, "the threshold SLI needs a query");
        }
        if (!isfinite(sli->threshold)) {
            return def_error(d, err, "the threshold SLI needs a finite threshold");
        }
        if (d->budgeting == BR_BUDGET_OCCURRENCES) {
            d->budgeting = BR_BUDGET_TIMESLICES;
        }
        break;
    }
    if (d->period.kind == BR_PERIOD_ROLLING) {
        if (d->period.duration_ms < HOUR_MS) {
            return def_error(d, err, "the period must be at least 1h");
        }
    } else {
        static const int64_t nominal[] = {DAY_MS, 7 * DAY_MS, 30 * DAY_MS, 90 * DAY_MS,
                                          365 * DAY_MS};
        if (d->period.count < 1) {
            return def_error(d, err, "the calendar period count must be at least 1");
        }
        d->period.duration_ms = nominal[d->period.unit] * d->period.count;
    }
    if (d->budgeting != BR_BUDGET_OCCURRENCES) {
        if (d->slice_ms < 1000 || d->slice_ms > d->period.duration_ms) {
            return def_error(d, err, "the time slice must be between 1s and the period");
        }
        if (!(d->slice_target > 0.0 && d->slice_target <= 1.0)) {
            return def_error(d, err, "the time slice target must be in (0, 1]");
        }
    }
    if (d->replay_max_ms == BR_REPLAY_ON) {
        d->replay_max_ms = d->period.duration_ms;
    } else if (d->replay_max_ms < 0) {
        /* Not asked for: off. While an SLO replays its live recorded series
         * wait (the store is append-only per series), so replay is a
         * choice per SLO, not a default that delays every new SLO. */
        d->replay_max_ms = 0;
    }
    if (!tiers_explicit) {
        br_burn_tier scaled[4];
        br_slo_default_tiers(d->period.duration_ms, scaled);
        for (size_t i = 0; i < d->alerting.n_tiers && i < 4; i++) {
            if (strcmp(d->alerting.tiers[i].name, scaled[i].name) == 0) {
                d->alerting.tiers[i].factor = scaled[i].factor;
            }
        }
        /* Default tiers longer than a short period do not apply to it. */
        size_t kept = 0;
        for (size_t i = 0; i < d->alerting.n_tiers; i++) {
            if (d->alerting.tiers[i].long_window_ms <= d->period.duration_ms) {
                d->alerting.tiers[kept++] = d->alerting.tiers[i];
            }
        }
        d->alerting.n_tiers = kept;
        if (d->alerting.budget_drop_window_ms > d->period.duration_ms) {
            d->alerting.budget_drop_window_ms = d->period.duration_ms;
        }
    }
    for (size_t i = 0; i < d->alerting.n_tiers; i++) {
        const br_burn_tier *t = &d->alerting.tiers[i];
        if (t->long_window_ms <= 0 || t->short_window_ms <= 0 ||
            t->short_window_ms > t->long_window_ms) {
            return def_error(d, err,
                             "alert tier %s: windows must be > 0 and the short window no "
                             "longer than the long one",
                             t->name);
        }
        if (!(t->factor > 0.0) || !isfinite(t->factor)) {
            return def_error(d, err, "alert tier %s: the factor must be > 0", t->name);
        }
        if (t->long_window_ms > d->period.duration_ms) {
            return def_error(d, err, "alert tier %s: the long window is longer than the period",
                             t->name);
        }
    }
    if (d->alerting.no_data_for_ms > d->period.duration_ms) {
        return def_error(d, err, "alerting.no_data_for is longer than the period");
    }
    if (d->alerting.absent_for_ms > d->period.duration_ms) {
        return def_error(d, err, "alerting.absent_for is longer than the period");
    }
    if (d->alerting.absent_for_ms > 0 &&
        (d->sli.kind != BR_SLI_EVENTS || d->sli.total.kind == BR_SOURCE_QUERY ||
         d->sli.total.kind == BR_SOURCE_NONE)) {
        return def_error(d, err,
                         "alerting.absent_for needs an SLI read from series (events, latency "
                         "buckets or a bool gauge), not a PromQL query");
    }
    if (d->policy.n_states == 0) {
        return def_error(d, err, "the error-budget policy has no states");
    }
    for (size_t i = 1; i < d->policy.n_states; i++) {
        if (!(d->policy.states[i].min_remaining < d->policy.states[i - 1].min_remaining)) {
            return def_error(d, err,
                             "policy state %s must have a lower threshold than %s", 
                             d->policy.states[i].name, d->policy.states[i - 1].name);
        }
    }
    d->policy.states[d->policy.n_states - 1].min_remaining = -INFINITY;
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->defs[i]->id, d->id) == 0) {
            char where[300];
            snprintf(where, sizeof(where), "%s:%d", s->defs[i]->file ? s->defs[i]->file : "?",
                     s->defs[i]->line);
            return def_error(d, err, "duplicate SLO id (first defined at %s)", where);
        }
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->defs = br_realloc(s->defs, s->cap * sizeof(*s->defs));
    }
    s->defs[s->n++] = d;
    return 0;
}

/* Depth-first walk over component references: 1 = on the stack. */
static int composite_visit(br_slo_set *s, const br_slo_def *d, unsigned char *mark, br_err *err)
{
    size_t self = 0;
    while (self < s->n && s->defs[self] != d) {
        self++;
    }
    if (mark[self] == 2) {
        return 0;
    }
    mark[self] = 1;
    for (size_t c = 0; c < d->n_components; c++) {
        const br_composite_component *cc = &d->components[c];
        size_t j = 0;
        while (j < s->n && strcmp(s->defs[j]->id, cc->slo_id) != 0) {
            j++;
        }
        if (j == s->n) {
            return br_err_setpos(err, BR_EINVAL, d->file, cc->line, cc->col,
                                 "composite SLO %s: unknown component SLO \"%s\" (components "
                                 "must be in the SLO files loaded with the composite)",
                                 d->id, cc->slo_id);
        }
        const br_slo_def *x = s->defs[j];
        if (mark[j] == 1) {
            return br_err_setpos(err, BR_EINVAL, d->file, cc->line, cc->col,
                                 "composite SLO %s: component \"%s\" makes a cycle", d->id,
                                 cc->slo_id);
        }
        if (x->period.kind != d->period.kind || x->period.duration_ms != d->period.duration_ms ||
            (d->period.kind == BR_PERIOD_CALENDAR &&
             (x->period.unit != d->period.unit || x->period.count != d->period.count ||
              x->period.anchored != d->period.anchored ||
              (d->period.anchored && x->period.anchor_day != d->period.anchor_day) ||
              x->period.utc_offset_s != d->period.utc_offset_s ||
              (x->period.time_zone == NULL) != (d->period.time_zone == NULL) ||
              (x->period.time_zone != NULL &&
               strcmp(x->period.time_zone, d->period.time_zone) != 0)))) {
            return br_err_setpos(err, BR_EINVAL, d->file, cc->line, cc->col,
                                 "composite SLO %s: component \"%s\" has a different period; "
                                 "a composite and its components must share one period",
                                 d->id, cc->slo_id);
        }
        if (x->n_grouping > 0) {
            return br_err_setpos(err, BR_EINVAL, d->file, cc->line, cc->col,
                                 "composite SLO %s: component \"%s\" is grouped; components "
                                 "must be single-instance SLOs",
                                 d->id, cc->slo_id);
        }
        int rc = composite_visit(s, x, mark, err);
        if (rc != 0) {
            return rc;
        }
    }
    mark[self] = 2;
    return 0;
}

int br_slo_set_check_composites(br_slo_set *s, br_err *err)
{
    unsigned char *mark = br_calloc(s->n + 1, 1);
    int rc = 0;
    for (size_t i = 0; i < s->n && rc == 0; i++) {
        if (s->defs[i]->n_components > 0) {
            rc = composite_visit(s, s->defs[i], mark, err);
        }
    }
    br_free(mark);
    return rc;
}

const char *br_slo_format_name(br_slo_format f)
{
    switch (f) {
    case BR_SLO_FORMAT_BURNRATE:
        return "burnrate";
    case BR_SLO_FORMAT_SLOTH:
        return "sloth";
    case BR_SLO_FORMAT_PYRRA:
        return "pyrra";
    case BR_SLO_FORMAT_OPENSLO:
        return "openslo";
    }
    return "unknown";
}

const char *br_budgeting_name(br_budgeting b)
{
    switch (b) {
    case BR_BUDGET_OCCURRENCES:
        return "occurrences";
    case BR_BUDGET_TIMESLICES:
        return "timeslices";
    case BR_BUDGET_RATIO_TIMESLICES:
        return "ratio_timeslices";
    }
    return "unknown";
}

const char *br_sli_kind_name(br_sli_kind k)
{
    switch (k) {
    case BR_SLI_EVENTS:
        return "events";
    case BR_SLI_RAW:
        return "raw";
    case BR_SLI_THRESHOLD:
        return "threshold";
    }
    return "unknown";
}
