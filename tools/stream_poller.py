"""Locally, what Lambda's event source mapping does: read the tables' streams and call the handler.

``StreamPoller({table: handler})`` follows every shard of each table's stream
(DynamoDB Local, or moto's server) and calls its ``handler({"Records": [...]},
None)`` with Lambda-shaped records: ``ApproximateCreationDateTime`` in epoch
seconds and ``eventSourceARN`` set, as Lambda delivers them. ``make run``
passes the app's own stream handler (``app.chats_events``), so the same code
runs locally and on AWS.

Facts this handles (checked on DynamoDB Local 3.3.1 and moto 5.2.5):
- DynamoDB Local streams include transactional writes; a TTL deletion arrives
  with ``eventName`` ``UNKNOWN_TO_SDK_VERSION``.
- A table recreated under the same name has a new stream: the poller notices
  the new ``LatestStreamArn`` and starts it from ``TRIM_HORIZON``.
- An iterator that expired or points before the oldest record is replaced
  (after the last sequence number read, or from ``TRIM_HORIZON``).
- moto's streams client needs ``account_id_endpoint_mode="disabled"``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]
STREAMS_CONFIG = Config(account_id_endpoint_mode="disabled", retries={"mode": "standard", "total_max_attempts": 3})
RESTART_CODES = frozenset({"TrimmedDataAccessException", "ExpiredIteratorException"})
# The pause between two polling rounds (``make run``'s, the default): a record written locally waits up to
# this long, plus a round's calls, before its handler runs.
POLL_INTERVAL_SECONDS = 0.1


@dataclass
class _Shard:
    iterator: str | None = None
    last_sequence: str | None = None


@dataclass
class _Stream:
    arn: str
    shards: dict[str, _Shard] = field(default_factory=dict)


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A record from ``get_records`` in the shape Lambda hands it over."""
    out = {**record, "eventSourceARN": stream_arn, "dynamodb": dict(record["dynamodb"])}
    stamp = out["dynamodb"].get("ApproximateCreationDateTime")
    if isinstance(stamp, datetime):
        out["dynamodb"]["ApproximateCreationDateTime"] = stamp.timestamp()
    return out


class StreamPoller:
    """Polls the stream of each table of ``handlers`` and passes each non-empty batch to its handler."""

    def __init__(
        self, handlers: dict[str, Handler], *, endpoint: str | None = None, skip_existing: bool = False
    ) -> None:
        self.handlers = handlers
        self.skip_existing = skip_existing  # start each stream found at start-up after its last record
        # boto3 applies AWS_ENDPOINT_URL_DYNAMODB to the dynamodb client only, not to its streams.
        endpoint = endpoint or os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
        self._dynamodb = boto3.client("dynamodb", endpoint_url=endpoint)
        self._streams = boto3.client("dynamodbstreams", endpoint_url=endpoint, config=STREAMS_CONFIG)
        self._state: dict[str, _Stream] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._first_round = True

    # -- one round ---------------------------------------------------------------

    def poll_once(self) -> int:
        """Read every shard once, calling the handler per batch; returns the records handed over."""
        handed = 0
        for table, handler in self.handlers.items():
            stream = self._stream_of(table)
            if stream is None:
                continue
            for shard_id in self._shard_ids(stream):
                records = self._read(stream, shard_id)
                if records and not (self._first_round and self.skip_existing):
                    handler({"Records": [lambda_record(r, stream.arn) for r in records]}, None)
                    handed += len(records)
        self._first_round = False
        return handed

    def _stream_of(self, table: str) -> _Stream | None:
        try:
            arn = self._dynamodb.describe_table(TableName=table)["Table"].get("LatestStreamArn")
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceNotFoundException":
                self._state.pop(table, None)
                return None
            raise
        if arn is None:
            return None
        known = self._state.get(table)
        if known is None or known.arn != arn:  # new, or the table was recreated: a new stream
            known = self._state[table] = _Stream(arn)
        return known

    def _shard_ids(self, stream: _Stream) -> list[str]:
        shards = self._streams.describe_stream(StreamArn=stream.arn)["StreamDescription"]["Shards"]
        for shard in shards:
            stream.shards.setdefault(shard["ShardId"], _Shard())
        return [shard["ShardId"] for shard in shards]

    def _read(self, stream: _Stream, shard_id: str) -> list[dict[str, Any]]:
        shard = stream.shards[shard_id]
        records: list[dict[str, Any]] = []
        for _ in range(100):  # follow the shard to its end, in pages
            if shard.iterator is None:
                shard.iterator = self._iterator(stream.arn, shard_id, shard.last_sequence)
            try:
                response = self._streams.get_records(ShardIterator=shard.iterator, Limit=1000)
            except ClientError as error:
                if error.response["Error"]["Code"] not in RESTART_CODES:
                    raise
                shard.iterator = None
                continue
            page = response.get("Records", [])
            shard.iterator = response.get("NextShardIterator")
            if page:
                shard.last_sequence = page[-1]["dynamodb"]["SequenceNumber"]
                records.extend(page)
            if not page or shard.iterator is None:
                break
        return records

    def _iterator(self, arn: str, shard_id: str, after: str | None) -> str:
        kwargs: dict[str, Any] = {"StreamArn": arn, "ShardId": shard_id}
        if after is None:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        else:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=after)
        return self._streams.get_shard_iterator(**kwargs)["ShardIterator"]

    # -- in the background -------------------------------------------------------

    def start(self, interval: float = POLL_INTERVAL_SECONDS) -> StreamPoller:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.poll_once()
                except Exception:
                    log.exception("stream poll failed")
                    self._stop.wait(1)
                self._stop.wait(interval)

        self._thread = threading.Thread(target=loop, name="stream-poller", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
