/*
 * The reading side both TL decoders share (tl_codec.c for our layer, tl_transcode.c for
 * another layer's bytes): a bounds-checked cursor over untrusted input, the reads of
 * ids, Bools and strings, and error messages that say what was being read where.
 * Internal to tl/.
 */
#ifndef TGB_TL_TL_CURSOR_H
#define TGB_TL_TL_CURSOR_H

#include "tl/tl.h"

typedef struct tgb_tl_cursor {
    const uint8_t *start;
    const uint8_t *p;
    const uint8_t *end;
    tgb_arena *arena; /* decoded strings and objects */
    tgb_tl_error *err;
    int depth;
} tgb_tl_cursor;

/* Where a value being read sits, for error messages only. */
typedef struct tgb_tl_where {
    const tgb_tl_combinator *comb;
    const tgb_tl_field *field;
} tgb_tl_where;

static inline size_t tgb_tl_cursor_left(const tgb_tl_cursor *c)
{
    return (size_t)(c->end - c->p);
}

static inline size_t tgb_tl_cursor_at(const tgb_tl_cursor *c)
{
    return (size_t)(c->p - c->start);
}

/** A type kind's name in messages: "int", "Vector", ... */
const char *tgb_tl_kind_name(int kind);

/** "message.from_id (object)", for messages. */
void tgb_tl_describe(char *buf, size_t n, tgb_tl_where w, const tgb_tl_typeref *t);

/** Fills `err` (if any) and returns `code`. */
int tgb_tl_fail_at(tgb_tl_error *err, int code, size_t offset, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/** TGB_ERR_TL_TRUNCATED: `need` bytes for what `w` names, fewer left. */
int tgb_tl_cursor_truncated(tgb_tl_cursor *c, size_t need, tgb_tl_where w, const tgb_tl_typeref *t);

/** The arena refused: TGB_ERR_TL_TOO_LARGE (its cap) or TGB_ERR_NOMEM. */
int tgb_tl_cursor_no_memory(tgb_tl_cursor *c);

/** TGB_ERR_TL_TOO_DEEP, reading `comb`. */
int tgb_tl_cursor_too_deep(tgb_tl_cursor *c, const tgb_tl_combinator *comb);

/** A constructor id. */
int tgb_tl_cursor_id(tgb_tl_cursor *c, uint32_t *id, tgb_tl_where w, const tgb_tl_typeref *t);

/** A Bool: boolTrue or boolFalse, anything else TGB_ERR_TL_BAD_VALUE. */
int tgb_tl_cursor_bool(tgb_tl_cursor *c, bool *b, tgb_tl_where w, const tgb_tl_typeref *t);

/**
 * A TL string or bytes (1-byte length, or 254 and 3 bytes; padded to 4), copied into the
 * arena and NUL-terminated; with `data` NULL only checked and skipped.
 */
int tgb_tl_cursor_string(tgb_tl_cursor *c, const char **data, size_t *len, tgb_tl_where w,
                         const tgb_tl_typeref *t);

#endif
