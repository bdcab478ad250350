"""Events -> metric records (pure), and the EMF lines the emitter writes to stdout."""

from __future__ import annotations

import io
import json

import pytest

from chalicelib import metrics
from chalicelib.events import Event
from chalicelib.metrics import documents, emit, to_metrics

T0 = "2026-11-25T07:00:00.000Z"
T0_MS = 1_795_590_000_000


def chat_event(kind: str, *, agent_id=2, team="sales", data=None, event_id="e1", **channel) -> Event:
    assignment = channel.pop("assignment", {"reason": "initiate", "rule": "under_cap", "agent_id": agent_id, "at": T0})
    body = {"channel_id": "C1", "customer_id": 5, "agent_id": agent_id, "team": team, "assignment": assignment}
    return Event(event_id, kind, T0, "C1", agent_id, 5, {"channel": {**body, **channel}, **(data or {})}, team)


def named(records):
    return {(m.name, m.unit, m.value, m.dimensions) for m in records}


def test_an_assignment_counts_by_team_and_rule():
    (metric,) = to_metrics([chat_event("chat.assigned")])
    assert (metric.name, metric.unit, metric.value) == ("ChatsAssigned", "Count", 1)
    assert metric.dimensions == (("Team", "sales"), ("Rule", "under_cap"))
    assert metric.timestamp_ms == T0_MS and metric.event_id == "e1"


def test_a_drain_gives_the_time_spent_queued():
    drained = {"reason": "drain", "rule": "first_in_queue", "agent_id": 2, "at": T0, "queued_seconds": 42.5}
    assert named(to_metrics([chat_event("chat.assigned", assignment=drained)])) == {
        ("ChatsAssigned", "Count", 1, (("Team", "sales"), ("Rule", "first_in_queue"))),
        ("TimeToAssignment", "Seconds", 42.5, (("Team", "sales"),)),
    }


def test_a_resolve_gives_the_handle_time_since_the_last_assignment():
    resolved = chat_event("chat.resolved", resolved_at="2026-11-25T07:05:30.500Z", status="resolved")
    assert named(to_metrics([resolved])) == {
        ("ChatsResolved", "Count", 1, (("Team", "sales"),)),
        ("HandleTime", "Seconds", 330.5, (("Team", "sales"),)),
    }


@pytest.mark.parametrize(("kind", "count"), [("chat.resolved", "ChatsResolved"), ("chat.left", "ChatsLeft")])
def test_a_chat_that_ends_gives_its_first_response_time_if_an_agent_replied(kind, count):
    ended = chat_event(kind, created_at="2026-11-25T06:59:00.000Z")
    answered = to_metrics([ended], {"C1": "2026-11-25T06:59:12.250Z"})
    assert ("FirstResponseTime", "Seconds", 12.25, (("Team", "sales"),)) in named(answered)
    unanswered = to_metrics([ended], {"C2": "2026-11-25T06:59:12.250Z"})  # another chat's reply
    assert "FirstResponseTime" not in {m.name for m in unanswered} and count in {m.name for m in unanswered}


def test_queue_joins_and_leaves_from_the_queue_or_a_conversation():
    queue = {"reason": "initiate", "rule": "queue", "agent_id": None, "at": T0}
    assert named(to_metrics([chat_event("chat.queued", agent_id=None, assignment=queue)])) == {
        ("QueueJoins", "Count", 1, (("Team", "sales"),)),
    }
    left_queued = chat_event("chat.left", agent_id=None, assignment=queue)
    left_active = chat_event("chat.left")
    assert [m.dimensions for m in to_metrics([left_queued, left_active])] == [
        (("Team", "sales"), ("While", "queued")),
        (("Team", "sales"), ("While", "active")),
    ]


@pytest.mark.parametrize("kind", ["chat.transferred", "chat.queued"])
def test_moves_are_transfers_or_reassignments_by_their_reason(kind):
    def moved(reason):
        assignment = {"reason": reason, "rule": "chosen", "agent_id": 3, "at": T0}
        return chat_event(kind, agent_id=3, assignment=assignment, data={"from_agent_id": 2})

    by_transfer = {m.name for m in to_metrics([moved("transfer")])}
    assert "Transfers" in by_transfer and "Reassignments" not in by_transfer
    (reassigned,) = [m for m in to_metrics([moved("reply_timeout")]) if m.name == "Reassignments"]
    assert reassigned.dimensions == (("Team", "sales"), ("Reason", "reply_timeout"))


def test_messages_and_presence_are_no_metrics_and_a_chat_without_team_is_unknown():
    presence = Event("e2", "agent.presence", T0, None, 1, None, {"status": "online"}, "sales")
    message = Event("e3", "message.created", T0, "C1", 1, None, {"message": {"text": "hi"}})
    assert to_metrics([presence, message]) == []
    (metric,) = to_metrics([chat_event("chat.assigned", team=None)])
    assert metric.dimensions[0] == ("Team", metrics.UNKNOWN_TEAM)


def assert_emf(document: dict, namespace: str) -> None:
    """The structure CloudWatch requires of an EMF document."""
    meta = document["_aws"]
    assert isinstance(meta["Timestamp"], int)
    (directive,) = meta["CloudWatchMetrics"]
    assert directive["Namespace"] == namespace
    for dimension_set in directive["Dimensions"]:
        assert all(isinstance(document[name], str) for name in dimension_set)
    for metric in directive["Metrics"]:
        assert set(metric) == {"Name", "Unit"} and metric["Unit"] in ("Count", "Seconds")
        assert isinstance(document[metric["Name"]], int | float)


def test_the_emitter_prints_one_emf_line_per_event_and_dimension_set(capsys):
    drained = {"reason": "drain", "rule": "first_in_queue", "agent_id": 2, "at": T0, "queued_seconds": 3}
    resolved = chat_event("chat.resolved", resolved_at="2026-11-25T07:01:00.000Z", event_id="e2")
    records = to_metrics([chat_event("chat.assigned", assignment=drained), resolved])
    assert emit(records, "AgentAllocation") == 3
    lines = capsys.readouterr().out.splitlines()
    docs = [json.loads(line) for line in lines]
    assert len(docs) == 3
    for document in docs:
        assert_emf(document, "AgentAllocation")
    assigned, waited, handled = docs
    assert assigned["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Team", "Rule"]]
    assert (assigned["Team"], assigned["Rule"], assigned["ChatsAssigned"]) == ("sales", "first_in_queue", 1)
    assert waited["TimeToAssignment"] == 3 and assigned["_aws"]["Timestamp"] == T0_MS
    # Metrics of one event with the same dimensions share a line.
    assert {m["Name"] for m in handled["_aws"]["CloudWatchMetrics"][0]["Metrics"]} == {"ChatsResolved", "HandleTime"}
    assert handled["HandleTime"] == 60 and handled["event_id"] == "e2"


def test_no_namespace_no_lines():
    out = io.StringIO()
    assert emit(to_metrics([chat_event("chat.assigned")]), None, out) == 0
    assert out.getvalue() == ""
    assert documents([], "AgentAllocation") == []


def test_queue_gauges_give_the_length_and_the_oldest_wait_only_when_someone_waits():
    from chalicelib.queueing import QueueSnapshot

    gauges = metrics.queue_gauges([QueueSnapshot("sales", 3, 42.0), QueueSnapshot("default", 0, None)], 1_795_590_000)
    assert named(gauges) == {
        ("QueueLength", "Count", 3, (("Team", "sales"),)),
        ("OldestQueuedSeconds", "Seconds", 42.0, (("Team", "sales"),)),
        ("QueueLength", "Count", 0, (("Team", "default"),)),
    }
    assert all(g.timestamp_ms == T0_MS and g.event_id is None for g in gauges)
