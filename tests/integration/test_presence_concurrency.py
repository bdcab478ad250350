"""Presence and per-agent capacity under real concurrency (DynamoDB Local, threads in-process).

Allocations race heartbeats, resolves, capacity changes, forcing an agent
offline, and agents that the load index still shows online although their
heartbeat has expired (the sweep has not run yet). Afterwards, from the
database: invariants I1, I2 and I4 hold, no agent went beyond the largest
capacity it ever had (there was always room: no overflow was needed), no chat
went to an agent whose heartbeat had expired, and none to the agent forced
offline after it was forced.
"""

from __future__ import annotations

import threading
import time

from chalicelib import channels, sessions
from chalicelib import store as store_module
from chalicelib.config import get_settings
from chalicelib.errors import Conflict
from chalicelib.keys import AGENT, CUSTOMER, agent_pk, new_id, now_iso
from chalicelib.models import OFFLINE, ONLINE, Principal
from chalicelib.presence import heartbeat
from chalicelib.store import get_store
from chalicelib.store.dynamo import get_client, to_item, to_values
from tests.support import invariants
from tests.support.live import concurrently
from tools import seed

CUSTOMERS = range(1, 41)
ROUNDS = 3


def stale_online(agent_id: int) -> None:
    """What a lagging sweep leaves behind: online in the index, last heard from long ago (test-only write)."""
    get_client().update_item(
        TableName=get_settings().users_table,
        Key=to_item({"pk": agent_pk(agent_id)}),
        UpdateExpression="SET #status = :online, #rank = active_count, last_seen = :old",
        ExpressionAttributeNames={"#status": "status", "#rank": "rank"},
        ExpressionAttributeValues=to_values({":online": ONLINE, ":old": int(time.time()) - 3600}),
    )


def test_allocations_racing_presence_and_capacity_changes(real, monkeypatch):
    # What is proven here is where chats go, not how fast: on a loaded machine a few more commit
    # attempts than the default may be needed before an answer, instead of a 503.
    monkeypatch.setenv("ALLOCATION_MAX_ATTEMPTS", "50")
    store_module.reset()
    store, settings = get_store(), get_settings()
    seed.seed_extra(AGENT, 2, "load-pass-123")  # agents 4 and 5
    seed.seed_extra(CUSTOMER, 32, "load-pass-123")  # customers 9-40
    logins = {a: sessions.login(store, settings, AGENT, u, p) for a, u, p in _agents()}
    callers = {a: _principal(s.token) for a, s in logins.items()}
    store.agents.set_capacity(1, 40)  # always room: no chat ever needs to overflow
    store.agents.set_capacity(3, 10)
    done = threading.Event()
    forced_at: list[str] = []
    expired: list[int] = []  # agents an allocation found gone (so the stale path is shown to run)
    expire = store.agents.expire
    monkeypatch.setattr(store.agents, "expire", lambda agent, *a: (expired.append(agent), expire(agent, *a))[1])

    def heartbeats() -> None:
        while not done.is_set():
            for agent in (1, 2):
                heartbeat(store, settings, callers[agent], ONLINE)

    def capacity_flips() -> None:
        high = False
        while not done.is_set():
            store.agents.set_capacity(2, 15 if high else 5)
            high = not high

    def stale_agents() -> None:
        # Agents falling silent while online, now and then. A real agent falls silent at most once per
        # presence timeout; once a second is still far more often, but leaves an allocation that meets
        # the same agent gone again (a lost race) its attempts.
        while not done.wait(1.0):
            stale_online(4)
            stale_online(5)

    def force_agent_3_off() -> None:
        time.sleep(0.3)
        store.agents.set_status(3, OFFLINE, end_sessions=True)
        forced_at.append(now_iso())

    def customer(customer_id: int) -> str:
        principal = Principal(CUSTOMER, customer_id, new_id(), int(time.time()) + 3600)
        try:
            channel = channels.initiate(store, settings, principal)
        except Conflict:
            return "busy"
        if customer_id % 3 == 0 and channel.agent_id in (1, 2):  # some chats end while others start
            channels.resolve(store, settings, callers[channel.agent_id], customer_id=customer_id, channel_id=None)
        return "ok"

    stale_online(4)
    stale_online(5)
    background = [threading.Thread(target=f) for f in (heartbeats, capacity_flips, stale_agents, force_agent_3_off)]
    for thread in background:
        thread.start()
    try:
        for _ in range(ROUNDS):
            results = concurrently(customer, CUSTOMERS, workers=16)
            assert results.count("ok") + results.count("busy") == len(CUSTOMERS)
    finally:
        done.set()
        for thread in background:
            thread.join()

    assert {4, 5} <= set(expired), expired  # both stale agents were chosen, found gone and expired
    state = invariants.check()  # I1, I2, I4 and the load index
    active = [c for c in state["channels"] if c["status"] == "active"]
    every = state["channels"]
    assert not [c for c in every if c["agent_id"] in (4, 5)], "a chat went to an agent whose heartbeat had expired"
    assert not [c for c in every if c["agent_id"] == 3 and c["created_at"] > forced_at[0]]
    loads = {a: sum(1 for c in active if c["agent_id"] == a) for a in (1, 2, 3)}
    assert loads[1] <= 40 and loads[2] <= 15 and loads[3] <= 10, loads


def _agents():
    demo = {u.user_id: u for u in seed.DEMO_USERS if u.role == AGENT}
    for agent in (1, 2, 3, 4, 5):
        if agent in demo:
            yield agent, demo[agent].username, demo[agent].password
        else:
            yield agent, f"agent{agent}", "load-pass-123"


def _principal(token: str) -> Principal:
    from chalicelib.auth import verify_token

    return verify_token(get_settings(), token)
