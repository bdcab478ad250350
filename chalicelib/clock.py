"""The service's clock: the one place it reads the time, so tests can set it (no sleeps)."""

from __future__ import annotations

import time


def now() -> float:
    """Seconds since the epoch."""
    return time.time()
