"""The Agents section of the admin console in a real browser against a real server: an admin
sets an agent's blending and working hours and the API has them; a working-hours value the API
cannot read is refused on that day's field (and nothing is saved); the agent's SIP login is
created with a generated password shown once and never again, reset with a password the admin
types (write-only), and removed. axe checks the section."""

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
    screenshot,
    serve,
)
from playwright.sync_api import Page, expect

pytestmark = needs_browser()
__all__ = ["browser"]  # the module's Chromium (a fixture of desk_helpers)
expect.set_options(timeout=15_000)
VIEWPORT = {"width": 1280, "height": 900}
DOMAIN = "pbx.example.test"


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    running = serve()
    live = next(running)
    # The SIP domain is the realm of every SIP password: without it no login can be made.
    ok(live.api("admin").put("/api/v1/voice/settings", json={"sip_domain": DOMAIN}))
    yield live
    running.close()  # stops the server


@pytest.fixture
def admin_page(server: LiveServer, browser) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    yield from logged_in_page(browser, server, "admin", "/admin", viewport=VIEWPORT, locale="en-GB")


def _open_agent(page: Page, server: LiveServer, name: str) -> None:
    page.get_by_role("link", name="Agents' routing").click()
    expect(page.get_by_role("heading", name="Agents' routing profiles")).to_be_visible()
    page.get_by_label("User", exact=True).select_option(server.ids[name])
    expect(page.get_by_role("form", name="Routing profile")).to_be_visible()


def test_blending_and_working_hours(admin_page: Page, server: LiveServer) -> None:
    page = admin_page
    admin = server.api("admin")
    _open_agent(page, server, "agent2")
    expect(page.get_by_role("group", name="Working hours (time zone")).to_be_visible()
    # Nothing besides a call; a call may still come during chats, email never does.
    on_voice = page.get_by_role("group", name="While handling voice, also offer")
    on_voice.get_by_label("chat").uncheck()
    on_voice.get_by_label("email").uncheck()
    on_chat = page.get_by_role("group", name="While handling chat, also offer")
    on_chat.get_by_label("email").uncheck()
    page.get_by_label("Monday").fill("08:00-12:00, 13:00-17:00")
    page.get_by_label("Saturday").fill("22:00-02:00")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_test_id("agent-saved")).to_be_visible()
    profile = ok(admin.get(f"/api/v1/routing/agents/{server.ids['agent2']}"))["definition"]
    assert profile["blending"] == {"voice": [], "chat": ["voice"]}
    assert profile["working_hours"] == {
        "mon": [["08:00", "12:00"], ["13:00", "17:00"]],
        "sat": [["22:00", "02:00"]],
    }

    # A value the API cannot read is refused on that day's field; the profile stays as it was.
    page.get_by_label("Wednesday").fill("9-17")
    page.get_by_role("button", name="Save", exact=True).click()
    wednesday = page.get_by_label("Wednesday")
    expect(wednesday).to_have_attribute("aria-invalid", "true")
    message = page.locator('[data-field-error="working_hours.wed"]')
    expect(message).to_contain_text("pattern")
    described = "agent-working_hours.wed-error agent-hours-help"
    expect(wednesday).to_have_attribute("aria-describedby", described)
    assert axe_violations(page) == []
    message.scroll_into_view_if_needed()
    screenshot(page, "admin-agent-hours")
    again = ok(admin.get(f"/api/v1/routing/agents/{server.ids['agent2']}"))["definition"]
    assert "wed" not in again["working_hours"]
    # An empty interval passes the schema; the engine refuses it, on the same field.
    wednesday.fill("09:00-09:00")
    expect(message).to_have_count(0)  # a changed input loses the old refusal
    page.get_by_role("button", name="Save", exact=True).click()
    expect(message).to_contain_text("must not be empty")

    # The form reads back what was saved (a reload shows the API's values, not the draft's).
    page.reload()
    _open_agent(page, server, "agent2")
    expect(page.get_by_label("Monday")).to_have_value("08:00-12:00, 13:00-17:00")
    on_voice = page.get_by_role("group", name="While handling voice, also offer")
    expect(on_voice.get_by_label("chat")).not_to_be_checked()
    on_email = page.get_by_role("group", name="While handling email, also offer")
    expect(on_email.get_by_label("chat")).to_be_checked()


def test_sip_login_lifecycle(admin_page: Page, server: LiveServer) -> None:
    page = admin_page
    admin = server.api("admin")
    url = f"/api/v1/voice/agents/{server.ids['agent1']}/sip"
    _open_agent(page, server, "agent1")
    panel = page.get_by_test_id("admin-sip")
    expect(panel.get_by_test_id("sip-state")).to_have_text("This user has no SIP login.")
    panel.get_by_label("SIP username").fill("agent1-phone")
    panel.get_by_role("button", name="Create SIP login").click()
    secret = panel.get_by_test_id("secret-once-value")
    expect(secret).to_be_visible()
    password = secret.input_value()
    assert len(password) >= 8
    expect(panel.get_by_test_id("sip-state")).to_contain_text(f"agent1-phone (realm {DOMAIN})")
    assert axe_violations(page) == []
    screenshot(page, "admin-agent-sip")  # the secret box has the focus: it is in view
    state = ok(admin.get(url))
    assert (state["set"], state["username"], state["realm"]) == (True, "agent1-phone", DOMAIN)
    assert password not in str(state)  # the API keeps digests only

    # Never again: neither after "done" nor when the panel is opened anew.
    panel.get_by_role("button", name="I have stored it").click()
    expect(secret).to_have_count(0)
    page.reload()
    _open_agent(page, server, "agent1")
    expect(panel.get_by_test_id("sip-state")).to_contain_text("agent1-phone")
    expect(panel.get_by_test_id("secret-once-value")).to_have_count(0)
    assert password not in page.content()

    # Reset with a password the admin types: write-only, refused on its field when too short.
    panel.get_by_label("Set a password myself").check()
    field = panel.get_by_label("New SIP password (at least 8 characters)")
    expect(field).to_have_attribute("type", "password")
    field.fill("short")
    panel.get_by_role("button", name="Reset SIP login").click()
    expect(panel.locator('[data-field-error="password"]')).to_be_visible()
    expect(field).to_have_attribute("aria-invalid", "true")
    field.fill("a-long-enough-password")
    panel.get_by_role("button", name="Reset SIP login").click()
    expect(panel.get_by_test_id("sip-status")).to_have_text("SIP login saved.")
    expect(field).to_have_value("")
    expect(panel.get_by_test_id("secret-once-value")).to_have_count(0)

    # Removed after a confirmation.
    panel.get_by_role("button", name="Remove SIP login").click()
    panel.get_by_role("button", name="Yes, remove the SIP login").click()
    expect(panel.get_by_test_id("sip-state")).to_have_text("This user has no SIP login.")
    assert ok(admin.get(url))["set"] is False
