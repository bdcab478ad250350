"""Login and logout for agents and customers.

Agent login puts the agent online (eligible for allocation by rule 1);
agent logout revokes the token and puts the agent offline. Customer login and
logout only start and end the session; an active chat stays active.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from chalicelib import keys
from chalicelib.auth import hash_password, issue_token, needs_rehash, verify_password
from chalicelib.config import Settings
from chalicelib.errors import TooManyRequests, Unauthorized
from chalicelib.models import ONLINE, Agent, Customer, Principal
from chalicelib.store import Store

BAD_CREDENTIALS = "wrong username or password"


@dataclass(frozen=True)
class Session:
    user: Agent | Customer
    token: str
    expires_at: int

    def to_dict(self) -> dict:
        return {
            "user": self.user.to_dict(),
            "token": self.token,
            "token_type": "Bearer",
            "expires_at": self.expires_at,
        }


def login(
    store: Store,
    settings: Settings,
    role: str,
    username: str,
    password: str,
    source: str | None = None,
    now: float | None = None,
) -> Session:
    """Check the password and issue a token.

    Raises ``Unauthorized`` with one message for a wrong password and an
    unknown username alike, and ``TooManyRequests`` once the username (or the
    source address) has failed ``login_max_failures`` (``..._per_source``)
    times in the current window, whether the username exists or not. The
    password of a hash made with older parameters is rehashed.
    """
    now = time.time() if now is None else now
    window = settings.login_window_seconds
    window_start = int(now // window * window)
    throttle = store.throttle
    by_source = [throttle.source_ref(source, window_start)] if source else []
    credentials, user_failures, *source_failures = store.read(  # one round trip
        store.logins.ref(role, username), throttle.user_ref(role, username, window_start), *by_source
    )
    user_failures = user_failures or 0
    source_failures = (source_failures or [0])[0] or 0
    if user_failures >= settings.login_max_failures or source_failures >= settings.login_max_failures_per_source:
        raise TooManyRequests(
            "too many failed logins; try again later", retry_after=max(1, int(window_start + window - now))
        )
    if not verify_password(credentials.password_hash if credentials else None, password):
        throttle.record_failure(role, username, source, window_start, expires_at=window_start + 2 * window)
        raise Unauthorized(BAD_CREDENTIALS, code="invalid_credentials")
    assert credentials is not None
    if needs_rehash(credentials.password_hash):
        store.logins.replace_hash(credentials, hash_password(password))
    if user_failures:
        throttle.clear_user(role, username, window_start)
    user: Agent | Customer | None
    if role == keys.AGENT:
        user = store.agents.set_status(credentials.user_id, ONLINE)
    else:
        user = store.customers.get(credentials.user_id)
    if user is None:
        raise Unauthorized(BAD_CREDENTIALS, code="invalid_credentials")
    token, principal = issue_token(settings, role, credentials.user_id)
    return Session(user=user, token=token, expires_at=principal.expires_at)


def logout(store: Store, principal: Principal) -> None:
    """Revoke the caller's token; an agent also goes offline. Raises ``Unauthorized`` if already revoked."""
    transaction = store.transaction().add(store.tokens.revoke(principal))
    if principal.role == keys.AGENT:
        transaction.add(store.agents.go_offline(principal.user_id))
    transaction.commit()
