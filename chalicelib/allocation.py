"""Choosing an agent for a new chat: the three seed rules as one pure function.

1. Among online agents below the cap, the least loaded (``Rule.UNDER_CAP``).
2. If every online agent is at or over the cap, the least-loaded online agent
   (``Rule.OVERFLOW``).
3. If no agent is online, the least-loaded agent of all (``Rule.NOBODY_ONLINE``).

Ties (agents with the same, least load) are broken at random, on every
attempt: concurrent requests read the same page of the load index, and a
deterministic tie-break (say, idle the longest) would send every one of them
to the same agent, so all but one would lose the commit and retry (issue 14:
1.1-2.4 retries per allocation at 32 clients). A random pick among the tied
never bends the rules: each candidate has the least load. Over many chats it
is as fair as idle-longest, in expectation. Pass ``rng`` for a reproducible
pick (tests). The choice is made on a possibly stale read: the store's
conditional write is what makes it safe (see
``chalicelib.store.agents.TAKE_SLOT_CONDITIONS``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from chalicelib.models import AgentLoad, Choice, Rule

# Tie-breaks only, not secrets. One per process; random.Random is safe to share
# between threads (its state is advanced under the GIL).
_TIES = random.Random()  # noqa: S311


def choose_agent(
    candidates: Sequence[AgentLoad],
    cap: int,
    rng: random.Random | None = None,
) -> Choice | None:
    """Pick an agent from ``candidates`` (any order); ``None`` if there are none.

    Each agent's capacity is its own ``max_chats``, or ``cap`` where it has none.
    Ties at the least load are broken at random: by ``rng`` if given, else by a
    process-wide generator.
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
    agent = (rng or _TIES).choice(tied)
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
