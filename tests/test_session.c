/*
 * Tests for mtproto/session (client) and emulator/session_server (server): the two wired
 * back to back in process, with a fixed clock and deterministic randomness. Every packet
 * that crosses is also decrypted by the test and logged (constructor, msg_id, seqno,
 * what it refers to), so the tests check the wire as well as the callbacks: requests
 * and answers, containers, gzip, acks, salts, clock skew, lost connections, duplicate
 * answers, msgs_state_req, pings, future salts, new sessions, destroy_session, and
 * hostile packets on both sides.
 */
#include "check.h"
#include "emulator/session_server.h"
#include "mtproto/gzip.h"
#include "mtproto/session.h"
#include "tl/tl.h"
#include "tl/tl_api.h"

#define SEC ((tgb_time)1000000)
#define T0  ((tgb_time)1700000000 * SEC)

/* ------------------------------------------------------------------ the world */

#define MAX_ANSWERS 64
#define MAX_QUERIES 64
#define MAX_WIRE    4096

typedef struct answer {
    uint64_t token;
    int count;
    uint8_t result[16384];
    size_t len;
    int code;
    char message[64];
    int order; /* event number when it came */
} answer;

typedef struct query {
    uint64_t req_msg_id;
    uint8_t data[16384];
    size_t len;
} query;

/* One message seen on the wire, inside or outside a container. */
typedef struct wire_msg {
    int s2c;     /* 1: server to client */
    int packet;  /* packet number in its direction */
    int inner;   /* 1: inside a container */
    int gzipped; /* 1: the message (or rpc_result's result) was gzip_packed */
    uint64_t msg_id;
    uint32_t seqno;
    uint32_t id;  /* constructor (after unpacking) */
    uint32_t sub; /* rpc_result: the result's constructor; container: message count */
    uint64_t ref; /* rpc_result/msgs_state_info/future_salts: req_msg_id; pong: msg_id;
                     bad_*: bad_msg_id; new_session_created: first_msg_id; acks: first id */
    int32_t code; /* bad_*: error_code; msgs_state_info: first status byte; acks: count */
    int64_t salt; /* the packet's salt; bad_server_salt: new salt */
} wire_msg;

typedef struct world {
    uint8_t key[256];
    tgb_mtp_session *c;
    tgemu_session *s;
    tgb_msg_id_gen ids;
    uint64_t rnd_c, rnd_s;
    tgb_random rc, rs;
    tgb_time now;

    answer answers[MAX_ANSWERS];
    int nanswers;
    int events;
    int nupdates, update_order;
    uint8_t update[16384];
    size_t update_len;
    int session_created, dead;

    query queries[MAX_QUERIES];
    int nqueries;
    int auto_answer;
    int disconnects;
    int destroy_calls;
    uint64_t destroyed;

    int drop_c2s, drop_s2c; /* drop the next N packets */
    int packets_c2s, packets_s2c;
    int client_rc, server_rc; /* the last recv results */
    wire_msg wire[MAX_WIRE];
    int nwire;
} world;

static const uint8_t init_prefix[16] = {0x0d, 0x0d, 0x9b, 0xda, 0xe4, 0x00, 0x00, 0x00,
                                        0xa9, 0x5e, 0xcd, 0xc1, 0x00, 0x00, 0x00, 0x00};

static int xorshift(void *user_data, uint8_t *out, size_t len)
{
    uint64_t *st = user_data;
    for (size_t i = 0; i < len; i++) {
        *st ^= *st << 13;
        *st ^= *st >> 7;
        *st ^= *st << 17;
        out[i] = (uint8_t)*st;
    }
    return 0;
}

/* Salt i is valid from T0 + i * 30 min for an hour, as Telegram's overlap. */
static int64_t salt_value(int64_t i)
{
    return 0x5a17000000000000 + i;
}

static int64_t salt_index(tgb_time now)
{
    return (now - T0) / (1800 * SEC);
}

static int cb_salt_valid(void *ud, int64_t salt, tgb_time now)
{
    (void)ud;
    int64_t k = salt_index(now);
    return salt == salt_value(k) || (k > 0 && salt == salt_value(k - 1));
}

static int64_t cb_salt_current(void *ud, tgb_time now)
{
    (void)ud;
    return salt_value(salt_index(now));
}

static void cb_salt_future(void *ud, tgb_time now, int i, int64_t *salt, int32_t *since,
                           int32_t *until)
{
    (void)ud;
    int64_t k = salt_index(now) + i;
    *salt = salt_value(k);
    *since = (int32_t)((T0 + k * 1800 * SEC) / SEC);
    *until = *since + 3600;
}

static answer *answer_for(world *w, uint64_t token)
{
    for (int i = 0; i < w->nanswers; i++)
        if (w->answers[i].token == token)
            return &w->answers[i];
    return NULL;
}

static void cb_answer(void *ud, uint64_t token, const tgb_rpc_answer *a)
{
    world *w = ud;
    answer *x = answer_for(w, token);
    if (!x) {
        if (w->nanswers == MAX_ANSWERS)
            return;
        x = &w->answers[w->nanswers++];
        memset(x, 0, sizeof(*x));
        x->token = token;
    }
    x->count++;
    x->order = ++w->events;
    x->len = 0;
    if (a->result && a->result_len <= sizeof(x->result)) {
        memcpy(x->result, a->result, a->result_len);
        x->len = a->result_len;
    }
    x->code = a->rpc_error_code;
    snprintf(x->message, sizeof(x->message), "%s",
             a->rpc_error_message ? a->rpc_error_message : "");
}

static void cb_update(void *ud, const uint8_t *tl, size_t len)
{
    world *w = ud;
    w->nupdates++;
    w->update_order = ++w->events;
    if (len <= sizeof(w->update)) {
        memcpy(w->update, tl, len);
        w->update_len = len;
    }
}

static void cb_session_created(void *ud)
{
    ((world *)ud)->session_created++;
}

static void cb_dead(void *ud)
{
    ((world *)ud)->dead++;
}

static void cb_log(void *ud, int level, const char *line)
{
    (void)ud;
    if (getenv("TEST_SESSION_VERBOSE"))
        fprintf(stderr, "  [client %d] %s\n", level, line);
}

/* Results: a Vector<int> holding the last word of the query, so each is distinct. */
static size_t result_for(const uint8_t *q, size_t len, uint8_t out[12])
{
    tgb_put_le32(out, TGB_TL_ID_VECTOR);
    tgb_put_le32(out + 4, 1);
    memcpy(out + 8, q + len - 4, 4);
    return 12;
}

static void cb_query(void *ud, tgemu_session *s, uint64_t req_msg_id, const uint8_t *q, size_t len,
                     tgb_time now)
{
    world *w = ud;
    if (w->nqueries < MAX_QUERIES) {
        query *x = &w->queries[w->nqueries++];
        x->req_msg_id = req_msg_id;
        x->len = len <= sizeof(x->data) ? len : 0;
        memcpy(x->data, q, x->len);
    }
    if (w->auto_answer) {
        uint8_t r[12];
        CHECK_OK(tgemu_session_answer(s, req_msg_id, r, result_for(q, len, r), now));
    }
}

static void cb_disconnect(void *ud, tgemu_session *s)
{
    (void)s;
    ((world *)ud)->disconnects++;
}

static int cb_destroy(void *ud, tgemu_session *s, uint64_t sid)
{
    (void)s;
    world *w = ud;
    w->destroy_calls++;
    w->destroyed = sid;
    return sid == 0x1111;
}

static tgemu_session_callbacks server_callbacks(void)
{
    tgemu_session_callbacks cb;
    memset(&cb, 0, sizeof(cb));
    cb.query = cb_query;
    cb.disconnect = cb_disconnect;
    cb.salt_valid = cb_salt_valid;
    cb.salt_current = cb_salt_current;
    cb.salt_future = cb_salt_future;
    cb.destroy_session = cb_destroy;
    return cb;
}

static void new_server(world *w)
{
    tgemu_session_del(w->s);
    tgemu_session_config sc = {w->key, tgb_mtp_session_id(w->c), &w->rs, &w->ids};
    tgemu_session_callbacks scb = server_callbacks();
    CHECK_OK(tgemu_session_new(&w->s, &sc, &scb, w, w->now));
}

/* A client with salt `salt` and clock offset `offset` (its idea of server - local). */
static world *world_new(int64_t salt, int64_t offset, int ping_interval)
{
    world *w = calloc(1, sizeof(*w));
    for (int i = 0; i < 256; i++)
        w->key[i] = (uint8_t)(i * 7 + 3);
    w->rnd_c = 0x1234567;
    w->rnd_s = 0x7654321;
    w->rc = (tgb_random){xorshift, &w->rnd_c};
    w->rs = (tgb_random){xorshift, &w->rnd_s};
    w->now = T0 + 5 * SEC;
    w->auto_answer = 1;
    tgb_msg_id_gen_init(&w->ids);

    tgb_mtp_config cc;
    memset(&cc, 0, sizeof(cc));
    cc.auth_key = w->key;
    cc.server_salt = salt;
    cc.time_offset_us = offset;
    cc.rnd = &w->rc;
    cc.init_prefix = init_prefix;
    cc.init_prefix_len = sizeof(init_prefix);
    cc.ping_interval = ping_interval;
    tgb_mtp_callbacks cb;
    memset(&cb, 0, sizeof(cb));
    cb.answer = cb_answer;
    cb.update = cb_update;
    cb.session_created = cb_session_created;
    cb.dead = cb_dead;
    cb.log = cb_log;
    CHECK_OK(tgb_mtp_session_new(&w->c, &cc, &cb, w, w->now));
    new_server(w);
    return w;
}

static void world_del(world *w)
{
    tgb_mtp_session_del(w->c);
    tgemu_session_del(w->s);
    free(w);
}

/* ------------------------------------------------------------------ the wire */

static void wire_add(world *w, const wire_msg *m)
{
    if (w->nwire < MAX_WIRE)
        w->wire[w->nwire++] = *m;
}

/* Logs one message body (already unpacked from a message-level gzip_packed). */
static void wire_body(world *w, wire_msg m, const uint8_t *b, size_t n)
{
    if (n < 4)
        return;
    m.id = tgb_le32(b);
    if (m.id == TL_ID_gzip_packed) {
        tgb_buf out;
        tgb_buf_init(&out, 0);
        size_t zn = b[4] == 254 ? (size_t)(b[5] | b[6] << 8 | b[7] << 16) : b[4];
        const uint8_t *z = b + (b[4] == 254 ? 8 : 5);
        if (tgb_gzip_unpack(z, zn, (size_t)16 << 20, &out) == 0) {
            m.gzipped = 1;
            wire_body(w, m, out.data, out.len);
        }
        tgb_buf_free(&out);
        return;
    }
    if (m.id == TL_ID_rpc_result && n >= 16) {
        m.ref = tgb_le64(b + 4);
        m.sub = tgb_le32(b + 12);
        if (m.sub == TL_ID_gzip_packed)
            m.gzipped = 1;
        if (m.sub == TL_ID_rpc_error)
            m.code = (int32_t)tgb_le32(b + 16);
    } else if ((m.id == TL_ID_bad_msg_notification || m.id == TL_ID_bad_server_salt) && n >= 20) {
        m.ref = tgb_le64(b + 4);
        m.code = (int32_t)tgb_le32(b + 16);
        if (m.id == TL_ID_bad_server_salt)
            m.salt = (int64_t)tgb_le64(b + 20);
    } else if ((m.id == TL_ID_pong || m.id == TL_ID_new_session_created ||
                m.id == TL_ID_future_salts || m.id == TL_ID_msgs_state_info ||
                m.id == TL_ID_destroy_session_ok || m.id == TL_ID_destroy_session_none ||
                m.id == TL_ID_destroy_session) &&
               n >= 12) {
        m.ref = tgb_le64(b + 4);
        if (m.id == TL_ID_msgs_state_info && n >= 14)
            m.code = b[13];
        if (m.id == TL_ID_future_salts && n >= 20)
            m.code = (int32_t)tgb_le32(b + 16);
    } else if ((m.id == TL_ID_msgs_ack || m.id == TL_ID_msgs_state_req ||
                m.id == TL_ID_msg_resend_req) &&
               n >= 12) {
        m.code = (int32_t)tgb_le32(b + 8);
        m.ref = n >= 20 ? tgb_le64(b + 12) : 0;
    } else if (m.id == TL_ID_ping_delay_disconnect && n >= 16) {
        m.ref = tgb_le64(b + 4);
        m.code = (int32_t)tgb_le32(b + 12);
    }
    wire_add(w, &m);
}

/* Decrypts a packet in one direction and logs its messages. */
static void wire_log(world *w, const uint8_t *pkt, size_t len, int s2c)
{
    uint8_t *plain = malloc(len);
    int packet = s2c ? w->packets_s2c : w->packets_c2s;
    if (tgb_mtproto_decrypt(w->key, s2c ? TGB_MTPROTO_SERVER : TGB_MTPROTO_CLIENT, pkt, len,
                            plain) != 0) {
        free(plain);
        return;
    }
    wire_msg m;
    memset(&m, 0, sizeof(m));
    m.s2c = s2c;
    m.packet = packet;
    m.salt = (int64_t)tgb_le64(plain);
    m.msg_id = tgb_le64(plain + 16);
    m.seqno = tgb_le32(plain + 24);
    uint32_t n = tgb_le32(plain + 28);
    const uint8_t *b = plain + 32;
    if (tgb_le32(b) == TL_ID_msg_container) {
        uint32_t count = tgb_le32(b + 4);
        m.id = TL_ID_msg_container;
        m.sub = count;
        wire_add(w, &m);
        const uint8_t *p = b + 8;
        for (uint32_t i = 0; i < count && p < b + n; i++) {
            wire_msg in = m;
            in.inner = 1;
            in.sub = 0;
            in.msg_id = tgb_le64(p);
            in.seqno = tgb_le32(p + 8);
            uint32_t bytes = tgb_le32(p + 12);
            wire_body(w, in, p + 16, bytes);
            p += 16 + bytes;
        }
    } else {
        wire_body(w, m, b, n);
    }
    free(plain);
}

/* Prints the wire log from `from` on, with TEST_SESSION_VERBOSE set. */
static void wire_dump(const world *w, int from)
{
    if (!getenv("TEST_SESSION_VERBOSE"))
        return;
    for (int i = from; i < w->nwire; i++) {
        const wire_msg *m = &w->wire[i];
        fprintf(stderr, "  %s#%d %s %016llx seq %u id %08x sub %08x ref %016llx code %d%s\n",
                m->s2c ? "S>C" : "C>S", m->packet, m->inner ? "  " : "",
                (unsigned long long)m->msg_id, m->seqno, m->id, m->sub, (unsigned long long)m->ref,
                m->code, m->gzipped ? " gz" : "");
    }
}

/* How many logged messages match (direction, constructor), from index `from` on. */
static int wire_count(const world *w, int from, int s2c, uint32_t id)
{
    int n = 0;
    for (int i = from; i < w->nwire; i++)
        n += w->wire[i].s2c == s2c && w->wire[i].id == id;
    return n;
}

static const wire_msg *wire_find(const world *w, int from, int s2c, uint32_t id)
{
    for (int i = from; i < w->nwire; i++)
        if (w->wire[i].s2c == s2c && w->wire[i].id == id)
            return &w->wire[i];
    return NULL;
}

/* The DC's part: decrypt with x = 0 and hand the plaintext to the session. */
static int dc_deliver(world *w, const uint8_t *pkt, size_t len)
{
    uint8_t *plain = malloc(len);
    int rc = tgb_mtproto_decrypt(w->key, TGB_MTPROTO_CLIENT, pkt, len, plain);
    if (rc == 0)
        rc = tgemu_session_recv(w->s, plain, len - 24, w->now);
    free(plain);
    return rc;
}

/* Moves packets both ways until neither side has anything to send. */
static void pump(world *w)
{
    tgb_buf b;
    tgb_buf_init(&b, 0);
    for (int round = 0; round < 100; round++) {
        int moved = 0;
        while (tgb_mtp_session_pull(w->c, w->now, &b) == 1) {
            w->packets_c2s++;
            wire_log(w, b.data, b.len, 0);
            if (w->drop_c2s > 0)
                w->drop_c2s--;
            else
                w->server_rc = dc_deliver(w, b.data, b.len);
            b.len = 0;
            moved++;
        }
        while (tgemu_session_pull(w->s, w->now, &b) == 1) {
            w->packets_s2c++;
            wire_log(w, b.data, b.len, 1);
            if (w->drop_s2c > 0)
                w->drop_s2c--;
            else
                w->client_rc = tgb_mtp_session_recv(w->c, b.data, b.len, w->now);
            b.len = 0;
            moved++;
        }
        if (!moved)
            break;
    }
    tgb_buf_free(&b);
}

/* Advances the clock by `us`, running both sides' timers (every second) and pumping. */
static void advance(world *w, tgb_time us)
{
    tgb_time end = w->now + us;
    while (w->now < end) {
        tgb_time step = end - w->now < SEC ? end - w->now : SEC;
        w->now += step;
        if (tgb_mtp_session_next_timeout(w->c) <= w->now)
            CHECK_OK(tgb_mtp_session_timeout(w->c, w->now));
        if (tgemu_session_next_timeout(w->s) <= w->now)
            CHECK_OK(tgemu_session_timeout(w->s, w->now));
        pump(w);
    }
}

/* A request: a made-up function id, `len` bytes, ending in its tag. */
static size_t make_query(uint8_t *q, size_t len, uint32_t tag)
{
    memset(q, 0, len);
    tgb_put_le32(q, 0x0badf00d);
    for (size_t i = 4; i + 4 < len; i += 4)
        tgb_put_le32(q + i, (uint32_t)(i / 4 % 7));
    tgb_put_le32(q + len - 4, tag);
    return len;
}

static void send_query(world *w, uint64_t token, size_t len)
{
    uint8_t q[8192];
    make_query(q, len, (uint32_t)token);
    CHECK_OK(tgb_mtp_session_send(w->c, token, q, len, w->now));
}

/* The answer to token `t` came once, with the result for the query of tag `t`. */
static void check_answered_once(world *w, uint64_t token)
{
    answer *a = answer_for(w, token);
    CHECK(a != NULL);
    if (!a)
        return;
    CHECK_EQ(a->count, 1);
    CHECK_EQ(a->len, 12);
    CHECK_EQ(tgb_le32(a->result), TGB_TL_ID_VECTOR);
    CHECK_EQ(tgb_le32(a->result + 8), (uint32_t)token);
}

static int queries_with_tag(const world *w, uint32_t tag)
{
    int n = 0;
    for (int i = 0; i < w->nqueries; i++)
        n += w->queries[i].len >= 4 && tgb_le32(w->queries[i].data + w->queries[i].len - 4) == tag;
    return n;
}

static const query *query_with_tag(const world *w, uint32_t tag)
{
    for (int i = 0; i < w->nqueries; i++)
        if (w->queries[i].len >= 4 && tgb_le32(w->queries[i].data + w->queries[i].len - 4) == tag)
            return &w->queries[i];
    return NULL;
}

/* ------------------------------------------------------------------ requests and answers */

static void test_request_answer(void)
{
    world *w = world_new(salt_value(0), 0, 0);
    send_query(w, 1, 8);
    pump(w);
    /* the first request carries the init prefix, then its own bytes */
    CHECK_EQ(w->nqueries, 1);
    uint8_t q[8];
    make_query(q, 8, 1);
    CHECK_EQ(w->queries[0].len, sizeof(init_prefix) + 8);
    CHECK_MEM(w->queries[0].data, init_prefix, sizeof(init_prefix));
    CHECK_MEM(w->queries[0].data + sizeof(init_prefix), q, 8);
    check_answered_once(w, 1);
    CHECK_EQ(w->session_created, 1);
    /* new_session_created came first, naming our first message */
    const wire_msg *ns = wire_find(w, 0, 1, TL_ID_new_session_created);
    const wire_msg *res = wire_find(w, 0, 1, TL_ID_rpc_result);
    CHECK(ns && res && ns < res);
    const wire_msg *req = wire_find(w, 0, 0, 0x0badf00d);
    CHECK(req == NULL); /* the first request is sent with the prefix: another id first */
    CHECK(ns && res && ns->ref == res->ref);
    /* odd server ids: 1 for answers; our ids divisible by 4 */
    CHECK(res && (res->msg_id & 3) == 1);
    CHECK(res && res->ref % 4 == 0);
    CHECK(res && res->seqno % 2 == 1);

    /* the second request has no prefix */
    send_query(w, 2, 8);
    pump(w);
    CHECK_EQ(w->nqueries, 2);
    make_query(q, 8, 2);
    CHECK_EQ(w->queries[1].len, 8);
    CHECK_MEM(w->queries[1].data, q, 8);
    check_answered_once(w, 2);
    CHECK_EQ(w->session_created, 1);

    /* rpc_error */
    w->auto_answer = 0;
    send_query(w, 3, 8);
    pump(w);
    CHECK_EQ(w->nqueries, 3);
    CHECK_OK(
        tgemu_session_answer_error(w->s, w->queries[2].req_msg_id, 420, "FLOOD_WAIT_5", w->now));
    pump(w);
    answer *a = answer_for(w, 3);
    CHECK(a && a->count == 1);
    CHECK(a && a->code == 420);
    CHECK_STR(a ? a->message : NULL, "FLOOD_WAIT_5");
    CHECK(a && a->len == 0);
    const wire_msg *err = wire_find(w, 0, 1, TL_ID_rpc_result);
    while (err && err->sub != TL_ID_rpc_error)
        err = wire_find(w, (int)(err - w->wire) + 1, 1, TL_ID_rpc_result);
    CHECK(err && err->code == 420);

    /* forget: no answer callback, even if the server answers */
    send_query(w, 4, 8);
    pump(w);
    CHECK_OK(tgb_mtp_session_forget(w->c, 4));
    CHECK_EQ(tgb_mtp_session_forget(w->c, 4), TGB_ERR_INVALID);
    CHECK_OK(tgemu_session_answer(w->s, w->queries[3].req_msg_id, q, 8, w->now));
    pump(w);
    CHECK(answer_for(w, 4) == NULL);
    /* a request never sent is never sent */
    send_query(w, 5, 8);
    CHECK_OK(tgb_mtp_session_forget(w->c, 5));
    pump(w);
    CHECK_EQ(w->nqueries, 4);
    /* bad arguments */
    CHECK_EQ(tgb_mtp_session_send(w->c, 6, q, 3, w->now), TGB_ERR_INVALID);
    CHECK_EQ(tgb_mtp_session_send(w->c, 6, q, 0, w->now), TGB_ERR_INVALID);
    world_del(w);
}

static void test_gzip(void)
{
    world *w = world_new(salt_value(0), 0, 0);
    send_query(w, 1, 8);
    pump(w);
    int from = w->nwire;
    /* a large, compressible request goes gzip_packed and arrives as it was */
    send_query(w, 2, 4000);
    pump(w);
    const wire_msg *m = wire_find(w, from, 0, 0x0badf00d);
    CHECK(m && m->gzipped);
    const query *q = query_with_tag(w, 2);
    uint8_t buf[8192];
    make_query(buf, 4000, 2);
    CHECK(q && q->len == 4000);
    CHECK(q && memcmp(q->data, buf, 4000) == 0);
    check_answered_once(w, 2);
    /* an incompressible one goes as it is */
    from = w->nwire;
    uint64_t st = 99;
    uint8_t rnd[1000];
    xorshift(&st, rnd, sizeof(rnd));
    tgb_put_le32(rnd, 0x0badf00d);
    tgb_put_le32(rnd + 996, 3);
    CHECK_OK(tgb_mtp_session_send(w->c, 3, rnd, sizeof(rnd), w->now));
    pump(w);
    m = wire_find(w, from, 0, 0x0badf00d);
    CHECK(m && !m->gzipped);
    q = query_with_tag(w, 3);
    CHECK(q && q->len == sizeof(rnd) && memcmp(q->data, rnd, sizeof(rnd)) == 0);
    /* a small request is never packed */
    from = w->nwire;
    send_query(w, 4, 200);
    pump(w);
    m = wire_find(w, from, 0, 0x0badf00d);
    CHECK(m && !m->gzipped);

    /* a large answer comes packed inside rpc_result and is delivered unpacked */
    w->auto_answer = 0;
    send_query(w, 5, 8);
    pump(w);
    uint8_t big[10000];
    make_query(big, sizeof(big), 77);
    from = w->nwire;
    CHECK_OK(tgemu_session_answer(w->s, w->queries[w->nqueries - 1].req_msg_id, big, sizeof(big),
                                  w->now));
    pump(w);
    m = wire_find(w, from, 1, TL_ID_rpc_result);
    CHECK(m && m->gzipped && m->sub == TL_ID_gzip_packed);
    answer *a = answer_for(w, 5);
    CHECK(a && a->count == 1 && a->len == sizeof(big));
    CHECK(a && memcmp(a->result, big, sizeof(big)) == 0);
    /* a large update comes packed and is delivered unpacked */
    from = w->nwire;
    CHECK_OK(tgemu_session_push(w->s, big, sizeof(big), w->now));
    pump(w);
    m = wire_find(w, from, 1, 0x0badf00d);
    CHECK(m && m->gzipped);
    CHECK_EQ(w->nupdates, 1);
    CHECK_EQ(w->update_len, sizeof(big));
    CHECK(memcmp(w->update, big, sizeof(big)) == 0);
    world_del(w);
}

static void test_container_batch(void)
{
    world *w = world_new(salt_value(0), 0, 0);
    w->auto_answer = 0;
    send_query(w, 1, 8);
    send_query(w, 2, 8);
    send_query(w, 3, 8);
    int from = w->nwire;
    pump(w);
    /* one packet: a container of the three, its msg_id above theirs, seqnos 1, 3, 5 */
    CHECK_EQ(w->packets_c2s, 1);
    const wire_msg *c = wire_find(w, from, 0, TL_ID_msg_container);
    CHECK(c && c->sub == 3);
    CHECK(c && c->seqno == 6);
    CHECK(c && w->wire[c - w->wire + 1].seqno == 1 && w->wire[c - w->wire + 2].seqno == 3 &&
          w->wire[c - w->wire + 3].seqno == 5);
    CHECK(c && w->wire[c - w->wire + 3].msg_id < c->msg_id);
    CHECK_EQ(w->nqueries, 3);
    /* answered out of order, each to its own request */
    uint8_t r[12];
    for (int k = 2; k >= 0; k--) {
        int i = (k + 2) % 3;
        CHECK_OK(tgemu_session_answer(w->s, w->queries[i].req_msg_id, r,
                                      result_for(w->queries[i].data, w->queries[i].len, r),
                                      w->now));
        pump(w);
    }
    check_answered_once(w, 1);
    check_answered_once(w, 2);
    check_answered_once(w, 3);
    CHECK(answer_for(w, 2)->order < answer_for(w, 1)->order);
    CHECK(answer_for(w, 1)->order < answer_for(w, 3)->order);
    world_del(w);
}

static void test_updates_and_order(void)
{
    world *w = world_new(salt_value(0), 0, 0);
    send_query(w, 1, 8);
    pump(w);
    /* updateShort-like bytes pushed: delivered as they are, with a push msg_id (3) */
    uint8_t upd[12];
    tgb_put_le32(upd, TL_ID_updatesTooLong);
    tgb_put_le32(upd + 4, 5);
    tgb_put_le32(upd + 8, 6);
    int from = w->nwire;
    CHECK_OK(tgemu_session_push(w->s, upd, 4, w->now));
    pump(w);
    CHECK_EQ(w->nupdates, 1);
    CHECK_EQ(w->update_len, 4);
    CHECK_EQ(tgb_le32(w->update), TL_ID_updatesTooLong);
    const wire_msg *m = wire_find(w, from, 1, TL_ID_updatesTooLong);
    CHECK(m && (m->msg_id & 3) == 3);
    /* an answer and the update that follows it: the answer comes first */
    w->auto_answer = 0;
    send_query(w, 2, 8);
    pump(w);
    uint8_t r[12];
    CHECK_OK(tgemu_session_answer(w->s, w->queries[1].req_msg_id, r,
                                  result_for(w->queries[1].data, w->queries[1].len, r), w->now));
    CHECK_OK(tgemu_session_push(w->s, upd, 12, w->now));
    pump(w);
    check_answered_once(w, 2);
    CHECK_EQ(w->nupdates, 2);
    CHECK(answer_for(w, 2)->order < w->update_order);
    world_del(w);
}

static void test_acks(void)
{
    world *w = world_new(salt_value(0), 0, 0);
    send_query(w, 1, 8);
    pump(w);
    check_answered_once(w, 1);
    /* the server keeps new_session_created and the answer until we acknowledge them */
    CHECK_EQ(tgemu_session_unacked(w->s), 2);
    int from = w->nwire;
    advance(w, 2 * SEC);
    const wire_msg *ack = wire_find(w, from, 0, TL_ID_msgs_ack);
    CHECK(ack && ack->code == 2 && ack->seqno % 2 == 0);
    CHECK_EQ(tgemu_session_unacked(w->s), 0);
    /* nothing left to acknowledge: the next timer is the future salts' */
    CHECK_EQ(tgb_mtp_session_next_timeout(w->c), T0 + 65 * SEC);

    /* a query the DC answers later is acknowledged by the server within a second */
    w->auto_answer = 0;
    send_query(w, 2, 8);
    pump(w);
    from = w->nwire;
    advance(w, 2 * SEC);
    ack = wire_find(w, from, 1, TL_ID_msgs_ack);
    CHECK(ack && ack->code == 1 && ack->ref == w->queries[1].req_msg_id);
    /* acknowledged, so not resent after a lost connection: the query runs once */
    tgb_mtp_session_connection_lost(w->c, w->now);
    tgemu_session_connection_lost(w->s, w->now);
    tgb_mtp_session_connection_ready(w->c, w->now);
    pump(w);
    CHECK_EQ(w->nqueries, 2);
    uint8_t r[12];
    CHECK_OK(tgemu_session_answer(w->s, w->queries[1].req_msg_id, r,
                                  result_for(w->queries[1].data, w->queries[1].len, r), w->now));
    pump(w);
    check_answered_once(w, 2);
    /* our acks ride on the next request without waiting */
    from = w->nwire;
    w->auto_answer = 1;
    send_query(w, 3, 8);
    pump(w);
    const wire_msg *c = wire_find(w, from, 0, TL_ID_msg_container);
    CHECK(c && c->sub == 2);
    CHECK(wire_find(w, from, 0, TL_ID_msgs_ack) != NULL);
    advance(w, 2 * SEC);
    CHECK_EQ(tgemu_session_unacked(w->s), 0);
    wire_dump(w, 0);
    world_del(w);
}

/* ------------------------------------------------------------------ salts and clocks */

static void test_salt_zero(void)
{
    /* Telethon and GramJS start with salt 0 and expect bad_server_salt */
    world *w = world_new(0, 0, 0);
    send_query(w, 1, 8);
    pump(w);
    const wire_msg *bad = wire_find(w, 0, 1, TL_ID_bad_server_salt);
    CHECK(bad && bad->code == 48 && bad->salt == salt_value(0));
    CHECK(bad && bad->packet == 1 && !bad->inner); /* alone in its packet */
    CHECK_EQ(tgb_mtp_session_salt(w->c), salt_value(0));
    CHECK_EQ(w->nqueries, 1);
    CHECK_EQ(queries_with_tag(w, 1), 1);
    check_answered_once(w, 1);
    /* the resent request still carries the init prefix */
    CHECK_EQ(w->queries[0].len, sizeof(init_prefix) + 8);
    CHECK_EQ(w->session_created, 1);
    world_del(w);
}

static void test_forced_bad_salt(void)
{
    world *w = world_new(salt_value(0), 0, 0);
    send_query(w, 1, 8);
    pump(w);
    advance(w, 2 * SEC);
    int from = w->nwire;
    tgemu_session_force_bad_salt(w->s);
    send_query(w, 2, 8);
    send_query(w, 3, 8);
    pump(w);
    CHECK_EQ(wire_count(w, from, 1, TL_ID_bad_server_salt), 1);
    CHECK_EQ(queries_with_tag(w, 2), 1);
    CHECK_EQ(queries_with_tag(w, 3), 1);
    check_answered_once(w, 2);
    check_answered_once(w, 3);
    world_del(w);
}

static void test_clock_skew(void)
{
    /* 400 s behind: error 16 (more than 300 s old) */
    world *w = world_new(salt_value(0), -400 * SEC, 0);
    send_query(w, 1, 8);
    pump(w);
    const wire_msg *bad = wire_find(w, 0, 1, TL_ID_bad_msg_notification);
    CHECK(bad && bad->code == 16 && !bad->inner);
    CHECK_EQ(queries_with_tag(w, 1), 1);
    check_answered_once(w, 1);
    /* the next request needs no correction */
    int from = w->nwire;
    send_query(w, 2, 8);
    pump(w);
    CHECK_EQ(wire_count(w, from, 1, TL_ID_bad_msg_notification), 0);
    check_answered_once(w, 2);
    world_del(w);

    /* 100 s ahead: error 17 (more than 30 s ahead) */
    w = world_new(salt_value(0), 100 * SEC, 0);
    send_query(w, 1, 8);
    send_query(w, 2, 8);
    pump(w);
    bad = wire_find(w, 0, 1, TL_ID_bad_msg_notification);
    CHECK(bad && bad->code == 17);
    CHECK_EQ(queries_with_tag(w, 1), 1);
    CHECK_EQ(queries_with_tag(w, 2), 1);
    check_answered_once(w, 1);
    check_answered_once(w, 2);
    from = w->nwire;
    send_query(w, 3, 8);
    pump(w);
    CHECK_EQ(wire_count(w, from, 1, TL_ID_bad_msg_notification), 0);
    check_answered_once(w, 3);
    world_del(w);

    /* both the clock and the salt wrong: 16 first, then 48, then the answer */
    w = world_new(0, -400 * SEC, 0);
    send_query(w, 1, 8);
    pump(w);
    bad = wire_find(w, 0, 1, TL_ID_bad_msg_notification);
    const wire_msg *salt = wire_find(w, 0, 1, TL_ID_bad_server_salt);
    CHECK(bad && salt && bad < salt);
    check_answered_once(w, 1);
    world_del(w);
}

static void test_future_salts(void)
{
    world *w = world_new(salt_value(0), 0, 0);
    send_query(w, 1, 8);
    pump(w);
    /* after a minute with a salt, the client asks for the next ones */
    advance(w, 61 * SEC);
    const wire_msg *get = wire_find(w, 0, 0, TL_ID_get_future_salts);
    CHECK(get != NULL);
    const wire_msg *fs = wire_find(w, 0, 1, TL_ID_future_salts);
    CHECK(fs && get && fs->ref == get->msg_id && fs->code == 64);
    /* the server's encoding is the schema's: the codec reads it back */
    /* at T0 + 30 min the next salt takes over, before the old one expires */
    advance(w, T0 + 1800 * SEC - w->now + SEC);
    CHECK_EQ(tgb_mtp_session_salt(w->c), salt_value(1));
    int from = w->nwire;
    send_query(w, 2, 8);
    pump(w);
    CHECK_EQ(wire_count(w, from, 1, TL_ID_bad_server_salt), 0);
    const wire_msg *m = wire_find(w, from, 0, 0x0badf00d);
    CHECK(m && m->salt == salt_value(1));
    check_answered_once(w, 2);
    /* an hour later still no bad_server_salt */
    advance(w, 3600 * SEC);
    from = w->nwire;
    send_query(w, 3, 8);
    pump(w);
    CHECK_EQ(wire_count(w, from, 1, TL_ID_bad_server_salt), 0);
    check_answered_once(w, 3);
    CHECK_EQ(tgb_mtp_session_salt(w->c), salt_value(salt_index(w->now)));
    world_del(w);
}

static void test_future_salts_encoding(void)
{
    /* future_salts as the server writes it decodes with the generated codec */
    world *w = world_new(salt_value(0), 0, 0);
    uint8_t plain[64];
    memset(plain, 0, sizeof(plain));
    tgb_put_le64(plain, (uint64_t)salt_value(0));
    tgb_put_le64(plain + 8, tgb_mtp_session_id(w->c));
    uint64_t id = tgb_msg_id_from_time(w->now);
    tgb_put_le64(plain + 16, id);
    tgb_put_le32(plain + 24, 1);
    tgb_put_le32(plain + 28, 8);
    tgb_put_le32(plain + 32, TL_ID_get_future_salts);
    tgb_put_le32(plain + 36, 3);
    CHECK_OK(tgemu_session_recv(w->s, plain, 64, w->now));
    tgb_buf b;
    tgb_buf_init(&b, 0);
    CHECK_EQ(tgemu_session_pull(w->s, w->now, &b), 1);
    uint8_t *dec = malloc(b.len);
    CHECK_OK(tgb_mtproto_decrypt(w->key, TGB_MTPROTO_SERVER, b.data, b.len, dec));
    /* a container of new_session_created, msgs_ack and future_salts */
    CHECK_EQ(tgb_le32(dec + 32), TL_ID_msg_container);
    const uint8_t *p = dec + 40;
    for (uint32_t i = 0; i < tgb_le32(dec + 36) && tgb_le32(p + 16) != TL_ID_future_salts; i++)
        p += 16 + tgb_le32(p + 12);
    uint32_t len = tgb_le32(p + 12);
    tgb_arena arena;
    tgb_arena_init(&arena, NULL, 0, 0);
    tl_object *obj = NULL;
    CHECK_OK(tgb_tl_decode_object(&tgb_tl_schema_api, &arena, NULL, p + 16, len, &obj, NULL, NULL));
    tl_future_salts *fs = obj && obj->desc == &tgb_tl_c_future_salts ? (tl_future_salts *)obj : 0;
    CHECK(fs != NULL);
    if (fs) {
        CHECK_EQ(fs->req_msg_id, (int64_t)id);
        CHECK_EQ(fs->salts.count, 3);
        CHECK_EQ(fs->salts.items[1]->salt, salt_value(1));
        CHECK_EQ(fs->salts.items[1]->valid_since, (int32_t)(T0 / SEC + 1800));
    }
    tgb_arena_free(&arena);
    free(dec);
    tgb_buf_free(&b);
    world_del(w);
}

/* ------------------------------------------------------------------ loss and duplicates */

static void test_reconnect(void)
{
    world *w = world_new(salt_value(0), 0, 0);
    w->auto_answer = 0;
    send_query(w, 9, 8);
    w->auto_answer = 1;
    pump(w);
    advance(w, 2 * SEC);
    w->auto_answer = 0;
    /* 1..3 reach the server, which acknowledges them */
    send_query(w, 1, 8);
    send_query(w, 2, 8);
    send_query(w, 3, 8);
    pump(w);
    advance(w, 2 * SEC);
    /* 4, 5 reach the server; its acks and answers are lost from here on */
    send_query(w, 4, 8);
    send_query(w, 5, 8);
    w->drop_s2c = 1000;
    pump(w);
    CHECK_EQ(w->nqueries, 6);
    uint8_t r[12];
    /* answered before the loss: 1 and 4 (never delivered) */
    for (int i = 0; i < w->nqueries; i++) {
        uint32_t tag = tgb_le32(w->queries[i].data + w->queries[i].len - 4);
        if (tag == 1 || tag == 4)
            CHECK_OK(tgemu_session_answer(w->s, w->queries[i].req_msg_id, r,
                                          result_for(w->queries[i].data, w->queries[i].len, r),
                                          w->now));
    }
    advance(w, 2 * SEC);
    tgb_mtp_session_connection_lost(w->c, w->now);
    tgemu_session_connection_lost(w->s, w->now);
    w->drop_s2c = 0;
    advance(w, 5 * SEC);
    int from = w->nwire;
    tgb_mtp_session_connection_ready(w->c, w->now);
    pump(w);
    /* 4 and 5 go again with their msg_ids, inside a container; 1..3 do not */
    const wire_msg *c = wire_find(w, from, 0, TL_ID_msg_container);
    CHECK(c != NULL);
    CHECK_EQ(wire_count(w, from, 0, 0x0badf00d), 2);
    /* the stored answers came: 1 and 4 */
    check_answered_once(w, 1);
    check_answered_once(w, 4);
    /* the rest are answered now */
    for (int i = 0; i < w->nqueries; i++) {
        uint32_t tag = tgb_le32(w->queries[i].data + w->queries[i].len - 4);
        if (tag == 2 || tag == 3 || tag == 5)
            CHECK_OK(tgemu_session_answer(w->s, w->queries[i].req_msg_id, r,
                                          result_for(w->queries[i].data, w->queries[i].len, r),
                                          w->now));
    }
    pump(w);
    wire_dump(w, 0);
    for (uint64_t t = 1; t <= 5; t++) {
        check_answered_once(w, t);
        CHECK_EQ(queries_with_tag(w, (uint32_t)t), 1);
    }
    advance(w, 2 * SEC);
    CHECK_EQ(tgemu_session_unacked(w->s), 0);
    world_del(w);
}

static void test_reconnect_late(void)
{
    /* a request lost for longer than the server keeps msg_ids goes with a new one */
    world *w = world_new(salt_value(0), 0, 0);
    send_query(w, 1, 8);
    pump(w);
    w->drop_c2s = 1;
    send_query(w, 2, 8);
    pump(w);
    CHECK_EQ(w->nqueries, 1);
    tgb_mtp_session_connection_lost(w->c, w->now);
    tgemu_session_connection_lost(w->s, w->now);
    w->now += 400 * SEC;
    tgb_mtp_session_connection_ready(w->c, w->now);
    int from = w->nwire;
    pump(w);
    CHECK_EQ(wire_count(w, from, 1, TL_ID_bad_msg_notification), 0);
    CHECK_EQ(queries_with_tag(w, 2), 1);
    check_answered_once(w, 2);
    world_del(w);
}

static void test_double_answer(void)
{
    world *w = world_new(salt_value(0), 0, 0);
    w->auto_answer = 0;
    send_query(w, 1, 8);
    pump(w);
    uint8_t r[12];
    size_t n = result_for(w->queries[0].data, w->queries[0].len, r);
    CHECK_OK(tgemu_session_answer(w->s, w->queries[0].req_msg_id, r, n, w->now));
    CHECK_OK(tgemu_session_answer(w->s, w->queries[0].req_msg_id, r, n, w->now));
    pump(w);
    CHECK_EQ(wire_count(w, 0, 1, TL_ID_rpc_result), 2);
    check_answered_once(w, 1);
    /* and the same answer again later */
    CHECK_OK(tgemu_session_answer(w->s, w->queries[0].req_msg_id, r, n, w->now));
    pump(w);
    check_answered_once(w, 1);
    world_del(w);
}

static void test_state_req(void)
{
    world *w = world_new(salt_value(0), 0, 0);
    send_query(w, 9, 8);
    pump(w);
    w->auto_answer = 0;
    send_query(w, 1, 8);
    pump(w);
    advance(w, 2 * SEC); /* the server acknowledges it */
    const query *q = query_with_tag(w, 1);
    uint8_t r[12];
    w->drop_s2c = 1; /* its answer is lost */
    CHECK_OK(tgemu_session_answer(w->s, q->req_msg_id, r, result_for(q->data, q->len, r), w->now));
    pump(w);
    CHECK(answer_for(w, 1) == NULL);
    int from = w->nwire;
    /* a minute later the client asks; the server says "answered", the client sends the
     * request again with its msg_id, the server sends its stored answer */
    advance(w, 61 * SEC);
    const wire_msg *sr = wire_find(w, from, 0, TL_ID_msgs_state_req);
    CHECK(sr && sr->code == 1 && sr->ref == q->req_msg_id);
    const wire_msg *si = wire_find(w, from, 1, TL_ID_msgs_state_info);
    CHECK(si && sr && si->ref == sr->msg_id && si->code == (4 | 8 | 32 | 64));
    check_answered_once(w, 1);
    CHECK_EQ(queries_with_tag(w, 1), 1);
    world_del(w);
}

/* ------------------------------------------------------------------ keepalive */

static void test_ping(void)
{
    world *w = world_new(salt_value(0), 0, 10);
    send_query(w, 1, 8);
    pump(w);
    tgb_mtp_session_connection_ready(w->c, w->now);
    advance(w, 11 * SEC);
    const wire_msg *ping = wire_find(w, 0, 0, TL_ID_ping_delay_disconnect);
    CHECK(ping && ping->code == 25);
    const wire_msg *pong = wire_find(w, 0, 1, TL_ID_pong);
    CHECK(pong && ping && pong->ref == ping->msg_id);
    advance(w, 20 * SEC);
    CHECK_EQ(w->dead, 0);
    CHECK_EQ(w->disconnects, 0);
    /* pongs stop coming: dead within the interval after the next ping */
    w->drop_s2c = 1000;
    advance(w, 21 * SEC);
    CHECK_EQ(w->dead, 1);
    world_del(w);
}

static void test_ping_delay_disconnect(void)
{
    world *w = world_new(salt_value(0), 0, 10);
    send_query(w, 1, 8);
    pump(w);
    tgb_mtp_session_connection_ready(w->c, w->now);
    advance(w, 11 * SEC);
    /* one at once when the connection is ready (as tdlib), one ping_interval later */
    CHECK_EQ(wire_count(w, 0, 0, TL_ID_ping_delay_disconnect), 2);
    /* no more pings reach the server: it asks the DC to close after 25 s */
    w->drop_c2s = 1000;
    advance(w, 20 * SEC);
    CHECK_EQ(w->disconnects, 0);
    advance(w, 10 * SEC);
    CHECK_EQ(w->disconnects, 1);
    world_del(w);
}

/* ------------------------------------------------------------------ sessions */

static void test_new_session(void)
{
    world *w = world_new(salt_value(0), 0, 0);
    send_query(w, 1, 8);
    pump(w);
    CHECK_EQ(w->session_created, 1);
    /* request 2 is acknowledged by a server that then forgets the session */
    w->auto_answer = 0;
    send_query(w, 2, 8);
    pump(w);
    advance(w, 2 * SEC);
    new_server(w);
    w->auto_answer = 1;
    w->nqueries = 0;
    send_query(w, 3, 8);
    pump(w);
    /* the new server session announces itself; 2 (older) is sent again, with the init
     * prefix because the server forgot initConnection too */
    CHECK_EQ(w->session_created, 2);
    check_answered_once(w, 2);
    check_answered_once(w, 3);
    const query *q2 = query_with_tag(w, 2);
    CHECK(q2 && q2->len == sizeof(init_prefix) + 8);
    /* a repeated notification is handled once */
    world_del(w);
}

static void test_destroy_session(void)
{
    world *w = world_new(salt_value(0), 0, 0);
    send_query(w, 1, 8);
    pump(w);
    CHECK_OK(tgb_mtp_session_destroy_other(w->c, 0x1111, w->now));
    pump(w);
    CHECK_EQ(w->destroy_calls, 1);
    CHECK_EQ(w->destroyed, 0x1111);
    const wire_msg *ok = wire_find(w, 0, 1, TL_ID_destroy_session_ok);
    CHECK(ok && ok->ref == 0x1111);
    CHECK_OK(tgb_mtp_session_destroy_other(w->c, 0x2222, w->now));
    pump(w);
    const wire_msg *none = wire_find(w, 0, 1, TL_ID_destroy_session_none);
    CHECK(none && none->ref == 0x2222);
    /* the session itself is never destroyed this way */
    CHECK_OK(tgb_mtp_session_destroy_other(w->c, tgb_mtp_session_id(w->c), w->now));
    pump(w);
    CHECK_EQ(wire_count(w, 0, 1, TL_ID_destroy_session_none), 2);
    CHECK_EQ(w->destroy_calls, 2);
    /* nothing left waiting */
    advance(w, 2 * SEC);
    CHECK_EQ(tgemu_session_unacked(w->s), 0);
    tgb_buf b;
    tgb_buf_init(&b, 0);
    CHECK_EQ(tgb_mtp_session_pull(w->c, w->now, &b), 0);
    world_del(w);
}

/* ------------------------------------------------------------------ real clients' shapes */

/* A client message as the test writes it, handed to the server session. */
static int raw_to_server(world *w, int64_t salt, uint64_t msg_id, uint32_t seqno,
                         const uint8_t *body, size_t len)
{
    size_t plen = 32 + len + 12;
    plen += (16 - plen % 16) % 16;
    uint8_t *p = calloc(1, plen);
    tgb_put_le64(p, (uint64_t)salt);
    tgb_put_le64(p + 8, tgemu_session_id(w->s));
    tgb_put_le64(p + 16, msg_id);
    tgb_put_le32(p + 24, seqno);
    tgb_put_le32(p + 28, (uint32_t)len);
    memcpy(p + 32, body, len);
    int rc = tgemu_session_recv(w->s, p, plen, w->now);
    free(p);
    return rc;
}

/* Pulls every server packet into the wire log (and drops it). */
static void drain_server(world *w)
{
    tgb_buf b;
    tgb_buf_init(&b, 0);
    while (tgemu_session_pull(w->s, w->now, &b) == 1) {
        w->packets_s2c++;
        wire_log(w, b.data, b.len, 1);
        b.len = 0;
    }
    tgb_buf_free(&b);
}

typedef struct builder {
    uint8_t data[4096];
    size_t len;
    uint32_t count;
} builder;

static void b_msg(builder *b, uint64_t msg_id, uint32_t seqno, const uint8_t *body, size_t n)
{
    if (b->len == 0)
        b->len = 8;
    tgb_put_le64(b->data + b->len, msg_id);
    tgb_put_le32(b->data + b->len + 8, seqno);
    tgb_put_le32(b->data + b->len + 12, (uint32_t)n);
    memcpy(b->data + b->len + 16, body, n);
    b->len += 16 + n;
    b->count++;
    tgb_put_le32(b->data, TL_ID_msg_container);
    tgb_put_le32(b->data + 4, b->count);
}

static void test_mtcute_first_container(void)
{
    /* mtcute: [get_future_salts, invokeWithLayer(...), invokeWithLayer(...)] first */
    world *w = world_new(salt_value(0), 0, 0);
    uint64_t id = tgb_msg_id_from_time(w->now);
    uint8_t salts[8], q1[16], q2[16];
    tgb_put_le32(salts, TL_ID_get_future_salts);
    tgb_put_le32(salts + 4, 64);
    make_query(q1, 16, 1);
    make_query(q2, 16, 2);
    tgb_put_le32(q1, TL_ID_invokeWithLayer);
    tgb_put_le32(q2, TL_ID_invokeWithLayer);
    builder b = {{0}, 0, 0};
    b_msg(&b, id, 1, salts, 8);
    b_msg(&b, id + 4, 3, q1, 16);
    b_msg(&b, id + 8, 5, q2, 16);
    CHECK_OK(raw_to_server(w, salt_value(0), id + 12, 6, b.data, b.len));
    drain_server(w);
    CHECK_EQ(w->nqueries, 2);
    CHECK(w->nqueries == 2 && w->queries[0].req_msg_id == id + 4 &&
          w->queries[1].req_msg_id == id + 8);
    CHECK(w->nqueries == 2 && w->queries[0].len == 16 && memcmp(w->queries[0].data, q1, 16) == 0);
    const wire_msg *ns = wire_find(w, 0, 1, TL_ID_new_session_created);
    CHECK(ns && ns->ref == id);
    const wire_msg *fs = wire_find(w, 0, 1, TL_ID_future_salts);
    CHECK(fs && fs->ref == id);
    CHECK_EQ(wire_count(w, 0, 1, TL_ID_rpc_result), 2);
    const wire_msg *ack = wire_find(w, 0, 1, TL_ID_msgs_ack);
    CHECK(ack == NULL || ack->code >= 1); /* answers acknowledge the queries themselves */
    world_del(w);
}

static void test_gramjs_resend_in_container(void)
{
    /* GramJS: salt 0, bad_server_salt, then the request again in a container with
     * msgs_ack; rpc_result must name the inner msg_id */
    world *w = world_new(salt_value(0), 0, 0);
    uint64_t id = tgb_msg_id_from_time(w->now);
    uint8_t q[8];
    make_query(q, 8, 1);
    CHECK_OK(raw_to_server(w, 0, id, 1, q, 8));
    drain_server(w);
    const wire_msg *bad = wire_find(w, 0, 1, TL_ID_bad_server_salt);
    CHECK(bad && bad->ref == id);
    CHECK_EQ(w->nqueries, 0);
    uint8_t ack[20];
    tgb_put_le32(ack, TL_ID_msgs_ack);
    tgb_put_le32(ack + 4, TGB_TL_ID_VECTOR);
    tgb_put_le32(ack + 8, 1);
    tgb_put_le64(ack + 12, bad ? bad->msg_id : 0);
    builder b = {{0}, 0, 0};
    b_msg(&b, id + 4, 2, ack, 20);
    b_msg(&b, id + 8, 3, q, 8);
    int from = w->nwire;
    CHECK_OK(raw_to_server(w, bad ? bad->salt : 0, id + 12, 4, b.data, b.len));
    drain_server(w);
    CHECK_EQ(w->nqueries, 1);
    const wire_msg *res = wire_find(w, from, 1, TL_ID_rpc_result);
    CHECK(res && res->ref == id + 8);
    /* Telethon's stand-alone ack of everything, even seqno, in a packet of its own */
    uint8_t ack2[28];
    tgb_put_le32(ack2, TL_ID_msgs_ack);
    tgb_put_le32(ack2 + 4, TGB_TL_ID_VECTOR);
    tgb_put_le32(ack2 + 8, 2);
    const wire_msg *ns = wire_find(w, from, 1, TL_ID_new_session_created);
    tgb_put_le64(ack2 + 12, ns ? ns->msg_id : 0);
    tgb_put_le64(ack2 + 20, res ? res->msg_id : 0);
    CHECK_OK(raw_to_server(w, salt_value(0), id + 16, 4, ack2, 28));
    CHECK_EQ(tgemu_session_unacked(w->s), 0);
    world_del(w);
}

/* ------------------------------------------------------------------ hostile: server side */

static void test_server_hostile(void)
{
    world *w = world_new(salt_value(0), 0, 0);
    uint64_t id = tgb_msg_id_from_time(w->now);
    uint8_t q[8];
    make_query(q, 8, 1);
    uint8_t plain[64];
    memset(plain, 0, sizeof(plain));
    /* lengths: shorter than a header, not whole blocks, a body past the end, too little
     * or too much padding, another session */
    CHECK_EQ(tgemu_session_recv(w->s, plain, 32, w->now), TGB_ERR_PROTOCOL);
    CHECK_EQ(tgemu_session_recv(w->s, plain, 50, w->now), TGB_ERR_PROTOCOL);
    tgb_put_le64(plain, (uint64_t)salt_value(0));
    tgb_put_le64(plain + 8, tgemu_session_id(w->s));
    tgb_put_le64(plain + 16, id);
    tgb_put_le32(plain + 24, 1);
    memcpy(plain + 32, q, 8);
    tgb_put_le32(plain + 28, 40);
    CHECK_EQ(tgemu_session_recv(w->s, plain, 64, w->now), TGB_ERR_PROTOCOL);
    tgb_put_le32(plain + 28, 24); /* 8 bytes of padding */
    CHECK_EQ(tgemu_session_recv(w->s, plain, 64, w->now), TGB_ERR_PROTOCOL);
    tgb_put_le32(plain + 28, 6);
    CHECK_EQ(tgemu_session_recv(w->s, plain, 64, w->now), TGB_ERR_PROTOCOL);
    tgb_put_le32(plain + 28, 8);
    tgb_put_le64(plain + 8, 42);
    CHECK_EQ(tgemu_session_recv(w->s, plain, 64, w->now), TGB_ERR_PROTOCOL);
    CHECK_EQ(w->nqueries, 0);

    /* msg_id low bits (18), seqno parity (35) */
    int from = w->nwire;
    CHECK_OK(raw_to_server(w, salt_value(0), id + 1, 1, q, 8));
    CHECK_OK(raw_to_server(w, salt_value(0), id, 2, q, 8));
    drain_server(w);
    const wire_msg *bad = wire_find(w, from, 1, TL_ID_bad_msg_notification);
    CHECK(bad && bad->code == 18);
    CHECK(bad &&
          (bad = wire_find(w, (int)(bad - w->wire) + 1, 1, TL_ID_bad_msg_notification)) != NULL &&
          bad->code == 35);
    CHECK_EQ(w->nqueries, 0);

    /* nested container: 64; a container whose contents claim more than it has: 64 */
    builder inner = {{0}, 0, 0};
    b_msg(&inner, id + 4, 1, q, 8);
    builder outer = {{0}, 0, 0};
    b_msg(&outer, id + 8, 0, inner.data, inner.len);
    from = w->nwire;
    CHECK_OK(raw_to_server(w, salt_value(0), id + 12, 0, outer.data, outer.len));
    builder lie = {{0}, 0, 0};
    b_msg(&lie, id + 16, 1, q, 8);
    tgb_put_le32(lie.data + 4, 5);
    CHECK_OK(raw_to_server(w, salt_value(0), id + 20, 2, lie.data, lie.len));
    drain_server(w);
    CHECK_EQ(wire_count(w, from, 1, TL_ID_bad_msg_notification), 2);
    bad = wire_find(w, from, 1, TL_ID_bad_msg_notification);
    CHECK(bad && bad->code == 64 && bad->ref == id + 12);
    CHECK_EQ(w->nqueries, 0);

    /* a gzip bomb: 10 MiB of zeros, capped */
    size_t zeros = (size_t)10 << 20;
    uint8_t *z = calloc(1, zeros);
    tgb_put_le32(z, 0x0badf00d);
    tgb_buf packed;
    tgb_buf_init(&packed, 0);
    CHECK_OK(tgb_gzip_pack(z, zeros, &packed));
    free(z);
    size_t blen = 4 + 4 + packed.len + 4;
    uint8_t *bomb = calloc(1, blen);
    tgb_put_le32(bomb, TL_ID_gzip_packed);
    bomb[4] = 254;
    bomb[5] = (uint8_t)packed.len;
    bomb[6] = (uint8_t)(packed.len >> 8);
    bomb[7] = (uint8_t)(packed.len >> 16);
    memcpy(bomb + 8, packed.data, packed.len);
    blen = (8 + packed.len + 3) & ~(size_t)3;
    CHECK_EQ(raw_to_server(w, salt_value(0), id + 24, 1, bomb, blen), TGB_ERR_LIMIT);
    /* a gzip_packed that is not gzip */
    memset(bomb + 8, 0x55, 16);
    CHECK_EQ(raw_to_server(w, salt_value(0), id + 24, 1, bomb, 24), TGB_ERR_PROTOCOL);
    free(bomb);
    tgb_buf_free(&packed);
    CHECK_EQ(w->nqueries, 0);

    /* still usable: a good query runs once, its duplicate gets the stored answer */
    from = w->nwire;
    CHECK_OK(raw_to_server(w, salt_value(0), id + 28, 1, q, 8));
    drain_server(w);
    CHECK_EQ(w->nqueries, 1);
    CHECK_OK(raw_to_server(w, salt_value(0), id + 28, 1, q, 8));
    drain_server(w);
    CHECK_EQ(w->nqueries, 1);
    /* the answer was not acknowledged: it went again (same msg_id, in a container) */
    CHECK_EQ(wire_count(w, from, 1, TL_ID_rpc_result), 2);
    /* an acknowledged answer is described by msg_detailed_info instead */
    const wire_msg *res = wire_find(w, from, 1, TL_ID_rpc_result);
    uint8_t ack[20];
    tgb_put_le32(ack, TL_ID_msgs_ack);
    tgb_put_le32(ack + 4, TGB_TL_ID_VECTOR);
    tgb_put_le32(ack + 8, 1);
    tgb_put_le64(ack + 12, res ? res->msg_id : 0);
    CHECK_OK(raw_to_server(w, salt_value(0), id + 32, 2, ack, 20));
    from = w->nwire;
    CHECK_OK(raw_to_server(w, salt_value(0), id + 28, 1, q, 8));
    drain_server(w);
    CHECK_EQ(w->nqueries, 1);
    CHECK_EQ(wire_count(w, from, 1, TL_ID_msg_detailed_info), 1);
    /* a container whose id was seen before: 19; seqno lower than an earlier message: 32 */
    builder again = {{0}, 0, 0};
    b_msg(&again, id + 24, 2, ack, 20);
    from = w->nwire;
    CHECK_OK(raw_to_server(w, salt_value(0), id + 32, 2, again.data, again.len));
    CHECK_OK(raw_to_server(w, salt_value(0), id + 40, 0, ack, 20));
    drain_server(w);
    bad = wire_find(w, from, 1, TL_ID_bad_msg_notification);
    CHECK(bad && bad->code == 19);
    CHECK(bad &&
          (bad = wire_find(w, (int)(bad - w->wire) + 1, 1, TL_ID_bad_msg_notification)) != NULL &&
          bad->code == 32);
    /* rpc_drop_answer for a query still running, and for an unknown one */
    w->auto_answer = 0;
    CHECK_OK(raw_to_server(w, salt_value(0), id + 44, 3, q, 8));
    uint8_t drop[12];
    tgb_put_le32(drop, TL_ID_rpc_drop_answer);
    tgb_put_le64(drop + 4, id + 44);
    from = w->nwire;
    CHECK_OK(raw_to_server(w, salt_value(0), id + 48, 5, drop, 12));
    tgb_put_le64(drop + 4, 12345678);
    CHECK_OK(raw_to_server(w, salt_value(0), id + 52, 7, drop, 12));
    drain_server(w);
    const wire_msg *d = wire_find(w, from, 1, TL_ID_rpc_result);
    CHECK(d && d->ref == id + 48 && d->sub == TL_ID_rpc_answer_dropped_running);
    d = d ? wire_find(w, (int)(d - w->wire) + 1, 1, TL_ID_rpc_result) : NULL;
    CHECK(d && d->ref == id + 52 && d->sub == TL_ID_rpc_answer_unknown);
    /* the dropped query's answer is not sent */
    from = w->nwire;
    CHECK_OK(tgemu_session_answer(w->s, id + 44, q, 8, w->now));
    drain_server(w);
    CHECK_EQ(wire_count(w, from, 1, TL_ID_rpc_result), 0);
    world_del(w);
}

/* ------------------------------------------------------------------ hostile: client side */

/* A server packet as the test writes it. */
static size_t server_packet(world *w, uint8_t *out, uint64_t session_id, uint64_t msg_id,
                            uint32_t seqno, const uint8_t *body, size_t len, size_t pad)
{
    size_t plen = 32 + len + pad;
    plen += (16 - plen % 16) % 16;
    uint8_t *p = calloc(1, plen);
    tgb_put_le64(p, (uint64_t)salt_value(0));
    tgb_put_le64(p + 8, session_id);
    tgb_put_le64(p + 16, msg_id);
    tgb_put_le32(p + 24, seqno);
    tgb_put_le32(p + 28, (uint32_t)len);
    memcpy(p + 32, body, len);
    CHECK_OK(tgb_mtproto_encrypt(w->key, TGB_MTPROTO_SERVER, p, plen, out));
    free(p);
    return 24 + plen;
}

static void check_usable(world *w, uint64_t token)
{
    send_query(w, token, 8);
    pump(w);
    check_answered_once(w, token);
}

static void test_client_hostile(void)
{
    world *w = world_new(salt_value(0), 0, 0);
    send_query(w, 1, 8);
    pump(w);
    uint64_t sid = tgb_mtp_session_id(w->c);
    uint8_t upd[4];
    tgb_put_le32(upd, TL_ID_updatesTooLong);
    static uint8_t pkt[1 << 16];
    /* ids the server's own generator has not handed out */
    uint64_t id = tgb_msg_id_from_time(w->now + 2 * SEC) | 1;
    size_t n;

    /* a good one first, to know the shape works */
    n = server_packet(w, pkt, sid, id, 1, upd, 4, 12);
    CHECK_OK(tgb_mtp_session_recv(w->c, pkt, n, w->now));
    CHECK_EQ(w->nupdates, 1);
    /* the same packet again: a replay */
    CHECK_EQ(tgb_mtp_session_recv(w->c, pkt, n, w->now), TGB_ERR_PROTOCOL);
    CHECK_EQ(w->nupdates, 1);
    /* wrong auth_key_id, tampered ciphertext, tampered msg_key */
    id += 4;
    n = server_packet(w, pkt, sid, id, 1, upd, 4, 12);
    pkt[0] ^= 1;
    CHECK_EQ(tgb_mtp_session_recv(w->c, pkt, n, w->now), TGB_ERR_INTEGRITY);
    pkt[0] ^= 1;
    pkt[40] ^= 1;
    CHECK_EQ(tgb_mtp_session_recv(w->c, pkt, n, w->now), TGB_ERR_INTEGRITY);
    pkt[40] ^= 1;
    pkt[10] ^= 1;
    CHECK_EQ(tgb_mtp_session_recv(w->c, pkt, n, w->now), TGB_ERR_INTEGRITY);
    /* truncated, not whole blocks */
    CHECK_EQ(tgb_mtp_session_recv(w->c, pkt, 40, w->now), TGB_ERR_PROTOCOL);
    CHECK_EQ(tgb_mtp_session_recv(w->c, pkt, n - 1, w->now), TGB_ERR_PROTOCOL);
    /* another session, an even msg_id, a length past the end, too much padding */
    n = server_packet(w, pkt, sid + 1, id, 1, upd, 4, 12);
    CHECK_EQ(tgb_mtp_session_recv(w->c, pkt, n, w->now), TGB_ERR_PROTOCOL);
    n = server_packet(w, pkt, sid, id + 1, 1, upd, 4, 12);
    CHECK_EQ(tgb_mtp_session_recv(w->c, pkt, n, w->now), TGB_ERR_PROTOCOL);
    {
        uint8_t body[64];
        memset(body, 0, sizeof(body));
        tgb_put_le32(body, TL_ID_updatesTooLong);
        n = server_packet(w, pkt, sid, id, 1, body, 4, 12 + 16);
        /* rewrite the length field: decrypting again is simplest, so build by hand */
        uint8_t p[80];
        memset(p, 0, sizeof(p));
        tgb_put_le64(p + 8, sid);
        tgb_put_le64(p + 16, id);
        tgb_put_le32(p + 24, 1);
        tgb_put_le32(p + 28, 64); /* more than there is */
        tgb_put_le32(p + 32, TL_ID_updatesTooLong);
        CHECK_OK(tgb_mtproto_encrypt(w->key, TGB_MTPROTO_SERVER, p, 80, pkt));
        CHECK_EQ(tgb_mtp_session_recv(w->c, pkt, 104, w->now), TGB_ERR_PROTOCOL);
        tgb_put_le32(p + 28, 4); /* 44 bytes of padding: fine */
        CHECK_OK(tgb_mtproto_encrypt(w->key, TGB_MTPROTO_SERVER, p, 80, pkt));
        CHECK_OK(tgb_mtp_session_recv(w->c, pkt, 104, w->now));
        CHECK_EQ(w->nupdates, 2);
    }
    id += 4;
    n = server_packet(w, pkt, sid, id, 1, upd, 4, 1025); /* padding over 1024 */
    CHECK_EQ(tgb_mtp_session_recv(w->c, pkt, n, w->now), TGB_ERR_PROTOCOL);
    /* too old and too far ahead by the server's clock */
    n = server_packet(w, pkt, sid, tgb_msg_id_from_time(w->now - 400 * SEC) | 1, 1, upd, 4, 12);
    CHECK_EQ(tgb_mtp_session_recv(w->c, pkt, n, w->now), TGB_ERR_PROTOCOL);
    n = server_packet(w, pkt, sid, tgb_msg_id_from_time(w->now + 60 * SEC) | 1, 1, upd, 4, 12);
    CHECK_EQ(tgb_mtp_session_recv(w->c, pkt, n, w->now), TGB_ERR_PROTOCOL);
    CHECK_EQ(w->nupdates, 2);
    /* a nested container */
    builder inner = {{0}, 0, 0};
    b_msg(&inner, id + 4, 1, upd, 4);
    builder outer = {{0}, 0, 0};
    b_msg(&outer, id + 8, 0, inner.data, inner.len);
    n = server_packet(w, pkt, sid, id + 12, 0, outer.data, outer.len, 12);
    CHECK_EQ(tgb_mtp_session_recv(w->c, pkt, n, w->now), TGB_ERR_PROTOCOL);
    CHECK_EQ(w->nupdates, 2);
    /* a container that claims more messages than it holds */
    builder lie = {{0}, 0, 0};
    b_msg(&lie, id + 4, 1, upd, 4);
    tgb_put_le32(lie.data + 4, 3);
    n = server_packet(w, pkt, sid, id + 12, 0, lie.data, lie.len, 12);
    CHECK_EQ(tgb_mtp_session_recv(w->c, pkt, n, w->now), TGB_ERR_PROTOCOL);
    CHECK_EQ(w->nupdates, 2);
    /* a gzip bomb in an rpc_result for a live request: capped, nothing delivered */
    w->auto_answer = 0;
    send_query(w, 2, 8);
    pump(w);
    size_t zeros = (size_t)10 << 20;
    uint8_t *z = calloc(1, zeros);
    tgb_put_le32(z, 0x0badf00d);
    tgb_buf packed;
    tgb_buf_init(&packed, 0);
    CHECK_OK(tgb_gzip_pack(z, zeros, &packed));
    free(z);
    uint8_t *res = calloc(1, packed.len + 64);
    tgb_put_le32(res, TL_ID_rpc_result);
    tgb_put_le64(res + 4, query_with_tag(w, 2)->req_msg_id);
    tgb_put_le32(res + 12, TL_ID_gzip_packed);
    res[16] = 254;
    res[17] = (uint8_t)packed.len;
    res[18] = (uint8_t)(packed.len >> 8);
    res[19] = (uint8_t)(packed.len >> 16);
    memcpy(res + 20, packed.data, packed.len);
    size_t rlen = (20 + packed.len + 3) & ~(size_t)3;
    uint8_t *big = malloc(rlen + 1200);
    n = server_packet(w, big, sid, id + 16, 1, res, rlen, 12);
    CHECK_EQ(tgb_mtp_session_recv(w->c, big, n, w->now), TGB_ERR_LIMIT);
    CHECK(answer_for(w, 2) == NULL);
    free(big);
    free(res);
    tgb_buf_free(&packed);
    /* the real answer still comes, once */
    const query *q2 = query_with_tag(w, 2);
    uint8_t r[12];
    CHECK_OK(
        tgemu_session_answer(w->s, q2->req_msg_id, r, result_for(q2->data, q2->len, r), w->now));
    pump(w);
    check_answered_once(w, 2);
    /* bad_msg_notification for a msg_id we never sent changes nothing */
    uint8_t note[28];
    tgb_put_le32(note, TL_ID_bad_server_salt);
    tgb_put_le64(note + 4, 0x1234);
    tgb_put_le32(note + 12, 0);
    tgb_put_le32(note + 16, 48);
    tgb_put_le64(note + 20, 666);
    n = server_packet(w, pkt, sid, id + 20, 0, note, 28, 12);
    CHECK_OK(tgb_mtp_session_recv(w->c, pkt, n, w->now));
    CHECK_EQ(tgb_mtp_session_salt(w->c), salt_value(0));
    w->auto_answer = 1;
    check_usable(w, 3);
    world_del(w);
}

/* The msg_id of the last request with tag `tag` the client put on the wire. */
static uint64_t last_request_id(const world *w, uint32_t tag)
{
    (void)tag;
    for (int i = w->nwire - 1; i >= 0; i--)
        if (!w->wire[i].s2c && w->wire[i].id == 0x0badf00d)
            return w->wire[i].msg_id;
    return 0;
}

static void inject(world *w, uint64_t *server_id, uint32_t seqno, const uint8_t *body, size_t len)
{
    static uint8_t pkt[1 << 16];
    *server_id += 4;
    size_t n = server_packet(w, pkt, tgb_mtp_session_id(w->c), *server_id, seqno, body, len, 12);
    w->client_rc = tgb_mtp_session_recv(w->c, pkt, n, w->now);
}

static void test_client_service(void)
{
    world *w = world_new(salt_value(0), 0, 0);
    send_query(w, 1, 8);
    pump(w);
    uint64_t sid_id = tgb_msg_id_from_time(w->now + 3 * SEC) | 1;

    /* every bad_msg_notification code for a request the server never saw: sent again
     * with a new msg_id, executed once, answered once */
    static const int codes[] = {16, 17, 18, 19, 20, 32, 33, 34, 35, 48, 64};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        uint64_t token = 100 + i;
        w->drop_c2s = 1;
        send_query(w, token, 8);
        pump(w);
        CHECK_EQ(queries_with_tag(w, (uint32_t)token), 0);
        uint64_t bad_id = last_request_id(w, (uint32_t)token);
        uint8_t note[20];
        tgb_put_le32(note, TL_ID_bad_msg_notification);
        tgb_put_le64(note + 4, bad_id);
        tgb_put_le32(note + 12, 1);
        tgb_put_le32(note + 16, (uint32_t)codes[i]);
        /* 16/17 take the server's time from the notification: give the right one */
        inject(w, &sid_id, 0, note, 20);
        CHECK_OK(w->client_rc);
        int from = w->nwire;
        pump(w);
        CHECK(last_request_id(w, (uint32_t)token) != bad_id);
        CHECK_EQ(wire_count(w, from, 1, TL_ID_bad_msg_notification), 0);
        CHECK_EQ(queries_with_tag(w, (uint32_t)token), 1);
        check_answered_once(w, token);
    }

    /* rpc_result inside a top-level gzip_packed */
    w->auto_answer = 0;
    send_query(w, 2, 8);
    pump(w);
    const query *q2 = query_with_tag(w, 2);
    uint8_t res[64];
    tgb_put_le32(res, TL_ID_rpc_result);
    tgb_put_le64(res + 4, q2->req_msg_id);
    size_t rlen = 12 + result_for(q2->data, q2->len, res + 12);
    tgb_buf z;
    tgb_buf_init(&z, 0);
    CHECK_OK(tgb_gzip_pack(res, rlen, &z));
    uint8_t body[256];
    tgb_put_le32(body, TL_ID_gzip_packed);
    body[4] = (uint8_t)z.len;
    memcpy(body + 5, z.data, z.len);
    size_t blen = (5 + z.len + 3) & ~(size_t)3;
    memset(body + 5 + z.len, 0, blen - 5 - z.len);
    inject(w, &sid_id, 1, body, blen);
    CHECK_OK(w->client_rc);
    check_answered_once(w, 2);
    tgb_buf_free(&z);

    /* msg_detailed_info about an answer we never got: msg_resend_req for it; about one
     * we have: an ack */
    int from = w->nwire;
    uint8_t info[28];
    tgb_put_le32(info, TL_ID_msg_detailed_info);
    tgb_put_le64(info + 4, q2->req_msg_id);
    tgb_put_le64(info + 12, 0x123456789abcdef1);
    tgb_put_le32(info + 20, 100);
    tgb_put_le32(info + 24, 0);
    inject(w, &sid_id, 0, info, 28);
    CHECK_OK(w->client_rc);
    pump(w);
    const wire_msg *rr = wire_find(w, from, 0, TL_ID_msg_resend_req);
    CHECK(rr && rr->code == 1 && rr->ref == 0x123456789abcdef1);
    from = w->nwire;
    tgb_put_le64(info + 12, sid_id); /* the last packet we injected */
    inject(w, &sid_id, 0, info, 28);
    advance(w, 2 * SEC);
    const wire_msg *ack = wire_find(w, from, 0, TL_ID_msgs_ack);
    CHECK(ack != NULL);
    CHECK_EQ(wire_count(w, from, 0, TL_ID_msg_resend_req), 0);

    /* msgs_state_req from the server: what we know of its messages */
    from = w->nwire;
    uint8_t req[36];
    tgb_put_le32(req, TL_ID_msgs_state_req);
    tgb_put_le32(req + 4, TGB_TL_ID_VECTOR);
    tgb_put_le32(req + 8, 3);
    tgb_put_le64(req + 12, sid_id);        /* received */
    tgb_put_le64(req + 20, 5);             /* too old to know */
    tgb_put_le64(req + 28, sid_id + 4000); /* not yet received */
    inject(w, &sid_id, 1, req, 36);
    CHECK_OK(w->client_rc);
    pump(w);
    const wire_msg *si = wire_find(w, from, 0, TL_ID_msgs_state_info);
    CHECK(si && si->ref == sid_id && si->code == (4 | 8) && si->seqno % 2 == 0);
    w->auto_answer = 1;
    check_usable(w, 3);
    world_del(w);
}

static void test_limits(void)
{
    world *w = world_new(salt_value(0), 0, 0);
    w->auto_answer = 0;
    send_query(w, 1, 8);
    pump(w);
    /* 1500 requests: containers of at most 1000 messages */
    for (uint64_t t = 10; t < 1510; t++)
        send_query(w, t, 8);
    int from = w->nwire, packets = w->packets_c2s;
    pump(w);
    CHECK_EQ(w->packets_c2s - packets, 2);
    const wire_msg *c = wire_find(w, from, 0, TL_ID_msg_container);
    CHECK(c && c->sub <= 1000 && c->sub >= 500);
    CHECK_EQ(wire_count(w, from, 0, 0x0badf00d), 1500);
    /* one request larger than a container goes alone, even with acks waiting */
    uint8_t *big = malloc((size_t)1100 << 10);
    uint64_t st = 5;
    xorshift(&st, big, (size_t)1100 << 10);
    tgb_put_le32(big, 0x0badf00d);
    w->auto_answer = 1;
    CHECK_OK(tgemu_session_push(w->s, big, 16, w->now)); /* something to acknowledge */
    pump(w);
    from = w->nwire;
    CHECK_OK(tgb_mtp_session_send(w->c, 2, big, (size_t)1100 << 10, w->now));
    CHECK_EQ(tgb_mtp_session_send(w->c, 3, big, (size_t)3 << 20, w->now), TGB_ERR_LIMIT);
    pump(w);
    const wire_msg *m = wire_find(w, from, 0, 0x0badf00d);
    CHECK(m && !m->inner);
    advance(w, 2 * SEC);
    const wire_msg *ack = wire_find(w, from, 0, TL_ID_msgs_ack);
    CHECK(ack && m && ack->packet > m->packet);
    answer *a = answer_for(w, 2);
    CHECK(a && a->count == 1);
    free(big);
    world_del(w);
}

static void test_gzip_unit(void)
{
    /* round trip, the cap exactly at the size, one byte below it, garbage */
    uint8_t data[3000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i % 13);
    tgb_buf z, out;
    tgb_buf_init(&z, 0);
    tgb_buf_init(&out, 0);
    CHECK_OK(tgb_gzip_pack(data, sizeof(data), &z));
    CHECK(z.len < sizeof(data));
    CHECK_OK(tgb_gzip_unpack(z.data, z.len, sizeof(data), &out));
    CHECK_EQ(out.len, sizeof(data));
    CHECK_MEM(out.data, data, sizeof(data));
    out.len = 0;
    CHECK_EQ(tgb_gzip_unpack(z.data, z.len, sizeof(data) - 1, &out), TGB_ERR_LIMIT);
    CHECK_EQ(out.len, 0);
    CHECK_EQ(tgb_gzip_unpack(z.data, z.len - 5, sizeof(data), &out), TGB_ERR_PROTOCOL);
    CHECK_EQ(out.len, 0);
    CHECK_EQ(tgb_gzip_unpack(data, 100, sizeof(data), &out), TGB_ERR_PROTOCOL);
    CHECK_EQ(tgb_gzip_unpack(z.data, 0, sizeof(data), &out), TGB_ERR_PROTOCOL);
    /* empty input packs and unpacks to nothing */
    z.len = 0;
    CHECK_OK(tgb_gzip_pack(data, 0, &z));
    CHECK_OK(tgb_gzip_unpack(z.data, z.len, 0, &out));
    CHECK_EQ(out.len, 0);
    tgb_buf_free(&z);
    tgb_buf_free(&out);
}

int main(void)
{
    RUN(test_gzip_unit);
    RUN(test_request_answer);
    RUN(test_gzip);
    RUN(test_container_batch);
    RUN(test_updates_and_order);
    RUN(test_acks);
    RUN(test_salt_zero);
    RUN(test_forced_bad_salt);
    RUN(test_clock_skew);
    RUN(test_future_salts);
    RUN(test_future_salts_encoding);
    RUN(test_reconnect);
    RUN(test_reconnect_late);
    RUN(test_double_answer);
    RUN(test_state_req);
    RUN(test_ping);
    RUN(test_ping_delay_disconnect);
    RUN(test_new_session);
    RUN(test_destroy_session);
    RUN(test_mtcute_first_container);
    RUN(test_gramjs_resend_in_container);
    RUN(test_server_hostile);
    RUN(test_client_hostile);
    RUN(test_client_service);
    RUN(test_limits);
    return check_report();
}
