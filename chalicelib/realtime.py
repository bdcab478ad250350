"""Real-time push: WebSocket tickets, connections, and sending stream events to them.

- ``issue_ticket``: a single-use ticket (60 s) for an authenticated user, and
  the complete URL to connect with it (no access token in any URL).
- ``connect`` / ``disconnect``: ``$connect`` consumes the ticket and records the
  connection under its user; ``$disconnect`` forgets it.
- ``deliver`` / ``push``: the stream handler. Maps each record to events
  (``chalicelib.events``) and posts each event to every open connection of the
  users it concerns: a chat's agent and customer, or the agent whose presence
  changed. A user's connection only ever receives events of chats its user
  takes part in. A supervisor's connection watches one team: it receives the
  team's events except messages (``Event.supervising_team``). Connections found
  closed (``Gone``) are forgotten. A replayed batch posts the same events again
  with the same ``event_id``s (clients de-duplicate).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

from chalicelib import clock, sockets
from chalicelib.config import Settings
from chalicelib.errors import Unavailable
from chalicelib.events import (
    CHAT_LEFT,
    CHAT_RESOLVED,
    MESSAGE_CREATED,
    Event,
    moves_the_queue,
    position_updates,
    to_events,
)
from chalicelib.keys import AGENT
from chalicelib.models import TIMESTAMP, Principal, iso_seconds
from chalicelib.queueing import MAX_QUEUE_PROOF, estimate_seconds
from chalicelib.shapes import Out, Shape
from chalicelib.store import Store
from chalicelib.store.connections import Connection
from chalicelib.store.tickets import TICKET_TTL_SECONDS

log = logging.getLogger(__name__)

BATCH_GET_LIMIT = 100
# When the queue moves, the chats at its head told their new place (one query of the queue per team and
# batch); the others read theirs (GET /customer/{id}/chat answers it).
POSITION_PUSHES = 20
# The supervisor sockets of one team that receive its events (one query page): bounds a batch's
# posts to (its events) x (participants' sockets + MAX_TEAM_SOCKETS).
MAX_TEAM_SOCKETS = 20
Post = Callable[[str, str, bytes], bool]


@dataclass(frozen=True)
class WsTicket:
    url: str
    expires_at: str

    JSON: ClassVar[Shape] = Shape(
        url=Out(schema={"description": "The complete WebSocket address, with a single-use ticket."}),
        expires_at=Out(schema={**TIMESTAMP, "description": "Connect before this (60 s); the ticket works once."}),
    )

    def to_dict(self) -> dict[str, Any]:
        return self.JSON.dump(self)


def issue_ticket(
    store: Store, settings: Settings, principal: Principal, *, team: str | None = None, now: float | None = None
) -> WsTicket:
    """A new ticket for the caller (committed only while the caller's token is not revoked);
    ``team``: a supervisor's, the team whose events the socket receives."""
    if settings.ws_url is None:
        raise Unavailable("real-time push is not configured in this stage", code="push_unavailable", retry_after=60)
    now = time.time() if now is None else now
    ticket = secrets.token_urlsafe(32)
    store.transaction(principal).add(store.tickets.issue(ticket, principal.role, principal.user_id, now, team)).commit()
    expires = datetime.fromtimestamp(int(now) + TICKET_TTL_SECONDS, UTC)
    return WsTicket(
        url=f"{settings.ws_url}/?{urlencode({'ticket': ticket})}",
        expires_at=expires.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    )


def connect(
    store: Store, settings: Settings, ticket: str, connection_id: str, endpoint: str, *, now: float | None = None
) -> Connection:
    """Consume ``ticket`` and record the connection for its user. Raises ``Unauthorized``
    (``invalid_ticket``) for a ticket that is unknown, used or expired."""
    now = time.time() if now is None else now
    role, user_id, team = store.tickets.consume(ticket, now)
    connection = Connection(connection_id, role, user_id, settings.ws_management_url or endpoint, team)
    store.connections.add(connection, now)
    log.info("connection %s opened for %s %d%s", connection_id, role, user_id, f" (team {team})" if team else "")
    return connection


def disconnect(store: Store, connection_id: str) -> None:
    store.connections.remove(connection_id)


def events_of(records: Iterable[dict[str, Any]]) -> list[Event]:
    """The events of a batch of stream records, in order (pure)."""
    return [event for record in records for event in to_events(record)]


def deliver(store: Store, records: Iterable[dict[str, Any]], *, post: Post = sockets.post) -> int:
    """Push the events of stream ``records``; returns how many posts succeeded."""
    return push(store, events_of(records), post=post)


def push(store: Store, events: list[Event], *, post: Post = sockets.post) -> int:
    """Post each event to its users' connections and to its team's supervisors' (not messages);
    returns how many posts succeeded.

    Cost per batch: one query per distinct user and per distinct team, then one post per event
    and connection; a team's supervisors are read up to ``MAX_TEAM_SOCKETS`` connections."""
    events = _with_participants(store, events)
    audiences: dict[tuple[str, Any], list[Connection]] = {}

    def connections_of(audience: tuple[str, Any]) -> list[Connection]:
        if audience not in audiences:
            kind, who = audience
            audiences[audience] = store.connections.of_user(*who) if kind == "user" else _team_sockets(store, who)
        return audiences[audience]

    sent = 0
    for event in events:
        data = json.dumps(event.to_dict(), separators=(",", ":")).encode()
        targets: list[tuple[str, Any]] = [("user", user) for user in event.audience()]
        if (team := event.supervising_team()) is not None:
            targets.append(("team", team))
        for audience in targets:
            connections = connections_of(audience)
            for connection in list(connections):
                try:
                    sent += post(connection.endpoint, connection.connection_id, data)
                except sockets.Gone:
                    log.info("connection %s is gone: forgotten", connection.connection_id)
                    store.connections.remove(connection.connection_id)
                    connections.remove(connection)
    return sent


def queue_moves(store: Store, settings: Settings, events: list[Event]) -> list[Event]:
    """The place updates of the chats at the head of each team's queue that ``events`` moved.

    Cost: per team moved in the batch, one query of the queue's head, one read of its state and one
    of its online agents (the estimate), whatever the number of events."""
    if not settings.queueing:
        return []
    triggers = {event.team: event for event in events if event.team and moves_the_queue(event)}  # the last
    out: list[Event] = []
    for team, trigger in triggers.items():
        try:
            head = store.queues.head(team, POSITION_PUSHES)
            if not head:
                continue
            read_at = clock.now()
            state = store.queues.state(team, read_at)
            online = store.load_index.online(MAX_QUEUE_PROOF + 1, team)
        except Unavailable:  # a courtesy: never a reason to retry the batch (and push it all again)
            log.warning("queue places of team %s not pushed: the store is busy", team)
            continue
        places = [
            (entry.channel_id, entry.customer_id, n, estimate_seconds(settings, n, state, online))
            for n, entry in enumerate(head, start=1)
        ]
        out += position_updates(trigger, places, iso_seconds(read_at))
    return out


def first_replies(store: Store, events: list[Event]) -> dict[str, str]:
    """When an agent first wrote in each chat that ended in ``events`` (for ``FirstResponseTime``):
    one query per ended chat. A busy store skips them (metrics are a courtesy, not a reason to retry)."""
    out = {}
    for event in events:
        if event.type in (CHAT_RESOLVED, CHAT_LEFT) and event.chat_id:
            try:
                first = store.messages.first_from(event.chat_id, AGENT)
            except Unavailable:
                log.warning("first response of chat %s not measured: the store is busy", event.chat_id)
                continue
            if first is not None:
                out[event.chat_id] = first.created_at
    return out


def _team_sockets(store: Store, team: str) -> list[Connection]:
    connections, more = store.connections.of_team(team, MAX_TEAM_SOCKETS)
    if more:
        log.warning("team %s has over %d supervisor sockets: only the first get its events", team, MAX_TEAM_SOCKETS)
    return connections


def _with_participants(store: Store, events: list[Event]) -> list[Event]:
    """Messages name only their sender: add the chat's agent and customer (one batch read per 100 chats)."""
    chat_ids = sorted({e.chat_id for e in events if e.type == MESSAGE_CREATED and e.chat_id})
    channels = {}
    for start in range(0, len(chat_ids), BATCH_GET_LIMIT):
        chunk = chat_ids[start : start + BATCH_GET_LIMIT]
        for chat_id, channel in zip(chunk, store.read(*(store.channels.ref(c) for c in chunk)), strict=True):
            if channel is not None:
                channels[chat_id] = channel
    out = []
    for event in events:
        if event.type == MESSAGE_CREATED:
            channel = channels.get(event.chat_id or "")
            if channel is None:
                continue
            event = event.with_participants(channel.agent_id, channel.customer_id, channel.team)
        out.append(event)
    return out
