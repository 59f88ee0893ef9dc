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
    TGB_ERR_NOMEM = -1,   /**< an allocation failed (fatal) */
    TGB_ERR_INVALID = -2, /**< an argument is out of its documented range */
    TGB_ERR_LIMIT = -3,   /**< input would grow a buffer past its cap */
    TGB_ERR_STATE = -4,   /**< the call is not legal in the object's current state */

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
    TGB_ERR_INTEGRITY = -45  /**< a hash, nonce or length check failed */
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

#ifdef __cplusplus
}
#endif

#endif /* TGBOTAPI_TGBOTAPI_H */
