"""Shared helpers of the voice configuration tests (imported by bare name)."""

from __future__ import annotations

import io
import math
import struct
import wave
from typing import Any

from omnidesk.bench.voice_testbed import (
    SipAgent,
    VoiceTenant,
    configure,
    queue_flow,
    routing_queue,
)

DOMAIN = "voice.demo.example"
DOMAIN_B = "voice.other.example"
DID = "+493012345678"  # a valid Berlin number (phonenumbers checks the plan)
DID_2 = "+442071838750"
FLOW = {"id": "main", "start": "main", "nodes": {"main": {"type": "hangup"}}}
FLOW_2 = {
    "id": "main",
    "start": "main",
    "nodes": {
        "main": {"type": "play", "prompt": "hi", "next": "end"},
        "end": {"type": "hangup"},
    },
}


def wav_bytes(
    seconds: float = 0.1, rate: int = 8000, width: int = 2, channels: int = 1, tone: float = 440.0
) -> bytes:
    frames = int(seconds * rate)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        samples = []
        for i in range(frames):
            value = int(8000 * math.sin(2 * math.pi * tone * i / rate))
            if width == 2:
                samples.append(struct.pack("<h", value) * channels)
            elif width == 1:
                samples.append(bytes([(value >> 8) + 128]) * channels)
            else:
                samples.append(value.to_bytes(width, "little", signed=True) * channels)
        out.writeframes(b"".join(samples))
    return buffer.getvalue()


def set_domain(admin: Any, domain: str = DOMAIN, **extra: Any) -> dict[str, Any]:
    response = admin.put("/api/v1/voice/settings", json={"sip_domain": domain, **extra})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def create_flow(admin: Any, name: str = "main", definition: Any = None) -> dict[str, Any]:
    body = {"name": name, "definition": definition or FLOW}
    response = admin.post("/api/v1/voice/flows", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def create_number(admin: Any, number: str, flow_id: str, **extra: Any) -> dict[str, Any]:
    body = {"number": number, "flow_id": flow_id, **extra}
    response = admin.post("/api/v1/voice/numbers", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def upload(admin: Any, name: str, data: bytes, content_type: str = "audio/wav") -> Any:
    return admin.post(
        f"/api/v1/voice/audio?name={name}", content=data, headers={"content-type": content_type}
    )


def voice_tenant(admin: Any, agents: tuple[SipAgent, ...]) -> None:
    """The tenant ready for calls through the API: DOMAIN, DID whose flow puts every call in
    the queue "support" (60 s offers, not recorded), and `agents` serving it with SIP logins."""
    queue = routing_queue("support", "Support", offer_timeout_seconds=60, wrap_up_seconds=5)
    bed = VoiceTenant(
        domain=DOMAIN,
        number=DID,
        flow=queue_flow("main", "support"),
        queue=queue,
        record="never",
        agents=agents,
    )
    configure(admin, bed)
