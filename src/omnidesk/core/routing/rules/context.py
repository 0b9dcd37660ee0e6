"""What a rule is evaluated against: one contact, one agent, one instant."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast


@dataclass(frozen=True, slots=True, init=False)
class EvaluationContext:
    """The clock is injected: time functions read `now`, never the wall clock, so the simulator
    and the server evaluate the same rule the same way."""

    contact: Mapping[str, Any]
    agent: Mapping[str, Any]
    now: datetime  # timezone-aware; UTC by convention

    def __init__(self, contact: Mapping[str, Any], agent: Mapping[str, Any], now: datetime) -> None:
        if not isinstance(now, datetime) or now.tzinfo is None:
            raise ValueError("EvaluationContext.now must be a timezone-aware datetime (UTC)")
        # The engine builds one context per (contact, agent) it considers, so construction is
        # on the hot path: setting the slots through their descriptors skips the frozen
        # __setattr__ that the generated __init__ would go through (about half the cost).
        _set_contact(self, contact)
        _set_agent(self, agent)
        _set_now(self, now)


_set_contact = cast(Any, EvaluationContext.__dict__["contact"]).__set__
_set_agent = cast(Any, EvaluationContext.__dict__["agent"]).__set__
_set_now = cast(Any, EvaluationContext.__dict__["now"]).__set__
