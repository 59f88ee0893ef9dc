/*
 * The emulated DC: connections, auth keys, sessions, salts, faults (see dc.h).
 *
 * Session cores and handshakes are never re-entered from their own callbacks: the
 * session's `query` callback only records what to answer, and its `want_write` only
 * marks it dirty. Answers are delivered, and output pulled, after the call that
 * produced them returns (settle()).
 */
#include "emulator/dc_internal.h"

#include "emulator/auth_server.h"
#include "mtproto/message.h"
#include "mtproto/transport.h"
#include "tl/tl_api.h"
#include "tl/tl_layers.h"
#include "tl/tl_transcode.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An answer waiting to be given (now, or later under the delay fault). */
struct pending_answer {
    struct tgemu_sess *sess;
    uint64_t req_msg_id;
    tgb_time due;
    tgemu_rpc_outcome outcome;
    struct pending_answer *next;
};

struct tgemu_conn {
    tgemu_dc *dc;
    void *user_data;
    tgb_framer *framer;
    tgemu_auth_server *auth;
    tgb_buf out;
    size_t out_sent;
    int messages;    /* client messages carried, for the drop_after fault */
    int close_asked; /* the close callback ran */
    int close_wanted;
    struct tgemu_conn *prev, *next;
};

struct tgemu_dc {
    int id;
    const tgb_rsa_key *rsa;
    const tgb_random *rnd;
    tgemu_dc_option *options;
    size_t noptions;
    char **option_ips;
    uint8_t salt_secret[32];
    tgemu_dc_callbacks cb;
    void *user_data;
    tgb_msg_id_gen ids;

    struct tgemu_key **keys;
    size_t nkey_buckets, nkeys;
    struct tgemu_sess **sess_buckets;
    size_t nsess_buckets, nsess;
    struct tgemu_sess *sessions; /* all, for restart */
    struct tgemu_sess *dirty;
    struct tgemu_conn *conns;

    struct pending_answer *answers, *answers_tail;
    tgemu_faults faults;
    tgemu_dc_stats stats;
    struct tgb_tl_layer_map *maps[3]; /* 144, 198, 227 */
};

static const int map_layers[3] = {144, 198, 227};

void tgemu_dc_log(tgemu_dc *dc, int level, const char *fmt, ...)
{
    if (!dc->cb.log)
        return;
    char line[256];
    int n = snprintf(line, sizeof(line), "DC %d: ", dc->id);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    dc->cb.log(dc->user_data, level, line);
}

int tgemu_dc_id(const tgemu_dc *dc)
{
    return dc->id;
}

const tgemu_dc_option *tgemu_dc_options(const tgemu_dc *dc, size_t *n)
{
    *n = dc->noptions;
    return dc->options;
}

const struct tgb_tl_layer_map *tgemu_dc_layer_map(tgemu_dc *dc, int layer)
{
    static const tgb_tl_schema *const schemas[3] = {
        &tgb_tl_schema_layer144, &tgb_tl_schema_layer198, &tgb_tl_schema_layer227};
    for (int i = 0; i < 3; i++) {
        if (map_layers[i] != layer)
            continue;
        if (!dc->maps[i] && tgb_tl_layer_map_new(&dc->maps[i], &tgb_tl_schema_api, schemas[i]))
            return NULL;
        return dc->maps[i];
    }
    return NULL;
}

/* ------------------------------------------------------------------ keys */

static uint64_t key_id_of(const uint8_t key[256])
{
    uint8_t id[8];
    tgb_auth_key_id(key, id);
    return tgb_le64(id);
}

static struct tgemu_key *key_find(const tgemu_dc *dc, uint64_t id)
{
    if (!dc->nkey_buckets)
        return NULL;
    for (struct tgemu_key *k = dc->keys[id & (dc->nkey_buckets - 1)]; k; k = k->hnext)
        if (k->id == id)
            return k;
    return NULL;
}

static int key_add(tgemu_dc *dc, const uint8_t key[256], int temp, int64_t expires_at,
                   struct tgemu_key **out)
{
    uint64_t id = key_id_of(key);
    struct tgemu_key *k = key_find(dc, id);
    if (k) {
        if (out)
            *out = k;
        return 0;
    }
    if (dc->nkeys >= dc->nkey_buckets) {
        size_t n = dc->nkey_buckets ? dc->nkey_buckets * 2 : 64;
        struct tgemu_key **b = calloc(n, sizeof(*b));
        if (!b)
            return TGB_ERR_NOMEM;
        for (size_t i = 0; i < dc->nkey_buckets; i++) {
            for (struct tgemu_key *p = dc->keys[i], *next; p; p = next) {
                next = p->hnext;
                p->hnext = b[p->id & (n - 1)];
                b[p->id & (n - 1)] = p;
            }
        }
        free(dc->keys);
        dc->keys = b;
        dc->nkey_buckets = n;
    }
    k = calloc(1, sizeof(*k));
    if (!k)
        return TGB_ERR_NOMEM;
    memcpy(k->key, key, 256);
    k->id = id;
    k->temp = temp;
    k->expires_at = expires_at;
    k->hnext = dc->keys[id & (dc->nkey_buckets - 1)];
    dc->keys[id & (dc->nkey_buckets - 1)] = k;
    dc->nkeys++;
    if (out)
        *out = k;
    return 0;
}

struct tgemu_key *tgemu_dc_key(const tgemu_dc *dc, uint64_t id)
{
    return key_find(dc, id);
}

int tgemu_dc_add_key(tgemu_dc *dc, const uint8_t key[256], int temp, int64_t expires_at)
{
    return key_add(dc, key, temp, expires_at, NULL);
}

static int key_id_taken(void *user_data, const uint8_t auth_key_id[8])
{
    return key_find(user_data, tgb_le64(auth_key_id)) != NULL;
}

/* ------------------------------------------------------------------ salts */

/*
 * Salts change every hour and are derived from a secret, the key id and the hour, so
 * a restarted emulator accepts the salts it gave out before. A salt stays valid for
 * the hour after its own (clients switch over with get_future_salts), as Telegram's
 * overlap.
 */
#define SALT_PERIOD 3600

static int64_t salt_for(const tgemu_dc *dc, uint64_t key_id, int64_t period)
{
    uint8_t in[48], h[32];
    memcpy(in, dc->salt_secret, 32);
    tgb_put_le64(in + 32, key_id);
    tgb_put_le64(in + 40, (uint64_t)period);
    tgb_sha256(in, sizeof(in), h);
    return (int64_t)tgb_le64(h);
}

static int salt_valid(void *user_data, int64_t salt, tgb_time now)
{
    struct tgemu_sess *ss = user_data;
    int64_t period = now / 1000000 / SALT_PERIOD;
    /* the key exchange's own salt serves a new key's first messages, as on Telegram */
    if (now < ss->key->first_salt_end && salt == ss->key->first_salt)
        return 1;
    return salt == salt_for(ss->dc, ss->key->id, period) ||
           salt == salt_for(ss->dc, ss->key->id, period - 1);
}

static int64_t salt_current(void *user_data, tgb_time now)
{
    struct tgemu_sess *ss = user_data;
    return salt_for(ss->dc, ss->key->id, now / 1000000 / SALT_PERIOD);
}

static void salt_future(void *user_data, tgb_time now, int i, int64_t *salt, int32_t *since,
                        int32_t *until)
{
    struct tgemu_sess *ss = user_data;
    int64_t period = now / 1000000 / SALT_PERIOD + i;
    *salt = salt_for(ss->dc, ss->key->id, period);
    *since = (int32_t)(period * SALT_PERIOD);
    *until = (int32_t)((period + 2) * SALT_PERIOD);
}

/* ------------------------------------------------------------------ connections */

static void ask_close(tgemu_conn *c)
{
    if (c->close_asked)
        return;
    c->close_asked = 1;
    c->dc->cb.close(c->dc->user_data, c);
}

static void conn_want_write(tgemu_conn *c)
{
    if (c->out.len > c->out_sent && c->dc->cb.want_write && !c->close_asked)
        c->dc->cb.want_write(c->dc->user_data, c);
}

/* ------------------------------------------------------------------ sessions */

static void mark_dirty(struct tgemu_sess *ss)
{
    if (ss->dirty)
        return;
    ss->dirty = 1;
    ss->dirty_next = ss->dc->dirty;
    ss->dc->dirty = ss;
}

static void sess_query(void *user_data, tgemu_session *s, uint64_t req_msg_id, const uint8_t *query,
                       size_t len, tgb_time now)
{
    (void)s;
    struct tgemu_sess *ss = user_data;
    tgemu_dc *dc = ss->dc;
    struct pending_answer *a = calloc(1, sizeof(*a));
    if (!a) {
        tgemu_dc_log(dc, 1, "out of memory answering a query");
        return;
    }
    a->sess = ss;
    a->req_msg_id = req_msg_id;
    a->due = now + (tgb_time)dc->faults.delay_ms * 1000;
    tgb_buf_init(&a->outcome.result, 0);
    dc->stats.queries++;
    if (dc->faults.flood_wait > 0) {
        dc->faults.flood_wait--;
        a->outcome.error_code = 420;
        snprintf(a->outcome.error_message, sizeof(a->outcome.error_message), "FLOOD_WAIT_%d",
                 dc->faults.flood_wait_seconds > 0 ? dc->faults.flood_wait_seconds : 1);
    } else if (tgemu_rpc_execute(dc, ss, req_msg_id, query, len, now, &a->outcome) != 0) {
        a->outcome.error_code = 500;
        snprintf(a->outcome.error_message, sizeof(a->outcome.error_message), "INTERNAL");
    }
    /* answered in order: after what was queued before it */
    if (dc->answers_tail)
        dc->answers_tail->next = a;
    else
        dc->answers = a;
    dc->answers_tail = a;
}

static void sess_want_write(void *user_data, tgemu_session *s)
{
    (void)s;
    mark_dirty(user_data);
}

static void sess_disconnect(void *user_data, tgemu_session *s)
{
    (void)s;
    struct tgemu_sess *ss = user_data;
    if (ss->conn)
        ss->conn->close_wanted = 1;
}

static void sess_destroy(tgemu_dc *dc, struct tgemu_sess *ss);
static struct tgemu_sess *sess_find(const tgemu_dc *dc, uint64_t key_id, uint64_t session_id);

/*
 * destroy_session from a client, for another session of its key. The session is
 * destroyed after the current call into the asking session returns (settle), never
 * from inside it.
 */
static int sess_destroy_other(void *user_data, tgemu_session *s, uint64_t session_id)
{
    (void)s;
    struct tgemu_sess *ss = user_data;
    struct tgemu_sess *other = sess_find(ss->dc, ss->key->id, session_id);
    if (!other || other == ss)
        return 0;
    other->doomed = 1;
    return 1;
}

static struct tgemu_sess *sess_find(const tgemu_dc *dc, uint64_t key_id, uint64_t session_id)
{
    if (!dc->nsess_buckets)
        return NULL;
    for (struct tgemu_sess *ss = dc->sess_buckets[session_id & (dc->nsess_buckets - 1)]; ss;
         ss = ss->hnext)
        if (ss->session_id == session_id && ss->key->id == key_id)
            return ss;
    return NULL;
}

static int sess_buckets_grow(tgemu_dc *dc)
{
    size_t n = dc->nsess_buckets ? dc->nsess_buckets * 2 : 64;
    struct tgemu_sess **b = calloc(n, sizeof(*b));
    if (!b)
        return TGB_ERR_NOMEM;
    for (struct tgemu_sess *ss = dc->sessions; ss; ss = ss->next) {
        ss->hnext = b[ss->session_id & (n - 1)];
        b[ss->session_id & (n - 1)] = ss;
    }
    free(dc->sess_buckets);
    dc->sess_buckets = b;
    dc->nsess_buckets = n;
    return 0;
}

static struct tgemu_sess *sess_create(tgemu_dc *dc, struct tgemu_key *key, uint64_t session_id,
                                      tgb_time now)
{
    if (dc->nsess >= dc->nsess_buckets && sess_buckets_grow(dc) != 0)
        return NULL;
    struct tgemu_sess *ss = calloc(1, sizeof(*ss));
    if (!ss)
        return NULL;
    ss->dc = dc;
    ss->key = key;
    ss->session_id = session_id;
    tgemu_session_config cfg = {key->key, session_id, dc->rnd, &dc->ids};
    tgemu_session_callbacks cb = {0};
    cb.query = sess_query;
    cb.want_write = sess_want_write;
    cb.disconnect = sess_disconnect;
    cb.salt_valid = salt_valid;
    cb.salt_current = salt_current;
    cb.salt_future = salt_future;
    cb.destroy_session = sess_destroy_other;
    if (tgemu_session_new(&ss->s, &cfg, &cb, ss, now) != 0) {
        free(ss);
        return NULL;
    }
    size_t b = session_id & (dc->nsess_buckets - 1);
    ss->hnext = dc->sess_buckets[b];
    dc->sess_buckets[b] = ss;
    ss->next = dc->sessions;
    if (ss->next)
        ss->next->prev = ss;
    dc->sessions = ss;
    dc->nsess++;
    return ss;
}

static void sess_destroy(tgemu_dc *dc, struct tgemu_sess *ss)
{
    for (struct tgemu_sess **p = &dc->sess_buckets[ss->session_id & (dc->nsess_buckets - 1)]; *p;
         p = &(*p)->hnext) {
        if (*p == ss) {
            *p = ss->hnext;
            break;
        }
    }
    if (ss->prev)
        ss->prev->next = ss->next;
    else
        dc->sessions = ss->next;
    if (ss->next)
        ss->next->prev = ss->prev;
    for (struct tgemu_sess **p = &dc->dirty; *p; p = &(*p)->dirty_next) {
        if (*p == ss) {
            *p = ss->dirty_next;
            break;
        }
    }
    /* answers still waiting for it go nowhere */
    struct pending_answer **pp = &dc->answers;
    dc->answers_tail = NULL;
    while (*pp) {
        struct pending_answer *a = *pp;
        if (a->sess == ss) {
            *pp = a->next;
            tgb_buf_free(&a->outcome.result);
            free(a);
            continue;
        }
        dc->answers_tail = a;
        pp = &a->next;
    }
    tgemu_session_del(ss->s);
    free(ss);
    dc->nsess--;
}

/*
 * Delivers the answers that are due, then moves every dirty session's output onto its
 * connection, and asks to close connections that want it.
 */
static void settle(tgemu_dc *dc, tgb_time now)
{
    for (struct tgemu_sess *ss = dc->sessions, *next; ss; ss = next) {
        next = ss->next;
        if (ss->doomed)
            sess_destroy(dc, ss);
    }
    struct pending_answer **pp = &dc->answers;
    dc->answers_tail = NULL;
    while (*pp) {
        struct pending_answer *a = *pp;
        if (a->due > now) {
            dc->answers_tail = a;
            pp = &a->next;
            continue;
        }
        *pp = a->next;
        if (a->outcome.error_code)
            tgemu_session_answer_error(a->sess->s, a->req_msg_id, a->outcome.error_code,
                                       a->outcome.error_message, now);
        else
            tgemu_session_answer(a->sess->s, a->req_msg_id, a->outcome.result.data,
                                 a->outcome.result.len, now);
        mark_dirty(a->sess);
        tgb_buf_free(&a->outcome.result);
        free(a);
    }
    tgb_buf packet;
    tgb_buf_init(&packet, 0);
    while (dc->dirty) {
        struct tgemu_sess *ss = dc->dirty;
        dc->dirty = ss->dirty_next;
        ss->dirty = 0;
        tgemu_conn *c = ss->conn;
        if (!c || c->close_asked || c->close_wanted || !c->framer)
            continue; /* it waits in the session for the client's next connection */
        size_t before = c->out.len;
        for (;;) {
            packet.len = 0;
            if (tgemu_session_pull(ss->s, now, &packet) <= 0)
                break;
            if (tgb_framer_write(c->framer, packet.data, packet.len, dc->rnd, &c->out) != 0) {
                c->close_wanted = 1;
                break;
            }
        }
        if (c->out.len > before)
            conn_want_write(c);
    }
    tgb_buf_free(&packet);
    for (tgemu_conn *c = dc->conns, *next; c; c = next) {
        next = c->next;
        if (c->close_wanted)
            ask_close(c);
    }
}

/* ------------------------------------------------------------------ DC */

int tgemu_dc_new(tgemu_dc **out, const tgemu_dc_config *cfg, const tgemu_dc_callbacks *cb,
                 void *user_data, tgb_time now)
{
    (void)now;
    if (!out || !cfg || !cfg->key || !cb || !cb->close || !cfg->salt_secret)
        return TGB_ERR_INVALID;
    tgemu_dc *dc = calloc(1, sizeof(*dc));
    if (!dc)
        return TGB_ERR_NOMEM;
    dc->id = cfg->dc_id;
    dc->rsa = cfg->key;
    dc->rnd = cfg->rnd;
    dc->cb = *cb;
    dc->user_data = user_data;
    memcpy(dc->salt_secret, cfg->salt_secret, 32);
    tgb_msg_id_gen_init(&dc->ids);
    if (cfg->noptions) {
        dc->options = calloc(cfg->noptions, sizeof(*dc->options));
        dc->option_ips = calloc(cfg->noptions, sizeof(*dc->option_ips));
        if (!dc->options || !dc->option_ips) {
            tgemu_dc_del(dc);
            return TGB_ERR_NOMEM;
        }
        for (size_t i = 0; i < cfg->noptions; i++) {
            size_t n = strlen(cfg->options[i].ip) + 1;
            dc->option_ips[i] = malloc(n);
            if (!dc->option_ips[i]) {
                tgemu_dc_del(dc);
                return TGB_ERR_NOMEM;
            }
            memcpy(dc->option_ips[i], cfg->options[i].ip, n);
            dc->options[i] = cfg->options[i];
            dc->options[i].ip = dc->option_ips[i];
            dc->noptions++;
        }
    }
    *out = dc;
    return 0;
}

void tgemu_dc_del(tgemu_dc *dc)
{
    if (!dc)
        return;
    while (dc->sessions)
        sess_destroy(dc, dc->sessions);
    while (dc->answers) {
        struct pending_answer *a = dc->answers;
        dc->answers = a->next;
        tgb_buf_free(&a->outcome.result);
        free(a);
    }
    for (size_t i = 0; i < dc->nkey_buckets; i++) {
        for (struct tgemu_key *k = dc->keys[i], *next; k; k = next) {
            next = k->hnext;
            memset(k->key, 0, sizeof(k->key));
            free(k);
        }
    }
    for (int i = 0; i < 3; i++)
        tgb_tl_layer_map_del(dc->maps[i]);
    for (size_t i = 0; i < dc->noptions; i++)
        free(dc->option_ips[i]);
    free(dc->option_ips);
    free(dc->options);
    free(dc->keys);
    free(dc->sess_buckets);
    memset(dc->salt_secret, 0, sizeof(dc->salt_secret));
    free(dc);
}

void tgemu_dc_set_faults(tgemu_dc *dc, const tgemu_faults *faults)
{
    dc->faults = *faults;
}

void tgemu_dc_get_faults(const tgemu_dc *dc, tgemu_faults *faults)
{
    *faults = dc->faults;
}

void tgemu_dc_get_stats(const tgemu_dc *dc, tgemu_dc_stats *stats)
{
    *stats = dc->stats;
}

void tgemu_dc_restart(tgemu_dc *dc, tgb_time now)
{
    (void)now;
    tgemu_dc_log(dc, 3, "restart: forgetting %zu sessions", dc->nsess);
    dc->stats.restarts++;
    for (tgemu_conn *c = dc->conns, *next; c; c = next) {
        next = c->next;
        ask_close(c);
    }
    while (dc->sessions)
        sess_destroy(dc, dc->sessions);
}

tgb_time tgemu_dc_next_timeout(const tgemu_dc *dc)
{
    tgb_time t = TGB_TIME_NEVER;
    for (const struct pending_answer *a = dc->answers; a; a = a->next)
        if (a->due < t)
            t = a->due;
    for (const struct tgemu_sess *ss = dc->sessions; ss; ss = ss->next) {
        tgb_time s = tgemu_session_next_timeout(ss->s);
        if (s < t)
            t = s;
    }
    return t;
}

int tgemu_dc_timeout(tgemu_dc *dc, tgb_time now)
{
    for (struct tgemu_sess *ss = dc->sessions; ss; ss = ss->next) {
        if (tgemu_session_next_timeout(ss->s) <= now) {
            tgemu_session_timeout(ss->s, now);
            mark_dirty(ss);
        }
    }
    settle(dc, now);
    return 0;
}

/* ------------------------------------------------------------------ per connection */

int tgemu_conn_new(tgemu_dc *dc, tgemu_conn **out, void *user_data, tgb_time now)
{
    (void)now;
    tgemu_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return TGB_ERR_NOMEM;
    int rc = tgb_framer_new_server(&c->framer, TGB_FRAMER_DEFAULT_MAX_PACKET);
    if (rc) {
        free(c);
        return rc;
    }
    c->dc = dc;
    c->user_data = user_data;
    tgb_buf_init(&c->out, 0);
    c->next = dc->conns;
    if (c->next)
        c->next->prev = c;
    dc->conns = c;
    dc->stats.connections++;
    *out = c;
    return 0;
}

void tgemu_conn_del(tgemu_conn *c, tgb_time now)
{
    if (!c)
        return;
    tgemu_dc *dc = c->dc;
    for (struct tgemu_sess *ss = dc->sessions; ss; ss = ss->next) {
        if (ss->conn == c) {
            ss->conn = NULL;
            tgemu_session_connection_lost(ss->s, now);
        }
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        dc->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    tgb_framer_del(c->framer);
    tgemu_auth_del(c->auth);
    tgb_buf_free(&c->out);
    free(c);
}

void *tgemu_conn_data(const tgemu_conn *c)
{
    return c->user_data;
}

size_t tgemu_conn_pending(tgemu_conn *c, const uint8_t **data)
{
    size_t n = c->out.len - c->out_sent;
    *data = n ? c->out.data + c->out_sent : NULL;
    return n;
}

void tgemu_conn_sent(tgemu_conn *c, size_t n)
{
    if (n > c->out.len - c->out_sent)
        n = c->out.len - c->out_sent;
    c->out_sent += n;
    if (c->out_sent == c->out.len)
        c->out.len = c->out_sent = 0;
}

/* An unencrypted message: a step of the auth-key exchange. */
static void handshake_packet(tgemu_conn *c, const uint8_t *p, size_t len, tgb_time now)
{
    tgemu_dc *dc = c->dc;
    if (!c->auth) {
        tgemu_auth_params params = {dc->rsa, dc->rnd, key_id_taken, dc};
        if (tgemu_auth_new(&c->auth, &params) != 0) {
            c->close_wanted = 1;
            return;
        }
    }
    tgb_buf reply;
    tgb_buf_init(&reply, 0);
    int rc = tgemu_auth_recv(c->auth, p, len, &dc->ids, now, &reply);
    if (rc < 0) {
        tgemu_dc_log(dc, 2, "auth key exchange failed: %s", tgb_strerror(rc));
        c->close_wanted = 1;
    } else {
        if (reply.len && tgb_framer_write(c->framer, reply.data, reply.len, dc->rnd, &c->out))
            c->close_wanted = 1;
        if (rc == TGEMU_AUTH_DONE) {
            tgemu_auth_result r;
            struct tgemu_key *k = NULL;
            if (tgemu_auth_result_get(c->auth, &r) == 0 &&
                key_add(dc, r.auth_key, r.temp, r.temp ? now / 1000000 + r.expires_in : 0, &k) ==
                    0) {
                k->first_salt = r.server_salt;
                k->first_salt_end = now + (tgb_time)1800 * 1000000;
                dc->stats.auth_keys++;
                if (dc->cb.auth_key)
                    dc->cb.auth_key(dc->user_data, r.auth_key, r.temp,
                                    r.temp ? now / 1000000 + r.expires_in : 0);
            }
            memset(&r, 0, sizeof(r));
        }
    }
    tgb_buf_free(&reply);
}

/* An encrypted message: decrypt with its key and hand it to its session. */
static void encrypted_packet(tgemu_conn *c, const uint8_t *p, size_t len, tgb_time now)
{
    tgemu_dc *dc = c->dc;
    struct tgemu_key *key = len >= 8 ? key_find(dc, tgb_le64(p)) : NULL;
    if (!key || (key->temp && key->expires_at && key->expires_at < now / 1000000)) {
        /* Telegram answers an unknown key with transport error -404 */
        tgb_framer_write_error(c->framer, -404, &c->out);
        return;
    }
    /* padded intermediate leaves its 0..15 padding bytes on the packet: cut them off */
    if ((tgb_framer_transport(c->framer) & ~TGB_TRANSPORT_OBFUSCATED) ==
            TGB_TRANSPORT_PADDED_INTERMEDIATE &&
        len > 24)
        len -= (len - 24) % 16;
    if (len < 24 + 32 || (len - 24) % 16) {
        c->close_wanted = 1;
        return;
    }
    uint8_t *plain = malloc(len - 24);
    if (!plain) {
        c->close_wanted = 1;
        return;
    }
    if (tgb_mtproto_decrypt(key->key, TGB_MTPROTO_CLIENT, p, len, plain) != 0) {
        tgemu_dc_log(dc, 2, "a message that does not decrypt with its key: closing");
        free(plain);
        c->close_wanted = 1;
        return;
    }
    uint64_t session_id = tgb_le64(plain + 8);
    struct tgemu_sess *ss = sess_find(dc, key->id, session_id);
    if (!ss)
        ss = sess_create(dc, key, session_id, now);
    if (!ss) {
        free(plain);
        c->close_wanted = 1;
        return;
    }
    ss->conn = c; /* answers go where the client last spoke from */
    dc->stats.messages_in++;
    if (dc->faults.bad_salt > 0) {
        dc->faults.bad_salt--;
        tgemu_session_force_bad_salt(ss->s);
    }
    int rc = tgemu_session_recv(ss->s, plain, len - 24, now);
    if (rc == TGB_ERR_PROTOCOL || rc == TGB_ERR_LIMIT) /* malformed, or a gzip bomb */
        c->close_wanted = 1;
    mark_dirty(ss);
    free(plain);
    c->messages++;
    if (dc->faults.drop_after > 0 && c->messages >= dc->faults.drop_after) {
        /* processed, but the answer never leaves on this connection */
        tgemu_dc_log(dc, 3, "fault: dropping a connection after %d messages", c->messages);
        c->close_wanted = 1;
    }
}

int tgemu_conn_recv(tgemu_conn *c, const uint8_t *data, size_t len, tgb_time now)
{
    tgemu_dc *dc = c->dc;
    if (c->close_asked)
        return 0;
    size_t before = c->out.len;
    if (tgb_framer_feed(c->framer, data, len) != 0) {
        c->close_wanted = 1;
    } else {
        tgb_frame f;
        while (!c->close_wanted && tgb_framer_next(c->framer, &f) == 1) {
            if (f.type != TGB_FRAME_PACKET || f.len < 8) {
                c->close_wanted = 1;
                break;
            }
            if (tgb_le64(f.data) == 0)
                handshake_packet(c, f.data, f.len, now);
            else
                encrypted_packet(c, f.data, f.len, now);
        }
    }
    if (c->out.len > before)
        conn_want_write(c);
    settle(dc, now);
    return 0;
}
