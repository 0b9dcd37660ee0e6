"""A supervisor monitors a live messaging conversation in a real browser: it is listed in the
console's live conversations, the monitor view shows the customer's messages as they arrive,
the agent's desk says the supervisor is viewing, and a whisper appears on the agent's desk,
marked as a whisper, while the provider receives nothing."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
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
)
from playwright.sync_api import expect

from omnidesk.channels.messaging.signature import sign

# The channels' fake provider (the generic webhook's outbound end), shared with their tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "channels" / "messaging"))
from messaging_fakes import FakeGateway
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


def deliver(server: LiveServer, account: dict[str, Any], message: dict[str, Any]) -> None:
    raw = json.dumps({"messages": [message]}).encode()
    headers = {"content-type": "application/json", "X-Omnidesk-Signature": sign(SECRET, raw)}
    with httpx.Client(base_url=server.base, timeout=30) as provider:
        r = provider.post(account["webhook_url"], content=raw, headers=headers)
    assert r.status_code == 200, r.text


def test_supervisor_monitors_and_whispers(
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

    # The agent works the customer's conversation.
    agent_context = browser.new_context(viewport={"width": 1280, "height": 900})
    ag = agent_context.new_page()
    log_in(ag, server.base, "agent1", server.passwords["agent1"], "/agent")
    ag.get_by_role("button", name="Available", exact=True).click()
    expect(ag.get_by_test_id("my-state")).to_have_attribute("data-state", "available")
    first = {"id": "sms-1", "from": "+37120000000", "name": "Jānis", "language": "en",
             "text": "My parcel 4711 has not arrived"}  # fmt: skip
    deliver(server, account, first)
    # The first read of the history fails (a busy server): the desk reads it again by itself.
    refused: list[str] = []

    def busy_once(route: Any) -> None:
        if refused:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.fulfill(status=503, body="busy")

    ag.route("**/api/v1/conversations/*/messages", busy_once)
    ag.get_by_test_id("offer").get_by_role("button", name="Accept").click()
    agent_view = ag.get_by_test_id("conversation-view")
    agent_history = agent_view.get_by_test_id("conv-message")
    try:
        expect(agent_history).to_have_count(1)
    except AssertionError as exc:  # say what the agent saw instead
        raise AssertionError(f"{exc}\nthe agent saw: {ag.locator('main').inner_text()!r}") from None
    assert len(refused) == 1
    expect(agent_view.get_by_role("alert")).to_have_count(0)
    ag.unroute("**/api/v1/conversations/*/messages")
    expect(ag.get_by_test_id("conv-viewers")).to_have_count(0)

    # The supervisor finds it among the live conversations and monitors it.
    sup_context = browser.new_context(viewport={"width": 1280, "height": 1000})
    sv = sup_context.new_page()
    log_in(sv, server.base, "supervisor", server.passwords["supervisor"], "/supervisor")
    row = sv.get_by_test_id("live-conversation").filter(has_text="Jānis")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Alex Agent")  # the agent working it, from routing's live view
    row.get_by_role("button", name="Monitor").click()
    monitor = sv.get_by_test_id("monitor-view")
    history = monitor.get_by_test_id("conv-message")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text("parcel 4711")
    # The agent sees who is viewing.
    expect(ag.get_by_test_id("conv-viewers")).to_contain_text("Sam Supervisor (supervisor)")

    # The customer writes again: the monitor shows it as it arrives (pushed, not polled).
    deliver(server, account, {**first, "id": "sms-2", "text": "Any news?"})
    expect(history).to_have_count(2)
    expect(history.nth(1)).to_contain_text("Any news?")

    # A whisper: on the agent's desk, marked as one; the provider never receives it.
    monitor.get_by_label("Whisper to the agent (the customer never sees it)").fill(
        "Offer the 10 % voucher"
    )
    monitor.get_by_role("button", name="Whisper", exact=True).click()
    expect(history).to_have_count(3)
    whisper = agent_history.nth(2)
    expect(whisper).to_have_attribute("data-whisper", "true")
    expect(whisper).to_contain_text("Whisper from your supervisor")
    expect(whisper).to_contain_text("Offer the 10 % voucher")
    assert gateway.sent == []
    assert axe_violations(sv) == []
    screenshot(sv, "supervisor-monitor")
    screenshot(ag, "agent-whisper")

    # Stopping the monitor: the agent's "viewing" line goes away.
    monitor.get_by_role("button", name="Stop monitoring").click()
    expect(ag.get_by_test_id("conv-viewers")).to_have_count(0)
    assert axe_violations(ag) == []

    # Taking it over (the supervisor has an agent profile and is available): the agent's
    # contact goes to wrap-up, and the supervisor replies from the monitor view.
    supervisor = server.ids["supervisor"]
    ok(admin.put(f"/api/v1/routing/agents/{supervisor}", json={"capacity": {"messaging": 1}}))
    available = {"state": "available"}
    ok(server.api("supervisor").post(f"/api/v1/routing/agents/{supervisor}/state", json=available))
    row.get_by_role("button", name="Monitor").click()
    monitor.get_by_role("button", name="Take over").click()
    expect(monitor).to_contain_text("You have taken over this conversation")
    expect(ag.get_by_test_id("contact-tab")).to_have_attribute("data-state", "wrap_up")
    expect(agent_history.last).to_contain_text("Taken over by Sam Supervisor")
    monitor.get_by_label("Reply or internal note").fill("Sam here: a voucher is on its way.")
    monitor.get_by_role("button", name="Send reply").click()
    expect(history.last.get_by_test_id("conv-tick")).to_have_attribute("data-status", "sent")
    assert [s["text"] for s in gateway.sent] == ["Sam here: a voucher is on its way."]
    agent_context.close()
    sup_context.close()
