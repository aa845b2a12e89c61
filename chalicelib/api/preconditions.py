"""Conditional requests (RFC 9110 section 13): ETags, and parsing If-Match and If-None-Match.

A customer's ETag is its version, a strong validator: every write bumps the
version, so two representations with the same tag are the same bytes.
"""

from __future__ import annotations

import re

from chalicelib.customers.conditions import UNCONDITIONAL, Preconditions, VersionCondition
from chalicelib.customers.errors import ValidationFailed

# One list member: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, with etagc = %x21 / %x23-7E /
# obs-text. A comma is a valid etagc, so the list cannot simply be split on commas.
_LIST_MEMBER = re.compile(r'[ \t,]*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*(,|\Z)')
_MAX_HEADER_LENGTH = 4096
_CANONICAL_VERSION = re.compile(r"[1-9][0-9]{0,17}")


def etag(version: int) -> str:
    return f'"{version}"'


def _invalid(header: str) -> ValidationFailed:
    return ValidationFailed(
        "Invalid request headers.",
        details={header: ['Must be "*" or a comma-separated list of entity tags such as "3".']},
    )


def parse_condition(header: str, value: str | None, *, weak_comparison: bool) -> VersionCondition | None:
    """Parse If-Match (strong comparison) or If-None-Match (weak comparison); ``None`` when absent.

    Tags that are well-formed but not ours (``"abc"``) simply never match; weak tags
    never match under strong comparison, as RFC 9110 requires for If-Match.
    """
    if value is None:
        return None
    if len(value) > _MAX_HEADER_LENGTH:
        raise _invalid(header)
    if value.strip() == "*":
        return VersionCondition(any_version=True, versions=frozenset())
    versions: set[int] = set()
    position = 0
    while True:
        match = _LIST_MEMBER.match(value, position)
        if match is None:
            raise _invalid(header)
        weak, opaque, separator = match.groups()
        # Tags compare character by character: "01" is not "1". Only our canonical
        # form (a version without leading zeros) can ever match.
        if not (weak and not weak_comparison) and _CANONICAL_VERSION.fullmatch(opaque):
            versions.add(int(opaque))
        position = match.end()
        # RFC 9110 5.6.1.2: empty list elements ("1", , "2",) are accepted and ignored.
        if not separator or not value[position:].strip(" \t,"):
            break
    return VersionCondition(any_version=False, versions=frozenset(versions))


def parse_preconditions(if_match: str | None, if_none_match: str | None) -> Preconditions:
    if if_match is None and if_none_match is None:
        return UNCONDITIONAL
    return Preconditions(
        parse_condition("If-Match", if_match, weak_comparison=False),
        parse_condition("If-None-Match", if_none_match, weak_comparison=True),
    )
