"""The API Gateway management API: posting to a WebSocket connection.

Beside the store: the only code that talks to ``apigatewaymanagementapi``.
One client per endpoint (a deployed API has one; the local gateway of
``make run`` another), built on first use and cached per process.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

log = logging.getLogger(__name__)

CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 2},
    connect_timeout=2,
    read_timeout=3,
    max_pool_connections=32,
)


class Gone(Exception):
    """The connection is closed: forget it."""


@lru_cache(maxsize=8)
def client_for(endpoint: str) -> Any:
    return boto3.client("apigatewaymanagementapi", endpoint_url=endpoint, config=CLIENT_CONFIG)


def post(endpoint: str, connection_id: str, data: bytes) -> bool:
    """Send ``data`` to one connection. Raises ``Gone`` if it is closed; returns ``False``
    (logged) for any other failure, which the next event or a history read makes up for."""
    try:
        client_for(endpoint).post_to_connection(ConnectionId=connection_id, Data=data)
        return True
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "GoneException":
            raise Gone(connection_id) from error
        log.warning("push to %s failed: %s", connection_id, code)
    except BotoCoreError as error:
        log.warning("push to %s failed: %s", connection_id, type(error).__name__)
    return False
