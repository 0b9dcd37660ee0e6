"""Typed, versioned domain events and the envelope they travel in.

A domain declares an event as a Pydantic model decorated with `@event_type("name", version)`.
The unit of work appends it to the event log in the same transaction as the change it describes;
subscribers receive `PublishedEvent`s only after that transaction commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict


class DomainEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_name: ClassVar[str] = ""
    event_version: ClassVar[int] = 1
    subject_type: ClassVar[str] = ""

    def subject_id(self) -> str:
        raise NotImplementedError(f"{type(self).__name__} must say which object it is about")


E = TypeVar("E", bound=type[DomainEvent])
_REGISTRY: dict[tuple[str, int], type[DomainEvent]] = {}


def event_type(name: str, version: int = 1, *, subject: str) -> Callable[[E], E]:
    def register(cls: E) -> E:
        key = (name, version)
        if key in _REGISTRY and _REGISTRY[key] is not cls:
            raise ValueError(f"event {name} v{version} is declared twice")
        cls.event_name = name
        cls.event_version = version
        cls.subject_type = subject
        _REGISTRY[key] = cls
        return cls

    return register


def event_class(name: str, version: int) -> type[DomainEvent] | None:
    return _REGISTRY.get((name, version))


@dataclass(frozen=True)
class Audience:
    """Who may see an event besides the tenant's admins.

    `users`: these users see it. `teams`: the supervisors of these teams see it.
    `scope_change_for`: users whose own permissions this event changes; their realtime stream
    is re-synchronised with a fresh snapshot after it. `everyone`: every signed-in user of the
    tenant sees it (what every screen shows, such as the tenant's branding).
    """

    users: frozenset[uuid.UUID] = frozenset()
    teams: frozenset[uuid.UUID] = frozenset()
    scope_change_for: frozenset[uuid.UUID] = frozenset()
    everyone: bool = False

    @classmethod
    def of(
        cls,
        users: Iterable[uuid.UUID] = (),
        teams: Iterable[uuid.UUID] = (),
        scope_change_for: Iterable[uuid.UUID] = (),
    ) -> Audience:
        return cls(frozenset(users), frozenset(teams), frozenset(scope_change_for))

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "users": sorted(str(u) for u in self.users),
            "teams": sorted(str(t) for t in self.teams),
            "scope_change_for": sorted(str(u) for u in self.scope_change_for),
        }
        if self.everyone:  # only when set: the log's older rows keep their shape
            found["everyone"] = True
        return found

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Audience:
        data = data or {}
        return cls(
            frozenset(uuid.UUID(u) for u in data.get("users", [])),
            frozenset(uuid.UUID(t) for t in data.get("teams", [])),
            frozenset(uuid.UUID(u) for u in data.get("scope_change_for", [])),
            everyone=bool(data.get("everyone")),
        )


@dataclass(frozen=True)
class PublishedEvent:
    tenant_id: uuid.UUID
    seq: int
    type: str
    version: int
    occurred_at: datetime
    actor_id: uuid.UUID | None
    subject_type: str
    subject_id: str
    payload: dict[str, Any]
    audience: Audience = field(default_factory=Audience)

    def to_wire(self) -> dict[str, Any]:
        return {
            "type": "event",
            "id": self.seq,
            "event": self.type,
            "version": self.version,
            "occurred_at": self.occurred_at.isoformat(),
            "actor_id": str(self.actor_id) if self.actor_id else None,
            "subject": {"type": self.subject_type, "id": self.subject_id},
            "data": self.payload,
        }

    def decode(self) -> DomainEvent:
        cls = event_class(self.type, self.version)
        if cls is None:
            raise LookupError(f"unknown event {self.type} v{self.version}")
        return cls.model_validate(self.payload)
