/*
 * RSA keys and the two encryption schemes of the auth-key exchange
 * (https://core.telegram.org/mtproto/auth_key, steps 4 and 4.1), on EVP_PKEY with
 * OSSL_DECODER / OSSL_ENCODER for PEM.
 */
#include "crypto.h"

#include <tgbotapi/tgbotapi.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <stdlib.h>
#include <string.h>

/* MTProto's RSA_PAD and the old scheme both fill exactly one 2048-bit block. */
#define RSA_BYTES 256

struct tgb_rsa_key {
    EVP_PKEY *pkey;
    uint8_t n[RSA_BYTES]; /* the modulus, big-endian, for the `< n` checks */
    int has_private;
    uint64_t fingerprint;
};

static int fail(int code)
{
    /* Our callers get the code; the OpenSSL queue must not leak into the next call. */
    ERR_clear_error();
    return code;
}

/* TL `string` serialisation (https://core.telegram.org/mtproto/serialize). */
static size_t tl_string(uint8_t *out, const uint8_t *s, size_t len)
{
    size_t k;
    if (len < 254) {
        out[0] = (uint8_t)len;
        k = 1;
    } else {
        out[0] = 254;
        out[1] = (uint8_t)len;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)(len >> 16);
        k = 4;
    }
    memcpy(out + k, s, len);
    k += len;
    while (k % 4)
        out[k++] = 0;
    return k;
}

/*
 * The fingerprint is SHA1 of rsa_public_key n:string e:string with n and e as
 * big-endian bytes without leading zeros (auth_key, step 3: "the 64 lower-order bits
 * of SHA1 (server_public_key)"); those are SHA1 bytes 12..19, read little-endian.
 */
static int key_finish(tgb_rsa_key *key)
{
    BIGNUM *n = NULL, *e = NULL, *d = NULL;
    int rc = TGB_ERR_RSA_KEY;
    if (!EVP_PKEY_is_a(key->pkey, "RSA") || EVP_PKEY_get_bits(key->pkey) != 2048)
        goto out;
    if (!EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_RSA_N, &n) ||
        !EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_RSA_E, &e))
        goto out;
    if (BN_num_bytes(e) > 16 || BN_bn2binpad(n, key->n, RSA_BYTES) != RSA_BYTES)
        goto out;
    key->has_private = EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_RSA_D, &d) == 1;

    uint8_t eb[16], tl[4 + RSA_BYTES + 4 + 16 + 3], h[20];
    int elen = BN_bn2bin(e, eb);
    size_t k = tl_string(tl, key->n, RSA_BYTES);
    k += tl_string(tl + k, eb, (size_t)elen);
    tgb_sha1(tl, k, h);
    key->fingerprint = 0;
    for (int i = 7; i >= 0; i--)
        key->fingerprint = key->fingerprint << 8 | h[12 + i];
    rc = 0;
out:
    BN_free(n);
    BN_free(e);
    BN_clear_free(d);
    return rc ? fail(rc) : 0;
}

static int key_wrap(tgb_rsa_key **out, EVP_PKEY *pkey)
{
    tgb_rsa_key *key = calloc(1, sizeof(*key));
    if (!key) {
        EVP_PKEY_free(pkey);
        return TGB_ERR_NOMEM;
    }
    key->pkey = pkey;
    int rc = key_finish(key);
    if (rc) {
        tgb_rsa_key_del(key);
        return rc;
    }
    *out = key;
    return 0;
}

/*
 * Encrypted private keys are refused: the library has no passphrase to offer, and it
 * must never fall back to an interactive prompt because of the text it was handed.
 */
static int no_passphrase(char *pass, size_t size, size_t *len, const OSSL_PARAM params[], void *arg)
{
    (void)pass;
    (void)size;
    (void)params;
    (void)arg;
    *len = 0;
    return 0;
}

int tgb_rsa_key_from_pem(tgb_rsa_key **out, const char *pem, size_t len)
{
    if (!out || !pem)
        return TGB_ERR_INVALID;
    *out = NULL;
    EVP_PKEY *pkey = NULL;
    /*
     * No input structure is named, so the decoder accepts PKCS#1 ("RSA PUBLIC KEY",
     * Telegram's format), SubjectPublicKeyInfo and both private-key forms.
     */
    OSSL_DECODER_CTX *dctx =
        OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", NULL, "RSA", 0, NULL, NULL);
    if (!dctx || !OSSL_DECODER_CTX_set_passphrase_cb(dctx, no_passphrase, NULL)) {
        OSSL_DECODER_CTX_free(dctx);
        return fail(TGB_ERR_CRYPTO);
    }
    const unsigned char *data = (const unsigned char *)pem;
    size_t left = len;
    int ok = OSSL_DECODER_from_data(dctx, &data, &left) == 1 && pkey;
    OSSL_DECODER_CTX_free(dctx);
    if (!ok) {
        EVP_PKEY_free(pkey);
        return fail(TGB_ERR_RSA_KEY);
    }
    return key_wrap(out, pkey);
}

int tgb_rsa_key_generate(tgb_rsa_key **out)
{
    if (!out)
        return TGB_ERR_INVALID;
    *out = NULL;
    /* EVP_PKEY_Q_keygen's RSA default public exponent is 65537. */
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    if (!pkey)
        return fail(TGB_ERR_CRYPTO);
    return key_wrap(out, pkey);
}

static int write_pem(const tgb_rsa_key *key, int selection, const char *structure, char **pem,
                     size_t *len)
{
    if (!key || !pem)
        return TGB_ERR_INVALID;
    *pem = NULL;
    OSSL_ENCODER_CTX *ectx =
        OSSL_ENCODER_CTX_new_for_pkey(key->pkey, selection, "PEM", structure, NULL);
    if (!ectx)
        return fail(TGB_ERR_CRYPTO);
    unsigned char *data = NULL;
    size_t n = 0;
    int ok =
        OSSL_ENCODER_CTX_get_num_encoders(ectx) > 0 && OSSL_ENCODER_to_data(ectx, &data, &n) == 1;
    OSSL_ENCODER_CTX_free(ectx);
    if (!ok)
        return fail(TGB_ERR_CRYPTO);
    /* Our contract is malloc/free, not OPENSSL_malloc, and a terminating NUL. */
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, data, n);
        s[n] = '\0';
    }
    OPENSSL_clear_free(data, n);
    if (!s)
        return TGB_ERR_NOMEM;
    *pem = s;
    if (len)
        *len = n;
    return 0;
}

int tgb_rsa_key_public_pem(const tgb_rsa_key *key, char **pem, size_t *len)
{
    /* "type-specific" is PKCS#1, the "BEGIN RSA PUBLIC KEY" form Telegram publishes. */
    return write_pem(key, EVP_PKEY_PUBLIC_KEY, "type-specific", pem, len);
}

int tgb_rsa_key_private_pem(const tgb_rsa_key *key, char **pem, size_t *len)
{
    if (key && !key->has_private)
        return TGB_ERR_RSA_KEY;
    return write_pem(key, EVP_PKEY_KEYPAIR, "PrivateKeyInfo", pem, len);
}

int tgb_rsa_key_has_private(const tgb_rsa_key *key)
{
    return key && key->has_private;
}

uint64_t tgb_rsa_key_fingerprint(const tgb_rsa_key *key)
{
    return key ? key->fingerprint : 0;
}

void tgb_rsa_key_del(tgb_rsa_key *key)
{
    if (!key)
        return;
    EVP_PKEY_free(key->pkey);
    free(key);
}

/*
 * Raw RSA through EVP_PKEY with RSA_NO_PADDING: the private operation then gets
 * OpenSSL's CRT, blinding and constant-time exponentiation.
 */
static int raw_op(const tgb_rsa_key *key, int private_op, const uint8_t in[256], uint8_t out[256])
{
    if (!key || !in || !out)
        return TGB_ERR_INVALID;
    if (private_op && !key->has_private)
        return TGB_ERR_RSA_KEY;
    /* Both are 256-byte big-endian numbers, so byte order is numeric order. */
    if (memcmp(in, key->n, RSA_BYTES) >= 0)
        return TGB_ERR_INVALID;
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
    if (!pctx)
        return fail(TGB_ERR_CRYPTO);
    uint8_t buf[RSA_BYTES];
    size_t n = sizeof(buf);
    int ok;
    if (private_op)
        ok = EVP_PKEY_decrypt_init(pctx) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_NO_PADDING) == 1 &&
             EVP_PKEY_decrypt(pctx, buf, &n, in, RSA_BYTES) == 1;
    else
        ok = EVP_PKEY_encrypt_init(pctx) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_NO_PADDING) == 1 &&
             EVP_PKEY_encrypt(pctx, buf, &n, in, RSA_BYTES) == 1;
    EVP_PKEY_CTX_free(pctx);
    if (!ok || n > RSA_BYTES) {
        OPENSSL_cleanse(buf, sizeof(buf));
        return fail(TGB_ERR_CRYPTO);
    }
    /* OpenSSL returns the full modulus width, but the contract is left-zero-padded. */
    memset(out, 0, RSA_BYTES - n);
    memcpy(out + RSA_BYTES - n, buf, n);
    OPENSSL_cleanse(buf, sizeof(buf));
    return 0;
}

int tgb_rsa_public_raw(const tgb_rsa_key *key, const uint8_t in[256], uint8_t out[256])
{
    return raw_op(key, 0, in, out);
}

int tgb_rsa_private_raw(const tgb_rsa_key *key, const uint8_t in[256], uint8_t out[256])
{
    return raw_op(key, 1, in, out);
}

/*
 * A bounded retry count: each attempt is below n with probability n / 2^2048 > 1/2,
 * so 64 failures in a row mean the random source repeats itself, not bad luck.
 */
#define RSA_PAD_TRIES 64

int tgb_rsa_pad_encrypt(const tgb_rsa_key *key, const uint8_t *data, size_t len,
                        const tgb_random *rnd, uint8_t out[256])
{
    if (!key || (len && !data) || !out || len > 144)
        return TGB_ERR_INVALID;
    /* https://core.telegram.org/mtproto/auth_key, step 4.1 (RSA_PAD). */
    uint8_t padded[192], reversed[192], temp_key[32], with_hash[224], h[32];
    uint8_t block[RSA_BYTES];
    int rc;
    if (len)
        memcpy(padded, data, len);
    rc = tgb_random_bytes(rnd, padded + len, sizeof(padded) - len);
    if (rc)
        goto out;
    for (size_t i = 0; i < 192; i++)
        reversed[i] = padded[191 - i];
    rc = TGB_ERR_RANDOM;
    for (int attempt = 0; attempt < RSA_PAD_TRIES; attempt++) {
        int r = tgb_random_bytes(rnd, temp_key, sizeof(temp_key));
        if (r) {
            rc = r;
            goto out;
        }
        /* data_with_hash = data_pad_reversed + SHA256(temp_key + data_with_padding) */
        tgb_span s[2] = {{temp_key, 32}, {padded, 192}};
        memcpy(with_hash, reversed, 192);
        tgb_sha256_spans(s, 2, with_hash + 192);
        /* aes_encrypted = AES256_IGE(data_with_hash, temp_key, 32 zero bytes) */
        static const uint8_t zero_iv[32];
        r = tgb_aes_ige_encrypt(temp_key, zero_iv, with_hash, block + 32, 224);
        if (r) {
            rc = r;
            goto out;
        }
        /* temp_key_xor = temp_key XOR SHA256(aes_encrypted) */
        tgb_sha256(block + 32, 224, h);
        for (size_t i = 0; i < 32; i++)
            block[i] = temp_key[i] ^ h[i];
        /* key_aes_encrypted must be below n, else the step retries with a new temp_key. */
        if (memcmp(block, key->n, RSA_BYTES) < 0) {
            rc = tgb_rsa_public_raw(key, block, out);
            goto out;
        }
    }
out:
    OPENSSL_cleanse(padded, sizeof(padded));
    OPENSSL_cleanse(reversed, sizeof(reversed));
    OPENSSL_cleanse(temp_key, sizeof(temp_key));
    OPENSSL_cleanse(with_hash, sizeof(with_hash));
    OPENSSL_cleanse(block, sizeof(block));
    return rc;
}

int tgb_rsa_pad_decrypt(const tgb_rsa_key *key, const uint8_t in[256], uint8_t out[192])
{
    if (!key || !in || !out)
        return TGB_ERR_INVALID;
    uint8_t block[RSA_BYTES], temp_key[32], with_hash[224], padded[192], h[32];
    static const uint8_t zero_iv[32];
    int rc = tgb_rsa_private_raw(key, in, block);
    if (rc)
        goto out;
    /* temp_key = temp_key_xor XOR SHA256(aes_encrypted) */
    tgb_sha256(block + 32, 224, h);
    for (size_t i = 0; i < 32; i++)
        temp_key[i] = block[i] ^ h[i];
    rc = tgb_aes_ige_decrypt(temp_key, zero_iv, block + 32, with_hash, 224);
    if (rc)
        goto out;
    for (size_t i = 0; i < 192; i++)
        padded[i] = with_hash[191 - i];
    tgb_span s[2] = {{temp_key, 32}, {padded, 192}};
    tgb_sha256_spans(s, 2, h);
    if (CRYPTO_memcmp(h, with_hash + 192, 32) != 0) {
        rc = TGB_ERR_INTEGRITY;
        goto out;
    }
    memcpy(out, padded, 192);
out:
    OPENSSL_cleanse(block, sizeof(block));
    OPENSSL_cleanse(temp_key, sizeof(temp_key));
    OPENSSL_cleanse(with_hash, sizeof(with_hash));
    OPENSSL_cleanse(padded, sizeof(padded));
    return rc;
}

/*
 * The scheme of the pre-2022 auth_key page: data_with_hash = SHA1(data) + data +
 * random bytes to 255 bytes, raised to e mod n. As a 256-byte number it starts with a
 * zero byte, so it is always below a 2048-bit n.
 */
int tgb_rsa_old_encrypt(const tgb_rsa_key *key, const uint8_t *data, size_t len,
                        const tgb_random *rnd, uint8_t out[256])
{
    if (!key || (len && !data) || !out || len > 235)
        return TGB_ERR_INVALID;
    uint8_t block[RSA_BYTES];
    block[0] = 0;
    tgb_sha1(data, len, block + 1);
    if (len)
        memcpy(block + 21, data, len);
    int rc = tgb_random_bytes(rnd, block + 21 + len, sizeof(block) - 21 - len);
    if (!rc)
        rc = tgb_rsa_public_raw(key, block, out);
    OPENSSL_cleanse(block, sizeof(block));
    return rc;
}

int tgb_rsa_old_decrypt(const tgb_rsa_key *key, const uint8_t in[256], uint8_t sha1[20],
                        uint8_t out[235])
{
    if (!key || !in || !sha1 || !out)
        return TGB_ERR_INVALID;
    uint8_t block[RSA_BYTES];
    int rc = tgb_rsa_private_raw(key, in, block);
    /* A client that followed the scheme sent a 255-byte value: the top byte is zero. */
    if (!rc && block[0] != 0)
        rc = TGB_ERR_INTEGRITY;
    if (!rc) {
        memcpy(sha1, block + 1, 20);
        memcpy(out, block + 21, 235);
    }
    OPENSSL_cleanse(block, sizeof(block));
    return rc;
}
