"""Which timeout ends an unanswered ring (missed_ring.py, VoiceContext.ring_limit), without a
server: the tenant's `ring_timeout_s` capped by the server's `voice_ring_timeout_seconds`, and
the queue's offer ending first (or together) left to routing. The end-to-end proof with real
phones is tests/e2e/voice/test_voice_missed_ring.py."""

from __future__ import annotations

import uuid
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from omnidesk.channels.voice.calls import utcnow
from omnidesk.channels.voice.context import RingLimit, VoiceContext
from omnidesk.channels.voice.missed_ring import OFFER_GUARD_S, OFFER_TIMEOUT, ring_wait


class Options:
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options

    async def voice_options(self, tenant_id: uuid.UUID) -> dict[str, Any]:
        return self.options


async def _limit(options: dict[str, Any], server_cap: float) -> RingLimit:
    ctx = SimpleNamespace(lookups=Options(options), ring_timeout_s=server_cap)
    return await VoiceContext.ring_limit(ctx, uuid.uuid4())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "cap", "expected"),
    [
        ({"ring_timeout_s": 15}, 30.0, RingLimit(15.0, "ring_timeout_s")),
        ({"ring_timeout_s": 60}, 30.0, RingLimit(30.0, "voice_ring_timeout_seconds")),
        ({"ring_timeout_s": 30}, 30.0, RingLimit(30.0, "ring_timeout_s")),
        ({}, 30.0, RingLimit(20.0, "ring_timeout_s")),  # never saved: the API's default, 20
        ({}, 8.0, RingLimit(8.0, "voice_ring_timeout_seconds")),
    ],
)
async def test_ring_limit_is_the_tenants_capped_by_the_servers(
    options: dict[str, Any], cap: float, expected: RingLimit
) -> None:
    assert await _limit(options, cap) == expected


def test_the_ring_limit_ends_a_ring_when_it_comes_first() -> None:
    wait = ring_wait(RingLimit(20.0, "ring_timeout_s"), utcnow() + timedelta(seconds=30))
    assert (wait.seconds, wait.by) == (20.0, "ring_timeout_s")
    assert ring_wait(RingLimit(20.0, "ring_timeout_s"), None).by == "ring_timeout_s"


@pytest.mark.parametrize("offer_left", [3.0, 19.9, 20.0])
def test_an_offer_ending_first_or_together_is_routings_to_time_out(offer_left: float) -> None:
    # The ring starts just after the offer: equal settings mean the offer ends first.
    wait = ring_wait(RingLimit(20.0, "ring_timeout_s"), utcnow() + timedelta(seconds=offer_left))
    assert wait.by == OFFER_TIMEOUT
    # Omnidesk's own timer is only a guard, well after routing's time-out is due.
    assert offer_left + OFFER_GUARD_S - 0.5 < wait.seconds <= offer_left + OFFER_GUARD_S
