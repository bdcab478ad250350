"""Passwords and tokens (pure)."""

import base64
import json
import time

import jwt
import pytest

from chalicelib import auth
from chalicelib.config import get_settings
from chalicelib.errors import Forbidden, Unauthorized
from chalicelib.models import Principal


@pytest.fixture
def settings():
    return get_settings()


def test_password_hash_is_salted_argon2id_with_owasp_parameters():
    first, second = auth.hash_password("strongpass1"), auth.hash_password("strongpass1")
    assert first != second
    assert first.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert "strongpass1" not in first


def test_password_verifies_only_with_the_right_password():
    stored = auth.hash_password("strongpass1")
    assert auth.verify_password(stored, "strongpass1")
    assert not auth.verify_password(stored, "strongpass2")
    assert not auth.verify_password(None, "strongpass1")
    assert not auth.verify_password("not-a-hash", "strongpass1")


def test_token_round_trip_carries_subject_role_and_id(settings):
    token, principal = auth.issue_token(settings, "agent", 7)
    assert auth.verify_token(settings, token) == principal
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) == {"sub", "role", "jti", "iat", "exp", "iss"}
    assert claims["sub"] == "7" and claims["role"] == "agent"
    assert claims["exp"] - claims["iat"] == settings.token_ttl_seconds <= 12 * 3600


def test_every_token_has_its_own_id(settings):
    assert auth.issue_token(settings, "agent", 1)[1].jti != auth.issue_token(settings, "agent", 1)[1].jti


def test_expired_token_is_refused(settings):
    token, _ = auth.issue_token(settings, "agent", 1, now=1_000_000)
    with pytest.raises(Unauthorized) as error:
        auth.verify_token(settings, token)
    assert error.value.code == "token_expired"


def test_token_signed_with_another_secret_is_refused(settings):
    forged = jwt.encode(
        {"sub": "1", "role": "agent", "jti": "x", "iat": 1, "exp": 4_000_000_000, "iss": auth.ISSUER},
        "another-secret-of-sufficient-length-123456",
        algorithm="HS256",
    )
    with pytest.raises(Unauthorized):
        auth.verify_token(settings, forged)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_unsigned_alg_none_token_is_refused(settings):
    claims = {"sub": "1", "role": "agent", "jti": "x", "iat": 1, "exp": 4_000_000_000, "iss": auth.ISSUER}
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    with pytest.raises(Unauthorized):
        auth.verify_token(settings, unsigned)


def test_token_with_edited_claims_is_refused(settings):
    token, _ = auth.issue_token(settings, "customer", 1)
    header, _, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["sub"] = "2"
    with pytest.raises(Unauthorized):
        auth.verify_token(settings, f"{header}.{_b64(claims)}.{signature}")


@pytest.mark.parametrize("missing", ["sub", "role", "jti", "exp", "iat", "iss"])
def test_token_missing_a_claim_is_refused(settings, missing):
    claims = {"sub": "1", "role": "agent", "jti": "x", "iat": 1, "exp": 4_000_000_000, "iss": auth.ISSUER}
    del claims[missing]
    with pytest.raises(Unauthorized):
        auth.verify_token(settings, jwt.encode(claims, settings.jwt_secret, algorithm="HS256"))


def test_token_with_an_unknown_role_is_refused(settings):
    claims = {"sub": "1", "role": "admin", "jti": "x", "iat": 1, "exp": 4_000_000_000, "iss": auth.ISSUER}
    with pytest.raises(Unauthorized):
        auth.verify_token(settings, jwt.encode(claims, settings.jwt_secret, algorithm="HS256"))


def test_authorize_requires_the_same_user_and_role():
    principal = Principal(role="agent", user_id=1, jti="x", expires_at=0)
    auth.authorize(principal, "agent", 1)
    with pytest.raises(Forbidden):
        auth.authorize(principal, "agent", 2)
    with pytest.raises(Forbidden):
        auth.authorize(principal, "customer", 1)


def test_a_token_living_longer_than_the_ttl_is_refused(settings):
    # Signed with the right secret (a leaked secret, an old release), but valid for longer than tokens are issued.
    now = int(time.time())
    claims = {"sub": "1", "role": "agent", "jti": "x", "iat": now, "exp": now + settings.token_ttl_seconds + 1}
    claims["iss"] = auth.ISSUER
    with pytest.raises(Unauthorized) as error:
        auth.verify_token(settings, jwt.encode(claims, settings.jwt_secret, algorithm="HS256"))
    assert error.value.code == "invalid_token"


def test_a_token_living_exactly_the_ttl_is_accepted(settings):
    now = int(time.time())
    claims = {"sub": "1", "role": "agent", "jti": "x", "iat": now, "exp": now + settings.token_ttl_seconds}
    claims["iss"] = auth.ISSUER
    assert auth.verify_token(settings, jwt.encode(claims, settings.jwt_secret, algorithm="HS256")).user_id == 1
