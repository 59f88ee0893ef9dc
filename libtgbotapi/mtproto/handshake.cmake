# mtproto/handshake: the client side of auth key creation, and what the emulated DC's
# side shares with it (auth_common).
list(APPEND TGB_MTPROTO_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/handshake.c
  ${CMAKE_CURRENT_LIST_DIR}/auth_common.c)
