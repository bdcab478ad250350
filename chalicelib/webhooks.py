"""Webhooks: every event POSTed, signed, to each of the stage's URLs, at least once.

The stream handler turns a batch of events into one queue message per event
and URL (``enqueue``); the queue's consumer delivers one message per call
(``deliver``). A delivery that fails (no answer, a status other than 2xx, an
address that is not allowed) raises ``DeliveryFailed``; the consumer
(``chalicelib.routes.realtime.on_webhook_delivery``) then asks the queue to show
the message again later (``backoff_seconds``: 5 s, 10 s, 20 s, ... up to 15
min) and reports it as a batch item failure; after ``MAX_RECEIVES`` receives the
queue's redrive policy moves it to the dead-letter queue. On AWS the queue is SQS (``infra/tables.json``); under
``make run`` it is ``tools/webhook_queue.py``, which calls the same handler with
SQS-shaped events.

A request carries the event as its JSON body and three headers:

- ``X-Webhook-Id``: the event's ``event_id`` (stable: a replay and a retry
  carry the same id, so receivers de-duplicate on it);
- ``X-Webhook-Timestamp``: when this attempt was signed (Unix seconds);
- ``X-Signature``: ``sha256=`` and the hex HMAC-SHA256, keyed with the stage's
  webhook secret, of the timestamp, a ``.``, and the body's bytes.

A receiver recomputes the signature over the raw body, compares it in constant
time, refuses a timestamp older than five minutes (``verify``), and then
ignores an ``X-Webhook-Id`` it has already processed.

No request goes to an address that is not globally routable (loopback,
private, link-local such as the instance metadata service, reserved), unless
the stage allows it (``WEBHOOK_ALLOW_PRIVATE``; the local stages do): the host
is resolved, every address checked, and the connection made to the address
checked, so a name that resolves differently a moment later cannot redirect it.
Redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from chalicelib.addresses import public
from chalicelib.events import Event

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Webhook-Timestamp"
ID_HEADER = "X-Webhook-Id"
SIGNATURE_SCHEME = "sha256="
# How old a signed request a receiver should still accept (``verify``).
TOLERANCE_SECONDS = 300
# The queue's redrive policy (infra/tables.json): receives before the dead-letter queue.
MAX_RECEIVES = 8
BACKOFF_BASE_SECONDS = 5
BACKOFF_CAP_SECONDS = 900
TIMEOUT_SECONDS = 5
USER_AGENT = "agent-allocation-webhooks/1"


class DeliveryFailed(Exception):
    """This attempt failed; the queue shows the message again later (or dead-letters it)."""


# A queue message's size limit is SQS's; a batch's total too (SendMessageBatch): stay well under both.
MAX_BATCH_BYTES = 200 * 1024


class Queue(Protocol):
    """Where deliveries wait: SQS on AWS, ``tools/webhook_queue.py`` under ``make run``."""

    def send(self, bodies: list[str]) -> None: ...

    def retry_later(self, receipt_handle: str, seconds: int) -> None: ...


@dataclass(frozen=True)
class Target:
    """Where a checked URL's request goes: the address that was checked, and the name it was checked for."""

    scheme: str
    host: str
    port: int
    address: str
    path: str


# -- signing ---------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Signature`` value of ``body`` signed at ``timestamp``."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return SIGNATURE_SCHEME + digest


def verify(secret: str, headers: dict[str, str], body: bytes, *, now: float | None = None) -> bool:
    """What a receiver does: the signature matches the raw body and the timestamp is recent.

    ``headers`` by their names as sent (any case)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    stamp, signature = lowered.get(TIMESTAMP_HEADER.lower(), ""), lowered.get(SIGNATURE_HEADER.lower(), "")
    if not (stamp.isascii() and stamp.isdigit()):
        return False
    now = time.time() if now is None else now
    if abs(now - int(stamp)) > TOLERANCE_SECONDS:
        return False
    expected = sign(secret, int(stamp), body).encode()
    return hmac.compare_digest(expected, signature.encode("utf-8", "surrogateescape"))


# -- the stream side: one message per event and URL -------------------------------


def messages_of(events: Iterable[Event], urls: Iterable[str]) -> list[str]:
    """The queue messages of ``events`` (pure): each event once per URL, in order."""
    urls = tuple(urls)
    return [
        json.dumps({"url": url, "event": event.to_dict()}, separators=(",", ":"), ensure_ascii=False)
        for event in events
        for url in urls
    ]


def enqueue(queue: Queue, events: list[Event], urls: tuple[str, ...]) -> int:
    """Queue the deliveries of ``events``; returns how many."""
    bodies = messages_of(events, urls)
    if bodies:
        queue.send(bodies)
    return len(bodies)


# -- the consumer: one delivery -----------------------------------------------------


def backoff_seconds(receive_count: int) -> int:
    """How long a message whose ``receive_count``-th delivery failed waits before the next."""
    return min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, receive_count - 1))


def deliver(
    body: str,
    secret: str,
    *,
    urls: tuple[str, ...],
    allow_private: bool,
    now: Callable[[], float] = time.time,
    resolve: Callable[[str, int], list[str]] | None = None,
) -> int | None:
    """POST one queued message to its URL; returns the receiver's status, or ``None`` for a URL no
    longer among the stage's ``urls`` (dropped: a receiver taken out gets nothing more). Raises
    ``DeliveryFailed``."""
    message = json.loads(body)
    url, event = message["url"], message["event"]
    if url not in urls:
        log.info("webhook %s dropped: its URL is no longer configured", event.get("event_id"))
        return None
    payload = json.dumps(event, separators=(",", ":")).encode()
    target = check(url, allow_private=allow_private, resolve=resolve or _resolve)
    timestamp = int(now())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        ID_HEADER: event["event_id"],
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, payload),
    }
    status = _post(target, payload, headers)
    if not 200 <= status < 300:
        raise DeliveryFailed(f"{target.host} answered {status}")
    return status


def check(url: str, *, allow_private: bool, resolve: Callable[[str, int], list[str]]) -> Target:
    """Resolve ``url``'s host and check every address; raises ``DeliveryFailed`` for one not allowed."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname or ""
    try:
        addresses = resolve(host, port)
    except OSError as error:
        raise DeliveryFailed(f"{host} does not resolve: {type(error).__name__}") from None
    if not addresses:
        raise DeliveryFailed(f"{host} does not resolve")
    refused = [a for a in addresses if not allow_private and not public(a)]
    if refused:
        raise DeliveryFailed(f"{host} resolves to an address that is not public ({refused[0]}): not allowed here")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, addresses[0], path)


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _post(target: Target, payload: bytes, headers: dict[str, str]) -> int:
    """One POST to the checked address (TLS still verified against the host's name)."""
    connection_class = http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(target.host, target.port, timeout=TIMEOUT_SECONDS)

    def to_checked_address(_address: Any, timeout: Any = None, source_address: Any = None) -> socket.socket:
        return socket.create_connection((target.address, target.port), timeout, source_address)

    connection._create_connection = to_checked_address  # type: ignore[attr-defined] # the address checked, not a new lookup
    try:
        connection.request("POST", target.path, body=payload, headers=headers)
        return connection.getresponse().status  # the body is not read: only the status counts
    except (OSError, ValueError, http.client.HTTPException) as error:
        raise DeliveryFailed(f"{target.host}: {type(error).__name__}") from None
    finally:
        connection.close()
