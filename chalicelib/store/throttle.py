"""Failed-login counters (tokens table, ``throttle#user#...`` and ``throttle#source#...``,
one per window, removed by TTL): the only writer of them."""

from __future__ import annotations

from chalicelib import keys
from chalicelib.store.batch import Ref, ref
from chalicelib.store.dynamo import call, to_item, to_values
from chalicelib.store.tables import TTL_ATTRIBUTE
from chalicelib.store.transaction import Item, Transaction


def _failures(item: dict) -> int:
    return int(item.get("failures", 0))


class LoginThrottle:
    def __init__(self, table: str) -> None:
        self.table = table

    def user_ref(self, role: str, username: str, window_start: int) -> Ref[int]:
        return ref(self.table, _failures, pk=keys.login_failures_pk(role, username, window_start))

    def source_ref(self, source: str, window_start: int) -> Ref[int]:
        return ref(self.table, _failures, pk=keys.source_failures_pk(source, window_start))

    def record_failure(self, role: str, username: str, source: str | None, window_start: int, expires_at: int) -> None:
        """Count one failed login against the username and the source (one write)."""
        counters = [keys.login_failures_pk(role, username, window_start)]
        if source:
            counters.append(keys.source_failures_pk(source, window_start))
        Transaction().add(*(self._count(pk, expires_at) for pk in counters)).commit()

    def _count(self, pk: str, expires_at: int) -> Item:
        update = {
            "TableName": self.table,
            "Key": to_item({"pk": pk}),
            "UpdateExpression": "ADD failures :one SET #ttl = :expires",
            "ExpressionAttributeNames": {"#ttl": TTL_ATTRIBUTE},
            "ExpressionAttributeValues": to_values({":one": 1, ":expires": expires_at}),
        }
        return Item(pk, {"Update": update})

    def clear_user(self, role: str, username: str, window_start: int) -> None:
        """Forget the username's failures after a successful login (the source's stay counted)."""
        call(
            "delete_item",
            TableName=self.table,
            Key=to_item({"pk": keys.login_failures_pk(role, username, window_start)}),
        )
