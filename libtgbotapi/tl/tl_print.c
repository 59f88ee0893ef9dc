/*
 * Renders TL values as JSON for logs and tests, by the same descriptors the codec uses.
 * The output is stable (schema field order, no whitespace), so tests can compare it.
 */
#include "tl/tl.h"
#include "tl/tl_api.h"

#include <tgbotapi/tgbotapi.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int put(tgb_buf *out, const char *s, size_t n)
{
    return tgb_buf_append(out, s, n);
}

static int puts_(tgb_buf *out, const char *s)
{
    return put(out, s, strlen(s));
}

static int hex(tgb_buf *out, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    int rc = tgb_buf_reserve(out, 2 * n + 2);
    if (rc)
        return rc;
    uint8_t *o = tgb_buf_extend(out, 2 * n + 2);
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        *o++ = (uint8_t)digits[p[i] >> 4];
        *o++ = (uint8_t)digits[p[i] & 15];
    }
    *o = '"';
    return 0;
}

/* Length of a valid UTF-8 sequence at p (at most n bytes), or 0 if it is not one. */
static size_t utf8_len(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    size_t len;
    uint32_t min;
    if (c < 0x80)
        return 1;
    else if ((c & 0xe0) == 0xc0)
        len = 2, min = 0x80;
    else if ((c & 0xf0) == 0xe0)
        len = 3, min = 0x800;
    else if ((c & 0xf8) == 0xf0)
        len = 4, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    uint32_t cp = c & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static int string(tgb_buf *out, const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    int rc = put(out, "\"", 1);
    size_t i = 0;
    while (!rc && i < n) {
        uint8_t c = p[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            rc = put(out, esc, 2);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            rc = put(out, esc, 6);
            i++;
        } else {
            size_t len = utf8_len(p + i, n - i);
            if (len) {
                rc = put(out, s + i, len);
                i += len;
            } else {
                /* not UTF-8: show the byte rather than emit invalid JSON */
                snprintf(esc, sizeof(esc), "\\u%04x", c);
                rc = put(out, esc, 6);
                i++;
            }
        }
    }
    return rc ? rc : put(out, "\"", 1);
}

static int print_value(tgb_buf *out, const tgb_tl_typeref *t, const void *slot, int depth);

static int print_object(tgb_buf *out, const tl_object *o, int depth)
{
    if (!o || !o->desc)
        return puts_(out, "null");
    if (depth > TGB_TL_MAX_DEPTH)
        return TGB_ERR_TL_TOO_DEEP;
    const tgb_tl_combinator *c = o->desc;
    int rc = puts_(out, "{\"_\":");
    if (!rc)
        rc = string(out, c->name, strlen(c->name));
    const uint8_t *base = (const uint8_t *)o;
    const tgb_tl_field *f = c->fields;
    for (uint16_t i = 0; !rc && i < c->nfields; i++, f++) {
        if (f->flag_field >= 0) {
            uint32_t flags;
            memcpy(&flags, base + c->fields[f->flag_field].offset, 4);
            if (!(flags >> f->flag_bit & 1))
                continue;
        }
        rc = put(out, ",", 1);
        if (!rc)
            rc = string(out, f->name, strlen(f->name));
        if (!rc)
            rc = put(out, ":", 1);
        if (!rc)
            rc = f->kind == TGB_TL_TRUE ? puts_(out, "true")
                                        : print_value(out, f->type, base + f->offset, depth + 1);
    }
    return rc ? rc : put(out, "}", 1);
}

static int print_value(tgb_buf *out, const tgb_tl_typeref *t, const void *slot, int depth)
{
    char num[40];
    switch ((tgb_tl_kind)t->kind) {
    case TGB_TL_INT: {
        int32_t v;
        memcpy(&v, slot, 4);
        snprintf(num, sizeof(num), "%" PRId32, v);
        return puts_(out, num);
    }
    case TGB_TL_FLAGS: {
        uint32_t v;
        memcpy(&v, slot, 4);
        snprintf(num, sizeof(num), "%" PRIu32, v);
        return puts_(out, num);
    }
    case TGB_TL_LONG: {
        int64_t v;
        memcpy(&v, slot, 8);
        snprintf(num, sizeof(num), "%" PRId64, v);
        return puts_(out, num);
    }
    case TGB_TL_DOUBLE: {
        double v;
        memcpy(&v, slot, 8);
        if (!isfinite(v))
            return puts_(out, isnan(v) ? "\"NaN\"" : v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        snprintf(num, sizeof(num), "%.17g", v);
        return puts_(out, num);
    }
    case TGB_TL_STRING: {
        const tgb_tl_string *s = slot;
        return string(out, s->data, s->len);
    }
    case TGB_TL_BYTES: {
        const tgb_tl_bytes *b = slot;
        return hex(out, b->data, b->len);
    }
    case TGB_TL_INT128: return hex(out, slot, 16);
    case TGB_TL_INT256: return hex(out, slot, 32);
    case TGB_TL_BOOL: return puts_(out, *(const bool *)slot ? "true" : "false");
    case TGB_TL_TRUE: return puts_(out, "true");
    case TGB_TL_OBJECT:
    case TGB_TL_BARE:
    case TGB_TL_ANY: return print_object(out, *(tl_object *const *)slot, depth);
    case TGB_TL_VECTOR:
    case TGB_TL_BARE_VECTOR: {
        const tgb_tl_vector *v = slot;
        size_t size = tgb_tl_value_size(t->elem);
        int rc = put(out, "[", 1);
        for (uint32_t i = 0; !rc && i < v->count; i++) {
            if (i)
                rc = put(out, ",", 1);
            if (!rc)
                rc = print_value(out, t->elem, (const uint8_t *)v->items + size * i, depth + 1);
        }
        return rc ? rc : put(out, "]", 1);
    }
    }
    return TGB_ERR_INVALID;
}

int tgb_tl_print(tgb_buf *out, const tgb_tl_typeref *type, const void *slot)
{
    if (!out || !type || !slot)
        return TGB_ERR_INVALID;
    return print_value(out, type, slot, 0);
}

int tgb_tl_print_object(tgb_buf *out, const void *object)
{
    if (!out)
        return TGB_ERR_INVALID;
    return print_object(out, object, 0);
}

char *tgb_tl_to_json(const void *object)
{
    tgb_buf b;
    tgb_buf_init(&b, 0);
    if (tgb_tl_print_object(&b, object) != 0 || tgb_buf_append(&b, "", 1) != 0) {
        tgb_buf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}

void tgb_free(void *p)
{
    free(p);
}

int tgb_tl_to_json_string(const uint8_t *tl, size_t len, char **json)
{
    if (!json || (!tl && len))
        return TGB_ERR_INVALID;
    *json = NULL;
    tgb_arena arena;
    tgb_arena_init(&arena, NULL, 0, 0);
    tl_object *o = NULL;
    int rc = tgb_tl_decode_object(&tgb_tl_schema_api, &arena, NULL, tl, len, &o, NULL, NULL);
    if (!rc) {
        *json = tgb_tl_to_json(o);
        if (!*json)
            rc = TGB_ERR_NOMEM;
    }
    tgb_arena_free(&arena);
    return rc;
}
