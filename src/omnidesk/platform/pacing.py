"""Pacing for the event log's followers (the CRM's interaction projection, the KPI ingester).

Each follower is woken by every committed event. Applying events one wake-up at a time costs a
transaction of several statements per event, and on a quiet machine the follower is always
fast enough to catch every event alone: measured with `omnidesk bench server` (200 agents,
20 contacts/s on PostgreSQL), the database client work of the followers' one-event batches was
the largest share of the server's CPU. A pacer lets the first run after a quiet spell start at
once and holds runs that would follow closer than `interval` for the rest of it, so events that
arrive meanwhile are applied together (the follower lags by at most `interval` plus its work).
"""

from __future__ import annotations

import asyncio
import math


class Pacer:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last = -math.inf

    async def wait_turn(self) -> None:
        """Return when the next run may start (at once, or `interval` after the last start)."""
        loop = asyncio.get_running_loop()
        delay = self._last + self.interval - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        self._last = loop.time()
