"""What a million chats cost, from measured capacity units, measured durations and request counts.

Prices: AWS list prices for us-east-1 as published on each service's pricing
page (aws.amazon.com/dynamodb/pricing/on-demand, /lambda/pricing,
/api-gateway/pricing), as last checked for this project on the date in
``PRICES_AS_OF``. They change; edit the constants, the model follows.

DynamoDB Local's accounting differs from AWS's in two ways, and the model adds
back what it leaves out (``bench.capacity.Meter`` counts both from the
requests and responses it sees):

- inside ``TransactWriteItems``, Local reports one item's worth of write
  units per table (2 for items under 1 KB) however many items the
  transaction has on that table; AWS bills every item, a ``ConditionCheck``
  included, as a transactional write (2 write units per KB; our items are
  under 1 KB): ``TRANSACT_ITEM_WRITE_UNITS`` each. (An earlier reading, that
  Local reports 0 for a condition check, held only where another item of the
  same table was in the transaction.) An index's share of a transactional
  write is doubled by Local like the item's; AWS bills it once, as outside a
  transaction: ``TRANSACT_INDEX_WRITE_FACTOR`` (below, with its source);
- a read of a missing item (``GetItem`` / ``BatchGetItem`` key with nothing
  stored) is reported as 0 read units; AWS bills the read anyway (1 unit
  strongly consistent, 0.5 eventually): ``MISSING_ITEM_READ_UNITS`` by read kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.capacity import Usage

PRICES_AS_OF = "2026-11-25 (us-east-1 list prices)"
DYNAMODB_WRITE_REQUEST_UNIT = 0.625 / 1_000_000  # USD, on-demand
DYNAMODB_READ_REQUEST_UNIT = 0.125 / 1_000_000  # USD, on-demand
LAMBDA_REQUEST = 0.20 / 1_000_000  # USD
LAMBDA_GB_SECOND = {"x86_64": 0.0000166667, "arm64": 0.0000133334}  # USD, first 6 billion GB-s a month
HTTP_API = "HTTP API"
REST_API = "REST API"
API_GATEWAY_REQUEST = {
    HTTP_API: 1.00 / 1_000_000,  # USD, first 300 million a month, requests up to 512 KB
    REST_API: 3.50 / 1_000_000,  # USD, first 333 million a month
}
# The deploy default (DESIGN.md, issue 14): what `make package` emits unless API_TYPE=rest (tools/package.py).
DEPLOY_DEFAULT_API = HTTP_API
LAMBDA_MEMORY_GB = 1.0  # lambda_memory_size in .chalice/config.json (1024 MB)
LAMBDA_ARCHITECTURE = "x86_64"  # what chalice packages; arm64 would be 20% cheaper per GB-s (see the report)
# Billed duration is the request's median time in-process on this machine
# (DynamoDB Local round trips included; the login's Argon2id hash too), plus
# this per-invocation overhead of the Lambda runtime.
LAMBDA_OVERHEAD_MS = 2.0
TRANSACT_ITEM_WRITE_UNITS = 2.0  # per item of a transaction, up to 1 KB
# How much more DynamoDB Local reports for an index's share of a transactional write than AWS bills.
# AWS applies the transactional factor of 2 to the base table alone: "an index arm inside a
# transaction costs what the same write costs outside one", as captured against DynamoDB (eu-west-2)
# by the dynoxide emulator's maintainers (github.com/nubo-db/dynoxide, pull request 188, 2026-08);
# AWS's own pages say only that a transaction's changes propagate to the indexes after it completes.
# Section 5 of the report also gives the total at Local's doubled figure (1.0 here would price that).
TRANSACT_INDEX_WRITE_FACTOR = 2.0
MISSING_ITEM_READ_UNITS = {True: 1.0, False: 0.5}  # by ConsistentRead

# One chat, as the stated mix: the customer logs in, opens it, 5 messages each
# way, reads the history 3 times, the agent resolves it, the customer logs out.
# Agent logins and logouts are per shift, not per chat, and left out.
CHAT_MIX = {
    "customer login": 1,
    "initiate": 1,
    "customer send": 5,
    "agent send": 5,
    "history (10 messages)": 3,
    "resolve": 1,
    "customer logout": 1,
}


@dataclass(frozen=True)
class Cost:
    api: str
    architecture: str
    requests: int
    read_units: float  # per chat, as AWS would bill them
    write_units: float
    gb_seconds: float  # per chat
    dynamodb: float  # USD per million chats
    lambda_: float
    api_gateway: float

    @property
    def total(self) -> float:
        return self.dynamodb + self.lambda_ + self.api_gateway


def per_chat(figure: Callable[[str], float]) -> float:
    """A figure of one request of each endpoint (by its name in ``CHAT_MIX``), summed over one chat's mix."""
    return sum(figure(name) * n for name, n in CHAT_MIX.items())


def per_million_chats(
    usage: dict[str, Usage],
    durations_ms: dict[str, float],
    *,
    api: str = DEPLOY_DEFAULT_API,
    architecture: str = LAMBDA_ARCHITECTURE,
) -> Cost:
    """``usage``: one metered request per endpoint; ``durations_ms``: median in-process ms per endpoint."""
    requests = sum(CHAT_MIX.values())
    reads = per_chat(lambda name: usage[name].aws_read_units)
    writes = per_chat(lambda name: usage[name].aws_write_units)
    milliseconds = per_chat(lambda name: durations_ms[name] + LAMBDA_OVERHEAD_MS)
    gb_seconds = milliseconds / 1000 * LAMBDA_MEMORY_GB
    million = 1_000_000
    return Cost(
        api=api,
        architecture=architecture,
        requests=requests,
        read_units=reads,
        write_units=writes,
        gb_seconds=gb_seconds,
        dynamodb=million * (reads * DYNAMODB_READ_REQUEST_UNIT + writes * DYNAMODB_WRITE_REQUEST_UNIT),
        lambda_=million * (requests * LAMBDA_REQUEST + gb_seconds * LAMBDA_GB_SECOND[architecture]),
        api_gateway=million * requests * API_GATEWAY_REQUEST[api],
    )
