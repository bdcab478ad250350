"""Shared fixtures: a moto DynamoDB with the tables and demo users, and an API driver.

Every test gets fresh tables (moto's ``mock_aws``) and fresh caches, so tests
are independent. The environment is the ``local`` stage of
``.chalice/config.json``, the same one ``make run`` uses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from chalice.test import Client
from moto import mock_aws

from app import app
from chalicelib import store as store_module
from chalicelib.auth import hash_password
from chalicelib.config import get_settings
from chalicelib.store.admin import create_tables
from tests.api import Api
from tools import seed

ROOT = Path(__file__).resolve().parent.parent
STAGE = "local"


def stage_environment() -> dict[str, str]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return dict(config["stages"][STAGE]["environment_variables"])


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


@pytest.fixture
def tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Empty tables in a fresh moto."""
    with mock_aws():
        create_tables(get_settings())
        yield


@pytest.fixture
def seeded(tables: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables with SPEC.md's demo users (password hashes cached across tests for speed)."""
    monkeypatch.setattr(seed, "hash_password", _cached_hash)
    seed.seed_demo()


@pytest.fixture
def api(seeded: None) -> Iterator[Api]:
    with Client(app, stage_name=STAGE) as client:
        yield Api(client)


@pytest.fixture
def store(seeded: None) -> store_module.Store:
    return store_module.get_store()
