/*
 * Fuzz target: what a server sends to a client session (mtproto/session.h).
 *
 * The session is set up as in use: three requests sent (one large), a connection up,
 * with a fixed key, clock and randomness. The input is a list of chunks, each
 *   flags:u8 len:u16le bytes[len]
 * and each chunk becomes one packet from the server: the harness writes the header a
 * server would (the current salt, our session_id, an odd msg_id from the clock, a seqno
 * odd when flags bit 0 is set), adds valid padding and encrypts with the key (x = 8), so
 * the bytes reach the parsing behind decryption; there is no bypass in the library.
 * With flags bit 1 the chunk is the whole plaintext header and body instead (only the
 * session_id is put right), to reach the header and length checks. In the body, the
 * long 0x52455100000000kk names the msg_id of request k, so that rpc_result, msgs_ack,
 * bad_msg_notification and msgs_state_info can find real requests. Between chunks the
 * clock moves by (flags >> 4) seconds, timers run and the session's packets are pulled.
 */
#include "crypto/crypto.h"
#include "mtproto/session.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEC ((tgb_time)1000000)
#define T0  ((tgb_time)1700000000 * SEC)

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

static int answers;

static void on_answer(void *ud, uint64_t token, const tgb_rpc_answer *a)
{
    (void)ud;
    (void)token;
    /* the result is readable, the error text terminated */
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < a->result_len; i++)
        sink ^= a->result[i];
    if (a->rpc_error_message)
        sink ^= (uint8_t)strlen(a->rpc_error_message);
    (void)sink;
    answers++;
}

static void on_update(void *ud, const uint8_t *tl, size_t len)
{
    (void)ud;
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < len; i++)
        sink ^= tl[i];
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t key[256];
    for (int i = 0; i < 256; i++)
        key[i] = (uint8_t)(i * 7 + 3);
    uint64_t st = 0x1234567;
    tgb_random rnd = {xorshift, &st};
    tgb_time now = T0;
    static const uint8_t prefix[8] = {0x0d, 0x0d, 0x9b, 0xda, 0xe4, 0, 0, 0};
    tgb_mtp_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.auth_key = key;
    cfg.server_salt = 0x5a17;
    cfg.rnd = &rnd;
    cfg.init_prefix = prefix;
    cfg.init_prefix_len = sizeof(prefix);
    cfg.ping_interval = 10;
    tgb_mtp_callbacks cb;
    memset(&cb, 0, sizeof(cb));
    cb.answer = on_answer;
    cb.update = on_update;
    tgb_mtp_session *s = NULL;
    if (tgb_mtp_session_new(&s, &cfg, &cb, NULL, now) != 0)
        return 0;
    uint64_t sid = tgb_mtp_session_id(s);

    uint8_t q[2048];
    memset(q, 0, sizeof(q));
    tgb_put_le32(q, 0x0badf00d);
    tgb_mtp_session_send(s, 0, q, 8, now);
    tgb_mtp_session_send(s, 1, q, 8, now);
    tgb_mtp_session_send(s, 2, q, sizeof(q), now);
    tgb_buf out;
    tgb_buf_init(&out, 0);
    while (tgb_mtp_session_pull(s, now, &out) == 1)
        out.len = 0;
    tgb_mtp_session_connection_ready(s, now);
    /* the ids the generator handed out: the three requests first */
    uint64_t req_ids[3];
    for (int k = 0; k < 3; k++)
        req_ids[k] = tgb_msg_id_from_time(now) + 4 * (uint64_t)k;

    uint64_t server_id = tgb_msg_id_from_time(now) | 1;
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
        if (!plain || !pkt) {
            free(plain);
            free(pkt);
            break;
        }
        memcpy(plain + body_at, chunk, len);
        for (size_t i = body_at; i + 8 <= body_at + len; i += 4) {
            uint64_t v = tgb_le64(plain + i);
            if ((v >> 8) == 0x52455100000000ull >> 8 && (v & 0xff) < 3)
                tgb_put_le64(plain + i, req_ids[v & 0xff]);
        }
        if (!(flags & 2)) {
            uint64_t t = tgb_msg_id_from_time(now) | 1;
            server_id = t > server_id + 4 ? t : server_id + 4;
            tgb_put_le64(plain, 0x5a17);
            tgb_put_le64(plain + 16, server_id);
            tgb_put_le32(plain + 24, (flags & 1) ? 1 : 0);
            tgb_put_le32(plain + 28, (uint32_t)len);
        }
        tgb_put_le64(plain + 8, sid);
        if (tgb_mtproto_encrypt(key, TGB_MTPROTO_SERVER, plain, plen, pkt) == 0)
            tgb_mtp_session_recv(s, pkt, 24 + plen, now);
        free(plain);
        free(pkt);

        now += (tgb_time)(flags >> 4) * SEC;
        if (tgb_mtp_session_next_timeout(s) <= now)
            tgb_mtp_session_timeout(s, now);
        while (tgb_mtp_session_pull(s, now, &out) == 1)
            out.len = 0;
        if ((flags & 0x0c) == 0x0c) {
            tgb_mtp_session_connection_lost(s, now);
            tgb_mtp_session_connection_ready(s, now);
        }
    }
    tgb_buf_free(&out);
    tgb_mtp_session_del(s);
    return 0;
}
