/*
 * The runtime over real loopback TCP: an emulator (tgemu_server) runs on its own loop
 * thread in this process, and a tgb_runtime drives sessions to it over real sockets,
 * one per transport, with the blocking and the callback forms of a call. Also: a
 * session reopened with its persisted key makes no new one, a session to a closed
 * port keeps retrying without crashing, and closing with requests pending answers
 * them with TGB_ERR_CLOSED.
 */
#define _GNU_SOURCE
#include "check.h"
#include "crypto/crypto.h"
#include "emu_thread.h"
#include "emulator/server.h"
#include "runtime/loop.h"
#include "tl/tl_api.h"
#include "transports.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Runs fn(arg) on the emulator's loop thread and waits for it: the DCs are that
 * thread's alone. */
struct emu_task {
    void (*fn)(struct emu *e, void *arg);
    struct emu *e;
    void *arg;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
};

static void emu_task_run(void *data)
{
    struct emu_task *t = data;
    t->fn(t->e, t->arg);
    pthread_mutex_lock(&t->lock);
    t->done = 1;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

static void emu_sync(struct emu *e, void (*fn)(struct emu *e, void *arg), void *arg)
{
    struct emu_task t = {fn, e, arg, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    CHECK_OK(tgb_loop_post(e->loop, emu_task_run, &t));
    pthread_mutex_lock(&t.lock);
    while (!t.done)
        pthread_cond_wait(&t.cond, &t.lock);
    pthread_mutex_unlock(&t.lock);
}

static void get_stats_dc2(struct emu *e, void *arg)
{
    tgemu_dc_get_stats(tgemu_server_dc(e->srv, 2), arg);
}

static void set_faults_dc2(struct emu *e, void *arg)
{
    tgemu_dc_set_faults(tgemu_server_dc(e->srv, 2), arg);
}

static uint8_t saved_key[256];
static int keys_seen;

static void on_key(void *user_data, const uint8_t *key, size_t len)
{
    (void)user_data;
    if (len == 256)
        memcpy(saved_key, key, 256);
    keys_seen++;
}

static void settings_for(struct emu *e, tgb_session_settings *st, int transport)
{
    tgb_session_settings_default(st);
    st->dc_id = 2;
    st->host = "127.0.0.1";
    st->port = tgemu_server_port(e->srv, 2);
    st->transport = transport;
    st->rsa_public_keys_pem = tgemu_server_public_pem(e->srv);
    st->api_id = 1;
}

static void nearest_query(tgb_buf *q)
{
    tl_object o = {&tgb_tl_c_help_getNearestDc};
    tgb_buf_init(q, 0);
    CHECK_OK(tgb_tl_encode_object(q, &o, NULL));
}

static void check_nearest(const tgb_rpc_answer *a, int dc)
{
    CHECK_EQ(a->error, 0);
    CHECK_EQ(a->rpc_error_code, 0);
    tgb_arena arena;
    tgb_arena_init(&arena, NULL, 0, 0);
    tl_object *o = NULL;
    CHECK_OK(tgb_tl_decode_object(&tgb_tl_schema_api, &arena, &tgb_tl_t_NearestDc, a->result,
                                  a->result_len, &o, NULL, NULL));
    tl_nearestDc *n = o ? TL_AS(nearestDc, (tl_NearestDc *)o) : NULL;
    CHECK(n && n->this_dc == dc);
    tgb_arena_free(&arena);
}

/* callback form: counts answers, wakes the test */
struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int answers, errors, closed;
};

static void on_answer(void *user_data, const tgb_rpc_answer *a)
{
    struct waiter *w = user_data;
    pthread_mutex_lock(&w->lock);
    w->answers++;
    if (a->error == TGB_ERR_CLOSED)
        w->closed++;
    else if (a->error || a->rpc_error_code)
        w->errors++;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static void test_every_transport_over_tcp(void)
{
    struct emu e;
    CHECK_EQ(emu_start(&e, 2, "runtime-test"), 0);
    tgb_runtime *rt;
    CHECK_OK(tgb_runtime_new(&rt));
    tgb_buf q;
    nearest_query(&q);
    for (size_t i = 0; i < NTRANSPORTS; i++) {
        tgb_session_settings st;
        settings_for(&e, &st, all_transports[i]);
        tgb_runtime_session *rs;
        CHECK_OK(tgb_runtime_session_open(rt, &st, NULL, NULL, &rs));
        /* blocking form */
        tgb_rpc_answer a;
        CHECK_OK(tgb_runtime_call_wait(rs, q.data, q.len, 20000, &a));
        check_nearest(&a, 2);
        tgb_rpc_answer_free(&a);
        /* callback form, 50 at once */
        struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};
        for (int k = 0; k < 50; k++)
            CHECK_OK(tgb_runtime_call(rs, q.data, q.len, on_answer, &w));
        pthread_mutex_lock(&w.lock);
        while (w.answers < 50)
            pthread_cond_wait(&w.cond, &w.lock);
        pthread_mutex_unlock(&w.lock);
        CHECK_EQ(w.errors, 0);
        tgb_runtime_session_close(rs);
    }
    tgemu_dc_stats st;
    emu_sync(&e, get_stats_dc2, &st);
    CHECK_EQ(st.auth_keys, 7);
    CHECK_EQ(st.queries, 7 * 51);
    tgb_buf_free(&q);
    tgb_runtime_del(rt);
    CHECK_EQ(emu_stop(&e), 0);
}

static void test_persisted_key_and_close(void)
{
    struct emu e;
    CHECK_EQ(emu_start(&e, 2, "runtime-test"), 0);
    tgb_runtime *rt;
    CHECK_OK(tgb_runtime_new(&rt));
    tgb_buf q;
    nearest_query(&q);
    tgb_session_settings st;
    settings_for(&e, &st, TGB_TRANSPORT_INTERMEDIATE);
    tgb_session_callbacks cb;
    tgb_session_callbacks_default(&cb);
    cb.auth_key = on_key;
    tgb_runtime_session *rs;
    CHECK_OK(tgb_runtime_session_open(rt, &st, &cb, NULL, &rs));
    tgb_rpc_answer a;
    CHECK_OK(tgb_runtime_call_wait(rs, q.data, q.len, 20000, &a));
    check_nearest(&a, 2);
    tgb_rpc_answer_free(&a);
    tgb_runtime_session_close(rs);
    CHECK_EQ(keys_seen, 1);

    /* reopened with the key: answered, and the DC made no second key */
    st.auth_key = saved_key;
    st.auth_key_len = 256;
    CHECK_OK(tgb_runtime_session_open(rt, &st, &cb, NULL, &rs));
    CHECK_OK(tgb_runtime_call_wait(rs, q.data, q.len, 20000, &a));
    check_nearest(&a, 2);
    tgb_rpc_answer_free(&a);
    tgemu_dc_stats stats;
    emu_sync(&e, get_stats_dc2, &stats);
    CHECK_EQ(stats.auth_keys, 1);
    CHECK_EQ(keys_seen, 1);

    /* requests waiting on a DC that holds answers: closing answers TGB_ERR_CLOSED */
    tgemu_faults slow = {.delay_ms = 60000};
    emu_sync(&e, set_faults_dc2, &slow);
    struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};
    for (int k = 0; k < 5; k++)
        CHECK_OK(tgb_runtime_call(rs, q.data, q.len, on_answer, &w));
    usleep(200000);
    tgb_runtime_session_close(rs);
    pthread_mutex_lock(&w.lock);
    while (w.answers < 5)
        pthread_cond_wait(&w.cond, &w.lock);
    pthread_mutex_unlock(&w.lock);
    CHECK_EQ(w.closed, 5);

    /* the blocking form gives up at its deadline */
    tgb_session_settings dead;
    settings_for(&e, &dead, TGB_TRANSPORT_ABRIDGED);
    dead.port = 1; /* nothing listens: the session keeps retrying in the background */
    CHECK_OK(tgb_runtime_session_open(rt, &dead, NULL, NULL, &rs));
    CHECK_EQ(tgb_runtime_call_wait(rs, q.data, q.len, 300, &a), TGB_ERR_TIMEOUT);
    tgb_runtime_session_close(rs);

    tgb_buf_free(&q);
    tgb_runtime_del(rt); /* with nothing pending, and after a timed-out wait */
    CHECK_EQ(emu_stop(&e), 0);
}

int main(void)
{
    RUN(test_every_transport_over_tcp);
    RUN(test_persisted_key_and_close);
    return check_report();
}
