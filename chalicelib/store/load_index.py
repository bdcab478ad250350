"""The load index (``agents_by_load``, eventually consistent): a team's agents (its own
partition: teams are the shards) by ``rank`` =
active chats, plus ``OFFLINE_RANK_OFFSET`` unless online. Read-only: the agent
item's writer (``chalicelib.store.agents``) keeps it in step.
"""

from __future__ import annotations

from typing import Any

from chalicelib import keys
from chalicelib.models import OFFLINE, AgentLoad
from chalicelib.store import cursors
from chalicelib.store.dynamo import call, from_item, query_all, to_values
from chalicelib.store.tables import AGENTS_BY_LOAD


def decode_load(item: dict[str, Any]) -> AgentLoad:
    max_chats = item.get("max_chats")
    return AgentLoad(
        agent_id=int(item["agent_id"]),
        status=item["status"],
        active_count=int(item["active_count"]),
        last_assigned_at=item.get("last_assigned_at", ""),
        max_chats=int(max_chats) if max_chats is not None else None,
    )


class LoadIndex:
    def __init__(self, table: str, pool: str) -> None:
        self.table = table
        self.pool = pool  # the default team; every read may name another

    def _query(self, team: str | None, rank: str = "", status: str = "", **values: Any) -> dict[str, Any]:
        """``Query`` arguments for ``team``'s partition of the index, least loaded first: ``rank`` a
        condition on ``#rank`` and ``status`` a filter on ``#status``, with their ``values``."""
        condition = "#pool = :pool" + (f" AND {rank}" if rank else "")
        query: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": AGENTS_BY_LOAD,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": {"#pool": "pool", "#rank": "rank", "#status": "status"},
            "ExpressionAttributeValues": to_values(
                {":pool": team or self.pool, **{f":{k}": v for k, v in values.items()}}
            ),
            "ScanIndexForward": True,
        }
        if status:
            query["FilterExpression"] = status
        # A name the expressions do not use is refused by DynamoDB.
        used = condition + " " + status
        query["ExpressionAttributeNames"] = {k: v for k, v in query["ExpressionAttributeNames"].items() if k in used}
        return query

    def candidates(self, limit: int, team: str | None = None) -> list[AgentLoad]:
        """The ``limit`` least-loaded agents, online ones first (eventually consistent)."""
        response = call("query", **self._query(team), Limit=limit)
        return [decode_load(from_item(item)) for item in response.get("Items", [])]

    def online(self, max_items: int, team: str | None = None) -> list[AgentLoad]:
        """Up to ``max_items`` online agents, least loaded first (the overflow proof's read)."""
        query = self._query(team, "#rank < :offline", offline=keys.OFFLINE_RANK_OFFSET)
        return [decode_load(item) for item in query_all(max_items, **query)]

    def page(self, limit: int, cursor: str | None, team: str | None = None) -> tuple[list[AgentLoad], str | None]:
        """One page of the team's agents, online ones first, least loaded first."""
        items, next_cursor = cursors.query_page(
            {**self._query(team), "Limit": limit},
            cursor,
            ("pk", "pool", "rank"),
            ("pool", team or self.pool),
            numbers=("rank",),
        )
        return [decode_load(item) for item in items], next_cursor

    def present(self, max_items: int = 10_000, team: str | None = None) -> list[AgentLoad]:
        """Agents whose status is online or away (the presence sweep's read)."""
        query = self._query(team, status="#status <> :offline", offline=OFFLINE)
        return [decode_load(item) for item in query_all(max_items, **query)]

    def offline_with_chats(self, max_items: int = 10_000, team: str | None = None) -> list[AgentLoad]:
        """Offline agents that still hold chats (``ON_AGENT_OFFLINE=requeue``: the sweep moves them)."""
        query = self._query(
            team, "#rank > :offset", "#status = :offline", offset=keys.OFFLINE_RANK_OFFSET, offline=OFFLINE
        )
        return [decode_load(item) for item in query_all(max_items, **query)]
