"""Model-based test: random sequences of login, logout, initiate, send, resolve (moto).

A hypothesis state machine drives the API through the Chalice routing while
holding a small in-memory model of who is online, each agent's load and each
customer's active chat. After every step the database must satisfy the
invariants and agree with the model; every response must be the one the model
expects (which agent may take a chat is a set when loads tie).

CI runs a bounded number of examples; ``HYPOTHESIS_PROFILE=slow make test``
runs many more (see README).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from moto import mock_aws

from app import app
from chalicelib import store as store_module
from chalicelib.config import get_settings
from chalicelib.store.admin import create_tables
from tests import invariants
from tools import seed
from tools.api_client import Api, GatewayClient

AGENTS = (1, 2, 3)
CUSTOMERS = tuple(range(1, 9))


@dataclass
class Model:
    cap: int
    online: set[int] = field(default_factory=set)
    load: dict[int, int] = field(default_factory=lambda: dict.fromkeys(AGENTS, 0))
    active: dict[int, int] = field(default_factory=dict)  # customer -> agent
    messages: dict[int, int] = field(default_factory=dict)  # customer -> messages in the active chat

    def acceptable_agents(self) -> set[int]:
        """Who may take the next chat, by the three rules (ties: any of the least loaded)."""
        online = [a for a in AGENTS if a in self.online]
        below = [a for a in online if self.load[a] < self.cap]
        pool = below or online or list(AGENTS)
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
        self.model = Model(cap=get_settings().allocation_cap)
        self.tokens: dict[tuple[str, int], str] = {}
        self.revoked: list[tuple[str, int, str]] = []

    def teardown(self) -> None:
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
            self.model.online.add(user_id)
            assert reply.body["user"]["active_chats"] == self.model.load[user_id]

    @precondition(lambda self: self.tokens)
    @rule(data=st.data())
    def logout(self, data: st.DataObject) -> None:
        role, user_id = data.draw(st.sampled_from(sorted(self.tokens)))
        token = self.tokens.pop((role, user_id))
        assert self.api.logout(role, user_id, token).status == 200
        self.revoked.append((role, user_id, token))
        if role == "agent":
            self.model.online.discard(user_id)

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
            self.model.load[agent] -= 1

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

    @invariant()
    def database_matches_the_model(self) -> None:
        state = invariants.check()
        assert {a["agent_id"]: a["active_count"] for a in state["agents"]} == self.model.load
        assert {a["agent_id"] for a in state["agents"] if a["status"] == "online"} == self.model.online
        active = {c["customer_id"]: c["agent_id"] for c in state["channels"] if c["status"] == "active"}
        assert active == self.model.active


def test_random_sessions_keep_the_invariants_and_the_model(fast_hashing: None) -> None:
    run_state_machine_as_test(ChatMachine)
