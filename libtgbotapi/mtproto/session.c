/*
 * The client side of an MTProto 2.0 session; see session.h. Section names in the
 * comments are those of https://core.telegram.org/mtproto/description (D),
 * /mtproto/service_messages (SM), /mtproto/service_messages_about_messages (SMM) and
 * /mtproto/security_guidelines (SG).
 *
 * Every message we send that waits for something (a request, a ping, get_future_salts,
 * msgs_state_req, destroy_session) is a `req` in one list, in queue order; its state
 * says whether it still needs a new msg_id (QUEUED), must go out again with the msg_id it
 * had (RESEND), is on the wire (SENT) or was acknowledged by the server (ACKED). The
 * answer finds its req by msg_id, and the req is freed when the answer is delivered, so
 * a second answer finds nothing: that is the "exactly once".
 */
#include "mtproto/session.h"
#include "mtproto/gzip.h"
#include "mtproto/wire.h"
#include "tl/tl_api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC ((tgb_time)1000000)

/* SMM "Acknowledgment of Receipt": acks ride on the next packet; a stand-alone one goes
 * after a short while or when more than 16 are waiting. */
#define ACK_DELAY      SEC
#define ACK_STANDALONE 16
/* SMM: "Max 8192 IDs are allowed per constructor." */
/* tdlib packs at most ~1020 messages in a container; Telegram takes about 1 MiB. */
#define CONTAINER_MAX_MSGS  1000
#define CONTAINER_MAX_BYTES ((size_t)1020 << 10)
/* The largest request we queue; a packet Telegram accepts is about 1 MiB. */
#define MAX_REQUEST ((size_t)2 << 20)
/* D "Message Identifier": the server refuses client ids more than 300 s old, so a
 * resend keeps its msg_id only while it is clearly younger than that. */
#define RESEND_SAME_ID_MAX (250 * SEC)
/* SMM "Request for Message Status Information": ask about an acknowledged request
 * when its answer has not come for a while. */
#define STATE_REQ_AFTER (60 * SEC)
/* Future salts: asked once a salt has been in use for a minute, at most once a minute. */
#define SALT_FETCH_AFTER (60 * SEC)
#define SALT_FETCH_RETRY (60 * SEC)
#define MAX_FUTURE_SALTS 4
/* SG "Checking msg_id": server messages more than 300 s old or 30 s ahead are ignored. */
#define SERVER_MSG_MAX_AGE   (300 * SEC)
#define SERVER_MSG_MAX_AHEAD (30 * SEC)
/*
 * Recently seen server msg_ids, to drop duplicates (SG asks for "the last N"). Once the
 * window is full, an id below all of it is dropped as too old (as tdlib does), so a
 * replay cannot slip in behind the window; 64 keeps an idle session small.
 */
#define SEEN_IDS 64
/* Messages per received container we accept; Telegram sends far fewer. */
#define MAX_CONTAINER_IN 1024
/* gzip_packed is tried for requests longer than this (as tdlib and Telethon do). */
#define GZIP_MIN 256

enum req_kind {
    REQ_USER,       /* a request of the owner, named by its token */
    REQ_PING,       /* ping_delay_disconnect */
    REQ_SALTS,      /* get_future_salts */
    REQ_STATE_REQ,  /* msgs_state_req; body holds the ids asked about */
    REQ_RESEND_REQ, /* msg_resend_req; nothing comes back but the messages: not kept */
    REQ_STATE_INFO, /* msgs_state_info answering the server; not kept */
    REQ_DESTROY     /* destroy_session of another session */
};

enum req_state { ST_QUEUED, ST_RESEND, ST_SENT, ST_ACKED };

enum req_flag {
    F_PREFIX = 1,  /* the body is init_prefix ++ data */
    F_CONTENT = 2, /* content-related: odd seqno (D "Content-related Message") */
    F_PICKED = 4,  /* chosen for the packet being built */
    F_BIND = 8     /* auth.bindTempAuthKey: the body is built with its msg_id, see bind_body */
};

typedef struct req {
    struct req *next;
    uint64_t token;
    uint64_t msg_id;       /* 0 until it first goes out */
    uint64_t prev_msg_id;  /* an older msg_id the server may still answer */
    uint64_t container_id; /* the container it last went out in; 0 if alone */
    tgb_time sent_at;      /* when msg_id was made */
    tgb_time acked_at;     /* when the server acknowledged it */
    tgb_time state_at;     /* when we last asked about it (msgs_state_req) */
    uint32_t seqno;
    uint8_t kind, state, flags;
    size_t len;
    uint8_t data[];
} req;

typedef struct future_salt {
    int64_t salt;
    int32_t valid_since, valid_until; /* server Unix time */
} future_salt;

struct tgb_mtp_session {
    uint8_t auth_key[256];
    uint8_t key_id[8];
    tgb_mtp_callbacks cb;
    void *user_data;
    const tgb_random *rnd;
    const uint8_t *init_prefix;
    size_t init_prefix_len;
    int ping_interval;

    uint64_t session_id;
    int64_t salt;
    tgb_time salt_at; /* when `salt` was taken */
    tgb_msg_id_gen ids;
    uint32_t content_sent;    /* content messages sent so far: the n of seqno 2n+1 */
    uint64_t max_accepted_id; /* highest of our ids the server answered or acked */
    int connected;
    int need_init; /* the next request gets init_prefix */

    req *head, *tail;

    /* server msg_ids to acknowledge, allocated while some wait */
    uint64_t *acks;
    uint32_t nacks, acks_cap;
    tgb_time ack_first_at;
    /* the last msgs_ack sent, to send again if the server refuses its packet */
    uint64_t *acks_inflight;
    uint32_t nacks_inflight;
    uint64_t acks_msg_id, acks_container_id;

    uint64_t seen[SEEN_IDS];
    uint32_t nseen, seen_pos;

    tgb_time ping_at;      /* next ping tick */
    tgb_time ping_sent_at; /* the outstanding ping went out then; 0: none */

    future_salt future[MAX_FUTURE_SALTS];
    uint32_t nfuture;
    tgb_time salts_asked_at;

    int have_unique;
    uint64_t unique_id; /* of the last new_session_created */
};

/* ------------------------------------------------------------------ helpers */

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 3, 4)))
#endif
static void
log_line(tgb_mtp_session *s, int level, const char *fmt, ...)
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

/* Appends `n` bytes as TL bytes. The caller reserved tgb_wire_bytes_size(n). */
static void put_bytes(tgb_buf *b, const uint8_t *p, size_t n)
{
    tgb_wire_put_bytes(tgb_buf_extend(b, tgb_wire_bytes_size(n)), p, n);
}

static void put32(tgb_buf *b, uint32_t v)
{
    tgb_put_le32(tgb_buf_extend(b, 4), v);
}

static void put64(tgb_buf *b, uint64_t v)
{
    tgb_put_le64(tgb_buf_extend(b, 8), v);
}

static tgb_time server_now(const tgb_mtp_session *s, tgb_time now)
{
    return now + s->ids.offset_us;
}

/* ------------------------------------------------------------------ requests */

static req *req_new(int kind, uint64_t token, size_t len)
{
    req *r = calloc(1, sizeof(req) + len);
    if (!r)
        return NULL;
    r->kind = (uint8_t)kind;
    r->token = token;
    r->len = len;
    r->state = ST_QUEUED;
    /* D: everything but acks, containers and a few answers needs an acknowledgment;
     * pings, salts, state and resend requests are content-related as tdlib sends them. */
    if (kind != REQ_STATE_INFO)
        r->flags = F_CONTENT;
    return r;
}

static void req_append(tgb_mtp_session *s, req *r)
{
    r->next = NULL;
    if (s->tail)
        s->tail->next = r;
    else
        s->head = r;
    s->tail = r;
}

static void req_unlink(tgb_mtp_session *s, req *r)
{
    req **pp = &s->head, *prev = NULL;
    while (*pp && *pp != r) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp)
        return;
    *pp = r->next;
    if (s->tail == r)
        s->tail = prev;
    r->next = NULL;
}

static req *req_by_msg_id(tgb_mtp_session *s, uint64_t msg_id)
{
    if (!msg_id)
        return NULL;
    /* a request waiting for a new msg_id no longer owns its old one, except the one
     * kept in prev_msg_id */
    for (req *r = s->head; r; r = r->next)
        if ((r->state >= ST_RESEND && r->msg_id == msg_id) || r->prev_msg_id == msg_id)
            return r;
    return NULL;
}

/* Sends `r` again with a new msg_id (and so a new seqno): after the server refused it
 * (bad_msg_notification, bad_server_salt) or forgot it (msgs_state_info, a new session). */
static void req_requeue(req *r)
{
    r->state = ST_QUEUED;
    r->prev_msg_id = 0;
    r->acked_at = 0;
    r->container_id = 0;
}

static int has_ping(const tgb_mtp_session *s)
{
    for (req *r = s->head; r; r = r->next)
        if (r->kind == REQ_PING)
            return 1;
    return 0;
}

static int queue_service(tgb_mtp_session *s, int kind, const uint8_t *body, size_t len)
{
    req *r = req_new(kind, 0, len);
    if (!r)
        return TGB_ERR_NOMEM;
    memcpy(r->data, body, len);
    req_append(s, r);
    return 0;
}

/* A Vector<long> service message (msgs_state_req, msg_resend_req). */
static int queue_id_list(tgb_mtp_session *s, int kind, uint32_t ctor, const uint64_t *ids,
                         uint32_t n)
{
    req *r = req_new(kind, 0, 12 + (size_t)n * 8);
    if (!r)
        return TGB_ERR_NOMEM;
    tgb_put_le32(r->data, ctor);
    tgb_put_le32(r->data + 4, TGB_TL_ID_VECTOR);
    tgb_put_le32(r->data + 8, n);
    for (uint32_t i = 0; i < n; i++)
        tgb_put_le64(r->data + 12 + (size_t)i * 8, ids[i]);
    req_append(s, r);
    return 0;
}

/* ------------------------------------------------------------------ acks, seen ids */

static void ack_add(tgb_mtp_session *s, uint64_t msg_id, tgb_time now)
{
    for (uint32_t i = 0; i < s->nacks; i++)
        if (s->acks[i] == msg_id)
            return;
    if (s->nacks == TGB_WIRE_MAX_IDS)
        return; /* acked again when the server repeats it */
    if (s->nacks == s->acks_cap) {
        uint32_t cap = s->acks_cap ? s->acks_cap * 2 : 8;
        uint64_t *p = realloc(s->acks, cap * sizeof(*p));
        if (!p)
            return;
        s->acks = p;
        s->acks_cap = cap;
    }
    if (s->nacks == 0)
        s->ack_first_at = now;
    s->acks[s->nacks++] = msg_id;
}

static void acks_inflight_requeue(tgb_mtp_session *s, tgb_time now)
{
    for (uint32_t i = 0; i < s->nacks_inflight; i++)
        ack_add(s, s->acks_inflight[i], now);
    free(s->acks_inflight);
    s->acks_inflight = NULL;
    s->nacks_inflight = 0;
    s->acks_msg_id = s->acks_container_id = 0;
}

static int seen_has(const tgb_mtp_session *s, uint64_t id)
{
    for (uint32_t i = 0; i < s->nseen; i++)
        if (s->seen[i] == id)
            return 1;
    return 0;
}

static int seen_too_old(const tgb_mtp_session *s, uint64_t id)
{
    if (s->nseen < SEEN_IDS)
        return 0;
    for (uint32_t i = 0; i < s->nseen; i++)
        if (s->seen[i] < id)
            return 0;
    return 1;
}

static void seen_add(tgb_mtp_session *s, uint64_t id)
{
    s->seen[s->seen_pos] = id;
    s->seen_pos = (s->seen_pos + 1) % SEEN_IDS;
    if (s->nseen < SEEN_IDS)
        s->nseen++;
}

/* SMM "Informational Message regarding Status of Messages", for the server's msgs_state_req
 * and msg_resend_req: what we know of messages the server sent. */
static uint8_t incoming_state(const tgb_mtp_session *s, uint64_t id)
{
    if (seen_has(s, id))
        return 4 | 8; /* received; we acknowledge every content message */
    uint64_t lo = UINT64_MAX, hi = 0;
    for (uint32_t i = 0; i < s->nseen; i++) {
        lo = s->seen[i] < lo ? s->seen[i] : lo;
        hi = s->seen[i] > hi ? s->seen[i] : hi;
    }
    if (!s->nseen || id < lo)
        return 1;
    return id > hi ? 3 : 2;
}

/* ------------------------------------------------------------------ public: lifecycle */

int tgb_mtp_session_new(tgb_mtp_session **out, const tgb_mtp_config *config,
                        const tgb_mtp_callbacks *callbacks, void *user_data, tgb_time now)
{
    *out = NULL;
    if (!config || !config->auth_key || !callbacks || !callbacks->answer ||
        config->ping_interval < 0 || (config->init_prefix_len && !config->init_prefix))
        return TGB_ERR_INVALID;
    tgb_mtp_session *s = calloc(1, sizeof(*s));
    if (!s)
        return TGB_ERR_NOMEM;
    memcpy(s->auth_key, config->auth_key, 256);
    tgb_auth_key_id(s->auth_key, s->key_id);
    s->cb = *callbacks;
    s->user_data = user_data;
    s->rnd = config->rnd;
    s->ping_interval = config->ping_interval;
    s->init_prefix = config->init_prefix; /* borrowed: the owner keeps one per DC */
    s->init_prefix_len = config->init_prefix_len;
    uint8_t sid[8];
    int rc = tgb_random_bytes(s->rnd, sid, sizeof(sid));
    if (rc) {
        tgb_mtp_session_del(s);
        return rc;
    }
    s->session_id = tgb_le64(sid);
    s->salt = config->server_salt;
    s->salt_at = now;
    tgb_msg_id_gen_init(&s->ids);
    s->ids.offset_us = config->time_offset_us;
    /* a session is made when its connection is up; pings start with connection_ready */
    s->connected = 1;
    s->need_init = 1;
    *out = s;
    return 0;
}

void tgb_mtp_session_del(tgb_mtp_session *s)
{
    if (!s)
        return;
    req *r = s->head;
    while (r) {
        req *next = r->next;
        free(r);
        r = next;
    }
    free(s->acks);
    free(s->acks_inflight);
    memset(s->auth_key, 0, sizeof(s->auth_key));
    free(s);
}

int64_t tgb_mtp_session_salt(const tgb_mtp_session *s)
{
    return s->salt;
}

uint64_t tgb_mtp_session_id(const tgb_mtp_session *s)
{
    return s->session_id;
}

/* ------------------------------------------------------------------ sending */

static int has_sendable(const tgb_mtp_session *s, tgb_time now)
{
    if (!s->connected)
        return 0;
    for (req *r = s->head; r; r = r->next)
        if (r->state == ST_QUEUED || r->state == ST_RESEND)
            return 1;
    return s->nacks && (now >= s->ack_first_at + ACK_DELAY || s->nacks > ACK_STANDALONE);
}

static void want_write(tgb_mtp_session *s, tgb_time now)
{
    if (s->cb.want_write && has_sendable(s, now))
        s->cb.want_write(s->user_data);
}

int tgb_mtp_session_send(tgb_mtp_session *s, uint64_t token, const uint8_t *query, size_t len,
                         tgb_time now)
{
    if (!query || len < 4 || len % 4)
        return TGB_ERR_INVALID;
    if (len > MAX_REQUEST)
        return TGB_ERR_LIMIT;
    req *r = req_new(REQ_USER, token, len);
    if (!r)
        return TGB_ERR_NOMEM;
    memcpy(r->data, query, len);
    req_append(s, r);
    want_write(s, now);
    return 0;
}

int tgb_mtp_session_forget(tgb_mtp_session *s, uint64_t token)
{
    for (req *r = s->head; r; r = r->next) {
        if (r->kind != REQ_USER || r->token != token)
            continue;
        /* the server may never have seen the initConnection it carried */
        if ((r->flags & F_PREFIX) && r->state != ST_ACKED)
            s->need_init = 1;
        req_unlink(s, r);
        free(r);
        return 0;
    }
    return TGB_ERR_INVALID;
}

int tgb_mtp_session_destroy_other(tgb_mtp_session *s, uint64_t session_id, tgb_time now)
{
    uint8_t body[12];
    tgb_put_le32(body, TL_ID_destroy_session);
    tgb_put_le64(body + 4, session_id);
    int rc = queue_service(s, REQ_DESTROY, body, sizeof(body));
    if (rc == 0)
        want_write(s, now);
    return rc;
}

/* The serialised body of `r`: init_prefix ++ data for the first request of a session,
 * gzip_packed when that is shorter (SM "Packed Object"). */
/*
 * auth.bindTempAuthKey (https://core.telegram.org/method/auth.bindTempAuthKey): the
 * binding message names the msg_id of the very message that carries the query, so the
 * query is built when that msg_id is known. r->data holds the permanent key (256),
 * the nonce (8) and expires_at (4).
 */
static int bind_body(tgb_buf *b, const tgb_mtp_session *s, const req *r)
{
    const uint8_t *perm_key = r->data;
    uint8_t perm_id[8];
    tgb_auth_key_id(perm_key, perm_id);
    /* salt and session_id random, msg_id the query's, seq_no 0, then the inner object */
    uint8_t plain[80], enc[24 + 80];
    int rc = tgb_random_bytes(s->rnd, plain, 16);
    if (rc)
        return rc;
    tgb_put_le64(plain + 16, r->msg_id);
    tgb_put_le32(plain + 24, 0);
    tgb_put_le32(plain + 28, 40);
    tgb_put_le32(plain + 32, TL_ID_bind_auth_key_inner);
    memcpy(plain + 36, r->data + 256, 8); /* nonce */
    memcpy(plain + 44, s->key_id, 8);     /* temp_auth_key_id */
    memcpy(plain + 52, perm_id, 8);       /* perm_auth_key_id */
    tgb_put_le64(plain + 60, s->session_id);
    memcpy(plain + 68, r->data + 264, 4); /* expires_at */
    if ((rc = tgb_random_bytes(s->rnd, plain + 72, 8)) != 0 ||
        (rc = tgb_mtproto1_encrypt(perm_key, TGB_MTPROTO_CLIENT, plain, 80, 72, enc)) != 0)
        return rc;
    put32(b, TL_ID_auth_bindTempAuthKey);
    tgb_buf_append(b, perm_id, 8);
    tgb_buf_append(b, r->data + 256, 8);
    tgb_buf_append(b, r->data + 264, 4);
    put_bytes(b, enc, sizeof(enc));
    memset(plain, 0, sizeof(plain));
    return 0;
}

int tgb_mtp_session_send_bind(tgb_mtp_session *s, uint64_t token, const uint8_t perm_key[256],
                              int64_t nonce, int32_t expires_at, tgb_time now)
{
    req *r = req_new(REQ_USER, token, 256 + 8 + 4);
    if (!r)
        return TGB_ERR_NOMEM;
    memcpy(r->data, perm_key, 256);
    tgb_put_le64(r->data + 256, (uint64_t)nonce);
    tgb_put_le32(r->data + 264, (uint32_t)expires_at);
    r->flags |= F_BIND;
    /* it must be the first thing this key says: at the head of the queue */
    r->next = s->head;
    s->head = r;
    if (!s->tail)
        s->tail = r;
    want_write(s, now);
    return 0;
}

static int write_body(tgb_buf *b, const tgb_mtp_session *s, const req *r)
{
    if (r->flags & F_BIND)
        return bind_body(b, s, r);
    const uint8_t *p = r->data;
    size_t n = r->len;
    tgb_buf joined, packed;
    tgb_buf_init(&joined, 0);
    tgb_buf_init(&packed, 0);
    int rc = 0;
    if (r->flags & F_PREFIX) {
        if ((rc = tgb_buf_append(&joined, s->init_prefix, s->init_prefix_len)) != 0 ||
            (rc = tgb_buf_append(&joined, r->data, r->len)) != 0)
            goto done;
        p = joined.data;
        n = joined.len;
    }
    if (r->kind == REQ_USER && n >= GZIP_MIN && tgb_gzip_pack(p, n, &packed) == 0 &&
        4 + tgb_wire_bytes_size(packed.len) < n) {
        put32(b, TL_ID_gzip_packed);
        put_bytes(b, packed.data, packed.len);
    } else {
        rc = tgb_buf_append(b, p, n);
    }
done:
    tgb_buf_free(&joined);
    tgb_buf_free(&packed);
    return rc;
}

static size_t body_upper(const tgb_mtp_session *s, const req *r)
{
    return r->len +
           ((r->flags & F_PREFIX) || (r->kind == REQ_USER && r->state == ST_QUEUED && s->need_init)
                ? s->init_prefix_len
                : 0);
}

static uint32_t next_seqno(tgb_mtp_session *s, int content)
{
    return content ? 2 * s->content_sent++ + 1 : 2 * s->content_sent;
}

int tgb_mtp_session_pull(tgb_mtp_session *s, tgb_time now, tgb_buf *out)
{
    if (!s->connected)
        return 0;

    /* Choose what goes: requests in queue order up to the container's limits; a first
     * request too large for a container goes alone. */
    size_t nmsgs = 0, bytes = 0;
    int resend_same_id = 0;
    for (req *r = s->head; r; r = r->next) {
        if (r->state != ST_QUEUED && r->state != ST_RESEND)
            continue;
        if (r->state == ST_RESEND && now - r->sent_at >= RESEND_SAME_ID_MAX) {
            /* too old for the server to take that msg_id: a new one, but the old may
             * still be answered */
            r->prev_msg_id = r->msg_id;
            r->state = ST_QUEUED;
        }
        size_t size = 16 + body_upper(s, r);
        if (nmsgs && (nmsgs + 1 >= CONTAINER_MAX_MSGS || bytes + size > CONTAINER_MAX_BYTES))
            break;
        r->flags |= F_PICKED;
        nmsgs++;
        bytes += size;
        resend_same_id |= r->state == ST_RESEND;
        if (size > CONTAINER_MAX_BYTES)
            break;
    }
    int oversized = nmsgs == 1 && bytes > CONTAINER_MAX_BYTES;
    int with_acks = s->nacks && !oversized &&
                    (nmsgs || now >= s->ack_first_at + ACK_DELAY || s->nacks > ACK_STANDALONE);
    size_t total = nmsgs + (with_acks ? 1 : 0);
    if (!total)
        return 0;
    /* D "Message Identifier": a message sent again with its old msg_id must travel in a
     * container with a new one. */
    int container = total > 1 || (resend_same_id && !oversized);
    if (oversized) {
        for (req *r = s->head; r; r = r->next)
            if ((r->flags & F_PICKED) && r->state == ST_RESEND) {
                r->prev_msg_id = r->msg_id;
                r->state = ST_QUEUED;
            }
    }

    tgb_buf plain;
    tgb_buf_init(&plain, 0);
    size_t upper = 32 + 8 + bytes + (with_acks ? 16 + 12 + (size_t)s->nacks * 8 : 0) + 32;
    int rc = tgb_buf_reserve(&plain, upper);
    if (rc)
        goto fail;
    tgb_buf_extend(&plain, 32); /* salt, session_id, msg_id, seqno, length: filled below */
    if (container) {
        put32(&plain, TL_ID_msg_container);
        put32(&plain, (uint32_t)total);
    }
    uint64_t top_id = 0;
    uint32_t top_seqno = 0;

    uint64_t ack_id = 0;
    if (with_acks) {
        ack_id = tgb_msg_id_next(&s->ids, now, TGB_MSG_ID_CLIENT);
        uint32_t seqno = next_seqno(s, 0);
        if (container) {
            put64(&plain, ack_id);
            put32(&plain, seqno);
            put32(&plain, 12 + s->nacks * 8);
        } else {
            top_id = ack_id;
            top_seqno = seqno;
        }
        put32(&plain, TL_ID_msgs_ack);
        put32(&plain, TGB_TL_ID_VECTOR);
        put32(&plain, s->nacks);
        for (uint32_t i = 0; i < s->nacks; i++)
            put64(&plain, s->acks[i]);
    }

    for (req *r = s->head; r; r = r->next) {
        if (!(r->flags & F_PICKED))
            continue;
        if (r->state == ST_QUEUED) {
            if (r->flags & F_BIND) {
                /* not wrapped: the binding goes before initConnection */
            } else if (r->kind == REQ_USER && s->need_init && s->init_prefix_len) {
                /* the first request of every new session carries invokeWithLayer +
                 * initConnection (https://core.telegram.org/api/invoking#layers) */
                r->flags |= F_PREFIX;
                s->need_init = 0;
            } else if (r->kind == REQ_USER && s->need_init) {
                s->need_init = 0;
            }
            r->msg_id = tgb_msg_id_next(&s->ids, now, TGB_MSG_ID_CLIENT);
            r->seqno = next_seqno(s, r->flags & F_CONTENT);
            r->sent_at = now;
        }
        r->state_at = now;
        size_t len_at = 0;
        if (container) {
            put64(&plain, r->msg_id);
            put32(&plain, r->seqno);
            len_at = plain.len;
            put32(&plain, 0);
        } else {
            top_id = r->msg_id;
            top_seqno = r->seqno;
        }
        size_t body_at = plain.len;
        if ((rc = write_body(&plain, s, r)) != 0)
            goto fail;
        if (container)
            tgb_put_le32(plain.data + len_at, (uint32_t)(plain.len - body_at));
    }

    uint64_t container_id = 0;
    if (container) {
        /* D: the container's msg_id is made after those of its contents */
        container_id = top_id = tgb_msg_id_next(&s->ids, now, TGB_MSG_ID_CLIENT);
        top_seqno = next_seqno(s, 0);
    }
    tgb_msg_header h = {s->salt, s->session_id, top_id, top_seqno};
    if ((rc = tgb_encrypted_wrap(&plain, &h, s->auth_key, TGB_MTPROTO_CLIENT, s->rnd, out)) != 0)
        goto fail;
    tgb_buf_free(&plain);

    /* The packet is out: update what was in it. */
    req *r = s->head;
    while (r) {
        req *next = r->next;
        if (r->flags & F_PICKED) {
            r->flags &= (uint8_t)~F_PICKED;
            r->container_id = container_id;
            r->state = ST_SENT;
            if (r->kind == REQ_PING)
                s->ping_sent_at = s->ping_sent_at ? s->ping_sent_at : now;
            if (r->kind == REQ_STATE_INFO || r->kind == REQ_RESEND_REQ) {
                req_unlink(s, r);
                free(r);
            }
        }
        r = next;
    }
    if (with_acks) {
        free(s->acks_inflight);
        s->acks_inflight = s->acks;
        s->nacks_inflight = s->nacks;
        s->acks_msg_id = ack_id;
        s->acks_container_id = container_id;
        s->acks = NULL;
        s->nacks = s->acks_cap = 0;
    }
    return 1;

fail:
    for (req *q = s->head; q; q = q->next)
        q->flags &= (uint8_t)~F_PICKED;
    tgb_buf_free(&plain);
    return rc;
}

/* ------------------------------------------------------------------ receiving */

/* One message of a received packet, after unpacking (the container is flattened). */
typedef struct in_msg {
    uint64_t msg_id;
    uint32_t seqno;
    const uint8_t *body;
    size_t len;
    const uint8_t *result; /* rpc_result: the result object, unpacked */
    size_t result_len;
    size_t body_off, result_off; /* into the unpack buffer, SIZE_MAX if not there */
} in_msg;

/* Unpacks a message body (gzip_packed) and an rpc_result's result (gzip_packed too). */
static int decode_msg(in_msg *m, tgb_buf *unpacked)
{
    m->body_off = m->result_off = SIZE_MAX;
    const uint8_t *b = m->body;
    if (m->len < 4)
        return TGB_ERR_PROTOCOL;
    if (tgb_le32(b) == TL_ID_gzip_packed) {
        int rc = tgb_gzip_packed_unpack(b, m->len, unpacked, &m->body_off, &m->len);
        if (rc)
            return rc;
        b = unpacked->data + m->body_off;
        uint32_t id = tgb_le32(b);
        if (id == TL_ID_gzip_packed || id == TL_ID_msg_container)
            return TGB_ERR_PROTOCOL;
    }
    if (tgb_le32(b) == TL_ID_rpc_result) {
        if (m->len < 16)
            return TGB_ERR_PROTOCOL;
        m->result_len = m->len - 12;
        if (tgb_le32(b + 12) == TL_ID_gzip_packed) {
            int rc = tgb_gzip_packed_unpack(b + 12, m->result_len, unpacked, &m->result_off,
                                            &m->result_len);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* Flattens the packet body into messages: SM "Simple Container" parsed by hand (count,
 * then msg_id, seqno, bytes, body per message), gzip_packed unpacked within a total cap.
 * Nothing is acted on yet, so a bad packet changes nothing. */
static int flatten(const uint8_t *body, size_t len, uint64_t msg_id, uint32_t seqno,
                   tgb_buf *unpacked, in_msg **msgs, size_t *count, in_msg *one)
{
    in_msg top = {msg_id, seqno, body, len, NULL, 0, SIZE_MAX, SIZE_MAX};
    int rc = decode_msg(&top, unpacked);
    if (rc)
        return rc;
    /* decode_msg refused a gzip_packed container: only a body left as sent can be one */
    if (top.body_off != SIZE_MAX || tgb_le32(body) != TL_ID_msg_container) {
        *one = top;
        *msgs = one;
        *count = 1;
        return 0;
    }
    tgb_wire r = {body + 4, len - 4, 0};
    uint32_t n = tgb_wire_u32(&r);
    if (r.bad || n > MAX_CONTAINER_IN || (size_t)n * 16 > r.n)
        return TGB_ERR_PROTOCOL;
    in_msg *v = calloc(n ? n : 1, sizeof(*v));
    if (!v)
        return TGB_ERR_NOMEM;
    for (uint32_t i = 0; i < n && !rc; i++) {
        v[i].msg_id = tgb_wire_u64(&r);
        v[i].seqno = tgb_wire_u32(&r);
        uint32_t bytes = tgb_wire_u32(&r);
        if (r.bad || bytes % 4 || bytes < 4 || bytes > r.n) {
            rc = TGB_ERR_PROTOCOL;
            break;
        }
        v[i].body = r.p;
        v[i].len = bytes;
        r.p += bytes;
        r.n -= bytes;
        if (tgb_le32(v[i].body) == TL_ID_msg_container) {
            rc = TGB_ERR_PROTOCOL; /* SM: containers do not nest */
            break;
        }
        rc = decode_msg(&v[i], unpacked);
    }
    if (!rc && r.n)
        rc = TGB_ERR_PROTOCOL;
    if (rc) {
        free(v);
        return rc;
    }
    *msgs = v;
    *count = n;
    return 0;
}

static void resolve(in_msg *m, const tgb_buf *unpacked)
{
    if (m->body_off != SIZE_MAX)
        m->body = unpacked->data + m->body_off;
    if (tgb_le32(m->body) == TL_ID_rpc_result)
        m->result = m->result_off != SIZE_MAX ? unpacked->data + m->result_off : m->body + 12;
}

static void note_accepted(tgb_mtp_session *s, uint64_t msg_id)
{
    if (msg_id > s->max_accepted_id)
        s->max_accepted_id = msg_id;
}

static void deliver(tgb_mtp_session *s, req *r, const uint8_t *res, size_t len)
{
    tgb_rpc_answer a;
    memset(&a, 0, sizeof(a));
    char *message = NULL;
    if (len >= 4 && tgb_le32(res) == TL_ID_rpc_error) {
        tgb_wire rd = {res + 4, len - 4, 0};
        int32_t code = (int32_t)tgb_wire_u32(&rd);
        size_t mlen = 0;
        const uint8_t *m = tgb_wire_bytes(&rd, &mlen);
        if (!rd.bad) {
            message = malloc(mlen + 1);
            if (message) {
                memcpy(message, m, mlen);
                message[mlen] = 0;
                a.rpc_error_code = code;
                a.rpc_error_message = message;
            }
        }
    }
    if (!a.rpc_error_message) {
        a.result = res;
        a.result_len = len;
    }
    uint64_t token = r->token;
    req_unlink(s, r);
    free(r);
    s->cb.answer(s->user_data, token, &a);
    free(message);
}

static void on_future_salts(tgb_mtp_session *s, const uint8_t *b, size_t n, tgb_time now)
{
    /* future_salts#ae500895 req_msg_id:long now:int salts:vector<future_salt>: a bare
     * vector of bare future_salt (valid_since:int valid_until:int salt:long) */
    tgb_wire r = {b + 4, n - 4, 0};
    uint64_t req_msg_id = tgb_wire_u64(&r);
    int32_t server_time = (int32_t)tgb_wire_u32(&r);
    uint32_t count = tgb_wire_u32(&r);
    if (r.bad || (size_t)count * 16 > r.n) {
        log_line(s, 2, "bad future_salts");
        return;
    }
    req *q = req_by_msg_id(s, req_msg_id);
    if (q && q->kind == REQ_SALTS) {
        req_unlink(s, q);
        free(q);
    }
    /* the server says what time it is: take it for the salts' validity */
    (void)server_time;
    int32_t tnow = (int32_t)(server_now(s, now) / SEC);
    s->nfuture = 0;
    for (uint32_t i = 0; i < count; i++) {
        future_salt f;
        f.valid_since = (int32_t)tgb_wire_u32(&r);
        f.valid_until = (int32_t)tgb_wire_u32(&r);
        f.salt = (int64_t)tgb_wire_u64(&r);
        if (f.valid_until <= tnow)
            continue;
        /* keep the earliest few, sorted by valid_since */
        uint32_t at = s->nfuture;
        while (at > 0 && s->future[at - 1].valid_since > f.valid_since)
            at--;
        if (at >= MAX_FUTURE_SALTS)
            continue;
        uint32_t last = s->nfuture < MAX_FUTURE_SALTS ? s->nfuture : MAX_FUTURE_SALTS - 1;
        memmove(&s->future[at + 1], &s->future[at], (last - at) * sizeof(future_salt));
        s->future[at] = f;
        if (s->nfuture < MAX_FUTURE_SALTS)
            s->nfuture++;
    }
    log_line(s, 4, "future_salts: %u, %u kept", count, s->nfuture);
}

static void on_bad_msg(tgb_mtp_session *s, const in_msg *m, uint32_t id, tgb_time now)
{
    tgb_wire r = {m->body + 4, m->len - 4, 0};
    uint64_t bad_id = tgb_wire_u64(&r);
    uint32_t bad_seqno = tgb_wire_u32(&r);
    int32_t code = (int32_t)tgb_wire_u32(&r);
    int64_t new_salt = id == TL_ID_bad_server_salt ? (int64_t)tgb_wire_u64(&r) : 0;
    if (r.bad) {
        log_line(s, 2, "bad bad_msg_notification");
        return;
    }
    /* SMM "Notice of Ignored Error Message": act only on a message we did send */
    int known = 0;
    for (req *q = s->head; q; q = q->next)
        if (q->state == ST_SENT && (q->msg_id == bad_id || q->container_id == bad_id))
            known = 1;
    int acks = s->nacks_inflight &&
               (s->acks_msg_id == bad_id || (s->acks_container_id == bad_id && bad_id));
    if (!known && !acks) {
        log_line(s, 3, "bad_msg_notification %d for unknown msg_id %016llx ignored", code,
                 (unsigned long long)bad_id);
        return;
    }
    switch (code) {
    case 48:
        /* SMM: take the salt and send the message again */
        if (id == TL_ID_bad_server_salt) {
            s->salt = new_salt;
            s->salt_at = now;
            s->nfuture = 0;
        }
        log_line(s, 3, "bad_server_salt: new salt, resending");
        break;
    case 16:
    case 17:
        /* SMM 16/17: the client's clock is wrong: take the server's time from this
         * notification's own msg_id and send again with a new msg_id */
        tgb_msg_id_sync(&s->ids, m->msg_id, now);
        if (code == 17) {
            /* our ids ran ahead: let new ones go back, but not below the ids the server
             * already took (a lower one with a higher seqno would be error 33) */
            s->ids.last = s->max_accepted_id;
        }
        log_line(s, 2, "bad_msg_notification %d: clock offset now %lld us", code,
                 (long long)s->ids.offset_us);
        break;
    case 32:
        /* SMM 32: the server saw a higher seqno than ours: jump ahead, as Telethon does */
        s->content_sent += 64;
        log_line(s, 2, "bad_msg_notification 32 (seqno %u too low)", bad_seqno);
        break;
    case 33:
        /* a new msg_id (higher than every earlier one) fixes a seqno too high */
        log_line(s, 2, "bad_msg_notification 33 (seqno %u too high)", bad_seqno);
        break;
    case 34:
    case 35:
        /* parity: the server disagrees on what is content-related; follow it */
        for (req *q = s->head; q; q = q->next)
            if (q->state == ST_SENT && q->msg_id == bad_id && q->kind != REQ_USER) {
                if (code == 34)
                    q->flags &= (uint8_t)~F_CONTENT;
                else
                    q->flags |= F_CONTENT;
            }
        log_line(s, 1, "bad_msg_notification %d for %016llx", code, (unsigned long long)bad_id);
        break;
    default:
        /* 18 (low bits), 19 (container id reused), 20 (too old), 64 (invalid container)
         * and unknown codes: our bug or lost state; a new msg_id is the cure for all */
        log_line(s, code == 20 ? 2 : 1, "bad_msg_notification %d for %016llx", code,
                 (unsigned long long)bad_id);
        break;
    }
    for (req *q = s->head; q; q = q->next)
        if (q->state == ST_SENT && (q->msg_id == bad_id || q->container_id == bad_id))
            req_requeue(q);
    if (acks)
        acks_inflight_requeue(s, now);
}

static void on_new_session(tgb_mtp_session *s, const in_msg *m)
{
    tgb_wire r = {m->body + 4, m->len - 4, 0};
    uint64_t first_msg_id = tgb_wire_u64(&r);
    uint64_t unique_id = tgb_wire_u64(&r);
    int64_t salt = (int64_t)tgb_wire_u64(&r);
    if (r.bad)
        return;
    /* tdlib: keep unique_id so that a repeated notification is handled once */
    if (s->have_unique && s->unique_id == unique_id)
        return;
    int first = !s->have_unique;
    s->have_unique = 1;
    s->unique_id = unique_id;
    s->salt = salt;
    /* SM "New Session Creation Notification": messages before first_msg_id were not
     * seen by this session of the server; send them again */
    for (req *q = s->head; q; q = q->next)
        if (q->state != ST_QUEUED && q->msg_id < first_msg_id)
            req_requeue(q);
    /* a server that forgot us forgot initConnection too */
    if (!first)
        s->need_init = 1;
    log_line(s, 3, "new_session_created (first_msg_id %016llx)", (unsigned long long)first_msg_id);
    if (s->cb.session_created)
        s->cb.session_created(s->user_data);
}

/* msgs_state_info / msgs_all_info about requests of ours (SMM). */
static void on_states(tgb_mtp_session *s, const uint8_t *ids, uint32_t n, const uint8_t *info,
                      size_t ninfo, tgb_time now)
{
    if (ninfo != n) {
        log_line(s, 2, "msgs_state_info: %zu states for %u ids", ninfo, n);
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        req *q = req_by_msg_id(s, tgb_le64(ids + (size_t)i * 8));
        if (!q || q->state < ST_SENT)
            continue;
        uint8_t st = info[i];
        if ((st & 7) != 4) {
            /* 1, 2, 3: the server does not have it: send it again, with a new msg_id */
            req_requeue(q);
        } else if (st & 64) {
            /* answered, but the answer never came: the same msg_id again makes the server
             * send its stored answer (or msg_detailed_info) */
            q->state = ST_RESEND;
            q->state_at = now;
        } else {
            if (q->state == ST_SENT) {
                q->state = ST_ACKED;
                q->acked_at = now;
            }
            q->state_at = now; /* still running: ask again later */
        }
    }
}

static void on_state_req(tgb_mtp_session *s, const in_msg *m, int resend, tgb_time now)
{
    tgb_wire r = {m->body + 4, m->len - 4, 0};
    uint32_t n = 0;
    const uint8_t *ids = tgb_wire_long_vector(&r, &n);
    if (r.bad)
        return;
    if (resend) {
        /* SMM "Explicit Request to Re-Send Messages": we keep no copies of what we sent
         * except unanswered requests; those go again with their msg_id */
        int all = 1;
        for (uint32_t i = 0; i < n; i++) {
            req *q = req_by_msg_id(s, tgb_le64(ids + (size_t)i * 8));
            all &= q && q->state >= ST_SENT;
        }
        if (all) {
            for (uint32_t i = 0; i < n; i++)
                req_by_msg_id(s, tgb_le64(ids + (size_t)i * 8))->state = ST_RESEND;
            return;
        }
    }
    /* msgs_state_info#04deb57d req_msg_id:long info:string */
    req *q = req_new(REQ_STATE_INFO, 0, 12 + tgb_wire_bytes_size(n));
    uint8_t *info = malloc(n ? n : 1);
    if (!q || !info) {
        free(q);
        free(info);
        return;
    }
    for (uint32_t i = 0; i < n; i++)
        info[i] = incoming_state(s, tgb_le64(ids + (size_t)i * 8));
    tgb_buf b = {q->data, 0, q->len, q->len};
    put32(&b, TL_ID_msgs_state_info);
    put64(&b, m->msg_id);
    put_bytes(&b, info, n);
    free(info);
    req_append(s, q);
    (void)now;
}

static void on_detailed_info(tgb_mtp_session *s, const in_msg *m, int is_new, tgb_time now)
{
    tgb_wire r = {m->body + 4, m->len - 4, 0};
    uint64_t msg_id = is_new ? 0 : tgb_wire_u64(&r);
    uint64_t answer_msg_id = tgb_wire_u64(&r);
    if (r.bad)
        return;
    req *q = req_by_msg_id(s, msg_id);
    if (q && q->state == ST_SENT) {
        q->state = ST_ACKED;
        q->acked_at = q->state_at = now;
    }
    /* SMM "Extended Voluntary Communication of Status of One Message": acknowledge the
     * answer if it came, else ask for it */
    if (seen_has(s, answer_msg_id))
        ack_add(s, answer_msg_id, now);
    else
        queue_id_list(s, REQ_RESEND_REQ, TL_ID_msg_resend_req, &answer_msg_id, 1);
}

static void dispatch(tgb_mtp_session *s, const in_msg *m, tgb_time now)
{
    uint32_t id = tgb_le32(m->body);
    tgb_wire r = {m->body + 4, m->len - 4, 0};
    switch (id) {
    case TL_ID_rpc_result: {
        uint64_t req_msg_id = tgb_le64(m->body + 4);
        req *q = req_by_msg_id(s, req_msg_id);
        if (!q) {
            /* an answer we delivered already (a resend, a duplicate) or forgot */
            log_line(s, 4, "rpc_result for unknown %016llx ignored",
                     (unsigned long long)req_msg_id);
            return;
        }
        note_accepted(s, q->msg_id);
        if (q->kind == REQ_USER) {
            deliver(s, q, m->result, m->result_len);
        } else if (q->kind == REQ_SALTS && m->result_len >= 4 &&
                   tgb_le32(m->result) == TL_ID_future_salts) {
            on_future_salts(s, m->result, m->result_len, now);
        } else {
            req_unlink(s, q);
            free(q);
        }
        return;
    }
    case TL_ID_msgs_ack: {
        uint32_t n = 0;
        const uint8_t *ids = tgb_wire_long_vector(&r, &n);
        for (uint32_t i = 0; i < n && !r.bad; i++) {
            uint64_t a = tgb_le64(ids + (size_t)i * 8);
            for (req *q = s->head; q; q = q->next) {
                if (q->state != ST_SENT || !(q->msg_id == a || q->container_id == a))
                    continue;
                /* SMM: acknowledged, so not sent again on reconnect; its answer is
                 * still to come */
                q->state = ST_ACKED;
                q->acked_at = q->state_at = now;
                note_accepted(s, q->msg_id);
            }
        }
        return;
    }
    case TL_ID_bad_server_salt:
    case TL_ID_bad_msg_notification: on_bad_msg(s, m, id, now); return;
    case TL_ID_new_session_created: on_new_session(s, m); return;
    case TL_ID_pong: {
        uint64_t ping_msg_id = tgb_wire_u64(&r);
        if (r.bad)
            return;
        req *q = req_by_msg_id(s, ping_msg_id);
        if (q && q->kind == REQ_PING) {
            note_accepted(s, q->msg_id);
            req_unlink(s, q);
            free(q);
            s->ping_sent_at = 0;
        }
        return;
    }
    case TL_ID_future_salts: on_future_salts(s, m->body, m->len, now); return;
    case TL_ID_msgs_state_req:
    case TL_ID_msg_resend_req: on_state_req(s, m, id == TL_ID_msg_resend_req, now); return;
    case TL_ID_msgs_state_info: {
        uint64_t req_msg_id = tgb_wire_u64(&r);
        size_t ninfo = 0;
        const uint8_t *info = tgb_wire_bytes(&r, &ninfo);
        req *q = req_by_msg_id(s, req_msg_id);
        if (r.bad || !q || q->kind != REQ_STATE_REQ)
            return;
        req_unlink(s, q);
        on_states(s, q->data + 12, tgb_le32(q->data + 8), info, ninfo, now);
        free(q);
        return;
    }
    case TL_ID_msgs_all_info: {
        uint32_t n = 0;
        const uint8_t *ids = tgb_wire_long_vector(&r, &n);
        size_t ninfo = 0;
        const uint8_t *info = tgb_wire_bytes(&r, &ninfo);
        if (!r.bad)
            on_states(s, ids, n, info, ninfo, now);
        return;
    }
    case TL_ID_msg_detailed_info:
    case TL_ID_msg_new_detailed_info:
        on_detailed_info(s, m, id == TL_ID_msg_new_detailed_info, now);
        return;
    case TL_ID_destroy_session_ok:
    case TL_ID_destroy_session_none: {
        /* SM "Request to Destroy Session": Telegram answers it bare, as mtcute expects */
        uint64_t sid = tgb_wire_u64(&r);
        if (r.bad)
            return;
        for (req *q = s->head; q; q = q->next) {
            if (q->kind == REQ_DESTROY && tgb_le64(q->data + 4) == sid) {
                req_unlink(s, q);
                free(q);
                break;
            }
        }
        log_line(s, 3, "destroy_session %016llx: %s", (unsigned long long)sid,
                 id == TL_ID_destroy_session_ok ? "ok" : "none");
        return;
    }
    case TL_ID_rpc_error: log_line(s, 2, "rpc_error outside rpc_result ignored"); return;
    case TL_ID_http_wait:
    case TL_ID_msg_copy:
    case TL_ID_msg_container:
    case TL_ID_gzip_packed: return;
    default:
        /* anything else is content the server pushed: Updates, updatesTooLong, ... */
        if (s->cb.update)
            s->cb.update(s->user_data, m->body, m->len);
        return;
    }
}

int tgb_mtp_session_recv(tgb_mtp_session *s, const uint8_t *packet, size_t len, tgb_time now)
{
    /* SG "Checking message length": auth_key_id, msg_key, then whole AES blocks holding
     * at least the 32-byte header */
    if (len < 24 + 32 + 16 || (len - 24) % 16)
        return TGB_ERR_PROTOCOL;
    if (memcmp(packet, s->key_id, 8) != 0)
        return TGB_ERR_INTEGRITY;
    size_t plen = len - 24;
    uint8_t *plain = malloc(plen);
    if (!plain)
        return TGB_ERR_NOMEM;
    tgb_buf unpacked;
    tgb_buf_init(&unpacked, TGB_GZIP_MAX_UNPACKED);
    in_msg one, *msgs = NULL;
    size_t count = 0;
    int rc = tgb_mtproto_decrypt(s->auth_key, TGB_MTPROTO_SERVER, packet, len, plain);
    if (rc) {
        rc = rc == TGB_ERR_INVALID ? TGB_ERR_PROTOCOL : rc;
        goto done;
    }
    uint64_t session_id = tgb_le64(plain + 8);
    uint64_t msg_id = tgb_le64(plain + 16);
    uint32_t seqno = tgb_le32(plain + 24);
    uint32_t body_len = tgb_le32(plain + 28);
    /* SG: the length must leave 12..1024 bytes of padding; the session is ours; server
     * msg_ids are odd; a msg_id seen before is a replay */
    rc = TGB_ERR_PROTOCOL;
    if (body_len < 4 || body_len % 4 || body_len > plen - 32 || plen - 32 - body_len < 12 ||
        plen - 32 - body_len > 1024) {
        log_line(s, 2, "dropped a packet with a bad length");
        goto done;
    }
    if (session_id != s->session_id) {
        log_line(s, 2, "dropped a packet for another session");
        goto done;
    }
    if (!(msg_id & 1)) {
        log_line(s, 2, "dropped a packet with an even msg_id");
        goto done;
    }
    if (seen_too_old(s, msg_id)) {
        log_line(s, 2, "dropped a packet older than every recent one %016llx",
                 (unsigned long long)msg_id);
        goto done;
    }
    if (seen_has(s, msg_id)) {
        log_line(s, 3, "dropped a repeated packet %016llx", (unsigned long long)msg_id);
        if (seqno & 1)
            ack_add(s, msg_id, now);
        goto done;
    }
    rc = flatten(plain + 32, body_len, msg_id, seqno, &unpacked, &msgs, &count, &one);
    if (rc) {
        log_line(s, 2, "dropped a packet that does not decode (%s)", tgb_error_name(rc));
        goto done;
    }
    for (size_t i = 0; i < count; i++)
        resolve(&msgs[i], &unpacked);

    /* SG "Checking msg_id": a server message far from our idea of its clock is ignored,
     * except notifications that our clock is wrong or our salt old (which fix it) */
    tgb_time delta = tgb_msg_id_time_us(msg_id) - server_now(s, now);
    int time_ok = delta <= SERVER_MSG_MAX_AHEAD && delta >= -SERVER_MSG_MAX_AGE;
    int handled = 0;
    if (time_ok)
        seen_add(s, msg_id);
    for (size_t i = 0; i < count; i++) {
        in_msg *m = &msgs[i];
        uint32_t id = tgb_le32(m->body);
        if (!time_ok && id != TL_ID_bad_msg_notification && id != TL_ID_bad_server_salt)
            continue;
        handled = 1;
        if (msgs != &one) {
            if (!(m->msg_id & 1))
                continue;
            if (seen_has(s, m->msg_id)) {
                /* SMM: a repeat is acknowledged again, in case our ack was lost */
                if (m->seqno & 1)
                    ack_add(s, m->msg_id, now);
                continue;
            }
            seen_add(s, m->msg_id);
        }
        /* SMM "Acknowledgment of Receipt": every content-related message (odd seqno) */
        if (m->seqno & 1)
            ack_add(s, m->msg_id, now);
        dispatch(s, m, now);
    }
    if (!handled) {
        log_line(s, 2, "dropped a packet %lld s off our clock", (long long)(delta / SEC));
        rc = TGB_ERR_PROTOCOL;
        goto done;
    }
    rc = 0;
    want_write(s, now);
done:
    if (msgs != &one)
        free(msgs);
    tgb_buf_free(&unpacked);
    free(plain);
    return rc;
}

/* ------------------------------------------------------------------ connection, timers */

void tgb_mtp_session_connection_lost(tgb_mtp_session *s, tgb_time now)
{
    s->connected = 0;
    s->ping_sent_at = 0;
    req *r = s->head;
    while (r) {
        req *next = r->next;
        if (r->state == ST_SENT || r->state == ST_ACKED) {
            if (r->kind == REQ_USER || r->kind == REQ_DESTROY) {
                /* SMM: acknowledged requests wait for their answer; the rest go again,
                 * with the same msg_id while the server still takes it */
                if (r->state == ST_SENT) {
                    if (now - r->sent_at < RESEND_SAME_ID_MAX) {
                        r->state = ST_RESEND;
                    } else {
                        r->prev_msg_id = r->msg_id;
                        r->state = ST_QUEUED;
                    }
                }
            } else {
                /* pings, salt and state requests are made again when needed */
                req_unlink(s, r);
                free(r);
            }
        }
        r = next;
    }
    if (s->nacks_inflight)
        acks_inflight_requeue(s, now);
}

/* SM "Deferred Connection Closure + PING": ping_delay_disconnect makes the server close
 * the connection if no ping comes within disconnect_delay; with no interval a plain
 * ping only shows the server the new connection. */
static int queue_ping(tgb_mtp_session *s)
{
    uint8_t body[16];
    int rc = tgb_random_bytes(s->rnd, body + 4, 8);
    if (rc)
        return rc;
    if (s->ping_interval) {
        tgb_put_le32(body, TL_ID_ping_delay_disconnect);
        tgb_put_le32(body + 12, (uint32_t)(s->ping_interval + 15));
        return queue_service(s, REQ_PING, body, 16);
    }
    tgb_put_le32(body, TL_ID_ping);
    return queue_service(s, REQ_PING, body, 12);
}

void tgb_mtp_session_connection_ready(tgb_mtp_session *s, tgb_time now)
{
    s->connected = 1;
    s->ping_sent_at = 0;
    s->ping_at = s->ping_interval ? now + (tgb_time)s->ping_interval * SEC : 0;
    /* The server only learns which connection is ours when something arrives on it: ping
     * at once (as tdlib does) when pings are on, or when answers are owed to us. */
    int awaiting = 0;
    for (req *r = s->head; r; r = r->next)
        awaiting |= r->state == ST_ACKED;
    if ((s->ping_interval || awaiting) && !has_ping(s))
        queue_ping(s);
    want_write(s, now);
}

static int salts_due(const tgb_mtp_session *s, tgb_time *at)
{
    if (s->nfuture >= 2)
        return 0;
    tgb_time t = s->salt_at + SALT_FETCH_AFTER;
    if (s->salts_asked_at && s->salts_asked_at + SALT_FETCH_RETRY > t)
        t = s->salts_asked_at + SALT_FETCH_RETRY;
    *at = t;
    return 1;
}

/* When the next future salt takes over, in local time. */
static tgb_time salt_switch_at(const tgb_mtp_session *s)
{
    for (uint32_t i = 0; i < s->nfuture; i++)
        if (s->future[i].salt != s->salt)
            return (tgb_time)s->future[i].valid_since * SEC - s->ids.offset_us;
    return TGB_TIME_NEVER;
}

tgb_time tgb_mtp_session_next_timeout(const tgb_mtp_session *s)
{
    tgb_time t = TGB_TIME_NEVER, x;
#define EARLIER(v) ((x = (v)) < t ? (t = x) : 0)
    if (s->nacks)
        EARLIER(s->ack_first_at + ACK_DELAY);
    EARLIER(salt_switch_at(s));
    if (s->connected) {
        if (s->ping_interval && s->ping_at)
            EARLIER(s->ping_at);
        tgb_time at;
        if (salts_due(s, &at))
            EARLIER(at);
        for (req *r = s->head; r; r = r->next)
            if (r->kind == REQ_USER && r->state >= ST_SENT)
                EARLIER(r->state_at + STATE_REQ_AFTER);
    }
#undef EARLIER
    return t;
}

int tgb_mtp_session_timeout(tgb_mtp_session *s, tgb_time now)
{
    int dead = 0, rc = 0;

    /* future salts: the one whose time has come replaces the current salt */
    tgb_time server_sec = server_now(s, now) / SEC;
    uint32_t keep = 0;
    for (uint32_t i = 0; i < s->nfuture; i++) {
        if (s->future[i].valid_until <= server_sec)
            continue;
        s->future[keep++] = s->future[i];
    }
    s->nfuture = keep;
    for (uint32_t i = s->nfuture; i-- > 0;) {
        if (s->future[i].valid_since <= server_sec) {
            if (s->future[i].salt != s->salt) {
                s->salt = s->future[i].salt;
                s->salt_at = now;
                log_line(s, 3, "switched to the next server salt");
            }
            /* older ones are of no more use */
            memmove(&s->future[0], &s->future[i], (s->nfuture - i) * sizeof(future_salt));
            s->nfuture -= i;
            break;
        }
    }

    if (s->connected) {
        if (s->ping_interval && s->ping_at && now >= s->ping_at) {
            s->ping_at = now + (tgb_time)s->ping_interval * SEC;
            if (s->ping_sent_at) {
                /* the last ping got no pong within the interval */
                dead = 1;
            } else if (!has_ping(s) && (rc = queue_ping(s)) != 0) {
                return rc;
            }
        }

        tgb_time at;
        if (salts_due(s, &at) && now >= at) {
            for (req *r = s->head; r; r = r->next)
                if (r->kind == REQ_SALTS) {
                    req_unlink(s, r);
                    free(r);
                    break;
                }
            uint8_t body[8];
            tgb_put_le32(body, TL_ID_get_future_salts);
            tgb_put_le32(body + 4, 64);
            if ((rc = queue_service(s, REQ_SALTS, body, sizeof(body))) != 0)
                return rc;
            s->salts_asked_at = now;
        }

        /* SMM "Request for Message Status Information" for answers (or acks) long in
         * coming; an older request of ours that got no msgs_state_info is stale by now */
        int asking = 0;
        for (req *r = s->head; r; r = r->next)
            asking |=
                r->kind == REQ_USER && r->state >= ST_SENT && now >= r->state_at + STATE_REQ_AFTER;
        for (req *r = s->head, *next; asking && r; r = next) {
            next = r->next;
            if (r->kind == REQ_STATE_REQ && r->state >= ST_SENT) {
                req_unlink(s, r);
                free(r);
            }
        }
        uint64_t ids[64];
        uint32_t n = 0;
        for (req *r = s->head; r; r = r->next) {
            if (r->kind != REQ_USER || r->state < ST_SENT || now < r->state_at + STATE_REQ_AFTER)
                continue;
            r->state_at = now;
            ids[n++] = r->msg_id;
            if (n == 64) {
                if ((rc = queue_id_list(s, REQ_STATE_REQ, TL_ID_msgs_state_req, ids, n)) != 0)
                    return rc;
                n = 0;
            }
        }
        if (n && (rc = queue_id_list(s, REQ_STATE_REQ, TL_ID_msgs_state_req, ids, n)) != 0)
            return rc;
    }

    if (dead) {
        log_line(s, 2, "no pong within %d s", s->ping_interval);
        if (s->cb.dead)
            s->cb.dead(s->user_data);
        return 0;
    }
    want_write(s, now);
    return 0;
}
