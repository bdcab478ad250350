"""Benchmarks: allocation under contention against baselines, capacity, scale, cold start, cost.

Run with ``make bench`` (full) or ``make bench-quick``; see ``bench/__main__.py``.
"""
