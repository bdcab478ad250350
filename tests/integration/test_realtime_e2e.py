"""End to end on DynamoDB Local: the local WebSocket gateway, the stream poller and the app's own
handlers, as ``make run`` wires them; real sockets (the ``websockets`` client).

Given agent 1 online and sockets for agent 1, customer 1 and two bystanders
(customer 2, agent 2), when customer 1 opens a chat, writes, gets a reply and
the chat is resolved, then each socket sees exactly the events of its user's
chats, tickets work once and only for 60 s, and a replayed stream batch pushes
only ids already pushed. A supervisor's socket sees its team's assignments and
presence, never messages, and nothing of another team.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from chalice.test import Client
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

import app as app_module
from app import app
from chalicelib import store as store_module
from chalicelib.config import get_settings
from chalicelib.store import get_store
from tests.support.streams import app_poller
from tools.api_client import Api
from tools.run_local import STAGE
from tools.ws_gateway import RealtimeGateway

CHAT_TYPES = {"chat.assigned", "message.created", "chat.resolved"}
QUIET_SECONDS = 1.5


@pytest.fixture
def realtime(real, monkeypatch) -> Iterator[dict]:
    """The gateway on a free port and a poller handing every stream batch to the app's handlers."""
    gateway = RealtimeGateway(app_module, port=0).start()
    monkeypatch.setenv("WS_URL", f"ws://127.0.0.1:{gateway.port}")
    monkeypatch.setenv("WS_MANAGEMENT_URL", gateway.management_url)
    store_module.reset()
    batches: list[dict] = []
    poller = app_poller(batches)
    with Client(app, stage_name=STAGE) as client:
        yield {"api": Api(client), "batches": batches}
    poller.stop()
    gateway.stop()


def _endpoint() -> str:
    return os.environ["AWS_ENDPOINT_URL_DYNAMODB"]


def socket_for(stack: ExitStack, api: Api, role: str, user_id: int, token: str) -> ClientConnection:
    ticket = api.request("POST", f"/{role}/{user_id}/ws-ticket", token=token)
    assert ticket.status == 200, ticket.body
    return stack.enter_context(connect(ticket.body["url"], open_timeout=5))


def next_chat_event(socket: ClientConnection, timeout: float = 10) -> dict:
    """The next chat or message event (presence events of logins are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        event = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
        if event["type"] in CHAT_TYPES:
            return event


def drain(socket: ClientConnection, seconds: float = QUIET_SECONDS) -> list[dict]:
    out = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            out.append(json.loads(socket.recv(timeout=left)))
        except TimeoutError:
            break
    return out


def test_each_socket_gets_exactly_its_users_chat_events_and_a_replay_pushes_no_new_id(realtime):
    with ExitStack() as stack:
        whole_conversation(stack, realtime["api"], realtime["batches"])


def whole_conversation(stack: ExitStack, api: Api, batches: list[dict]) -> None:
    agent, customer = api.token("agent", 1), api.token("customer", 1)
    bystander = api.token("customer", 2)
    other_agent = api.token("agent", 2)
    sockets = {
        "agent": socket_for(stack, api, "agent", 1, agent),
        "customer": socket_for(stack, api, "customer", 1, customer),
        "bystander": socket_for(stack, api, "customer", 2, bystander),
        "other_agent": socket_for(stack, api, "agent", 2, other_agent),
    }
    api.logout("agent", 2, other_agent)  # offline, socket still open: the chat goes to agent 1
    channel = api.initiate(1, customer).body
    assert channel["agent_id"] == 1
    assigned = next_chat_event(sockets["agent"])
    assert (assigned["type"], assigned["chat_id"], assigned["customer_id"]) == (
        "chat.assigned",
        channel["channel_id"],
        1,
    )

    assert api.customer_send(1, customer, "halo").status == 201
    created = next_chat_event(sockets["agent"])
    assert (created["type"], created["data"]["message"]["text"]) == ("message.created", "halo")

    assert next_chat_event(sockets["customer"])["type"] == "chat.assigned"
    assert next_chat_event(sockets["customer"])["data"]["message"]["text"] == "halo"
    assert api.agent_send(1, agent, 1, "hai").status == 201
    reply = next_chat_event(sockets["customer"])
    assert (reply["type"], reply["data"]["message"]["text"], reply["agent_id"]) == ("message.created", "hai", 1)
    assert api.resolve(1, agent, 1).status == 200
    resolved = next_chat_event(sockets["customer"])
    assert (resolved["type"], resolved["chat_id"]) == ("chat.resolved", channel["channel_id"])

    seen_by_agent = [assigned, created, *drain(sockets["agent"])]
    assert [e["type"] for e in seen_by_agent if e["type"] in CHAT_TYPES] == [
        "chat.assigned",
        "message.created",
        "message.created",
        "chat.resolved",
    ]
    assert [e for e in drain(sockets["bystander"]) if e["type"] in CHAT_TYPES] == []
    assert [e for e in drain(sockets["other_agent"], 0.2) if e["type"] in CHAT_TYPES] == []

    # Replay every chats-table batch the poller handed over: only ids already pushed come again.
    chats_table = get_store().channels.table
    pushed_ids = {e["event_id"] for e in seen_by_agent}
    for batch in list(batches):
        if chats_table in batch["Records"][0]["eventSourceARN"]:
            app_module.chats_events(batch, None)
    replayed = [e for e in drain(sockets["agent"]) if e["type"] in CHAT_TYPES]
    assert replayed, "the replay pushed the events again"
    assert {e["event_id"] for e in replayed} <= pushed_ids


def test_a_ticket_works_once(realtime):
    api = realtime["api"]
    token = api.token("customer", 3)
    url = api.request("POST", "/customer/3/ws-ticket", token=token).body["url"]
    with connect(url, open_timeout=5):
        pass
    with pytest.raises(InvalidStatus) as refused:
        connect(url, open_timeout=5).close()
    assert refused.value.response.status_code == 401


def test_an_expired_or_unknown_ticket_is_refused(realtime, monkeypatch):
    api = realtime["api"]
    token = api.token("customer", 3)
    url = api.request("POST", "/customer/3/ws-ticket", token=token).body["url"]
    base = url.split("?")[0]
    real_time = time.time
    monkeypatch.setattr("chalicelib.realtime.time.time", lambda: real_time() + 61)
    with pytest.raises(InvalidStatus) as expired:
        connect(url, open_timeout=5).close()
    assert expired.value.response.status_code == 401
    for bad in (base, f"{base}?ticket=not-a-ticket"):
        with pytest.raises(InvalidStatus):
            connect(bad, open_timeout=5).close()


def test_a_supervisor_socket_gets_its_teams_assignments_and_presence_but_no_messages(realtime, monkeypatch):
    """Given supervisor sockets on the default and the sales team, when agent 1 (default) logs in and
    customer 1 opens a chat and writes, then the default team's socket sees the presence and the
    assignment but not the message, and the sales team's socket sees nothing."""
    monkeypatch.setenv("TEAMS", "default,sales")
    store_module.reset()
    api = realtime["api"]
    supervisor = api.token("supervisor", 1)
    with ExitStack() as stack:
        watching = {}
        for team in ("default", "sales"):
            ticket = api.request("POST", "/supervisor/1/ws-ticket", token=supervisor, form={"team": team})
            assert ticket.status == 200, ticket.body
            watching[team] = stack.enter_context(connect(ticket.body["url"], open_timeout=5))
        api.token("agent", 1)  # login: agent 1 goes online
        customer = api.token("customer", 1)
        own = socket_for(stack, api, "customer", 1, customer)
        channel = api.initiate(1, customer).body
        assert api.customer_send(1, customer, "private words").status == 201
        assert next_chat_event(own)["type"] == "chat.assigned"
        assert next_chat_event(own)["type"] == "message.created"  # the message's batch was pushed

        seen = []
        deadline = time.monotonic() + 10
        while not {"chat.assigned", "agent.presence"} <= {e["type"] for e in seen} and time.monotonic() < deadline:
            seen.append(json.loads(watching["default"].recv(timeout=max(0.1, deadline - time.monotonic()))))
        seen += drain(watching["default"])
        assigned = next(e for e in seen if e["type"] == "chat.assigned")
        assert (assigned["chat_id"], assigned["team"]) == (channel["channel_id"], "default")
        presence = next(e for e in seen if e["type"] == "agent.presence")
        assert (presence["agent_id"], presence["data"]["status"], presence["team"]) == (1, "online", "default")
        assert not [e for e in seen if e["type"] == "message.created"]
        assert "private words" not in json.dumps(seen)
        assert drain(watching["sales"], 0.2) == []


def test_when_the_queue_moves_the_waiting_customers_are_told_their_new_place(realtime, monkeypatch):
    """Given a queue (agent 1 alone, capacity 1): customer 1 chatting, customers 2 and 3 waiting at
    places 1 and 2, and a supervisor watching; when agent 1 resolves, customer 2's chat goes to agent 1
    and customer 3 is pushed place 1 (with an estimate); the supervisor sees the assignment, no place."""
    monkeypatch.setenv("ROUTING_OVERFLOW", "queue")
    get_settings.cache_clear()
    api = realtime["api"]
    agent = api.token("agent", 1)
    get_store().agents.set_capacity(1, 1)
    supervisor = api.token("supervisor", 1)
    customers = {c: api.token("customer", c) for c in (1, 2, 3)}
    with ExitStack() as stack:
        sockets = {c: socket_for(stack, api, "customer", c, customers[c]) for c in (2, 3)}
        watching = socket_for(stack, api, "supervisor", 1, supervisor)
        assert api.initiate(1, customers[1]).body["status"] == "active"
        assert api.initiate(2, customers[2]).body["queue_position"] == 1
        third = api.initiate(3, customers[3]).body
        assert (third["status"], third["queue_position"]) == ("queued", 2)
        drain(sockets[3], 0.5)  # its own chat.queued

        assert api.resolve(1, agent, 1).status == 200
        deadline = time.monotonic() + 10
        place = None
        while place is None:
            event = json.loads(sockets[3].recv(timeout=max(0.1, deadline - time.monotonic())))
            if event["type"] == "chat.queued" and "queue_position" in event["data"]:
                place = event
        assert (place["chat_id"], place["customer_id"], place["data"]["queue_position"]) == (third["channel_id"], 3, 1)
        assert isinstance(place["data"]["estimated_wait_seconds"], int)
        assert api.request("GET", "/customer/3/chat", token=customers[3]).body["channel"]["queue_position"] == 1
        assert "chat.assigned" in {e["type"] for e in drain(sockets[2])}
        seen = drain(watching)
        assert "chat.assigned" in {e["type"] for e in seen}
        assert not [e for e in seen if "queue_position" in e.get("data", {})]
