/*
 * The control API (see control.h and docs/emulator.md). Requests and answers are JSON;
 * a bad request gets a 4xx with {"error": "what is wrong"}.
 *
 *   GET  /dcs                  the DCs: id, port, counters, fault switches
 *   GET  /dcs/{id}/faults      one DC's fault switches
 *   POST /dcs/{id}/faults      set them: {"drop_after", "bad_salt", "delay_ms",
 *                              "flood_wait", "flood_wait_seconds"}, each optional
 *                              (absent = 0, i.e. off); answers the new switches
 *   POST /dcs/{id}/restart     restart the DC: sessions forgotten, keys kept
 */
#define _GNU_SOURCE
#include "emulator/control.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BODY ((size_t)1 << 20)

struct tgemu_control {
    tgb_loop *loop;
    tgemu_server *srv;
    struct MHD_Daemon *mhd;
    tgb_loop_io io;
    tgb_loop_timer timer;
    int port;
};

/* A request body being received. */
struct body {
    char *data;
    size_t len;
    int too_large;
};

/* ------------------------------------------------------------------ answers */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text)
        return MHD_NO;
    size_t n = strlen(text);
    struct MHD_Response *r = MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result error(struct MHD_Connection *c, unsigned status, const char *what)
{
    return reply(c, status, json_pack("{s:s}", "error", what));
}

/* ------------------------------------------------------------------ handlers */

static json_t *faults_json(const tgemu_faults *f)
{
    return json_pack("{s:i,s:i,s:i,s:i,s:i}", "drop_after", f->drop_after, "bad_salt", f->bad_salt,
                     "delay_ms", f->delay_ms, "flood_wait", f->flood_wait, "flood_wait_seconds",
                     f->flood_wait_seconds);
}

static json_t *dc_json(tgemu_control *ctl, int id)
{
    tgemu_dc *dc = tgemu_server_dc(ctl->srv, id);
    tgemu_dc_stats st;
    tgemu_faults f;
    tgemu_dc_get_stats(dc, &st);
    tgemu_dc_get_faults(dc, &f);
    return json_pack("{s:i,s:i,s:{s:I,s:I,s:I,s:I,s:I},s:o}", "id", id, "port",
                     tgemu_server_port(ctl->srv, id), "stats", "connections",
                     (json_int_t)st.connections, "auth_keys", (json_int_t)st.auth_keys, "queries",
                     (json_int_t)st.queries, "messages", (json_int_t)st.messages_in, "restarts",
                     (json_int_t)st.restarts, "faults", faults_json(&f));
}

/* Reads a non-negative integer member; absent = 0. Returns 0 or -1 (bad). */
static int get_count(json_t *obj, const char *name, int *out)
{
    json_t *v = json_object_get(obj, name);
    if (!v) {
        *out = 0;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000000)
        return -1;
    *out = (int)json_integer_value(v);
    return 0;
}

static enum MHD_Result set_faults(tgemu_control *ctl, struct MHD_Connection *c, int id,
                                  const struct body *b)
{
    json_error_t jerr;
    json_t *j = json_loadb(b->data ? b->data : "{}", b->data ? b->len : 2, 0, &jerr);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        return error(c, 400, "the body must be a JSON object");
    }
    static const char *const known[] = {"drop_after", "bad_salt", "delay_ms", "flood_wait",
                                        "flood_wait_seconds"};
    const char *key;
    json_t *value;
    json_object_foreach(j, key, value)
    {
        int ok = 0;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            ok |= strcmp(key, known[i]) == 0;
        if (!ok) {
            char msg[128];
            snprintf(msg, sizeof(msg), "unknown fault \"%.60s\"", key);
            json_decref(j);
            return error(c, 400, msg);
        }
    }
    tgemu_faults f;
    if (get_count(j, "drop_after", &f.drop_after) || get_count(j, "bad_salt", &f.bad_salt) ||
        get_count(j, "delay_ms", &f.delay_ms) || get_count(j, "flood_wait", &f.flood_wait) ||
        get_count(j, "flood_wait_seconds", &f.flood_wait_seconds)) {
        json_decref(j);
        return error(c, 400, "fault values are integers from 0 to 1000000000");
    }
    json_decref(j);
    tgemu_dc_set_faults(tgemu_server_dc(ctl->srv, id), &f);
    return reply(c, 200, faults_json(&f));
}

/* Parses "/dcs/{id}/rest" into id and rest; returns 0 on a match. */
static int dc_path(tgemu_control *ctl, const char *url, int *id, const char **rest)
{
    if (strncmp(url, "/dcs/", 5) != 0)
        return -1;
    char *end;
    long v = strtol(url + 5, &end, 10);
    if (end == url + 5 || v < 1 || v > tgemu_server_ndcs(ctl->srv))
        return -1;
    *id = (int)v;
    *rest = end;
    return 0;
}

static enum MHD_Result route(tgemu_control *ctl, struct MHD_Connection *c, const char *method,
                             const char *url, const struct body *b)
{
    int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    if (strcmp(url, "/dcs") == 0 && get) {
        json_t *list = json_array();
        for (int i = 1; i <= tgemu_server_ndcs(ctl->srv); i++)
            json_array_append_new(list, dc_json(ctl, i));
        return reply(c, 200, json_pack("{s:o}", "dcs", list));
    }
    int id;
    const char *rest;
    if (dc_path(ctl, url, &id, &rest) == 0) {
        if (strcmp(rest, "/faults") == 0 && get) {
            tgemu_faults f;
            tgemu_dc_get_faults(tgemu_server_dc(ctl->srv, id), &f);
            return reply(c, 200, faults_json(&f));
        }
        if (strcmp(rest, "/faults") == 0 && post)
            return set_faults(ctl, c, id, b);
        if (strcmp(rest, "/restart") == 0 && post) {
            tgemu_server_restart(ctl->srv, id);
            return reply(c, 200, json_pack("{s:b}", "ok", 1));
        }
        if (strcmp(rest, "") == 0 && get)
            return reply(c, 200, dc_json(ctl, id));
    } else if (strncmp(url, "/dcs/", 5) == 0) {
        return error(c, 404, "no such DC");
    }
    char msg[160];
    snprintf(msg, sizeof(msg), "no route %s %.100s", method, url);
    return error(c, 404, msg);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    tgemu_control *ctl = cls;
    struct body *b = *con_cls;
    if (!b) {
        b = calloc(1, sizeof(*b));
        if (!b)
            return MHD_NO;
        *con_cls = b;
        return MHD_YES;
    }
    if (*upload_size) {
        if (b->len + *upload_size > MAX_BODY) {
            b->too_large = 1;
        } else {
            char *p = realloc(b->data, b->len + *upload_size);
            if (!p)
                return MHD_NO;
            memcpy(p + b->len, upload_data, *upload_size);
            b->data = p;
            b->len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (b->too_large)
        return error(c, 413, "the body is larger than 1 MiB");
    return route(ctl, c, method, url, b);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    (void)cls, (void)c, (void)code;
    struct body *b = *con_cls;
    if (b) {
        free(b->data);
        free(b);
        *con_cls = NULL;
    }
}

/* ------------------------------------------------------------------ loop glue */

static void run_mhd(tgemu_control *ctl)
{
    MHD_run(ctl->mhd);
    MHD_UNSIGNED_LONG_LONG ms;
    if (MHD_get_timeout(ctl->mhd, &ms) == MHD_YES)
        tgb_loop_timer_set(ctl->loop, &ctl->timer, tgb_loop_now(ctl->loop) + (tgb_time)ms * 1000);
    else
        tgb_loop_timer_stop(ctl->loop, &ctl->timer);
}

static void mhd_io(tgb_loop *loop, tgb_loop_io *io, int events)
{
    (void)loop, (void)events;
    run_mhd(io->data);
}

static void mhd_timer(tgb_loop *loop, tgb_loop_timer *t)
{
    (void)loop;
    run_mhd(t->data);
}

int tgemu_control_new(tgemu_control **out, tgb_loop *loop, tgemu_server *srv, const char *host,
                      int port)
{
    tgemu_control *ctl = calloc(1, sizeof(*ctl));
    if (!ctl)
        return TGB_ERR_NOMEM;
    ctl->loop = loop;
    ctl->srv = srv;
    ctl->io.fd = -1;
    tgb_loop_timer_init(&ctl->timer, mhd_timer, ctl);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host ? host : "127.0.0.1", &addr.sin_addr) != 1) {
        free(ctl);
        return TGB_ERR_INVALID;
    }
    ctl->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL,
                                on_request, ctl, MHD_OPTION_SOCK_ADDR, &addr,
                                MHD_OPTION_NOTIFY_COMPLETED, on_completed, ctl,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_END);
    if (!ctl->mhd) {
        free(ctl);
        return TGB_ERR_INVALID;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(ctl->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    const union MHD_DaemonInfo *bound = MHD_get_daemon_info(ctl->mhd, MHD_DAEMON_INFO_BIND_PORT);
    if (!info || !bound ||
        tgb_loop_io_start(loop, &ctl->io, info->epoll_fd, TGB_LOOP_READ, mhd_io, ctl) != 0) {
        MHD_stop_daemon(ctl->mhd);
        free(ctl);
        return TGB_ERR_INVALID;
    }
    ctl->port = bound->port;
    *out = ctl;
    return 0;
}

void tgemu_control_del(tgemu_control *ctl)
{
    if (!ctl)
        return;
    tgb_loop_io_stop(ctl->loop, &ctl->io);
    tgb_loop_timer_stop(ctl->loop, &ctl->timer);
    MHD_stop_daemon(ctl->mhd);
    free(ctl);
}

int tgemu_control_port(const tgemu_control *ctl)
{
    return ctl->port;
}
