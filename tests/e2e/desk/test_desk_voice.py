"""A call on the agent desktop, with real peers as in tests/e2e/voice: sipp calls the number,
agent1's baresip softphone answers the offer routing makes, and the desk shows the call's
controls; hold and resume go through voice's call-control API and come back as the call's
events. The supervisor's console lists the live call and listens in through their own softphone
(voice's monitoring); the desk then hangs up, and the agent is in wrap-up."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from desk_helpers import LiveServer, launch, log_in_async, needs_browser, screenshot_async, serve
from playwright.async_api import async_playwright, expect

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "voice"))
from voice_call_helpers import (
    DOMAIN,
    PEERS,
    agent1_phone,
    caller_scenario,
    configure,
    finish_sipp,
    kill,
    needs,
    registered,
    start_sipp,
)

from omnidesk.bench.baresip import BaresipAgent
from omnidesk.bench.voice_testbed import SipAgent, voice_settings

pytestmark = [*needs_browser(), *needs(*PEERS)]
expect.set_options(timeout=30_000)
SUPERVISOR_SIP = ("supervisor", "superv1sor-pass")


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    yield from serve(**voice_settings())


async def test_a_call_shows_its_controls_and_hold_works(server: LiveServer, tmp_path: Path):
    ids = server.ids
    listener = SipAgent(ids["supervisor"], *SUPERVISOR_SIP, queue_weight=None)
    configure(server.api("admin"), ids, agents=(listener,))
    voice = server.app.state.voice
    port = server.app.state.services.settings.voice_sip_port
    phone = agent1_phone(tmp_path, port)
    headset = BaresipAgent(tmp_path / "supervisor", *SUPERVISOR_SIP, DOMAIN, port, tone_hz=1500)
    sipp: Any = None
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            await phone.start()
            await headset.start()
            await registered(voice, "agent1")
            await registered(voice, "supervisor")
            console = await (await browser.new_context()).new_page()
            await log_in_async(console, server, "supervisor", "/supervisor")
            desk = await (await browser.new_context()).new_page()
            await log_in_async(desk, server, "agent1", "/agent")
            await desk.get_by_role("button", name="Available", exact=True).click()
            await expect(desk.get_by_test_id("my-state")).to_have_attribute(
                "data-state", "available"
            )

            scenario = caller_scenario(tmp_path, digit="1", how="pcap")
            sipp = await start_sipp(tmp_path, scenario, port)
            await phone.wait_event("CALL_ESTABLISHED", within=40)  # answering accepted the offer
            call = desk.get_by_test_id("call")
            await expect(call).to_have_attribute("data-call-state", "connected")
            await expect(desk.get_by_test_id("contact-tab")).to_contain_text("Call")
            await screenshot_async(desk, "agent-call")

            await call.get_by_role("button", name="Hold").click()
            await expect(call).to_have_attribute("data-call-state", "held")
            live = next(iter(voice.calls.values()))
            assert live.state == "held"  # the server's call, not just the screen
            await call.get_by_role("button", name="Resume").click()
            await expect(call).to_have_attribute("data-call-state", "connected")

            # The supervisor listens in: voice rings their softphone, which answers.
            row = console.locator(f'[data-testid="calls"] tr[data-call="{live.id}"]')
            await row.get_by_role("button", name="Listen").click()
            await expect(row.get_by_role("button", name="Listen")).to_have_attribute(
                "aria-pressed", "true"
            )
            await screenshot_async(console, "supervisor-calls")

            await call.get_by_role("button", name="Hang up").click()
            await expect(desk.get_by_test_id("wrap-up")).to_be_visible()
            await finish_sipp(sipp, tmp_path)
            sipp = None
        finally:
            await browser.close()
            await kill(sipp)
            await phone.stop()
            await headset.stop()
