"""Replays from the event log in a reconnect storm: every resuming socket reads the log, but only
`realtime_db_turns` of them at once hold a database connection for it; the others wait for a
turn (holding nothing), so a storm cannot drain the connection pool. Each still gets all it
missed, once and in order."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from realtime_client import ViewClient

from omnidesk.platform import eventlog

READERS = 2
SOCKETS = 8


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    # No replay from memory: every resume reads the log, as after the fan-out was dropped.
    return settings.model_copy(update={"realtime_replay_buffer": 0, "realtime_db_turns": READERS})


class GatedReads:
    """Wraps `eventlog.read_after`: counts the reads in progress (each inside a session, holding
    a connection) and keeps them waiting at a gate until the test opens it."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.inside = 0
        self.most = 0
        self.gate = asyncio.Event()

    async def __call__(self, session: Any, after: int, **kwargs: Any) -> Any:
        self.inside += 1
        self.most = max(self.most, self.inside)
        try:
            await self.gate.wait()
            return await self.real(session, after, **kwargs)
        finally:
            self.inside -= 1


def test_a_storm_of_resumes_reads_the_log_a_few_at_a_time(
    app, client, as_user, tenants, monkeypatch
):
    ids = tenants["demo"].ids
    admin = as_user("admin")
    r = admin.patch(f"/api/v1/users/{ids['agent1']}", json={"display_name": "Agent One"})
    assert r.status_code == 200, r.text
    hub = app.state.hub
    reads = GatedReads(eventlog.read_after)
    monkeypatch.setattr(eventlog, "read_after", reads)

    async def all_replays_started() -> None:
        # Every socket is reading or waiting for its turn; none goes further until the gate
        # opens. Without the bound all of them would be reading (each with a connection).
        # (Polled, one loop turn at a time: the hub's count of waiting reads signals nothing.)
        while reads.inside + hub.turns_waiting < SOCKETS:  # noqa: ASYNC110
            await asyncio.sleep(0)
        reads.gate.set()

    with contextlib.ExitStack() as stack:
        clients = [
            ViewClient(stack.enter_context(admin.websocket()), ids["admin"]) for _ in range(SOCKETS)
        ]
        for c in clients:
            c.register(last_event_id=0)
        client.portal.call(all_replays_started)
        heads = [c.sync() for c in clients]
    assert reads.most == READERS
    assert hub.turns_waiting == 0
    # Each got every event of the log, once and in order (ViewClient checks the order).
    assert len(set(heads)) == 1
    for c in clients:
        assert [e["id"] for e in c.events] == list(range(1, heads[0] + 1))
