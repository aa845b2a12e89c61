"""Soft delete, restore, erasure, history, the event feed and the consumer under faults, on DynamoDB Local.

Every class of the unit suite that needs only DynamoDB reruns here (publishing to
EventBridge needs moto's bus, so it stays in tests/unit). Then what only the real
emulator can show: its TTL, with the restore window's end.

DynamoDB Local 1.25.1 runs TTL about every ten seconds, but removed no expired item
from a table shaped like the customers table (four global secondary indexes) in
minutes of probing, with or without index keys on the item: no test waits for it to
purge a customer. The app does not rely on TTL's timing anyway (a customer past its
window counts as gone at once, tested here), and what a TTL removal looks like on the
stream is tested on a plain table, where DynamoDB Local's TTL does remove items.
"""

from __future__ import annotations

import uuid

from chalicelib import wiring
from chalicelib.config import get_settings
from tests.support import Api, assert_error, create
from tests.support.stream import deliver_changes, history_of
from tests.unit import test_consumer_faults as consumer_faults
from tests.unit import test_events_api as events
from tests.unit import test_history_api as history
from tests.unit import test_lifecycle_api as lifecycle
from tests.unit.test_lifecycle_api import expire_restore_window, listed, path, stored


class TestSoftDeleteOnDynamoDBLocal(lifecycle.TestSoftDelete):
    pass


class TestRestoreOnDynamoDBLocal(lifecycle.TestRestore):
    pass


class TestErasureOnDynamoDBLocal(lifecycle.TestErasure):
    pass


class TestReplayAfterDeleteOnDynamoDBLocal(lifecycle.TestReplayAfterDelete):
    pass


class TestProvenanceAndVersionsOnDynamoDBLocal(lifecycle.TestProvenanceAndVersions):
    pass


class TestHistoryEntriesOnDynamoDBLocal(history.TestHistoryEntries):
    pass


class TestHistoryPagingOnDynamoDBLocal(history.TestHistoryPaging):
    pass


class TestHistoryAfterErasureOnDynamoDBLocal(history.TestHistoryAfterErasure):
    pass


class TestExportOnDynamoDBLocal(history.TestExport):
    pass


class TestEventsFeedOnDynamoDBLocal(events.TestEventsFeed):
    pass


class TestConsumerFaultsOnDynamoDBLocal(consumer_faults.TestConsumerFaults):
    pass


class TestConsumerLostResponsesOnDynamoDBLocal(consumer_faults.TestConsumerLostResponses):
    pass


class TestRestoreWindowEndOnDynamoDBLocal:
    def test_ttl_is_on_for_the_purge_attribute(self, api: Api) -> None:
        description = wiring.dynamodb_client().describe_time_to_live(TableName=get_settings().customers_table)
        ttl = description["TimeToLiveDescription"]
        assert (ttl.get("TimeToLiveStatus"), ttl.get("AttributeName")) == ("ENABLED", "purge_at")

    def test_a_customer_past_its_window_is_gone_at_once_whether_or_not_ttl_ran(self, api: Api) -> None:
        target = create(api, state="OR")
        api.delete(path(target))
        deliver_changes()
        expire_restore_window(target["customer_id"], seconds_ago=3600)
        assert stored(target["customer_id"])["purge_at"] < 10**10  # still there: TTL has not run
        assert_error(api.get(path(target)), 404, "not_found")
        assert_error(api.post(path(target, "/restore")), 404, "not_found")
        assert_error(api.put(path(target), {"city": "Too late"}), 404, "not_found")
        assert_error(api.delete(path(target)), 404, "not_found")
        assert_error(api.get(path(target, "/export")), 404, "not_found")
        assert listed(api, "state=OR") == set()
        successor = create(api, email_address=target["email_address"])
        assert listed(api, f"email_address={target['email_address']}") == {successor["customer_id"]}
        # The history stays readable; no "purged" entry until the item is really removed.
        assert [entry["change"] for entry in history_of(api, target["customer_id"])] == ["deleted", "created"]
        assert_error(api.get(path(str(uuid.uuid4()), "/history")), 404, "not_found")
