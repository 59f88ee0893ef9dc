/*
 * CRC-32 as zlib computes it (IEEE 802.3, reflected polynomial 0xedb88320), for the
 * full MTProto transport's packet checksum. Kept here rather than taken from zlib:
 * zlib's header belongs to the one gzip file of the library.
 */
#ifndef TGB_BASE_CRC32_H
#define TGB_BASE_CRC32_H

#include <stddef.h>
#include <stdint.h>

/**
 * Continues the CRC-32 `crc` over `len` bytes of `data` and returns the new value.
 * Start with 0, as with zlib's crc32(); tgb_crc32(tgb_crc32(0, a, n), b, m) equals
 * the CRC of a followed by b. `data` may be NULL when `len` is 0.
 */
uint32_t tgb_crc32(uint32_t crc, const void *data, size_t len);

#endif
