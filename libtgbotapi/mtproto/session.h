/*
 * The client side of an MTProto 2.0 session with an auth key, sans-I/O
 * (https://core.telegram.org/mtproto/description, /mtproto/service_messages,
 * /mtproto/service_messages_about_messages).
 *
 * It turns requests into encrypted messages and encrypted messages into answers and
 * updates. It does not know about connections beyond "a packet goes out",
 * "a packet came in" and "the connection was lost"; net/ moves packets through a framer.
 *
 * What it takes care of:
 * - msg_id from the server-synced clock, strictly increasing; seqno (content messages
 *   odd and counted, service messages even); session_id random per session.
 * - Salts: the current one; bad_server_salt (48) takes the new salt and resends;
 *   get_future_salts asked ahead of the salt's expiry; new_session_created takes its
 *   salt and tells the owner (updates may have been missed).
 * - bad_msg_notification: 16/17 (msg_id too low/high) resync the clock and resend with a
 *   new msg_id; 32/33 (seqno too low/high) resend with a corrected seqno; 18/19/20/34/
 *   35/48/64 as the docs say.
 * - msgs_ack both ways: acks the server's content messages (batched, in the next packet
 *   or on a short timer); a request acknowledged by the server is not resent on
 *   reconnect but still waits for its answer (msgs_state_req asks after a while).
 * - Containers (msg_container) both ways: several messages per packet when several are
 *   waiting; answers inside containers; rpc_result naming an inner msg_id.
 * - gzip_packed both ways: large requests are packed when it helps; packed answers and
 *   updates are unpacked (with a size cap).
 * - rpc_result / rpc_error routed to the request by req_msg_id, exactly once.
 * - Resend: on reconnect everything sent but neither answered nor acknowledged is sent
 *   again, same msg_id while the server can still accept it, else a new one.
 * - msg_detailed_info / msg_new_detailed_info acked (and the answer asked for with
 *   msg_resend_req if it never arrives); msgs_state_info answered; destroy_session.
 * - Keepalive: ping_delay_disconnect every ping_interval while connected; no pong within
 *   the interval means the connection is dead (the `dead` callback).
 * - The first request of each new session is wrapped in the init prefix
 *   (invokeWithLayer + initConnection, as Telegram requires).
 */
#ifndef TGB_MTPROTO_SESSION_H
#define TGB_MTPROTO_SESSION_H

#include "base/buf.h"
#include "crypto/crypto.h"
#include "mtproto/message.h"

#include <tgbotapi/tgbotapi.h>

typedef struct tgb_mtp_session tgb_mtp_session;

typedef struct tgb_mtp_callbacks {
    /**
     * The answer to request `token` (result or rpc_error, never an `error`): exactly once
     * per request that was not forgotten.
     */
    void (*answer)(void *user_data, uint64_t token, const tgb_rpc_answer *answer);
    /** Unsolicited content (an Updates object), TL bytes borrowed for the call. */
    void (*update)(void *user_data, const uint8_t *tl, size_t len);
    /** The server started a new session for us (new_session_created). Optional. */
    void (*session_created)(void *user_data);
    /** There is something to send: call tgb_mtp_session_pull(). Optional. */
    void (*want_write)(void *user_data);
    /** The connection looks dead (no pong): drop it and reconnect. Optional. */
    void (*dead)(void *user_data);
    /** A log line, as tgb_session_callbacks.log. Optional. */
    void (*log)(void *user_data, int level, const char *line);
} tgb_mtp_callbacks;

typedef struct tgb_mtp_config {
    const uint8_t *auth_key;    /* 256 bytes, copied */
    int64_t server_salt;        /* from the handshake or persisted */
    int64_t time_offset_us;     /* server time - local time */
    const tgb_random *rnd;      /* session_id, padding, ping ids; NULL = OpenSSL; borrowed */
    const uint8_t *init_prefix; /* bytes put before the first request of every new
                                   session: invokeWithLayer#da9b0d0d layer,
                                   initConnection#c1cd5ea9 fields, up to its query;
                                   borrowed: it must outlive the session;
                                   may be empty */
    size_t init_prefix_len;
    int ping_interval; /* seconds; 0 = no pings */
} tgb_mtp_config;

/**
 * Creates a session with a new random session_id. `answer` is required. The session
 * assumes its connection is up (requests can be pulled at once); pings start with
 * tgb_mtp_session_connection_ready(). TGB_ERR_INVALID (no auth key, no answer callback,
 * a negative ping_interval), TGB_ERR_NOMEM, or the error of `rnd`.
 */
int tgb_mtp_session_new(tgb_mtp_session **out, const tgb_mtp_config *config,
                        const tgb_mtp_callbacks *callbacks, void *user_data, tgb_time now);

/** Frees the session without calling any callback. NULL-safe. Not from its callbacks. */
void tgb_mtp_session_del(tgb_mtp_session *s);

/**
 * Queues a request (a serialised TL function, copied) named `token`. TGB_ERR_INVALID if
 * `len` is not a positive multiple of 4, TGB_ERR_LIMIT above 2 MiB, TGB_ERR_NOMEM.
 */
int tgb_mtp_session_send(tgb_mtp_session *s, uint64_t token, const uint8_t *query, size_t len,
                         tgb_time now);

/**
 * Queues auth.bindTempAuthKey, binding this session's (temporary) key to `perm_key`
 * until `expires_at` (server Unix time), ahead of every other request. Its answer
 * (boolTrue, or an rpc_error) comes to the answer callback under `token`. The query is
 * built when it is sent, because its binding message names its own msg_id.
 */
int tgb_mtp_session_send_bind(tgb_mtp_session *s, uint64_t token, const uint8_t perm_key[256],
                              int64_t nonce, int32_t expires_at, tgb_time now);

/**
 * Forgets request `token`: its answer callback will not run; if it was not sent yet it
 * never will be. TGB_ERR_INVALID if unknown.
 */
int tgb_mtp_session_forget(tgb_mtp_session *s, uint64_t token);

/**
 * Appends the next encrypted packet to send (auth_key_id + msg_key + ciphertext) to
 * `out`: returns 1, or 0 if nothing is waiting (or the connection is lost), or a
 * negative tgb_error (TGB_ERR_NOMEM, TGB_ERR_LIMIT from `out`, the error of `rnd`).
 * Call until it returns 0. Several waiting messages (requests, acks, pings, resends) go
 * in one msg_container of at most 1000 messages / 1020 KiB; a request larger than that
 * goes alone. Acks wait up to a second for something to ride with.
 */
int tgb_mtp_session_pull(tgb_mtp_session *s, tgb_time now, tgb_buf *out);

/**
 * Handles one received encrypted packet. Packets that fail to decrypt or check are
 * dropped and change nothing: a wrong auth_key_id or msg_key is TGB_ERR_INTEGRITY; a
 * bad length or padding, another session_id, an even or already seen msg_id, a msg_id
 * more than 300 s old or 30 s ahead of the server's clock as we know it (unless it
 * carries bad_msg_notification / bad_server_salt), a malformed container or gzip_packed
 * are TGB_ERR_PROTOCOL; gzip_packed unpacking past TGB_GZIP_MAX_UNPACKED (4 MiB) is
 * TGB_ERR_LIMIT. The session stays usable after all of them.
 */
int tgb_mtp_session_recv(tgb_mtp_session *s, const uint8_t *packet, size_t len, tgb_time now);

/** The connection is gone; unacknowledged messages will be resent on the next. */
void tgb_mtp_session_connection_lost(tgb_mtp_session *s, tgb_time now);

/**
 * A new connection is up: resends become due, and a ping goes at once when pings are on
 * or answers are owed (the server only learns the new connection from a message on it),
 * then every ping_interval.
 */
void tgb_mtp_session_connection_ready(tgb_mtp_session *s, tgb_time now);

/** The server salt in use (for persistence). */
int64_t tgb_mtp_session_salt(const tgb_mtp_session *s);

/** The session's random session_id (for persistence, to destroy it later). */
uint64_t tgb_mtp_session_id(const tgb_mtp_session *s);

/**
 * Asks the server to forget another session of the same auth key, e.g. one a previous
 * run left behind (destroy_session, https://core.telegram.org/mtproto/service_messages).
 * The answer (destroy_session_ok / _none) is only logged. TGB_ERR_NOMEM.
 */
int tgb_mtp_session_destroy_other(tgb_mtp_session *s, uint64_t session_id, tgb_time now);

/** When tgb_mtp_session_timeout() should next run; TGB_TIME_NEVER if not. */
tgb_time tgb_mtp_session_next_timeout(const tgb_mtp_session *s);

/** Runs due timers: acks, pings, future salts and the salt switch, state requests. */
int tgb_mtp_session_timeout(tgb_mtp_session *s, tgb_time now);

#endif
