"""Events: what changed, read from one DynamoDB Streams record. Pure: no AWS, no clock.

``to_events(record)`` maps one stream record (the Lambda shape: ``eventID``,
``eventName``, ``dynamodb.Keys/NewImage/OldImage/ApproximateCreationDateTime``)
of the users or chats table to zero or more ``Event`` values:

- ``chat.assigned``: a channel became active for an agent (created active, or a
  queued chat activated).
- ``chat.resolved``: an agent resolved an active channel.
- ``chat.transferred``: an active channel's agent changed.
- ``message.created``: a message was stored in a channel.
- ``agent.presence``: an agent's status changed (online/offline; a heartbeat or
  a load change is no event).
- ``chat.queued``: a channel was queued (at initiate, or put back into the
  queue: then with ``from_agent_id``).
- ``chat.left``: the customer left the chat (queued or active).

When the queue moves (a chat taken from it or left from it, or one put back at
its head), each chat still waiting near its head learns its new place: a
``chat.queued`` event with ``data.queue_position`` and
``data.estimated_wait_seconds`` for its customer (``position_updates``, from the
queue as the stream handler reads it: not from a record). Supervisors, metrics
and webhooks do not get those.

Each event carries its ``team`` where the image says it: a channel's ``team``,
an agent's ``pool`` (a message's team is the chat's, added at delivery). A
team's supervisors receive every event of the team but ``message.created``
(``Event.supervising_team``).

``event_id`` is derived from the record's ``eventID`` (unique per stream record,
the same when a batch is delivered again) and the event type, so a replayed
record yields the same id and consumers de-duplicate on it. TTL deletions
(``eventName`` ``UNKNOWN_TO_SDK_VERSION`` on DynamoDB Local, ``REMOVE`` with a
service principal on AWS), idempotency records, logins and customers' pointers
yield no event.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from chalicelib import keys
from chalicelib.models import ACTIVE, QUEUED, RESOLVED
from chalicelib.shapes import Out, Shape
from chalicelib.store.channels import decode as decode_channel
from chalicelib.store.messages import decode as decode_message

CHAT_ASSIGNED = "chat.assigned"
CHAT_QUEUED = "chat.queued"
CHAT_TRANSFERRED = "chat.transferred"
CHAT_RESOLVED = "chat.resolved"
CHAT_LEFT = "chat.left"
MESSAGE_CREATED = "message.created"
AGENT_PRESENCE = "agent.presence"
TYPES = (CHAT_ASSIGNED, CHAT_QUEUED, CHAT_TRANSFERRED, CHAT_RESOLVED, CHAT_LEFT, MESSAGE_CREATED, AGENT_PRESENCE)

ROLES_IN_EVENTS = (keys.AGENT, keys.CUSTOMER)  # a system entry's audience is the chat's participants
# What a team's supervisors receive: every event of the team but messages (their text is the
# participants' business: privacy).
SUPERVISED_TYPES = frozenset(TYPES) - {MESSAGE_CREATED}


@dataclass(frozen=True)
class Event:
    event_id: str
    type: str
    time: str
    chat_id: str | None = None
    agent_id: int | None = None
    customer_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    team: str | None = None  # the chat's team, or the agent's; None where unknown (chats from before teams)

    JSON: ClassVar[Shape] = Shape(
        event_id=Out(schema={"description": "Stable: a replayed stream record gives the same id."}),
        type=Out(schema={"enum": list(TYPES)}),
        time=Out(),
        chat_id=Out(),
        agent_id=Out(),
        customer_id=Out(),
        team=Out(schema={"description": "The chat's or the agent's team; null where unknown."}),
        data=Out(),
    )

    def to_dict(self) -> dict[str, Any]:
        return self.JSON.dump(self)

    def with_participants(self, agent_id: int | None, customer_id: int, team: str | None = None) -> Event:
        return replace(self, agent_id=agent_id, customer_id=customer_id, team=team or self.team)

    def audience(self) -> list[tuple[str, int]]:
        """The users (role, id) this event is pushed to: the chat's participants (and the agent a
        chat moved away from), or the agent."""
        users = []
        if self.agent_id is not None:
            users.append((keys.AGENT, self.agent_id))
        if isinstance(self.data.get("from_agent_id"), int):  # a chat moved away: its agent learns it too
            users.append((keys.AGENT, self.data["from_agent_id"]))
        if self.customer_id is not None:
            users.append((keys.CUSTOMER, self.customer_id))
        return users

    @property
    def is_position_update(self) -> bool:
        return self.type == CHAT_QUEUED and "queue_position" in self.data

    def supervising_team(self) -> str | None:
        """The team whose supervisors receive this event (never a message or a place), or ``None``."""
        return self.team if self.type in SUPERVISED_TYPES and not self.is_position_update else None


def moves_the_queue(event: Event) -> bool:
    """A chat left the queue (taken from it, or left while waiting) or was put back at its head."""
    channel = event.data.get("channel") or {}
    if event.type == CHAT_ASSIGNED:
        return (channel.get("assignment") or {}).get("queued_seconds") is not None
    if event.type == CHAT_LEFT:
        return channel.get("agent_id") is None
    return event.type == CHAT_QUEUED and "from_agent_id" in event.data


def position_updates(trigger: Event, places: list[tuple[str, int, int, int | None]], read_at: str) -> list[Event]:
    """The ``chat.queued`` place updates after ``trigger`` moved the queue (pure): one per
    ``(chat_id, customer_id, position, estimated_wait_seconds)``, timed when the queue was read
    (batches of other shards run in parallel: a client keeps the newest); a replay gives the same ids."""
    return [
        Event(
            event_id(f"{trigger.event_id}|{chat_id}", "queue_position"),
            CHAT_QUEUED,
            read_at,
            chat_id,
            None,
            customer_id,
            {"queue_position": position, "estimated_wait_seconds": estimate},
            trigger.team,
        )
        for chat_id, customer_id, position, estimate in places
    ]


def to_events(record: dict[str, Any]) -> list[Event]:
    """The events one stream record stands for (often none)."""
    stream = record.get("dynamodb") or {}
    name = record.get("eventName")
    if name not in ("INSERT", "MODIFY"):
        return []  # deletions (TTL cleanup included) are no event
    keys_ = decode_image(stream.get("Keys") or {})
    new = decode_image(stream.get("NewImage") or {})
    old = decode_image(stream.get("OldImage") or {})
    pk, sk = str(keys_.get("pk", "")), str(keys_.get("sk", ""))
    made = _Maker(str(record.get("eventID", "")), _record_time(stream))
    if pk.startswith("channel#") and sk == keys.CHANNEL_SK:
        return _channel_events(made, new, old)
    if pk.startswith("channel#") and sk.startswith(keys.MESSAGE_SK_PREFIX) and name == "INSERT":
        message = decode_message(new)
        sender = {f"{message.sender_role}_id": message.sender_id} if message.sender_role in ROLES_IN_EVENTS else {}
        return [made(MESSAGE_CREATED, message.created_at, message.channel_id, {"message": message.to_dict()}, **sender)]
    if pk.startswith(f"{keys.AGENT}#") and name == "MODIFY" and new.get("status") != old.get("status"):
        data = {"status": new.get("status"), "previous": old.get("status")}
        return [made(AGENT_PRESENCE, None, None, data, team=new.get("pool"), agent_id=int(new["agent_id"]))]
    return []


def _channel_events(made: _Maker, new: dict[str, Any], old: dict[str, Any]) -> list[Event]:
    status, was = new.get("status"), old.get("status")
    channel = decode_channel(new)
    people = {"agent_id": channel.agent_id, "customer_id": channel.customer_id}
    data = {"channel": channel.to_dict()}
    made = replace(made, team=channel.team)
    if status == ACTIVE and was != ACTIVE:
        return [made(CHAT_ASSIGNED, None if was else channel.created_at, channel.channel_id, data, **people)]
    if status == QUEUED and was != QUEUED:  # queued at initiate, or put back
        moved = {**data, "from_agent_id": int(old["agent_id"])} if old.get("agent_id") is not None else data
        return [made(CHAT_QUEUED, None if was else channel.created_at, channel.channel_id, moved, **people)]
    if status == RESOLVED and was in (ACTIVE, QUEUED):
        kind = CHAT_LEFT if new.get("ended_by") == keys.CUSTOMER else CHAT_RESOLVED
        return [made(kind, channel.resolved_at, channel.channel_id, data, **people)]
    if status == ACTIVE and was == ACTIVE and old.get("agent_id") != new.get("agent_id"):
        moved = {**data, "from_agent_id": int(old["agent_id"])}
        return [made(CHAT_TRANSFERRED, None, channel.channel_id, moved, **people)]
    return []


@dataclass(frozen=True)
class _Maker:
    """Builds the events of one record: the id from the record's ``eventID`` and the type."""

    record_id: str
    record_time: str
    team: str | None = None

    def __call__(
        self, kind: str, time: str | None, chat_id: str | None, data: dict[str, Any], team: str | None = None,
        **who: int,
    ) -> Event:  # fmt: skip
        at = time or self.record_time
        return Event(event_id(self.record_id, kind), kind, at, chat_id, data=data, team=team or self.team, **who)


def event_id(record_id: str, kind: str) -> str:
    """A stable id for the event ``kind`` of stream record ``record_id`` (32 hex characters)."""
    return hashlib.sha256(f"{record_id}|{kind}".encode()).hexdigest()[:32]


def _record_time(stream: dict[str, Any]) -> str:
    """The record's ``ApproximateCreationDateTime`` (epoch seconds, or a datetime from boto3) as ISO 8601."""
    value = stream.get("ApproximateCreationDateTime", 0)
    moment = value if isinstance(value, datetime) else datetime.fromtimestamp(float(value), UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def decode_image(image: dict[str, Any]) -> dict[str, Any]:
    """A stream image (DynamoDB's typed JSON) as Python values; whole numbers as ``int``."""
    return {name: _value(typed) for name, typed in image.items()}


def _value(typed: dict[str, Any]) -> Any:
    ((kind, value),) = typed.items()
    if kind == "N":
        number = Decimal(value)
        return int(number) if number == number.to_integral_value() else number
    if kind == "M":
        return decode_image(value)
    if kind == "L":
        return [_value(item) for item in value]
    if kind == "NULL":
        return None
    if kind in ("SS", "BS"):
        return set(value)
    if kind == "NS":
        return {Decimal(v) for v in value}
    return value  # S, BOOL, B
