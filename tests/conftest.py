"""What every test tier shares: botocore's data files read once per test process.

The tests rebuild the wiring for each test (a fresh environment, a fresh botocore session),
and each new session would read botocore's service models, endpoint rules and partitions
from disk again: most of a unit test's setup time. A deployed function makes one session
per process, so reading them once per process here is what production does; the clients
built from them are still new for every test.
"""

from __future__ import annotations

import functools

import botocore.loaders
import botocore.session


@functools.cache
def _shared_loader(data_path: str | None) -> botocore.loaders.Loader:
    return botocore.loaders.create_loader(data_path)


botocore.session.create_loader = _shared_loader
