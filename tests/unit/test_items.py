"""The item encoding the app writes and reads is exactly boto3's, for every value a customer can hold."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.storage.items import attribute, value_of

numbers = st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**12), max_value=10**12)
leaves = st.text() | numbers | st.integers(min_value=-(10**18), max_value=10**18) | st.booleans() | st.none()
values = st.recursive(
    leaves,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(min_size=1), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(values)
def test_values_encode_as_boto3_encodes_them_and_decode_back(value: Any) -> None:
    expected = TypeSerializer().serialize(value)
    assert attribute(value) == expected
    assert value_of(expected) == TypeDeserializer().deserialize(expected)


def test_string_sets_and_other_types_decode_as_boto3_decodes_them() -> None:
    for encoded in ({"SS": ["a", "b"]}, {"NS": ["1", "2.5"]}, {"NULL": True}, {"B": b"\x00\x01"}):
        assert value_of(encoded) == TypeDeserializer().deserialize(encoded)  # type: ignore[arg-type]


@pytest.mark.parametrize("number", [Decimal("1" * 39), Decimal("NaN"), Decimal("Infinity")])
def test_numbers_dynamodb_would_round_or_cannot_hold_are_refused(number: Decimal) -> None:
    with pytest.raises(ValueError, match="exactly"):
        attribute(number)


def test_values_of_no_dynamodb_type_are_refused() -> None:
    with pytest.raises(TypeError):
        attribute(object())
