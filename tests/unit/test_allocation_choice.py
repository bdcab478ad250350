"""The three seed rules as a pure function (no database)."""

import random

from chalicelib.allocation import choose_agent, with_overflow_proof
from chalicelib.models import OFFLINE, ONLINE, AgentLoad, Choice, Rule

CAP = 2


def agent(agent_id, count, status=ONLINE, last=""):
    return AgentLoad(agent_id=agent_id, status=status, active_count=count, last_assigned_at=last)


def test_rule1_picks_the_least_loaded_online_agent_below_the_cap():
    choice = choose_agent([agent(1, 1), agent(2, 0), agent(3, 1)], CAP)
    assert choice == Choice(agent(2, 0), Rule.UNDER_CAP)


def test_rule1_skips_offline_agents_even_when_they_are_idle():
    choice = choose_agent([agent(1, 0, OFFLINE), agent(2, 1)], CAP)
    assert choice.agent.agent_id == 2 and choice.rule is Rule.UNDER_CAP


def test_rule1_skips_agents_at_the_cap():
    choice = choose_agent([agent(1, 2), agent(2, 1)], CAP)
    assert choice.agent.agent_id == 2


def test_rule2_overflows_to_the_least_loaded_online_agent_when_all_are_full():
    choice = choose_agent([agent(1, 3), agent(2, 2), agent(3, 0, OFFLINE)], CAP)
    assert choice.agent.agent_id == 2 and choice.rule is Rule.OVERFLOW


def test_rule3_with_nobody_online_picks_the_least_loaded_agent_of_all():
    choice = choose_agent([agent(1, 2, OFFLINE), agent(2, 1, OFFLINE), agent(3, 4, OFFLINE)], CAP)
    assert choice.agent.agent_id == 2 and choice.rule is Rule.NOBODY_ONLINE


def test_no_agents_means_no_choice():
    assert choose_agent([], CAP) is None


def test_ties_are_broken_at_random_among_the_least_loaded_on_every_attempt():
    # No rng: the first attempt spreads too (a fixed tie-break sent concurrent requests to one agent).
    candidates = [
        agent(1, 0, last="2026-11-24T10:00:00.000Z"),
        agent(2, 0, last="2026-11-24T09:00:00.000Z"),
        agent(3, 0, last="2026-11-24T11:00:00.000Z"),
        agent(4, 1),
    ]
    picks = {choose_agent(candidates, CAP).agent.agent_id for _ in range(200)}
    assert picks == {1, 2, 3}


def test_an_explicit_rng_makes_the_tie_break_reproducible():
    candidates = [agent(i, 0) for i in range(1, 9)]
    first = [choose_agent(candidates, CAP, random.Random(11)).agent.agent_id for _ in range(5)]
    again = [choose_agent(candidates, CAP, random.Random(11)).agent.agent_id for _ in range(5)]
    assert first == again


def test_the_random_tie_break_picks_only_among_the_least_loaded():
    candidates = [agent(1, 0), agent(2, 0), agent(3, 1)]
    picks = {choose_agent(candidates, CAP, random.Random(seed)).agent.agent_id for seed in range(50)}
    assert picks == {1, 2}


def test_the_random_tie_break_never_leaves_the_rule():
    # Rule 2 and rule 3 tie-break the same way: only among their own least loaded.
    full = [agent(1, 2), agent(2, 2), agent(3, 3), agent(4, 0, OFFLINE)]
    assert {choose_agent(full, CAP, random.Random(s)).agent.agent_id for s in range(50)} == {1, 2}
    offline = [agent(1, 1, OFFLINE), agent(2, 1, OFFLINE), agent(3, 2, OFFLINE)]
    assert {choose_agent(offline, CAP, random.Random(s)).agent.agent_id for s in range(50)} == {1, 2}


def test_overflow_proof_lists_every_other_online_agent_least_loaded_first():
    online = [agent(1, 2), agent(2, 4), agent(3, 3), agent(4, 2)]
    choice = with_overflow_proof(choose_agent(online, CAP), online, max_checks=10)
    other = {1: 4, 4: 1}[choice.agent.agent_id]  # 1 and 4 tie: either may be chosen
    assert [a.agent_id for a in choice.must_be_full] == [other, 3, 2]


def test_overflow_proof_is_capped_by_the_transaction_size():
    online = [agent(i, 2 + i % 3) for i in range(1, 200)]
    choice = with_overflow_proof(choose_agent(online, CAP), online, max_checks=96)
    assert len(choice.must_be_full) == 96
    assert choice.agent not in choice.must_be_full
    assert max(a.active_count for a in choice.must_be_full) <= min(
        a.active_count for a in online if a not in choice.must_be_full and a != choice.agent
    )


# -- per-agent capacity ------------------------------------------------------------


def with_capacity(agent_id, count, max_chats, status=ONLINE):
    return AgentLoad(agent_id=agent_id, status=status, active_count=count, max_chats=max_chats)


def test_rule1_uses_each_agents_own_capacity():
    # Agent 1 may take 3, agent 2 only 1: with 2 and 1 chats, only agent 1 is below its capacity.
    choice = choose_agent([with_capacity(1, 2, 3), with_capacity(2, 1, 1)], CAP)
    assert choice.agent.agent_id == 1 and choice.rule is Rule.UNDER_CAP


def test_an_agent_without_its_own_capacity_has_the_default():
    choice = choose_agent([with_capacity(1, 2, None), with_capacity(2, 2, 5)], CAP)
    assert choice.agent.agent_id == 2 and choice.rule is Rule.UNDER_CAP


def test_rule2_only_when_every_online_agent_is_at_or_over_its_own_capacity():
    # Capacity lowered below the load: the agent keeps its chats and takes no new ones.
    choice = choose_agent([with_capacity(1, 3, 1), with_capacity(2, 1, 1)], CAP)
    assert choice.rule is Rule.OVERFLOW and choice.agent.agent_id == 2


def test_a_capacity_of_zero_takes_no_chat_under_rule1():
    choice = choose_agent([with_capacity(1, 0, 0), with_capacity(2, 1, 2)], CAP)
    assert choice.agent.agent_id == 2 and choice.rule is Rule.UNDER_CAP
