/*
 * RPC queries at the emulated DC: unwrap, decode in the client's layer, execute, encode
 * the answer in the client's layer.
 *
 * A client says its layer with invokeWithLayer, usually around initConnection around its
 * first query (clients.md: Telethon 144, GramJS 198, mtcute 227, tdlib and we 228). The
 * DC remembers it per auth key, as Telegram does, and uses it for later queries that
 * come without it. Wrappers are any function whose result is its `query:!X`
 * (invokeWithLayer, initConnection, invokeAfterMsg(s), invokeWithoutUpdates,
 * invokeWithMessagesRange, invokeWithTakeout, invokeWithBusinessConnection, ...): the
 * innermost function is the one executed.
 *
 * Errors are Telegram's: an unknown layer is CONNECTION_LAYER_INVALID, an unknown
 * function INPUT_METHOD_INVALID, bytes that do not parse INPUT_FETCH_ERROR, and a method
 * that needs a logged-in account on a key that is not logged in 401
 * AUTH_KEY_UNREGISTERED (what clients' start-up expects: Telethon's connect() calls
 * users.getUsers and takes 401 as "not logged in"). A method allowed without login that
 * the emulator does not implement answers 400 METHOD_NOT_IMPLEMENTED (ours: the
 * emulator never drops a connection over a method it lacks).
 */
#include "emulator/dc_internal.h"

#include "crypto/crypto.h"
#include "tl/tl_api.h"
#include "tl/tl_transcode.h"

#include <stdio.h>
#include <string.h>

static int fail(tgemu_rpc_outcome *out, int code, const char *message)
{
    out->error_code = code;
    snprintf(out->error_message, sizeof(out->error_message), "%s", message);
    return 0;
}

/*
 * Methods Telegram serves to keys nobody has logged in with: the ones that log in,
 * configuration and language packs. Everything else answers 401 there.
 */
static int allowed_without_login(const char *name)
{
    static const char *const prefixes[] = {"auth.", "help.", "langpack."};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    return 0;
}

/* The field `query:!X` of a wrapper function, or NULL if `c` is not one. */
static const tgb_tl_field *wrapped_query(const tgb_tl_combinator *c)
{
    if (!c->is_function || !c->result || c->result->kind != TGB_TL_ANY)
        return NULL;
    for (uint16_t i = 0; i < c->nfields; i++)
        if (c->fields[i].kind == TGB_TL_ANY)
            return &c->fields[i];
    return NULL;
}

/* Sets the fields of an object by name: ints from a table, strings likewise. */
struct int_value {
    const char *name;
    int32_t value;
};

static void set_ints(void *obj, const struct int_value *values, size_t n)
{
    const tgb_tl_combinator *c = ((tl_object *)obj)->desc;
    for (uint16_t i = 0; i < c->nfields; i++) {
        if (c->fields[i].kind != TGB_TL_INT)
            continue;
        for (size_t k = 0; k < n; k++)
            if (strcmp(c->fields[i].name, values[k].name) == 0)
                memcpy((uint8_t *)obj + c->fields[i].offset, &values[k].value, 4);
    }
}

/*
 * help.getConfig: the DC list of this emulator, and limits with Telegram's values. The
 * many integer fields are set by name, so a new layer's extra ones are simply 0.
 */
static void *make_config(tgemu_dc *dc, tgb_arena *a, tgb_time now)
{
    tl_config *cfg = TL_NEW(a, config);
    if (!cfg)
        return NULL;
    int32_t date = (int32_t)(now / 1000000);
    static const struct int_value values[] = {
        {"chat_size_max", 200},
        {"megagroup_size_max", 200000},
        {"forwarded_count_max", 100},
        {"online_update_period_ms", 210000},
        {"offline_blur_timeout_ms", 5000},
        {"offline_idle_timeout_ms", 30000},
        {"online_cloud_timeout_ms", 300000},
        {"notify_cloud_delay_ms", 30000},
        {"notify_default_delay_ms", 1500},
        {"push_chat_period_ms", 60000},
        {"push_chat_limit", 2},
        {"edit_time_limit", 172800},
        {"revoke_time_limit", 2147483647},
        {"revoke_pm_time_limit", 2147483647},
        {"rating_e_decay", 2419200},
        {"stickers_recent_limit", 200},
        {"channels_read_media_period", 604800},
        {"call_receive_timeout_ms", 20000},
        {"call_ring_timeout_ms", 90000},
        {"call_connect_timeout_ms", 30000},
        {"call_packet_timeout_ms", 10000},
        {"caption_length_max", 1024},
        {"message_length_max", 4096},
    };
    set_ints(cfg, values, sizeof(values) / sizeof(values[0]));
    cfg->date = date;
    cfg->expires = date + 3600;
    cfg->test_mode = false;
    cfg->this_dc = tgemu_dc_id(dc);
    cfg->webfile_dc_id = tgemu_dc_id(dc);
    cfg->dc_txt_domain_name = TL_STR("apv3.stel.com");
    cfg->me_url_prefix = TL_STR("https://t.me/");

    size_t n;
    const tgemu_dc_option *opt = tgemu_dc_options(dc, &n);
    tl_DcOption **items = n ? tgb_arena_alloc(a, n * sizeof(*items)) : NULL;
    if (n && !items)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        tl_dcOption *o = TL_NEW(a, dcOption);
        if (!o)
            return NULL;
        o->id = opt[i].id;
        o->ip_address = (tgb_tl_string){opt[i].ip, strlen(opt[i].ip)};
        o->port = opt[i].port;
        items[i] = &o->base;
    }
    cfg->dc_options = (tl_vec_DcOption){items, (uint32_t)n};
    return cfg;
}

/* help.getNearestDc: we are as near as it gets. */
static void *make_nearest_dc(tgemu_dc *dc, tgb_arena *a)
{
    tl_nearestDc *n = TL_NEW(a, nearestDc);
    if (!n)
        return NULL;
    n->country = TL_STR("NL");
    n->this_dc = tgemu_dc_id(dc);
    n->nearest_dc = tgemu_dc_id(dc);
    return n;
}

/*
 * auth.bindTempAuthKey (https://core.telegram.org/method/auth.bindTempAuthKey): the
 * binding message, encrypted with the permanent key in MTProto 1.0, must name this
 * query's msg_id, seq_no 0, and in bind_auth_key_inner the query's nonce and
 * expires_at, this (temporary) key, the permanent key and this session. Returns the
 * rpc_error text, or NULL when bound.
 */
static const char *bind_temp_key(tgemu_dc *dc, struct tgemu_sess *sess, uint64_t req_msg_id,
                                 const tl_auth_bindTempAuthKey *b)
{
    struct tgemu_key *temp = sess->key;
    if (!temp->temp)
        return "TEMP_AUTH_KEY_EMPTY";
    struct tgemu_key *perm = tgemu_dc_key(dc, (uint64_t)b->perm_auth_key_id);
    size_t n = b->encrypted_message.len;
    if (!perm || perm->temp || n < 24 + 80 || n > 24 + 96 || (n - 24) % 16)
        return "ENCRYPTED_MESSAGE_INVALID";
    uint8_t plain[96];
    if (tgb_mtproto1_decrypt(perm->key, TGB_MTPROTO_CLIENT, b->encrypted_message.data, n, plain) !=
        0)
        return "ENCRYPTED_MESSAGE_INVALID";
    int ok = tgb_le64(plain + 16) == req_msg_id && tgb_le32(plain + 24) == 0 &&
             tgb_le32(plain + 28) == 40 && tgb_le32(plain + 32) == TL_ID_bind_auth_key_inner &&
             tgb_le64(plain + 36) == (uint64_t)b->nonce && tgb_le64(plain + 44) == temp->id &&
             tgb_le64(plain + 52) == perm->id && tgb_le64(plain + 60) == sess->session_id &&
             (int32_t)tgb_le32(plain + 68) == b->expires_at;
    memset(plain, 0, sizeof(plain));
    if (!ok)
        return "ENCRYPTED_MESSAGE_INVALID";
    if (temp->bound_to && temp->bound_to != perm->id)
        return "TEMP_AUTH_KEY_ALREADY_BOUND";
    temp->bound_to = perm->id;
    tgemu_dc_log(dc, 3, "temporary key %016llx bound to %016llx", (unsigned long long)temp->id,
                 (unsigned long long)perm->id);
    return NULL;
}

int tgemu_rpc_execute(tgemu_dc *dc, struct tgemu_sess *sess, uint64_t req_msg_id,
                      const uint8_t *query, size_t len, tgb_time now, tgemu_rpc_outcome *out)
{
    out->error_code = 0;
    out->result.len = 0;
    if (len < 4)
        return fail(out, 400, "INPUT_FETCH_ERROR");

    /* the layer: named by an outer invokeWithLayer, else remembered for the key */
    int layer = sess->key->layer ? sess->key->layer : TGB_TL_LAYER;
    if (tgb_le32(query) == TL_ID_invokeWithLayer && len >= 8) {
        layer = (int32_t)tgb_le32(query + 4);
        sess->key->layer = layer;
    }
    const tgb_tl_layer_map *map = NULL;
    if (layer != TGB_TL_LAYER) {
        map = tgemu_dc_layer_map(dc, layer);
        if (!map) {
            tgemu_dc_log(dc, 2, "a client speaks layer %d, which the emulator does not", layer);
            return fail(out, 400, "CONNECTION_LAYER_INVALID");
        }
    }

    tgb_arena a;
    tgb_arena_init(&a, NULL, 0, (size_t)16 << 20);
    tl_object *obj = NULL;
    tgb_tl_error err = {0};
    int rc = map ? tgb_tl_decode_object_from(map, &a, NULL, query, len, &obj, NULL, &err)
                 : tgb_tl_decode_object(&tgb_tl_schema_api, &a, NULL, query, len, &obj, NULL, &err);
    if (rc == 0 && !obj->desc->is_function)
        rc = TGB_ERR_TL_WRONG_TYPE;
    if (rc) {
        tgemu_dc_log(dc, 3, "query does not decode in layer %d: %s", layer, err.message);
        tgb_arena_free(&a);
        return fail(out, 400,
                    rc == TGB_ERR_TL_UNKNOWN_ID || rc == TGB_ERR_TL_WRONG_TYPE
                        ? "INPUT_METHOD_INVALID"
                        : "INPUT_FETCH_ERROR");
    }
    const tgb_tl_field *inner;
    while ((inner = wrapped_query(obj->desc)) != NULL) {
        tl_object *next = *(tl_object **)((uint8_t *)obj + inner->offset);
        if (!next)
            break;
        obj = next;
    }

    const tgb_tl_combinator *fn = obj->desc;
    void *result = NULL;
    bool yes = true;
    const void *slot = &result; /* what the result's type encodes from */
    switch (fn->id) {
    case TL_ID_help_getConfig: result = make_config(dc, &a, now); break;
    case TL_ID_help_getNearestDc: result = make_nearest_dc(dc, &a); break;
    case TL_ID_auth_bindTempAuthKey: {
        const char *error = bind_temp_key(dc, sess, req_msg_id, (tl_auth_bindTempAuthKey *)obj);
        if (error) {
            tgb_arena_free(&a);
            return fail(out, 400, error);
        }
        slot = &yes;
        result = &yes;
        break;
    }
    default: {
        int no_login = allowed_without_login(fn->name);
        tgemu_dc_log(dc, 3, "%s: %s", fn->name,
                     no_login ? "not implemented" : "needs a logged-in key");
        tgb_arena_free(&a);
        return no_login ? fail(out, 400, "METHOD_NOT_IMPLEMENTED")
                        : fail(out, 401, "AUTH_KEY_UNREGISTERED");
    }
    }
    if (!result) {
        tgb_arena_free(&a);
        return TGB_ERR_NOMEM;
    }
    rc = map ? tgb_tl_encode_to(map, &a, &out->result, fn->result, slot, &err)
             : tgb_tl_encode(&out->result, fn->result, slot, &err);
    tgb_arena_free(&a);
    if (rc) {
        tgemu_dc_log(dc, 1, "cannot encode the answer to %s in layer %d: %s", fn->name, layer,
                     err.message);
        out->result.len = 0;
        return fail(out, 500, "INTERNAL");
    }
    return 0;
}
