# benchmarks for the MTProto engine against the emulated DC
tgb_add_bench(bench_rpc bench_rpc.c)
target_link_libraries(bench_rpc PRIVATE tgemu)
