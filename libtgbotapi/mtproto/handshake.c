/*
 * Creating an auth key, client side; see handshake.h. Step numbers refer to
 * https://core.telegram.org/mtproto/auth_key; the checks are those of its "DH key
 * exchange complete" and security_guidelines sections.
 */
#include "mtproto/handshake.h"

#include "base/secure.h"
#include "mtproto/auth_common.h"

#include "tl/tl.h"
#include "tl/tl_api.h"

#include <stdlib.h>
#include <string.h>

enum {
    ST_IDLE,        /* before tgb_handshake_start */
    ST_WAIT_RES_PQ, /* req_pq_multi sent */
    ST_WAIT_DH,     /* req_DH_params sent */
    ST_WAIT_DH_GEN, /* set_client_DH_params sent */
    ST_DONE,        /* dh_gen_ok checked; result valid */
    ST_FAILED       /* an error ended the exchange */
};

/*
 * The largest handshake message is server_DH_params_ok (652 bytes in the official
 * example); anything much bigger is not a handshake message.
 */
#define MAX_BODY 2048
/* encrypted_answer: SHA1 + server_DH_inner_data (564 bytes with a 256-byte g_a) + padding. */
#define MAX_ANSWER 1024
/* A server that keeps answering dh_gen_retry is stalling us; tdlib and others give up too. */
#define MAX_RETRIES 5
/* RSA_PAD takes at most 144 bytes of data (step 4.1); p_q_inner_data_temp_dc is 104. */
#define MAX_RSA_PAD_DATA 144
/* Draws of b before concluding the random source is broken (each fails with p < 2^-60). */
#define DH_TRIES 16

struct tgb_handshake {
    tgb_handshake_params params;
    int state;
    uint8_t nonce[16], server_nonce[16], new_nonce[32];
    uint8_t tmp_key[32], tmp_iv[32]; /* step 5: AES key of the encrypted answers */
    int g;
    uint8_t dh_prime[256];
    uint8_t g_a[256];
    uint8_t auth_key[256]; /* the key offered in set_client_DH_params, until dh_gen_ok */
    int64_t retry_id;
    int retries;
    int64_t server_time;
    tgb_handshake_result result;
};

/* Every secret of the exchange except a finished result. */
static void wipe_secrets(tgb_handshake *h)
{
    tgb_wipe(h->new_nonce, sizeof(h->new_nonce));
    tgb_wipe(h->tmp_key, sizeof(h->tmp_key));
    tgb_wipe(h->tmp_iv, sizeof(h->tmp_iv));
    tgb_wipe(h->auth_key, sizeof(h->auth_key));
}

static int fail(tgb_handshake *h, int rc)
{
    wipe_secrets(h);
    h->state = ST_FAILED;
    return rc;
}

/* A big-endian number in a TL string, left-padded to 256 bytes; 0 if it does not fit. */
static int be_to_256(const tgb_tl_string *s, uint8_t out[256])
{
    const uint8_t *p = (const uint8_t *)s->data;
    size_t n = s->len;
    while (n && *p == 0) {
        p++;
        n--;
    }
    if (n > 256)
        return 0;
    memset(out, 0, 256 - n);
    if (n)
        memcpy(out + 256 - n, p, n);
    return 1;
}

int tgb_handshake_new(tgb_handshake **out, const tgb_handshake_params *params)
{
    if (!out)
        return TGB_ERR_INVALID;
    *out = NULL;
    if (!params || !params->keys || params->nkeys == 0 || (params->temp && params->expires_in <= 0))
        return TGB_ERR_INVALID;
    for (size_t i = 0; i < params->nkeys; i++)
        if (!params->keys[i])
            return TGB_ERR_INVALID;
    tgb_handshake *h = calloc(1, sizeof(*h));
    if (!h)
        return TGB_ERR_NOMEM;
    h->params = *params;
    h->state = ST_IDLE;
    *out = h;
    return 0;
}

void tgb_handshake_del(tgb_handshake *h)
{
    if (!h)
        return;
    tgb_wipe(h, sizeof(*h));
    free(h);
}

int tgb_handshake_start(tgb_handshake *h, tgb_msg_id_gen *ids, tgb_time now, tgb_buf *out)
{
    if (!h || !ids || !out)
        return TGB_ERR_INVALID;
    /* A new exchange forgets the last one, finished or not. */
    wipe_secrets(h);
    tgb_wipe(&h->result, sizeof(h->result));
    h->retry_id = 0;
    h->retries = 0;
    h->state = ST_IDLE;
    /* Step 1: "The value of nonce is selected randomly by the client". */
    int rc = tgb_random_bytes(h->params.rnd, h->nonce, sizeof(h->nonce));
    if (rc)
        return fail(h, rc);
    tl_req_pq_multi req = {.base = {&tgb_tl_c_req_pq_multi}};
    memcpy(req.nonce, h->nonce, 16);
    rc = tgb_auth_send_plain(ids, now, TGB_MSG_ID_CLIENT, &req, out);
    if (rc)
        return fail(h, rc);
    h->state = ST_WAIT_RES_PQ;
    return TGB_HANDSHAKE_CONTINUE;
}

/* Step 3-4: resPQ -> req_DH_params. */
static int on_res_pq(tgb_handshake *h, const tl_object *obj, tgb_msg_id_gen *ids, tgb_time now,
                     tgb_buf *out)
{
    if (obj->desc != &tgb_tl_c_resPQ)
        return TGB_ERR_PROTOCOL;
    const tl_resPQ *res = (const tl_resPQ *)obj;
    if (!tgb_ct_equal(res->nonce, h->nonce, 16))
        return TGB_ERR_INTEGRITY;

    /* Step 3: the first of our keys whose fingerprint the server lists. */
    const tgb_rsa_key *key = NULL;
    uint64_t fingerprint = 0;
    for (size_t i = 0; i < h->params.nkeys && !key; i++) {
        uint64_t fp = tgb_rsa_key_fingerprint(h->params.keys[i]);
        for (uint32_t j = 0; j < res->server_public_key_fingerprints.count; j++)
            if ((uint64_t)res->server_public_key_fingerprints.items[j] == fp) {
                key = h->params.keys[i];
                fingerprint = fp;
                break;
            }
    }
    if (!key)
        return TGB_ERR_RSA_KEY;

    /* pq: "a natural number (in binary big endian format)", at most 2^63-1 in practice. */
    if (res->pq.len == 0 || res->pq.len > 8)
        return TGB_ERR_PQ;
    uint64_t pq = 0, p, q;
    for (size_t i = 0; i < res->pq.len; i++)
        pq = pq << 8 | (uint8_t)res->pq.data[i];
    int rc = tgb_pq_factorize(pq, &p, &q);
    if (rc)
        return rc;
    memcpy(h->server_nonce, res->server_nonce, 16);

    rc = tgb_random_bytes(h->params.rnd, h->new_nonce, sizeof(h->new_nonce));
    if (rc)
        return rc;

    uint8_t p_be[8], q_be[8];
    tgb_tl_string pq_s = res->pq;
    tgb_tl_string p_s = {(const char *)p_be, tgb_auth_be_minimal(p, p_be)};
    tgb_tl_string q_s = {(const char *)q_be, tgb_auth_be_minimal(q, q_be)};

    /*
     * Step 4: p_q_inner_data_dc, or p_q_inner_data_temp_dc for a temporary key (PFS,
     * https://core.telegram.org/api/pfs). It holds new_nonce, so the buffer it is
     * encoded in is wiped; reserving its full size first keeps a realloc from leaving a
     * copy behind.
     */
    tgb_buf inner;
    tgb_buf_init(&inner, MAX_RSA_PAD_DATA);
    rc = tgb_buf_reserve(&inner, MAX_RSA_PAD_DATA);
    if (!rc) {
        if (h->params.temp) {
            tl_p_q_inner_data_temp_dc d = {.base = {&tgb_tl_c_p_q_inner_data_temp_dc},
                                           .pq = pq_s,
                                           .p = p_s,
                                           .q = q_s,
                                           .dc = h->params.dc_id,
                                           .expires_in = h->params.expires_in};
            memcpy(d.nonce, h->nonce, 16);
            memcpy(d.server_nonce, h->server_nonce, 16);
            memcpy(d.new_nonce, h->new_nonce, 32);
            rc = tgb_tl_encode_object(&inner, &d, NULL);
            tgb_wipe(&d, sizeof(d));
        } else {
            tl_p_q_inner_data_dc d = {.base = {&tgb_tl_c_p_q_inner_data_dc},
                                      .pq = pq_s,
                                      .p = p_s,
                                      .q = q_s,
                                      .dc = h->params.dc_id};
            memcpy(d.nonce, h->nonce, 16);
            memcpy(d.server_nonce, h->server_nonce, 16);
            memcpy(d.new_nonce, h->new_nonce, 32);
            rc = tgb_tl_encode_object(&inner, &d, NULL);
            tgb_wipe(&d, sizeof(d));
        }
    }
    /* Step 4.1: RSA_PAD, which current servers require of new clients. */
    uint8_t encrypted[256];
    if (!rc)
        rc = tgb_rsa_pad_encrypt(key, inner.data, inner.len, h->params.rnd, encrypted);
    if (inner.data)
        tgb_wipe(inner.data, inner.cap);
    tgb_buf_free(&inner);
    if (rc)
        return rc;

    tl_req_DH_params req = {.base = {&tgb_tl_c_req_DH_params},
                            .p = p_s,
                            .q = q_s,
                            .public_key_fingerprint = (int64_t)fingerprint,
                            .encrypted_data = {(const char *)encrypted, sizeof(encrypted)}};
    memcpy(req.nonce, h->nonce, 16);
    memcpy(req.server_nonce, h->server_nonce, 16);
    rc = tgb_auth_send_plain(ids, now, TGB_MSG_ID_CLIENT, &req, out);
    if (rc)
        return rc;
    h->state = ST_WAIT_DH;
    return TGB_HANDSHAKE_CONTINUE;
}

/*
 * Steps 6-7: a new b, g_b = g^b mod dh_prime, the candidate auth_key = g_a^b, and
 * set_client_DH_params carrying client_DH_inner_data(retry_id) encrypted with the
 * temporary key. b is needed for nothing else, so it never outlives this call.
 */
static int send_client_dh(tgb_handshake *h, tgb_msg_id_gen *ids, tgb_time now, tgb_buf *out)
{
    uint8_t b[256], g_b[256], gb = (uint8_t)h->g;
    int rc = TGB_ERR_RANDOM;
    for (int i = 0; i < DH_TRIES; i++) {
        int r = tgb_random_bytes(h->params.rnd, b, sizeof(b));
        if (!r)
            r = tgb_dh_mod_exp(&gb, 1, b, sizeof(b), h->dh_prime, 256, g_b);
        if (r) {
            rc = r;
            break;
        }
        /* security_guidelines: the client checks its own g_b like the server's g_a. */
        if (tgb_dh_check_public(h->dh_prime, 256, g_b, 256) == 0) {
            rc = 0;
            break;
        }
    }
    /* Step 8: auth_key = pow(g_a, b) mod dh_prime, 256 bytes with leading zeros. */
    if (!rc)
        rc = tgb_dh_mod_exp(h->g_a, 256, b, sizeof(b), h->dh_prime, 256, h->auth_key);
    tgb_wipe(b, sizeof(b));
    if (rc)
        return rc;

    size_t skip = 0;
    while (skip < 255 && g_b[skip] == 0)
        skip++;
    tl_client_DH_inner_data inner = {.base = {&tgb_tl_c_client_DH_inner_data},
                                     .retry_id = h->retry_id,
                                     .g_b = {(const char *)g_b + skip, 256 - skip}};
    memcpy(inner.nonce, h->nonce, 16);
    memcpy(inner.server_nonce, h->server_nonce, 16);

    /* data_with_hash := SHA1(data) + data + (0-15 random bytes) to a multiple of 16. */
    tgb_buf encrypted;
    tgb_buf_init(&encrypted, 0);
    rc = tgb_auth_encrypt_inner(&inner, h->tmp_key, h->tmp_iv, h->params.rnd, &encrypted);
    if (rc) {
        tgb_buf_free(&encrypted);
        return rc;
    }

    tl_set_client_DH_params req = {.base = {&tgb_tl_c_set_client_DH_params},
                                   .encrypted_data = {(const char *)encrypted.data, encrypted.len}};
    memcpy(req.nonce, h->nonce, 16);
    memcpy(req.server_nonce, h->server_nonce, 16);
    rc = tgb_auth_send_plain(ids, now, TGB_MSG_ID_CLIENT, &req, out);
    tgb_buf_free(&encrypted);
    if (rc)
        return rc;
    h->state = ST_WAIT_DH_GEN;
    return TGB_HANDSHAKE_CONTINUE;
}

/* Step 5-6: server_DH_params_ok -> check everything in it -> set_client_DH_params. */
static int on_server_dh(tgb_handshake *h, const tl_object *obj, tgb_msg_id_gen *ids, tgb_time now,
                        tgb_buf *out)
{
    /* server_DH_params_fail: the server refused our request; nothing to retry with. */
    if (obj->desc != &tgb_tl_c_server_DH_params_ok)
        return TGB_ERR_PROTOCOL;
    const tl_server_DH_params_ok *ok = (const tl_server_DH_params_ok *)obj;
    if (!tgb_ct_equal(ok->nonce, h->nonce, 16) ||
        !tgb_ct_equal(ok->server_nonce, h->server_nonce, 16))
        return TGB_ERR_INTEGRITY;
    /*
     * answer_with_hash = SHA1(answer) + answer + (0-15 random bytes): the answer's own
     * encoding says where it ends, so the hash covers exactly the decoded bytes.
     */
    tgb_tmp_aes_from_nonces(h->new_nonce, h->server_nonce, h->tmp_key, h->tmp_iv);
    uint8_t arena_mem[2048];
    tgb_arena arena;
    tgb_arena_init(&arena, arena_mem, sizeof(arena_mem), sizeof(arena_mem) - 8);
    tl_object *o = NULL;
    int rc = tgb_auth_decrypt_inner((const uint8_t *)ok->encrypted_answer.data,
                                    ok->encrypted_answer.len, MAX_ANSWER, h->tmp_key, h->tmp_iv,
                                    &arena, &tgb_tl_t_Server_DH_inner_data, &o);
    const tl_server_DH_inner_data *in = (const tl_server_DH_inner_data *)o;
    if (!rc && (!tgb_ct_equal(in->nonce, h->nonce, 16) ||
                !tgb_ct_equal(in->server_nonce, h->server_nonce, 16)))
        rc = TGB_ERR_INTEGRITY;
    /*
     * "Client is expected to check whether p = dh_prime is a safe 2048-bit prime ...
     * and that g generates a cyclic subgroup of prime order (p-1)/2", then
     * 1 < g_a < dh_prime - 1 and 2^{2048-64} <= g_a <= dh_prime - 2^{2048-64}.
     */
    if (!rc)
        rc = tgb_dh_check_params((const uint8_t *)in->dh_prime.data, in->dh_prime.len, in->g);
    if (!rc)
        rc = tgb_dh_check_public((const uint8_t *)in->dh_prime.data, in->dh_prime.len,
                                 (const uint8_t *)in->g_a.data, in->g_a.len);
    if (!rc && (!be_to_256(&in->dh_prime, h->dh_prime) || !be_to_256(&in->g_a, h->g_a)))
        rc = TGB_ERR_DH_PARAMS;
    if (!rc) {
        h->g = in->g;
        h->server_time = (int64_t)(uint32_t)in->server_time;
    }
    tgb_wipe(arena_mem, sizeof(arena_mem));
    tgb_arena_free(&arena);
    if (rc)
        return rc;

    /*
     * server_time gives the clock offset: the next message (set_client_DH_params)
     * already carries a msg_id by the server's clock (auth_key, step 5).
     */
    tgb_msg_id_sync(ids, (uint64_t)h->server_time << 32, now);
    h->result.time_offset_us = h->server_time * 1000000 - now;
    h->retry_id = 0;
    return send_client_dh(h, ids, now, out);
}

/* Step 9: dh_gen_ok / dh_gen_retry / dh_gen_fail. */
static int on_dh_gen(tgb_handshake *h, const tl_object *obj, tgb_msg_id_gen *ids, tgb_time now,
                     tgb_buf *out)
{
    const uint8_t *nonce, *server_nonce, *hash;
    uint8_t which;
    if (obj->desc == &tgb_tl_c_dh_gen_ok) {
        const tl_dh_gen_ok *m = (const tl_dh_gen_ok *)obj;
        nonce = m->nonce, server_nonce = m->server_nonce, hash = m->new_nonce_hash1, which = 1;
    } else if (obj->desc == &tgb_tl_c_dh_gen_retry) {
        const tl_dh_gen_retry *m = (const tl_dh_gen_retry *)obj;
        nonce = m->nonce, server_nonce = m->server_nonce, hash = m->new_nonce_hash2, which = 2;
    } else {
        /* dh_gen_fail included: the server gave up on this exchange. */
        return TGB_ERR_PROTOCOL;
    }
    if (!tgb_ct_equal(nonce, h->nonce, 16) || !tgb_ct_equal(server_nonce, h->server_nonce, 16))
        return TGB_ERR_INTEGRITY;
    uint8_t want[16];
    tgb_auth_new_nonce_hash(h->new_nonce, which, h->auth_key, want);
    if (!tgb_ct_equal(want, hash, 16))
        return TGB_ERR_INTEGRITY;

    if (which == 2) {
        /* "retry_id ... is equal to auth_key_aux_hash from the previous failed attempt". */
        if (++h->retries > MAX_RETRIES)
            return TGB_ERR_PROTOCOL;
        uint8_t aux[8];
        tgb_auth_key_aux_hash(h->auth_key, aux);
        h->retry_id = (int64_t)tgb_le64(aux);
        tgb_wipe(h->auth_key, sizeof(h->auth_key));
        return send_client_dh(h, ids, now, out);
    }

    tgb_handshake_result *r = &h->result;
    memcpy(r->auth_key, h->auth_key, 256);
    tgb_auth_key_id(r->auth_key, r->auth_key_id);
    /* "server_salt := substr(new_nonce, 0, 8) XOR substr(server_nonce, 0, 8)". */
    uint8_t salt[8];
    for (int i = 0; i < 8; i++)
        salt[i] = h->new_nonce[i] ^ h->server_nonce[i];
    r->server_salt = (int64_t)tgb_le64(salt);
    r->expires_at = h->params.temp ? h->server_time + h->params.expires_in : 0;
    wipe_secrets(h);
    h->state = ST_DONE;
    return TGB_HANDSHAKE_DONE;
}

int tgb_handshake_recv(tgb_handshake *h, const uint8_t *packet, size_t len, tgb_msg_id_gen *ids,
                       tgb_time now, tgb_buf *out)
{
    if (!h || (!packet && len) || !ids || !out)
        return TGB_ERR_INVALID;
    if (h->state != ST_WAIT_RES_PQ && h->state != ST_WAIT_DH && h->state != ST_WAIT_DH_GEN)
        return TGB_ERR_STATE;
    uint64_t msg_id;
    const uint8_t *body;
    size_t body_len;
    if (tgb_plain_unwrap(packet, len, &msg_id, &body, &body_len) != 0 || body_len > MAX_BODY)
        return fail(h, TGB_ERR_PROTOCOL);

    uint8_t arena_mem[4096];
    tgb_arena arena;
    tgb_arena_init(&arena, arena_mem, sizeof(arena_mem), sizeof(arena_mem) - 8);
    tl_object *obj = NULL;
    int rc =
        tgb_tl_decode_object(&tgb_tl_schema_api, &arena, NULL, body, body_len, &obj, NULL, NULL);
    if (rc)
        rc = TGB_ERR_PROTOCOL;
    else if (h->state == ST_WAIT_RES_PQ)
        rc = on_res_pq(h, obj, ids, now, out);
    else if (h->state == ST_WAIT_DH)
        rc = on_server_dh(h, obj, ids, now, out);
    else
        rc = on_dh_gen(h, obj, ids, now, out);
    tgb_arena_free(&arena);
    return rc < 0 ? fail(h, rc) : rc;
}

int tgb_handshake_result_get(const tgb_handshake *h, tgb_handshake_result *result)
{
    if (!h || !result)
        return TGB_ERR_INVALID;
    if (h->state != ST_DONE)
        return TGB_ERR_STATE;
    *result = h->result;
    return 0;
}
