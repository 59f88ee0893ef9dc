/*
 * Descriptor tables (no C structs) for the older API layers independent clients speak,
 * generated from tl/schema/layers/. The emulator encodes its answers for a client with
 * the constructors of that client's layer (matched by name) and decodes its requests
 * with them.
 */
#ifndef TGB_TL_TL_LAYERS_H
#define TGB_TL_TL_LAYERS_H

#include "tl/tl.h"

extern const tgb_tl_schema tgb_tl_schema_layer144; /* Telethon 1.25.1 */
extern const tgb_tl_schema tgb_tl_schema_layer198; /* GramJS 2.26.22 */
extern const tgb_tl_schema tgb_tl_schema_layer227; /* mtcute 0.30.3 */

#endif
