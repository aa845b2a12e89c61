"""The alarms stack `make deploy` makes beside what `chalice deploy` created: resolved to names, lint-clean."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.deploy import api_settings, generate_infra


def references(value: Any) -> Iterator[tuple[str, str]]:
    """Every ("Ref", name) and ("Fn::GetAtt", resource) anywhere in a template."""
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            yield "Ref", value["Ref"]
        elif set(value) == {"Fn::GetAtt"}:
            yield "Fn::GetAtt", value["Fn::GetAtt"][0]
        for item in value.values():
            yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_alarms_stack_names_the_deployed_function_and_tables_and_lints_clean(stage: str, tmp_path: Path) -> None:
    # The deploy rehearsal creates this stack on the emulator; here its template is read and linted
    merge = generate_infra.templates(stage)[generate_infra.app_template_path(stage)]
    template = api_settings.alarms_template(stage, merge)
    text = json.dumps(template)
    assert len(template["Resources"]) >= 12
    # Every reference to the packaged template's resources resolved: only parameters and pseudo parameters are left.
    unresolved = {
        (kind, name)
        for kind, name in references(template["Resources"])
        if not (kind == "Ref" and (name in template["Parameters"] or name.startswith("AWS::")))
    }
    assert unresolved == set()
    assert f'"customer-api-{stage}"' in text
    assert f'"customers-{stage}"' in text
    assert f'"customer-api-{stage}-parked-records"' in text
    assert f'"customer-api-{stage}-record_changes"' in text  # the consumer's alarms
    path = tmp_path / "alarms.json"
    path.write_text(text)
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(path)], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
