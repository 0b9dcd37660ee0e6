"""The desk's colleagues list follows routing live (docs/agent-guide.md, issue 17): agent1's
browser phone is on, its "Or call an agent" list was read when the desk opened (agent2
offline then, so not listed); agent2 then goes Available, Away and offline through the API
while agent1 does nothing, and agent1's list shows each change without being opened again
(routing's `agent_state_changed` reaches every desk of the tenant)."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from desk_helpers import LiveServer, log_in_async, needs_browser, ok, routing_setup, serve
from playwright.async_api import async_playwright, expect

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "voice"))
from test_desk_browser_phone import launch_with_microphone, microphone_wav

from omnidesk.bench.voice_testbed import voice_settings

pytestmark = needs_browser()
expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    for live in serve(**voice_settings()):
        routing_setup(live.api("admin"), live.ids)
        yield live


async def _set_state(server: LiveServer, state: str, reason: str | None = None) -> None:
    agent2 = server.ids["agent2"]

    def post() -> None:
        ok(
            server.api("agent2").post(
                f"/api/v1/routing/agents/{agent2}/state", json={"state": state, "reason": reason}
            )
        )

    await asyncio.to_thread(post)


async def test_the_colleagues_list_follows_their_state_live(
    server: LiveServer, tmp_path: Path
) -> None:
    agent2 = server.ids["agent2"]
    async with async_playwright() as playwright:
        browser = await launch_with_microphone(playwright, microphone_wav(tmp_path / "mic.wav"))
        try:
            desk = await (await browser.new_context()).new_page()
            await log_in_async(desk, server, "agent1", "/agent")
            phone = desk.get_by_test_id("phone")
            await phone.get_by_role("button", name="Use this browser as my phone").click()
            await expect(phone).to_have_attribute("data-phone-status", "ready")
            option = phone.locator(f"[data-testid='phone-agent'] option[value='{agent2}']")
            await expect(option).to_have_count(0)  # offline: nobody to call

            await _set_state(server, "available")
            await expect(option).to_have_text(re.compile(r"\(Available\)$"))
            await _set_state(server, "away", "lunch")
            await expect(option).to_have_text(re.compile(r"\(Away\)$"))
            await _set_state(server, "offline")
            await expect(option).to_have_count(0)
        finally:
            await browser.close()
