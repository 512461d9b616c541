/*
 * chunk.c — float and native-histogram chunk encoders and iterators.
 *
 * Role: the compressed store under each series in the head (see chunk.h for
 * the API, ownership and locking; bitstream.h for the bit order and the two
 * codes used here: "rice(u, k)" with its special symbol, and "uvarint").
 * The bit-stream format below is what the appender writes and the iterators
 * read, specified in the "Encoding format" comment after the includes. Head
 * snapshots store chunks as the records of "Snapshot record format" below
 * (br_chunk_serialize and friends, at the end of this file).
 *
 * Invariants: timestamps strictly increase; the appender and every iterator
 * run the same predictors and update them identically after each field, so
 * a decoder reproduces the encoder's state sample by sample. Nothing in a
 * stream is trusted: readers stop with BR_ECORRUPT on anything the encoder
 * never writes, and the layout limits of chunk.h are re-checked.
 *
 * Threads: none of its own. The open chunk is used under its series' lock;
 * frozen chunks are read-only and may be iterated from any number of threads.
 */
#include "storage/chunk.h"

#include "engine/core/alloc.h"
#include "engine/core/varint.h"

#include <assert.h>
#include <math.h>
#include <string.h>

/*
 * Encoding format.
 *
 * Float chunk format. The first sample (t0, v0) lives in the summary, not in
 * the stream. Sample i >= 1 is a timestamp field then a value field:
 *   timestamp  i == 1: uvarint I, the nominal interval: t1 - t0 rounded to a
 *              multiple of 1000, 100 or 10 ms when that moves it by at most
 *              1/32, else t1 - t0 itself. Then, for every i >= 1,
 *              rice(zigzag(t - (grid + I)), k_t). `grid` starts at t0 and
 *              follows the ideal scrape times: after each sample, if the
 *              residual r satisfies |r| <= I/8, grid += I + r/4 (rounded
 *              away from zero), which centres it in the jitter and lets a
 *              constant offset die out; otherwise grid = t (a missed scrape
 *              or an irregular series re-anchors it). All timestamp
 *              arithmetic is modulo 2^64, so any int64 gap round-trips.
 *   value      integer context (the previous value is an integer with
 *              |v| <= 2^53 and is not -0.0):
 *                  rice(zigzag(delta - pred), k_v) when v is such an
 *                  integer too, with delta = v - prev and pred = trend/8
 *                  rounded half away from zero (0 before any delta);
 *                  otherwise the special symbol, then an XOR field.
 *              float context (anything else): an XOR field.
 *              XOR field of x = bits(v) ^ bits(prev), Gorilla style:
 *                  '0' when x == 0; '10' + the window's bits when x fits the
 *                  previous window and that costs at most 11 bits more than
 *                  a new one; else '11' + 5-bit leading zeros (max 31) +
 *                  6-bit (length - 1) + the meaningful bits, which become
 *                  the window.
 *   trend      8 x an exponentially smoothed delta (weight 1/8). The first
 *              delta sets it; an escaped residual (q >= BR_RICE_QMAX) does
 *              not train it, so a counter reset costs one escape and the
 *              trend survives; two escapes in a row reset it to the new delta;
 *              two zero deltas in a row set it to 0 (the series went idle).
 *   k_t, k_v   adaptive Rice parameters, one per stream: a running sum `a`
 *              of coded values (each capped at QMAX << k) over `n` of them,
 *              halved when n reaches 16; k is the least k with n << k >= a,
 *              at most BR_RICE_MAX_K.
 *
 *   run bit    a sample is "perfect" when i >= 2, its timestamp residual
 *              is 0 and its value is the prediction (integer residual 0, or
 *              the same bits in float context). After a perfect sample,
 *              the next sample starts with one bit: 0 = perfect too and
 *              nothing else follows (predictors advance as if zeros had been
 *              coded); 1 = the fields follow as usual. A series with exact
 *              timestamps and an idle or perfectly steady value thus costs
 *              1 bit per sample.
 *
 * Regular streams (only chunks made by br_chunk_merge, flagged by the
 * chunk's treg bit, never open): when every gap between consecutive samples
 * is the same, sample 1 writes only uvarint I = t1 - t0 (1 <= I <= 2^62)
 * and no sample writes a timestamp field; t_i = t_(i-1) + I. The value
 * fields and the run bit are as above, "perfect" meaning the value alone.
 * The head merges runs of frozen chunks into such chunks of up to
 * BR_CHUNK_MERGE_SAMPLES samples (storage/head.c, compact_series), which
 * also spreads each chunk's struct and summary over more samples.
 *
 * Float-delta streams (only chunks made by br_chunk_merge, flagged by the
 * chunk's fdelta bit, never open): every XOR field above is replaced by an
 * FD field, rice(zigzag(d - pred), k_f), where d = bits(v) - bits(prev)
 * modulo 2^64 read as int64 and pred = ftrend/8 rounded half away from
 * zero (0 while ftrend is unset). ftrend follows the `trend` rules on d,
 * except that |d| >= 2^55 does not train it and unsets it; k_f is a third
 * adaptive Rice parameter. A value repeated in float context is still a
 * "perfect" sample: the run bit covers it and the FD predictor does not
 * move. For a slowly growing positive float (a histogram's _sum) the bit
 * patterns grow almost linearly, so d carries only the bits that changed,
 * without XOR's 2-bit prefix and 11-bit window header. The merge encodes a
 * run with any non-integer value both ways and keeps the shorter stream.
 *
 * Histogram chunk format. Sample i: the run bit (as above, "perfect" also
 * requiring the same layout and every value predicted), the timestamp field
 * (t0 in the summary), one bit "layout follows" (always 1 for i == 0), the
 * layout if so, then count, zero count, sum, each positive bucket and each
 * negative bucket as a value field with its own predictor (prev starts at
 * 0.0).
 * Layout: uvarint zigzag(schema), 1 bit is_float, 2 bits reset hint, 64 bits
 * zero threshold, then for positive and negative spans: uvarint n_spans and
 * per span uvarint zigzag(offset), uvarint length; then uvarint n_custom and
 * 64 bits per custom bound. On a layout change, bucket predictors follow
 * their absolute bucket index; new buckets start from 0.0.
 *
 * Snapshot record format (version 3; versions 1 and 2 still load). One
 * record per chunk, written by
 * br_chunk_serialize / br_hchunk_serialize; integers little-endian, doubles
 * as their IEEE-754 bit pattern in a little-endian uint64:
 *   off  size  field
 *     0     1  kind: 'F' (0x46) float chunk, 'H' (0x48) histogram chunk
 *     1     1  version: 3 (2: as 3 without flag bit 4; 1: as 2 without
 *              flag bit 3)
 *     2     1  flags: bit 0 open (the appender state is rebuilt on load);
 *              float: bit 1 has_nan, bit 2 has_stale, bit 3 regular
 *              stream (version >= 2, never with bit 0), bit 4 float-delta
 *              stream (version 3, never with bit 0); histogram: bit 1
 *              has_stale. Other bits are 0.
 *     3     1  reserved, 0
 *     4     4  count (at most BR_CHUNK_HARD_LIMIT)
 *     8     4  float: resets; histogram: layouts
 *    12     8  nbits, the stream's length in bits
 *    20     8  min_t (int64)
 *    28     8  max_t (int64)
 *   float only:
 *    36  6x 8  first, last, min, max, increase, reset_sum
 *    84        the stream: ceil(nbits / 8) bytes, pad bits of the last byte 0
 *   histogram: the stream starts at 36.
 * The record holds no CRC (the snapshot file carries one) and no appender
 * state: the appender's predictors are exactly the state a decoder has after
 * the last sample (both run the same updates), so the loader takes them
 * from the validating decode it does anyway. Loading checks everything: the
 * header fields and limits, that decoding yields exactly `count` samples
 * which use up exactly nbits bits, that the pad bits are 0 (the appender
 * ORs new fields in), and that the stored summary equals the one recomputed
 * from the samples (increase, reset_sum, min and max may differ in NaN
 * payload only); anything else is BR_ECORRUPT.
 */

#define RICE_RESET 16
#define INT_MAXABS (INT64_C(1) << 53)

/* ------------------------------------------------------------ bit helpers */

static inline uint64_t dbits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof(b));
    return b;
}

static inline double bitsd(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof(v));
    return v;
}

static inline int64_t u2i(uint64_t u)
{
    int64_t i;
    memcpy(&i, &u, sizeof(i));
    return i;
}

static inline unsigned bitlen64(uint64_t x)
{
    return x == 0 ? 0 : 64u - (unsigned)__builtin_clzll(x);
}

/* True when v is an integer the integer path can carry exactly. */
static inline bool as_int(double v, int64_t *out)
{
    if (!(v >= -0x1p53 && v <= 0x1p53)) {
        return false; /* also false for NaN */
    }
    int64_t i = (int64_t)v;
    if ((double)i != v || (i == 0 && signbit(v))) {
        return false;
    }
    *out = i;
    return true;
}

/* x / 8 rounded half away from zero; |x| <= 2^58. */
static inline int64_t rdiv8(int64_t x)
{
    return x >= 0 ? (x + 4) / 8 : -((-x + 4) / 8);
}

/* --------------------------------------------------------- adaptive Rice */

static void rice_init(br_chunk_rice *s)
{
    s->a = 1;
    s->n = 1;
}

static inline unsigned rice_k(const br_chunk_rice *s)
{
    if (s->a <= s->n) {
        return 0;
    }
    /* The least k with n << k >= a, without a division: n << k0 lies in
     * [2^(bitlen(a) - 1), 2^bitlen(a)), so k0 or k0 + 1 is the answer. */
    unsigned k = bitlen64(s->a) - bitlen64(s->n);
    if (((uint64_t)s->n << k) < s->a) {
        k++;
    }
    return k > BR_RICE_MAX_K ? BR_RICE_MAX_K : k;
}

/* Caps keep a below 2^56: each term is under 12 * 2^48 and n < 16. */
static inline void rice_update(br_chunk_rice *s, uint64_t u, unsigned k)
{
    uint64_t cap = (uint64_t)BR_RICE_QMAX << k;
    s->a += u < cap ? u : cap;
    s->n++;
    if (s->n >= RICE_RESET) {
        s->a >>= 1;
        s->n >>= 1;
    }
}

static inline bool escaped(uint64_t u, unsigned k)
{
    return (u >> k) >= BR_RICE_QMAX;
}

/* ------------------------------------------------------ timestamp stream */

static void tpred_init(br_chunk_tpred *tp, int64_t t0)
{
    tp->prev = (uint64_t)t0;
    tp->grid = tp->prev;
    tp->interval = 0;
    rice_init(&tp->rice);
}

/* The nominal interval for a first gap d > 0 (see the format above). */
static uint64_t pick_interval(uint64_t d)
{
    static const uint64_t steps[] = {1000, 100, 10};
    if (d >= (UINT64_C(1) << 62)) {
        return d;
    }
    for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
        uint64_t step = steps[s];
        if (d < step) {
            continue;
        }
        uint64_t round = (d + step / 2) / step * step;
        uint64_t diff = d > round ? d - round : round - d;
        if (diff * 32 <= round) {
            return round;
        }
    }
    return d;
}

static inline void tpred_advance(br_chunk_tpred *tp, uint64_t t, uint64_t pred, int64_t r)
{
    uint64_t mag = r < 0 ? 0 - (uint64_t)r : (uint64_t)r;
    if (mag <= tp->interval / 8) {
        /* A quarter of the residual, rounded away from zero, so a constant
         * offset dies out. |r| <= 2^61 here. */
        int64_t steer = r >= 0 ? (r + 3) / 4 : -((-r + 3) / 4);
        tp->grid = pred + (uint64_t)steer;
    } else {
        tp->grid = t;
    }
    tp->prev = t;
}

/* True when t is exactly the predicted time of sample i >= 2. */
static inline bool tpred_perfect(const br_chunk_tpred *tp, int64_t t)
{
    return (uint64_t)t == tp->grid + tp->interval;
}

/* Writes the timestamp field of sample i >= 1; with w NULL, only advances
 * the predictor (a sample covered by a run bit, tpred_perfect). */
static void tpred_put(br_bitw *w, br_chunk_tpred *tp, int64_t t, uint32_t i)
{
    uint64_t tu = (uint64_t)t;
    if (i == 1) {
        tp->interval = pick_interval(tu - tp->prev);
        br_bitw_uvarint(w, tp->interval);
    }
    uint64_t pred = tp->grid + tp->interval;
    int64_t r = u2i(tu - pred);
    uint64_t u = br_zigzag_enc(r);
    unsigned k = rice_k(&tp->rice);
    if (w != NULL) {
        br_bitw_rice(w, u, k);
    }
    rice_update(&tp->rice, u, k);
    tpred_advance(tp, tu, pred, r);
}

/* Reads the timestamp field of sample i >= 1, or with r NULL takes the
 * prediction itself; -1 on corrupt data. */
static int tpred_get(br_bitr *r, br_chunk_tpred *tp, uint32_t i, int64_t *t, bool *zero)
{
    if (i == 1) {
        uint64_t iv;
        if (!br_bitr_uvarint(r, &iv) || iv == 0) {
            return -1;
        }
        tp->interval = iv;
    }
    uint64_t pred = tp->grid + tp->interval;
    unsigned k = rice_k(&tp->rice);
    uint64_t u = 0;
    if (r != NULL && br_bitr_rice(r, k, &u) != BR_RICE_VALUE) {
        return -1;
    }
    int64_t res = br_zigzag_dec(u);
    uint64_t tu = pred + (uint64_t)res;
    if (u2i(tu) <= u2i(tp->prev)) {
        return -1; /* the encoder only sees increasing timestamps */
    }
    rice_update(&tp->rice, u, k);
    tpred_advance(tp, tu, pred, res);
    *t = u2i(tu);
    *zero = u == 0;
    return 0;
}

/* The timestamp of sample i >= 1 of a regular (treg) stream: sample 1
 * reads the interval, every sample adds it; -1 on corrupt data. */
static int treg_get(br_bitr *r, br_chunk_tpred *tp, uint32_t i, int64_t *t)
{
    if (i == 1) {
        uint64_t iv;
        if (!br_bitr_uvarint(r, &iv) || iv == 0 || iv > (UINT64_C(1) << 62)) {
            return -1;
        }
        tp->interval = iv;
    }
    uint64_t tu = tp->prev + tp->interval;
    if (u2i(tu) <= u2i(tp->prev)) {
        return -1; /* wrapped past INT64_MAX */
    }
    tp->prev = tu;
    *t = u2i(tu);
    return 0;
}

/* ---------------------------------------------------------- value stream */

static void vpred_init(br_chunk_vpred *vp, double v0)
{
    memset(vp, 0, sizeof(*vp));
    vp->prev_bits = dbits(v0);
    vp->prev_int = as_int(v0, &vp->prev_i);
    rice_init(&vp->rice);
    rice_init(&vp->frice);
}

static inline void train(br_chunk_vpred *vp, int64_t delta, bool esc)
{
    if (delta == 0 && vp->last_zero) {
        vp->trend = 0; /* a counter gone idle: predict idle at once */
    } else if (!vp->trend_valid) {
        vp->trend = delta * 8;
        vp->trend_valid = true;
    } else if (!esc) {
        vp->trend += delta - rdiv8(vp->trend);
    } else if (vp->escaped) {
        vp->trend = delta * 8;
    }
    vp->escaped = esc;
    vp->last_zero = delta == 0;
}

static void xor_put(br_bitw *w, br_chunk_vpred *vp, uint64_t bits)
{
    uint64_t x = bits ^ vp->prev_bits;
    if (x == 0) {
        br_bitw_bit(w, 0);
        return;
    }
    unsigned lead = (unsigned)__builtin_clzll(x);
    if (lead > 31) {
        lead = 31;
    }
    unsigned trail = (unsigned)__builtin_ctzll(x);
    unsigned sig = 64 - lead - trail;
    if (vp->sig != 0 && lead >= vp->lead && trail >= 64u - vp->lead - vp->sig &&
        vp->sig <= sig + 11) {
        br_bitw_write(w, 2, 2);
        br_bitw_write(w, x >> (64u - vp->lead - vp->sig), vp->sig);
        return;
    }
    br_bitw_write(w, (UINT64_C(3) << 11) | ((uint64_t)lead << 6) | (sig - 1), 13);
    br_bitw_write(w, x >> trail, sig);
    vp->lead = (uint8_t)lead;
    vp->sig = (uint8_t)sig;
}

static int xor_get(br_bitr *r, br_chunk_vpred *vp, uint64_t *bits)
{
    uint64_t x = 0;
    if (br_bitr_bit(r) != 0) {
        if (br_bitr_bit(r) != 0) {
            unsigned lead = (unsigned)br_bitr_read(r, 5);
            unsigned sig = (unsigned)br_bitr_read(r, 6) + 1;
            if (lead + sig > 64) {
                return -1;
            }
            vp->lead = (uint8_t)lead;
            vp->sig = (uint8_t)sig;
        } else if (vp->sig == 0) {
            return -1;
        }
        x = br_bitr_read(r, vp->sig) << (64u - vp->lead - vp->sig);
    }
    if (r->overrun) {
        return -1;
    }
    *bits = vp->prev_bits ^ x;
    return 0;
}

/* Bit-pattern deltas at least this large (a sign change, a NaN, a jump of
 * many binades) do not train the float trend; it restarts from the next. */
#define FD_TRAIN_MAX (INT64_C(1) << 55)

/* Trains the float-delta trend on d = bits(v) - bits(prev) (as int64), the
 * same way `train` does for integer deltas: an escaped residual is skipped
 * unless the previous one was escaped too. |ftrend| stays <= 2^58. */
static inline void ftrain(br_chunk_vpred *vp, int64_t d, bool esc)
{
    if (d >= FD_TRAIN_MAX || d <= -FD_TRAIN_MAX) {
        vp->ftrend_valid = false;
    } else if (!vp->ftrend_valid) {
        vp->ftrend = d * 8;
        vp->ftrend_valid = true;
    } else if (!esc) {
        vp->ftrend += d - rdiv8(vp->ftrend);
    } else if (vp->fescaped) {
        vp->ftrend = d * 8;
    }
    vp->fescaped = esc;
}

/* Float-delta field: rice(zigzag(d - pred), k_f) with d the difference of
 * the bit patterns modulo 2^64 and pred = ftrend / 8; any d round-trips. */
static void fd_put(br_bitw *w, br_chunk_vpred *vp, uint64_t bits)
{
    uint64_t d = bits - vp->prev_bits;
    uint64_t pred = vp->ftrend_valid ? (uint64_t)rdiv8(vp->ftrend) : 0;
    uint64_t u = br_zigzag_enc(u2i(d - pred));
    unsigned k = rice_k(&vp->frice);
    br_bitw_rice(w, u, k);
    ftrain(vp, u2i(d), escaped(u, k));
    rice_update(&vp->frice, u, k);
}

static int fd_get(br_bitr *r, br_chunk_vpred *vp, uint64_t *bits)
{
    unsigned k = rice_k(&vp->frice);
    uint64_t u;
    if (br_bitr_rice(r, k, &u) != BR_RICE_VALUE) {
        return -1;
    }
    uint64_t pred = vp->ftrend_valid ? (uint64_t)rdiv8(vp->ftrend) : 0;
    uint64_t d = pred + (uint64_t)br_zigzag_dec(u);
    ftrain(vp, u2i(d), escaped(u, k));
    rice_update(&vp->frice, u, k);
    *bits = vp->prev_bits + d;
    return 0;
}

/* True when v is exactly what the predictor expects: a zero integer
 * residual, or the previous bits again in float context. */
static inline bool vpred_perfect(const br_chunk_vpred *vp, double v)
{
    if (!vp->prev_int) {
        return dbits(v) == vp->prev_bits;
    }
    int64_t vi;
    int64_t pred = vp->trend_valid ? rdiv8(vp->trend) : 0;
    return as_int(v, &vi) && vi - vp->prev_i == pred;
}

/* Writes the value field for v and advances the predictor; with w NULL,
 * only advances it (v must satisfy vpred_perfect). */
static void vpred_put(br_bitw *w, br_chunk_vpred *vp, double v)
{
    uint64_t bits = dbits(v);
    int64_t vi = 0;
    bool is_int = as_int(v, &vi);
    if (vp->prev_int) {
        if (is_int) {
            int64_t delta = vi - vp->prev_i;
            int64_t pred = vp->trend_valid ? rdiv8(vp->trend) : 0;
            uint64_t u = br_zigzag_enc(delta - pred);
            unsigned k = rice_k(&vp->rice);
            if (w != NULL) {
                br_bitw_rice(w, u, k);
            }
            train(vp, delta, escaped(u, k));
            rice_update(&vp->rice, u, k);
            vp->prev_i = vi;
            vp->prev_bits = bits;
            return;
        }
        assert(w != NULL);
        br_bitw_rice_special(w);
    }
    if (w != NULL && vp->fd) {
        fd_put(w, vp, bits);
    } else if (w != NULL) {
        xor_put(w, vp, bits);
    }
    vp->prev_bits = bits;
    vp->prev_int = is_int;
    vp->prev_i = vi;
}

/* Reads one value field, or with r NULL takes the prediction itself; -1 on
 * corrupt data. *zero tells whether the value was the prediction (as
 * vpred_perfect would have said). */
static int vpred_get(br_bitr *r, br_chunk_vpred *vp, double *out, bool *zero)
{
    *zero = false;
    if (r == NULL && !vp->prev_int) {
        *out = bitsd(vp->prev_bits);
        *zero = true;
        return 0;
    }
    if (vp->prev_int) {
        unsigned k = rice_k(&vp->rice);
        uint64_t u = 0;
        int rc = r != NULL ? br_bitr_rice(r, k, &u) : BR_RICE_VALUE;
        if (rc == BR_RICE_VALUE) {
            int64_t pred = vp->trend_valid ? rdiv8(vp->trend) : 0;
            uint64_t sum = (uint64_t)vp->prev_i + (uint64_t)pred + (uint64_t)br_zigzag_dec(u);
            int64_t vi = u2i(sum);
            if (vi < -INT_MAXABS || vi > INT_MAXABS) {
                return -1;
            }
            train(vp, vi - vp->prev_i, escaped(u, k));
            rice_update(&vp->rice, u, k);
            vp->prev_i = vi;
            *out = (double)vi;
            vp->prev_bits = dbits(*out);
            *zero = u == 0;
            return 0;
        }
        if (rc != BR_RICE_SPECIAL) {
            return -1;
        }
    }
    uint64_t bits;
    if ((vp->fd ? fd_get(r, vp, &bits) : xor_get(r, vp, &bits)) != 0) {
        return -1;
    }
    *zero = !vp->prev_int && bits == vp->prev_bits;
    *out = bitsd(bits);
    vp->prev_bits = bits;
    vp->prev_i = 0;
    vp->prev_int = as_int(*out, &vp->prev_i);
    return 0;
}

/* ============================================================ float chunk */

typedef struct chunk_app {
    br_bitw w;
    br_chunk_tpred tp;
    br_chunk_vpred vp;
    bool run; /* the last sample was perfectly predicted */
    bool fd;  /* float fields as bit-pattern deltas (merged only) */
} chunk_app;

struct br_chunk {
    br_chunk_summary sum;
    uint8_t *buf;   /* the stream: app->w.buf while open, owned once frozen */
    chunk_app *app; /* appender state; NULL once frozen */
    uint32_t nbits; /* bits in buf (a stream never reaches 2^32 bits) */
    bool treg;      /* regular timestamps: no timestamp fields (merged only) */
    bool fdelta;    /* float fields are bit-pattern deltas (merged only) */
};

br_chunk *br_chunk_new(void)
{
    br_chunk *c = br_calloc(1, sizeof(*c));
    c->sum.min = NAN;
    c->sum.max = NAN;
    c->app = br_calloc(1, sizeof(*c->app));
    br_bitw_init(&c->app->w);
    return c;
}

void br_chunk_free(br_chunk *c)
{
    if (c == NULL) {
        return;
    }
    if (c->app != NULL) {
        br_bitw_free(&c->app->w);
        br_free(c->app);
    } else {
        br_free(c->buf);
    }
    br_free(c);
}

static void summary_add(br_chunk_summary *s, int64_t t, double v)
{
    if (s->count == 0) {
        s->min_t = t;
        s->first = v;
        s->increase = 0.0;
        s->reset_sum = 0.0;
    } else {
        double a = s->last;
        if (v < a) {
            s->resets++;
            s->increase += v;
            s->reset_sum += a;
        } else {
            s->increase += v - a;
        }
    }
    s->last = v;
    s->max_t = t;
    s->count++;
    if (isnan(v)) {
        s->has_nan = true;
        if (br_is_stale_nan(v)) {
            s->has_stale = true;
        }
        return;
    }
    if (isnan(s->min) || v < s->min) {
        s->min = v;
    }
    if (isnan(s->max) || v > s->max) {
        s->max = v;
    }
}

/* Encodes sample i of a stream. With treg (merged chunks whose gaps are all
 * equal) sample 1 writes only the interval and no timestamp field follows
 * for any sample; "perfect" then depends on the value alone. */
static void app_put(chunk_app *a, bool treg, uint32_t i, int64_t t, double v)
{
    if (i == 0) {
        tpred_init(&a->tp, t);
        vpred_init(&a->vp, v);
        a->vp.fd = a->fd;
        return;
    }
    if (treg) {
        if (i == 1) {
            a->tp.interval = (uint64_t)t - a->tp.prev;
            br_bitw_uvarint(&a->w, a->tp.interval);
        }
        a->tp.prev = (uint64_t)t;
        bool perfect = i >= 2 && vpred_perfect(&a->vp, v);
        if (a->run) {
            br_bitw_bit(&a->w, perfect ? 0 : 1);
        }
        vpred_put(a->run && perfect ? NULL : &a->w, &a->vp, v);
        a->run = perfect;
        return;
    }
    bool perfect = i >= 2 && tpred_perfect(&a->tp, t) && vpred_perfect(&a->vp, v);
    if (a->run) {
        br_bitw_bit(&a->w, perfect ? 0 : 1);
    }
    br_bitw *w = a->run && perfect ? NULL : &a->w;
    tpred_put(w, &a->tp, t, i);
    vpred_put(w, &a->vp, v);
    a->run = perfect;
}

int br_chunk_append(br_chunk *c, int64_t t, double v, br_err *err)
{
    if (c->app == NULL) {
        return br_err_set(err, BR_EINVAL, "chunk: append to a frozen chunk");
    }
    uint32_t i = c->sum.count;
    if (i >= BR_CHUNK_HARD_LIMIT) {
        return br_err_set(err, BR_ELIMIT, "chunk: more than %d samples", BR_CHUNK_HARD_LIMIT);
    }
    if (i > 0 && t <= c->sum.max_t) {
        return br_err_set(err, BR_EOUTOFORDER,
                          "chunk: timestamp %lld is not after the last one (%lld)", (long long)t,
                          (long long)c->sum.max_t);
    }
    chunk_app *a = c->app;
    app_put(a, false, i, t, v);
    summary_add(&c->sum, t, v);
    c->buf = a->w.buf;
    c->nbits = (uint32_t)a->w.nbits;
    return 0;
}

bool br_chunk_full(const br_chunk *c)
{
    return c->sum.count >= BR_CHUNK_MAX_SAMPLES || br_chunk_data_len(c) >= BR_CHUNK_MAX_BYTES;
}

void br_chunk_freeze(br_chunk *c)
{
    if (c->app == NULL) {
        return;
    }
    br_bitw_shrink(&c->app->w);
    c->buf = c->app->w.buf;
    c->nbits = (uint32_t)c->app->w.nbits;
    br_free(c->app);
    c->app = NULL;
}

bool br_chunk_frozen(const br_chunk *c)
{
    return c->app == NULL;
}

void br_chunk_prefetch_append(const br_chunk *c)
{
    if (c->app != NULL) {
        __builtin_prefetch(c->app, 1, 3);
        if (c->buf != NULL) {
            __builtin_prefetch(c->buf + c->nbits / 8, 1, 3);
        }
    }
}

/* One frozen chunk holding smp[0..ns), with regular timestamps (treg) or
 * not, and float fields as XOR or bit-pattern deltas (fd). */
static br_chunk *merge_encode(const br_sample *smp, size_t ns, bool treg, bool fd)
{
    br_chunk *c = br_chunk_new();
    c->treg = treg;
    c->fdelta = fd;
    chunk_app *a = c->app;
    a->fd = fd;
    for (size_t k = 0; k < ns; k++) {
        app_put(a, treg, (uint32_t)k, smp[k].t, smp[k].v);
        summary_add(&c->sum, smp[k].t, smp[k].v);
    }
    c->buf = a->w.buf;
    c->nbits = (uint32_t)a->w.nbits;
    br_chunk_freeze(c);
    return c;
}

int br_chunk_merge(br_chunk *const *in, size_t n, br_chunk **out, br_err *err)
{
    *out = NULL;
    uint64_t total = 0;
    for (size_t j = 0; j < n; j++) {
        if (in[j]->app != NULL) {
            return br_err_set(err, BR_EINVAL, "chunk merge: input %zu is not frozen", j);
        }
        if (in[j]->sum.count == 0) {
            return br_err_set(err, BR_EINVAL, "chunk merge: input %zu is empty", j);
        }
        if (j > 0 && in[j]->sum.min_t <= in[j - 1]->sum.max_t) {
            return br_err_set(err, BR_EOUTOFORDER,
                              "chunk merge: input %zu starts at %lld, not after %lld", j,
                              (long long)in[j]->sum.min_t, (long long)in[j - 1]->sum.max_t);
        }
        total += in[j]->sum.count;
    }
    if (total == 0 || total > BR_CHUNK_HARD_LIMIT) {
        return br_err_set(err, BR_ELIMIT, "chunk merge: %llu samples (1 to %d allowed)",
                          (unsigned long long)total, BR_CHUNK_HARD_LIMIT);
    }
    /* Decode everything once, then see whether all gaps are equal (a
     * regular stream drops the timestamp fields) and encode. */
    br_sample *smp = br_malloc((size_t)total * sizeof(*smp));
    size_t ns = 0;
    for (size_t j = 0; j < n; j++) {
        br_chunk_iter it;
        br_chunk_iter_init(&it, in[j]);
        while (ns < total && br_chunk_iter_next(&it)) {
            smp[ns].t = it.t;
            smp[ns].v = it.v;
            ns++;
        }
        if (it.err != 0) {
            br_free(smp);
            return br_err_set(err, BR_ECORRUPT, "chunk merge: input %zu does not decode", j);
        }
    }
    assert(ns == total);
    bool any_float = false;
    for (size_t k = 0; k < ns && !any_float; k++) {
        int64_t vi;
        any_float = !as_int(smp[k].v, &vi);
    }
    bool treg = ns >= 2;
    uint64_t gap = ns >= 2 ? (uint64_t)smp[1].t - (uint64_t)smp[0].t : 0;
    for (size_t k = 1; k < ns && treg; k++) {
        treg = (uint64_t)smp[k].t - (uint64_t)smp[k - 1].t == gap;
    }
    if (gap > (UINT64_C(1) << 62)) {
        treg = false;
    }
    br_chunk *c = merge_encode(smp, ns, treg, false);
    if (any_float) {
        br_chunk *f = merge_encode(smp, ns, treg, true);
        if (f->nbits < c->nbits) {
            br_chunk_free(c);
            c = f;
        } else {
            br_chunk_free(f);
        }
    }
    br_free(smp);
    *out = c;
    return 0;
}

const br_chunk_summary *br_chunk_get_summary(const br_chunk *c)
{
    return &c->sum;
}

size_t br_chunk_data_len(const br_chunk *c)
{
    return (size_t)((c->nbits + 7) / 8);
}

size_t br_chunk_bytes(const br_chunk *c)
{
    size_t n = sizeof(*c);
    if (c->app != NULL) {
        n += sizeof(*c->app) + c->app->w.cap;
    } else {
        n += br_chunk_data_len(c);
    }
    return n;
}

void br_chunk_iter_init(br_chunk_iter *it, const br_chunk *c)
{
    memset(it, 0, sizeof(*it));
    it->c = c;
    it->n = c->sum.count;
    br_bitr_init(&it->r, c->buf, c->nbits);
}

bool br_chunk_iter_next(br_chunk_iter *it)
{
    if (it->err != 0 || it->i >= it->n) {
        return false;
    }
    if (it->i == 0) {
        it->t = it->c->sum.min_t;
        it->v = it->c->sum.first;
        tpred_init(&it->tp, it->t);
        vpred_init(&it->vp, it->v);
        it->vp.fd = it->c->fdelta;
    } else {
        bool silent = it->run && br_bitr_bit(&it->r) == 0;
        br_bitr *r = silent ? NULL : &it->r;
        int64_t t;
        double v;
        bool tz = true, vz;
        int trc = it->c->treg ? treg_get(&it->r, &it->tp, it->i, &t)
                              : tpred_get(r, &it->tp, it->i, &t, &tz);
        if (it->r.overrun || trc != 0 || vpred_get(r, &it->vp, &v, &vz) != 0) {
            it->err = BR_ECORRUPT;
            return false;
        }
        it->run = it->i >= 2 && tz && vz;
        it->t = t;
        it->v = v;
    }
    it->i++;
    return true;
}

bool br_chunk_iter_seek(br_chunk_iter *it, int64_t t)
{
    if (it->err != 0) {
        return false;
    }
    bool forward = it->i > 0 && it->t < t;
    if (!forward) {
        if (it->i == 1 && it->t >= t) {
            return true; /* already at the first sample */
        }
        br_chunk_iter_init(it, it->c);
    }
    while (br_chunk_iter_next(it)) {
        if (it->t >= t) {
            return true;
        }
    }
    return false;
}

int br_chunk_iter_err(const br_chunk_iter *it)
{
    return it->err;
}

/* ======================================================== histogram chunk */

/* Absolute bucket indexes of a span list (nb buckets); new array or NULL. */
static int64_t *abs_indexes(const br_span *s, uint32_t ns, uint32_t nb)
{
    if (nb == 0) {
        return NULL;
    }
    int64_t *out = br_malloc((size_t)nb * sizeof(*out));
    int64_t idx = 0;
    uint32_t k = 0;
    for (uint32_t j = 0; j < ns; j++) {
        idx += s[j].offset;
        for (uint32_t l = 0; l < s[j].length; l++) {
            out[k++] = idx++;
        }
    }
    assert(k == nb);
    return out;
}

/* Predictors for a new span list, carried over by absolute index from the
 * old one; buckets without a predecessor start from 0.0. New array. */
static br_chunk_vpred *remap(const br_span *os, uint32_t nos, uint32_t onb,
                             const br_chunk_vpred *ovp, const br_span *ns, uint32_t nns,
                             uint32_t nnb)
{
    if (nnb == 0) {
        return NULL;
    }
    br_chunk_vpred *out = br_malloc((size_t)nnb * sizeof(*out));
    int64_t *oi = abs_indexes(os, nos, onb);
    int64_t *ni = abs_indexes(ns, nns, nnb);
    uint32_t o = 0;
    for (uint32_t j = 0; j < nnb; j++) {
        while (o < onb && oi[o] < ni[j]) {
            o++;
        }
        if (o < onb && oi[o] == ni[j]) {
            out[j] = ovp[o];
        } else {
            vpred_init(&out[j], 0.0);
        }
    }
    br_free(oi);
    br_free(ni);
    return out;
}

static void hstate_init(br_hchunk_state *st)
{
    memset(st, 0, sizeof(*st));
    vpred_init(&st->count, 0.0);
    vpred_init(&st->zero, 0.0);
    vpred_init(&st->sum, 0.0);
}

static void hstate_free(br_hchunk_state *st)
{
    br_free(st->pos_spans);
    br_free(st->neg_spans);
    br_free(st->custom);
    br_free(st->pos);
    br_free(st->neg);
    br_free(st->pos_out);
    br_free(st->neg_out);
    memset(st, 0, sizeof(*st));
}

/* A new layout for st. Takes ownership of ps, ns and cv (exact sizes). */
typedef struct hlayout {
    int32_t schema;
    bool is_float;
    uint8_t reset_hint;
    double zero_threshold;
    br_span *ps, *ns;
    double *cv;
    uint32_t nps, nns, ncv, npos, nneg;
} hlayout;

static void hstate_install(br_hchunk_state *st, hlayout *l)
{
    br_chunk_vpred *pos =
        remap(st->pos_spans, st->n_pos_spans, st->n_pos, st->pos, l->ps, l->nps, l->npos);
    br_chunk_vpred *neg =
        remap(st->neg_spans, st->n_neg_spans, st->n_neg, st->neg, l->ns, l->nns, l->nneg);
    br_free(st->pos);
    br_free(st->neg);
    br_free(st->pos_spans);
    br_free(st->neg_spans);
    br_free(st->custom);
    st->pos = pos;
    st->neg = neg;
    st->schema = l->schema;
    st->is_float = l->is_float;
    st->reset_hint = l->reset_hint;
    st->zero_threshold = l->zero_threshold;
    st->pos_spans = l->ps;
    st->neg_spans = l->ns;
    st->custom = l->cv;
    st->n_pos_spans = l->nps;
    st->n_neg_spans = l->nns;
    st->n_custom = l->ncv;
    st->n_pos = l->npos;
    st->n_neg = l->nneg;
}

static bool spans_equal(const br_span *a, const br_span *b, uint32_t n)
{
    for (uint32_t j = 0; j < n; j++) {
        if (a[j].offset != b[j].offset || a[j].length != b[j].length) {
            return false;
        }
    }
    return true;
}

static bool layout_equal(const br_hchunk_state *st, const br_histogram *h)
{
    if (st->schema != h->schema || st->is_float != h->is_float || st->reset_hint != h->reset_hint ||
        dbits(st->zero_threshold) != dbits(h->zero_threshold) ||
        st->n_pos_spans != h->n_pos_spans || st->n_neg_spans != h->n_neg_spans ||
        st->n_custom != h->n_custom) {
        return false;
    }
    if (!spans_equal(st->pos_spans, h->pos_spans, h->n_pos_spans) ||
        !spans_equal(st->neg_spans, h->neg_spans, h->n_neg_spans)) {
        return false;
    }
    for (uint32_t j = 0; j < h->n_custom; j++) {
        if (dbits(st->custom[j]) != dbits(h->custom_values[j])) {
            return false;
        }
    }
    return true;
}

static void *dup_array(const void *p, size_t n, size_t size)
{
    if (n == 0) {
        return NULL;
    }
    void *out = br_malloc(n * size);
    memcpy(out, p, n * size);
    return out;
}

static void put_spans(br_bitw *w, const br_span *s, uint32_t n)
{
    br_bitw_uvarint(w, n);
    for (uint32_t j = 0; j < n; j++) {
        br_bitw_uvarint(w, br_zigzag_enc(s[j].offset));
        br_bitw_uvarint(w, s[j].length);
    }
}

static void put_layout(br_bitw *w, const br_histogram *h)
{
    br_bitw_uvarint(w, br_zigzag_enc(h->schema));
    br_bitw_bit(w, h->is_float ? 1 : 0);
    br_bitw_write(w, h->reset_hint, 2);
    br_bitw_write(w, dbits(h->zero_threshold), 64);
    put_spans(w, h->pos_spans, h->n_pos_spans);
    put_spans(w, h->neg_spans, h->n_neg_spans);
    br_bitw_uvarint(w, h->n_custom);
    for (uint32_t j = 0; j < h->n_custom; j++) {
        br_bitw_write(w, dbits(h->custom_values[j]), 64);
    }
}

/* Reads a span list into a new array; -1 on corrupt data or a limit. */
static int get_spans(br_bitr *r, br_span **out, uint32_t *n_out, uint32_t *nb_out)
{
    uint64_t n;
    *out = NULL;
    if (!br_bitr_uvarint(r, &n) || n > BR_HCHUNK_MAX_SPANS) {
        return -1;
    }
    br_span *s = n > 0 ? br_malloc((size_t)n * sizeof(*s)) : NULL;
    uint64_t nb = 0;
    for (uint64_t j = 0; j < n; j++) {
        uint64_t off, len;
        if (!br_bitr_uvarint(r, &off) || !br_bitr_uvarint(r, &len)) {
            br_free(s);
            return -1;
        }
        int64_t o = br_zigzag_dec(off);
        if (len > BR_HCHUNK_MAX_BUCKETS) {
            br_free(s);
            return -1;
        }
        nb += len;
        if (o < INT32_MIN || o > INT32_MAX || nb > BR_HCHUNK_MAX_BUCKETS) {
            br_free(s);
            return -1;
        }
        s[j].offset = (int32_t)o;
        s[j].length = (uint32_t)len;
    }
    *out = s;
    *n_out = (uint32_t)n;
    *nb_out = (uint32_t)nb;
    return 0;
}

static int get_layout(br_bitr *r, hlayout *l)
{
    memset(l, 0, sizeof(*l));
    uint64_t schema, ncv;
    if (!br_bitr_uvarint(r, &schema)) {
        return -1;
    }
    int64_t sc = br_zigzag_dec(schema);
    if (sc < INT32_MIN || sc > INT32_MAX) {
        return -1;
    }
    l->schema = (int32_t)sc;
    l->is_float = br_bitr_bit(r) != 0;
    l->reset_hint = (uint8_t)br_bitr_read(r, 2);
    l->zero_threshold = bitsd(br_bitr_read(r, 64));
    if (get_spans(r, &l->ps, &l->nps, &l->npos) != 0 ||
        get_spans(r, &l->ns, &l->nns, &l->nneg) != 0 || !br_bitr_uvarint(r, &ncv) ||
        ncv > BR_HCHUNK_MAX_CUSTOM) {
        goto fail;
    }
    l->ncv = (uint32_t)ncv;
    if (ncv > 0) {
        l->cv = br_malloc((size_t)ncv * sizeof(double));
        for (uint64_t j = 0; j < ncv; j++) {
            l->cv[j] = bitsd(br_bitr_read(r, 64));
        }
    }
    if (r->overrun) {
        goto fail;
    }
    return 0;
fail:
    br_free(l->ps);
    br_free(l->ns);
    br_free(l->cv);
    memset(l, 0, sizeof(*l));
    return -1;
}

/* True when every value of h is what its predictor expects (same layout). */
static bool hperfect(const br_hchunk_state *st, const br_histogram *h)
{
    if (!vpred_perfect(&st->count, h->count) || !vpred_perfect(&st->zero, h->zero_count) ||
        !vpred_perfect(&st->sum, h->sum)) {
        return false;
    }
    for (uint32_t j = 0; j < h->n_pos; j++) {
        if (!vpred_perfect(&st->pos[j], h->pos_buckets[j])) {
            return false;
        }
    }
    for (uint32_t j = 0; j < h->n_neg; j++) {
        if (!vpred_perfect(&st->neg[j], h->neg_buckets[j])) {
            return false;
        }
    }
    return true;
}

typedef struct hchunk_app {
    br_bitw w;
    br_hchunk_state st;
} hchunk_app;

struct br_hchunk {
    br_hchunk_summary sum;
    uint8_t *buf;
    uint64_t nbits;
    hchunk_app *app; /* NULL once frozen */
};

br_hchunk *br_hchunk_new(void)
{
    br_hchunk *c = br_calloc(1, sizeof(*c));
    c->app = br_calloc(1, sizeof(*c->app));
    br_bitw_init(&c->app->w);
    hstate_init(&c->app->st);
    return c;
}

void br_hchunk_free(br_hchunk *c)
{
    if (c == NULL) {
        return;
    }
    if (c->app != NULL) {
        br_bitw_free(&c->app->w);
        hstate_free(&c->app->st);
        br_free(c->app);
    } else {
        br_free(c->buf);
    }
    br_free(c);
}

/* Checks one side's spans against its bucket count. */
static int check_side(const char *side, const br_span *s, uint32_t ns, const double *b, uint32_t nb,
                      br_err *err)
{
    if (ns > BR_HCHUNK_MAX_SPANS) {
        return br_err_set(err, BR_ELIMIT, "histogram chunk: %u %s spans (limit %d)", ns, side,
                          BR_HCHUNK_MAX_SPANS);
    }
    if (nb > BR_HCHUNK_MAX_BUCKETS) {
        return br_err_set(err, BR_ELIMIT, "histogram chunk: %u %s buckets (limit %d)", nb, side,
                          BR_HCHUNK_MAX_BUCKETS);
    }
    if ((ns > 0 && s == NULL) || (nb > 0 && b == NULL)) {
        return br_err_set(err, BR_EINVAL, "histogram chunk: %s spans or buckets missing", side);
    }
    uint64_t total = 0;
    for (uint32_t j = 0; j < ns; j++) {
        total += s[j].length;
    }
    if (total != nb) {
        return br_err_set(err, BR_EINVAL,
                          "histogram chunk: %s spans cover %llu buckets but %u counts are given",
                          side, (unsigned long long)total, nb);
    }
    return 0;
}

int br_hchunk_append(br_hchunk *c, int64_t t, const br_histogram *h, br_err *err)
{
    if (c->app == NULL) {
        return br_err_set(err, BR_EINVAL, "histogram chunk: append to a frozen chunk");
    }
    uint32_t i = c->sum.count;
    if (i >= BR_CHUNK_HARD_LIMIT) {
        return br_err_set(err, BR_ELIMIT, "histogram chunk: more than %d samples",
                          BR_CHUNK_HARD_LIMIT);
    }
    if (i > 0 && t <= c->sum.max_t) {
        return br_err_set(err, BR_EOUTOFORDER,
                          "histogram chunk: timestamp %lld is not after the last one (%lld)",
                          (long long)t, (long long)c->sum.max_t);
    }
    if (h->reset_hint > BR_HIST_RESET_GAUGE) {
        return br_err_set(err, BR_EINVAL, "histogram chunk: unknown reset hint %u",
                          (unsigned)h->reset_hint);
    }
    if (h->n_custom > BR_HCHUNK_MAX_CUSTOM) {
        return br_err_set(err, BR_ELIMIT, "histogram chunk: %u custom bounds (limit %d)",
                          h->n_custom, BR_HCHUNK_MAX_CUSTOM);
    }
    if (h->n_custom > 0 && h->custom_values == NULL) {
        return br_err_set(err, BR_EINVAL, "histogram chunk: custom bounds missing");
    }
    int rc = check_side("positive", h->pos_spans, h->n_pos_spans, h->pos_buckets, h->n_pos, err);
    if (rc == 0) {
        rc = check_side("negative", h->neg_spans, h->n_neg_spans, h->neg_buckets, h->n_neg, err);
    }
    if (rc != 0) {
        return rc;
    }

    hchunk_app *a = c->app;
    br_hchunk_state *st = &a->st;
    bool changed = i == 0 || !layout_equal(st, h);
    bool perfect = i >= 2 && !changed && tpred_perfect(&st->tp, t) && hperfect(st, h);
    if (st->run) {
        br_bitw_bit(&a->w, perfect ? 0 : 1);
    }
    br_bitw *w = st->run && perfect ? NULL : &a->w;
    st->run = perfect;
    if (i == 0) {
        tpred_init(&st->tp, t);
    } else {
        tpred_put(w, &st->tp, t, i);
    }
    if (w != NULL) {
        br_bitw_bit(w, changed ? 1 : 0);
    }
    if (changed) {
        put_layout(&a->w, h);
        hlayout l = {
            .schema = h->schema,
            .is_float = h->is_float,
            .reset_hint = h->reset_hint,
            .zero_threshold = h->zero_threshold,
            .ps = dup_array(h->pos_spans, h->n_pos_spans, sizeof(br_span)),
            .ns = dup_array(h->neg_spans, h->n_neg_spans, sizeof(br_span)),
            .cv = dup_array(h->custom_values, h->n_custom, sizeof(double)),
            .nps = h->n_pos_spans,
            .nns = h->n_neg_spans,
            .ncv = h->n_custom,
            .npos = h->n_pos,
            .nneg = h->n_neg,
        };
        hstate_install(st, &l);
        c->sum.layouts++;
    }
    vpred_put(w, &st->count, h->count);
    vpred_put(w, &st->zero, h->zero_count);
    vpred_put(w, &st->sum, h->sum);
    for (uint32_t j = 0; j < h->n_pos; j++) {
        vpred_put(w, &st->pos[j], h->pos_buckets[j]);
    }
    for (uint32_t j = 0; j < h->n_neg; j++) {
        vpred_put(w, &st->neg[j], h->neg_buckets[j]);
    }

    if (i == 0) {
        c->sum.min_t = t;
    }
    c->sum.max_t = t;
    c->sum.count++;
    if (br_is_stale_nan(h->sum)) {
        c->sum.has_stale = true;
    }
    c->buf = a->w.buf;
    c->nbits = a->w.nbits;
    return 0;
}

bool br_hchunk_full(const br_hchunk *c)
{
    return c->sum.count >= BR_HCHUNK_MAX_SAMPLES || br_hchunk_data_len(c) >= BR_HCHUNK_MAX_BYTES;
}

void br_hchunk_freeze(br_hchunk *c)
{
    if (c->app == NULL) {
        return;
    }
    br_bitw_shrink(&c->app->w);
    c->buf = c->app->w.buf;
    c->nbits = c->app->w.nbits;
    hstate_free(&c->app->st);
    br_free(c->app);
    c->app = NULL;
}

bool br_hchunk_frozen(const br_hchunk *c)
{
    return c->app == NULL;
}

const br_hchunk_summary *br_hchunk_get_summary(const br_hchunk *c)
{
    return &c->sum;
}

size_t br_hchunk_data_len(const br_hchunk *c)
{
    return (size_t)((c->nbits + 7) / 8);
}

size_t br_hchunk_bytes(const br_hchunk *c)
{
    size_t n = sizeof(*c);
    if (c->app == NULL) {
        return n + br_hchunk_data_len(c);
    }
    const br_hchunk_state *st = &c->app->st;
    n += sizeof(*c->app) + c->app->w.cap;
    n += (size_t)(st->n_pos_spans + st->n_neg_spans) * sizeof(br_span);
    n += (size_t)st->n_custom * sizeof(double);
    n += (size_t)(st->n_pos + st->n_neg) * sizeof(br_chunk_vpred);
    return n;
}

void br_hchunk_iter_init(br_hchunk_iter *it, const br_hchunk *c)
{
    memset(it, 0, sizeof(*it));
    it->c = c;
    it->n = c->sum.count;
    br_bitr_init(&it->r, c->buf, c->nbits);
    hstate_init(&it->st);
}

void br_hchunk_iter_free(br_hchunk_iter *it)
{
    hstate_free(&it->st);
}

static double *grow_out(double *p, uint32_t *cap, uint32_t n)
{
    if (n > *cap) {
        p = br_realloc(p, (size_t)n * sizeof(double));
        *cap = n;
    }
    return p;
}

/* Decodes the next sample into it; *changed tells whether it carried a
 * layout. -1 on corrupt data. */
static int hdecode(br_hchunk_iter *it, bool *changed_out)
{
    br_hchunk_state *st = &it->st;
    *changed_out = false;
    bool silent = st->run && br_bitr_bit(&it->r) == 0;
    br_bitr *r = silent ? NULL : &it->r;
    bool tz = false, z;
    if (it->r.overrun) {
        return -1;
    }
    if (it->i == 0) {
        it->t = it->c->sum.min_t;
        tpred_init(&st->tp, it->t);
    } else if (tpred_get(r, &st->tp, it->i, &it->t, &tz) != 0) {
        return -1;
    }
    unsigned changed = r != NULL ? br_bitr_bit(r) : 0;
    if (it->r.overrun || (it->i == 0 && changed == 0)) {
        return -1;
    }
    if (changed) {
        hlayout l;
        if (get_layout(r, &l) != 0) {
            return -1;
        }
        hstate_install(st, &l);
        *changed_out = true;
        st->pos_out = grow_out(st->pos_out, &st->cap_pos_out, st->n_pos);
        st->neg_out = grow_out(st->neg_out, &st->cap_neg_out, st->n_neg);
    }
    br_histogram *h = &it->h;
    bool all = it->i >= 2 && tz && !changed;
    if (vpred_get(r, &st->count, &h->count, &z) != 0) {
        return -1;
    }
    all = all && z;
    if (vpred_get(r, &st->zero, &h->zero_count, &z) != 0) {
        return -1;
    }
    all = all && z;
    if (vpred_get(r, &st->sum, &h->sum, &z) != 0) {
        return -1;
    }
    all = all && z;
    for (uint32_t j = 0; j < st->n_pos; j++) {
        if (vpred_get(r, &st->pos[j], &st->pos_out[j], &z) != 0) {
            return -1;
        }
        all = all && z;
    }
    for (uint32_t j = 0; j < st->n_neg; j++) {
        if (vpred_get(r, &st->neg[j], &st->neg_out[j], &z) != 0) {
            return -1;
        }
        all = all && z;
    }
    st->run = all;
    h->schema = st->schema;
    h->is_float = st->is_float;
    h->reset_hint = st->reset_hint;
    h->zero_threshold = st->zero_threshold;
    h->n_pos_spans = st->n_pos_spans;
    h->n_neg_spans = st->n_neg_spans;
    h->n_pos = st->n_pos;
    h->n_neg = st->n_neg;
    h->n_custom = st->n_custom;
    h->pos_spans = st->pos_spans;
    h->neg_spans = st->neg_spans;
    h->pos_buckets = st->pos_out;
    h->neg_buckets = st->neg_out;
    h->custom_values = st->custom;
    return 0;
}

/* br_hchunk_iter_next, also telling whether the sample carried a layout. */
static bool hnext(br_hchunk_iter *it, bool *changed)
{
    *changed = false;
    if (it->err != 0 || it->i >= it->n) {
        return false;
    }
    if (hdecode(it, changed) != 0) {
        it->err = BR_ECORRUPT;
        memset(&it->h, 0, sizeof(it->h));
        return false;
    }
    it->i++;
    return true;
}

bool br_hchunk_iter_next(br_hchunk_iter *it)
{
    bool changed;
    return hnext(it, &changed);
}

bool br_hchunk_iter_seek(br_hchunk_iter *it, int64_t t)
{
    if (it->err != 0) {
        return false;
    }
    bool forward = it->i > 0 && it->t < t;
    if (!forward) {
        if (it->i == 1 && it->t >= t) {
            return true;
        }
        const br_hchunk *c = it->c;
        br_hchunk_iter_free(it);
        br_hchunk_iter_init(it, c);
    }
    while (br_hchunk_iter_next(it)) {
        if (it->t >= t) {
            return true;
        }
    }
    return false;
}

int br_hchunk_iter_err(const br_hchunk_iter *it)
{
    return it->err;
}

/* ========================================================= serialization */

#define SER_VERSION   3
#define SER_COMMON    36 /* bytes of header both kinds share */
#define SER_FLOAT_HDR 84
#define SER_OPEN      0x01u
#define SER_F_HAS_NAN 0x02u
#define SER_F_STALE   0x04u
#define SER_F_TREG    0x08u /* version 2: regular timestamps (frozen only) */
#define SER_F_FDELTA  0x10u /* version 3: float fields as bit-pattern deltas (frozen only) */
#define SER_H_STALE   0x02u

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned j = 0; j < n; j++) {
        p[j] = (uint8_t)(v >> (8 * j));
    }
}

static uint64_t get_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned j = 0; j < n; j++) {
        v |= (uint64_t)p[j] << (8 * j);
    }
    return v;
}

/* The header fields both record kinds share. */
typedef struct ser_head {
    unsigned flags;
    uint32_t count;
    uint32_t aux; /* resets or layouts */
    uint64_t nbits;
    int64_t min_t;
    int64_t max_t;
    size_t data_len; /* stream bytes */
} ser_head;

static void ser_put_head(uint8_t *p, uint8_t kind, const ser_head *h)
{
    p[0] = kind;
    p[1] = SER_VERSION;
    p[2] = (uint8_t)h->flags;
    p[3] = 0;
    put_le(p + 4, h->count, 4);
    put_le(p + 8, h->aux, 4);
    put_le(p + 12, h->nbits, 8);
    put_le(p + 20, (uint64_t)h->min_t, 8);
    put_le(p + 28, (uint64_t)h->max_t, 8);
}

/* Reads and checks the shared header of a record with `hdr` header bytes,
 * including that the stream fits in len and that its pad bits are 0. */
static int ser_get_head(const uint8_t *p, size_t len, uint8_t kind, unsigned flag_mask, size_t hdr,
                        const char *what, ser_head *h, br_err *err)
{
    if (len < hdr) {
        return br_err_set(err, BR_ECORRUPT, "%s record: %zu bytes, the header needs %zu", what, len,
                          hdr);
    }
    if (p[0] != kind) {
        return br_err_set(err, BR_ECORRUPT, "%s record: kind byte 0x%02x, expected 0x%02x", what,
                          p[0], kind);
    }
    if (p[1] < 1 || p[1] > SER_VERSION) {
        return br_err_set(err, BR_ECORRUPT,
                          "%s record: unsupported version %u (this build reads 1 to %d)", what, p[1],
                          SER_VERSION);
    }
    if ((p[2] & ~flag_mask) != 0 || p[3] != 0) {
        return br_err_set(err, BR_ECORRUPT, "%s record: unknown flags 0x%02x%02x", what, p[3],
                          p[2]);
    }
    h->flags = p[2];
    h->count = (uint32_t)get_le(p + 4, 4);
    h->aux = (uint32_t)get_le(p + 8, 4);
    h->nbits = get_le(p + 12, 8);
    h->min_t = u2i(get_le(p + 20, 8));
    h->max_t = u2i(get_le(p + 28, 8));
    if (h->count > BR_CHUNK_HARD_LIMIT) {
        return br_err_set(err, BR_ECORRUPT, "%s record: %u samples (limit %d)", what, h->count,
                          BR_CHUNK_HARD_LIMIT);
    }
    uint64_t bytes = h->nbits / 8 + ((h->nbits & 7) != 0);
    if (bytes > (uint64_t)(len - hdr)) {
        return br_err_set(err, BR_ECORRUPT,
                          "%s record: stream of %llu bits but only %zu bytes follow the header",
                          what, (unsigned long long)h->nbits, len - hdr);
    }
    h->data_len = (size_t)bytes;
    unsigned tail = (unsigned)(h->nbits & 7);
    if (tail != 0 && (p[hdr + h->data_len - 1] & (0xffu >> tail)) != 0) {
        return br_err_set(err, BR_ECORRUPT, "%s record: pad bits after the stream are not 0", what);
    }
    return 0;
}

/* Copies the stream out of a record; NULL when it is empty. */
static uint8_t *ser_copy_stream(const uint8_t *p, size_t n)
{
    if (n == 0) {
        return NULL;
    }
    uint8_t *buf = br_malloc(n);
    memcpy(buf, p, n);
    return buf;
}

static int ser_append(br_buf *out, const uint8_t *hdr, size_t hdr_len, const uint8_t *data,
                      size_t data_len, const char *what, br_err *err)
{
    if (data_len > SIZE_MAX - hdr_len || br_buf_reserve(out, hdr_len + data_len) != 0) {
        return br_err_set(err, BR_ELIMIT,
                          "%s record: %zu + %zu bytes exceed the output buffer's limit", what,
                          hdr_len, data_len);
    }
    /* Cannot fail after the reserve. */
    (void)br_buf_append(out, hdr, hdr_len);
    if (data_len > 0) {
        (void)br_buf_append(out, data, data_len);
    }
    return 0;
}

/* -------------------------------------------------------------- float */

int br_chunk_serialize(const br_chunk *c, br_buf *out, br_err *err)
{
    const br_chunk_summary *s = &c->sum;
    ser_head h = {
        .flags = (c->app != NULL ? SER_OPEN : 0) | (s->has_nan ? SER_F_HAS_NAN : 0) |
                 (s->has_stale ? SER_F_STALE : 0) | (c->treg ? SER_F_TREG : 0) |
                 (c->fdelta ? SER_F_FDELTA : 0),
        .count = s->count,
        .aux = s->resets,
        .nbits = c->nbits,
        .min_t = s->min_t,
        .max_t = s->max_t,
    };
    uint8_t hdr[SER_FLOAT_HDR];
    ser_put_head(hdr, BR_CHUNK_SER_FLOAT, &h);
    const double d[6] = {s->first, s->last, s->min, s->max, s->increase, s->reset_sum};
    for (size_t j = 0; j < 6; j++) {
        put_le(hdr + SER_COMMON + 8 * j, dbits(d[j]), 8);
    }
    return ser_append(out, hdr, sizeof(hdr), c->buf, br_chunk_data_len(c), "chunk", err);
}

/* Bit-equal, or (when nan_ok) both NaN with any payload. */
static bool same_double(double a, double b, bool nan_ok)
{
    return dbits(a) == dbits(b) || (nan_ok && isnan(a) && isnan(b));
}

/* Name of the first field where the stored summary a disagrees with the
 * recomputed b, or NULL. */
static const char *summary_diff(const br_chunk_summary *a, const br_chunk_summary *b)
{
    if (a->count != b->count) {
        return "count";
    }
    if (a->min_t != b->min_t) {
        return "min_t";
    }
    if (a->max_t != b->max_t) {
        return "max_t";
    }
    if (a->resets != b->resets) {
        return "resets";
    }
    if (!same_double(a->first, b->first, false)) {
        return "first";
    }
    if (!same_double(a->last, b->last, false)) {
        return "last";
    }
    if (!same_double(a->min, b->min, true)) {
        return "min";
    }
    if (!same_double(a->max, b->max, true)) {
        return "max";
    }
    if (!same_double(a->increase, b->increase, true)) {
        return "increase";
    }
    if (!same_double(a->reset_sum, b->reset_sum, true)) {
        return "reset_sum";
    }
    if (a->has_nan != b->has_nan) {
        return "has_nan";
    }
    if (a->has_stale != b->has_stale) {
        return "has_stale";
    }
    return NULL;
}

int br_chunk_deserialize(const void *data, size_t len, size_t *consumed, br_chunk **out,
                         br_err *err)
{
    const uint8_t *p = data;
    *out = NULL;
    *consumed = 0;
    ser_head h;
    int rc = ser_get_head(p, len, BR_CHUNK_SER_FLOAT,
                          SER_OPEN | SER_F_HAS_NAN | SER_F_STALE | SER_F_TREG | SER_F_FDELTA,
                          SER_FLOAT_HDR, "chunk", &h, err);
    if (rc != 0) {
        return rc;
    }
    if ((h.flags & SER_F_TREG) != 0 && (p[1] < 2 || (h.flags & SER_OPEN) != 0)) {
        return br_err_set(err, BR_ECORRUPT,
                          "chunk record: regular-timestamp flag on an open or version-1 record");
    }
    if ((h.flags & SER_F_FDELTA) != 0 && (p[1] < 3 || (h.flags & SER_OPEN) != 0)) {
        return br_err_set(err, BR_ECORRUPT,
                          "chunk record: float-delta flag on an open or pre-3 version record");
    }
    if (h.nbits > UINT32_MAX) {
        return br_err_set(err, BR_ECORRUPT, "chunk record: stream of %llu bits",
                          (unsigned long long)h.nbits);
    }
    br_chunk_summary s = {
        .min_t = h.min_t,
        .max_t = h.max_t,
        .count = h.count,
        .resets = h.aux,
        .first = bitsd(get_le(p + SER_COMMON, 8)),
        .last = bitsd(get_le(p + SER_COMMON + 8, 8)),
        .min = bitsd(get_le(p + SER_COMMON + 16, 8)),
        .max = bitsd(get_le(p + SER_COMMON + 24, 8)),
        .increase = bitsd(get_le(p + SER_COMMON + 32, 8)),
        .reset_sum = bitsd(get_le(p + SER_COMMON + 40, 8)),
        .has_nan = (h.flags & SER_F_HAS_NAN) != 0,
        .has_stale = (h.flags & SER_F_STALE) != 0,
    };
    br_chunk *c = br_calloc(1, sizeof(*c));
    c->sum = s;
    c->buf = ser_copy_stream(p + SER_FLOAT_HDR, h.data_len);
    c->nbits = (uint32_t)h.nbits;
    c->treg = (h.flags & SER_F_TREG) != 0;
    c->fdelta = (h.flags & SER_F_FDELTA) != 0;

    /* Decode everything, recomputing the summary as the appender would. */
    br_chunk_summary re;
    memset(&re, 0, sizeof(re));
    re.min = NAN;
    re.max = NAN;
    br_chunk_iter it;
    br_chunk_iter_init(&it, c);
    while (br_chunk_iter_next(&it)) {
        summary_add(&re, it.t, it.v);
    }
    const char *field = NULL;
    if (it.err != 0 || re.count != h.count) {
        rc = br_err_set(err, BR_ECORRUPT, "chunk record: the stream holds %u of %u samples",
                        re.count, h.count);
    } else if (it.r.pos != h.nbits) {
        rc = br_err_set(err, BR_ECORRUPT,
                        "chunk record: %llu stream bits left after the last sample",
                        (unsigned long long)(h.nbits - it.r.pos));
    } else {
        field = summary_diff(&s, &re);
        if (field != NULL) {
            rc = br_err_set(err, BR_ECORRUPT,
                            "chunk record: summary field %s disagrees with the samples", field);
        }
    }
    if (rc != 0) {
        br_free(c->buf);
        br_free(c);
        return rc;
    }
    if ((h.flags & SER_OPEN) != 0) {
        chunk_app *a = br_calloc(1, sizeof(*a));
        a->w.buf = c->buf;
        a->w.cap = h.data_len;
        a->w.nbits = h.nbits;
        if (h.count > 0) {
            a->tp = it.tp;
            a->vp = it.vp;
            a->run = it.run;
        }
        c->app = a;
    }
    *out = c;
    *consumed = SER_FLOAT_HDR + h.data_len;
    return 0;
}

/* ---------------------------------------------------------- histogram */

int br_hchunk_serialize(const br_hchunk *c, br_buf *out, br_err *err)
{
    const br_hchunk_summary *s = &c->sum;
    ser_head h = {
        .flags = (c->app != NULL ? SER_OPEN : 0) | (s->has_stale ? SER_H_STALE : 0),
        .count = s->count,
        .aux = s->layouts,
        .nbits = c->nbits,
        .min_t = s->min_t,
        .max_t = s->max_t,
    };
    uint8_t hdr[SER_COMMON];
    ser_put_head(hdr, BR_CHUNK_SER_HIST, &h);
    return ser_append(out, hdr, sizeof(hdr), c->buf, br_hchunk_data_len(c), "histogram chunk", err);
}

int br_hchunk_deserialize(const void *data, size_t len, size_t *consumed, br_hchunk **out,
                          br_err *err)
{
    const uint8_t *p = data;
    *out = NULL;
    *consumed = 0;
    ser_head h;
    int rc = ser_get_head(p, len, BR_CHUNK_SER_HIST, SER_OPEN | SER_H_STALE, SER_COMMON,
                          "histogram chunk", &h, err);
    if (rc != 0) {
        return rc;
    }
    br_hchunk *c = br_calloc(1, sizeof(*c));
    c->sum.min_t = h.min_t;
    c->sum.max_t = h.max_t;
    c->sum.count = h.count;
    c->sum.layouts = h.aux;
    c->sum.has_stale = (h.flags & SER_H_STALE) != 0;
    c->buf = ser_copy_stream(p + SER_COMMON, h.data_len);
    c->nbits = h.nbits;

    br_hchunk_summary re;
    memset(&re, 0, sizeof(re));
    br_hchunk_iter it;
    br_hchunk_iter_init(&it, c);
    bool changed;
    while (hnext(&it, &changed)) {
        if (re.count == 0) {
            re.min_t = it.t;
        }
        re.max_t = it.t;
        re.count++;
        re.layouts += changed ? 1 : 0;
        re.has_stale = re.has_stale || br_is_stale_nan(it.h.sum);
    }
    if (it.err != 0 || re.count != h.count) {
        rc = br_err_set(err, BR_ECORRUPT,
                        "histogram chunk record: the stream holds %u of %u samples", re.count,
                        h.count);
    } else if (it.r.pos != h.nbits) {
        rc = br_err_set(err, BR_ECORRUPT,
                        "histogram chunk record: %llu stream bits left after the last sample",
                        (unsigned long long)(h.nbits - it.r.pos));
    } else if (re.min_t != h.min_t || re.max_t != h.max_t || re.layouts != h.aux ||
               re.has_stale != c->sum.has_stale) {
        rc = br_err_set(err, BR_ECORRUPT,
                        "histogram chunk record: summary disagrees with the samples");
    }
    if (rc != 0) {
        br_hchunk_iter_free(&it);
        br_free(c->buf);
        br_free(c);
        return rc;
    }
    if ((h.flags & SER_OPEN) != 0) {
        hchunk_app *a = br_calloc(1, sizeof(*a));
        a->w.buf = c->buf;
        a->w.cap = h.data_len;
        a->w.nbits = h.nbits;
        /* The decoder's state is the appender's; iterator-only buffers go. */
        a->st = it.st;
        br_free(a->st.pos_out);
        br_free(a->st.neg_out);
        a->st.pos_out = NULL;
        a->st.neg_out = NULL;
        a->st.cap_pos_out = 0;
        a->st.cap_neg_out = 0;
        memset(&it.st, 0, sizeof(it.st));
        c->app = a;
    }
    br_hchunk_iter_free(&it);
    *out = c;
    *consumed = SER_COMMON + h.data_len;
    return 0;
}
