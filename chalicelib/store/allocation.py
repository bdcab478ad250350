"""The allocation transaction and the reads that choose an agent (users and chats tables)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib import keys
from chalicelib.allocation import Choice, Rule
from chalicelib.config import Settings
from chalicelib.errors import Conflict, NotFound
from chalicelib.models import ONLINE, AgentLoad, Channel, Principal
from chalicelib.schema import AGENTS_BY_LOAD
from chalicelib.store import codec
from chalicelib.store.accounts import ITEM_EXISTS, ITEM_IS_NEW
from chalicelib.store.dynamo import TransactionCancelled, call, from_item, query_all, to_item, to_values

# The agent update of an allocation carries the condition that proves the
# choice is still right at the moment of the commit, one per rule.
AGENT_CONDITIONS = {
    # Rule 1: still online and still below the cap (its exact count may differ).
    Rule.UNDER_CAP: f"{ITEM_EXISTS} AND #status = :online AND active_count < :cap",
    # Rule 2: still online and still exactly as loaded as when chosen.
    Rule.OVERFLOW: f"{ITEM_EXISTS} AND #status = :online AND active_count = :observed",
    # Rule 3: still offline and still exactly as loaded as when chosen.
    Rule.NOBODY_ONLINE: f"{ITEM_EXISTS} AND #status <> :online AND active_count = :observed",
}
# Overflow only: every other online agent must still be at or above the cap.
STILL_FULL = "#status <> :online OR active_count >= :cap"
# The customer may hold one active channel at a time.
CUSTOMER_IS_FREE = f"{ITEM_EXISTS} AND attribute_not_exists(active_channel_id)"


class AllocationStale(Exception):
    """The commit found the chosen agent (or the overflow proof) no longer valid: choose again."""


class AllocationStore:
    settings: Settings
    _transact_as: Callable[..., None]  # from AccountStore

    # -- reading agents for allocation ------------------------------------

    def agent_candidates(self, limit: int) -> list[AgentLoad]:
        """The ``limit`` least-loaded agents, online ones first (eventually consistent)."""
        response = call(
            "query",
            TableName=self.settings.users_table,
            IndexName=AGENTS_BY_LOAD,
            KeyConditionExpression="#pool = :pool",
            ExpressionAttributeNames={"#pool": "pool"},
            ExpressionAttributeValues=to_values({":pool": self.settings.agent_pool}),
            ScanIndexForward=True,
            Limit=limit,
        )
        return [codec.agent_load(from_item(item)) for item in response.get("Items", [])]

    def online_agents(self, max_items: int) -> list[AgentLoad]:
        """Up to ``max_items`` online agents, least loaded first (the overflow proof's read)."""
        items = query_all(
            max_items,
            TableName=self.settings.users_table,
            IndexName=AGENTS_BY_LOAD,
            KeyConditionExpression="#pool = :pool AND #rank < :offline",
            ExpressionAttributeNames={"#pool": "pool", "#rank": "rank"},
            ExpressionAttributeValues=to_values(
                {":pool": self.settings.agent_pool, ":offline": keys.OFFLINE_RANK_OFFSET}
            ),
            ScanIndexForward=True,
        )
        return [codec.agent_load(item) for item in items]

    # -- initiate ---------------------------------------------------------

    def commit_allocation(
        self,
        principal: Principal,
        channel: Channel,
        choice: Choice,
        cap: int,
    ) -> None:
        """Create ``channel`` for the customer and count it on the chosen agent, atomically.

        Raises ``Conflict`` (customer already has an active chat), ``NotFound``
        (no such customer), ``Unauthorized`` (token revoked), or
        ``AllocationStale`` when the choice no longer holds (retry).
        """
        users = self.settings.users_table
        channel_item = {
            "pk": keys.channel_pk(channel.channel_id),
            "sk": keys.CHANNEL_SK,
            **channel.to_dict(),
            "active_agent": keys.agent_pk(channel.agent_id),
        }
        agent_values = {":one": 1, ":now": channel.created_at, ":online": ONLINE}
        if choice.rule is Rule.UNDER_CAP:
            agent_values[":cap"] = cap
        else:
            agent_values[":observed"] = choice.agent.active_count
        items: list[tuple[str, dict[str, Any]]] = [
            (
                "channel",
                {
                    "Put": {
                        "TableName": self.settings.chats_table,
                        "Item": to_item(channel_item),
                        "ConditionExpression": ITEM_IS_NEW,
                    }
                },
            ),
            (
                "customer",
                {
                    "Update": {
                        "TableName": users,
                        "Key": to_item({"pk": keys.customer_pk(channel.customer_id)}),
                        "UpdateExpression": "SET active_channel_id = :channel, active_agent_id = :agent, "
                        "active_since = :since",
                        "ConditionExpression": CUSTOMER_IS_FREE,
                        "ExpressionAttributeValues": to_values(
                            {":channel": channel.channel_id, ":agent": channel.agent_id, ":since": channel.created_at}
                        ),
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ),
            (
                "agent",
                {
                    "Update": {
                        "TableName": users,
                        "Key": to_item({"pk": keys.agent_pk(channel.agent_id)}),
                        "UpdateExpression": "ADD active_count :one, #rank :one SET last_assigned_at = :now",
                        "ConditionExpression": AGENT_CONDITIONS[choice.rule],
                        "ExpressionAttributeNames": {"#status": "status", "#rank": "rank"},
                        "ExpressionAttributeValues": to_values(agent_values),
                    }
                },
            ),
        ]
        for other in choice.must_be_full:
            items.append(
                (
                    f"full#{other.agent_id}",
                    {
                        "ConditionCheck": {
                            "TableName": users,
                            "Key": to_item({"pk": keys.agent_pk(other.agent_id)}),
                            "ConditionExpression": STILL_FULL,
                            "ExpressionAttributeNames": {"#status": "status"},
                            "ExpressionAttributeValues": to_values({":online": ONLINE, ":cap": cap}),
                        }
                    },
                )
            )
        try:
            self._transact_as(principal, items)
        except TransactionCancelled as cancelled:
            reasons = cancelled.cancellation
            if reasons.failed("customer"):
                current = reasons.item("customer")
                if current is None:
                    raise NotFound(
                        f"customer {channel.customer_id} does not exist", code="customer_not_found"
                    ) from cancelled
                raise Conflict(
                    "the customer already has an active chat; it must be resolved first",
                    code="active_chat_exists",
                    details={"channel_id": current.get("active_channel_id")},
                ) from cancelled
            raise AllocationStale(str(reasons.reasons)) from cancelled
