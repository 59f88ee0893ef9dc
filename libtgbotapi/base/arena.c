/* Arena allocator; see arena.h. */
#include "arena.h"

#include <tgbotapi/tgbotapi.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct tgb_arena_block {
    struct tgb_arena_block *prev;
    size_t size;
    char data[]; /* 8-aligned: the two fields above are 8 bytes each on LP64, 4 on ILP32 */
};

/* Blocks start small (many decodes are a few hundred bytes) and double up to 1 MiB. */
#define FIRST_BLOCK ((size_t)4096)
#define MAX_BLOCK   ((size_t)1 << 20)

void tgb_arena_init(tgb_arena *a, void *initial, size_t initial_size, size_t limit)
{
    a->block = NULL;
    a->allocated = 0;
    a->limit = limit ? limit : TGB_ARENA_DEFAULT_LIMIT;
    a->next_block = FIRST_BLOCK;
    a->err = 0;
    if (initial && initial_size >= 8) {
        uintptr_t p = ((uintptr_t)initial + 7) & ~(uintptr_t)7;
        a->cur = (char *)p;
        a->end = (char *)initial + initial_size;
        if (a->cur > a->end)
            a->cur = a->end;
    } else {
        a->cur = a->end = NULL;
    }
}

static void *alloc_slow(tgb_arena *a, size_t size)
{
    size_t want = size > a->next_block ? size : a->next_block;
    struct tgb_arena_block *b = malloc(sizeof(*b) + want);
    if (!b) {
        a->err = TGB_ERR_NOMEM;
        return NULL;
    }
    b->prev = a->block;
    b->size = want;
    a->block = b;
    if (a->next_block < MAX_BLOCK)
        a->next_block *= 2;
    a->cur = b->data + size;
    a->end = b->data + want;
    return b->data;
}

void *tgb_arena_alloc(tgb_arena *a, size_t size)
{
    size = (size + 7) & ~(size_t)7;
    if (size > a->limit - a->allocated) {
        a->err = TGB_ERR_LIMIT;
        return NULL;
    }
    a->allocated += size;
    if ((size_t)(a->end - a->cur) >= size) {
        void *p = a->cur;
        a->cur += size;
        return p;
    }
    void *p = alloc_slow(a, size);
    if (!p)
        a->allocated -= size;
    return p;
}

void *tgb_arena_zalloc(tgb_arena *a, size_t size)
{
    void *p = tgb_arena_alloc(a, size);
    if (p)
        memset(p, 0, size);
    return p;
}

void tgb_arena_free(tgb_arena *a)
{
    if (!a)
        return;
    struct tgb_arena_block *b = a->block;
    while (b) {
        struct tgb_arena_block *prev = b->prev;
        free(b);
        b = prev;
    }
    a->block = NULL;
    a->cur = a->end = NULL;
    a->allocated = 0;
    a->next_block = FIRST_BLOCK;
    a->err = 0;
}
