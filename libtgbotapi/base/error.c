/* Error names and texts for the public tgb_error enum. */
#include <tgbotapi/tgbotapi.h>

#include <stddef.h>

struct error_info {
    int code;
    const char *name;
    const char *text;
    int fatal;
};

static const struct error_info errors[] = {
    {TGB_OK, "TGB_OK", "success", 0},
    {TGB_ERR_NOMEM, "TGB_ERR_NOMEM", "out of memory", 1},
    {TGB_ERR_INVALID, "TGB_ERR_INVALID", "invalid argument", 0},
    {TGB_ERR_LIMIT, "TGB_ERR_LIMIT", "size limit exceeded", 0},
    {TGB_ERR_STATE, "TGB_ERR_STATE", "call not allowed in the current state", 0},
    {TGB_ERR_CANCELLED, "TGB_ERR_CANCELLED", "request cancelled", 0},
    {TGB_ERR_CLOSED, "TGB_ERR_CLOSED", "destroyed with the request pending", 0},
    {TGB_ERR_TIMEOUT, "TGB_ERR_TIMEOUT", "no answer before the deadline", 0},
    {TGB_ERR_REENTRANT, "TGB_ERR_REENTRANT", "call not allowed from this object's callback", 0},
    {TGB_ERR_TL_TRUNCATED, "TGB_ERR_TL_TRUNCATED", "TL data ends before the object does", 0},
    {TGB_ERR_TL_UNKNOWN_ID, "TGB_ERR_TL_UNKNOWN_ID", "unknown TL constructor id", 0},
    {TGB_ERR_TL_WRONG_TYPE, "TGB_ERR_TL_WRONG_TYPE", "TL constructor of the wrong type", 0},
    {TGB_ERR_TL_TOO_DEEP, "TGB_ERR_TL_TOO_DEEP", "TL objects nested too deeply", 0},
    {TGB_ERR_TL_BAD_STRING, "TGB_ERR_TL_BAD_STRING", "malformed TL string", 0},
    {TGB_ERR_TL_TOO_LARGE, "TGB_ERR_TL_TOO_LARGE", "TL object exceeds the size cap", 0},
    {TGB_ERR_TL_MISSING, "TGB_ERR_TL_MISSING", "TL field flagged present is missing", 0},
    {TGB_ERR_TL_TRAILING, "TGB_ERR_TL_TRAILING", "bytes left after the TL object", 0},
    {TGB_ERR_TL_BAD_VALUE, "TGB_ERR_TL_BAD_VALUE", "TL value outside its type", 0},
    {TGB_ERR_CRYPTO, "TGB_ERR_CRYPTO", "crypto library failure", 0},
    {TGB_ERR_RSA_KEY, "TGB_ERR_RSA_KEY", "unusable RSA key", 0},
    {TGB_ERR_DH_PARAMS, "TGB_ERR_DH_PARAMS", "Diffie-Hellman parameters failed a check", 0},
    {TGB_ERR_PQ, "TGB_ERR_PQ", "pq cannot be factored", 0},
    {TGB_ERR_RANDOM, "TGB_ERR_RANDOM", "random source failed", 0},
    {TGB_ERR_INTEGRITY, "TGB_ERR_INTEGRITY", "integrity check failed", 0},
    {TGB_ERR_TRANSPORT, "TGB_ERR_TRANSPORT", "transport framing broken by the peer", 0},
    {TGB_ERR_PROTOCOL, "TGB_ERR_PROTOCOL", "MTProto broken by the peer", 0},
    {TGB_ERR_AUTH_KEY, "TGB_ERR_AUTH_KEY", "the server does not know the auth key", 0},
    {TGB_ERR_UNSUPPORTED, "TGB_ERR_UNSUPPORTED", "not supported", 0},
};

static const struct error_info *find(int code)
{
    for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
        if (errors[i].code == code)
            return &errors[i];
    return NULL;
}

const char *tgb_strerror(int code)
{
    const struct error_info *e = find(code);
    return e ? e->text : "unknown error";
}

const char *tgb_error_name(int code)
{
    const struct error_info *e = find(code);
    return e ? e->name : "TGB_ERR_UNKNOWN";
}

int tgb_error_is_fatal(int code)
{
    const struct error_info *e = find(code);
    return e ? e->fatal : 0;
}

const char *tgb_version(void)
{
    return TGB_VERSION_STRING;
}

int tgb_tl_layer(void)
{
    return TGB_TL_LAYER;
}
