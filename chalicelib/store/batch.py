"""Reading a few items from any tables in one round trip (``BatchGetItem``).

Aggregates hand out ``Ref`` values (table, key, and how to decode the item);
``get_many`` reads them all, strongly consistent, and returns the decoded
values in the order asked (``None`` for a missing item).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from chalicelib.store.dynamo import call, from_item, store_busy, to_item

T = TypeVar("T")

BATCH_GET_ATTEMPTS = 4


@dataclass(frozen=True)
class Ref(Generic[T]):
    """Where one item lives and what it becomes when read."""

    table: str
    key: tuple[tuple[str, str], ...]  # (attribute, value) pairs of the primary key
    decode: Callable[[dict[str, Any]], T]


def ref(table: str, decode: Callable[[dict[str, Any]], T], **key: str) -> Ref[T]:
    return Ref(table, tuple(key.items()), decode)


def get_many(*refs: Ref[Any]) -> list[Any]:
    """The items of ``refs``, decoded, in the order given; one round trip (plus retries of
    unprocessed keys). Raises ``Unavailable`` if the store keeps leaving keys unprocessed."""
    request: dict[str, Any] = {}
    for r in dict.fromkeys((r.table, r.key) for r in refs):
        table, key = r
        request.setdefault(table, {"Keys": [], "ConsistentRead": True})["Keys"].append(to_item(dict(key)))
    found: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, Any]] = {}
    for attempt in range(BATCH_GET_ATTEMPTS):
        response = call("batch_get_item", RequestItems=request)
        for table, items in response.get("Responses", {}).items():
            for raw in items:
                item = from_item(raw)
                found[table, _key_of(table, item, refs)] = item
        request = response.get("UnprocessedKeys") or {}
        if not request:
            break
        time.sleep(0.05 * 2**attempt)
    else:
        raise store_busy()
    out = []
    for r in refs:
        item = found.get((r.table, r.key))
        out.append(r.decode(item) if item is not None else None)
    return out


def _key_of(table: str, item: dict[str, Any], refs: tuple[Ref[Any], ...]) -> tuple[tuple[str, str], ...]:
    """The key (as in the refs) of an item returned for ``table``."""
    names = next(tuple(name for name, _ in r.key) for r in refs if r.table == table)
    return tuple((name, item[name]) for name in names)
