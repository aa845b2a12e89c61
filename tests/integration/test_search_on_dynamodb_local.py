"""Search, sorted lists, ranges and combinations on DynamoDB Local.

The unit classes where the real emulator's paging differs from moto's rerun here
(ExclusiveStartKey on an index, a Limit reached with nothing after it, the order of
UTF-8 strings within a partition): the search's order with accented and tied names
and its consistency, sorted pages across tokens in every order, and combinations
that come back in short pages at a bounded cost. Matching, ranges and validation
do not depend on the store and run on moto only.
The search index is fed by the local stack's stream poller (``deliver_changes``).
"""

from __future__ import annotations

from tests.unit import test_search_api as search
from tests.unit import test_sorted_lists as sorted_lists


class TestSearchOrderAndPagesOnDynamoDBLocal(search.TestSearchOrderAndPages):
    pass


class TestSearchConsistencyOnDynamoDBLocal(search.TestSearchConsistency):
    pass


class TestSortedPagesOnDynamoDBLocal(sorted_lists.TestSortedPages):
    pass


class TestShortPagesOnDynamoDBLocal(sorted_lists.TestShortPages):
    pass
