"""The web chat widget in a real browser: a shop's page on another origin embeds it with one
<script> tag (in <head>, before the body exists); the visitor fills the pre-chat form and
writes; the contact is offered to the agent in the desk, who accepts and sees the form's
answers in the transcript; the agent's reply (by API) appears in the widget; a reply sent while
the visitor's network is down arrives once after the reconnect; a reload shows the same
conversation without duplicates; the visitor has the transcript mailed (through the widget's
email account, to a real SMTP relay)."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
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
    site,
)
from playwright.sync_api import expect

# The email channel's outbound relay (aiosmtpd), shared with its tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "channels" / "email"))
from mail_servers import Relay

pytestmark = needs_browser()
__all__ = ["browser", "site"]  # fixtures of desk_helpers: the Chromium, the shop's site
expect.set_options(timeout=15_000)
SECRET = "widget-secret-0123456789abcdef"
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title>
<script src="{server}/widget.js" data-omnidesk-widget="{key}" async></script>
</head><body><h1>Our shop</h1><p>Products and prices.</p></body></html>
"""


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    yield from serve()


@pytest.fixture(scope="module")
def relay() -> Iterator[Relay]:
    """An SMTP relay on its own event loop in a thread: where the widget's email account sends."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    found = Relay()
    asyncio.run_coroutine_threadsafe(found.start(), loop).result(timeout=10)
    yield found
    asyncio.run_coroutine_threadsafe(found.stop(), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)


def test_visitor_chats_with_an_agent_and_a_reload_continues(
    server: LiveServer, browser: Any, site: dict[str, Any], relay: Relay
) -> None:
    admin = server.api("admin")
    routing_setup(admin, server.ids)
    mail_account = {"kind": "email", "name": "Shop mail", "queue_id": "support",
                    "address": "shop@example.com", "smtp_host": "127.0.0.1",
                    "smtp_port": relay.port, "smtp_security": "none"}  # fmt: skip
    mail_id = ok(admin.post("/api/v1/channels/accounts", json=mail_account), 201)["id"]
    widget = {
        "title": "Chat with Shop",
        "greeting": "Hi! Ask us anything.",
        "prechat_fields": [
            {"key": "name", "label": "Name", "required": True},
            {"key": "email", "label": "Email", "type": "email"},
        ],
        "allowed_origins": [site["origin"]],
        "email_account_id": mail_id,  # transcripts by email, and the offline form
        "languages": ["en", "de"],
    }
    body = {"kind": "chat", "name": "Shop", "queue_id": "support", "secret": SECRET,
            "widget": widget}  # fmt: skip
    account = ok(admin.post("/api/v1/channels/accounts", json=body), 201)
    site["html"] = PAGE.format(server=server.base, key=account["id"])

    # The agent in the desk, available.
    desk_context = browser.new_context(viewport={"width": 1280, "height": 900})
    ag = desk_context.new_page()
    log_in(ag, server.base, "agent1", server.passwords["agent1"], "/agent")
    ag.get_by_role("button", name="Available", exact=True).click()
    expect(ag.get_by_test_id("my-state")).to_have_attribute("data-state", "available")

    # The visitor on the shop's page: the widget's launcher, the pre-chat form, a message.
    shop_context = browser.new_context(viewport={"width": 1100, "height": 800})
    shop = shop_context.new_page()
    shop.goto(site["origin"] + "/")
    shop.get_by_role("button", name="Chat with Shop").click()
    panel = shop.get_by_role("dialog", name="Chat with Shop")
    expect(panel).to_contain_text("Hi! Ask us anything.")
    panel.get_by_label("Name").fill("Jane Doe")
    panel.get_by_label("Email").fill("jane@example.com")
    panel.get_by_role("button", name="Start chat").click()
    transcript = panel.get_by_test_id("transcript").locator("li[data-message-id]")
    expect(transcript).to_have_count(1)
    expect(transcript.first).to_contain_text("Name: Jane Doe")
    widget_root = shop.get_by_test_id("omnidesk-widget")
    expect(widget_root).to_have_attribute("data-live", "live")
    panel.get_by_role("textbox", name="Message").fill("Where is my order 4711?")
    panel.get_by_role("button", name="Send", exact=True).click()
    expect(transcript).to_have_count(2)
    expect(transcript.nth(1)).to_have_attribute("data-from", "visitor")
    expect(panel.locator("li[data-pending]")).to_have_count(0)

    # Offered to the agent in the desk; accepted; the pre-chat answers are in the transcript.
    ag.get_by_test_id("offer").get_by_role("button", name="Accept").click()
    view = ag.get_by_test_id("conversation-view")
    history = view.get_by_test_id("conv-message")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("Email: jane@example.com")
    expect(history.nth(1)).to_contain_text("order 4711")

    # The agent's reply by API appears in the widget, and is marked read once shown.
    agent = server.api("agent1")
    (conv,) = ok(agent.get("/api/v1/conversations"))
    base = f"/api/v1/conversations/{conv['id']}"
    reply = ok(agent.post(f"{base}/messages", json={"text": "It ships today, Jane."}), 201)
    expect(transcript).to_have_count(3)
    expect(transcript.nth(2)).to_have_attribute("data-from", "agent")
    expect(transcript.nth(2)).to_contain_text("It ships today, Jane.")
    assert axe_violations(shop) == []
    screenshot(shop, "chat-widget")

    # The visitor's network drops; a reply meanwhile arrives once after the reconnect.
    shop_context.set_offline(True)
    expect(widget_root).not_to_have_attribute("data-live", "live")
    ok(agent.post(f"{base}/messages", json={"text": "Tracking: DPD 0042"}), 201)
    shop_context.set_offline(False)
    expect(widget_root).to_have_attribute("data-live", "live", timeout=30_000)
    expect(transcript).to_have_count(4)
    expect(transcript.nth(3)).to_contain_text("Tracking: DPD 0042")

    # A reload: the same conversation, each message once, in order; the socket is live again.
    shop.reload()
    shop.get_by_role("button", name="Chat with Shop").click()
    panel = shop.get_by_role("dialog", name="Chat with Shop")
    transcript = panel.get_by_test_id("transcript").locator("li[data-message-id]")
    expect(transcript).to_have_count(4)
    expect(shop.get_by_test_id("omnidesk-widget")).to_have_attribute("data-live", "live")
    texts = transcript.all_inner_texts()
    assert "Name: Jane Doe" in texts[0] and "order 4711" in texts[1]
    assert "ships today" in texts[2] and "DPD 0042" in texts[3]
    ids = [transcript.nth(i).get_attribute("data-message-id") for i in range(4)]
    assert len(set(ids)) == 4
    # One more reply after the reload: shown once.
    ok(agent.post(f"{base}/messages", json={"text": "Anything else?"}), 201)
    expect(transcript).to_have_count(5)
    expect(transcript.nth(4)).to_contain_text("Anything else?")

    # The visitor has the transcript mailed: it leaves through the relay, addressed to them.
    panel.get_by_role("button", name="Email me the transcript").click()
    mailing = panel.get_by_role("form", name="Email the transcript")
    mailing.get_by_label("Your email").fill("jane@example.com")
    mailing.get_by_role("button", name="Send transcript").click()
    expect(panel.get_by_role("status")).to_contain_text("on its way")
    envelope, mail = relay.next()
    assert envelope.rcpt_tos == ["jane@example.com"]
    assert mail["Auto-Submitted"] == "auto-generated"
    body = mail.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    for said in ("Where is my order 4711?", "It ships today, Jane.", "Anything else?"):
        assert said in text, text

    # The replies the widget showed were read by the visitor.
    statuses = {m["id"]: m["status"] for m in ok(agent.get(f"{base}/messages"))}
    assert statuses[reply["id"]] == "read"
    shop_context.close()

    # A visitor whose browser prefers German gets the widget in German (the shop offers it).
    german = browser.new_context(viewport={"width": 1100, "height": 800}, locale="de-DE")
    page = german.new_page()
    page.goto(site["origin"] + "/")
    page.get_by_role("button", name="Chat with Shop").click()
    panel = page.get_by_role("dialog", name="Chat with Shop")
    expect(panel).to_have_attribute("lang", "de")
    expect(panel.get_by_role("button", name="Chat starten")).to_be_visible()
    expect(panel.get_by_role("button", name="Chat schließen")).to_be_visible()
    german.close()
    desk_context.close()
