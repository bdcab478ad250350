"""Domain values: what the store returns and the services work with.

Each value has ``to_dict()``, its public JSON shape (documented in README.md).
Secrets such as password hashes live only in ``Credentials``, which has none.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

ONLINE = "online"
OFFLINE = "offline"
ACTIVE = "active"
RESOLVED = "resolved"


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

    @property
    def online(self) -> bool:
        return self.status == ONLINE

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.agent_id,
            "username": self.username,
            "role": "agent",
            "status": self.status,
            "active_chats": self.active_count,
        }


@dataclass(frozen=True)
class AgentLoad:
    """An agent as the load index shows it: enough to choose, maybe stale."""

    agent_id: int
    status: str
    active_count: int
    last_assigned_at: str = ""

    @property
    def online(self) -> bool:
        return self.status == ONLINE


@dataclass(frozen=True)
class Customer:
    customer_id: int
    username: str
    active_channel_id: str | None = None
    active_agent_id: int | None = None
    active_since: str | None = None
    last_channel_id: str | None = None  # the chat resolved last, if any

    def active_channel(self) -> Channel | None:
        """The customer's active channel, as recorded on the customer."""
        if self.active_channel_id is None or self.active_agent_id is None:
            return None
        return Channel(
            channel_id=self.active_channel_id,
            customer_id=self.customer_id,
            agent_id=self.active_agent_id,
            status=ACTIVE,
            created_at=self.active_since or "",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.customer_id,
            "username": self.username,
            "role": "customer",
            "active_channel_id": self.active_channel_id,
        }


@dataclass(frozen=True)
class Channel:
    channel_id: str
    customer_id: int
    agent_id: int
    status: str
    created_at: str
    resolved_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel_id": self.channel_id,
            "customer_id": self.customer_id,
            "agent_id": self.agent_id,
            "status": self.status,
            "created_at": self.created_at,
            "resolved_at": self.resolved_at,
        }


@dataclass(frozen=True)
class Message:
    message_id: str
    channel_id: str
    sender_role: str
    sender_id: int
    text: str
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "channel_id": self.channel_id,
            "sender_role": self.sender_role,
            "sender_id": self.sender_id,
            "text": self.text,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class HistoryPage:
    channel: Channel
    messages: list[Message]
    next_cursor: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel.to_dict(),
            "messages": [m.to_dict() for m in self.messages],
            "next_cursor": self.next_cursor,
        }


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
