"""The change-stream consumer: every change of a customer becomes one history entry and one event.

It runs as the Lambda subscribed to the customers table's stream (and, locally,
under the poller that plays Lambda's part), one batch of one shard at a time.
Records are handled in order and the batch stops at the first failure: Lambda
retries from the failed record, so a customer's entries are always written in
version order. Each entry is written conditionally (a redelivery writes nothing)
and its event published once, then marked; the search index follows every
change (its writes are idempotent too); a record that keeps failing is parked
whole after ``max_attempts`` so it holds its shard up only that long.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from chalicelib.customers.changes import describe_change
from chalicelib.customers.model import format_utc
from chalicelib.customers.ports import EventPublisher, HistoryRepository, ParkingLot, SearchIndex, StreamChange
from chalicelib.observability import logger

StreamRecord = Mapping[str, Any]


def sequence_number(record: StreamRecord) -> str:
    return str(record.get("dynamodb", {}).get("SequenceNumber", ""))


class ChangeConsumer:
    def __init__(
        self,
        history: HistoryRepository,
        *,
        decode: Callable[[StreamRecord], StreamChange],
        publisher: EventPublisher | None,
        parking: ParkingLot,
        max_attempts: int,
        clock: Callable[[], datetime],
        count: Callable[[str], None],
        search: SearchIndex | None = None,
    ) -> None:
        self._history = history
        self._search = search
        self._decode = decode
        self._publisher = publisher
        self._parking = parking
        self._max_attempts = max_attempts
        self._clock = clock
        self._count = count

    def consume(self, records: Sequence[StreamRecord]) -> list[str]:
        """Handle a batch; the sequence numbers to retry (Lambda's ``batchItemFailures``), at most one."""
        for record in records:
            try:
                self._handle(record)
            except Exception as error:
                if not self._gave_up(record, error):
                    return [sequence_number(record)]
        return []

    def _handle(self, record: StreamRecord) -> None:
        change = self._decode(record)
        if self._search is not None:
            # Every change, even one that made no version (a backfill of search terms).
            self._search.follow(change.old, change.new)
        entry = describe_change(change)
        if entry is None:
            return
        unpublished = self._history.record(entry, recorded_at=format_utc(self._clock()))
        if entry.change == "erased":
            # Entries the consumer wrote after the erasure's own redaction ran are redacted too.
            self._history.redact(entry.customer_id, entry.version - 1)
        self._count("ChangesRecorded")
        if unpublished is not None and self._publisher is not None:
            self._publisher.publish(unpublished)
            self._history.mark_published(entry.customer_id, entry.version)
            self._count("ChangeEventsPublished")

    def _gave_up(self, record: StreamRecord, error: Exception) -> bool:
        """Count the failure; past the attempts allowed, park the record whole and let the shard move on."""
        self._count("ChangeRecordsFailed")
        reason = f"{type(error).__name__}: {error}"
        number = sequence_number(record)
        try:
            attempts = self._history.count_failure(f"{record.get('eventSourceARN', '')}#{number}")
            if attempts < self._max_attempts:
                logger.warning(
                    "change record failed",
                    extra={"sequence_number": number, "attempt": attempts, "error": type(error).__name__},
                )
                return False
            self._parking.park(record, reason)
        except Exception:
            logger.exception("could not count or park a failing change record", extra={"sequence_number": number})
            return False
        logger.error(
            "change record parked",
            extra={"sequence_number": number, "attempts": attempts, "error": type(error).__name__},
        )
        self._count("ChangeRecordsParked")
        return True
