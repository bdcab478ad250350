"""The published contract (pure): valid OpenAPI 3.1, in step with the routes, the committed file and the settings.

That the API serves it and answers within it is in tests/api/test_openapi.py.
"""

import pytest
from openapi_spec_validator import validate

from app import app
from chalicelib.config import load_settings
from chalicelib.openapi import build
from chalicelib.routes.payloads import DOCUMENTED_MAX_MESSAGE_CHARS, DOCUMENTED_PAGE_SIZE
from tools import openapi as writer
from tools.openapi import document


def test_the_document_is_valid_openapi_3_1():
    assert document()["openapi"].startswith("3.1")
    validate(document())


def test_every_route_is_documented_and_every_documented_route_exists():
    routes = {(path, method.lower()) for path, methods in app.routes.items() for method in methods}
    documented = {
        (path, method)
        for path, item in document()["paths"].items()
        for method in item
        if method in ("get", "post", "put", "delete", "patch", "options")
    }
    assert routes == documented


def test_a_route_not_declared_with_the_route_helper_stops_the_build():
    def undeclared():
        return {}

    entry = type("Entry", (), {"view_function": staticmethod(undeclared)})()
    with pytest.raises(ValueError, match="not declared"):
        build({"/new": {"GET": entry}})


def test_the_committed_openapi_json_is_up_to_date():
    assert writer.PATH.read_text() == writer.render(), "run `make openapi` and commit openapi.json"


def test_the_documented_defaults_are_the_settings_defaults(monkeypatch):
    for name in ("MAX_MESSAGE_CHARS", "HISTORY_PAGE_SIZE"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert (settings.max_message_chars, settings.history_page_size) == (
        DOCUMENTED_MAX_MESSAGE_CHARS,
        DOCUMENTED_PAGE_SIZE,
    )
