# emulator/auth_server: the data centre's side of auth key creation.
list(APPEND TGEMU_SOURCES ${CMAKE_CURRENT_LIST_DIR}/auth_server.c)
