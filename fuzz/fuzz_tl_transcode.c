/*
 * Fuzz target: arbitrary bytes read as TL of an older layer (what a Telethon, GramJS or
 * mtcute client sends the emulator) into our layer-228 structs.
 *
 * Byte 0 picks the layer (144, 198, 227, modulo 3). Byte 1 odd: bytes 2-3 (little-endian,
 * modulo our number of types) pick the boxed type expected; byte 1 even: any constructor
 * or function. The rest is the encoding. Whatever decodes must be complete for our
 * schema (the generic codec writes it) and must write back in that layer and read again.
 */
#include "tl/tl.h"
#include "tl/tl_api.h"
#include "tl/tl_layers.h"
#include "tl/tl_transcode.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Built once and kept: maps are immutable and meant to live as long as the process. */
static tgb_tl_layer_map *maps[3];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const tgb_tl_schema *const layers[3] = {&tgb_tl_schema_layer144, &tgb_tl_schema_layer198,
                                                   &tgb_tl_schema_layer227};
    if (size < 4)
        return 0;
    const tgb_tl_schema *ours = &tgb_tl_schema_api;
    int li = data[0] % 3;
    if (!maps[li] && tgb_tl_layer_map_new(&maps[li], ours, layers[li]) != 0)
        abort();
    const tgb_tl_type *type = NULL;
    if (data[1] & 1)
        type = ours->types[(uint32_t)(data[2] | data[3] << 8) % ours->ntypes];
    data += 4;
    size -= 4;

    tgb_arena arena;
    tgb_arena_init(&arena, NULL, 0, (size_t)16 << 20);
    tl_object *obj = NULL;
    tgb_tl_error err = {0};
    if (tgb_tl_decode_object_from(maps[li], &arena, type, data, size, &obj, NULL, &err) == 0) {
        tgb_buf ours_bytes, theirs_bytes;
        tgb_buf_init(&ours_bytes, 0);
        tgb_buf_init(&theirs_bytes, 0);
        if (tgb_tl_encode_object(&ours_bytes, obj, &err) != 0)
            abort(); /* a required field was left without its default */
        if (tgb_tl_encode_object_to(maps[li], &arena, &theirs_bytes, obj, &err) != 0)
            abort();
        tl_object *again = NULL;
        if (tgb_tl_decode_object_from(maps[li], &arena, type, theirs_bytes.data, theirs_bytes.len,
                                      &again, NULL, &err) != 0)
            abort();
        if (again->desc != obj->desc)
            abort();
        tgb_buf_free(&ours_bytes);
        tgb_buf_free(&theirs_bytes);
    } else if (err.code == 0 || err.message[0] == 0) {
        abort(); /* every failure says what went wrong */
    }
    tgb_arena_free(&arena);
    return 0;
}
