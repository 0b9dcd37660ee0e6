"""The admin console's channel screens in a real browser against a real server: channel
settings refused on the field and saved; a chat widget created with its look, its secret shown
once and its snippet read and copied (the widget's public API then shows that look); a stale
edit refused with a conflict; an email account whose password is set and never shown back; a
generic webhook account whose secret is shown once and rotated, the old secret then refused and
the new one accepted by the real webhook endpoint; a canned response and a wrap-up code added,
edited and retired. axe checks each screen; the screenshots for docs/admin-guide.md are taken
here."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx2 as httpx
import pytest
from desk_helpers import (
    LiveServer,
    axe_violations,
    browser,
    logged_in_page,
    needs_browser,
    ok,
    routing_setup,
    screenshot,
    serve,
)
from playwright.sync_api import Page, expect

from omnidesk.channels.messaging.signature import sign

pytestmark = needs_browser()
__all__ = ["browser"]  # the module's Chromium (a fixture of desk_helpers)
expect.set_options(timeout=15_000)
VIEWPORT = {"width": 1280, "height": 900}
ACCOUNTS = "/api/v1/channels/accounts"


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    for live in serve():
        admin = live.api("admin")
        routing_setup(admin, live.ids)
        sms = {"id": "sms", "name": "SMS", "channels": ["messaging"], "steps": [{"target": None}]}
        ok(admin.post("/api/v1/routing/queues", json=sms), 201)
        yield live


@pytest.fixture
def admin_page(server: LiveServer, browser) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    yield from logged_in_page(browser, server, "admin", "/admin", viewport=VIEWPORT, locale="en-GB")


def account_named(server: LiveServer, name: str) -> dict:  # type: ignore[type-arg]
    accounts = ok(server.api("admin").get(ACCOUNTS))
    return next(a for a in accounts if a["name"] == name)  # type: ignore[no-any-return]


def new_account(page: Page, kind: str, name: str, queue: str) -> None:
    page.get_by_role("button", name="New channel account").click()
    form = page.get_by_test_id("account-form")
    form.get_by_label("Kind").select_option(kind)
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_label("Queue").select_option(queue)


def take_secret(page: Page) -> str:
    """The secret shown once: focused, with its warning; put away after."""
    shown = page.get_by_test_id("secret-once")
    expect(shown).to_be_focused()
    expect(shown).to_contain_text("it is never shown again")
    secret = page.get_by_test_id("secret-once-value").input_value()
    assert len(secret) >= 32
    page.get_by_role("button", name="I have stored it").click()
    expect(shown).to_have_count(0)
    return secret


def test_settings_and_a_chat_widget_with_its_snippet(admin_page: Page, server: LiveServer) -> None:
    page = admin_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base)
    page.get_by_role("link", name="Channels").click()
    expect(page.get_by_role("heading", name="Channels", level=2)).to_be_visible()

    # Channel settings: a language detection does not know is refused on its field.
    settings = page.get_by_test_id("channel-settings")
    languages = settings.get_by_label("Languages detection chooses among")
    languages.fill("en, xx")
    settings.get_by_role("button", name="Save channel settings").click()
    expect(settings.locator('[data-field-error="languages"]')).to_be_visible()
    expect(languages).to_have_attribute("aria-invalid", "true")
    languages.fill("en, de, lv")
    settings.get_by_role("button", name="Save channel settings").click()
    expect(settings.get_by_role("status")).to_have_text("Saved.")
    assert ok(server.api("admin").get("/api/v1/channels/settings"))["languages"] == [
        "en",
        "de",
        "lv",
    ]

    # A widget: a colour that is not #rrggbb is refused on the field, then created.
    new_account(page, "chat", "Website", "support")
    form = page.get_by_test_id("account-form")
    form.get_by_label("Title").fill("Talk to us")
    form.get_by_label("Greeting").fill("Hello! Ask us anything.")
    colour = form.get_by_label("Colour as hex (#rrggbb)", exact=True)
    colour.fill("red")
    form.get_by_label("Languages the visitor may choose").fill("de, en")
    assert axe_violations(page) == []
    screenshot(page, "admin-channels-widget")
    form.get_by_role("button", name="Create account").click()
    expect(form.locator('[data-field-error="colour"]')).to_be_visible()
    colour.fill("#aa3300")
    form.get_by_role("button", name="Create account").click()
    secret = take_secret(page)
    widget = account_named(server, "Website")
    assert secret not in json.dumps(widget) and widget["secrets_set"] == ["secret"]

    # The snippet: the widget's script tag with its key, copied as shown.
    snippet = page.get_by_test_id("widget-snippet")
    expected = (
        f'<script src="{server.base}/widget.js" data-omnidesk-widget="{widget["id"]}" async>'
        "</script>"
    )
    expect(snippet).to_have_value(expected)
    page.get_by_test_id("widget-snippet-box").get_by_role("button", name="Copy Snippet").click()
    expect(page.get_by_test_id("widget-snippet-box").get_by_role("status")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == expected
    assert axe_violations(page) == []
    screenshot(page, "admin-channels")
    public = ok(httpx.get(f"{server.base}/api/v1/chat/widget/{widget['id']}"))
    assert (public["title"], public["colour"], public["languages"]) == (
        "Talk to us",
        "#aa3300",
        ["de", "en"],
    )

    # An edit on a version someone else has changed since is refused, not lost.
    page.locator('tr[data-account="Website"]').get_by_role("button", name="Edit Website").click()
    form.get_by_label("Title").fill("Chat now")
    other = {
        "kind": "chat",
        "name": "Website",
        "queue_id": "support",
        "widget": {**widget["config"], "title": "Their title"},
        "version": widget["version"],
    }
    ok(server.api("admin").put(f"{ACCOUNTS}/{widget['id']}", json=other))
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("Someone else changed this account")
    assert account_named(server, "Website")["config"]["title"] == "Their title"


def test_an_email_password_is_set_never_shown(admin_page: Page, server: LiveServer) -> None:
    page = admin_page
    page.get_by_role("link", name="Channels").click()
    new_account(page, "email", "Support mail", "support")
    form = page.get_by_test_id("account-form")
    form.get_by_label("Email address", exact=True).fill("help@example.com")
    form.get_by_label("SMTP host").fill("127.0.0.1")
    form.get_by_label("SMTP password").fill("relay-password-1")
    form.get_by_role("button", name="Create account").click()
    row = page.locator('tr[data-account="Support mail"]')
    expect(row).to_contain_text("help@example.com")
    expect(row).to_contain_text("SMTP password")
    assert "relay-password-1" not in json.dumps(ok(server.api("admin").get(ACCOUNTS)))
    row.get_by_role("button", name="Edit Support mail").click()
    password = form.get_by_label("SMTP password")
    expect(password).to_have_value("")
    expect(form).to_contain_text("Set: type a new one only to change it")
    # The API's refusal is shown on its field (a host name has no spaces).
    form.get_by_label("SMTP host").fill("mail relay")
    form.get_by_role("button", name="Save").click()
    expect(form.locator('[data-field-error="smtp_host"]')).to_be_visible()
    form.get_by_label("SMTP host").fill("127.0.0.1")
    form.get_by_label("SMTP port").fill("465")
    form.get_by_label("SMTP security").select_option("tls")
    form.get_by_role("button", name="Save").click()
    expect(form).to_have_count(0)
    mail = account_named(server, "Support mail")
    assert mail["config"]["smtp_port"] == 465 and mail["secrets_set"] == ["smtp_password"]


def deliver(server: LiveServer, account: dict, secret: str, message_id: str) -> int:  # type: ignore[type-arg]
    raw = json.dumps({"messages": [{"id": message_id, "from": "+37120000009", "text": "hi"}]})
    response = httpx.post(
        server.base + account["webhook_url"],
        content=raw.encode(),
        headers={
            "content-type": "application/json",
            "X-Omnidesk-Signature": sign(secret, raw.encode()),
        },
    )
    return response.status_code  # type: ignore[no-any-return]


def test_a_webhook_secret_shown_once_and_rotated(admin_page: Page, server: LiveServer) -> None:
    page = admin_page
    page.get_by_role("link", name="Channels").click()
    new_account(page, "webhook", "SMS gateway", "sms")
    form = page.get_by_test_id("account-form")
    form.get_by_label("Outbound URL").fill("http://127.0.0.1:9/outbound")
    form.get_by_role("button", name="Create account").click()
    first = take_secret(page)
    account = account_named(server, "SMS gateway")
    row = page.locator('tr[data-account="SMS gateway"]')
    expect(row).to_contain_text(server.base + account["webhook_url"])
    assert first not in json.dumps(ok(server.api("admin").get(ACCOUNTS)))
    assert deliver(server, account, first, "m-1") == 200

    row.get_by_role("button", name="Rotate the secret of SMS gateway").click()
    confirm = page.get_by_role("button", name="Yes, rotate the secret of SMS gateway")
    expect(confirm).to_be_focused()
    assert axe_violations(page) == []
    confirm.click()
    shown = page.get_by_test_id("secret-once")
    expect(shown).to_contain_text("New secret of SMS gateway")
    assert axe_violations(page) == []
    screenshot(page, "admin-channels-rotated")
    second = take_secret(page)
    assert second != first
    assert deliver(server, account, first, "m-2") == 401
    assert deliver(server, account, second, "m-3") == 200
    audit = ok(server.api("admin").get("/api/v1/audit-log", params={"target_id": account["id"]}))
    assert audit[0]["action"] == "channel.account.rotate_secret"
    assert second not in json.dumps(audit)


def test_canned_responses_and_wrap_up_codes(admin_page: Page, server: LiveServer) -> None:
    page = admin_page
    page.get_by_role("link", name="Canned responses").click()
    section = page.get_by_test_id("admin-canned")
    section.get_by_role("button", name="New canned response").click()
    section.get_by_label("Shortcut").fill("Thanks!")
    section.get_by_label("Title").fill("Thank you")
    section.get_by_label("Text").fill("Thank you for contacting us.")
    section.get_by_role("button", name="Save").click()
    expect(section.locator('[data-field-error="shortcut"]')).to_be_visible()
    section.get_by_label("Shortcut").fill("thanks")
    section.get_by_role("button", name="Save").click()
    row = section.locator('tr[data-canned="thanks"]')
    expect(row).to_contain_text("Thank you for contacting us.")
    row.get_by_role("button", name="Edit thanks").click()
    section.get_by_label("Text").fill("Thanks a lot for contacting us.")
    section.get_by_role("button", name="Save").click()
    expect(row).to_contain_text("Thanks a lot")
    assert axe_violations(page) == []
    screenshot(page, "admin-canned")
    (canned,) = ok(server.api("agent1").get("/api/v1/channels/canned-responses"))
    assert canned["text"] == "Thanks a lot for contacting us." and canned["version"] == 2

    page.get_by_role("link", name="Wrap-up codes").click()
    section = page.get_by_test_id("admin-wrapup")
    section.get_by_role("button", name="New wrap-up code").click()
    section.get_by_label("Code", exact=True).fill("sale")
    section.get_by_label("Label").fill("Sale made")
    section.get_by_label("The contact resolved the customer's matter").check()
    section.get_by_label("Category (optional)").fill("sales")
    section.get_by_role("button", name="Save").click()
    row = section.locator('tr[data-code="sale"]')
    expect(row).to_contain_text("Sale made")
    # The same code again is refused on its field.
    section.get_by_role("button", name="New wrap-up code").click()
    section.get_by_label("Code", exact=True).fill("sale")
    section.get_by_label("Label").fill("Again")
    section.get_by_role("button", name="Save").click()
    expect(section.locator('[data-field-error="code"]')).to_contain_text("exists")
    section.get_by_role("button", name="Cancel").click()
    row.get_by_role("button", name="Retire sale").click()
    expect(row).to_contain_text("Retired")
    assert axe_violations(page) == []
    screenshot(page, "admin-wrapup")
    (code,) = ok(server.api("admin").get("/api/v1/crm/dispositions"))
    assert (code["resolved"], code["category"], code["active"]) == (True, "sales", False)
