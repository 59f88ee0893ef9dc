# TL: the codec and printer, plus what tools/tlgen generates from tl/schema/ at build
# time: structs + descriptors for the layer we speak (API 228 + MTProto service), and
# descriptor tables for the older layers the emulator serves.
set(TGB_TL_GEN ${TGB_GENERATED_DIR}/tl)
# tlgen keeps what it parsed until it exits; in sanitizer builds, don't call that a leak.
set(TGB_TLGEN ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=0 $<TARGET_FILE:tlgen>)
set(TGB_TL_SCHEMAS
  ${TGB_SCHEMA_DIR}/telegram_api.tl
  ${TGB_SCHEMA_DIR}/mtproto_api.tl
  ${TGB_SCHEMA_DIR}/mtproto_service.tl)
add_custom_command(
  OUTPUT ${TGB_TL_GEN}/tl_api.h ${TGB_TL_GEN}/tl_api.c
  COMMAND ${CMAKE_COMMAND} -E make_directory ${TGB_TL_GEN}
  COMMAND ${TGB_TLGEN} structs api 228 ${TGB_TL_GEN}/tl_api.h ${TGB_TL_GEN}/tl_api.c ${TGB_TL_SCHEMAS}
  DEPENDS tlgen ${TGB_TL_SCHEMAS}
  COMMENT "Generating TL structs and descriptors (layer 228)"
  VERBATIM)

set(TGB_TL_LAYER_SOURCES)
foreach(layer_file layer144-telethon-1.25.1 layer198-gramjs-2.26.22 layer227-mtcute-0.30.3)
  string(REGEX MATCH "^layer([0-9]+)" _ ${layer_file})
  set(layer ${CMAKE_MATCH_1})
  add_custom_command(
    OUTPUT ${TGB_TL_GEN}/tl_layer${layer}.c
    COMMAND ${CMAKE_COMMAND} -E make_directory ${TGB_TL_GEN}
    COMMAND ${TGB_TLGEN} tables layer${layer} ${layer} ${TGB_TL_GEN}/tl_layer${layer}.c
            ${TGB_SCHEMA_DIR}/layers/${layer_file}.tl
    DEPENDS tlgen ${TGB_SCHEMA_DIR}/layers/${layer_file}.tl
    COMMENT "Generating TL descriptor tables for layer ${layer}"
    VERBATIM)
  list(APPEND TGB_TL_LAYER_SOURCES ${TGB_TL_GEN}/tl_layer${layer}.c)
endforeach()

set(TGB_TL_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/tl_codec.c
  ${CMAKE_CURRENT_LIST_DIR}/tl_cursor.c
  ${CMAKE_CURRENT_LIST_DIR}/tl_print.c
  ${TGB_TL_GEN}/tl_api.c
  ${TGB_TL_LAYER_SOURCES})

# the older-layer transcoder lists its sources here
include(${CMAKE_CURRENT_LIST_DIR}/transcode.cmake)
