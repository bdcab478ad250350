"""Every allocation rule of SPEC.md, end to end through the API (moto).

Demo users: agents 1-3 (all offline after seeding), customers 1-8.
"""

import pytest

from tests.support import invariants


@pytest.fixture
def customers(api):
    """Customer tokens, logged in on first use."""
    tokens = {}

    def token(customer_id):
        if customer_id not in tokens:
            tokens[customer_id] = api.token("customer", customer_id)
        return tokens[customer_id]

    return token


def initiate(api, customers, customer_id):
    reply = api.initiate(customer_id, customers(customer_id))
    assert reply.status == 201, reply.body
    return reply.body["agent_id"]


def test_online_agents_fill_up_to_the_cap_least_loaded_first(api, customers):
    api.token("agent", 1)
    api.token("agent", 2)
    assigned = [initiate(api, customers, c) for c in (1, 2, 3, 4)]
    assert sorted(assigned) == [1, 1, 2, 2]
    assert assigned[0] != assigned[1]  # the second chat goes to the still-idle agent
    assert invariants.loads() == {1: 2, 2: 2, 3: 0}


def test_offline_agents_are_skipped_while_an_online_agent_has_room(api, customers):
    api.token("agent", 3)
    assert [initiate(api, customers, c) for c in (1, 2)] == [3, 3]
    assert invariants.loads() == {1: 0, 2: 0, 3: 2}


def test_when_every_online_agent_is_full_the_least_loaded_online_agent_gets_the_chat(api, customers):
    api.token("agent", 1)
    api.token("agent", 2)
    for c in (1, 2, 3, 4):
        initiate(api, customers, c)
    overflow = [initiate(api, customers, c) for c in (5, 6)]
    assert sorted(overflow) == [1, 2]  # spread: each online agent goes to 3, agent 3 (offline) stays at 0
    assert invariants.loads() == {1: 3, 2: 3, 3: 0}


def test_overflow_goes_to_the_online_agent_with_fewest_chats(api, customers):
    api.token("agent", 1)
    for c in (1, 2, 3):
        initiate(api, customers, c)  # agent 1 at 3 (overflow, nobody else online)
    api.token("agent", 2)
    for c in (4, 5):
        initiate(api, customers, c)  # agent 2 fills to the cap
    assert initiate(api, customers, 6) == 2  # both full: agent 2 has 2 < 3
    assert invariants.loads() == {1: 3, 2: 3, 3: 0}


def test_with_nobody_online_the_least_loaded_agent_of_all_gets_the_chat(api, customers):
    assigned = [initiate(api, customers, c) for c in (1, 2, 3, 4)]
    assert sorted(assigned[:3]) == [1, 2, 3]  # each offline agent once before anyone twice
    assert invariants.loads()[assigned[3]] == 2
    invariants.check()


def test_ties_are_broken_at_random_among_the_least_loaded(api, customers):
    api.token("agent", 1)
    api.token("agent", 2)
    first = initiate(api, customers, 1)
    second = initiate(api, customers, 2)
    assert {first, second} == {1, 2}  # the second chat goes to the still-idle agent
    # Both idle again after each resolve: either may take the next chat (a random pick
    # spreads concurrent requests; a fixed tie-break sent them all to one agent).
    picked = set()
    for customer_id in range(3, 9):
        agent_id = initiate(api, customers, customer_id)
        picked.add(agent_id)
        api.resolve(agent_id, api.token("agent", agent_id), customer_id)
    assert picked <= {1, 2}
    invariants.check()


def test_logout_makes_an_agent_ineligible_and_login_eligible_again(api, customers):
    token1 = api.token("agent", 1)
    api.token("agent", 2)
    assert api.logout("agent", 1, token1).status == 200
    assert [initiate(api, customers, c) for c in (1, 2)] == [2, 2]
    api.token("agent", 1)
    assert initiate(api, customers, 3) == 1


def test_resolve_frees_capacity_for_the_next_chat(api, customers):
    agent = api.token("agent", 1)
    initiate(api, customers, 1)
    initiate(api, customers, 2)
    api.token("agent", 2)
    initiate(api, customers, 3)
    initiate(api, customers, 4)
    assert api.resolve(1, agent, 1).status == 200
    assert initiate(api, customers, 5) == 1  # agent 1 is the only one below the cap
    invariants.check()


def test_a_customer_has_one_active_chat_until_it_is_resolved(api, customers):
    agent = api.token("agent", 1)
    first = api.initiate(1, customers(1))
    again = api.initiate(1, customers(1))
    assert again.status == 409
    assert again.error["code"] == "active_chat_exists"
    assert again.error["details"]["channel_id"] == first.body["channel_id"]
    assert invariants.loads()[1] == 1  # the refused initiate counted nothing
    api.resolve(1, agent, 1)
    assert api.initiate(1, customers(1)).status == 201


def test_a_customer_logging_out_keeps_the_chat_active(api, customers):
    api.token("agent", 1)
    token = customers(1)
    channel = api.initiate(1, token).body
    assert api.logout("customer", 1, token).status == 200
    fresh = api.token("customer", 1)
    assert api.initiate(1, fresh).status == 409
    history = api.request("GET", "/customer/1/chat", token=fresh, query={"channel_id": channel["channel_id"]})
    assert history.body["channel"]["status"] == "active"


def test_cap_is_configurable(api, customers, monkeypatch):
    from chalicelib import store

    monkeypatch.setenv("ALLOCATION_CAP", "3")
    store.reset()
    api.token("agent", 1)
    api.token("agent", 2)
    assigned = [initiate(api, customers, c) for c in range(1, 7)]
    assert sorted(assigned) == [1, 1, 1, 2, 2, 2]


def test_no_agents_at_all_is_a_503_with_retry_after(tables, monkeypatch):
    from chalice.test import Client

    from app import app
    from chalicelib.auth import issue_token
    from chalicelib.config import get_settings
    from tools.api_client import Api
    from tools.seed import seed_extra

    seed_extra("customer", 1, "pw-for-test")  # customer 9, and no agent at all
    token, _ = issue_token(get_settings(), "customer", 9)
    with Client(app, stage_name="local") as client:
        reply = Api(client).request("POST", "/customer/9/chat/initiate", token=token)
    assert reply.status == 503
    assert reply.error["code"] == "no_agents"
    assert reply.headers["Retry-After"]
