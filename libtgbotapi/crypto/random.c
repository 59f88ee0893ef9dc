/*
 * Randomness: OpenSSL's CSPRNG by default, or a caller-supplied source. Every random
 * byte the crypto module uses (nonces, RSA_PAD padding and temp_key, DH exponents,
 * server pq) goes through tgb_random_bytes, so tests can replay an exchange exactly.
 */
#include "crypto.h"

#include <tgbotapi/tgbotapi.h>

#include <openssl/err.h>
#include <openssl/rand.h>

#include <limits.h>

int tgb_random_openssl(void *user_data, uint8_t *out, size_t len)
{
    (void)user_data;
    /* RAND_bytes takes an int length; larger requests are served in pieces. */
    while (len > 0) {
        int n = len > INT_MAX ? INT_MAX : (int)len;
        if (RAND_bytes(out, n) != 1) {
            ERR_clear_error();
            return TGB_ERR_RANDOM;
        }
        out += n;
        len -= (size_t)n;
    }
    return 0;
}

int tgb_random_bytes(const tgb_random *rnd, uint8_t *out, size_t len)
{
    if (len == 0)
        return 0;
    if (!out)
        return TGB_ERR_INVALID;
    if (!rnd || !rnd->fn)
        return tgb_random_openssl(NULL, out, len);
    int rc = rnd->fn(rnd->user_data, out, len);
    /* A source that breaks its contract with a positive value has still failed. */
    if (rc > 0)
        return TGB_ERR_RANDOM;
    return rc;
}
