"""Teams as shards: allocation throughput by number of teams, measured locally and modelled for AWS.

Each team is its own partition of the load index (``agents_by_load``, key
``pool`` = the team) and of the team's active-chat index
(``active_channels_by_pool``, key ``active_pool`` = the team). Every other
item a chat writes is keyed by a channel, an agent, a customer or a token, so
it spreads over partitions as those ids do. A partition takes about
``PARTITION_WRITE_UNITS_PER_SECOND``; so one team's ceiling is that over the
write units one chat (or one allocation) lands on the busier of its two team
partitions, and T teams have T times that ceiling.

The units are measured: ``bench.capacity.per_endpoint`` meters each request
of the chat mix with ``ReturnConsumedCapacity=INDEXES``, which DynamoDB Local
answers per table and per index. One correction is assumed, not measured: an
index's share of a transactional write is counted once, as AWS bills it, where
Local counts it twice (``bench.cost.TRANSACT_INDEX_WRITE_FACTOR``, with its source).

The local measurement runs ``ours`` with the same clients, agents and
allocations, dealt over T teams (``engine.team_of``). DynamoDB Local is one
process with no partitions and no throughput limits, sharing two cores with
the clients: it is CPU-bound, so it cannot show the linear growth; the
measured numbers are reported beside the model as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import cost, engine
from bench.capacity import Usage
from bench.contention import Cell, Clients, interleaved, run

# AWS: one partition serves up to 1,000 write units (and 3,000 read units) per second.
PARTITION_WRITE_UNITS_PER_SECOND = 1000
# The partitions keyed by the team, as "<table>/<index>" in ``Usage.writes_by_target``.
TEAM_PARTITIONS = {
    "users/agents_by_load": "load index (`agents_by_load`, key `pool`)",
    "chats/active_channels_by_pool": "team's active chats (`active_channels_by_pool`, key `active_pool`)",
}


@dataclass(frozen=True)
class TeamScaling:
    cells: dict[int, Cell]  # by number of teams: ``ours`` over that many teams
    agents: int  # in all, dealt over the teams
    allocations: int  # per run, in all
    per_allocation: dict[str, float]  # write units an initiate lands on each team partition
    per_chat: dict[str, float]  # write units a whole chat of the mix lands on each team partition

    @property
    def team_counts(self) -> list[int]:
        return sorted(self.cells)

    @property
    def binding(self) -> str:
        """The team partition a chat writes most: the one that sets the ceiling."""
        return max(self.per_chat, key=self.per_chat.__getitem__)

    @property
    def chats_per_second_per_team(self) -> float:
        """Sustained chats/s one team's partitions take (a chat: initiate, sends, resolve)."""
        return PARTITION_WRITE_UNITS_PER_SECOND / max(self.per_chat.values())

    @property
    def allocations_per_second_per_team(self) -> float:
        """Allocations/s one team's partitions take in a burst (initiates only, nothing resolving)."""
        return PARTITION_WRITE_UNITS_PER_SECOND / max(self.per_allocation.values())


def team_partition_units(usage: dict[str, Usage]) -> tuple[dict[str, float], dict[str, float]]:
    """(write units per allocation, per chat of ``CHAT_MIX``) on each team partition, from metered requests."""
    per_allocation = {p: usage["initiate"].writes_by_target.get(p, 0.0) for p in TEAM_PARTITIONS}
    per_chat = {p: cost.per_chat(lambda name, p=p: usage[name].writes_by_target.get(p, 0.0)) for p in TEAM_PARTITIONS}
    return per_allocation, per_chat


def measure(
    team_counts: list[int],
    clients: int,
    agents: int,
    allocations: int,
    repeats: int,
    pool: Clients,
    usage: dict[str, Usage],
) -> TeamScaling:
    """``ours`` at ``clients`` clients with ``agents`` agents and ``allocations`` customers dealt over T teams,
    for each T of ``team_counts``, ``repeats`` times (the team counts taking turns run by run, so that
    DynamoDB Local's slowing down over a long run does not favour the first); the model's units from ``usage``."""
    runs = interleaved(
        team_counts, repeats, lambda count: run("ours", clients, agents, allocations, pool, engine.TEAMS[:count])
    )
    cells = {count: Cell("ours", clients, runs[count]) for count in team_counts}
    per_allocation, per_chat = team_partition_units(usage)
    return TeamScaling(cells, agents, allocations, per_allocation, per_chat)


def describe(scaling: TeamScaling) -> str:
    """One line per team count, for the console."""
    lines = []
    for count, cell in scaling.cells.items():
        lines.append(
            f"  teams {count}: {cell.with_spread('per_second'):>13} allocs/s locally, "
            f"retries/alloc {cell.retries_per_allocation:.2f}, violations {cell.violations.total}; "
            f"AWS model {count * scaling.chats_per_second_per_team:,.0f} chats/s"
        )
    units = ", ".join(f"{p} {u:g}" for p, u in scaling.per_chat.items())
    return "\n".join([*lines, f"  team-partition write units per chat: {units}"])


def plot(scaling: TeamScaling, directory: Path, plt: Any) -> str:
    """Modelled AWS ceiling against teams, with the local measurement beside it."""
    counts = scaling.team_counts
    figure, axes = plt.subplots(figsize=(6.5, 4))
    axes.plot(
        counts,
        [t * scaling.chats_per_second_per_team for t in counts],
        marker="o",
        label=f"AWS model: sustained chats/s ({PARTITION_WRITE_UNITS_PER_SECOND:,} WCU/s per team partition)",
    )
    axes.plot(
        counts,
        [t * scaling.allocations_per_second_per_team for t in counts],
        marker="^",
        linestyle="--",
        label="AWS model: allocations/s in a burst (initiates only)",
    )
    cells = [scaling.cells[t] for t in counts]
    middle = [c.per_second for c in cells]
    spreads = [c.spread("per_second") for c in cells]
    errors = [
        [m - low for m, (low, _) in zip(middle, spreads, strict=True)],
        [high - m for m, (_, high) in zip(middle, spreads, strict=True)],
    ]
    axes.errorbar(counts, middle, yerr=errors, marker="s", capsize=3, label="measured: allocations/s, DynamoDB Local")
    axes.set_xticks(counts, [str(t) for t in counts])
    axes.set_xlabel("teams (one load-index partition each)")
    axes.set_ylabel("per second")
    axes.set_ylim(bottom=0)
    axes.set_title("Teams as shards: modelled AWS ceiling vs measured locally", fontsize=10)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(directory / "teams.png", dpi=110)
    plt.close(figure)
    return "teams.png"


def section(scaling: TeamScaling) -> list[str]:
    """Section 7 of docs/PERFORMANCE.md (``{images}`` stands for the plots' folder)."""
    cap = PARTITION_WRITE_UNITS_PER_SECOND
    counts = scaling.team_counts
    first = scaling.cells[counts[0]].per_second

    def retries(at: int) -> str:
        return scaling.cells[counts[at]].with_spread("retries_per_allocation", 2)

    lines = [
        "## 7. Teams as shards",
        "",
        "Each team is its own partition of the load index (`agents_by_load`, key `pool` = the team) and of "
        "the team's active chats (`active_channels_by_pool`, key `active_pool`); allocation and the overflow "
        "proof read and write only the team's partitions. Every other item a chat writes is keyed by a "
        "channel, agent, customer or token id and spreads as those ids do. AWS serves about "
        f"{cap:,} write units per second per partition, so a team's ceiling is {cap:,} over the write units "
        "one chat lands on the busier of its two team partitions, and T teams have T times it.",
        "",
        "Write units per request on the team partitions, as AWS bills them "
        "(`ReturnConsumedCapacity=INDEXES` on DynamoDB Local, the requests of section 2, with an index "
        "write made inside a transaction counted once, where Local counts it twice; a re-key of `rank`, "
        "the load index's sort key, is a delete and a put):",
        "",
        "| team partition | per allocation (initiate) | per chat (the mix of section 5) |",
        "|---|---:|---:|",
        *[
            f"| {label} | {scaling.per_allocation[p]:g} | {scaling.per_chat[p]:g} |"
            for p, label in TEAM_PARTITIONS.items()
        ],
        "",
        f"Modelled ceiling per team: **{scaling.chats_per_second_per_team:,.0f} chats/s** sustained "
        f"({cap:,} / {max(scaling.per_chat.values()):g} units on `{scaling.binding}`), or "
        f"{scaling.allocations_per_second_per_team:,.0f} allocations/s in a burst with nothing resolving. The "
        "units are AWS's: an index's share of a transactional write billed once (DynamoDB Local reports it "
        "twice; section 2). Were it billed twice, both ceilings would halve.",
        "",
        f"Measured: `ours` at {scaling.cells[scaling.team_counts[0]].clients} clients, {scaling.allocations} "
        f"customers and {scaling.agents} agents (cap 2, room for all) dealt round-robin over T teams, each "
        f"customer opening its chat in its own team; {len(scaling.cells[scaling.team_counts[0]].runs)} runs per "
        "T, median and spread (min-max).",
        "",
        "| teams | measured allocs/s, DynamoDB Local | vs the first row | retries/alloc | violations | "
        "AWS model: chats/s | AWS model: allocations/s |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for count in scaling.team_counts:
        cell = scaling.cells[count]
        lines.append(
            f"| {count} | {cell.with_spread('per_second')} | {cell.per_second / first:.2f}x | "
            f"{cell.with_spread('retries_per_allocation', 2)} | {cell.violations.total} | "
            f"{count * scaling.chats_per_second_per_team:,.0f} | "
            f"{count * scaling.allocations_per_second_per_team:,.0f} |"
        )
    lines += [
        "",
        "![teams]({images}/teams.png)",
        "",
        "Reading it: the model grows linearly because nothing a chat writes is shared between teams; the "
        "measurement does not, and cannot here: DynamoDB Local is one Java process without partitions or "
        "throughput limits, sharing two cores with the client threads, so it is CPU-bound and adding teams "
        "adds no capacity to it. What the local runs do show is that allocation stays correct when the "
        "customers are spread over teams (violations, counted from the database), and how splitting the "
        f"agents into teams changed the retries per allocation: {retries(0)} with {counts[0]}, "
        f"{retries(-1)} with {counts[-1]}. The model assumes one partition per team key value: "
        "DynamoDB may split a hot partition by sort key, but `rank` has only a few distinct values "
        "(0 to the cap, offline ranks apart), so that cannot be counted on. With `ROUTING_OVERFLOW=queue` "
        "(not measured here: the runs use the seed policy) the team's queue partition is a third, and a "
        "resolve that finds the queue empty checks its counter item, one item's write rate. Beyond "
        "one team's ceiling, add teams (TEAMS) and route customers to them.",
        "",
    ]
    return lines
