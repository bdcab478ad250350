"""The API contract: an OpenAPI 3.1 document built from one table of routes.

Served at ``GET /openapi.json`` and committed as ``openapi.json`` (``make
openapi`` rewrites it; a test fails if the two differ, if the document is
invalid, or if it and the Chalice routes disagree).
"""

from __future__ import annotations

from typing import Any

from chalicelib.inputs import IDEMPOTENCY_KEY, MAX_ID, MAX_PASSWORD_CHARS, MAX_USERNAME_CHARS, SORTABLE_ID

INPUT_TYPES = ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")
MAX_MESSAGE_CHARS = 4000  # the default of MAX_MESSAGE_CHARS; a deployment may lower it


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


ID = {
    "description": "A positive integer id; form values send it as a decimal string.",
    "anyOf": [
        {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        {"type": "string", "pattern": r"^0*[1-9][0-9]{0,12}$"},
    ],
}
SORTABLE = {"type": "string", "pattern": SORTABLE_ID.pattern, "description": "26 characters, Crockford base32"}
TEXT = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_MESSAGE_CHARS,
    "description": "Not blank; no control characters but tab and newlines.",
}
TIMESTAMP = {
    "type": "string",
    "description": "UTC, ISO 8601 with milliseconds",
    "examples": ["2026-11-24T05:58:47.381Z"],
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "examples": ["active_chat_exists"]},
                    "message": {"type": "string"},
                    "field": {"type": "string", "description": "The input at fault, if one is."},
                    "details": {"type": "object"},
                },
            }
        },
    },
    "Agent": {
        "type": "object",
        "required": ["id", "username", "role", "status", "active_chats"],
        "properties": {
            "id": {"type": "integer"},
            "username": {"type": "string"},
            "role": {"const": "agent"},
            "status": {"enum": ["online", "offline"]},
            "active_chats": {"type": "integer", "minimum": 0},
        },
    },
    "Customer": {
        "type": "object",
        "required": ["id", "username", "role", "active_channel_id"],
        "properties": {
            "id": {"type": "integer"},
            "username": {"type": "string"},
            "role": {"const": "customer"},
            "active_channel_id": {"type": ["string", "null"]},
        },
    },
    "Session": {
        "type": "object",
        "required": ["user", "token", "token_type", "expires_at"],
        "properties": {
            "user": {"oneOf": [ref("Agent"), ref("Customer")]},
            "token": {"type": "string", "description": "Send as `Authorization: Bearer <token>`."},
            "token_type": {"const": "Bearer"},
            "expires_at": {"type": "integer", "description": "Unix time"},
        },
    },
    "Channel": {
        "type": "object",
        "required": ["channel_id", "customer_id", "agent_id", "status", "created_at", "resolved_at"],
        "properties": {
            "channel_id": {"type": "string"},
            "customer_id": {"type": "integer"},
            "agent_id": {"type": "integer"},
            "status": {"enum": ["active", "resolved"]},
            "created_at": TIMESTAMP,
            "resolved_at": {"type": ["string", "null"]},
        },
    },
    "Message": {
        "type": "object",
        "required": ["message_id", "channel_id", "sender_role", "sender_id", "text", "created_at"],
        "properties": {
            "message_id": {"type": "string"},
            "channel_id": {"type": "string"},
            "sender_role": {"enum": ["agent", "customer"]},
            "sender_id": {"type": "integer"},
            "text": {"type": "string"},
            "created_at": TIMESTAMP,
        },
    },
    "HistoryPage": {
        "type": "object",
        "required": ["channel", "messages", "next_cursor"],
        "properties": {
            "channel": ref("Channel"),
            "messages": {"type": "array", "items": ref("Message"), "description": "Oldest first."},
            "next_cursor": {"type": ["string", "null"], "description": "Pass as `cursor` for the next page."},
        },
    },
    "ActiveChats": {
        "type": "object",
        "required": ["agent_id", "channels"],
        "properties": {"agent_id": {"type": "integer"}, "channels": {"type": "array", "items": ref("Channel")}},
    },
    "LoggedOut": {
        "type": "object",
        "required": ["logged_out", "id", "role"],
        "properties": {
            "logged_out": {"const": True},
            "id": {"type": "integer"},
            "role": {"enum": ["agent", "customer"]},
            "status": {"const": "offline"},
        },
    },
    "LoginInput": {
        "type": "object",
        "required": ["username", "password"],
        "properties": {
            "username": {"type": "string", "minLength": 1, "maxLength": MAX_USERNAME_CHARS},
            "password": {"type": "string", "minLength": 1, "maxLength": MAX_PASSWORD_CHARS},
        },
    },
    "AgentSendInput": {
        "type": "object",
        "required": ["RecipientID", "text_message"],
        "properties": {"RecipientID": ID, "text_message": TEXT},
    },
    "CustomerSendInput": {"type": "object", "required": ["text_message"], "properties": {"text_message": TEXT}},
    "ResolveInput": {
        "type": "object",
        "description": "`customer_id` (their active chat) or `channel_id`.",
        "properties": {"customer_id": ID, "channel_id": SORTABLE},
        "anyOf": [{"required": ["customer_id"]}, {"required": ["channel_id"]}],
    },
    "Empty": {"type": "object", "description": "No fields; an empty body is fine."},
}

ERRORS = {
    "400": "Missing, mistyped or malformed input (`field` names it).",
    "401": "No token, or a bad, expired or revoked one; or wrong username or password.",
    "403": "The token is of another user or role, or the chat is someone else's.",
    "404": "Unknown channel, customer or agent.",
    "409": "The current state does not allow it (second active chat, chat resolved, no active chat).",
    "413": "The body or a field is too large.",
    "415": "A content type other than JSON or form values.",
    "429": "Too many failed logins for this username or address; see `Retry-After`.",
    "503": "The store is busy or the chat could not be assigned; retry after `Retry-After` seconds.",
}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


PAGING = [
    _query("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "Messages per page (default 50)."),
    _query("cursor", SORTABLE, "The `next_cursor` of the previous page."),
]


def _operation(
    summary: str,
    success: tuple[str, str, str],
    errors: tuple[str, ...],
    *,
    body: str | None = None,
    query: list[dict[str, Any]] | None = None,
    auth: bool = True,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    status, schema, description = success
    responses: dict[str, Any] = {
        status: {"description": description, "content": {"application/json": {"schema": ref(schema)}}}
    }
    for code in errors:
        response: dict[str, Any] = {
            "description": ERRORS[code],
            "content": {"application/json": {"schema": ref("Error")}},
        }
        if code in ("429", "503"):
            response["headers"] = {"Retry-After": {"schema": {"type": "string"}, "required": True}}
        responses[code] = response
    extra = dict(extra or {})
    replay = extra.pop("x-replay", None)
    if replay:
        responses[replay[0]] = {"description": replay[2], "content": {"application/json": {"schema": ref(replay[1])}}}
    operation: dict[str, Any] = {"summary": summary, "responses": responses}
    if auth:
        operation["security"] = [{"bearer": []}]
    if body:
        operation["requestBody"] = {
            "required": False,
            "content": {media: {"schema": ref(body)} for media in INPUT_TYPES},
        }
    if query:
        operation["parameters"] = query
    operation.update(extra)
    return operation


AUTHED = ("400", "401", "403", "413", "415", "503")
IDEMPOTENCY = {
    "x-replay": ("200", "Message", "A repeat with the same Idempotency-Key: the first message; nothing stored."),
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY.pattern},
            "description": "Repeat a send safely: the same key within 24 h stores nothing and answers 200 "
            "with the first message.",
        }
    ],
}


def _path(role: str) -> dict[str, Any]:
    return {
        "name": f"{role}_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    }


def _with_path(role: str, operations: dict[str, Any]) -> dict[str, Any]:
    return {"parameters": [_path(role)], **operations}


PREFLIGHT = {
    "summary": "CORS preflight",
    "description": "204; `Access-Control-Allow-*` headers only for origins listed in CORS_ALLOWED_ORIGINS.",
    "security": [],
    "responses": {"204": {"description": "Preflight answered."}},
}


def build() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the whole API."""
    login = ("200", "Session", "Logged in.")
    paths = {
        "/agent/login": {
            "post": _operation(
                "Agent login: goes online",
                login,
                ("400", "401", "413", "415", "429", "503"),
                body="LoginInput",
                auth=False,
            ),
        },
        "/customer/login": {
            "post": _operation(
                "Customer login", login, ("400", "401", "413", "415", "429", "503"), body="LoginInput", auth=False
            ),
        },
        "/agent/{agent_id}/chat/active": _with_path(
            "agent",
            {
                "get": _operation("The agent's active chats", ("200", "ActiveChats", "Oldest first."), AUTHED),
            },
        ),
        "/agent/{agent_id}/chat": _with_path(
            "agent",
            {
                "get": _operation(
                    "History of one of the agent's chats (by channel, or a customer's active chat)",
                    ("200", "HistoryPage", "One page of messages."),
                    (*AUTHED, "404", "409"),
                    query=[
                        _query("channel_id", SORTABLE, "The chat (active or resolved)."),
                        _query("customer_id", ID, "Without channel_id: this customer's active chat."),
                        _query("agent_id", ID, "Optional; must equal the path."),
                        *PAGING,
                    ],
                ),
            },
        ),
        "/agent/{agent_id}/chat/send": _with_path(
            "agent",
            {
                "post": _operation(
                    "Send to a customer in the agent's chat",
                    ("201", "Message", "Stored."),
                    (*AUTHED, "404", "409"),
                    body="AgentSendInput",
                    extra=IDEMPOTENCY,
                ),
            },
        ),
        "/agent/{agent_id}/chat/resolve": _with_path(
            "agent",
            {
                "post": _operation(
                    "Resolve one of the agent's chats",
                    ("200", "Channel", "Resolved."),
                    (*AUTHED, "404", "409"),
                    body="ResolveInput",
                ),
            },
        ),
        "/agent/{agent_id}/logout": _with_path(
            "agent",
            {
                "put": _operation(
                    "Agent logout: revokes the token, goes offline",
                    ("200", "LoggedOut", "Logged out."),
                    (*AUTHED, "404"),
                    body="Empty",
                ),
            },
        ),
        "/customer/{customer_id}/chat/initiate": _with_path(
            "customer",
            {
                "post": _operation(
                    "Open a chat; an agent is assigned",
                    ("201", "Channel", "Assigned."),
                    (*AUTHED, "404", "409"),
                    body="Empty",
                ),
            },
        ),
        "/customer/{customer_id}/chat": _with_path(
            "customer",
            {
                "get": _operation(
                    "History of one of the customer's chats (default: the active one)",
                    ("200", "HistoryPage", "One page of messages."),
                    (*AUTHED, "404", "409"),
                    query=[_query("channel_id", SORTABLE, "The chat (active or resolved)."), *PAGING],
                ),
            },
        ),
        "/customer/{customer_id}/chat/send": _with_path(
            "customer",
            {
                "post": _operation(
                    "Send in the customer's active chat",
                    ("201", "Message", "Stored."),
                    (*AUTHED, "409"),
                    body="CustomerSendInput",
                    extra=IDEMPOTENCY,
                ),
            },
        ),
        "/customer/{customer_id}/logout": _with_path(
            "customer",
            {
                "put": _operation(
                    "Customer logout: revokes the token", ("200", "LoggedOut", "Logged out."), AUTHED, body="Empty"
                ),
            },
        ),
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "security": [],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    }
    for item in paths.values():
        item["options"] = PREFLIGHT
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "agent-allocation",
            "version": "1.0.0",
            "description": "Customer-service chat allocation. Inputs are accepted as JSON, form values "
            "(also on GET) or query parameters. Every error has the `Error` shape.",
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
