"""Agent routes: login, active chats, history, send, resolve, logout."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import channels, inputs, messages, sessions
from chalicelib.config import get_settings
from chalicelib.errors import InvalidInput
from chalicelib.keys import AGENT
from chalicelib.routes import common
from chalicelib.routes.common import (
    CONTENT_TYPES,
    api_view,
    authenticate,
    current_request,
    json,
    params,
)
from chalicelib.store import get_store

bp = Blueprint(__name__)


@bp.route("/agent/login", methods=["POST"], content_types=CONTENT_TYPES)
@api_view
def login() -> Response:
    return common.login(AGENT)


@bp.route("/agent/{agent_id}/chat/active", methods=["GET"], content_types=CONTENT_TYPES)
@api_view
def active_chats(agent_id: str) -> Response:
    principal = authenticate(current_request(), AGENT, agent_id)
    chats = channels.active_chats(get_store(), principal)
    return json({"agent_id": principal.user_id, "channels": [c.to_dict() for c in chats]})


@bp.route("/agent/{agent_id}/chat", methods=["GET"], content_types=CONTENT_TYPES)
@api_view
def history(agent_id: str) -> Response:
    principal = authenticate(current_request(), AGENT, agent_id)
    fields = params(current_request())
    claimed_agent = fields.id("agent_id", required=False)
    if claimed_agent is not None and claimed_agent != principal.user_id:
        raise InvalidInput("agent_id does not match the path", field="agent_id")
    channel_id, customer_id = fields.sortable_id("channel_id"), fields.id("customer_id", required=False)
    page = channels.history(
        get_store(),
        principal,
        channel_id=channel_id,
        customer_id=customer_id,
        limit=fields.limit("limit", get_settings().history_page_size, 500),
        after=fields.sortable_id("cursor"),
    )
    return json(page.to_dict())


@bp.route("/agent/{agent_id}/chat/send", methods=["POST"], content_types=CONTENT_TYPES)
@api_view
def send(agent_id: str) -> Response:
    request = current_request()
    principal = authenticate(request, AGENT, agent_id)
    fields = params(request)
    message, created = messages.send(
        get_store(),
        principal,
        customer_id=fields.id("RecipientID"),
        text=fields.text("text_message", get_settings().max_message_chars),
        idempotency_key=inputs.idempotency_key(request.headers.get("idempotency-key")),
    )
    return json(message.to_dict(), 201 if created else 200)


@bp.route("/agent/{agent_id}/chat/resolve", methods=["POST"], content_types=CONTENT_TYPES)
@api_view
def resolve(agent_id: str) -> Response:
    principal = authenticate(current_request(), AGENT, agent_id)
    fields = params(current_request())
    channel_id, customer_id = fields.sortable_id("channel_id"), fields.id("customer_id", required=False)
    if channel_id is None and customer_id is None:
        raise InvalidInput("customer_id is required", field="customer_id")
    channel = channels.resolve(get_store(), principal, customer_id=customer_id, channel_id=channel_id)
    return json(channel.to_dict())


@bp.route("/agent/{agent_id}/logout", methods=["PUT"], content_types=CONTENT_TYPES)
@api_view
def logout(agent_id: str) -> Response:
    principal = authenticate(current_request(), AGENT, agent_id)
    sessions.logout(get_store(), principal)
    return json({"logged_out": True, "id": principal.user_id, "role": AGENT, "status": "offline"})
