"""IVR flows in the admin console, in a real browser against a real server with its voice
server on: an admin builds a flow with a menu in the tree editor (a save the API refuses shows
the refusal on the node and field it names), assigns it to a number, and a real SIP call (sipp,
as in tests/e2e/voice) keys the new menu's digit and lands in the queue the admin chose — a
routing contact waiting there, and the ended call's IVR path through the menu to that queue. A
changed version is compared with the first in the flow's History and the first restored; a
stale save is refused as a conflict and re-applied on the latest version. axe checks the
screens; the screenshots for docs/admin-guide.md are taken here."""

from __future__ import annotations

import io
import subprocess
import sys
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "voice"))
from voice_call_helpers import DID, DOMAIN, SIPP, caller_scenario, needs

from omnidesk.bench.voice_testbed import LOOPBACK_TRUNK, free_port, routing_queue, voice_settings

pytestmark = [*needs_browser(), *needs("sipp", "sox")]
__all__ = ["browser"]  # the module's Chromium (a fixture of desk_helpers)
expect.set_options(timeout=15_000)
VIEWPORT = {"width": 1280, "height": 1000}
PROMPT = "Welcome. For sales press one."


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    live = next(gen := serve(**voice_settings()))
    admin = live.api("admin")
    # What this section does not set up: the tenant's SIP domain, a trunk the test's caller
    # may call from, and the routing queues a flow can send calls to.
    ok(admin.put("/api/v1/voice/settings", json={"sip_domain": DOMAIN}))
    ok(admin.post("/api/v1/voice/trunks", json=dict(LOOPBACK_TRUNK)), 201)
    for queue_id, name in (("support", "Support"), ("sales", "Sales")):
        queue = routing_queue(queue_id, name, offer_timeout_seconds=20, wrap_up_seconds=5)
        ok(admin.post("/api/v1/routing/queues", json=queue), 201)
    yield live
    for _ in gen:  # the server's own clean-up
        pass


@pytest.fixture
def admin_page(server: LiveServer, browser) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    for page in logged_in_page(browser, server, "admin", "/admin", viewport=VIEWPORT):
        page.get_by_role("link", name="IVR flows").click()
        yield page


def until(found: Callable[[], Any], what: str, within: float = 30.0) -> Any:
    """Poll `found` (the server's API, or sipp's exit) until it answers something truthy."""
    deadline = time.monotonic() + within
    while not (value := found()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return value


def the_flow(server: LiveServer, name: str) -> dict[str, Any]:
    admin = server.api("admin")
    (summary,) = [f for f in ok(admin.get("/api/v1/voice/flows")) if f["name"] == name]
    return ok(admin.get(f"/api/v1/voice/flows/{summary['id']}"))  # type: ignore[no-any-return]


def test_build_a_menu_assign_a_number_and_call_it(
    admin_page: Page, server: LiveServer, tmp_path: Path
) -> None:
    page = admin_page
    admin = server.api("admin")
    expect(page.get_by_role("heading", name="IVR flows", level=2)).to_be_visible()
    page.get_by_role("button", name="New IVR flow").click()
    editor = page.get_by_test_id("ivr-editor")
    editor.get_by_label("Flow name").fill("Main line")
    tree = page.get_by_test_id("ivr-tree")
    expect(tree.locator('li[data-node="menu"][data-kind="node"]')).to_be_visible()
    node = page.get_by_test_id("ivr-node")
    expect(node).to_have_attribute("data-node", "menu")
    node.get_by_label("Text to speak (1)").fill(PROMPT)
    # Key 1 leads to a new queue node, which the editor opens at once.
    node.get_by_label("New key").select_option("1")
    node.get_by_label("Add the key, leading to").select_option("+new:queue")
    expect(node).to_have_attribute("data-node", "queue")
    expect(tree.locator('li[data-node="queue"]')).to_contain_text("Key 1")
    # The menu's failure exit and the goodbye are one node: shown once, linked elsewhere.
    expect(tree.locator('li[data-node="goodbye"][data-kind="node"]')).to_have_count(1)

    # Saved without choosing the queue: the API's own check refuses it, on that node's field.
    page.get_by_role("button", name="Save").click()
    problems = page.get_by_test_id("ivr-problems")
    expect(problems).to_contain_text("Node queue, field queue")
    expect(tree.locator('li[data-node="queue"]')).to_contain_text("1 problem")
    queue_field = node.locator('select[data-field="queue"]')
    expect(queue_field).to_have_attribute("aria-invalid", "true")
    assert axe_violations(page) == []
    screenshot(page, "admin-ivr-error")
    queue_field.select_option("sales")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("ivr-saved")).to_contain_text("Main line saved as version 1")
    flow = the_flow(server, "Main line")
    menu = flow["definition"]["nodes"]["menu"]
    assert menu["options"] == {"1": "queue"} and menu["prompt"] == [{"say": PROMPT}]
    assert flow["definition"]["nodes"]["queue"] == {"type": "queue", "queue": "sales"}

    # The number: calls to it start on the new flow.
    numbers = page.get_by_test_id("admin-numbers")
    numbers.get_by_label("Number (international form, e.g. +493012345678)").fill(DID)
    numbers.locator("#ivr-number-flow").select_option(label="Main line")
    numbers.get_by_role("button", name="Add number").click()
    expect(numbers.locator(f'tr[data-number="{DID}"]')).to_be_visible()
    expect(page.locator('tr[data-flow="Main line"]')).to_contain_text(DID)
    assert [n["flow_id"] for n in ok(admin.get("/api/v1/voice/numbers"))] == [flow["id"]]
    page.locator('tr[data-flow="Main line"]').get_by_role("button", name="Edit Main line").click()
    expect(page.get_by_test_id("ivr-node")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "admin-ivr")
    page.get_by_role("button", name="Cancel").click()

    # A real call: sipp keys 1 during the menu and waits in the queue the admin chose.
    port = server.app.state.services.settings.voice_sip_port
    scenario = caller_scenario(tmp_path, digit="1", how="info", before_digit_ms=2500)
    cmd = [
        str(SIPP), f"127.0.0.1:{port}", "-sf", str(scenario), "-s", DID.lstrip("+"),
        "-m", "1", "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port()),
        "-nostdin", "-timeout", "90", "-timeout_error", "-trace_err",
        "-error_file", str(tmp_path / "sipp.err"),
    ]  # fmt: skip
    sipp = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        call = until(
            lambda: next(
                (c for c in ok(admin.get("/api/v1/voice/calls")) if c["state"] == "queued"), None
            ),
            "the call to wait in a queue",
        )
        assert call["queue_id"] == "sales", call
        contact = ok(admin.get(f"/api/v1/routing/contacts/{call['contact_id']}"))
        assert (contact["queue_id"], contact["state"]) == ("sales", "waiting"), contact
        ok(admin.post(f"/api/v1/voice/calls/{call['call_id']}/hangup"))
        out, _ = sipp.communicate(timeout=60)
        assert sipp.returncode == 0, out.decode(errors="replace")[-3000:]
    finally:
        if sipp.poll() is None:
            sipp.kill()
            sipp.wait()
    ended = until(
        lambda: (
            (r := admin.get(f"/api/v1/voice/call-history/{call['call_id']}")).status_code == 200
            and r.json()
        ),
        "the call in the history",
    )
    assert ended["ivr_path"][:2] == ["menu", "queue"], ended
    assert ended["queue_id"] == "sales", ended


def test_history_diff_restore_and_a_stale_save(admin_page: Page, server: LiveServer) -> None:
    page = admin_page
    admin = server.api("admin")
    first = the_flow(server, "Main line")
    row = page.locator('tr[data-flow="Main line"]')
    # Version 2: the menu says something else.
    row.get_by_role("button", name="Edit Main line").click()
    node = page.get_by_test_id("ivr-node")
    node.get_by_label("Text to speak (1)").fill("Hello. For sales press one.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("ivr-saved")).to_contain_text("saved as version 2")

    row.get_by_role("button", name="History of Main line").click()
    history = page.get_by_test_id("ivr-history")
    expect(history.locator('tr[data-version="2"]')).to_contain_text("(in use)")
    expect(history.locator('tr[data-version="1"]')).to_contain_text("Ada Admin")
    diff = history.get_by_test_id("history-diff")
    changed = diff.locator('tr[data-field="nodes.menu.prompt[0].say"]')
    expect(changed).to_have_attribute("data-change", "changed")
    expect(changed).to_contain_text(PROMPT)
    assert axe_violations(page) == []
    screenshot(page, "admin-ivr-history")
    history.get_by_role("button", name="Restore version 1").click()
    page.get_by_role("button", name="Yes, restore version 1").click()
    expect(page.get_by_test_id("ivr-saved")).to_contain_text("version 1 restored as version 3")
    restored = the_flow(server, "Main line")
    assert restored["version"] == 3
    assert restored["definition"] == first["definition"]
    history.get_by_role("button", name="Close the history").click()

    # Two admins: this one opens version 3; another saves version 4 meanwhile (a new key 2).
    row.get_by_role("button", name="Edit Main line").click()
    expect(page.get_by_test_id("ivr-editor")).to_contain_text("version 3")
    theirs = {**restored["definition"]}
    theirs["nodes"] = {**theirs["nodes"], "menu": {**theirs["nodes"]["menu"]}}
    theirs["nodes"]["menu"]["timeout_s"] = 7
    r = admin.put(
        f"/api/v1/voice/flows/{restored['id']}",
        json={"name": "Main line", "definition": theirs, "version": 3},
    )
    assert r.status_code == 200, r.text
    # This admin's change: the queue node's priority. Refused, not lost.
    page.get_by_test_id("ivr-tree").locator('li[data-node="queue"] > button').click()
    page.get_by_test_id("ivr-node").get_by_label("Priority").fill("5")
    page.get_by_role("button", name="Save").click()
    conflict = page.get_by_test_id("ivr-conflict")
    expect(conflict).to_contain_text("now version 4")
    assert the_flow(server, "Main line")["version"] == 4
    conflict.get_by_role("button", name="Reload it and re-apply my changes").click()
    expect(page.get_by_test_id("ivr-status")).to_contain_text("re-applied on version 4")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("ivr-saved")).to_contain_text("saved as version 5")
    nodes = the_flow(server, "Main line")["definition"]["nodes"]
    assert nodes["menu"]["timeout_s"] == 7  # theirs kept
    assert nodes["queue"]["priority"] == 5  # mine re-applied


def test_a_prompt_plays_an_uploaded_audio_file(admin_page: Page, server: LiveServer) -> None:
    page = admin_page
    page.locator('tr[data-flow="Main line"]').get_by_role("button", name="Edit Main line").click()
    editor = page.get_by_test_id("ivr-editor")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:  # a tenth of a second of silence, 8 kHz mono
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * 800)
    editor.get_by_label("WAV file").set_input_files(
        {"name": "Goodbye.wav", "mimeType": "audio/wav", "buffer": buffer.getvalue()}
    )
    expect(editor.get_by_label("Name (ends in .wav)")).to_have_value("goodbye.wav")
    editor.get_by_role("button", name="Upload").click()
    expect(editor).to_contain_text("goodbye.wav uploaded.")
    page.get_by_test_id("ivr-tree").locator('li[data-node="goodbye"] > button').click()
    node = page.get_by_test_id("ivr-node")
    node.get_by_role("button", name="Add an audio file").click()
    expect(node.get_by_label("Audio file (1)")).to_have_value("goodbye.wav")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("ivr-saved")).to_contain_text("saved as version 6")
    goodbye = the_flow(server, "Main line")["definition"]["nodes"]["goodbye"]
    assert goodbye == {"type": "hangup", "prompt": [{"wav": "goodbye.wav"}]}
    # The file is in use by the flow now: the server keeps it from being deleted.
    r = server.api("admin").delete("/api/v1/voice/audio/goodbye.wav")
    assert r.status_code == 409, r.text
