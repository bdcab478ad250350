"""The reconcile command, with drift introduced on purpose."""

from chalicelib import keys
from chalicelib.config import get_settings
from chalicelib.reconcile import reconcile
from chalicelib.store import get_store
from chalicelib.store.dynamo import get_client, to_item, to_values
from tests.support import invariants
from tools import reconcile as command


def corrupt_agent_count(agent_id: int, count: int) -> None:
    get_client().update_item(
        TableName=get_settings().users_table,
        Key=to_item({"pk": keys.agent_pk(agent_id)}),
        UpdateExpression="SET active_count = :c",
        ExpressionAttributeValues=to_values({":c": count}),
    )


def point_customer_at(customer_id: int, channel_id: str) -> None:
    get_client().update_item(
        TableName=get_settings().users_table,
        Key=to_item({"pk": keys.customer_pk(customer_id)}),
        UpdateExpression="SET active_channel_id = :c, active_agent_id = :a",
        ExpressionAttributeValues=to_values({":c": channel_id, ":a": 1}),
    )


def test_no_drift_after_normal_traffic(api):
    api.token("agent", 1)
    api.initiate(1)
    api.initiate(2)
    report = reconcile(get_store())
    assert report.drift == []


def test_a_queued_chat_is_no_drift(api, monkeypatch):
    from chalicelib import store as store_module

    monkeypatch.setenv("ROUTING_OVERFLOW", "queue")
    store_module.reset()
    api.token("agent", 1)
    for customer_id in (1, 2, 3):
        api.initiate(customer_id)  # the third waits in the queue
    report = reconcile(get_store(), fix=True)
    assert report.drift == [] and report.fixed == []
    invariants.check()


def test_reports_and_fixes_a_drifted_agent_count(api, capsys):
    agent = api.token("agent", 1)
    api.initiate(1)
    api.initiate(2)
    api.resolve(1, agent, 1)
    corrupt_agent_count(1, 5)
    corrupt_agent_count(2, 3)

    assert command.main([]) == 1
    assert "agent 1: active_count 5, active channels 1" in capsys.readouterr().out
    assert invariants.loads() == {1: 5, 2: 3, 3: 0}  # reporting changes nothing

    assert command.main(["--fix"]) == 0
    assert invariants.loads() == {1: 1, 2: 0, 3: 0}
    invariants.check()  # the rank in the load index was repaired too
    assert command.main([]) == 0


def test_clears_a_customer_pointer_to_a_channel_that_is_not_active(api):
    point_customer_at(3, "01ARZ3NDEKTSV4RRFFQ69G5FAV")
    report = reconcile(get_store(), fix=True)
    assert [d.customer.customer_id for d in report.customers] == [3]
    assert report.fixed and not report.skipped
    invariants.check()
    # The customer can open a chat again.
    api.token("agent", 1)
    assert api.initiate(3).status == 201


def test_a_fix_is_skipped_when_the_agent_changed_since_it_was_read(api):
    api.token("agent", 1)
    corrupt_agent_count(1, 4)
    store = get_store()
    stale = next(a for a in store.agents.all() if a.agent_id == 1)
    api.initiate(1)  # the agent changes after the read (count and last assignment)
    assert store.agents.repair_count(stale, 0) is False
    assert invariants.loads()[1] == 5  # untouched: 4 + the new chat
