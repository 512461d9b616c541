/*
 * alloc.h — the one place burnrate allocates heap memory.
 *
 * Every allocation goes through br_malloc/br_calloc/br_realloc/br_strdup and
 * is released with br_free. Out of memory is not an error path: these
 * functions log the size and abort(), as Redis' zmalloc does. The WAL makes
 * an abort lose nothing that was acknowledged. Input size must never drive
 * allocation unchecked: callers cap what they read from the network or from
 * files before allocating (see buf.h).
 *
 * br_alloc_bytes() reports the bytes currently allocated through this module
 * (glibc's usable size), exported in /metrics. Thread-safe (C11 atomics).
 */
#ifndef BR_CORE_ALLOC_H
#define BR_CORE_ALLOC_H

#include <stddef.h>
#include <stdint.h>

void *br_malloc(size_t size);
void *br_calloc(size_t count, size_t size);
void *br_realloc(void *ptr, size_t size);
char *br_strdup(const char *s);
char *br_strndup(const char *s, size_t n);
void br_free(void *ptr);

/* Bytes currently held through br_malloc and friends. */
int64_t br_alloc_bytes(void);

#endif
