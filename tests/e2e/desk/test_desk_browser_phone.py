"""The browser phone (docs/voice.md, "Browser phone"): agent1 registers the desk's phone with one
click in real headless Chromium, whose fake microphone plays a 1000 Hz tone; sipp calls the
number with its own 600 Hz tone, routing offers the call to agent1, the desk rings, Accept
answers in the browser (WebRTC to the server's aiortc, DTLS-SRTP, G.711). Frequency analysis
then proves each side hears the other — what Omnidesk sends the caller (a tap named in sipp's
SDP keeps it, as in tests/e2e/voice/test_voice_transfer_out_audio.py) and what the browser
plays from the call — and the recording holds both. Hold from the desk takes the browser away
from the caller; the desk hangs up; sipp ends cleanly.

And the bad input: an offer without a DTLS fingerprint is refused with 422 naming `sdp`, the
reason is logged, and the registered phone is untouched; sent for a ringing call, the ring
fails cleanly and the caller goes back to the queue. A refused microphone is said plainly
and registers nothing. A reload mid-call ends the call cleanly, as the design says."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from desk_helpers import LiveServer, log_in_async, needs_browser, ok, screenshot_async, serve
from playwright.async_api import async_playwright, expect
from structlog.testing import capture_logs

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "voice"))
from test_voice_transfer_out_audio import SDP_MEDIA, open_tap
from voice_call_helpers import (
    AGENT_HZ,
    CALLER_HZ,
    PEERS,
    SOX,
    caller_scenario,
    configure,
    finish_sipp,
    kill,
    needs,
    start_sipp,
    tone_share,
)
from voice_call_helpers import wait_until as _wait

from omnidesk.bench.desk import CHROMIUM, CHROMIUM_ARGS
from omnidesk.bench.voice_testbed import voice_settings
from omnidesk.channels.voice.media.analysis import goertzel_power

pytestmark = [*needs_browser(), *needs(*PEERS)]
expect.set_options(timeout=30_000)

# What the page's speaker plays, for `ms` milliseconds, as the browser decoded it.
LISTEN_JS = """async (ms) => {
  const el = document.querySelector('[data-testid="phone-speaker"]');
  const ctx = new AudioContext();
  await ctx.resume();
  const src = ctx.createMediaStreamSource(el.srcObject);
  const proc = ctx.createScriptProcessor(4096, 1, 1);
  const out = [];
  proc.onaudioprocess = (e) => { for (const v of e.inputBuffer.getChannelData(0)) out.push(v); };
  src.connect(proc);
  proc.connect(ctx.destination);
  await new Promise((r) => setTimeout(r, ms));
  proc.disconnect();
  src.disconnect();
  const rate = ctx.sampleRate;
  await ctx.close();
  return { rate, samples: out };
}"""

# An SDP offer as a browser makes it, but without its DTLS fingerprint.
NO_FINGERPRINT = (
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 0 8\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
    "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=setup:actpass\r\n"
    "a=sendrecv\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
)


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    for live in serve(**voice_settings()):
        # The number, the menu, the support queue recorded "always", agent1 serving it.
        configure(live.api("admin"), live.ids)
        yield live


def microphone_wav(path: Path, hz: int = AGENT_HZ) -> Path:
    """The fake microphone's file: a 1000 Hz sine, or `hz` (Chromium loops it)."""
    subprocess.run(
        [str(SOX), "-n", "-r", "48000", "-c", "1", "-b", "16", str(path),
         "synth", "30", "sine", str(hz), "vol", "0.3"],
        check=True,
    )  # fmt: skip
    return path


async def launch_with_microphone(playwright: Any, wav: Path) -> Any:
    return await playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}",
            "--autoplay-policy=no-user-gesture-required",
        ],
    )


def test_an_offer_without_dtls_fingerprint_is_refused(server: LiveServer) -> None:
    agent = server.api("agent2")
    ok(agent.put("/api/v1/voice/browser-phone"))
    with capture_logs() as logs:
        r = agent.post(
            "/api/v1/voice/browser-phone/answer", json={"offer_id": "o-1", "sdp": NO_FINGERPRINT}
        )
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "sdp" and "DTLS fingerprint" in r.json()["detail"]
    assert any(e["event"] == "voice.browser_offer_refused" for e in logs), logs
    # A well-formed offer for a call that is not ringing them: 404, not an answer.
    sdp = NO_FINGERPRINT + "a=fingerprint:sha-256 " + ":".join(["AB"] * 32) + "\r\n"
    r = agent.post("/api/v1/voice/browser-phone/answer", json={"offer_id": "o-1", "sdp": sdp})
    assert r.status_code == 404, r.text
    assert ok(agent.get("/api/v1/voice/browser-phone"))["registered"] is True
    ok(agent.delete("/api/v1/voice/browser-phone"), 204)
    assert ok(agent.get("/api/v1/voice/browser-phone"))["registered"] is False


async def test_a_bad_offer_for_a_ringing_call_sends_the_caller_back_to_the_queue(
    server: LiveServer, tmp_path: Path
) -> None:
    """The desk's requests without a browser: agent1's phone registered and available through
    the API, a call rings it, and the answer carries an offer without a DTLS fingerprint."""
    voice = server.app.state.voice
    port = server.app.state.services.settings.voice_sip_port
    agent = server.api("agent1")
    ok(agent.put("/api/v1/voice/browser-phone"))
    ok(
        agent.post(
            f"/api/v1/routing/agents/{server.ids['agent1']}/state", json={"state": "available"}
        )
    )
    sipp = await start_sipp(tmp_path, caller_scenario(tmp_path, digit="1", how="pcap"), port)
    try:
        rings = await _wait(lambda: list(voice.browser_phones.ringing), what="the ring")
        [offer_id] = rings
        live = next(iter(voice.calls.values()))
        with capture_logs() as logs:
            r = agent.post(
                "/api/v1/voice/browser-phone/answer",
                json={"offer_id": offer_id, "sdp": NO_FINGERPRINT},
            )
            assert r.status_code == 422 and r.json()["field"] == "sdp", r.text
            await _wait(lambda: live.state == "queued", what="the caller back in the queue")
            [missed] = await _wait(
                lambda: [e for e in logs if e["event"] == "voice.ring_missed"], what="the log"
            )
        assert live.ring is None and live.agent_leg is None and not live.ended
        assert voice.browser_phones.ringing == {}
        assert missed["reason"] == "sip_488" and "DTLS fingerprint" in missed["detail"]
        # The phone is still registered; the caller is hung up by an admin, cleanly.
        assert ok(agent.get("/api/v1/voice/browser-phone"))["registered"] is True
        ok(server.api("admin").post(f"/api/v1/voice/calls/{live.id}/hangup"))
        await finish_sipp(sipp, tmp_path)
        sipp = None
    finally:
        await kill(sipp)
    await _wait(lambda: not voice.calls, what="the call to end")
    ok(agent.delete("/api/v1/voice/browser-phone"), 204)


async def test_a_refused_microphone_is_said_plainly(server: LiveServer) -> None:
    async with async_playwright() as playwright:
        # No fake permission UI: headless Chromium dismisses the prompt, as a refusal.
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream"],
        )
        try:
            desk = await (await browser.new_context()).new_page()
            await log_in_async(desk, server, "agent1", "/agent")
            phone = desk.get_by_test_id("phone")
            await phone.get_by_role("button", name="Use this browser as my phone").click()
            await expect(phone).to_have_attribute("data-phone-status", "mic_denied")
            await expect(desk.get_by_test_id("phone-mic-denied")).to_contain_text(
                "Microphone access was refused"
            )
        finally:
            await browser.close()
    # The server was never told: no phone rings for a browser without a microphone.
    assert ok(server.api("agent1").get("/api/v1/voice/browser-phone"))["registered"] is False


async def test_a_phone_the_server_forgot_registers_again_on_reconnect(
    server: LiveServer, tmp_path: Path
) -> None:
    # Registrations live in the server's memory: a restart forgets them. The desk whose phone
    # was on registers it again when its socket is live again; one turned off stays off.
    agent = server.api("agent1")
    async with async_playwright() as playwright:
        browser = await launch_with_microphone(playwright, microphone_wav(tmp_path / "mic.wav"))
        try:
            desk = await (await browser.new_context()).new_page()
            await log_in_async(desk, server, "agent1", "/agent")
            phone = desk.get_by_test_id("phone")
            await phone.get_by_role("button", name="Use this browser as my phone").click()
            await expect(phone).to_have_attribute("data-phone-status", "ready")
            # The server forgets it (as a restart does), the desk is not told...
            assert ok(agent.delete("/api/v1/voice/browser-phone"), 204) is None
            assert ok(agent.get("/api/v1/voice/browser-phone"))["registered"] is False
            # ...until its socket reconnects, as after a restart.
            await desk.evaluate("window.omnidesk.cut()")
            await _registered_within(agent, True, 15.0)
            await expect(phone).to_have_attribute("data-phone-status", "ready")

            await phone.get_by_role("button", name="Turn the browser phone off").click()
            await expect(phone).to_have_attribute("data-phone-status", "off")
            await desk.evaluate("window.omnidesk.cut()")
            await expect(desk.get_by_test_id("connection")).to_have_attribute("data-state", "live")
            await desk.reload()  # a page load asks the server too
            await expect(desk.get_by_test_id("connection")).to_have_attribute("data-state", "live")
            await expect(phone).to_have_attribute("data-phone-status", "off")
            assert ok(agent.get("/api/v1/voice/browser-phone"))["registered"] is False
        finally:
            await browser.close()


async def _registered_within(agent: Any, registered: bool, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while ok(agent.get("/api/v1/voice/browser-phone"))["registered"] is not registered:
        assert time.monotonic() < deadline, f"the browser phone never became {registered}"
        await asyncio.sleep(0.2)


async def test_a_call_answered_in_the_browser_phone(server: LiveServer, tmp_path: Path) -> None:
    ids = server.ids
    admin = server.api("admin")
    voice = server.app.state.voice
    port = server.app.state.services.settings.voice_sip_port
    tap = await open_tap()  # what Omnidesk sends the caller
    scenario = caller_scenario(tmp_path, digit="1", how="pcap")
    scenario.write_text(scenario.read_text().replace(SDP_MEDIA, f"m=audio {tap.port}"))
    sipp: Any = None
    async with async_playwright() as playwright:
        browser = await launch_with_microphone(playwright, microphone_wav(tmp_path / "mic.wav"))
        try:
            desk = await (await browser.new_context()).new_page()
            await log_in_async(desk, server, "agent1", "/agent")
            phone = desk.get_by_test_id("phone")
            await expect(phone).to_have_attribute("data-phone-status", "off")
            await phone.get_by_role("button", name="Use this browser as my phone").click()
            await expect(phone).to_have_attribute("data-phone-status", "ready")
            await desk.get_by_role("button", name="Available", exact=True).click()
            await expect(desk.get_by_test_id("my-state")).to_have_attribute(
                "data-state", "available"
            )

            sipp = await start_sipp(tmp_path, scenario, port)
            await expect(phone).to_have_attribute("data-phone-status", "ringing")
            await screenshot_async(desk, "agent-browser-phone-ringing")

            await desk.get_by_test_id("offer").get_by_role("button", name="Accept").click()
            call = desk.get_by_test_id("call")
            await expect(call).to_have_attribute("data-call-state", "connected")
            await expect(phone).to_have_attribute("data-phone-status", "in_call")
            live = next(iter(voice.calls.values()))
            assert live.agent_id == ids["agent1"]
            await asyncio.sleep(1.0)  # both directions settle (jitter buffers, ICE checks)
            start = len(tap.frames)
            heard = await desk.evaluate(LISTEN_JS, 2500)
            caller_heard = tap.audio(start)
            # Hold from the desk acts on the server's call as for a softphone: while held, the
            # caller no longer hears the browser.
            await call.get_by_role("button", name="Hold").click()
            await expect(call).to_have_attribute("data-call-state", "held")
            held_from = len(tap.frames)
            await asyncio.sleep(1.5)
            on_hold = tap.audio(held_from + 10)
            await call.get_by_role("button", name="Resume").click()
            await expect(call).to_have_attribute("data-call-state", "connected")

            # Another microphone mid-call: the sender's track is replaced, nothing is
            # negotiated again (no second answer), and the caller hears the new one (the old
            # track is stopped, so a sender left on it would send silence).
            answers: list[str] = []
            desk.on("request", lambda r: "browser-phone/answer" in r.url and answers.append(r.url))
            await desk.get_by_test_id("phone-devices").get_by_text("Microphone and speaker").click()
            mic = desk.get_by_label("Microphone", exact=True)
            await expect(mic.locator("option")).not_to_have_count(0)
            await mic.select_option(await mic.locator("option").last.evaluate("o => o.value"))
            await asyncio.sleep(1.0)
            switched_from = len(tap.frames)
            await asyncio.sleep(1.5)
            after_switch = tap.audio(switched_from)
            assert answers == [] and await phone.get_attribute("data-phone-status") == "in_call"

            await call.get_by_role("button", name="Hang up").click()
            await expect(desk.get_by_test_id("wrap-up")).to_be_visible()
            await expect(phone).to_have_attribute("data-phone-status", "ready")
            await finish_sipp(sipp, tmp_path)
            sipp = None
        finally:
            await browser.close()
            await kill(sipp)
            tap.close()
    await _wait(lambda: not voice.calls, what="the call to end")

    # The caller heard the browser's microphone, not their own tone.
    assert caller_heard.size >= 8000 * 2, caller_heard.size
    assert tone_share(caller_heard, AGENT_HZ, (CALLER_HZ,)) > 0.9
    assert after_switch.size >= 8000, after_switch.size
    assert _power(after_switch, AGENT_HZ) > 0.25 * _power(caller_heard, AGENT_HZ)
    assert tone_share(after_switch, AGENT_HZ, (CALLER_HZ,)) > 0.9
    # On hold the browser's tone is gone from what the caller gets (music, or silence): at
    # least 20 dB below the talk.
    assert on_hold.size >= 8000 // 2, on_hold.size
    assert _power(on_hold, AGENT_HZ) < 0.01 * _power(caller_heard, AGENT_HZ)
    # The browser played the caller (at the page's own sample rate).
    samples = np.asarray(heard["samples"], dtype=np.float64) * 32767
    assert samples.size >= heard["rate"], samples.size
    assert _share(samples, heard["rate"], CALLER_HZ, AGENT_HZ) > 0.9

    # The recording: the caller on the left, the browser agent on the right.
    [rec] = ok(admin.get("/api/v1/voice/recordings"))["items"]
    audio = admin.get(f"/api/v1/voice/recordings/{rec['id']}/audio")
    with wave.open(io.BytesIO(audio.content)) as w:
        assert w.getnchannels() == 2
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).reshape(-1, 2)
    talk = pcm[len(pcm) // 4 :]
    assert tone_share(talk[:, 0], CALLER_HZ, (AGENT_HZ,)) > 0.9
    assert tone_share(talk[:, 1], AGENT_HZ, (CALLER_HZ,)) > 0.9


def _power(samples: np.ndarray, hz: int) -> float:
    return float(goertzel_power(samples.astype(np.float64), [hz]).mean())


def _share(samples: np.ndarray, rate: int, hz: int, other: int) -> float:
    powers = goertzel_power(samples, [hz, other], rate=int(rate)).sum(axis=0)
    return float(powers[0] / (powers.sum() or 1.0))


async def test_a_reload_mid_call_ends_the_call_cleanly(server: LiveServer, tmp_path: Path) -> None:
    """The design (docs/voice.md, "Browser phone"): the browser's connection is the call's
    agent side, so a reload (once the agent confirms the page's prompt) closes it and the call
    ends as the agent's hang-up; the desk comes back with the phone still registered."""
    voice = server.app.state.voice
    port = server.app.state.services.settings.voice_sip_port
    sipp: Any = None
    async with async_playwright() as playwright:
        browser = await launch_with_microphone(playwright, microphone_wav(tmp_path / "mic.wav"))
        try:
            desk = await (await browser.new_context()).new_page()
            await log_in_async(desk, server, "agent1", "/agent")
            phone = desk.get_by_test_id("phone")
            if await phone.get_attribute("data-phone-status") == "off":
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
            await expect(desk.get_by_test_id("call")).to_have_attribute(
                "data-call-state", "connected"
            )
            live = next(iter(voice.calls.values()))
            # The desk asks before leaving mid-call (beforeunload); the agent leaves anyway.
            prompts: list[str] = []

            async def leave(dialog: Any) -> None:
                prompts.append(dialog.type)
                await dialog.accept()

            desk.once("dialog", leave)
            reloaded = time.monotonic()
            await desk.reload()
            assert prompts == ["beforeunload"], prompts
            await _wait(lambda: live.ended, within=40, what="the call to end after the reload")
            took = time.monotonic() - reloaded
            assert live.end_reason.startswith("agent browser connection"), live.end_reason
            # The unloading page closes its connection (DTLS close_notify), so the server
            # notices at once, not after ICE consent expires (~30 s: a crashed browser).
            assert took < 10, took
            await finish_sipp(sipp, tmp_path)  # the caller got a BYE and no dead air
            sipp = None
            # The desk after the reload: the phone still registered and ready (not in a call),
            # no live call, the contact in wrap-up as after the agent's own hang-up.
            await expect(phone).to_have_attribute("data-phone-status", "ready")
            await expect(desk.get_by_test_id("wrap-up")).to_be_visible()
            await expect(desk.get_by_test_id("call")).to_have_count(0)
            await expect(desk.get_by_test_id("offer")).to_have_count(0)
            assert ok(server.api("agent1").get("/api/v1/voice/browser-phone"))["registered"]
        finally:
            await browser.close()
            await kill(sipp)
    await _wait(lambda: not voice.calls, what="the call to leave the live calls")
