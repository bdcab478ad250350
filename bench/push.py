"""Push latency: from a customer's send to the agent's socket, wired as ``make run`` wires it.

Each run starts from fresh tables and the demo users, then starts the local
WebSocket gateway (``tools.ws_gateway``) and the stream poller
(``tools.stream_poller``, at ``make run``'s interval, ``POLL_INTERVAL_SECONDS``)
calling the app's own stream handlers in this process, as
``tools.run_local.start_realtime`` does. Agent 1 logs in and connects its
socket (a ticket from ``POST /agent/1/ws-ticket``); customer 1 logs in and opens
a chat, which agent 1 gets. Then the customer sends ``messages`` messages, one
at a time, through chalice's local API Gateway emulation (``GatewayClient``,
in-process). A message's clock starts just before its send request and stops
when a reader thread receives the agent's ``message.created`` event carrying
the ``message_id`` the send answered. The next send waits for that event, then
for a random pause of up to one poll interval, so the sends do not lock onto
the poller's rhythm.

The same runs time the send request alone (its answer): the baseline. The push's
extra delay over it is the wait for the poller's next round, the round's own
reads, and the chats stream handler (its reads, and its posts through the
gateway), which is timed per call too.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

import app as app_module
from bench import engine
from bench.stats import Latencies, Repeated
from chalicelib import store as store_module
from chalicelib.config import get_settings
from chalicelib.events import CHAT_ASSIGNED, MESSAGE_CREATED
from tools import seed
from tools.api_client import Api, GatewayClient
from tools.stream_poller import POLL_INTERVAL_SECONDS, StreamPoller
from tools.ws_gateway import RealtimeGateway

# A push slower than this fails the run: it was lost, not slow.
EVENT_TIMEOUT_SECONDS = 10.0
# Set for a run, restored after it. Metrics off: their lines would go to the bench's stdout (they are
# written after the batch's push, so they do not delay it).
RUN_VARIABLES = ("WS_URL", "WS_MANAGEMENT_URL", "METRICS_NAMESPACE")


@dataclass(frozen=True)
class PushRun:
    push: Latencies  # from just before the send request to the agent's socket receiving the event
    send: Latencies  # the send request alone, to its answer
    handler: Latencies  # each call of the chats stream handler while the messages went out

    @property
    def extra(self) -> Latencies:
        """Per message: the push's delay beyond its send request's answer."""
        return Latencies([push - send for push, send in zip(self.push.ms, self.send.ms, strict=True)])


@dataclass(frozen=True)
class Push(Repeated):
    """Several runs: medians of the runs' figures, and their spread (min, max)."""

    messages: int  # per run
    interval_ms: float  # the stream poller's pause between rounds
    runs: list[PushRun]

    @property
    def p50(self) -> float:
        return self.median("push.p50")

    @property
    def p99(self) -> float:
        return self.median("push.p99")

    @property
    def size(self) -> str:
        runs = len(self.runs)
        return f"{self.messages} messages x {runs} run{'s' if runs != 1 else ''}"


class _Arrivals:
    """Reads one socket in a thread and stamps each event's arrival (``time.perf_counter``), keyed by
    (type, message_id) for messages and (type, chat_id) for the rest."""

    def __init__(self, socket: ClientConnection) -> None:
        self._socket = socket
        self._seen: dict[tuple[str, Any], float] = {}
        self._condition = threading.Condition()
        threading.Thread(target=self._read, name="bench-push-reader", daemon=True).start()

    def _read(self) -> None:
        try:
            for raw in self._socket:
                arrived = time.perf_counter()
                event = json.loads(raw)
                if event["type"] == MESSAGE_CREATED:
                    key = (MESSAGE_CREATED, event["data"]["message"]["message_id"])
                else:
                    key = (event["type"], event.get("chat_id"))
                with self._condition:
                    self._seen.setdefault(key, arrived)
                    self._condition.notify_all()
        except ConnectionClosed:
            pass

    def wait_for(self, key: tuple[str, Any]) -> float:
        """When the event ``key`` arrived; raises ``TimeoutError`` if it does not within the timeout."""
        with self._condition:
            if not self._condition.wait_for(lambda: key in self._seen, EVENT_TIMEOUT_SECONDS):
                raise TimeoutError(f"no {key} on the agent's socket within {EVENT_TIMEOUT_SECONDS:.0f} s")
            return self._seen[key]


def run(messages: int, rng: random.Random) -> PushRun:
    """One run on fresh tables, with its own gateway and poller (see the module's docstring)."""
    engine.fresh_tables()
    seed.seed_demo()
    saved = {name: os.environ.get(name) for name in RUN_VARIABLES}
    gateway = RealtimeGateway(app_module, port=0).start()
    poller: StreamPoller | None = None
    handler_ms: list[float] = []

    def chats_events(event: dict[str, Any], context: Any) -> Any:
        started = time.perf_counter()
        try:
            return app_module.chats_events(event, context)
        finally:
            handler_ms.append((time.perf_counter() - started) * 1000)

    try:
        os.environ["WS_URL"] = f"ws://{gateway.host}:{gateway.port}"
        os.environ["WS_MANAGEMENT_URL"] = gateway.management_url
        os.environ["METRICS_NAMESPACE"] = ""
        store_module.reset()
        settings = get_settings()
        handlers = {settings.users_table: app_module.users_events, settings.chats_table: chats_events}
        poller = StreamPoller(handlers, skip_existing=True).start(interval=POLL_INTERVAL_SECONDS)
        return _conversation(Api(GatewayClient(app_module.app)), messages, rng, handler_ms)
    finally:
        if poller is not None:
            poller.stop()
        gateway.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        store_module.reset()


def _conversation(api: Api, messages: int, rng: random.Random, handler_ms: list[float]) -> PushRun:
    agent = api.token("agent", 1)  # online from here
    ticket = api.request("POST", "/agent/1/ws-ticket", token=agent)
    assert ticket.status == 200, ticket.body
    with connect(ticket.body["url"], open_timeout=5) as socket:
        arrivals = _Arrivals(socket)
        customer = api.token("customer", 1)
        channel = api.initiate(1, customer)
        assert channel.status < 300 and channel.body["agent_id"] == 1, channel.body
        # The pipeline is up (and past the poller's first round, which skips what it finds).
        arrivals.wait_for((CHAT_ASSIGNED, channel.body["channel_id"]))
        handler_ms.clear()  # from here on, the messages' batches
        push_ms: list[float] = []
        send_ms: list[float] = []
        for i in range(messages):
            time.sleep(rng.uniform(0, POLL_INTERVAL_SECONDS))
            started = time.perf_counter()
            reply = api.customer_send(1, customer, f"message {i}")
            answered = time.perf_counter()
            assert reply.status == 201, reply.body
            arrived = arrivals.wait_for((MESSAGE_CREATED, reply.body["message_id"]))
            send_ms.append((answered - started) * 1000)
            push_ms.append((arrived - started) * 1000)
    return PushRun(Latencies(push_ms), Latencies(send_ms), Latencies(list(handler_ms)))


def measure(messages: int, repeats: int, seed_: int = 1) -> Push:
    """``repeats`` runs of ``messages`` messages each."""
    rng = random.Random(seed_)  # noqa: S311 - pauses between sends, not secrets
    return Push(messages, POLL_INTERVAL_SECONDS * 1000, [run(messages, rng) for _ in range(repeats)])


def main(argv: list[str] | None = None) -> int:
    """Only this measurement, at a mode's sizes: ``python -m bench.push --mode quick``."""
    import argparse

    from bench import report
    from bench.__main__ import MODES

    parser = argparse.ArgumentParser(prog="python -m bench.push", description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=sorted(MODES), default="quick")
    mode = MODES[parser.parse_args(argv).mode]
    local = engine.start()
    try:
        push = measure(mode.push_messages, mode.push_repeats)
    finally:
        local.stop()
    print(describe(push))
    print("\n".join(report.push_section(push)))  # docs/PERFORMANCE.md's section, as a whole run writes it
    return 0


def describe(push: Push) -> str:
    """The console line: medians of the runs, the spread (min-max) in brackets."""

    figure = push.with_spread
    return (
        f"  push to the agent's socket, {push.size}, "
        f"poll every {push.interval_ms:.0f} ms: p50 {figure('push.p50')} ms  p99 {figure('push.p99')} ms  "
        f"max {figure('push.max')} ms; the send alone p50 {figure('send.p50')} ms  p99 {figure('send.p99')} ms"
    )


if __name__ == "__main__":
    raise SystemExit(main())
