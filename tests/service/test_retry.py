"""retry_on_conflict itself: the one retry loop and its attempt budget."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from chalicelib.customers.errors import EmailAlreadyInUse, PreconditionFailed, StoreBusy, WriteConflict
from chalicelib.customers.retry import CONFLICT_ATTEMPTS, retry_on_conflict


class Step:
    """A step that fails with the given errors, one per call, then returns its call number."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return self.calls


def test_retry_on_conflict_returns_the_first_success_without_retrying(sleeps: list[float]) -> None:
    step = Step()

    assert retry_on_conflict(step) == 1
    assert step.calls == 1
    assert sleeps == []


@pytest.mark.parametrize("error", [WriteConflict, StoreBusy])
def test_retry_on_conflict_returns_the_first_success_after_failures(error: Callable[[], Exception]) -> None:
    step = Step(error(), error())

    assert retry_on_conflict(step) == 3
    assert step.calls == 3


def test_retry_on_conflict_succeeding_on_the_last_attempt_returns_it() -> None:
    step = Step(*(WriteConflict() for _ in range(CONFLICT_ATTEMPTS - 1)))

    assert retry_on_conflict(step) == CONFLICT_ATTEMPTS


@pytest.mark.parametrize("error", [WriteConflict, StoreBusy])
def test_retry_on_conflict_reraises_after_the_budget(error: Callable[[], Exception]) -> None:
    last = error()
    step = Step(*(error() for _ in range(CONFLICT_ATTEMPTS - 1)), last, error())

    with pytest.raises(type(last)) as raised:
        retry_on_conflict(step)

    assert raised.value is last  # the last attempt's own failure propagates
    assert step.calls == CONFLICT_ATTEMPTS == 5


def test_retry_on_conflict_honours_a_smaller_budget() -> None:
    step = Step(WriteConflict(), WriteConflict(), WriteConflict())

    with pytest.raises(WriteConflict):
        retry_on_conflict(step, attempts=2)

    assert step.calls == 2


def test_retry_on_conflict_mixed_failures_share_one_budget() -> None:
    step = Step(StoreBusy(), WriteConflict(), StoreBusy(), WriteConflict(), StoreBusy(), WriteConflict())

    with pytest.raises(StoreBusy):
        retry_on_conflict(step)

    assert step.calls == CONFLICT_ATTEMPTS


def test_retry_on_conflict_pauses_with_growing_jitter_only_when_the_store_is_busy(sleeps: list[float]) -> None:
    step = Step(*(StoreBusy() for _ in range(CONFLICT_ATTEMPTS)))

    with pytest.raises(StoreBusy):
        retry_on_conflict(step)

    # One pause before each retry, none after the last attempt, each within its attempt's range
    assert len(sleeps) == CONFLICT_ATTEMPTS - 1
    for attempt, pause in enumerate(sleeps, start=1):
        assert 0.005 * attempt <= pause <= 0.02 * attempt


def test_retry_on_conflict_does_not_pause_after_a_write_conflict(sleeps: list[float]) -> None:
    step = Step(WriteConflict(), WriteConflict())

    retry_on_conflict(step)

    assert sleeps == []


@pytest.mark.parametrize("error", [PreconditionFailed, EmailAlreadyInUse, ValueError])
def test_retry_on_conflict_lets_any_other_error_through_at_once(error: Callable[[], Exception]) -> None:
    step = Step(error())

    with pytest.raises(type(error())):
        retry_on_conflict(step)

    assert step.calls == 1
