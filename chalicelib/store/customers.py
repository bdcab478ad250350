"""Customers (users table, ``customer#<id>``): the only writer of a customer's pointer to
their open chat (``active_channel_id``, ``active_agent_id``: none while queued,
``active_since``, ``active_team``).

The pointer is what makes "one active chat per customer" atomic: a chat is
opened only by claiming it (``attribute_not_exists(active_channel_id)``).
"""

from __future__ import annotations

from typing import Any

from chalicelib import keys
from chalicelib.errors import Conflict, NotFound
from chalicelib.models import Channel, Customer
from chalicelib.store.batch import Ref, ref
from chalicelib.store.dynamo import call, from_item, to_item, to_values
from chalicelib.store.scans import scan_prefix
from chalicelib.store.tables import ITEM_EXISTS, ITEM_IS_NEW
from chalicelib.store.transaction import Item, Stale, Transaction, stale

# The customer exists and holds no active chat.
IS_FREE = f"{ITEM_EXISTS} AND attribute_not_exists(active_channel_id)"
POINTER = "active_channel_id, active_agent_id, active_since, active_team"


def decode(item: dict[str, Any]) -> Customer:
    agent_id = item.get("active_agent_id")
    return Customer(
        customer_id=int(item["customer_id"]),
        username=item["username"],
        active_channel_id=item.get("active_channel_id"),
        active_agent_id=int(agent_id) if agent_id is not None else None,
        active_since=item.get("active_since"),
        last_channel_id=item.get("last_channel_id"),
        active_team=item.get("active_team"),
    )


def customer_not_found(customer_id: int) -> NotFound:
    return NotFound(f"customer {customer_id} does not exist", code="customer_not_found")


class Customers:
    def __init__(self, table: str) -> None:
        self.table = table

    def _key(self, customer_id: int) -> dict[str, Any]:
        return to_item({"pk": keys.customer_pk(customer_id)})

    # -- reads --------------------------------------------------------------

    def ref(self, customer_id: int) -> Ref[Customer]:
        return ref(self.table, decode, pk=keys.customer_pk(customer_id))

    def get(self, customer_id: int) -> Customer | None:
        response = call("get_item", TableName=self.table, Key=self._key(customer_id), ConsistentRead=True)
        item = response.get("Item")
        return decode(from_item(item)) if item else None

    def all(self) -> list[Customer]:
        """Every customer: a full scan, for operators (reconcile), never on a request path."""
        return [decode(item) for item in scan_prefix(self.table, "customer#")]

    # -- transaction items --------------------------------------------------

    def new(self, customer_id: int, username: str, now: str) -> Item:
        values = {"pk": keys.customer_pk(customer_id), "username": username, "created_at": now}
        values["customer_id"] = customer_id
        put = {"TableName": self.table, "Item": to_item(values), "ConditionExpression": ITEM_IS_NEW}
        return Item("customer", {"Put": put})

    def claim_active_chat(self, channel: Channel) -> Item:
        """Point the customer at ``channel``, on condition they hold no active chat.

        Fails as ``customer_not_found`` or ``active_chat_exists`` (with the active channel's id).
        """

        def refused(current: dict[str, Any] | None) -> Exception:
            if current is None:
                return customer_not_found(channel.customer_id)
            return Conflict(
                "the customer already has an active chat; it must be resolved first",
                code="active_chat_exists",
                details={"channel_id": current.get("active_channel_id")},
            )

        values: dict[str, Any] = {":channel": channel.channel_id, ":since": channel.created_at}
        sets = "SET active_channel_id = :channel, active_since = :since"
        if channel.agent_id is not None:  # a queued chat has no agent yet
            sets += ", active_agent_id = :agent"
            values[":agent"] = channel.agent_id
        if channel.team is not None:
            sets += ", active_team = :team"
            values[":team"] = channel.team
        update = {
            "TableName": self.table,
            "Key": self._key(channel.customer_id),
            "UpdateExpression": sets,
            "ConditionExpression": IS_FREE,
            "ExpressionAttributeValues": to_values(values),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        return Item("customer", {"Update": update}, on_fail=refused)

    def point_to_agent(self, customer_id: int, channel_id: str, agent_id: int | None, label: str = "customer") -> Item:
        """Record the open chat's new agent (``None``: queued again); fails as ``Stale`` unless
        the customer's open chat is still ``channel_id``."""
        update: dict[str, Any] = {
            "TableName": self.table,
            "Key": self._key(customer_id),
            "UpdateExpression": "SET active_agent_id = :agent" if agent_id is not None else "REMOVE active_agent_id",
            "ConditionExpression": "active_channel_id = :channel",
            "ExpressionAttributeValues": to_values(
                {":channel": channel_id, **({":agent": agent_id} if agent_id is not None else {})}
            ),
        }
        return Item(label, {"Update": update}, on_fail=stale)

    def release_active_chat(self, customer_id: int, channel_id: str) -> Item:
        """Clear the customer's pointer (remembering the chat as the last one), on condition it
        still names ``channel_id``."""
        update = {
            "TableName": self.table,
            "Key": self._key(customer_id),
            "UpdateExpression": f"SET last_channel_id = :channel REMOVE {POINTER}",
            "ConditionExpression": "active_channel_id = :channel",
            "ExpressionAttributeValues": to_values({":channel": channel_id}),
        }
        return Item("customer", {"Update": update})

    # -- single writes ------------------------------------------------------

    def clear_stale_pointer(self, customer: Customer) -> bool:
        """Drop a pointer to a chat that is not active, if unchanged since read; ``False`` if it
        changed meanwhile (reconcile's repair)."""
        assert customer.active_channel_id is not None
        release = self.release_active_chat(customer.customer_id, customer.active_channel_id)
        try:
            Transaction().add(release.failing_as(stale)).commit()
        except Stale:
            return False
        return True
