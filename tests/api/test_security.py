"""Security guarantees beyond the authorization matrix: brute force, rehash, key rotation,
revocation storage, CORS, and what errors never say."""

import time

import pytest
from argon2 import PasswordHasher

from chalicelib import clock
from chalicelib import store as store_module
from chalicelib.auth import issue_token
from chalicelib.config import get_settings
from chalicelib.store.dynamo import from_item, get_client
from chalicelib.store.tables import TTL_ATTRIBUTE
from tests.support import invariants
from tools.seed import seed_extra


def login(api, username="annasianna", password="wrong", role="agent"):
    return api.request("POST", f"/{role}/login", form={"username": username, "password": password})


# -- brute force ----------------------------------------------------------------


def test_repeated_failures_lock_the_username_with_429_and_retry_after(api):
    for _ in range(5):
        assert login(api).status == 401
    locked = login(api, password="strongpass1")  # even the right password now waits
    assert locked.status == 429 and locked.error["code"] == "too_many_attempts"
    assert 0 < int(locked.headers["Retry-After"]) <= 2 * 900  # sliding: up to two windows
    assert login(api, username="rosesimawar", password="strongpass2").status == 200  # others unaffected


def test_unknown_usernames_are_throttled_exactly_like_known_ones(api):
    known = [login(api, username="annasianna").status for _ in range(6)]
    unknown = [login(api, username="nobody-here").status for _ in range(6)]
    assert known == unknown == [401] * 5 + [429]
    assert login(api, username="annasianna").body == login(api, username="nobody-here").body


def test_the_lock_ends_when_retry_after_says(api, monkeypatch):
    now = time.time()
    monkeypatch.setattr(clock, "now", lambda: now)
    for _ in range(5):
        login(api)
    locked = login(api, password="strongpass1")
    wait = int(locked.headers["Retry-After"])
    assert locked.status == 429 and wait <= 2 * get_settings().login_window_seconds
    monkeypatch.setattr(clock, "now", lambda: now + wait - 2)
    assert login(api, password="strongpass1").status == 429
    monkeypatch.setattr(clock, "now", lambda: now + wait)
    assert login(api, password="strongpass1").status == 200


def test_a_successful_login_clears_the_usernames_failures(api):
    for _ in range(4):
        login(api)
    assert login(api, password="strongpass1").status == 200
    for _ in range(4):
        assert login(api).status == 401  # counting starts again
    assert login(api, password="strongpass1").status == 200


def test_one_source_failing_over_many_usernames_is_throttled(api, monkeypatch):
    monkeypatch.setenv("LOGIN_MAX_FAILURES_PER_SOURCE", "3")
    store_module.reset()
    for name in ("a1", "a2", "a3"):
        assert login(api, username=name).status == 401
    assert login(api, username="a4").status == 429
    assert login(api, username="annasianna", password="strongpass1").status == 429


# -- passwords ------------------------------------------------------------------


def test_a_hash_with_old_parameters_is_replaced_at_login(api, monkeypatch):
    import tools.seed as seed

    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    monkeypatch.setattr(seed, "hash_password", weak.hash)
    seed_extra("customer", 1, "old-params-pass")
    assert (
        api.request("POST", "/customer/login", form={"username": "customer9", "password": "old-params-pass"}).status
        == 200
    )
    item = get_client().get_item(TableName=get_settings().users_table, Key={"pk": {"S": "login#customer#customer9"}})
    stored = from_item(item["Item"])["password_hash"]
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert (
        api.request("POST", "/customer/login", form={"username": "customer9", "password": "old-params-pass"}).status
        == 200
    )


# -- tokens ---------------------------------------------------------------------


def test_key_rotation_accepts_the_previous_secret_until_it_is_removed(api, monkeypatch):
    old_secret = "old-secret-" + "x" * 40
    new_secret = "new-secret-" + "y" * 40
    monkeypatch.setenv("JWT_SECRET", old_secret)
    store_module.reset()
    old_token, _ = issue_token(get_settings(), "agent", 1)

    monkeypatch.setenv("JWT_SECRET", new_secret)
    monkeypatch.setenv("JWT_PREVIOUS_SECRET", old_secret)
    store_module.reset()
    assert api.active(1, old_token).status == 200  # grace period
    new_token = api.token("agent", 1)
    assert api.active(1, new_token).status == 200

    monkeypatch.delenv("JWT_PREVIOUS_SECRET")
    store_module.reset()
    assert api.active(1, old_token).status == 401  # rotation finished
    assert api.active(1, new_token).status == 200


def test_revocation_is_stored_and_expires_by_itself(api):
    token = api.token("customer", 1)
    api.logout("customer", 1, token)
    store_module.reset()  # a new Lambda instance: nothing in memory
    assert api.request("GET", "/customer/1/chat", token=token).status == 401
    items = get_client().scan(TableName=get_settings().tokens_table)["Items"]
    revoked = [from_item(i) for i in items if i["pk"]["S"].startswith("revoked#")]
    assert len(revoked) == 1 and revoked[0][TTL_ATTRIBUTE] > time.time() + get_settings().token_ttl_seconds - 60
    ttl = get_client().describe_time_to_live(TableName=get_settings().tokens_table)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == TTL_ATTRIBUTE and ttl["TimeToLiveStatus"] in ("ENABLED", "ENABLING")


# -- CORS -----------------------------------------------------------------------


@pytest.fixture
def cors(monkeypatch):
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "https://support.example.com")
    store_module.reset()


def test_an_allowed_origin_is_echoed_never_a_wildcard(api, cors):
    reply = api.request(
        "POST",
        "/agent/login",
        form={"username": "annasianna", "password": "strongpass1"},
        headers={"Origin": "https://support.example.com"},
    )
    assert reply.headers["Access-Control-Allow-Origin"] == "https://support.example.com"
    assert reply.headers["Vary"] == "Origin"
    assert "Access-Control-Allow-Credentials" not in reply.headers


def test_an_unlisted_origin_gets_no_cors_headers(api, cors):
    reply = api.request(
        "POST", "/agent/login", form={"username": "x", "password": "y"}, headers={"Origin": "https://evil.example.net"}
    )
    assert "Access-Control-Allow-Origin" not in reply.headers


def test_preflight_is_answered_for_allowed_origins(api, cors):
    reply = api.request("OPTIONS", "/agent/1/chat/send", headers={"Origin": "https://support.example.com"})
    assert reply.status == 204
    assert reply.headers["Access-Control-Allow-Origin"] == "https://support.example.com"
    assert "Authorization" in reply.headers["Access-Control-Allow-Headers"]
    assert "Idempotency-Key" in reply.headers["Access-Control-Allow-Headers"]


def test_no_cors_by_default(api):
    reply = api.request("OPTIONS", "/agent/login", headers={"Origin": "https://support.example.com"})
    assert reply.status == 204 and "Access-Control-Allow-Origin" not in reply.headers


# -- what errors never say ------------------------------------------------------


def test_an_unexpected_failure_is_a_bare_500_without_details(api, monkeypatch):
    def explode(*_args, **_kwargs):
        raise RuntimeError("internal detail: table agent-allocation-local-users, secret s3cr3t")

    monkeypatch.setattr(store_module.Channels, "active_for", explode)
    reply = api.active(1, api.token("agent", 1))
    assert reply.status == 500
    text = str(reply.body)
    assert "s3cr3t" not in text and "Traceback" not in text and "agent-allocation-local" not in text
    assert reply.error["code"] == "internal_server"


def test_errors_carry_no_hash_token_or_internal_name(api):
    token = api.token("customer", 1)
    replies = [
        login(api),
        api.request("GET", "/customer/1/chat", token=token, query={"channel_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}),
        api.request("POST", "/customer/2/chat/send", token=token, form={"text_message": "x"}),
        api.initiate(1, token),
        api.initiate(1, token),
    ]
    for reply in replies:
        text = str(reply.body)
        assert "argon2" not in text and token not in text and "local-users" not in text and "pk" not in reply.body


# -- input limits ---------------------------------------------------------------


@pytest.mark.parametrize("username", ["bell\x07name", " padded", "x" * 65, "nul\x00"])
def test_bad_usernames_are_refused_with_400(api, username):
    reply = login(api, username=username)
    assert reply.status == 400 and reply.error["field"] == "username"


def test_a_lone_surrogate_is_never_stored(api):
    api.token("agent", 1)
    customer = api.token("customer", 1)
    api.initiate(1, customer)
    reply = api.request(
        "POST",
        "/customer/1/chat/send",
        token=customer,
        body='{"text_message": "bad \\ud800 text"}',
        headers={"Content-Type": "application/json"},
    )
    assert reply.status == 400 and reply.error["field"] == "text_message"
    assert invariants.snapshot()["messages"] == []


@pytest.mark.parametrize("value", [["a"], {"a": 1}, True, 3.5])
def test_json_of_the_wrong_type_is_a_400_naming_the_field(api, value):
    customer = api.token("customer", 1)
    reply = api.request("POST", "/customer/1/chat/send", token=customer, json_body={"text_message": value})
    assert reply.status == 400 and reply.error["field"] == "text_message"


# -- input hardening (issue 15) -------------------------------------------------

DEEP = "[" * 1000 + "]" * 1000
BODY_ROUTES = [
    ("POST", "/agent/login", None),
    ("POST", "/customer/login", None),
    ("GET", "/agent/1/chat", "agent"),
    ("POST", "/agent/1/chat/send", "agent"),
    ("POST", "/agent/1/chat/resolve", "agent"),
    ("PUT", "/agent/1/logout", "agent"),
    ("POST", "/customer/1/chat/initiate", "customer"),
    ("GET", "/customer/1/chat", "customer"),
    ("POST", "/customer/1/chat/send", "customer"),
    ("PUT", "/customer/1/logout", "customer"),
]


@pytest.mark.parametrize("method, path, role", BODY_ROUTES, ids=[f"{m} {p}" for m, p, _ in BODY_ROUTES])
@pytest.mark.parametrize("body", [DEEP, '{"text_message": "x", "padding": ' + DEEP + "}"], ids=["array", "in-object"])
def test_deeply_nested_json_is_a_400_on_every_route_that_reads_a_body(api, method, path, role, body):
    token = api.token(role, 1) if role else None
    reply = api.request(method, path, token=token, body=body, headers={"Content-Type": "application/json"})
    assert reply.status == 400 and reply.error["code"] == "malformed_body"


@pytest.mark.parametrize("role, user", [("agent", "annasianna"), ("customer", "daungugur")])
def test_credentials_in_the_query_string_are_refused(api, role, user):
    reply = api.request("POST", f"/{role}/login", query={"username": user, "password": "strongpass1"})
    assert reply.status == 400 and reply.error["field"] == "username"
    assert "query" in reply.error["message"]
    password_only = api.request("POST", f"/{role}/login", query={"password": "strongpass1"}, form={"username": user})
    assert password_only.status == 400 and password_only.error["field"] == "password"


def test_invalid_utf8_in_a_form_value_is_a_400(api, chat):
    reply = api.request(
        "POST",
        "/customer/1/chat/send",
        token=chat["customer"],
        body="text_message=%ff%fe",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.status == 400 and reply.error["field"] == "text_message"
    assert invariants.snapshot()["messages"] == []


def test_invalid_utf8_in_a_query_value_is_a_400(api, chat):
    reply = api.request("POST", "/customer/1/chat/send?text_message=%ff%fe", token=chat["customer"])
    assert reply.status == 400 and reply.error["field"] == "text_message"
    assert invariants.snapshot()["messages"] == []


def test_a_message_at_the_limit_fits_in_every_encoding(api, chat):
    text = "\U0001f600" * get_settings().max_message_chars  # the worst case: 12 bytes a character
    escaped = '{"text_message": "' + "\\ud83d\\ude00" * get_settings().max_message_chars + '"}'
    json_reply = api.request(
        "POST",
        "/customer/1/chat/send",
        token=chat["customer"],
        body=escaped,
        headers={"Content-Type": "application/json"},
    )
    assert json_reply.status == 201, json_reply.body
    form_reply = api.request("POST", "/customer/1/chat/send", token=chat["customer"], form={"text_message": text})
    assert form_reply.status == 201, form_reply.body
    accented = '{"text_message": "' + "\\u00e9" * get_settings().max_message_chars + '"}'
    reply = api.request(
        "POST",
        "/customer/1/chat/send",
        token=chat["customer"],
        body=accented,
        headers={"Content-Type": "application/json"},
    )
    assert reply.status == 201 and reply.body["text"] == "é" * get_settings().max_message_chars


def test_limit_out_of_range_names_the_routes_own_maximum(api, chat):
    reply = api.request("GET", "/customer/1/chat", token=chat["customer"], query={"limit": 0})
    assert reply.status == 400 and reply.error["field"] == "limit"
    assert reply.error["message"] == "limit must be between 1 and 500"
