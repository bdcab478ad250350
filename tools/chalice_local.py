"""``chalice local``, fixed for concurrent clients and odd methods.

- The local server is socketserver's, whose backlog of 5 pending connections
  resets clients beyond that when many connect at the same instant (the
  concurrency tests do, and so may a team trying the service).
- Methods the handler does not know (TRACE, QUERY, ...) got the standard
  library's HTML 501; they now reach the app, which answers 405 in JSON as
  for any other method a route does not have.

Same arguments as the ``chalice`` command: ``python -m tools.chalice_local local --port 8080``.
"""

import sys

from chalice import local
from chalice.cli import main

local.ThreadedHTTPServer.request_queue_size = 128


def _any_method(handler: local.ChaliceRequestHandler, name: str) -> object:
    if name.startswith("do_"):
        return handler._generic_handle
    raise AttributeError(name)


local.ChaliceRequestHandler.__getattr__ = _any_method  # type: ignore[attr-defined]

if __name__ == "__main__":
    sys.exit(main())
