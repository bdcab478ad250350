"""Requests that reach the function under the HTTP API's catch-all ``$default`` route.

The HTTP API (the deploy default, ``tools/package.py``) has one route per route
of the app (``POST /customer/{customer_id}/chat/initiate``, ...), integrated
with payload format 1.0: a request it matches arrives with
``requestContext.resourcePath`` naming that route, as from the REST API, and
Chalice dispatches it. A request no route matches reaches the function through
the ``$default`` route with ``resourcePath`` ``"$default"``, which Chalice
cannot dispatch (it would answer 405 with an empty ``Allow``). Three kinds
arrive there:

- a path with a trailing slash: an HTTP API route never matches one
  (``/console/``), where the REST API and ``chalice local`` ignore it;
- a method a path does not have (``DELETE /health``);
- a path no route matches.

``default_route`` matches the request's path against the app's routes as the
REST API does (the stage's prefix and one trailing slash dropped, a
``{name}`` segment matching any one non-empty segment, fixed segments before
parameters) and hands the request on under the route found, so Chalice
answers it (405, naming the allowed methods, for a method the route lacks). A
path no route matches is a 404 in our error shape, as the REST API's gateway
response and ``chalice local`` answer it.

The route found is written into the event (``requestContext.resourcePath``,
``pathParameters``) through ``Request.to_original_event()``, Chalice's escape
hatch to the event it dispatches from. Requests from the REST API, from
``chalice local`` and from the HTTP API's own routes name a route of the app
and pass through untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from chalice import Response
from chalice.app import Request

from chalicelib.errors import NotFound
from chalicelib.routes.common import error_response

DEFAULT_STAGE = "$default"
NOT_FOUND_MESSAGE = "no route matches this path"  # the REST API's gateway response and chalice local say it too
Middleware = Callable[[Request, Callable[[Request], Response]], Response]


@dataclass(frozen=True)
class Match:
    route: str  # the app's path template: "/agent/{agent_id}/chat"
    parameters: dict[str, str]


def request_path(path: str, stage: str | None) -> str:
    """The path a route is matched against: without the stage's prefix (an HTTP API's ``path``
    carries it for a named stage) and without one trailing slash."""
    if stage and stage != DEFAULT_STAGE and (path == f"/{stage}" or path.startswith(f"/{stage}/")):
        path = path[len(stage) + 1 :] or "/"
    if path != "/" and path.endswith("/"):
        path = path[:-1]
    return path


def match_route(routes: Iterable[str], path: str) -> Match | None:
    """The route of ``routes`` that ``path`` (stage and trailing slash already dropped) matches, or None.

    A ``{name}`` segment matches any one non-empty segment; where two routes match, the one with a
    fixed segment first wins (``/agent/login`` before ``/agent/{agent_id}``), as in API Gateway.
    """
    segments = path.split("/")
    found: list[tuple[tuple[bool, ...], Match]] = []
    for route in routes:
        parts = route.split("/")
        if len(parts) != len(segments):
            continue
        parameters = {}
        for part, segment in zip(parts, segments, strict=True):
            if part.startswith("{") and part.endswith("}"):
                if not segment:
                    break
                parameters[part[1:-1]] = segment
            elif part != segment:
                break
        else:
            found.append((tuple(p.startswith("{") for p in parts), Match(route, parameters)))
    return min(found, key=lambda pair: pair[0])[1] if found else None


def default_route(routes: Mapping[str, Mapping[str, Any]]) -> Middleware:
    """Middleware (``app.register_middleware(default_route(app.routes), "http")``, after
    ``standard_responses``): a request whose resource path is no route of ``routes`` is matched by
    its path, then handed on under the route found, or answered 404."""

    def middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
        if routes.get(event.path):  # a route of the app (``.get``: Chalice's route table is a defaultdict)
            return get_response(event)
        original = event.to_original_event()
        context = original.get("requestContext") or {}
        path = request_path(original.get("path") or "", context.get("stage"))
        found = match_route([route for route, methods in routes.items() if methods], path)
        if found is None:
            return error_response(NotFound(NOT_FOUND_MESSAGE, code="not_found"))
        context["resourcePath"] = event.path = found.route
        original["pathParameters"] = event.uri_params = found.parameters
        return get_response(event)

    return middleware
