"""Benchmark scripts: run as ``python -m pipeline.benchmarks.<name>``; they print figures."""
