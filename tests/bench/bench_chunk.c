/*
 * bench_chunk.c — compression and speed of storage/chunk on SLI-shaped data.
 *
 * For each data set it generates `series` series of `samples` samples each
 * (default 10000 x 480, i.e. two hours at a 15 s scrape interval), appends
 * them into chunks the way the head does (br_chunk_full, then freeze and cut),
 * then iterates every chunk back, checking each sample bit for bit against a
 * regenerated copy. It prints per data set:
 *   enc B/s   encoded bytes per sample: the bit stream plus the 16 bytes of
 *             the first sample that every chunk keeps in its summary;
 *   mem B/s   br_chunk_bytes() per sample after freezing (struct, summary,
 *             data: what the head pays);
 *   enc ns/s, dec ns/s   append and iterate time per sample.
 * Generation and checking are outside the timed regions. Data sets:
 *   counter-uniform   increments uniform in 0..500 per 15 s, +-5 ms jitter
 *   counter-poisson   per-series rate in 0..500 per scrape, Poisson noise
 *   *-aligned         the same with exact 15 s timestamps (what Prometheus
 *                     2.43+ writes when jitter is under its 2 ms tolerance)
 *   error-counter     mostly idle: 5% of scrapes add 1..3
 *   bucket            classic histogram _bucket series (12 le buckets,
 *                     lognormal latencies, Poisson traffic 0..500 per scrape)
 *   gauge             random walk over arbitrary doubles
 *   native-hist       native histograms, schema 0, 15 buckets, integer counts
 *
 * Usage: bench_chunk [series] [samples]. Single-threaded; deterministic data.
 */
#include "engine/core/alloc.h"
#include "engine/core/clock.h"
#include "storage/chunk.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ generators */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s)
{
    return ((double)(rng_next(s) >> 11) + 0.5) * 0x1p-53;
}

static double rng_normal(uint64_t *s)
{
    double u = rng_unit(s), v = rng_unit(s);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static double rng_poisson(uint64_t *s, double lambda)
{
    if (lambda <= 0) {
        return 0;
    }
    if (lambda > 30) {
        double x = floor(lambda + sqrt(lambda) * rng_normal(s) + 0.5);
        return x < 0 ? 0 : x;
    }
    double l = exp(-lambda), p = 1.0;
    double k = 0;
    do {
        k++;
        p *= rng_unit(s);
    } while (p > l);
    return k - 1;
}

enum kind {
    K_COUNTER_UNIFORM,
    K_COUNTER_UNIFORM_ALIGNED,
    K_COUNTER_POISSON,
    K_COUNTER_POISSON_ALIGNED,
    K_ERROR_COUNTER,
    K_ERROR_COUNTER_ALIGNED,
    K_BUCKET,
    K_GAUGE,
    K_COUNT
};

static const char *kind_name[K_COUNT] = {
    "counter-uniform", "counter-uniform-aligned", "counter-poisson", "counter-poisson-aligned",
    "error-counter",   "error-counter-aligned",   "bucket",          "gauge",
};

#define T0       1700000000000LL
#define NBUCKETS 12

static const double le[NBUCKETS - 1] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                        0.5,   1.0,  2.5,   5.0,  10.0};

/* Share of lognormal(median 50 ms, sigma 1) observations in each le bucket
 * (not cumulative); the last entry is the +Inf bucket. */
static void bucket_shares(double *p)
{
    double prev = 0.0;
    for (int b = 0; b < NBUCKETS - 1; b++) {
        double cdf = 0.5 * erfc(-(log(le[b]) - log(0.05)) / sqrt(2.0));
        p[b] = cdf - prev;
        prev = cdf;
    }
    p[NBUCKETS - 1] = 1.0 - prev;
}

static int64_t jitter(uint64_t *rs, bool aligned)
{
    return aligned ? 0 : (int64_t)(rng_next(rs) % 11) - 5;
}

/* Fills out[0..n) for series number `id` of data set k. */
static void gen_series(enum kind k, uint64_t id, br_sample *out, size_t n)
{
    static double shares[NBUCKETS];
    if (shares[0] == 0) {
        bucket_shares(shares);
    }
    /* Bucket series of one histogram share its seed, so they see the same
     * traffic and timestamps; `le_index` picks the cumulative bucket. */
    uint64_t hist = k == K_BUCKET ? id / NBUCKETS : id;
    int le_index = (int)(id % NBUCKETS);
    uint64_t rs = (hist + 1) * 0x9e3779b97f4a7c15ULL + (uint64_t)k;
    double rate = (double)(rng_next(&rs) % 501);
    double v = (double)(rng_next(&rs) % 1000000);
    bool aligned = k == K_COUNTER_UNIFORM_ALIGNED || k == K_COUNTER_POISSON_ALIGNED ||
                   k == K_ERROR_COUNTER_ALIGNED;
    double cum[NBUCKETS] = {0};
    for (size_t i = 0; i < n; i++) {
        out[i].t = T0 + 15000 * (int64_t)i + jitter(&rs, aligned);
        switch (k) {
        case K_COUNTER_UNIFORM:
        case K_COUNTER_UNIFORM_ALIGNED:
            v += (double)(rng_next(&rs) % 501);
            break;
        case K_COUNTER_POISSON:
        case K_COUNTER_POISSON_ALIGNED:
            v += rng_poisson(&rs, rate);
            break;
        case K_ERROR_COUNTER:
        case K_ERROR_COUNTER_ALIGNED:
            if (rng_next(&rs) % 20 == 0) {
                v += (double)(1 + rng_next(&rs) % 3);
            }
            break;
        case K_BUCKET: {
            double acc = 0;
            for (int b = 0; b < NBUCKETS; b++) {
                acc += rng_poisson(&rs, rate * shares[b]);
                cum[b] += acc;
            }
            v = cum[le_index];
            break;
        }
        case K_GAUGE:
            if (i == 0) {
                v = 40.0 + rng_unit(&rs) * 20.0;
            }
            v += rng_normal(&rs) * 0.37;
            break;
        case K_COUNT:
            break;
        }
        out[i].v = v;
    }
}

/* ----------------------------------------------------------------- runner */

typedef struct result {
    size_t samples, chunks, enc_bytes, mem_bytes;
    int64_t enc_ns, dec_ns;
} result;

static void print_result(const char *name, const result *r)
{
    double n = (double)r->samples;
    printf("%-24s %9zu %7zu %8.3f %8.3f %8.1f %8.1f\n", name, r->samples, r->chunks,
           (double)r->enc_bytes / n, (double)r->mem_bytes / n, (double)r->enc_ns / n,
           (double)r->dec_ns / n);
}

static int run_float(enum kind k, size_t nseries, size_t nsamples, result *res)
{
    memset(res, 0, sizeof(*res));
    br_sample *buf = br_malloc(nsamples * sizeof(*buf));
    size_t max_chunks = nsamples / 2 + 2;
    br_chunk **chunks = br_malloc(nseries * max_chunks * sizeof(*chunks));
    size_t *nchunks = br_calloc(nseries, sizeof(*nchunks));
    br_err err;
    br_err_clear(&err);

    for (size_t s = 0; s < nseries; s++) {
        gen_series(k, s, buf, nsamples);
        br_chunk **cs = chunks + s * max_chunks;
        int64_t t0 = br_mono_ns();
        br_chunk *c = br_chunk_new();
        for (size_t i = 0; i < nsamples; i++) {
            if (br_chunk_full(c)) {
                br_chunk_freeze(c);
                cs[nchunks[s]++] = c;
                c = br_chunk_new();
            }
            if (br_chunk_append(c, buf[i].t, buf[i].v, &err) != 0) {
                fprintf(stderr, "append failed: %s\n", err.msg);
                return 1;
            }
        }
        br_chunk_freeze(c);
        cs[nchunks[s]++] = c;
        res->enc_ns += br_mono_ns() - t0;
    }

    double checksum = 0;
    for (size_t s = 0; s < nseries; s++) {
        br_chunk **cs = chunks + s * max_chunks;
        int64_t t0 = br_mono_ns();
        for (size_t j = 0; j < nchunks[s]; j++) {
            br_chunk_iter it;
            br_chunk_iter_init(&it, cs[j]);
            while (br_chunk_iter_next(&it)) {
                checksum += it.v;
            }
        }
        res->dec_ns += br_mono_ns() - t0;
    }

    /* Check everything bit for bit (untimed). */
    for (size_t s = 0; s < nseries; s++) {
        gen_series(k, s, buf, nsamples);
        br_chunk **cs = chunks + s * max_chunks;
        size_t i = 0;
        for (size_t j = 0; j < nchunks[s]; j++) {
            br_chunk_iter it;
            br_chunk_iter_init(&it, cs[j]);
            while (br_chunk_iter_next(&it)) {
                if (i >= nsamples || it.t != buf[i].t || memcmp(&it.v, &buf[i].v, 8) != 0) {
                    fprintf(stderr, "%s: series %zu sample %zu differs\n", kind_name[k], s, i);
                    return 1;
                }
                i++;
            }
            res->enc_bytes += br_chunk_data_len(cs[j]) + 16;
            res->mem_bytes += br_chunk_bytes(cs[j]);
            br_chunk_free(cs[j]);
        }
        if (i != nsamples) {
            fprintf(stderr, "%s: series %zu has %zu samples\n", kind_name[k], s, i);
            return 1;
        }
        res->samples += nsamples;
        res->chunks += nchunks[s];
    }
    if (checksum == 12345.678) {
        printf("(checksum)\n"); /* keeps the decode loop from being optimised away */
    }
    br_free(buf);
    br_free(chunks);
    br_free(nchunks);
    return 0;
}

/* Native histograms: schema 0, one span of 15 buckets (about 1 ms .. 16 s),
 * lognormal latencies, Poisson traffic; integer counts, float sum. */
#define NH_BUCKETS 15

typedef struct nh_gen {
    uint64_t rs;
    double rate, count, sum;
    double shares[NH_BUCKETS];
    double b[NH_BUCKETS];
    br_span span;
} nh_gen;

static void nh_init(nh_gen *g, uint64_t id)
{
    memset(g, 0, sizeof(*g));
    g->rs = (id + 1) * 0x9e3779b97f4a7c15ULL + 99;
    g->rate = (double)(rng_next(&g->rs) % 501);
    /* Schema 0 bucket i covers (2^(i-1), 2^i]; the span starts at -10. */
    double prev = 0;
    for (int j = 0; j < NH_BUCKETS; j++) {
        double upper = ldexp(1.0, -10 + j);
        double cdf = 0.5 * erfc(-(log(upper) - log(0.05)) / sqrt(2.0));
        g->shares[j] = cdf - prev;
        prev = cdf;
    }
    g->span = (br_span){-10, NH_BUCKETS};
}

static void nh_next(nh_gen *g, br_histogram *h)
{
    for (int j = 0; j < NH_BUCKETS; j++) {
        double inc = rng_poisson(&g->rs, g->rate * g->shares[j]);
        g->b[j] += inc;
        g->count += inc;
        g->sum += inc * 0.05 * exp(0.5 + 0.1 * rng_normal(&g->rs));
    }
    memset(h, 0, sizeof(*h));
    h->schema = 0;
    h->zero_threshold = 0x1p-128;
    h->count = g->count;
    h->sum = g->sum;
    h->n_pos_spans = 1;
    h->pos_spans = &g->span;
    h->n_pos = NH_BUCKETS;
    h->pos_buckets = g->b;
}

static int run_native(size_t nseries, size_t nsamples, result *res)
{
    memset(res, 0, sizeof(*res));
    size_t max_chunks = nsamples / 2 + 2;
    br_hchunk **chunks = br_malloc(nseries * max_chunks * sizeof(*chunks));
    size_t *nchunks = br_calloc(nseries, sizeof(*nchunks));
    br_histogram *hs = br_malloc(nsamples * sizeof(*hs));
    double *counts = br_malloc(nsamples * NH_BUCKETS * sizeof(double));
    int64_t *ts = br_malloc(nsamples * sizeof(*ts));
    br_err err;
    br_err_clear(&err);

    for (size_t s = 0; s < nseries; s++) {
        nh_gen g;
        nh_init(&g, s);
        for (size_t i = 0; i < nsamples; i++) {
            nh_next(&g, &hs[i]);
            memcpy(counts + i * NH_BUCKETS, g.b, sizeof(g.b));
            hs[i].pos_buckets = counts + i * NH_BUCKETS;
            ts[i] = T0 + 15000 * (int64_t)i + jitter(&g.rs, false);
        }
        br_hchunk **cs = chunks + s * max_chunks;
        int64_t t0 = br_mono_ns();
        br_hchunk *c = br_hchunk_new();
        for (size_t i = 0; i < nsamples; i++) {
            if (br_hchunk_full(c)) {
                br_hchunk_freeze(c);
                cs[nchunks[s]++] = c;
                c = br_hchunk_new();
            }
            if (br_hchunk_append(c, ts[i], &hs[i], &err) != 0) {
                fprintf(stderr, "append failed: %s\n", err.msg);
                return 1;
            }
        }
        br_hchunk_freeze(c);
        cs[nchunks[s]++] = c;
        res->enc_ns += br_mono_ns() - t0;

        t0 = br_mono_ns();
        double checksum = 0;
        for (size_t j = 0; j < nchunks[s]; j++) {
            br_hchunk_iter it;
            br_hchunk_iter_init(&it, cs[j]);
            while (br_hchunk_iter_next(&it)) {
                checksum += it.h.count;
            }
            br_hchunk_iter_free(&it);
        }
        res->dec_ns += br_mono_ns() - t0;
        if (checksum < 0) {
            return 1;
        }

        size_t i = 0;
        for (size_t j = 0; j < nchunks[s]; j++) {
            br_hchunk_iter it;
            br_hchunk_iter_init(&it, cs[j]);
            while (br_hchunk_iter_next(&it)) {
                if (i >= nsamples || it.t != ts[i] || it.h.count != hs[i].count ||
                    memcmp(&it.h.sum, &hs[i].sum, 8) != 0 ||
                    memcmp(it.h.pos_buckets, hs[i].pos_buckets, NH_BUCKETS * 8) != 0) {
                    fprintf(stderr, "native-hist: series %zu sample %zu differs\n", s, i);
                    return 1;
                }
                i++;
            }
            br_hchunk_iter_free(&it);
            res->enc_bytes += br_hchunk_data_len(cs[j]) + 8;
            res->mem_bytes += br_hchunk_bytes(cs[j]);
            br_hchunk_free(cs[j]);
        }
        if (i != nsamples) {
            fprintf(stderr, "native-hist: series %zu has %zu samples\n", s, i);
            return 1;
        }
        res->samples += nsamples;
        res->chunks += nchunks[s];
    }
    br_free(chunks);
    br_free(nchunks);
    br_free(hs);
    br_free(counts);
    br_free(ts);
    return 0;
}

int main(int argc, char **argv)
{
    size_t nseries = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 10000;
    size_t nsamples = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 480;
    if (nseries == 0 || nsamples == 0) {
        fprintf(stderr, "usage: bench_chunk [series] [samples-per-series]\n");
        return 2;
    }
    printf("%zu series x %zu samples, 15 s interval\n", nseries, nsamples);
    printf("%-24s %9s %7s %8s %8s %8s %8s\n", "data set", "samples", "chunks", "enc B/s", "mem B/s",
           "enc ns/s", "dec ns/s");
    for (int k = 0; k < K_COUNT; k++) {
        result r;
        if (run_float((enum kind)k, nseries, nsamples, &r) != 0) {
            return 1;
        }
        print_result(kind_name[k], &r);
    }
    result r;
    size_t nh_series = nseries / 10 > 0 ? nseries / 10 : 1;
    if (run_native(nh_series, nsamples, &r) != 0) {
        return 1;
    }
    print_result("native-hist (per hist)", &r);
    return 0;
}
