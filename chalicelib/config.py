"""Settings: every environment variable the service reads, parsed in one place.

Nothing here runs at import time. ``get_settings()`` builds a frozen
``Settings`` on first use and caches it; tests call ``get_settings.cache_clear()``
after changing the environment. A missing or malformed variable fails fast with
its name.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

from chalicelib.addresses import public
from chalicelib.errors import ConfigError

# Used only when STAGE is "local" (``make run`` and the test suite). Any other
# stage must set JWT_SECRET explicitly.
DEVELOPMENT_JWT_SECRET = "local-development-secret-do-not-deploy-0123456789"
LOCAL_STAGES = frozenset({"local", "test"})
MAX_TOKEN_TTL_SECONDS = 12 * 3600
MIN_SECRET_CHARS = 32
TEAM_NAME = re.compile(r"^[a-z0-9_-]{1,32}$")
# CloudWatch's namespace characters; "AWS/" is reserved for AWS's own.
METRICS_NAMESPACE = re.compile(r"^(?!AWS/)[0-9A-Za-z._/#: -]{1,255}$")
DEFAULT_METRICS_NAMESPACE = "AgentAllocation"
# Webhooks in the local stages (make run, tests) are signed with this unless WEBHOOK_SECRET is set.
DEVELOPMENT_WEBHOOK_SECRET = "local-webhook-secret-do-not-deploy-0123456789"
MAX_WEBHOOK_URLS = 10


@dataclass(frozen=True)
class Settings:
    stage: str
    users_table: str
    chats_table: str
    tokens_table: str
    connections_table: str
    jwt_secret: str = field(repr=False)
    # Accepted (never used to sign) while tokens signed before a key rotation expire.
    jwt_previous_secret: str | None = field(repr=False)
    token_ttl_seconds: int
    allocation_cap: int
    allocation_max_attempts: int
    presence_timeout_seconds: int
    presence_sweep_seconds: int
    agent_pool: str  # the default team
    teams: tuple[str, ...]  # every team: each its own load-index partition
    max_message_chars: int
    max_body_bytes: int
    history_page_size: int
    login_max_failures: int
    login_max_failures_per_source: int
    login_window_seconds: int
    cors_allowed_origins: tuple[str, ...]
    log_level: str
    # "json": one JSON object per log line, with the request id (chalicelib/logs.py); "text": plain lines.
    log_format: str = "json"
    # Overflow policy: "seed" (rules 2 and 3) or "queue" (a FIFO queue per team when nobody has a free slot).
    routing_overflow: str = "seed"
    # When an agent goes offline: "keep" its chats (the seed) or "requeue" them (reassign, else queue at the head).
    on_agent_offline: str = "keep"
    # A chat whose customer has waited this long for a reply is reassigned by the sweep (0: never).
    reply_timeout_seconds: int = 0
    # The handle time the queue's wait estimate assumes before any chat was handled.
    default_handle_seconds: int = 300
    # The WebSocket address clients connect to (a ws-ticket's url); None: push is not configured.
    ws_url: str | None = None
    # The management API push is sent to; None: derived from each connection's $connect event.
    ws_management_url: str | None = None
    # The CloudWatch namespace of the stream handler's EMF metrics; None: no metrics.
    metrics_namespace: str | None = DEFAULT_METRICS_NAMESPACE
    # Webhooks (chalicelib/webhooks.py): every event POSTed to each URL, signed with the secret.
    webhook_urls: tuple[str, ...] = field(default=(), repr=False)  # a path or query may carry a token
    # The signing secret, when given as a value (WEBHOOK_SECRET, or the local stages' development one)...
    webhook_secret: str | None = field(default=None, repr=False)
    # ... or the SSM parameter holding it: read only by the function that signs (``webhook_signing_secret``).
    webhook_secret_parameter: str | None = None
    # May a webhook reach a loopback, private, link-local or reserved address? (the local stages: yes)
    webhook_allow_private: bool = False
    # The SQS queue deliveries wait in (set by the template); None: the queue make run installs.
    webhook_queue_url: str | None = None

    @property
    def queueing(self) -> bool:
        """Chats wait in a queue when no agent has a free slot (``ROUTING_OVERFLOW=queue``)."""
        return self.routing_overflow == "queue"


def _env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None or value == "":
        raise ConfigError(f"environment variable {name} is not set")
    return value


def _env_int(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name} must be an integer") from None
    if not low <= value <= high:
        raise ConfigError(f"environment variable {name} must be between {low} and {high}")
    return value


def _env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name) or default
    if value not in choices:
        raise ConfigError(f"environment variable {name} must be one of: {', '.join(choices)}")
    return value


def _secret(name: str) -> str | None:
    """``NAME`` from the environment, or else the SSM parameter named by ``NAME_PARAMETER``."""
    value = os.environ.get(name)
    if value:
        return value
    parameter = os.environ.get(f"{name}_PARAMETER")
    if parameter:
        from chalicelib.ssm import read_parameter  # boto3 only where a parameter is used

        return read_parameter(parameter)
    return None


def load_settings() -> Settings:
    """Read the environment into a ``Settings``; raise ``ConfigError`` naming the bad variable.

    ``JWT_SECRET`` (and ``JWT_PREVIOUS_SECRET``) may instead name an SSM
    SecureString parameter in ``JWT_SECRET_PARAMETER`` (``..._PARAMETER``),
    which is how deployed stages get it: never in the repository or template.
    """
    stage = _env("STAGE", "local")
    secret = _secret("JWT_SECRET") or ""
    if not secret:
        if stage not in LOCAL_STAGES:
            raise ConfigError(f"JWT_SECRET (or JWT_SECRET_PARAMETER) must be set in stage {stage!r}")
        secret = DEVELOPMENT_JWT_SECRET
    elif stage not in LOCAL_STAGES and (secret == DEVELOPMENT_JWT_SECRET or len(secret) < MIN_SECRET_CHARS):
        raise ConfigError(f"environment variable JWT_SECRET must be a secret of at least {MIN_SECRET_CHARS} characters")
    origins = tuple(o.strip() for o in os.environ.get("CORS_ALLOWED_ORIGINS", "").split(",") if o.strip())
    if "*" in origins:
        raise ConfigError("environment variable CORS_ALLOWED_ORIGINS must list origins, not '*'")
    pool = _env("AGENT_POOL", "default")
    teams = tuple(dict.fromkeys(t.strip() for t in os.environ.get("TEAMS", pool).split(",") if t.strip()))
    if pool not in teams or any(not TEAM_NAME.match(t) for t in teams):
        raise ConfigError("environment variable TEAMS must list team names (a-z, 0-9, -, _) including AGENT_POOL")
    return Settings(
        stage=stage,
        users_table=_env("USERS_TABLE"),
        chats_table=_env("CHATS_TABLE"),
        tokens_table=_env("TOKENS_TABLE"),
        connections_table=_env("CONNECTIONS_TABLE"),
        jwt_secret=secret,
        jwt_previous_secret=_secret("JWT_PREVIOUS_SECRET"),
        token_ttl_seconds=_env_int("TOKEN_TTL_SECONDS", 3600, 60, MAX_TOKEN_TTL_SECONDS),
        allocation_cap=_env_int("ALLOCATION_CAP", 2, 1, 1000),
        allocation_max_attempts=_env_int("ALLOCATION_MAX_ATTEMPTS", 6, 1, 50),
        presence_timeout_seconds=_env_int("PRESENCE_TIMEOUT_SECONDS", 90, 5, 3600),
        presence_sweep_seconds=_env_int("PRESENCE_SWEEP_SECONDS", 15, 1, 3600),
        agent_pool=pool,
        teams=teams,
        max_message_chars=_env_int("MAX_MESSAGE_CHARS", 4000, 1, 100_000),
        max_body_bytes=_env_int("MAX_BODY_BYTES", 16 * 1024, 1024, 1024 * 1024),
        history_page_size=_env_int("HISTORY_PAGE_SIZE", 50, 1, 500),
        login_max_failures=_env_int("LOGIN_MAX_FAILURES", 5, 1, 1000),
        login_max_failures_per_source=_env_int("LOGIN_MAX_FAILURES_PER_SOURCE", 50, 1, 100_000),
        login_window_seconds=_env_int("LOGIN_WINDOW_SECONDS", 900, 10, 86_400),
        cors_allowed_origins=origins,
        log_level=_log_level(),
        log_format=_env_choice("LOG_FORMAT", "text" if stage in LOCAL_STAGES else "json", ("json", "text")),
        routing_overflow=_env_choice("ROUTING_OVERFLOW", "seed", ("seed", "queue")),
        on_agent_offline=_env_choice("ON_AGENT_OFFLINE", "keep", ("keep", "requeue")),
        reply_timeout_seconds=_env_int("REPLY_TIMEOUT_SECONDS", 0, 0, 86_400),
        default_handle_seconds=_env_int("DEFAULT_HANDLE_SECONDS", 300, 1, 86_400),
        ws_url=_ws_url(stage),
        ws_management_url=os.environ.get("WS_MANAGEMENT_URL") or None,
        metrics_namespace=_metrics_namespace(),
        **_webhooks(stage),
    )


def _webhooks(stage: str) -> dict:
    """WEBHOOK_URLS (comma-separated), WEBHOOK_SECRET (or _PARAMETER), WEBHOOK_ALLOW_PRIVATE, WEBHOOK_QUEUE_URL.

    Nothing is read from SSM here: a secret kept there is read by the one function that signs, on its
    first delivery (``webhook_signing_secret``), not at every function's cold start."""
    local = stage in LOCAL_STAGES
    allow_private = _env_flag("WEBHOOK_ALLOW_PRIVATE", local)
    urls = tuple(dict.fromkeys(u.strip() for u in os.environ.get("WEBHOOK_URLS", "").split(",") if u.strip()))
    if not urls:
        return {"webhook_allow_private": allow_private}
    if len(urls) > MAX_WEBHOOK_URLS:
        raise ConfigError(f"environment variable WEBHOOK_URLS must list at most {MAX_WEBHOOK_URLS} URLs")
    for url in urls:
        _check_webhook_url(url, local=local, allow_private=allow_private)
    secret = os.environ.get("WEBHOOK_SECRET") or None
    parameter = None if secret else os.environ.get("WEBHOOK_SECRET_PARAMETER") or None
    if secret is None and parameter is None:
        secret = DEVELOPMENT_WEBHOOK_SECRET if local else ""
    if secret is not None:
        _check_webhook_secret(secret, local=local)
    queue_url = os.environ.get("WEBHOOK_QUEUE_URL") or None
    if queue_url is None and not local:
        raise ConfigError("environment variable WEBHOOK_QUEUE_URL is not set (the template sets it)")
    return {
        "webhook_urls": urls,
        "webhook_secret": secret,
        "webhook_secret_parameter": parameter,
        "webhook_allow_private": allow_private,
        "webhook_queue_url": queue_url,
    }


def _check_webhook_secret(secret: str, *, local: bool) -> None:
    if not local and (len(secret) < MIN_SECRET_CHARS or secret == DEVELOPMENT_WEBHOOK_SECRET):
        raise ConfigError(
            f"WEBHOOK_SECRET (or WEBHOOK_SECRET_PARAMETER) must be a secret of at least {MIN_SECRET_CHARS} characters"
        )


def webhook_signing_secret(settings: Settings) -> str:
    """The secret webhook deliveries are signed with: the value, or the SSM parameter's (read once per
    process, and checked as the value would be). Raises ``ConfigError``."""
    if settings.webhook_secret is not None:
        return settings.webhook_secret
    if settings.webhook_secret_parameter is None:
        raise ConfigError("WEBHOOK_SECRET (or WEBHOOK_SECRET_PARAMETER) must be set when WEBHOOK_URLS is")
    return _parameter_secret(settings.webhook_secret_parameter, settings.stage in LOCAL_STAGES)


@lru_cache(maxsize=4)
def _parameter_secret(parameter: str, local: bool) -> str:
    from chalicelib.ssm import read_parameter  # boto3 only where a parameter is used

    secret = read_parameter(parameter) or ""
    _check_webhook_secret(secret, local=local)
    return secret


def _check_webhook_url(url: str, *, local: bool, allow_private: bool) -> None:
    """https (http in the local stages only), a host, no credentials; a literal address must be allowed."""
    problem = "WEBHOOK_URLS must list https:// URLs" + (" (or http://)" if local else "")
    try:
        parts = urlsplit(url)
        port = parts.port  # parsing it raises for a bad port
    except ValueError:
        raise ConfigError(f"environment variable {problem}") from None
    if parts.scheme not in (("https", "http") if local else ("https",)) or not parts.hostname or port == 0:
        raise ConfigError(f"environment variable {problem}")
    if not url.isascii() or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise ConfigError("environment variable WEBHOOK_URLS must be ASCII, percent-encoded, without spaces")
    if parts.username or parts.password:
        raise ConfigError("environment variable WEBHOOK_URLS must not carry credentials (the signature authenticates)")
    try:
        allowed = allow_private or public(parts.hostname)
    except ValueError:  # a name, not an address: checked at each delivery, once resolved
        return
    if not allowed:
        raise ConfigError("environment variable WEBHOOK_URLS names a private address (see WEBHOOK_ALLOW_PRIVATE)")


def _env_flag(name: str, default: bool) -> bool:
    raw = (os.environ.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw not in ("true", "false", "1", "0"):
        raise ConfigError(f"environment variable {name} must be true or false")
    return raw in ("true", "1")


def _metrics_namespace() -> str | None:
    """METRICS_NAMESPACE (default ``AgentAllocation``); set but empty: metrics are off."""
    value = os.environ.get("METRICS_NAMESPACE", DEFAULT_METRICS_NAMESPACE)
    if value == "":
        return None
    if not METRICS_NAMESPACE.match(value):
        raise ConfigError("environment variable METRICS_NAMESPACE must be a CloudWatch namespace (not AWS/...)")
    return value


def _ws_url(stage: str) -> str | None:
    """WS_URL; in the local stages, the local gateway of ``make run`` (ws://127.0.0.1:WS_PORT)."""
    url = os.environ.get("WS_URL")
    if url:
        if not url.startswith(("ws://", "wss://")):
            raise ConfigError("environment variable WS_URL must start with ws:// or wss://")
        return url.rstrip("/")
    if stage in LOCAL_STAGES:
        return f"ws://127.0.0.1:{_env_int('WS_PORT', 8081, 1, 65535)}"
    return None


def _log_level() -> str:
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("environment variable LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
    return level


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
