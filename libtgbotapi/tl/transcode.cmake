# tl/tl_transcode: reading and writing older layers with the structs of ours.
list(APPEND TGB_TL_SOURCES ${CMAKE_CURRENT_LIST_DIR}/tl_transcode.c)
