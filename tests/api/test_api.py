"""Every route through Chalice's test client: success shapes, input forms, error statuses (moto)."""

import json

import pytest

from chalicelib.config import get_settings
from chalicelib.inputs import body_limit
from tests.support import invariants

# -- login ------------------------------------------------------------------


def test_agent_login_with_form_values_returns_the_agent_and_a_token(api):
    reply = api.request("POST", "/agent/login", form={"username": "annasianna", "password": "strongpass1"})
    assert reply.status == 200
    user = reply.body["user"]
    assert {k: user[k] for k in ("id", "username", "role", "status", "active_chats", "max_chats", "sessions")} == {
        "id": 1,
        "username": "annasianna",
        "role": "agent",
        "status": "online",
        "active_chats": 0,
        "max_chats": 2,
        "sessions": 1,
    }
    assert user["last_seen"].endswith("Z")
    assert reply.body["token_type"] == "Bearer" and reply.body["token"].count(".") == 2


def test_customer_login_with_json(api):
    reply = api.request("POST", "/customer/login", json_body={"username": "tumblrbiru", "password": "strongpass6"})
    assert reply.status == 200
    assert reply.body["user"] == {"id": 6, "username": "tumblrbiru", "role": "customer", "active_channel_id": None}


def test_login_with_multipart_form_data_as_postman_sends_it(api):
    boundary = "X-BOUNDARY"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="username"\r\n\r\nbiruisblue\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="password"\r\n\r\nstrongpass3\r\n--{boundary}--\r\n'
    )
    reply = api.request(
        "POST", "/agent/login", body=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert reply.status == 200 and reply.body["user"]["username"] == "biruisblue"


def test_wrong_password_and_unknown_user_get_the_same_401(api):
    wrong = api.request("POST", "/agent/login", form={"username": "annasianna", "password": "nope"})
    unknown = api.request("POST", "/agent/login", form={"username": "nobody", "password": "nope"})
    assert wrong.status == unknown.status == 401
    assert wrong.body == unknown.body
    assert invariants.snapshot()["agents"][0]["status"] == "offline"  # a failed login changes nothing


def test_logins_are_per_role(api):
    reply = api.request("POST", "/customer/login", form={"username": "annasianna", "password": "strongpass1"})
    assert reply.status == 401


@pytest.mark.parametrize("missing", ["username", "password"])
def test_login_without_a_field_is_a_400_naming_it(api, missing):
    form = {"username": "annasianna", "password": "strongpass1"}
    del form[missing]
    reply = api.request("POST", "/agent/login", form=form)
    assert reply.status == 400 and reply.error["field"] == missing


def test_login_with_a_non_string_password_is_a_400(api):
    reply = api.request("POST", "/agent/login", json_body={"username": "annasianna", "password": 12345})
    assert reply.status == 400 and reply.error["field"] == "password"


def test_login_response_carries_no_secret(api):
    text = json.dumps(api.login("agent", 1).body)
    assert "argon2" not in text and "strongpass1" not in text


# -- initiate ---------------------------------------------------------------


def test_initiate_returns_the_new_channel(api):
    api.token("agent", 2)
    reply = api.initiate(4)
    assert reply.status == 201
    body = reply.body
    assert body["customer_id"] == 4 and body["agent_id"] == 2 and body["status"] == "active"
    assert len(body["channel_id"]) == 26 and body["created_at"].endswith("Z") and body["resolved_at"] is None


def test_customer_login_shows_the_active_chat(api, chat):
    assert api.login("customer", 1).body["user"]["active_channel_id"] == chat["channel_id"]


def test_initiate_for_a_customer_that_does_not_exist_is_a_404(api):
    from chalicelib.auth import issue_token
    from chalicelib.config import get_settings

    token, _ = issue_token(get_settings(), "customer", 99)
    reply = api.request("POST", "/customer/99/chat/initiate", token=token)
    assert reply.status == 404 and reply.error["code"] == "customer_not_found"
    invariants.check()
    assert invariants.snapshot()["channels"] == []


# -- messages ---------------------------------------------------------------


def test_customer_and_agent_exchange_messages(api, chat):
    sent = api.customer_send(1, chat["customer"], "Halo, pesanan saya belum sampai")
    assert sent.status == 201
    assert sent.body["sender_role"] == "customer" and sent.body["sender_id"] == 1
    assert sent.body["channel_id"] == chat["channel_id"]
    reply = api.agent_send(1, chat["agent"], 1, "Baik, kami cek dulu ya")
    assert reply.status == 201 and reply.body["sender_role"] == "agent" and reply.body["sender_id"] == 1


def test_the_first_response_is_the_agents_first_message_read_when_the_chat_ends(api, chat):
    from chalicelib import realtime
    from chalicelib.events import Event
    from chalicelib.store import get_store

    store = get_store()
    ended = Event("e1", "chat.resolved", "t", chat["channel_id"])
    assert realtime.first_replies(store, [ended]) == {}  # nobody answered yet
    assert api.customer_send(1, chat["customer"], "anyone there?").status == 201  # a customer's is no reply
    first = api.agent_send(1, chat["agent"], 1, "here I am").body
    assert api.agent_send(1, chat["agent"], 1, "and again").status == 201
    assert realtime.first_replies(store, [ended]) == {chat["channel_id"]: first["created_at"]}
    assert realtime.first_replies(store, [Event("e2", "message.created", "t", chat["channel_id"])]) == {}


def test_send_accepts_json(api, chat):
    reply = api.request(
        "POST", "/agent/1/chat/send", token=chat["agent"], json_body={"RecipientID": 1, "text_message": "json works"}
    )
    assert reply.status == 201 and reply.body["text"] == "json works"


def test_extra_fields_cannot_rewrite_what_is_stored(api, chat):
    reply = api.request(
        "POST",
        "/customer/1/chat/send",
        token=chat["customer"],
        json_body={"text_message": "hi", "sender_id": 99, "sender_role": "agent", "channel_id": "X", "message_id": "Y"},
    )
    assert reply.status == 201
    assert reply.body["sender_id"] == 1 and reply.body["sender_role"] == "customer"
    assert reply.body["channel_id"] == chat["channel_id"] and reply.body["message_id"] != "Y"


@pytest.mark.parametrize(
    "form, field, status",
    [
        ({}, "text_message", 400),
        ({"text_message": "   "}, "text_message", 400),
        ({"text_message": "x" * 4001}, "text_message", 413),
    ],
)
def test_bad_message_text(api, chat, form, field, status):
    reply = api.request("POST", "/customer/1/chat/send", token=chat["customer"], form=form)
    assert reply.status == status and reply.error["field"] == field
    assert invariants.snapshot()["messages"] == []


def test_message_of_exactly_the_limit_is_accepted(api, chat):
    assert api.customer_send(1, chat["customer"], "x" * 4000).status == 201


def test_agent_send_needs_a_valid_recipient(api, chat):
    missing = api.request("POST", "/agent/1/chat/send", token=chat["agent"], form={"text_message": "hi"})
    assert missing.status == 400 and missing.error["field"] == "RecipientID"
    malformed = api.agent_send(1, chat["agent"], "abc", "hi")
    assert malformed.status == 400 and malformed.error["field"] == "RecipientID"
    unknown = api.agent_send(1, chat["agent"], 404, "hi")
    assert unknown.status == 404


def test_agent_cannot_message_another_agents_customer(api, chat):
    other = api.token("agent", 2)
    reply = api.agent_send(2, other, 1, "not mine")
    assert reply.status == 403 and reply.error["code"] == "not_your_chat"
    assert invariants.snapshot()["messages"] == []


def test_customer_without_an_active_chat_cannot_send(api):
    reply = api.customer_send(2, api.token("customer", 2), "anyone?")
    assert reply.status == 409 and reply.error["code"] == "no_active_chat"


def test_no_messages_into_a_resolved_chat(api, chat):
    api.resolve(1, chat["agent"], 1)
    assert api.customer_send(1, chat["customer"], "still there?").status == 409
    assert api.agent_send(1, chat["agent"], 1, "bye").status == 409


def test_repeated_send_with_an_idempotency_key_stores_the_message_once(api, chat):
    headers = {"Idempotency-Key": "client-msg-1"}
    first = api.customer_send(1, chat["customer"], "only once", headers=headers)
    again = api.customer_send(1, chat["customer"], "only once", headers=headers)
    assert (first.status, again.status) == (201, 200)
    assert again.body == first.body
    other = api.customer_send(1, chat["customer"], "only once", headers={"Idempotency-Key": "client-msg-2"})
    assert other.status == 201 and other.body["message_id"] != first.body["message_id"]
    assert len(invariants.snapshot()["messages"]) == 2


def test_malformed_idempotency_key_is_a_400(api, chat):
    reply = api.customer_send(1, chat["customer"], "x", headers={"Idempotency-Key": "bad key"})
    assert reply.status == 400 and reply.error["field"] == "Idempotency-Key"


# -- history ----------------------------------------------------------------


def history(api, role, user_id, token, **query):
    return api.request("GET", f"/{role}/{user_id}/chat", token=token, query=query or None)


def test_history_is_oldest_first_for_both_sides(api, chat):
    api.customer_send(1, chat["customer"], "one")
    api.agent_send(1, chat["agent"], 1, "two")
    api.customer_send(1, chat["customer"], "three")
    for reply in (
        history(api, "customer", 1, chat["customer"], channel_id=chat["channel_id"]),
        history(api, "agent", 1, chat["agent"], channel_id=chat["channel_id"]),
    ):
        assert reply.status == 200
        assert [m["text"] for m in reply.body["messages"]] == ["one", "two", "three"]
        assert reply.body["channel"]["channel_id"] == chat["channel_id"]
        assert reply.body["next_cursor"] is None


def test_history_inputs_as_form_values_on_get(api, chat):
    api.customer_send(1, chat["customer"], "form on GET")
    reply = api.request(
        "GET",
        "/agent/1/chat",
        token=chat["agent"],
        form={"channel_id": chat["channel_id"], "customer_id": 1, "agent_id": 1},
    )
    assert reply.status == 200 and reply.body["messages"][0]["text"] == "form on GET"


def test_history_inputs_as_json_on_get(api, chat):
    reply = api.request("GET", "/customer/1/chat", token=chat["customer"], json_body={"channel_id": chat["channel_id"]})
    assert reply.status == 200 and reply.body["messages"] == []


def test_history_without_channel_id_shows_the_active_chat(api, chat):
    api.customer_send(1, chat["customer"], "hello")
    assert history(api, "customer", 1, chat["customer"]).body["messages"][0]["text"] == "hello"
    assert history(api, "agent", 1, chat["agent"], customer_id=1).body["channel"]["channel_id"] == chat["channel_id"]


def test_history_of_a_resolved_chat_stays_readable(api, chat):
    api.customer_send(1, chat["customer"], "before resolve")
    api.resolve(1, chat["agent"], 1)
    reply = history(api, "customer", 1, chat["customer"], channel_id=chat["channel_id"])
    assert reply.status == 200
    assert reply.body["channel"]["status"] == "resolved" and reply.body["messages"][0]["text"] == "before resolve"


def test_history_pages_with_a_cursor(api, chat):
    texts = [f"m{i}" for i in range(5)]
    for text in texts:
        api.customer_send(1, chat["customer"], text)
    seen, cursor = [], None
    for _ in range(5):
        query = {"channel_id": chat["channel_id"], "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = history(api, "customer", 1, chat["customer"], **query).body
        seen += [m["text"] for m in page["messages"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == texts


def test_history_errors(api, chat):
    customer = chat["customer"]
    assert history(api, "customer", 1, customer, channel_id="01ARZ3NDEKTSV4RRFFQ69G5FAV").status == 404
    bad = history(api, "customer", 1, customer, channel_id="not-an-id")
    assert bad.status == 400 and bad.error["field"] == "channel_id"
    assert history(api, "customer", 1, customer, channel_id=chat["channel_id"], limit=0).status == 400
    assert history(api, "agent", 1, chat["agent"]).status == 400
    mismatch = history(api, "agent", 1, chat["agent"], channel_id=chat["channel_id"], agent_id=2)
    assert mismatch.status == 400 and mismatch.error["field"] == "agent_id"
    assert history(api, "customer", 2, api.token("customer", 2)).status == 409  # no active chat


def test_history_of_someone_elses_chat_is_forbidden(api, chat):
    other_customer = api.token("customer", 2)
    other_agent = api.token("agent", 2)
    assert history(api, "customer", 2, other_customer, channel_id=chat["channel_id"]).status == 403
    assert history(api, "agent", 2, other_agent, channel_id=chat["channel_id"]).status == 403


# -- active chats -----------------------------------------------------------


def test_agent_sees_only_their_active_chats(api, chat):
    api.token("agent", 2)
    api.initiate(2)  # goes to agent 2, the idle one
    reply = api.active(1, chat["agent"])
    assert reply.status == 200
    assert [c["channel_id"] for c in reply.body["channels"]] == [chat["channel_id"]]
    api.resolve(1, chat["agent"], 1)
    assert api.active(1, chat["agent"]).body["channels"] == []


# -- resolve ----------------------------------------------------------------


def test_resolve_returns_the_resolved_channel(api, chat):
    reply = api.resolve(1, chat["agent"], 1)
    assert reply.status == 200
    assert reply.body["status"] == "resolved" and reply.body["channel_id"] == chat["channel_id"]
    assert reply.body["resolved_at"] >= reply.body["created_at"]
    invariants.check()


def test_resolve_by_channel_id_and_twice(api, chat):
    form = {"channel_id": chat["channel_id"]}
    assert api.request("POST", "/agent/1/chat/resolve", token=chat["agent"], form=form).status == 200
    again = api.request("POST", "/agent/1/chat/resolve", token=chat["agent"], form=form)
    assert again.status == 409 and again.error["code"] == "already_resolved"
    by_customer = api.resolve(1, chat["agent"], 1)
    assert by_customer.status == 409 and by_customer.error["code"] == "already_resolved"
    assert by_customer.error["details"] == {"channel_id": chat["channel_id"]}
    never = api.resolve(1, chat["agent"], 2)
    assert never.status == 409 and never.error["code"] == "no_active_chat"
    assert invariants.loads()[1] == 0  # never below zero
    invariants.check()


def test_resolve_errors(api, chat):
    agent = chat["agent"]
    missing = api.request("POST", "/agent/1/chat/resolve", token=agent, form={})
    assert missing.status == 400 and missing.error["field"] == "customer_id"
    assert api.resolve(1, agent, 404).status == 404
    other = api.resolve(2, api.token("agent", 2), 1)
    assert other.status == 403
    mismatch = api.request(
        "POST", "/agent/1/chat/resolve", token=agent, form={"channel_id": chat["channel_id"], "customer_id": 2}
    )
    assert mismatch.status == 400
    assert invariants.check()["channels"][0]["status"] == "active"


# -- logout -----------------------------------------------------------------


def test_agent_logout_goes_offline_and_revokes_the_token(api):
    token = api.token("agent", 1)
    reply = api.logout("agent", 1, token)
    assert reply.status == 200 and reply.body["status"] == "offline"
    assert invariants.snapshot()["agents"][0]["status"] == "offline"
    before = invariants.snapshot()
    assert api.logout("agent", 1, token).status == 200  # again (a retry after a lost answer): not an error
    assert invariants.snapshot() == before
    assert api.active(1, token).status == 401


def test_login_after_logout_gives_a_new_working_token_but_the_old_stays_dead(api):
    old = api.token("customer", 1)
    api.logout("customer", 1, old)
    new = api.token("customer", 1)
    assert api.request("GET", "/customer/1/chat", token=new).status == 409  # authenticated: no active chat
    assert api.request("GET", "/customer/1/chat", token=old).status == 401


# -- protocol-level errors --------------------------------------------------


def test_unsupported_content_type_is_a_415_in_the_standard_shape(api):
    reply = api.request("POST", "/agent/login", body="username=x", headers={"Content-Type": "text/plain"})
    assert reply.status == 415
    assert set(reply.error) == {"code", "message"}


def test_oversized_body_is_a_413(api, chat):
    settings = get_settings()
    limit = body_limit(settings.max_message_chars, settings.max_body_bytes)
    padding = "y" * (limit - len("text_message=x&padding=") + 1)
    reply = api.request(
        "POST", "/customer/1/chat/send", token=chat["customer"], form={"text_message": "x", "padding": padding}
    )
    assert reply.status == 413 and reply.error["code"] == "body_too_large"


def test_malformed_json_is_a_400(api):
    reply = api.request("POST", "/agent/login", body="{oops", headers={"Content-Type": "application/json"})
    assert reply.status == 400 and reply.error["code"] == "malformed_body"


def test_wrong_method_is_a_405_in_the_standard_shape(api):
    reply = api.request("DELETE", "/agent/login")
    assert reply.status == 405 and "code" in reply.error


def test_malformed_path_id_is_a_400(api):
    reply = api.request("GET", "/agent/abc/chat/active", token=api.token("agent", 1))
    assert reply.status == 400 and reply.error["field"] == "agent_id"


def test_every_response_carries_security_headers(api):
    reply = api.login("agent", 1)
    assert reply.headers["Cache-Control"] == "no-store"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"


def test_every_answer_carries_a_request_id_of_its_own(api, chat):
    # The log lines carrying the same id: tests/unit/test_logs.py.
    ok = api.customer_send(1, chat["customer"], "hi")
    refused = api.request("POST", "/customer/1/chat/send", token=chat["customer"], form={"text_message": ""})
    ids = {ok.headers["X-Request-Id"], refused.headers["X-Request-Id"]}
    assert refused.status == 400 and len(ids) == 2 and all(ids)
