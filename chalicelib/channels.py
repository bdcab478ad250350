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
from chalicelib.models import ACTIVE, RESOLVED, Channel, Choice, HistoryPage, Principal, Rule
from chalicelib.store import Stale, Store
from chalicelib.store.agent_expressions import AgentGone
from chalicelib.store.transaction import stale

log = logging.getLogger(__name__)

# How many of the least-loaded agents one allocation reads: enough to break
# ties, independent of how many agents there are.
CANDIDATES = 8
# A transaction holds 100 items; an allocation uses 4 of its own.
MAX_OVERFLOW_CHECKS = 96
# Agents an allocation finds gone before it gives up (each costs one failed commit).
MAX_GONE_PER_ALLOCATION = 2 * CANDIDATES
BACKOFF_BASE_SECONDS = 0.01
BACKOFF_CAP_SECONDS = 0.25
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
    """Open a channel for the calling customer and assign it to an agent.

    Choose by the seed rules (``chalicelib.allocation``) and commit with one
    transaction whose conditions prove the choice; when another writer got
    there first, read again and retry with jittered backoff, up to
    ``settings.allocation_max_attempts`` times. Raises ``Conflict`` if the
    customer already has an active chat, ``Unavailable`` if no agent exists
    or the commit kept losing races.
    """
    rng = rng or random.Random()  # noqa: S311 - jitter and tie-breaks, not secrets
    team = team or settings.agent_pool  # a team is a shard: its own agents, index partition and proof
    cap = settings.allocation_cap
    attempt = gone = 0
    while attempt < settings.allocation_max_attempts and gone <= MAX_GONE_PER_ALLOCATION:
        fresh_after = int(clock.now()) - settings.presence_timeout_seconds
        choice = _choose(store, cap, rng if attempt else None, team)
        channel = Channel(
            channel_id=keys.new_id(),
            customer_id=principal.user_id,
            agent_id=choice.agent.agent_id,
            status=ACTIVE,
            created_at=keys.now_iso(),
            team=team,
        )
        try:
            commit_assignment(store, principal, channel, choice, cap, fresh_after)
        except AgentGone as silent:
            # Online in the index, but gone (silent too long: offline now, for everyone; or away or
            # offline already). Choosing again right away is no lost race: it uses up no attempt.
            log.info("agent %d is no longer available", silent.agent_id)
            store.agents.expire(silent.agent_id, fresh_after)
            gone += 1
            continue
        except Stale:
            log.info("allocation attempt %d lost a race for agent %d", attempt + 1, choice.agent.agent_id)
            sleep(rng.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)))
            attempt += 1
            continue
        log.info("channel %s assigned to agent %d by rule %s", channel.channel_id, channel.agent_id, choice.rule.value)
        return channel
    raise Unavailable(
        "every agent changed while the chat was being assigned; retry",
        code="allocation_contended",
        retry_after=1,
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


def _choose(store: Store, cap: int, rng: random.Random | None, team: str) -> Choice:
    choice = choose_agent(store.load_index.candidates(CANDIDATES, team), cap, rng)
    if choice is None:
        raise Unavailable("no agent exists to take the chat", code="no_agents", retry_after=30)
    if choice.rule is Rule.OVERFLOW:
        # Everyone read was full: read every online agent to prove it.
        online = store.load_index.online(MAX_OVERFLOW_CHECKS + 1, team)
        choice = choose_agent(online, cap, rng) or choice
        if choice.rule is Rule.OVERFLOW:
            choice = with_overflow_proof(choice, online, MAX_OVERFLOW_CHECKS)
    return choice


def resolve(store: Store, principal: Principal, *, customer_id: int | None, channel_id: str | None) -> Channel:
    """Resolve the calling agent's chat, named by its channel or by its customer.

    Raises ``NotFound``, ``Forbidden`` (another agent's chat), ``Conflict``
    (already resolved, or the customer has no active chat).
    """
    if channel_id is not None:
        channel = _named_channel(store, principal, channel_id, customer_id)
        if channel.status == RESOLVED:
            raise Conflict("the chat is already resolved", code="already_resolved")
    else:
        assert customer_id is not None
        channel = customer_active_channel(store, principal, customer_id, resolving=True)
    resolved_at = keys.now_iso()
    store.transaction(principal).add(
        store.channels.close(channel.channel_id, by_agent=principal.user_id, at=resolved_at),
        store.agents.release_slot(channel.agent_id),
        store.customers.release_active_chat(channel.customer_id, channel.channel_id),
    ).commit()
    return dataclasses.replace(channel, status=RESOLVED, resolved_at=resolved_at)


def active_chats(store: Store, principal: Principal) -> list[Channel]:
    """The calling agent's active channels, oldest first."""
    store.read(caller=principal)
    return store.channels.active_for(principal.user_id)


def history(
    store: Store,
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
        channel = _named_channel(store, principal, channel_id, customer_id)
    else:
        owner = principal.user_id if principal.role == keys.CUSTOMER else customer_id
        if owner is None:
            raise InvalidInput("channel_id or customer_id is required", field="channel_id")
        channel = customer_active_channel(store, principal, owner)
    deadline = clock() + wait
    messages, next_after = store.messages.page(channel.channel_id, limit, after)
    while not messages and (left := deadline - clock()) > 0:
        sleep(min(LONG_POLL_INTERVAL_SECONDS, left))
        messages, next_after = store.messages.page(channel.channel_id, limit, after)
    return HistoryPage(channel=channel, messages=messages, next_cursor=next_after)


def _named_channel(store: Store, principal: Principal, channel_id: str, customer_id: int | None) -> Channel:
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
