"""One atomic write built from labelled items that the aggregate modules hand out.

An aggregate (``agents``, ``customers``, ``channels``, ...) never commits a
multi-item change itself: it returns ``Item`` values, each carrying its label,
its ``TransactItem`` request and what a failed condition on it means
(``on_fail``: a function from the item's current values, or ``None`` when it
does not exist, to the exception to raise). A service composes the items of
one request into a ``Transaction`` and commits it:

    store.transaction(caller).add(
        store.channels.close(channel, by_agent=agent_id, at=now),
        store.agents.release_slot(agent_id),
        store.customers.release_active_chat(customer_id, channel_id),
    ).commit()

``commit`` sends one ``TransactWriteItems`` (or, for a single item, the
equivalent single-item call, which costs half the write units), reads
``CancellationReasons`` in request order and raises what the first failed
item asked for. ``Store.transaction(caller)`` puts the check that the
caller's token is not revoked first: the one place that check is written.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import Conflict
from chalicelib.store.dynamo import call, from_item, is_condition_failure, store_busy

# What a failed condition means, given the item's current values (``None``: it does not exist).
OnFail = Callable[[dict[str, Any] | None], Exception]

# Reasons that are not about any condition: another writer or throttling got in the way.
CONFLICT_CODES = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
CONFLICT_BACKOFF_SECONDS = 0.02


class Stale(Exception):
    """What a choice was made on changed before the commit: read again and choose again."""


def stale(_current: dict[str, Any] | None = None) -> Exception:
    """``on_fail`` / ``on_conflict`` for items whose failure means "retry with a fresh read"."""
    return Stale()


def busy(_current: dict[str, Any] | None = None) -> Exception:
    """The default ``on_conflict``: a 503 the client may retry."""
    return store_busy()


def inconsistent(_current: dict[str, Any] | None = None) -> Exception:
    """For conditions that only fail when stored records disagree (repairable by reconcile)."""
    return Conflict("the chat's agent or customer record does not match it; run reconcile", code="inconsistent_state")


def _conflicted_only(reasons: list[dict[str, Any]]) -> bool:
    """No condition failed, and another writer or throttling got in the way."""
    codes = {reason.get("Code") for reason in reasons}
    return "ConditionalCheckFailed" not in codes and bool(codes & CONFLICT_CODES)


@dataclass(frozen=True)
class Item:
    """One labelled part of a transaction. ``request`` is a ``TransactItem``:
    ``{"Put": ...}``, ``{"Update": ...}``, ``{"Delete": ...}`` or ``{"ConditionCheck": ...}``."""

    label: str
    request: dict[str, Any]
    on_fail: OnFail = inconsistent

    def failing_as(self, on_fail: OnFail) -> Item:
        """The same item, with the caller's own meaning for a failed condition."""
        return replace(self, on_fail=on_fail)

    def named(self, label: str) -> Item:
        """The same item under another label (two items of one kind in one transaction)."""
        return replace(self, label=label)


class Transaction:
    """Labelled items committed together, all or nothing."""

    def __init__(self, on_conflict: OnFail = busy) -> None:
        self._items: list[Item] = []
        self._on_conflict = on_conflict

    def add(self, *items: Item) -> Transaction:
        for item in items:
            if any(existing.label == item.label for existing in self._items):
                raise ValueError(f"two items labelled {item.label!r} in one transaction")
            self._items.append(item)
        return self

    @property
    def labels(self) -> list[str]:
        return [item.label for item in self._items]

    def commit(self, *, conflict_retries: int = 0) -> None:
        """Write every item or none. Raises the first failed item's ``on_fail`` (in request
        order), else ``on_conflict`` when another writer or throttling cancelled it (after
        ``conflict_retries`` retries with jitter, for writes that are always worth retrying)."""
        if len(self._items) == 1 and "ConditionCheck" not in self._items[0].request:
            self._commit_single(self._items[0])
            return
        for attempt in range(conflict_retries + 1):
            try:
                call("transact_write_items", TransactItems=[item.request for item in self._items])
                return
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise
                reasons = error.response.get("CancellationReasons") or []
                if attempt < conflict_retries and _conflicted_only(reasons):
                    time.sleep(random.uniform(0, CONFLICT_BACKOFF_SECONDS * 2**attempt))  # noqa: S311 - jitter
                    continue
                raise self._failure(reasons) from error

    def _failure(self, reasons: list[dict[str, Any]]) -> Exception:
        for item, reason in zip(self._items, reasons, strict=False):
            if reason.get("Code") == "ConditionalCheckFailed":
                current = reason.get("Item")
                return item.on_fail(from_item(current) if current else None)
        if not _conflicted_only(reasons):
            # Neither a condition nor a conflict (e.g. a validation error): a bug, not the client's fault.
            return RuntimeError(f"transaction cancelled for an unexpected reason: {reasons}")
        return self._on_conflict(None)

    def _commit_single(self, item: Item) -> None:
        ((kind, request),) = item.request.items()
        operation = {"Put": "put_item", "Update": "update_item", "Delete": "delete_item"}[kind]
        kwargs = dict(request)
        if "ConditionExpression" in kwargs:
            kwargs["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        try:
            call(operation, **kwargs)
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            current = error.response.get("Item")
            raise item.on_fail(from_item(current) if current else None) from error
