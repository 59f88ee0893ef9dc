/*
 * libtgbotapi — a Telegram Bot API server as an embeddable C library.
 *
 * This is the whole public API. Everything else in the source tree is internal and
 * may change between any two versions; only the symbols declared here are exported
 * from the shared library.
 *
 * Conventions (see docs/api.md):
 * - Every function that can fail returns an `int`: 0 (TGB_OK) on success or a
 *   negative `tgb_error` code. `tgb_strerror()` names it.
 * - Objects are opaque; constructors are `tgb_<object>_new(&out, ...)` and
 *   destructors `tgb_<object>_del(obj)` accept NULL.
 * - Strings are UTF-8 and NUL-terminated; the header of each function says who owns
 *   a returned pointer and for how long.
 *
 * Distributed under the Boost Software License, Version 1.0 (LICENSE_1_0.txt).
 */
#ifndef TGBOTAPI_TGBOTAPI_H
#define TGBOTAPI_TGBOTAPI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(TGB_BUILDING_SHARED)
#define TGB_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define TGB_API __attribute__((visibility("default")))
#else
#define TGB_API
#endif

/** Library version, as numbers and as the string "MAJOR.MINOR.PATCH". */
#define TGB_VERSION_MAJOR  0
#define TGB_VERSION_MINOR  1
#define TGB_VERSION_PATCH  0
#define TGB_VERSION_STRING "0.1.0"

/** The Bot API version this library implements, as the reference prints it. */
#define TGB_BOT_API_VERSION "10.1"

/** The MTProto API layer this library speaks (sent in invokeWithLayer). */
#define TGB_TL_LAYER 228

/**
 * Error codes. 0 is success; every error is negative. Telegram's own failures
 * (rpc_error) and Bot API failures are not library errors: they come back as data
 * with Telegram's or the reference server's texts.
 *
 * An error marked "fatal" leaves the object it came from unusable: the only legal call
 * on it afterwards is its `_del`. `tgb_error_is_fatal()` tells which.
 */
typedef enum tgb_error {
    TGB_OK = 0,

    /* General. */
    TGB_ERR_NOMEM = -1,     /**< an allocation failed (fatal) */
    TGB_ERR_INVALID = -2,   /**< an argument is out of its documented range */
    TGB_ERR_LIMIT = -3,     /**< input would grow a buffer past its cap */
    TGB_ERR_STATE = -4,     /**< the call is not legal in the object's current state */
    TGB_ERR_CANCELLED = -5, /**< the request was cancelled by its caller */
    TGB_ERR_CLOSED = -6,    /**< the object was destroyed with the request pending */
    TGB_ERR_TIMEOUT = -7,   /**< no answer within the request's deadline */
    TGB_ERR_REENTRANT = -8, /**< called from inside one of the object's own callbacks */

    /* TL (MTProto serialisation). */
    TGB_ERR_TL_TRUNCATED = -20,  /**< the bytes end before the object does */
    TGB_ERR_TL_UNKNOWN_ID = -21, /**< a constructor id this layer does not know */
    TGB_ERR_TL_WRONG_TYPE = -22, /**< a known constructor where another type belongs */
    TGB_ERR_TL_TOO_DEEP = -23,   /**< objects nest deeper than the decoder allows */
    TGB_ERR_TL_BAD_STRING = -24, /**< a string or bytes field is malformed */
    TGB_ERR_TL_TOO_LARGE = -25,  /**< the object would exceed the size cap */
    TGB_ERR_TL_MISSING = -26,    /**< encoding: a field present by its flags is NULL */
    TGB_ERR_TL_TRAILING = -27,   /**< bytes left over after a complete object */
    TGB_ERR_TL_BAD_VALUE = -28,  /**< a value outside its type (e.g. a Bool id) */

    /* Crypto. */
    TGB_ERR_CRYPTO = -40,    /**< the crypto library reported a failure */
    TGB_ERR_RSA_KEY = -41,   /**< an RSA key could not be read or is unusable */
    TGB_ERR_DH_PARAMS = -42, /**< Diffie-Hellman parameters failed a check */
    TGB_ERR_PQ = -43,        /**< pq is not a product of two primes we can factor */
    TGB_ERR_RANDOM = -44,    /**< the random source failed */
    TGB_ERR_INTEGRITY = -45, /**< a hash, nonce or length check failed */

    /* MTProto. */
    TGB_ERR_TRANSPORT = -60,  /**< the peer broke the transport framing */
    TGB_ERR_PROTOCOL = -61,   /**< the peer broke MTProto (bad message, bad handshake) */
    TGB_ERR_AUTH_KEY = -62,   /**< the server does not know our auth key (transport -404) */
    TGB_ERR_UNSUPPORTED = -63 /**< the peer asked for something we do not implement */
} tgb_error;

/**
 * Returns a short English description of an error code, e.g. "out of memory".
 * Never NULL; unknown codes give "unknown error". The string is static.
 */
TGB_API const char *tgb_strerror(int code);

/**
 * Returns the name of an error code's enumerator, e.g. "TGB_ERR_NOMEM", or
 * "TGB_ERR_UNKNOWN". The string is static.
 */
TGB_API const char *tgb_error_name(int code);

/** Returns 1 if `code` is a fatal error (see `tgb_error`), else 0. */
TGB_API int tgb_error_is_fatal(int code);

/**
 * Returns the library's version string ("MAJOR.MINOR.PATCH") as built, which may
 * differ from TGB_VERSION_STRING of the header a program was compiled with.
 * The string is static.
 */
TGB_API const char *tgb_version(void);

/** Returns the MTProto API layer the library was built for (TGB_TL_LAYER at build time). */
TGB_API int tgb_tl_layer(void);

/**
 * Frees memory the library allocated and handed over (e.g. tgb_tl_to_json's string),
 * so programs and bindings whose allocator differs from the library's can free it.
 * NULL-safe.
 */
TGB_API void tgb_free(void *p);

/**
 * Renders one serialised TL object of layer TGB_TL_LAYER (a boxed constructor or
 * function, e.g. a request's answer) as compact JSON: {"_":"nearestDc","country":"NL",
 * ...}, longs as numbers, bytes as hex strings. *json is NUL-terminated and freed with
 * tgb_free(). TGB_ERR_TL_* when the bytes are not one whole object.
 */
TGB_API int tgb_tl_to_json_string(const uint8_t *tl, size_t len, char **json);

/* ====================================================================== time */

/**
 * Time as the engine sees it: microseconds since 1970-01-01 UTC, read by the host from
 * its wall clock (CLOCK_REALTIME) and passed into every call that can change state. The
 * engine never reads a clock. Wall time, because MTProto message ids carry it and
 * Telegram checks them; if the clock jumps, timers fire early or late and the session
 * corrects its message ids from the server's answers.
 */
typedef int64_t tgb_time;

/** No deadline, as returned by the `..._next_timeout()` functions. */
#define TGB_TIME_NEVER INT64_MAX

/* ====================================================================== MTProto sessions */

/**
 * MTProto transports (https://core.telegram.org/mtproto/mtproto-transports). OR one of
 * abridged, intermediate and padded intermediate with TGB_TRANSPORT_OBFUSCATED for the
 * obfuscated2 variant (Telegram defines none for the full transport).
 */
typedef enum tgb_transport {
    TGB_TRANSPORT_ABRIDGED = 1,
    TGB_TRANSPORT_INTERMEDIATE = 2,
    TGB_TRANSPORT_PADDED_INTERMEDIATE = 3,
    TGB_TRANSPORT_FULL = 4,
    TGB_TRANSPORT_OBFUSCATED = 0x100
} tgb_transport;

/**
 * A session: one MTProto session with one Telegram data centre, over one TCP connection
 * at a time. It creates the auth key if it has none, keeps the connection (reconnecting
 * with backoff), and sends requests and delivers their answers and the server's updates.
 *
 * It is sans-I/O: it does no socket I/O, reads no clock, starts no thread. The host
 * (the runtime, or your own event loop) opens the TCP connections it asks for, feeds
 * received bytes in with tgb_session_recv(), writes out what tgb_session_pending()
 * returns, passes the time into every call and calls tgb_session_timeout() when
 * tgb_session_next_timeout() is reached. A session is used by one thread at a time.
 *
 * Callbacks run only inside calls on the session. From inside a callback, calling
 * tgb_session_call(), tgb_session_cancel() and tgb_session_pending() is allowed; any
 * other call on the same session returns TGB_ERR_REENTRANT.
 */
typedef struct tgb_session tgb_session;

/** The answer to one request. Every pointer is borrowed for the callback only. */
typedef struct tgb_rpc_answer {
    /**
     * 0 when the server answered (with a result or an rpc_error), else why there is no
     * answer: TGB_ERR_CANCELLED, TGB_ERR_CLOSED (tgb_session_del), TGB_ERR_TIMEOUT.
     */
    int error;
    /** The result: a boxed TL object, as Telegram sent it (gzip_packed unpacked). */
    const uint8_t *result;
    size_t result_len;
    /** When Telegram answered rpc_error: its code (e.g. 400, 420) and text, else 0/NULL. */
    int rpc_error_code;
    const char *rpc_error_message;
} tgb_rpc_answer;

/** Called exactly once per successful tgb_session_call(). */
typedef void (*tgb_rpc_callback)(void *user_data, const tgb_rpc_answer *answer);

#define TGB_SESSION_CALLBACKS_VERSION 1

/** What the session asks of its host. Fill from tgb_session_callbacks_default(). */
typedef struct tgb_session_callbacks {
    unsigned version; /**< TGB_SESSION_CALLBACKS_VERSION */
    /**
     * Open a TCP connection, named `conn`, to host:port (an IPv4/IPv6 literal or a name).
     * Report the outcome later with tgb_session_connected() or tgb_session_closed().
     * Return 0, or a negative tgb_error if it cannot even be tried (the session then
     * treats it as closed and retries later). Required.
     */
    int (*connect)(void *user_data, uint64_t conn, const char *host, int port);
    /** Close connection `conn`; the session will not mention it again. Required. */
    void (*close)(void *user_data, uint64_t conn);
    /**
     * `conn` has bytes to send: call tgb_session_pending() when the socket is writable.
     * Optional: a host that checks tgb_session_pending() after every call can leave it
     * NULL.
     */
    void (*want_write)(void *user_data, uint64_t conn);
    /** Fill `out` with `len` random bytes; 0 or a negative tgb_error. NULL: OpenSSL. */
    int (*random)(void *user_data, uint8_t *out, size_t len);
    /**
     * The server sent something not answering a request: an Updates object (or
     * updatesTooLong), as TL bytes borrowed for the call. Optional.
     */
    void (*update)(void *user_data, const uint8_t *tl, size_t len);
    /**
     * The session created a new permanent auth key for its DC: store `key` (256 bytes)
     * to pass in tgb_session_settings.auth_key next time. Optional.
     */
    void (*auth_key)(void *user_data, const uint8_t *key, size_t len);
    /** A log line (level 1 error, 2 warning, 3 info, 4 debug), NUL-terminated. Optional. */
    void (*log)(void *user_data, int level, const char *line);
} tgb_session_callbacks;

/** Zeroes `cb` and sets its version. */
TGB_API void tgb_session_callbacks_default(tgb_session_callbacks *cb);

#define TGB_SESSION_SETTINGS_VERSION 1

/** How to reach a DC and who to say we are. Fill from tgb_session_settings_default(). */
typedef struct tgb_session_settings {
    unsigned version; /**< TGB_SESSION_SETTINGS_VERSION */
    /** The DC's number (1..5 on Telegram). Default 2. */
    int dc_id;
    /**
     * Where to connect. NULL host: the built-in address of dc_id (production, or test
     * with `test_dc`), from ../shared/spec/telegram-network.md. Default NULL / 443.
     */
    const char *host;
    int port;
    /** A tgb_transport. Default TGB_TRANSPORT_INTERMEDIATE, as tdlib. */
    int transport;
    /**
     * The server's RSA public keys, as PEM text (one or more "RSA PUBLIC KEY" or
     * "PUBLIC KEY" blocks). NULL: Telegram's production key (or its test key with
     * `test_dc`). Copied by tgb_session_new().
     */
    const char *rsa_public_keys_pem;
    /** 1: Telegram's test DCs (the handshake's dc id is dc_id + 10000). Default 0. */
    int test_dc;
    /** 1: a media-only DC (the handshake's dc id is negated). Default 0. */
    int media_dc;
    /**
     * A permanent auth key from an earlier auth_key callback (256 bytes), or NULL to
     * create one. Copied.
     */
    const uint8_t *auth_key;
    size_t auth_key_len;
    /**
     * 1: perfect forward secrecy: talk over temporary keys of `temp_key_lifetime`
     * seconds bound to the permanent key with auth.bindTempAuthKey. Default 0.
     */
    int temp_keys;
    int temp_key_lifetime;
    /** The API layer sent in invokeWithLayer. Default TGB_TL_LAYER. */
    int layer;
    /** initConnection's fields. api_id default 0 (set yours); strings default "". */
    int api_id;
    const char *device_model;
    const char *system_version;
    const char *app_version;
    const char *system_lang_code;
    const char *lang_pack;
    const char *lang_code;
    /** Seconds between keepalive pings (ping_delay_disconnect). Default 60. */
    int ping_interval;
    /** Seconds a request may wait for its answer before TGB_ERR_TIMEOUT; 0 = none. */
    int request_timeout;
} tgb_session_settings;

/** Fills `s` with the defaults documented above. */
TGB_API void tgb_session_settings_default(tgb_session_settings *s);

/**
 * Creates a session. It asks for its first connection (through `connect`) at once.
 * Settings and callbacks are copied; `user_data` is passed to every callback.
 * TGB_ERR_INVALID for bad settings (unknown transport, no usable RSA key, a missing
 * required callback), TGB_ERR_NOMEM.
 */
TGB_API int tgb_session_new(tgb_session **out, const tgb_session_settings *settings,
                            const tgb_session_callbacks *callbacks, void *user_data, tgb_time now);

/**
 * Destroys a session: closes its connection (`close`) and completes every pending
 * request with TGB_ERR_CLOSED. NULL-safe. Not callable from the session's callbacks.
 */
TGB_API void tgb_session_del(tgb_session *s);

/** The host's connection `conn` is established. */
TGB_API int tgb_session_connected(tgb_session *s, uint64_t conn, tgb_time now);

/** Connection `conn` failed or was closed by the peer. The session reconnects later. */
TGB_API int tgb_session_closed(tgb_session *s, uint64_t conn, tgb_time now);

/**
 * Bytes received on `conn`. A fatal protocol error (garbage from the server) closes the
 * connection (`close`) and schedules a reconnect; the call still returns 0 then. Errors
 * returned are about the call itself (TGB_ERR_INVALID, TGB_ERR_NOMEM, ...).
 */
TGB_API int tgb_session_recv(tgb_session *s, uint64_t conn, const uint8_t *data, size_t len,
                             tgb_time now);

/**
 * The bytes waiting to be sent on `conn`: *data points into the session and stays valid
 * until the next call on it other than tgb_session_pending(). Returns their count (0:
 * nothing to send). Report what was written with tgb_session_sent().
 */
TGB_API size_t tgb_session_pending(tgb_session *s, uint64_t conn, const uint8_t **data);

/** `n` of the pending bytes of `conn` were written. */
TGB_API int tgb_session_sent(tgb_session *s, uint64_t conn, size_t n, tgb_time now);

/** When tgb_session_timeout() should next be called; TGB_TIME_NEVER if not. */
TGB_API tgb_time tgb_session_next_timeout(const tgb_session *s);

/** Runs the timers due at `now` (pings, resends, reconnects, request deadlines). */
TGB_API int tgb_session_timeout(tgb_session *s, tgb_time now);

/**
 * Sends a request: `query` is a serialised TL function (a boxed object, e.g.
 * help.getConfig), copied. `callback` runs exactly once, with the answer or with why
 * there is none; never before this call returns. *call_id (if not NULL) names the
 * request for tgb_session_cancel(). If this call returns an error, the callback never
 * runs.
 */
TGB_API int tgb_session_call(tgb_session *s, const uint8_t *query, size_t len,
                             tgb_rpc_callback callback, void *user_data, uint64_t *call_id,
                             tgb_time now);

/**
 * Cancels a pending request: its callback runs now with TGB_ERR_CANCELLED (the server
 * may still execute it if it was sent). TGB_ERR_INVALID if `call_id` is not pending.
 */
TGB_API int tgb_session_cancel(tgb_session *s, uint64_t call_id);

/* ====================================================================== runtime */

/**
 * The default host: a thread running an epoll loop that owns the sockets and timers of
 * the sessions opened on it. Every function in this section may be called from any
 * thread; callbacks of sessions opened on the runtime run on the runtime's thread.
 * An application with its own event loop drives tgb_session directly instead.
 */
typedef struct tgb_runtime tgb_runtime;

/** A session opened on a runtime. */
typedef struct tgb_runtime_session tgb_runtime_session;

/** Creates a runtime and starts its thread. TGB_ERR_NOMEM, TGB_ERR_INVALID. */
TGB_API int tgb_runtime_new(tgb_runtime **out);

/**
 * Closes every session still open (their pending requests complete with
 * TGB_ERR_CLOSED), stops the thread and frees the runtime. NULL-safe. Not callable from
 * the runtime's thread.
 */
TGB_API void tgb_runtime_del(tgb_runtime *rt);

/**
 * Opens a session on the runtime (see tgb_session_new for `settings`, copied). From
 * `callbacks` only update, auth_key and log are used (may be NULL): the runtime does the
 * I/O and randomness itself. Waits until the session exists.
 */
TGB_API int tgb_runtime_session_open(tgb_runtime *rt, const tgb_session_settings *settings,
                                     const tgb_session_callbacks *callbacks, void *user_data,
                                     tgb_runtime_session **out);

/**
 * Closes a session: pending requests complete with TGB_ERR_CLOSED. `rs` is invalid as
 * soon as this is called. NULL-safe.
 */
TGB_API void tgb_runtime_session_close(tgb_runtime_session *rs);

/**
 * Sends a request on a runtime session (as tgb_session_call; `query` copied).
 * `callback` runs once on the runtime's thread, with the answer or with why there is
 * none (including TGB_ERR_NOMEM should the session run out of memory taking it). If
 * this returns an error, it never runs.
 */
TGB_API int tgb_runtime_call(tgb_runtime_session *rs, const uint8_t *query, size_t len,
                             tgb_rpc_callback callback, void *user_data);

/**
 * Sends a request and waits for its answer, at most `timeout_ms` (0: no limit). After
 * that it returns TGB_ERR_TIMEOUT; the request stays sent and its answer, if one comes,
 * is discarded. On 0, `*answer` holds copies the caller owns: free them with
 * tgb_rpc_answer_free(). Not callable from the runtime's thread (TGB_ERR_REENTRANT).
 */
TGB_API int tgb_runtime_call_wait(tgb_runtime_session *rs, const uint8_t *query, size_t len,
                                  int timeout_ms, tgb_rpc_answer *answer);

/** Frees what tgb_runtime_call_wait() put in an answer. NULL-safe. */
TGB_API void tgb_rpc_answer_free(tgb_rpc_answer *answer);

#ifdef __cplusplus
}
#endif

#endif /* TGBOTAPI_TGBOTAPI_H */
