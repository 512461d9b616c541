/*
 * bitstream.h — a growable bit writer and a bounds-checked bit reader, plus
 * the two variable-length codes the chunk encoders are built from.
 *
 * Sits under storage/chunk.c (and nothing else yet): the chunk appender
 * writes each sample as a handful of bit fields, the chunk iterator reads
 * them back. Bits are stored most significant first: bit 0 of the stream is
 * the top bit of byte 0. A writer keeps every bit past its end at zero, so a
 * field is added by OR-ing it in.
 *
 * Codes (both bit-exact inverses of their readers, tested in
 * tests/unit/test_bitstream.c):
 *   - Rice code with an escape, for small unsigned numbers u with parameter
 *     k (0..BR_RICE_MAX_K): q = u >> k. If q < BR_RICE_QMAX: q one-bits, a
 *     zero bit, then the low k bits of u. Otherwise BR_RICE_QMAX one-bits, a
 *     6-bit field L = bitlen(u) - 1, then the low L bits of u (its top bit is
 *     implied). An escaped u is at least BR_RICE_QMAX, so L >= 3 there and
 *     L == 0 is free: it is the "special" symbol a caller may give a meaning.
 *   - Bit-level LEB128 varint: 8-bit groups, a continuation bit then 7 value
 *     bits, least significant group first, at most 10 groups.
 *
 * Readers never read past the bit length they were given: a read that would
 * returns zero bits for the missing part and sets `overrun`, which stays set.
 *
 * Threads: a writer belongs to one thread at a time (the chunk's series
 * lock). Any number of readers may read the same bytes at once; a reader
 * only modifies its own struct.
 */
#ifndef BR_STORAGE_BITSTREAM_H
#define BR_STORAGE_BITSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Unary prefixes longer than this switch to the escape form. */
#define BR_RICE_QMAX 12
/* Largest Rice parameter a caller may pass. */
#define BR_RICE_MAX_K 48

/* A bit writer. Zero-initialise it or call br_bitw_init. It owns buf. */
typedef struct br_bitw {
    uint8_t *buf;   /* owned; bytes past nbits are zero */
    size_t cap;     /* allocated bytes */
    uint64_t nbits; /* bits written */
} br_bitw;

void br_bitw_init(br_bitw *w);
/* Frees the buffer; w may be reused after br_bitw_init. */
void br_bitw_free(br_bitw *w);
/* Appends the low n bits of v (n in 0..64), most significant first. */
void br_bitw_write(br_bitw *w, uint64_t v, unsigned n);
/* Appends one bit (0 or 1). */
void br_bitw_bit(br_bitw *w, unsigned bit);
/* Appends u in the Rice-with-escape code with parameter k. */
void br_bitw_rice(br_bitw *w, uint64_t u, unsigned k);
/* Appends the Rice escape's special symbol (BR_RICE_QMAX ones, L = 0). */
void br_bitw_rice_special(br_bitw *w);
/* Appends u as a bit-level LEB128 varint. */
void br_bitw_uvarint(br_bitw *w, uint64_t u);
/* Bytes holding the bits written: ceil(nbits / 8). */
static inline size_t br_bitw_len(const br_bitw *w)
{
    return (size_t)((w->nbits + 7) / 8);
}
/* Shrinks the allocation to br_bitw_len() bytes. Writing afterwards is
 * allowed (the buffer grows again). */
void br_bitw_shrink(br_bitw *w);

/* A bit reader over borrowed bytes. Caller-allocated; holds no memory. */
typedef struct br_bitr {
    const uint8_t *buf; /* borrowed; must outlive the reader */
    uint64_t nbits;     /* readable bits */
    uint64_t pos;       /* next bit to read */
    bool overrun;       /* a read wanted bits past nbits */
} br_bitr;

/* Reads bits [0, nbits) of buf; buf holds at least ceil(nbits / 8) bytes
 * (borrowed for the reader's lifetime). */
void br_bitr_init(br_bitr *r, const uint8_t *buf, uint64_t nbits);
/* Reads n bits (0..64) as an unsigned number. */
uint64_t br_bitr_read(br_bitr *r, unsigned n);
/* Reads one bit. */
unsigned br_bitr_bit(br_bitr *r);

/* Result of br_bitr_rice. */
enum {
    BR_RICE_VALUE = 0,   /* *u holds a value */
    BR_RICE_SPECIAL = 1, /* the special symbol was read */
    BR_RICE_BAD = -1,    /* overrun or an impossible escape length */
};
/* Reads one Rice-with-escape code with parameter k into *u. */
int br_bitr_rice(br_bitr *r, unsigned k, uint64_t *u);
/* Reads a bit-level LEB128 varint. Returns false on overrun or on more than
 * 10 groups. */
bool br_bitr_uvarint(br_bitr *r, uint64_t *u);

#endif
