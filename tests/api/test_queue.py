"""The queue (ROUTING_OVERFLOW=queue): queueing, draining, leaving, positions and estimates.

Demo users: agents 1-3 (capacity 2 each by default), customers 1-8.
"""

import pytest

from chalicelib import allocation, clock
from chalicelib import store as store_module
from tests.support import invariants
from tests.support.dynamo_hooks import before
from tests.support.ties import LowestIdFirst


@pytest.fixture
def queue(api, monkeypatch):
    monkeypatch.setenv("ROUTING_OVERFLOW", "queue")
    monkeypatch.setattr(allocation, "_TIES", LowestIdFirst())
    store_module.reset()
    return api


def initiate(api, customer_id):
    return api.request("POST", f"/customer/{customer_id}/chat/initiate", token=api.token("customer", customer_id))


def my_chat(api, customer_id, token=None):
    return api.request("GET", f"/customer/{customer_id}/chat", token=token or api.token("customer", customer_id))


def full_desk(api):
    """Agents 1 and 2 online with two chats each (customers 1-4); customers 5-7 queued."""
    agents = {1: api.token("agent", 1), 2: api.token("agent", 2)}
    for customer_id in (1, 2, 3, 4):
        assert initiate(api, customer_id).body["status"] == "active"
    queued = {c: initiate(api, c) for c in (5, 6, 7)}
    return agents, queued


def check(now=None):
    state = invariants.check()
    invariants.check_no_wait_beside_a_free_slot(now or clock.now(), state=state)
    return state


def test_the_issue_walkthrough(queue):
    """ROUTING_OVERFLOW=queue: the issue's "done when", through the API."""
    api = queue
    agents, queued = full_desk(api)
    assert [queued[c].status for c in (5, 6, 7)] == [201, 201, 201]
    assert [queued[c].body["status"] for c in (5, 6, 7)] == ["queued"] * 3
    assert [queued[c].body["queue_position"] for c in (5, 6, 7)] == [1, 2, 3]
    assert all(queued[c].body["agent_id"] is None for c in (5, 6, 7))
    check()

    chat_of_1 = my_chat(api, 1).body["channel"]
    agent_of_1 = chat_of_1["agent_id"]
    reply = api.resolve(agent_of_1, agents[agent_of_1], 1)
    assert reply.status == 200 and reply.body["status"] == "resolved"
    five = my_chat(api, 5).body["channel"]
    assert five["status"] == "active" and five["agent_id"] == agent_of_1
    assert five["assignment"]["reason"] == "drain" and five["assignment"]["rule"] == "first_in_queue"
    six = my_chat(api, 6).body["channel"]
    assert six["status"] == "queued" and six["queue_position"] == 1
    check()

    three = api.login("agent", 3)
    assert three.status == 200 and three.body["user"]["active_chats"] == 2
    assert my_chat(api, 6).body["channel"]["agent_id"] == 3
    assert my_chat(api, 7).body["channel"]["agent_id"] == 3
    check()

    full = api.request(
        "POST",
        f"/agent/{agent_of_1}/chat/transfer",
        token=agents[agent_of_1],
        form={"customer_id": 5, "to_agent_id": 3},
    )
    assert full.status == 409 and full.body["error"]["code"] == "agent_unavailable"

    past = api.request("GET", "/customer/1/chats", token=api.token("customer", 1))
    assert past.status == 200
    assert [(c["channel_id"], c["status"]) for c in past.body["chats"]] == [(chat_of_1["channel_id"], "resolved")]
    check()


def test_a_queued_chat_shows_why_and_its_place_and_an_estimate(queue):
    api = queue
    full_desk(api)
    reply = my_chat(api, 6)
    channel = reply.body["channel"]
    assert channel["queue_position"] == 2
    # 2 online agents x capacity 2 = 4 slots; the default handle time is 300 s: 2 x 300 / 4.
    assert channel["estimated_wait_seconds"] == 150
    assert channel["assignment"]["rule"] == "queue" and channel["assignment"]["agent_id"] is None
    assert {c["agent_id"] for c in channel["assignment"]["candidates"]} == {1, 2}
    entries = [m for m in reply.body["messages"] if m["sender_role"] == "system"]
    assert [m["kind"] for m in entries] == ["queued"]


def test_with_nobody_online_a_chat_waits_without_an_estimate_and_the_first_login_takes_it(queue):
    api = queue
    reply = initiate(api, 1)
    assert reply.body["status"] == "queued" and reply.body["queue_position"] == 1
    assert "estimated_wait_seconds" not in reply.body
    assert api.login("agent", 2).body["user"]["active_chats"] == 1
    assert my_chat(api, 1).body["channel"]["agent_id"] == 2
    check()


def test_the_seed_policy_is_unchanged_without_the_queue(api):
    for agent_id in (1, 2):
        api.token("agent", agent_id)
    replies = [api.initiate(c) for c in range(1, 6)]
    assert all(r.body["status"] == "active" for r in replies)  # the fifth overflows (rule 2)
    assert replies[-1].body["assignment"]["rule"] == "overflow"


def test_leaving_the_queue_moves_the_others_up(queue):
    api = queue
    full_desk(api)
    token = api.token("customer", 5)
    reply = api.request("POST", "/customer/5/chat/leave", token=token)
    assert reply.status == 200
    assert reply.body["status"] == "resolved" and reply.body["ended_by"] == "customer"
    assert my_chat(api, 6).body["channel"]["queue_position"] == 1
    assert my_chat(api, 7).body["channel"]["queue_position"] == 2
    again = api.request("POST", "/customer/5/chat/leave", token=token)
    assert again.status == 409 and again.body["error"]["code"] == "no_active_chat"
    assert initiate(api, 5).body["queue_position"] == 3  # and may come back, at the end
    check()


def test_leaving_an_active_chat_frees_the_slot_for_the_queue_and_the_agent_sees_it(queue):
    api = queue
    agents, _ = full_desk(api)
    chat = my_chat(api, 2).body["channel"]
    assert api.request("POST", "/customer/2/chat/leave", token=api.token("customer", 2)).status == 200
    assert my_chat(api, 5).body["channel"]["agent_id"] == chat["agent_id"]
    history = api.request(
        "GET",
        f"/agent/{chat['agent_id']}/chat",
        token=agents[chat["agent_id"]],
        query={"channel_id": chat["channel_id"]},
    )
    assert history.body["channel"]["ended_by"] == "customer"
    assert [m["kind"] for m in history.body["messages"] if m["sender_role"] == "system"] == ["left"]
    check()


def test_a_resolve_that_saw_an_empty_queue_does_not_strand_a_chat_queued_meanwhile(queue):
    """The issue's careful case: the queue is read empty, a chat is queued, then the resolve
    commits. It must not: it reads again and hands the slot to that chat."""
    api = queue
    agents = {1: api.token("agent", 1), 2: api.token("agent", 2)}
    for customer_id in (1, 2, 3, 4):
        initiate(api, customer_id)
    late = api.token("customer", 5)
    agent_of_1 = my_chat(api, 1).body["channel"]["agent_id"]

    def queue_one_meanwhile(_params):
        assert api.request("POST", "/customer/5/chat/initiate", token=late).body["status"] == "queued"

    with before("TransactWriteItems", queue_one_meanwhile) as fired:
        assert api.resolve(agent_of_1, agents[agent_of_1], 1).status == 200
    assert fired
    assert my_chat(api, 5).body["channel"]["agent_id"] == agent_of_1
    check()


def test_more_capacity_and_coming_back_from_away_take_queued_chats(queue):
    api = queue
    agents, _ = full_desk(api)
    supervisor = api.token("supervisor", 1)
    reply = api.request("PUT", "/supervisor/1/agents/1", token=supervisor, form={"max_chats": 3})
    assert reply.status == 200 and reply.body["active_chats"] == 3
    assert my_chat(api, 5).body["channel"]["agent_id"] == 1
    away = api.request("PUT", "/agent/2/presence", token=agents[2], form={"status": "away"})
    assert away.status == 200
    api.resolve(2, agents[2], my_chat(api, 2).body["channel"]["customer_id"])  # away: its slot stays unused
    assert my_chat(api, 6).body["channel"]["status"] == "queued"
    check()
    back = api.request("PUT", "/agent/2/presence", token=agents[2], form={"status": "online"})
    assert back.body["active_chats"] == 2
    assert my_chat(api, 6).body["channel"]["agent_id"] == 2
    check()


def test_the_supervisor_sees_the_queue_head_first(queue):
    api = queue
    full_desk(api)
    reply = api.request("GET", "/supervisor/1/queue", token=api.token("supervisor", 1))
    assert reply.status == 200
    assert reply.body["queued"] == 3 and reply.body["team"] == "default"
    assert [e["customer_id"] for e in reply.body["entries"]] == [5, 6, 7]
    page = api.request("GET", "/supervisor/1/queue", token=api.token("supervisor", 1), query={"limit": 2})
    assert [e["customer_id"] for e in page.body["entries"]] == [5, 6]
    rest = api.request(
        "GET", "/supervisor/1/queue", token=api.token("supervisor", 1), query={"cursor": page.body["next_cursor"]}
    )
    assert [e["customer_id"] for e in rest.body["entries"]] == [7]


def test_customers_may_write_while_queued_and_agents_read_it_on_assignment(queue):
    api = queue
    agents, _ = full_desk(api)
    token = api.token("customer", 5)
    assert api.customer_send(5, token, "hello, anyone?").status == 201
    api.resolve(1, agents[1], my_chat(api, 1).body["channel"]["customer_id"])
    history = api.request("GET", "/agent/1/chat", token=agents[1], query={"customer_id": 5})
    texts = [m["text"] for m in history.body["messages"] if m["sender_role"] == "customer"]
    assert texts == ["hello, anyone?"]


def test_the_sweep_reports_each_queues_length_and_oldest_wait_as_metrics(queue, capsys):
    import json

    from chalicelib.routes import schedule

    full_desk(queue)
    capsys.readouterr()
    schedule.sweep()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    (gauge,) = [line for line in lines if "QueueLength" in line]
    assert (gauge["Team"], gauge["QueueLength"]) == ("default", 3)
    assert 0 <= gauge["OldestQueuedSeconds"] < 60 and "event_id" not in gauge
    directive = gauge["_aws"]["CloudWatchMetrics"][0]
    assert {m["Name"] for m in directive["Metrics"]} == {"QueueLength", "OldestQueuedSeconds"}
