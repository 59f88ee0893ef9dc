/*
 * crypto/: every cryptographic primitive MTProto needs. This is the only module that
 * includes OpenSSL headers; the rest of the library sees only this header.
 *
 * All functions return 0 (TGB_OK) or a negative tgb_error unless they are void.
 * Byte strings are big-endian where they are numbers (RSA, DH), as on the wire.
 * Randomness comes only through a tgb_random (injectable, so tests are deterministic).
 */
#ifndef TGB_CRYPTO_CRYPTO_H
#define TGB_CRYPTO_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ randomness */

/**
 * A source of random bytes: fills `out` with `len` bytes, returns 0 or a negative
 * tgb_error (TGB_ERR_RANDOM). `user_data` is passed through.
 */
typedef int (*tgb_random_fn)(void *user_data, uint8_t *out, size_t len);

typedef struct tgb_random {
    tgb_random_fn fn;
    void *user_data;
} tgb_random;

/** The default source: OpenSSL's RAND_bytes. `user_data` is ignored. */
int tgb_random_openssl(void *user_data, uint8_t *out, size_t len);

/** Fills `out` from `rnd`, or from tgb_random_openssl when `rnd` or `rnd->fn` is NULL. */
int tgb_random_bytes(const tgb_random *rnd, uint8_t *out, size_t len);

/* ------------------------------------------------------------------ hashes */

/*
 * The hash functions cannot fail on valid arguments; if OpenSSL itself is unusable (no
 * default provider, no memory) they abort rather than return a wrong digest.
 */

/** A borrowed byte range, for hashing several pieces without copying them together. */
typedef struct tgb_span {
    const void *data;
    size_t len;
} tgb_span;

void tgb_sha1(const void *data, size_t len, uint8_t out[20]);
void tgb_sha256(const void *data, size_t len, uint8_t out[32]);
/** Hash of the concatenation of `n` spans. */
void tgb_sha1_spans(const tgb_span *spans, size_t n, uint8_t out[20]);
void tgb_sha256_spans(const tgb_span *spans, size_t n, uint8_t out[32]);

/* ------------------------------------------------------------------ AES */

/**
 * AES-256-IGE as MTProto uses it: `iv` is 32 bytes, the first 16 the IV for the
 * ciphertext chain and the last 16 for the plaintext chain. `len` must be a multiple
 * of 16 (else TGB_ERR_INVALID). `in` and `out` may be the same buffer, but must not
 * overlap otherwise. Encryption is built on EVP's CBC (AES-NI where the CPU has it);
 * decryption runs on the AES-NI instructions where the CPU has them, else on EVP
 * (aes_ni.c says why); never the deprecated AES_ige_encrypt.
 */
int tgb_aes_ige_encrypt(const uint8_t key[32], const uint8_t iv[32], const uint8_t *in,
                        uint8_t *out, size_t len);
int tgb_aes_ige_decrypt(const uint8_t key[32], const uint8_t iv[32], const uint8_t *in,
                        uint8_t *out, size_t len);

/**
 * The two implementations behind tgb_aes_ige_decrypt, for tests and benchmarks:
 * tgb_aes_ni_ige_decrypt runs on the AES-NI instructions (x86-64; TGB_ERR_STATE where
 * the CPU lacks them, see tgb_aes_ni_available), tgb_aes_ige_decrypt_evp on EVP, one
 * block per call. Same arguments and results as tgb_aes_ige_decrypt.
 */
int tgb_aes_ni_available(void);
int tgb_aes_ni_ige_decrypt(const uint8_t key[32], const uint8_t iv[32], const uint8_t *in,
                           uint8_t *out, size_t len);
int tgb_aes_ige_decrypt_evp(const uint8_t key[32], const uint8_t iv[32], const uint8_t *in,
                            uint8_t *out, size_t len);

/**
 * AES-256-CBC encryption without padding, on the same per-thread EVP context as IGE
 * encryption. `len` must be a multiple of 16 (else TGB_ERR_INVALID); `in` may equal
 * `out`. The benchmark uses it as the reference IGE is measured against.
 */
int tgb_aes_cbc_encrypt(const uint8_t key[32], const uint8_t iv[16], const uint8_t *in,
                        uint8_t *out, size_t len);

/**
 * AES-256-CTR stream state, for the obfuscated transports. The state keeps the key
 * stream position across calls, so a connection encrypts its bytes as they come.
 */
typedef struct tgb_aes_ctr tgb_aes_ctr;

/** Creates a CTR state with a 32-byte key and 16-byte initial counter block. */
int tgb_aes_ctr_new(tgb_aes_ctr **out, const uint8_t key[32], const uint8_t iv[16]);
/** Encrypts or decrypts (the same operation) `len` bytes; `in` may equal `out`. */
int tgb_aes_ctr_apply(tgb_aes_ctr *ctr, const uint8_t *in, uint8_t *out, size_t len);
/** Frees the state. NULL-safe. */
void tgb_aes_ctr_del(tgb_aes_ctr *ctr);

/* ------------------------------------------------------------------ MTProto 2.0 */

/** Direction of an MTProto message, the `x` of https://core.telegram.org/mtproto/description */
enum { TGB_MTPROTO_CLIENT = 0, TGB_MTPROTO_SERVER = 8 };

/** auth_key_id: the low 64 bits of SHA1(auth_key), i.e. SHA1 bytes 12..19 as on the wire. */
void tgb_auth_key_id(const uint8_t auth_key[256], uint8_t id[8]);
/** auth_key_aux_hash: SHA1(auth_key) bytes 0..7. */
void tgb_auth_key_aux_hash(const uint8_t auth_key[256], uint8_t aux[8]);

/** msg_key = SHA256(auth_key[88+x : 120+x] + plaintext)[8:24]. */
void tgb_mtproto_msg_key(const uint8_t auth_key[256], int x, const uint8_t *plain, size_t len,
                         uint8_t msg_key[16]);

/** MTProto 2.0 KDF: aes_key and the 32-byte aes_iv from auth_key and msg_key. */
void tgb_mtproto_kdf(const uint8_t auth_key[256], const uint8_t msg_key[16], int x,
                     uint8_t aes_key[32], uint8_t aes_iv[32]);

/**
 * Encrypts a plaintext message (salt, session_id, msg_id, seq_no, length, body and the
 * sender's padding: `len` a multiple of 16, at least 32) into
 * `out` = auth_key_id (8) + msg_key (16) + ciphertext (len): 24 + len bytes. `out`
 * must not overlap `plain`.
 */
int tgb_mtproto_encrypt(const uint8_t auth_key[256], int x, const uint8_t *plain, size_t len,
                        uint8_t *out);

/**
 * Decrypts `in` (auth_key_id + msg_key + ciphertext, `len` bytes, len - 24 a positive
 * multiple of 16) into `out` (len - 24 bytes) and checks that auth_key_id matches
 * `auth_key` and that msg_key matches the decrypted plaintext (computed with the same
 * `x` the sender used). Returns TGB_ERR_INTEGRITY on any mismatch, TGB_ERR_INVALID on a
 * bad length. On TGB_ERR_INTEGRITY `out` is zeroed. `out` must not overlap `in`.
 * The caller checks the inner length and padding (12..1024 bytes).
 */
int tgb_mtproto_decrypt(const uint8_t auth_key[256], int x, const uint8_t *in, size_t len,
                        uint8_t *out);

/**
 * MTProto 1.0 encryption, still used for auth.bindTempAuthKey's encrypted_message:
 * `plain` is the whole plaintext (salt, session_id, msg_id, seq_no, length, body and
 * 0..15 bytes of padding), `len` a multiple of 16, `unpadded` its length without the
 * padding (msg_key covers that much). `out` receives auth_key_id + msg_key +
 * ciphertext, 24 + len bytes.
 */
int tgb_mtproto1_encrypt(const uint8_t auth_key[256], int x, const uint8_t *plain, size_t len,
                         size_t unpadded, uint8_t *out);

/**
 * The inverse: checks auth_key_id, the length field against the padding rule and
 * msg_key (TGB_ERR_INTEGRITY on any mismatch, `out` wiped). `out` gets len - 24 bytes.
 */
int tgb_mtproto1_decrypt(const uint8_t auth_key[256], int x, const uint8_t *in, size_t len,
                         uint8_t *out);

/**
 * Temporary AES key and IV of the auth-key exchange, from new_nonce and server_nonce
 * (https://core.telegram.org/mtproto/auth_key, step 5).
 */
void tgb_tmp_aes_from_nonces(const uint8_t new_nonce[32], const uint8_t server_nonce[16],
                             uint8_t key[32], uint8_t iv[32]);

/* ------------------------------------------------------------------ RSA */

/** An RSA key: public (n, e), possibly with its private part. Opaque. */
typedef struct tgb_rsa_key tgb_rsa_key;

/**
 * Reads a PEM key: "RSA PUBLIC KEY" (PKCS#1, as Telegram publishes them), "PUBLIC KEY"
 * (SubjectPublicKeyInfo) or a private key ("RSA PRIVATE KEY" / "PRIVATE KEY").
 * The caller owns *out and frees it with tgb_rsa_key_del(). TGB_ERR_RSA_KEY if the
 * text is not such a key or the modulus is not 2048 bits.
 */
int tgb_rsa_key_from_pem(tgb_rsa_key **out, const char *pem, size_t len);

/** Generates a new 2048-bit private key (e = 65537) with OpenSSL's generator. */
int tgb_rsa_key_generate(tgb_rsa_key **out);

/**
 * Writes the public key as PKCS#1 PEM ("BEGIN RSA PUBLIC KEY"). *pem is malloc'd and
 * NUL-terminated; the caller frees it. *len (if not NULL) gets its length.
 */
int tgb_rsa_key_public_pem(const tgb_rsa_key *key, char **pem, size_t *len);

/**
 * Writes the private key as PKCS#8 PEM ("BEGIN PRIVATE KEY"), for a server's state
 * directory. As above; TGB_ERR_RSA_KEY if the key has no private part.
 */
int tgb_rsa_key_private_pem(const tgb_rsa_key *key, char **pem, size_t *len);

/** 1 if the key has its private part. */
int tgb_rsa_key_has_private(const tgb_rsa_key *key);

/**
 * The MTProto fingerprint: the low 64 bits of SHA1 of the TL serialisation of
 * rsa_public_key n:string e:string, read little-endian from SHA1 bytes 12..19.
 */
uint64_t tgb_rsa_key_fingerprint(const tgb_rsa_key *key);

/** Frees a key. NULL-safe. */
void tgb_rsa_key_del(tgb_rsa_key *key);

/**
 * Raw RSA: out = in^e mod n (public) or in^d mod n (private), 256-byte big-endian
 * numbers. TGB_ERR_INVALID if `in` >= n; TGB_ERR_RSA_KEY if the private part is missing.
 */
int tgb_rsa_public_raw(const tgb_rsa_key *key, const uint8_t in[256], uint8_t out[256]);
int tgb_rsa_private_raw(const tgb_rsa_key *key, const uint8_t in[256], uint8_t out[256]);

/**
 * RSA_PAD (https://core.telegram.org/mtproto/auth_key, step 4.1): encrypts `data`
 * (at most 144 bytes, e.g. a p_q_inner_data_dc) for `key`, drawing the padding and the
 * temporary key from `rnd`. TGB_ERR_INVALID if `len` > 144; the error of `rnd` if it
 * fails; TGB_ERR_RANDOM if 64 temporary keys in a row give a value >= n.
 */
int tgb_rsa_pad_encrypt(const tgb_rsa_key *key, const uint8_t *data, size_t len,
                        const tgb_random *rnd, uint8_t out[256]);

/**
 * The server's inverse of RSA_PAD: recovers data_with_padding (192 bytes: the inner
 * data followed by the client's random padding). TGB_ERR_INTEGRITY if the embedded
 * SHA256 does not match.
 */
int tgb_rsa_pad_decrypt(const tgb_rsa_key *key, const uint8_t in[256], uint8_t out[192]);

/**
 * The older scheme still used by Telethon and @mtproto/core: raw RSA of
 * SHA1(data) + data + random padding to 255 bytes. `data` is at most 235 bytes.
 */
int tgb_rsa_old_encrypt(const tgb_rsa_key *key, const uint8_t *data, size_t len,
                        const tgb_random *rnd, uint8_t out[256]);

/**
 * The server's inverse of the older scheme: `sha1` receives the leading 20 bytes and
 * `out` the 235 after them (data + padding). The caller decodes the inner data to learn
 * its length, then compares tgb_sha1() of those bytes with `sha1`. TGB_ERR_INTEGRITY if
 * the decrypted value does not start with a zero byte (it was not 255 bytes long).
 */
int tgb_rsa_old_decrypt(const tgb_rsa_key *key, const uint8_t in[256], uint8_t sha1[20],
                        uint8_t out[235]);

/* ------------------------------------------------------------------ Diffie-Hellman */

/**
 * Checks the server's DH parameters as https://core.telegram.org/mtproto/auth_key
 * requires: dh_prime is a 2048-bit safe prime (Telegram's well-known prime is
 * recognised without the primality test) and g is 2..7 and generates the subgroup of
 * order (p-1)/2 by the residue rules. TGB_ERR_DH_PARAMS on failure.
 */
int tgb_dh_check_params(const uint8_t *prime, size_t prime_len, int g);

/**
 * Checks a public value g_a or g_b against dh_prime: 1 < v < p - 1 and
 * 2^(2048-64) <= v <= p - 2^(2048-64). TGB_ERR_DH_PARAMS on failure.
 */
int tgb_dh_check_public(const uint8_t *prime, size_t prime_len, const uint8_t *value,
                        size_t value_len);

/**
 * out = base^exp mod modulus, written big-endian, left-padded with zeros to
 * `modulus_len` bytes (`out` holds modulus_len bytes). Used for g_b = g^b and
 * auth_key = g_a^b (and by the emulator for g_a).
 */
int tgb_dh_mod_exp(const uint8_t *base, size_t base_len, const uint8_t *exp, size_t exp_len,
                   const uint8_t *modulus, size_t modulus_len, uint8_t *out);

/** Telegram's well-known 2048-bit DH prime (big-endian, 256 bytes), g = 3. */
extern const uint8_t tgb_dh_telegram_prime[256];

/* ------------------------------------------------------------------ PQ */

/**
 * Factors pq (a product of two primes, as in resPQ) with Pollard–Brent. *p < *q.
 * TGB_ERR_PQ if pq < 4 or no factor is found.
 */
int tgb_pq_factorize(uint64_t pq, uint64_t *p, uint64_t *q);

/**
 * For the server side: draws two distinct random 31-bit primes from `rnd`
 * (2^30 < p < q < 2^31, like the pq Telegram sends, so pq < 2^62 also fits a signed
 * 64-bit integer) and their product. TGB_ERR_RANDOM if `rnd` fails or keeps repeating.
 */
int tgb_pq_generate(const tgb_random *rnd, uint64_t *pq, uint64_t *p, uint64_t *q);

#endif
