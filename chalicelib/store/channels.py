"""Channels (chats table, ``channel#<id>`` / ``channel``): the only writer of a chat's
status, agent and place in the active-channels index.

Only active channels carry ``active_agent`` (= the agent's key), so the
``active_channels_by_agent`` index holds nothing else.
"""

from __future__ import annotations

from typing import Any

from chalicelib import keys
from chalicelib.errors import Conflict, Forbidden
from chalicelib.models import ACTIVE, RESOLVED, Channel
from chalicelib.store import cursors
from chalicelib.store.batch import Ref, ref
from chalicelib.store.dynamo import call, from_item, query_all, to_item, to_values
from chalicelib.store.scans import scan_prefix
from chalicelib.store.tables import ACTIVE_CHANNELS_BY_AGENT, ACTIVE_CHANNELS_BY_POOL, ITEM_IS_NEW
from chalicelib.store.transaction import Item


def decode(item: dict[str, Any]) -> Channel:
    return Channel(
        channel_id=item["channel_id"],
        customer_id=int(item["customer_id"]),
        agent_id=int(item["agent_id"]),
        status=item["status"],
        created_at=item["created_at"],
        resolved_at=item.get("resolved_at"),
        team=item.get("team"),
    )


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
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": ACTIVE_CHANNELS_BY_POOL,
            "KeyConditionExpression": "active_pool = :pool",
            "ExpressionAttributeValues": to_values({":pool": team}),
            "Limit": limit,
        }
        start = cursors.decode(cursor, ("pk", "sk", "active_pool", "created_at"), ("active_pool", team))
        if start:
            kwargs["ExclusiveStartKey"] = to_item(start)
        response = call("query", **kwargs)
        last = response.get("LastEvaluatedKey")
        items = [decode(from_item(item)) for item in response.get("Items", [])]
        return items, cursors.encode(from_item(last) if last else None)

    def all_active(self) -> list[Channel]:
        """Every active channel: a full scan, for operators (reconcile), never on a request path."""
        items = scan_prefix(self.table, "channel#")
        return [decode(item) for item in items if item["sk"] == keys.CHANNEL_SK and item["status"] == ACTIVE]

    # -- transaction items --------------------------------------------------

    def open(self, channel: Channel) -> Item:
        """Create an active channel (its id is new)."""
        values = {
            "pk": keys.channel_pk(channel.channel_id),
            "sk": keys.CHANNEL_SK,
            **channel.to_dict(),
            "active_agent": keys.agent_pk(channel.agent_id),
            "active_pool": channel.team or self.pool,
        }
        put = {"TableName": self.table, "Item": to_item(values), "ConditionExpression": ITEM_IS_NEW}
        return Item("channel", {"Put": put})

    def close(self, channel_id: str, *, by_agent: int, at: str) -> Item:
        """Resolve an active channel of ``by_agent``. Fails as ``already_resolved`` or ``not_your_chat``."""

        def refused(current: dict[str, Any] | None) -> Exception:
            if current is not None and current.get("status") == RESOLVED:
                return Conflict("the chat is already resolved", code="already_resolved")
            return Forbidden("the chat is assigned to another agent", code="not_your_chat")

        update = {
            "TableName": self.table,
            "Key": self._key(channel_id),
            "UpdateExpression": "SET #status = :resolved, resolved_at = :now REMOVE active_agent, active_pool",
            "ConditionExpression": "#status = :active AND agent_id = :agent",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": to_values(
                {":resolved": RESOLVED, ":now": at, ":active": ACTIVE, ":agent": by_agent}
            ),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        return Item("channel", {"Update": update}, on_fail=refused)

    def check_open_to(self, channel_id: str, role: str, user_id: int) -> Item:
        """The channel is active and ``user_id`` takes part in it as ``role``.
        Fails as ``not_your_chat`` or ``chat_resolved``."""
        participant = participant_attribute(role)

        def refused(current: dict[str, Any] | None) -> Exception:
            if current and current.get(participant) != user_id:
                return Forbidden("you do not take part in this chat", code="not_your_chat")
            return Conflict("the chat is resolved; no more messages", code="chat_resolved")

        check = {
            "TableName": self.table,
            "Key": self._key(channel_id),
            "ConditionExpression": "#status = :active AND #participant = :me",
            "ExpressionAttributeNames": {"#status": "status", "#participant": participant},
            "ExpressionAttributeValues": to_values({":active": ACTIVE, ":me": user_id}),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        return Item("channel", {"ConditionCheck": check}, on_fail=refused)
