"""Hand-built event sequences for the KPI tests: payloads as the routing engine logs them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from omnidesk.analytics.facts import LogEvent

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class Log:
    """Appends events with consecutive seqs; `at` is seconds after T0 (or a datetime)."""

    def __init__(self, start: datetime = T0) -> None:
        self.start = start
        self.events: list[LogEvent] = []

    def add(self, kind: str, at: float | datetime, **fields: Any) -> Log:
        instant = at if isinstance(at, datetime) else self.start + timedelta(seconds=at)
        payload = {"type": kind, "at": instant.isoformat(), **fields}
        self.events.append(LogEvent(len(self.events) + 1, kind, payload))
        return self

    # --- routing's events, the fields the fold reads ----------------------------------------

    def received(self, at: float, c: str, queue: str = "q1", channel: str = "chat") -> Log:
        self.add(
            "routing.contact_received",
            at,
            contact_id=c,
            queue_id=queue,
            channel=channel,
            priority=0,
            emergency=False,
        )
        return self.queued(at, c, queue, channel, "arrived")

    def queued(
        self, at: float, c: str, queue: str, channel: str = "chat", reason: str = "arrived"
    ) -> Log:
        return self.add(
            "routing.contact_queued",
            at,
            contact_id=c,
            queue_id=queue,
            channel=channel,
            step=0,
            reserved_for=None,
            reason=reason,
        )

    def accepted(
        self,
        at: float,
        c: str,
        agent: str,
        waited: float,
        within: bool,
        queue: str = "q1",
        channel: str = "chat",
    ) -> Log:
        return self.add(
            "routing.offer_accepted",
            at,
            offer_id=f"{c}#1",
            contact_id=c,
            agent_id=agent,
            queue_id=queue,
            channel=channel,
            waited_seconds=waited,
            within_service_level=within,
        )

    def ended(
        self,
        at: float,
        c: str,
        reason: str = "completed",
        agent: str | None = None,
        queue: str = "q1",
    ) -> Log:
        return self.add(
            "routing.contact_ended",
            at,
            contact_id=c,
            queue_id=queue,
            reason=reason,
            agent_id=agent,
            detail=None,
        )

    def wrap(
        self, start: float, end: float, c: str, agent: str, disposition: str | None = None
    ) -> Log:
        self.add("routing.wrap_up_started", start, agent_id=agent, contact_id=c, ends_at=None)
        return self.add(
            "routing.wrap_up_ended",
            end,
            agent_id=agent,
            contact_id=c,
            disposition=disposition,
            automatic=False,
        )

    def state(
        self, at: float, agent: str, state: str, previous: str, reason: str | None = None
    ) -> Log:
        return self.add(
            "routing.agent_state_changed",
            at,
            agent_id=agent,
            state=state,
            reason=reason,
            previous_state=previous,
            previous_reason=None,
        )

    def queue(self, at: float, queue: str, sl_seconds: float) -> Log:
        return self.add(
            "routing.queue_added",
            at,
            queue={"id": queue, "channels": ["chat"], "service_level_seconds": sl_seconds},
        )

    # --- the directory's membership events ------------------------------------------------

    def member_set(self, at: float, team: str, user: str, role: str = "member") -> Log:
        return self.add(
            "team.member_set", at, team_id=team, team_name=team, user={"id": user}, role=role
        )

    def member_removed(self, at: float, team: str, user: str) -> Log:
        return self.add("team.member_removed", at, team_id=team, user_id=user)

    def team_deleted(self, at: float, team: str) -> Log:
        return self.add("team.deleted", at, team_id=team)
