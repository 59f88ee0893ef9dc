/*
 * Tests for mtproto/transport and base/crc32: the exact bytes a peer sees for every
 * transport (written out by hand from https://core.telegram.org/mtproto/mtproto-transports),
 * the obfuscated2 header and its key derivation recomputed here from the definition,
 * client-to-server and server-to-client round trips of many packets fed in chunks of
 * every size, and every way a peer can break the framing.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */

#include "base/buf.h"
#include "base/crc32.h"
#include "check.h"
#include "crypto/crypto.h"
#include "mtproto/transport.h"
#include "splitmix.h"
#include "transports.h"

#include <sys/mman.h>
#include <unistd.h>

#define OBF TGB_TRANSPORT_OBFUSCATED

/* ------------------------------------------------------------------ helpers */

/* A deterministic random source (splitmix64). */
typedef struct rng {
    uint64_t state;
} rng;

static uint64_t rng_next(rng *r)
{
    return splitmix64(&r->state);
}

static size_t rng_below(rng *r, size_t n)
{
    return (size_t)(rng_next(r) % n);
}

static int rng_fill(void *user_data, uint8_t *out, size_t len)
{
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)rng_next(user_data);
    return 0;
}

/* A source that hands out fixed bytes in order and fails when they run out. */
typedef struct script {
    const uint8_t *bytes;
    size_t len, pos;
} script;

static int script_fill(void *user_data, uint8_t *out, size_t len)
{
    script *s = user_data;
    if (len > s->len - s->pos)
        return TGB_ERR_RANDOM;
    memcpy(out, s->bytes + s->pos, len);
    s->pos += len;
    return 0;
}

/* CRC-32 bit by bit, straight from the definition (reflected 0xedb88320, inverted). */
static uint32_t ref_crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

static void put32(uint8_t *p, uint32_t v)
{
    tgb_put_le32(p, v);
}

static void fill_pattern(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 31 + seed);
}

/* A server framer fed `len` bytes; returns what feed returned. */
static int server_feed(tgb_framer **s, size_t max_packet, const void *bytes, size_t len)
{
    CHECK_OK(tgb_framer_new_server(s, max_packet));
    return tgb_framer_feed(*s, bytes, len);
}

static const char *transport_name(int t)
{
    switch (t) {
    case TGB_TRANSPORT_ABRIDGED: return "abridged";
    case TGB_TRANSPORT_INTERMEDIATE: return "intermediate";
    case TGB_TRANSPORT_PADDED_INTERMEDIATE: return "padded";
    case TGB_TRANSPORT_FULL: return "full";
    case TGB_TRANSPORT_ABRIDGED | OBF: return "obfuscated abridged";
    case TGB_TRANSPORT_INTERMEDIATE | OBF: return "obfuscated intermediate";
    case TGB_TRANSPORT_PADDED_INTERMEDIATE | OBF: return "obfuscated padded";
    default: return "?";
    }
}

/* ------------------------------------------------------------------ crc32 */

static void test_crc32(void)
{
    CHECK_EQ(tgb_crc32(0, "123456789", 9), 0xcbf43926u); /* the standard check value */
    CHECK_EQ(tgb_crc32(0, NULL, 0), 0);
    CHECK_EQ(tgb_crc32(0, "a", 1), 0xe8b7be43u);
    CHECK_EQ(tgb_crc32(0, "The quick brown fox jumps over the lazy dog", 43), 0x414fa339u);
    rng r = {42};
    static uint8_t data[5000];
    rng_fill(&r, data, sizeof(data));
    int bad = 0;
    for (size_t n = 0; n < sizeof(data); n += 1 + n / 7) {
        size_t cut = n / 3;
        uint32_t whole = tgb_crc32(0, data, n);
        bad += whole != ref_crc32(data, n);
        bad += tgb_crc32(tgb_crc32(0, data, cut), data + cut, n - cut) != whole;
    }
    CHECK_EQ(bad, 0);
}

/* ------------------------------------------------------------------ exact bytes */

/* Writes `len` pattern bytes with framer `f` and compares the result with `header`
 * followed by the packet (and `trailer`, if any). */
static void check_written(tgb_framer *f, size_t len, const uint8_t *header, size_t hlen,
                          const uint8_t *trailer, size_t tlen)
{
    uint8_t *pkt = malloc(len);
    fill_pattern(pkt, len, (unsigned)len);
    tgb_buf out;
    tgb_buf_init(&out, 0);
    CHECK_OK(tgb_framer_write(f, pkt, len, NULL, &out));
    CHECK_EQ(out.len, hlen + len + tlen);
    if (out.len == hlen + len + tlen) {
        CHECK_MEM(out.data, header, hlen);
        CHECK_MEM(out.data + hlen, pkt, len);
        if (tlen)
            CHECK_MEM(out.data + hlen + len, trailer, tlen);
    }
    tgb_buf_free(&out);
    free(pkt);
}

static void test_abridged_bytes(void)
{
    tgb_buf pre;
    tgb_buf_init(&pre, 0);
    tgb_framer *c = NULL;
    CHECK_OK(tgb_framer_new_client(&c, TGB_TRANSPORT_ABRIDGED, 2, NULL, &pre));
    CHECK_EQ(pre.len, 1);
    CHECK_EQ(pre.data[0], 0xef);
    CHECK_EQ(tgb_framer_transport(c), TGB_TRANSPORT_ABRIDGED);
    CHECK_EQ(tgb_framer_dc_id(c), 0);
    check_written(c, 8, (const uint8_t *)"\x02", 1, NULL, 0);
    check_written(c, 4, (const uint8_t *)"\x01", 1, NULL, 0);
    check_written(c, 504, (const uint8_t *)"\x7e", 1, NULL, 0);             /* 126 words */
    check_written(c, 508, (const uint8_t *)"\x7f\x7f\x00\x00", 4, NULL, 0); /* 127 words */
    check_written(c, 0x40000, (const uint8_t *)"\x7f\x00\x00\x01", 4, NULL, 0);
    check_written(c, 1 << 20, (const uint8_t *)"\x7f\x00\x00\x04", 4, NULL, 0);

    /* The server answers in the same envelope, without the tag. */
    tgb_framer *s = NULL;
    CHECK_EQ(server_feed(&s, 0, pre.data, pre.len), 0);
    CHECK_EQ(tgb_framer_transport(s), TGB_TRANSPORT_ABRIDGED);
    check_written(s, 8, (const uint8_t *)"\x02", 1, NULL, 0);
    check_written(s, 508, (const uint8_t *)"\x7f\x7f\x00\x00", 4, NULL, 0);

    /* And reads what a client sends, byte for byte as written here. */
    static const uint8_t wire[] = {0x02, 1, 2, 3, 4, 5, 6, 7, 8};
    tgb_frame fr;
    CHECK_EQ(tgb_framer_feed(s, wire, sizeof(wire)), 0);
    CHECK_EQ(tgb_framer_next(s, &fr), 1);
    CHECK_EQ(fr.type, TGB_FRAME_PACKET);
    CHECK_EQ(fr.len, 8);
    CHECK_MEM(fr.data, wire + 1, 8);
    CHECK_EQ(tgb_framer_next(s, &fr), 0);
    tgb_framer_del(s);
    tgb_framer_del(c);
    tgb_buf_free(&pre);
}

static void test_intermediate_bytes(void)
{
    tgb_buf pre;
    tgb_buf_init(&pre, 0);
    tgb_framer *c = NULL;
    CHECK_OK(tgb_framer_new_client(&c, TGB_TRANSPORT_INTERMEDIATE, 2, NULL, &pre));
    CHECK_EQ(pre.len, 4);
    CHECK_MEM(pre.data, "\xee\xee\xee\xee", 4);
    check_written(c, 8, (const uint8_t *)"\x08\x00\x00\x00", 4, NULL, 0);
    check_written(c, 508, (const uint8_t *)"\xfc\x01\x00\x00", 4, NULL, 0);
    check_written(c, 1 << 20, (const uint8_t *)"\x00\x00\x10\x00", 4, NULL, 0);
    tgb_framer_del(c);
    tgb_buf_free(&pre);
}

static void test_padded_bytes(void)
{
    tgb_buf pre;
    tgb_buf_init(&pre, 0);
    tgb_framer *c = NULL;
    CHECK_OK(tgb_framer_new_client(&c, TGB_TRANSPORT_PADDED_INTERMEDIATE, 2, NULL, &pre));
    CHECK_EQ(pre.len, 4);
    CHECK_MEM(pre.data, "\xdd\xdd\xdd\xdd", 4);

    /* The first random byte picks 11 bytes of padding (0x3b & 15), the next 11 are it. */
    uint8_t random[16];
    fill_pattern(random, sizeof(random), 0x3b);
    random[0] = 0x3b;
    script sc = {random, sizeof(random), 0};
    tgb_random rnd = {script_fill, &sc};
    uint8_t pkt[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    tgb_buf out;
    tgb_buf_init(&out, 0);
    CHECK_OK(tgb_framer_write(c, pkt, 8, &rnd, &out));
    CHECK_EQ(out.len, 4 + 8 + 11);
    CHECK_MEM(out.data, "\x13\x00\x00\x00", 4); /* 19 = 8 + 11 */
    CHECK_MEM(out.data + 4, pkt, 8);
    CHECK_MEM(out.data + 12, random + 1, 11);

    /* Over many writes, padding takes every length 0..15 and nothing else. */
    rng r = {7};
    tgb_random rr = {rng_fill, &r};
    int seen[16] = {0}, bad = 0;
    for (int i = 0; i < 2000; i++) {
        out.len = 0;
        CHECK_OK(tgb_framer_write(c, pkt, 8, &rr, &out));
        size_t pad = out.len - 12;
        if (pad > 15 || tgb_le32(out.data) != 8 + pad)
            bad++;
        else
            seen[pad]++;
    }
    CHECK_EQ(bad, 0);
    for (int i = 0; i < 16; i++)
        CHECK(seen[i] > 0);

    /* A failing source fails the write and appends nothing. */
    script empty = {NULL, 0, 0};
    tgb_random none = {script_fill, &empty};
    out.len = 0;
    CHECK_EQ(tgb_framer_write(c, pkt, 8, &none, &out), TGB_ERR_RANDOM);
    CHECK_EQ(out.len, 0);
    tgb_buf_free(&out);
    tgb_framer_del(c);
    tgb_buf_free(&pre);
}

static void test_full_bytes(void)
{
    tgb_buf pre;
    tgb_buf_init(&pre, 0);
    tgb_framer *c = NULL;
    CHECK_OK(tgb_framer_new_client(&c, TGB_TRANSPORT_FULL, 2, NULL, &pre));
    CHECK_EQ(pre.len, 0); /* no tag */

    /* check_written sends fill_pattern(8 bytes, seed 8): length 20, seq_no 0, crc */
    uint8_t frame[20] = {0x14, 0, 0, 0, 0, 0, 0, 0};
    fill_pattern(frame + 8, 8, 8);
    uint8_t crc[4];
    put32(crc, ref_crc32(frame, 16));
    check_written(c, 8, frame, 8, crc, 4);
    /* the same again: seq_no 1, so another crc */
    frame[4] = 1;
    put32(crc, ref_crc32(frame, 16));
    check_written(c, 8, frame, 8, crc, 4);

    /* The server detects full from the zero seq_no and checks crc and seq_no. */
    static const uint8_t pkt[8] = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8};
    frame[4] = 0;
    memcpy(frame + 8, pkt, 8);
    put32(frame + 16, ref_crc32(frame, 16));
    tgb_framer *s = NULL;
    tgb_frame fr;
    CHECK_EQ(server_feed(&s, 0, frame, sizeof(frame)), 0);
    CHECK_EQ(tgb_framer_transport(s), TGB_TRANSPORT_FULL);
    CHECK_EQ(tgb_framer_next(s, &fr), 1);
    CHECK_EQ(fr.type, TGB_FRAME_PACKET);
    CHECK_EQ(fr.len, 8);
    CHECK_MEM(fr.data, pkt, 8);
    /* the server's answers count from 0 too */
    fill_pattern(frame + 8, 8, 8);
    put32(crc, ref_crc32(frame, 16));
    check_written(s, 8, frame, 8, crc, 4);
    tgb_framer_del(s);
    tgb_framer_del(c);
    tgb_buf_free(&pre);
}

/* ------------------------------------------------------------------ obfuscated2 */

static const uint32_t obf_tags[] = {0xefefefefu, 0xeeeeeeeeu, 0xddddddddu};

/* The rules of "Transport obfuscation" for the plain first 8 bytes of a header. */
static int header_ok(const uint8_t *h)
{
    uint32_t first = tgb_le32(h);
    return h[0] != 0xef && first != 0x44414548u && first != 0x54534f50u && first != 0x20544547u &&
           first != 0x4954504fu && first != 0xddddddddu && first != 0xeeeeeeeeu &&
           first != 0x02010316u && tgb_le32(h + 4) != 0;
}

/*
 * Known answer: with fixed random bytes the header is those bytes with the tag and the
 * dc id put in, and its keys are exactly the definition's: we re-derive them here and
 * decrypt what the client sends, and encrypt what it should receive.
 */
static void test_obfuscated_known_answer(void)
{
    for (int i = 0; i < 3; i++) {
        int base = TGB_TRANSPORT_ABRIDGED + i;
        uint8_t random[64 + 16];
        fill_pattern(random, sizeof(random), (unsigned)(17 * i + 3));
        random[64] = 0x25; /* padded: 5 bytes of padding */
        CHECK(header_ok(random));
        script sc = {random, sizeof(random), 0};
        tgb_random rnd = {script_fill, &sc};
        tgb_buf pre;
        tgb_buf_init(&pre, 0);
        tgb_framer *c = NULL;
        CHECK_OK(tgb_framer_new_client(&c, base | OBF, -3, &rnd, &pre));
        CHECK_EQ(tgb_framer_transport(c), base | OBF);
        CHECK_EQ(tgb_framer_dc_id(c), -3);
        CHECK_EQ(pre.len, 64);

        uint8_t plain[64];
        memcpy(plain, random, 64);
        put32(plain + 56, obf_tags[i]);
        plain[60] = 0xfd; /* -3 as int16 little-endian */
        plain[61] = 0xff;
        CHECK_MEM(pre.data, plain, 56);
        tgb_aes_ctr *enc = NULL, *dec = NULL;
        CHECK_OK(tgb_aes_ctr_new(&enc, plain + 8, plain + 40));
        uint8_t e[64];
        CHECK_OK(tgb_aes_ctr_apply(enc, plain, e, 64));
        CHECK_MEM(pre.data + 56, e + 56, 8);

        /* client -> server: the stream continues after the header */
        uint8_t pkt[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        tgb_buf out;
        tgb_buf_init(&out, 0);
        CHECK_OK(tgb_framer_write(c, pkt, 8, &rnd, &out));
        uint8_t want[32];
        size_t wlen;
        if (base == TGB_TRANSPORT_ABRIDGED) {
            want[0] = 2;
            memcpy(want + 1, pkt, 8);
            wlen = 9;
        } else if (base == TGB_TRANSPORT_INTERMEDIATE) {
            put32(want, 8);
            memcpy(want + 4, pkt, 8);
            wlen = 12;
        } else {
            put32(want, 8 + 5);
            memcpy(want + 4, pkt, 8);
            memcpy(want + 12, random + 65, 5);
            wlen = 17;
        }
        CHECK_EQ(out.len, wlen);
        uint8_t got[32];
        if (out.len == wlen) {
            CHECK_OK(tgb_aes_ctr_apply(enc, out.data, got, wlen));
            CHECK_MEM(got, want, wlen);
        }

        /* For obfuscated intermediate, the same bytes as computed outside this library
         * (Python's `cryptography` AES-CTR, keys taken from the definition). */
        if (base == TGB_TRANSPORT_INTERMEDIATE && out.len == 12) {
            size_t n;
            uint8_t *tail = check_unhex("8821f1a5e8c30903", &n);
            CHECK_MEM(pre.data + 56, tail, 8);
            free(tail);
            uint8_t *frame = check_unhex("b27837ebe7d890d4050ccd7b", &n);
            CHECK_MEM(out.data, frame, 12);
            free(frame);
        }

        /* The server derives the same keys from the header. */
        tgb_framer *s = NULL;
        CHECK_EQ(server_feed(&s, 0, pre.data, pre.len), 0);
        CHECK_EQ(tgb_framer_feed(s, out.data, out.len), 0);
        CHECK_EQ(tgb_framer_transport(s), base | OBF);
        CHECK_EQ(tgb_framer_dc_id(s), -3);
        tgb_frame fr;
        CHECK_EQ(tgb_framer_next(s, &fr), 1);
        CHECK_EQ(fr.len, base == TGB_TRANSPORT_PADDED_INTERMEDIATE ? 13 : 8);
        CHECK_MEM(fr.data, pkt, 8);

        /* server -> client: keyed by header bytes 8..56 reversed */
        uint8_t rev[48];
        for (int k = 0; k < 48; k++)
            rev[k] = plain[55 - k];
        CHECK_OK(tgb_aes_ctr_new(&dec, rev, rev + 32));
        uint8_t answer[16] = {3, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0xff, 0xfe};
        size_t alen = 13;
        if (base != TGB_TRANSPORT_ABRIDGED) {
            memmove(answer + 4, answer + 1, 12);
            put32(answer, 12);
            alen = 16;
        }
        uint8_t sealed[16];
        CHECK_OK(tgb_aes_ctr_apply(dec, answer, sealed, alen));
        if (base == TGB_TRANSPORT_INTERMEDIATE) {
            size_t n;
            uint8_t *outside = check_unhex("3a4d57670dfeb56b28750b699766cb1d", &n);
            CHECK_MEM(sealed, outside, 16);
            free(outside);
        }
        CHECK_EQ(tgb_framer_feed(c, sealed, alen), 0);
        CHECK_EQ(tgb_framer_next(c, &fr), 1);
        CHECK_EQ(fr.len, 12);
        CHECK_MEM(fr.data, answer + alen - 12, 12);
        /* and the server's own first answer is exactly those bytes (padded: with the
         * random byte 0x10, no padding) */
        tgb_buf sout;
        tgb_buf_init(&sout, 0);
        uint8_t no_pad[16] = {0x10};
        script np = {no_pad, sizeof(no_pad), 0};
        tgb_random nprnd = {script_fill, &np};
        CHECK_OK(tgb_framer_write(s, answer + alen - 12, 12, &nprnd, &sout));
        CHECK_EQ(sout.len, alen);
        if (sout.len == alen)
            CHECK_MEM(sout.data, sealed, alen);
        tgb_buf_free(&sout);
        tgb_aes_ctr_del(enc);
        tgb_aes_ctr_del(dec);
        tgb_buf_free(&out);
        tgb_framer_del(s);
        tgb_framer_del(c);
        tgb_buf_free(&pre);
    }
}

/* Headers that break a rule are drawn again; a source that only breaks them fails. */
static void test_obfuscated_header_rules(void)
{
    static const uint8_t bad_first[][4] = {
        {0xef, 1, 2, 3},          {'H', 'E', 'A', 'D'},     {'P', 'O', 'S', 'T'},
        {'G', 'E', 'T', ' '},     {'O', 'P', 'T', 'I'},     {0xdd, 0xdd, 0xdd, 0xdd},
        {0xee, 0xee, 0xee, 0xee}, {0x16, 0x03, 0x01, 0x02},
    };
    size_t nbad = sizeof(bad_first) / sizeof(bad_first[0]);
    uint8_t *random = malloc((nbad + 2) * 64);
    for (size_t i = 0; i < nbad + 2; i++) {
        fill_pattern(random + i * 64, 64, (unsigned)i + 100);
        if (i < nbad)
            memcpy(random + i * 64, bad_first[i], 4);
    }
    memset(random + nbad * 64 + 4, 0, 4); /* bytes 4..7 zero: the full transport's seq_no */
    CHECK(header_ok(random + (nbad + 1) * 64));
    script sc = {random, (nbad + 2) * 64, 0};
    tgb_random rnd = {script_fill, &sc};
    tgb_buf pre;
    tgb_buf_init(&pre, 0);
    tgb_framer *c = NULL;
    CHECK_OK(tgb_framer_new_client(&c, TGB_TRANSPORT_INTERMEDIATE | OBF, 4, &rnd, &pre));
    CHECK_EQ(sc.pos, (nbad + 2) * 64);
    if (pre.len == 64)
        CHECK_MEM(pre.data, random + (nbad + 1) * 64, 56);
    tgb_framer_del(c);
    free(random);

    /* all zero: bytes 4..7 are always zero, so no header is ever acceptable */
    static uint8_t zeros[64 * 64];
    script z = {zeros, sizeof(zeros), 0};
    tgb_random zr = {script_fill, &z};
    pre.len = 0;
    c = (tgb_framer *)&pre; /* any non-NULL value: a failed constructor resets it */
    CHECK_EQ(tgb_framer_new_client(&c, TGB_TRANSPORT_ABRIDGED | OBF, 2, &zr, &pre), TGB_ERR_RANDOM);
    CHECK(c == NULL);
    CHECK_EQ(pre.len, 0);
    /* a failing source */
    script empty = {NULL, 0, 0};
    tgb_random none = {script_fill, &empty};
    CHECK_EQ(tgb_framer_new_client(&c, TGB_TRANSPORT_ABRIDGED | OBF, 2, &none, &pre),
             TGB_ERR_RANDOM);
    CHECK_EQ(pre.len, 0);

    /* Many random headers: the rules hold, the tag and dc id decrypt as sent. */
    rng r = {2024};
    tgb_random rr = {rng_fill, &r};
    int broken = 0, wrong = 0;
    for (int i = 0; i < 3000; i++) {
        int base = TGB_TRANSPORT_ABRIDGED + i % 3;
        int dc = (int)rng_below(&r, 65536) - 32768;
        pre.len = 0;
        CHECK_OK(tgb_framer_new_client(&c, base | OBF, dc, &rr, &pre));
        if (pre.len != 64) {
            wrong++;
            tgb_framer_del(c);
            continue;
        }
        broken += !header_ok(pre.data);
        tgb_aes_ctr *enc = NULL;
        uint8_t plain[64];
        CHECK_OK(tgb_aes_ctr_new(&enc, pre.data + 8, pre.data + 40));
        CHECK_OK(tgb_aes_ctr_apply(enc, pre.data, plain, 64));
        wrong += tgb_le32(plain + 56) != obf_tags[i % 3];
        wrong += (int16_t)(plain[60] | plain[61] << 8) != dc;
        tgb_aes_ctr_del(enc);
        tgb_framer *s = NULL;
        CHECK_EQ(server_feed(&s, 0, pre.data, 64), 0);
        wrong += tgb_framer_transport(s) != (base | OBF) || tgb_framer_dc_id(s) != dc;
        tgb_framer_del(s);
        tgb_framer_del(c);
    }
    CHECK_EQ(broken, 0);
    CHECK_EQ(wrong, 0);
    tgb_buf_free(&pre);
}

/* ------------------------------------------------------------------ round trips */

typedef struct packets {
    uint8_t **data;
    size_t *len;
    size_t n;
} packets;

/* Random sizes from one word to 1 MiB, mostly small as MTProto traffic is. */
static size_t pick_len(rng *r, size_t min_words)
{
    size_t words;
    switch (rng_below(r, 20)) {
    case 0: words = 1 + rng_below(r, 1 << 18); break;
    case 1:
    case 2:
    case 3: words = 1 + rng_below(r, 1 << 14); break;
    default: words = 1 + rng_below(r, 256); break;
    }
    return 4 * (words < min_words ? min_words : words);
}

static packets make_packets(rng *r, size_t n, size_t min_words, size_t max_len)
{
    packets p = {calloc(n + 4, sizeof(uint8_t *)), calloc(n + 4, sizeof(size_t)), 0};
    static const size_t fixed[] = {4, 504, 508, 1 << 20};
    for (size_t i = 0; i < n + 4; i++) {
        size_t len = i < 4 ? fixed[i] : pick_len(r, min_words);
        if (len < 4 * min_words || len > max_len)
            continue;
        p.data[p.n] = malloc(len);
        rng_fill(r, p.data[p.n], len);
        p.len[p.n++] = len;
    }
    /* shuffle so the fixed sizes land anywhere in the stream */
    for (size_t i = p.n; i > 1; i--) {
        size_t j = rng_below(r, i);
        uint8_t *d = p.data[i - 1];
        size_t l = p.len[i - 1];
        p.data[i - 1] = p.data[j];
        p.len[i - 1] = p.len[j];
        p.data[j] = d;
        p.len[j] = l;
    }
    return p;
}

static void free_packets(packets *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->data[i]);
    free(p->data);
    free(p->len);
}

enum { CHUNK_BYTE, CHUNK_SMALL, CHUNK_LARGE };

/*
 * Feeds `wire` to `rx` in chunks of the given kind, sometimes feeding several chunks
 * before pulling, and checks the frames against `want` (then, if `error_code`, one
 * TGB_FRAME_ERROR). Padded transports deliver the packet plus up to 15 bytes.
 */
static void deliver(tgb_framer *rx, const tgb_buf *wire, const packets *want, int padded,
                    int32_t error_code, int chunks, rng *r)
{
    size_t off = 0, got = 0;
    int bad = 0, errors = 0, rc = 0;
    while (off < wire->len && rc == 0) {
        size_t n = chunks == CHUNK_BYTE    ? 1
                   : chunks == CHUNK_SMALL ? 1 + rng_below(r, 3000)
                                           : 1 + rng_below(r, 400000);
        if (n > wire->len - off)
            n = wire->len - off;
        rc = tgb_framer_feed(rx, wire->data + off, n);
        off += n;
        if (rc != 0 || (off < wire->len && rng_below(r, 3) == 0))
            continue;
        tgb_frame fr;
        while ((rc = tgb_framer_next(rx, &fr)) == 1) {
            if (got < want->n) {
                size_t len = want->len[got];
                bad += fr.type != TGB_FRAME_PACKET || fr.len < len ||
                       fr.len > len + (padded ? 15 : 0) || memcmp(fr.data, want->data[got], len);
                got++;
            } else {
                errors++;
                bad += fr.type != TGB_FRAME_ERROR || fr.error_code != error_code;
            }
        }
    }
    CHECK_OK(rc);
    CHECK_EQ(bad, 0);
    CHECK_EQ(got, want->n);
    CHECK_EQ(errors, error_code ? 1 : 0);
}

static void round_trip(int transport, int dc, int chunks, rng *r, size_t npackets)
{
    int base = transport & ~OBF;
    int padded = base == TGB_TRANSPORT_PADDED_INTERMEDIATE;
    tgb_random rnd = {rng_fill, r};
    size_t max_len = chunks == CHUNK_BYTE ? 8192 : (size_t)1 << 20;
    tgb_buf wire;
    tgb_buf_init(&wire, 0);
    tgb_framer *c = NULL, *s = NULL;
    CHECK_OK(tgb_framer_new_client(&c, transport, dc, &rnd, &wire));
    CHECK_OK(tgb_framer_new_server(&s, 0));

    /* client -> server */
    packets up = make_packets(r, npackets, 1, max_len);
    for (size_t i = 0; i < up.n; i++)
        CHECK_OK(tgb_framer_write(c, up.data[i], up.len[i], &rnd, &wire));
    deliver(s, &wire, &up, padded, 0, chunks, r);
    CHECK_EQ(tgb_framer_transport(s), transport);
    CHECK_EQ(tgb_framer_dc_id(s), transport & OBF ? dc : 0);

    /* server -> client, ending with a transport error; no answer shorter than 8 bytes,
     * which the client would read as one */
    wire.len = 0;
    packets down = make_packets(r, npackets, 2, max_len);
    for (size_t i = 0; i < down.n; i++)
        CHECK_OK(tgb_framer_write(s, down.data[i], down.len[i], &rnd, &wire));
    CHECK_OK(tgb_framer_write_error(s, -404, &wire));
    deliver(c, &wire, &down, padded, -404, chunks, r);

    free_packets(&up);
    free_packets(&down);
    tgb_framer_del(c);
    tgb_framer_del(s);
    tgb_buf_free(&wire);
}

static void test_round_trips(void)
{
    static const int dcs[] = {2, -2, 10004, -32768, 32767};
    rng r = {99};
    for (size_t t = 0; t < NTRANSPORTS; t++) {
        int before = check_failed_count;
        int dc = dcs[t % 5];
        round_trip(all_transports[t], dc, CHUNK_BYTE, &r, 40);
        round_trip(all_transports[t], dc, CHUNK_SMALL, &r, 60);
        round_trip(all_transports[t], dc, CHUNK_LARGE, &r, 60);
        if (check_failed_count != before)
            fprintf(stderr, "  (transport %s)\n", transport_name(all_transports[t]));
    }
}

/*
 * Thousands of small frames in one feed, then one frame pulled for each new one fed,
 * then the rest: the compaction path keeps every byte in order.
 */
static void test_batches(void)
{
    rng r = {5};
    for (size_t t = 0; t < NTRANSPORTS; t++) {
        tgb_random rnd = {rng_fill, &r};
        tgb_buf wire;
        tgb_buf_init(&wire, 0);
        tgb_framer *c = NULL, *s = NULL;
        CHECK_OK(tgb_framer_new_client(&c, all_transports[t], 1, &rnd, &wire));
        CHECK_OK(tgb_framer_new_server(&s, 0));
        uint32_t written = 0, expect = 0;
        int bad = 0;
        uint8_t pkt[12] = {0};
        for (int i = 0; i < 5000; i++) {
            put32(pkt, written++);
            CHECK_OK(tgb_framer_write(c, pkt, 4 + 4 * (size_t)(i % 3), &rnd, &wire));
        }
        CHECK_EQ(tgb_framer_feed(s, wire.data, wire.len), 0);
        tgb_frame fr;
        for (int i = 0; i < 5000; i++) {
            wire.len = 0;
            put32(pkt, written++);
            CHECK_OK(tgb_framer_write(c, pkt, 4, &rnd, &wire));
            if (tgb_framer_next(s, &fr) != 1) {
                bad++;
                break;
            }
            bad += tgb_le32(fr.data) != expect++;
            CHECK_EQ(tgb_framer_feed(s, wire.data, wire.len), 0);
        }
        while (tgb_framer_next(s, &fr) == 1)
            bad += tgb_le32(fr.data) != expect++;
        CHECK_EQ(bad, 0);
        CHECK_EQ(expect, 10000);
        tgb_framer_del(c);
        tgb_framer_del(s);
        tgb_buf_free(&wire);
    }
}

/* ------------------------------------------------------------------ errors */

/* Feeds `bytes` whole and then byte by byte; both must end in TGB_ERR_TRANSPORT, which
 * then sticks. */
static void check_refused(const void *bytes, size_t len, size_t max_packet)
{
    tgb_framer *s = NULL;
    tgb_frame fr;
    CHECK_EQ(server_feed(&s, max_packet, bytes, len), TGB_ERR_TRANSPORT);
    CHECK_EQ(tgb_framer_next(s, &fr), TGB_ERR_TRANSPORT);
    CHECK_EQ(tgb_framer_feed(s, bytes, len), TGB_ERR_TRANSPORT);
    tgb_framer_del(s);
    CHECK_OK(tgb_framer_new_server(&s, max_packet));
    int rc = 0;
    for (size_t i = 0; i < len && rc == 0; i++)
        rc = tgb_framer_feed(s, (const uint8_t *)bytes + i, 1);
    CHECK_EQ(rc, TGB_ERR_TRANSPORT);
    tgb_framer_del(s);
}

static void test_refused_openings(void)
{
    static const char *const http[] = {"POST /api HTTP/1.1\r\n", "GET / HTTP/1.1\r\n\r\n",
                                       "HEAD / HTTP/1.0\r\n\r\n", "OPTIONS * HTTP/1.1\r\n"};
    for (size_t i = 0; i < 4; i++) {
        tgb_framer *s = NULL;
        /* refused as soon as the fourth byte is in */
        CHECK_EQ(server_feed(&s, 0, http[i], 3), 0);
        CHECK_EQ(tgb_framer_transport(s), 0);
        CHECK_EQ(tgb_framer_feed(s, (const uint8_t *)http[i] + 3, 1), TGB_ERR_TRANSPORT);
        CHECK_EQ(tgb_framer_transport(s), 0);
        tgb_framer_del(s);
        check_refused(http[i], strlen(http[i]), 0);
    }
    /* a TLS ClientHello record, as MTProxy's fake-TLS clients open */
    uint8_t tls[80] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03};
    check_refused(tls, sizeof(tls), 0);
    check_refused(tls, 4, 0); /* from its first 4 bytes, without waiting for 64 */

    /* an obfuscated2 header whose decrypted tag is none of the three */
    static const uint32_t not_tags[] = {0x11223344u, 0, 0xffffffffu, 0xefefefeeu};
    for (size_t i = 0; i < 4; i++) {
        uint8_t h[64], e[64];
        fill_pattern(h, 64, 77);
        put32(h + 56, not_tags[i]);
        tgb_aes_ctr *enc = NULL;
        CHECK_OK(tgb_aes_ctr_new(&enc, h + 8, h + 40));
        CHECK_OK(tgb_aes_ctr_apply(enc, h, e, 64));
        memcpy(h + 56, e + 56, 8);
        tgb_aes_ctr_del(enc);
        check_refused(h, 64, 0);
    }
    /* Bytes before the 64th decide nothing: a header cut short is still pending. */
    tgb_framer *s = NULL;
    uint8_t h[63];
    fill_pattern(h, sizeof(h), 77);
    CHECK_EQ(server_feed(&s, 0, h, sizeof(h)), 0);
    CHECK_EQ(tgb_framer_transport(s), 0);
    tgb_frame fr;
    CHECK_EQ(tgb_framer_next(s, &fr), 0);
    tgb_buf out;
    tgb_buf_init(&out, 0);
    CHECK_EQ(tgb_framer_write(s, h, 8, NULL, &out), TGB_ERR_STATE);
    CHECK_EQ(tgb_framer_write_error(s, -404, &out), TGB_ERR_STATE);
    CHECK_EQ(out.len, 0);
    tgb_framer_del(s);
    tgb_buf_free(&out);
}

/*
 * A length over the cap is refused from the header alone: the bytes after it sit on a
 * page that cannot be read, so taking any of the body would crash the test.
 */
static void check_refused_before_body(const uint8_t *opening, size_t len, size_t max_packet)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t span = 2 * page + ((size_t)1 << 20);
    uint8_t *map = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(map != MAP_FAILED);
    if (map == MAP_FAILED)
        return;
    CHECK_EQ(mprotect(map, page, PROT_READ | PROT_WRITE), 0);
    uint8_t *p = map + page - len;
    memcpy(p, opening, len);
    tgb_framer *s = NULL;
    CHECK_EQ(server_feed(&s, max_packet, p, span - page + len), TGB_ERR_TRANSPORT);
    tgb_framer_del(s);
    munmap(map, span);
}

static void test_oversized(void)
{
    /* default cap (16 MiB): lengths up to 2 GiB */
    check_refused_before_body((const uint8_t *)"\xef\x7f\xff\xff\xff", 5, 0);
    check_refused_before_body((const uint8_t *)"\xee\xee\xee\xee\xfc\xff\xff\x7f", 8, 0);
    check_refused_before_body((const uint8_t *)"\xdd\xdd\xdd\xdd\xfc\xff\xff\x7f", 8, 0);
    check_refused_before_body((const uint8_t *)"\xf0\xff\xff\x7f\x00\x00\x00\x00", 8, 0);
    /* a small cap */
    check_refused_before_body((const uint8_t *)"\xef\x7f\x01\x01\x00", 5, 1024);
    check_refused_before_body((const uint8_t *)"\xee\xee\xee\xee\x04\x04\x00\x00", 8, 1024);
    check_refused_before_body((const uint8_t *)"\xdd\xdd\xdd\xdd\x10\x04\x00\x00", 8, 1024);
    check_refused_before_body((const uint8_t *)"\x1c\x04\x00\x00\x00\x00\x00\x00", 8, 1024);

    /* the cap itself is fine; padded may carry its 15 bytes of padding beyond it */
    static uint8_t buf[8 + 1040];
    tgb_framer *s = NULL;
    tgb_frame fr;
    memcpy(buf, "\xee\xee\xee\xee\x00\x04\x00\x00", 8);
    CHECK_EQ(server_feed(&s, 1024, buf, 8 + 1024), 0);
    CHECK_EQ(tgb_framer_next(s, &fr), 1);
    CHECK_EQ(fr.len, 1024);
    tgb_framer_del(s);
    memcpy(buf, "\xdd\xdd\xdd\xdd\x0f\x04\x00\x00", 8);
    CHECK_EQ(server_feed(&s, 1024, buf, 8 + 1039), 0);
    CHECK_EQ(tgb_framer_next(s, &fr), 1);
    CHECK_EQ(fr.len, 1039);
    tgb_framer_del(s);

    /* writers refuse what the reader would */
    tgb_buf out;
    tgb_buf_init(&out, 0);
    CHECK_OK(tgb_framer_new_server(&s, 1024));
    CHECK_EQ(tgb_framer_feed(s, (const uint8_t *)"\xef", 1), 0);
    CHECK_OK(tgb_framer_write(s, buf, 1024, NULL, &out));
    CHECK_EQ(tgb_framer_write(s, buf, 1028, NULL, &out), TGB_ERR_INVALID);
    tgb_framer_del(s);
    tgb_framer *c = NULL;
    out.len = 0;
    CHECK_OK(tgb_framer_new_client(&c, TGB_TRANSPORT_INTERMEDIATE, 1, NULL, &out));
    uint8_t *big = calloc(1, TGB_FRAMER_DEFAULT_MAX_PACKET + 4);
    CHECK_EQ(tgb_framer_write(c, big, TGB_FRAMER_DEFAULT_MAX_PACKET + 4, NULL, &out),
             TGB_ERR_INVALID);
    free(big);
    tgb_framer_del(c);
    tgb_buf_free(&out);
    CHECK_EQ(tgb_framer_new_server(&s, ((size_t)1 << 30) + 1), TGB_ERR_INVALID);
    CHECK(s == NULL);
}

static void test_bad_lengths(void)
{
    /* not a multiple of 4 */
    check_refused("\xee\xee\xee\xee\x06\x00\x00\x00"
                  "abcdef",
                  14, 0);
    check_refused("\x12\x00\x00\x00\x00\x00\x00\x00"
                  "abcdefghijklmnopqrstuvwxyz",
                  34, 0);
    /* empty packets */
    check_refused("\xef\x00", 2, 0);
    check_refused("\xef\x7f\x00\x00\x00", 5, 0);
    check_refused("\xee\xee\xee\xee\x00\x00\x00\x00", 8, 0);
    check_refused("\xdd\xdd\xdd\xdd\x03\x00\x00\x00"
                  "abc",
                  11, 0);
    check_refused("\x0c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 12, 0);
    /* padded: any length from 4 on */
    tgb_framer *s = NULL;
    tgb_frame fr;
    CHECK_EQ(server_feed(&s, 0,
                         "\xdd\xdd\xdd\xdd\x06\x00\x00\x00"
                         "abcdef",
                         14),
             0);
    CHECK_EQ(tgb_framer_next(s, &fr), 1);
    CHECK_EQ(fr.len, 6);
    CHECK_MEM(fr.data, "abcdef", 6);
    tgb_framer_del(s);

    /* writers: empty, not a multiple of 4 */
    tgb_buf out;
    tgb_buf_init(&out, 0);
    tgb_framer *c = NULL;
    for (size_t t = 0; t < NTRANSPORTS; t++) {
        out.len = 0;
        CHECK_OK(tgb_framer_new_client(&c, all_transports[t], 1, NULL, &out));
        size_t pre = out.len;
        CHECK_EQ(tgb_framer_write(c, (const uint8_t *)"abcdefgh", 6, NULL, &out), TGB_ERR_INVALID);
        CHECK_EQ(tgb_framer_write(c, (const uint8_t *)"abcdefgh", 0, NULL, &out), TGB_ERR_INVALID);
        CHECK_EQ(tgb_framer_write(c, NULL, 8, NULL, &out), TGB_ERR_INVALID);
        CHECK_EQ(out.len, pre);
        tgb_framer_del(c);
    }
    tgb_buf_free(&out);
}

/* A full-transport stream of three 8-byte packets with the given seq_nos. */
static void full_stream(uint8_t *w, const uint32_t seq[3])
{
    for (int i = 0; i < 3; i++) {
        uint8_t *p = w + 20 * i;
        put32(p, 20);
        put32(p + 4, seq[i]);
        fill_pattern(p + 8, 8, (unsigned)i);
        put32(p + 16, ref_crc32(p, 16));
    }
}

static void test_full_checks(void)
{
    uint8_t w[60];
    static const uint32_t good[3] = {0, 1, 2}, skipped[3] = {0, 2, 3}, repeated[3] = {0, 1, 1};
    full_stream(w, good);
    tgb_framer *s = NULL;
    tgb_frame fr;
    CHECK_EQ(server_feed(&s, 0, w, sizeof(w)), 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(tgb_framer_next(s, &fr), 1);
    tgb_framer_del(s);

    full_stream(w, skipped);
    check_refused(w, sizeof(w), 0);
    full_stream(w, repeated);
    check_refused(w, sizeof(w), 0);
    /* every single bit flipped in the payload or the crc */
    int missed = 0;
    for (size_t bit = 8 * 8; bit < 20 * 8; bit++) {
        full_stream(w, good);
        w[20 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
        CHECK_EQ(server_feed(&s, 0, w, sizeof(w)), TGB_ERR_TRANSPORT);
        missed += tgb_framer_next(s, &fr) != TGB_ERR_TRANSPORT;
        tgb_framer_del(s);
    }
    CHECK_EQ(missed, 0);

    /* The client checks the server's seq_no the same way, from 0. */
    tgb_buf pre;
    tgb_buf_init(&pre, 0);
    tgb_framer *c = NULL;
    CHECK_OK(tgb_framer_new_client(&c, TGB_TRANSPORT_FULL, 2, NULL, &pre));
    static const uint32_t from_one[3] = {1, 2, 3};
    full_stream(w, from_one);
    CHECK_EQ(tgb_framer_feed(c, w, 20), TGB_ERR_TRANSPORT);
    tgb_framer_del(c);
    CHECK_OK(tgb_framer_new_client(&c, TGB_TRANSPORT_FULL, 2, NULL, &pre));
    full_stream(w, good);
    w[19] ^= 0x80;
    CHECK_EQ(tgb_framer_feed(c, w, 20), TGB_ERR_TRANSPORT);
    tgb_framer_del(c);
    tgb_buf_free(&pre);
}

/* Transport errors as a client reads them, from bytes written here and from a server. */
static void test_transport_errors(void)
{
    static const struct {
        int transport;
        const char *bytes;
        size_t len;
    } cases[] = {
        {TGB_TRANSPORT_ABRIDGED, "\x01\x6c\xfe\xff\xff", 5},
        {TGB_TRANSPORT_ABRIDGED, "\x7f\x01\x00\x00\x6c\xfe\xff\xff", 8},
        {TGB_TRANSPORT_INTERMEDIATE, "\x04\x00\x00\x00\x6c\xfe\xff\xff", 8},
        {TGB_TRANSPORT_PADDED_INTERMEDIATE, "\x04\x00\x00\x00\x6c\xfe\xff\xff", 8},
        {TGB_TRANSPORT_PADDED_INTERMEDIATE, "\x07\x00\x00\x00\x6c\xfe\xff\xff\x01\x02\x03", 11},
    };
    tgb_buf pre;
    tgb_buf_init(&pre, 0);
    tgb_frame fr;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tgb_framer *c = NULL;
        CHECK_OK(tgb_framer_new_client(&c, cases[i].transport, 2, NULL, &pre));
        CHECK_EQ(tgb_framer_feed(c, (const uint8_t *)cases[i].bytes, cases[i].len), 0);
        CHECK_EQ(tgb_framer_next(c, &fr), 1);
        CHECK_EQ(fr.type, TGB_FRAME_ERROR);
        CHECK_EQ(fr.error_code, -404);
        CHECK_EQ(tgb_framer_next(c, &fr), 0);
        tgb_framer_del(c);
    }
    /* full: a 4-byte packet in the ordinary envelope */
    uint8_t w[16] = {16, 0, 0, 0, 0, 0, 0, 0, 0x53, 0xfe, 0xff, 0xff};
    put32(w + 12, ref_crc32(w, 12));
    tgb_framer *c = NULL;
    CHECK_OK(tgb_framer_new_client(&c, TGB_TRANSPORT_FULL, 2, NULL, &pre));
    CHECK_EQ(tgb_framer_feed(c, w, sizeof(w)), 0);
    CHECK_EQ(tgb_framer_next(c, &fr), 1);
    CHECK_EQ(fr.type, TGB_FRAME_ERROR);
    CHECK_EQ(fr.error_code, -429);
    tgb_framer_del(c);

    /* padded: 8 bytes is a packet, not an error */
    CHECK_OK(tgb_framer_new_client(&c, TGB_TRANSPORT_PADDED_INTERMEDIATE, 2, NULL, &pre));
    CHECK_EQ(tgb_framer_feed(c, (const uint8_t *)"\x08\x00\x00\x00\x6c\xfe\xff\xff\0\0\0\0", 12),
             0);
    CHECK_EQ(tgb_framer_next(c, &fr), 1);
    CHECK_EQ(fr.type, TGB_FRAME_PACKET);
    tgb_framer_del(c);

    /* A server writes exactly those bytes; a server reads a 4-byte packet as a packet. */
    tgb_buf out;
    tgb_buf_init(&out, 0);
    tgb_framer *s = NULL;
    CHECK_EQ(server_feed(&s, 0, "\xef\x01\x6c\xfe\xff\xff", 6), 0);
    CHECK_EQ(tgb_framer_next(s, &fr), 1);
    CHECK_EQ(fr.type, TGB_FRAME_PACKET);
    CHECK_EQ(fr.len, 4);
    CHECK_OK(tgb_framer_write_error(s, -404, &out));
    CHECK_EQ(out.len, 5);
    CHECK_MEM(out.data, "\x01\x6c\xfe\xff\xff", 5);
    CHECK_EQ(tgb_framer_write_error(s, 0, &out), TGB_ERR_INVALID);
    CHECK_EQ(tgb_framer_write_error(s, 404, &out), TGB_ERR_INVALID);
    tgb_framer_del(s);
    out.len = 0;
    CHECK_EQ(server_feed(&s, 0, "\xdd\xdd\xdd\xdd", 4), 0);
    CHECK_OK(tgb_framer_write_error(s, -404, &out));
    CHECK_EQ(out.len, 8); /* never padded */
    CHECK_MEM(out.data, "\x04\x00\x00\x00\x6c\xfe\xff\xff", 8);
    tgb_framer_del(s);
    out.len = 0;
    CHECK_OK(tgb_framer_new_client(&c, TGB_TRANSPORT_FULL, 2, NULL, &pre));
    CHECK_EQ(tgb_framer_write_error(c, -404, &out), TGB_ERR_STATE); /* clients send none */
    tgb_framer_del(c);
    tgb_buf_free(&out);
    tgb_buf_free(&pre);
}

/* Quick-ack requests from a client are read as ordinary packets; a server never sends
 * a length with the top bit set to a client that asked for none. */
static void test_quick_ack(void)
{
    tgb_framer *s = NULL;
    tgb_frame fr;
    CHECK_EQ(server_feed(&s, 0,
                         "\xef\x82"
                         "abcdefgh",
                         10),
             0);
    CHECK_EQ(tgb_framer_next(s, &fr), 1);
    CHECK_EQ(fr.len, 8);
    tgb_framer_del(s);
    CHECK_EQ(server_feed(&s, 0,
                         "\xef\xff\x02\x00\x00"
                         "abcdefgh",
                         13),
             0);
    CHECK_EQ(tgb_framer_next(s, &fr), 1);
    CHECK_EQ(fr.len, 8);
    tgb_framer_del(s);
    CHECK_EQ(server_feed(&s, 0,
                         "\xee\xee\xee\xee\x08\x00\x00\x80"
                         "abcdefgh",
                         16),
             0);
    CHECK_EQ(tgb_framer_next(s, &fr), 1);
    CHECK_MEM(fr.data, "abcdefgh", 8);
    tgb_framer_del(s);

    tgb_buf pre;
    tgb_buf_init(&pre, 0);
    tgb_framer *c = NULL;
    CHECK_OK(tgb_framer_new_client(&c, TGB_TRANSPORT_ABRIDGED, 2, NULL, &pre));
    CHECK_EQ(tgb_framer_feed(c,
                             (const uint8_t *)"\x82"
                                              "abcdefgh",
                             9),
             TGB_ERR_TRANSPORT);
    tgb_framer_del(c);
    CHECK_OK(tgb_framer_new_client(&c, TGB_TRANSPORT_INTERMEDIATE, 2, NULL, &pre));
    CHECK_EQ(tgb_framer_feed(c, (const uint8_t *)"\x08\x00\x00\x80", 4), TGB_ERR_TRANSPORT);
    tgb_framer_del(c);
    tgb_buf_free(&pre);
}

static void test_arguments(void)
{
    tgb_buf pre;
    tgb_buf_init(&pre, 0);
    tgb_framer *c = NULL;
    static const int bad[] = {0, 5, -1, TGB_TRANSPORT_FULL | OBF, OBF, 0x200 | 1, 0x101 | 0x1000};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ(tgb_framer_new_client(&c, bad[i], 2, NULL, &pre), TGB_ERR_INVALID);
        CHECK(c == NULL);
    }
    CHECK_EQ(tgb_framer_new_client(&c, TGB_TRANSPORT_ABRIDGED | OBF, 32768, NULL, &pre),
             TGB_ERR_INVALID);
    CHECK_EQ(tgb_framer_new_client(&c, TGB_TRANSPORT_ABRIDGED | OBF, -32769, NULL, &pre),
             TGB_ERR_INVALID);
    CHECK_EQ(tgb_framer_new_client(&c, TGB_TRANSPORT_ABRIDGED, 2, NULL, NULL), TGB_ERR_INVALID);
    CHECK_EQ(tgb_framer_new_client(NULL, TGB_TRANSPORT_ABRIDGED, 2, NULL, &pre), TGB_ERR_INVALID);
    CHECK_EQ(pre.len, 0);
    CHECK_EQ(tgb_framer_new_server(NULL, 0), TGB_ERR_INVALID);
    CHECK_EQ(tgb_framer_transport(NULL), 0);
    CHECK_EQ(tgb_framer_dc_id(NULL), 0);
    tgb_framer_del(NULL);

    /* A full output buffer: the write fails whole and the next one continues the
     * stream (seq_no and key stream untouched). */
    for (int obf = 0; obf < 2; obf++) {
        int t = obf ? TGB_TRANSPORT_INTERMEDIATE | OBF : TGB_TRANSPORT_FULL;
        tgb_buf wire, tiny;
        tgb_buf_init(&wire, 0);
        tgb_buf_init(&tiny, 16);
        CHECK_OK(tgb_framer_new_client(&c, t, 2, NULL, &wire));
        tgb_framer *s = NULL;
        CHECK_OK(tgb_framer_new_server(&s, 0));
        uint8_t pkt[16] = "0123456789abcdef";
        CHECK_EQ(tgb_framer_write(c, pkt, 16, NULL, &tiny), TGB_ERR_LIMIT);
        CHECK_EQ(tiny.len, 0);
        CHECK_OK(tgb_framer_write(c, pkt, 16, NULL, &wire));
        CHECK_EQ(tgb_framer_feed(s, wire.data, wire.len), 0);
        tgb_frame fr;
        CHECK_EQ(tgb_framer_next(s, &fr), 1);
        CHECK_MEM(fr.data, pkt, 16);
        tgb_framer_del(s);
        tgb_framer_del(c);
        tgb_buf_free(&wire);
        tgb_buf_free(&tiny);
    }
    tgb_buf_free(&pre);
}

int main(void)
{
    RUN(test_crc32);
    RUN(test_abridged_bytes);
    RUN(test_intermediate_bytes);
    RUN(test_padded_bytes);
    RUN(test_full_bytes);
    RUN(test_obfuscated_known_answer);
    RUN(test_obfuscated_header_rules);
    RUN(test_round_trips);
    RUN(test_batches);
    RUN(test_refused_openings);
    RUN(test_oversized);
    RUN(test_bad_lengths);
    RUN(test_full_checks);
    RUN(test_transport_errors);
    RUN(test_quick_ack);
    RUN(test_arguments);
    return check_report();
}
