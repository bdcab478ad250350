"""What happens when the commit loses a race or the store fails (moto, hooks in botocore).

A competing writer is simulated by acting inside the request, just before its
transaction is sent: exactly the window a concurrent Lambda would use.
"""

import time

import pytest

from chalicelib import allocation, channels
from chalicelib import store as store_module
from chalicelib.config import get_settings
from chalicelib.keys import new_id, now_iso
from chalicelib.models import ACTIVE, AgentLoad, Channel, Choice, Principal, Rule
from chalicelib.store import Stale
from chalicelib.store.agent_expressions import AgentGone
from tests.support import invariants
from tests.support.dynamo_hooks import before, count_calls, failing, timing_out
from tests.support.ties import LowestIdFirst


@pytest.fixture(autouse=True)
def agent_1_first(monkeypatch):
    monkeypatch.setattr(allocation, "_TIES", LowestIdFirst())


def someone_assigns(customer_id, agent_id, rule=Rule.UNDER_CAP, observed=0):
    """Another writer commits a chat for ``customer_id`` on ``agent_id`` (as a concurrent request would)."""
    store = store_module.get_store()
    principal = Principal("customer", customer_id, new_id(), 0)
    channel = Channel(new_id(), customer_id, agent_id, ACTIVE, now_iso())
    agent = AgentLoad(agent_id, "online", observed)
    fresh_after = int(time.time()) - get_settings().presence_timeout_seconds
    channels.commit_assignment(
        store, principal, channel, Choice(agent, rule), get_settings().allocation_cap, fresh_after
    )


def test_losing_the_race_for_an_agent_retries_and_picks_the_next_one(api):
    api.token("agent", 1)
    api.token("agent", 2)
    token = api.token("customer", 1)

    def competitor(_params):
        # Agent 1 was the choice; two other chats land on it first and fill it.
        someone_assigns(5, 1)
        someone_assigns(6, 1)

    with before("TransactWriteItems", competitor) as fired, count_calls() as calls:
        reply = api.initiate(1, token)
    assert fired and calls["TransactWriteItems"] == 2 + 2  # ours twice, the competitor's two
    assert reply.status == 201 and reply.body["agent_id"] == 2
    assert invariants.loads() == {1: 2, 2: 1, 3: 0}
    invariants.check()


def test_overflow_is_refused_when_another_agent_frees_a_slot_meanwhile(api):
    api.token("agent", 1)
    agent2 = api.token("agent", 2)
    for customer in (1, 2, 3, 4):
        api.initiate(customer)
    assert invariants.loads() == {1: 2, 2: 2, 3: 0}
    token = api.token("customer", 5)
    assigned_to_2 = [c["customer_id"] for c in api.active(2, agent2).body["channels"]]

    def resolve_one_of_agent2s(_params):
        assert api.resolve(2, agent2, assigned_to_2[0]).status == 200

    with before("TransactWriteItems", resolve_one_of_agent2s, times=1) as fired:
        reply = api.initiate(5, token)
    assert fired
    # The overflow onto agent 1 was refused by the proof; the retry used agent 2's free slot.
    assert reply.status == 201 and reply.body["agent_id"] == 2
    assert invariants.loads() == {1: 2, 2: 2, 3: 0}


def test_endless_contention_gives_up_with_a_503_and_writes_nothing(api, monkeypatch):
    api.token("agent", 1)
    token = api.token("customer", 1)
    attempts = []

    def always_stale(*args, **kwargs):
        attempts.append(args)
        raise Stale()

    monkeypatch.setattr(channels, "commit_assignment", always_stale)
    monkeypatch.setattr(channels.time, "sleep", lambda _s: None)
    reply = api.initiate(1, token)
    assert reply.status == 503 and reply.error["code"] == "allocation_contended"
    assert reply.headers["Retry-After"] == "1"
    assert len(attempts) == get_settings().allocation_max_attempts
    state = invariants.check()
    assert state["channels"] == [] and invariants.loads()[1] == 0


def test_an_agent_gone_uses_no_attempt_but_one_gone_again_is_a_lost_race(api, monkeypatch):
    # Agent 1 is online in the index but gone at every commit: as if it kept coming back and falling
    # silent again while this chat is being assigned (another writer changing it each time).
    api.token("agent", 1)
    token = api.token("customer", 1)
    attempts = []

    def always_gone(*args, **kwargs):
        attempts.append(args)
        raise AgentGone(1)

    monkeypatch.setattr(channels, "commit_assignment", always_gone)
    expired = []
    monkeypatch.setattr(store_module.get_store().agents, "expire", lambda agent, _at: expired.append(agent))
    monkeypatch.setattr(channels.time, "sleep", lambda _s: None)
    reply = api.initiate(1, token)
    assert reply.status == 503 and reply.error["code"] == "allocation_contended"
    assert len(attempts) == 1 + get_settings().allocation_max_attempts  # the first time gone was free
    assert set(expired) == {1} and len(expired) == len(attempts)  # expired each time (it stays in the index)
    assert invariants.check()["channels"] == []


def test_throttled_transaction_is_a_503_and_leaves_no_partial_state(api):
    api.token("agent", 1)
    token = api.token("customer", 1)
    before_state = invariants.snapshot()
    with failing("TransactWriteItems", "ProvisionedThroughputExceededException") as failures:
        reply = api.initiate(1, token)
    assert failures
    assert reply.status == 503 and reply.error["code"] == "store_unavailable" and reply.headers["Retry-After"]
    assert invariants.snapshot() == before_state


def test_a_timeout_is_retried_by_botocore_and_then_succeeds(api):
    api.token("agent", 1)
    token = api.token("customer", 1)
    with timing_out("TransactWriteItems", times=2) as timeouts:
        reply = api.initiate(1, token)
    assert len(timeouts) == 2 and reply.status == 201
    assert invariants.check()["channels"][0]["customer_id"] == 1


def test_timeouts_beyond_botocores_retries_are_a_503_with_nothing_written(api):
    api.token("agent", 1)
    token = api.token("customer", 1)
    before_state = invariants.snapshot()
    with timing_out("TransactWriteItems") as timeouts:
        reply = api.initiate(1, token)
    assert len(timeouts) == 4  # CLIENT_CONFIG: four attempts in all
    assert reply.status == 503 and reply.headers["Retry-After"]
    assert invariants.snapshot() == before_state


def test_logout_during_initiate_wins_and_nothing_is_written(api):
    api.token("agent", 1)
    token = api.token("customer", 1)

    def logout_first(_params):
        assert api.logout("customer", 1, token).status == 200

    with before("TransactWriteItems", logout_first):
        reply = api.initiate(1, token)
    assert reply.status == 401 and reply.error["code"] == "token_revoked"
    state = invariants.check()
    assert state["channels"] == [] and invariants.loads()[1] == 0


def test_two_resolves_of_one_chat_count_it_down_once(api):
    agent = api.token("agent", 1)
    api.initiate(1)

    def resolve_first(_params):
        assert api.resolve(1, agent, 1).status == 200

    with before("TransactWriteItems", resolve_first):
        reply = api.resolve(1, agent, 1)
    assert reply.status == 409 and reply.error["code"] == "already_resolved"
    assert invariants.loads()[1] == 0
    invariants.check()


def test_read_failure_is_a_503_not_a_500(api):
    token = api.token("agent", 1)
    with failing("Query", "InternalServerError", status=500):
        reply = api.active(1, token)
    assert reply.status == 503


@pytest.mark.parametrize(
    ("interloper", "status", "code"),
    [
        (lambda api, chat: api.logout("customer", 1, chat["customer"]), 401, "token_revoked"),
        (lambda api, chat: api.resolve(1, chat["agent"], 1), 409, "no_active_chat"),
    ],
    ids=["logout", "resolve"],
)
def test_a_logout_or_resolve_between_a_sends_read_and_its_put_lets_that_one_message_in(
    api, chat, interloper, status, code
):
    """The documented windows (README, Security): the send proved its token and the open chat by its
    first read; its put proves neither again (a ConditionCheck each). The next send is refused."""
    store = store_module.get_store()

    def first(_params):
        assert interloper(api, chat).status == 200

    with before("PutItem", first) as fired:
        reply = api.customer_send(1, chat["customer"], "sent as it landed")
    assert fired and reply.status == 201
    page, _ = store.messages.page(chat["channel_id"], 10, None)
    assert [m.text for m in page] == ["sent as it landed"]
    again = api.customer_send(1, chat["customer"], "after")
    assert again.status == status and again.error["code"] == code
    invariants.check()


def test_a_resolve_carries_no_token_check_and_an_initiate_does(api, chat):
    """(A send proves nothing in its write: it is one PutItem, tests/store/test_round_trips.py.)"""
    tokens_table = get_settings().tokens_table
    customer_2 = api.token("customer", 2)

    def checks_the_token(call) -> bool:
        sent: list[dict] = []
        with before("TransactWriteItems", sent.append, times=10):
            assert call().status in (200, 201)
        (transaction,) = sent
        return any(next(iter(i.values()))["TableName"] == tokens_table for i in transaction["TransactItems"])

    assert not checks_the_token(lambda: api.resolve(1, chat["agent"], 1))
    assert checks_the_token(lambda: api.initiate(2, customer_2))
