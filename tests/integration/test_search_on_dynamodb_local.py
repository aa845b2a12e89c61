"""Search, sorted lists, ranges and combinations on DynamoDB Local.

The unit classes rerun here against the real emulator, where paging differs from
moto (ExclusiveStartKey on an index, a Limit reached with nothing after it, the
order of UTF-8 strings within a partition): the search's order with accented and
tied names, sorted pages across tokens in every order, combinations that come
back in short pages at a bounded cost, and deleted customers hidden everywhere.
The search index is fed by the local stack's stream poller (``deliver_changes``).
"""

from __future__ import annotations

from tests.unit import test_search_api as search
from tests.unit import test_sorted_lists as sorted_lists


class TestSearchMatchingOnDynamoDBLocal(search.TestSearchMatching):
    pass


class TestSearchOrderAndPagesOnDynamoDBLocal(search.TestSearchOrderAndPages):
    pass


class TestSearchConsistencyOnDynamoDBLocal(search.TestSearchConsistency):
    pass


class TestSearchCombinationsOnDynamoDBLocal(search.TestSearchCombinations):
    pass


class TestSortedPagesOnDynamoDBLocal(sorted_lists.TestSortedPages):
    pass


class TestRangesOnDynamoDBLocal(sorted_lists.TestRanges):
    pass


class TestStateFilterOnDynamoDBLocal(sorted_lists.TestStateFilter):
    pass


class TestDeletedCustomersInListsOnDynamoDBLocal(sorted_lists.TestDeletedCustomersInLists):
    pass


class TestShortPagesOnDynamoDBLocal(sorted_lists.TestShortPages):
    pass


class TestSortedTokensOnDynamoDBLocal(sorted_lists.TestSortedTokens):
    pass
