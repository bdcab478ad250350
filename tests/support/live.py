"""A client of the API served over real HTTP, for concurrent tests: one connection per thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import requests

from tools.api_client import Reply

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class User:
    role: str
    user_id: int
    username: str
    password: str


class LiveApi:
    def __init__(self, base: str) -> None:
        self.base = base
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def request(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Reply:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = self.session.request(method, self.base + path, headers=headers, timeout=60, **kwargs)
        return Reply(response.status_code, dict(response.headers), response.json() if response.content else None)

    def login(self, user: User) -> str:
        reply = self.request("POST", f"/{user.role}/login", data={"username": user.username, "password": user.password})
        assert reply.status == 200, reply.body
        return reply.body["token"]

    def initiate(self, customer_id: int, token: str) -> Reply:
        return self.request("POST", f"/customer/{customer_id}/chat/initiate", token)

    def resolve(self, agent_id: int, token: str, customer_id: int) -> Reply:
        return self.request("POST", f"/agent/{agent_id}/chat/resolve", token, data={"customer_id": customer_id})

    def logout(self, role: str, user_id: int, token: str) -> Reply:
        return self.request("PUT", f"/{role}/{user_id}/logout", token)

    def customer_send(self, customer_id: int, token: str, text: str, key: str | None = None) -> Reply:
        headers = {"Idempotency-Key": key} if key else {}
        return self.request(
            "POST", f"/customer/{customer_id}/chat/send", token, data={"text_message": text}, headers=headers
        )


def concurrently(fn: Callable[[T], R], items: Iterable[T], workers: int = 16) -> list[R]:
    """Run ``fn`` over ``items`` on ``workers`` threads at once; results in input order."""
    items = list(items)
    parties = min(workers, len(items))
    barrier = threading.Barrier(parties) if parties else None

    def start_together(indexed: tuple[int, T]) -> R:
        index, item = indexed
        if barrier is not None and index < parties:
            barrier.wait(timeout=30)  # the first wave leaves at the same instant
        return fn(item)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(start_together, enumerate(items)))
