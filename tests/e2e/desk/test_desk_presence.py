"""Honest presence in a real browser: reloading the desk (a reconnect within the grace) keeps
the agent's state; closing the browser takes the agent out of routing after the grace, and the
offer they had goes to someone else, as the supervisor's console shows live."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from desk_helpers import LiveServer, browser, log_in, needs_browser, ok, routing_setup, serve
from playwright.sync_api import expect

pytestmark = needs_browser()
__all__ = ["browser"]  # the module's Chromium (a fixture of desk_helpers)
GRACE = 1.5
expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    yield from serve(presence_grace_seconds=GRACE)


def test_a_closed_desk_leaves_routing_and_its_offer_moves(server: LiveServer, browser: Any):
    admin, ids = server.api("admin"), server.ids
    routing_setup(admin, ids)
    supervisor = browser.new_context().new_page()
    log_in(supervisor, server.base, "supervisor", server.passwords["supervisor"], "/supervisor")

    def state_of(name: str) -> Any:
        row = supervisor.locator(f'[data-testid="agents"] tr[data-agent="{ids[name]}"]')
        return row.locator("[data-figure=state]")

    def contacts_of(name: str) -> Any:
        row = supervisor.locator(f'[data-testid="agents"] tr[data-agent="{ids[name]}"]')
        return row.locator("[data-figure=contacts]")

    desk_context = browser.new_context()
    desk = desk_context.new_page()
    log_in(desk, server.base, "agent1", server.passwords["agent1"], "/agent")
    desk.get_by_role("button", name="Available", exact=True).click()
    expect(state_of("agent1")).to_have_attribute("data-state", "available")

    # A reload closes the socket and opens another within the grace: nothing changes.
    desk.reload()
    expect(desk.get_by_test_id("my-state")).to_have_attribute("data-state", "available")
    assert not server.app.state.presence._timers  # the clock stopped when the desk came back

    ok(admin.post("/api/v1/routing/contacts", json={"queue_id": "support", "channel": "chat"}), 201)
    expect(desk.get_by_test_id("offer")).to_be_visible()
    expect(contacts_of("agent1")).to_contain_text("offered")
    ok(admin.post(f"/api/v1/routing/agents/{ids['agent2']}/state", json={"state": "available"}))

    desk_context.close()  # the browser is gone, the offer not answered
    # After the grace: agent1 is offline and the offer is agent2's.
    expect(state_of("agent1")).to_have_attribute("data-state", "offline")
    expect(contacts_of("agent2")).to_contain_text("offered")
    expect(contacts_of("agent1")).to_have_text("")
