/*
 * arena.h — bump allocator for per-request and per-query memory.
 *
 * An arena hands out memory from blocks it owns and frees everything at once
 * in br_arena_free (or br_arena_reset, which keeps the first block for reuse).
 * Individual allocations are never freed. A cap (max_bytes, 0 = none) bounds
 * the total: br_arena_alloc returns NULL past it, so a hostile request body
 * cannot make a decoder allocate without limit; callers turn NULL into a
 * BR_ELIMIT error. Not thread-safe: one arena per request or query.
 *
 * br_arena_protobuf() adapts the arena to protobuf-c's ProtobufCAllocator
 * shape (alloc/free/data) without including protobuf-c here.
 */
#ifndef BR_CORE_ARENA_H
#define BR_CORE_ARENA_H

#include <stddef.h>

typedef struct br_arena_block br_arena_block;

typedef struct br_arena {
    br_arena_block *head;  /* newest block first */
    size_t block_size;     /* default size of a new block */
    size_t used_bytes;     /* bytes in all blocks */
    size_t max_bytes;      /* 0 = unlimited */
} br_arena;

/* Initialises an arena; block_size 0 picks 64 KiB. Allocates nothing yet. */
void br_arena_init(br_arena *a, size_t block_size, size_t max_bytes);
/* Frees all blocks. The arena may be reused after br_arena_init. */
void br_arena_free(br_arena *a);
/* Frees all but the newest block and rewinds it. */
void br_arena_reset(br_arena *a);

/* Returns 16-byte aligned memory valid until free/reset, or NULL when the
 * cap would be exceeded. */
void *br_arena_alloc(br_arena *a, size_t size);
void *br_arena_calloc(br_arena *a, size_t count, size_t size);
char *br_arena_strndup(br_arena *a, const char *s, size_t n);
char *br_arena_strdup(br_arena *a, const char *s);
char *br_arena_printf(br_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* protobuf-c allocator callbacks: pass `a` as allocator_data. */
void *br_arena_pb_alloc(void *arena, size_t size);
void br_arena_pb_free(void *arena, void *ptr);

#endif
