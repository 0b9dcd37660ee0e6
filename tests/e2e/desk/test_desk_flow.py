"""The desk in a real browser against a real server: an agent logs in, goes available, accepts
a contact, ends it and wraps up while a supervisor watches every step live; both sockets are
cut mid-flow and both screens recover to what a fresh load shows; an expired session goes back
to login and then to the same page; the language choice is remembered. axe-core checks each
screen; the screenshots for the guides are taken here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

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
    wait_live,
)
from playwright.sync_api import Page, expect

pytestmark = needs_browser()
__all__ = ["browser"]  # the module's Chromium (a fixture of desk_helpers)
expect.set_options(timeout=15_000)
VIEWPORT = {"width": 1280, "height": 760}


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    yield from serve()


def lane(page: Page, figure: str, queue: str = "support", channel: str = "chat") -> Any:
    return page.locator(
        f'[data-testid="wallboard"] tr[data-queue="{queue}"][data-channel="{channel}"] '
        f'[data-figure="{figure}"]'
    )


def agent_row(page: Page, user_id: str) -> Any:
    return page.locator(f'[data-testid="agents"] tr[data-agent="{user_id}"]')


def live_figures(page: Page) -> dict[str, str]:
    """What the console shows that does not tick by itself: every figure but the timers."""
    cells = page.locator("[data-figure]:not([data-figure=oldest])")
    return dict(
        zip(
            cells.evaluate_all(
                "cells => cells.map(c => c.closest('tr').dataset.queue + '/' + "
                "(c.closest('tr').dataset.channel || c.closest('tr').dataset.agent) + '/' + "
                "c.dataset.figure)"
            ),
            cells.all_inner_texts(),
            strict=True,
        )
    )


def assert_accessible(page: Page) -> None:
    assert axe_violations(page) == []


def test_agent_works_a_contact_while_the_supervisor_watches(server: LiveServer, browser: Any):
    admin, ids = server.api("admin"), server.ids
    routing_setup(admin, ids, disposition_required=True)  # the wrap-up wants a code
    agent1 = ids["agent1"]

    sup_context = browser.new_context(viewport=VIEWPORT, timezone_id="Europe/Riga")
    sup = sup_context.new_page()
    log_in(sup, server.base, "supervisor", server.passwords["supervisor"], "/supervisor")
    expect(lane(sup, "waiting")).to_have_text("0")
    expect(agent_row(sup, agent1).locator("[data-figure=state]")).to_have_attribute(
        "data-state", "offline"
    )

    ag_context = browser.new_context(viewport=VIEWPORT, timezone_id="Europe/Berlin")
    ag = ag_context.new_page()
    ag.goto(f"{server.base}/agent")  # not logged in: to the login page, and back after it
    expect(ag).to_have_url(f"{server.base}/login?next=%2Fagent")
    expect(ag.get_by_label("Username")).to_be_visible()
    assert_accessible(ag)
    screenshot(ag, "login")
    log_in(ag, server.base, "agent1", server.passwords["agent1"], "/agent")
    expect(ag).to_have_url(f"{server.base}/agent")
    assert_accessible(ag)

    # Available: the agent's own screen and the supervisor's, from routing's events.
    ag.get_by_role("button", name="Available", exact=True).click()
    expect(ag.get_by_test_id("my-state")).to_have_attribute("data-state", "available")
    expect(agent_row(sup, agent1).locator("[data-figure=state]")).to_have_attribute(
        "data-state", "available"
    )
    expect(lane(sup, "available")).to_have_text("1")

    # The CRM: a known customer with an open case, the tenant's wrap-up codes.
    for code, label in (("resolved", "Resolved"), ("follow_up", "Follow-up needed")):
        ok(admin.post("/api/v1/crm/dispositions", json={"code": code, "label": label}), 201)
    maria = {
        "display_name": "Maria Schneider",
        "language": "de",
        "identities": [{"kind": "email", "value": "maria@example.com"}],
    }
    maria_id = ok(admin.post("/api/v1/crm/customers", json=maria), 201)["id"]
    consent = {"recording": True, "source": "call"}
    ok(admin.put(f"/api/v1/crm/customers/{maria_id}/consent", json=consent))
    case = {"customer_id": maria_id, "type": "repair", "title": "Router keeps dropping"}
    ok(admin.post("/api/v1/crm/cases", json=case), 201)

    # A contact arrives from her (created through the API, as a channel would): offered to
    # agent1 with her card.
    body = {"queue_id": "support", "channel": "chat", "contact_id": "c1"}
    first = {**body, "attributes": {"language": "de"}, "customer": {"customer_id": maria_id}}
    ok(admin.post("/api/v1/routing/contacts", json=first), 201)
    offer = ag.get_by_test_id("offer")
    expect(offer).to_be_visible()
    expect(offer).to_contain_text("support")
    expect(offer.locator("dd").nth(1)).to_have_text("de")  # the language
    card = offer.get_by_test_id("customer-card")
    expect(card.get_by_test_id("customer-name")).to_contain_text("Maria Schneider")
    expect(card.get_by_test_id("open-case")).to_contain_text("Router keeps dropping")
    expect(card.locator("[data-consent=recording]")).to_have_attribute("data-given", "yes")
    expect(lane(sup, "offered")).to_have_text("1")
    assert_accessible(ag)
    screenshot(ag, "agent-offer")

    offer.get_by_role("button", name="Accept").click()
    expect(ag.get_by_test_id("contact-tab")).to_have_attribute("data-state", "active")
    panel = ag.get_by_test_id("customer-panel")
    expect(panel).to_contain_text("maria@example.com")
    expect(panel.get_by_test_id("timeline").locator("li").first).to_be_visible()
    assert_accessible(ag)
    expect(ag.get_by_test_id("my-state")).to_have_attribute("data-state", "busy")
    expect(lane(sup, "active")).to_have_text("1")
    expect(agent_row(sup, agent1).locator("[data-figure=contacts]")).to_contain_text("active")
    screenshot(ag, "agent-contact")

    # Both sockets cut mid-flow; meanwhile c2 arrives for agent1 and agent2 goes available.
    for context in (ag_context, sup_context):
        context.set_offline(True)
    for page in (ag, sup):
        expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "lost")
        expect(page.locator("[data-live=no]")).to_be_visible()  # shown as not live
    expect(ag.get_by_test_id("my-state")).to_have_attribute("data-state", "unknown")
    screenshot(sup, "supervisor-connection-lost")
    ok(admin.post("/api/v1/routing/contacts", json={**body, "contact_id": "c2"}), 201)
    agent2_state = {"state": "available"}
    ok(admin.post(f"/api/v1/routing/agents/{ids['agent2']}/state", json=agent2_state))
    for context in (ag_context, sup_context):
        context.set_offline(False)
    for page in (ag, sup):
        wait_live(page)
    expect(ag.get_by_test_id("offer")).to_have_attribute("data-contact", "c2")
    # c2 names no customer: the card says so (read after the fresh snapshot, a 404).
    unknown = ag.get_by_test_id("offer").get_by_test_id("customer-card")
    expect(unknown).to_have_attribute("data-state", "unknown")
    expect(lane(sup, "offered")).to_have_text("1")
    expect(lane(sup, "available")).to_have_text("1")  # agent2
    fresh = sup_context.new_page()
    fresh.goto(f"{server.base}/supervisor")
    wait_live(fresh)
    assert live_figures(sup) == live_figures(fresh)
    fresh.close()
    screenshot(sup, "supervisor-console")
    assert_accessible(sup)

    # agent1 rejects c2: away as routing reports a missed offer; c2 goes to agent2.
    ag.get_by_test_id("offer").get_by_role("button", name="Reject").click()
    expect(ag.get_by_test_id("offer")).to_have_count(0)
    expect(agent_row(sup, ids["agent2"]).locator("[data-figure=contacts]")).to_contain_text(
        "offered"
    )

    # End c1: wrap-up, one extension, then the end of the wrap-up.
    ag.get_by_role("button", name="End contact").click()
    expect(ag.get_by_test_id("wrap-up")).to_be_visible()
    expect(agent_row(sup, agent1).locator("[data-figure=state]")).to_have_attribute(
        "data-state", "wrap_up"
    )
    expect(ag.get_by_label("Disposition")).to_be_visible()  # the tenant's codes
    expect(ag.get_by_test_id("customer-panel")).to_have_attribute("data-state", "known")
    screenshot(ag, "agent-wrap-up")
    ag.get_by_role("button", name="More time").click()
    ag.get_by_role("button", name="End wrap-up").click()  # no code: the queue wants one
    expect(ag.get_by_test_id("disposition-required")).to_be_visible()
    ag.get_by_label("Disposition").select_option(label="Resolved")
    ag.get_by_label("Wrap-up note").fill("Reset the router.")
    with ag.expect_request("**/api/v1/routing/wrap-ups/c1/end") as sent:
        ag.get_by_role("button", name="End wrap-up").click()
    assert sent.value.post_data_json == {"disposition": "resolved", "note": "Reset the router."}
    expect(ag.get_by_test_id("no-contacts")).to_be_visible()
    state = ag.get_by_test_id("my-state")
    expect(state).to_have_attribute("data-state", "away")
    expect(state).to_have_attribute("data-reason", "missed")
    expect(state).to_contain_text("Missed an offer")
    expect(ag.get_by_test_id("handled")).to_have_text("1")  # today's dashboard
    # Today's KPIs on the console (docs/kpis.md), pushed by the server after the end.
    today = sup.locator('[data-testid="today"] tr[data-queue="support"]')
    expect(today.locator("[data-kpi=offered]")).to_have_text("1")
    expect(today.locator("[data-kpi=answered]")).to_have_text("1")
    expect(today.locator("[data-kpi=service_level]")).to_have_text("100 %")
    expect(today.locator("[data-kpi=service_level_30m]")).to_have_text("100 %")
    # agent1's occupancy today: a share, pushed with the agent's figures (not the placeholder).
    expect(agent_row(sup, agent1).locator("[data-kpi=occupancy]")).to_have_text(
        re.compile(r"^\d+(\.\d)? %$")
    )
    chart = sup.get_by_test_id("kpi-chart")
    expect(chart.locator("rect.bar[data-offered='1']")).to_have_count(1)
    expect(agent_row(sup, agent1).locator("[data-figure=state]")).to_have_attribute(
        "data-state", "away"
    )
    expect(lane(sup, "active")).to_have_text("0")
    screenshot(ag, "agent-desktop")

    # The supervisor forces agent2 offline through routing: c2's offer goes back in line.
    row = agent_row(sup, ids["agent2"])
    row.get_by_role("button", name="Force offline").click()
    expect(row.locator("[data-figure=state]")).to_have_attribute("data-state", "offline")
    expect(lane(sup, "waiting")).to_have_text("1")
    sup_context.close()

    # The session expires: the next action goes to the login page, and back to /agent after.
    ag_context.clear_cookies()
    ag.get_by_role("button", name="Available", exact=True).click()
    expect(ag).to_have_url(f"{server.base}/login?next=%2Fagent&expired=1")
    expect(ag.get_by_role("status")).to_contain_text("session has ended")
    ag.get_by_label("Organisation").fill("demo")
    ag.get_by_label("Username").fill("agent1")
    ag.get_by_label("Password").fill(server.passwords["agent1"])
    ag.get_by_role("button", name="Log in").click()
    expect(ag).to_have_url(f"{server.base}/agent")
    wait_live(ag)

    # German, remembered across a reload.
    ag.get_by_label("Language").select_option("de")
    expect(ag.get_by_role("button", name="Verfügbar", exact=True)).to_be_visible()
    ag.reload()
    wait_live(ag)
    expect(ag.get_by_role("button", name="Verfügbar", exact=True)).to_be_visible()
    expect(ag.locator("html")).to_have_attribute("lang", "de")
    ag_context.close()
