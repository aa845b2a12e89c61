"""The DynamoDB client, configured for a request path: few attempts, short timeouts, keep-alive.

Building a client costs milliseconds and a warm Lambda reuses it, so
``chalicelib/wiring.py`` builds one per process. It is botocore's client, made
without boto3: boto3 adds nothing to a low-level client but its import, which
pulls in s3transfer and multiprocessing and costs a cold start ~20 ms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import botocore.session
from botocore.config import Config

from chalicelib.config import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def build_client(settings: Settings) -> DynamoDBClient:
    config = Config(
        retries={"mode": "standard", "total_max_attempts": settings.dynamodb_max_attempts},
        connect_timeout=settings.dynamodb_connect_timeout,
        read_timeout=settings.dynamodb_read_timeout,
        tcp_keepalive=True,
    )
    client = botocore.session.get_session().create_client(
        "dynamodb", endpoint_url=settings.dynamodb_endpoint_url, region_name=settings.aws_region, config=config
    )
    return cast("DynamoDBClient", client)
