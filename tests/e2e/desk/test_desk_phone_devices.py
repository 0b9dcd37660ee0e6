"""The browser phone's microphone and speaker (docs/agent-guide.md, "Microphone and speaker"),
in real headless Chromium with its fake devices: the panel lists the microphones and speakers
Chromium enumerates, the level meter follows the fake microphone (a file of tone and silence),
the choice is remembered across a reload, the test tone plays, and a refused or missing
microphone is said plainly with what to do. (Changing the microphone mid-call is in
test_desk_browser_phone.py, where there is a call.)"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from desk_helpers import (
    LiveServer,
    log_in_async,
    needs_browser,
    routing_setup,
    screenshot_async,
    serve,
)
from playwright.async_api import async_playwright, expect

from omnidesk.bench.desk import CHROMIUM, CHROMIUM_ARGS

SOX = shutil.which("sox")
pytestmark = [
    *needs_browser(),
    pytest.mark.skipif(SOX is None, reason="sox makes the fake microphone's file"),
]
expect.set_options(timeout=20_000)

FAKE_DEVICES = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    for live in serve():
        routing_setup(live.api("admin"), live.ids)  # agent1's desk (and its phone bar)
        yield live


def tone_and_silence(path: Path) -> Path:
    """1 s of a 1000 Hz tone at 0.3 (-13.5 dBFS), then 1 s of silence (Chromium loops it)."""
    subprocess.run(
        [str(SOX), "-n", "-r", "48000", "-c", "1", "-b", "16", str(path),
         "synth", "1", "sine", "1000", "vol", "0.3", "pad", "0", "1"],
        check=True,
    )  # fmt: skip
    return path


async def launch(playwright: Any, *args: str) -> Any:
    return await playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required", *args],
    )


async def open_panel(desk: Any) -> Any:
    panel = desk.get_by_test_id("phone-devices")
    await panel.get_by_text("Microphone and speaker").click()
    return panel


async def readings(meter: Any, seconds: float) -> list[int]:
    out = []
    for _ in range(int(seconds * 10)):
        out.append(int(await meter.get_attribute("aria-valuenow")))
        await asyncio.sleep(0.1)
    return out


async def test_the_panel_lists_devices_remembers_the_choice_and_the_meter_follows_the_mic(
    server: LiveServer, tmp_path: Path
) -> None:
    wav = tone_and_silence(tmp_path / "mic.wav")
    async with async_playwright() as playwright:
        browser = await launch(
            playwright, *FAKE_DEVICES, f"--use-file-for-fake-audio-capture={wav}"
        )
        try:
            desk = await (await browser.new_context()).new_page()
            await log_in_async(desk, server, "agent1", "/agent")
            panel = await open_panel(desk)
            mic = panel.get_by_label("Microphone", exact=True)
            speaker = panel.get_by_label("Speaker", exact=True)
            # Chromium's fake devices, named (the microphone is allowed, so labels are given).
            await expect(mic.locator("option")).not_to_have_count(0)
            mics = await mic.locator("option").all_text_contents()
            speakers = await speaker.locator("option").all_text_contents()
            assert len(mics) >= 2 and all("Fake" in m for m in mics), mics
            assert speakers and all(s.strip() for s in speakers), speakers

            # The meter: role=meter, labelled, and it moves with the file — loud in the tone,
            # near zero in the silence.
            meter = desk.get_by_role("meter", name="Microphone level")
            seen = await readings(meter, 3.0)
            assert max(seen) >= 60, seen  # the tone reads about 78 (-13.5 dBFS)
            assert min(seen) <= 10, seen
            await expect(meter).not_to_have_attribute("aria-valuenow", "0")  # in the tone
            await screenshot_async(desk, "agent-browser-phone-devices")

            # The test tone plays on the chosen speaker and the button comes back.
            tone = panel.get_by_role("button", name="Play a test tone")
            await tone.click()
            await expect(tone).to_be_enabled()
            await expect(desk.get_by_test_id("phone-devices-problem")).to_have_count(0)

            # Another microphone and speaker, remembered by this browser across a reload.
            other_mic = await mic.locator("option").nth(1).evaluate("o => o.value")
            await mic.select_option(other_mic)
            other_speaker = await speaker.locator("option").last.evaluate("o => o.value")
            await speaker.select_option(other_speaker)
            await desk.reload()
            panel = await open_panel(desk)
            await expect(panel.get_by_label("Microphone", exact=True)).to_have_value(other_mic)
            await expect(panel.get_by_label("Speaker", exact=True)).to_have_value(other_speaker)
            # The call's own speaker element plays there too.
            sink = await desk.get_by_test_id("phone-speaker").evaluate("el => el.sinkId")
            assert sink == ("" if other_speaker == "default" else other_speaker), sink
            # The chosen microphone still feeds the meter.
            assert max(await readings(desk.get_by_role("meter"), 2.5)) >= 60
        finally:
            await browser.close()


async def test_a_refused_microphone_says_what_to_do(server: LiveServer) -> None:
    async with async_playwright() as playwright:
        # Fake devices but no fake permission UI: headless Chromium answers the prompt "no".
        browser = await launch(playwright, "--use-fake-device-for-media-stream")
        try:
            desk = await (await browser.new_context()).new_page()
            await log_in_async(desk, server, "agent1", "/agent")
            await open_panel(desk)
            problem = desk.get_by_test_id("phone-devices-problem")
            await expect(problem).to_have_attribute("data-problem", "denied")
            await expect(problem).to_contain_text("Allow the microphone for this site")
            await expect(desk.get_by_role("meter", name="Microphone level")).to_have_attribute(
                "aria-valuenow", "0"
            )
            # Nothing changed on the phone itself: it is still off (the panel only looked).
            await expect(desk.get_by_test_id("phone")).to_have_attribute("data-phone-status", "off")
        finally:
            await browser.close()


async def test_no_microphone_at_all_says_what_to_do(server: LiveServer) -> None:
    async with async_playwright() as playwright:
        # Permission granted, but no fake devices: the test machine has no sound card input.
        browser = await launch(playwright, "--use-fake-ui-for-media-stream")
        try:
            desk = await (await browser.new_context()).new_page()
            await log_in_async(desk, server, "agent1", "/agent")
            inputs = await desk.evaluate(
                "async () => (await navigator.mediaDevices.enumerateDevices())"
                ".filter((d) => d.kind === 'audioinput').length"
            )
            if inputs:
                pytest.skip("this machine has a real microphone")
            await open_panel(desk)
            problem = desk.get_by_test_id("phone-devices-problem")
            await expect(problem).to_have_attribute("data-problem", "missing")
            await expect(problem).to_contain_text("Plug in a headset or microphone")
            # Registering says the same on the phone bar, and registers nothing.
            phone = desk.get_by_test_id("phone")
            await phone.get_by_role("button", name="Use this browser as my phone").click()
            await expect(phone).to_have_attribute("data-phone-status", "mic_missing")
            await expect(desk.get_by_test_id("phone-mic-missing")).to_contain_text(
                "No microphone was found"
            )
        finally:
            await browser.close()
    assert server.api("agent1").get("/api/v1/voice/browser-phone").json()["registered"] is False
