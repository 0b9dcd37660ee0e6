"""Errors of the scheduler; each names the field to change (CLI: exit 2, API: 422)."""

from __future__ import annotations


class SchedulingError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class SchedulingInputError(SchedulingError):
    """The input is malformed or inconsistent (a bad time, a break outside its shift, ...)."""


class SchedulingInfeasible(SchedulingError):
    """The hard rules of one agent cannot all hold; `agent_id` says whose."""

    def __init__(self, field: str, message: str, agent_id: str) -> None:
        super().__init__(field, message)
        self.agent_id = agent_id


class NoScheduleFound(SchedulingError):
    """The time limit ran out before the solver found any schedule (the rules can be met)."""
