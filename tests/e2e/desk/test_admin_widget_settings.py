"""The chat widget's pre-chat questions and business hours, and a WhatsApp number's message
templates, edited in the admin console in a real browser against a real server: a time zone
the server does not know and a span ending before it starts are refused on their fields; hours
closed now make the widget on a shop's page show the offline form with the offline message;
hours open now make it ask the admin's own question; a template added is there after a reload.
axe checks the forms with their lists open."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from desk_helpers import (
    LiveServer,
    axe_violations,
    browser,
    logged_in_page,
    needs_browser,
    ok,
    routing_setup,
    serve,
    site,
)
from playwright.sync_api import Locator, Page, expect

pytestmark = needs_browser()
__all__ = ["browser", "site"]  # fixtures of desk_helpers: the Chromium, the shop's site
expect.set_options(timeout=15_000)
ACCOUNTS = "/api/v1/channels/accounts"
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SHOP = '<!doctype html><html lang="en"><head><title>Shop</title><script src="{server}/widget.js" data-omnidesk-widget="{key}" async></script></head><body><h1>Shop</h1></body></html>'  # noqa: E501


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    for live in serve():
        admin = live.api("admin")
        routing_setup(admin, live.ids)
        sms = {"id": "sms", "name": "SMS", "channels": ["messaging"], "steps": [{"target": None}]}
        ok(admin.post("/api/v1/routing/queues", json=sms), 201)
        chat = {"kind": "chat", "name": "Website", "queue_id": "support",
                "secret": "widget-secret-0123456789abcdef"}  # fmt: skip
        ok(admin.post(ACCOUNTS, json=chat), 201)
        whatsapp = {"kind": "whatsapp", "name": "WhatsApp", "queue_id": "sms",
                    "phone_number_id": "1234567", "app_secret": "app-secret-0123456789",
                    "verify_token": "verify-token-0123", "access_token": "token"}  # fmt: skip
        ok(admin.post(ACCOUNTS, json=whatsapp), 201)
        yield live


@pytest.fixture
def admin_page(server: LiveServer, browser) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    yield from logged_in_page(browser, server, "admin", "/admin", viewport={"width": 1280, "height": 900}, locale="en-GB")  # fmt: skip  # noqa: E501


def edit(page: Page, name: str) -> Locator:
    page.get_by_role("link", name="Channels").click()
    page.locator(f'tr[data-account="{name}"]').get_by_role("button", name=f"Edit {name}").click()
    return page.get_by_test_id("account-form")


def save(form: Locator) -> None:
    form.get_by_role("button", name="Save").click()


def account(server: LiveServer, name: str) -> dict[str, Any]:
    return next(a for a in ok(server.api("admin").get(ACCOUNTS)) if a["name"] == name)  # type: ignore[no-any-return]


def shop_widget(browser: Any, site: dict[str, Any], server: LiveServer) -> Locator:
    """The widget on the shop's page, opened: its panel."""
    site["html"] = SHOP.format(server=server.base, key=account(server, "Website")["id"])
    shop = browser.new_context(viewport={"width": 1100, "height": 800}).new_page()
    shop.goto(site["origin"] + "/")
    shop.get_by_role("button", name="Chat with us").click()
    return shop.get_by_role("dialog", name="Chat with us")


def test_questions_and_hours_reach_the_widget(
    admin_page: Page, server: LiveServer, browser: Any, site: dict[str, Any]
) -> None:
    page = admin_page
    form = edit(page, "Website")
    today = DAY_NAMES[datetime.now(UTC).weekday()]

    # The admin's own question first, the email question removed.
    questions = form.get_by_test_id("prechat-fields")
    questions.get_by_role("button", name="Add a question").click()
    questions.get_by_label("Question 3: label").fill("Order number")
    questions.get_by_label("Question 3: key (a-z, 0-9, _)").fill("order")
    questions.get_by_label("Required (question 3)").check()
    questions.get_by_role("button", name="Move question 3 up").click()
    questions.get_by_role("button", name="Remove question 3").click()  # email, now third
    questions.get_by_role("button", name="Move question 2 up").click()
    form.get_by_label("Offline message").fill("We are closed now. Leave us a note.")

    # Hours: a zone the server does not know, then a span ending before it starts, each refused
    # on its own field.
    hours = form.get_by_test_id("business-hours")
    hours.get_by_label("Always open (no business hours)").uncheck()
    zone = hours.get_by_label("Time zone")
    zone.fill("Mars/Olympus")
    save(form)
    expect(hours.locator('[data-field-error="business_hours.timezone"]')).to_contain_text(
        "not an IANA time zone"
    )
    expect(zone).to_have_attribute("aria-invalid", "true")
    zone.fill("UTC")
    hours.get_by_label("Monday: opens (hours 1)").fill("14:00")
    hours.get_by_label("Monday: closes (hours 1)").fill("13:00")
    expect(hours.get_by_text("Ends before it starts.")).to_be_visible()  # a hint while typing
    save(form)
    expect(hours.locator('[data-field-error="business_hours.days.mon.0"]')).to_contain_text(
        "must start before it ends"
    )
    assert axe_violations(page) == []
    hours.get_by_label("Monday: opens (hours 1)").fill("09:00")
    hours.get_by_label("Monday: closes (hours 1)").fill("17:00")
    # Closed today (whatever day the test runs): today's span removed.
    remove_today = hours.get_by_role("button", name=f"Remove {today} hours 1")
    if remove_today.count():
        remove_today.click()
    save(form)
    expect(form).to_have_count(0)
    widget = account(server, "Website")["config"]
    assert [q["key"] for q in widget["prechat_fields"]] == ["order", "name"]
    assert widget["business_hours"]["timezone"] == "UTC"

    panel = shop_widget(browser, site, server)
    expect(panel.get_by_role("form", name="Leave a message")).to_be_visible()
    expect(panel).to_contain_text("We are closed now. Leave us a note.")

    # Open all of today: the widget asks the admin's question first.
    form = edit(page, "Website")
    hours = form.get_by_test_id("business-hours")
    hours.get_by_role("button", name=f"Add hours on {today}").click()
    hours.get_by_label(f"{today}: opens (hours 1)").fill("00:00")
    hours.get_by_label(f"{today}: closes (hours 1)").fill("24:00")
    save(form)
    expect(form).to_have_count(0)
    panel = shop_widget(browser, site, server)
    asked = panel.get_by_role("form", name="Before we start")
    expect(asked.get_by_label("Order number")).to_be_visible()
    expect(asked.get_by_label("Order number")).to_have_attribute("required", "")
    expect(asked.get_by_label("Email")).to_have_count(0)


def test_a_whatsapp_template_is_kept(admin_page: Page, server: LiveServer) -> None:
    page = admin_page
    form = edit(page, "WhatsApp")
    templates = form.get_by_test_id("templates")
    templates.get_by_role("button", name="Add a template").click()
    templates.get_by_label("Template 1: name").fill("Order Update")
    templates.get_by_label("Template 1: language (e.g. en or pt_BR)").fill("de")
    templates.get_by_label("Template 1: number of parameters").fill("2")
    templates.get_by_label("Template 1: what it says and what each parameter is").fill(
        "Your order {{1}} ships on {{2}}"
    )
    save(form)
    # The row tells the refusal; the input it names is marked.
    expect(templates.locator('[data-field-error="templates.0"]')).to_contain_text("pattern")
    expect(templates.get_by_label("Template 1: name")).to_have_attribute("aria-invalid", "true")
    assert axe_violations(page) == []
    templates.get_by_label("Template 1: name").fill("order_update")
    save(form)
    expect(form).to_have_count(0)

    page.reload()
    form = edit(page, "WhatsApp")
    templates = form.get_by_test_id("templates")
    expect(templates.get_by_label("Template 1: name")).to_have_value("order_update")
    expect(templates.get_by_label("Template 1: number of parameters")).to_have_value("2")
    assert account(server, "WhatsApp")["config"]["templates"] == [
        {
            "name": "order_update",
            "language": "de",
            "parameters": 2,
            "description": "Your order {{1}} ships on {{2}}",
        }
    ]
