/*
 * labels.c — interned, immutable label sets. See labels.h.
 *
 * A br_labels is one allocation: the hash, the pair count and the pairs.
 * Its strings belong to the symbol table; the set holds one reference on
 * each name and each value and drops them in br_labels_free.
 *
 * Hashing: br_hash64 is not incremental, so the pairs are laid out as
 * "name\xff value\xff ..." in a scratch buffer (on the stack for the usual
 * small sets, on the heap beyond that) and hashed in one call; interned and
 * raw pairs share the same code so their hashes cannot drift apart.
 */
#include "labels.h"

#include "engine/core/alloc.h"
#include "engine/core/err.h"
#include "engine/core/hash.h"

#include <assert.h>
#include <string.h>

#define HASH_SCRATCH 1024

struct br_labels {
    uint64_t hash;
    size_t n;
    br_label pairs[];
};

uint64_t br_labels_hash_raw(const br_label *sorted, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += strlen(sorted[i].name) + strlen(sorted[i].value) + 2;
    }
    if (total == 0) {
        return br_hash64("", 0, 0);
    }
    char stack[HASH_SCRATCH];
    char *buf = total <= sizeof(stack) ? stack : br_malloc(total);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t ln = strlen(sorted[i].name);
        size_t lv = strlen(sorted[i].value);
        memcpy(buf + off, sorted[i].name, ln);
        off += ln;
        buf[off++] = (char)0xff;
        memcpy(buf + off, sorted[i].value, lv);
        off += lv;
        buf[off++] = (char)0xff;
    }
    uint64_t h = br_hash64(buf, off, 0);
    if (buf != stack) {
        br_free(buf);
    }
    return h;
}

br_labels *br_labels_new(br_symtab *sym, const br_label *sorted, size_t n)
{
    assert(sym != NULL && (sorted != NULL || n == 0));
    br_labels *ls = br_malloc(sizeof(*ls) + n * sizeof(br_label));
    ls->n = n;
    for (size_t i = 0; i < n; i++) {
        ls->pairs[i].name = br_symtab_intern(sym, sorted[i].name, strlen(sorted[i].name));
        ls->pairs[i].value = br_symtab_intern(sym, sorted[i].value, strlen(sorted[i].value));
    }
    ls->hash = br_labels_hash_raw(ls->pairs, n);
    return ls;
}

br_labels *br_labels_dup(br_symtab *sym, const br_labels *ls)
{
    br_labels *c = br_malloc(sizeof(*c) + ls->n * sizeof(br_label));
    c->hash = ls->hash;
    c->n = ls->n;
    for (size_t i = 0; i < ls->n; i++) {
        br_symtab_retain(sym, ls->pairs[i].name);
        br_symtab_retain(sym, ls->pairs[i].value);
        c->pairs[i] = ls->pairs[i];
    }
    return c;
}

void br_labels_free(br_symtab *sym, br_labels *ls)
{
    if (ls == NULL) {
        return;
    }
    for (size_t i = 0; i < ls->n; i++) {
        br_symtab_release(sym, ls->pairs[i].name);
        br_symtab_release(sym, ls->pairs[i].value);
    }
    br_free(ls);
}

uint64_t br_labels_hash(const br_labels *ls)
{
    return ls->hash;
}

void br_labels_prefetch(const br_labels *ls)
{
    for (size_t i = 0; i < ls->n; i++) {
        __builtin_prefetch(ls->pairs[i].name, 0, 3);
        __builtin_prefetch(ls->pairs[i].value, 0, 3);
    }
}

bool br_labels_equal_raw(const br_labels *ls, const br_label *sorted, size_t n)
{
    if (ls->n != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ls->pairs[i].name, sorted[i].name) != 0 ||
            strcmp(ls->pairs[i].value, sorted[i].value) != 0) {
            return false;
        }
    }
    return true;
}

bool br_labels_equal(const br_labels *a, const br_labels *b)
{
    if (a == b) {
        return true;
    }
    if (a->hash != b->hash) {
        return false;
    }
    return br_labels_equal_raw(a, b->pairs, b->n);
}

const char *br_labels_get(const br_labels *ls, const char *name)
{
    size_t lo = 0;
    size_t hi = ls->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ls->pairs[mid].name, name);
        if (c == 0) {
            return ls->pairs[mid].value;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

size_t br_labels_count(const br_labels *ls)
{
    return ls->n;
}

const br_label *br_labels_at(const br_labels *ls, size_t i)
{
    assert(i < ls->n);
    return &ls->pairs[i];
}

const br_label *br_labels_pairs(const br_labels *ls)
{
    return ls->pairs;
}

int br_labels_cmp(const br_labels *a, const br_labels *b)
{
    size_t n = a->n < b->n ? a->n : b->n;
    for (size_t i = 0; i < n; i++) {
        const br_label *x = &a->pairs[i];
        const br_label *y = &b->pairs[i];
        if (x->name != y->name) {
            int c = strcmp(x->name, y->name);
            if (c != 0) {
                return c;
            }
        }
        if (x->value != y->value) {
            int c = strcmp(x->value, y->value);
            if (c != 0) {
                return c;
            }
        }
    }
    if (a->n == b->n) {
        return 0;
    }
    return a->n < b->n ? -1 : 1;
}

static int put_escaped(br_buf *out, const char *s)
{
    const char *run = s;
    for (const char *p = s;; p++) {
        const char *esc = NULL;
        if (*p == '\\') {
            esc = "\\\\";
        } else if (*p == '"') {
            esc = "\\\"";
        } else if (*p == '\n') {
            esc = "\\n";
        } else if (*p != '\0') {
            continue;
        }
        int rc = br_buf_append(out, run, (size_t)(p - run));
        if (rc != 0 || esc == NULL) {
            return rc;
        }
        rc = br_buf_puts(out, esc);
        if (rc != 0) {
            return rc;
        }
        run = p + 1;
    }
}

int br_labels_format_raw(const br_label *pairs, size_t n, br_buf *out)
{
    int rc = br_buf_putc(out, '{');
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i > 0) {
            rc = br_buf_puts(out, ", ");
        }
        if (rc == 0) {
            rc = br_buf_puts(out, pairs[i].name);
        }
        if (rc == 0) {
            rc = br_buf_puts(out, "=\"");
        }
        if (rc == 0) {
            rc = put_escaped(out, pairs[i].value);
        }
        if (rc == 0) {
            rc = br_buf_putc(out, '"');
        }
    }
    if (rc == 0) {
        rc = br_buf_putc(out, '}');
    }
    return rc;
}

int br_labels_format(const br_labels *ls, br_buf *out)
{
    return br_labels_format_raw(ls->pairs, ls->n, out);
}
