/*
 * AES-256 throughput through the crypto module: IGE encrypt, IGE decrypt, the two
 * back to back, and CBC encrypt on the same EVP path as the reference IGE is held to.
 * Every call re-keys, as MTProto does for each message. Prints one line per figure:
 *
 *     <op> <bytes> <MB/s>          (1 MB = 10^6 bytes)
 *
 * bench/run_aes.sh puts these next to `openssl speed -evp aes-256-cbc`.
 * Usage: bench_aes [seconds per figure, default 1]
 */

#include "crypto/crypto.h"

#include <tgbotapi/tgbotapi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { OP_IGE_ENC, OP_IGE_ENC_INPLACE, OP_IGE_DEC, OP_IGE_DEC_EVP, OP_IGE_ENC_DEC, OP_CBC_ENC };

static const char *const op_names[] = {"ige-encrypt",     "ige-encrypt-inplace", "ige-decrypt",
                                       "ige-decrypt-evp", "ige-enc+dec",         "cbc-encrypt"};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run_once(int op, const uint8_t *key, const uint8_t *iv, uint8_t *a, uint8_t *b,
                    size_t size)
{
    switch (op) {
    case OP_IGE_ENC: return tgb_aes_ige_encrypt(key, iv, a, b, size);
    case OP_IGE_ENC_INPLACE: return tgb_aes_ige_encrypt(key, iv, a, a, size);
    case OP_IGE_DEC: return tgb_aes_ige_decrypt(key, iv, a, b, size);
    case OP_IGE_DEC_EVP: return tgb_aes_ige_decrypt_evp(key, iv, a, b, size);
    case OP_IGE_ENC_DEC: {
        int rc = tgb_aes_ige_encrypt(key, iv, a, b, size);
        return rc ? rc : tgb_aes_ige_decrypt(key, iv, b, a, size);
    }
    case OP_CBC_ENC: return tgb_aes_cbc_encrypt(key, iv, a, b, size);
    default: return TGB_ERR_INVALID;
    }
}

/*
 * MB/s of message bytes: for ige-enc+dec one message is encrypted and decrypted
 * again, so that figure is 1 / (1/enc + 1/dec).
 */
static double measure(int op, size_t size, double seconds)
{
    uint8_t key[32], iv[32];
    uint8_t *a = malloc(size), *b = malloc(size);
    if (!a || !b) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < 32; i++) {
        key[i] = (uint8_t)(i * 7 + 1);
        iv[i] = (uint8_t)(i * 13 + 5);
    }
    for (size_t i = 0; i < size; i++)
        a[i] = (uint8_t)i;

    /* Warm up caches, the per-thread contexts and the CPU clock. */
    double t0 = now();
    while (now() - t0 < 0.05)
        run_once(op, key, iv, a, b, size);

    /* Check the clock every batch of about 64 KiB so that reading it costs nothing. */
    size_t batch = size >= 65536 ? 1 : 65536 / size;
    unsigned long long calls = 0;
    double elapsed;
    t0 = now();
    do {
        for (size_t i = 0; i < batch; i++) {
            int rc = run_once(op, key, iv, a, b, size);
            if (rc) {
                fprintf(stderr, "%s failed: %s\n", op_names[op], tgb_strerror(rc));
                exit(1);
            }
        }
        calls += batch;
        elapsed = now() - t0;
    } while (elapsed < seconds);
    free(a);
    free(b);
    return (double)calls * (double)size / elapsed / 1e6;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    if (seconds <= 0)
        seconds = 1.0;
    static const size_t sizes[] = {64, 1024, 16384};
    printf("# AES-256 via libtgbotapi crypto, re-keyed per call, %.2f s per figure\n", seconds);
    printf("# op bytes MB/s (1 MB = 10^6 bytes)\n");
    for (int op = OP_IGE_ENC; op <= OP_CBC_ENC; op++) {
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            printf("%s %zu %.1f\n", op_names[op], sizes[i], measure(op, sizes[i], seconds));
            fflush(stdout);
        }
    }
    return 0;
}
