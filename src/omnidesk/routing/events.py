"""The engine's events as platform events: registered, versioned, with audiences."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable
from typing import Any

from pydantic import ConfigDict

from omnidesk.core.routing import EVENT_TYPES
from omnidesk.core.routing.events import Event
from omnidesk.platform.events import DomainEvent, event_type


class RoutingEvent(DomainEvent):
    """Payload = the engine event's `to_dict()`; `event_from_dict` gives the typed form back."""

    model_config = ConfigDict(frozen=True, extra="allow")

    def subject_id(self) -> str:
        data = self.model_extra or {}
        for key in ("contact_id", "agent_id", "queue_id"):
            if data.get(key):
                return str(data[key])
        for key in ("agent", "queue"):
            if isinstance(data.get(key), dict):
                return str(data[key]["id"])
        return ""


def _subject(cls: type[Event]) -> str:
    names = {f.name for f in dataclasses.fields(cls)}
    if "contact_id" in names:
        return "contact"
    if names & {"agent_id", "agent"}:
        return "agent"
    return "queue"


WRAPPERS: dict[str, type[RoutingEvent]] = {
    name: event_type(name, 1, subject=_subject(cls))(
        type(f"Routing{cls.__name__}", (RoutingEvent,), {"__module__": __name__})
    )
    for name, cls in EVENT_TYPES.items()
}


def to_domain(event: Event) -> RoutingEvent:
    return WRAPPERS[event.type](**event.to_dict())


def agent_ids_of(payload: dict[str, Any]) -> Iterable[str]:
    if payload.get("agent_id"):
        yield str(payload["agent_id"])
    if payload.get("consultant_id"):  # a consult concerns both agents
        yield str(payload["consultant_id"])
    agent = payload.get("agent")
    if isinstance(agent, dict):
        yield str(agent["id"])


def as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
