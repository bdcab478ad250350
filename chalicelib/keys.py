"""Primary keys, index keys and identifiers: small pure functions, one place.

Tables (see ``chalicelib.store.tables``):

- users: ``pk`` = ``agent#<id>`` | ``customer#<id>`` | ``login#<role>#<username>``
- chats: ``pk`` = ``channel#<channel_id>``, ``sk`` = ``channel`` (the channel
  itself) | ``msg#<message_id>`` (its messages, oldest first) |
  ``idem#<role>#<user_id>#<key>`` (idempotency records of sends);
  ``pk`` = ``queue#<team>``: ``sk`` = ``state`` (the queue's counters) |
  ``entry#<priority>#<id>`` (a queued chat; head first)
- connections: ``pk`` = ``<role>#<id>`` (a user's sockets) | ``watch#<team>``
  (the team's supervisors' sockets), ``sk`` = ``conn#<connection_id>``;
  ``conn#<connection_id>`` / ``conn`` (its owner); ``ticket#<sha256>`` / ``ticket``
- tokens: ``pk`` = ``revoked#<jti>`` (logged-out tokens) |
  ``throttle#user#<role>#<username>#<window>``,
  ``throttle#source#<address>#<window>`` and ``throttle#device#<id>#<window>``
  (login attempts per window); all removed by TTL
"""

from __future__ import annotations

import secrets
import threading
import time
from datetime import UTC, datetime

AGENT = "agent"
CUSTOMER = "customer"
SUPERVISOR = "supervisor"
ROLES = (AGENT, CUSTOMER, SUPERVISOR)

CHANNEL_SK = "channel"
MESSAGE_SK_PREFIX = "msg#"
QUEUE_STATE_SK = "state"
QUEUE_ENTRY_PREFIX = "entry#"
# Queue priorities: a chat put back (its agent went offline, or did not reply) goes before new ones.
HEAD_PRIORITY = 0
NEW_PRIORITY = 1

# Offline agents sort after every online agent in the load index: an agent's
# ``rank`` is its active chat count, plus this offset while it is offline.
OFFLINE_RANK_OFFSET = 1_000_000

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_id_lock = threading.Lock()
_last_id = 0  # the last identifier made by ``new_id`` in this process, as a number


def user_pk(role: str, user_id: int) -> str:
    return f"{role}#{user_id}"


def agent_pk(agent_id: int) -> str:
    return user_pk(AGENT, agent_id)


def customer_pk(customer_id: int) -> str:
    return user_pk(CUSTOMER, customer_id)


def team_watch_pk(team: str) -> str:
    """The connections-table partition of the sockets of a team's supervisors."""
    return f"watch#{team}"


def login_pk(role: str, username: str) -> str:
    return f"login#{role}#{username}"


def channel_pk(channel_id: str) -> str:
    return f"channel#{channel_id}"


def queue_pk(team: str) -> str:
    return f"queue#{team}"


def queue_entry_sk(priority: int, entry_id: str) -> str:
    """Sort key of a queued chat: by priority, then by the time-ordered ``entry_id``."""
    return f"{QUEUE_ENTRY_PREFIX}{priority}#{entry_id}"


def message_sk(message_id: str) -> str:
    return f"{MESSAGE_SK_PREFIX}{message_id}"


def idempotency_sk(role: str, user_id: int, key: str) -> str:
    return f"idem#{role}#{user_id}#{key}"


def revoked_token_pk(jti: str) -> str:
    return f"revoked#{jti}"


def throttle_pk(kind: str, subject: str, window_start: int) -> str:
    """Login attempts of one ``kind`` (``user``, ``source``, ``device``) of ``subject`` in one window."""
    return f"throttle#{kind}#{subject}#{window_start}"


def rank(active_count: int, online: bool) -> int:
    """Sort key of an agent in the load index: online agents first, least loaded first."""
    return active_count if online else active_count + OFFLINE_RANK_OFFSET


def new_id(now_ms: int | None = None) -> str:
    """A 26-character, time-ordered, random identifier (ULID layout, Crockford base32).

    Identifiers made in a later millisecond sort after earlier ones, so message
    keys built from them list a channel's messages oldest first. Within one
    process they are strictly increasing (ULID's monotonic variant): one made in
    the same millisecond as the last, or after the clock stepped back, is the
    last plus one, so chats queued one after the other keep their order.
    """
    global _last_id
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    value = (millis << 80) | secrets.randbits(80)
    if now_ms is None:
        with _id_lock:
            if value <= _last_id:
                value = _last_id + 1
            _last_id = value
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def now_iso() -> str:
    """The current UTC time as ISO 8601 with milliseconds, e.g. ``2026-11-24T05:43:12.123Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
