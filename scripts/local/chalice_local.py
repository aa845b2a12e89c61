"""`chalice` CLI entry point for the local stack, with a listen backlog fit for concurrent clients.

`chalice local` serves with the standard library's ThreadingMixIn HTTPServer, whose
listen backlog is 5: a burst of a few dozen simultaneous connections (concurrency
tests, a browser plus a load script) gets connection resets before any thread runs.
It also hands every HTTP method to the app (which answers 405 in the error envelope
for a method a route lacks) where the standard library would answer TRACE, QUERY or
any other method it does not know with a bare HTML 501. The server is otherwise unchanged.
"""

from __future__ import annotations

import sys
from typing import Any

from chalice import local
from chalice.cli import main

LISTEN_BACKLOG = 128


def _any_method(handler: local.ChaliceRequestHandler, name: str) -> Any:
    """``do_<METHOD>`` for methods the handler does not define: Chalice's generic handler."""
    if name.startswith("do_"):
        return handler._generic_handle
    raise AttributeError(name)


if __name__ == "__main__":
    local.ThreadedHTTPServer.request_queue_size = LISTEN_BACKLOG
    local.ChaliceRequestHandler.__getattr__ = _any_method
    sys.exit(main())
