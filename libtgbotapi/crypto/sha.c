/*
 * SHA-1 and SHA-256 on EVP. MTProto hashes small pieces on every message (msg_key,
 * the KDF, auth_key_id), so the EVP_MD objects are fetched once per process instead
 * of being looked up by name on every call.
 */
#define _POSIX_C_SOURCE 200809L

#include "crypto.h"

#include <openssl/evp.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static EVP_MD *md_sha1;
static EVP_MD *md_sha256;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_fetch(void)
{
    md_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/*
 * The hash functions are void: hashing bytes already in memory fails only when
 * OpenSSL cannot allocate or has no default provider. Carrying on with a wrong digest
 * would silently break message authentication, so such a failure stops the process.
 */
static void hash_failed(void)
{
    fputs("libtgbotapi: OpenSSL digest failed\n", stderr);
    abort();
}

static void hash_spans(int sha256, const tgb_span *spans, size_t n, uint8_t *out)
{
    pthread_once(&md_once, md_fetch);
    const EVP_MD *md = sha256 ? md_sha256 : md_sha1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!md || !ctx || EVP_DigestInit_ex2(ctx, md, NULL) != 1)
        hash_failed();
    for (size_t i = 0; i < n; i++) {
        if (spans[i].len && EVP_DigestUpdate(ctx, spans[i].data, spans[i].len) != 1)
            hash_failed();
    }
    if (EVP_DigestFinal_ex(ctx, out, NULL) != 1)
        hash_failed();
    EVP_MD_CTX_free(ctx);
}

void tgb_sha1(const void *data, size_t len, uint8_t out[20])
{
    tgb_span span = {data, len};
    hash_spans(0, &span, 1, out);
}

void tgb_sha256(const void *data, size_t len, uint8_t out[32])
{
    tgb_span span = {data, len};
    hash_spans(1, &span, 1, out);
}

void tgb_sha1_spans(const tgb_span *spans, size_t n, uint8_t out[20])
{
    hash_spans(0, spans, n, out);
}

void tgb_sha256_spans(const tgb_span *spans, size_t n, uint8_t out[32])
{
    hash_spans(1, spans, n, out);
}
