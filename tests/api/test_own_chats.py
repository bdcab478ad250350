"""A user's own chats: GET /customer/{customer_id}/chats and GET /agent/{agent_id}/chats.

Every chat the customer opened or the agent was given, active and resolved,
newest first, paged by cursor, read from the chat indexes (never a scan). Only
agent 1 is online in these tests, so every chat goes to it.
"""

import base64
import json

import pytest

from chalicelib import keys
from chalicelib.models import ACTIVE, Channel
from chalicelib.store import get_store


@pytest.fixture
def agent(api):
    return api.token("agent", 1)


def chats(api, role, user_id, token, **query):
    return api.request("GET", f"/{role}/{user_id}/chats", token=token, query=query or None)


def every_page(api, role, user_id, token, limit):
    """Every page of the list, following ``next_cursor`` to the end."""
    pages, cursor = [], None
    while True:
        query = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        reply = chats(api, role, user_id, token, **query)
        assert reply.status == 200, reply.body
        pages.append(reply.body["chats"])
        cursor = reply.body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 20, "the cursor does not move"


def channel(api, customer_id, token, channel_id):
    """The channel's JSON as its history shows it."""
    query = {"channel_id": channel_id, "limit": 1}
    return api.request("GET", f"/customer/{customer_id}/chat", token=token, query=query).body["channel"]


def open_and_resolve(api, agent, customer_id, token, times):
    """``times`` chats of the customer, each resolved by agent 1; the resolved channels, oldest first."""
    resolved = []
    for _ in range(times):
        assert api.initiate(customer_id, token).status == 201
        reply = api.resolve(1, agent, customer_id)
        assert reply.status == 200, reply.body
        resolved.append(channel(api, customer_id, token, reply.body["channel_id"]))
    return resolved


def test_a_customers_chats_are_listed_newest_first_active_and_resolved(api, agent):
    token = api.token("customer", 1)
    first, second = open_and_resolve(api, agent, 1, token, 2)
    current = api.initiate(1, token).body

    reply = chats(api, "customer", 1, token)

    assert reply.status == 200, reply.body
    assert reply.body == {"chats": [current, second, first], "next_cursor": None}
    assert [chat["status"] for chat in reply.body["chats"]] == ["active", "resolved", "resolved"]


def test_an_agents_chats_are_listed_newest_first_across_its_customers(api, agent):
    tokens = {customer_id: api.token("customer", customer_id) for customer_id in (1, 2, 3)}
    opened = [api.initiate(customer_id, token).body for customer_id, token in tokens.items()]
    api.resolve(1, agent, 2)
    resolved = channel(api, 2, tokens[2], opened[1]["channel_id"])

    reply = chats(api, "agent", 1, agent)

    assert reply.status == 200, reply.body
    assert reply.body == {"chats": [opened[2], resolved, opened[0]], "next_cursor": None}
    assert {chat["agent_id"] for chat in reply.body["chats"]} == {1}


def test_a_customer_sees_only_its_own_chats_and_an_agent_only_its_own(api, agent):
    api.initiate(1)
    api.token("agent", 2)  # online too: the next chats may go to either agent
    theirs = api.initiate(2).body
    mine = chats(api, "customer", 1, api.token("customer", 1)).body["chats"]
    assert [chat["customer_id"] for chat in mine] == [1]
    other_agent = theirs["agent_id"]
    listed = chats(api, "agent", other_agent, api.token("agent", other_agent)).body["chats"]
    assert all(chat["agent_id"] == other_agent for chat in listed) and theirs in listed


@pytest.mark.parametrize(("role", "user_id"), [("customer", 1), ("agent", 1)])
def test_pages_by_cursor_list_every_chat_once_in_order(api, agent, role, user_id):
    token = api.token("customer", 1)
    open_and_resolve(api, agent, 1, token, 4)
    api.initiate(1, token)
    reader = token if role == "customer" else agent
    whole = chats(api, role, user_id, reader, limit=100).body["chats"]
    assert len(whole) == 5

    pages = every_page(api, role, user_id, reader, limit=2)

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [chat for page in pages for chat in page] == whole  # none missing, none twice, same order


def test_a_page_exactly_filled_ends_with_an_empty_page(api, agent):
    token = api.token("customer", 1)
    open_and_resolve(api, agent, 1, token, 2)
    pages = every_page(api, "customer", 1, token, limit=2)
    assert [len(page) for page in pages] in ([2], [2, 0])  # DynamoDB may not know the partition ended


def test_the_default_page_is_20_chats(api):
    store = get_store()
    for minute in range(21):
        channel = Channel(keys.new_id(), 5, 1, ACTIVE, f"2026-11-24T05:{minute:02d}:00.000Z")
        store.transaction().add(store.channels.open(channel)).commit()
    reply = chats(api, "customer", 5, api.token("customer", 5))
    assert reply.status == 200 and len(reply.body["chats"]) == 20 and reply.body["next_cursor"]
    assert reply.body["chats"][0]["created_at"] == "2026-11-24T05:20:00.000Z"
    rest = chats(api, "customer", 5, api.token("customer", 5), cursor=reply.body["next_cursor"]).body
    assert [chat["created_at"] for chat in rest["chats"]] == ["2026-11-24T05:00:00.000Z"]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "x", "2.5"])
def test_a_limit_outside_1_to_100_is_a_400(api, limit):
    token = api.token("customer", 1)
    reply = chats(api, "customer", 1, token, limit=limit)
    assert reply.status == 400 and reply.error["code"] == "invalid_input" and reply.error["field"] == "limit"


def test_a_limit_of_100_is_accepted(api, agent):
    assert chats(api, "agent", 1, agent, limit=100).status == 200


def cursor_of(key):
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def test_a_cursor_of_another_customers_list_is_a_400(api, agent):
    other = api.token("customer", 2)
    open_and_resolve(api, agent, 2, other, 2)
    foreign = chats(api, "customer", 2, other, limit=1).body["next_cursor"]
    assert foreign
    reply = chats(api, "customer", 1, api.token("customer", 1), cursor=foreign)
    assert reply.status == 400 and reply.error["code"] == "invalid_input" and reply.error["field"] == "cursor"


def test_a_cursor_of_the_agents_list_is_no_cursor_of_the_customers(api, agent):
    token = api.token("customer", 1)
    open_and_resolve(api, agent, 1, token, 2)
    agents_cursor = chats(api, "agent", 1, agent, limit=1).body["next_cursor"]
    reply = chats(api, "customer", 1, token, cursor=agents_cursor)
    assert reply.status == 400 and reply.error["field"] == "cursor"


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "e30",  # {}
        cursor_of({"pk": "channel#X", "sk": "channel", "customer_id": 2, "created_at": "2026"}),  # customer 2's
        cursor_of({"pk": 5, "sk": "channel", "customer_id": 1, "created_at": "2026"}),  # a key of the wrong type
        cursor_of({"pk": "channel#X", "sk": "channel", "customer_id": "1", "created_at": "2026"}),
        cursor_of({"pk": "channel#X", "sk": "channel", "customer_id": True, "created_at": "2026"}),
        cursor_of({"pk": "channel#X", "sk": "channel", "active_pool": "default", "created_at": "2026"}),
    ],
)
def test_a_cursor_that_is_not_one_of_the_list_is_a_400(api, cursor):
    reply = chats(api, "customer", 1, api.token("customer", 1), cursor=cursor)
    assert reply.status == 400 and reply.error["field"] == "cursor", reply.body


@pytest.mark.parametrize(
    ("path", "role", "user_id"),
    [
        ("/customer/2/chats", "customer", 1),
        ("/agent/2/chats", "agent", 1),
        ("/agent/1/chats", "customer", 1),
        ("/customer/1/chats", "agent", 1),
    ],
)
def test_another_users_list_is_a_403(api, agent, path, role, user_id):
    api.initiate(2)
    reply = api.request("GET", path, token=api.token(role, user_id))
    assert reply.status == 403 and reply.error["code"] == "wrong_user"


@pytest.mark.parametrize(("role", "user_id"), [("customer", 4), ("agent", 3)])
def test_a_user_without_chats_gets_an_empty_list(api, agent, role, user_id):
    api.initiate(1)  # someone else's chat exists (agent 1's)
    reply = chats(api, role, user_id, api.token(role, user_id))
    assert reply.status == 200 and reply.body == {"chats": [], "next_cursor": None}
