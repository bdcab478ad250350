"""Read units per allocation as the number of agents grows (it should stay flat)."""

from __future__ import annotations

import time

from bench import engine
from bench.capacity import Meter
from chalicelib import channels, keys
from chalicelib.config import get_settings
from chalicelib.models import Principal
from chalicelib.store import Store


def read_units_per_allocation(agents: int, allocations: int = 5) -> float:
    engine.fresh_tables()
    engine.seed(agents, allocations)
    settings = get_settings()
    store = Store.for_settings(settings)
    meter = Meter()
    meter.install()
    total = 0.0
    for customer_id in range(1, allocations + 1):
        principal = Principal("customer", customer_id, keys.new_id(), int(time.time()) + 3600)
        usage, _ = meter.run(lambda principal=principal: channels.initiate(store, settings, principal))
        total += usage.read_units
    return total / allocations
