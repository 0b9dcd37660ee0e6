"""Snapshots of one tenant, built in rounds so that a reconnect storm does not stack lock holds.

A snapshot must be read under every provider's `hold` (the routing host's lock) and in one
consistent database transaction with its `last_event_id`. Built one socket at a time, a thousand
sockets reconnecting at once take that lock (and, on SQLite, the write lock) a thousand times
in a row. Instead, whoever asks while a round is being built joins the next round, which takes
the holds and the transaction once for all of them:

- one build per *view*: principals that may see the same things (every admin of the tenant,
  unless a provider is `personal`; or the same user on several sockets) share one section and
  one serialised text;
- a round holds the lock for at most about `HOLD_BUDGET` seconds of building (at least one
  view): the rest of the round continues under a fresh hold, so commands waiting for the lock
  go in between;
- each view gets the `last_event_id` read in the transaction it was built in.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from omnidesk.platform import eventlog
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.database import Database

if TYPE_CHECKING:
    from omnidesk.platform.realtime import SnapshotProvider

# Seconds of building per hold of the providers' locks (after the first view). Short enough
# that a command waiting for the routing lock is not held up noticeably by a storm.
HOLD_BUDGET = 0.02


@dataclass(frozen=True)
class Snapshot:
    last_event_id: int
    state_json: str  # the `state` object, serialised once for every socket of the view

    def message(self, reason: str) -> str:
        # Composed around the shared text rather than re-serialising the state per socket.
        head = json.dumps(
            {"type": "snapshot", "reason": reason, "last_event_id": self.last_event_id},
            separators=(",", ":"),
        )
        return f'{head[:-1]},"state":{self.state_json}}}'


def view_key(principal: Principal, *, personal: bool = False) -> Hashable:
    """Principals with the same key get the same snapshot (the fields `sees` and the
    providers read; admins see all of their tenant). `personal`: a provider's section depends
    on the user themselves (their own messages and read markers), so admins do not share."""
    if principal.is_admin and not personal:
        return ("admin",)
    return (
        principal.role,
        principal.user_id,
        principal.supervised_teams,
        principal.member_teams,
    )


@dataclass
class _View:
    principal: Principal
    result: asyncio.Future[Snapshot]


@dataclass
class _Round:
    views: dict[Hashable, _View] = field(default_factory=dict)


def _retrieve(future: asyncio.Future[Snapshot]) -> None:
    # A view whose sockets all went away leaves nobody to look at its failure.
    if not future.cancelled():
        future.exception()


class TenantSnapshots:
    def __init__(
        self, tenant_id: uuid.UUID, db: Database, providers: list[SnapshotProvider]
    ) -> None:
        self.tenant_id = tenant_id
        self.db = db
        self.providers = providers
        self.personal = any(getattr(p, "personal", False) for p in providers)
        self._next: _Round | None = None
        self._building = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        # Counters for tests and `omnidesk bench realtime`.
        self.holds = 0
        self.views_built = 0
        self.requests = 0

    async def snapshot(self, principal: Principal) -> Snapshot:
        self.requests += 1
        if self._next is None:
            self._next = _Round()
            task = asyncio.create_task(self._run(), name="realtime-snapshot-round")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        views = self._next.views
        key = view_key(principal, personal=self.personal)
        view = views.get(key)
        if view is None:
            future: asyncio.Future[Snapshot] = asyncio.get_running_loop().create_future()
            future.add_done_callback(_retrieve)
            view = views[key] = _View(principal, future)
        # Shielded: a socket that goes away must not cancel the view others wait for.
        return await asyncio.shield(view.result)

    async def _run(self) -> None:
        async with self._building:
            # From here on, whoever asks starts (and joins) the next round.
            assert self._next is not None
            todo, self._next = list(self._next.views.values()), None
            try:
                while todo:
                    todo = await self._build_some(todo)
            except BaseException as exc:
                for view in todo:
                    if not view.result.done():
                        view.result.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise

    async def _build_some(self, todo: list[_View]) -> list[_View]:
        """Build views in one transaction and one hold until the budget is spent; returns
        those left for the next."""
        held_providers = [p for p in self.providers if getattr(p, "hold", None) is not None]
        states: list[dict[str, Any]] = []
        async with contextlib.AsyncExitStack() as held:
            # Held before the database session is opened, as writers take them, and until the
            # transaction's snapshot is fixed (its first read, the last event id) and the held
            # sections are built: they and that id then describe the same instant.
            for provider in held_providers:
                await held.enter_async_context(provider.hold(todo[0].principal))  # type: ignore[attr-defined]
            self.holds += 1
            async with self.db.snapshot_session(self.tenant_id) as session:
                seq = await eventlog.last_seq(session, self.tenant_id)
                started = time.perf_counter()
                for view in todo:
                    states.append(
                        {p.name: await p.build(session, view.principal) for p in held_providers}
                    )
                    if time.perf_counter() - started >= HOLD_BUDGET:
                        break
                # The database sections read the same snapshot; the holds are no longer needed
                # (the routing engine may move on while the directory is read).
                await held.aclose()
                built = todo[: len(states)]
                for view, state in zip(built, states, strict=True):
                    for provider in self.providers:
                        if provider not in held_providers:
                            state[provider.name] = await provider.build(session, view.principal)
                    # Sent at once: no lock is held any more (the transaction blocks nobody).
                    ordered = {p.name: state[p.name] for p in self.providers}
                    text = json.dumps(ordered, separators=(",", ":"))
                    view.result.set_result(Snapshot(seq, text))
                    self.views_built += 1
        return todo[len(built) :]

    def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
