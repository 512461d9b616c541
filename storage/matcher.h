/*
 * matcher.h — PromQL label matchers: name = "v", != "v", =~ "re", !~ "re".
 *
 * Where it sits: the PromQL parser and the HTTP API (match[] selectors)
 * build matchers; the postings index (postings.h) selects series with them;
 * the evaluator may test label values with them directly.
 *
 * Regex semantics follow Prometheus: the value must match the whole string
 * (the pattern is anchored as ^(?:re)$), `.` also matches a line feed (as
 * in Prometheus 3), and the syntax is RE2's. RE2 is translated to POSIX
 * extended syntax and compiled with regcomp: \d \w \s and their negations,
 * (?:...), named groups, flags i and s anywhere with RE2's scoping ((?i:re),
 * (?s-i:re), a (?i) lasting to the end of its group; case-insensitivity
 * folds ASCII letters only), \Q...\E, \x and octal escapes, escaped
 * punctuation, \A \z \b \B, POSIX classes and lazy quantifiers (which
 * match the same strings as greedy ones). `.`, negated classes and
 * non-ASCII literals are made to consume whole UTF-8 characters, as RE2's
 * do. What has no POSIX equivalent is rejected with BR_EINVAL and a message
 * naming the construct: lookaround, backreferences, \p{..} Unicode classes,
 * flags m and U, non-ASCII characters inside [...], \C. Requires the
 * process' LC_CTYPE and LC_COLLATE to stay "C" (burnrate never calls
 * setlocale).
 *
 * Fast paths decide without regexec: `.*` (anything), `.+` (non-empty),
 * literals (escaped punctuation allowed), literal alternations a|b|c (also
 * wrapped in one (...) or (?:...)), `lit.*` (prefix), `.*lit` (suffix) and
 * `.*lit.*` (substring).
 *
 * Threads: init and free by one thread; afterwards any number of threads may
 * call br_matcher_matches on the same matcher at once (glibc's regexec is
 * thread-safe; it serialises calls on one compiled pattern internally).
 */
#ifndef BR_STORAGE_MATCHER_H
#define BR_STORAGE_MATCHER_H

#include "engine/core/buf.h"
#include "engine/core/err.h"

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum br_match_type {
    BR_MATCH_EQ = 0,  /* =  */
    BR_MATCH_NEQ = 1, /* != */
    BR_MATCH_RE = 2,  /* =~ */
    BR_MATCH_NRE = 3, /* !~ */
} br_match_type;

/* Longest regex value accepted (BR_ELIMIT beyond). */
#define BR_MATCHER_MAX_REGEX (1024 * 1024)
/* Longest translated pattern handed to regcomp (BR_ELIMIT beyond); fast-path
 * regexes (e.g. long literal alternations) are not compiled. */
#define BR_MATCHER_MAX_COMPILED (64 * 1024)
/* Largest br_matcher_ere_cost handed to regcomp (BR_ELIMIT beyond): the
 * repetitions of a pattern may not make it bigger than the longest pattern
 * accepted (about 15 MB and 60 ms of regcomp). */
#define BR_MATCHER_MAX_EXPANDED (64 * 1024)

/* br_matcher_init_opts flags. */
enum {
    BR_MATCHER_NO_FAST_PATH = 1, /* always use regexec (tests, benchmarks) */
};

/* How br_matcher_matches decides; read-only for users. */
typedef enum br_match_kind {
    BR_MKIND_SET = 0,  /* value is one of set[0..nset) (a literal is a set of one) */
    BR_MKIND_ALL,      /* .*  */
    BR_MKIND_NONEMPTY, /* .+  */
    BR_MKIND_PREFIX,   /* lit.* */
    BR_MKIND_SUFFIX,   /* .*lit */
    BR_MKIND_CONTAINS, /* .*lit.* */
    BR_MKIND_REGEX,    /* regexec */
} br_match_kind;

/*
 * A matcher; caller-allocated, filled by br_matcher_init, released by
 * br_matcher_free. Fields are read-only after init; those below `kind` are
 * private to matcher.c.
 */
typedef struct br_matcher {
    br_match_type type;
    char *name;  /* owned copy */
    char *value; /* owned copy, as given */
    br_match_kind kind;
    bool matches_empty;
    /* private */
    bool icase; /* flag i is used somewhere (no fast path) */
    bool has_re;
    bool set_owned;   /* set strings are owned (else set[0] == value) */
    const char **set; /* sorted, unique; BR_MKIND_SET */
    size_t nset;
    char *lit; /* owned; PREFIX, SUFFIX, CONTAINS */
    size_t lit_len;
    regex_t re;
} br_matcher;

/*
 * Fills m for `name <type> value` (both borrowed; copied). Returns 0, or
 * BR_EINVAL (bad type, bad or unsupported regex: err names the construct
 * and the label) or BR_ELIMIT (regex too long); m needs no free on error.
 */
int br_matcher_init(br_matcher *m, br_match_type type, const char *name, const char *value,
                    br_err *err);

/* br_matcher_init with BR_MATCHER_* flags. */
int br_matcher_init_opts(br_matcher *m, br_match_type type, const char *name, const char *value,
                         unsigned flags, br_err *err);

/* Releases what init allocated (m itself is the caller's); m may then be
 * re-initialised. */
void br_matcher_free(br_matcher *m);

/* True when value (borrowed, NUL-terminated) satisfies m (borrowed). */
bool br_matcher_matches(const br_matcher *m, const char *value);

/* True when the matcher accepts "", i.e. also selects series without the
 * label (Prometheus semantics). */
bool br_matcher_matches_empty(const br_matcher *m);

/* True for != and !~. */
bool br_matcher_is_negative(const br_matcher *m);

/*
 * When the matcher's pattern (the value of = and !=, the regex of =~ and !~)
 * accepts exactly a known finite set of strings, points *vals at that sorted
 * set (view valid while m lives), sets *n and returns true. The matcher
 * then accepts v iff (v in set) != br_matcher_is_negative(m). Lets the index
 * look values up instead of scanning them.
 */
bool br_matcher_value_set(const br_matcher *m, const char *const **vals, size_t *n);

/*
 * How many nodes glibc's regcomp builds for the POSIX extended pattern ere
 * (borrowed), estimated: every atom counts 1, and a repetition copies what
 * it repeats: x+ counts x twice, x{n,m} m times, x{n,} n + 1 times, x* and
 * x? once. Nested repetitions multiply, so ((a+)+)+... grows exponentially
 * with the nesting and a pattern of a few dozen bytes would need gigabytes;
 * callers refuse patterns above BR_MATCHER_MAX_EXPANDED before regcomp.
 * Counting stops at limit: the result is min(cost, limit + 1).
 */
size_t br_matcher_ere_cost(const char *ere, size_t limit);

/*
 * Rewrites, in place, each `+` applied to a group that can match the empty
 * string into `*` (the same language: X+ = X X* and X* matches "" anyway),
 * in the POSIX extended pattern ere. glibc's regcomp needs time exponential
 * in the nesting of such groups (five levels of (()...)+ take 20 s); RE2,
 * which Prometheus uses, does not. Returns how many it rewrote. Call it on
 * patterns br_matcher_ere_cost accepted (their nesting is bounded).
 */
size_t br_matcher_ere_relax(char *ere);

/* "=", "!=", "=~" or "!~" (static strings). */
const char *br_match_type_str(br_match_type type);

/* Appends `name="value"` with the operator (e.g. job=~"api.*") to out
 * (borrowed), the value escaped as in br_labels_format. Returns 0 or
 * BR_ELIMIT (out's cap). */
int br_matcher_format(const br_matcher *m, br_buf *out);

#endif
