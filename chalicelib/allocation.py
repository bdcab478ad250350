"""Choosing an agent for a new chat: the three seed rules as one pure function.

1. Among online agents below the cap, the least loaded (``Rule.UNDER_CAP``).
2. If every online agent is at or over the cap, the least-loaded online agent
   (``Rule.OVERFLOW``).
3. If no agent is online, the least-loaded agent of all (``Rule.NOBODY_ONLINE``).

Ties go to the agent idle the longest (oldest last assignment, then lowest
id); a retry after a lost race picks at random among the tied agents instead,
so concurrent requests spread out rather than collide again. The choice is
made on a possibly stale read: the store's conditional write is what makes it
safe (see ``chalicelib.store.agents.TAKE_SLOT_CONDITIONS``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from chalicelib.models import AgentLoad, Choice, Rule


def choose_agent(
    candidates: Sequence[AgentLoad],
    cap: int,
    rng: random.Random | None = None,
) -> Choice | None:
    """Pick an agent from ``candidates`` (any order); ``None`` if there are none.

    Each agent's capacity is its own ``max_chats``, or ``cap`` where it has none.
    With ``rng``, ties are broken at random instead of by idle time.
    """
    online = [a for a in candidates if a.online]
    below_cap = [a for a in online if a.active_count < a.capacity(cap)]
    if below_cap:
        pool, rule = below_cap, Rule.UNDER_CAP
    elif online:
        pool, rule = online, Rule.OVERFLOW
    else:
        pool, rule = list(candidates), Rule.NOBODY_ONLINE
    if not pool:
        return None
    least = min(a.active_count for a in pool)
    tied = [a for a in pool if a.active_count == least]
    agent = rng.choice(tied) if rng is not None else min(tied, key=lambda a: (a.last_assigned_at, a.agent_id))
    return Choice(agent, rule)


def with_overflow_proof(choice: Choice, online: Sequence[AgentLoad], max_checks: int) -> Choice:
    """Attach the overflow proof: every other online agent, least loaded first.

    ``online`` is the complete list of online agents. Beyond ``max_checks``
    others (a transaction holds at most 100 items) the most loaded are left
    unchecked: they are the least likely to drop below the cap in the instant
    of the commit.
    """
    others = sorted(
        (a for a in online if a.agent_id != choice.agent.agent_id),
        key=lambda a: (a.active_count, a.agent_id),
    )
    return Choice(choice.agent, choice.rule, tuple(others[:max_checks]))
