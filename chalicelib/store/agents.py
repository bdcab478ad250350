"""Agents (users table, ``agent#<id>``): the only writer of an agent's status, load,
capacity, presence and sessions (conditions and clauses: ``agent_expressions``).

- ``rank``, the load index's sort key, follows every change of status or load
  (``load_change``); the index itself is read through ``load_index``.
- ``last_seen`` (epoch seconds) is the last heartbeat; it is not projected into
  the index, so a heartbeat writes the agent item alone and never the index.
- ``sessions`` is a string set of ``<exp>#<jti>``, one per live login; a
  heartbeat proves its session is still in it. ``session_version`` counts
  changes of it, so a logout can go offline only if no login came in between.
- ``max_chats`` is the agent's own capacity; absent, the default applies.
"""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import keys
from chalicelib.errors import NotFound
from chalicelib.models import OFFLINE, ONLINE, Agent, AgentLoad, Choice, Rule, iso_seconds
from chalicelib.store.agent_expressions import (
    FREE_AFTER_RELEASE,
    NAMES,
    NO_CHANGE,
    NO_FREE_SLOT,
    TAKE_SLOT_CONDITIONS,
    AgentGone,
    SessionEnded,
    agent_not_found,
    expression,
    live_sessions,
    load_change,
)
from chalicelib.store.batch import Ref, ref
from chalicelib.store.dynamo import call, from_item, is_condition_failure, to_item, to_values
from chalicelib.store.scans import scan_prefix
from chalicelib.store.tables import ITEM_EXISTS, ITEM_IS_NEW
from chalicelib.store.transaction import Item, Stale, Transaction, stale


class Agents:
    def __init__(self, table: str, pool: str, default_max_chats: int) -> None:
        self.table = table
        self.pool = pool  # the load-index partition new agents join
        self.default_max_chats = default_max_chats

    def _key(self, agent_id: int) -> dict[str, Any]:
        return to_item({"pk": keys.agent_pk(agent_id)})

    def decode(self, item: dict[str, Any]) -> Agent:
        last_seen = item.get("last_seen")
        return Agent(
            agent_id=int(item["agent_id"]),
            username=item["username"],
            status=item["status"],
            active_count=int(item["active_count"]),
            last_assigned_at=item.get("last_assigned_at", ""),
            max_chats=int(item.get("max_chats", self.default_max_chats)),
            last_seen=iso_seconds(int(last_seen)) if last_seen is not None else None,
            sessions=len(live_sessions(item.get("sessions", set()), time.time())),
            session_entries=frozenset(item.get("sessions", ())),
            session_version=int(item.get("session_version", 0)),
            last_seen_epoch=int(last_seen) if last_seen is not None else None,
            team=item.get("pool", self.pool),
        )

    # -- reads --------------------------------------------------------------

    def ref(self, agent_id: int) -> Ref[Agent]:
        return ref(self.table, self.decode, pk=keys.agent_pk(agent_id))

    def all(self) -> list[Agent]:
        """Every agent: a full scan, for operators (reconcile), never on a request path."""
        return [self.decode(item) for item in scan_prefix(self.table, "agent#")]

    # -- transaction items --------------------------------------------------

    def new(self, agent_id: int, username: str, now: str, team: str | None = None) -> Item:
        """Create an offline agent with no chats in ``team`` (default: the default team); fails if it exists."""
        values = {
            "pk": keys.agent_pk(agent_id),
            "username": username,
            "created_at": now,
            "agent_id": agent_id,
            "status": OFFLINE,
            "active_count": 0,
            "pool": team or self.pool,
            "rank": keys.rank(0, online=False),
            "last_assigned_at": "",
        }
        put = {"TableName": self.table, "Item": to_item(values), "ConditionExpression": ITEM_IS_NEW}
        return Item("agent", {"Put": put})

    def take_slot(self, choice: Choice, cap: int, now: str, fresh_after: int) -> Item:
        """Count one more chat on the chosen agent, on condition the choice still holds
        (``TAKE_SLOT_CONDITIONS``). Fails as ``AgentGone`` (no longer available) or ``Stale``."""
        change = load_change(add=1)
        values = {**change["values"], ":now": now, ":online": ONLINE, ":fresh": fresh_after}
        if choice.rule is Rule.UNDER_CAP:
            values[":cap"] = cap
        else:
            values[":observed"] = choice.agent.active_count
        agent_id = choice.agent.agent_id

        def lost(current: dict[str, Any] | None) -> Exception:
            available = current and current.get("status") == ONLINE and int(current.get("last_seen", 0)) >= fresh_after
            if current and not available and choice.rule is not Rule.NOBODY_ONLINE:
                return AgentGone(agent_id)  # not a lost race for a slot: the agent left
            return Stale()

        update = {
            "TableName": self.table,
            "Key": self._key(agent_id),
            "UpdateExpression": expression(change, sets=("last_assigned_at = :now",)),
            "ConditionExpression": TAKE_SLOT_CONDITIONS[choice.rule],
            "ExpressionAttributeNames": {**change["names"], **NAMES},
            "ExpressionAttributeValues": to_values(values),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        return Item("agent", {"Update": update}, on_fail=lost)

    def still_full(self, others: tuple[AgentLoad, ...], cap: int, fresh_after: int) -> list[Item]:
        """The overflow proof: none of ``others`` has a free slot (``NO_FREE_SLOT``). Fails as ``Stale``."""
        values = to_values({":online": ONLINE, ":cap": cap, ":fresh": fresh_after})
        return [
            Item(
                f"full#{other.agent_id}",
                {
                    "ConditionCheck": {
                        "TableName": self.table,
                        "Key": self._key(other.agent_id),
                        "ConditionExpression": NO_FREE_SLOT,
                        "ExpressionAttributeNames": NAMES,
                        "ExpressionAttributeValues": values,
                    }
                },
                on_fail=stale,
            )
            for other in others
        ]

    def release_slot(self, agent_id: int) -> Item:
        """Count one chat less (never below 0; a failure means the records disagree)."""
        change = load_change(add=-1)
        update = {
            "TableName": self.table,
            "Key": self._key(agent_id),
            "UpdateExpression": expression(change),
            "ConditionExpression": "active_count > :zero",
            "ExpressionAttributeNames": change["names"],
            "ExpressionAttributeValues": to_values({**change["values"], ":zero": 0}),
        }
        return Item("agent", {"Update": update})

    def hand_over(self, agent_id: int, cap: int, fresh_after: int, now: str) -> Item:
        """The agent keeps its count: one chat ends and a queued one takes its slot. On condition
        it is available and has a slot once the ending chat is gone; fails as ``Stale``."""
        update = {
            "TableName": self.table,
            "Key": self._key(agent_id),
            "UpdateExpression": "SET last_assigned_at = :now",
            "ConditionExpression": f"{ITEM_EXISTS} AND active_count > :zero AND {FREE_AFTER_RELEASE}",
            "ExpressionAttributeNames": NAMES,
            "ExpressionAttributeValues": to_values(
                {":now": now, ":zero": 0, ":cap": cap, ":online": ONLINE, ":fresh": fresh_after}
            ),
        }
        return Item("agent", {"Update": update}, on_fail=stale)

    def release_slot_unusable(self, agent_id: int, cap: int, fresh_after: int) -> Item:
        """Count one chat less, on condition the freed slot is of no use to the queue: the agent
        is not available, or still at its capacity. Fails as ``Stale`` (it came back meanwhile)."""
        change = load_change(add=-1)
        update = {
            "TableName": self.table,
            "Key": self._key(agent_id),
            "UpdateExpression": expression(change),
            "ConditionExpression": f"active_count > :zero AND NOT ({FREE_AFTER_RELEASE})",
            "ExpressionAttributeNames": {**change["names"], **NAMES},
            "ExpressionAttributeValues": to_values(
                {**change["values"], ":zero": 0, ":cap": cap, ":online": ONLINE, ":fresh": fresh_after}
            ),
        }
        return Item("agent", {"Update": update}, on_fail=stale)

    def end_session(self, agent: Agent, gone: frozenset[str], *, go_offline: bool) -> Item:
        """Drop sessions ``gone`` (a logout's, and expired ones); go offline if none is left.
        On condition no session came or went since ``agent`` was read: fails as ``Stale``."""
        change = load_change(status=OFFLINE) if go_offline else NO_CHANGE
        values = {**change["values"], ":gone": gone, ":one": 1, ":version": agent.session_version}
        update = {
            "TableName": self.table,
            "Key": self._key(agent.agent_id),
            "UpdateExpression": expression(change, adds=("session_version :one",), other="DELETE sessions :gone"),
            "ConditionExpression": f"{ITEM_EXISTS} AND "
            "(session_version = :version OR (attribute_not_exists(session_version) AND :version = :zero))",
            "ExpressionAttributeNames": change["names"] or None,
            "ExpressionAttributeValues": to_values({**values, ":zero": 0}),
        }
        if not update["ExpressionAttributeNames"]:
            del update["ExpressionAttributeNames"]
        return Item("agent", {"Update": update}, on_fail=stale)

    # -- single writes ------------------------------------------------------

    def _update(self, agent_id: int, **kwargs: Any) -> Agent:
        try:
            response = call(
                "update_item", TableName=self.table, Key=self._key(agent_id), ReturnValues="ALL_NEW", **kwargs
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise agent_not_found(agent_id) from error
            raise
        return self.decode(from_item(response["Attributes"]))

    def log_in(self, agent_id: int, session: str, now: int) -> Agent:
        """Put the agent online with a new session; a login counts as a heartbeat. Raises ``NotFound``."""
        change = load_change(status=ONLINE)
        return self._update(
            agent_id,
            UpdateExpression=expression(
                change, sets=("last_seen = :now",), adds=("sessions :session", "session_version :one")
            ),
            ConditionExpression=ITEM_EXISTS,
            ExpressionAttributeNames=change["names"],
            ExpressionAttributeValues=to_values({**change["values"], ":now": now, ":session": {session}, ":one": 1}),
        )

    def heartbeat(self, agent_id: int, session: str, status: str, now: int) -> tuple[Agent, Agent]:
        """Record a heartbeat of a live session, switching to ``status`` if it differs; returns the
        agent after it and before it (a change of status, or a heartbeat after a long silence,
        may make it available again).

        The usual heartbeat (same status) writes ``last_seen`` only: one small
        write that never touches the load index. Raises ``NotFound`` or
        ``SessionEnded`` (the session was logged out or forced off).
        """
        same = {
            "UpdateExpression": "SET last_seen = :now",
            "ConditionExpression": "#status = :status AND contains(sessions, :session)",
            "ExpressionAttributeNames": NAMES,
            "ExpressionAttributeValues": to_values({":now": now, ":status": status, ":session": session}),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        try:
            response = call(
                "update_item", TableName=self.table, Key=self._key(agent_id), ReturnValues="ALL_OLD", **same
            )
            before = from_item(response["Attributes"])
            return self.decode({**before, "last_seen": now}), self.decode(before)
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            current = from_item(error.response["Item"]) if error.response.get("Item") else None
        if current is None:
            raise agent_not_found(agent_id)
        if session not in current.get("sessions", set()):
            raise SessionEnded()
        change = load_change(status=status)
        try:
            agent = self._update(
                agent_id,
                UpdateExpression=expression(change, sets=("last_seen = :now",)),
                ConditionExpression="contains(sessions, :session)",
                ExpressionAttributeNames=change["names"],
                ExpressionAttributeValues=to_values({**change["values"], ":now": now, ":session": session}),
            )
            return agent, self.decode(current)
        except NotFound:
            raise SessionEnded() from None

    def set_capacity(self, agent_id: int, max_chats: int) -> Agent:
        """Set the agent's own capacity. Raises ``NotFound``."""
        return self._update(
            agent_id,
            UpdateExpression="SET max_chats = :max",
            ConditionExpression=ITEM_EXISTS,
            ExpressionAttributeValues=to_values({":max": max_chats}),
        )

    def set_status(self, agent_id: int, status: str, *, end_sessions: bool = False) -> Agent:
        """Set the agent's status (its chats stay); ``end_sessions`` also ends every session. Raises ``NotFound``."""
        change = load_change(status=status)
        return self._update(
            agent_id,
            UpdateExpression=expression(
                change, adds=("session_version :one",), other="REMOVE sessions" if end_sessions else ""
            ),
            ConditionExpression=ITEM_EXISTS,
            ExpressionAttributeNames=change["names"],
            ExpressionAttributeValues=to_values({**change["values"], ":one": 1}),
        )

    def expire(self, agent_id: int, fresh_after: int) -> bool:
        """Mark a present agent offline if its heartbeat is older than ``fresh_after``; ``False`` if
        it is not (it beat meanwhile, or is offline already)."""
        change = load_change(status=OFFLINE)
        values = {**change["values"], ":fresh": fresh_after, ":offline": OFFLINE}
        update = {
            "TableName": self.table,
            "Key": self._key(agent_id),
            "UpdateExpression": expression(change),
            "ConditionExpression": "#status <> :offline AND (attribute_not_exists(last_seen) OR last_seen < :fresh)",
            "ExpressionAttributeNames": change["names"],
            "ExpressionAttributeValues": to_values(values),
        }
        return _write_if(update)

    def repair_count(self, agent: Agent, actual: int) -> bool:
        """Set the agent's count to ``actual`` if it is unchanged since ``agent`` was read;
        ``False`` if it changed meanwhile (reconcile's repair)."""
        change = load_change(status=agent.status, count=actual)
        values = {**change["values"], ":observed": agent.active_count, ":last": agent.last_assigned_at}
        update = {
            "TableName": self.table,
            "Key": self._key(agent.agent_id),
            "UpdateExpression": expression(change),
            # Unchanged since read: same count, status and last assignment
            # (a resolve and a new assignment in between change the latter).
            "ConditionExpression": "active_count = :observed AND #status = :status AND last_assigned_at = :last",
            "ExpressionAttributeNames": change["names"],
            "ExpressionAttributeValues": to_values(values),
        }
        return _write_if(update)


def _write_if(update: dict[str, Any]) -> bool:
    """One conditional update of an agent; ``False`` if its condition no longer holds."""
    try:
        Transaction().add(Item("agent", {"Update": update}, on_fail=stale)).commit()
    except Stale:
        return False
    return True
