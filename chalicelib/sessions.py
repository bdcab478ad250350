"""Login and logout for agents and customers.

Agent login puts the agent online (eligible for allocation by rule 1);
agent logout revokes the token and puts the agent offline. Customer login and
logout only start and end the session; an active chat stays active.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib import keys
from chalicelib.auth import issue_token, verify_password
from chalicelib.config import Settings
from chalicelib.errors import Unauthorized
from chalicelib.models import Agent, Customer, Principal
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


def login(store: Store, settings: Settings, role: str, username: str, password: str) -> Session:
    """Check the password and issue a token. Raises ``Unauthorized`` with one message for any failure."""
    credentials = store.get_credentials(role, username)
    if not verify_password(credentials.password_hash if credentials else None, password):
        raise Unauthorized(BAD_CREDENTIALS, code="invalid_credentials")
    assert credentials is not None
    user: Agent | Customer | None
    if role == keys.AGENT:
        user = store.set_agent_status(credentials.user_id, online=True)
    else:
        user = store.get_customer(credentials.user_id)
    if user is None:
        raise Unauthorized(BAD_CREDENTIALS, code="invalid_credentials")
    token, principal = issue_token(settings, role, credentials.user_id)
    return Session(user=user, token=token, expires_at=principal.expires_at)


def logout(store: Store, principal: Principal) -> None:
    """Revoke the caller's token; an agent also goes offline. Raises ``Unauthorized`` if already revoked."""
    store.revoke_token(principal, set_agent_offline=principal.role == keys.AGENT)
