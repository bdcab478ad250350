"""Model-based test of the queue (moto): ``ROUTING_OVERFLOW=queue`` and ``ON_AGENT_OFFLINE=requeue``.

The machine of ``test_model`` (logins, logouts, heartbeats, time passing,
the sweep, capacity, initiate, send, resolve, history) learns the queue:
queued chats and their positions, draining into every slot that frees
(resolve, leave, transfer away, more capacity, a login, back from away or
from a silence), leaving, transfers to an agent and back to the queue, and
the reassignment of an offline agent's chats. The model predicts every
answer; where the service may choose among ties (which agent takes a moved
chat) the model checks the choice was allowed and learns it. After every
step, besides the invariants: no chat waits while an available agent has a
free slot, and the queue is in the model's order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule, run_state_machine_as_test

from chalicelib import allocation
from chalicelib import store as store_module
from tests.integration.test_model import AGENTS, CUSTOMERS, ChatMachine, Model
from tests.support import invariants
from tests.support.ties import LowestIdFirst

NEW, HEAD = 1, 0
# What the runs exercised, across examples (the test fails if a feature was never reached).
SEEN: Counter[str] = Counter()


@dataclass
class Entry:
    customer: int
    priority: int
    seq: int
    declined_by: int | None = None


@dataclass
class QueueModel(Model):
    queue: list[Entry] = field(default_factory=list)
    seq: int = 0

    def cap_of(self, agent: int) -> int:
        return self.max_chats.get(agent, self.cap)

    def free(self, agent: int, extra: int = 0) -> bool:
        return agent in self.available() and self.load[agent] - extra < self.cap_of(agent)

    def ordered(self) -> list[Entry]:
        return sorted(self.queue, key=lambda e: (e.priority, e.seq))

    def first_for(self, agent: int) -> Entry | None:
        return next((e for e in self.ordered() if e.declined_by != agent), None)

    def enqueue(self, customer: int, priority: int, declined_by: int | None = None) -> None:
        self.seq += 1
        self.queue.append(Entry(customer, priority, self.seq, declined_by))
        self.active[customer] = None
        self.messages[customer] = self.messages.get(customer, 0) + 1  # the "queued"/"requeued" entry

    def take(self, agent: int, entry: Entry) -> None:
        SEEN["drained"] += 1
        self.queue.remove(entry)
        self.active[entry.customer] = agent
        self.messages[entry.customer] += 1  # the "assigned" entry

    def drain(self, agent: int) -> None:
        while self.free(agent) and (entry := self.first_for(agent)) is not None:
            self.take(agent, entry)
            self.load[agent] += 1

    def free_slot(self, agent: int) -> None:
        """One of ``agent``'s chats ended or moved away: the first entry it may take takes the slot."""
        entry = self.first_for(agent) if self.free(agent, extra=1) else None
        if entry is not None:
            self.take(agent, entry)
        else:
            self.load[agent] -= 1

    def below_cap(self, exclude: int | None = None) -> set[int]:
        """Who may take a chat now (rule 1, least loaded; ties: any)."""
        below = [a for a in self.available() if a != exclude and self.load[a] < self.cap_of(a)]
        least = min((self.load[a] for a in below), default=None)
        return {a for a in below if self.load[a] == least}

    def position(self, customer: int) -> int:
        return next(i for i, e in enumerate(self.ordered(), 1) if e.customer == customer)


class QueueMachine(ChatMachine):
    def __init__(self) -> None:
        super().__init__()
        base = self.model
        self.model = QueueModel(cap=base.cap, timeout=base.timeout, now=base.now)
        # Ties broken the same way on every replay (the model accepts any tied agent anyway).
        self.real_ties = allocation._TIES
        allocation._TIES = LowestIdFirst()

    def teardown(self) -> None:
        allocation._TIES = self.real_ties
        super().teardown()

    @precondition(lambda self: any(self.model.load[a] for a in AGENTS))
    @rule(data=st.data())
    def supervisor_forces_offline(self, data: st.DataObject) -> None:
        agent = data.draw(st.sampled_from([a for a in AGENTS if self.model.load[a]]))
        held = self._chats_of(agent)
        reply = self.api.request(
            "PUT", f"/supervisor/1/agents/{agent}", token=self.supervisor, form={"status": "offline"}
        )
        assert reply.status == 200 and reply.body["status"] == "offline", reply.body
        self.model.status[agent] = "offline"
        self.model.sessions[agent].clear()
        token = self.tokens.pop(("agent", agent), None)
        if token:
            self.revoked.append(("agent", agent, token))
        self._went_offline(agent, held)

    # -- chats --------------------------------------------------------------

    @rule(customer=st.sampled_from(CUSTOMERS))
    def customer_arrives(self, customer: int) -> None:
        """A customer logs in and opens a chat at once (the queue fills within a few steps)."""
        reply = self.api.login("customer", customer)
        assert reply.status == 200
        self.tokens[("customer", customer)] = reply.body["token"]
        self._initiate(customer, reply.body["token"])

    @precondition(lambda self: any(role == "customer" for role, _ in self.tokens))
    @rule(data=st.data())
    def initiate(self, data: st.DataObject) -> None:
        self._initiate(*self._customer_token(data))

    def _initiate(self, customer: int, token: str) -> None:
        acceptable = self.model.below_cap()
        reply = self.api.initiate(customer, token)
        if customer in self.model.active:
            assert reply.status == 409 and reply.error["code"] == "active_chat_exists"
            return
        assert reply.status == 201, reply.body
        self._learn_expired_by_allocation()
        if acceptable:
            agent = reply.body["agent_id"]
            assert agent in acceptable, (agent, acceptable, self.model)
            self.model.active[customer] = agent
            self.model.load[agent] += 1
            self.model.messages[customer] = 0
        else:
            assert reply.body["status"] == "queued", (reply.body, self.model)
            SEEN["queued"] += 1
            self.model.enqueue(customer, NEW)
            assert reply.body["queue_position"] == self.model.position(customer)

    @precondition(lambda self: any(role == "customer" for role, _ in self.tokens))
    @rule(data=st.data())
    def leave(self, data: st.DataObject) -> None:
        customer, token = self._customer_token(data)
        reply = self.api.request("POST", f"/customer/{customer}/chat/leave", token=token)
        if customer not in self.model.active:
            assert reply.status == 409 and reply.error["code"] == "no_active_chat"
            return
        assert reply.status == 200 and reply.body["ended_by"] == "customer", reply.body
        agent = self.model.active.pop(customer)
        SEEN["left the queue" if agent is None else "left an agent"] += 1
        del self.model.messages[customer]
        if agent is None:
            self.model.queue = [e for e in self.model.queue if e.customer != customer]
        else:
            self.model.free_slot(agent)

    @precondition(lambda self: any(role == "agent" for role, _ in self.tokens))
    @rule(data=st.data())
    def transfer(self, data: st.DataObject) -> None:
        agent = data.draw(st.sampled_from(sorted(a for (role, a) in self.tokens if role == "agent")))
        # Mostly one of its own chats (a random customer's is almost never its own), and often an
        # agent that can take it (a random one mostly cannot).
        customer = data.draw(st.sampled_from(sorted(self._chats_of(agent)) or CUSTOMERS))
        free = [a for a in AGENTS if a != agent and self.model.free(a)]
        to = data.draw(st.sampled_from([*free, *free, *free, *AGENTS, "queue"]))
        form = {"customer_id": customer, **({"to": "queue"} if to == "queue" else {"to_agent_id": to})}
        acceptable = self.model.below_cap(exclude=agent)
        reply = self.api.request(
            "POST", f"/agent/{agent}/chat/transfer", token=self.tokens[("agent", agent)], form=form
        )
        owner = self.model.active.get(customer, "none")
        if owner == "none":
            assert reply.status == 409 and reply.error["code"] == "no_active_chat", reply.body
            return
        if owner != agent:
            assert reply.status == 403, reply.body
            return
        if to == agent:
            assert reply.status == 400, reply.body
            return
        if to != "queue" and not self.model.free(to):
            assert reply.status == 409 and reply.error["code"] == "agent_unavailable", reply.body
            return
        assert reply.status == 200, reply.body
        SEEN[f"transfer to {'queue' if to == 'queue' else 'agent'}"] += 1
        self._learn_expired_by_allocation()
        self.model.messages[customer] += 1  # the "transferred" or "requeued" entry
        if to != "queue" or acceptable:
            target = reply.body["agent_id"]
            assert target == to if to != "queue" else target in acceptable, (reply.body, acceptable)
            self.model.free_slot(agent)
            self.model.active[customer] = target
            self.model.load[target] += 1
        else:
            assert reply.body["status"] == "queued"
            self.model.free_slot(agent)  # read before the chat joins the queue
            self.model.seq += 1
            self.model.queue.append(Entry(customer, HEAD, self.model.seq, declined_by=agent))
            self.model.active[customer] = None

    @precondition(lambda self: any(role == "customer" for role, _ in self.tokens))
    @rule(data=st.data())
    def history(self, data: st.DataObject) -> None:
        customer, token = self._customer_token(data)
        reply = self.api.request("GET", f"/customer/{customer}/chat", token=token, query={"limit": 500})
        if customer not in self.model.active:
            assert reply.status == 409
            return
        assert reply.status == 200
        assert len(reply.body["messages"]) == self.model.messages[customer], (reply.body, self.model)
        if self.model.active[customer] is None:
            assert reply.body["channel"]["queue_position"] == self.model.position(customer)
        else:
            assert reply.body["channel"]["agent_id"] == self.model.active[customer]

    def _agent_access(self, agent: int, customer: int, ok: int) -> int:
        if customer not in self.model.active:
            return 409
        return ok if self.model.active[customer] == agent else 403  # queued: nobody's yet

    # -- the queue's policies (hooks of ChatMachine) and learning what the service chose --------

    def _became_available(self, agent: int) -> None:
        self.model.drain(agent)

    def _chat_ended(self, agent: int) -> None:
        self.model.free_slot(agent)

    def _went_offline(self, agent: int, held: list[int]) -> None:
        self._learn_moves(agent, held)

    def _learn_moves(self, agent: int, held: list[int]) -> None:
        """After ``agent`` went offline: each chat it held went to an agent with a free slot, or
        back to the head of the queue (never offered to such an agent). Learn where (and which
        silent agents a move met and marked offline)."""
        self._learn_expired_by_allocation()
        state = invariants.snapshot()
        now_with = {c["customer_id"]: c for c in state["channels"] if c["status"] in ("active", "queued")}
        for customer in sorted(held, key=lambda c: now_with[c]["created_at"]):
            channel = now_with[customer]
            if channel.get("agent_id") == agent:
                continue  # kept: nobody could take it (no other agent online)
            self.model.messages[customer] += 1
            self.model.load[agent] -= 1
            SEEN[f"offline: {channel['status']}"] += 1
            if channel["status"] == "queued":
                assert not self.model.below_cap(exclude=agent), (channel, self.model)
                self.model.seq += 1
                self.model.queue.append(Entry(customer, HEAD, self.model.seq))
                self.model.active[customer] = None
            else:
                target = channel["agent_id"]
                assert channel["assignment"]["reason"] == "agent_offline"
                assert target in self.model.available() and self.model.load[target] < self.model.cap_of(target)
                self.model.active[customer] = target
                self.model.load[target] += 1

    @invariant()
    def database_matches_the_model(self) -> None:
        state = invariants.check()
        invariants.check_no_wait_beside_a_free_slot(self.model.now, self.model.timeout, self.model.cap, state=state)
        assert {a["agent_id"]: a["active_count"] for a in state["agents"]} == self.model.load, self.model
        assert {a["agent_id"]: a["status"] for a in state["agents"]} == self.model.status
        open_ = {c["customer_id"]: c.get("agent_id") for c in state["channels"] if c["status"] in ("active", "queued")}
        assert open_ == self.model.active, (open_, self.model)
        queued = [e["channel_id"] for e in sorted(state["queue_entries"], key=lambda e: e["sk"])]
        by_channel = {c["channel_id"]: c["customer_id"] for c in state["channels"]}
        assert [by_channel[c] for c in queued] == [e.customer for e in self.model.ordered()]


@pytest.fixture
def queue_policies(monkeypatch):
    monkeypatch.setenv("ROUTING_OVERFLOW", "queue")
    monkeypatch.setenv("ON_AGENT_OFFLINE", "requeue")
    monkeypatch.setenv("ALLOCATION_CAP", "1")  # agents fill fast: the queue matters within few steps
    store_module.reset()


def test_random_sessions_with_a_queue_keep_the_invariants_and_the_model(fast_hashing, queue_policies) -> None:
    SEEN.clear()
    profile = settings()  # the loaded profile (ci or slow), with longer runs; ci's examples are fixed
    run_state_machine_as_test(
        QueueMachine,
        settings=settings(
            profile,
            max_examples=profile.max_examples if profile.max_examples >= 100 else 15,
            stateful_step_count=max(profile.stateful_step_count, 50),
            derandomize=profile.max_examples < 100,  # the CI's short run: the same walks every time
        ),
    )
    print(dict(SEEN))  # how often each feature was reached (-s shows it)
    assert SEEN["queued"] and SEEN["drained"], f"the queue was never used: {dict(SEEN)}"
