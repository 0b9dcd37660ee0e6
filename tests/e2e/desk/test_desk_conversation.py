"""A messaging conversation in a real browser: a signed inbound message through a generic-webhook
account becomes an offer; the agent accepts and sees the message in the contact's tab, writes an
internal note, misses a message while the socket is cut and has it after the reconnect (as a
fresh load shows it), and replies with a canned response and a picture; the reply reaches the
provider signed and shows its tick. Outside WhatsApp's window only a template goes out."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from desk_helpers import (
    LiveServer,
    axe_violations,
    browser,
    log_in,
    needs_browser,
    ok,
    screenshot,
    serve,
    wait_live,
)
from playwright.sync_api import expect

from omnidesk.channels.messaging.signature import sign

# The channels' fake provider (the generic webhook's outbound end), shared with their tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "channels" / "messaging"))
from messaging_fakes import (
    APP_SECRET,
    PHONE_NUMBER_ID,
    TOKEN,
    VERIFY_TOKEN,
    FakeGateway,
    FakeWhatsApp,
    signed,
    text_message,
    whatsapp_delivery,
)
from messaging_fakes import serve as serve_fake

pytestmark = needs_browser()
__all__ = ["browser"]  # the module's Chromium (a fixture of desk_helpers)
expect.set_options(timeout=15_000)
SECRET = "gateway-shared-secret-0123456789"


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    yield from serve()


@pytest.fixture(scope="module")
def gateway() -> Iterator[FakeGateway]:
    fake = FakeGateway(SECRET)
    with serve_fake(fake.app()) as base:
        fake.base = base
        yield fake


def deliver(server: LiveServer, account: dict[str, Any], body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    headers = {"content-type": "application/json", "X-Omnidesk-Signature": sign(SECRET, raw)}
    with httpx.Client(base_url=server.base, timeout=30) as provider:
        r = provider.post(account["webhook_url"], content=raw, headers=headers)
    assert r.status_code == 200, r.text


def test_agent_reads_notes_and_replies_live(
    server: LiveServer, browser: Any, gateway: FakeGateway
) -> None:
    admin = server.api("admin")
    queue = {"id": "sms", "name": "SMS", "channels": ["messaging"], "steps": [{"target": None}]}
    ok(admin.post("/api/v1/routing/queues", json=queue), 201)
    profile = {"queues": {"sms": 1}, "capacity": {"messaging": 2}}
    ok(admin.put(f"/api/v1/routing/agents/{server.ids['agent1']}", json=profile))
    account = ok(
        admin.post(
            "/api/v1/channels/accounts",
            json={
                "kind": "webhook",
                "name": "SMS gateway",
                "provider": "sms-gw",
                "queue_id": "sms",
                "outbound_url": f"{gateway.base}/outbound",
                "secret": SECRET,
            },
        ),
        201,
    )

    canned = {
        "shortcut": "eta",
        "title": "On its way",
        "text": "It is on its way, arriving tomorrow.",
    }
    ok(server.api("supervisor").post("/api/v1/channels/canned-responses", json=canned), 201)

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    ag = context.new_page()
    log_in(ag, server.base, "agent1", server.passwords["agent1"], "/agent")
    ag.get_by_role("button", name="Available", exact=True).click()
    expect(ag.get_by_test_id("my-state")).to_have_attribute("data-state", "available")

    first = {"id": "sms-1", "from": "+37120000000", "name": "Jānis", "language": "en",
             "text": "My parcel 4711 has not arrived"}  # fmt: skip
    deliver(server, account, {"messages": [first]})
    ag.get_by_test_id("offer").get_by_role("button", name="Accept").click()
    view = ag.get_by_test_id("conversation-view")
    history = view.get_by_test_id("conv-message")
    expect(history).to_have_count(1)
    expect(history.first).to_have_attribute("data-direction", "inbound")
    expect(history.first).to_contain_text("parcel 4711")

    # An internal note: stored and shown apart from the customer's messages. The reply box is
    # complete first: the canned responses' picker appears when they are read, above the
    # buttons, and would move them under a click in flight.
    expect(view.get_by_label("Canned response")).to_be_visible()
    view.get_by_label("Reply or internal note").fill("Courier is DPD, check tracking")
    view.get_by_role("button", name="Save as internal note").click()
    expect(history.nth(1)).to_have_attribute("data-kind", "note")

    # The customer writes while the agent's socket is cut: there after the reconnect.
    context.set_offline(True)
    expect(ag.get_by_test_id("connection")).to_have_attribute("data-state", "lost")
    deliver(server, account, {"messages": [{**first, "id": "sms-2", "text": "Any news?"}]})
    context.set_offline(False)
    wait_live(ag)
    expect(history).to_have_count(3)
    expect(history.nth(2)).to_contain_text("Any news?")

    # The reply from a canned response: signed to the provider, its tick on the screen.
    view.get_by_label("Canned response").select_option(label="/eta · On its way")
    picture = {"name": "label.png", "mimeType": "image/png", "buffer": b"\x89PNG label"}
    view.get_by_label("Attach files").set_input_files(picture)
    expect(view.get_by_role("list", name="Attached files")).to_contain_text("label.png")
    expect(view.get_by_label("Reply or internal note")).to_have_value(canned["text"])
    view.get_by_role("button", name="Send reply").click()
    expect(history).to_have_count(4)
    expect(history.nth(3).get_by_test_id("conv-tick")).to_have_attribute("data-status", "sent")
    assert [(s["to"], s["text"]) for s in gateway.sent] == [
        ("+37120000000", "It is on its way, arriving tomorrow.")
    ]
    (attached,) = gateway.sent[0]["attachments"]
    assert attached["filename"] == "label.png"
    assert base64.b64decode(attached["data"]) == b"\x89PNG label"
    expect(history.nth(3)).to_contain_text("label.png")
    assert gateway.bad_signatures == 0
    assert axe_violations(ag) == []
    screenshot(ag, "agent-conversation")
    context.close()


def test_outside_the_whatsapp_window_only_a_template_goes_out(
    server: LiveServer, browser: Any
) -> None:
    admin = server.api("admin")
    queue = {"id": "wa", "name": "WhatsApp", "channels": ["messaging"], "steps": [{"target": None}]}
    ok(admin.post("/api/v1/routing/queues", json=queue), 201)
    profile = {"queues": {"wa": 1}, "capacity": {"messaging": 2}}
    ok(admin.put(f"/api/v1/routing/agents/{server.ids['agent2']}", json=profile))
    agent = server.api("agent2")
    ok(
        agent.post(
            f"/api/v1/routing/agents/{server.ids['agent2']}/state", json={"state": "available"}
        )
    )
    fake = FakeWhatsApp()
    with serve_fake(fake.app()) as base:
        account = ok(
            admin.post(
                "/api/v1/channels/accounts",
                json={
                    "kind": "whatsapp",
                    "name": "Support number",
                    "queue_id": "wa",
                    "phone_number_id": PHONE_NUMBER_ID,
                    "api_base_url": base,
                    "api_version": "v21.0",
                    "templates": [{"name": "follow_up", "language": "de", "parameters": 1}],
                    "app_secret": APP_SECRET,
                    "verify_token": VERIFY_TOKEN,
                    "access_token": TOKEN,
                },
            ),
            201,
        )
        raw, signature = signed(
            whatsapp_delivery(messages=[text_message("wamid.A", "4915112345678", "Wo ist sie?")])
        )
        with httpx.Client(base_url=server.base, timeout=30) as provider:
            r = provider.post(
                account["webhook_url"],
                content=raw,
                headers={"content-type": "application/json", "X-Hub-Signature-256": signature},
            )
        assert r.status_code == 200, r.text
        (conv,) = [
            c for c in ok(agent.get("/api/v1/conversations")) if c["account_id"] == account["id"]
        ]
        offer = ok(admin.get(f"/api/v1/routing/contacts/{conv['contact_id']}"))["offer_id"]
        ok(agent.post(f"/api/v1/routing/offers/{offer.replace('#', '%23')}/accept"))

        # The agent's screen a day and two hours later: the 24-hour window has closed.
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.clock.install(time=datetime.now(UTC) + timedelta(hours=26))
        page = context.new_page()
        log_in(page, server.base, "agent2", server.passwords["agent2"], "/agent")
        view = page.get_by_test_id("conversation-view")
        expect(view.get_by_test_id("conv-message")).to_have_count(1)
        window = view.get_by_test_id("conv-templates")
        expect(window).to_contain_text("only a template")
        expect(view.get_by_role("button", name="Send reply")).to_have_count(0)
        window.get_by_label("Template").select_option(label="follow_up (de)")
        window.get_by_label("Parameter 1").fill("4711")
        window.get_by_role("button", name="Send template").click()
        expect(view.get_by_test_id("conv-message")).to_have_count(2)
        assert axe_violations(page) == []
        (sent,) = fake.sent
        assert sent["type"] == "template" and sent["template"]["name"] == "follow_up"
        assert sent["template"]["components"][0]["parameters"] == [{"type": "text", "text": "4711"}]
        context.close()
