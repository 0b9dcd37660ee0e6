"""Team and disposition reports over their rollups (docs/kpis.md, "Teams", "Dispositions").

As the queue and agent reports: the 15-minute rows of the range are summed in SQL per row
key and interval, then added into the report's intervals in the tenant's zone here.
"""

from __future__ import annotations

import uuid
from bisect import bisect_right
from collections.abc import Collection
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.analytics import kpis
from omnidesk.analytics import repository as repo
from omnidesk.analytics.facts import SUM_FIELDS, Sums
from omnidesk.analytics.models import DispositionInterval, TeamInterval
from omnidesk.analytics.schemas import (
    KpiDispositionFigures,
    KpiDispositionInterval,
    KpiDispositionReport,
    KpiDispositionsReport,
    KpiDispositionSums,
    KpiTeamFigures,
    KpiTeamInterval,
    KpiTeamReport,
    KpiTeamsReport,
    KpiTeamSums,
)
from omnidesk.analytics.service import MAX_EXPORT_ROWS, check_range
from omnidesk.directory.models import Team
from omnidesk.platform.errors import Invalid

# The key of the disposition rows of visits left without one.
NONE: Final = ""


def _team_interval(start: datetime, end: datetime, sums: Sums) -> KpiTeamInterval:
    return KpiTeamInterval(
        start=start,
        end=end,
        sums=KpiTeamSums(
            handled=sums.answered,
            answered_in_sl=sums.answered_in_sl,
            transferred=sums.transferred,
            wait_answered_seconds=sums.wait_answered_us / 1e6,
            talk_seconds=sums.talk_us / 1e6,
            hold_seconds=sums.hold_us / 1e6,
            wrap_seconds=sums.wrap_us / 1e6,
        ),
        kpis=KpiTeamFigures(asa_seconds=kpis.asa_seconds(sums), aht_seconds=kpis.aht_seconds(sums)),
    )


def _disposition_interval(start: datetime, end: datetime, sums: Sums) -> KpiDispositionInterval:
    return KpiDispositionInterval(
        start=start,
        end=end,
        sums=KpiDispositionSums(
            handled=sums.answered,
            talk_seconds=sums.talk_us / 1e6,
            hold_seconds=sums.hold_us / 1e6,
            wrap_seconds=sums.wrap_us / 1e6,
            handle_seconds=(sums.talk_us + sums.hold_us + sums.wrap_us) / 1e6,
        ),
        kpis=KpiDispositionFigures(aht_seconds=kpis.aht_seconds(sums)),
    )


def _check_rows(start: datetime, end: datetime, interval: str, zone: ZoneInfo, keys: int) -> None:
    rows = (kpis.count_intervals(start, end, interval, zone) + 1) * keys
    if rows > MAX_EXPORT_ROWS:
        raise Invalid(
            f"{rows} rows, more than the {MAX_EXPORT_ROWS} a report holds: choose a coarser "
            "interval or a shorter range",
            field="interval",
        )


async def team_report(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    start: datetime | None,
    end: datetime | None,
    interval: str,
    team_id: str | None,
    teams: Collection[str] | None = None,
) -> KpiTeamsReport:
    """Per team: the visits its agents answered. `team_id`: that team only; otherwise every
    team there is now and every team with figures in the range (a deleted team keeps its
    history). `teams`: only these (a supervisor's); None: every team."""
    settings = await repo.settings(session, tenant_id)
    zone = ZoneInfo(settings.timezone)
    start, end = check_range(start, end, interval, zone)
    edges = kpis.boundaries(start, end, interval, zone)
    names = {str(i): n for i, n in await session.execute(select(Team.id, Team.name))}
    stmt = select(
        TeamInterval.team_id,
        TeamInterval.interval_start,
        *(func.sum(getattr(TeamInterval, n)) for n in SUM_FIELDS),
    ).where(TeamInterval.interval_start >= start, TeamInterval.interval_start < end)
    if team_id is not None:
        stmt = stmt.where(TeamInterval.team_id == team_id)
        ids = {team_id}
    else:
        ids = set(names)
    if teams is not None:
        stmt = stmt.where(TeamInterval.team_id.in_(sorted(teams)))
    rows = (
        await session.execute(stmt.group_by(TeamInterval.team_id, TeamInterval.interval_start))
    ).all()
    ids |= {row[0] for row in rows}
    if teams is not None:
        ids &= set(teams)
    _check_rows(start, end, interval, zone, len(ids))
    found = {team: [Sums() for _ in edges[:-1]] for team in ids}
    for row in rows:
        found[row[0]][bisect_right(edges, row[1]) - 1].add(Sums(*(int(v or 0) for v in row[2:])))
    reports = []
    for team in sorted(ids, key=lambda t: (names.get(t) is None, names.get(t) or "", t)):
        total = Sums()
        for part in found[team]:
            total.add(part)
        reports.append(
            KpiTeamReport(
                team_id=team,
                name=names.get(team),
                intervals=[
                    _team_interval(edges[i], edges[i + 1], part)
                    for i, part in enumerate(found[team])
                ],
                total=_team_interval(start, end, total),
            )
        )
    return KpiTeamsReport(
        start=start, end=end, interval=interval, timezone=settings.timezone, teams=reports
    )


async def disposition_report(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    start: datetime | None,
    end: datetime | None,
    interval: str,
    queue_id: str | None,
    queues: Collection[str] | None = None,
) -> KpiDispositionsReport:
    """Per disposition code ("none" as null): the answered visits left with it, by arrival.
    `queues`: only these queues' visits (a supervisor's); None: every queue."""
    settings = await repo.settings(session, tenant_id)
    zone = ZoneInfo(settings.timezone)
    start, end = check_range(start, end, interval, zone)
    edges = kpis.boundaries(start, end, interval, zone)
    d = DispositionInterval
    stmt = (
        select(
            d.disposition,
            d.interval_start,
            func.sum(d.handled),
            func.sum(d.talk_us),
            func.sum(d.hold_us),
            func.sum(d.wrap_us),
        )
        .where(d.interval_start >= start, d.interval_start < end)
        .group_by(d.disposition, d.interval_start)
    )
    if queue_id is not None:
        stmt = stmt.where(d.queue_id == queue_id)
    if queues is not None:
        stmt = stmt.where(d.queue_id.in_(sorted(queues)))
    found: dict[str, list[Sums]] = {}
    for code, at, handled, talk, hold, wrap in await session.execute(stmt):
        sums = Sums(
            answered=int(handled or 0),
            talk_us=int(talk or 0),
            hold_us=int(hold or 0),
            wrap_us=int(wrap or 0),
        )
        if sums == Sums():
            continue  # a row a visit moved out of (another disposition later): nothing left
        buckets = found.setdefault(code, [Sums() for _ in edges[:-1]])
        buckets[bisect_right(edges, at) - 1].add(sums)
    _check_rows(start, end, interval, zone, len(found) + 1)
    everything = Sums()
    reports = []
    for code in sorted(found, key=lambda c: (c == NONE, c)):
        total = Sums()
        for part in found[code]:
            total.add(part)
        everything.add(total)
        reports.append(
            KpiDispositionReport(
                disposition=code if code != NONE else None,
                intervals=[
                    _disposition_interval(edges[i], edges[i + 1], part)
                    for i, part in enumerate(found[code])
                ],
                total=_disposition_interval(start, end, total),
            )
        )
    return KpiDispositionsReport(
        start=start,
        end=end,
        interval=interval,
        timezone=settings.timezone,
        queue_id=queue_id,
        dispositions=reports,
        total=_disposition_interval(start, end, everything),
    )
