"""DynamoDB round trips per request, counted at botocore (DESIGN.md's budgets).

Budgets, uncontended: initiate <= 2 (one read, one transaction), send <= 2,
history = 1 query per page, resolve <= 2. Login spends 6: it reserves the attempt
on each counter before checking the password and gives it back after (issue 15's
atomic throttle), one single-item write per counter rather than two transactions
(half the write units, issue 14), a price paid once per session. The revocation check of
the token rides along with each route's first read (a BatchGetItem) or write
(a ConditionCheck in its transaction); the read-only routes whose first
read is a query (active chats, own chats) spend one extra GetItem-sized batch read on it.
"""

import pytest

from tests.support.dynamo_hooks import count_calls


def calls_of(request):
    with count_calls() as calls:
        reply = request()
    assert reply.status < 300, reply.body
    return calls


def test_agent_login_is_six_calls(api):
    # The login and the attempt counters in one batch read, the attempt reserved (the source, then
    # the username), the password checked, the reservations released (the username's counter
    # deleted, the source's given back), then going online.
    calls = calls_of(lambda: api.login("agent", 1))
    assert calls == {"BatchGetItem": 1, "UpdateItem": 4, "DeleteItem": 1}


def test_customer_login_is_six_calls(api):
    calls = calls_of(lambda: api.login("customer", 1))
    assert calls == {"BatchGetItem": 1, "UpdateItem": 3, "DeleteItem": 1, "GetItem": 1}


def test_a_wrong_password_is_two_calls_and_a_locked_username_one(api):
    wrong = {"username": "annasianna", "password": "wrong"}
    with count_calls() as calls:
        assert api.request("POST", "/agent/login", form=wrong).status == 401
    assert calls == {"BatchGetItem": 1, "UpdateItem": 2}
    for _ in range(4):
        api.request("POST", "/agent/login", form=wrong)
    with count_calls() as calls:
        assert api.request("POST", "/agent/login", form=wrong).status == 429
    assert calls == {"BatchGetItem": 1}


def test_initiate_is_one_query_and_one_transaction(api):
    api.token("agent", 1)
    token = api.token("customer", 1)
    assert calls_of(lambda: api.initiate(1, token)) == {"Query": 1, "TransactWriteItems": 1}


def test_overflow_initiate_reads_the_online_agents_once_more(api):
    api.token("agent", 1)
    api.initiate(1)
    api.initiate(2)
    token = api.token("customer", 3)
    assert calls_of(lambda: api.initiate(3, token)) == {"Query": 2, "TransactWriteItems": 1}


@pytest.mark.parametrize("role", ["customer", "agent"])
def test_send_is_one_batch_read_and_one_put(api, chat, role):
    if role == "customer":
        calls = calls_of(lambda: api.customer_send(1, chat["customer"], "hi"))
    else:
        calls = calls_of(lambda: api.agent_send(1, chat["agent"], 1, "hi"))
    assert calls == {"BatchGetItem": 1, "PutItem": 1}


def test_resolve_is_one_batch_read_and_one_transaction(api, chat):
    assert calls_of(lambda: api.resolve(1, chat["agent"], 1)) == {"BatchGetItem": 1, "TransactWriteItems": 1}


def test_with_a_queue_resolve_reads_the_agent_and_the_queue_state_together(api, monkeypatch):
    from chalicelib import store as store_module

    monkeypatch.setenv("ROUTING_OVERFLOW", "queue")
    store_module.reset()
    agent = api.token("agent", 1)
    api.initiate(1)
    # The chat (with the token), then the agent and the queue's state in one batch, the queue's
    # head, and the commit.
    calls = calls_of(lambda: api.resolve(1, agent, 1))
    assert calls == {"BatchGetItem": 2, "Query": 1, "TransactWriteItems": 1}


def test_history_by_the_customers_open_chat_reads_the_chat_itself(api, chat):
    calls = calls_of(lambda: api.request("GET", "/customer/1/chat", token=chat["customer"]))
    assert calls == {"BatchGetItem": 2, "Query": 1}  # the pointer (with the token), the chat, the page


@pytest.mark.parametrize("page_size", [2, 50])
def test_history_is_one_query_per_page(api, chat, page_size):
    for i in range(5):
        api.customer_send(1, chat["customer"], f"m{i}")
    query = {"channel_id": chat["channel_id"], "limit": page_size}
    calls = calls_of(lambda: api.request("GET", "/customer/1/chat", token=chat["customer"], query=query))
    assert calls == {"BatchGetItem": 1, "Query": 1}


def test_active_chats_is_one_token_read_and_one_query(api, chat):
    assert calls_of(lambda: api.active(1, chat["agent"])) == {"BatchGetItem": 1, "Query": 1}


@pytest.mark.parametrize("role", ["customer", "agent"])
def test_own_chats_is_one_token_read_and_one_query(api, chat, role):
    calls = calls_of(lambda: api.request("GET", f"/{role}/1/chats", token=chat[role]))
    assert calls == {"BatchGetItem": 1, "Query": 1}


@pytest.mark.parametrize("role", ["customer", "agent"])
def test_logout_is_one_write(api, role):
    # An agent's logout reads the agent's sessions first: it goes offline only with none left.
    token = api.token(role, 1)
    calls = calls_of(lambda: api.logout(role, 1, token))
    assert calls == ({"PutItem": 1} if role == "customer" else {"BatchGetItem": 1, "TransactWriteItems": 1})


def test_no_request_path_scans(api, chat):
    with count_calls() as calls:
        api.customer_send(1, chat["customer"], "x")
        api.request("GET", "/customer/1/chat", token=chat["customer"])
        api.active(1, chat["agent"])
        api.request("GET", "/agent/1/chats", token=chat["agent"])
        api.request("GET", "/customer/1/chats", token=chat["customer"])
        api.resolve(1, chat["agent"], 1)
        api.logout("agent", 1, chat["agent"])
    assert "Scan" not in calls
