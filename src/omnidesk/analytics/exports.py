"""The reports as tables for CSV and XLSX: the same figures as the JSON reports, flattened.

Queue and agent tables have one row per queue (or agent) and interval, then one `total` row per
queue (or agent) over the whole range: ratios (service level, occupancy) cannot be summed from
the interval rows, so the range's own figure is given. Durations are in seconds, shares as
fractions 0-1 (formatted as percentages in XLSX).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final
from zoneinfo import ZoneInfo

from omnidesk.analytics.schemas import (
    KpiAgentInterval,
    KpiAgentReport,
    KpiContactVisits,
    KpiDispositionInterval,
    KpiDispositionsReport,
    KpiJourneyReport,
    KpiQueueInterval,
    KpiQueueReport,
    KpiTeamInterval,
    KpiTeamsReport,
)
from omnidesk.analytics.tables import Cell, Column, Table

DATE: Final = "yyyy-mm-dd hh:mm"
SHARE: Final = "0.0%"


def _interval_columns(zone: str) -> list[Column]:
    return [
        Column("row", "Row (interval | total)"),
        Column("start", f"Interval start ({zone})", DATE),
        Column("end", f"Interval end ({zone})", DATE),
    ]


QUEUE_FIGURES: Final = (
    Column("offered", "Offered"),
    Column("answered", "Answered"),
    Column("answered_in_sl", "Answered within service level"),
    Column("abandoned", "Abandoned (short included)"),
    Column("short_abandoned", "Short abandoned"),
    Column("abandoned_in_sl", "Abandoned within service level"),
    Column("overflowed", "Overflowed"),
    Column("transferred", "Transferred"),
    Column("handled", "Handled"),
    Column("wait_answered_seconds", "Wait of answered (s)"),
    Column("wait_abandoned_seconds", "Wait of abandoned (s)"),
    Column("talk_seconds", "Talk (s)"),
    Column("hold_seconds", "Hold (s)"),
    Column("wrap_seconds", "Wrap-up (s)"),
    Column("service_level", "Service level (0-1)", SHARE),
    Column("asa_seconds", "ASA (s)"),
    Column("aht_seconds", "AHT (s)"),
    Column("abandon_rate", "Abandon rate (0-1)", SHARE),
)


def _queue_cells(part: KpiQueueInterval) -> list[Cell]:
    values = {**part.sums.model_dump(), **part.kpis.model_dump()}
    return [values[c.key] for c in QUEUE_FIGURES]


def queue_table(
    reports: Sequence[KpiQueueReport], names: Mapping[str, str], timezone: str
) -> Table:
    """One report per queue (its `queue_id` set)."""
    columns = [
        *_interval_columns(timezone),
        Column("queue_id", "Queue id"),
        Column("queue_name", "Queue"),
        Column("channel", "Channel (all when empty)"),
        *QUEUE_FIGURES,
    ]
    table = Table("Queues", ZoneInfo(timezone), columns)
    for report in reports:
        queue = report.queue_id or ""
        label: list[Cell] = [queue, names.get(queue), report.channel]
        for part in report.intervals:
            table.rows.append(["interval", part.start, part.end, *label, *_queue_cells(part)])
        total = report.total
        table.rows.append(["total", total.start, total.end, *label, *_queue_cells(total)])
    return table


AGENT_FIGURES: Final = (
    Column("handled", "Handled"),
    Column("talk_seconds", "Talk (s)"),
    Column("hold_seconds", "Hold (s)"),
    Column("wrap_seconds", "Wrap-up (s)"),
    Column("aht_seconds", "AHT (s)"),
    Column("occupancy", "Occupancy (0-1)", SHARE),
    Column("csat_answers", "CSAT answers"),
    Column("csat_satisfied", "CSAT satisfied (4-5)"),
    Column("csat", "CSAT (0-1)", SHARE),
    Column("evaluations", "Quality evaluations"),
    Column("quality_score", "Quality score (%)"),
    Column("fcr_resolved", "Resolved"),
    Column("fcr_repeated", "Resolved, repeated"),
    Column("fcr_first_contact_resolved", "First-contact resolved"),
    Column("fcr_provisional", "First-contact resolved, window open"),
    Column("fcr", "FCR (0-1)", SHARE),
    Column("scheduled_seconds", "Scheduled (s)"),
    Column("in_adherence_seconds", "In adherence (s)"),
    Column("adherence", "Adherence (0-1)", SHARE),
)


def _agent_cells(part: KpiAgentInterval, states: Sequence[str]) -> list[Cell]:
    values = {**part.sums.model_dump(), **part.kpis.model_dump()}
    return [
        *(values[c.key] for c in AGENT_FIGURES),
        *(part.sums.state_seconds.get(s, 0.0) for s in states),
    ]


def agent_table(agents: Sequence[KpiAgentReport], names: Mapping[str, str], timezone: str) -> Table:
    # One column per state (away per reason) that any agent was in over the range.
    states = sorted({s for a in agents for s in a.total.sums.state_seconds})
    columns = [
        *_interval_columns(timezone),
        Column("agent_id", "Agent id"),
        Column("agent_name", "Agent"),
        *AGENT_FIGURES,
        *(Column(f"state:{s}", f"Time {s} (s)") for s in states),
    ]
    table = Table("Agents", ZoneInfo(timezone), columns)
    for agent in agents:
        label: list[Cell] = [agent.agent_id, names.get(agent.agent_id)]
        for part in agent.intervals:
            cells = _agent_cells(part, states)
            table.rows.append(["interval", part.start, part.end, *label, *cells])
        total = agent.total
        table.rows.append(["total", total.start, total.end, *label, *_agent_cells(total, states)])
    return table


TEAM_FIGURES: Final = (
    Column("handled", "Handled"),
    Column("answered_in_sl", "Answered within service level"),
    Column("transferred", "Transferred"),
    Column("wait_answered_seconds", "Wait of answered (s)"),
    Column("talk_seconds", "Talk (s)"),
    Column("hold_seconds", "Hold (s)"),
    Column("wrap_seconds", "Wrap-up (s)"),
    Column("asa_seconds", "ASA (s)"),
    Column("aht_seconds", "AHT (s)"),
)


def _team_cells(part: KpiTeamInterval) -> list[Cell]:
    values = {**part.sums.model_dump(), **part.kpis.model_dump()}
    return [values[c.key] for c in TEAM_FIGURES]


def team_table(report: KpiTeamsReport) -> Table:
    columns = [
        *_interval_columns(report.timezone),
        Column("team_id", "Team id"),
        Column("team_name", "Team"),
        *TEAM_FIGURES,
    ]
    table = Table("Teams", ZoneInfo(report.timezone), columns)
    for team in report.teams:
        label: list[Cell] = [team.team_id, team.name]
        for part in team.intervals:
            table.rows.append(["interval", part.start, part.end, *label, *_team_cells(part)])
        total = team.total
        table.rows.append(["total", total.start, total.end, *label, *_team_cells(total)])
    return table


DISPOSITION_FIGURES: Final = (
    Column("handled", "Handled"),
    Column("talk_seconds", "Talk (s)"),
    Column("hold_seconds", "Hold (s)"),
    Column("wrap_seconds", "Wrap-up (s)"),
    Column("handle_seconds", "Handle time (s)"),
    Column("aht_seconds", "AHT (s)"),
)


def _disposition_cells(part: KpiDispositionInterval) -> list[Cell]:
    values = {**part.sums.model_dump(), **part.kpis.model_dump()}
    return [values[c.key] for c in DISPOSITION_FIGURES]


def disposition_table(report: KpiDispositionsReport) -> Table:
    """One row per disposition and interval, each disposition's total, then the total over
    every disposition (`disposition` empty on that row, `none` for visits without one)."""
    columns = [
        *_interval_columns(report.timezone),
        Column("queue_id", "Queue id (all when empty)"),
        Column("disposition", "Disposition (none: not given)"),
        *DISPOSITION_FIGURES,
    ]
    table = Table("Dispositions", ZoneInfo(report.timezone), columns)
    for code in report.dispositions:
        label: list[Cell] = [report.queue_id, code.disposition or "none"]
        for part in code.intervals:
            table.rows.append(["interval", part.start, part.end, *label, *_disposition_cells(part)])
        total = code.total
        table.rows.append(["total", total.start, total.end, *label, *_disposition_cells(total)])
    everything = report.total
    table.rows.append(
        ["total", everything.start, everything.end, report.queue_id, None,
         *_disposition_cells(everything)]
    )  # fmt: skip
    return table


CONTACT_COLUMNS: Final = (
    ("contact_id", "Contact id", None),
    ("visit", "Queue visit (1 = first queue)", None),
    ("channel", "Channel", None),
    ("queue_id", "Queue id", None),
    ("queue_name", "Queue", None),
    ("customer_id", "Customer id", None),
    ("agent_id", "Answering agent id", None),
    ("agent_name", "Answering agent", None),
    ("agents", "Agents of the contact", None),
    ("offered_at", "Offered at", DATE),
    ("answered_at", "Answered at", DATE),
    ("ended_at", "Left queue at", DATE),
    ("wait_seconds", "Wait (s)", None),
    ("talk_seconds", "Talk (s)", None),
    ("hold_seconds", "Hold (s)", None),
    ("wrap_seconds", "Wrap-up (s)", None),
    ("handle_seconds", "Handle (s)", None),
    ("outcome", "Outcome", None),
    ("abandoned", "Abandoned", None),
    ("disposition", "Disposition", None),
)


def contact_table(report: KpiContactVisits) -> Table:
    zone = report.timezone
    columns = [
        Column(key, f"{header} ({zone})" if fmt == DATE else header, fmt)
        for key, header, fmt in CONTACT_COLUMNS
    ]
    table = Table("Contacts", ZoneInfo(zone), columns)
    for visit in report.visits:
        values = visit.model_dump()
        values["agents"] = ";".join(visit.agents)
        table.rows.append([values[c.key] for c in columns])
    return table


JOURNEY_FIGURES: Final = (
    Column("contacts", "Contacts started"),
    Column("repeats", "Repeat contacts"),
    Column("repeat_rate", "Repeat rate (0-1)", SHARE),
    Column("switches", "Channel switches"),
    Column("switch_rate", "Switch rate (0-1)", SHARE),
    Column("breaks", "Channel breaks"),
    Column("break_rate", "Break rate (0-1)", SHARE),
    Column("provisional", "Window still open"),
    Column("resolved_matters", "Resolved matters"),
    Column("contacts_per_matter", "Contacts per matter"),
    Column("channels_per_matter", "Channels per matter"),
    Column("handle_seconds_per_matter", "Handle per matter (s)"),
    Column("elapsed_seconds_per_matter", "Elapsed per matter (s)"),
)


def journey_table(report: KpiJourneyReport, names: Mapping[str, str]) -> Table:
    """One row per queue or channel (by the report's `by`), the `total`, then one `switch` row
    per from -> to pair of the switch matrix."""
    columns = [
        Column("row", "Row (row | total | switch)"),
        Column("key", f"Key ({report.by})"),
        Column("name", "Queue"),
        *JOURNEY_FIGURES,
        Column("from_channel", "Switch from channel"),
        Column("to_channel", "Switch to channel"),
    ]
    table = Table("Journeys", ZoneInfo(report.timezone), columns)
    for kind, row in [*(("row", r) for r in report.rows), ("total", report.total)]:
        values = row.model_dump()
        name = names.get(row.key) if report.by == "queue" and row.key else None
        figures: list[Cell] = [values[c.key] for c in JOURNEY_FIGURES]
        table.rows.append([kind, row.key, name, *figures, None, None])
    for switch in report.switch_matrix:
        cells: list[Cell] = [None] * len(JOURNEY_FIGURES)
        cells[3] = switch.switches  # the "Channel switches" column
        table.rows.append(["switch", None, None, *cells, switch.from_channel, switch.to_channel])
    return table
