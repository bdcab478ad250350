"""What a million chats cost, from measured capacity units and request counts.

Prices: AWS list prices for us-east-1 as published on each service's pricing
page (aws.amazon.com/dynamodb/pricing/on-demand, /lambda/pricing,
/api-gateway/pricing), as last checked for this project in November 2026.
They change; edit the constants, the model follows.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.capacity import Usage

PRICES_AS_OF = "2026-11 (us-east-1 list prices)"
DYNAMODB_WRITE_REQUEST_UNIT = 0.625 / 1_000_000  # USD, on-demand
DYNAMODB_READ_REQUEST_UNIT = 0.125 / 1_000_000  # USD, on-demand
LAMBDA_REQUEST = 0.20 / 1_000_000  # USD
LAMBDA_GB_SECOND = 0.0000166667  # USD, x86
API_GATEWAY_REST_REQUEST = 3.50 / 1_000_000  # USD, first 333 million a month
LAMBDA_MEMORY_GB = 1.0  # .chalice/config.json
# Billed duration is estimated as the request's measured time in-process on
# this machine (DynamoDB Local round trips included; the login's Argon2id hash
# too), plus this per-invocation overhead of the Lambda runtime.
LAMBDA_OVERHEAD_MS = 2.0

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
    requests: int
    dynamodb: float
    lambda_: float
    api_gateway: float

    @property
    def total(self) -> float:
        return self.dynamodb + self.lambda_ + self.api_gateway


def per_million_chats(usage: dict[str, Usage]) -> Cost:
    requests = sum(CHAT_MIX.values())
    reads = sum(usage[name].read_units * n for name, n in CHAT_MIX.items())
    writes = sum(usage[name].write_units * n for name, n in CHAT_MIX.items())
    milliseconds = sum((usage[name].milliseconds + LAMBDA_OVERHEAD_MS) * n for name, n in CHAT_MIX.items())
    million = 1_000_000
    return Cost(
        requests=requests,
        dynamodb=million * (reads * DYNAMODB_READ_REQUEST_UNIT + writes * DYNAMODB_WRITE_REQUEST_UNIT),
        lambda_=million * (requests * LAMBDA_REQUEST + milliseconds / 1000 * LAMBDA_MEMORY_GB * LAMBDA_GB_SECOND),
        api_gateway=million * requests * API_GATEWAY_REST_REQUEST,
    )
