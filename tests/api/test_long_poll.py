"""History long-poll: ``wait`` seconds for a message after ``cursor``, answered as soon as one is stored."""

from __future__ import annotations

from chalicelib import channels
from chalicelib.config import get_settings
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
        get_store(), get_settings(), customer(api), channel_id=chat["channel_id"], customer_id=None, limit=50,
        after=first["message_id"], wait=20, sleep=sleep_then_reply, clock=clock,
    )  # fmt: skip
    assert [m.text for m in page.messages] == ["hai"]
    assert clock.sleeps == [0.5, 0.5]


def test_wait_gives_up_empty_after_the_wait(api, chat):
    first = api.customer_send(1, chat["customer"], "halo").body
    clock = FakeClock()
    page = channels.history(
        get_store(), get_settings(), customer(api), channel_id=chat["channel_id"], customer_id=None, limit=50,
        after=first["message_id"], wait=2, sleep=clock.sleep, clock=clock,
    )  # fmt: skip
    assert page.messages == [] and clock.now == 2


def test_wait_is_bounded_and_validated(api, chat):
    for bad in ("21", "-1", "x"):
        reply = api.request("GET", "/customer/1/chat", token=chat["customer"], query={"wait": bad})
        assert reply.status == 400 and reply.error["field"] == "wait"
    reply = api.request("GET", "/customer/1/chat", token=chat["customer"], query={"wait": "0"})
    assert reply.status == 200
