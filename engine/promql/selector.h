/*
 * selector.h — parsing PromQL series selectors: `metric`, `{job="api"}`,
 * `http_requests_total{code=~"5..", method!="GET"}`.
 *
 * Used by the metadata endpoints (match[] of /api/v1/series, /labels,
 * /label/<name>/values, /export) and by the PromQL parser for the brace
 * part of vector selectors. Strings take PromQL's three quote styles
 * ("..." and '...' with Go escapes, `...` raw). Errors name the position
 * (1-based column) and what was expected, as Prometheus does.
 *
 * Ownership: br_selector owns its matchers; free with br_selector_free.
 */
#ifndef BR_PROMQL_SELECTOR_H
#define BR_PROMQL_SELECTOR_H

#include "engine/core/err.h"
#include "storage/matcher.h"

#include <stddef.h>

#define BR_SELECTOR_MAX_MATCHERS 64

typedef struct br_selector {
    br_matcher matchers[BR_SELECTOR_MAX_MATCHERS];
    size_t n;
} br_selector;

/* Parses the whole of text as one selector. Returns 0, or BR_EPARSE with
 * err->col set and a message such as
 * `1:12: parse error: unexpected "}" in label matching, expected string`. */
int br_selector_parse(const char *text, br_selector *out, br_err *err);

/* Parses a selector starting at text[*pos] (for the PromQL parser);
 * advances *pos past it. */
int br_selector_parse_at(const char *text, size_t *pos, br_selector *out, br_err *err);

void br_selector_free(br_selector *s);

/* Decodes one PromQL string literal starting at text[*pos] (quote char
 * included) into out (a caller buffer of size bytes); advances *pos. */
int br_promql_unquote(const char *text, size_t *pos, char *out, size_t size, br_err *err);

#endif
