/*
 * hash.h — non-cryptographic hashes.
 *
 * br_hash64: fast 64-bit hash of bytes for hash tables and series sharding
 * (a multiply-xorshift construction; stable across runs and machines, so it
 * may be used for SLO sharding across instances).
 * br_fnv1a64: FNV-1a 64, used where a peer format fixes the algorithm
 * (Alertmanager fingerprints: name 0xFF value 0xFF over sorted labels).
 */
#ifndef BR_CORE_HASH_H
#define BR_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define BR_FNV1A64_INIT 14695981039346656037ULL

uint64_t br_hash64(const void *data, size_t len, uint64_t seed);
uint64_t br_fnv1a64(uint64_t h, const void *data, size_t len);
/* Mixes a 64-bit value into h (for combining hashes). */
uint64_t br_hash_mix(uint64_t h, uint64_t v);

#endif
