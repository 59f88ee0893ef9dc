# fuzz targets for handshake: the emulator's auth-key server at each of its three steps
# (the setup is in fuzz_handshake_fixture.h).
tgb_add_fuzzer(handshake_step1 fuzz_handshake_step1.c)
tgb_add_fuzzer(handshake_step2 fuzz_handshake_step2.c)
tgb_add_fuzzer(handshake_step3 fuzz_handshake_step3.c)

# Writes the seeds of fuzz/corpus/handshake_step{1,2,3} (run by hand; see the file).
add_executable(make_handshake_corpus make_handshake_corpus.c)
target_link_libraries(make_handshake_corpus PRIVATE tgbotapi_internal tgemu)
target_include_directories(make_handshake_corpus PRIVATE ${CMAKE_SOURCE_DIR}/tests)
tgb_target_warnings(make_handshake_corpus)
