/*
 * functions_table.c — the constant table behind functions_table.h, built
 * from the BR_PROMQL_FUNCTIONS X-macro, and lookups over it.
 *
 * The X-macro lists the functions sorted by name, so lookup by name is a
 * binary search; the table index equals the br_promql_func_id value, so
 * lookup by id is an index. A unit test checks both orders hold.
 */
#include "functions_table.h"

#include <string.h>

#define FT_V BR_PROMQL_TYPE_VECTOR
#define FT_M BR_PROMQL_TYPE_MATRIX
#define FT_S BR_PROMQL_TYPE_SCALAR
#define FT_T BR_PROMQL_TYPE_STRING
#define FT__ BR_PROMQL_TYPE_NONE

static const br_promql_function table[] = {
#define FUNC_ENTRY_(id, name, ret, variadic, exp, n, a0, a1, a2, a3, a4)                           \
    {BR_PROMQL_FN_##id, name, {FT_##a0, FT_##a1, FT_##a2, FT_##a3, FT_##a4}, n, variadic,          \
     FT_##ret,          exp},
    BR_PROMQL_FUNCTIONS(FUNC_ENTRY_)
#undef FUNC_ENTRY_
};

#define TABLE_LEN (sizeof(table) / sizeof(table[0]))

/* Compares a counted name with a C string the way strcmp orders them. */
static int cmp_name(const char *name, size_t len, const char *entry)
{
    size_t elen = strlen(entry);
    size_t n = len < elen ? len : elen;
    int c = memcmp(name, entry, n);
    if (c != 0) {
        return c;
    }
    if (len == elen) {
        return 0;
    }
    return len < elen ? -1 : 1;
}

const br_promql_function *br_promql_function_lookup(const char *name, size_t len)
{
    size_t lo = 0;
    size_t hi = TABLE_LEN;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_name(name, len, table[mid].name);
        if (c == 0) {
            return &table[mid];
        }
        if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return NULL;
}

const br_promql_function *br_promql_function_by_id(br_promql_func_id id)
{
    if ((size_t)id >= TABLE_LEN) {
        return NULL;
    }
    return &table[id];
}

const br_promql_function *br_promql_functions(size_t *n)
{
    *n = TABLE_LEN;
    return table;
}

const char *br_promql_type_name(br_promql_type t)
{
    switch (t) {
    case BR_PROMQL_TYPE_SCALAR:
        return "scalar";
    case BR_PROMQL_TYPE_VECTOR:
        return "instant vector";
    case BR_PROMQL_TYPE_MATRIX:
        return "range vector";
    case BR_PROMQL_TYPE_STRING:
        return "string";
    case BR_PROMQL_TYPE_NONE:
        break;
    }
    return "none";
}
