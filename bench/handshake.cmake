# benchmarks for handshake
