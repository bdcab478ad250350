"""Routes without a token: the API contract (GET /openapi.json) and the health check (GET /health)."""

from __future__ import annotations

from functools import cache

from chalice import Blueprint, Response

from chalicelib import openapi
from chalicelib.routes.common import json, reply, route
from chalicelib.routes.payloads import Health
from chalicelib.store import get_store

bp = Blueprint(__name__)


@cache
def _document() -> dict:
    return openapi.build(bp.current_app.routes)


@route(bp, "GET", "/openapi.json", ok=(200, None, "OpenAPI 3.1"))
def openapi_document() -> Response:
    """This document"""
    return json(_document())


@route(bp, "GET", "/health", ok=(200, Health, "The store is reachable."), errors=(503,))
def health() -> Response:
    """Health check: 200 while the store answers, 503 otherwise"""
    get_store().ping()
    return reply(Health())
