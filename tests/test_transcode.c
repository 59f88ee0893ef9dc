/*
 * Tests for tl/tl_transcode: layer maps between our layer-228 structs and the tables of
 * layers 144 (Telethon), 198 (GramJS) and 227 (mtcute). Every combinator both layers
 * have is synthesised, written in the old layer and read back, and compared field by
 * field against what the rules of tl_transcode.h say must survive; hand-assembled bytes
 * of the old layers pin the wire format; constructors the old layer lacks take their
 * documented replacements; hostile input gets clean errors.
 */
#include "check.h"
#include "tl/tl.h"
#include "tl/tl_api.h"
#include "tl/tl_layers.h"
#include "tl/tl_transcode.h"
#include "tl_synth.h"

#include <time.h>

static const tgb_tl_schema *api = &tgb_tl_schema_api;

/* ------------------------------------------------------------------ a layer under test */

/* Their schema with a name index, so that the test finds namesakes on its own. */
typedef struct layer {
    const tgb_tl_schema *theirs;
    tgb_tl_layer_map *map;
    const tgb_tl_combinator **combs; /* sorted by (name, is_function) */
    uint32_t ncombs;
    const tgb_tl_type **types; /* sorted by name */
} layer;

static int by_comb_name(const void *a, const void *b)
{
    const tgb_tl_combinator *x = *(const tgb_tl_combinator *const *)a;
    const tgb_tl_combinator *y = *(const tgb_tl_combinator *const *)b;
    int d = strcmp(x->name, y->name);
    return d ? d : x->is_function - y->is_function;
}

static int by_type_name(const void *a, const void *b)
{
    return strcmp((*(const tgb_tl_type *const *)a)->name, (*(const tgb_tl_type *const *)b)->name);
}

static void layer_open(layer *L, const tgb_tl_schema *theirs)
{
    memset(L, 0, sizeof(*L));
    L->theirs = theirs;
    CHECK_OK(tgb_tl_layer_map_new(&L->map, api, theirs));
    L->ncombs = theirs->nctors + theirs->nfunctions;
    L->combs = malloc(sizeof(*L->combs) * L->ncombs);
    memcpy(L->combs, theirs->ctors, sizeof(*L->combs) * theirs->nctors);
    memcpy(L->combs + theirs->nctors, theirs->functions, sizeof(*L->combs) * theirs->nfunctions);
    qsort(L->combs, L->ncombs, sizeof(*L->combs), by_comb_name);
    L->types = malloc(sizeof(*L->types) * theirs->ntypes);
    memcpy(L->types, theirs->types, sizeof(*L->types) * theirs->ntypes);
    qsort(L->types, theirs->ntypes, sizeof(*L->types), by_type_name);
}

static void layer_close(layer *L)
{
    tgb_tl_layer_map_del(L->map);
    free(L->combs);
    free(L->types);
}

static const tgb_tl_combinator *their_comb(const layer *L, const tgb_tl_combinator *ours)
{
    const tgb_tl_combinator *const *hit =
        bsearch(&ours, L->combs, L->ncombs, sizeof(*L->combs), by_comb_name);
    return hit ? *hit : NULL;
}

static const tgb_tl_type *their_type(const layer *L, const char *name)
{
    tgb_tl_type key = {name, 0, NULL};
    const tgb_tl_type *k = &key;
    const tgb_tl_type *const *hit =
        bsearch(&k, L->types, L->theirs->ntypes, sizeof(*L->types), by_type_name);
    return hit ? *hit : NULL;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* ------------------------------------------------------------------ the rules, restated */

#define IS_NUMBER(k) ((k) == TGB_TL_INT || (k) == TGB_TL_LONG || (k) == TGB_TL_DOUBLE)

/* tl_transcode.h: which values become which (equal kinds, int/long/double, string and
 * bytes, Vector and vector, Bool and true; objects by type name). */
static int compat(const tgb_tl_typeref *a, const tgb_tl_typeref *b)
{
    int ka = a->kind, kb = b->kind;
    if (ka == TGB_TL_FLAGS || kb == TGB_TL_FLAGS)
        return 0;
    if (ka == TGB_TL_OBJECT || kb == TGB_TL_OBJECT)
        return ka == kb && strcmp(a->type->name, b->type->name) == 0;
    if (ka == TGB_TL_BARE || kb == TGB_TL_BARE)
        return ka == kb && strcmp(a->ctor->name, b->ctor->name) == 0;
    if ((ka == TGB_TL_VECTOR || ka == TGB_TL_BARE_VECTOR) &&
        (kb == TGB_TL_VECTOR || kb == TGB_TL_BARE_VECTOR))
        return compat(a->elem, b->elem);
    if (ka == kb)
        return 1;
    return (IS_NUMBER(ka) && IS_NUMBER(kb)) ||
           ((ka == TGB_TL_STRING || ka == TGB_TL_BYTES) &&
            (kb == TGB_TL_STRING || kb == TGB_TL_BYTES)) ||
           ((ka == TGB_TL_BOOL || ka == TGB_TL_TRUE) && (kb == TGB_TL_BOOL || kb == TGB_TL_TRUE));
}

/* The field of `c` named like `f` that a value of f can become, or -1. */
static int namesake_field(const tgb_tl_combinator *c, const tgb_tl_field *f)
{
    for (int k = 0; k < c->nfields; k++)
        if (strcmp(c->fields[k].name, f->name) == 0)
            return compat(c->fields[k].type, f->type) ? k : -1;
    return -1;
}

static int bit_of(const uint8_t *o, const tgb_tl_combinator *c, const tgb_tl_field *f)
{
    uint32_t word;
    memcpy(&word, o + c->fields[f->flag_field].offset, 4);
    return word >> f->flag_bit & 1;
}

/* Their constructor for our `oc` where their `tt` belongs, if it is its namesake. */
static const tgb_tl_combinator *fit(const layer *L, const tgb_tl_combinator *oc,
                                    const tgb_tl_typeref *tt)
{
    const tgb_tl_combinator *tc = their_comb(L, oc);
    if (tc && tt->kind == TGB_TL_OBJECT && strcmp(tc->type->name, tt->type->name) != 0)
        return NULL;
    return tc;
}

/* Else: their "...Unsupported" of that type, else its "...Empty" (no callback set). */
static const tgb_tl_combinator *replacement(const layer *L, const tgb_tl_combinator *oc,
                                            const tgb_tl_typeref *tt)
{
    const char *name = tt->kind == TGB_TL_OBJECT ? tt->type->name
                       : oc->type                ? oc->type->name
                                                 : NULL;
    const tgb_tl_type *t = name ? their_type(L, name) : NULL;
    if (!t)
        return NULL;
    for (int k = 0; k < t->nctors; k++)
        if (ends_with(t->ctors[k]->name, "Unsupported"))
            return t->ctors[k];
    for (int k = 0; k < t->nctors; k++)
        if (ends_with(t->ctors[k]->name, "Empty"))
            return t->ctors[k];
    return NULL;
}

/* A number of our kind, as it comes back after a trip through their kind. */
static void through(int ours, int theirs, const void *in, void *out)
{
    int64_t l = 0;
    double d = 0;
    int32_t i = 0;
    if (ours == TGB_TL_INT)
        memcpy(&i, in, 4), l = i, d = i;
    else if (ours == TGB_TL_LONG)
        memcpy(&l, in, 8), d = (double)l;
    else
        memcpy(&d, in, 8);
    if (theirs == TGB_TL_INT) { /* ints wrap, doubles saturate (synth makes no NaN) */
        i = ours == TGB_TL_LONG      ? (int32_t)(uint32_t)(uint64_t)l
            : ours == TGB_TL_INT     ? i
            : d <= (double)INT32_MIN ? INT32_MIN
            : d >= (double)INT32_MAX ? INT32_MAX
                                     : (int32_t)d;
        l = i, d = i;
    } else if (theirs == TGB_TL_LONG && ours == TGB_TL_DOUBLE) {
        l = d <= -9223372036854775808.0  ? INT64_MIN
            : d >= 9223372036854775808.0 ? INT64_MAX
                                         : (int64_t)d;
        d = (double)l;
    } else if (theirs == TGB_TL_DOUBLE && ours == TGB_TL_LONG) {
        d = (double)l;
        l = d <= -9223372036854775808.0  ? INT64_MIN
            : d >= 9223372036854775808.0 ? INT64_MAX
                                         : (int64_t)d;
    }
    if (ours == TGB_TL_INT)
        memcpy(out, &(int32_t){(int32_t)l}, 4);
    else if (ours == TGB_TL_LONG)
        memcpy(out, &l, 8);
    else
        memcpy(out, &d, 8);
}

/* ------------------------------------------------------------------ the comparator */

typedef struct cmp {
    const layer *L;
    const char *top; /* the combinator under test */
    int failures;
} cmp;

static int cmp_failures_shown;

static void differ(cmp *x, const tgb_tl_combinator *c, const char *field, const char *what)
{
    x->failures++;
    if (cmp_failures_shown++ < 20)
        fprintf(stderr, "  layer %d, %s: %s.%s: %s\n", x->L->theirs->layer, x->top,
                c ? c->name : "?", field ? field : "", what);
}

static void cmp_fields(cmp *x, const tl_object *orig, const tl_object *back,
                       const tgb_tl_combinator *tc);

/* A value a field the other side lacked (or left empty) must come back with. */
static void check_default(cmp *x, const tgb_tl_combinator *c, const tgb_tl_field *f,
                          const uint8_t *slot)
{
    static const uint8_t zeros[32];
    int ok = 1;
    switch ((tgb_tl_kind)f->kind) {
    case TGB_TL_INT:
    case TGB_TL_FLAGS: ok = memcmp(slot, zeros, 4) == 0; break;
    case TGB_TL_LONG:
    case TGB_TL_DOUBLE: ok = memcmp(slot, zeros, 8) == 0; break;
    case TGB_TL_INT128: ok = memcmp(slot, zeros, 16) == 0; break;
    case TGB_TL_INT256: ok = memcmp(slot, zeros, 32) == 0; break;
    case TGB_TL_STRING:
    case TGB_TL_BYTES: ok = ((const tgb_tl_string *)slot)->len == 0; break;
    case TGB_TL_BOOL: ok = *(const bool *)slot == false; break;
    case TGB_TL_VECTOR:
    case TGB_TL_BARE_VECTOR: ok = ((const tgb_tl_vector *)slot)->count == 0; break;
    case TGB_TL_OBJECT: {
        const tl_object *o = *(const tl_object *const *)slot;
        ok = o && o->desc->type == f->type->type;
        break;
    }
    case TGB_TL_BARE: ok = *(const tl_object *const *)slot != NULL; break;
    case TGB_TL_ANY:
    case TGB_TL_TRUE: break;
    }
    if (!ok)
        differ(x, c, f->name, "expected the zero value");
}

static void cmp_object(cmp *x, const tgb_tl_typeref *tt, const tl_object *orig,
                       const tl_object *back, const tgb_tl_combinator *c, const char *field)
{
    if (!back) {
        differ(x, c, field, "object missing");
        return;
    }
    const tgb_tl_combinator *tc = fit(x->L, orig->desc, tt);
    if (tc) {
        if (back->desc != orig->desc)
            differ(x, c, field, "another constructor came back");
        else
            cmp_fields(x, orig, back, tc);
        return;
    }
    const tgb_tl_combinator *r = replacement(x->L, orig->desc, tt);
    if (!r || strcmp(back->desc->name, r->name) != 0)
        differ(x, c, field, "expected the Unsupported/Empty replacement");
}

/* Our value `orig` of `ot`, through their `tt`, came back as `back`. */
static void cmp_value(cmp *x, const tgb_tl_typeref *ot, const tgb_tl_typeref *tt,
                      const uint8_t *orig, const uint8_t *back, const tgb_tl_combinator *c,
                      const char *field)
{
    switch ((tgb_tl_kind)ot->kind) {
    case TGB_TL_INT:
    case TGB_TL_LONG:
    case TGB_TL_DOUBLE: {
        uint8_t want[8];
        through(ot->kind, tt->kind, orig, want);
        if (memcmp(want, back, ot->kind == TGB_TL_INT ? 4 : 8) != 0)
            differ(x, c, field, "number differs");
        break;
    }
    case TGB_TL_INT128:
    case TGB_TL_INT256:
        if (memcmp(orig, back, ot->kind == TGB_TL_INT128 ? 16 : 32) != 0)
            differ(x, c, field, "int128/256 differs");
        break;
    case TGB_TL_STRING:
    case TGB_TL_BYTES: {
        const tgb_tl_string *a = (const void *)orig, *b = (const void *)back;
        if (a->len != b->len || (a->len && memcmp(a->data, b->data, a->len) != 0) ||
            (b->len && b->data[b->len] != 0))
            differ(x, c, field, "string differs");
        break;
    }
    case TGB_TL_BOOL:
        if (*(const bool *)orig != *(const bool *)back)
            differ(x, c, field, "Bool differs");
        break;
    case TGB_TL_OBJECT:
    case TGB_TL_ANY:
        cmp_object(x, tt, *(const tl_object *const *)orig, *(const tl_object *const *)back, c,
                   field);
        break;
    case TGB_TL_BARE: {
        const tl_object *a = *(const tl_object *const *)orig, *b = *(const tl_object *const *)back;
        if (!b || b->desc != a->desc)
            differ(x, c, field, "bare object differs");
        else
            cmp_fields(x, a, b, tt->ctor);
        break;
    }
    case TGB_TL_VECTOR:
    case TGB_TL_BARE_VECTOR: {
        /* elements with no equivalent at all are left out; the rest keep their order */
        const tgb_tl_vector *a = (const void *)orig, *b = (const void *)back;
        size_t size = tgb_tl_value_size(ot->elem);
        int boxed = ot->elem->kind == TGB_TL_OBJECT || ot->elem->kind == TGB_TL_ANY;
        uint32_t k = 0;
        for (uint32_t i = 0; i < a->count; i++) {
            const uint8_t *item = (const uint8_t *)a->items + size * i;
            if (boxed) {
                const tl_object *o = *(const tl_object *const *)item;
                if (!fit(x->L, o->desc, tt->elem) && !replacement(x->L, o->desc, tt->elem))
                    continue;
            }
            if (k >= b->count) {
                differ(x, c, field, "vector came back shorter");
                return;
            }
            cmp_value(x, ot->elem, tt->elem, item, (const uint8_t *)b->items + size * k++, c,
                      field);
        }
        if (k != b->count)
            differ(x, c, field, "vector came back with another count");
        break;
    }
    case TGB_TL_FLAGS:
    case TGB_TL_TRUE: break;
    }
}

/*
 * Our object `orig`, written as their `tc` and read back as `back`. Their flag bits are
 * the OR of which of our namesakes were present (one bit may stand for several fields);
 * ours come back as the OR of which of their fields were; a field present with no value
 * to carry (a bit another field set, a field one side lacks) holds the zero value.
 */
static void cmp_fields(cmp *x, const tl_object *orig, const tl_object *back,
                       const tgb_tl_combinator *tc)
{
    const tgb_tl_combinator *oc = orig->desc;
    const uint8_t *a = (const uint8_t *)orig, *b = (const uint8_t *)back;
    int direct[256] = {0}, present[256] = {0};
    if (tc->nfields > 256 || oc->nfields > 256) {
        differ(x, oc, NULL, "too many fields for the test");
        return;
    }
    for (int j = 0; j < tc->nfields; j++) {
        const tgb_tl_field *g = &tc->fields[j];
        int i = namesake_field(oc, g);
        const tgb_tl_field *f = i >= 0 ? &oc->fields[i] : NULL;
        direct[j] = f && (f->flag_field < 0 || bit_of(a, oc, f));
        if (direct[j] && g->kind == TGB_TL_TRUE && f->kind == TGB_TL_BOOL)
            direct[j] = *(const bool *)(a + f->offset);
    }
    for (int j = 0; j < tc->nfields; j++) {
        const tgb_tl_field *g = &tc->fields[j];
        present[j] = g->flag_field < 0;
        for (int k = 0; k < tc->nfields && !present[j]; k++)
            present[j] = direct[k] && tc->fields[k].flag_field == g->flag_field &&
                         tc->fields[k].flag_bit == g->flag_bit;
    }
    uint32_t words[256] = {0};
    int their_of[256];
    for (int i = 0; i < oc->nfields; i++) {
        const tgb_tl_field *f = &oc->fields[i];
        int j = their_of[i] = namesake_field(tc, f);
        if (f->flag_field < 0 || j < 0)
            continue;
        int set = present[j];
        if (f->kind == TGB_TL_TRUE && tc->fields[j].kind == TGB_TL_BOOL)
            set = present[j] && direct[j]; /* boolTrue only if ours was set */
        if (set)
            words[f->flag_field] |= 1u << f->flag_bit;
    }
    for (int i = 0; i < oc->nfields; i++) {
        const tgb_tl_field *f = &oc->fields[i];
        if (f->kind == TGB_TL_FLAGS) {
            uint32_t got;
            memcpy(&got, b + f->offset, 4);
            if (got != words[i]) {
                char what[96];
                snprintf(what, sizeof(what), "flags %08x, expected %08x", got, words[i]);
                differ(x, oc, f->name, what);
            }
            continue;
        }
        if (f->kind == TGB_TL_TRUE)
            continue;
        if (f->flag_field >= 0 && !(words[f->flag_field] >> f->flag_bit & 1))
            continue;
        int j = their_of[i];
        const tgb_tl_field *g = j >= 0 ? &tc->fields[j] : NULL;
        if (g && f->kind == TGB_TL_BOOL && g->kind == TGB_TL_TRUE) {
            if (*(const bool *)(b + f->offset) != (present[j] != 0))
                differ(x, oc, f->name, "Bool from a flag differs");
        } else if (g && present[j] && direct[j]) {
            cmp_value(x, f->type, g->type, a + f->offset, b + f->offset, oc, f->name);
        } else {
            check_default(x, oc, f, b + f->offset);
        }
    }
}

/* ------------------------------------------------------------------ synthesis */

/*
 * Replaces, in a synthesised object, each object the old layer could neither write nor
 * replace where it is required (a random Update in updateShort): tl_synth picks among
 * all of our constructors, and such an object is an error by design (tested on its
 * own below), not something to round-trip.
 */
static void repair(synth *s, const layer *L, tl_object *o, const tgb_tl_combinator *tc, int depth)
{
    const tgb_tl_combinator *oc = o->desc;
    uint8_t *base = (uint8_t *)o;
    if (depth > 40)
        return;
    for (int j = 0; j < tc->nfields; j++) {
        const tgb_tl_field *g = &tc->fields[j];
        int i = namesake_field(oc, g);
        if (i < 0)
            continue;
        const tgb_tl_field *f = &oc->fields[i];
        if (f->flag_field >= 0 && !bit_of(base, oc, f))
            continue;
        uint8_t *slot = base + f->offset;
        if (f->kind == TGB_TL_OBJECT || f->kind == TGB_TL_ANY) {
            tl_object **p = (tl_object **)slot;
            const tgb_tl_combinator *t = fit(L, (*p)->desc, g->type);
            if (!t)
                t = replacement(L, (*p)->desc, g->type);
            if (!t && f->kind == TGB_TL_OBJECT) {
                const tgb_tl_type *ty = f->type->type;
                for (int k = 0; k < ty->nctors && !t; k++) {
                    if ((t = fit(L, ty->ctors[k], g->type)) != NULL)
                        *p = synth_object(s, ty->ctors[k], s->max_depth);
                }
            }
            if (t && t == fit(L, (*p)->desc, g->type))
                repair(s, L, *p, t, depth + 1);
        } else if (f->kind == TGB_TL_BARE) {
            repair(s, L, *(tl_object **)slot, g->type->ctor, depth + 1);
        } else if ((f->kind == TGB_TL_VECTOR || f->kind == TGB_TL_BARE_VECTOR) &&
                   (f->type->elem->kind == TGB_TL_OBJECT)) {
            tgb_tl_vector *v = (tgb_tl_vector *)slot;
            for (uint32_t k = 0; k < v->count; k++) {
                tl_object *e = ((tl_object **)v->items)[k];
                const tgb_tl_combinator *t = fit(L, e->desc, g->type->elem);
                if (t)
                    repair(s, L, e, t, depth + 1);
            }
        }
    }
}

/* ------------------------------------------------------------------ round trips */

typedef struct stats {
    int shared, ctors_only_ours, ctors_only_theirs;
    int fields, fields_same, fields_converted, fields_lacking;
    int tested, idempotent;
} stats;

static int roundtrip_failures;

static void roundtrip(const layer *L, const tgb_tl_combinator *oc, const tgb_tl_combinator *tc,
                      int all_on, uint32_t seed, stats *st)
{
    tgb_arena arena;
    tgb_arena_init(&arena, NULL, 0, 0);
    synth s = {&arena, seed, all_on, 3};
    tl_object *obj = synth_object(&s, oc, 0);
    repair(&s, L, obj, tc, 0);
    tgb_buf b1, b2;
    tgb_buf_init(&b1, 0);
    tgb_buf_init(&b2, 0);
    tgb_tl_error err = {0};
    tl_object *back = NULL;
    size_t used = 0;
    int ok = tgb_tl_encode_object_to(L->map, &arena, &b1, obj, &err) == 0;
    ok = ok && b1.len >= 4 && tgb_le32(b1.data) == tc->id;
    ok = ok && tgb_tl_decode_object_from(L->map, &arena, oc->is_function ? NULL : oc->type, b1.data,
                                         b1.len, &back, &used, &err) == 0;
    ok = ok && used == b1.len && back && back->desc == oc;
    if (!ok) {
        if (roundtrip_failures++ < 10)
            fprintf(stderr, "  layer %d: round trip of %s (all_on=%d) failed: %s\n",
                    L->theirs->layer, oc->name, all_on, err.message);
        CHECK(ok);
    } else {
        cmp x = {L, oc->name, 0};
        cmp_fields(&x, obj, back, tc);
        CHECK(x.failures == 0);
        st->tested++;
        /* what came back is written the same way again */
        CHECK_OK(tgb_tl_encode_object_to(L->map, &arena, &b2, back, &err));
        if (b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0)
            st->idempotent++;
        else if (roundtrip_failures++ < 10)
            fprintf(stderr, "  layer %d: %s (all_on=%d) encodes differently the second time\n",
                    L->theirs->layer, oc->name, all_on);
    }
    tgb_buf_free(&b1);
    tgb_buf_free(&b2);
    tgb_arena_free(&arena);
}

static void count_fields(const tgb_tl_combinator *oc, const tgb_tl_combinator *tc, stats *st)
{
    for (int i = 0; i < oc->nfields; i++) {
        const tgb_tl_field *f = &oc->fields[i];
        if (f->kind == TGB_TL_FLAGS)
            continue;
        st->fields++;
        int j = namesake_field(tc, f);
        if (j < 0)
            st->fields_lacking++;
        else if (tc->fields[j].kind == f->kind)
            st->fields_same++;
        else
            st->fields_converted++;
    }
}

static void roundtrip_layer(const tgb_tl_schema *theirs)
{
    layer L;
    layer_open(&L, theirs);
    stats st = {0};
    for (int pass = 0; pass < 2; pass++) {
        uint32_t n = pass ? api->nfunctions : api->nctors;
        const tgb_tl_combinator *const *list = pass ? api->functions : api->ctors;
        for (uint32_t i = 0; i < n; i++) {
            const tgb_tl_combinator *oc = list[i];
            const tgb_tl_combinator *tc = their_comb(&L, oc);
            if (!tc) {
                st.ctors_only_ours++;
                continue;
            }
            st.shared++;
            count_fields(oc, tc, &st);
            for (int all_on = 0; all_on <= 1; all_on++)
                roundtrip(&L, oc, tc, all_on, 0x9e3779b9u + i * 2 + (uint32_t)pass, &st);
        }
    }
    for (uint32_t i = 0; i < L.ncombs; i++) {
        const tgb_tl_combinator *c = L.combs[i];
        st.ctors_only_theirs += tgb_tl_find_name(api, c->name) == NULL ||
                                tgb_tl_find_name(api, c->name)->is_function != c->is_function;
    }
    fprintf(stderr,
            "  layer %d: %d combinators shared, %d only in 228, %d only in %d; of %d fields of "
            "the shared ones in 228: %d same kind, %d converted, %d lacking; %d round trips, "
            "%d byte-identical when written again\n",
            theirs->layer, st.shared, st.ctors_only_ours, st.ctors_only_theirs, theirs->layer,
            st.fields, st.fields_same, st.fields_converted, st.fields_lacking, st.tested,
            st.idempotent);
    CHECK_EQ(st.tested, 2 * st.shared);
    CHECK(st.shared > 1400);
    layer_close(&L);
}

static void test_roundtrip_144(void)
{
    roundtrip_layer(&tgb_tl_schema_layer144);
}

static void test_roundtrip_198(void)
{
    roundtrip_layer(&tgb_tl_schema_layer198);
}

static void test_roundtrip_227(void)
{
    roundtrip_layer(&tgb_tl_schema_layer227);
}

/*
 * A map from our schema to itself must be the plain codec: the same bytes as
 * tgb_tl_encode_object and the same objects as tgb_tl_decode_object, for everything.
 */
static void test_identity_is_the_codec(void)
{
    tgb_tl_layer_map *m = NULL;
    CHECK_OK(tgb_tl_layer_map_new(&m, api, api));
    CHECK_EQ(tgb_tl_layer_map_layer(m), 228);
    int differ_count = 0;
    for (int pass = 0; pass < 2; pass++) {
        uint32_t n = pass ? api->nfunctions : api->nctors;
        const tgb_tl_combinator *const *list = pass ? api->functions : api->ctors;
        for (uint32_t i = 0; i < n; i++) {
            for (int all_on = 0; all_on <= 1; all_on++) {
                tgb_arena arena;
                tgb_arena_init(&arena, NULL, 0, 0);
                synth s = {&arena, 0x12345u + i, all_on, 3};
                void *obj = synth_object(&s, list[i], 0);
                tgb_buf a, b;
                tgb_buf_init(&a, 0);
                tgb_buf_init(&b, 0);
                int ok = tgb_tl_encode_object(&a, obj, NULL) == 0 &&
                         tgb_tl_encode_object_to(m, &arena, &b, obj, NULL) == 0 && a.len == b.len &&
                         memcmp(a.data, b.data, a.len) == 0;
                tl_object *o1 = NULL, *o2 = NULL;
                ok = ok &&
                     tgb_tl_decode_object(api, &arena, NULL, a.data, a.len, &o1, NULL, NULL) == 0;
                ok = ok && tgb_tl_decode_object_from(m, &arena, NULL, a.data, a.len, &o2, NULL,
                                                     NULL) == 0;
                if (ok) {
                    char *j1 = tgb_tl_to_json(o1), *j2 = tgb_tl_to_json(o2);
                    ok = j1 && j2 && strcmp(j1, j2) == 0;
                    free(j1);
                    free(j2);
                }
                if (!ok && differ_count++ < 5)
                    fprintf(stderr, "  identity map differs from the codec on %s (all_on=%d)\n",
                            list[i]->name, all_on);
                tgb_buf_free(&a);
                tgb_buf_free(&b);
                tgb_arena_free(&arena);
            }
        }
    }
    CHECK_EQ(differ_count, 0);
    tgb_tl_layer_map_del(m);
}

/* ------------------------------------------------------------------ the map */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void test_map(void)
{
    const tgb_tl_schema *layers[] = {&tgb_tl_schema_layer144, &tgb_tl_schema_layer198,
                                     &tgb_tl_schema_layer227};
    for (int i = 0; i < 3; i++) {
        tgb_tl_layer_map *m = NULL;
        double best = 1e9;
        for (int k = 0; k < 5; k++) {
            double t0 = now_ms();
            CHECK_OK(tgb_tl_layer_map_new(&m, api, layers[i]));
            double t = now_ms() - t0;
            best = t < best ? t : best;
            if (k < 4)
                tgb_tl_layer_map_del(m);
        }
        fprintf(stderr, "  map 228 <-> %d built in %.2f ms\n", layers[i]->layer, best);
        CHECK(best < 50); /* well under 10 ms in a release build; sanitizers are slower */
        CHECK_EQ(tgb_tl_layer_map_layer(m), layers[i]->layer);
        tgb_tl_layer_map_del(m);
    }
    /* a schema without structs can't be ours */
    tgb_tl_layer_map *m = (tgb_tl_layer_map *)1;
    CHECK_EQ(tgb_tl_layer_map_new(&m, &tgb_tl_schema_layer144, api), TGB_ERR_INVALID);
    CHECK(m == NULL);
    CHECK_EQ(tgb_tl_layer_map_new(NULL, api, api), TGB_ERR_INVALID);
    tgb_tl_layer_map_del(NULL);
}

/* ------------------------------------------------------------------ exact bytes */

/* Appends little-endian words and TL strings to a byte array, for hand-built vectors. */
typedef struct bytes {
    uint8_t data[1024];
    size_t len;
} bytes;

static void b32(bytes *b, uint32_t v)
{
    tgb_put_le32(b->data + b->len, v);
    b->len += 4;
}

static void b64(bytes *b, uint64_t v)
{
    tgb_put_le64(b->data + b->len, v);
    b->len += 8;
}

static void bstr(bytes *b, const char *s)
{
    size_t n = strlen(s); /* short strings only: 1-byte length */
    b->data[b->len] = (uint8_t)n;
    memcpy(b->data + b->len + 1, s, n);
    size_t total = (1 + n + 3) & ~(size_t)3;
    memset(b->data + b->len + 1 + n, 0, total - 1 - n);
    b->len += total;
}

static void test_user_to_144(void)
{
    layer L;
    layer_open(&L, &tgb_tl_schema_layer144);
    tgb_arena arena;
    tgb_arena_init(&arena, NULL, 0, 0);
    tl_user *u = TL_NEW(&arena, user);
    u->id = 0x0102030405060708;
    TL_SET(user, access_hash, u);
    u->access_hash = -5;
    TL_SET(user, first_name, u);
    u->first_name = TL_STR("Ann");
    TL_SET(user, username, u);
    u->username = TL_STR("ann_bot");
    TL_SET(user, bot, u); /* flags.14, which bot_info_version shares */
    u->bot_info_version = 7;
    TL_SET(user, premium, u);
    /* what layer 144 does not have: flags.30, and all of flags2 */
    TL_SET(user, emoji_status, u);
    u->emoji_status = &TL_NEW(&arena, emojiStatusEmpty)->base;
    TL_SET(user, usernames, u);
    TL_SET(user, stories_unavailable, u);
    TL_SET(user, bot_active_users, u);
    u->bot_active_users = 99;
    CHECK(TL_HAS(user, bot_info_version, u)); /* the same bit in 228 */

    /* layer144: user#3ff6ecb0 flags:# ... bot:flags.14?true ... premium:flags.28?true
     * id:long access_hash:flags.0?long first_name:flags.1?string last_name:flags.2?string
     * username:flags.3?string phone:flags.4?string photo:flags.5?UserProfilePhoto
     * status:flags.6?UserStatus bot_info_version:flags.14?int ... */
    bytes want = {{0}, 0};
    b32(&want, 0x3ff6ecb0);
    b32(&want, 1u << 0 | 1u << 1 | 1u << 3 | 1u << 14 | 1u << 28);
    b64(&want, 0x0102030405060708);
    b64(&want, (uint64_t)-5);
    bstr(&want, "Ann");
    bstr(&want, "ann_bot");
    b32(&want, 7);

    tgb_buf out;
    tgb_buf_init(&out, 0);
    tgb_tl_error err = {0};
    CHECK_OK(tgb_tl_encode_object_to(L.map, &arena, &out, u, &err));
    CHECK_EQ(out.len, want.len);
    if (out.len == want.len)
        CHECK_MEM(out.data, want.data, want.len);

    /* and back: what 144 has survives, what it lacks is absent */
    tl_object *o = NULL;
    CHECK_OK(tgb_tl_decode_object_from(L.map, &arena, &tgb_tl_t_User, out.data, out.len, &o, NULL,
                                       &err));
    tl_user *back = TL_AS(user, (tl_User *)o);
    CHECK(back != NULL);
    if (back) {
        CHECK(back->id == u->id && back->access_hash == -5);
        CHECK_STR(back->username.data, "ann_bot");
        CHECK(TL_HAS(user, bot, back) && TL_HAS(user, premium, back));
        CHECK_EQ(back->bot_info_version, 7);
        CHECK(!TL_HAS(user, emoji_status, back) && !TL_HAS(user, usernames, back));
        CHECK_EQ(back->flags2, 0);
        CHECK(!TL_HAS(user, last_name, back));
    }

    /* the same user through the generic codec starts with 228's id */
    tgb_buf_free(&out);
    CHECK_OK(tgb_tl_encode_object(&out, u, NULL));
    CHECK_EQ(tgb_le32(out.data), 0xb1b8cc83);
    tgb_buf_free(&out);
    tgb_arena_free(&arena);
    layer_close(&L);
}

/* layer144: messages.sendMessage#d9d75a4 flags:# no_webpage:flags.1?true
 * silent:flags.5?true background:flags.6?true clear_draft:flags.7?true
 * noforwards:flags.14?true peer:InputPeer reply_to_msg_id:flags.0?int message:string
 * random_id:long reply_markup:flags.2?ReplyMarkup entities:flags.3?Vector<MessageEntity>
 * schedule_date:flags.10?int send_as:flags.13?InputPeer = Updates; */
static bytes send_message_144(void)
{
    bytes b = {{0}, 0};
    b32(&b, 0x0d9d75a4);
    b32(&b, 1u << 0 | 1u << 3 | 1u << 5 | 1u << 7 | 1u << 14);
    b32(&b, 0xdde8a54c); /* inputPeerUser user_id:long access_hash:long */
    b64(&b, 777);
    b64(&b, (uint64_t)-2);
    b32(&b, 42); /* reply_to_msg_id */
    bstr(&b, "hi");
    b64(&b, 0x0102030405060708);
    b32(&b, TGB_TL_ID_VECTOR); /* entities: one messageEntityBold offset:int length:int */
    b32(&b, 1);
    b32(&b, 0xbd610bc9);
    b32(&b, 0);
    b32(&b, 2);
    return b;
}

static void test_send_message_from_144(void)
{
    layer L;
    layer_open(&L, &tgb_tl_schema_layer144);
    tgb_arena arena;
    tgb_arena_init(&arena, NULL, 0, 0);
    bytes b = send_message_144();
    tl_object *o = NULL;
    tgb_tl_error err = {0};
    CHECK_OK(tgb_tl_decode_object_from(L.map, &arena, NULL, b.data, b.len, &o, NULL, &err));
    tl_messages_sendMessage *m =
        o && o->desc == &tgb_tl_c_messages_sendMessage ? (tl_messages_sendMessage *)o : NULL;
    CHECK(m != NULL);
    if (m) {
        tl_inputPeerUser *peer = TL_AS(inputPeerUser, m->peer);
        CHECK(peer && peer->user_id == 777 && peer->access_hash == -2);
        CHECK_STR(m->message.data, "hi");
        CHECK(m->random_id == 0x0102030405060708);
        CHECK(TL_HAS(messages_sendMessage, silent, m));
        CHECK(TL_HAS(messages_sendMessage, clear_draft, m));
        CHECK(TL_HAS(messages_sendMessage, noforwards, m));
        CHECK(TL_HAS(messages_sendMessage, entities, m));
        CHECK(!TL_HAS(messages_sendMessage, no_webpage, m));
        /* reply_to_msg_id:int has no namesake in 228 (reply_to:InputReplyTo): dropped */
        CHECK(!TL_HAS(messages_sendMessage, reply_to, m));
        CHECK_EQ(m->flags,
                 TL_B_messages_sendMessage_silent | TL_B_messages_sendMessage_clear_draft |
                     TL_B_messages_sendMessage_noforwards | TL_B_messages_sendMessage_entities);
        CHECK_EQ(m->entities.count, 1);
        if (m->entities.count == 1) {
            tl_messageEntityBold *bold = TL_AS(messageEntityBold, m->entities.items[0]);
            CHECK(bold && bold->offset == 0 && bold->length == 2);
        }
        /* written back for 144, it is the same request without reply_to_msg_id */
        tgb_buf out;
        tgb_buf_init(&out, 0);
        CHECK_OK(tgb_tl_encode_object_to(L.map, &arena, &out, m, &err));
        bytes want = b;
        tgb_put_le32(want.data + 4, 1u << 3 | 1u << 5 | 1u << 7 | 1u << 14);
        memmove(want.data + 28, want.data + 32, want.len - 32);
        want.len -= 4;
        CHECK_EQ(out.len, want.len);
        if (out.len == want.len)
            CHECK_MEM(out.data, want.data, want.len);
        tgb_buf_free(&out);
    }
    /* asked for as an Updates-returning function it is no boxed type: wrong type */
    CHECK_EQ(
        tgb_tl_decode_object_from(L.map, &arena, &tgb_tl_t_User, b.data, b.len, &o, NULL, &err),
        TGB_ERR_TL_WRONG_TYPE);
    tgb_arena_free(&arena);
    layer_close(&L);
}

/*
 * What Telethon 1.25 sends first on a connection:
 * invokeWithLayer(144, initConnection(..., help.getConfig())).
 */
static bytes telethon_hello(void)
{
    bytes b = {{0}, 0};
    b32(&b, 0xda9b0d0d); /* invokeWithLayer layer:int query:!X */
    b32(&b, 144);
    b32(&b, 0xc1cd5ea9); /* initConnection flags:# api_id:int device_model:string ... */
    b32(&b, 0);
    b32(&b, 12345);
    bstr(&b, "PC 64bit");
    bstr(&b, "Linux 6.1");
    bstr(&b, "1.25.1");
    bstr(&b, "en");
    bstr(&b, "");
    bstr(&b, "en");
    b32(&b, 0xc4f9186b); /* help.getConfig */
    return b;
}

static void test_invoke_with_layer_144(void)
{
    layer L;
    layer_open(&L, &tgb_tl_schema_layer144);
    tgb_arena arena;
    tgb_arena_init(&arena, NULL, 0, 0);
    bytes b = telethon_hello();
    tl_object *o = NULL;
    tgb_tl_error err = {0};
    CHECK_OK(tgb_tl_decode_object_from(L.map, &arena, NULL, b.data, b.len, &o, NULL, &err));
    tl_invokeWithLayer *inv = o && o->desc == &tgb_tl_c_invokeWithLayer ? (void *)o : NULL;
    CHECK(inv && inv->layer == 144);
    tl_initConnection *init = inv && inv->query && inv->query->desc == &tgb_tl_c_initConnection
                                  ? (void *)inv->query
                                  : NULL;
    CHECK(init != NULL);
    if (init) {
        CHECK_EQ(init->api_id, 12345);
        CHECK_STR(init->device_model.data, "PC 64bit");
        CHECK_STR(init->app_version.data, "1.25.1");
        CHECK_EQ(init->lang_pack.len, 0);
        CHECK(init->query && init->query->desc == &tgb_tl_c_help_getConfig);
        tgb_buf out;
        tgb_buf_init(&out, 0);
        CHECK_OK(tgb_tl_encode_object_to(L.map, &arena, &out, inv, &err));
        CHECK_EQ(out.len, b.len);
        if (out.len == b.len)
            CHECK_MEM(out.data, b.data, b.len);
        tgb_buf_free(&out);
    }
    tgb_arena_free(&arena);
    layer_close(&L);
}

/* ------------------------------------------------------------------ a layer by hand */

/*
 * A small descriptor-only layer written here, for what the real old layers don't show:
 * int ids (as before layer 133), flag bits and field order moved, a field 228 lacks in
 * the middle, a required field each side lacks, and a bit shared by two fields of ours
 * of which the old layer has one. Ids are made up.
 *
 *   peerUser#9db1bc6d user_id:int = Peer;
 *   inputPeerUser#7b8e7de6 user_id:int access_hash:long = InputPeer;
 *   inputPeerSelf#7da07ec9 = InputPeer;
 *   inputPeerEmpty#7f3b18ea = InputPeer;
 *   inputMediaPhoto#10000001 flags:# live_photo:flags.3?true caption:string
 *       ttl_seconds:flags.0?int = InputMedia;
 *   messages.sendMessage#10000002 flags:# no_webpage:flags.1?true silent:flags.9?true
 *       peer:InputPeer random_id:long message:string reply_peer:InputPeer = Updates;
 *   account.setContactSignUpNotification#10000003 flags:# silent:flags.4?true = Bool;
 */
static const tgb_tl_type old_Peer, old_InputPeer, old_InputMedia, old_Updates;
static const tgb_tl_typeref old_int = {TGB_TL_INT, 4, NULL, NULL, NULL};
static const tgb_tl_typeref old_long = {TGB_TL_LONG, 8, NULL, NULL, NULL};
static const tgb_tl_typeref old_string = {TGB_TL_STRING, 4, NULL, NULL, NULL};
static const tgb_tl_typeref old_flags = {TGB_TL_FLAGS, 4, NULL, NULL, NULL};
static const tgb_tl_typeref old_true = {TGB_TL_TRUE, 0, NULL, NULL, NULL};
static const tgb_tl_typeref old_tInputPeer = {TGB_TL_OBJECT, 4, &old_InputPeer, NULL, NULL};
static const tgb_tl_typeref old_tUpdates = {TGB_TL_OBJECT, 4, &old_Updates, NULL, NULL};
static const tgb_tl_typeref old_Bool = {TGB_TL_BOOL, 4, NULL, NULL, NULL};

static const tgb_tl_field old_peerUser_f[] = {{"user_id", &old_int, 0, TGB_TL_INT, -1, 0}};
static const tgb_tl_field old_inputPeerUser_f[] = {
    {"user_id", &old_int, 0, TGB_TL_INT, -1, 0}, {"access_hash", &old_long, 0, TGB_TL_LONG, -1, 0}};
static const tgb_tl_field old_inputMediaPhoto_f[] = {
    {"flags", &old_flags, 0, TGB_TL_FLAGS, -1, 0},
    {"live_photo", &old_true, 0, TGB_TL_TRUE, 0, 3},
    {"caption", &old_string, 0, TGB_TL_STRING, -1, 0},
    {"ttl_seconds", &old_int, 0, TGB_TL_INT, 0, 0}};
static const tgb_tl_field old_sendMessage_f[] = {
    {"flags", &old_flags, 0, TGB_TL_FLAGS, -1, 0},
    {"no_webpage", &old_true, 0, TGB_TL_TRUE, 0, 1},
    {"silent", &old_true, 0, TGB_TL_TRUE, 0, 9},
    {"peer", &old_tInputPeer, 0, TGB_TL_OBJECT, -1, 0},
    {"random_id", &old_long, 0, TGB_TL_LONG, -1, 0},
    {"message", &old_string, 0, TGB_TL_STRING, -1, 0},
    {"reply_peer", &old_tInputPeer, 0, TGB_TL_OBJECT, -1, 0}};

static const tgb_tl_field old_signUp_f[] = {{"flags", &old_flags, 0, TGB_TL_FLAGS, -1, 0},
                                            {"silent", &old_true, 0, TGB_TL_TRUE, 0, 4}};

static const tgb_tl_combinator old_peerUser = {
    0x9db1bc6d, 0, 1, 0, 4, "peerUser", &old_Peer, NULL, old_peerUser_f};
static const tgb_tl_combinator old_inputPeerUser = {
    0x7b8e7de6, 0, 2, 0, 12, "inputPeerUser", &old_InputPeer, NULL, old_inputPeerUser_f};
static const tgb_tl_combinator old_inputPeerSelf = {
    0x7da07ec9, 0, 0, 0, 0, "inputPeerSelf", &old_InputPeer, NULL, NULL};
static const tgb_tl_combinator old_inputPeerEmpty = {
    0x7f3b18ea, 0, 0, 0, 0, "inputPeerEmpty", &old_InputPeer, NULL, NULL};
static const tgb_tl_combinator old_inputMediaPhoto = {
    0x10000001, 0, 4, 0, 8, "inputMediaPhoto", &old_InputMedia, NULL, old_inputMediaPhoto_f};
static const tgb_tl_combinator old_sendMessage = {
    0x10000002, 1, 7, 0, 24, "messages.sendMessage", NULL, &old_tUpdates, old_sendMessage_f};

static const tgb_tl_combinator old_signUp = {
    0x10000003, 1, 2, 0, 4, "account.setContactSignUpNotification", NULL, &old_Bool, old_signUp_f};

static const tgb_tl_combinator *const old_Peer_c[] = {&old_peerUser};
static const tgb_tl_combinator *const old_InputPeer_c[] = {&old_inputPeerUser, &old_inputPeerSelf,
                                                           &old_inputPeerEmpty};
static const tgb_tl_combinator *const old_InputMedia_c[] = {&old_inputMediaPhoto};
static const tgb_tl_type old_Peer = {"Peer", 1, old_Peer_c};
static const tgb_tl_type old_InputPeer = {"InputPeer", 3, old_InputPeer_c};
static const tgb_tl_type old_InputMedia = {"InputMedia", 1, old_InputMedia_c};
static const tgb_tl_type old_Updates = {"Updates", 0, NULL};

static const tgb_tl_combinator *const old_ctors[] = {&old_peerUser, &old_inputPeerUser,
                                                     &old_inputPeerSelf, &old_inputPeerEmpty,
                                                     &old_inputMediaPhoto};
static const tgb_tl_combinator *const old_functions[] = {&old_sendMessage, &old_signUp};
static const tgb_tl_type *const old_types[] = {&old_Peer, &old_InputPeer, &old_InputMedia,
                                               &old_Updates};
static const tgb_tl_combinator *old_by_id[16];

static tgb_tl_schema old_schema(void)
{
    memset(old_by_id, 0, sizeof(old_by_id));
    for (int i = 0; i < 7; i++) {
        const tgb_tl_combinator *c = i < 5 ? old_ctors[i] : old_functions[i - 5];
        uint32_t h = c->id & 15;
        while (old_by_id[h])
            h = (h + 1) & 15;
        old_by_id[h] = c;
    }
    return (tgb_tl_schema){.name = "layer100",
                           .layer = 100,
                           .nctors = 5,
                           .nfunctions = 2,
                           .ntypes = 4,
                           .ctors = old_ctors,
                           .functions = old_functions,
                           .types = old_types,
                           .id_mask = 15,
                           .by_id = old_by_id};
}

static void test_hand_built_layer(void)
{
    tgb_tl_schema old = old_schema();
    tgb_tl_layer_map *m = NULL;
    CHECK_OK(tgb_tl_layer_map_new(&m, api, &old));
    tgb_arena arena;
    tgb_arena_init(&arena, NULL, 0, 0);
    tgb_tl_error err = {0};
    tgb_buf out;
    tgb_buf_init(&out, 0);

    /* long ids become ints (wrapping, as a 32-bit field would) and back */
    tl_inputPeerUser *peer = TL_NEW(&arena, inputPeerUser);
    peer->user_id = 0x100000005;
    peer->access_hash = 7;
    tl_messages_sendMessage *sm = TL_NEW(&arena, messages_sendMessage);
    sm->peer = &peer->base;
    sm->message = TL_STR("hi");
    sm->random_id = 9;
    TL_SET(messages_sendMessage, silent, sm);
    TL_SET(messages_sendMessage, no_webpage, sm);
    TL_SET(messages_sendMessage, entities, sm); /* 100 has none: dropped */
    CHECK_OK(tgb_tl_encode_object_to(m, &arena, &out, sm, &err));
    bytes want = {{0}, 0};
    b32(&want, 0x10000002);
    b32(&want, 1u << 1 | 1u << 9); /* silent moved from bit 5 to bit 9 */
    b32(&want, 0x7b8e7de6);
    b32(&want, 5);
    b64(&want, 7);
    b64(&want, 9); /* random_id before message, as 100 orders them */
    bstr(&want, "hi");
    b32(&want, 0x7f3b18ea); /* reply_peer, which 228 lacks: InputPeer's Empty */
    CHECK_EQ(out.len, want.len);
    if (out.len == want.len)
        CHECK_MEM(out.data, want.data, want.len);
    tl_object *o = NULL;
    CHECK_OK(tgb_tl_decode_object_from(m, &arena, NULL, out.data, out.len, &o, NULL, &err));
    tl_messages_sendMessage *back =
        o && o->desc == &tgb_tl_c_messages_sendMessage ? (void *)o : NULL;
    CHECK(back != NULL);
    if (back) {
        CHECK_EQ(back->flags,
                 TL_B_messages_sendMessage_silent | TL_B_messages_sendMessage_no_webpage);
        tl_inputPeerUser *p = TL_AS(inputPeerUser, back->peer);
        CHECK(p && p->user_id == 5 && p->access_hash == 7);
        CHECK(back->random_id == 9);
        CHECK_STR(back->message.data, "hi");
    }

    /* inputMediaPhoto: 228's id:InputPhoto is required and 100 lacks it; 100's caption
     * is required and 228 lacks it; 228's live_photo and video share flags.2 and 100
     * has only live_photo (on flags.3) */
    tl_inputMediaPhoto *mp = TL_NEW(&arena, inputMediaPhoto);
    mp->id = &TL_NEW(&arena, inputPhotoEmpty)->base;
    TL_SET(inputMediaPhoto, live_photo, mp);
    mp->video = &TL_NEW(&arena, inputDocumentEmpty)->base;
    TL_SET(inputMediaPhoto, ttl_seconds, mp);
    mp->ttl_seconds = 30;
    tgb_buf_free(&out);
    CHECK_OK(tgb_tl_encode_object_to(m, &arena, &out, mp, &err));
    bytes want2 = {{0}, 0};
    b32(&want2, 0x10000001);
    b32(&want2, 1u << 3 | 1u << 0);
    bstr(&want2, ""); /* caption: the zero value */
    b32(&want2, 30);
    CHECK_EQ(out.len, want2.len);
    if (out.len == want2.len)
        CHECK_MEM(out.data, want2.data, want2.len);
    CHECK_OK(tgb_tl_decode_object_from(m, &arena, &tgb_tl_t_InputMedia, out.data, out.len, &o, NULL,
                                       &err));
    tl_inputMediaPhoto *mb = TL_AS(inputMediaPhoto, (tl_InputMedia *)o);
    CHECK(mb != NULL);
    if (mb) {
        CHECK(TL_HAS(inputMediaPhoto, live_photo, mb) && TL_HAS(inputMediaPhoto, video, mb));
        CHECK(TL_AS(inputDocumentEmpty, mb->video) != NULL); /* present by the shared bit */
        CHECK(TL_AS(inputPhotoEmpty, mb->id) != NULL);       /* required, 100 lacks it */
        CHECK_EQ(mb->ttl_seconds, 30);
        /* so that what was decoded always encodes */
        tgb_buf again;
        tgb_buf_init(&again, 0);
        CHECK_OK(tgb_tl_encode_object(&again, mb, &err));
        tgb_buf_free(&again);
    }

    /* 228's silent:Bool is 100's silent:flags.4?true */
    tl_account_setContactSignUpNotification *su =
        TL_NEW(&arena, account_setContactSignUpNotification);
    for (int yes = 0; yes <= 1; yes++) {
        su->silent = yes;
        tgb_buf_free(&out);
        CHECK_OK(tgb_tl_encode_object_to(m, &arena, &out, su, &err));
        CHECK_EQ(out.len, 8);
        CHECK_EQ(tgb_le32(out.data + 4), yes ? 1u << 4 : 0);
        CHECK_OK(tgb_tl_decode_object_from(m, &arena, NULL, out.data, out.len, &o, NULL, &err));
        CHECK(o && o->desc == &tgb_tl_c_account_setContactSignUpNotification &&
              ((tl_account_setContactSignUpNotification *)o)->silent == yes);
    }

    /* a Peer with an int id, read into 228's long */
    uint8_t pu[] = {0x6d, 0xbc, 0xb1, 0x9d, 0xff, 0xff, 0xff, 0xff};
    CHECK_OK(tgb_tl_decode_object_from(m, &arena, &tgb_tl_t_Peer, pu, 8, &o, NULL, &err));
    CHECK(o && TL_AS(peerUser, (tl_Peer *)o) && ((tl_peerUser *)o)->user_id == -1);
    /* and a type 100 does not have at all */
    CHECK_EQ(tgb_tl_decode_object_from(m, &arena, &tgb_tl_t_User, pu, 8, &o, NULL, &err),
             TGB_ERR_TL_UNKNOWN_ID);
    CHECK(strstr(err.message, "type User does not exist in layer 100") != NULL);
    tgb_buf_free(&out);
    tgb_arena_free(&arena);
    tgb_tl_layer_map_del(m);
}

/* ------------------------------------------------------------------ what 144 lacks */

static tl_message *text_message(tgb_arena *arena, int id)
{
    tl_message *m = TL_NEW(arena, message);
    tl_peerUser *peer = TL_NEW(arena, peerUser);
    peer->user_id = 5;
    m->id = id;
    m->peer_id = &peer->base;
    m->date = 1700000000;
    m->message = TL_STR("hello");
    return m;
}

static tl_MessageMedia *story_media(tgb_arena *arena)
{
    tl_messageMediaStory *st = TL_NEW(arena, messageMediaStory);
    tl_peerUser *peer = TL_NEW(arena, peerUser);
    peer->user_id = 6;
    st->peer = &peer->base;
    st->id = 3;
    return &st->base;
}

static int fallback_calls;

static const void *media_as_empty(void *user_data, tgb_arena *arena, const void *object)
{
    fallback_calls++;
    CHECK(user_data == &fallback_calls);
    const tl_object *o = object;
    if (o->desc != &tgb_tl_c_messageMediaStory)
        return NULL;
    return TL_NEW(arena, messageMediaEmpty);
}

static void test_missing_constructors(void)
{
    layer L;
    layer_open(&L, &tgb_tl_schema_layer144);
    CHECK(tgb_tl_find_name(&tgb_tl_schema_layer144, "messageMediaStory") == NULL);
    CHECK(tgb_tl_find_name(&tgb_tl_schema_layer144, "updateStory") == NULL);
    tgb_arena arena;
    tgb_arena_init(&arena, NULL, 0, 0);
    tgb_tl_error err = {0};
    tgb_buf out;
    tgb_buf_init(&out, 0);

    /* a story in a message: layer 144's messageMediaUnsupported */
    tl_message *msg = text_message(&arena, 10);
    TL_SET(message, media, msg);
    msg->media = story_media(&arena);
    CHECK_OK(tgb_tl_encode_object_to(L.map, &arena, &out, msg, &err));
    tl_object *o = NULL;
    CHECK_OK(tgb_tl_decode_object_from(L.map, &arena, &tgb_tl_t_Message, out.data, out.len, &o,
                                       NULL, &err));
    tl_message *back = TL_AS(message, (tl_Message *)o);
    CHECK(back && TL_HAS(message, media, back) &&
          TL_AS(messageMediaUnsupported, back->media) != NULL);
    if (back)
        CHECK_STR(back->message.data, "hello");
    /* byte for byte: message#38116ee0, flags.9 (media), the id, the peer... */
    CHECK_EQ(tgb_le32(out.data), 0x38116ee0);
    CHECK_EQ(tgb_le32(out.data + 4), 1u << 9);
    CHECK_EQ(tgb_le32(out.data + out.len - 4), 0x9f84f49e); /* the media, last */

    /* an Update 144 does not know is left out of updates.updates */
    tl_updates *ups = TL_NEW(&arena, updates);
    tl_Update *items[3];
    tl_updateStory *story = TL_NEW(&arena, updateStory);
    story->peer = msg->peer_id;
    story->story = &TL_NEW(&arena, storyItemDeleted)->base;
    tl_updateNewMessage *nm = TL_NEW(&arena, updateNewMessage);
    nm->message = &text_message(&arena, 11)->base;
    nm->pts = 100;
    nm->pts_count = 1;
    items[0] = &story->base;
    items[1] = &nm->base;
    items[2] = &story->base;
    ups->updates = (tl_vec_Update){items, 3};
    ups->date = 1700000001;
    ups->seq = 4;
    tgb_buf_free(&out);
    CHECK_OK(tgb_tl_encode_object_to(L.map, &arena, &out, ups, &err));
    CHECK_EQ(tgb_le32(out.data), 0x74ae4240);
    CHECK_EQ(tgb_le32(out.data + 4), TGB_TL_ID_VECTOR);
    CHECK_EQ(tgb_le32(out.data + 8), 1); /* the count says what was written */
    CHECK_OK(tgb_tl_decode_object_from(L.map, &arena, &tgb_tl_t_Updates, out.data, out.len, &o,
                                       NULL, &err));
    tl_updates *ub = TL_AS(updates, (tl_Updates *)o);
    CHECK(ub && ub->updates.count == 1 && ub->seq == 4);
    if (ub && ub->updates.count == 1) {
        tl_updateNewMessage *m = TL_AS(updateNewMessage, ub->updates.items[0]);
        CHECK(m && m->pts == 100 && TL_AS(message, m->message)->id == 11);
    }

    /* where no vector can drop it, it is an error */
    tl_updateShort *sh = TL_NEW(&arena, updateShort);
    sh->update = &story->base;
    tgb_buf_free(&out);
    CHECK_EQ(tgb_tl_encode_object_to(L.map, &arena, &out, sh, &err), TGB_ERR_TL_UNKNOWN_ID);
    CHECK(strstr(err.message, "updateStory has no equivalent in layer 144") != NULL);

    /* the fallback callback comes first: it makes the story an empty media */
    tgb_tl_layer_map_set_fallback(L.map, media_as_empty, &fallback_calls);
    tgb_buf_free(&out);
    CHECK_OK(tgb_tl_encode_object_to(L.map, &arena, &out, msg, &err));
    CHECK_EQ(tgb_le32(out.data + out.len - 4), 0x3ded6320); /* messageMediaEmpty */
    CHECK_EQ(fallback_calls, 1);
    /* and when it declines, the default rule still applies */
    tgb_buf_free(&out);
    CHECK_OK(tgb_tl_encode_object_to(L.map, &arena, &out, ups, &err));
    CHECK_EQ(tgb_le32(out.data + 8), 1);
    CHECK_EQ(fallback_calls, 3);
    tgb_tl_layer_map_set_fallback(L.map, NULL, NULL);

    /* a layer-144 constructor without a namesake in 228 cannot be read into ours */
    const tgb_tl_combinator *old = NULL;
    for (uint32_t i = 0; i < tgb_tl_schema_layer144.nctors && !old; i++) {
        const tgb_tl_combinator *c = tgb_tl_schema_layer144.ctors[i];
        if (!tgb_tl_find_name(api, c->name) && c->min_size < 64)
            old = c;
    }
    CHECK(old != NULL);
    if (old) {
        uint8_t buf[68] = {0};
        tgb_put_le32(buf, old->id);
        CHECK_EQ(
            tgb_tl_decode_object_from(L.map, &arena, NULL, buf, 4 + old->min_size, &o, NULL, &err),
            TGB_ERR_TL_UNKNOWN_ID);
        CHECK(strstr(err.message, "has no equivalent in layer 228") != NULL);
        CHECK(strstr(err.message, old->name) != NULL);
    }
    tgb_buf_free(&out);
    tgb_arena_free(&arena);
    layer_close(&L);
}

/* Values that are not boxed objects, as function results are: Vector<User>, Bool. */
static void test_top_level_values(void)
{
    layer L;
    layer_open(&L, &tgb_tl_schema_layer144);
    tgb_arena arena;
    tgb_arena_init(&arena, NULL, 0, 0);
    tgb_tl_error err = {0};
    tgb_buf out;
    tgb_buf_init(&out, 0);

    /* users.getUsers = Vector<User>: 228's user written as 144's, in a Vector */
    tl_user *u = TL_NEW(&arena, user);
    u->id = 42;
    tl_userEmpty *ue = TL_NEW(&arena, userEmpty);
    ue->id = 43;
    tl_User *items[] = {&u->base, &ue->base};
    tl_vec_User users = {items, 2};
    const tgb_tl_typeref *result = tgb_tl_c_users_getUsers.result;
    CHECK_OK(tgb_tl_encode_to(L.map, &arena, &out, result, &users, &err));
    bytes want = {{0}, 0};
    b32(&want, TGB_TL_ID_VECTOR);
    b32(&want, 2);
    b32(&want, 0x3ff6ecb0); /* 144's user: flags, id */
    b32(&want, 0);
    b64(&want, 42);
    b32(&want, 0xd3bc4b7a); /* userEmpty id:long, the same in both */
    b64(&want, 43);
    CHECK_EQ(out.len, want.len);
    if (out.len == want.len)
        CHECK_MEM(out.data, want.data, want.len);
    tl_vec_User back = {0};
    CHECK_OK(tgb_tl_decode_from(L.map, &arena, result, out.data, out.len, &back, NULL, &err));
    CHECK(back.count == 2 && TL_AS(user, back.items[0]) && TL_AS(user, back.items[0])->id == 42);
    CHECK(back.count == 2 && TL_AS(userEmpty, back.items[1]));

    /* Bool results */
    bool yes = true, got = false;
    tgb_buf_free(&out);
    CHECK_OK(tgb_tl_encode_to(L.map, &arena, &out, tgb_tl_c_messages_setTyping.result, &yes, &err));
    CHECK_EQ(out.len, 4);
    CHECK_EQ(tgb_le32(out.data), TGB_TL_ID_BOOL_TRUE);
    CHECK_OK(tgb_tl_decode_from(L.map, &arena, tgb_tl_c_messages_setTyping.result, out.data,
                                out.len, &got, NULL, &err));
    CHECK(got);

    /* a type 144 does not have, either way (err may be NULL) */
    tgb_buf_free(&out);
    const tgb_tl_typeref *stories = tgb_tl_c_stories_getAllStories.result;
    tl_stories_allStoriesNotModified *none = TL_NEW(&arena, stories_allStoriesNotModified);
    CHECK_EQ(tgb_tl_encode_to(L.map, &arena, &out, stories, &none, &err), TGB_ERR_TL_UNKNOWN_ID);
    CHECK(strstr(err.message, "type stories.AllStories does not exist in layer 144") != NULL);
    CHECK_EQ(tgb_tl_encode_to(L.map, &arena, &out, stories, &none, NULL), TGB_ERR_TL_UNKNOWN_ID);
    CHECK_EQ(tgb_tl_decode_from(L.map, &arena, stories, want.data, want.len, &none, NULL, NULL),
             TGB_ERR_TL_UNKNOWN_ID);

    /* invalid arguments */
    tl_object *o = NULL;
    CHECK_EQ(tgb_tl_decode_object_from(NULL, &arena, NULL, want.data, want.len, &o, NULL, &err),
             TGB_ERR_INVALID);
    CHECK_EQ(tgb_tl_decode_object_from(L.map, NULL, NULL, want.data, want.len, &o, NULL, &err),
             TGB_ERR_INVALID);
    CHECK_EQ(tgb_tl_decode_object_from(L.map, &arena, NULL, NULL, 4, &o, NULL, &err),
             TGB_ERR_INVALID);
    CHECK_EQ(tgb_tl_decode_object_from(L.map, &arena, NULL, NULL, 0, &o, NULL, &err),
             TGB_ERR_TL_TRUNCATED);
    CHECK_EQ(tgb_tl_encode_object_to(NULL, &arena, &out, u, &err), TGB_ERR_INVALID);
    CHECK_EQ(tgb_tl_encode_to(L.map, &arena, NULL, result, &users, &err), TGB_ERR_INVALID);
    tgb_buf_free(&out);
    tgb_arena_free(&arena);
    layer_close(&L);
}

/* Conversions the layers need: Bool <-> true, int <-> double. */
static void test_conversions(void)
{
    layer L;
    layer_open(&L, &tgb_tl_schema_layer144);
    tgb_arena arena;
    tgb_arena_init(&arena, NULL, 0, 0);
    tgb_tl_error err = {0};
    tgb_buf out;
    tgb_buf_init(&out, 0);

    /* 144: updatePeerBlocked#246a4b22 peer_id:Peer blocked:Bool
     * 228: updatePeerBlocked flags:# blocked:flags.0?true ... peer_id:Peer */
    const tgb_tl_combinator *old = tgb_tl_find_name(&tgb_tl_schema_layer144, "updatePeerBlocked");
    CHECK(old && old->id == 0x246a4b22);
    tl_updatePeerBlocked *pb = TL_NEW(&arena, updatePeerBlocked);
    tl_peerUser *peer = TL_NEW(&arena, peerUser);
    peer->user_id = 9;
    pb->peer_id = &peer->base;
    TL_SET(updatePeerBlocked, blocked, pb);
    CHECK_OK(tgb_tl_encode_object_to(L.map, &arena, &out, pb, &err));
    bytes want = {{0}, 0};
    b32(&want, 0x246a4b22);
    b32(&want, TL_ID_peerUser);
    b64(&want, 9);
    b32(&want, TGB_TL_ID_BOOL_TRUE);
    CHECK_EQ(out.len, want.len);
    if (out.len == want.len)
        CHECK_MEM(out.data, want.data, want.len);
    tl_object *o = NULL;
    CHECK_OK(tgb_tl_decode_object_from(L.map, &arena, NULL, out.data, out.len, &o, NULL, &err));
    CHECK(o && TL_HAS(updatePeerBlocked, blocked, (tl_updatePeerBlocked *)o));
    tgb_put_le32(out.data + out.len - 4, TGB_TL_ID_BOOL_FALSE);
    CHECK_OK(tgb_tl_decode_object_from(L.map, &arena, NULL, out.data, out.len, &o, NULL, &err));
    CHECK(o && !TL_HAS(updatePeerBlocked, blocked, (tl_updatePeerBlocked *)o));
    tgb_put_le32(out.data + out.len - 4, 0x12345678);
    CHECK_EQ(tgb_tl_decode_object_from(L.map, &arena, NULL, out.data, out.len, &o, NULL, &err),
             TGB_ERR_TL_BAD_VALUE);

    /* 144: documentAttributeVideo duration:int; 228: duration:double */
    tl_documentAttributeVideo *v = TL_NEW(&arena, documentAttributeVideo);
    v->duration = 61.75;
    v->w = 640;
    v->h = 480;
    tgb_buf_free(&out);
    CHECK_OK(tgb_tl_encode_object_to(L.map, &arena, &out, v, &err));
    CHECK_EQ(tgb_le32(out.data + 8), 61); /* id, flags, duration */
    CHECK_OK(tgb_tl_decode_object_from(L.map, &arena, NULL, out.data, out.len, &o, NULL, &err));
    CHECK(o && ((tl_documentAttributeVideo *)o)->duration == 61.0);
    v->duration = 1e300; /* saturates, no undefined conversion */
    tgb_buf_free(&out);
    CHECK_OK(tgb_tl_encode_object_to(L.map, &arena, &out, v, &err));
    CHECK_EQ(tgb_le32(out.data + 8), 0x7fffffff);

    tgb_buf_free(&out);
    tgb_arena_free(&arena);
    layer_close(&L);
}

/* ------------------------------------------------------------------ hostile input */

/* Valid layer-144 encodings to cut and mutate. */
static void sample_144(const layer *L, tgb_arena *arena, tgb_buf *out, int which)
{
    tgb_buf_init(out, 0);
    switch (which) {
    case 0: {
        bytes b = send_message_144();
        tgb_buf_append(out, b.data, b.len);
        break;
    }
    case 1: {
        bytes b = telethon_hello();
        tgb_buf_append(out, b.data, b.len);
        break;
    }
    default: {
        /* a full messages.messages, synthesised and written for 144 */
        synth s = {arena, 77, 1, 3};
        tl_object *o = synth_object(&s, &tgb_tl_c_messages_messages, 0);
        repair(&s, L, o, their_comb(L, o->desc), 0);
        CHECK_OK(tgb_tl_encode_object_to(L->map, arena, out, o, NULL));
    }
    }
}

static const int clean_errors[] = {
    TGB_ERR_TL_TRUNCATED, TGB_ERR_TL_UNKNOWN_ID, TGB_ERR_TL_WRONG_TYPE, TGB_ERR_TL_BAD_STRING,
    TGB_ERR_TL_BAD_VALUE, TGB_ERR_TL_TRAILING,   TGB_ERR_TL_TOO_LARGE,  TGB_ERR_TL_TOO_DEEP};

static int clean(int rc)
{
    for (size_t i = 0; i < sizeof(clean_errors) / sizeof(clean_errors[0]); i++)
        if (rc == clean_errors[i])
            return 1;
    return 0;
}

static void test_truncated(void)
{
    layer L;
    layer_open(&L, &tgb_tl_schema_layer144);
    for (int which = 0; which < 3; which++) {
        tgb_arena keep;
        tgb_arena_init(&keep, NULL, 0, 0);
        tgb_buf b;
        sample_144(&L, &keep, &b, which);
        CHECK(b.len > 16);
        int all = 1;
        for (size_t cut = 0; cut < b.len; cut++) {
            tgb_arena arena;
            tgb_arena_init(&arena, NULL, 0, 0);
            tl_object *o = NULL;
            tgb_tl_error err = {0};
            int rc = tgb_tl_decode_object_from(L.map, &arena, NULL, b.data, cut, &o, NULL, &err);
            all &= rc == TGB_ERR_TL_TRUNCATED && err.code == rc &&
                   strstr(err.message, "truncated") != NULL;
            tgb_arena_free(&arena);
        }
        CHECK(all);
        tgb_arena arena;
        tgb_arena_init(&arena, NULL, 0, 0);
        tl_object *o = NULL;
        size_t used = 0;
        CHECK_OK(tgb_tl_decode_object_from(L.map, &arena, NULL, b.data, b.len, &o, &used, NULL));
        CHECK_EQ(used, b.len);
        tgb_buf_append(&b, "\0\0\0\0", 4);
        CHECK_EQ(tgb_tl_decode_object_from(L.map, &arena, NULL, b.data, b.len, &o, NULL, NULL),
                 TGB_ERR_TL_TRAILING);
        tgb_arena_free(&arena);
        tgb_buf_free(&b);
        tgb_arena_free(&keep);
    }
    layer_close(&L);
}

static void test_lying_and_deep(void)
{
    layer L;
    layer_open(&L, &tgb_tl_schema_layer144);
    tgb_arena arena;
    tgb_arena_init(&arena, NULL, 0, 0);
    tgb_tl_error err;
    tl_object *o;

    /* updates with a vector claiming 2^31 updates in a few bytes: refused before allocating */
    bytes b = {{0}, 0};
    b32(&b, 0x74ae4240);
    b32(&b, TGB_TL_ID_VECTOR);
    b32(&b, 0x7fffffff);
    for (int i = 0; i < 8; i++) /* more than updates' shortest body, far fewer than 2^31 */
        b32(&b, 0x1234);
    CHECK_EQ(tgb_tl_decode_object_from(L.map, &arena, NULL, b.data, b.len, &o, NULL, &err),
             TGB_ERR_TL_TRUNCATED);
    CHECK(strstr(err.message, "a vector of 2147483647") != NULL);
    CHECK(arena.allocated <= 64);

    /* a string claiming 16 MiB */
    b.len = 0;
    b32(&b, 0x0d9d75a4);
    b32(&b, 0);
    b32(&b, 0x7da07ec9); /* inputPeerSelf */
    b32(&b, 0xffffffu << 8 | 254);
    for (int i = 0; i < 4; i++)
        b32(&b, 0);
    size_t before = arena.allocated;
    CHECK_EQ(tgb_tl_decode_object_from(L.map, &arena, NULL, b.data, b.len, &o, NULL, &err),
             TGB_ERR_TL_TRUNCATED);
    CHECK(arena.allocated - before <= 256);
    b.data[12] = 255;
    CHECK_EQ(tgb_tl_decode_object_from(L.map, &arena, NULL, b.data, b.len, &o, NULL, &err),
             TGB_ERR_TL_BAD_STRING);

    /* a field 228 can't take is skipped, but checked all the same: 144's
     * messages.votesList#823f649 flags:# count:int votes:Vector<MessageUserVote> ...
     * (228 has Vector<MessagePeerVote>), with a lying count */
    b.len = 0;
    b32(&b, 0x0823f649);
    b32(&b, 0);
    b32(&b, 1);
    b32(&b, TGB_TL_ID_VECTOR);
    b32(&b, 0x7fffffff);
    for (int i = 0; i < 3; i++)
        b32(&b, 0);
    before = arena.allocated;
    CHECK_EQ(tgb_tl_decode_object_from(L.map, &arena, NULL, b.data, b.len, &o, NULL, &err),
             TGB_ERR_TL_TRUNCATED);
    CHECK(strstr(err.message, "a vector of 2147483647 in messages.votesList.votes") != NULL);
    CHECK(arena.allocated - before <= 256);

    /* the arena cap turns a legal but large decode into TGB_ERR_TL_TOO_LARGE */
    tgb_arena small;
    tgb_arena_init(&small, NULL, 0, 256);
    bytes many = {{0}, 0};
    b32(&many, 0x74ae4240);
    b32(&many, TGB_TL_ID_VECTOR);
    b32(&many, 100);
    for (int i = 0; i < 100; i++)
        b32(&many, 0xa229dd06); /* updateConfig */
    b32(&many, TGB_TL_ID_VECTOR);
    b32(&many, 0);
    b32(&many, TGB_TL_ID_VECTOR);
    b32(&many, 0);
    b32(&many, 1);
    b32(&many, 2);
    CHECK_EQ(tgb_tl_decode_object_from(L.map, &small, NULL, many.data, many.len, &o, NULL, &err),
             TGB_ERR_TL_TOO_LARGE);
    tgb_arena_free(&small);
    CHECK_OK(tgb_tl_decode_object_from(L.map, &arena, NULL, many.data, many.len, &o, NULL, &err));
    CHECK(o && ((tl_updates *)o)->updates.count == 100);

    /* types: inputPeerSelf where a User belongs; a Vector where any object belongs */
    uint8_t self[] = {0xc9, 0x7e, 0xa0, 0x7d};
    CHECK_OK(
        tgb_tl_decode_object_from(L.map, &arena, &tgb_tl_t_InputPeer, self, 4, &o, NULL, &err));
    CHECK_EQ(tgb_tl_decode_object_from(L.map, &arena, &tgb_tl_t_User, self, 4, &o, NULL, &err),
             TGB_ERR_TL_WRONG_TYPE);
    CHECK(strstr(err.message, "inputPeerSelf") != NULL);
    uint8_t vec[] = {0x15, 0xc4, 0xb5, 0x1c, 0, 0, 0, 0};
    CHECK_EQ(tgb_tl_decode_object_from(L.map, &arena, NULL, vec, 8, &o, NULL, &err),
             TGB_ERR_TL_UNKNOWN_ID);
    CHECK(strstr(err.message, "element type") != NULL);
    uint8_t unknown[] = {0x78, 0x56, 0x34, 0x12};
    CHECK_EQ(tgb_tl_decode_object_from(L.map, &arena, NULL, unknown, 4, &o, NULL, &err),
             TGB_ERR_TL_UNKNOWN_ID);
    CHECK(strstr(err.message, "unknown constructor 12345678 of layer 144") != NULL);

    /* nesting: textBold#6724abc4 text:RichText 100 deep around textEmpty#dc3d824f */
    enum { DEPTH = 100 };
    uint8_t deep[4 * DEPTH + 4];
    for (int i = 0; i < DEPTH; i++)
        tgb_put_le32(deep + 4 * i, 0x6724abc4u);
    tgb_put_le32(deep + 4 * DEPTH, 0xdc3d824fu);
    CHECK_EQ(tgb_tl_decode_object_from(L.map, &arena, &tgb_tl_t_RichText, deep, sizeof(deep), &o,
                                       NULL, &err),
             TGB_ERR_TL_TOO_DEEP);
    size_t off = 4 * (DEPTH - (TGB_TL_MAX_DEPTH - 1));
    CHECK_OK(tgb_tl_decode_object_from(L.map, &arena, &tgb_tl_t_RichText, deep + off,
                                       sizeof(deep) - off, &o, NULL, &err));
    tgb_buf out;
    tgb_buf_init(&out, 0);
    CHECK_OK(tgb_tl_encode_object_to(L.map, &arena, &out, o, &err));
    CHECK_EQ(out.len, sizeof(deep) - off);
    tgb_buf_free(&out);

    /* encoding: a NULL where an object is required, a wrong type smuggled in */
    tl_updateShort *sh = TL_NEW(&arena, updateShort);
    tgb_buf_init(&out, 0);
    CHECK_EQ(tgb_tl_encode_object_to(L.map, &arena, &out, sh, &err), TGB_ERR_TL_MISSING);
    CHECK(strstr(err.message, "updateShort.update") != NULL);
    sh->update = (tl_Update *)(void *)TL_NEW(&arena, inputPeerSelf);
    CHECK_EQ(tgb_tl_encode_object_to(L.map, &arena, &out, sh, &err), TGB_ERR_TL_WRONG_TYPE);
    tgb_buf_free(&out);
    tgb_buf_init(&out, 16);
    CHECK_EQ(tgb_tl_encode_object_to(L.map, &arena, &out, text_message(&arena, 1), &err),
             TGB_ERR_LIMIT);
    tgb_buf_free(&out);
    tgb_arena_free(&arena);
    layer_close(&L);
}

/* Random bytes and mutations of valid encodings, through every layer: clean errors,
 * memory in proportion to the input, and what decodes writes and reads again. */
static void test_random_input(void)
{
    const tgb_tl_schema *layers[] = {&tgb_tl_schema_layer144, &tgb_tl_schema_layer198,
                                     &tgb_tl_schema_layer227};
    int decoded = 0, unclean = 0;
    size_t worst = 0;
    for (int li = 0; li < 3; li++) {
        layer L;
        layer_open(&L, layers[li]);
        for (int iter = 0; iter < 6000; iter++) {
            tgb_arena arena, keep;
            tgb_arena_init(&arena, NULL, 0, 1 << 20);
            tgb_arena_init(&keep, NULL, 0, 0);
            synth s = {&keep, 4242u + (uint32_t)iter * 7 + (uint32_t)li, iter & 1, 2};
            tgb_buf b;
            tgb_buf_init(&b, 0);
            if (iter % 4 == 0) {
                size_t n = synth_next(&s) % 64;
                for (size_t i = 0; i < n; i++) {
                    uint8_t byte = (uint8_t)synth_next(&s);
                    tgb_buf_append(&b, &byte, 1);
                }
                if (n >= 4 && (iter & 8))
                    tgb_put_le32(b.data,
                                 layers[li]->ctors[synth_next(&s) % layers[li]->nctors]->id);
            } else {
                const tgb_tl_combinator *tc =
                    layers[li]->ctors[synth_next(&s) % layers[li]->nctors];
                const tgb_tl_combinator *oc = tgb_tl_find_name(api, tc->name);
                if (oc && !oc->is_function) {
                    tl_object *o = synth_object(&s, oc, 0);
                    repair(&s, &L, o, tc, 0);
                    tgb_tl_encode_object_to(L.map, &keep, &b, o, NULL);
                }
                for (int k = 0; k < 3 && b.len; k++)
                    b.data[synth_next(&s) % b.len] ^= (uint8_t)(1u << (synth_next(&s) % 8));
                if (iter % 3 == 0 && b.len)
                    b.len = synth_next(&s) % b.len;
            }
            tl_object *o = NULL;
            tgb_tl_error err = {0};
            int rc = tgb_tl_decode_object_from(L.map, &arena, NULL, b.data, b.len, &o, NULL, &err);
            if (rc == 0) {
                decoded++;
                /* memory stays in proportion to the input, defaults included */
                size_t ratio = arena.allocated / (b.len ? b.len : 1);
                worst = ratio > worst ? ratio : worst;
                tgb_buf again;
                tgb_buf_init(&again, 0);
                CHECK_OK(tgb_tl_encode_object_to(L.map, &keep, &again, o, NULL));
                tl_object *o2 = NULL;
                CHECK_OK(tgb_tl_decode_object_from(L.map, &arena, NULL, again.data, again.len, &o2,
                                                   NULL, NULL));
                tgb_buf_free(&again);
            } else {
                unclean += !(clean(rc) && err.code == rc && err.message[0] != 0);
            }
            tgb_buf_free(&b);
            tgb_arena_free(&arena);
            tgb_arena_free(&keep);
        }
        layer_close(&L);
    }
    fprintf(stderr, "  %d of 18000 random inputs decoded; at most %zu arena bytes per input byte\n",
            decoded, worst);
    CHECK_EQ(unclean, 0);
    CHECK(decoded > 100);
    CHECK(worst < 256);
}

int main(void)
{
    RUN(test_map);
    RUN(test_identity_is_the_codec);
    RUN(test_roundtrip_144);
    RUN(test_roundtrip_198);
    RUN(test_roundtrip_227);
    RUN(test_user_to_144);
    RUN(test_send_message_from_144);
    RUN(test_invoke_with_layer_144);
    RUN(test_hand_built_layer);
    RUN(test_missing_constructors);
    RUN(test_conversions);
    RUN(test_top_level_values);
    RUN(test_truncated);
    RUN(test_lying_and_deep);
    RUN(test_random_input);
    return check_report();
}
