"""The transaction builder: labelled items, failures read in request order, one token check.

Given items from the aggregates, when a condition fails, then the first failed
item (in request order) decides what is raised; a conflict without a failed
condition raises ``on_conflict``; nothing is written either way.
"""

import pytest

from chalicelib.errors import Conflict, NotFound, Unauthorized, Unavailable
from chalicelib.keys import new_id, now_iso
from chalicelib.models import ACTIVE, Channel, Principal
from chalicelib.store import Stale
from chalicelib.store.transaction import Item, Transaction, stale
from tests.support import invariants
from tests.support.dynamo_hooks import count_calls, failing


def principal(customer_id=1):
    return Principal("customer", customer_id, new_id(), 2_000_000_000)


def channel_for(customer_id, agent_id=1):
    return Channel(new_id(), customer_id, agent_id, ACTIVE, now_iso())


def test_the_first_failed_item_in_request_order_decides(store):
    # Customer 99 does not exist (its claim fails) and agent 1 is offline (its release fails too).
    first = store.customers.claim_active_chat(channel_for(99))
    second = store.agents.release_slot(1)
    with pytest.raises(NotFound) as raised:
        store.transaction().add(first, second).commit()
    assert raised.value.code == "customer_not_found"
    with pytest.raises(Conflict) as raised:
        store.transaction().add(second, first).commit()
    assert raised.value.code == "inconsistent_state"


def test_a_caller_may_give_an_item_its_own_meaning(store):
    item = store.agents.release_slot(1).failing_as(stale)
    with pytest.raises(Stale):
        store.transaction().add(item, store.channels.open(channel_for(1))).commit()
    assert invariants.snapshot()["channels"] == []


def test_the_callers_token_is_checked_first(store):
    caller = principal()
    transaction = store.transaction(caller)
    assert transaction.labels == ["token"]
    store.transaction().add(store.tokens.revoke(caller)).commit()
    with pytest.raises(Unauthorized) as raised:
        store.transaction(caller).add(store.customers.claim_active_chat(channel_for(1))).commit()
    assert raised.value.code == "token_revoked"
    assert invariants.snapshot()["customers"][0].get("active_channel_id") is None


def test_two_items_with_one_label_are_refused(store):
    with pytest.raises(ValueError, match="labelled 'agent'"):
        Transaction().add(store.agents.release_slot(1), store.agents.release_slot(2))


def test_one_item_is_written_with_a_single_item_call_and_maps_its_failure_the_same_way(store):
    caller = principal()
    with count_calls() as calls:
        store.transaction().add(store.tokens.revoke(caller)).commit()
        with pytest.raises(Unauthorized, match="already revoked"):
            store.transaction().add(store.tokens.revoke(caller)).commit()
    assert calls == {"PutItem": 2}


def test_a_conflict_without_a_failed_condition_raises_on_conflict(store):
    items = [store.channels.open(channel_for(1)), store.customers.claim_active_chat(channel_for(1))]
    with failing("TransactWriteItems", "TransactionCanceledException", reasons=["TransactionConflict", "None"]):
        with pytest.raises(Unavailable):
            store.transaction().add(*items).commit()
        with pytest.raises(Stale):
            store.transaction(on_conflict=stale).add(*items).commit()
    assert invariants.snapshot()["channels"] == []


def test_an_item_without_a_meaning_of_its_own_reports_inconsistent_records(store):
    item = Item("x", store.agents.release_slot(3).request)
    with pytest.raises(Conflict) as raised:
        Transaction().add(item, store.channels.open(channel_for(1))).commit()
    assert raised.value.code == "inconsistent_state"


def test_conflicts_are_retried_when_the_caller_asks(store):
    items = [store.channels.open(channel_for(1)), store.customers.claim_active_chat(channel_for(1))]
    with failing(
        "TransactWriteItems", "TransactionCanceledException", reasons=["TransactionConflict", "None"], times=2
    ):
        store.transaction().add(*items).commit(conflict_retries=2)
    assert len(invariants.snapshot()["channels"]) == 1
