"""The web console: its static files (``chalicelib/console/``), served by the API itself.

``GET /console/`` is the page, ``GET /console/{asset}`` its scripts, styles
and icon. They ship in the Lambda zip with the code (``chalicelib/`` is
packaged whole, and counts in ``make package``'s size check), so one deploy
gives the API and the console that speaks to it, on the same origin: no
bucket, no CORS, and a page whose ``'self'`` is the API.

The pages get their own Content-Security-Policy (``PAGE_POLICY``: scripts,
styles and images from this origin only, no inline script; fetches to this
origin and to the WebSocket API's origin); every other answer keeps the API's
deny-all policy (``common.SECURITY_HEADERS``).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from chalice import Blueprint, Response

from chalicelib.config import get_settings
from chalicelib.errors import NotFound
from chalicelib.routes.common import current_request, route

bp = Blueprint(__name__)

FILES = Path(__file__).resolve().parent.parent / "console"
INDEX = "index.html"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
MEDIA = tuple(TYPES.values())
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src {connect}; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@cache
def assets() -> dict[str, tuple[str, str]]:
    """Every file of the console by name: (content type, text). Read once per process."""
    return {
        path.name: (TYPES[path.suffix], path.read_text(encoding="utf-8"))
        for path in sorted(FILES.iterdir())
        if path.suffix in TYPES
    }


def page_policy(ws_url: str | None) -> str:
    """The console's CSP: ``connect-src`` is this origin plus the WebSocket API's origin, if there is one."""
    connect = ["'self'"]
    if ws_url:
        parts = urlsplit(ws_url)
        connect.append(f"{parts.scheme}://{parts.netloc}")
    return PAGE_POLICY.format(connect=" ".join(connect))


def _serve(name: str) -> Response:
    found = assets().get(name)
    if found is None:
        raise NotFound(f"the console has no file {name!r}", code="not_found")
    content_type, text = found
    headers = {
        "Content-Type": content_type,
        "Content-Security-Policy": page_policy(get_settings().ws_url),
        "Cache-Control": "no-cache",
    }
    return Response(body=text, status_code=200, headers=headers)


@route(
    bp, "GET", "/console", ok=(200, None, "The console's page (HTML)."), media=MEDIA,
    also=((301, None, "`/console` without the slash: moved to `/console/`, so relative links resolve."),),
)  # fmt: skip
def page() -> Response:
    """The web console for customers, agents and supervisors"""
    path = (current_request().context or {}).get("path") or ""
    if not path.endswith("/"):
        # Relative: behind API Gateway a stage name may precede the path (/api/console).
        return Response(body="", status_code=301, headers={"Location": "console/"})
    return _serve(INDEX)


@route(
    bp, "GET", "/console/{asset}", ok=(200, None, "A file of the console (script, style sheet, icon)."),
    media=MEDIA, errors=(404,),
)  # fmt: skip
def asset(asset: str) -> Response:
    """A file of the web console"""
    return _serve(asset)
