"""Transfers (agent and supervisor), back to the queue, and reassignment when an agent goes offline.

Demo users: agents 1-3 (capacity 2 each by default), customers 1-8.
"""

import pytest

from chalicelib import allocation
from chalicelib import store as store_module
from tests.support import invariants
from tests.support.ties import LowestIdFirst


@pytest.fixture(autouse=True)
def ties(monkeypatch):
    monkeypatch.setattr(allocation, "_TIES", LowestIdFirst())


@pytest.fixture
def queue(api, monkeypatch):
    monkeypatch.setenv("ROUTING_OVERFLOW", "queue")
    store_module.reset()
    return api


def transfer(api, agent_id, token, **form):
    return api.request("POST", f"/agent/{agent_id}/chat/transfer", token=token, form=form)


def chat_of(api, customer_id):
    reply = api.request("GET", f"/customer/{customer_id}/chat", token=api.token("customer", customer_id))
    return reply.body["channel"]


def test_a_transfer_moves_the_chat_and_both_counts_and_the_history_keeps_everything(api):
    one, two = api.token("agent", 1), api.token("agent", 2)
    customer = api.token("customer", 1)
    channel = api.initiate(1, customer).body
    assert channel["agent_id"] == 1
    api.customer_send(1, customer, "my order is late")
    api.agent_send(1, one, 1, "let me pass you to billing")
    reply = transfer(api, 1, one, customer_id=1, to_agent_id=2)
    assert reply.status == 200, reply.body
    assert reply.body["agent_id"] == 2 and reply.body["status"] == "active"
    assert reply.body["assignment"] | {"at": None, "candidates": None} == {
        "reason": "transfer", "rule": "chosen", "agent_id": 2, "at": None, "attempts": 1, "by": "agent#1",
        "candidates": None,
    }  # fmt: skip
    assert invariants.loads() == {1: 0, 2: 1, 3: 0}
    history = api.request("GET", "/agent/2/chat", token=two, query={"customer_id": 1}).body
    assert [(m["sender_role"], m.get("kind")) for m in history["messages"]] == [
        ("customer", None), ("agent", None), ("system", "transferred"),
    ]  # fmt: skip
    assert api.agent_send(2, two, 1, "billing here").status == 201
    assert api.agent_send(1, one, 1, "still me?").status == 403  # no longer agent 1's chat
    invariants.check()


@pytest.mark.parametrize(
    ("form", "status", "code"),
    [
        ({"customer_id": 1, "to_agent_id": 1}, 400, "invalid_input"),
        ({"customer_id": 1, "to_agent_id": 99}, 404, "agent_not_found"),
        ({"customer_id": 1, "to_agent_id": 3}, 409, "agent_unavailable"),  # offline
        ({"customer_id": 2, "to_agent_id": 2}, 403, "not_your_chat"),
        ({"customer_id": 5, "to_agent_id": 2}, 409, "no_active_chat"),
        ({"customer_id": 1}, 400, "invalid_input"),
        ({"customer_id": 1, "to_agent_id": 2, "to": "queue"}, 400, "invalid_input"),
        ({"customer_id": 1, "to": "elsewhere"}, 400, "invalid_input"),
        ({"to_agent_id": 2}, 400, "invalid_input"),
        ({"customer_id": 1, "to": "queue"}, 409, "queue_disabled"),
    ],
)
def test_bad_transfers_are_refused_and_change_nothing(api, form, status, code):
    one, _two = api.token("agent", 1), api.token("agent", 2)
    api.initiate(1)  # agent 1
    api.initiate(2)  # agent 2
    before = invariants.snapshot()
    reply = transfer(api, 1, one, **form)
    assert (reply.status, reply.body["error"]["code"]) == (status, code), reply.body
    assert invariants.snapshot() == before


def test_a_transfer_to_a_full_agent_is_a_409_and_changes_nothing(api):
    one, _two = api.token("agent", 1), api.token("agent", 2)
    for customer_id in (1, 2, 3, 4):
        api.initiate(customer_id)  # 1 and 3 with agent 1, 2 and 4 with agent 2: both full
    before = invariants.snapshot()
    reply = transfer(api, 1, one, customer_id=1, to_agent_id=2)
    assert reply.status == 409 and reply.body["error"]["code"] == "agent_unavailable"
    assert invariants.snapshot() == before


def test_a_resolved_chat_cannot_be_transferred(api):
    one, _ = api.token("agent", 1), api.token("agent", 2)
    channel = api.initiate(1).body
    api.resolve(1, one, 1)
    reply = transfer(api, 1, one, channel_id=channel["channel_id"], to_agent_id=2)
    assert reply.status == 409 and reply.body["error"]["code"] == "already_resolved"


def test_a_supervisor_transfers_any_chat(api):
    api.token("agent", 1), api.token("agent", 2)
    channel = api.initiate(1).body
    supervisor = api.token("supervisor", 1)
    path = f"/supervisor/1/chats/{channel['channel_id']}/transfer"
    reply = api.request("POST", path, token=supervisor, form={"to_agent_id": 2})
    assert reply.status == 200 and reply.body["agent_id"] == 2
    assert reply.body["assignment"]["by"] == "supervisor#1"
    missing = api.request("POST", "/supervisor/1/chats/01ARZ3NDEKTSV4RRFFQ69G5FAV/transfer", token=supervisor,
                          form={"to_agent_id": 1})  # fmt: skip
    assert missing.status == 404 and missing.body["error"]["code"] == "channel_not_found"
    malformed = api.request("POST", "/supervisor/1/chats/nope/transfer", token=supervisor, form={"to_agent_id": 1})
    assert malformed.status == 400 and malformed.body["error"]["field"] == "channel_id"
    invariants.check()


def test_to_the_queue_goes_to_another_free_agent_first(queue):
    api = queue
    one, _two = api.token("agent", 1), api.token("agent", 2)
    api.initiate(1)
    reply = transfer(api, 1, one, customer_id=1, to="queue")
    assert reply.status == 200 and reply.body["agent_id"] == 2 and reply.body["assignment"]["rule"] == "under_cap"
    invariants.check()


def test_to_the_queue_waits_at_the_head_and_is_not_offered_back_to_its_agent(queue):
    api = queue
    one, two = api.token("agent", 1), api.token("agent", 2)
    for customer_id in (1, 2, 3, 4, 5):
        api.initiate(customer_id)  # 5 is queued
    reply = transfer(api, 1, one, customer_id=1, to="queue")
    assert reply.status == 200, reply.body
    # Agent 1's freed slot took customer 5 (first in the queue it may take); customer 1 waits first.
    assert reply.body["status"] == "queued" and reply.body["agent_id"] is None
    assert chat_of(api, 5)["agent_id"] == 1
    assert chat_of(api, 1)["queue_position"] == 1
    queue_page = api.request("GET", "/supervisor/1/queue", token=api.token("supervisor", 1)).body
    assert queue_page["entries"][0] | {"queued_at": None} == {
        "channel_id": reply.body["channel_id"], "customer_id": 1, "queued_at": None, "declined_by": 1,
    }  # fmt: skip
    # Agent 1 frees a slot: customer 1's chat is not offered back to it.
    api.resolve(1, one, 3)
    assert chat_of(api, 1)["status"] == "queued"
    invariants.check()
    # Agent 2 frees one: it takes customer 1.
    api.resolve(2, two, 2)
    assert chat_of(api, 1)["agent_id"] == 2
    invariants.check()


@pytest.fixture
def requeue(api, monkeypatch):
    monkeypatch.setenv("ON_AGENT_OFFLINE", "requeue")
    store_module.reset()
    return api


def test_an_agent_logging_out_hands_its_chats_to_free_agents(requeue):
    api = requeue
    one, _two = api.token("agent", 1), api.token("agent", 2)
    api.initiate(1), api.initiate(2), api.initiate(3)  # 1 and 3 with agent 1, 2 with agent 2
    assert api.logout("agent", 1, one).body["status"] == "offline"
    assert chat_of(api, 1)["agent_id"] == 2 and chat_of(api, 1)["assignment"]["reason"] == "agent_offline"
    # Agent 2 had one slot left; without a queue the seed's rule 2 then piles the other onto it.
    rules = sorted(chat_of(api, c)["assignment"]["rule"] for c in (1, 3))
    assert chat_of(api, 3)["agent_id"] == 2 and rules == ["overflow", "under_cap"]
    assert invariants.loads() == {1: 0, 2: 3, 3: 0}
    invariants.check()


def test_without_requeue_an_offline_agent_keeps_its_chats(api):
    one, _two = api.token("agent", 1), api.token("agent", 2)
    api.initiate(1)
    api.logout("agent", 1, one)
    assert chat_of(api, 1)["agent_id"] == 1


def test_with_a_queue_an_offline_agents_chats_wait_at_the_head(requeue, monkeypatch):
    monkeypatch.setenv("ROUTING_OVERFLOW", "queue")
    store_module.reset()
    api = requeue
    api.token("agent", 1), api.token("agent", 2)
    for customer_id in (1, 2, 3, 4, 5):
        api.initiate(customer_id)  # agents 1 and 2 full; 5 queued
    supervisor = api.token("supervisor", 1)
    assert api.request("PUT", "/supervisor/1/agents/1", token=supervisor, form={"status": "offline"}).status == 200
    # Agent 1's two chats are back at the head, before customer 5; nobody else has a slot.
    order = api.request("GET", "/supervisor/1/queue", token=supervisor).body["entries"]
    assert [e["customer_id"] for e in order][-1] == 5 and sorted(e["customer_id"] for e in order[:2]) == [1, 3]
    assert all(chat_of(api, c)["assignment"]["reason"] == "agent_offline" for c in (1, 3))
    assert api.login("agent", 3).body["user"]["active_chats"] == 2  # agent 3 takes the head
    assert chat_of(api, 5)["status"] == "queued"
    invariants.check()


@pytest.fixture
def later(monkeypatch):
    """The service's clock, moved by the test: ``later.advance(seconds)``."""
    import time

    from chalicelib import clock

    class Clock:
        t = time.time()

        def advance(self, seconds):
            self.t += seconds

    fake = Clock()
    monkeypatch.setattr(clock, "now", lambda: fake.t)
    return fake


def sweep():
    from chalicelib import presence
    from chalicelib.config import get_settings

    return presence.sweep(store_module.get_store(), get_settings())


def test_a_chat_waiting_too_long_for_a_reply_moves_to_another_agent(api, monkeypatch, later):
    monkeypatch.setenv("REPLY_TIMEOUT_SECONDS", "120")
    store_module.reset()
    one, _two = api.token("agent", 1), api.token("agent", 2)
    customer, other = api.token("customer", 1), api.token("customer", 2)
    api.initiate(1, customer), api.initiate(2, other)
    api.customer_send(1, customer, "hello?")
    api.customer_send(2, other, "hi")
    api.agent_send(2, api.token("agent", 2), 2, "hi, how can I help?")  # answered: stays
    later.advance(60)
    sweep()
    assert chat_of(api, 1)["agent_id"] == 1  # not yet
    later.advance(61)
    # Both agents stay present (heartbeats) so only the reply clock moves the chat.
    for agent_id, token in ((1, one), (2, api.token("agent", 2))):
        api.request("PUT", f"/agent/{agent_id}/presence", token=token, form={"status": "online"})
    sweep()
    moved = chat_of(api, 1)
    assert moved["agent_id"] == 2 and moved["assignment"]["reason"] == "reply_timeout"
    assert chat_of(api, 2)["agent_id"] == 2
    later.advance(121)
    api.request("PUT", "/agent/2/presence", token=api.token("agent", 2), form={"status": "online"})
    sweep()  # the transfer's system entry restarted the clock for agent 2, and agent 1 is gone
    assert chat_of(api, 1)["agent_id"] == 2  # not moved again: nobody waits for agent 2's reply yet
    invariants.check()


def test_the_sweep_requeues_the_chats_of_an_agent_that_went_silent(requeue, monkeypatch, later):
    monkeypatch.setenv("ROUTING_OVERFLOW", "queue")
    store_module.reset()
    api = requeue
    api.token("agent", 1)
    for customer_id in (1, 2, 3):
        api.initiate(customer_id)  # 1 and 2 with agent 1; 3 queued
    later.advance(91)
    assert sweep() == [1]
    assert [chat_of(api, c)["status"] for c in (1, 2, 3)] == ["queued"] * 3
    assert chat_of(api, 3)["queue_position"] == 3  # the requeued ones go first
    assert api.login("agent", 2).body["user"]["active_chats"] == 2
    assert {chat_of(api, c)["agent_id"] for c in (1, 2)} == {2}
    invariants.check()
