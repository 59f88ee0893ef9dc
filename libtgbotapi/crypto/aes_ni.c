/*
 * AES-256-IGE decryption on the AES-NI instructions, for x86-64 CPUs that have them.
 *
 * Why not EVP, like everything else in crypto/: IGE decryption,
 *     p_i = D(c_i ^ p_{i-1}) ^ c_{i-1},
 * chains through the AES *decryption* function D (each block's input needs the previous
 * block's output). The only chained mode EVP offers, CBC encryption, chains through
 * encryption, so on EVP this takes one call per 16-byte block, and the call costs about
 * a third of the block itself: 0.74x of CBC-encryption speed (docs/benchmarks.md). Here
 * the same chain runs on aesdec in a loop, as fast as CBC encryption runs inside
 * OpenSSL, and the key schedule costs ~30 ns instead of EVP's ~170 ns re-key.
 *
 * The round keys are the standard AES-256 expansion (FIPS-197 §5.2, computed with
 * aeskeygenassist) turned into the Equivalent Inverse Cipher's keys with aesimc
 * (FIPS-197 §5.3.5). tests/test_crypto.c checks this path against the EVP one byte for
 * byte; tgb_aes_ige_decrypt falls back to EVP where AES-NI is missing.
 */
#include "crypto.h"

#include <tgbotapi/tgbotapi.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <emmintrin.h>
#include <wmmintrin.h>

#define AESNI __attribute__((target("aes,sse2")))

/*
 * Zeroes round keys, which are secrets. The empty asm that "reads" the array keeps the
 * compiler from dropping the stores as dead; 16-byte stores instead of a volatile byte
 * loop, which cost as much as decrypting a 64-byte message.
 */
AESNI static inline void wipe(__m128i *keys, int n)
{
    for (int i = 0; i < n; i++)
        keys[i] = _mm_setzero_si128();
    __asm__ __volatile__("" : : "r"(keys) : "memory");
}

/* One step of the AES-256 key expansion for even round keys (RotWord + SubWord + Rcon). */
AESNI static inline __m128i expand_even(__m128i prev2, __m128i assist)
{
    assist = _mm_shuffle_epi32(assist, 0xff);
    prev2 = _mm_xor_si128(prev2, _mm_slli_si128(prev2, 4));
    prev2 = _mm_xor_si128(prev2, _mm_slli_si128(prev2, 4));
    prev2 = _mm_xor_si128(prev2, _mm_slli_si128(prev2, 4));
    return _mm_xor_si128(prev2, assist);
}

/* ... and for odd round keys (SubWord only). */
AESNI static inline __m128i expand_odd(__m128i prev2, __m128i prev1)
{
    __m128i assist = _mm_shuffle_epi32(_mm_aeskeygenassist_si128(prev1, 0), 0xaa);
    prev2 = _mm_xor_si128(prev2, _mm_slli_si128(prev2, 4));
    prev2 = _mm_xor_si128(prev2, _mm_slli_si128(prev2, 4));
    prev2 = _mm_xor_si128(prev2, _mm_slli_si128(prev2, 4));
    return _mm_xor_si128(prev2, assist);
}

/* The 15 decryption round keys for `key`, in the order decryption uses them. */
AESNI static void decryption_keys(const uint8_t key[32], __m128i dk[15])
{
    __m128i k[15];
    k[0] = _mm_loadu_si128((const __m128i *)(const void *)key);
    k[1] = _mm_loadu_si128((const __m128i *)(const void *)(key + 16));
    /* aeskeygenassist takes its round constant as an immediate: unrolled */
    k[2] = expand_even(k[0], _mm_aeskeygenassist_si128(k[1], 0x01));
    k[3] = expand_odd(k[1], k[2]);
    k[4] = expand_even(k[2], _mm_aeskeygenassist_si128(k[3], 0x02));
    k[5] = expand_odd(k[3], k[4]);
    k[6] = expand_even(k[4], _mm_aeskeygenassist_si128(k[5], 0x04));
    k[7] = expand_odd(k[5], k[6]);
    k[8] = expand_even(k[6], _mm_aeskeygenassist_si128(k[7], 0x08));
    k[9] = expand_odd(k[7], k[8]);
    k[10] = expand_even(k[8], _mm_aeskeygenassist_si128(k[9], 0x10));
    k[11] = expand_odd(k[9], k[10]);
    k[12] = expand_even(k[10], _mm_aeskeygenassist_si128(k[11], 0x20));
    k[13] = expand_odd(k[11], k[12]);
    k[14] = expand_even(k[12], _mm_aeskeygenassist_si128(k[13], 0x40));
    dk[0] = k[14];
    for (int i = 1; i < 14; i++)
        dk[i] = _mm_aesimc_si128(k[14 - i]);
    dk[14] = k[0];
    wipe(k, 15);
}

AESNI static int ige_decrypt(const uint8_t key[32], const uint8_t iv[32], const uint8_t *in,
                             uint8_t *out, size_t len)
{
    __m128i dk[15];
    decryption_keys(key, dk);
    __m128i c_prev = _mm_loadu_si128((const __m128i *)(const void *)iv);
    __m128i p_prev = _mm_loadu_si128((const __m128i *)(const void *)(iv + 16));
    for (size_t j = 0; j < len; j += 16) {
        /* c is loaded before p is stored, so in == out works */
        __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(in + j));
        __m128i x = _mm_xor_si128(_mm_xor_si128(c, p_prev), dk[0]);
        for (int r = 1; r < 14; r++)
            x = _mm_aesdec_si128(x, dk[r]);
        x = _mm_aesdeclast_si128(x, dk[14]);
        p_prev = _mm_xor_si128(x, c_prev);
        _mm_storeu_si128((__m128i *)(void *)(out + j), p_prev);
        c_prev = c;
    }
    wipe(dk, 15);
    return 0;
}

int tgb_aes_ni_available(void)
{
    static int available = -1; /* benign race: every thread computes the same value */
    if (available < 0) {
        __builtin_cpu_init();
        available = __builtin_cpu_supports("aes") && __builtin_cpu_supports("sse2");
    }
    return available;
}

int tgb_aes_ni_ige_decrypt(const uint8_t key[32], const uint8_t iv[32], const uint8_t *in,
                           uint8_t *out, size_t len)
{
    if (!tgb_aes_ni_available())
        return TGB_ERR_STATE;
    return ige_decrypt(key, iv, in, out, len);
}

#else

int tgb_aes_ni_available(void)
{
    return 0;
}

int tgb_aes_ni_ige_decrypt(const uint8_t key[32], const uint8_t iv[32], const uint8_t *in,
                           uint8_t *out, size_t len)
{
    (void)key, (void)iv, (void)in, (void)out, (void)len;
    return TGB_ERR_STATE;
}

#endif
