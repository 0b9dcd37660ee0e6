"""Quality evaluations in a real browser against a real server: an admin adds a scorecard in
the admin console; a chat contact is answered and ended by agent1 through the API; the
supervisor grades it on the Quality screen (the score shows as the answers are given, then
the saved one), and sees it in the agent's evaluations; agent1, whose desktop is open all the
while, sees it appear there (told by the realtime stream) and acknowledges it. axe checks
the Quality screen."""

from __future__ import annotations

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
    serve,
)
from playwright.sync_api import expect

pytestmark = needs_browser()
__all__ = ["browser"]  # the module's Chromium (a fixture of desk_helpers)
expect.set_options(timeout=15_000)
CRITERION_ID = re.compile(r"^Id \(")  # "Id (a-z, 0-9, _)", with en dashes


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    yield from serve()


def _handled_chat(server: LiveServer) -> None:
    """Contact q1, answered and ended by agent1; waits until the CRM has its ended record."""
    admin, agent = server.api("admin"), server.api("agent1")
    routing_setup(admin, server.ids)
    agent1 = server.ids["agent1"]
    ok(agent.post(f"/api/v1/routing/agents/{agent1}/state", json={"state": "available"}))
    body = {"queue_id": "support", "channel": "chat", "contact_id": "q1"}
    offer = ok(admin.post("/api/v1/routing/contacts", json=body), 201)["offer_id"]
    ok(agent.post(f"/api/v1/routing/offers/{offer.replace('#', '%23')}/accept"))
    ok(agent.post("/api/v1/routing/contacts/q1/end"))
    # The CRM projects the contact's end from the log: a condition to wait for, not a time.
    for _ in range(600):
        found = ok(admin.get("/api/v1/crm/interactions", params={"contact_id": "q1"}))
        if found and found[0]["ended_at"]:
            return
        ok(admin.get("/api/v1/auth/me"))  # a round trip, letting the server's loop run
    raise AssertionError("the CRM never recorded the contact's end")


def test_a_supervisor_grades_a_contact_and_the_agent_sees_it(server: LiveServer, browser) -> None:  # type: ignore[no-untyped-def]
    _handled_chat(server)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()

    log_in(page, server.base, "admin", server.passwords["admin"], "/admin")
    page.get_by_role("link", name="Scorecards").click()
    editor = page.get_by_test_id("admin-scorecards")
    editor.get_by_role("button", name="New scorecard").click()
    editor.get_by_label("Name").fill("Chat basics")
    first = editor.locator("[data-criterion-row='0']")
    first.get_by_label(CRITERION_ID).fill("greeting")
    first.get_by_label("Question").fill("Greeted the customer")
    editor.get_by_role("button", name="Add a criterion").click()
    second = editor.locator("[data-criterion-row='1']")
    second.get_by_label(CRITERION_ID).fill("solution")
    second.get_by_label("Question").fill("Solved the problem")
    second.get_by_label("Answer").select_option("points")
    second.get_by_label("Weight").fill("3")
    second.get_by_label("Max points").fill("5")
    editor.get_by_role("button", name="Save").click()
    expect(editor.locator("tr[data-scorecard='Chat basics'] td").nth(2)).to_have_text("1")

    context.close()
    # Agent1's desktop is open while they are graded: the grade shows there when it is made.
    agent_context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    desk = agent_context.new_page()
    log_in(desk, server.base, "agent1", server.passwords["agent1"], "/agent")
    mine = desk.get_by_test_id("quality-evaluations")
    expect(mine.get_by_role("heading", name="My evaluations")).to_be_visible()
    expect(mine).to_contain_text("No evaluations yet.")

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    log_in(page, server.base, "supervisor", server.passwords["supervisor"], "/quality")
    expect(page.get_by_role("heading", name="Quality evaluations", level=1)).to_be_visible()
    grade = page.get_by_test_id("quality-grade")
    grade.get_by_label("Agent").select_option(server.ids["agent1"])
    # The agent's ended contacts are offered (the server filters them by agent).
    expect(grade.locator("#quality-contacts option[value='q1']")).to_have_count(1)
    grade.get_by_label("Contact").fill("q1")
    grade.get_by_label("Scorecard").select_option(label="Chat basics")
    preview = grade.get_by_test_id("quality-preview")
    expect(preview).to_contain_text("—")  # not every criterion answered yet
    grade.locator("[data-criterion=greeting]").get_by_label("Yes").check()
    grade.get_by_label("Points for Solved the problem").fill("4")
    expect(preview).to_contain_text("85 %")  # (1·1 + 3·4/5) / (1 + 3)
    grade.get_by_label("Comment").fill("Friendly and quick")
    grade.get_by_role("button", name="Save evaluation").click()
    expect(grade.get_by_test_id("quality-saved")).to_have_text("Saved: 85 %")
    row = page.get_by_test_id("quality-evaluations").locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("[data-kpi=quality]")).to_have_text("85 %")
    assert axe_violations(page) == []

    expect(mine.locator("[data-kpi=quality]")).to_have_text("85 %")
    mine.get_by_role("button", name="Acknowledge").click()
    expect(mine.get_by_role("button", name="Acknowledge")).to_have_count(0)
    agent_context.close()
    context.close()
