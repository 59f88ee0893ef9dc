/*
 * MTProto 2.0 message protection (https://core.telegram.org/mtproto/description,
 * "Defining AES Key and Initialization Vector" and "Important checks"), and the
 * temporary AES key of the auth-key exchange (https://core.telegram.org/mtproto/auth_key).
 */
#include "crypto.h"

#include <tgbotapi/tgbotapi.h>

#include <openssl/crypto.h>

#include <assert.h>
#include <string.h>

void tgb_auth_key_id(const uint8_t auth_key[256], uint8_t id[8])
{
    uint8_t h[20];
    tgb_sha1(auth_key, 256, h);
    memcpy(id, h + 12, 8);
}

void tgb_auth_key_aux_hash(const uint8_t auth_key[256], uint8_t aux[8])
{
    uint8_t h[20];
    tgb_sha1(auth_key, 256, h);
    memcpy(aux, h, 8);
}

void tgb_mtproto_msg_key(const uint8_t auth_key[256], int x, const uint8_t *plain, size_t len,
                         uint8_t msg_key[16])
{
    /* x is a constant of the caller's role, never a value from the wire. */
    assert(x == TGB_MTPROTO_CLIENT || x == TGB_MTPROTO_SERVER);
    /* msg_key_large = SHA256(substr(auth_key, 88+x, 32) + plaintext + random_padding). */
    tgb_span spans[2] = {{auth_key + 88 + x, 32}, {plain, len}};
    uint8_t large[32];
    tgb_sha256_spans(spans, 2, large);
    memcpy(msg_key, large + 8, 16);
}

void tgb_mtproto_kdf(const uint8_t auth_key[256], const uint8_t msg_key[16], int x,
                     uint8_t aes_key[32], uint8_t aes_iv[32])
{
    assert(x == TGB_MTPROTO_CLIENT || x == TGB_MTPROTO_SERVER);
    uint8_t a[32], b[32];
    tgb_span sa[2] = {{msg_key, 16}, {auth_key + x, 36}};
    tgb_span sb[2] = {{auth_key + 40 + x, 36}, {msg_key, 16}};
    tgb_sha256_spans(sa, 2, a);
    tgb_sha256_spans(sb, 2, b);
    /* aes_key = a[0:8] + b[8:24] + a[24:32]; aes_iv = b[0:8] + a[8:24] + b[24:32]. */
    memcpy(aes_key, a, 8);
    memcpy(aes_key + 8, b + 8, 16);
    memcpy(aes_key + 24, a + 24, 8);
    memcpy(aes_iv, b, 8);
    memcpy(aes_iv + 8, a + 8, 16);
    memcpy(aes_iv + 24, b + 24, 8);
    OPENSSL_cleanse(a, sizeof(a));
    OPENSSL_cleanse(b, sizeof(b));
}

int tgb_mtproto_encrypt(const uint8_t auth_key[256], int x, const uint8_t *plain, size_t len,
                        uint8_t *out)
{
    if (!auth_key || !plain || !out || len < 32 || len % 16)
        return TGB_ERR_INVALID;
    if (x != TGB_MTPROTO_CLIENT && x != TGB_MTPROTO_SERVER)
        return TGB_ERR_INVALID;
    uint8_t key[32], iv[32];
    tgb_auth_key_id(auth_key, out);
    tgb_mtproto_msg_key(auth_key, x, plain, len, out + 8);
    tgb_mtproto_kdf(auth_key, out + 8, x, key, iv);
    int rc = tgb_aes_ige_encrypt(key, iv, plain, out + 24, len);
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(iv, sizeof(iv));
    return rc;
}

int tgb_mtproto_decrypt(const uint8_t auth_key[256], int x, const uint8_t *in, size_t len,
                        uint8_t *out)
{
    if (!auth_key || !in || !out || len < 24 + 16 || (len - 24) % 16)
        return TGB_ERR_INVALID;
    if (x != TGB_MTPROTO_CLIENT && x != TGB_MTPROTO_SERVER)
        return TGB_ERR_INVALID;
    size_t n = len - 24;
    uint8_t id[8], key[32], iv[32], msg_key[16];
    tgb_auth_key_id(auth_key, id);
    /* A message for another key is dropped before any AES work. */
    if (CRYPTO_memcmp(id, in, 8) != 0)
        return TGB_ERR_INTEGRITY;
    tgb_mtproto_kdf(auth_key, in + 8, x, key, iv);
    int rc = tgb_aes_ige_decrypt(key, iv, in + 24, out, n);
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(iv, sizeof(iv));
    if (rc)
        return rc;
    /*
     * "msg_key must be equal to the middle 128 bits of SHA256 ... of the decrypted
     * message" (security guidelines). Constant-time, so timing does not tell an
     * attacker how many leading bytes of a forged msg_key were right.
     */
    tgb_mtproto_msg_key(auth_key, x, out, n, msg_key);
    if (CRYPTO_memcmp(msg_key, in + 8, 16) != 0) {
        /* The caller must not see plaintext that failed authentication. */
        OPENSSL_cleanse(out, n);
        return TGB_ERR_INTEGRITY;
    }
    return 0;
}

void tgb_tmp_aes_from_nonces(const uint8_t new_nonce[32], const uint8_t server_nonce[16],
                             uint8_t key[32], uint8_t iv[32])
{
    /*
     * https://core.telegram.org/mtproto/auth_key, step 5:
     * tmp_aes_key = SHA1(new_nonce + server_nonce) + substr(SHA1(server_nonce + new_nonce), 0, 12)
     * tmp_aes_iv  = substr(SHA1(server_nonce + new_nonce), 12, 8) + SHA1(new_nonce + new_nonce)
     *               + substr(new_nonce, 0, 4)
     */
    uint8_t ns[20], sn[20], nn[20];
    tgb_span s_ns[2] = {{new_nonce, 32}, {server_nonce, 16}};
    tgb_span s_sn[2] = {{server_nonce, 16}, {new_nonce, 32}};
    tgb_span s_nn[2] = {{new_nonce, 32}, {new_nonce, 32}};
    tgb_sha1_spans(s_ns, 2, ns);
    tgb_sha1_spans(s_sn, 2, sn);
    tgb_sha1_spans(s_nn, 2, nn);
    memcpy(key, ns, 20);
    memcpy(key + 20, sn, 12);
    memcpy(iv, sn + 12, 8);
    memcpy(iv + 8, nn, 20);
    memcpy(iv + 28, new_nonce, 4);
    OPENSSL_cleanse(ns, sizeof(ns));
    OPENSSL_cleanse(sn, sizeof(sn));
    OPENSSL_cleanse(nn, sizeof(nn));
}

/* ------------------------------------------------------------------ MTProto 1.0 */

/*
 * MTProto 1.0 survives in one place: auth.bindTempAuthKey's encrypted_message is
 * encrypted with the permanent key the old way (https://core.telegram.org/method/
 * auth.bindTempAuthKey, "Generating encrypted_message"): msg_key is the low 128 bits of
 * SHA1 of the unpadded plaintext, and the key and IV come from four SHA1s
 * (https://core.telegram.org/mtproto/description_v1, "Defining AES Key and IV").
 */
static void kdf_v1(const uint8_t auth_key[256], const uint8_t msg_key[16], int x,
                   uint8_t aes_key[32], uint8_t aes_iv[32])
{
    uint8_t a[20], b[20], c[20], d[20];
    tgb_span sa[2] = {{msg_key, 16}, {auth_key + x, 32}};
    tgb_span sb[3] = {{auth_key + 32 + x, 16}, {msg_key, 16}, {auth_key + 48 + x, 16}};
    tgb_span sc[2] = {{auth_key + 64 + x, 32}, {msg_key, 16}};
    tgb_span sd[2] = {{msg_key, 16}, {auth_key + 96 + x, 32}};
    tgb_sha1_spans(sa, 2, a);
    tgb_sha1_spans(sb, 3, b);
    tgb_sha1_spans(sc, 2, c);
    tgb_sha1_spans(sd, 2, d);
    /* aes_key = a[0:8] + b[8:20] + c[4:16]; aes_iv = a[8:20] + b[0:8] + c[16:20] + d[0:8] */
    memcpy(aes_key, a, 8);
    memcpy(aes_key + 8, b + 8, 12);
    memcpy(aes_key + 20, c + 4, 12);
    memcpy(aes_iv, a + 8, 12);
    memcpy(aes_iv + 12, b, 8);
    memcpy(aes_iv + 20, c + 16, 4);
    memcpy(aes_iv + 24, d, 8);
    OPENSSL_cleanse(a, sizeof(a));
    OPENSSL_cleanse(b, sizeof(b));
    OPENSSL_cleanse(c, sizeof(c));
    OPENSSL_cleanse(d, sizeof(d));
}

int tgb_mtproto1_encrypt(const uint8_t auth_key[256], int x, const uint8_t *plain, size_t len,
                         size_t unpadded, uint8_t *out)
{
    if (!auth_key || !plain || !out || len < 32 || len % 16 || unpadded > len ||
        len - unpadded >= 16 || (x != TGB_MTPROTO_CLIENT && x != TGB_MTPROTO_SERVER))
        return TGB_ERR_INVALID;
    uint8_t hash[20], key[32], iv[32];
    tgb_auth_key_id(auth_key, out);
    tgb_sha1(plain, unpadded, hash);
    memcpy(out + 8, hash + 4, 16);
    kdf_v1(auth_key, out + 8, x, key, iv);
    int rc = tgb_aes_ige_encrypt(key, iv, plain, out + 24, len);
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(iv, sizeof(iv));
    return rc;
}

int tgb_mtproto1_decrypt(const uint8_t auth_key[256], int x, const uint8_t *in, size_t len,
                         uint8_t *out)
{
    if (!auth_key || !in || !out || len < 24 + 32 || (len - 24) % 16 ||
        (x != TGB_MTPROTO_CLIENT && x != TGB_MTPROTO_SERVER))
        return TGB_ERR_INVALID;
    size_t n = len - 24;
    uint8_t id[8], key[32], iv[32], hash[20];
    tgb_auth_key_id(auth_key, id);
    if (CRYPTO_memcmp(id, in, 8) != 0)
        return TGB_ERR_INTEGRITY;
    kdf_v1(auth_key, in + 8, x, key, iv);
    int rc = tgb_aes_ige_decrypt(key, iv, in + 24, out, n);
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(iv, sizeof(iv));
    if (rc)
        return rc;
    /* the unpadded length is the 32-byte header plus the length field at offset 28 */
    uint32_t body = (uint32_t)out[28] | (uint32_t)out[29] << 8 | (uint32_t)out[30] << 16 |
                    (uint32_t)out[31] << 24;
    if (body > n - 32 || n - 32 - body >= 16) {
        OPENSSL_cleanse(out, n);
        return TGB_ERR_INTEGRITY;
    }
    tgb_sha1(out, 32 + body, hash);
    if (CRYPTO_memcmp(hash + 4, in + 8, 16) != 0) {
        OPENSSL_cleanse(out, n);
        return TGB_ERR_INTEGRITY;
    }
    return 0;
}
