"""The API contract: an OpenAPI 3.1 document generated from the app's routes.

Each route is declared once with ``chalicelib.routes.common.route``: its
method, path, role, input class and answers. The schemas come from the same
declarations that parse the input and make the JSON (``chalicelib.shapes``),
so the document cannot drift from the code. A route declared any other way
has no ``spec`` and stops the build.

Served at ``GET /openapi.json`` and committed as ``openapi.json`` (``make
openapi`` rewrites it; a test fails if the two differ, or if the document is
invalid).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from chalicelib.fields import SORTABLE_SCHEMA
from chalicelib.inputs import MAX_ID
from chalicelib.routes.common import RouteSpec
from chalicelib.routes.payloads import ErrorReply
from chalicelib.shapes import input_fields, input_schema, output_schema, ref, shape_name, type_schema

ERRORS = {
    400: "Missing, mistyped or malformed input (`field` names it).",
    401: "No token, or a bad, expired or revoked one; or wrong username or password.",
    403: "The token is of another user or role, or the chat is someone else's.",
    404: "Unknown channel, customer or agent.",
    409: "The current state does not allow it (second active chat, chat resolved, no active chat).",
    413: "The body or a field is too large.",
    415: "A content type other than JSON or form values.",
    429: "Too many failed logins for this username or address; see `Retry-After`.",
    503: "The store is busy or the chat could not be assigned; retry after `Retry-After` seconds.",
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "string"}, "required": True}}
INPUT_TYPES = ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")

PREFLIGHT = {
    "summary": "CORS preflight",
    "description": "204; `Access-Control-Allow-*` headers only for origins listed in CORS_ALLOWED_ORIGINS.",
    "security": [],
    "responses": {"204": {"description": "Preflight answered."}},
}


class _Components:
    """The schemas the operations refer to, collected as they are met."""

    def __init__(self) -> None:
        self.outputs: dict[str, type] = {}
        self.inputs: dict[str, type] = {}

    def answer(self, cls: type | None, description: str, media: tuple[str, ...] = ("application/json",)) -> dict:
        if media != ("application/json",):  # a page or a file of the web console: text, no JSON schema
            return {"description": description, "content": {kind: {"schema": {"type": "string"}} for kind in media}}
        schema = type_schema(cls, self.outputs) if cls is not None else {"type": "object"}
        return {"description": description, "content": {"application/json": {"schema": schema}}}

    def input(self, cls: type) -> dict[str, str]:
        self.inputs[cls.__name__] = cls
        return ref(cls.__name__)

    def schemas(self) -> dict[str, Any]:
        """Every output schema met, and the ones they name, then the inputs'."""
        done: dict[str, Any] = {}
        while pending := [name for name in self.outputs if name not in done]:
            for name in pending:
                done[name] = output_schema(self.outputs[name], self.outputs)
        return {**done, **{name: input_schema(cls) for name, cls in self.inputs.items()}}


def _parameters(spec: RouteSpec) -> list[dict[str, Any]]:
    """The route's header fields, and its query fields when the document lists them there."""
    parameters = []
    for _, wire, field, description in input_fields(spec.fields) if spec.fields else []:
        if not field.header and spec.fields_in != "query":
            continue
        schema = dict(field.schema)
        description = description or schema.pop("description", "")
        parameter = {"name": wire, "in": "header" if field.header else "query", "required": field.required}
        parameters.append({**parameter, "schema": schema, "description": description})
    return parameters


def _operation(spec: RouteSpec, components: _Components) -> dict[str, Any]:
    status, cls, description = spec.ok
    responses = {str(status): components.answer(cls, description, spec.media)}
    for code in spec.errors:
        responses[str(code)] = components.answer(ErrorReply, ERRORS[code])
        if code in (429, 503):
            responses[str(code)]["headers"] = RETRY_AFTER
    for status, cls, description in spec.also:
        redirect = 300 <= status < 400
        responses[str(status)] = {"description": description} if redirect else components.answer(cls, description)
    operation: dict[str, Any] = {
        "summary": spec.summary,
        "security": [{"bearer": []}] if spec.role else [],
        "responses": responses,
    }
    if spec.fields is not None and spec.fields_in == "body":
        schema = components.input(spec.fields)
        operation["requestBody"] = {"required": False, "content": {media: {"schema": schema} for media in INPUT_TYPES}}
    parameters = _parameters(spec)
    if parameters:
        operation["parameters"] = parameters
    return operation


def _path_schema(name: str, ids: dict[str, Any]) -> dict[str, Any]:
    if name == "channel_id":
        return dict(SORTABLE_SCHEMA)
    return ids if name.endswith("_id") else {"type": "string"}


def _path_parameters(path: str) -> list[dict[str, Any]]:
    """Every ``{name}`` of the path: a chat's id (``channel_id``), a positive integer id (other
    ``*_id``), else a string (a console file's name)."""
    ids = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    return [
        {"name": name, "in": "path", "required": True, "schema": _path_schema(name, ids)}
        for name in re.findall(r"{(\w+)}", path)
    ]


def build(routes: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes`` (``app.routes``: path -> method -> route entry)."""
    components = _Components()
    paths: dict[str, Any] = {}
    for path, methods in routes.items():
        item: dict[str, Any] = {}
        for method, entry in methods.items():
            if method == "OPTIONS":
                item["options"] = PREFLIGHT
                continue
            spec: RouteSpec | None = getattr(entry.view_function, "spec", None)
            if spec is None:
                raise ValueError(f"{method} {path} is not declared with chalicelib.routes.common.route")
            item[method.lower()] = _operation(spec, components)
        paths[path] = {"parameters": _path_parameters(path), **item} if "{" in path else item
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "agent-allocation",
            "version": "1.0.0",
            "description": "Customer-service chat allocation. Inputs are accepted as JSON, form values "
            f"(also on GET) or query parameters. Every error has the `{shape_name(ErrorReply)}` shape.",
        },
        "paths": paths,
        "components": {
            "schemas": components.schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
