"""Model-based test: random sequences of login, logout, heartbeats, time passing, the
presence sweep, capacity changes, initiate, send and resolve (moto).

A hypothesis state machine drives the API through the Chalice routing while
holding a small in-memory model of each agent's sessions, status, last
heartbeat and capacity, each agent's load and each customer's active chat.
The clock is the model's (``chalicelib.clock``), so time passes without sleeps.
After every step the database must satisfy the
invariants and agree with the model; every response must be the one the model
expects (which agent may take a chat is a set when loads tie).

CI runs a bounded number of examples; ``HYPOTHESIS_PROFILE=slow make test``
runs many more (see README).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from moto import mock_aws

from app import app
from chalicelib import clock, presence
from chalicelib import store as store_module
from chalicelib.config import get_settings
from chalicelib.store.admin import create_tables
from tests.support import invariants
from tools import seed
from tools.api_client import Api, GatewayClient

AGENTS = (1, 2, 3)
CUSTOMERS = tuple(range(1, 9))


@dataclass
class Model:
    cap: int
    timeout: int
    now: float
    status: dict[int, str] = field(default_factory=lambda: dict.fromkeys(AGENTS, "offline"))
    last_seen: dict[int, float] = field(default_factory=lambda: dict.fromkeys(AGENTS, 0.0))
    sessions: dict[int, set[str]] = field(default_factory=lambda: {a: set() for a in AGENTS})
    max_chats: dict[int, int] = field(default_factory=dict)
    load: dict[int, int] = field(default_factory=lambda: dict.fromkeys(AGENTS, 0))
    active: dict[int, int] = field(default_factory=dict)  # customer -> agent
    messages: dict[int, int] = field(default_factory=dict)  # customer -> messages in the active chat

    def fresh(self, agent: int) -> bool:
        return self.last_seen[agent] >= int(self.now) - self.timeout

    def available(self) -> list[int]:
        """Online with a fresh heartbeat: the only agents rules 1 and 2 may use."""
        return [a for a in AGENTS if self.status[a] == "online" and self.fresh(a)]

    def silent(self) -> set[int]:
        """Online in the record but silent too long: the sweep (or an allocation) marks them offline."""
        return {a for a in AGENTS if self.status[a] != "offline" and not self.fresh(a)}

    def acceptable_agents(self) -> set[int]:
        """Who may take the next chat, by the three rules (ties: any of the least loaded)."""
        available = self.available()
        below = [a for a in available if self.load[a] < self.max_chats.get(a, self.cap)]
        pool = below or available or list(AGENTS)
        least = min(self.load[a] for a in pool)
        return {a for a in pool if self.load[a] == least}


class ChatMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.mock = mock_aws()
        self.mock.start()
        store_module.reset()
        create_tables(get_settings())
        seed.seed_demo()
        self.api = Api(GatewayClient(app))
        settings = get_settings()
        self.model = Model(cap=settings.allocation_cap, timeout=settings.presence_timeout_seconds, now=time.time())
        self.real_now = clock.now
        clock.now = lambda: self.model.now  # the model's clock
        self.tokens: dict[tuple[str, int], str] = {}
        self.revoked: list[tuple[str, int, str]] = []
        self.supervisor = self.api.token("supervisor", 1)

    def teardown(self) -> None:
        clock.now = self.real_now
        self.mock.stop()
        store_module.reset()

    # -- sessions -----------------------------------------------------------

    @rule(role=st.sampled_from(["agent", "customer"]), data=st.data())
    def login(self, role: str, data: st.DataObject) -> None:
        user_id = data.draw(st.sampled_from(AGENTS if role == "agent" else CUSTOMERS))
        reply = self.api.login(role, user_id)
        assert reply.status == 200, reply.body
        self.tokens[(role, user_id)] = reply.body["token"]
        if role == "agent":
            self.model.sessions[user_id].add(reply.body["token"])
            self.model.status[user_id], self.model.last_seen[user_id] = "online", self.model.now
            self._became_available(user_id)
            assert reply.body["user"]["active_chats"] == self.model.load[user_id], (reply.body, self.model)
            assert reply.body["user"]["sessions"] == len(self.model.sessions[user_id])

    @precondition(lambda self: self.tokens)
    @rule(data=st.data())
    def logout(self, data: st.DataObject) -> None:
        role, user_id = data.draw(st.sampled_from(sorted(self.tokens)))
        token = self.tokens.pop((role, user_id))
        held = self._chats_of(user_id) if role == "agent" else []
        reply = self.api.logout(role, user_id, token)
        assert reply.status == 200
        self.revoked.append((role, user_id, token))
        if role == "agent":
            self.model.sessions[user_id].discard(token)
            if not self.model.sessions[user_id]:
                self.model.status[user_id] = "offline"
                self._went_offline(user_id, held)
            assert reply.body["status"] == self.model.status[user_id]

    # -- presence and capacity ----------------------------------------------

    @precondition(lambda self: any(role == "agent" for role, _ in self.tokens))
    @rule(data=st.data(), status=st.sampled_from(["online", "away"]))
    def heartbeat(self, data: st.DataObject, status: str) -> None:
        agent = data.draw(st.sampled_from(sorted(a for (role, a) in self.tokens if role == "agent")))
        was_available = agent in self.model.available()
        reply = self.api.request(
            "PUT", f"/agent/{agent}/presence", token=self.tokens[("agent", agent)], form={"status": status}
        )
        assert reply.status == 200, reply.body
        self.model.status[agent], self.model.last_seen[agent] = status, self.model.now
        if status == "online" and not was_available:
            self._became_available(agent)
        assert reply.body["status"] == status and reply.body["active_chats"] == self.model.load[agent]

    @rule(seconds=st.sampled_from([5, 30, 50]))
    def time_passes(self, seconds: int) -> None:
        self.model.now += seconds  # at most 60 steps of 50 s: tokens (1 h) stay valid

    @rule()
    def sweep(self) -> None:
        silent = self.model.silent()
        held = {a: self._chats_of(a) for a in AGENTS if self.model.status[a] == "offline" or a in silent}
        expired = presence.sweep(store_module.get_store(), get_settings())
        assert set(expired) == silent
        for agent in expired:
            self.model.status[agent] = "offline"
        for agent, chats in held.items():
            self._went_offline(agent, chats)

    @rule(agent=st.sampled_from(AGENTS), max_chats=st.integers(0, 3))
    def supervisor_sets_capacity(self, agent: int, max_chats: int) -> None:
        reply = self.api.request(
            "PUT", f"/supervisor/1/agents/{agent}", token=self.supervisor, form={"max_chats": max_chats}
        )
        assert reply.status == 200 and reply.body["max_chats"] == max_chats
        self.model.max_chats[agent] = max_chats
        self._became_available(agent)
        assert reply.body["active_chats"] == self.model.load[agent]

    @precondition(lambda self: self.revoked)
    @rule(data=st.data())
    def revoked_token_is_refused(self, data: st.DataObject) -> None:
        role, user_id, token = data.draw(st.sampled_from(self.revoked))
        path = f"/agent/{user_id}/chat/active" if role == "agent" else f"/customer/{user_id}/chat"
        assert self.api.request("GET", path, token=token).status == 401

    # -- chats --------------------------------------------------------------

    def _customer_token(self, data: st.DataObject) -> tuple[int, str] | None:
        customers = [c for (role, c) in self.tokens if role == "customer"]
        if not customers:
            return None
        customer = data.draw(st.sampled_from(sorted(customers)))
        return customer, self.tokens[("customer", customer)]

    @precondition(lambda self: any(role == "customer" for role, _ in self.tokens))
    @rule(data=st.data())
    def initiate(self, data: st.DataObject) -> None:
        customer, token = self._customer_token(data)
        acceptable = self.model.acceptable_agents()
        reply = self.api.initiate(customer, token)
        if customer in self.model.active:
            assert reply.status == 409 and reply.error["code"] == "active_chat_exists"
            return
        assert reply.status == 201, reply.body
        agent = reply.body["agent_id"]
        assert agent in acceptable, (agent, acceptable, self.model)
        self._learn_expired_by_allocation()
        self.model.active[customer] = agent
        self.model.load[agent] += 1
        self.model.messages[customer] = 0

    @precondition(lambda self: any(role == "customer" for role, _ in self.tokens))
    @rule(data=st.data(), text=st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=40))
    def customer_sends(self, data: st.DataObject, text: str) -> None:
        customer, token = self._customer_token(data)
        reply = self.api.request(
            "POST", f"/customer/{customer}/chat/send", token=token, json_body={"text_message": text}
        )
        if customer in self.model.active:
            assert reply.status == 201, reply.body
            self.model.messages[customer] += 1
        else:
            assert reply.status == 409

    @precondition(lambda self: any(role == "agent" for role, _ in self.tokens))
    @rule(data=st.data(), customer=st.sampled_from(CUSTOMERS))
    def agent_sends(self, data: st.DataObject, customer: int) -> None:
        agent = data.draw(st.sampled_from(sorted(a for (role, a) in self.tokens if role == "agent")))
        reply = self.api.agent_send(agent, self.tokens[("agent", agent)], customer, "hello")
        expected = self._agent_access(agent, customer, ok=201)
        assert reply.status == expected, (reply.body, expected)
        if expected == 201:
            self.model.messages[customer] += 1

    @precondition(lambda self: any(role == "agent" for role, _ in self.tokens))
    @rule(data=st.data(), customer=st.sampled_from(CUSTOMERS))
    def resolve(self, data: st.DataObject, customer: int) -> None:
        agent = data.draw(st.sampled_from(sorted(a for (role, a) in self.tokens if role == "agent")))
        reply = self.api.resolve(agent, self.tokens[("agent", agent)], customer)
        expected = self._agent_access(agent, customer, ok=200)
        assert reply.status == expected, (reply.body, expected)
        if expected == 200:
            del self.model.active[customer]
            del self.model.messages[customer]
            self._chat_ended(agent)

    # -- what a policy adds (the queue's machine overrides these) ----------

    def _became_available(self, agent: int) -> None:
        """The agent came online, back, or got capacity (without a queue: nothing more happens)."""

    def _went_offline(self, agent: int, held: list[int]) -> None:
        """The agent went offline holding ``held`` (without requeue: it keeps them)."""

    def _chat_ended(self, agent: int) -> None:
        """One of the agent's chats ended: its slot frees."""
        self.model.load[agent] -= 1

    def _chats_of(self, agent: int) -> list[int]:
        return [c for c, a in self.model.active.items() if a == agent]

    def _agent_access(self, agent: int, customer: int, ok: int) -> int:
        owner = self.model.active.get(customer)
        if owner is None:
            return 409
        return ok if owner == agent else 403

    @precondition(lambda self: any(role == "customer" for role, _ in self.tokens))
    @rule(data=st.data())
    def history(self, data: st.DataObject) -> None:
        customer, token = self._customer_token(data)
        reply = self.api.request("GET", f"/customer/{customer}/chat", token=token, query={"limit": 500})
        if customer in self.model.active:
            assert reply.status == 200
            assert len(reply.body["messages"]) == self.model.messages[customer]
        else:
            assert reply.status == 409

    # -- after every step ---------------------------------------------------

    def _learn_expired_by_allocation(self) -> None:
        """An allocation that met a silent agent marked it offline (which ones it met depends on ties)."""
        for agent in invariants.snapshot()["agents"]:
            if agent["agent_id"] in self.model.silent() and agent["status"] == "offline":
                self.model.status[agent["agent_id"]] = "offline"

    @invariant()
    def database_matches_the_model(self) -> None:
        state = invariants.check()
        assert {a["agent_id"]: a["active_count"] for a in state["agents"]} == self.model.load
        assert {a["agent_id"]: a["status"] for a in state["agents"]} == self.model.status
        active = {c["customer_id"]: c["agent_id"] for c in state["channels"] if c["status"] == "active"}
        assert active == self.model.active


def test_random_sessions_keep_the_invariants_and_the_model(fast_hashing: None) -> None:
    run_state_machine_as_test(ChatMachine)
