"""The chat indexes (``chats_by_customer``, ``chats_by_agent``; eventually consistent): every
channel, any status, by its customer and by its agent, newest first. Read-only: the
channel item's writer (``chalicelib.store.channels``) keeps them in step, since the
indexes key on the channel's own ``customer_id``, ``agent_id`` and ``created_at``.

A channel without ``agent_id`` (a queued chat) is in the customer's index only.
"""

from __future__ import annotations

from chalicelib import keys
from chalicelib.models import Channel
from chalicelib.store import cursors
from chalicelib.store.channels import decode, participant_attribute
from chalicelib.store.dynamo import to_values
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
        query = {
            "TableName": self.table,
            "IndexName": INDEXES[role],
            "KeyConditionExpression": "#participant = :me",
            "ExpressionAttributeNames": {"#participant": participant},
            "ExpressionAttributeValues": to_values({":me": user_id}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        attributes = ("pk", "sk", participant, "created_at")
        items, next_cursor = cursors.query_page(
            query, cursor, attributes, (participant, user_id), numbers=(participant,)
        )
        return [decode(item) for item in items], next_cursor
