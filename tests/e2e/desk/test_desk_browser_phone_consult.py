"""The desk's consult and transfer buttons with browser phones on both sides (docs/voice.md,
"Browser phone"), in real headless Chromium: agent1 and agent2 each use their desk as their
phone (two pages, fake microphones); sipp calls, agent1 accepts, consults agent2 (picked in the
Transfer form's list of colleagues, shown Available) with "Consult first", agent2's desk rings
with the consult's offer and Accept answers it in the browser; agent1's "Complete transfer"
hands the caller over, and agent1's browser phone is let go. Leaving agent2's page mid-call
asks first (`beforeunload`). Who hears whom is proved by frequency in
tests/e2e/voice/test_voice_browser_transfers.py (aiortc browsers); this test is about the desk."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from desk_helpers import LiveServer, log_in_async, needs_browser, serve
from playwright.async_api import async_playwright, expect
from test_desk_browser_phone import launch_with_microphone, microphone_wav

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "voice"))
from voice_call_helpers import (
    PEERS,
    caller_scenario,
    configure,
    finish_sipp,
    kill,
    needs,
    start_sipp,
)
from voice_call_helpers import wait_until as _wait

from omnidesk.bench.voice_testbed import SipAgent, voice_settings

pytestmark = [*needs_browser(), *needs(*PEERS)]
expect.set_options(timeout=30_000)


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    for live in serve(**voice_settings()):
        # agent2 gets a routing profile in the support queue (its SIP login stays unused).
        agent2 = SipAgent(live.ids["agent2"], "agent2", "an0ther-pass")
        configure(live.api("admin"), live.ids, agents=(agent2,))
        yield live


async def _desk_with_phone(browser: Any, server: LiveServer, user: str) -> Any:
    desk = await (await browser.new_context()).new_page()
    await log_in_async(desk, server, user, "/agent")
    phone = desk.get_by_test_id("phone")
    await phone.get_by_role("button", name="Use this browser as my phone").click()
    await expect(phone).to_have_attribute("data-phone-status", "ready")
    await desk.get_by_role("button", name="Available", exact=True).click()
    await expect(desk.get_by_test_id("my-state")).to_have_attribute("data-state", "available")
    return desk


async def test_consult_and_complete_from_the_desk_with_browser_phones(
    server: LiveServer, tmp_path: Path
) -> None:
    ids = server.ids
    voice = server.app.state.voice
    port = server.app.state.services.settings.voice_sip_port
    sipp: Any = None
    async with async_playwright() as playwright:
        browser = await launch_with_microphone(playwright, microphone_wav(tmp_path / "mic.wav"))
        try:
            one = await _desk_with_phone(browser, server, "agent1")
            sipp = await start_sipp(
                tmp_path, caller_scenario(tmp_path, digit="1", how="pcap"), port
            )
            await one.get_by_test_id("offer").get_by_role("button", name="Accept").click()
            call = one.get_by_test_id("call")
            await expect(call).to_have_attribute("data-call-state", "connected")
            # Only now agent2: routing could have offered agent2 the call.
            two = await _desk_with_phone(browser, server, "agent2")

            # The form lists colleagues (GET /routing/colleagues, read again when the list is
            # opened: agent2 was offline when the tab appeared), with their state.
            target = one.locator("form.transfer select")
            await target.focus()
            await expect(target.locator(f"option[value='agent:{ids['agent2']}']")).to_have_text(
                re.compile(r"\(Available\)$")
            )
            await target.select_option(f"agent:{ids['agent2']}")
            await one.get_by_role("button", name="Consult first").click()
            await expect(call).to_have_attribute("data-call-state", "consulting")
            phone2 = two.get_by_test_id("phone")
            await expect(phone2).to_have_attribute("data-phone-status", "ringing")
            await two.get_by_test_id("offer").get_by_role("button", name="Accept").click()
            await expect(phone2).to_have_attribute("data-phone-status", "in_call")
            # agent2's consult tab: their part of agent1's call, with its own Hang up only.
            await expect(two.get_by_test_id("call")).to_have_attribute(
                "data-call-state", "consulted"
            )
            live = next(iter(voice.calls.values()))
            await _wait(lambda: live.consult is not None and live.consult.answered, what="B")

            await call.get_by_role("button", name="Complete transfer").click()
            # agent1's browser phone is let go; agent2 has the caller in its call tab.
            await expect(one.get_by_test_id("phone")).to_have_attribute(
                "data-phone-status", "ready"
            )
            await expect(two.get_by_test_id("call")).to_have_attribute(
                "data-call-state", "connected"
            )
            assert live.agent_id == ids["agent2"] and type(live.agent_sip).__name__ == "BrowserCall"

            # Leaving the page mid-call asks first; staying keeps the call.
            dialogs: list[str] = []

            async def stay(dialog: Any) -> None:
                dialogs.append(dialog.type)
                await dialog.dismiss()

            two.on("dialog", stay)
            await two.close(run_before_unload=True)
            await _wait(lambda: dialogs, 10, "the beforeunload prompt")
            assert dialogs == ["beforeunload"] and not two.is_closed()
            await expect(phone2).to_have_attribute("data-phone-status", "in_call")
            await two.get_by_test_id("call").get_by_role("button", name="Hang up").click()
            await expect(phone2).to_have_attribute("data-phone-status", "ready")
            await finish_sipp(sipp, tmp_path)
            sipp = None
        finally:
            await browser.close()
            await kill(sipp)
    await _wait(lambda: not voice.calls, what="the call to end")
