/*
 * dump.h — reading a directory written by `burnrate-loadgen --dump DIR`,
 * for the benchmark programs (send_dump, bench_ingest).
 *
 * The directory holds req-<n>.bin (snappy-compressed remote-write bodies)
 * and index.txt, one line per body (format in loadgen.c's top comment):
 *   req=<n> series_from=<a> series_to=<b> t_from=<ms> t_to=<ms> step_ms=<s>
 *   run_start=<ms> samples=<k> histograms=<h> version=<1|2> file=<name>
 * Line order matters: loadgen's workers each own whole series groups and
 * write a group's bodies in time order, so for one series_from the index
 * lists its bodies oldest first. br_dump_load keeps that order; replaying
 * the entries of each group in index order keeps every series in time order.
 *
 * Limits (the index and files are read from disk): lines up to 1 KiB,
 * at most 10 million entries, bodies up to 64 MiB each, file names without
 * '/' so every body stays inside DIR.
 * Single-threaded loading; the loaded dump is read-only afterwards, so any
 * number of threads may read it.
 */
#ifndef BR_TESTS_BENCH_DUMP_H
#define BR_TESTS_BENCH_DUMP_H

#include "engine/core/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BR_DUMP_MAX_ENTRIES    10000000u
#define BR_DUMP_MAX_BODY_BYTES (64u * 1024u * 1024u)

/* One index line and, when loaded, its body. */
typedef struct br_dump_entry {
    long req;
    int series_from;
    int series_to;
    int64_t t_from;
    int64_t t_to;
    uint64_t samples;
    uint64_t histograms;
    int version;
    char file[64];
    void *body; /* owned by the dump; NULL unless bodies were loaded */
    size_t body_len;
} br_dump_entry;

typedef struct br_dump {
    br_dump_entry *entries; /* in index order */
    size_t n;
    uint64_t samples;    /* sum over entries */
    uint64_t histograms; /* sum over entries */
    uint64_t body_bytes; /* sum of body lengths (0 unless loaded) */
    int64_t min_t;
    int64_t max_t;
} br_dump;

/*
 * Reads dir/index.txt into *out and, when load_bodies, every body into
 * memory (so later timing measures no disk reads). dir is borrowed. Returns
 * 0, or BR_EIO (a file cannot be read), BR_EPARSE (a bad index line, named
 * with its line number) or BR_ELIMIT (a limit above exceeded); *out is then
 * empty. Free a loaded dump with br_dump_free.
 */
int br_dump_load(const char *dir, bool load_bodies, br_dump *out, br_err *err);

/* Frees the entries and bodies of d (borrowed); d may be all zero. */
void br_dump_free(br_dump *d);

#endif
