"""The followers' pacer: the first run after a quiet spell at once, a run that would follow
closer than the interval waits for the rest of it."""

from __future__ import annotations

import asyncio

import pytest

from omnidesk.platform import pacing


def test_runs_are_spaced_by_the_interval_and_a_quiet_spell_starts_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(delay: float) -> None:
        slept.append(delay)
        await real_sleep(delay)

    monkeypatch.setattr(pacing.asyncio, "sleep", recording_sleep)

    async def scenario() -> None:
        pacer = pacing.Pacer(0.2)
        loop = asyncio.get_running_loop()
        await pacer.wait_turn()  # the first run: no wait
        assert slept == []
        first = loop.time()
        await pacer.wait_turn()  # right after: waits for the rest of the interval
        assert len(slept) == 1 and 0 < slept[0] <= 0.2
        assert loop.time() - first >= 0.2 - 1e-3
        await real_sleep(0.25)  # a quiet spell longer than the interval
        await pacer.wait_turn()
        assert len(slept) == 1  # at once again

    asyncio.run(scenario())
