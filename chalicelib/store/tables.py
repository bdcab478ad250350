"""The DynamoDB tables, as the code sees them.

``infra/tables.json`` (CloudFormation) is the single source of truth for the
tables: keys, indexes, TTL, billing, recovery and encryption. This module
turns it into ``create_table`` arguments for local bootstrap (``make run``,
the seeding command, the test fixtures), so local and cloud tables cannot
drift; it also names the indexes and attributes the store relies on, which a
test checks against the template.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from chalicelib.config import Settings

# Index of agents by load: partition = the agent pool, sort = rank (active
# chats, offline agents after online ones). Only agent items carry ``pool``,
# so the index holds agents only.
AGENTS_BY_LOAD = "agents_by_load"
# Index of active channels by agent: only active channels carry
# ``active_agent``, so the index holds nothing else.
ACTIVE_CHANNELS_BY_AGENT = "active_channels_by_agent"
# Index of a team's active channels (supervisors): only active channels carry ``active_pool``.
ACTIVE_CHANNELS_BY_POOL = "active_channels_by_pool"
# Indexes of every channel (any status) by its customer and by its agent, sort =
# ``created_at``: a user's own chats, newest first. Only channel items carry
# ``customer_id`` and ``agent_id`` at the top level (messages say ``sender_id``;
# idempotency records keep the message in a map), so the indexes hold channels only.
CHATS_BY_CUSTOMER = "chats_by_customer"
CHATS_BY_AGENT = "chats_by_agent"

# Items carrying this attribute (epoch seconds) are removed by DynamoDB TTL:
# revoked tokens, idempotency records, WebSocket connections and tickets.
TTL_ATTRIBUTE = "expires_at"

# Condition clauses on an item's existence (every table's partition key is ``pk``).
ITEM_IS_NEW = "attribute_not_exists(pk)"
ITEM_EXISTS = "attribute_exists(pk)"


TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "tables.json"
# Which setting names each table of the template.
TABLE_SETTINGS = {
    "UsersTable": "users_table",
    "ChatsTable": "chats_table",
    "TokensTable": "tokens_table",
    "ConnectionsTable": "connections_table",
}
# Properties of the template that ``create_table`` takes as they are.
CREATE_TABLE_KEYS = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")


@cache
def template() -> dict[str, Any]:
    """The CloudFormation template of the tables (read on first use; not needed on Lambda)."""
    return json.loads(TEMPLATE.read_text())


def table_definitions(settings: Settings) -> list[dict[str, Any]]:
    """``create_table`` arguments for every table of ``infra/tables.json``, named by ``settings``."""
    definitions = []
    for logical_id, setting in TABLE_SETTINGS.items():
        properties = template()["Resources"][logical_id]["Properties"]
        definition = {key: properties[key] for key in CREATE_TABLE_KEYS if key in properties}
        stream = properties.get("StreamSpecification")
        if stream:
            # CloudFormation says only the view type; the API also wants it switched on.
            definition["StreamSpecification"] = {"StreamEnabled": True, **stream}
        definitions.append({"TableName": getattr(settings, setting), **definition})
    return definitions


def ttl_settings(settings: Settings) -> list[dict[str, Any]]:
    """``update_time_to_live`` arguments for the tables of the template that expire items."""
    specs = []
    for logical_id, setting in TABLE_SETTINGS.items():
        ttl = template()["Resources"][logical_id]["Properties"].get("TimeToLiveSpecification")
        if ttl:
            specs.append({"TableName": getattr(settings, setting), "TimeToLiveSpecification": ttl})
    return specs
