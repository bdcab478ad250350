"""Tickets for the WebSocket: issued by the API, used once, expiring (moto and DynamoDB Local).

The push of events to connections is in tests/store/test_realtime_delivery.py;
tests/integration/test_realtime_e2e.py runs the real sockets through the local gateway.
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib import realtime
from chalicelib import store as store_module
from chalicelib.config import get_settings
from chalicelib.errors import Unauthorized
from tests.support import FIXTURES

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


def test_a_supervisor_ticket_watches_the_default_team_or_the_one_named(api, store, monkeypatch):
    monkeypatch.setenv("TEAMS", "default,sales")
    store_module.reset()
    token = api.token("supervisor", 1)
    default = api.request("POST", "/supervisor/1/ws-ticket", token=token)
    sales = api.request("POST", "/supervisor/1/ws-ticket", token=token, form={"team": "sales"})
    assert default.status == sales.status == 200
    assert token not in sales.body["url"]
    store = store_module.get_store()
    for connection_id, reply in (("s-default", default), ("s-sales", sales)):
        realtime.connect(store, get_settings(), ticket_of(reply.body["url"]), connection_id, ENDPOINT)
    assert [c.connection_id for c in store.connections.of_team("default", 5)[0]] == ["s-default"]
    assert [c.connection_id for c in store.connections.of_team("sales", 5)[0]] == ["s-sales"]


def test_a_supervisor_ticket_for_an_unknown_team_is_a_400(api):
    reply = api.request("POST", "/supervisor/1/ws-ticket", token=api.token("supervisor", 1), form={"team": "nope"})
    assert reply.status == 400 and reply.body["error"]["field"] == "team"


def stream_batch() -> dict:
    """The chats-table records of the recorded conversation (assigned, two messages, resolved)."""
    records = json.loads((FIXTURES / "stream_records.json").read_text())["records"]
    return {"Records": [r for r in records if "chats" in r["eventSourceARN"]]}


def test_the_stream_handler_writes_emf_metrics_of_the_batch(api, capsys):
    from app import chats_events

    chats_events(stream_batch(), None)
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    directives = [d["_aws"]["CloudWatchMetrics"][0] for d in documents]
    # The recording predates a channel's ``assignment``: no rule (``unknown``), no handle time.
    assert [m["Name"] for d in directives for m in d["Metrics"]] == ["ChatsAssigned", "ChatsResolved"]
    assert documents[0]["Rule"] == "unknown" and documents[0]["Team"] == "unknown"
    assert {d["Namespace"] for d in directives} == {"AgentAllocation"}


def test_an_empty_metrics_namespace_writes_no_metrics(api, capsys, monkeypatch):
    from app import chats_events

    monkeypatch.setenv("METRICS_NAMESPACE", "")
    store_module.reset()
    chats_events(stream_batch(), None)
    assert '"_aws"' not in capsys.readouterr().out
