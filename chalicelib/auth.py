"""Passwords and tokens: pure functions, no store access.

Passwords are hashed with Argon2id at OWASP's recommended minimum
(19 MiB memory, 2 iterations, 1 lane). Tokens are HS256 JWTs (the algorithm
is pinned on verify) carrying ``sub`` (user id), ``role``, ``jti``, ``iat``,
``exp`` and ``iss``. Revocation lives in the store (``revoked#<jti>`` items).
"""

from __future__ import annotations

import time
import uuid
from functools import lru_cache
from typing import Any

import jwt

from chalicelib.config import Settings
from chalicelib.errors import Forbidden, Unauthorized
from chalicelib.keys import ROLES
from chalicelib.models import Principal

ALGORITHM = "HS256"
ISSUER = "agent-allocation"
REQUIRED_CLAIMS = ["sub", "role", "jti", "iat", "exp", "iss"]


@lru_cache(maxsize=1)
def _argon2() -> tuple[Any, tuple[type[Exception], ...], type[Exception]]:
    """(the hasher, the errors of a failed verification, the invalid-hash error), imported on first use:
    only logins need argon2, so every other request's cold start skips its import (cffi included)."""
    from argon2 import PasswordHasher, Type
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)
    return hasher, (VerificationError, InvalidHashError), InvalidHashError


def hash_password(password: str) -> str:
    return _argon2()[0].hash(password)


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    # Verified against when the username is unknown, so that a wrong username
    # costs as much time as a wrong password.
    return hash_password(uuid.uuid4().hex)


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than today's (rehash it at login)."""
    hasher, _, invalid = _argon2()
    try:
        return hasher.check_needs_rehash(password_hash)
    except invalid:
        return True


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if ``password`` matches; takes the same time when ``password_hash`` is ``None``."""
    hasher, failed, _ = _argon2()
    try:
        return hasher.verify(password_hash or _decoy_hash(), password) and password_hash is not None
    except failed:
        return False


def issue_token(settings: Settings, role: str, user_id: int, now: int | None = None) -> tuple[str, Principal]:
    issued_at = int(time.time()) if now is None else now
    principal = Principal(
        role=role,
        user_id=user_id,
        jti=uuid.uuid4().hex,
        expires_at=issued_at + settings.token_ttl_seconds,
    )
    claims = {
        "sub": str(user_id),
        "role": role,
        "jti": principal.jti,
        "iat": issued_at,
        "exp": principal.expires_at,
        "iss": ISSUER,
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM), principal


def verify_token(settings: Settings, token: str) -> Principal:
    """The principal of a valid token. Raises ``Unauthorized`` for anything else.

    Tokens signed with ``settings.jwt_previous_secret`` are accepted too, so a
    key rotation does not log everybody out. A token whose ``exp`` is further
    than ``settings.token_ttl_seconds`` after its ``iat`` is refused: we never
    issue one. Does not check revocation: that needs the store.
    """
    keys = [settings.jwt_secret] + ([settings.jwt_previous_secret] if settings.jwt_previous_secret else [])
    claims = None
    for key in keys:
        try:
            claims = jwt.decode(token, key, algorithms=[ALGORITHM], issuer=ISSUER, options={"require": REQUIRED_CLAIMS})
            break
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired; log in again", code="token_expired") from None
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError:
            break
    if claims is None:
        raise Unauthorized("the token is not valid", code="invalid_token")
    if claims["exp"] - claims["iat"] > settings.token_ttl_seconds:
        # Never issued by us with this lifetime: a forged or leaked-secret token, or one from before the TTL shrank.
        raise Unauthorized("the token is not valid", code="invalid_token")
    subject, role, jti = claims["sub"], claims["role"], claims["jti"]
    if role not in ROLES or not isinstance(subject, str) or not subject.isdigit() or not isinstance(jti, str):
        raise Unauthorized("the token is not valid", code="invalid_token")
    return Principal(role=role, user_id=int(subject), jti=jti, expires_at=int(claims["exp"]))


def authorize(principal: Principal, role: str, user_id: int) -> None:
    """The token must belong to the user (and role) the route is about. Raises ``Forbidden``."""
    if principal.role != role or principal.user_id != user_id:
        raise Forbidden(f"this token does not grant access to {role} {user_id}", code="wrong_user")


# -- device tokens (OWASP "device cookies") ------------------------------------

DEVICE_AUDIENCE = "login-device"
DEVICE_TOKEN_TTL_SECONDS = 30 * 24 * 3600


def issue_device_token(settings: Settings, role: str, username: str, now: int | None = None) -> str:
    """A token that proves this device logged in as ``username`` before (30 days).

    It is no access token: its audience makes ``verify_token`` refuse it.
    """
    issued_at = int(time.time()) if now is None else now
    claims = {
        "sub": username,
        "role": role,
        "jti": uuid.uuid4().hex,
        "iat": issued_at,
        "exp": issued_at + DEVICE_TOKEN_TTL_SECONDS,
        "iss": ISSUER,
        "aud": DEVICE_AUDIENCE,
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM)


def device_id(settings: Settings, token: str, role: str, username: str) -> str | None:
    """The id of ``token`` if it is a valid device token of ``role`` ``username``; else ``None``
    (an invalid device token is ignored, not refused: the login is then throttled as usual)."""
    for key in verification_keys(settings):
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                audience=DEVICE_AUDIENCE,
                options={"require": [*REQUIRED_CLAIMS, "aud"]},
            )
        except jwt.PyJWTError:
            continue
        if claims["sub"] == username and claims["role"] == role and isinstance(claims["jti"], str):
            return claims["jti"]
        return None
    return None


def verification_keys(settings: Settings) -> list[str]:
    """The secrets a token may be signed with: today's, and the one before a rotation."""
    return [settings.jwt_secret] + ([settings.jwt_previous_secret] if settings.jwt_previous_secret else [])
