/*
 * Writes the seed corpus of fuzz_tl_decode: for a spread of types, an object synthesised
 * with every conditional field present and one with none, each prefixed with the two
 * bytes that select its type. Deterministic; run by hand when the schema changes:
 *     build/bin/make_tl_corpus fuzz/corpus/tl_decode
 */
#include "tl/tl.h"
#include "tl/tl_api.h"
#include "tl_synth.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const tgb_tl_schema *s = &tgb_tl_schema_api;
    int written = 0;
    /* every 8th type, plus the ones a bot's session decodes all day */
    static const char *const always[] = {"Updates", "updates.Difference", "Message", "User", "Chat",
                                         "ResPQ",   "Server_DH_Params",   "MsgsAck"};
    for (uint32_t t = 0; t < s->ntypes; t++) {
        int pick = t % 8 == 0;
        for (size_t k = 0; k < sizeof(always) / sizeof(always[0]); k++)
            pick |= strcmp(s->types[t]->name, always[k]) == 0;
        if (!pick)
            continue;
        for (int all_on = 0; all_on <= 1; all_on++) {
            tgb_arena arena;
            tgb_arena_init(&arena, NULL, 0, 0);
            synth sy = {&arena, 2024u + t, all_on, 2};
            void *obj = synth_object(&sy, synth_pick(&sy, s->types[t], 0), 1);
            tgb_buf b;
            tgb_buf_init(&b, 0);
            uint8_t sel[2] = {(uint8_t)t, (uint8_t)(t >> 8)};
            tgb_buf_append(&b, sel, 2);
            if (tgb_tl_encode_object(&b, obj, NULL) == 0 && b.len < 4096) {
                char path[4096];
                snprintf(path, sizeof(path), "%s/%s-%s", argv[1], s->types[t]->name,
                         all_on ? "all" : "none");
                FILE *f = fopen(path, "wb");
                if (!f || fwrite(b.data, 1, b.len, f) != b.len)
                    return 1;
                fclose(f);
                written++;
            }
            tgb_buf_free(&b);
            tgb_arena_free(&arena);
        }
    }
    printf("wrote %d seeds\n", written);
    return 0;
}
