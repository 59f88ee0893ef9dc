/*
 * Reading and writing TL of another layer with the structs of ours.
 *
 * Telegram serves a client in the layer the client named in invokeWithLayer. The
 * emulator does the same: it decodes a layer-144 request into our layer-228 structs, and
 * encodes its layer-228 answers with layer 144's constructors. A layer map pairs the two
 * schemas by name:
 *
 * - constructors by name (ids differ between layers: `user` is 0x31774388 in 227 and
 *   0xb1b8cc83 in 228), boxed types by name;
 * - fields by name; flag words are recomputed for the target layer from which fields
 *   are present (the same field often has another bit in another layer);
 * - a field the target lacks is dropped; a field only the target has is absent when
 *   conditional, else gets its type's zero value (0, "", false, empty vector, and for an
 *   object the type's "...Empty" constructor, else its constructor with the fewest
 *   required fields, recursively);
 * - int and long convert into each other (old layers had 32-bit user ids); other kind
 *   mismatches get the zero value;
 * - an object whose constructor the target lacks gets its nearest equivalent: what the
 *   `fallback` callback returns, else the type's "...Unsupported" constructor (e.g.
 *   messageMediaUnsupported), else its "...Empty" one; a vector element with no
 *   equivalent is left out of the vector (an update a layer does not know is not sent to
 *   it); anywhere else it is an error (TGB_ERR_TL_UNKNOWN_ID).
 */
#ifndef TGB_TL_TL_TRANSCODE_H
#define TGB_TL_TL_TRANSCODE_H

#include "tl/tl.h"

typedef struct tgb_tl_layer_map tgb_tl_layer_map;

/**
 * Returns what to write instead of `object` (a constructor of ours the other layer
 * lacks): another object of ours of the same boxed type, allocated in `arena`, or NULL
 * for the default rule.
 */
typedef const void *(*tgb_tl_fallback_fn)(void *user_data, tgb_arena *arena, const void *object);

/**
 * Pairs `ours` (a schema with structs, e.g. tgb_tl_schema_api) with `theirs` (any
 * schema, e.g. tgb_tl_schema_layer144). The map is immutable afterwards and can be
 * shared between threads. TGB_ERR_INVALID if `ours` has no structs.
 */
int tgb_tl_layer_map_new(tgb_tl_layer_map **out, const tgb_tl_schema *ours,
                         const tgb_tl_schema *theirs);

/** Frees a map. NULL-safe. */
void tgb_tl_layer_map_del(tgb_tl_layer_map *m);

/** Sets the nearest-equivalent hook (see the top of this file). */
void tgb_tl_layer_map_set_fallback(tgb_tl_layer_map *m, tgb_tl_fallback_fn fn, void *user_data);

/** The layer number of the other schema. */
int tgb_tl_layer_map_layer(const tgb_tl_layer_map *m);

/**
 * Decodes bytes written in the other layer into a value of ours, as tgb_tl_decode does
 * (same bounds, depth and allocation guarantees; `type` is a typeref of ours).
 */
int tgb_tl_decode_from(const tgb_tl_layer_map *m, tgb_arena *arena, const tgb_tl_typeref *type,
                       const uint8_t *data, size_t len, void *slot, size_t *consumed,
                       tgb_tl_error *err);

/** Decodes one boxed object written in the other layer (`type`: ours, or NULL for any). */
int tgb_tl_decode_object_from(const tgb_tl_layer_map *m, tgb_arena *arena,
                              const tgb_tl_type *type, const uint8_t *data, size_t len,
                              tl_object **out, size_t *consumed, tgb_tl_error *err);

/**
 * Encodes a value of ours (`type` a typeref of ours) as the other layer writes it.
 * `arena` holds fallback objects (may be NULL if none are needed).
 */
int tgb_tl_encode_to(const tgb_tl_layer_map *m, tgb_arena *arena, tgb_buf *out,
                     const tgb_tl_typeref *type, const void *slot, tgb_tl_error *err);

/** Encodes one boxed object of ours as the other layer writes it. */
int tgb_tl_encode_object_to(const tgb_tl_layer_map *m, tgb_arena *arena, tgb_buf *out,
                            const void *object, tgb_tl_error *err);

#endif
