"""Login attempt counters (tokens table, ``throttle#<kind>#<subject>#<window>``, removed by
TTL): the only writer of them.

An attempt is *reserved* before the password is checked, by a conditional
increment that refuses beyond the room the window has left, so concurrent
attempts can never check more passwords than the limit allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib import keys
from chalicelib.store.batch import Ref, ref
from chalicelib.store.dynamo import to_item, to_values
from chalicelib.store.tables import TTL_ATTRIBUTE
from chalicelib.store.transaction import Item
from chalicelib.throttling import Window


@dataclass(frozen=True)
class Counter:
    """Attempts of one kind (``user``, ``source`` or ``device``) by one subject, limited per window."""

    kind: str
    subject: str
    limit: int


def _attempts(item: dict[str, Any]) -> int:
    return int(item.get("attempts", 0))


class LoginThrottle:
    def __init__(self, table: str) -> None:
        self.table = table

    def _pk(self, counter: Counter, window_start: int) -> str:
        return keys.throttle_pk(counter.kind, counter.subject, window_start)

    def refs(self, counter: Counter, window: Window) -> tuple[Ref[int], Ref[int]]:
        """The counter's attempts in the previous and the current window."""
        previous, current = (
            ref(self.table, _attempts, pk=self._pk(counter, s)) for s in (window.previous_start, window.start)
        )
        return previous, current

    def reserve(self, counter: Counter, window: Window, room: int) -> Item:
        """One more attempt in the current window, on condition it holds fewer than ``room``."""
        update = {
            "TableName": self.table,
            "Key": to_item({"pk": self._pk(counter, window.start)}),
            "UpdateExpression": "ADD attempts :one SET #ttl = :expires",
            "ConditionExpression": "attribute_not_exists(attempts) OR attempts < :room",
            "ExpressionAttributeNames": {"#ttl": TTL_ATTRIBUTE},
            "ExpressionAttributeValues": to_values({":one": 1, ":room": room, ":expires": window.expires_at}),
        }
        return Item(f"{counter.kind}-attempt", {"Update": update})

    def refund(self, counter: Counter, window: Window) -> Item:
        """Give back one reserved attempt of the current window (it succeeded)."""
        update = {
            "TableName": self.table,
            "Key": to_item({"pk": self._pk(counter, window.start)}),
            "UpdateExpression": "ADD attempts :minus",
            "ExpressionAttributeValues": to_values({":minus": -1}),
        }
        return Item(f"{counter.kind}-refund", {"Update": update})

    def forget(self, counter: Counter, window: Window, *, previous_too: bool) -> list[Item]:
        """Forget the counter's attempts in the current window (and the previous one)."""
        starts = (window.previous_start, window.start) if previous_too else (window.start,)
        return [
            Item(
                f"{counter.kind}-forget-{start}",
                {"Delete": {"TableName": self.table, "Key": to_item({"pk": self._pk(counter, start)})}},
            )
            for start in starts
        ]
