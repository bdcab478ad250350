"""The queue (``ROUTING_OVERFLOW=queue``): what a freed slot does, draining, and a queued chat's place.

Each team has one FIFO queue (``chalicelib.store.queues``). Three rules keep
"no chat waits while an online agent has a free slot" true at every commit,
without a lock:

- **A chat is queued** only with proof that every online agent of the team is
  at its capacity (a ``NO_FREE_SLOT`` check on each, at the commit) and that
  no agent became available since the agents were read (the state's
  ``freed`` is unchanged).
- **A slot that frees** (resolve, leave, transfer away) either takes the
  first chat in the queue in the same transaction (the agent's count does not
  move; the chat becomes active for it), or commits only if no chat was
  queued since the queue was read empty (the state's ``enqueued`` is
  unchanged), or commits only if the agent cannot use the slot anyway (not
  available, or still at its capacity).
- **An agent that becomes available** (login, back from away, more capacity)
  counts in ``freed`` and then takes chats from the head while it has free
  slots (``drain``).

The one window left: on AWS the load index is eventually consistent, so a chat
queued in the instant after an agent came online may miss it (the agent is
not in the proof yet and its drain read the queue before the chat joined).
The presence sweep drains every team's queue into free slots, so such a chat
waits at most one sweep period (a minute on AWS).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from chalicelib import clock, keys
from chalicelib.config import Settings
from chalicelib.models import SYSTEM, Agent, AgentLoad, Assignment, Candidate, Choice, Message, Rule, iso_seconds
from chalicelib.store import Stale, Store
from chalicelib.store.queues import QueueEntry, QueueState, StateChange
from chalicelib.store.transaction import Item, stale

log = logging.getLogger(__name__)

# Entries read to find the first one an agent may take (skipping those it put back itself).
HEAD_READ = 10
# Rounds of one drain: chats taken plus races lost.
MAX_DRAIN_ROUNDS = 20
# A transaction holds 100 items; queueing a chat uses up to 6 of its own.
MAX_QUEUE_PROOF = 94


def system_entry(channel_id: str, kind: str, text: str) -> Message:
    """A history entry written by the service itself (an assignment change, a customer leaving)."""
    return Message(keys.new_id(), channel_id, SYSTEM, 0, text, keys.now_iso(), kind=kind)


def candidate(agent: AgentLoad | Agent, cap: int) -> Candidate:
    capacity = agent.capacity(cap) if isinstance(agent, AgentLoad) else agent.max_chats
    return Candidate(agent.agent_id, agent.status, agent.active_count, capacity)


# How many of the agents a choice was made from its assignment record keeps: the chosen one and the
# least loaded of the others, as read. The choice reads more (``channels.CANDIDATES``) to spread
# concurrent choices; recording them all would take the channel item, and the four chat indexes that
# copy it, past 1 KB, and every write of it would cost more.
RECORDED_CANDIDATES = 8


def recorded(seen: list[AgentLoad], chosen: int, cap: int) -> tuple[Candidate, ...]:
    """The assignment record's candidates: ``chosen`` first, then the others in the order read."""
    first = [a for a in seen if a.agent_id == chosen]
    others = [a for a in seen if a.agent_id != chosen]
    return tuple(candidate(a, cap) for a in (first + others)[:RECORDED_CANDIDATES])


def seconds_between(start: str, end: str) -> float:
    """Seconds from ISO time ``start`` to ``end`` (never negative)."""
    parse = datetime.fromisoformat
    return max(0.0, round((parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds(), 3))


def first_for(entries: list[QueueEntry], agent_id: int) -> QueueEntry | None:
    """The first entry ``agent_id`` may take: not one it put back itself."""
    return next((e for e in entries if e.declined_by != agent_id), None)


def drained(agent: Agent, entry: QueueEntry, cap: int) -> Assignment:
    """The record of ``entry`` taken from the queue by ``agent`` now."""
    at = keys.now_iso()
    return Assignment(
        reason="drain",
        rule="first_in_queue",
        agent_id=agent.agent_id,
        at=at,
        queued_seconds=seconds_between(entry.queued_at, at),
        candidates=(candidate(agent, cap),),
    )


@dataclass(frozen=True)
class Freed:
    """What ending one of an agent's chats does: its items, and what it does to the queue state."""

    items: tuple[Item, ...]
    state: StateChange


def take_items(store: Store, entry: QueueEntry, agent_id: int, assignment: Assignment) -> list[Item]:
    """The items that give queued ``entry`` to ``agent_id`` (its agent item not included)."""
    text = f"Assigned to agent {agent_id} after {assignment.queued_seconds or 0:.0f} s in the queue."
    return [
        store.queues.take(entry),
        store.channels.activate(entry.channel_id, agent_id, entry.team, assignment, label="queued_channel"),
        store.customers.point_to_agent(entry.customer_id, entry.channel_id, agent_id, label="queued_customer"),
        store.messages.put(system_entry(entry.channel_id, "assigned", text)).named("queued_message"),
    ]


def free_slot(
    store: Store, settings: Settings, agent_id: int, team: str, now: float, *, handled_seconds: float | None = None
) -> Freed:
    """The items that count one chat less on ``agent_id``, and what that does to ``team``'s queue.

    Without a queue, a plain release. With one: the first chat the agent may
    take takes the slot (``hand_over``); else the release relies on no chat
    having been queued since the queue was read (``if_enqueued``); or, when the
    agent cannot use the slot, on that still being so. Each fails as ``Stale``.
    The agent and the queue's state are read in one round trip.
    """
    if not settings.queueing:
        return Freed((store.agents.release_slot(agent_id),), StateChange())
    cap = settings.allocation_cap
    fresh_after = int(now) - settings.presence_timeout_seconds
    # The state is read before the entries: every chat counted in it is visible to the query.
    agent, state = store.read(store.agents.ref(agent_id), store.queues.state_ref(team, now))
    if agent is None or not agent.has_free_slot(fresh_after, extra=1):
        return Freed((store.agents.release_slot_unusable(agent_id, cap, fresh_after),), StateChange())
    handled = (handled_seconds,) if handled_seconds is not None else ()
    entry = first_for(store.queues.head(team, HEAD_READ), agent_id)
    if entry is None:
        enqueued = state.enqueued if state else 0
        return Freed((store.agents.release_slot(agent_id),), StateChange(if_enqueued=enqueued, handled=handled))
    assignment = drained(agent, entry, cap)
    items = (
        store.agents.hand_over(agent_id, cap, fresh_after, assignment.at),
        *take_items(store, entry, agent_id, assignment),
    )
    return Freed(items, StateChange(queued=-1, handled=handled))


def became_available(store: Store, settings: Settings, agent: Agent) -> Agent:
    """After ``agent`` came online or got more capacity: count it in the state's ``freed`` (a chat
    being queued on an older reading fails and looks again), then drain; the agent as it is now
    (with the queued chats it took)."""
    if not settings.queueing:
        return agent
    now = clock.now()
    store.transaction(on_conflict=stale).add(
        store.queues.change_state(agent.team or settings.agent_pool, StateChange(freed=1), now)
    ).commit()
    if not drain(store, settings, agent.agent_id):
        return agent
    (now_agent,) = store.read(store.agents.ref(agent.agent_id))
    return now_agent or agent


def drain(store: Store, settings: Settings, agent_id: int) -> list[str]:
    """Give queued chats, head first, to ``agent_id`` while it has free slots; their channel ids."""
    if not settings.queueing:
        return []
    cap = settings.allocation_cap
    taken: list[str] = []
    for _ in range(MAX_DRAIN_ROUNDS):
        now = clock.now()
        fresh_after = int(now) - settings.presence_timeout_seconds
        (agent,) = store.read(store.agents.ref(agent_id))
        if agent is None or not agent.has_free_slot(fresh_after):
            break
        team = agent.team or settings.agent_pool
        entry = first_for(store.queues.head(team, HEAD_READ), agent_id)
        if entry is None:
            break
        assignment = drained(agent, entry, cap)
        at = assignment.at
        load = AgentLoad(agent_id, agent.status, agent.active_count, agent.last_assigned_at, agent.max_chats)
        try:
            store.transaction(on_conflict=stale).add(
                store.agents.take_slot(Choice(load, Rule.UNDER_CAP), cap, at, fresh_after).failing_as(stale),
                *take_items(store, entry, agent_id, assignment),
                store.queues.change_state(team, StateChange(queued=-1), now),
            ).commit()
        except Stale:
            continue  # someone took that entry, or the agent changed: look again
        log.info("queued channel %s assigned to agent %d", entry.channel_id, agent_id)
        taken.append(entry.channel_id)
    return taken


def sweep(store: Store, settings: Settings) -> list[str]:
    """Drain every team's queue into the free slots the load index shows (the safety net for
    the index's lag, and for a drain that did not run to the end)."""
    if not settings.queueing:
        return []
    taken: list[str] = []
    now = clock.now()
    for team in settings.teams:
        if store.queues.state(team, now).queued <= 0:
            continue
        for load in store.load_index.online(MAX_QUEUE_PROOF + 1, team):
            if load.active_count < load.capacity(settings.allocation_cap):
                taken += drain(store, settings, load.agent_id)
    return taken


@dataclass(frozen=True)
class QueueSnapshot:
    team: str
    queued: int
    oldest_wait_seconds: float | None  # the head's time in the queue; None when empty


def snapshots(store: Store, settings: Settings, now: float) -> list[QueueSnapshot]:
    """Each team's queue length and oldest wait (two reads per team), for the sweep's metrics."""
    if not settings.queueing:
        return []
    out = []
    for team in settings.teams:
        queued = max(0, store.queues.state(team, now).queued)
        head = store.queues.head(team, 1) if queued else []
        oldest = seconds_between(head[0].queued_at, iso_seconds(now)) if head else None
        out.append(QueueSnapshot(team, queued, oldest))
    return out


def place(
    store: Store,
    settings: Settings,
    team: str,
    entry_sk: str,
    online: list[AgentLoad] | None = None,
    state: QueueState | None = None,
) -> tuple[int | None, int | None]:
    """A queued chat's position (1 = next) and estimated wait in seconds.

    The estimate is position x mean handle time / the team's online capacity
    (the sum of its online agents' ``max_chats``): each slot frees once per
    handle time on average. The mean handle time is of the chats resolved in
    the current and the previous hour (``DEFAULT_HANDLE_SECONDS`` before any);
    with nobody online there is no estimate (``None``). ``online`` and ``state``:
    what the caller read already.
    """
    position = store.queues.position(team, entry_sk)
    if position is None:
        return None, None
    if state is None:
        state = store.queues.state(team, clock.now())
    if online is None:
        online = store.load_index.online(MAX_QUEUE_PROOF + 1, team)
    return position, estimate_seconds(settings, position, state, online)


def estimate_seconds(settings: Settings, position: int, state: QueueState, online: list[AgentLoad]) -> int | None:
    """The wait estimate of the chat at ``position`` (see ``place``); ``None`` with nobody online. Pure."""
    slots = sum(a.capacity(settings.allocation_cap) for a in online)
    handle = state.mean_handle_seconds() or settings.default_handle_seconds
    return round(position * handle / slots) if slots else None
