"""Every authenticated route against every kind of bad credential (moto).

Each case must get 401 or 403 and leave the data exactly as it was.
"""

import base64
import json
import time

import jwt
import pytest

from chalicelib.auth import ISSUER, issue_token
from chalicelib.config import get_settings
from tests import invariants

# (method, path, role, owner id, form) for every route that needs a token.
ROUTES = [
    ("GET", "/agent/1/chat/active", "agent", 1, None),
    ("GET", "/agent/1/chat", "agent", 1, {"customer_id": 1}),
    ("POST", "/agent/1/chat/send", "agent", 1, {"RecipientID": 1, "text_message": "x"}),
    ("POST", "/agent/1/chat/resolve", "agent", 1, {"customer_id": 1}),
    ("PUT", "/agent/1/logout", "agent", 1, None),
    ("POST", "/customer/1/chat/initiate", "customer", 1, None),
    ("GET", "/customer/1/chat", "customer", 1, None),
    ("POST", "/customer/1/chat/send", "customer", 1, {"text_message": "x"}),
    ("PUT", "/customer/1/logout", "customer", 1, None),
]
IDS = [f"{method} {path}" for method, path, *_ in ROUTES]


@pytest.fixture
def world(api):
    """Agent 1 online with customer 1's active chat; returns a snapshot to compare against."""
    agent = api.token("agent", 1)
    customer = api.token("customer", 1)
    api.initiate(1, customer)
    api.customer_send(1, customer, "private")
    return {"agent": agent, "customer": customer}


def call(api, route, token=None, raw_header=None):
    method, path, _, _, form = route
    headers = {"Authorization": raw_header} if raw_header else None
    return api.request(method, path, token=token, form=form, headers=headers)


def assert_refused(api, route, reply, status):
    assert reply.status == status, (route, reply.body)
    assert reply.body["error"]["code"]
    if status == 401:
        assert "Bearer" in reply.headers["WWW-Authenticate"]


def unchanged(before):
    after = invariants.snapshot()
    assert after == before
    invariants.check(after)


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
def test_no_token_is_a_401(api, world, route):
    before = invariants.snapshot()
    assert_refused(api, route, call(api, route), 401)
    unchanged(before)


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
@pytest.mark.parametrize("header", ["Bearer", "Bearer not.a.jwt", "Basic dXNlcjpwYXNz", "token-without-scheme"])
def test_malformed_authorization_is_a_401(api, world, route, header):
    before = invariants.snapshot()
    assert_refused(api, route, call(api, route, raw_header=header), 401)
    unchanged(before)


def forge(role, user_id, secret=None, algorithm="HS256", **claims):
    now = int(time.time())
    body = {"sub": str(user_id), "role": role, "jti": "forged", "iat": now, "exp": now + 600, "iss": ISSUER, **claims}
    return jwt.encode(body, secret or get_settings().jwt_secret, algorithm=algorithm)


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
def test_tampered_token_is_a_401(api, world, route):
    _, _, role, owner, _ = route
    token = world[role]
    header, _payload, signature = token.split(".")
    # Same payload shape, signed with the wrong key; and a real payload with a swapped signature.
    wrong_key = forge(role, owner, secret="an-attackers-secret-key-0123456789abcdef")
    spliced = f"{header}.{forge(role, owner).split('.')[1]}.{signature}"
    before = invariants.snapshot()
    assert_refused(api, route, call(api, route, token=wrong_key), 401)
    assert_refused(api, route, call(api, route, token=spliced), 401)
    unchanged(before)


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
def test_expired_token_is_a_401(api, world, route):
    _, _, role, owner, _ = route
    expired, _ = issue_token(get_settings(), role, owner, now=int(time.time()) - 13 * 3600)
    before = invariants.snapshot()
    reply = call(api, route, token=expired)
    assert_refused(api, route, reply, 401)
    assert reply.error["code"] == "token_expired"
    unchanged(before)


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
def test_another_users_token_is_a_403(api, world, route):
    _, _, role, _, _ = route
    other = api.token(role, 2)
    before = invariants.snapshot()
    assert_refused(api, route, call(api, route, token=other), 403)
    unchanged(before)


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
def test_the_other_roles_token_is_a_403(api, world, route):
    _, _, role, _, _ = route
    other_role = "customer" if role == "agent" else "agent"
    before = invariants.snapshot()
    assert_refused(api, route, call(api, route, token=world[other_role]), 403)  # same id 1, other role
    unchanged(before)


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
def test_a_logged_out_token_is_a_401(api, world, route):
    _, _, role, owner, _ = route
    token = api.token(role, owner)
    assert api.logout(role, owner, token).status == 200
    if role == "agent":
        api.token("agent", 2)  # keep someone online so the state below is stable
    before = invariants.snapshot()
    reply = call(api, route, token=token)
    assert_refused(api, route, reply, 401)
    assert reply.error["code"] == "token_revoked"
    unchanged(before)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
def test_unsigned_and_edited_tokens_are_a_401(api, world, route):
    _, _, role, owner, _ = route
    now = int(time.time())
    claims = {"sub": str(owner), "role": role, "jti": "x", "iat": now, "exp": now + 600, "iss": ISSUER}
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    # Another user's genuine token with the subject edited to the owner, signature kept.
    header, payload, signature = api.token(role, 2).split(".")
    edited_claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    edited_claims["sub"] = str(owner)
    edited = f"{header}.{_b64(edited_claims)}.{signature}"
    before = invariants.snapshot()
    for token in (unsigned, edited):
        reply = call(api, route, token=token)
        assert_refused(api, route, reply, 401)
        assert reply.error["code"] == "invalid_token"
    unchanged(before)
