/*
 * MTProto transport framing, client and server side, sans-I/O
 * (https://core.telegram.org/mtproto/mtproto-transports).
 *
 * A framer turns packets (whole MTProto messages, a multiple of 4 bytes) into the byte
 * stream of one TCP connection and back:
 *
 *   abridged        0xef once; then per packet len/4 as 1 byte (< 127) or 0x7f + 3 bytes
 *                   little-endian, then the packet
 *   intermediate    0xeeeeeeee once; then per packet a 4-byte little-endian length
 *   padded          0xdddddddd once; like intermediate, plus 0..15 random bytes of
 *                   padding counted in the length
 *   full            no tag; per packet length (4, counting itself, seq and crc), seq_no
 *                   (4, per direction from 0), the packet, CRC32 of all before it (4)
 *   obfuscated2     a 64-byte random header instead of the tag, then everything
 *                   AES-256-CTR encrypted, over abridged, intermediate or padded
 *
 * A server-side framer detects the client's transport from the first bytes, as
 * Telegram does: 0xef is abridged; 0xeeeeeeee intermediate; 0xdddddddd padded; else,
 * once 8 bytes are in, a zero second word (the full transport's seq_no 0) is full;
 * anything else must be a 64-byte obfuscated2 header whose decrypted bytes 56..59 carry
 * one of the three tags. HTTP ("POST", "GET ", "HEAD", "OPTI") and TLS (0x16030102)
 * openings are refused.
 *
 * A packet of 4 bytes (under padding: fewer than 8) from a server is a transport error,
 * a negative int32 such as -404 (auth key unknown) or -429 (too many connections); the
 * client side reports it as TGB_FRAME_ERROR.
 *
 * A server framer accepts a client's quick-ack request (the top bit of the abridged
 * length byte or of the intermediate length word) and ignores it: quick acks are
 * optional and none is sent. A client framer never requests one.
 *
 * Received bytes are buffered only as far as the next length can be checked, so a
 * length over the max packet is refused before any of its body is stored; the buffer
 * otherwise holds what was fed and not yet taken with tgb_framer_next(), and is freed
 * as soon as that is nothing, so an idle connection holds no receive buffer.
 */
#ifndef TGB_MTPROTO_TRANSPORT_H
#define TGB_MTPROTO_TRANSPORT_H

#include "base/buf.h"
#include "crypto/crypto.h"

#include <tgbotapi/tgbotapi.h>

#include <stdint.h>

/** The largest packet a framer accepts by default (Telegram's own cap is near 1 MiB
 * for requests; answers with files reach 1 MiB plus headers). */
#define TGB_FRAMER_DEFAULT_MAX_PACKET ((size_t)16 << 20)

typedef struct tgb_framer tgb_framer;

enum { TGB_FRAME_PACKET = 1, TGB_FRAME_ERROR = 2 };

/** A frame taken from the stream. `data` points into the framer until its next call. */
typedef struct tgb_frame {
    int type;            /* TGB_FRAME_PACKET, or TGB_FRAME_ERROR (client framers only) */
    const uint8_t *data; /* the packet (padded transport: padding included) */
    size_t len;
    int32_t error_code; /* TGB_FRAME_ERROR: the int32 sent, normally negative (-404); else 0 */
} tgb_frame;

/**
 * A client framer for `transport` (a tgb_transport value, OBFUSCATED flag included).
 * Appends to `out` what the connection must start with: the tag, or the 64-byte
 * obfuscated2 header (random from `rnd`, carrying `dc_id` as a signed 16-bit value in
 * bytes 60..61: the DC number, +10000 for test DCs, negative for media DCs).
 * TGB_ERR_INVALID for an unknown transport, obfuscated full or a dc id outside int16;
 * TGB_ERR_RANDOM if `rnd` fails, or gives 64 headers in a row that break the header
 * rules. The framer accepts packets up to TGB_FRAMER_DEFAULT_MAX_PACKET. The caller
 * owns *out and frees it with tgb_framer_del().
 */
int tgb_framer_new_client(tgb_framer **out, int transport, int dc_id, const tgb_random *rnd,
                          tgb_buf *preamble);

/**
 * A server framer; it learns the transport from the client's first bytes. It accepts
 * packets up to `max_packet` bytes (0: TGB_FRAMER_DEFAULT_MAX_PACKET; padded
 * intermediate may add its 15 bytes of padding); TGB_ERR_INVALID above 1 GiB. The
 * caller owns *out and frees it with tgb_framer_del().
 */
int tgb_framer_new_server(tgb_framer **out, size_t max_packet);

/** Frees a framer (and wipes its obfuscation keys). NULL-safe. */
void tgb_framer_del(tgb_framer *f);

/**
 * The transport in use (tgb_transport value with the OBFUSCATED flag), or 0 while a
 * server framer has not seen enough bytes to tell.
 */
int tgb_framer_transport(const tgb_framer *f);

/**
 * The dc id of the obfuscated2 header: what the client put there (server side) or sent
 * (client side); 0 for the other transports and while a server framer is detecting.
 */
int tgb_framer_dc_id(const tgb_framer *f);

/**
 * Appends one packet, framed (and encrypted when obfuscated), to `out`. `len` must be
 * a positive multiple of 4 and at most the framer's max packet (else TGB_ERR_INVALID).
 * Padded intermediate draws its padding from `rnd` (NULL: OpenSSL's); the other
 * transports ignore `rnd`. A server framer can only write once it knows the transport
 * (TGB_ERR_STATE before). If `out` cannot grow (TGB_ERR_LIMIT, TGB_ERR_NOMEM) nothing
 * is appended and the framer is unchanged.
 */
int tgb_framer_write(tgb_framer *f, const uint8_t *packet, size_t len, const tgb_random *rnd,
                     tgb_buf *out);

/**
 * Server side: appends a transport error, a negative `code` such as -404 (else
 * TGB_ERR_INVALID), as the client will read it: a 4-byte packet, never padded.
 * TGB_ERR_STATE on a client framer or before the transport is known.
 */
int tgb_framer_write_error(tgb_framer *f, int32_t code, tgb_buf *out);

/**
 * Takes received bytes (decrypting them when obfuscated) into the framer's buffer.
 * TGB_ERR_TRANSPORT when they cannot be this transport (unknown opening, a length over
 * the max packet or not a multiple of 4, an empty packet, a full-transport CRC or
 * seq_no mismatch). That error, like TGB_ERR_NOMEM, is fatal: every later call on the
 * framer returns it and the connection should be closed.
 */
int tgb_framer_feed(tgb_framer *f, const uint8_t *data, size_t len);

/**
 * The next complete frame: returns 1 and fills `frame`, 0 if more bytes are needed, or
 * a negative error (as tgb_framer_feed). `frame->data` is valid until the next call on
 * the framer.
 */
int tgb_framer_next(tgb_framer *f, tgb_frame *frame);

#endif
