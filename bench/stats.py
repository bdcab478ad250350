"""Figures of repeated runs: percentiles, and the median and spread of a figure over runs."""

from __future__ import annotations

import operator
import statistics
from dataclasses import dataclass
from typing import Any


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile by rank: with at most 100 values, p99 is the largest."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass(frozen=True)
class Latencies:
    """Milliseconds of one kind measured in one run: their median, p99 and largest."""

    ms: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.ms)

    @property
    def p99(self) -> float:
        return percentile(self.ms, 0.99)

    @property
    def max(self) -> float:
        return max(self.ms)


class Repeated:
    """Something measured in several ``runs``: a figure's median over them, and its spread (min, max).
    A figure is a run's attribute, by name (dotted for an attribute's attribute: ``"send.p99"``)."""

    runs: list[Any]

    def median(self, metric: str) -> float:
        return statistics.median(map(operator.attrgetter(metric), self.runs))

    def spread(self, metric: str) -> tuple[float, float]:
        values = list(map(operator.attrgetter(metric), self.runs))
        return min(values), max(values)

    def with_spread(self, metric: str, digits: int = 0) -> str:
        """``median (min-max)``, for the report."""
        low, high = self.spread(metric)
        return f"{self.median(metric):.{digits}f} ({low:.{digits}f}-{high:.{digits}f})"
