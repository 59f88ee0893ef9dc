/* Message ids, unencrypted messages and sealing encrypted ones; see message.h. */
#include "mtproto/message.h"

#include <string.h>

void tgb_msg_id_gen_init(tgb_msg_id_gen *g)
{
    g->offset_us = 0;
    g->last = 0;
}

uint64_t tgb_msg_id_from_time(tgb_time t)
{
    if (t < 0)
        t = 0;
    uint64_t sec = (uint64_t)(t / 1000000), us = (uint64_t)(t % 1000000);
    /* the fraction of a second, in units of 2^-32 s */
    uint64_t frac = (us << 32) / 1000000;
    return (sec << 32 | frac) & ~(uint64_t)3;
}

uint64_t tgb_msg_id_next(tgb_msg_id_gen *g, tgb_time now, int kind)
{
    uint64_t id = tgb_msg_id_from_time(now + g->offset_us) | (uint64_t)(kind & 3);
    if (id <= g->last)
        id = ((g->last + 4) & ~(uint64_t)3) | (uint64_t)(kind & 3);
    g->last = id;
    return id;
}

void tgb_msg_id_sync(tgb_msg_id_gen *g, uint64_t server_msg_id, tgb_time now)
{
    g->offset_us = tgb_msg_id_time_us(server_msg_id) - now;
}

int tgb_plain_wrap(tgb_buf *out, uint64_t msg_id, const uint8_t *body, size_t len)
{
    if (len > UINT32_MAX)
        return TGB_ERR_INVALID;
    int rc = tgb_buf_reserve(out, 20 + len);
    if (rc)
        return rc;
    uint8_t *p = tgb_buf_extend(out, 20 + len);
    memset(p, 0, 8);
    tgb_put_le64(p + 8, msg_id);
    tgb_put_le32(p + 16, (uint32_t)len);
    if (len)
        memcpy(p + 20, body, len);
    return 0;
}

int tgb_plain_unwrap(const uint8_t *packet, size_t len, uint64_t *msg_id, const uint8_t **body,
                     size_t *body_len)
{
    if (len < 20 || tgb_le64(packet) != 0)
        return TGB_ERR_PROTOCOL;
    uint32_t n = tgb_le32(packet + 16);
    if (n > len - 20)
        return TGB_ERR_PROTOCOL;
    *msg_id = tgb_le64(packet + 8);
    *body = packet + 20;
    *body_len = n;
    return 0;
}

int tgb_encrypted_wrap(tgb_buf *plain, const tgb_msg_header *h, const uint8_t auth_key[256], int x,
                       const tgb_random *rnd, tgb_buf *out)
{
    if (plain->len < 32 || plain->len - 32 > UINT32_MAX)
        return TGB_ERR_INVALID;
    tgb_put_le64(plain->data, (uint64_t)h->salt);
    tgb_put_le64(plain->data + 8, h->session_id);
    tgb_put_le64(plain->data + 16, h->msg_id);
    tgb_put_le32(plain->data + 24, h->seqno);
    tgb_put_le32(plain->data + 28, (uint32_t)(plain->len - 32));

    size_t pad = 12 + (16 - (plain->len + 12) % 16) % 16;
    uint8_t *p = tgb_buf_extend(plain, pad);
    if (!p)
        return TGB_ERR_NOMEM;
    int rc = tgb_random_bytes(rnd, p, pad);
    if (rc)
        return rc;
    if ((rc = tgb_buf_reserve(out, 24 + plain->len)) != 0)
        return rc;
    p = tgb_buf_extend(out, 24 + plain->len);
    if ((rc = tgb_mtproto_encrypt(auth_key, x, plain->data, plain->len, p)) != 0)
        out->len -= 24 + plain->len;
    return rc;
}
