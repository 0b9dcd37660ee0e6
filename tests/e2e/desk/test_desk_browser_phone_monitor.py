"""A supervisor listens and whispers through the console's browser phone (docs/voice.md,
"Supervisor monitoring"), in real headless Chromium whose fake microphone plays 1500 Hz.

sipp calls with its 600 Hz tone (what Omnidesk sends it is kept by a tap named in its SDP),
agent1's baresip answers with 1000 Hz. The supervisor turns the browser phone on in the
console and presses Listen: frequency analysis of what the page plays proves it hears both the
caller and the agent. Whisper: the caller still does not hear the supervisor, the agent does.
Stop ends it and the phone is ready again; the supervisor has no SIP login at all."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from desk_helpers import LiveServer, log_in_async, needs_browser, ok, screenshot_async, serve
from playwright.async_api import async_playwright, expect
from test_desk_browser_phone import (
    LISTEN_JS,
    _power,
    _share,
    launch_with_microphone,
    microphone_wav,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "voice"))
from test_voice_monitoring import SUPERVISOR_HZ
from test_voice_transfer_out_audio import SDP_MEDIA, open_tap
from voice_call_helpers import (
    AGENT_HZ,
    CALLER_HZ,
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
from voice_call_helpers import wait_until as _wait

from omnidesk.bench.voice_testbed import voice_settings

pytestmark = [*needs_browser(), *needs(*PEERS)]
expect.set_options(timeout=30_000)


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    # Live audio figures every second: the console's live calls list shows them (below).
    for live in serve(**voice_settings(voice_live_quality_seconds=1)):
        configure(live.api("admin"), live.ids)  # agent1 serves the queue with a SIP login
        yield live


async def test_supervisor_listens_and_whispers_through_the_browser_phone(
    server: LiveServer, tmp_path: Path
) -> None:
    ids = server.ids
    voice = server.app.state.voice
    port = server.app.state.services.settings.voice_sip_port
    tap = await open_tap()  # what Omnidesk sends the caller
    scenario = caller_scenario(tmp_path, digit="1", how="pcap")
    scenario.write_text(scenario.read_text().replace(SDP_MEDIA, f"m=audio {tap.port}"))
    agent = agent1_phone(tmp_path, port)
    sipp: Any = None
    async with async_playwright() as playwright:
        mic = microphone_wav(tmp_path / "mic.wav", SUPERVISOR_HZ)
        browser = await launch_with_microphone(playwright, mic)
        try:
            await agent.start()
            await registered(voice, "agent1")
            state_url = f"/api/v1/routing/agents/{ids['agent1']}/state"
            ok(server.api("agent1").post(state_url, json={"state": "available"}))
            console = await (await browser.new_context()).new_page()
            await log_in_async(console, server, "supervisor", "/supervisor")
            phone = console.get_by_test_id("phone")
            await phone.get_by_role("button", name="Use this browser as my phone").click()
            await expect(phone).to_have_attribute("data-phone-status", "ready")

            sipp = await start_sipp(tmp_path, scenario, port)
            await agent.wait_event("CALL_ESTABLISHED", within=40)
            live = await _wait(lambda: next(iter(voice.calls.values()), None), what="the call")
            await _wait(lambda: live.state == "connected", what="the bridge")
            row = console.locator(f'[data-testid="calls"] tr[data-call="{live.id}"]')
            # The call's live audio figures (voice.call_quality), both SIP legs, unflagged.
            figures = row.get_by_test_id("live-audio")
            await expect(figures.locator('li[data-leg="customer"]')).to_contain_text(
                "Customer (SIP): loss 0.0 %, jitter"
            )
            await expect(figures.locator('li[data-leg="agent"]')).to_contain_text("Agent (SIP)")
            await expect(figures).to_have_attribute("data-warning", "false")

            await row.get_by_role("button", name="Listen").click()
            await expect(row.get_by_role("button", name="Listen")).to_have_attribute(
                "aria-pressed", "true"
            )
            await expect(phone).to_have_attribute("data-phone-status", "in_call")
            assert type(live.monitors[ids["supervisor"]][0]).__name__ == "BrowserCall"
            await asyncio.sleep(1.0)  # both directions settle (jitter buffers, ICE checks)
            heard = await console.evaluate(LISTEN_JS, 2500)
            await screenshot_async(console, "supervisor-browser-phone-listen")

            await row.get_by_role("button", name="Whisper").click()
            await expect(row.get_by_role("button", name="Whisper")).to_have_attribute(
                "aria-pressed", "true"
            )
            await asyncio.sleep(1.0)
            start = len(tap.frames)
            await asyncio.sleep(2.0)
            caller_heard = tap.audio(start)

            await row.get_by_role("button", name="Stop").click()
            await expect(row.get_by_role("button", name="Stop")).to_have_count(0)
            await expect(phone).to_have_attribute("data-phone-status", "ready")
            await _wait(lambda: not live.monitors, what="the monitor to end")
            await agent.command("hangup")
            await finish_sipp(sipp, tmp_path)
            sipp = None
        finally:
            await browser.close()
            await kill(sipp)
            await agent.stop()
            tap.close()
    await _wait(lambda: not voice.calls, what="the call to end")
    ok(server.api("supervisor").delete("/api/v1/voice/browser-phone"), 204)

    # Listening, the browser played the caller and the agent, each clearly (the page's rate).
    samples = np.asarray(heard["samples"], dtype=np.float64) * 32767
    assert samples.size >= heard["rate"], samples.size
    rate = heard["rate"]
    assert _share(samples, rate, CALLER_HZ, SUPERVISOR_HZ) > 0.9
    assert _share(samples, rate, AGENT_HZ, SUPERVISOR_HZ) > 0.9
    both = _share(samples, rate, CALLER_HZ, AGENT_HZ)
    assert 0.05 < both < 0.95, both
    # Whispering, the caller heard the agent and not the supervisor (20 dB below at least).
    assert caller_heard.size >= 8000, caller_heard.size
    assert _power(caller_heard, SUPERVISOR_HZ) < 0.01 * _power(caller_heard, AGENT_HZ)
    # The agent heard the supervisor once the whisper began, not while the supervisor listened
    # (half-second windows of the agent's call, the supervisor's tone against the caller's).
    agent_heard = np.concatenate(agent.heard())
    ratios = [
        _power(agent_heard[i : i + 4000], SUPERVISOR_HZ)
        / _power(agent_heard[i : i + 4000], CALLER_HZ)
        for i in range(0, agent_heard.size - 4000, 4000)
    ]
    assert ratios[0] < 1e-5, ratios  # the call's start: nobody whispering yet
    assert max(ratios) > 1e-3, ratios  # the whisper: within 30 dB of the caller
