"""Customer routes: login, initiate, own chats, history, send, leave, logout."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import channels, chat_lists, messages, sessions
from chalicelib.chat_lists import ChatList
from chalicelib.config import get_settings
from chalicelib.keys import CUSTOMER
from chalicelib.models import Channel, HistoryPage, Message, Principal, Session
from chalicelib.routes import common
from chalicelib.routes.agents import LOGIN_ERRORS, REPLAYED
from chalicelib.routes.common import reply, route
from chalicelib.routes.payloads import (
    CustomerHistoryInput,
    CustomerSendInput,
    InitiateInput,
    LoggedOut,
    LoginInput,
    NoInput,
    OwnChatsInput,
)
from chalicelib.store import get_store

bp = Blueprint(__name__)


@route(bp, "POST", "/customer/login", body=LoginInput, ok=(200, Session, "Logged in."), errors=LOGIN_ERRORS)
def login(fields: LoginInput) -> Response:
    """Customer login"""
    return common.login(CUSTOMER, fields)


@route(
    bp, "POST", "/customer/{customer_id}/chat/initiate", role=CUSTOMER, body=InitiateInput,
    ok=(201, Channel, "Assigned."), errors=(404, 409),
)  # fmt: skip
def initiate(caller: Principal, fields: InitiateInput) -> Response:
    """Open a chat in a team (default: the default team); an agent of that team is assigned"""
    return reply(channels.initiate(get_store(), get_settings(), caller, team=fields.team), 201)


@route(
    bp, "GET", "/customer/{customer_id}/chats", role=CUSTOMER, query=OwnChatsInput,
    ok=(200, ChatList, "One page of the customer's chats, newest first."),
)  # fmt: skip
def own_chats(caller: Principal, fields: OwnChatsInput) -> Response:
    """The customer's chats, active and resolved, newest first"""
    return reply(chat_lists.own_chats(get_store(), caller, fields.limit, fields.cursor))


@route(
    bp, "GET", "/customer/{customer_id}/chat", role=CUSTOMER, query=CustomerHistoryInput,
    ok=(200, HistoryPage, "One page of messages."), errors=(404, 409),
)  # fmt: skip
def history(caller: Principal, fields: CustomerHistoryInput) -> Response:
    """History of one of the customer's chats (default: the active one)"""
    page = channels.history(
        get_store(),
        get_settings(),
        caller,
        channel_id=fields.channel_id,
        customer_id=None,
        limit=fields.limit,
        after=fields.cursor,
        wait=fields.wait,
    )
    return reply(page)


@route(
    bp, "POST", "/customer/{customer_id}/chat/send", role=CUSTOMER, body=CustomerSendInput,
    ok=(201, Message, "Stored."), also=(REPLAYED,), errors=(409,),
)  # fmt: skip
def send(caller: Principal, fields: CustomerSendInput) -> Response:
    """Send in the customer's active chat"""
    message, created = messages.send(
        get_store(), caller, customer_id=caller.user_id, text=fields.text, idempotency_key=fields.idempotency_key
    )
    return reply(message, 201 if created else 200)


@route(
    bp, "POST", "/customer/{customer_id}/chat/leave", role=CUSTOMER, body=NoInput,
    ok=(200, Channel, "Left: the chat is resolved, ended_by customer."), errors=(409,),
)  # fmt: skip
def leave(caller: Principal, _fields: NoInput) -> Response:
    """Leave the customer's open chat: out of the queue, or away from its agent"""
    return reply(channels.leave(get_store(), get_settings(), caller))


@route(bp, "PUT", "/customer/{customer_id}/logout", role=CUSTOMER, body=NoInput, ok=(200, LoggedOut, "Logged out."))
def logout(caller: Principal, _fields: NoInput) -> Response:
    """Customer logout: revokes the token"""
    sessions.logout(get_store(), get_settings(), caller)
    return reply(LoggedOut(caller.user_id, CUSTOMER))
