"""Allocation under real concurrency: DynamoDB Local, the API over HTTP (``chalice local``).

Many customers initiate at the same instant, each on its own connection and
thread. After every round the invariants are checked from the database itself
(``tests/support/invariants.py``), not only from the responses.
"""

from __future__ import annotations

import pytest

from chalicelib.keys import AGENT, CUSTOMER
from tests.support import invariants
from tests.support.live import LiveApi, User, concurrently
from tools import seed

EXTRA_PASSWORD = "load-pass-123"
CAP = 2
ROUNDS = 3


def users(role: str, ids) -> list[User]:
    demo = {(u.role, u.user_id): u for u in seed.DEMO_USERS}
    out = []
    for i in ids:
        if (role, i) in demo:
            u = demo[(role, i)]
            out.append(User(role, i, u.username, u.password))
        else:
            out.append(User(role, i, f"{role}{i}", EXTRA_PASSWORD))
    return out


@pytest.fixture
def world(live):
    """4 agents (1-4) and 40 customers (1-40), nobody logged in."""
    seed.seed_extra(AGENT, 1, EXTRA_PASSWORD)
    seed.seed_extra(CUSTOMER, 32, EXTRA_PASSWORD)
    api = LiveApi(live)
    agents = users(AGENT, range(1, 5))
    customers = users(CUSTOMER, range(1, 41))
    tokens = dict(zip(customers, concurrently(api.login, customers, workers=8), strict=True))
    return api, agents, customers, tokens


def place_all(api: LiveApi, customers: list[User], tokens: dict) -> dict[int, int]:
    """Every customer initiates at once; 503s retry in a later wave. Returns customer -> agent."""
    placed: dict[int, int] = {}
    waiting = list(customers)
    for _ in range(10):
        replies = concurrently(lambda c: (c, api.initiate(c.user_id, tokens[c])), waiting, workers=len(waiting))
        waiting = []
        for customer, reply in replies:
            if reply.status == 503:
                assert reply.error["code"] == "allocation_contended" and reply.headers["Retry-After"]
                waiting.append(customer)
                continue
            assert reply.status == 201, reply.body
            assert reply.body["customer_id"] == customer.user_id  # each caller got their own answer
            placed[customer.user_id] = reply.body["agent_id"]
        if not waiting:
            return placed
    raise AssertionError(f"{len(waiting)} customers never placed")


def resolve_all(api: LiveApi, placed: dict[int, int], agent_tokens: dict[int, str]) -> None:
    replies = concurrently(lambda item: api.resolve(item[1], agent_tokens[item[1]], item[0]), placed.items())
    assert all(r.status == 200 for r in replies), [r.body for r in replies if r.status != 200]


def loads(agent_ids) -> list[int]:
    current = invariants.loads()
    return [current[a] for a in agent_ids]


def test_under_the_cap_every_online_agent_ends_with_exactly_two(world):
    api, agents, customers, tokens = world
    agent_tokens = {a.user_id: api.login(a) for a in agents}
    for _ in range(ROUNDS):
        placed = place_all(api, customers[: CAP * len(agents)], tokens)
        invariants.check()
        assert loads(range(1, 5)) == [CAP] * 4
        assert sorted(placed.values()) == sorted([1, 2, 3, 4] * CAP)
        resolve_all(api, placed, agent_tokens)
        invariants.check()
        assert loads(range(1, 5)) == [0] * 4


def test_overflow_spreads_evenly_over_the_online_agents_only(world):
    api, agents, customers, tokens = world
    online = agents[:3]  # agent 4 stays offline
    agent_tokens = {a.user_id: api.login(a) for a in online}
    for _ in range(ROUNDS):
        placed = place_all(api, customers[:20], tokens)  # 20 chats, 3 online agents, cap 2
        invariants.check()
        online_loads = loads(range(1, 4))
        assert sum(online_loads) == 20 and max(online_loads) - min(online_loads) <= 1
        assert loads([4]) == [0]
        resolve_all(api, placed, agent_tokens)
        invariants.check()


def test_with_nobody_online_chats_spread_over_all_agents(world):
    api, agents, customers, tokens = world
    agent_tokens = {a.user_id: api.login(a) for a in agents}
    for agent in agents:
        assert api.logout(AGENT, agent.user_id, agent_tokens[agent.user_id]).status == 200
    for _ in range(ROUNDS):
        placed = place_all(api, customers[:14], tokens)
        invariants.check()
        all_loads = loads(range(1, 5))
        assert sum(all_loads) == 14 and max(all_loads) - min(all_loads) <= 1
        # Logged-out agents can still resolve with a fresh token (and stay offline).
        fresh = {a.user_id: api.login(a) for a in agents}
        resolve_all(api, placed, fresh)
        for agent in agents:
            api.logout(AGENT, agent.user_id, fresh[agent.user_id])
        invariants.check()


def test_mixed_rounds_hold_the_cap_while_anyone_has_room(world):
    """Two online agents, then 6 chats at once: 4 fill them, 2 overflow; nobody goes to 3 while another has 1."""
    api, agents, customers, tokens = world
    agent_tokens = {a.user_id: api.login(a) for a in agents[:2]}
    for _ in range(ROUNDS):
        placed = place_all(api, customers[:6], tokens)
        invariants.check()
        assert sorted(loads([1, 2])) == [3, 3]
        resolve_all(api, placed, agent_tokens)


# -- races between kinds of requests -------------------------------------------


def test_logout_during_allocation(world):
    api, agents, customers, tokens = world
    agent_tokens = {a.user_id: api.login(a) for a in agents[:2]}

    def act(item):
        if item == "logout":
            return api.logout(AGENT, 1, agent_tokens[1])
        return api.initiate(item.user_id, tokens[item])

    replies = concurrently(act, ["logout", *customers[:8]], workers=9)
    assert replies[0].status == 200
    assert all(r.status in (201, 503) for r in replies[1:]), [r.body for r in replies]
    state = invariants.check()
    agent1 = next(a for a in state["agents"] if a["agent_id"] == 1)
    assert agent1["status"] == "offline"


def test_two_initiates_by_one_customer_at_once_exactly_one_wins(world):
    api, agents, customers, tokens = world
    api.login(agents[0])
    for customer in customers[:10]:
        replies = concurrently(lambda c: api.initiate(c.user_id, tokens[c]), [customer, customer], workers=2)
        assert sorted(r.status for r in replies) == [201, 409], [r.body for r in replies]
    state = invariants.check()
    assert len([c for c in state["channels"] if c["status"] == "active"]) == 10


def test_resolve_during_sends_stores_exactly_the_accepted_messages(world):
    api, agents, customers, tokens = world
    agent_token = api.login(agents[0])
    customer = customers[0]
    assert api.initiate(customer.user_id, tokens[customer]).status == 201

    def act(i):
        if i == 10:
            return api.resolve(1, agent_token, customer.user_id)
        return api.customer_send(customer.user_id, tokens[customer], f"message {i}")

    replies = concurrently(act, range(21), workers=21)
    assert replies[10].status == 200
    sends = [r for i, r in enumerate(replies) if i != 10]
    assert all(r.status in (201, 409) for r in sends), [r.body for r in sends]
    accepted = {r.body["message_id"] for r in sends if r.status == 201}
    stored = {m["message_id"] for m in invariants.check()["messages"]}
    assert stored == accepted


def test_a_retried_send_with_one_idempotency_key_is_stored_once(world):
    api, agents, customers, tokens = world
    api.login(agents[0])
    customer = customers[0]
    api.initiate(customer.user_id, tokens[customer])
    for n in range(5):
        attempt = (f"retry-{n}", f"once {n}")
        replies = concurrently(
            lambda a: api.customer_send(customer.user_id, tokens[customer], a[1], key=a[0]), [attempt] * 3, workers=3
        )
        assert sorted(r.status for r in replies) == [200, 200, 201], [r.body for r in replies]
        assert len({r.body["message_id"] for r in replies}) == 1
    assert len(invariants.check()["messages"]) == 5
