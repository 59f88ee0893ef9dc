/*
 * The server side of an MTProto 2.0 session, as a Telegram DC runs it; see
 * session_server.h. Section names in the comments are those of
 * https://core.telegram.org/mtproto/description (D), /mtproto/service_messages (SM),
 * /mtproto/service_messages_about_messages (SMM) and /mtproto/security_guidelines (SG).
 *
 * Two stores per session:
 * - `recs`: the client messages we accepted, sorted by msg_id, for duplicates (a
 *   repeated query gets its stored answer, never a second execution), seqno order
 *   (32/33) and msgs_state_req. Records older than the 300 s window are dropped; ids
 *   at or below `floor` can no longer be checked (error 20).
 * - `out`: what we send, in order. Content-related messages stay after they went out
 *   until the client acknowledges them, and go out again after a lost connection or a
 *   msg_resend_req; service answers (notifications, msgs_state_info) are freed once sent.
 */
#include "emulator/session_server.h"
#include "mtproto/gzip.h"
#include "mtproto/wire.h"
#include "tl/tl_api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC ((tgb_time)1000000)

/* D "Message Identifier": client ids must be within 300 s back / 30 s ahead */
#define MSG_MAX_AGE   (300 * SEC)
#define MSG_MAX_AHEAD (30 * SEC)
/* records live a little longer than the window in which they can come again */
#define REC_KEEP (330 * SEC)
#define MAX_RECS 4096
/* stored unacknowledged messages per session; the oldest are dropped beyond */
#define MAX_STORED       1000
#define MAX_STORED_BYTES ((size_t)16 << 20)
/* our own resends keep their msg_id while clients still take it (Telethon ignores
 * server messages more than 300 s old) */
#define RESEND_SAME_ID_MAX  (250 * SEC)
#define ACK_DELAY           SEC
#define ACK_STANDALONE      16
#define CONTAINER_MAX_MSGS  1000
#define CONTAINER_MAX_BYTES ((size_t)1020 << 10)
#define MAX_CONTAINER_IN    1024
/* results larger than this go gzip_packed when that makes them smaller */
#define GZIP_MIN 513

enum rec_flag {
    R_CONTENT = 1,
    R_RPC = 2,
    R_ANSWERED = 4,
    R_ACK_SENT = 8,
    R_DROPPED = 16,
    R_CONTAINER = 32,
    R_ANSWER_ACKED = 64
};

typedef struct rec {
    uint64_t msg_id;
    uint64_t answer_msg_id;
    uint32_t seqno;
    uint32_t answer_len;
    uint32_t flags;
} rec;

enum out_state { O_QUEUED, O_RESEND, O_SENT };
enum out_flag { O_CONTENT = 1, O_ALONE = 2, O_PICKED = 4, O_ANSWER = 8 };

typedef struct out_msg {
    struct out_msg *next;
    uint64_t msg_id;
    uint64_t req_msg_id; /* rpc_result: the query it answers */
    tgb_time made_at;
    uint32_t seqno;
    uint8_t state, flags, kind;
    size_t len;
    uint8_t data[];
} out_msg;

struct tgemu_session {
    const uint8_t *auth_key;
    uint8_t key_id[8];
    tgemu_session_callbacks cb;
    void *user_data;
    const tgb_random *rnd;
    tgb_msg_id_gen *ids;
    uint64_t session_id;
    uint32_t content_sent;
    int created_sent;
    int connected;
    int force_bad_salt;

    rec *recs;
    uint32_t nrecs, recs_cap;
    uint64_t floor;

    out_msg *head, *tail;
    uint32_t nstored;
    size_t stored_bytes;

    uint64_t *acks;
    uint32_t nacks, acks_cap;
    tgb_time ack_first_at;

    tgb_time disconnect_at;
};

/* ------------------------------------------------------------------ helpers */

static tgb_time server_now(const tgemu_session *s, tgb_time now)
{
    return now + s->ids->offset_us;
}

/* ------------------------------------------------------------------ records */

/* Index of the first record with msg_id >= id. */
static uint32_t rec_lower(const tgemu_session *s, uint64_t id)
{
    uint32_t lo = 0, hi = s->nrecs;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->recs[mid].msg_id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static rec *rec_find(tgemu_session *s, uint64_t id)
{
    uint32_t i = rec_lower(s, id);
    return i < s->nrecs && s->recs[i].msg_id == id ? &s->recs[i] : NULL;
}

static void rec_drop_front(tgemu_session *s, uint32_t n)
{
    if (!n)
        return;
    if (s->recs[n - 1].msg_id > s->floor)
        s->floor = s->recs[n - 1].msg_id;
    memmove(s->recs, s->recs + n, (s->nrecs - n) * sizeof(rec));
    s->nrecs -= n;
    if (!s->nrecs) {
        /* an idle session keeps no record memory */
        free(s->recs);
        s->recs = NULL;
        s->recs_cap = 0;
    }
}

static rec *rec_insert(tgemu_session *s, uint64_t id, uint32_t seqno, uint32_t flags, tgb_time now)
{
    /* records too old to matter go first: their ids now get error 16 anyway */
    uint32_t old = 0;
    tgb_time limit = server_now(s, now) - REC_KEEP;
    while (old < s->nrecs && tgb_msg_id_time_us(s->recs[old].msg_id) < limit)
        old++;
    if (s->nrecs - old >= MAX_RECS)
        old = s->nrecs - MAX_RECS + 1;
    rec_drop_front(s, old);
    if (s->nrecs == s->recs_cap) {
        uint32_t cap = s->recs_cap ? s->recs_cap * 2 : 16;
        rec *p = realloc(s->recs, cap * sizeof(rec));
        if (!p)
            return NULL;
        s->recs = p;
        s->recs_cap = cap;
    }
    uint32_t i = rec_lower(s, id);
    memmove(s->recs + i + 1, s->recs + i, (s->nrecs - i) * sizeof(rec));
    s->nrecs++;
    rec *r = &s->recs[i];
    memset(r, 0, sizeof(*r));
    r->msg_id = id;
    r->seqno = seqno;
    r->flags = flags;
    return r;
}

/* ------------------------------------------------------------------ outgoing */

static out_msg *out_new(size_t len)
{
    out_msg *o = calloc(1, sizeof(out_msg) + len);
    if (o)
        o->len = len;
    return o;
}

static void out_unlink(tgemu_session *s, out_msg *o)
{
    out_msg **pp = &s->head, *prev = NULL;
    while (*pp && *pp != o) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp)
        return;
    *pp = o->next;
    if (s->tail == o)
        s->tail = prev;
    if (o->flags & O_CONTENT) {
        s->nstored--;
        s->stored_bytes -= o->len;
    }
}

static void out_free(tgemu_session *s, out_msg *o)
{
    out_unlink(s, o);
    free(o);
}

static out_msg *out_find(tgemu_session *s, uint64_t msg_id)
{
    for (out_msg *o = s->head; o; o = o->next)
        if (o->msg_id == msg_id)
            return o;
    return NULL;
}

static uint32_t next_seqno(tgemu_session *s, int content)
{
    return content ? 2 * s->content_sent++ + 1 : 2 * s->content_sent;
}

/* Queues a message made now: kind 1 answers the client, 3 is unprompted (D). */
static void out_queue(tgemu_session *s, out_msg *o, int content, int kind, tgb_time now)
{
    o->kind = (uint8_t)kind;
    o->msg_id = tgb_msg_id_next(s->ids, now, kind);
    o->seqno = next_seqno(s, content);
    o->made_at = now;
    o->state = O_QUEUED;
    if (content) {
        o->flags |= O_CONTENT;
        s->nstored++;
        s->stored_bytes += o->len;
    }
    o->next = NULL;
    if (s->tail)
        s->tail->next = o;
    else
        s->head = o;
    s->tail = o;
    /* keep memory bounded: the oldest stored messages go first */
    while (s->nstored > MAX_STORED || s->stored_bytes > MAX_STORED_BYTES) {
        out_msg *v = s->head;
        while (v && !(v->flags & O_CONTENT))
            v = v->next;
        if (!v || v == o)
            break;
        out_free(s, v);
    }
}

static int has_sendable(const tgemu_session *s, tgb_time now)
{
    if (!s->connected)
        return 0;
    for (out_msg *o = s->head; o; o = o->next)
        if (o->state != O_SENT)
            return 1;
    return s->nacks && (now >= s->ack_first_at + ACK_DELAY || s->nacks > ACK_STANDALONE);
}

static void want_write(tgemu_session *s, tgb_time now)
{
    if (s->cb.want_write && has_sendable(s, now))
        s->cb.want_write(s->user_data, s);
}

static void ack_add(tgemu_session *s, uint64_t msg_id, tgb_time now)
{
    for (uint32_t i = 0; i < s->nacks; i++)
        if (s->acks[i] == msg_id)
            return;
    if (s->nacks == TGB_WIRE_MAX_IDS)
        return;
    if (s->nacks == s->acks_cap) {
        uint32_t cap = s->acks_cap ? s->acks_cap * 2 : 8;
        uint64_t *p = realloc(s->acks, cap * sizeof(*p));
        if (!p)
            return;
        s->acks = p;
        s->acks_cap = cap;
    }
    if (!s->nacks)
        s->ack_first_at = now;
    s->acks[s->nacks++] = msg_id;
}

static void ack_remove(tgemu_session *s, uint64_t msg_id)
{
    for (uint32_t i = 0; i < s->nacks; i++)
        if (s->acks[i] == msg_id) {
            s->acks[i] = s->acks[--s->nacks];
            return;
        }
}

/* SMM "Notice of Ignored Error Message". Sent in a packet of its own: Telethon checks
 * the time of a packet's outer message except when it is such a notification, and a
 * clock error is exactly when that check would fail. */
static void notify(tgemu_session *s, int code, uint64_t bad_msg_id, uint32_t bad_seqno,
                   tgb_time now)
{
    int salt = code == 48;
    out_msg *o = out_new(salt ? 28 : 20);
    if (!o)
        return;
    tgb_put_le32(o->data, salt ? TL_ID_bad_server_salt : TL_ID_bad_msg_notification);
    tgb_put_le64(o->data + 4, bad_msg_id);
    tgb_put_le32(o->data + 12, bad_seqno);
    tgb_put_le32(o->data + 16, (uint32_t)code);
    if (salt)
        tgb_put_le64(o->data + 20, (uint64_t)s->cb.salt_current(s->user_data, now));
    o->flags = O_ALONE;
    out_queue(s, o, 0, TGB_MSG_ID_SERVER_ANSWER, now);
}

/* ------------------------------------------------------------------ public: lifecycle */

int tgemu_session_new(tgemu_session **out, const tgemu_session_config *config,
                      const tgemu_session_callbacks *callbacks, void *user_data, tgb_time now)
{
    (void)now;
    *out = NULL;
    if (!config || !config->auth_key || !config->ids || !callbacks || !callbacks->query ||
        !callbacks->salt_valid || !callbacks->salt_current || !callbacks->salt_future)
        return TGB_ERR_INVALID;
    tgemu_session *s = calloc(1, sizeof(*s));
    if (!s)
        return TGB_ERR_NOMEM;
    s->auth_key = config->auth_key;
    tgb_auth_key_id(s->auth_key, s->key_id);
    s->cb = *callbacks;
    s->user_data = user_data;
    s->rnd = config->rnd;
    s->ids = config->ids;
    s->session_id = config->session_id;
    s->connected = 1;
    *out = s;
    return 0;
}

void tgemu_session_del(tgemu_session *s)
{
    if (!s)
        return;
    out_msg *o = s->head;
    while (o) {
        out_msg *next = o->next;
        free(o);
        o = next;
    }
    free(s->recs);
    free(s->acks);
    free(s);
}

uint64_t tgemu_session_id(const tgemu_session *s)
{
    return s->session_id;
}

size_t tgemu_session_unacked(const tgemu_session *s)
{
    return s->nstored;
}

void tgemu_session_force_bad_salt(tgemu_session *s)
{
    s->force_bad_salt = 1;
}

/* ------------------------------------------------------------------ answers */

/* rpc_result#f35c6d01 req_msg_id:long result:Object, the result gzip_packed when large
 * and compressible (SM "Packed Object"; Telegram packs inside rpc_result). */
static int queue_result(tgemu_session *s, uint64_t req_msg_id, const uint8_t *result, size_t len,
                        int may_pack, tgb_time now)
{
    tgb_buf packed;
    tgb_buf_init(&packed, 0);
    int pack = may_pack && len >= GZIP_MIN && tgb_gzip_pack(result, len, &packed) == 0 &&
               4 + tgb_wire_bytes_size(packed.len) < len;
    size_t body = pack ? 4 + tgb_wire_bytes_size(packed.len) : len;
    out_msg *o = out_new(12 + body);
    if (!o) {
        tgb_buf_free(&packed);
        return TGB_ERR_NOMEM;
    }
    tgb_put_le32(o->data, TL_ID_rpc_result);
    tgb_put_le64(o->data + 4, req_msg_id);
    if (pack) {
        tgb_put_le32(o->data + 12, TL_ID_gzip_packed);
        tgb_wire_put_bytes(o->data + 16, packed.data, packed.len);
    } else {
        memcpy(o->data + 12, result, len);
    }
    tgb_buf_free(&packed);
    o->req_msg_id = req_msg_id;
    o->flags = O_ANSWER;
    out_queue(s, o, 1, TGB_MSG_ID_SERVER_ANSWER, now);
    rec *r = rec_find(s, req_msg_id);
    if (r) {
        r->flags |= R_ANSWERED;
        r->flags &= ~(uint32_t)R_ANSWER_ACKED;
        r->answer_msg_id = o->msg_id;
        r->answer_len = (uint32_t)o->len;
    }
    /* SM "Response to an RPC query": the result acknowledges the query */
    ack_remove(s, req_msg_id);
    want_write(s, now);
    return 0;
}

static int answer_allowed(tgemu_session *s, uint64_t req_msg_id)
{
    rec *r = rec_find(s, req_msg_id);
    /* SM "Cancellation of an RPC Query": a dropped query's result is not sent */
    return !(r && (r->flags & R_DROPPED));
}

int tgemu_session_answer(tgemu_session *s, uint64_t req_msg_id, const uint8_t *result, size_t len,
                         tgb_time now)
{
    if (!req_msg_id || !result || len < 4 || len % 4 || len > ((size_t)1 << 24))
        return TGB_ERR_INVALID;
    if (!answer_allowed(s, req_msg_id))
        return 0;
    return queue_result(s, req_msg_id, result, len, 1, now);
}

int tgemu_session_answer_error(tgemu_session *s, uint64_t req_msg_id, int code, const char *message,
                               tgb_time now)
{
    if (!req_msg_id || !message)
        return TGB_ERR_INVALID;
    size_t n = strlen(message);
    if (n > 4096)
        return TGB_ERR_INVALID;
    if (!answer_allowed(s, req_msg_id))
        return 0;
    /* rpc_error#2144ca19 error_code:int error_message:string */
    size_t len = 8 + tgb_wire_bytes_size(n);
    uint8_t *b = malloc(len);
    if (!b)
        return TGB_ERR_NOMEM;
    tgb_put_le32(b, TL_ID_rpc_error);
    tgb_put_le32(b + 4, (uint32_t)code);
    tgb_wire_put_bytes(b + 8, (const uint8_t *)message, n);
    int rc = queue_result(s, req_msg_id, b, len, 0, now);
    free(b);
    return rc;
}

int tgemu_session_push(tgemu_session *s, const uint8_t *tl, size_t len, tgb_time now)
{
    if (!tl || len < 4 || len % 4 || len > ((size_t)1 << 24))
        return TGB_ERR_INVALID;
    tgb_buf packed;
    tgb_buf_init(&packed, 0);
    int pack = len >= GZIP_MIN && tgb_gzip_pack(tl, len, &packed) == 0 &&
               4 + tgb_wire_bytes_size(packed.len) < len;
    out_msg *o = out_new(pack ? 4 + tgb_wire_bytes_size(packed.len) : len);
    if (!o) {
        tgb_buf_free(&packed);
        return TGB_ERR_NOMEM;
    }
    if (pack) {
        tgb_put_le32(o->data, TL_ID_gzip_packed);
        tgb_wire_put_bytes(o->data + 4, packed.data, packed.len);
    } else {
        memcpy(o->data, tl, len);
    }
    tgb_buf_free(&packed);
    out_queue(s, o, 1, TGB_MSG_ID_SERVER_PUSH, now);
    want_write(s, now);
    return 0;
}

/* ------------------------------------------------------------------ receiving */

typedef struct in_msg {
    uint64_t msg_id;
    uint32_t seqno;
    const uint8_t *body;
    size_t len;
    size_t body_off; /* in the unpack buffer, SIZE_MAX if not there */
} in_msg;

/* A gzip_packed message body, unpacked; one that holds another gzip_packed is refused. */
static int unpack(const uint8_t *p, size_t n, tgb_buf *unpacked, size_t *off, size_t *len)
{
    int rc = tgb_gzip_packed_unpack(p, n, unpacked, off, len);
    if (rc == 0 && tgb_le32(unpacked->data + *off) == TL_ID_gzip_packed)
        rc = TGB_ERR_PROTOCOL;
    return rc;
}

static int cmp_id(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Two messages of one container with the same msg_id. */
static int has_duplicate(const in_msg *v, uint32_t n)
{
    uint64_t small[64], *ids = n <= 64 ? small : malloc(n * sizeof(uint64_t));
    if (!ids)
        return 1;
    for (uint32_t i = 0; i < n; i++)
        ids[i] = v[i].msg_id;
    qsort(ids, n, sizeof(uint64_t), cmp_id);
    int dup = 0;
    for (uint32_t i = 1; i < n && !dup; i++)
        dup = ids[i] == ids[i - 1];
    if (ids != small)
        free(ids);
    return dup;
}

/* Flattens a packet body into messages (SM "Simple Container", parsed by hand), with
 * gzip_packed unpacked within a total cap. A container that does not decompose sets
 * *bad_container (error 64: "the codes 0x40 - 0x4f correspond to errors in container
 * decomposition"); a bad gzip_packed is an error. Nothing is acted on yet. */
static int flatten(const uint8_t *body, size_t len, uint64_t msg_id, uint32_t seqno,
                   tgb_buf *unpacked, in_msg **msgs, size_t *count, in_msg *one, int *bad_container)
{
    *bad_container = 0;
    in_msg top = {msg_id, seqno, body, len, SIZE_MAX};
    if (tgb_le32(body) == TL_ID_gzip_packed) {
        int rc = unpack(body, len, unpacked, &top.body_off, &top.len);
        if (rc)
            return rc;
    }
    const uint8_t *b = top.body_off == SIZE_MAX ? body : unpacked->data + top.body_off;
    if (tgb_le32(b) != TL_ID_msg_container) {
        *one = top;
        *msgs = one;
        *count = 1;
        return 0;
    }
    uint8_t *copy = NULL;
    if (top.body_off != SIZE_MAX) {
        copy = malloc(top.len);
        if (!copy)
            return TGB_ERR_NOMEM;
        memcpy(copy, b, top.len);
        b = copy;
    }
    tgb_wire r = {b + 4, top.len - 4, 0};
    uint32_t n = tgb_wire_u32(&r);
    in_msg *v = NULL;
    int rc = 0;
    if (r.bad || n == 0 || n > MAX_CONTAINER_IN || (size_t)n * 20 > r.n) {
        *bad_container = 1;
        goto out;
    }
    v = calloc(n, sizeof(*v));
    if (!v) {
        rc = TGB_ERR_NOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < n; i++) {
        v[i].msg_id = tgb_wire_u64(&r);
        v[i].seqno = tgb_wire_u32(&r);
        uint32_t bytes = tgb_wire_u32(&r);
        v[i].body_off = SIZE_MAX;
        /* D: a container is made after its contents, so its msg_id is the highest; the
         * contents may be in any order (a resend puts old ids after a new ack) */
        if (r.bad || bytes % 4 || bytes < 4 || bytes > r.n || v[i].msg_id >= msg_id) {
            *bad_container = 1;
            goto out;
        }
        v[i].body = r.p;
        v[i].len = bytes;
        r.p += bytes;
        r.n -= bytes;
        uint32_t id = tgb_le32(v[i].body);
        if (id == TL_ID_msg_container) {
            *bad_container = 1; /* SM: no nesting */
            goto out;
        }
        if (id == TL_ID_gzip_packed) {
            rc = unpack(v[i].body, v[i].len, unpacked, &v[i].body_off, &v[i].len);
            if (rc)
                goto out;
            if (tgb_le32(unpacked->data + v[i].body_off) == TL_ID_msg_container) {
                *bad_container = 1;
                goto out;
            }
        }
    }
    if (r.n || has_duplicate(v, n)) {
        *bad_container = 1;
        goto out;
    }
    if (copy) {
        size_t base = unpacked->len;
        rc = tgb_buf_append(unpacked, copy, top.len);
        for (uint32_t i = 0; i < n && !rc; i++)
            if (v[i].body_off == SIZE_MAX)
                v[i].body_off = base + (size_t)(v[i].body - copy);
    }
out:
    free(copy);
    if (rc || *bad_container) {
        free(v);
        return rc;
    }
    *msgs = v;
    *count = n;
    return 0;
}

/* Constructors the session handles itself; everything else is an RPC query for the DC. */
static int is_service(uint32_t id)
{
    switch (id) {
    case TL_ID_msgs_ack:
    case TL_ID_ping:
    case TL_ID_ping_delay_disconnect:
    case TL_ID_get_future_salts:
    case TL_ID_msgs_state_req:
    case TL_ID_msgs_state_info:
    case TL_ID_msgs_all_info:
    case TL_ID_msg_resend_req:
    case TL_ID_msg_detailed_info:
    case TL_ID_msg_new_detailed_info:
    case TL_ID_destroy_session:
    case TL_ID_rpc_drop_answer:
    case TL_ID_http_wait:
    case TL_ID_rpc_result:
    case TL_ID_rpc_error:
    case TL_ID_bad_msg_notification:
    case TL_ID_bad_server_salt:
    case TL_ID_new_session_created:
    case TL_ID_pong:
    case TL_ID_future_salts:
    case TL_ID_msg_copy:
    case TL_ID_gzip_packed:
    case TL_ID_msg_container: return 1;
    default: return 0;
    }
}

/* SMM msgs_state_info: what we know of a client message. */
static uint8_t msg_state(tgemu_session *s, uint64_t id, tgb_time now)
{
    rec *r = rec_find(s, id);
    if (!r) {
        if (id <= s->floor || tgb_msg_id_time_us(id) < server_now(s, now) - MSG_MAX_AGE)
            return 1; /* too old: we may have forgotten it */
        if (!s->nrecs || id > s->recs[s->nrecs - 1].msg_id)
            return 3; /* newer than anything we have: not received yet */
        return 2;
    }
    uint8_t st = 4;
    if ((r->flags & R_ACK_SENT) || (r->flags & R_ANSWERED))
        st |= 8;
    if (!(r->flags & R_CONTENT))
        st |= 16;
    if (r->flags & R_RPC)
        st |= 32;
    if (r->flags & R_ANSWERED)
        st |= 64;
    return st;
}

static void queue_states(tgemu_session *s, uint64_t req_msg_id, const uint8_t *ids, uint32_t n,
                         tgb_time now)
{
    /* msgs_state_info#04deb57d req_msg_id:long info:string; it acknowledges the request
     * itself and needs no acknowledgment */
    out_msg *o = out_new(12 + tgb_wire_bytes_size(n));
    if (!o)
        return;
    tgb_put_le32(o->data, TL_ID_msgs_state_info);
    tgb_put_le64(o->data + 4, req_msg_id);
    uint8_t *p = o->data + 12;
    size_t head = n <= 253 ? 1 : 4;
    memset(p, 0, tgb_wire_bytes_size(n));
    if (head == 1) {
        p[0] = (uint8_t)n;
    } else {
        p[0] = 254;
        p[1] = (uint8_t)n;
        p[2] = (uint8_t)(n >> 8);
        p[3] = (uint8_t)(n >> 16);
    }
    for (uint32_t i = 0; i < n; i++)
        p[head + i] = msg_state(s, tgb_le64(ids + (size_t)i * 8), now);
    out_queue(s, o, 0, TGB_MSG_ID_SERVER_ANSWER, now);
}

static void queue_small(tgemu_session *s, const uint8_t *body, size_t len, int content,
                        tgb_time now)
{
    out_msg *o = out_new(len);
    if (!o)
        return;
    memcpy(o->data, body, len);
    out_queue(s, o, content, TGB_MSG_ID_SERVER_ANSWER, now);
}

static void on_drop_answer(tgemu_session *s, uint64_t drop_msg_id, uint64_t req_msg_id,
                           tgb_time now)
{
    /* SM "Cancellation of an RPC Query": the answer comes wrapped in rpc_result */
    uint8_t body[20];
    size_t len = 4;
    rec *r = rec_find(s, req_msg_id);
    tgb_put_le32(body, TL_ID_rpc_answer_unknown);
    if (r && (r->flags & R_RPC) && !(r->flags & R_ANSWERED)) {
        r->flags |= R_DROPPED;
        tgb_put_le32(body, TL_ID_rpc_answer_dropped_running);
    } else if (r && (r->flags & R_ANSWERED)) {
        out_msg *o = out_find(s, r->answer_msg_id);
        if (o) {
            /* rpc_answer_dropped#a43ad8b7 msg_id:long seq_no:int bytes:int */
            tgb_put_le32(body, TL_ID_rpc_answer_dropped);
            tgb_put_le64(body + 4, o->msg_id);
            tgb_put_le32(body + 12, o->seqno);
            tgb_put_le32(body + 16, (uint32_t)o->len);
            len = 20;
            out_free(s, o);
        }
    }
    queue_result(s, drop_msg_id, body, len, 0, now);
}

static void dispatch(tgemu_session *s, const in_msg *m, tgb_time now)
{
    uint32_t id = tgb_le32(m->body);
    tgb_wire r = {m->body + 4, m->len - 4, 0};
    switch (id) {
    case TL_ID_msgs_ack: {
        uint32_t n = 0;
        const uint8_t *ids = tgb_wire_long_vector(&r, &n);
        for (uint32_t i = 0; i < n && !r.bad; i++) {
            out_msg *o = out_find(s, tgb_le64(ids + (size_t)i * 8));
            if (!o || !(o->flags & O_CONTENT))
                continue;
            if (o->flags & O_ANSWER) {
                rec *q = rec_find(s, o->req_msg_id);
                if (q && q->answer_msg_id == o->msg_id)
                    q->flags |= R_ANSWER_ACKED;
            }
            out_free(s, o);
        }
        return;
    }
    case TL_ID_ping:
    case TL_ID_ping_delay_disconnect: {
        uint64_t ping_id = tgb_wire_u64(&r);
        int32_t delay = id == TL_ID_ping_delay_disconnect ? (int32_t)tgb_wire_u32(&r) : 0;
        if (r.bad)
            return;
        /* pong#347773c5 msg_id:long ping_id:long, not in rpc_result (tdlib, mtcute and
         * Telethon take it bare) */
        uint8_t body[20];
        tgb_put_le32(body, TL_ID_pong);
        tgb_put_le64(body + 4, m->msg_id);
        tgb_put_le64(body + 12, ping_id);
        queue_small(s, body, sizeof(body), 1, now);
        if (id == TL_ID_ping_delay_disconnect) {
            /* SM "Deferred Connection Closure + PING": each one resets the timer */
            s->disconnect_at = delay > 0 ? now + (tgb_time)delay * SEC : 0;
        }
        return;
    }
    case TL_ID_get_future_salts: {
        int32_t num = (int32_t)tgb_wire_u32(&r);
        if (r.bad)
            return;
        /* Telegram gives at most 64 */
        num = num < 1 ? 1 : num > 64 ? 64 : num;
        out_msg *o = out_new(20 + (size_t)num * 16);
        if (!o)
            return;
        /* future_salts#ae500895 req_msg_id:long now:int salts:vector<future_salt>: a
         * bare vector of bare future_salt, sent bare like pong */
        tgb_put_le32(o->data, TL_ID_future_salts);
        tgb_put_le64(o->data + 4, m->msg_id);
        tgb_put_le32(o->data + 12, (uint32_t)(server_now(s, now) / SEC));
        tgb_put_le32(o->data + 16, (uint32_t)num);
        for (int32_t i = 0; i < num; i++) {
            int64_t salt = 0;
            int32_t since = 0, until = 0;
            s->cb.salt_future(s->user_data, now, i, &salt, &since, &until);
            uint8_t *p = o->data + 20 + (size_t)i * 16;
            tgb_put_le32(p, (uint32_t)since);
            tgb_put_le32(p + 4, (uint32_t)until);
            tgb_put_le64(p + 8, (uint64_t)salt);
        }
        out_queue(s, o, 1, TGB_MSG_ID_SERVER_ANSWER, now);
        return;
    }
    case TL_ID_msgs_state_req: {
        uint32_t n = 0;
        const uint8_t *ids = tgb_wire_long_vector(&r, &n);
        if (!r.bad)
            queue_states(s, m->msg_id, ids, n, now);
        return;
    }
    case TL_ID_msg_resend_req: {
        uint32_t n = 0;
        const uint8_t *ids = tgb_wire_long_vector(&r, &n);
        if (r.bad)
            return;
        /* SMM "Explicit Request to Re-Send Messages": what we still have goes again;
         * if anything is unknown, msgs_state_info answers for all */
        int all = 1;
        for (uint32_t i = 0; i < n; i++) {
            out_msg *o = out_find(s, tgb_le64(ids + (size_t)i * 8));
            if (o && (o->flags & O_CONTENT)) {
                if (o->state == O_SENT)
                    o->state = O_RESEND;
            } else {
                all = 0;
            }
        }
        if (!all)
            queue_states(s, m->msg_id, ids, n, now);
        return;
    }
    case TL_ID_destroy_session: {
        uint64_t sid = tgb_wire_u64(&r);
        if (r.bad)
            return;
        /* SM "Request to Destroy Session": the DC owns the sessions; this one it is
         * talking to is not destroyed ("the result is undefined") */
        int ok = sid != s->session_id && s->cb.destroy_session &&
                 s->cb.destroy_session(s->user_data, s, sid) > 0;
        uint8_t body[12];
        tgb_put_le32(body, ok ? TL_ID_destroy_session_ok : TL_ID_destroy_session_none);
        tgb_put_le64(body + 4, sid);
        queue_small(s, body, sizeof(body), 1, now);
        return;
    }
    case TL_ID_rpc_drop_answer: {
        uint64_t req_msg_id = tgb_wire_u64(&r);
        if (!r.bad)
            on_drop_answer(s, m->msg_id, req_msg_id, now);
        return;
    }
    default:
        if (is_service(id))
            return; /* nothing to do: answers to us, HTTP long polls, odd constructors */
        s->cb.query(s->user_data, s, m->msg_id, m->body, m->len, now);
        return;
    }
}

/* The duplicate of a message we accepted before. */
static void on_duplicate(tgemu_session *s, const in_msg *m, rec *r, tgb_time now)
{
    if (m->seqno & 1)
        ack_add(s, m->msg_id, now); /* the client may have missed our ack */
    if (!(r->flags & R_RPC) || !(r->flags & R_ANSWERED))
        return; /* still running, or nothing to answer: ignored */
    /* D: a repeated query is never executed again; its stored answer goes again, or
     * SMM msg_detailed_info says where the answer was when we no longer have it */
    out_msg *o = out_find(s, r->answer_msg_id);
    if (o) {
        if (o->state == O_SENT)
            o->state = O_RESEND;
        return;
    }
    uint8_t body[28];
    tgb_put_le32(body, TL_ID_msg_detailed_info);
    tgb_put_le64(body + 4, m->msg_id);
    tgb_put_le64(body + 12, r->answer_msg_id);
    tgb_put_le32(body + 20, r->answer_len);
    tgb_put_le32(body + 24, 0);
    queue_small(s, body, sizeof(body), 0, now);
}

/* SMM 32/33 in the simple sense: against the neighbours by msg_id, a later message may
 * not have a lower seqno, nor an equal one when both are content-related (odd). */
static int seqno_error(tgemu_session *s, uint64_t msg_id, uint32_t seqno)
{
    uint32_t i = rec_lower(s, msg_id);
    if (i > 0) {
        uint32_t prev = s->recs[i - 1].seqno;
        if (prev > seqno || (prev == seqno && (seqno & 1)))
            return 32;
    }
    if (i < s->nrecs) {
        uint32_t next = s->recs[i].seqno;
        if (next < seqno || (next == seqno && (seqno & 1)))
            return 33;
    }
    return 0;
}

/* D "Message Identifier": divisible by 4, within 300 s back / 30 s ahead. */
static int msg_id_error(const tgemu_session *s, uint64_t msg_id, tgb_time now)
{
    if (msg_id & 3)
        return 18;
    tgb_time t = tgb_msg_id_time_us(msg_id), sn = server_now(s, now);
    if (t < sn - MSG_MAX_AGE)
        return 16;
    if (t > sn + MSG_MAX_AHEAD)
        return 17;
    return 0;
}

static void on_message(tgemu_session *s, const in_msg *m, int inner, tgb_time now)
{
    int code;
    if (inner && (code = msg_id_error(s, m->msg_id, now)) != 0) {
        notify(s, code, m->msg_id, m->seqno, now);
        return;
    }
    rec *r = rec_find(s, m->msg_id);
    if (r) {
        on_duplicate(s, m, r, now);
        return;
    }
    if (m->msg_id <= s->floor) {
        notify(s, 20, m->msg_id, m->seqno, now);
        return;
    }
    uint32_t id = tgb_le32(m->body);
    int rpc = !is_service(id);
    /* D "Content-related Message": queries are odd, acks even. Other service messages
     * are taken either way: tdlib sends pings odd, Telethon even. */
    if (rpc && !(m->seqno & 1)) {
        notify(s, 35, m->msg_id, m->seqno, now);
        return;
    }
    if (id == TL_ID_msgs_ack && (m->seqno & 1)) {
        notify(s, 34, m->msg_id, m->seqno, now);
        return;
    }
    if ((code = seqno_error(s, m->msg_id, m->seqno)) != 0) {
        notify(s, code, m->msg_id, m->seqno, now);
        return;
    }
    uint32_t flags = ((m->seqno & 1) ? R_CONTENT : 0) | (rpc ? R_RPC : 0);
    if (!rec_insert(s, m->msg_id, m->seqno, flags, now))
        return;
    /* SMM "Acknowledgment of Receipt": every content-related message; msgs_state_info
     * is itself the acknowledgment of msgs_state_req */
    if ((m->seqno & 1) && id != TL_ID_msgs_state_req)
        ack_add(s, m->msg_id, now);
    dispatch(s, m, now);
}

int tgemu_session_recv(tgemu_session *s, const uint8_t *plain, size_t len, tgb_time now)
{
    /* D "Encrypted Message": salt, session_id, msg_id, seq_no, length, body, then 12 to
     * 1024 bytes of padding, whole AES blocks */
    if (len < 48 || len % 16)
        return TGB_ERR_PROTOCOL;
    int64_t salt = (int64_t)tgb_le64(plain);
    uint64_t session_id = tgb_le64(plain + 8);
    uint64_t msg_id = tgb_le64(plain + 16);
    uint32_t seqno = tgb_le32(plain + 24);
    uint32_t body_len = tgb_le32(plain + 28);
    if (session_id != s->session_id || body_len < 4 || body_len % 4 || body_len > len - 32 ||
        len - 32 - body_len < 12 || len - 32 - body_len > 1024)
        return TGB_ERR_PROTOCOL;
    s->connected = 1;

    /* Checks on the whole packet, in the order Telegram reports them: the msg_id first
     * (so a client with both its clock and its salt wrong fixes the clock, then gets
     * bad_server_salt for the resent message), then the salt. */
    int code = msg_id_error(s, msg_id, now);
    if (code) {
        notify(s, code, msg_id, seqno, now);
        want_write(s, now);
        return 0;
    }
    if (s->force_bad_salt || !s->cb.salt_valid(s->user_data, salt, now)) {
        s->force_bad_salt = 0;
        notify(s, 48, msg_id, seqno, now);
        want_write(s, now);
        return 0;
    }

    tgb_buf unpacked;
    tgb_buf_init(&unpacked, TGB_GZIP_MAX_UNPACKED);
    in_msg one, *msgs = NULL;
    size_t count = 0;
    int bad_container = 0;
    int rc = flatten(plain + 32, body_len, msg_id, seqno, &unpacked, &msgs, &count, &one,
                     &bad_container);
    if (rc || bad_container) {
        tgb_buf_free(&unpacked);
        if (rc)
            return rc;
        notify(s, 64, msg_id, seqno, now);
        want_write(s, now);
        return 0;
    }
    for (size_t i = 0; i < count; i++)
        if (msgs[i].body_off != SIZE_MAX)
            msgs[i].body = unpacked.data + msgs[i].body_off;

    int container = msgs != &one;
    if (container) {
        rec *r = rec_find(s, msg_id);
        code = r ? 19 : msg_id <= s->floor ? 20 : (seqno & 1) ? 34 : seqno_error(s, msg_id, seqno);
        if (code || !rec_insert(s, msg_id, seqno, R_CONTAINER, now)) {
            if (code)
                notify(s, code, msg_id, seqno, now);
            goto done;
        }
    }
    if (!s->created_sent) {
        /* SM "New Session Creation Notification", before anything else this session
         * sends; first_msg_id is the first message of the packet that opened it */
        s->created_sent = 1;
        uint64_t first = msgs[0].msg_id;
        for (size_t i = 1; i < count; i++)
            first = msgs[i].msg_id < first ? msgs[i].msg_id : first;
        uint8_t body[28], uid[8];
        if (tgb_random_bytes(s->rnd, uid, sizeof(uid)) != 0)
            memset(uid, 0, sizeof(uid));
        tgb_put_le32(body, TL_ID_new_session_created);
        tgb_put_le64(body + 4, first);
        memcpy(body + 12, uid, 8);
        tgb_put_le64(body + 20, (uint64_t)s->cb.salt_current(s->user_data, now));
        queue_small(s, body, sizeof(body), 1, now);
    }
    for (size_t i = 0; i < count; i++)
        on_message(s, &msgs[i], container, now);
done:
    if (container)
        free(msgs);
    tgb_buf_free(&unpacked);
    want_write(s, now);
    return 0;
}

/* ------------------------------------------------------------------ sending */

int tgemu_session_pull(tgemu_session *s, tgb_time now, tgb_buf *out)
{
    if (!s->connected)
        return 0;
    out_msg *first = s->head;
    while (first && first->state == O_SENT)
        first = first->next;

    size_t nmsgs = 0, bytes = 0;
    int resend_same_id = 0, any_answer = 0;
    if (first && (first->flags & O_ALONE)) {
        first->flags |= O_PICKED;
        nmsgs = 1;
        bytes = 16 + first->len;
    } else {
        for (out_msg *o = first; o; o = o->next) {
            if (o->state == O_SENT)
                continue;
            if (o->flags & O_ALONE)
                break;
            size_t size = 16 + o->len;
            if (nmsgs && (nmsgs + 1 >= CONTAINER_MAX_MSGS || bytes + size > CONTAINER_MAX_BYTES))
                break;
            o->flags |= O_PICKED;
            nmsgs++;
            bytes += size;
            if (size > CONTAINER_MAX_BYTES)
                break;
        }
    }
    int alone = nmsgs == 1 && ((first->flags & O_ALONE) || bytes > CONTAINER_MAX_BYTES);
    int with_acks = s->nacks && !alone &&
                    (nmsgs || now >= s->ack_first_at + ACK_DELAY || s->nacks > ACK_STANDALONE);
    size_t total = nmsgs + (with_acks ? 1 : 0);
    if (!total)
        return 0;

    /* a message kept too long gets a new msg_id: clients ignore server messages older
     * than 300 s (SG, Telethon) */
    for (out_msg *o = s->head; o; o = o->next) {
        if (!(o->flags & O_PICKED))
            continue;
        if (now - o->made_at >= RESEND_SAME_ID_MAX || (o->state == O_RESEND && alone)) {
            o->msg_id = tgb_msg_id_next(s->ids, now, o->kind);
            o->seqno = next_seqno(s, o->flags & O_CONTENT);
            o->made_at = now;
            o->state = O_QUEUED;
            if (o->flags & O_ANSWER) {
                rec *r = rec_find(s, o->req_msg_id);
                if (r)
                    r->answer_msg_id = o->msg_id;
            }
        }
        resend_same_id |= o->state == O_RESEND;
        any_answer |= o->kind == TGB_MSG_ID_SERVER_ANSWER;
    }
    /* D: what goes again with its old msg_id travels in a new container */
    int container = total > 1 || resend_same_id;

    tgb_buf plain;
    tgb_buf_init(&plain, 0);
    int rc =
        tgb_buf_reserve(&plain, 32 + 8 + bytes + (with_acks ? 28 + (size_t)s->nacks * 8 : 0) + 32);
    if (rc)
        goto fail;
    uint8_t *p = tgb_buf_extend(&plain, 32);
    if (container) {
        p = tgb_buf_extend(&plain, 8);
        tgb_put_le32(p, TL_ID_msg_container);
        tgb_put_le32(p + 4, (uint32_t)total);
    }
    uint64_t top_id = 0;
    uint32_t top_seqno = 0;
    if (with_acks) {
        uint64_t id = tgb_msg_id_next(s->ids, now, TGB_MSG_ID_SERVER_ANSWER);
        uint32_t seq = next_seqno(s, 0);
        size_t blen = 12 + (size_t)s->nacks * 8;
        if (container) {
            p = tgb_buf_extend(&plain, 16);
            tgb_put_le64(p, id);
            tgb_put_le32(p + 8, seq);
            tgb_put_le32(p + 12, (uint32_t)blen);
        } else {
            top_id = id;
            top_seqno = seq;
        }
        p = tgb_buf_extend(&plain, blen);
        tgb_put_le32(p, TL_ID_msgs_ack);
        tgb_put_le32(p + 4, TGB_TL_ID_VECTOR);
        tgb_put_le32(p + 8, s->nacks);
        for (uint32_t i = 0; i < s->nacks; i++)
            tgb_put_le64(p + 12 + (size_t)i * 8, s->acks[i]);
    }
    for (out_msg *o = s->head; o; o = o->next) {
        if (!(o->flags & O_PICKED))
            continue;
        if (container) {
            p = tgb_buf_extend(&plain, 16);
            tgb_put_le64(p, o->msg_id);
            tgb_put_le32(p + 8, o->seqno);
            tgb_put_le32(p + 12, (uint32_t)o->len);
        } else {
            top_id = o->msg_id;
            top_seqno = o->seqno;
        }
        memcpy(tgb_buf_extend(&plain, o->len), o->data, o->len);
    }
    if (container) {
        top_id = tgb_msg_id_next(s->ids, now,
                                 any_answer || with_acks ? TGB_MSG_ID_SERVER_ANSWER
                                                         : TGB_MSG_ID_SERVER_PUSH);
        top_seqno = next_seqno(s, 0);
    }
    tgb_msg_header h = {s->cb.salt_current(s->user_data, now), s->session_id, top_id, top_seqno};
    if ((rc = tgb_encrypted_wrap(&plain, &h, s->auth_key, TGB_MTPROTO_SERVER, s->rnd, out)) != 0)
        goto fail;
    tgb_buf_free(&plain);

    out_msg *o = s->head;
    while (o) {
        out_msg *next = o->next;
        if (o->flags & O_PICKED) {
            o->flags &= (uint8_t)~O_PICKED;
            if (o->flags & O_CONTENT)
                o->state = O_SENT; /* kept until acknowledged */
            else
                out_free(s, o);
        }
        o = next;
    }
    if (with_acks) {
        for (uint32_t i = 0; i < s->nacks; i++) {
            rec *r = rec_find(s, s->acks[i]);
            if (r)
                r->flags |= R_ACK_SENT;
        }
        free(s->acks);
        s->acks = NULL;
        s->nacks = s->acks_cap = 0;
    }
    return 1;

fail:
    for (out_msg *q = s->head; q; q = q->next)
        q->flags &= (uint8_t)~O_PICKED;
    tgb_buf_free(&plain);
    return rc;
}

void tgemu_session_connection_lost(tgemu_session *s, tgb_time now)
{
    (void)now;
    s->connected = 0;
    s->disconnect_at = 0;
    out_msg *o = s->head;
    while (o) {
        out_msg *next = o->next;
        if (!(o->flags & O_CONTENT))
            out_free(s, o); /* notifications about the old connection's packets */
        else if (o->state == O_SENT)
            o->state = O_RESEND;
        o = next;
    }
}

tgb_time tgemu_session_next_timeout(const tgemu_session *s)
{
    tgb_time t = TGB_TIME_NEVER;
    if (s->nacks && s->ack_first_at + ACK_DELAY < t)
        t = s->ack_first_at + ACK_DELAY;
    if (s->disconnect_at && s->disconnect_at < t)
        t = s->disconnect_at;
    return t;
}

int tgemu_session_timeout(tgemu_session *s, tgb_time now)
{
    if (s->disconnect_at && now >= s->disconnect_at) {
        s->disconnect_at = 0;
        if (s->cb.disconnect)
            s->cb.disconnect(s->user_data, s);
        return 0;
    }
    want_write(s, now);
    return 0;
}
