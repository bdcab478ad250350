"""Presence: heartbeats and the sweep that marks silent agents offline.

An agent is ``online`` (takes new chats), ``away`` (keeps its chats, gets no
new ones) or ``offline``. A heartbeat (``PUT /agent/{id}/presence``, and every
login) records ``last_seen``. An agent silent for ``PRESENCE_TIMEOUT_SECONDS``
is offline for allocation at once: the allocation commit itself requires a
fresh ``last_seen`` (``chalicelib.store.agent_expressions.IS_AVAILABLE``). The
sweep then marks it ``offline`` for everyone to see (on AWS every minute,
under ``make run`` every ``PRESENCE_SWEEP_SECONDS``).
"""

from __future__ import annotations

import logging

from chalicelib import clock, queueing, transfers
from chalicelib.config import Settings
from chalicelib.models import OFFLINE, Agent, Principal
from chalicelib.store import Store
from chalicelib.store.agent_expressions import session_entry

log = logging.getLogger(__name__)

BATCH_READ_KEYS = 100  # BatchGetItem's limit


def heartbeat(store: Store, settings: Settings, caller: Principal, status: str, now: float | None = None) -> Agent:
    """Record that the calling agent's session is alive, in ``status`` (``online`` or ``away``).
    Available again (back from away, or heard from after a silence longer than the timeout),
    with a queue: it takes queued chats into its free slots at once.

    Raises ``Unauthorized`` if the session has ended (logged out, forced off).
    """
    now = clock.now() if now is None else now
    agent, before = store.agents.heartbeat(
        caller.user_id, session_entry(caller.expires_at, caller.jti), status, int(now)
    )
    fresh_after = int(now) - settings.presence_timeout_seconds
    back = agent.available(fresh_after) and not before.available(fresh_after)  # online again, or heard again
    return queueing.became_available(store, settings, agent) if back else agent


def sweep(store: Store, settings: Settings, now: float | None = None) -> list[int]:
    """Mark every present agent whose heartbeat has expired offline; return their ids.

    Then, by the policies: move the chats of agents that went offline
    (``ON_AGENT_OFFLINE``) and of agents that did not reply in time
    (``REPLY_TIMEOUT_SECONDS``), and drain queued chats into free slots.
    """
    now = clock.now() if now is None else now
    fresh_after = int(now) - settings.presence_timeout_seconds
    present = [agent for team in settings.teams for agent in store.load_index.present(team=team)]
    expired = []
    for start in range(0, len(present), BATCH_READ_KEYS):
        chunk = present[start : start + BATCH_READ_KEYS]
        for agent in store.read(*(store.agents.ref(a.agent_id) for a in chunk)):
            silent = agent is not None and agent.status != OFFLINE and (agent.last_seen_epoch or 0) < fresh_after
            if silent and store.agents.expire(agent.agent_id, fresh_after):
                expired.append(agent.agent_id)
    if expired:
        log.info("presence sweep: agents %s went silent; now offline", expired)
    if settings.on_agent_offline == "requeue":  # these, and any an allocation or a crash left behind
        for agent in (a for team in settings.teams for a in store.load_index.offline_with_chats(team=team)):
            transfers.reassign_chats_of(store, settings, agent.agent_id)
    transfers.reply_timeouts(store, settings)
    queueing.sweep(store, settings)  # queued chats next to free slots the index shows, if any
    return expired
