"""Three ways to allocate a chat over the same tables.

- ``ours``: the service's own code path (``chalicelib.channels.initiate``).
- ``naive``: read the loads, pick by the same rules, write without conditions
  (channel, customer, then the agent's count as observed + 1), the way a plain
  read-then-write implementation such as the original's works.
- ``lock``: one lock item taken by a conditional put, then read and pick, then
  one transaction that writes the channel, the customer and the agent's count
  (``ADD 1``) and deletes the lock item (on condition this request still owns
  it): correct, three round trips, but every allocation waits for every other.

Each returns the number of retries it needed (lost races or lock waits).
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from bench import engine
from chalicelib import channels, keys
from chalicelib.allocation import choose_agent
from chalicelib.config import Settings
from chalicelib.errors import Unavailable
from chalicelib.models import ACTIVE, Channel, Principal
from chalicelib.store import Store
from chalicelib.store.dynamo import get_client, to_item, to_values
from chalicelib.store.transaction import Transaction

Allocator = Callable[[int], int]
LOCK_KEY = "lock#allocation"
# 503s a benchmark client takes before it gives up on a chat.
MAX_CLIENT_RETRIES = 100


_attempts = threading.local()


def attempts() -> int:
    """Commit attempts (transactions) made by the calling thread."""
    return getattr(_attempts, "count", 0)


@dataclass(frozen=True)
class CountingStore(Store):
    """The service's store, counting the transactions it starts (the code path is unchanged)."""

    def transaction(self, *args: Any, **kwargs: Any) -> Transaction:
        _attempts.count = attempts() + 1
        return super().transaction(*args, **kwargs)


def ours(settings: Settings, teams: tuple[str, ...] = ()) -> Allocator:
    """With ``teams``, each customer opens its chat in its own team (``engine.team_of``)."""
    store = CountingStore.for_settings(settings)

    def allocate(customer_id: int) -> int:
        before = attempts()
        principal = Principal("customer", customer_id, keys.new_id(), int(time.time()) + 3600)
        team = engine.team_of(customer_id, teams)
        for _ in range(MAX_CLIENT_RETRIES):
            try:
                channels.initiate(store, settings, principal, team=team)
                break
            except Unavailable:  # a 503 after the service's own retries: the client tries again
                time.sleep(0.05)
        else:  # not contention any more: the engine is gone (the run fails rather than spins)
            raise RuntimeError(f"customer {customer_id}: still unavailable after {MAX_CLIENT_RETRIES} tries")
        return attempts() - before - 1

    return allocate


def _write_unconditionally(settings: Settings, customer_id: int, agent_id: int, observed: int) -> None:
    client = get_client()
    now = keys.now_iso()
    channel = Channel(keys.new_id(), customer_id, agent_id, ACTIVE, now)
    client.put_item(
        TableName=settings.chats_table,
        Item=to_item(
            {
                "pk": keys.channel_pk(channel.channel_id),
                "sk": keys.CHANNEL_SK,
                **channel.to_dict(),
                "active_agent": keys.agent_pk(agent_id),
            }
        ),
    )
    client.update_item(
        TableName=settings.users_table,
        Key=to_item({"pk": keys.customer_pk(customer_id)}),
        UpdateExpression="SET active_channel_id = :c, active_agent_id = :a",
        ExpressionAttributeValues=to_values({":c": channel.channel_id, ":a": agent_id}),
    )
    # Read-modify-write: the count as this request saw it, plus one.
    client.update_item(
        TableName=settings.users_table,
        Key=to_item({"pk": keys.agent_pk(agent_id)}),
        UpdateExpression="SET active_count = :n, #rank = :n, last_assigned_at = :now",
        ExpressionAttributeNames={"#rank": "rank"},
        ExpressionAttributeValues=to_values({":n": observed + 1, ":now": now}),
    )


def naive(settings: Settings, teams: tuple[str, ...] = ()) -> Allocator:
    store = Store.for_settings(settings)

    def allocate(customer_id: int) -> int:
        choice = choose_agent(store.load_index.candidates(channels.CANDIDATES), settings.allocation_cap)
        assert choice is not None
        _write_unconditionally(settings, customer_id, choice.agent.agent_id, choice.agent.active_count)
        return 0

    return allocate


def _commit_and_release(settings: Settings, customer_id: int, agent_id: int, owner: str) -> None:
    """The writes and the lock's release in one transaction (all or nothing)."""
    now = keys.now_iso()
    channel = Channel(keys.new_id(), customer_id, agent_id, ACTIVE, now)
    channel_item = {
        "pk": keys.channel_pk(channel.channel_id),
        "sk": keys.CHANNEL_SK,
        **channel.to_dict(),
        "active_agent": keys.agent_pk(agent_id),
    }
    get_client().transact_write_items(
        TransactItems=[
            {"Put": {"TableName": settings.chats_table, "Item": to_item(channel_item)}},
            {
                "Update": {
                    "TableName": settings.users_table,
                    "Key": to_item({"pk": keys.customer_pk(customer_id)}),
                    "UpdateExpression": "SET active_channel_id = :c, active_agent_id = :a",
                    "ExpressionAttributeValues": to_values({":c": channel.channel_id, ":a": agent_id}),
                }
            },
            {
                # Under the lock the count is exact; ADD keeps it so even if the index read was stale.
                "Update": {
                    "TableName": settings.users_table,
                    "Key": to_item({"pk": keys.agent_pk(agent_id)}),
                    "UpdateExpression": "SET last_assigned_at = :now ADD active_count :one, #rank :one",
                    "ExpressionAttributeNames": {"#rank": "rank"},
                    "ExpressionAttributeValues": to_values({":one": 1, ":now": now}),
                }
            },
            {
                "Delete": {
                    "TableName": settings.tokens_table,
                    "Key": to_item({"pk": LOCK_KEY}),
                    "ConditionExpression": "#owner = :me",
                    "ExpressionAttributeNames": {"#owner": "owner"},
                    "ExpressionAttributeValues": to_values({":me": owner}),
                }
            },
        ]
    )


def lock(settings: Settings, teams: tuple[str, ...] = ()) -> Allocator:
    """The lock baseline as a competent engineer would write it: take, read, one transaction."""
    store = Store.for_settings(settings)
    client = get_client()
    rng = random.Random()  # noqa: S311 - backoff jitter

    def allocate(customer_id: int) -> int:
        waits = 0
        owner = keys.new_id()
        while True:
            try:
                client.put_item(
                    TableName=settings.tokens_table,
                    Item=to_item({"pk": LOCK_KEY, "owner": owner}),
                    ConditionExpression="attribute_not_exists(pk)",
                )
                break
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                waits += 1
                time.sleep(rng.uniform(0, min(0.05, 0.002 * 2 ** min(waits, 6))))
        try:
            choice = choose_agent(store.load_index.candidates(channels.CANDIDATES), settings.allocation_cap)
            assert choice is not None
            _commit_and_release(settings, customer_id, choice.agent.agent_id, owner)
        except BaseException:
            # The transaction did not run (or failed whole): release the lock, if still ours.
            with contextlib.suppress(ClientError):
                client.delete_item(
                    TableName=settings.tokens_table,
                    Key=to_item({"pk": LOCK_KEY}),
                    ConditionExpression="#owner = :me",
                    ExpressionAttributeNames={"#owner": "owner"},
                    ExpressionAttributeValues=to_values({":me": owner}),
                )
            raise
        return waits

    return allocate


# Each takes the settings and the teams customers are dealt over (``ours`` only: the baselines have one pool).
ALLOCATORS: dict[str, Callable[[Settings, tuple[str, ...]], Allocator]] = {"ours": ours, "naive": naive, "lock": lock}
