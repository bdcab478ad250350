"""Supervisors (users table, ``supervisor#<id>``): the only writer of them (created by seeding)."""

from __future__ import annotations

from typing import Any

from chalicelib import keys
from chalicelib.models import Supervisor
from chalicelib.store.dynamo import call, from_item, to_item
from chalicelib.store.tables import ITEM_IS_NEW
from chalicelib.store.transaction import Item


def decode(item: dict[str, Any]) -> Supervisor:
    return Supervisor(supervisor_id=int(item["supervisor_id"]), username=item["username"])


class Supervisors:
    def __init__(self, table: str) -> None:
        self.table = table

    def get(self, supervisor_id: int) -> Supervisor | None:
        key = to_item({"pk": keys.user_pk(keys.SUPERVISOR, supervisor_id)})
        item = call("get_item", TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        return decode(from_item(item)) if item else None

    def new(self, supervisor_id: int, username: str, now: str) -> Item:
        values = {
            "pk": keys.user_pk(keys.SUPERVISOR, supervisor_id),
            "supervisor_id": supervisor_id,
            "username": username,
            "created_at": now,
        }
        put = {"TableName": self.table, "Item": to_item(values), "ConditionExpression": ITEM_IS_NEW}
        return Item("supervisor", {"Put": put})
