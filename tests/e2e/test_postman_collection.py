"""The Postman collection in postman/, run by newman against a fresh live stack, so it cannot drift."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.e2e.stack import LiveStack

ROOT = Path(__file__).resolve().parents[2]
NEWMAN = ROOT / "node_modules" / ".bin" / "newman"
COLLECTION = ROOT / "postman" / "customer-api.postman_collection.json"
ENVIRONMENT = ROOT / "postman" / "local.postman_environment.json"
TIMEOUT_SECONDS = 300


def _requests(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every request of the collection, in run order (folders are items with items of their own)."""
    for item in items:
        if "request" in item:
            yield item
        else:
            yield from _requests(item.get("item", []))


def collection_requests() -> list[dict[str, Any]]:
    collection: dict[str, Any] = json.loads(COLLECTION.read_text())
    return list(_requests(collection["item"]))


def _test_script(item: dict[str, Any]) -> str:
    return "\n".join(
        "\n".join(event["script"]["exec"]) for event in item.get("event", []) if event.get("listen") == "test"
    )


def test_every_request_is_described_and_tested() -> None:
    requests = collection_requests()
    assert requests
    names = [item["name"] for item in requests]
    assert len(set(names)) == len(names), "request names must be unique (the run report is matched by name)"
    for item in requests:
        assert str(item["request"].get("description", "")).strip(), f"{item['name']!r} has no description"
        script = _test_script(item)
        assert "pm.test(" in script, f"{item['name']!r} has no test script"
        assert "pm.response.to.have.status(" in script or "pm.response.code" in script, item["name"]


def test_collection_runs_green_with_newman(live_stack: LiveStack, tmp_path: Path) -> None:
    assert NEWMAN.exists(), f"{NEWMAN} is missing: run `npm ci` in {ROOT} to install the pinned newman"
    report_path = tmp_path / "newman.json"
    completed = subprocess.run(
        [
            str(NEWMAN),
            "run",
            str(COLLECTION.relative_to(ROOT)),
            "-e",
            str(ENVIRONMENT.relative_to(ROOT)),
            "--env-var",
            f"baseUrl={live_stack.base_url}",
            "--reporters",
            "cli,json",
            "--reporter-json-export",
            str(report_path),
            "--color",
            "off",
            "--timeout-request",
            "30000",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    output = f"newman exited with {completed.returncode}\n{completed.stdout}\n{completed.stderr}"
    assert completed.returncode == 0, output

    run: dict[str, Any] = json.loads(report_path.read_text())["run"]
    assert run["failures"] == [], output
    assert run["error"] is None, output
    for name, counts in run["stats"].items():
        assert counts["failed"] == 0, f"{name}: {counts}\n{output}"

    executions: list[dict[str, Any]] = run["executions"]
    for execution in executions:
        name = execution["item"]["name"]
        assert "requestError" not in execution, f"{name}: {execution['requestError']}\n{output}"
        assert execution.get("assertions"), f"{name!r} ran no assertion\n{output}"
        failed = [a for a in execution["assertions"] if a.get("error") or a.get("skipped")]
        assert not failed, f"{name}: {failed}\n{output}"

    expected = [item["name"] for item in collection_requests()]
    assert run["stats"]["requests"]["total"] == len(executions) == len(expected), output
    assert [execution["item"]["name"] for execution in executions] == expected, output
