/*
 * The proof of work of the auth-key exchange (https://core.telegram.org/mtproto/auth_key,
 * steps 2-3): the client factors the 64-bit pq from resPQ into primes p < q; a server
 * makes one. 64-bit modular products go through a 128-bit intermediate.
 */
#include "crypto.h"

#include <tgbotapi/tgbotapi.h>

__extension__ typedef unsigned __int128 u128;

static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t m)
{
    return (uint64_t)((u128)a * b % m);
}

static uint64_t powmod(uint64_t b, uint64_t e, uint64_t m)
{
    uint64_t r = 1 % m;
    b %= m;
    while (e) {
        if (e & 1)
            r = mulmod(r, b, m);
        b = mulmod(b, b, m);
        e >>= 1;
    }
    return r;
}

/*
 * Miller-Rabin with the first twelve primes as bases is exact for every n below
 * 3.3 * 10^24, so for all 64-bit n (Sorenson and Webster, 2015).
 */
static int is_prime(uint64_t n)
{
    static const uint64_t bases[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
    if (n < 2)
        return 0;
    for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        if (n % bases[i] == 0)
            return n == bases[i];
    }
    uint64_t d = n - 1;
    int s = 0;
    while (!(d & 1)) {
        d >>= 1;
        s++;
    }
    for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        uint64_t x = powmod(bases[i], d, n);
        if (x == 1 || x == n - 1)
            continue;
        int composite = 1;
        for (int r = 1; r < s && composite; r++) {
            x = mulmod(x, x, n);
            if (x == n - 1)
                composite = 0;
        }
        if (composite)
            return 0;
    }
    return 1;
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static uint64_t absdiff(uint64_t a, uint64_t b)
{
    return a > b ? a - b : b - a;
}

/*
 * Brent's variant of Pollard's rho (Brent, 1980): the walk y -> y^2 + c mod n, with
 * gcds taken over batches of m products. Returns a divisor of n, possibly n itself or
 * 1 when the walk gives up (then the caller tries another c). For 32-bit factors the walk needs
 * ~2^16 steps; max_r bounds it far above that.
 */
static uint64_t brent(uint64_t n, uint64_t c, uint64_t y0)
{
    const uint64_t m = 128, max_r = (uint64_t)1 << 26;
    uint64_t y = y0, x = y0, ys = y0, q = 1, g = 1;
    for (uint64_t r = 1; g == 1 && r <= max_r; r <<= 1) {
        x = y;
        for (uint64_t i = 0; i < r; i++)
            y = (mulmod(y, y, n) + c) % n;
        for (uint64_t k = 0; k < r && g == 1; k += m) {
            ys = y;
            uint64_t steps = m < r - k ? m : r - k;
            for (uint64_t i = 0; i < steps; i++) {
                y = (mulmod(y, y, n) + c) % n;
                q = mulmod(q, absdiff(x, y), n);
            }
            g = gcd(q, n);
        }
    }
    if (g == n) {
        /* The batch overshot (q hit 0 mod n): redo it one step at a time. */
        do {
            ys = (mulmod(ys, ys, n) + c) % n;
            g = gcd(absdiff(x, ys), n);
        } while (g == 1);
    }
    return g;
}

int tgb_pq_factorize(uint64_t pq, uint64_t *p, uint64_t *q)
{
    if (!p || !q)
        return TGB_ERR_INVALID;
    if (pq < 4 || is_prime(pq))
        return TGB_ERR_PQ;
    uint64_t d = 0;
    if (pq % 2 == 0) {
        d = 2;
    } else {
        /* No randomness needed: a handful of fixed walks finds the factor. */
        for (uint64_t c = 1; c <= 32 && (d <= 1 || d == pq); c++)
            d = brent(pq, c, c + 1);
        if (d <= 1 || d == pq)
            return TGB_ERR_PQ;
    }
    uint64_t a = d, b = pq / d;
    if (a > b) {
        uint64_t t = a;
        a = b;
        b = t;
    }
    /* The server must get back the two primes; a pq with more factors is refused. */
    if (!is_prime(a) || !is_prime(b))
        return TGB_ERR_PQ;
    *p = a;
    *q = b;
    return 0;
}

/* A random prime in [2^30, 2^31): the smallest prime at or after a random start. */
static int random_prime(const tgb_random *rnd, uint32_t *out)
{
    uint8_t b[4];
    int rc = tgb_random_bytes(rnd, b, sizeof(b));
    if (rc)
        return rc;
    uint32_t v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    v = (v & 0x3fffffffu) | 0x40000000u | 1u;
    /* 2^31 - 1 is prime, so the search never leaves the range. */
    while (!is_prime(v))
        v += 2;
    *out = v;
    return 0;
}

int tgb_pq_generate(const tgb_random *rnd, uint64_t *pq, uint64_t *p, uint64_t *q)
{
    if (!pq || !p || !q)
        return TGB_ERR_INVALID;
    uint32_t a, b;
    int rc = random_prime(rnd, &a);
    if (rc)
        return rc;
    /* A source stuck on one value cannot give two distinct primes; give up, not spin. */
    for (int i = 0; i < 16; i++) {
        rc = random_prime(rnd, &b);
        if (rc)
            return rc;
        if (b != a)
            break;
    }
    if (a == b)
        return TGB_ERR_RANDOM;
    if (a > b) {
        uint32_t t = a;
        a = b;
        b = t;
    }
    *p = a;
    *q = b;
    *pq = (uint64_t)a * b;
    return 0;
}
