"""Presence: heartbeats, away, sessions, the timeout and the sweep; every status transition.

Time is the service's clock (``chalicelib.clock``), set by the tests: no sleeps.
"""

import time

import pytest

from chalicelib import allocation, clock, presence
from chalicelib.config import get_settings
from chalicelib.store import get_store
from tests.support import invariants
from tests.support.dynamo_hooks import count_calls
from tests.support.ties import LowestIdFirst

TIMEOUT = 90


@pytest.fixture
def now(monkeypatch):
    """The service's clock, set by the test: ``now.t``; ``now.advance(seconds)``."""

    class Clock:
        t = float(int(time.time()))  # tokens are issued on the system clock

        def advance(self, seconds):
            self.t += seconds

    fake = Clock()
    monkeypatch.setattr(clock, "now", lambda: fake.t)
    return fake


def heartbeat(api, agent_id, token, status="online"):
    return api.request("PUT", f"/agent/{agent_id}/presence", token=token, form={"status": status})


def agent_row(agent_id):
    return next(a for a in invariants.snapshot()["agents"] if a["agent_id"] == agent_id)


def test_login_is_a_heartbeat_and_puts_the_agent_online(api, now):
    reply = api.login("agent", 1)
    assert reply.body["user"]["status"] == "online" and reply.body["user"]["sessions"] == 1
    assert agent_row(1)["last_seen"] == int(now.t)


def test_a_heartbeat_answers_status_capacity_load_and_last_seen(api, now):
    token = api.token("agent", 1)
    now.advance(30)
    reply = heartbeat(api, 1, token)
    assert reply.status == 200
    assert {k: reply.body[k] for k in ("id", "status", "max_chats", "active_chats")} == {
        "id": 1,
        "status": "online",
        "max_chats": 2,
        "active_chats": 0,
    }
    assert agent_row(1)["last_seen"] == int(now.t)


def test_a_heartbeat_at_the_same_status_is_one_write_and_leaves_the_load_index_alone(api, now):
    token = api.token("agent", 1)
    rank = agent_row(1)["rank"]
    with count_calls() as calls:
        assert heartbeat(api, 1, token).status == 200
    assert calls == {"UpdateItem": 1}  # no read, no transaction
    assert agent_row(1)["rank"] == rank


def test_away_keeps_the_chats_and_gets_no_new_ones_then_online_again(api, now):
    agent = api.token("agent", 1)
    api.initiate(1)
    assert heartbeat(api, 1, agent, "away").body["status"] == "away"
    api.token("agent", 2)
    assert api.initiate(2).body["agent_id"] == 2  # agent 1 is away, though less loaded than the cap
    assert agent_row(1)["active_count"] == 1
    assert heartbeat(api, 1, agent, "online").body["status"] == "online"
    invariants.check()


def test_an_expired_heartbeat_is_offline_for_allocation_at_once(api, now, monkeypatch):
    monkeypatch.setattr(allocation, "_TIES", LowestIdFirst())  # so the allocation meets agent 1 first
    api.token("agent", 1)  # silent from here on
    now.advance(TIMEOUT - 10)
    api.token("agent", 2)  # agent 2 logs in later: fresh
    now.advance(20)  # agent 1: 100 s silent, and tried first; agent 2: 20 s
    reply = api.initiate(1)
    assert reply.status == 201 and reply.body["agent_id"] == 2
    assert agent_row(1)["status"] == "offline"  # the allocation that met it marked it offline


def test_with_every_heartbeat_expired_nobody_is_online_rule3(api, now):
    api.token("agent", 1)
    api.token("agent", 2)
    now.advance(TIMEOUT + 1)
    reply = api.initiate(1)
    assert reply.status == 201  # rule 3: the least loaded of all
    invariants.check()


def test_the_sweep_marks_silent_agents_offline_online_and_away_alike(api, now):
    a1, a2 = api.token("agent", 1), api.token("agent", 2)
    heartbeat(api, 2, a2, "away")
    api.token("agent", 3)
    now.advance(60)
    heartbeat(api, 3, api.token("agent", 3))
    now.advance(40)  # 1 and 2 silent for 100 s, 3 for 40 s
    assert sorted(presence.sweep(get_store(), get_settings())) == [1, 2]
    assert [agent_row(a)["status"] for a in (1, 2, 3)] == ["offline", "offline", "online"]
    assert presence.sweep(get_store(), get_settings()) == []  # nothing left to do
    assert heartbeat(api, 1, a1).body["status"] == "online"  # its session is alive: it may come back
    invariants.check()


def test_one_logout_of_two_sessions_keeps_the_agent_online(api, now):
    first, second = api.token("agent", 1), api.token("agent", 1)
    reply = api.logout("agent", 1, first)
    assert reply.status == 200 and reply.body["status"] == "online"
    assert agent_row(1)["status"] == "online"
    assert heartbeat(api, 1, second).status == 200
    assert heartbeat(api, 1, first).status == 401  # that session has ended
    assert api.logout("agent", 1, second).body["status"] == "offline"
    assert agent_row(1)["status"] == "offline"


def test_sessions_whose_tokens_expired_do_not_keep_an_agent_online(api, now):
    old = api.token("agent", 1)
    now.advance(get_settings().token_ttl_seconds + 1)  # the first session's token has expired by the clock
    newer = api.token("agent", 1)
    assert old != newer
    assert api.logout("agent", 1, newer).body["status"] == "offline"


@pytest.mark.parametrize("status", ["offline", "busy", "", "ONLINE"])
def test_a_heartbeat_with_an_unknown_status_is_a_400_and_changes_nothing(api, now, status):
    token = api.token("agent", 1)
    before = invariants.snapshot()
    reply = heartbeat(api, 1, token, status)
    assert reply.status == 400 and reply.error["field"] == "status"
    assert invariants.snapshot() == before
