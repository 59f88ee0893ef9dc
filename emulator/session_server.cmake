# emulator/session_server: the server side of MTProto 2.0 sessions.
list(APPEND TGEMU_SOURCES ${CMAKE_CURRENT_LIST_DIR}/session_server.c)
