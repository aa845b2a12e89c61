"""The unit suite's behaviour, rerun against the official DynamoDB Local.

moto and the real emulator differ (transaction cancellation reasons, Scan paging,
condition expressions); every class here must pass on both.
"""

from __future__ import annotations

from tests.unit import test_canonical_forms_api as canonical
from tests.unit import test_conditional_requests as conditional
from tests.unit import test_customers_api as unit
from tests.unit import test_faults as faults
from tests.unit import test_filters as filters
from tests.unit import test_hostile_corpus as hostile
from tests.unit import test_races as races
from tests.unit import test_repository_contract as contract


class TestCreateCustomerOnDynamoDBLocal(unit.TestCreateCustomer):
    pass


class TestGetCustomerOnDynamoDBLocal(unit.TestGetCustomer):
    pass


class TestUpdateCustomerOnDynamoDBLocal(unit.TestUpdateCustomer):
    pass


class TestDeleteCustomerOnDynamoDBLocal(unit.TestDeleteCustomer):
    pass


class TestListCustomersOnDynamoDBLocal(unit.TestListCustomers):
    pass


class TestSeedOnDynamoDBLocal(unit.TestSeed):
    pass


class TestRequestErrorsOnDynamoDBLocal(unit.TestRequestErrors):
    pass


class TestConditionalRequestsOnDynamoDBLocal(conditional.TestConditionalRequests):
    pass


class TestIdempotentCreatesOnDynamoDBLocal(conditional.TestIdempotentCreates):
    pass


class TestFaultsOnDynamoDBLocal(faults.TestFaults):
    pass


class TestInterleavedWritersOnDynamoDBLocal(races.TestInterleavedWriters):
    pass


class TestHostileCorpusOnDynamoDBLocal(hostile.TestHostileCorpus):
    pass


class TestLostResponsesOnDynamoDBLocal(faults.TestLostResponses):
    pass


class TestFilteredListingOnDynamoDBLocal(filters.TestFilteredListing):
    pass


class TestRepositoryContractOnDynamoDBLocal(contract.TestRepositoryContract):
    pass


class TestCanonicalEmailsOnDynamoDBLocal(canonical.TestCanonicalEmails):
    """The 409's holder comes from the cancellation's ALL_OLD item, which the emulator returns too."""
