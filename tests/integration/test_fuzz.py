"""Fuzzing the API against its published contract with schemathesis (real HTTP, DynamoDB Local).

Every operation of the OpenAPI document gets generated requests (valid and
invalid bodies, queries and headers) sent to ``chalice local``, with a valid
token of the path's user (a fresh one per request, so logouts do not starve
the rest). No response may be a 5xx, and every response must conform to the
document: status, content type, headers and body schema.

``FUZZ_EXAMPLES`` sets the examples per operation (15 by default; try 200).

Marked ``serial``: under pytest-xdist schemathesis runs only the first
operation (seen when it was tried, by logging each case: 1 of 60), so ``make test`` runs this module in a
second, single-process pass, and the module refuses to run in a worker.
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from chalicelib.auth import issue_token
from chalicelib.config import get_settings
from tests.support.live import LiveApi, User
from tools.openapi import document

schema = schemathesis.openapi.from_dict(document())
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
pytestmark = pytest.mark.serial


@pytest.fixture(autouse=True)
def not_in_an_xdist_worker():
    if os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.fail("run the fuzz tests without -n (make test does): under xdist only one operation would run")


@pytest.fixture
def chat_world(live):
    """Agent 1 online, customer 1 with an active chat and one message."""
    api = LiveApi(live)
    api.login(User("agent", 1, "annasianna", "strongpass1"))
    customer = api.login(User("customer", 1, "daungugur", "strongpass1"))
    assert api.initiate(1, customer).status == 201
    assert api.customer_send(1, customer, "hello").status == 201
    return live


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_contract(case, chat_world):
    headers = {}
    for name in list(case.path_parameters or {}):
        case.path_parameters[name] = 1  # the user whose token we hold
    if case.operation.definition.raw.get("security", [{"bearer": []}]):
        role = "agent" if case.path.startswith("/agent/") else "customer"
        token, _ = issue_token(get_settings(), role, 1)
        headers["Authorization"] = f"Bearer {token}"
    wait = (case.query or {}).get("wait")
    if isinstance(wait, int) and wait > 1:
        case.query["wait"] = 1  # a long-poll of up to 20 s would outlast the client's timeout: 1 s proves it
    case.call_and_validate(base_url=chat_world, headers=headers, checks=CHECKS)
