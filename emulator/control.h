/*
 * The emulator's control API: JSON over HTTP, for tests and for people trying bots, to
 * act on the emulated world and switch faults. docs/emulator.md lists every call with an
 * example. Runs libmicrohttpd in epoll mode on the emulator's own loop, so handlers run
 * on the loop's thread with the DCs, without locks.
 */
#ifndef TGEMU_CONTROL_H
#define TGEMU_CONTROL_H

#include "emulator/server.h"
#include "runtime/loop.h"

typedef struct tgemu_control tgemu_control;

/** Listens on host:port (port 0: any free port) and serves `srv`'s control API. */
int tgemu_control_new(tgemu_control **out, tgb_loop *loop, tgemu_server *srv, const char *host,
                      int port);

/** Stops the control API. NULL-safe. */
void tgemu_control_del(tgemu_control *ctl);

/** The port it listens on. */
int tgemu_control_port(const tgemu_control *ctl);

#endif
