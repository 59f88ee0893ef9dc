/* Shared steps of the auth-key exchange; see auth_common.h. */
#include "mtproto/auth_common.h"

#include "base/secure.h"
#include "tl/tl_api.h"

#include <stdlib.h>
#include <string.h>

#define MAX_INNER 1024

void tgb_auth_new_nonce_hash(const uint8_t new_nonce[32], uint8_t n, const uint8_t auth_key[256],
                             uint8_t out[16])
{
    uint8_t aux[8], h[20];
    tgb_auth_key_aux_hash(auth_key, aux);
    tgb_span s[3] = {{new_nonce, 32}, {&n, 1}, {aux, 8}};
    tgb_sha1_spans(s, 3, h);
    memcpy(out, h + 4, 16);
}

size_t tgb_auth_be_minimal(uint64_t v, uint8_t out[8])
{
    size_t n = 0;
    for (int shift = 56; shift >= 0; shift -= 8)
        if (n || (v >> shift) & 0xff || shift == 0)
            out[n++] = (uint8_t)(v >> shift);
    return n;
}

int tgb_auth_send_plain(tgb_msg_id_gen *ids, tgb_time now, int kind, const void *obj, tgb_buf *out)
{
    tgb_buf body;
    tgb_buf_init(&body, 2048);
    int rc = tgb_tl_encode_object(&body, obj, NULL);
    if (!rc)
        rc = tgb_plain_wrap(out, tgb_msg_id_next(ids, now, kind), body.data, body.len);
    tgb_buf_free(&body);
    return rc;
}

int tgb_auth_encrypt_inner(const void *obj, const uint8_t key[32], const uint8_t iv[32],
                           const tgb_random *rnd, tgb_buf *out)
{
    uint8_t plain[MAX_INNER];
    tgb_buf data;
    tgb_buf_init(&data, sizeof(plain) - 20 - 15);
    int rc = tgb_tl_encode_object(&data, obj, NULL);
    size_t len = 0;
    if (!rc) {
        tgb_sha1(data.data, data.len, plain);
        memcpy(plain + 20, data.data, data.len);
        len = 20 + data.len;
        size_t pad = (16 - len % 16) % 16;
        rc = tgb_random_bytes(rnd, plain + len, pad);
        len += pad;
    }
    tgb_wipe(data.data, data.len);
    tgb_buf_free(&data);
    uint8_t *enc = NULL;
    if (!rc) {
        rc = tgb_buf_reserve(out, len);
        if (!rc)
            enc = tgb_buf_extend(out, len);
    }
    if (!rc)
        rc = tgb_aes_ige_encrypt(key, iv, plain, enc, len);
    tgb_wipe(plain, sizeof(plain));
    return rc;
}

int tgb_auth_decrypt_inner(const uint8_t *enc, size_t len, size_t max_len, const uint8_t key[32],
                           const uint8_t iv[32], tgb_arena *arena, const tgb_tl_type *type,
                           tl_object **out)
{
    if (len < 32 || len > max_len || len > MAX_INNER || len % 16)
        return TGB_ERR_PROTOCOL;
    uint8_t plain[MAX_INNER];
    int rc = tgb_aes_ige_decrypt(key, iv, enc, plain, len);
    if (!rc) {
        size_t used = 0;
        uint8_t hash[20];
        rc = tgb_tl_decode_object(&tgb_tl_schema_api, arena, type, plain + 20, len - 20, out, &used,
                                  NULL);
        /* the encoding says where the data ends: the hash covers exactly it, and at most
         * 15 bytes may follow (security_guidelines) */
        if (rc) {
            rc = TGB_ERR_INTEGRITY;
        } else {
            tgb_sha1(plain + 20, used, hash);
            if (!tgb_ct_equal(hash, plain, 20) || len - 20 - used >= 16)
                rc = TGB_ERR_INTEGRITY;
        }
    }
    tgb_wipe(plain, sizeof(plain));
    return rc;
}
