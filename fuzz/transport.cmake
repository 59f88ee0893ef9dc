# fuzz targets for transport
tgb_add_fuzzer(transport fuzz_transport.c)

# Writes fuzz/corpus/transport seeds (run by hand; see the file).
add_executable(make_transport_corpus make_transport_corpus.c)
target_link_libraries(make_transport_corpus PRIVATE tgbotapi_internal)
target_include_directories(make_transport_corpus PRIVATE ${CMAKE_SOURCE_DIR}/tests)
tgb_target_warnings(make_transport_corpus)
