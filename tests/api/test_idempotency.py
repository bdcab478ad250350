"""Retried sends: one Idempotency-Key makes one message, and only that message."""

from tests.support import invariants


def test_the_same_key_with_another_text_is_refused_and_stores_nothing(api, chat):
    headers = {"Idempotency-Key": "client-msg-1"}
    first = api.customer_send(1, chat["customer"], "my order is late", headers=headers)
    reply = api.customer_send(1, chat["customer"], "something else", headers=headers)
    assert first.status == 201
    assert reply.status == 409 and reply.error["code"] == "idempotency_key_reused"
    assert [m["text"] for m in invariants.snapshot()["messages"]] == ["my order is late"]


def test_the_same_key_of_another_sender_is_another_message(api, chat):
    headers = {"Idempotency-Key": "shared-key"}
    assert api.customer_send(1, chat["customer"], "from the customer", headers=headers).status == 201
    assert api.agent_send(1, chat["agent"], 1, "from the agent", headers=headers).status == 201
    assert len(invariants.snapshot()["messages"]) == 2
