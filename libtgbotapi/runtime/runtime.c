/*
 * tgb_runtime: the default host of tgb_session (see include/tgbotapi/tgbotapi.h). One
 * thread runs a tgb_loop; every public call posts a task to it, so sessions are only
 * ever touched by that thread, as the engine requires.
 *
 * Per session it does the host's work the engine asks for: opens non-blocking TCP
 * connections, feeds received bytes in, writes out pending bytes (watching for
 * writability only while some are pending), keeps one timer at the engine's next
 * deadline, and supplies OpenSSL randomness.
 */
#define _GNU_SOURCE
#include "runtime/loop.h"

#include <tgbotapi/tgbotapi.h>

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct tgb_runtime {
    tgb_loop *loop;
    pthread_t thread;
    struct tgb_runtime_session *sessions; /* open ones, for tgb_runtime_del */
};

/* The one TCP connection a session has at a time. */
struct rconn {
    struct tgb_runtime_session *rs;
    uint64_t id;
    tgb_loop_io io;
    int connecting;
};

struct tgb_runtime_session {
    tgb_runtime *rt;
    tgb_session *s;
    tgb_session_callbacks user_cb;
    void *user_data;
    struct rconn *conn;
    tgb_loop_timer timer;
    struct tgb_runtime_session *prev, *next;
};

/* ------------------------------------------------------------------ sockets */

static void reschedule(struct tgb_runtime_session *rs)
{
    tgb_loop_timer_set(rs->rt->loop, &rs->timer, tgb_session_next_timeout(rs->s));
}

/* Writes what the session has pending; watches for writability while some remains. */
static void flush(struct tgb_runtime_session *rs)
{
    struct rconn *c = rs->conn;
    if (!c || c->connecting)
        return;
    tgb_loop *loop = rs->rt->loop;
    for (;;) {
        const uint8_t *data;
        size_t n = tgb_session_pending(rs->s, c->id, &data);
        if (!n)
            break;
        ssize_t w = send(c->io.fd, data, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                tgb_loop_io_modify(loop, &c->io, TGB_LOOP_READ | TGB_LOOP_WRITE);
                return;
            }
            /* the read side will see the error and report it */
            break;
        }
        tgb_session_sent(rs->s, c->id, (size_t)w, tgb_loop_now(loop));
    }
    tgb_loop_io_modify(loop, &c->io, TGB_LOOP_READ);
}

/* The connection is gone from our side: tell the engine (which reconnects later). */
static void conn_lost(struct tgb_runtime_session *rs, struct rconn *c)
{
    uint64_t id = c->id;
    int fd = c->io.fd;
    tgb_loop_io_stop(rs->rt->loop, &c->io);
    close(fd);
    free(c);
    rs->conn = NULL;
    tgb_session_closed(rs->s, id, tgb_loop_now(rs->rt->loop));
}

static void conn_io(tgb_loop *loop, tgb_loop_io *io, int events)
{
    struct rconn *c = io->data;
    struct tgb_runtime_session *rs = c->rs;
    tgb_time now = tgb_loop_now(loop);
    if (c->connecting) {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
            conn_lost(rs, c);
            reschedule(rs);
            return;
        }
        c->connecting = 0;
        tgb_loop_io_modify(loop, io, TGB_LOOP_READ);
        tgb_session_connected(rs->s, c->id, now);
        flush(rs);
        reschedule(rs);
        return;
    }
    if (events & TGB_LOOP_READ) {
        uint8_t buf[65536];
        for (;;) {
            ssize_t n = recv(io->fd, buf, sizeof(buf), 0);
            if (n > 0) {
                uint64_t id = c->id;
                tgb_session_recv(rs->s, id, buf, (size_t)n, now);
                if (rs->conn != c) /* the engine closed it while handling the bytes */
                    break;
                if ((size_t)n < sizeof(buf))
                    break;
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            conn_lost(rs, c); /* EOF or error */
            reschedule(rs);
            return;
        }
    }
    flush(rs);
    reschedule(rs);
}

static void engine_close(void *user_data, uint64_t id);

/* Engine callback: open connection `id` to host:port. */
static int engine_connect(void *user_data, uint64_t id, const char *host, int port)
{
    struct tgb_runtime_session *rs = user_data;
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    /* DC addresses are literals; a host name is resolved here, blocking the loop */
    if (getaddrinfo(host, service, &hints, &res) != 0 || !res)
        return TGB_ERR_INVALID;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(res);
        return TGB_ERR_NOMEM;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int rc = connect(fd, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (rc < 0 && errno != EINPROGRESS) {
        close(fd);
        return TGB_ERR_INVALID;
    }
    struct rconn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return TGB_ERR_NOMEM;
    }
    c->rs = rs;
    c->id = id;
    c->connecting = 1;
    if (tgb_loop_io_start(rs->rt->loop, &c->io, fd, TGB_LOOP_WRITE, conn_io, c) != 0) {
        close(fd);
        free(c);
        return TGB_ERR_NOMEM;
    }
    if (rs->conn) /* the engine moved on from an older one without closing it */
        engine_close(rs, rs->conn->id);
    rs->conn = c;
    return 0;
}

/* Engine callback: close connection `id`. */
static void engine_close(void *user_data, uint64_t id)
{
    struct tgb_runtime_session *rs = user_data;
    struct rconn *c = rs->conn;
    if (!c || c->id != id)
        return;
    int fd = c->io.fd;
    tgb_loop_io_stop(rs->rt->loop, &c->io);
    close(fd);
    free(c);
    rs->conn = NULL;
}

static void engine_want_write(void *user_data, uint64_t id)
{
    (void)user_data, (void)id; /* flush() runs after every call into the engine */
}

static void forward_update(void *user_data, const uint8_t *tl, size_t len)
{
    struct tgb_runtime_session *rs = user_data;
    if (rs->user_cb.update)
        rs->user_cb.update(rs->user_data, tl, len);
}

static void forward_auth_key(void *user_data, const uint8_t *key, size_t len)
{
    struct tgb_runtime_session *rs = user_data;
    if (rs->user_cb.auth_key)
        rs->user_cb.auth_key(rs->user_data, key, len);
}

static void forward_log(void *user_data, int level, const char *line)
{
    struct tgb_runtime_session *rs = user_data;
    if (rs->user_cb.log)
        rs->user_cb.log(rs->user_data, level, line);
}

static void session_timer(tgb_loop *loop, tgb_loop_timer *t)
{
    struct tgb_runtime_session *rs = t->data;
    tgb_session_timeout(rs->s, tgb_loop_now(loop));
    flush(rs);
    reschedule(rs);
}

/* ------------------------------------------------------------------ cross-thread calls */

/* A call from another thread, carried to the loop and waited for. */
struct sync_task {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    int rc;
};

static void sync_init(struct sync_task *t)
{
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->cond, NULL);
    t->done = 0;
    t->rc = 0;
}

static void sync_finish(struct sync_task *t, int rc)
{
    pthread_mutex_lock(&t->lock);
    t->rc = rc;
    t->done = 1;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

static int sync_wait(struct sync_task *t)
{
    pthread_mutex_lock(&t->lock);
    while (!t->done)
        pthread_cond_wait(&t->cond, &t->lock);
    pthread_mutex_unlock(&t->lock);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->cond);
    return t->rc;
}

static int on_loop_thread(const tgb_runtime *rt)
{
    return pthread_equal(pthread_self(), rt->thread);
}

/* ------------------------------------------------------------------ runtime */

static void *run(void *arg)
{
    tgb_runtime *rt = arg;
    tgb_loop_run(rt->loop);
    return NULL;
}

int tgb_runtime_new(tgb_runtime **out)
{
    if (!out)
        return TGB_ERR_INVALID;
    tgb_runtime *rt = calloc(1, sizeof(*rt));
    if (!rt)
        return TGB_ERR_NOMEM;
    int rc = tgb_loop_new(&rt->loop);
    if (rc) {
        free(rt);
        return rc;
    }
    if (pthread_create(&rt->thread, NULL, run, rt) != 0) {
        tgb_loop_del(rt->loop);
        free(rt);
        return TGB_ERR_NOMEM;
    }
    *out = rt;
    return 0;
}

static void session_destroy(struct tgb_runtime_session *rs)
{
    tgb_runtime *rt = rs->rt;
    tgb_loop_timer_stop(rt->loop, &rs->timer);
    tgb_session_del(rs->s); /* closes the connection through engine_close */
    if (rs->conn)
        engine_close(rs, rs->conn->id);
    if (rs->prev)
        rs->prev->next = rs->next;
    else
        rt->sessions = rs->next;
    if (rs->next)
        rs->next->prev = rs->prev;
    free(rs);
}

static void stop_task(void *data)
{
    tgb_runtime *rt = data;
    while (rt->sessions)
        session_destroy(rt->sessions);
    tgb_loop_stop(rt->loop);
}

void tgb_runtime_del(tgb_runtime *rt)
{
    if (!rt)
        return;
    if (tgb_loop_post(rt->loop, stop_task, rt) != 0)
        tgb_loop_stop(rt->loop); /* out of memory: sessions leak, the thread still ends */
    pthread_join(rt->thread, NULL);
    tgb_loop_del(rt->loop);
    free(rt);
}

struct open_task {
    struct sync_task sync;
    tgb_runtime *rt;
    const tgb_session_settings *settings;
    struct tgb_runtime_session *rs;
};

static void open_on_loop(void *data)
{
    struct open_task *t = data;
    struct tgb_runtime_session *rs = t->rs;
    tgb_session_callbacks cb;
    tgb_session_callbacks_default(&cb);
    cb.connect = engine_connect;
    cb.close = engine_close;
    cb.want_write = engine_want_write;
    cb.random = NULL; /* OpenSSL's */
    cb.update = forward_update;
    cb.auth_key = forward_auth_key;
    cb.log = forward_log;
    tgb_loop_timer_init(&rs->timer, session_timer, rs);
    int rc = tgb_session_new(&rs->s, t->settings, &cb, rs, tgb_clock_now());
    if (!rc) {
        rs->next = t->rt->sessions;
        if (rs->next)
            rs->next->prev = rs;
        t->rt->sessions = rs;
        flush(rs);
        reschedule(rs);
    }
    sync_finish(&t->sync, rc);
}

int tgb_runtime_session_open(tgb_runtime *rt, const tgb_session_settings *settings,
                             const tgb_session_callbacks *callbacks, void *user_data,
                             tgb_runtime_session **out)
{
    if (!rt || !settings || !out)
        return TGB_ERR_INVALID;
    if (on_loop_thread(rt))
        return TGB_ERR_REENTRANT;
    struct tgb_runtime_session *rs = calloc(1, sizeof(*rs));
    if (!rs)
        return TGB_ERR_NOMEM;
    rs->rt = rt;
    rs->user_data = user_data;
    if (callbacks)
        rs->user_cb = *callbacks;
    struct open_task t = {.rt = rt, .settings = settings, .rs = rs};
    sync_init(&t.sync);
    int rc = tgb_loop_post(rt->loop, open_on_loop, &t);
    if (rc) {
        free(rs);
        return rc;
    }
    rc = sync_wait(&t.sync);
    if (rc) {
        free(rs);
        return rc;
    }
    *out = rs;
    return 0;
}

static void close_on_loop(void *data)
{
    session_destroy(data);
}

void tgb_runtime_session_close(tgb_runtime_session *rs)
{
    if (!rs)
        return;
    if (on_loop_thread(rs->rt))
        session_destroy(rs);
    else
        tgb_loop_post(rs->rt->loop, close_on_loop, rs);
}

/* tgb_runtime_call: the query travels to the loop in one allocation. */
struct call_task {
    struct tgb_runtime_session *rs;
    tgb_rpc_callback cb;
    void *user_data;
    size_t len;
    uint8_t query[];
};

static void call_on_loop(void *data)
{
    struct call_task *t = data;
    struct tgb_runtime_session *rs = t->rs;
    tgb_time now = tgb_loop_now(rs->rt->loop);
    int rc = tgb_session_call(rs->s, t->query, t->len, t->cb, t->user_data, NULL, now);
    if (rc) {
        /* the caller was already told "sent": it gets the error as the answer */
        tgb_rpc_answer a = {0};
        a.error = rc;
        t->cb(t->user_data, &a);
    }
    flush(rs);
    reschedule(rs);
    free(t);
}

int tgb_runtime_call(tgb_runtime_session *rs, const uint8_t *query, size_t len,
                     tgb_rpc_callback callback, void *user_data)
{
    if (!rs || !query || len < 4 || len % 4 || !callback)
        return TGB_ERR_INVALID;
    struct call_task *t = malloc(sizeof(*t) + len);
    if (!t)
        return TGB_ERR_NOMEM;
    t->rs = rs;
    t->cb = callback;
    t->user_data = user_data;
    t->len = len;
    memcpy(t->query, query, len);
    if (on_loop_thread(rs->rt)) {
        call_on_loop(t);
        return 0;
    }
    int rc = tgb_loop_post(rs->rt->loop, call_on_loop, t);
    if (rc)
        free(t);
    return rc;
}

/* tgb_runtime_call_wait: an answer copied for the waiting thread. */
struct wait_state {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    int abandoned; /* the waiter timed out and left: the callback frees this */
    tgb_rpc_answer answer;
    int rc;
};

static void copy_answer(struct wait_state *w, const tgb_rpc_answer *a)
{
    w->answer.error = a->error;
    w->answer.rpc_error_code = a->rpc_error_code;
    if (a->result_len) {
        uint8_t *r = malloc(a->result_len);
        if (r) {
            memcpy(r, a->result, a->result_len);
            w->answer.result = r;
            w->answer.result_len = a->result_len;
        } else {
            w->rc = TGB_ERR_NOMEM;
        }
    }
    if (a->rpc_error_message) {
        size_t n = strlen(a->rpc_error_message) + 1;
        char *m = malloc(n);
        if (m) {
            memcpy(m, a->rpc_error_message, n);
            w->answer.rpc_error_message = m;
        } else {
            w->rc = TGB_ERR_NOMEM;
        }
    }
}

static void wait_callback(void *user_data, const tgb_rpc_answer *a)
{
    struct wait_state *w = user_data;
    pthread_mutex_lock(&w->lock);
    if (w->abandoned) {
        pthread_mutex_unlock(&w->lock);
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->cond);
        free(w);
        return;
    }
    copy_answer(w, a);
    w->done = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

int tgb_runtime_call_wait(tgb_runtime_session *rs, const uint8_t *query, size_t len, int timeout_ms,
                          tgb_rpc_answer *answer)
{
    if (!rs || !answer)
        return TGB_ERR_INVALID;
    if (on_loop_thread(rs->rt))
        return TGB_ERR_REENTRANT;
    memset(answer, 0, sizeof(*answer));
    struct wait_state *w = calloc(1, sizeof(*w));
    if (!w)
        return TGB_ERR_NOMEM;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    int rc = tgb_runtime_call(rs, query, len, wait_callback, w);
    if (rc) {
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->cond);
        free(w);
        return rc;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&w->lock);
    while (!w->done) {
        if (timeout_ms <= 0) {
            pthread_cond_wait(&w->cond, &w->lock);
        } else if (pthread_cond_timedwait(&w->cond, &w->lock, &deadline) == ETIMEDOUT) {
            /* the answer may still come: the callback frees the state then */
            w->abandoned = 1;
            pthread_mutex_unlock(&w->lock);
            return TGB_ERR_TIMEOUT;
        }
    }
    pthread_mutex_unlock(&w->lock);
    *answer = w->answer;
    rc = w->rc;
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w);
    if (rc)
        tgb_rpc_answer_free(answer);
    return rc;
}

void tgb_rpc_answer_free(tgb_rpc_answer *answer)
{
    if (!answer)
        return;
    free((void *)answer->result);
    free((void *)answer->rpc_error_message);
    answer->result = NULL;
    answer->result_len = 0;
    answer->rpc_error_message = NULL;
}
