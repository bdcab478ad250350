"""``make run``: the API on http://127.0.0.1:8080 over a local DynamoDB.

Starts the database, creates the tables, seeds the demo users, then serves the
app with ``chalice local`` (stage ``local``) until interrupted, and stops the
database with it.

    python -m tools.run_local [--port 8080] [--host 127.0.0.1] [--reload] [--fresh]
                              [--engine auto|dynamodb-local|moto]

The database is AWS DynamoDB Local, keeping its data in ``.data/dynamodb``
across restarts (``--fresh`` empties it first). Where Java 17+ or the npm
package is missing, it says why in one line and falls back to moto's server
mode (in memory). With ``AWS_ENDPOINT_URL_DYNAMODB`` already set, no database
is started: that endpoint is used (a remote DynamoDB Local, LocalStack, ...).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tools import dynamodb_local

ROOT = Path(__file__).resolve().parent.parent
STAGE = "local"
DATA_DIR = ROOT / ".data" / "dynamodb"

log = logging.getLogger("tools.run_local")


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


def start_database(engine: str, fresh: bool) -> tuple[Callable[[], None], str]:
    """Start the chosen engine; return how to stop it and its endpoint."""
    if engine in ("auto", "dynamodb-local"):
        reason = dynamodb_local.unavailable_reason()
        if reason is None:
            if fresh:
                shutil.rmtree(DATA_DIR, ignore_errors=True)
            local = dynamodb_local.DynamoDBLocal.start(data_dir=DATA_DIR)
            log.info("database: DynamoDB Local at %s, data in %s", local.endpoint, DATA_DIR.relative_to(ROOT))
            return local.stop, local.endpoint
        if engine == "dynamodb-local":
            raise SystemExit(f"run: DynamoDB Local cannot start: {reason}")
        log.warning("DynamoDB Local unavailable (%s): falling back to moto, in memory", reason)
    from moto.server import ThreadedMotoServer

    port = dynamodb_local.free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    log.info("database: moto server (in memory) at http://127.0.0.1:%d", port)
    return server.stop, f"http://127.0.0.1:{port}"


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
    log.info("serving on http://%s:%d (Ctrl-C stops)", host, port)
    process = subprocess.Popen(command, cwd=ROOT)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        return 0


def start_realtime() -> Callable[[], None]:
    """The local WebSocket API on WS_PORT (default 8081) and the stream poller, calling the app's
    own handlers in this process (see tools/ws_gateway.py); returns how to stop them."""
    import app as app_module
    from chalicelib.config import get_settings
    from tools.ws_gateway import start_realtime as start

    settings = get_settings()
    handlers = {settings.users_table: app_module.users_events, settings.chats_table: app_module.chats_events}
    stop = start(app_module, handlers, port=int(os.environ.get("WS_PORT", "8081")))
    get_settings.cache_clear()  # WS_MANAGEMENT_URL is set now
    return stop


def _stop(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.run_local", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    parser.add_argument("--reload", action="store_true", help="restart the server when code changes")
    parser.add_argument("--fresh", action="store_true", help="start DynamoDB Local from an empty store")
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
    os.environ.update(stage_environment())
    external = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
    if external:
        log.info("database: %s (from AWS_ENDPOINT_URL_DYNAMODB; not started here)", external)
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        stop: Callable[[], None] = lambda: None  # noqa: E731
    else:
        stop, endpoint = start_database(args.engine, args.fresh)
        os.environ.update(local_aws_environment(endpoint))
    try:
        bootstrap()
        stop_realtime = start_realtime()
        try:
            return serve(args.host, args.port, args.reload)
        finally:
            stop_realtime()
    finally:
        stop()
        if not external:
            log.info("database stopped")


if __name__ == "__main__":
    sys.exit(main())
