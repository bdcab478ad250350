"""The Postman collection: it covers every route, and newman runs it against the live API.

``postman/agent-allocation.postman_collection.json`` is the original service's
flow as its users run it (form values, tokens chained from the logins). The
static tests keep it in step with the app: a new route without a request in the
collection fails here. The live test runs it twice with newman (pinned in
package-lock.json) against ``chalice local`` over DynamoDB Local with the demo
users freshly seeded: the second iteration proves the collection cleans up after
itself and can run again against the same server.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app import app

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "postman" / "agent-allocation.postman_collection.json"
ENVIRONMENT = ROOT / "postman" / "local.postman_environment.json"
NEWMAN = ROOT / "node_modules" / ".bin" / "newman"
SCHEMA_V21 = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
NEWMAN_TIMEOUT_SECONDS = 180
# The bearer tokens the login test scripts keep, one per role.
TOKEN_VARIABLES = ("agentToken", "customerToken", "supervisorToken")


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def requests_of(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every request item, folders flattened, in run order."""
    for item in items:
        if "item" in item:
            yield from requests_of(item["item"])
        else:
            yield item


def segments(item: dict[str, Any]) -> list[str]:
    url = item["request"]["url"]
    path = url["path"] if isinstance(url, dict) and "path" in url else None
    if path is None:  # a bare string URL: {{baseUrl}}/agent/1/chat?x=y
        raw = url if isinstance(url, str) else url["raw"]
        path = raw.split("?", 1)[0].replace("{{baseUrl}}", "").strip("/").split("/")
    return [s for s in path if s]


def matches(route: str, request_segments: list[str]) -> bool:
    """A request path names a route: same literals; a variable or a number stands for a path parameter."""
    route_segments = route.strip("/").split("/")
    if len(route_segments) != len(request_segments):
        return False
    for expected, given in zip(route_segments, request_segments, strict=True):
        if expected.startswith("{"):
            if not re.fullmatch(r"\{\{\w+\}\}|:\w+|\d+", given):
                return False
        elif expected != given:
            return False
    return True


def app_operations() -> set[tuple[str, str]]:
    return {(method, path) for path, entries in app.routes.items() for method in entries if method != "OPTIONS"}


@pytest.fixture(scope="module")
def collection() -> dict[str, Any]:
    return load(COLLECTION)


def test_collection_is_postman_v21(collection: dict[str, Any]) -> None:
    assert collection["info"]["schema"] == SCHEMA_V21
    assert collection["info"]["name"]
    assert list(requests_of(collection["item"]))


def test_every_request_names_a_route_of_the_app(collection: dict[str, Any]) -> None:
    operations = app_operations()
    for item in requests_of(collection["item"]):
        method, path = item["request"]["method"], segments(item)
        named = [op for op in operations if op[0] == method and matches(op[1], path)]
        assert named, f"{item['name']!r}: {method} /{'/'.join(path)} is no route of the app"


def test_every_route_of_the_app_has_a_request(collection: dict[str, Any]) -> None:
    covered = {
        op
        for item in requests_of(collection["item"])
        for op in app_operations()
        if op[0] == item["request"]["method"] and matches(op[1], segments(item))
    }
    missing = sorted(app_operations() - covered)
    assert not missing, f"routes without a request in {COLLECTION.name}: {missing}"


def test_requests_are_sent_as_the_original_users_send_them(collection: dict[str, Any]) -> None:
    items = list(requests_of(collection["item"]))
    modes = {item["request"].get("body", {}).get("mode") for item in items}
    assert {"urlencoded", "formdata"} <= modes
    for item in items:
        request = item["request"]
        if request["method"] == "GET" and request.get("body"):
            # Postman silently drops a GET's body unless the request says otherwise.
            assert item.get("protocolProfileBehavior", {}).get("disableBodyPruning") is True, item["name"]
        auth = request.get("auth", {"type": "noauth"})
        if auth["type"] == "bearer":
            assert auth["bearer"][0]["value"] in {"{{" + v + "}}" for v in TOKEN_VARIABLES}, item["name"]
        assert any(event["listen"] == "test" for event in item.get("event", [])), f"{item['name']!r} has no tests"
    scripts = "\n".join(line for item in items for event in item.get("event", []) for line in event["script"]["exec"])
    for variable in TOKEN_VARIABLES:
        assert f"pm.collectionVariables.set('{variable}'" in scripts


def test_local_environment() -> None:
    environment = load(ENVIRONMENT)
    values = {entry["key"]: entry["value"] for entry in environment["values"]}
    assert values["baseUrl"] == "http://127.0.0.1:8080"


def test_newman_runs_the_collection_against_the_live_api(live: str) -> None:
    if not NEWMAN.exists():
        pytest.fail(f"{NEWMAN.relative_to(ROOT)} is missing: run `make install` (npm ci from package-lock.json)")
    command = [str(NEWMAN), "run", str(COLLECTION.relative_to(ROOT)), "-e", str(ENVIRONMENT.relative_to(ROOT))]
    command += ["--env-var", f"baseUrl={live}", "--reporters", "cli", "--color", "off", "--disable-unicode"]
    command += ["--iteration-count", "2", "--timeout-request", "30000"]
    env = {**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"}
    try:
        result = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=NEWMAN_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired as error:
        partial = b"".join(
            part if isinstance(part, bytes) else part.encode() for part in (error.stdout, error.stderr) if part
        )
        pytest.fail(f"newman did not finish within {NEWMAN_TIMEOUT_SECONDS} s:\n{partial.decode(errors='replace')}")
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"newman exited with {result.returncode}:\n{output}"
    # The wrong-password request accepts 429 only for repeated runs; a fresh server must answer 401 both times.
    assert output.count("wrong password: status 401") == 2, output
