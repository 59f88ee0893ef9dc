/*
 * tl/: TL (Type Language) objects, the serialisation of every MTProto message.
 *
 * tools/tlgen reads the schemas in tl/schema/ at build time and emits, for every
 * constructor and function, a C struct and a descriptor (tgb_tl_combinator): its id,
 * name and fields with their types, struct offsets and flag bits. One generic,
 * table-driven codec (tl_codec.c) walks the descriptors to turn bytes into structs and
 * back, and a printer (tl_print.c) renders any object as JSON. There is no per-type
 * hand-written code, so a new layer is a new schema file and a rebuild; a field that
 * changed shows up as a compile error where it is used.
 *
 * How objects look in C (the generated header tl/tl_api.h has them all):
 *
 *     struct tl_inputPeerUser {          // inputPeerUser#dde8a54c
 *         tl_InputPeer base;             // base.desc == &tgb_tl_c_inputPeerUser
 *         int64_t user_id;
 *         int64_t access_hash;
 *     };
 *
 * - Every object starts with a pointer to its descriptor, wrapped in a struct named
 *   after its boxed type (tl_InputPeer), so a field of type InputPeer is a
 *   `tl_InputPeer *` and only constructors of InputPeer fit in it (`&u->base`).
 *   Functions use tl_object as their base. TL_ID(obj) gives the constructor id and
 *   TL_AS(ctor, obj) a checked downcast (NULL if obj is another constructor).
 * - int -> int32_t, long -> int64_t, double -> double, Bool -> bool, # -> uint32_t,
 *   int128/int256 -> uint8_t[16]/[32], string -> tgb_tl_string, bytes -> tgb_tl_bytes
 *   (both NUL-terminated when decoded), boxed types -> pointer to the type's struct,
 *   bare constructors -> pointer to the constructor's struct, Vector<T> / vector<T> ->
 *   tl_vec_<T> {T *items; uint32_t count;}, !X and Object -> tl_object *.
 * - Flags words are authoritative: a conditional field (`flags.N?T`) is present when
 *   its bit is set, whatever the field holds; `flags.N?true` fields have no storage at
 *   all. TL_HAS(ctor, field, obj) / TL_SET(ctor, field, obj) / TL_CLEAR(...) read and
 *   write the right bit of the right word (flags or flags2). Field names that are C
 *   keywords get a trailing underscore (`default_`, `long_`); the descriptor keeps the
 *   TL name.
 *
 * Ownership: decoded objects, with all their strings and vectors, live in the arena
 * given to the decoder and die with it. Objects built for encoding can live anywhere;
 * the encoder only reads them.
 */
#ifndef TGB_TL_TL_H
#define TGB_TL_TL_H

#include "base/arena.h"
#include "base/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ descriptors */

typedef enum tgb_tl_kind {
    TGB_TL_INT,         /* int32_t */
    TGB_TL_LONG,        /* int64_t */
    TGB_TL_DOUBLE,      /* double */
    TGB_TL_STRING,      /* tgb_tl_string */
    TGB_TL_BYTES,       /* tgb_tl_bytes */
    TGB_TL_INT128,      /* uint8_t[16] */
    TGB_TL_INT256,      /* uint8_t[32] */
    TGB_TL_FLAGS,       /* uint32_t, the `#` type */
    TGB_TL_TRUE,        /* flags.N?true: no storage, nothing on the wire */
    TGB_TL_BOOL,        /* bool, boxed on the wire as boolTrue / boolFalse */
    TGB_TL_OBJECT,      /* a boxed object of `type`: pointer */
    TGB_TL_BARE,        /* the bare constructor `ctor` (no id on the wire): pointer */
    TGB_TL_VECTOR,      /* Vector<elem>: id 0x1cb5c415, count, elements */
    TGB_TL_BARE_VECTOR, /* vector<elem>: count, elements */
    TGB_TL_ANY          /* !X or Object: any boxed object the schema knows: pointer */
} tgb_tl_kind;

struct tgb_tl_type;
struct tgb_tl_combinator;

/** A type as it appears in a field or a function's result. */
typedef struct tgb_tl_typeref {
    uint8_t kind;                         /* tgb_tl_kind */
    uint32_t min_size;                    /* fewest wire bytes a value can take */
    const struct tgb_tl_type *type;       /* TGB_TL_OBJECT */
    const struct tgb_tl_combinator *ctor; /* TGB_TL_BARE */
    const struct tgb_tl_typeref *elem;    /* TGB_TL_VECTOR, TGB_TL_BARE_VECTOR */
} tgb_tl_typeref;

/** One field of a combinator. */
typedef struct tgb_tl_field {
    const char *name; /* the TL name */
    const tgb_tl_typeref *type;
    uint16_t offset;   /* in the C struct; 0 in tables without structs */
    uint8_t kind;      /* type->kind, kept here for the hot path */
    int8_t flag_field; /* index of the # field that conditions it, or -1 */
    uint8_t flag_bit;  /* the bit in that field */
} tgb_tl_field;

/** A constructor or a function. */
typedef struct tgb_tl_combinator {
    uint32_t id;
    uint8_t is_function;
    uint16_t nfields;
    uint32_t size;                  /* sizeof the C struct; 0 without structs */
    uint32_t min_size;              /* fewest wire bytes of the bare body */
    const char *name;               /* "inputPeerUser", "messages.sendMessage" */
    const struct tgb_tl_type *type; /* constructors: the boxed type they build */
    const tgb_tl_typeref *result;   /* functions: the type of the answer */
    const tgb_tl_field *fields;
} tgb_tl_combinator;

/** A boxed type and its constructors. */
typedef struct tgb_tl_type {
    const char *name; /* "InputPeer", "messages.Messages" */
    uint16_t nctors;
    const tgb_tl_combinator *const *ctors;
} tgb_tl_type;

/** A whole schema: every constructor, function and type of one layer. */
typedef struct tgb_tl_schema {
    const char *name;
    int layer;
    int has_structs; /* 0 for descriptor-only tables (older layers) */
    uint32_t nctors, nfunctions, ntypes;
    const tgb_tl_combinator *const *ctors;     /* in schema order */
    const tgb_tl_combinator *const *functions; /* in schema order */
    const tgb_tl_type *const *types;           /* in order of first appearance */
    uint32_t id_mask;                          /* id table size - 1 (a power of 2) */
    const tgb_tl_combinator *const *by_id;     /* open addressing on id & mask */
} tgb_tl_schema;

/** Finds a constructor or function by id; NULL if the schema has none. */
const tgb_tl_combinator *tgb_tl_find_id(const tgb_tl_schema *schema, uint32_t id);

/** Finds a constructor or function by TL name (linear; for tools and tests). */
const tgb_tl_combinator *tgb_tl_find_name(const tgb_tl_schema *schema, const char *name);

/** Finds a boxed type by name (linear; for tools and tests). */
const tgb_tl_type *tgb_tl_find_type(const tgb_tl_schema *schema, const char *name);

/* ------------------------------------------------------------------ values */

/** The size in memory of a value of `t`: a struct member or one vector item. */
size_t tgb_tl_value_size(const tgb_tl_typeref *t);

typedef struct tgb_tl_string {
    const char *data; /* NUL-terminated when decoded; NULL only if len == 0 */
    size_t len;
} tgb_tl_string;

typedef struct tgb_tl_bytes {
    const uint8_t *data; /* NUL-terminated when decoded; NULL only if len == 0 */
    size_t len;
} tgb_tl_bytes;

/** The layout every tl_vec_<T> shares. */
typedef struct tgb_tl_vector {
    void *items;
    uint32_t count;
} tgb_tl_vector;

/** The common head of every object: a pointer to its descriptor. */
typedef struct tl_object {
    const tgb_tl_combinator *desc;
} tl_object;

/** Elements of a Vector<int128> / Vector<int256> (fields use plain arrays). */
typedef struct tgb_tl_int128 {
    uint8_t bytes[16];
} tgb_tl_int128;
typedef struct tgb_tl_int256 {
    uint8_t bytes[32];
} tgb_tl_int256;

#define TGB_TL_ID_VECTOR     0x1cb5c415u
#define TGB_TL_ID_BOOL_TRUE  0x997275b5u
#define TGB_TL_ID_BOOL_FALSE 0xbc799737u

/** The constructor id of an object (any struct whose first member is a descriptor). */
#define TL_ID(obj) ((obj)->desc->id)

/** A string literal as a tgb_tl_string. */
#define TL_STR(literal) ((tgb_tl_string){(literal), sizeof(literal) - 1})

/*
 * TL_AS(ctor, obj): obj as a `tl_<ctor> *` if it is that constructor, else NULL.
 * obj must be a pointer to ctor's boxed type (checked at compile time) and is
 * evaluated more than once.
 */
#define TL_AS(ctor, obj)                          \
    ((void)sizeof((obj) == (tl_boxed_##ctor *)0), \
     ((obj) && (obj)->desc == &tgb_tl_c_##ctor) ? (tl_##ctor *)(void *)(obj) : (tl_##ctor *)0)

/* Conditional fields: the bit of field `field` of constructor `ctor` in object `obj`. */
#define TL_HAS(ctor, field, obj)   (((obj)->TL_W_##ctor##_##field & TL_B_##ctor##_##field) != 0)
#define TL_SET(ctor, field, obj)   ((obj)->TL_W_##ctor##_##field |= TL_B_##ctor##_##field)
#define TL_CLEAR(ctor, field, obj) ((obj)->TL_W_##ctor##_##field &= ~TL_B_##ctor##_##field)

/**
 * A new zeroed object of constructor `ctor` in `arena`, its descriptor set, or NULL.
 * E.g. `tl_inputPeerUser *u = TL_NEW(arena, inputPeerUser);`
 */
#define TL_NEW(arena, ctor) ((tl_##ctor *)tgb_tl_new(arena, &tgb_tl_c_##ctor))
void *tgb_tl_new(tgb_arena *arena, const tgb_tl_combinator *c);

/* ------------------------------------------------------------------ codec */

/** Nesting deeper than this is refused (TGB_ERR_TL_TOO_DEEP). */
#define TGB_TL_MAX_DEPTH 64

/** What went wrong and where, for logs: filled by a failing encode or decode. */
typedef struct tgb_tl_error {
    int code;          /* the tgb_error returned */
    size_t offset;     /* decoding: byte offset into the input */
    char message[192]; /* e.g. "truncated at offset 12 in inputPeerUser.access_hash" */
} tgb_tl_error;

/**
 * Decodes one value of `type` from `data` into `*slot`, a variable of that type's C
 * representation (e.g. a `tl_Updates *` for an Updates object, a `tl_vec_User` for
 * Vector<User>, a `bool` for Bool). Allocates from `arena` only. Untrusted input is
 * fine: every read is bounds-checked, nesting is capped at TGB_TL_MAX_DEPTH, and a
 * declared length or count larger than the bytes left is refused before anything is
 * allocated. If `consumed` is NULL, bytes left after the value are an error
 * (TGB_ERR_TL_TRAILING); otherwise *consumed receives the bytes used.
 * Returns 0 or a negative tgb_error, with `err` (may be NULL) saying where.
 * On error the arena may hold partial objects; they are freed with it.
 */
int tgb_tl_decode(const tgb_tl_schema *schema, tgb_arena *arena, const tgb_tl_typeref *type,
                  const uint8_t *data, size_t len, void *slot, size_t *consumed, tgb_tl_error *err);

/**
 * Decodes one boxed object. `type` is the boxed type it must belong to, or NULL for any
 * constructor or function of the schema. *out points into `arena`.
 */
int tgb_tl_decode_object(const tgb_tl_schema *schema, tgb_arena *arena, const tgb_tl_type *type,
                         const uint8_t *data, size_t len, tl_object **out, size_t *consumed,
                         tgb_tl_error *err);

/**
 * Appends the serialisation of `*slot`, a value of `type`, to `out`.
 * TGB_ERR_TL_MISSING if a required object pointer is NULL or a flag marks present a
 * NULL object; TGB_ERR_TL_TOO_DEEP; TGB_ERR_LIMIT / TGB_ERR_NOMEM from the buffer.
 * On error `out` may hold a partial encoding; its length before the call is where to
 * cut it back.
 */
int tgb_tl_encode(tgb_buf *out, const tgb_tl_typeref *type, const void *slot, tgb_tl_error *err);

/** Appends a boxed object (its id, then its fields). */
int tgb_tl_encode_object(tgb_buf *out, const void *object, tgb_tl_error *err);

/** Appends only the fields of an object, without its id (a bare constructor). */
int tgb_tl_encode_bare(tgb_buf *out, const void *object, tgb_tl_error *err);

/* ------------------------------------------------------------------ printer */

/**
 * Appends `*slot` (a value of `type`) to `out` as compact JSON: objects as
 * {"_":"name",field:value...} in schema order, absent conditional fields left out,
 * set `true` flags as true, longs as numbers, bytes and int128/int256 as hex strings,
 * strings escaped (invalid UTF-8 bytes as \u00XX). Not NUL-terminated.
 */
int tgb_tl_print(tgb_buf *out, const tgb_tl_typeref *type, const void *slot);

/** As tgb_tl_print for a boxed object (or NULL, printed as null). */
int tgb_tl_print_object(tgb_buf *out, const void *object);

/**
 * Returns a malloc'd NUL-terminated JSON rendering of a boxed object, for logs and
 * tests; the caller frees it. NULL if out of memory.
 */
char *tgb_tl_to_json(const void *object);

#endif
