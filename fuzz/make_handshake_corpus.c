/*
 * Writes the seed corpora of the handshake fuzz targets (fuzz/corpus/handshake_step1,
 * _step2, _step3): each step's valid client message from the fixed exchange of
 * fuzz_handshake_fixture.h, the inner-data forms and RSA schemes other clients use, and
 * a few broken variants. Every seed is replayed against the server before it is
 * written, and the valid ones must be accepted. Deterministic; run by hand when the
 * exchange changes:
 *     build/bin/make_handshake_corpus fuzz/corpus
 */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_handshake_fixture.h"
#include "mtproto/auth_common.h"
#include "tl/tl.h"
#include "tl/tl_api.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

static const char *out_dir;
static int written;

/* Writes `msg` as seed `name` of step `step` after checking the server's answer. */
static void seed(int step, const char *name, const uint8_t *msg, size_t len, int want)
{
    hs_server x;
    hs_server_at(&x, step);
    tgb_buf out;
    tgb_buf_init(&out, 0);
    int rc = tgemu_auth_recv(x.s, msg, len, &x.ids, HS_NOW, &out);
    tgb_buf_free(&out);
    tgemu_auth_del(x.s);
    if (rc != want) {
        fprintf(stderr, "step %d seed %s: server returned %s, expected %s\n", step, name,
                tgb_error_name(rc), tgb_error_name(want));
        exit(1);
    }
    hs_fuzz_one(step, msg, len);
    char path[4096];
    snprintf(path, sizeof(path), "%s/handshake_step%d", out_dir, step);
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof(path), "%s/handshake_step%d/%s", out_dir, step, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(msg, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    written++;
}

static void seed_buf(int step, const char *name, const tgb_buf *b, int want)
{
    seed(step, name, b->data, b->len, want);
}

/* `b` with byte `off` flipped. */
static void seed_flipped(int step, const char *name, const tgb_buf *b, size_t off, int want)
{
    tgb_buf c;
    tgb_buf_init(&c, 0);
    tgb_buf_append(&c, b->data, b->len);
    c.data[off] ^= 0x01;
    seed(step, name, c.data, c.len, want);
    tgb_buf_free(&c);
}

static void wrap(tgb_buf *out, const void *obj)
{
    tgb_buf body;
    tgb_buf_init(&body, 0);
    out->len = 0;
    if (tgb_tl_encode_object(&body, obj, NULL) ||
        tgb_plain_wrap(out, tgb_msg_id_from_time(HS_NOW), body.data, body.len))
        abort();
    tgb_buf_free(&body);
}

/*
 * req_DH_params as the fixed client would send it at step 2, but with the inner-data
 * form `form` (0 p_q_inner_data, 1 _dc, 2 _temp, 3 _temp_dc) under RSA_PAD or the
 * older scheme.
 */
static void req_dh_form(tgb_buf *out, int form, int old_scheme)
{
    tgb_arena a;
    tgb_arena_init(&a, NULL, 0, 0);
    uint64_t id;
    const uint8_t *body;
    size_t n;
    tl_object *o = NULL;
    if (tgb_plain_unwrap(hs_server_msg[0].data, hs_server_msg[0].len, &id, &body, &n) ||
        tgb_tl_decode_object(&tgb_tl_schema_api, &a, NULL, body, n, &o, NULL, NULL) ||
        o->desc != &tgb_tl_c_resPQ)
        abort();
    const tl_resPQ *res = (const tl_resPQ *)o;
    uint64_t pq = 0, p, q;
    for (size_t i = 0; i < res->pq.len; i++)
        pq = pq << 8 | (uint8_t)res->pq.data[i];
    if (tgb_pq_factorize(pq, &p, &q))
        abort();
    uint8_t pb[8], qb[8], new_nonce[32], enc[256];
    tgb_tl_string p_s = {(const char *)pb, tgb_auth_be_minimal(p, pb)};
    tgb_tl_string q_s = {(const char *)qb, tgb_auth_be_minimal(q, qb)};
    hs_rng r = {0x1234u + (uint64_t)form * 2 + (uint64_t)old_scheme};
    tgb_random rnd = {hs_rng_fn, &r};
    hs_rng_fn(&r, new_nonce, 32);

    tgb_buf inner;
    tgb_buf_init(&inner, 0);
#define INNER(ctor, extra)                                                             \
    do {                                                                               \
        tl_##ctor d = {.base = {&tgb_tl_c_##ctor}, .pq = res->pq, .p = p_s, .q = q_s}; \
        memcpy(d.nonce, res->nonce, 16);                                               \
        memcpy(d.server_nonce, res->server_nonce, 16);                                 \
        memcpy(d.new_nonce, new_nonce, 32);                                            \
        extra;                                                                         \
        if (tgb_tl_encode_object(&inner, &d, NULL))                                    \
            abort();                                                                   \
    } while (0)
    if (form == 0)
        INNER(p_q_inner_data, (void)0);
    else if (form == 1)
        INNER(p_q_inner_data_dc, d.dc = 2);
    else if (form == 2)
        INNER(p_q_inner_data_temp, d.expires_in = 86400);
    else
        INNER(p_q_inner_data_temp_dc, (d.dc = -2, d.expires_in = 86400));
#undef INNER
    if ((old_scheme ? tgb_rsa_old_encrypt : tgb_rsa_pad_encrypt)(hs_pub, inner.data, inner.len,
                                                                 &rnd, enc))
        abort();
    tgb_buf_free(&inner);
    tl_req_DH_params req = {.base = {&tgb_tl_c_req_DH_params},
                            .p = p_s,
                            .q = q_s,
                            .public_key_fingerprint = (int64_t)tgb_rsa_key_fingerprint(hs_pub),
                            .encrypted_data = {(const char *)enc, 256}};
    memcpy(req.nonce, res->nonce, 16);
    memcpy(req.server_nonce, res->server_nonce, 16);
    wrap(out, &req);
    tgb_arena_free(&a);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];
    hs_messages();
    const tgb_buf *m0 = &hs_client_msg[0], *m1 = &hs_client_msg[1], *m2 = &hs_client_msg[2];
    tgb_buf b;
    tgb_buf_init(&b, 0);

    /* Step 1: req_pq_multi, the legacy req_pq, and what is not a first message. */
    seed_buf(1, "req_pq_multi", m0, TGEMU_AUTH_CONTINUE);
    tl_req_pq legacy = {.base = {&tgb_tl_c_req_pq}};
    memcpy(legacy.nonce, m0->data + 24, 16);
    wrap(&b, &legacy);
    seed_buf(1, "req_pq", &b, TGEMU_AUTH_CONTINUE);
    b.len = 0;
    tgb_buf_append(&b, m0->data, m0->len);
    tgb_buf_append(&b, "\x11\x22\x33\x44", 4); /* transport padding, ignored */
    seed_buf(1, "req_pq_multi-padded", &b, TGEMU_AUTH_CONTINUE);
    seed(1, "req_pq_multi-truncated", m0->data, m0->len - 1, TGB_ERR_PROTOCOL);
    seed_flipped(1, "req_pq_multi-key-id", m0, 3, TGB_ERR_PROTOCOL);
    seed_buf(1, "req_DH_params", m1, TGB_ERR_PROTOCOL);

    /* Step 2: the fixed client's req_DH_params, the other forms, broken ones. */
    seed_buf(2, "req_DH_params-client", m1, TGEMU_AUTH_CONTINUE);
    static const char *const names[4][2] = {{"pad-plain", "old-plain"},
                                            {"pad-dc", "old-dc"},
                                            {"pad-temp", "old-temp"},
                                            {"pad-temp-dc", "old-temp-dc"}};
    char name[64];
    for (int form = 0; form < 4; form++)
        for (int old = 0; old < 2; old++) {
            req_dh_form(&b, form, old);
            snprintf(name, sizeof(name), "req_DH_params-%s", names[form][old]);
            seed_buf(2, name, &b, TGEMU_AUTH_CONTINUE);
        }
    size_t enc_at = m1->len - 200; /* inside encrypted_data */
    seed_flipped(2, "req_DH_params-tampered", m1, enc_at, TGB_ERR_INTEGRITY);
    req_dh_form(&b, 0, 1);
    seed_flipped(2, "req_DH_params-old-tampered", &b, enc_at, TGB_ERR_INTEGRITY);
    seed_flipped(2, "req_DH_params-nonce", m1, 24, TGB_ERR_INTEGRITY);
    seed_flipped(2, "req_DH_params-p", m1, 60, TGB_ERR_PQ);
    seed_flipped(2, "req_DH_params-fingerprint", m1, m1->len - 264, TGB_ERR_RSA_KEY);
    seed_buf(2, "req_pq_multi-again", m0, TGEMU_AUTH_CONTINUE);
    seed_buf(2, "set_client_DH_params", m2, TGB_ERR_PROTOCOL);

    /* Step 3: the fixed client's set_client_DH_params, and broken ones. */
    seed_buf(3, "set_client_DH_params", m2, TGEMU_AUTH_DONE);
    seed_flipped(3, "set_client_DH_params-tampered", m2, m2->len - 100, TGB_ERR_INTEGRITY);
    seed_flipped(3, "set_client_DH_params-server-nonce", m2, 45, TGB_ERR_INTEGRITY);
    seed(3, "set_client_DH_params-short", m2->data, m2->len - 8, TGB_ERR_PROTOCOL);
    seed_buf(3, "req_DH_params", m1, TGB_ERR_PROTOCOL);
    seed_buf(3, "req_pq_multi-again", m0, TGEMU_AUTH_CONTINUE);

    tgb_buf_free(&b);
    printf("wrote %d seeds\n", written);
    return 0;
}
