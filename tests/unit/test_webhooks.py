"""Webhooks without a network: signing and verifying, the queue's messages, backoff, address checks,
and their configuration. Deliveries to a real receiver are in tests/integration/test_webhooks.py."""

from __future__ import annotations

import json

import pytest

from chalicelib import webhooks
from chalicelib.config import DEVELOPMENT_WEBHOOK_SECRET, load_settings
from chalicelib.errors import ConfigError
from chalicelib.events import Event
from chalicelib.webhooks import DeliveryFailed, backoff_seconds, check, messages_of, sign, verify

SECRET = "w" * 40
BODY = b'{"event_id":"e1","type":"chat.assigned"}'


def signed(body: bytes = BODY, at: int = 1_700_000_000, secret: str = SECRET) -> dict[str, str]:
    return {"X-Webhook-Timestamp": str(at), "X-Signature": sign(secret, at, body), "X-Webhook-Id": "e1"}


def test_a_signature_is_the_hmac_of_timestamp_dot_body():
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, 1_700_000_000, BODY) == "sha256=" + expected


def test_verify_accepts_the_request_as_sent_with_headers_in_any_case():
    headers = {name.lower(): value for name, value in signed().items()}
    assert verify(SECRET, headers, BODY, now=1_700_000_100)


@pytest.mark.parametrize(
    "change",
    [
        lambda h, b: (h, b + b" "),  # the body changed
        lambda h, b: ({**h, "X-Webhook-Timestamp": "1700000001"}, b),  # the timestamp changed
        lambda h, b: ({**h, "X-Signature": sign("x" * 40, 1_700_000_000, b)}, b),  # another secret
        lambda h, b: ({k: v for k, v in h.items() if k != "X-Signature"}, b),  # no signature
        lambda h, b: ({**h, "X-Webhook-Timestamp": "soon"}, b),  # not a time
        lambda h, b: ({**h, "X-Webhook-Timestamp": "\u00b2"}, b),  # a digit, but not an ASCII one
        lambda h, b: ({**h, "X-Signature": "sha256=\u00e9" + "0" * 63}, b),  # not ASCII at all
    ],
)
def test_verify_refuses_anything_changed(change):
    headers, body = change(signed(), BODY)
    assert not verify(SECRET, headers, body, now=1_700_000_100)


def test_verify_refuses_a_replay_older_than_five_minutes():
    assert verify(SECRET, signed(), BODY, now=1_700_000_000 + 300)
    assert not verify(SECRET, signed(), BODY, now=1_700_000_000 + 301)


def test_each_event_becomes_one_message_per_url_in_order():
    events = [Event("a", "chat.assigned", "t"), Event("b", "chat.resolved", "t")]
    bodies = messages_of(events, ("https://one.example/h", "https://two.example/h"))
    decoded = [json.loads(b) for b in bodies]
    assert [(m["event"]["event_id"], m["url"]) for m in decoded] == [
        ("a", "https://one.example/h"),
        ("a", "https://two.example/h"),
        ("b", "https://one.example/h"),
        ("b", "https://two.example/h"),
    ]
    assert decoded[0]["event"] == events[0].to_dict()


def test_backoff_doubles_from_five_seconds_up_to_fifteen_minutes():
    assert [backoff_seconds(n) for n in range(1, 10)] == [5, 10, 20, 40, 80, 160, 320, 640, 900]


def resolving(*addresses: str):
    return lambda _host, _port: list(addresses)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.5",
        "172.16.9.9",
        "169.254.169.254",
        "::1",
        "fd00::1",
        "0.0.0.0",
        "100.64.0.1",
    ],
)
def test_an_address_that_is_not_public_is_refused_unless_allowed(address):
    with pytest.raises(DeliveryFailed, match="not public"):
        check("https://hooks.example.com/in", allow_private=False, resolve=resolving(address))
    target = check("https://hooks.example.com/in?x=1", allow_private=True, resolve=resolving(address))
    assert (target.host, target.address, target.port, target.path) == ("hooks.example.com", address, 443, "/in?x=1")


@pytest.mark.parametrize(
    "address",
    ["::ffff:10.0.0.5", "64:ff9b::a9fe:a9fe", "2002:a00:5::1"],  # IPv4-mapped, NAT64 (metadata), 6to4
)
def test_an_ipv6_address_leading_to_a_private_ipv4_one_is_refused(address):
    assert not webhooks.public(address)
    with pytest.raises(DeliveryFailed, match="not public"):
        check("https://hooks.example.com/", allow_private=False, resolve=resolving(address))


def test_an_ipv6_address_leading_to_a_public_ipv4_one_is_public():
    assert webhooks.public("64:ff9b::5db8:d822")  # NAT64 to 93.184.216.34
    assert webhooks.public("2002:5db8:d822::1")  # 6to4 from it


def test_messages_go_in_batches_of_ten_and_under_the_size_limit():
    from chalicelib.webhook_queue import batches

    assert [len(b) for b in batches(["x"] * 23)] == [10, 10, 3]
    big = "\u00e9" * 30_000  # 60 KB in UTF-8
    assert [len(b) for b in batches([big] * 7)] == [3, 3, 1]
    assert all(sum(len(m.encode()) for m in b) <= webhooks.MAX_BATCH_BYTES for b in batches([big] * 7))


def test_a_message_keeps_non_ascii_text_as_it_is():
    event = Event("a", "message.created", "t", data={"message": {"text": "halo \U0001f600"}})
    assert "\U0001f600" in messages_of([event], ("https://one.example/h",))[0]


def test_a_name_with_any_private_address_among_public_ones_is_refused():
    with pytest.raises(DeliveryFailed):
        check("https://hooks.example.com/", allow_private=False, resolve=resolving("93.184.216.34", "10.0.0.1"))
    target = check("http://hooks.example.com:8080", allow_private=False, resolve=resolving("93.184.216.34"))
    assert (target.address, target.port, target.path) == ("93.184.216.34", 8080, "/")


def test_a_name_that_does_not_resolve_fails_the_attempt():
    def nowhere(_host, _port):
        raise OSError("no such name")

    with pytest.raises(DeliveryFailed, match="does not resolve"):
        check("https://nowhere.invalid/", allow_private=False, resolve=nowhere)


def test_a_message_for_a_url_no_longer_configured_is_dropped_without_a_request():
    body = messages_of([Event("a", "chat.assigned", "t")], ("https://old.example/h",))[0]

    def no_lookup(_host, _port):
        raise AssertionError("no request may be made")

    assert (
        webhooks.deliver(body, SECRET, urls=("https://new.example/h",), allow_private=False, resolve=no_lookup) is None
    )


# -- configuration ----------------------------------------------------------------------


def test_without_urls_there_are_no_webhooks_and_no_secret_is_read(monkeypatch):
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.setenv("JWT_SECRET", "s" * 40)
    monkeypatch.setenv("WEBHOOK_SECRET_PARAMETER", "/never/read")  # no SSM call: it would fail here
    settings = load_settings()
    assert settings.webhook_urls == () and settings.webhook_secret is None and not settings.webhook_allow_private


def test_local_stages_allow_http_and_private_receivers_with_a_development_secret(monkeypatch):
    monkeypatch.setenv("WEBHOOK_URLS", "http://127.0.0.1:9000/hook, https://hooks.example.com/in")
    settings = load_settings()
    assert settings.webhook_urls == ("http://127.0.0.1:9000/hook", "https://hooks.example.com/in")
    assert settings.webhook_allow_private and settings.webhook_secret == DEVELOPMENT_WEBHOOK_SECRET
    assert settings.webhook_queue_url is None  # make run installs its own queue


def deployed(monkeypatch, **env: str) -> None:
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.setenv("JWT_SECRET", "s" * 40)
    monkeypatch.setenv("WEBHOOK_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/000000000000/q")
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_a_secret_kept_in_ssm_is_read_only_when_signing_once_and_checked(monkeypatch):
    from chalicelib import config, ssm

    reads: list[str] = []
    stored = {"/hooks/good": SECRET, "/hooks/short": "short"}
    monkeypatch.setattr(ssm, "read_parameter", lambda name: (reads.append(name), stored[name])[1])
    config._parameter_secret.cache_clear()
    deployed(monkeypatch, WEBHOOK_URLS="https://hooks.example.com/in", WEBHOOK_SECRET="")
    monkeypatch.setenv("WEBHOOK_SECRET_PARAMETER", "/hooks/good")
    settings = load_settings()
    assert reads == [] and settings.webhook_secret is None  # no function's cold start pays for it
    assert config.webhook_signing_secret(settings) == config.webhook_signing_secret(settings) == SECRET
    assert reads == ["/hooks/good"]
    monkeypatch.setenv("WEBHOOK_SECRET_PARAMETER", "/hooks/short")
    with pytest.raises(ConfigError, match="at least"):
        config.webhook_signing_secret(load_settings())
    config._parameter_secret.cache_clear()


def test_a_deployed_stage_takes_https_urls_its_secret_and_queue(monkeypatch):
    deployed(monkeypatch, WEBHOOK_URLS="https://hooks.example.com/in")
    settings = load_settings()
    assert settings.webhook_urls == ("https://hooks.example.com/in",) and settings.webhook_secret == SECRET
    assert not settings.webhook_allow_private
    assert SECRET not in repr(settings) and "s" * 40 not in repr(settings)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"WEBHOOK_URLS": "http://hooks.example.com/in"}, "https://"),
        ({"WEBHOOK_URLS": "ftp://hooks.example.com/in"}, "https://"),
        ({"WEBHOOK_URLS": "https:///in"}, "https://"),
        ({"WEBHOOK_URLS": "https://hooks.example.com:99999/in"}, "https://"),
        ({"WEBHOOK_URLS": "https://user:pw@hooks.example.com/in"}, "credentials"),
        ({"WEBHOOK_URLS": "https://hooks.example.com/in/\u00e9"}, "ASCII"),
        ({"WEBHOOK_URLS": "https://hooks.example.com/in x"}, "ASCII"),
        ({"WEBHOOK_URLS": "https://hooks.example.com:0/in"}, "https://"),
        ({"WEBHOOK_URLS": "https://10.0.0.8/in"}, "WEBHOOK_ALLOW_PRIVATE"),
        ({"WEBHOOK_URLS": "https://[::1]/in"}, "WEBHOOK_ALLOW_PRIVATE"),
        ({"WEBHOOK_URLS": "https://[2002:a00:8::1]/in"}, "WEBHOOK_ALLOW_PRIVATE"),  # 6to4 to 10.0.0.8
        ({"WEBHOOK_URLS": ",".join(f"https://h{i}.example.com/" for i in range(11))}, "at most 10"),
        ({"WEBHOOK_URLS": "https://hooks.example.com/in", "WEBHOOK_SECRET": "short"}, "WEBHOOK_SECRET"),
        ({"WEBHOOK_URLS": "https://hooks.example.com/in", "WEBHOOK_QUEUE_URL": ""}, "WEBHOOK_QUEUE_URL"),
        ({"WEBHOOK_URLS": "https://hooks.example.com/in", "WEBHOOK_ALLOW_PRIVATE": "maybe"}, "WEBHOOK_ALLOW_PRIVATE"),
    ],
)
def test_a_deployed_stage_refuses_bad_webhook_settings_by_name(monkeypatch, env, named):
    deployed(monkeypatch, **env)
    with pytest.raises(ConfigError, match=named):
        load_settings()


def test_a_stage_may_allow_private_receivers(monkeypatch):
    deployed(monkeypatch, WEBHOOK_URLS="https://10.0.0.8/in", WEBHOOK_ALLOW_PRIVATE="true")
    assert load_settings().webhook_allow_private
