/*
 * Fuzz target: arbitrary bytes as what one end of an MTProto TCP connection receives.
 *
 *   byte 0     bits 0..2: the receiver, 0 a server framer (which detects the transport),
 *              1..7 a client framer of one of the seven transports (tests/transports.h);
 *              bit 7: the server accepts packets of at most 256 bytes instead of 16 MiB
 *   byte 1     bits 0..3: k, the number of chunk sizes; bits 4..6: their scale s
 *   k bytes    chunk sizes, (b + 1) << s, used in turn; with k = 0 the stream is fed whole
 *   the rest   the stream
 *
 * After every chunk all complete frames are pulled and written back (a server answers
 * every packet, a client sends it again), so the writers run on whatever the readers
 * accept. Errors must stick; frames must respect the caps; nothing may crash or leak.
 */
#include "crypto/crypto.h"
#include "mtproto/transport.h"
#include "transports.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The client framers' random source: fixed, so that the seeds make_transport_corpus.c
 * writes for an obfuscated client are encrypted with the keys it will have. The two
 * files must agree on it.
 */
static int fixed_random(void *user_data, uint8_t *out, size_t len)
{
    uint32_t *n = user_data;
    for (size_t i = 0; i < len; i++, (*n)++)
        out[i] = (uint8_t)(*n * 7 + 1);
    return 0;
}

/* Pulls every frame, checks it, and writes its packet (cut to whole words) back. */
static int drain(tgb_framer *f, int server, size_t max_packet, const tgb_random *rnd)
{
    tgb_frame fr;
    int rc;
    while ((rc = tgb_framer_next(f, &fr)) == 1) {
        int padded = (tgb_framer_transport(f) & ~TGB_TRANSPORT_OBFUSCATED) ==
                     TGB_TRANSPORT_PADDED_INTERMEDIATE;
        if (fr.len == 0 || fr.len > max_packet + (padded ? 15 : 0) || !fr.data)
            abort();
        if (fr.type == TGB_FRAME_ERROR) {
            if (server || fr.len >= (padded ? 8u : 5u))
                abort();
            continue;
        }
        if (fr.type != TGB_FRAME_PACKET || (!server && fr.len < (padded ? 8u : 5u)))
            abort();
        size_t echo = fr.len & ~(size_t)3;
        if (echo == 0)
            continue;
        tgb_buf out;
        tgb_buf_init(&out, 0);
        int wrc = tgb_framer_write(f, fr.data, echo, rnd, &out);
        if (wrc != 0 && !(wrc == TGB_ERR_INVALID && echo > max_packet))
            abort();
        tgb_buf_free(&out);
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int who = data[0] & 7;
    size_t max_packet = who == 0 && (data[0] & 0x80) ? 256 : TGB_FRAMER_DEFAULT_MAX_PACKET;
    size_t k = data[1] & 15, scale = (data[1] >> 4) & 7;
    if (size < 2 + k)
        return 0;
    const uint8_t *sizes = data + 2, *stream = data + 2 + k;
    size_t len = size - 2 - k;

    uint32_t counter = 0;
    tgb_random rnd = {fixed_random, &counter};
    tgb_framer *f = NULL;
    tgb_buf preamble;
    tgb_buf_init(&preamble, 0);
    int rc = who == 0 ? tgb_framer_new_server(&f, max_packet)
                      : tgb_framer_new_client(&f, all_transports[who - 1], 2, &rnd, &preamble);
    tgb_buf_free(&preamble);
    if (rc != 0)
        abort();

    size_t pos = 0, next_size = 0;
    rc = 0;
    while (pos < len && rc == 0) {
        size_t n = k ? (size_t)(sizes[next_size++ % k] + 1) << scale : len - pos;
        if (n > len - pos)
            n = len - pos;
        rc = tgb_framer_feed(f, stream + pos, n);
        pos += n;
        if (rc == 0)
            rc = drain(f, who == 0, max_packet, &rnd);
    }
    if (rc < 0) {
        /* a receive error is final */
        tgb_frame fr;
        if (tgb_framer_next(f, &fr) != rc || tgb_framer_feed(f, stream, len) != rc)
            abort();
    } else if (who == 0 && tgb_framer_transport(f) != 0) {
        tgb_buf out;
        tgb_buf_init(&out, 0);
        if (tgb_framer_write_error(f, -404, &out) != 0 || out.len < 5)
            abort();
        tgb_buf_free(&out);
    }
    tgb_framer_del(f);
    return 0;
}
