"""What a prefix search compares: texts folded so that ``jose`` finds ``José`` and ``MÜLLER`` finds ``Müller``.

Folding is compatibility decomposition (NFKD), combining marks dropped, case
folded, whitespace collapsed: the same function makes a customer's search terms
when it is written and a query's text when it is asked, so both sides always
agree. A customer is found by its first, last and full name, its email address
and its phone number (national digits and E.164); the terms are worked out when
the customer is written (the phone's need ``phonenumbers``, imported only then)
and stored with it, so reading and checking a search result needs neither.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

# The fields a customer's search terms are made of: changing one of them re-derives the terms
# and the name order from the whole customer, so such an update reads the customer first.
SEARCHED_FIELDS = frozenset({"first_name", "last_name", "email_address", "phone_number"})
# Separates the parts of the name order; below every character a folded name can hold, so
# "de" sorts before "de la cruz", and both before "dean".
NAME_SEPARATOR = "\x01"
# A folded name can be longer than the name (NFKD expands some characters up to 18 times);
# the order keeps this much of each: inside DynamoDB's 1,024-byte sort key, and small enough
# that a next_token holding one per shard stays a short URL. Names alike for 40 characters
# are ordered by first name, then id.
_ORDER_CHARACTERS = 40
# The longest folded value an index key holds (a state of 100 characters can fold to 1,800).
KEY_CHARACTERS = 100
_WHITESPACE = re.compile(r"\s+")
# A query made only of what people type in phone numbers is compared as one: digits, and a leading "+".
_PHONE_QUERY = re.compile(r"\+?[0-9 ().\-]*[0-9][0-9 ().\-]*")
_NOT_DIGIT = re.compile(r"[^0-9]")


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _WHITESPACE.sub(" ", stripped.casefold()).strip()


def fold_key(text: str) -> str:
    """A folded value as an index key stores it (and a filter compares it): bounded in length."""
    return fold(text)[:KEY_CHARACTERS]


def query_text(q: str) -> str:
    """The folded form of a search query: the prefix every term it finds starts with."""
    if _PHONE_QUERY.fullmatch(q.strip()):
        digits = _NOT_DIGIT.sub("", q)
        return f"+{digits}" if q.strip().startswith("+") else digits
    return fold(q)


def customer_terms(customer: Mapping[str, Any]) -> tuple[str, ...]:
    """The folded texts a customer is found by, each once, in a fixed order."""
    first, last = str(customer.get("first_name", "")), str(customer.get("last_name", ""))
    terms = [fold(first), fold(last), fold(f"{first} {last}"), fold(str(customer.get("email_address", "")))]
    phone = customer.get("phone_number")
    if phone:
        terms.extend(_phone_terms(str(phone), customer.get("phone_number_e164")))
    return tuple(dict.fromkeys(term for term in terms if term))


def _phone_terms(phone: str, e164: str | None) -> tuple[str, ...]:
    if not e164:  # not parseable in the default region, or local-only: the digits as typed
        return (_NOT_DIGIT.sub("", phone),)
    from chalicelib.customers.canonical import phone_national_digits

    return (phone_national_digits(e164, "ZZ"), e164)  # a "+" number needs no region


def matches(terms: Iterable[str], text: str) -> bool:
    return any(term.startswith(text) for term in terms)


def name_order(customer: Mapping[str, Any]) -> str:
    """Last name, first name, then id, folded: the order of search results and of ``sort=last_name``."""
    last = fold(str(customer.get("last_name", "")))[:_ORDER_CHARACTERS]
    first = fold(str(customer.get("first_name", "")))[:_ORDER_CHARACTERS]
    return NAME_SEPARATOR.join((last, first, str(customer["customer_id"])))


def lookup_prefix(text: str, longest: int) -> str:
    """The prefix the search index holds a text under: at most ``longest`` characters, no trailing space."""
    return text[:longest].rstrip()


def prefixes(terms: Iterable[str], longest: int) -> list[str]:
    """Every distinct prefix of the terms, up to ``longest`` characters: the search index's keys."""
    found: dict[str, None] = {}
    for term in terms:
        for end in range(1, min(len(term), longest) + 1):
            found[lookup_prefix(term, end)] = None
    found.pop("", None)
    return list(found)
