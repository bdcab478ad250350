"""Input fields, each declared once with its reader, limits and JSON Schema (``chalicelib.shapes``
explains the scheme); request input classes (``chalicelib.routes.payloads``) are made of them."""

from __future__ import annotations

import dataclasses
from typing import Any

from chalicelib.inputs import (
    IDEMPOTENCY_KEY,
    MAX_ID,
    MAX_PAGE,
    MAX_PASSWORD_CHARS,
    MAX_TOKEN_CHARS,
    MAX_USERNAME_CHARS,
    SORTABLE_ID,
    Params,
    idempotency_key,
)
from chalicelib.shapes import INPUT, In, declare

ID_SCHEMA = {
    "description": "A positive integer id; form values send it as a decimal string.",
    "anyOf": [
        {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        {"type": "string", "pattern": r"^0*[1-9][0-9]{0,12}$"},
    ],
}
SORTABLE_SCHEMA = {"type": "string", "pattern": SORTABLE_ID.pattern, "description": "26 characters, Crockford base32"}


def id_field(*, wire: str | None = None, required: bool = False, description: str = "") -> Any:
    """A positive integer id (JSON number or decimal string)."""
    schema = {**ID_SCHEMA, "description": description} if description else ID_SCHEMA
    return declare(In(lambda p, n, _s: p.id(n, required=required), schema, wire, required))


def sortable_id_field(*, description: str = "") -> Any:
    """An optional channel or message id."""
    schema = {**SORTABLE_SCHEMA, "description": description} if description else SORTABLE_SCHEMA
    return declare(In(lambda p, n, _s: p.sortable_id(n), schema))


def text_field(*, wire: str, setting: str, documented_max: int, description: str) -> Any:
    """Required free text of at most ``settings.<setting>`` characters (``documented_max`` by default)."""
    schema = {"type": "string", "minLength": 1, "maxLength": documented_max, "description": description}
    return declare(In(lambda p, n, s: p.text(n, getattr(s, setting)), schema, wire, required=True))


def username_field() -> Any:
    schema = {"type": "string", "minLength": 1, "maxLength": MAX_USERNAME_CHARS}
    return declare(In(lambda p, n, _s: p.username(n), schema, required=True, body_only=True))


def password_field() -> Any:
    schema = {"type": "string", "minLength": 1, "maxLength": MAX_PASSWORD_CHARS}
    return declare(In(lambda p, n, _s: p.password(n), schema, required=True, body_only=True))


def device_token_field() -> Any:
    """The optional ``device_token`` of an earlier login of this username (body only)."""
    schema = {
        "type": "string",
        "maxLength": MAX_TOKEN_CHARS,
        "description": "The device_token of an earlier successful login of this username: such a "
        "login is throttled on its own, not with its address or username.",
    }
    return declare(In(lambda p, n, _s: p.token(n), schema, body_only=True))


def choice_field(
    values: tuple[str, ...], *, required: bool = False, default: str | None = None, description: str = ""
) -> Any:
    """One of ``values``."""
    schema = {"type": "string", "enum": list(values), "description": description}
    return declare(
        In(lambda p, n, _s: p.choice(n, values, required=required, default=default), schema, required=required)
    )


def team_field() -> Any:
    """An optional team name, one of ``settings.teams``; absent: the default team (``AGENT_POOL``)."""
    schema = {
        "type": "string",
        "pattern": "^[a-z0-9_-]{1,32}$",
        "description": "A team (one of TEAMS); default: the default team. Unknown teams are a 400.",
    }
    return declare(In(lambda p, n, s: p.choice(n, s.teams, required=False, default=s.agent_pool), schema))


def number_field(minimum: int, maximum: int, *, description: str = "") -> Any:
    """An optional whole number in a range (JSON number or decimal string)."""
    schema = {
        "description": description,
        "anyOf": [
            {"type": "integer", "minimum": minimum, "maximum": maximum},
            {"type": "string", "pattern": r"^[0-9]{1,6}$"},
        ],
    }
    return declare(In(lambda p, n, _s: p.number(n, minimum, maximum), schema))


def cursor_field(*, description: str = "The `next_cursor` of the previous page.") -> Any:
    """An opaque page cursor (the list it belongs to checks it)."""
    schema = {"type": "string", "maxLength": MAX_TOKEN_CHARS, "description": description}
    return declare(In(lambda p, n, _s: p.token(n), schema))


def page_limit_field(
    *, documented_default: int, default_setting: str | None = None, maximum: int = MAX_PAGE, items: str = "Messages"
) -> Any:
    """A page size, 1 to ``maximum``; absent means ``settings.<default_setting>``, or
    ``documented_default`` for a list whose default is no setting."""
    schema = {
        "type": "integer",
        "minimum": 1,
        "maximum": maximum,
        "description": f"{items} per page (default {documented_default}).",
    }

    def read(p: Params, n: str, s: Any) -> int:
        default = getattr(s, default_setting) if default_setting else documented_default
        return p.limit(n, default, maximum)

    return declare(In(read, schema))


def wait_field(*, maximum: int) -> Any:
    """Long-poll: seconds to wait for something new, 0 (the default: answer at once) to ``maximum``."""
    schema = {
        "type": "integer",
        "minimum": 0,
        "maximum": maximum,
        "description": f"Long-poll: with no message after `cursor` yet, wait up to this many seconds "
        f"(0-{maximum}) for one; answers as soon as one is stored.",
    }
    return declare(In(lambda p, n, _s: p.seconds(n, maximum), schema))


def idempotency_key_header(*, description: str) -> Any:
    schema = {"type": "string", "pattern": IDEMPOTENCY_KEY.pattern}
    spec = In(lambda h, n, _s: idempotency_key(h.get(n.lower())), schema, "Idempotency-Key", header=True)
    return dataclasses.field(metadata={INPUT: spec, "description": description})
