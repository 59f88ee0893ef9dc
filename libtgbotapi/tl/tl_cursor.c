/* The cursor both TL decoders read with; see tl_cursor.h. */
#include "tl/tl_cursor.h"

#include <tgbotapi/tgbotapi.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *tgb_tl_kind_name(int kind)
{
    static const char *const names[] = {"int",    "long",   "double", "string", "bytes",
                                        "int128", "int256", "#",      "true",   "Bool",
                                        "object", "bare",   "Vector", "vector", "object"};
    return kind >= 0 && kind <= TGB_TL_ANY ? names[kind] : "?";
}

void tgb_tl_describe(char *buf, size_t n, tgb_tl_where w, const tgb_tl_typeref *t)
{
    if (w.comb && w.field)
        snprintf(buf, n, "%s.%s (%s)", w.comb->name, w.field->name, tgb_tl_kind_name(t->kind));
    else if (w.comb)
        snprintf(buf, n, "%s", w.comb->name);
    else
        snprintf(buf, n, "top-level %s", t->type ? t->type->name : tgb_tl_kind_name(t->kind));
}

int tgb_tl_fail_at(tgb_tl_error *err, int code, size_t offset, const char *fmt, ...)
{
    if (err) {
        err->code = code;
        err->offset = offset;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return code;
}

int tgb_tl_cursor_truncated(tgb_tl_cursor *c, size_t need, tgb_tl_where w, const tgb_tl_typeref *t)
{
    char what[128];
    tgb_tl_describe(what, sizeof(what), w, t);
    return tgb_tl_fail_at(c->err, TGB_ERR_TL_TRUNCATED, tgb_tl_cursor_at(c),
                          "truncated at offset %zu: %s needs %zu bytes, %zu left",
                          tgb_tl_cursor_at(c), what, need, tgb_tl_cursor_left(c));
}

int tgb_tl_cursor_no_memory(tgb_tl_cursor *c)
{
    int code = c->arena->err ? c->arena->err : TGB_ERR_NOMEM;
    return tgb_tl_fail_at(
        c->err, code == TGB_ERR_LIMIT ? TGB_ERR_TL_TOO_LARGE : code, tgb_tl_cursor_at(c),
        "decoding needs more memory than allowed at offset %zu", tgb_tl_cursor_at(c));
}

int tgb_tl_cursor_too_deep(tgb_tl_cursor *c, const tgb_tl_combinator *comb)
{
    return tgb_tl_fail_at(c->err, TGB_ERR_TL_TOO_DEEP, tgb_tl_cursor_at(c),
                          "objects nested deeper than %d at offset %zu (%s)", TGB_TL_MAX_DEPTH,
                          tgb_tl_cursor_at(c), comb->name);
}

int tgb_tl_cursor_id(tgb_tl_cursor *c, uint32_t *id, tgb_tl_where w, const tgb_tl_typeref *t)
{
    if (tgb_tl_cursor_left(c) < 4)
        return tgb_tl_cursor_truncated(c, 4, w, t);
    *id = tgb_le32(c->p);
    c->p += 4;
    return 0;
}

int tgb_tl_cursor_bool(tgb_tl_cursor *c, bool *b, tgb_tl_where w, const tgb_tl_typeref *t)
{
    uint32_t id = 0;
    int rc = tgb_tl_cursor_id(c, &id, w, t);
    if (rc)
        return rc;
    if (id != TGB_TL_ID_BOOL_TRUE && id != TGB_TL_ID_BOOL_FALSE) {
        char what[128];
        tgb_tl_describe(what, sizeof(what), w, t);
        return tgb_tl_fail_at(c->err, TGB_ERR_TL_BAD_VALUE, tgb_tl_cursor_at(c) - 4,
                              "%08x at offset %zu is not a Bool (%s)", id, tgb_tl_cursor_at(c) - 4,
                              what);
    }
    *b = id == TGB_TL_ID_BOOL_TRUE;
    return 0;
}

static const char empty_string[1] = "";

int tgb_tl_cursor_string(tgb_tl_cursor *c, const char **data, size_t *len, tgb_tl_where w,
                         const tgb_tl_typeref *t)
{
    if (tgb_tl_cursor_left(c) < 4)
        return tgb_tl_cursor_truncated(c, 4, w, t);
    size_t n = c->p[0], header = 1;
    if (n == 254) {
        n = (size_t)c->p[1] | (size_t)c->p[2] << 8 | (size_t)c->p[3] << 16;
        header = 4;
    } else if (n == 255) {
        char what[128];
        tgb_tl_describe(what, sizeof(what), w, t);
        return tgb_tl_fail_at(c->err, TGB_ERR_TL_BAD_STRING, tgb_tl_cursor_at(c),
                              "bad string length byte 255 at offset %zu in %s", tgb_tl_cursor_at(c),
                              what);
    }
    size_t total = (header + n + 3) & ~(size_t)3;
    if (total > tgb_tl_cursor_left(c))
        return tgb_tl_cursor_truncated(c, total, w, t);
    if (data) {
        if (n == 0) {
            *data = empty_string;
        } else {
            char *copy = tgb_arena_alloc(c->arena, n + 1);
            if (!copy)
                return tgb_tl_cursor_no_memory(c);
            memcpy(copy, c->p + header, n);
            copy[n] = 0;
            *data = copy;
        }
        *len = n;
    }
    c->p += total;
    return 0;
}
