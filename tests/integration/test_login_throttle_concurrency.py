"""Login throttling under real concurrency (DynamoDB Local): attempts are reserved atomically.

Many wrong logins at the same instant must not check more passwords than the limit allows.
"""

import pytest

from chalicelib import sessions
from chalicelib import store as store_module
from chalicelib.config import get_settings
from tests.support.live import concurrently
from tests.support.logins import attempt


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
