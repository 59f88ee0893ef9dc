/*
 * Creating an auth key, server side; see auth_server.h. Step numbers refer to
 * https://core.telegram.org/mtproto/auth_key, read from the server's end.
 */
#include "emulator/auth_server.h"

#include "base/secure.h"
#include "mtproto/auth_common.h"

#include "tl/tl.h"
#include "tl/tl_api.h"

#include <stdlib.h>
#include <string.h>

enum {
    ST_IDLE,        /* waiting for req_pq_multi / req_pq */
    ST_SENT_RES_PQ, /* waiting for req_DH_params */
    ST_SENT_DH,     /* waiting for set_client_DH_params (again after dh_gen_retry) */
    ST_DONE,        /* dh_gen_ok sent; result valid */
    ST_FAILED       /* an error ended the exchange */
};

/* The largest client message, req_DH_params, is 340 bytes with its 256-byte RSA block. */
#define MAX_BODY 1024
/* set_client_DH_params.encrypted_data: SHA1 + client_DH_inner_data (304) + padding. */
#define MAX_CLIENT_DATA 512
/* Draws of a before concluding the random source is broken (each fails with p < 2^-60). */
#define DH_TRIES 16
/* Telegram's g with its well-known prime; every client accepts the pair. */
#define DH_G 3

struct tgemu_auth_server {
    tgemu_auth_params params;
    int state;
    uint8_t nonce[16], server_nonce[16], new_nonce[32];
    uint64_t pq, p, q;
    uint8_t tmp_key[32], tmp_iv[32];
    uint8_t a[256];
    int64_t retry_id; /* what set_client_DH_params must carry */
    tgemu_auth_result result;
};

static void wipe_secrets(tgemu_auth_server *s)
{
    tgb_wipe(s->new_nonce, sizeof(s->new_nonce));
    tgb_wipe(s->tmp_key, sizeof(s->tmp_key));
    tgb_wipe(s->tmp_iv, sizeof(s->tmp_iv));
    tgb_wipe(s->a, sizeof(s->a));
}

/* A big-endian number of 1..8 bytes (leading zeros allowed); 0 if it is none. */
static int be_parse(const tgb_tl_string *s, uint64_t *v)
{
    const uint8_t *p = (const uint8_t *)s->data;
    size_t n = s->len;
    while (n > 8 && *p == 0) {
        p++;
        n--;
    }
    if (n == 0 || n > 8)
        return 0;
    *v = 0;
    for (size_t i = 0; i < n; i++)
        *v = *v << 8 | p[i];
    return 1;
}

static int str_equal(const tgb_tl_string *a, const tgb_tl_string *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

int tgemu_auth_new(tgemu_auth_server **out, const tgemu_auth_params *params)
{
    if (!out)
        return TGB_ERR_INVALID;
    *out = NULL;
    if (!params || !params->key)
        return TGB_ERR_INVALID;
    if (!tgb_rsa_key_has_private(params->key))
        return TGB_ERR_RSA_KEY;
    tgemu_auth_server *s = calloc(1, sizeof(*s));
    if (!s)
        return TGB_ERR_NOMEM;
    s->params = *params;
    s->state = ST_IDLE;
    *out = s;
    return 0;
}

void tgemu_auth_del(tgemu_auth_server *s)
{
    if (!s)
        return;
    tgb_wipe(s, sizeof(*s));
    free(s);
}

/* Steps 1-2: req_pq_multi (or the legacy req_pq) -> resPQ. */
static int on_req_pq(tgemu_auth_server *s, const uint8_t nonce[16], tgb_msg_id_gen *ids,
                     tgb_time now, tgb_buf *out)
{
    /* A client retrying on the same connection (Telethon) gets a fresh exchange. */
    wipe_secrets(s);
    tgb_wipe(&s->result, sizeof(s->result));
    memcpy(s->nonce, nonce, 16);
    int rc = tgb_random_bytes(s->params.rnd, s->server_nonce, 16);
    if (!rc)
        rc = tgb_pq_generate(s->params.rnd, &s->pq, &s->p, &s->q);
    if (rc)
        return rc;
    uint8_t pq_be[8];
    int64_t fingerprint = (int64_t)tgb_rsa_key_fingerprint(s->params.key);
    tl_resPQ res = {.base = {&tgb_tl_c_resPQ},
                    .pq = {(const char *)pq_be, tgb_auth_be_minimal(s->pq, pq_be)},
                    .server_public_key_fingerprints = {&fingerprint, 1}};
    memcpy(res.nonce, s->nonce, 16);
    memcpy(res.server_nonce, s->server_nonce, 16);
    rc = tgb_auth_send_plain(ids, now, TGB_MSG_ID_SERVER_ANSWER, &res, out);
    if (rc)
        return rc;
    s->state = ST_SENT_RES_PQ;
    return TGEMU_AUTH_CONTINUE;
}

/* The fields the four p_q_inner_data forms share, and the two only some have. */
typedef struct inner_data {
    const tgb_tl_string *pq, *p, *q;
    const uint8_t *nonce, *server_nonce, *new_nonce;
    int dc, temp, expires_in;
} inner_data;

static int inner_fields(const tl_object *o, inner_data *d)
{
    memset(d, 0, sizeof(*d));
#define INNER_COMMON(m)                      \
    do {                                     \
        d->pq = &(m)->pq;                    \
        d->p = &(m)->p;                      \
        d->q = &(m)->q;                      \
        d->nonce = (m)->nonce;               \
        d->server_nonce = (m)->server_nonce; \
        d->new_nonce = (m)->new_nonce;       \
    } while (0)
    if (o->desc == &tgb_tl_c_p_q_inner_data) {
        INNER_COMMON((const tl_p_q_inner_data *)o);
    } else if (o->desc == &tgb_tl_c_p_q_inner_data_dc) {
        const tl_p_q_inner_data_dc *m = (const tl_p_q_inner_data_dc *)o;
        INNER_COMMON(m);
        d->dc = m->dc;
    } else if (o->desc == &tgb_tl_c_p_q_inner_data_temp) {
        const tl_p_q_inner_data_temp *m = (const tl_p_q_inner_data_temp *)o;
        INNER_COMMON(m);
        d->temp = 1;
        d->expires_in = m->expires_in;
    } else if (o->desc == &tgb_tl_c_p_q_inner_data_temp_dc) {
        const tl_p_q_inner_data_temp_dc *m = (const tl_p_q_inner_data_temp_dc *)o;
        INNER_COMMON(m);
        d->dc = m->dc;
        d->temp = 1;
        d->expires_in = m->expires_in;
    } else {
        return 0;
    }
#undef INNER_COMMON
    return 1;
}

/*
 * Step 4 in reverse: RSA_PAD first (GramJS, mtcute, tdlib), then the older
 * SHA1(data) + data + padding (Telethon, @mtproto/core). RSA_PAD carries its own
 * SHA256, so a block that passes it is RSA_PAD; the older scheme's SHA1 covers only
 * the inner data, whose length its own encoding gives. `arena` receives the inner
 * object; its memory holds new_nonce and the caller wipes it.
 */
static int decrypt_inner(const tgb_rsa_key *key, const uint8_t block[256], tgb_arena *arena,
                         tl_object **inner, int *rsa_pad)
{
    uint8_t data[235], hash[20], want[20];
    size_t used = 0;
    int rc = tgb_rsa_pad_decrypt(key, block, data);
    if (rc == 0) {
        rc = tgb_tl_decode_object(&tgb_tl_schema_api, arena, &tgb_tl_t_P_Q_inner_data, data, 192,
                                  inner, &used, NULL);
        *rsa_pad = 1;
    }
    if (rc) {
        rc = tgb_rsa_old_decrypt(key, block, want, data);
        if (rc == 0)
            rc = tgb_tl_decode_object(&tgb_tl_schema_api, arena, &tgb_tl_t_P_Q_inner_data, data,
                                      sizeof(data), inner, &used, NULL);
        if (rc == 0) {
            tgb_sha1(data, used, hash);
            if (!tgb_ct_equal(hash, want, 20))
                rc = TGB_ERR_INTEGRITY;
        }
        *rsa_pad = 0;
    }
    tgb_wipe(data, sizeof(data));
    /* Neither scheme opens it: a wrong key, a value >= n, or tampering. */
    if (rc == TGB_ERR_NOMEM || rc == TGB_ERR_CRYPTO)
        return rc;
    return rc ? TGB_ERR_INTEGRITY : 0;
}

/* Step 4-5: req_DH_params -> server_DH_params_ok. */
static int on_req_dh_params(tgemu_auth_server *s, const tl_req_DH_params *req, tgb_msg_id_gen *ids,
                            tgb_time now, tgb_buf *out)
{
    if (!tgb_ct_equal(req->nonce, s->nonce, 16) ||
        !tgb_ct_equal(req->server_nonce, s->server_nonce, 16))
        return TGB_ERR_INTEGRITY;
    /* "p and q ... the client decomposes pq into prime factors such that p < q". */
    uint64_t p, q;
    if (!be_parse(&req->p, &p) || !be_parse(&req->q, &q) || p != s->p || q != s->q)
        return TGB_ERR_PQ;
    if ((uint64_t)req->public_key_fingerprint != tgb_rsa_key_fingerprint(s->params.key))
        return TGB_ERR_RSA_KEY;
    /* A big number: 256 bytes, or fewer if the client dropped leading zeros. */
    if (req->encrypted_data.len == 0 || req->encrypted_data.len > 256)
        return TGB_ERR_PROTOCOL;
    uint8_t block[256] = {0};
    memcpy(block + 256 - req->encrypted_data.len, req->encrypted_data.data,
           req->encrypted_data.len);

    uint8_t arena_mem[1024];
    tgb_arena arena;
    tgb_arena_init(&arena, arena_mem, sizeof(arena_mem), sizeof(arena_mem) - 8);
    tl_object *o = NULL;
    inner_data d;
    int rsa_pad = 0;
    int rc = decrypt_inner(s->params.key, block, &arena, &o, &rsa_pad);
    if (!rc && !inner_fields(o, &d))
        rc = TGB_ERR_INTEGRITY;
    /* The inner data must repeat what the outer message and resPQ said. */
    uint8_t pq_be[8];
    tgb_tl_string pq_s = {(const char *)pq_be, tgb_auth_be_minimal(s->pq, pq_be)};
    if (!rc && (!str_equal(d.pq, &pq_s) || !str_equal(d.p, &req->p) || !str_equal(d.q, &req->q) ||
                !tgb_ct_equal(d.nonce, s->nonce, 16) ||
                !tgb_ct_equal(d.server_nonce, s->server_nonce, 16)))
        rc = TGB_ERR_INTEGRITY;
    if (!rc && d.temp && d.expires_in <= 0)
        rc = TGB_ERR_PROTOCOL;
    if (!rc) {
        memcpy(s->new_nonce, d.new_nonce, 32);
        s->result.temp = d.temp;
        s->result.expires_in = d.expires_in;
        s->result.dc_id = d.dc;
        s->result.rsa_pad = rsa_pad;
    }
    tgb_wipe(arena_mem, sizeof(arena_mem));
    tgb_arena_free(&arena);
    if (rc)
        return rc;

    /* Step 5: a, g_a = g^a mod dh_prime, checked as the client will check it. */
    uint8_t g_a[256], g = DH_G;
    rc = TGB_ERR_RANDOM;
    for (int i = 0; i < DH_TRIES; i++) {
        int r = tgb_random_bytes(s->params.rnd, s->a, sizeof(s->a));
        if (!r)
            r = tgb_dh_mod_exp(&g, 1, s->a, sizeof(s->a), tgb_dh_telegram_prime, 256, g_a);
        if (r) {
            rc = r;
            break;
        }
        if (tgb_dh_check_public(tgb_dh_telegram_prime, 256, g_a, 256) == 0) {
            rc = 0;
            break;
        }
    }
    if (rc)
        return rc;
    size_t skip = 0;
    while (skip < 255 && g_a[skip] == 0)
        skip++;
    tl_server_DH_inner_data inner = {
        .base = {&tgb_tl_c_server_DH_inner_data},
        .g = DH_G,
        .dh_prime = {(const char *)tgb_dh_telegram_prime, 256},
        .g_a = {(const char *)g_a + skip, 256 - skip},
        .server_time = (int32_t)((now + ids->offset_us) / 1000000),
    };
    memcpy(inner.nonce, s->nonce, 16);
    memcpy(inner.server_nonce, s->server_nonce, 16);

    /* answer_with_hash := SHA1(answer) + answer + (0-15 random bytes), to a multiple of 16. */
    tgb_tmp_aes_from_nonces(s->new_nonce, s->server_nonce, s->tmp_key, s->tmp_iv);
    tgb_buf encrypted;
    tgb_buf_init(&encrypted, 0);
    rc = tgb_auth_encrypt_inner(&inner, s->tmp_key, s->tmp_iv, s->params.rnd, &encrypted);
    if (!rc) {
        tl_server_DH_params_ok ok = {
            .base = {&tgb_tl_c_server_DH_params_ok},
            .encrypted_answer = {(const char *)encrypted.data, encrypted.len}};
        memcpy(ok.nonce, s->nonce, 16);
        memcpy(ok.server_nonce, s->server_nonce, 16);
        rc = tgb_auth_send_plain(ids, now, TGB_MSG_ID_SERVER_ANSWER, &ok, out);
    }
    tgb_buf_free(&encrypted);
    if (rc)
        return rc;
    s->retry_id = 0;
    s->state = ST_SENT_DH;
    return TGEMU_AUTH_CONTINUE;
}

/* Steps 6-9: set_client_DH_params -> dh_gen_ok, or dh_gen_retry on a taken key id. */
static int on_set_client_dh(tgemu_auth_server *s, const tl_set_client_DH_params *req,
                            tgb_msg_id_gen *ids, tgb_time now, tgb_buf *out)
{
    if (!tgb_ct_equal(req->nonce, s->nonce, 16) ||
        !tgb_ct_equal(req->server_nonce, s->server_nonce, 16))
        return TGB_ERR_INTEGRITY;
    /* data_with_hash = SHA1(data) + data + (0-15 random bytes): as the client checks ours. */
    uint8_t arena_mem[1024];
    tgb_arena arena;
    tgb_arena_init(&arena, arena_mem, sizeof(arena_mem), sizeof(arena_mem) - 8);
    tl_object *o = NULL;
    int rc = tgb_auth_decrypt_inner((const uint8_t *)req->encrypted_data.data,
                                    req->encrypted_data.len, MAX_CLIENT_DATA, s->tmp_key, s->tmp_iv,
                                    &arena, &tgb_tl_t_Client_DH_Inner_Data, &o);
    const tl_client_DH_inner_data *in = (const tl_client_DH_inner_data *)o;
    if (!rc && (!tgb_ct_equal(in->nonce, s->nonce, 16) ||
                !tgb_ct_equal(in->server_nonce, s->server_nonce, 16)))
        rc = TGB_ERR_INTEGRITY;
    /* "retry_id ... is equal to zero at the time of the first attempt; otherwise, it is
     * equal to auth_key_aux_hash from the previous failed attempt". */
    if (!rc && in->retry_id != s->retry_id)
        rc = TGB_ERR_INTEGRITY;
    /* security_guidelines: 1 < g_b < dh_prime - 1, and not within 2^{2048-64} of either. */
    if (!rc)
        rc = tgb_dh_check_public(tgb_dh_telegram_prime, 256, (const uint8_t *)in->g_b.data,
                                 in->g_b.len);
    uint8_t auth_key[256];
    if (!rc)
        rc = tgb_dh_mod_exp((const uint8_t *)in->g_b.data, in->g_b.len, s->a, sizeof(s->a),
                            tgb_dh_telegram_prime, 256, auth_key);
    tgb_wipe(arena_mem, sizeof(arena_mem));
    tgb_arena_free(&arena);
    if (rc) {
        tgb_wipe(auth_key, sizeof(auth_key));
        return rc;
    }

    uint8_t key_id[8], aux[8];
    tgb_auth_key_id(auth_key, key_id);
    /* "dh_gen_retry ... the auth_key_id is already in use" (step 9). */
    if (s->params.key_id_taken && s->params.key_id_taken(s->params.user_data, key_id)) {
        tl_dh_gen_retry retry = {.base = {&tgb_tl_c_dh_gen_retry}};
        memcpy(retry.nonce, s->nonce, 16);
        memcpy(retry.server_nonce, s->server_nonce, 16);
        tgb_auth_new_nonce_hash(s->new_nonce, 2, auth_key, retry.new_nonce_hash2);
        tgb_auth_key_aux_hash(auth_key, aux);
        tgb_wipe(auth_key, sizeof(auth_key));
        rc = tgb_auth_send_plain(ids, now, TGB_MSG_ID_SERVER_ANSWER, &retry, out);
        if (rc)
            return rc;
        s->retry_id = (int64_t)tgb_le64(aux);
        return TGEMU_AUTH_CONTINUE;
    }

    tl_dh_gen_ok ok = {.base = {&tgb_tl_c_dh_gen_ok}};
    memcpy(ok.nonce, s->nonce, 16);
    memcpy(ok.server_nonce, s->server_nonce, 16);
    tgb_auth_new_nonce_hash(s->new_nonce, 1, auth_key, ok.new_nonce_hash1);
    rc = tgb_auth_send_plain(ids, now, TGB_MSG_ID_SERVER_ANSWER, &ok, out);
    if (rc) {
        tgb_wipe(auth_key, sizeof(auth_key));
        return rc;
    }
    tgemu_auth_result *r = &s->result;
    memcpy(r->auth_key, auth_key, 256);
    memcpy(r->auth_key_id, key_id, 8);
    uint8_t salt[8];
    for (int i = 0; i < 8; i++)
        salt[i] = s->new_nonce[i] ^ s->server_nonce[i];
    r->server_salt = (int64_t)tgb_le64(salt);
    tgb_wipe(auth_key, sizeof(auth_key));
    wipe_secrets(s);
    s->state = ST_DONE;
    return TGEMU_AUTH_DONE;
}

int tgemu_auth_recv(tgemu_auth_server *s, const uint8_t *packet, size_t len, tgb_msg_id_gen *ids,
                    tgb_time now, tgb_buf *out)
{
    if (!s || (!packet && len) || !ids || !out)
        return TGB_ERR_INVALID;
    uint64_t msg_id;
    const uint8_t *body;
    size_t body_len;
    int rc;
    tgb_arena arena;
    uint8_t arena_mem[2048];
    tgb_arena_init(&arena, arena_mem, sizeof(arena_mem), sizeof(arena_mem) - 8);
    tl_object *obj = NULL;
    if (tgb_plain_unwrap(packet, len, &msg_id, &body, &body_len) != 0 || body_len > MAX_BODY ||
        tgb_tl_decode_object(&tgb_tl_schema_api, &arena, NULL, body, body_len, &obj, NULL, NULL))
        rc = TGB_ERR_PROTOCOL;
    else if (obj->desc == &tgb_tl_c_req_pq_multi)
        rc = on_req_pq(s, ((const tl_req_pq_multi *)obj)->nonce, ids, now, out);
    else if (obj->desc == &tgb_tl_c_req_pq)
        rc = on_req_pq(s, ((const tl_req_pq *)obj)->nonce, ids, now, out);
    else if (s->state == ST_SENT_RES_PQ && obj->desc == &tgb_tl_c_req_DH_params)
        rc = on_req_dh_params(s, (const tl_req_DH_params *)obj, ids, now, out);
    else if (s->state == ST_SENT_DH && obj->desc == &tgb_tl_c_set_client_DH_params)
        rc = on_set_client_dh(s, (const tl_set_client_DH_params *)obj, ids, now, out);
    else
        rc = TGB_ERR_PROTOCOL;
    tgb_arena_free(&arena);
    if (rc < 0) {
        wipe_secrets(s);
        s->state = ST_FAILED;
    }
    return rc;
}

int tgemu_auth_result_get(const tgemu_auth_server *s, tgemu_auth_result *result)
{
    if (!s || !result)
        return TGB_ERR_INVALID;
    if (s->state != ST_DONE)
        return TGB_ERR_STATE;
    *result = s->result;
    return 0;
}
