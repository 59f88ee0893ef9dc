/* The emulator's network service: sockets, state directory, DCs; see server.h. */
#define _GNU_SOURCE
#include "emulator/server.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_RECORD 272 /* dc_id 4, temp 4, expires_at 8, key 256 */

struct srv_dc {
    tgemu_server *srv;
    tgemu_dc *dc;
    int id;
    int port;
    tgb_loop_io listen_io;
};

struct srv_conn {
    tgemu_server *srv;
    tgemu_conn *conn;
    tgb_loop_io io;
    int closed;
    struct srv_conn *prev, *next;
};

struct tgemu_server {
    tgb_loop *loop;
    struct srv_dc *dcs;
    int ndcs;
    tgb_rsa_key *key;
    char *public_pem;
    char *dir;
    int keys_fd;
    uint8_t salt_secret[32];
    tgb_loop_timer timer;
    struct srv_conn *conns;
    struct srv_conn *zombies; /* closed, freed by reap() once out of the DC's calls */
    void (*log)(void *user_data, int level, const char *line);
    void *user_data;
};

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
srv_log(tgemu_server *s, int level, const char *fmt, ...)
{
    if (!s->log)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    s->log(s->user_data, level, line);
}

/* ------------------------------------------------------------------ state files */

static char *path_in(const tgemu_server *s, const char *name)
{
    size_t n = strlen(s->dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", s->dir, name);
    return p;
}

static int read_file(const char *path, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? 1 : TGB_ERR_INVALID;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        cap *= 2;
        char *p = realloc(buf, cap + 1);
        if (!p) {
            free(buf);
            buf = NULL;
        }
        buf = p;
    }
    fclose(f);
    if (!buf)
        return TGB_ERR_NOMEM;
    buf[n] = 0;
    *data = buf;
    *len = n;
    return 0;
}

/* Writes a file whole, through a temporary name, so a crash never leaves half of it. */
static int write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    size_t n = strlen(path) + 5;
    char *tmp = malloc(n);
    if (!tmp)
        return TGB_ERR_NOMEM;
    snprintf(tmp, n, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    int ok = fd >= 0 && write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    ok = ok && rename(tmp, path) == 0;
    free(tmp);
    return ok ? 0 : TGB_ERR_INVALID;
}

/* The RSA key: read, or generated and written on first start; public.pem every start. */
static int load_rsa(tgemu_server *s)
{
    char *path = path_in(s, "server_key.pem"), *pub_path = path_in(s, "public.pem");
    char *pem = NULL;
    size_t len = 0;
    int rc = path && pub_path ? read_file(path, &pem, &len) : TGB_ERR_NOMEM;
    if (rc == 0) {
        rc = tgb_rsa_key_from_pem(&s->key, pem, len);
        free(pem);
    } else if (rc == 1) {
        srv_log(s, 3, "generating the emulator's RSA key in %s", path);
        rc = tgb_rsa_key_generate(&s->key);
        if (!rc)
            rc = tgb_rsa_key_private_pem(s->key, &pem, &len);
        if (!rc) {
            rc = write_file(path, pem, len, 0600);
            memset(pem, 0, len);
            free(pem);
        }
    }
    if (!rc)
        rc = tgb_rsa_key_public_pem(s->key, &s->public_pem, &len);
    if (!rc)
        rc = write_file(pub_path, s->public_pem, len, 0644);
    free(path);
    free(pub_path);
    return rc;
}

static int load_salt_secret(tgemu_server *s)
{
    char *path = path_in(s, "salt_secret");
    if (!path)
        return TGB_ERR_NOMEM;
    char *data = NULL;
    size_t len = 0;
    int rc = read_file(path, &data, &len);
    if (rc == 0 && len == 32) {
        memcpy(s->salt_secret, data, 32);
    } else {
        rc = tgb_random_bytes(NULL, s->salt_secret, 32);
        if (!rc)
            rc = write_file(path, s->salt_secret, 32, 0600);
    }
    free(data);
    free(path);
    return rc;
}

static int load_auth_keys(tgemu_server *s)
{
    char *path = path_in(s, "auth_keys");
    if (!path)
        return TGB_ERR_NOMEM;
    char *data = NULL;
    size_t len = 0;
    int rc = read_file(path, &data, &len);
    if (rc == 0) {
        size_t n = 0;
        /* a torn last record (a crash mid-write) is ignored */
        for (size_t off = 0; off + KEY_RECORD <= len; off += KEY_RECORD, n++) {
            const uint8_t *r = (const uint8_t *)data + off;
            int dc = (int)tgb_le32(r);
            if (dc >= 1 && dc <= s->ndcs)
                tgemu_dc_add_key(s->dcs[dc - 1].dc, r + 16, (int)tgb_le32(r + 4),
                                 (int64_t)tgb_le64(r + 8));
        }
        memset(data, 0, len);
        free(data);
        srv_log(s, 3, "restored %zu auth keys", n);
    }
    s->keys_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    free(path);
    return s->keys_fd >= 0 ? 0 : TGB_ERR_INVALID;
}

/* ------------------------------------------------------------------ DC callbacks */

static void reschedule(tgemu_server *s)
{
    tgb_time t = TGB_TIME_NEVER;
    for (int i = 0; i < s->ndcs; i++) {
        tgb_time d = tgemu_dc_next_timeout(s->dcs[i].dc);
        if (d < t)
            t = d;
    }
    tgb_loop_timer_set(s->loop, &s->timer, t);
}

static void conn_flush(struct srv_conn *c)
{
    if (c->closed)
        return;
    for (;;) {
        const uint8_t *data;
        size_t n = tgemu_conn_pending(c->conn, &data);
        if (!n)
            break;
        ssize_t w = send(c->io.fd, data, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                tgb_loop_io_modify(c->srv->loop, &c->io, TGB_LOOP_READ | TGB_LOOP_WRITE);
                return;
            }
            break; /* the read side sees the error */
        }
        tgemu_conn_sent(c->conn, (size_t)w);
    }
    tgb_loop_io_modify(c->srv->loop, &c->io, TGB_LOOP_READ);
}

/* Frees closed connections; only outside calls into the DC, which may still hold them. */
static void reap(tgemu_server *s)
{
    while (s->zombies) {
        struct srv_conn *c = s->zombies;
        s->zombies = c->next;
        tgemu_conn_del(c->conn, tgb_loop_now(s->loop));
        free(c);
    }
}

/* Closes the socket now; the DC's record goes once the current call into it returned. */
static void conn_close(struct srv_conn *c)
{
    if (c->closed)
        return;
    c->closed = 1;
    int fd = c->io.fd;
    tgb_loop_io_stop(c->srv->loop, &c->io);
    close(fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        c->srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = c->srv->zombies;
    c->srv->zombies = c;
}

static void dc_want_write(void *user_data, tgemu_conn *conn)
{
    (void)user_data;
    conn_flush(tgemu_conn_data(conn));
}

static void dc_close(void *user_data, tgemu_conn *conn)
{
    (void)user_data;
    conn_close(tgemu_conn_data(conn));
}

static void dc_auth_key(void *user_data, const uint8_t key[256], int temp, int64_t expires_at)
{
    struct srv_dc *d = user_data;
    uint8_t r[KEY_RECORD];
    tgb_put_le32(r, (uint32_t)d->id);
    tgb_put_le32(r + 4, (uint32_t)temp);
    tgb_put_le64(r + 8, (uint64_t)expires_at);
    memcpy(r + 16, key, 256);
    if (write(d->srv->keys_fd, r, sizeof(r)) != (ssize_t)sizeof(r) ||
        fdatasync(d->srv->keys_fd) != 0)
        srv_log(d->srv, 1, "cannot save an auth key: %s", strerror(errno));
    memset(r, 0, sizeof(r));
}

static void dc_log(void *user_data, int level, const char *line)
{
    struct srv_dc *d = user_data;
    if (d->srv->log)
        d->srv->log(d->srv->user_data, level, line);
}

/* ------------------------------------------------------------------ sockets */

static void conn_io(tgb_loop *loop, tgb_loop_io *io, int events)
{
    struct srv_conn *c = io->data;
    tgemu_server *s = c->srv;
    if (events & TGB_LOOP_READ) {
        uint8_t buf[65536];
        for (;;) {
            ssize_t n = recv(io->fd, buf, sizeof(buf), 0);
            if (n > 0) {
                tgemu_conn_recv(c->conn, buf, (size_t)n, tgb_loop_now(loop));
                if (c->closed || (size_t)n < sizeof(buf))
                    break;
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            conn_close(c); /* EOF or error */
            break;
        }
    }
    if (!c->closed)
        conn_flush(c);
    reap(s);
    reschedule(s);
}

static void accept_io(tgb_loop *loop, tgb_loop_io *io, int events)
{
    (void)events;
    struct srv_dc *d = io->data;
    for (;;) {
        int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or a transient error: the next event retries */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        struct srv_conn *c = calloc(1, sizeof(*c));
        if (!c || tgemu_conn_new(d->dc, &c->conn, c, tgb_loop_now(loop)) != 0) {
            free(c);
            close(fd);
            continue;
        }
        c->srv = d->srv;
        if (tgb_loop_io_start(loop, &c->io, fd, TGB_LOOP_READ, conn_io, c) != 0) {
            tgemu_conn_del(c->conn, tgb_loop_now(loop));
            free(c);
            close(fd);
            continue;
        }
        c->next = d->srv->conns;
        if (c->next)
            c->next->prev = c;
        d->srv->conns = c;
    }
}

static void timer_cb(tgb_loop *loop, tgb_loop_timer *t)
{
    tgemu_server *s = t->data;
    for (int i = 0; i < s->ndcs; i++)
        tgemu_dc_timeout(s->dcs[i].dc, tgb_loop_now(loop));
    reap(s);
    reschedule(s);
}

static int listen_on(const char *host, int port, int *bound_port)
{
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    socklen_t len = sizeof(addr);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 1024) < 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
        close(fd);
        return -1;
    }
    *bound_port = ntohs(addr.sin_port);
    return fd;
}

/* ------------------------------------------------------------------ server */

int tgemu_server_new(tgemu_server **out, tgb_loop *loop, const tgemu_server_config *cfg)
{
    if (!out || !loop || !cfg || !cfg->dir)
        return TGB_ERR_INVALID;
    tgemu_server *s = calloc(1, sizeof(*s));
    if (!s)
        return TGB_ERR_NOMEM;
    s->loop = loop;
    s->keys_fd = -1;
    s->log = cfg->log;
    s->user_data = cfg->user_data;
    s->ndcs = cfg->ndcs > 0 ? cfg->ndcs : 3;
    s->dir = strdup(cfg->dir);
    s->dcs = calloc((size_t)s->ndcs, sizeof(*s->dcs));
    tgb_loop_timer_init(&s->timer, timer_cb, s);
    int rc = s->dir && s->dcs ? 0 : TGB_ERR_NOMEM;
    for (int i = 0; i < s->ndcs && s->dcs; i++)
        s->dcs[i].listen_io.fd = -1;
    if (!rc && mkdir(s->dir, 0700) != 0 && errno != EEXIST)
        rc = TGB_ERR_INVALID;
    if (!rc)
        rc = load_rsa(s);
    if (!rc)
        rc = load_salt_secret(s);

    /* bind every port first: help.getConfig must list them all */
    const char *host = cfg->host ? cfg->host : "127.0.0.1";
    int *fds = calloc((size_t)s->ndcs, sizeof(int));
    tgemu_dc_option *opts = calloc((size_t)s->ndcs, sizeof(*opts));
    if (!rc && (!fds || !opts))
        rc = TGB_ERR_NOMEM;
    for (int i = 0; !rc && i < s->ndcs; i++) {
        fds[i] = listen_on(host, cfg->port ? cfg->port + i : 0, &s->dcs[i].port);
        if (fds[i] < 0) {
            srv_log(s, 1, "cannot listen on %s:%d: %s", host, cfg->port ? cfg->port + i : 0,
                    strerror(errno));
            for (int k = 0; k < i; k++)
                close(fds[k]);
            rc = TGB_ERR_INVALID;
            break;
        }
        opts[i] = (tgemu_dc_option){i + 1, host, s->dcs[i].port};
    }
    for (int i = 0; !rc && i < s->ndcs; i++) {
        struct srv_dc *d = &s->dcs[i];
        d->srv = s;
        d->id = i + 1;
        tgemu_dc_config dc_cfg = {d->id, s->key, NULL, opts, (size_t)s->ndcs, s->salt_secret};
        tgemu_dc_callbacks cb = {dc_want_write, dc_close, dc_auth_key, dc_log};
        rc = tgemu_dc_new(&d->dc, &dc_cfg, &cb, d, tgb_loop_now(loop));
        if (!rc)
            rc = tgb_loop_io_start(loop, &d->listen_io, fds[i], TGB_LOOP_READ, accept_io, d);
        if (rc) {
            for (int k = i; k < s->ndcs; k++)
                close(fds[k]);
        }
    }
    free(fds);
    free(opts);
    if (!rc)
        rc = load_auth_keys(s);
    if (rc) {
        tgemu_server_del(s);
        return rc;
    }
    *out = s;
    return 0;
}

void tgemu_server_del(tgemu_server *s)
{
    if (!s)
        return;
    while (s->conns) {
        struct srv_conn *c = s->conns;
        conn_close(c);
    }
    for (int i = 0; s->dcs && i < s->ndcs; i++) {
        struct srv_dc *d = &s->dcs[i];
        if (d->listen_io.fd >= 0) {
            int fd = d->listen_io.fd;
            tgb_loop_io_stop(s->loop, &d->listen_io);
            close(fd);
        }
    }
    tgb_loop_timer_stop(s->loop, &s->timer);
    reap(s);
    for (int i = 0; s->dcs && i < s->ndcs; i++)
        tgemu_dc_del(s->dcs[i].dc);
    free(s->dcs);
    if (s->keys_fd >= 0)
        close(s->keys_fd);
    tgb_rsa_key_del(s->key);
    free(s->public_pem);
    free(s->dir);
    memset(s->salt_secret, 0, sizeof(s->salt_secret));
    free(s);
}

tgemu_dc *tgemu_server_dc(tgemu_server *s, int id)
{
    return id >= 1 && id <= s->ndcs ? s->dcs[id - 1].dc : NULL;
}

int tgemu_server_ndcs(const tgemu_server *s)
{
    return s->ndcs;
}

int tgemu_server_port(const tgemu_server *s, int id)
{
    return id >= 1 && id <= s->ndcs ? s->dcs[id - 1].port : 0;
}

const char *tgemu_server_public_pem(const tgemu_server *s)
{
    return s->public_pem;
}

void tgemu_server_restart(tgemu_server *s, int id)
{
    for (int i = 0; i < s->ndcs; i++)
        if (!id || id == i + 1)
            tgemu_dc_restart(s->dcs[i].dc, tgb_loop_now(s->loop));
    reap(s);
    reschedule(s);
}
