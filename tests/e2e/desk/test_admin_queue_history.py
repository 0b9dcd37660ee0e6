"""A queue's History in a real browser against a real server: an admin edits a queue twice,
opens its History (every version with who and when), compares two versions field by field,
restores an old one after a conflict with someone else's save, and the queue's form shows the
restored values. axe checks the History panel."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from desk_helpers import (
    LiveServer,
    axe_violations,
    browser,
    logged_in_page,
    needs_browser,
    ok,
    serve,
)
from playwright.sync_api import Page, expect

pytestmark = needs_browser()
__all__ = ["browser"]  # the module's Chromium (a fixture of desk_helpers)
expect.set_options(timeout=15_000)
VIEWPORT = {"width": 1280, "height": 900}
QUEUE = {"id": "refunds", "name": "Refunds", "channels": ["chat"], "priority": 0}


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    yield from serve()


@pytest.fixture
def admin_page(server: LiveServer, browser) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    yield from logged_in_page(browser, server, "admin", "/admin", viewport=VIEWPORT, locale="en-GB")


def _edit(page: Page, label: str, value: str) -> None:
    page.get_by_role("button", name="Edit Refunds").click()
    page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("queue-saved")).to_be_visible()


def test_history_diff_and_restore(admin_page: Page, server: LiveServer) -> None:
    page = admin_page
    admin = server.api("admin")
    assert ok(admin.post("/api/v1/routing/queues", json=QUEUE), 201)["version"] == 1
    page.get_by_role("link", name="Queues").click()
    _edit(page, "Priority", "3")
    expect(page.locator('tr[data-queue="refunds"]')).to_contain_text("2")
    _edit(page, "Service-level target (%)", "95")
    assert ok(admin.get("/api/v1/routing/queues/refunds"))["version"] == 3

    page.get_by_role("button", name="History of Refunds").click()
    history = page.get_by_test_id("queue-history")
    versions = history.get_by_test_id("queue-versions")
    expect(versions.locator("tbody tr")).to_have_count(3)
    expect(versions.locator('tr[data-version="1"]')).to_contain_text("Created")
    expect(versions.locator('tr[data-version="3"]')).to_contain_text("Edited")
    expect(versions.locator('tr[data-version="3"]')).to_contain_text("Ada Admin")
    # Versions 2 and 3 compared by default: only the service-level target changed.
    diff = history.get_by_test_id("history-diff")
    changed = diff.locator('tr[data-change="changed"]')
    expect(changed).to_have_count(1)
    expect(changed).to_have_attribute("data-field", "service_level_target")
    expect(changed).to_contain_text("0.8")
    expect(changed).to_contain_text("0.95")
    history.get_by_label("Older version").select_option("1")
    expect(diff.locator('tr[data-field="priority"]')).to_have_attribute("data-change", "changed")
    expect(diff.locator('tr[data-field="priority"]')).to_contain_text("3")
    assert axe_violations(page) == []

    # Someone else saves meanwhile: this restore is refused with the reason, nothing restored.
    now = ok(admin.get("/api/v1/routing/queues/refunds"))["definition"]
    assert (
        ok(admin.put("/api/v1/routing/queues/refunds", json={**now, "version": 3}))["version"] == 4
    )
    versions.get_by_role("button", name="Restore version 1").click()
    confirm = history.get_by_test_id("restore-confirm")
    expect(confirm).to_contain_text("saved as a new version")
    assert axe_violations(page) == []
    confirm.get_by_role("button", name="Yes, restore version 1").click()
    conflict = history.get_by_test_id("restore-conflict")
    expect(conflict).to_contain_text("Someone else changed this queue")
    assert ok(admin.get("/api/v1/routing/queues/refunds"))["version"] == 4
    conflict.get_by_role("button", name="Reload the history").click()
    expect(versions.locator("tbody tr")).to_have_count(4)

    versions.get_by_role("button", name="Restore version 1").click()
    history.get_by_role("button", name="Yes, restore version 1").click()
    expect(page.get_by_test_id("queue-restored")).to_contain_text("version 1 restored as version 5")
    # The form opens on the queue as restored.
    expect(page.get_by_role("heading", name="Edit queue refunds (version 5)")).to_be_visible()
    expect(page.get_by_label("Priority", exact=True)).to_have_value("0")
    expect(page.get_by_label("Service-level target (%)")).to_have_value("80")
    row = versions.locator('tr[data-version="5"]')
    expect(row).to_contain_text("Restored")
    expect(row).to_contain_text("from version 1")
    assert axe_violations(page) == []
    saved = ok(admin.get("/api/v1/routing/queues/refunds"))
    assert (saved["version"], saved["definition"]["priority"]) == (5, 0)
    assert saved["definition"]["service_level_target"] == 0.8
