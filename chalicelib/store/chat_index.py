"""The chat indexes (``chats_by_customer``, ``chats_by_agent``; eventually consistent): every
channel, any status, by its customer and by its agent, newest first. Read-only: the
channel item's writer (``chalicelib.store.channels``) keeps them in step, since the
indexes key on the channel's own ``customer_id``, ``agent_id`` and ``created_at``.

A channel without ``agent_id`` (a queued chat, once the queue exists) is in the customer's index only.
"""

from __future__ import annotations

from typing import Any

from chalicelib import keys
from chalicelib.models import Channel
from chalicelib.store import cursors
from chalicelib.store.channels import decode, participant_attribute
from chalicelib.store.dynamo import call, from_item, to_item, to_values
from chalicelib.store.tables import CHATS_BY_AGENT, CHATS_BY_CUSTOMER

# The index of each participant's chats.
INDEXES = {keys.CUSTOMER: CHATS_BY_CUSTOMER, keys.AGENT: CHATS_BY_AGENT}


class ChatIndex:
    def __init__(self, table: str) -> None:
        self.table = table

    def page(self, role: str, user_id: int, limit: int, cursor: str | None) -> tuple[list[Channel], str | None]:
        """One page of the chats of the ``role`` user ``user_id`` (customer or agent), newest first,
        and the cursor of the next page (``None`` on the last). Raises ``InvalidInput`` for a
        cursor that is not one of this user's list."""
        participant = participant_attribute(role)
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": INDEXES[role],
            "KeyConditionExpression": "#participant = :me",
            "ExpressionAttributeNames": {"#participant": participant},
            "ExpressionAttributeValues": to_values({":me": user_id}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        attributes = ("pk", "sk", participant, "created_at")
        start = cursors.decode(cursor, attributes, (participant, user_id), numbers=(participant,))
        if start:
            kwargs["ExclusiveStartKey"] = to_item(start)
        response = call("query", **kwargs)
        last = response.get("LastEvaluatedKey")
        chats = [decode(from_item(item)) for item in response.get("Items", [])]
        return chats, cursors.encode(from_item(last) if last else None)
