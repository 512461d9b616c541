/*
 * numfmt.c — shortest round-trip float formatting. See numfmt.h.
 *
 * The shortest digit string is found by trying %.{p}e for p = 0..16 until
 * strtod gives back the same bits; the digits and decimal exponent are then
 * laid out in fixed or exponent notation by hand.
 */
#include "numfmt.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *br_format_float(double v, char *out, size_t size)
{
    if (isnan(v)) {
        snprintf(out, size, "NaN");
        return out;
    }
    if (isinf(v)) {
        snprintf(out, size, v > 0 ? "+Inf" : "-Inf");
        return out;
    }
    if (v == 0) {
        snprintf(out, size, signbit(v) ? "-0" : "0");
        return out;
    }
    char sci[40];
    for (int p = 0; p <= 16; p++) {
        snprintf(sci, sizeof(sci), "%.*e", p, v);
        if (strtod(sci, NULL) == v) {
            break;
        }
    }
    /* sci looks like "-1.2345e+07": split sign, digits and exponent. */
    const char *s = sci;
    bool neg = false;
    if (*s == '-') {
        neg = true;
        s++;
    }
    char digits[24];
    size_t nd = 0;
    for (; *s != 'e' && *s != '\0'; s++) {
        if (*s >= '0' && *s <= '9' && nd < sizeof(digits) - 1) {
            digits[nd++] = *s;
        }
    }
    digits[nd] = '\0';
    int exp10 = *s == 'e' ? atoi(s + 1) : 0;
    while (nd > 1 && digits[nd - 1] == '0') {
        digits[--nd] = '\0';
    }
    char body[64];
    size_t o = 0;
    if (exp10 < -6 || exp10 >= 21) {
        body[o++] = digits[0];
        if (nd > 1) {
            body[o++] = '.';
            memcpy(body + o, digits + 1, nd - 1);
            o += nd - 1;
        }
        o += (size_t)snprintf(body + o, sizeof(body) - o, "e%c%02d", exp10 < 0 ? '-' : '+',
                              exp10 < 0 ? -exp10 : exp10);
    } else if (exp10 < 0) {
        body[o++] = '0';
        body[o++] = '.';
        for (int i = 0; i < -exp10 - 1; i++) {
            body[o++] = '0';
        }
        memcpy(body + o, digits, nd);
        o += nd;
    } else {
        size_t int_digits = (size_t)exp10 + 1;
        for (size_t i = 0; i < int_digits; i++) {
            body[o++] = i < nd ? digits[i] : '0';
        }
        if (nd > int_digits) {
            body[o++] = '.';
            memcpy(body + o, digits + int_digits, nd - int_digits);
            o += nd - int_digits;
        }
    }
    body[o] = '\0';
    snprintf(out, size, "%s%s", neg ? "-" : "", body);
    return out;
}
