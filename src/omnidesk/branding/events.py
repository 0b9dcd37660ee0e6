"""Events of branding."""

from __future__ import annotations

from omnidesk.platform.events import DomainEvent, event_type


@event_type("branding.updated", subject="branding")
class BrandingUpdated(DomainEvent):
    """The tenant's branding changed; `branding` is its public view (as GET /branding)."""

    changed: list[str]
    branding: dict[str, object]

    def subject_id(self) -> str:
        return "branding"
