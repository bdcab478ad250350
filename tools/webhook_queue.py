"""Locally, what SQS and Lambda's SQS event source do for webhooks: ``make run``'s webhook queue.

``LocalWebhookQueue(handler)`` keeps messages in memory and calls the app's own
consumer (``app.webhook_deliveries``) with SQS-shaped events, one message each
(``messageId``, ``receiptHandle``, ``body``, ``attributes.ApproximateReceiveCount``),
from one worker thread. A call that raises leaves the message to be received
again when its visibility ends: the time the handler set through
``retry_later`` (as ``ChangeMessageVisibility`` does), else
``VISIBILITY_SECONDS``; a failure is reported as Lambda's ``ReportBatchItemFailures`` reads it
(``batchItemFailures``), or raised. After ``max_receives`` receives a message moves to
``dead_letters`` (logged), as the redrive policy moves it to the dead-letter
queue on AWS. Messages do not outlive the process. ``time_scale`` shortens
every wait (tests).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.webhooks import MAX_RECEIVES

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]
VISIBILITY_SECONDS = 150  # infra/tables.json's WebhookQueue
QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:agent-allocation-local-webhooks"


@dataclass
class _Message:
    message_id: str
    body: str
    receives: int = 0
    receipt_handle: str = ""
    delay: float | None = None  # set by retry_later during a receive


@dataclass(order=True)
class _Due:
    at: float
    order: int
    message: _Message = field(compare=False)


class LocalWebhookQueue:
    def __init__(
        self,
        handler: Handler,
        *,
        max_receives: int = MAX_RECEIVES,
        time_scale: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.handler = handler
        self.max_receives = max_receives
        self.time_scale = time_scale
        self.clock = clock
        self.dead_letters: list[str] = []
        self.delivered = 0
        self._due: list[_Due] = []
        self._order = itertools.count()
        self._receiving: dict[str, _Message] = {}
        self._changed = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="webhook-queue", daemon=True)
        self._thread.start()

    # -- what the app calls (chalicelib.webhooks.Queue) ---------------------------------

    def send(self, bodies: list[str]) -> None:
        with self._changed:
            for body in bodies:
                self._schedule(_Message(str(uuid.uuid4()), body), self.clock())
            self._changed.notify()

    def retry_later(self, receipt_handle: str, seconds: int) -> None:
        message = self._receiving.get(receipt_handle)
        if message is not None:
            message.delay = seconds

    # -- the event source -----------------------------------------------------------

    def pending(self) -> int:
        with self._changed:
            return len(self._due) + len(self._receiving)

    def stop(self) -> None:
        with self._changed:
            self._stopped = True
            self._changed.notify()
        self._thread.join(timeout=5)

    def _schedule(self, message: _Message, at: float) -> None:
        heapq.heappush(self._due, _Due(at, next(self._order), message))

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._stopped and (not self._due or self._due[0].at > self.clock()):
                    self._changed.wait(timeout=None if not self._due else max(0.0, self._due[0].at - self.clock()))
                if self._stopped:
                    return
                message = heapq.heappop(self._due).message
                message.receives += 1
                message.receipt_handle = str(uuid.uuid4())
                message.delay = None
                self._receiving[message.receipt_handle] = message
            self._receive(message)

    def _receive(self, message: _Message) -> None:
        try:
            answer = self.handler(self._event(message), None) or {}
            failed = any(f.get("itemIdentifier") == message.message_id for f in answer.get("batchItemFailures", []))
        except Exception as error:  # a crash leaves the message in the queue, as on Lambda
            log.info("webhook message %s: receive %d failed (%s)", message.message_id, message.receives, error)
            failed = True
        with self._changed:
            self._receiving.pop(message.receipt_handle, None)
            if not failed:
                self.delivered += 1
            elif message.receives >= self.max_receives:
                log.warning("webhook message %s dead-lettered after %d receives", message.message_id, message.receives)
                self.dead_letters.append(message.body)
            else:
                wait = VISIBILITY_SECONDS if message.delay is None else message.delay
                self._schedule(message, self.clock() + wait * self.time_scale)
            self._changed.notify()

    @staticmethod
    def _event(message: _Message) -> dict[str, Any]:
        record = {
            "messageId": message.message_id,
            "receiptHandle": message.receipt_handle,
            "body": message.body,
            "attributes": {"ApproximateReceiveCount": str(message.receives)},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
            "eventSourceARN": QUEUE_ARN,
            "awsRegion": "us-east-1",
        }
        return {"Records": [record]}
