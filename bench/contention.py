"""Allocation under contention: each allocator, at each concurrency, on fresh tables."""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bench import engine
from bench.allocators import ALLOCATORS
from chalicelib.config import get_settings


@dataclass(frozen=True)
class Run:
    allocator: str
    clients: int
    allocations: int
    seconds: float
    latencies_ms: list[float]
    retries: int
    violations: engine.Violations

    @property
    def per_second(self) -> float:
        return self.allocations / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p99(self) -> float:
        return self.percentile(0.99)

    @property
    def retries_per_allocation(self) -> float:
        return self.retries / self.allocations


def run(allocator: str, clients: int, agents: int, allocations: int) -> Run:
    """``allocations`` customers initiate through ``clients`` threads; ``agents`` online agents have room for all."""
    settings = get_settings()
    assert allocations <= agents * settings.allocation_cap, "the workload must never need overflow"
    engine.fresh_tables()
    engine.seed(agents, allocations)
    allocate = ALLOCATORS[allocator](settings)
    latencies: list[float] = []
    retries = 0
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def client(customer_ids: list[int]) -> None:
        nonlocal retries
        barrier.wait()
        for customer_id in customer_ids:
            started = time.perf_counter()
            lost = allocate(customer_id)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                retries += lost

    shares = [list(range(1 + i, allocations + 1, clients)) for i in range(clients)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        for future in [pool.submit(client, share) for share in shares]:
            future.result()
    seconds = time.perf_counter() - started
    return Run(allocator, clients, allocations, seconds, latencies, retries, engine.violations(settings.allocation_cap))


def sweep(levels: list[int], agents: int, allocations: int) -> list[Run]:
    return [run(name, clients, agents, allocations) for clients in levels for name in ALLOCATORS]
