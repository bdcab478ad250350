"""Run the benchmarks and write docs/PERFORMANCE.md; the summary line is printed last.

    python -m bench            # full: 1/8/32/64 clients x 3 runs, then 10,000 allocations for violations
    python -m bench --quick    # a few minutes on 2 idle cores: smaller cells, 1,000 allocations for violations
    python -m bench --smoke    # tiny sizes, for the test suite (writes into --out only)
    python -m bench.push --mode quick   # only the push latency (send to the agent's socket)

Needs Java 17+ and ``npm ci`` (DynamoDB Local).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
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


def _fresh(
    local: engine.DynamoDBLocal | None, clients: contention.Clients | None, processes: int
) -> tuple[engine.DynamoDBLocal, contention.Clients]:
    """A fresh DynamoDB Local (the old one stopped), and client processes that point at it."""
    if clients is not None:
        clients.close()
    if local is not None:
        local.stop()
    local = engine.start()
    return local, contention.Clients(processes)


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

    # DynamoDB Local slows down as a run goes on (the naive allocator fell from 55 to 23 allocs/s in 4
    # minutes of one Local): each stage gets a fresh one, and the allocators of a level take turns run
    # by run, so the ratios between them compare runs on the same Local at the same age.
    local, clients = _fresh(None, None, args.processes)
    try:
        print(f"bench: {mode_name} mode on DynamoDB Local at {local.endpoint}, {clients.label}", flush=True)
        cells = []
        for level in mode.levels:
            local, clients = _fresh(local, clients, args.processes)
            runs: dict[str, list[contention.Run]] = {name: [] for name in ALLOCATORS}
            for _ in range(mode.repeats):
                for name in ALLOCATORS:
                    runs[name].append(contention.run(name, level, mode.agents, mode.allocations, clients))
            for name in ALLOCATORS:
                cell = contention.Cell(name, level, runs[name])
                cells.append(cell)
                low, high = cell.spread("per_second")
                print(
                    f"  {name:5} {level:3} clients: {cell.per_second:7.0f} allocs/s ({low:.0f}-{high:.0f})  "
                    f"p99 {cell.p99:7.1f} ms  retries/alloc {cell.retries_per_allocation:5.2f}  "
                    f"violations {cell.violations.total}",
                    flush=True,
                )
        long_runs = {}
        at = min(VIOLATION_CLIENTS, max(mode.levels))
        agents = mode.violation_allocations // 2  # cap 2: exactly room for every chat
        for name in ("ours", "naive"):
            local, clients = _fresh(local, clients, args.processes)
            run = contention.run(name, at, agents, mode.violation_allocations, clients)
            long_runs[name] = run
            print(
                f"  {name:5} {run.allocations} allocations, {at} clients: {run.per_second:.0f} allocs/s, "
                f"violations {run.violations.total} (from the database)",
                flush=True,
            )
        local, clients = _fresh(local, clients, args.processes)
        usage = capacity.per_endpoint()
        durations = capacity.durations(mode.duration_requests)
        per_agents = {n: scale.read_units_per_allocation(n) for n in mode.agent_counts}
        print(f"  read units per allocation by agents: {per_agents}", flush=True)
        local, clients = _fresh(local, clients, args.processes)
        pushes = push.measure(mode.push_messages, mode.push_repeats)
        print(push.describe(pushes), flush=True)
        local, clients = _fresh(local, clients, args.processes)
        team_clients = min(VIOLATION_CLIENTS, max(mode.levels))
        scaling = teams.measure(
            mode.team_counts, team_clients, mode.team_agents, mode.team_allocations, mode.repeats, clients, usage
        )
        print(teams.describe(scaling), flush=True)
    finally:
        clients.close()
        local.stop()
    cold = coldstart.measure(mode.cold_runs, smoke=mode_name == "smoke")
    results = report.Results(
        mode=mode_name,
        agents=mode.agents,
        allocations=mode.allocations,
        repeats=mode.repeats,
        clients_label=clients.label,
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
