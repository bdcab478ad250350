"""Supervisor routes: login, every agent's state, changing an agent's capacity or status, active chats."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import sessions, supervision, transfers
from chalicelib.config import get_settings
from chalicelib.keys import SUPERVISOR
from chalicelib.models import Agent, Channel, Principal, Session
from chalicelib.routes import common
from chalicelib.routes.agents import LOGIN_ERRORS
from chalicelib.routes.common import reply, route
from chalicelib.routes.payloads import (
    AgentSettingsInput,
    LoggedOut,
    LoginInput,
    NoInput,
    PageInput,
    SupervisorChatsInput,
    TransferTargetInput,
    transfer_target,
)
from chalicelib.store import get_store
from chalicelib.supervision import AgentsPage, ChatsPage, QueuePage

bp = Blueprint(__name__)


@route(bp, "POST", "/supervisor/login", body=LoginInput, ok=(200, Session, "Logged in."), errors=LOGIN_ERRORS)
def login(fields: LoginInput) -> Response:
    """Supervisor login"""
    return common.login(SUPERVISOR, fields)


@route(
    bp, "GET", "/supervisor/{supervisor_id}/agents", role=SUPERVISOR, query=PageInput,
    ok=(200, AgentsPage, "One page of agents."),
)  # fmt: skip
def agents(caller: Principal, fields: PageInput) -> Response:
    """Every agent: status, load, capacity, last seen, sessions"""
    return reply(supervision.agents(get_store(), caller, fields.limit, fields.cursor, fields.team))


@route(
    bp, "PUT", "/supervisor/{supervisor_id}/agents/{agent_id}", role=SUPERVISOR, body=AgentSettingsInput,
    ok=(200, Agent, "The agent as it is now."), errors=(404,),
)  # fmt: skip
def update_agent(caller: Principal, fields: AgentSettingsInput, agent_id: int) -> Response:
    """Set an agent's capacity, or force it away or offline"""
    agent = supervision.update_agent(
        get_store(), get_settings(), caller, agent_id, max_chats=fields.max_chats, status=fields.status
    )
    return reply(agent)


@route(
    bp, "GET", "/supervisor/{supervisor_id}/chats", role=SUPERVISOR, query=SupervisorChatsInput,
    ok=(200, ChatsPage, "One page of chats."),
)  # fmt: skip
def chats(caller: Principal, fields: SupervisorChatsInput) -> Response:
    """The team's active chats"""
    return reply(supervision.active_chats(get_store(), caller, fields.limit, fields.cursor, fields.team))


@route(
    bp, "POST", "/supervisor/{supervisor_id}/chats/{channel_id}/transfer", role=SUPERVISOR,
    body=TransferTargetInput, ok=(200, Channel, "Moved: to the agent, or back to the queue (status queued)."),
    errors=(404, 409),
)  # fmt: skip
def transfer(caller: Principal, fields: TransferTargetInput, channel_id: str) -> Response:
    """Transfer any active chat to an agent, or back to the queue"""
    to_agent_id, to_queue = transfer_target(fields)
    channel = transfers.transfer(
        get_store(), get_settings(), caller, channel_id=channel_id, to_agent_id=to_agent_id, to_queue=to_queue
    )
    return reply(channel)


@route(
    bp, "GET", "/supervisor/{supervisor_id}/queue", role=SUPERVISOR, query=PageInput,
    ok=(200, QueuePage, "One page of the team's queue, head first."),
)  # fmt: skip
def queue(caller: Principal, fields: PageInput) -> Response:
    """The team's queue: how many wait, and who is next"""
    return reply(supervision.queue(get_store(), get_settings(), caller, fields.limit, fields.cursor, fields.team))


@route(
    bp, "PUT", "/supervisor/{supervisor_id}/logout", role=SUPERVISOR, body=NoInput, ok=(200, LoggedOut, "Logged out.")
)
def logout(caller: Principal, _fields: NoInput) -> Response:
    """Supervisor logout: revokes the token"""
    sessions.logout(get_store(), get_settings(), caller)
    return reply(LoggedOut(caller.user_id, SUPERVISOR))
