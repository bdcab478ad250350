"""Queues (chats table, ``queue#<team>``): the only writer of a team's queue entries and its state item.

One partition per team holds the team's waiting chats, head first
(``entry#<priority>#<time-ordered id>``), and one ``state`` item:

- ``queued``: entries in the queue now;
- ``enqueued``: chats ever queued (only grows). A slot freed while the queue
  looked empty commits only if ``enqueued`` is still what was read, so a chat
  queued in between cannot be stranded next to a free slot;
- ``freed``: times an agent came online or got more capacity (only grows). A
  chat is queued only if ``freed`` is still what was read before the agents
  were, so an agent that became available meanwhile is not passed over;
- ``handled_<hour>`` / ``handle_s_<hour>``: chats resolved and their handle
  seconds in the current and previous hour (the wait estimate's input).

One partition takes about 1,000 writes per second, so one team's queue
takes a few hundred queue changes per second; more teams, more queues.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib import keys
from chalicelib.store import cursors
from chalicelib.store.batch import Ref, ref
from chalicelib.store.dynamo import call, from_item, to_item, to_values
from chalicelib.store.transaction import Item, stale

HOUR = 3600


@dataclass(frozen=True)
class QueueEntry:
    team: str
    sk: str
    channel_id: str
    customer_id: int
    queued_at: str  # ISO 8601: when it joined the queue (this time)
    declined_by: int | None = None  # an agent who put it back: not offered to that agent again


@dataclass(frozen=True)
class QueueState:
    queued: int = 0
    enqueued: int = 0
    freed: int = 0
    handled: int = 0  # in the current and the previous hour
    handle_seconds: float = 0.0

    def mean_handle_seconds(self) -> float | None:
        return self.handle_seconds / self.handled if self.handled else None


@dataclass(frozen=True)
class StateChange:
    """What one transaction does to a team's queue state: deltas, and the values it relies on."""

    queued: int = 0
    enqueued: int = 0
    freed: int = 0
    if_enqueued: int | None = None
    if_freed: int | None = None
    handled: tuple[float, ...] = field(default=())  # handle seconds of chats resolved

    def __add__(self, other: StateChange) -> StateChange:
        return StateChange(
            queued=self.queued + other.queued,
            enqueued=self.enqueued + other.enqueued,
            freed=self.freed + other.freed,
            if_enqueued=_same(self.if_enqueued, other.if_enqueued),
            if_freed=_same(self.if_freed, other.if_freed),
            handled=self.handled + other.handled,
        )

    def __bool__(self) -> bool:
        return bool(self.queued or self.enqueued or self.freed or self.handled) or (
            self.if_enqueued is not None or self.if_freed is not None
        )


def _same(a: int | None, b: int | None) -> int | None:
    if a is not None and b is not None and a != b:
        raise ValueError("one transaction relies on two different readings of the queue")
    return a if a is not None else b


def _hour(epoch: float) -> int:
    return int(epoch // HOUR)


def decode_entry(item: dict[str, Any]) -> QueueEntry:
    declined = item.get("declined_by")
    return QueueEntry(
        team=str(item["pk"]).split("#", 1)[1],
        sk=item["sk"],
        channel_id=item["channel_id"],
        customer_id=int(item["customer_id"]),
        queued_at=item["queued_at"],
        declined_by=int(declined) if declined is not None else None,
    )


def decode_state(item: dict[str, Any], now: float) -> QueueState:
    hours = (_hour(now), _hour(now) - 1)
    return QueueState(
        queued=int(item.get("queued", 0)),
        enqueued=int(item.get("enqueued", 0)),
        freed=int(item.get("freed", 0)),
        handled=sum(int(item.get(f"handled_{h}", 0)) for h in hours),
        handle_seconds=float(sum(item.get(f"handle_s_{h}", 0) for h in hours)),
    )


class Queues:
    def __init__(self, table: str) -> None:
        self.table = table

    def _state_key(self, team: str) -> dict[str, Any]:
        return to_item({"pk": keys.queue_pk(team), "sk": keys.QUEUE_STATE_SK})

    # -- reads --------------------------------------------------------------

    def state_ref(self, team: str, now: float) -> Ref[QueueState]:
        return ref(self.table, lambda item: decode_state(item, now), pk=keys.queue_pk(team), sk=keys.QUEUE_STATE_SK)

    def state(self, team: str, now: float) -> QueueState:
        response = call("get_item", TableName=self.table, Key=self._state_key(team), ConsistentRead=True)
        item = response.get("Item")
        return decode_state(from_item(item), now) if item else QueueState()

    def head(self, team: str, limit: int) -> list[QueueEntry]:
        """The first ``limit`` entries, head first (strongly consistent)."""
        entries, _ = self.page(team, limit, None)
        return entries

    def page(self, team: str, limit: int, cursor: str | None) -> tuple[list[QueueEntry], str | None]:
        """One page of the queue, head first (strongly consistent)."""
        query = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :entry)",
            "ExpressionAttributeValues": to_values({":pk": keys.queue_pk(team), ":entry": keys.QUEUE_ENTRY_PREFIX}),
            "ConsistentRead": True,
            "Limit": limit,
        }
        items, next_cursor = cursors.query_page(query, cursor, ("pk", "sk"), ("pk", keys.queue_pk(team)))
        return [decode_entry(item) for item in items], next_cursor

    def position(self, team: str, entry_sk: str) -> int | None:
        """The place of entry ``entry_sk`` in the queue (1 = next); ``None`` if it is not queued."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :first AND :mine",
            "ExpressionAttributeValues": to_values(
                {":pk": keys.queue_pk(team), ":first": keys.QUEUE_ENTRY_PREFIX, ":mine": entry_sk}
            ),
            "ConsistentRead": True,
            "ScanIndexForward": False,  # the entry itself comes first: proves it is still there
            "ProjectionExpression": "sk",
        }
        count, found = 0, False
        while True:
            response = call("query", **kwargs)
            items = response.get("Items", [])
            if count == 0 and items:
                found = from_item(items[0])["sk"] == entry_sk
            count += len(items)
            if not response.get("LastEvaluatedKey"):
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return count if found else None

    # -- transaction items --------------------------------------------------

    def put(self, entry: QueueEntry, label: str = "queue_entry") -> Item:
        values: dict[str, Any] = {
            "pk": keys.queue_pk(entry.team),
            "sk": entry.sk,
            "channel_id": entry.channel_id,
            "customer_id": entry.customer_id,
            "queued_at": entry.queued_at,
        }
        if entry.declined_by is not None:
            values["declined_by"] = entry.declined_by
        put = {"TableName": self.table, "Item": to_item(values), "ConditionExpression": "attribute_not_exists(sk)"}
        return Item(label, {"Put": put}, on_fail=stale)

    def take(self, entry: QueueEntry, label: str = "queue_entry_taken") -> Item:
        """Remove ``entry`` from the queue; fails as ``Stale`` if someone took it first."""
        delete = {
            "TableName": self.table,
            "Key": to_item({"pk": keys.queue_pk(entry.team), "sk": entry.sk}),
            "ConditionExpression": "attribute_exists(sk)",
        }
        return Item(label, {"Delete": delete}, on_fail=stale)

    def change_state(self, team: str, change: StateChange, now: float) -> Item:
        """Apply ``change`` to the team's state item, on condition what it relies on still holds (``Stale``)."""
        adds, removes, conditions = [], [], []
        values: dict[str, Any] = {}
        for name in ("queued", "enqueued", "freed"):
            delta = getattr(change, name)
            if delta:
                adds.append(f"{name} :{name}")
                values[f":{name}"] = delta
        if change.handled:
            hour = _hour(now)
            adds += [f"handled_{hour} :handled", f"handle_s_{hour} :handle_s"]
            values.update({":handled": len(change.handled), ":handle_s": round(sum(change.handled), 3)})
            removes += [f"handled_{hour - 2}", f"handle_s_{hour - 2}"]
        for name, seen in (("enqueued", change.if_enqueued), ("freed", change.if_freed)):
            if seen is not None:
                conditions.append(f"({name} = :seen_{name} OR (attribute_not_exists({name}) AND :seen_{name} = :zero))")
                values[f":seen_{name}"] = seen
                values[":zero"] = 0
        expression = " ".join(
            part
            for part in ("ADD " + ", ".join(adds) if adds else "", "REMOVE " + ", ".join(removes) if removes else "")
            if part
        )
        key = self._state_key(team)
        if not expression:  # relies on the state, changes nothing
            check = {"TableName": self.table, "Key": key, "ConditionExpression": " AND ".join(conditions)}
            check["ExpressionAttributeValues"] = to_values(values)
            return Item("queue_state", {"ConditionCheck": check}, on_fail=stale)
        update: dict[str, Any] = {"TableName": self.table, "Key": key, "UpdateExpression": expression}
        if conditions:
            update["ConditionExpression"] = " AND ".join(conditions)
        if values:
            update["ExpressionAttributeValues"] = to_values(values)
        return Item("queue_state", {"Update": update}, on_fail=stale)
