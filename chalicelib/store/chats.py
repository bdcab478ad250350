"""Channels and messages (the chats table): resolve, send, history, an agent's active list."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from chalicelib import keys
from chalicelib.config import Settings
from chalicelib.errors import Conflict, Forbidden
from chalicelib.models import ACTIVE, RESOLVED, Channel, Message, Principal
from chalicelib.schema import ACTIVE_CHANNELS_BY_AGENT, TTL_ATTRIBUTE
from chalicelib.store import codec
from chalicelib.store.accounts import ITEM_IS_NEW
from chalicelib.store.dynamo import TransactionCancelled, call, from_item, query_all, store_busy, to_item, to_values

IDEMPOTENCY_TTL_SECONDS = 24 * 3600


class ChatStore:
    settings: Settings
    _load: Callable[..., dict[Any, dict[str, Any]]]  # from AccountStore
    _transact_as: Callable[..., None]  # from AccountStore

    # -- resolve ----------------------------------------------------------

    def commit_resolve(self, principal: Principal, channel: Channel) -> str:
        """Mark ``channel`` resolved, free the agent's slot and the customer, atomically.

        Returns the resolve time. Raises ``Conflict`` (already resolved),
        ``Forbidden`` (another agent's channel), ``Unauthorized`` (token revoked).
        """
        now = keys.now_iso()
        users = self.settings.users_table
        items: list[tuple[str, dict[str, Any]]] = [
            (
                "channel",
                {
                    "Update": {
                        "TableName": self.settings.chats_table,
                        "Key": to_item({"pk": keys.channel_pk(channel.channel_id), "sk": keys.CHANNEL_SK}),
                        "UpdateExpression": "SET #status = :resolved, resolved_at = :now REMOVE active_agent",
                        "ConditionExpression": "#status = :active AND agent_id = :agent",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": to_values(
                            {":resolved": RESOLVED, ":now": now, ":active": ACTIVE, ":agent": principal.user_id}
                        ),
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ),
            (
                "agent",
                {
                    "Update": {
                        "TableName": users,
                        "Key": to_item({"pk": keys.agent_pk(channel.agent_id)}),
                        "UpdateExpression": "ADD active_count :minus, #rank :minus",
                        "ConditionExpression": "active_count > :zero",
                        "ExpressionAttributeNames": {"#rank": "rank"},
                        "ExpressionAttributeValues": to_values({":minus": -1, ":zero": 0}),
                    }
                },
            ),
            (
                "customer",
                {
                    "Update": {
                        "TableName": users,
                        "Key": to_item({"pk": keys.customer_pk(channel.customer_id)}),
                        "UpdateExpression": "REMOVE active_channel_id, active_agent_id, active_since",
                        "ConditionExpression": "active_channel_id = :channel",
                        "ExpressionAttributeValues": to_values({":channel": channel.channel_id}),
                    }
                },
            ),
        ]
        try:
            self._transact_as(principal, items)
        except TransactionCancelled as cancelled:
            reasons = cancelled.cancellation
            if reasons.failed("channel"):
                current = reasons.item("channel") or {}
                if current.get("status") == RESOLVED:
                    raise Conflict("the chat is already resolved", code="already_resolved") from cancelled
                raise Forbidden("the chat is assigned to another agent", code="not_your_chat") from cancelled
            if reasons.conflicted():
                raise store_busy() from cancelled
            raise Conflict(
                "the chat's agent or customer record does not match it; run reconcile",
                code="inconsistent_state",
            ) from cancelled
        return now

    def channel_for(self, principal: Principal, channel_id: str) -> Channel | None:
        """Check the token and read a channel, in one round trip."""
        key = (keys.channel_pk(channel_id), keys.CHANNEL_SK)
        item = self._load(principal, chats=(key,)).get(key)
        return codec.channel(item) if item else None

    # -- messages ---------------------------------------------------------

    def put_message(
        self,
        principal: Principal,
        message: Message,
        idempotency_key: str | None = None,
    ) -> tuple[Message, bool]:
        """Store ``message`` if its channel is active and the sender takes part in it.

        Returns ``(message, created)``. With an ``idempotency_key`` seen before
        for this sender and channel, nothing is written and the first message
        is returned with ``created=False``. Raises ``Conflict`` (chat resolved),
        ``Forbidden`` (not a participant), ``Unauthorized`` (token revoked).
        """
        pk = keys.channel_pk(message.channel_id)
        participant = "customer_id" if principal.role == keys.CUSTOMER else "agent_id"
        items: list[tuple[str, dict[str, Any]]] = [
            (
                "message",
                {
                    "Put": {
                        "TableName": self.settings.chats_table,
                        "Item": to_item({"pk": pk, "sk": keys.message_sk(message.message_id), **message.to_dict()}),
                        "ConditionExpression": ITEM_IS_NEW,
                    }
                },
            ),
            (
                "channel",
                {
                    "ConditionCheck": {
                        "TableName": self.settings.chats_table,
                        "Key": to_item({"pk": pk, "sk": keys.CHANNEL_SK}),
                        "ConditionExpression": "#status = :active AND #participant = :me",
                        "ExpressionAttributeNames": {"#status": "status", "#participant": participant},
                        "ExpressionAttributeValues": to_values({":active": ACTIVE, ":me": principal.user_id}),
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ),
        ]
        if idempotency_key is not None:
            record = {
                "pk": pk,
                "sk": keys.idempotency_sk(principal.role, principal.user_id, idempotency_key),
                "message": message.to_dict(),
                TTL_ATTRIBUTE: int(time.time()) + IDEMPOTENCY_TTL_SECONDS,
            }
            items.append(
                (
                    "idempotency",
                    {
                        "Put": {
                            "TableName": self.settings.chats_table,
                            "Item": to_item(record),
                            "ConditionExpression": ITEM_IS_NEW,
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                        }
                    },
                )
            )
        try:
            self._transact_as(principal, items)
        except TransactionCancelled as cancelled:
            reasons = cancelled.cancellation
            if reasons.failed("idempotency"):
                first = (reasons.item("idempotency") or {}).get("message")
                if first:
                    return codec.message(first), False
            if reasons.failed("channel"):
                current = reasons.item("channel") or {}
                if current and current.get(participant) != principal.user_id:
                    raise Forbidden("you do not take part in this chat", code="not_your_chat") from cancelled
                raise Conflict("the chat is resolved; no more messages", code="chat_resolved") from cancelled
            raise store_busy() from cancelled
        return message, True

    def message_page(self, channel_id: str, limit: int, after: str | None) -> tuple[list[Message], str | None]:
        """One page of a channel's messages, oldest first; returns the page and the next ``after``."""
        kwargs: dict[str, Any] = {
            "TableName": self.settings.chats_table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": to_values(
                {":pk": keys.channel_pk(channel_id), ":prefix": keys.MESSAGE_SK_PREFIX}
            ),
            "ScanIndexForward": True,
            "Limit": limit,
            "ConsistentRead": True,
        }
        if after is not None:
            kwargs["ExclusiveStartKey"] = to_item({"pk": keys.channel_pk(channel_id), "sk": keys.message_sk(after)})
        response = call("query", **kwargs)
        messages = [codec.message(from_item(item)) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        next_after = messages[-1].message_id if last and messages else None
        return messages, next_after

    def active_channels(self, agent_id: int) -> list[Channel]:
        """The agent's active channels, oldest first (read from an eventually consistent index)."""
        items = query_all(
            TableName=self.settings.chats_table,
            IndexName=ACTIVE_CHANNELS_BY_AGENT,
            KeyConditionExpression="active_agent = :agent",
            ExpressionAttributeValues=to_values({":agent": keys.agent_pk(agent_id)}),
            ScanIndexForward=True,
        )
        return [codec.channel(item) for item in items]
