/*
 * A growable byte buffer with a cap, for output we build (TL encoding, transport frames).
 * Appending past the cap fails with TGB_ERR_LIMIT instead of growing.
 */
#ifndef TGB_BASE_BUF_H
#define TGB_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct tgb_buf {
    uint8_t *data; /* owned; NULL until the first append */
    size_t len;
    size_t cap;
    size_t limit; /* cap on len; 0 = TGB_BUF_DEFAULT_LIMIT */
} tgb_buf;

/** Default cap on a buffer's length (64 MiB). */
#define TGB_BUF_DEFAULT_LIMIT ((size_t)64 << 20)

/** Initialises an empty buffer; `limit` 0 means TGB_BUF_DEFAULT_LIMIT. */
void tgb_buf_init(tgb_buf *b, size_t limit);

/** Frees the storage; the buffer is empty and usable afterwards. NULL-safe. */
void tgb_buf_free(tgb_buf *b);

/**
 * Makes room for `extra` more bytes. Returns 0, TGB_ERR_LIMIT (len + extra > limit) or
 * TGB_ERR_NOMEM. Pointers into `data` are invalidated when it grows.
 */
int tgb_buf_reserve(tgb_buf *b, size_t extra);

/**
 * Appends `n` uninitialised bytes and returns a pointer to them, or NULL (see
 * tgb_buf_reserve for why). The pointer is valid until the buffer next grows.
 */
static inline uint8_t *tgb_buf_extend(tgb_buf *b, size_t n)
{
    if ((b->cap - b->len < n || !b->data) && tgb_buf_reserve(b, n) != 0)
        return NULL;
    uint8_t *p = b->data + b->len;
    b->len += n;
    return p;
}

/** Appends `n` bytes from `src`. Returns 0 or an error from tgb_buf_reserve(). */
int tgb_buf_append(tgb_buf *b, const void *src, size_t n);

/* Little-endian loads and stores, as TL puts every integer on the wire. */
static inline uint32_t tgb_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t tgb_le64(const uint8_t *p)
{
    return (uint64_t)tgb_le32(p) | (uint64_t)tgb_le32(p + 4) << 32;
}

static inline void tgb_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void tgb_put_le64(uint8_t *p, uint64_t v)
{
    tgb_put_le32(p, (uint32_t)v);
    tgb_put_le32(p + 4, (uint32_t)(v >> 32));
}

#endif
