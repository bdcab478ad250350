"""``make run`` end to end: the runner in a subprocess, started and stopped as a user does.

One run (moto engine, its own data folder, on a loopback address of its own
through ``HOST``) serves a short scripted session, then gets Ctrl-C (SIGINT to
its whole process group, as a terminal sends it); the tests read what the
session saw and what the run printed.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
import requests

from chalicelib.config import DEVELOPMENT_JWT_SECRET
from tools import run_local
from tools.dynamodb_local import free_port

ROOT = Path(__file__).resolve().parents[2]


def _second_loopback() -> str | None:
    """127.0.0.2 where it is usable (all of 127/8 is loopback on Linux; macOS has only 127.0.0.1)."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.2", 0))
        except OSError:
            return None
    return "127.0.0.2"


# Not the default where possible: proves HOST is the address the server binds.
HOST = _second_loopback() or "127.0.0.1"
LOGIN = {"username": "annasianna", "password": "strongpass1"}


@dataclass
class Run:
    output: str
    returncode: int
    base: str
    token: str
    unknown_path: requests.Response
    group: int


def _wait_until_serving(base: str, process: subprocess.Popen, output: Path) -> str:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"make run exited at start:\n{output.read_text()}")
        try:
            # First the password in the query string (refused with 400): the access log must not keep it.
            refused = requests.post(f"{base}/agent/login", params=LOGIN, timeout=2)
            reply = requests.post(f"{base}/agent/login", data=LOGIN, timeout=2)
            if reply.status_code == 200 and refused.status_code == 400:
                return reply.json()["token"]
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    pytest.fail(f"make run did not serve within 90 s:\n{output.read_text()}")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("run")
    output = folder / "output.txt"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL_DYNAMODB", "JWT_SECRET", "PORT")}
    env.update(HOST=HOST, PYTHONUNBUFFERED="1", WS_PORT=str(free_port()))
    command = [sys.executable, "-m", "tools.run_local", "--engine", "moto", "--port", str(port)]
    command += ["--data", str(folder / "data")]
    with output.open("w") as sink:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://{HOST}:{port}"
    try:
        token = _wait_until_serving(base, process, output)
        unknown = requests.get(f"{base}/no/such/path", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: the whole foreground group gets it
        returncode = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return Run(output.read_text(), returncode, base, token, unknown, process.pid)


def test_ctrl_c_stops_with_one_clean_line_and_status_0(run):
    assert run.returncode == 0, run.output
    assert run.output.splitlines()[-1] == "run: stopped", run.output
    for noise in ("Aborted!", "Traceback", "KeyboardInterrupt", "Exception", "Error"):
        assert noise not in run.output, run.output


def test_nothing_the_run_started_outlives_it(run):
    with pytest.raises(ProcessLookupError):
        os.killpg(run.group, 0)


def test_the_access_log_never_carries_a_query_string(run):
    assert "strongpass1" not in run.output and "annasianna" not in run.output
    assert '"POST /agent/login?<redacted> HTTP/1.1" 400' in run.output


def test_host_is_the_address_served(run):
    assert f"serving on {run.base} " in run.output
    if HOST == "127.0.0.1":
        pytest.skip("no second loopback address here to tell HOST from the default")
    with pytest.raises(requests.ConnectionError):
        requests.get(run.base.replace(HOST, "127.0.0.1"), timeout=2)


def test_an_unknown_path_is_our_404_and_never_echoes_the_token(run):
    assert run.unknown_path.status_code == 404
    assert run.unknown_path.json() == {"error": {"code": "not_found", "message": "no route matches this path"}}
    assert run.unknown_path.headers["Cache-Control"] == "no-store"
    assert run.unknown_path.headers["X-Content-Type-Options"] == "nosniff"
    assert run.token not in run.unknown_path.text


def test_tokens_are_not_signed_with_the_development_secret(run):
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(run.token, DEVELOPMENT_JWT_SECRET, algorithms=["HS256"], options={"verify_exp": False})


# -- the local signing secret ---------------------------------------------------


def test_the_local_secret_is_made_once_readable_by_its_owner_only(tmp_path):
    secret = run_local.local_jwt_secret(tmp_path / "data")
    path = tmp_path / "data" / run_local.SECRET_FILE
    assert len(secret) >= 32 and secret != DEVELOPMENT_JWT_SECRET
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert run_local.local_jwt_secret(tmp_path / "data") == secret  # a restart keeps tokens valid


def test_a_fresh_start_forgets_the_secret_with_the_data(tmp_path):
    before = run_local.local_jwt_secret(tmp_path)
    (tmp_path / "dynamodb").mkdir()
    run_local.reset_local_data(tmp_path)
    assert not (tmp_path / "dynamodb").exists()
    assert run_local.local_jwt_secret(tmp_path) != before  # tokens of the old store, logged out or not, die


@pytest.mark.parametrize(
    ("line", "logged"),
    [
        ('"POST /agent/login?username=x&password=y HTTP/1.1" 401 -', '"POST /agent/login?<redacted> HTTP/1.1" 401 -'),
        ('"GET /customer/1/chat?cursor=abc HTTP/1.1" 200 -', '"GET /customer/1/chat?<redacted> HTTP/1.1" 200 -'),
        ('"GET /agent/1/chat/active HTTP/1.1" 200 -', '"GET /agent/1/chat/active HTTP/1.1" 200 -'),
        ("Bad request syntax ('GET /x?token=t')", "Bad request syntax ('GET /x?<redacted>')"),
    ],
)
def test_the_access_log_redacts_query_strings(line, logged):
    from tools.chalice_local import redact_query

    assert redact_query(line) == logged


def test_on_a_terminal_it_serves_promptly_without_escape_garbage_and_ctrl_c_stops_it(tmp_path):
    """In a pseudo-terminal: chalice's CLI must not probe the terminal (10 s of waiting, garbage on screen)."""
    pty = pytest.importorskip("pty")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL_DYNAMODB", "JWT_SECRET", "HOST", "PORT")}
    env["WS_PORT"] = str(free_port())
    command = [sys.executable, "-m", "tools.run_local", "--engine", "moto", "--port", str(port)]
    command += ["--data", str(tmp_path / "data")]
    pid, terminal = pty.fork()
    if pid == 0:  # the child: the run, on the terminal
        os.chdir(ROOT)
        os.execve(sys.executable, command, env)
    output = bytearray()

    def read_for(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if select.select([terminal], [], [], 0.1)[0]:
                try:
                    output.extend(os.read(terminal, 65536))
                except OSError:  # the terminal closed: everything on it has exited
                    return

    try:
        started = time.monotonic()
        while b"Serving on" not in output and time.monotonic() - started < 60:
            read_for(0.2)
        serving_after = time.monotonic() - started
        assert b"Serving on" in output, output.decode(errors="replace")
        os.write(terminal, b"\x03")  # Ctrl-C typed at the terminal
        read_for(10)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(terminal)
    text = output.decode(errors="replace")
    assert "\x1bP+q" not in text and "\x1b[6n" not in text, repr(text)
    assert serving_after < 8, text  # the probe alone waited about 10 s for answers
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert text.rstrip().splitlines()[-1].endswith("run: stopped"), text  # the line may begin with the echoed ^C
