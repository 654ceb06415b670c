"""Benchmark scripts: each prints its figures; run with ``python -m pipeline.benchmarks.<name>``."""
