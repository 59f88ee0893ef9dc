/*
 * The client engine (tgb_session) against the emulated DC (tgemu_dc), in one process
 * with a simulated clock and seeded randomness, wired together in memory: every byte
 * each side writes is fed to the other. Covers every transport, determinism down to the
 * byte, every fault switch with requests in flight (each request completes exactly
 * once), a DC that forgot our key (-404), a persisted key, deadlines, cancellation,
 * destruction with requests pending and the re-entrancy rules.
 */
#include "check.h"
#include "engine_rig.h"
#include "crypto/crypto.h"
#include "emulator/dc.h"
#include "net/dc_defaults.h"
#include "tl/tl.h"
#include "tl/tl_api.h"
#include "tl/tl_layers.h"
#include "tl/tl_transcode.h"
#include "transports.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ helpers */

static void encode_fn(tgb_buf *b, const tgb_tl_combinator *fn)
{
    tl_object o = {fn};
    b->len = 0;
    CHECK_OK(tgb_tl_encode_object(b, &o, NULL));
}

struct many {
    struct answer *answers;
    int n;
};

static int all_answered(void *ctx)
{
    struct many *m = ctx;
    for (int i = 0; i < m->n; i++)
        if (!m->answers[i].calls)
            return 0;
    return 1;
}

/* Sends n help.getNearestDc and returns their answer slots. */
static struct many send_many(struct rig *r, int n)
{
    struct many m = {calloc((size_t)n, sizeof(struct answer)), n};
    tgb_buf q;
    tgb_buf_init(&q, 0);
    encode_fn(&q, &tgb_tl_c_help_getNearestDc);
    for (int i = 0; i < n; i++) {
        tgb_buf_init(&m.answers[i].result, 0);
        CHECK_OK(tgb_session_call(r->s, q.data, q.len, on_answer, &m.answers[i], NULL, r->now));
    }
    tgb_buf_free(&q);
    return m;
}

static void free_many(struct many *m)
{
    for (int i = 0; i < m->n; i++)
        tgb_buf_free(&m->answers[i].result);
    free(m->answers);
}

/* Every answer came exactly once, a nearestDc of DC 1 (or the expected rpc_error). */
static void check_nearest(const struct many *m, int expect_flood)
{
    int flood = 0;
    for (int i = 0; i < m->n; i++) {
        const struct answer *a = &m->answers[i];
        CHECK_EQ(a->calls, 1);
        CHECK_EQ(a->error, 0);
        if (a->rpc_error_code) {
            CHECK_EQ(a->rpc_error_code, 420);
            CHECK_STR(a->rpc_error_message, "FLOOD_WAIT_7");
            flood++;
            continue;
        }
        tgb_arena arena;
        tgb_arena_init(&arena, NULL, 0, 0);
        tl_object *o = NULL;
        CHECK_OK(tgb_tl_decode_object(&tgb_tl_schema_api, &arena, &tgb_tl_t_NearestDc,
                                      a->result.data, a->result.len, &o, NULL, NULL));
        tl_nearestDc *nd = o ? TL_AS(nearestDc, (tl_NearestDc *)o) : NULL;
        CHECK(nd && nd->this_dc == 1 && nd->nearest_dc == 1);
        tgb_arena_free(&arena);
    }
    CHECK_EQ(flood, expect_flood);
}

/* ------------------------------------------------------------------ tests */

/* A fresh session makes a key and gets help.getConfig answered, over every transport. */
static void test_every_transport(void)
{
    for (size_t t = 0; t < NTRANSPORTS; t++) {
        struct rig r;
        rig_init(&r, 1000 + (uint32_t)t);
        CHECK_OK(rig_session(&r, all_transports[t], NULL));
        tgb_buf q;
        tgb_buf_init(&q, 0);
        encode_fn(&q, &tgb_tl_c_help_getConfig);
        struct answer a = {0};
        tgb_buf_init(&a.result, 0);
        CHECK_OK(tgb_session_call(r.s, q.data, q.len, on_answer, &a, NULL, r.now));
        struct many m = {&a, 1};
        CHECK(run_until(&r, all_answered, &m, 30));
        CHECK_EQ(a.calls, 1);
        CHECK_EQ(a.rpc_error_code, 0);
        tgb_arena arena;
        tgb_arena_init(&arena, NULL, 0, 0);
        tl_object *o = NULL;
        CHECK_OK(tgb_tl_decode_object(&tgb_tl_schema_api, &arena, &tgb_tl_t_Config, a.result.data,
                                      a.result.len, &o, NULL, NULL));
        tl_config *cfg = (tl_config *)o;
        CHECK(cfg && cfg->this_dc == 1 && cfg->dc_options.count == 2);
        if (cfg && cfg->dc_options.count == 2) {
            tl_dcOption *o2 = TL_AS(dcOption, cfg->dc_options.items[1]);
            CHECK(o2 && o2->id == 2 && o2->port == 10444);
        }
        tgemu_dc_stats st;
        tgemu_dc_get_stats(r.dc, &st);
        CHECK_EQ(st.auth_keys, 1);
        CHECK_EQ(r.keys_made, 1);
        CHECK_EQ(st.queries, 1);
        tgb_arena_free(&arena);
        tgb_buf_free(&q);
        tgb_buf_free(&a.result);
        rig_free(&r);
    }
}

/* Same seeds and clock, same bytes; another seed, other bytes. */
static void transcript(uint32_t seed, int transport, uint8_t out[32])
{
    struct rig r;
    rig_init(&r, seed);
    CHECK_OK(rig_session(&r, transport, NULL));
    struct many m = send_many(&r, 3);
    CHECK(run_until(&r, all_answered, &m, 30));
    check_nearest(&m, 0);
    tgb_sha256(r.bytes_seen.data, r.bytes_seen.len, out);
    free_many(&m);
    rig_free(&r);
}

static void test_byte_exact(void)
{
    for (size_t t = 0; t < NTRANSPORTS; t++) {
        uint8_t a[32], b[32], c[32];
        transcript(77, all_transports[t], a);
        transcript(77, all_transports[t], b);
        transcript(78, all_transports[t], c);
        CHECK_MEM(a, b, 32);
        CHECK(memcmp(a, c, 32) != 0);
    }
    /* The very first bytes: the intermediate tag, then req_pq_multi unencrypted, its
     * msg_id from the clock and its nonce the first 16 random bytes. */
    struct rig r;
    rig_init(&r, 5);
    CHECK_OK(rig_session(&r, TGB_TRANSPORT_INTERMEDIATE, NULL));
    CHECK_OK(tgb_session_connected(r.s, r.conn, r.now));
    r.connect_pending = 0;
    const uint8_t *data;
    size_t n = tgb_session_pending(r.s, r.conn, &data);
    CHECK_EQ(n, 4 + 4 + 40);
    uint8_t expect[48] = {0xee, 0xee, 0xee, 0xee, 40, 0, 0, 0};
    tgb_put_le64(expect + 16, (uint64_t)1764000000 << 32);
    tgb_put_le32(expect + 24, 20);
    tgb_put_le32(expect + 28, TL_ID_req_pq_multi);
    uint32_t seed = 5;
    seeded_random(&seed, expect + 32, 16); /* the nonce is the first thing drawn */
    if (n == 48)
        CHECK_MEM(data, expect, 48);
    rig_free(&r);
}

/* Each fault switched on with 20 requests in flight: each request completes once. */
static void run_fault(const tgemu_faults *f, int expect_flood, int restart)
{
    struct rig r;
    rig_init(&r, 31337);
    CHECK_OK(rig_session(&r, TGB_TRANSPORT_INTERMEDIATE, NULL));
    struct many warm = send_many(&r, 1); /* a key and a session first */
    CHECK(run_until(&r, all_answered, &warm, 30));
    free_many(&warm);
    tgemu_dc_set_faults(r.dc, f);
    struct many m = send_many(&r, 20);
    pump_once(&r); /* they are on the wire (and, with a delay, still unanswered) */
    if (restart) {
        tgemu_dc_restart(r.dc, r.now);
        tgemu_faults none = {0};
        tgemu_dc_set_faults(r.dc, &none);
    }
    CHECK(run_until(&r, all_answered, &m, 120));
    check_nearest(&m, expect_flood);
    /* and no answer comes twice later */
    tgb_time later = r.now + 30 * 1000000;
    while (r.now < later && (pump_once(&r) || 1)) {
        tgb_time t = tgb_session_next_timeout(r.s);
        if (t > later)
            break;
        r.now = t > r.now ? t : r.now + 1000;
        tgb_session_timeout(r.s, r.now);
        tgemu_dc_timeout(r.dc, r.now);
    }
    for (int i = 0; i < m.n; i++)
        CHECK_EQ(m.answers[i].calls, 1);
    /*
     * Within a session the DC executes each query once, whatever was resent. A restart
     * forgets sessions, so there the resent requests run again, as on Telegram: only
     * the client's side (one answer each) holds.
     */
    tgemu_dc_stats st;
    tgemu_dc_get_stats(r.dc, &st);
    if (restart)
        CHECK(st.queries >= 21);
    else
        CHECK_EQ(st.queries, 21);
    free_many(&m);
    rig_free(&r);
}

static void test_faults(void)
{
    tgemu_faults drop = {.drop_after = 3};
    run_fault(&drop, 0, 0);
    tgemu_faults salt = {.bad_salt = 4};
    run_fault(&salt, 0, 0);
    tgemu_faults delay = {.delay_ms = 2500};
    run_fault(&delay, 0, 0);
    tgemu_faults flood = {.flood_wait = 5, .flood_wait_seconds = 7};
    run_fault(&flood, 5, 0);
    tgemu_faults held = {.delay_ms = 1000};
    run_fault(&held, 0, 1); /* restart with answers pending */
}

/* The DC forgot our key: transport error -404, a new key, the request still answered. */
static void test_forgotten_key(void)
{
    struct rig r;
    rig_init(&r, 404);
    CHECK_OK(rig_session(&r, TGB_TRANSPORT_ABRIDGED, NULL));
    struct many m = send_many(&r, 1);
    CHECK(run_until(&r, all_answered, &m, 30));
    free_many(&m);
    /* a new DC without the key, as after losing its state */
    tgb_session_closed(r.s, r.conn, r.now);
    tgemu_conn_del(r.dc_conn, r.now);
    r.dc_conn = NULL;
    r.conn = 0;
    tgemu_dc_del(r.dc);
    static const uint8_t secret[32] = {1, 2, 3};
    tgemu_dc_config cfg = {1, server_key, &r.dc_rnd, NULL, 0, secret};
    tgemu_dc_callbacks cb = {NULL, dc_close_cb, NULL, NULL};
    CHECK_OK(tgemu_dc_new(&r.dc, &cfg, &cb, &r, r.now));
    m = send_many(&r, 3);
    CHECK(run_until(&r, all_answered, &m, 60));
    check_nearest(&m, 0);
    CHECK_EQ(r.keys_made, 2);
    free_many(&m);
    rig_free(&r);
}

/* A key from an earlier session is used as is: no new exchange. */
static void test_persisted_key(void)
{
    struct rig r;
    rig_init(&r, 9);
    CHECK_OK(rig_session(&r, TGB_TRANSPORT_FULL, NULL));
    struct many m = send_many(&r, 1);
    CHECK(run_until(&r, all_answered, &m, 30));
    free_many(&m);
    uint8_t key[256];
    memcpy(key, r.last_key, 256);
    tgb_session_del(r.s);
    r.s = NULL;
    if (r.dc_conn)
        tgemu_conn_del(r.dc_conn, r.now);
    r.dc_conn = NULL;
    r.conn = 0;
    CHECK_OK(rig_session(&r, TGB_TRANSPORT_FULL, key));
    m = send_many(&r, 2);
    CHECK(run_until(&r, all_answered, &m, 30));
    check_nearest(&m, 0);
    tgemu_dc_stats st;
    tgemu_dc_get_stats(r.dc, &st);
    CHECK_EQ(st.auth_keys, 1);
    CHECK_EQ(r.keys_made, 1);
    free_many(&m);
    rig_free(&r);
}

/* Cancel, deadlines, destruction, re-entrancy. */
struct reentry {
    struct rig *r;
    int calls;
    int recv_rc;
    struct answer inner;
};

static void reentrant_answer(void *user_data, const tgb_rpc_answer *a)
{
    struct reentry *e = user_data;
    (void)a;
    e->calls++;
    e->recv_rc = tgb_session_recv(e->r->s, e->r->conn, (const uint8_t *)"x", 1, e->r->now);
    tgb_buf q;
    tgb_buf_init(&q, 0);
    encode_fn(&q, &tgb_tl_c_help_getNearestDc);
    /* allowed: a new request from inside a callback */
    CHECK_OK(tgb_session_call(e->r->s, q.data, q.len, on_answer, &e->inner, NULL, e->r->now));
    tgb_buf_free(&q);
}

static int reentry_done(void *ctx)
{
    struct reentry *e = ctx;
    return e->calls && e->inner.calls;
}

static void test_lifecycle(void)
{
    struct rig r;
    rig_init(&r, 12);
    CHECK_OK(rig_session(&r, TGB_TRANSPORT_INTERMEDIATE, NULL));
    struct many warm = send_many(&r, 1);
    CHECK(run_until(&r, all_answered, &warm, 30));
    free_many(&warm);

    /* cancel: the callback runs at once with TGB_ERR_CANCELLED, and never again */
    tgb_buf q;
    tgb_buf_init(&q, 0);
    encode_fn(&q, &tgb_tl_c_help_getNearestDc);
    struct answer c = {0};
    tgb_buf_init(&c.result, 0);
    uint64_t id = 0;
    CHECK_OK(tgb_session_call(r.s, q.data, q.len, on_answer, &c, &id, r.now));
    CHECK_OK(tgb_session_cancel(r.s, id));
    CHECK_EQ(c.calls, 1);
    CHECK_EQ(c.error, TGB_ERR_CANCELLED);
    CHECK_EQ(tgb_session_cancel(r.s, id), TGB_ERR_INVALID);
    struct many after = send_many(&r, 1);
    CHECK(run_until(&r, all_answered, &after, 30));
    CHECK_EQ(c.calls, 1);
    free_many(&after);

    /* re-entrancy */
    struct reentry e = {&r, 0, 0, {0}};
    tgb_buf_init(&e.inner.result, 0);
    CHECK_OK(tgb_session_call(r.s, q.data, q.len, reentrant_answer, &e, NULL, r.now));
    CHECK(run_until(&r, reentry_done, &e, 30));
    CHECK_EQ(e.recv_rc, TGB_ERR_REENTRANT);
    CHECK_EQ(e.inner.calls, 1);
    CHECK_EQ(e.inner.rpc_error_code, 0);
    tgb_buf_free(&e.inner.result);

    /* destruction with requests pending: each gets TGB_ERR_CLOSED once */
    tgemu_faults delay = {.delay_ms = 10000};
    tgemu_dc_set_faults(r.dc, &delay);
    struct many pending = send_many(&r, 4);
    pump_once(&r);
    tgb_session_del(r.s);
    r.s = NULL;
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(pending.answers[i].calls, 1);
        CHECK_EQ(pending.answers[i].error, TGB_ERR_CLOSED);
    }
    free_many(&pending);
    tgb_buf_free(&c.result);
    tgb_buf_free(&q);
    if (r.dc_conn)
        tgemu_conn_del(r.dc_conn, r.now);
    r.dc_conn = NULL;
    tgemu_dc_del(r.dc);
    tgb_buf_free(&r.bytes_seen);
}

static void test_deadline(void)
{
    struct rig r;
    rig_init(&r, 13);
    tgb_session_settings st;
    tgb_session_settings_default(&st);
    st.dc_id = 1;
    st.host = "127.0.0.1";
    st.rsa_public_keys_pem = server_pem;
    st.request_timeout = 2;
    tgb_session_callbacks cb;
    tgb_session_callbacks_default(&cb);
    cb.connect = rig_connect;
    cb.close = rig_close;
    cb.random = rig_random;
    CHECK_OK(tgb_session_new(&r.s, &st, &cb, &r, r.now));
    tgemu_faults delay = {.delay_ms = 5000};
    tgemu_dc_set_faults(r.dc, &delay);
    struct many m = send_many(&r, 2);
    CHECK(run_until(&r, all_answered, &m, 30));
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(m.answers[i].calls, 1);
        CHECK_EQ(m.answers[i].error, TGB_ERR_TIMEOUT);
    }
    /* the late answers find nobody waiting */
    tgb_time end = r.now + 10 * 1000000;
    while (r.now < end) {
        pump_once(&r);
        r.now += 500000;
        tgb_session_timeout(r.s, r.now);
        tgemu_dc_timeout(r.dc, r.now);
    }
    for (int i = 0; i < 2; i++)
        CHECK_EQ(m.answers[i].calls, 1);
    free_many(&m);
    rig_free(&r);
}

/* Sends `query` and runs until it is answered. */
static void call_and_wait(struct rig *r, const tgb_buf *query, struct answer *a)
{
    memset(a, 0, sizeof(*a));
    tgb_buf_init(&a->result, 0);
    CHECK_OK(tgb_session_call(r->s, query->data, query->len, on_answer, a, NULL, r->now));
    struct many m = {a, 1};
    CHECK(run_until(r, all_answered, &m, 30));
}

/*
 * A client on layer 144 (Telethon's): its invokeWithLayer(144, help.getConfig) is
 * answered with layer 144's config (its own constructor id), and later queries without
 * the wrapper stay in 144. Layers 198 and 227 are accepted; layer 100 is refused.
 */
static void test_older_layers(void)
{
    struct rig r;
    rig_init(&r, 144);
    CHECK_OK(rig_session(&r, TGB_TRANSPORT_INTERMEDIATE, NULL));
    struct many warm = send_many(&r, 1);
    CHECK(run_until(&r, all_answered, &warm, 30));
    free_many(&warm);

    tgb_tl_layer_map *map144;
    CHECK_OK(tgb_tl_layer_map_new(&map144, &tgb_tl_schema_api, &tgb_tl_schema_layer144));
    tl_help_getConfig get = {.base = {&tgb_tl_c_help_getConfig}};
    tl_invokeWithLayer invoke = {.base = {&tgb_tl_c_invokeWithLayer}};
    invoke.layer = 144;
    invoke.query = (tl_object *)&get;
    tgb_buf q;
    tgb_buf_init(&q, 0);
    CHECK_OK(tgb_tl_encode_object_to(map144, NULL, &q, &invoke, NULL));
    struct answer a;
    call_and_wait(&r, &q, &a);
    CHECK_EQ(a.rpc_error_code, 0);
    CHECK(a.result.len >= 4 && tgb_le32(a.result.data) == 0x330b4067u); /* config in 144 */
    tgb_arena arena;
    tgb_arena_init(&arena, NULL, 0, 0);
    tl_object *o = NULL;
    CHECK_EQ(tgb_tl_decode_object(&tgb_tl_schema_api, &arena, &tgb_tl_t_Config, a.result.data,
                                  a.result.len, &o, NULL, NULL),
             TGB_ERR_TL_UNKNOWN_ID);
    CHECK_OK(tgb_tl_decode_object_from(map144, &arena, &tgb_tl_t_Config, a.result.data,
                                       a.result.len, &o, NULL, NULL));
    tl_config *cfg = (tl_config *)o;
    CHECK(cfg && cfg->this_dc == 1 && cfg->dc_options.count == 2);
    tgb_buf_free(&a.result);

    /* no wrapper now: the DC remembers the key's layer */
    encode_fn(&q, &tgb_tl_c_help_getConfig);
    call_and_wait(&r, &q, &a);
    CHECK(a.result.len >= 4 && tgb_le32(a.result.data) == 0x330b4067u);
    tgb_buf_free(&a.result);

    /* 198 and 227 are served; 100 is not */
    static const int layers[] = {198, 227, 100};
    for (int i = 0; i < 3; i++) {
        q.len = 0;
        uint8_t head[8];
        tgb_put_le32(head, TL_ID_invokeWithLayer);
        tgb_put_le32(head + 4, (uint32_t)layers[i]);
        tgb_buf_append(&q, head, 8);
        uint8_t fn[4];
        tgb_put_le32(fn, TL_ID_help_getNearestDc);
        tgb_buf_append(&q, fn, 4);
        call_and_wait(&r, &q, &a);
        if (layers[i] == 100) {
            CHECK_EQ(a.rpc_error_code, 400);
            CHECK_STR(a.rpc_error_message, "CONNECTION_LAYER_INVALID");
        } else {
            CHECK_EQ(a.rpc_error_code, 0);
            CHECK(a.result.len == 16 && tgb_le32(a.result.data) == TL_ID_nearestDc);
        }
        tgb_buf_free(&a.result);
    }

    /* what the DC cannot parse, or does not know, gets Telegram's errors */
    static const struct {
        uint32_t id;
        int code;
        const char *message;
    } bad[] = {{0x12345678u, 400, "INPUT_METHOD_INVALID"},
               {TL_ID_users_getFullUser, 400, "INPUT_FETCH_ERROR"}, /* truncated */
               {TL_ID_updates_getState, 401, "AUTH_KEY_UNREGISTERED"}};
    for (int i = 0; i < 3; i++) {
        q.len = 0;
        uint8_t head[8];
        tgb_put_le32(head, TL_ID_invokeWithLayer);
        tgb_put_le32(head + 4, 228);
        tgb_buf_append(&q, head, 8);
        uint8_t fn[4];
        tgb_put_le32(fn, bad[i].id);
        tgb_buf_append(&q, fn, 4);
        call_and_wait(&r, &q, &a);
        CHECK_EQ(a.rpc_error_code, bad[i].code);
        CHECK_STR(a.rpc_error_message, bad[i].message);
        tgb_buf_free(&a.result);
    }
    tgb_arena_free(&arena);
    tgb_buf_free(&q);
    tgb_tl_layer_map_del(map144);
    rig_free(&r);
}

/*
 * Perfect forward secrecy: a permanent key, then a temporary one bound to it with
 * auth.bindTempAuthKey before any request, replaced before it expires while requests
 * keep being answered; a persisted permanent key is reused; the DC refuses bindings
 * it cannot verify.
 */
static void test_temp_keys(void)
{
    struct rig r;
    rig_init(&r, 2024);
    CHECK_OK(rig_session_pfs(&r, TGB_TRANSPORT_INTERMEDIATE, NULL, 300));
    struct many m = send_many(&r, 3);
    CHECK(run_until(&r, all_answered, &m, 30));
    check_nearest(&m, 0);
    free_many(&m);
    tgemu_dc_stats st;
    tgemu_dc_get_stats(r.dc, &st);
    CHECK_EQ(st.auth_keys, 2); /* permanent + temporary */
    CHECK_EQ(r.keys_made, 1);  /* only the permanent one is the owner's to keep */
    uint8_t perm[256];
    memcpy(perm, r.last_key, 256);

    /* 300 s keys are replaced 30 s early; requests before and after are answered */
    tgb_time end = r.now + (tgb_time)600 * 1000000;
    while (r.now < end) {
        m = send_many(&r, 2);
        CHECK(run_until(&r, all_answered, &m, 60));
        check_nearest(&m, 0);
        free_many(&m);
        r.now += (tgb_time)50 * 1000000;
        tgb_session_timeout(r.s, r.now);
    }
    tgemu_dc_get_stats(r.dc, &st);
    CHECK(st.auth_keys >= 3 && st.auth_keys <= 5); /* one or two renewals in 600 s */
    CHECK_EQ(r.keys_made, 1);

    /* a binding the DC cannot verify: garbage encrypted_message */
    tl_auth_bindTempAuthKey bad = {.base = {&tgb_tl_c_auth_bindTempAuthKey}};
    uint8_t perm_id[8];
    tgb_auth_key_id(perm, perm_id);
    bad.perm_auth_key_id = (int64_t)tgb_le64(perm_id);
    bad.nonce = 1;
    bad.expires_at = 2;
    static const uint8_t junk[24 + 80] = {1, 2, 3};
    bad.encrypted_message = (tgb_tl_bytes){junk, sizeof(junk)};
    tgb_buf q;
    tgb_buf_init(&q, 0);
    CHECK_OK(tgb_tl_encode_object(&q, &bad, NULL));
    struct answer a;
    call_and_wait(&r, &q, &a);
    CHECK_EQ(a.rpc_error_code, 400);
    CHECK_STR(a.rpc_error_message, "ENCRYPTED_MESSAGE_INVALID");
    tgb_buf_free(&a.result);
    tgb_session_del(r.s);
    r.s = NULL;
    if (r.dc_conn)
        tgemu_conn_del(r.dc_conn, r.now);
    r.dc_conn = NULL;
    r.conn = 0;

    /* the permanent key persisted: only a temporary key is made */
    tgemu_dc_get_stats(r.dc, &st);
    uint64_t before = st.auth_keys;
    CHECK_OK(rig_session_pfs(&r, TGB_TRANSPORT_ABRIDGED, perm, 300));
    m = send_many(&r, 1);
    CHECK(run_until(&r, all_answered, &m, 30));
    check_nearest(&m, 0);
    free_many(&m);
    tgemu_dc_get_stats(r.dc, &st);
    CHECK_EQ(st.auth_keys, before + 1);
    CHECK_EQ(r.keys_made, 1);
    tgb_session_del(r.s);
    r.s = NULL;
    if (r.dc_conn)
        tgemu_conn_del(r.dc_conn, r.now);
    r.dc_conn = NULL;
    r.conn = 0;

    /* binding over a permanent key makes no sense */
    CHECK_OK(rig_session(&r, TGB_TRANSPORT_ABRIDGED, perm));
    call_and_wait(&r, &q, &a);
    CHECK_EQ(a.rpc_error_code, 400);
    CHECK_STR(a.rpc_error_message, "TEMP_AUTH_KEY_EMPTY");
    tgb_buf_free(&a.result);
    tgb_buf_free(&q);
    rig_free(&r);
}

/* Without host or keys, a session goes to Telegram's own DCs with Telegram's keys. */
struct seen_connect {
    char host[64];
    int port;
};

static int record_connect(void *user_data, uint64_t conn, const char *host, int port)
{
    struct seen_connect *c = user_data;
    (void)conn;
    snprintf(c->host, sizeof(c->host), "%s", host);
    c->port = port;
    return 0;
}

static void ignore_close(void *user_data, uint64_t conn)
{
    (void)user_data, (void)conn;
}

static void test_defaults(void)
{
    static const struct {
        int dc, test;
        const char *host;
    } cases[] = {{1, 0, "149.154.175.50"},
                 {2, 0, "149.154.167.51"},
                 {5, 0, "149.154.171.5"},
                 {2, 1, "149.154.167.40"},
                 {3, 1, "149.154.175.117"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tgb_session_settings st;
        tgb_session_settings_default(&st);
        CHECK_EQ(st.transport, TGB_TRANSPORT_INTERMEDIATE);
        CHECK_EQ(st.layer, 228);
        st.dc_id = cases[i].dc;
        st.test_dc = cases[i].test;
        tgb_session_callbacks cb;
        tgb_session_callbacks_default(&cb);
        cb.connect = record_connect;
        cb.close = ignore_close;
        struct seen_connect seen = {{0}, 0};
        tgb_session *s = NULL;
        CHECK_OK(tgb_session_new(&s, &st, &cb, &seen, 0));
        CHECK_STR(seen.host, cases[i].host);
        CHECK_EQ(seen.port, 443);
        tgb_session_del(s);
    }
    /* the built-in keys are Telegram's (fingerprints from telegram-network.md) */
    tgb_rsa_key *k;
    CHECK_OK(
        tgb_rsa_key_from_pem(&k, tgb_dc_production_rsa_pem, strlen(tgb_dc_production_rsa_pem)));
    CHECK(tgb_rsa_key_fingerprint(k) == 0xd09d1d85de64fd85ull);
    tgb_rsa_key_del(k);
    CHECK_OK(tgb_rsa_key_from_pem(&k, tgb_dc_test_rsa_pem, strlen(tgb_dc_test_rsa_pem)));
    CHECK(tgb_rsa_key_fingerprint(k) == 0xb25898df208d2603ull);
    tgb_rsa_key_del(k);
}

static void test_bad_settings(void)
{
    tgb_session_settings st;
    tgb_session_settings_default(&st);
    tgb_session_callbacks cb;
    tgb_session_callbacks_default(&cb);
    tgb_session *s = NULL;
    CHECK_EQ(tgb_session_new(&s, &st, &cb, NULL, 0), TGB_ERR_INVALID); /* no connect/close */
    cb.connect = rig_connect;
    cb.close = rig_close;
    st.transport = TGB_TRANSPORT_FULL | TGB_TRANSPORT_OBFUSCATED;
    CHECK_EQ(tgb_session_new(&s, &st, &cb, NULL, 0), TGB_ERR_INVALID);
    st.transport = 99;
    CHECK_EQ(tgb_session_new(&s, &st, &cb, NULL, 0), TGB_ERR_INVALID);
    st.transport = TGB_TRANSPORT_ABRIDGED;
    st.rsa_public_keys_pem = "not a key";
    CHECK_EQ(tgb_session_new(&s, &st, &cb, NULL, 0), TGB_ERR_INVALID);
    st.rsa_public_keys_pem = NULL;
    st.dc_id = 7; /* no built-in address */
    CHECK_EQ(tgb_session_new(&s, &st, &cb, NULL, 0), TGB_ERR_INVALID);
    CHECK(s == NULL);
    tgb_session_del(NULL);
}

int main(void)
{
    if (tgb_rsa_key_generate(&server_key) != 0 ||
        tgb_rsa_key_public_pem(server_key, &server_pem, NULL) != 0)
        return 1;
    RUN(test_bad_settings);
    RUN(test_every_transport);
    RUN(test_byte_exact);
    RUN(test_faults);
    RUN(test_forgotten_key);
    RUN(test_persisted_key);
    RUN(test_lifecycle);
    RUN(test_deadline);
    RUN(test_older_layers);
    RUN(test_temp_keys);
    RUN(test_defaults);
    tgb_rsa_key_del(server_key);
    free(server_pem);
    return check_report();
}
