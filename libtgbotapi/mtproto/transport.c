/*
 * MTProto transport framing; see transport.h. Section names below are those of
 * https://core.telegram.org/mtproto/mtproto-transports.
 *
 * Received bytes go into one buffer: [head, scan) holds complete frames already checked,
 * [scan, end) the start of the next one. feed() appends input only as far as the next
 * point where a length can be checked, so a length over the cap is refused before a
 * byte of its body is stored.
 */
#include "transport.h"

#include "base/crc32.h"
#include "base/secure.h"

#include <stdlib.h>
#include <string.h>

#define TAG_ABRIDGED     0xefefefefu
#define TAG_INTERMEDIATE 0xeeeeeeeeu
#define TAG_PADDED       0xddddddddu

/* The obfuscated2 header: 64 bytes; key, iv and tag at fixed offsets ("Transport
 * obfuscation"). */
#define OBF_HEADER   64
#define OBF_KEY      8
#define OBF_IV       40
#define OBF_TAG      56
#define OBF_DC       60
#define OBF_KEY_IV   48 /* key (32) + iv (16), the span that is reversed */
#define OBF_ATTEMPTS 64

/* Abridged counts 4-byte words in 3 bytes at most. */
#define ABRIDGED_MAX_LEN ((((size_t)1 << 24) - 1) * 4)
/* A larger max_packet is refused: it would let the padded cap (max + 15) overflow and
 * is far beyond anything Telegram sends. */
#define MAX_PACKET_LIMIT ((size_t)1 << 30)
#define FULL_OVERHEAD    12 /* length, seq_no, crc */

struct tgb_framer {
    int server;
    int transport; /* TGB_TRANSPORT_ABRIDGED..FULL; 0 until a server framer has detected it */
    int obfuscated;
    int dc_id;
    int error; /* the first receive error; every later call returns it */
    size_t max_packet;
    tgb_aes_ctr *send_ctr, *recv_ctr; /* obfuscated2 streams */
    uint32_t send_seq, recv_seq;      /* full transport */
    uint8_t *buf;
    size_t cap, head, scan, end;
    size_t returned; /* length of the frame handed out by next(), dropped at the next call */
};

static int fail(tgb_framer *f, int rc)
{
    if (!f->error)
        f->error = rc;
    return rc;
}

/* ------------------------------------------------------------------ frame headers */

/*
 * Reads the header of the frame starting at `p` (`have` bytes present). Returns 1 with
 * the header and body sizes (full: body = seq_no + packet + crc after the length),
 * 0 when at least `*need` bytes are needed to tell, or TGB_ERR_TRANSPORT for a length
 * this transport cannot carry.
 */
static int parse_header(const tgb_framer *f, const uint8_t *p, size_t have, size_t *hdr,
                        size_t *body, size_t *need)
{
    size_t len;
    switch (f->transport) {
    case TGB_TRANSPORT_ABRIDGED: {
        if (have < 1) {
            *need = 1;
            return 0;
        }
        unsigned b = p[0];
        /* "Quick ack": a client sets the top bit of the length byte to ask for one. It is
         * optional; we do not answer it, and we never ask a server for one. */
        if (f->server)
            b &= 0x7f;
        else if (b & 0x80)
            return TGB_ERR_TRANSPORT;
        if (b < 0x7f) {
            *hdr = 1;
            len = (size_t)b * 4;
        } else {
            if (have < 4) {
                *need = 4;
                return 0;
            }
            *hdr = 4;
            len = ((size_t)p[1] | (size_t)p[2] << 8 | (size_t)p[3] << 16) * 4;
        }
        if (len == 0 || len > f->max_packet)
            return TGB_ERR_TRANSPORT;
        *body = len;
        return 1;
    }
    case TGB_TRANSPORT_INTERMEDIATE:
    case TGB_TRANSPORT_PADDED_INTERMEDIATE: {
        if (have < 4) {
            *need = 4;
            return 0;
        }
        uint32_t word = tgb_le32(p);
        if (f->server)
            word &= 0x7fffffffu; /* quick ack request, as above */
        len = word;
        *hdr = 4;
        if (f->transport == TGB_TRANSPORT_INTERMEDIATE) {
            if (len == 0 || len % 4 != 0 || len > f->max_packet)
                return TGB_ERR_TRANSPORT;
        } else {
            /* "Padded intermediate": the length counts 0..15 bytes of padding, so it need
             * not be a multiple of 4; the packet inside is at least one word. */
            if (len < 4 || len > f->max_packet + 15)
                return TGB_ERR_TRANSPORT;
        }
        *body = len;
        return 1;
    }
    default: /* TGB_TRANSPORT_FULL */
        if (have < 4) {
            *need = 4;
            return 0;
        }
        len = tgb_le32(p);
        if (len % 4 != 0 || len < FULL_OVERHEAD + 4 || len - FULL_OVERHEAD > f->max_packet)
            return TGB_ERR_TRANSPORT;
        *hdr = 4;
        *body = len - 4;
        return 1;
    }
}

/* "Full": the CRC32 covers length, seq_no and packet; seq_no counts this direction's
 * packets from 0. */
static int check_full(tgb_framer *f, const uint8_t *p, size_t total)
{
    if (tgb_crc32(0, p, total - 4) != tgb_le32(p + total - 4))
        return TGB_ERR_TRANSPORT;
    if (tgb_le32(p + 4) != f->recv_seq)
        return TGB_ERR_TRANSPORT;
    f->recv_seq++;
    return 0;
}

/* ------------------------------------------------------------------ obfuscated2 */

/*
 * Creates the two CTR streams from the 64-byte header as the client sent it (bytes
 * 8..56 are never encrypted): one direction is keyed by header[8..40] with iv
 * header[40..56], the other by the same 48 bytes reversed.
 */
static int obfuscation_keys(tgb_framer *f, const uint8_t header[OBF_HEADER])
{
    uint8_t rev[OBF_KEY_IV];
    for (size_t i = 0; i < OBF_KEY_IV; i++)
        rev[i] = header[OBF_KEY + OBF_KEY_IV - 1 - i];
    tgb_aes_ctr **forward = f->server ? &f->recv_ctr : &f->send_ctr;
    tgb_aes_ctr **backward = f->server ? &f->send_ctr : &f->recv_ctr;
    int rc = tgb_aes_ctr_new(forward, header + OBF_KEY, header + OBF_IV);
    if (rc == 0)
        rc = tgb_aes_ctr_new(backward, rev, rev + 32);
    tgb_wipe(rev, sizeof(rev));
    return rc;
}

/* HTTP ("HEAD", "POST", "GET ", "OPTI"ONS) or a TLS record (16 03 01 02), as a first
 * little-endian word. A server refuses these openings. */
static int http_or_tls(uint32_t first)
{
    return first == 0x44414548u || first == 0x54534f50u || first == 0x20544547u ||
           first == 0x4954504fu || first == 0x02010316u;
}

/*
 * The header rules of "Transport obfuscation": the plain first bytes must not look
 * like another opening, so that a server detecting on them can never mistake the
 * random header for abridged, intermediate, padded, full, HTTP or TLS.
 */
static int header_acceptable(const uint8_t *h)
{
    uint32_t first = tgb_le32(h);
    return h[0] != 0xef && first != TAG_INTERMEDIATE && first != TAG_PADDED &&
           !http_or_tls(first) && tgb_le32(h + 4) != 0;
}

static uint32_t transport_tag(int transport)
{
    switch (transport) {
    case TGB_TRANSPORT_ABRIDGED: return TAG_ABRIDGED;
    case TGB_TRANSPORT_INTERMEDIATE: return TAG_INTERMEDIATE;
    default: return TAG_PADDED;
    }
}

static int client_obfuscated_header(tgb_framer *f, const tgb_random *rnd, tgb_buf *preamble)
{
    uint8_t h[OBF_HEADER], enc[OBF_HEADER];
    int rc = TGB_ERR_RANDOM; /* a source that keeps breaking the rules is not random */
    int found = 0;
    for (int attempt = 0; attempt < OBF_ATTEMPTS && !found; attempt++) {
        int drawn = tgb_random_bytes(rnd, h, sizeof(h));
        if (drawn != 0) {
            rc = drawn;
            break;
        }
        found = header_acceptable(h);
    }
    if (found) {
        tgb_put_le32(h + OBF_TAG, transport_tag(f->transport));
        h[OBF_DC] = (uint8_t)((unsigned)f->dc_id & 0xff);
        h[OBF_DC + 1] = (uint8_t)(((unsigned)f->dc_id >> 8) & 0xff);
        rc = obfuscation_keys(f, h);
    }
    /* The whole header runs through the sending stream; only its last 8 bytes (tag and
     * dc id) are sent encrypted, and the stream continues at byte 64. */
    if (rc == 0)
        rc = tgb_aes_ctr_apply(f->send_ctr, h, enc, sizeof(h));
    if (rc == 0) {
        memcpy(h + OBF_TAG, enc + OBF_TAG, OBF_HEADER - OBF_TAG);
        rc = tgb_buf_append(preamble, h, sizeof(h));
    }
    tgb_wipe(h, sizeof(h));
    tgb_wipe(enc, sizeof(enc));
    return rc;
}

/* The server's side of the header: mirrored keys, then the decrypted tag and dc id. */
static int server_obfuscated_header(tgb_framer *f, const uint8_t *h)
{
    uint8_t plain[OBF_HEADER];
    int rc = obfuscation_keys(f, h);
    if (rc == 0)
        rc = tgb_aes_ctr_apply(f->recv_ctr, h, plain, sizeof(plain));
    if (rc == 0) {
        switch (tgb_le32(plain + OBF_TAG)) {
        case TAG_ABRIDGED: f->transport = TGB_TRANSPORT_ABRIDGED; break;
        case TAG_INTERMEDIATE: f->transport = TGB_TRANSPORT_INTERMEDIATE; break;
        case TAG_PADDED: f->transport = TGB_TRANSPORT_PADDED_INTERMEDIATE; break;
        default: rc = TGB_ERR_TRANSPORT;
        }
    }
    if (rc == 0) {
        f->obfuscated = 1;
        f->dc_id = (int16_t)(uint16_t)(plain[OBF_DC] | plain[OBF_DC + 1] << 8);
    }
    tgb_wipe(plain, sizeof(plain));
    return rc;
}

/* ------------------------------------------------------------------ receiving */

/*
 * Server side, before the transport is known: decides from the bytes in [0, end) as
 * transport.h describes, or says how many more bytes may be taken before deciding (so
 * that nothing after an obfuscated2 header arrives before its keys exist).
 */
static int detect(tgb_framer *f, size_t *room)
{
    const uint8_t *p = f->buf;
    size_t have = f->end;
    size_t tag = 0;
    if (have < 1) {
        *room = 1;
        return 0;
    }
    if (p[0] == 0xef) {
        f->transport = TGB_TRANSPORT_ABRIDGED;
        tag = 1;
    } else if (have < 4) {
        *room = 4 - have;
        return 0;
    } else {
        uint32_t first = tgb_le32(p);
        if (first == TAG_INTERMEDIATE) {
            f->transport = TGB_TRANSPORT_INTERMEDIATE;
            tag = 4;
        } else if (first == TAG_PADDED) {
            f->transport = TGB_TRANSPORT_PADDED_INTERMEDIATE;
            tag = 4;
        } else if (http_or_tls(first)) {
            return TGB_ERR_TRANSPORT; /* MTProxy's fake TLS is not served either */
        } else if (have < 8) {
            *room = 8 - have;
            return 0;
        } else if (tgb_le32(p + 4) == 0) {
            f->transport = TGB_TRANSPORT_FULL; /* seq_no 0 of the first packet */
        } else if (have < OBF_HEADER) {
            *room = OBF_HEADER - have;
            return 0;
        } else {
            int rc = server_obfuscated_header(f, p);
            if (rc != 0)
                return rc;
            tgb_wipe(f->buf, OBF_HEADER); /* the keys, in the clear */
            tag = OBF_HEADER;
        }
    }
    f->head = f->scan = tag;
    *room = 0;
    return 0;
}

/*
 * Checks every frame that has become complete in [scan, end) and moves `scan` past it;
 * `*room` gets how many more bytes may be stored before the next check is due.
 */
static int examine(tgb_framer *f, size_t *room)
{
    if (!f->transport) {
        int rc = detect(f, room);
        if (rc != 0 || !f->transport)
            return rc;
    }
    for (;;) {
        size_t have = f->end - f->scan, hdr = 0, body = 0, need = 0;
        const uint8_t *p = have ? f->buf + f->scan : NULL; /* buf is NULL while empty */
        int rc = parse_header(f, p, have, &hdr, &body, &need);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            *room = need - have;
            return 0;
        }
        if (have < hdr + body) {
            *room = hdr + body - have;
            return 0;
        }
        if (f->transport == TGB_TRANSPORT_FULL) {
            rc = check_full(f, p, hdr + body);
            if (rc != 0)
                return rc;
        }
        f->scan += hdr + body;
    }
}

/* Drops the frame handed out last; an empty buffer starts over at offset 0. */
static void release(tgb_framer *f)
{
    f->head += f->returned;
    f->returned = 0;
    if (f->head != f->end || !f->transport)
        return;
    f->head = f->scan = f->end = 0;
    /*
     * Nothing buffered: give the memory back. An idle connection then costs no
     * receive buffer (thousands of idle bots per process), and a busy one pays one
     * allocation per batch of bytes, small next to the crypto per message.
     */
    free(f->buf);
    f->buf = NULL;
    f->cap = 0;
}

/*
 * Makes room for `n` more bytes at `end`. Consumed frames are compacted away only when
 * they take at least as much space as the bytes still waiting, so each byte is moved at
 * most about once per byte consumed before it; otherwise the buffer doubles.
 */
static int make_room(tgb_framer *f, size_t n)
{
    if (f->cap - f->end >= n)
        return 0;
    size_t live = f->end - f->head;
    if (f->head > 0 && f->head >= live) {
        memmove(f->buf, f->buf + f->head, live);
        f->scan -= f->head;
        f->end = live;
        f->head = 0;
        if (f->cap - f->end >= n)
            return 0;
    }
    if (n > SIZE_MAX / 2 - f->end)
        return TGB_ERR_NOMEM;
    size_t need = f->end + n, cap = f->cap ? f->cap : 4096;
    while (cap < need)
        cap *= 2;
    uint8_t *p = realloc(f->buf, cap);
    if (!p)
        return TGB_ERR_NOMEM;
    f->buf = p;
    f->cap = cap;
    return 0;
}

int tgb_framer_feed(tgb_framer *f, const uint8_t *data, size_t len)
{
    if (!f || (len && !data))
        return TGB_ERR_INVALID;
    if (f->error)
        return f->error;
    release(f);
    for (;;) {
        size_t room = 0;
        int rc = examine(f, &room);
        if (rc != 0)
            return fail(f, rc);
        if (len == 0)
            return 0;
        size_t n = len < room ? len : room;
        rc = make_room(f, n);
        if (rc != 0)
            return fail(f, rc);
        uint8_t *dst = f->buf + f->end;
        if (f->recv_ctr)
            rc = tgb_aes_ctr_apply(f->recv_ctr, data, dst, n);
        else
            memcpy(dst, data, n);
        if (rc != 0)
            return fail(f, rc);
        f->end += n;
        data += n;
        len -= n;
    }
}

int tgb_framer_next(tgb_framer *f, tgb_frame *frame)
{
    if (!f || !frame)
        return TGB_ERR_INVALID;
    if (f->error)
        return f->error;
    release(f);
    if (f->head == f->scan)
        return 0;
    const uint8_t *p = f->buf + f->head;
    size_t hdr = 0, body = 0, need = 0;
    if (parse_header(f, p, f->scan - f->head, &hdr, &body, &need) != 1)
        return fail(f, TGB_ERR_STATE); /* examine() checked it: cannot happen */
    frame->data = p + hdr;
    frame->len = body;
    if (f->transport == TGB_TRANSPORT_FULL) {
        frame->data += 4; /* seq_no */
        frame->len -= 8;  /* seq_no, crc */
    }
    /* "Transport errors": a server sends a lone 4-byte int32 instead of a packet. Under
     * padding up to 3 bytes may follow it; no MTProto message is shorter than 8 bytes. */
    size_t error_below = f->transport == TGB_TRANSPORT_PADDED_INTERMEDIATE ? 8 : 5;
    if (!f->server && frame->len < error_below) {
        frame->type = TGB_FRAME_ERROR;
        frame->error_code = (int32_t)tgb_le32(frame->data);
    } else {
        frame->type = TGB_FRAME_PACKET;
        frame->error_code = 0;
    }
    f->returned = hdr + body;
    return 1;
}

/* ------------------------------------------------------------------ sending */

/* Frames `len` bytes of `packet` followed by `pad` bytes of `padding` into `out`. */
static int write_frame(tgb_framer *f, const uint8_t *packet, size_t len, const uint8_t *padding,
                       size_t pad, tgb_buf *out)
{
    size_t hdr, total;
    switch (f->transport) {
    case TGB_TRANSPORT_ABRIDGED: hdr = len / 4 < 0x7f ? 1 : 4; break;
    case TGB_TRANSPORT_FULL: hdr = 8; break;
    default: hdr = 4; break;
    }
    total = hdr + len + pad + (f->transport == TGB_TRANSPORT_FULL ? 4 : 0);
    /* Reserve first: a failed append must leave the seq_no and the CTR stream as they
     * were, or every later byte on the connection would be wrong. */
    int rc = tgb_buf_reserve(out, total);
    if (rc != 0)
        return rc;
    uint8_t *p = out->data + out->len;
    switch (f->transport) {
    case TGB_TRANSPORT_ABRIDGED:
        if (hdr == 1) {
            p[0] = (uint8_t)(len / 4);
        } else {
            p[0] = 0x7f;
            p[1] = (uint8_t)(len / 4);
            p[2] = (uint8_t)(len / 4 >> 8);
            p[3] = (uint8_t)(len / 4 >> 16);
        }
        break;
    case TGB_TRANSPORT_FULL:
        tgb_put_le32(p, (uint32_t)total);
        tgb_put_le32(p + 4, f->send_seq);
        break;
    default: tgb_put_le32(p, (uint32_t)(len + pad)); break;
    }
    memcpy(p + hdr, packet, len);
    if (pad)
        memcpy(p + hdr + len, padding, pad);
    if (f->transport == TGB_TRANSPORT_FULL)
        tgb_put_le32(p + total - 4, tgb_crc32(0, p, total - 4));
    if (f->send_ctr) {
        rc = tgb_aes_ctr_apply(f->send_ctr, p, p, total);
        if (rc != 0)
            return fail(f, rc); /* the stream position is lost */
    }
    if (f->transport == TGB_TRANSPORT_FULL)
        f->send_seq++;
    out->len += total;
    return 0;
}

int tgb_framer_write(tgb_framer *f, const uint8_t *packet, size_t len, const tgb_random *rnd,
                     tgb_buf *out)
{
    if (!f || !out || (len && !packet))
        return TGB_ERR_INVALID;
    if (f->error)
        return f->error;
    if (!f->transport)
        return TGB_ERR_STATE;
    if (len == 0 || len % 4 != 0 || len > f->max_packet ||
        (f->transport == TGB_TRANSPORT_ABRIDGED && len > ABRIDGED_MAX_LEN))
        return TGB_ERR_INVALID;
    uint8_t padding[16];
    size_t pad = 0;
    if (f->transport == TGB_TRANSPORT_PADDED_INTERMEDIATE) {
        int rc = tgb_random_bytes(rnd, padding, sizeof(padding));
        if (rc != 0)
            return rc;
        pad = padding[0] & 15; /* 0..15, uniform */
        memmove(padding, padding + 1, pad);
    }
    return write_frame(f, packet, len, padding, pad, out);
}

int tgb_framer_write_error(tgb_framer *f, int32_t code, tgb_buf *out)
{
    if (!f || !out || code >= 0)
        return TGB_ERR_INVALID;
    if (f->error)
        return f->error;
    if (!f->server || !f->transport)
        return TGB_ERR_STATE;
    uint8_t packet[4];
    tgb_put_le32(packet, (uint32_t)code);
    /* Never padded: the client tells an error by its length alone. */
    return write_frame(f, packet, sizeof(packet), NULL, 0, out);
}

/* ------------------------------------------------------------------ lifetime */

int tgb_framer_new_client(tgb_framer **out, int transport, int dc_id, const tgb_random *rnd,
                          tgb_buf *preamble)
{
    if (!out)
        return TGB_ERR_INVALID;
    *out = NULL;
    int base = transport & ~TGB_TRANSPORT_OBFUSCATED;
    int obfuscated = (transport & TGB_TRANSPORT_OBFUSCATED) != 0;
    if (!preamble || base < TGB_TRANSPORT_ABRIDGED || base > TGB_TRANSPORT_FULL ||
        (obfuscated && base == TGB_TRANSPORT_FULL) || dc_id < INT16_MIN || dc_id > INT16_MAX)
        return TGB_ERR_INVALID;
    tgb_framer *f = calloc(1, sizeof(*f));
    if (!f)
        return TGB_ERR_NOMEM;
    f->transport = base;
    f->max_packet = TGB_FRAMER_DEFAULT_MAX_PACKET;
    int rc = 0;
    if (obfuscated) {
        f->obfuscated = 1;
        f->dc_id = dc_id;
        rc = client_obfuscated_header(f, rnd, preamble);
    } else if (base == TGB_TRANSPORT_ABRIDGED) {
        rc = tgb_buf_append(preamble, "\xef", 1);
    } else if (base != TGB_TRANSPORT_FULL) {
        uint8_t tag[4];
        tgb_put_le32(tag, transport_tag(base));
        rc = tgb_buf_append(preamble, tag, sizeof(tag));
    }
    if (rc != 0) {
        tgb_framer_del(f);
        return rc;
    }
    *out = f;
    return 0;
}

int tgb_framer_new_server(tgb_framer **out, size_t max_packet)
{
    if (!out)
        return TGB_ERR_INVALID;
    *out = NULL;
    if (max_packet > MAX_PACKET_LIMIT)
        return TGB_ERR_INVALID;
    tgb_framer *f = calloc(1, sizeof(*f));
    if (!f)
        return TGB_ERR_NOMEM;
    f->server = 1;
    f->max_packet = max_packet ? max_packet : TGB_FRAMER_DEFAULT_MAX_PACKET;
    *out = f;
    return 0;
}

void tgb_framer_del(tgb_framer *f)
{
    if (!f)
        return;
    /* EVP_CIPHER_CTX_free cleanses the key schedules. */
    tgb_aes_ctr_del(f->send_ctr);
    tgb_aes_ctr_del(f->recv_ctr);
    free(f->buf);
    tgb_wipe(f, sizeof(*f));
    free(f);
}

int tgb_framer_transport(const tgb_framer *f)
{
    if (!f || !f->transport)
        return 0;
    return f->transport | (f->obfuscated ? TGB_TRANSPORT_OBFUSCATED : 0);
}

int tgb_framer_dc_id(const tgb_framer *f)
{
    return f && f->obfuscated ? f->dc_id : 0;
}
