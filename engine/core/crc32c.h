/*
 * crc32c.h — CRC-32C (Castagnoli), the checksum of WAL records and
 * snapshots. Uses the SSE4.2 instruction when the CPU has it, a table
 * otherwise; both give identical results.
 */
#ifndef BR_CORE_CRC32C_H
#define BR_CORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends crc (start with 0) over data. */
uint32_t br_crc32c(uint32_t crc, const void *data, size_t len);

#endif
