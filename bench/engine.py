"""The engine under benchmark: DynamoDB Local, fresh tables, fast bulk seeding, DB-side checks."""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from chalicelib import keys
from chalicelib.config import get_settings
from chalicelib.models import ONLINE
from chalicelib.store import reset
from chalicelib.store.admin import create_tables
from chalicelib.store.dynamo import from_item, get_client, to_item
from chalicelib.store.tables import table_definitions
from tools.dynamodb_local import DynamoDBLocal
from tools.stages import local_aws_environment, stage_environment

# The teams of the team-scaling runs (``bench.teams``): the default team first.
TEAMS = ("default", *(f"team{i}" for i in range(2, 9)))


def start() -> DynamoDBLocal:
    """An in-memory DynamoDB Local, with the process environment pointing at it."""
    engine = DynamoDBLocal.start()
    os.environ.update(stage_environment())
    os.environ.update(local_aws_environment(engine.endpoint))
    os.environ["AGENT_POOL"] = TEAMS[0]
    os.environ["TEAMS"] = ",".join(TEAMS)
    os.environ["LOG_LEVEL"] = "WARNING"  # one INFO line per chat would time the logging
    reset()
    return engine


def fresh_tables() -> None:
    client = get_client()
    existing = set(client.list_tables()["TableNames"])
    for definition in table_definitions(get_settings()):
        if definition["TableName"] in existing:
            client.delete_table(TableName=definition["TableName"])
    create_tables(get_settings())


def _batch_put(table: str, items: list[dict[str, Any]]) -> None:
    client = get_client()
    for start in range(0, len(items), 25):
        request = {table: [{"PutRequest": {"Item": to_item(i)}} for i in items[start : start + 25]]}
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}


def team_of(user_id: int, teams: tuple[str, ...]) -> str | None:
    """The team of agent or customer ``user_id`` when the run has ``teams``: dealt round-robin."""
    return teams[(user_id - 1) % len(teams)] if teams else None


def seed(agents: int, customers: int, online: bool = True, teams: tuple[str, ...] = ()) -> None:
    """``agents`` agents (online, idle) and ``customers`` customers, written in bulk (no logins);
    with ``teams``, the agents are dealt over them (``team_of``), else all in the default team."""
    settings = get_settings()
    status = ONLINE if online else "offline"
    agent_items = [
        {
            "pk": keys.agent_pk(i),
            "agent_id": i,
            "username": f"agent{i}",
            "status": status,
            "active_count": 0,
            "pool": team_of(i, teams) or settings.agent_pool,
            "rank": keys.rank(0, online),
            "last_assigned_at": "",
            # Agents that keep beating for the whole run (a heartbeat "now" would expire mid-run).
            "last_seen": int(time.time()) + 24 * 3600,
        }
        for i in range(1, agents + 1)
    ]
    customer_items = [
        {"pk": keys.customer_pk(i), "customer_id": i, "username": f"customer{i}"} for i in range(1, customers + 1)
    ]
    _batch_put(settings.users_table, agent_items + customer_items)


@dataclass(frozen=True)
class Violations:
    count_mismatch: int  # sum over agents of |recorded count - active channels|
    over_cap: int  # chats beyond the cap on some agent, while capacity existed for every chat

    @property
    def total(self) -> int:
        return self.count_mismatch + self.over_cap


def violations(cap: int) -> Violations:
    """Read the database and count invariant violations (the workload never needs overflow)."""
    settings = get_settings()
    client = get_client()
    agents: dict[int, int] = {}
    for page in client.get_paginator("scan").paginate(TableName=settings.users_table, ConsistentRead=True):
        for item in map(from_item, page["Items"]):
            if item["pk"].startswith("agent#"):
                agents[item["agent_id"]] = item["active_count"]
    actual: Counter = Counter()
    for page in client.get_paginator("scan").paginate(TableName=settings.chats_table, ConsistentRead=True):
        for item in map(from_item, page["Items"]):
            if item["sk"] == keys.CHANNEL_SK and item["status"] == "active":
                actual[item["agent_id"]] += 1
    mismatch = sum(abs(agents[a] - actual.get(a, 0)) for a in agents)
    over = sum(max(0, n - cap) for n in actual.values())
    return Violations(mismatch, over)


def version() -> str:
    """DynamoDB Local's version, from the npm package's folder name (its release date)."""
    from tools.dynamodb_local import find_jar

    jar = find_jar()
    return jar.parent.name.removeprefix("dynamodb_local_") if jar else "unknown"
