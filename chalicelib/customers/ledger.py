"""Where a keyed batch is remembered, in the use cases' terms: its record's key, and each create's own.

A batch's record is "<BATCH_SCOPE> <key>"; each create of a keyed batch keeps its own record
under OPERATION_SCOPE, which no client key can spell (a "#" where a batch's record has a space).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.customers.ports import BatchRecord

BATCH_SCOPE = "POST /customers/batch"
OPERATION_SCOPE = f"{BATCH_SCOPE}#operation"


@dataclass(frozen=True)
class Ledger:
    """Where a keyed batch's outcomes go once it is done."""

    key: str
    fingerprint: str
    expires_at: int

    def finished(self, outcomes: list[dict[str, Any]]) -> BatchRecord:
        return BatchRecord(self.key, self.fingerprint, outcomes, self.expires_at)


def record_key(batch_key: str | None, index: int) -> str | None:
    """Each create of a keyed batch has a key of its own: a rerun of the batch never creates it twice."""
    return None if batch_key is None else f"{OPERATION_SCOPE} {index} {batch_key}"
