/*
 * binop.c — binary operators at one step. See binop.h.
 *
 * Matching works on join signatures: a 64-bit hash of the labels named in
 * on(...), or of all labels except __name__ and those named in
 * ignoring(...). The right-hand side ("one" side; the sides are swapped
 * for group_right) is indexed by signature first; a second sample with the
 * same signature there is the "many-to-many" error. One-to-one matching
 * then refuses a second left sample for a signature; many-to-one refuses a
 * result label set seen twice for one signature.
 *
 * Histogram operands follow Prometheus: histogram +/- histogram,
 * histogram * or / float, float * histogram, and ==/!= between
 * histograms; any other mix produces no sample and an info annotation.
 */
#include "binop.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *br_binop_str(br_binop op)
{
    switch (op) {
    case BR_BINOP_ADD: return "+";
    case BR_BINOP_SUB: return "-";
    case BR_BINOP_MUL: return "*";
    case BR_BINOP_DIV: return "/";
    case BR_BINOP_MOD: return "%";
    case BR_BINOP_POW: return "^";
    case BR_BINOP_ATAN2: return "atan2";
    case BR_BINOP_EQLC: return "==";
    case BR_BINOP_NEQ: return "!=";
    case BR_BINOP_GTR: return ">";
    case BR_BINOP_LSS: return "<";
    case BR_BINOP_GTE: return ">=";
    case BR_BINOP_LTE: return "<=";
    case BR_BINOP_AND: return "and";
    case BR_BINOP_OR: return "or";
    case BR_BINOP_UNLESS: return "unless";
    case BR_BINOP_TRIM_UPPER: return "</";
    case BR_BINOP_TRIM_LOWER: return ">/";
    }
    return "?";
}

bool br_binop_is_comparison(br_binop op)
{
    return op >= BR_BINOP_EQLC && op <= BR_BINOP_LTE;
}

bool br_binop_is_set(br_binop op)
{
    return op == BR_BINOP_AND || op == BR_BINOP_OR || op == BR_BINOP_UNLESS;
}

/* Arithmetic changes what the metric means, so its name goes (2.x kept it
 * for atan2). */
static bool changes_schema(br_binop op, bool v2)
{
    switch (op) {
    case BR_BINOP_ADD:
    case BR_BINOP_SUB:
    case BR_BINOP_MUL:
    case BR_BINOP_DIV:
    case BR_BINOP_MOD:
    case BR_BINOP_POW:
        return true;
    case BR_BINOP_ATAN2:
        return !v2;
    default:
        return false;
    }
}

double br_binop_scalar(br_binop op, double l, double r)
{
    switch (op) {
    case BR_BINOP_ADD: return l + r;
    case BR_BINOP_SUB: return l - r;
    case BR_BINOP_MUL: return l * r;
    case BR_BINOP_DIV: return l / r;
    case BR_BINOP_MOD: return fmod(l, r);
    case BR_BINOP_POW: return pow(l, r);
    case BR_BINOP_ATAN2: return atan2(l, r);
    case BR_BINOP_EQLC: return l == r ? 1 : 0;
    case BR_BINOP_NEQ: return l != r ? 1 : 0;
    case BR_BINOP_GTR: return l > r ? 1 : 0;
    case BR_BINOP_LSS: return l < r ? 1 : 0;
    case BR_BINOP_GTE: return l >= r ? 1 : 0;
    case BR_BINOP_LTE: return l <= r ? 1 : 0;
    default: return NAN;
    }
}

uint64_t br_binop_signature(const br_vmatching *m, br_lset ls)
{
    if (m->on) {
        return br_lset_hash_sel(ls, m->names, m->n_names, true);
    }
    /* ignoring: every label but __name__ and the listed ones. */
    br_label stackbuf[64];
    if (ls.n > 64) {
        const char *names[65];
        size_t nn = 0;
        names[nn++] = BR_LABEL_NAME;
        for (size_t i = 0; i < m->n_names && nn < 65; i++) {
            names[nn++] = m->names[i];
        }
        nn = br_names_sort(names, nn);
        return br_lset_hash_sel(ls, names, nn, false);
    }
    size_t k = 0;
    for (size_t i = 0; i < ls.n; i++) {
        if (strcmp(ls.v[i].name, BR_LABEL_NAME) == 0 ||
            br_names_contain(m->names, m->n_names, ls.v[i].name)) {
            continue;
        }
        stackbuf[k++] = ls.v[i];
    }
    br_lset f = {stackbuf, k};
    return br_lset_hash(f);
}

typedef struct elem_result {
    double f;
    const br_fhist *h;
    bool keep;
    bool drop;      /* no sample: incompatible operands */
} elem_result;

static void note_incompatible(br_fctx *cx, const char *l, br_binop op, const char *r)
{
    if (cx->note == NULL) {
        return;
    }
    char msg[256];
    snprintf(msg, sizeof(msg),
             "incompatible sample types encountered for binary operator \"%s\": %s %s %s",
             br_binop_str(op), l, br_binop_str(op), r);
    cx->note(cx->note_ctx, BR_NOTE_INFO, msg);
}

static void note_layout(br_fctx *cx, br_binop op)
{
    if (cx->note == NULL) {
        return;
    }
    char msg[256];
    snprintf(msg, sizeof(msg), "incompatible bucket layout encountered for binary operator %s",
             br_binop_str(op));
    cx->note(cx->note_ctx, BR_NOTE_WARN, msg);
}

/* Prometheus' vectorElemBinop. Returns 0 or -1 (arena full). */
static int elem_binop(br_fctx *cx, br_binop op, double l, double r, const br_fhist *hl,
                      const br_fhist *hr, bool annotate, elem_result *res)
{
    memset(res, 0, sizeof(*res));
    bool trim = op == BR_BINOP_TRIM_UPPER || op == BR_BINOP_TRIM_LOWER;
    if (hl == NULL && hr == NULL && trim) {
        if (annotate) {
            note_incompatible(cx, "float", op, "float");
        }
        res->drop = true;
        return 0;
    }
    if (hl != NULL && hr == NULL && trim) {
        br_fhist *h = br_fhist_copy(cx->arena, hl);
        if (h == NULL) {
            return -1;
        }
        br_fhist_trim_buckets(h, r, op == BR_BINOP_TRIM_UPPER);
        res->h = h;
        res->keep = true;
        return 0;
    }
    if (hl == NULL && hr == NULL) {
        switch (op) {
        case BR_BINOP_EQLC: res->f = l; res->keep = l == r; return 0;
        case BR_BINOP_NEQ: res->f = l; res->keep = l != r; return 0;
        case BR_BINOP_GTR: res->f = l; res->keep = l > r; return 0;
        case BR_BINOP_LSS: res->f = l; res->keep = l < r; return 0;
        case BR_BINOP_GTE: res->f = l; res->keep = l >= r; return 0;
        case BR_BINOP_LTE: res->f = l; res->keep = l <= r; return 0;
        default:
            res->f = br_binop_scalar(op, l, r);
            res->keep = true;
            return 0;
        }
    }
    if (hl == NULL && hr != NULL) {
        if (op == BR_BINOP_MUL) {
            br_fhist *h = br_fhist_copy(cx->arena, hr);
            if (h == NULL) {
                return -1;
            }
            br_fhist_mul(h, l);
            br_fhist_trim(h);
            res->h = h;
            res->keep = true;
            return 0;
        }
        if (annotate) {
            note_incompatible(cx, "float", op, "histogram");
        }
        res->drop = true;
        return 0;
    }
    if (hl != NULL && hr == NULL) {
        if (op == BR_BINOP_MUL || op == BR_BINOP_DIV) {
            br_fhist *h = br_fhist_copy(cx->arena, hl);
            if (h == NULL) {
                return -1;
            }
            if (op == BR_BINOP_MUL) {
                br_fhist_mul(h, r);
            } else {
                br_fhist_div(h, r);
            }
            br_fhist_trim(h);
            res->h = h;
            res->keep = true;
            return 0;
        }
        if (annotate) {
            note_incompatible(cx, "histogram", op, "float");
        }
        res->drop = true;
        return 0;
    }
    switch (op) {
    case BR_BINOP_ADD:
    case BR_BINOP_SUB: {
        br_fhist *h = br_fhist_copy(cx->arena, hl);
        if (h == NULL) {
            return -1;
        }
        unsigned flags = 0;
        int rc = br_fhist_add(cx->arena, h, hr, op == BR_BINOP_SUB, NULL, &flags);
        if (rc < 0) {
            return -1;
        }
        if (rc == BR_FH_EINCOMPAT) {
            note_layout(cx, op);
            res->drop = true;
            return 0;
        }
        if (op == BR_BINOP_SUB) {
            h->hint = BR_HIST_RESET_GAUGE;
        }
        if (flags & BR_FH_NHCB_RECONCILED && cx->note != NULL) {
            char msg[128];
            snprintf(msg, sizeof(msg), "mismatched custom buckets were reconciled during %s",
                     op == BR_BINOP_SUB ? "subtraction" : "addition");
            cx->note(cx->note_ctx, BR_NOTE_INFO, msg);
        }
        if (flags & BR_FH_RESET_COLLISION) {
            if (cx->note != NULL) {
                char msg[128];
                snprintf(msg, sizeof(msg), "conflicting counter resets during histogram %s",
                         op == BR_BINOP_SUB ? "subtraction" : "addition");
                cx->note(cx->note_ctx, BR_NOTE_WARN, msg);
            }
            res->drop = true;
            return 0;
        }
        br_fhist_trim(h);
        res->h = h;
        res->keep = true;
        return 0;
    }
    case BR_BINOP_EQLC:
        res->h = hl;
        res->keep = br_fhist_equals(hl, hr);
        return 0;
    case BR_BINOP_NEQ:
        res->h = hl;
        res->keep = !br_fhist_equals(hl, hr);
        return 0;
    default:
        if (annotate) {
            note_incompatible(cx, "histogram", op, "histogram");
        }
        res->drop = true;
        return 0;
    }
}

static int oom(br_err *err)
{
    return br_err_set(err, BR_ELIMIT, "query memory limit exceeded");
}

/* The result labels of a matched pair (Prometheus' resultMetric). */
static int result_metric(br_fctx *cx, br_binop op, const br_vmatching *m, bool drop_name,
                         br_lset l, br_lset r, br_lset *out)
{
    br_lset cur = l;
    if (drop_name || changes_schema(op, cx->v2)) {
        if (br_lset_drop_name(cx->arena, cur, !cx->v2, &cur) != 0) {
            return -1;
        }
    }
    if (m->card == BR_CARD_ONE_TO_ONE) {
        if (m->on) {
            if (br_lset_keep(cx->arena, cur, m->names, m->n_names, &cur) != 0) {
                return -1;
            }
        } else if (m->n_names > 0) {
            if (br_lset_del(cx->arena, cur, m->names, m->n_names, &cur) != 0) {
                return -1;
            }
        }
    }
    for (size_t i = 0; i < m->n_include; i++) {
        const char *v = br_lset_get(r, m->include[i]);
        if (br_lset_set(cx->arena, cur, m->include[i], v != NULL ? v : "", &cur) != 0) {
            return -1;
        }
    }
    *out = cur;
    return 0;
}

static int fmt_lset(br_lset ls, char *out, size_t size)
{
    br_buf b;
    br_buf_init(&b, 4096);
    br_lset_format(ls, &b);
    snprintf(out, size, "%s", br_buf_str(&b));
    br_buf_free(&b);
    return 0;
}

/* The labels a signature is made of, for the duplicate-series error. */
static int match_labels(br_fctx *cx, const br_vmatching *m, br_lset ls, br_lset *out)
{
    if (m->on) {
        return br_lset_keep(cx->arena, ls, m->names, m->n_names, out);
    }
    const char *names[130];
    size_t nn = 0;
    names[nn++] = BR_LABEL_NAME;
    for (size_t i = 0; i < m->n_names && nn < 129; i++) {
        names[nn++] = m->names[i];
    }
    nn = br_names_sort(names, nn);
    return br_lset_del(cx->arena, ls, names, nn, out);
}

static int set_op(br_fctx *cx, br_binop op, const br_vmatching *m, const br_vvec *lhs,
                  const br_vvec *rhs, br_vvec *out, br_err *err)
{
    if (op == BR_BINOP_AND && (lhs->n == 0 || rhs->n == 0)) {
        return 0;
    }
    if (op == BR_BINOP_OR && (lhs->n == 0 || rhs->n == 0)) {
        const br_vvec *src = lhs->n == 0 ? rhs : lhs;
        for (size_t i = 0; i < src->n; i++) {
            if (br_vvec_push(cx->arena, out, &src->v[i]) != 0) {
                return oom(err);
            }
        }
        return 0;
    }
    if (op == BR_BINOP_UNLESS && (lhs->n == 0 || rhs->n == 0)) {
        for (size_t i = 0; i < lhs->n; i++) {
            if (br_vvec_push(cx->arena, out, &lhs->v[i]) != 0) {
                return oom(err);
            }
        }
        return 0;
    }
    br_imap sigs;
    const br_vvec *indexed = op == BR_BINOP_OR ? lhs : rhs;
    if (br_imap_init(cx->arena, &sigs, indexed->n) != 0) {
        return oom(err);
    }
    for (size_t i = 0; i < indexed->n; i++) {
        if (br_imap_put(cx->arena, &sigs, br_binop_signature(m, indexed->v[i].ls), 0) != 0) {
            return oom(err);
        }
    }
    uint32_t dummy;
    if (op == BR_BINOP_OR) {
        for (size_t i = 0; i < lhs->n; i++) {
            if (br_vvec_push(cx->arena, out, &lhs->v[i]) != 0) {
                return oom(err);
            }
        }
        for (size_t i = 0; i < rhs->n; i++) {
            if (!br_imap_get(&sigs, br_binop_signature(m, rhs->v[i].ls), &dummy)) {
                if (br_vvec_push(cx->arena, out, &rhs->v[i]) != 0) {
                    return oom(err);
                }
            }
        }
        return 0;
    }
    for (size_t i = 0; i < lhs->n; i++) {
        bool present = br_imap_get(&sigs, br_binop_signature(m, lhs->v[i].ls), &dummy);
        if (present == (op == BR_BINOP_AND)) {
            if (br_vvec_push(cx->arena, out, &lhs->v[i]) != 0) {
                return oom(err);
            }
        }
    }
    return 0;
}

int br_binop_vv(br_fctx *cx, br_binop op, const br_vmatching *m, bool ret_bool,
                const br_vvec *lhs, const br_vvec *rhs, br_vvec *out, br_err *err)
{
    if (br_binop_is_set(op)) {
        return set_op(cx, op, m, lhs, rhs, out, err);
    }
    bool any_fill = m->fill_lhs || m->fill_rhs;
    if ((lhs->n == 0 && rhs->n == 0) || ((lhs->n == 0 || rhs->n == 0) && !any_fill)) {
        return 0;
    }
    bool swapped = m->card == BR_CARD_ONE_TO_MANY;
    const br_vvec *many = swapped ? rhs : lhs;
    const br_vvec *one = swapped ? lhs : rhs;
    /* Index the "one" side by signature. */
    br_imap one_idx;
    if (br_imap_init(cx->arena, &one_idx, one->n) != 0) {
        return oom(err);
    }
    uint64_t *one_sig = br_arena_alloc(cx->arena, sizeof(uint64_t) * (one->n + 1));
    if (one_sig == NULL) {
        return oom(err);
    }
    for (size_t i = 0; i < one->n; i++) {
        uint64_t sig = br_binop_signature(m, one->v[i].ls);
        one_sig[i] = sig;
        uint32_t prev;
        if (br_imap_get(&one_idx, sig, &prev)) {
            br_lset ml;
            if (match_labels(cx, m, one->v[i].ls, &ml) != 0) {
                return oom(err);
            }
            char a[BR_ERR_MSG_SIZE];
            char b[BR_ERR_MSG_SIZE];
            char g[BR_ERR_MSG_SIZE];
            fmt_lset(one->v[i].ls, a, sizeof(a));
            fmt_lset(one->v[prev].ls, b, sizeof(b));
            fmt_lset(ml, g, sizeof(g));
            const char *d1 = a;
            const char *d2 = b;
            if (strcmp(d1, d2) > 0) {
                d1 = b;
                d2 = a;
            }
            return br_err_set(err, BR_EEXEC,
                              "found duplicate series for the match group %s on the %s hand-side "
                              "of the operation: [%s, %s];many-to-many matching not allowed: "
                              "matching labels must be unique on one side",
                              g, swapped ? "left" : "right", d1, d2);
        }
        if (br_imap_put(cx->arena, &one_idx, sig, (uint32_t)i) != 0) {
            return oom(err);
        }
    }
    /* Matched signatures (one-to-one) or result label sets per signature. */
    br_imap matched;
    br_imap results;
    if (br_imap_init(cx->arena, &matched, many->n) != 0 ||
        br_imap_init(cx->arena, &results, many->n) != 0) {
        return oom(err);
    }
    bool *one_used = br_arena_calloc(cx->arena, one->n + 1, sizeof(bool));
    if (one_used == NULL) {
        return oom(err);
    }
    for (size_t i = 0; i < many->n + (m->fill_lhs ? one->n : 0); i++) {
        const br_vsample *ms;
        const br_vsample *os;
        br_vsample fill_s;
        uint64_t sig;
        uint32_t oi = 0;
        if (i < many->n) {
            ms = &many->v[i];
            sig = br_binop_signature(m, ms->ls);
            if (br_imap_get(&one_idx, sig, &oi)) {
                os = &one->v[oi];
                one_used[oi] = true;
            } else {
                if (!m->fill_rhs) {
                    continue;
                }
                memset(&fill_s, 0, sizeof(fill_s));
                if (match_labels(cx, m, ms->ls, &fill_s.ls) != 0) {
                    return oom(err);
                }
                fill_s.f = m->fill_rhs_value;
                os = &fill_s;
            }
        } else {
            size_t k = i - many->n;
            if (one_used[k]) {
                continue;
            }
            os = &one->v[k];
            sig = one_sig[k];
            memset(&fill_s, 0, sizeof(fill_s));
            if (match_labels(cx, m, os->ls, &fill_s.ls) != 0) {
                return oom(err);
            }
            fill_s.f = m->fill_lhs_value;
            ms = &fill_s;
        }
        /* Restore the operand order for the computation. */
        const br_vsample *ls = swapped ? os : ms;
        const br_vsample *rs = swapped ? ms : os;
        elem_result r;
        if (elem_binop(cx, op, ls->f, rs->f, ls->h, rs->h, true, &r) != 0) {
            return oom(err);
        }
        if (r.drop) {
            continue;
        }
        double fv = r.f;
        const br_fhist *hv = r.h;
        if (ret_bool) {
            hv = NULL;
            fv = r.keep ? 1.0 : 0.0;
        }
        br_lset metric;
        if (result_metric(cx, op, m, !cx->delayed_names && ret_bool, ms->ls, os->ls, &metric) !=
            0) {
            return oom(err);
        }
        if (m->card == BR_CARD_ONE_TO_ONE) {
            uint32_t seen;
            if (br_imap_get(&matched, sig, &seen)) {
                return br_err_set(err, BR_EEXEC,
                                  "multiple matches for labels: many-to-one matching must be "
                                  "explicit (group_left/group_right)");
            }
            if (br_imap_put(cx->arena, &matched, sig, 0) != 0) {
                return oom(err);
            }
        } else {
            uint64_t key = br_lset_hash(metric) ^ (sig * 0x9e3779b97f4a7c15ULL);
            uint32_t seen;
            if (br_imap_get(&results, key, &seen)) {
                return br_err_set(err, BR_EEXEC,
                                  "multiple matches for labels: grouping labels must ensure "
                                  "unique matches");
            }
            if (br_imap_put(cx->arena, &results, key, 0) != 0) {
                return oom(err);
            }
        }
        if (!r.keep && !ret_bool) {
            continue;
        }
        br_vsample s;
        memset(&s, 0, sizeof(s));
        s.ls = metric;
        s.t = ms->t;
        s.f = fv;
        s.h = hv;
        s.drop_name = ret_bool;
        if (br_vvec_push(cx->arena, out, &s) != 0) {
            return oom(err);
        }
    }
    return 0;
}

int br_binop_vs(br_fctx *cx, br_binop op, const br_vvec *vec, double scalar, bool swap,
                bool ret_bool, br_vvec *out, br_err *err)
{
    for (size_t i = 0; i < vec->n; i++) {
        const br_vsample *el = &vec->v[i];
        double l = el->f;
        double r = scalar;
        const br_fhist *hl = el->h;
        const br_fhist *hr = NULL;
        if (swap) {
            l = scalar;
            r = el->f;
            hl = NULL;
            hr = el->h;
        }
        elem_result res;
        if (elem_binop(cx, op, l, r, hl, hr, true, &res) != 0) {
            return oom(err);
        }
        if (res.drop) {
            continue;
        }
        double fv = res.f;
        const br_fhist *hv = res.h;
        bool keep = res.keep;
        if (br_binop_is_comparison(op) && swap) {
            fv = r;
            hv = hr;
        }
        if (ret_bool) {
            fv = keep ? 1.0 : 0.0;
            hv = NULL;
            keep = true;
        }
        if (!keep) {
            continue;
        }
        br_vsample s = *el;
        s.f = fv;
        s.h = hv;
        if (changes_schema(op, cx->v2) || ret_bool) {
            if (!cx->delayed_names) {
                if (br_lset_drop_name(cx->arena, s.ls, !cx->v2, &s.ls) != 0) {
                    return oom(err);
                }
            }
            s.drop_name = true;
        }
        if (br_vvec_push(cx->arena, out, &s) != 0) {
            return oom(err);
        }
    }
    return 0;
}
