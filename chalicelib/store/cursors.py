"""Page cursors: a query's ``LastEvaluatedKey`` as an opaque string, and back, checked; and
``query_page``, the one way a store module reads a page of a query.

A cursor a client edits must not reach DynamoDB as a malformed start key (a
500: a real engine refuses a start key whose attribute has the wrong type) nor
move a query into another partition: ``decode`` accepts only the expected
attributes, each of its key type (strings, and integers where the list says
so), and the query's own partition value.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from chalicelib.errors import InvalidInput
from chalicelib.store.dynamo import call, from_item, to_item


def encode(key: dict[str, Any] | None) -> str | None:
    if key is None:
        return None
    raw = json.dumps(key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _typed(name: str, value: Any, numbers: tuple[str, ...]) -> bool:
    if name in numbers:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str)


def decode(
    cursor: str | None,
    attributes: tuple[str, ...],
    partition: tuple[str, str | int],
    *,
    numbers: tuple[str, ...] = (),
) -> dict[str, Any] | None:
    """The start key in ``cursor``: exactly ``attributes`` (integers for those in ``numbers``,
    strings for the others), and ``partition`` (name, value) as given."""
    if cursor is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidInput("cursor is not a cursor of this list", field="cursor") from None
    valid = (
        isinstance(key, dict)
        and set(key) == set(attributes)
        and all(_typed(name, value, numbers) for name, value in key.items())
        and key.get(partition[0]) == partition[1]
    )
    if not valid:
        raise InvalidInput("cursor is not a cursor of this list", field="cursor")
    return key


def query_page(
    query: dict[str, Any],
    cursor: str | None,
    attributes: tuple[str, ...],
    partition: tuple[str, str | int],
    *,
    numbers: tuple[str, ...] = (),
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of ``query`` (``Query`` arguments with its ``Limit``), from the start key in
    ``cursor`` (checked as ``decode`` does); its items as Python values, and the next page's cursor
    (``None`` after the last)."""
    start = decode(cursor, attributes, partition, numbers=numbers)
    if start:
        query = {**query, "ExclusiveStartKey": to_item(start)}
    response = call("query", **query)
    last = response.get("LastEvaluatedKey")
    return [from_item(item) for item in response.get("Items", [])], encode(from_item(last) if last else None)
