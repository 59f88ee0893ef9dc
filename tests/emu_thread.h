/*
 * The emulator's TCP server (emulator/server.h) on its own loop thread, with its state
 * in a fresh directory under /tmp: what tests/test_runtime.c and bench/bench_rpc.c
 * connect the runtime to over loopback.
 */
#ifndef TGB_TESTS_EMU_THREAD_H
#define TGB_TESTS_EMU_THREAD_H

#include "emulator/server.h"
#include "runtime/loop.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct emu {
    tgb_loop *loop;
    tgemu_server *srv;
    pthread_t thread;
    char dir[64];
};

static void *emu_run(void *arg)
{
    tgb_loop_run(((struct emu *)arg)->loop);
    return NULL;
}

/* Starts a server for `dcs` DCs on 127.0.0.1 (a free port) in /tmp/tgb-<name>-XXXXXX.
 * Returns 0, or -1 after saying on stderr what failed. */
static int emu_start(struct emu *e, int dcs, const char *name)
{
    snprintf(e->dir, sizeof(e->dir), "/tmp/tgb-%s-XXXXXX", name);
    if (!mkdtemp(e->dir)) {
        perror("emu_start: mkdtemp");
        return -1;
    }
    int rc = tgb_loop_new(&e->loop);
    if (rc == 0) {
        tgemu_server_config cfg = {e->dir, "127.0.0.1", 0, dcs, NULL, NULL};
        rc = tgemu_server_new(&e->srv, e->loop, &cfg);
        if (rc)
            tgb_loop_del(e->loop);
    }
    if (rc) {
        fprintf(stderr, "emu_start: %s\n", tgb_strerror(rc));
        return -1;
    }
    if (pthread_create(&e->thread, NULL, emu_run, e) != 0) {
        fprintf(stderr, "emu_start: pthread_create failed\n");
        tgemu_server_del(e->srv);
        tgb_loop_del(e->loop);
        return -1;
    }
    return 0;
}

/* Stops the thread, frees the server and removes its directory: 0, or -1. */
static int emu_stop(struct emu *e)
{
    tgb_loop_stop(e->loop);
    pthread_join(e->thread, NULL);
    tgemu_server_del(e->srv);
    tgb_loop_del(e->loop);
    char cmd[96];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
