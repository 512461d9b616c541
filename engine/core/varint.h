/*
 * varint.h — LEB128 varints (protobuf/Go encoding) and ZigZag.
 *
 * Encoders write at most BR_VARINT_MAX bytes and return the count. Decoders
 * never read past end and return the bytes consumed, or 0 on a truncated or
 * over-long (more than 10 bytes) input.
 */
#ifndef BR_CORE_VARINT_H
#define BR_CORE_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define BR_VARINT_MAX 10

size_t br_uvarint_put(unsigned char *out, uint64_t v);
size_t br_uvarint_get(const unsigned char *p, const unsigned char *end, uint64_t *out);

static inline uint64_t br_zigzag_enc(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t br_zigzag_dec(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static inline size_t br_varint_put(unsigned char *out, int64_t v)
{
    return br_uvarint_put(out, br_zigzag_enc(v));
}

static inline size_t br_varint_get(const unsigned char *p, const unsigned char *end, int64_t *out)
{
    uint64_t u;
    size_t n = br_uvarint_get(p, end, &u);
    if (n != 0) {
        *out = br_zigzag_dec(u);
    }
    return n;
}

#endif
