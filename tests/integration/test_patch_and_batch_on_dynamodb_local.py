"""PATCH, no-op writes and batches on DynamoDB Local.

The unit classes whose outcome depends on the store rerun here: removing an
attribute that keys sparse indexes (state, search), conditions that make a write
that changes nothing write nothing, email uniqueness across the operations of a
batch, the order of operations on one customer, an atomic batch as one
transaction that the emulator cancels and rolls back, idempotent replays, and the
history the consumer writes from the emulator's stream. What a request may say
(its validation, content types) does not depend on the store and runs on moto only.
"""

from __future__ import annotations

from tests.unit import test_batch_api as batch
from tests.unit import test_patch_api as patch


class TestPatchRemovalOnDynamoDBLocal(patch.TestPatchRemoval):
    pass


class TestPatchConditionsOnDynamoDBLocal(patch.TestPatchConditions):
    pass


class TestNoOpWritesOnDynamoDBLocal(patch.TestNoOpWrites):
    pass


class TestBatchOperationsOnDynamoDBLocal(batch.TestBatchOperations):
    pass


class TestBatchOrderingOnDynamoDBLocal(batch.TestBatchOrdering):
    pass


class TestAtomicBatchOnDynamoDBLocal(batch.TestAtomicBatch):
    """Transaction cancellation reasons on the emulator are not moto's: every failing index must still be named."""


class TestBatchIdempotencyOnDynamoDBLocal(batch.TestBatchIdempotency):
    pass


class TestBatchHistoryOnDynamoDBLocal(batch.TestBatchHistory):
    pass
