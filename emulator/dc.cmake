# emulator/: the DC core, its RPC layer, the socket host and the control API
list(APPEND TGEMU_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/dc.c
  ${CMAKE_CURRENT_LIST_DIR}/rpc.c
  ${CMAKE_CURRENT_LIST_DIR}/server.c
  ${CMAKE_CURRENT_LIST_DIR}/control.c)
