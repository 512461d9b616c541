/*
 * postings.c — the label index. See postings.h for the contract.
 *
 * Layout: label name -> name entry (open-addressing table keyed by string
 * content, each slot caching the key's hash); name entry -> value table of
 * the same kind whose slots hold the postings list inline (one allocation
 * per list: its ref array). Keys are the interned pointers of the first
 * br_labels that brought them; deletion uses backward shifting, so there
 * are no tombstones and slot addresses are only stable between changes.
 *
 * Selection (Prometheus' PostingsForMatchers): matchers that reject "" form
 * the "intersect" group, the others the "subtract" group (for them a series
 * without the label counts as "" and is kept). The intersect group is
 * ordered by an estimate of its size (exact for = and literal sets, the
 * label's whole postings count for scans); the first builds the result as
 * the union of its matching value lists, each following one only marks which
 * result refs occur in any of its lists and keeps those, and each subtract
 * matcher marks the refs whose value it rejects and drops them. Marking
 * walks the shorter list and gallops through the longer, so a small result
 * stays cheap against large lists, and no union of a large label is built
 * except for the first matcher.
 */
#include "postings.h"

#include "engine/core/alloc.h"
#include "engine/core/hash.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define HASH_SEED 0x706f7374696e6773ULL
#define MIN_CAP   8

/* ------------------------------------------------------------------------ */
/* Vectors                                                                   */
/* ------------------------------------------------------------------------ */

void br_refs_init(br_refs *r)
{
    r->v = NULL;
    r->n = 0;
    r->cap = 0;
}

void br_refs_free(br_refs *r)
{
    br_free(r->v);
    br_refs_init(r);
}

void br_refs_reserve(br_refs *r, size_t cap)
{
    if (cap <= r->cap) {
        return;
    }
    size_t c = r->cap ? r->cap : MIN_CAP;
    while (c < cap) {
        c *= 2;
    }
    r->v = br_realloc(r->v, c * sizeof(*r->v));
    r->cap = c;
}

void br_refs_push(br_refs *r, br_series_ref ref)
{
    if (r->n == r->cap) {
        br_refs_reserve(r, r->n + 1);
    }
    r->v[r->n++] = ref;
}

void br_strs_free(br_strs *s)
{
    br_free(s->v);
    s->v = NULL;
    s->n = 0;
    s->cap = 0;
}

static void strs_push(br_strs *s, const char *str)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : MIN_CAP;
        s->v = br_realloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n++] = str;
}

/* ------------------------------------------------------------------------ */
/* Set operations                                                            */
/* ------------------------------------------------------------------------ */

/* First index in v[from..n) whose value is >= x, galloping from `from`. */
static size_t gallop(const br_series_ref *v, size_t n, size_t from, br_series_ref x)
{
    if (from >= n || v[from] >= x) {
        return from;
    }
    size_t lo = from; /* v[lo] < x */
    size_t step = 1;
    size_t hi = from + step;
    while (hi < n && v[hi] < x) {
        lo = hi;
        step *= 2;
        hi = from + step;
    }
    if (hi > n) {
        hi = n;
    }
    /* v[lo] < x, and v[hi] >= x or hi == n */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return hi;
}

/*
 * Calls mark(i) for every index i of a whose value is also in b. Walks the
 * shorter list and gallops through the longer one when sizes are skewed.
 */
static void mark_common(const br_series_ref *a, size_t na, const br_series_ref *b, size_t nb,
                        uint8_t *mark_a)
{
    if (na == 0 || nb == 0) {
        return;
    }
    if (nb / 8 > na) {
        size_t j = 0;
        for (size_t i = 0; i < na && j < nb; i++) {
            j = gallop(b, nb, j, a[i]);
            if (j < nb && b[j] == a[i]) {
                mark_a[i] = 1;
            }
        }
    } else if (na / 8 > nb) {
        size_t i = 0;
        for (size_t j = 0; j < nb && i < na; j++) {
            i = gallop(a, na, i, b[j]);
            if (i < na && a[i] == b[j]) {
                mark_a[i] = 1;
            }
        }
    } else {
        size_t i = 0;
        size_t j = 0;
        while (i < na && j < nb) {
            if (a[i] < b[j]) {
                i++;
            } else if (a[i] > b[j]) {
                j++;
            } else {
                mark_a[i] = 1;
                i++;
                j++;
            }
        }
    }
}

static bool lists_intersect(const br_series_ref *a, size_t na, const br_series_ref *b, size_t nb)
{
    if (na == 0 || nb == 0 || a[na - 1] < b[0] || b[nb - 1] < a[0]) {
        return false;
    }
    if (na > nb) {
        const br_series_ref *t = a;
        a = b;
        b = t;
        size_t tn = na;
        na = nb;
        nb = tn;
    }
    size_t j = 0;
    for (size_t i = 0; i < na && j < nb; i++) {
        j = gallop(b, nb, j, a[i]);
        if (j < nb && b[j] == a[i]) {
            return true;
        }
    }
    return false;
}

void br_postings_intersect(const br_series_ref *a, size_t na, const br_series_ref *b, size_t nb,
                           br_refs *out)
{
    out->n = 0;
    if (na > nb) {
        const br_series_ref *t = a;
        a = b;
        b = t;
        size_t tn = na;
        na = nb;
        nb = tn;
    }
    if (na == 0) {
        return;
    }
    br_refs_reserve(out, na);
    size_t j = 0;
    for (size_t i = 0; i < na && j < nb; i++) {
        j = gallop(b, nb, j, a[i]);
        if (j < nb && b[j] == a[i]) {
            out->v[out->n++] = a[i];
        }
    }
}

void br_postings_without(const br_series_ref *a, size_t na, const br_series_ref *b, size_t nb,
                         br_refs *out)
{
    out->n = 0;
    if (na == 0) {
        return;
    }
    br_refs_reserve(out, na);
    size_t j = 0;
    for (size_t i = 0; i < na; i++) {
        j = gallop(b, nb, j, a[i]);
        if (j >= nb || b[j] != a[i]) {
            out->v[out->n++] = a[i];
        }
    }
}

/* Heap of (list index) ordered by the list's current head. */
struct cursor {
    const br_series_ref *v;
    size_t n;
    size_t pos;
};

static bool cur_less(const struct cursor *x, const struct cursor *y)
{
    return x->v[x->pos] < y->v[y->pos];
}

static void sift_down(struct cursor *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1;
        size_t r = l + 1;
        size_t m = i;
        if (l < n && cur_less(&h[l], &h[m])) {
            m = l;
        }
        if (r < n && cur_less(&h[r], &h[m])) {
            m = r;
        }
        if (m == i) {
            return;
        }
        struct cursor t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

void br_postings_union(const br_postings_list *lists, size_t k, br_refs *out)
{
    out->n = 0;
    size_t total = 0;
    size_t live = 0;
    for (size_t i = 0; i < k; i++) {
        total += lists[i].n;
        if (lists[i].n > 0) {
            live++;
        }
    }
    if (total == 0) {
        return;
    }
    br_refs_reserve(out, total);
    if (live == 1) {
        for (size_t i = 0; i < k; i++) {
            if (lists[i].n > 0) {
                memcpy(out->v, lists[i].v, lists[i].n * sizeof(*out->v));
                out->n = lists[i].n;
            }
        }
        return;
    }
    struct cursor *h = br_malloc(live * sizeof(*h));
    size_t hn = 0;
    for (size_t i = 0; i < k; i++) {
        if (lists[i].n > 0) {
            h[hn].v = lists[i].v;
            h[hn].n = lists[i].n;
            h[hn].pos = 0;
            hn++;
        }
    }
    for (size_t i = hn / 2; i-- > 0;) {
        sift_down(h, hn, i);
    }
    while (hn > 0) {
        br_series_ref x = h[0].v[h[0].pos];
        if (out->n == 0 || out->v[out->n - 1] != x) {
            out->v[out->n++] = x;
        }
        if (++h[0].pos == h[0].n) {
            h[0] = h[--hn];
        }
        if (hn > 0) {
            sift_down(h, hn, 0);
        }
    }
    br_free(h);
}

/* ------------------------------------------------------------------------ */
/* Postings lists and string-keyed tables                                    */
/* ------------------------------------------------------------------------ */

struct plist {
    br_series_ref *v;
    uint32_t n; /* a list of 2^32 refs would need 32 GiB: not a practical limit */
    uint32_t cap;
};

struct name_entry;

struct slot {
    uint64_t hash;
    const char *key; /* NULL: empty slot */
    union {
        struct plist p;       /* value tables */
        struct name_entry *e; /* the name table */
    } u;
};

struct table {
    struct slot *slots;
    size_t cap; /* power of two, or 0 */
    size_t count;
};

struct name_entry {
    const char *name;
    struct table values;
    size_t postings; /* entries over this name's value lists */
};

struct br_index {
    pthread_rwlock_t lock;
    /* Guarded by lock. */
    struct table names;
    struct plist all;
    size_t pairs;
    size_t postings;
    size_t bytes;
};

static uint64_t key_hash(const char *s)
{
    return br_hash64(s, strlen(s), HASH_SEED);
}

/* Inserts ref; returns false when already present. */
static bool plist_add(struct plist *p, br_series_ref ref, size_t *bytes)
{
    size_t at = p->n;
    if (p->n > 0 && p->v[p->n - 1] >= ref) {
        at = gallop(p->v, p->n, 0, ref);
        if (p->v[at] == ref) {
            return false;
        }
    }
    if (p->n == p->cap) {
        /* Start at one: most values of a high-cardinality label (pod,
         * instance) name one series. */
        uint32_t cap = p->cap ? p->cap * 2 : 1;
        p->v = br_realloc(p->v, cap * sizeof(*p->v));
        *bytes += (cap - p->cap) * sizeof(*p->v);
        p->cap = cap;
    }
    memmove(p->v + at + 1, p->v + at, (p->n - at) * sizeof(*p->v));
    p->v[at] = ref;
    p->n++;
    return true;
}

static void plist_maybe_shrink(struct plist *p, size_t *bytes)
{
    if (p->cap > MIN_CAP && p->n < p->cap / 4) {
        uint32_t cap = p->cap / 2;
        p->v = br_realloc(p->v, cap * sizeof(*p->v));
        *bytes -= (p->cap - cap) * sizeof(*p->v);
        p->cap = cap;
    }
}

/* Removes ref; returns false when absent. */
static bool plist_remove(struct plist *p, br_series_ref ref, size_t *bytes)
{
    size_t at = gallop(p->v, p->n, 0, ref);
    if (at >= p->n || p->v[at] != ref) {
        return false;
    }
    memmove(p->v + at, p->v + at + 1, (p->n - at - 1) * sizeof(*p->v));
    p->n--;
    plist_maybe_shrink(p, bytes);
    return true;
}

/* Removes every ref of the sorted list del; returns how many went. */
static size_t plist_remove_sorted(struct plist *p, const br_series_ref *del, size_t ndel,
                                  size_t *bytes)
{
    size_t w = 0;
    size_t j = 0;
    for (size_t i = 0; i < p->n; i++) {
        j = gallop(del, ndel, j, p->v[i]);
        if (j < ndel && del[j] == p->v[i]) {
            continue;
        }
        p->v[w++] = p->v[i];
    }
    size_t gone = p->n - w;
    p->n = (uint32_t)w;
    plist_maybe_shrink(p, bytes);
    return gone;
}

static void plist_free(struct plist *p, size_t *bytes)
{
    *bytes -= p->cap * sizeof(*p->v);
    br_free(p->v);
    p->v = NULL;
    p->n = 0;
    p->cap = 0;
}

static struct slot *table_find(const struct table *t, const char *key, uint64_t h)
{
    if (t->cap == 0) {
        return NULL;
    }
    size_t mask = t->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct slot *s = &t->slots[i];
        if (s->key == NULL) {
            return NULL;
        }
        if (s->hash == h && (s->key == key || strcmp(s->key, key) == 0)) {
            return s;
        }
    }
}

static void table_place(struct table *t, const struct slot *src)
{
    size_t mask = t->cap - 1;
    size_t i = src->hash & mask;
    while (t->slots[i].key != NULL) {
        i = (i + 1) & mask;
    }
    t->slots[i] = *src;
}

/* Inserts an absent key and returns its zeroed slot. */
static struct slot *table_insert(struct table *t, const char *key, uint64_t h, size_t *bytes)
{
    if ((t->count + 1) * 4 > t->cap * 3) {
        size_t cap = t->cap ? t->cap * 2 : MIN_CAP;
        struct slot *old = t->slots;
        size_t old_cap = t->cap;
        t->slots = br_calloc(cap, sizeof(struct slot));
        t->cap = cap;
        for (size_t i = 0; i < old_cap; i++) {
            if (old[i].key != NULL) {
                table_place(t, &old[i]);
            }
        }
        br_free(old);
        *bytes += (cap - old_cap) * sizeof(struct slot);
    }
    size_t mask = t->cap - 1;
    size_t i = h & mask;
    while (t->slots[i].key != NULL) {
        i = (i + 1) & mask;
    }
    struct slot *s = &t->slots[i];
    memset(s, 0, sizeof(*s));
    s->hash = h;
    s->key = key;
    t->count++;
    return s;
}

/* Empties slot s (whose contents the caller has released) and shifts later
 * members of its probe run back so lookups need no tombstones. */
static void table_delete(struct table *t, struct slot *s)
{
    size_t mask = t->cap - 1;
    size_t i = (size_t)(s - t->slots);
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (t->slots[j].key == NULL) {
            break;
        }
        size_t home = t->slots[j].hash & mask;
        /* Move j into the hole at i unless its home lies cyclically in (i, j]. */
        bool stays = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    memset(&t->slots[i], 0, sizeof(t->slots[i]));
    t->count--;
}

static void table_release(struct table *t, size_t *bytes)
{
    *bytes -= t->cap * sizeof(struct slot);
    br_free(t->slots);
    t->slots = NULL;
    t->cap = 0;
    t->count = 0;
}

/* ------------------------------------------------------------------------ */
/* Index maintenance                                                         */
/* ------------------------------------------------------------------------ */

br_index *br_index_new(void)
{
    br_index *idx = br_calloc(1, sizeof(*idx));
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&idx->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    idx->bytes = sizeof(*idx);
    return idx;
}

static void name_entry_free(br_index *idx, struct name_entry *e)
{
    for (size_t i = 0; i < e->values.cap; i++) {
        if (e->values.slots[i].key != NULL) {
            plist_free(&e->values.slots[i].u.p, &idx->bytes);
        }
    }
    table_release(&e->values, &idx->bytes);
    idx->bytes -= sizeof(*e);
    br_free(e);
}

void br_index_free(br_index *idx)
{
    if (idx == NULL) {
        return;
    }
    for (size_t i = 0; i < idx->names.cap; i++) {
        if (idx->names.slots[i].key != NULL) {
            name_entry_free(idx, idx->names.slots[i].u.e);
        }
    }
    table_release(&idx->names, &idx->bytes);
    plist_free(&idx->all, &idx->bytes);
    pthread_rwlock_destroy(&idx->lock);
    br_free(idx);
}

void br_index_add(br_index *idx, br_series_ref ref, const br_labels *ls)
{
    size_t n = br_labels_count(ls);
    const br_label *pairs = br_labels_pairs(ls);
    pthread_rwlock_wrlock(&idx->lock);
    plist_add(&idx->all, ref, &idx->bytes);
    for (size_t i = 0; i < n; i++) {
        uint64_t hn = key_hash(pairs[i].name);
        struct slot *ns = table_find(&idx->names, pairs[i].name, hn);
        if (ns == NULL) {
            struct name_entry *e = br_calloc(1, sizeof(*e));
            e->name = pairs[i].name;
            idx->bytes += sizeof(*e);
            ns = table_insert(&idx->names, pairs[i].name, hn, &idx->bytes);
            ns->u.e = e;
        }
        struct name_entry *e = ns->u.e;
        uint64_t hv = key_hash(pairs[i].value);
        struct slot *vs = table_find(&e->values, pairs[i].value, hv);
        if (vs == NULL) {
            vs = table_insert(&e->values, pairs[i].value, hv, &idx->bytes);
            idx->pairs++;
        }
        if (plist_add(&vs->u.p, ref, &idx->bytes)) {
            e->postings++;
            idx->postings++;
        }
    }
    pthread_rwlock_unlock(&idx->lock);
}

/* Drops an emptied value slot and, when it was the last, the name. Caller
 * holds the write lock. */
static void drop_if_empty(br_index *idx, struct slot *ns, struct slot *vs)
{
    struct name_entry *e = ns->u.e;
    if (vs->u.p.n > 0) {
        return;
    }
    plist_free(&vs->u.p, &idx->bytes);
    table_delete(&e->values, vs);
    idx->pairs--;
    if (e->values.count == 0) {
        table_delete(&idx->names, ns);
        name_entry_free(idx, e);
    }
}

void br_index_remove(br_index *idx, br_series_ref ref, const br_labels *ls)
{
    size_t n = br_labels_count(ls);
    const br_label *pairs = br_labels_pairs(ls);
    pthread_rwlock_wrlock(&idx->lock);
    plist_remove(&idx->all, ref, &idx->bytes);
    for (size_t i = 0; i < n; i++) {
        struct slot *ns = table_find(&idx->names, pairs[i].name, key_hash(pairs[i].name));
        if (ns == NULL) {
            continue;
        }
        struct name_entry *e = ns->u.e;
        struct slot *vs = table_find(&e->values, pairs[i].value, key_hash(pairs[i].value));
        if (vs == NULL) {
            continue;
        }
        if (plist_remove(&vs->u.p, ref, &idx->bytes)) {
            e->postings--;
            idx->postings--;
        }
        drop_if_empty(idx, ns, vs);
    }
    pthread_rwlock_unlock(&idx->lock);
}

static int cmp_ref(const void *a, const void *b)
{
    br_series_ref x = *(const br_series_ref *)a;
    br_series_ref y = *(const br_series_ref *)b;
    return (x > y) - (x < y);
}

struct pair_ref {
    const char *name;
    const char *value;
};

static int cmp_pair(const void *a, const void *b)
{
    const struct pair_ref *x = a;
    const struct pair_ref *y = b;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : strcmp(x->value, y->value);
}

void br_index_remove_batch(br_index *idx, const br_series_ref *refs, const br_labels *const *ls,
                           size_t n)
{
    if (n == 0) {
        return;
    }
    br_series_ref *del = br_malloc(n * sizeof(*del));
    memcpy(del, refs, n * sizeof(*del));
    qsort(del, n, sizeof(*del), cmp_ref);
    size_t ndel = 0;
    for (size_t i = 0; i < n; i++) {
        if (ndel == 0 || del[ndel - 1] != del[i]) {
            del[ndel++] = del[i];
        }
    }
    size_t npairs = 0;
    for (size_t i = 0; i < n; i++) {
        npairs += br_labels_count(ls[i]);
    }
    struct pair_ref *pr = br_malloc((npairs ? npairs : 1) * sizeof(*pr));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const br_label *pairs = br_labels_pairs(ls[i]);
        for (size_t j = 0; j < br_labels_count(ls[i]); j++) {
            pr[k].name = pairs[j].name;
            pr[k].value = pairs[j].value;
            k++;
        }
    }
    qsort(pr, npairs, sizeof(*pr), cmp_pair);

    pthread_rwlock_wrlock(&idx->lock);
    plist_remove_sorted(&idx->all, del, ndel, &idx->bytes);
    for (size_t i = 0; i < npairs; i++) {
        if (i > 0 && cmp_pair(&pr[i - 1], &pr[i]) == 0) {
            continue;
        }
        struct slot *ns = table_find(&idx->names, pr[i].name, key_hash(pr[i].name));
        if (ns == NULL) {
            continue;
        }
        struct name_entry *e = ns->u.e;
        struct slot *vs = table_find(&e->values, pr[i].value, key_hash(pr[i].value));
        if (vs == NULL) {
            continue;
        }
        size_t gone = plist_remove_sorted(&vs->u.p, del, ndel, &idx->bytes);
        e->postings -= gone;
        idx->postings -= gone;
        drop_if_empty(idx, ns, vs);
    }
    pthread_rwlock_unlock(&idx->lock);
    br_free(pr);
    br_free(del);
}

/* ------------------------------------------------------------------------ */
/* Selection                                                                 */
/* ------------------------------------------------------------------------ */

/* A growable array of borrowed list views. */
struct lists {
    br_postings_list *v;
    size_t n;
    size_t cap;
};

static void lists_push(struct lists *l, const struct plist *p)
{
    if (p->n == 0) {
        return;
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : MIN_CAP;
        l->v = br_realloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n].v = p->v;
    l->v[l->n].n = p->n;
    l->n++;
}

/*
 * Collects the value lists of e whose value the matcher accepts (want ==
 * true) or rejects (want == false). Uses the matcher's literal set instead
 * of a scan when it has one.
 */
static void collect(const struct name_entry *e, const br_matcher *m, bool want, struct lists *out)
{
    out->n = 0;
    const char *const *vals;
    size_t nvals;
    if (br_matcher_value_set(m, &vals, &nvals) && br_matcher_is_negative(m) != want) {
        /* accepts v iff v in set (want), or rejects v iff v in set (!want on
         * a negative matcher) */
        for (size_t i = 0; i < nvals; i++) {
            struct slot *vs = table_find(&e->values, vals[i], key_hash(vals[i]));
            if (vs != NULL) {
                lists_push(out, &vs->u.p);
            }
        }
        return;
    }
    for (size_t i = 0; i < e->values.cap; i++) {
        const struct slot *vs = &e->values.slots[i];
        if (vs->key != NULL && br_matcher_matches(m, vs->key) == want) {
            lists_push(out, &vs->u.p);
        }
    }
}

/* Keeps the refs of r that occur in some list (keep_hits) or in none. */
static void filter(br_refs *r, const struct lists *l, bool keep_hits)
{
    if (r->n == 0) {
        return;
    }
    uint8_t *mark = br_calloc(r->n, 1);
    for (size_t i = 0; i < l->n; i++) {
        mark_common(r->v, r->n, l->v[i].v, l->v[i].n, mark);
    }
    size_t w = 0;
    for (size_t i = 0; i < r->n; i++) {
        if ((mark[i] != 0) == keep_hits) {
            r->v[w++] = r->v[i];
        }
    }
    r->n = w;
    br_free(mark);
}

struct plan {
    const br_matcher *m;
    const struct name_entry *e;
    size_t cost;
};

static int cmp_plan(const void *a, const void *b)
{
    const struct plan *x = a;
    const struct plan *y = b;
    return (x->cost > y->cost) - (x->cost < y->cost);
}

/* Upper bound of the refs an intersect-group matcher can select. */
static size_t estimate(const struct name_entry *e, const br_matcher *m)
{
    const char *const *vals;
    size_t nvals;
    if (br_matcher_value_set(m, &vals, &nvals) && !br_matcher_is_negative(m)) {
        size_t sum = 0;
        for (size_t i = 0; i < nvals; i++) {
            struct slot *vs = table_find(&e->values, vals[i], key_hash(vals[i]));
            if (vs != NULL) {
                sum += vs->u.p.n;
            }
        }
        return sum;
    }
    /* A scan: its size is unknown until done; rank it after lookups of the
     * same size by adding the scan's own work. */
    return e->postings + e->values.count;
}

int br_index_select(br_index *idx, const br_matcher *ms, size_t n, br_refs *out, br_err *err)
{
    out->n = 0;
    size_t npos = 0;
    for (size_t i = 0; i < n; i++) {
        if (!br_matcher_matches_empty(&ms[i])) {
            npos++;
        }
    }
    if (npos == 0) {
        return br_err_set(err, BR_EINVAL,
                          "vector selector must contain at least one non-empty matcher");
    }
    struct plan *pos = br_malloc(npos * sizeof(*pos));
    struct lists l = {0};
    pthread_rwlock_rdlock(&idx->lock);
    size_t k = 0;
    bool empty = false;
    for (size_t i = 0; i < n && !empty; i++) {
        if (br_matcher_matches_empty(&ms[i])) {
            continue;
        }
        struct slot *ns = table_find(&idx->names, ms[i].name, key_hash(ms[i].name));
        if (ns == NULL) {
            empty = true; /* the label is on no series */
            break;
        }
        pos[k].m = &ms[i];
        pos[k].e = ns->u.e;
        pos[k].cost = estimate(ns->u.e, &ms[i]);
        if (pos[k].cost == 0) {
            empty = true;
        }
        k++;
    }
    if (!empty) {
        qsort(pos, npos, sizeof(*pos), cmp_plan);
        collect(pos[0].e, pos[0].m, true, &l);
        br_postings_union(l.v, l.n, out);
        for (size_t i = 1; i < npos && out->n > 0; i++) {
            collect(pos[i].e, pos[i].m, true, &l);
            filter(out, &l, true);
        }
        for (size_t i = 0; i < n && out->n > 0; i++) {
            if (!br_matcher_matches_empty(&ms[i])) {
                continue;
            }
            struct slot *ns = table_find(&idx->names, ms[i].name, key_hash(ms[i].name));
            if (ns == NULL) {
                continue; /* no series has the label: all count as "" and stay */
            }
            collect(ns->u.e, &ms[i], false, &l);
            filter(out, &l, false);
        }
    }
    pthread_rwlock_unlock(&idx->lock);
    br_free(l.v);
    br_free(pos);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Listing                                                                   */
/* ------------------------------------------------------------------------ */

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool name_on_any(const struct name_entry *e, const br_refs *r)
{
    for (size_t i = 0; i < e->values.cap; i++) {
        const struct slot *vs = &e->values.slots[i];
        if (vs->key != NULL && lists_intersect(vs->u.p.v, vs->u.p.n, r->v, r->n)) {
            return true;
        }
    }
    return false;
}

void br_index_label_names(br_index *idx, const br_refs *restrict_to, br_strs *out)
{
    out->n = 0;
    pthread_rwlock_rdlock(&idx->lock);
    for (size_t i = 0; i < idx->names.cap; i++) {
        const struct slot *ns = &idx->names.slots[i];
        if (ns->key == NULL) {
            continue;
        }
        if (restrict_to == NULL || name_on_any(ns->u.e, restrict_to)) {
            strs_push(out, ns->u.e->name);
        }
    }
    pthread_rwlock_unlock(&idx->lock);
    if (out->n > 1) {
        qsort(out->v, out->n, sizeof(*out->v), cmp_strp);
    }
}

void br_index_label_values(br_index *idx, const char *name, const br_refs *restrict_to,
                           br_strs *out)
{
    out->n = 0;
    pthread_rwlock_rdlock(&idx->lock);
    struct slot *ns = table_find(&idx->names, name, key_hash(name));
    if (ns != NULL) {
        const struct table *t = &ns->u.e->values;
        for (size_t i = 0; i < t->cap; i++) {
            const struct slot *vs = &t->slots[i];
            if (vs->key == NULL) {
                continue;
            }
            if (restrict_to == NULL ||
                lists_intersect(vs->u.p.v, vs->u.p.n, restrict_to->v, restrict_to->n)) {
                strs_push(out, vs->key);
            }
        }
    }
    pthread_rwlock_unlock(&idx->lock);
    if (out->n > 1) {
        qsort(out->v, out->n, sizeof(*out->v), cmp_strp);
    }
}

void br_index_stats_get(br_index *idx, br_index_stats *out)
{
    pthread_rwlock_rdlock(&idx->lock);
    out->series = idx->all.n;
    out->names = idx->names.count;
    out->pairs = idx->pairs;
    out->postings = idx->postings;
    out->bytes = idx->bytes;
    pthread_rwlock_unlock(&idx->lock);
}
