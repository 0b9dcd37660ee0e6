"""Team communication in a real browser: an agent raises a hand and writes to the supervisor; the
supervisor sees both live, answers (which lowers the hand) and broadcasts; the agent's unread
badges, the browser notification and a reconnect all agree with a fresh load. Then the supervisor
moves the agent between queues and skills from the console."""

from __future__ import annotations

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
VIEWPORT = {"width": 1280, "height": 900}
# Notifications as the page raises them (headless Chromium shows none): permission granted.
RECORD_NOTIFICATIONS = """
window.__notes = [];
window.Notification = class {
  static permission = "granted";
  static requestPermission() { return Promise.resolve("granted"); }
  constructor(title, options) { window.__notes.push({ title, body: options && options.body }); }
};
"""


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    yield from serve()


def messages(page: Page) -> Any:
    return page.get_by_test_id("messages")


def thread_button(page: Page, name: str) -> Any:
    return messages(page).locator(".im-threads button", has_text=name)


def test_agent_raises_a_hand_and_writes_the_supervisor_answers_live(
    server: LiveServer, browser: Any
) -> None:
    ids = server.ids
    sup_context = browser.new_context(viewport=VIEWPORT)
    sup = sup_context.new_page()
    log_in(sup, server.base, "supervisor", server.passwords["supervisor"], "/supervisor")
    expect(sup.get_by_test_id("hands")).to_contain_text("No raised hands")

    ag_context = browser.new_context(viewport=VIEWPORT)
    ag_context.add_init_script(RECORD_NOTIFICATIONS)
    ag = ag_context.new_page()
    log_in(ag, server.base, "agent1", server.passwords["agent1"], "/agent")

    # The help button: the supervisor's console shows the raised hand at once.
    ag.get_by_label("What do you need? (optional)").fill("Refund over my limit")
    ag.get_by_role("button", name="Raise hand").click()
    expect(ag.get_by_test_id("hand")).to_have_attribute("data-raised", "yes")
    hand = sup.get_by_test_id("hands").locator(f'li[data-user="{ids["agent1"]}"]')
    expect(hand).to_contain_text("Alex Agent")
    expect(hand).to_contain_text("Refund over my limit")

    # A message to the supervisor: an unread badge on the console.
    messages(ag).get_by_label("Write to").select_option(label="Sam Supervisor")
    messages(ag).get_by_role("button", name="Open").click()
    ag.get_by_placeholder("Message").fill("Can you take a look at order 4711?")
    messages(ag).get_by_role("button", name="Send").click()
    expect(messages(ag).locator(".im-messages li")).to_have_count(1)
    expect(thread_button(sup, "Alex Agent").get_by_test_id("thread-unread")).to_have_text("1")
    expect(sup.get_by_test_id("im-link")).to_contain_text("1")
    assert axe_violations(sup) == []
    screenshot(sup, "supervisor-hands")

    # Answer: the hand goes down and the conversation with the agent opens, read.
    hand.get_by_role("button", name="Answer").click()
    expect(ag.get_by_test_id("hand")).to_have_attribute("data-raised", "no")
    expect(sup.get_by_test_id("hands")).to_contain_text("No raised hands")
    conversation = sup.get_by_test_id("conversation")
    expect(conversation.locator(".im-messages li")).to_contain_text("order 4711")
    expect(thread_button(sup, "Alex Agent").get_by_test_id("thread-unread")).to_have_count(0)
    sup.get_by_placeholder("Message").fill("On it: refund approved.")
    conversation.get_by_role("button", name="Send").click()
    # The agent has the conversation open: the answer appears in it, read at once.
    expect(messages(ag).locator(".im-messages li").nth(1)).to_contain_text("refund approved")
    expect(thread_button(ag, "Sam Supervisor").get_by_test_id("thread-unread")).to_have_count(0)

    # A broadcast to everyone while the agent's socket is cut: after the reconnect the badge
    # and the thread are there, as a fresh load shows them.
    ag_context.set_offline(True)
    expect(ag.get_by_test_id("connection")).to_have_attribute("data-state", "lost")
    messages(sup).get_by_label("Write to").select_option(label="Everyone (broadcast)")
    messages(sup).get_by_role("button", name="Open").click()
    sup.get_by_placeholder("Message").fill("Team meeting at 15:00")
    sup.get_by_test_id("conversation").get_by_role("button", name="Send").click()
    expect(sup.get_by_test_id("conversation").locator(".im-messages li")).to_contain_text("15:00")
    ag_context.set_offline(False)
    wait_live(ag)
    everyone = thread_button(ag, "Everyone (broadcast)")
    expect(everyone.get_by_test_id("thread-unread")).to_have_text("1")
    expect(ag.get_by_test_id("im-unread")).to_have_text("1")
    fresh = ag_context.new_page()
    fresh.goto(f"{server.base}/agent")
    wait_live(fresh)
    expect(fresh.get_by_test_id("im-unread")).to_have_text("1")
    fresh.close()
    assert axe_violations(ag) == []
    screenshot(ag, "agent-messages")
    everyone.click()
    expect(ag.get_by_test_id("im-unread")).to_have_count(0)
    # The agent reads broadcasts but does not answer everyone.
    expect(ag.get_by_test_id("conversation").get_by_placeholder("Message")).to_have_count(0)

    # A direct message while the agent looks at another thread: a browser notification.
    ok(
        server.api("supervisor").post(
            "/api/v1/im/messages", json={"user_id": ids["agent1"], "body": "Break at 3?"}
        ),
        201,
    )
    expect(thread_button(ag, "Sam Supervisor").get_by_test_id("thread-unread")).to_have_text("1")
    notes = ag.evaluate("window.__notes")
    assert {"title": "Message from Sam Supervisor", "body": "Break at 3?"} in notes
    sup_context.close()
    ag_context.close()


def test_supervisor_moves_an_agent_between_queues_and_skills(server: LiveServer, browser: Any):
    admin, ids = server.api("admin"), server.ids
    routing_setup(admin, ids)
    sales = {"id": "sales", "name": "Sales", "channels": ["chat"], "steps": [{"target": None}]}
    ok(admin.post("/api/v1/routing/queues", json=sales), 201)
    context = browser.new_context(viewport=VIEWPORT)
    sup = context.new_page()
    log_in(sup, server.base, "supervisor", server.passwords["supervisor"], "/supervisor")
    row = sup.locator(f'[data-testid="agents"] tr[data-agent="{ids["agent1"]}"]')
    expect(row.get_by_test_id("agent-queues")).to_have_text("support")

    row.get_by_role("button", name="Queues and skills").click()
    editor = row.get_by_test_id("assignment")
    editor.get_by_role("checkbox", name="Support").uncheck()
    editor.get_by_role("checkbox", name="Sales").check()
    editor.get_by_role("button", name="Add a skill").click()
    editor.get_by_placeholder("Skill").fill("billing")
    editor.get_by_label("Level of billing").select_option("4")
    assert axe_violations(sup) == []
    screenshot(sup, "supervisor-queues-skills")
    editor.get_by_role("button", name="Save").click()
    # Live from routing's event: the row shows the new queue.
    expect(row.get_by_test_id("agent-queues")).to_have_text("sales")
    expect(editor).to_have_count(0)
    definition = ok(admin.get(f"/api/v1/routing/agents/{ids['agent1']}"))["definition"]
    assert (definition["queues"], definition["skills"]) == ({"sales": 1}, {"billing": 4})
    assert definition["capacity"] == {"chat": 2, "voice": 1}  # the rest of the profile stays
    # What the console offers only to supervisors, the API refuses to the agent.
    r = server.api("agent1").patch(
        f"/api/v1/routing/agents/{ids['agent1']}", json={"queues": {"support": 1}}
    )
    assert r.status_code == 403
    context.close()


def test_scripts_and_articles_beside_the_contact(server: LiveServer, browser: Any) -> None:
    admin, ids = server.api("admin"), server.ids
    repairs = {
        "id": "repairs",
        "name": "Repairs",
        "channels": ["chat"],
        "steps": [{"target": None}],
    }
    ok(admin.post("/api/v1/routing/queues", json=repairs), 201)
    profile = {"queues": {"repairs": 1}, "capacity": {"chat": 1}}
    ok(admin.put(f"/api/v1/routing/agents/{ids['agent2']}", json=profile))

    # The supervisor writes a script for the Repairs queue and an article for every queue.
    context = browser.new_context(viewport=VIEWPORT)
    sup = context.new_page()
    log_in(sup, server.base, "supervisor", server.passwords["supervisor"], "/supervisor")
    editor = sup.get_by_test_id("kb-editor")
    editor.get_by_role("button", name="New article or script").click()
    editor.get_by_label("Kind").select_option("script")
    editor.get_by_label("Title").fill("Router does not connect")
    editor.get_by_label("Steps (one per line)").fill(
        "Ask for the router model\nPower cycle: 30 s off"
    )
    editor.get_by_label("Queues (empty: every queue)").fill("repairs")
    editor.get_by_role("button", name="Save").click()
    expect(editor.locator("li")).to_have_count(1)
    editor.get_by_role("button", name="New article or script").click()
    editor.get_by_label("Title").fill("Refund rules")
    editor.get_by_label("Text").fill("Refunds over 100 EUR need a supervisor's approval.")
    editor.get_by_role("button", name="Save").click()
    expect(editor.locator("li")).to_have_count(2)
    assert axe_violations(sup) == []

    # agent2 takes a Repairs contact: the script is beside it, the article found by search.
    ag = context.new_page()
    context.clear_cookies()
    log_in(ag, server.base, "agent2", server.passwords["agent2"], "/agent")
    ag.get_by_role("button", name="Available", exact=True).click()
    expect(ag.get_by_test_id("my-state")).to_have_attribute("data-state", "available")
    body = {"queue_id": "repairs", "channel": "chat", "contact_id": "r1"}
    ok(admin.post("/api/v1/routing/contacts", json=body), 201)
    ag.get_by_test_id("offer").get_by_role("button", name="Accept").click()
    knowledge = ag.get_by_test_id("knowledge")
    script = knowledge.get_by_test_id("kb-script")
    expect(script).to_contain_text("Router does not connect")
    script.get_by_role("checkbox", name="Ask for the router model").check()
    expect(script.locator(".kb-done")).to_have_text("Ask for the router model")
    knowledge.get_by_placeholder("Search the knowledge").fill("refund approval")
    knowledge.get_by_role("button", name="Search").click()
    article = knowledge.get_by_test_id("kb-article")
    expect(article).to_have_count(1)
    article.locator("summary").click()
    expect(article).to_contain_text("100 EUR")
    assert axe_violations(ag) == []
    screenshot(ag, "agent-knowledge")
    context.close()
