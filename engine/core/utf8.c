/*
 * utf8.c — see utf8.h.
 */
#include "utf8.h"

int32_t br_utf8_decode(const void *s, size_t n, size_t *width)
{
    if (n == 0) {
        *width = 0;
        return -1;
    }
    const unsigned char *u = s;
    unsigned char c = u[0];
    *width = 1;
    if (c < 0x80) {
        return c;
    }
    size_t need;
    uint32_t cp;
    uint32_t min;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
        cp = c & 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        cp = c & 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        cp = c & 0x07;
        min = 0x10000;
    } else {
        return -1;
    }
    if (n < need) {
        return -1;
    }
    for (size_t i = 1; i < need; i++) {
        if ((u[i] & 0xC0) != 0x80) {
            return -1;
        }
        cp = (cp << 6) | (u[i] & 0x3F);
    }
    if (cp < min || cp > BR_UTF8_MAX_RUNE || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return -1;
    }
    *width = need;
    return (int32_t)cp;
}

size_t br_utf8_encode(uint32_t cp, unsigned char out[4])
{
    if (cp > BR_UTF8_MAX_RUNE || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}
