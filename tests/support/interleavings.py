"""Every interleaving of a few operations at their store calls: a deterministic scheduler for
stateless model checking against moto (tests only).

**How it works.** Each operation is a plain callable that calls the real service
(``channels.initiate``, ``sessions.login``, ``presence.sweep``, ...). It runs in its
own thread, but only one thread runs at a time: a hook on the store's botocore
client (``provide-client-params.dynamodb``, which every ``chalicelib.store.dynamo``
call passes) parks the calling thread *before* each DynamoDB call and hands
control back to the scheduler. A **step** is one operation's pending call plus
its own code up to its next call (or its end), so the store sees calls in exactly
the order the scheduler picks. Ties in the allocation are decision points too
(``TIES``: pass it as the service's ``rng`` and patch ``chalicelib.allocation._TIES``
with it): every tied agent is tried, not a random one.

The explorer runs a depth-first search over schedules (the sequence of choices
at every decision point), re-running every schedule from the same database
(moto's tables restored in memory, ``MotoTables``) until every schedule has run.
After each step that writes a table a step check observes, the step checks see
the observed state before and after it (the only place where "at the moment of
the commit" can be checked); after each complete run the final checks see the
final state and every operation's outcome.

**Every order, or every order up to commuting steps.** ``reduce=False`` runs
every order of the steps (for two operations of ``a`` and ``b`` calls that never
retry: ``C(a+b, a)`` runs). ``reduce=True`` (the default) runs one order of each
class of orders that differ only by swapping adjacent steps of different
operations that touch different items (by the keys in their calls; a query or
scan touches its whole table, an unknown call everything): such a swap changes
no call's result, so no outcome and no final state (a Mazurkiewicz trace). The
search is Source-DPOR with sleep sets (Abdulla, Aronis, Jonsson, Sagonas,
"Optimal dynamic partial order reduction", POPL 2014): it explores every class
(proven there), and sleep sets keep it from running one class twice. A step
check makes the steps it looks at depend on every write to the tables it
observes, so its verdicts are the same on every order of a class.
``Run.equivalence_class()`` names a run's class; the tests check on small
configurations that the reduced search runs each class of the exhaustive one
exactly once.

**Adding an operation** (say, ``leave``): a ``Operation(name, callable)`` (or a
``(name, callable)`` pair) calling the service; nothing else. Its calls are
found by the hook. Give it ``sleep=lambda s: None`` and ``rng=TIES`` if the
service takes them, so it neither sleeps nor draws at random.

**Adding an invariant**: a ``FinalCheck(name, check)`` where ``check(run)``
yields a message (or a ``Violation``) for every breach it sees in ``run.final``
and ``run.outcomes``; or, for a property of the moment of a step (a queue
invariant such as "no queued chat while an online agent has a free slot"), a
``StepCheck(name, observes, check)`` where ``observes`` names the tables it
looks at and ``check(step, run)`` reads ``step.before`` / ``step.after`` (what
the explorer's ``observe`` returned; extend ``observe`` to read what it needs)
and ``run.steps`` (the history). A ``Violation`` may name the admitted window
that explains it (``kind``); one without is unexplained.
"""

from __future__ import annotations

import copy
import json
import os
import threading
import time
from collections import Counter as Tally
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from chalicelib.errors import DomainError
from chalicelib.store.dynamo import from_item, get_client

# A step that does not come back (an operation blocked outside the store) fails the run after this long.
STEP_TIMEOUT_SECONDS = 60.0
ANY = "*"

# -- operations and checks ----------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One operation in flight: ``run()`` calls the real service (its outcome is what it returns or raises)."""

    name: str
    run: Callable[[], Any]


@dataclass(frozen=True)
class Violation:
    check: str
    message: str
    kind: str | None = None  # the admitted window that explains it; None: unexplained


@dataclass(frozen=True)
class FinalCheck:
    """A property of the state after a complete run: ``check(run)`` yields messages or ``Violation``s."""

    name: str
    check: Callable[[Run], Iterable[str | Violation]]


def _every_write(_call: str, _params: dict[str, Any]) -> bool:
    return True


@dataclass(frozen=True)
class StepCheck:
    """A property of the moment of a step: called after every step that writes one of the
    ``observes`` tables (and, if given, that ``when(call, params)`` selects), with
    ``step.before`` / ``step.after`` (the explorer's ``observe``). Such a step depends on every
    write to the observed tables: the fewer steps ``when`` selects, the more orders commute."""

    name: str
    observes: frozenset[str]
    check: Callable[[Step, Run], Iterable[str | Violation]]
    when: Callable[[str, dict[str, Any]], bool] = _every_write

    def looks_at(self, call: _Call, found: Footprint) -> bool:
        return found.writes_table(self.observes) and self.when(call.name, call.params)


# -- what one run is made of ---------------------------------------------------


@dataclass(frozen=True)
class Step:
    index: int
    op: str  # the operation's name
    call: str  # the DynamoDB operation, e.g. "TransactWriteItems"
    params: dict[str, Any]  # its API parameters (DynamoDB JSON)
    result: str  # "ok", or the error code (and a cancelled transaction's reasons)
    before: Any  # observe() right before the call, and right after the step
    after: Any


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None
    abandoned: bool = False

    def describe(self) -> str:
        if self.abandoned:
            return "abandoned"
        if self.error is None:
            return f"returned {_short(self.value)}"
        code = getattr(self.error, "code", "")
        return f"raised {type(self.error).__name__}({code or self.error})"

    @property
    def answered(self) -> bool:
        """Returned, or raised a domain error (what the API turns into a 4xx/503 answer)."""
        return not self.abandoned and (self.error is None or isinstance(self.error, DomainError))


@dataclass
class Run:
    schedule: tuple[int, ...] = ()  # the choice at every decision point: replay(schedule) runs it again
    steps: list[Step] = field(default_factory=list)
    trace: list[str] = field(default_factory=list)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    final: Any = None
    violations: list[Violation] = field(default_factory=list)
    complete: bool = False
    # Per step: the operation's index, what its call touches, the ties it broke.
    dependencies: list[tuple[int, Footprint, tuple[int, ...]]] = field(default_factory=list)

    def equivalence_class(self) -> tuple[Any, ...]:
        """The same for every run that only swaps adjacent independent steps (a Mazurkiewicz
        trace): its steps in the least order (by operation) their dependencies allow."""
        steps = self.dependencies
        preds = [
            {i for i in range(j) if steps[i][0] == steps[j][0] or steps[i][1].conflicts(steps[j][1])}
            for j in range(len(steps))
        ]
        placed: list[int] = []
        left = set(range(len(steps)))
        while left:
            ready = [j for j in left if not preds[j] & left]
            j = min(ready, key=lambda k: (steps[k][0], k))
            placed.append(j)
            left.discard(j)
        return tuple((steps[j][0], steps[j][2]) for j in placed)

    def describe(self) -> str:
        lines = [*self.trace, *(f"  {name}: {o.describe()}" for name, o in self.outcomes.items())]
        return "\n".join(lines)


@dataclass(frozen=True)
class Counterexample:
    check: str
    message: str
    kind: str | None
    schedule: tuple[int, ...]
    trace: str

    def describe(self) -> str:
        kind = f"admitted window: {self.kind}" if self.kind else "UNEXPLAINED"
        return f"[{self.check}] {self.message}\n  ({kind}; schedule {list(self.schedule)})\n{self.trace}"


@dataclass
class Report:
    operations: list[str]
    reduced: bool
    interleavings: int = 0  # complete runs, each checked
    pruned: int = 0  # runs stopped early: every operation left was asleep (an equivalent order ran already)
    truncated: int = 0  # runs cut at max_steps (an operation that never ends)
    exhausted: bool = False  # every schedule ran (not stopped by max_runs)
    seconds: float = 0.0
    steps: Tally = field(default_factory=Tally)  # steps per complete run -> how many runs
    classes: Tally = field(default_factory=Tally)  # Run.equivalence_class() -> how many runs
    counterexamples: list[Counterexample] = field(default_factory=list)
    fingerprints: set[Hashable] = field(default_factory=set)

    def kinds(self) -> Tally:
        """Counterexamples by (check, admitted window or None)."""
        return Tally((c.check, c.kind) for c in self.counterexamples)

    def unexplained(self) -> list[Counterexample]:
        return [c for c in self.counterexamples if c.kind is None]

    def line(self) -> str:
        how = "one per class of orders equal up to commuting steps" if self.reduced else "every order"
        extra = f", {self.pruned} stopped as redundant" if self.pruned else ""
        found = f"; {len(self.counterexamples)} counterexamples" if self.counterexamples else ""
        return (
            f"explored {self.interleavings} interleavings ({how}{extra}) of {', '.join(self.operations)} "
            f"in {self.seconds:.1f}s{found}"
        )


# -- what a store call touches -------------------------------------------------

Cell = tuple[str, str]  # (table, key as JSON); ANY for every item of the table (or every table)


@dataclass(frozen=True)
class Footprint:
    reads: frozenset[Cell]
    writes: frozenset[Cell]

    def conflicts(self, other: Footprint) -> bool:
        """Dependent: one writes what the other reads or writes."""
        return _meet(self.writes, other.reads | other.writes) or _meet(other.writes, self.reads)

    def writes_table(self, tables: frozenset[str]) -> bool:
        return any(table == ANY or table in tables for table, _ in self.writes)

    def reading(self, tables: frozenset[str]) -> Footprint:
        return Footprint(self.reads | {(t, ANY) for t in tables}, self.writes)


def _meet(a: frozenset[Cell], b: frozenset[Cell]) -> bool:
    return any((ta == tb or ANY in (ta, tb)) and (ka == kb or ANY in (ka, kb)) for ta, ka in a for tb, kb in b)


def footprint(call: str, params: dict[str, Any], key_names: dict[str, tuple[str, ...]]) -> Footprint:
    """The items one DynamoDB call may read and write (a query or scan: its whole table;
    an operation not known here: everything)."""
    reads: set[Cell] = set()
    writes: set[Cell] = set()

    def cell(table: str, item: dict[str, Any]) -> Cell:
        names = key_names.get(table)
        if names is None:
            return (table, ANY)
        return (table, json.dumps([item.get(n) for n in names], sort_keys=True))

    if call == "GetItem":
        reads.add(cell(params["TableName"], params["Key"]))
    elif call == "PutItem":
        writes.add(cell(params["TableName"], params["Item"]))
    elif call in ("UpdateItem", "DeleteItem"):
        writes.add(cell(params["TableName"], params["Key"]))
    elif call == "BatchGetItem":
        reads.update(cell(t, key) for t, spec in params["RequestItems"].items() for key in spec["Keys"])
    elif call == "TransactGetItems":
        reads.update(cell(i["Get"]["TableName"], i["Get"]["Key"]) for i in params["TransactItems"])
    elif call == "TransactWriteItems":
        for item in params["TransactItems"]:
            ((kind, request),) = item.items()
            target = cell(request["TableName"], request.get("Key") or request["Item"])
            (reads if kind == "ConditionCheck" else writes).add(target)
    elif call == "BatchWriteItem":
        for table, requests in params["RequestItems"].items():
            for request in requests:
                ((kind, body),) = request.items()
                writes.add(cell(table, body.get("Key") or body.get("Item", {})))
    elif call in ("Query", "Scan"):
        reads.add((params["TableName"], ANY))
    else:
        reads.add((ANY, ANY))
        writes.add((ANY, ANY))
    return Footprint(frozenset(reads), frozenset(writes))


# -- moto's tables, read and restored in memory ----------------------------------


class MotoTables:
    """The DynamoDB tables of the running ``mock_aws``, read and restored without API calls
    (an API round trip through moto costs milliseconds; these cost microseconds)."""

    def __init__(self, region: str | None = None) -> None:
        region = region or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
        self._backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][region]

    def key_names(self) -> dict[str, tuple[str, ...]]:
        return {
            name: tuple(k for k in (table.hash_key_attr, table.range_key_attr) if k)
            for name, table in self._backend.tables.items()
        }

    def items(self, table: str) -> list[dict[str, Any]]:
        """Every item of ``table`` as Python values (whole numbers as ``int``)."""
        return [from_item(item.to_json()["Attributes"]) for item in self._backend.tables[table].all_items()]

    def capture(self) -> dict[str, Any]:
        """Every table's items, to ``restore`` later. Stream records are dropped (here and on every
        restore): nothing reads them in an exploration, and moto copies every table a transaction
        touches, records included, so they would make every commit slower."""
        for table in self._backend.tables.values():
            if table.stream_shard is not None:
                table.stream_shard.items.clear()
        return {name: copy.deepcopy(table.items) for name, table in self._backend.tables.items()}

    def restore(self, saved: dict[str, Any]) -> None:
        for name, items in saved.items():
            table = self._backend.tables[name]
            table.items = copy.deepcopy(items)
            if table.stream_shard is not None:
                table.stream_shard.items.clear()


# -- ties -----------------------------------------------------------------------


class Ties:
    """A stand-in for ``random.Random`` whose ``choice`` is a decision point of the run in
    progress (every alternative is explored); outside a run, or when ties are not explored,
    the first. ``uniform`` (backoff jitter) is its lower bound."""

    def __init__(self) -> None:
        self.explorer: Explorer | None = None

    def choice(self, seq: Sequence[Any]) -> Any:
        explorer = self.explorer
        if explorer is None or len(seq) < 2:
            return seq[0]
        return seq[explorer.tie(seq)]

    def uniform(self, a: float, _b: float) -> float:
        return a

    def random(self) -> float:
        return 0.0


TIES = Ties()


# -- the scheduler ----------------------------------------------------------------


class Nondeterministic(AssertionError):
    """A re-run did not reach the same decision point: something outside the schedule (time,
    randomness, another thread) decided. The explorer cannot enumerate such code."""


class _Abandon(BaseException):
    """Raised in an operation's thread at its next store call to end a run early (passes every
    ``except Exception``)."""


@dataclass(frozen=True)
class _Call:
    name: str
    params: dict[str, Any]


class _Worker:
    def __init__(self, index: int, op: Operation, explorer: Explorer) -> None:
        self.index = index
        self.op = op
        self.explorer = explorer
        self.go = threading.Semaphore(0)
        self.pending: _Call | None = None
        self.result = "ok"
        self.notes: list[str] = []
        self.ties: list[int] = []  # tie choices in the current step
        self.done = False
        self.outcome = Outcome(abandoned=True)
        self.thread = threading.Thread(target=self._main, name=f"op {op.name}", daemon=True)

    def _main(self) -> None:
        self.explorer._workers[threading.get_ident()] = self  # before its first store call
        try:
            self.outcome = Outcome(value=self.op.run())
        except _Abandon:
            self.outcome = Outcome(abandoned=True)
        except BaseException as error:  # every outcome is recorded; the checks judge it
            self.outcome = Outcome(error=error)
        finally:
            self.done = True
            self.pending = None
            self.explorer._back.release()

    def park(self, call: _Call) -> None:
        """In the operation's thread, before a store call: wait until the scheduler picks it."""
        self.pending = call
        self.explorer._back.release()
        self.go.acquire()
        if self.explorer._abandoning:
            raise _Abandon()
        self.result = "ok"


@dataclass
class _Node:
    kind: str  # "op": which operation takes the next step; "tie": which of the tied
    options: tuple[int, ...]
    shape: tuple[str, ...]  # what each option is (the determinism check on re-runs)
    chosen: int
    done: set[int]  # options explored (or being explored)
    backtrack: set[int]  # options to explore: every one, or (op nodes, reduced) those a race asks for
    analyzed: set[int] = field(default_factory=set)  # op nodes: options whose step's races were analyzed
    sleep: frozenset[int] = frozenset()  # op nodes: operations whose step here is known to be redundant
    footprints: dict[int, Footprint] = field(default_factory=dict)  # op nodes: each option's pending step


@dataclass(frozen=True)
class _Executed:
    """A step of the current run, for the race analysis."""

    op: int
    footprint: Footprint
    node: _Node  # the decision point that chose it
    after: frozenset[int]  # the steps it happens after (same operation, or dependent, transitively)


class Explorer:
    """Runs every schedule of ``operations`` from the database as it is when ``explore`` starts."""

    def __init__(
        self,
        operations: Sequence[Operation | tuple[str, Callable[[], Any]]],
        *,
        final_state: Callable[[], Any],
        final_checks: Sequence[FinalCheck] = (),
        observe: Callable[[], Any] | None = None,
        step_checks: Sequence[StepCheck] = (),
        reduce: bool = True,
        ties: bool = True,
        before_each: Callable[[], None] | None = None,
        fingerprint: Callable[[Run], Hashable] | None = None,
        label: Callable[[Any], str] = repr,
        max_steps: int = 80,
        max_runs: int | None = None,
        tables: MotoTables | None = None,
    ) -> None:
        self.operations = [op if isinstance(op, Operation) else Operation(*op) for op in operations]
        names = [op.name for op in self.operations]
        if len(set(names)) != len(names):
            raise ValueError(f"operation names must differ: {names}")
        self.final_state = final_state
        self.final_checks = list(final_checks)
        self.observe = observe or (lambda: None)
        self.step_checks = list(step_checks)
        self.reduce = reduce
        self.ties = ties
        self.before_each = before_each
        self.fingerprint = fingerprint
        self.label = label
        self.max_steps = max_steps
        self.max_runs = max_runs
        self.tables = tables or MotoTables()
        self._back = threading.Semaphore(0)
        self._abandoning = False
        self._workers: dict[int, _Worker] = {}  # thread id -> worker, during a run
        self._path: list[_Node] = []
        self._cursor = 0
        self._forced: tuple[int, ...] | None = None
        self._last_op_node: _Node | None = None
        self._executed: list[_Executed] = []
        self._current: _Worker | None = None
        self._key_names: dict[str, tuple[str, ...]] = {}
        self._baseline: dict[str, Any] = {}

    # -- public ----------------------------------------------------------------

    def explore(self) -> Report:
        """Run every schedule (or ``max_runs``); check each; return the counts and counterexamples."""
        report = Report([op.name for op in self.operations], reduced=self.reduce)
        started = time.monotonic()
        with self._installed():
            self._path = []
            while True:
                run = self._execute()
                if run.complete:
                    report.interleavings += 1
                    report.steps[len(run.steps)] += 1
                    report.classes[run.equivalence_class()] += 1
                    if self.fingerprint is not None:
                        report.fingerprints.add(self.fingerprint(run))
                    report.counterexamples.extend(
                        Counterexample(v.check, v.message, v.kind, run.schedule, run.describe()) for v in run.violations
                    )
                elif len(run.steps) >= self.max_steps:
                    report.truncated += 1
                else:
                    report.pruned += 1
                if not self._backtrack():
                    report.exhausted = True
                    break
                if self.max_runs is not None and report.interleavings + report.pruned >= self.max_runs:
                    break
        report.seconds = time.monotonic() - started
        return report

    def replay(self, schedule: Sequence[int]) -> Run:
        """Run one schedule again (as a counterexample names it) and check it."""
        with self._installed():
            self._path = []
            self._forced = tuple(schedule)
            try:
                return self._execute()
            finally:
                self._forced = None

    def tie(self, seq: Sequence[Any]) -> int:
        """In an operation's thread: which of the tied ``seq`` it takes (a decision point)."""
        if not self.ties or self._current is None:
            return 0
        labels = tuple(self.label(x) for x in seq)
        chosen = self._decide("tie", tuple(range(len(seq))), labels, {}, frozenset())
        assert chosen is not None
        self._current.ties.append(chosen)
        self._current.notes.append(f"      {self._current.op.name} takes {labels[chosen]} (tied: {', '.join(labels)})")
        return chosen

    # -- one run -----------------------------------------------------------------

    def _execute(self) -> Run:
        self.tables.restore(self._baseline)
        if self.before_each is not None:
            self.before_each()
        self._cursor = 0
        self._last_op_node = None
        self._executed = []
        self._abandoning = False
        run = Run()
        workers = [_Worker(i, op, self) for i, op in enumerate(self.operations)]
        try:
            for worker in workers:  # each runs its own code up to its first store call
                self._current = worker
                worker.thread.start()
                self._wait(worker)
            state = self.observe()
            while True:
                enabled = [w for w in workers if not w.done]
                if not enabled:
                    run.complete = True
                    break
                if len(run.steps) >= self.max_steps:
                    break
                footprints = {w.index: self._footprint(w) for w in enabled}
                options = tuple(w.index for w in enabled)
                shape = tuple(f"{w.op.name}:{w.pending.name}" for w in enabled if w.pending)
                chosen = self._decide("op", options, shape, footprints, self._sleep_after(self._last_op_node))
                if chosen is None:
                    break  # every operation left is asleep: an equivalent schedule ran already
                self._record(chosen, footprints[chosen])
                worker = workers[chosen]
                call = worker.pending
                assert call is not None
                worker.notes = []
                worker.ties = []
                self._current = worker
                worker.go.release()
                self._wait(worker)
                after = self.observe()
                step = Step(len(run.steps), worker.op.name, call.name, call.params, worker.result, state, after)
                run.steps.append(step)
                run.trace.append(f"  #{step.index} {step.op}: {_describe_call(call)} -> {step.result}")
                run.trace.extend(worker.notes)
                run.dependencies.append((chosen, footprints[chosen], tuple(worker.ties)))
                state = after
                for check in self.step_checks:
                    if check.looks_at(call, footprints[chosen]):
                        run.violations.extend(_violations(check.name, check.check(step, run)))
        finally:
            self._current = None
            self._abandon(workers)
        run.schedule = tuple(node.chosen for node in self._path[: self._cursor])
        run.outcomes = {w.op.name: w.outcome for w in workers}
        if run.complete:
            run.final = self.final_state()
            for final in self.final_checks:
                run.violations.extend(_violations(final.name, final.check(run)))
        return run

    def _wait(self, worker: _Worker) -> None:
        if not self._back.acquire(timeout=STEP_TIMEOUT_SECONDS):
            raise RuntimeError(f"{worker.op.name} reached neither a store call nor its end in {STEP_TIMEOUT_SECONDS}s")

    def _abandon(self, workers: list[_Worker]) -> None:
        """End every operation still parked (it raises ``_Abandon`` at its store call)."""
        self._abandoning = True
        for worker in workers:
            if worker.thread.ident is not None and not worker.done:
                worker.go.release()
                self._wait(worker)
        for worker in workers:
            worker.thread.join(STEP_TIMEOUT_SECONDS)
        self._workers.clear()
        self._abandoning = False

    def _footprint(self, worker: _Worker) -> Footprint:
        call = worker.pending
        assert call is not None
        found = footprint(call.name, call.params, self._key_names)
        for check in self.step_checks:
            if check.looks_at(call, found):
                # A step check looks at the whole observed state at this step: it depends on every write there.
                found = found.reading(check.observes)
        return found

    # -- the search ---------------------------------------------------------------

    def _decide(
        self,
        kind: str,
        options: tuple[int, ...],
        shape: tuple[str, ...],
        footprints: dict[int, Footprint],
        sleep: frozenset[int],
    ) -> int | None:
        if self._cursor < len(self._path):  # re-running the prefix of the schedule
            node = self._path[self._cursor]
            if (node.kind, node.options, node.shape) != (kind, options, shape):
                raise Nondeterministic(
                    f"decision {self._cursor}: expected {node.kind} {node.shape}, found {kind} {shape}"
                )
            node.footprints = footprints
        else:
            if self._forced is not None and self._cursor < len(self._forced):
                available = [self._forced[self._cursor]]
                if available[0] not in options:
                    raise Nondeterministic(
                        f"the schedule's decision {self._cursor} ({available[0]}) is not one of the options {options}"
                    )
            else:
                available = [o for o in options if kind == "tie" or o not in sleep]
            if not available:
                return None
            every = kind == "tie" or not self.reduce
            backtrack = set(options) if every else {available[0]}
            node = _Node(
                kind, options, shape, available[0], {available[0]}, backtrack, sleep=sleep, footprints=footprints
            )
            self._path.append(node)
        self._cursor += 1
        if kind == "op":
            self._last_op_node = node
        return node.chosen

    def _sleep_after(self, parent: _Node | None) -> frozenset[int]:
        """Operations whose pending step need not run next: it was explored before (or was asleep)
        at the parent, and it commutes with the step taken there."""
        if parent is None or not self.reduce:
            return frozenset()
        taken = parent.footprints[parent.chosen]
        candidates = (parent.sleep | parent.done) - {parent.chosen}
        return frozenset(o for o in candidates if o in parent.footprints and not parent.footprints[o].conflicts(taken))

    def _record(self, op: int, found: Footprint) -> None:
        """The step just chosen, with the steps it happens after (its operation's, and those it
        depends on, transitively); a step taken at its decision point for the first time has its
        races analyzed."""
        after: set[int] = set()
        for index, step in enumerate(self._executed):
            if step.op == op or step.footprint.conflicts(found):
                after |= step.after | {index}
        node = self._last_op_node
        assert node is not None
        self._executed.append(_Executed(op, found, node, frozenset(after)))
        if self.reduce and self._forced is None and op not in node.analyzed:
            node.analyzed.add(op)
            self._races(len(self._executed) - 1)

    def _races(self, new: int) -> None:
        """Source-DPOR (Abdulla, Aronis, Jonsson, Sagonas, POPL 2014): for every race of the new
        step (an earlier step of another operation it depends on directly, with no step between
        them in the happens-before order), the decision point before the earlier step must also
        let one of the operations go first that can start the reversed order: the first steps of
        what follows the earlier step without depending on it, then the new step."""
        executed = self._executed
        step = executed[new]
        for index in step.after:
            earlier = executed[index]
            if earlier.op == step.op or not earlier.footprint.conflicts(step.footprint):
                continue
            if any(index in executed[k].after for k in step.after if k > index):
                continue  # not a race: ordered through a step between them
            rest = [k for k in range(index + 1, new) if index not in executed[k].after] + [new]
            initials = {
                executed[k].op for position, k in enumerate(rest) if not executed[k].after & set(rest[:position])
            }
            node = earlier.node
            if not initials & node.backtrack:
                awake = initials - node.sleep
                node.backtrack.add(min(awake or initials))

    def _backtrack(self) -> bool:
        """Move to the next unexplored choice of the deepest decision point that has one."""
        while self._path:
            node = self._path[-1]
            for option in sorted(node.backtrack):
                if option in node.done or (node.kind == "op" and option in node.sleep):
                    continue
                node.chosen = option
                node.done.add(option)
                return True
            self._path.pop()
        return False

    # -- hooks ----------------------------------------------------------------------

    def _before_call(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        worker = self._workers.get(threading.get_ident())
        if worker is not None:
            worker.park(_Call(model.name, copy.deepcopy(params)))

    def _after_call(self, parsed: dict[str, Any], **_: Any) -> None:
        worker = self._workers.get(threading.get_ident())
        if worker is not None:
            worker.result = _result(parsed)

    def _installed(self) -> _Installed:
        return _Installed(self)


class _Installed:
    """The hooks on the store's client, the baseline of the tables, and ``TIES`` bound to the explorer."""

    def __init__(self, explorer: Explorer) -> None:
        self.explorer = explorer

    def __enter__(self) -> None:
        explorer = self.explorer
        explorer._key_names = explorer.tables.key_names()
        explorer._baseline = explorer.tables.capture()
        events = get_client().meta.events
        events.register("provide-client-params.dynamodb", explorer._before_call)
        events.register("after-call.dynamodb", explorer._after_call)
        TIES.explorer = explorer

    def __exit__(self, *_: object) -> None:
        explorer = self.explorer
        TIES.explorer = None
        events = get_client().meta.events
        events.unregister("provide-client-params.dynamodb", explorer._before_call)
        events.unregister("after-call.dynamodb", explorer._after_call)
        explorer.tables.restore(explorer._baseline)


# -- helpers ------------------------------------------------------------------------


def _violations(check: str, found: Iterable[str | Violation]) -> list[Violation]:
    return [v if isinstance(v, Violation) else Violation(check, v) for v in found]


def _result(parsed: dict[str, Any]) -> str:
    error = parsed.get("Error")
    if not error:
        return "ok"
    reasons = parsed.get("CancellationReasons")
    if reasons:
        return f"{error.get('Code')} [{', '.join(r.get('Code', '?') for r in reasons)}]"
    return str(error.get("Code"))


def _describe_call(call: _Call) -> str:
    params = call.params
    if call.name == "TransactWriteItems":
        parts = [
            f"{kind} {_key_text(request.get('Key') or request['Item'])}"
            for item in params["TransactItems"]
            for kind, request in item.items()
        ]
        return f"{call.name}({'; '.join(parts)})"
    if call.name == "BatchGetItem":
        keys = [_key_text(k) for spec in params["RequestItems"].values() for k in spec["Keys"]]
        return f"{call.name}({', '.join(keys)})"
    if call.name in ("Query", "Scan"):
        return f"{call.name}({params.get('IndexName', params['TableName'])})"
    key = params.get("Key") or params.get("Item")
    return f"{call.name}({_key_text(key) if key else ''})"


def _key_text(key: dict[str, Any]) -> str:
    values = [next(iter(v.values())) for k, v in key.items() if k in ("pk", "sk")]
    return "/".join(str(v) for v in values if v != "channel")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
