/*
 * binop.h — PromQL binary operators at one evaluation step: arithmetic,
 * comparisons (filtering or `bool`), atan2, and the set operators
 * and/or/unless, between scalars and instant vectors, with vector matching
 * (on/ignoring, group_left/group_right) exactly as Prometheus'
 * VectorBinop/VectorAnd/VectorOr/VectorUnless/VectorscalarBinop.
 *
 * Where it sits: eval.c evaluates both operands over all steps and calls
 * this module once per step with the two instant vectors of that step.
 * Errors use Prometheus' texts ("many-to-many matching not allowed: ...",
 * "multiple matches for labels: ...") with code BR_EEXEC.
 *
 * Memory comes from the context's arena; one thread per context.
 */
#ifndef BR_PROMQL_BINOP_H
#define BR_PROMQL_BINOP_H

#include "engine/core/err.h"
#include "engine/promql/functions.h"
#include "engine/promql/value.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum br_binop {
    BR_BINOP_ADD = 0,
    BR_BINOP_SUB,
    BR_BINOP_MUL,
    BR_BINOP_DIV,
    BR_BINOP_MOD,
    BR_BINOP_POW,
    BR_BINOP_ATAN2,
    BR_BINOP_EQLC,
    BR_BINOP_NEQ,
    BR_BINOP_GTR,
    BR_BINOP_LSS,
    BR_BINOP_GTE,
    BR_BINOP_LTE,
    BR_BINOP_AND,
    BR_BINOP_OR,
    BR_BINOP_UNLESS,
    BR_BINOP_TRIM_UPPER, /* </ (Prometheus 3, native histograms) */
    BR_BINOP_TRIM_LOWER, /* >/ */
} br_binop;

typedef enum br_card {
    BR_CARD_ONE_TO_ONE = 0,
    BR_CARD_MANY_TO_ONE,
    BR_CARD_ONE_TO_MANY,
    BR_CARD_MANY_TO_MANY,
} br_card;

/* Vector matching of one binary expression; names are borrowed and sorted. */
typedef struct br_vmatching {
    br_card card;
    bool on;
    const char *const *names;
    size_t n_names;
    const char *const *include; /* group_left/group_right labels */
    size_t n_include;
    bool fill_lhs;              /* fill()/fill_left(): value for a missing lhs */
    bool fill_rhs;
    double fill_lhs_value;
    double fill_rhs_value;
} br_vmatching;

/* "+", "==", "atan2", "and", ... */
const char *br_binop_str(br_binop op);
bool br_binop_is_comparison(br_binop op);
bool br_binop_is_set(br_binop op);

/* scalar op scalar (comparisons give 0 or 1). */
double br_binop_scalar(br_binop op, double l, double r);

/* The join signature of a label set under m. */
uint64_t br_binop_signature(const br_vmatching *m, br_lset ls);

/* Vector-vector operation; results are appended to out. BR_EEXEC on
 * matching errors, BR_ELIMIT when the arena is full. */
int br_binop_vv(br_fctx *cx, br_binop op, const br_vmatching *m, bool ret_bool,
                const br_vvec *lhs, const br_vvec *rhs, br_vvec *out, br_err *err);

/* Vector-scalar operation (swap: the scalar is the left operand). */
int br_binop_vs(br_fctx *cx, br_binop op, const br_vvec *vec, double scalar, bool swap,
                bool ret_bool, br_vvec *out, br_err *err);

#endif
