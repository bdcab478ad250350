"""The service's clock: presence, throttling and allocation read the time here, so tests
can set it (no sleeps). Tokens are issued and verified on the system clock, as PyJWT does."""

from __future__ import annotations

import time


def now() -> float:
    """Seconds since the epoch."""
    return time.time()
