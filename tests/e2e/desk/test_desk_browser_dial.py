"""Calling out from the desk's browser phone, and keying digits on the call (docs/voice.md,
"Browser phone"): agent1 registers the phone in real headless Chromium (its fake microphone a
1000 Hz tone), types the far party's number on the phone's dial pad and presses Call; the far
party is test_voice_outbound's sipp UAS behind the carrier trunk (1500 Hz), whose SDP names a
tap (test_voice_browser_outbound.FarTap) that keeps what Omnidesk sends it and offers RFC 4733
telephone-events. The far party must hear the browser, the browser the far party; keys pressed
on the phone's pad during the call must arrive at the far party as telephone-events; the call's
Hang up ends it."""

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
        far_party.configure(live.api("admin"), live.ids, UAS_PORT)  # the trunk dials out
        yield live


async def test_an_agent_calls_out_from_the_browser_and_keys_digits(
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
            # Available: routing tracks the call as agent1's contact (its tab, its controls).
            await desk.get_by_role("button", name="Available", exact=True).click()
            await expect(desk.get_by_test_id("my-state")).to_have_attribute(
                "data-state", "available"
            )
            uas = await far_party.start_uas(tmp_path, UAS_PORT)
            # The number typed with the dial pad's keys and the field (+ is not on the pad).
            await phone.get_by_test_id("phone-number").fill("+49309876")
            pad = phone.get_by_role("group", name="Dial pad")
            for key in far_party.FAR.removeprefix("+49309876"):
                await pad.get_by_role("button", name=f"Key {key}").click()
            await expect(phone.get_by_test_id("phone-number")).to_have_value(far_party.FAR)
            await phone.get_by_role("button", name="Call", exact=True).click()
            call = desk.get_by_test_id("call")
            await expect(call).to_have_attribute("data-call-state", "connected")
            await expect(phone).to_have_attribute("data-phone-status", "in_call")
            live = next(iter(voice.calls.values()))
            assert live.direction == "outbound" and live.agent_id == server.ids["agent1"]
            await asyncio.sleep(1.0)  # both directions settle (jitter buffers, ICE checks)
            start = len(far.frames)
            heard = await desk.evaluate(LISTEN_JS, 2500)
            heard_by_far = far.audio(start)

            # On the call the phone's pad sends digits to the far party.
            keys = phone.get_by_role("group", name="Keypad: send digits on the call")
            for key in "5#":
                await keys.get_by_role("button", name=f"Key {key}").click()
            await _wait(lambda: len(far.digits) >= 2, 10, "the digits at the far party")
            await call.get_by_role("button", name="Hang up").click()
            await expect(phone).to_have_attribute("data-phone-status", "ready")
            await far_party.finish_uas(uas, tmp_path)
            uas = None
        finally:
            await browser.close()
            far.transport.close()
            await kill(uas)
    await _wait(lambda: not voice.calls, what="the call to end")

    assert "".join(far.digits[ts] for ts in sorted(far.digits)) == "5#"
    assert heard_by_far.size >= 2 * 8000, heard_by_far.size
    assert tone_share(heard_by_far, AGENT_HZ, (far_party.FAR_HZ, RINGBACK_HZ)) > 0.9
    # The browser played the far party (at the page's own sample rate), not the ringback.
    samples = np.asarray(heard["samples"], dtype=np.float64) * 32767
    assert samples.size >= heard["rate"], samples.size
    assert _share(samples, heard["rate"], far_party.FAR_HZ, AGENT_HZ) > 0.9
    assert _share(samples, heard["rate"], far_party.FAR_HZ, RINGBACK_HZ) > 0.9
