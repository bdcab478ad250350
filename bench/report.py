"""docs/PERFORMANCE.md and its plots, from one benchmark run."""

from __future__ import annotations

import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench import cost as cost_model
from bench.capacity import Usage
from bench.coldstart import ColdStart
from bench.contention import Cell, Run
from bench.push import Push
from bench.teams import TeamScaling
from bench.teams import plot as teams_plot
from bench.teams import section as teams_section

PUSH_GOAL_MS = 1000  # p99, locally (send to the agent's socket)


@dataclass
class Results:
    mode: str
    agents: int
    allocations: int
    repeats: int
    clients_label: str
    cells: list[Cell]
    long_runs: dict[str, Run]  # the violation count's long run, by allocator
    usage: dict[str, Usage]
    durations: dict[str, float]
    scale: dict[int, float]
    cold: ColdStart
    cost: cost_model.Cost  # the deploy default (HTTP API)
    cost_rest: cost_model.Cost
    engine_version: str
    push: Push
    teams: TeamScaling

    def run(self, allocator: str, clients: int) -> Cell:
        return next(c for c in self.cells if c.allocator == allocator and c.clients == clients)

    @property
    def levels(self) -> list[int]:
        return sorted({c.clients for c in self.cells})

    @property
    def summary_level(self) -> int:
        return 32 if 32 in self.levels else self.levels[-1]

    def summary(self) -> str:
        at = self.summary_level
        ours, naive, locked = self.run("ours", at), self.run("naive", at), self.run("lock", at)
        long_ours, long_naive = self.long_runs["ours"], self.long_runs["naive"]
        rcu = self.scale[max(self.scale)]
        return (
            f"bench: allocations={long_ours.allocations} violations_ours={long_ours.violations.total} "
            f"violations_naive={long_naive.violations.total} "
            f"speedup_vs_lock={ours.per_second / locked.per_second:.2f} "
            f"ratio_vs_naive={ours.per_second / naive.per_second:.2f} "
            f"retries_per_alloc={ours.retries_per_allocation:.2f} allocs_per_s={ours.per_second:.0f} "
            f"p99_ms={ours.p99:.0f} rcu_per_alloc_10k_agents={rcu:.1f} import_ratio={self.cold.ratio:.2f} "
            f"usd_per_million_chats={self.cost.total:.2f} push_p50_ms={self.push.p50:.0f} "
            f"push_p99_ms={self.push.p99:.0f}"
        )


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len([1 for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("processor")])
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    return f"{cpu}, {cores} cores{memory}; Python {platform.python_version()}; {java}"


def plots(results: Results, directory: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    names = []
    for metric, label, filename in (
        ("per_second", "allocations / s", "throughput.png"),
        ("p99", "p99 latency (ms)", "p99.png"),
    ):
        figure, axes = plt.subplots(figsize=(6, 4))
        for allocator in ("ours", "naive", "lock"):
            cells = [results.run(allocator, c) for c in results.levels]
            middle = [getattr(c, metric) for c in cells]
            spreads = [c.spread(metric) for c in cells]
            errors = [
                [m - low for m, (low, _) in zip(middle, spreads, strict=True)],
                [high - m for m, (_, high) in zip(middle, spreads, strict=True)],
            ]
            axes.errorbar(results.levels, middle, yerr=errors, marker="o", capsize=3, label=allocator)
        axes.set_xscale("log", base=2)
        axes.set_xticks(results.levels, [str(c) for c in results.levels])
        axes.set_xlabel("concurrent clients")
        axes.set_ylabel(label)
        axes.set_title(f"{label} vs concurrency (median and min-max of {results.repeats} runs)", fontsize=10)
        axes.legend()
        figure.tight_layout()
        figure.savefig(directory / filename, dpi=110)
        plt.close(figure)
        names.append(filename)
    figure, axes = plt.subplots(figsize=(7, 4))
    endpoints = list(results.usage)
    reads = [results.usage[e].aws_read_units for e in endpoints]
    writes = [results.usage[e].aws_write_units for e in endpoints]
    axes.barh(endpoints, reads, label="read units")
    axes.barh(endpoints, writes, left=reads, label="write units")
    axes.set_xlabel("capacity units per request")
    axes.set_title("DynamoDB capacity per endpoint (as AWS bills it)")
    axes.invert_yaxis()
    axes.legend()
    figure.tight_layout()
    figure.savefig(directory / "capacity.png", dpi=110)
    plt.close(figure)
    names.append("capacity.png")
    names.append(teams_plot(results.teams, directory, plt))
    return names


def _contention(results: Results) -> list[str]:
    lines = [
        "## 1. Allocation under contention",
        "",
        f"{results.allocations} customers open a chat at once against {results.agents} online agents "
        "(cap 2: room for everyone, so no chat ever needs to go over the cap), split over N clients "
        f"({results.clients_label}), for each allocator on fresh tables (a fresh DynamoDB Local per client "
        "level, the allocators taking turns run by run, since Local slows down as it ages); every cell runs "
        f"{results.repeats} "
        "times: the median, and the spread (min-max) in brackets. Violations are counted from the database "
        "after every run (all runs added up): agents whose counter differs from their active channels "
        "(lost updates), plus chats beyond the cap.",
        "",
        "- **ours**: the service's code path (`chalicelib.channels.initiate`): one index query, one "
        "conditional transaction, retry on a lost race. Ties at the least load are broken at random on "
        "every attempt, so concurrent requests spread over the tied agents instead of all choosing one.",
        "- **naive**: the same read and choice, then writes without conditions (counter = observed + 1): "
        "the original's read-then-write.",
        "- **lock**: a lock item taken with a conditional put, then the index read and the choice, then ONE "
        "transaction that writes the channel, the customer and the agent's count and deletes the lock item "
        "(on condition this request owns it): three round trips, the lock held for two of them. Its "
        "retries are lock waits.",
        "",
        "| clients | allocator | allocs/s | p50 ms | p99 ms | retries/alloc | violations (counter, over cap) |",
        "|---:|---|---:|---:|---:|---:|---|",
    ]
    for clients in results.levels:
        for allocator in ("ours", "naive", "lock"):
            c = results.run(allocator, clients)
            lines.append(
                f"| {clients} | {allocator} | {c.with_spread('per_second')} | {c.p50:.1f} | {c.with_spread('p99')} | "
                f"{c.with_spread('retries_per_allocation', 2)} | {c.violations.total} ({c.violations.count_mismatch}, "
                f"{c.violations.over_cap}) |"
            )
    at = results.summary_level
    ours, naive, locked = results.run("ours", at), results.run("naive", at), results.run("lock", at)
    lines += [
        "",
        "![throughput]({images}/throughput.png) ![p99]({images}/p99.png)",
        "",
        f"At {at} clients ours runs at **{ours.per_second / naive.per_second:.2f}x** the naive allocator's "
        f"throughput and **{ours.per_second / locked.per_second:.2f}x** the lock's, with "
        f"**{ours.retries_per_allocation:.2f}** retries per allocation (medians of the cells above).",
        "",
        "### Violations over a long run",
        "",
        "| allocator | allocations | clients | agents | allocs/s | retries/alloc | violations (counter, over cap) |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, run in results.long_runs.items():
        lines.append(
            f"| {name} | {run.allocations:,} | {run.clients} | {run.allocations // 2:,} | {run.per_second:.0f} | "
            f"{run.retries_per_allocation:.2f} | {run.violations.total} ({run.violations.count_mismatch}, "
            f"{run.violations.over_cap}) |"
        )
    lines += [
        "",
        "Counted from the database after the run (a consistent scan of every agent and channel). The lock "
        "is correct by construction and is not repeated at this size (it would take the longest).",
        "",
        "Reading it: **naive** is fastest because it checks nothing, and it is wrong as soon as two requests "
        "overlap. **lock** is correct but serialises every allocation on one item. **ours** stays correct at "
        "every level. On this machine the clients and DynamoDB Local share two cores, which caps every "
        "allocator's absolute rate; DynamoDB Local does not raise `TransactionConflictException` and "
        "ignores throughput limits, so on AWS ours also retries on transaction conflicts and the single "
        "lock item is further limited by one item's write rate.",
        "",
    ]
    return lines


def _capacity(results: Results) -> list[str]:
    lines = [
        "## 2. Round trips and capacity per endpoint",
        "",
        "One typical request each (the seed flow; a history of 10 messages), with "
        "`ReturnConsumedCapacity=INDEXES` (the total, and each table's and index's share). Transactional "
        "items cost double. Inside a transaction DynamoDB Local reports one item's worth of write units per "
        "table however many items the transaction has there (2 for small items: a condition check alone, "
        "or a put with two condition checks, both report 2), and 0 read units for a read of a missing "
        "item; AWS bills every item and every read, so the meter counts them from the calls (items per "
        "table in each `TransactWriteItems` request, condition checks included, at "
        f"{cost_model.TRANSACT_ITEM_WRITE_UNITS:.0f} write units each, beyond what Local reported; keys "
        "asked for and not returned by `GetItem` / `BatchGetItem` at 1 (strongly consistent) or 0.5 read "
        "units; an index's share of a transactional write, which Local doubles like the item's, once, as "
        "AWS bills it: `TRANSACT_INDEX_WRITE_FACTOR` in `bench/cost.py`, with its source): the **AWS** "
        "columns, which the cost model uses.",
        "",
        "| endpoint | calls | read units (Local) | write units (Local) | condition checks | read units (AWS) | "
        "write units (AWS) | ms (local) | operations |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, u in results.usage.items():
        lines.append(
            f"| {name} | {u.calls} | {u.read_units:.1f} | {u.write_units:.1f} | {u.condition_checks} | "
            f"{u.aws_read_units:.1f} | {u.aws_write_units:.1f} | {u.milliseconds:.1f} | {', '.join(u.operations)} |"
        )
    targets = sorted({t for u in results.usage.values() for t in u.writes_by_target})
    lines += [
        "",
        "Where the write units land (`ReturnConsumedCapacity=INDEXES`: each table and each index apart; the "
        "tables as Local reports them, the indexes as AWS bills them):",
        "",
        "| endpoint | " + " | ".join(f"`{t}`" for t in targets) + " |",
        "|---|" + "---:|" * len(targets),
    ]
    for name, u in results.usage.items():
        if u.writes_by_target:
            cells = " | ".join(f"{u.writes_by_target[t]:g}" if t in u.writes_by_target else "" for t in targets)
            lines.append(f"| {name} | {cells} |")
    lines += ["", "![capacity]({images}/capacity.png)", ""]
    return lines


def _cost(results: Results) -> list[str]:
    cost, rest = results.cost, results.cost_rest
    doubled = cost_model.per_chat(lambda name: results.usage[name].transact_index_surplus)
    arm = cost_model.LAMBDA_GB_SECOND["arm64"] / cost_model.LAMBDA_GB_SECOND["x86_64"]
    lines = [
        "## 5. Cost per million chats",
        "",
        "Mix per chat: "
        + ", ".join(f"{n}x {name}" for name, n in cost_model.CHAT_MIX.items())
        + f" ({cost.requests} requests): {cost.read_units:.1f} read and {cost.write_units:.1f} write units "
        "per chat (AWS's accounting, section 2). Lambda duration per request: the median of "
        "many requests measured in-process (below), plus "
        f"{cost_model.LAMBDA_OVERHEAD_MS:.0f} ms of runtime overhead, priced at "
        f"{cost_model.LAMBDA_MEMORY_GB * 1024:.0f} MB ({cost_model.LAMBDA_ARCHITECTURE}). "
        f"Prices: {cost_model.PRICES_AS_OF}, constants in `bench/cost.py`.",
        "",
        "| endpoint | median ms in-process |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {ms:.1f} |" for name, ms in results.durations.items()]
    lines += [
        "",
        f"| part | USD per million chats, {cost.api} (the design's deploy default) | {rest.api} |",
        "|---|---:|---:|",
        f"| DynamoDB (on-demand) | {cost.dynamodb:,.2f} | {rest.dynamodb:,.2f} |",
        f"| Lambda | {cost.lambda_:,.2f} | {rest.lambda_:,.2f} |",
        f"| API Gateway | {cost.api_gateway:,.2f} | {rest.api_gateway:,.2f} |",
        f"| **total** | **{cost.total:,.2f}** | **{rest.total:,.2f}** |",
        "",
        "`make package` emits the HTTP API (payload format 1.0); `API_TYPE=rest` deploys the REST API, "
        "the REST column.",
        "",
        f"Lambda is {cost.lambda_ / cost.total:.0%} of the total: on arm64 (Graviton, {arm:.0%} of the x86 "
        "price per GB-s; every dependency in the zip has an aarch64 wheel) it would save "
        f"${cost.gb_seconds * (cost_model.LAMBDA_GB_SECOND['x86_64'] - cost_model.LAMBDA_GB_SECOND['arm64']) * 1e6:.2f}"
        " per million chats; the rest is DynamoDB and API Gateway.",
        "",
        "The index writes inside transactions are priced once, as AWS bills them (section 2). Priced as "
        f"DynamoDB Local reports them, doubled, a chat would cost {doubled:.1f} write units more: "
        f"${doubled * cost_model.DYNAMODB_WRITE_REQUEST_UNIT * 1e6:.2f} per million chats, "
        f"${cost.total + doubled * cost_model.DYNAMODB_WRITE_REQUEST_UNIT * 1e6:.2f} in all.",
        "",
    ]
    return lines


def push_section(push: Push) -> list[str]:
    """Section 6, from the push runs alone (``python -m bench.push`` prints it too)."""

    figure = push.with_spread
    rows = (
        ("the send request alone (the baseline)", "send."),
        ("**push: send to the agent's socket**", "push."),
        ("push minus its send (per message)", "extra."),
        ("of which the chats stream handler (per batch)", "handler."),
    )
    verdict = "under" if push.p99 < PUSH_GOAL_MS else "over"
    handler = push.median("handler.p50")
    poll = push.median("extra.p50") - handler
    dominant = "the poll dominates" if poll > handler else "the handler dominates, not the poll"
    return [
        "## 6. Push latency",
        "",
        "From just before a customer's send request to the agent's socket receiving that message's "
        "`message.created` event, wired as `make run` wires it: the local WebSocket gateway "
        "(`tools/ws_gateway.py`) and the stream poller (`tools/stream_poller.py`, a pause between rounds of "
        f"**{push.interval_ms:.0f} ms**, `make run`'s interval) calling the app's own stream handlers in one "
        "process, on DynamoDB Local; the send goes through chalice's local API Gateway emulation in the same "
        f"process. {push.size} on fresh tables: the messages one at a time (each waits for its push, then a "
        "random pause of up to one poll interval, so the sends do not lock onto the poller's rhythm); the "
        "median of the runs, the spread (min-max) in brackets; with at most 100 "
        "messages a run's p99 is its largest.",
        "",
        "| ms | p50 | p99 | max |",
        "|---|---:|---:|---:|",
        *[f"| {label} | {figure(p + 'p50')} | {figure(p + 'p99')} | {figure(p + 'max')} |" for label, p in rows],
        "",
        f"p99 **{push.p99:.0f} ms**: {verdict} the goal of {PUSH_GOAL_MS / 1000:.0f} s locally. What the push "
        "adds to its send is the wait for the poller's next round (up to one interval, plus the round's own "
        "calls: `DescribeTable`, `DescribeStream` and `GetRecords` for each of the two tables) and the chats "
        "stream handler (it reads the audience's connections and posts through the gateway's management API): "
        f"at the medians, about {poll:.0f} ms of the poller (its wait and its round's calls) and {handler:.0f} ms "
        f"of handler, so "
        f"locally {dominant}. On AWS the path differs and is not measured here: Lambda's "
        "event source mapping polls each stream shard itself (a base rate of four times a second per shard, "
        "no batching window configured), a new execution environment adds its cold start (section 4), and "
        "the post goes through API Gateway's management API; records typically reach the handler in well "
        "under a second.",
        "",
    ]


def markdown(results: Results, images: str) -> str:
    mode = {"quick": "make bench-quick", "full": "make bench"}.get(results.mode, "python -m bench --smoke")
    lines = [
        "# Performance",
        "",
        f"Produced by `{mode}` ({results.mode} mode) against AWS DynamoDB Local on one machine; re-run it "
        "to reproduce. Absolute numbers are this machine's; the ratios between allocators are the point.",
        "",
        f"**Machine:** {machine()}; DynamoDB Local {results.engine_version} (in memory).",
        "",
        *_contention(results),
        *_capacity(results),
        "## 3. Scale",
        "",
        "Read units one allocation consumes, by number of agents (all online and idle):",
        "",
        "| agents | read units per allocation |",
        "|---:|---:|",
        *[f"| {n:,} | {rcu:.1f} |" for n, rcu in sorted(results.scale.items())],
        "",
        "The choice reads a fixed page of the load index, so the cost does not grow with the agents.",
        "",
        "## 4. Cold start",
        "",
        f"Importing `app` from {results.cold.source}, with only what the Lambda runtime provides beside "
        "it (boto3, botocore and their dependencies; `cryptography` blocked), in a fresh interpreter "
        f"(`-S -I`), against a bare Chalice app + boto3 from the same folders; {results.cold.runs} "
        "interleaved runs, medians. argon2 (and cffi) load on the first login only.",
        "",
        "| import | seconds |",
        "|---|---:|",
        f"| `app` (this service) | {results.cold.ours:.3f} |",
        f"| bare Chalice app + boto3 | {results.cold.bare:.3f} |",
        f"| ratio (median of the pairs' ratios) | {results.cold.ratio:.2f} |",
        "",
        *_cost(results),
        *push_section(results.push),
        *teams_section(results.teams),
        "## Summary",
        "",
        "```",
        results.summary(),
        "```",
        "",
    ]
    return "\n".join(lines).replace("{images}", images)
