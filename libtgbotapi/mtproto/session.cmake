# mtproto/session: the client session (session.c) and gzip_packed (gzip.c, the only
# file that includes zlib.h).
list(APPEND TGB_MTPROTO_SOURCES ${CMAKE_CURRENT_LIST_DIR}/session.c
  ${CMAKE_CURRENT_LIST_DIR}/gzip.c)
