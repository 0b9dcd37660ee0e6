"""Events of scheduling."""

from __future__ import annotations

import uuid
from datetime import date

from omnidesk.platform.events import DomainEvent, event_type


@event_type("wfm.schedule_published", subject="schedule")
class SchedulePublished(DomainEvent):
    schedule_id: uuid.UUID
    name: str
    horizon_start: date
    days: int
    interval_minutes: int
    status: str
    agent_ids: list[uuid.UUID]
    shifts: int
    under_minutes: int
    over_minutes: int

    def subject_id(self) -> str:
        return str(self.schedule_id)
