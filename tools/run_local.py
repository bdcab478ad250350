"""``make run``: the API on http://127.0.0.1:8080 over a local DynamoDB.

Starts the database, creates the tables, seeds the demo users, then serves the
app with ``chalice local`` (stage ``local``) until interrupted, and stops the
database with it.

    python -m tools.run_local [--port 8080] [--host 127.0.0.1] [--reload] [--fresh]
                              [--engine auto|dynamodb-local|moto] [--data .data]

The database is AWS DynamoDB Local, keeping its data in ``.data/dynamodb``
across restarts (``--fresh`` empties it first). Where Java 17+ or the npm
package is missing, it says why in one line and falls back to moto's server
mode (in memory). With ``AWS_ENDPOINT_URL_DYNAMODB`` already set, no database
is started: that endpoint is used (a remote DynamoDB Local, LocalStack, ...).

Tokens are signed with a secret that lives as long as the data it goes with:
``.data/jwt-secret`` (made on first run, mode 0600; ``--fresh`` deletes it, so
a fresh store cannot revive tokens logged out before), or a new secret per run
on moto, whose data dies with the process. ``JWT_SECRET`` set by hand wins.

Ctrl-C (or a plain ``kill``) stops the server and then the database, and says
so in one line.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tools import dynamodb_local
from tools.stages import STAGE, local_aws_environment, stage_environment

ROOT = Path(__file__).resolve().parent.parent
DATA_ROOT = ROOT / ".data"
SECRET_FILE = "jwt-secret"

log = logging.getLogger("tools.run_local")


def reset_local_data(data_root: Path) -> None:
    """``--fresh``: forget the local database and the secret its tokens were signed with."""
    shutil.rmtree(data_root / "dynamodb", ignore_errors=True)
    (data_root / SECRET_FILE).unlink(missing_ok=True)


def local_jwt_secret(data_root: Path) -> str:
    """The local stage's signing secret kept in ``data_root``: created on first use, readable by its owner only."""
    path = data_root / SECRET_FILE
    if path.exists():
        secret = path.read_text().strip()
        if secret:
            return secret
        path.unlink()
    data_root.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secret + "\n")
    return secret


def start_database(engine: str, data_root: Path = DATA_ROOT) -> tuple[Callable[[], None], str, bool]:
    """Start the chosen engine; return how to stop it, its endpoint, and whether its data outlives the run."""
    if engine in ("auto", "dynamodb-local"):
        reason = dynamodb_local.unavailable_reason()
        if reason is None:
            data_dir = data_root / "dynamodb"
            local = dynamodb_local.DynamoDBLocal.start(data_dir=data_dir)
            shown = data_dir.relative_to(ROOT) if data_dir.is_relative_to(ROOT) else data_dir
            log.info("database: DynamoDB Local at %s, data in %s", local.endpoint, shown)
            return local.stop, local.endpoint, True
        if engine == "dynamodb-local":
            raise SystemExit(f"run: DynamoDB Local cannot start: {reason}")
        log.warning("DynamoDB Local unavailable (%s): falling back to moto, in memory", reason)
    from moto.server import ThreadedMotoServer

    port = dynamodb_local.free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    log.info("database: moto server (in memory) at http://127.0.0.1:%d", port)
    return server.stop, f"http://127.0.0.1:{port}", False


def bootstrap() -> None:
    """Create the tables and seed the demo users in the engine the environment points at."""
    from chalicelib.config import get_settings
    from chalicelib.store import reset
    from chalicelib.store.admin import create_tables
    from tools.seed import seed_demo

    reset()
    if not create_tables(get_settings()):
        log.info("tables: already there")
    log.info("demo users: %d created", seed_demo())


def serve(host: str, port: int, reload: bool) -> int:
    command = [
        sys.executable,
        "-m",
        "tools.chalice_local",
        "local",
        "--host",
        host,
        "--port",
        str(port),
        "--stage",
        STAGE,
    ]
    if not reload:
        command.append("--no-autoreload")
    if host in ("0.0.0.0", "::"):  # noqa: S104 - reporting the address, not binding it
        log.info("serving on port %d of every interface: http://<this machine's address>:%d (Ctrl-C stops)", port, port)
    else:
        log.info("serving on http://%s:%d (Ctrl-C stops)", host, port)
    # No stdin: on a terminal, chalice's CLI (through inquirer's blessed) would probe it with escape
    # sequences at import, printing them as garbage and waiting ~10 s for answers that never come.
    process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        return 0


def start_realtime() -> Callable[[], None]:
    """The local WebSocket API on WS_PORT (default 8081) and the stream poller, calling the app's
    own handlers in this process (see tools/ws_gateway.py); returns how to stop them."""
    import app as app_module
    from chalicelib.config import get_settings
    from tools.ws_gateway import start_realtime as start

    settings = get_settings()
    handlers = {settings.users_table: app_module.users_events, settings.chats_table: app_module.chats_events}
    stop_webhooks = start_webhooks(app_module) if settings.webhook_urls else (lambda: None)
    stop = start(app_module, handlers, port=int(os.environ.get("WS_PORT", "8081")))
    get_settings.cache_clear()  # WS_MANAGEMENT_URL is set now

    def stop_all() -> None:
        stop()
        stop_webhooks()

    return stop_all


def start_webhooks(app_module: Any) -> Callable[[], None]:
    """WEBHOOK_URLS set: the local webhook queue, calling the app's own consumer; returns how to stop it."""
    from chalicelib import webhook_queue
    from chalicelib.config import get_settings
    from tools.webhook_queue import LocalWebhookQueue

    queue = LocalWebhookQueue(app_module.webhook_deliveries)
    webhook_queue.use(queue)
    log.info("webhooks: every event to %s", ", ".join(_origin(u) for u in get_settings().webhook_urls))

    def stop() -> None:
        queue.stop()
        if queue.dead_letters:
            log.warning("webhooks: %d deliveries dead-lettered this run", len(queue.dead_letters))

    return stop


def _origin(url: str) -> str:
    """What is said of a webhook URL: scheme, host and port (a path or query may carry a token)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"  # no credentials: the settings refuse them


def start_presence_sweep() -> Callable[[], None]:
    """Every PRESENCE_SWEEP_SECONDS, mark agents silent for PRESENCE_TIMEOUT_SECONDS offline (as the
    scheduled function does on AWS every minute); returns how to stop it."""
    from chalicelib.config import get_settings
    from chalicelib.routes import schedule

    stopped = threading.Event()

    def loop() -> None:
        while not stopped.wait(get_settings().presence_sweep_seconds):
            try:
                schedule.sweep()
            except Exception:
                log.exception("presence sweep failed")

    threading.Thread(target=loop, name="presence-sweep", daemon=True).start()
    return stopped.set


def _stop(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.run_local", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("HOST") or "127.0.0.1", help="default: $HOST or 127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or "8080"))
    parser.add_argument("--reload", action="store_true", help="restart the server when code changes")
    parser.add_argument("--fresh", action="store_true", help="start from an empty local store and a new secret")
    parser.add_argument("--data", type=Path, default=DATA_ROOT, help="the local data folder (default: .data)")
    parser.add_argument(
        "--engine",
        choices=("auto", "dynamodb-local", "moto"),
        default=os.environ.get("DB_ENGINE", "auto"),
        help="the embedded database (default: DynamoDB Local, else moto)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="run: %(message)s")
    for noisy in ("werkzeug", "botocore", "moto"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    # Ctrl-C and a plain `kill` both stop the server and then the database
    # (set explicitly: a shell starting us in the background ignores SIGINT).
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    stop: Callable[[], None] = lambda: None  # noqa: E731
    try:
        for name, value in stage_environment().items():
            os.environ.setdefault(name, value)  # a setting in the environment overrides the stage's
        if args.fresh:
            reset_local_data(args.data)
        external = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
        if external:
            log.info("database: %s (from AWS_ENDPOINT_URL_DYNAMODB; not started here)", external)
            os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
            os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
            os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
            lasting = True
        else:
            stop, endpoint, lasting = start_database(args.engine, args.data)
            os.environ.update(local_aws_environment(endpoint))
        if not os.environ.get("JWT_SECRET"):
            os.environ["JWT_SECRET"] = local_jwt_secret(args.data) if lasting else secrets.token_urlsafe(48)
        bootstrap()
        stop_realtime = start_realtime()
        stop_sweep = start_presence_sweep()
        try:
            code = serve(args.host, args.port, args.reload)
        finally:
            stop_sweep()
            stop_realtime()
    except KeyboardInterrupt:
        code = 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the database's stop short
        stop()
    if code == 0:
        log.info("stopped")
    else:
        log.error("the server exited with status %d", code)
    return code


if __name__ == "__main__":
    sys.exit(main())
