"""Structured logs: one JSON object per line, with the id of what is being handled.

``configure(settings)`` (once per process, on the first request or event) sets
the service's level and, with ``LOG_FORMAT=json`` (the default outside the local
stages), gives the ``chalicelib`` loggers and Chalice's a handler writing lines such as::

    {"time": "2026-11-25T07:00:00.123Z", "level": "INFO", "logger": "chalicelib.channels",
     "message": "channel 01M... assigned to agent 2 by rule under_cap", "request_id": "c6af9ac6-..."}

``request_id`` is API Gateway's id of the HTTP request (answered to the client
as ``X-Request-Id``, so a user's report finds its lines), or Lambda's id of the
stream batch, queue message or WebSocket event being handled. An exception
is logged by its type and message only: never a stack trace (it can hold
request data), and the service never logs tokens, passwords or secrets.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from chalicelib.config import Settings

# The service's loggers, and Chalice's (named after the app: it logs a failed view's exception).
LOGGERS = ("chalicelib", "agent-allocation")
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_configured: list[bool] = []


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        line: dict[str, Any] = {
            "time": moment.replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (request_id := _request_id.get()) is not None:
            line["request_id"] = request_id
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            line["error"] = f"{type(error).__name__}: {error}"
        return json.dumps(line, separators=(",", ":"), default=str)


def configure(settings: Settings) -> None:
    """The service's level, and JSON lines unless ``LOG_FORMAT=text``; once per process."""
    if _configured:
        return
    logging.getLogger(LOGGERS[0]).setLevel(settings.log_level)
    if settings.log_format == "json":
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonLines())
        for name in LOGGERS:
            logger = logging.getLogger(name)
            logger.handlers = [handler]  # Chalice's own plain-text handler too
            logger.propagate = False  # not again through Lambda's own handler, as plain text
    _configured.append(True)


def request_id() -> str | None:
    return _request_id.get()


@contextlib.contextmanager
def handling(request_id: str | None) -> Iterator[str]:
    """Log lines written inside carry ``request_id`` (a new one if ``None``)."""
    value = request_id or uuid.uuid4().hex
    token = _request_id.set(value)
    try:
        yield value
    finally:
        _request_id.reset(token)


@contextlib.contextmanager
def handling_event(event: Any, settings: Settings) -> Iterator[str]:
    """A stream batch, queue message, WebSocket event or schedule (a Chalice event with the Lambda
    context as ``context``): configured logs, and lines carrying Lambda's id of the invocation."""
    configure(settings)
    with handling(lambda_request_id(getattr(event, "context", None))) as value:
        yield value


def lambda_request_id(context: Any) -> str | None:
    """Lambda's id of this invocation, where there is a context (not in tests that call handlers directly)."""
    return getattr(context, "aws_request_id", None)
