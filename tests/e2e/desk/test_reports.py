"""The Reports screen in a real browser against a real server: a chat contact is routed and
answered through the API; the supervisor sees it counted on the console (the KPI rollups have
it), opens Reports from the console's navigation, sees the figure in the table and the chart,
and downloads the report as CSV. axe checks the screen; its screenshot is for
docs/supervisor-guide.md."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from desk_helpers import (
    LiveServer,
    axe_violations,
    browser,
    log_in,
    needs_browser,
    ok,
    routing_setup,
    screenshot,
    serve,
)
from playwright.sync_api import expect

pytestmark = needs_browser()
__all__ = ["browser"]  # the module's Chromium (a fixture of desk_helpers)
expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    yield from serve()


def _answer_one_chat(server: LiveServer) -> None:
    admin, agent = server.api("admin"), server.api("agent1")
    routing_setup(admin, server.ids)
    agent1 = server.ids["agent1"]
    ok(agent.post(f"/api/v1/routing/agents/{agent1}/state", json={"state": "available"}))
    body = {"queue_id": "support", "channel": "chat", "contact_id": "r1"}
    offer = ok(admin.post("/api/v1/routing/contacts", json=body), 201)["offer_id"]
    ok(agent.post(f"/api/v1/routing/offers/{offer.replace('#', '%23')}/accept"))
    ok(agent.post("/api/v1/routing/contacts/r1/end"))
    ok(agent.post("/api/v1/routing/wrap-ups/r1/end", json={"disposition": "resolved"}))


def test_reports_show_the_figures_and_download_csv(server: LiveServer, browser) -> None:  # type: ignore[no-untyped-def]
    _answer_one_chat(server)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    log_in(page, server.base, "supervisor", server.passwords["supervisor"], "/supervisor")
    # The console counts the contact once the rollups have it (read again on routing's events).
    today = page.locator('[data-testid="today"] tr[data-queue="support"]')
    expect(today.locator("[data-kpi=offered]")).to_have_text("1")
    page.get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Reports", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Reports")).to_have_attribute("aria-current", "page")
    # Today, hour by hour, every queue the supervisor sees: the total row has the contact.
    total = page.locator('[data-testid="report-table"] tfoot tr')
    expect(total.locator("[data-kpi=offered]")).to_have_text("1")
    expect(total.locator("[data-kpi=answered]")).to_have_text("1")
    expect(page.locator('[data-testid="report-chart"] rect[data-offered="1"]')).to_have_count(1)
    # One queue, the per-contact report: the contact's row.
    page.get_by_label("Report").select_option("contacts")
    page.get_by_label("Queue").select_option("support")
    page.get_by_role("button", name="Show").click()
    expect(page.locator('[data-testid="report-table"] tr[data-contact="r1"]')).to_contain_text(
        "Answered"
    )
    page.get_by_label("Report").select_option("queues")
    page.get_by_role("button", name="Show").click()
    expect(total.locator("[data-kpi=offered]")).to_have_text("1")
    assert axe_violations(page) == []
    screenshot(page, "supervisor-reports")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    saved = download.value
    assert saved.suggested_filename.startswith("omnidesk-queues-")
    assert saved.suggested_filename.endswith(".csv")
    path = saved.path()
    assert path is not None
    with open(path, encoding="utf-8-sig") as file:
        rows = list(csv.DictReader(io.StringIO(file.read())))
    totals = [r for r in rows if r["Row (interval | total)"] == "total"]
    assert [(r["Queue id"], r["Queue"], r["Offered"], r["Answered"]) for r in totals] == [
        ("support", "Support", "1", "1")
    ]
    # A range that ends before it starts is refused on the screen, with the reason.
    page.get_by_label("To (inclusive)").fill("2000-01-01")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("alert")).to_contain_text("The end date is before the start date.")
    context.close()
