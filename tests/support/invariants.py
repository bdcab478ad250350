"""DESIGN.md's invariants, checked from the database itself (test-only full scans)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from chalicelib.config import get_settings
from chalicelib.keys import OFFLINE_RANK_OFFSET
from chalicelib.store.dynamo import from_item, get_client


def scan(table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in get_client().get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items.extend(from_item(item) for item in page["Items"])
    return items


def snapshot() -> dict[str, list[dict[str, Any]]]:
    settings = get_settings()
    users = scan(settings.users_table)
    chats = scan(settings.chats_table)
    return {
        "agents": [u for u in users if u["pk"].startswith("agent#")],
        "customers": [u for u in users if u["pk"].startswith("customer#")],
        "channels": [c for c in chats if c["sk"] == "channel"],
        "messages": [c for c in chats if c["sk"].startswith("msg#")],
    }


def check(state: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Assert I1, I2, I4 (and the load index's consistency); return the snapshot checked."""
    state = state or snapshot()
    active = [c for c in state["channels"] if c["status"] == "active"]
    per_agent = Counter(c["agent_id"] for c in active)
    agent_ids = {a["agent_id"] for a in state["agents"]}
    for agent in state["agents"]:
        # I1: the counter equals the active channels assigned; never negative.
        assert agent["active_count"] == per_agent.get(agent["agent_id"], 0), agent
        assert agent["active_count"] >= 0, agent
        offset = 0 if agent["status"] == "online" else OFFLINE_RANK_OFFSET
        assert agent["rank"] == agent["active_count"] + offset, agent
    # I2: at most one active channel per customer, and the customer points at it.
    per_customer = Counter(c["customer_id"] for c in active)
    assert all(n == 1 for n in per_customer.values()), per_customer
    by_customer = {c["customer_id"]: c for c in active}
    for customer in state["customers"]:
        channel = by_customer.get(customer["customer_id"])
        assert customer.get("active_channel_id") == (channel["channel_id"] if channel else None), customer
    # I4: every channel has exactly one existing agent; only active ones are in the active index.
    for channel in state["channels"]:
        assert channel["agent_id"] in agent_ids, channel
        assert ("active_agent" in channel) == (channel["status"] == "active"), channel
    message_ids = [m["message_id"] for m in state["messages"]]
    assert len(message_ids) == len(set(message_ids))
    return state


def loads() -> dict[int, int]:
    return {a["agent_id"]: a["active_count"] for a in snapshot()["agents"]}
