"""Domain values: what the store returns and the services work with.

Each value that leaves the API declares its public JSON once, as ``JSON``: the
keys in order, each an attribute (``Out``) or a fixed value (``Const``).
``to_dict()`` and the OpenAPI schema are both made from it (``chalicelib.shapes``).
Secrets such as password hashes live only in ``Credentials``, which has none.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from chalicelib.shapes import Const, Out, Shape

ONLINE = "online"
AWAY = "away"  # keeps its chats, gets no new ones
OFFLINE = "offline"
AGENT_STATUSES = (ONLINE, AWAY, OFFLINE)
ACTIVE = "active"
QUEUED = "queued"  # waiting in its team's queue; counts as the customer's one active chat
RESOLVED = "resolved"
CHANNEL_STATUSES = (QUEUED, ACTIVE, RESOLVED)
OPEN_STATUSES = (QUEUED, ACTIVE)
SYSTEM = "system"  # the sender of a history's system entries (assignment changes, a customer leaving)
TIMESTAMP = {"description": "UTC, ISO 8601 with milliseconds", "examples": ["2026-11-24T05:58:47.381Z"]}


def iso_seconds(epoch: float) -> str:
    """Epoch seconds as UTC ISO 8601 with milliseconds, like every time the API shows."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Principal:
    """The caller, as proven by a verified token."""

    role: str
    user_id: int
    jti: str
    expires_at: int


@dataclass(frozen=True)
class Credentials:
    role: str
    user_id: int
    username: str
    password_hash: str


@dataclass(frozen=True)
class Agent:
    agent_id: int
    username: str
    status: str
    active_count: int
    last_assigned_at: str = ""
    max_chats: int = 2  # its own capacity (the default ALLOCATION_CAP unless a supervisor set one)
    last_seen: str | None = None  # the last heartbeat (or login)
    sessions: int = 0  # live logins
    # Kept for the store's conditions, not shown: the session entries and their version, last_seen in epoch seconds.
    session_entries: frozenset[str] = field(default=frozenset(), compare=False)
    session_version: int = field(default=0, compare=False)
    last_seen_epoch: int | None = field(default=None, compare=False)
    team: str | None = None  # its team (load-index partition and queue)

    JSON: ClassVar[Shape] = Shape(
        id=Out("agent_id"),
        username=Out(),
        role=Const("agent"),
        status=Out(schema={"enum": list(AGENT_STATUSES)}),
        active_chats=Out("active_count", schema={"minimum": 0}),
        max_chats=Out(schema={"minimum": 0, "description": "Its capacity: new chats only below it."}),
        last_seen=Out(schema={"description": "The last heartbeat or login (UTC, ISO 8601)."}),
        sessions=Out(schema={"minimum": 0, "description": "Logins not yet ended or expired."}),
    )

    @property
    def online(self) -> bool:
        return self.status == ONLINE

    def available(self, fresh_after: float) -> bool:
        """Online with a fresh heartbeat: may take new chats (``IS_AVAILABLE``)."""
        return self.online and (self.last_seen_epoch or 0) >= fresh_after

    def has_free_slot(self, fresh_after: float, extra: int = 0) -> bool:
        """Available and below its capacity (after ``extra`` more chats end)."""
        return self.available(fresh_after) and self.active_count - extra < self.max_chats

    def to_dict(self) -> dict[str, Any]:
        return self.JSON.dump(self)


@dataclass(frozen=True)
class AgentLoad:
    """An agent as the load index shows it: enough to choose, maybe stale."""

    agent_id: int
    status: str
    active_count: int
    last_assigned_at: str = ""
    max_chats: int | None = None  # None: the default capacity

    @property
    def online(self) -> bool:
        return self.status == ONLINE

    def capacity(self, default: int) -> int:
        return self.max_chats if self.max_chats is not None else default


@dataclass(frozen=True)
class Customer:
    customer_id: int
    username: str
    active_channel_id: str | None = None
    active_agent_id: int | None = None
    active_since: str | None = None
    last_channel_id: str | None = None  # the chat resolved last, if any
    active_team: str | None = None  # the open chat's team (None: before teams were recorded here)

    def active_channel(self) -> Channel | None:
        """The customer's open channel (active, or queued: no agent yet), as recorded on the customer."""
        if self.active_channel_id is None:
            return None
        return Channel(
            channel_id=self.active_channel_id,
            customer_id=self.customer_id,
            agent_id=self.active_agent_id,
            status=ACTIVE if self.active_agent_id is not None else QUEUED,
            created_at=self.active_since or "",
            team=self.active_team,
        )

    JSON: ClassVar[Shape] = Shape(
        id=Out("customer_id"), username=Out(), role=Const("customer"), active_channel_id=Out()
    )

    def to_dict(self) -> dict[str, Any]:
        return self.JSON.dump(self)


@dataclass(frozen=True)
class Supervisor:
    supervisor_id: int
    username: str

    JSON: ClassVar[Shape] = Shape(id=Out("supervisor_id"), username=Out(), role=Const("supervisor"))

    def to_dict(self) -> dict[str, Any]:
        return self.JSON.dump(self)


@dataclass(frozen=True)
class Candidate:
    """An agent as an assignment saw it (from the load index, possibly a moment stale)."""

    agent_id: int
    status: str
    active_count: int
    max_chats: int

    JSON: ClassVar[Shape] = Shape(agent_id=Out(), status=Out(), active_chats=Out("active_count"), max_chats=Out())


@dataclass(frozen=True)
class Assignment:
    """Why a chat is with its agent (or in the queue): the latest assignment's record."""

    reason: str  # initiate | queued | drain | transfer | agent_offline | reply_timeout
    rule: str  # under_cap | overflow | nobody_online | queue | first_in_queue | chosen
    agent_id: int | None
    at: str
    attempts: int = 1
    queued_seconds: float | None = None
    by: str | None = None  # who moved it: "agent#3", "supervisor#1"; None: the service itself
    candidates: tuple[Candidate, ...] = ()

    JSON: ClassVar[Shape] = Shape(
        reason=Out(
            schema={
                "description": "What started it: initiate, queued, drain, transfer, agent_offline or reply_timeout."
            }
        ),
        rule=Out(
            schema={
                "description": "under_cap, overflow, nobody_online (the seed's rules), queue "
                "(no free slot: queued), first_in_queue (drained), chosen (a transfer)."
            }
        ),
        agent_id=Out(),
        at=Out(schema=TIMESTAMP),
        attempts=Out(schema={"minimum": 1}),
        queued_seconds=Out(optional=True, schema={"description": "Time spent queued before this assignment."}),
        by=Out(optional=True),
        candidates=Out(schema={"description": "The agents considered, as read."}),
    )

    def to_dict(self) -> dict[str, Any]:
        return self.JSON.dump(self)


@dataclass(frozen=True)
class Channel:
    channel_id: str
    customer_id: int
    agent_id: int | None  # None while queued
    status: str
    created_at: str
    resolved_at: str | None = None
    team: str | None = None  # the team it was routed in (None: before teams existed)
    ended_by: str | None = None  # who ended it: "agent" (resolved) or "customer" (left)
    assignment: Assignment | None = None
    # Only while queued, computed on read: place in the queue (1 = next) and the estimate.
    queue_position: int | None = None
    estimated_wait_seconds: int | None = None
    queue_entry: str | None = field(default=None, compare=False)  # while queued: its entry's sort key (not shown)

    JSON: ClassVar[Shape] = Shape(
        channel_id=Out(),
        customer_id=Out(),
        agent_id=Out(schema={"description": "null while queued."}),
        status=Out(schema={"enum": list(CHANNEL_STATUSES)}),
        created_at=Out(schema=TIMESTAMP),
        resolved_at=Out(),
        team=Out(),
        ended_by=Out(optional=True, schema={"enum": ["agent", "customer"]}),
        queue_position=Out(optional=True, schema={"minimum": 1, "description": "While queued: 1 = next."}),
        estimated_wait_seconds=Out(
            optional=True,
            schema={"minimum": 0, "description": "While queued: position x mean handle time / online capacity."},
        ),
        assignment=Out(optional=True),
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def to_dict(self) -> dict[str, Any]:
        return self.JSON.dump(self)


@dataclass(frozen=True)
class Message:
    message_id: str
    channel_id: str
    sender_role: str
    sender_id: int  # 0 for system entries
    text: str
    created_at: str
    kind: str | None = None  # system entries only: queued, assigned, transferred, requeued, left

    JSON: ClassVar[Shape] = Shape(
        message_id=Out(),
        channel_id=Out(),
        sender_role=Out(schema={"enum": ["agent", "customer", SYSTEM]}),
        sender_id=Out(schema={"description": "0 for system entries."}),
        text=Out(),
        created_at=Out(schema=TIMESTAMP),
        kind=Out(
            optional=True, schema={"description": "System entries: queued, assigned, transferred, requeued or left."}
        ),
    )

    def to_dict(self) -> dict[str, Any]:
        return self.JSON.dump(self)


@dataclass(frozen=True)
class HistoryPage:
    channel: Channel
    messages: list[Message]
    next_cursor: str | None

    JSON: ClassVar[Shape] = Shape(
        channel=Out(),
        messages=Out(schema={"description": "Oldest first."}),
        next_cursor=Out(schema={"description": "Pass as `cursor` for the next page."}),
    )

    def to_dict(self) -> dict[str, Any]:
        return self.JSON.dump(self)


@dataclass(frozen=True)
class Session:
    """A successful login: the user, its access token, and a device token for later logins."""

    user: Agent | Customer | Supervisor
    token: str
    expires_at: int
    device_token: str

    JSON: ClassVar[Shape] = Shape(
        user=Out(),
        token=Out(schema={"description": "Send as `Authorization: Bearer <token>`."}),
        token_type=Const("Bearer"),
        expires_at=Out(schema={"description": "Unix time"}),
        device_token=Out(
            schema={"description": "Keep it on this device and send it with later logins of this username."}
        ),
    )

    def to_dict(self) -> dict[str, Any]:
        return self.JSON.dump(self)


class Rule(enum.Enum):
    """Which of the seed's allocation rules chose the agent (see ``chalicelib.allocation``)."""

    UNDER_CAP = "under_cap"
    OVERFLOW = "overflow"
    NOBODY_ONLINE = "nobody_online"


@dataclass(frozen=True)
class Choice:
    """An agent chosen for a new chat, by a rule, on a possibly stale read."""

    agent: AgentLoad
    rule: Rule
    # Overflow only: the other online agents, each of which must still be at
    # or over the cap when the chat is committed.
    must_be_full: tuple[AgentLoad, ...] = ()
