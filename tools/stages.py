"""The Chalice stages' environments, for the local runner, the tests and the benchmarks.

``stage_environment()`` reads the variables ``.chalice/config.json`` sets for a
stage; ``local_aws_environment()`` points boto3 at a local engine with
throwaway credentials. ``STAGE`` is the stage ``make run`` and the tests use.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGE = "local"


def stage_environment(stage: str = STAGE) -> dict[str, str]:
    """The environment variables ``.chalice/config.json`` sets for ``stage``."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return dict(config["stages"][stage].get("environment_variables", {}))


def local_aws_environment(endpoint: str) -> dict[str, str]:
    """Variables that point boto3 at a local engine with throwaway credentials."""
    return {
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    }
