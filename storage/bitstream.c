/*
 * bitstream.c — bit writer and reader behind the chunk encoders.
 *
 * The writer adds a field by loading the 8 bytes that hold the write
 * position big-endian, OR-ing the field in and storing them back, so it
 * keeps 8 bytes of zeroed slack past the last written bit whenever it
 * writes. The reader assembles the next 64 bits the same way, but near the
 * end of its buffer it goes byte by byte, because a frozen chunk's buffer
 * is trimmed to the exact length (br_bitw_shrink). Codes and the bit order
 * are described in bitstream.h.
 *
 * Threads: see bitstream.h (one writer, any number of readers).
 */
#include "storage/bitstream.h"

#include "engine/core/alloc.h"

#include <assert.h>
#include <string.h>

static inline uint64_t load_be64(const uint8_t *p)
{
    uint64_t x;
    memcpy(&x, p, sizeof(x));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    x = __builtin_bswap64(x);
#endif
    return x;
}

static inline void store_be64(uint8_t *p, uint64_t x)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    x = __builtin_bswap64(x);
#endif
    memcpy(p, &x, sizeof(x));
}

static inline unsigned bitlen64(uint64_t x)
{
    return x == 0 ? 0 : 64u - (unsigned)__builtin_clzll(x);
}

/* ------------------------------------------------------------------ writer */

void br_bitw_init(br_bitw *w)
{
    w->buf = NULL;
    w->cap = 0;
    w->nbits = 0;
}

void br_bitw_free(br_bitw *w)
{
    br_free(w->buf);
    br_bitw_init(w);
}

/* Makes sure `more` bits plus 8 bytes of slack fit; new bytes are zeroed. */
static void reserve(br_bitw *w, unsigned more)
{
    size_t need = (size_t)((w->nbits + more + 7) / 8) + 8;
    if (need <= w->cap) {
        return;
    }
    size_t cap = w->cap < 16 ? 16 : w->cap;
    while (cap < need) {
        cap += cap / 2;
    }
    w->buf = br_realloc(w->buf, cap);
    memset(w->buf + w->cap, 0, cap - w->cap);
    w->cap = cap;
}

/* Writes n <= 57 bits (the field then fits the 8 loaded bytes). */
static inline void put57(br_bitw *w, uint64_t v, unsigned n)
{
    size_t idx = (size_t)(w->nbits >> 3);
    unsigned off = (unsigned)(w->nbits & 7);
    uint64_t x = load_be64(w->buf + idx);
    x |= v << (64 - off - n);
    store_be64(w->buf + idx, x);
    w->nbits += n;
}

void br_bitw_write(br_bitw *w, uint64_t v, unsigned n)
{
    assert(n <= 64);
    if (n == 0) {
        return;
    }
    reserve(w, n);
    if (n < 64) {
        v &= (UINT64_C(1) << n) - 1;
    }
    if (n > 57) {
        put57(w, v >> 32, n - 32);
        put57(w, v & 0xffffffffu, 32);
    } else {
        put57(w, v, n);
    }
}

void br_bitw_bit(br_bitw *w, unsigned bit)
{
    reserve(w, 1);
    if (bit) {
        w->buf[w->nbits >> 3] |= (uint8_t)(0x80u >> (w->nbits & 7));
    }
    w->nbits++;
}

/* Appends n one-bits. */
static void ones(br_bitw *w, unsigned n)
{
    while (n > 0) {
        unsigned take = n > 57 ? 57 : n;
        br_bitw_write(w, (UINT64_C(1) << take) - 1, take);
        n -= take;
    }
}

void br_bitw_rice(br_bitw *w, uint64_t u, unsigned k)
{
    assert(k <= BR_RICE_MAX_K);
    uint64_t q = u >> k;
    if (q < BR_RICE_QMAX) {
        /* q ones, a zero, then k low bits: one field when it fits. */
        uint64_t prefix = ((UINT64_C(1) << q) - 1) << 1;
        unsigned n = (unsigned)q + 1 + k;
        if (n <= 57) {
            uint64_t low = k == 0 ? 0 : (u & ((UINT64_C(1) << k) - 1));
            reserve(w, n);
            put57(w, (prefix << k) | low, n);
            return;
        }
        br_bitw_write(w, prefix, (unsigned)q + 1);
        br_bitw_write(w, u, k);
        return;
    }
    unsigned len = bitlen64(u);
    ones(w, BR_RICE_QMAX);
    br_bitw_write(w, len - 1, 6);
    br_bitw_write(w, u, len - 1);
}

void br_bitw_rice_special(br_bitw *w)
{
    ones(w, BR_RICE_QMAX);
    br_bitw_write(w, 0, 6);
}

void br_bitw_uvarint(br_bitw *w, uint64_t u)
{
    while (u >= 0x80) {
        br_bitw_write(w, 0x80 | (u & 0x7f), 8);
        u >>= 7;
    }
    br_bitw_write(w, u, 8);
}

void br_bitw_shrink(br_bitw *w)
{
    size_t len = br_bitw_len(w);
    if (len == w->cap) {
        return;
    }
    if (len == 0) {
        br_free(w->buf);
        w->buf = NULL;
    } else {
        w->buf = br_realloc(w->buf, len);
    }
    w->cap = len;
}

/* ------------------------------------------------------------------ reader */

void br_bitr_init(br_bitr *r, const uint8_t *buf, uint64_t nbits)
{
    r->buf = buf;
    r->nbits = nbits;
    r->pos = 0;
    r->overrun = false;
}

/* The next 64 bits at pos, zero past nbits. */
static inline uint64_t peek64(const br_bitr *r)
{
    if (r->pos >= r->nbits) {
        return 0;
    }
    size_t idx = (size_t)(r->pos >> 3);
    unsigned off = (unsigned)(r->pos & 7);
    size_t nbytes = (size_t)((r->nbits + 7) / 8);
    uint64_t x;
    if (idx + 9 <= nbytes) {
        x = load_be64(r->buf + idx);
        if (off != 0) {
            x = (x << off) | (r->buf[idx + 8] >> (8 - off));
        }
    } else {
        uint8_t tmp[9] = {0};
        memcpy(tmp, r->buf + idx, nbytes - idx);
        x = load_be64(tmp);
        if (off != 0) {
            x = (x << off) | (tmp[8] >> (8 - off));
        }
    }
    uint64_t avail = r->nbits - r->pos;
    if (avail < 64) {
        x &= ~(UINT64_MAX >> avail);
    }
    return x;
}

uint64_t br_bitr_read(br_bitr *r, unsigned n)
{
    assert(n <= 64);
    if (n == 0) {
        return 0;
    }
    uint64_t x = peek64(r) >> (64 - n);
    if (r->nbits - r->pos < n) {
        r->overrun = true;
        r->pos = r->nbits;
        return x;
    }
    r->pos += n;
    return x;
}

unsigned br_bitr_bit(br_bitr *r)
{
    if (r->pos >= r->nbits) {
        r->overrun = true;
        return 0;
    }
    unsigned b = (r->buf[r->pos >> 3] >> (7 - (r->pos & 7))) & 1u;
    r->pos++;
    return b;
}

int br_bitr_rice(br_bitr *r, unsigned k, uint64_t *u)
{
    assert(k <= BR_RICE_MAX_K);
    uint64_t x = peek64(r);
    unsigned q = (~x == 0) ? 64 : (unsigned)__builtin_clzll(~x);
    if (q < BR_RICE_QMAX) {
        unsigned n = q + 1 + k;
        if (n <= 64 && r->nbits - r->pos >= n) {
            /* The whole code lies inside the peeked word. */
            uint64_t low = k == 0 ? 0 : (x << (q + 1)) >> (64 - k);
            r->pos += n;
            *u = ((uint64_t)q << k) | low;
            return BR_RICE_VALUE;
        }
        (void)br_bitr_read(r, q + 1);
        uint64_t low = br_bitr_read(r, k);
        *u = ((uint64_t)q << k) | low;
        return r->overrun ? BR_RICE_BAD : BR_RICE_VALUE;
    }
    (void)br_bitr_read(r, BR_RICE_QMAX);
    unsigned l = (unsigned)br_bitr_read(r, 6);
    if (r->overrun) {
        return BR_RICE_BAD;
    }
    if (l == 0) {
        return BR_RICE_SPECIAL;
    }
    uint64_t low = br_bitr_read(r, l);
    *u = (UINT64_C(1) << l) | low;
    if (r->overrun || (*u >> k) < BR_RICE_QMAX) {
        return BR_RICE_BAD; /* an escape the writer would never produce */
    }
    return BR_RICE_VALUE;
}

bool br_bitr_uvarint(br_bitr *r, uint64_t *u)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 10; i++) {
        uint64_t g = br_bitr_read(r, 8);
        if (r->overrun) {
            return false;
        }
        if (i == 9 && g > 1) {
            return false; /* more than 64 bits */
        }
        v |= (g & 0x7f) << (7 * i);
        if ((g & 0x80) == 0) {
            *u = v;
            return true;
        }
    }
    return false;
}
