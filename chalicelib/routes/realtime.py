"""Real-time routes: WebSocket tickets, and the WebSocket and stream handlers' bodies.

``app.py`` registers the handlers (``$connect``, ``$disconnect``, ``$default``,
one stream handler per table, and the webhook queue's consumer); they only
unpack the event and call ``chalicelib.realtime`` and ``chalicelib.webhooks``.
"""

from __future__ import annotations

import logging
from typing import Any

from chalice import Blueprint, Response
from chalice.app import DynamoDBEvent, SQSEvent, WebsocketEvent

from chalicelib import metrics, realtime, webhook_queue, webhooks
from chalicelib.config import get_settings, webhook_signing_secret
from chalicelib.errors import DomainError
from chalicelib.keys import AGENT, CUSTOMER, SUPERVISOR
from chalicelib.models import Principal
from chalicelib.realtime import WsTicket
from chalicelib.routes.common import STATUS, reply, route
from chalicelib.routes.payloads import NoInput, TeamInput
from chalicelib.store import get_store

log = logging.getLogger(__name__)

bp = Blueprint(__name__)

TICKET_OK = (200, WsTicket, "Connect to `url` within 60 s; the ticket works once.")


@route(bp, "POST", "/agent/{agent_id}/ws-ticket", role=AGENT, body=NoInput, ok=TICKET_OK)
def agent_ticket(caller: Principal, _fields: NoInput) -> Response:
    """A single-use WebSocket ticket: the agent's chat and presence events"""
    return reply(realtime.issue_ticket(get_store(), get_settings(), caller))


@route(bp, "POST", "/customer/{customer_id}/ws-ticket", role=CUSTOMER, body=NoInput, ok=TICKET_OK)
def customer_ticket(caller: Principal, _fields: NoInput) -> Response:
    """A single-use WebSocket ticket: the customer's chat events"""
    return reply(realtime.issue_ticket(get_store(), get_settings(), caller))


@route(bp, "POST", "/supervisor/{supervisor_id}/ws-ticket", role=SUPERVISOR, body=TeamInput, ok=TICKET_OK)
def supervisor_ticket(caller: Principal, fields: TeamInput) -> Response:
    """A single-use WebSocket ticket: the team's chat and presence events (never messages)"""
    return reply(realtime.issue_ticket(get_store(), get_settings(), caller, team=fields.team))


def on_connect(event: WebsocketEvent) -> dict[str, Any]:
    """``$connect``: the ``ticket`` query parameter must be a live ticket; anything else is refused."""
    query = event.to_dict().get("queryStringParameters") or {}
    ticket = query.get("ticket") or ""
    endpoint = f"https://{event.domain_name}/{event.stage}"
    try:
        realtime.connect(get_store(), get_settings(), ticket, event.connection_id, endpoint)
    except DomainError as error:
        log.info("connection %s refused: %s", event.connection_id, error.code)
        status = next(code for cls, code in STATUS.items() if isinstance(error, cls))
        return {"statusCode": status}
    return {"statusCode": 200}


def on_disconnect(event: WebsocketEvent) -> None:
    realtime.disconnect(get_store(), event.connection_id)


def on_message(_event: WebsocketEvent) -> None:
    """``$default``: the socket only carries events to the client; what clients send is ignored."""


def on_stream(event: DynamoDBEvent) -> None:
    """A batch of stream records (users or chats table): queue their webhooks, push their events, then
    write their metrics. Queueing comes first and raises on failure: the batch is retried (at least once)."""
    settings = get_settings()
    events = realtime.events_of(event.to_dict()["Records"])
    if settings.webhook_urls and (queue := webhook_queue.queue_for(settings)) is not None:
        webhooks.enqueue(queue, events, settings.webhook_urls)
    realtime.push(get_store(), events + realtime.queue_moves(get_store(), settings, events))
    if settings.metrics_namespace is not None:
        replies = realtime.first_replies(get_store(), events)
        metrics.emit(metrics.to_metrics(events, replies), settings.metrics_namespace)


def on_webhook_delivery(event: SQSEvent) -> dict[str, Any]:
    """The webhook queue's consumer: deliver each message. A failed one is shown again after its
    backoff and reported as a batch item failure (``ReportBatchItemFailures``): not raised, so no
    stack trace is logged; after ``MAX_RECEIVES`` receives the redrive policy dead-letters it."""
    settings = get_settings()
    queue = webhook_queue.queue_for(settings)
    failures = []
    for record in event:
        receives = int(record.to_dict().get("attributes", {}).get("ApproximateReceiveCount", "1"))
        try:
            webhooks.deliver(
                record.body,
                webhook_signing_secret(settings),
                urls=settings.webhook_urls,
                allow_private=settings.webhook_allow_private,
            )
        except webhooks.DeliveryFailed as failure:
            last = receives >= webhooks.MAX_RECEIVES
            wait = 0 if last else webhooks.backoff_seconds(receives)
            log.warning(
                "webhook delivery failed (receive %d of %d): %s; %s",
                receives,
                webhooks.MAX_RECEIVES,
                failure,
                "to the dead-letter queue" if last else f"next in {wait} s",
            )
            if queue is not None:
                queue.retry_later(record.receipt_handle, wait)
            failures.append({"itemIdentifier": record.to_dict().get("messageId", "")})
    return {"batchItemFailures": failures}
