"""Operator reads and repairs: full scans, never on a request path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import keys
from chalicelib.config import Settings
from chalicelib.models import ACTIVE, Agent, Channel, Customer
from chalicelib.store import codec
from chalicelib.store.dynamo import call, from_item, is_condition_failure, to_item, to_values


class MaintenanceStore:
    settings: Settings

    def _scan(self, table: str, prefix: str) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": table,
            "ConsistentRead": True,
            "FilterExpression": "begins_with(pk, :prefix)",
            "ExpressionAttributeValues": to_values({":prefix": prefix}),
        }
        while True:
            page = call("scan", **kwargs)
            yield from (from_item(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def all_agents(self) -> list[Agent]:
        return [codec.agent(item) for item in self._scan(self.settings.users_table, "agent#")]

    def all_customers(self) -> list[Customer]:
        return [codec.customer(item) for item in self._scan(self.settings.users_table, "customer#")]

    def all_active_channels(self) -> list[Channel]:
        items = self._scan(self.settings.chats_table, "channel#")
        return [codec.channel(item) for item in items if item["sk"] == keys.CHANNEL_SK and item["status"] == ACTIVE]

    def set_agent_count(self, agent: Agent, actual: int) -> bool:
        """Set the agent's count to ``actual`` if the agent is unchanged since read; ``False`` if it changed."""
        try:
            call(
                "update_item",
                TableName=self.settings.users_table,
                Key=to_item({"pk": keys.agent_pk(agent.agent_id)}),
                UpdateExpression="SET active_count = :actual, #rank = :rank",
                # Unchanged since read: same count, status and last assignment
                # (a resolve and a new assignment in between change the latter).
                ConditionExpression="active_count = :observed AND #status = :status AND last_assigned_at = :last",
                ExpressionAttributeNames={"#rank": "rank", "#status": "status"},
                ExpressionAttributeValues=to_values(
                    {
                        ":actual": actual,
                        ":rank": keys.rank(actual, agent.online),
                        ":observed": agent.active_count,
                        ":status": agent.status,
                        ":last": agent.last_assigned_at,
                    }
                ),
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def clear_customer_channel(self, customer: Customer) -> bool:
        """Drop the customer's pointer to a channel that is not active; ``False`` if it changed meanwhile."""
        try:
            call(
                "update_item",
                TableName=self.settings.users_table,
                Key=to_item({"pk": keys.customer_pk(customer.customer_id)}),
                UpdateExpression="REMOVE active_channel_id, active_agent_id, active_since",
                ConditionExpression="active_channel_id = :observed",
                ExpressionAttributeValues=to_values({":observed": customer.active_channel_id}),
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True
