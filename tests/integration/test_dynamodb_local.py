"""The DynamoDB Local launcher and the local runner's choice of engine."""

import shutil
import subprocess
from pathlib import Path

import pytest

from chalicelib.config import get_settings
from chalicelib.store import reset
from chalicelib.store.admin import create_tables
from chalicelib.store.dynamo import get_client
from tools import dynamodb_local, run_local
from tools.dynamodb_local import DynamoDBLocal


def test_no_java_is_explained_in_one_line(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    reason = dynamodb_local.unavailable_reason()
    assert "Java" in reason and "\n" not in reason


def test_old_java_is_explained(monkeypatch):
    monkeypatch.setattr(dynamodb_local, "java_major_version", lambda java: 11)
    assert "needs Java 17+" in dynamodb_local.unavailable_reason()


def test_missing_package_is_explained(monkeypatch, tmp_path):
    monkeypatch.setattr(dynamodb_local, "PACKAGE_LIB", tmp_path)
    assert "npm ci" in dynamodb_local.unavailable_reason()


def test_runner_falls_back_to_moto_when_dynamodb_local_cannot_run(monkeypatch, caplog):
    monkeypatch.setattr(dynamodb_local, "unavailable_reason", lambda: "no Java runtime on PATH")
    stop, endpoint, _ = run_local.start_database("auto")
    try:
        assert endpoint.startswith("http://127.0.0.1:")
        assert "falling back to moto" in caplog.text and "no Java runtime on PATH" in caplog.text
    finally:
        stop()


def test_data_survives_a_restart(tmp_path, monkeypatch):
    data = tmp_path / "db"
    first = DynamoDBLocal.start(data_dir=data)
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", first.endpoint)
        reset()
        create_tables(get_settings())
        get_client().put_item(TableName=get_settings().users_table, Item={"pk": {"S": "kept"}})
    finally:
        first.stop()
    second = DynamoDBLocal.start(data_dir=data)
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", second.endpoint)
        reset()
        assert create_tables(get_settings()) == []  # the tables are still there
        item = get_client().get_item(TableName=get_settings().users_table, Key={"pk": {"S": "kept"}})
        assert item["Item"]["pk"] == {"S": "kept"}
    finally:
        second.stop()


def test_telemetry_is_disabled_and_no_metadata_file_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # DynamoDB Local writes its telemetry id into the working directory
    local = DynamoDBLocal.start()
    try:
        assert "-disableTelemetry" in local.process.args
    finally:
        local.stop()
    assert not (tmp_path / "dynamodb-local-metadata.json").exists()


def test_the_telemetry_metadata_file_is_ignored_and_untracked():
    root = Path(__file__).resolve().parents[2]
    assert "dynamodb-local-metadata.json" in (root / ".gitignore").read_text().split()
    if not (root / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(["git", "-C", str(root), "ls-files", "dynamodb-local-metadata.json"], capture_output=True)
    assert tracked.returncode == 0 and tracked.stdout == b""
