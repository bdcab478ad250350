"""Locally, what API Gateway's WebSocket API does: serve sockets and call the app's handlers.

``chalice local`` serves no WebSockets. This gateway (the ``websockets``
package) accepts WebSocket connections on ``ws://HOST:PORT/?ticket=...`` and
calls the app's own handlers (``app.ws_connect``, ``app.ws_message``,
``app.ws_disconnect``) with API-Gateway-shaped events: a ``$connect`` answered
with a status other than 200 refuses the handshake with that status. It also
answers the management API the handlers post to (``POST /@connections/{id}``,
``DELETE`` too) on its own HTTP port: a closed or unknown connection gets 410
``GoneException``, as on AWS.

``RealtimeGateway(app_module, port=...).start()`` runs it in background
threads; ``start_realtime`` (what ``make run`` calls) also points the handlers
of this process at it (``WS_MANAGEMENT_URL``) and starts the stream poller
(``tools.stream_poller``) beside it.
"""

from __future__ import annotations

import asyncio
import base64
import http
import json
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

log = logging.getLogger(__name__)

STAGE = "local"
API_ID = "localgateway"
CONNECTIONS_PATH = "/@connections/"


@dataclass
class _Socket:
    connection_id: str
    outbox: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)


def new_connection_id() -> str:
    """An id in API Gateway's style (12 random bytes, base64)."""
    return base64.b64encode(secrets.token_bytes(12)).decode()


class RealtimeGateway:
    """The local WebSocket API: sockets on ``port``, the management API on ``management_port``."""

    def __init__(self, app_module: Any, host: str = "127.0.0.1", port: int = 8081, management_port: int = 0) -> None:
        self.app = app_module
        self.host = host
        self.port = port
        self._sockets: dict[str, _Socket] = {}  # open connections by id
        self._accepted: dict[ServerConnection, _Socket] = {}  # handshakes $connect accepted
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self._management = ThreadingHTTPServer((host, management_port), _management_handler(self))
        self._management.daemon_threads = True
        self.management_url = f"http://{host}:{self._management.server_address[1]}"

    # -- the API Gateway events ---------------------------------------------------

    def _event(self, route_key: str, connection_id: str, **extra: Any) -> dict[str, Any]:
        kind = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route_key, "MESSAGE")
        context = {
            "routeKey": route_key,
            "eventType": kind,
            "connectionId": connection_id,
            "domainName": f"{self.host}:{self.port}",
            "stage": STAGE,
            "apiId": API_ID,
            "requestTimeEpoch": int(time.time() * 1000),
            "requestId": secrets.token_hex(8),
        }
        return {"requestContext": context, "isBase64Encoded": False, **extra}

    async def _call(self, handler: Any, event: dict[str, Any]) -> dict[str, Any]:
        return await asyncio.to_thread(handler, event, None) or {}

    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """``$connect``: the handler decides; anything but 200 refuses the handshake."""
        connection_id = new_connection_id()
        query = dict(parse_qsl(urlsplit(request.path).query))
        headers = {name.lower(): value for name, value in request.headers.raw_items()}
        event = self._event("$connect", connection_id, queryStringParameters=query or None, headers=headers)
        self._sockets[connection_id] = socket = _Socket(connection_id)
        answer = await self._call(self.app.ws_connect, event)
        status = int(answer.get("statusCode", 200))
        if status != 200:
            self._sockets.pop(connection_id, None)
            return connection.respond(http.HTTPStatus(status), "connection refused\n")
        self._accepted[connection] = socket
        return None

    async def _serve(self, connection: ServerConnection) -> None:
        socket = self._accepted.pop(connection)

        async def pump() -> None:
            while (data := await socket.outbox.get()) is not None:
                await connection.send(data.decode())
            await connection.close()

        pumping = asyncio.create_task(pump())
        try:
            async for message in connection:
                body = message if isinstance(message, str) else message.decode()
                await self._call(self.app.ws_message, self._event("$default", socket.connection_id, body=body))
        except Exception:  # noqa: S110 - the client went away: $disconnect below
            pass
        finally:
            self._sockets.pop(socket.connection_id, None)
            pumping.cancel()
            await self._call(self.app.ws_disconnect, self._event("$disconnect", socket.connection_id))

    # -- the management API -------------------------------------------------------

    def post(self, connection_id: str, data: bytes) -> bool:
        """Queue ``data`` for a connection (from any thread); ``False`` if it is gone."""
        socket = self._sockets.get(connection_id)
        if socket is None or self._loop is None:
            return False
        self._loop.call_soon_threadsafe(socket.outbox.put_nowait, data)
        return True

    def post_end(self, connection_id: str) -> bool:
        socket = self._sockets.get(connection_id)
        if socket is None or self._loop is None:
            return False
        self._loop.call_soon_threadsafe(socket.outbox.put_nowait, None)
        return True

    # -- running --------------------------------------------------------------------

    def start(self) -> RealtimeGateway:
        """Serve in background threads (the handlers of this process must post to ``management_url``)."""
        threading.Thread(target=self._management.serve_forever, name="ws-management", daemon=True).start()
        threading.Thread(target=lambda: asyncio.run(self._main()), name="ws-gateway", daemon=True).start()
        if not self._ready.wait(10):
            raise RuntimeError(f"the WebSocket gateway did not start on port {self.port}")
        return self

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        async with serve(self._serve, self.host, self.port, process_request=self._process_request) as server:
            self.port = server.sockets[0].getsockname()[1] if self.port == 0 else self.port
            self._ready.set()
            await self._stopped.wait()

    def stop(self) -> None:
        self._management.shutdown()
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)


def _management_handler(gateway: RealtimeGateway) -> type[BaseHTTPRequestHandler]:
    class Management(BaseHTTPRequestHandler):
        def _connection_id(self) -> str | None:
            path = urlsplit(self.path).path
            # boto3 posts to <endpoint>/@connections/<id> (the id URL-quoted)
            index = path.find(CONNECTIONS_PATH)
            if index < 0:
                return None
            return unquote(path[index + len(CONNECTIONS_PATH) :])

        def _answer(self, status: int, body: dict[str, Any] | None = None, error: str | None = None) -> None:
            payload = json.dumps(body or {}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            if error:
                self.send_header("x-amzn-ErrorType", error)
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:
            connection_id = self._connection_id()
            data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if connection_id is not None and gateway.post(connection_id, data):
                self._answer(200)
            else:
                self._answer(410, {"message": "the connection is gone"}, "GoneException")

        def do_DELETE(self) -> None:
            connection_id = self._connection_id()
            if connection_id is not None and gateway.post_end(connection_id):
                self._answer(204)
            else:
                self._answer(410, {"message": "the connection is gone"}, "GoneException")

        def log_message(self, format: str, *args: Any) -> None:
            log.debug(format, *args)

    return Management


def start_realtime(app_module: Any, handlers: dict[str, Any], *, port: int, endpoint: str | None = None) -> Any:
    """Start the gateway and the stream poller (``handlers``: table name -> the app's stream
    handler for it); returns a function that stops both."""
    from tools.stream_poller import StreamPoller

    gateway = RealtimeGateway(app_module, port=port).start()
    os.environ["WS_MANAGEMENT_URL"] = gateway.management_url

    poller = StreamPoller(handlers, endpoint=endpoint, skip_existing=True).start()
    log.info("WebSockets on ws://%s:%d (management API %s)", gateway.host, gateway.port, gateway.management_url)

    def stop() -> None:
        poller.stop()
        gateway.stop()

    return stop
