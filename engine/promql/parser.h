/*
 * parser.h — PromQL text → type-checked syntax tree (ast.h).
 *
 * Where it sits: the query API (instant and range queries), the rule
 * compiler (SLO rules compile to PromQL) and `burnrate check` parse with
 * br_promql_parse; the evaluator then walks the tree. The grammar,
 * operator precedence, type rules and error texts are Prometheus'
 * (promql/parser): errors read `1:7: parse error: <message>` with the
 * 1-based line and byte column of the first problem, the message worded
 * as Prometheus words it, e.g. `unexpected end of input`,
 * `expected type range vector in call to function "rate", got instant
 * vector`. Prometheus 3 syntax is accepted (quoted metric and label
 * names, bare-number durations like [90] and offset 30, </ and >/,
 * experimental functions, limitk, limit_ratio), as is Prometheus 2's
 * holt_winters. Experimental syntax Prometheus keeps behind feature flags
 * is rejected by default with Prometheus' own "not enabled" messages, and
 * accepted by br_promql_parse_ex with the matching flag: duration
 * arithmetic and step()/range()/min_of()/max_of() inside [...] and after
 * offset, the anchored/smoothed modifiers, and fill()/fill_left()/
 * fill_right() on binary operators.
 *
 * Limits, all reported as BR_ELIMIT with a message: input length
 * (BR_PROMQL_MAX_INPUT), nesting depth of the expression and of the tree
 * (BR_PROMQL_MAX_DEPTH, so `((((...` 100k deep is an error, not a stack
 * overflow, and every later recursive pass is bounded), vector selectors
 * per query (BR_PROMQL_MAX_SELECTORS), matchers per selector
 * (BR_SELECTOR_MAX_MATCHERS) and the arena's byte cap.
 *
 * Thread safety: no shared state; concurrent parses need separate arenas.
 */
#ifndef BR_PROMQL_PARSER_H
#define BR_PROMQL_PARSER_H

#include "engine/core/arena.h"
#include "engine/core/err.h"
#include "engine/promql/ast.h"

#include <stddef.h>
#include <stdint.h>

#define BR_PROMQL_MAX_INPUT     (64 * 1024)
#define BR_PROMQL_MAX_DEPTH     512
#define BR_PROMQL_MAX_SELECTORS 512

/*
 * Parses and type-checks the NUL-terminated query input (borrowed). On
 * success sets *out to the root (nodes in arena, borrowed; the caller must
 * call br_promql_ast_free(*out) before freeing the arena) and returns 0.
 * On failure returns BR_EPARSE (syntax or type error) or BR_ELIMIT, fills
 * err (message, err->line, err->col) and leaves *out NULL; nothing needs
 * releasing then (the arena holds only garbage).
 */
int br_promql_parse(const char *input, br_arena *arena, br_promql_node **out, br_err *err);

/* br_promql_parse for input[0..len), which may contain NUL bytes (they are
 * reported as unexpected characters, as Prometheus does). */
int br_promql_parse_n(const char *input, size_t len, br_arena *arena, br_promql_node **out,
                      br_err *err);

/* Experimental syntax, off by default as in Prometheus (the feature flag
 * that enables it there in brackets). */
#define BR_PROMQL_PARSE_DURATION_EXPR  0x1u /* [promql-duration-expr] */
#define BR_PROMQL_PARSE_EXTENDED_RANGE 0x2u /* [promql-extended-range-selectors] */
#define BR_PROMQL_PARSE_FILL_MODIFIERS 0x4u /* [promql-binop-fill-modifiers] */
#define BR_PROMQL_PARSE_EXPERIMENTAL   0x7u /* all of them */

/*
 * br_promql_parse_n with experimental syntax enabled by flags (a mix of
 * BR_PROMQL_PARSE_*): duration arithmetic and step()/range()/min_of()/
 * max_of() in ranges, subquery steps and offsets (`x[5m+1m]`,
 * `x offset (1h/2)`); the anchored and smoothed modifiers
 * (`rate(x[5m] anchored)`, `x smoothed`); fill(v), fill_left(v) and
 * fill_right(v) after a binary operator's matching modifiers. Same
 * contract as br_promql_parse otherwise.
 */
int br_promql_parse_ex(const char *input, size_t len, unsigned flags, br_arena *arena,
                       br_promql_node **out, br_err *err);

/*
 * Parses a duration the way Prometheus' HTTP API reads step=, timeout=
 * and lookback_delta=: a float number of seconds ("15", "0.5", "1e3") or
 * a duration ("1m30s"). Sets *out_ms (truncated to whole milliseconds;
 * may be negative or zero, the caller judges) and returns 0, or returns
 * BR_EPARSE with `cannot parse "x" to a valid duration` (or `... It
 * overflows int64`).
 */
int br_promql_parse_duration(const char *s, int64_t *out_ms, br_err *err);

#endif
