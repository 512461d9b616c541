/*
 * varint.c — see varint.h.
 */
#include "varint.h"

size_t br_uvarint_put(unsigned char *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (unsigned char)v;
    return n;
}

size_t br_uvarint_get(const unsigned char *p, const unsigned char *end, uint64_t *out)
{
    uint64_t v = 0;
    unsigned shift = 0;
    for (size_t i = 0; i < BR_VARINT_MAX; i++) {
        if (p + i >= end) {
            return 0;
        }
        unsigned char b = p[i];
        if (i == BR_VARINT_MAX - 1 && b > 1) {
            return 0;
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        if (b < 0x80) {
            *out = v;
            return i + 1;
        }
        shift += 7;
    }
    return 0;
}
