/*
 * Creating an auth key, server side (https://core.telegram.org/mtproto/auth_key), as a
 * Telegram data centre does it, sans-I/O. One per connection that is making a key.
 *
 * Accepts what real clients send (../shared/reference/clients.md): req_pq_multi or the
 * legacy req_pq; req_DH_params encrypted with RSA_PAD (GramJS, mtcute, tdlib) or with the
 * older SHA1 + data + padding scheme (Telethon, @mtproto/core); inner data
 * p_q_inner_data, p_q_inner_data_dc, p_q_inner_data_temp or p_q_inner_data_temp_dc;
 * dh_gen_retry when the new key's id collides with a key the DC already has. DH with
 * g = 3 and Telegram's well-known 2048-bit prime, which every client accepts. A client
 * that retries a failed handshake on the same connection gets a fresh one.
 *
 * Every field of every client message is checked (nonces, server_nonce, pq factors,
 * fingerprint, inner-data hashes, g_b range, retry_id); a bad message is an error and
 * the connection should be closed, as Telegram does.
 *
 * Randomness is drawn from params->rnd in this order, one call per item:
 *   1. on req_pq_multi / req_pq: server_nonce (16 bytes), then tgb_pq_generate's draws;
 *   2. on req_DH_params: a (256), drawn again while g_a fails the range check, then the
 *      padding of server_DH_inner_data (0-15 bytes; no call when 0);
 *   3. on set_client_DH_params: nothing.
 */
#ifndef TGEMU_AUTH_SERVER_H
#define TGEMU_AUTH_SERVER_H

#include "base/buf.h"
#include "crypto/crypto.h"
#include "mtproto/message.h"

#include <tgbotapi/tgbotapi.h>

typedef struct tgemu_auth_server tgemu_auth_server;

typedef struct tgemu_auth_params {
    /** The DC's private RSA key. Borrowed. */
    const tgb_rsa_key *key;
    /** Randomness: server_nonce, pq primes, a. NULL = OpenSSL. Borrowed. */
    const tgb_random *rnd;
    /**
     * Tells whether an auth key id is already in use at this DC: nonzero if it is (then
     * the client is asked to retry with dh_gen_retry), 0 if not. NULL: never.
     */
    int (*key_id_taken)(void *user_data, const uint8_t auth_key_id[8]);
    void *user_data;
} tgemu_auth_params;

/** What a finished exchange produced. */
typedef struct tgemu_auth_result {
    uint8_t auth_key[256];
    uint8_t auth_key_id[8];
    int64_t server_salt; /* new_nonce[0:8] XOR server_nonce[0:8], little-endian */
    int temp;            /* 1 for a temporary key */
    int expires_in;      /* its lifetime in seconds (temp only) */
    int dc_id;           /* from p_q_inner_data_dc / _temp_dc, else 0 */
    int rsa_pad;         /* 1 if the client used RSA_PAD, 0 for the older scheme */
} tgemu_auth_result;

enum { TGEMU_AUTH_DONE = 0, TGEMU_AUTH_CONTINUE = 1 };

/**
 * Creates the state with a copy of `params` (whose pointers are borrowed). The caller
 * owns *out and frees it with tgemu_auth_del(). TGB_ERR_INVALID without a key,
 * TGB_ERR_RSA_KEY if the key has no private part.
 */
int tgemu_auth_new(tgemu_auth_server **out, const tgemu_auth_params *params);

/** Frees the state and wipes its secrets. NULL-safe. */
void tgemu_auth_del(tgemu_auth_server *s);

/**
 * Handles one unencrypted message from the client and appends the server's reply
 * (an unencrypted message, msg_id from `ids` with TGB_MSG_ID_SERVER_ANSWER) to `out`.
 * Returns TGEMU_AUTH_CONTINUE after resPQ, server_DH_params_ok or dh_gen_retry,
 * TGEMU_AUTH_DONE after dh_gen_ok (the reply is appended and the key is ready, see
 * tgemu_auth_result_get), or a negative error with nothing appended:
 * TGB_ERR_PROTOCOL (unexpected or malformed message, or a body over 1024 bytes),
 * TGB_ERR_INTEGRITY (nonce, inner data or hash mismatch, a wrong retry_id, encrypted
 * data that neither RSA scheme opens), TGB_ERR_PQ (p and q are not the factors of pq,
 * smaller first), TGB_ERR_RSA_KEY (unknown fingerprint), TGB_ERR_DH_PARAMS (bad g_b).
 * After an error only req_pq_multi / req_pq is accepted; either of them, in any state,
 * starts a fresh exchange (as after a client's own failure on the same connection).
 * server_DH_inner_data.server_time is `now` (plus the generator's offset) in seconds.
 */
int tgemu_auth_recv(tgemu_auth_server *s, const uint8_t *packet, size_t len, tgb_msg_id_gen *ids,
                    tgb_time now, tgb_buf *out);

/** Copies the result of a finished exchange (TGB_ERR_STATE before). */
int tgemu_auth_result_get(const tgemu_auth_server *s, tgemu_auth_result *result);

#endif
