"""The admin console's queue settings, rule editor help and voice numbers in a real browser
against a real server: an admin gives a queue opening hours, holidays (listed and by country)
and overflow when closed, too long or full; an invalid value is reported on its field, by the
schema (a time of 25:00) and by the engine (a country without a holiday calendar); the rule
editor completes the tenant's skill names from the keyboard and inserts an example of
docs/routing-rules.md; a deleted queue is restored from its last version; a SIP trunk (its
password write-only) and a number on an IVR flow are created, edited and deleted. axe checks
each screen; the screenshots for docs/admin-guide.md are taken here."""

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
VIEWPORT = {"width": 1280, "height": 1000}


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    yield from serve()


@pytest.fixture
def admin_page(server: LiveServer, browser) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    yield from logged_in_page(browser, server, "admin", "/admin", viewport=VIEWPORT, locale="en-GB")


def test_hours_holidays_overflow_and_the_rule_editors_help(
    admin_page: Page, server: LiveServer
) -> None:
    page = admin_page
    admin = server.api("admin")
    ok(admin.post("/api/v1/routing/queues", json={"id": "spill", "channels": ["voice"]}), 201)
    profile = {"skills": {"billing": 3, "lang.de": 4}, "capacity": {"voice": 1}}
    ok(admin.put(f"/api/v1/routing/agents/{server.ids['agent1']}", json=profile))

    page.get_by_role("link", name="Queues").click()
    page.get_by_role("button", name="New queue").click()
    page.get_by_label("Queue id").fill("support")
    page.get_by_label("voice").check()
    page.get_by_label("The queue has opening hours").check()
    page.get_by_label("Time zone").fill("Europe/Berlin")
    page.get_by_label("Monday").fill("08:00-18:00")
    page.get_by_label("Tuesday").fill("08:00-25:00")
    page.get_by_label("Closed on these dates").fill("2026-12-24, 2026-12-31")
    page.get_by_label("Public holidays of country").fill("XX")
    closed = page.locator('fieldset[data-action="on_closed"]')
    closed.get_by_label("Then").select_option("voicemail")
    closed.get_by_label("Message").fill("We are closed, please leave a message.")
    page.get_by_label("At closing time, contacts already waiting leave too").check()
    page.get_by_label("Maximum wait (seconds").fill("300")
    too_long = page.locator('fieldset[data-action="on_max_wait"]')
    too_long.get_by_label("Then").select_option("queue")
    too_long.get_by_label("Move to another queue").select_option("spill")
    page.get_by_label("Maximum contacts waiting").fill("10")
    page.locator('fieldset[data-action="on_full"]').get_by_label("Then").select_option("callback")
    page.get_by_label("Wrap-up extension").fill("60")
    page.get_by_label("A disposition is required to end wrap-up").check()

    # The schema refuses 25:00: on Tuesday's field, nowhere else.
    page.get_by_role("button", name="Save").click()
    tuesday = page.get_by_label("Tuesday")
    expect(tuesday).to_have_attribute("aria-invalid", "true")
    expect(page.locator('[data-field-error="hours.weekly.tue"]')).to_be_visible()
    expect(page.get_by_label("Monday")).to_have_attribute("aria-invalid", "false")
    assert axe_violations(page) == []
    # The engine refuses a country it has no holiday calendar for: on the country's field.
    tuesday.fill("08:00-18:00")
    page.get_by_role("button", name="Save").click()
    country = page.get_by_label("Public holidays of country")
    expect(country).to_have_attribute("aria-invalid", "true")
    expect(page.locator('[data-field-error="hours.holiday_country"]')).to_contain_text("XX")
    expect(tuesday).to_have_attribute("aria-invalid", "false")
    country.fill("DE")  # changed: no longer marked with the old value's refusal
    expect(country).to_have_attribute("aria-invalid", "false")
    page.get_by_label("Region (optional").fill("BY")

    # Completion of the tenant's skill names, from the keyboard.
    rule = page.get_by_label("Rule of step 1")
    rule.press_sequentially("skills.la")
    options = page.get_by_role("listbox", name="Suggestions").get_by_role("option")
    expect(options).to_have_text(["skills.lang.de"])
    active = rule.get_attribute("aria-activedescendant")
    assert active and page.locator(f"#{active}").get_attribute("aria-selected") == "true"
    rule.press("Enter")
    expect(rule).to_have_value("skills.lang.de")
    expect(page.get_by_role("listbox", name="Suggestions")).to_have_count(0)
    rule.press_sequentially(" >= 2 AND contact.cust")
    expect(options.first).to_be_visible()
    rule.press("ArrowDown")
    second = rule.get_attribute("aria-activedescendant")
    assert second and second != active
    chosen = page.locator(f"#{second}").inner_text()
    rule.press("Tab")
    expect(rule).to_have_value(f"skills.lang.de >= 2 AND {chosen}")
    rule.fill("skills.lang.de >= 2")
    page.get_by_label("Timeout of step 1").fill("30")

    # An example of docs/routing-rules.md, one click away.
    page.get_by_role("button", name="Add a step").click()
    step = page.locator('[data-step="1"]')
    step.get_by_role("button", name="Examples").click()
    expect(step.get_by_role("button", name="Examples")).to_have_attribute("aria-expanded", "true")
    assert axe_violations(page) == []
    step.get_by_role("button", name="Use: VIP customers to senior agents").click()
    expect(page.get_by_label("Rule of step 2")).to_have_value(
        "contact.attributes.vip == true AND agent.seniority >= 3"
    )
    expect(page.get_by_label("Rule of step 2")).to_be_focused()
    page.get_by_test_id("queue-hours").scroll_into_view_if_needed()
    screenshot(page, "admin-queue-settings")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("queue-saved")).to_contain_text("support")

    saved = ok(admin.get("/api/v1/routing/queues/support"))["definition"]
    assert saved["hours"] == {
        "timezone": "Europe/Berlin",
        "weekly": {"mon": [["08:00", "18:00"]], "tue": [["08:00", "18:00"]]},
        "holidays": ["2026-12-24", "2026-12-31"],
        "holiday_country": "DE",
        "holiday_subdivision": "BY",
    }
    assert saved["on_closed"]["kind"] == "voicemail"
    assert saved["overflow_waiting_on_close"] is True
    assert (saved["max_wait_seconds"], saved["on_max_wait"]["queue_id"]) == (300, "spill")
    assert (saved["max_size"], saved["on_full"]["kind"]) == (10, "callback")
    assert (saved["wrap_up_extension_seconds"], saved["disposition_required"]) == (60, True)
    assert [s["target"] for s in saved["steps"]] == [
        "skills.lang.de >= 2",
        "contact.attributes.vip == true AND agent.seniority >= 3",
    ]

    # The form reads it all back for the next edit.
    page.get_by_role("button", name="Edit support").click()
    expect(page.get_by_label("Monday")).to_have_value("08:00-18:00")
    expect(page.get_by_label("Wednesday")).to_have_value("")
    expect(page.get_by_label("Public holidays of country")).to_have_value("DE")
    expect(too_long.get_by_label("Move to another queue")).to_have_value("spill")
    page.get_by_role("button", name="Cancel").click()


def test_a_deleted_queue_is_restored_from_its_last_version(
    admin_page: Page, server: LiveServer
) -> None:
    page = admin_page
    admin = server.api("admin")
    ok(admin.post("/api/v1/routing/queues", json={"id": "old", "channels": ["chat"]}), 201)
    body = {"id": "old", "channels": ["chat"], "name": "Old line", "priority": 4, "version": 1}
    ok(admin.put("/api/v1/routing/queues/old", json=body))
    assert admin.delete("/api/v1/routing/queues/old").status_code == 204
    page.get_by_role("link", name="Queues").click()
    deleted = page.get_by_test_id("deleted-queues")
    expect(deleted.locator('tr[data-deleted-queue="old"]')).to_contain_text("Old line")
    assert axe_violations(page) == []
    deleted.get_by_role("button", name="Restore Old line (version 2)").click()
    expect(page.get_by_test_id("queue-restored")).to_contain_text("old restored as version 3")
    expect(page.locator('tr[data-queue="old"]')).to_contain_text("Old line")
    expect(page.get_by_test_id("deleted-queues")).to_have_count(0)
    now = ok(admin.get("/api/v1/routing/queues/old"))
    assert (now["version"], now["definition"]["priority"]) == (3, 4)


FLOW = {
    "name": "Main line",
    "definition": {
        "id": "main-line",
        "start": "welcome",
        "nodes": {
            "welcome": {"type": "play", "prompt": "Thank you for calling.", "next": "line"},
            "line": {"type": "queue", "queue": "spill"},
        },
    },
}


def test_trunks_and_numbers(admin_page: Page, server: LiveServer) -> None:
    page = admin_page
    admin = server.api("admin")
    if not ok(admin.get("/api/v1/voice/settings")).get("sip_domain"):
        ok(admin.put("/api/v1/voice/settings", json={"sip_domain": "acme.voice.example"}))
    if not admin.get("/api/v1/routing/queues/spill").is_success:
        ok(admin.post("/api/v1/routing/queues", json={"id": "spill", "channels": ["voice"]}), 201)
    flow = ok(admin.post("/api/v1/voice/flows", json=FLOW), 201)

    page.get_by_role("link", name="Numbers and trunks").click()
    expect(page.get_by_role("heading", name="Numbers and trunks", level=2)).to_be_visible()
    page.get_by_role("button", name="New trunk").click()
    form = page.get_by_test_id("trunk-form")
    form.get_by_label("Name", exact=True).fill("Carrier")
    allowed = form.get_by_label("Addresses calls may come from")
    allowed.fill("203.0.113.1/28")  # host bits set: not a network
    form.get_by_label("Inbound user name").fill("carrier-in")
    form.get_by_label("Inbound password", exact=True).fill("secret-pass-1")
    form.get_by_label("Caller ID").fill("+4930901820")
    form.get_by_label("Calls out go through this trunk").check()
    form.get_by_label("Carrier host").fill("sip.example.com")
    form.get_by_role("button", name="Save").click()
    expect(allowed).to_have_attribute("aria-invalid", "true")
    expect(form.locator('[data-field-error="allowed_addresses"]')).to_contain_text("host bits")
    allowed.fill("203.0.113.0/28")
    form.get_by_role("button", name="Save").click()
    row = page.locator('tr[data-trunk="Carrier"]')
    expect(row).to_contain_text("carrier-in (password set)")
    expect(row).to_contain_text("udp:sip.example.com:5060")
    trunk = next(t for t in ok(admin.get("/api/v1/voice/trunks")) if t["name"] == "Carrier")
    assert "secret-pass-1" not in str(trunk) and trunk["inbound"]["password_set"] is True

    # An edit that leaves the password empty keeps it (it is never shown back).
    row.get_by_role("button", name="Edit Carrier").click()
    expect(form.get_by_label("Inbound password", exact=True)).to_have_value("")
    form.get_by_label("Caller ID").fill("+4930901821")
    form.get_by_role("button", name="Save").click()
    expect(row).to_contain_text("+4930901821")
    trunk = ok(admin.get(f"/api/v1/voice/trunks/{trunk['id']}"))
    assert trunk["inbound"]["password_set"] is True and trunk["caller_id"] == "+4930901821"

    page.get_by_role("button", name="New number").click()
    numbers = page.get_by_test_id("number-form")
    number = numbers.get_by_label("Number (E.164")
    number.fill("+49123")
    numbers.get_by_label("IVR flow its calls go to").select_option(flow["id"])
    numbers.get_by_label("Trunk", exact=True).select_option(label="Carrier")
    numbers.get_by_role("button", name="Save").click()
    expect(number).to_have_attribute("aria-invalid", "true")
    expect(numbers.locator('[data-field-error="number"]')).to_be_visible()
    number.fill("+4930901820")
    assert axe_violations(page) == []
    numbers.get_by_role("button", name="Save").click()
    line = page.locator('tr[data-number="+4930901820"]')
    expect(line).to_contain_text("Main line")
    expect(line).to_contain_text("Carrier")
    screenshot(page, "admin-numbers")
    saved = next(n for n in ok(admin.get("/api/v1/voice/numbers")) if n["number"] == "+4930901820")
    assert (saved["flow_id"], saved["trunk_id"]) == (flow["id"], trunk["id"])
    assert axe_violations(page) == []

    line.get_by_role("button", name="Delete +4930901820").click()
    expect(line).to_have_count(0)
    expect(page.get_by_test_id("voice-status")).to_contain_text("+4930901820 deleted")
