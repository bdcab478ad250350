"""The store: the only package that talks to DynamoDB.

``get_store()`` builds the ``Store`` for the current settings on first use
and caches it (tests clear it with ``reset()``). Its methods return domain
values (``chalicelib.models``) and raise domain errors (``chalicelib.errors``).
"""

from __future__ import annotations

from functools import lru_cache

from chalicelib.config import Settings, get_settings
from chalicelib.store.accounts import AccountStore
from chalicelib.store.allocation import AllocationStale, AllocationStore
from chalicelib.store.chats import ChatStore
from chalicelib.store.dynamo import get_client
from chalicelib.store.maintenance import MaintenanceStore
from chalicelib.store.secrets import read_parameter

__all__ = ["AllocationStale", "Store", "get_store", "reset"]


class Store(AccountStore, AllocationStore, ChatStore, MaintenanceStore):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings


@lru_cache(maxsize=1)
def get_store() -> Store:
    return Store(get_settings())


def reset() -> None:
    """Forget the cached store, client and settings (after the environment changed)."""
    get_store.cache_clear()
    get_client.cache_clear()
    get_settings.cache_clear()
    read_parameter.cache_clear()
