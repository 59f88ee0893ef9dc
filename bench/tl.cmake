tgb_add_bench(bench_tl bench_tl.c)
