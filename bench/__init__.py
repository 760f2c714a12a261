"""Benchmarks: `python -m bench.run` runs every `bench_*` module and writes bench-results/<name>.json."""
