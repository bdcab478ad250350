"""History long-poll: ``wait`` seconds for a message after ``cursor``, answered as soon as one is stored."""

from __future__ import annotations

import threading
import time

import requests

from chalicelib import channels
from chalicelib.models import Principal
from chalicelib.store import get_store


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def customer(api) -> Principal:
    from chalicelib.auth import verify_token
    from chalicelib.config import get_settings

    return verify_token(get_settings(), api.token("customer", 1))


def test_wait_answers_as_soon_as_a_message_arrives(api, chat):
    first = api.customer_send(1, chat["customer"], "halo").body
    clock = FakeClock()

    def sleep_then_reply(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.sleeps) == 2:
            api.agent_send(1, chat["agent"], 1, "hai")

    page = channels.history(
        get_store(), customer(api), channel_id=chat["channel_id"], customer_id=None, limit=50,
        after=first["message_id"], wait=20, sleep=sleep_then_reply, clock=clock,
    )  # fmt: skip
    assert [m.text for m in page.messages] == ["hai"]
    assert clock.sleeps == [0.5, 0.5]


def test_wait_gives_up_empty_after_the_wait(api, chat):
    first = api.customer_send(1, chat["customer"], "halo").body
    clock = FakeClock()
    page = channels.history(
        get_store(), customer(api), channel_id=chat["channel_id"], customer_id=None, limit=50,
        after=first["message_id"], wait=2, sleep=clock.sleep, clock=clock,
    )  # fmt: skip
    assert page.messages == [] and clock.now == 2


def test_wait_is_bounded_and_validated(api, chat):
    for bad in ("21", "-1", "x"):
        reply = api.request("GET", "/customer/1/chat", token=chat["customer"], query={"wait": bad})
        assert reply.status == 400 and reply.error["field"] == "wait"
    reply = api.request("GET", "/customer/1/chat", token=chat["customer"], query={"wait": "0"})
    assert reply.status == 200


def test_a_waiting_reader_gets_the_message_sent_meanwhile_over_http(live):
    """DynamoDB Local, served by chalice local: the reader waits, another request sends."""
    login = lambda role, name, pw: requests.post(  # noqa: E731
        f"{live}/{role}/login", json={"username": name, "password": pw}, timeout=10
    ).json()["token"]
    agent = login("agent", "annasianna", "strongpass1")
    customer_token = login("customer", "daungugur", "strongpass1")
    auth = {"Authorization": f"Bearer {customer_token}"}
    channel = requests.post(f"{live}/customer/1/chat/initiate", headers=auth, timeout=10).json()
    sent = requests.post(f"{live}/customer/1/chat/send", headers=auth, json={"text_message": "halo"}, timeout=10)
    cursor = sent.json()["message_id"]

    def reply_later() -> None:
        time.sleep(1.0)
        requests.post(
            f"{live}/agent/1/chat/send", headers={"Authorization": f"Bearer {agent}"},
            json={"RecipientID": 1, "text_message": "hai"}, timeout=10,
        )  # fmt: skip

    threading.Thread(target=reply_later).start()
    started = time.monotonic()
    query = {"channel_id": channel["channel_id"], "cursor": cursor, "wait": 10}
    page = requests.get(f"{live}/customer/1/chat", headers=auth, params=query, timeout=30).json()
    took = time.monotonic() - started
    assert [m["text"] for m in page["messages"]] == ["hai"]
    assert 0.9 < took < 5
