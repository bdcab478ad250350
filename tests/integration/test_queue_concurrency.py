"""The queue under real concurrency (DynamoDB Local, threads in-process).

With ``ROUTING_OVERFLOW=queue`` and ``ON_AGENT_OFFLINE=requeue``, in each
round: customers open chats (more than the agents' slots, so many queue) and
some leave at once; agents resolve, transfer to each other and back to the
queue; one agent logs in and out; another falls silent and the presence sweep
takes it offline; a supervisor flips an agent's capacity. When the round has
settled, from the database: I1-I4 (a chat is in exactly one place: with one
agent, or once in its team's queue, or ended), the queue's count equals its
entries, no chat waits while an available agent has a free slot (but the
agent who put it back), and chats queued at initiate were taken in the order
they joined. ``QUEUE_ROUNDS`` sets the rounds (default 3; e.g. 20 for a slow
run).
"""

from __future__ import annotations

import os
import random
import threading
import time

from chalicelib import channels, clock, presence, sessions, supervision, transfers
from chalicelib import store as store_module
from chalicelib.auth import verify_token
from chalicelib.config import get_settings
from chalicelib.errors import DomainError
from chalicelib.keys import AGENT, CUSTOMER, SUPERVISOR, agent_pk, new_id
from chalicelib.models import ONLINE, Principal
from chalicelib.store import get_store
from chalicelib.store.dynamo import get_client, to_item, to_values
from tests.support import invariants
from tests.support.live import concurrently
from tools import seed

ROUNDS = int(os.environ.get("QUEUE_ROUNDS", "3"))
CUSTOMERS = range(1, 31)
WORKING_AGENTS = (1, 2, 3, 4)
PASSWORD = "queue-pass-123"


def silence(agent_id: int) -> None:
    """The agent stops beating: its last heartbeat is long ago (test-only write)."""
    get_client().update_item(
        TableName=get_settings().users_table,
        Key=to_item({"pk": agent_pk(agent_id)}),
        UpdateExpression="SET last_seen = :old",
        ExpressionAttributeValues=to_values({":old": int(time.time()) - 3600}),
    )


def test_queue_drain_leave_transfer_logins_and_timeouts_racing(real, monkeypatch):
    monkeypatch.setenv("ROUTING_OVERFLOW", "queue")
    monkeypatch.setenv("ON_AGENT_OFFLINE", "requeue")
    monkeypatch.setenv("ALLOCATION_MAX_ATTEMPTS", "30")
    store_module.reset()
    store, settings = get_store(), get_settings()
    seed.seed_extra(AGENT, 2, PASSWORD)  # agents 4 and 5
    seed.seed_extra(CUSTOMER, 22, PASSWORD)  # customers 9-30
    supervisor = Principal(SUPERVISOR, 1, new_id(), int(time.time()) + 3600)
    rng = random.Random(11)
    refused: dict[str, int] = {}

    def tolerate(kind: str, action) -> None:
        try:
            action()
        except DomainError as error:  # refused or lost a race: the database must still be right
            refused[f"{kind}:{error.code}"] = refused.get(f"{kind}:{error.code}", 0) + 1

    def one_round(round_: int) -> None:
        logins = {a: _login(store, settings, a) for a in WORKING_AGENTS}
        done = threading.Event()

        def heartbeats() -> None:
            while not done.wait(0.05):
                for agent_id in (1, 2, 3):
                    tolerate("heartbeat", lambda a=agent_id: presence.heartbeat(store, settings, logins[a], ONLINE))

        def agent_work(agent_id: int) -> None:
            me = logins[agent_id]
            local = random.Random(round_ * 10 + agent_id)
            while not done.wait(0.01):
                mine = store.channels.active_for(agent_id)
                if not mine:
                    continue
                chat = local.choice(mine)
                roll = local.random()
                if roll < 0.6:
                    tolerate("resolve", lambda c=chat: channels.resolve(store, settings, me, customer_id=None,
                                                                         channel_id=c.channel_id))  # fmt: skip
                elif roll < 0.85:
                    to = local.choice([a for a in WORKING_AGENTS if a != agent_id])
                    tolerate("transfer", lambda c=chat, t=to: transfers.transfer(
                        store, settings, me, channel_id=c.channel_id, to_agent_id=t))  # fmt: skip
                else:
                    tolerate("to_queue", lambda c=chat: transfers.transfer(
                        store, settings, me, channel_id=c.channel_id, to_queue=True))  # fmt: skip

        def login_churn() -> None:  # agent 5 comes and goes (its chats are requeued when it goes)
            while not done.wait(0.1):
                session = _login(store, settings, 5)
                time.sleep(0.05)
                tolerate("logout", lambda s=session: sessions.logout(store, settings, s))

        def timeouts() -> None:  # agent 4 falls silent now and then; the sweep runs meanwhile
            while not done.wait(0.15):
                silence(4)
                tolerate("sweep", lambda: presence.sweep(store, settings))

        def capacity() -> None:
            high = False
            while not done.wait(0.1):
                tolerate("capacity", lambda h=high: supervision.update_agent(
                    store, settings, supervisor, 2, max_chats=3 if h else 1, status=None))  # fmt: skip
                high = not high

        def customer(customer_id: int) -> None:
            principal = Principal(CUSTOMER, customer_id, new_id(), int(time.time()) + 3600)
            tolerate("initiate", lambda: channels.initiate(store, settings, principal))
            if rng.random() < 0.25:
                tolerate("leave", lambda: channels.leave(store, settings, principal))

        background = [threading.Thread(target=f) for f in (heartbeats, login_churn, timeouts, capacity)]
        background += [threading.Thread(target=agent_work, args=(a,)) for a in WORKING_AGENTS]
        for thread in background:
            thread.start()
        try:
            concurrently(customer, CUSTOMERS, workers=12)
            time.sleep(0.5)
        finally:
            done.set()
            for thread in background:
                thread.join()

        state = invariants.check()
        invariants.check_no_wait_beside_a_free_slot(clock.now(), settings.presence_timeout_seconds, state=state)
        invariants.check_fifo(state)
        print(f"round {round_ + 1}: {len(state['queue_entries'])} queued, refusals {sorted(refused.items())}")

    for round_ in range(ROUNDS):
        one_round(round_)
    queued = [m for m in invariants.snapshot()["messages"] if m.get("kind") == "queued"]
    assert queued, "no chat was ever queued: the rounds never filled the agents"


def _login(store, settings, agent_id: int) -> Principal:
    demo = {u.user_id: u for u in seed.DEMO_USERS if u.role == AGENT}
    username, password = (demo[agent_id].username, demo[agent_id].password) if agent_id in demo else (
        f"agent{agent_id}", PASSWORD)  # fmt: skip
    session = sessions.login(store, settings, AGENT, username, password)
    return verify_token(settings, session.token)
