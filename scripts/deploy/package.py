"""`chalice package` for a stage, merged with its generated template: used by make, the tests and the bench.

It runs in the stage's build project (scripts/deploy/chalice_project.py), the one `make
deploy` uses, with the merge template generated from the current configuration, so a
package is never built from a stale file. What only a stack knows is left to it:

- app.py registers the change consumer only when ``CUSTOMERS_STREAM_ARN`` is set as Chalice
  imports it, and builds the authorizer from ``COGNITO_USER_POOL_ARN``. Packaging has no
  stream or pool yet (the stack makes them), so Chalice gets placeholders, and the merge
  template replaces them with the stack's own (a test checks that none is left);
- the policies name the stack's partition, region and account (``Fn::Sub``).

    python -m scripts.deploy.package STAGE OUT_DIR
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from chalicelib.stages import requires_auth
from scripts.deploy import chalice_project, generate_infra, policies
from scripts.paths import ROOT

MERGE_TEMPLATE = "merge-template.json"


def placeholder_stream_arn(stage: str) -> str:
    return f"arn:aws:dynamodb:us-east-1:000000000000:table/customers-{stage}/stream/placeholder"


def placeholder_pool_arn(stage: str) -> str:
    return f"arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_{stage}placeholder"


def pool_placeholder(stage: str) -> dict[str, str]:
    """The stage variable app.py builds the authorizer from, until the stack fills in its own pool."""
    return {"COGNITO_USER_POOL_ARN": placeholder_pool_arn(stage)} if requires_auth(stage) else {}


def package(stage: str, out: Path, root: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Write ``out``/sam.json and deployment.zip; the caller checks the result."""
    generate_infra.refresh(stage, root)
    pool = pool_placeholder(stage)
    project = chalice_project.build(
        stage,
        environment=pool,
        consumer_environment={},
        bind=policies.bound_in_stack,
        root=root,
    )
    merge = project / MERGE_TEMPLATE
    merge.write_text(
        generate_infra.render(generate_infra.templates(stage, root)[generate_infra.app_template_path(stage, root)])
    )
    command = [
        str(Path(sys.executable).parent / "chalice"),
        "--project-dir",
        str(project),
        "package",
        "--stage",
        stage,
        "--merge-template",
        str(merge),
        str(out.resolve()),
    ]
    environment = {
        "AWS_DEFAULT_REGION": "us-east-1",  # chalice needs a region even offline
        **os.environ,
        # What app.py reads as Chalice imports it: the same template whatever the shell holds.
        **pool,
        "CUSTOMERS_STREAM_ARN": placeholder_stream_arn(stage),
    }
    return subprocess.run(
        command, cwd=project, env=environment, capture_output=True, text=True, check=False, timeout=300
    )


if __name__ == "__main__":
    result = package(sys.argv[1], Path(sys.argv[2]))
    sys.stdout.write(result.stdout + result.stderr)
    if result.returncode == 0:
        print(json.dumps({"template": str(Path(sys.argv[2]) / "sam.json")}))
    sys.exit(result.returncode)
