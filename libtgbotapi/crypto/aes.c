/*
 * AES-256 in the modes MTProto needs, on EVP (AES-NI where the CPU has it):
 *
 * - IGE (https://core.telegram.org/mtproto/description, "Defining AES Key and
 *   Initialization Vector"): c_i = E(p_i ^ c_{i-1}) ^ p_{i-1}, with c_0 = iv[0..16]
 *   and p_0 = iv[16..32]. OpenSSL 3 has IGE only in the deprecated AES_ige_encrypt, so
 *   it is built here from CBC (encryption) and ECB (decryption).
 * - CTR, a stream state for the obfuscated transports
 *   (https://core.telegram.org/mtproto/mtproto-transports, "Transport obfuscation").
 * - CBC encryption, the reference figure for the IGE benchmark.
 */
#define _POSIX_C_SOURCE 200809L

#include "crypto.h"

#include <tgbotapi/tgbotapi.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Fetched once: looking a cipher up by name takes locks and costs more than a block. */
static EVP_CIPHER *cipher_cbc;
static EVP_CIPHER *cipher_ecb;
static EVP_CIPHER *cipher_ctr;
static pthread_once_t cipher_once = PTHREAD_ONCE_INIT;

/*
 * Each thread keeps one CBC-encrypt and one ECB-decrypt context and only re-keys
 * them per call: a fresh context per call made a 64-byte message 1.5-1.7 times
 * slower (bench/bench_aes.c). The pthread key frees them when the thread exits.
 * A context keeps the last key schedule until the next call; that key was derived
 * from an auth_key or nonces the process holds anyway, so this adds no exposure.
 */
typedef struct aes_thread {
    EVP_CIPHER_CTX *cbc_enc;
    EVP_CIPHER_CTX *ecb_dec;
} aes_thread;

static pthread_key_t thread_key;
static int thread_key_ok;
static _Thread_local aes_thread *thread_ctx;

static void thread_free(void *p)
{
    aes_thread *t = p;
    EVP_CIPHER_CTX_free(t->cbc_enc);
    EVP_CIPHER_CTX_free(t->ecb_dec);
    free(t);
    thread_ctx = NULL;
}

static void cipher_fetch(void)
{
    cipher_cbc = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
    cipher_ecb = EVP_CIPHER_fetch(NULL, "AES-256-ECB", NULL);
    cipher_ctr = EVP_CIPHER_fetch(NULL, "AES-256-CTR", NULL);
    thread_key_ok = pthread_key_create(&thread_key, thread_free) == 0;
}

static int ciphers_ready(void)
{
    pthread_once(&cipher_once, cipher_fetch);
    return cipher_cbc && cipher_ecb && cipher_ctr && thread_key_ok;
}

/*
 * Binds a context to its cipher once, so later calls re-key it with cipher == NULL.
 * Padding is left alone: EVP_Cipher never pads, and once EVP_CIPHER_CTX_set_padding
 * has been called OpenSSL 3.0 repeats it (a parameter lookup) on every re-key.
 */
static EVP_CIPHER_CTX *ctx_new(const EVP_CIPHER *cipher, int enc)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return NULL;
    if (EVP_CipherInit_ex2(ctx, cipher, NULL, NULL, enc, NULL) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static aes_thread *thread_get(void)
{
    if (thread_ctx)
        return thread_ctx;
    if (!ciphers_ready())
        return NULL;
    aes_thread *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->cbc_enc = ctx_new(cipher_cbc, 1);
    t->ecb_dec = ctx_new(cipher_ecb, 0);
    if (!t->cbc_enc || !t->ecb_dec || pthread_setspecific(thread_key, t) != 0) {
        thread_free(t);
        return NULL;
    }
    thread_ctx = t;
    return t;
}

static int crypto_error(void)
{
    ERR_clear_error();
    return TGB_ERR_CRYPTO;
}

/*
 * Re-keys a context bound by ctx_new. Passing cipher == NULL keeps the provider's
 * cipher context: with the cipher given, OpenSSL frees and recreates it and consults
 * the ENGINE table under a global lock.
 */
static int ctx_rekey(EVP_CIPHER_CTX *ctx, const uint8_t *key, const uint8_t *iv, int enc)
{
    if (EVP_CipherInit_ex2(ctx, NULL, key, iv, enc, NULL) != 1)
        return crypto_error();
    return 0;
}

static inline void xor16(uint8_t *out, const uint8_t *a, const uint8_t *b)
{
    uint64_t a0, a1, b0, b1;
    memcpy(&a0, a, 8);
    memcpy(&a1, a + 8, 8);
    memcpy(&b0, b, 8);
    memcpy(&b1, b + 8, 8);
    a0 ^= b0;
    a1 ^= b1;
    memcpy(out, &a0, 8);
    memcpy(out + 8, &a1, 8);
}

/*
 * Chunk for IGE encryption: the three passes below each run over data that is still
 * in L1, and an in-place call needs a scratch buffer of this size on the stack.
 */
#define IGE_CHUNK 4096

/*
 * IGE encryption as one CBC pass. With y_i = E(p_i ^ c_{i-1}) the IGE output is
 * c_i = y_i ^ p_{i-1}, so c_{i-1} = y_{i-1} ^ p_{i-2} and
 *     y_i = E((p_i ^ p_{i-2}) ^ y_{i-1}),
 * which is CBC encryption of q_i = p_i ^ p_{i-2} under IV c_0, where p_{-1} = 0 (so
 * q_1 = p_1) and p_0 = iv[16..32]. CBC runs at full AES-NI speed inside OpenSSL; the
 * two XOR passes around it are cheap.
 */
int tgb_aes_ige_encrypt(const uint8_t key[32], const uint8_t iv[32], const uint8_t *in,
                        uint8_t *out, size_t len)
{
    if (!key || !iv || (len && (!in || !out)) || len % 16)
        return TGB_ERR_INVALID;
    if (len == 0)
        return 0;
    aes_thread *t = thread_get();
    if (!t)
        return TGB_ERR_CRYPTO;
    int rc = ctx_rekey(t->cbc_enc, key, iv, 1);
    if (rc)
        return rc;

    uint8_t scratch[IGE_CHUNK];
    uint8_t pm2[16] = {0}; /* p_{i-2} for the first block of the chunk */
    uint8_t pm1[16];       /* p_{i-1} for the first block of the chunk */
    memcpy(pm1, iv + 16, 16);

    for (size_t off = 0; off < len; off += IGE_CHUNK) {
        size_t n = len - off < IGE_CHUNK ? len - off : IGE_CHUNK;
        const uint8_t *p = in + off;
        uint8_t *c = out + off;
        /* In place, q must not overwrite plaintext still needed for c_i. */
        uint8_t *q = in == out ? scratch : c;

        xor16(q, p, pm2);
        if (n > 16)
            xor16(q + 16, p + 16, pm1);
        for (size_t j = 32; j < n; j += 16)
            xor16(q + j, p + j, p + j - 32);

        if (EVP_Cipher(t->cbc_enc, q, q, (unsigned)n) <= 0)
            return crypto_error();

        uint8_t prev[16];
        memcpy(prev, pm1, 16);
        if (n > 16) {
            memcpy(pm2, p + n - 32, 16);
            memcpy(pm1, p + n - 16, 16);
        } else {
            memcpy(pm2, pm1, 16);
            memcpy(pm1, p, 16);
        }
        /* c_i = y_i ^ p_{i-1}; p_i is read before c_i may overwrite it. */
        for (size_t j = 0; j < n; j += 16) {
            uint8_t cur[16];
            memcpy(cur, p + j, 16);
            xor16(c + j, q + j, prev);
            memcpy(prev, cur, 16);
        }
    }
    if (in == out)
        OPENSSL_cleanse(scratch, len < IGE_CHUNK ? len : IGE_CHUNK);
    return 0;
}

/*
 * IGE decryption, p_i = D(c_i ^ p_{i-1}) ^ c_{i-1}, is sequential through D: each
 * block's input depends on the previous block's output, so no EVP mode computes it in
 * one call. Where the CPU has AES-NI, aes_ni.c runs the chain on the instructions
 * directly; elsewhere it runs here, one ECB block per EVP_Cipher call, the thinnest EVP
 * entry point (no padding or partial-block bookkeeping, unlike EVP_CipherUpdate).
 */
int tgb_aes_ige_decrypt(const uint8_t key[32], const uint8_t iv[32], const uint8_t *in,
                        uint8_t *out, size_t len)
{
    if (!key || !iv || (len && (!in || !out)) || len % 16)
        return TGB_ERR_INVALID;
    if (len == 0)
        return 0;
    if (tgb_aes_ni_available())
        return tgb_aes_ni_ige_decrypt(key, iv, in, out, len);
    return tgb_aes_ige_decrypt_evp(key, iv, in, out, len);
}

int tgb_aes_ige_decrypt_evp(const uint8_t key[32], const uint8_t iv[32], const uint8_t *in,
                            uint8_t *out, size_t len)
{
    if (!key || !iv || (len && (!in || !out)) || len % 16)
        return TGB_ERR_INVALID;
    if (len == 0)
        return 0;
    aes_thread *t = thread_get();
    if (!t)
        return TGB_ERR_CRYPTO;
    int rc = ctx_rekey(t->ecb_dec, key, NULL, 0);
    if (rc)
        return rc;

    uint8_t c_prev[16], p_prev[16], block[16];
    memcpy(c_prev, iv, 16);
    memcpy(p_prev, iv + 16, 16);
    for (size_t j = 0; j < len; j += 16) {
        uint8_t c_cur[16];
        memcpy(c_cur, in + j, 16);
        xor16(block, c_cur, p_prev);
        if (EVP_Cipher(t->ecb_dec, block, block, 16) <= 0)
            return crypto_error();
        xor16(p_prev, block, c_prev);
        memcpy(out + j, p_prev, 16);
        memcpy(c_prev, c_cur, 16);
    }
    OPENSSL_cleanse(block, sizeof(block));
    OPENSSL_cleanse(p_prev, sizeof(p_prev));
    return 0;
}

int tgb_aes_cbc_encrypt(const uint8_t key[32], const uint8_t iv[16], const uint8_t *in,
                        uint8_t *out, size_t len)
{
    if (!key || !iv || (len && (!in || !out)) || len % 16)
        return TGB_ERR_INVALID;
    if (len == 0)
        return 0;
    aes_thread *t = thread_get();
    if (!t)
        return TGB_ERR_CRYPTO;
    int rc = ctx_rekey(t->cbc_enc, key, iv, 1);
    if (rc)
        return rc;
    /* EVP_Cipher takes an unsigned int; the context carries the chain across pieces. */
    for (size_t off = 0; off < len;) {
        size_t n = len - off > (1u << 30) ? (1u << 30) : len - off;
        if (EVP_Cipher(t->cbc_enc, out + off, in + off, (unsigned)n) <= 0)
            return crypto_error();
        off += n;
    }
    return 0;
}

/* ------------------------------------------------------------------ CTR */

struct tgb_aes_ctr {
    EVP_CIPHER_CTX *ctx;
};

int tgb_aes_ctr_new(tgb_aes_ctr **out, const uint8_t key[32], const uint8_t iv[16])
{
    if (!out || !key || !iv)
        return TGB_ERR_INVALID;
    *out = NULL;
    if (!ciphers_ready())
        return TGB_ERR_CRYPTO;
    tgb_aes_ctr *ctr = calloc(1, sizeof(*ctr));
    if (!ctr)
        return TGB_ERR_NOMEM;
    ctr->ctx = EVP_CIPHER_CTX_new();
    if (!ctr->ctx) {
        free(ctr);
        return TGB_ERR_NOMEM;
    }
    if (EVP_CipherInit_ex2(ctr->ctx, cipher_ctr, key, iv, 1, NULL) != 1) {
        tgb_aes_ctr_del(ctr);
        return crypto_error();
    }
    *out = ctr;
    return 0;
}

int tgb_aes_ctr_apply(tgb_aes_ctr *ctr, const uint8_t *in, uint8_t *out, size_t len)
{
    if (!ctr || (len && (!in || !out)))
        return TGB_ERR_INVALID;
    /* EVP_CipherUpdate keeps the key-stream position (num) between calls. */
    for (size_t off = 0; off < len;) {
        size_t n = len - off > (1u << 30) ? (1u << 30) : len - off;
        int outl = 0;
        if (EVP_CipherUpdate(ctr->ctx, out + off, &outl, in + off, (int)n) != 1 ||
            (size_t)outl != n)
            return crypto_error();
        off += n;
    }
    return 0;
}

void tgb_aes_ctr_del(tgb_aes_ctr *ctr)
{
    if (!ctr)
        return;
    EVP_CIPHER_CTX_free(ctr->ctx);
    free(ctr);
}
