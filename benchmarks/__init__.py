"""Benchmarks (run with ``python3 benchmarks/run.py``; never part of the tests)."""
