"""Webhooks to a real receiver (an HTTP server in the test): signed requests, failures retried with
backoff until delivered or dead-lettered; the SQS side on moto; and end to end on DynamoDB Local, where
the stream poller hands every batch to the app's stream handler and the local queue to its consumer,
as ``make run`` wires them, while the receiver refuses or drops requests.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

import app as app_module
from app import app
from chalicelib import realtime, webhook_queue, webhooks
from chalicelib import store as store_module
from chalicelib.config import DEVELOPMENT_WEBHOOK_SECRET, get_settings
from chalicelib.events import Event
from chalicelib.webhook_queue import SqsQueue
from chalicelib.webhooks import DeliveryFailed, messages_of, verify
from tests.support.streams import app_poller
from tools.api_client import Api
from tools.dynamodb_local import free_port
from tools.run_local import STAGE
from tools.webhook_queue import LocalWebhookQueue

SECRET = DEVELOPMENT_WEBHOOK_SECRET


@dataclass
class Receiver:
    """Records every request; ``answer(event_id, attempt)`` decides its status (None: drop the connection)."""

    answer: Callable[[str, int], int | None] = lambda _id, _attempt: 200
    requests: list[dict] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def attempts(self) -> Counter:
        with self.lock:
            return Counter(r["id"] for r in self.requests)

    def delivered(self) -> dict[str, dict]:
        """Events answered 2xx with a valid signature, by id."""
        with self.lock:
            return {r["id"]: r["event"] for r in self.requests if r["status"] == 200 and r["verified"]}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiving = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            event_id = self.headers["X-Webhook-Id"]
            with receiving.lock:
                attempt = sum(1 for r in receiving.requests if r["id"] == event_id) + 1
            status = receiving.answer(event_id, attempt)
            with receiving.lock:
                receiving.requests.append(
                    {
                        "id": event_id,
                        "verified": verify(SECRET, dict(self.headers.items()), body),
                        "event": json.loads(body),
                        "status": status,
                        "path": self.path,
                    }
                )
            if status is None:  # the receiver falls over mid-request
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.send_response(status)
            if 300 <= status < 400:  # a client that followed redirects would come back: counted
                self.send_header("Location", receiving.url)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    receiving.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/chat?source=test"
    yield receiving
    server.shutdown()
    server.server_close()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def one_message(receiver: Receiver, event_id: str = "e1") -> str:
    return messages_of([Event(event_id, "chat.assigned", "2026-01-01T00:00:00.000Z", chat_id="c1")], (receiver.url,))[0]


# -- one delivery ---------------------------------------------------------------------


def test_a_delivery_is_a_signed_post_of_the_event_to_its_url(receiver):
    status = webhooks.deliver(one_message(receiver), SECRET, urls=(receiver.url,), allow_private=True)
    assert status == 200
    [request] = receiver.requests
    assert request["verified"] and request["id"] == "e1" and request["path"] == "/hooks/chat?source=test"
    assert request["event"]["type"] == "chat.assigned" and request["event"]["chat_id"] == "c1"


@pytest.mark.parametrize("status", [500, 404, 302, None])
def test_any_answer_but_2xx_fails_the_attempt(receiver, status):
    receiver.answer = lambda _id, _attempt: status
    with pytest.raises(DeliveryFailed):
        webhooks.deliver(one_message(receiver), SECRET, urls=(receiver.url,), allow_private=True)
    assert len(receiver.requests) == 1  # no redirect followed, no retry inside the attempt


def test_a_receiver_that_is_down_fails_the_attempt():
    down = f"http://127.0.0.1:{free_port()}/never"  # nothing listens
    with pytest.raises(DeliveryFailed, match=r"127\.0\.0\.1"):
        webhooks.deliver(one_message(Receiver(url=down)), SECRET, urls=(down,), allow_private=True)


def test_a_stage_that_allows_no_private_address_sends_nothing_there(receiver):
    with pytest.raises(DeliveryFailed, match="not public"):
        webhooks.deliver(one_message(receiver), SECRET, urls=(receiver.url,), allow_private=False)
    assert receiver.requests == []


# -- the local queue with the app's consumer -------------------------------------------------


@pytest.fixture
def local_queue(receiver, monkeypatch) -> Iterator[LocalWebhookQueue]:
    monkeypatch.setenv("WEBHOOK_URLS", receiver.url)
    get_settings.cache_clear()
    queue = LocalWebhookQueue(app_module.webhook_deliveries, time_scale=0.002)
    webhook_queue.use(queue)
    yield queue
    webhook_queue.use(None)
    queue.stop()


def test_failed_deliveries_come_back_with_growing_waits_until_delivered(receiver, local_queue, monkeypatch):
    waits: list[int] = []
    retry_later = local_queue.retry_later
    monkeypatch.setattr(local_queue, "retry_later", lambda handle, s: (waits.append(s), retry_later(handle, s)))
    receiver.answer = lambda _id, attempt: 200 if attempt > 3 else (None if attempt == 2 else 503)
    local_queue.send([one_message(receiver, f"e{i}") for i in range(5)])
    wait_until(lambda: local_queue.delivered == 5, "five deliveries")
    assert receiver.attempts() == {f"e{i}": 4 for i in range(5)}
    assert set(receiver.delivered()) == {f"e{i}" for i in range(5)}
    assert sorted(Counter(waits).items()) == [(5, 5), (10, 5), (20, 5)]
    assert local_queue.dead_letters == [] and local_queue.pending() == 0


def test_a_delivery_that_keeps_failing_ends_in_the_dead_letters(receiver, local_queue):
    receiver.answer = lambda _id, _attempt: 500
    local_queue.send([one_message(receiver, "doomed")])
    wait_until(lambda: local_queue.dead_letters, "a dead letter")
    assert receiver.attempts() == {"doomed": webhooks.MAX_RECEIVES}
    assert json.loads(local_queue.dead_letters[0])["event"]["event_id"] == "doomed"


# -- SQS (moto) --------------------------------------------------------------------------


@pytest.fixture
def sqs_client() -> Iterator[None]:
    """The webhook queue's SQS client made inside the test (moto's), and not kept after it."""
    webhook_queue._client.cache_clear()
    yield
    webhook_queue._client.cache_clear()


def test_on_sqs_a_failure_hides_the_message_for_the_backoff_and_the_redrive_dead_letters_it(
    receiver, monkeypatch, sqs_client
):
    monkeypatch.setenv("WEBHOOK_URLS", receiver.url)
    get_settings.cache_clear()
    receiver.answer = lambda _id, _attempt: 500
    waits: list[int] = []
    retry_later = SqsQueue.retry_later
    monkeypatch.setattr(
        SqsQueue, "retry_later", lambda queue, handle, s: (waits.append(s), retry_later(queue, handle, s))
    )
    with mock_aws():
        sqs = boto3.client("sqs")
        dead = sqs.create_queue(QueueName="hooks-dlq")["QueueUrl"]
        dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": 2})
        url = sqs.create_queue(QueueName="hooks", Attributes={"RedrivePolicy": redrive})["QueueUrl"]
        monkeypatch.setenv("WEBHOOK_QUEUE_URL", url)
        get_settings.cache_clear()
        queue = SqsQueue(url)
        queue.send([one_message(receiver, f"e{i}") for i in range(12)])  # two batches of SendMessageBatch
        assert (
            int(
                sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"][
                    "ApproximateNumberOfMessages"
                ]
            )
            == 12
        )

        def receive_and_handle() -> list[dict]:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, AttributeNames=["All"])
            for message in got.get("Messages", []):
                answer = app_module.webhook_deliveries(sqs_event(message), None)
                assert answer == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
            return got.get("Messages", [])

        [first] = receive_and_handle()
        first_id = json.loads(first["Body"])["event"]["event_id"]
        assert waits == [webhooks.BACKOFF_BASE_SECONDS]  # its visibility set to the first backoff
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"

        monkeypatch.setattr(webhooks, "BACKOFF_BASE_SECONDS", 0)  # from now on shown again at once
        for _ in range(40):
            receive_and_handle()
        dead_ids = set()
        while got := sqs.receive_message(QueueUrl=dead, MaxNumberOfMessages=10).get("Messages"):
            dead_ids |= {json.loads(m["Body"])["event"]["event_id"] for m in got}
            sqs.delete_message_batch(
                QueueUrl=dead, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
            )
        # Each of the others failed twice and went to the dead-letter queue; the first is still hidden.
        assert dead_ids == {f"e{i}" for i in range(12)} - {first_id}
        assert all(r["verified"] for r in receiver.requests)


def sqs_event(message: dict) -> dict:
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:hooks",
            }
        ]
    }


# -- end to end on DynamoDB Local ------------------------------------------------------------


def test_every_event_of_a_conversation_reaches_the_receiver_through_refusals_and_drops(real, receiver, local_queue):
    """The receiver refuses every event's first request and drops the second of every third event
    (in the order their second requests arrive: the first, the fourth, ...)."""
    seconds: list[str] = []

    def answer(event_id: str, attempt: int) -> int | None:
        if attempt == 1:
            return 503
        if attempt == 2:
            seconds.append(event_id)
            return None if len(seconds) % 3 == 1 else 200
        return 200

    receiver.answer = answer
    store_module.reset()
    batches: list[dict] = []
    poller = app_poller(batches)
    try:
        with Client(app, stage_name=STAGE) as client:
            api = Api(client)
            agent, customer = api.token("agent", 1), api.token("customer", 1)
            channel = api.initiate(1, customer).body
            assert api.customer_send(1, customer, "hello").status == 201
            assert api.agent_send(1, agent, 1, "hi, how can I help?").status == 201
            assert api.resolve(1, agent, 1).status == 200
            expected = lambda: {e.event_id: e for b in batches for e in realtime.events_of(b["Records"])}  # noqa: E731
            wanted = {"chat.assigned", "message.created", "chat.resolved", "agent.presence"}
            wait_until(lambda: wanted <= {e.type for e in expected().values()}, "the conversation's events")
            wait_until(lambda: set(expected()) <= set(receiver.delivered()), "every event delivered", timeout=30)
    finally:
        poller.stop()
    events = expected()
    delivered = receiver.delivered()
    for event_id, event in events.items():
        assert delivered[event_id]["type"] == event.type and receiver.attempts()[event_id] >= 2
    messages = [
        e for e in delivered.values() if e["type"] == "message.created" and e["chat_id"] == channel["channel_id"]
    ]
    assert len(messages) == 2
    assert any(r["status"] is None for r in receiver.requests)  # a dropped connection was retried too
    assert all(r["verified"] for r in receiver.requests) and local_queue.dead_letters == []
