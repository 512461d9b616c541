/*
 * arena.c — bump allocator. See arena.h.
 *
 * Blocks form a singly linked list, newest first. An allocation larger than
 * a quarter of the block size gets a block of its own (inserted behind the
 * current one so the current block keeps serving small allocations).
 */
#include "arena.h"

#include "alloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define ARENA_ALIGN 16

struct br_arena_block {
    br_arena_block *next;
    size_t size;  /* usable bytes in data */
    size_t used;
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

void br_arena_init(br_arena *a, size_t block_size, size_t max_bytes)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : 64 * 1024;
    a->used_bytes = 0;
    a->max_bytes = max_bytes;
}

void br_arena_free(br_arena *a)
{
    br_arena_block *b = a->head;
    while (b != NULL) {
        br_arena_block *next = b->next;
        br_free(b);
        b = next;
    }
    a->head = NULL;
    a->used_bytes = 0;
}

void br_arena_reset(br_arena *a)
{
    if (a->head == NULL) {
        return;
    }
    br_arena_block *keep = a->head;
    br_arena_block *b = keep->next;
    while (b != NULL) {
        br_arena_block *next = b->next;
        br_free(b);
        b = next;
    }
    keep->next = NULL;
    keep->used = 0;
    a->used_bytes = keep->size;
}

static br_arena_block *new_block(br_arena *a, size_t size)
{
    if (a->max_bytes != 0 && (size > a->max_bytes || a->used_bytes > a->max_bytes - size)) {
        return NULL;
    }
    br_arena_block *b = br_malloc(sizeof(*b) + size);
    b->next = NULL;
    b->size = size;
    b->used = 0;
    a->used_bytes += size;
    return b;
}

void *br_arena_alloc(br_arena *a, size_t size)
{
    if (size > SIZE_MAX - ARENA_ALIGN) {
        return NULL;
    }
    size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (size == 0) {
        size = ARENA_ALIGN;
    }
    br_arena_block *cur = a->head;
    if (cur != NULL && cur->size - cur->used >= size) {
        void *p = cur->data + cur->used;
        cur->used += size;
        return p;
    }
    if (size > a->block_size / 4) {
        br_arena_block *big = new_block(a, size);
        if (big == NULL) {
            return NULL;
        }
        big->used = size;
        if (cur == NULL) {
            a->head = big;
        } else {
            big->next = cur->next;
            cur->next = big;
        }
        return big->data;
    }
    br_arena_block *b = new_block(a, a->block_size);
    if (b == NULL) {
        return NULL;
    }
    b->next = cur;
    a->head = b;
    b->used = size;
    return b->data;
}

void *br_arena_calloc(br_arena *a, size_t count, size_t size)
{
    if (count != 0 && size > SIZE_MAX / count) {
        return NULL;
    }
    void *p = br_arena_alloc(a, count * size);
    if (p != NULL) {
        memset(p, 0, count * size);
    }
    return p;
}

char *br_arena_strndup(br_arena *a, const char *s, size_t n)
{
    char *p = br_arena_alloc(a, n + 1);
    if (p == NULL) {
        return NULL;
    }
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *br_arena_strdup(br_arena *a, const char *s)
{
    return br_arena_strndup(a, s, strlen(s));
}

char *br_arena_printf(br_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return NULL;
    }
    char *p = br_arena_alloc(a, (size_t)n + 1);
    if (p == NULL) {
        return NULL;
    }
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void *br_arena_pb_alloc(void *arena, size_t size)
{
    return br_arena_alloc(arena, size);
}

void br_arena_pb_free(void *arena, void *ptr)
{
    (void)arena;
    (void)ptr;
}
