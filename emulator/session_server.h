/*
 * The server side of an MTProto 2.0 session, as a Telegram data centre runs it,
 * sans-I/O (https://core.telegram.org/mtproto/description, /mtproto/service_messages,
 * /mtproto/service_messages_about_messages).
 *
 * The DC decrypts a packet with the auth key its auth_key_id names
 * (tgb_mtproto_decrypt with x = 0), reads the session_id, and hands the plaintext to
 * the session with that id (creating it first). The session then:
 * - checks the salt (bad_server_salt, error 48, with the valid salt when it is not one
 *   the DC accepts); on a session's first message sends new_session_created;
 * - checks msg_id: divisible by 4, not more than 300 s old or 30 s ahead of server time
 *   (bad_msg_notification 16/17/18), not a duplicate (a repeated request gets its
 *   stored answer again, never a second execution); checks seqno parity (34/35) and
 *   order (32/33); containers: no nesting (64), inner ids below the container's;
 * - hands every RPC query to the `query` callback exactly once, with any
 *   invokeWithLayer / initConnection / invokeAfterMsg wrappers still on (the DC's RPC
 *   layer unwraps them), and sends what the DC answers as rpc_result (gzip_packed when
 *   large); acks content messages (msgs_ack);
 * - answers ping (pong), ping_delay_disconnect (pong, and asks the DC to close the
 *   connection if no other ping comes in time), get_future_salts, msgs_state_req
 *   (msgs_state_info), msg_resend_req, destroy_session, rpc_drop_answer; takes
 *   msgs_ack for its own messages; unpacks gzip_packed;
 * - keeps what it sent until acknowledged, and resends it on the client's next
 *   connection to this session.
 *
 * Packets it builds are encrypted (x = 8) and carry msg_ids from the DC's clock: odd
 * (mod 4 = 1) for answers, 3 for pushed updates; several waiting messages go in one
 * msg_container.
 */
#ifndef TGEMU_SESSION_SERVER_H
#define TGEMU_SESSION_SERVER_H

#include "base/buf.h"
#include "crypto/crypto.h"
#include "mtproto/message.h"

#include <tgbotapi/tgbotapi.h>

typedef struct tgemu_session tgemu_session;

typedef struct tgemu_session_callbacks {
    /**
     * An RPC query arrived (message `req_msg_id`; TL bytes borrowed for the call). The
     * DC answers it with tgemu_session_answer / _answer_error, now or later. Required.
     */
    void (*query)(void *user_data, tgemu_session *s, uint64_t req_msg_id, const uint8_t *query,
                  size_t len, tgb_time now);
    /** There is something to send: call tgemu_session_pull(). Optional. */
    void (*want_write)(void *user_data, tgemu_session *s);
    /** ping_delay_disconnect ran out: the DC should close the session's connection. */
    void (*disconnect)(void *user_data, tgemu_session *s);
    /** Is `salt` valid at `now` for this session's auth key? Required. */
    int (*salt_valid)(void *user_data, int64_t salt, tgb_time now);
    /** The salt to give clients at `now` (valid for at least 30 more minutes). Required. */
    int64_t (*salt_current)(void *user_data, tgb_time now);
    /**
     * The i-th salt from now on (i = 0 is the current one): its value and validity in
     * Unix seconds, for get_future_salts. Required.
     */
    void (*salt_future)(void *user_data, tgb_time now, int i, int64_t *salt, int32_t *valid_since,
                        int32_t *valid_until);
    /**
     * The client asked to destroy another session of its auth key (destroy_session):
     * the DC deletes session `session_id` if it has it (never from inside that session's
     * own calls) and returns 1, or 0 if it has none. Optional: NULL answers
     * destroy_session_none. A session never destroys itself this way.
     */
    int (*destroy_session)(void *user_data, tgemu_session *s, uint64_t session_id);
} tgemu_session_callbacks;

typedef struct tgemu_session_config {
    const uint8_t *auth_key; /* 256 bytes, borrowed: the DC keeps its keys */
    uint64_t session_id;
    const tgb_random *rnd; /* padding, unique_id; NULL = OpenSSL; borrowed */
    tgb_msg_id_gen *ids;   /* the DC's message id generator (shared); borrowed */
} tgemu_session_config;

int tgemu_session_new(tgemu_session **out, const tgemu_session_config *config,
                      const tgemu_session_callbacks *callbacks, void *user_data, tgb_time now);

/** Frees the session without calling any callback. NULL-safe. Not from its callbacks. */
void tgemu_session_del(tgemu_session *s);

/**
 * Handles one decrypted client message: `plain` is the whole plaintext (salt,
 * session_id, msg_id, seq_no, length, body, padding) of `len` bytes. A message the
 * protocol has an answer for (a bad msg_id, salt, seqno or container) gets its
 * bad_msg_notification / bad_server_salt and returns 0. Input that cannot be a client
 * message (lengths, padding outside 12..1024, another session_id, a gzip_packed that
 * does not unpack) gives TGB_ERR_PROTOCOL, and gzip_packed unpacking past
 * TGB_GZIP_MAX_UNPACKED (4 MiB) TGB_ERR_LIMIT; both change nothing, and the DC then
 * closes the connection.
 */
int tgemu_session_recv(tgemu_session *s, const uint8_t *plain, size_t len, tgb_time now);

/**
 * Answers query `req_msg_id` with a TL result (boxed object bytes, copied; a positive
 * multiple of 4, at most 16 MiB, else TGB_ERR_INVALID): rpc_result, with the result
 * gzip_packed when it is over 512 bytes and that makes it smaller. The answer is kept
 * until the client acknowledges it. An answer to a query the client cancelled with
 * rpc_drop_answer is not sent (returns 0).
 */
int tgemu_session_answer(tgemu_session *s, uint64_t req_msg_id, const uint8_t *result, size_t len,
                         tgb_time now);

/** Answers query `req_msg_id` with rpc_error (e.g. 420, "FLOOD_WAIT_5"). */
int tgemu_session_answer_error(tgemu_session *s, uint64_t req_msg_id, int code, const char *message,
                               tgb_time now);

/**
 * Sends something unprompted (an Updates object, copied; gzip_packed as answers are),
 * after everything queued before it.
 */
int tgemu_session_push(tgemu_session *s, const uint8_t *tl, size_t len, tgb_time now);

/**
 * Fault injection: the next client message is refused with bad_server_salt even if its
 * salt is valid (the client must resend it with the salt given).
 */
void tgemu_session_force_bad_salt(tgemu_session *s);

/**
 * Appends the next encrypted packet for the client (auth_key_id + msg_key +
 * ciphertext): 1, or 0 if nothing waits (or the connection is lost and the client has
 * not spoken since), or a negative tgb_error. Call until it returns 0. Notifications
 * (bad_msg_notification, bad_server_salt) travel alone: Telethon skips its clock check
 * only for a packet that is one.
 */
int tgemu_session_pull(tgemu_session *s, tgb_time now, tgb_buf *out);

/** The session's connection closed: unacknowledged messages go out again on the next. */
void tgemu_session_connection_lost(tgemu_session *s, tgb_time now);

/** The session id. */
uint64_t tgemu_session_id(const tgemu_session *s);

/**
 * How many content-related messages the session keeps for the client: queued, or sent
 * and not yet acknowledged (at most 1000 / 16 MiB; the oldest are dropped beyond).
 */
size_t tgemu_session_unacked(const tgemu_session *s);

/** When tgemu_session_timeout() should next run; TGB_TIME_NEVER if not. */
tgb_time tgemu_session_next_timeout(const tgemu_session *s);

/** Runs due timers: acks, ping_delay_disconnect. */
int tgemu_session_timeout(tgemu_session *s, tgb_time now);

#endif
