/*
 * functions_table.h — the PromQL functions: names, argument types, return
 * types. One constant table, shared by the parser (type checking of calls)
 * and the evaluator (dispatch by br_promql_func_id).
 *
 * The list is Prometheus 3.x's (promql/parser/functions.go) plus
 * holt_winters, which Prometheus 2.x has and 3.0 renamed to
 * double_exponential_smoothing, so queries written for 2.42 still parse.
 * Functions Prometheus marks experimental (behind
 * --enable-feature=promql-experimental-functions) carry `experimental`;
 * burnrate's parser accepts them, the evaluator may still decline some.
 *
 * Argument counts follow Prometheus' Variadic convention: with variadic 0
 * exactly n_args arguments; with variadic > 0 between n_args - 1 and
 * n_args - 1 + variadic; with variadic -1 at least n_args - 1. Arguments
 * past the declared ones take the type of the last declared argument.
 *
 * Everything here is constant: any thread may call these functions.
 */
#ifndef BR_PROMQL_FUNCTIONS_TABLE_H
#define BR_PROMQL_FUNCTIONS_TABLE_H

#include <stdbool.h>
#include <stddef.h>

/* The value type of an expression. */
typedef enum br_promql_type {
    BR_PROMQL_TYPE_NONE = 0,
    BR_PROMQL_TYPE_SCALAR,
    BR_PROMQL_TYPE_VECTOR, /* instant vector */
    BR_PROMQL_TYPE_MATRIX, /* range vector */
    BR_PROMQL_TYPE_STRING,
} br_promql_type;

/*
 * XX(id, name, return type, variadic, experimental, n_args, arg0..arg4).
 * Type letters: V instant vector, M range vector, S scalar, T string,
 * _ unused slot.
 */
#define BR_PROMQL_FUNCTIONS(XX)                                                                    \
    XX(ABS, "abs", V, 0, false, 1, V, _, _, _, _)                                                  \
    XX(ABSENT, "absent", V, 0, false, 1, V, _, _, _, _)                                            \
    XX(ABSENT_OVER_TIME, "absent_over_time", V, 0, false, 1, M, _, _, _, _)                        \
    XX(ACOS, "acos", V, 0, false, 1, V, _, _, _, _)                                                \
    XX(ACOSH, "acosh", V, 0, false, 1, V, _, _, _, _)                                              \
    XX(ASIN, "asin", V, 0, false, 1, V, _, _, _, _)                                                \
    XX(ASINH, "asinh", V, 0, false, 1, V, _, _, _, _)                                              \
    XX(ATAN, "atan", V, 0, false, 1, V, _, _, _, _)                                                \
    XX(ATANH, "atanh", V, 0, false, 1, V, _, _, _, _)                                              \
    XX(AVG_OVER_TIME, "avg_over_time", V, 0, false, 1, M, _, _, _, _)                              \
    XX(CEIL, "ceil", V, 0, false, 1, V, _, _, _, _)                                                \
    XX(CHANGES, "changes", V, 0, false, 1, M, _, _, _, _)                                          \
    XX(CLAMP, "clamp", V, 0, false, 3, V, S, S, _, _)                                              \
    XX(CLAMP_MAX, "clamp_max", V, 0, false, 2, V, S, _, _, _)                                      \
    XX(CLAMP_MIN, "clamp_min", V, 0, false, 2, V, S, _, _, _)                                      \
    XX(COS, "cos", V, 0, false, 1, V, _, _, _, _)                                                  \
    XX(COSH, "cosh", V, 0, false, 1, V, _, _, _, _)                                                \
    XX(COUNT_OVER_TIME, "count_over_time", V, 0, false, 1, M, _, _, _, _)                          \
    XX(DAY_OF_MONTH, "day_of_month", V, 1, false, 1, V, _, _, _, _)                                \
    XX(DAY_OF_WEEK, "day_of_week", V, 1, false, 1, V, _, _, _, _)                                  \
    XX(DAY_OF_YEAR, "day_of_year", V, 1, false, 1, V, _, _, _, _)                                  \
    XX(DAYS_IN_MONTH, "days_in_month", V, 1, false, 1, V, _, _, _, _)                              \
    XX(DEG, "deg", V, 0, false, 1, V, _, _, _, _)                                                  \
    XX(DELTA, "delta", V, 0, false, 1, M, _, _, _, _)                                              \
    XX(DERIV, "deriv", V, 0, false, 1, M, _, _, _, _)                                              \
    XX(DOUBLE_EXPONENTIAL_SMOOTHING, "double_exponential_smoothing", V, 0, true, 3, M, S, S, _, _) \
    XX(END, "end", S, 0, true, 0, _, _, _, _, _)                                                   \
    XX(EXP, "exp", V, 0, false, 1, V, _, _, _, _)                                                  \
    XX(FIRST_OVER_TIME, "first_over_time", V, 0, false, 1, M, _, _, _, _)                          \
    XX(FLOOR, "floor", V, 0, false, 1, V, _, _, _, _)                                              \
    XX(HISTOGRAM_AVG, "histogram_avg", V, 0, false, 1, V, _, _, _, _)                              \
    XX(HISTOGRAM_COUNT, "histogram_count", V, 0, false, 1, V, _, _, _, _)                          \
    XX(HISTOGRAM_FRACTION, "histogram_fraction", V, 0, false, 3, S, S, V, _, _)                    \
    XX(HISTOGRAM_QUANTILE, "histogram_quantile", V, 0, false, 2, S, V, _, _, _)                    \
    XX(HISTOGRAM_QUANTILES, "histogram_quantiles", V, 9, true, 4, V, T, S, S, _)                   \
    XX(HISTOGRAM_STDDEV, "histogram_stddev", V, 0, false, 1, V, _, _, _, _)                        \
    XX(HISTOGRAM_STDVAR, "histogram_stdvar", V, 0, false, 1, V, _, _, _, _)                        \
    XX(HISTOGRAM_SUM, "histogram_sum", V, 0, false, 1, V, _, _, _, _)                              \
    XX(HOLT_WINTERS, "holt_winters", V, 0, false, 3, M, S, S, _, _)                                \
    XX(HOUR, "hour", V, 1, false, 1, V, _, _, _, _)                                                \
    XX(IDELTA, "idelta", V, 0, false, 1, M, _, _, _, _)                                            \
    XX(INCREASE, "increase", V, 0, false, 1, M, _, _, _, _)                                        \
    XX(INFO, "info", V, 1, true, 2, V, V, _, _, _)                                                 \
    XX(IRATE, "irate", V, 0, false, 1, M, _, _, _, _)                                              \
    XX(LABEL_JOIN, "label_join", V, -1, false, 4, V, T, T, T, _)                                   \
    XX(LABEL_REPLACE, "label_replace", V, 0, false, 5, V, T, T, T, T)                              \
    XX(LAST_OVER_TIME, "last_over_time", V, 0, false, 1, M, _, _, _, _)                            \
    XX(LN, "ln", V, 0, false, 1, V, _, _, _, _)                                                    \
    XX(LOG10, "log10", V, 0, false, 1, V, _, _, _, _)                                              \
    XX(LOG2, "log2", V, 0, false, 1, V, _, _, _, _)                                                \
    XX(MAD_OVER_TIME, "mad_over_time", V, 0, true, 1, M, _, _, _, _)                               \
    XX(MAX_OF, "max_of", S, 0, true, 2, S, S, _, _, _)                                             \
    XX(MAX_OVER_TIME, "max_over_time", V, 0, false, 1, M, _, _, _, _)                              \
    XX(MIN_OF, "min_of", S, 0, true, 2, S, S, _, _, _)                                             \
    XX(MIN_OVER_TIME, "min_over_time", V, 0, false, 1, M, _, _, _, _)                              \
    XX(MINUTE, "minute", V, 1, false, 1, V, _, _, _, _)                                            \
    XX(MONTH, "month", V, 1, false, 1, V, _, _, _, _)                                              \
    XX(PI, "pi", S, 0, false, 0, _, _, _, _, _)                                                    \
    XX(PREDICT_LINEAR, "predict_linear", V, 0, false, 2, M, S, _, _, _)                            \
    XX(PRESENT_OVER_TIME, "present_over_time", V, 0, false, 1, M, _, _, _, _)                      \
    XX(QUANTILE_OVER_TIME, "quantile_over_time", V, 0, false, 2, S, M, _, _, _)                    \
    XX(RAD, "rad", V, 0, false, 1, V, _, _, _, _)                                                  \
    XX(RANGE, "range", S, 0, true, 0, _, _, _, _, _)                                               \
    XX(RATE, "rate", V, 0, false, 1, M, _, _, _, _)                                                \
    XX(RESETS, "resets", V, 0, false, 1, M, _, _, _, _)                                            \
    XX(ROUND, "round", V, 1, false, 2, V, S, _, _, _)                                              \
    XX(SCALAR, "scalar", S, 0, false, 1, V, _, _, _, _)                                            \
    XX(SGN, "sgn", V, 0, false, 1, V, _, _, _, _)                                                  \
    XX(SIN, "sin", V, 0, false, 1, V, _, _, _, _)                                                  \
    XX(SINH, "sinh", V, 0, false, 1, V, _, _, _, _)                                                \
    XX(SORT, "sort", V, 0, false, 1, V, _, _, _, _)                                                \
    XX(SORT_BY_LABEL, "sort_by_label", V, -1, true, 2, V, T, _, _, _)                              \
    XX(SORT_BY_LABEL_DESC, "sort_by_label_desc", V, -1, true, 2, V, T, _, _, _)                    \
    XX(SORT_DESC, "sort_desc", V, 0, false, 1, V, _, _, _, _)                                      \
    XX(SQRT, "sqrt", V, 0, false, 1, V, _, _, _, _)                                                \
    XX(START, "start", S, 0, true, 0, _, _, _, _, _)                                               \
    XX(START_TIMESTAMP, "start_timestamp", V, 0, true, 1, V, _, _, _, _)                           \
    XX(STDDEV_OVER_TIME, "stddev_over_time", V, 0, false, 1, M, _, _, _, _)                        \
    XX(STDVAR_OVER_TIME, "stdvar_over_time", V, 0, false, 1, M, _, _, _, _)                        \
    XX(STEP, "step", S, 0, true, 0, _, _, _, _, _)                                                 \
    XX(SUM_OVER_TIME, "sum_over_time", V, 0, false, 1, M, _, _, _, _)                              \
    XX(TAN, "tan", V, 0, false, 1, V, _, _, _, _)                                                  \
    XX(TANH, "tanh", V, 0, false, 1, V, _, _, _, _)                                                \
    XX(TIME, "time", S, 0, false, 0, _, _, _, _, _)                                                \
    XX(TIMESTAMP, "timestamp", V, 0, false, 1, V, _, _, _, _)                                      \
    XX(TS_OF_FIRST_OVER_TIME, "ts_of_first_over_time", V, 0, true, 1, M, _, _, _, _)               \
    XX(TS_OF_LAST_OVER_TIME, "ts_of_last_over_time", V, 0, true, 1, M, _, _, _, _)                 \
    XX(TS_OF_MAX_OVER_TIME, "ts_of_max_over_time", V, 0, true, 1, M, _, _, _, _)                   \
    XX(TS_OF_MIN_OVER_TIME, "ts_of_min_over_time", V, 0, true, 1, M, _, _, _, _)                   \
    XX(VECTOR, "vector", V, 0, false, 1, S, _, _, _, _)                                            \
    XX(YEAR, "year", V, 1, false, 1, V, _, _, _, _)

typedef enum br_promql_func_id {
#define BR_PROMQL_FUNC_ENUM_(id, name, ret, variadic, exp, n, a0, a1, a2, a3, a4) BR_PROMQL_FN_##id,
    BR_PROMQL_FUNCTIONS(BR_PROMQL_FUNC_ENUM_)
#undef BR_PROMQL_FUNC_ENUM_
        BR_PROMQL_FN_COUNT_
} br_promql_func_id;

#define BR_PROMQL_FUNC_MAX_ARGS 5

/* One function; entries are static and never freed. */
typedef struct br_promql_function {
    br_promql_func_id id;
    const char *name;
    br_promql_type arg_types[BR_PROMQL_FUNC_MAX_ARGS];
    int n_args;   /* declared argument types in arg_types */
    int variadic; /* see the file comment */
    br_promql_type return_type;
    bool experimental;
} br_promql_function;

/* Looks a function up by its exact (case-sensitive) name, name[0..len)
 * (borrowed); returns the static entry (never freed) or NULL. */
const br_promql_function *br_promql_function_lookup(const char *name, size_t len);

/* Returns the entry for id (static), or NULL when id is out of range. */
const br_promql_function *br_promql_function_by_id(br_promql_func_id id);

/* Returns the whole table (static, sorted by name) and its length. */
const br_promql_function *br_promql_functions(size_t *n);

/* "scalar", "instant vector", "range vector", "string" or "none": the
 * words Prometheus' messages use (DocumentedType). Static strings. */
const char *br_promql_type_name(br_promql_type t);

#endif
