"""Channels (chats table, ``channel#<id>`` / ``channel``): the only writer of a chat's
status, agent, assignment record and place in the active-channels indexes.

Only active channels carry ``active_agent`` (= the agent's key) and
``active_pool``, so the active-channel indexes hold nothing else. A queued
channel has no ``agent_id`` and names its queue entry (``queue_entry``).
"""

from __future__ import annotations

from typing import Any

from chalicelib import keys
from chalicelib.errors import Conflict, Forbidden
from chalicelib.models import ACTIVE, OPEN_STATUSES, QUEUED, RESOLVED, Assignment, Candidate, Channel
from chalicelib.store import cursors
from chalicelib.store.batch import Ref, ref
from chalicelib.store.dynamo import query_all, to_item, to_values
from chalicelib.store.scans import scan_prefix
from chalicelib.store.tables import ACTIVE_CHANNELS_BY_AGENT, ACTIVE_CHANNELS_BY_POOL, ITEM_IS_NEW
from chalicelib.store.transaction import Item, stale


def decode(item: dict[str, Any]) -> Channel:
    agent_id = item.get("agent_id")
    record = item.get("assignment")
    return Channel(
        channel_id=item["channel_id"],
        customer_id=int(item["customer_id"]),
        agent_id=int(agent_id) if agent_id is not None else None,
        status=item["status"],
        created_at=item["created_at"],
        resolved_at=item.get("resolved_at"),
        team=item.get("team"),
        ended_by=item.get("ended_by"),
        assignment=decode_assignment(record) if record else None,
        queue_entry=item.get("queue_entry"),
    )


def decode_assignment(record: dict[str, Any]) -> Assignment:
    agent_id = record.get("agent_id")
    queued = record.get("queued_seconds")
    return Assignment(
        reason=record["reason"],
        rule=record["rule"],
        agent_id=int(agent_id) if agent_id is not None else None,
        at=record["at"],
        attempts=int(record.get("attempts", 1)),
        queued_seconds=float(queued) if queued is not None else None,
        by=record.get("by"),
        candidates=tuple(
            Candidate(int(c["agent_id"]), c["status"], int(c["active_chats"]), int(c["max_chats"]))
            for c in record.get("candidates", [])
        ),
    )


def _stored(channel: Channel) -> dict[str, Any]:
    """The channel's attributes as stored: its JSON without what is computed on read or absent."""
    values = {k: v for k, v in channel.to_dict().items() if v is not None}
    for computed in ("queue_position", "estimated_wait_seconds"):
        values.pop(computed, None)
    return values


def participant_attribute(role: str) -> str:
    return "customer_id" if role == keys.CUSTOMER else "agent_id"


class Channels:
    def __init__(self, table: str, pool: str) -> None:
        self.table = table
        self.pool = pool  # the team whose active-channel list new channels join

    def _key(self, channel_id: str) -> dict[str, Any]:
        return to_item({"pk": keys.channel_pk(channel_id), "sk": keys.CHANNEL_SK})

    # -- reads --------------------------------------------------------------

    def ref(self, channel_id: str) -> Ref[Channel]:
        return ref(self.table, decode, pk=keys.channel_pk(channel_id), sk=keys.CHANNEL_SK)

    def active_for(self, agent_id: int) -> list[Channel]:
        """The agent's active channels, oldest first (an eventually consistent index)."""
        items = query_all(
            TableName=self.table,
            IndexName=ACTIVE_CHANNELS_BY_AGENT,
            KeyConditionExpression="active_agent = :agent",
            ExpressionAttributeValues=to_values({":agent": keys.agent_pk(agent_id)}),
            ScanIndexForward=True,
        )
        return [decode(item) for item in items]

    def active_page(self, limit: int, cursor: str | None, team: str | None = None) -> tuple[list[Channel], str | None]:
        """One page of a team's active channels, oldest first (an eventually consistent index)."""
        team = team or self.pool
        query = {
            "TableName": self.table,
            "IndexName": ACTIVE_CHANNELS_BY_POOL,
            "KeyConditionExpression": "active_pool = :pool",
            "ExpressionAttributeValues": to_values({":pool": team}),
            "Limit": limit,
        }
        items, next_cursor = cursors.query_page(
            query, cursor, ("pk", "sk", "active_pool", "created_at"), ("active_pool", team)
        )
        return [decode(item) for item in items], next_cursor

    def all_open(self) -> list[Channel]:
        """Every open channel (active or queued): a full scan, for operators (reconcile), never on a
        request path."""
        items = scan_prefix(self.table, "channel#")
        return [decode(item) for item in items if item["sk"] == keys.CHANNEL_SK and item["status"] in OPEN_STATUSES]

    # -- transaction items --------------------------------------------------

    def open(self, channel: Channel, queue_entry: str | None = None) -> Item:
        """Create a channel (its id is new): active with its agent, or queued as ``queue_entry``."""
        values = {"pk": keys.channel_pk(channel.channel_id), "sk": keys.CHANNEL_SK, **_stored(channel)}
        if channel.status == ACTIVE:
            assert channel.agent_id is not None
            values.update(active_agent=keys.agent_pk(channel.agent_id), active_pool=channel.team or self.pool)
        else:
            assert channel.status == QUEUED and queue_entry is not None
            values["queue_entry"] = queue_entry
        put = {"TableName": self.table, "Item": to_item(values), "ConditionExpression": ITEM_IS_NEW}
        return Item("channel", {"Put": put})

    def activate(self, channel_id: str, agent_id: int, team: str, assignment: Assignment, label: str) -> Item:
        """Give a queued channel to ``agent_id``; fails as ``Stale`` if it is no longer queued."""
        update = {
            "TableName": self.table,
            "Key": self._key(channel_id),
            "UpdateExpression": "SET #status = :active, agent_id = :agent, active_agent = :agent_key, "
            "active_pool = :team, assignment = :assignment REMOVE queue_entry",
            "ConditionExpression": "#status = :queued",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": to_values(
                {
                    ":active": ACTIVE,
                    ":queued": QUEUED,
                    ":agent": agent_id,
                    ":agent_key": keys.agent_pk(agent_id),
                    ":team": team,
                    ":assignment": assignment.to_dict(),
                }
            ),
        }
        return Item(label, {"Update": update}, on_fail=stale)

    def move(self, channel_id: str, from_agent: int, to_agent: int, assignment: Assignment) -> Item:
        """Move an active channel from one agent to another; fails as ``Stale`` if it is no longer
        active with ``from_agent``."""
        update = {
            "TableName": self.table,
            "Key": self._key(channel_id),
            "UpdateExpression": "SET agent_id = :to, active_agent = :to_key, assignment = :assignment",
            "ConditionExpression": "#status = :active AND agent_id = :from",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": to_values(
                {
                    ":active": ACTIVE,
                    ":from": from_agent,
                    ":to": to_agent,
                    ":to_key": keys.agent_pk(to_agent),
                    ":assignment": assignment.to_dict(),
                }
            ),
        }
        return Item("channel", {"Update": update}, on_fail=stale)

    def requeue(self, channel_id: str, from_agent: int, queue_entry: str, assignment: Assignment) -> Item:
        """Put an active channel of ``from_agent`` back into the queue as ``queue_entry``; fails as
        ``Stale`` if it is no longer active with that agent."""
        update = {
            "TableName": self.table,
            "Key": self._key(channel_id),
            "UpdateExpression": "SET #status = :queued, queue_entry = :entry, assignment = :assignment "
            "REMOVE agent_id, active_agent, active_pool",
            "ConditionExpression": "#status = :active AND agent_id = :from",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": to_values(
                {
                    ":active": ACTIVE,
                    ":queued": QUEUED,
                    ":from": from_agent,
                    ":entry": queue_entry,
                    ":assignment": assignment.to_dict(),
                }
            ),
        }
        return Item("channel", {"Update": update}, on_fail=stale)

    def leave(self, channel: Channel, at: str) -> Item:
        """The customer ends their open channel (as it was read: queued, or active with its agent);
        fails as ``Stale`` if it changed meanwhile."""
        condition = "#status = :was AND customer_id = :customer"
        values: dict[str, Any] = {
            ":resolved": RESOLVED,
            ":now": at,
            ":customer_role": keys.CUSTOMER,
            ":was": channel.status,
            ":customer": channel.customer_id,
        }
        if channel.agent_id is not None:
            condition += " AND agent_id = :agent"
            values[":agent"] = channel.agent_id
        update = {
            "TableName": self.table,
            "Key": self._key(channel.channel_id),
            "UpdateExpression": "SET #status = :resolved, resolved_at = :now, ended_by = :customer_role "
            "REMOVE active_agent, active_pool, queue_entry",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": to_values(values),
        }
        return Item("channel", {"Update": update}, on_fail=stale)

    def close(self, channel_id: str, *, by_agent: int, at: str) -> Item:
        """Resolve an active channel of ``by_agent``. Fails as ``already_resolved`` or ``not_your_chat``."""

        def refused(current: dict[str, Any] | None) -> Exception:
            if current is not None and current.get("status") == RESOLVED:
                return Conflict("the chat is already resolved", code="already_resolved")
            return Forbidden("the chat is assigned to another agent", code="not_your_chat")

        update = {
            "TableName": self.table,
            "Key": self._key(channel_id),
            "UpdateExpression": "SET #status = :resolved, resolved_at = :now, ended_by = :agent_role "
            "REMOVE active_agent, active_pool",
            "ConditionExpression": "#status = :active AND agent_id = :agent",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": to_values(
                {":resolved": RESOLVED, ":now": at, ":active": ACTIVE, ":agent": by_agent, ":agent_role": keys.AGENT}
            ),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        return Item("channel", {"Update": update}, on_fail=refused)
