# benchmarks for engine
