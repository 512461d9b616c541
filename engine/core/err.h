/*
 * err.h — burnrate's error codes and the caller-owned error record.
 *
 * Every fallible function returns 0 or a negative BR_E* code and, when the
 * caller passes a br_err, fills it with a message naming what was wrong and,
 * for config and query parsing, where (file:line:col). There is no global or
 * thread-local error state: each thread (HTTP pool, evaluator, notifier)
 * carries its own br_err. Codes map to HTTP status in one place (api/).
 *
 * The code table is one X-macro, BR_ERRNO_MAP, which generates the enum,
 * br_err_name() and br_strerror().
 */
#ifndef BR_CORE_ERR_H
#define BR_CORE_ERR_H

#include <stddef.h>

#define BR_ERRNO_MAP(XX)                                                                           \
    XX(NOMEM, -1, "out of memory")                                                                 \
    XX(INVAL, -2, "invalid argument")                                                              \
    XX(PARSE, -3, "parse error")                                                                   \
    XX(IO, -4, "input/output error")                                                               \
    XX(CORRUPT, -5, "corrupt data")                                                                \
    XX(NOTFOUND, -6, "not found")                                                                  \
    XX(LIMIT, -7, "limit exceeded")                                                                \
    XX(UNSUPPORTED, -8, "unsupported")                                                             \
    XX(OUTOFORDER, -9, "out of order sample")                                                      \
    XX(DUPLICATE, -10, "duplicate sample for timestamp")                                           \
    XX(TOOOLD, -11, "sample too old")                                                              \
    XX(BUSY, -12, "temporarily unavailable")                                                       \
    XX(TIMEOUT, -13, "timed out")                                                                  \
    XX(INTERNAL, -14, "internal error")                                                            \
    XX(EXISTS, -15, "already exists")                                                              \
    XX(TOOLARGE, -16, "too large")                                                                 \
    XX(EXEC, -17, "execution error")                                                               \
    XX(CANCELED, -18, "canceled")

enum br_errno {
    BR_OK = 0,
#define BR_ERR_ENUM_(name, val, text) BR_E##name = (val),
    BR_ERRNO_MAP(BR_ERR_ENUM_)
#undef BR_ERR_ENUM_
};

#define BR_ERR_MSG_SIZE  256
#define BR_ERR_FILE_SIZE 128

/* A caller-owned error record. Zero-initialise it (or call br_err_clear). */
typedef struct br_err {
    int code;                     /* 0 or a BR_E* value */
    int line;                     /* 1-based; 0 = no position */
    int col;                      /* 1-based; 0 = no column */
    char file[BR_ERR_FILE_SIZE];  /* "" = no file */
    char msg[BR_ERR_MSG_SIZE];
} br_err;

/* Returns the constant name ("BR_EPARSE") or "BR_UNKNOWN". */
const char *br_err_name(int code);
/* Returns the default text for a code ("parse error"). Never NULL. */
const char *br_strerror(int code);

void br_err_clear(br_err *err);

/* Fills err (when not NULL) and returns code, so callers can write
 * `return br_err_set(err, BR_EINVAL, "bad %s", what);`. */
int br_err_set(br_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like br_err_set with a position; file may be NULL. */
int br_err_setpos(br_err *err, int code, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Prefixes the existing message with "<prefix>: ". */
void br_err_prefix(br_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes "file:line:col: msg" (or just msg) into out; returns out. */
const char *br_err_format(const br_err *err, char *out, size_t size);

/* Debug-time defensive checks, in SQLite's sense: assert in debug builds,
 * evaluate to the condition in release builds so the code can recover. */
#ifdef NDEBUG
#define BR_ALWAYS(x) (x)
#define BR_NEVER(x)  (x)
#else
#include <assert.h>
#define BR_ALWAYS(x) ((x) ? 1 : (assert(0), 0))
#define BR_NEVER(x)  ((x) ? (assert(0), 1) : 0)
#endif

#endif
