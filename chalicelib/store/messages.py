"""Messages (chats table, ``channel#<id>`` / ``msg#<id>``) and the idempotency records of
sends (``idem#<role>#<user>#<key>``, removed by TTL): the only writer of both."""

from __future__ import annotations

import time
from typing import Any

from chalicelib import keys
from chalicelib.errors import Conflict
from chalicelib.models import Message
from chalicelib.store.dynamo import call, from_item, to_item, to_values
from chalicelib.store.tables import ITEM_IS_NEW, TTL_ATTRIBUTE
from chalicelib.store.transaction import Item

IDEMPOTENCY_TTL_SECONDS = 24 * 3600


class Replayed(Exception):
    """The idempotency key was used before for the same message: ``message`` is the first one."""

    def __init__(self, message: Message) -> None:
        super().__init__(message.message_id)
        self.message = message


def decode(item: dict[str, Any]) -> Message:
    return Message(
        message_id=item["message_id"],
        channel_id=item["channel_id"],
        sender_role=item["sender_role"],
        sender_id=int(item["sender_id"]),
        text=item["text"],
        created_at=item["created_at"],
        kind=item.get("kind"),
    )


class Messages:
    def __init__(self, table: str) -> None:
        self.table = table

    # -- reads --------------------------------------------------------------

    def page(self, channel_id: str, limit: int, after: str | None) -> tuple[list[Message], str | None]:
        """One page of a channel's messages, oldest first; returns the page and the next ``after``."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
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
        messages = [decode(from_item(item)) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        next_after = messages[-1].message_id if last and messages else None
        return messages, next_after

    def first_from(self, channel_id: str, role: str) -> Message | None:
        """The channel's first message sent by ``role`` (oldest first, eventually consistent: for the
        stream handler's metrics). Reads the messages before it too, a page of 100 at a time."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "FilterExpression": "sender_role = :role",
            "ExpressionAttributeValues": to_values(
                {":pk": keys.channel_pk(channel_id), ":prefix": keys.MESSAGE_SK_PREFIX, ":role": role}
            ),
            "ScanIndexForward": True,
            "Limit": 100,
        }
        while True:
            response = call("query", **kwargs)
            items = response.get("Items", [])
            if items:
                return decode(from_item(items[0]))
            if not response.get("LastEvaluatedKey"):
                return None
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def latest(self, channel_id: str, limit: int) -> list[Message]:
        """The channel's last ``limit`` messages, newest first (eventually consistent: for the sweep)."""
        response = call(
            "query",
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=to_values(
                {":pk": keys.channel_pk(channel_id), ":prefix": keys.MESSAGE_SK_PREFIX}
            ),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [decode(from_item(item)) for item in response.get("Items", [])]

    # -- transaction items --------------------------------------------------

    def put(self, message: Message) -> Item:
        values = {"pk": keys.channel_pk(message.channel_id), "sk": keys.message_sk(message.message_id)}
        put = {
            "TableName": self.table,
            "Item": to_item({**values, **message.to_dict()}),
            "ConditionExpression": ITEM_IS_NEW,
        }
        return Item("message", {"Put": put})

    def remember(self, message: Message, idempotency_key: str, now: float | None = None) -> Item:
        """Record that the sender's ``idempotency_key`` made ``message`` (for 24 hours).

        Fails as ``Replayed`` (the key made the same text before) or as
        ``idempotency_key_reused`` (it made a different text).
        """

        def seen(current: dict[str, Any] | None) -> Exception:
            first = (current or {}).get("message")
            if not first:
                return Conflict("the idempotency record is unreadable", code="inconsistent_state")
            if first["text"] != message.text:
                return Conflict(
                    "this Idempotency-Key was already used for a different message",
                    code="idempotency_key_reused",
                )
            return Replayed(decode(first))

        now = time.time() if now is None else now
        record = {
            "pk": keys.channel_pk(message.channel_id),
            "sk": keys.idempotency_sk(message.sender_role, message.sender_id, idempotency_key),
            "message": message.to_dict(),
            TTL_ATTRIBUTE: int(now) + IDEMPOTENCY_TTL_SECONDS,
        }
        put = {
            "TableName": self.table,
            "Item": to_item(record),
            "ConditionExpression": ITEM_IS_NEW,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        return Item("idempotency", {"Put": put}, on_fail=seen)
