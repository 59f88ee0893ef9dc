/*
 * Shared by the handshake fuzz targets (fuzz_handshake_step1/2/3.c) and their corpus
 * generator (make_handshake_corpus.c): a fixed server key, fixed randomness and time,
 * and the three client messages of one deterministic exchange, so that each run can put
 * a fresh emulator server (emulator/auth_server) into exactly the state its seeds were
 * made for, then hand it the fuzzer's bytes.
 */
#ifndef TGB_FUZZ_HANDSHAKE_FIXTURE_H
#define TGB_FUZZ_HANDSHAKE_FIXTURE_H

#include "crypto/crypto.h"
#include "emulator/auth_server.h"
#include "mtproto/handshake.h"
#include "mtproto/message.h"
#include "splitmix.h"
#include "test_key.h"

#include <stdlib.h>
#include <string.h>

/* 2024-01-01 00:00:00.25 UTC: the time of every step. */
#define HS_NOW         ((tgb_time)1704067200 * 1000000 + 250000)
#define HS_SERVER_SEED 0x5e4e4ull
#define HS_CLIENT_SEED 0xc11e47ull

/* splitmix64: a random source that replays the same bytes from the same seed. */
typedef struct hs_rng {
    uint64_t state;
} hs_rng;

static int hs_rng_fn(void *user_data, uint8_t *out, size_t len)
{
    hs_rng *r = user_data;
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)splitmix64(&r->state);
    return 0;
}

/* The server's private key and the client's public copy, loaded once per process. */
static tgb_rsa_key *hs_key, *hs_pub;

static void hs_load_keys(void)
{
    if (hs_key)
        return;
    char *pem = NULL;
    size_t len = 0;
    if (tgb_rsa_key_from_pem(&hs_key, TEST_KEY_PEM, strlen(TEST_KEY_PEM)) ||
        tgb_rsa_key_public_pem(hs_key, &pem, &len) || tgb_rsa_key_from_pem(&hs_pub, pem, len))
        abort();
    free(pem);
}

/* A server as every run starts it: fixed key, fixed randomness, fresh msg ids. */
typedef struct hs_server {
    tgemu_auth_server *s;
    hs_rng rng;
    tgb_random rnd;
    tgb_msg_id_gen ids;
} hs_server;

static void hs_server_new(hs_server *x)
{
    hs_load_keys();
    x->rng.state = HS_SERVER_SEED;
    x->rnd = (tgb_random){hs_rng_fn, &x->rng};
    tgemu_auth_params p = {.key = hs_key, .rnd = &x->rnd};
    if (tgemu_auth_new(&x->s, &p))
        abort();
    tgb_msg_id_gen_init(&x->ids);
}

/*
 * The client's messages of the fixed exchange: [0] req_pq_multi, [1] req_DH_params,
 * [2] set_client_DH_params, and the server's answers [0] resPQ, [1]
 * server_DH_params_ok, [2] dh_gen_ok. Computed once per process.
 */
static tgb_buf hs_client_msg[3], hs_server_msg[3];

static void hs_messages(void)
{
    if (hs_client_msg[0].len)
        return;
    hs_load_keys();
    hs_server srv;
    hs_server_new(&srv);
    hs_rng crng = {HS_CLIENT_SEED};
    tgb_random crnd = {hs_rng_fn, &crng};
    const tgb_rsa_key *keys[] = {hs_pub};
    tgb_handshake_params cp = {.dc_id = 2, .keys = keys, .nkeys = 1, .rnd = &crnd};
    tgb_handshake *c = NULL;
    tgb_msg_id_gen cids;
    tgb_msg_id_gen_init(&cids);
    if (tgb_handshake_new(&c, &cp))
        abort();
    for (int i = 0; i < 3; i++) {
        tgb_buf_init(&hs_client_msg[i], 0);
        tgb_buf_init(&hs_server_msg[i], 0);
    }
    if (tgb_handshake_start(c, &cids, HS_NOW, &hs_client_msg[0]) != TGB_HANDSHAKE_CONTINUE)
        abort();
    for (int i = 0; i < 3; i++) {
        int want = i < 2 ? TGEMU_AUTH_CONTINUE : TGEMU_AUTH_DONE;
        if (tgemu_auth_recv(srv.s, hs_client_msg[i].data, hs_client_msg[i].len, &srv.ids, HS_NOW,
                            &hs_server_msg[i]) != want)
            abort();
        tgb_buf *next = i < 2 ? &hs_client_msg[i + 1] : &hs_server_msg[i];
        size_t before = next->len;
        want = i < 2 ? TGB_HANDSHAKE_CONTINUE : TGB_HANDSHAKE_DONE;
        if (tgb_handshake_recv(c, hs_server_msg[i].data, hs_server_msg[i].len, &cids, HS_NOW,
                               next) != want ||
            (i == 2 && next->len != before))
            abort();
    }
    tgb_handshake_del(c);
    tgemu_auth_del(srv.s);
}

/* A fresh server that has taken the fixed client's first `step - 1` messages. */
static void hs_server_at(hs_server *x, int step)
{
    hs_messages();
    hs_server_new(x);
    tgb_buf out;
    tgb_buf_init(&out, 0);
    for (int i = 0; i < step - 1; i++) {
        out.len = 0;
        if (tgemu_auth_recv(x->s, hs_client_msg[i].data, hs_client_msg[i].len, &x->ids, HS_NOW,
                            &out) != TGEMU_AUTH_CONTINUE ||
            out.len != hs_server_msg[i].len || memcmp(out.data, hs_server_msg[i].data, out.len))
            abort();
    }
    tgb_buf_free(&out);
}

/*
 * One fuzz input at server step `step`: whatever it is, the server must answer or
 * refuse it without crashing, append nothing when it refuses, report a key only after
 * dh_gen_ok, and take a new exchange afterwards on the same object.
 */
static int hs_fuzz_one(int step, const uint8_t *data, size_t size)
{
    hs_server x;
    hs_server_at(&x, step);
    tgb_buf out;
    tgb_buf_init(&out, 0);
    int rc = tgemu_auth_recv(x.s, data, size, &x.ids, HS_NOW, &out);
    if ((rc < 0 && out.len != 0) || (rc >= 0 && out.len < 20) || rc > TGEMU_AUTH_CONTINUE)
        abort();
    tgemu_auth_result res;
    int got = tgemu_auth_result_get(x.s, &res);
    if (rc == TGEMU_AUTH_DONE) {
        uint8_t id[8];
        tgb_auth_key_id(res.auth_key, id);
        if (got != 0 || memcmp(id, res.auth_key_id, 8) != 0)
            abort();
    } else if (got != TGB_ERR_STATE) {
        abort();
    }
    out.len = 0;
    if (tgemu_auth_recv(x.s, hs_client_msg[0].data, hs_client_msg[0].len, &x.ids, HS_NOW, &out) !=
        TGEMU_AUTH_CONTINUE)
        abort();
    tgb_buf_free(&out);
    tgemu_auth_del(x.s);
    return 0;
}

#endif
