"""What a client's If-Match / If-None-Match allow, in terms of versions (RFC 9110 section 13.2.2).

The edge parses the headers into these; the use cases evaluate them against the
stored version, so every route enforces them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VersionCondition:
    """What one header accepts: any version (``*``) or these versions."""

    any_version: bool
    versions: frozenset[int]

    def matches(self, version: int) -> bool:
        return self.any_version or version in self.versions

    @property
    def single_version(self) -> int | None:
        if self.any_version or len(self.versions) != 1:
            return None
        return next(iter(self.versions))


@dataclass(frozen=True)
class Preconditions:
    if_match: VersionCondition | None = None
    if_none_match: VersionCondition | None = None

    def allow(self, version: int) -> bool:
        """May a write proceed on this version?"""
        if self.if_match is not None and not self.if_match.matches(version):
            return False
        return self.if_none_match is None or not self.if_none_match.matches(version)

    @property
    def any_existing_version(self) -> bool:
        """True when every existing version passes: the write needs no version condition."""
        return self.if_none_match is None and (self.if_match is None or self.if_match.any_version)

    @property
    def single_version(self) -> int | None:
        """The one version that passes, when the client named exactly one (no read needed)."""
        if self.if_none_match is not None or self.if_match is None:
            return None
        return self.if_match.single_version


UNCONDITIONAL = Preconditions()
