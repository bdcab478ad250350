"""Metrics: CloudWatch Embedded Metric Format (EMF) lines, from the stream's events.

Written by the stream handler after its batch was pushed, never on a request
path: requests keep their round trips and latency. ``to_metrics(events)`` is
pure (events in, metric records out); ``emit`` writes them to stdout, one JSON
line per event and dimension set, which CloudWatch Logs turns into metrics of
``METRICS_NAMESPACE`` (empty: off).

| metric | unit | dimensions | from |
|---|---|---|---|
| ``ChatsAssigned`` | Count | Team, Rule | ``chat.assigned`` (``assignment.rule``) |
| ``TimeToAssignment`` | Seconds | Team | ``chat.assigned`` taken from the queue (``assignment.queued_seconds``) |
| ``QueueJoins`` | Count | Team | ``chat.queued`` (new, or put back) |
| ``HandleTime`` | Seconds | Team | ``chat.resolved``: ``resolved_at`` - ``assignment.at`` (the last assignment) |
| ``FirstResponseTime`` | Seconds | Team | ``chat.resolved`` / ``chat.left``: the first agent message - ``created_at`` |
| ``ChatsResolved`` | Count | Team | ``chat.resolved`` |
| ``ChatsLeft`` | Count | Team, While | ``chat.left``; ``While`` = ``queued`` (abandoned) or ``active`` |
| ``Transfers`` | Count | Team | ``chat.transferred`` / ``chat.queued`` put back, ``assignment.reason`` ``transfer`` |
| ``Reassignments`` | Count | Team, Reason | the same, reason ``agent_offline`` or ``reply_timeout`` |
| ``QueueLength`` | Count | Team | the presence sweep, every minute, with a queue (``queue_gauges``) |
| ``OldestQueuedSeconds`` | Seconds | Team | the same: how long the head of the queue has waited |

First response time is the wait from the chat's start (queued or assigned) to
an agent's first message. It is counted when the chat ends: the stream handler
reads the chat's first agent message then (``first_replies``, one query per
ended chat, off the request path: no request and no write pays for it); a chat
never answered counts nothing (``ChatsLeft`` tells those).

Delivery is at least once: a stream batch retried after a failure is counted
again (rare; the push is done before the metrics are written, so a failed push
writes none).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from chalicelib.events import CHAT_ASSIGNED, CHAT_LEFT, CHAT_QUEUED, CHAT_RESOLVED, CHAT_TRANSFERRED, Event
from chalicelib.queueing import QueueSnapshot, seconds_between

COUNT = "Count"
SECONDS = "Seconds"
UNKNOWN_TEAM = "unknown"  # events of chats from before teams
TRANSFER = "transfer"
REASSIGNMENT_REASONS = ("agent_offline", "reply_timeout")


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    value: float
    dimensions: tuple[tuple[str, str], ...]  # (name, value), in order
    timestamp_ms: int
    event_id: str | None  # a property of the line (searchable in Logs Insights), not a dimension


def to_metrics(events: Iterable[Event], first_replies: Mapping[str, str] | None = None) -> list[Metric]:
    """The metric records of ``events`` (pure; in event order); ``first_replies``: an ended chat's
    first agent message time, by chat id."""
    replies = first_replies or {}
    return [metric for event in events for metric in _of(event, replies.get(event.chat_id or ""))]


def _of(event: Event, first_reply_at: str | None = None) -> list[Metric]:
    channel = event.data.get("channel") or {}
    assignment = channel.get("assignment") or {}
    team = event.team or UNKNOWN_TEAM
    stamp = _millis(event.time)

    def metric(name: str, value: float, unit: str = COUNT, **extra: str) -> Metric:
        return Metric(name, unit, value, (("Team", team), *extra.items()), stamp, event.event_id)

    out = []
    if event.type == CHAT_ASSIGNED:
        out.append(metric("ChatsAssigned", 1, Rule=str(assignment.get("rule") or "unknown")))
        if assignment.get("queued_seconds") is not None:
            out.append(metric("TimeToAssignment", float(assignment["queued_seconds"]), SECONDS))
    elif event.type == CHAT_QUEUED:
        out.append(metric("QueueJoins", 1))
    elif event.type == CHAT_RESOLVED:
        out.append(metric("ChatsResolved", 1))
        if assignment.get("at") and channel.get("resolved_at"):
            out.append(metric("HandleTime", seconds_between(assignment["at"], channel["resolved_at"]), SECONDS))
    elif event.type == CHAT_LEFT:
        out.append(metric("ChatsLeft", 1, While="queued" if channel.get("agent_id") is None else "active"))
    if event.type in (CHAT_RESOLVED, CHAT_LEFT) and first_reply_at and channel.get("created_at"):
        waited = seconds_between(channel["created_at"], first_reply_at)
        out.append(metric("FirstResponseTime", waited, SECONDS))
    moved = event.type == CHAT_TRANSFERRED or (event.type == CHAT_QUEUED and "from_agent_id" in event.data)
    if moved and assignment.get("reason") == TRANSFER:
        out.append(metric("Transfers", 1))
    elif moved and assignment.get("reason") in REASSIGNMENT_REASONS:
        out.append(metric("Reassignments", 1, Reason=str(assignment["reason"])))
    return out


def queue_gauges(snapshots: Iterable[QueueSnapshot], now: float) -> list[Metric]:
    """Each team's queue length, and its oldest wait when something waits (pure)."""
    out = []
    for snap in snapshots:
        dimensions = (("Team", snap.team),)
        stamp = int(now * 1000)
        out.append(Metric("QueueLength", COUNT, snap.queued, dimensions, stamp, None))
        if snap.oldest_wait_seconds is not None:
            out.append(Metric("OldestQueuedSeconds", SECONDS, snap.oldest_wait_seconds, dimensions, stamp, None))
    return out


def _millis(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def documents(metrics: Iterable[Metric], namespace: str) -> list[dict[str, Any]]:
    """EMF documents: one per event and dimension set (the metrics sharing them in one directive)."""
    groups: dict[tuple[str | None, int, tuple[tuple[str, str], ...]], list[Metric]] = {}
    for metric in metrics:
        groups.setdefault((metric.event_id, metric.timestamp_ms, metric.dimensions), []).append(metric)
    out = []
    for (event_id, stamp, dimensions), members in groups.items():
        directive = {
            "Namespace": namespace,
            "Dimensions": [[name for name, _ in dimensions]],
            "Metrics": [{"Name": m.name, "Unit": m.unit} for m in members],
        }
        document: dict[str, Any] = {"_aws": {"Timestamp": stamp, "CloudWatchMetrics": [directive]}}
        document.update(dimensions)
        document.update((m.name, m.value) for m in members)
        if event_id is not None:
            document["event_id"] = event_id
        out.append(document)
    return out


def emit(metrics: Iterable[Metric], namespace: str | None, out: IO[str] | None = None) -> int:
    """Write the EMF lines of ``metrics`` (nothing when ``namespace`` is ``None``: metrics are off);
    returns how many lines. Plain stdout lines, not ``logging``: a log record's prefix would hide
    the JSON from CloudWatch's extraction."""
    if namespace is None:
        return 0
    stream = out or sys.stdout
    lines = documents(metrics, namespace)
    for document in lines:
        stream.write(json.dumps(document, separators=(",", ":")) + "\n")
    stream.flush()
    return len(lines)
