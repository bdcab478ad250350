"""Agent routes: login, active chats, own chats, history, send, resolve, transfer, logout, presence."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import channels, chat_lists, messages, sessions, transfers
from chalicelib import presence as presence_service
from chalicelib.chat_lists import ChatList
from chalicelib.config import get_settings
from chalicelib.errors import InvalidInput
from chalicelib.keys import AGENT
from chalicelib.models import Agent, Channel, HistoryPage, Message, Principal, Session
from chalicelib.routes import common
from chalicelib.routes.common import reply, route
from chalicelib.routes.payloads import (
    ActiveChats,
    AgentHistoryInput,
    AgentSendInput,
    LoggedOut,
    LoginInput,
    NoInput,
    OwnChatsInput,
    PresenceInput,
    ResolveInput,
    TransferInput,
    transfer_target,
)
from chalicelib.store import get_store

bp = Blueprint(__name__)

LOGIN_ERRORS = (400, 401, 413, 415, 429, 503)
REPLAYED = (200, Message, "A repeat with the same Idempotency-Key: the first message; nothing stored.")


@route(bp, "POST", "/agent/login", body=LoginInput, ok=(200, Session, "Logged in."), errors=LOGIN_ERRORS)
def login(fields: LoginInput) -> Response:
    """Agent login: goes online"""
    return common.login(AGENT, fields)


@route(bp, "GET", "/agent/{agent_id}/chat/active", role=AGENT, ok=(200, ActiveChats, "Oldest first."))
def active_chats(caller: Principal) -> Response:
    """The agent's active chats"""
    return reply(ActiveChats(caller.user_id, channels.active_chats(get_store(), caller)))


@route(
    bp, "GET", "/agent/{agent_id}/chats", role=AGENT, query=OwnChatsInput,
    ok=(200, ChatList, "One page of the agent's chats, newest first."),
)  # fmt: skip
def own_chats(caller: Principal, fields: OwnChatsInput) -> Response:
    """The agent's chats, active and resolved, newest first"""
    return reply(chat_lists.own_chats(get_store(), caller, fields.limit, fields.cursor))


@route(
    bp, "GET", "/agent/{agent_id}/chat", role=AGENT, query=AgentHistoryInput,
    ok=(200, HistoryPage, "One page of messages."), errors=(404, 409),
)  # fmt: skip
def history(caller: Principal, fields: AgentHistoryInput) -> Response:
    """History of one of the agent's chats (by channel, or a customer's active chat)"""
    if fields.agent_id is not None and fields.agent_id != caller.user_id:
        raise InvalidInput("agent_id does not match the path", field="agent_id")
    page = channels.history(
        get_store(),
        get_settings(),
        caller,
        channel_id=fields.channel_id,
        customer_id=fields.customer_id,
        limit=fields.limit,
        after=fields.cursor,
        wait=fields.wait,
    )
    return reply(page)


@route(
    bp, "POST", "/agent/{agent_id}/chat/send", role=AGENT, body=AgentSendInput,
    ok=(201, Message, "Stored."), also=(REPLAYED,), errors=(404, 409),
)  # fmt: skip
def send(caller: Principal, fields: AgentSendInput) -> Response:
    """Send to a customer in the agent's chat"""
    message, created = messages.send(
        get_store(), caller, customer_id=fields.customer_id, text=fields.text, idempotency_key=fields.idempotency_key
    )
    return reply(message, 201 if created else 200)


@route(
    bp, "POST", "/agent/{agent_id}/chat/resolve", role=AGENT, body=ResolveInput,
    ok=(200, Channel, "Resolved."), errors=(404, 409),
)  # fmt: skip
def resolve(caller: Principal, fields: ResolveInput) -> Response:
    """Resolve one of the agent's chats"""
    channel = channels.resolve(
        get_store(), get_settings(), caller, customer_id=fields.customer_id, channel_id=fields.channel_id
    )
    return reply(channel)


@route(
    bp, "POST", "/agent/{agent_id}/chat/transfer", role=AGENT, body=TransferInput,
    ok=(200, Channel, "Moved: to the agent, or back to the queue (status queued)."), errors=(404, 409),
)  # fmt: skip
def transfer(caller: Principal, fields: TransferInput) -> Response:
    """Transfer one of the agent's chats to another agent, or back to the queue"""
    to_agent_id, to_queue = transfer_target(fields)
    channel = transfers.transfer(
        get_store(), get_settings(), caller, channel_id=fields.channel_id, customer_id=fields.customer_id,
        to_agent_id=to_agent_id, to_queue=to_queue,
    )  # fmt: skip
    return reply(channel)


@route(
    bp, "PUT", "/agent/{agent_id}/logout", role=AGENT, body=NoInput, ok=(200, LoggedOut, "Logged out."), errors=(404,)
)
def logout(caller: Principal, _fields: NoInput) -> Response:
    """Agent logout: ends this session; offline when no session is left"""
    status = sessions.logout(get_store(), get_settings(), caller)
    return reply(LoggedOut(caller.user_id, AGENT, status=status))


@route(
    bp, "PUT", "/agent/{agent_id}/presence", role=AGENT, body=PresenceInput,
    ok=(200, Agent, "The agent's status, capacity, load and last heartbeat."), errors=(404,),
)  # fmt: skip
def presence(caller: Principal, fields: PresenceInput) -> Response:
    """Heartbeat and status switch (online or away)"""
    return reply(presence_service.heartbeat(get_store(), get_settings(), caller, fields.status))
