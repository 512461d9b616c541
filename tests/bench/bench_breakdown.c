/*
 * bench_breakdown.c — where the bytes of the store go, on a loadgen dump.
 *
 *   bench_breakdown --dir DUMP [--groups G]
 *
 * Reads the bodies of the first G endpoint groups (default all) of a
 * burnrate-loadgen --dump directory, keeps each float series' samples in
 * memory, then encodes every series into chunks the way the head does
 * (append until br_chunk_full, freeze, start the next chunk) and prints,
 * per series kind (request counters, _bucket, _sum, _count):
 *   data      bits of encoded stream per sample;
 *   t-only    the same with every value replaced by 0 (what the timestamps
 *             and run bits cost on their own; data - t-only is the value
 *             fields' share);
 *   first     the first sample of every chunk (16 bytes in the summary);
 *   struct    br_chunk_bytes() minus the stream, per sample;
 *   malloc    what glibc really hands out for the struct and the stream
 *             (malloc_usable_size), per sample;
 * and decode ns per sample over all chunks (one pass, after a warm-up);
 * then merges each series' chunks as the head's gc does and prints the
 * merged bytes per sample and decode speed again.
 * Series order inside a body follows the index's [series_from, series_to)
 * range; the kind is the series number modulo 21 (loadgen's layout: 7
 * codes, 12 buckets, _sum, _count). Single-threaded.
 */
#include "api/remote_write_decode.h"
#include "engine/core/alloc.h"
#include "engine/core/arena.h"
#include "engine/core/clock.h"
#include "storage/chunk.h"
#include "tests/bench/dump.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { K_CODE, K_BUCKET, K_SUM, K_COUNT, K_N };
static const char *kind_names[K_N] = {"counter", "bucket", "sum", "count"};

typedef struct series_buf {
    br_sample *s;
    size_t n, cap;
} series_buf;

typedef struct tally {
    double samples, chunks, data_bits, tonly_bits, struct_bytes, malloc_bytes;
} tally;

static int kind_of(int idx)
{
    int k = idx % 21;
    if (k < 7) {
        return K_CODE;
    }
    if (k < 19) {
        return K_BUCKET;
    }
    return k == 19 ? K_SUM : K_COUNT;
}

/* Encodes s[0..n) like the head; adds to t; returns the chunks (caller frees). */
static br_chunk **encode(const br_sample *s, size_t n, bool zero_values, size_t *n_out)
{
    size_t cap = 16, nc = 0;
    br_chunk **cs = br_malloc(cap * sizeof(*cs));
    br_chunk *c = NULL;
    for (size_t i = 0; i < n; i++) {
        if (c == NULL || br_chunk_full(c)) {
            if (c != NULL) {
                br_chunk_freeze(c);
            }
            c = br_chunk_new();
            if (nc == cap) {
                cap *= 2;
                cs = br_realloc(cs, cap * sizeof(*cs));
            }
            cs[nc++] = c;
        }
        br_err err;
        if (br_chunk_append(c, s[i].t, zero_values ? 0.0 : s[i].v, &err) != 0) {
            fprintf(stderr, "append: %s\n", err.msg);
            exit(1);
        }
    }
    if (c != NULL) {
        br_chunk_freeze(c);
    }
    *n_out = nc;
    return cs;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int groups = 100000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (strcmp(argv[i], "--groups") == 0 && i + 1 < argc) {
            groups = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: bench_breakdown --dir DUMP [--groups G]\n");
            return 2;
        }
    }
    if (dir == NULL) {
        fprintf(stderr, "usage: bench_breakdown --dir DUMP [--groups G]\n");
        return 2;
    }
    br_err err;
    br_dump d;
    if (br_dump_load(dir, false, &d, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    int max_series = groups * 21;
    series_buf *sb = br_calloc((size_t)max_series, sizeof(*sb));
    int n_series = 0;
    br_rw_options opts;
    br_rw_options_init(&opts);
    br_arena arena;
    br_arena_init(&arena, 256 * 1024, 4 * ((size_t)BR_RW_DEFAULT_MAX_DECOMPRESSED + (1u << 20)));
    for (size_t i = 0; i < d.n; i++) {
        const br_dump_entry *e = &d.entries[i];
        if (e->series_from >= max_series) {
            continue;
        }
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, e->file);
        FILE *f = fopen(path, "rb");
        if (f == NULL) {
            perror(path);
            return 1;
        }
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        void *body = br_malloc((size_t)len);
        if (fread(body, 1, (size_t)len, f) != (size_t)len) {
            perror(path);
            return 1;
        }
        fclose(f);
        br_arena_reset(&arena);
        br_rw_request rw;
        if (br_rw_decode(body, (size_t)len, "application/x-protobuf", "snappy", &opts, &arena, &rw,
                         &err) != 0) {
            fprintf(stderr, "%s: %s\n", e->file, err.msg);
            return 1;
        }
        br_free(body);
        for (size_t k = 0; k < rw.n_series; k++) {
            int idx = e->series_from + (int)k;
            if (idx >= max_series) {
                break;
            }
            if (idx + 1 > n_series) {
                n_series = idx + 1;
            }
            series_buf *b = &sb[idx];
            for (size_t j = 0; j < rw.series[k].n_samples; j++) {
                if (b->n == b->cap) {
                    b->cap = b->cap ? b->cap * 2 : 1024;
                    b->s = br_realloc(b->s, b->cap * sizeof(*b->s));
                }
                b->s[b->n++] = rw.series[k].samples[j];
            }
        }
    }
    br_arena_free(&arena);
    br_dump_free(&d);

    tally t[K_N + 1];
    memset(t, 0, sizeof(t));
    size_t total_chunks = 0;
    br_chunk ***all = br_calloc((size_t)n_series, sizeof(*all));
    size_t *all_n = br_calloc((size_t)n_series, sizeof(*all_n));
    for (int i = 0; i < n_series; i++) {
        tally *k = &t[kind_of(i)];
        size_t nc;
        br_chunk **cs = encode(sb[i].s, sb[i].n, false, &nc);
        k->samples += (double)sb[i].n;
        k->chunks += (double)nc;
        for (size_t j = 0; j < nc; j++) {
            size_t dl = br_chunk_data_len(cs[j]);
            k->data_bits += 8.0 * (double)dl;
            k->struct_bytes += (double)(br_chunk_bytes(cs[j]) - dl);
            k->malloc_bytes += (double)malloc_usable_size(cs[j]) + 8.0;
            if (dl > 0) {
                k->malloc_bytes += 8.0 + (double)(((dl + 8 + 15) / 16) * 16 - 8);
            }
        }
        all[i] = cs;
        all_n[i] = nc;
        total_chunks += nc;
        br_chunk **zs = encode(sb[i].s, sb[i].n, true, &nc);
        for (size_t j = 0; j < nc; j++) {
            k->tonly_bits += 8.0 * (double)br_chunk_data_len(zs[j]);
            br_chunk_free(zs[j]);
        }
        br_free(zs);
    }
    printf("%-8s %9s %7s %7s %7s %7s %7s %8s %8s %8s\n", "kind", "samples", "smp/chk", "data b",
           "t-only", "value b", "first b", "struct B", "malloc B", "total B");
    for (int k = 0; k <= K_N; k++) {
        tally *x = &t[k];
        if (k < K_N) {
            t[K_N].samples += x->samples;
            t[K_N].chunks += x->chunks;
            t[K_N].data_bits += x->data_bits;
            t[K_N].tonly_bits += x->tonly_bits;
            t[K_N].struct_bytes += x->struct_bytes;
            t[K_N].malloc_bytes += x->malloc_bytes;
        }
        if (x->samples == 0) {
            continue;
        }
        double first_b = 16.0 * 8.0 * x->chunks / x->samples;
        double data_b = x->data_bits / x->samples;
        printf("%-8s %9.0f %7.1f %7.2f %7.2f %7.2f %7.2f %8.3f %8.3f %8.3f\n",
               k < K_N ? kind_names[k] : "all", x->samples, x->samples / x->chunks, data_b,
               x->tonly_bits / x->samples, data_b - x->tonly_bits / x->samples, first_b,
               x->struct_bytes / x->samples, x->malloc_bytes / x->samples,
               (x->data_bits / 8.0 + x->struct_bytes) / x->samples);
    }
    /* Decode speed: one warm-up pass, then a timed one. */
    double sink = 0;
    int64_t ns = 0;
    for (int pass = 0; pass < 2; pass++) {
        int64_t t0 = br_mono_ns();
        for (int i = 0; i < n_series; i++) {
            for (size_t j = 0; j < all_n[i]; j++) {
                br_chunk_iter it;
                br_chunk_iter_init(&it, all[i][j]);
                while (br_chunk_iter_next(&it)) {
                    sink += it.v;
                }
            }
        }
        ns = br_mono_ns() - t0;
    }
    printf("decode_ns_per_sample=%.2f chunks=%zu (checksum %g)\n",
           (double)ns / t[K_N].samples, total_chunks, sink);
    /* The same after merging runs of chunks as the head's gc does (runs of
     * up to BR_CHUNK_MERGE_SAMPLES samples / BR_CHUNK_MERGE_BYTES bytes). */
    double merged_bytes = 0, merged_chunks = 0;
    double kind_bytes[K_N] = {0}, kind_bits[K_N] = {0};
    for (int i = 0; i < n_series; i++) {
        size_t w = 0;
        for (size_t j = 0; j < all_n[i];) {
            size_t k = j;
            uint64_t cnt = 0;
            size_t bytes = 0;
            while (k < all_n[i] &&
                   cnt + br_chunk_get_summary(all[i][k])->count <= BR_CHUNK_MERGE_SAMPLES &&
                   bytes + br_chunk_data_len(all[i][k]) <= BR_CHUNK_MERGE_BYTES) {
                cnt += br_chunk_get_summary(all[i][k])->count;
                bytes += br_chunk_data_len(all[i][k]);
                k++;
            }
            if (k == j) {
                k = j + 1;
            }
            br_chunk *m = NULL;
            if (k - j >= 2 && br_chunk_merge(all[i] + j, k - j, &m, &err) == 0) {
                for (size_t q = j; q < k; q++) {
                    br_chunk_free(all[i][q]);
                }
                all[i][w++] = m;
            } else {
                for (size_t q = j; q < k; q++) {
                    all[i][w++] = all[i][q];
                }
            }
            j = k;
        }
        all_n[i] = w;
        for (size_t j = 0; j < w; j++) {
            merged_bytes += (double)br_chunk_bytes(all[i][j]);
            kind_bytes[kind_of(i)] += (double)br_chunk_bytes(all[i][j]);
            kind_bits[kind_of(i)] += 8.0 * (double)br_chunk_data_len(all[i][j]);
            merged_chunks += 1;
        }
    }
    double sink2 = 0;
    for (int pass = 0; pass < 2; pass++) {
        int64_t t0 = br_mono_ns();
        for (int i = 0; i < n_series; i++) {
            for (size_t j = 0; j < all_n[i]; j++) {
                br_chunk_iter it;
                br_chunk_iter_init(&it, all[i][j]);
                while (br_chunk_iter_next(&it)) {
                    sink2 += it.v;
                }
            }
        }
        ns = br_mono_ns() - t0;
    }
    printf("merged: bytes_per_sample=%.3f smp/chk=%.1f decode_ns_per_sample=%.2f%s\n",
           merged_bytes / t[K_N].samples, t[K_N].samples / merged_chunks,
           (double)ns / t[K_N].samples, sink2 == sink ? "" : " CHECKSUM MISMATCH");
    for (int k = 0; k < K_N; k++) {
        if (t[k].samples > 0) {
            printf("merged %-8s stream_bits_per_sample=%.2f bytes_per_sample=%.3f\n",
                   kind_names[k], kind_bits[k] / t[k].samples, kind_bytes[k] / t[k].samples);
        }
    }
    for (int i = 0; i < n_series; i++) {
        for (size_t j = 0; j < all_n[i]; j++) {
            br_chunk_free(all[i][j]);
        }
        br_free(all[i]);
        br_free(sb[i].s);
    }
    br_free(all);
    br_free(all_n);
    br_free(sb);
    return 0;
}
