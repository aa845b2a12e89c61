"""Shared test helpers: the API client, builders, the store, fault injection, interleaving, the hostile corpus."""

from tests.support.api import (
    JSON,
    TEST_SECRET,
    Api,
    api_on,
    body,
    captured_json_logs,
    forget_cached_wiring,
    stage_environment_for,
)
from tests.support.builders import all_customers, assert_error, create, new_customer

__all__ = [
    "JSON",
    "TEST_SECRET",
    "Api",
    "all_customers",
    "api_on",
    "assert_error",
    "body",
    "captured_json_logs",
    "create",
    "forget_cached_wiring",
    "new_customer",
    "stage_environment_for",
]
