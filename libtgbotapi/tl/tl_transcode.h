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
 *   are present (the same field often has another bit in another layer). A bit stands
 *   for every field that names it: if one of them is present, all of them are, and
 *   those without a value of their own get the zero value below;
 * - a field the target lacks is dropped; a field only the target has is absent when
 *   conditional, else gets its type's zero value (0, "", false, empty vector, and for an
 *   object the type's "...Empty" constructor, else its constructor with the fewest
 *   required fields, recursively);
 * - int and long convert into each other (old layers had 32-bit user ids; a long that
 *   does not fit wraps), and so do int/long and double (documentAttributeVideo.duration,
 *   saturating); string and bytes, and Vector and vector, are the same on the wire; a
 *   Bool and a `flags.N?true` carry the same yes/no (updatePeerBlocked.blocked); other
 *   kind mismatches, and objects of types with other names, count as the field missing
 *   on that side: absent when conditional, else the zero value;
 * - an object whose constructor the target lacks gets its nearest equivalent: what the
 *   `fallback` callback returns, else the type's "...Unsupported" constructor (e.g.
 *   messageMediaUnsupported), else its "...Empty" one; a vector element with no
 *   equivalent is left out of the vector (an update a layer does not know is not sent to
 *   it); anywhere else it is an error (TGB_ERR_TL_UNKNOWN_ID). "Lacks" also covers a
 *   namesake that builds another boxed type there.
 *
 * Reading has no fallback: a constructor of theirs without a namesake of ours is
 * TGB_ERR_TL_UNKNOWN_ID (a request we can't represent fails rather than changing its
 * meaning), one whose namesake is of another type than expected TGB_ERR_TL_WRONG_TYPE.
 * Fields ours lacks are still read, with their descriptors, and dropped. Meaning that
 * moved to a field of another name (144's reply_to_msg_id:int, 228's
 * reply_to:InputReplyTo) is not carried over: that is the caller's business.
 */
#ifndef TGB_TL_TL_TRANSCODE_H
#define TGB_TL_TL_TRANSCODE_H

#include "tl/tl.h"

typedef struct tgb_tl_layer_map tgb_tl_layer_map;

/**
 * Returns what to write instead of `object` (a constructor of ours the other layer
 * lacks): another object of ours of the same boxed type, allocated in `arena` (the one
 * given to tgb_tl_encode_to), or NULL for the default rule. Called once per such
 * object; if what it returns has no equivalent either, the default rule applies.
 */
typedef const void *(*tgb_tl_fallback_fn)(void *user_data, tgb_arena *arena, const void *object);

/**
 * Pairs `ours` (a schema with structs, e.g. tgb_tl_schema_api) with `theirs` (any
 * schema, e.g. tgb_tl_schema_layer144). The map is immutable afterwards (but for
 * tgb_tl_layer_map_set_fallback, to be called before sharing it) and can be shared
 * between threads; it refers to both schemas, which must outlive it. Takes about 2 ms
 * and 175 KB for 228 and 144. *out is NULL on error: TGB_ERR_INVALID if `out`, `ours`
 * or `theirs` is NULL, `ours` has no structs, or a combinator has more than 8 flag
 * words; TGB_ERR_NOMEM.
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
 * (same bounds, depth and allocation guarantees; `type` is a typeref of ours, and
 * TGB_ERR_TL_UNKNOWN_ID if its type does not exist in the other layer). Objects are
 * complete for our schema: required fields the other layer lacks hold their zero value
 * (objects: the type's "...Empty" or simplest constructor, allocated in `arena` too, so
 * memory is still bounded by a constant times the input), so the result encodes; only
 * a required `!X`/Object field stays NULL, having no zero value. TGB_ERR_TL_MISSING if
 * a required object has no constructor to build (only the service messages' types).
 */
int tgb_tl_decode_from(const tgb_tl_layer_map *m, tgb_arena *arena, const tgb_tl_typeref *type,
                       const uint8_t *data, size_t len, void *slot, size_t *consumed,
                       tgb_tl_error *err);

/** Decodes one boxed object written in the other layer (`type`: ours, or NULL for any). */
int tgb_tl_decode_object_from(const tgb_tl_layer_map *m, tgb_arena *arena, const tgb_tl_type *type,
                              const uint8_t *data, size_t len, tl_object **out, size_t *consumed,
                              tgb_tl_error *err);

/**
 * Encodes a value of ours (`type` a typeref of ours) as the other layer writes it.
 * `arena` holds fallback objects (may be NULL if none are needed). Errors as
 * tgb_tl_encode, plus TGB_ERR_TL_UNKNOWN_ID for an object with no equivalent where
 * it can't be left out, or a `type` the other layer does not have. On error `out` may
 * hold a partial encoding.
 */
int tgb_tl_encode_to(const tgb_tl_layer_map *m, tgb_arena *arena, tgb_buf *out,
                     const tgb_tl_typeref *type, const void *slot, tgb_tl_error *err);

/** Encodes one boxed object of ours as the other layer writes it. */
int tgb_tl_encode_object_to(const tgb_tl_layer_map *m, tgb_arena *arena, tgb_buf *out,
                            const void *object, tgb_tl_error *err);

#endif
