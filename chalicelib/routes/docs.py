"""The API contract, served at GET /openapi.json (no token needed)."""

from __future__ import annotations

from functools import cache

from chalice import Blueprint, Response

from chalicelib import openapi
from chalicelib.routes.common import api_view, json

bp = Blueprint(__name__)


@cache
def _document() -> dict:
    return openapi.build()


@bp.route("/openapi.json", methods=["GET"])
@api_view
def openapi_document() -> Response:
    return json(_document())
