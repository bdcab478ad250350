"""Allocation under contention: each allocator, at each concurrency, on fresh tables, repeated.

Clients are threads inside one or more client processes (``Clients``): with
``processes=1`` every client is a thread of this process; with more, the
clients are split over that many worker processes (spawned once, reused by
every cell), so the client side is not one interpreter's GIL. Every worker
starts its clients at the same instant (a shared monotonic deadline), and a
cell's time runs from that instant to the last client's end.
"""

from __future__ import annotations

import multiprocessing
import statistics
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from bench import engine
from bench.allocators import ALLOCATORS
from bench.stats import Repeated, percentile
from chalicelib.config import get_settings

K = TypeVar("K")

# Time for every worker to receive its share before the common start.
START_SLACK_SECONDS = 0.3


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

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p99(self) -> float:
        return percentile(self.latencies_ms, 0.99)

    @property
    def retries_per_allocation(self) -> float:
        return self.retries / self.allocations


@dataclass(frozen=True)
class Cell(Repeated):
    """One allocator at one concurrency, run several times: medians, and the spread (min, max)."""

    allocator: str
    clients: int
    runs: list[Run]

    @property
    def per_second(self) -> float:
        return self.median("per_second")

    @property
    def p50(self) -> float:
        return self.median("p50")

    @property
    def p99(self) -> float:
        return self.median("p99")

    @property
    def retries_per_allocation(self) -> float:
        return self.median("retries_per_allocation")

    @property
    def violations(self) -> engine.Violations:
        """Every run's violations, added up."""
        return engine.Violations(
            sum(r.violations.count_mismatch for r in self.runs), sum(r.violations.over_cap for r in self.runs)
        )


def run_shares(
    allocator: str, shares: list[list[int]], start_at: float, teams: tuple[str, ...] = ()
) -> tuple[float, list[float], int]:
    """One thread per share, each allocating its customers in turn from ``start_at`` (``time.monotonic``);
    with ``teams`` (``ours`` only), each customer in its own team.

    Returns (when the last thread ended, latencies in ms, retries).
    """
    factory = ALLOCATORS[allocator]
    allocate = factory(get_settings(), teams)
    latencies: list[float] = []
    retries = 0
    failures: list[BaseException] = []
    lock = threading.Lock()

    def client(customer_ids: list[int]) -> None:
        nonlocal retries
        time.sleep(max(0.0, start_at - time.monotonic()))
        try:
            for customer_id in customer_ids:
                started = time.perf_counter()
                lost = allocate(customer_id)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    retries += lost
        except BaseException as error:  # reported after the join: a run with a dead client is no result
            failures.append(error)

    threads = [threading.Thread(target=client, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} client(s) failed") from failures[0]
    return time.monotonic(), latencies, retries


def _worker(tasks: multiprocessing.Queue, results: multiprocessing.Queue) -> None:
    while (task := tasks.get()) is not None:
        results.put(run_shares(*task))


def label(processes: int) -> str:
    """Where the client threads run, for the report."""
    return "threads in 1 process" if processes == 1 else f"threads in {processes} processes"


class Clients:
    """Where the client threads run: this process (``processes=1``) or that many worker processes."""

    def __init__(self, processes: int = 1) -> None:
        self.processes = processes
        self._workers: list[tuple[multiprocessing.Process, multiprocessing.Queue]] = []
        self._results: multiprocessing.Queue | None = None
        if processes > 1:
            # spawn: a clean interpreter (no copied boto3 connections); it inherits the
            # environment that points at DynamoDB Local.
            context = multiprocessing.get_context("spawn")
            self._results = context.Queue()
            for _ in range(processes):
                tasks = context.Queue()
                worker = context.Process(target=_worker, args=(tasks, self._results), daemon=True)
                worker.start()
                self._workers.append((worker, tasks))

    @property
    def label(self) -> str:
        return label(self.processes)

    def run(
        self, allocator: str, shares: list[list[int]], teams: tuple[str, ...] = ()
    ) -> tuple[float, list[float], int]:
        """Run every share at once; return (seconds, latencies, retries)."""
        start_at = time.monotonic() + START_SLACK_SECONDS
        if not self._workers:
            ended, latencies, retries = run_shares(allocator, shares, start_at, teams)
            return ended - start_at, latencies, retries
        assert self._results is not None
        groups = [shares[i :: len(self._workers)] for i in range(len(self._workers))]
        busy = [(tasks, group) for (_, tasks), group in zip(self._workers, groups, strict=True) if group]
        for tasks, group in busy:
            tasks.put((allocator, group, start_at, teams))
        outcomes = [self._results.get(timeout=3600) for _ in busy]
        latencies = [ms for _, ms_list, _ in outcomes for ms in ms_list]
        return max(ended for ended, _, _ in outcomes) - start_at, latencies, sum(r for _, _, r in outcomes)

    def close(self) -> None:
        for worker, tasks in self._workers:
            tasks.put(None)
            worker.join(timeout=10)
        self._workers = []


def run(
    allocator: str,
    clients: int,
    agents: int,
    allocations: int,
    pool: Clients | None = None,
    teams: tuple[str, ...] = (),
) -> Run:
    """``allocations`` customers initiate through ``clients`` clients; ``agents`` online agents have room for all.
    With ``teams``, agents and customers are dealt over the teams alike (each team has room for its own)."""
    settings = get_settings()
    assert allocations <= agents * settings.allocation_cap, "the workload must never need overflow"
    assert not teams or (agents % len(teams) == 0 and allocations % len(teams) == 0), "teams of equal size"
    engine.fresh_tables()
    engine.seed(agents, allocations, teams=teams)
    shares = [list(range(1 + i, allocations + 1, clients)) for i in range(clients)]
    seconds, latencies, retries = (pool or Clients()).run(allocator, shares, teams)
    return Run(allocator, clients, allocations, seconds, latencies, retries, engine.violations(settings.allocation_cap))


def interleaved(keys: Iterable[K], repeats: int, run_one: Callable[[K], Run]) -> dict[K, list[Run]]:
    """``repeats`` runs of each key, the keys taking turns run by run: DynamoDB Local slows down as it
    ages, and runs made one key after another would favour the first."""
    keys = list(keys)
    runs: dict[K, list[Run]] = {key: [] for key in keys}
    for _ in range(repeats):
        for key in keys:
            runs[key].append(run_one(key))
    return runs
