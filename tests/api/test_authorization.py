"""Every authenticated route against every kind of bad credential (moto).

Each case must get 401 or 403 and leave the data exactly as it was. The routes
come from the app itself (each view declared with ``route`` carries its
``role``), so a new authenticated route is in the matrix as soon as it exists;
it needs a sample input below, or ``test_every_authenticated_route_has_a_sample``
fails.
"""

import base64
import json
import time

import jwt
import pytest

from app import app
from chalicelib.auth import ISSUER, issue_token
from chalicelib.config import get_settings
from tests.support import invariants

OWNER = 1

# A valid input for each authenticated route, as its owner would send it in the world below.
SAMPLES = {
    ("GET", "/agent/{agent_id}/chat/active"): None,
    ("GET", "/agent/{agent_id}/chats"): {"limit": 5},
    ("GET", "/agent/{agent_id}/chat"): {"customer_id": 1},
    ("POST", "/agent/{agent_id}/chat/send"): {"RecipientID": 1, "text_message": "x"},
    ("POST", "/agent/{agent_id}/chat/resolve"): {"customer_id": 1},
    ("PUT", "/agent/{agent_id}/logout"): None,
    ("POST", "/customer/{customer_id}/chat/initiate"): None,
    ("GET", "/customer/{customer_id}/chat"): None,
    ("GET", "/customer/{customer_id}/chats"): {"limit": 5},
    ("POST", "/customer/{customer_id}/chat/send"): {"text_message": "x"},
    ("PUT", "/customer/{customer_id}/logout"): None,
    ("PUT", "/agent/{agent_id}/presence"): {"status": "online"},
    ("GET", "/supervisor/{supervisor_id}/agents"): None,
    ("PUT", "/supervisor/{supervisor_id}/agents/{agent_id}"): {"max_chats": 3},
    ("GET", "/supervisor/{supervisor_id}/chats"): None,
    ("PUT", "/supervisor/{supervisor_id}/logout"): None,
    ("POST", "/agent/{agent_id}/ws-ticket"): None,
    ("POST", "/customer/{customer_id}/ws-ticket"): None,
    ("POST", "/supervisor/{supervisor_id}/ws-ticket"): {"team": "default"},
    ("POST", "/agent/{agent_id}/chat/transfer"): {"customer_id": 1, "to_agent_id": 2},
    ("POST", "/customer/{customer_id}/chat/leave"): None,
    ("POST", "/supervisor/{supervisor_id}/chats/{channel_id}/transfer"): {"to_agent_id": 2},
    ("GET", "/supervisor/{supervisor_id}/queue"): None,
}
# Other ids in a path: an agent the supervisor manages, a chat (that does not exist).
OTHER_PATH_IDS = {"{agent_id}": "2", "{channel_id}": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}
ROLES = ("agent", "customer", "supervisor")

# (method, path template, role) of every route of the app that needs a token.
AUTHENTICATED = [
    (method, path, entry.view_function.role)
    for path, methods in app.routes.items()
    for method, entry in methods.items()
    if getattr(entry.view_function, "role", None)
]


# (method, concrete path, role, owner id, sample input); a route without a sample fails in the test below.
def concrete(path: str, role: str) -> str:
    path = path.replace(f"{{{role}_id}}", str(OWNER))
    for placeholder, value in OTHER_PATH_IDS.items():
        path = path.replace(placeholder, value)
    return path


ROUTES = [
    (method, concrete(path, role), role, OWNER, SAMPLES.get((method, path))) for method, path, role in AUTHENTICATED
]
IDS = [f"{method} {path}" for method, path, *_ in ROUTES]


def test_every_authenticated_route_has_a_sample():
    assert len(AUTHENTICATED) >= 9
    missing = [(method, path) for method, path, _ in AUTHENTICATED if (method, path) not in SAMPLES]
    assert not missing, f"add a sample input to SAMPLES for {missing}"
    assert set(SAMPLES) == {(method, path) for method, path, _ in AUTHENTICATED}, "a sample for a route that is gone"


def test_every_route_declares_whether_it_needs_a_token():
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            if method != "OPTIONS":
                assert hasattr(entry.view_function, "role"), f"{method} {path} is not declared with route()"


@pytest.fixture
def world(api):
    """Agent 1 online with customer 1's active chat; returns a snapshot to compare against."""
    agent = api.token("agent", 1)
    customer = api.token("customer", 1)
    supervisor = api.token("supervisor", 1)
    api.initiate(1, customer)
    api.customer_send(1, customer, "private")
    return {"agent": agent, "customer": customer, "supervisor": supervisor}


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
def test_the_owners_token_is_accepted(api, world, route):
    """The control: with the right token the sample passes authentication, so each 401/403 below is the token's."""
    reply = call(api, route, token=world[route[2]])
    assert reply.status not in (400, 401, 403), (route, reply.body)


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
    other, _ = issue_token(get_settings(), role, 2)  # a valid token of user 2 of the same role
    before = invariants.snapshot()
    assert_refused(api, route, call(api, route, token=other), 403)
    unchanged(before)


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
def test_the_other_roles_tokens_are_a_403(api, world, route):
    _, _, role, _, _ = route
    before = invariants.snapshot()
    for other_role in ROLES:
        if other_role != role:  # same id 1, other role: a supervisor's token works on no agent or customer route
            assert_refused(api, route, call(api, route, token=world[other_role]), 403)
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
    if route[1].endswith("/logout"):  # logging out again is not an error (a retry after a lost answer)
        assert reply.status == 200, reply.body
    else:
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
    header, payload, signature = issue_token(get_settings(), role, 2)[0].split(".")
    edited_claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    edited_claims["sub"] = str(owner)
    edited = f"{header}.{_b64(edited_claims)}.{signature}"
    before = invariants.snapshot()
    for token in (unsigned, edited):
        reply = call(api, route, token=token)
        assert_refused(api, route, reply, 401)
        assert reply.error["code"] == "invalid_token"
    unchanged(before)
