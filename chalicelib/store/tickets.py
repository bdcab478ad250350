"""WebSocket tickets (connections table, ``ticket#<sha256>`` / ``ticket``): the only writer of them.

A ticket is a random secret handed to an authenticated user and put in the
WebSocket URL instead of the access token. Only its SHA-256 is stored. It is
good once, for ``TICKET_TTL_SECONDS``: ``$connect`` consumes it with one
conditional delete, so two connections can never share one, and an expired
ticket is refused even before TTL removes it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import Unauthorized
from chalicelib.store.dynamo import call, from_item, is_condition_failure, to_item, to_values
from chalicelib.store.tables import ITEM_IS_NEW, TTL_ATTRIBUTE
from chalicelib.store.transaction import Item

TICKET_TTL_SECONDS = 60
TICKET_SK = "ticket"


def ticket_pk(ticket: str) -> str:
    return f"ticket#{hashlib.sha256(ticket.encode()).hexdigest()}"


def refused() -> Unauthorized:
    return Unauthorized("the ticket is unknown, used or expired; ask for a new one", code="invalid_ticket")


class Tickets:
    def __init__(self, table: str) -> None:
        self.table = table

    def issue(self, ticket: str, role: str, user_id: int, now: float, team: str | None = None) -> Item:
        """Store a new ticket for the user, good until ``now + TICKET_TTL_SECONDS``; ``team``: the
        team a supervisor's socket watches."""
        values = {
            "pk": ticket_pk(ticket),
            "sk": TICKET_SK,
            "role": role,
            "user_id": user_id,
            TTL_ATTRIBUTE: int(now) + TICKET_TTL_SECONDS,
            **({"team": team} if team else {}),
        }
        put = {"TableName": self.table, "Item": to_item(values), "ConditionExpression": ITEM_IS_NEW}
        return Item("ticket", {"Put": put})

    def consume(self, ticket: str, now: float) -> tuple[str, int, str | None]:
        """Use the ticket up (one conditional delete); returns its user (role, id) and team (or ``None``).
        Raises ``Unauthorized`` (``invalid_ticket``) if it is unknown, used or expired."""
        try:
            response = call(
                "delete_item",
                TableName=self.table,
                Key=to_item({"pk": ticket_pk(ticket), "sk": TICKET_SK}),
                # Exists (not used yet) and not expired (TTL removes items late).
                ConditionExpression="attribute_exists(pk) AND #expires > :now",
                ExpressionAttributeNames={"#expires": TTL_ATTRIBUTE},
                ExpressionAttributeValues=to_values({":now": int(now)}),
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise refused() from error
            raise
        owner: dict[str, Any] = from_item(response["Attributes"])
        return owner["role"], int(owner["user_id"]), owner.get("team")
