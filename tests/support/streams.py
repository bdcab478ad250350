"""The stream poller as ``make run`` wires it: DynamoDB Local's streams to the app's own handlers."""

from __future__ import annotations

import os
from typing import Any

import app as app_module
from chalicelib.config import get_settings
from tools.stream_poller import StreamPoller

INTERVAL_SECONDS = 0.05  # faster than make run's: tests wait less


def app_poller(batches: list[dict[str, Any]] | None = None) -> StreamPoller:
    """A started poller calling ``app.users_events`` and ``app.chats_events``; each batch handed over is
    also appended to ``batches``, if given. Stop it with ``.stop()``."""

    def handler(handle: Any) -> Any:
        if batches is None:
            return handle

        def recording(event: dict[str, Any], context: Any) -> Any:
            batches.append(event)
            return handle(event, context)

        return recording

    settings = get_settings()
    handlers = {
        settings.users_table: handler(app_module.users_events),
        settings.chats_table: handler(app_module.chats_events),
    }
    return StreamPoller(handlers, endpoint=os.environ["AWS_ENDPOINT_URL_DYNAMODB"]).start(interval=INTERVAL_SECONDS)
