"""Import: every row of a CSV or JSON Lines file upserted by email, through the API's schemas and service rules.

Each row is judged by the API's own schema (``upsert_operation`` builds the batch
upsert the row stands for) and written by the service's batch path, a chunk of
rows at a time: the same uniqueness, canonical forms, history and events as a
``POST /customers/batch`` of upserts. A bad row is written to ``<FILE>.errors.csv``
with its problems and the rest go on. Rows are upserted by email (or by the
``customer_id`` they name), so running the file again writes nothing twice: a row
whose customer is already identical counts as unchanged. Chunks go one after the
other, so two rows of the file that touch the same customer apply in file order
(within a chunk the service keeps that order itself).
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator, Mapping
from itertools import islice
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from chalicelib.customers.errors import (
    CustomerAlreadyExists,
    CustomerDeleted,
    CustomerErased,
    CustomerNotFound,
    DomainError,
    EmailAlreadyInUse,
    ValidationFailed,
)
from chalicelib.customers.model import Origin
from scripts.transfer.formats import ID, Reader, Row
from scripts.transfer.interrupt import EXIT_INTERRUPTED, Interrupt
from scripts.transfer.progress import DEFAULT_INTERVAL_SECONDS, Progress

if TYPE_CHECKING:
    from chalicelib.customers.bulk import Operation

CHUNK_ROWS = 100  # a batch request's most operations: the service runs them in parallel
ORIGIN = Origin("import")  # who the history says made the change
RESULTS = ("created", "updated", "unchanged")
ERRORS_HEADER = ("row", "field", "message")
Problems = list[tuple[str, str]]


def errors_path(source: Path) -> Path:
    return source.with_name(source.name + ".errors.csv")


class ErrorsFile:
    """``<FILE>.errors.csv``, one line per problem; made on the first bad row, so no file means no bad row."""

    def __init__(self, source: Path) -> None:
        self.path = errors_path(source)
        self.path.unlink(missing_ok=True)  # a stale one would describe another run
        self._handle: IO[str] | None = None
        self._writer: Any = None

    def add(self, row: int, problems: Problems) -> None:
        if self._writer is None:
            self._handle = self.path.open("w", newline="", encoding="utf-8")
            self._writer = csv.writer(self._handle, lineterminator="\n")
            self._writer.writerow(ERRORS_HEADER)
        self._writer.writerows((row, name, message) for name, message in problems)
        assert self._handle is not None
        self._handle.flush()  # readable while the import goes on, and whole if it is stopped

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def _flatten(details: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """marshmallow's nested messages as (field, message): ``{"channels": {1: ["..."]}}`` -> ``channels.1``."""
    for name, value in details.items():
        field = "" if name == "_schema" else f"{prefix}{name}"
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{field}." if field else "")
        elif isinstance(value, list | tuple):
            for message in value:
                if isinstance(message, Mapping):
                    yield from _flatten(message, f"{field}." if field else "")
                else:
                    yield field, str(message)
        else:
            yield field, str(value)


def problems_of(error: DomainError) -> Problems:
    """What the errors file says about a row the schema or the service refused."""
    if isinstance(error, ValidationFailed):
        return list(_flatten(error.details)) or [("", error.message)]
    if isinstance(error, EmailAlreadyInUse):
        holder = f" (customer {error.holder})" if error.holder else ""
        return [("email_address", error.message + holder)]
    if isinstance(error, CustomerDeleted):
        return [(ID, f"{error.message} Restorable until {error.details.get('restorable_until')}.")]
    if isinstance(error, CustomerNotFound | CustomerErased | CustomerAlreadyExists):
        return [(ID, error.message)]
    return [("", error.message)]


def _operation(row: Row) -> Operation | Problems:
    """The upsert the row stands for, or every problem its id and fields have."""
    from chalicelib.api.batch import upsert_operation
    from chalicelib.api.parameters import parse_customer_id

    if row.problems:
        return list(row.problems)
    details: dict[str, Any] = {}
    customer_id = None
    if row.customer_id is not None:
        try:
            customer_id = parse_customer_id(row.customer_id)
        except ValidationFailed as error:
            details.update(error.details)
    try:
        operation = upsert_operation(row.body, customer_id)
    except ValidationFailed as error:
        details = {**details, **error.details}
    if details:
        return problems_of(ValidationFailed(details=details))
    return operation


def _chunks(rows: Iterator[Row]) -> Iterator[list[Row]]:
    while chunk := list(islice(rows, CHUNK_ROWS)):
        yield chunk


def import_file(
    path: Path, reader: Reader, total: int, ignored: list[str], *, interval: float = DEFAULT_INTERVAL_SECONDS
) -> int:
    """Import ``reader``'s rows (surveyed already: ``total`` rows, ``ignored`` columns); the exit status."""
    from chalicelib.wiring import customer_service

    service = customer_service()
    errors = ErrorsFile(path)
    counts: Counter[str] = Counter()
    progress = Progress("import", total, interval=interval)
    interrupted = False
    try:
        with Interrupt("Stopping after the rows in flight") as interrupt:
            for chunk in _chunks(reader.rows()):
                built = [(row, _operation(row)) for row in chunk]
                operations = [operation for _, operation in built if not isinstance(operation, list)]
                outcomes = iter(service.apply_operations(operations, origin=ORIGIN)) if operations else iter(())
                failed = 0
                for row, operation in built:
                    problems = operation if isinstance(operation, list) else None
                    if problems is None:
                        outcome = next(outcomes)
                        if outcome.result is None:
                            assert outcome.error is not None
                            problems = problems_of(outcome.error)
                        else:
                            counts[outcome.result] += 1
                    if problems is not None:
                        failed += 1
                        errors.add(row.number, problems)
                counts["failed"] += failed
                progress.advance(len(chunk), failed)
                if interrupt.requested:
                    interrupted = True
                    break
    except KeyboardInterrupt:
        interrupted = True
    finally:
        progress.close()
        errors.close()
    return _report(path, progress, counts, ignored, errors, interrupted=interrupted)


def _report(
    path: Path, progress: Progress, counts: Counter[str], ignored: list[str], errors: ErrorsFile, *, interrupted: bool
) -> int:
    tally = ", ".join(f"{counts[name]:,} {name}" for name in (*RESULTS, "failed"))
    if ignored:
        plural = "s" if len(ignored) > 1 else ""
        print(f"Ignored the server-owned column{plural} {', '.join(ignored)}: the server sets them on every write.")
    if interrupted:
        print(
            f"Interrupted: {progress.done:,} of {progress.total or 0:,} rows of {path} done ({tally}); "
            "every row is written whole or not at all. Run the same command again to finish: "
            "rows already imported count as unchanged."
        )
        return EXIT_INTERRUPTED
    summary = (
        f"Imported {path}: {progress.done:,} rows in {progress.seconds:,.1f} s, {progress.rate:,.0f} rows/s: {tally}"
    )
    if counts["failed"]:
        print(f"{summary}; the failed rows and why are in {errors.path}.")
        return 1
    print(f"{summary}.")
    return 0
