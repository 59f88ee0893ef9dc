# mtproto/transport: the TCP framers (abridged, intermediate, padded, full, obfuscated2).
list(APPEND TGB_MTPROTO_SOURCES ${CMAKE_CURRENT_LIST_DIR}/transport.c)
