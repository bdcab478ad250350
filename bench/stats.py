"""Figures of repeated runs: percentiles, and the median and spread of a figure over runs."""

from __future__ import annotations

import statistics
from typing import Any


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile by rank: with at most 100 values, p99 is the largest."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Repeated:
    """Something measured in several ``runs``: a figure's median over them, and its spread (min, max)."""

    runs: list[Any]

    def median(self, metric: str) -> float:
        return statistics.median(getattr(r, metric) for r in self.runs)

    def spread(self, metric: str) -> tuple[float, float]:
        values = [getattr(r, metric) for r in self.runs]
        return min(values), max(values)

    def with_spread(self, metric: str, digits: int = 0) -> str:
        """``median (min-max)``, for the report."""
        low, high = self.spread(metric)
        return f"{self.median(metric):.{digits}f} ({low:.{digits}f}-{high:.{digits}f})"
