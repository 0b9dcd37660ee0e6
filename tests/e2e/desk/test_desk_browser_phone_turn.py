"""The desk's browser phone uses the server's TURN server (voice_ice_servers; ADR 0030, "ICE
servers"): with a real coturn configured, headless Chromium's offer posted on Accept carries a
relay candidate on coturn's address (gathered with the credentials the API handed the desk),
and the call connects."""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from desk_helpers import LiveServer, log_in_async, needs_browser, serve
from playwright.async_api import async_playwright, expect
from test_desk_browser_phone import launch_with_microphone, microphone_wav

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "voice"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "channels" / "voice"))
from test_voice_webrtc_turn import coturn
from test_voice_webrtc_turn import pytestmark as needs_turnserver
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

from omnidesk.bench.voice_testbed import voice_settings

pytestmark = [*needs_browser(), *needs(*PEERS), needs_turnserver]
expect.set_options(timeout=30_000)


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with coturn(Path(tempfile.mkdtemp(prefix="omnidesk-turn-"))) as port:
        turn = {"urls": [f"turn:127.0.0.1:{port}"], "username": "u", "credential": "p"}
        for live in serve(**voice_settings(voice_ice_servers=[turn])):
            configure(live.api("admin"), live.ids)
            yield live


async def test_the_desk_offers_a_relay_candidate_from_the_servers_turn(
    server: LiveServer, tmp_path: Path
) -> None:
    live = server
    voice = live.app.state.voice
    port = live.app.state.services.settings.voice_sip_port
    posted: list[str] = []
    sipp: Any = None
    async with async_playwright() as playwright:
        browser = await launch_with_microphone(playwright, microphone_wav(tmp_path / "mic.wav"))
        try:
            desk = await (await browser.new_context()).new_page()
            desk.on(
                "request",
                lambda req: (
                    posted.append(json.loads(req.post_data or "{}").get("sdp", ""))
                    if req.url.endswith("/api/v1/voice/browser-phone/answer")
                    else None
                ),
            )
            await log_in_async(desk, live, "agent1", "/agent")
            phone = desk.get_by_test_id("phone")
            await phone.get_by_role("button", name="Use this browser as my phone").click()
            await expect(phone).to_have_attribute("data-phone-status", "ready")
            await desk.get_by_role("button", name="Available", exact=True).click()
            await expect(desk.get_by_test_id("my-state")).to_have_attribute(
                "data-state", "available"
            )
            sipp = await start_sipp(
                tmp_path, caller_scenario(tmp_path, digit="1", how="pcap"), port
            )
            await expect(phone).to_have_attribute("data-phone-status", "ringing")
            await desk.get_by_test_id("offer").get_by_role("button", name="Accept").click()
            await expect(phone).to_have_attribute("data-phone-status", "in_call")
            call = desk.get_by_test_id("call")
            await call.get_by_role("button", name="Hang up").click()
            await expect(phone).to_have_attribute("data-phone-status", "ready")
            await finish_sipp(sipp, tmp_path)
            sipp = None
        finally:
            await browser.close()
            await kill(sipp)
    await _wait(lambda: not voice.calls, what="the call to end")
    [sdp] = posted
    relay = [ln for ln in sdp.splitlines() if ln.startswith("a=candidate:") and "typ relay" in ln]
    assert relay, f"Chromium gathered no relay candidate through coturn:\n{sdp}"
    assert " 127.0.0.1 " in relay[0], relay
