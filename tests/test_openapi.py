"""The published contract: valid OpenAPI 3.1, in step with the routes and with the committed file."""

import pytest
from openapi_spec_validator import validate

from app import app
from chalicelib.openapi import build
from tools import openapi as writer


def test_the_document_is_valid_openapi_3_1():
    document = build()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_route_is_documented_and_every_documented_route_exists():
    routes = {(path, method.lower()) for path, methods in app.routes.items() for method in methods}
    documented = {
        (path, method)
        for path, item in build()["paths"].items()
        for method in item
        if method in ("get", "post", "put", "delete", "patch", "options")
    }
    assert routes == documented


def test_the_committed_openapi_json_is_up_to_date():
    assert writer.PATH.read_text() == writer.render(), "run `make openapi` and commit openapi.json"


@pytest.mark.parametrize("engine", ["moto"], indirect=True)
def test_the_document_is_served(api):
    reply = api.request("GET", "/openapi.json")
    assert reply.status == 200 and reply.body == build()
