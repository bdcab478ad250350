"""Request input: parsing bodies and validating fields. Pure; raises ``InvalidInput``.

Inputs arrive as JSON objects, as form values (``x-www-form-urlencoded`` or
``multipart/form-data``, on GET too) or as query parameters. All are merged
into one ``Params``; a field given twice with different values is refused.
Only the fields a route asks for are read, so extra fields can never reach a
stored item.

Every value must be valid UTF-8 in every encoding: raw invalid bytes, invalid
percent-escapes in form values and U+FFFD in query parameters (the replacement
character ``chalice local`` and API Gateway put where a query had invalid bytes,
so a query cannot carry one) are refused with 400.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from chalicelib.errors import InvalidInput, PayloadTooLarge

MAX_ID = 10**12
MAX_PAGE = 500
MAX_USERNAME_CHARS = 64
MAX_PASSWORD_CHARS = 256
MAX_TOKEN_CHARS = 2048
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
SORTABLE_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
# Control characters other than tab, newline and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# A body is a flat object; nesting deeper than this is refused before anything walks it.
MAX_JSON_DEPTH = 32
# The body limit. A character of text costs at most 12 bytes in any accepted encoding
# (the JSON escapes \ud83d\ude00, or the form escapes %F0%9F%98%80), so a body must
# fit 12 bytes per character of the longest field plus room for everything else:
# the other fields (an id, or a login's username and password at 12 bytes a
# character: 3,840 bytes), field names and JSON or multipart framing.
BYTES_PER_CHAR = 12
BODY_OVERHEAD_BYTES = 8 * 1024


def body_limit(max_message_chars: int, max_body_bytes: int) -> int:
    """The largest body accepted: every valid input fits, in any encoding.

    MAX_BODY_BYTES can raise the limit, never lower it below what a valid
    message of MAX_MESSAGE_CHARS needs (4,000 characters: 56,192 bytes).
    """
    return max(max_body_bytes, BYTES_PER_CHAR * max_message_chars + BODY_OVERHEAD_BYTES)


def parse_body(content_type: str, body: bytes, max_bytes: int) -> dict[str, Any]:
    """The fields of a request body; an empty body has none."""
    if len(body) > max_bytes:
        raise PayloadTooLarge(f"the request body is larger than {max_bytes} bytes", code="body_too_large")
    if not body.strip():
        return {}
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/x-www-form-urlencoded":
        return _parse_form(_decode(body))
    if media_type == "multipart/form-data":
        return _parse_multipart(content_type, body)
    try:
        fields = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidInput("the request body is not valid JSON", code="malformed_body") from None
    if not isinstance(fields, dict):
        raise InvalidInput("the request body must be a JSON object", code="malformed_body")
    if _depth(fields) > MAX_JSON_DEPTH:
        raise InvalidInput(f"the request body is nested deeper than {MAX_JSON_DEPTH} levels", code="malformed_body")
    return fields


def _depth(value: Any) -> int:
    """How deeply ``value`` nests, walked without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return deepest


def _parse_form(text: str) -> dict[str, Any]:
    """Form values; a percent-escape that is not UTF-8 is refused, naming its field."""
    fields: dict[str, Any] = {}
    for name, value in parse_qsl(text, keep_blank_values=True, errors="surrogateescape"):
        if _SURROGATE.search(name):
            raise InvalidInput("a form field name is not valid UTF-8", code="malformed_body")
        if _SURROGATE.search(value):
            raise InvalidInput(f"{name} is not valid UTF-8", field=name)
        fields[name] = value
    return fields


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("the request body is not valid UTF-8", code="malformed_body") from None


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    from email.parser import BytesParser  # imported on first use: it costs every cold start otherwise
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise InvalidInput("the multipart body could not be parsed", code="malformed_body")
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name or part.get_filename():
            continue
        payload = part.get_payload(decode=True) or b""
        fields[str(name)] = _decode(payload)
    return fields


class Params:
    """The merged input fields of one request, read by typed accessors."""

    def __init__(self, query: Mapping[str, str] | None, body: Mapping[str, Any]) -> None:
        merged: dict[str, Any] = dict(query or {})
        for name, value in merged.items():
            if "\ufffd" in name or "\ufffd" in str(value):
                raise InvalidInput(f"{name} is not valid UTF-8", field=name)
        self.query_names = frozenset(merged)
        for name, value in body.items():
            if name in merged and str(merged[name]) != str(value):
                raise InvalidInput(f"{name} is given twice with different values", field=name)
            merged[name] = value
        self._fields = merged

    def has(self, name: str) -> bool:
        value = self._fields.get(name)
        return value is not None and value != ""

    def id(self, name: str, *, required: bool = True) -> int | None:
        """A positive integer id (JSON number or decimal string)."""
        if not self.has(name):
            if required:
                raise InvalidInput(f"{name} is required", field=name)
            return None
        return parse_id(name, self._fields[name])

    def text(self, name: str, max_chars: int) -> str:
        """Free text: non-blank, at most ``max_chars`` characters, valid Unicode."""
        value = self._string(name, required=True)
        if not value.strip():
            raise InvalidInput(f"{name} must not be blank", field=name)
        if len(value) > max_chars:
            raise PayloadTooLarge(f"{name} is longer than {max_chars} characters", code="field_too_large", field=name)
        if _CONTROL.search(value):
            raise InvalidInput(f"{name} contains control characters", field=name)
        return unicodedata.normalize("NFC", value)

    def username(self, name: str = "username") -> str:
        value = self._string(name, required=True)
        if len(value) > MAX_USERNAME_CHARS or _CONTROL.search(value) or value != value.strip():
            raise InvalidInput(f"{name} is not a valid username", field=name)
        return value

    def password(self, name: str = "password") -> str:
        value = self._string(name, required=True)
        if len(value) > MAX_PASSWORD_CHARS:
            raise InvalidInput(f"{name} is longer than {MAX_PASSWORD_CHARS} characters", field=name)
        return value

    def sortable_id(self, name: str) -> str | None:
        """An optional channel or message id (26 characters, Crockford base32)."""
        if not self.has(name):
            return None
        value = self._string(name, required=True).upper()
        if not SORTABLE_ID.match(value):
            raise InvalidInput(f"{name} is not a valid id", field=name)
        return value

    def limit(self, name: str, default: int, maximum: int = MAX_PAGE) -> int:
        """A page size from 1 to ``maximum``; ``default`` if absent."""
        if not self.has(name):
            return default
        return parse_id(name, self._fields[name], maximum)

    def choice(self, name: str, values: tuple[str, ...], *, required: bool, default: str | None = None) -> str | None:
        """One of ``values``; ``default`` if absent (or 400 when ``required``)."""
        if not self.has(name):
            if required:
                raise InvalidInput(f"{name} is required", field=name)
            return default
        value = self._string(name, required=True)
        if value not in values:
            raise InvalidInput(f"{name} must be one of: {', '.join(values)}", field=name)
        return value

    def number(self, name: str, minimum: int, maximum: int) -> int | None:
        """An optional whole number from ``minimum`` to ``maximum`` (JSON number or decimal string)."""
        if not self.has(name):
            return None
        value = self._fields[name]
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 6:
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            raise InvalidInput(f"{name} must be a whole number from {minimum} to {maximum}", field=name)
        return value

    def seconds(self, name: str, maximum: int) -> int:
        """A whole number of seconds from 0 to ``maximum``; 0 if absent."""
        if not self.has(name) or str(self._fields[name]).strip() == "0":
            return 0
        return parse_id(name, self._fields[name], maximum)

    def token(self, name: str) -> str | None:
        """An optional opaque token (printable ASCII, at most ``MAX_TOKEN_CHARS``)."""
        if not self.has(name):
            return None
        value = self._string(name, required=True)
        if len(value) > MAX_TOKEN_CHARS or not value.isascii() or not value.isprintable():
            raise InvalidInput(f"{name} is not a valid token", field=name)
        return value

    def _string(self, name: str, *, required: bool) -> str:
        value = self._fields.get(name)
        if value is None or value == "":
            if required:
                raise InvalidInput(f"{name} is required", field=name)
            return ""
        if not isinstance(value, str):
            raise InvalidInput(f"{name} must be a string", field=name)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(f"{name} is not valid Unicode", field=name) from None
        return value


def parse_path_value(name: str, value: str) -> int | str:
    """A path parameter: ``channel_id`` a sortable id, other ``*_id`` a positive integer, else as it is."""
    if name == "channel_id":
        if not SORTABLE_ID.match(value.upper()):
            raise InvalidInput(f"{name} is not a valid id", field=name)
        return value.upper()
    return parse_id(name, value) if name.endswith("_id") else value


def parse_id(name: str, value: Any, maximum: int = MAX_ID) -> int:
    """A positive integer (at most ``maximum``) from a path segment, form value or JSON number."""
    if isinstance(value, bool):
        raise InvalidInput(f"{name} must be a positive integer", field=name)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 13:
        number = int(value)
    else:
        raise InvalidInput(f"{name} must be a positive integer", field=name)
    if not 1 <= number <= maximum:
        raise InvalidInput(f"{name} must be between 1 and {maximum}", field=name)
    return number


def idempotency_key(value: str | None) -> str | None:
    """The optional ``Idempotency-Key`` header: 1-128 of ``A-Z a-z 0-9 _ . : -``."""
    if value is None:
        return None
    if not IDEMPOTENCY_KEY.match(value):
        raise InvalidInput(
            "Idempotency-Key must be 1-128 characters of letters, digits, '_', '.', ':' or '-'",
            field="Idempotency-Key",
        )
    return value
