"""The scheduled function's body: the presence sweep, then the queues' gauges.

``app.presence_sweep`` runs it every minute on AWS; ``make run`` every
``PRESENCE_SWEEP_SECONDS`` (``tools/run_local.py``).
"""

from __future__ import annotations

from chalicelib import clock, metrics, presence, queueing
from chalicelib.config import get_settings
from chalicelib.store import get_store


def sweep() -> list[int]:
    """Silent agents offline (and what the policies do next); then each queue's length and oldest wait
    as metrics. Returns the agents marked offline."""
    settings, store = get_settings(), get_store()
    expired = presence.sweep(store, settings)
    if settings.metrics_namespace is not None:  # else the queues' reads would buy nothing
        now = clock.now()
        metrics.emit(metrics.queue_gauges(queueing.snapshots(store, settings, now), now), settings.metrics_namespace)
    return expired
