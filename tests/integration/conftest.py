"""The packaged templates (``make package`` for both stages), built once for the infrastructure tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools import package


@pytest.fixture(scope="session")
def packaged(tmp_path_factory) -> dict[str, Path]:
    """``make package`` for both stages (chalice package + the merge template): each stage's build folder."""
    out = tmp_path_factory.mktemp("build")
    return {stage: package.package(stage, out) for stage in package.STAGES}


@pytest.fixture(scope="session")
def templates(packaged) -> dict[str, dict]:
    """Each stage's ``sam.json``."""
    return {stage: json.loads((packaged[stage] / "sam.json").read_text()) for stage in package.STAGES}
