"""The store: the only package that talks to DynamoDB.

One module per stored thing, each the only writer of its attributes, offering
its reads and handing out transaction items (``chalicelib.store.transaction``):

- ``agents``: status, load, capacity, presence and sessions (``agent#<id>``);
  ``load_index``: reading them by load
- ``customers``: the pointer to the active chat (``customer#<id>``)
- ``channels``: a chat's status and agent (``channel#<id>`` / ``channel``);
  ``chat_index``: reading a customer's or an agent's chats, newest first
- ``messages``: messages and idempotency records of sends
- ``queues``: each team's queue of waiting chats and its state item (``queue#<team>``)
- ``tokens``: revoked tokens; ``logins``: password hashes; ``throttle``: login attempts
- ``supervisors``: supervisor accounts
- ``connections``: open WebSocket connections; ``tickets``: single-use WebSocket tickets

``Store`` puts them together; ``get_store()`` builds it for the current
settings on first use and caches it (tests clear it with ``reset()``).
Values leave the store as domain values (``chalicelib.models``); failures as
domain errors (``chalicelib.errors``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from chalicelib.config import Settings, get_settings
from chalicelib.models import Principal
from chalicelib.ssm import read_parameter
from chalicelib.store.agents import Agents
from chalicelib.store.batch import Ref, get_many
from chalicelib.store.channels import Channels
from chalicelib.store.chat_index import ChatIndex
from chalicelib.store.connections import Connections
from chalicelib.store.customers import Customers
from chalicelib.store.dynamo import get_client
from chalicelib.store.load_index import LoadIndex
from chalicelib.store.logins import Logins
from chalicelib.store.messages import Messages, Replayed
from chalicelib.store.queues import Queues
from chalicelib.store.supervisors import Supervisors
from chalicelib.store.throttle import LoginThrottle
from chalicelib.store.tickets import Tickets
from chalicelib.store.tokens import Tokens, revoked
from chalicelib.store.transaction import OnFail, Stale, Transaction, busy

__all__ = ["Replayed", "Stale", "Store", "get_store", "reset"]


@dataclass(frozen=True)
class Store:
    agents: Agents
    load_index: LoadIndex
    customers: Customers
    channels: Channels
    chat_index: ChatIndex
    messages: Messages
    queues: Queues
    tokens: Tokens
    logins: Logins
    throttle: LoginThrottle
    supervisors: Supervisors
    connections: Connections
    tickets: Tickets

    @classmethod
    def for_settings(cls, settings: Settings) -> Store:
        return cls(
            agents=Agents(settings.users_table, settings.agent_pool, settings.allocation_cap),
            load_index=LoadIndex(settings.users_table, settings.agent_pool),
            customers=Customers(settings.users_table),
            channels=Channels(settings.chats_table, settings.agent_pool),
            chat_index=ChatIndex(settings.chats_table),
            messages=Messages(settings.chats_table),
            queues=Queues(settings.chats_table),
            tokens=Tokens(settings.tokens_table),
            logins=Logins(settings.users_table),
            throttle=LoginThrottle(settings.tokens_table),
            supervisors=Supervisors(settings.users_table),
            connections=Connections(settings.connections_table),
            tickets=Tickets(settings.connections_table),
        )

    def transaction(self, caller: Principal | None = None, *, on_conflict: OnFail = busy) -> Transaction:
        """A new transaction; with ``caller``, it commits only while the caller's token is not revoked."""
        transaction = Transaction(on_conflict)
        if caller is not None:
            transaction.add(self.tokens.still_valid(caller))
        return transaction

    def read(self, *refs: Ref[Any], caller: Principal | None = None) -> list[Any]:
        """The items of ``refs`` in order (``None`` where missing), in one round trip; with
        ``caller``, the same round trip checks the caller's token is not revoked (``Unauthorized``)."""
        if caller is None:
            return get_many(*refs)
        revocation, *values = get_many(self.tokens.revocation_ref(caller), *refs)
        if revocation is not None:
            raise revoked()
        return values

    def ping(self) -> None:
        """One small read that proves the store answers; raises ``Unavailable`` otherwise."""
        self.read(self.logins.ref("health", "probe"))


@lru_cache(maxsize=1)
def get_store() -> Store:
    return Store.for_settings(get_settings())


def reset() -> None:
    """Forget the cached store, client and settings (after the environment changed)."""
    get_store.cache_clear()
    get_client.cache_clear()
    get_settings.cache_clear()
    read_parameter.cache_clear()
