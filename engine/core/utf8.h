/*
 * utf8.h — UTF-8 decoding and encoding, shared by every reader of text
 * (remote-write validation, the PromQL lexer, regex translation, string
 * unquoting, label-name unescaping).
 *
 * Valid means what Go and Prometheus accept: no overlong forms, no
 * surrogates (U+D800..U+DFFF), nothing above U+10FFFF.
 */
#ifndef BR_CORE_UTF8_H
#define BR_CORE_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define BR_UTF8_MAX_RUNE 0x10FFFF

/* Decodes the character at s (n bytes available). Returns the code point
 * and sets *width to its length; returns -1 for malformed input (with
 * *width = 1, so a scanner can step over the bad byte) and for n == 0
 * (with *width = 0). */
int32_t br_utf8_decode(const void *s, size_t n, size_t *width);

/* Writes cp as UTF-8 into out; returns the byte count (1..4), or 0 when
 * cp is not a valid code point (a surrogate or above U+10FFFF). */
size_t br_utf8_encode(uint32_t cp, unsigned char out[4]);

#endif
