/*
 * Encrypted RPC round trips (help.getNearestDc, a small request with a small answer)
 * and the memory an idle session costs. Prints figures; not a test.
 *
 *   bench_rpc [seconds-per-case]    (default 2)
 *
 * 1. In process, one thread: the client engine and the emulated DC wired in memory
 *    (tests/engine_rig.h), with one request in flight at a time and with 64. Reports
 *    round trips per second and the microseconds per round trip spent in each side.
 * 2. Over loopback TCP: the emulator on its own thread, the runtime on its own, with
 *    1 connection and with 16 (8 requests in flight on each). Reports round trips per
 *    second, and CPU microseconds per round trip of each thread.
 * 3. Memory: 1000 sessions with a key, connected and idle; heap bytes per session.
 */
#include "crypto/crypto.h"
#include "emu_thread.h"
#include "emulator/server.h"
#include "engine_rig.h"
#include "runtime/loop.h"
#include "tl/tl_api.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const uint8_t query[4] = {0x26, 0x30, 0xb3, 0x1f}; /* help.getNearestDc */

static void nap_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ in process */

struct flow {
    struct rig *r;
    long done;
    int in_flight;
};

static void flow_answer(void *user_data, const tgb_rpc_answer *a)
{
    struct flow *f = user_data;
    if (a->error || a->rpc_error_code) {
        fprintf(stderr, "bench: a request failed\n");
        exit(1);
    }
    f->done++;
    f->in_flight--;
}

static void in_process(int depth, double seconds)
{
    struct rig r;
    rig_init(&r, 7);
    r.no_transcript = 1;
    RIG_MUST(rig_session(&r, TGB_TRANSPORT_INTERMEDIATE, NULL));
    struct flow f = {&r, 0, 0};
    /* the key exchange and first answer, not measured */
    RIG_MUST(tgb_session_call(r.s, query, 4, flow_answer, &f, NULL, r.now));
    f.in_flight++;
    while (f.done < 1)
        pump_once(&r);
    f.done = 0;
    r.timed = 1;
    double t0 = wall(), t;
    do {
        for (int k = 0; k < 100; k++) {
            while (f.in_flight < depth) {
                /* the client encrypts inside the call: its time counts as the client's */
                int64_t c0 = rig_clock_ns();
                RIG_MUST(tgb_session_call(r.s, query, 4, flow_answer, &f, NULL, r.now));
                r.client_ns += rig_clock_ns() - c0;
                f.in_flight++;
            }
            pump_once(&r);
        }
        t = wall() - t0;
    } while (t < seconds);
    printf("in process, %2d in flight  %9.0f round trips/s  %6.2f us each: client %.2f, "
           "DC %.2f\n",
           depth, (double)f.done / t, t * 1e6 / (double)f.done,
           (double)r.client_ns / 1e3 / (double)f.done, (double)r.dc_ns / 1e3 / (double)f.done);
    rig_free(&r);
}

/* ------------------------------------------------------------------ loopback TCP */

struct tcp_flow {
    tgb_runtime_session *rs;
    atomic_long *done;
    atomic_int *stop;
    atomic_long *runtime_cpu_ns; /* sampled on the runtime's thread */
};

static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Each answer sends the next request: a closed loop per in-flight slot. */
static void tcp_answer(void *user_data, const tgb_rpc_answer *a)
{
    struct tcp_flow *f = user_data;
    if (a->error || a->rpc_error_code) {
        fprintf(stderr, "bench: a request failed over TCP\n");
        exit(1);
    }
    atomic_fetch_add(f->done, 1);
    atomic_store(f->runtime_cpu_ns, thread_cpu_ns());
    if (!atomic_load(f->stop))
        tgb_runtime_call(f->rs, query, 4, tcp_answer, f);
}

static void emu_cpu(void *arg)
{
    *(int64_t *)arg = thread_cpu_ns();
}

static int64_t emu_thread_cpu(struct emu *e)
{
    int64_t v = -1;
    tgb_loop_post(e->loop, emu_cpu, &v);
    while (*(volatile int64_t *)&v < 0)
        nap_us(1000);
    return v;
}

static void over_tcp(struct emu *e, int connections, int depth, double seconds)
{
    tgb_runtime *rt;
    RIG_MUST(tgb_runtime_new(&rt));
    tgb_runtime_session **rs = calloc((size_t)connections, sizeof(*rs));
    struct tcp_flow *flows = calloc((size_t)(connections * depth), sizeof(*flows));
    atomic_long done = 0, runtime_cpu = 0;
    atomic_int stop = 0;
    for (int i = 0; i < connections; i++) {
        tgb_session_settings st;
        tgb_session_settings_default(&st);
        st.dc_id = 1;
        st.host = "127.0.0.1";
        st.port = tgemu_server_port(e->srv, 1);
        st.rsa_public_keys_pem = tgemu_server_public_pem(e->srv);
        RIG_MUST(tgb_runtime_session_open(rt, &st, NULL, NULL, &rs[i]));
        tgb_rpc_answer a; /* key exchange first */
        RIG_MUST(tgb_runtime_call_wait(rs[i], query, 4, 30000, &a));
        tgb_rpc_answer_free(&a);
    }
    /* the runtime thread's CPU time before: from a callback running on it */
    tgb_rpc_answer a;
    RIG_MUST(tgb_runtime_call_wait(rs[0], query, 4, 30000, &a));
    tgb_rpc_answer_free(&a);
    struct tcp_flow probe = {rs[0], &done, &stop, &runtime_cpu};
    atomic_store(&stop, 1);
    RIG_MUST(tgb_runtime_call(rs[0], query, 4, tcp_answer, &probe));
    while (atomic_load(&done) < 1)
        nap_us(1000);
    int64_t rt_cpu0 = atomic_load(&runtime_cpu), emu_cpu0 = emu_thread_cpu(e);
    atomic_store(&done, 0);
    atomic_store(&stop, 0);

    double t0 = wall();
    for (int i = 0; i < connections; i++) {
        for (int k = 0; k < depth; k++) {
            struct tcp_flow *f = &flows[i * depth + k];
            *f = (struct tcp_flow){rs[i], &done, &stop, &runtime_cpu};
            RIG_MUST(tgb_runtime_call(rs[i], query, 4, tcp_answer, f));
        }
    }
    nap_us((long)(seconds * 1e6));
    long n = atomic_load(&done);
    double t = wall() - t0;
    int64_t rt_cpu = atomic_load(&runtime_cpu) - rt_cpu0, emu_cpu1 = emu_thread_cpu(e) - emu_cpu0;
    atomic_store(&stop, 1);
    nap_us(200000);
    printf("loopback TCP, %2d conn x %d  %9.0f round trips/s  CPU us each: runtime %.2f, "
           "emulator %.2f\n",
           connections, depth, (double)n / t, (double)rt_cpu / 1e3 / (double)n,
           (double)emu_cpu1 / 1e3 / (double)n);
    for (int i = 0; i < connections; i++)
        tgb_runtime_session_close(rs[i]);
    tgb_runtime_del(rt);
    free(rs);
    free(flows);
}

/* ------------------------------------------------------------------ memory */

/*
 * 1000 sessions with a key, each connected (in memory) to one emulated DC that knows
 * the key; each sends its first ping and reads the pong, then idles. The DC is then
 * deleted whole, so what the heap still holds is the sessions' own.
 */
struct idle {
    tgb_session *s;
    uint64_t conn;
    tgemu_conn *dc_conn;
};

static tgemu_dc *memory_dc;

static int idle_connect(void *user_data, uint64_t conn, const char *host, int port)
{
    (void)host, (void)port;
    struct idle *c = user_data;
    c->conn = conn;
    return tgemu_conn_new(memory_dc, &c->dc_conn, c, 0);
}

static void idle_close(void *user_data, uint64_t conn)
{
    (void)user_data, (void)conn;
}

static void dc_close_ignore(void *user_data, tgemu_conn *conn)
{
    (void)user_data, (void)conn;
}

static void memory(void)
{
    enum { N = 1000 };
    uint8_t key[256], secret[32] = {0};
    tgb_random_bytes(NULL, key, 256);
    tgemu_dc_config dcfg = {1, server_key, NULL, NULL, 0, secret};
    tgemu_dc_callbacks dcb = {NULL, dc_close_ignore, NULL, NULL};
    RIG_MUST(tgemu_dc_new(&memory_dc, &dcfg, &dcb, NULL, 0));
    RIG_MUST(tgemu_dc_add_key(memory_dc, key, 0, 0));
    static struct idle idle[N];
    tgb_session_settings st;
    tgb_session_settings_default(&st);
    st.dc_id = 1;
    st.host = "127.0.0.1";
    st.rsa_public_keys_pem = server_pem;
    st.auth_key = key;
    st.auth_key_len = 256;
    tgb_session_callbacks cb;
    tgb_session_callbacks_default(&cb);
    cb.connect = idle_connect;
    cb.close = idle_close;
    tgb_time now = tgb_clock_now();
    malloc_trim(0);
    size_t before = mallinfo2().uordblks;
    for (int i = 0; i < N; i++) {
        struct idle *c = &idle[i];
        RIG_MUST(tgb_session_new(&c->s, &st, &cb, c, now));
        RIG_MUST(tgb_session_connected(c->s, c->conn, now));
        for (int round = 0; round < 4; round++) { /* ping out, pong (and salt) back */
            const uint8_t *data;
            size_t n = tgb_session_pending(c->s, c->conn, &data);
            if (n) {
                tgemu_conn_recv(c->dc_conn, data, n, now);
                tgb_session_sent(c->s, c->conn, n, now);
            }
            n = tgemu_conn_pending(c->dc_conn, &data);
            if (n) {
                tgb_session_recv(c->s, c->conn, data, n, now);
                tgemu_conn_sent(c->dc_conn, n);
            }
        }
    }
    for (int i = 0; i < N; i++)
        tgemu_conn_del(idle[i].dc_conn, now);
    tgemu_dc_del(memory_dc);
    malloc_trim(0);
    size_t after = mallinfo2().uordblks;
    printf("memory: %zu bytes of heap per idle session (1000 sessions with a key, connected, "
           "after their first ping and pong)\n",
           (after - before) / N);
    for (int i = 0; i < N; i++)
        tgb_session_del(idle[i].s);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    if (seconds <= 0)
        seconds = 2.0;
    RIG_MUST(tgb_rsa_key_generate(&server_key));
    RIG_MUST(tgb_rsa_key_public_pem(server_key, &server_pem, NULL));
    printf("MTProto round trips (help.getNearestDc), %.1f s per case\n", seconds);
    in_process(1, seconds);
    in_process(64, seconds);

    struct emu e;
    if (emu_start(&e, 1, "bench") != 0)
        return 1;
    over_tcp(&e, 1, 1, seconds);
    over_tcp(&e, 1, 64, seconds);
    over_tcp(&e, 16, 8, seconds);
    if (emu_stop(&e) != 0)
        return 1;

    memory();
    tgb_rsa_key_del(server_key);
    free(server_pem);
    return 0;
}
