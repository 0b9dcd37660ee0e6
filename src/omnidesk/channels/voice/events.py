"""Events of voice configuration. Payloads never hold a secret (no password, no HA1)."""

from __future__ import annotations

import uuid
from typing import Any

from omnidesk.platform.events import DomainEvent, event_type


@event_type("voice.settings_updated", subject="voice_settings")
class VoiceSettingsUpdated(DomainEvent):
    sip_domain: str | None
    changed: list[str]
    credentials_reset: int = 0

    def subject_id(self) -> str:
        return "settings"


@event_type("voice.sip_credential_set", subject="user")
class SipCredentialSet(DomainEvent):
    user_id: uuid.UUID
    username: str

    def subject_id(self) -> str:
        return str(self.user_id)


@event_type("voice.sip_credential_removed", subject="user")
class SipCredentialRemoved(DomainEvent):
    user_id: uuid.UUID
    username: str

    def subject_id(self) -> str:
        return str(self.user_id)


class _Changed(DomainEvent):
    """A configuration object created, updated or deleted; `data` is its public view."""

    id: str
    action: str  # created | updated | deleted
    data: dict[str, Any] | None = None

    def subject_id(self) -> str:
        return self.id


@event_type("voice.trunk_changed", subject="voice_trunk")
class TrunkChanged(_Changed):
    """A SIP trunk was created, updated or deleted."""


@event_type("voice.number_changed", subject="voice_number")
class NumberChanged(_Changed):
    """A number (DID) mapping changed."""


@event_type("voice.flow_changed", subject="voice_flow")
class FlowChanged(_Changed):
    version: int | None = None


@event_type("voice.queue_policy_changed", subject="queue")
class QueuePolicyChanged(_Changed):
    """A queue's voice policy (music, announcements, recording) changed."""


@event_type("voice.audio_changed", subject="voice_audio")
class AudioChanged(_Changed):
    """An uploaded audio file was added, replaced or removed."""


CONFIG_EVENTS = frozenset(
    cls.event_name
    for cls in (
        VoiceSettingsUpdated,
        SipCredentialSet,
        SipCredentialRemoved,
        TrunkChanged,
        NumberChanged,
        FlowChanged,
        QueuePolicyChanged,
        AudioChanged,
    )
)
