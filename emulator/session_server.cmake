# emulator/session_server: list(APPEND TGEMU_SOURCES ${CMAKE_CURRENT_LIST_DIR}/...)
