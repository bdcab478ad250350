"""Login and logout for agents and customers.

Agent login puts the agent online (eligible for allocation by rule 1);
agent logout revokes the token and puts the agent offline. Customer login and
logout only start and end the session; an active chat stays active.
"""

from __future__ import annotations

import contextlib

from chalicelib import clock, keys, queueing, transfers
from chalicelib.attempts import Attempt
from chalicelib.auth import hash_password, issue_device_token, issue_token, needs_rehash, verify_password
from chalicelib.config import Settings
from chalicelib.errors import Unauthorized
from chalicelib.models import OFFLINE, Agent, Customer, Principal, Session, Supervisor
from chalicelib.store import Stale, Store
from chalicelib.store.agent_expressions import agent_not_found, live_sessions, session_entry
from chalicelib.store.dynamo import store_busy
from chalicelib.store.tokens import AlreadyRevoked
from chalicelib.store.transaction import Transaction

BAD_CREDENTIALS = "wrong username or password"


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
    now = clock.now() if now is None else now
    attempt = Attempt(store, settings, role, username, source, device_token, now)
    credentials, *counts = store.read(store.logins.ref(role, username), *attempt.refs())  # one round trip
    attempt.reserve(counts)
    if not verify_password(credentials.password_hash if credentials else None, password):
        raise Unauthorized(BAD_CREDENTIALS, code="invalid_credentials")  # the reserved attempt stays counted
    assert credentials is not None
    if needs_rehash(credentials.password_hash):
        store.logins.replace_hash(credentials, hash_password(password))
    attempt.succeeded()
    token, principal = issue_token(settings, role, credentials.user_id)  # on PyJWT's clock, the system's
    user: Agent | Customer | Supervisor | None
    if role == keys.AGENT:
        user = store.agents.log_in(credentials.user_id, session_entry(principal.expires_at, principal.jti), int(now))
        user = queueing.became_available(store, settings, user)  # with the queued chats it took
    elif role == keys.SUPERVISOR:
        user = store.supervisors.get(credentials.user_id)
    else:
        user = store.customers.get(credentials.user_id)
    if user is None:
        raise Unauthorized(BAD_CREDENTIALS, code="invalid_credentials")
    device = issue_device_token(settings, role, username)
    return Session(user=user, token=token, expires_at=principal.expires_at, device_token=device)


LOGOUT_ATTEMPTS = 3


def logout(store: Store, settings: Settings, principal: Principal, now: float | None = None) -> str | None:
    """End the caller's session: revoke its token (until it would have expired).

    An agent's session leaves its live sessions; the agent goes offline when
    none is left. Returns an agent's status afterwards (``None`` for others).
    Logging out a token that is already logged out changes nothing and is not
    an error (a retried request must not look like one).
    """
    now = clock.now() if now is None else now
    if principal.role != keys.AGENT:
        _revoke(store.transaction().add(store.tokens.revoke(principal)))
        return None
    mine = session_entry(principal.expires_at, principal.jti)
    for _ in range(LOGOUT_ATTEMPTS):
        (agent,) = store.read(store.agents.ref(principal.user_id))
        if agent is None:
            raise agent_not_found(principal.user_id)
        live = live_sessions(agent.session_entries, now)
        gone = (agent.session_entries - live) | {mine}
        others = live - {mine}
        end = store.agents.end_session(agent, frozenset(gone), go_offline=not others)
        try:
            _revoke(store.transaction().add(store.tokens.revoke(principal), end))
        except Stale:
            continue  # a login or logout of the same agent came in between: read again
        if not others:
            transfers.reassign_chats_of(store, settings, principal.user_id)
        return agent.status if others else OFFLINE
    raise store_busy()


def _revoke(transaction: Transaction) -> None:
    with contextlib.suppress(AlreadyRevoked):  # logged out before: nothing more to do
        transaction.commit()
