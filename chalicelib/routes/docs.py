"""The API contract, served at GET /openapi.json (no token needed)."""

from __future__ import annotations

from functools import cache

from chalice import Blueprint, Response

from chalicelib import openapi
from chalicelib.routes.common import json, route

bp = Blueprint(__name__)


@cache
def _document() -> dict:
    return openapi.build(bp.current_app.routes)


@route(bp, "GET", "/openapi.json", ok=(200, None, "OpenAPI 3.1"))
def openapi_document() -> Response:
    """This document"""
    return json(_document())
