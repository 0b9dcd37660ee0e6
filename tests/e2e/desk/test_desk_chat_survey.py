"""A post-contact survey in the chat widget, in a real browser: the visitor's chat is accepted
and closed by the agent; the survey appears in the widget on the shop's page (another origin),
the visitor answers it there, and the answer is in the results; the widget then shows it as
answered."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from desk_helpers import (
    LiveServer,
    axe_violations,
    browser,
    needs_browser,
    ok,
    routing_setup,
    serve,
    site,
)
from playwright.sync_api import expect

pytestmark = needs_browser()
__all__ = ["browser", "site"]  # fixtures of desk_helpers: the Chromium, the tenant's site
expect.set_options(timeout=15_000)
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title>
<script src="{server}/widget.js" data-omnidesk-widget="{key}" async></script>
</head><body><h1>Our shop</h1></body></html>
"""
SURVEY = {
    "name": "After chat",
    "channels": ["chat"],
    "questions": [
        {"id": "overall", "kind": "csat", "text": "How satisfied are you?", "required": True},
        {"id": "comment", "kind": "text", "text": "Anything else?"},
    ],
}


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    yield from serve()


def test_the_visitor_answers_the_survey_in_the_widget(
    server: LiveServer, browser: Any, site: dict[str, Any]
) -> None:
    admin = server.api("admin")
    routing_setup(admin, server.ids)
    widget = {
        "title": "Chat with Shop",
        "prechat_fields": [{"key": "name", "label": "Name", "required": True}],
        "allowed_origins": [site["origin"]],
    }
    body = {"kind": "chat", "name": "Shop", "queue_id": "support",
            "secret": "widget-secret-0123456789abcdef", "widget": widget}  # fmt: skip
    account = ok(admin.post("/api/v1/channels/accounts", json=body), 201)
    ok(admin.post("/api/v1/surveys/definitions", json=SURVEY), 201)
    site["html"] = PAGE.format(server=server.base, key=account["id"])
    agent = server.api("agent1")
    state = {"state": "available"}
    ok(agent.post(f"/api/v1/routing/agents/{server.ids['agent1']}/state", json=state))

    context = browser.new_context(viewport={"width": 1100, "height": 800})
    shop = context.new_page()
    shop.goto(site["origin"] + "/")
    shop.get_by_role("button", name="Chat with Shop").click()
    panel = shop.get_by_role("dialog", name="Chat with Shop")
    panel.get_by_label("Name").fill("Jane Doe")
    panel.get_by_role("button", name="Start chat").click()
    transcript = panel.get_by_test_id("transcript").locator("li[data-message-id]")
    expect(transcript).to_have_count(1)

    # The agent takes the chat and closes it: the survey arrives in the widget.
    (conv,) = ok(admin.get("/api/v1/conversations"))
    contact = ok(admin.get(f"/api/v1/routing/contacts/{conv['contact_id']}"))
    ok(agent.post(f"/api/v1/routing/offers/{contact['offer_id'].replace('#', '%23')}/accept"))
    ok(agent.post(f"/api/v1/conversations/{conv['id']}/close"))
    form = panel.get_by_test_id("survey-form")
    expect(form).to_be_visible()
    form.get_by_role("group", name="How satisfied are you?").get_by_label("5").check()
    form.get_by_label("Anything else?").fill("Fast and friendly.")
    assert axe_violations(shop) == []
    form.get_by_role("button", name="Send").click()
    expect(panel.get_by_text("Thank you for your feedback!")).to_be_visible()

    results = ok(admin.get("/api/v1/surveys/results"))
    assert results["total"]["csat"] == {"answers": 1, "satisfied": 1, "score": 100.0}
    assert [t["text"] for t in results["texts"]] == ["Fast and friendly."]
    # Shown again (a reload): answered already, no second form.
    shop.reload()
    shop.get_by_role("button", name="Chat with Shop").click()
    panel = shop.get_by_role("dialog", name="Chat with Shop")
    expect(panel.get_by_text("This survey has been answered already. Thank you!")).to_be_visible()
    expect(panel.get_by_test_id("survey-form")).to_have_count(0)
    context.close()
