"""Shift scheduling (CP-SAT) and schedule adherence: the pure parts, no database or HTTP.

`solve(Problem(...))` returns a `Schedule`; `adherence(...)` an `AdherenceReport`. See
docs/wfm.md, sections "Schedules" and "Adherence".
"""

from omnidesk.wfm.scheduling.adherence import (
    AdherenceInputError,
    AdherenceReport,
    ScheduledSpan,
    StateChange,
    adherence,
    scheduled_spans,
)
from omnidesk.wfm.scheduling.errors import (
    NoScheduleFound,
    SchedulingError,
    SchedulingInfeasible,
    SchedulingInputError,
)
from omnidesk.wfm.scheduling.inputs import (
    AgentSpec,
    BreakRule,
    Horizon,
    Problem,
    ShiftTemplate,
    SolverOptions,
    Weights,
)
from omnidesk.wfm.scheduling.result import (
    AgentSchedule,
    Schedule,
    ScheduledBreak,
    ScheduledShift,
    SkillCoverage,
)
from omnidesk.wfm.scheduling.search import solve

__all__ = [
    "AdherenceInputError",
    "AdherenceReport",
    "AgentSchedule",
    "AgentSpec",
    "BreakRule",
    "Horizon",
    "NoScheduleFound",
    "Problem",
    "Schedule",
    "ScheduledBreak",
    "ScheduledShift",
    "ScheduledSpan",
    "SchedulingError",
    "SchedulingInfeasible",
    "SchedulingInputError",
    "ShiftTemplate",
    "SkillCoverage",
    "SolverOptions",
    "StateChange",
    "Weights",
    "adherence",
    "scheduled_spans",
    "solve",
]
