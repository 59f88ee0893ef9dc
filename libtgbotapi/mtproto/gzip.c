/* gzip_packed payloads on zlib; see gzip.h. */
#include "mtproto/gzip.h"
#include "mtproto/wire.h"

#include <tgbotapi/tgbotapi.h>

#include <limits.h>
#include <string.h>
#include <zlib.h>

int tgb_gzip_pack(const uint8_t *in, size_t len, tgb_buf *out)
{
    if (len > UINT_MAX / 2)
        return TGB_ERR_INVALID;
    z_stream z;
    memset(&z, 0, sizeof(z));
    /* 15 + 16: a gzip wrapper, which is what Telegram's packed_data holds */
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return TGB_ERR_NOMEM;
    size_t start = out->len;
    size_t bound = deflateBound(&z, (uLong)len);
    int rc = tgb_buf_reserve(out, bound);
    if (rc == 0) {
        z.next_in = (Bytef *)(uintptr_t)in;
        z.avail_in = (uInt)len;
        z.next_out = out->data + out->len;
        z.avail_out = (uInt)bound;
        /* deflateBound() guarantees one Z_FINISH call completes the stream */
        if (deflate(&z, Z_FINISH) == Z_STREAM_END)
            out->len += bound - z.avail_out;
        else
            rc = TGB_ERR_NOMEM;
    }
    deflateEnd(&z);
    if (rc)
        out->len = start;
    return rc;
}

int tgb_gzip_unpack(const uint8_t *in, size_t len, size_t max_out, tgb_buf *out)
{
    if (len > UINT_MAX)
        return TGB_ERR_LIMIT;
    z_stream z;
    memset(&z, 0, sizeof(z));
    /* 15 + 32: gzip or zlib header, detected; Telegram sends gzip */
    if (inflateInit2(&z, 15 + 32) != Z_OK)
        return TGB_ERR_NOMEM;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    size_t start = out->len;
    int rc = 0;
    for (;;) {
        size_t produced = out->len - start;
        size_t room = max_out - produced;
        if (room == 0) {
            /* The cap is reached: the stream may still end here, with no more output. */
            uint8_t probe;
            z.next_out = &probe;
            z.avail_out = 1;
            int zr = inflate(&z, Z_NO_FLUSH);
            if (zr == Z_STREAM_END && z.avail_out == 1)
                break;
            rc = z.avail_out == 0 ? TGB_ERR_LIMIT : TGB_ERR_PROTOCOL;
            break;
        }
        /* grow geometrically, so a small stream costs a small buffer */
        size_t chunk = produced < 16384 ? 16384 : produced;
        if (chunk > room)
            chunk = room;
        if (chunk > UINT_MAX / 2)
            chunk = UINT_MAX / 2;
        rc = tgb_buf_reserve(out, chunk);
        if (rc)
            break;
        z.next_out = out->data + out->len;
        z.avail_out = (uInt)chunk;
        uInt avail_in_before = z.avail_in;
        int zr = inflate(&z, Z_NO_FLUSH);
        size_t got = chunk - z.avail_out;
        out->len += got;
        if (zr == Z_STREAM_END)
            break;
        if (zr == Z_OK || zr == Z_BUF_ERROR) {
            /* room left but no input: the stream was cut short; no progress at all
             * would loop forever */
            if ((z.avail_in == 0 && z.avail_out > 0) ||
                (got == 0 && z.avail_in == avail_in_before)) {
                rc = TGB_ERR_PROTOCOL;
                break;
            }
            continue;
        }
        rc = zr == Z_MEM_ERROR ? TGB_ERR_NOMEM : TGB_ERR_PROTOCOL;
        break;
    }
    inflateEnd(&z);
    if (rc)
        out->len = start;
    return rc;
}

int tgb_gzip_packed_unpack(const uint8_t *p, size_t n, tgb_buf *unpacked, size_t *off, size_t *len)
{
    tgb_wire r = {p + 4, n - 4, 0};
    size_t zn = 0;
    const uint8_t *z = tgb_wire_bytes(&r, &zn);
    if (r.bad)
        return TGB_ERR_PROTOCOL;
    *off = unpacked->len;
    int rc = tgb_gzip_unpack(z, zn, TGB_GZIP_MAX_UNPACKED - unpacked->len, unpacked);
    if (rc)
        return rc;
    *len = unpacked->len - *off;
    if (*len < 4 || *len % 4)
        return TGB_ERR_PROTOCOL;
    return 0;
}
