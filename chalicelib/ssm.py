"""Secrets from SSM Parameter Store (SecureString), read once per process on first use."""

from __future__ import annotations

from functools import cache

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from chalicelib.errors import ConfigError

# Read once per cold start: a short timeout, a few retries.
SSM_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 4}, connect_timeout=2, read_timeout=5)


@cache
def read_parameter(name: str) -> str:
    """The decrypted value of the SSM parameter ``name``; ``ConfigError`` if it cannot be read."""
    try:
        response = boto3.client("ssm", config=SSM_CONFIG).get_parameter(Name=name, WithDecryption=True)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        raise ConfigError(f"SSM parameter {name} could not be read ({code})") from None
    return response["Parameter"]["Value"]
