"""The agent item's conditions and update clauses, each written once.

``IS_AVAILABLE`` (online with a fresh heartbeat) and ``HAS_FREE_SLOT``
(available and below its own capacity) say who may take a new chat;
``load_change`` is the only code that writes ``rank``, the load index's sort
key (active chats, plus ``OFFLINE_RANK_OFFSET`` unless online). Used by
``chalicelib.store.agents``, the agent's only writer.
"""

from __future__ import annotations

from typing import Any

from chalicelib import keys
from chalicelib.errors import NotFound, Unauthorized
from chalicelib.models import ONLINE, Rule
from chalicelib.store.tables import ITEM_EXISTS
from chalicelib.store.transaction import Stale

# Online, and heard from since :fresh (no heartbeat for the presence timeout = offline for allocation).
IS_AVAILABLE = "(#status = :online AND last_seen >= :fresh)"
# Below its own capacity, or below the default (:cap) where it has none.
BELOW_CAPACITY = "(active_count < max_chats OR (attribute_not_exists(max_chats) AND active_count < :cap))"
# Rule 1: may take one more chat.
HAS_FREE_SLOT = f"{IS_AVAILABLE} AND {BELOW_CAPACITY}"
# The overflow proof, per other agent.
NO_FREE_SLOT = f"NOT ({HAS_FREE_SLOT})"
# Available, and below its capacity once one of its chats ends (a queued chat may take that slot).
FREE_AFTER_RELEASE = (
    f"{IS_AVAILABLE} AND (active_count <= max_chats OR (attribute_not_exists(max_chats) AND active_count <= :cap))"
)

# The condition that proves a choice at the commit, one per rule.
TAKE_SLOT_CONDITIONS = {
    # Rule 1: still has a free slot (its exact count may differ).
    Rule.UNDER_CAP: f"{ITEM_EXISTS} AND {HAS_FREE_SLOT}",
    # Rule 2: still available and exactly as loaded as when chosen.
    Rule.OVERFLOW: f"{ITEM_EXISTS} AND {IS_AVAILABLE} AND active_count = :observed",
    # Rule 3: still not available and exactly as loaded as when chosen.
    Rule.NOBODY_ONLINE: f"{ITEM_EXISTS} AND NOT {IS_AVAILABLE} AND active_count = :observed",
}
NAMES = {"#status": "status"}


class AgentGone(Stale):
    """The chosen agent is no longer available at the commit (silent too long, away or offline),
    though the index still showed it online: mark it offline if silent, and choose again."""

    def __init__(self, agent_id: int) -> None:
        super().__init__(agent_id)
        self.agent_id = agent_id


class SessionEnded(Unauthorized):
    def __init__(self) -> None:
        super().__init__("this session has ended; log in again", code="token_revoked")


def session_entry(expires_at: int, jti: str) -> str:
    return f"{expires_at}#{jti}"


def live_sessions(entries: set[str] | frozenset[str], now: float) -> frozenset[str]:
    return frozenset(e for e in entries if int(e.split("#", 1)[0]) > now)


def agent_not_found(agent_id: int) -> NotFound:
    return NotFound(f"agent {agent_id} does not exist", code="agent_not_found")


def load_change(*, add: int | None = None, status: str | None = None, count: int | None = None) -> dict[str, Any]:
    """Update clauses that change an agent's load or status and keep ``rank`` in step.

    ``add``: chats gained (or lost) at the same status; ``status``: a new
    status at the same load; ``count`` with ``status``: both set outright.
    """
    names = {"#rank": "rank"}
    if add is not None:
        return {"SET": [], "ADD": ["active_count :delta", "#rank :delta"], "names": names, "values": {":delta": add}}
    assert status is not None
    names["#status"] = "status"
    values: dict[str, Any] = {":status": status}
    if count is None:
        values[":offset"] = 0 if status == ONLINE else keys.OFFLINE_RANK_OFFSET
        sets = ["#status = :status", "#rank = active_count + :offset"]
    else:
        values.update({":count": count, ":rank": keys.rank(count, status == ONLINE)})
        sets = ["#status = :status", "active_count = :count", "#rank = :rank"]
    return {"SET": sets, "ADD": [], "names": names, "values": values}


def expression(
    change: dict[str, Any], *, sets: tuple[str, ...] = (), adds: tuple[str, ...] = (), other: str = ""
) -> str:
    parts = []
    if change["ADD"] or adds:
        parts.append("ADD " + ", ".join([*change["ADD"], *adds]))
    if change["SET"] or sets:
        parts.append("SET " + ", ".join([*change["SET"], *sets]))
    return " ".join([*parts, other]).strip()


NO_CHANGE: dict[str, Any] = {"SET": [], "ADD": [], "names": {}, "values": {}}
