"""Page cursors: a query's ``LastEvaluatedKey`` as an opaque string, and back, checked.

A cursor a client edits must not reach DynamoDB as a malformed start key (a
500) nor move a query into another partition: ``decode`` accepts only the
expected attributes, with string or integer values, and the query's own
partition value.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from chalicelib.errors import InvalidInput


def encode(key: dict[str, Any] | None) -> str | None:
    if key is None:
        return None
    raw = json.dumps(key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None, attributes: tuple[str, ...], partition: tuple[str, str]) -> dict[str, Any] | None:
    """The start key in ``cursor``: exactly ``attributes``, and ``partition`` (name, value) as given."""
    if cursor is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("cursor is not a cursor of this list", field="cursor") from None
    valid = (
        isinstance(key, dict)
        and set(key) == set(attributes)
        and all(isinstance(v, str | int) and not isinstance(v, bool) for v in key.values())
        and key.get(partition[0]) == partition[1]
    )
    if not valid:
        raise InvalidInput("cursor is not a cursor of this list", field="cursor")
    return key
