/*
 * The in-memory rig: a client engine (tgb_session) and an emulated DC (tgemu_dc) in one
 * process, with a simulated clock and seeded randomness, every byte one side writes fed
 * to the other. Shared by tests/test_engine.c and bench/bench_rpc.c.
 *
 * Before use, set `server_key` and `server_pem` (the DC's RSA key and its public PEM).
 */
#ifndef TGB_TESTS_ENGINE_RIG_H
#define TGB_TESTS_ENGINE_RIG_H

#include "crypto/crypto.h"
#include "emulator/dc.h"

#include <tgbotapi/tgbotapi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Under the test harness a failed setup step is a failed check; elsewhere, fatal. */
#ifdef CHECK_OK
#define RIG_MUST(expr) CHECK_OK(expr)
#else
#define RIG_MUST(expr)                                                        \
    do {                                                                      \
        int rig_rc_ = (expr);                                                 \
        if (rig_rc_) {                                                        \
            fprintf(stderr, "%s failed: %s\n", #expr, tgb_strerror(rig_rc_)); \
            abort();                                                          \
        }                                                                     \
    } while (0)
#endif

/* ------------------------------------------------------------------ the rig */

static inline uint32_t xorshift(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static inline int seeded_random(void *user_data, uint8_t *out, size_t len)
{
    uint32_t *seed = user_data;
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)xorshift(seed);
    return 0;
}

static tgb_rsa_key *server_key; /* made once: generating one takes a while */
static char *server_pem;

struct rig {
    tgb_time now;
    uint32_t client_seed, dc_seed;
    tgb_random dc_rnd;
    tgemu_dc *dc;
    tgb_session *s;
    /* the one connection between them */
    uint64_t conn;
    tgemu_conn *dc_conn;
    int connect_pending; /* the client asked; tell it "connected" next */
    int dc_closed;       /* the DC asked to close */
    /* what happened */
    tgb_buf bytes_seen; /* everything on the wire, both ways, for the transcript */
    int no_transcript;  /* benchmarks: don't keep bytes_seen */
    int timed;          /* benchmarks: add up the time spent in each side */
    int64_t client_ns, dc_ns;
    int keys_made;
    uint8_t last_key[256];
    int connects;
};

struct answer {
    int calls;
    int error;
    int rpc_error_code;
    char rpc_error_message[64];
    tgb_buf result;
};

static inline int rig_connect(void *user_data, uint64_t conn, const char *host, int port)
{
    struct rig *r = user_data;
    (void)host, (void)port;
    if (tgemu_conn_new(r->dc, &r->dc_conn, r, r->now) != 0)
        return TGB_ERR_NOMEM;
    r->conn = conn;
    r->connect_pending = 1;
    r->dc_closed = 0;
    r->connects++;
    return 0;
}

static inline void rig_close(void *user_data, uint64_t conn)
{
    struct rig *r = user_data;
    if (conn == r->conn && r->dc_conn) {
        tgemu_conn_del(r->dc_conn, r->now);
        r->dc_conn = NULL;
        r->conn = 0;
    }
}

static inline int rig_random(void *user_data, uint8_t *out, size_t len)
{
    struct rig *r = user_data;
    return seeded_random(&r->client_seed, out, len);
}

/* TGB_TEST_LOG=1 prints both sides' logs */
static inline void rig_log(void *user_data, int level, const char *line)
{
    (void)user_data;
    if (getenv("TGB_TEST_LOG"))
        fprintf(stderr, "  log[%d] %s\n", level, line);
}

static inline void dc_log_cb(void *user_data, int level, const char *line)
{
    rig_log(user_data, level, line);
}

static inline void rig_auth_key(void *user_data, const uint8_t *key, size_t len)
{
    struct rig *r = user_data;
    if (len == 256)
        memcpy(r->last_key, key, 256);
    r->keys_made++;
}

static inline void dc_close_cb(void *user_data, tgemu_conn *conn)
{
    struct rig *r = user_data;
    if (conn == r->dc_conn)
        r->dc_closed = 1; /* acted on by pump(), outside the DC's call */
}

static inline void on_answer(void *user_data, const tgb_rpc_answer *a)
{
    struct answer *ans = user_data;
    ans->calls++;
    ans->error = a->error;
    ans->rpc_error_code = a->rpc_error_code;
    if (a->rpc_error_message)
        snprintf(ans->rpc_error_message, sizeof(ans->rpc_error_message), "%s",
                 a->rpc_error_message);
    ans->result.len = 0;
    if (a->result_len)
        tgb_buf_append(&ans->result, a->result, a->result_len);
}

static inline void rig_init(struct rig *r, uint32_t seed)
{
    memset(r, 0, sizeof(*r));
    r->now = (tgb_time)1764000000 * 1000000;
    r->client_seed = seed;
    r->dc_seed = seed ^ 0x5bd1e995u;
    r->dc_rnd.fn = seeded_random;
    r->dc_rnd.user_data = &r->dc_seed;
    tgb_buf_init(&r->bytes_seen, 0);
    static const uint8_t secret[32] = {1, 2, 3};
    tgemu_dc_option opts[2] = {{1, "127.0.0.1", 10443}, {2, "127.0.0.1", 10444}};
    tgemu_dc_config cfg = {1, server_key, &r->dc_rnd, opts, 2, secret};
    tgemu_dc_callbacks cb = {NULL, dc_close_cb, NULL, dc_log_cb};
    RIG_MUST(tgemu_dc_new(&r->dc, &cfg, &cb, r, r->now));
}

static inline int rig_session_pfs(struct rig *r, int transport, const uint8_t *auth_key,
                                  int temp_life);

static inline int rig_session(struct rig *r, int transport, const uint8_t *auth_key)
{
    return rig_session_pfs(r, transport, auth_key, 0);
}

static inline int rig_session_pfs(struct rig *r, int transport, const uint8_t *auth_key,
                                  int temp_life)
{
    tgb_session_settings st;
    tgb_session_settings_default(&st);
    st.dc_id = 1;
    st.host = "127.0.0.1";
    st.port = 10443;
    st.transport = transport;
    st.rsa_public_keys_pem = server_pem;
    st.api_id = 4;
    st.device_model = "test";
    st.auth_key = auth_key;
    st.auth_key_len = auth_key ? 256 : 0;
    st.ping_interval = 60;
    st.request_timeout = 0;
    st.temp_keys = temp_life > 0;
    st.temp_key_lifetime = temp_life;
    tgb_session_callbacks cb;
    tgb_session_callbacks_default(&cb);
    cb.connect = rig_connect;
    cb.close = rig_close;
    cb.random = rig_random;
    cb.auth_key = rig_auth_key;
    cb.log = rig_log;
    return tgb_session_new(&r->s, &st, &cb, r, r->now);
}

/* Moves bytes both ways until nothing moves. Returns 1 if anything moved. */
static inline int64_t rig_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int pump_once(struct rig *r)
{
    int moved = 0;
    if (r->connect_pending) {
        r->connect_pending = 0;
        RIG_MUST(tgb_session_connected(r->s, r->conn, r->now));
        moved = 1;
    }
    for (int round = 0; round < 1000; round++) {
        int any = 0;
        const uint8_t *data;
        size_t n;
        int64_t t0 = r->timed ? rig_clock_ns() : 0, t1 = 0, t2 = 0;
        if (r->conn && r->dc_conn && (n = tgb_session_pending(r->s, r->conn, &data)) > 0) {
            if (!r->no_transcript)
                tgb_buf_append(&r->bytes_seen, data, n);
            tgb_buf chunk;
            tgb_buf_init(&chunk, 0);
            tgb_buf_append(&chunk, data, n);
            tgb_session_sent(r->s, r->conn, n, r->now);
            t1 = r->timed ? rig_clock_ns() : 0;
            tgemu_conn_recv(r->dc_conn, chunk.data, chunk.len, r->now);
            tgb_buf_free(&chunk);
            if (r->timed) {
                t2 = rig_clock_ns();
                r->client_ns += t1 - t0;
                r->dc_ns += t2 - t1;
                t0 = t2;
            }
            any = 1;
        }
        if (r->dc_conn && !r->dc_closed && (n = tgemu_conn_pending(r->dc_conn, &data)) > 0) {
            if (!r->no_transcript)
                tgb_buf_append(&r->bytes_seen, data, n);
            tgb_buf chunk;
            tgb_buf_init(&chunk, 0);
            tgb_buf_append(&chunk, data, n);
            tgemu_conn_sent(r->dc_conn, n);
            t1 = r->timed ? rig_clock_ns() : 0;
            if (r->conn)
                tgb_session_recv(r->s, r->conn, chunk.data, chunk.len, r->now);
            tgb_buf_free(&chunk);
            if (r->timed) {
                r->dc_ns += t1 - t0;
                r->client_ns += rig_clock_ns() - t1;
            }
            any = 1;
        }
        if (r->dc_closed && r->dc_conn) {
            /* the DC hung up: the socket closes, both sides hear of it */
            tgemu_conn_del(r->dc_conn, r->now);
            r->dc_conn = NULL;
            uint64_t conn = r->conn;
            r->conn = 0;
            tgb_session_closed(r->s, conn, r->now);
            any = 1;
        }
        if (!any)
            break;
        moved = 1;
    }
    return moved;
}

/* Runs the simulation until `done(ctx)` or `limit` simulated seconds pass. */
static inline int run_until(struct rig *r, int (*done)(void *ctx), void *ctx, int limit)
{
    tgb_time end = r->now + (tgb_time)limit * 1000000;
    while (!done(ctx)) {
        if (pump_once(r))
            continue;
        tgb_time t = tgb_session_next_timeout(r->s);
        tgb_time d = tgemu_dc_next_timeout(r->dc);
        if (d < t)
            t = d;
        if (t > end)
            return 0;
        if (t > r->now)
            r->now = t;
        tgb_session_timeout(r->s, r->now);
        tgemu_dc_timeout(r->dc, r->now);
    }
    return 1;
}

static inline void rig_free(struct rig *r)
{
    tgb_session_del(r->s);
    r->s = NULL;
    if (r->dc_conn)
        tgemu_conn_del(r->dc_conn, r->now);
    r->dc_conn = NULL;
    tgemu_dc_del(r->dc);
    tgb_buf_free(&r->bytes_seen);
}

#endif
