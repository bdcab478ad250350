"""Shapes declared once (pure): the JSON of every reply, key for key and in order, and reading inputs."""

import json

import pytest

from chalicelib.config import load_settings
from chalicelib.errors import InvalidInput
from chalicelib.inputs import Params
from chalicelib.models import Agent, Channel, Customer, HistoryPage, Message, Session
from chalicelib.routes.payloads import (
    ActiveChats,
    AgentSendInput,
    ErrorDetail,
    ErrorReply,
    LoggedOut,
    LoginInput,
    ResolveInput,
)
from chalicelib.shapes import read_input

CHANNEL = Channel(
    "01M86259TND795JGPYJCBXZBSA", 1, 2, "resolved", "2026-11-24T05:58:47.381Z", "2026-11-24T05:58:48.000Z"
)
MESSAGE = Message("01M86259XH6SDWY6ZX1XYA4NVQ", CHANNEL.channel_id, "customer", 1, "halo", "2026-11-24T05:58:47.473Z")


def same_bytes(value, expected):
    """The JSON as Chalice writes it: same keys, same order, same types."""
    assert json.dumps(value.to_dict()) == json.dumps(expected)


def test_agent_and_customer_json_keep_their_keys_and_order():
    same_bytes(
        Agent(1, "annasianna", "online", 2, "2026-01-01", 3, "2026-11-25T04:30:53.000Z", 1),
        {
            "id": 1,
            "username": "annasianna",
            "role": "agent",
            "status": "online",
            "active_chats": 2,
            "max_chats": 3,
            "last_seen": "2026-11-25T04:30:53.000Z",
            "sessions": 1,
        },
    )
    same_bytes(
        Customer(1, "daungugur", None, 3, "x"),
        {"id": 1, "username": "daungugur", "role": "customer", "active_channel_id": None},
    )


def test_channel_message_and_history_json_keep_their_keys_and_order():
    channel = {
        "channel_id": CHANNEL.channel_id,
        "customer_id": 1,
        "agent_id": 2,
        "status": "resolved",
        "created_at": "2026-11-24T05:58:47.381Z",
        "resolved_at": "2026-11-24T05:58:48.000Z",
        "team": None,  # wave 2: the team it was routed in (None for a value made without one)
    }
    message = {
        "message_id": MESSAGE.message_id,
        "channel_id": CHANNEL.channel_id,
        "sender_role": "customer",
        "sender_id": 1,
        "text": "halo",
        "created_at": "2026-11-24T05:58:47.473Z",
    }
    same_bytes(CHANNEL, channel)
    same_bytes(MESSAGE, message)
    same_bytes(HistoryPage(CHANNEL, [MESSAGE], None), {"channel": channel, "messages": [message], "next_cursor": None})
    same_bytes(ActiveChats(2, [CHANNEL]), {"agent_id": 2, "channels": [channel]})


def test_the_route_replies_keep_their_keys_and_order():
    agent = Agent(1, "annasianna", "online", 0)
    same_bytes(
        Session(agent, "t.o.k", 99, "d.e.v"),
        {"user": agent.to_dict(), "token": "t.o.k", "token_type": "Bearer", "expires_at": 99, "device_token": "d.e.v"},
    )
    same_bytes(LoggedOut(1, "agent", "offline"), {"logged_out": True, "id": 1, "role": "agent", "status": "offline"})
    same_bytes(LoggedOut(1, "customer"), {"logged_out": True, "id": 1, "role": "customer"})
    same_bytes(ErrorReply(ErrorDetail("x", "y")), {"error": {"code": "x", "message": "y"}})
    same_bytes(
        ErrorReply(ErrorDetail("x", "y", "f", {"a": 1})),
        {"error": {"code": "x", "message": "y", "field": "f", "details": {"a": 1}}},
    )


@pytest.fixture
def settings():
    return load_settings()


def test_an_input_is_read_under_its_wire_names(settings):
    fields = read_input(
        AgentSendInput, Params(None, {"RecipientID": "7", "text_message": "hi"}), {"idempotency-key": "k1"}, settings
    )
    assert fields == AgentSendInput(customer_id=7, text="hi", idempotency_key="k1")


def test_credentials_are_refused_in_the_query_even_when_also_in_the_body(settings):
    query = Params({"password": "p"}, {"username": "u", "password": "p"})
    with pytest.raises(InvalidInput, match="never in the query string") as error:
        read_input(LoginInput, query, {}, settings)
    assert error.value.field == "password"


def test_one_of_two_fields_is_required(settings):
    with pytest.raises(InvalidInput) as error:
        read_input(ResolveInput, Params(None, {}), {}, settings)
    assert error.value.field == "customer_id"
    assert read_input(ResolveInput, Params(None, {"customer_id": 3}), {}, settings).customer_id == 3
