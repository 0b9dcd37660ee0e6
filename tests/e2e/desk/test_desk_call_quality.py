"""The supervisor's recent calls with their audio quality (docs/voice.md, "Audio quality"), in
real headless Chromium: two ended calls are in the log as the voice server writes them — one an
agent on a browser phone over a bad home network (5 % loss, 40 ms jitter, 320 ms round trip),
one a SIP call with clean audio — and the console's "Recent calls" shows each leg's figures,
flags the bad one (in words, not only colour) and leaves the clean one unflagged. The figures
themselves are measured by tests/channels/voice/test_voice_webrtc_quality.py."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
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

from omnidesk.channels.voice import call_events as ev
from omnidesk.channels.voice.quality import LegQuality
from omnidesk.platform.bus import InProcessBus
from omnidesk.platform.database import SCOPE_KEY, SYSTEM, Database
from omnidesk.platform.events import Audience
from omnidesk.platform.tenancy import tenant_by_slug
from omnidesk.platform.uow import UnitOfWork

pytestmark = needs_browser()
__all__ = ["browser"]  # the module's Chromium (a fixture of desk_helpers)

BAD = [
    LegQuality(leg="customer", transport="rtp", packets_received=7000, jitter_ms=2.5,
               jitter_max_ms=2.5, samples=1),
    LegQuality(leg="agent", transport="webrtc", packets_received=6650, packets_lost=350,
               jitter_ms=12.0, jitter_max_ms=40.0, packets_sent=7000, remote_packets_lost=0,
               remote_jitter_max_ms=8.0, rtt_ms=180.0, rtt_max_ms=320.0, samples=29),
]  # fmt: skip
CLEAN = [
    LegQuality(leg="customer", transport="rtp", packets_received=3000, jitter_ms=1.2,
               jitter_max_ms=1.2, samples=1),
    LegQuality(leg="agent", transport="rtp", packets_received=3000, packets_lost=3,
               jitter_ms=4.0, jitter_max_ms=4.0, samples=1),
]  # fmt: skip


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    yield from serve()


def write_call(server: LiveServer, caller: str, audio: list[LegQuality], team: str) -> str:
    """An answered call of agent1's, ended, as the voice server records it."""
    call_id = uuid.uuid4().hex
    agent = uuid.UUID(server.ids["agent1"])
    started = datetime.now(UTC) - timedelta(minutes=5)

    async def write() -> None:
        db = Database(server.app.state.services.settings.database_url)
        session = db.session(SYSTEM)
        try:
            tenant = await tenant_by_slug(session, "demo")
            assert tenant is not None
            session.info[SCOPE_KEY] = tenant.id
            uow = UnitOfWork(session, InProcessBus(), tenant_id=tenant.id)
            record = ev.CallEnded(
                call_id=call_id, direction="inbound", caller=caller, callee="+15550100",
                contact_id=call_id, agent_id=agent, started_at=started,
                connected_at=started + timedelta(seconds=20),
                ended_at=started + timedelta(minutes=4), reason="agent bye", audio=audio,
            )  # fmt: skip
            uow.record(record, Audience.of([agent], [uuid.UUID(team)]))
            await uow.commit()
        finally:
            await session.close()
            await db.dispose()

    # In a thread of its own: sync Playwright keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, write()).result(timeout=30)
    return call_id


def test_recent_calls_show_audio_quality_and_flag_a_bad_network(
    server: LiveServer, browser: Any
) -> None:
    team = ok(server.api("admin").get("/api/v1/teams"))[0]["id"]
    bad = write_call(server, "+15550001", BAD, team)
    clean = write_call(server, "+15550002", CLEAN, team)
    listed = ok(server.api("supervisor").get("/api/v1/voice/call-history"))["items"]
    assert {c["call_id"] for c in listed} >= {bad, clean}, "the supervisor does not see them"

    for page in logged_in_page(browser, server, "supervisor", "/supervisor"):
        table = page.get_by_test_id("recent-calls")
        row = table.locator(f'tr[data-call="{bad}"]')
        audio = row.get_by_test_id("call-audio")
        audio.wait_for()
        assert audio.get_attribute("data-warning") == "true"
        agent = audio.locator('li[data-leg="agent"]')
        assert agent.get_attribute("data-warning") == "true"
        text = agent.inner_text()
        assert "Agent (browser): loss 5.0 %, jitter 40 ms, RTT 320 ms" in text, text
        assert "poor: loss, jitter, round trip" in text, text
        customer = audio.locator('li[data-leg="customer"]')
        assert customer.get_attribute("data-warning") == "false"
        assert customer.inner_text() == "Customer (SIP): loss 0.0 %, jitter 3 ms"
        assert "Answered" in row.inner_text() and "+15550001" in row.inner_text()
        assert "Alex Agent" in row.inner_text()

        fine = table.locator(f'tr[data-call="{clean}"]').get_by_test_id("call-audio")
        assert fine.get_attribute("data-warning") == "false"
        assert "Agent (SIP): loss 0.1 %, jitter 4 ms" in fine.inner_text()
        assert "poor" not in fine.inner_text()
        assert axe_violations(page) == []
        table.scroll_into_view_if_needed()
        screenshot(page, "supervisor-call-quality")
