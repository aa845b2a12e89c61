"""Every curl example in README.md, run in order against a live stack, so the README cannot drift."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.e2e.stack import LiveStack

README = Path(__file__).resolve().parents[2] / "README.md"
README_BASE_URL = "http://127.0.0.1:8000"
EXAMPLE = re.compile(r"<!-- expect: (\d{3}) -->\n```bash\n(.*?)```", re.DOTALL)
STATUS_LINE = re.compile(r"^HTTP/[\d.]+ (\d{3})", re.MULTILINE)


def readme_examples() -> list[tuple[int, str]]:
    return [(int(status), script) for status, script in EXAMPLE.findall(README.read_text())]


def test_readme_every_curl_block_declares_its_expected_status() -> None:
    text = README.read_text()
    curl_blocks = [block for block in re.findall(r"```bash\n(.*?)```", text, re.DOTALL) if "curl" in block]
    assert len(curl_blocks) == len(readme_examples()) >= 9


def test_readme_examples_cover_every_endpoint() -> None:
    scripts = "\n".join(script for _, script in readme_examples())
    for pattern in (
        r"-X POST \S+/seed",
        r"-X POST \S+/customers ",
        r"curl -i http://\S+/customers\n",
        r"curl -i http://\S+/customers/[0-9a-f-]{36}",
        r"-X PUT \S+/customers/[0-9a-f-]{36}",
        r"-X PATCH \S+/customers/[0-9a-f-]{36}",
        r"-X POST \S+/customers/batch",
        r"-X DELETE \S+/customers/[0-9a-f-]{36}",
        r"next_token=",
        r"-X POST \S+/customers/[0-9a-f-]{36}/restore",
        r"curl -i \"?http://\S+/customers/[0-9a-f-]{36}/history",
        r"curl -i \"?http://\S+/events",
        r"curl -i http://\S+/customers/[0-9a-f-]{36}/export",
        r"-X POST \S+/customers/[0-9a-f-]{36}/erasure",
    ):
        assert re.search(pattern, scripts), pattern


@pytest.fixture(scope="module")
def results(live_stack: LiveStack) -> list[tuple[int, int, str]]:
    """Run the examples once, in README order (later ones rely on earlier ones)."""
    outcomes = []
    for expected, script in readme_examples():
        completed = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script.replace(README_BASE_URL, live_stack.base_url)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr
        statuses = STATUS_LINE.findall(completed.stdout)
        assert statuses, completed.stdout
        outcomes.append((expected, int(statuses[-1]), completed.stdout))
    return outcomes


@pytest.mark.parametrize("index", range(len(readme_examples())))
def test_readme_example_answers_as_documented(results: list[tuple[int, int, str]], index: int) -> None:
    expected, actual, output = results[index]
    assert actual == expected, output
    if expected >= 400:
        assert '"error":{"code":' in output.replace(" ", "")
