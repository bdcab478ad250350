"""Accounts: creating a user together with its login (seeding, load tests)."""

from __future__ import annotations

from chalicelib import keys
from chalicelib.errors import Conflict
from chalicelib.store import Store
from chalicelib.store.transaction import Item


def _exists(_current: object) -> Exception:
    return Conflict("the user or its username exists already", code="user_exists")


def create_user(
    store: Store, role: str, user_id: int, username: str, password_hash: str, team: str | None = None
) -> bool:
    """Create the user (an agent in ``team``, default the default team) and its login in one
    transaction; ``False`` if either already exists."""
    now = keys.now_iso()
    user: Item
    if role == keys.AGENT:
        user = store.agents.new(user_id, username, now, team)
    elif role == keys.SUPERVISOR:
        user = store.supervisors.new(user_id, username, now)
    else:
        user = store.customers.new(user_id, username, now)
    login = store.logins.new(role, user_id, username, password_hash)
    try:
        store.transaction().add(user.failing_as(_exists), login.failing_as(_exists)).commit()
    except Conflict:
        return False
    return True
