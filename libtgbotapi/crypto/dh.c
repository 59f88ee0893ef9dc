/*
 * Diffie-Hellman of the auth-key exchange (https://core.telegram.org/mtproto/auth_key,
 * steps 5-8, and https://core.telegram.org/mtproto/security_guidelines, "g, g_a, g_b
 * checks") on BIGNUM.
 */
#include "crypto.h"

#include <tgbotapi/tgbotapi.h>

#include <openssl/bn.h>
#include <openssl/err.h>

#include <string.h>

/*
 * The dh_prime Telegram's servers send with g = 3; taken from server_DH_inner_data
 * of the official example (https://core.telegram.org/mtproto/samples-auth_key).
 */
const uint8_t tgb_dh_telegram_prime[256] = {
    0xc7, 0x1c, 0xae, 0xb9, 0xc6, 0xb1, 0xc9, 0x04, 0x8e, 0x6c, 0x52, 0x2f, 0x70, 0xf1, 0x3f, 0x73,
    0x98, 0x0d, 0x40, 0x23, 0x8e, 0x3e, 0x21, 0xc1, 0x49, 0x34, 0xd0, 0x37, 0x56, 0x3d, 0x93, 0x0f,
    0x48, 0x19, 0x8a, 0x0a, 0xa7, 0xc1, 0x40, 0x58, 0x22, 0x94, 0x93, 0xd2, 0x25, 0x30, 0xf4, 0xdb,
    0xfa, 0x33, 0x6f, 0x6e, 0x0a, 0xc9, 0x25, 0x13, 0x95, 0x43, 0xae, 0xd4, 0x4c, 0xce, 0x7c, 0x37,
    0x20, 0xfd, 0x51, 0xf6, 0x94, 0x58, 0x70, 0x5a, 0xc6, 0x8c, 0xd4, 0xfe, 0x6b, 0x6b, 0x13, 0xab,
    0xdc, 0x97, 0x46, 0x51, 0x29, 0x69, 0x32, 0x84, 0x54, 0xf1, 0x8f, 0xaf, 0x8c, 0x59, 0x5f, 0x64,
    0x24, 0x77, 0xfe, 0x96, 0xbb, 0x2a, 0x94, 0x1d, 0x5b, 0xcd, 0x1d, 0x4a, 0xc8, 0xcc, 0x49, 0x88,
    0x07, 0x08, 0xfa, 0x9b, 0x37, 0x8e, 0x3c, 0x4f, 0x3a, 0x90, 0x60, 0xbe, 0xe6, 0x7c, 0xf9, 0xa4,
    0xa4, 0xa6, 0x95, 0x81, 0x10, 0x51, 0x90, 0x7e, 0x16, 0x27, 0x53, 0xb5, 0x6b, 0x0f, 0x6b, 0x41,
    0x0d, 0xba, 0x74, 0xd8, 0xa8, 0x4b, 0x2a, 0x14, 0xb3, 0x14, 0x4e, 0x0e, 0xf1, 0x28, 0x47, 0x54,
    0xfd, 0x17, 0xed, 0x95, 0x0d, 0x59, 0x65, 0xb4, 0xb9, 0xdd, 0x46, 0x58, 0x2d, 0xb1, 0x17, 0x8d,
    0x16, 0x9c, 0x6b, 0xc4, 0x65, 0xb0, 0xd6, 0xff, 0x9c, 0xa3, 0x92, 0x8f, 0xef, 0x5b, 0x9a, 0xe4,
    0xe4, 0x18, 0xfc, 0x15, 0xe8, 0x3e, 0xbe, 0xa0, 0xf8, 0x7f, 0xa9, 0xff, 0x5e, 0xed, 0x70, 0x05,
    0x0d, 0xed, 0x28, 0x49, 0xf4, 0x7b, 0xf9, 0x59, 0xd9, 0x56, 0x85, 0x0c, 0xe9, 0x29, 0x85, 0x1f,
    0x0d, 0x81, 0x15, 0xf6, 0x35, 0xb1, 0x05, 0xee, 0x2e, 0x4e, 0x15, 0xd0, 0x4b, 0x24, 0x54, 0xbf,
    0x6f, 0x4f, 0xad, 0xf0, 0x34, 0xb1, 0x04, 0x03, 0x11, 0x9c, 0xd8, 0xe3, 0xb9, 0x2f, 0xcc, 0x5b,
};

static int fail(int code)
{
    ERR_clear_error();
    return code;
}

/* 1 if p is a safe prime: p and (p-1)/2 both prime. */
static int is_safe_prime(const BIGNUM *p, BN_CTX *ctx)
{
    /*
     * BN_check_prime runs trial division and 64 Miller-Rabin rounds at 2048 bits:
     * about 0.2 s on one core for both numbers of a real safe prime (measured on a
     * 2020s x86 server), far less for a composite, which most often fails trial
     * division or the first round. This is why the known prime skips it; callers may
     * cache any other prime once it has passed.
     */
    BIGNUM *q = BN_CTX_get(ctx);
    if (!q || !BN_rshift1(q, p))
        return -1;
    int r = BN_check_prime(p, ctx, NULL);
    if (r != 1)
        return r;
    return BN_check_prime(q, ctx, NULL);
}

/*
 * g generates the cyclic subgroup of prime order (p-1)/2 when it is a quadratic
 * residue mod p; by quadratic reciprocity that is a congruence on p for each small g
 * (auth_key, "client checks"): g = 2: p mod 8 = 7; g = 3: p mod 3 = 2; g = 4 always;
 * g = 5: p mod 5 in {1, 4}; g = 6: p mod 24 in {19, 23}; g = 7: p mod 7 in {3, 5, 6}.
 */
static int residue_ok(const BIGNUM *p, int g)
{
    switch (g) {
    case 2: return BN_mod_word(p, 8) == 7;
    case 3: return BN_mod_word(p, 3) == 2;
    case 4: return 1;
    case 5: {
        BN_ULONG r = BN_mod_word(p, 5);
        return r == 1 || r == 4;
    }
    case 6: {
        BN_ULONG r = BN_mod_word(p, 24);
        return r == 19 || r == 23;
    }
    case 7: {
        BN_ULONG r = BN_mod_word(p, 7);
        return r == 3 || r == 5 || r == 6;
    }
    default: return 0;
    }
}

int tgb_dh_check_params(const uint8_t *prime, size_t prime_len, int g)
{
    /* A cap on peer input; a 256-byte prime never needs that much zero padding. */
    if (!prime || prime_len == 0 || prime_len > 1024)
        return TGB_ERR_DH_PARAMS;
    if (g < 2 || g > 7)
        return TGB_ERR_DH_PARAMS;
    BN_CTX *ctx = BN_CTX_new();
    if (!ctx)
        return TGB_ERR_NOMEM;
    BN_CTX_start(ctx);
    BIGNUM *p = BN_CTX_get(ctx);
    int rc = TGB_ERR_DH_PARAMS;
    uint8_t canon[256];
    if (!p || !BN_bin2bn(prime, (int)prime_len, p)) {
        rc = TGB_ERR_NOMEM;
        goto out;
    }
    /* "dh_prime is a safe 2048-bit prime (meaning that both p and (p-1)/2 are prime,
     * and that 2^2047 < p < 2^2048)". */
    if (BN_num_bits(p) != 2048)
        goto out;
    if (!residue_ok(p, g))
        goto out;
    if (BN_bn2binpad(p, canon, 256) != 256)
        goto out;
    if (memcmp(canon, tgb_dh_telegram_prime, 256) != 0) {
        int r = is_safe_prime(p, ctx);
        if (r < 0) {
            rc = TGB_ERR_CRYPTO;
            goto out;
        }
        if (r != 1)
            goto out;
    }
    rc = 0;
out:
    BN_CTX_end(ctx);
    BN_CTX_free(ctx);
    return rc ? fail(rc) : 0;
}

int tgb_dh_check_public(const uint8_t *prime, size_t prime_len, const uint8_t *value,
                        size_t value_len)
{
    if (!prime || !value || prime_len == 0 || value_len == 0 || prime_len > 1024 ||
        value_len > 1024)
        return TGB_ERR_DH_PARAMS;
    BN_CTX *ctx = BN_CTX_new();
    if (!ctx)
        return TGB_ERR_NOMEM;
    BN_CTX_start(ctx);
    BIGNUM *p = BN_CTX_get(ctx);
    BIGNUM *v = BN_CTX_get(ctx);
    BIGNUM *lo = BN_CTX_get(ctx);
    BIGNUM *hi = BN_CTX_get(ctx);
    int rc = TGB_ERR_NOMEM;
    if (!hi || !BN_bin2bn(prime, (int)prime_len, p) || !BN_bin2bn(value, (int)value_len, v))
        goto out;
    /* lo = 2^(2048-64), hi = p - lo */
    if (!BN_set_bit(lo, 2048 - 64) || !BN_sub(hi, p, lo))
        goto out;
    rc = TGB_ERR_DH_PARAMS;
    /* security_guidelines: 1 < g_a < dh_prime - 1 ... */
    if (BN_cmp(v, BN_value_one()) <= 0)
        goto out;
    if (!BN_sub_word(p, 1)) {
        rc = TGB_ERR_NOMEM;
        goto out;
    }
    if (BN_cmp(v, p) >= 0)
        goto out;
    /* ... and 2^{2048-64} <= g_a <= dh_prime - 2^{2048-64}, which also excludes values
     * an attacker could pick to leak bits of the exponent. */
    if (BN_cmp(v, lo) < 0 || BN_cmp(v, hi) > 0)
        goto out;
    rc = 0;
out:
    BN_CTX_end(ctx);
    BN_CTX_free(ctx);
    return rc ? fail(rc) : 0;
}

int tgb_dh_mod_exp(const uint8_t *base, size_t base_len, const uint8_t *exp, size_t exp_len,
                   const uint8_t *modulus, size_t modulus_len, uint8_t *out)
{
    if (!base || !exp || !modulus || !out || modulus_len == 0 || base_len > 1024 ||
        exp_len > 1024 || modulus_len > 1024)
        return TGB_ERR_INVALID;
    BN_CTX *ctx = BN_CTX_new();
    if (!ctx)
        return TGB_ERR_NOMEM;
    BN_CTX_start(ctx);
    BIGNUM *b = BN_CTX_get(ctx);
    BIGNUM *m = BN_CTX_get(ctx);
    BIGNUM *r = BN_CTX_get(ctx);
    BIGNUM *e = BN_secure_new();
    int rc = TGB_ERR_NOMEM;
    if (!r || !e || !BN_bin2bn(base, (int)base_len, b) || !BN_bin2bn(exp, (int)exp_len, e) ||
        !BN_bin2bn(modulus, (int)modulus_len, m))
        goto out;
    rc = TGB_ERR_INVALID;
    if (BN_is_zero(m))
        goto out;
    /*
     * The exponent is a secret (b, a); with BN_FLG_CONSTTIME and an odd modulus (every
     * DH prime) BN_mod_exp takes BN_mod_exp_mont_consttime.
     */
    if (BN_is_odd(m))
        BN_set_flags(e, BN_FLG_CONSTTIME);
    rc = TGB_ERR_CRYPTO;
    if (!BN_mod_exp(r, b, e, m, ctx) || BN_bn2binpad(r, out, (int)modulus_len) < 0)
        goto out;
    rc = 0;
out:
    BN_clear_free(e);
    if (r)
        BN_clear(r);
    BN_CTX_end(ctx);
    BN_CTX_free(ctx);
    return rc ? fail(rc) : 0;
}
