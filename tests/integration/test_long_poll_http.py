"""History long-poll over real HTTP: ``chalice local`` on DynamoDB Local, one request waiting while another sends.

The in-process long-poll tests are in tests/api/test_long_poll.py.
"""

from __future__ import annotations

import threading
import time

import requests


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
