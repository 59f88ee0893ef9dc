/*
 * Fuzz target: what a client sends to a server session (emulator/session_server.h).
 *
 * The input is a list of chunks, each
 *   flags:u8 len:u16le bytes[len]
 * and each chunk becomes one client message: the harness writes the header a client
 * would (a valid salt, the session_id, a msg_id from the clock, a seqno odd when flags
 * bit 0 is set), adds valid padding, encrypts it with the test key (x = 0) and decrypts
 * it as the DC does before handing the plaintext to the session, so the bytes take the
 * real path; there is no bypass in the library. Flags bit 1: the chunk is the whole
 * plaintext header and body (only the session_id is put right). Bit 2: the msg_id of
 * the previous message again (a duplicate). Bit 3: the salt is wrong. Bits 4-6: the
 * clock moves that many seconds afterwards; bit 7: the connection is lost afterwards.
 * In the body, the long 0x434c4900000000kk names the msg_id of the harness's k-th
 * message and 0x53525600000000kk the k-th msg_id the server sent, so that msgs_ack,
 * msg_resend_req, msgs_state_req and rpc_drop_answer can name real messages. The
 * `query` callback answers at once, with an error, with a large result, or not at all,
 * by the query's second byte.
 */
#include "crypto/crypto.h"
#include "emulator/session_server.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEC   ((tgb_time)1000000)
#define T0    ((tgb_time)1700000000 * SEC)
#define SALT  0x5a17
#define NAMES 64

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

static void on_query(void *ud, tgemu_session *s, uint64_t req_msg_id, const uint8_t *q, size_t len,
                     tgb_time now)
{
    (void)ud;
    uint8_t mode = len > 1 ? q[1] % 4 : 0;
    if (mode == 0) {
        uint8_t r[12] = {0x15, 0xc4, 0xb5, 0x1c, 1, 0, 0, 0};
        memcpy(r + 8, q, 4);
        tgemu_session_answer(s, req_msg_id, r, sizeof(r), now);
    } else if (mode == 1) {
        tgemu_session_answer_error(s, req_msg_id, 420, "FLOOD_WAIT_5", now);
    } else if (mode == 2) {
        static uint8_t big[4096];
        memcpy(big, q, len < sizeof(big) ? len & ~(size_t)3 : sizeof(big));
        tgemu_session_answer(s, req_msg_id, big, sizeof(big), now);
    }
}

static int salt_valid(void *ud, int64_t salt, tgb_time now)
{
    (void)ud;
    (void)now;
    return salt == SALT;
}

static int64_t salt_current(void *ud, tgb_time now)
{
    (void)ud;
    (void)now;
    return SALT;
}

static void salt_future(void *ud, tgb_time now, int i, int64_t *salt, int32_t *since,
                        int32_t *until)
{
    (void)ud;
    *salt = SALT + i;
    *since = (int32_t)(now / SEC) + i * 1800;
    *until = *since + 3600;
}

static int destroy(void *ud, tgemu_session *s, uint64_t sid)
{
    (void)ud;
    (void)s;
    return sid & 1;
}

/* Notes the msg_ids of a server packet (outer and, for a container, inner). */
static void note_server_ids(const uint8_t key[256], const tgb_buf *pkt, uint64_t *ids, int *n)
{
    uint8_t *plain = malloc(pkt->len);
    if (!plain)
        return;
    if (tgb_mtproto_decrypt(key, TGB_MTPROTO_SERVER, pkt->data, pkt->len, plain) == 0) {
        size_t plen = pkt->len - 24;
        ids[*n % NAMES] = tgb_le64(plain + 16);
        (*n)++;
        if (tgb_le32(plain + 32) == 0x73f1f8dc) {
            uint32_t count = tgb_le32(plain + 36);
            size_t at = 40;
            for (uint32_t i = 0; i < count && at + 16 <= plen; i++) {
                ids[*n % NAMES] = tgb_le64(plain + at);
                (*n)++;
                at += 16 + tgb_le32(plain + at + 12);
            }
        }
    }
    free(plain);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t key[256];
    for (int i = 0; i < 256; i++)
        key[i] = (uint8_t)(i * 7 + 3);
    uint64_t st = 0x7654321;
    tgb_random rnd = {xorshift, &st};
    tgb_msg_id_gen ids;
    tgb_msg_id_gen_init(&ids);
    tgb_time now = T0;
    const uint64_t sid = 0x5e55105e55105e55;
    tgemu_session_config cfg = {key, sid, &rnd, &ids};
    tgemu_session_callbacks cb;
    memset(&cb, 0, sizeof(cb));
    cb.query = on_query;
    cb.salt_valid = salt_valid;
    cb.salt_current = salt_current;
    cb.salt_future = salt_future;
    cb.destroy_session = destroy;
    tgemu_session *s = NULL;
    if (tgemu_session_new(&s, &cfg, &cb, NULL, now) != 0)
        return 0;

    uint64_t mine[NAMES], theirs[NAMES];
    int nmine = 0, ntheirs = 0;
    uint64_t last_id = 0;
    tgb_buf out;
    tgb_buf_init(&out, 0);
    size_t pos = 0;
    while (pos + 3 <= size) {
        uint8_t flags = data[pos];
        size_t len = (size_t)data[pos + 1] | (size_t)data[pos + 2] << 8;
        pos += 3;
        if (len > size - pos)
            len = size - pos;
        const uint8_t *chunk = data + pos;
        pos += len;

        size_t body_at = (flags & 2) ? 0 : 32;
        size_t plen = body_at + len + 12;
        plen += (16 - plen % 16) % 16;
        if (plen < 48)
            plen = 48;
        uint8_t *plain = calloc(1, plen);
        uint8_t *pkt = malloc(24 + plen);
        uint8_t *dec = malloc(plen);
        if (!plain || !pkt || !dec) {
            free(plain);
            free(pkt);
            free(dec);
            break;
        }
        memcpy(plain + body_at, chunk, len);
        for (size_t i = body_at; i + 8 <= body_at + len; i += 4) {
            uint64_t v = tgb_le64(plain + i);
            if ((v >> 8) == 0x434c4900000000ull >> 8 && nmine)
                tgb_put_le64(plain + i, mine[(v & 0xff) % NAMES % (unsigned)nmine]);
            else if ((v >> 8) == 0x53525600000000ull >> 8 && ntheirs)
                tgb_put_le64(plain + i, theirs[(v & 0xff) % NAMES % (unsigned)ntheirs]);
        }
        if (!(flags & 2)) {
            uint64_t id = tgb_msg_id_from_time(now);
            if (flags & 4)
                id = last_id;
            else if (id <= last_id)
                id = last_id + 4;
            last_id = id > last_id ? id : last_id;
            tgb_put_le64(plain, (flags & 8) ? SALT + 1 : SALT);
            tgb_put_le64(plain + 16, id);
            tgb_put_le32(plain + 24, (flags & 1) ? 2 * (uint32_t)nmine + 1 : 2 * (uint32_t)nmine);
            tgb_put_le32(plain + 28, (uint32_t)len);
        }
        tgb_put_le64(plain + 8, sid);
        mine[nmine % NAMES] = tgb_le64(plain + 16);
        nmine++;
        /* the DC's path: encrypted by the client, decrypted with x = 0 */
        if (tgb_mtproto_encrypt(key, TGB_MTPROTO_CLIENT, plain, plen, pkt) == 0 &&
            tgb_mtproto_decrypt(key, TGB_MTPROTO_CLIENT, pkt, 24 + plen, dec) == 0)
            tgemu_session_recv(s, dec, plen, now);
        free(plain);
        free(pkt);
        free(dec);

        while (tgemu_session_pull(s, now, &out) == 1) {
            note_server_ids(key, &out, theirs, &ntheirs);
            out.len = 0;
        }
        now += (tgb_time)((flags >> 4) & 7) * SEC;
        if (tgemu_session_next_timeout(s) <= now)
            tgemu_session_timeout(s, now);
        if (flags & 0x80)
            tgemu_session_connection_lost(s, now);
    }
    tgb_buf_free(&out);
    tgemu_session_del(s);
    return 0;
}
