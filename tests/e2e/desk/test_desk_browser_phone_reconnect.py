"""The desk's browser phone renegotiates after a network change (docs/voice.md, "A network
change mid-call"), in headless Chromium: during a call out (sipp behind the trunk, as in
test_desk_browser_dial.py) the browser says it is back online; the desk makes a new
RTCPeerConnection and posts its offer to `…/renegotiate`, the server swaps its connection
behind the same call, and both directions carry audio over the new one (frequency analysis),
the call never ended."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from desk_helpers import LiveServer, log_in_async, needs_browser, serve
from playwright.async_api import async_playwright, expect

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "voice"))
import test_voice_outbound as far_party
from test_desk_browser_phone import LISTEN_JS, _share, launch_with_microphone, microphone_wav
from test_voice_browser_outbound import RINGBACK_HZ, open_far_tap
from voice_call_helpers import AGENT_HZ, PEERS, kill, needs, tone_share
from voice_call_helpers import wait_until as _wait

from omnidesk.bench.voice_testbed import free_port, voice_settings

pytestmark = [*needs_browser(), *needs(*PEERS)]
expect.set_options(timeout=30_000)
UAS_PORT = free_port()


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    for live in serve(**voice_settings()):
        far_party.configure(live.api("admin"), live.ids, UAS_PORT)
        yield live


async def test_the_desk_renegotiates_a_call_when_the_network_changes(
    server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    voice = server.app.state.voice
    far = await open_far_tap(monkeypatch)
    uas: Any = None
    async with async_playwright() as playwright:
        browser = await launch_with_microphone(playwright, microphone_wav(tmp_path / "mic.wav"))
        try:
            desk = await (await browser.new_context()).new_page()
            await log_in_async(desk, server, "agent1", "/agent")
            phone = desk.get_by_test_id("phone")
            await phone.get_by_role("button", name="Use this browser as my phone").click()
            await expect(phone).to_have_attribute("data-phone-status", "ready")
            uas = await far_party.start_uas(tmp_path, UAS_PORT)
            await phone.get_by_test_id("phone-number").fill(far_party.FAR)
            await phone.get_by_role("button", name="Call", exact=True).click()
            await expect(phone).to_have_attribute("data-phone-status", "in_call")
            live = await _wait(lambda: next(iter(voice.calls.values()), None), 30, "the call")
            await _wait(lambda: live.state == "connected", what="the bridge")
            leg, old_pc = live.agent_sip, live.agent_sip.pc

            # The browser's word that the network changed: the desk renegotiates.
            await desk.evaluate("window.dispatchEvent(new Event('online'))")
            await _wait(lambda: leg.pc is not old_pc, 20, "the new connection on the server")
            await _wait(lambda: leg.pc.connectionState == "connected", 20, "it to connect")
            assert old_pc.connectionState == "closed"
            await asyncio.sleep(1.0)  # both directions settle on the new connection
            await expect(phone).to_have_attribute("data-phone-status", "in_call")
            start = len(far.frames)
            heard = await desk.evaluate(LISTEN_JS, 2500)
            heard_by_far = far.audio(start)
            assert voice.calls.get(live.id) is live and live.state == "connected"
            assert live.agent_sip is leg

            hangup = server.api("agent1").post(f"/api/v1/voice/calls/{live.id}/hangup")
            assert hangup.status_code == 200, hangup.text
            await expect(phone).to_have_attribute("data-phone-status", "ready")
            await far_party.finish_uas(uas, tmp_path)
            uas = None
        finally:
            await browser.close()
            far.transport.close()
            await kill(uas)
    await _wait(lambda: not voice.calls, what="the call to end")

    assert heard_by_far.size >= 2 * 8000, heard_by_far.size
    assert tone_share(heard_by_far, AGENT_HZ, (far_party.FAR_HZ, RINGBACK_HZ)) > 0.9
    samples = np.asarray(heard["samples"], dtype=np.float64) * 32767
    assert samples.size >= heard["rate"], samples.size
    assert _share(samples, heard["rate"], far_party.FAR_HZ, AGENT_HZ) > 0.9
