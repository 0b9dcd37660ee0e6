"""`omnidesk bench realtime`: the realtime hub's fan-out, in-process, with fake sockets.

One tenant of a throwaway SQLite database with N connected sockets (a few admins, one supervisor
per team, agents spread over the teams) registers all at once, then E events shaped like
routing's go through the in-process bus in small batches (one command's worth each): an agent's
own event (that agent, its team's supervisors, the admins), a queue's (the supervisors of its
team, the admins) or an admin-only one. Measured: process CPU per event until every socket has
sent what it may see, messages sent, wake-ups (events queued for a socket), and how many lock
holds the registration took. Figures vary with the machine: reported, not tested.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from fastapi import WebSocket

from omnidesk.app import create_app
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.database import SYSTEM
from omnidesk.platform.events import Audience, PublishedEvent
from omnidesk.platform.realtime import Connection, Hub
from omnidesk.platform.settings import load_settings
from omnidesk.platform.tenancy import create_tenant


class _Socket:
    """Counts what would be written; never slow."""

    def __init__(self, done: asyncio.Event, expected: int) -> None:
        self.messages = 0
        self.bytes = 0
        self.done = done
        self.expected = expected

    async def send_text(self, text: str) -> None:
        self.messages += 1
        self.bytes += len(text)
        if self.messages == self.expected:
            self.done.set()


@dataclass(frozen=True)
class Workload:
    principals: list[Principal]
    events: list[PublishedEvent]


def workload(
    tenant_id: uuid.UUID, *, sockets: int, events: int, teams: int, admins: int, seed: int
) -> Workload:
    rng = random.Random(seed)
    team_ids = [uuid.uuid4() for _ in range(teams)]

    def principal(role: Role, supervised: list[uuid.UUID], member: list[uuid.UUID]) -> Principal:
        user = uuid.uuid4()
        return Principal(
            tenant_id=tenant_id,
            user_id=user,
            username=user.hex[:8],
            role=role,
            supervised_teams=frozenset(supervised),
            member_teams=frozenset(member),
        )

    people = [principal(Role.ADMIN, [], []) for _ in range(min(admins, sockets))]
    people += [principal(Role.SUPERVISOR, [t], [t]) for t in team_ids[: sockets - len(people)]]
    agents = [
        principal(Role.AGENT, [], [team_ids[n % teams]]) for n in range(sockets - len(people))
    ]
    people += agents
    at = datetime(2026, 11, 23, 9, tzinfo=UTC)
    stream = []
    for seq in range(1, events + 1):
        kind = rng.random()
        if kind < 0.7 and agents:  # an agent's own event: state, offer, contact
            agent = rng.choice(agents)
            audience = Audience.of(users=[agent.user_id], teams=agent.member_teams)
        elif kind < 0.95:  # a queue's event: its team's supervisors
            audience = Audience.of(teams=[rng.choice(team_ids)])
        else:
            audience = Audience.of()
        payload = {"agent_id": str(uuid.uuid4()), "state": "available", "at": at.isoformat()}
        stream.append(
            PublishedEvent(
                tenant_id=tenant_id,
                seq=seq,
                type="routing.agent_state_changed",
                version=1,
                occurred_at=at,
                actor_id=None,
                subject_type="agent",
                subject_id=payload["agent_id"],
                payload=payload,
                audience=audience,
            )
        )
    return Workload(people, stream)


def run(
    sockets: int = 1000,
    events: int = 2000,
    *,
    teams: int = 50,
    admins: int = 5,
    batch: int = 3,
    seed: int = 0,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="omnidesk-bench-realtime-") as tmp:
        return asyncio.run(_run(Path(tmp), sockets, events, teams, admins, batch, seed))


async def _run(
    tmp: Path, sockets: int, events: int, teams: int, admins: int, batch: int, seed: int
) -> dict[str, Any]:
    settings = load_settings(
        None, database_url=f"sqlite:///{tmp / 'bench.db'}", data_dir=tmp, log_level="warning"
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        db = app.state.services.db
        session = db.session(SYSTEM)
        try:
            tenant = await create_tenant(session, "bench", "Bench")
            await session.commit()
        finally:
            await session.close()
        hub: Hub = app.state.hub
        work = workload(
            tenant.id, sockets=sockets, events=events, teams=teams, admins=admins, seed=seed
        )
        return await _measure(hub, work, batch)


async def _measure(hub: Hub, work: Workload, batch: int) -> dict[str, Any]:
    done: list[asyncio.Event] = []
    connections = []
    for principal in work.principals:
        # Its snapshot, then every event it may see (worked out here, outside the timing).
        expected = 1 + sum(1 for e in work.events if principal.sees(e.audience))
        done.append(asyncio.Event())
        socket = _Socket(done[-1], expected)
        connections.append(Connection(hub, cast(WebSocket, socket), principal))
    snapshots = hub.snapshots(work.principals[0].tenant_id)
    started = time.perf_counter()
    await asyncio.gather(*(c.start(None) for c in connections))
    register_seconds = time.perf_counter() - started
    pumps = [asyncio.create_task(c.pump()) for c in connections]
    bus = hub.services.bus
    cpu, wall = time.process_time(), time.perf_counter()
    for first in range(0, len(work.events), batch):
        await bus.publish(work.events[first : first + batch])
        await asyncio.sleep(0)  # the sockets send between commands, as they would
    for event in done:
        await event.wait()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    for task in pumps:
        task.cancel()
    await asyncio.gather(*pumps, return_exceptions=True)
    sent = sum(cast(_Socket, c.websocket).messages - 1 for c in connections)
    for connection in connections:
        hub.detach(connection)
    count = len(work.events)
    return {
        "params": {"sockets": len(connections), "events": count, "batch": batch},
        "cpu_us_per_event": round(cpu / count * 1e6, 1),
        "wall_us_per_event": round(wall / count * 1e6, 1),
        "messages_sent": sent,
        "messages_per_event": round(sent / count, 2),
        "cpu_us_per_message": round(cpu / sent * 1e6, 2) if sent else None,
        "wakeups": sum(c.wakeups for c in connections),
        "register_seconds": round(register_seconds, 3),
        "register_lock_holds": snapshots.holds,
        "register_views_built": snapshots.views_built,
    }
