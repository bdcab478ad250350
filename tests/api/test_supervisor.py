"""The supervisor role: every agent's state, per-agent capacity, forcing agents off, active chats."""

import time

import pytest

from chalicelib import clock, presence
from chalicelib.config import get_settings
from chalicelib.store import get_store
from tests.support import invariants


@pytest.fixture
def boss(api):
    return api.token("supervisor", 1)


def set_agent(api, token, agent_id, **form):
    return api.request("PUT", f"/supervisor/1/agents/{agent_id}", token=token, form=form)


def test_the_demo_supervisor_logs_in(api):
    reply = api.request("POST", "/supervisor/login", form={"username": "supervisor", "password": "strongpass0"})
    assert reply.status == 200 and reply.body["user"] == {"id": 1, "username": "supervisor", "role": "supervisor"}


def test_the_agents_list_shows_status_load_capacity_last_seen_and_sessions(api, boss):
    api.token("agent", 2)
    api.initiate(1)
    reply = api.request("GET", "/supervisor/1/agents", token=boss)
    assert reply.status == 200 and reply.body["next_cursor"] is None
    rows = {a["id"]: a for a in reply.body["agents"]}
    assert sorted(rows) == [1, 2, 3]
    assert rows[2]["status"] == "online" and rows[2]["active_chats"] == 1 and rows[2]["sessions"] == 1
    assert rows[2]["max_chats"] == 2 and rows[2]["last_seen"]
    assert rows[1]["status"] == "offline" and rows[1]["last_seen"] is None
    assert reply.body["agents"][0]["id"] == 2  # online agents first


def test_the_agents_list_pages_by_cursor(api, boss):
    first = api.request("GET", "/supervisor/1/agents", token=boss, query={"limit": 2})
    second = api.request(
        "GET", "/supervisor/1/agents", token=boss, query={"limit": 2, "cursor": first.body["next_cursor"]}
    )
    ids = [a["id"] for a in first.body["agents"] + second.body["agents"]]
    assert sorted(ids) == [1, 2, 3] and second.body["next_cursor"] is None


# The load index's attributes, but rank a string: a real engine refuses a start key of the wrong type (a 500).
WRONG_TYPE = "eyJwayI6ImFnZW50IzEiLCJwb29sIjoiZGVmYXVsdCIsInJhbmsiOiIwIn0"


@pytest.mark.parametrize("cursor", ["not-a-cursor", "eyJwayI6ImFnZW50IzEifQ", "e30", WRONG_TYPE])
def test_a_cursor_that_is_not_one_of_the_list_is_a_400(api, boss, cursor):
    reply = api.request("GET", "/supervisor/1/agents", token=boss, query={"cursor": cursor})
    assert reply.status == 400 and reply.error["field"] == "cursor"


def test_capacity_per_agent_takes_effect_at_the_next_allocation(api, boss):
    # The scenario: agents 1 and 2 present, agent 3 logs in and goes silent.
    now = time.time()
    api.token("agent", 3)
    clock_at(now + 60)
    api.token("agent", 1)
    api.token("agent", 2)
    assert set_agent(api, boss, 1, max_chats=3).body["max_chats"] == 3
    assert set_agent(api, boss, 2, max_chats=1).body["max_chats"] == 1
    clock_at(now + 100)  # agent 3 silent for 100 s (> 90), the others for 40 s
    agents = [api.initiate(c).body["agent_id"] for c in (1, 2, 3, 4)]
    assert sorted(agents) == [1, 1, 1, 2]
    presence.sweep(get_store(), get_settings())
    rows = {a["id"]: a for a in api.request("GET", "/supervisor/1/agents", token=boss).body["agents"]}
    assert rows[3]["status"] == "offline" and rows[3]["active_chats"] == 0
    invariants.check()


def clock_at(t):
    clock.now = lambda: t


@pytest.fixture(autouse=True)
def real_clock():
    saved = clock.now
    yield
    clock.now = saved


def test_lowering_capacity_below_the_load_keeps_the_chats_and_gives_no_new_ones(api, boss):
    api.token("agent", 1)
    api.initiate(1)
    api.initiate(2)
    api.token("agent", 2)
    set_agent(api, boss, 1, max_chats=1)
    assert api.initiate(3).body["agent_id"] == 2
    assert api.initiate(4).body["agent_id"] == 2
    assert invariants.loads()[1] == 2
    set_agent(api, boss, 1, max_chats=4)
    assert api.initiate(5).body["agent_id"] == 1  # raised: it counts from the next allocation


def test_forcing_an_agent_offline_ends_its_sessions(api, boss):
    token = api.token("agent", 1)
    api.initiate(1)
    reply = set_agent(api, boss, 1, status="offline")
    assert reply.status == 200 and reply.body["status"] == "offline" and reply.body["sessions"] == 0
    assert api.active(1, token).status == 401  # its token is revoked
    assert api.request("PUT", "/agent/1/presence", token=token, form={"status": "online"}).status == 401
    assert invariants.loads()[1] == 1  # its chat stays
    assert api.token("agent", 1)  # it can log in again
    invariants.check()


def test_forcing_an_agent_away(api, boss):
    token = api.token("agent", 1)
    assert set_agent(api, boss, 1, status="away").body["status"] == "away"
    assert api.active(1, token).status == 200  # still logged in
    api.token("agent", 2)
    assert api.initiate(1).body["agent_id"] == 2


@pytest.mark.parametrize(
    "form",
    [{"max_chats": 51}, {"max_chats": -1}, {"max_chats": "two"}, {"max_chats": 1.5}, {"status": "online"}, {}],
)
def test_bad_settings_are_a_400_and_change_nothing(api, boss, form):
    before = invariants.snapshot()
    reply = set_agent(api, boss, 1, **form)
    assert reply.status == 400 and reply.error["code"] == "invalid_input"
    assert invariants.snapshot() == before


def test_an_unknown_agent_is_a_404(api, boss):
    reply = set_agent(api, boss, 99, max_chats=3)
    assert reply.status == 404 and reply.error["code"] == "agent_not_found"


def test_the_active_chats_of_the_team(api, boss):
    api.token("agent", 1)
    first = api.initiate(1).body["channel_id"]
    second = api.initiate(2).body["channel_id"]
    agent = api.token("agent", 1)
    api.resolve(1, agent, 1)
    reply = api.request("GET", "/supervisor/1/chats", token=boss, query={"status": "active"})
    assert reply.status == 200 and [c["channel_id"] for c in reply.body["channels"]] == [second]
    assert first != second
    assert api.request("GET", "/supervisor/1/chats", token=boss, query={"status": "resolved"}).status == 400
