"""Property: a customer is found by any prefix of its folded last name, through HTTP.

Names are generated from letters with and without accents, in both cases, some
that fold to more than one letter (``ß`` -> ``ss``) and some that have no
decomposition at all (``ø``, ``ł``), and may hold spaces. Not the dotless i
(U+0131): its capital is ``I``, which folds to ``i``, so an upper-cased query
would be another text. Each example creates one customer in the same tables,
hands the stream to the consumer, and searches.
"""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import Api, create
from tests.support.listing import folded, ids, walk
from tests.support.stream import deliver_changes

LETTERS = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "áàâäãåçéèêëíìîïñóòôöõúùûüýÿÁÀÂÄÃÅÇÉÈÊËÍÌÎÏÑÓÒÔÖÕÚÙÛÜÝ"
    "ßøØłŁđĐőŐřŘšŠžŽğĞşŞæÆœŒ"
)
WORDS = st.text(alphabet=LETTERS, min_size=1, max_size=9)
LAST_NAMES = st.lists(WORDS, min_size=1, max_size=3).map(" ".join)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(last_name=LAST_NAMES, cut=st.floats(min_value=0, max_value=1), shout=st.booleans())
def test_search_finds_a_customer_by_any_prefix_of_its_folded_last_name(
    api: Api, last_name: str, cut: float, shout: bool
) -> None:
    # Given a customer with the generated last name (and a first name nobody else has)
    target = create(api, first_name=f"Prop{uuid.uuid4().hex[:8]}", last_name=last_name)
    deliver_changes()
    # When searching for a non-empty prefix of its folded last name, in lower or upper case
    name = folded(last_name)
    prefix = name[: max(1, round(cut * len(name)))]
    q = prefix.upper() if shout else prefix
    # Then the customer is among the results, once
    results = walk(api, q=q)
    assert ids(results).count(target["customer_id"]) == 1, (last_name, q)
    # And every customer found has a name or address starting so
    for customer in results:
        texts = [folded(customer[name]) for name in ("first_name", "last_name", "email_address")]
        texts.append(folded(f"{customer['first_name']} {customer['last_name']}"))
        assert any(text.startswith(folded(q)) for text in texts), (q, customer)
