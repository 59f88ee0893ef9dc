/* Growable byte buffer; see buf.h. */
#include "buf.h"

#include <tgbotapi/tgbotapi.h>

#include <stdlib.h>

void tgb_buf_init(tgb_buf *b, size_t limit)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->limit = limit ? limit : TGB_BUF_DEFAULT_LIMIT;
}

void tgb_buf_free(tgb_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int tgb_buf_reserve(tgb_buf *b, size_t extra)
{
    if (extra > b->limit - b->len)
        return TGB_ERR_LIMIT;
    size_t need = b->len + extra;
    if (need <= b->cap && b->data)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > b->limit / 2 ? b->limit : cap * 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return TGB_ERR_NOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int tgb_buf_append(tgb_buf *b, const void *src, size_t n)
{
    int rc = tgb_buf_reserve(b, n);
    if (rc != 0)
        return rc;
    if (n)
        memcpy(b->data + b->len, src, n);
    b->len += n;
    return 0;
}
