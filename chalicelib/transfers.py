"""Moving an active chat: a transfer to a named agent or back to the queue, and the reassignment
of an agent's chats when it goes offline (``ON_AGENT_OFFLINE=requeue``).

Every move is one transaction: the chat changes agent (or is queued again),
the customer's pointer follows, the target takes a slot on condition it is
available and below its capacity, and the slot the source agent frees does
what any freed slot does (``chalicelib.queueing.free_slot``: the first queued
chat may take it). The history gets a system entry, and the chat's
``assignment`` says why it moved.
"""

from __future__ import annotations

import dataclasses
import logging

from chalicelib import clock, keys
from chalicelib.allocation import choose_agent, with_overflow_proof
from chalicelib.channels import CANDIDATES, customer_active_channel, named_channel, team_of
from chalicelib.config import Settings
from chalicelib.errors import Conflict, InvalidInput
from chalicelib.models import (
    ACTIVE,
    QUEUED,
    Agent,
    AgentLoad,
    Assignment,
    Channel,
    Choice,
    Message,
    Principal,
    Rule,
    iso_seconds,
)
from chalicelib.queueing import MAX_QUEUE_PROOF, candidate, free_slot, recorded, system_entry
from chalicelib.store import Stale, Store
from chalicelib.store.agent_expressions import AgentGone, agent_not_found
from chalicelib.store.dynamo import store_busy
from chalicelib.store.queues import QueueEntry, StateChange
from chalicelib.store.transaction import stale

log = logging.getLogger(__name__)

MOVE_ATTEMPTS = 8
# A transaction holds 100 items; a move uses up to 10 of its own (the chat, its customer, both
# agents, the token, a system entry, and a queued chat the freed slot takes with its 4 items).
MAX_PROOF_IN_A_MOVE = 90


def transfer(
    store: Store,
    settings: Settings,
    caller: Principal,
    *,
    channel_id: str | None = None,
    customer_id: int | None = None,
    to_agent_id: int | None = None,
    to_queue: bool = False,
) -> Channel:
    """Move an active chat (named by channel, or by its customer) to ``to_agent_id``, or back to
    the team's queue. An agent moves its own chats; a supervisor any chat.

    ``to_queue``: another agent of the team with a free slot gets it at once;
    else it waits at the head of the queue, not offered to the agent who put
    it back. Raises ``InvalidInput`` (to itself), ``NotFound`` (chat or agent),
    ``Forbidden`` (another agent's chat), ``Conflict`` (not active, target
    offline, away, full or in another team, no queue).
    """
    if to_queue and not settings.queueing:
        raise Conflict("there is no queue (ROUTING_OVERFLOW is seed)", code="queue_disabled")
    by = f"{caller.role}#{caller.user_id}"
    for _ in range(MOVE_ATTEMPTS):
        channel = _active_chat(store, caller, channel_id, customer_id)
        assert channel.agent_id is not None
        try:
            if to_queue:
                return _to_next(store, settings, caller, channel, reason="transfer", by=by)
            assert to_agent_id is not None
            if to_agent_id == channel.agent_id:
                raise InvalidInput("the chat is already with this agent", field="to_agent_id")
            (target,) = store.read(store.agents.ref(to_agent_id), caller=caller)
            return _to_agent(store, settings, caller, channel, target, to_agent_id, by=by)
        except AgentGone as gone:  # online in the index, silent too long: offline now; choose again
            store.agents.expire(gone.agent_id, int(clock.now()) - settings.presence_timeout_seconds)
        except Stale:
            continue  # the chat, the source or the queue changed meanwhile: read again
    raise store_busy()


def _active_chat(store: Store, caller: Principal, channel_id: str | None, customer_id: int | None) -> Channel:
    """The active chat named by ``channel_id`` (or the open chat of ``customer_id``), as stored;
    the caller must take part in it (supervisors: any chat)."""
    if channel_id is None:
        assert customer_id is not None
        channel_id = customer_active_channel(store, caller, customer_id).channel_id
    channel = named_channel(store, caller, channel_id, customer_id)
    if channel.status == QUEUED:
        raise Conflict("the chat is waiting in the queue; no agent has it yet", code="chat_queued")
    if channel.status != ACTIVE:
        raise Conflict("the chat is already resolved", code="already_resolved")
    return channel


def _to_agent(
    store: Store,
    settings: Settings,
    caller: Principal | None,
    channel: Channel,
    target: Agent | None,
    to_agent_id: int,
    *,
    by: str | None,
    reason: str = "transfer",
) -> Channel:
    now = clock.now()
    fresh_after = int(now) - settings.presence_timeout_seconds
    if target is None:
        raise agent_not_found(to_agent_id)
    if (target.team or settings.agent_pool) != team_of(channel, settings):
        raise Conflict(f"agent {to_agent_id} is in another team", code="other_team")
    if not target.has_free_slot(fresh_after):
        raise _unavailable(to_agent_id)
    load = AgentLoad(target.agent_id, target.status, target.active_count, target.last_assigned_at, target.max_chats)
    return _move(store, settings, caller, channel, Choice(load, Rule.UNDER_CAP), [load], reason=reason, by=by,
                 rule="chosen")  # fmt: skip


def _unavailable(agent_id: int) -> Conflict:
    return Conflict(f"agent {agent_id} is not online with a free slot", code="agent_unavailable")


def _move(
    store: Store,
    settings: Settings,
    caller: Principal | None,
    channel: Channel,
    choice: Choice,
    seen: list[AgentLoad],
    *,
    reason: str,
    by: str | None,
    rule: str,
) -> Channel:
    """One transaction: the chat and its customer follow ``choice.agent``, which takes a slot on
    the choice's condition; the source's freed slot does what ``free_slot`` says."""
    assert channel.agent_id is not None
    cap = settings.allocation_cap
    now = clock.now()
    fresh_after = int(now) - settings.presence_timeout_seconds
    at = keys.now_iso()
    to_agent = choice.agent.agent_id
    assignment = Assignment(
        reason=reason, rule=rule, agent_id=to_agent, at=at, by=by, candidates=recorded(seen, to_agent, cap)
    )
    take = store.agents.take_slot(choice, cap, at, fresh_after).named("target")
    if rule == "chosen":
        take = take.failing_as(lambda _current: _unavailable(to_agent))
    freed = free_slot(store, settings, channel.agent_id, team_of(channel, settings), now)
    text = f"Transferred from agent {channel.agent_id} to agent {to_agent}" + (
        f" ({reason})." if reason != "transfer" else "."
    )
    transaction = store.transaction(caller, on_conflict=stale).add(
        store.channels.move(channel.channel_id, channel.agent_id, to_agent, assignment),
        store.customers.point_to_agent(channel.customer_id, channel.channel_id, to_agent),
        take,
        *store.agents.still_full(choice.must_be_full, cap, fresh_after),
        *freed.items,
        store.messages.put(system_entry(channel.channel_id, "transferred", text)),
    )
    if freed.state:
        transaction.add(store.queues.change_state(team_of(channel, settings), freed.state, now))
    transaction.commit()
    log.info("channel %s moved from agent %d to agent %d (%s)", channel.channel_id, channel.agent_id, to_agent, reason)
    return dataclasses.replace(channel, agent_id=to_agent, assignment=assignment)


def _to_next(
    store: Store,
    settings: Settings,
    caller: Principal | None,
    channel: Channel,
    *,
    reason: str,
    by: str | None,
) -> Channel:
    """To another agent of the team with a free slot; else (with a queue) back to the head of the
    queue; else (without one) by rule 2 to the least-loaded other online agent."""
    assert channel.agent_id is not None
    source = channel.agent_id
    cap = settings.allocation_cap
    team = team_of(channel, settings)
    now = clock.now()
    state = store.queues.state(team, now) if settings.queueing else None  # before the agents
    seen = [a for a in store.load_index.candidates(CANDIDATES, team) if a.agent_id != source]
    choice = choose_agent(seen, cap)
    if choice is not None and choice.rule is Rule.UNDER_CAP:
        return _move(store, settings, caller, channel, choice, seen, reason=reason, by=by, rule=choice.rule.value)
    online = [a for a in store.load_index.online(MAX_QUEUE_PROOF + 1, team) if a.agent_id != source]
    choice = choose_agent(online, cap)
    if choice is not None and choice.rule is Rule.UNDER_CAP:
        return _move(store, settings, caller, channel, choice, online, reason=reason, by=by, rule=choice.rule.value)
    if state is None:
        if choice is None or choice.rule is not Rule.OVERFLOW:
            raise Conflict("no other agent is online to take the chat", code="no_other_agent")
        choice = with_overflow_proof(choice, online, MAX_PROOF_IN_A_MOVE)
        return _move(store, settings, caller, channel, choice, online, reason=reason, by=by, rule=choice.rule.value)
    return _requeue(store, settings, caller, channel, online, state.freed, reason=reason, by=by)


def _requeue(
    store: Store,
    settings: Settings,
    caller: Principal | None,
    channel: Channel,
    online: list[AgentLoad],
    freed_seen: int,
    *,
    reason: str,
    by: str | None,
) -> Channel:
    """Back to the head of the queue: on condition every other online agent is full and none
    became available since ``freed_seen``. Not offered again to an agent who put it back."""
    assert channel.agent_id is not None
    source = channel.agent_id
    cap = settings.allocation_cap
    team = team_of(channel, settings)
    now = clock.now()
    fresh_after = int(now) - settings.presence_timeout_seconds
    at = keys.now_iso()
    entry_id = keys.new_id()
    declined = source if reason != "agent_offline" else None
    entry = QueueEntry(team, keys.queue_entry_sk(keys.HEAD_PRIORITY, entry_id), channel.channel_id,
                       channel.customer_id, at, declined_by=declined)  # fmt: skip
    assignment = Assignment(
        reason=reason, rule="queue", agent_id=None, at=at, by=by, candidates=tuple(candidate(a, cap) for a in online)
    )
    proof = tuple(sorted(online, key=lambda a: (a.active_count, a.agent_id))[:MAX_PROOF_IN_A_MOVE])
    freed = free_slot(store, settings, source, team, now)
    transaction = store.transaction(caller, on_conflict=stale).add(
        store.channels.requeue(channel.channel_id, source, entry.sk, assignment),
        store.customers.point_to_agent(channel.customer_id, channel.channel_id, None),
        store.queues.put(entry, label="queue_entry_new"),
        *store.agents.still_full(proof, cap, fresh_after),
        *freed.items,
        store.messages.put(system_entry(channel.channel_id, "requeued", f"Back in the queue ({reason}).")),
    )
    state = StateChange(queued=1, enqueued=1, if_freed=freed_seen) + freed.state
    transaction.add(store.queues.change_state(team, state, now))
    transaction.commit()
    log.info("channel %s back in the queue of team %s (%s)", channel.channel_id, team, reason)
    return dataclasses.replace(channel, agent_id=None, status=QUEUED, assignment=assignment, queue_entry=entry.sk)


def reassign_chats_of(store: Store, settings: Settings, agent_id: int, reason: str = "agent_offline") -> list[str]:
    """With ``ON_AGENT_OFFLINE=requeue``: move every active chat of ``agent_id`` (which went
    offline) to another agent by the rules, else to the head of the queue. Stops if the agent
    comes back. Returns the channel ids moved."""
    if settings.on_agent_offline != "requeue":
        return []
    moved = []
    for channel in store.channels.active_for(agent_id):
        for _ in range(MOVE_ATTEMPTS):
            now = clock.now()
            (agent, current) = store.read(store.agents.ref(agent_id), store.channels.ref(channel.channel_id))
            fresh_after = int(now) - settings.presence_timeout_seconds
            if agent is None or agent.available(fresh_after):
                return moved  # back online: it keeps its chats
            if current is None or current.status != ACTIVE or current.agent_id != agent_id:
                break
            try:
                _to_next(store, settings, None, current, reason=reason, by=None)
            except AgentGone as gone:
                store.agents.expire(gone.agent_id, fresh_after)
                continue
            except Stale:
                continue
            except Conflict:
                break  # nobody else to take it: it stays
            moved.append(channel.channel_id)
            break
    return moved


# Messages read back per chat to find when the customer started waiting (a longer run counts as this long).
REPLY_LOOKBACK = 20


def waiting_since(messages: list[Message]) -> str | None:
    """When the customer started waiting for a reply: the first of the customer's messages after
    the last one from anyone else (an agent, or a system entry such as a transfer); ``None`` if
    the last message is not the customer's. ``messages`` newest first."""
    since = None
    for message in messages:
        if message.sender_role != keys.CUSTOMER:
            break
        since = message.created_at
    return since


def reply_timeouts(store: Store, settings: Settings) -> list[str]:
    """With ``REPLY_TIMEOUT_SECONDS``: move every active chat whose customer has waited that long
    for a reply to another agent by the rules (with a queue: else back to its head, not offered to
    the silent agent again). The sweep runs it; returns the channel ids moved."""
    if not settings.reply_timeout_seconds:
        return []
    deadline = iso_seconds(clock.now() - settings.reply_timeout_seconds)
    moved = []
    for team in settings.teams:
        cursor = None
        while True:
            channels, cursor = store.channels.active_page(100, cursor, team)
            for channel in channels:
                since = waiting_since(store.messages.latest(channel.channel_id, REPLY_LOOKBACK))
                if since is None or since > deadline:
                    continue
                try:
                    _to_next(store, settings, None, channel, reason="reply_timeout", by=None)
                except AgentGone as gone:
                    store.agents.expire(gone.agent_id, int(clock.now()) - settings.presence_timeout_seconds)
                    continue  # the next sweep looks again
                except (Stale, Conflict):
                    continue  # it changed, or nobody else can take it: the next sweep looks again
                moved.append(channel.channel_id)
            if cursor is None:
                break
    if moved:
        log.info("reply timeout: channels %s moved", moved)
    return moved
