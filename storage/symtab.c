/*
 * symtab.c — sharded, reference-counted string interning. See symtab.h.
 *
 * Layout: SHARDS shards, picked by the top bits of br_hash64(bytes). Each
 * shard is a chained hash table (power-of-two bucket array, grown when the
 * load passes 1) guarded by its own mutex; shards are aligned to and padded
 * out to whole cache lines so two threads working in different shards do
 * not share a line. An entry is one allocation: a small header followed by
 * the NUL-terminated bytes, and the pointer handed out points at the bytes,
 * so release finds the header (and its stored hash, hence its shard)
 * without hashing again.
 *
 * Reference counts are changed under the shard mutex: the count reaching
 * zero and the entry leaving its chain happen in one critical section, so a
 * concurrent intern of the same bytes either finds the live entry (and
 * revives it before it could be freed) or misses it and makes a new one.
 */
#include "symtab.h"

#include "engine/core/alloc.h"
#include "engine/core/err.h"
#include "engine/core/hash.h"

#include <assert.h>
#include <pthread.h>
#include <stdalign.h>
#include <string.h>

#define SHARD_BITS   6
#define SHARDS       (1u << SHARD_BITS)
#define CACHE_LINE   64
#define INIT_BUCKETS 16
#define HASH_SEED    0x73796d7461620001ULL

struct sym {
    struct sym *next;
    uint64_t hash;
    size_t len;
    size_t refs;
    char str[];
};

struct shard {
    alignas(CACHE_LINE) pthread_mutex_t mu;
    /* Everything below is guarded by mu. */
    struct sym **buckets;
    size_t nbuckets; /* power of two */
    size_t count;
    size_t bytes;
};

struct br_symtab {
    void *raw;            /* what br_malloc returned; shards is aligned inside it */
    struct shard *shards; /* SHARDS entries, cache-line aligned */
};

static struct sym *sym_of(const char *str)
{
    return (struct sym *)(void *)(str - offsetof(struct sym, str));
}

static struct shard *shard_of(br_symtab *s, uint64_t hash)
{
    return &s->shards[hash >> (64 - SHARD_BITS)];
}

br_symtab *br_symtab_new(void)
{
    br_symtab *s = br_malloc(sizeof(*s));
    s->raw = br_malloc(sizeof(struct shard) * SHARDS + CACHE_LINE);
    uintptr_t p = ((uintptr_t)s->raw + CACHE_LINE - 1) & ~(uintptr_t)(CACHE_LINE - 1);
    s->shards = (struct shard *)p;
    for (unsigned i = 0; i < SHARDS; i++) {
        struct shard *sh = &s->shards[i];
        memset(sh, 0, sizeof(*sh));
        pthread_mutex_init(&sh->mu, NULL);
        sh->nbuckets = INIT_BUCKETS;
        sh->buckets = br_calloc(INIT_BUCKETS, sizeof(struct sym *));
        sh->bytes = INIT_BUCKETS * sizeof(struct sym *);
    }
    return s;
}

void br_symtab_free(br_symtab *s)
{
    if (s == NULL) {
        return;
    }
    for (unsigned i = 0; i < SHARDS; i++) {
        struct shard *sh = &s->shards[i];
        for (size_t b = 0; b < sh->nbuckets; b++) {
            struct sym *e = sh->buckets[b];
            while (e != NULL) {
                struct sym *next = e->next;
                br_free(e);
                e = next;
            }
        }
        br_free(sh->buckets);
        pthread_mutex_destroy(&sh->mu);
    }
    br_free(s->raw);
    br_free(s);
}

/* Doubles the bucket array of a shard. Caller holds sh->mu. */
static void shard_grow(struct shard *sh)
{
    size_t n = sh->nbuckets * 2;
    struct sym **nb = br_calloc(n, sizeof(struct sym *));
    for (size_t b = 0; b < sh->nbuckets; b++) {
        struct sym *e = sh->buckets[b];
        while (e != NULL) {
            struct sym *next = e->next;
            size_t i = e->hash & (n - 1);
            e->next = nb[i];
            nb[i] = e;
            e = next;
        }
    }
    br_free(sh->buckets);
    sh->bytes += (n - sh->nbuckets) * sizeof(struct sym *);
    sh->buckets = nb;
    sh->nbuckets = n;
}

const char *br_symtab_intern(br_symtab *s, const char *str, size_t len)
{
    assert(s != NULL && (str != NULL || len == 0));
    if (str == NULL) {
        str = "";
    }
    uint64_t h = br_hash64(str, len, HASH_SEED);
    struct shard *sh = shard_of(s, h);
    pthread_mutex_lock(&sh->mu);
    struct sym **head = &sh->buckets[h & (sh->nbuckets - 1)];
    for (struct sym *e = *head; e != NULL; e = e->next) {
        if (e->hash == h && e->len == len && memcmp(e->str, str, len) == 0) {
            e->refs++;
            pthread_mutex_unlock(&sh->mu);
            return e->str;
        }
    }
    struct sym *e = br_malloc(sizeof(struct sym) + len + 1);
    e->hash = h;
    e->len = len;
    e->refs = 1;
    memcpy(e->str, str, len);
    e->str[len] = '\0';
    e->next = *head;
    *head = e;
    sh->count++;
    sh->bytes += sizeof(struct sym) + len + 1;
    if (sh->count > sh->nbuckets) {
        shard_grow(sh);
    }
    pthread_mutex_unlock(&sh->mu);
    return e->str;
}

void br_symtab_retain(br_symtab *s, const char *str)
{
    assert(s != NULL && str != NULL);
    struct sym *e = sym_of(str);
    struct shard *sh = shard_of(s, e->hash);
    pthread_mutex_lock(&sh->mu);
    assert(e->refs > 0);
    e->refs++;
    pthread_mutex_unlock(&sh->mu);
}

void br_symtab_release(br_symtab *s, const char *str)
{
    if (str == NULL) {
        return;
    }
    struct sym *e = sym_of(str);
    struct shard *sh = shard_of(s, e->hash);
    pthread_mutex_lock(&sh->mu);
    assert(e->refs > 0);
    e->refs--;
    if (e->refs > 0) {
        pthread_mutex_unlock(&sh->mu);
        return;
    }
    struct sym **pp = &sh->buckets[e->hash & (sh->nbuckets - 1)];
    while (*pp != NULL && *pp != e) {
        pp = &(*pp)->next;
    }
    if (BR_ALWAYS(*pp == e)) {
        *pp = e->next;
        sh->count--;
        sh->bytes -= sizeof(struct sym) + e->len + 1;
        br_free(e);
    }
    pthread_mutex_unlock(&sh->mu);
}

size_t br_symtab_len(const char *str)
{
    return sym_of(str)->len;
}

size_t br_symtab_refs(br_symtab *s, const char *str)
{
    struct sym *e = sym_of(str);
    struct shard *sh = shard_of(s, e->hash);
    pthread_mutex_lock(&sh->mu);
    size_t r = e->refs;
    pthread_mutex_unlock(&sh->mu);
    return r;
}

void br_symtab_stats_get(br_symtab *s, br_symtab_stats *out)
{
    out->strings = 0;
    out->bytes = sizeof(*s) + sizeof(struct shard) * SHARDS + CACHE_LINE;
    for (unsigned i = 0; i < SHARDS; i++) {
        struct shard *sh = &s->shards[i];
        pthread_mutex_lock(&sh->mu);
        out->strings += sh->count;
        out->bytes += sh->bytes;
        pthread_mutex_unlock(&sh->mu);
    }
}
