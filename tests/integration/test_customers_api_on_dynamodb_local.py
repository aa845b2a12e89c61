"""The unit suite's behaviour, rerun against the official DynamoDB Local.

moto and the real emulator differ (transaction cancellation reasons, Scan paging,
condition expressions); every class here must pass on both.
"""

from __future__ import annotations

from tests.unit import test_customers_api as unit


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
