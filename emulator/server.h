/*
 * The emulator as a network service: several DCs (dc.h) listening on consecutive
 * loopback ports, driven by a tgb_loop, with their state in a directory. Used by the
 * telegram-emulator binary and, in-process, by `telegram-bot-api --emulator` and tests.
 *
 * State directory (created if missing; everything survives restarts):
 *   server_key.pem   the DCs' private RSA key (PKCS#8), generated on first start
 *   public.pem       its public key as PKCS#1 ("BEGIN RSA PUBLIC KEY"), for clients
 *   salt_secret      32 random bytes salts are derived from
 *   auth_keys        the auth keys clients created, one 272-byte record each
 */
#ifndef TGEMU_SERVER_H
#define TGEMU_SERVER_H

#include "emulator/dc.h"
#include "runtime/loop.h"

typedef struct tgemu_server tgemu_server;

typedef struct tgemu_server_config {
    const char *dir;  /* state directory */
    const char *host; /* listen address, default "127.0.0.1" */
    int port;         /* DC 1 listens here, DC 2 on port + 1, ... (0: any free ports) */
    int ndcs;         /* default 3 */
    /** Log lines (level 1 error .. 4 debug); NULL: none. */
    void (*log)(void *user_data, int level, const char *line);
    void *user_data;
} tgemu_server_config;

/** Loads or creates the state, binds the ports and starts serving on `loop`. */
int tgemu_server_new(tgemu_server **out, tgb_loop *loop, const tgemu_server_config *config);

/** Closes every connection and port and frees the server. NULL-safe. */
void tgemu_server_del(tgemu_server *srv);

/** DC `id` (1-based), or NULL. */
tgemu_dc *tgemu_server_dc(tgemu_server *srv, int id);

/** The number of DCs. */
int tgemu_server_ndcs(const tgemu_server *srv);

/** The port DC `id` listens on. */
int tgemu_server_port(const tgemu_server *srv, int id);

/** The public key, PKCS#1 PEM, NUL-terminated; owned by the server. */
const char *tgemu_server_public_pem(const tgemu_server *srv);

/** Restarts DC `id` (0: all): sessions forgotten, connections closed, keys kept. */
void tgemu_server_restart(tgemu_server *srv, int id);

#endif
