# mtproto/handshake: the client side of auth key creation.
list(APPEND TGB_MTPROTO_SOURCES ${CMAKE_CURRENT_LIST_DIR}/handshake.c)
