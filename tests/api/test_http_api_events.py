"""The HTTP API's events (payload format 1.0) through Chalice's real handler, ``app.app(event, context)``.

The events are ``tests/support/fixtures/http_api_v1_events.json``: the AWS Developer Guide's example of
format 1.0, field for field, with the values real HTTP APIs send where the guide shows placeholders (its
``source`` says which). Each goes in where Lambda hands it over, so routing by ``resourcePath``, the
base64-encoded form bodies, the headers, the path and query parameters and the source address that login
throttling counts are read exactly as deployed behind the HTTP API (``tools/package.py``). On moto only:
the event's shape is under test, not the engine (the other API tests run on both, through chalice's client).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from app import app
from chalicelib import store as store_module
from chalicelib.config import get_settings
from chalicelib.routes.common import SECURITY_HEADERS
from chalicelib.store.dynamo import get_client
from tests.support import FIXTURES, invariants
from tools.api_client import Reply

RECORDED = json.loads((FIXTURES / "http_api_v1_events.json").read_text())
# What a Lambda function may answer in payload format 1.0 (the Developer Guide's response format).
RESPONSE_FIELDS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}


@pytest.fixture
def engine() -> str:
    """moto only (overrides the suite's two engines)."""
    return "moto"


class LambdaContext:
    """What the handler reads of Lambda's context object."""

    aws_request_id = "2d1e8a40-5c1f-4f4e-9d0b-3a7c6e5f1b2a"
    function_name = "agent-allocation-dev-APIHandler-AbCdEf123456"


def event(name: str, **values: str) -> dict[str, Any]:
    """A recorded event, its ``{{placeholders}}`` filled in with ``values``."""
    text = json.dumps(RECORDED["events"][name])
    for placeholder, value in values.items():
        text = text.replace("{{" + placeholder + "}}", value)
    assert "{{" not in text, f"{name}: a placeholder is not filled in"
    return json.loads(text)


def from_address(recorded: dict[str, Any], source_ip: str, forwarded_for: str | None = None) -> dict[str, Any]:
    """``recorded`` as sent from ``source_ip`` (the address API Gateway saw), with any X-Forwarded-For."""
    recorded["requestContext"]["identity"]["sourceIp"] = source_ip
    forwarded = forwarded_for or source_ip
    recorded["headers"]["x-forwarded-for"] = forwarded
    recorded["multiValueHeaders"]["x-forwarded-for"] = [forwarded]
    return recorded


def invoke(recorded: dict[str, Any]) -> Reply:
    """Call the function as Lambda does; the answer must be in payload format 1.0."""
    response = app(recorded, LambdaContext())
    assert set(response) <= RESPONSE_FIELDS and {"statusCode", "headers", "body"} <= set(response), response
    assert isinstance(response["body"], str) and not response.get("isBase64Encoded")
    headers = response["headers"]
    is_json = headers.get("Content-Type", "application/json").startswith("application/json")
    body = json.loads(response["body"]) if is_json and response["body"] else response["body"]
    return Reply(response["statusCode"], headers, body)


def logged_in(name: str) -> str:
    reply = invoke(event(name))
    assert reply.status == 200, reply.body
    return reply.body["token"]


def throttle_counts(kind: str) -> dict[str, int]:
    """Login attempts counted per subject of ``kind`` (``source``: an address) in the tokens table."""
    items = get_client().scan(TableName=get_settings().tokens_table)["Items"]
    counts: dict[str, int] = {}
    for item in items:
        _, item_kind, subject, _window = item["pk"]["S"].split("#")
        if item_kind == kind:
            counts[subject] = counts.get(subject, 0) + int(item.get("attempts", {"N": "0"})["N"])
    return counts


# -- bodies: HTTP APIs base64-encode form bodies; JSON arrives as text ----------------------------------------


def test_a_urlencoded_login_arrives_base64_encoded_and_logs_the_agent_in(seeded):
    recorded = event("agent_login_form")
    assert recorded["isBase64Encoded"] is True

    reply = invoke(recorded)

    assert reply.status == 200
    assert reply.body["user"]["username"] == "annasianna" and reply.body["user"]["role"] == "agent"
    (agent,) = [a for a in invariants.snapshot()["agents"] if a["agent_id"] == 1]
    assert agent["status"] == "online"


def test_a_form_body_sent_as_text_is_read_too(seeded):
    """The REST API's way (form bodies as text): the same handler reads both."""
    recorded = event("agent_login_form")
    recorded["body"] = base64.b64decode(recorded["body"]).decode()
    recorded["isBase64Encoded"] = False

    reply = invoke(recorded)

    assert reply.status == 200 and reply.body["user"]["username"] == "annasianna"


def test_a_multipart_login_as_browsers_and_postman_send_it(seeded):
    reply = invoke(event("customer_login_multipart"))
    assert reply.status == 200
    assert reply.body["user"] == {"id": 1, "username": "daungugur", "role": "customer", "active_channel_id": None}


def test_a_json_login_arrives_as_text(seeded):
    recorded = event("supervisor_login_json")
    assert recorded["isBase64Encoded"] is False

    reply = invoke(recorded)

    assert reply.status == 200 and reply.body["user"]["role"] == "supervisor"


# -- routes with path parameters, the Authorization and Idempotency-Key headers, a query -----------------------


def test_initiate_reaches_the_customer_of_the_path_with_the_bearer_token(seeded):
    agent_token = logged_in("agent_login_form")
    customer_token = logged_in("customer_login_multipart")
    assert agent_token

    reply = invoke(event("customer_initiate", customer_token=customer_token))

    assert reply.status == 201 and reply.body["agent_id"] == 1
    (channel,) = invariants.check()["channels"]
    assert (channel["customer_id"], channel["agent_id"], channel["status"]) == (1, 1, "active")
    assert channel["channel_id"] == reply.body["channel_id"]


def test_a_token_of_another_customer_than_the_paths_is_refused(seeded):
    customer_token = logged_in("customer_login_multipart")  # customer 1
    recorded = event("customer_initiate", customer_token=customer_token)
    recorded["path"] = recorded["requestContext"]["path"] = "/api/customer/2/chat/initiate"
    recorded["pathParameters"] = {"customer_id": "2"}

    reply = invoke(recorded)

    assert reply.status == 403
    assert invariants.snapshot()["channels"] == []


def test_header_names_are_read_in_any_case(seeded):
    """The guide's examples lowercase header names; recorded events keep some as sent (``Content-Type``)."""
    logged_in("agent_login_form")
    recorded = event("customer_initiate", customer_token=logged_in("customer_login_multipart"))
    for headers in (recorded["headers"], recorded["multiValueHeaders"]):
        headers["Authorization"] = headers.pop("authorization")

    assert invoke(recorded).status == 201


def test_a_send_repeated_with_its_idempotency_key_stores_one_message(seeded):
    logged_in("agent_login_form")
    customer_token = logged_in("customer_login_multipart")
    assert invoke(event("customer_initiate", customer_token=customer_token)).status == 201

    first = invoke(event("customer_send", customer_token=customer_token))
    again = invoke(event("customer_send", customer_token=customer_token))

    assert (first.status, again.status) == (201, 200)
    assert first.body["text"] == "Halo, pesanan saya belum sampai"
    assert again.body["message_id"] == first.body["message_id"]
    assert [m["text"] for m in invariants.check()["messages"]] == ["Halo, pesanan saya belum sampai"]


def test_the_history_reads_the_channel_and_the_limit_from_the_query(seeded):
    agent_token = logged_in("agent_login_form")
    customer_token = logged_in("customer_login_multipart")
    channel_id = invoke(event("customer_initiate", customer_token=customer_token)).body["channel_id"]
    invoke(event("customer_send", customer_token=customer_token))

    reply = invoke(event("agent_history", agent_token=agent_token, channel_id=channel_id))

    assert reply.status == 200
    assert [m["text"] for m in reply.body["messages"]] == ["Halo, pesanan saya belum sampai"]


# -- the source address: what API Gateway saw, never X-Forwarded-For -------------------------------------------


def test_failed_logins_from_one_address_are_throttled_and_another_address_is_not(seeded, monkeypatch):
    monkeypatch.setenv("LOGIN_MAX_FAILURES_PER_SOURCE", "3")
    store_module.reset()
    attacker = "198.51.100.7"
    assert event("agent_login_wrong_password")["requestContext"]["identity"]["sourceIp"] == attacker

    # Given three failed logins from one address, each claiming another X-Forwarded-For
    failures = [
        invoke(from_address(event("agent_login_wrong_password"), attacker, f"203.0.113.{n}")) for n in (1, 2, 3)
    ]
    # When that address tries again, even with the right password
    refused = invoke(event("agent_login_wrong_password"))
    right_password = invoke(from_address(event("agent_login_form"), attacker))
    # Then it is refused, while the same user logs in from the address of the recorded event
    elsewhere = invoke(event("agent_login_form"))

    assert [f.status for f in failures] == [401, 401, 401]
    assert refused.status == right_password.status == 429
    assert refused.error["code"] == "too_many_attempts" and int(refused.headers["Retry-After"]) >= 1
    assert elsewhere.status == 200
    counted = throttle_counts("source")
    assert counted[attacker] == 3
    assert not {f"203.0.113.{n}" for n in (1, 2, 3)} & set(counted)  # X-Forwarded-For is never counted
    assert counted.get("192.0.2.10", 0) == 0  # the successful login's attempt was given back


# -- what reaches the function under $default ----------------------------------------------------------------


def test_an_unknown_path_is_our_404_with_our_headers(seeded):
    recorded = event("unknown_path")
    assert recorded["requestContext"]["resourcePath"] == "$default"

    reply = invoke(recorded)

    assert reply.status == 404
    assert reply.body == {"error": {"code": "not_found", "message": "no route matches this path"}}
    assert reply.headers["X-Request-Id"] == recorded["requestContext"]["requestId"]
    for name, value in SECURITY_HEADERS.items():
        assert reply.headers[name] == value


def test_the_guides_own_example_event_is_our_404(seeded):
    """``GET /my/path`` is no route of the app."""
    reply = invoke(json.loads(json.dumps(RECORDED["documented"])))
    assert reply.status == 404 and reply.error["code"] == "not_found"


def test_the_console_with_its_trailing_slash_is_served_as_through_the_rest_api(seeded):
    """No HTTP API route matches ``/api/console/``; the REST API and chalice local serve it as ``/console``."""
    reply = invoke(event("console_trailing_slash"))
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/html") and "<!doctype html>" in reply.body


def test_a_method_the_path_lacks_is_405_naming_the_allowed_methods(seeded):
    reply = invoke(event("health_delete"))
    assert reply.status == 405 and reply.error["code"] == "method_not_allowed"
    assert reply.headers["Allow"] == "GET, OPTIONS"


def test_under_the_default_route_path_parameters_come_from_the_path(seeded):
    """A route with parameters, reached through ``$default`` (a trailing slash): parameters from the path."""
    logged_in("agent_login_form")
    recorded = event("customer_initiate", customer_token=logged_in("customer_login_multipart"))
    recorded["resource"] = recorded["requestContext"]["resourcePath"] = recorded["requestContext"]["resourceId"] = (
        "$default"
    )
    recorded["path"] = recorded["requestContext"]["path"] = "/api/customer/1/chat/initiate/"
    recorded["pathParameters"] = None

    reply = invoke(recorded)

    assert reply.status == 201 and reply.body["agent_id"] == 1
    assert invariants.check()["channels"][0]["customer_id"] == 1
