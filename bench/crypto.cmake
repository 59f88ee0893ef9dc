tgb_add_bench(bench_aes bench_aes.c)
