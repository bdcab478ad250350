"""The packaged templates (``make package`` for both stages), built once for the infrastructure tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools import package


@pytest.fixture(scope="session")
def packaged(tmp_path_factory) -> dict[str, Path]:
    """``make package`` for both stages (chalice package + the merge template), with the default API (HTTP):
    each stage's build folder."""
    out = tmp_path_factory.mktemp("build")
    return {stage: package.package(stage, out) for stage in package.STAGES}


@pytest.fixture(scope="session")
def templates(packaged) -> dict[str, dict]:
    """Each stage's ``sam.json``."""
    return {stage: json.loads((packaged[stage] / "sam.json").read_text()) for stage in package.STAGES}


@pytest.fixture(scope="session")
def packaged_rest(tmp_path_factory) -> dict[str, Path]:
    """``API_TYPE=rest make package`` for both stages: each stage's build folder."""
    out = tmp_path_factory.mktemp("build-rest")
    return {stage: package.package(stage, out, "rest") for stage in package.STAGES}


@pytest.fixture(scope="session")
def templates_rest(packaged_rest) -> dict[str, dict]:
    """Each stage's ``sam.json`` behind the REST API."""
    return {stage: json.loads((packaged_rest[stage] / "sam.json").read_text()) for stage in package.STAGES}
