"""Lambda's part for the local stack: read the customers table's stream and hand each batch to the consumer.

Deployed, Lambda's event source mapping polls the stream and calls the
``record_changes`` function; locally this does the same against DynamoDB Local
(DescribeStream, GetShardIterator, GetRecords), with the event Lambda would
send, so the consumer behaves exactly as deployed. What the mapping does around
the function is copied too: a shard's batches in order, a parent shard before its
children, a batch retried from the first record the function reports failed
(``ReportBatchItemFailures``), at most ``max_retries`` times, after which the
batch's metadata goes to the on-failure destination (a file under ``.local/``)
and the shard moves on. The consumer itself parks a failing record whole before
that (STREAM_MAX_ATTEMPTS).

    python -m scripts.local.stream_poller   # under `make run`, with the stack's environment
"""

from __future__ import annotations

import base64
import json
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

Handler = Callable[[dict[str, Any]], Mapping[str, Any]]
BATCH_SIZE = 100
MAX_RETRIES = 5  # as the deployed mapping's MaximumRetryAttempts


def streams_client(endpoint_url: str | None, region: str) -> Any:
    # Account-based endpoints (botocore's default) are unknown to emulators.
    config = Config(account_id_endpoint_mode="disabled", retries={"mode": "standard", "total_max_attempts": 3})
    return boto3.client("dynamodbstreams", endpoint_url=endpoint_url, region_name=region, config=config)


def lambda_record(record: Mapping[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A GetRecords record in the shape Lambda delivers it (epoch-second timestamps, the source ARN)."""
    delivered: dict[str, Any] = json.loads(json.dumps(record, default=_json_default))
    data = delivered.get("dynamodb", {})
    created = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        data["ApproximateCreationDateTime"] = created.timestamp()
    identity = delivered.pop("userIdentity", None)
    if identity:  # GetRecords spells it {"PrincipalId", "Type"}; Lambda delivers {"principalId", "type"}
        delivered["userIdentity"] = {"principalId": identity.get("PrincipalId"), "type": identity.get("Type")}
    delivered["eventSourceARN"] = stream_arn
    delivered.setdefault("awsRegion", region)
    delivered.setdefault("eventSource", "aws:dynamodb")
    delivered.setdefault("eventVersion", "1.1")
    return delivered


def _json_default(value: object) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bytes | bytearray):  # a binary attribute: Lambda's JSON carries it base64-encoded
        return base64.b64encode(value).decode("ascii")
    raise TypeError(type(value).__name__)


@dataclass
class _Shard:
    shard_id: str
    parent: str | None
    iterator: str | None = None
    checkpoint: str | None = None  # the last sequence number handled
    closed: bool = False
    done: bool = False
    retries: int = 0


@dataclass
class StreamPoller:
    """Polls one stream; :meth:`poll_once` hands every available batch to ``handler`` (tests call it directly)."""

    client: Any
    stream_arn: str
    handler: Handler
    region: str = "us-east-1"
    failure_dir: Path | None = None
    max_retries: int = MAX_RETRIES
    batch_size: int = BATCH_SIZE
    shards: dict[str, _Shard] = field(default_factory=dict)

    def poll_once(self) -> int:
        """Handle what the stream has now, every shard (parents first); the number of records handed over."""
        self._discover()
        handled = 0
        for shard in self._in_order():
            handled += self._drain(shard)
        return handled

    def _discover(self) -> None:
        description = self.client.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            known = self.shards.get(shard["ShardId"])
            if known is None:
                known = self.shards[shard["ShardId"]] = _Shard(shard["ShardId"], shard.get("ParentShardId"))
            known.closed = "EndingSequenceNumber" in shard.get("SequenceNumberRange", {})

    def _in_order(self) -> list[_Shard]:
        """A child shard only once its parent (if still known) is done, as Lambda does."""
        ready = []
        for shard in self.shards.values():
            parent = self.shards.get(shard.parent or "")
            if not shard.done and (parent is None or parent.done):
                ready.append(shard)
        return ready

    def _iterator(self, shard: _Shard) -> str:
        if shard.iterator is None:
            request: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard.shard_id}
            if shard.checkpoint is None:
                request["ShardIteratorType"] = "TRIM_HORIZON"
            else:
                request.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=shard.checkpoint)
            shard.iterator = self.client.get_shard_iterator(**request)["ShardIterator"]
        return shard.iterator

    def _drain(self, shard: _Shard) -> int:
        handled = 0
        while True:
            try:
                response = self.client.get_records(ShardIterator=self._iterator(shard), Limit=self.batch_size)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == "ExpiredIteratorException":
                    shard.iterator = None
                    continue
                raise
            records = response.get("Records", [])
            next_iterator = response.get("NextShardIterator")
            if not records:
                shard.iterator = next_iterator
                if next_iterator is None:
                    shard.done = True
                return handled
            handled += len(records)
            retry_from = self._deliver(shard, records)
            if retry_from is None:
                shard.checkpoint = records[-1]["dynamodb"]["SequenceNumber"]
                shard.iterator = next_iterator
                shard.retries = 0
                continue
            # Resume just before the failed record: the next read starts with it.
            position = next(i for i, r in enumerate(records) if r["dynamodb"]["SequenceNumber"] == retry_from)
            if position > 0:
                shard.checkpoint = records[position - 1]["dynamodb"]["SequenceNumber"]
            shard.iterator = None
            return handled

    def _deliver(self, shard: _Shard, records: list[dict[str, Any]]) -> str | None:
        """Call the function; the sequence number to retry from, or None when the batch is done with."""
        event = {"Records": [lambda_record(record, self.stream_arn, self.region) for record in records]}
        try:
            failures = list(self.handler(event).get("batchItemFailures") or [])
        except Exception as error:
            print(f"stream poller: the consumer failed: {type(error).__name__}", file=sys.stderr)
            failures = [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]
        if not failures:
            return None
        numbers = {record["dynamodb"]["SequenceNumber"] for record in records}
        failed = sorted((str(f["itemIdentifier"]) for f in failures if f.get("itemIdentifier") in numbers), key=int)
        if not failed:
            return None
        shard.retries += 1
        if shard.retries <= self.max_retries:
            return failed[0]
        self._on_failure(shard, records)
        shard.retries = 0
        return None

    def _on_failure(self, shard: _Shard, records: list[dict[str, Any]]) -> None:
        """What Lambda sends its on-failure destination: where the batch was, never the records themselves."""
        metadata = {
            "condition": "RetryAttemptsExhausted",
            "streamArn": self.stream_arn,
            "shardId": shard.shard_id,
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "batchSize": len(records),
        }
        print(f"stream poller: gave up on a batch: {json.dumps(metadata)}", file=sys.stderr)
        if self.failure_dir is not None:
            self.failure_dir.mkdir(parents=True, exist_ok=True)
            name = f"lambda-on-failure-{int(time.time() * 1000)}-{uuid.uuid4().hex[:6]}.json"
            (self.failure_dir / name).write_text(json.dumps(metadata, indent=2) + "\n")

    def run(self, stop: threading.Event, interval: float = 0.2) -> None:
        """Poll until ``stop`` is set (Lambda polls each shard about four times a second)."""
        while not stop.is_set():
            try:
                self.poll_once()
            except Exception as error:
                print(f"stream poller: {type(error).__name__}: {error}", file=sys.stderr)
            stop.wait(interval)


def main() -> int:
    """Run under the stack's environment: import the app (as Lambda would) and poll its table's stream."""
    from chalicelib import wiring
    from chalicelib.config import get_settings

    settings = get_settings()
    client = wiring.dynamodb_client()
    stream_arn = client.describe_table(TableName=settings.customers_table)["Table"]["LatestStreamArn"]
    os.environ["CUSTOMERS_STREAM_ARN"] = stream_arn  # so app.py subscribes its consumer, as when deployed
    import app

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    parked = settings.parked_records_dir
    poller = StreamPoller(
        streams_client(settings.dynamodb_endpoint_url, settings.aws_region),
        stream_arn,
        lambda event: app.record_changes(event),
        region=settings.aws_region,
        failure_dir=Path(parked) if parked else None,
    )
    print(f"Stream poller: feeding {settings.customers_table}'s changes to the consumer", flush=True)
    poller.run(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
