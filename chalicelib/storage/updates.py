"""UpdateItem expressions, built in one place for the repository and the backfill.

Every attribute name goes through an alias (``#f0``) because customer fields may
be DynamoDB reserved words (``state``, ``name`` ...), and every value through a
placeholder, so no input is ever spliced into an expression.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.storage.items import attribute


@dataclass
class Expression:
    """The SET assignments, names and values of one UpdateItem, accumulated."""

    assignments: list[str] = field(default_factory=list)
    removals: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)

    def set_all(self, changes: Mapping[str, Any], prefix: str = "f") -> Expression:
        for position, (name, value) in enumerate(changes.items()):
            alias = f"{prefix}{position}"
            self.names[f"#{alias}"] = name
            self.values[f":{alias}"] = attribute(value)
            self.assignments.append(f"#{alias} = :{alias}")
        return self

    def set(self, name: str, value: Any) -> Expression:
        self.names[f"#{name}"] = name
        self.values[f":{name}"] = attribute(value)
        self.assignments.append(f"#{name} = :{name}")
        return self

    def remove(self, *attribute_names: str) -> Expression:
        for name in attribute_names:
            alias = f"#r{len(self.removals)}"
            self.names[alias] = name
            self.removals.append(alias)
        return self

    @property
    def update_expression(self) -> str:
        clauses = []
        if self.assignments:
            clauses.append("SET " + ", ".join(self.assignments))
        if self.removals:
            clauses.append("REMOVE " + ", ".join(self.removals))
        return " ".join(clauses)
