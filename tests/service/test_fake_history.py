"""The in-memory history store keeps the adapter's promises (and the outbound fakes theirs)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from chalicelib.customers.model import ChangeKind, HistoryEntry
from tests.service.fake_builders import ADA, BOB, T1, T2, T3, an_entry, redacted
from tests.service.fake_history import InMemoryHistoryRepository
from tests.service.fake_outbound import EventBusDown, ParkingLotDown, RecordingParkingLot, RecordingPublisher


@pytest.fixture
def history() -> InMemoryHistoryRepository:
    return InMemoryHistoryRepository()


def versions(entries: list[HistoryEntry]) -> list[tuple[str, int]]:
    return [(entry.customer_id, entry.version) for entry in entries]


def test_record_writes_once_and_answers_the_entry_until_it_is_marked_published(
    history: InMemoryHistoryRepository,
) -> None:
    entry = an_entry()

    assert history.record(entry, recorded_at=T1) == entry
    assert history.record(an_entry(change="restored"), recorded_at=T2) == entry  # a redelivery writes nothing
    history.mark_published(ADA, 1)
    assert history.record(entry, recorded_at=T3) is None

    assert history.entries(ADA) == [entry]
    assert history.recorded_at(ADA, 1) == T1


def test_redact_nulls_every_value_up_to_the_version_and_reserves_the_missing_ones(
    history: InMemoryHistoryRepository,
) -> None:
    first, third = an_entry(version=1), an_entry(version=3)
    history.record(first, recorded_at=T1)
    history.record(third, recorded_at=T1)
    history.record(an_entry(BOB, 1), recorded_at=T1)

    history.redact(ADA, 2)

    assert history.entries(ADA) == [redacted(first), third]
    assert history.is_reserved(ADA, 2)
    assert not history.is_reserved(ADA, 3)
    assert history.entries(BOB) == [an_entry(BOB, 1)]


def test_record_completes_a_reserved_slot_redacted_and_answers_the_redacted_entry(
    history: InMemoryHistoryRepository,
) -> None:
    history.redact(ADA, 1)
    assert history.page(ADA, 10, None).entries == []  # a reservation is no entry

    answer = history.record(an_entry(), recorded_at=T1)

    assert answer == redacted(an_entry())
    assert history.entries(ADA) == [redacted(an_entry())]
    assert not history.is_published(ADA, 1)


def test_page_is_newest_first_with_positions_that_continue_it(history: InMemoryHistoryRepository) -> None:
    for version in range(1, 6):
        history.record(an_entry(version=version), recorded_at=T1)
    history.redact(ADA, 7)  # reserves 6 and 7: not entries

    first = history.page(ADA, 2, None)
    assert first.next_position is not None
    second = history.page(ADA, 2, first.next_position)
    assert second.next_position is not None
    last = history.page(ADA, 2, second.next_position)

    assert [[entry.version for entry in page.entries] for page in (first, second, last)] == [[5, 4], [3, 2], [1]]
    assert last.next_position is None
    assert json.loads(json.dumps(first.next_position)) == first.next_position


def test_feed_orders_by_recorded_at_then_customer_then_version_and_stops_before_the_horizon(
    history: InMemoryHistoryRepository,
) -> None:
    history.record(an_entry(BOB, 1), recorded_at=T1)
    history.record(an_entry(ADA, 1), recorded_at=T1)
    history.record(an_entry(ADA, 2), recorded_at=T1)
    history.record(an_entry(ADA, 3), recorded_at=T2)
    history.record(an_entry(BOB, 2), recorded_at=T3)

    page = history.feed(10, None, horizon=T3)

    assert versions(page.entries) == [(ADA, 1), (ADA, 2), (BOB, 1), (ADA, 3)]  # T3 itself is not before T3
    assert versions(history.feed(10, page.next_position, horizon=T3).entries) == []
    assert versions(history.feed(10, page.next_position, horizon=T3 + "~").entries) == [(BOB, 2)]


def test_feed_with_kinds_reads_at_most_limit_entries_and_may_answer_fewer(history: InMemoryHistoryRepository) -> None:
    kinds: list[ChangeKind] = ["created", "updated", "updated", "deleted", "updated"]
    for version, kind in enumerate(kinds, start=1):
        history.record(an_entry(version=version, change=kind), recorded_at=T1)

    first = history.feed(2, None, horizon=T2, kinds=["deleted"])
    second = history.feed(2, first.next_position, horizon=T2, kinds=["deleted"])
    third = history.feed(2, second.next_position, horizon=T2, kinds=["deleted"])

    assert [versions(page.entries) for page in (first, second, third)] == [[], [(ADA, 4)], []]
    assert versions(history.feed(10, None, horizon=T2, kinds=[]).entries) == [(ADA, v) for v in range(1, 6)]


def test_customer_feed_is_in_version_order_and_stops_at_the_first_unwritten_or_unsettled_entry(
    history: InMemoryHistoryRepository,
) -> None:
    history.record(an_entry(version=1), recorded_at=T1)
    history.record(an_entry(version=2, change="deleted"), recorded_at=T1)
    history.redact(ADA, 3)  # 3 reserved, not written
    history.record(an_entry(version=4), recorded_at=T1)

    page = history.customer_feed(ADA, 10, None, horizon=T2, kinds=None)
    assert versions(page.entries) == [(ADA, 1), (ADA, 2)]
    assert page.next_position == {"version": 2}
    only_deleted = history.customer_feed(ADA, 10, None, horizon=T2, kinds=["deleted"])
    assert (versions(only_deleted.entries), only_deleted.next_position) == ([(ADA, 2)], {"version": 2})

    history.record(an_entry(version=3), recorded_at=T2)  # written now, but not before the horizon
    assert history.customer_feed(ADA, 10, page.next_position, horizon=T2, kinds=None).entries == []
    later = history.customer_feed(ADA, 10, page.next_position, horizon=T3, kinds=None)
    assert versions(later.entries) == [(ADA, 3), (ADA, 4)]


def test_positions_are_recognised_only_by_their_own_kind_of_listing(history: InMemoryHistoryRepository) -> None:
    history.record(an_entry(version=1), recorded_at=T1)
    history.record(an_entry(version=2), recorded_at=T1)
    feed = history.feed(1, None, horizon=T2).next_position
    own = history.page(ADA, 1, None).next_position
    assert feed is not None
    assert own is not None

    assert history.is_position(feed)
    assert history.is_position({})
    assert not history.is_position(feed, ADA)
    assert history.is_position(own, ADA)
    assert not history.is_position(own)
    bad: list[dict[str, Any]] = [{"version": True}, {"version": "2"}, {"version": 2, "extra": 1}]
    assert not any(history.is_position(position, ADA) for position in bad)
    with pytest.raises(AssertionError):
        history.feed(1, own, horizon=T2)


def test_count_failure_counts_each_delivery_apart(history: InMemoryHistoryRepository) -> None:
    assert [history.count_failure("a"), history.count_failure("a"), history.count_failure("b")] == [1, 2, 1]


def test_mark_published_of_a_missing_entry_is_refused(history: InMemoryHistoryRepository) -> None:
    with pytest.raises(LookupError):
        history.mark_published(str(uuid.uuid4()), 1)


def test_entries_handed_out_are_copies(history: InMemoryHistoryRepository) -> None:
    history.record(an_entry(), recorded_at=T1)
    history.entries(ADA)[0].changes["city"]["to"] = "mutated"

    assert history.entries(ADA) == [an_entry()]


def test_publisher_records_what_it_sends_and_fails_as_told() -> None:
    publisher = RecordingPublisher()
    publisher.fail_next()

    with pytest.raises(EventBusDown):
        publisher.publish(an_entry(version=1))
    publisher.publish(an_entry(version=2))

    assert (publisher.event_ids, publisher.attempts, publisher.pending_hooks()) == ([f"{ADA}:2"], 2, 0)


def test_parking_lot_keeps_the_record_whole_and_fails_as_told() -> None:
    parking = RecordingParkingLot()
    record = {"dynamodb": {"SequenceNumber": "1"}, "eventName": "MODIFY"}
    parking.fail_next()

    with pytest.raises(ParkingLotDown):
        parking.park(record, "first")
    parking.park(record, "second")

    assert parking.parked == [(record, "second")]
