"""Every interleaving of a few operations in flight, at their store calls (moto, sequential).

Operations (initiate, resolve, login, logout, heartbeat, the presence sweep) are
split at their DynamoDB calls; ``tests.support.interleavings`` runs every order of
those steps, and every pick among tied agents, with a deterministic scheduler,
from the same database each time, and checks the invariants after each
(``tests.support.scenarios``: I1, I2, I4, the load index's rank, no chat in two
places, sessions, every operation answered, and the allocation rules with I3 at
the moment of every commit). The only counterexamples allowed are the windows
README's "Known limits" admits, each named.

The first tests check the explorer itself: exact counts of orders, the
reduction against the exhaustive search, ties, determinism, replay.
``INTERLEAVINGS=full`` adds configurations of three operations over three
agents and four customers (minutes, not seconds).
"""

from __future__ import annotations

import functools
import math
import os
import random
import time
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from chalicelib import allocation, clock, keys, sessions
from chalicelib import store as store_module
from chalicelib.config import get_settings
from chalicelib.store.admin import create_tables
from chalicelib.store.dynamo import call, to_item
from tests.support.interleavings import TIES, Explorer, Nondeterministic, Operation, Report
from tests.support.scenarios import HEARTBEAT_UNSEEN, LOGIN_UNSEEN, World, seed_users

FULL = os.environ.get("INTERLEAVINGS") == "full"
full_only = pytest.mark.skipif(not FULL, reason="a long configuration: set INTERLEAVINGS=full")


@pytest.fixture
def world(fast_hashing: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """Three agents and four customers on moto at a fixed instant; ties explored, channel ids
    the same on every run, password checks cached."""
    yield from _world(monkeypatch)


@pytest.fixture
def queue_world(fast_hashing: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The same, with ``ROUTING_OVERFLOW=queue`` and ``ON_AGENT_OFFLINE=requeue``."""
    monkeypatch.setenv("ROUTING_OVERFLOW", "queue")
    monkeypatch.setenv("ON_AGENT_OFFLINE", "requeue")
    store_module.reset()
    yield from _world(monkeypatch)


def _world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with mock_aws():
        create_tables(get_settings())
        seed_users()
        now = int(time.time())
        world = World(now)
        monkeypatch.setattr(clock, "now", lambda: now)
        monkeypatch.setattr(allocation, "_TIES", TIES)
        monkeypatch.setattr(keys, "new_id", lambda now_ms=None: world.new_id())
        # A login checks its password with Argon2 (tens of ms) on every schedule: once per password here.
        monkeypatch.setattr(sessions, "verify_password", functools.cache(sessions.verify_password))
        yield world


def multinomial(*steps: int) -> int:
    """Orders of operations of ``steps`` calls each (each operation's own calls in order)."""
    return math.factorial(sum(steps)) // math.prod(math.factorial(s) for s in steps)


def show(report: Report) -> None:
    print(f"\n{report.line()}")
    for (check, kind), count in sorted(report.kinds().items(), key=str):
        print(f"  {count} x [{check}] {kind or 'UNEXPLAINED'}")
    for example in (report.unexplained() or report.counterexamples)[:1]:
        print(example.describe())


def assert_complete(report: Report) -> None:
    assert report.exhausted, "the search stopped before every schedule ran"
    assert not report.truncated, "a run went on past max_steps: an operation that never ends?"


def explore_both_ways(world: World, operations: list[Operation], **options: Any) -> Report:
    """Every order, then one order per class: the reduced search must run every class of orders
    the exhaustive one found, each once, to the same final states and counterexamples."""
    explorer = world.explorer(operations, reduce=False, **options)
    exhaustive = explorer.explore()
    explorer.reduce = True
    reduced = explorer.explore()
    show(exhaustive)
    print(reduced.line())
    assert_complete(exhaustive)
    assert set(reduced.classes) == set(exhaustive.classes) and set(reduced.classes.values()) == {1}
    assert reduced.interleavings < exhaustive.interleavings and reduced.fingerprints == exhaustive.fingerprints
    assert {(c.check, c.kind) for c in reduced.counterexamples} == {
        (c.check, c.kind) for c in exhaustive.counterexamples
    }
    return exhaustive


# -- the explorer itself -----------------------------------------------------------------------


def _puts(name: str, key: str, count: int) -> Operation:
    def run() -> int:
        for value in range(count):
            call("put_item", TableName=get_settings().users_table, Item=to_item({"pk": key, "v": value}))
        return count

    return Operation(name, run)


def _explorer(operations: list[Operation], **options: object) -> Explorer:
    return Explorer(operations, final_state=lambda: None, **options)


def test_every_order_of_the_calls_runs_once(world: World) -> None:
    same = _explorer([_puts("a", "x", 3), _puts("b", "x", 2)], reduce=False).explore()
    three = _explorer([_puts("a", "x", 2), _puts("b", "x", 2), _puts("c", "x", 1)], reduce=False).explore()
    assert same.interleavings == multinomial(3, 2) == 10 and same.exhausted
    assert three.interleavings == multinomial(2, 2, 1) == 30
    assert all(count == 1 for count in three.classes.values())  # every order conflicts: its own class


def test_the_reduction_runs_one_order_of_commuting_steps(world: World) -> None:
    apart = _explorer([_puts("a", "x", 3), _puts("b", "y", 2)]).explore()
    together = _explorer([_puts("a", "x", 3), _puts("b", "x", 2)]).explore()
    assert apart.interleavings == 1 and apart.exhausted  # different items: every order is the same
    assert together.interleavings == 10  # one item: nothing commutes


def test_ties_are_decision_points_and_a_run_replays(world: World) -> None:
    def pick() -> int:
        call("get_item", TableName=get_settings().users_table, Key=to_item({"pk": "x"}))
        return TIES.choice([1, 2, 3])

    explorer = _explorer(
        [Operation("pick", pick), _puts("put", "x", 1)], fingerprint=lambda run: run.outcomes["pick"].value
    )
    report = explorer.explore()
    assert report.interleavings == 2 * 3 and report.fingerprints == {1, 2, 3}
    run = explorer.replay((1, 0, 2))  # the put first, then the pick takes the third
    assert run.complete and run.outcomes["pick"].value == 3 and run.steps[0].op == "put"


def test_code_that_decides_outside_the_schedule_is_refused(world: World) -> None:
    rng = random.Random(7)

    def erratic() -> None:
        for _ in range(rng.randint(1, 3)):  # a different number of calls on each run
            call("get_item", TableName=get_settings().users_table, Key=to_item({"pk": "x"}))

    with pytest.raises(Nondeterministic):
        _explorer([Operation("erratic", erratic), _puts("put", "x", 2)], reduce=False).explore()


# -- the service: two operations --------------------------------------------------------------


def test_two_initiates_racing_for_two_free_agents(world: World) -> None:
    """Each initiate reads the load index, picks one of the least loaded, and commits. Of the
    6 orders of the two reads and two commits, 2 are sequential (the first reader picks between
    two tied agents, the second finds one free: 2 runs each) and 4 overlap (both pick among two
    tied agents, 4 runs each; a loser retries alone): 2 * 2 + 4 * 4 = 20."""
    world.agent_online(1, max_chats=1)
    world.agent_online(2, max_chats=1)
    operations = [world.initiate(1), world.initiate(2)]
    checks = [
        world.returned("initiate c1", "initiate c2"),
        world.loads(lambda loads: loads[1] == loads[2] == 1, "one chat each"),
    ]
    report = explore_both_ways(world, operations, final_checks=checks)
    assert report.interleavings == 20
    assert not report.counterexamples


def test_initiate_racing_a_resolve_when_everyone_is_full(world: World) -> None:
    """The overflow path (read the index, read every online agent, commit with the proof that the
    other is still full) against agent 2 resolving a chat (read, commit). By where the resolve's
    commit lands: before the initiate's first read, agent 2 is free (1 run); between its reads
    (1 tie of 2, the read of the resolve in 2 places: 4); between the second read and the commit,
    which the proof refuses, and the retry takes agent 2 (2 ties of 2, 3 places: 12); after the
    overflow commit (2 ties of 2, 4 places: 16). 1 + 4 + 12 + 16 = 33."""
    world.agent_online(1, max_chats=1)
    world.agent_online(2, max_chats=1)
    world.chat(1, 1)
    world.chat(2, 2)
    operations = [world.initiate(3), world.resolve(2, 2)]
    report = explore_both_ways(world, operations, final_checks=[world.returned("initiate c3", "resolve a2 c2")])
    assert report.interleavings == 33
    assert not report.counterexamples


# -- the service: presence --------------------------------------------------------------------


def test_initiate_racing_a_login_and_the_presence_timeout(world: World) -> None:
    """Agent 1 is online and full; agent 2's heartbeat has expired (the sweep has not run yet);
    agent 3 is logging in. The initiate meets agent 2 gone (marks it offline, races the sweep
    doing the same), then overflows onto agent 1 with a proof over the agents online at its read.
    When agent 3's login lands between that read and the commit, the chat overflows although
    agent 3 has a free slot at the commit: README's admitted window ("an agent whose login has not
    yet reached the load index is not seen by an allocation"; with moto's immediate index, a login
    between the read and the commit). That must be the only kind of counterexample."""
    world.agent_online(1, max_chats=1)
    world.chat(1, 1)
    world.agent_online(2, silent=True)
    operations = [world.initiate(2), world.login(3), world.sweep()]
    report = world.explore(operations, final_checks=[world.returned("initiate c2", "login a3", "sweep")])
    show(report)
    assert_complete(report)
    assert report.interleavings >= 100  # 167 classes today; fewer would mean steps went missing
    assert not report.unexplained()
    assert report.kinds().keys() == {("allocation rules at the commit", LOGIN_UNSEEN)}
    assert all(c.message.startswith("I3: ") and "agent 3" in c.message for c in report.counterexamples)


# -- the queue (ROUTING_OVERFLOW=queue) -------------------------------------------------------


def holder(fingerprint: Any, customer_id: int) -> int | None:
    """Who holds ``customer_id``'s open chat at the end of a run (0: queued; None: no open chat)."""
    held = [agent for customer, agent, status in fingerprint[1] if customer == customer_id and status != "resolved"]
    return held[0] if held else None


def explore_queue(world: World, operations: list[Operation]) -> Report:
    names = world.returned(*(op.name for op in operations))
    report = world.explore(operations, final_checks=[names, *world.queue_checks()])
    show(report)
    assert_complete(report)
    return report


def test_a_resolve_racing_a_chat_being_queued_never_strands_it(queue_world: World) -> None:
    """The issue's careful case: agent 1 is full; customer 2's initiate queues its chat while
    agent 1 resolves customer 1's. In every order, customer 2 ends with agent 1: a resolve that
    read the queue empty commits only if nothing was queued since (else it reads again and hands
    the slot over), and a chat is queued only while agent 1 is still full."""
    world = queue_world
    world.agent_online(1, max_chats=1)
    world.chat(1, 1)
    report = explore_queue(world, [world.initiate(2), world.resolve(1, 1)])
    assert report.interleavings >= 10
    assert not report.counterexamples
    assert {holder(fp, 2) for fp in report.fingerprints} == {1}  # customer 2 -> agent 1


def test_a_login_racing_a_chat_being_queued_takes_it(queue_world: World) -> None:
    """Agent 1 is full, agent 2 logs in while customer 2's chat is being queued. The admitted
    login window of the seed's rules does not exist here: queueing commits only if no agent became
    available since it read the agents (the queue's ``freed`` counter), and the login drains
    after it counted itself in."""
    world = queue_world
    world.agent_online(1, max_chats=1)
    world.chat(1, 1)
    report = explore_queue(world, [world.initiate(2), world.login(2)])
    assert not report.counterexamples
    assert {holder(fp, 2) for fp in report.fingerprints} == {2}


def test_a_customer_leaving_the_queue_races_the_slot_that_would_take_the_chat(queue_world: World) -> None:
    world = queue_world
    world.agent_online(1, max_chats=1)
    world.chat(1, 1)
    world.queued(2)
    world.queued(3)
    report = explore_queue(world, [world.resolve(1, 1), world.leave(2)])
    assert not report.counterexamples
    # Customer 2 left the queue and customer 3 took the freed slot, or customer 2 took it and its
    # leaving freed it for customer 3: either way customer 3 ends with agent 1.
    assert {holder(fp, 3) for fp in report.fingerprints} == {1}


def test_a_transfer_back_to_the_queue_races_a_new_chat(queue_world: World) -> None:
    world = queue_world
    world.agent_online(1, max_chats=1)
    world.agent_online(2, max_chats=1)
    world.chat(1, 1)
    world.chat(2, 2)
    report = explore_queue(world, [world.transfer(1, 1, "queue"), world.initiate(3)])
    assert not report.counterexamples


# -- INTERLEAVINGS=full: three operations, three agents, four customers ----------------------


@full_only
def test_three_initiates_for_two_free_agents(world: World) -> None:
    world.agent_online(1, max_chats=1)
    world.agent_online(2, max_chats=1)
    operations = [world.initiate(1), world.initiate(2), world.initiate(3)]
    loads = world.loads(lambda loads: sorted([loads[1], loads[2]]) == [1, 2] and loads[3] == 0, "1 and 2 (overflow)")
    report = world.explore(operations, final_checks=[world.returned(*(op.name for op in operations)), loads])
    show(report)
    assert_complete(report)
    assert not report.counterexamples


@full_only
def test_two_initiates_racing_a_resolve_when_everyone_is_full(world: World) -> None:
    world.agent_online(1, max_chats=1)
    world.agent_online(2, max_chats=1)
    world.chat(1, 1)
    world.chat(2, 2)
    operations = [world.initiate(3), world.initiate(4), world.resolve(2, 2)]
    report = world.explore(operations, final_checks=[world.returned(*(op.name for op in operations))])
    show(report)
    assert_complete(report)
    assert not report.counterexamples


@full_only
def test_initiate_racing_a_logout_and_a_login(world: World) -> None:
    """Agent 1 logs out while agent 2 logs in: between them nobody is online, and a chat read
    then goes to the least loaded of all (rule 3). A login landing between that read and the
    commit is the admitted window's other face: "or go to an offline agent although that agent
    just came online"."""
    world.agent_online(1)
    operations = [world.initiate(1), world.logout(1), world.login(2)]
    report = world.explore(operations, final_checks=[world.returned(*(op.name for op in operations))])
    show(report)
    assert_complete(report)
    assert not report.unexplained()
    assert {kind for _, kind in report.kinds()} <= {LOGIN_UNSEEN}


@full_only
def test_initiate_racing_a_heartbeat_and_the_presence_timeout(world: World) -> None:
    """Agent 2, silent, sends a heartbeat while the sweep and an allocation meet it: it may come
    back between an allocation's read and its commit (README: presence windows)."""
    world.agent_online(1, max_chats=1)
    world.chat(1, 1)
    world.agent_online(2, silent=True)
    operations = [world.initiate(2), world.heartbeat(2), world.sweep()]
    report = world.explore(operations, final_checks=[world.returned(*(op.name for op in operations))])
    show(report)
    assert_complete(report)
    assert not report.unexplained()
    assert {kind for _, kind in report.kinds()} <= {HEARTBEAT_UNSEEN}


@full_only
def test_every_order_of_three_operations_against_the_reduced_search(world: World) -> None:
    world.agent_online(1)
    report = explore_both_ways(world, [world.initiate(1), world.logout(1), world.login(2)])
    assert {c.kind for c in report.counterexamples} == {LOGIN_UNSEEN}


@full_only
def test_queue_two_initiates_racing_a_resolve(queue_world: World) -> None:
    world = queue_world
    world.agent_online(1, max_chats=1)
    world.agent_online(2, max_chats=1)
    world.chat(1, 1)
    world.chat(2, 2)
    report = explore_queue(world, [world.initiate(3), world.initiate(4), world.resolve(2, 2)])
    assert not report.counterexamples


@full_only
def test_queue_transfer_to_an_agent_racing_a_leave_and_a_login(queue_world: World) -> None:
    world = queue_world
    world.agent_online(1, max_chats=1)
    world.agent_online(2, max_chats=1)
    world.chat(1, 1)
    world.queued(2)
    report = explore_queue(world, [world.transfer(1, 1, 2), world.leave(2), world.login(3)])
    assert not report.counterexamples


@full_only
def test_queue_an_agent_logging_out_racing_a_new_chat_and_a_login(queue_world: World) -> None:
    """ON_AGENT_OFFLINE=requeue: agent 1's chat goes back to the head of the queue, or to agent 2
    logging in; a new chat races both."""
    world = queue_world
    world.agent_online(1, max_chats=1)
    world.chat(1, 1)
    report = explore_queue(world, [world.logout(1), world.initiate(2), world.login(2)])
    assert not report.unexplained()
