"""Structured logs: JSON lines with the request id, exceptions without stack traces."""

from __future__ import annotations

import io
import json
import logging
from types import SimpleNamespace

import pytest

from chalicelib import logs
from chalicelib.config import load_settings


@pytest.fixture
def json_logs(monkeypatch):
    """JSON lines into a buffer, as a deployed stage writes them; the loggers restored afterwards."""
    saved = {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).propagate) for name in logs.LOGGERS}
    monkeypatch.setattr(logs, "_configured", [])
    monkeypatch.setenv("LOG_FORMAT", "json")
    buffer = io.StringIO()
    monkeypatch.setattr(logs.sys, "stdout", buffer)
    logs.configure(load_settings())
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    for name, (handlers, propagate) in saved.items():
        logging.getLogger(name).handlers, logging.getLogger(name).propagate = handlers, propagate


def test_a_line_is_one_json_object_with_the_request_id_inside_its_handling(json_logs):
    log = logging.getLogger("chalicelib.channels")
    with logs.handling("req-1"):
        log.info("channel %s assigned", "C1")
    log.warning("outside")
    inside, outside = json_logs()
    assert inside["message"] == "channel C1 assigned" and inside["request_id"] == "req-1"
    assert (inside["level"], inside["logger"]) == ("INFO", "chalicelib.channels") and inside["time"].endswith("Z")
    assert "request_id" not in outside


def test_an_exception_is_logged_by_type_and_message_never_its_stack(json_logs):
    try:
        raise ValueError("bad thing")
    except ValueError:
        logging.getLogger("agent-allocation").exception("Caught exception for path /x")
    (line,) = json_logs()
    assert line["error"] == "ValueError: bad thing" and "Traceback" not in json.dumps(line)


def test_an_event_handler_uses_lambdas_invocation_id_or_makes_one(json_logs):
    settings = load_settings()
    with logs.handling_event(SimpleNamespace(context=SimpleNamespace(aws_request_id="lambda-7")), settings) as rid:
        assert rid == "lambda-7" and logs.request_id() == "lambda-7"
    with logs.handling_event(SimpleNamespace(context=None), settings) as rid:
        assert len(rid) == 32
    assert logs.request_id() is None


def test_local_stages_log_plain_text_and_others_json(monkeypatch):
    assert load_settings().log_format == "text"
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.setenv("JWT_SECRET", "s" * 40)
    assert load_settings().log_format == "json"
