"""Drivers of the API for tests and benchmarks: through Chalice's test client (real routing,
real middleware), or through the same local API Gateway emulation from many threads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from chalice.config import Config
from chalice.local import LocalGateway, LocalGatewayException
from chalice.test import Client, HTTPResponse

from tools.seed import DEMO_USERS


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def error(self) -> dict[str, Any]:
        return self.body["error"]


class Api:
    def __init__(self, client: Client) -> None:
        self.client = client

    # -- raw requests -----------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json_body: Any = None,
        form: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            body = json.dumps(json_body)
            all_headers.setdefault("Content-Type", "application/json")
        elif form is not None:
            body = urlencode(form)
            all_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if query:
            path = f"{path}?{urlencode(query)}"
        response = getattr(self.client.http, method.lower())(path, headers=all_headers, body=body or b"")
        text = response.body.decode() if response.body else ""
        return Reply(response.status_code, dict(response.headers), json.loads(text) if text else None)

    # -- the seed flow ----------------------------------------------------

    def login(self, role: str, user_id: int, password: str | None = None) -> Reply:
        user = next(u for u in DEMO_USERS if u.role == role and u.user_id == user_id)
        return self.request(
            "POST", f"/{role}/login", form={"username": user.username, "password": password or user.password}
        )

    def token(self, role: str, user_id: int) -> str:
        reply = self.login(role, user_id)
        assert reply.status == 200, reply.body
        return reply.body["token"]

    def initiate(self, customer_id: int, token: str | None = None) -> Reply:
        token = token or self.token("customer", customer_id)
        return self.request("POST", f"/customer/{customer_id}/chat/initiate", token=token)

    def customer_send(self, customer_id: int, token: str, text: str, **kwargs: Any) -> Reply:
        return self.request(
            "POST", f"/customer/{customer_id}/chat/send", token=token, form={"text_message": text}, **kwargs
        )

    def agent_send(self, agent_id: int, token: str, customer_id: int, text: str, **kwargs: Any) -> Reply:
        return self.request(
            "POST",
            f"/agent/{agent_id}/chat/send",
            token=token,
            form={"RecipientID": customer_id, "text_message": text},
            **kwargs,
        )

    def resolve(self, agent_id: int, token: str, customer_id: int) -> Reply:
        return self.request("POST", f"/agent/{agent_id}/chat/resolve", token=token, form={"customer_id": customer_id})

    def active(self, agent_id: int, token: str) -> Reply:
        return self.request("GET", f"/agent/{agent_id}/chat/active", token=token)

    def logout(self, role: str, user_id: int, token: str) -> Reply:
        return self.request("PUT", f"/{role}/{user_id}/logout", token=token)


class GatewayClient:
    """Like ``chalice.test.Client`` for HTTP, but safe to use from many threads at once.

    Chalice's client swaps ``os.environ`` around every request, which threads
    undo for each other; this one leaves the environment (set by the test
    fixtures) alone and calls the same local API Gateway emulation.
    """

    def __init__(self, app: Any) -> None:
        self._gateway = LocalGateway(app, Config.create(chalice_stage="local"))
        self.http = self

    def _request(self, method: str, path: str, headers: dict | None = None, body: bytes | str = b"") -> HTTPResponse:
        try:
            response = self._gateway.handle_request(method=method, path=path, headers=headers or {}, body=body)
        except LocalGatewayException as error:
            return HTTPResponse(body=error.body, headers=error.headers, status_code=error.CODE)
        return HTTPResponse.create_from_dict(response)

    def __getattr__(self, method: str) -> Any:
        if method not in ("get", "post", "put", "delete", "patch", "head", "options"):
            raise AttributeError(method)
        return lambda path, **kwargs: self._request(method.upper(), path, **kwargs)
