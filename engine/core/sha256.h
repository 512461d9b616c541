/*
 * sha256.h — SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104).
 *
 * Used to sign webhook bodies (rules/notifier.c: the
 * X-Burnrate-Signature header carries the hex HMAC-SHA256 of the body
 * under the receiver's secret), so that no TLS library is needed just for
 * a hash. Plain portable C; not constant-time with respect to message
 * length (the secret only goes through fixed-size blocks).
 *
 * A br_sha256_ctx is caller-allocated, plain data and used by one
 * thread at a time; the functions keep no global state.
 */
#ifndef BR_CORE_SHA256_H
#define BR_CORE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define BR_SHA256_SIZE       32
#define BR_SHA256_BLOCK_SIZE 64
#define BR_SHA256_HEX_SIZE   65 /* 64 hex digits and the terminator */

typedef struct br_sha256_ctx {
    uint32_t state[8];
    uint64_t total_len;                  /* bytes hashed so far */
    uint8_t block[BR_SHA256_BLOCK_SIZE]; /* partial block */
    size_t block_len;
} br_sha256_ctx;

void br_sha256_init(br_sha256_ctx *s);
/* Hashes len bytes of data (borrowed; may be NULL when len is 0). */
void br_sha256_update(br_sha256_ctx *s, const void *data, size_t len);
/* Writes the digest into out and leaves s unusable until the next init. */
void br_sha256_final(br_sha256_ctx *s, uint8_t out[BR_SHA256_SIZE]);
/* One-shot digest of data. */
void br_sha256(const void *data, size_t len, uint8_t out[BR_SHA256_SIZE]);

/* HMAC-SHA256 of msg under key (both borrowed; any lengths). */
void br_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                    uint8_t out[BR_SHA256_SIZE]);

/* Writes the lower-case hex of a digest into out (NUL-terminated); returns out. */
const char *br_sha256_hex(const uint8_t digest[BR_SHA256_SIZE], char out[BR_SHA256_HEX_SIZE]);

#endif
