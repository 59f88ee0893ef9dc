/*
 * gzip for gzip_packed (https://core.telegram.org/mtproto/serialize#gzip-packed): the
 * packed_data of gzip_packed#3072cfa1 is a gzip stream (RFC 1952) of a serialised TL
 * object. This is the only file of the project that includes zlib.h.
 */
#ifndef TGB_MTPROTO_GZIP_H
#define TGB_MTPROTO_GZIP_H

#include "base/buf.h"

#include <stddef.h>
#include <stdint.h>

/**
 * The most bytes a session unpacks from the gzip_packed objects of one received packet
 * (4 MiB). Telegram's packets are at most about 1 MiB compressed and its answers a few
 * hundred KiB unpacked; a larger output is a zip bomb and is refused with TGB_ERR_LIMIT.
 */
#define TGB_GZIP_MAX_UNPACKED ((size_t)4 << 20)

/**
 * Appends the gzip stream of `in` (`len` bytes) to `out`. Returns 0, TGB_ERR_NOMEM,
 * TGB_ERR_LIMIT (from `out`'s cap) or TGB_ERR_INVALID (len does not fit zlib's 32 bits).
 * On error `out` keeps its length from before the call.
 */
int tgb_gzip_pack(const uint8_t *in, size_t len, tgb_buf *out);

/**
 * Appends the decompression of the gzip (or zlib) stream `in` to `out`, writing at most
 * `max_out` bytes: more is TGB_ERR_LIMIT, a corrupt or truncated stream is
 * TGB_ERR_PROTOCOL, TGB_ERR_NOMEM. Bytes after the end of the stream are ignored. On
 * error `out` keeps its length from before the call.
 */
int tgb_gzip_unpack(const uint8_t *in, size_t len, size_t max_out, tgb_buf *out);

/**
 * Unpacks the gzip_packed object at `p` (`n` bytes, at least 4, its constructor first)
 * onto the end of `unpacked`, which holds at most TGB_GZIP_MAX_UNPACKED in all: *off
 * and *len say where the object now lies. It must be whole words, at least one. Returns
 * 0, TGB_ERR_PROTOCOL, TGB_ERR_LIMIT or TGB_ERR_NOMEM. Shared by both session cores.
 */
int tgb_gzip_packed_unpack(const uint8_t *p, size_t n, tgb_buf *unpacked, size_t *off, size_t *len);

#endif
