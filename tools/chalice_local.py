"""``chalice local``, fixed for concurrent clients, odd methods, unknown paths, secrets and Ctrl-C.

- The local server is socketserver's, whose backlog of 5 pending connections
  resets clients beyond that when many connect at the same instant (the
  concurrency tests do, and so may a team trying the service).
- Methods the handler does not know (TRACE, QUERY, ...) got the standard
  library's HTML 501; they now reach the app, which answers 405 in JSON as
  for any other method a route does not have.
- A path no route matches got API Gateway's 403 ``Missing Authentication
  Token`` (with an ``Authorization`` header, a message echoing the token back).
  It is a 404 in the service's error shape, with its security headers, as the
  deployed API answers: the HTTP API through the app's own matching of its
  ``$default`` route (``chalicelib/routes/gateway.py``), the REST API through
  its gateway responses (``tools/package.py``).
- The access log carried query strings, and with them any secret a client put
  there (``POST /agent/login?username=...&password=...``): it logs the path
  only, ``?<redacted>`` standing for a query string.
- A setting given in the environment overrides the stage's value in
  ``.chalice/config.json`` (chalice itself lets the stage win).
- Ctrl-C or SIGTERM ends the server quietly (no ``Aborted!``, no traceback):
  ``make run`` says in one line that it stopped.

Same arguments as the ``chalice`` command: ``python -m tools.chalice_local local --port 8080``.
"""

import json
import logging
import os
import re
import signal
import sys


def _quiet_exit(signum: int, _frame: object) -> None:
    raise SystemExit(0)


if __name__ == "__main__":  # first, so an interrupt while chalice and the app import is quiet too
    signal.signal(signal.SIGINT, _quiet_exit)
    signal.signal(signal.SIGTERM, _quiet_exit)

from chalice import local  # noqa: E402
from chalice.cli import factory, main  # noqa: E402

from chalicelib.routes.common import SECURITY_HEADERS  # noqa: E402
from chalicelib.routes.gateway import NOT_FOUND_MESSAGE  # noqa: E402

local.ThreadedHTTPServer.request_queue_size = 128

_load_chalice_app = factory.CLIFactory.load_chalice_app


def _load_app_with_overrides(
    self: factory.CLIFactory, environment_variables: object = None, **kwargs: object
) -> object:
    """The stage's variables, except those the caller's environment sets: ``ALLOCATION_CAP=3 make run``."""
    if isinstance(environment_variables, dict):
        environment_variables = {k: v for k, v in environment_variables.items() if k not in os.environ}
    return _load_chalice_app(self, environment_variables, **kwargs)


factory.CLIFactory.load_chalice_app = _load_app_with_overrides  # type: ignore[method-assign]

QUERY_STRING = re.compile(r"\?[^\s\"']*")


def _any_method(handler: local.ChaliceRequestHandler, name: str) -> object:
    if name.startswith("do_"):
        return handler._generic_handle
    raise AttributeError(name)


local.ChaliceRequestHandler.__getattr__ = _any_method  # type: ignore[attr-defined]


class NotFoundError(local.LocalGatewayException):
    CODE = 404


def not_found() -> NotFoundError:
    """The answer to a path no route matches: our error shape and headers, nothing of the request echoed."""
    body = {"error": {"code": "not_found", "message": NOT_FOUND_MESSAGE}}
    headers = {"Content-Type": "application/json", **SECURITY_HEADERS}
    return NotFoundError(headers, json.dumps(body).encode())


_generate_lambda_event = local.LocalGateway._generate_lambda_event


def _lambda_event_or_404(gateway: local.LocalGateway, *args: object, **kwargs: object) -> dict:
    try:
        return _generate_lambda_event(gateway, *args, **kwargs)
    except ValueError:  # chalice's RouteMatcher: "No matching route found"
        raise not_found() from None


local.LocalGateway._generate_lambda_event = _lambda_event_or_404  # type: ignore[method-assign]


def redact_query(message: str) -> str:
    """A log line without query strings: ``GET /a?token=x HTTP/1.1`` -> ``GET /a?<redacted> HTTP/1.1``."""
    return QUERY_STRING.sub("?<redacted>", message)


_log_message = local.ChaliceRequestHandler.log_message


def _log_message_without_queries(handler: local.ChaliceRequestHandler, fmt: str, *args: object) -> None:
    _log_message(handler, "%s", redact_query(fmt % args))


local.ChaliceRequestHandler.log_message = _log_message_without_queries  # type: ignore[method-assign]

if __name__ == "__main__":
    # chalice local logs the root logger at INFO: botocore's "Found credentials in ..." is noise.
    logging.getLogger("botocore").setLevel(logging.WARNING)
    sys.exit(main())
