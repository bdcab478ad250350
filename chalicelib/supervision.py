"""Supervision: every agent's state and capacity, the team's active chats, and forcing an agent off."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from chalicelib import clock, queueing, transfers
from chalicelib.config import Settings
from chalicelib.errors import NotFound
from chalicelib.models import AWAY, OFFLINE, Agent, Channel, Principal
from chalicelib.shapes import Out, Shape
from chalicelib.store import Store
from chalicelib.store.agent_expressions import agent_not_found

MAX_TRANSACTION_ITEMS = 100


@dataclass(frozen=True)
class AgentsPage:
    agents: list[Agent]
    next_cursor: str | None

    JSON: ClassVar[Shape] = Shape(
        agents=Out(schema={"description": "Online agents first, least loaded first."}),
        next_cursor=Out(schema={"description": "Pass as `cursor` for the next page."}),
    )

    def to_dict(self) -> dict[str, Any]:
        return self.JSON.dump(self)


@dataclass(frozen=True)
class ChatsPage:
    channels: list[Channel]
    next_cursor: str | None

    JSON: ClassVar[Shape] = Shape(
        channels=Out(schema={"description": "Oldest first."}),
        next_cursor=Out(schema={"description": "Pass as `cursor` for the next page."}),
    )

    def to_dict(self) -> dict[str, Any]:
        return self.JSON.dump(self)


@dataclass(frozen=True)
class QueueEntryView:
    channel_id: str
    customer_id: int
    queued_at: str
    declined_by: int | None = None

    JSON: ClassVar[Shape] = Shape(
        channel_id=Out(),
        customer_id=Out(),
        queued_at=Out(schema={"description": "When it joined the queue (UTC, ISO 8601)."}),
        declined_by=Out(optional=True, schema={"description": "The agent who put it back: not offered to it again."}),
    )


@dataclass(frozen=True)
class QueuePage:
    team: str
    queued: int
    entries: list[QueueEntryView]
    next_cursor: str | None

    JSON: ClassVar[Shape] = Shape(
        team=Out(),
        queued=Out(schema={"minimum": 0, "description": "Chats waiting in the team's queue."}),
        entries=Out(schema={"description": "Head first: the next chat to be assigned comes first."}),
        next_cursor=Out(schema={"description": "Pass as `cursor` for the next page."}),
    )

    def to_dict(self) -> dict[str, Any]:
        return self.JSON.dump(self)


def agents(store: Store, caller: Principal, limit: int, cursor: str | None, team: str | None = None) -> AgentsPage:
    """One page of the team's agents with status, load, capacity, last seen and sessions.

    The page comes from the load index; the agents' own items (last seen,
    sessions) are read in the same round trip as the token check.
    """
    loads, next_cursor = store.load_index.page(limit, cursor, team)
    found = store.read(*(store.agents.ref(a.agent_id) for a in loads), caller=caller)
    return AgentsPage([agent for agent in found if agent is not None], next_cursor)


def active_chats(store: Store, caller: Principal, limit: int, cursor: str | None, team: str | None = None) -> ChatsPage:
    """One page of a team's active chats, oldest first."""
    store.read(caller=caller)
    channels, next_cursor = store.channels.active_page(limit, cursor, team)
    return ChatsPage(channels, next_cursor)


def queue(
    store: Store, settings: Settings, caller: Principal, limit: int, cursor: str | None, team: str | None = None
) -> QueuePage:
    """One page of a team's queue, head first, and how many chats wait in it."""
    team = team or settings.agent_pool
    store.read(caller=caller)
    entries, next_cursor = store.queues.page(team, limit, cursor)
    views = [QueueEntryView(e.channel_id, e.customer_id, e.queued_at, e.declined_by) for e in entries]
    return QueuePage(team, max(0, store.queues.state(team, clock.now()).queued), views, next_cursor)


def update_agent(
    store: Store, settings: Settings, caller: Principal, agent_id: int, *, max_chats: int | None, status: str | None
) -> Agent:
    """Set an agent's capacity and/or force it ``away`` or ``offline``.

    A lower capacity keeps the agent's chats and gives it no new ones until
    it is below it again; a higher one counts from the next allocation and,
    with a queue, takes queued chats at once. Forcing an agent offline also
    ends its sessions and revokes their tokens (and, with
    ``ON_AGENT_OFFLINE=requeue``, moves its chats).
    """
    (agent,) = store.read(store.agents.ref(agent_id), caller=caller)
    if agent is None:
        raise agent_not_found(agent_id)
    try:
        if max_chats is not None:
            agent = store.agents.set_capacity(agent_id, max_chats)
        if status == AWAY:
            agent = store.agents.set_status(agent_id, AWAY)
        elif status == OFFLINE:
            entries = sorted(agent.session_entries)
            for start in range(0, len(entries), MAX_TRANSACTION_ITEMS):
                chunk = entries[start : start + MAX_TRANSACTION_ITEMS]
                store.transaction().add(*(store.tokens.revoke_session(agent_id, e) for e in chunk)).commit()
            agent = store.agents.set_status(agent_id, OFFLINE, end_sessions=True)
    except NotFound:
        raise agent_not_found(agent_id) from None
    if (
        max_chats is not None
        and status is None
        and agent.has_free_slot(clock.now() - settings.presence_timeout_seconds)
    ):
        agent = queueing.became_available(store, settings, agent)
    if status == OFFLINE:
        transfers.reassign_chats_of(store, settings, agent_id)
    return agent
