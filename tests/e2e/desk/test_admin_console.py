"""The admin console in a real browser against a real server: an admin creates a team and a
user in it and deactivates them; creates a queue whose rule has a syntax error, sees the engine's
parser place it at its line and column as they type (the queue cannot be saved), fixes it and
saves; gives an agent a skill and the queue's membership; and a second admin's stale edit of the
queue is refused with a conflict, not lost. An API token is created (its secret shown once),
used, revoked, and both found in the audit log screen. Non-admins are sent to the desk they may
use. axe checks each section; the screenshots for docs/admin-guide.md are taken here."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2 as httpx
import pytest
from desk_helpers import (
    LiveServer,
    axe_violations,
    browser,
    log_in,
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


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    yield from serve()


@pytest.fixture
def admin_page(server: LiveServer, browser) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    yield from logged_in_page(browser, server, "admin", "/admin", viewport=VIEWPORT, locale="en-GB")


def test_only_admins_get_the_admin_console(server: LiveServer, browser) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=VIEWPORT, locale="en-GB")
    page = context.new_page()
    log_in(page, server.base, "supervisor", server.passwords["supervisor"], "/admin")
    expect(page).to_have_url(f"{server.base}/supervisor")
    expect(page.get_by_role("link", name="Admin console")).to_have_count(0)
    context.close()


def test_users_and_teams(admin_page: Page, server: LiveServer) -> None:
    page = admin_page
    expect(page.get_by_role("heading", name="Admin console", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Admin console")).to_have_attribute("aria-current", "page")
    page.get_by_label("Team name").fill("Billing team")
    page.get_by_role("button", name="Create team").click()
    expect(page.get_by_test_id("admin-teams")).to_contain_text("Billing team")
    page.get_by_role("button", name="New user").click()
    page.get_by_label("Username").fill("berta")
    page.get_by_label("Name", exact=True).fill("Berta Billing")
    page.get_by_label("Role").select_option("agent")
    page.get_by_label("Billing team").check()
    assert axe_violations(page) == []
    screenshot(page, "admin-users")
    page.get_by_role("button", name="Save").click()
    row = page.locator('tr[data-user="berta"]')
    expect(row).to_contain_text("Berta Billing")
    expect(row).to_contain_text("Billing team")
    expect(row).to_contain_text("Active")
    # The role is changed in the same form; the API says so too.
    row.get_by_role("button", name="Edit Berta Billing").click()
    page.get_by_label("Role").select_option("supervisor")
    page.get_by_role("button", name="Save").click()
    expect(row).to_contain_text("Supervisor")
    row.get_by_role("button", name="Deactivate Berta Billing").click()
    expect(row).to_contain_text("Deactivated")
    users = ok(server.api("admin").get("/api/v1/users"))
    berta = next(u for u in users if u["username"] == "berta")
    assert (berta["role"], berta["active"], len(berta["teams"])) == ("supervisor", False, 1)
    # A refusal of the API is shown on the field it names.
    page.get_by_role("button", name="New user").click()
    page.get_by_label("Username").fill("berta")
    page.get_by_label("Name", exact=True).fill("Someone else")
    page.get_by_role("button", name="Save").click()
    username = page.get_by_label("Username")
    expect(username).to_have_attribute("aria-invalid", "true")
    expect(page.locator('[data-field-error="username"]')).to_contain_text("taken")


def test_queue_rule_agent_profile_and_a_stale_edit(admin_page: Page, server: LiveServer) -> None:
    page = admin_page
    admin = server.api("admin")
    page.get_by_role("link", name="Queues").click()
    page.get_by_role("button", name="New queue").click()
    page.get_by_label("Queue id").fill("billing")
    page.get_by_label("Name", exact=True).fill("Billing")
    page.get_by_label("voice").check()
    rule = page.get_by_label("Rule of step 1")
    rule.fill("skills.billing >= 2\nAND (contact.x ==")
    error = page.get_by_test_id("rule-error")
    expect(error).to_have_attribute("data-line", "2")
    expect(error).to_have_attribute("data-column", "18")
    expect(error).to_contain_text("Line 2, column 18")
    expect(rule).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("button", name="Save")).to_be_disabled()
    assert axe_violations(page) == []
    screenshot(page, "admin-rule-error")
    rule.fill("skills.billing >= 2")
    expect(error).to_have_count(0)
    page.get_by_label("Timeout of step 1 (seconds, empty on the last step)").fill("30")
    page.get_by_role("button", name="Add a step").click()
    # The API's refusal lands on the field it names (the id's pattern is the schema's).
    page.get_by_label("Queue id").fill("bill ing")
    page.get_by_role("button", name="Save").click()
    expect(page.locator('[data-field-error="id"]')).to_be_visible()
    expect(page.get_by_label("Queue id")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Queue id").fill("billing")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("queue-saved")).to_contain_text("billing")
    saved = ok(admin.get("/api/v1/routing/queues/billing"))
    first, second = saved["definition"]["steps"]
    assert (first["target"], first["timeout_seconds"]) == ("skills.billing >= 2", 30.0)
    assert second["target"] is None
    assert saved["definition"]["channels"] == ["chat", "voice"]
    assert saved["version"] == 1

    # The agent's skill with its level and the queue's membership.
    page.get_by_role("link", name="Agents' routing").click()
    page.get_by_label("User", exact=True).select_option(server.ids["agent1"])
    page.get_by_role("button", name="Add a skill").click()
    page.get_by_label("Skill", exact=True).last.fill("billing")
    page.get_by_label("Level (1").last.select_option("4")
    page.get_by_label("Billing", exact=True).check()
    page.get_by_label("Priority in Billing").fill("5")
    page.get_by_label("Contacts at once on chat").fill("2")
    assert axe_violations(page) == []
    screenshot(page, "admin-agent-profile")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("agent-saved")).to_be_visible()
    profile = ok(admin.get(f"/api/v1/routing/agents/{server.ids['agent1']}"))["definition"]
    assert profile["skills"]["billing"] == 4
    assert profile["queues"]["billing"] == 5
    assert profile["capacity"]["chat"] == 2

    # Two admins on version 1: the other one saves first; this save is refused, then reloaded.
    page.get_by_role("link", name="Queues").click()
    page.get_by_role("button", name="Edit Billing").click()
    other = {**saved["definition"], "priority": 7, "version": 1}
    assert ok(admin.put("/api/v1/routing/queues/billing", json=other))["version"] == 2
    page.get_by_label("Service-level target (%)").fill("90")
    # The queue's own Save: a voice queue's form is followed by its voice policy's.
    queue_form = page.get_by_test_id("queue-form")
    queue_form.get_by_role("button", name="Save").click()
    conflict = page.get_by_test_id("queue-conflict")
    expect(conflict).to_contain_text("Someone else changed this queue")
    assert axe_violations(page) == []
    conflict.scroll_into_view_if_needed()
    screenshot(page, "admin-queue-conflict")
    now = ok(admin.get("/api/v1/routing/queues/billing"))
    assert (now["version"], now["definition"]["priority"]) == (2, 7)
    assert now["definition"]["service_level_target"] == 0.8  # the refused save changed nothing
    conflict.get_by_role("button", name="Reload the queue as it is now").click()
    expect(page.get_by_role("heading", name="Edit queue billing (version 2)")).to_be_visible()
    expect(page.get_by_label("Priority", exact=True)).to_have_value("7")
    page.get_by_label("Service-level target (%)").fill("90")
    queue_form.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("queue-saved")).to_be_visible()
    now = ok(admin.get("/api/v1/routing/queues/billing"))
    assert (now["version"], now["definition"]["priority"]) == (3, 7)
    assert now["definition"]["service_level_target"] == 0.9
    screenshot(page, "admin-queues")


def test_api_token_lifecycle_and_the_audit_log(admin_page: Page, server: LiveServer) -> None:
    page = admin_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base)
    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", name="API tokens", level=2)).to_be_visible()
    page.get_by_role("button", name="New API token").click()
    page.get_by_label("Token name").fill("crm-sync")
    page.get_by_label("Acts as (user and role)").select_option(server.ids["agent1"])
    page.get_by_role("button", name="Create token").click()

    # The secret, once: with the warning, focused, copyable.
    shown = page.get_by_test_id("token-secret")
    expect(shown).to_contain_text("you will not see this again")
    expect(shown).to_be_focused()
    secret = page.get_by_test_id("token-secret-value").input_value()
    assert secret.startswith("odk_")
    page.get_by_role("button", name="Copy the token").click()
    expect(shown.get_by_role("status")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    row = page.locator('tr[data-token="crm-sync"]')
    expect(row).to_contain_text("Alex Agent (Agent)")
    last_used = row.locator("td").nth(3)
    expect(last_used).to_have_text("Never")  # not used yet
    expect(row.locator("td").nth(4)).to_have_text("No expiry")
    assert axe_violations(page) == []
    screenshot(page, "admin-api-tokens")
    page.get_by_role("button", name="I have stored it").focus()
    page.keyboard.press("Enter")
    expect(shown).to_have_count(0)
    expect(page.get_by_role("button", name="New API token")).to_be_focused()

    # It works: the API answers as the token's user.
    bearer = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=server.base, timeout=30) as integration:
        me = integration.get("/api/v1/auth/me", headers=bearer)
        assert me.status_code == 200, me.text
        assert me.json()["id"] == server.ids["agent1"]
        # Never again: not in the list (reloaded), not in the page.
        page.reload()
        page.get_by_role("link", name="API tokens").click()
        expect(row).to_contain_text("Active")
        expect(last_used).not_to_have_text("Never")  # last used: just now
        assert secret not in page.content()
        assert secret.split(".", 1)[1] not in server.api("admin").get("/api/v1/api-tokens").text

        # Revoked after a confirmation; the call is then refused.
        row.get_by_role("button", name="Revoke crm-sync").click()
        confirm = row.get_by_role("button", name="Yes, revoke crm-sync")
        expect(confirm).to_be_focused()
        assert axe_violations(page) == []
        row.get_by_role("button", name="Cancel").click()
        expect(row).to_contain_text("Active")  # cancelling changed nothing
        row.get_by_role("button", name="Revoke crm-sync").click()
        confirm.click()
        expect(row).to_contain_text("Revoked")
        expect(row.get_by_role("button", name="Revoke crm-sync")).to_have_count(0)
        assert integration.get("/api/v1/auth/me", headers=bearer).status_code == 401
    token_id = next(
        t["id"]
        for t in ok(server.api("admin").get("/api/v1/api-tokens"))
        if t["name"] == "crm-sync"
    )

    # The audit log, filtered by action: the creation and the revocation, by the admin.
    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Action", exact=True).fill("api_token.*")
    page.get_by_role("button", name="Apply filters").click()
    entries = page.get_by_test_id("audit-entries").locator("tbody tr")
    expect(entries).to_have_count(2)
    revoked, created = entries.nth(0), entries.nth(1)
    expect(revoked).to_have_attribute("data-action", "api_token.revoke")
    expect(created).to_have_attribute("data-action", "api_token.create")
    for entry in (revoked, created):
        expect(entry).to_contain_text("Ada Admin")
        expect(entry).to_contain_text(token_id)
    # Details: summarised (the user's id resolved to a name), the whole on expanding.
    created.locator("summary").click()
    expect(created.locator("pre")).to_contain_text('"name": "crm-sync"')
    expect(created.locator("summary")).to_contain_text("user_id: Alex Agent")
    assert axe_violations(page) == []
    screenshot(page, "admin-audit-log")
    page.get_by_label("Action", exact=True).fill("api_token.revoke")
    page.get_by_role("button", name="Apply filters").click()
    expect(entries).to_have_count(1)
    expect(entries.first).to_have_attribute("data-action", "api_token.revoke")
    # Who and a date range, bound to the API's filters: nobody else did it, and not tomorrow.
    page.get_by_label("Who").select_option(server.ids["supervisor"])
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_test_id("audit-entries")).to_contain_text("No entries match")
    page.get_by_label("Who").select_option(server.ids["admin"])
    page.get_by_role("button", name="Apply filters").click()
    expect(entries).to_have_count(1)
    page.get_by_label("From (date)").fill("2999-01-01")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_test_id("audit-entries")).to_contain_text("No entries match")
    # A range that ends before it starts: the API's refusal, on the field.
    page.get_by_label("To (date, inclusive)").fill("2998-12-01")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator('[data-field-error="from"]')).to_contain_text("before")
    expect(page.get_by_label("From (date)")).to_have_attribute("aria-invalid", "true")
    assert axe_violations(page) == []


def test_audit_log_loads_older_pages(admin_page: Page, server: LiveServer) -> None:
    page = admin_page
    admin = server.api("admin")
    for n in range(55):
        ok(admin.post("/api/v1/teams", json={"name": f"Paging {n:02d}"}), 201)
    wanted = [
        e["id"]
        for e in ok(admin.get("/api/v1/audit-log", params={"action": "team.create", "limit": 500}))
    ]
    assert len(wanted) > 55
    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Action", exact=True).fill("team.create")
    page.get_by_role("button", name="Apply filters").click()
    rows = page.get_by_test_id("audit-entries").locator("tbody tr")
    expect(rows).to_have_count(50)
    # Meanwhile a newer entry: the next page goes on from where this one ended.
    ok(admin.post("/api/v1/teams", json={"name": "Paging late"}), 201)
    page.get_by_role("button", name="Load older entries").focus()
    page.keyboard.press("Enter")
    expect(rows).to_have_count(len(wanted))
    shown = [int(r) for r in rows.evaluate_all("rs => rs.map(r => r.dataset.auditId)")]
    assert shown == wanted
    expect(page.get_by_role("button", name="Load older entries")).to_have_count(0)
