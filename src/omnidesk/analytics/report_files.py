"""The reports as files, built one way for the export routes and the scheduled report mails
(scheduler.py): the same range, filters and visibility give the same file.

The caller asks routing for the names and the visible queues or agents first (never inside a
session) and passes them in."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.analytics import agents as agent_reports
from omnidesk.analytics import contacts, exports, service
from omnidesk.analytics.schemas import KpiContactVisits
from omnidesk.analytics.tables import MEDIA_TYPES, Format, Table, render
from omnidesk.platform.errors import Invalid
from omnidesk.routing.api import Routing


async def names(routing: Routing, tenant_id: uuid.UUID) -> tuple[dict[str, str], dict[str, str]]:
    """Queue and agent names by id, asked of routing before any unit of work opens."""

    def read(r: Any) -> tuple[dict[str, str], dict[str, str]]:
        return (
            {q: str(d.get("name") or "") for q, d in r.queues().items()},
            {a: str(d.get("name") or "") for a, d in r.agents().items()},
        )

    result: tuple[dict[str, str], dict[str, str]] = await routing.read(tenant_id, read)
    return result


@dataclass(frozen=True)
class ReportFile:
    filename: str
    media_type: str
    content: bytes


def as_file(table: Table, fmt: Format, name: str, start: datetime, end: datetime) -> ReportFile:
    zone: ZoneInfo = table.zone
    first = start.astimezone(zone).date().isoformat()
    last = end.astimezone(zone).date().isoformat()
    return ReportFile(f"omnidesk-{name}-{first}-{last}.{fmt}", MEDIA_TYPES[fmt], render(table, fmt))


def _range(
    reports: list[Any], start: datetime | None, end: datetime | None, zone: str
) -> tuple[datetime, datetime]:
    """The report's range for the file name (with no report, as the request named it)."""
    if reports:
        return reports[0].start, reports[0].end
    return service.check_range(start, end, "day", ZoneInfo(zone))


async def queues_file(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    fmt: Format,
    *,
    start: datetime | None,
    end: datetime | None,
    interval: str,
    queue_id: str | None,
    channel: str | None,
    queues: frozenset[str] | None,
    names: Mapping[str, str],
) -> ReportFile:
    zone, reports = await service.queue_reports(
        session,
        tenant_id,
        start=start,
        end=end,
        interval=interval,
        queue_id=queue_id,
        channel=channel,
        queues=queues,
    )
    table = exports.queue_table(reports, names, zone)
    first, last = _range(reports, start, end, zone)
    return as_file(table, fmt, "queues", first, last)


async def agents_file(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    fmt: Format,
    *,
    start: datetime | None,
    end: datetime | None,
    interval: str,
    agent_id: str | None,
    agents: frozenset[str] | None,
    names: Mapping[str, str],
) -> ReportFile:
    report = await agent_reports.agent_report(
        session,
        tenant_id,
        start=start,
        end=end,
        interval=interval,
        agent_id=agent_id,
        agents=agents,
    )
    table = exports.agent_table(report.agents, names, report.timezone)
    if len(table.rows) > service.MAX_EXPORT_ROWS:
        raise Invalid(
            f"{len(table.rows)} rows, more than the {service.MAX_EXPORT_ROWS} an export holds: "
            "choose a coarser interval, a shorter range or one agent",
            field="interval",
        )
    return as_file(table, fmt, "agents", report.start, report.end)


async def contact_visits(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    start: datetime | None,
    end: datetime | None,
    queue_id: str | None,
    channel: str | None,
    queues: frozenset[str] | None,
    queue_names: Mapping[str, str],
    agent_names: Mapping[str, str],
) -> KpiContactVisits:
    return await contacts.contact_visits(
        session,
        tenant_id,
        start=start,
        end=end,
        queue_id=queue_id,
        channel=channel,
        queues=queues,
        queue_names=queue_names,
        agent_names=agent_names,
    )


def contacts_file(report: KpiContactVisits, fmt: Format) -> ReportFile:
    return as_file(exports.contact_table(report), fmt, "contacts", report.start, report.end)
