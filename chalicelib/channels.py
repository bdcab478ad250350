"""Channels: initiate (with allocation), resolve, an agent's active list, history."""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable

from chalicelib import clock, keys
from chalicelib.allocation import choose_agent, with_overflow_proof
from chalicelib.config import Settings
from chalicelib.errors import Conflict, Forbidden, InvalidInput, NotFound, Unavailable
from chalicelib.models import (
    ACTIVE,
    QUEUED,
    RESOLVED,
    AgentLoad,
    Assignment,
    Channel,
    Choice,
    HistoryPage,
    Principal,
    Rule,
)
from chalicelib.queueing import (
    MAX_QUEUE_PROOF,
    candidate,
    free_slot,
    place,
    recorded,
    seconds_between,
    system_entry,
)
from chalicelib.store import Stale, Store
from chalicelib.store.agent_expressions import AgentGone
from chalicelib.store.dynamo import store_busy
from chalicelib.store.queues import QueueEntry, QueueState, StateChange
from chalicelib.store.transaction import busy, stale

log = logging.getLogger(__name__)

# How many of the least-loaded agents one allocation reads: enough that concurrent
# allocations spread over the agents tied at the least load instead of colliding on the
# same few (issue 14: 1.05 retries per allocation at 32 clients with 8, 0.22 with 64), and
# independent of how many agents there are. One eventually consistent page of the load
# index: 64 entries of about 100 bytes, 1 read unit (rcu_per_alloc_10k_agents in
# docs/PERFORMANCE.md). The record keeps 8 of them (``queueing.RECORDED_CANDIDATES``).
CANDIDATES = 64
# A transaction holds 100 items; an allocation uses 4 of its own.
MAX_OVERFLOW_CHECKS = 96
# Distinct agents an allocation finds gone before it gives up (each costs one failed commit).
MAX_GONE_PER_ALLOCATION = 16
BACKOFF_BASE_SECONDS = 0.01
BACKOFF_CAP_SECONDS = 0.25
# Reads and commits of one resolve or leave before it gives up (each lost race reads again).
SLOT_ATTEMPTS = 8
# How often a long-polling history read looks again (one query each time).
LONG_POLL_INTERVAL_SECONDS = 0.5


def initiate(
    store: Store,
    settings: Settings,
    principal: Principal,
    *,
    team: str | None = None,
    rng: random.Random | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Channel:
    """Open a channel for the calling customer and assign it to an agent (or queue it).

    Choose by the seed rules (``chalicelib.allocation``) and commit with one
    transaction whose conditions prove the choice; when another writer got
    there first, read again and retry with jittered backoff, up to
    ``settings.allocation_max_attempts`` times. With ``ROUTING_OVERFLOW=queue``,
    a chat no agent has a free slot for is queued instead of rules 2 and 3
    (``chalicelib.queueing``). Raises ``Conflict`` if the customer already has
    an open chat, ``Unavailable`` if no agent exists (without a queue) or the
    commit kept losing races.
    """
    rng = rng or random.Random()  # noqa: S311 - jitter and tie-breaks, not secrets
    team = team or settings.agent_pool  # a team is a shard: its own agents, index partition, queue and proof
    cap = settings.allocation_cap
    attempt = 0
    gone: set[int] = set()
    while attempt < settings.allocation_max_attempts and len(gone) <= MAX_GONE_PER_ALLOCATION:
        now = clock.now()
        fresh_after = int(now) - settings.presence_timeout_seconds
        # The queue's state is read before the agents: an agent available since then fails the queueing.
        state = store.queues.state(team, now) if settings.queueing else None
        choice, seen = _choose(store, cap, rng if attempt else None, team, queueing=settings.queueing)
        try:
            if state is not None and (choice is None or choice.rule is not Rule.UNDER_CAP):
                return _queue(store, settings, principal, team, seen, state, attempt + 1)
            channel = Channel(
                channel_id=keys.new_id(),
                customer_id=principal.user_id,
                agent_id=choice.agent.agent_id,
                status=ACTIVE,
                created_at=keys.now_iso(),
                team=team,
            )
            channel = dataclasses.replace(channel, assignment=_record(channel, choice, seen, cap, attempt + 1))
            commit_assignment(store, principal, channel, choice, cap, fresh_after)
        except AgentGone as silent:
            # Online in the index, but gone (silent too long: offline now, for everyone; or away or
            # offline already). Choosing again right away is no lost race: it uses up no attempt.
            # The same agent gone twice came back in between: another writer changed it, a lost race.
            log.info("agent %d is no longer available", silent.agent_id)
            store.agents.expire(silent.agent_id, fresh_after)
            if silent.agent_id not in gone:
                gone.add(silent.agent_id)
                continue
            sleep(rng.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)))
            attempt += 1
            continue
        except Stale:
            log.info("allocation attempt %d lost a race", attempt + 1)
            sleep(rng.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)))
            attempt += 1
            continue
        log.info("channel %s assigned to agent %s by rule %s", channel.channel_id, channel.agent_id, choice.rule.value)
        return channel
    raise Unavailable(
        "every agent changed while the chat was being assigned; retry",
        code="allocation_contended",
        retry_after=1,
    )


def _record(channel: Channel, choice: Choice, seen: list[AgentLoad], cap: int, attempts: int) -> Assignment:
    return Assignment(
        reason="initiate",
        rule=choice.rule.value,
        agent_id=channel.agent_id,
        at=channel.created_at,
        attempts=attempts,
        candidates=recorded(seen, choice.agent.agent_id, cap),
    )


def commit_assignment(
    store: Store, principal: Principal, channel: Channel, choice: Choice, cap: int, fresh_after: int
) -> None:
    """Create ``channel`` for the customer and count it on the chosen agent, in one transaction
    whose conditions prove the choice. Raises ``Conflict`` / ``NotFound`` (the customer),
    ``Unauthorized`` (token revoked), or ``Stale`` when the choice no longer holds."""
    store.transaction(principal, on_conflict=stale).add(
        store.channels.open(channel),
        store.customers.claim_active_chat(channel),
        store.agents.take_slot(choice, cap, channel.created_at, fresh_after),
        *store.agents.still_full(choice.must_be_full, cap, fresh_after),
    ).commit()


def _queue(
    store: Store,
    settings: Settings,
    principal: Principal,
    team: str,
    online: list[AgentLoad],
    state: QueueState,
    attempts: int,
) -> Channel:
    """Queue a new chat: on condition every online agent read is at its capacity and none became
    available since ``state`` was read (its ``freed``). Raises ``Stale`` (choose again) or the
    customer's errors."""
    cap = settings.allocation_cap
    fresh_after = int(clock.now()) - settings.presence_timeout_seconds
    proof = tuple(sorted(online, key=lambda a: (a.active_count, a.agent_id))[:MAX_QUEUE_PROOF])
    created_at = keys.now_iso()
    channel_id = keys.new_id()
    entry = QueueEntry(
        team, keys.queue_entry_sk(keys.NEW_PRIORITY, channel_id), channel_id, principal.user_id, created_at
    )
    assignment = Assignment(
        reason="initiate", rule="queue", agent_id=None, at=created_at, attempts=attempts,
        candidates=tuple(candidate(a, cap) for a in online),
    )  # fmt: skip
    channel = Channel(
        channel_id=channel_id,
        customer_id=principal.user_id,
        agent_id=None,
        status=QUEUED,
        created_at=created_at,
        team=team,
        assignment=assignment,
        queue_entry=entry.sk,
    )
    now = clock.now()
    store.transaction(principal, on_conflict=stale).add(
        store.channels.open(channel, queue_entry=entry.sk),
        store.customers.claim_active_chat(channel),
        store.queues.put(entry),
        store.queues.change_state(team, StateChange(queued=1, enqueued=1, if_freed=state.freed), now),
        store.messages.put(system_entry(channel_id, "queued", "Every agent is busy: waiting in the queue.")),
        *store.agents.still_full(proof, cap, fresh_after),
    ).commit()
    position, estimate = place(store, settings, team, entry.sk, online, state)
    log.info("channel %s queued in team %s at position %s", channel_id, team, position)
    return dataclasses.replace(channel, queue_position=position, estimated_wait_seconds=estimate)


def _choose(
    store: Store, cap: int, rng: random.Random | None, team: str, *, queueing: bool = False
) -> tuple[Choice | None, list[AgentLoad]]:
    """A choice by the seed rules and the agents it was made from. With a queue, a choice that is
    not ``UNDER_CAP`` comes with every online agent read (the queue's proof), and no agent at all
    is no error (``None``: queue it)."""
    seen = store.load_index.candidates(CANDIDATES, team)
    choice = choose_agent(seen, cap, rng)
    if choice is None and not queueing:
        raise Unavailable("no agent exists to take the chat", code="no_agents", retry_after=30)
    if choice is not None and choice.rule is Rule.UNDER_CAP:
        return choice, seen
    if choice is None or (choice.rule is Rule.NOBODY_ONLINE and queueing):
        return choice, []  # nobody online: nothing to prove but ``freed``
    # Everyone read was full: read every online agent to prove it.
    online = store.load_index.online(MAX_OVERFLOW_CHECKS + 1, team)
    choice = choose_agent(online, cap, rng) or choice
    if choice.rule is Rule.OVERFLOW and not queueing:
        choice = with_overflow_proof(choice, online, MAX_OVERFLOW_CHECKS)
    return choice, online


def resolve(
    store: Store, settings: Settings, principal: Principal, *, customer_id: int | None, channel_id: str | None
) -> Channel:
    """Resolve the calling agent's chat, named by its channel or by its customer; with a queue,
    the first queued chat takes the freed slot in the same transaction.

    Raises ``NotFound``, ``Forbidden`` (another agent's chat), ``Conflict``
    (already resolved, or the customer has no active chat).
    """
    if channel_id is not None:
        channel = named_channel(store, principal, channel_id, customer_id)
        if channel.status == RESOLVED:
            raise Conflict("the chat is already resolved", code="already_resolved")
    else:
        assert customer_id is not None
        channel = customer_active_channel(store, principal, customer_id, resolving=True)
    if channel.agent_id != principal.user_id:
        raise Forbidden("the chat is assigned to another agent", code="not_your_chat")
    for _ in range(SLOT_ATTEMPTS):
        now = clock.now()
        resolved_at = keys.now_iso()
        since = channel.assignment.at if channel.assignment else channel.created_at
        handled = seconds_between(since, resolved_at)
        freed = free_slot(store, settings, principal.user_id, team_of(channel, settings), now, handled_seconds=handled)
        # The token was proven by the first read; not again here (2 write units): see messages.send.
        transaction = store.transaction(on_conflict=stale if settings.queueing else busy).add(
            store.channels.close(channel.channel_id, by_agent=principal.user_id, at=resolved_at),
            store.customers.release_active_chat(channel.customer_id, channel.channel_id),
            *freed.items,
        )
        if freed.state:
            transaction.add(store.queues.change_state(team_of(channel, settings), freed.state, now))
        try:
            transaction.commit()
        except Stale:
            continue  # the queue or the agent changed between the read and the commit
        return dataclasses.replace(channel, status=RESOLVED, resolved_at=resolved_at, ended_by=keys.AGENT)
    raise store_busy()


def leave(store: Store, settings: Settings, principal: Principal) -> Channel:
    """The calling customer ends their open chat: leaves the queue, or frees the agent's slot
    (which the first queued chat takes). The history records it. Raises ``Conflict``
    (``no_active_chat``)."""
    seen = None  # a pointer found naming an ended chat once: a second time, the records disagree
    for _ in range(SLOT_ATTEMPTS):
        (customer,) = store.read(store.customers.ref(principal.user_id), caller=principal)
        if customer is None:
            raise NotFound(f"customer {principal.user_id} does not exist", code="customer_not_found")
        pointer = customer.active_channel()
        if pointer is None:
            raise Conflict("you have no open chat to leave", code="no_active_chat")
        (channel,) = store.read(store.channels.ref(pointer.channel_id))
        if channel is None or not channel.is_open:
            if pointer.channel_id == seen:
                raise Conflict("the chat's records disagree; run reconcile", code="inconsistent_state")
            seen = pointer.channel_id
            continue  # ended between the two reads: read the customer again
        now = clock.now()
        at = keys.now_iso()
        team = team_of(channel, settings)
        items = [
            store.channels.leave(channel, at),
            store.customers.release_active_chat(channel.customer_id, channel.channel_id),
            store.messages.put(system_entry(channel.channel_id, "left", "The customer left the chat.")),
        ]
        if channel.status == QUEUED:
            assert channel.queue_entry is not None
            entry = QueueEntry(team, channel.queue_entry, channel.channel_id, channel.customer_id, channel.created_at)
            items.append(store.queues.take(entry))
            state = StateChange(queued=-1)
        else:
            assert channel.agent_id is not None
            freed = free_slot(store, settings, channel.agent_id, team, now)
            items += freed.items
            state = freed.state
        transaction = store.transaction(principal, on_conflict=stale).add(*items)
        if state:
            transaction.add(store.queues.change_state(team, state, now))
        try:
            transaction.commit()
        except Stale:
            continue  # assigned, moved or queued differently meanwhile: read again
        return dataclasses.replace(channel, status=RESOLVED, resolved_at=at, ended_by=keys.CUSTOMER, queue_entry=None)
    raise store_busy()


def team_of(channel: Channel, settings: Settings) -> str:
    """The chat's team (chats from before teams: the default team)."""
    return channel.team or settings.agent_pool


def active_chats(store: Store, principal: Principal) -> list[Channel]:
    """The calling agent's active channels, oldest first."""
    store.read(caller=principal)
    return store.channels.active_for(principal.user_id)


def history(
    store: Store,
    settings: Settings,
    principal: Principal,
    *,
    channel_id: str | None,
    customer_id: int | None,
    limit: int,
    after: str | None,
    wait: int = 0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> HistoryPage:
    """One page of a channel's messages, oldest first, for one of its two participants.

    The channel is named by ``channel_id`` (any channel, active or resolved)
    or, without it, is the active chat of ``customer_id`` (agents) or of the
    calling customer. With ``wait`` seconds and nothing after ``after`` yet,
    the page is read again (every ``LONG_POLL_INTERVAL_SECONDS``) until a
    message arrives or ``wait`` has passed (long-poll: one query per poll).
    """
    if channel_id is not None:
        channel = named_channel(store, principal, channel_id, customer_id)
    else:
        owner = principal.user_id if principal.role == keys.CUSTOMER else customer_id
        if owner is None:
            raise InvalidInput("channel_id or customer_id is required", field="channel_id")
        # The chat as stored (team, assignment; its place while queued), not only the customer's pointer.
        pointer = customer_active_channel(store, principal, owner)
        channel = queued_place(store, settings, pointer.channel_id) or pointer
    if channel_id is not None and channel.status == QUEUED:
        channel = queued_place(store, settings, channel.channel_id) or channel
    deadline = clock() + wait
    messages, next_after = store.messages.page(channel.channel_id, limit, after)
    while not messages and (left := deadline - clock()) > 0:
        sleep(min(LONG_POLL_INTERVAL_SECONDS, left))
        messages, next_after = store.messages.page(channel.channel_id, limit, after)
    return HistoryPage(channel=channel, messages=messages, next_cursor=next_after)


def queued_place(store: Store, settings: Settings, channel_id: str) -> Channel | None:
    """The channel as stored, with its place in the queue if it is still queued."""
    (channel,) = store.read(store.channels.ref(channel_id))
    if channel is None or channel.status != QUEUED or channel.queue_entry is None:
        return channel
    position, estimate = place(store, settings, team_of(channel, settings), channel.queue_entry)
    return dataclasses.replace(channel, queue_position=position, estimated_wait_seconds=estimate)


def named_channel(store: Store, principal: Principal, channel_id: str, customer_id: int | None) -> Channel:
    """The channel ``channel_id``, which the caller must take part in (and ``customer_id``, if given, own)."""
    (channel,) = store.read(store.channels.ref(channel_id), caller=principal)
    if channel is None:
        raise NotFound(f"channel {channel_id} does not exist", code="channel_not_found")
    if customer_id is not None and customer_id != channel.customer_id:
        raise InvalidInput("customer_id does not match the channel", field="customer_id")
    _require_participant(principal, channel)
    return channel


def customer_active_channel(
    store: Store, principal: Principal, customer_id: int, *, resolving: bool = False
) -> Channel:
    """The active channel of ``customer_id``, which the caller must take part in.

    Without one: ``no_active_chat``, or, when ``resolving`` a customer whose
    last chat was resolved already, ``already_resolved`` (as by its channel id).
    """
    (customer,) = store.read(store.customers.ref(customer_id), caller=principal)
    if customer is None:
        raise NotFound(f"customer {customer_id} does not exist", code="customer_not_found")
    channel = customer.active_channel()
    if channel is None:
        if resolving and customer.last_channel_id is not None:
            raise Conflict(
                "the customer's chat is already resolved",
                code="already_resolved",
                details={"channel_id": customer.last_channel_id},
            )
        raise Conflict(f"customer {customer_id} has no active chat", code="no_active_chat")
    _require_participant(principal, channel)
    return channel


def _require_participant(principal: Principal, channel: Channel) -> None:
    if principal.role == keys.AGENT and channel.agent_id != principal.user_id:
        raise Forbidden("the chat is assigned to another agent", code="not_your_chat")
    if principal.role == keys.CUSTOMER and channel.customer_id != principal.user_id:
        raise Forbidden("the chat belongs to another customer", code="not_your_chat")
