"""Reconcile: recompute what the counters and pointers should be from the channels themselves.

Agents' ``active_count`` must equal their active channels (I1) and each
customer's pointer must name their open channel, active or queued (I2). Drift
should never happen (every change is transactional), but an operator who
edits items by hand, or a bug, can cause it. ``find_drift`` reports; with
``fix=True``, ``reconcile`` repairs counts and stale customer pointers, each
conditional on the item being unchanged since it was read, so it is safe to
run under live traffic (a skipped fix shows up again in the next run).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from chalicelib.models import Agent, Channel, Customer
from chalicelib.store import Store


@dataclass(frozen=True)
class AgentDrift:
    agent: Agent
    actual: int

    def __str__(self) -> str:
        return f"agent {self.agent.agent_id}: active_count {self.agent.active_count}, active channels {self.actual}"


@dataclass(frozen=True)
class CustomerDrift:
    customer: Customer
    expected: str | None

    def __str__(self) -> str:
        return (
            f"customer {self.customer.customer_id}: points to {self.customer.active_channel_id}, "
            f"active channel {self.expected}"
        )


@dataclass
class Report:
    agents: list[AgentDrift] = field(default_factory=list)
    customers: list[CustomerDrift] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def drift(self) -> list[AgentDrift | CustomerDrift]:
        return [*self.agents, *self.customers]


def find_drift(agents: list[Agent], customers: list[Customer], open_: list[Channel]) -> Report:
    """Compare the recorded counters and pointers with the open (active or queued) channels (pure)."""
    per_agent = Counter(c.agent_id for c in open_ if c.agent_id is not None)
    by_customer: dict[int, list[str]] = {}
    for channel in open_:
        by_customer.setdefault(channel.customer_id, []).append(channel.channel_id)
    report = Report()
    for agent in agents:
        actual = per_agent.get(agent.agent_id, 0)
        if actual != agent.active_count:
            report.agents.append(AgentDrift(agent, actual))
    for customer in customers:
        channels = by_customer.get(customer.customer_id, [])
        expected = channels[0] if len(channels) == 1 else None
        if customer.active_channel_id != expected or len(channels) > 1:
            report.customers.append(CustomerDrift(customer, expected))
    return report


def reconcile(store: Store, *, fix: bool = False) -> Report:
    # Agents and customers are read before the channels: a change in between
    # then makes the conditional fix fail instead of writing a stale value.
    agents = store.agents.all()
    customers = store.customers.all()
    report = find_drift(agents, customers, store.channels.all_open())
    if not fix:
        return report
    for drift in report.agents:
        (report.fixed if store.agents.repair_count(drift.agent, drift.actual) else report.skipped).append(str(drift))
    for drift in report.customers:
        # A pointer to a channel that is not active is cleared; an active
        # channel its customer does not point to is only reported (two active
        # channels for one customer need a person to decide which to resolve).
        if drift.customer.active_channel_id is not None and drift.expected is None:
            cleared = store.customers.clear_stale_pointer(drift.customer)
            (report.fixed if cleared else report.skipped).append(str(drift))
        else:
            report.skipped.append(str(drift))
    return report
