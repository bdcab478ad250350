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
    return arrange(scan(settings.users_table), scan(settings.chats_table))


def arrange(users: list[dict[str, Any]], chats: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The items of the users and chats tables, by kind (what ``check`` reads)."""
    return {
        "agents": [u for u in users if u["pk"].startswith("agent#")],
        "customers": [u for u in users if u["pk"].startswith("customer#")],
        "channels": [c for c in chats if c["sk"] == "channel"],
        "messages": [c for c in chats if c["sk"].startswith("msg#")],
        "queue_entries": [c for c in chats if c["pk"].startswith("queue#") and c["sk"].startswith("entry#")],
        "queue_states": [c for c in chats if c["pk"].startswith("queue#") and c["sk"] == "state"],
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
    # I2: at most one open (active or queued) channel per customer, and the customer points at it
    # (and at its agent: none while queued).
    open_ = [c for c in state["channels"] if c["status"] in ("active", "queued")]
    per_customer = Counter(c["customer_id"] for c in open_)
    assert all(n == 1 for n in per_customer.values()), per_customer
    by_customer = {c["customer_id"]: c for c in open_}
    for customer in state["customers"]:
        channel = by_customer.get(customer["customer_id"])
        assert customer.get("active_channel_id") == (channel["channel_id"] if channel else None), customer
        if channel:
            assert customer.get("active_agent_id") == channel.get("agent_id"), (customer, channel)
    # I4: every channel but a queued one has exactly one existing agent; only active ones are in the
    # active index; a chat is in one place: with an agent, or in the queue (exactly once), or ended.
    entries = Counter(e["channel_id"] for e in state.get("queue_entries", []))
    for channel in state["channels"]:
        if channel["status"] == "queued":
            assert "agent_id" not in channel and entries[channel["channel_id"]] == 1, channel
        elif "agent_id" in channel or channel["status"] == "active":
            assert channel["agent_id"] in agent_ids and entries[channel["channel_id"]] == 0, channel
        else:  # left the queue before any agent had it
            assert channel.get("ended_by") == "customer" and entries[channel["channel_id"]] == 0, channel
        assert ("active_agent" in channel) == (channel["status"] == "active"), channel
    queued = {c["channel_id"]: c for c in state["channels"] if c["status"] == "queued"}
    for entry in state.get("queue_entries", []):
        assert queued.get(entry["channel_id"], {}).get("queue_entry") == entry["sk"], entry
    # The queue's count is its entries, per team.
    per_team = Counter(e["pk"] for e in state.get("queue_entries", []))
    for queue_state in state.get("queue_states", []):
        assert queue_state.get("queued", 0) == per_team.get(queue_state["pk"], 0), queue_state
    assert all(any(q["pk"] == pk for q in state.get("queue_states", [])) for pk in per_team)
    message_ids = [m["message_id"] for m in state["messages"]]
    assert len(message_ids) == len(set(message_ids))
    return state


def check_no_wait_beside_a_free_slot(
    now: float, timeout: int = 90, cap: int = 2, state: dict[str, list[dict[str, Any]]] | None = None
) -> None:
    """With a queue: no chat waits while an available agent of its team has a free slot (but the
    agent who put it back)."""
    state = state or snapshot()
    for entry in state["queue_entries"]:
        team = entry["pk"].split("#", 1)[1]
        for agent in state["agents"]:
            available = agent["status"] == "online" and agent.get("last_seen", 0) >= int(now) - timeout
            free = agent["active_count"] < agent.get("max_chats", cap)
            if agent.get("pool", "default") == team and available and free:
                assert entry.get("declined_by") == agent["agent_id"], (entry, agent)


def check_fifo(state: dict[str, list[dict[str, Any]]] | None = None) -> None:
    """Chats queued at initiate (entry = their own id) were taken in the order they joined: by id,
    their assignment times never go back. Chats put back into the queue (a ``requeued`` entry in
    their history) jump ahead by design and are left out."""
    state = state or snapshot()
    requeued = {m["channel_id"] for m in state["messages"] if m.get("kind") == "requeued"}
    drained = sorted(
        (
            c
            for c in state["channels"]
            if (c.get("assignment") or {}).get("reason") == "drain" and c["channel_id"] not in requeued
        ),
        key=lambda c: c["channel_id"],
    )
    times = [c["assignment"]["at"] for c in drained]
    assert times == sorted(times), [(c["channel_id"], c["assignment"]["at"]) for c in drained]


def loads() -> dict[int, int]:
    return {a["agent_id"]: a["active_count"] for a in snapshot()["agents"]}
