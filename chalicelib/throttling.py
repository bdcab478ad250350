"""Login throttling as arithmetic: sliding windows over two fixed ones. Pure.

Attempts are counted per fixed window of ``seconds``; the sliding estimate
at time ``now`` is the current window's count plus the previous window's,
weighted by how much of the previous window still lies inside the last
``seconds`` (rounded up, so the estimate never undercounts). An attempt is
allowed while the estimate stays below the limit: the current window may
hold ``room`` attempts in all, which the store enforces atomically
(``chalicelib.store.throttle``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    start: int
    seconds: int

    @classmethod
    def at(cls, now: float, seconds: int) -> Window:
        return cls(int(now // seconds * seconds), seconds)

    @property
    def previous_start(self) -> int:
        return self.start - self.seconds

    @property
    def expires_at(self) -> int:
        """When a counter of this window is no longer needed (it weighs in the next one)."""
        return self.start + 2 * self.seconds


def _carried(previous: int, elapsed_fraction: float) -> int:
    """The previous window's attempts that still count, rounded up."""
    return math.ceil(previous * (1 - elapsed_fraction) - 1e-9)


def room(limit: int, previous: int, window: Window, now: float) -> int:
    """How many attempts the current window may hold in all at ``now``."""
    return limit - _carried(previous, (now - window.start) / window.seconds)


def retry_after(limit: int, previous: int, current: int, window: Window, now: float) -> int:
    """Seconds until one more attempt is allowed, if nobody tries meanwhile (at least 1)."""
    free = limit - current - 1  # previous attempts that may still count
    if free >= 0:
        # Within this window, once the previous window's carried weight is at most ``free``.
        at = window.start + window.seconds * (1 - free / previous) if previous else now
    else:
        # In the next window, once this window's carried weight drops below the limit.
        at = window.start + window.seconds * (2 - (limit - 1) / current)
    return max(1, math.ceil(at - now))
