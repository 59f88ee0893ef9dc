/*
 * The sans-I/O engine driven by a plain poll() loop, with no runtime: the program owns
 * the socket and the clock, and moves bytes between them and a tgb_session. This is the
 * shape for embedding libtgbotapi in an application with its own event loop (swap
 * poll() for libuv, asyncio, ...).
 *
 *   poll_session HOST PORT PUBLIC_KEY.pem [DC_ID]
 *
 * It creates an auth key with the DC at HOST:PORT (e.g. a telegram-emulator, whose key
 * is in its --dir as public.pem), calls help.getNearestDc and prints the answer as JSON.
 */
#define _POSIX_C_SOURCE 200809L
#include <tgbotapi/tgbotapi.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct app {
    tgb_session *session;
    uint64_t conn; /* the connection the session asked for */
    int fd;        /* its socket, -1 if none */
    int connecting;
    int done;
};

static tgb_time now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (tgb_time)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The session asks for a connection: open a non-blocking socket. */
static int on_connect(void *user_data, uint64_t conn, const char *host, int port)
{
    struct app *app = user_data;
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
        return TGB_ERR_INVALID;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return TGB_ERR_INVALID;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno != EINPROGRESS) {
        close(fd);
        return TGB_ERR_INVALID;
    }
    app->fd = fd;
    app->conn = conn;
    app->connecting = 1;
    return 0;
}

static void on_close(void *user_data, uint64_t conn)
{
    struct app *app = user_data;
    if (conn == app->conn && app->fd >= 0) {
        close(app->fd);
        app->fd = -1;
    }
}

static void on_answer(void *user_data, const tgb_rpc_answer *a)
{
    struct app *app = user_data;
    app->done = 1;
    if (a->error) {
        fprintf(stderr, "no answer: %s\n", tgb_strerror(a->error));
        return;
    }
    if (a->rpc_error_code) {
        fprintf(stderr, "rpc_error %d %s\n", a->rpc_error_code, a->rpc_error_message);
        return;
    }
    char *json;
    if (tgb_tl_to_json_string(a->result, a->result_len, &json) == 0) {
        printf("%s\n", json);
        tgb_free(json);
    }
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65536);
    if (buf)
        fread(buf, 1, 65535, f);
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s HOST PORT PUBLIC_KEY.pem [DC_ID]\n", argv[0]);
        return 2;
    }
    char *pem = read_all(argv[3]);
    if (!pem) {
        perror(argv[3]);
        return 1;
    }
    struct app app = {NULL, 0, -1, 0, 0};
    tgb_session_settings st;
    tgb_session_settings_default(&st);
    st.host = argv[1];
    st.port = atoi(argv[2]);
    st.dc_id = argc > 4 ? atoi(argv[4]) : 1;
    st.rsa_public_keys_pem = pem;
    st.api_id = 1;
    tgb_session_callbacks cb;
    tgb_session_callbacks_default(&cb);
    cb.connect = on_connect;
    cb.close = on_close;
    int rc = tgb_session_new(&app.session, &st, &cb, &app, now());
    free(pem);
    if (rc) {
        fprintf(stderr, "tgb_session_new: %s\n", tgb_strerror(rc));
        return 1;
    }
    static const uint8_t get_nearest_dc[4] = {0x26, 0x30, 0xb3, 0x1f}; /* help.getNearestDc */
    tgb_session_call(app.session, get_nearest_dc, 4, on_answer, &app, NULL, now());

    tgb_time give_up = now() + 30 * 1000000;
    while (!app.done && now() < give_up) {
        const uint8_t *out = NULL;
        size_t pending =
            app.fd >= 0 && !app.connecting ? tgb_session_pending(app.session, app.conn, &out) : 0;
        tgb_time next = tgb_session_next_timeout(app.session);
        int timeout = 1000;
        if (next != TGB_TIME_NEVER)
            timeout = next <= now() ? 0 : (int)((next - now()) / 1000) + 1;
        struct pollfd p = {app.fd, POLLIN | (app.connecting || pending ? POLLOUT : 0), 0};
        int n = poll(&p, app.fd >= 0 ? 1 : 0, timeout > 1000 ? 1000 : timeout);
        if (n > 0 && app.connecting && (p.revents & (POLLOUT | POLLERR | POLLHUP))) {
            int err = 0;
            socklen_t len = sizeof(err);
            getsockopt(app.fd, SOL_SOCKET, SO_ERROR, &err, &len);
            app.connecting = 0;
            if (err) {
                close(app.fd);
                app.fd = -1;
                tgb_session_closed(app.session, app.conn, now());
            } else {
                tgb_session_connected(app.session, app.conn, now());
            }
        } else if (n > 0 && (p.revents & POLLOUT) && pending) {
            ssize_t w = send(app.fd, out, pending, MSG_NOSIGNAL);
            if (w > 0)
                tgb_session_sent(app.session, app.conn, (size_t)w, now());
        }
        if (n > 0 && !app.connecting && app.fd >= 0 && (p.revents & (POLLIN | POLLHUP))) {
            uint8_t buf[65536];
            ssize_t r = recv(app.fd, buf, sizeof(buf), 0);
            if (r > 0) {
                tgb_session_recv(app.session, app.conn, buf, (size_t)r, now());
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                close(app.fd);
                app.fd = -1;
                tgb_session_closed(app.session, app.conn, now());
            }
        }
        if (tgb_session_next_timeout(app.session) <= now())
            tgb_session_timeout(app.session, now());
    }
    tgb_session_del(app.session);
    return app.done ? 0 : 1;
}
