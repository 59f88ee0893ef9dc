/*
 * What both sides of the auth-key exchange compute (https://core.telegram.org/mtproto/
 * auth_key): mtproto/handshake.c for the client, emulator/auth_server.c for the DC.
 */
#ifndef TGB_MTPROTO_AUTH_COMMON_H
#define TGB_MTPROTO_AUTH_COMMON_H

#include "base/buf.h"
#include "crypto/crypto.h"
#include "mtproto/message.h"
#include "tl/tl.h"

/** new_nonce_hash1/2/3: the low 128 bits of SHA1(new_nonce + byte n + auth_key_aux_hash). */
void tgb_auth_new_nonce_hash(const uint8_t new_nonce[32], uint8_t n, const uint8_t auth_key[256],
                             uint8_t out[16]);

/** `v` big-endian without leading zeros, as TL carries big numbers; returns the length. */
size_t tgb_auth_be_minimal(uint64_t v, uint8_t out[8]);

/** Appends `obj` as an unencrypted message with the next msg_id of `kind`. */
int tgb_auth_send_plain(tgb_msg_id_gen *ids, tgb_time now, int kind, const void *obj, tgb_buf *out);

/**
 * Appends AES-256-IGE(SHA1(obj) + obj + 0..15 random bytes) under the temporary key, the
 * form of server_DH_inner_data and client_DH_inner_data (steps 5 and 6). At most 1024
 * bytes (TGB_ERR_LIMIT beyond).
 */
int tgb_auth_encrypt_inner(const void *obj, const uint8_t key[32], const uint8_t iv[32],
                           const tgb_random *rnd, tgb_buf *out);

/**
 * The inverse: decrypts `len` bytes (a multiple of 16, 32..max_len, else
 * TGB_ERR_PROTOCOL), decodes one object of `type` into `arena`, and checks that SHA1 of
 * exactly its encoding leads the plaintext and that at most 15 bytes of padding follow
 * (TGB_ERR_INTEGRITY otherwise, the decoded bytes being indistinguishable from tampering).
 * The plaintext is wiped; the caller wipes what the arena holds.
 */
int tgb_auth_decrypt_inner(const uint8_t *enc, size_t len, size_t max_len, const uint8_t key[32],
                           const uint8_t iv[32], tgb_arena *arena, const tgb_tl_type *type,
                           tl_object **out);

#endif
