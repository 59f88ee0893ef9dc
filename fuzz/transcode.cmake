# fuzz target for tl/tl_transcode: older layers' bytes read into our structs
tgb_add_fuzzer(tl_transcode fuzz_tl_transcode.c)

# Writes the seeds of fuzz/corpus/tl_transcode (run by hand; see the file).
add_executable(make_transcode_corpus make_transcode_corpus.c)
target_link_libraries(make_transcode_corpus PRIVATE tgbotapi_internal)
target_include_directories(make_transcode_corpus PRIVATE ${CMAKE_SOURCE_DIR}/tests)
tgb_target_warnings(make_transcode_corpus)
