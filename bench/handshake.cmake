# benchmarks for handshake: auth keys per second, client and emulator server in one
# process.
tgb_add_bench(bench_handshake bench_handshake.c)
target_link_libraries(bench_handshake PRIVATE tgemu)
