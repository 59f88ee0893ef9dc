/*
 * The older-layer transcoder: reads and writes the TL of another layer (their
 * descriptors: ids, field order, flag bits) with the C structs of ours. See
 * tl_transcode.h for the rules; this file is the generic codec (tl_codec.c) walking two
 * descriptor trees at once, the wire one and the struct one.
 *
 * Telegram keeps every layer's schema and answers each client in the layer it named in
 * invokeWithLayer (https://core.telegram.org/api/invoking#layers); what changes between
 * layers is ids (a constructor gets a new id whenever a field is added), field lists,
 * flag bits and a few kinds (int ids became long in layer 133). Names survive, so
 * names are what we pair.
 *
 * The map is built once per layer pair: per combinator of each side, indexed by its
 * slot in the schema's by_id table (the tables are only guaranteed to be pointers, not
 * arrays, and by_id is the one index both an id and a descriptor lead to), the slot of
 * its namesake and, for each of its fields, the index of the compatible same-named
 * field there. Per boxed type: its namesake and the constructors the rules fall back
 * to. After that, transcoding costs one by_id probe per object more than the codec.
 *
 * Decoding keeps the codec's guarantees: every read bounds-checked, vector counts
 * checked against the bytes left before anything is allocated, nesting capped at
 * TGB_TL_MAX_DEPTH, and nothing allocated but from the caller's capped arena.
 */
#include "tl/tl_transcode.h"

#include "tl/tl_cursor.h"

#include <tgbotapi/tgbotapi.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Flag words (`#` fields) one combinator may have; real schemas have at most 2. */
#define MAX_FLAG_WORDS 8

/* Internal result of resolving an object: the other layer has nothing to write. */
#define NO_EQUIVALENT 1

/* ------------------------------------------------------------------ the map */

struct type_info {
    const tgb_tl_type *type;
    const tgb_tl_type *peer;              /* the namesake on the other side, or NULL */
    const tgb_tl_combinator *zero;        /* the value a required field gets if missing */
    const tgb_tl_combinator *unsupported; /* "...Unsupported" of this type, or NULL */
    const tgb_tl_combinator *empty;       /* "...Empty" of this type, or NULL */
};

/* One schema's half of a map. */
struct side {
    const tgb_tl_schema *schema;
    uint32_t nslots;     /* schema->id_mask + 1 */
    int32_t *peer;       /* by slot: the namesake's slot on the other side, or -1 */
    uint32_t *fields;    /* by slot: where its fields start in field_peer */
    int16_t *field_peer; /* per field: the compatible same-named field there, or -1 */
    struct type_info *types;
    uint32_t *type_hash; /* pointer hash: index + 1, 0 = empty */
    uint32_t type_mask;
};

struct tgb_tl_layer_map {
    struct side ours, theirs;
    tgb_tl_fallback_fn fallback;
    void *fallback_data;
};

/* The slot of `c` in its schema's by_id table, or -1 if the schema does not hold it. */
static int32_t slot_of(const tgb_tl_schema *s, const tgb_tl_combinator *c)
{
    uint32_t h = c->id & s->id_mask;
    const tgb_tl_combinator *x;
    while ((x = s->by_id[h]) != NULL) {
        if (x == c)
            return (int32_t)h;
        h = (h + 1) & s->id_mask;
    }
    return -1;
}

/* The namesake of `c` (a combinator of `own`'s schema) on the other side, or NULL. */
static const tgb_tl_combinator *peer_of(const struct side *own, const struct side *other,
                                        const tgb_tl_combinator *c)
{
    int32_t s = slot_of(own->schema, c);
    if (s < 0 || own->peer[s] < 0)
        return NULL;
    return other->schema->by_id[own->peer[s]];
}

static uint32_t hash_ptr(const void *p)
{
    uint64_t v = (uint64_t)(uintptr_t)p;
    v ^= v >> 29;
    v *= 0xbf58476d1ce4e5b9ull;
    return (uint32_t)(v ^ (v >> 32));
}

static uint32_t hash_name(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s)
        h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

static const struct type_info *type_info_of(const struct side *sd, const tgb_tl_type *t)
{
    if (!t)
        return NULL;
    uint32_t h = hash_ptr(t) & sd->type_mask;
    uint32_t v;
    while ((v = sd->type_hash[h]) != 0) {
        if (sd->types[v - 1].type == t)
            return &sd->types[v - 1];
        h = (h + 1) & sd->type_mask;
    }
    return NULL;
}

/*
 * Whether a value of `a` can become a value of `b`. Besides equal kinds and types of
 * the same name: int/long/double convert (layer 133 turned int ids into long ids;
 * documentAttributeVideo.duration became a double), string and bytes are the same
 * bytes on the wire, Vector and vector differ only by the id, and Bool and `true`
 * carry the same yes/no (updatePeerBlocked.blocked was a Bool before it became a flag).
 */
static int compatible(const tgb_tl_typeref *a, const tgb_tl_typeref *b)
{
    int ka = a->kind, kb = b->kind;
    if (ka == TGB_TL_FLAGS || kb == TGB_TL_FLAGS)
        return 0; /* flag words are recomputed, never copied */
    if (ka == kb) {
        switch (ka) {
        case TGB_TL_OBJECT: return strcmp(a->type->name, b->type->name) == 0;
        case TGB_TL_BARE: return strcmp(a->ctor->name, b->ctor->name) == 0;
        case TGB_TL_VECTOR:
        case TGB_TL_BARE_VECTOR: return compatible(a->elem, b->elem);
        default: return 1;
        }
    }
#define NUMBER(k) ((k) == TGB_TL_INT || (k) == TGB_TL_LONG || (k) == TGB_TL_DOUBLE)
#define TEXT(k)   ((k) == TGB_TL_STRING || (k) == TGB_TL_BYTES)
#define VEC(k)    ((k) == TGB_TL_VECTOR || (k) == TGB_TL_BARE_VECTOR)
#define YESNO(k)  ((k) == TGB_TL_BOOL || (k) == TGB_TL_TRUE)
    if ((NUMBER(ka) && NUMBER(kb)) || (TEXT(ka) && TEXT(kb)) || (YESNO(ka) && YESNO(kb)))
        return 1;
    if (VEC(ka) && VEC(kb))
        return compatible(a->elem, b->elem);
#undef NUMBER
#undef TEXT
#undef VEC
#undef YESNO
    return 0;
}

/* The compatible field named like `f` in `other`, or -1. */
static int find_field(const tgb_tl_combinator *other, const tgb_tl_field *f)
{
    for (int k = 0; k < other->nfields; k++)
        if (strcmp(other->fields[k].name, f->name) == 0)
            return compatible(other->fields[k].type, f->type) ? k : -1;
    return -1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int required_fields(const tgb_tl_combinator *c)
{
    int n = 0;
    for (int i = 0; i < c->nfields; i++)
        n += c->fields[i].flag_field < 0 && c->fields[i].kind != TGB_TL_FLAGS;
    return n;
}

/* Whether every required field of `c` has a default value yet. */
static int constructible(const struct side *sd, const tgb_tl_combinator *c, int depth)
{
    if (depth > 4)
        return 0;
    for (int i = 0; i < c->nfields; i++) {
        const tgb_tl_field *f = &c->fields[i];
        if (f->flag_field >= 0)
            continue;
        if (f->kind == TGB_TL_ANY)
            return 0;
        if (f->kind == TGB_TL_OBJECT) {
            const struct type_info *ti = type_info_of(sd, f->type->type);
            if (!ti || !ti->zero)
                return 0;
        }
        if (f->kind == TGB_TL_BARE && !constructible(sd, f->type->ctor, depth + 1))
            return 0;
    }
    return 1;
}

/*
 * The default constructor of every type: its "...Empty" one if it can be built, else
 * the one with the fewest required fields. Types are settled in rounds, each using only
 * types settled before, so defaults never refer to themselves and building one ends.
 */
static void choose_defaults(struct side *sd)
{
    int changed = 1;
    while (changed) {
        changed = 0;
        for (uint32_t t = 0; t < sd->schema->ntypes; t++) {
            struct type_info *ti = &sd->types[t];
            if (ti->zero)
                continue;
            const tgb_tl_combinator *best = NULL;
            for (int k = 0; k < ti->type->nctors; k++) {
                const tgb_tl_combinator *c = ti->type->ctors[k];
                if (!constructible(sd, c, 0))
                    continue;
                if (ends_with(c->name, "Empty")) {
                    best = c;
                    break;
                }
                if (!best || required_fields(c) < required_fields(best))
                    best = c;
            }
            if (best) {
                ti->zero = best;
                changed = 1;
            }
        }
    }
}

static int side_init(struct side *sd, const tgb_tl_schema *s)
{
    sd->schema = s;
    sd->nslots = s->id_mask + 1;
    uint32_t nfields = 0;
    for (uint32_t i = 0; i < sd->nslots; i++) {
        const tgb_tl_combinator *c = s->by_id[i];
        if (!c)
            continue;
        nfields += c->nfields;
        int words = 0;
        for (int k = 0; k < c->nfields; k++)
            words += c->fields[k].kind == TGB_TL_FLAGS;
        if (words > MAX_FLAG_WORDS)
            return TGB_ERR_INVALID;
    }
    uint32_t tsize = 16;
    while (tsize < s->ntypes * 2)
        tsize <<= 1;
    sd->type_mask = tsize - 1;
    sd->peer = malloc(sizeof(*sd->peer) * sd->nslots);
    sd->fields = calloc(sd->nslots, sizeof(*sd->fields));
    sd->field_peer = malloc(sizeof(*sd->field_peer) * (nfields ? nfields : 1));
    sd->types = calloc(s->ntypes ? s->ntypes : 1, sizeof(*sd->types));
    sd->type_hash = calloc(tsize, sizeof(*sd->type_hash));
    if (!sd->peer || !sd->fields || !sd->field_peer || !sd->types || !sd->type_hash)
        return TGB_ERR_NOMEM;
    uint32_t next = 0;
    for (uint32_t i = 0; i < sd->nslots; i++) {
        sd->peer[i] = -1;
        const tgb_tl_combinator *c = s->by_id[i];
        if (!c)
            continue;
        sd->fields[i] = next;
        for (int k = 0; k < c->nfields; k++)
            sd->field_peer[next + k] = -1;
        next += c->nfields;
    }
    for (uint32_t t = 0; t < s->ntypes; t++) {
        const tgb_tl_type *type = s->types[t];
        struct type_info *ti = &sd->types[t];
        ti->type = type;
        for (int k = 0; k < type->nctors; k++) {
            if (!ti->unsupported && ends_with(type->ctors[k]->name, "Unsupported"))
                ti->unsupported = type->ctors[k];
            if (!ti->empty && ends_with(type->ctors[k]->name, "Empty"))
                ti->empty = type->ctors[k];
        }
        uint32_t h = hash_ptr(type) & sd->type_mask;
        while (sd->type_hash[h])
            h = (h + 1) & sd->type_mask;
        sd->type_hash[h] = t + 1;
    }
    choose_defaults(sd);
    return 0;
}

static void side_free(struct side *sd)
{
    free(sd->peer);
    free(sd->fields);
    free(sd->field_peer);
    free(sd->types);
    free(sd->type_hash);
}

/* Pairs combinators and types by name, through a name hash over theirs. */
static int pair_by_name(tgb_tl_layer_map *m)
{
    struct side *o = &m->ours, *t = &m->theirs;
    uint32_t size = 16;
    while (size < t->nslots * 2 || size < t->schema->ntypes * 2)
        size <<= 1;
    int32_t *table = malloc(sizeof(*table) * size);
    if (!table)
        return TGB_ERR_NOMEM;
    uint32_t mask = size - 1;

    for (uint32_t i = 0; i < size; i++)
        table[i] = -1;
    for (uint32_t i = 0; i < t->nslots; i++) {
        const tgb_tl_combinator *c = t->schema->by_id[i];
        if (!c)
            continue;
        uint32_t h = hash_name(c->name) & mask;
        while (table[h] >= 0)
            h = (h + 1) & mask;
        table[h] = (int32_t)i;
    }
    for (uint32_t i = 0; i < o->nslots; i++) {
        const tgb_tl_combinator *c = o->schema->by_id[i];
        if (!c)
            continue;
        const tgb_tl_combinator *p = NULL;
        int32_t ps = -1;
        for (uint32_t h = hash_name(c->name) & mask; table[h] >= 0; h = (h + 1) & mask) {
            const tgb_tl_combinator *x = t->schema->by_id[table[h]];
            if (x->is_function == c->is_function && strcmp(x->name, c->name) == 0) {
                p = x;
                ps = table[h];
                break;
            }
        }
        if (!p)
            continue;
        o->peer[i] = ps;
        t->peer[ps] = (int32_t)i;
        for (int k = 0; k < c->nfields; k++)
            o->field_peer[o->fields[i] + k] = (int16_t)find_field(p, &c->fields[k]);
        for (int k = 0; k < p->nfields; k++)
            t->field_peer[t->fields[ps] + k] = (int16_t)find_field(c, &p->fields[k]);
    }

    for (uint32_t i = 0; i < size; i++)
        table[i] = -1;
    for (uint32_t i = 0; i < t->schema->ntypes; i++) {
        uint32_t h = hash_name(t->schema->types[i]->name) & mask;
        while (table[h] >= 0)
            h = (h + 1) & mask;
        table[h] = (int32_t)i;
    }
    for (uint32_t i = 0; i < o->schema->ntypes; i++) {
        const tgb_tl_type *ty = o->schema->types[i];
        for (uint32_t h = hash_name(ty->name) & mask; table[h] >= 0; h = (h + 1) & mask) {
            if (strcmp(t->schema->types[table[h]]->name, ty->name) == 0) {
                o->types[i].peer = t->types[table[h]].type;
                t->types[table[h]].peer = ty;
                break;
            }
        }
    }
    free(table);
    return 0;
}

int tgb_tl_layer_map_new(tgb_tl_layer_map **out, const tgb_tl_schema *ours,
                         const tgb_tl_schema *theirs)
{
    if (!out)
        return TGB_ERR_INVALID;
    *out = NULL;
    if (!ours || !theirs || !ours->has_structs)
        return TGB_ERR_INVALID;
    tgb_tl_layer_map *m = calloc(1, sizeof(*m));
    if (!m)
        return TGB_ERR_NOMEM;
    int rc = side_init(&m->ours, ours);
    if (!rc)
        rc = side_init(&m->theirs, theirs);
    if (!rc)
        rc = pair_by_name(m);
    if (rc) {
        tgb_tl_layer_map_del(m);
        return rc;
    }
    *out = m;
    return 0;
}

void tgb_tl_layer_map_del(tgb_tl_layer_map *m)
{
    if (!m)
        return;
    side_free(&m->ours);
    side_free(&m->theirs);
    free(m);
}

void tgb_tl_layer_map_set_fallback(tgb_tl_layer_map *m, tgb_tl_fallback_fn fn, void *user_data)
{
    m->fallback = fn;
    m->fallback_data = user_data;
}

int tgb_tl_layer_map_layer(const tgb_tl_layer_map *m)
{
    return m->theirs.schema->layer;
}

/* ------------------------------------------------------------------ shared helpers */

/* The bit of our field `f` in our object `obj` of constructor `c`. */
static inline int our_bit(const uint8_t *obj, const tgb_tl_combinator *c, const tgb_tl_field *f)
{
    uint32_t word;
    memcpy(&word, obj + c->fields[f->flag_field].offset, 4);
    return word >> f->flag_bit & 1;
}

static inline void set_our_bit(uint8_t *obj, const tgb_tl_combinator *c, const tgb_tl_field *f)
{
    uint32_t word;
    memcpy(&word, obj + c->fields[f->flag_field].offset, 4);
    word |= 1u << f->flag_bit;
    memcpy(obj + c->fields[f->flag_field].offset, &word, 4);
}

/* A number of one kind as another: ints wrap (as a 64-bit id did in a 32-bit field),
 * doubles saturate (converting an out-of-range double is undefined in C). */
typedef union number {
    int32_t i;
    int64_t l;
    double d;
} number;

static int64_t from_double(double v, int64_t lo, int64_t hi)
{
    if (isnan(v))
        return 0;
    if (v <= (double)lo)
        return lo;
    if (v >= (double)hi)
        return hi;
    return (int64_t)v;
}

static number convert(number v, int from, int to)
{
    number r;
    if (from == to)
        return v;
    switch (to) {
    case TGB_TL_INT:
        r.i = from == TGB_TL_LONG ? (int32_t)(uint32_t)(uint64_t)v.l
                                  : (int32_t)from_double(v.d, INT32_MIN, INT32_MAX);
        break;
    case TGB_TL_LONG:
        r.l = from == TGB_TL_INT ? v.i : from_double(v.d, INT64_MIN, INT64_MAX);
        break;
    default: r.d = from == TGB_TL_INT ? (double)v.i : (double)v.l; break;
    }
    return r;
}

static number load_number(int kind, const void *slot)
{
    number v = {0};
    if (kind == TGB_TL_INT)
        memcpy(&v.i, slot, 4);
    else if (kind == TGB_TL_LONG)
        memcpy(&v.l, slot, 8);
    else
        memcpy(&v.d, slot, 8);
    return v;
}

static void store_number(int kind, void *slot, number v)
{
    if (kind == TGB_TL_INT)
        memcpy(slot, &v.i, 4);
    else if (kind == TGB_TL_LONG)
        memcpy(slot, &v.l, 8);
    else
        memcpy(slot, &v.d, 8);
}

/* string and bytes are the same on the wire; in C they are two structs of one layout,
 * each read and written as itself. */
static void load_text(int kind, const void *slot, const void **data, size_t *len)
{
    if (kind == TGB_TL_BYTES) {
        const tgb_tl_bytes *b = slot;
        *data = b->data;
        *len = b->len;
    } else {
        const tgb_tl_string *s = slot;
        *data = s->data;
        *len = s->len;
    }
}

static void store_text(int kind, void *slot, const char *data, size_t len)
{
    if (kind == TGB_TL_BYTES) {
        tgb_tl_bytes *b = slot;
        b->data = (const uint8_t *)data;
        b->len = len;
    } else {
        tgb_tl_string *s = slot;
        s->data = data;
        s->len = len;
    }
}

/*
 * Builds in tmp[0..n) the typeref of theirs that corresponds to `ours`, for the
 * top-level calls, whose type is given as one of ours (fields have both sides' typerefs
 * in their descriptors).
 */
static int translate(const tgb_tl_layer_map *m, const tgb_tl_typeref *ours, tgb_tl_typeref *tmp,
                     int n, tgb_tl_error *err)
{
    if (n <= 0)
        return tgb_tl_fail_at(err, TGB_ERR_INVALID, 0, "type nested too deeply to translate");
    *tmp = *ours;
    switch (ours->kind) {
    case TGB_TL_OBJECT: {
        const struct type_info *ti = type_info_of(&m->ours, ours->type);
        if (!ti || !ti->peer)
            return tgb_tl_fail_at(err, TGB_ERR_TL_UNKNOWN_ID, 0,
                                  "type %s does not exist in layer %d", ours->type->name,
                                  m->theirs.schema->layer);
        tmp->type = ti->peer;
        return 0;
    }
    case TGB_TL_BARE: {
        const tgb_tl_combinator *p = peer_of(&m->ours, &m->theirs, ours->ctor);
        if (!p)
            return tgb_tl_fail_at(err, TGB_ERR_TL_UNKNOWN_ID, 0, "%s does not exist in layer %d",
                                  ours->ctor->name, m->theirs.schema->layer);
        tmp->ctor = p;
        tmp->min_size = p->min_size;
        return 0;
    }
    case TGB_TL_VECTOR:
    case TGB_TL_BARE_VECTOR:
        tmp->elem = tmp + 1;
        return translate(m, ours->elem, tmp + 1, n - 1, err);
    default: return 0;
    }
}

/* ------------------------------------------------------------------ decoding theirs */

struct reader {
    tgb_tl_cursor c;
    const tgb_tl_layer_map *m;
};

/* A TL string, into our string or bytes `slot` of kind `kind`; only checked and skipped
 * when slot is NULL. */
static int read_string(struct reader *r, int kind, void *slot, tgb_tl_where w,
                       const tgb_tl_typeref *t)
{
    const char *data = NULL;
    size_t n = 0;
    int rc = tgb_tl_cursor_string(&r->c, slot ? &data : NULL, &n, w, t);
    if (!rc && slot)
        store_text(kind, slot, data, n);
    return rc;
}

static int make_default(struct reader *r, const tgb_tl_combinator *c, void **out);

/*
 * The value a required field of ours gets when their layer has none: "" for strings,
 * the type's default constructor for objects; the zeroed slot is already right for
 * everything else.
 */
static int fill_default(struct reader *r, const tgb_tl_field *f, uint8_t *slot)
{
    switch (f->kind) {
    case TGB_TL_STRING:
    case TGB_TL_BYTES: {
        const void *data;
        size_t len;
        load_text(f->kind, slot, &data, &len);
        if (!data)
            store_text(f->kind, slot, "", 0);
        return 0;
    }
    case TGB_TL_OBJECT: {
        if (*(void **)slot)
            return 0;
        const struct type_info *ti = type_info_of(&r->m->ours, f->type->type);
        if (!ti || !ti->zero)
            return tgb_tl_fail_at(r->c.err, TGB_ERR_TL_MISSING, tgb_tl_cursor_at(&r->c),
                                  "no default value of %s for a field layer %d lacks",
                                  f->type->type->name, r->m->theirs.schema->layer);
        return make_default(r, ti->zero, (void **)slot);
    }
    case TGB_TL_BARE: return *(void **)slot ? 0 : make_default(r, f->type->ctor, (void **)slot);
    default: return 0;
    }
}

static int make_default(struct reader *r, const tgb_tl_combinator *c, void **out)
{
    if (++r->c.depth > TGB_TL_MAX_DEPTH)
        return tgb_tl_cursor_too_deep(&r->c, c);
    uint8_t *obj = tgb_arena_zalloc(r->c.arena, c->size);
    if (!obj)
        return tgb_tl_cursor_no_memory(&r->c);
    ((tl_object *)obj)->desc = c;
    for (int i = 0; i < c->nfields; i++) {
        if (c->fields[i].flag_field >= 0)
            continue;
        int rc = fill_default(r, &c->fields[i], obj + c->fields[i].offset);
        if (rc)
            return rc;
    }
    r->c.depth--;
    *out = obj;
    return 0;
}

static int read_value(struct reader *r, const tgb_tl_typeref *tt, const tgb_tl_typeref *ot,
                      void *slot, tgb_tl_where w);

static inline uint32_t word_of(const uint16_t *idx, const uint32_t *val, int n, int field)
{
    for (int k = 0; k < n; k++)
        if (idx[k] == field)
            return val[k];
    return 0;
}

/*
 * The body of their constructor `tc`, into a new object of our constructor `oc` (its
 * namesake), or only checked and skipped when oc is NULL: a field ours lacks is still
 * read, with their descriptors, so that what follows it is found.
 */
static int read_body(struct reader *r, const tgb_tl_combinator *tc, const tgb_tl_combinator *oc,
                     void **out)
{
    if (++r->c.depth > TGB_TL_MAX_DEPTH)
        return tgb_tl_cursor_too_deep(&r->c, tc);
    /* Their body can't be shorter than this: refuse before allocating ours. */
    if (tc->min_size > tgb_tl_cursor_left(&r->c)) {
        r->c.depth--;
        return tgb_tl_cursor_truncated(&r->c, tc->min_size, (tgb_tl_where){tc, NULL}, tc->result);
    }
    uint8_t *obj = NULL;
    const int16_t *map = NULL;
    if (oc) {
        obj = tgb_arena_zalloc(r->c.arena, oc->size);
        if (!obj)
            return tgb_tl_cursor_no_memory(&r->c);
        ((tl_object *)obj)->desc = oc;
        int32_t s = slot_of(r->m->theirs.schema, tc);
        map = &r->m->theirs.field_peer[r->m->theirs.fields[s]];
    }
    uint16_t word_idx[MAX_FLAG_WORDS];
    uint32_t word_val[MAX_FLAG_WORDS];
    int nwords = 0;
    for (int j = 0; j < tc->nfields; j++) {
        const tgb_tl_field *tf = &tc->fields[j];
        const tgb_tl_field *of = map && map[j] >= 0 ? &oc->fields[map[j]] : NULL;
        tgb_tl_where w = {tc, tf};
        if (tf->flag_field >= 0) {
            uint32_t word = word_of(word_idx, word_val, nwords, tf->flag_field);
            if (!(word >> tf->flag_bit & 1))
                continue; /* absent: ours stays absent, or gets its default below */
            if (tf->kind == TGB_TL_TRUE) {
                if (of && of->kind == TGB_TL_BOOL)
                    *(bool *)(void *)(obj + of->offset) = true;
                if (of && of->flag_field >= 0)
                    set_our_bit(obj, oc, of);
                continue;
            }
        }
        if (tf->kind == TGB_TL_FLAGS) {
            if (tgb_tl_cursor_left(&r->c) < 4)
                return tgb_tl_cursor_truncated(&r->c, 4, w, tf->type);
            if (nwords < MAX_FLAG_WORDS) { /* checked when the map was built */
                word_idx[nwords] = (uint16_t)j;
                word_val[nwords++] = tgb_le32(r->c.p);
            }
            r->c.p += 4;
            continue;
        }
        if (of && of->kind == TGB_TL_TRUE) { /* their Bool, our flag */
            bool b = false;
            int rc = tgb_tl_cursor_bool(&r->c, &b, w, tf->type);
            if (rc)
                return rc;
            if (b && of->flag_field >= 0)
                set_our_bit(obj, oc, of);
            continue;
        }
        int rc = read_value(r, tf->type, of ? of->type : NULL, of ? obj + of->offset : NULL, w);
        if (rc)
            return rc;
        if (of && of->flag_field >= 0)
            set_our_bit(obj, oc, of);
    }
    if (oc) {
        /* Required fields their layer left empty get defaults, and so do conditional
         * ones whose bit another field set (one bit can stand for several fields). */
        for (int i = 0; i < oc->nfields; i++) {
            const tgb_tl_field *of = &oc->fields[i];
            if (of->flag_field >= 0 && (of->kind == TGB_TL_TRUE || !our_bit(obj, oc, of)))
                continue;
            int rc = fill_default(r, of, obj + of->offset);
            if (rc)
                return rc;
        }
    }
    r->c.depth--;
    if (out)
        *out = obj;
    return 0;
}

/* A boxed object of theirs: its id must be a constructor of `tt`, and its namesake one
 * of `ot` (when slot is not NULL; else the object is only skipped). */
static int read_boxed(struct reader *r, const tgb_tl_typeref *tt, const tgb_tl_typeref *ot,
                      void **slot, tgb_tl_where w)
{
    uint32_t id = 0;
    int rc = tgb_tl_cursor_id(&r->c, &id, w, tt);
    if (rc)
        return rc;
    size_t where_id = tgb_tl_cursor_at(&r->c) - 4;
    const tgb_tl_combinator *tc = tgb_tl_find_id(r->m->theirs.schema, id);
    char what[128];
    if (!tc) {
        tgb_tl_describe(what, sizeof(what), w, tt);
        if (id == TGB_TL_ID_VECTOR && tt->kind == TGB_TL_ANY)
            return tgb_tl_fail_at(r->c.err, TGB_ERR_TL_UNKNOWN_ID, where_id,
                                  "a Vector at offset %zu in %s cannot be decoded without its "
                                  "element type",
                                  where_id, what);
        return tgb_tl_fail_at(r->c.err, TGB_ERR_TL_UNKNOWN_ID, where_id,
                              "unknown constructor %08x of layer %d at offset %zu in %s", id,
                              r->m->theirs.schema->layer, where_id, what);
    }
    if (tt->kind == TGB_TL_OBJECT && tc->type != tt->type) {
        tgb_tl_describe(what, sizeof(what), w, tt);
        return tgb_tl_fail_at(r->c.err, TGB_ERR_TL_WRONG_TYPE, where_id,
                              "%s at offset %zu where %s (%s) belongs", tc->name, where_id, what,
                              tt->type->name);
    }
    if (!slot)
        return read_body(r, tc, NULL, NULL);
    const tgb_tl_combinator *oc = peer_of(&r->m->theirs, &r->m->ours, tc);
    if (!oc)
        return tgb_tl_fail_at(r->c.err, TGB_ERR_TL_UNKNOWN_ID, where_id,
                              "%s of layer %d at offset %zu has no equivalent in layer %d",
                              tc->name, r->m->theirs.schema->layer, where_id,
                              r->m->ours.schema->layer);
    if (ot->kind == TGB_TL_OBJECT && oc->type != ot->type) {
        tgb_tl_describe(what, sizeof(what), w, tt);
        return tgb_tl_fail_at(r->c.err, TGB_ERR_TL_WRONG_TYPE, where_id,
                              "%s at offset %zu is a %s in layer %d, where %s (%s) belongs",
                              tc->name, where_id, oc->type ? oc->type->name : "function",
                              r->m->ours.schema->layer, what, ot->type->name);
    }
    return read_body(r, tc, oc, slot);
}

static int read_vector(struct reader *r, const tgb_tl_typeref *tt, const tgb_tl_typeref *ot,
                       tgb_tl_vector *v, tgb_tl_where w)
{
    if (tt->kind == TGB_TL_VECTOR) {
        uint32_t id = 0;
        int rc = tgb_tl_cursor_id(&r->c, &id, w, tt);
        if (rc)
            return rc;
        if (id != TGB_TL_ID_VECTOR) {
            char what[128];
            tgb_tl_describe(what, sizeof(what), w, tt);
            return tgb_tl_fail_at(r->c.err, TGB_ERR_TL_WRONG_TYPE, tgb_tl_cursor_at(&r->c) - 4,
                                  "%08x at offset %zu where a Vector belongs (%s)", id,
                                  tgb_tl_cursor_at(&r->c) - 4, what);
        }
    }
    if (tgb_tl_cursor_left(&r->c) < 4)
        return tgb_tl_cursor_truncated(&r->c, 4, w, tt);
    uint32_t count = tgb_le32(r->c.p);
    r->c.p += 4;
    size_t min = tt->elem->min_size ? tt->elem->min_size : 1;
    if (count > tgb_tl_cursor_left(&r->c) / min) {
        char what[128];
        tgb_tl_describe(what, sizeof(what), w, tt);
        return tgb_tl_fail_at(r->c.err, TGB_ERR_TL_TRUNCATED, tgb_tl_cursor_at(&r->c) - 4,
                              "truncated at offset %zu: a vector of %u in %s cannot fit in the %zu "
                              "bytes left",
                              tgb_tl_cursor_at(&r->c) - 4, count, what, tgb_tl_cursor_left(&r->c));
    }
    if (!v) {
        for (uint32_t i = 0; i < count; i++) {
            int rc = read_value(r, tt->elem, NULL, NULL, w);
            if (rc)
                return rc;
        }
        return 0;
    }
    v->count = 0;
    v->items = NULL;
    if (!count)
        return 0;
    size_t size = tgb_tl_value_size(ot->elem);
    uint8_t *items = tgb_arena_zalloc(r->c.arena, size * count);
    if (!items)
        return tgb_tl_cursor_no_memory(&r->c);
    v->items = items;
    for (uint32_t i = 0; i < count; i++) {
        int rc = read_value(r, tt->elem, ot->elem, items + size * i, w);
        if (rc)
            return rc;
        v->count = i + 1;
    }
    return 0;
}

/* A value of their type `tt` into `slot`, a variable of our compatible type `ot`; or
 * only checked and skipped when slot is NULL. */
static int read_value(struct reader *r, const tgb_tl_typeref *tt, const tgb_tl_typeref *ot,
                      void *slot, tgb_tl_where w)
{
    switch ((tgb_tl_kind)tt->kind) {
    case TGB_TL_INT:
    case TGB_TL_FLAGS:
    case TGB_TL_LONG:
    case TGB_TL_DOUBLE: {
        size_t n = tt->kind == TGB_TL_INT || tt->kind == TGB_TL_FLAGS ? 4 : 8;
        if (tgb_tl_cursor_left(&r->c) < n)
            return tgb_tl_cursor_truncated(&r->c, n, w, tt);
        if (slot) {
            number v;
            if (n == 4)
                v.i = (int32_t)tgb_le32(r->c.p);
            else
                memcpy(&v, &(uint64_t){tgb_le64(r->c.p)}, 8);
            int from = tt->kind == TGB_TL_FLAGS ? TGB_TL_INT : tt->kind;
            int to = ot->kind == TGB_TL_FLAGS ? TGB_TL_INT : ot->kind;
            store_number(to, slot, convert(v, from, to));
        }
        r->c.p += n;
        return 0;
    }
    case TGB_TL_INT128:
    case TGB_TL_INT256: {
        size_t n = tt->kind == TGB_TL_INT128 ? 16 : 32;
        if (tgb_tl_cursor_left(&r->c) < n)
            return tgb_tl_cursor_truncated(&r->c, n, w, tt);
        if (slot)
            memcpy(slot, r->c.p, n);
        r->c.p += n;
        return 0;
    }
    case TGB_TL_STRING:
    case TGB_TL_BYTES: return read_string(r, slot ? ot->kind : 0, slot, w, tt);
    case TGB_TL_BOOL: {
        bool b;
        int rc = tgb_tl_cursor_bool(&r->c, &b, w, tt);
        if (!rc && slot)
            *(bool *)slot = b;
        return rc;
    }
    case TGB_TL_OBJECT:
    case TGB_TL_ANY: return read_boxed(r, tt, ot, slot, w);
    case TGB_TL_BARE: {
        const tgb_tl_combinator *oc = slot ? ot->ctor : NULL;
        return read_body(r, tt->ctor, oc, slot);
    }
    case TGB_TL_VECTOR:
    case TGB_TL_BARE_VECTOR: return read_vector(r, tt, ot, slot, w);
    case TGB_TL_TRUE: return 0;
    }
    return tgb_tl_fail_at(r->c.err, TGB_ERR_INVALID, tgb_tl_cursor_at(&r->c), "bad type kind %d",
                          tt->kind);
}

static int decode_from(const tgb_tl_layer_map *m, tgb_arena *arena, const tgb_tl_typeref *type,
                       const uint8_t *data, size_t len, void *slot, size_t *consumed,
                       tgb_tl_error *err)
{
    tgb_tl_typeref theirs[8];
    int rc = translate(m, type, theirs, 8, err);
    if (rc)
        return rc;
    static const uint8_t nothing[1];
    const uint8_t *start = data ? data : nothing;
    struct reader r = {{start, start, start + len, arena, err, 0}, m};
    rc = read_value(&r, theirs, type, slot, (tgb_tl_where){NULL, NULL});
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

int tgb_tl_decode_from(const tgb_tl_layer_map *m, tgb_arena *arena, const tgb_tl_typeref *type,
                       const uint8_t *data, size_t len, void *slot, size_t *consumed,
                       tgb_tl_error *err)
{
    if (!m || !arena || !type || !slot || (!data && len))
        return tgb_tl_fail_at(err, TGB_ERR_INVALID, 0, "invalid argument");
    return decode_from(m, arena, type, data, len, slot, consumed, err);
}

int tgb_tl_decode_object_from(const tgb_tl_layer_map *m, tgb_arena *arena, const tgb_tl_type *type,
                              const uint8_t *data, size_t len, tl_object **out, size_t *consumed,
                              tgb_tl_error *err)
{
    if (!m || !arena || !out || (!data && len))
        return tgb_tl_fail_at(err, TGB_ERR_INVALID, 0, "invalid argument");
    tgb_tl_typeref t = {type ? TGB_TL_OBJECT : TGB_TL_ANY, 4, type, NULL, NULL};
    *out = NULL;
    return decode_from(m, arena, &t, data, len, out, consumed, err);
}

/* ------------------------------------------------------------------ encoding for theirs */

struct writer {
    const tgb_tl_layer_map *m;
    tgb_buf *out;
    tgb_arena *arena;
    tgb_tl_error *err;
    int depth;
};

static int write_failed(struct writer *w, int code)
{
    return tgb_tl_fail_at(w->err, code, w->out->len, "output buffer: %s", tgb_strerror(code));
}

static inline int put_bytes(struct writer *w, const void *data, size_t n)
{
    int rc = tgb_buf_append(w->out, data, n);
    return rc ? write_failed(w, rc) : 0;
}

static inline int put32(struct writer *w, uint32_t v)
{
    uint8_t b[4];
    tgb_put_le32(b, v);
    return put_bytes(w, b, 4);
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
    int rc = tgb_buf_reserve(w->out, total);
    if (rc)
        return write_failed(w, rc);
    uint8_t *p = tgb_buf_extend(w->out, total);
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

static int missing(struct writer *w, tgb_tl_where at)
{
    if (at.comb && at.field)
        return tgb_tl_fail_at(w->err, TGB_ERR_TL_MISSING, w->out->len, "%s.%s is NULL",
                              at.comb->name, at.field->name);
    return tgb_tl_fail_at(w->err, TGB_ERR_TL_MISSING, w->out->len, "NULL object");
}

static int write_value(struct writer *w, const tgb_tl_typeref *tt, const tgb_tl_typeref *ot,
                       const void *slot, tgb_tl_where at);
static int write_body(struct writer *w, const tgb_tl_combinator *tc, const tl_object *src);

/*
 * Their zero value of `tt`, for a required field of theirs that ours lacks: 0, "",
 * boolFalse, an empty vector, or the type's default constructor with its own required
 * fields zero.
 */
static int write_default(struct writer *w, const tgb_tl_typeref *tt, tgb_tl_where at)
{
    static const uint8_t zeros[32];
    switch ((tgb_tl_kind)tt->kind) {
    case TGB_TL_INT:
    case TGB_TL_FLAGS: return put32(w, 0);
    case TGB_TL_LONG:
    case TGB_TL_DOUBLE: return put_bytes(w, zeros, 8);
    case TGB_TL_INT128: return put_bytes(w, zeros, 16);
    case TGB_TL_INT256: return put_bytes(w, zeros, 32);
    case TGB_TL_STRING:
    case TGB_TL_BYTES: return put_bytes(w, zeros, 4);
    case TGB_TL_BOOL: return put32(w, TGB_TL_ID_BOOL_FALSE);
    case TGB_TL_VECTOR: {
        int rc = put32(w, TGB_TL_ID_VECTOR);
        return rc ? rc : put32(w, 0);
    }
    case TGB_TL_BARE_VECTOR: return put32(w, 0);
    case TGB_TL_OBJECT: {
        const struct type_info *ti = type_info_of(&w->m->theirs, tt->type);
        if (ti && ti->zero) {
            int rc = put32(w, ti->zero->id);
            return rc ? rc : write_body(w, ti->zero, NULL);
        }
        break;
    }
    case TGB_TL_BARE: return write_body(w, tt->ctor, NULL);
    case TGB_TL_TRUE: return 0;
    case TGB_TL_ANY: break; /* no value stands for "any object" */
    }
    char what[128];
    tgb_tl_describe(what, sizeof(what), at, tt);
    return tgb_tl_fail_at(w->err, TGB_ERR_TL_MISSING, w->out->len,
                          "no value of layer %d to stand in for %s, which layer %d lacks",
                          w->m->theirs.schema->layer, what, w->m->ours.schema->layer);
}

/* Our field that stands for their field `j` of `tc` in `src`'s constructor, or NULL. */
static const tgb_tl_field *our_field(const tgb_tl_combinator *tc, int j,
                                     const tgb_tl_combinator *oc, const int16_t *map)
{
    if (!oc)
        return NULL;
    if (map)
        return map[j] >= 0 ? &oc->fields[map[j]] : NULL;
    int i = find_field(oc, &tc->fields[j]); /* a fallback constructor: by name, now */
    return i >= 0 ? &oc->fields[i] : NULL;
}

/* Whether their field has a value in our object: ours is present (always, if ours is
 * unconditional) and, for their `true`, set if ours is a Bool. */
static int present(const tgb_tl_field *tf, const tgb_tl_field *of, const uint8_t *src,
                   const tgb_tl_combinator *oc)
{
    if (!of)
        return 0;
    int p = of->flag_field < 0 || our_bit(src, oc, of);
    if (p && tf->kind == TGB_TL_TRUE && of->kind == TGB_TL_BOOL)
        p = *(const bool *)(const void *)(src + of->offset);
    return p;
}

/* Writes their constructor `tc`'s fields from our object `src` (NULL: all defaults). */
static int write_body(struct writer *w, const tgb_tl_combinator *tc, const tl_object *src)
{
    if (++w->depth > TGB_TL_MAX_DEPTH)
        return tgb_tl_fail_at(w->err, TGB_ERR_TL_TOO_DEEP, w->out->len,
                              "objects nested deeper than %d (%s)", TGB_TL_MAX_DEPTH, tc->name);
    const tgb_tl_combinator *oc = src ? src->desc : NULL;
    const uint8_t *base = (const uint8_t *)src;
    /* The precomputed field pairs if src is tc's namesake; a fallback constructor
     * (messageMediaUnsupported for a messageMediaStory) pairs fields by name here. */
    const int16_t *map = NULL;
    if (oc) {
        const struct side *t = &w->m->theirs;
        int32_t ts = slot_of(t->schema, tc);
        if (ts >= 0 && t->peer[ts] >= 0 && w->m->ours.schema->by_id[t->peer[ts]] == oc)
            map = &t->field_peer[t->fields[ts]];
    }

    /* Their flag words from which of our fields are present: bits move between layers,
     * and one bit may stand for several fields. */
    uint16_t word_idx[MAX_FLAG_WORDS];
    uint32_t word_val[MAX_FLAG_WORDS];
    int nwords = 0;
    for (int j = 0; j < tc->nfields; j++) {
        const tgb_tl_field *tf = &tc->fields[j];
        if (tf->kind == TGB_TL_FLAGS && nwords < MAX_FLAG_WORDS) {
            word_idx[nwords] = (uint16_t)j;
            word_val[nwords++] = 0;
        }
        if (tf->flag_field < 0 || !present(tf, our_field(tc, j, oc, map), base, oc))
            continue;
        for (int k = 0; k < nwords; k++)
            if (word_idx[k] == tf->flag_field)
                word_val[k] |= 1u << tf->flag_bit;
    }

    for (int j = 0; j < tc->nfields; j++) {
        const tgb_tl_field *tf = &tc->fields[j];
        tgb_tl_where at = {tc, tf};
        if (tf->flag_field >= 0) {
            uint32_t word = word_of(word_idx, word_val, nwords, tf->flag_field);
            if (!(word >> tf->flag_bit & 1) || tf->kind == TGB_TL_TRUE)
                continue;
        }
        int rc;
        if (tf->kind == TGB_TL_FLAGS) {
            rc = put32(w, word_of(word_idx, word_val, nwords, j));
        } else {
            const tgb_tl_field *of = our_field(tc, j, oc, map);
            if (!present(tf, of, base, oc))
                rc = write_default(w, tf->type, at); /* e.g. a bit another field set */
            else if (of->kind == TGB_TL_TRUE)
                rc = put32(w, TGB_TL_ID_BOOL_TRUE); /* their Bool, our flag: present */
            else
                rc = write_value(w, tf->type, of->type, base + of->offset, at);
        }
        if (rc)
            return rc;
    }
    w->depth--;
    return 0;
}

/*
 * Their constructor for our object `obj` where a `tt` belongs: its namesake, else the
 * fallback callback's answer, else the type's "...Unsupported", else its "...Empty".
 * *src receives the object whose fields to write. NO_EQUIVALENT if none fits.
 */
static int resolve(struct writer *w, const tgb_tl_typeref *tt, const tl_object *obj,
                   const tgb_tl_combinator **tc, const tl_object **src)
{
    const tgb_tl_layer_map *m = w->m;
    const tgb_tl_combinator *oc = obj->desc;
    *src = obj;
    *tc = peer_of(&m->ours, &m->theirs, oc);
    if (*tc && (tt->kind == TGB_TL_ANY || (*tc)->type == tt->type))
        return 0;
    if (m->fallback) {
        const tl_object *alt = m->fallback(m->fallback_data, w->arena, obj);
        if (alt && alt->desc) {
            *tc = peer_of(&m->ours, &m->theirs, alt->desc);
            if (*tc && (tt->kind == TGB_TL_ANY || (*tc)->type == tt->type)) {
                *src = alt;
                return 0;
            }
        }
    }
    const tgb_tl_type *type = tt->type;
    if (tt->kind == TGB_TL_ANY) {
        const struct type_info *ours = type_info_of(&m->ours, oc->type);
        type = ours ? ours->peer : NULL;
    }
    const struct type_info *ti = type_info_of(&m->theirs, type);
    *tc = ti ? (ti->unsupported ? ti->unsupported : ti->empty) : NULL;
    return *tc ? 0 : NO_EQUIVALENT;
}

static int write_object(struct writer *w, const tgb_tl_typeref *tt, const tgb_tl_typeref *ot,
                        const tl_object *obj, tgb_tl_where at)
{
    if (!obj || !obj->desc)
        return missing(w, at);
    if (ot->kind == TGB_TL_OBJECT && obj->desc->type != ot->type)
        return tgb_tl_fail_at(w->err, TGB_ERR_TL_WRONG_TYPE, w->out->len, "%s where %s belongs",
                              obj->desc->name, ot->type->name);
    const tgb_tl_combinator *tc;
    const tl_object *src;
    int rc = resolve(w, tt, obj, &tc, &src);
    if (rc)
        return rc;
    rc = put32(w, tc->id);
    return rc ? rc : write_body(w, tc, src);
}

static int no_equivalent(struct writer *w, const tl_object *obj, tgb_tl_where at,
                         const tgb_tl_typeref *tt)
{
    char what[128];
    tgb_tl_describe(what, sizeof(what), at, tt);
    return tgb_tl_fail_at(w->err, TGB_ERR_TL_UNKNOWN_ID, w->out->len,
                          "%s has no equivalent in layer %d (in %s)", obj->desc->name,
                          w->m->theirs.schema->layer, what);
}

static int write_vector(struct writer *w, const tgb_tl_typeref *tt, const tgb_tl_typeref *ot,
                        const tgb_tl_vector *v, tgb_tl_where at)
{
    if (v->count && !v->items)
        return missing(w, at);
    int rc = tt->kind == TGB_TL_VECTOR ? put32(w, TGB_TL_ID_VECTOR) : 0;
    if (rc)
        return rc;
    /* The count goes first but is known last: elements the other layer has no
     * equivalent for are left out, so it is patched in afterwards. */
    size_t count_at = w->out->len;
    if ((rc = put32(w, 0)) != 0)
        return rc;
    size_t size = tgb_tl_value_size(ot->elem);
    int boxed = tt->elem->kind == TGB_TL_OBJECT || tt->elem->kind == TGB_TL_ANY;
    uint32_t written = 0;
    for (uint32_t i = 0; i < v->count; i++) {
        const void *item = (const uint8_t *)v->items + size * i;
        rc = boxed ? write_object(w, tt->elem, ot->elem, *(const tl_object *const *)item, at)
                   : write_value(w, tt->elem, ot->elem, item, at);
        if (rc == NO_EQUIVALENT)
            continue;
        if (rc)
            return rc;
        written++;
    }
    tgb_put_le32(w->out->data + count_at, written);
    return 0;
}

static int write_value(struct writer *w, const tgb_tl_typeref *tt, const tgb_tl_typeref *ot,
                       const void *slot, tgb_tl_where at)
{
    switch ((tgb_tl_kind)tt->kind) {
    case TGB_TL_INT:
    case TGB_TL_FLAGS:
    case TGB_TL_LONG:
    case TGB_TL_DOUBLE: {
        int from = ot->kind == TGB_TL_FLAGS ? TGB_TL_INT : ot->kind;
        int to = tt->kind == TGB_TL_FLAGS ? TGB_TL_INT : tt->kind;
        number v = convert(load_number(from, slot), from, to);
        if (to == TGB_TL_INT)
            return put32(w, (uint32_t)v.i);
        uint8_t b[8];
        uint64_t u;
        memcpy(&u, &v, 8);
        tgb_put_le64(b, u);
        return put_bytes(w, b, 8);
    }
    case TGB_TL_INT128: return put_bytes(w, slot, 16);
    case TGB_TL_INT256: return put_bytes(w, slot, 32);
    case TGB_TL_STRING:
    case TGB_TL_BYTES: {
        const void *data;
        size_t len;
        load_text(ot->kind, slot, &data, &len);
        return put_string(w, data, len);
    }
    case TGB_TL_BOOL:
        return put32(w, *(const bool *)slot ? TGB_TL_ID_BOOL_TRUE : TGB_TL_ID_BOOL_FALSE);
    case TGB_TL_OBJECT:
    case TGB_TL_ANY: {
        const tl_object *obj = *(const tl_object *const *)slot;
        int rc = write_object(w, tt, ot, obj, at);
        return rc == NO_EQUIVALENT ? no_equivalent(w, obj, at, tt) : rc;
    }
    case TGB_TL_BARE: {
        const tl_object *obj = *(const tl_object *const *)slot;
        if (!obj)
            return missing(w, at);
        if (obj->desc != ot->ctor)
            return tgb_tl_fail_at(
                w->err, TGB_ERR_TL_WRONG_TYPE, w->out->len, "%s where bare %s belongs",
                obj->desc ? obj->desc->name : "an object without descriptor", ot->ctor->name);
        return write_body(w, tt->ctor, obj);
    }
    case TGB_TL_VECTOR:
    case TGB_TL_BARE_VECTOR: return write_vector(w, tt, ot, slot, at);
    case TGB_TL_TRUE: return 0;
    }
    return tgb_tl_fail_at(w->err, TGB_ERR_INVALID, w->out->len, "bad type kind %d", tt->kind);
}

int tgb_tl_encode_to(const tgb_tl_layer_map *m, tgb_arena *arena, tgb_buf *out,
                     const tgb_tl_typeref *type, const void *slot, tgb_tl_error *err)
{
    if (!m || !out || !type || !slot)
        return tgb_tl_fail_at(err, TGB_ERR_INVALID, 0, "invalid argument");
    tgb_tl_typeref theirs[8];
    int rc = translate(m, type, theirs, 8, err);
    if (rc)
        return rc;
    struct writer w = {m, out, arena, err, 0};
    return write_value(&w, theirs, type, slot, (tgb_tl_where){NULL, NULL});
}

int tgb_tl_encode_object_to(const tgb_tl_layer_map *m, tgb_arena *arena, tgb_buf *out,
                            const void *object, tgb_tl_error *err)
{
    static const tgb_tl_typeref any = {TGB_TL_ANY, 4, NULL, NULL, NULL};
    return tgb_tl_encode_to(m, arena, out, &any, &object, err);
}
