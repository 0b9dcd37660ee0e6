"""The admin console's branding section in a real browser against a real server: the admin
sets the name and accent colour and uploads a logo; the admin's header and an agent's open desk
(in another browser context, not reloaded) show them; a colour white text is unreadable on is
refused with the server's measured ratio on the field. axe checks the section."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from desk_helpers import (
    LiveServer,
    axe_violations,
    browser,
    logged_in_page,
    needs_browser,
    screenshot,
    serve,
    wait_live,
)
from playwright.sync_api import Page, expect

pytestmark = needs_browser()
__all__ = ["browser"]  # the module's Chromium (a fixture of desk_helpers)
expect.set_options(timeout=15_000)
VIEWPORT = {"width": 1280, "height": 900}
# A real 1-pixel PNG: the server tells the type by these bytes, not by the file's name.
LOGO = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    yield from serve()


@pytest.fixture
def admin_page(server: LiveServer, browser) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    yield from logged_in_page(browser, server, "admin", "/admin", viewport=VIEWPORT, locale="en-GB")


@pytest.fixture
def agent_page(server: LiveServer, browser) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    yield from logged_in_page(
        browser, server, "agent1", "/agent", viewport=VIEWPORT, locale="en-GB"
    )


def header_background(page: Page) -> str:
    return page.locator("header.topbar").evaluate("h => getComputedStyle(h).backgroundColor")


def test_admin_brands_the_tenant_and_an_open_desk_follows(
    admin_page: Page, agent_page: Page
) -> None:
    page = admin_page
    page.get_by_role("link", name="Branding").click()
    form = page.get_by_test_id("branding")
    expect(form.get_by_role("heading", name="Branding")).to_be_visible()
    wait_live(agent_page)  # the agent's desk is open (and listening) before anything changes
    assert axe_violations(page) == []

    form.get_by_label("Name shown in the header").fill("Acme Care")
    form.get_by_label("Accent colour (#rrggbb)").fill("#1a4d2e")
    expect(form.get_by_test_id("branding-contrast")).to_contain_text("(readable)")
    preview = form.get_by_test_id("branding-preview")
    expect(preview).to_contain_text("Acme Care")
    form.get_by_role("button", name="Save branding").click()
    expect(form.get_by_role("status")).to_have_text("Branding saved.")
    brand = page.get_by_test_id("brand")
    expect(brand).to_have_text("Acme Care")
    expect(page.locator("header.topbar")).to_have_css("background-color", "rgb(26, 77, 46)")

    form.get_by_label("Logo (PNG, JPEG or WebP, at most 256 KB)").set_input_files(
        {"name": "logo.png", "mimeType": "image/png", "buffer": LOGO}
    )
    expect(form.get_by_test_id("branding-logo-preview")).to_be_visible()
    form.get_by_role("button", name="Upload logo").click()
    expect(form.get_by_role("status")).to_have_text("Logo uploaded.")
    expect(brand.get_by_role("img", name="Acme Care")).to_be_visible()
    assert brand.locator("img").evaluate("i => i.naturalWidth") == 1  # the served PNG drew
    assert axe_violations(page) == []
    screenshot(page, "admin-branding")

    # The agent's desk, opened before any of this and never reloaded, shows it all.
    agent_brand = agent_page.get_by_test_id("brand")
    expect(agent_brand.get_by_role("img", name="Acme Care")).to_be_visible()
    expect(agent_page.locator("header.topbar")).to_have_css("background-color", "rgb(26, 77, 46)")
    assert header_background(agent_page) == header_background(page)

    # A colour white text cannot be read on: the hint says so, the server refuses on the field.
    form.get_by_label("Accent colour (#rrggbb)").fill("#ffcc00")
    expect(form.get_by_test_id("branding-contrast")).to_contain_text("only 1.51:1")
    form.get_by_role("button", name="Save branding").click()
    refusal = form.locator('[data-field-error="accent_color"]')
    expect(refusal).to_contain_text("contrast ratio of 1.51:1")
    expect(form.get_by_label("Accent colour (#rrggbb)")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("header.topbar")).to_have_css("background-color", "rgb(26, 77, 46)")
    assert axe_violations(page) == []
