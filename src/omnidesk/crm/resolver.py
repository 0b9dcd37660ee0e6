"""Resolver: single resolutions that arrive together share one unit of work (micro-batching).

A contact center resolves one caller per contact, but contacts arrive many at once. A
transaction per resolution is bounded by one async transaction's round trips (BEGIN, lookup,
COMMIT: ~300-400/s, docs/crm.md "Speed"), while identities.resolve_many() does 100 in about
the time of a few. So `Resolver.resolve()` queues the request and one task per tenant resolves
everything queued in one unit of work: the tenant's settings read once, each identity
normalised (an invalid one fails its own caller only), one resolve_many(), one commit. Requests
that arrive while a batch is being written wait for the next one; a lone request is resolved at
once (no timer: the batch is whatever arrived meanwhile, as in routing's group commit).

Each caller gets its own result only after the commit (the customer it names exists for every
other transaction from then on). When a batch fails (a lost connection, a constraint firing),
each of its requests is retried alone in a unit of work of its own, so a request that cannot
be resolved fails only its own caller and the others still get their customer.

The unique key of identities still decides races (identities.py): two requests for the same new
identity in one batch are one key and create one customer; in two batches or two processes the
second finds the first's.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from dataclasses import dataclass, replace

from omnidesk.crm import identities, normalize
from omnidesk.crm import repository as repo
from omnidesk.crm.identities import Resolution
from omnidesk.crm.normalize import IdentityKey
from omnidesk.crm.schemas import IdentityIn
from omnidesk.platform.bus import EventBus
from omnidesk.platform.database import Database
from omnidesk.platform.errors import Invalid
from omnidesk.platform.logging import get_logger
from omnidesk.platform.uow import UnitOfWork

log = get_logger(__name__)
MAX_BATCH = 200  # resolutions per unit of work at most (statement sizes stay small)


@dataclass(frozen=True, slots=True, eq=False)  # each request is its own (a dict key)
class _Request:
    identity: IdentityIn
    source: str
    field: str
    done: asyncio.Future[Resolution]


class Resolver:
    """identities.resolve() for callers that each have one identity and no transaction of
    their own to put it in (a contact arriving)."""

    def __init__(self, db: Database, bus: EventBus, *, max_batch: int = MAX_BATCH) -> None:
        self.db = db
        self.bus = bus
        self.max_batch = max_batch
        self._queues: dict[uuid.UUID, list[_Request]] = {}
        self._tasks: dict[uuid.UUID, asyncio.Task[None]] = {}
        self.batches = 0  # units of work written (what tests and the bench read)

    async def resolve(
        self,
        tenant_id: uuid.UUID,
        identity: IdentityIn,
        *,
        source: str = "resolve",
        field: str = "value",
    ) -> Resolution:
        """The customer of a (raw) identity, created when unknown; Invalid (naming `field`)
        when it is not a valid identity. Committed when it returns."""
        done: asyncio.Future[Resolution] = asyncio.get_running_loop().create_future()
        self._queues.setdefault(tenant_id, []).append(_Request(identity, source, field, done))
        task = self._tasks.get(tenant_id)
        if task is None or task.done():
            self._tasks[tenant_id] = asyncio.create_task(
                self._drain(tenant_id), name=f"crm-resolver-{tenant_id}"
            )
        return await done

    async def _drain(self, tenant_id: uuid.UUID) -> None:
        try:
            while queue := self._queues.get(tenant_id):
                batch = queue[: self.max_batch]
                del queue[: self.max_batch]
                await self._batch(tenant_id, batch)
        finally:
            # Nothing awaits between the empty queue and here: no request can be left behind
            # (the queue holds some only when this task was cancelled mid-batch).
            for request in self._queues.pop(tenant_id, ()):
                _fail(request, RuntimeError("the CRM resolver stopped"))
            self._tasks.pop(tenant_id, None)

    async def _batch(self, tenant_id: uuid.UUID, batch: list[_Request]) -> None:
        live = [r for r in batch if not r.done.done()]  # a caller gone needs no answer
        if not live:
            return
        try:
            results = await self._resolve(tenant_id, live)
        except Exception as error:
            if len(live) == 1:
                _fail(live[0], error)
                return
            log.warning("crm.resolver_batch_failed", tenant=str(tenant_id), size=len(live))
            # Find who it was: each alone, so one bad request fails only its own caller.
            for request in live:
                try:
                    await self._answer(request, await self._resolve(tenant_id, [request]))
                except Exception as error:
                    _fail(request, error)
            return
        for request in live:
            await self._answer(request, results)

    @staticmethod
    async def _answer(request: _Request, results: dict[_Request, Resolution | Exception]) -> None:
        outcome = results[request]
        if isinstance(outcome, Exception):
            _fail(request, outcome)
        elif not request.done.done():
            request.done.set_result(outcome)

    async def _resolve(
        self, tenant_id: uuid.UUID, requests: list[_Request]
    ) -> dict[_Request, Resolution | Exception]:
        """One unit of work for the requests; an invalid identity is its request's outcome,
        anything else raised fails the whole unit of work."""
        session = self.db.session(tenant_id)
        try:
            async with UnitOfWork(session, self.bus, tenant_id=tenant_id) as uow:
                settings = await repo.settings(session, tenant_id)
                region = settings.default_region
                outcomes: dict[_Request, Resolution | Exception] = {}
                keys: dict[str, list[tuple[_Request, IdentityKey]]] = defaultdict(list)
                for request in requests:
                    given = request.identity
                    try:
                        key = normalize.identity(
                            given.kind,
                            given.value,
                            provider=given.provider,
                            region=region,
                            field=request.field,
                        )
                    except Invalid as error:
                        outcomes[request] = error
                        continue
                    keys[request.source].append((request, key))
                # One resolve_many per source (it names the source in CustomerCreated); the
                # same new identity under two sources is created by the first, found by the
                # second (its own transaction's insert).
                seen: set[IdentityKey] = set()
                for source, pairs in keys.items():
                    found = await identities.resolve_many(
                        uow, [key for _, key in pairs], source=source
                    )
                    for (request, key), r in zip(pairs, found, strict=True):
                        # Several callers with one new identity: the first created it, the
                        # others found it (as they would have one after the other).
                        outcomes[request] = replace(r, created=False) if key in seen else r
                        seen.add(key)
            self.batches += 1
            return outcomes
        finally:
            await session.close()


def _fail(request: _Request, error: BaseException) -> None:
    if not request.done.done():
        request.done.set_exception(error)
        request.done.exception()  # retrieved: a caller gone is no error
