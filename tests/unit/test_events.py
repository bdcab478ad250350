"""The stream-record -> event mapper, on records DynamoDB Local really produced.

``tests/support/fixtures/stream_records.json`` holds the users- and chats-table stream
records of one run (seed, agent login, initiate, two sends, resolve, agent
logout) as captured from DynamoDB Local; the synthetic records below are
copies of those with one attribute changed, for transitions nothing writes yet.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest

from chalicelib import events
from chalicelib.events import event_id, to_events
from tests.support import FIXTURES

RECORDED = json.loads((FIXTURES / "stream_records.json").read_text())["records"]


def all_events(records):
    return [event for record in records for event in to_events(record)]


def record_for(pk_prefix, sk=None, name=None):
    for record in RECORDED:
        keys = record["dynamodb"]["Keys"]
        matches_sk = sk is None or keys.get("sk", {}).get("S", "").startswith(sk)
        if keys["pk"]["S"].startswith(pk_prefix) and matches_sk and name in (None, record["eventName"]):
            return copy.deepcopy(record)
    raise LookupError(pk_prefix)


def test_a_whole_conversation_gives_its_events_in_order():
    chats = [r for r in RECORDED if "chats" in r["eventSourceARN"]]
    users = [r for r in RECORDED if "users" in r["eventSourceARN"]]
    assert [e.type for e in all_events(chats)] == [
        "chat.assigned",
        "message.created",
        "message.created",
        "chat.resolved",
    ]
    assert [(e.type, e.data["status"]) for e in all_events(users)] == [
        ("agent.presence", "online"),
        ("agent.presence", "offline"),
    ]


def test_chat_events_name_the_chat_its_agent_and_its_customer():
    assigned, first, reply, resolved = all_events(r for r in RECORDED if "chats" in r["eventSourceARN"])
    channel_id = assigned.data["channel"]["channel_id"]
    assert (assigned.chat_id, assigned.agent_id, assigned.customer_id) == (channel_id, 1, 1)
    assert assigned.time == assigned.data["channel"]["created_at"]
    assert resolved.data["channel"]["status"] == "resolved" and resolved.time == resolved.data["channel"]["resolved_at"]
    # A message names its sender; the other participant comes from the channel when it is pushed.
    assert (first.customer_id, first.agent_id, first.data["message"]["text"]) == (1, None, "halo")
    assert (reply.agent_id, reply.customer_id, reply.data["message"]["text"]) == (1, None, "hai")
    assert first.with_participants(1, 1).audience() == [("agent", 1), ("customer", 1)]


def test_event_json_has_the_documented_keys():
    event = all_events(RECORDED)[0]
    assert list(event.to_dict()) == ["event_id", "type", "time", "chat_id", "agent_id", "customer_id", "team", "data"]
    json.dumps(event.to_dict())


def test_a_replayed_record_gives_the_same_event_ids():
    first = [e.event_id for e in all_events(RECORDED)]
    again = [e.event_id for e in all_events(copy.deepcopy(RECORDED))]
    assert first == again
    assert len(set(first)) == len(first)


def test_the_id_depends_on_the_record_and_the_type():
    assert event_id("a", "chat.assigned") != event_id("b", "chat.assigned")
    assert event_id("a", "chat.assigned") != event_id("a", "chat.resolved")
    assert len(event_id("a", "chat.assigned")) == 32


def test_seeding_logins_customers_pointers_and_load_changes_are_no_events():
    quiet = [r for r in RECORDED if not r["dynamodb"]["Keys"]["pk"]["S"].startswith("channel#")]
    presence = [e for e in all_events(quiet) if e.type == "agent.presence"]
    assert len(presence) == 2  # of the 9 users-table records, only login and logout change a status
    assert len(quiet) == 9


def test_a_ttl_deletion_is_no_event():
    # DynamoDB Local reports TTL deletions with this event name; AWS with REMOVE.
    record = record_for("channel#", sk="msg#")
    record["eventName"] = "UNKNOWN_TO_SDK_VERSION"
    record["dynamodb"]["OldImage"] = record["dynamodb"].pop("NewImage")
    assert to_events(record) == []
    record["eventName"] = "REMOVE"
    assert to_events(record) == []


def test_an_agent_modification_without_a_status_change_is_no_event():
    record = record_for("agent#", name="MODIFY")
    record["dynamodb"]["OldImage"]["status"] = copy.deepcopy(record["dynamodb"]["NewImage"]["status"])
    assert to_events(record) == []


def test_a_changed_agent_on_an_active_chat_is_a_transfer():
    record = record_for("channel#", sk="channel", name="INSERT")
    record["eventName"] = "MODIFY"
    record["dynamodb"]["OldImage"] = copy.deepcopy(record["dynamodb"]["NewImage"])
    record["dynamodb"]["NewImage"]["agent_id"] = {"N": "2"}
    (event,) = to_events(record)
    assert (event.type, event.agent_id, event.data["from_agent_id"]) == ("chat.transferred", 2, 1)


def test_queued_then_activated_is_queued_then_assigned():
    inserted = record_for("channel#", sk="channel", name="INSERT")
    inserted["dynamodb"]["NewImage"]["status"] = {"S": events.QUEUED}
    assert [e.type for e in to_events(inserted)] == ["chat.queued"]
    activated = copy.deepcopy(inserted)
    activated["eventName"] = "MODIFY"
    activated["dynamodb"]["OldImage"] = copy.deepcopy(inserted["dynamodb"]["NewImage"])
    activated["dynamodb"]["NewImage"]["status"] = {"S": "active"}
    assert [e.type for e in to_events(activated)] == ["chat.assigned"]


@pytest.mark.parametrize("stamp", [1795580640.0, datetime(2026, 11, 25, 4, 24, tzinfo=UTC)])
def test_record_time_from_lambda_seconds_or_a_boto3_datetime(stamp):
    record = record_for("agent#", name="MODIFY")
    record["dynamodb"]["ApproximateCreationDateTime"] = stamp
    (event,) = to_events(record)
    assert event.time == "2026-11-25T04:24:00.000Z"


def test_images_decode_nested_values():
    image = {"m": {"M": {"n": {"N": "1.5"}, "l": {"L": [{"S": "x"}, {"NULL": True}, {"BOOL": False}]}}}}
    assert events.decode_image(image) == {"m": {"n": events.Decimal("1.5"), "l": ["x", None, False]}}


def _channel_record(new, old=None, name="MODIFY"):
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    image = lambda values: {k: serializer.serialize(v) for k, v in values.items()}  # noqa: E731
    return {
        "eventID": "r1",
        "eventName": name,
        "dynamodb": {
            "Keys": image({"pk": f"channel#{new['channel_id']}", "sk": "channel"}),
            "NewImage": image({"pk": f"channel#{new['channel_id']}", "sk": "channel", **new}),
            **({"OldImage": image({"pk": f"channel#{new['channel_id']}", "sk": "channel", **old})} if old else {}),
            "ApproximateCreationDateTime": 1_700_000_000,
        },
    }


CHAT = {"channel_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "customer_id": 5, "created_at": "2026-11-25T07:00:00.000Z"}


def test_queue_changes_are_events_for_everyone_concerned():
    from chalicelib.events import to_events

    queued = {**CHAT, "status": "queued"}
    active = {**CHAT, "status": "active", "agent_id": 2}
    (made,) = to_events(_channel_record(queued, name="INSERT"))
    assert (made.type, made.agent_id, made.customer_id) == ("chat.queued", None, 5)
    (assigned,) = to_events(_channel_record(active, queued))
    assert (assigned.type, assigned.agent_id) == ("chat.assigned", 2)
    (back,) = to_events(_channel_record(queued, active))
    assert back.type == "chat.queued" and back.data["from_agent_id"] == 2
    assert set(back.audience()) == {("customer", 5), ("agent", 2)}
    (moved,) = to_events(_channel_record({**active, "agent_id": 3}, active))
    assert moved.type == "chat.transferred" and set(moved.audience()) == {("customer", 5), ("agent", 3), ("agent", 2)}
    left = {**CHAT, "status": "resolved", "ended_by": "customer", "resolved_at": "2026-11-25T07:01:00.000Z"}
    assert [e.type for e in to_events(_channel_record(left, queued))] == ["chat.left"]
    assert [e.type for e in to_events(_channel_record({**left, "agent_id": 2}, active))] == ["chat.left"]
    resolved = {**left, "ended_by": "agent", "agent_id": 2}
    assert [e.type for e in to_events(_channel_record(resolved, active))] == ["chat.resolved"]


def test_a_system_entry_is_a_message_event_for_the_chats_participants():
    from boto3.dynamodb.types import TypeSerializer

    from chalicelib.events import to_events

    serializer = TypeSerializer()
    message = {
        "pk": "channel#01ARZ3NDEKTSV4RRFFQ69G5FAV", "sk": "msg#01ARZ3NDEKTSV4RRFFQ69G5FAW",
        "message_id": "01ARZ3NDEKTSV4RRFFQ69G5FAW", "channel_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "sender_role": "system", "sender_id": 0, "text": "Assigned to agent 2.", "kind": "assigned",
        "created_at": "2026-11-25T07:00:00.000Z",
    }  # fmt: skip
    record = {
        "eventID": "r2",
        "eventName": "INSERT",
        "dynamodb": {
            "Keys": {k: serializer.serialize(message[k]) for k in ("pk", "sk")},
            "NewImage": {k: serializer.serialize(v) for k, v in message.items()},
            "ApproximateCreationDateTime": 1_700_000_000,
        },
    }
    (event,) = to_events(record)
    assert event.type == "message.created" and event.data["message"]["kind"] == "assigned"
    assert event.agent_id is None and event.customer_id is None  # the delivery adds the chat's participants


def test_events_carry_their_team_and_only_messages_stay_away_from_supervisors():
    chat = {**CHAT, "team": "sales"}
    (queued,) = to_events(_channel_record({**chat, "status": "queued"}, name="INSERT"))
    (assigned,) = to_events(_channel_record({**chat, "status": "active", "agent_id": 2}, {**chat, "status": "queued"}))
    assert (queued.team, assigned.team) == ("sales", "sales")
    assert (queued.supervising_team(), assigned.supervising_team()) == ("sales", "sales")
    (presence,) = to_events(record_for("agent#", name="MODIFY"))
    assert presence.team == "default" and presence.supervising_team() == "default"  # the agent's pool
    message = next(e for e in all_events(RECORDED) if e.type == "message.created")
    assert message.with_participants(1, 1, "sales").team == "sales"
    assert message.with_participants(1, 1, "sales").supervising_team() is None


def test_a_chat_from_before_teams_has_no_team_and_no_supervisors():
    (assigned,) = to_events(_channel_record({**CHAT, "status": "active", "agent_id": 2}, name="INSERT"))
    assert assigned.team is None and assigned.supervising_team() is None


def _chat(kind, *, data_extra=None, **channel):
    body = {"channel_id": "C1", "customer_id": 5, "agent_id": channel.pop("agent_id", 2), **channel}
    return events.Event("e1", kind, "2026-11-25T07:00:00.000Z", "C1", body["agent_id"], 5,
                        {"channel": body, **(data_extra or {})}, "sales")  # fmt: skip


@pytest.mark.parametrize(
    ("event", "moves"),
    [
        (_chat("chat.assigned", assignment={"reason": "drain", "queued_seconds": 3.5}), True),  # taken from it
        (_chat("chat.assigned", assignment={"reason": "initiate", "rule": "under_cap"}), False),  # never queued
        (_chat("chat.left", agent_id=None), True),  # left while waiting
        (_chat("chat.left"), False),  # left a conversation
        (_chat("chat.queued", agent_id=None, data_extra={"from_agent_id": 2}), True),  # put back at the head
        (_chat("chat.queued", agent_id=None), False),  # joined at the tail: nobody's place changes
        (_chat("chat.resolved"), False),
    ],
)
def test_what_moves_the_queue(event, moves):
    assert events.moves_the_queue(event) is moves


def test_place_updates_go_to_each_waiting_customer_with_stable_ids_and_never_to_supervisors():
    trigger = _chat("chat.left", agent_id=None)
    places = [("C2", 6, 1, 75), ("C3", 7, 2, None)]
    updates = events.position_updates(trigger, places, "2026-11-25T07:00:01.000Z")
    assert [(u.type, u.chat_id, u.customer_id, u.data) for u in updates] == [
        ("chat.queued", "C2", 6, {"queue_position": 1, "estimated_wait_seconds": 75}),
        ("chat.queued", "C3", 7, {"queue_position": 2, "estimated_wait_seconds": None}),
    ]
    assert [u.audience() for u in updates] == [[("customer", 6)], [("customer", 7)]]
    assert all(u.is_position_update and u.supervising_team() is None and u.team == "sales" for u in updates)
    again = events.position_updates(trigger, places, "2026-11-25T07:00:02.000Z")  # a replay, read later
    assert [u.event_id for u in again] == [u.event_id for u in updates]
    assert {u.time for u in updates} == {"2026-11-25T07:00:01.000Z"}  # when the queue was read
    assert len({u.event_id for u in updates} | {trigger.event_id}) == 3
    assert not trigger.is_position_update and trigger.supervising_team() == "sales"
