"""Connections and the push of events to them (moto and DynamoDB Local).

The management API is replaced by a recorder here; tests/integration/test_realtime_e2e.py
runs the real sockets through the local gateway, and tests/api/test_realtime.py the tickets.
"""

from __future__ import annotations

import json

from chalicelib import realtime, sockets
from chalicelib.store.connections import Connection
from tests.support import FIXTURES

RECORDED = json.loads((FIXTURES / "stream_records.json").read_text())["records"]
CHATS = [r for r in RECORDED if "chats" in r["eventSourceARN"]]
ENDPOINT = "https://example.execute-api.us-east-1.amazonaws.com/api"


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


USERS = [r for r in RECORDED if "users" in r["eventSourceARN"]]


def in_chat(record: dict, channel_id: str, team: str = "default") -> dict:
    """A recorded chats-table record moved into ``channel_id`` (a chat of this database); a channel in ``team``."""
    record = json.loads(json.dumps(record))
    stream = record["dynamodb"]
    stream["Keys"]["pk"] = {"S": f"channel#{channel_id}"}
    for image in (stream.get("NewImage"), stream.get("OldImage")):
        if image:
            image["pk"] = {"S": f"channel#{channel_id}"}
            image["channel_id"] = {"S": channel_id}
            if stream["Keys"]["sk"]["S"] == "channel":
                image["team"] = {"S": team}
    return record


def test_a_supervisor_socket_gets_its_teams_chat_and_presence_events_but_no_messages(chat, store):
    store.connections.add(Connection("s-default", "supervisor", 1, ENDPOINT, "default"))
    store.connections.add(Connection("s-sales", "supervisor", 2, ENDPOINT, "sales"))
    post = Recorder()
    realtime.deliver(store, [*USERS, *(in_chat(r, chat["channel_id"]) for r in CHATS)], post=post)
    seen = {cid: [e["type"] for c, e in post.sent if c == cid] for cid in ("s-default", "s-sales")}
    assert seen == {
        "s-default": ["agent.presence", "agent.presence", "chat.assigned", "chat.resolved"],
        "s-sales": [],
    }
    assert all(e["team"] == "default" for c, e in post.sent if c == "s-default")


def test_a_message_names_its_chats_team_but_reaches_only_the_participants(chat, store):
    store.connections.add(Connection("a1", "agent", 1, ENDPOINT))
    store.connections.add(Connection("s1", "supervisor", 1, ENDPOINT, "default"))
    message = next(r for r in CHATS if r["dynamodb"]["Keys"]["sk"]["S"].startswith("msg#"))
    post = Recorder()
    realtime.deliver(store, [in_chat(message, chat["channel_id"])], post=post)
    assert [(cid, e["type"], e["team"]) for cid, e in post.sent] == [("a1", "message.created", "default")]


def test_a_supervisor_socket_is_listed_under_its_team_until_it_disconnects(store):
    store.connections.add(Connection("s1", "supervisor", 1, ENDPOINT, "sales"))
    assert store.connections.of_team("sales", 5) == ([Connection("s1", "supervisor", 1, ENDPOINT, "sales")], False)
    assert store.connections.of_team("default", 5) == ([], False)
    assert store.connections.of_user("supervisor", 1) == []
    realtime.disconnect(store, "s1")
    assert store.connections.of_team("sales", 5) == ([], False)


def test_a_teams_supervisor_sockets_are_read_up_to_the_bound(store, monkeypatch, caplog):
    monkeypatch.setattr(realtime, "MAX_TEAM_SOCKETS", 2)
    for n in range(3):
        store.connections.add(Connection(f"s{n}", "supervisor", 1, ENDPOINT, "default"))
    post = Recorder()
    realtime.deliver(store, USERS, post=post)  # two presence events of the default team
    assert len(post.sent) == 4 and len({cid for cid, _ in post.sent}) == 2
    assert "over 2 supervisor sockets" in caplog.text


def test_a_gone_supervisor_socket_is_forgotten(store):
    store.connections.add(Connection("old", "supervisor", 1, ENDPOINT, "default"))
    store.connections.add(Connection("new", "supervisor", 1, ENDPOINT, "default"))
    post = Recorder(gone={"old"})
    realtime.deliver(store, USERS, post=post)
    assert [cid for cid, _ in post.sent] == ["new", "new"]
    assert [c.connection_id for c in store.connections.of_team("default", 5)[0]] == ["new"]
