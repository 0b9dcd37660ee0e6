"""Analytics use cases: reports over the rollups, and the KPI settings (no commits here).

Reports sum the 15-minute rows of the range in SQL per 15-minute interval, then add those
into the report's intervals (30/60 min, day, week, month in the tenant's zone) here: every
zone's offset is a multiple of 15 minutes, so each 15-minute row lies in exactly one of them.
"""

from __future__ import annotations

import uuid
from bisect import bisect_right
from collections.abc import Collection
from datetime import UTC, datetime, time
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.analytics import kpis
from omnidesk.analytics import repository as repo
from omnidesk.analytics.facts import SUM_FIELDS, Sums
from omnidesk.analytics.models import KpiSettings, QueueInterval
from omnidesk.analytics.schemas import (
    KpiQueueFigures,
    KpiQueueInterval,
    KpiQueueReport,
    KpiQueueSums,
    KpiSettingsIn,
    KpiSettingsOut,
)
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.database import utcnow
from omnidesk.platform.errors import Forbidden, Invalid
from omnidesk.platform.uow import UnitOfWork

MAX_INTERVALS: Final = 5000


def require_reader(principal: Principal) -> None:
    if principal.role is Role.AGENT:
        raise Forbidden("reports are for supervisors and admins")


def settings_out(row: KpiSettings, *, rebuilding: bool = False) -> KpiSettingsOut:
    return KpiSettingsOut(
        short_abandon_seconds=row.short_abandon_seconds,
        abandons_in_sl="met"
        if row.abandons_in_sl == "met"
        else "ignored"
        if row.abandons_in_sl == "ignored"
        else "missed",
        timezone=row.timezone,
        rebuilding=rebuilding,
    )


async def update_settings(uow: UnitOfWork, by: Principal, data: KpiSettingsIn) -> KpiSettingsOut:
    """Admins only. A new short-abandon threshold changes how visits were classified, so the
    tenant's rollups are dropped in the same transaction and the ingester builds them again."""
    if by.role is not Role.ADMIN:
        raise Forbidden("KPI settings are changed by admins")
    row = await repo.settings(uow.session, by.tenant_id)
    rebuild = row.short_abandon_seconds != data.short_abandon_seconds
    row.short_abandon_seconds = data.short_abandon_seconds
    row.abandons_in_sl = data.abandons_in_sl
    row.timezone = data.timezone
    row.updated_at = utcnow()
    if rebuild:
        await repo.reset(uow.session, by.tenant_id)
    await uow.session.flush()
    return settings_out(row, rebuilding=rebuild)


def check_range(
    start: datetime | None, end: datetime | None, interval: str, zone: ZoneInfo
) -> tuple[datetime, datetime]:
    """The range in UTC (a time without offset is in the tenant's zone; no start: today from
    midnight; no end: the midnight after start), or 422 naming the field that is wrong."""
    if start is None:
        start = datetime.combine(datetime.now(zone).date(), time(), tzinfo=zone)
    elif start.tzinfo is None:
        start = start.replace(tzinfo=zone)
    if end is None:
        end = kpis.next_boundary(start, "day", zone)
    elif end.tzinfo is None:
        end = end.replace(tzinfo=zone)
    for name, value in (("start", start), ("end", end)):
        if not kpis.on_grid(value):
            raise Invalid(f"{name} must be on a 15-minute boundary", field=name)
    if end <= start:
        raise Invalid("end must be after start", field="end")
    if kpis.count_intervals(start, end, interval, zone) > MAX_INTERVALS:
        raise Invalid(
            f"more than {MAX_INTERVALS} intervals: choose a coarser interval or a shorter range",
            field="interval",
        )
    return start.astimezone(UTC), end.astimezone(UTC)


def _queue_sums(sums: Sums) -> KpiQueueSums:
    return KpiQueueSums(
        offered=sums.offered,
        answered=sums.answered,
        answered_in_sl=sums.answered_in_sl,
        abandoned=sums.abandoned,
        short_abandoned=sums.short_abandoned,
        abandoned_in_sl=sums.abandoned_in_sl,
        overflowed=sums.overflowed,
        transferred=sums.transferred,
        handled=sums.answered,
        wait_answered_seconds=sums.wait_answered_us / 1e6,
        wait_abandoned_seconds=sums.wait_abandoned_us / 1e6,
        talk_seconds=sums.talk_us / 1e6,
        hold_seconds=sums.hold_us / 1e6,
        wrap_seconds=sums.wrap_us / 1e6,
    )


def _queue_interval(
    start: datetime, end: datetime, sums: Sums, abandons: kpis.AbandonsInSl
) -> KpiQueueInterval:
    return KpiQueueInterval(
        start=start,
        end=end,
        sums=_queue_sums(sums),
        kpis=KpiQueueFigures(
            service_level=kpis.service_level(sums, abandons),
            asa_seconds=kpis.asa_seconds(sums),
            aht_seconds=kpis.aht_seconds(sums),
            abandon_rate=kpis.abandon_rate(sums),
        ),
    )


async def interval_sums(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    queue_id: str | None = None,
    channel: str | None = None,
    queues: Collection[str] | None = None,
) -> dict[datetime, Sums]:
    """The queue sums per 15-minute interval of arrival in [start, end) (UTC), over every
    answering agent, and every queue and channel unless one is given (`queues`: only these);
    intervals without a row are absent. The read other domains make of the rollups (WFM's
    history and forecast accuracy); current as far as the ingester has got (its `catch_up`)."""
    stmt = select(
        QueueInterval.interval_start, *(func.sum(getattr(QueueInterval, n)) for n in SUM_FIELDS)
    ).where(QueueInterval.interval_start >= start, QueueInterval.interval_start < end)
    if queue_id is not None:
        stmt = stmt.where(QueueInterval.queue_id == queue_id)
    if queues is not None:
        stmt = stmt.where(QueueInterval.queue_id.in_(sorted(queues)))
    if channel is not None:
        stmt = stmt.where(QueueInterval.channel == channel)
    rows = await session.execute(stmt.group_by(QueueInterval.interval_start))
    return {row[0]: Sums(*(int(v or 0) for v in row[1:])) for row in rows}


async def queue_report(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    start: datetime | None,
    end: datetime | None,
    interval: str,
    queue_id: str | None,
    channel: str | None,
    queues: Collection[str] | None = None,
) -> KpiQueueReport:
    """`queues`: only these queues' rows (a supervisor's); None: every queue."""
    settings = await repo.settings(session, tenant_id)
    zone = ZoneInfo(settings.timezone)
    start, end = check_range(start, end, interval, zone)
    edges = kpis.boundaries(start, end, interval, zone)
    buckets = [Sums() for _ in edges[:-1]]
    found = await interval_sums(
        session, start=start, end=end, queue_id=queue_id, channel=channel, queues=queues
    )
    for at, sums in found.items():
        buckets[bisect_right(edges, at) - 1].add(sums)
    total = Sums()
    for sums in buckets:
        total.add(sums)
    abandons = settings_out(settings).abandons_in_sl
    return KpiQueueReport(
        start=start,
        end=end,
        interval=interval,
        timezone=settings.timezone,
        queue_id=queue_id,
        channel=channel,
        intervals=[
            _queue_interval(edges[i], edges[i + 1], sums, abandons)
            for i, sums in enumerate(buckets)
        ],
        total=_queue_interval(start, end, total, abandons),
    )


MAX_EXPORT_ROWS: Final = 100_000


async def queue_reports(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    start: datetime | None,
    end: datetime | None,
    interval: str,
    queue_id: str | None,
    channel: str | None,
    queues: Collection[str] | None,
) -> tuple[str, list[KpiQueueReport]]:
    """The tenant's zone and one report per queue: `queue_id`, or each queue with figures in
    the range (of `queues` when given), for the exports. More than MAX_EXPORT_ROWS rows: 422."""
    settings = await repo.settings(session, tenant_id)
    zone = ZoneInfo(settings.timezone)
    start, end = check_range(start, end, interval, zone)
    if queue_id is not None:
        ids = [queue_id]
    else:
        stmt = (
            select(QueueInterval.queue_id)
            .distinct()
            .where(QueueInterval.interval_start >= start, QueueInterval.interval_start < end)
        )
        if queues is not None:
            stmt = stmt.where(QueueInterval.queue_id.in_(sorted(queues)))
        if channel is not None:
            stmt = stmt.where(QueueInterval.channel == channel)
        ids = sorted(await session.scalars(stmt))
    rows = (kpis.count_intervals(start, end, interval, zone) + 1) * len(ids)
    if rows > MAX_EXPORT_ROWS:
        raise Invalid(
            f"{rows} rows, more than the {MAX_EXPORT_ROWS} an export holds: choose a coarser "
            "interval, a shorter range or one queue",
            field="interval",
        )
    reports = [
        await queue_report(
            session,
            tenant_id,
            start=start,
            end=end,
            interval=interval,
            queue_id=q,
            channel=channel,
            queues=queues,
        )
        for q in ids
    ]
    return settings.timezone, reports
