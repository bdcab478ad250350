"""Hooks into the store's botocore client: count calls, act before a call, inject faults."""

from __future__ import annotations

import contextlib
import json
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

from chalicelib.store.dynamo import get_client


@contextlib.contextmanager
def count_calls() -> Iterator[Counter]:
    """Count DynamoDB operations (by name) made while the block runs."""
    calls: Counter = Counter()

    def record(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    events = get_client().meta.events
    events.register("before-call.dynamodb", record)
    try:
        yield calls
    finally:
        events.unregister("before-call.dynamodb", record)


@contextlib.contextmanager
def before(operation: str, action: Callable[[dict], None], times: int = 1) -> Iterator[list]:
    """Run ``action(params)`` just before the next ``times`` calls of ``operation``."""
    fired: list = []

    def hook(params: dict, **_: Any) -> None:
        if len(fired) < times:
            fired.append(params)
            action(params)

    events = get_client().meta.events
    events.register(f"provide-client-params.dynamodb.{operation}", hook)
    try:
        yield fired
    finally:
        events.unregister(f"provide-client-params.dynamodb.{operation}", hook)


@contextlib.contextmanager
def failing(
    operation: str, code: str, status: int = 400, times: int | None = None, reasons: list[str] | None = None
) -> Iterator[list]:
    """Make ``operation`` answer with the AWS error ``code`` (every time, or the first ``times``);
    ``reasons``: the ``CancellationReasons`` codes of a cancelled transaction, in request order.

    The call is answered before it reaches the engine (botocore's
    ``before-call`` short-circuit), so nothing is written, and botocore's own
    retries are bypassed: the store sees the error exactly once per call.
    """
    failures: list = []

    def respond(**_: Any) -> tuple[Any, dict] | None:
        if times is not None and len(failures) >= times:
            return None
        failures.append(code)
        parsed = {"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": status}}
        if reasons is not None:
            parsed["CancellationReasons"] = [{"Code": reason} for reason in reasons]
        return _Status(status), parsed

    events = get_client().meta.events
    events.register_first(f"before-call.dynamodb.{operation}", respond)
    try:
        yield failures
    finally:
        events.unregister(f"before-call.dynamodb.{operation}", respond)


@contextlib.contextmanager
def timing_out(operation: str, times: int | None = None) -> Iterator[list]:
    """Make sending ``operation`` time out (every time, or the first ``times``).

    Raised before the request is sent, so nothing reaches the engine; botocore's
    standard retry mode retries it like a real read timeout.
    """
    timeouts: list = []

    def time_out(request: Any, **_: Any) -> None:
        if times is None or len(timeouts) < times:
            timeouts.append(operation)
            raise ReadTimeoutError(endpoint_url=request.url)

    events = get_client().meta.events
    events.register_first(f"before-send.dynamodb.{operation}", time_out)
    try:
        yield timeouts
    finally:
        events.unregister(f"before-send.dynamodb.{operation}", time_out)


class _Status:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.headers: dict = {}


FAULT_KINDS = ("throttle", "internal", "timeout", "conflict")


class FaultInjector:
    """Fail a share of DynamoDB calls before they reach the engine, like a bad day on AWS.

    Kinds: ``throttle`` (400 ProvisionedThroughputExceeded) and ``internal``
    (500 InternalServerError), which botocore retries; ``timeout`` (a read
    timeout), which botocore retries too; ``conflict`` (TransactWriteItems
    cancelled with TransactionConflict), which it does not. Thread-safe;
    register with ``installed()``. Only for engines reached over HTTP (not moto,
    which answers inside botocore's send).
    """

    def __init__(self, rate: float, seed: int = 0, kinds: tuple[str, ...] = FAULT_KINDS) -> None:
        self.rate = rate
        self.kinds = kinds
        self.counts: Counter = Counter()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def __call__(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        operation = event_name.rsplit(".", 1)[-1]
        with self._lock:
            if self._rng.random() >= self.rate:
                return None
            kind = self._rng.choice(self.kinds)
            if kind == "conflict" and operation != "TransactWriteItems":
                kind = "throttle"
            self.counts[kind] += 1
        if kind == "timeout":
            raise ReadTimeoutError(endpoint_url=request.url)
        if kind == "internal":
            return _error_response(request.url, 500, "InternalServerError", {})
        if kind == "throttle":
            return _error_response(request.url, 400, "ProvisionedThroughputExceededException", {})
        items = len(json.loads(request.body)["TransactItems"])
        reasons = [{"Code": "TransactionConflict", "Message": "injected"}] + [{"Code": "None"}] * (items - 1)
        return _error_response(request.url, 400, "TransactionCanceledException", {"CancellationReasons": reasons})

    @contextlib.contextmanager
    def installed(self) -> Iterator[FaultInjector]:
        events = get_client().meta.events
        events.register_first("before-send.dynamodb", self)
        try:
            yield self
        finally:
            events.unregister("before-send.dynamodb", self)


def _error_response(url: str, status: int, code: str, extra: dict) -> AWSResponse:
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected", **extra})
    return AWSResponse(
        url, status, {"x-amzn-ErrorType": code, "Content-Type": "application/x-amz-json-1.0"}, _Raw(body.encode())
    )


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body
