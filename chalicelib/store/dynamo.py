"""The DynamoDB client, value conversion, the query helper, and the one translation of AWS errors.

The client is created on first use and cached per process. The endpoint comes
from boto3's own ``AWS_ENDPOINT_URL_DYNAMODB`` (unset means real AWS). boto3's
standard retry mode retries throttling and transient errors of each call with
backoff; whatever still fails becomes ``Unavailable`` (HTTP 503) here.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from functools import lru_cache
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from chalicelib.errors import Unavailable

log = logging.getLogger(__name__)

CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 4},
    connect_timeout=2,
    read_timeout=5,
    tcp_keepalive=True,
    # Enough connections for one process serving many threads (chalice local,
    # the benchmarks); a Lambda environment serves one request at a time.
    max_pool_connections=64,
)

# Error codes that mean "try again later": the request did not change anything
# we can rely on, and a client retry is safe.
RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
        "TransactionInProgressException",
        "LimitExceededException",
    }
)
NETWORK_ERRORS = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


@lru_cache(maxsize=1)
def get_client() -> Any:
    """The process-wide DynamoDB client, built lazily on first use."""
    return boto3.client("dynamodb", config=CLIENT_CONFIG)


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    """Python values to a DynamoDB attribute map (``None`` values are left out)."""
    return {k: _serializer.serialize(_numbers(v)) for k, v in values.items() if v is not None}


def to_values(values: dict[str, Any]) -> dict[str, Any]:
    """Expression attribute values (``:name`` -> value) to the wire format."""
    return {k: _serializer.serialize(_numbers(v)) for k, v in values.items()}


def _numbers(value: Any) -> Any:
    """Floats (in maps and lists too) as ``Decimal``, which is what DynamoDB's serializer takes."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB attribute map to Python values, with whole numbers as ``int``."""
    out = {}
    for k, v in item.items():
        value = _deserializer.deserialize(v)
        if isinstance(value, Decimal) and value == value.to_integral_value():
            value = int(value)
        out[k] = value
    return out


def store_busy() -> Unavailable:
    """The 503 for throttling, transient failures and commits that kept conflicting."""
    return Unavailable("the data store is busy; retry shortly", code="store_unavailable", retry_after=1)


def call(operation: str, **kwargs: Any) -> dict[str, Any]:
    """Call one DynamoDB operation; throttling and transient failures become ``Unavailable``.

    Any other ``ClientError`` (a bug: bad expression, missing table) is
    re-raised unchanged. ``ConditionalCheckFailedException`` is re-raised too:
    callers that write conditionally catch it by its code.
    """
    try:
        return getattr(get_client(), operation)(**kwargs)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in RETRYABLE_CODES:
            log.warning("dynamodb %s failed with %s", operation, code)
            raise store_busy() from error
        raise
    except NETWORK_ERRORS as error:
        log.warning("dynamodb %s failed: %s", operation, type(error).__name__)
        raise store_busy() from error


def query_all(max_items: int | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    """The items of a query, following its pages (up to ``max_items``), as Python values."""
    items: list[dict[str, Any]] = []
    while max_items is None or len(items) < max_items:
        limit = {} if max_items is None else {"Limit": max_items - len(items)}
        response = call("query", **kwargs, **limit)
        items.extend(from_item(item) for item in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            break
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    return items


def is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
