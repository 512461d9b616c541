/*
 * sha256.c — SHA-256 and HMAC-SHA256; see sha256.h.
 *
 * SHA-256 as FIPS 180-4 section 6.2 specifies it: the message is padded
 * with a 1 bit, zeros, and its length in bits as a 64-bit big-endian
 * number to a multiple of 64 bytes; each block is expanded into 64 words
 * and mixed into eight 32-bit state words with the 64 round constants
 * (the first 32 bits of the fractional parts of the cube roots of the
 * first 64 primes). HMAC (RFC 2104): keys longer than a block are hashed
 * first, then H((K ^ opad) || H((K ^ ipad) || msg)).
 */
#include "sha256.h"

#include <string.h>

static const uint32_t round_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static uint32_t load_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Mixes one 64-byte block into the state. */
static void compress(uint32_t state[8], const uint8_t *block)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++) {
        w[i] = load_be32(block + 4 * i);
    }
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = state[0];
    uint32_t b = state[1];
    uint32_t c = state[2];
    uint32_t d = state[3];
    uint32_t e = state[4];
    uint32_t f = state[5];
    uint32_t g = state[6];
    uint32_t h = state[7];
    for (int i = 0; i < 64; i++) {
        uint32_t big_s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        uint32_t choose = (e & f) ^ (~e & g);
        uint32_t t1 = h + big_s1 + choose + round_k[i] + w[i];
        uint32_t big_s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = big_s0 + majority;
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
}

void br_sha256_init(br_sha256_ctx *s)
{
    /* First 32 bits of the fractional parts of the square roots of the
     * first eight primes. */
    static const uint32_t initial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->state, initial, sizeof(initial));
    s->total_len = 0;
    s->block_len = 0;
}

void br_sha256_update(br_sha256_ctx *s, const void *data, size_t len)
{
    if (len == 0) {
        return;
    }
    const uint8_t *p = data;
    s->total_len += len;
    if (s->block_len > 0) {
        size_t take = BR_SHA256_BLOCK_SIZE - s->block_len;
        if (take > len) {
            take = len;
        }
        memcpy(s->block + s->block_len, p, take);
        s->block_len += take;
        p += take;
        len -= take;
        if (s->block_len < BR_SHA256_BLOCK_SIZE) {
            return;
        }
        compress(s->state, s->block);
        s->block_len = 0;
    }
    while (len >= BR_SHA256_BLOCK_SIZE) {
        compress(s->state, p);
        p += BR_SHA256_BLOCK_SIZE;
        len -= BR_SHA256_BLOCK_SIZE;
    }
    if (len > 0) {
        memcpy(s->block, p, len);
        s->block_len = len;
    }
}

void br_sha256_final(br_sha256_ctx *s, uint8_t out[BR_SHA256_SIZE])
{
    uint64_t bits = s->total_len * 8;
    s->block[s->block_len++] = 0x80;
    if (s->block_len > BR_SHA256_BLOCK_SIZE - 8) {
        memset(s->block + s->block_len, 0, BR_SHA256_BLOCK_SIZE - s->block_len);
        compress(s->state, s->block);
        s->block_len = 0;
    }
    memset(s->block + s->block_len, 0, BR_SHA256_BLOCK_SIZE - 8 - s->block_len);
    for (int i = 0; i < 8; i++) {
        s->block[BR_SHA256_BLOCK_SIZE - 1 - i] = (uint8_t)(bits >> (8 * i));
    }
    compress(s->state, s->block);
    for (int i = 0; i < 8; i++) {
        store_be32(out + 4 * i, s->state[i]);
    }
    memset(s, 0, sizeof(*s));
}

void br_sha256(const void *data, size_t len, uint8_t out[BR_SHA256_SIZE])
{
    br_sha256_ctx s;
    br_sha256_init(&s);
    br_sha256_update(&s, data, len);
    br_sha256_final(&s, out);
}

void br_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                    uint8_t out[BR_SHA256_SIZE])
{
    uint8_t k[BR_SHA256_BLOCK_SIZE];
    memset(k, 0, sizeof(k));
    if (key_len > BR_SHA256_BLOCK_SIZE) {
        br_sha256(key, key_len, k);
    } else if (key_len > 0) {
        memcpy(k, key, key_len);
    }
    uint8_t pad[BR_SHA256_BLOCK_SIZE];
    uint8_t inner[BR_SHA256_SIZE];
    br_sha256_ctx s;

    for (size_t i = 0; i < sizeof(pad); i++) {
        pad[i] = k[i] ^ 0x36;
    }
    br_sha256_init(&s);
    br_sha256_update(&s, pad, sizeof(pad));
    br_sha256_update(&s, msg, msg_len);
    br_sha256_final(&s, inner);

    for (size_t i = 0; i < sizeof(pad); i++) {
        pad[i] = k[i] ^ 0x5c;
    }
    br_sha256_init(&s);
    br_sha256_update(&s, pad, sizeof(pad));
    br_sha256_update(&s, inner, sizeof(inner));
    br_sha256_final(&s, out);
    memset(k, 0, sizeof(k));
    memset(pad, 0, sizeof(pad));
}

const char *br_sha256_hex(const uint8_t digest[BR_SHA256_SIZE], char out[BR_SHA256_HEX_SIZE])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < BR_SHA256_SIZE; i++) {
        out[2 * i] = digits[digest[i] >> 4];
        out[2 * i + 1] = digits[digest[i] & 0x0f];
    }
    out[2 * BR_SHA256_SIZE] = '\0';
    return out;
}
