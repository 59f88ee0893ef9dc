/*
 * Arena: a bump allocator whose memory is released all at once.
 *
 * Decoded TL objects live in an arena: the decoder allocates structs, vectors and
 * strings from it and the owner frees everything with one tgb_arena_free(). An arena
 * has a byte limit so that untrusted input can never make it grow without bound.
 * Not thread-safe; one owner at a time.
 */
#ifndef TGB_BASE_ARENA_H
#define TGB_BASE_ARENA_H

#include <stddef.h>

struct tgb_arena_block;

typedef struct tgb_arena {
    char *cur;                     /* next free byte in the current block */
    char *end;                     /* end of the current block */
    struct tgb_arena_block *block; /* current heap block (NULL while in `initial`) */
    size_t allocated;              /* bytes handed out so far, for the limit */
    size_t limit;                  /* cap on `allocated`; 0 = TGB_ARENA_DEFAULT_LIMIT */
    size_t next_block;             /* size of the next heap block */
    int err;                       /* why the last alloc failed: TGB_ERR_NOMEM or _LIMIT */
} tgb_arena;

/** Default cap on an arena's total allocation (64 MiB). */
#define TGB_ARENA_DEFAULT_LIMIT ((size_t)64 << 20)

/**
 * Initialises an empty arena. `initial`/`initial_size` may give a caller-owned buffer
 * (e.g. on the stack) used before any heap block; pass NULL/0 for none. `limit` caps
 * the total bytes allocated (0 = TGB_ARENA_DEFAULT_LIMIT).
 */
void tgb_arena_init(tgb_arena *a, void *initial, size_t initial_size, size_t limit);

/**
 * Returns `size` bytes aligned to 8, or NULL with a->err set to TGB_ERR_LIMIT (the cap
 * would be exceeded) or TGB_ERR_NOMEM. The memory lives until tgb_arena_free().
 */
void *tgb_arena_alloc(tgb_arena *a, size_t size);

/** As tgb_arena_alloc(), zero-filled. */
void *tgb_arena_zalloc(tgb_arena *a, size_t size);

/**
 * Frees every heap block. The arena is empty and usable afterwards, from the heap only
 * (the caller's `initial` buffer is not used again). NULL-safe.
 */
void tgb_arena_free(tgb_arena *a);

#endif
