/*
 * An emulated Telegram data centre, sans-I/O: the server side of everything in
 * mtproto/. The host (emulator/server.c over a tgb_loop, or a test in memory) accepts
 * TCP connections, feeds their bytes to tgemu_conn_recv(), writes out what
 * tgemu_conn_pending() returns and runs tgemu_dc_timeout() at tgemu_dc_next_timeout().
 *
 * Per connection: transport detection and framing (mtproto/transport), the auth-key
 * exchange when a client starts with unencrypted messages (auth_server), else message
 * decryption with the key its auth_key_id names (transport error -404 when the DC does
 * not know it) and the session its session_id names (session_server). RPC queries are
 * unwrapped (invokeWithLayer, initConnection, invokeAfterMsg...), decoded in the
 * client's layer (228, or 144/198/227 through a layer map; others refused with
 * CONNECTION_LAYER_INVALID) and answered (rpc.c), and answers are encoded back in the
 * client's layer.
 *
 * Fault injection (tgemu_dc_set_faults) lets tests prove clients recover: connections
 * dropped after N messages, bad_server_salt answers, delayed replies, FLOOD_WAIT_X,
 * restart (sessions forgotten, keys kept).
 */
#ifndef TGEMU_DC_H
#define TGEMU_DC_H

#include "base/buf.h"
#include "crypto/crypto.h"

#include <tgbotapi/tgbotapi.h>

typedef struct tgemu_dc tgemu_dc;
typedef struct tgemu_conn tgemu_conn;

/** One entry of help.getConfig's dc_options. */
typedef struct tgemu_dc_option {
    int id;
    const char *ip; /* IPv4 literal */
    int port;
} tgemu_dc_option;

typedef struct tgemu_dc_callbacks {
    /** `conn` has bytes to send (tgemu_conn_pending). Optional. */
    void (*want_write)(void *user_data, tgemu_conn *conn);
    /**
     * The DC wants `conn` closed (protocol violation, fault injection, a client's
     * ping_delay_disconnect ran out). The host closes the socket and calls
     * tgemu_conn_del(). Required.
     */
    void (*close)(void *user_data, tgemu_conn *conn);
    /** A new auth key was created (to persist and restore with tgemu_dc_add_key). */
    void (*auth_key)(void *user_data, const uint8_t key[256], int temp, int64_t expires_at);
    /** A log line (level 1 error .. 4 debug). Optional. */
    void (*log)(void *user_data, int level, const char *line);
} tgemu_dc_callbacks;

typedef struct tgemu_dc_config {
    int dc_id;
    /** The private RSA key clients' handshakes are encrypted to. Borrowed. */
    const tgb_rsa_key *key;
    /** NULL = OpenSSL. Borrowed. */
    const tgb_random *rnd;
    /** help.getConfig's dc_options (all DCs of this emulator). Copied. */
    const tgemu_dc_option *options;
    size_t noptions;
    /** A secret (32 bytes) salts are derived from, so they survive restarts. Copied. */
    const uint8_t *salt_secret;
} tgemu_dc_config;

/** Fault switches (all off when zero). */
typedef struct tgemu_faults {
    /** Close a connection after it has carried this many client messages. */
    int drop_after;
    /** Answer the next N client messages with bad_server_salt. */
    int bad_salt;
    /** Hold every answer this many milliseconds. */
    int delay_ms;
    /** Answer the next N queries with rpc_error 420 FLOOD_WAIT_<flood_wait_seconds>. */
    int flood_wait;
    int flood_wait_seconds;
} tgemu_faults;

int tgemu_dc_new(tgemu_dc **out, const tgemu_dc_config *config, const tgemu_dc_callbacks *callbacks,
                 void *user_data, tgb_time now);

/** Frees the DC. Its connections must have been deleted. NULL-safe. */
void tgemu_dc_del(tgemu_dc *dc);

/** Restores a persisted auth key (as given to the auth_key callback). */
int tgemu_dc_add_key(tgemu_dc *dc, const uint8_t key[256], int temp, int64_t expires_at);

/** Sets the fault switches (copied; replaces the previous ones). */
void tgemu_dc_set_faults(tgemu_dc *dc, const tgemu_faults *faults);

/** The current fault switches (counters count down as faults fire). */
void tgemu_dc_get_faults(const tgemu_dc *dc, tgemu_faults *faults);

/**
 * Restart, as a real DC restart looks to clients: every session is forgotten (clients
 * get new_session_created) and every connection closed; auth keys stay.
 */
void tgemu_dc_restart(tgemu_dc *dc, tgb_time now);

/** The DC's number. */
int tgemu_dc_id(const tgemu_dc *dc);

/** Counters for tests and the control API. */
typedef struct tgemu_dc_stats {
    uint64_t connections; /* accepted so far */
    uint64_t auth_keys;   /* created so far */
    uint64_t queries;     /* RPC queries executed */
    uint64_t messages_in; /* encrypted client messages */
    uint64_t restarts;    /* tgemu_dc_restart() calls */
} tgemu_dc_stats;
void tgemu_dc_get_stats(const tgemu_dc *dc, tgemu_dc_stats *stats);

/** When tgemu_dc_timeout() should next run. */
tgb_time tgemu_dc_next_timeout(const tgemu_dc *dc);
int tgemu_dc_timeout(tgemu_dc *dc, tgb_time now);

/** A new client connection. `user_data` is the host's, returned by tgemu_conn_data(). */
int tgemu_conn_new(tgemu_dc *dc, tgemu_conn **out, void *user_data, tgb_time now);

/** Forgets a connection (after the socket closed, either side). NULL-safe. */
void tgemu_conn_del(tgemu_conn *conn, tgb_time now);

void *tgemu_conn_data(const tgemu_conn *conn);

/**
 * Bytes from the client. Returns 0; a connection the DC wants closed is reported
 * through the `close` callback (possibly from inside this call).
 */
int tgemu_conn_recv(tgemu_conn *conn, const uint8_t *data, size_t len, tgb_time now);

/** Bytes waiting for the client; *data valid until the next call on the DC. */
size_t tgemu_conn_pending(tgemu_conn *conn, const uint8_t **data);

/** `n` pending bytes were written. */
void tgemu_conn_sent(tgemu_conn *conn, size_t n);

#endif
