"""``chalice local`` in a subprocess for the real-HTTP tests, ready when its health check answers."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tools.dynamodb_local import free_port
from tools.stages import STAGE

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def chalice_local(env: dict[str, str]) -> Iterator[str]:
    """Serve the app (stage local) with ``env`` on a free port; yields the base URL."""
    port = free_port()
    command = [sys.executable, "-m", "tools.chalice_local", "local", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--stage", STAGE, "--no-autoreload"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/health", timeout=1)
            break
        except requests.ConnectionError:
            if process.poll() is not None:
                pytest.fail("chalice local exited at start")
            time.sleep(0.2)
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
