"""The chat indexes (``chats_by_customer``, ``chats_by_agent``) as the store reads them, on both engines.

Channels share their partition with their messages and idempotency records;
only channel items carry ``customer_id`` and ``agent_id`` at the top level, so
only channels are in the indexes.
"""

import pytest

from chalicelib import keys
from chalicelib.errors import InvalidInput
from chalicelib.models import ACTIVE, RESOLVED, Channel, Message
from chalicelib.store.dynamo import call, to_item
from chalicelib.store.tables import ITEM_IS_NEW

T0 = "2026-11-24T05:00:00.000Z"


def opened(store, customer_id, agent_id, created_at=T0):
    channel = Channel(keys.new_id(), customer_id, agent_id, ACTIVE, created_at, team="default")
    store.transaction().add(store.channels.open(channel)).commit()
    return channel


def every_page(store, role, user_id, limit):
    found, cursor = [], None
    for _ in range(50):
        page, cursor = store.chat_index.page(role, user_id, limit, cursor)
        found.extend(page)
        if cursor is None:
            return found
    raise AssertionError("the cursor does not move")


def test_messages_and_idempotency_records_are_not_in_the_indexes(store):
    channel = opened(store, 1, 1)
    message = Message(keys.new_id(), channel.channel_id, keys.CUSTOMER, 1, "halo", T0)
    store.transaction().add(store.messages.put(message), store.messages.remember(message, "key-1")).commit()

    assert store.chat_index.page(keys.CUSTOMER, 1, 10, None) == ([channel], None)
    assert store.chat_index.page(keys.AGENT, 1, 10, None) == ([channel], None)


def test_newest_first_with_a_resolved_chat_as_resolved(store):
    old = opened(store, 1, 1, "2026-11-24T05:00:00.000Z")
    new = opened(store, 1, 2, "2026-11-24T06:00:00.000Z")
    store.transaction().add(store.channels.close(old.channel_id, by_agent=1, at="2026-11-24T05:30:00.000Z")).commit()

    chats, cursor = store.chat_index.page(keys.CUSTOMER, 1, 10, None)

    assert [c.channel_id for c in chats] == [new.channel_id, old.channel_id] and cursor is None
    assert (chats[1].status, chats[1].resolved_at) == (RESOLVED, "2026-11-24T05:30:00.000Z")
    assert store.chat_index.page(keys.AGENT, 2, 10, None) == ([new], None)


def test_chats_opened_in_the_same_millisecond_are_each_listed_once(store):
    """Sort keys may tie (two customers, one agent, one millisecond): the cursor carries the table key too."""
    tied = {opened(store, customer_id, 1).channel_id for customer_id in range(1, 6)}
    later = opened(store, 6, 1, "2026-11-24T05:00:00.001Z")

    listed = every_page(store, keys.AGENT, 1, limit=2)

    assert listed[0].channel_id == later.channel_id and len(listed) == 6
    assert sorted(c.channel_id for c in listed[1:]) == sorted(tied)


def test_a_chat_without_an_agent_is_in_no_agents_index(store):
    """A queued chat (no ``agent_id`` attribute yet) stays out of the agent index."""
    channel_id = keys.new_id()
    queued = {"pk": keys.channel_pk(channel_id), "sk": keys.CHANNEL_SK, "channel_id": channel_id}
    queued |= {"customer_id": 7, "status": "queued", "created_at": T0}
    call("put_item", TableName=store.channels.table, Item=to_item(queued), ConditionExpression=ITEM_IS_NEW)
    mine = opened(store, 8, 1)
    assert store.chat_index.page(keys.AGENT, 1, 10, None) == ([mine], None)


@pytest.mark.parametrize("role", [keys.CUSTOMER, keys.AGENT])
def test_a_cursor_names_its_own_partition_only(store, role):
    for customer_id in (1, 2):
        opened(store, customer_id, customer_id)
        opened(store, customer_id, customer_id, "2026-11-24T06:00:00.000Z")
    _, cursor = store.chat_index.page(role, 1, 1, None)
    assert cursor is not None
    with pytest.raises(InvalidInput, match="cursor is not a cursor of this list"):
        store.chat_index.page(role, 2, 1, cursor)
