/*
 * Fuzz target: arbitrary bytes decoded as a boxed TL object of any type of layer 228.
 * The first two bytes pick the type (little-endian, modulo the number of types + 1;
 * the extra value means "any constructor or function"); the rest is the encoding.
 * Whatever decodes must encode, decode again, and print the same JSON both times.
 */
#include "tl/tl.h"
#include "tl/tl_api.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const tgb_tl_schema *s = &tgb_tl_schema_api;
    uint32_t pick = (uint32_t)(data[0] | data[1] << 8) % (s->ntypes + 1);
    const tgb_tl_type *type = pick < s->ntypes ? s->types[pick] : NULL;
    data += 2;
    size -= 2;

    tgb_arena arena;
    tgb_arena_init(&arena, NULL, 0, (size_t)16 << 20);
    tl_object *obj = NULL;
    tgb_tl_error err;
    size_t used = 0;
    if (tgb_tl_decode_object(s, &arena, type, data, size, &obj, &used, &err) == 0) {
        tgb_buf out;
        tgb_buf_init(&out, 0);
        if (tgb_tl_encode_object(&out, obj, &err) != 0)
            abort();
        tl_object *again = NULL;
        if (tgb_tl_decode_object(s, &arena, type, out.data, out.len, &again, NULL, &err) != 0)
            abort();
        char *a = tgb_tl_to_json(obj), *b = tgb_tl_to_json(again);
        if (!a || !b || strcmp(a, b) != 0)
            abort();
        free(a);
        free(b);
        tgb_buf_free(&out);
    } else if (err.code == 0 || err.message[0] == 0) {
        abort(); /* every failure says what went wrong */
    }
    tgb_arena_free(&arena);
    return 0;
}
