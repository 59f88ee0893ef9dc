/*
 * Message ids, unencrypted messages and the sealing of encrypted ones, shared by the auth-key
 * exchange and sessions, client and server side (https://core.telegram.org/mtproto/description).
 */
#ifndef TGB_MTPROTO_MESSAGE_H
#define TGB_MTPROTO_MESSAGE_H

#include "base/buf.h"
#include "crypto/crypto.h"

#include <tgbotapi/tgbotapi.h>

#include <stdint.h>

/*
 * msg_id = the sender's idea of Unix time * 2^32 (so about 2^-32 s resolution), strictly
 * increasing per sender. Its two low bits say who made it: 0 for client messages, 1 for
 * a server's answers (rpc_result and the like), 3 for what a server sends unprompted.
 */
enum { TGB_MSG_ID_CLIENT = 0, TGB_MSG_ID_SERVER_ANSWER = 1, TGB_MSG_ID_SERVER_PUSH = 3 };

typedef struct tgb_msg_id_gen {
    int64_t offset_us; /* added to the host's clock: server time - local time */
    uint64_t last;     /* the last id handed out */
} tgb_msg_id_gen;

/** A generator with no clock offset. */
void tgb_msg_id_gen_init(tgb_msg_id_gen *g);

/** The next msg_id at `now` with low bits `kind`, greater than every earlier one. */
uint64_t tgb_msg_id_next(tgb_msg_id_gen *g, tgb_time now, int kind);

/**
 * Corrects the clock offset from a server message id (or server time) received at
 * `now`, as bad_msg_notification 16/17 and the handshake's server_time demand. Ids
 * already handed out stay valid: later ones still exceed them.
 */
void tgb_msg_id_sync(tgb_msg_id_gen *g, uint64_t server_msg_id, tgb_time now);

/** The Unix time (seconds) a msg_id carries. */
static inline int64_t tgb_msg_id_seconds(uint64_t msg_id)
{
    return (int64_t)(msg_id >> 32);
}

/** The Unix time a msg_id carries, in microseconds (its fraction included). */
static inline tgb_time tgb_msg_id_time_us(uint64_t msg_id)
{
    return (tgb_time)(msg_id >> 32) * 1000000 +
           (tgb_time)(((msg_id & 0xffffffffu) * 1000000) >> 32);
}

/** A msg_id for Unix time `t` in microseconds, low bits 0 (for tests and checks). */
uint64_t tgb_msg_id_from_time(tgb_time t);

/*
 * Unencrypted messages (the auth-key exchange): auth_key_id = 0 (8 bytes), msg_id (8),
 * message_data_length (4), then the TL body.
 */

/** Appends an unencrypted message carrying `body`. */
int tgb_plain_wrap(tgb_buf *out, uint64_t msg_id, const uint8_t *body, size_t len);

/**
 * Parses an unencrypted message: its auth_key_id must be 0 and its length field must
 * fit the packet (bytes past it, such as padded-intermediate padding, are ignored).
 * TGB_ERR_PROTOCOL otherwise. *body points into `packet`.
 */
int tgb_plain_unwrap(const uint8_t *packet, size_t len, uint64_t *msg_id, const uint8_t **body,
                     size_t *body_len);

/** The header of an encrypted message (MTProto 2.0), as its sender fills it. */
typedef struct tgb_msg_header {
    int64_t salt;
    uint64_t session_id, msg_id;
    uint32_t seqno;
} tgb_msg_header;

/**
 * Seals an encrypted message whose plaintext is in `plain`: its first 32 bytes, which
 * the caller left for them, receive `h` and the length of what follows; 12..27 bytes of
 * random padding make the whole a multiple of 16 (D "Defining aes_key and aes_iv");
 * the packet (auth_key_id, msg_key, ciphertext) is appended to `out`. `x` is the
 * sender's side (TGB_MTPROTO_CLIENT or TGB_MTPROTO_SERVER). On failure `out` is as it
 * was; `plain` is the caller's to free either way.
 */
int tgb_encrypted_wrap(tgb_buf *plain, const tgb_msg_header *h, const uint8_t auth_key[256], int x,
                       const tgb_random *rnd, tgb_buf *out);

#endif
