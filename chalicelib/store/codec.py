"""Items to domain values: nothing leaves the store as a raw DynamoDB map."""

from __future__ import annotations

from typing import Any

from chalicelib.models import Agent, AgentLoad, Channel, Credentials, Customer, Message


def credentials(item: dict[str, Any]) -> Credentials:
    return Credentials(
        role=item["role"],
        user_id=int(item["user_id"]),
        username=item["username"],
        password_hash=item["password_hash"],
    )


def agent(item: dict[str, Any]) -> Agent:
    return Agent(
        agent_id=int(item["agent_id"]),
        username=item["username"],
        status=item["status"],
        active_count=int(item["active_count"]),
        last_assigned_at=item.get("last_assigned_at", ""),
    )


def agent_load(item: dict[str, Any]) -> AgentLoad:
    return AgentLoad(
        agent_id=int(item["agent_id"]),
        status=item["status"],
        active_count=int(item["active_count"]),
        last_assigned_at=item.get("last_assigned_at", ""),
    )


def customer(item: dict[str, Any]) -> Customer:
    agent_id = item.get("active_agent_id")
    return Customer(
        customer_id=int(item["customer_id"]),
        username=item["username"],
        active_channel_id=item.get("active_channel_id"),
        active_agent_id=int(agent_id) if agent_id is not None else None,
        active_since=item.get("active_since"),
    )


def channel(item: dict[str, Any]) -> Channel:
    return Channel(
        channel_id=item["channel_id"],
        customer_id=int(item["customer_id"]),
        agent_id=int(item["agent_id"]),
        status=item["status"],
        created_at=item["created_at"],
        resolved_at=item.get("resolved_at"),
    )


def message(item: dict[str, Any]) -> Message:
    return Message(
        message_id=item["message_id"],
        channel_id=item["channel_id"],
        sender_role=item["sender_role"],
        sender_id=int(item["sender_id"]),
        text=item["text"],
        created_at=item["created_at"],
    )
