"""Benchmarks: the same workloads on ember and torch, printed as ratios."""
