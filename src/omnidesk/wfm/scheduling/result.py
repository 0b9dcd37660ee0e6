"""What the scheduler returns: shifts per agent (UTC, renderable in any zone) and coverage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from omnidesk.wfm.scheduling.inputs import Horizon


def iso(instant: datetime, tz: ZoneInfo | None = None) -> str:
    return (instant.astimezone(tz) if tz is not None else instant).isoformat()


@dataclass(frozen=True, slots=True)
class ScheduledBreak:
    start: datetime
    end: datetime
    paid: bool

    def to_dict(self, tz: ZoneInfo | None = None) -> dict[str, Any]:
        return {"start": iso(self.start, tz), "end": iso(self.end, tz), "paid": self.paid}


@dataclass(frozen=True, slots=True)
class ScheduledShift:
    template: str
    start: datetime
    end: datetime
    breaks: tuple[ScheduledBreak, ...]
    paid_minutes: int

    def to_dict(self, tz: ZoneInfo | None = None) -> dict[str, Any]:
        """Times in UTC, or as wall-clock times with their offset in `tz`."""
        return {
            "template": self.template,
            "start": iso(self.start, tz),
            "end": iso(self.end, tz),
            "breaks": [b.to_dict(tz) for b in self.breaks],
            "paid_minutes": self.paid_minutes,
        }


@dataclass(frozen=True, slots=True)
class AgentSchedule:
    agent_id: str
    timezone: str
    shifts: tuple[ScheduledShift, ...]
    # Per week block of the horizon (7 days from its start; the last may be shorter).
    paid_minutes_by_week: tuple[int, ...]
    target_minutes_by_week: tuple[int, ...]

    def to_dict(self, *, local: bool = False) -> dict[str, Any]:
        tz = ZoneInfo(self.timezone) if local else None
        return {
            "agent_id": self.agent_id,
            "timezone": self.timezone,
            "shifts": [s.to_dict(tz) for s in self.shifts],
            "paid_minutes_by_week": list(self.paid_minutes_by_week),
            "target_minutes_by_week": list(self.target_minutes_by_week),
        }


@dataclass(frozen=True, slots=True)
class SkillCoverage:
    skill: str
    interval_minutes: int
    required: tuple[int, ...]
    # Agent-minutes counted towards this skill in each interval (breaks excluded).
    scheduled_minutes: tuple[int, ...]
    # Summed per solver slot, so a gap in one half of an interval is not hidden by a surplus
    # in the other half.
    under_minutes: int
    over_minutes: int

    @property
    def scheduled(self) -> tuple[float, ...]:
        """Mean agents working on this skill over each interval."""
        return tuple(m / self.interval_minutes for m in self.scheduled_minutes)

    @property
    def gap(self) -> tuple[float, ...]:
        """scheduled - required per interval: negative is short, positive is surplus."""
        return tuple(s - r for s, r in zip(self.scheduled, self.required, strict=True))

    def to_dict(self) -> dict[str, Any]:
        return {
            "required": list(self.required),
            "scheduled": list(self.scheduled),
            "gap": list(self.gap),
            "under_minutes": self.under_minutes,
            "over_minutes": self.over_minutes,
        }


@dataclass(frozen=True, slots=True)
class Schedule:
    status: str  # OPTIMAL or FEASIBLE (the time limit stopped the search first)
    objective: float
    best_bound: float | None
    wall_seconds: float
    horizon: Horizon
    slot_minutes: int
    agents: tuple[AgentSchedule, ...]
    coverage: tuple[SkillCoverage, ...]
    # Worked minutes of agents who have none of the required skills (counted as surplus).
    unassigned_minutes: int

    @property
    def under_minutes(self) -> int:
        return sum(c.under_minutes for c in self.coverage)

    @property
    def over_minutes(self) -> int:
        return sum(c.over_minutes for c in self.coverage) + self.unassigned_minutes

    def agent(self, agent_id: str) -> AgentSchedule:
        for a in self.agents:
            if a.agent_id == agent_id:
                return a
        raise KeyError(agent_id)

    def summary(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "objective": self.objective,
            "best_bound": self.best_bound,
            "wall_seconds": round(self.wall_seconds, 3),
            "slot_minutes": self.slot_minutes,
            "under_minutes": self.under_minutes,
            "over_minutes": self.over_minutes,
            "unassigned_minutes": self.unassigned_minutes,
        }

    def coverage_dict(self) -> dict[str, Any]:
        h = self.horizon
        return {
            "start": iso(h.start_utc),
            "interval_minutes": h.interval_minutes,
            "intervals": h.intervals,
            "skills": {c.skill: c.to_dict() for c in self.coverage},
        }

    def to_dict(self, *, local: bool = False) -> dict[str, Any]:
        return {
            **self.summary(),
            "horizon": {
                "start": self.horizon.start.isoformat(),
                "days": self.horizon.days,
                "interval_minutes": self.horizon.interval_minutes,
            },
            "agents": [a.to_dict(local=local) for a in self.agents],
            "coverage": self.coverage_dict(),
        }
