"""The webhook queue: SQS on AWS, or the queue ``make run`` provides in its process.

Beside the store: the only code that talks to SQS. ``queue_for(settings)`` is
the stage's queue: the one ``use`` installed (``make run``'s, or a test's),
else SQS at ``WEBHOOK_QUEUE_URL``, else none.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from botocore.config import Config

from chalicelib.config import Settings
from chalicelib.webhooks import MAX_BATCH_BYTES, Queue

CLIENT_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=2, read_timeout=5)
SEND_BATCH = 10  # SendMessageBatch's limit

_installed: list[Queue] = []


class SqsQueue:
    def __init__(self, url: str) -> None:
        self.url = url

    def send(self, bodies: list[str]) -> None:
        """Send every body; raises if any could not be sent, so the stream batch is retried (at least once)."""
        for chunk in batches(bodies):
            entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)]
            answer = _client().send_message_batch(QueueUrl=self.url, Entries=entries)
            if answer.get("Failed"):
                codes = sorted({f.get("Code", "?") for f in answer["Failed"]})
                raise RuntimeError(f"webhook queue refused {len(answer['Failed'])} messages: {', '.join(codes)}")

    def retry_later(self, receipt_handle: str, seconds: int) -> None:
        _client().change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=int(seconds)
        )


def batches(bodies: list[str]) -> list[list[str]]:
    """``bodies`` in order, in batches of at most ``SEND_BATCH`` messages and ``MAX_BATCH_BYTES`` bytes."""
    out: list[list[str]] = []
    size = 0
    for body in bodies:
        length = len(body.encode())
        if not out or len(out[-1]) == SEND_BATCH or size + length > MAX_BATCH_BYTES:
            out.append([])
            size = 0
        out[-1].append(body)
        size += length
    return out


@lru_cache(maxsize=1)
def _client() -> Any:
    import boto3  # only where webhooks are configured

    return boto3.client("sqs", config=CLIENT_CONFIG)


def use(queue: Queue | None) -> None:
    """Install ``queue`` as this process's webhook queue (``None``: back to SQS)."""
    _installed.clear()
    if queue is not None:
        _installed.append(queue)


def queue_for(settings: Settings) -> Queue | None:
    if _installed:
        return _installed[0]
    if settings.webhook_queue_url:
        return SqsQueue(settings.webhook_queue_url)
    return None
