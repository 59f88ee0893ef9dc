/* The epoll event loop; see loop.h. */
#define _GNU_SOURCE
#include "runtime/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256

struct task {
    void (*fn)(void *data);
    void *data;
    struct task *next;
};

struct tgb_loop {
    int epfd;
    int wakefd;
    tgb_loop_io wake;
    atomic_int stopping;
    tgb_time now;

    /* timers: a binary min-heap on `when` */
    tgb_loop_timer **heap;
    size_t nheap, capheap;

    /* posted tasks, from any thread */
    pthread_mutex_t lock;
    struct task *head, *tail;

    /* the batch being dispatched, so that a stopped handle's pending events are dropped */
    struct epoll_event events[MAX_EVENTS];
    int batch_next, batch_len;
};

tgb_time tgb_clock_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (tgb_time)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void wake_cb(tgb_loop *loop, tgb_loop_io *io, int events)
{
    (void)events;
    uint64_t n;
    while (read(io->fd, &n, sizeof(n)) == (ssize_t)sizeof(n))
        ;
    (void)loop;
}

int tgb_loop_new(tgb_loop **out)
{
    tgb_loop *l = calloc(1, sizeof(*l));
    if (!l)
        return TGB_ERR_NOMEM;
    l->wake.fd = -1;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->epfd < 0 || l->wakefd < 0 || pthread_mutex_init(&l->lock, NULL) != 0) {
        if (l->epfd >= 0)
            close(l->epfd);
        if (l->wakefd >= 0)
            close(l->wakefd);
        free(l);
        return TGB_ERR_NOMEM;
    }
    atomic_init(&l->stopping, 0);
    l->now = tgb_clock_now();
    int rc = tgb_loop_io_start(l, &l->wake, l->wakefd, TGB_LOOP_READ, wake_cb, NULL);
    if (rc) {
        tgb_loop_del(l);
        return rc;
    }
    *out = l;
    return 0;
}

void tgb_loop_del(tgb_loop *l)
{
    if (!l)
        return;
    if (l->wake.fd >= 0)
        tgb_loop_io_stop(l, &l->wake);
    struct task *t = l->head;
    while (t) {
        struct task *next = t->next;
        free(t);
        t = next;
    }
    close(l->epfd);
    close(l->wakefd);
    pthread_mutex_destroy(&l->lock);
    free(l->heap);
    free(l);
}

tgb_time tgb_loop_now(const tgb_loop *l)
{
    return l->now;
}

static void wake(tgb_loop *l)
{
    uint64_t one = 1;
    /* a full counter (EAGAIN) still wakes the loop */
    ssize_t n = write(l->wakefd, &one, sizeof(one));
    (void)n;
}

void tgb_loop_stop(tgb_loop *l)
{
    atomic_store(&l->stopping, 1);
    wake(l);
}

/* ------------------------------------------------------------------ I/O */

static uint32_t to_epoll(int events)
{
    return (events & TGB_LOOP_READ ? EPOLLIN : 0u) | (events & TGB_LOOP_WRITE ? EPOLLOUT : 0u);
}

int tgb_loop_io_start(tgb_loop *l, tgb_loop_io *io, int fd, int events, tgb_loop_io_cb cb,
                      void *data)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return TGB_ERR_INVALID;
    io->fd = fd;
    io->events = events;
    io->cb = cb;
    io->data = data;
    struct epoll_event ev = {.events = to_epoll(events), .data.ptr = io};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        io->fd = -1;
        return errno == ENOMEM ? TGB_ERR_NOMEM : TGB_ERR_INVALID;
    }
    return 0;
}

int tgb_loop_io_modify(tgb_loop *l, tgb_loop_io *io, int events)
{
    if (io->fd < 0)
        return TGB_ERR_STATE;
    if (io->events == events)
        return 0;
    struct epoll_event ev = {.events = to_epoll(events), .data.ptr = io};
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
        return TGB_ERR_INVALID;
    io->events = events;
    return 0;
}

void tgb_loop_io_stop(tgb_loop *l, tgb_loop_io *io)
{
    if (io->fd < 0)
        return;
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    io->fd = -1;
    /* the handle may be freed right after: forget its events still in this batch */
    for (int i = l->batch_next; i < l->batch_len; i++)
        if (l->events[i].data.ptr == io)
            l->events[i].data.ptr = NULL;
}

/* ------------------------------------------------------------------ timers */

static void heap_swap(tgb_loop *l, size_t a, size_t b)
{
    tgb_loop_timer *t = l->heap[a];
    l->heap[a] = l->heap[b];
    l->heap[b] = t;
    l->heap[a]->index = a;
    l->heap[b]->index = b;
}

static void heap_up(tgb_loop *l, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (l->heap[parent]->when <= l->heap[i]->when)
            break;
        heap_swap(l, i, parent);
        i = parent;
    }
}

static void heap_down(tgb_loop *l, size_t i)
{
    for (;;) {
        size_t left = 2 * i + 1, right = left + 1, least = i;
        if (left < l->nheap && l->heap[left]->when < l->heap[least]->when)
            least = left;
        if (right < l->nheap && l->heap[right]->when < l->heap[least]->when)
            least = right;
        if (least == i)
            return;
        heap_swap(l, i, least);
        i = least;
    }
}

void tgb_loop_timer_init(tgb_loop_timer *t, tgb_loop_timer_cb cb, void *data)
{
    t->when = TGB_TIME_NEVER;
    t->cb = cb;
    t->data = data;
    t->index = SIZE_MAX;
}

void tgb_loop_timer_stop(tgb_loop *l, tgb_loop_timer *t)
{
    if (t->index == SIZE_MAX)
        return;
    size_t i = t->index;
    heap_swap(l, i, l->nheap - 1);
    l->nheap--;
    t->index = SIZE_MAX;
    if (i < l->nheap) {
        heap_up(l, i);
        heap_down(l, i);
    }
}

int tgb_loop_timer_set(tgb_loop *l, tgb_loop_timer *t, tgb_time when)
{
    if (when == TGB_TIME_NEVER) {
        tgb_loop_timer_stop(l, t);
        return 0;
    }
    if (t->index != SIZE_MAX) {
        t->when = when;
        heap_up(l, t->index);
        heap_down(l, t->index);
        return 0;
    }
    if (l->nheap == l->capheap) {
        size_t cap = l->capheap ? l->capheap * 2 : 64;
        tgb_loop_timer **h = realloc(l->heap, cap * sizeof(*h));
        if (!h)
            return TGB_ERR_NOMEM;
        l->heap = h;
        l->capheap = cap;
    }
    t->when = when;
    t->index = l->nheap;
    l->heap[l->nheap++] = t;
    heap_up(l, t->index);
    return 0;
}

/* ------------------------------------------------------------------ tasks */

int tgb_loop_post(tgb_loop *l, void (*fn)(void *data), void *data)
{
    struct task *t = malloc(sizeof(*t));
    if (!t)
        return TGB_ERR_NOMEM;
    t->fn = fn;
    t->data = data;
    t->next = NULL;
    pthread_mutex_lock(&l->lock);
    if (l->tail)
        l->tail->next = t;
    else
        l->head = t;
    l->tail = t;
    pthread_mutex_unlock(&l->lock);
    wake(l);
    return 0;
}

static void run_tasks(tgb_loop *l)
{
    pthread_mutex_lock(&l->lock);
    struct task *t = l->head;
    l->head = l->tail = NULL;
    pthread_mutex_unlock(&l->lock);
    while (t) {
        struct task *next = t->next;
        t->fn(t->data);
        free(t);
        t = next;
    }
}

/* ------------------------------------------------------------------ run */

int tgb_loop_run(tgb_loop *l)
{
    atomic_store(&l->stopping, 0);
    while (!atomic_load(&l->stopping)) {
        int timeout = -1;
        l->now = tgb_clock_now();
        if (l->nheap) {
            tgb_time wait = l->heap[0]->when - l->now;
            timeout = wait <= 0 ? 0 : wait > 3600000000LL ? 3600000 : (int)((wait + 999) / 1000);
        }
        /* tasks posted from this thread during the last iteration */
        pthread_mutex_lock(&l->lock);
        if (l->head)
            timeout = 0;
        pthread_mutex_unlock(&l->lock);

        int n = epoll_wait(l->epfd, l->events, MAX_EVENTS, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return TGB_ERR_INVALID;
        }
        l->now = tgb_clock_now();
        l->batch_len = n;
        for (l->batch_next = 0; l->batch_next < l->batch_len;) {
            struct epoll_event *ev = &l->events[l->batch_next++];
            tgb_loop_io *io = ev->data.ptr;
            if (!io)
                continue;
            int events = 0;
            if (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                events |= TGB_LOOP_READ;
            if (ev->events & EPOLLOUT)
                events |= TGB_LOOP_WRITE;
            if (ev->events & (EPOLLHUP | EPOLLERR))
                events |= TGB_LOOP_ERROR;
            io->cb(l, io, events);
        }
        l->batch_len = l->batch_next = 0;

        l->now = tgb_clock_now();
        while (l->nheap && l->heap[0]->when <= l->now) {
            tgb_loop_timer *t = l->heap[0];
            tgb_loop_timer_stop(l, t);
            t->cb(l, t);
        }
        run_tasks(l);
    }
    return 0;
}
