"""The two file formats, both ways: CSV and JSON Lines rows to API bodies, customers to rows.

A row becomes exactly the JSON body the API takes, so the API's own schemas judge it
(``chalicelib/api/batch.py``); nothing here validates a value. CSV has no
types, so its cells are converted as the format documents (docs/import-export.md):
an empty cell is an absent field, ``lifetime_value`` is decimal text (``1500.00``),
``preferred_communication_channels`` is ``email|phone``. The server-owned fields an
export writes (timestamps, version, the derived E.164 phone) are read and dropped,
so that an export imports as it is; ``customer_id`` is kept.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any, NoReturn

from chalicelib.api.representation import dump_customer
from chalicelib.api.request_parsing import strict_json
from chalicelib.customers.model import RESPONSE_FIELDS, SERVER_FIELDS, WRITABLE_FIELDS

FORMATS = ("csv", "jsonl")
ID = "customer_id"
# What an export writes and an import reads: every field of a customer, in the API's order.
COLUMNS = RESPONSE_FIELDS
# Written by an export, dropped by an import: the server sets them on every write.
IGNORED = tuple(name for name in SERVER_FIELDS if name != ID)
CHANNELS = "preferred_communication_channels"
MONEY = "lifetime_value"
CHANNEL_SEPARATOR = "|"


class FileProblem(Exception):
    """The file as a whole cannot be imported (a column nobody knows, no header): nothing is written."""


@dataclass(frozen=True)
class Row:
    """One data line: the body the API would be sent, the id it names, and what made it unreadable."""

    number: int  # 1 for the first data line
    body: dict[str, Any] = field(default_factory=dict)
    customer_id: str | None = None
    problems: tuple[tuple[str, str], ...] = ()  # (field, message): the row cannot even become a body


def format_of(path: Path, given: str | None) -> str:
    """The format asked for, else the file's extension (``.csv``; ``.jsonl`` or ``.ndjson``)."""
    if given is not None:
        return given
    suffix = path.suffix.lower().lstrip(".")
    if suffix == "ndjson":
        return "jsonl"
    if suffix not in FORMATS:
        raise FileProblem(f"cannot tell the format of {path.name} from its extension: add --format csv|jsonl")
    return suffix


def _unknown(names: list[str], where: str) -> NoReturn:
    listed = ", ".join(repr(name) for name in names)
    raise FileProblem(
        f"{where} has unknown column{'s' if len(names) > 1 else ''} {listed}; the columns are the API's field "
        f"names: {', '.join(COLUMNS)}. Nothing was imported."
    )


class Reader:
    """A file's rows, read twice: once to check it and count them (:meth:`survey`), then to import them."""

    def __init__(self, path: Path, file_format: str) -> None:
        self.path = path
        self.format = file_format

    def survey(self) -> tuple[int, list[str]]:
        """How many rows there are, and which server-owned columns will be ignored; :class:`FileProblem` if bad."""
        if self.format == "csv":
            with self._open() as handle:
                header = self._header(csv.reader(handle))
                rows = sum(1 for cells in csv.reader(handle) if any(cell.strip() for cell in cells))
            return rows, [name for name in header if name in IGNORED]
        rows, seen = 0, set[str]()
        with self._open() as handle:
            for line in handle:
                if not line.strip():
                    continue
                rows += 1
                try:
                    document = _json_line(line)
                except ValueError:
                    continue  # reported with its row number when the rows are read
                if isinstance(document, dict):
                    seen.update(document)
        unknown = sorted(name for name in seen if name not in COLUMNS)
        if unknown:
            _unknown(unknown, f"{self.path.name}'s lines")
        return rows, [name for name in COLUMNS if name in seen and name in IGNORED]

    def rows(self) -> Iterator[Row]:
        if self.format == "csv":
            yield from self._csv_rows()
        else:
            yield from self._json_rows()

    def _open(self) -> IO[str]:
        # utf-8-sig: a spreadsheet's "CSV UTF-8" starts with a byte order mark.
        return self.path.open(newline="" if self.format == "csv" else None, encoding="utf-8-sig")

    def _header(self, reader: Iterator[list[str]]) -> list[str]:
        header = [name.strip() for name in next(reader, [])]
        if not any(header):
            raise FileProblem(f"{self.path.name} has no header line: the first line names the columns")
        unknown = [name for name in header if name not in COLUMNS]
        if unknown:
            _unknown(unknown, self.path.name)
        twice = sorted({name for name in header if header.count(name) > 1})
        if twice:
            raise FileProblem(f"{self.path.name} names column{'s' if len(twice) > 1 else ''} {', '.join(twice)} twice")
        return header

    def _csv_rows(self) -> Iterator[Row]:
        with self._open() as handle:
            reader = csv.reader(handle)
            header = self._header(reader)
            for number, cells in enumerate(reader, start=1):
                if not any(cell.strip() for cell in cells):
                    continue
                if len(cells) != len(header):
                    problem = ("", f"The line has {len(cells)} cells; the header has {len(header)}.")
                    yield Row(number, problems=(problem,))
                    continue
                values = {name: cell for name, cell in zip(header, cells, strict=True) if cell.strip()}
                yield _row(number, {name: _from_cell(name, text) for name, text in values.items()})

    def _json_rows(self) -> Iterator[Row]:
        with self._open() as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    document = _json_line(line)
                except ValueError as error:
                    yield Row(number, problems=(("", f"Not valid JSON: {error}"),))
                    continue
                if not isinstance(document, dict):
                    yield Row(number, problems=(("", "The line must be a JSON object."),))
                    continue
                customer_id = document.get(ID)
                if customer_id is not None and not isinstance(customer_id, str):
                    yield Row(number, problems=((ID, "Not a valid string."),))
                    continue
                yield _row(number, document)


def _row(number: int, values: Mapping[str, Any]) -> Row:
    body = {name: value for name, value in values.items() if name in WRITABLE_FIELDS}
    customer_id = values.get(ID)
    return Row(number, body, None if customer_id is None else str(customer_id).strip())


def _from_cell(name: str, text: str) -> Any:
    """A cell as the JSON value the API takes; a value that does not convert is passed on for the schema to refuse."""
    if name == CHANNELS:
        return [channel.strip() for channel in text.split(CHANNEL_SEPARATOR)]
    if name == MONEY:
        try:
            return Decimal(text.strip())
        except InvalidOperation:
            return text  # the schema answers "Not a valid number."
    return text


def _json_line(line: str) -> Any:
    """One line as the API parses a body: numbers exact (Decimal), no NaN, no key given twice."""
    return strict_json(line)


def _cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if name == MONEY:  # DynamoDB keeps 1500.50 as 1500.5; money is shown with its cents
        return f"{Decimal(value):.2f}"
    if isinstance(value, list):
        return CHANNEL_SEPARATOR.join(str(element) for element in value)
    return str(value)


class Writer:
    """Customers into an open file, one line each, in the format asked for."""

    def __init__(self, handle: IO[str], file_format: str, columns: tuple[str, ...] = COLUMNS) -> None:
        self.handle = handle
        self.format = file_format
        self.columns = columns  # a CSV's; a JSON line is always the API's whole representation
        self._csv = csv.writer(handle, lineterminator="\n") if file_format == "csv" else None
        if self._csv is not None:
            self._csv.writerow(columns)

    def write(self, customers: list[Any]) -> None:
        if self._csv is not None:
            self._csv.writerows([_cell(name, customer.get(name)) for name in self.columns] for customer in customers)
            return
        self.handle.writelines(
            json.dumps(dump_customer(customer), ensure_ascii=False, separators=(",", ":")) + "\n"
            for customer in customers
        )
