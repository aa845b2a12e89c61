"""The app in this process, against a given DynamoDB Local, with its log lines dropped."""

from __future__ import annotations

import io
import logging
import os
from typing import Any

from scripts.local.dynamodb_local import local_aws_environment


def environment(endpoint: str, prefix: str) -> dict[str, str]:
    """A bench stage whose tables are named ``<prefix>-...``."""
    from chalicelib.storage.tables import ALL_TABLES

    return {
        **local_aws_environment(endpoint),
        "STAGE": "bench",
        "PAGINATION_SECRET": "b" * 32,
        **{spec.name_variable: f"{prefix}-{spec.base_name}" for spec in ALL_TABLES},
    }


def start_app(endpoint: str, prefix: str) -> Any:
    """Import the app wired to ``endpoint`` with its tables created; return the handler."""
    os.environ.update(environment(endpoint, prefix))
    from app import app
    from chalicelib import wiring
    from chalicelib.observability import SERVICE

    for handler in logging.getLogger(SERVICE).handlers:  # log lines are produced, then dropped
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(io.StringIO())
    wiring.reset()
    wiring.create_missing_tables()
    return app
