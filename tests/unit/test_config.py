"""Settings: read lazily, fail fast with the variable's name."""

import pytest

from chalicelib.config import DEVELOPMENT_JWT_SECRET, load_settings
from chalicelib.errors import ConfigError


def test_local_stage_falls_back_to_the_development_secret():
    assert load_settings().jwt_secret == DEVELOPMENT_JWT_SECRET


def test_deployed_stage_refuses_to_start_without_a_secret(monkeypatch):
    monkeypatch.setenv("STAGE", "prod")
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        load_settings()


def test_deployed_stage_uses_the_configured_secret(monkeypatch):
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.setenv("JWT_SECRET", "s" * 40)
    assert load_settings().jwt_secret == "s" * 40


def test_missing_table_name_is_named(monkeypatch):
    monkeypatch.delenv("CHATS_TABLE")
    with pytest.raises(ConfigError, match="CHATS_TABLE"):
        load_settings()


@pytest.mark.parametrize("value", ["abc", "0", str(13 * 3600)])
def test_token_lifetime_must_be_a_sane_integer(monkeypatch, value):
    monkeypatch.setenv("TOKEN_TTL_SECONDS", value)
    with pytest.raises(ConfigError, match="TOKEN_TTL_SECONDS"):
        load_settings()


def test_cap_is_configurable(monkeypatch):
    monkeypatch.setenv("ALLOCATION_CAP", "3")
    assert load_settings().allocation_cap == 3


def test_deployed_stage_reads_the_secret_from_ssm(monkeypatch):
    import boto3
    from moto import mock_aws

    from chalicelib.ssm import read_parameter

    read_parameter.cache_clear()
    with mock_aws():
        boto3.client("ssm").put_parameter(Name="/agent-allocation/prod/jwt-secret", Value="p" * 48, Type="SecureString")
        monkeypatch.setenv("STAGE", "prod")
        monkeypatch.setenv("JWT_SECRET_PARAMETER", "/agent-allocation/prod/jwt-secret")
        assert load_settings().jwt_secret == "p" * 48
        monkeypatch.setenv("JWT_SECRET_PARAMETER", "/agent-allocation/prod/missing")
        with pytest.raises(ConfigError, match="/agent-allocation/prod/missing"):
            load_settings()
    read_parameter.cache_clear()


@pytest.mark.parametrize("secret", [DEVELOPMENT_JWT_SECRET, "too-short"])
def test_deployed_stage_refuses_a_weak_or_development_secret(monkeypatch, secret):
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.setenv("JWT_SECRET", secret)
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        load_settings()


def test_cors_wildcard_is_refused(monkeypatch):
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "*")
    with pytest.raises(ConfigError, match="CORS_ALLOWED_ORIGINS"):
        load_settings()


def test_log_level_is_validated(monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "chatty")
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        load_settings()


def test_metrics_have_a_default_namespace_and_an_empty_one_turns_them_off(monkeypatch):
    monkeypatch.delenv("METRICS_NAMESPACE", raising=False)
    assert load_settings().metrics_namespace == "AgentAllocation"
    monkeypatch.setenv("METRICS_NAMESPACE", "Chat/Prod")
    assert load_settings().metrics_namespace == "Chat/Prod"
    monkeypatch.setenv("METRICS_NAMESPACE", "")
    assert load_settings().metrics_namespace is None


@pytest.mark.parametrize("value", ["AWS/Lambda", "bad{name}", "x" * 256])
def test_a_metrics_namespace_cloudwatch_refuses_is_refused(monkeypatch, value):
    monkeypatch.setenv("METRICS_NAMESPACE", value)
    with pytest.raises(ConfigError, match="METRICS_NAMESPACE"):
        load_settings()


def test_every_variable_the_settings_read_is_in_the_readmes_configuration_table():
    import re
    from pathlib import Path

    import chalicelib.config as config

    root = Path(__file__).resolve().parents[2]
    source = Path(config.__file__).read_text()
    read = set(re.findall(r'(?:_env\w*|_secret|os\.environ\.get)\(\s*f?"([A-Z][A-Z0-9_]+)"', source))
    read |= {f"{name}_PARAMETER" for name in re.findall(r'_secret\(\s*"([A-Z_]+)"', source)}
    readme = (root / "README.md").read_text()
    table = readme[readme.index("## Configuration") : readme.index("## Security")]
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table))
    assert len(read) > 20 and read - documented == set()
