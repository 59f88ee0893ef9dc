/*
 * Creating an auth key, client side (https://core.telegram.org/mtproto/auth_key),
 * sans-I/O: the handshake builds unencrypted messages and reads the server's, and the
 * caller moves them over a framer.
 *
 *   req_pq_multi -> resPQ -> (factor pq, pick a key by fingerprint)
 *   req_DH_params(p_q_inner_data_dc or _temp_dc, RSA_PAD) -> server_DH_params_ok
 *   (decrypt and check server_DH_inner_data, DH checks, b, g_b)
 *   set_client_DH_params -> dh_gen_ok | dh_gen_retry (again with retry_id) | dh_gen_fail
 *
 * Every nonce, hash and DH value the server sends is checked; a mismatch is an error
 * (TGB_ERR_INTEGRITY, TGB_ERR_DH_PARAMS, TGB_ERR_PROTOCOL, TGB_ERR_PQ, TGB_ERR_RSA_KEY
 * when no offered fingerprint is ours). After an error the handshake is finished; the
 * caller starts a new one, on the same connection or a new one.
 *
 * Randomness is drawn from params->rnd in this order, one call per item (tests replay
 * Telegram's official example with it):
 *   1. tgb_handshake_start: nonce (16 bytes);
 *   2. on resPQ: new_nonce (32), then RSA_PAD's random padding (192 minus the inner
 *      data: 92 bytes for p_q_inner_data_dc, 88 for _temp_dc) and its temp_key (32),
 *      the temp_key drawn again while the padded block is not below the key's modulus;
 *   3. on server_DH_params_ok: b (256), drawn again while g_b fails the range check,
 *      then the padding of client_DH_inner_data (0-15 bytes; no call when 0);
 *   4. on each dh_gen_retry: as in 3.
 */
#ifndef TGB_MTPROTO_HANDSHAKE_H
#define TGB_MTPROTO_HANDSHAKE_H

#include "base/buf.h"
#include "crypto/crypto.h"
#include "mtproto/message.h"

#include <tgbotapi/tgbotapi.h>

typedef struct tgb_handshake tgb_handshake;

typedef struct tgb_handshake_params {
    /** dc as sent in p_q_inner_data_dc: +10000 on test DCs, negative for media DCs. */
    int dc_id;
    /** The server's public keys; the handshake uses the first whose fingerprint the
     * server offers. Borrowed: they must outlive the handshake. */
    const tgb_rsa_key *const *keys;
    size_t nkeys;
    /** 1: a temporary key (p_q_inner_data_temp_dc) valid for `expires_in` seconds. */
    int temp;
    int expires_in;
    /** Randomness: nonces, RSA_PAD padding, b. NULL = OpenSSL. Borrowed. */
    const tgb_random *rnd;
} tgb_handshake_params;

/** What a finished handshake produced. */
typedef struct tgb_handshake_result {
    uint8_t auth_key[256];
    uint8_t auth_key_id[8];
    /** The first server salt: new_nonce[0:8] XOR server_nonce[0:8], as a little-endian long. */
    int64_t server_salt;
    /** server_time (from server_DH_inner_data) minus the local time, microseconds. */
    int64_t time_offset_us;
    /** Temporary keys: when the key expires (Unix seconds, by server time); else 0. */
    int64_t expires_at;
} tgb_handshake_result;

enum { TGB_HANDSHAKE_DONE = 0, TGB_HANDSHAKE_CONTINUE = 1 };

/**
 * Creates a handshake with a copy of `params` (whose pointers are borrowed). The caller
 * owns *out and frees it with tgb_handshake_del(). TGB_ERR_INVALID without keys, with a
 * NULL key, or with temp set and expires_in <= 0.
 */
int tgb_handshake_new(tgb_handshake **out, const tgb_handshake_params *params);

/** Frees the handshake and wipes its secrets. NULL-safe. */
void tgb_handshake_del(tgb_handshake *h);

/**
 * Appends the first message (req_pq_multi, unencrypted, msg_id from `ids`) to `out`
 * and returns TGB_HANDSHAKE_CONTINUE. Legal in any state: it abandons an exchange in
 * progress or finished and begins a new one on the same object.
 */
int tgb_handshake_start(tgb_handshake *h, tgb_msg_id_gen *ids, tgb_time now, tgb_buf *out);

/**
 * Handles one packet from the server (an unencrypted message). Returns
 * TGB_HANDSHAKE_CONTINUE with the next message appended to `out`,
 * TGB_HANDSHAKE_DONE when the key is made (nothing appended; see
 * tgb_handshake_result), or a negative error. Syncs `ids` to the server's time from
 * server_DH_inner_data.
 *
 * Errors: TGB_ERR_PROTOCOL for a packet that is not an unencrypted message with a body
 * of at most 2048 bytes, does not decode, or is not the answer this step expects (also for
 * server_DH_params_fail, dh_gen_fail, and more than 5 dh_gen_retry in a row);
 * TGB_ERR_INTEGRITY for a wrong nonce or server_nonce, an encrypted answer whose SHA1
 * or padding is wrong, or a wrong new_nonce_hash1/2; TGB_ERR_RSA_KEY, TGB_ERR_PQ,
 * TGB_ERR_DH_PARAMS as above; TGB_ERR_STATE outside an exchange (before start, after
 * DONE or an error). Every error ends the exchange.
 */
int tgb_handshake_recv(tgb_handshake *h, const uint8_t *packet, size_t len, tgb_msg_id_gen *ids,
                       tgb_time now, tgb_buf *out);

/** Copies the result of a finished handshake (TGB_ERR_STATE before). */
int tgb_handshake_result_get(const tgb_handshake *h, tgb_handshake_result *result);

#endif
