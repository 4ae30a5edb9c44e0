"""Belay's benchmarks: ``benchmarks/run.py`` measures every figure of docs/performance.md."""
