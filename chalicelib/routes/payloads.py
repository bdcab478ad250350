"""The API's request inputs and its own replies, each declared once (see ``chalicelib.shapes``).

Input classes are what a view receives, already parsed and validated; the
OpenAPI request schemas and query parameters are generated from the same
classes. Reply classes are the responses that are not domain values
(``chalicelib.models`` declares those): their JSON and their schemas come from
their ``JSON`` shape.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from chalicelib.errors import InvalidInput
from chalicelib.fields import (
    choice_field,
    cursor_field,
    device_token_field,
    id_field,
    idempotency_key_header,
    number_field,
    page_limit_field,
    password_field,
    sortable_id_field,
    team_field,
    text_field,
    username_field,
    wait_field,
)
from chalicelib.models import ACTIVE, AWAY, OFFLINE, ONLINE, Channel
from chalicelib.shapes import Const, Out, Shape

# The defaults of MAX_MESSAGE_CHARS and HISTORY_PAGE_SIZE (chalicelib/config.py), as the
# document states them; a deployment may change them (tests/unit/test_openapi_document.py checks these).
DOCUMENTED_MAX_MESSAGE_CHARS = 4000
DOCUMENTED_PAGE_SIZE = 50
MAX_CHATS_LIMIT = 50  # the largest capacity a supervisor may give an agent
# The longest long-poll of history (API Gateway ends a request after 29 s).
MAX_WAIT_SECONDS = 20
# A page of a user's own chats (GET /customer/{id}/chats, /agent/{id}/chats): default and largest.
CHATS_PAGE_SIZE = 20
MAX_CHATS_PAGE = 100

# -- inputs -------------------------------------------------------------------


@dataclass(frozen=True)
class LoginInput:
    username: str = username_field()
    password: str = password_field()
    device_token: str | None = device_token_field()


@dataclass(frozen=True)
class NoInput:
    """No fields; an empty body is fine."""


def _text() -> Any:
    return text_field(
        wire="text_message",
        setting="max_message_chars",
        documented_max=DOCUMENTED_MAX_MESSAGE_CHARS,
        description="Not blank; no control characters but tab and newlines.",
    )


def _idempotency_key() -> Any:
    return idempotency_key_header(
        description="Repeat a send safely: the same key within 24 h stores nothing and answers 200 "
        "with the first message."
    )


@dataclass(frozen=True)
class AgentSendInput:
    customer_id: int = id_field(wire="RecipientID", required=True)
    text: str = _text()
    idempotency_key: str | None = _idempotency_key()


@dataclass(frozen=True)
class CustomerSendInput:
    text: str = _text()
    idempotency_key: str | None = _idempotency_key()


@dataclass(frozen=True)
class ResolveInput:
    """`customer_id` (their active chat) or `channel_id`."""

    customer_id: int | None = id_field()
    channel_id: str | None = sortable_id_field()

    REQUIRE_ONE_OF: ClassVar[tuple[str, ...]] = ("customer_id", "channel_id")


def _limit() -> Any:
    return page_limit_field(default_setting="history_page_size", documented_default=DOCUMENTED_PAGE_SIZE)


def _cursor() -> Any:
    return sortable_id_field(description="The `next_cursor` of the previous page.")


@dataclass(frozen=True)
class AgentHistoryInput:
    channel_id: str | None = sortable_id_field(description="The chat (active or resolved).")
    customer_id: int | None = id_field(description="Without channel_id: this customer's active chat.")
    agent_id: int | None = id_field(description="Optional; must equal the path.")
    limit: int = _limit()
    cursor: str | None = _cursor()
    wait: int = wait_field(maximum=MAX_WAIT_SECONDS)


@dataclass(frozen=True)
class CustomerHistoryInput:
    channel_id: str | None = sortable_id_field(description="The chat (active or resolved).")
    limit: int = _limit()
    cursor: str | None = _cursor()
    wait: int = wait_field(maximum=MAX_WAIT_SECONDS)


@dataclass(frozen=True)
class PresenceInput:
    status: str = choice_field(
        (ONLINE, AWAY), required=True, description="online: takes new chats; away: keeps its chats, gets no new ones."
    )


@dataclass(frozen=True)
class InitiateInput:
    team: str = team_field()


@dataclass(frozen=True)
class TeamInput:
    team: str = team_field()


@dataclass(frozen=True)
class PageInput:
    team: str = team_field()
    limit: int = _limit()
    cursor: str | None = cursor_field()


@dataclass(frozen=True)
class SupervisorChatsInput:
    status: str | None = choice_field((ACTIVE,), default=ACTIVE, description="Which chats (default active).")
    team: str = team_field()
    limit: int = _limit()
    cursor: str | None = cursor_field()


@dataclass(frozen=True)
class OwnChatsInput:
    limit: int = page_limit_field(documented_default=CHATS_PAGE_SIZE, maximum=MAX_CHATS_PAGE, items="Chats")
    cursor: str | None = cursor_field()


@dataclass(frozen=True)
class AgentSettingsInput:
    """`max_chats` and/or `status`."""

    max_chats: int | None = number_field(0, MAX_CHATS_LIMIT, description="Its capacity: new chats only below it.")
    status: str | None = choice_field((AWAY, OFFLINE), description="Force it away, or offline (ends its sessions).")

    REQUIRE_ONE_OF: ClassVar[tuple[str, ...]] = ("max_chats", "status")


QUEUE = "queue"


@dataclass(frozen=True)
class TransferTargetInput:
    """`to_agent_id`, or `to` = `queue`."""

    to_agent_id: int | None = id_field(description="The agent to take it: online, below its capacity, same team.")
    to: str | None = choice_field(
        (QUEUE,), description="queue: another agent of the team with a free slot, else back to the head of the queue."
    )

    REQUIRE_ONE_OF: ClassVar[tuple[str, ...]] = ("to_agent_id", "to")


@dataclass(frozen=True)
class TransferInput(TransferTargetInput):
    """`channel_id` or `customer_id` (the chat); `to_agent_id`, or `to` = `queue`."""

    channel_id: str | None = sortable_id_field(description="The chat to move.")
    customer_id: int | None = id_field(description="Without channel_id: this customer's active chat.")

    REQUIRE_ONE_OF: ClassVar[tuple[str, ...]] = ("channel_id", "customer_id")


def transfer_target(fields: TransferTargetInput) -> tuple[int | None, bool]:
    """``(to_agent_id, to_queue)``; exactly one of them must be given."""
    if fields.to_agent_id is None and fields.to is None:
        raise InvalidInput("to_agent_id (or to = queue) is required", field="to_agent_id")
    if fields.to_agent_id is not None and fields.to is not None:
        raise InvalidInput("send to_agent_id or to, not both", field="to")
    return fields.to_agent_id, fields.to == QUEUE


# -- replies ------------------------------------------------------------------


@dataclass(frozen=True)
class Health:
    status: str = "ok"

    JSON: ClassVar[Shape] = Shape(status=Const("ok"))

    def to_dict(self) -> dict[str, Any]:
        return self.JSON.dump(self)


@dataclass(frozen=True)
class ActiveChats:
    agent_id: int
    channels: list[Channel]

    JSON: ClassVar[Shape] = Shape(agent_id=Out(), channels=Out(schema={"description": "Oldest first."}))

    def to_dict(self) -> dict[str, Any]:
        return self.JSON.dump(self)


@dataclass(frozen=True)
class LoggedOut:
    id: int
    role: str
    status: str | None = None  # agents only: they go offline

    JSON: ClassVar[Shape] = Shape(
        logged_out=Const(True),
        id=Out(),
        role=Out(schema={"enum": ["agent", "customer", "supervisor"]}),
        status=Out(optional=True, schema={"type": "string", "enum": [ONLINE, AWAY, OFFLINE]}),
    )

    def to_dict(self) -> dict[str, Any]:
        return self.JSON.dump(self)


@dataclass(frozen=True)
class ErrorDetail:
    code: str
    message: str
    field: str | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    JSON: ClassVar[Shape] = Shape(
        code=Out(schema={"examples": ["active_chat_exists"]}),
        message=Out(),
        field=Out(optional=True, schema={"type": "string", "description": "The input at fault, if one is."}),
        details=Out(optional=True),
    )


@dataclass(frozen=True)
class ErrorReply:
    """Every error answer: ``{"error": {"code", "message", "field"?, "details"?}}``."""

    error: ErrorDetail

    JSON: ClassVar[Shape] = Shape("Error", error=Out())

    def to_dict(self) -> dict[str, Any]:
        return self.JSON.dump(self)
