/*
 * runtime/loop: a small epoll event loop (the default host of the sans-I/O engine, and
 * the emulator's). One thread runs it; tgb_loop_post() and tgb_loop_stop() may be
 * called from any thread. Models: redis ae.c, libuv's handle/request split.
 *
 * Handles (tgb_loop_io, tgb_loop_timer) are owned by the caller and embedded in its own
 * structs; the loop only links them. A handle may be stopped, and its memory freed,
 * from inside any callback, including its own: the loop drops events still pending for
 * a stopped handle.
 */
#ifndef TGB_RUNTIME_LOOP_H
#define TGB_RUNTIME_LOOP_H

#include <tgbotapi/tgbotapi.h>

#include <stddef.h>
#include <stdint.h>

typedef struct tgb_loop tgb_loop;

enum { TGB_LOOP_READ = 1, TGB_LOOP_WRITE = 2, TGB_LOOP_ERROR = 4 };

typedef struct tgb_loop_io tgb_loop_io;
/** `events`: TGB_LOOP_READ / _WRITE / _ERROR (hang-up and errors are reported as both
 * READ and ERROR, so a read sees the EOF). */
typedef void (*tgb_loop_io_cb)(tgb_loop *loop, tgb_loop_io *io, int events);

struct tgb_loop_io {
    int fd;
    int events;
    tgb_loop_io_cb cb;
    void *data; /* the owner's */
};

typedef struct tgb_loop_timer tgb_loop_timer;
typedef void (*tgb_loop_timer_cb)(tgb_loop *loop, tgb_loop_timer *timer);

struct tgb_loop_timer {
    tgb_time when;
    tgb_loop_timer_cb cb;
    void *data;   /* the owner's */
    size_t index; /* position in the heap; SIZE_MAX when not armed */
};

int tgb_loop_new(tgb_loop **out);

/** Frees the loop; its handles must be stopped already. Posted tasks not yet run are
 * dropped. NULL-safe. */
void tgb_loop_del(tgb_loop *loop);

/** Runs until tgb_loop_stop(). Returns 0, or an error from epoll. */
int tgb_loop_run(tgb_loop *loop);

/** Makes tgb_loop_run() return after the current iteration. Any thread. */
void tgb_loop_stop(tgb_loop *loop);

/** The loop's idea of now, refreshed before every batch of callbacks. */
tgb_time tgb_loop_now(const tgb_loop *loop);

/** The wall clock now (CLOCK_REALTIME), in tgb_time units. */
tgb_time tgb_clock_now(void);

/** Starts watching `fd` for `events`; the fd is set non-blocking. */
int tgb_loop_io_start(tgb_loop *loop, tgb_loop_io *io, int fd, int events, tgb_loop_io_cb cb,
                      void *data);

/** Changes the events watched. */
int tgb_loop_io_modify(tgb_loop *loop, tgb_loop_io *io, int events);

/** Stops watching (does not close the fd). Safe on a stopped handle. */
void tgb_loop_io_stop(tgb_loop *loop, tgb_loop_io *io);

/** Initialises a timer handle (not armed). */
void tgb_loop_timer_init(tgb_loop_timer *t, tgb_loop_timer_cb cb, void *data);

/** Arms (or re-arms) a timer to fire once at `when`; TGB_TIME_NEVER disarms it. */
int tgb_loop_timer_set(tgb_loop *loop, tgb_loop_timer *t, tgb_time when);

/** Disarms a timer. Safe on a disarmed timer. */
void tgb_loop_timer_stop(tgb_loop *loop, tgb_loop_timer *t);

/**
 * Runs `fn(data)` on the loop's thread, in the order posted. Any thread, including the
 * loop's own (then it runs in the next iteration). TGB_ERR_NOMEM.
 */
int tgb_loop_post(tgb_loop *loop, void (*fn)(void *data), void *data);

#endif
