"""Login and logout for agents and customers.

Agent login puts the agent online (eligible for allocation by rule 1);
agent logout revokes the token and puts the agent offline. Customer login and
logout only start and end the session; an active chat stays active.
"""

from __future__ import annotations

import time

from chalicelib import keys, throttling
from chalicelib.auth import device_id, hash_password, issue_device_token, issue_token, needs_rehash, verify_password
from chalicelib.config import Settings
from chalicelib.errors import TooManyRequests, Unauthorized
from chalicelib.models import ONLINE, Agent, Customer, Principal, Session
from chalicelib.store import Store
from chalicelib.store.throttle import Counter
from chalicelib.throttling import Window

BAD_CREDENTIALS = "wrong username or password"
USER, SOURCE, DEVICE = "user", "source", "device"
CONFLICT_RETRIES = 3


def login(
    store: Store,
    settings: Settings,
    role: str,
    username: str,
    password: str,
    source: str | None = None,
    now: float | None = None,
    device_token: str | None = None,
) -> Session:
    """Check the password and issue a token (and a device token for this username).

    Raises ``Unauthorized`` with one message for a wrong password and an
    unknown username alike, and ``TooManyRequests`` while the username or the
    source address has used up its attempts in the sliding window
    (``chalicelib.throttling``), whether the username exists or not. A valid
    ``device_token`` of this username is throttled on its own instead, so an
    attacker guessing from elsewhere, or from behind the same address, does
    not lock the user out. Each attempt is reserved before the password is
    checked. The password of a hash made with older parameters is rehashed.
    """
    now = time.time() if now is None else now
    window = Window.at(now, settings.login_window_seconds)
    counters = _counters(settings, role, username, source, device_token)
    refs = [ref for counter in counters for ref in store.throttle.refs(counter, window)]
    credentials, *counts = store.read(store.logins.ref(role, username), *refs)  # one round trip
    previous_and_current = [(p or 0, c or 0) for p, c in zip(counts[::2], counts[1::2], strict=True)]
    _reserve(store, counters, previous_and_current, window, now)
    if not verify_password(credentials.password_hash if credentials else None, password):
        raise Unauthorized(BAD_CREDENTIALS, code="invalid_credentials")  # the reserved attempt stays counted
    assert credentials is not None
    if needs_rehash(credentials.password_hash):
        store.logins.replace_hash(credentials, hash_password(password))
    release = store.transaction()
    for counter, (previous, _) in zip(counters, previous_and_current, strict=True):
        if counter.kind == SOURCE:
            release.add(store.throttle.refund(counter, window))  # others behind the address keep their count
        else:
            release.add(*store.throttle.forget(counter, window, previous_too=previous > 0))  # starts afresh
    release.commit(conflict_retries=CONFLICT_RETRIES)
    user: Agent | Customer | None
    if role == keys.AGENT:
        user = store.agents.set_status(credentials.user_id, ONLINE)
    else:
        user = store.customers.get(credentials.user_id)
    if user is None:
        raise Unauthorized(BAD_CREDENTIALS, code="invalid_credentials")
    token, principal = issue_token(settings, role, credentials.user_id)
    device = issue_device_token(settings, role, username)
    return Session(user=user, token=token, expires_at=principal.expires_at, device_token=device)


def _counters(
    settings: Settings, role: str, username: str, source: str | None, device_token: str | None
) -> list[Counter]:
    """What this attempt counts against: its device, if it shows a valid device token of the
    username; else the username and the source address."""
    device = device_id(settings, device_token, role, username) if device_token else None
    if device is not None:
        return [Counter(DEVICE, device, settings.login_max_failures)]
    counters = [Counter(USER, f"{role}#{username}", settings.login_max_failures)]
    if source:
        counters.append(Counter(SOURCE, source, settings.login_max_failures_per_source))
    return counters


def _reserve(store: Store, counters: list[Counter], counts: list[tuple[int, int]], window: Window, now: float) -> None:
    """Reserve one attempt on every counter, atomically, or raise ``TooManyRequests``."""
    reservations = []
    for counter, (previous, current) in zip(counters, counts, strict=True):
        allowed = throttling.room(counter.limit, previous, window, now)
        wait = throttling.retry_after(counter.limit, previous, max(current, allowed), window, now)
        if current >= allowed:
            raise too_many_attempts(wait)
        reservation = store.throttle.reserve(counter, window, allowed)
        reservations.append(reservation.failing_as(lambda _current, wait=wait: too_many_attempts(wait)))
    # One address behind a NAT logs many users in at once: their reservations share its counter.
    store.transaction().add(*reservations).commit(conflict_retries=CONFLICT_RETRIES)


def too_many_attempts(retry_after: int) -> TooManyRequests:
    return TooManyRequests("too many failed logins; try again later", retry_after=retry_after)


def logout(store: Store, principal: Principal) -> None:
    """Revoke the caller's token; an agent also goes offline. Raises ``Unauthorized`` if already revoked."""
    transaction = store.transaction().add(store.tokens.revoke(principal))
    if principal.role == keys.AGENT:
        transaction.add(store.agents.go_offline(principal.user_id))
    transaction.commit()
