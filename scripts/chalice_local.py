"""`chalice` CLI entry point for the local stack, with a listen backlog fit for concurrent clients.

`chalice local` serves with the standard library's ThreadingMixIn HTTPServer, whose
listen backlog is 5: a burst of a few dozen simultaneous connections (concurrency
tests, a browser plus a load script) gets connection resets before any thread runs.
The server is otherwise unchanged.
"""

from __future__ import annotations

import sys

from chalice import local
from chalice.cli import main

LISTEN_BACKLOG = 128

if __name__ == "__main__":
    local.ThreadedHTTPServer.request_queue_size = LISTEN_BACKLOG
    sys.exit(main())
