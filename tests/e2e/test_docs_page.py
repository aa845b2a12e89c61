"""The Swagger UI page in a real headless Chromium: create a customer, then fetch it, through "Try it out"."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, sync_playwright

from tests.e2e.stack import LiveStack

# Debian's chromium, started as this workplace's browser probe does: no sandbox (root in CI),
# and none of the background connections a closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    assert chromium, "chromium not found: sudo apt-get install chromium (make test installs it when run as root)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def try_it_out(page: Page, operation_id: str) -> Locator:
    operation = page.locator(f"#operations-customers-{operation_id}")
    operation.locator(".opblock-summary").click()
    operation.locator(".try-out__btn").click()
    return operation


def execute(operation: Locator) -> tuple[int, dict[str, object]]:
    operation.locator("button.execute").click()
    live = operation.locator(".live-responses-table tbody .response").first
    live.wait_for(timeout=TIMEOUT_MS)
    status = int(live.locator(".response-col_status").inner_text().strip())
    # Swagger UI indents the highlighted body with no-break spaces
    text = live.locator(".response-col_description pre").first.inner_text().replace("\xa0", " ")
    return status, json.loads(text)


def test_docs_page_creates_and_fetches_a_customer(browser: Browser, live_stack: LiveStack) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    outside = []
    page.on(
        "request",
        lambda request: outside.append(request.url) if not request.url.startswith(live_stack.base_url) else None,
    )
    page.goto(f"{live_stack.base_url}/docs")
    page.wait_for_selector("#operations-customers-createCustomer", timeout=TIMEOUT_MS)

    # Create through the page
    create = try_it_out(page, "createCustomer")
    new = {"first_name": "Ada", "last_name": "Lovelace", "email_address": "ada.docs@example.com"}
    create.locator("textarea.body-param__text").fill(json.dumps(new))
    status, created = execute(create)
    assert status == 201
    assert created["email_address"] == new["email_address"]

    # Fetch it through the page
    fetch = try_it_out(page, "getCustomer")
    fetch.locator('input[placeholder="customer_id"]').fill(str(created["customer_id"]))
    status, fetched = execute(fetch)
    assert status == 200
    assert fetched == created

    page.screenshot(path=str(live_stack.data_dir.parent / "docs.png"), full_page=True)
    assert errors == []
    assert outside == []  # every asset came from the API itself: no CDN
