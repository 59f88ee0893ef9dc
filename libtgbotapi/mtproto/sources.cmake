# mtproto/: transports, auth-key exchange, sessions. Each part lists its files in its
# own fragment.
set(TGB_MTPROTO_SOURCES ${CMAKE_CURRENT_LIST_DIR}/message.c)
include(${CMAKE_CURRENT_LIST_DIR}/transport.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/handshake.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/session.cmake)
