"""Full-table scans, for operators only (reconcile): never on a request path.

Kept apart so that the function's IAM role needs no ``dynamodb:Scan``
(``tests/integration/test_infra.py`` derives the role's actions from the other store modules).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chalicelib.store.dynamo import call, from_item, to_values


def scan_prefix(table: str, prefix: str) -> Iterator[dict[str, Any]]:
    """Every item of ``table`` whose ``pk`` starts with ``prefix``: a full scan, for operators only."""
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
