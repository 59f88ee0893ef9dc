/*
 * Writes the seed corpus of fuzz_transport (see that file for the input layout): for a
 * server framer, what a client of each transport sends, whole and in odd chunks, and
 * openings that must be refused; for each client framer, what a server answers it,
 * ending with a transport error. Deterministic; run by hand when the layout changes:
 *     build/bin/make_transport_corpus fuzz/corpus/transport
 */
#include "crypto/crypto.h"
#include "mtproto/transport.h"
#include "transports.h"

#include <stdio.h>
#include <string.h>

static const char *const names[7] = {"abridged",     "intermediate",     "padded",    "full",
                                     "obf-abridged", "obf-intermediate", "obf-padded"};

/* Must equal fixed_random in fuzz_transport.c: the fuzzer's clients draw from it. */
static int fixed_random(void *user_data, uint8_t *out, size_t len)
{
    uint32_t *n = user_data;
    for (size_t i = 0; i < len; i++, (*n)++)
        out[i] = (uint8_t)(*n * 7 + 1);
    return 0;
}

static const char *dir;
static int written;

/* Writes selector byte, chunk header (`chunks` sizes, scale 0) and the stream. */
static int seed(const char *name, uint8_t who, const uint8_t *chunks, size_t k,
                const uint8_t *stream, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return 1;
    uint8_t head[2] = {who, (uint8_t)k};
    int bad = fwrite(head, 1, 2, f) != 2 || (k && fwrite(chunks, 1, k, f) != k) ||
              (len && fwrite(stream, 1, len, f) != len);
    bad |= fclose(f) != 0;
    written++;
    return bad;
}

static void packet(uint8_t *p, size_t len, unsigned salt)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(i * 13 + salt);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    dir = argv[1];
    static const uint8_t odd_chunks[3] = {0, 6, 62}; /* 1, 7 and 63 bytes in turn */
    static const size_t sizes[3] = {8, 12, 600};
    uint8_t pkt[600];
    int bad = 0;
    char name[64];

    for (size_t t = 0; t < NTRANSPORTS; t++) {
        /* client -> server, for the server framer (who = 0) */
        uint32_t counter = 1000;
        tgb_random rnd = {fixed_random, &counter};
        tgb_buf up, down;
        tgb_buf_init(&up, 0);
        tgb_buf_init(&down, 0);
        tgb_framer *c = NULL, *s = NULL;
        bad |= tgb_framer_new_client(&c, all_transports[t], 2, &rnd, &up) != 0;
        for (int i = 0; i < 3 && c; i++) {
            packet(pkt, sizes[i], (unsigned)i);
            bad |= tgb_framer_write(c, pkt, sizes[i], &rnd, &up) != 0;
        }
        tgb_framer_del(c);
        snprintf(name, sizeof(name), "server-%s", names[t]);
        bad |= seed(name, 0, NULL, 0, up.data, up.len);
        snprintf(name, sizeof(name), "server-%s-chunks", names[t]);
        bad |= seed(name, 0, odd_chunks, 3, up.data, up.len);

        /* server -> client: the client the fuzzer makes (dc 2, random counter from 0) */
        counter = 0;
        up.len = 0;
        bad |= tgb_framer_new_client(&c, all_transports[t], 2, &rnd, &up) != 0;
        bad |= tgb_framer_new_server(&s, 0) != 0;
        /* one packet first, so the server has seen enough to know the transport (full:
         * its length and seq_no) */
        packet(pkt, 8, 99);
        bad |= !c || tgb_framer_write(c, pkt, 8, &rnd, &up) != 0;
        if (s) {
            tgb_frame fr;
            bad |= tgb_framer_feed(s, up.data, up.len) != 0 || tgb_framer_next(s, &fr) != 1;
            for (int i = 0; i < 3; i++) {
                packet(pkt, sizes[i], (unsigned)i + 50);
                bad |= tgb_framer_write(s, pkt, sizes[i], &rnd, &down) != 0;
            }
            bad |= tgb_framer_write_error(s, -404, &down) != 0;
        }
        snprintf(name, sizeof(name), "client-%s", names[t]);
        bad |= seed(name, (uint8_t)(t + 1), NULL, 0, down.data, down.len);
        snprintf(name, sizeof(name), "client-%s-chunks", names[t]);
        bad |= seed(name, (uint8_t)(t + 1), odd_chunks, 3, down.data, down.len);
        tgb_framer_del(c);
        tgb_framer_del(s);
        tgb_buf_free(&up);
        tgb_buf_free(&down);
    }

    /* refused: HTTP, TLS, a length over the small cap, a bad crc, a bad obfuscated tag */
    static const char http[] = "POST /api HTTP/1.1\r\nHost: x\r\n\r\n";
    bad |= seed("server-http", 0, NULL, 0, (const uint8_t *)http, sizeof(http) - 1);
    static const uint8_t tls[16] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc};
    bad |= seed("server-tls", 0, NULL, 0, tls, sizeof(tls));
    uint8_t over[8 + 300] = {0xee, 0xee, 0xee, 0xee, 0x2c, 0x01, 0x00, 0x00};
    bad |= seed("server-over-cap", 0x80, NULL, 0, over, sizeof(over));
    uint8_t full[20] = {20, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0xde, 0xad, 0xbe, 0xef};
    bad |= seed("server-full-bad-crc", 0, NULL, 0, full, sizeof(full));
    uint8_t header[64];
    packet(header, sizeof(header), 77); /* bytes 56..59 decrypt to noise, not a tag */
    bad |= seed("server-obf-bad-tag", 0, NULL, 0, header, sizeof(header));

    printf("wrote %d seeds\n", written);
    return bad;
}
