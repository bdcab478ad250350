"""What every route shares: declaring it, reading input, authenticating, and the one error mapping.

``route`` declares a view (see its docstring). ``api_view`` wraps each view: a
``DomainError`` raised below it becomes a JSON error with the status from
``STATUS`` (the only place statuses are chosen). ``standard_responses``
(registered as middleware in app.py) gives every response, Chalice's own
errors included, the same error shape and headers.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import auth, inputs, logs, sessions, shapes
from chalicelib.config import get_settings
from chalicelib.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    Unauthorized,
    Unavailable,
    UnsupportedMediaType,
)
from chalicelib.models import Principal
from chalicelib.routes.payloads import ErrorDetail, ErrorReply
from chalicelib.store import get_store

log = logging.getLogger(__name__)

# Every content type a route accepts: JSON for modern clients, form values for
# the original's Postman collection (Chalice answers 415 to anything else).
CONTENT_TYPES = ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"]

STATUS: dict[type[DomainError], int] = {
    InvalidInput: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    TooManyRequests: 429,
    Unavailable: 503,
}

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


def error_response(error: DomainError) -> Response:
    status = next(code for cls, code in STATUS.items() if isinstance(error, cls))
    body = ErrorReply(ErrorDetail(error.code, error.message, error.field, error.details)).to_dict()
    headers = {"Content-Type": "application/json"}
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="agent-allocation"'
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return Response(body=body, status_code=status, headers=headers)


def api_view(view: Callable[..., Any]) -> Callable[..., Response]:
    """Turn domain errors raised by ``view`` into JSON error responses."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except DomainError as error:
            if isinstance(error, Unavailable):
                log.warning("request failed with 503: %s", error.code)
            return error_response(error)

    return wrapper


# The request being served by this thread. Chalice keeps only one
# ``app.current_request`` per app, which ``chalice local`` (threaded) shares
# between concurrent requests; each request's own object arrives here through
# the middleware, so views read it with ``current_request()`` instead.
_current_request: ContextVar[Request] = ContextVar("current_request")


def _request_id_of(event: Request) -> str | None:
    """API Gateway's id of the request (what its own logs and errors name), else Lambda's."""
    return (event.context or {}).get("requestId") or logs.lambda_request_id(event.lambda_context)


def current_request() -> Request:
    return _current_request.get()


def standard_responses(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Middleware: the request for this thread; security headers on everything; Chalice's own
    errors in our error shape."""
    logs.configure(get_settings())
    token = _current_request.set(event)
    try:
        with logs.handling(_request_id_of(event)) as request_id:
            response = get_response(event)
    finally:
        _current_request.reset(token)
    response.headers.setdefault("X-Request-Id", request_id)
    _add_cors(event, response)
    body = response.body
    if isinstance(body, dict) and set(body) == {"Code", "Message"}:
        code = re.sub(r"(?<!^)(?=[A-Z])", "_", str(body["Code"])).lower().removesuffix("_error")
        response.body = ErrorReply(ErrorDetail(code, str(body["Message"]))).to_dict()
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


CORS_METHODS = "GET, POST, PUT, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type, Idempotency-Key"


def preflight(**_path_ids: str) -> Response:
    """``OPTIONS`` on any path: 204; the CORS headers, if the origin is allowed, come from ``_add_cors``."""
    return Response(body="", status_code=204, headers={"Allow": CORS_METHODS})


def _add_cors(request: Request | None, response: Response) -> None:
    """Allow the request's ``Origin`` only if it is listed in CORS_ALLOWED_ORIGINS (never ``*``).

    Tokens travel in the Authorization header, not in cookies, so credentials
    are never allowed cross-origin.
    """
    origin = request.headers.get("origin") if request is not None else None
    if not origin:
        return
    response.headers["Vary"] = "Origin"
    if origin not in get_settings().cors_allowed_origins:
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
        response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"


def json(body: Any, status: int = 200) -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


def source_address(request: Request) -> str | None:
    """The caller's address as API Gateway saw it (never a client-set header)."""
    identity = (request.context or {}).get("identity") or {}
    return identity.get("sourceIp") or None


def read_fields(cls: type[Any], request: Request) -> Any:
    """The request's query parameters, body fields and headers, size-checked and parsed into ``cls``."""
    settings = get_settings()
    content_type = request.headers.get("content-type", "application/json")
    limit = inputs.body_limit(settings.max_message_chars, settings.max_body_bytes)
    body = inputs.parse_body(content_type, request.raw_body or b"", limit)
    query = dict(request.query_params) if request.query_params else {}
    return shapes.read_input(cls, inputs.Params(query, body), request.headers, settings)


def authenticate(request: Request, role: str, path_id: str) -> Principal:
    """The caller's verified token, which must belong to the ``role`` user ``path_id`` of the path.

    401 without a valid token, 400 for a malformed path id, 403 for a token
    of another user or role. Revocation is checked by the store, inside the
    same round trip as the route's own first read or write.
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("an Authorization: Bearer <token> header is required", code="missing_token")
    principal = auth.verify_token(get_settings(), token.strip())
    user_id = inputs.parse_id(f"{role}_id", path_id)
    auth.authorize(principal, role, user_id)
    return principal


# -- declaring a route ---------------------------------------------------------

# A success answer: (status, reply class, description); a class of None is any JSON object.
Answer = tuple[int, "type | None", str]
AUTHENTICATED_ERRORS = (400, 401, 403, 413, 415, 503)


@dataclass(frozen=True)
class RouteSpec:
    """What ``route`` declared; ``chalicelib.openapi`` documents the route from it."""

    method: str
    path: str
    role: str | None
    fields: type | None
    fields_in: str  # "body" or "query": where the document lists the fields
    ok: Answer
    also: tuple[Answer, ...]
    errors: tuple[int, ...]
    summary: str
    media: tuple[str, ...] = ("application/json",)  # the success answers' content types


def route(
    bp: Blueprint,
    method: str,
    path: str,
    *,
    ok: Answer,
    role: str | None = None,
    body: type | None = None,
    query: type | None = None,
    also: tuple[Answer, ...] = (),
    errors: tuple[int, ...] = (),
    media: tuple[str, ...] = ("application/json",),
) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Declare a view of ``bp``: ``@route(bp, "POST", "/agent/{agent_id}/chat/resolve", role=AGENT, ...)``.

    The route accepts JSON and form values, and its domain errors become JSON
    errors (``api_view``). With a ``role``, the caller must hold a valid token
    of the path's user (``{<role>_id}``): the view's first argument is that
    ``Principal``. With an input class (``body=`` or ``query=``, only where the
    document lists its fields: the route reads query and body alike), the next
    argument is the parsed input. ``ok``/``also`` are the success answers and
    ``errors`` the statuses the route adds to the authenticated ones; ``media``
    the success answers' content types; the view's docstring is its summary.
    Path ids (``*_id``) reach the view as positive integers (``channel_id``: a
    checked sortable id), other path parameters as strings. The view is marked with ``role`` and ``spec`` for
    the tests and the OpenAPI document.
    """
    if role is not None and f"{{{role}_id}}" not in path:
        raise ValueError(f"{path}: a route for role {role!r} needs {{{role}_id}} in its path")
    fields = body or query

    def declare(view: Callable[..., Response]) -> Callable[..., Response]:
        if not view.__doc__:
            raise ValueError(f"{path}: the view needs a docstring (its summary in the API document)")

        @functools.wraps(view)
        def handler(**path_ids: str) -> Response:
            request = current_request()
            args: list[Any] = []
            if role is not None:
                args.append(authenticate(request, role, path_ids[f"{role}_id"]))
            if fields is not None:
                args.append(read_fields(fields, request))
            others = {n: inputs.parse_path_value(n, v) for n, v in path_ids.items()}
            others.pop(f"{role}_id", None)
            return view(*args, **others)

        wrapped: Any = api_view(handler)
        wrapped.role = role
        wrapped.spec = RouteSpec(
            method=method,
            path=path,
            role=role,
            fields=fields,
            fields_in="query" if query else "body",
            ok=ok,
            also=also,
            errors=(AUTHENTICATED_ERRORS if role else ()) + errors,
            summary=view.__doc__.strip().splitlines()[0],
            media=media,
        )
        bp.route(path, methods=[method], content_types=CONTENT_TYPES)(wrapped)
        return wrapped

    return declare


def reply(value: Any, status: int = 200) -> Response:
    """A declared reply (a value with a ``JSON`` shape) as the response."""
    return json(value.to_dict(), status)


def login(role: str, fields: Any) -> Response:
    """What every login route does: check the credentials (throttled), answer the session."""
    source = source_address(current_request())
    session = sessions.login(
        get_store(), get_settings(), role, fields.username, fields.password, source, device_token=fields.device_token
    )
    return reply(session)
