/* What dc.c and rpc.c share inside the emulated DC. Not for hosts; see dc.h. */
#ifndef TGEMU_DC_INTERNAL_H
#define TGEMU_DC_INTERNAL_H

#include "emulator/dc.h"
#include "emulator/session_server.h"
#include "tl/tl.h"

/* An auth key the DC knows. */
struct tgemu_key {
    uint8_t key[256];
    uint64_t id; /* auth_key_id as a little-endian long */
    int temp;
    int64_t expires_at;
    uint64_t bound_to;       /* temp keys: the permanent key id bound with auth.bindTempAuthKey */
    int layer;               /* from the client's last invokeWithLayer; 0 = not told yet */
    int64_t first_salt;      /* the salt the key exchange produced ... */
    tgb_time first_salt_end; /* ... valid until then (0: none, e.g. a restored key) */
    struct tgemu_key *hnext;
};

/* A session, and the connection its answers go to. */
struct tgemu_sess {
    tgemu_dc *dc;
    struct tgemu_key *key;
    tgemu_session *s;
    uint64_t session_id;
    tgemu_conn *conn;
    int dirty;  /* has output to pull */
    int doomed; /* destroyed by a client's destroy_session, at the next settle() */
    struct tgemu_sess *dirty_next;
    struct tgemu_sess *hnext, *prev, *next;
};

/* What rpc.c makes of one query: a result (TL bytes in the client's layer) or an error. */
typedef struct tgemu_rpc_outcome {
    tgb_buf result;
    int error_code; /* 0 for a result */
    char error_message[64];
} tgemu_rpc_outcome;

/**
 * Executes one RPC query as the client sent it (wrappers included), for the session
 * `sess` at `now`. Always produces an outcome: undecodable or unknown queries become
 * rpc_errors. Returns 0, or TGB_ERR_NOMEM.
 */
int tgemu_rpc_execute(tgemu_dc *dc, struct tgemu_sess *sess, uint64_t req_msg_id,
                      const uint8_t *query, size_t len, tgb_time now, tgemu_rpc_outcome *out);

/* What rpc.c needs from the DC. */
const tgemu_dc_option *tgemu_dc_options(const tgemu_dc *dc, size_t *n);
/** The key with this auth_key_id, or NULL. */
struct tgemu_key *tgemu_dc_key(const tgemu_dc *dc, uint64_t id);
/** The layer map for `layer` (144, 198, 227), built on first use; NULL for others. */
const struct tgb_tl_layer_map *tgemu_dc_layer_map(tgemu_dc *dc, int layer);
void tgemu_dc_log(tgemu_dc *dc, int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
