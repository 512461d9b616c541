/*
 * alloc.c — counted allocation that aborts on OOM. See alloc.h.
 */
#include "alloc.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Atomic int64_t alloc_bytes;

static void oom(size_t size)
{
    fprintf(stderr, "level=error msg=\"out of memory\" bytes=%zu\n", size);
    abort();
}

static void *account(void *p, size_t size)
{
    if (p == NULL) {
        oom(size);
    }
    atomic_fetch_add_explicit(&alloc_bytes, (int64_t)malloc_usable_size(p), memory_order_relaxed);
    return p;
}

void *br_malloc(size_t size)
{
    return account(malloc(size ? size : 1), size);
}

void *br_calloc(size_t count, size_t size)
{
    if (count != 0 && size > SIZE_MAX / count) {
        oom(SIZE_MAX);
    }
    return account(calloc(count ? count : 1, size ? size : 1), count * size);
}

void *br_realloc(void *ptr, size_t size)
{
    if (ptr == NULL) {
        return br_malloc(size);
    }
    size_t old = malloc_usable_size(ptr);
    void *p = realloc(ptr, size ? size : 1);
    if (p == NULL) {
        oom(size);
    }
    atomic_fetch_add_explicit(&alloc_bytes, (int64_t)malloc_usable_size(p) - (int64_t)old,
                              memory_order_relaxed);
    return p;
}

char *br_strdup(const char *s)
{
    return br_strndup(s, strlen(s));
}

char *br_strndup(const char *s, size_t n)
{
    char *p = br_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void br_free(void *ptr)
{
    if (ptr == NULL) {
        return;
    }
    atomic_fetch_sub_explicit(&alloc_bytes, (int64_t)malloc_usable_size(ptr),
                              memory_order_relaxed);
    free(ptr);
}

int64_t br_alloc_bytes(void)
{
    return atomic_load_explicit(&alloc_bytes, memory_order_relaxed);
}
