"""Domain errors raised by the services and the store.

Each error carries a machine-readable ``code``, a human ``message`` and, where
one input is to blame, the ``field``. ``chalicelib.routes.common`` is the one
place that turns them into HTTP statuses; nothing else chooses a status.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        details: dict[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field
        self.details = details or {}
        # Seconds a client should wait before trying again (sent as Retry-After).
        self.retry_after = retry_after


class InvalidInput(DomainError):
    """The request is malformed: a missing, mistyped or out-of-range field."""

    code = "invalid_input"


class PayloadTooLarge(DomainError):
    """The request body or one of its fields is larger than allowed."""

    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"


class Unauthorized(DomainError):
    """No usable credentials: no token, a bad/expired/revoked token, or a failed login."""

    code = "unauthorized"


class Forbidden(DomainError):
    """Valid credentials that do not grant access to this user, role or object."""

    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """The request is valid but the current state does not allow it."""

    code = "conflict"


class Unavailable(DomainError):
    """The store could not commit in time (throttling, contention); safe to retry later."""

    code = "unavailable"

    def __init__(self, message: str, *, retry_after: int = 1, **kwargs: Any) -> None:
        super().__init__(message, retry_after=retry_after, **kwargs)


class TooManyRequests(DomainError):
    """Too many failed logins for this username or source; wait ``retry_after`` seconds."""

    code = "too_many_attempts"


class ConfigError(Exception):
    """The deployment is misconfigured (a missing or malformed environment variable)."""
