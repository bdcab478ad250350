"""WebSocket connections (connections table, removed by TTL): the only writer of them.

Two items per connection, written together:

- ``<role>#<id>`` / ``conn#<connection_id>``: the user's connections, one query
  away when an event is pushed (no index, so no stale read); a supervisor's
  connection instead lives in its team's partition, ``watch#<team>`` /
  ``conn#<connection_id>``, so the team's events find every supervisor
  watching it with one query (no scan, no index);
- ``conn#<connection_id>`` / ``conn``: who the connection belongs to (and the
  team it watches), for ``$disconnect``, which knows only the connection id.

Each carries ``expires_at`` a little past API Gateway's 2-hour connection
limit, so a connection whose ``$disconnect`` never ran is cleaned up anyway.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from chalicelib import keys
from chalicelib.errors import Conflict
from chalicelib.store.dynamo import call, from_item, query_all, to_item, to_values
from chalicelib.store.tables import ITEM_IS_NEW, TTL_ATTRIBUTE
from chalicelib.store.transaction import Item, Transaction

# API Gateway closes a WebSocket after 2 hours at most; the items outlive it a little.
CONNECTION_TTL_SECONDS = 2 * 3600 + 600
CONNECTION_SK_PREFIX = "conn#"
OWNER_SK = "conn"


@dataclass(frozen=True)
class Connection:
    connection_id: str
    role: str
    user_id: int
    endpoint: str  # the management API that reaches it
    team: str | None = None  # a supervisor's connection: the team whose events it receives


def listing_pk(connection: Connection) -> str:
    """The partition listing the connection: its team's (a supervisor's), else its user's."""
    return keys.team_watch_pk(connection.team) if connection.team else keys.user_pk(connection.role, connection.user_id)


def connection_pk(connection_id: str) -> str:
    return f"{CONNECTION_SK_PREFIX}{connection_id}"


class Connections:
    def __init__(self, table: str) -> None:
        self.table = table

    def add(self, connection: Connection, now: float | None = None) -> None:
        """Record an open connection (both items, or neither)."""
        expires = int(time.time() if now is None else now) + CONNECTION_TTL_SECONDS
        team = {"team": connection.team} if connection.team else {}
        user = {
            "pk": listing_pk(connection),
            "sk": connection_pk(connection.connection_id),
            "connection_id": connection.connection_id,
            "endpoint": connection.endpoint,
            TTL_ATTRIBUTE: expires,
            **({"role": connection.role, "user_id": connection.user_id} if connection.team else {}),
        }
        owner = {
            "pk": connection_pk(connection.connection_id),
            "sk": OWNER_SK,
            "role": connection.role,
            "user_id": connection.user_id,
            TTL_ATTRIBUTE: expires,
            **team,
        }
        taken = Conflict("the connection id is already registered", code="connection_exists")
        transaction = Transaction()
        for label, item in (("user", user), ("owner", owner)):
            put = {"TableName": self.table, "Item": to_item(item), "ConditionExpression": ITEM_IS_NEW}
            transaction.add(Item(label, {"Put": put}, on_fail=lambda _current: taken))
        transaction.commit()

    def of_user(self, role: str, user_id: int) -> list[Connection]:
        """The user's open connections (a strongly consistent query of one partition)."""
        items = query_all(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=to_values({":pk": keys.user_pk(role, user_id), ":prefix": CONNECTION_SK_PREFIX}),
            ConsistentRead=True,
        )
        return [Connection(item["connection_id"], role, user_id, item["endpoint"]) for item in items]

    def of_team(self, team: str, limit: int) -> tuple[list[Connection], bool]:
        """The first ``limit`` connections of the team's supervisors (one strongly consistent query
        of one partition), and whether there were more."""
        items = query_all(
            max_items=limit + 1,
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=to_values({":pk": keys.team_watch_pk(team), ":prefix": CONNECTION_SK_PREFIX}),
            ConsistentRead=True,
        )
        connections = [
            Connection(item["connection_id"], item["role"], int(item["user_id"]), item["endpoint"], team)
            for item in items[:limit]
        ]
        return connections, len(items) > limit

    def remove(self, connection_id: str) -> tuple[str, int] | None:
        """Forget a connection; returns its user (role, id), or ``None`` if it was not known."""
        response = call(
            "delete_item",
            TableName=self.table,
            Key=to_item({"pk": connection_pk(connection_id), "sk": OWNER_SK}),
            ReturnValues="ALL_OLD",
        )
        owner: dict[str, Any] = from_item(response.get("Attributes") or {})
        if not owner:
            return None
        role, user_id = owner["role"], int(owner["user_id"])
        listed = Connection(connection_id, role, user_id, "", owner.get("team"))
        call(
            "delete_item",
            TableName=self.table,
            Key=to_item({"pk": listing_pk(listed), "sk": connection_pk(connection_id)}),
        )
        return role, user_id
