/*
 * The generic TL codec: turns bytes into generated structs and back by walking the
 * descriptors tools/tlgen emits. Wire format: https://core.telegram.org/mtproto/serialize
 * (little-endian integers, strings with a 1- or 4-byte length prefix padded to 4 bytes,
 * boxed values prefixed by their constructor id, vectors by 0x1cb5c415 and a count).
 *
 * The decoder reads untrusted bytes. Every read checks the bytes left first; a vector
 * count is checked against the fewest bytes its elements could take before its item
 * array is allocated; strings are checked against the bytes left before they are
 * copied. So the memory a decode uses is bounded by a small multiple of its input (the
 * ratio of a struct's size to its shortest encoding), and the arena's own cap bounds
 * it absolutely.
 */
#include "tl/tl.h"
#include "tl/tl_cursor.h"

#include <tgbotapi/tgbotapi.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ lookup */

const tgb_tl_combinator *tgb_tl_find_id(const tgb_tl_schema *schema, uint32_t id)
{
    uint32_t h = id & schema->id_mask;
    const tgb_tl_combinator *c;
    while ((c = schema->by_id[h]) != NULL) {
        if (c->id == id)
            return c;
        h = (h + 1) & schema->id_mask;
    }
    return NULL;
}

const tgb_tl_combinator *tgb_tl_find_name(const tgb_tl_schema *schema, const char *name)
{
    for (uint32_t i = 0; i < schema->nctors; i++)
        if (strcmp(schema->ctors[i]->name, name) == 0)
            return schema->ctors[i];
    for (uint32_t i = 0; i < schema->nfunctions; i++)
        if (strcmp(schema->functions[i]->name, name) == 0)
            return schema->functions[i];
    return NULL;
}

const tgb_tl_type *tgb_tl_find_type(const tgb_tl_schema *schema, const char *name)
{
    for (uint32_t i = 0; i < schema->ntypes; i++)
        if (strcmp(schema->types[i]->name, name) == 0)
            return schema->types[i];
    return NULL;
}

void *tgb_tl_new(tgb_arena *arena, const tgb_tl_combinator *c)
{
    tl_object *o = tgb_arena_zalloc(arena, c->size);
    if (o)
        o->desc = c;
    return o;
}

size_t tgb_tl_value_size(const tgb_tl_typeref *t)
{
    switch ((tgb_tl_kind)t->kind) {
    case TGB_TL_INT:
    case TGB_TL_FLAGS: return 4;
    case TGB_TL_LONG:
    case TGB_TL_DOUBLE: return 8;
    case TGB_TL_STRING: return sizeof(tgb_tl_string);
    case TGB_TL_BYTES: return sizeof(tgb_tl_bytes);
    case TGB_TL_INT128: return 16;
    case TGB_TL_INT256: return 32;
    case TGB_TL_BOOL: return sizeof(bool);
    case TGB_TL_OBJECT:
    case TGB_TL_BARE:
    case TGB_TL_ANY: return sizeof(void *);
    case TGB_TL_VECTOR:
    case TGB_TL_BARE_VECTOR: return sizeof(tgb_tl_vector);
    case TGB_TL_TRUE: return 0;
    }
    return 0;
}

/* ------------------------------------------------------------------ decoder */

struct reader {
    tgb_tl_cursor c;
    const tgb_tl_schema *schema;
};

static int decode_value(struct reader *r, const tgb_tl_typeref *t, void *slot, tgb_tl_where w);

static int decode_body(struct reader *r, const tgb_tl_combinator *c, void **out)
{
    if (!c->size) {
        return tgb_tl_fail_at(r->c.err, TGB_ERR_INVALID, tgb_tl_cursor_at(&r->c),
                              "schema %s has no C structs to decode %s into", r->schema->name,
                              c->name);
    }
    if (++r->c.depth > TGB_TL_MAX_DEPTH) {
        return tgb_tl_fail_at(r->c.err, TGB_ERR_TL_TOO_DEEP, tgb_tl_cursor_at(&r->c),
                              "objects nested deeper than %d at offset %zu (%s)", TGB_TL_MAX_DEPTH,
                              tgb_tl_cursor_at(&r->c), c->name);
    }
    /* An object's bare body can't be shorter than this: refuse before allocating it. */
    if (c->min_size > tgb_tl_cursor_left(&r->c)) {
        r->c.depth--;
        return tgb_tl_cursor_truncated(&r->c, c->min_size, (tgb_tl_where){c, NULL}, c->result);
    }
    uint8_t *obj = tgb_arena_alloc(r->c.arena, c->size);
    if (!obj)
        return tgb_tl_cursor_no_memory(&r->c);
    memset(obj, 0, c->size);
    ((tl_object *)obj)->desc = c;
    const tgb_tl_field *f = c->fields;
    for (uint16_t i = 0; i < c->nfields; i++, f++) {
        if (f->flag_field >= 0) {
            uint32_t flags;
            memcpy(&flags, obj + c->fields[f->flag_field].offset, 4);
            if (!(flags >> f->flag_bit & 1))
                continue;
            if (f->kind == TGB_TL_TRUE)
                continue;
        }
        uint8_t *slot = obj + f->offset;
        /* The common scalar cases inline; everything else through decode_value. */
        switch (f->kind) {
        case TGB_TL_INT:
        case TGB_TL_FLAGS: {
            if (tgb_tl_cursor_left(&r->c) < 4)
                return tgb_tl_cursor_truncated(&r->c, 4, (tgb_tl_where){c, f}, f->type);
            uint32_t v = tgb_le32(r->c.p);
            memcpy(slot, &v, 4);
            r->c.p += 4;
            break;
        }
        case TGB_TL_LONG: {
            if (tgb_tl_cursor_left(&r->c) < 8)
                return tgb_tl_cursor_truncated(&r->c, 8, (tgb_tl_where){c, f}, f->type);
            uint64_t v = tgb_le64(r->c.p);
            memcpy(slot, &v, 8);
            r->c.p += 8;
            break;
        }
        default: {
            int rc = decode_value(r, f->type, slot, (tgb_tl_where){c, f});
            if (rc)
                return rc;
        }
        }
    }
    r->c.depth--;
    *out = obj;
    return 0;
}

/* A boxed object: its id, which must name a constructor of `t->type` (any if NULL). */
static int decode_boxed(struct reader *r, const tgb_tl_typeref *t, void **slot, tgb_tl_where w)
{
    uint32_t id = 0;
    int rc = tgb_tl_cursor_id(&r->c, &id, w, t);
    if (rc)
        return rc;
    const tgb_tl_combinator *c = tgb_tl_find_id(r->schema, id);
    char what[128];
    if (!c) {
        tgb_tl_describe(what, sizeof(what), w, t);
        if (id == TGB_TL_ID_VECTOR && t->kind == TGB_TL_ANY)
            return tgb_tl_fail_at(r->c.err, TGB_ERR_TL_UNKNOWN_ID, tgb_tl_cursor_at(&r->c) - 4,
                                  "a Vector at offset %zu in %s cannot be decoded without its "
                                  "element type",
                                  tgb_tl_cursor_at(&r->c) - 4, what);
        return tgb_tl_fail_at(r->c.err, TGB_ERR_TL_UNKNOWN_ID, tgb_tl_cursor_at(&r->c) - 4,
                              "unknown constructor %08x at offset %zu in %s", id,
                              tgb_tl_cursor_at(&r->c) - 4, what);
    }
    if (t->kind == TGB_TL_OBJECT && c->type != t->type) {
        tgb_tl_describe(what, sizeof(what), w, t);
        return tgb_tl_fail_at(r->c.err, TGB_ERR_TL_WRONG_TYPE, tgb_tl_cursor_at(&r->c) - 4,
                              "%s at offset %zu where %s (%s) belongs", c->name,
                              tgb_tl_cursor_at(&r->c) - 4, what, t->type->name);
    }
    return decode_body(r, c, slot);
}

static int decode_vector(struct reader *r, const tgb_tl_typeref *t, tgb_tl_vector *v,
                         tgb_tl_where w)
{
    if (t->kind == TGB_TL_VECTOR) {
        uint32_t id = 0;
        int rc = tgb_tl_cursor_id(&r->c, &id, w, t);
        if (rc)
            return rc;
        if (id != TGB_TL_ID_VECTOR) {
            char what[128];
            tgb_tl_describe(what, sizeof(what), w, t);
            return tgb_tl_fail_at(r->c.err, TGB_ERR_TL_WRONG_TYPE, tgb_tl_cursor_at(&r->c) - 4,
                                  "%08x at offset %zu where a Vector belongs (%s)", id,
                                  tgb_tl_cursor_at(&r->c) - 4, what);
        }
    }
    if (tgb_tl_cursor_left(&r->c) < 4)
        return tgb_tl_cursor_truncated(&r->c, 4, w, t);
    uint32_t count = tgb_le32(r->c.p);
    r->c.p += 4;
    const tgb_tl_typeref *e = t->elem;
    /* Elements that take no bytes (none in real schemas) still count as one. */
    size_t min = e->min_size ? e->min_size : 1;
    if (count > tgb_tl_cursor_left(&r->c) / min) {
        char what[128];
        tgb_tl_describe(what, sizeof(what), w, t);
        return tgb_tl_fail_at(r->c.err, TGB_ERR_TL_TRUNCATED, tgb_tl_cursor_at(&r->c) - 4,
                              "truncated at offset %zu: a vector of %u in %s cannot fit in the %zu "
                              "bytes left",
                              tgb_tl_cursor_at(&r->c) - 4, count, what, tgb_tl_cursor_left(&r->c));
    }
    v->count = 0;
    v->items = NULL;
    if (!count)
        return 0;
    size_t size = tgb_tl_value_size(e);
    uint8_t *items = tgb_arena_alloc(r->c.arena, size * count);
    if (!items)
        return tgb_tl_cursor_no_memory(&r->c);
    memset(items, 0, size * count);
    v->items = items;
    for (uint32_t i = 0; i < count; i++) {
        int rc = decode_value(r, e, items + size * i, w);
        if (rc)
            return rc;
        v->count = i + 1;
    }
    return 0;
}

static int decode_value(struct reader *r, const tgb_tl_typeref *t, void *slot, tgb_tl_where w)
{
    switch ((tgb_tl_kind)t->kind) {
    case TGB_TL_INT:
    case TGB_TL_FLAGS:
        if (tgb_tl_cursor_left(&r->c) < 4)
            return tgb_tl_cursor_truncated(&r->c, 4, w, t);
        memcpy(slot, &(uint32_t){tgb_le32(r->c.p)}, 4);
        r->c.p += 4;
        return 0;
    case TGB_TL_LONG:
    case TGB_TL_DOUBLE:
        if (tgb_tl_cursor_left(&r->c) < 8)
            return tgb_tl_cursor_truncated(&r->c, 8, w, t);
        memcpy(slot, &(uint64_t){tgb_le64(r->c.p)}, 8);
        r->c.p += 8;
        return 0;
    case TGB_TL_INT128:
    case TGB_TL_INT256: {
        size_t n = t->kind == TGB_TL_INT128 ? 16 : 32;
        if (tgb_tl_cursor_left(&r->c) < n)
            return tgb_tl_cursor_truncated(&r->c, n, w, t);
        memcpy(slot, r->c.p, n);
        r->c.p += n;
        return 0;
    }
    case TGB_TL_STRING: {
        tgb_tl_string *s = slot;
        return tgb_tl_cursor_string(&r->c, &s->data, &s->len, w, t);
    }
    case TGB_TL_BYTES: {
        tgb_tl_bytes *b = slot;
        const char *data = NULL;
        int rc = tgb_tl_cursor_string(&r->c, &data, &b->len, w, t);
        b->data = (const uint8_t *)data;
        return rc;
    }
    case TGB_TL_BOOL: return tgb_tl_cursor_bool(&r->c, (bool *)slot, w, t);
    case TGB_TL_OBJECT:
    case TGB_TL_ANY: return decode_boxed(r, t, slot, w);
    case TGB_TL_BARE: return decode_body(r, t->ctor, slot);
    case TGB_TL_VECTOR:
    case TGB_TL_BARE_VECTOR: return decode_vector(r, t, slot, w);
    case TGB_TL_TRUE: return 0;
    }
    return tgb_tl_fail_at(r->c.err, TGB_ERR_INVALID, 0, "bad type kind %d", t->kind);
}

int tgb_tl_decode(const tgb_tl_schema *schema, tgb_arena *arena, const tgb_tl_typeref *type,
                  const uint8_t *data, size_t len, void *slot, size_t *consumed, tgb_tl_error *err)
{
    if (!schema || !arena || !type || !slot || (!data && len))
        return tgb_tl_fail_at(err, TGB_ERR_INVALID, 0, "invalid argument");
    if (!schema->has_structs)
        return tgb_tl_fail_at(err, TGB_ERR_INVALID, 0, "schema %s has no C structs", schema->name);
    static const uint8_t nothing[1];
    const uint8_t *in = data ? data : nothing;
    struct reader r = {{in, in, in + len, arena, err, 0}, schema};
    int rc = decode_value(&r, type, slot, (tgb_tl_where){NULL, NULL});
    if (rc)
        return rc;
    size_t at = tgb_tl_cursor_at(&r.c);
    if (consumed)
        *consumed = at;
    else if (at != len)
        return tgb_tl_fail_at(err, TGB_ERR_TL_TRAILING, at,
                              "%zu bytes left after the object at offset %zu", len - at, at);
    return 0;
}

int tgb_tl_decode_object(const tgb_tl_schema *schema, tgb_arena *arena, const tgb_tl_type *type,
                         const uint8_t *data, size_t len, tl_object **out, size_t *consumed,
                         tgb_tl_error *err)
{
    tgb_tl_typeref t = {type ? TGB_TL_OBJECT : TGB_TL_ANY, 4, type, NULL, NULL};
    *out = NULL;
    return tgb_tl_decode(schema, arena, &t, data, len, out, consumed, err);
}

/* ------------------------------------------------------------------ encoder */

struct writer {
    tgb_buf *out;
    tgb_tl_error *err;
    int depth;
};

static int write_failed(struct writer *w, int code)
{
    return tgb_tl_fail_at(w->err, code, w->out->len, "output buffer: %s", tgb_strerror(code));
}

/* Room for n more bytes at the end of the output; returns where they start. */
static inline uint8_t *room(struct writer *w, size_t n, int *rc)
{
    *rc = tgb_buf_reserve(w->out, n);
    if (*rc) {
        *rc = write_failed(w, *rc);
        return NULL;
    }
    uint8_t *p = w->out->data + w->out->len;
    w->out->len += n;
    return p;
}

static inline int put32(struct writer *w, uint32_t v)
{
    int rc;
    uint8_t *p = room(w, 4, &rc);
    if (p)
        tgb_put_le32(p, v);
    return rc;
}

static inline int put64(struct writer *w, uint64_t v)
{
    int rc;
    uint8_t *p = room(w, 8, &rc);
    if (p)
        tgb_put_le64(p, v);
    return rc;
}

static int put_string(struct writer *w, const void *data, size_t len)
{
    if (len >= (1u << 24))
        return tgb_tl_fail_at(w->err, TGB_ERR_TL_BAD_STRING, w->out->len,
                              "a string of %zu bytes is longer than TL allows (16 MiB - 1)", len);
    if (len && !data)
        return tgb_tl_fail_at(w->err, TGB_ERR_TL_MISSING, w->out->len,
                              "a string of %zu bytes has no data", len);
    size_t header = len < 254 ? 1 : 4;
    size_t total = (header + len + 3) & ~(size_t)3;
    int rc;
    uint8_t *p = room(w, total, &rc);
    if (!p)
        return rc;
    if (header == 1) {
        p[0] = (uint8_t)len;
    } else {
        p[0] = 254;
        p[1] = (uint8_t)len;
        p[2] = (uint8_t)(len >> 8);
        p[3] = (uint8_t)(len >> 16);
    }
    if (len)
        memcpy(p + header, data, len);
    memset(p + header + len, 0, total - header - len);
    return 0;
}

static int encode_value(struct writer *w, const tgb_tl_typeref *t, const void *slot,
                        const tgb_tl_combinator *c, const tgb_tl_field *f);

static int missing(struct writer *w, const tgb_tl_combinator *c, const tgb_tl_field *f)
{
    if (c && f)
        return tgb_tl_fail_at(w->err, TGB_ERR_TL_MISSING, w->out->len, "%s.%s is NULL", c->name,
                              f->name);
    return tgb_tl_fail_at(w->err, TGB_ERR_TL_MISSING, w->out->len, "NULL object");
}

static int encode_body(struct writer *w, const void *object)
{
    const tl_object *o = object;
    const tgb_tl_combinator *c = o->desc;
    if (++w->depth > TGB_TL_MAX_DEPTH)
        return tgb_tl_fail_at(w->err, TGB_ERR_TL_TOO_DEEP, w->out->len,
                              "objects nested deeper than %d (%s)", TGB_TL_MAX_DEPTH, c->name);
    const uint8_t *base = object;
    const tgb_tl_field *f = c->fields;
    for (uint16_t i = 0; i < c->nfields; i++, f++) {
        if (f->flag_field >= 0) {
            uint32_t flags;
            memcpy(&flags, base + c->fields[f->flag_field].offset, 4);
            if (!(flags >> f->flag_bit & 1) || f->kind == TGB_TL_TRUE)
                continue;
        }
        int rc = encode_value(w, f->type, base + f->offset, c, f);
        if (rc)
            return rc;
    }
    w->depth--;
    return 0;
}

static int encode_value(struct writer *w, const tgb_tl_typeref *t, const void *slot,
                        const tgb_tl_combinator *c, const tgb_tl_field *f)
{
    switch ((tgb_tl_kind)t->kind) {
    case TGB_TL_INT:
    case TGB_TL_FLAGS: {
        uint32_t v;
        memcpy(&v, slot, 4);
        return put32(w, v);
    }
    case TGB_TL_LONG:
    case TGB_TL_DOUBLE: {
        uint64_t v;
        memcpy(&v, slot, 8);
        return put64(w, v);
    }
    case TGB_TL_INT128:
    case TGB_TL_INT256: {
        size_t n = t->kind == TGB_TL_INT128 ? 16 : 32;
        int rc;
        uint8_t *p = room(w, n, &rc);
        if (p)
            memcpy(p, slot, n);
        return rc;
    }
    case TGB_TL_STRING: {
        const tgb_tl_string *s = slot;
        return put_string(w, s->data, s->len);
    }
    case TGB_TL_BYTES: {
        const tgb_tl_bytes *b = slot;
        return put_string(w, b->data, b->len);
    }
    case TGB_TL_BOOL:
        return put32(w, *(const bool *)slot ? TGB_TL_ID_BOOL_TRUE : TGB_TL_ID_BOOL_FALSE);
    case TGB_TL_OBJECT:
    case TGB_TL_ANY: {
        const tl_object *o = *(tl_object *const *)slot;
        if (!o || !o->desc)
            return missing(w, c, f);
        if (t->kind == TGB_TL_OBJECT && o->desc->type != t->type)
            return tgb_tl_fail_at(w->err, TGB_ERR_TL_WRONG_TYPE, w->out->len, "%s where %s belongs",
                                  o->desc->name, t->type->name);
        int rc = put32(w, o->desc->id);
        return rc ? rc : encode_body(w, o);
    }
    case TGB_TL_BARE: {
        const tl_object *o = *(tl_object *const *)slot;
        if (!o)
            return missing(w, c, f);
        if (o->desc != t->ctor)
            return tgb_tl_fail_at(
                w->err, TGB_ERR_TL_WRONG_TYPE, w->out->len, "%s where bare %s belongs",
                o->desc ? o->desc->name : "an object without descriptor", t->ctor->name);
        return encode_body(w, o);
    }
    case TGB_TL_VECTOR:
    case TGB_TL_BARE_VECTOR: {
        const tgb_tl_vector *v = slot;
        if (v->count && !v->items)
            return missing(w, c, f);
        int rc = 0;
        if (t->kind == TGB_TL_VECTOR)
            rc = put32(w, TGB_TL_ID_VECTOR);
        if (!rc)
            rc = put32(w, v->count);
        size_t size = tgb_tl_value_size(t->elem);
        for (uint32_t i = 0; !rc && i < v->count; i++)
            rc = encode_value(w, t->elem, (const uint8_t *)v->items + size * i, c, f);
        return rc;
    }
    case TGB_TL_TRUE: return 0;
    }
    return tgb_tl_fail_at(w->err, TGB_ERR_INVALID, w->out->len, "bad type kind %d", t->kind);
}

int tgb_tl_encode(tgb_buf *out, const tgb_tl_typeref *type, const void *slot, tgb_tl_error *err)
{
    if (!out || !type || !slot)
        return tgb_tl_fail_at(err, TGB_ERR_INVALID, 0, "invalid argument");
    struct writer w = {out, err, 0};
    return encode_value(&w, type, slot, NULL, NULL);
}

int tgb_tl_encode_object(tgb_buf *out, const void *object, tgb_tl_error *err)
{
    static const tgb_tl_typeref any = {TGB_TL_ANY, 4, NULL, NULL, NULL};
    return tgb_tl_encode(out, &any, &object, err);
}

int tgb_tl_encode_bare(tgb_buf *out, const void *object, tgb_tl_error *err)
{
    const tl_object *o = object;
    if (!out || !o || !o->desc)
        return tgb_tl_fail_at(err, TGB_ERR_INVALID, 0, "invalid argument");
    struct writer w = {out, err, 0};
    return encode_body(&w, o);
}
