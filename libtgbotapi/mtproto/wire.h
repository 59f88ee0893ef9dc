/*
 * Reading and writing TL primitives by hand, for the service messages sessions parse
 * and build themselves (rpc_result, containers, acks, ...), whose shape depends on the
 * request or is simpler than a decode into structs. Shared by the client's session
 * core and the emulated DC's.
 *
 * A tgb_wire reads untrusted bytes: every read checks what is left, a failed read sets
 * `bad` and reads nothing further, so a caller checks `bad` once after a run of reads.
 */
#ifndef TGB_MTPROTO_WIRE_H
#define TGB_MTPROTO_WIRE_H

#include "base/buf.h"
#include "tl/tl.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct tgb_wire {
    const uint8_t *p;
    size_t n; /* bytes left */
    int bad;  /* a read ran past the end or met a malformed value */
} tgb_wire;

/** The most items a Vector<long> read here may have (acks, state requests). */
#define TGB_WIRE_MAX_IDS 8192

static inline uint32_t tgb_wire_u32(tgb_wire *r)
{
    if (r->n < 4) {
        r->bad = 1;
        r->n = 0;
        return 0;
    }
    uint32_t v = tgb_le32(r->p);
    r->p += 4;
    r->n -= 4;
    return v;
}

static inline uint64_t tgb_wire_u64(tgb_wire *r)
{
    if (r->n < 8) {
        r->bad = 1;
        r->n = 0;
        return 0;
    }
    uint64_t v = tgb_le64(r->p);
    r->p += 8;
    r->n -= 8;
    return v;
}

/* A TL string or bytes: 1-byte length up to 253, else 0xfe and 3 bytes; padded to 4. */
static inline const uint8_t *tgb_wire_bytes(tgb_wire *r, size_t *len)
{
    if (r->n < 1 || r->p[0] == 255) {
        r->bad = 1;
        return NULL;
    }
    size_t head = 1, n = r->p[0];
    if (n == 254) {
        if (r->n < 4) {
            r->bad = 1;
            return NULL;
        }
        head = 4;
        n = (size_t)r->p[1] | (size_t)r->p[2] << 8 | (size_t)r->p[3] << 16;
    }
    size_t total = (head + n + 3) & ~(size_t)3;
    if (total > r->n) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *p = r->p + head;
    r->p += total;
    r->n -= total;
    *len = n;
    return p;
}

/* A boxed Vector<long>: at most TGB_WIRE_MAX_IDS items, checked against the bytes left;
 * returns where the items start (8 bytes each, little-endian). */
static inline const uint8_t *tgb_wire_long_vector(tgb_wire *r, uint32_t *count)
{
    if (tgb_wire_u32(r) != TGB_TL_ID_VECTOR) {
        r->bad = 1;
        return NULL;
    }
    uint32_t n = tgb_wire_u32(r);
    if (r->bad || n > TGB_WIRE_MAX_IDS || (size_t)n * 8 > r->n) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += (size_t)n * 8;
    r->n -= (size_t)n * 8;
    *count = n;
    return p;
}

/** How many bytes tgb_wire_put_bytes writes for `n` bytes of data. */
static inline size_t tgb_wire_bytes_size(size_t n)
{
    return ((n <= 253 ? 1 : 4) + n + 3) & ~(size_t)3;
}

/** Writes `n` bytes as TL bytes at `o`, which has room for tgb_wire_bytes_size(n). */
static inline void tgb_wire_put_bytes(uint8_t *o, const uint8_t *p, size_t n)
{
    size_t head = 1;
    if (n <= 253) {
        o[0] = (uint8_t)n;
    } else {
        o[0] = 254;
        o[1] = (uint8_t)n;
        o[2] = (uint8_t)(n >> 8);
        o[3] = (uint8_t)(n >> 16);
        head = 4;
    }
    if (n)
        memcpy(o + head, p, n);
    memset(o + head + n, 0, tgb_wire_bytes_size(n) - head - n);
}

#endif
