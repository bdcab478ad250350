"""Agents (users table, ``agent#<id>``): the only writer of an agent's status, load and
place in the load index.

The load index (``agents_by_load``) has partition ``pool`` and sort key
``rank`` = active chats, plus ``OFFLINE_RANK_OFFSET`` while offline, so one
query lists online agents least-loaded first, then offline ones. ``rank`` is
written only by ``_load_change`` (and at creation). The capacity condition of
rule 1 is ``HAS_FREE_SLOT``, its negation for the overflow proof ``NO_FREE_SLOT``.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib import keys
from chalicelib.errors import NotFound
from chalicelib.models import OFFLINE, ONLINE, Agent, AgentLoad, Choice, Rule
from chalicelib.store.batch import Ref, ref
from chalicelib.store.dynamo import call, from_item, is_condition_failure, query_all, to_item, to_values
from chalicelib.store.scans import scan_prefix
from chalicelib.store.tables import AGENTS_BY_LOAD, ITEM_EXISTS, ITEM_IS_NEW
from chalicelib.store.transaction import Item, stale

# Rule 1's capacity condition: online, and below the cap.
HAS_FREE_SLOT = "#status = :online AND active_count < :cap"
# The overflow proof, per other agent: not online, or at/over the cap.
NO_FREE_SLOT = "#status <> :online OR active_count >= :cap"

# The condition that proves a choice at the commit, one per rule.
TAKE_SLOT_CONDITIONS = {
    # Rule 1: still has a free slot (its exact count may differ).
    Rule.UNDER_CAP: f"{ITEM_EXISTS} AND {HAS_FREE_SLOT}",
    # Rule 2: still online and exactly as loaded as when chosen.
    Rule.OVERFLOW: f"{ITEM_EXISTS} AND #status = :online AND active_count = :observed",
    # Rule 3: still not online and exactly as loaded as when chosen.
    Rule.NOBODY_ONLINE: f"{ITEM_EXISTS} AND #status <> :online AND active_count = :observed",
}


def decode(item: dict[str, Any]) -> Agent:
    return Agent(
        agent_id=int(item["agent_id"]),
        username=item["username"],
        status=item["status"],
        active_count=int(item["active_count"]),
        last_assigned_at=item.get("last_assigned_at", ""),
    )


def decode_load(item: dict[str, Any]) -> AgentLoad:
    return AgentLoad(
        agent_id=int(item["agent_id"]),
        status=item["status"],
        active_count=int(item["active_count"]),
        last_assigned_at=item.get("last_assigned_at", ""),
    )


def _load_change(*, add: int | None = None, status: str | None = None, count: int | None = None) -> dict[str, Any]:
    """Update clauses that change an agent's load or status and keep ``rank`` in step:
    ``{"SET": [...], "ADD": [...], "names": {...}, "values": {...}}``.

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
        offset = 0 if status == ONLINE else keys.OFFLINE_RANK_OFFSET
        values[":offset"] = offset
        sets = ["#status = :status", "#rank = active_count + :offset"]
    else:
        values.update({":count": count, ":rank": keys.rank(count, status == ONLINE)})
        sets = ["#status = :status", "active_count = :count", "#rank = :rank"]
    return {"SET": sets, "ADD": [], "names": names, "values": values}


def _expression(change: dict[str, Any], *extra_sets: str) -> str:
    parts = []
    if change["ADD"]:
        parts.append("ADD " + ", ".join(change["ADD"]))
    sets = [*change["SET"], *extra_sets]
    if sets:
        parts.append("SET " + ", ".join(sets))
    return " ".join(parts)


def agent_not_found(agent_id: int) -> NotFound:
    return NotFound(f"agent {agent_id} does not exist", code="agent_not_found")


class Agents:
    def __init__(self, table: str, pool: str) -> None:
        self.table = table
        self.pool = pool

    def _key(self, agent_id: int) -> dict[str, Any]:
        return to_item({"pk": keys.agent_pk(agent_id)})

    # -- reads --------------------------------------------------------------

    def ref(self, agent_id: int) -> Ref[Agent]:
        return ref(self.table, decode, pk=keys.agent_pk(agent_id))

    def candidates(self, limit: int) -> list[AgentLoad]:
        """The ``limit`` least-loaded agents, online ones first (eventually consistent)."""
        response = call(
            "query",
            TableName=self.table,
            IndexName=AGENTS_BY_LOAD,
            KeyConditionExpression="#pool = :pool",
            ExpressionAttributeNames={"#pool": "pool"},
            ExpressionAttributeValues=to_values({":pool": self.pool}),
            ScanIndexForward=True,
            Limit=limit,
        )
        return [decode_load(from_item(item)) for item in response.get("Items", [])]

    def online(self, max_items: int) -> list[AgentLoad]:
        """Up to ``max_items`` online agents, least loaded first (the overflow proof's read)."""
        items = query_all(
            max_items,
            TableName=self.table,
            IndexName=AGENTS_BY_LOAD,
            KeyConditionExpression="#pool = :pool AND #rank < :offline",
            ExpressionAttributeNames={"#pool": "pool", "#rank": "rank"},
            ExpressionAttributeValues=to_values({":pool": self.pool, ":offline": keys.OFFLINE_RANK_OFFSET}),
            ScanIndexForward=True,
        )
        return [decode_load(item) for item in items]

    def all(self) -> list[Agent]:
        """Every agent: a full scan, for operators (reconcile), never on a request path."""
        return [decode(item) for item in scan_prefix(self.table, "agent#")]

    # -- transaction items --------------------------------------------------

    def new(self, agent_id: int, username: str, now: str) -> Item:
        """Create an offline agent with no chats (fails if it exists)."""
        values = {
            "pk": keys.agent_pk(agent_id),
            "username": username,
            "created_at": now,
            "agent_id": agent_id,
            "status": OFFLINE,
            "active_count": 0,
            "pool": self.pool,
            "rank": keys.rank(0, online=False),
            "last_assigned_at": "",
        }
        put = {"TableName": self.table, "Item": to_item(values), "ConditionExpression": ITEM_IS_NEW}
        return Item("agent", {"Put": put})

    def take_slot(self, choice: Choice, cap: int, now: str) -> Item:
        """Count one more chat on the chosen agent, on condition the choice still holds
        (``TAKE_SLOT_CONDITIONS``). Fails as ``Stale``."""
        change = _load_change(add=1)
        values = {**change["values"], ":now": now, ":online": ONLINE}
        if choice.rule is Rule.UNDER_CAP:
            values[":cap"] = cap
        else:
            values[":observed"] = choice.agent.active_count
        update = {
            "TableName": self.table,
            "Key": self._key(choice.agent.agent_id),
            "UpdateExpression": _expression(change, "last_assigned_at = :now"),
            "ConditionExpression": TAKE_SLOT_CONDITIONS[choice.rule],
            "ExpressionAttributeNames": {**change["names"], "#status": "status"},
            "ExpressionAttributeValues": to_values(values),
        }
        return Item("agent", {"Update": update}, on_fail=stale)

    def still_full(self, others: tuple[AgentLoad, ...], cap: int) -> list[Item]:
        """The overflow proof: each of ``others`` is still offline or at/over the cap. Fails as ``Stale``."""
        return [
            Item(
                f"full#{other.agent_id}",
                {
                    "ConditionCheck": {
                        "TableName": self.table,
                        "Key": self._key(other.agent_id),
                        "ConditionExpression": NO_FREE_SLOT,
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": to_values({":online": ONLINE, ":cap": cap}),
                    }
                },
                on_fail=stale,
            )
            for other in others
        ]

    def release_slot(self, agent_id: int) -> Item:
        """Count one chat less (never below 0; a failure means the records disagree)."""
        change = _load_change(add=-1)
        update = {
            "TableName": self.table,
            "Key": self._key(agent_id),
            "UpdateExpression": _expression(change),
            "ConditionExpression": "active_count > :zero",
            "ExpressionAttributeNames": change["names"],
            "ExpressionAttributeValues": to_values({**change["values"], ":zero": 0}),
        }
        return Item("agent", {"Update": update})

    def go_offline(self, agent_id: int) -> Item:
        """Set the agent offline (its chats stay). Fails as ``agent_not_found``."""
        change = _load_change(status=OFFLINE)
        update = {
            "TableName": self.table,
            "Key": self._key(agent_id),
            "UpdateExpression": _expression(change),
            "ConditionExpression": ITEM_EXISTS,
            "ExpressionAttributeNames": change["names"],
            "ExpressionAttributeValues": to_values(change["values"]),
        }
        return Item("agent", {"Update": update}, on_fail=lambda _current: agent_not_found(agent_id))

    # -- single writes ------------------------------------------------------

    def set_status(self, agent_id: int, status: str) -> Agent:
        """Set the agent's status; returns the agent as stored. Raises ``NotFound``."""
        change = _load_change(status=status)
        try:
            response = call(
                "update_item",
                TableName=self.table,
                Key=self._key(agent_id),
                UpdateExpression=_expression(change),
                ConditionExpression=ITEM_EXISTS,
                ExpressionAttributeNames=change["names"],
                ExpressionAttributeValues=to_values(change["values"]),
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise agent_not_found(agent_id) from error
            raise
        return decode(from_item(response["Attributes"]))

    def repair_count(self, agent: Agent, actual: int) -> bool:
        """Set the agent's count to ``actual`` if it is unchanged since ``agent`` was read;
        ``False`` if it changed meanwhile (reconcile's repair)."""
        change = _load_change(status=agent.status, count=actual)
        values = {
            **change["values"],
            ":observed": agent.active_count,
            ":last": agent.last_assigned_at,
        }
        try:
            call(
                "update_item",
                TableName=self.table,
                Key=self._key(agent.agent_id),
                UpdateExpression=_expression(change),
                # Unchanged since read: same count, status and last assignment
                # (a resolve and a new assignment in between change the latter).
                ConditionExpression="active_count = :observed AND #status = :status AND last_assigned_at = :last",
                ExpressionAttributeNames=change["names"],
                ExpressionAttributeValues=to_values(values),
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True
