"""Teams as shards: each team its own agents, load-index partition and overflow proof."""

import pytest

from chalicelib import store as store_module
from tests.support import invariants
from tools import seed


@pytest.fixture
def teams(api, monkeypatch):
    """Teams default (agents 1-3) and sales (agents 10-11)."""
    monkeypatch.setenv("TEAMS", "default,sales")
    store_module.reset()
    seed.seed_extra("agent", 2, "sales-pass-123", team="sales", first=10)
    return api


def login_agent(api, agent_id):
    reply = api.request("POST", "/agent/login", form={"username": f"agent{agent_id}", "password": "sales-pass-123"})
    assert reply.status == 200, reply.body
    return reply.body["token"]


def initiate(api, customer_id, team=None):
    token = api.token("customer", customer_id)
    form = {"team": team} if team else None
    return api.request("POST", f"/customer/{customer_id}/chat/initiate", token=token, form=form)


def test_a_chat_goes_to_an_agent_of_its_own_team_only(teams):
    api = teams
    api.token("agent", 1)
    login_agent(api, 10)
    sales = [initiate(api, c, "sales").body for c in (1, 2, 3)]
    assert all(c["agent_id"] in (10, 11) and c["team"] == "sales" for c in sales)
    assert initiate(api, 4).body["agent_id"] == 1  # the default team
    invariants.check()


def test_overflow_stays_within_the_team(teams):
    api = teams
    api.token("agent", 1)  # default: idle, below its capacity
    login_agent(api, 10)  # sales: one agent online
    agents = [initiate(api, c, "sales").body["agent_id"] for c in (1, 2, 3)]
    assert agents == [10, 10, 10]  # rule 2 within sales: agent 1 of the default team is not in its proof


def test_an_unknown_team_is_a_400_and_changes_nothing(teams):
    api = teams
    api.token("agent", 1)
    before = invariants.snapshot()
    reply = initiate(api, 1, "nosuchteam")
    assert reply.status == 400 and reply.error["field"] == "team"
    assert invariants.snapshot()["channels"] == before["channels"]


def test_the_supervisor_sees_one_team_at_a_time(teams):
    api = teams
    boss = api.token("supervisor", 1)
    listed = api.request("GET", "/supervisor/1/agents", token=boss, query={"team": "sales"})
    assert sorted(a["id"] for a in listed.body["agents"]) == [10, 11]
    default = api.request("GET", "/supervisor/1/agents", token=boss)
    assert sorted(a["id"] for a in default.body["agents"]) == [1, 2, 3]


@pytest.mark.parametrize("teams", ["sales", "default,Sales", "default,sa les"])
def test_teams_must_be_names_and_include_the_default_team(monkeypatch, teams):
    from chalicelib.config import load_settings
    from chalicelib.errors import ConfigError

    monkeypatch.setenv("TEAMS", teams)
    with pytest.raises(ConfigError, match="TEAMS"):
        load_settings()
