"""Every live customer of a table, read by a parallel Scan, for the export tool (never on the Lambda's path).

One Scan walks a table one 1 MB page at a time, a call after the other; split into
``segments`` (DynamoDB's ``Segment``/``TotalSegments``), each segment is walked by a
thread of its own with the one client (botocore clients are thread-safe), so the
table is read as fast as the segments' calls overlap. Pages go to the reader
through a bounded queue: a slow writer stops the segments instead of the pages
piling up in memory, so an export of a million customers holds no more than one of
ten thousand. Soft-deleted customers and erased ones' tombstones are filtered out by
DynamoDB itself (:data:`~chalicelib.storage.items.LIVE_ONLY`), so they never travel.
Reads are eventually consistent, as any Scan of a table still being written is no
snapshot: a write made during the export may or may not be in it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.customers.model import RESPONSE_FIELDS, Customer
from chalicelib.storage.items import LIVE_ONLY, customer_from_item
from chalicelib.storage.store_errors import error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

DEFAULT_SEGMENTS = 4
# Pages waiting for the reader, per segment: enough to keep every segment busy while the
# reader writes one, few enough that memory stays a handful of pages whatever the table's size.
QUEUED_PAGES_PER_SEGMENT = 1
# Items per Scan call, well under DynamoDB's 1 MB page (2,000 and more customers): what memory holds is
# pages, so small ones keep it small, and a table of a few thousand already fills the queue, so ten
# thousand customers and a million take the same memory. A call per 250 costs nothing noticeable.
PAGE_ITEMS = 250
_POLL_SECONDS = 0.2  # how often a blocked segment checks whether the reader went away
# Placeholders for every field's name: several (state, version, ...) are DynamoDB reserved words.
_NAMES = {f"#f{position}": name for position, name in enumerate(RESPONSE_FIELDS)}


@dataclass(frozen=True)
class _Done:
    """A segment's last message: it reached its end, or failed with ``error``."""

    error: BaseException | None = None


def approximate_count(client: DynamoDBClient, table: str) -> int:
    """The table's item count as DynamoDB last worked it out (AWS: every six hours or so; deleted items included).

    For a progress bar's total only: it costs no read, and is never taken as the number of customers.
    """
    return int(client.describe_table(TableName=table)["Table"].get("ItemCount", 0))


def missing_tables(client: DynamoDBClient, tables: list[str]) -> list[str]:
    """Which of ``tables`` do not exist (DescribeTable; any other failure, such as bad credentials, propagates)."""
    missing = []
    for table in tables:
        try:
            client.describe_table(TableName=table)
        except ClientError as error:
            if error_code(error) != "ResourceNotFoundException":
                raise
            missing.append(table)
    return missing


def scan_request(table: str, segment: int, segments: int, page_size: int = PAGE_ITEMS) -> dict[str, Any]:
    """One segment's Scan: live customers only, and only their fields.

    The projection leaves out what storage keeps beside the fields (index keys, search
    terms, write stamps), more than half of each item: DynamoDB still reads (and bills)
    whole items, but sends and parses half as much, and the Scan runs half again faster.
    """
    return {
        "TableName": table,
        "Segment": segment,
        "TotalSegments": segments,
        "FilterExpression": LIVE_ONLY,
        "ProjectionExpression": ", ".join(_NAMES),
        "ExpressionAttributeNames": _NAMES,
        "Limit": page_size,
    }


def live_customers(
    client: DynamoDBClient, table: str, *, segments: int = DEFAULT_SEGMENTS, page_size: int = PAGE_ITEMS
) -> Generator[list[Customer], None, None]:
    """Pages of live customers, in no order, each segment's pages as they come.

    Stop iterating (or close the generator) at any time: the segments stop after the
    call each has in flight, and none is left running. A failed call ends the iteration
    with that call's error, once the pages read before it were handed over.
    """
    pages: queue.Queue[list[Customer] | _Done] = queue.Queue(maxsize=segments * QUEUED_PAGES_PER_SEGMENT)
    stop = threading.Event()

    def offer(message: list[Customer] | _Done) -> bool:
        while not stop.is_set():
            try:
                pages.put(message, timeout=_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False

    def walk(segment: int) -> None:
        request = scan_request(table, segment, segments, page_size)
        try:
            while not stop.is_set():
                response = client.scan(**request)
                if not offer([customer_from_item(item) for item in response.get("Items", [])]):
                    return
                start = response.get("LastEvaluatedKey")
                if start is None:
                    break
                request["ExclusiveStartKey"] = start
        except BaseException as error:  # handed to the reader, which raises it
            offer(_Done(error))
            return
        offer(_Done())

    threads = [
        threading.Thread(target=walk, args=(segment,), name=f"scan-segment-{segment}", daemon=True)
        for segment in range(segments)
    ]
    for thread in threads:
        thread.start()
    try:
        running = segments
        while running:
            message = pages.get()
            if isinstance(message, _Done):
                running -= 1
                if message.error is not None:
                    raise message.error
            elif message:
                yield message
    finally:
        stop.set()
        for thread in threads:
            thread.join()
