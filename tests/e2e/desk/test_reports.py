"""The Reports screen in a real browser against a real server: a chat contact is routed and
answered through the API; the supervisor sees it counted on the console (the KPI rollups have
it), opens Reports from the console's navigation, sees the figure in the table and the chart,
and downloads the report as CSV. A scheduled email is added (a refusal shown on its field)
and deleted after asking. axe checks the screen; its screenshots are for
docs/supervisor-guide.md."""

from __future__ import annotations

import csv
import io
import re
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


def _forecast_accuracy(server: LiveServer, page) -> None:  # type: ignore[no-untyped-def]
    """A forecast of a past day (2 per hour, from a CSV of the week before) against a queue
    that had no contacts then: 48 contacts forecast in vain, no WAPE (nothing happened)."""
    lines = ["interval_start,queue_id,channel,volume,aht"]
    lines += [
        f"2026-01-{1 + h // 24:02d}T{h % 24:02d}:00:00,support,chat,2,300" for h in range(168)
    ]
    body = {"source": "csv", "csv": "\n".join(lines) + "\n", "method": "seasonal_naive",
            "horizon_days": 1, "backtest_days": 0}  # fmt: skip
    forecast = ok(server.api("admin").post("/api/v1/wfm/forecasts", json=body), 201)
    page.reload()  # the screen lists the forecasts when it opens
    section = page.get_by_test_id("forecast-accuracy")
    section.get_by_label("Forecast").select_option(forecast["id"])
    section.get_by_role("button", name="Compare with actuals").click()
    figures = section.get_by_test_id("accuracy-figures")
    expect(figures.locator("[data-figure=bias] dd")).to_have_text("+48")
    expect(figures.locator("[data-figure=accuracy] dd")).to_have_text("—")
    expect(section.get_by_test_id("accuracy-table").locator("tbody tr")).to_have_count(24)


def _by_channel_and_team(server: LiveServer, browser, page) -> None:  # type: ignore[no-untyped-def]
    """Today's figures by team (the supervisor's team: agent1 answered the chat) and by
    channel (admins only: the supervisor has no such table), pushed by the server."""
    team = ok(server.api("admin").get("/api/v1/teams"))[0]["id"]
    team_row = page.locator(f'[data-testid="today-teams"] tr[data-team="{team}"]')
    expect(team_row.locator("[data-kpi=handled]")).to_have_text("1")
    expect(team_row.locator("[data-kpi=occupancy]")).to_have_text(re.compile(r"^\d+(\.\d)? %$"))
    expect(page.get_by_test_id("today-channels")).to_have_count(0)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    admin = context.new_page()
    log_in(admin, server.base, "admin", server.passwords["admin"], "/supervisor")
    chat = admin.locator('[data-testid="today-channels"] tr[data-channel="chat"]')
    expect(chat.locator("[data-kpi=offered]")).to_have_text("1")
    expect(chat.locator("[data-kpi=answered]")).to_have_text("1")
    expect(chat.locator("th")).to_have_text("Chat")
    expect(admin.locator(f'[data-testid="today-teams"] tr[data-team="{team}"]')).to_be_visible()
    assert axe_violations(admin) == []
    context.close()


def test_reports_show_the_figures_and_download_csv(server: LiveServer, browser) -> None:  # type: ignore[no-untyped-def]
    _answer_one_chat(server)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    log_in(page, server.base, "supervisor", server.passwords["supervisor"], "/supervisor")
    # The console counts the contact once the rollups have it (read again on routing's events).
    today = page.locator('[data-testid="today"] tr[data-queue="support"]')
    expect(today.locator("[data-kpi=offered]")).to_have_text("1")
    _by_channel_and_team(server, browser, page)
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
    # The team view: the supervisor's team, whose agent answered it; the disposition view.
    page.get_by_label("Report").select_option("teams")
    page.get_by_role("button", name="Show").click()
    team = page.locator('[data-testid="report-table"] tbody tr[data-team]')
    expect(team).to_have_count(1)
    expect(team.locator("[data-kpi=handled]")).to_have_text("1")
    expect(page.locator('[data-testid="report-chart"] rect[data-handled="1"]')).to_have_count(1)
    assert axe_violations(page) == []
    page.get_by_label("Report").select_option("dispositions")
    page.get_by_role("button", name="Show").click()
    resolved = page.locator('[data-testid="report-table"] tr[data-disposition="resolved"]')
    expect(resolved.locator("[data-kpi=handled]")).to_have_text("1")
    expect(total.locator("[data-kpi=handled]")).to_have_text("1")
    # The customer journeys by channel: the chat started today, on the CRM's record.
    page.get_by_label("Report").select_option("journeys")
    page.get_by_label("Rows").select_option("channel")
    page.get_by_role("button", name="Show").click()
    chat = page.locator('[data-testid="journey-table"] tbody tr[data-key="chat"]')
    expect(chat.locator("[data-kpi=contacts]")).to_have_text("1")
    expect(page.get_by_text("No channel switches in this range.")).to_be_visible()
    assert axe_violations(page) == []
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
    # The agents view: the agent's figures; no schedule and no survey answers: no adherence
    # or CSAT ("—", never 0 %).
    page.get_by_label("Report").select_option("agents")
    page.get_by_role("button", name="Show").click()
    agent_row = page.locator(
        f'[data-testid="report-table"] tr[data-agent="{server.ids["agent1"]}"]'
    )
    expect(agent_row.locator("[data-kpi=handled]")).to_have_text("1")
    expect(agent_row.locator("[data-kpi=adherence]")).to_have_text("—")
    expect(agent_row.locator("[data-kpi=csat]")).to_have_text("—")
    _forecast_accuracy(server, page)
    # A range that ends before it starts is refused on the screen, with the reason.
    page.get_by_label("To (inclusive)").fill("2000-01-01")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("alert")).to_contain_text("The end date is before the start date.")
    context.close()


def test_scheduled_emails_are_added_refused_on_the_field_and_deleted(
    server: LiveServer,
    browser,  # type: ignore[no-untyped-def]
) -> None:
    admin = server.api("admin")
    if admin.get("/api/v1/routing/queues/support").status_code == 404:  # run on its own
        routing_setup(admin, server.ids)
    account = {
        "kind": "email",
        "name": "Reports",
        "queue_id": "support",
        "address": "reports@example.com",
        "smtp_host": "127.0.0.1",
        "smtp_port": 9,
        "smtp_security": "none",
    }
    ok(admin.post("/api/v1/channels/accounts", json=account), 201)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    log_in(page, server.base, "supervisor", server.passwords["supervisor"], "/reports")
    part = page.get_by_test_id("scheduled-reports")
    expect(part.get_by_text("No scheduled emails yet.")).to_be_visible()
    part.get_by_role("button", name="Add a scheduled email").click()
    form = page.get_by_test_id("schedule-form")
    form.get_by_label("Name").fill("Morning queues")
    form.get_by_label("Queue").select_option("support")
    form.get_by_label("Sent", exact=True).select_option("weekly")
    form.get_by_label("Weekday").select_option("0")
    form.get_by_label("Recipients").fill("lead@example.com\nnot-an-address")
    form.get_by_label("Sent from").fill("nobody@example.com")
    # The mail's language starts at the screens' (English here); German chosen.
    language = form.get_by_label("Language of the email")
    expect(language).to_have_value("en")
    language.select_option("de")
    form.get_by_role("button", name="Save").click()
    # The form's own check: under the field, the input marked invalid.
    recipients = form.get_by_label("Recipients")
    expect(recipients).to_have_attribute("aria-invalid", "true")
    expect(form.locator('[data-field-error="recipients"]')).to_have_text("Not an email address.")
    recipients.fill("lead@example.com")
    form.get_by_role("button", name="Save").click()
    # The server's refusal: not an email account of the center, on its field.
    expect(form.locator('[data-field-error="sender_address"]')).to_contain_text(
        "not an email account"
    )
    form.get_by_label("Sent from").fill("reports@example.com")
    form.get_by_role("button", name="Save").click()
    row = part.locator("[data-testid=schedule-table] tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Morning queues")
    expect(row).to_contain_text("Mondays at 07:00: the previous day")
    expect(row).to_contain_text("CSV · Deutsch")
    (saved,) = ok(admin.get("/api/v1/analytics/report-schedules"))
    assert saved["language"] == "de"
    assert axe_violations(page) == []
    part.get_by_role("heading", name="Scheduled emails").scroll_into_view_if_needed()
    screenshot(page, "supervisor-scheduled-emails")
    # Send now: the latest period's run is listed at once (pending: the relay at port 9 takes
    # no mail, so it waits for its retry).
    row.get_by_role("button", name="Send Morning queues now").click()
    runs = part.locator("[data-testid=run-table] tbody tr")
    expect(runs).to_have_count(1)
    expect(runs).to_have_attribute("data-run-status", "pending")
    row.get_by_role("button", name="Delete Morning queues").click()
    page.get_by_role("button", name="Yes, delete Morning queues").click()
    expect(part.get_by_text("No scheduled emails yet.")).to_be_visible()
    context.close()
