"""Login throttling: sliding windows, attempts reserved atomically, and device tokens.

The concurrent proofs run on DynamoDB Local: many wrong logins at the same
instant must not check more passwords than the limit allows.
"""

import pytest

from chalicelib import sessions
from chalicelib import store as store_module
from chalicelib.auth import issue_device_token
from chalicelib.config import get_settings
from chalicelib.errors import TooManyRequests, Unauthorized
from chalicelib.throttling import Window, retry_after, room
from tests.support.live import concurrently

W = 900


# -- the arithmetic (pure) -------------------------------------------------------


def test_the_previous_window_weighs_by_how_much_of_it_is_still_inside_the_last_window():
    window = Window.at(9_000 + 300, W)  # a third into the current window
    assert window.start == 9_000 and window.previous_start == 8_100
    assert room(5, previous=0, window=window, now=9_300) == 5
    assert room(5, previous=3, window=window, now=9_300) == 3  # 3 * 2/3 = 2 still count
    assert room(5, previous=5, window=window, now=9_000) == 0  # at the boundary, all of it counts
    assert room(5, previous=5, window=window, now=9_000 + 899) == 4


def test_retry_after_is_the_first_second_an_attempt_is_allowed_again():
    window = Window.at(9_000, W)
    # Full in the current window: wait into the next one until 4 of 5 carried attempts remain.
    wait = retry_after(5, previous=0, current=5, window=window, now=9_000)
    assert wait == 900 + 180
    later = Window.at(9_000 + wait, W)
    assert room(5, previous=5, window=later, now=9_000 + wait) == 1
    assert room(5, previous=5, window=later, now=9_000 + wait - 1) == 0
    # Limited by the previous window only: wait until its weight leaves one free slot.
    wait = retry_after(5, previous=5, current=0, window=window, now=9_000)
    assert room(5, previous=5, window=window, now=9_000 + wait) == 1


# -- atomic reservation (DynamoDB Local, concurrent) -------------------------------


@pytest.fixture
def checked_passwords(monkeypatch):
    """Count the passwords actually checked (each wrong one is an argon2 verification)."""
    checked = []
    real = sessions.verify_password

    def counting(password_hash, password):
        checked.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(sessions, "verify_password", counting)
    return checked


def attempt(username, password="wrong", source="198.51.100.7", device_token=None):
    try:
        sessions.login(
            store_module.get_store(), get_settings(), "agent", username, password, source, device_token=device_token
        )
    except TooManyRequests:
        return 429
    except Unauthorized:
        return 401
    return 200


def test_forty_simultaneous_wrong_logins_check_at_most_the_limit(real, checked_passwords):
    statuses = concurrently(lambda _: attempt("annasianna"), range(40), workers=40)
    assert len(checked_passwords) <= get_settings().login_max_failures
    assert statuses.count(401) == len(checked_passwords) and statuses.count(429) == 40 - len(checked_passwords)


def test_simultaneous_wrong_logins_from_one_source_check_at_most_its_limit(real, checked_passwords, monkeypatch):
    monkeypatch.setenv("LOGIN_MAX_FAILURES_PER_SOURCE", "10")
    store_module.reset()
    statuses = concurrently(lambda i: attempt(f"sprayed{i}"), range(30), workers=30)
    assert len(checked_passwords) <= 10
    assert statuses.count(401) == len(checked_passwords)


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
