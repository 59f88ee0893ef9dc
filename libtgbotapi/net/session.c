/*
 * tgb_session: one MTProto session with one DC, the public face of mtproto/ (see
 * include/tgbotapi/tgbotapi.h). It owns the connection's life:
 *
 *   CONNECTING --connected--> HANDSHAKE (no auth key yet) --key made--> READY
 *        ^                         |                                        |
 *        +----- BACKOFF <---- closed / transport error / dead <-------------+
 *
 * and composes the parts: a framer per connection (mtproto/transport), a handshake
 * while there is no key (mtproto/handshake), and one session core for as long as the
 * key lives (mtproto/session), which keeps requests across reconnects and resends them.
 *
 * Requests made before the key exists wait here and go to the session core when it is
 * created. A transport error -404 means the server forgot our key: it is dropped, a new
 * one is made, and the requests still waiting are given to the new session core.
 */
#include "crypto/crypto.h"
#include "mtproto/handshake.h"
#include "mtproto/message.h"
#include "mtproto/session.h"
#include "mtproto/transport.h"
#include "net/dc_defaults.h"
#include "tl/tl_api.h"

#include <tgbotapi/tgbotapi.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum conn_state { IDLE, CONNECTING, HANDSHAKE, READY, BACKOFF };

/* A request from tgb_session_call(), until its callback runs. */
struct call {
    uint64_t id;
    tgb_rpc_callback cb;
    void *user_data;
    tgb_time deadline; /* TGB_TIME_NEVER without request_timeout */
    uint8_t *query;    /* kept until answered: a new auth key means sending again */
    size_t len;
    int in_core;              /* handed to the current session core */
    struct call *prev, *next; /* in creation (= deadline) order */
    struct call *hnext;       /* hash chain */
};

struct tgb_session {
    tgb_session_callbacks cb;
    void *user_data;
    tgb_random rnd;

    /* settings we keep */
    int dc_id, test_dc, media_dc, transport, temp_keys, temp_key_lifetime, ping_interval;
    int request_timeout;
    char *host;
    int port;
    /*
     * The server's keys as PEM (NULL: Telegram's built-in ones), parsed into `keys` only
     * while a key exchange runs: an idle session should not carry RSA keys around.
     */
    char *rsa_pem;
    tgb_rsa_key **keys;
    size_t nkeys;
    uint8_t *init_prefix;
    size_t init_prefix_len;

    /*
     * The key the session core uses, and the core. With temp_keys (PFS) that key is a
     * temporary one, bound to `perm_key` with auth.bindTempAuthKey before any request
     * goes out, and replaced before it expires.
     */
    int have_key; /* the core holds the key */
    int have_perm;
    uint8_t *perm_key;      /* with temp_keys: the permanent key (256 bytes) */
    int bound;              /* the temporary key is bound: requests may go */
    tgb_time temp_renew_at; /* when to replace the temporary key */
    int64_t salt;
    int64_t time_offset_us;
    tgb_mtp_session *core;

    /* the connection */
    enum conn_state state;
    uint64_t conn;      /* current connection id, 0 if none */
    uint64_t last_conn; /* ids are never reused */
    tgb_framer *framer;
    tgb_handshake *handshake;
    tgb_msg_id_gen handshake_ids;
    tgb_buf out;     /* bytes for `conn` not yet written */
    size_t out_sent; /* how much of `out` is written */
    int failures;    /* consecutive failed connections, for backoff */
    tgb_time reconnect_at;

    /* requests */
    struct call *oldest, *newest;
    struct call **buckets;
    size_t nbuckets, ncalls;
    uint64_t last_call_id;

    /*
     * >0 while our callbacks run. The session core is never re-entered from its own
     * callbacks: requests and cancellations made from a callback wait in `unsent` /
     * `to_forget` until the core returns.
     */
    int depth;
    size_t unsent;
    uint64_t *to_forget;
    size_t nforget, capforget;
    int dead;        /* the core reported the connection dead */
    int bind_failed; /* the server refused to bind our temporary key */
};

/* The token of auth.bindTempAuthKey in the core: call ids start at 1. */
#define BIND_TOKEN 0

/* ------------------------------------------------------------------ small helpers */

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
session_log(tgb_session *s, int level, const char *fmt, ...)
{
    if (!s->cb.log)
        return;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    s->cb.log(s->user_data, level, line);
}

static int random_from_callback(void *user_data, uint8_t *out, size_t len)
{
    tgb_session *s = user_data;
    return s->cb.random(s->user_data, out, len);
}

static char *dup_or_empty(const char *p)
{
    const char *src = p ? p : "";
    size_t n = strlen(src) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, src, n);
    return d;
}

/* ------------------------------------------------------------------ calls */

static struct call **bucket_of(tgb_session *s, uint64_t id)
{
    return &s->buckets[(id * 0x9e3779b97f4a7c15ull) >> 32 & (s->nbuckets - 1)];
}

static int calls_grow(tgb_session *s)
{
    size_t n = s->nbuckets ? s->nbuckets * 2 : 16;
    struct call **b = calloc(n, sizeof(*b));
    if (!b)
        return TGB_ERR_NOMEM;
    struct call **old = s->buckets;
    size_t oldn = s->nbuckets;
    s->buckets = b;
    s->nbuckets = n;
    for (size_t i = 0; i < oldn; i++) {
        for (struct call *c = old[i], *next; c; c = next) {
            next = c->hnext;
            struct call **slot = bucket_of(s, c->id);
            c->hnext = *slot;
            *slot = c;
        }
    }
    free(old);
    return 0;
}

static struct call *call_find(tgb_session *s, uint64_t id)
{
    if (!s->nbuckets)
        return NULL;
    for (struct call *c = *bucket_of(s, id); c; c = c->hnext)
        if (c->id == id)
            return c;
    return NULL;
}

static void call_unlink(tgb_session *s, struct call *c)
{
    for (struct call **p = bucket_of(s, c->id); *p; p = &(*p)->hnext) {
        if (*p == c) {
            *p = c->hnext;
            break;
        }
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        s->oldest = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        s->newest = c->prev;
    s->ncalls--;
}

/* Runs a call's callback (once) and frees it. */
static void call_finish(tgb_session *s, struct call *c, const tgb_rpc_answer *a)
{
    call_unlink(s, c);
    tgb_rpc_callback cb = c->cb;
    void *ud = c->user_data;
    free(c->query);
    free(c);
    s->depth++;
    cb(ud, a);
    s->depth--;
}

static void call_fail(tgb_session *s, struct call *c, int error)
{
    tgb_rpc_answer a = {0};
    a.error = error;
    call_finish(s, c, &a);
}

static int forget_later(tgb_session *s, uint64_t id)
{
    if (s->nforget == s->capforget) {
        size_t cap = s->capforget ? s->capforget * 2 : 8;
        uint64_t *p = realloc(s->to_forget, cap * sizeof(*p));
        if (!p)
            return TGB_ERR_NOMEM;
        s->to_forget = p;
        s->capforget = cap;
    }
    s->to_forget[s->nforget++] = id;
    return 0;
}

/*
 * Takes a call away from the session core before it completes without an answer: the
 * core forgets it (later, if we are inside its callbacks). Should the forget be lost
 * for want of memory, the core's answer simply finds no call.
 */
static void detach(tgb_session *s, struct call *c)
{
    if (!s->core)
        return;
    if (!c->in_core) {
        s->unsent--;
        return;
    }
    if (!s->depth)
        tgb_mtp_session_forget(s->core, c->id);
    else
        forget_later(s, c->id);
}

/* ------------------------------------------------------------------ output */

static void want_write(tgb_session *s)
{
    if (s->conn && s->out.len > s->out_sent && s->cb.want_write)
        s->cb.want_write(s->user_data, s->conn);
}

/* Frames every packet the session core has ready onto the connection. */
static void flush_core(tgb_session *s, tgb_time now)
{
    if (s->state != READY || !s->core)
        return;
    tgb_buf packet;
    tgb_buf_init(&packet, 0);
    size_t before = s->out.len;
    for (;;) {
        packet.len = 0;
        int rc = tgb_mtp_session_pull(s->core, now, &packet);
        if (rc <= 0)
            break;
        if (tgb_framer_write(s->framer, packet.data, packet.len, &s->rnd, &s->out) != 0) {
            session_log(s, 1, "cannot frame a packet of %zu bytes", packet.len);
            break;
        }
    }
    tgb_buf_free(&packet);
    if (s->out.len > before)
        want_write(s);
}

/* ------------------------------------------------------------------ server keys */

static const char *pem_of(const tgb_session *s)
{
    return s->rsa_pem ? s->rsa_pem : s->test_dc ? tgb_dc_test_rsa_pem : tgb_dc_production_rsa_pem;
}

static void drop_rsa_keys(tgb_session *s)
{
    for (size_t i = 0; i < s->nkeys; i++)
        tgb_rsa_key_del(s->keys[i]);
    free(s->keys);
    s->keys = NULL;
    s->nkeys = 0;
}

/* Reads every PEM block in `pem` as a key. */
static int load_keys(tgb_session *s, const char *pem)
{
    const char *p = pem;
    for (;;) {
        const char *begin = strstr(p, "-----BEGIN ");
        if (!begin)
            break;
        const char *end = strstr(begin, "-----END ");
        if (!end)
            return TGB_ERR_RSA_KEY;
        const char *tail = strstr(end + 9, "-----");
        if (!tail)
            return TGB_ERR_RSA_KEY;
        tail += 5;
        tgb_rsa_key *k;
        int rc = tgb_rsa_key_from_pem(&k, begin, (size_t)(tail - begin));
        if (rc)
            return rc;
        tgb_rsa_key **keys = realloc(s->keys, (s->nkeys + 1) * sizeof(*keys));
        if (!keys) {
            tgb_rsa_key_del(k);
            return TGB_ERR_NOMEM;
        }
        s->keys = keys;
        s->keys[s->nkeys++] = k;
        p = tail;
    }
    return s->nkeys ? 0 : TGB_ERR_RSA_KEY;
}

/* ------------------------------------------------------------------ session core */

static void core_answer(void *user_data, uint64_t token, const tgb_rpc_answer *answer)
{
    tgb_session *s = user_data;
    if (token == BIND_TOKEN) {
        if (!answer->rpc_error_code && answer->result_len == 4 &&
            tgb_le32(answer->result) == TGB_TL_ID_BOOL_TRUE) {
            session_log(s, 3, "temporary key bound for DC %d", s->dc_id);
            s->bound = 1; /* after_core() hands the waiting requests over */
        } else {
            session_log(s, 2, "auth.bindTempAuthKey failed (%d %s): new keys",
                        answer->rpc_error_code,
                        answer->rpc_error_message ? answer->rpc_error_message : "false");
            s->bind_failed = 1; /* acted on after the core returns */
        }
        return;
    }
    struct call *c = call_find(s, token);
    if (c) /* else it was cancelled */
        call_finish(s, c, answer);
}

static void core_update(void *user_data, const uint8_t *tl, size_t len)
{
    tgb_session *s = user_data;
    if (s->cb.update) {
        s->depth++;
        s->cb.update(s->user_data, tl, len);
        s->depth--;
    }
}

static void core_want_write(void *user_data)
{
    (void)user_data; /* flush_core runs after every call into the core */
}

static void drop_connection(tgb_session *s, tgb_time now, const char *why);

static void core_dead(void *user_data)
{
    tgb_session *s = user_data;
    session_log(s, 2, "no answer to keepalive pings: reconnecting");
    s->dead = 1; /* acted on once the core has returned */
}

static void core_log(void *user_data, int level, const char *line)
{
    tgb_session *s = user_data;
    if (s->cb.log)
        s->cb.log(s->user_data, level, line);
}

/* Creates the session core for the current key and hands it every waiting request. */
static int core_start(tgb_session *s, const uint8_t key[256], tgb_time now)
{
    tgb_mtp_config cfg = {0};
    cfg.auth_key = key;
    cfg.server_salt = s->salt;
    cfg.time_offset_us = s->time_offset_us;
    cfg.rnd = &s->rnd;
    cfg.init_prefix = s->init_prefix;
    cfg.init_prefix_len = s->init_prefix_len;
    cfg.ping_interval = s->ping_interval;
    tgb_mtp_callbacks cb = {core_answer, core_update, NULL, core_want_write, core_dead, core_log};
    int rc = tgb_mtp_session_new(&s->core, &cfg, &cb, s, now);
    if (rc)
        return rc;
    if (s->temp_keys) {
        /* https://core.telegram.org/api/pfs: bind first, requests after the answer */
        s->bound = 0;
        s->unsent = s->ncalls;
        int64_t nonce;
        uint8_t r[8];
        if ((rc = tgb_random_bytes(&s->rnd, r, 8)) != 0)
            return rc;
        nonce = (int64_t)tgb_le64(r);
        int32_t expires_at = (int32_t)((now + s->time_offset_us) / 1000000 + s->temp_key_lifetime);
        return tgb_mtp_session_send_bind(s->core, BIND_TOKEN, s->perm_key, nonce, expires_at, now);
    }
    for (struct call *c = s->oldest; c; c = c->next) {
        rc = tgb_mtp_session_send(s->core, c->id, c->query, c->len, now);
        if (rc)
            return rc;
        c->in_core = 1;
    }
    s->unsent = 0;
    return 0;
}

/* ------------------------------------------------------------------ connection */

static tgb_time backoff(tgb_session *s, tgb_time now)
{
    /* 0.1 s doubling to 30 s, with up to 25% random extra so many sessions spread out */
    int64_t delay = 100000;
    for (int i = 0; i < s->failures && delay < 30000000; i++)
        delay *= 2;
    if (delay > 30000000)
        delay = 30000000;
    uint8_t r[2] = {0, 0};
    tgb_random_bytes(&s->rnd, r, 2);
    delay += delay / 4 * (r[0] | r[1] << 8) / 65536;
    return now + delay;
}

static void start_connect(tgb_session *s, tgb_time now)
{
    s->conn = ++s->last_conn;
    s->state = CONNECTING;
    int rc = s->cb.connect(s->user_data, s->conn, s->host, s->port);
    if (rc) {
        session_log(s, 2, "cannot connect to %s:%d: %s", s->host, s->port, tgb_strerror(rc));
        s->conn = 0;
        s->failures++;
        s->state = BACKOFF;
        s->reconnect_at = backoff(s, now);
    }
}

/* Forgets the current connection (after telling the host to close it). */
static void drop_connection(tgb_session *s, tgb_time now, const char *why)
{
    if (s->conn) {
        session_log(s, 3, "connection %llu to DC %d closed: %s", (unsigned long long)s->conn,
                    s->dc_id, why);
        uint64_t conn = s->conn;
        s->conn = 0;
        s->cb.close(s->user_data, conn);
    }
    tgb_framer_del(s->framer);
    s->framer = NULL;
    tgb_handshake_del(s->handshake);
    s->handshake = NULL;
    s->out.len = 0;
    s->out_sent = 0;
    if (s->core)
        tgb_mtp_session_connection_lost(s->core, now);
    s->failures++;
    s->state = BACKOFF;
    s->reconnect_at = backoff(s, now);
}

/* Starts an exchange for the permanent key, or (with PFS, once we have one) a temporary. */
static int handshake_begin(tgb_session *s, tgb_time now)
{
    int handshake_dc = s->dc_id + (s->test_dc ? 10000 : 0);
    tgb_handshake_params p = {0};
    p.dc_id = s->media_dc ? -handshake_dc : handshake_dc;
    if (!s->keys) {
        int rc = load_keys(s, pem_of(s));
        if (rc)
            return rc;
    }
    p.keys = (const tgb_rsa_key *const *)s->keys;
    p.nkeys = s->nkeys;
    p.rnd = &s->rnd;
    p.temp = s->temp_keys && s->have_perm;
    p.expires_in = s->temp_key_lifetime;
    tgb_handshake_del(s->handshake);
    s->handshake = NULL;
    int rc = tgb_handshake_new(&s->handshake, &p);
    if (rc)
        return rc;
    tgb_msg_id_gen_init(&s->handshake_ids);
    tgb_buf msg;
    tgb_buf_init(&msg, 0);
    rc = tgb_handshake_start(s->handshake, &s->handshake_ids, now, &msg);
    if (rc == TGB_HANDSHAKE_CONTINUE)
        rc = tgb_framer_write(s->framer, msg.data, msg.len, &s->rnd, &s->out);
    tgb_buf_free(&msg);
    s->state = HANDSHAKE;
    return rc;
}

static int handshake_packet(tgb_session *s, const uint8_t *packet, size_t len, tgb_time now)
{
    tgb_buf msg;
    tgb_buf_init(&msg, 0);
    int rc = tgb_handshake_recv(s->handshake, packet, len, &s->handshake_ids, now, &msg);
    if (rc == TGB_HANDSHAKE_CONTINUE) {
        rc = tgb_framer_write(s->framer, msg.data, msg.len, &s->rnd, &s->out);
        tgb_buf_free(&msg);
        return rc;
    }
    tgb_buf_free(&msg);
    if (rc != TGB_HANDSHAKE_DONE)
        return rc;
    tgb_handshake_result r;
    rc = tgb_handshake_result_get(s->handshake, &r);
    tgb_handshake_del(s->handshake);
    s->handshake = NULL;
    if (rc)
        return rc;
    s->time_offset_us = r.time_offset_us;
    if (s->temp_keys && !s->have_perm) {
        /* the permanent key: kept (and given to the owner), then a temporary one */
        s->perm_key = malloc(256);
        if (!s->perm_key)
            return TGB_ERR_NOMEM;
        memcpy(s->perm_key, r.auth_key, 256);
        s->have_perm = 1;
        memset(&r, 0, sizeof(r));
        session_log(s, 3, "permanent auth key created for DC %d", s->dc_id);
        if (s->cb.auth_key) {
            s->depth++;
            s->cb.auth_key(s->user_data, s->perm_key, 256);
            s->depth--;
        }
        return handshake_begin(s, now);
    }
    drop_rsa_keys(s);
    s->have_key = 1;
    s->salt = r.server_salt;
    if (s->temp_keys) {
        /* replaced a minute (or a tenth of its life, if shorter) before it expires */
        int64_t margin = s->temp_key_lifetime > 600 ? 60 : s->temp_key_lifetime / 10;
        s->temp_renew_at = now + ((tgb_time)s->temp_key_lifetime - margin) * 1000000;
        session_log(s, 3, "temporary auth key created for DC %d", s->dc_id);
    } else {
        session_log(s, 3, "auth key created for DC %d", s->dc_id);
        if (s->cb.auth_key) {
            s->depth++;
            s->cb.auth_key(s->user_data, r.auth_key, 256);
            s->depth--;
        }
    }
    rc = core_start(s, r.auth_key, now);
    memset(&r, 0, sizeof(r));
    if (rc)
        return rc;
    s->state = READY;
    s->failures = 0;
    tgb_mtp_session_connection_ready(s->core, now);
    return 0;
}

/*
 * The server does not know the key we use (-404), or a temporary key is due for
 * renewal: make a new one; requests survive. A permanent key under PFS stays.
 */
static void forget_key(tgb_session *s)
{
    s->have_key = 0;
    s->bound = 0;
    tgb_mtp_session_del(s->core);
    s->core = NULL;
    for (struct call *c = s->oldest; c; c = c->next)
        c->in_core = 0;
    s->unsent = 0; /* core_start hands them all to the next core */
}

/* ------------------------------------------------------------------ public API */

void tgb_session_callbacks_default(tgb_session_callbacks *cb)
{
    memset(cb, 0, sizeof(*cb));
    cb->version = TGB_SESSION_CALLBACKS_VERSION;
}

void tgb_session_settings_default(tgb_session_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->version = TGB_SESSION_SETTINGS_VERSION;
    s->dc_id = 2;
    s->port = TGB_DC_DEFAULT_PORT;
    s->transport = TGB_TRANSPORT_INTERMEDIATE;
    s->temp_key_lifetime = 86400;
    s->layer = TGB_TL_LAYER;
    s->ping_interval = 60;
}

/*
 * invokeWithLayer(layer, initConnection(api_id, device..., lang_code, <query>)): both
 * take their query last, so everything before it is a fixed prefix. Built by encoding
 * the pair around help.getConfig and cutting that function's 4 bytes off the end.
 */
static int build_init_prefix(tgb_session *s, const tgb_session_settings *st)
{
    tl_help_getConfig q = {.base = {&tgb_tl_c_help_getConfig}};
    tl_initConnection init = {.base = {&tgb_tl_c_initConnection}};
    init.api_id = st->api_id;
    const char *fields[] = {st->device_model,     st->system_version, st->app_version,
                            st->system_lang_code, st->lang_pack,      st->lang_code};
    tgb_tl_string *dst[] = {&init.device_model,     &init.system_version, &init.app_version,
                            &init.system_lang_code, &init.lang_pack,      &init.lang_code};
    for (int i = 0; i < 6; i++) {
        const char *v = fields[i] ? fields[i] : "";
        *dst[i] = (tgb_tl_string){v, strlen(v)};
    }
    init.query = (tl_object *)&q;
    tl_invokeWithLayer invoke = {.base = {&tgb_tl_c_invokeWithLayer}};
    invoke.layer = st->layer;
    invoke.query = (tl_object *)&init;
    tgb_buf b;
    tgb_buf_init(&b, 0);
    int rc = tgb_tl_encode_object(&b, &invoke, NULL);
    if (rc) {
        tgb_buf_free(&b);
        return rc;
    }
    s->init_prefix_len = b.len - 4;
    s->init_prefix = b.data; /* the 4 extra bytes are harmless */
    return 0;
}

int tgb_session_new(tgb_session **out, const tgb_session_settings *st,
                    const tgb_session_callbacks *cb, void *user_data, tgb_time now)
{
    if (!out || !st || !cb || st->version < 1 || cb->version < 1 || !cb->connect || !cb->close)
        return TGB_ERR_INVALID;
    *out = NULL;
    int kind = st->transport & ~TGB_TRANSPORT_OBFUSCATED;
    if (kind < TGB_TRANSPORT_ABRIDGED || kind > TGB_TRANSPORT_FULL ||
        (st->transport & TGB_TRANSPORT_OBFUSCATED && kind == TGB_TRANSPORT_FULL) ||
        (st->auth_key && st->auth_key_len != 256) || st->dc_id <= 0 || st->dc_id > 1000)
        return TGB_ERR_INVALID;
    const char *host = st->host ? st->host : tgb_dc_default_host(st->dc_id, st->test_dc);
    if (!host)
        return TGB_ERR_INVALID;

    tgb_session *s = calloc(1, sizeof(*s));
    if (!s)
        return TGB_ERR_NOMEM;
    s->cb = *cb;
    s->user_data = user_data;
    s->rnd.fn = cb->random ? random_from_callback : NULL;
    s->rnd.user_data = s;
    s->dc_id = st->dc_id;
    s->test_dc = st->test_dc;
    s->media_dc = st->media_dc;
    s->transport = st->transport;
    s->temp_keys = st->temp_keys;
    s->temp_key_lifetime = st->temp_key_lifetime;
    s->ping_interval = st->ping_interval;
    s->request_timeout = st->request_timeout;
    s->port = st->port > 0 ? st->port : TGB_DC_DEFAULT_PORT;
    s->host = dup_or_empty(host);
    tgb_buf_init(&s->out, 0);
    int rc = s->host ? 0 : TGB_ERR_NOMEM;
    if (!rc && st->rsa_public_keys_pem) {
        s->rsa_pem = dup_or_empty(st->rsa_public_keys_pem);
        if (!s->rsa_pem)
            rc = TGB_ERR_NOMEM;
    }
    if (!rc) {
        /* parsed now only to refuse bad keys at once; kept as text */
        rc = load_keys(s, pem_of(s));
        if (rc == TGB_ERR_RSA_KEY)
            rc = TGB_ERR_INVALID;
        drop_rsa_keys(s);
    }
    if (!rc)
        rc = build_init_prefix(s, st);
    if (!rc && st->auth_key && s->temp_keys) {
        s->perm_key = malloc(256); /* temporary keys are never kept */
        if (!s->perm_key) {
            rc = TGB_ERR_NOMEM;
        } else {
            memcpy(s->perm_key, st->auth_key, 256);
            s->have_perm = 1;
        }
    } else if (!rc && st->auth_key) {
        s->have_key = 1;
        rc = core_start(s, st->auth_key, now);
    }
    if (!rc && s->temp_keys && s->temp_key_lifetime < 60)
        rc = TGB_ERR_INVALID;
    if (rc) {
        tgb_session_del(s);
        return rc;
    }
    start_connect(s, now);
    *out = s;
    return 0;
}

void tgb_session_del(tgb_session *s)
{
    if (!s)
        return;
    if (s->conn) {
        uint64_t conn = s->conn;
        s->conn = 0;
        s->cb.close(s->user_data, conn);
    }
    while (s->oldest)
        call_fail(s, s->oldest, TGB_ERR_CLOSED);
    tgb_mtp_session_del(s->core);
    tgb_handshake_del(s->handshake);
    tgb_framer_del(s->framer);
    drop_rsa_keys(s);
    free(s->rsa_pem);
    free(s->buckets);
    free(s->to_forget);
    free(s->init_prefix);
    free(s->host);
    tgb_buf_free(&s->out);
    if (s->perm_key) {
        memset(s->perm_key, 0, 256);
        free(s->perm_key);
    }
    free(s);
}

/*
 * After the core ran: hand it what callbacks asked for meanwhile, drop a dead
 * connection, and frame what it has to send.
 */
static void after_core(tgb_session *s, tgb_time now)
{
    if (s->core && (!s->temp_keys || s->bound)) {
        for (size_t i = 0; i < s->nforget; i++)
            tgb_mtp_session_forget(s->core, s->to_forget[i]);
        for (struct call *c = s->newest; c && s->unsent; c = c->prev) {
            if (c->in_core)
                continue;
            if (tgb_mtp_session_send(s->core, c->id, c->query, c->len, now) == 0) {
                c->in_core = 1;
                s->unsent--;
            }
        }
    }
    s->nforget = 0;
    if (s->bind_failed) {
        /* the server may have lost the permanent key too: make both again */
        s->bind_failed = 0;
        s->have_perm = 0;
        if (s->perm_key) {
            memset(s->perm_key, 0, 256);
            free(s->perm_key);
            s->perm_key = NULL;
        }
        forget_key(s);
        drop_connection(s, now, "temporary key not bound");
        s->reconnect_at = now;
        return;
    }
    if (s->dead) {
        s->dead = 0;
        drop_connection(s, now, "keepalive timed out");
        return;
    }
    flush_core(s, now);
}

int tgb_session_connected(tgb_session *s, uint64_t conn, tgb_time now)
{
    if (!s)
        return TGB_ERR_INVALID;
    if (s->depth)
        return TGB_ERR_REENTRANT;
    if (conn != s->conn || s->state != CONNECTING)
        return TGB_ERR_STATE;
    s->out.len = 0;
    s->out_sent = 0;
    int handshake_dc = s->dc_id + (s->test_dc ? 10000 : 0);
    int rc = tgb_framer_new_client(&s->framer, s->transport,
                                   s->media_dc ? -handshake_dc : handshake_dc, &s->rnd, &s->out);
    if (!rc && !s->have_key)
        rc = handshake_begin(s, now);
    if (rc) {
        drop_connection(s, now, tgb_strerror(rc));
        return 0;
    }
    if (s->have_key) {
        s->state = READY;
        tgb_mtp_session_connection_ready(s->core, now);
        after_core(s, now);
    }
    want_write(s);
    return 0;
}

int tgb_session_closed(tgb_session *s, uint64_t conn, tgb_time now)
{
    if (!s)
        return TGB_ERR_INVALID;
    if (s->depth)
        return TGB_ERR_REENTRANT;
    if (conn != s->conn)
        return 0; /* an old connection we already dropped */
    s->conn = 0;  /* the host closed it: don't ask it to */
    drop_connection(s, now, "closed by the peer");
    return 0;
}

static void transport_error(tgb_session *s, int32_t code, tgb_time now)
{
    if (code == -404) {
        /* auth key unknown to the server (or, during the handshake, a broken one) */
        session_log(s, 2, "DC %d does not know our auth key (-404): creating a new one", s->dc_id);
        if (s->have_key)
            forget_key(s);
        drop_connection(s, now, "transport error -404");
        s->failures = 0;
        s->reconnect_at = now;
        return;
    }
    char why[48];
    snprintf(why, sizeof(why), "transport error %d", (int)code);
    drop_connection(s, now, why);
}

int tgb_session_recv(tgb_session *s, uint64_t conn, const uint8_t *data, size_t len, tgb_time now)
{
    if (!s || (!data && len))
        return TGB_ERR_INVALID;
    if (s->depth)
        return TGB_ERR_REENTRANT;
    if (conn != s->conn || !s->framer)
        return TGB_ERR_STATE;
    int rc = tgb_framer_feed(s->framer, data, len);
    while (!rc) {
        tgb_frame f;
        int got = tgb_framer_next(s->framer, &f);
        if (got <= 0) {
            rc = got;
            break;
        }
        if (f.type == TGB_FRAME_ERROR) {
            transport_error(s, f.error_code, now);
            return 0;
        }
        if (s->state == HANDSHAKE) {
            rc = handshake_packet(s, f.data, f.len, now);
            if (rc) {
                session_log(s, 2, "auth key exchange with DC %d failed: %s", s->dc_id,
                            tgb_strerror(rc));
                break;
            }
            after_core(s, now);
        } else if (s->state == READY) {
            /*
             * Padded intermediate keeps its 0..15 bytes of padding in the packet; an
             * encrypted message is 24 + 16k bytes, so what is past that is padding.
             */
            size_t n = f.len;
            if ((s->transport & ~TGB_TRANSPORT_OBFUSCATED) == TGB_TRANSPORT_PADDED_INTERMEDIATE &&
                n > 24)
                n -= (n - 24) % 16;
            /* undecryptable packets are dropped by the core; the session goes on */
            tgb_mtp_session_recv(s->core, f.data, n, now);
            s->failures = 0;
            after_core(s, now);
            if (s->conn != conn)
                return 0;
        }
    }
    if (rc < 0) {
        drop_connection(s, now, tgb_strerror(rc));
        return 0;
    }
    want_write(s);
    return 0;
}

size_t tgb_session_pending(tgb_session *s, uint64_t conn, const uint8_t **data)
{
    if (!s || conn != s->conn || !s->conn || s->state == CONNECTING) {
        if (data)
            *data = NULL;
        return 0;
    }
    size_t n = s->out.len - s->out_sent;
    if (data)
        *data = n ? s->out.data + s->out_sent : NULL;
    return n;
}

int tgb_session_sent(tgb_session *s, uint64_t conn, size_t n, tgb_time now)
{
    (void)now;
    if (!s)
        return TGB_ERR_INVALID;
    if (conn != s->conn)
        return TGB_ERR_STATE;
    if (n > s->out.len - s->out_sent)
        return TGB_ERR_INVALID;
    s->out_sent += n;
    if (s->out_sent == s->out.len) {
        /* all written: an idle session keeps no output buffer */
        tgb_buf_free(&s->out);
        s->out_sent = 0;
    } else if (s->out_sent > 65536 && s->out_sent > s->out.len / 2) {
        /* don't let a slow socket keep the whole history */
        memmove(s->out.data, s->out.data + s->out_sent, s->out.len - s->out_sent);
        s->out.len -= s->out_sent;
        s->out_sent = 0;
    }
    return 0;
}

tgb_time tgb_session_next_timeout(const tgb_session *s)
{
    if (!s)
        return TGB_TIME_NEVER;
    tgb_time t = TGB_TIME_NEVER;
    if (s->state == BACKOFF || s->state == IDLE)
        t = s->reconnect_at;
    if (s->core) {
        tgb_time c = tgb_mtp_session_next_timeout(s->core);
        if (c < t)
            t = c;
    }
    if (s->oldest && s->oldest->deadline < t)
        t = s->oldest->deadline;
    if (s->temp_keys && s->have_key && s->temp_renew_at < t)
        t = s->temp_renew_at;
    return t;
}

int tgb_session_timeout(tgb_session *s, tgb_time now)
{
    if (!s)
        return TGB_ERR_INVALID;
    if (s->depth)
        return TGB_ERR_REENTRANT;
    while (s->oldest && s->oldest->deadline <= now) {
        struct call *c = s->oldest;
        detach(s, c);
        call_fail(s, c, TGB_ERR_TIMEOUT);
    }
    if (s->temp_keys && s->have_key && now >= s->temp_renew_at) {
        /* the temporary key is about to expire: a new one (requests move to it) */
        forget_key(s);
        drop_connection(s, now, "temporary key renewal");
        s->failures = 0;
        s->reconnect_at = now;
    }
    if ((s->state == BACKOFF || s->state == IDLE) && s->reconnect_at <= now)
        start_connect(s, now);
    if (s->core) {
        tgb_mtp_session_timeout(s->core, now);
        after_core(s, now);
    }
    return 0;
}

int tgb_session_call(tgb_session *s, const uint8_t *query, size_t len, tgb_rpc_callback callback,
                     void *user_data, uint64_t *call_id, tgb_time now)
{
    if (!s || !query || len < 4 || len % 4 || !callback)
        return TGB_ERR_INVALID;
    if (s->ncalls >= s->nbuckets) {
        int rc = calls_grow(s);
        if (rc)
            return rc;
    }
    struct call *c = calloc(1, sizeof(*c));
    if (!c)
        return TGB_ERR_NOMEM;
    c->query = malloc(len);
    if (!c->query) {
        free(c);
        return TGB_ERR_NOMEM;
    }
    memcpy(c->query, query, len);
    c->len = len;
    c->id = ++s->last_call_id;
    c->cb = callback;
    c->user_data = user_data;
    c->deadline =
        s->request_timeout > 0 ? now + (tgb_time)s->request_timeout * 1000000 : TGB_TIME_NEVER;
    if (s->core && !s->depth && (!s->temp_keys || s->bound)) {
        int rc = tgb_mtp_session_send(s->core, c->id, query, len, now);
        if (rc) {
            free(c->query);
            free(c);
            return rc;
        }
        c->in_core = 1;
    } else if (s->core) {
        s->unsent++; /* from a callback, or before the binding: after_core() hands it over */
    }
    struct call **slot = bucket_of(s, c->id);
    c->hnext = *slot;
    *slot = c;
    c->prev = s->newest;
    if (s->newest)
        s->newest->next = c;
    else
        s->oldest = c;
    s->newest = c;
    s->ncalls++;
    if (call_id)
        *call_id = c->id;
    if (!s->depth)
        flush_core(s, now);
    return 0;
}

int tgb_session_cancel(tgb_session *s, uint64_t call_id)
{
    if (!s)
        return TGB_ERR_INVALID;
    struct call *c = call_find(s, call_id);
    if (!c)
        return TGB_ERR_INVALID;
    detach(s, c);
    call_fail(s, c, TGB_ERR_CANCELLED);
    return 0;
}
