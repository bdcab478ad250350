"""Round trips and consumed capacity per endpoint, for a typical request of each (DynamoDB Local)."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app import app
from bench import engine
from chalicelib.store.dynamo import get_client
from tools import seed
from tools.api_client import Api, GatewayClient

CAPACITY_OPERATIONS = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "TransactWriteItems",
}


@dataclass
class Usage:
    calls: int = 0
    read_units: float = 0.0  # as DynamoDB Local reports them
    write_units: float = 0.0
    milliseconds: float = 0.0
    operations: list[str] = field(default_factory=list)
    condition_checks: int = 0  # ConditionCheck items in transactions (billed by AWS like any other item)
    missing_reads: float = 0.0  # read units of keys read and not found (Local reports 0 for them)
    # Write units by where they land: "<table>" (the base table, Local's figure) or "<table>/<index>"
    # (a GSI, as AWS bills it: see ``Meter``); tables by their short name (users, chats, tokens, connections).
    writes_by_target: dict[str, float] = field(default_factory=dict)
    # Base-table write units of transactions that Local leaves out (see ``Meter``).
    transact_shortfall: float = 0.0
    # Index write units Local reports beyond AWS's bill: the second half of every index write it
    # doubles inside a transaction (see ``Meter``).
    transact_index_surplus: float = 0.0

    @property
    def aws_read_units(self) -> float:
        """Read units as AWS bills them: Local's, plus reads of missing items."""
        return self.read_units + self.missing_reads

    @property
    def aws_write_units(self) -> float:
        """Write units as AWS bills them: Local's, plus what Local leaves out of transactions' items,
        less what it adds to their index writes."""
        return self.write_units + self.transact_shortfall - self.transact_index_surplus


class Meter:
    """Adds ReturnConsumedCapacity to every call and adds up what comes back."""

    def __init__(self) -> None:
        self.current: Usage | None = None

    def _params(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if model.name in CAPACITY_OPERATIONS:
            params["ReturnConsumedCapacity"] = "INDEXES"  # the total, and the table's and each index's share
        context["bench_params"] = params

    def _after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if self.current is None:
            return
        self.current.calls += 1
        self.current.operations.append(model.name)
        self._local_accounting(model.name, context.get("bench_params") or {}, parsed)
        consumed = parsed.get("ConsumedCapacity") or []
        for entry in consumed if isinstance(consumed, list) else [consumed]:
            read, write = entry.get("ReadCapacityUnits"), entry.get("WriteCapacityUnits")
            if read is None and write is None:  # only a total: reads and writes by operation
                total = entry.get("CapacityUnits", 0.0)
                read, write = (
                    (total, 0.0) if model.name in ("GetItem", "Query", "Scan", "BatchGetItem") else (0.0, total)
                )
            self.current.read_units += read or 0.0
            self.current.write_units += write or 0.0
            if write:
                self._writes_by_target(entry, transactional=model.name == "TransactWriteItems")

    def _writes_by_target(self, entry: dict[str, Any], *, transactional: bool) -> None:
        """Split one write entry of ``ReturnConsumedCapacity=INDEXES`` over the table and its indexes;
        an index's share of a transaction at AWS's price: Local's figure over
        ``TRANSACT_INDEX_WRITE_FACTOR`` (see ``_local_accounting``)."""
        from bench.cost import TRANSACT_INDEX_WRITE_FACTOR

        assert self.current is not None
        table = entry.get("TableName", "").rsplit("-", 1)[-1]  # <app>-<stage>-users: users
        targets = {table: (entry.get("Table") or {}).get("CapacityUnits", 0.0)}
        for index, units in (entry.get("GlobalSecondaryIndexes") or {}).items():
            reported = units.get("CapacityUnits", 0.0)
            billed = reported / TRANSACT_INDEX_WRITE_FACTOR if transactional else reported
            self.current.transact_index_surplus += reported - billed
            targets[f"{table}/{index}"] = billed
        for target, units in targets.items():
            if units:
                self.current.writes_by_target[target] = self.current.writes_by_target.get(target, 0.0) + units

    def _local_accounting(self, operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        """What DynamoDB Local leaves out of its consumed capacity, counted from the call itself.

        Transactions: Local reports one item's worth per table (2 units for items under 1 KB, checked on
        DynamoDB Local 2026-05-28: one put, three puts, a put and two condition checks all report 2), while
        AWS bills every item, condition checks included, ``TRANSACT_ITEM_WRITE_UNITS`` each up to 1 KB.
        The shortfall per table is what 2 units per item adds beyond Local's figure (an item over 1 KB
        besides the largest is still undercounted).

        Index writes: Local doubles an index's share of a transactional write, like the item's. AWS
        does not: the transactional factor applies to the base table alone, and an index write inside a
        transaction costs what it costs outside one (``bench.cost.TRANSACT_INDEX_WRITE_FACTOR``, with
        the source); ``_writes_by_target`` takes the index shares at that price.
        """
        from bench.cost import MISSING_ITEM_READ_UNITS, TRANSACT_ITEM_WRITE_UNITS

        assert self.current is not None
        if operation == "TransactWriteItems":
            items = [next(iter(i.values())) for i in params.get("TransactItems", [])]
            self.current.condition_checks += sum("ConditionCheck" in i for i in params.get("TransactItems", []))
            per_table = Counter(item["TableName"].rsplit("-", 1)[-1] for item in items)
            reported = {
                entry.get("TableName", "").rsplit("-", 1)[-1]: (entry.get("Table") or {}).get("CapacityUnits", 0.0)
                for entry in parsed.get("ConsumedCapacity") or []
            }
            for table, count in per_table.items():
                shortfall = count * TRANSACT_ITEM_WRITE_UNITS - reported.get(table, 0.0)
                self.current.transact_shortfall += max(0.0, shortfall)
        elif operation == "GetItem" and "Item" not in parsed:
            self.current.missing_reads += MISSING_ITEM_READ_UNITS[bool(params.get("ConsistentRead"))]
        elif operation == "BatchGetItem":
            for table, request in params.get("RequestItems", {}).items():
                found = len(parsed.get("Responses", {}).get(table, []))
                unprocessed = len(parsed.get("UnprocessedKeys", {}).get(table, {}).get("Keys", []))
                missing = len(request["Keys"]) - found - unprocessed
                self.current.missing_reads += missing * MISSING_ITEM_READ_UNITS[bool(request.get("ConsistentRead"))]

    def install(self) -> None:
        events = get_client().meta.events
        events.register("provide-client-params.dynamodb", self._params)
        events.register("after-call.dynamodb", self._after)

    def run(self, work: Callable[[], Any]) -> tuple[Usage, Any]:
        """Run ``work``; return what its DynamoDB calls consumed, and its result."""
        self.current = usage = Usage()
        started = time.perf_counter()
        try:
            result = work()
        finally:
            usage.milliseconds = (time.perf_counter() - started) * 1000
            self.current = None
        return usage, result

    def measure(self, name: str, usage: dict[str, Usage], request: Callable[[], Any]) -> Any:
        """Meter one API request; keep it as ``usage[name]``."""
        usage[name], reply = self.run(request)
        assert reply.status < 300, (name, reply.body)
        return reply


def per_endpoint() -> dict[str, Usage]:
    """The seed flow once, metered request by request."""
    engine.fresh_tables()
    seed.seed_demo()
    api = Api(GatewayClient(app))
    meter = Meter()
    meter.install()
    usage: dict[str, Usage] = {}
    agent = meter.measure("agent login", usage, lambda: api.login("agent", 1)).body["token"]
    customer = meter.measure("customer login", usage, lambda: api.login("customer", 1)).body["token"]
    channel = meter.measure("initiate", usage, lambda: api.initiate(1, customer)).body["channel_id"]
    for i in range(5):  # warm: the fifth send is the one kept
        meter.measure("customer send", usage, lambda i=i: api.customer_send(1, customer, f"message {i}"))
        meter.measure("agent send", usage, lambda i=i: api.agent_send(1, agent, 1, f"reply {i}"))
    query = {"channel_id": channel}
    meter.measure(
        "history (10 messages)", usage, lambda: api.request("GET", "/customer/1/chat", token=customer, query=query)
    )
    meter.measure("active chats", usage, lambda: api.active(1, agent))
    beat = {"status": "online"}
    meter.measure("heartbeat", usage, lambda: api.request("PUT", "/agent/1/presence", token=agent, form=beat))
    supervisor = meter.measure("supervisor login", usage, lambda: api.login("supervisor", 1)).body["token"]
    meter.measure("supervisor agents", usage, lambda: api.request("GET", "/supervisor/1/agents", token=supervisor))
    meter.measure("resolve", usage, lambda: api.resolve(1, agent, 1))
    meter.measure("customer logout", usage, lambda: api.logout("customer", 1, customer))
    meter.measure("agent logout", usage, lambda: api.logout("agent", 1, agent))
    return dict(usage)


def durations(chats: int) -> dict[str, float]:
    """Median milliseconds in-process (routing, our code, DynamoDB Local round trips) per endpoint of the
    chat mix, over ``chats`` whole chats: what Lambda would bill for the handler, before its own overhead."""
    engine.fresh_tables()
    seed.seed_demo()
    api = Api(GatewayClient(app))
    agent = api.token("agent", 1)
    times: dict[str, list[float]] = {}

    def timed(name: str, request: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        reply = request()
        times.setdefault(name, []).append((time.perf_counter() - started) * 1000)
        assert reply.status < 300, (name, reply.body)
        return reply

    for chat in range(chats):
        customer_id = 1 + chat % 8  # the demo customers, in turn
        token = timed("customer login", lambda c=customer_id: api.login("customer", c)).body["token"]
        channel = timed("initiate", lambda c=customer_id, t=token: api.initiate(c, t)).body["channel_id"]
        for i in range(5):
            timed("customer send", lambda c=customer_id, t=token, i=i: api.customer_send(c, t, f"message {i}"))
            timed("agent send", lambda c=customer_id, i=i: api.agent_send(1, agent, c, f"reply {i}"))
        for _ in range(3):
            timed(
                "history (10 messages)",
                lambda c=customer_id, t=token, ch=channel: api.request(
                    "GET", f"/customer/{c}/chat", token=t, query={"channel_id": ch}
                ),
            )
        timed("resolve", lambda c=customer_id: api.resolve(1, agent, c))
        timed("customer logout", lambda c=customer_id, t=token: api.logout("customer", c, t))
    return {name: statistics.median(values) for name, values in times.items()}
