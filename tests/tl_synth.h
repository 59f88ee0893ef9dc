/*
 * Synthesises a value for any TL type by walking the descriptors: used to round-trip
 * every constructor and function of a schema, and by the benchmarks. Values are
 * deterministic (a seed), with conditional fields either all present ("all on": every
 * bit a field refers to is set) or all absent. Nesting is cut off at a depth so that
 * recursive types end.
 */
#ifndef TGB_TESTS_TL_SYNTH_H
#define TGB_TESTS_TL_SYNTH_H

#include "tl/tl.h"
#include "tl/tl_api.h"

#include <string.h>

typedef struct synth {
    tgb_arena *arena;
    uint32_t seed;
    int all_on;    /* conditional fields present */
    int max_depth; /* below this, objects are the simplest constructor and vectors empty */
} synth;

static uint32_t synth_next(synth *s)
{
    s->seed ^= s->seed << 13;
    s->seed ^= s->seed >> 17;
    s->seed ^= s->seed << 5;
    return s->seed;
}

static void *synth_object(synth *s, const tgb_tl_combinator *c, int depth);

/* How much a constructor would grow the tree: its unconditional nested values. */
static int synth_weight(const tgb_tl_combinator *c)
{
    int w = 0;
    for (int i = 0; i < c->nfields; i++) {
        int k = c->fields[i].kind;
        if (c->fields[i].flag_field < 0 &&
            (k == TGB_TL_OBJECT || k == TGB_TL_BARE || k == TGB_TL_ANY))
            w++;
    }
    return w;
}

static const tgb_tl_combinator *synth_pick(synth *s, const tgb_tl_type *t, int depth)
{
    if (depth < s->max_depth)
        return t->ctors[synth_next(s) % t->nctors];
    const tgb_tl_combinator *best = t->ctors[0];
    for (int i = 1; i < t->nctors; i++)
        if (synth_weight(t->ctors[i]) < synth_weight(best))
            best = t->ctors[i];
    return best;
}

static void synth_value(synth *s, const tgb_tl_typeref *t, void *slot, int depth)
{
    uint32_t r = synth_next(s);
    switch ((tgb_tl_kind)t->kind) {
    case TGB_TL_INT: *(int32_t *)slot = (int32_t)r; break;
    case TGB_TL_FLAGS: *(uint32_t *)slot = 0; break;
    case TGB_TL_LONG: *(int64_t *)slot = (int64_t)((uint64_t)r << 32 | synth_next(s)); break;
    case TGB_TL_DOUBLE: *(double *)slot = (double)(int32_t)r / 8.0; break;
    case TGB_TL_STRING:
    case TGB_TL_BYTES: {
        /* lengths on both sides of the 1-byte / 4-byte length prefix boundary */
        static const size_t lens[] = {0, 1, 3, 4, 253, 254, 300};
        size_t n = lens[r % 7];
        char *p = tgb_arena_alloc(s->arena, n + 1);
        for (size_t i = 0; i < n; i++)
            p[i] = (char)('a' + (synth_next(s) % 26));
        p[n] = 0;
        ((tgb_tl_string *)slot)->data = p;
        ((tgb_tl_string *)slot)->len = n;
        break;
    }
    case TGB_TL_INT128:
    case TGB_TL_INT256:
        for (size_t i = 0; i < (t->kind == TGB_TL_INT128 ? 16u : 32u); i++)
            ((uint8_t *)slot)[i] = (uint8_t)synth_next(s);
        break;
    case TGB_TL_BOOL: *(bool *)slot = r & 1; break;
    case TGB_TL_TRUE: break;
    case TGB_TL_OBJECT:
        *(void **)slot = synth_object(s, synth_pick(s, t->type, depth), depth + 1);
        break;
    case TGB_TL_BARE: *(void **)slot = synth_object(s, t->ctor, depth + 1); break;
    case TGB_TL_ANY:
        /* any object: a small function, as in invokeWithLayer(help.getConfig) */
        *(void **)slot = synth_object(s, &tgb_tl_c_help_getConfig, depth + 1);
        break;
    case TGB_TL_VECTOR:
    case TGB_TL_BARE_VECTOR: {
        tgb_tl_vector *v = slot;
        v->count = depth < s->max_depth ? 2 : 0;
        size_t size = tgb_tl_value_size(t->elem);
        v->items = v->count ? tgb_arena_zalloc(s->arena, size * v->count) : NULL;
        for (uint32_t i = 0; i < v->count; i++)
            synth_value(s, t->elem, (uint8_t *)v->items + size * i, depth + 1);
        break;
    }
    }
}

static void *synth_object(synth *s, const tgb_tl_combinator *c, int depth)
{
    uint8_t *o = tgb_tl_new(s->arena, c);
    int on = s->all_on && depth < s->max_depth + 2;
    for (int i = 0; i < c->nfields; i++) {
        const tgb_tl_field *f = &c->fields[i];
        if (f->kind == TGB_TL_TRUE)
            continue;
        if (f->kind == TGB_TL_FLAGS) {
            uint32_t bits = 0;
            for (int k = 0; k < c->nfields; k++)
                if (on && c->fields[k].flag_field == i)
                    bits |= 1u << c->fields[k].flag_bit;
            memcpy(o + f->offset, &bits, 4);
            continue;
        }
        if (f->flag_field >= 0 && !on)
            continue;
        synth_value(s, f->type, o + f->offset, depth);
    }
    return o;
}

#endif
