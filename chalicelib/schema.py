"""The DynamoDB tables: keys, indexes and TTL, defined once.

``table_definitions(settings)`` returns ``create_table`` arguments for every
table; local bootstrap (``make run``), the seeding command and the test
fixtures all create tables from it.
"""

from __future__ import annotations

from typing import Any

from chalicelib.config import Settings

# Index of agents by load: partition = the agent pool, sort = rank (active
# chats, offline agents after online ones). Only agent items carry ``pool``,
# so the index holds agents only.
AGENTS_BY_LOAD = "agents_by_load"
# Index of active channels by agent: only active channels carry
# ``active_agent``, so the index holds nothing else.
ACTIVE_CHANNELS_BY_AGENT = "active_channels_by_agent"

# Items carrying this attribute (epoch seconds) are removed by DynamoDB TTL:
# revoked tokens, idempotency records.
TTL_ATTRIBUTE = "expires_at"


def _string_key(name: str) -> dict[str, str]:
    return {"AttributeName": name, "AttributeType": "S"}


def table_definitions(settings: Settings) -> list[dict[str, Any]]:
    users = {
        "TableName": settings.users_table,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            _string_key("pk"),
            _string_key("pool"),
            {"AttributeName": "rank", "AttributeType": "N"},
        ],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": AGENTS_BY_LOAD,
                "KeySchema": [
                    {"AttributeName": "pool", "KeyType": "HASH"},
                    {"AttributeName": "rank", "KeyType": "RANGE"},
                ],
                "Projection": {
                    "ProjectionType": "INCLUDE",
                    "NonKeyAttributes": ["agent_id", "status", "active_count", "last_assigned_at"],
                },
            }
        ],
    }
    chats = {
        "TableName": settings.chats_table,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            _string_key("pk"),
            _string_key("sk"),
            _string_key("active_agent"),
            _string_key("created_at"),
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": ACTIVE_CHANNELS_BY_AGENT,
                "KeySchema": [
                    {"AttributeName": "active_agent", "KeyType": "HASH"},
                    {"AttributeName": "created_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }
    tokens = {
        "TableName": settings.tokens_table,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [_string_key("pk")],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    }
    return [users, chats, tokens]


def ttl_settings(settings: Settings) -> list[dict[str, Any]]:
    """``update_time_to_live`` arguments for the tables that expire items."""
    return [
        {"TableName": table, "TimeToLiveSpecification": {"Enabled": True, "AttributeName": TTL_ATTRIBUTE}}
        for table in (settings.tokens_table, settings.chats_table)
    ]
