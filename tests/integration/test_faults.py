"""Faults during a concurrent run: throttling, internal errors, timeouts, transaction conflicts.

DynamoDB Local, with a share of all DynamoDB calls failed at botocore (before
they reach the engine). Requests run concurrently in-process through the
Chalice test client. Every request must either succeed or answer a clear 503
with Retry-After, and a 503 must have changed nothing.
"""

from __future__ import annotations

import pytest

from app import app
from chalicelib.keys import AGENT, CUSTOMER
from tests.support import invariants
from tests.support.dynamo_hooks import FaultInjector
from tests.support.live import concurrently
from tools import seed
from tools.api_client import Api, GatewayClient

CUSTOMERS = range(1, 25)
AGENTS = range(1, 5)


def check_reply(reply, ok):
    assert reply.status in (ok, 503), reply.body
    if reply.status == 503:
        assert reply.headers["Retry-After"] and reply.error["code"] in ("store_unavailable", "allocation_contended")
    return reply.status == ok


@pytest.mark.parametrize("rate", [0.25, 0.5])
def test_every_request_succeeds_or_fails_cleanly_under_faults(real, rate):
    seed.seed_extra(AGENT, 1, "load-pass-123")
    seed.seed_extra(CUSTOMER, 16, "load-pass-123")
    api = Api(GatewayClient(app))
    agent_tokens = {a: api.token(AGENT, a) if a < 4 else _login_extra(api, AGENT, a) for a in AGENTS}
    tokens = {c: api.token(CUSTOMER, c) if c < 9 else _login_extra(api, CUSTOMER, c) for c in CUSTOMERS}
    faults = FaultInjector(rate, seed=int(rate * 100))
    with faults.installed():
        initiated = concurrently(lambda c: (c, api.initiate(c, tokens[c])), CUSTOMERS, workers=12)
        placed = {c: r.body for c, r in initiated if check_reply(r, 201)}
        sent = concurrently(lambda c: (c, api.customer_send(c, tokens[c], f"hello from {c}")), list(placed), workers=12)
        resolved = concurrently(
            lambda c: (c, api.resolve(placed[c]["agent_id"], agent_tokens[placed[c]["agent_id"]], c)),
            list(placed)[::2],
            workers=12,
        )
    assert sum(faults.counts.values()) > 0
    replies = [r for _, r in initiated + sent + resolved]
    if rate >= 0.5:  # at this rate some requests must have run out of retries
        assert any(r.status == 503 for r in replies), faults.counts
    state = invariants.check()
    channels = {c["customer_id"]: c for c in state["channels"]}
    # Initiate: a 201 made exactly its channel; a 503 made nothing.
    for customer, reply in initiated:
        if reply.status == 201:
            assert channels[customer]["channel_id"] == reply.body["channel_id"]
            assert channels[customer]["agent_id"] == reply.body["agent_id"]
        else:
            assert customer not in channels
    # Send: stored exactly when accepted.
    stored = {m["text"] for m in state["messages"]}
    for customer, reply in sent:
        assert (f"hello from {customer}" in stored) == check_reply(reply, 201)
    # Resolve: resolved exactly when it said so.
    for customer, reply in resolved:
        expected = "resolved" if check_reply(reply, 200) else "active"
        assert channels[customer]["status"] == expected


def _login_extra(api, role, user_id):
    reply = api.request("POST", f"/{role}/login", form={"username": f"{role}{user_id}", "password": "load-pass-123"})
    assert reply.status == 200, reply.body
    return reply.body["token"]
