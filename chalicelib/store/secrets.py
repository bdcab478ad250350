"""Secrets from SSM Parameter Store (SecureString), read once per process on first use."""

from __future__ import annotations

from functools import cache

import boto3
from botocore.exceptions import ClientError

from chalicelib.errors import ConfigError
from chalicelib.store.dynamo import CLIENT_CONFIG


@cache
def read_parameter(name: str) -> str:
    """The decrypted value of the SSM parameter ``name``; ``ConfigError`` if it cannot be read."""
    try:
        response = boto3.client("ssm", config=CLIENT_CONFIG).get_parameter(Name=name, WithDecryption=True)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        raise ConfigError(f"SSM parameter {name} could not be read ({code})") from None
    return response["Parameter"]["Value"]
