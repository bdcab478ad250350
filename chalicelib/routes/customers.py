"""Customer routes: login, initiate, history, send, logout."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import channels, inputs, messages, sessions
from chalicelib.config import get_settings
from chalicelib.keys import CUSTOMER
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


@bp.route("/customer/login", methods=["POST"], content_types=CONTENT_TYPES)
@api_view
def login() -> Response:
    return common.login(CUSTOMER)


@bp.route("/customer/{customer_id}/chat/initiate", methods=["POST"], content_types=CONTENT_TYPES)
@api_view
def initiate(customer_id: str) -> Response:
    principal = authenticate(current_request(), CUSTOMER, customer_id)
    params(current_request())  # no fields, but the body must still be well formed and small
    channel = channels.initiate(get_store(), get_settings(), principal)
    return json(channel.to_dict(), 201)


@bp.route("/customer/{customer_id}/chat", methods=["GET"], content_types=CONTENT_TYPES)
@api_view
def history(customer_id: str) -> Response:
    principal = authenticate(current_request(), CUSTOMER, customer_id)
    fields = params(current_request())
    page = channels.history(
        get_store(),
        principal,
        channel_id=fields.sortable_id("channel_id"),
        customer_id=None,
        limit=fields.limit("limit", get_settings().history_page_size, 500),
        after=fields.sortable_id("cursor"),
    )
    return json(page.to_dict())


@bp.route("/customer/{customer_id}/chat/send", methods=["POST"], content_types=CONTENT_TYPES)
@api_view
def send(customer_id: str) -> Response:
    request = current_request()
    principal = authenticate(request, CUSTOMER, customer_id)
    fields = params(request)
    message, created = messages.send(
        get_store(),
        principal,
        customer_id=principal.user_id,
        text=fields.text("text_message", get_settings().max_message_chars),
        idempotency_key=inputs.idempotency_key(request.headers.get("idempotency-key")),
    )
    return json(message.to_dict(), 201 if created else 200)


@bp.route("/customer/{customer_id}/logout", methods=["PUT"], content_types=CONTENT_TYPES)
@api_view
def logout(customer_id: str) -> Response:
    principal = authenticate(current_request(), CUSTOMER, customer_id)
    sessions.logout(get_store(), principal)
    return json({"logged_out": True, "id": principal.user_id, "role": CUSTOMER})
