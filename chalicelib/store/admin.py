"""Operator actions on the tables themselves: create them (idempotently) from the schema."""

from __future__ import annotations

import logging

from botocore.exceptions import ClientError

from chalicelib.config import Settings
from chalicelib.store.dynamo import get_client
from chalicelib.store.tables import table_definitions, ttl_settings

log = logging.getLogger(__name__)


def create_tables(settings: Settings) -> list[str]:
    """Create every table that does not exist yet; return the names created."""
    client = get_client()
    existing = set()
    for page in client.get_paginator("list_tables").paginate():
        existing.update(page["TableNames"])
    created = []
    for definition in table_definitions(settings):
        name = definition["TableName"]
        if name in existing:
            continue
        try:
            client.create_table(**definition)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceInUseException":
                raise
            continue
        created.append(name)
    for name in created:
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    for spec in ttl_settings(settings):
        if spec["TableName"] in created:
            client.update_time_to_live(**spec)
    if created:
        log.info("created tables: %s", ", ".join(created))
    return created
