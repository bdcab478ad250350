"""Login throttling: device tokens (moto and DynamoDB Local).

The sliding windows' arithmetic is in tests/unit/test_throttling.py; the
atomic reservation under concurrency in
tests/integration/test_login_throttle_concurrency.py.
"""

from chalicelib import sessions
from chalicelib import store as store_module
from chalicelib.auth import issue_device_token
from chalicelib.config import get_settings
from tests.support.logins import attempt

# -- device tokens: one address, or one attacker, locks out nobody else ------------


def test_a_device_token_lets_its_user_in_while_the_source_is_throttled(seeded, monkeypatch):
    monkeypatch.setenv("LOGIN_MAX_FAILURES_PER_SOURCE", "3")
    store_module.reset()
    device = sessions.login(store_module.get_store(), get_settings(), "agent", "annasianna", "strongpass1", "nat")
    for name in ("x1", "x2", "x3"):
        assert attempt(name, source="nat") == 401
    assert attempt("annasianna", "strongpass1", source="nat") == 429  # behind the same address, no device token
    assert attempt("annasianna", "strongpass1", source="nat", device_token=device.device_token) == 200
    # A device token of another user is no help.
    assert attempt("rosesimawar", "strongpass2", source="nat", device_token=device.device_token) == 429


def test_a_device_token_lets_its_user_in_while_the_username_is_attacked(seeded):
    token = issue_device_token(get_settings(), "agent", "annasianna")
    for _ in range(5):
        assert attempt("annasianna", source="attacker") == 401
    assert attempt("annasianna", "strongpass1", source="office") == 429
    assert attempt("annasianna", "strongpass1", source="office", device_token=token) == 200


def test_wrong_passwords_with_a_device_token_lock_that_device_only(seeded):
    stolen = issue_device_token(get_settings(), "agent", "annasianna")
    assert [attempt("annasianna", device_token=stolen) for _ in range(6)] == [401] * 5 + [429]
    assert attempt("annasianna", "strongpass1", source="office") == 200  # the username itself is not locked


def test_a_device_token_is_not_an_access_token(api):
    token = issue_device_token(get_settings(), "agent", "annasianna")
    reply = api.active(1, token)
    assert reply.status == 401 and reply.error["code"] == "invalid_token"


def test_login_answers_a_device_token_for_that_username(api):
    reply = api.login("agent", 1)
    assert reply.status == 200 and reply.body["device_token"] != reply.body["token"]
