/*
 * ast.h — the PromQL syntax tree: what the parser produces and the
 * evaluator walks.
 *
 * Data flow: query text → lexer.c → parser.c (builds and type-checks this
 * tree) → the evaluator; br_promql_print turns a tree back into the
 * canonical text Prometheus prints (promtool, /api/v1/format_query).
 *
 * Memory: every node, list and string lives in the br_arena the parser was
 * given (one per query) and is never freed on its own. The one exception
 * is the label matchers of vector selectors: br_matcher compiles regexes
 * with heap memory, so a tree must be released with br_promql_ast_free()
 * before its arena is freed. Strings are NUL-terminated; string literals
 * also carry their length because "\x00" is a valid PromQL string.
 *
 * Shape (mirrors Prometheus' promql/parser/ast.go):
 *   NUMBER, STRING      literals (a unary minus on a number literal is
 *                       folded into it, as Prometheus does)
 *   VECTOR_SELECTOR     name + matchers, offset, @, anchored/smoothed
 *   MATRIX_SELECTOR     a VECTOR_SELECTOR child + range; the offset, @
 *                       and anchored/smoothed of `x[5m] offset 1m` live
 *                       on that child
 *   SUBQUERY            expr + range + step (0 = default) + offset + @
 * (ranges, steps and offsets are either fixed milliseconds or a duration
 * expression, br_promql_dur, computed per query)
 *   CALL                function table entry + arguments
 *   AGGREGATE           op + expr + param (topk, quantile...) + grouping
 *   BINARY              op + lhs + rhs + bool + vector matching + fill
 *   UNARY               '-' or '+' + expr
 *   PAREN               (expr)
 * Every node has its value type and its byte range [start, end) in the
 * query (the ranges Prometheus' PositionRange gives).
 *
 * Trees are immutable after br_promql_parse returns, so any number of
 * threads may read (walk, print, evaluate) one tree at once.
 */
#ifndef BR_PROMQL_AST_H
#define BR_PROMQL_AST_H

#include "engine/core/arena.h"
#include "engine/core/buf.h"
#include "engine/core/err.h"
#include "engine/promql/functions_table.h"
#include "engine/promql/selector.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum br_promql_kind {
    BR_PROMQL_NUMBER = 0,
    BR_PROMQL_STRING,
    BR_PROMQL_VECTOR_SELECTOR,
    BR_PROMQL_MATRIX_SELECTOR,
    BR_PROMQL_SUBQUERY,
    BR_PROMQL_CALL,
    BR_PROMQL_AGGREGATE,
    BR_PROMQL_BINARY,
    BR_PROMQL_UNARY,
    BR_PROMQL_PAREN,
} br_promql_kind;

/* Binary operators, by precedence group (lowest first). */
typedef enum br_promql_binop {
    BR_PROMQL_OP_OR = 0,
    BR_PROMQL_OP_AND,
    BR_PROMQL_OP_UNLESS,
    BR_PROMQL_OP_EQLC,       /* == */
    BR_PROMQL_OP_NEQ,        /* != */
    BR_PROMQL_OP_GTR,        /* >  */
    BR_PROMQL_OP_LSS,        /* <  */
    BR_PROMQL_OP_GTE,        /* >= */
    BR_PROMQL_OP_LTE,        /* <= */
    BR_PROMQL_OP_TRIM_UPPER, /* </ native histogram trim (Prometheus 3) */
    BR_PROMQL_OP_TRIM_LOWER, /* >/ */
    BR_PROMQL_OP_ADD,
    BR_PROMQL_OP_SUB,
    BR_PROMQL_OP_MUL,
    BR_PROMQL_OP_DIV,
    BR_PROMQL_OP_MOD,
    BR_PROMQL_OP_ATAN2,
    BR_PROMQL_OP_POW,
} br_promql_binop;

typedef enum br_promql_aggop {
    BR_PROMQL_AGG_SUM = 0,
    BR_PROMQL_AGG_AVG,
    BR_PROMQL_AGG_COUNT,
    BR_PROMQL_AGG_MIN,
    BR_PROMQL_AGG_MAX,
    BR_PROMQL_AGG_GROUP,
    BR_PROMQL_AGG_STDDEV,
    BR_PROMQL_AGG_STDVAR,
    BR_PROMQL_AGG_TOPK,         /* param: scalar k */
    BR_PROMQL_AGG_BOTTOMK,      /* param: scalar k */
    BR_PROMQL_AGG_COUNT_VALUES, /* param: string label name */
    BR_PROMQL_AGG_QUANTILE,     /* param: scalar phi */
    BR_PROMQL_AGG_LIMITK,       /* param: scalar k (experimental in Prometheus) */
    BR_PROMQL_AGG_LIMIT_RATIO,  /* param: scalar ratio (experimental in Prometheus) */
} br_promql_aggop;

typedef enum br_promql_card {
    BR_PROMQL_CARD_ONE_TO_ONE = 0,
    BR_PROMQL_CARD_MANY_TO_ONE,  /* group_left */
    BR_PROMQL_CARD_ONE_TO_MANY,  /* group_right */
    BR_PROMQL_CARD_MANY_TO_MANY, /* and, or, unless */
} br_promql_card;

/* The @ modifier. */
typedef enum br_promql_at {
    BR_PROMQL_AT_NONE = 0,
    BR_PROMQL_AT_TIMESTAMP, /* @ <at_ms> */
    BR_PROMQL_AT_START,     /* @ start() */
    BR_PROMQL_AT_END,       /* @ end() */
} br_promql_at;

/*
 * A duration expression: Prometheus' experimental duration arithmetic in
 * the range of x[...], the range and step of a subquery, and after offset
 * (`[5m+1m]`, `[step()*2:]`, `offset (1h/2)`, `offset min_of(step(), 1m)`).
 * A duration written as one literal (`5m`, `-30s`, `90`) never becomes an
 * expression: its value goes straight into the node's *_ms field. The value
 * of an expression depends on the query (step() is the query's step, 0
 * for an instant query; range() is end - start), so the evaluator computes
 * it per query with br_promql_dur_eval. Lives in the parser's arena.
 */
typedef enum br_promql_dur_op {
    BR_PROMQL_DUR_NUMBER = 0, /* a literal: value (seconds) */
    BR_PROMQL_DUR_ADD,        /* lhs + rhs; unary + when lhs is NULL */
    BR_PROMQL_DUR_SUB,        /* lhs - rhs; unary - when lhs is NULL */
    BR_PROMQL_DUR_MUL,
    BR_PROMQL_DUR_DIV,
    BR_PROMQL_DUR_MOD,
    BR_PROMQL_DUR_POW,
    BR_PROMQL_DUR_STEP,   /* step() */
    BR_PROMQL_DUR_RANGE,  /* range() */
    BR_PROMQL_DUR_MIN_OF, /* min_of(lhs, rhs) */
    BR_PROMQL_DUR_MAX_OF, /* max_of(lhs, rhs) */
} br_promql_dur_op;

typedef struct br_promql_dur br_promql_dur;
struct br_promql_dur {
    br_promql_dur_op op;
    double value;  /* NUMBER: seconds */
    bool duration; /* NUMBER written as a duration (5m): printed as one */
    bool wrapped;  /* written in parentheses: printed with them */
    const br_promql_dur *lhs;
    const br_promql_dur *rhs;
    uint32_t start; /* byte range in the query, as Prometheus' PositionRange */
    uint32_t end;
};

/* A list of label names (grouping, on/ignoring, group_left/right). */
typedef struct br_promql_labels {
    const char **names; /* arena; NULL when n == 0 */
    size_t n;
} br_promql_labels;

typedef struct br_promql_node br_promql_node;

struct br_promql_node {
    br_promql_kind kind;
    br_promql_type type; /* the value type the node evaluates to */
    uint32_t start;      /* byte range [start, end) in the query text */
    uint32_t end;
    uint32_t depth; /* 1 for leaves; 1 + the deepest child otherwise */
    union {
        struct {
            double value;
            bool duration; /* written as a duration (5m); printed as one */
        } number;
        struct {
            const char *value; /* decoded, NUL-terminated */
            size_t len;        /* may contain NUL bytes */
        } string;
        struct {
            const char *name; /* metric name written before the braces, or NULL */
            /* All matchers in written order, then __name__="name" when a
             * name was written. In the arena; its matchers hold heap
             * memory that br_promql_ast_free releases. */
            br_selector *matchers;
            int64_t offset_ms; /* 0 = none; negative offsets allowed */
            const br_promql_dur *offset_expr; /* instead of offset_ms, or NULL */
            br_promql_at at;
            int64_t at_ms; /* for BR_PROMQL_AT_TIMESTAMP */
            /* Prometheus' experimental extended range selectors: anchored
             * windows start at the last sample at or before their start;
             * smoothed ones interpolate at both ends (and a smoothed
             * instant selector interpolates at the evaluation time). */
            bool anchored;
            bool smoothed;
            /* True for the second argument of info(), which may match
             * everything (Prometheus' BypassEmptyMatcherCheck). */
            bool bypass_empty_check;
        } vs;
        struct {
            br_promql_node *vs; /* a VECTOR_SELECTOR */
            int64_t range_ms;   /* > 0 (0 when range_expr is set) */
            const br_promql_dur *range_expr; /* instead of range_ms, or NULL */
        } matrix;
        struct {
            br_promql_node *expr; /* instant vector */
            int64_t range_ms;     /* > 0 (0 when range_expr is set) */
            int64_t step_ms;      /* 0 = the default resolution */
            int64_t offset_ms;
            const br_promql_dur *range_expr;  /* instead of range_ms, or NULL */
            const br_promql_dur *step_expr;   /* instead of step_ms, or NULL */
            const br_promql_dur *offset_expr; /* instead of offset_ms, or NULL */
            br_promql_at at;
            int64_t at_ms;
        } subquery;
        struct {
            const br_promql_function *func; /* static table entry */
            br_promql_node **args;          /* arena; NULL when nargs == 0 */
            size_t nargs;
        } call;
        struct {
            br_promql_aggop op;
            br_promql_node *expr;
            br_promql_node *param; /* NULL unless the op takes one */
            br_promql_labels grouping;
            bool without; /* grouping lists labels to drop */
        } aggregate;
        struct {
            br_promql_binop op;
            br_promql_node *lhs;
            br_promql_node *rhs;
            bool return_bool;
            /* Vector matching; meaningful only when has_matching, which is
             * true exactly when both sides are instant vectors. */
            bool has_matching;
            br_promql_card card;
            bool on;                   /* on(...) rather than ignoring(...) */
            br_promql_labels matching; /* the on/ignoring labels */
            br_promql_labels include;  /* the group_left/right labels */
            /* Experimental fill()/fill_left()/fill_right(): the value that
             * stands in for a missing left or right operand. */
            bool fill_lhs;
            bool fill_rhs;
            double fill_lhs_value;
            double fill_rhs_value;
        } binary;
        struct {
            char op; /* '-' or '+' */
            br_promql_node *expr;
        } unary;
        struct {
            br_promql_node *expr;
        } paren;
    } u;
};

/* Names Prometheus prints: "+", "and", "atan2", "sum", "count_values". */
const char *br_promql_binop_str(br_promql_binop op);
const char *br_promql_aggop_str(br_promql_aggop op);

/* True for == != > < >= <= (the operators `bool` applies to). */
bool br_promql_binop_is_comparison(br_promql_binop op);
/* True for and, or, unless. */
bool br_promql_binop_is_set(br_promql_binop op);
/* True for topk, bottomk, count_values, quantile, limitk, limit_ratio. */
bool br_promql_aggop_has_param(br_promql_aggop op);

/*
 * Allocates a node of kind in arena a (borrowed), zeroed, with the given
 * byte range and depth 1. Returns NULL when the arena's cap is reached.
 * The parser builds trees with it; tests and rewriters may too.
 */
br_promql_node *br_promql_node_new(br_arena *a, br_promql_kind kind, uint32_t start, uint32_t end);

/* Number of children (0..n) and the i-th child (borrowed; NULL past the
 * end), in Prometheus' order: aggregate expr then param, binary lhs then
 * rhs, call arguments. */
size_t br_promql_child_count(const br_promql_node *n);
br_promql_node *br_promql_child(const br_promql_node *n, size_t i);

/*
 * Visits root (borrowed) and its descendants depth first, parents before
 * children; ctx is passed through to fn untouched.
 * fn returns 0 to continue, BR_PROMQL_WALK_SKIP to skip the node's
 * children, or a negative value to stop the walk, which then returns that
 * value. parent is NULL for the root. Recursion is bounded by the tree
 * depth, which the parser caps (BR_PROMQL_MAX_DEPTH).
 */
#define BR_PROMQL_WALK_SKIP 1
typedef int (*br_promql_visit_fn)(br_promql_node *node, br_promql_node *parent, void *ctx);
int br_promql_walk(br_promql_node *root, br_promql_visit_fn fn, void *ctx);

/*
 * Appends the canonical text of node (borrowed) to out (borrowed), as
 * Prometheus 3's Expr.String() writes it:
 * `sum by (job) (rate(x{a="b"}[5m]))`, matchers sorted, durations
 * normalised (`90s` → `1m30s`), numbers in shortest positional form
 * (0.0000001; Prometheus 2.x wrote 1e-07), strings double-quoted, all on
 * one line (no prettifying of long queries). Parsing the output gives an
 * equal tree. Returns 0 or BR_ELIMIT (out's cap).
 */
int br_promql_print(const br_promql_node *node, br_buf *out);

/* Appends a duration in milliseconds the way Prometheus prints one
 * ("1h30m", "90d", "0s", "-5m"). Returns 0 or BR_ELIMIT. */
int br_promql_print_duration(int64_t ms, br_buf *out);

/*
 * Computes duration expression d (borrowed) for a query whose step is
 * step_ms (0 for an instant query) and whose range is range_ms (end -
 * start), the way Prometheus' engine does before evaluating: the value in
 * seconds is truncated to whole milliseconds. Returns 0 with *out_ms, or
 * BR_EPARSE with Prometheus' message ("<start>:<end>: duration must be
 * greater than 0", "... division by zero", "... duration is out of
 * range"). Negative values are allowed only with allow_negative (offsets).
 */
int br_promql_dur_eval(const br_promql_dur *d, int64_t step_ms, int64_t range_ms,
                       bool allow_negative, int64_t *out_ms, br_err *err);

/* Appends d (borrowed) as Prometheus prints a duration expression
 * (`5m + 1m`, `(1h / 2)`, `min_of(step(), 1m)`). Returns 0 or BR_ELIMIT. */
int br_promql_print_dur(const br_promql_dur *d, br_buf *out);

/* Releases the heap memory (compiled matchers) of every vector selector
 * in the tree; the nodes themselves stay in the arena. NULL is ignored.
 * Call once per parsed tree, before freeing the arena. */
void br_promql_ast_free(br_promql_node *root);

#endif
