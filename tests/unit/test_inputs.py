"""Request input parsing and field validation (pure)."""

import pytest

from chalicelib.errors import InvalidInput, PayloadTooLarge
from chalicelib.inputs import Params, body_limit, idempotency_key, parse_body, parse_id

FORM = "application/x-www-form-urlencoded"


def test_form_urlencoded_body():
    assert parse_body(FORM, b"username=a%20b&password=x", 1024) == {"username": "a b", "password": "x"}


def test_json_body():
    assert parse_body("application/json", b'{"customer_id": 3}', 1024) == {"customer_id": 3}


def test_multipart_form_data_body_as_postman_sends_it():
    boundary = "----PostmanBoundary123"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="username"\r\n\r\n'
        "tumblrbiru\r\n"
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="password"\r\n\r\n'
        "strongpass6\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    fields = parse_body(f"multipart/form-data; boundary={boundary}", body, 4096)
    assert fields == {"username": "tumblrbiru", "password": "strongpass6"}


def test_empty_body_has_no_fields():
    assert parse_body("application/json", b"", 1024) == {}


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_malformed_json_is_a_400(body):
    with pytest.raises(InvalidInput):
        parse_body("application/json", body, 1024)


def test_oversized_body_is_a_413():
    with pytest.raises(PayloadTooLarge):
        parse_body(FORM, b"x" * 2000, 1024)


@pytest.mark.parametrize("value, expected", [("7", 7), (7, 7), ("000123", 123)])
def test_ids_accept_numbers_and_digit_strings(value, expected):
    assert parse_id("customer_id", value) == expected


@pytest.mark.parametrize("value", ["abc", "-1", "0", 0, True, 1.5, "1e3", "١٢", [1], None, "9" * 14])
def test_malformed_ids_name_the_field(value):
    with pytest.raises(InvalidInput) as error:
        parse_id("customer_id", value)
    assert error.value.field == "customer_id"


def test_query_and_body_merge_but_may_not_disagree():
    assert Params({"channel_id": "A"}, {"channel_id": "A"}).has("channel_id")
    with pytest.raises(InvalidInput):
        Params({"customer_id": "1"}, {"customer_id": "2"})


def test_text_must_be_a_non_blank_string_within_the_limit():
    assert Params(None, {"t": "hello\nthere"}).text("t", 20) == "hello\nthere"
    for value in ("", "   ", 5, ["x"]):
        with pytest.raises(InvalidInput):
            Params(None, {"t": value}).text("t", 20)
    with pytest.raises(PayloadTooLarge):
        Params(None, {"t": "x" * 21}).text("t", 20)


def test_text_refuses_lone_surrogates_and_control_characters():
    for value in ("bad \ud800 text", "bell \x07"):
        with pytest.raises(InvalidInput):
            Params(None, {"t": value}).text("t", 100)


def test_text_keeps_unicode_and_normalises_it():
    assert Params(None, {"t": "cafe\u0301 🙂"}).text("t", 100) == "caf\u00e9 🙂"


def test_sortable_ids_are_validated_and_upper_cased():
    assert Params(None, {"c": "01m861v8m71w3181tw3gy0gtqa"}).sortable_id("c") == "01M861V8M71W3181TW3GY0GTQA"
    assert Params(None, {}).sortable_id("c") is None
    with pytest.raises(InvalidInput):
        Params(None, {"c": "../../etc"}).sortable_id("c")


def test_idempotency_key_format():
    assert idempotency_key(None) is None
    assert idempotency_key("retry-42:a.b_c") == "retry-42:a.b_c"
    for bad in ("", "has space", "x" * 129, "semi;colon"):
        with pytest.raises(InvalidInput):
            idempotency_key(bad)


def test_the_body_limit_fits_the_longest_message_in_its_costliest_encoding():
    assert body_limit(4000, 16 * 1024) >= 12 * 4000 + len('{"text_message": ""}')
    assert body_limit(10, 16 * 1024) == 16 * 1024  # MAX_BODY_BYTES only ever raises it


def test_deep_json_is_malformed_whether_or_not_it_recurses():
    for body in ("[" * 1000 + "]" * 1000, '{"a": ' + "[" * 40 + "]" * 40 + "}"):
        with pytest.raises(InvalidInput) as error:
            parse_body("application/json", body.encode(), 100_000)
        assert error.value.code == "malformed_body"


def test_invalid_utf8_escapes_in_form_values_name_the_field():
    with pytest.raises(InvalidInput) as error:
        parse_body(FORM, b"text_message=%ff%fe", 1024)
    assert error.value.field == "text_message"
    assert parse_body(FORM, b"text_message=%EF%BF%BD", 1024) == {"text_message": "\ufffd"}  # a real U+FFFD


def test_a_replacement_character_in_the_query_is_refused():
    with pytest.raises(InvalidInput) as error:
        Params({"text_message": "\ufffd\ufffd"}, {})
    assert error.value.field == "text_message"


def test_limit_names_its_own_range():
    assert Params(None, {"limit": "500"}).limit("limit", 50) == 500
    for value in ("0", "501"):
        with pytest.raises(InvalidInput, match="between 1 and 500"):
            Params(None, {"limit": value}).limit("limit", 50)
