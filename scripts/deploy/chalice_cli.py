"""Chalice's command line, with one change: a deploy that fails part way still records what it made.

`chalice deploy` writes ``.chalice/deployed/<stage>.json`` only when every step succeeded.
When one fails (a throttled API call, a refused setting), the functions, roles and API it
made before are in the account but in no record, and the next deploy fails on their names
while `chalice delete` cannot find them. Here the failing deploy records the resources it
made, on top of the record it started from (so nothing made earlier is forgotten either),
and then fails as before. Written against chalice 1.34 (requirements-dev.txt pins it).

    python -m scripts.deploy.chalice_cli --project-dir DIR deploy --stage STAGE
"""

from __future__ import annotations

import sys
from typing import Any

from chalice import cli
from chalice.deploy import deployer


def _recording_failures(original: Any) -> Any:
    def deploy(self: Any, config: Any, chalice_stage_name: str) -> Any:
        try:
            return original(self, config, chalice_stage_name)
        except BaseException:
            made = {value["name"]: value for value in self._executor.resource_values}
            before = config.deployed_resources(chalice_stage_name)
            earlier = [before.resource_values(name) for name in before.resource_names() if name not in made]
            if made or earlier:
                record = {"resources": [*earlier, *made.values()], "schema_version": "2.0", "backend": "api"}
                self._recorder.record_results(record, chalice_stage_name, config.project_dir)
            raise

    return deploy


def main() -> int:
    deployer.Deployer.deploy = _recording_failures(deployer.Deployer.deploy)  # type: ignore[method-assign]
    return int(cli.main() or 0)


if __name__ == "__main__":
    sys.exit(main())
