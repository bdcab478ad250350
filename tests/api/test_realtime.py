"""Tickets, connections and the push of events to them (moto and DynamoDB Local).

The management API is replaced by a recorder here; tests/integration/test_realtime_e2e.py
runs the real sockets through the local gateway.
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib import realtime, sockets
from chalicelib.config import get_settings
from chalicelib.errors import Unauthorized
from chalicelib.store.connections import Connection
from tests.support import FIXTURES

RECORDED = json.loads((FIXTURES / "stream_records.json").read_text())["records"]
CHATS = [r for r in RECORDED if "chats" in r["eventSourceARN"]]
ENDPOINT = "https://example.execute-api.us-east-1.amazonaws.com/api"


def ticket_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["ticket"][0]


def test_a_ticket_url_carries_a_ticket_not_the_token(api):
    token = api.token("customer", 1)
    reply = api.request("POST", "/customer/1/ws-ticket", token=token)
    assert reply.status == 200
    assert reply.body["url"].startswith("ws://127.0.0.1:8081/?ticket=")
    assert token not in reply.body["url"] and len(ticket_of(reply.body["url"])) >= 40
    assert reply.body["expires_at"].endswith("Z")


def test_a_ticket_connects_its_user_once(api, store):
    url = api.request("POST", "/agent/1/ws-ticket", token=api.token("agent", 1)).body["url"]
    connection = realtime.connect(store, get_settings(), ticket_of(url), "conn-1", ENDPOINT)
    assert (connection.role, connection.user_id, connection.endpoint) == ("agent", 1, ENDPOINT)
    assert store.connections.of_user("agent", 1) == [connection]
    with pytest.raises(Unauthorized) as again:
        realtime.connect(store, get_settings(), ticket_of(url), "conn-2", ENDPOINT)
    assert again.value.code == "invalid_ticket"
    assert [c.connection_id for c in store.connections.of_user("agent", 1)] == ["conn-1"]


def test_an_expired_ticket_is_refused(api, store):
    url = api.request("POST", "/customer/2/ws-ticket", token=api.token("customer", 2)).body["url"]
    with pytest.raises(Unauthorized):
        realtime.connect(store, get_settings(), ticket_of(url), "conn-1", ENDPOINT, now=time.time() + 61)
    assert store.connections.of_user("customer", 2) == []


def test_the_gateway_answers_401_to_a_bad_ticket_and_200_to_a_good_one(api):
    from app import ws_connect

    url = api.request("POST", "/customer/2/ws-ticket", token=api.token("customer", 2)).body["url"]

    def event(ticket):
        context = {"connectionId": "c1", "domainName": "x.example", "stage": "api", "apiId": "x"}
        return {"requestContext": context, "queryStringParameters": {"ticket": ticket} if ticket else None}

    assert ws_connect(event(None), None)["statusCode"] == 401
    assert ws_connect(event("nope"), None)["statusCode"] == 401
    assert ws_connect(event(ticket_of(url)), None)["statusCode"] == 200


def test_disconnect_forgets_the_connection(store):
    store.connections.add(Connection("conn-1", "customer", 1, ENDPOINT))
    realtime.disconnect(store, "conn-1")
    realtime.disconnect(store, "conn-1")  # twice is fine
    assert store.connections.of_user("customer", 1) == []


class Recorder:
    def __init__(self, gone: set[str] = frozenset()) -> None:
        self.sent: list[tuple[str, dict]] = []
        self.gone = gone

    def __call__(self, endpoint: str, connection_id: str, data: bytes) -> bool:
        if connection_id in self.gone:
            raise sockets.Gone(connection_id)
        self.sent.append((connection_id, json.loads(data)))
        return True


def test_chat_events_reach_only_the_chats_agent_and_customer(store):
    for connection_id, role, user_id in [("a1", "agent", 1), ("c1", "customer", 1), ("c2", "customer", 2)]:
        store.connections.add(Connection(connection_id, role, user_id, ENDPOINT))
    post = Recorder()
    realtime.deliver(store, CHATS, post=post)
    by_connection = {cid: [e["type"] for c, e in post.sent if c == cid] for cid in ("a1", "c1", "c2")}
    # The recorded chat is not in this database: its messages have no known participants and go nowhere.
    assert by_connection == {
        "a1": ["chat.assigned", "chat.resolved"],
        "c1": ["chat.assigned", "chat.resolved"],
        "c2": [],
    }


def test_a_message_goes_to_both_participants_of_its_chat(chat, store):
    store.connections.add(Connection("a1", "agent", 1, ENDPOINT))
    store.connections.add(Connection("c1", "customer", 1, ENDPOINT))
    record = json.loads(json.dumps(next(r for r in CHATS if r["dynamodb"]["Keys"]["sk"]["S"].startswith("msg#"))))
    for image in (record["dynamodb"]["Keys"], record["dynamodb"]["NewImage"]):
        image["pk"] = {"S": f"channel#{chat['channel_id']}"}
    record["dynamodb"]["NewImage"]["channel_id"] = {"S": chat["channel_id"]}
    post = Recorder()
    assert realtime.deliver(store, [record], post=post) == 2
    assert sorted(cid for cid, _ in post.sent) == ["a1", "c1"]
    assert {e["agent_id"] for _, e in post.sent} == {1} and {e["customer_id"] for _, e in post.sent} == {1}


def test_a_gone_connection_is_forgotten_and_the_others_still_served(store):
    store.connections.add(Connection("old", "agent", 1, ENDPOINT))
    store.connections.add(Connection("new", "agent", 1, ENDPOINT))
    post = Recorder(gone={"old"})
    realtime.deliver(store, CHATS, post=post)
    assert [cid for cid, _ in post.sent] == ["new", "new"]
    assert [c.connection_id for c in store.connections.of_user("agent", 1)] == ["new"]
