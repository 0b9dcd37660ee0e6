"""The what-if in a real browser against a real server: a morning of chats routed through the
API reaches the KPI rollups; the admin changes the queue's rule in the editor (unsaved), runs the
change through the digital twin on that day, and sees routing as it is beside the change, with the
change's effect; the queue itself is unchanged until saved. axe checks the panel; the screenshot
is docs/admin-guide.md's."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from desk_helpers import (
    LiveServer,
    axe_violations,
    browser,
    logged_in_page,
    needs_browser,
    ok,
    screenshot,
    serve,
)
from playwright.sync_api import Page, expect

pytestmark = needs_browser()
__all__ = ["browser"]  # the module's Chromium (a fixture of desk_helpers)
expect.set_options(timeout=30_000)
VIEWPORT = {"width": 1280, "height": 1000}
CHATS = 5


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    yield from serve()


def _a_morning_of_chats(server: LiveServer) -> str:
    """CHATS chats answered by agent1; the day they arrived (UTC, the demo's KPI zone)."""
    admin, agent = server.api("admin"), server.api("agent1")
    queue = {"id": "wi", "name": "What-if", "channels": ["chat"], "steps": [{"target": None}]}
    ok(admin.post("/api/v1/routing/queues", json=queue), 201)
    me = server.ids["agent1"]
    profile = {"skills": {"lang.en": 3}, "queues": {"wi": 1}, "capacity": {"chat": 1}}
    ok(admin.put(f"/api/v1/routing/agents/{me}", json=profile))
    ok(agent.post(f"/api/v1/routing/agents/{me}/state", json={"state": "available"}))
    for n in range(CHATS):
        body = {"queue_id": "wi", "channel": "chat", "contact_id": f"wi{n}"}
        offer = ok(admin.post("/api/v1/routing/contacts", json=body), 201)["offer_id"]
        ok(agent.post(f"/api/v1/routing/offers/{offer.replace('#', '%23')}/accept"))
        ok(agent.post(f"/api/v1/routing/contacts/wi{n}/end"))
        ok(agent.post(f"/api/v1/routing/wrap-ups/wi{n}/end", json={}))
    events = ok(admin.get("/api/v1/events", params={"limit": 1000}))["events"]
    first = next(e for e in events if e["event"] == "routing.contact_received")
    day = datetime.fromisoformat(first["data"]["at"]).astimezone(UTC).date()
    # The KPI ingester follows the log in the background: wait until it has the day.
    next_day = day + timedelta(days=1)
    params = {"start": f"{day}T00:00:00Z", "end": f"{next_day}T00:00:00Z", "queue_id": "wi"}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        report = ok(admin.get("/api/v1/analytics/queues", params=params))
        if report["total"]["sums"]["answered"] == CHATS:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"the rollups never showed {CHATS} answered: {report['total']}")
    return day.isoformat()


PER_HOUR = 10


def _a_forecast_of(server: LiveServer, day: str) -> dict[str, Any]:
    """A stored forecast of `day` for wi/chat, PER_HOUR chats an hour (seasonal naive on the
    week before)."""
    start = datetime.fromisoformat(day).replace(tzinfo=UTC) - timedelta(days=7)
    lines = ["interval_start,queue_id,channel,volume,aht"]
    for hour in range(7 * 24):
        lines.append(f"{(start + timedelta(hours=hour)):%Y-%m-%dT%H:%M:%S},wi,chat,{PER_HOUR},180")
    body = {
        "source": "csv",
        "csv": "\n".join(lines) + "\n",
        "method": "seasonal_naive",
        "horizon_days": 1,
        "backtest_days": 0,
    }
    return ok(server.api("admin").post("/api/v1/wfm/forecasts", json=body), 201)


def test_a_rule_change_run_through_the_twin_before_it_is_saved(
    server: LiveServer,
    browser,  # type: ignore[no-untyped-def]
) -> None:
    day = _a_morning_of_chats(server)
    admin = server.api("admin")
    version = ok(admin.get("/api/v1/routing/queues/wi"))["version"]
    pages = logged_in_page(browser, server, "admin", "/admin", viewport=VIEWPORT, locale="en-GB")
    page: Page = next(pages)
    try:
        page.get_by_role("link", name="Queues").click()
        page.get_by_role("button", name="Edit What-if").click()
        # Nobody has Finnish: after this change nobody can answer the queue.
        page.get_by_label("Rule of step 1").fill("skills.lang.fi >= 1")
        page.get_by_role("button", name="What if…").click()
        panel = page.get_by_test_id("whatif")
        panel.get_by_label("Day of traffic").fill(day)
        panel.get_by_label("Simulated days").fill("4")
        panel.get_by_role("button", name="Run what-if").click()
        result = panel.get_by_test_id("whatif-result")
        expect(result).to_contain_text(f"{CHATS} contacts; agents logged in: 1")
        answered = result.locator('tr[data-queue=""][data-figure="answered"]')
        expect(answered).to_have_attribute("data-effect", "worse")
        expect(answered).to_contain_text("worse")
        expect(result.locator('tr[data-queue="wi"][data-figure="service_level"]')).to_be_visible()
        assert axe_violations(page) == []
        panel.scroll_into_view_if_needed()
        screenshot(page, "admin-what-if")
        # The what-if changed nothing; the form still holds the unsaved rule.
        assert ok(admin.get("/api/v1/routing/queues/wi"))["version"] == version
        expect(page.get_by_label("Rule of step 1")).to_have_value("skills.lang.fi >= 1")
        # A day without traffic is refused on its field.
        panel.get_by_label("Day of traffic").fill("2001-01-01")
        panel.get_by_role("button", name="Run what-if").click()
        expect(panel.locator('[data-field-error="day"]')).to_be_visible()

        # The same change on a day of a forecast: the forecast's volumes, the recorded day's
        # agents and patience.
        forecast = _a_forecast_of(server, day)
        panel.get_by_label("A day of a forecast").check()
        panel.locator("select").select_option(forecast["id"])
        panel.get_by_label("Forecast day").fill(day)
        panel.get_by_role("button", name="Run what-if").click()
        expect(result).to_contain_text(f"{24 * PER_HOUR} contacts; agents logged in: 1")
        expect(result).to_contain_text(
            f"from the forecast; patience, wrap-up share and agents "
            f"logged in from the recorded day {day}"
        )
        assert axe_violations(page) == []
    finally:
        next(pages, None)
