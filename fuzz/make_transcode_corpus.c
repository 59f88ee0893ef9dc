/*
 * Writes the seed corpus of fuzz_tl_transcode: for each older layer and a spread of
 * types both layers have, an object synthesised with every conditional field present
 * and one with none, written in that layer and prefixed with the four bytes that select
 * layer and type; and the request Telethon sends first. Deterministic; run by hand when
 * a schema changes:
 *     build/bin/make_transcode_corpus fuzz/corpus/tl_transcode
 */
#include "tl/tl.h"
#include "tl/tl_api.h"
#include "tl/tl_layers.h"
#include "tl/tl_transcode.h"
#include "tl_synth.h"

#include <stdio.h>

static int save(const char *dir, const char *name, const tgb_buf *b)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b->data, 1, b->len, f) != b->len)
        return -1;
    return fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    static const tgb_tl_schema *const layers[3] = {&tgb_tl_schema_layer144, &tgb_tl_schema_layer198,
                                                   &tgb_tl_schema_layer227};
    static const char *const always[] = {"Updates", "updates.Difference", "Message", "User",
                                         "Chat",    "messages.Messages"};
    const tgb_tl_schema *s = &tgb_tl_schema_api;
    int written = 0;
    for (int li = 0; li < 3; li++) {
        tgb_tl_layer_map *m = NULL;
        if (tgb_tl_layer_map_new(&m, s, layers[li]) != 0)
            return 1;
        for (uint32_t t = 0; t < s->ntypes; t++) {
            int pick = t % 16 == (uint32_t)li;
            for (size_t k = 0; k < sizeof(always) / sizeof(always[0]); k++)
                pick |= strcmp(s->types[t]->name, always[k]) == 0;
            if (!pick || !tgb_tl_find_type(layers[li], s->types[t]->name))
                continue;
            for (int all_on = 0; all_on <= 1; all_on++) {
                tgb_arena arena;
                tgb_arena_init(&arena, NULL, 0, 0);
                synth sy = {&arena, 2024u + t, all_on, 2};
                void *obj = synth_object(&sy, synth_pick(&sy, s->types[t], 0), 1);
                tgb_buf b;
                tgb_buf_init(&b, 0);
                uint8_t sel[4] = {(uint8_t)li, 1, (uint8_t)t, (uint8_t)(t >> 8)};
                tgb_buf_append(&b, sel, 4);
                /* objects the layer can't express where they are required are skipped */
                if (tgb_tl_encode_object_to(m, &arena, &b, obj, NULL) == 0 && b.len < 4096) {
                    char name[256];
                    snprintf(name, sizeof(name), "%d-%s-%s", layers[li]->layer, s->types[t]->name,
                             all_on ? "all" : "none");
                    if (save(argv[1], name, &b) != 0)
                        return 1;
                    written++;
                }
                tgb_buf_free(&b);
                tgb_arena_free(&arena);
            }
        }
        tgb_tl_layer_map_del(m);
    }
    /* invokeWithLayer(144, initConnection(..., help.getConfig())), as Telethon sends it */
    static const uint8_t hello[] = {
        0,    0,   0,   0,   0x0d, 0x0d, 0x9b, 0xda, 0x90, 0,   0,   0,    0xa9, 0x5e, 0xcd,
        0xc1, 0,   0,   0,   0,    0x39, 0x30, 0,    0,    2,   'P', 'C',  0,    5,    'L',
        'i',  'n', 'u', 'x', 0,    0,    6,    '1',  '.',  '2', '5', '.',  '1',  0,    2,
        'e',  'n', 0,   0,   0,    0,    0,    2,    'e',  'n', 0,   0x6b, 0x18, 0xf9, 0xc4};
    tgb_buf b = {(uint8_t *)hello, sizeof(hello), sizeof(hello), 0};
    if (save(argv[1], "144-telethon-hello", &b) != 0)
        return 1;
    printf("wrote %d seeds\n", written + 1);
    return 0;
}
